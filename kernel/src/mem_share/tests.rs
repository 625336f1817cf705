//! Host tests of the memory transaction engine: one unit test per rejection rule (each also
//! checks that the refused call changed nothing), the happy paths of every ABI, and the
//! property tests in `tests/props.rs`.

use super::fake::*;
use super::*;

mod convert;
mod fragments;
mod props;
mod quotas;
mod rules;

pub(super) type Engine = MemShare<8, 4, 8, 16>;

/// Quotas that never bind: the tests of other rules are not about them.
pub(super) const NO_QUOTA: Quota = Quota {
    transactions: 64,
    fragments: 8,
    donated: 64,
};

pub(super) const LIMITS: Limits = Limits {
    max_transactions: 8,
    max_receivers: 4,
    max_constituents: 8,
    nw_quota: NO_QUOTA,
    sp_quota: NO_QUOTA,
};

pub(super) fn p(data: DataAccess, instruction: InstructionAccess) -> Permissions {
    Permissions { data, instruction }
}
pub(super) fn rw() -> Permissions {
    p(DataAccess::ReadWrite, InstructionAccess::NotSpecified)
}
pub(super) fn ro() -> Permissions {
    p(DataAccess::ReadOnly, InstructionAccess::NotSpecified)
}
pub(super) fn unspecified() -> Permissions {
    p(DataAccess::NotSpecified, InstructionAccess::NotSpecified)
}

/// A well-formed descriptor: attributes follow the type rules (specified for share and
/// multi-borrower lend, not specified otherwise), total pages computed.
pub(super) fn req(
    kind: TransactionKind,
    sender: EndpointId,
    receivers: &[(EndpointId, Permissions)],
    ranges: &[PageRange],
) -> TransactionRequest<4, 8> {
    let attributes = if kind == TransactionKind::Share || receivers.len() > 1 {
        MemoryType::NORMAL_WB_IS
    } else {
        MemoryType::NotSpecified
    };
    TransactionRequest {
        kind,
        sender,
        attributes,
        flags: 0,
        tag: 7,
        receivers: receivers
            .iter()
            .map(|&(id, permissions)| ReceiverGrant::new(id, permissions))
            .collect(),
        total_pages: ranges.iter().map(|r| r.pages as u64).sum(),
        constituents: ranges.iter().copied().collect(),
    }
}

pub(super) fn retrieve_req(
    handle: MemHandle,
    sender: EndpointId,
    receiver: EndpointId,
    permissions: Permissions,
) -> RetrieveRequest<4> {
    RetrieveRequest {
        handle,
        sender,
        attributes: MemoryType::NotSpecified,
        flags: 0,
        tag: 7,
        receivers: [ReceiverGrant::new(receiver, permissions)]
            .into_iter()
            .collect(),
    }
}

pub(super) fn relinquish_req(handle: MemHandle, who: EndpointId) -> RelinquishRequest<4> {
    RelinquishRequest {
        handle,
        flags: 0,
        endpoints: [who].into_iter().collect(),
    }
}

pub(super) fn sp1_pages(first: u64, n: u32) -> PageRange {
    PageRange::new(sp_ram(1) + first * PAGE_SIZE, n)
}

/// Page-table accounting is consistent and matches what the engine holds.
pub(super) fn check_tables(e: &Engine, f: &Fake) {
    assert_eq!(
        f.pool_free + f.reserved + f.in_use,
        f.pool_total,
        "pool conservation"
    );
    assert_eq!(
        f.reserved,
        e.held_table_pages(),
        "reservations held == outstanding"
    );
    let ledger: u64 = f.ledger.values().flatten().sum();
    assert_eq!(
        ledger, f.in_use,
        "every used table page belongs to a mapping"
    );
    assert!(f.violations.is_empty(), "port contract: {:?}", f.violations);
    assert!(e.live_slots_consistent(), "live-slot mask == live slots");
    assert!(
        e.spans_consistent(),
        "each live transaction's span is its ranges'"
    );
}

#[test]
fn share_from_normal_world_maps_ns_memory_in_sp() {
    let mut f = Fake::new(64);
    let mut e = Engine::new(LIMITS);
    let r = PageRange::new(NS_RAM, 2);
    let h = e
        .send(
            &mut f,
            NW,
            &req(TransactionKind::Share, NW, &[(SP1, rw())], &[r]),
        )
        .unwrap()
        .handle;
    assert!(h.is_spmc_allocated());
    let resp = e
        .retrieve(&mut f, SP1, &retrieve_req(h, NW, SP1, unspecified()))
        .unwrap();
    assert!(resp.non_secure);
    assert_eq!(resp.attributes_bits(), 0b10_1111 | MemoryType::NS_BIT);
    assert_eq!(
        resp.permissions,
        p(DataAccess::ReadWrite, InstructionAccess::NotExecutable)
    );
    assert_eq!(resp.total_pages, 2);
    assert_eq!(
        resp.flags >> 3 & 0b11,
        1,
        "transaction type share in the response"
    );
    assert_eq!(f.access.get(&(SP1, NS_RAM)), Some(&Access::RW));
    assert!(f.attrs[&(SP1, NS_RAM)].non_secure);
    check_tables(&e, &f);
    e.relinquish(&mut f, SP1, &relinquish_req(h, SP1)).unwrap();
    assert_eq!(f.access.get(&(SP1, NS_RAM)), None);
    e.reclaim(&mut f, NW, h, 0).unwrap();
    assert_eq!(e.transactions().count(), 0);
    check_tables(&e, &f);
    assert_eq!(f.in_use, 0);
}

#[test]
fn lend_between_sps_unmaps_owner_until_reclaim() {
    let mut f = Fake::new(64);
    let mut e = Engine::new(LIMITS);
    let r = sp1_pages(2, 3);
    let h = e
        .send(
            &mut f,
            SP1,
            &req(TransactionKind::Lend, SP1, &[(SP2, ro())], &[r]),
        )
        .unwrap()
        .handle;
    assert_eq!(
        f.access.get(&(SP1, r.base.0)),
        None,
        "owner lost access at send"
    );
    check_tables(&e, &f);
    let resp = e
        .retrieve(&mut f, SP2, &retrieve_req(h, SP1, SP2, unspecified()))
        .unwrap();
    assert_eq!(resp.permissions.data, DataAccess::ReadOnly);
    assert!(!resp.non_secure);
    assert_eq!(f.access.get(&(SP2, r.base.0)), Some(&Access::RO));
    assert_eq!(e.reclaim(&mut f, SP1, h, 0), Err(Rule::StillBorrowed));
    e.relinquish(&mut f, SP2, &relinquish_req(h, SP2)).unwrap();
    e.reclaim(&mut f, SP1, h, 0).unwrap();
    assert_eq!(
        f.access.get(&(SP1, r.base.0)),
        Some(&Access::RW),
        "owner restored"
    );
    assert_eq!(f.access.get(&(SP2, r.base.0)), None);
    check_tables(&e, &f);
    assert_eq!(f.in_use, 0, "all page-table memory back");
    assert_eq!(f.pool_free, 64);
}

#[test]
fn donate_moves_ownership_for_good() {
    let mut f = Fake::new(64);
    let mut e = Engine::new(LIMITS);
    let r = sp1_pages(4, 2);
    let h = e
        .send(
            &mut f,
            SP1,
            &req(TransactionKind::Donate, SP1, &[(SP2, unspecified())], &[r]),
        )
        .unwrap()
        .handle;
    let resp = e
        .retrieve(&mut f, SP2, &retrieve_req(h, SP1, SP2, unspecified()))
        .unwrap();
    assert_eq!(
        resp.permissions.data,
        DataAccess::ReadWrite,
        "owner's RW passes on"
    );
    assert_eq!(
        e.transactions().count(),
        0,
        "a retrieved donation ends the transaction"
    );
    assert_eq!(e.reclaim(&mut f, SP1, h, 0), Err(Rule::UnknownHandle));
    assert_eq!(e.donated_ranges().len(), 1);
    assert_eq!(f.adopted_log.len(), 1, "the donee keeps its mapping");
    assert_eq!(f.adopted_log[0].0, SP2);
    assert_eq!(
        resp.mapped_constituents().collect::<Vec<_>>(),
        vec![(VirtAddr(r.base.0), r.pages)],
        "the donee has the pages at VA = PA"
    );
    // The old owner may not send it any more; the new owner may.
    let again = req(TransactionKind::Share, SP1, &[(SP3, ro())], &[r]);
    assert_eq!(e.send(&mut f, SP1, &again), Err(Rule::NotOwner));
    let h2 = e
        .send(
            &mut f,
            SP2,
            &req(TransactionKind::Lend, SP2, &[(SP3, rw())], &[r]),
        )
        .unwrap()
        .handle;
    assert_ne!(h, h2);
    assert_eq!(
        f.access.get(&(SP2, r.base.0)),
        None,
        "new owner lends it away"
    );
    e.reclaim(&mut f, SP2, h2, 0).unwrap();
    assert_eq!(f.access.get(&(SP2, r.base.0)), Some(&Access::RW));
    check_tables(&e, &f);
}

#[test]
fn donating_part_of_a_donated_range_splits_the_ownership_table() {
    let mut f = Fake::new(64);
    let mut e = Engine::new(LIMITS);
    let r = sp1_pages(4, 4);
    let d = req(TransactionKind::Donate, SP1, &[(SP2, unspecified())], &[r]);
    let h = e.send(&mut f, SP1, &d).unwrap().handle;
    e.retrieve(&mut f, SP2, &retrieve_req(h, SP1, SP2, unspecified()))
        .unwrap();
    let middle = sp1_pages(5, 2);
    let d2 = req(
        TransactionKind::Donate,
        SP2,
        &[(SP3, unspecified())],
        &[middle],
    );
    let h2 = e.send(&mut f, SP2, &d2).unwrap().handle;
    e.retrieve(&mut f, SP3, &retrieve_req(h2, SP2, SP3, unspecified()))
        .unwrap();
    let owners: Vec<_> = e
        .donated_ranges()
        .iter()
        .map(|d| (d.range, d.owner))
        .collect();
    assert_eq!(
        owners,
        vec![
            (sp1_pages(4, 1), SP2),
            (sp1_pages(7, 1), SP2),
            (middle, SP3)
        ]
    );
    // A range straddling two owners is nobody's.
    let straddle = req(
        TransactionKind::Share,
        SP2,
        &[(SP1, ro())],
        &[sp1_pages(4, 2)],
    );
    assert_eq!(e.send(&mut f, SP2, &straddle), Err(Rule::NotOwner));
    check_tables(&e, &f);
}

#[test]
fn zero_flags_wipe_memory_at_each_step() {
    let mut f = Fake::new(64);
    let mut e = Engine::new(LIMITS);
    let r = PageRange::new(NS_RAM, 1);
    let mut lend = req(TransactionKind::Lend, NW, &[(SP1, rw())], &[r]);
    lend.flags = request::FLAG_ZERO_MEMORY;
    let h = e.send(&mut f, NW, &lend).unwrap().handle;
    assert_eq!(f.content[&NS_RAM], 0, "zeroed at send");
    let mut rr = retrieve_req(h, NW, SP1, unspecified());
    rr.flags = request::FLAG_ZERO_MEMORY | request::FLAG_ZERO_AFTER_RELINQUISH;
    f.content.insert(NS_RAM, 0x55);
    let resp = e.retrieve(&mut f, SP1, &rr).unwrap();
    assert_eq!(f.content[&NS_RAM], 0, "zeroed at retrieve");
    assert_eq!(resp.flags & 0b101, 0b101);
    f.content.insert(NS_RAM, 0x55);
    e.relinquish(&mut f, SP1, &relinquish_req(h, SP1)).unwrap();
    assert_eq!(
        f.content[&NS_RAM], 0,
        "zeroed after relinquish as the retrieve asked"
    );
    f.content.insert(NS_RAM, 0x55);
    e.reclaim(&mut f, NW, h, request::FLAG_ZERO_MEMORY).unwrap();
    assert_eq!(f.content[&NS_RAM], 0, "zeroed at reclaim");
    assert_eq!(f.zero_log.len(), 4);
}

#[test]
fn device_memory_is_lent_with_device_attributes_and_never_executable() {
    let mut f = Fake::new(64);
    let mut e = Engine::new(LIMITS);
    let dev = PageRange::new(sp_dev(1), 1);
    let l = req(TransactionKind::Lend, SP1, &[(SP2, rw())], &[dev]);
    let h = e.send(&mut f, SP1, &l).unwrap().handle;
    assert_eq!(f.access.get(&(SP1, dev.base.0)), None, "lent away");
    let mut rr = retrieve_req(
        h,
        SP1,
        SP2,
        p(DataAccess::ReadWrite, InstructionAccess::Executable),
    );
    assert_eq!(
        e.retrieve(&mut f, SP2, &rr),
        Err(Rule::RetrievePermissionsExceedGrant)
    );
    rr.receivers[0].permissions = rw();
    rr.attributes = MemoryType::Device(types::DeviceAttr::NGnRE);
    let resp = e.retrieve(&mut f, SP2, &rr).unwrap();
    assert_eq!(
        resp.attributes,
        MemoryType::Device(types::DeviceAttr::NGnRE)
    );
    assert_eq!(f.attrs[&(SP2, dev.base.0)].memory, resp.attributes);
}

/// Device memory is lent to one borrower or not at all (Hafnium's rule; Arm's ACS expects a
/// shared device region refused): share, donate and a lend to two are DENIED.
#[test]
fn device_memory_is_never_shared_donated_or_lent_to_several() {
    let dev = PageRange::new(sp_dev(1), 1);
    let mut s = req(TransactionKind::Share, SP1, &[(SP2, rw())], &[dev]);
    s.attributes = MemoryType::Device(types::DeviceAttr::NGnRE);
    let mut two = req(
        TransactionKind::Lend,
        SP1,
        &[(SP2, rw()), (SP3, rw())],
        &[dev],
    );
    two.attributes = MemoryType::Device(types::DeviceAttr::NGnRE);
    let d = req(
        TransactionKind::Donate,
        SP1,
        &[(SP2, unspecified())],
        &[dev],
    );
    for r in [s, two, d] {
        let mut f = Fake::new(64);
        let mut e = Engine::new(LIMITS);
        assert_eq!(
            e.send(&mut f, SP1, &r),
            Err(Rule::DeviceMemoryNotLendable),
            "{:?}",
            r.kind
        );
        assert_eq!(f.access.get(&(SP1, dev.base.0)), Some(&Access::RW));
    }
    assert_eq!(Rule::DeviceMemoryNotLendable.error(), FfaError::Denied);
}

#[test]
fn lend_to_several_borrowers_needs_all_to_relinquish() {
    let mut f = Fake::new(64);
    let mut e = Engine::new(LIMITS);
    let r = PageRange::new(NS_RAM + 4 * PAGE_SIZE, 2);
    let l = req(
        TransactionKind::Lend,
        NW,
        &[(SP1, rw()), (SP2, ro()), (VM2, rw())],
        &[r],
    );
    let h = e.send(&mut f, NW, &l).unwrap().handle;
    e.retrieve(&mut f, SP1, &retrieve_req(h, NW, SP1, unspecified()))
        .unwrap();
    e.retrieve(&mut f, SP2, &retrieve_req(h, NW, SP2, unspecified()))
        .unwrap();
    e.relinquish(&mut f, SP1, &relinquish_req(h, SP1)).unwrap();
    assert_eq!(e.reclaim(&mut f, NW, h, 0), Err(Rule::StillBorrowed));
    e.relinquish(&mut f, SP2, &relinquish_req(h, SP2)).unwrap();
    // VM2 is the hypervisor's business: it does not block the reclaim.
    e.reclaim(&mut f, NW, h, 0).unwrap();
    check_tables(&e, &f);
}

#[test]
fn fragmented_send_uses_the_handle_given_at_the_first_fragment() {
    let mut f = Fake::new(64);
    let mut e = Engine::new(LIMITS);
    let h = e.reserve_handle();
    let later = e.reserve_handle();
    assert_ne!(h, later);
    let s = req(
        TransactionKind::Share,
        NW,
        &[(SP1, rw())],
        &[PageRange::new(NS_RAM, 1)],
    );
    assert_eq!(
        e.send_with_handle(&mut f, NW, &s, MemHandle(1 << 40)),
        Err(Rule::UnknownFragmentHandle)
    );
    assert_eq!(e.send_with_handle(&mut f, NW, &s, h).unwrap().handle, h);
    let s2 = req(
        TransactionKind::Share,
        NW,
        &[(SP1, rw())],
        &[PageRange::new(NS_RAM + PAGE_SIZE, 1)],
    );
    assert_eq!(
        e.send_with_handle(&mut f, NW, &s2, h),
        Err(Rule::UnknownFragmentHandle),
        "live handle"
    );
    let next = e.send(&mut f, NW, &s2).unwrap().handle;
    assert!(next != h && next != later);
}

#[test]
fn handles_are_spmc_allocated_and_never_reused() {
    let mut e = Engine::new(LIMITS);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..1000 {
        let h = e.reserve_handle();
        assert!(h.is_spmc_allocated() && h != MemHandle::INVALID);
        assert!(seen.insert(h));
    }
}

#[test]
fn permission_and_attribute_encodings_round_trip_and_reject_reserved() {
    for bits in 0..=0xFFu8 {
        match Permissions::from_bits(bits) {
            Some(p) => assert_eq!(p.to_bits(), bits),
            None => assert!(bits & 0b11 == 0b11 || bits >> 2 & 0b11 == 0b11 || bits > 0xF),
        }
    }
    let mut valid = 0;
    for bits in 0..=0x7Fu16 {
        if let Some(t) = MemoryType::from_bits(bits) {
            // Canonical re-encoding decodes to the same type.
            assert_eq!(MemoryType::from_bits(t.to_bits()), Some(t));
            valid += 1;
        }
    }
    // 16 "not specified" (bits [3:0] ignored) + 16 device (shareability ignored) + 2
    // cacheabilities x 3 shareabilities; nothing with bit 6 or type 0b11.
    assert_eq!(valid, 38);
    assert_eq!(
        MemoryType::from_bits(0x0E),
        Some(MemoryType::NotSpecified),
        "ACS lend"
    );
    assert_eq!(MemoryType::from_bits(0x6F), None, "NS bit from a sender");
}

/// The kernel keeps the engine in a `static` behind a lock: `new` must be `const`.
static STATIC_ENGINE: spin::Mutex<Engine> = spin::Mutex::new(Engine::new(LIMITS));

#[test]
fn engine_lives_in_a_static() {
    let mut f = Fake::new(8);
    let mut e = STATIC_ENGINE.lock();
    let s = req(
        TransactionKind::Share,
        NW,
        &[(SP1, rw())],
        &[PageRange::new(NS_RAM, 1)],
    );
    let h = e.send(&mut f, NW, &s).unwrap().handle;
    e.reclaim(&mut f, NW, h, 0).unwrap();
    assert_eq!(e.limits(), LIMITS);
}
