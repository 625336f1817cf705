//! Host tests of `link/sp_link.rs` against the manifests of the SPs in this repository.

use crate::sp_link::{check_manifest, override_var, IMAGE_SIZE, RW_OFFSET, RW_SIZE, STACK_SIZE};

fn manifest(sp: &str) -> String {
    let path = format!("{}/../{sp}/{sp}.dts", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const SPS: [(&str, u64); 4] = [
    ("echo", 0x2400_0000),
    ("relay", 0x2410_0000),
    ("fault", 0x2420_0000),
    ("pkg-sp", 0x2430_0000),
];

#[test]
fn every_sp_manifest_follows_the_image_layout() {
    for (sp, base) in SPS {
        assert_eq!(check_manifest(&manifest(sp)), Ok(base), "{sp}");
    }
}

#[test]
fn images_lie_in_the_sp_pool_without_overlap() {
    // Memory map (docs/boot.md, Addresses): the SP pool is 0x2400_0000..0x3000_0000.
    for (i, (sp, base)) in SPS.iter().enumerate() {
        assert!(
            *base >= 0x2400_0000 && base + IMAGE_SIZE <= 0x3000_0000,
            "{sp}"
        );
        for (other, b) in &SPS[i + 1..] {
            assert!(
                base + IMAGE_SIZE <= *b || b + IMAGE_SIZE <= *base,
                "{sp} / {other}"
            );
        }
    }
}

// The window and the stack fit where sp.ld puts them.
const _: () = assert!(RW_OFFSET + RW_SIZE <= IMAGE_SIZE);
const _: () = assert!(STACK_SIZE < RW_SIZE);

#[test]
fn layout_violations_are_named() {
    let good = manifest("echo");
    let cases = [
        ("load-address = <0x0 0x24000000>;", "", "no `load-address"),
        (
            "load-address = <0x0 0x24000000>;",
            "load-address = <0x0 0x24000800>;",
            "not 4 KiB aligned",
        ),
        (
            "entrypoint-offset = <0x0>;",
            "entrypoint-offset = <0x1000>;",
            "entrypoint-offset must be 0",
        ),
        (
            "load-address-relative-offset = <0x80000>;",
            "load-address-relative-offset = <0x40000>;",
            "load-address-relative-offset",
        ),
        (
            "pages-count = <0x80>;",
            "pages-count = <0x40>;",
            "pages-count",
        ),
        ("attributes = <0x3>;", "attributes = <0x7>;", "attributes"),
    ];
    for (from, to, want) in cases {
        assert!(good.contains(from), "fixture lacks {from}");
        let bad = good.replace(from, to);
        let err = check_manifest(&bad).expect_err(from);
        assert!(err.contains(want), "{from} -> {err}");
    }
    // A one-cell load-address is accepted too.
    let one = good.replace("<0x0 0x24000000>", "<0x24000000>");
    assert_eq!(check_manifest(&one), Ok(0x2400_0000));
}

#[test]
fn override_variable_names() {
    assert_eq!(override_var("echo"), "SP_RT_MANIFEST_ECHO");
    assert_eq!(override_var("pkg-sp"), "SP_RT_MANIFEST_PKG_SP");
}
