//! The formatting lane of `cargo xtask test`: `cargo fmt --all --check` in every Cargo
//! workspace of the repository, one counted check per workspace. Parallel merges must not
//! leave the tree unformatted (session 5: main was not rustfmt-clean after several landings);
//! each workspace takes about two seconds.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Every Cargo workspace root under `root`: the directories whose Cargo.toml has a
/// `[workspace]` table (the main workspace, and ones kept apart such as ffa-abi/fuzz), found by
/// walking the tree so that a new workspace cannot escape the check. Build output (`target`)
/// and hidden directories are skipped. Sorted, the root first.
pub fn workspaces(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let manifest = dir.join("Cargo.toml");
        if std::fs::read_to_string(&manifest)
            .map(|t| t.lines().any(|l| l.trim() == "[workspace]"))
            .unwrap_or(false)
        {
            found.push(dir.clone());
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name == "target" {
                continue;
            }
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                todo.push(e.path());
            }
        }
    }
    found.sort();
    found
}

/// Runs `cargo fmt --all --check` in each workspace; returns (passed, failed). A failure
/// names the files rustfmt would change and the command that fixes them.
pub fn run_lane(root: &Path) -> (u32, u32) {
    crate::step("formatting: cargo fmt --all --check in every workspace");
    let (mut passed, mut failed) = (0, 0);
    for ws in workspaces(root) {
        let shown = match ws.strip_prefix(root) {
            Ok(p) if p.as_os_str().is_empty() => ".".to_string(),
            Ok(p) => p.display().to_string(),
            Err(_) => ws.display().to_string(),
        };
        let out = Command::new("cargo")
            .current_dir(&ws)
            .args(["fmt", "--all", "--check"])
            .output();
        match out {
            Ok(o) if o.status.success() => {
                passed += 1;
                eprintln!("fmt: {shown} ... ok");
            }
            Ok(o) => {
                failed += 1;
                let text = String::from_utf8_lossy(&o.stdout);
                let mut files: Vec<&str> = text
                    .lines()
                    .filter_map(|l| l.strip_prefix("Diff in "))
                    // "Diff in <file>.rs:<line>:" (older rustfmt: "... at line <n>:").
                    .map(|l| {
                        l.rfind(".rs:")
                            .or(l.find(".rs "))
                            .map_or(l, |i| &l[..i + 3])
                    })
                    .collect();
                files.dedup();
                let err = String::from_utf8_lossy(&o.stderr);
                eprintln!(
                    "fmt: {shown} ... FAILED: not rustfmt-clean; run `cargo fmt --all` in {shown}{}{}",
                    if files.is_empty() {
                        String::new()
                    } else {
                        format!("\n  files: {}", files.join("\n         "))
                    },
                    if err.trim().is_empty() {
                        String::new()
                    } else {
                        format!("\n  cargo fmt: {}", err.trim())
                    }
                );
            }
            Err(e) => {
                failed += 1;
                eprintln!("fmt: {shown} ... FAILED: cannot run cargo fmt ({e}); install rustfmt (`rustup component add rustfmt`)");
            }
        }
    }
    eprintln!("fmt: {passed} passed, {failed} failed");
    (passed, failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workspace_of_the_repository_is_found() {
        let root = crate::root();
        let found = workspaces(&root);
        assert_eq!(found.first(), Some(&root), "the main workspace first");
        assert!(
            found.contains(&root.join("ffa-abi/fuzz")),
            "ffa-abi/fuzz is its own workspace: {found:?}"
        );
        assert!(found.iter().all(|w| !w.starts_with(root.join("target"))));
    }

    #[test]
    fn a_workspace_table_is_recognised_and_build_output_skipped() {
        let dir = std::env::temp_dir().join(format!("xtask-fmt-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in [
            ("Cargo.toml", "[workspace]\nmembers = [\"a\"]\n"),
            ("a/Cargo.toml", "[package]\nname = \"a\"\n"),
            ("b/Cargo.toml", "[package]\nname = \"b\"\n\n[workspace]\n"),
            ("target/c/Cargo.toml", "[workspace]\n"),
            (".hidden/Cargo.toml", "[workspace]\n"),
            ("d/Cargo.toml", "# [workspace] in a comment only\n"),
        ] {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let found = workspaces(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(found, [dir.clone(), dir.join("b")]);
    }

    #[test]
    fn an_unformatted_workspace_fails_the_lane_and_a_formatted_one_passes() {
        let dir = std::env::temp_dir().join(format!("xtask-fmt-lane-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            "[package]\nname = \"fmt-probe\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[workspace]\n",
        )
        .unwrap();
        std::fs::write(dir.join("src/lib.rs"), "pub fn f( )->u32{1}\n").unwrap();
        let unformatted = run_lane(&dir);
        std::fs::write(dir.join("src/lib.rs"), "pub fn f() -> u32 {\n    1\n}\n").unwrap();
        let formatted = run_lane(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(unformatted, (0, 1));
        assert_eq!(formatted, (1, 0));
    }
}
