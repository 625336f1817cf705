//! The memory management ABIs as the dispatcher sees them (FF-A v1.2 chapter 16 / DEN0140):
//! descriptors travel in the callers' TX/RX buffers, the borrower's page tables change, and
//! the owner gets its memory back. The transaction engine's own rules are tested in
//! `mem_share`; this checks the wiring end to end.

use super::fake::*;
use crate::memory::PAGE_SIZE;
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use ffa_abi::endpoint::EndpointId;
use ffa_abi::error::ErrorCode;
use ffa_abi::func_id::FuncId;
use ffa_abi::memory::transaction::{builder_for, MemAccess, MemTransaction};
use ffa_abi::memory::{
    AccessPerms, Constituent, DataAccess, InstructionAccess, MemAttributes, MemHandle,
};
use ffa_abi::regs::Regs;
use ffa_abi::version::Version;
use spmc_table::{PhysAddr, RxTxBuffer};

/// Non-secure memory the normal world lends out: 2 pages.
const SHARED: u64 = NS.base + 0x4_0000;

fn sp_mailbox(i: usize) -> RxTxBuffer {
    RxTxBuffer {
        rx: PhysAddr(base(i) + 0x6_0000),
        tx: PhysAddr(base(i) + 0x6_1000),
        pages: 1,
    }
}

/// Read-write; instruction access left unspecified, as a lender of FFA_MEM_SHARE must
/// (DEN0140 "Memory access permissions usage").
const RW: AccessPerms = AccessPerms {
    data: DataAccess::ReadWrite,
    instruction: InstructionAccess::NotSpecified,
};

/// A lender's descriptor: `sender` shares `pages` pages at `addr` with `receiver`, RW.
fn share_descriptor(sender: EndpointId, receiver: EndpointId, addr: u64, pages: u32) -> Vec<u8> {
    let receivers = [MemAccess::new(receiver, RW)];
    let constituents = [Constituent {
        address: addr,
        page_count: pages,
    }];
    let mut b = builder_for(Version::V1_2, sender, &receivers, &constituents).expect("builder");
    b.attributes = MemAttributes::NORMAL_WB_INNER;
    let mut out = vec![0u8; b.total_len().unwrap()];
    b.write(&mut out).unwrap();
    out
}

/// A borrower's retrieve request for `handle`.
fn retrieve_descriptor(sender: EndpointId, receiver: EndpointId, handle: MemHandle) -> Vec<u8> {
    let receivers = [MemAccess::new(receiver, AccessPerms::RW_NX)];
    let mut b = builder_for(Version::V1_2, sender, &receivers, &[]).unwrap();
    b.handle = handle;
    let mut out = vec![0u8; b.total_len().unwrap()];
    b.write(&mut out).unwrap();
    out
}

fn relinquish_descriptor(handle: MemHandle, who: EndpointId) -> Vec<u8> {
    let mut out = vec![0u8; 18];
    let n = ffa_abi::memory::relinquish::write_relinquish(handle, 0, &[who], &mut out).unwrap();
    out.truncate(n);
    out
}

fn handle_of(r: &Regs) -> MemHandle {
    MemHandle::from_regs(r.w(2), r.w(3))
}

/// What the borrower saw, for the test to inspect afterwards.
#[derive(Default)]
struct Borrower {
    retrieve: Option<Regs>,
    response: Vec<u8>,
    relinquish: Option<Regs>,
}

/// sp0's behaviour: on the first request (handle in w3/w4) retrieve the memory and answer;
/// on the second, relinquish it and answer.
fn borrower(log: Rc<RefCell<Borrower>>) -> Behaviour {
    let tx = base(0) + 0x6_1000;
    let rx = base(0) + 0x6_0000;
    let l1 = log.clone();
    let l2 = log;
    let handle = Rc::new(RefCell::new(MemHandle(0)));
    let (h1, h2) = (handle.clone(), handle);
    script(vec![
        svc(msg_wait()),
        Box::new(move |r, m| {
            let h = MemHandle::from_regs(r.w(3), r.w(4));
            *h1.borrow_mut() = h;
            let d = retrieve_descriptor(EndpointId(0), SP0, h);
            assert!(m.write(tx, &d));
            let n = d.len() as u64;
            Act::Svc(call(FuncId::MemRetrieveReq32, &[n, n]))
        }),
        Box::new(move |r, m| {
            let mut l = l1.borrow_mut();
            l.retrieve = Some(*r);
            if r.w(0) == FuncId::MemRetrieveResp.raw() {
                l.response = m.bytes(rx, (r.w(2) as usize).min(0x1000));
            }
            Act::Svc(call(FuncId::RxRelease, &[]))
        }),
        Box::new(|r, _| Act::Svc(resp32(SP0, EndpointId(1), [r.w(0), 0, 0, 0, 0]))),
        Box::new(move |_, m| {
            let d = relinquish_descriptor(*h2.borrow(), SP0);
            assert!(m.write(tx, &d));
            Act::Svc(call(FuncId::MemRelinquish, &[]))
        }),
        Box::new(move |r, _| {
            l2.borrow_mut().relinquish = Some(*r);
            Act::Svc(resp32(SP0, EndpointId(1), [r.w(0), r.w(2), 0, 0, 0]))
        }),
    ])
}

#[test]
fn nw_share_retrieve_relinquish_reclaim() {
    let log = Rc::new(RefCell::new(Borrower::default()));
    let mut d = sp(0);
    d.rx_tx = Some(sp_mailbox(0));
    d.behaviour = borrower(log.clone());
    let mut w = World::boot(vec![d, sp(1)]);
    w.nw_version(Version::V1_2);
    let (tx, _) = w.map_nw_mailbox(1);
    assert!(w.env.mem.write(SHARED, &[0x5A; 0x2000]));

    let desc = share_descriptor(EndpointId(0), SP0, SHARED, 2);
    assert!(w.env.mem.write(tx, &desc));
    let n = desc.len() as u64;
    let r = w.nw(call(FuncId::MemShare32, &[n, n]));
    assert_eq!(r.w(0), FuncId::Success32.raw(), "{r:x?}");
    let handle = handle_of(&r);
    assert!(handle.0 != 0);
    assert!(handle.is_spmc_allocated(), "SPMC-allocated handle bit");
    assert_eq!(w.spmc.mem.lock(0).unwrap().live(), 1);

    // The borrower retrieves it during a request.
    let (lo, hi) = handle.to_regs();
    let q = req32(EndpointId(1), SP0, [lo as u32, hi as u32, 0, 0, 0]);
    let r = w.nw(q);
    let response = log.borrow().response.clone();
    let resp = log.borrow().retrieve.expect("retrieve answered");
    assert_eq!(resp.w(0), FuncId::MemRetrieveResp.raw(), "{resp:x?}");
    assert_eq!(resp.w(1), resp.w(2), "one fragment");
    assert_eq!(
        r,
        resp32(SP0, EndpointId(1), [0x8400_0061, 0, 0, 0, 0]),
        "RX_RELEASE failed"
    );
    let t = MemTransaction::parse(&response, Version::V1_2).expect("response parses");
    assert_eq!(t.handle, handle);
    assert_eq!(t.sender, EndpointId(0));
    assert_eq!(t.total_page_count(), 2);
    // v1.1+: the NS bit tells the borrower the memory is non-secure.
    assert!(t.attributes.ns, "NS bit of the retrieve response");
    let va: Vec<u64> = t.constituents().map(|c| c.address).collect();
    // The borrower's tables map those pages, RW, non-secure, not executable.
    {
        let rt = w.spmc.sps[0].rt.lock();
        let space = rt.space.as_ref().unwrap();
        let mut pa = SHARED;
        for c in t.constituents() {
            for k in 0..u64::from(c.page_count) {
                let (p, perm) = space.translate(c.address + k * PAGE_SIZE).expect("mapped");
                assert_eq!(p, pa);
                assert!(perm.write && !perm.exec && perm.non_secure && !perm.is_device());
                pa += PAGE_SIZE;
            }
        }
        // Another SP sees nothing of it.
        let other = w.spmc.sps[1].rt.lock();
        assert_eq!(other.space.as_ref().unwrap().translate(va[0]), None);
    }

    // Not reclaimable while borrowed.
    let reclaim = call(FuncId::MemReclaim, &[lo, hi, 0]);
    assert_error(&w.nw(reclaim), ErrorCode::Denied);

    // Relinquish, then reclaim.
    let r = w.nw(req32(EndpointId(1), SP0, [1; 5]));
    assert_eq!(r, resp32(SP0, EndpointId(1), [0x8400_0061, 0, 0, 0, 0]));
    {
        let rt = w.spmc.sps[0].rt.lock();
        assert_eq!(
            rt.space.as_ref().unwrap().translate(va[0]),
            None,
            "still mapped"
        );
    }
    assert_success(&w.nw(reclaim), 0);
    assert_eq!(w.spmc.mem.lock(0).unwrap().live(), 0);
    assert_error(&w.nw(reclaim), ErrorCode::InvalidParameters);
}

#[test]
fn memory_abis_need_a_mailbox_and_valid_memory() {
    let mut w = World::echoes(1);
    w.nw_version(Version::V1_2);
    let desc = share_descriptor(EndpointId(0), SP0, SHARED, 1);
    let n = desc.len() as u64;
    // No TX buffer: INVALID_PARAMETERS (as Hafnium answers).
    let r = w.nw(call(FuncId::MemShare32, &[n, n]));
    assert_error(&r, ErrorCode::InvalidParameters);
    let (tx, _) = w.map_nw_mailbox(1);
    // Secure memory is not the normal world's to share.
    let bad = share_descriptor(EndpointId(0), SP0, base(0) + DATA_OFFSET, 1);
    assert!(w.env.mem.write(tx, &bad));
    assert_error(&w.nw(call(FuncId::MemShare32, &[n, n])), ErrorCode::Denied);
    // A descriptor longer than the TX buffer.
    let r = w.nw(call(FuncId::MemShare32, &[0x2000, 0x2000]));
    assert_error(&r, ErrorCode::InvalidParameters);
    assert_eq!(w.spmc.mem.lock(0).unwrap().live(), 0);
    // The normal world cannot retrieve or relinquish (SP-only ABIs).
    assert_error(
        &w.nw(call(FuncId::MemRetrieveReq32, &[n, n])),
        ErrorCode::NotSupported,
    );
    assert_error(
        &w.nw(call(FuncId::MemRelinquish, &[])),
        ErrorCode::NotSupported,
    );
}

/// An SP may share only memory it owns, with receivers its grant names, and a constituent
/// whose end overflows the address space is refused (not wrapped).
#[test]
fn sp_share_rules() {
    let data = base(0) + DATA_OFFSET;
    let tx = base(0) + 0x6_1000;
    let cases: Vec<(Vec<u8>, Option<ErrorCode>)> = vec![
        // Its own RW data region, to a granted SP.
        (share_descriptor(SP0, SP1, data, 1), None),
        // Not granted.
        (
            share_descriptor(SP0, SP2, data + PAGE_SIZE, 1),
            Some(ErrorCode::Denied),
        ),
        // Not its memory (another SP's data, its own image).
        (
            share_descriptor(SP0, SP1, base(1) + DATA_OFFSET, 1),
            Some(ErrorCode::Denied),
        ),
        (
            share_descriptor(SP0, SP1, base(0), 1),
            Some(ErrorCode::Denied),
        ),
        // Wrapping past the top of the address space.
        (
            share_descriptor(SP0, SP1, 0xFFFF_FFFF_FFFF_F000, 2),
            Some(ErrorCode::InvalidParameters),
        ),
    ];
    let expected: Vec<Option<ErrorCode>> = cases.iter().map(|c| c.1).collect();
    let mut steps: Vec<Step> = Vec::new();
    for (desc, _) in cases {
        steps.push(Box::new(move |_, m| {
            assert!(m.write(tx, &desc));
            let n = desc.len() as u64;
            Act::Svc(call(FuncId::MemShare32, &[n, n]))
        }));
    }
    steps.push(svc(msg_wait()));
    let mut a = sp(0);
    a.rx_tx = Some(sp_mailbox(0));
    a.patch = Some(Box::new(|p| {
        p.capabilities.memory_share_with = Box::leak(Box::new([spmc_table::EndpointId(0x8002)]));
    }));
    a.behaviour = script(steps);
    let w = World::boot(vec![a, sp(1), sp(2)]);
    let seen = w.seen(0);
    for (k, want) in expected.iter().enumerate() {
        let r = &seen[1 + k];
        match want {
            None => assert_eq!(r.w(0), FuncId::Success32.raw(), "case {k}: {r:x?}"),
            Some(code) => {
                // The exact code for foreign memory is the engine's choice; it must refuse.
                assert!(r.as_error().is_some(), "case {k} accepted: {r:x?}");
                assert_error(r, *code);
            }
        }
    }
    assert_eq!(w.spmc.mem.lock(0).unwrap().live(), 1);
}

/// The dispatcher's memory path takes exactly FFA_MEM_SHARE/LEND/DONATE (32 and 64), and the
/// ABI table implements each of them for the normal world and for partitions: what the path
/// skips (the table walk) would have let them through. Every FF-A function ID and neighbours.
#[test]
fn send_fid_agrees_with_the_abi_table() {
    use crate::policy::Caller as PolicyCaller;
    use crate::spmc::abi_table::implemented_fid;
    use crate::spmc::memory::send_fid;
    let sends = [
        FuncId::MemShare32,
        FuncId::MemShare64,
        FuncId::MemLend32,
        FuncId::MemLend64,
        FuncId::MemDonate32,
        FuncId::MemDonate64,
    ];
    let mut w0s: Vec<u32> = FuncId::ALL.iter().map(|f| f.raw()).collect();
    for f in sends {
        for d in [1u32, 1 << 30, 1 << 31, 0x1_0000, 0xFFFF_0000] {
            w0s.push(f.raw() ^ d);
            w0s.push(f.raw().wrapping_add(d));
        }
    }
    for w0 in w0s {
        let fast = send_fid(w0);
        assert_eq!(
            fast.is_some(),
            sends.iter().any(|f| f.raw() == w0),
            "{w0:#x}"
        );
        if let Some(f) = fast {
            assert_eq!(f.raw(), w0);
            for caller in [PolicyCaller::NormalWorld, PolicyCaller::Sp(0)] {
                assert_eq!(implemented_fid(w0, caller), Some(f), "{f:?} for {caller:?}");
            }
        }
    }
}
