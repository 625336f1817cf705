//! Properties every decoder must satisfy on arbitrary input, shared by the bounded
//! proptest run (`tests/properties.rs`) and the cargo-fuzz targets (`fuzz/`): never
//! panic, and whatever is accepted re-encodes to something that decodes to the same
//! value and re-encodes to the same bytes (a stable re-encoding).

#![allow(dead_code)]

use ffa_abi::boot_info::{self, BootInfo, BootInfoDesc, BootInfoV1_0, NameValue};
use ffa_abi::framework::FrameworkMsg;
use ffa_abi::memory::relinquish::{write_relinquish, MemRelinquish};
use ffa_abi::memory::transaction::{MemAccess, MemTransaction};
use ffa_abi::memory::{AccessPerms, Constituent, Layout, MemAttributes, MemOp};
use ffa_abi::notification::{info_get_success, InfoGet};
use ffa_abi::partition_info::PartitionInfo;
use ffa_abi::{EndpointId, FeatureQuery, Interface, Regs, SuccessArgs, Version};

/// Versions the decoders are driven with, including ones the crate must refuse.
pub const FUZZ_VERSIONS: [Version; 5] = [
    Version::V1_0,
    Version::V1_1,
    Version::V1_2,
    Version::new(1, 3),
    Version::new(2, 0),
];

/// Picks a version from a selector byte.
pub fn version_from(sel: u8) -> Version {
    FUZZ_VERSIONS[usize::from(sel) % FUZZ_VERSIONS.len()]
}

/// Register decoding.
pub fn check_regs(regs: &Regs, v: Version) {
    let Ok(i) = Interface::decode(regs, v) else {
        return;
    };
    assert_eq!(i.func_id().raw(), regs.w(0));
    let enc = i.encode();
    let again = Interface::decode(&enc, v).expect("re-encoding of an accepted call decodes");
    assert_eq!(again, i);
    assert_eq!(again.encode(), enc);
    if let Some((pair, msg)) = FrameworkMsg::from_interface(&i) {
        let j = msg.to_interface(pair);
        let (pair2, msg2) = FrameworkMsg::from_interface(&j).expect("framework message");
        assert_eq!(pair2, pair);
        assert_eq!(
            FrameworkMsg::from_interface(&msg2.to_interface(pair)),
            Some((pair, msg2))
        );
        let _ = Interface::decode(&j.encode(), Version::V1_2).expect("framework message decodes");
    }
    if let Interface::Features { query, .. } = i {
        assert_eq!(FeatureQuery::decode(query.encode()), query);
    }
    if let Interface::Success { args, .. } = i {
        // Any success payload may be an FFA_NOTIFICATION_INFO_GET answer.
        if let Ok(info) = InfoGet::parse(&args) {
            let is_64 = matches!(args, SuccessArgs::Args64(_));
            let r = info_get_success(is_64, info.more_pending, info.lists()).expect("re-encodes");
            let Ok(Interface::Success { args: a2, .. }) = Interface::decode(&r, Version::V1_2)
            else {
                panic!("re-encoded INFO_GET answer does not decode");
            };
            assert_eq!(InfoGet::parse(&a2), Ok(info));
        }
    }
}

/// Register decoding from raw bytes: 18 little-endian registers and a version byte.
pub fn check_regs_bytes(data: &[u8]) {
    let mut x = [0u64; 18];
    for (i, chunk) in data.chunks(8).take(18).enumerate() {
        let mut b = [0u8; 8];
        b[..chunk.len()].copy_from_slice(chunk);
        x[i] = u64::from_le_bytes(b);
    }
    let sel = data.get(144).copied().unwrap_or(0);
    check_regs(&Regs(x), version_from(sel));
}

/// The memory transaction descriptor parser.
pub fn check_transaction(buf: &[u8], v: Version) {
    let Ok(t) = MemTransaction::parse(buf, v) else {
        return;
    };
    for op in [
        MemOp::Share,
        MemOp::Lend,
        MemOp::Donate,
        MemOp::RetrieveReq,
        MemOp::RetrieveResp,
    ] {
        let _ = t.validate_for(op);
    }
    // Keep the work per input bounded; the parser itself accepts any count that fits.
    let recv: Vec<MemAccess> = t.receivers().take(4096).collect();
    let cons: Vec<Constituent> = t.constituents().take(4096).collect();
    assert_eq!(recv.len(), t.receiver_count().min(4096));
    assert_eq!(cons.len(), t.constituent_count().min(4096));
    if recv.len() != t.receiver_count() || cons.len() != t.constituent_count() {
        return;
    }
    let b = t.to_builder(&recv, &cons);
    let mut out = vec![0u8; b.total_len().expect("fits")];
    let n = b.write(&mut out).expect("re-encodes");
    let t2 = MemTransaction::parse(&out[..n], v).expect("re-encoding parses");
    assert_eq!(t2.sender, t.sender);
    assert_eq!(t2.attributes, t.attributes);
    assert_eq!(t2.flags, t.flags);
    assert_eq!(t2.handle, t.handle);
    assert_eq!(t2.tag, t.tag);
    assert_eq!(t2.total_page_count(), t.total_page_count());
    assert!(t2.receivers().eq(recv.iter().copied()));
    assert!(t2.constituents().eq(cons.iter().copied()));
    let mut out2 = vec![0u8; n];
    t2.to_builder(&recv, &cons)
        .write(&mut out2)
        .expect("re-encodes");
    assert_eq!(out2, out[..n]);
}

/// The relinquish descriptor parser.
pub fn check_relinquish(buf: &[u8]) {
    let Ok(r) = MemRelinquish::parse(buf) else {
        return;
    };
    let eps: Vec<EndpointId> = r.endpoints().collect();
    assert_eq!(eps.len(), r.endpoint_count());
    let mut out = vec![0u8; 16 + 2 * eps.len()];
    let n = write_relinquish(r.handle, r.flags, &eps, &mut out).expect("re-encodes");
    assert_eq!(&out[..n], &buf[..n]);
}

/// The partition information descriptor parser.
pub fn check_partition_info(buf: &[u8], v: Version) {
    let Ok(p) = PartitionInfo::parse(buf, 0, v) else {
        return;
    };
    let mut out = [0u8; 24];
    let n = p.write(v, &mut out).expect("re-encodes");
    assert_eq!(&out[..n], &buf[..n]);
    assert_eq!(PartitionInfo::from_regs(p.to_regs()), p);
}

/// Both boot information parsers.
pub fn check_boot_info(buf: &[u8]) {
    if let Ok(b) = BootInfo::parse(buf) {
        assert_eq!(BootInfo::peek_blob_size(buf), Ok(b.blob_size as usize));
        let descs: Vec<BootInfoDesc> = b.descs().take(4096).collect();
        if descs.len() == b.count() {
            let mut out = vec![0u8; 32 + 32 * descs.len()];
            let n = boot_info::write_boot_info(b.version, &descs, &mut out).expect("re-encodes");
            let b2 = BootInfo::parse(&out[..n]).expect("re-encoding parses");
            assert!(b2.descs().eq(descs.iter().copied()));
            // With the original blob size the header and descriptors are unchanged
            // whenever the original put the descriptors right after the header.
            if wire_offset(buf) == Some(32) {
                let mut out2 = vec![0u8; n];
                boot_info::write_boot_info_blob(b.version, &descs, b.blob_size, &mut out2)
                    .expect("re-encodes");
                assert_eq!(&out2[..], &buf[..n]);
            }
        }
    }
    if let Ok(b) = BootInfoV1_0::parse(buf) {
        let e: Vec<NameValue> = b.entries().take(4096).collect();
        if e.len() == b.count() {
            let mut out = vec![0u8; 8 + 32 * e.len()];
            let n = boot_info::write_boot_info_v1_0(&e, &mut out).expect("re-encodes");
            assert_eq!(&out[..n], &buf[..n]);
        }
    }
}

/// The small bit-field decoders.
pub fn check_fields(w: u32) {
    for layout in [Layout::V1_0, Layout::V1_1, Layout::V1_2] {
        if let Some(a) = MemAttributes::decode(w as u16, layout) {
            assert_eq!(a.encode(), w as u16);
        }
    }
    if let Some(p) = AccessPerms::decode(w as u8) {
        assert_eq!(p.encode(), w as u8);
    }
    assert_eq!(FeatureQuery::decode(w).encode(), w);
    if let Some(v) = Version::decode(w) {
        assert_eq!(v.encode(), w);
    }
}

/// Everything a descriptor buffer can be fed to, with the version from `sel`.
pub fn check_descriptor_bytes(buf: &[u8], sel: u8) {
    let v = version_from(sel);
    check_transaction(buf, v);
    check_relinquish(buf);
    check_partition_info(buf, v);
    check_boot_info(buf);
}

fn wire_offset(buf: &[u8]) -> Option<u32> {
    let b = buf.get(20..24)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}
