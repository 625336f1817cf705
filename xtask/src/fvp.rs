//! `cargo xtask fvp`: builds the SPMC for Arm Base FVP (crate spmc-fvp) as TF-A's BL32 and
//! writes what TF-A's build needs: target/xtask/fvp/{bl32.bin, spmc_manifest.dts}. There is no
//! FVP on CI machines, so this only builds and checks the image; docs/integrator-guide.md says
//! how to run it.

use crate::layout::{LayoutRef, Target};
use crate::toolchain::{self, Toolchain};

/// TF-A's BL32 base on FVP with SPD=spmd (PLAT_ARM_SPMC_BASE = trusted DRAM base).
const BL32_BASE: u64 = platform_facts::tf_a::fvp::PLAT_ARM_SPMC_BASE;
/// TF-A's limit on the loaded BL32 image on FVP (PLAT_ARM_SPMC_SIZE, 16 MiB).
const BL32_MAX_LOAD: u64 = platform_facts::tf_a::fvp::PLAT_ARM_SPMC_SIZE;
/// The default SP set of the FVP image; `--layout` or `FVP_SP_LAYOUT` names another one.
#[cfg(test)]
const DEFAULT_LAYOUT: &str = "platform-fvp/sp_layout.json";

/// Builds the FVP partition table and SPMC image, checks them against TF-A's FVP limits, and
/// writes target/xtask/fvp/<layout>/{bl32.bin, spmc_manifest.dts} plus the TF-A make line.
pub fn build_fvp(tc: &Toolchain, lref: &LayoutRef) -> Result<(), String> {
    let root = crate::root();
    let out = lref.out.clone();
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    crate::step(&format!("compiler: {}", tc.describe()));

    // The SPs (crate entries linked for their FVP manifests), checked against the placement.
    let table_dir = out.join("table");
    crate::prepare_sps(tc, lref, Target::Fvp, &table_dir)?;

    crate::step("building the SPMC for Base FVP (spmc-fvp)");
    let env = [("SPMC_TABLE_DIR", table_dir.display().to_string())];
    let rel = tc.build(&root, crate::variants::SPMC_FVP.packages, &env)?;
    let elf = rel.join("spmc-fvp");
    let entry = crate::table::elf_entry(&elf)?;
    if entry != BL32_BASE {
        return Err(format!(
            "{}: entry point {entry:#x}, but TF-A enters BL32 at {BL32_BASE:#x}",
            elf.display()
        ));
    }
    let bin = out.join("bl32.bin");
    tc.objcopy(&elf, &bin)?;
    let size = std::fs::metadata(&bin).map_err(|e| e.to_string())?.len();
    if size > BL32_MAX_LOAD {
        return Err(format!(
            "{}: {size:#x} bytes, more than the {BL32_MAX_LOAD:#x} TF-A's BL2 loads as BL32 on \
             FVP (PLAT_ARM_SPMC_SIZE); SP images are part of it, so move SPs out of the set",
            bin.display()
        ));
    }

    let dts_src = root.join("platform-fvp/spmc_manifest.dts");
    let dts = out.join("spmc_manifest.dts");
    std::fs::copy(&dts_src, &dts).map_err(|e| format!("{}: {e}", dts_src.display()))?;
    // dtc comes with the QEMU prerequisites; when present, prove the manifest compiles.
    if toolchain::find_tool(&["dtc"]).is_some() {
        toolchain::dtc(&dts, &out.join("spmc_manifest.dtb"))?;
    }

    println!(
        "{}: the SPMC for Base FVP, {size:#x} bytes (TF-A loads at most {BL32_MAX_LOAD:#x}), \
         load address and entry {BL32_BASE:#x}",
        bin.display()
    );
    println!("{}: the SPMC manifest (TOS_FW_CONFIG)", dts.display());
    println!(
        "TF-A: make PLAT=fvp SPD=spmd SPMD_SPM_AT_SEL2=0 BL32={} ARM_SPMC_MANIFEST_DTS={} \
         BL33=<your normal-world image> all fip",
        bin.display(),
        dts.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elf_entry_is_read_from_the_header() {
        let mut h = vec![0u8; 0x40];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = 2;
        h[5] = 1;
        h[0x18..0x20].copy_from_slice(&0x0600_0000u64.to_le_bytes());
        assert_eq!(crate::table::parse_elf_entry(&h), Some(0x0600_0000));
        h[4] = 1; // ELF32
        assert_eq!(crate::table::parse_elf_entry(&h), None);
        assert_eq!(crate::table::parse_elf_entry(&h[..0x10]), None);
    }

    #[test]
    fn the_shipped_fvp_set_is_empty_and_its_table_generates() {
        let root = crate::root();
        let layout = root.join(DEFAULT_LAYOUT);
        assert!(crate::table::is_empty_set(&layout).unwrap());
        let dir = std::env::temp_dir().join(format!("xtask-fvp-table-{}", std::process::id()));
        crate::table::write_table(&layout, &dir, manifest_tool::Platform::fvp()).unwrap();
        let rs = std::fs::read_to_string(dir.join(manifest_tool::output::TABLE_RS)).unwrap();
        assert!(rs.contains("assert!(PARTITIONS.len() == 0)"));
        assert!(rs.contains("PhysRange { base: 0x7000000, size: 0xf00000 }"));
        assert!(std::fs::read(dir.join(manifest_tool::output::BLOB_BIN))
            .unwrap()
            .is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_non_empty_set_is_not_taken_for_empty() {
        let dir = std::env::temp_dir().join(format!("xtask-fvp-set-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("l.json");
        std::fs::write(&f, r#"{ "a": { "image": "a.bin", "pm": "a.dts" } }"#).unwrap();
        assert!(!crate::table::is_empty_set(&f).unwrap());
        std::fs::write(&f, "[]").unwrap();
        assert!(!crate::table::is_empty_set(&f).unwrap());
        std::fs::write(&f, " {\n } ").unwrap();
        assert!(crate::table::is_empty_set(&f).unwrap());
        assert!(crate::table::is_empty_set(&dir.join("missing.json")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
