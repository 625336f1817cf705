//! The memory ABIs against the real SP page tables (aarch64-paging through `KernelMem`),
//! driven call by call from the normal world and from SPs: after every call, the state
//! checker (`memory::check_mappings`) must hold for every page any call named. The engine's
//! own property tests (mem_share/tests/props.rs) run over a fake port; these run the port
//! the SPMC runs, where the issue-10 isolation bugs lived (a merged range unmapped from one VA
//! window, a donee's mapping not found again).

use super::fake::*;
use crate::memory::PAGE_SIZE;
use crate::spmc::call::Caller;
use crate::spmc::memory;
use alloc::vec;
use alloc::vec::Vec;
use ffa_abi::endpoint::EndpointId;
use ffa_abi::func_id::FuncId;
use ffa_abi::interface::MemTxArgs;
use ffa_abi::memory::transaction::{builder_for, MemAccess};
use ffa_abi::memory::{
    AccessPerms, Constituent, DataAccess, InstructionAccess, MemAttributes, MemHandle,
};
use ffa_abi::regs::Regs;
use ffa_abi::version::Version;
use proptest::prelude::*;
use spmc_table::{PhysAddr, RxTxBuffer};

/// Pages of each SP's data region (RW).
const DATA: u32 = 8;
/// Normal-world memory the tests share: after the NW mailbox (2 pages at NS.base).
const NS_SHARE: u64 = NS.base + 0x4_0000;
const NS_PAGES: u64 = 16;

fn mailbox(i: usize) -> RxTxBuffer {
    RxTxBuffer {
        rx: PhysAddr(base(i) + 0x6_0000),
        tx: PhysAddr(base(i) + 0x6_1000),
        pages: 1,
    }
}

/// Three SPs that may all share with each other, with mailboxes and 8 data pages each.
fn world() -> World {
    world_with(|_, _| {})
}

/// [`world`] with a last edit of each SP's table entry.
fn world_with(edit: fn(usize, &mut spmc_table::Partition)) -> World {
    world_from(|_, _| {}, edit)
}

/// [`world`] with an edit of each SP's definition (`def`, before boot) and a last edit of its
/// table entry (`edit`).
fn world_from(
    mut def: impl FnMut(usize, &mut SpDef),
    edit: impl Fn(usize, &mut spmc_table::Partition) + Copy + 'static,
) -> World {
    let defs = (0..3)
        .map(|i| {
            let mut d = sp(i);
            d.rx_tx = Some(mailbox(i));
            d.memory_regions = vec![data_region(i, DATA_OFFSET, DATA, 0x3)];
            def(i, &mut d);
            d.patch = Some(alloc::boxed::Box::new(move |p| {
                let others: Vec<spmc_table::EndpointId> = (0..3u16)
                    .filter(|&k| usize::from(k) != i)
                    .map(|k| spmc_table::EndpointId(0x8001 + k))
                    .collect();
                p.capabilities.memory_share_with = alloc::boxed::Box::leak(others.into());
                edit(i, p);
            }));
            d
        })
        .collect();
    let mut w = World::boot(defs);
    w.nw_version(Version::V1_2);
    w.map_nw_mailbox(1);
    for (i, sp) in w.spmc.sps.iter().enumerate() {
        let heap = sp.rt.lock().space.as_ref().unwrap().pool_stats().2;
        LOAD_HEAP_TABLES.with(|t| t[i].set(heap));
    }
    w
}

std::thread_local! {
    /// Tables each SP's load took from the heap (its own regions, before any reservation),
    /// per test thread.
    static LOAD_HEAP_TABLES: [core::cell::Cell<u32>; 3] = const {
        [core::cell::Cell::new(0), core::cell::Cell::new(0), core::cell::Cell::new(0)]
    };
}

fn id(i: usize) -> u16 {
    0x8001 + i as u16
}

fn perms(data: DataAccess) -> AccessPerms {
    AccessPerms {
        data,
        instruction: InstructionAccess::NotSpecified,
    }
}

fn args(n: usize) -> MemTxArgs {
    MemTxArgs {
        total_len: n as u32,
        frag_len: n as u32,
        buffer: None,
        is_64: false,
    }
}

/// FFA_MEM_SHARE/LEND/DONATE of `ranges` (the sender's addresses: VA = PA) by `from`
/// (`None`: the normal world) to `to`.
fn send(
    w: &mut World,
    fid: FuncId,
    from: Option<usize>,
    to: &[usize],
    ranges: &[(u64, u32)],
) -> Regs {
    let donate = matches!(fid, FuncId::MemDonate32);
    let lend1 = matches!(fid, FuncId::MemLend32) && to.len() == 1;
    let data = if donate {
        DataAccess::NotSpecified
    } else {
        DataAccess::ReadWrite
    };
    let receivers: Vec<MemAccess> = to
        .iter()
        .map(|&r| MemAccess::new(EndpointId(id(r)), perms(data)))
        .collect();
    let constituents: Vec<Constituent> = ranges
        .iter()
        .map(|&(address, page_count)| Constituent {
            address,
            page_count,
        })
        .collect();
    let sender = from.map_or(0, id);
    let mut b =
        builder_for(Version::V1_2, EndpointId(sender), &receivers, &constituents).expect("builder");
    if !donate && !lend1 {
        b.attributes = MemAttributes::NORMAL_WB_INNER;
    }
    let mut d = vec![0u8; b.total_len().unwrap()];
    b.write(&mut d).unwrap();
    match from {
        None => {
            assert!(w.env.mem.write(NS.base, &d));
            memory::send(
                &w.spmc,
                &mut w.env,
                &mut Caller::NormalWorld,
                fid,
                args(d.len()),
                Version::V1_2,
            )
        }
        Some(i) => {
            assert!(w.env.mem.write(mailbox(i).tx.0, &d));
            let spmc = &w.spmc;
            let mut rt = spmc.sps[i].rt.lock();
            memory::send(
                spmc,
                &mut w.env,
                &mut Caller::Sp(&spmc.sps[i], &mut rt),
                fid,
                args(d.len()),
                Version::V1_2,
            )
        }
    }
}

fn retrieve(w: &mut World, i: usize, sender: EndpointId, handle: MemHandle) -> Regs {
    let receivers = [MemAccess::new(
        EndpointId(id(i)),
        perms(DataAccess::NotSpecified),
    )];
    let mut b = builder_for(Version::V1_2, sender, &receivers, &[]).unwrap();
    b.handle = handle;
    let mut d = vec![0u8; b.total_len().unwrap()];
    b.write(&mut d).unwrap();
    assert!(w.env.mem.write(mailbox(i).tx.0, &d));
    let spmc = &w.spmc;
    let sp = &spmc.sps[i];
    let mut rt = sp.rt.lock();
    let r = memory::retrieve(
        spmc,
        &mut w.env,
        &mut Caller::Sp(sp, &mut rt),
        args(d.len()),
    );
    // The test reads nothing from the RX buffer: release it at once.
    if let Some(m) = sp.mailbox().unwrap().pair.as_mut() {
        m.rx_full = false;
    }
    r
}

fn relinquish(w: &mut World, i: usize, handle: MemHandle) -> Regs {
    let mut d = vec![0u8; 18];
    let n = ffa_abi::memory::relinquish::write_relinquish(handle, 0, &[EndpointId(id(i))], &mut d)
        .unwrap();
    assert!(w.env.mem.write(mailbox(i).tx.0, &d[..n]));
    let spmc = &w.spmc;
    let sp = &spmc.sps[i];
    let mut rt = sp.rt.lock();
    memory::relinquish(spmc, &mut w.env, &mut Caller::Sp(sp, &mut rt))
}

fn reclaim(w: &mut World, from: Option<usize>, handle: MemHandle) -> Regs {
    match from {
        None => memory::reclaim(&w.spmc, &mut w.env, &mut Caller::NormalWorld, handle, 0),
        Some(i) => {
            let spmc = &w.spmc;
            let mut rt = spmc.sps[i].rt.lock();
            memory::reclaim(
                spmc,
                &mut w.env,
                &mut Caller::Sp(&spmc.sps[i], &mut rt),
                handle,
                0,
            )
        }
    }
}

fn ok(r: &Regs) -> bool {
    r.w(0) == FuncId::Success32.raw() || r.w(0) == FuncId::MemRetrieveResp.raw()
}

fn handle(r: &Regs) -> MemHandle {
    MemHandle::from_regs(r.w(2), r.w(3))
}

fn data_page(i: usize, k: u64) -> u64 {
    base(i) + DATA_OFFSET + k * PAGE_SIZE
}

/// Every page the tests may name.
fn all_pages() -> Vec<u64> {
    let mut v: Vec<u64> = (0..NS_PAGES).map(|k| NS_SHARE + k * PAGE_SIZE).collect();
    for i in 0..3 {
        v.extend((0..u64::from(DATA)).map(|k| data_page(i, k)));
    }
    v
}

/// The state checker, and the page-table pools: every reserved pool page belongs to a
/// reservation the engine holds, and no memory ABI took a table from the heap (a commit that
/// had to would be one that can fail).
fn check(w: &World) {
    if let Err(m) = memory::check_mappings(&w.spmc, &all_pages()) {
        panic!("mapping differs from the transaction state: {m:x?}");
    }
    let held = w.spmc.mem.lock(0).unwrap().held_table_pages();
    let mut reserved = 0u64;
    for (i, sp) in w.spmc.sps.iter().enumerate() {
        let rt = sp.rt.lock();
        let (r, spare, heap) = rt.space.as_ref().unwrap().pool_stats();
        reserved += r as u64;
        assert!(
            spare <= crate::memory::SPARE_TABLE_PAGES,
            "sp{i} keeps {spare} spare pages"
        );
        assert_eq!(
            heap,
            LOAD_HEAP_TABLES.with(|t| t[i].get()),
            "sp{i} took a table from the heap after load"
        );
    }
    assert_eq!(
        reserved, held,
        "pool pages reserved == reservations the engine holds"
    );
}

/// Issue 10, bug 1: the normal world donates P and P+1 to SP A in two transactions; A lends
/// both pages (two constituents, which the SPMC merges into one physical range) to B. A must
/// lose both mappings while B has the memory, and get both back at reclaim.
#[test]
fn lending_two_donations_as_one_range_unmaps_both() {
    let mut w = world();
    let p = NS_SHARE;
    let mut handles = Vec::new();
    for k in 0..2 {
        let r = send(
            &mut w,
            FuncId::MemDonate32,
            None,
            &[0],
            &[(p + k * PAGE_SIZE, 1)],
        );
        assert!(ok(&r), "donate {r:x?}");
        handles.push(handle(&r));
    }
    for h in handles {
        let r = retrieve(&mut w, 0, EndpointId(0), h);
        assert!(ok(&r), "retrieve {r:x?}");
        check(&w);
    }
    let r = send(
        &mut w,
        FuncId::MemLend32,
        Some(0),
        &[1],
        &[(p, 1), (p + PAGE_SIZE, 1)],
    );
    assert!(ok(&r), "lend {r:x?}");
    let lent = handle(&r);
    check(&w);
    for k in 0..2 {
        let rt = w.spmc.sps[0].rt.lock();
        assert_eq!(
            rt.space.as_ref().unwrap().translate(p + k * PAGE_SIZE),
            None
        );
    }
    assert!(ok(&retrieve(&mut w, 1, EndpointId(id(0)), lent)));
    check(&w);
    assert!(ok(&relinquish(&mut w, 1, lent)));
    check(&w);
    assert!(ok(&reclaim(&mut w, Some(0), lent)));
    check(&w);
    for k in 0..2 {
        let rt = w.spmc.sps[0].rt.lock();
        let (pa, perm) = rt
            .space
            .as_ref()
            .unwrap()
            .translate(p + k * PAGE_SIZE)
            .unwrap();
        assert_eq!(pa, p + k * PAGE_SIZE);
        assert!(perm.write && perm.non_secure);
    }
}

/// Issue 10, bug 2: an SP that lends a page it received by donation and reclaims it gets its
/// mapping back (it was logged as "owner mapping not found" and lost).
#[test]
fn donee_gets_its_page_back_after_lending_it() {
    let mut w = world();
    let p = NS_SHARE + 4 * PAGE_SIZE;
    let r = send(&mut w, FuncId::MemDonate32, None, &[0], &[(p, 1)]);
    assert!(ok(&r));
    assert!(ok(&retrieve(&mut w, 0, EndpointId(0), handle(&r))));
    let r = send(&mut w, FuncId::MemLend32, Some(0), &[2], &[(p, 1)]);
    assert!(ok(&r), "lend {r:x?}");
    check(&w);
    assert!(ok(&reclaim(&mut w, Some(0), handle(&r))));
    check(&w);
    let rt = w.spmc.sps[0].rt.lock();
    assert_eq!(
        rt.space.as_ref().unwrap().translate(p).map(|(pa, _)| pa),
        Some(p)
    );
}

/// Arm's ACS partitions share buffers of their own image (.bss): an SP may send pages of its
/// image region with the access it has to them now (what MEM_PERM_SET left at init), never
/// more, and gets exactly that access back at reclaim.
#[test]
fn an_sp_lends_pages_of_its_image_with_their_current_access() {
    use crate::memory::UserPerm;
    let mut w = world();
    let img = base(0);
    let page = img + 2 * PAGE_SIZE;
    // The image region is mapped RX at load; its .bss page became RW with MEM_PERM_SET.
    {
        let mut rt = w.spmc.sps[0].rt.lock();
        rt.space
            .as_mut()
            .unwrap()
            .set_user_perm(page, 1, UserPerm::RW)
            .unwrap();
    }
    // A code page (RX) cannot be lent writable...
    let r = send(
        &mut w,
        FuncId::MemLend32,
        Some(0),
        &[1],
        &[(img + PAGE_SIZE, 1)],
    );
    assert_eq!(
        r.w(0),
        FuncId::Error32.raw(),
        "RW lend of an RX page: {r:x?}"
    );
    // ...its .bss page can.
    let r = send(&mut w, FuncId::MemLend32, Some(0), &[1], &[(page, 1)]);
    assert!(ok(&r), "lend of an image .bss page: {r:x?}");
    let h = handle(&r);
    {
        let rt = w.spmc.sps[0].rt.lock();
        assert_eq!(
            rt.space.as_ref().unwrap().translate(page),
            None,
            "lent away"
        );
    }
    assert!(ok(&retrieve(&mut w, 1, EndpointId(id(0)), h)));
    {
        let rt = w.spmc.sps[1].rt.lock();
        let (pa, perm) = rt.space.as_ref().unwrap().translate(page).unwrap();
        assert_eq!(pa, page);
        assert!(perm.write && !perm.exec);
    }
    assert!(ok(&relinquish(&mut w, 1, h)));
    assert!(ok(&reclaim(&mut w, Some(0), h)));
    let rt = w.spmc.sps[0].rt.lock();
    let (_, perm) = rt.space.as_ref().unwrap().translate(page).unwrap();
    assert_eq!(perm, UserPerm::RW, "the owner's access is back as it was");
}

/// Issue 10: a core that stops inside the engine (a panic with the engine lock held) must
/// not hang every other core's memory call: they get FFA_ERROR(ABORTED) at once.
#[test]
fn a_core_retired_inside_the_engine_does_not_hang_the_others() {
    let mut w = world();
    core::mem::forget(w.spmc.mem.lock(6).unwrap());
    crate::sync::retire(6);
    let r = send(&mut w, FuncId::MemShare32, None, &[0], &[(NS_SHARE, 1)]);
    assert_eq!(r.w(0), FuncId::Error32.raw(), "{r:x?}");
    assert_eq!(r.w(2) as i32, -8, "ABORTED: {r:x?}");
    assert_eq!(reclaim(&mut w, None, MemHandle(1)).w(2) as i32, -8);
}

/// The SP set description's `memory-quota` (the table's `capabilities.memory_quota`)
/// overrides the default for that SP only.
#[test]
fn an_sps_memory_quota_comes_from_its_table_entry() {
    let mut w = world_with(|i, p| {
        if i == 0 {
            p.capabilities.memory_quota = spmc_table::MemoryQuota {
                transactions: Some(1),
                ..spmc_table::MemoryQuota::DEFAULT
            };
        }
    });
    let first = send(
        &mut w,
        FuncId::MemLend32,
        Some(0),
        &[1],
        &[(data_page(0, 0), 1)],
    );
    assert!(ok(&first), "{first:x?}");
    let second = send(
        &mut w,
        FuncId::MemLend32,
        Some(0),
        &[1],
        &[(data_page(0, 1), 1)],
    );
    assert_eq!(second.w(0), FuncId::Error32.raw());
    assert_eq!(
        second.w(2) as i32,
        -3,
        "NO_MEMORY beyond its own quota: {second:x?}"
    );
    // sp1 keeps the default of two.
    for k in 0..2 {
        let r = send(
            &mut w,
            FuncId::MemLend32,
            Some(1),
            &[2],
            &[(data_page(1, k), 1)],
        );
        assert!(ok(&r), "sp1's lend {k}: {r:x?}");
    }
}

#[derive(Clone, Debug)]
enum Op {
    Send {
        kind: u8,
        from: u8,
        to: Vec<u8>,
        ranges: Vec<(u8, u8)>,
    },
    Retrieve {
        pick: u8,
        who: u8,
    },
    Relinquish {
        pick: u8,
        who: u8,
    },
    Reclaim {
        pick: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3u8, 0..4u8, prop::collection::vec(0..3u8, 1..3),
              prop::collection::vec((0..8u8, 1..3u8), 1..4))
            .prop_map(|(kind, from, to, ranges)| Op::Send { kind, from, to, ranges }),
        4 => (any::<u8>(), 0..3u8).prop_map(|(pick, who)| Op::Retrieve { pick, who }),
        2 => (any::<u8>(), 0..3u8).prop_map(|(pick, who)| Op::Relinquish { pick, who }),
        2 => any::<u8>().prop_map(|pick| Op::Reclaim { pick }),
    ]
}

/// A handle the test saw: (handle, sender index or None for the NW).
type Sent = (MemHandle, Option<usize>);

fn run(ops: &[Op]) {
    let mut w = world();
    let mut sent: Vec<Sent> = Vec::new();
    for op in ops {
        match op {
            Op::Send {
                kind,
                from,
                to,
                ranges,
            } => {
                let fid = [FuncId::MemShare32, FuncId::MemLend32, FuncId::MemDonate32]
                    [usize::from(*kind)];
                // 3 = the normal world; SPs name their own data pages (and sometimes pages
                // they received, which they may own by donation).
                let from = (*from < 3).then_some(usize::from(*from));
                let mut to: Vec<usize> = to
                    .iter()
                    .map(|&t| usize::from(t))
                    .filter(|&t| Some(t) != from)
                    .collect();
                to.dedup();
                if to.is_empty() {
                    continue;
                }
                if fid == FuncId::MemDonate32 {
                    to.truncate(1);
                }
                let mut rs: Vec<(u64, u32)> = Vec::new();
                for &(off, n) in ranges {
                    let (off, n) = (u64::from(off), u32::from(n));
                    let at = match from {
                        None => NS_SHARE + 2 * off * PAGE_SIZE,
                        Some(i) if off < 6 => data_page(i, off),
                        // Someone else's memory (owned by donation, or refused).
                        Some(_) => NS_SHARE + (off - 6) * 3 * PAGE_SIZE,
                    };
                    rs.push((at, n));
                }
                let r = send(&mut w, fid, from, &to, &rs);
                if ok(&r) {
                    sent.push((handle(&r), from));
                }
            }
            Op::Retrieve { pick, who } => {
                let Some(&(h, from)) = sent.get(usize::from(*pick) % sent.len().max(1)) else {
                    continue;
                };
                retrieve(&mut w, usize::from(*who), EndpointId(from.map_or(0, id)), h);
            }
            Op::Relinquish { pick, who } => {
                let Some(&(h, _)) = sent.get(usize::from(*pick) % sent.len().max(1)) else {
                    continue;
                };
                relinquish(&mut w, usize::from(*who), h);
            }
            Op::Reclaim { pick } => {
                let Some(&(h, from)) = sent.get(usize::from(*pick) % sent.len().max(1)) else {
                    continue;
                };
                reclaim(&mut w, from, h);
            }
        }
        check(&w);
    }
    // Every live handle is still reclaimable by its owner once its holders relinquish.
    for &(h, from) in &sent {
        for i in 0..3 {
            relinquish(&mut w, i, h);
        }
        reclaim(&mut w, from, h);
        check(&w);
    }
    assert_eq!(
        w.spmc.mem.lock(0).unwrap().live(),
        0,
        "a handle its owner could not reclaim"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Random calls from the normal world and the SPs keep every SP's tables equal to what
    /// the transaction state says (owners, borrowers, at VA = PA, nothing else).
    #[test]
    fn random_calls_keep_tables_equal_to_the_state(ops in prop::collection::vec(op(), 1..30)) {
        run(&ops);
    }
}

/// Issue 10: the normal world's mailbox lock is poison-aware too. A core that stops while
/// holding it leaves the ABIs that need the normal world's RX/TX pair answering
/// FFA_ERROR(ABORTED) on every other core instead of hanging them; messages, which never take
/// that lock, still flow.
#[test]
fn a_core_retired_holding_the_normal_worlds_mailbox_does_not_hang_the_others() {
    let mut w = world();
    core::mem::forget(w.spmc.nw.lock(5).unwrap());
    crate::sync::retire(5);
    let aborted = |r: &Regs| r.w(0) == FuncId::Error32.raw() && r.w(2) as i32 == -8;
    let r = w.nw(call(FuncId::RxRelease, &[0]));
    assert!(aborted(&r), "FFA_RX_RELEASE: {r:x?}");
    let r = w.nw(call(FuncId::PartitionInfoGet, &[0, 0, 0, 0, 0]));
    assert!(aborted(&r), "FFA_PARTITION_INFO_GET: {r:x?}");
    let r = send(&mut w, FuncId::MemShare32, None, &[0], &[(NS_SHARE, 1)]);
    assert!(aborted(&r), "FFA_MEM_SHARE: {r:x?}");
    let q = req32(EndpointId(0), SP0, [1, 2, 3, 4, 5]);
    assert_eq!(w.nw(q), echo_of(&q).unwrap(), "direct messages still flow");
}

/// Restart of an aborted partition from its image (FF-A v1.3 lifecycle, `abort-action` =
/// restart; kernel/src/spmc/lifecycle.rs): what it held through the memory ABIs is dropped
/// consistently (the state checker after every step), its memory is reset, and callers get
/// ABORTED for the request it died in, BUSY while the restart waits, answers afterwards.
mod restart {
    use super::*;
    use crate::arch::esr;
    use crate::spmc::partition::State;
    use ffa_abi::error::ErrorCode;

    /// The request word that makes sp1 fault.
    const DIE: u32 = 0xDEAD;

    /// Echoes, but faults on a request whose w3 is [`DIE`]; with `die_at_boot`, its boots
    /// after the first fault too.
    fn mortal(die_at_boot: bool) -> Behaviour {
        let mut died = false;
        Box::new(move |r, _| {
            let request = r.w(0) == FuncId::MsgSendDirectReq32.raw();
            if (request && r.w(3) == DIE) || (died && die_at_boot && !request) {
                died = true;
                return Act::Fault {
                    ec: esr::EC_DABT_LOWER,
                    far: 0x10,
                };
            }
            Act::Svc(echo_of(r).unwrap_or_else(msg_wait))
        })
    }

    /// [`world`] with sp1 [`mortal`] and its `abort-action` restart (`restart`) or stop.
    fn world_of(restart: bool, die_at_boot: bool) -> World {
        world_with(restart, mortal(die_at_boot))
    }

    fn world_with(restart: bool, behaviour: Behaviour) -> World {
        let mut behaviour = Some(behaviour);
        super::world_from(
            |i, d| {
                if i == 1 {
                    d.behaviour = behaviour.take().unwrap();
                }
            },
            move |i, p| {
                if i == 1 && restart {
                    p.abort_action = spmc_table::AbortAction::Restart;
                }
            },
        )
    }

    fn ask(w: &mut World, word: u32) -> Regs {
        w.nw(req32(EndpointId(0), EndpointId(id(1)), [word, 2, 3, 4, 5]))
    }

    fn answered(r: &Regs) -> bool {
        r.w(0) == FuncId::MsgSendDirectResp32.raw() && r.w(3) == 7
    }

    /// [`world_of`] with sp1 restartable (dying on [`DIE`]) in which `sender` (`None`: the
    /// normal world) has sent the one page at `page` to the SP `receiver` with `fid`, and the
    /// receiver has retrieved it: the set-up of the cases where a restart meets memory held
    /// through the memory ABIs. Returns the world and the transaction's handle.
    fn world_with_retrieved(
        fid: FuncId,
        sender: Option<usize>,
        receiver: usize,
        page: u64,
    ) -> (World, MemHandle) {
        let mut w = world_of(true, false);
        let s = send(&mut w, fid, sender, &[receiver], &[(page, 1)]);
        assert!(ok(&s), "{s:x?}");
        let h = handle(&s);
        let owner = sender.map_or(0, id);
        assert!(ok(&retrieve(&mut w, receiver, EndpointId(owner), h)));
        (w, h)
    }

    #[test]
    fn restart_relinquishes_what_it_retrieved_and_reloads_its_image() {
        capture_console();
        // The normal world lends sp1 a page, which sp1 retrieves and keeps.
        let (mut w, h) = world_with_retrieved(FuncId::MemLend32, None, 1, NS_SHARE);
        let entries_before = w.seen(1).len();
        check(&w);
        // sp1's memory as a running instance leaves it: its image and data dirtied.
        assert!(w.env.mem.write(base(1), &[0xEE; 64]));
        assert!(w.env.mem.write(data_page(1, 3) + 8, &[0x77; 32]));
        let ttbr0 = w.spmc.sps[1].rt.lock().space.as_ref().unwrap().ttbr0();
        // It dies in a request: that request gets ABORTED, and it is restarted at once.
        assert_error(&ask(&mut w, DIE), ErrorCode::Aborted);
        assert_eq!(w.state(1), State::Waiting);
        assert!(
            w.seen(1).len() > entries_before + 1,
            "sp1 was entered again to boot"
        );
        check(&w);
        // The lent page was relinquished on its behalf: the lender can reclaim it.
        assert!(ok(&reclaim(&mut w, None, h)));
        check(&w);
        // Its memory is the image's again: the image rewritten, the data region zeroed, the
        // same translation table kept.
        assert_eq!(
            w.env.mem.bytes(base(1), IMAGE_LEN),
            image_bytes(1, IMAGE_LEN),
            "image reloaded"
        );
        assert!(w.env.mem.bytes(data_page(1, 3), 64).iter().all(|&b| b == 0));
        assert_eq!(
            w.spmc.sps[1].rt.lock().space.as_ref().unwrap().ttbr0(),
            ttbr0
        );
        assert!(answered(&ask(&mut w, 7)));
        assert!(!console_lines("SP sp1 (0x8002) restarted").is_empty());
    }

    #[test]
    fn restart_waits_while_a_borrower_holds_what_it_lent() {
        // sp1 lends a data page to sp2, which retrieves it.
        let (mut w, h) = world_with_retrieved(FuncId::MemLend32, Some(1), 2, data_page(1, 0));
        assert_error(&ask(&mut w, DIE), ErrorCode::Aborted);
        // The page is sp2's to use until it relinquishes: the restart, which rewrites sp1's
        // memory, waits, and callers get BUSY meanwhile, not ABORTED.
        assert_eq!(w.state(1), State::Aborted);
        assert_error(&ask(&mut w, 7), ErrorCode::Busy);
        assert_eq!(w.state(1), State::Aborted);
        check(&w);
        assert!(ok(&relinquish(&mut w, 2, h)));
        // The next message restarts it (the lent page is reclaimed on its behalf); that
        // message is not delivered, the one after is.
        assert_error(&ask(&mut w, 7), ErrorCode::Busy);
        assert_eq!(w.state(1), State::Waiting);
        check(&w);
        assert!(answered(&ask(&mut w, 7)));
        // The transaction is gone.
        assert!(!ok(&reclaim(&mut w, Some(1), h)));
    }

    #[test]
    fn an_sp_that_donated_memory_stays_stopped() {
        capture_console();
        let (mut w, _) = world_with_retrieved(FuncId::MemDonate32, Some(1), 2, data_page(1, 1));
        assert_error(&ask(&mut w, DIE), ErrorCode::Aborted);
        // A page of its data region is sp2's for good: reloading it from the image would
        // overwrite sp2's page, so it is not restarted.
        assert_error(&ask(&mut w, 7), ErrorCode::Aborted);
        assert_eq!(w.state(1), State::Aborted);
        check(&w);
        assert!(!console_lines("SP sp1 (0x8002) is not restarted: memory was donated").is_empty());
    }

    #[test]
    fn without_abort_action_restart_an_aborted_sp_stays_stopped() {
        let mut w = world_of(false, false);
        let entries = w.seen(1).len();
        assert_error(&ask(&mut w, DIE), ErrorCode::Aborted);
        assert_error(&ask(&mut w, 7), ErrorCode::Aborted);
        assert_eq!(w.state(1), State::Aborted);
        assert_eq!(w.seen(1).len(), entries + 1, "never entered again");
    }

    /// FFA_RUN is a caller too: while a restart waits (a borrower holds what sp1 lent) it gets
    /// BUSY, as messages do (lifecycle::refusal), not ABORTED, which tells Linux's driver the
    /// partition is gone for good.
    #[test]
    fn ffa_run_of_a_partition_whose_restart_waits_is_busy() {
        let (mut w, _) = world_with_retrieved(FuncId::MemLend32, Some(1), 2, data_page(1, 0));
        assert_error(&ask(&mut w, DIE), ErrorCode::Aborted);
        assert_error(&ask(&mut w, 7), ErrorCode::Busy);
        let run = w.nw(call(FuncId::Run32, &[0x8002_0000]));
        assert_error(&run, ErrorCode::Busy);
    }

    /// A restartable partition that aborts in a run the normal world gave it with FFA_RUN (a
    /// notification receiver after the SRI) is restarted at once, as after an abort in a
    /// direct request; it must not wait for someone to happen to send it a message.
    #[test]
    fn an_sp_that_aborts_in_an_ffa_run_is_restarted() {
        // sp1 faults the first time it is entered with FFA_RUN.
        let mut died = false;
        let mut w = world_with(
            true,
            Box::new(move |r, _| {
                if r.w(0) == FuncId::Run32.raw() && !died {
                    died = true;
                    return Act::Fault {
                        ec: esr::EC_DABT_LOWER,
                        far: 0x10,
                    };
                }
                Act::Svc(echo_of(r).unwrap_or_else(msg_wait))
            }),
        );
        assert_error(
            &w.nw(call(FuncId::Run32, &[0x8002_0000])),
            ErrorCode::Aborted,
        );
        // As after an abort in a direct request: restarted at once, waiting again.
        assert_eq!(w.state(1), State::Waiting, "not restarted");
        assert_eq!(
            w.nw(call(FuncId::Run32, &[0x8002_0000])).w(0),
            FuncId::MsgWait32.raw()
        );
    }

    #[test]
    fn an_sp_that_aborts_while_it_restarts_stays_stopped() {
        let mut w = world_of(true, true);
        assert_error(&ask(&mut w, DIE), ErrorCode::Aborted);
        let entries = w.seen(1).len();
        // Its restart's boot faulted: no second restart, ABORTED from now on.
        assert_eq!(w.state(1), State::Aborted);
        assert_error(&ask(&mut w, 7), ErrorCode::Aborted);
        assert_eq!(w.seen(1).len(), entries, "not entered again");
        check(&w);
    }
}

/// SP 0 has a non-secure memory region in its manifest (read-only, what a Trusted Services
/// smm-gateway's communication buffer is; manifest-tool accepts it inside the platform's NS
/// memory), and the normal world, which owns all NS memory, shares a page of it with SP 0 and
/// SP 1. SP 0's retrieve is DENIED, as Hafnium's `ffa_retrieve_check_transition` refuses a
/// retriever that has the pages mapped already (mapped over, the page would be unmapped by
/// the relinquish: SP 0 would lose its own region). Nothing changes on refusal: SP 0's
/// mapping stays as the manifest made it, SP 1 (which does not own the page) retrieves and
/// relinquishes, and the normal world reclaims. The refusal is per constituent: the page is
/// the second range of the transaction.
#[test]
fn retrieve_of_a_page_of_the_retrievers_own_region_is_denied_and_leaves_it_mapped() {
    let ns_page = NS_SHARE + 8 * PAGE_SIZE;
    let mut w = world_from(
        |i, d| {
            if i == 0 {
                let mut r = data_region(0, 0, 1, 0x9); // read | non-secure
                r.base = spmc_table::PhysAddr(ns_page);
                d.memory_regions.push(r);
            }
        },
        |_, _| {},
    );
    let own = |w: &World| {
        let rt = w.spmc.sps[0].rt.lock();
        rt.space.as_ref().unwrap().translate(ns_page)
    };
    let before = own(&w);
    let (pa, perm) = before.expect("the manifest's NS region is mapped at load");
    assert_eq!(pa, ns_page);
    assert!(!perm.write && perm.non_secure);

    let r = send(
        &mut w,
        FuncId::MemShare32,
        None,
        &[0, 1],
        &[(NS_SHARE, 2), (ns_page, 1)],
    );
    assert!(ok(&r), "share {r:x?}");
    let h = handle(&r);
    let r = retrieve(&mut w, 0, EndpointId(0), h);
    assert_eq!(r.w(0), FuncId::Error32.raw(), "retrieve {r:x?}");
    assert_eq!(r.w(2) as i32, ffa_abi::error::ErrorCode::Denied as i32);
    assert_eq!(
        own(&w),
        before,
        "SP 0's own region after the refused retrieve"
    );
    {
        let rt = w.spmc.sps[0].rt.lock();
        let space = rt.space.as_ref().unwrap();
        assert_eq!(
            space.translate(NS_SHARE),
            None,
            "a page of the refused retrieve"
        );
    }
    // SP 0 holds nothing to relinquish; SP 1 retrieves and relinquishes as usual.
    assert!(!ok(&relinquish(&mut w, 0, h)));
    assert!(ok(&retrieve(&mut w, 1, EndpointId(0), h)));
    assert!(ok(&relinquish(&mut w, 1, h)));
    assert!(ok(&reclaim(&mut w, None, h)));
    assert_eq!(own(&w), before, "SP 0's own region after the reclaim");
    check(&w);
}
