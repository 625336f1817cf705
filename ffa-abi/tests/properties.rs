//! Bounded property tests: arbitrary registers and bytes into every decoder, asserting
//! no panic and a stable re-encoding of what was accepted (`common/roundtrip.rs`).
//! The case counts keep the whole file to a few seconds; `fuzz/` runs the same
//! properties without a bound.

#[path = "common/roundtrip.rs"]
mod roundtrip;
#[path = "common/samples.rs"]
mod samples;

use ffa_abi::memory::transaction::{MemAccess, TransactionBuilder};
use ffa_abi::memory::{
    AccessPerms, Constituent, Layout, MemAttributes, MemHandle, TransactionFlags,
};
use ffa_abi::*;
use proptest::prelude::*;
use roundtrip::*;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Register values biased towards what decoders branch on: zero, small values, a few
/// set bits, and anything.
fn reg() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => Just(0u64),
        2 => 0u64..64,
        1 => (0u32..64).prop_map(|b| 1u64 << b),
        2 => any::<u32>().prop_map(u64::from),
        1 => any::<u64>(),
    ]
}

fn func() -> impl Strategy<Value = u64> {
    prop_oneof![
        8 => proptest::sample::select(FuncId::ALL).prop_map(|f| u64::from(f.raw())),
        1 => 0x8400_0050u64..0x8400_00A0,
        1 => any::<u64>(),
    ]
}

fn regs() -> impl Strategy<Value = Regs> {
    (func(), proptest::collection::vec(reg(), 17)).prop_map(|(x0, rest)| {
        let mut x = [0u64; 18];
        x[0] = x0;
        x[1..].copy_from_slice(&rest);
        Regs(x)
    })
}

/// A valid descriptor of some shape, as the starting point for mutations.
fn valid_transaction(layout: Layout, n_recv: usize, n_cons: usize, attr: u16) -> Vec<u8> {
    let recv: Vec<MemAccess> = (0..n_recv)
        .map(|i| MemAccess::new(EndpointId(0x8001 + i as u16), AccessPerms::RW_NX))
        .collect();
    let cons: Vec<Constituent> = (0..n_cons as u64)
        .map(|i| Constituent {
            address: 0x1000 * (i * 5 + 1),
            page_count: 1 + i as u32,
        })
        .collect();
    let b = TransactionBuilder {
        layout,
        sender: EndpointId(1),
        attributes: MemAttributes::decode(attr, layout).unwrap_or(MemAttributes::NORMAL_WB_INNER),
        flags: TransactionFlags(0),
        handle: MemHandle(0),
        tag: 7,
        receivers: &recv,
        constituents: &cons,
    };
    let mut out = vec![0u8; b.total_len().unwrap()];
    b.write(&mut out).unwrap();
    out
}

fn layout_of(sel: u8) -> (Layout, u8) {
    match sel % 3 {
        0 => (Layout::V1_0, 0),
        1 => (Layout::V1_1, 1),
        _ => (Layout::V1_2, 2),
    }
}

proptest! {
    #![proptest_config(config(60_000))]

    #[test]
    fn decode_arbitrary_registers(r in regs(), sel in any::<u8>()) {
        check_regs(&r, version_from(sel));
    }
}

proptest! {
    #![proptest_config(config(20_000))]

    #[test]
    fn arbitrary_bytes_into_every_parser(buf in proptest::collection::vec(any::<u8>(), 0..256), sel in any::<u8>()) {
        check_descriptor_bytes(&buf, sel);
    }

    #[test]
    fn mutated_valid_transactions(
        sel in any::<u8>(),
        n_recv in 1usize..4,
        n_cons in 0usize..5,
        attr in any::<u16>(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        cut in any::<usize>(),
    ) {
        let (layout, vsel) = layout_of(sel);
        let mut buf = valid_transaction(layout, n_recv, n_cons, attr & 0x7F);
        let v = roundtrip::FUZZ_VERSIONS[usize::from(vsel)];
        // The unmutated descriptor must be accepted, so the property is not vacuous.
        prop_assert!(ffa_abi::memory::transaction::MemTransaction::parse(&buf, v).is_ok());
        for (at, val) in edits {
            let i = at % buf.len();
            buf[i] = val;
        }
        if cut % 4 == 0 {
            buf.truncate(cut % (buf.len() + 1));
        }
        check_transaction(&buf, v);
    }

    #[test]
    fn mutated_valid_boot_info(
        n in 0usize..4,
        v1_0 in any::<bool>(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..3),
        extra in 0usize..40,
    ) {
        use ffa_abi::boot_info::{self, BootInfo, BootInfoDesc, BootInfoV1_0, NameValue};
        let mut buf = vec![0u8; 8 + 32 * 4 + 40];
        let len = if v1_0 {
            let e: Vec<NameValue> = (0..n as u64).map(|i| NameValue::dt(0x1000 * i, i)).collect();
            boot_info::write_boot_info_v1_0(&e, &mut buf).unwrap()
        } else {
            let d: Vec<BootInfoDesc> = (0..n as u64).map(|i| BootInfoDesc::fdt(0x1000 * i, 64)).collect();
            boot_info::write_boot_info(Version::V1_1, &d, &mut buf).unwrap()
        };
        buf.truncate(len + extra);
        let accepted = if v1_0 {
            BootInfoV1_0::parse(&buf).is_ok()
        } else {
            BootInfo::parse(&buf).is_ok()
        };
        prop_assert!(accepted, "unmutated blob rejected");
        for (at, val) in edits {
            let i = at % buf.len();
            buf[i] = val;
        }
        check_boot_info(&buf);
    }

    #[test]
    fn bit_fields(w in any::<u32>()) {
        check_fields(w);
    }
}

proptest! {
    #![proptest_config(config(20_000))]

    /// Every sample call with one register perturbed still satisfies the properties.
    #[test]
    fn perturbed_samples(
        idx in 0usize..FuncId::ALL.len(),
        sel in 0u8..3,
        reg_i in 1usize..18,
        val in reg(),
    ) {
        let f = FuncId::ALL[idx];
        let v = samples::VERSIONS[usize::from(sel)];
        if f.is_available_in(v) {
            let mut r = samples::sample(f, v).encode();
            r.0[reg_i] = val;
            check_regs(&r, v);
        }
    }
}

fn access() -> impl Strategy<Value = MemAccess> {
    (any::<u16>(), 0u8..3, 0u8..3, 0u8..2, any::<[u64; 2]>()).prop_map(|(ep, d, i, f, imp)| {
        let mut a = MemAccess::new(
            EndpointId(ep),
            AccessPerms::decode(d | (i << 2)).expect("defined encodings"),
        );
        a.flags = f;
        a.impdef = imp;
        a
    })
}

fn constituent() -> impl Strategy<Value = Constituent> {
    (0u64..(1 << 40), 1u32..4096).prop_map(|(page, n)| Constituent {
        address: page * 4096,
        page_count: n,
    })
}

proptest! {
    #![proptest_config(config(3000))]

    /// Any well-formed builder input writes a descriptor that parses back to the same
    /// values, whole or written fragment by fragment.
    #[test]
    fn builder_output_parses_back(
        sel in any::<u8>(),
        recv in proptest::collection::vec(access(), 1..5),
        cons in proptest::collection::vec(constituent(), 0..8),
        attr in any::<u16>(),
        flags in any::<u32>(),
        handle in any::<u64>(),
        tag in any::<u64>(),
        frag in 64usize..300,
    ) {
        let (layout, vsel) = layout_of(sel);
        let v = samples::VERSIONS[usize::from(vsel)];
        let mut recv = recv;
        if layout != Layout::V1_2 {
            // Only v1.2 carries the implementation-defined value.
            for r in &mut recv {
                r.impdef = [0, 0];
            }
        }
        let attributes =
            MemAttributes::decode(attr & 0x7F, layout).unwrap_or(MemAttributes::NORMAL_WB_INNER);
        let b = TransactionBuilder {
            layout,
            sender: EndpointId(7),
            attributes,
            flags: TransactionFlags(flags),
            handle: MemHandle(handle),
            tag,
            receivers: &recv,
            constituents: &cons,
        };
        let total = b.total_len().unwrap();
        let mut whole = vec![0u8; total];
        prop_assert_eq!(b.write(&mut whole).unwrap(), total);
        let t = ffa_abi::memory::transaction::MemTransaction::parse(&whole, v).unwrap();
        prop_assert_eq!(t.attributes, attributes);
        prop_assert_eq!(t.flags, TransactionFlags(flags));
        prop_assert_eq!(t.handle, MemHandle(handle));
        prop_assert_eq!(t.tag, tag);
        prop_assert!(t.receivers().eq(recv.iter().copied()));
        prop_assert!(t.constituents().eq(cons.iter().copied()));
        prop_assert_eq!(t.composite_offset().is_some(), !cons.is_empty());

        let mut joined = Vec::new();
        let mut buf = vec![0u8; frag.max(b.prefix_len().unwrap())];
        loop {
            let n = b.write_fragment(joined.len(), &mut buf).unwrap();
            if n == 0 {
                break;
            }
            joined.extend_from_slice(&buf[..n]);
        }
        prop_assert_eq!(joined, whole);
    }
}
