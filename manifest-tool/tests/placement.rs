//! Valid SP sets: placement, ID assignment, boot order and platform inputs, checked on the
//! plan the library returns.

use manifest_tool::{sp_set::Plan, Platform, Range};
use spmc_table::EndpointId;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A scratch SP set in its own directory under the test target dir.
struct Set {
    dir: PathBuf,
    layout: serde_json::Map<String, serde_json::Value>,
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

impl Set {
    fn new(tag: &str) -> Self {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("placement-{tag}-{n}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self {
            dir,
            layout: serde_json::Map::new(),
        }
    }

    /// Adds an SP whose manifest has the given extra root properties and body.
    fn sp(
        &mut self,
        name: &str,
        uuid_last: u32,
        extra: &str,
        image_len: usize,
        entry: serde_json::Value,
    ) -> &mut Self {
        let dts = format!(
            "/dts-v1/;\n/ {{\n compatible = \"arm,ffa-manifest-1.0\";\n ffa-version = <0x10001>;\n \
             uuid = <1 2 3 {uuid_last}>;\n execution-ctx-count = <1>;\n exception-level = <1>;\n \
             execution-state = <0>;\n messaging-method = <3>;\n ns-interrupts-action = <2>;\n{extra}\n}};\n"
        );
        std::fs::write(self.dir.join(format!("{name}.dts")), dts).unwrap();
        std::fs::write(self.dir.join(format!("{name}.bin")), vec![0xA5; image_len]).unwrap();
        let mut e =
            serde_json::json!({ "image": format!("{name}.bin"), "pm": format!("{name}.dts") });
        if let (Some(e), Some(extra)) = (e.as_object_mut(), entry.as_object()) {
            e.extend(extra.clone());
        }
        self.layout.insert(name.to_string(), e);
        self
    }

    fn check(&self, platform: &Platform) -> manifest_tool::Result<Plan> {
        let path = self.dir.join("sp_layout.json");
        std::fs::write(&path, serde_json::to_string_pretty(&self.layout).unwrap()).unwrap();
        manifest_tool::check(&path, platform)
    }
}

fn none() -> serde_json::Value {
    serde_json::json!({})
}

fn find<'a>(plan: &'a Plan, name: &str) -> &'a manifest_tool::sp_set::PlannedSp {
    plan.sps.iter().find(|s| s.entry.name == name).unwrap()
}

#[test]
fn images_are_placed_first_fit_64k_aligned_in_boot_order() {
    let mut set = Set::new("order");
    set.sp("c", 3, "", 0x100, none())
        .sp(
            "b",
            2,
            " boot-order = <1>;",
            0x100,
            serde_json::json!({ "size": "0x11000" }),
        )
        .sp(
            "a",
            1,
            " boot-order = <2>;",
            0x100,
            serde_json::json!({ "size": "0x20000" }),
        );
    let plan = set.check(&Platform::qemu_sbsa()).unwrap();
    let order: Vec<&str> = plan.sps.iter().map(|s| s.entry.name.as_str()).collect();
    assert_eq!(
        order,
        ["b", "a", "c"],
        "boot-order first, then SPs without one"
    );
    let ids: Vec<EndpointId> = plan.sps.iter().map(|s| s.id).collect();
    assert_eq!(
        ids,
        [EndpointId(0x8001), EndpointId(0x8002), EndpointId(0x8003)],
        "IDs assigned in boot order"
    );
    let bases: Vec<u64> = plan.sps.iter().map(|s| s.image_base).collect();
    // b takes 0x11000 bytes: a starts at the next 64 KiB boundary.
    assert_eq!(bases, [0x2400_0000, 0x2402_0000, 0x2404_0000]);
    for sp in &plan.sps {
        let dtb = sp.loaded.dtb.len() as u64;
        assert_eq!(
            u64::from(sp.boot_info_pages),
            (0x1000 + dtb).div_ceil(0x1000)
        );
        for other in &plan.sps {
            let image = other.image_base..other.image_base + other.entry.size;
            assert!(
                !image.contains(&sp.boot_info_base),
                "boot info inside an image region"
            );
        }
    }
    // First fit at 4 KiB: b's boot info fills the gap after its 0x11000-byte image region.
    assert_eq!(plan.sps[0].boot_info_base, 0x2401_1000);
}

#[test]
fn fixed_addresses_and_base_address_regions_are_avoided() {
    let mut set = Set::new("fixed");
    set.sp("fixed", 1, " load-address = <0x24000000>;", 0x100, none())
        .sp(
            "owner",
            2,
            " memory-regions { compatible = \"arm,ffa-manifest-memory-regions\"; \
              pool { base-address = <0x24100000>; pages-count = <16>; attributes = <3>; }; };",
            0x100,
            none(),
        )
        .sp("auto", 3, "", 0x100, none());
    let plan = set.check(&Platform::qemu_sbsa()).unwrap();
    assert_eq!(find(&plan, "fixed").image_base, 0x2400_0000);
    // 0x2410_0000..0x2411_0000 belongs to `owner`'s region: the first free 64 KiB boundary
    // after it is 0x2411_0000, and the 1 MiB image regions go there in boot (= name) order.
    assert_eq!(find(&plan, "auto").image_base, 0x2411_0000);
    assert_eq!(find(&plan, "owner").image_base, 0x2421_0000);
    let region = &find(&plan, "owner").memory[0];
    assert_eq!(region.base, 0x2410_0000);
}

#[test]
fn manifest_ids_are_honoured_and_skipped_when_assigning() {
    let mut set = Set::new("ids");
    set.sp("a", 1, "", 0x10, none())
        .sp("b", 2, " id = <0x8001>;", 0x10, none())
        .sp("c", 3, "", 0x10, none());
    let plan = set.check(&Platform::qemu_sbsa()).unwrap();
    assert_eq!(find(&plan, "b").id, EndpointId(0x8001));
    assert!(find(&plan, "b").id_from_manifest);
    assert_eq!(find(&plan, "a").id, EndpointId(0x8002));
    assert_eq!(find(&plan, "c").id, EndpointId(0x8003));
}

#[test]
fn ns_regions_may_overlap_across_sps_but_secure_ones_may_not() {
    let ns = " memory-regions { compatible = \"arm,ffa-manifest-memory-regions\"; \
               buf { base-address = <0x100 0x0>; pages-count = <4>; attributes = <0xb>; }; };";
    let mut set = Set::new("ns");
    set.sp("a", 1, ns, 0x10, none())
        .sp("b", 2, ns, 0x10, none());
    set.check(&Platform::qemu_sbsa()).unwrap();
    let secure = ns
        .replace("<0x100 0x0>", "<0x2f000000>")
        .replace("0xb", "0x3");
    let mut set = Set::new("secure");
    set.sp("a", 1, &secure, 0x10, none())
        .sp("b", 2, &secure, 0x10, none());
    let err = set.check(&Platform::qemu_sbsa()).unwrap_err();
    assert_eq!(err.rule, "region-overlap");
    assert_eq!(err.node, "/memory-regions/buf");
}

#[test]
fn relative_regions_resolve_against_the_placed_image() {
    let mut set = Set::new("relative");
    set.sp(
        "a",
        1,
        " load-address = <0x25000000>; memory-regions { compatible = \"arm,ffa-manifest-memory-regions\"; \
          bss { load-address-relative-offset = <0x8000>; pages-count = <2>; attributes = <3>; load-flags = <1>; }; };",
        0x10,
        none(),
    );
    let plan = set.check(&Platform::qemu_sbsa()).unwrap();
    let r = &plan.sps[0].memory[0];
    assert_eq!(r.base, 0x2500_8000);
    assert!(r.desc.nobits);
}

#[test]
fn the_platform_decides_what_fits() {
    let mut set = Set::new("platform");
    set.sp("a", 1, " load-address = <0x7000000>;", 0x10, none());
    assert_eq!(
        set.check(&Platform::qemu_sbsa()).unwrap_err().rule,
        "region-outside"
    );
    let plan = set.check(&Platform::fvp()).unwrap();
    assert_eq!(plan.sps[0].image_base, 0x0700_0000);

    let file = set.dir.join("tiny-platform.json");
    std::fs::write(
        &file,
        r#"{ "name": "tiny", "sp-pool": ["0x7000000", "0x7100000"], "devices": [[1342177280, 1342181376]] }"#,
    )
    .unwrap();
    let tiny = Platform::from_arg(file.to_str().unwrap()).unwrap();
    assert_eq!(
        tiny.sp_pool,
        Range {
            base: 0x700_0000,
            size: 0x10_0000
        }
    );
    assert_eq!(
        tiny.devices,
        vec![Range {
            base: 0x5000_0000,
            size: 0x1000
        }]
    );
    // The 1 MiB image fills the pool: no room is left for the boot information.
    let err = set.check(&tiny).unwrap_err();
    assert_eq!((err.rule, err.node.as_str()), ("pool-exhausted", "/a"));

    std::fs::write(&file, r#"{ "sp-pool": [5, 4] }"#).unwrap();
    assert_eq!(
        Platform::from_arg(file.to_str().unwrap()).unwrap_err().rule,
        "range-empty"
    );
    std::fs::write(&file, r#"{ "sp-pool": [4, 5], "extra": 1 }"#).unwrap();
    assert_eq!(
        Platform::from_arg(file.to_str().unwrap()).unwrap_err().rule,
        "unknown-key"
    );
}

#[test]
fn capabilities_default_to_nothing() {
    let mut set = Set::new("caps");
    set.sp("a", 1, "", 0x10, none()).sp(
        "b",
        2,
        "",
        0x10,
        serde_json::json!({ "capabilities": { "direct-messages": ["a"] } }),
    );
    let plan = set.check(&Platform::qemu_sbsa()).unwrap();
    let a = find(&plan, "a");
    assert_eq!(a.caps, manifest_tool::sp_set::Caps::default());
    assert_eq!(find(&plan, "b").caps.direct, vec![a.id]);
}

/// EL3's memory (TF-A's BL31/BL2/BL1 RW data, shared RAM, config pages) is never given to an
/// SP: not a fixed image address, not a `base-address` region, not by a platform description
/// that offers it; each refusal is rule `el3-memory` naming the EL3 range.
#[test]
fn nothing_is_placed_in_el3_memory() {
    let sbsa = Platform::qemu_sbsa();
    assert!(sbsa.el3_overlap().is_none());
    assert!(Platform::fvp().el3_overlap().is_none());
    // qemu_sbsa BL2..BL1 RW (0x3FBC_F000..0x4000_0000) and TF-A's shared RAM are EL3's.
    assert!(sbsa.el3_reserved.contains(&Range {
        base: 0x3FBC_F000,
        size: 0x43_1000
    }));
    assert!(sbsa.el3_reserved.contains(&Range {
        base: 0x2000_0000,
        size: 0x8000
    }));

    // A platform that offers EL3's memory as SP memory, as this project once did.
    let mut greedy = sbsa.clone();
    greedy.secure_memory = vec![Range {
        base: 0x3000_0000,
        size: 0x1000_0000,
    }];
    let mut set = Set::new("el3");
    set.sp("a", 1, "", 0x100, none());
    let err = set.check(&greedy).unwrap_err();
    assert_eq!(err.rule, "el3-memory", "{err}");

    // A base-address region inside BL31, allowed by the platform's secure memory list.
    let mut set = Set::new("el3-region");
    set.sp(
        "a",
        1,
        " memory-regions { compatible = \"arm,ffa-manifest-memory-regions\";\n \
         r { pages-count = <1>; attributes = <3>; base-address = <0x0 0x3fbec000>; }; };",
        0x100,
        none(),
    );
    let mut lax = sbsa.clone();
    lax.el3_reserved.clear();
    lax.secure_memory = vec![Range {
        base: 0x3000_0000,
        size: 0x1000_0000,
    }];
    assert!(
        set.check(&lax).is_ok(),
        "outside EL3's ranges it would be placed"
    );
    let err = set.check(&sbsa).unwrap_err();
    assert_eq!(err.rule, "el3-memory", "{err}");
    let mut offered_but_el3 = lax.clone();
    offered_but_el3.el3_reserved = sbsa.el3_reserved.clone();
    offered_but_el3.secure_memory = vec![Range {
        base: 0x3000_0000,
        size: 0x0FBC_F000,
    }];
    let err = set.check(&offered_but_el3).unwrap_err();
    assert_eq!(err.rule, "el3-memory", "{err}");

    // A fixed image address in EL3's shared RAM.
    let mut set = Set::new("el3-image");
    set.sp(
        "a",
        1,
        "",
        0x100,
        serde_json::json!({ "physical-load-address": "0x20000000" }),
    );
    assert_eq!(set.check(&sbsa).unwrap_err().rule, "el3-memory");

    // A platform file naming EL3's memory and offering part of it.
    let file = Set::new("el3-json").dir.join("p.json");
    std::fs::write(
        &file,
        r#"{ "sp-pool": ["0x24000000", "0x30000000"], "secure-memory": [["0x30000000", "0x40000000"]],
             "el3-reserved": [["0x3fbcf000", "0x40000000"]] }"#,
    )
    .unwrap();
    assert_eq!(
        Platform::from_arg(file.to_str().unwrap()).unwrap_err().rule,
        "el3-memory"
    );
}

/// `memory-quota` overrides the SPMC's memory-sharing quota per SP, key by key; anything else
/// in it is refused.
#[test]
fn memory_quota_is_read_per_sp() {
    let mut set = Set::new("quota");
    set.sp("a", 1, "", 0x10, none()).sp(
        "b",
        2,
        "",
        0x10,
        serde_json::json!({ "capabilities": { "memory-quota": { "transactions": 4, "donated": 0 } } }),
    );
    let plan = set.check(&Platform::qemu_sbsa()).unwrap();
    let q = |n| find(&plan, n).entry.grants.memory_quota;
    assert_eq!(q("a"), manifest_tool::layout::MemoryQuota::default());
    assert_eq!(
        q("b"),
        manifest_tool::layout::MemoryQuota {
            transactions: Some(4),
            fragments: None,
            donated: Some(0),
        }
    );
    let mut bad = Set::new("quota-bad");
    bad.sp(
        "a",
        1,
        "",
        0x10,
        serde_json::json!({ "capabilities": { "memory-quota": { "slots": 4 } } }),
    );
    assert!(bad.check(&Platform::qemu_sbsa()).is_err());
    let mut big = Set::new("quota-big");
    big.sp(
        "a",
        1,
        "",
        0x10,
        serde_json::json!({ "capabilities": { "memory-quota": { "transactions": 70000 } } }),
    );
    assert!(big.check(&Platform::qemu_sbsa()).is_err());
}

/// The quotas of all SPs and of the normal world must fit the SPMC's tables together
/// (`spmc_table::memory_capacity`): at the capacity is accepted, one over refused with the
/// largest override named; nine SPs at the default quota are one SP too many; an SP's own
/// fragments may not exceed the shared reassembly slots.
#[test]
fn memory_quotas_must_fit_the_spmc_tables() {
    use spmc_table::memory_capacity as cap;
    let quota =
        |k: &str, v: u16| serde_json::json!({ "capabilities": { "memory-quota": { k: v } } });
    // The normal world's 8, a's 2 (default) and b's 14 fill the 24 slots exactly.
    let fits = cap::TRANSACTIONS - cap::NW_TRANSACTIONS - cap::SP_TRANSACTIONS;
    let mut full = Set::new("quota-full");
    full.sp("a", 1, "", 0x10, none())
        .sp("b", 2, "", 0x10, quota("transactions", fits));
    assert!(full.check(&Platform::qemu_sbsa()).is_ok());
    let mut over = Set::new("quota-over");
    over.sp("a", 1, "", 0x10, none())
        .sp("b", 2, "", 0x10, quota("transactions", fits + 1));
    let e = over.check(&Platform::qemu_sbsa()).unwrap_err();
    assert_eq!(
        (e.rule, e.node.as_str()),
        (
            "memory-quota-oversubscribed",
            "/b/capabilities/memory-quota/transactions"
        )
    );
    let mut donated = Set::new("quota-donated");
    donated.sp("a", 1, "", 0x10, quota("donated", cap::DONATED));
    assert_eq!(
        donated.check(&Platform::qemu_sbsa()).unwrap_err().rule,
        "memory-quota-oversubscribed"
    );
    let mut frags = Set::new("quota-fragments");
    frags.sp(
        "a",
        1,
        "",
        0x10,
        quota("fragments", cap::FRAGMENT_SLOTS + 1),
    );
    assert_eq!(
        frags.check(&Platform::qemu_sbsa()).unwrap_err().node,
        "/a/capabilities/memory-quota/fragments"
    );
    // Eight SPs at the defaults fit (the kernel's tables are sized for them), nine do not.
    let mut eight = Set::new("quota-eight");
    for i in 0..8u32 {
        eight.sp(&format!("s{i}"), 10 + i, "", 0x10, none());
    }
    assert!(eight.check(&Platform::qemu_sbsa()).is_ok());
    let mut nine = Set::new("quota-nine");
    for i in 0..9u32 {
        nine.sp(&format!("s{i}"), 10 + i, "", 0x10, none());
    }
    let e = nine.check(&Platform::qemu_sbsa()).unwrap_err();
    assert_eq!(
        (e.rule, e.node.as_str()),
        ("memory-quota-oversubscribed", "/")
    );
}
