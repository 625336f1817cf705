//! The hand-written copies of the platform facts agree with this crate: each SPMC link script's
//! region and each SPMC manifest's load_address/entrypoint/binary_size equal the platform's
//! SPMC region, which starts at TF-A's BL32 base; the monitor's RAM is TF-A's BL31 region.

use platform_facts::{fvp, qemu_sbsa, tf_a, Range};
use std::path::Path;

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Returns the numbers of the first line of `text` that contains `key` (outside comments),
/// after the key: hex with `0x` or decimal.
fn numbers_after(text: &str, key: &str) -> Vec<u64> {
    let line = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('*') && !l.starts_with("/*") && !l.starts_with("//"))
        .find(|l| l.contains(key))
        .unwrap_or_else(|| panic!("no `{key}` line"));
    let rest = &line[line.find(key).unwrap() + key.len()..];
    rest.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty() && w.as_bytes()[0].is_ascii_digit())
        .map(|w| match w.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16).unwrap(),
            None => w.parse().unwrap(),
        })
        .collect()
}

/// The `MEMORY` region named `name` of a link script: `NAME (rwx) : ORIGIN = a, LENGTH = b`.
fn link_region(ld: &str, name: &str) -> Range {
    let line = ld
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(name) && l.contains("ORIGIN"))
        .unwrap_or_else(|| panic!("no `{name}` region"));
    Range {
        base: numbers_after(line, "ORIGIN =")[0],
        size: numbers_after(line, "LENGTH =")[0],
    }
}

/// A one- or two-cell property of an SPMC manifest DTS as one number.
fn dts_value(dts: &str, prop: &str) -> u64 {
    let cells = numbers_after(dts, &format!("{prop} ="));
    cells.iter().fold(0, |acc, c| (acc << 32) | c)
}

fn check_spmc(ld_path: &str, dts_path: &str, region: Range, bl32_base: u64) {
    let ld = read(ld_path);
    let dts = read(dts_path);
    assert_eq!(link_region(&ld, "SPMC"), region, "{ld_path}");
    assert_eq!(region.base, bl32_base, "the SPMC runs where TF-A puts BL32");
    assert_eq!(dts_value(&dts, "load_address"), region.base, "{dts_path}");
    assert_eq!(dts_value(&dts, "entrypoint"), region.base, "{dts_path}");
    assert_eq!(dts_value(&dts, "binary_size"), region.size, "{dts_path}");
}

#[test]
fn qemu_sbsa_link_script_and_manifest_agree_with_tf_a() {
    check_spmc(
        "qemu/spmc-sbsa/link.ld",
        "qemu/spmc-sbsa/spmc_manifest.dts",
        qemu_sbsa::SPMC,
        tf_a::qemu_sbsa::BL32_BASE,
    );
    assert!(qemu_sbsa::SPMC.end_saturating() <= tf_a::qemu_sbsa::BL32_LIMIT);
}

#[test]
fn fvp_link_script_and_manifest_agree_with_tf_a() {
    check_spmc(
        "platform-fvp/link.ld",
        "platform-fvp/spmc_manifest.dts",
        fvp::SPMC,
        tf_a::fvp::PLAT_ARM_SPMC_BASE,
    );
    assert_eq!(fvp::SPMC.size, tf_a::fvp::PLAT_ARM_SPMC_SIZE);
    assert_eq!(fvp::SP_POOL.base, fvp::SPMC.end_saturating());
    assert!(tf_a::fvp::TRUSTED_DRAM.contains_range(&fvp::SP_POOL));
}

#[test]
fn monitor_uses_only_tf_a_el3_memory() {
    let ld = read("qemu/monitor/link.ld");
    let ram = link_region(&ld, "RAM");
    assert_eq!(ram, qemu_sbsa::MONITOR_RAM);
    assert!(qemu_sbsa::EL3_RESERVED
        .iter()
        .any(|e| e.contains_range(&ram)));
    assert!(qemu_sbsa::EL3_RESERVED
        .iter()
        .any(|e| e.contains_range(&qemu_sbsa::SPMC_MANIFEST)));
}

/// The SPMC's own memory and everything it maps outside its image keep clear of EL3's.
#[test]
fn no_platform_range_reaches_el3_memory() {
    for r in [qemu_sbsa::SPMC, qemu_sbsa::SP_POOL, qemu_sbsa::FREE_SECURE]
        .iter()
        .chain(qemu_sbsa::SECURE_ALIAS)
    {
        assert_eq!(
            platform_facts::first_overlap(r, qemu_sbsa::EL3_RESERVED),
            None,
            "{r:x?}"
        );
    }
    for r in [fvp::SPMC, fvp::SP_POOL]
        .iter()
        .chain(fvp::SECURE_ALIAS)
        .chain(fvp::NS_DRAM)
    {
        assert_eq!(
            platform_facts::first_overlap(r, fvp::EL3_RESERVED),
            None,
            "{r:x?}"
        );
    }
    // The first byte past the free secure RAM is TF-A's BL2.
    assert_eq!(
        platform_facts::first_overlap(
            &Range {
                base: qemu_sbsa::FREE_SECURE.end_saturating(),
                size: 1
            },
            qemu_sbsa::EL3_RESERVED
        ),
        Some(tf_a::qemu_sbsa::EL3_HIGH)
    );
}
