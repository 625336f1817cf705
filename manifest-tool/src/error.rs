//! Errors of the tool: every rejection names the file, the node and the rule it broke.

use std::fmt;
use std::path::{Path, PathBuf};

/// One rejected input: `file: node: rule: detail`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// The input file at fault (manifest, layout, package, image or platform file).
    pub file: PathBuf,
    /// The device-tree node path (`/memory-regions/heap`) or JSON key path (`/sp1/capabilities`)
    /// at fault; `/` for the whole file.
    pub node: String,
    /// The rule that was broken, a stable kebab-case name listed in README.md.
    pub rule: &'static str,
    /// What exactly is wrong.
    pub detail: String,
}

impl Error {
    /// Builds an error.
    pub fn new(
        file: impl AsRef<Path>,
        node: impl Into<String>,
        rule: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            file: file.as_ref().to_path_buf(),
            node: node.into(),
            rule,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}: {}",
            self.file.display(),
            self.node,
            self.rule,
            self.detail
        )
    }
}

impl std::error::Error for Error {}

/// Result of the tool's fallible steps.
pub type Result<T> = std::result::Result<T, Error>;
