//! What a partition owns and what it may do with it: the one ownership query
//! (`spmc/ownership.rs`) for each kind of region (image, memory regions, device regions,
//! RX/TX, boot information, the normal world's memory, donated memory), and the checks built on
//! it (loading, FFA_MEM_PERM_SET, FFA_RXTX_MAP, lending and donating, RX/TX buffers over memory
//! that changes hands).

use super::fake::*;
use crate::memory::PAGE_SIZE;
use crate::spmc::ownership::{nw_region, regions, sp_region, Kind, Region, Use};
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use ffa_abi::endpoint::EndpointId;
use ffa_abi::error::ErrorCode;
use ffa_abi::func_id::FuncId;
use ffa_abi::memory::transaction::{builder_for, MemAccess};
use ffa_abi::memory::MemHandle;
use ffa_abi::memory::{AccessPerms, Constituent, DataAccess, InstructionAccess};
use ffa_abi::regs::Regs;
use ffa_abi::version::Version;
use spmc_table::{PhysAddr, RxTxBuffer};

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
fn lend_descriptor(sender: EndpointId, receiver: EndpointId, addr: u64, pages: u32) -> Vec<u8> {
    let rw = AccessPerms {
        data: DataAccess::ReadWrite,
        instruction: InstructionAccess::NotSpecified,
    };
    let receivers = [MemAccess::new(receiver, rw)];
    let constituents = [Constituent {
        address: addr,
        page_count: pages,
    }];
    let b = builder_for(Version::V1_2, sender, &receivers, &constituents).unwrap();
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
    let desc = lend_descriptor(SP0, SP1, rx, 1);
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
    let lend = lend_descriptor(SP0, SP1, data, 2);
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
        Box::new(|r, _| Act::Svc(resp32(SP1, EndpointId(1), [r.w(0), r.w(2), 0, 0, 0]))),
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
        Box::new(|r, _| Act::Svc(resp32(SP1, EndpointId(1), [r.w(0), r.w(2), 0, 0, 0]))),
        // Request 3: partition information into the (stale) RX buffer.
        Box::new(move |_, m| {
            assert!(m.write(data + PAGE_SIZE, &[0x5A; 64]));
            Act::Svc(info_get_all())
        }),
        Box::new(|r, _| Act::Svc(resp32(SP1, EndpointId(1), [r.w(0), r.w(2), 0, 0, 0]))),
    ]);
    let mut w = World::boot(vec![a, b]);
    let lent = w.seen(0)[1];
    assert_eq!(lent.w(0), FuncId::Success32.raw(), "lend: {lent:x?}");
    let (lo, hi) = MemHandle::from_regs(lent.w(2), lent.w(3)).to_regs();
    let r1 = w.nw(req32(EndpointId(1), SP1, [lo as u32, hi as u32, 0, 0, 0]));
    let mapped = r1.w(3) == FuncId::Success32.raw();
    let r2 = w.nw(req32(EndpointId(1), SP1, [0; 5]));
    if mapped {
        // Only meaningful if the SPMC accepted the borrowed window as a mailbox.
        assert_eq!(r2.w(3), FuncId::Success32.raw(), "relinquish {r2:x?}");
        let rt = w.spmc.sps[1].rt.lock();
        assert_eq!(rt.space.as_ref().unwrap().translate(handle_va(&w, 1)), None);
    }
    let r3 = w.nw(req32(EndpointId(1), SP1, [0; 5]));
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
            let d = lend_descriptor(SP0, SP1, last_va.get(), 1);
            assert!(m.write(tx, &d));
            let k = d.len() as u64;
            Act::Svc(call(FuncId::MemLend32, &[k, k]))
        }),
        Box::new(|r, _| Act::Svc(resp32(SP0, EndpointId(1), [r.w(0), 0, 0, 0, 0]))),
    ]);
    let mut w = World::boot(vec![a, sp(1)]);
    w.nw_version(Version::V1_2);
    let (ntx, _) = w.map_nw_mailbox(1);
    assert!(w.env.mem.write(ntx, &donate));
    let n = donate.len() as u64;
    let r = w.nw(call(FuncId::MemDonate32, &[n, n]));
    assert_eq!(r.w(0), FuncId::Success32.raw(), "donate {r:x?}");
    let (lo, hi) = MemHandle::from_regs(r.w(2), r.w(3)).to_regs();
    let r = w.nw(req32(EndpointId(1), SP0, [lo as u32, hi as u32, 0, 0, 0]));
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

const DEV: u64 = 0x6000_0000;
const RX: u64 = 0x6_0000;
const TX: u64 = 0x6_1000;

/// sp0 with every kind of region: image, the RW data region, a device region, manifest RX/TX
/// buffers and its boot-information region.
fn full_sp() -> SpDef {
    let mut d = sp(0);
    d.rx_tx = Some(RxTxBuffer {
        rx: PhysAddr(base(0) + RX),
        tx: PhysAddr(base(0) + TX),
        pages: 1,
    });
    d.patch = Some(Box::new(|p| {
        p.device_regions = Box::leak(Box::new([spmc_table::DeviceRegion {
            name: "uart",
            base: spmc_table::PhysAddr(DEV),
            pages: 1,
            attributes: spmc_table::MemAttributes(0x3),
            interrupts: &[],
            exclusive_access: false,
        }]));
    }));
    d
}

fn kind_at(p: &spmc_table::Partition, addr: u64) -> Option<Kind> {
    sp_region(p, addr, PAGE_SIZE).map(|r| r.kind)
}

#[test]
fn each_kind_of_region_is_found_with_its_access() {
    let w = World::new(vec![full_sp(), sp(1)]);
    let p = w.spmc.sps[0].desc;
    let b = base(0);
    assert_eq!(kind_at(p, b), Some(Kind::Image));
    assert_eq!(kind_at(p, b + IMAGE_SIZE - PAGE_SIZE), Some(Kind::Image));
    assert_eq!(kind_at(p, b + DATA_OFFSET), Some(Kind::Memory));
    assert_eq!(kind_at(p, DEV), Some(Kind::Device));
    assert_eq!(kind_at(p, b + RX), Some(Kind::Rx));
    assert_eq!(kind_at(p, b + TX), Some(Kind::Tx));
    assert_eq!(kind_at(p, b + BOOT_INFO_OFFSET), Some(Kind::BootInfo));
    // Not its own: another SP's image, a gap in its slot, the normal world's memory.
    assert_eq!(kind_at(p, base(1)), None);
    assert_eq!(kind_at(p, b + 0x5_0000), None);
    assert_eq!(kind_at(p, NS.base), None);
    // The data region is RW, not executable; the image both (never at once: PERM_SET checks).
    let data = sp_region(p, b + DATA_OFFSET, PAGE_SIZE).unwrap();
    assert_eq!(
        (data.write, data.exec, data.non_secure),
        (true, false, false)
    );
    let image = sp_region(p, b, PAGE_SIZE).unwrap();
    assert_eq!((image.write, image.exec), (true, true));
    // A range is owned only if one region holds all of it.
    let data_len = u64::from(DATA_PAGES) * PAGE_SIZE;
    assert!(sp_region(p, b + DATA_OFFSET, data_len).is_some());
    assert_eq!(sp_region(p, b + DATA_OFFSET, data_len + PAGE_SIZE), None);
    assert_eq!(
        sp_region(p, b + IMAGE_SIZE - PAGE_SIZE, 2 * PAGE_SIZE),
        None
    );
    assert_eq!(sp_region(p, u64::MAX - 10, 20), None);
    // Every region of the entry is listed once, the image last.
    let kinds: Vec<Kind> = regions(p).map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            Kind::Memory,
            Kind::Device,
            Kind::Rx,
            Kind::Tx,
            Kind::BootInfo,
            Kind::Image
        ]
    );
}

#[test]
fn the_normal_world_owns_its_non_secure_memory_only() {
    let ns = [NS];
    let r = nw_region(&ns, NS.base + PAGE_SIZE, 2 * PAGE_SIZE).unwrap();
    assert_eq!(r.kind, Kind::NsMemory);
    assert!(r.non_secure && r.may(Use::Mailbox) && r.may(Use::Share));
    assert_eq!(nw_region(&ns, POOL.base, PAGE_SIZE), None);
    assert_eq!(
        nw_region(&ns, NS.base + NS.size - PAGE_SIZE, 2 * PAGE_SIZE),
        None
    );
}

/// The uses each kind allows, in one table (ownership.rs module header).
#[test]
fn what_each_kind_may_be_used_for() {
    let region = |kind, non_secure| Region {
        kind,
        base: 0,
        len: PAGE_SIZE,
        write: true,
        exec: false,
        non_secure,
    };
    use Kind::*;
    use Use::*;
    let table: [(Kind, bool, [bool; 4]); 8] = [
        //                    PERM_SET Mailbox Share InPool
        (Image, false, [true, true, true, true]),
        (Memory, false, [true, true, true, true]),
        (Memory, true, [false, false, true, false]),
        (Device, false, [false, false, true, false]),
        (Rx, false, [false, false, false, false]),
        (Tx, false, [false, false, false, false]),
        (BootInfo, false, [false, false, false, true]),
        (NsMemory, true, [false, true, true, false]),
    ];
    for (kind, ns, want) in table {
        let r = region(kind, ns);
        let got = [SetPermissions, Mailbox, Share, InPool].map(|u| r.may(u));
        assert_eq!(got, want, "{kind:?} (non-secure: {ns})");
    }
}

fn perm_set(addr: u64) -> ffa_abi::regs::Regs {
    // Read-only, not executable.
    call(FuncId::MemPermSet64, &[addr, 1, 0b111])
}

fn rxtx_map(tx: u64, rx: u64) -> ffa_abi::regs::Regs {
    call(FuncId::RxTxMap64, &[tx, rx, 1])
}

/// FFA_MEM_PERM_SET and FFA_RXTX_MAP ask the query: allowed in the image and secure memory
/// regions, refused in device regions, the manifest RX/TX buffers and the boot information.
#[test]
fn perm_set_and_rxtx_map_follow_the_query() {
    let b = base(0);
    let data = b + DATA_OFFSET;
    let mut d = full_sp();
    d.rx_tx = None; // RXTX_MAP needs no mailbox mapped yet; the RX/TX kinds come below.
    d.behaviour = during_boot(vec![
        perm_set(b + BOOT_INFO_OFFSET),
        perm_set(DEV),
        perm_set(data),
        perm_set(b + PAGE_SIZE),
        rxtx_map(b + BOOT_INFO_OFFSET, data),
        rxtx_map(DEV, data),
        rxtx_map(data + PAGE_SIZE, data),
    ]);
    let w = World::boot(vec![d]);
    let s = w.seen(0);
    assert_error(&s[1], ErrorCode::InvalidParameters);
    assert_error(&s[2], ErrorCode::InvalidParameters);
    assert_success(&s[3], 0);
    assert_success(&s[4], 0);
    assert_error(&s[5], ErrorCode::InvalidParameters);
    assert_error(&s[6], ErrorCode::InvalidParameters);
    assert_success(&s[7], 0);

    // The manifest RX/TX buffers are the SPMC's to write and read: no permission change.
    let mut d = full_sp();
    d.behaviour = during_boot(vec![perm_set(b + RX), perm_set(b + TX)]);
    let w = World::boot(vec![d]);
    assert_error(&w.seen(0)[1], ErrorCode::InvalidParameters);
    assert_error(&w.seen(0)[2], ErrorCode::InvalidParameters);
}

/// Loading asks the query which regions must lie in the SP pool: a boot-information region
/// outside it is refused, a device region outside it is not.
#[test]
fn loading_checks_the_pool_through_the_query() {
    let mut d = sp(1);
    d.patch = Some(Box::new(|p| {
        p.boot_info.base = spmc_table::PhysAddr(SECURE_ELSEWHERE)
    }));
    let w = World::boot(vec![full_sp(), d]);
    assert_eq!(w.state(0), crate::spmc::partition::State::Waiting);
    assert_eq!(w.state(1), crate::spmc::partition::State::Aborted);
}

fn donate_descriptor(addr: u64) -> Vec<u8> {
    let none = AccessPerms {
        data: DataAccess::NotSpecified,
        instruction: InstructionAccess::NotSpecified,
    };
    let receivers = [MemAccess::new(EndpointId(0x8001), none)];
    let constituents = [Constituent {
        address: addr,
        page_count: 1,
    }];
    let b = builder_for(Version::V1_2, EndpointId(0), &receivers, &constituents).unwrap();
    let mut out = vec![0u8; b.total_len().unwrap()];
    b.write(&mut out).unwrap();
    out
}

/// Memory donated at run time is not in the partition's table entry: the static query does not
/// answer for it (the memory engine layers donations on top), so the donee may not make it an
/// RX/TX buffer, which the SPMC writes into whoever owns the memory next.
#[test]
fn donated_memory_is_not_a_static_region() {
    use alloc::rc::Rc;
    use core::cell::Cell;
    let donated = NS.base + 0x4_0000;
    let data = base(0) + DATA_OFFSET;
    let (tx, rx) = (data, data + PAGE_SIZE);
    let refused = Rc::new(Cell::new(0u32));
    let (r1, r2) = (refused.clone(), refused);
    let mut a = sp(0);
    // An NS page of its own near the donated one (see review.rs
    // lending_donated_memory_revokes_the_lenders_window for why).
    let mut ns_page = data_region(0, 0, 1, 0xB);
    ns_page.base = PhysAddr(NS.base + 0x8_0000);
    a.memory_regions.push(ns_page);
    a.behaviour = script(vec![
        svc(rxtx_map(tx, rx)),
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
        Box::new(|r, _| {
            assert_eq!(r.w(0), FuncId::MemRetrieveResp.raw(), "retrieve {r:x?}");
            Act::Svc(call(FuncId::RxRelease, &[]))
        }),
        svc(call(FuncId::RxTxUnmap, &[0])),
        // The donated page as TX buffer: refused.
        svc(rxtx_map(donated, rx)),
        // Its own data page again: accepted (the refusal was about the donated page).
        Box::new(move |r, _| {
            r1.set(r.w(2));
            assert_eq!(r.w(0), FuncId::Error32.raw(), "{r:x?}");
            Act::Svc(rxtx_map(tx, rx))
        }),
        Box::new(move |r, _| Act::Svc(resp32(SP0, EndpointId(1), [r2.get(), r.w(0), 0, 0, 0]))),
    ]);
    let mut w = World::boot(vec![a]);
    w.nw_version(Version::V1_2);
    let (ntx, _) = w.map_nw_mailbox(1);
    let donate = donate_descriptor(donated);
    assert!(w.env.mem.write(ntx, &donate));
    let n = donate.len() as u64;
    let r = w.nw(call(FuncId::MemDonate32, &[n, n]));
    assert_eq!(r.w(0), FuncId::Success32.raw(), "donate {r:x?}");
    let (lo, hi) = MemHandle::from_regs(r.w(2), r.w(3)).to_regs();
    let r = w.nw(req32(EndpointId(1), SP0, [lo as u32, hi as u32, 0, 0, 0]));
    assert_eq!(r.w(3), ErrorCode::InvalidParameters.to_u32(), "{r:x?}");
    assert_eq!(r.w(4), FuncId::Success32.raw(), "{r:x?}");
    // The donee maps the page (VA = PA), but its table entry does not hold it.
    let p = w.spmc.sps[0].desc;
    assert_eq!(sp_region(p, donated, PAGE_SIZE), None);
    let rt = w.spmc.sps[0].rt.lock();
    assert!(rt.space.as_ref().unwrap().translate(donated).is_some());
}
