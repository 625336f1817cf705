//! Host tests of the FDT reader: lookups on hand-built blobs, header and structure checks, and
//! that no truncation or corruption of a blob makes it panic.
//! (Moved here from sp-rt's and manifest-tool's readers when the four readers became one.)

use super::writer::{build, cells, Item};
use super::*;

fn push(v: &mut Vec<u8>, w: u32) {
    v.extend_from_slice(&w.to_be_bytes());
}

/// An SP manifest shape: root properties on both sides of a nested child.
fn manifest() -> Vec<u8> {
    use Item::*;
    build(&[
        Begin(""),
        Prop("compatible", b"arm,ffa-manifest-1.0\0".to_vec()),
        Prop("uuid", cells(&[1, 2, 3, 4])),
        Begin("memory-regions"),
        Begin("rw"),
        Prop("id", cells(&[0xBAD])),
        Prop("pages-count", cells(&[0x80])),
        End,
        End,
        Prop("id", cells(&[0x8004])),
        Prop("load-address", cells(&[0, 0x2430_0000])),
        End,
    ])
}

/// Builds a small DTB by hand, word by word, without the reservation map:
/// root { a = <1>; /NOP/ s = "x"; child@1 { b = <0 2>; }; }.
fn sample() -> Vec<u8> {
    let mut st = Vec::new();
    let strings = b"a\0s\0b\0".to_vec();
    push(&mut st, FDT_BEGIN_NODE);
    push(&mut st, 0); // "" + NUL, padded
    push(&mut st, FDT_PROP);
    push(&mut st, 4);
    push(&mut st, 0);
    push(&mut st, 1);
    push(&mut st, FDT_NOP);
    push(&mut st, FDT_PROP);
    push(&mut st, 2);
    push(&mut st, 2);
    st.extend_from_slice(b"x\0\0\0");
    push(&mut st, FDT_BEGIN_NODE);
    st.extend_from_slice(b"child@1\0");
    push(&mut st, FDT_PROP);
    push(&mut st, 8);
    push(&mut st, 4);
    push(&mut st, 0);
    push(&mut st, 2);
    push(&mut st, FDT_END_NODE);
    push(&mut st, FDT_END_NODE);
    push(&mut st, FDT_END);
    let off_struct = 40u32;
    let off_strings = off_struct + u32::try_from(st.len()).unwrap();
    let total = off_strings + u32::try_from(strings.len()).unwrap();
    let mut out = Vec::new();
    for w in [
        FDT_MAGIC,
        total,
        off_struct,
        off_strings,
        40,
        17,
        16,
        0,
        u32::try_from(strings.len()).unwrap(),
        u32::try_from(st.len()).unwrap(),
    ] {
        push(&mut out, w);
    }
    out.extend_from_slice(&st);
    out.extend_from_slice(&strings);
    out
}

#[test]
fn reads_root_and_child_properties() {
    let b = manifest();
    let f = Fdt::new(&b).unwrap();
    assert_eq!(f.property_cells::<4>("/", "uuid"), Some([1, 2, 3, 4]));
    // The child's `id` does not shadow the root's, which comes after the child.
    assert_eq!(f.property_u32("/", "id"), Some(0x8004));
    assert_eq!(
        f.property_u32("/memory-regions/rw", "pages-count"),
        Some(0x80)
    );
    assert_eq!(f.property_u32("/memory-regions/rw", "id"), Some(0xBAD));
    assert_eq!(f.property_u64("/", "load-address"), Some(0x2430_0000));
    assert_eq!(
        f.property("/", "compatible"),
        Some(&b"arm,ffa-manifest-1.0\0"[..])
    );
    assert_eq!(f.property("/", "missing"), None);
    assert_eq!(f.property("/memory-regions", "uuid"), None);
    assert_eq!(f.property("/memory-regions/ro", "id"), None);
    assert_eq!(f.property_cells::<3>("/", "uuid"), None);
}

#[test]
fn parses_hand_built_blob() {
    let b = sample();
    let f = Fdt::new(&b).unwrap();
    let root = f.root();
    assert_eq!(root.name(), "");
    assert_eq!(root.prop("a").unwrap().u32(), Some(1));
    assert_eq!(root.prop("s").unwrap().string(), Some("x"));
    let child = root.child("child").unwrap();
    assert_eq!(child.name(), "child@1");
    assert_eq!(child.base_name(), "child");
    assert_eq!(child.prop("b").unwrap().u64(), Some(2));
    assert!(child.prop("b").unwrap().u32().is_none());
    // Paths name the unit address; `child` looks it up by base name.
    assert!(f.node("/child").is_none());
    assert_eq!(f.property_u64("/child@1", "b"), Some(2));
}

#[test]
fn nodes_list_their_own_props_and_children_in_order() {
    let b = manifest();
    let f = Fdt::new(&b).unwrap();
    let root = f.root();
    let names: Vec<_> = root.props().map(|p| p.name).collect();
    assert_eq!(names, ["compatible", "uuid", "id", "load-address"]);
    let children: Vec<_> = root.children().map(|n| n.name()).collect();
    assert_eq!(children, ["memory-regions"]);
    let regions = root.child("memory-regions").unwrap();
    assert_eq!(regions.props().count(), 0);
    let rw = regions.children().next().unwrap();
    assert_eq!(
        rw.props().map(|p| p.name).collect::<Vec<_>>(),
        ["id", "pages-count"]
    );
    assert_eq!(rw.children().count(), 0);
}

#[test]
fn reads_property_values() {
    let p = |value: &'static [u8]| Prop { name: "p", value };
    assert_eq!(p(b"a\0b\0").strings().collect::<Vec<_>>(), ["a", "b"]);
    assert!(
        p(b"vendor,x\0arm,ffa-core-manifest-1.0\0").contains_string("arm,ffa-core-manifest-1.0")
    );
    assert!(!p(b"arm,ffa-core-manifest-1.0").contains_string("arm,ffa-core-manifest-1.0"));
    assert_eq!(p(b"a\0b\0").string(), None);
    assert_eq!(p(b"ab\0").string(), Some("ab"));
    assert_eq!(p(b"ab").string(), None);
    assert_eq!(p(&[0, 0, 0, 1, 0, 0, 0, 2]).cells::<2>(), Some([1, 2]));
    assert_eq!(
        p(&[0, 0, 0, 1, 0, 0, 0, 2])
            .cell_list()
            .unwrap()
            .collect::<Vec<_>>(),
        [1, 2]
    );
    assert!(p(&[0, 0, 1]).cell_list().is_none());
    assert_eq!(p(&[0, 0, 0, 1, 0, 0, 0, 2]).u64(), Some(0x1_0000_0002));
    assert_eq!(p(&[0, 0, 1]).u64(), None);
    assert!(p(b"").is_empty());
}

#[test]
fn rejects_bad_headers() {
    let b = manifest();
    assert_eq!(Fdt::new(&b[..39]).err(), Some(FdtError::Truncated));
    assert_eq!(Fdt::new(&b[..b.len() - 1]).err(), Some(FdtError::Truncated));
    let mut m = b.clone();
    m[0] = 0;
    assert_eq!(Fdt::new(&m).err(), Some(FdtError::BadMagic(0x000D_FEED)));
    let mut m = b.clone();
    m[36..40].copy_from_slice(&0xFFFF_FFF0u32.to_be_bytes());
    assert_eq!(Fdt::new(&m).err(), Some(FdtError::BadLayout));
    let mut m = b.clone();
    m[20..24].copy_from_slice(&15u32.to_be_bytes());
    assert_eq!(Fdt::new(&m).err(), Some(FdtError::UnsupportedVersion(15)));
    // Version 16 has no size_dt_struct: the structure block runs to the end of the blob.
    let mut m = b.clone();
    m[20..24].copy_from_slice(&16u32.to_be_bytes());
    m[36..40].copy_from_slice(&0xFFFF_FFF0u32.to_be_bytes());
    assert_eq!(Fdt::new(&m).unwrap().property_u32("/", "id"), Some(0x8004));
    // A misaligned structure block.
    let mut m = b;
    m[8..12].copy_from_slice(&57u32.to_be_bytes());
    assert_eq!(Fdt::new(&m).err(), Some(FdtError::BadLayout));
}

#[test]
fn rejects_malformed_structure_blocks() {
    use Item::*;
    let id = || Prop("id", cells(&[1]));
    let cases: [(&[Item], FdtError); 5] = [
        // The root is never closed.
        (&[Begin(""), id()], FdtError::Unterminated),
        // A property outside any node.
        (
            &[id(), Begin(""), End],
            FdtError::BadToken {
                offset: 0,
                token: FDT_PROP,
            },
        ),
        // One END_NODE too many.
        (
            &[Begin(""), End, End],
            FdtError::BadToken {
                offset: 12,
                token: FDT_END_NODE,
            },
        ),
        // A second root.
        (
            &[Begin(""), End, Nop, Begin("")],
            FdtError::BadToken {
                offset: 16,
                token: FDT_BEGIN_NODE,
            },
        ),
        // A property after the root closed.
        (
            &[Begin(""), End, id()],
            FdtError::BadToken {
                offset: 12,
                token: FDT_PROP,
            },
        ),
    ];
    for (items, err) in cases {
        assert_eq!(Fdt::new(&build(items)).err(), Some(err));
    }
    // NOPs anywhere are fine.
    let b = build(&[Nop, Begin(""), Nop, id(), Nop, End, Nop]);
    assert_eq!(Fdt::new(&b).unwrap().property_u32("/", "id"), Some(1));

    let good = build(&[Begin(""), id(), End]);
    let struct_at = 56;
    // An unknown token.
    let mut m = good.clone();
    m[struct_at + 8..struct_at + 12].copy_from_slice(&7u32.to_be_bytes());
    assert_eq!(
        Fdt::new(&m).err(),
        Some(FdtError::BadToken {
            offset: 8,
            token: 7
        })
    );
    // A property name offset past the strings block.
    let mut m = good.clone();
    m[struct_at + 16..struct_at + 20].copy_from_slice(&100u32.to_be_bytes());
    assert_eq!(Fdt::new(&m).err(), Some(FdtError::BadName { offset: 8 }));
    // A property length past the structure block.
    let mut m = good;
    m[struct_at + 12..struct_at + 16].copy_from_slice(&0x1000u32.to_be_bytes());
    assert_eq!(
        Fdt::new(&m).err(),
        Some(FdtError::BadProperty { offset: 8 })
    );
}

#[test]
fn every_truncation_and_corruption_is_an_error_not_a_panic() {
    for good in [sample(), manifest()] {
        for len in 0..good.len() {
            assert!(Fdt::new(&good[..len]).is_err(), "truncated to {len}");
        }
        // Set every byte of the blob in turn to a few values: `new` and the lookups must
        // return, whatever they decide.
        for i in 0..good.len() {
            for v in [0x00, 0xFF, 0x01, 0x80] {
                let mut bad = good.clone();
                bad[i] = v;
                if let Ok(f) = Fdt::new(&bad) {
                    let _ = f.property_u32("/memory-regions/rw", "pages-count");
                    let _ = f.root().children().count();
                }
            }
        }
    }
}

#[test]
fn never_panics_on_mutated_trees() {
    let base = manifest();
    let mut s: u64 = 0x1234_5678_9ABC_DEF1;
    let mut walked = 0;
    for _ in 0..20_000 {
        let mut b = base.clone();
        for _ in 0..3 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let i = usize::try_from(s % u64::try_from(b.len()).unwrap()).unwrap();
            b[i] = s.to_be_bytes()[4];
        }
        if let Ok(f) = Fdt::new(&b) {
            walked += 1;
            if let Some(v) = f.property("/", "uuid") {
                assert!(v.len() <= b.len());
            }
            let _ = f.property_u32("/memory-regions/rw", "pages-count");
            for n in f.root().children() {
                let _ = n.props().count();
            }
        }
    }
    assert!(walked > 0);
}
