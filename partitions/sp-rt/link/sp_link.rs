//! Build-script helper shared by every sp-rt SP: reads the SP's manifest DTS, checks it follows
//! the image layout of `sp.ld` (partitions/README.md), writes `memory.x` for the linker
//! script and passes `-Tsp.ld` to the link. Included by each SP's `build.rs` with
//! `#[path = "../sp-rt/link/sp_link.rs"] mod sp_link;`.
//!
//! Configuration that breaks the convention fails the build with a message naming the file
//! (a `cargo::error` line, not a panic).

use std::path::PathBuf;

/// Size of every SP's image region (sp_layout.json `size`).
pub const IMAGE_SIZE: u64 = 0x10_0000;
/// Offset of the RW window in the image region.
pub const RW_OFFSET: u64 = 0x8_0000;
/// Size of the RW window.
pub const RW_SIZE: u64 = 0x8_0000;
/// Stack at the top of the RW window.
pub const STACK_SIZE: u64 = 0x1_0000;

/// Returns the `<...>` cells of the first line `name = <...>;` at any depth, as numbers.
fn cells(dts: &str, name: &str) -> Option<Vec<u64>> {
    dts.lines().find_map(|line| {
        let rest = line
            .trim()
            .strip_prefix(name)?
            .trim_start()
            .strip_prefix('=')?;
        let inner = rest.trim().strip_prefix('<')?.split('>').next()?;
        inner
            .split_whitespace()
            .map(|c| match c.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(&h.replace('_', ""), 16).ok(),
                None => c.parse().ok(),
            })
            .collect()
    })
}

/// Checks that the manifest source `dts` follows the image layout of `sp.ld` and returns the
/// image base (`load-address`). The error says which rule is broken.
pub fn check_manifest(dts: &str) -> Result<u64, String> {
    let base = match cells(dts, "load-address").as_deref() {
        Some([hi, lo]) => hi << 32 | lo,
        Some([lo]) => *lo,
        _ => return Err("no `load-address = <hi lo>;` at the root".into()),
    };
    if !base.is_multiple_of(0x1000) {
        return Err(format!("load-address {base:#x} is not 4 KiB aligned"));
    }
    if cells(dts, "entrypoint-offset")
        .as_deref()
        .is_some_and(|c| c.iter().any(|x| *x != 0))
    {
        return Err("entrypoint-offset must be 0: _start is at the image base".into());
    }
    if cells(dts, "load-address-relative-offset").as_deref() != Some(&[RW_OFFSET][..]) {
        return Err(format!(
            "the RW window region (first memory region) must have load-address-relative-offset = <{RW_OFFSET:#x}>"
        ));
    }
    if cells(dts, "pages-count").as_deref() != Some(&[RW_SIZE / 0x1000][..]) {
        return Err(format!(
            "the RW window region (first memory region) must have pages-count = <{:#x}>",
            RW_SIZE / 0x1000
        ));
    }
    if cells(dts, "attributes").as_deref() != Some(&[0x3][..]) {
        return Err(
            "the RW window region (first memory region) must have attributes = <0x3>".into(),
        );
    }
    Ok(base)
}

/// Returns the environment variable that overrides an SP's manifest:
/// `SP_RT_MANIFEST_<CRATE>`, the crate name upper-cased with `-` as `_` (e.g.
/// `SP_RT_MANIFEST_PKG_SP`). A platform whose SP pool is elsewhere (FVP) links the same SP
/// crate at its own address by pointing this at its own manifest.
pub fn override_var(crate_name: &str) -> String {
    format!(
        "SP_RT_MANIFEST_{}",
        crate_name.to_uppercase().replace('-', "_")
    )
}

/// Configures the link of the SP whose manifest is `manifest` (relative to the crate root),
/// or the manifest named by [`override_var`] when that is set (absolute, or relative to the
/// crate root).
pub fn configure(manifest: &str) {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets this"));
    let var = override_var(&std::env::var("CARGO_PKG_NAME").expect("cargo sets this"));
    println!("cargo:rerun-if-env-changed={var}");
    let manifest = match std::env::var(&var) {
        Ok(path) => root.join(path),
        Err(_) => root.join(manifest),
    };
    println!("cargo:rerun-if-changed={}", manifest.display());
    // sp-rt's build script says where sp.ld is (`links` metadata), so an SP crate outside
    // this repository links too; SPs next to sp-rt find it beside them either way.
    let link_dir = std::env::var_os("DEP_SP_RT_LINK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../sp-rt/link"));
    println!(
        "cargo:rerun-if-changed={}",
        link_dir.join("sp.ld").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        link_dir.join("sp_link.rs").display()
    );
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("none") {
        // Host builds (clippy, cargo build --workspace) do not link an SP image.
        return;
    }
    // Errors go to cargo as `cargo::error` lines: one message naming the file, no panic or
    // backtrace; cargo fails the build after the script returns.
    let dts = match std::fs::read_to_string(&manifest) {
        Ok(d) => d,
        Err(e) => {
            println!(
                "cargo::error={}: cannot read the SP manifest ({var} or build.rs names it): {e}",
                manifest.display()
            );
            return;
        }
    };
    let base = match check_manifest(&dts) {
        Ok(b) => b,
        Err(rule) => {
            println!(
                "cargo::error={}: {rule} (see partitions/README.md, image layout)",
                manifest.display()
            );
            return;
        }
    };
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets this"));
    let memory_x = format!(
        "/* Generated by sp_link.rs from {} */\n\
         IMAGE_BASE = {base:#x};\nIMAGE_SIZE = {IMAGE_SIZE:#x};\n\
         RW_OFFSET = {RW_OFFSET:#x};\nRW_SIZE = {RW_SIZE:#x};\nSTACK_SIZE = {STACK_SIZE:#x};\n",
        manifest.display()
    );
    if let Err(e) = std::fs::write(out.join("memory.x"), memory_x) {
        println!("cargo::error={}: {e}", out.join("memory.x").display());
        return;
    }
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-search={}", link_dir.display());
    println!("cargo:rustc-link-arg-bins=-Tsp.ld");
}
