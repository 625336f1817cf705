//! Golden byte vectors for every descriptor layout, written by hand from the
//! specification tables (offsets quoted in each module's documentation), and the
//! rejection rules of the descriptor parsers.

use ffa_abi::boot_info::{
    self, BootInfo, BootInfoDesc, BootInfoFlags, BootInfoType, BootInfoV1_0, NameValue,
};
use ffa_abi::memory::relinquish::{write_relinquish, MemRelinquish};
use ffa_abi::memory::transaction::{MemAccess, MemTransaction, TransactionBuilder};
use ffa_abi::memory::{
    AccessPerms, Constituent, Layout, MemAttributes, MemHandle, MemOp, TransactionFlags,
    TransactionType,
};
use ffa_abi::partition_info::{InfoGetRegsSummary, PartitionInfo, PartitionProperties};
use ffa_abi::*;

const CONSTITUENTS: [Constituent; 2] = [
    Constituent {
        address: 0x8000_0000,
        page_count: 2,
    },
    Constituent {
        address: 0x8010_0000,
        page_count: 1,
    },
];

fn receivers() -> [MemAccess; 1] {
    [MemAccess::new(EndpointId(0x8001), AccessPerms::RW_NX)]
}

fn share(layout: Layout, receivers: &[MemAccess]) -> TransactionBuilder<'_> {
    TransactionBuilder {
        layout,
        sender: EndpointId(1),
        attributes: MemAttributes::NORMAL_WB_INNER,
        flags: TransactionFlags(0),
        handle: MemHandle(0),
        tag: 0x1234,
        receivers,
        constituents: &CONSTITUENTS,
    }
}

/// The composite descriptor and constituents common to every layout.
const COMPOSITE: [u8; 48] = [
    3, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // total pages, range count, reserved
    0, 0, 0, 0x80, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, // 0x8000_0000, 2 pages
    0, 0, 0x10, 0x80, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, // 0x8010_0000, 1 page
];

fn golden_v1_0() -> Vec<u8> {
    let mut v = vec![
        0x01, 0x00, 0x2F, 0x00, 0, 0, 0, 0, // sender, attributes (u8), reserved, flags
        0, 0, 0, 0, 0, 0, 0, 0, // handle
        0x34, 0x12, 0, 0, 0, 0, 0, 0, // tag
        0, 0, 0, 0, 1, 0, 0, 0, // reserved, receiver count
        0x01, 0x80, 0x06, 0x00, 48, 0, 0, 0, // EMAD: ID, perms, flags, composite offset
        0, 0, 0, 0, 0, 0, 0, 0, // EMAD reserved
    ];
    v.extend_from_slice(&COMPOSITE);
    v
}

fn golden_v1_1() -> Vec<u8> {
    let mut v = vec![
        0x01, 0x00, 0x2F, 0x00, 0, 0, 0, 0, // sender, attributes (u16), flags
        0, 0, 0, 0, 0, 0, 0, 0, // handle
        0x34, 0x12, 0, 0, 0, 0, 0, 0, // tag
        16, 0, 0, 0, 1, 0, 0, 0, // EMAD size, count
        48, 0, 0, 0, 0, 0, 0, 0, // EMAD array offset, reserved
        0, 0, 0, 0, 0, 0, 0, 0, // reserved
        0x01, 0x80, 0x06, 0x00, 64, 0, 0, 0, // EMAD
        0, 0, 0, 0, 0, 0, 0, 0,
    ];
    v.extend_from_slice(&COMPOSITE);
    v
}

fn golden_v1_2() -> Vec<u8> {
    let mut v = golden_v1_1();
    v[24] = 32; // EMAD size
    v[52] = 80; // composite offset
                // 16 bytes of implementation-defined value go in at offset 56 of the EMAD's 8.
    let impdef: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    v.splice(56..56, impdef);
    v
}

fn v12_receivers() -> [MemAccess; 1] {
    let mut r = receivers();
    r[0].impdef = [0x0807_0605_0403_0201, 0x100F_0E0D_0C0B_0A09];
    r
}

#[test]
fn transaction_golden_vectors_build_and_parse() {
    let r = receivers();
    let r12 = v12_receivers();
    let cases: [(Version, Layout, &[MemAccess], Vec<u8>); 3] = [
        (Version::V1_0, Layout::V1_0, &r, golden_v1_0()),
        (Version::V1_1, Layout::V1_1, &r, golden_v1_1()),
        (Version::V1_2, Layout::V1_2, &r12, golden_v1_2()),
    ];
    for (v, layout, recv, golden) in cases {
        let b = share(layout, recv);
        let mut out = vec![0xEEu8; 256];
        let n = b.write(&mut out).unwrap();
        assert_eq!(&out[..n], &golden[..], "{v}");
        assert_eq!(b.total_len().unwrap(), golden.len());

        let t = MemTransaction::parse(&golden, v).unwrap();
        assert_eq!(t.layout(), layout);
        assert_eq!(t.sender, EndpointId(1));
        assert_eq!(t.attributes, MemAttributes::NORMAL_WB_INNER);
        assert_eq!(t.tag, 0x1234);
        assert_eq!(t.receivers().collect::<Vec<_>>(), recv.to_vec());
        assert_eq!(t.total_page_count(), 3);
        assert_eq!(t.constituents().collect::<Vec<_>>(), CONSTITUENTS.to_vec());
        t.validate_for(MemOp::Share).unwrap();
        t.validate_for(MemOp::Lend).unwrap();
    }
}

#[test]
fn retrieve_request_without_composite() {
    let r = receivers();
    let b = TransactionBuilder {
        layout: Layout::V1_1,
        sender: EndpointId(1),
        attributes: MemAttributes::NOT_SPECIFIED,
        flags: TransactionFlags(0).with_type(TransactionType::Share),
        handle: MemHandle(0x8000_0000_0000_0007),
        tag: 0,
        receivers: &r,
        constituents: &[],
    };
    let mut out = [0u8; 64];
    let n = b.write(&mut out).unwrap();
    let golden: [u8; 64] = [
        1, 0, 0, 0, 0x08, 0, 0, 0, // sender, attributes unspecified, flags: type share
        7, 0, 0, 0, 0, 0, 0, 0x80, // handle
        0, 0, 0, 0, 0, 0, 0, 0, // tag
        16, 0, 0, 0, 1, 0, 0, 0, //
        48, 0, 0, 0, 0, 0, 0, 0, //
        0, 0, 0, 0, 0, 0, 0, 0, //
        0x01, 0x80, 0x06, 0, 0, 0, 0, 0, // composite offset 0: region named by handle
        0, 0, 0, 0, 0, 0, 0, 0,
    ];
    assert_eq!(&out[..n], &golden);
    let t = MemTransaction::parse(&golden, Version::V1_1).unwrap();
    assert_eq!(t.composite_offset(), None);
    assert_eq!(t.flags.transaction_type(), TransactionType::Share);
    t.validate_for(MemOp::RetrieveReq).unwrap();
    // A lender's share must describe the region; a retrieve response too.
    assert!(t.validate_for(MemOp::RetrieveResp).is_err());
    assert!(t.validate_for(MemOp::Share).is_err());
}

#[test]
fn device_memory_attributes() {
    let r = receivers();
    let mut b = share(Layout::V1_1, &r);
    b.attributes = MemAttributes::decode(0x14, Layout::V1_1).unwrap(); // Device-nGnRE
    let mut out = [0u8; 128];
    let n = b.write(&mut out).unwrap();
    assert_eq!(&out[2..4], &[0x14, 0]);
    let t = MemTransaction::parse(&out[..n], Version::V1_1).unwrap();
    assert_eq!(t.attributes, b.attributes);
}

#[test]
fn fragments_reassemble_to_the_whole_descriptor() {
    let r = receivers();
    let many: Vec<Constituent> = (0..37)
        .map(|i| Constituent {
            address: 0x4000_0000 + i * 0x10_0000,
            page_count: i as u32 + 1,
        })
        .collect();
    for layout in [Layout::V1_0, Layout::V1_1, Layout::V1_2] {
        let mut b = share(layout, &r);
        b.constituents = &many;
        let total = b.total_len().unwrap();
        let mut whole = vec![0u8; total];
        b.write(&mut whole).unwrap();
        for frag_size in [b.prefix_len().unwrap(), 100, 128, 200, 4096] {
            let mut joined = Vec::new();
            let mut buf = vec![0xAAu8; frag_size];
            loop {
                let n = b.write_fragment(joined.len(), &mut buf).unwrap();
                if n == 0 {
                    break;
                }
                // Every fragment after the first holds whole constituents.
                if !joined.is_empty() {
                    assert_eq!(n % 16, 0);
                }
                joined.extend_from_slice(&buf[..n]);
            }
            assert_eq!(joined, whole, "{layout:?} / {frag_size}");
        }
        // The first fragment must hold everything up to the first constituent.
        let mut small = vec![0u8; b.prefix_len().unwrap() - 1];
        assert!(matches!(
            b.write_fragment(0, &mut small),
            Err(BuildError::NoSpace { .. })
        ));
        // Resuming in the middle of a constituent is refused.
        let mut buf = [0u8; 64];
        assert!(b
            .write_fragment(b.prefix_len().unwrap() + 8, &mut buf)
            .is_err());
        let t = MemTransaction::parse(
            &whole,
            match layout {
                Layout::V1_0 => Version::V1_0,
                Layout::V1_1 => Version::V1_1,
                Layout::V1_2 => Version::V1_2,
            },
        )
        .unwrap();
        assert_eq!(t.constituents().collect::<Vec<_>>(), many);
        assert_eq!(t.total_page_count(), (1..=37).sum::<u32>());
    }
}

#[test]
fn builder_reports_too_small_buffers() {
    let r = receivers();
    let b = share(Layout::V1_1, &r);
    let mut out = [0u8; 100];
    let e = b.write(&mut out).unwrap_err();
    assert_eq!(
        e,
        BuildError::NoSpace {
            needed: 112,
            available: 100
        }
    );
    assert_eq!(e.error_code(), ErrorCode::NoMemory);
}

fn rejects(buf: &[u8], v: Version) -> DescError {
    let e = MemTransaction::parse(buf, v).unwrap_err();
    assert_eq!(e.error_code(), ErrorCode::InvalidParameters, "{e:?}");
    e
}

fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn transaction_rejects_nonzero_mbz_fields() {
    // v1.0: reserved byte after the attributes, reserved word at 24, EMAD reserved,
    // composite reserved, constituent reserved.
    for off in [3usize, 24, 40, 56, 76] {
        let mut b = golden_v1_0();
        b[off] = 1;
        assert!(
            matches!(rejects(&b, Version::V1_0), DescError::NonZeroMbz { .. }),
            "{off}"
        );
    }
    // v1.1: header reserved 36..48, EMAD reserved 56..64, EMAD flags bits [7:1].
    for off in [36usize, 40, 47, 56, 63] {
        let mut b = golden_v1_1();
        b[off] = 0x80;
        assert!(
            matches!(rejects(&b, Version::V1_1), DescError::NonZeroMbz { .. }),
            "{off}"
        );
    }
    let mut b = golden_v1_1();
    b[51] = 2;
    assert_eq!(
        rejects(&b, Version::V1_1),
        DescError::NonZeroMbz { offset: 51 }
    );
    // v1.2: EMAD reserved is after the implementation-defined field.
    let mut b = golden_v1_2();
    b[72] = 1;
    assert!(matches!(
        rejects(&b, Version::V1_2),
        DescError::NonZeroMbz { offset: 72 }
    ));
    // Attribute bits above the defined ones.
    let mut b = golden_v1_1();
    b[3] = 1;
    assert!(matches!(
        rejects(&b, Version::V1_1),
        DescError::InvalidField { offset: 2, .. }
    ));
    // Reserved permission encodings.
    let mut b = golden_v1_1();
    b[50] = 0x03;
    assert!(matches!(
        rejects(&b, Version::V1_1),
        DescError::InvalidField { .. }
    ));
}

#[test]
fn transaction_rejects_overflowing_offsets() {
    let mut b = golden_v1_1();
    put32(&mut b, 32, 0xFFFF_FFF0); // EMAD array offset
    assert!(matches!(
        rejects(&b, Version::V1_1),
        DescError::CountTooLarge { .. } | DescError::Overflow
    ));
    let mut b = golden_v1_1();
    put32(&mut b, 52, 0xFFFF_FFF8); // composite offset
    assert!(matches!(
        rejects(&b, Version::V1_1),
        DescError::BadOffset { .. }
    ));
    let mut b = golden_v1_1();
    put32(&mut b, 52, 48); // composite overlapping the EMADs
    assert!(matches!(
        rejects(&b, Version::V1_1),
        DescError::BadOffset { value: 48 }
    ));
    let mut b = golden_v1_1();
    put32(&mut b, 32, 16); // EMADs inside the header
    assert!(matches!(
        rejects(&b, Version::V1_1),
        DescError::BadOffset { value: 16 }
    ));
    let mut b = golden_v1_1();
    put32(&mut b, 32, 56); // EMAD offset not 16-aligned
    assert!(matches!(
        rejects(&b, Version::V1_1),
        DescError::Misaligned { .. }
    ));
    let mut b = golden_v1_1();
    put32(&mut b, 52, 68); // composite offset not 8-aligned
    assert!(matches!(
        rejects(&b, Version::V1_1),
        DescError::Misaligned { .. }
    ));
    // A constituent whose range wraps the address space.
    let mut b = golden_v1_1();
    b[80..88].copy_from_slice(&0xFFFF_FFFF_FFFF_F000u64.to_le_bytes());
    assert!(matches!(rejects(&b, Version::V1_1), DescError::Overflow));
}

#[test]
fn transaction_rejects_counts_larger_than_the_buffer() {
    let mut b = golden_v1_1();
    put32(&mut b, 28, 2); // two receivers: the second would overlap the composite...
    let e = rejects(&b, Version::V1_1);
    assert!(
        matches!(
            e,
            DescError::BadOffset { .. } | DescError::InvalidField { .. }
        ),
        "{e:?}"
    );
    let mut b = golden_v1_1();
    put32(&mut b, 28, 0x1000_0000);
    assert_eq!(
        rejects(&b, Version::V1_1),
        DescError::CountTooLarge { count: 0x1000_0000 }
    );
    let mut b = golden_v1_1();
    put32(&mut b, 68, 3); // three ranges, two present
    assert_eq!(
        rejects(&b, Version::V1_1),
        DescError::CountTooLarge { count: 3 }
    );
    let mut b = golden_v1_1();
    put32(&mut b, 68, u32::MAX);
    assert_eq!(
        rejects(&b, Version::V1_1),
        DescError::CountTooLarge { count: u32::MAX }
    );
    let mut b = golden_v1_0();
    put32(&mut b, 28, 0);
    assert!(matches!(
        rejects(&b, Version::V1_0),
        DescError::InvalidField { offset: 28, .. }
    ));
    let mut b = golden_v1_1();
    put32(&mut b, 64, 4); // total page count disagrees with the constituents
    assert!(matches!(
        rejects(&b, Version::V1_1),
        DescError::InvalidField { .. }
    ));
    // Every truncation of a valid descriptor is refused.
    let g = golden_v1_2();
    for len in 0..g.len() {
        rejects(&g[..len], Version::V1_2);
    }
}

#[test]
fn transaction_rejects_unaligned_addresses() {
    let mut b = golden_v1_0();
    b[64] = 0x10; // 0x8000_0010
    assert_eq!(
        rejects(&b, Version::V1_0),
        DescError::Misaligned { offset: 64 }
    );
    let mut b = golden_v1_1();
    b[97] = 0x08; // second constituent 0x8010_0800
    assert_eq!(
        rejects(&b, Version::V1_1),
        DescError::Misaligned { offset: 96 }
    );
}

#[test]
fn transaction_rejects_wrong_version_and_layout() {
    for v in [Version::new(1, 3), Version::new(2, 0), Version::new(0, 9)] {
        let e = MemTransaction::parse(&golden_v1_1(), v).unwrap_err();
        assert_eq!(e, DescError::UnsupportedVersion(v));
        assert_eq!(e.error_code(), ErrorCode::NotSupported);
    }
    // A v1.1 descriptor read with the v1.2 rules has the wrong EMAD size.
    assert!(matches!(
        rejects(&golden_v1_1(), Version::V1_2),
        DescError::InvalidField { offset: 24, .. }
    ));
    assert!(matches!(
        rejects(&golden_v1_2(), Version::V1_1),
        DescError::InvalidField { offset: 24, .. }
    ));
    // NS bit exists only from v1.1.
    let mut b = golden_v1_0();
    b[2] |= 0x40;
    assert!(matches!(
        rejects(&b, Version::V1_0),
        DescError::InvalidField { offset: 2, .. }
    ));
}

#[test]
fn transaction_rejects_receivers_pointing_at_different_composites() {
    let r = [
        MemAccess::new(EndpointId(0x8001), AccessPerms::RW_NX),
        MemAccess::new(EndpointId(0x8002), AccessPerms::RW_NX),
    ];
    let b = share(Layout::V1_1, &r);
    let mut out = vec![0u8; b.total_len().unwrap()];
    b.write(&mut out).unwrap();
    assert_eq!(
        MemTransaction::parse(&out, Version::V1_1)
            .unwrap()
            .receiver_count(),
        2
    );
    put32(&mut out, 64 + 4, 0); // second EMAD's composite offset
    assert!(matches!(
        rejects(&out, Version::V1_1),
        DescError::BadOffset { value: 0 }
    ));
}

#[test]
fn transaction_flags_per_operation() {
    let r = receivers();
    let mut b = share(Layout::V1_1, &r);
    b.flags = TransactionFlags(TransactionFlags::ZERO_MEMORY);
    let mut out = vec![0u8; 256];
    let n = b.write(&mut out).unwrap();
    let t = MemTransaction::parse(&out[..n], Version::V1_1).unwrap();
    // Zeroing is defined for lend/donate but not for share.
    assert_eq!(
        t.validate_for(MemOp::Share),
        Err(DescError::NonZeroMbz { offset: 4 })
    );
    t.validate_for(MemOp::Lend).unwrap();
    t.validate_for(MemOp::Donate).unwrap();
    // A lender must not name a handle.
    b.flags = TransactionFlags(0);
    b.handle = MemHandle(1);
    let n = b.write(&mut out).unwrap();
    let t = MemTransaction::parse(&out[..n], Version::V1_1).unwrap();
    assert!(t.validate_for(MemOp::Lend).is_err());
    t.validate_for(MemOp::RetrieveResp).unwrap();
    // The NS bit is for retrieve responses only.
    b.handle = MemHandle(0);
    b.attributes.ns = true;
    let n = b.write(&mut out).unwrap();
    let t = MemTransaction::parse(&out[..n], Version::V1_1).unwrap();
    assert_eq!(
        t.validate_for(MemOp::Share),
        Err(DescError::NonZeroMbz { offset: 2 })
    );
    assert_eq!(
        t.validate_for(MemOp::RetrieveReq),
        Err(DescError::NonZeroMbz { offset: 2 })
    );
    t.validate_for(MemOp::RetrieveResp).unwrap();
}

#[test]
fn relinquish_golden_and_rejections() {
    let golden: [u8; 20] = [
        0xEF, 0xCD, 0xAB, 0x89, 0x67, 0x45, 0x23, 0x01, // handle
        1, 0, 0, 0, 2, 0, 0, 0, // flags, count
        0x01, 0x80, 0x02, 0x80, // endpoints
    ];
    let mut out = [0u8; 32];
    let eps = [EndpointId(0x8001), EndpointId(0x8002)];
    let n = write_relinquish(MemHandle(0x0123_4567_89AB_CDEF), 1, &eps, &mut out).unwrap();
    assert_eq!(&out[..n], &golden);
    let r = MemRelinquish::parse(&golden).unwrap();
    assert_eq!(r.handle, MemHandle(0x0123_4567_89AB_CDEF));
    assert_eq!(r.flags, 1);
    assert_eq!(r.endpoints().collect::<Vec<_>>(), eps);

    let mut b = golden;
    b[8] = 4; // flag bit 2 MBZ
    assert_eq!(
        MemRelinquish::parse(&b).unwrap_err(),
        DescError::NonZeroMbz { offset: 8 }
    );
    let mut b = golden;
    b[12] = 3; // three endpoints, two present
    assert_eq!(
        MemRelinquish::parse(&b).unwrap_err(),
        DescError::CountTooLarge { count: 3 }
    );
    let mut b = golden;
    b[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(
        MemRelinquish::parse(&b).unwrap_err(),
        DescError::CountTooLarge { count: u32::MAX }
    );
    let mut b = golden;
    b[12] = 0;
    assert!(MemRelinquish::parse(&b).is_err());
    for len in 0..golden.len() {
        assert!(MemRelinquish::parse(&golden[..len]).is_err());
    }
    assert!(write_relinquish(MemHandle(0), 0, &eps, &mut out[..19]).is_err());
}

#[test]
fn partition_info_golden() {
    let p = PartitionInfo {
        id: EndpointId(0x8001),
        exec_ctx_count: 4,
        properties: PartitionProperties(
            PartitionProperties::DIRECT_REQ_RECV
                | PartitionProperties::DIRECT_REQ_SEND
                | PartitionProperties::AARCH64,
        ),
        uuid: Uuid::parse_str("bdcd76d7-825e-4751-963b-86d4f84943ac").unwrap(),
    };
    let v10: [u8; 8] = [0x01, 0x80, 4, 0, 0x03, 0x01, 0, 0];
    let mut v11 = [0u8; 24];
    v11[..8].copy_from_slice(&v10);
    v11[8..].copy_from_slice(&[
        0xbd, 0xcd, 0x76, 0xd7, 0x82, 0x5e, 0x47, 0x51, 0x96, 0x3b, 0x86, 0xd4, 0xf8, 0x49, 0x43,
        0xac,
    ]);
    let mut out = [0xFFu8; 48];
    assert_eq!(p.write(Version::V1_0, &mut out).unwrap(), 8);
    assert_eq!(&out[..8], &v10);
    assert_eq!(p.write(Version::V1_1, &mut out).unwrap(), 24);
    assert_eq!(&out[..24], &v11);
    assert_eq!(PartitionInfo::parse(&v11, 0, Version::V1_2).unwrap(), p);
    let p10 = PartitionInfo::parse(&v10, 0, Version::V1_0).unwrap();
    assert_eq!((p10.id, p10.uuid), (p.id, Uuid::NIL));
    assert!(PartitionInfo::parse(&v11, 1, Version::V1_1).is_err());
    assert!(PartitionInfo::parse(&v11[..23], 0, Version::V1_1).is_err());
    assert!(PartitionInfo::parse(&v11, usize::MAX, Version::V1_1).is_err());
    assert_eq!(
        PartitionInfo::parse(&v11, 0, Version::new(1, 7))
            .unwrap_err()
            .error_code(),
        ErrorCode::NotSupported
    );
    assert!(p.write(Version::V1_1, &mut out[..23]).is_err());
    // An array, and the register form of PARTITION_INFO_GET_REGS.
    let n = PartitionInfo::write_all(&[p, p], Version::V1_1, &mut out).unwrap();
    assert_eq!(n, 48);
    assert_eq!(&out[24..48], &v11);
    assert_eq!(PartitionInfo::from_regs(p.to_regs()), p);
    assert_eq!(p.to_regs()[0], 0x0000_0103_0004_8001);
    let s = InfoGetRegsSummary {
        last_index: 2,
        current_index: 1,
        tag: 7,
        desc_size: 24,
    };
    assert_eq!(s.encode(), 0x0018_0007_0001_0002);
    assert_eq!(InfoGetRegsSummary::decode(s.encode()), s);
    // Properties newer than the caller's version are hidden.
    let all = PartitionProperties(0x7FF);
    assert_eq!(all.for_version(Version::V1_0).0, 0x7);
    assert_eq!(all.for_version(Version::V1_1).0, 0x1FF);
}

#[test]
fn boot_info_v1_1_golden_and_rejections() {
    let d = BootInfoDesc::fdt(0x7000_1000, 0x2000);
    let mut golden = [0u8; 64];
    golden[..32].copy_from_slice(&[
        0xFA, 0x0F, 0, 0, 0x01, 0, 0x01, 0, // signature, version 1.1
        64, 0, 0, 0, 32, 0, 0, 0, // blob size, descriptor size
        1, 0, 0, 0, 32, 0, 0, 0, // count, offset
        0, 0, 0, 0, 0, 0, 0, 0, // reserved
    ]);
    golden[32..44].copy_from_slice(b"ffa_manifest");
    golden[48..64].copy_from_slice(&[
        0, 0, 0, 0, // type FDT, reserved, flags: string name, address
        0, 0x20, 0, 0, // size
        0, 0x10, 0, 0x70, 0, 0, 0, 0, // contents
    ]);
    let mut out = [0u8; 128];
    let n = boot_info::write_boot_info(Version::V1_1, &[d], &mut out).unwrap();
    assert_eq!(&out[..n], &golden);
    let b = BootInfo::parse(&golden).unwrap();
    assert_eq!(b.version, Version::V1_1);
    assert_eq!(b.fdt(), Some(d));

    let bad = |f: &dyn Fn(&mut [u8; 64])| {
        let mut g = golden;
        f(&mut g);
        let e = BootInfo::parse(&g).unwrap_err();
        assert_ne!(e.error_code(), ErrorCode::NotSupported, "{e:?}");
        e
    };
    assert_eq!(bad(&|g| g[0] = 0xFB), DescError::BadSignature);
    assert_eq!(bad(&|g| g[24] = 1), DescError::NonZeroMbz { offset: 24 });
    assert_eq!(bad(&|g| g[49] = 1), DescError::NonZeroMbz { offset: 49 });
    assert!(matches!(
        bad(&|g| g[50] = 2),
        DescError::InvalidField { .. }
    ));
    assert!(matches!(
        bad(&|g| g[8] = 65),
        DescError::InvalidField { offset: 8, .. }
    ));
    assert!(matches!(
        bad(&|g| g[12] = 16),
        DescError::InvalidField { offset: 12, .. }
    ));
    assert_eq!(bad(&|g| g[16] = 2), DescError::CountTooLarge { count: 2 });
    assert_eq!(bad(&|g| g[20] = 36), DescError::Misaligned { offset: 20 });
    assert_eq!(bad(&|g| g[20] = 8), DescError::BadOffset { value: 8 });
    assert!(matches!(
        bad(&|g| g[16..20].copy_from_slice(&u32::MAX.to_le_bytes())),
        DescError::CountTooLarge { .. } | DescError::Overflow
    ));
    let mut g = golden;
    g[6] = 2; // version 2.1
    assert_eq!(
        BootInfo::parse(&g).unwrap_err(),
        DescError::UnsupportedVersion(Version::new(2, 1))
    );
    for len in 0..golden.len() {
        assert!(BootInfo::parse(&golden[..len]).is_err());
    }
    // Implementation-defined types and value contents round trip.
    let e = BootInfoDesc {
        name: Uuid::parse_str("bdcd76d7-825e-4751-963b-86d4f84943ac")
            .unwrap()
            .0,
        kind: BootInfoType::ImpDef(5),
        flags: BootInfoFlags {
            name_is_uuid: true,
            content_is_value: true,
        },
        size: 8,
        contents: 42,
    };
    let n = boot_info::write_boot_info(Version::V1_2, &[d, e], &mut out).unwrap();
    let b = BootInfo::parse(&out[..n]).unwrap();
    assert_eq!(b.descs().collect::<Vec<_>>(), vec![d, e]);
    // Only a descriptor whose contents field is an address says where the information is.
    assert_eq!(d.address(), Some((0x7000_1000, 0x2000)));
    assert_eq!(e.address(), None);
    assert_eq!(out[32 + 32 + 16], 0x85);
    assert_eq!(
        u16::from_le_bytes([out[32 + 32 + 18], out[32 + 32 + 19]]),
        0b101
    );
}

#[test]
fn boot_info_v1_0_golden_and_rejections() {
    let e = NameValue::dt(0x6000_0000, 0x1000);
    let mut golden = [0u8; 40];
    golden[..8].copy_from_slice(&[b'F', b'F', b'-', b'A', 1, 0, 0, 0]);
    golden[8..15].copy_from_slice(b"TYPE_DT");
    golden[24..32].copy_from_slice(&[0, 0, 0, 0x60, 0, 0, 0, 0]);
    golden[32..40].copy_from_slice(&[0, 0x10, 0, 0, 0, 0, 0, 0]);
    let mut out = [0u8; 64];
    let n = boot_info::write_boot_info_v1_0(&[e], &mut out).unwrap();
    assert_eq!(&out[..n], &golden);
    let b = BootInfoV1_0::parse(&golden).unwrap();
    assert_eq!(b.entries().collect::<Vec<_>>(), vec![e]);
    let mut g = golden;
    g[3] = b'B';
    assert_eq!(
        BootInfoV1_0::parse(&g).unwrap_err(),
        DescError::BadSignature
    );
    let mut g = golden;
    g[4] = 2;
    assert_eq!(
        BootInfoV1_0::parse(&g).unwrap_err(),
        DescError::CountTooLarge { count: 2 }
    );
    let mut g = golden;
    g[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(BootInfoV1_0::parse(&g).is_err());
    for len in 0..golden.len() {
        assert!(BootInfoV1_0::parse(&golden[..len]).is_err());
    }
    assert!(boot_info::write_boot_info_v1_0(&[e], &mut out[..39]).is_err());
}

#[test]
fn partition_info_answers_in_registers() {
    use ffa_abi::partition_info::{info_get_regs_success, info_get_success, parse_info_get_regs};
    let r = info_get_success(3, Version::V1_0);
    assert_eq!((r.x(0), r.x(2), r.x(3)), (0x8400_0061, 3, 0));
    let r = info_get_success(3, Version::V1_2);
    assert_eq!((r.x(2), r.x(3)), (3, 24));

    let ps: Vec<PartitionInfo> = (0..5u16)
        .map(|i| PartitionInfo {
            id: EndpointId(0x8001 + i),
            exec_ctx_count: 1,
            properties: PartitionProperties(PartitionProperties::AARCH64 | 1),
            uuid: Uuid([i as u8; 16]),
        })
        .collect();
    let s = InfoGetRegsSummary {
        last_index: 6,
        current_index: 6,
        tag: 0,
        desc_size: 24,
    };
    let regs = info_get_regs_success(s, &ps[..5]).unwrap();
    assert_eq!(regs.x(0), 0xC400_0061);
    assert_eq!(regs.x(3), ps[0].to_regs()[0]);
    assert_eq!(regs.x(17), ps[4].to_regs()[2]);
    // Decodes as an FFA_SUCCESS_64 at v1.2 and parses back.
    let Interface::Success {
        args: SuccessArgs::Args64(a),
        ..
    } = Interface::decode(&regs, Version::V1_2).unwrap()
    else {
        panic!("not a 64-bit success");
    };
    let (s2, it) = parse_info_get_regs(&a, 2).unwrap();
    assert_eq!(s2, s);
    assert_eq!(it.collect::<Vec<_>>(), ps);
    // Six partitions do not fit, and a summary claiming six is rejected.
    assert!(info_get_regs_success(s, &[ps[0]; 6]).is_err());
    assert!(parse_info_get_regs(&a, 1).is_err());
    assert!(parse_info_get_regs(&a, 7).is_err());
    let h = Regs::success_handle(MemHandle(0x1_0000_0002));
    assert_eq!((h.x(2), h.x(3)), (2, 1));
}

#[test]
fn boot_info_blob_with_contents_inside() {
    // The SPMC puts the manifest copy right after the descriptor, as OP-TEE does.
    let manifest = [0xD0u8, 0x0D, 0xFE, 0xED, 0, 0, 0, 0x10];
    let mut blob = [0u8; 72];
    let d = BootInfoDesc::fdt(0x1000_0040, manifest.len() as u32);
    let n = boot_info::write_boot_info_blob(Version::V1_2, &[d], 72, &mut blob).unwrap();
    assert_eq!(n, 64);
    blob[64..].copy_from_slice(&manifest);
    assert_eq!(BootInfo::peek_blob_size(&blob[..32]).unwrap(), 72);
    let b = BootInfo::parse(&blob).unwrap();
    assert_eq!(b.blob_size, 72);
    assert_eq!(b.fdt(), Some(d));
    // A blob larger than the buffer handed over is refused, as is a bad header.
    assert!(BootInfo::parse(&blob[..70]).is_err());
    let mut g = blob;
    g[0] = 0;
    assert_eq!(
        BootInfo::peek_blob_size(&g).unwrap_err(),
        DescError::BadSignature
    );
    let mut g = blob;
    g[4] = 0; // version 1.0: the v1.0 protocol has no header
    assert_eq!(
        BootInfo::peek_blob_size(&g).unwrap_err(),
        DescError::UnsupportedVersion(Version::V1_0)
    );
    assert!(BootInfo::peek_blob_size(&blob[..11]).is_err());
}

/// The parser and the builder read and write constituent records as aligned words when the
/// buffer is 8-byte aligned, byte by byte otherwise: both ways give the same bytes, the same
/// constituents, and the same refusal of a non-zero reserved word.
#[test]
fn records_agree_whatever_the_alignment() {
    let r = receivers();
    let many: Vec<Constituent> = (0..9)
        .map(|i| Constituent {
            address: 0x4000_0000 + i * 0x10_0000,
            page_count: i as u32 + 1,
        })
        .collect();
    for (layout, v) in [
        (Layout::V1_0, Version::V1_0),
        (Layout::V1_1, Version::V1_1),
        (Layout::V1_2, Version::V1_2),
    ] {
        let mut b = share(layout, &r);
        b.constituents = &many;
        let total = b.total_len().unwrap();
        // One backing store, viewed at an 8-byte aligned start and at a misaligned one.
        let mut store = vec![0u8; total + 16];
        let aligned = (8 - store.as_ptr() as usize % 8) % 8;
        let misaligned = aligned + 1;
        let mut written = Vec::new();
        for start in [aligned, misaligned] {
            store.fill(0xAA);
            let n = b.write(&mut store[start..start + total]).unwrap();
            assert_eq!(n, total);
            written.push(store[start..start + total].to_vec());
            let t = MemTransaction::parse(&store[start..start + total], v).unwrap();
            assert_eq!(
                t.constituents().collect::<Vec<_>>(),
                many,
                "{layout:?} at {start}"
            );
            assert_eq!(t.total_page_count(), (1..=9).sum::<u32>());
            // A non-zero reserved word of the last constituent is refused either way.
            store[start + total - 1] = 1;
            assert!(matches!(
                MemTransaction::parse(&store[start..start + total], v),
                Err(DescError::NonZeroMbz { .. })
            ));
        }
        assert_eq!(written[0], written[1], "{layout:?}: same bytes");
    }
}
