//! Reviewer's demonstrations: each test states a defect found by reading the kernel and proves
//! it on the fake machine; each now runs against the fix.

use super::fake::*;
use crate::memory::PAGE_SIZE;
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use ffa_abi::endpoint::EndpointId;
use ffa_abi::error::ErrorCode;
use ffa_abi::func_id::FuncId;
use ffa_abi::memory::transaction::{builder_for, MemAccess};
use ffa_abi::memory::{AccessPerms, Constituent, DataAccess, InstructionAccess};
use ffa_abi::regs::Regs;
use ffa_abi::version::Version;

/// FFA_MEM_PERM_SET permission words: bits[1:0] 1 = RW, 3 = RO; bit 2 set = not executable.
const PERM_RW: u64 = 0b101;
const PERM_RX: u64 = 0b011;

/// A manifest memory region declared read-only (and not executable) must stay so: the
/// partition's manifest is the integrator's statement of what the SP may do with it, and
/// FFA_MEM_PERM_SET only lets an SP tighten or rearrange what its image needs.
/// `mem_perm_set` (partition.rs) only checks that the pages are mapped and not device memory,
/// so it turns a read-only region writable and a non-executable one executable.
#[test]
fn mem_perm_set_cannot_exceed_the_manifest_region() {
    let ro = base(0) + 0x5_0000;
    let mut d = sp(0);
    // Secure, read-only, not executable.
    d.memory_regions.push(data_region(0, 0x5_0000, 1, 0x1));
    d.behaviour = during_boot(vec![
        call(FuncId::MemPermSet64, &[ro, 1, PERM_RW]),
        call(FuncId::MemPermSet64, &[ro, 1, PERM_RX]),
    ]);
    let w = World::boot(vec![d]);
    let seen = w.seen(0);
    let rt = w.spmc.sps[0].rt.lock();
    let p = rt.space.as_ref().unwrap().user_perm(ro).unwrap();
    assert!(
        seen[1].as_error().is_some() && seen[2].as_error().is_some(),
        "RO region made RW ({:x?}) / executable ({:x?}); now {p:?}",
        seen[1],
        seen[2]
    );
    assert!(!p.write && !p.exec);
}

/// sp0's lend descriptor: `pages` pages at `addr` lent RW to `receiver`, memory type left
/// unspecified as a lender to one borrower must.
fn lend_descriptor(sender: u16, receiver: u16, addr: u64, pages: u32) -> Vec<u8> {
    let rw = AccessPerms {
        data: DataAccess::ReadWrite,
        instruction: InstructionAccess::NotSpecified,
    };
    let receivers = [MemAccess::new(EndpointId(receiver), rw)];
    let constituents = [Constituent {
        address: addr,
        page_count: pages,
    }];
    let b = builder_for(Version::V1_2, EndpointId(sender), &receivers, &constituents).unwrap();
    let mut out = vec![0u8; b.total_len().unwrap()];
    b.write(&mut out).unwrap();
    out
}

/// An SP maps its RX buffer with FFA_RXTX_MAP on its own data page, then lends that very page
/// to another SP: its own mapping is revoked, but the SPMC keeps the page as the SP's RX
/// buffer and writes FFA_PARTITION_INFO_GET descriptors into memory that now belongs
/// exclusively to the borrower. Either the lend must be refused (the page is a mailbox) or
/// the mailbox must not be written while its pages are lent (Hafnium refuses to share pages
/// of an endpoint's RX/TX buffers).
#[test]
fn lent_rx_page_is_not_written_by_the_spmc() {
    let data = base(0) + DATA_OFFSET;
    let (tx, rx) = (data, data + PAGE_SIZE);
    let desc = lend_descriptor(0x8001, 0x8002, rx, 1);
    let n = desc.len() as u64;
    let steps: Vec<Step> = vec![
        svc(call(FuncId::RxTxMap64, &[tx, rx, 1])),
        Box::new(move |_, m| {
            assert!(m.write(tx, &desc));
            assert!(m.write(rx, &[0x5A; 64]));
            Act::Svc(call(FuncId::MemLend32, &[n, n]))
        }),
        svc(call(FuncId::PartitionInfoGet, &[0, 0, 0, 0, 0])),
        svc(msg_wait()),
    ];
    let mut a = sp(0);
    a.patch = Some(Box::new(|p| {
        p.capabilities.memory_share_with = Box::leak(Box::new([spmc_table::EndpointId(0x8002)]));
    }));
    a.behaviour = script(steps);
    let w = World::boot(vec![a, sp(1)]);
    let seen = w.seen(0);
    assert_success(&seen[1], 0);
    let lent = seen[2].w(0) == FuncId::Success32.raw();
    let info_ok = seen[3].w(0) == FuncId::Success32.raw();
    if lent {
        // The lender lost its own access to the page...
        let rt = w.spmc.sps[0].rt.lock();
        assert_eq!(rt.space.as_ref().unwrap().translate(rx), None);
    }
    // ...so the SPMC must not write into it on the lender's behalf.
    let after = w.env.mem.bytes(rx, 64);
    // The fix taken: lending a page of one's own RX/TX buffers is refused (DENIED), and the
    // page stays the SP's RX buffer (which the SPMC may then write).
    assert_error(&seen[2], ErrorCode::Denied);
    assert!(
        !lent && (info_ok || after == [0x5A; 64]),
        "lend {:x?}, info_get {:x?}: lent page now {:x?}",
        seen[2],
        seen[3],
        &after[..8]
    );
}

/// Registers of an FFA_PARTITION_INFO_GET for every partition (nil UUID).
fn info_get_all() -> Regs {
    call(FuncId::PartitionInfoGet, &[0, 0, 0, 0, 0])
}

/// The same hole from the borrower's side: memory lent to sp1 by sp0 is secure, normal,
/// non-executable and writable in sp1's tables, so FFA_RXTX_MAP accepts it as sp1's buffers.
/// After sp1 relinquishes it, the SPMC still writes sp1's RX buffer, which is sp0's page again
/// (relinquish does not look at the mailbox).
#[test]
fn rxtx_buffers_do_not_outlive_relinquished_memory() {
    use alloc::rc::Rc;
    use core::cell::Cell;
    use ffa_abi::memory::MemHandle;
    let data = base(0) + DATA_OFFSET;
    let lend = lend_descriptor(0x8001, 0x8002, data, 2);
    let n = lend.len() as u64;
    let mb = spmc_table::RxTxBuffer {
        rx: spmc_table::PhysAddr(base(0) + 0x6_0000),
        tx: spmc_table::PhysAddr(base(0) + 0x6_1000),
        pages: 1,
    };
    let mut a = sp(0);
    a.rx_tx = Some(mb);
    a.patch = Some(Box::new(|p| {
        p.capabilities.memory_share_with = Box::leak(Box::new([spmc_table::EndpointId(0x8002)]));
    }));
    let tx0 = mb.tx.0;
    a.behaviour = script(vec![
        Box::new(move |_, m| {
            assert!(m.write(tx0, &lend));
            Act::Svc(call(FuncId::MemLend32, &[n, n]))
        }),
        svc(msg_wait()),
    ]);
    let own = base(1) + DATA_OFFSET;
    let handle = Rc::new(Cell::new(0u64));
    let va = Rc::new(Cell::new(0u64));
    let (h1, h2, va1) = (handle.clone(), handle.clone(), va.clone());
    let mut b = sp(1);
    b.behaviour = script(vec![
        svc(call(FuncId::RxTxMap64, &[own, own + PAGE_SIZE, 1])),
        svc(msg_wait()),
        // Request 1 (handle in w3/w4): retrieve through the temporary mailbox...
        Box::new(move |r, m| {
            let h = MemHandle::from_regs(r.w(3), r.w(4));
            h1.set(h.0);
            let receivers = [MemAccess::new(EndpointId(0x8002), AccessPerms::RW_NX)];
            let mut bl = builder_for(Version::V1_2, EndpointId(0x8001), &receivers, &[]).unwrap();
            bl.handle = h;
            let mut d = vec![0u8; bl.total_len().unwrap()];
            bl.write(&mut d).unwrap();
            assert!(m.write(own, &d));
            let k = d.len() as u64;
            Act::Svc(call(FuncId::MemRetrieveReq32, &[k, k]))
        }),
        // ...then move the mailbox onto the borrowed window.
        Box::new(move |r, m| {
            assert_eq!(r.w(0), FuncId::MemRetrieveResp.raw(), "retrieve {r:x?}");
            let resp = m.bytes(own + PAGE_SIZE, r.w(2) as usize);
            let t = ffa_abi::memory::transaction::MemTransaction::parse(&resp, Version::V1_2)
                .expect("response");
            va1.set(t.constituents().next().unwrap().address);
            Act::Svc(call(FuncId::RxTxUnmap, &[0]))
        }),
        Box::new(move |r, _| {
            assert_eq!(r.w(0), FuncId::Success32.raw(), "unmap {r:x?}");
            let v = va.get();
            Act::Svc(call(FuncId::RxTxMap64, &[v, v + PAGE_SIZE, 1]))
        }),
        Box::new(|r, _| Act::Svc(resp32(0x8002, 1, [r.w(0), r.w(2), 0, 0, 0]))),
        // Request 2: relinquish (the descriptor goes into the TX page, i.e. sp0's data page).
        Box::new(move |_, m| {
            let mut d = vec![0u8; 18];
            let k = ffa_abi::memory::relinquish::write_relinquish(
                MemHandle(h2.get()),
                0,
                &[EndpointId(0x8002)],
                &mut d,
            )
            .unwrap();
            assert!(m.write(data, &d[..k]));
            Act::Svc(call(FuncId::MemRelinquish, &[]))
        }),
        Box::new(|r, _| Act::Svc(resp32(0x8002, 1, [r.w(0), r.w(2), 0, 0, 0]))),
        // Request 3: partition information into the (stale) RX buffer.
        Box::new(move |_, m| {
            assert!(m.write(data + PAGE_SIZE, &[0x5A; 64]));
            Act::Svc(info_get_all())
        }),
        Box::new(|r, _| Act::Svc(resp32(0x8002, 1, [r.w(0), r.w(2), 0, 0, 0]))),
    ]);
    let mut w = World::boot(vec![a, b]);
    let lent = w.seen(0)[1];
    assert_eq!(lent.w(0), FuncId::Success32.raw(), "lend: {lent:x?}");
    let (lo, hi) = MemHandle::from_regs(lent.w(2), lent.w(3)).to_regs();
    let r1 = w.nw(req32(1, 0x8002, [lo as u32, hi as u32, 0, 0, 0]));
    let mapped = r1.w(3) == FuncId::Success32.raw();
    let r2 = w.nw(req32(1, 0x8002, [0; 5]));
    if mapped {
        // Only meaningful if the SPMC accepted the borrowed window as a mailbox.
        assert_eq!(r2.w(3), FuncId::Success32.raw(), "relinquish {r2:x?}");
        let rt = w.spmc.sps[1].rt.lock();
        assert_eq!(rt.space.as_ref().unwrap().translate(handle_va(&w, 1)), None);
    }
    let r3 = w.nw(req32(1, 0x8002, [0; 5]));
    let after = w.env.mem.bytes(data + PAGE_SIZE, 64);
    assert!(
        !mapped && after == [0x5A; 64],
        "RXTX_MAP on borrowed memory {r1:x?}; after relinquish INFO_GET {r3:x?} wrote sp0's \
         page: {:x?}",
        &after[..8]
    );
}

/// The VA where sp 1 has the page it borrowed from sp 0 (and made its TX page): retrieved
/// memory is mapped at VA = PA.
fn handle_va(_w: &World, _i: usize) -> u64 {
    base(0) + DATA_OFFSET
}

/// A refused call changes nothing: `sp_call` (partition.rs) sets `version_frozen` before the
/// call is even decoded, so a malformed FFA_RXTX_MAP (refused with INVALID_PARAMETERS) or an
/// unimplemented ABI (NOT_SUPPORTED) still fixes the partition's version, and its later
/// FFA_VERSION(1.1) is refused.
#[test]
fn refused_call_does_not_freeze_the_version() {
    let mut d = sp(0);
    d.behaviour = during_boot(vec![
        call(FuncId::RxTxMap64, &[0x123, 0x456, 0]),
        call(FuncId::Version, &[Version::V1_1.encode().into()]),
    ]);
    let w = World::boot(vec![d]);
    let seen = w.seen(0);
    assert!(seen[1].as_error().is_some(), "{:x?}", seen[1]);
    assert_eq!(
        seen[2].w(0),
        Version::V1_2.encode(),
        "FFA_VERSION after a refused call: {:x?}",
        seen[2]
    );
    assert_eq!(w.spmc.sps[0].rt.lock().version, Version::V1_1);
}

/// A donee of a 17-constituent donation that lends its 17th page on must lose its own
/// mapping of it while the borrower has it exclusively (once a bounded table of donated VA
/// windows overflowed here; donated memory now sits at VA = PA like every owner mapping).
#[test]
fn lending_donated_memory_revokes_the_lenders_window() {
    use alloc::rc::Rc;
    use core::cell::Cell;
    use ffa_abi::memory::MemHandle;
    const N: u64 = 17;
    let shared = NS.base + 0x4_0000;
    let none = AccessPerms {
        data: DataAccess::NotSpecified,
        instruction: InstructionAccess::NotSpecified,
    };
    let receivers = [MemAccess::new(EndpointId(0x8001), none)];
    let constituents: Vec<Constituent> = (0..N)
        .map(|k| Constituent {
            address: shared + 2 * k * PAGE_SIZE,
            page_count: 1,
        })
        .collect();
    let b = builder_for(Version::V1_2, EndpointId(0), &receivers, &constituents).unwrap();
    let mut donate = vec![0u8; b.total_len().unwrap()];
    b.write(&mut donate).unwrap();

    let (tx, rx) = (base(0) + 0x6_1000, base(0) + 0x6_0000);
    let last_va = Rc::new(Cell::new(0u64));
    let lv = last_va.clone();
    let out = last_va.clone();
    let mut a = sp(0);
    a.rx_tx = Some(spmc_table::RxTxBuffer {
        rx: spmc_table::PhysAddr(rx),
        tx: spmc_table::PhysAddr(tx),
        pages: 1,
    });
    a.patch = Some(Box::new(|p| {
        p.capabilities.memory_share_with = Box::leak(Box::new([spmc_table::EndpointId(0x8002)]));
    }));
    // An NS page of its own near the donated ones, so that its tables reach their identity
    // addresses (else aarch64-paging 0.12.3 paging.rs:1070 overflows `pa - start % granularity`
    // on unmapping an address under an empty upper-level entry: a debug-build panic).
    let mut ns_page = data_region(0, 0, 1, 0xB);
    ns_page.base = spmc_table::PhysAddr(NS.base + 0x8_0000);
    a.memory_regions.push(ns_page);
    a.behaviour = script(vec![
        svc(msg_wait()),
        Box::new(move |r, m| {
            let h = MemHandle::from_regs(r.w(3), r.w(4));
            let receivers = [MemAccess::new(EndpointId(0x8001), AccessPerms::RW_NX)];
            let mut bl = builder_for(Version::V1_2, EndpointId(0), &receivers, &[]).unwrap();
            bl.handle = h;
            let mut d = vec![0u8; bl.total_len().unwrap()];
            bl.write(&mut d).unwrap();
            assert!(m.write(tx, &d));
            let k = d.len() as u64;
            Act::Svc(call(FuncId::MemRetrieveReq32, &[k, k]))
        }),
        Box::new(move |r, m| {
            assert_eq!(r.w(0), FuncId::MemRetrieveResp.raw(), "retrieve {r:x?}");
            let resp = m.bytes(rx, r.w(2) as usize);
            let t = ffa_abi::memory::transaction::MemTransaction::parse(&resp, Version::V1_2)
                .expect("response");
            let last = t.constituents().last().unwrap();
            lv.set(last.address);
            Act::Svc(call(FuncId::RxRelease, &[]))
        }),
        Box::new(move |_, m| {
            let d = lend_descriptor(0x8001, 0x8002, last_va.get(), 1);
            assert!(m.write(tx, &d));
            let k = d.len() as u64;
            Act::Svc(call(FuncId::MemLend32, &[k, k]))
        }),
        Box::new(|r, _| Act::Svc(resp32(0x8001, 1, [r.w(0), 0, 0, 0, 0]))),
    ]);
    let mut w = World::boot(vec![a, sp(1)]);
    w.nw_version(Version::V1_2);
    let (ntx, _) = w.map_nw_mailbox(1);
    assert!(w.env.mem.write(ntx, &donate));
    let n = donate.len() as u64;
    let r = w.nw(call(FuncId::MemDonate32, &[n, n]));
    assert_eq!(r.w(0), FuncId::Success32.raw(), "donate {r:x?}");
    let (lo, hi) = MemHandle::from_regs(r.w(2), r.w(3)).to_regs();
    let r = w.nw(req32(1, 0x8001, [lo as u32, hi as u32, 0, 0, 0]));
    assert_eq!(
        r.w(3),
        FuncId::Success32.raw(),
        "lend of the 17th page: {r:x?}"
    );
    let rt = w.spmc.sps[0].rt.lock();
    let still = rt.space.as_ref().unwrap().translate(out.get());
    assert!(out.get() != 0);
    assert_eq!(still, None, "lender still maps the lent page");
}
