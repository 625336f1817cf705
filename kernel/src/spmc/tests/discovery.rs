//! Setup and discovery (FF-A v1.2 chapters 13-14): FFA_PARTITION_INFO_GET(_REGS), the RX/TX
//! mailboxes of the normal world and of SPs (RXTX_MAP/UNMAP, RX_RELEASE).

use super::fake::*;
use crate::memory::PAGE_SIZE;
use crate::spmc::Mailbox;
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use ffa_abi::error::ErrorCode;
use ffa_abi::func_id::FuncId;
use ffa_abi::regs::Regs;
use ffa_abi::uuid::Uuid;
use ffa_abi::version::Version;
use spmc_table::{ExecutionState, MessagingMethod, RxTxBuffer};

const U1: u8 = 0x10;
const U2: u8 = 0x31;
const U3: u8 = 0x52;

/// Three partitions with distinct properties:
/// - 0x8001: UUID U1, every direct method (0x603), AArch64, 1 context;
/// - 0x8002: UUIDs U2 then U3, receives REQ only, notifications, VM created/destroyed
///   messages, 4 contexts;
/// - 0x8003: UUID U3, REQ recv/send + indirect + REQ2 recv (0x207), AArch32.
fn three() -> Vec<SpDef> {
    let mut a = sp(0);
    a.uuids = vec![uuid(U1)];
    let mut b = sp(1);
    b.uuids = vec![uuid(U2), uuid(U3)];
    b.messaging = MessagingMethod::DIRECT_REQ_RECV;
    b.notifications = true;
    b.vm_availability = 0b11;
    b.exec_ctx = 4;
    let mut c = sp(2);
    c.uuids = vec![uuid(U3)];
    c.messaging = 0x207;
    c.state = ExecutionState::AArch32;
    vec![a, b, c]
}

/// (id, contexts, properties at v1.0, v1.1, v1.2) of `three()`, worked out from FF-A v1.2
/// Table 6.2: bits 0-2 messaging, 3 notifications, 6-7 VM messages, 8 AArch64, 9-10 REQ2.
const EXPECTED: [(u16, u16, [u32; 3]); 3] = [
    (0x8001, 1, [0x3, 0x103, 0x703]),
    (0x8002, 4, [0x1, 0x1C9, 0x1C9]),
    (0x8003, 1, [0x7, 0x7, 0x207]),
];

fn info_get(u: Option<u8>, flags: u64) -> Regs {
    let w = u.map_or([0; 4], |b| Uuid(uuid(b)).to_words());
    let mut args: Vec<u64> = w.iter().map(|&x| x.into()).collect();
    args.push(flags);
    call(FuncId::PartitionInfoGet, &args)
}

fn info_success(count: u32, size: u32) -> Regs {
    let mut r = Regs::ZERO;
    r.0[0] = 0x8400_0061;
    r.0[2] = count.into();
    r.0[3] = size.into();
    r
}

/// The 24-byte descriptor the spec defines (the 8-byte one is its first 8 bytes).
fn descriptor(id: EndpointId, ctx: u16, props: u32, u: [u8; 16]) -> Vec<u8> {
    let mut d = Vec::new();
    d.extend_from_slice(&id.0.to_le_bytes());
    d.extend_from_slice(&ctx.to_le_bytes());
    d.extend_from_slice(&props.to_le_bytes());
    d.extend_from_slice(&u);
    d
}

#[test]
fn partition_info_get_nil_uuid_per_version() {
    for (vi, v) in [Version::V1_0, Version::V1_1, Version::V1_2]
        .into_iter()
        .enumerate()
    {
        // Below v1.2, one descriptor per partition with its first UUID; from v1.2 on, one per
        // UUID: 0x8002 (U2, U3) twice (Hafnium's api_ffa_fill_partitions_info_array, TF-A's
        // EL3 SPMC partition_info_get_handler; Linux 7.x's driver registers a device for each).
        let want: Vec<(usize, u8)> = if v >= Version::V1_2 {
            vec![(0, U1), (1, U2), (1, U3), (2, U3)]
        } else {
            vec![(0, U1), (1, U2), (2, U3)]
        };
        let mut w = World::boot(three());
        if v != Version::V1_0 {
            w.nw_version(v);
        }
        let (_, rx) = w.map_nw_mailbox(1);
        let r = w.nw(info_get(None, 0));
        let size = if vi == 0 { 8 } else { 24 };
        // v1.0 has no size field (w3 MBZ); v1.1+ returns the descriptor size.
        let n = want.len() as u32;
        assert_eq!(r, info_success(n, if vi == 0 { 0 } else { 24 }), "v{v}");
        for (i, (p, u)) in want.iter().enumerate() {
            let (id, ctx, props) = EXPECTED[*p];
            let want = descriptor(EndpointId(id), ctx, props[vi], uuid(*u));
            let got = w.env.mem.bytes(rx + (i * size) as u64, size);
            assert_eq!(got, want[..size], "v{v} descriptor {i}");
        }
        // Nothing is written past the last descriptor.
        assert_eq!(
            w.env.mem.bytes(rx + want.len() as u64 * size as u64, 8),
            vec![POISON; 8]
        );
        assert!(w.snapshot().nw_mailbox.unwrap().rx_full);
        // The count-only form counts the same descriptors (v1.1+).
        if vi > 0 {
            assert_success(&w.nw(call(FuncId::RxRelease, &[])), 0);
            assert_eq!(w.nw(info_get(None, 1)), info_success(n, 0), "v{v} count");
        }
    }
}

#[test]
fn partition_info_get_by_uuid() {
    let mut w = World::boot(three());
    w.nw_version(Version::V1_2);
    let (_, rx) = w.map_nw_mailbox(1);
    // One partition.
    assert_eq!(w.nw(info_get(Some(U1), 0)), info_success(1, 24));
    // The UUID field is MBZ for a non-Nil query (FF-A v1.1/v1.2 Table 6.1).
    assert_eq!(w.env.mem.bytes(rx, 24), descriptor(SP0, 1, 0x703, [0; 16]));
    assert_success(&w.nw(call(FuncId::RxRelease, &[])), 0);
    // Two partitions share U3 (the second UUID of 0x8002): both, UUID fields zero.
    assert_eq!(w.nw(info_get(Some(U3), 0)), info_success(2, 24));
    assert_eq!(
        w.env.mem.bytes(rx, 48),
        [
            descriptor(SP1, 4, 0x1C9, [0; 16]),
            descriptor(SP2, 1, 0x207, [0; 16])
        ]
        .concat()
    );
    assert_success(&w.nw(call(FuncId::RxRelease, &[])), 0);
    // An unknown UUID writes nothing and keeps the buffer free.
    let before = w.snapshot();
    let writes = *w.env.writes.borrow();
    assert_error(&w.nw(info_get(Some(0x77), 0)), ErrorCode::InvalidParameters);
    assert_eq!(*w.env.writes.borrow(), writes);
    assert_eq!(w.snapshot(), before);
}

#[test]
fn partition_info_get_count_only() {
    let mut w = World::boot(three());
    w.nw_version(Version::V1_1);
    // No mailbox needed; nothing is written; w3 (size) is MBZ.
    let writes = *w.env.writes.borrow();
    assert_eq!(w.nw(info_get(None, 1)), info_success(3, 0));
    assert_eq!(w.nw(info_get(Some(U3), 1)), info_success(2, 0));
    assert_error(&w.nw(info_get(Some(0x77), 1)), ErrorCode::InvalidParameters);
    let (_, _) = w.map_nw_mailbox(1);
    let before = w.snapshot();
    assert_eq!(w.nw(info_get(None, 1)), info_success(3, 0));
    assert_eq!(w.snapshot(), before, "count-only took the RX buffer");
    assert_eq!(*w.env.writes.borrow(), writes);
    // Flag bits other than bit 0 are MBZ; v1.0 has no flags at all.
    assert_error(&w.nw(info_get(None, 2)), ErrorCode::InvalidParameters);
    let mut w = World::boot(three());
    assert_error(&w.nw(info_get(None, 1)), ErrorCode::InvalidParameters);
}

#[test]
fn partition_info_get_needs_a_free_rx_buffer() {
    let mut w = World::boot(three());
    w.nw_version(Version::V1_2);
    // No buffer.
    assert_error(&w.nw(info_get(None, 0)), ErrorCode::Busy);
    let (_, rx) = w.map_nw_mailbox(1);
    assert_eq!(w.nw(info_get(Some(U1), 0)), info_success(1, 24));
    // Not released: BUSY, and the buffer is not touched.
    let before = w.snapshot();
    let content = w.env.mem.bytes(rx, 72);
    assert_error(&w.nw(info_get(None, 0)), ErrorCode::Busy);
    assert_eq!(w.snapshot(), before);
    assert_eq!(w.env.mem.bytes(rx, 72), content);
    // Released once; a second release is DENIED; another VM's buffer is not ours to release.
    assert_error(
        &w.nw(call(FuncId::RxRelease, &[5])),
        ErrorCode::InvalidParameters,
    );
    assert_success(&w.nw(call(FuncId::RxRelease, &[0])), 0);
    assert_error(&w.nw(call(FuncId::RxRelease, &[0])), ErrorCode::Denied);
    // v1.2: 0x8002's two UUIDs make four descriptors.
    assert_eq!(w.nw(info_get(None, 0)), info_success(4, 24));
}

#[test]
fn partition_info_get_rx_too_small() {
    // 171 descriptors of 24 bytes need 4104 bytes: more than one page.
    let defs: Vec<SpDef> = (0..171).map(sp).collect();
    let mut w = World::new(defs);
    w.nw_version(Version::V1_1);
    let (_, rx) = w.map_nw_mailbox(1);
    let before = w.snapshot();
    assert_error(&w.nw(info_get(None, 0)), ErrorCode::NoMemory);
    assert_eq!(w.snapshot(), before);
    assert_eq!(w.env.mem.bytes(rx, 8), vec![POISON; 8]);
    // Count-only still works.
    assert_eq!(w.nw(info_get(None, 1)), info_success(171, 0));

    // Two pages hold them.
    let defs: Vec<SpDef> = (0..171).map(sp).collect();
    let mut w = World::new(defs);
    w.nw_version(Version::V1_1);
    let (_, rx) = w.map_nw_mailbox(2);
    assert_eq!(w.nw(info_get(None, 0)), info_success(171, 24));
    assert_eq!(
        w.env.mem.bytes(rx + 170 * 24, 4),
        [0xAB, 0x80, 1, 0],
        "last descriptor: ID 0x80AB, 1 context"
    );
}

#[test]
fn partition_info_get_from_sps() {
    // sp0 (v1.1) has manifest RX/TX buffers; sp1 (v1.0) too; sp2 has none.
    let mbox = |i: usize| RxTxBuffer {
        rx: spmc_table::PhysAddr(base(i) + 0x6_0000),
        tx: spmc_table::PhysAddr(base(i) + 0x6_1000),
        pages: 1,
    };
    let mut a = sp(0);
    a.version = Version::V1_1;
    a.rx_tx = Some(mbox(0));
    a.behaviour = during_boot(vec![
        info_get(None, 0),
        info_get(None, 0),
        call(FuncId::RxRelease, &[]),
        call(FuncId::RxRelease, &[0x8001]),
        call(FuncId::RxTxUnmap, &[]),
        info_get(Some(0x77), 0),
    ]);
    let mut b = sp(1);
    b.version = Version::V1_0;
    b.rx_tx = Some(mbox(1));
    b.behaviour = during_boot(vec![info_get(None, 0)]);
    let mut c = sp(2);
    c.behaviour = during_boot(vec![info_get(None, 0), info_get(None, 1)]);
    let w = World::boot(vec![a, b, c]);

    let seen = w.seen(0);
    assert_eq!(seen[1], info_success(3, 24));
    let rx = base(0) + 0x6_0000;
    // Descriptors at the SP's version (v1.1: no REQ2 bits).
    assert_eq!(
        w.env.mem.bytes(rx, 24),
        descriptor(SP0, 1, 0x103, uuid(0x10))
    );
    assert_error(&seen[2], ErrorCode::Busy);
    assert_success(&seen[3], 0);
    // w1 names a VM for a hypervisor: from a partition, even its own ID is INVALID_PARAMETERS
    // (Hafnium `api_ffa_rx_release`); then the manifest's buffers cannot be unmapped.
    assert_error(&seen[4], ErrorCode::InvalidParameters);
    assert_error(&seen[5], ErrorCode::Denied);
    assert_error(&seen[6], ErrorCode::InvalidParameters);

    assert_eq!(w.seen(1)[1], info_success(3, 0));
    assert_eq!(
        w.env.mem.bytes(base(1) + 0x6_0000, 16),
        [
            descriptor(SP0, 1, 0x3, [0; 16]),
            descriptor(SP1, 1, 0x3, [0; 16])
        ]
        .map(|d| d[..8].to_vec())
        .concat()
    );

    assert_error(&w.seen(2)[1], ErrorCode::Busy);
    assert_eq!(w.seen(2)[2], info_success(3, 0));
}

fn info_get_regs(u: Option<u8>, start: u16, tag: u16) -> Regs {
    let [lo, hi] = u.map_or([0, 0], |b| Uuid(uuid(b)).to_u64_pair());
    call(
        FuncId::PartitionInfoGetRegs,
        &[lo, hi, u64::from(start) | (u64::from(tag) << 16)],
    )
}

/// The FFA_SUCCESS_64 of PARTITION_INFO_GET_REGS for `descs` (id, ctx, props, uuid).
fn regs_answer(last: u16, current: u16, descs: &[(u16, u16, u32, [u8; 16])]) -> Regs {
    let mut r = Regs::ZERO;
    r.0[0] = 0xC400_0061;
    r.0[2] = u64::from(last) | (u64::from(current) << 16) | (24 << 48);
    for (k, (id, ctx, props, u)) in descs.iter().enumerate() {
        r.0[3 + 3 * k] = u64::from(*id) | (u64::from(*ctx) << 16) | (u64::from(*props) << 32);
        let [lo, hi] = Uuid(*u).to_u64_pair();
        r.0[4 + 3 * k] = lo;
        r.0[5 + 3 * k] = hi;
    }
    r
}

#[test]
fn partition_info_get_regs() {
    let mut w = World::boot(three());
    // v1.2 only.
    assert_error(&w.nw(info_get_regs(None, 0, 0)), ErrorCode::NotSupported);
    w.nw_version(Version::V1_2);
    let writes = *w.env.writes.borrow();
    assert_eq!(
        w.nw(info_get_regs(None, 0, 0)),
        // One descriptor per UUID (v1.2): 0x8002 with U2 and with U3.
        regs_answer(
            3,
            3,
            &[
                (0x8001, 1, 0x703, uuid(U1)),
                (0x8002, 4, 0x1C9, uuid(U2)),
                (0x8002, 4, 0x1C9, uuid(U3)),
                (0x8003, 1, 0x207, uuid(U3)),
            ]
        )
    );
    assert_eq!(
        w.nw(info_get_regs(None, 2, 0)),
        regs_answer(
            3,
            3,
            &[(0x8002, 4, 0x1C9, uuid(U3)), (0x8003, 1, 0x207, uuid(U3))]
        )
    );
    assert_eq!(
        w.nw(info_get_regs(Some(U3), 1, 0)),
        regs_answer(1, 1, &[(0x8003, 1, 0x207, [0; 16])])
    );
    let before = w.snapshot();
    for (q, code) in [
        (
            info_get_regs(Some(0x77), 0, 0),
            ErrorCode::InvalidParameters,
        ),
        (info_get_regs(None, 4, 0), ErrorCode::InvalidParameters),
        (info_get_regs(None, 1, 7), ErrorCode::InvalidParameters),
        (info_get_regs(None, 0, 7), ErrorCode::InvalidParameters),
    ] {
        assert_error(&w.nw(q), code);
    }
    let mut q = info_get_regs(None, 0, 0);
    q.0[3] |= 1 << 32; // x3[63:32] MBZ
    assert_error(&w.nw(q), ErrorCode::InvalidParameters);
    assert_eq!(w.snapshot(), before);
    // No RX buffer involved.
    assert_eq!(*w.env.writes.borrow(), writes);
}

#[test]
fn partition_info_get_regs_pages_by_five() {
    let defs: Vec<SpDef> = (0..7).map(sp).collect();
    let mut w = World::new(defs);
    w.nw_version(Version::V1_2);
    let d = |i: usize| (0x8001 + i as u16, 1, 0x703, uuid(0x10 + i as u8));
    assert_eq!(
        w.nw(info_get_regs(None, 0, 0)),
        regs_answer(6, 4, &[d(0), d(1), d(2), d(3), d(4)])
    );
    assert_eq!(
        w.nw(info_get_regs(None, 5, 0)),
        regs_answer(6, 6, &[d(5), d(6)])
    );
    assert_eq!(w.nw(info_get_regs(None, 6, 0)), regs_answer(6, 6, &[d(6)]));
    assert_error(
        &w.nw(info_get_regs(None, 7, 0)),
        ErrorCode::InvalidParameters,
    );
}

fn rxtx_map(f: FuncId, tx: u64, rx: u64, pages: u64) -> Regs {
    call(f, &[tx, rx, pages])
}

#[test]
fn nw_rxtx_map_and_unmap() {
    let mut w = World::echoes(1);
    let (tx, rx) = (NS.base, NS.base + 0x1_0000);
    // The 32-bit form ignores the upper halves of the registers (SMCCC SMC32).
    let r = w.nw(rxtx_map(FuncId::RxTxMap32, tx | (0xFFFF << 32), rx, 3));
    assert_success(&r, 0);
    let mb = Mailbox::new(tx, rx, 3, false);
    assert_eq!(w.snapshot().nw_mailbox, Some(mb));
    // Already mapped: DENIED, the first pair stays.
    let r = w.nw(rxtx_map(
        FuncId::RxTxMap64,
        NS.base + 0x2_0000,
        NS.base + 0x3_0000,
        1,
    ));
    assert_error(&r, ErrorCode::Denied);
    assert_eq!(w.snapshot().nw_mailbox, Some(mb));
    // Unmap: only ID 0 (w1[31:16]); then nothing is mapped.
    assert_error(
        &w.nw(call(FuncId::RxTxUnmap, &[0x1_0000])),
        ErrorCode::InvalidParameters,
    );
    assert_success(&w.nw(call(FuncId::RxTxUnmap, &[])), 0);
    assert_eq!(w.snapshot().nw_mailbox, None);
    assert_error(
        &w.nw(call(FuncId::RxTxUnmap, &[])),
        ErrorCode::InvalidParameters,
    );
    assert_error(&w.nw(call(FuncId::RxRelease, &[])), ErrorCode::Denied);
    // Map again, with the largest size.
    let r = w.nw(rxtx_map(
        FuncId::RxTxMap64,
        NS.base,
        NS.base + 63 * PAGE_SIZE,
        63,
    ));
    assert_success(&r, 0);
}

#[test]
fn nw_rxtx_map_refusals_change_nothing() {
    let mut w = World::echoes(1);
    let ns_end = NS.base + NS.size;
    let cases = [
        // Secure memory: the SP pool, and secure memory elsewhere.
        (POOL.base, NS.base, 1),
        (NS.base, SECURE_ELSEWHERE, 1),
        // Crossing the end of non-secure memory.
        (NS.base, ns_end - PAGE_SIZE, 2),
        // Unaligned.
        (NS.base + 0x10, NS.base + 0x1_0000, 1),
        (NS.base, NS.base + 0x1_0800, 1),
        // Overlapping.
        (NS.base, NS.base, 1),
        (NS.base, NS.base + PAGE_SIZE, 2),
        (NS.base + PAGE_SIZE, NS.base, 2),
        // Zero pages, and w3[31:6] set (64 pages).
        (NS.base, NS.base + 0x1_0000, 0),
        (NS.base, NS.base + 0x10_0000, 64),
    ];
    let before = w.snapshot();
    for (tx, rx, pages) in cases {
        let r = w.nw(rxtx_map(FuncId::RxTxMap64, tx, rx, pages));
        assert_error(&r, ErrorCode::InvalidParameters);
        assert_eq!(w.snapshot(), before, "tx {tx:#x} rx {rx:#x} pages {pages}");
    }
}

#[test]
fn sp_rxtx_map_and_unmap() {
    let data = base(0) + DATA_OFFSET;
    let mut a = sp(0);
    // An RO region and a non-secure RW region besides the RW data region.
    a.memory_regions.push(data_region(0, 0x5_0000, 2, 0x1));
    let mut ns = data_region(0, 0, 2, 0xB);
    ns.base = spmc_table::PhysAddr(NS.base + 0x8_0000);
    a.memory_regions.push(ns);
    let ro = base(0) + 0x5_0000;
    let nsva = NS.base + 0x8_0000;
    let calls = vec![
        // Refused: unmapped, TX not writable, non-secure, overlapping, unaligned, 0 pages.
        rxtx_map(FuncId::RxTxMap64, base(0) + 0x7_0000, data, 1),
        rxtx_map(FuncId::RxTxMap64, ro, data, 1),
        rxtx_map(FuncId::RxTxMap64, base(0), data, 1),
        rxtx_map(FuncId::RxTxMap64, nsva, data, 1),
        rxtx_map(FuncId::RxTxMap64, data, nsva, 1),
        rxtx_map(FuncId::RxTxMap64, data, data, 1),
        rxtx_map(FuncId::RxTxMap64, data, data + PAGE_SIZE, 2),
        rxtx_map(FuncId::RxTxMap64, data + 8, ro, 1),
        rxtx_map(FuncId::RxTxMap64, data, ro, 0),
        // Crossing the end of the data region into unmapped memory.
        rxtx_map(FuncId::RxTxMap64, data + PAGE_SIZE, ro, 2),
        // Accepted: TX in the RW data region, RX read-only.
        rxtx_map(FuncId::RxTxMap64, data, ro, 1),
        rxtx_map(FuncId::RxTxMap64, data + PAGE_SIZE, ro + PAGE_SIZE, 1),
        info_get(None, 0),
        // w1[31:16] names a VM for a hypervisor: from a partition, another's ID or its own is
        // INVALID_PARAMETERS and nothing is unmapped (Hafnium `api_ffa_rxtx_unmap`).
        call(FuncId::RxTxUnmap, &[0x8002 << 16]),
        call(FuncId::RxTxUnmap, &[0x8001 << 16]),
        info_get(None, 0),
        call(FuncId::RxTxUnmap, &[]),
        call(FuncId::RxTxUnmap, &[]),
    ];
    a.behaviour = during_boot(calls);
    let w = World::boot(vec![a]);
    let seen = w.seen(0);
    for r in &seen[1..11] {
        assert_error(r, ErrorCode::InvalidParameters);
    }
    assert_success(&seen[11], 0);
    assert_error(&seen[12], ErrorCode::Denied);
    assert_eq!(seen[13], info_success(1, 24));
    assert_eq!(w.env.mem.bytes(ro, 2), [0x01, 0x80]);
    assert_error(&seen[14], ErrorCode::InvalidParameters);
    assert_error(&seen[15], ErrorCode::InvalidParameters);
    // Still mapped, and its RX buffer still full from the first INFO_GET.
    assert_error(&seen[16], ErrorCode::Busy);
    assert_success(&seen[17], 0);
    assert_error(&seen[18], ErrorCode::InvalidParameters);
    assert_eq!(w.sp_mailbox(0), None);
}

#[test]
fn sp_mailbox_rules_for_devices_and_other_ids() {
    let data = base(0) + DATA_OFFSET;
    let dev = 0x6000_0000;
    let mut a = sp(0);
    a.patch = Some(Box::new(move |p| {
        p.device_regions = Box::leak(Box::new([spmc_table::DeviceRegion {
            name: "uart",
            base: spmc_table::PhysAddr(dev),
            pages: 1,
            attributes: spmc_table::MemAttributes(0x3),
            interrupts: &[],
            exclusive_access: false,
        }]));
    }));
    a.behaviour = during_boot(vec![
        // Device memory is no mailbox.
        rxtx_map(FuncId::RxTxMap64, dev, data, 1),
        rxtx_map(FuncId::RxTxMap64, data, dev, 1),
        rxtx_map(FuncId::RxTxMap64, data, data + PAGE_SIZE, 1),
        // Releasing or unmapping for another endpoint.
        call(FuncId::RxRelease, &[0x8002]),
        call(FuncId::RxTxUnmap, &[0x8002 << 16]),
        call(FuncId::RxRelease, &[0]),
    ]);
    let w = World::boot(vec![a, sp(1)]);
    let s = w.seen(0);
    assert_error(&s[1], ErrorCode::InvalidParameters);
    assert_error(&s[2], ErrorCode::InvalidParameters);
    assert_success(&s[3], 0);
    assert_error(&s[4], ErrorCode::InvalidParameters);
    assert_error(&s[5], ErrorCode::InvalidParameters);
    // Mapped but holding nothing: nothing to release.
    assert_error(&s[6], ErrorCode::Denied);
    assert!(w.sp_mailbox(0).is_some());
}

/// FF-A v1.2 FFA_MSG_WAIT w2 bit 0 clear: the caller gives its RX buffer back (Hafnium's
/// tests check the same: an SP that took its RX buffer with PARTITION_INFO_GET and then calls
/// FFA_MSG_WAIT no longer owns it). With bit 0 set it keeps it.
#[test]
fn msg_wait_releases_the_rx_buffer_unless_retained() {
    let mbox = |i: usize| RxTxBuffer {
        rx: spmc_table::PhysAddr(base(i) + 0x6_0000),
        tx: spmc_table::PhysAddr(base(i) + 0x6_1000),
        pages: 1,
    };
    let mut a = sp(0);
    a.rx_tx = Some(mbox(0));
    a.behaviour = script(vec![
        svc(info_get(None, 0)),
        svc(call(FuncId::MsgWait32, &[0, 0])),
        svc(info_get(None, 0)),
        Box::new(|r, _| Act::Svc(resp32(SP0, EndpointId(1), [r.w(0), r.w(2), 0, 0, 0]))),
    ]);
    let mut b = sp(1);
    b.rx_tx = Some(mbox(1));
    b.behaviour = script(vec![
        svc(info_get(None, 0)),
        svc(call(FuncId::MsgWait32, &[0, 1])),
        svc(info_get(None, 0)),
        Box::new(|r, _| Act::Svc(resp32(SP1, EndpointId(1), [r.w(0), r.w(2), 0, 0, 0]))),
    ]);
    let mut w = World::boot(vec![a, b]);
    // Retained: still BUSY.
    let r = w.nw(req32(EndpointId(1), SP1, [0; 5]));
    assert_eq!(
        r,
        resp32(
            SP1,
            EndpointId(1),
            [0x8400_0060, ErrorCode::Busy.to_u32(), 0, 0, 0]
        )
    );
    // Released by MSG_WAIT: the SP can ask again.
    let r = w.nw(req32(EndpointId(1), SP0, [0; 5]));
    assert_eq!(r, resp32(SP0, EndpointId(1), [0x8400_0061, 2, 0, 0, 0]));
}

/// A v1.0 partition has no "retain" flag: ending its initialisation with FFA_MSG_WAIT hands
/// its RX buffer back too (as Hafnium does), so its next PARTITION_INFO_GET is not BUSY.
#[test]
fn msg_wait_releases_the_rx_buffer_of_a_v1_0_partition() {
    let mut a = sp(0);
    a.version = Version::V1_0;
    a.rx_tx = Some(RxTxBuffer {
        rx: spmc_table::PhysAddr(base(0) + 0x6_0000),
        tx: spmc_table::PhysAddr(base(0) + 0x6_1000),
        pages: 1,
    });
    a.behaviour = script(vec![
        svc(info_get(None, 0)),
        svc(call(FuncId::MsgWait32, &[0, 0])),
        svc(info_get(None, 0)),
        Box::new(|r, _| Act::Svc(resp32(SP0, EndpointId(1), [r.w(0), r.w(2), 0, 0, 0]))),
    ]);
    let mut w = World::boot(vec![a]);
    let r = w.nw(req32(EndpointId(1), SP0, [0; 5]));
    assert_eq!(r.w(3), FuncId::Success32.raw(), "{r:x?}");
}

#[test]
fn three_partitions_with_one_uuid_are_all_listed() {
    // Every Trusted Services SP carries the TS RPC protocol UUID as its FF-A UUID, and Linux's
    // arm_tstee binds one device per partition with it: a query for that UUID must list all of
    // them, in table order (issue 13), each descriptor's UUID field zero (MBZ for a non-Nil
    // query, FF-A v1.1/v1.2 Table 6.1).
    let ts = 0x77;
    let defs: Vec<SpDef> = (0..3)
        .map(|i| {
            let mut s = sp(i);
            s.uuids = vec![uuid(ts)];
            s
        })
        .collect();
    let mut w = World::boot(defs);
    w.nw_version(Version::V1_2);
    assert_eq!(w.nw(info_get(Some(ts), 1)), info_success(3, 0));
    let (_, rx) = w.map_nw_mailbox(1);
    assert_eq!(w.nw(info_get(Some(ts), 0)), info_success(3, 24));
    let want: Vec<u8> = (0..3)
        .flat_map(|i| descriptor(EndpointId(0x8001 + i), 1, 0x703, [0; 16]))
        .collect();
    assert_eq!(w.env.mem.bytes(rx, 72), want);
    assert_success(&w.nw(call(FuncId::RxRelease, &[])), 0);
    // The nil UUID lists them too, each with its (only) UUID.
    assert_eq!(w.nw(info_get(None, 0)), info_success(3, 24));
    let want: Vec<u8> = (0..3)
        .flat_map(|i| descriptor(EndpointId(0x8001 + i), 1, 0x703, uuid(ts)))
        .collect();
    assert_eq!(w.env.mem.bytes(rx, 72), want);
}

/// Checks that pass today and guard what the ACS clients and servers verify for SPs
/// (test/v1.0/setup_discovery/ffa_rxtx_map_and_unmap, ffa_rx_release,
/// test/v1.0/direct_messaging/ffa_direct_message_32 server side).
#[test]
fn acs_sp_mailbox_and_response_checks() {
    let mut d = sp(0);
    let own = 0x8001u64;
    let data = base(0) + DATA_OFFSET;
    d.behaviour = during_boot(alloc::vec![
        // RXTX_UNMAP with the caller's own ID in w1[31:16], nothing mapped: INVALID_PARAMETERS.
        call(FuncId::RxTxUnmap, &[own << 16]),
        // RX_RELEASE with no buffer registered: DENIED.
        call(FuncId::RxRelease, &[]),
        // TX not 4K aligned: INVALID_PARAMETERS; page count 0: INVALID_PARAMETERS.
        call(FuncId::RxTxMap64, &[data + 0x100, data + 0x1000, 1]),
        call(FuncId::RxTxMap64, &[data, data + 0x1000, 0]),
        // Valid, then again: DENIED; then unmap with w1 = 0 (what val_rxtx_unmap sends).
        call(FuncId::RxTxMap64, &[data, data + 0x1000, 1]),
        call(FuncId::RxTxMap64, &[data, data + 0x1000, 1]),
        call(FuncId::RxTxUnmap, &[0]),
    ]);
    let w = World::boot(alloc::vec![d]);
    let seen = w.seen(0);
    assert_error(&seen[1], ErrorCode::InvalidParameters);
    assert_error(&seen[2], ErrorCode::Denied);
    assert_error(&seen[3], ErrorCode::InvalidParameters);
    assert_error(&seen[4], ErrorCode::InvalidParameters);
    assert_success(&seen[5], 0);
    assert_error(&seen[6], ErrorCode::Denied);
    assert_success(&seen[7], 0);
}

/// FF-A v1.1/v1.2 Table 6.1: the descriptor's UUID field is the partition's UUID for the Nil
/// query and "reserved and MBZ if a non-Nil UUID was specified in w1-w4", at every version
/// that has the field (v1.1+), in RX and in the registers of PARTITION_INFO_GET_REGS (Hafnium
/// `api_ffa_fill_partitions_info_array` / `api_ffa_partition_info_get_regs`, TF-A
/// `partition_info_get_handler`).
#[test]
fn uuid_field_is_zero_for_a_non_nil_query() {
    for v in [Version::V1_1, Version::V1_2] {
        let mut w = World::boot(three());
        w.nw_version(v);
        let (_, rx) = w.map_nw_mailbox(1);
        let props = |i: usize| EXPECTED[i].2[if v == Version::V1_1 { 1 } else { 2 }];
        // Fill RX with non-zero UUIDs first, so that stale bytes would show too.
        let n = if v == Version::V1_1 { 3 } else { 4 };
        assert_eq!(w.nw(info_get(None, 0)), info_success(n, 24));
        assert_eq!(
            w.env.mem.bytes(rx + 24, 24),
            descriptor(SP1, 4, props(1), uuid(U2)),
            "{v:?}: the Nil query carries the UUID"
        );
        assert_success(&w.nw(call(FuncId::RxRelease, &[])), 0);
        for (u, ids) in [(U1, &[0usize][..]), (U2, &[1]), (U3, &[1, 2])] {
            assert_eq!(
                w.nw(info_get(Some(u), 0)),
                info_success(ids.len() as u32, 24)
            );
            let want: Vec<u8> = ids
                .iter()
                .flat_map(|&i| {
                    descriptor(EndpointId(EXPECTED[i].0), EXPECTED[i].1, props(i), [0; 16])
                })
                .collect();
            assert_eq!(
                w.env.mem.bytes(rx, 24 * ids.len()),
                want,
                "{v:?}: UUID {u:#x} query"
            );
            assert_success(&w.nw(call(FuncId::RxRelease, &[])), 0);
        }
    }
    let mut w = World::boot(three());
    w.nw_version(Version::V1_2);
    assert_eq!(
        w.nw(info_get_regs(Some(U3), 0, 0)),
        regs_answer(
            1,
            1,
            &[(0x8002, 4, 0x1C9, [0; 16]), (0x8003, 1, 0x207, [0; 16])]
        )
    );
    assert_eq!(
        w.nw(info_get_regs(Some(U1), 0, 0)),
        regs_answer(0, 0, &[(0x8001, 1, 0x703, [0; 16])])
    );
}
