//! manifest-tool library: reads FF-A partition manifests and an SP set description
//! (`sp_layout.json` shape plus capabilities), validates everything knowable at build time,
//! places the SPs in the platform's SP pool and generates the SPMC's static partition table
//! (`spmc_table::Table` as Rust source), the SP blob and a map-file style report.
//!
//! Entry points for xtask: [`check`], [`build`], [`pack`]; see README.md for the rules.
#![forbid(unsafe_code)]

pub mod base_address;
pub mod error;
pub mod fdt;
mod json;
pub mod layout;
pub mod manifest;
pub mod output;
pub mod placement;
pub mod platform;
pub mod sp_set;
pub mod spkg;

pub use error::{Error, Result};
pub use platform::{Platform, Range};
pub use sp_set::Plan;

use std::path::{Path, PathBuf};

/// What [`build`] needs.
#[derive(Clone, Copy, Debug)]
pub struct BuildRequest<'a> {
    /// The SP set description (`sp_layout.json` shape).
    pub layout: &'a Path,
    /// The target platform.
    pub platform: &'a Platform,
    /// Directory for `partition_table.rs`, `sp_blob.bin`, `partition_table.txt` (created if
    /// missing). Build the SPMC with `SPMC_TABLE_DIR` set to it.
    pub out_dir: &'a Path,
}

/// What [`build`] did.
#[derive(Clone, Debug)]
pub struct BuildReport {
    /// The validated, placed SP set.
    pub plan: Plan,
    /// Files written.
    pub files: Vec<PathBuf>,
    /// Non-fatal findings.
    pub warnings: Vec<String>,
    /// Files the output depends on (for xtask's rebuild decisions and cargo rerun-if-changed).
    pub inputs: Vec<PathBuf>,
}

/// Validates an SP set without writing anything (the first error).
pub fn check(layout: &Path, platform: &Platform) -> Result<Plan> {
    check_all(layout, platform).map_err(|mut e| e.swap_remove(0))
}

/// Validates an SP set without writing anything, reporting every error found: each SP entry's
/// layout error, each SP's first manifest or image error, then the first error of each check
/// over the whole set (see [`sp_set::plan_all`]).
pub fn check_all(layout: &Path, platform: &Platform) -> std::result::Result<Plan, Vec<Error>> {
    let l = layout::read_layout_all(layout)?;
    sp_set::plan_all(&l, platform)
}

fn source_name(layout: &Path) -> String {
    layout.file_name().map_or_else(
        || layout.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Validates, places and writes the outputs into `req.out_dir`. Files are only rewritten when
/// their content changes, so builds that include them are not redone needlessly.
pub fn build(req: &BuildRequest<'_>) -> Result<BuildReport> {
    build_all(req).map_err(|mut e| e.swap_remove(0))
}

/// [`build`], reporting every error [`check_all`] finds.
pub fn build_all(req: &BuildRequest<'_>) -> std::result::Result<BuildReport, Vec<Error>> {
    let plan = check_all(req.layout, req.platform)?;
    build_plan(req, plan).map_err(|e| vec![e])
}

fn build_plan(req: &BuildRequest<'_>, plan: Plan) -> Result<BuildReport> {
    let out = output::generate(&plan, &source_name(req.layout))
        .map_err(|d| Error::new(req.layout, "/", "output", d))?;
    let io = |p: &Path, e: std::io::Error| Error::new(p, "/", "output", e.to_string());
    std::fs::create_dir_all(req.out_dir).map_err(|e| io(req.out_dir, e))?;
    let mut files = Vec::new();
    for (name, bytes) in [
        (output::TABLE_RS, out.table_rs.as_bytes()),
        (output::BLOB_BIN, out.blob.as_slice()),
        (output::TABLE_TXT, out.report.as_bytes()),
    ] {
        let path = req.out_dir.join(name);
        if std::fs::read(&path).ok().as_deref() != Some(bytes) {
            std::fs::write(&path, bytes).map_err(|e| io(&path, e))?;
        }
        files.push(path);
    }
    let mut inputs = vec![req.layout.to_path_buf()];
    for sp in &plan.sps {
        for f in [&sp.loaded.manifest_file, &sp.loaded.image_file] {
            if !inputs.contains(f) {
                inputs.push(f.clone());
            }
        }
    }
    Ok(BuildReport {
        warnings: plan.warnings.clone(),
        plan,
        files,
        inputs,
    })
}

/// Builds an SP package ("SPKG" v2, TF-A tools/sptool/sptool.py) from a manifest (.dts compiled with
/// `dtc`, or .dtb) and a flat image. The manifest is checked against the binding first.
pub fn pack(manifest: &Path, image: &Path) -> Result<Vec<u8>> {
    let dtb = layout::read_manifest_file(manifest)?;
    let root = fdt::parse(&dtb).map_err(|d| Error::new(manifest, "/", "dtb-malformed", d))?;
    manifest::parse_manifest(manifest, &root)?;
    let img = std::fs::read(image)
        .map_err(|e| Error::new(image, "/", "file-unreadable", e.to_string()))?;
    spkg::write(&dtb, &img).map_err(|d| Error::new(image, "/", "spkg", d))
}
