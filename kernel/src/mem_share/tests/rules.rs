//! One test per rejection rule: the call is refused with that rule (and so with the FF-A
//! error [`Rule::error`] gives), and nothing changed, neither in the engine nor in the fake
//! page tables, pool or memory contents.

use super::*;
use crate::mem_share::request::{
    FLAG_ALIGNMENT_HINT_VALID, FLAG_TIME_SLICING, FLAG_ZERO_AFTER_RELINQUISH, FLAG_ZERO_MEMORY,
};
use crate::mem_share::types::DeviceAttr;

fn rejects<T: core::fmt::Debug>(
    e: &mut Engine,
    f: &mut Fake,
    rule: Rule,
    op: impl FnOnce(&mut Engine, &mut Fake) -> Result<T, Rule>,
) {
    let engine_before = format!("{e:?}");
    let fake_before = f.clone();
    let got = op(e, f);
    assert_eq!(got.err(), Some(rule));
    assert_eq!(
        format!("{e:?}"),
        engine_before,
        "engine changed by a rejected call"
    );
    assert!(*f == fake_before, "environment changed by a rejected call");
}

fn setup() -> (Engine, Fake) {
    (Engine::new(LIMITS), Fake::new(64))
}

fn send_rejects(rule: Rule, caller: EndpointId, r: TransactionRequest<4, 8>) {
    let (mut e, mut f) = setup();
    rejects(&mut e, &mut f, rule, |e, f| e.send(f, caller, &r));
}

fn lend(to: EndpointId, perms: Permissions, range: PageRange) -> TransactionRequest<4, 8> {
    req(TransactionKind::Lend, SP1, &[(to, perms)], &[range])
}

#[test]
fn error_codes_follow_the_spec_table() {
    assert_eq!(Rule::NotOwner.error().code(), -6);
    assert_eq!(Rule::TransactionsExhausted.error().code(), -3);
    assert_eq!(Rule::UnknownHandle.error().code(), -2);
}

#[test]
fn send_sender_not_caller() {
    send_rejects(Rule::SenderNotCaller, SP2, lend(SP3, rw(), sp1_pages(0, 1)));
}

#[test]
fn send_flags() {
    let mut r = lend(SP2, rw(), sp1_pages(1, 1));
    r.flags = FLAG_TIME_SLICING;
    send_rejects(Rule::InvalidFlags, SP1, r.clone());
    r.flags = 1 << 3; // a transaction type in a send
    send_rejects(Rule::InvalidFlags, SP1, r);
    let mut s = req(
        TransactionKind::Share,
        SP1,
        &[(SP2, rw())],
        &[sp1_pages(1, 1)],
    );
    s.flags = FLAG_ZERO_MEMORY; // the owner keeps shared memory: no wiping it
    send_rejects(Rule::InvalidFlags, SP1, s);
}

#[test]
fn send_zero_needs_write_access() {
    // Hafnium and the spec: the relayer may not wipe what the owner can only read.
    let mut l = lend(SP2, ro(), sp1_pages(12, 1));
    l.flags = FLAG_ZERO_MEMORY;
    send_rejects(Rule::ZeroNotAllowed, SP1, l);
    assert_eq!(Rule::RetrieveSenderMismatch.error(), FfaError::Denied);
}

#[test]
fn send_receiver_count_rules() {
    send_rejects(
        Rule::NoReceivers,
        SP1,
        req(TransactionKind::Lend, SP1, &[], &[sp1_pages(1, 1)]),
    );
    let mut e = Engine::new(Limits {
        max_receivers: 1,
        ..LIMITS
    });
    let mut f = Fake::new(64);
    let two = req(
        TransactionKind::Share,
        SP1,
        &[(SP2, rw()), (SP3, rw())],
        &[sp1_pages(1, 1)],
    );
    rejects(&mut e, &mut f, Rule::TooManyReceivers, |e, f| {
        e.send(f, SP1, &two)
    });
    let donate2 = req(
        TransactionKind::Donate,
        SP1,
        &[(SP2, unspecified()), (SP3, unspecified())],
        &[sp1_pages(1, 1)],
    );
    let mut d = donate2.clone();
    d.attributes = MemoryType::NotSpecified;
    send_rejects(Rule::DonateNeedsOneReceiver, SP1, d);
}

#[test]
fn send_duplicate_self_and_unknown_receivers() {
    let dup = req(
        TransactionKind::Share,
        SP1,
        &[(SP2, rw()), (SP2, ro())],
        &[sp1_pages(1, 1)],
    );
    send_rejects(Rule::DuplicateOrSelfReceiver, SP1, dup);
    send_rejects(
        Rule::DuplicateOrSelfReceiver,
        SP1,
        lend(SP1, rw(), sp1_pages(1, 1)),
    );
    send_rejects(
        Rule::UnknownReceiver,
        SP1,
        lend(EndpointId(0x8044), rw(), sp1_pages(1, 1)),
    );
}

#[test]
fn send_world_rules() {
    send_rejects(Rule::SpToNormalWorld, SP1, lend(NW, rw(), sp1_pages(1, 1)));
    let nw_only = req(
        TransactionKind::Share,
        NW,
        &[(VM2, rw())],
        &[PageRange::new(NS_RAM, 1)],
    );
    send_rejects(Rule::NoSecureReceiver, NW, nw_only);
}

#[test]
fn send_permission_rules() {
    let x = p(DataAccess::ReadWrite, InstructionAccess::Executable);
    send_rejects(
        Rule::InvalidPermissions,
        SP1,
        req(TransactionKind::Share, SP1, &[(SP2, x)], &[sp1_pages(0, 1)]),
    );
    send_rejects(
        Rule::InvalidPermissions,
        SP1,
        req(
            TransactionKind::Share,
            SP1,
            &[(SP2, unspecified())],
            &[sp1_pages(1, 1)],
        ),
    );
    let nx = p(DataAccess::ReadWrite, InstructionAccess::NotExecutable);
    send_rejects(
        Rule::InvalidPermissions,
        SP1,
        req(
            TransactionKind::Lend,
            SP1,
            &[(SP2, nx), (SP3, rw())],
            &[sp1_pages(1, 1)],
        ),
    );
    // ACS lend_input_error_checks1: X named by a lender to a single borrower.
    send_rejects(Rule::InvalidPermissions, SP1, lend(SP2, x, sp1_pages(0, 1)));
    let dx = p(DataAccess::NotSpecified, InstructionAccess::Executable);
    send_rejects(
        Rule::InvalidPermissions,
        SP1,
        req(
            TransactionKind::Donate,
            SP1,
            &[(SP2, dx)],
            &[sp1_pages(0, 1)],
        ),
    );
    send_rejects(
        Rule::InvalidPermissions,
        SP1,
        req(
            TransactionKind::Donate,
            SP1,
            &[(SP2, rw())],
            &[sp1_pages(1, 1)],
        ),
    );
    send_rejects(
        Rule::InvalidPermissions,
        SP1,
        lend(SP2, unspecified(), sp1_pages(1, 1)),
    );
}

#[test]
fn send_memory_type_rules() {
    let mut s = req(
        TransactionKind::Share,
        SP1,
        &[(SP2, rw())],
        &[sp1_pages(1, 1)],
    );
    s.attributes = MemoryType::NotSpecified;
    send_rejects(Rule::InvalidMemoryType, SP1, s);
    let mut l = lend(SP2, rw(), sp1_pages(1, 1));
    l.attributes = MemoryType::NORMAL_WB_IS;
    send_rejects(Rule::InvalidMemoryType, SP1, l);
}

#[test]
fn send_constituent_rules() {
    let mut none = lend(SP2, rw(), sp1_pages(1, 1));
    none.constituents.clear();
    none.total_pages = 0;
    send_rejects(Rule::EmptyRegion, SP1, none);
    send_rejects(Rule::EmptyRegion, SP1, lend(SP2, rw(), sp1_pages(1, 0)));
    send_rejects(
        Rule::MisalignedConstituent,
        SP1,
        lend(SP2, rw(), PageRange::new(sp_ram(1) + 0x800, 1)),
    );
    send_rejects(
        Rule::MisalignedConstituent,
        SP1,
        lend(SP2, rw(), PageRange::new(!0xFFF, 2)),
    );
    send_rejects(
        Rule::OverlappingConstituents,
        SP1,
        req(
            TransactionKind::Lend,
            SP1,
            &[(SP2, rw())],
            &[sp1_pages(1, 2), sp1_pages(2, 1)],
        ),
    );
    let mut count = lend(SP2, rw(), sp1_pages(1, 2));
    count.total_pages = 3;
    send_rejects(Rule::PageCountMismatch, SP1, count);
    let mut e = Engine::new(Limits {
        max_constituents: 1,
        ..LIMITS
    });
    let mut f = Fake::new(64);
    let two = req(
        TransactionKind::Lend,
        SP1,
        &[(SP2, rw())],
        &[sp1_pages(1, 1), sp1_pages(3, 1)],
    );
    rejects(&mut e, &mut f, Rule::TooManyConstituents, |e, f| {
        e.send(f, SP1, &two)
    });
}

#[test]
fn send_policy() {
    let (mut e, mut f) = setup();
    f.denied.insert((SP1, SP3));
    let r = req(
        TransactionKind::Share,
        SP1,
        &[(SP2, rw()), (SP3, rw())],
        &[sp1_pages(1, 1)],
    );
    rejects(&mut e, &mut f, Rule::PolicyDenied, |e, f| {
        e.send(f, SP1, &r)
    });
}

#[test]
fn send_ownership() {
    // Another SP's memory.
    send_rejects(
        Rule::NotOwner,
        SP1,
        lend(SP2, rw(), PageRange::new(sp_ram(2), 1)),
    );
    // Secure memory named by the normal world.
    let nw = req(
        TransactionKind::Share,
        NW,
        &[(SP1, rw())],
        &[PageRange::new(sp_ram(2), 1)],
    );
    send_rejects(Rule::NotOwner, NW, nw);
    // Non-secure memory named by an SP.
    send_rejects(
        Rule::NotOwner,
        SP1,
        lend(SP2, rw(), PageRange::new(NS_RAM, 1)),
    );
    // Constituents with different access (RW pages and RO pages).
    send_rejects(
        Rule::NotOwner,
        SP1,
        req(
            TransactionKind::Lend,
            SP1,
            &[(SP2, ro())],
            &[sp1_pages(1, 1), sp1_pages(12, 1)],
        ),
    );
    // A range straddling two regions.
    send_rejects(Rule::NotOwner, SP1, lend(SP2, ro(), sp1_pages(11, 2)));
}

#[test]
fn send_page_already_in_a_transaction() {
    let (mut e, mut f) = setup();
    e.send(
        &mut f,
        SP1,
        &req(
            TransactionKind::Share,
            SP1,
            &[(SP2, ro())],
            &[sp1_pages(1, 2)],
        ),
    )
    .unwrap();
    let again = lend(SP3, rw(), sp1_pages(2, 1));
    rejects(&mut e, &mut f, Rule::AlreadyInTransaction, |e, f| {
        e.send(f, SP1, &again)
    });
}

#[test]
fn send_more_access_than_owned() {
    send_rejects(
        Rule::AccessExceedsOwner,
        SP1,
        lend(SP2, rw(), sp1_pages(12, 1)),
    );
}

#[test]
fn executable_only_for_a_sole_borrower_of_executable_normal_memory() {
    let x = p(DataAccess::ReadOnly, InstructionAccess::Executable);
    // Page 0 of SP1 is RWX, page 1 is RW.
    let (mut e, mut f) = setup();
    let h = e
        .send(&mut f, SP1, &lend(SP2, ro(), sp1_pages(1, 1)))
        .unwrap()
        .handle;
    let r = retrieve_req(h, SP1, SP2, x);
    rejects(
        &mut e,
        &mut f,
        Rule::RetrievePermissionsExceedGrant,
        |e, f| e.retrieve(f, SP2, &r),
    );
    let h0 = e
        .send(&mut f, SP1, &lend(SP2, ro(), sp1_pages(0, 1)))
        .unwrap()
        .handle;
    let resp = e
        .retrieve(&mut f, SP2, &retrieve_req(h0, SP1, SP2, x))
        .unwrap();
    assert_eq!(resp.permissions.instruction, InstructionAccess::Executable);
    assert_eq!(
        f.access[&(SP2, sp1_pages(0, 1).base.0)],
        Access {
            write: false,
            exec: true
        }
    );

    // Two borrowers: nobody executes.
    let (mut e, mut f) = setup();
    let two = req(
        TransactionKind::Lend,
        SP1,
        &[(SP2, ro()), (SP3, ro())],
        &[sp1_pages(0, 1)],
    );
    let h = e.send(&mut f, SP1, &two).unwrap().handle;
    let r = retrieve_req(h, SP1, SP2, x);
    rejects(
        &mut e,
        &mut f,
        Rule::RetrievePermissionsExceedGrant,
        |e, f| e.retrieve(f, SP2, &r),
    );
    // Device memory: never.
    let (mut e, mut f) = setup();
    let h = e
        .send(&mut f, SP1, &lend(SP2, rw(), PageRange::new(sp_dev(1), 1)))
        .unwrap()
        .handle;
    let r = retrieve_req(h, SP1, SP2, x);
    rejects(
        &mut e,
        &mut f,
        Rule::RetrievePermissionsExceedGrant,
        |e, f| e.retrieve(f, SP2, &r),
    );
}

#[test]
fn send_memory_type_must_fit_memory() {
    let s = req(
        TransactionKind::Share,
        SP1,
        &[(SP2, rw())],
        &[PageRange::new(sp_dev(1), 1)],
    );
    send_rejects(Rule::MemoryTypeMismatch, SP1, s);
    let mut s = req(
        TransactionKind::Share,
        SP1,
        &[(SP2, rw())],
        &[sp1_pages(1, 1)],
    );
    s.attributes = MemoryType::Device(DeviceAttr::NGnRnE);
    send_rejects(Rule::MemoryTypeMismatch, SP1, s);
}

#[test]
fn send_limits_give_no_memory() {
    let mut e = Engine::new(Limits {
        max_transactions: 1,
        ..LIMITS
    });
    let mut f = Fake::new(64);
    e.send(&mut f, SP1, &lend(SP2, rw(), sp1_pages(1, 1)))
        .unwrap();
    let second = lend(SP2, rw(), sp1_pages(2, 1));
    rejects(&mut e, &mut f, Rule::TransactionsExhausted, |e, f| {
        e.send(f, SP1, &second)
    });
    assert_eq!(Rule::TransactionsExhausted.error(), FfaError::NoMemory);

    let mut e = Engine::new(LIMITS);
    let mut f = Fake::new(0);
    let l = lend(SP2, rw(), sp1_pages(1, 1));
    rejects(&mut e, &mut f, Rule::PageTableMemoryExhausted, |e, f| {
        e.send(f, SP1, &l)
    });
}

/// A live lend SP1 -> SP2 of page 1 (RW) and the engine/fake around it.
fn lent() -> (Engine, Fake, MemHandle) {
    let (mut e, mut f) = setup();
    let h = e
        .send(&mut f, SP1, &lend(SP2, rw(), sp1_pages(1, 1)))
        .unwrap()
        .handle;
    (e, f, h)
}

#[test]
fn retrieve_rules() {
    let (mut e, mut f, h) = lent();
    let ok = retrieve_req(h, SP1, SP2, unspecified());
    let nw = retrieve_req(h, SP1, NW, unspecified());
    rejects(&mut e, &mut f, Rule::RetrieverNotSp, |e, f| {
        e.retrieve(f, NW, &nw)
    });
    let mut r = ok.clone();
    r.handle = MemHandle(h.0 + 100);
    rejects(&mut e, &mut f, Rule::UnknownHandle, |e, f| {
        e.retrieve(f, SP2, &r)
    });
    for bad in [
        FLAG_TIME_SLICING,
        FLAG_ALIGNMENT_HINT_VALID,
        1 << 6,
        1 << 12,
    ] {
        let mut r = ok.clone();
        r.flags = bad;
        rejects(&mut e, &mut f, Rule::InvalidFlags, |e, f| {
            e.retrieve(f, SP2, &r)
        });
    }
    let mut r = ok.clone();
    r.flags = TransactionKind::Share.type_field() << 3;
    rejects(&mut e, &mut f, Rule::RetrieveTypeMismatch, |e, f| {
        e.retrieve(f, SP2, &r)
    });
    let mut r = ok.clone();
    r.sender = SP3;
    rejects(&mut e, &mut f, Rule::RetrieveSenderMismatch, |e, f| {
        e.retrieve(f, SP2, &r)
    });
    let mut r = ok.clone();
    r.tag = 8;
    rejects(&mut e, &mut f, Rule::RetrieveTagMismatch, |e, f| {
        e.retrieve(f, SP2, &r)
    });
    let r3 = retrieve_req(h, SP1, SP3, unspecified());
    rejects(&mut e, &mut f, Rule::NotAReceiver, |e, f| {
        e.retrieve(f, SP3, &r3)
    });
    let mut r = ok.clone();
    r.receivers[0].id = SP3;
    rejects(&mut e, &mut f, Rule::RetrieveReceiversMismatch, |e, f| {
        e.retrieve(f, SP2, &r)
    });
    let mut r = ok.clone();
    r.receivers.push(ReceiverGrant::new(SP3, rw())).unwrap();
    rejects(&mut e, &mut f, Rule::RetrieveReceiversMismatch, |e, f| {
        e.retrieve(f, SP2, &r)
    });
    let mut r = ok.clone();
    r.receivers[0].permissions = p(DataAccess::ReadWrite, InstructionAccess::Executable);
    rejects(
        &mut e,
        &mut f,
        Rule::RetrievePermissionsExceedGrant,
        |e, f| e.retrieve(f, SP2, &r),
    );
    let mut r = ok.clone();
    r.receivers[0].impdef = [1, 2];
    rejects(&mut e, &mut f, Rule::ImpdefMismatch, |e, f| {
        e.retrieve(f, SP2, &r)
    });
    assert_eq!(Rule::ImpdefMismatch.error(), FfaError::InvalidParameters);
    let mut r = ok.clone();
    r.flags = FLAG_ZERO_MEMORY; // the lender did not allow zeroing
    rejects(&mut e, &mut f, Rule::ZeroNotAllowed, |e, f| {
        e.retrieve(f, SP2, &r)
    });
    e.retrieve(&mut f, SP2, &ok).unwrap();
    rejects(&mut e, &mut f, Rule::AlreadyRetrieved, |e, f| {
        e.retrieve(f, SP2, &ok)
    });
    check_tables(&e, &f);
}

#[test]
fn retrieve_of_share_rules() {
    let (mut e, mut f) = setup();
    let s = req(
        TransactionKind::Share,
        SP1,
        &[(SP2, ro())],
        &[sp1_pages(1, 1)],
    );
    let h = e.send(&mut f, SP1, &s).unwrap().handle;
    let mut r = retrieve_req(h, SP1, SP2, rw());
    rejects(
        &mut e,
        &mut f,
        Rule::RetrievePermissionsExceedGrant,
        |e, f| e.retrieve(f, SP2, &r),
    );
    r.receivers[0].permissions = ro();
    r.flags = FLAG_ZERO_AFTER_RELINQUISH;
    rejects(&mut e, &mut f, Rule::InvalidFlags, |e, f| {
        e.retrieve(f, SP2, &r)
    });
    r.flags = 0;
    // Shared inner-shareable: outer is less restrictive.
    r.attributes = MemoryType::Normal {
        cacheability: types::Cacheability::WriteBack,
        shareability: types::Shareability::Outer,
    };
    rejects(&mut e, &mut f, Rule::RetrieveAttributesMismatch, |e, f| {
        e.retrieve(f, SP2, &r)
    });
}

/// SP 2 has a read-only region in non-secure memory (a Trusted Services smm-gateway's
/// communication buffer), which the normal world owns too and shares with SP 2 and SP 3, as
/// the second range of the transaction. SP 2 already maps the page: its retrieve is DENIED
/// (Hafnium's `ffa_retrieve_check_transition`); SP 3's goes through.
#[test]
fn retrieve_of_a_page_of_the_retrievers_own_region() {
    let (mut e, mut f) = setup();
    let own = PageRange::new(NS_RAM + 4 * PAGE_SIZE, 1);
    let info = RegionInfo {
        access: Access::RO,
        kind: MemKind::Normal,
        security: Security::NonSecure,
    };
    f.regions.push((SP2, own, info));
    f.access.insert((SP2, own.base.0), Access::RO);
    let s = req(
        TransactionKind::Share,
        NW,
        &[(SP2, rw()), (SP3, rw())],
        &[PageRange::new(NS_RAM, 2), own],
    );
    let h = e.send(&mut f, NW, &s).unwrap().handle;
    rejects(&mut e, &mut f, Rule::RetrieverOwnsMemory, |e, f| {
        e.retrieve(f, SP2, &retrieve_req(h, NW, SP2, rw()))
    });
    assert_eq!(Rule::RetrieverOwnsMemory.error(), FfaError::Denied);
    e.retrieve(&mut f, SP3, &retrieve_req(h, NW, SP3, rw()))
        .unwrap();
    assert_eq!(f.access.get(&(SP2, own.base.0)), Some(&Access::RO));
    check_tables(&e, &f);
}

#[test]
fn retrieve_attributes_may_only_be_more_restrictive() {
    use types::{Cacheability::*, DeviceAttr::*, Shareability::*};
    let normal = |cacheability, shareability| MemoryType::Normal {
        cacheability,
        shareability,
    };
    let dev = MemoryType::Device;
    // (sent, asked, accepted): the ACS cases of lend/share_cache_attr, *_device_attr and
    // *_shareability_attr, plus the Device-below-Normal step.
    let cases = [
        (normal(WriteBack, Outer), normal(NonCacheable, Outer), true),
        (normal(NonCacheable, Outer), normal(WriteBack, Outer), false),
        (normal(WriteBack, Outer), normal(WriteBack, Inner), true),
        (
            normal(WriteBack, NonShareable),
            normal(WriteBack, Outer),
            false,
        ),
        (
            normal(WriteBack, NonShareable),
            normal(WriteBack, Inner),
            false,
        ),
        (normal(WriteBack, Inner), dev(NGnRnE), true),
        (dev(GRE), dev(NGRE), true),
        (dev(GRE), dev(NGnRnE), true),
        (dev(NGRE), dev(NGnRE), true),
        (dev(NGnRnE), dev(NGnRE), false),
        (dev(NGnRE), dev(GRE), false),
        (dev(GRE), normal(NonCacheable, NonShareable), false),
    ];
    for (sent, asked, accepted) in cases {
        // Device memory is only ever lent to one borrower, with the type left to the
        // borrower: a sent device type cannot reach a retrieve, so the order is checked on
        // its own.
        if matches!(sent, MemoryType::Device(_)) {
            assert_eq!(
                crate::mem_share::transaction::no_less_restrictive(asked, sent),
                accepted,
                "{sent:?} -> {asked:?}"
            );
            continue;
        }
        let (mut e, mut f) = setup();
        let range = sp1_pages(1, 1);
        let mut s = req(TransactionKind::Share, SP1, &[(SP2, ro())], &[range]);
        s.attributes = sent;
        let h = e.send(&mut f, SP1, &s).unwrap().handle;
        let mut r = retrieve_req(h, SP1, SP2, ro());
        r.attributes = asked;
        if accepted {
            let resp = e.retrieve(&mut f, SP2, &r).unwrap();
            assert_eq!(resp.attributes, asked, "{sent:?} -> {asked:?}");
            assert_eq!(f.attrs[&(SP2, range.base.0)].memory, asked);
        } else {
            rejects(&mut e, &mut f, Rule::RetrieveAttributesMismatch, |e, f| {
                e.retrieve(f, SP2, &r)
            });
        }
    }
    assert_eq!(Rule::RetrieveAttributesMismatch.error(), FfaError::Denied);
}

#[test]
fn zero_after_relinquish_waits_for_the_last_borrower() {
    // ACS relinquish_state_machine_4: with several borrowers the relayer wipes the pages
    // once every borrower has unmapped them, if any of them asked.
    let (mut e, mut f) = setup();
    let page = sp1_pages(1, 1);
    let l = req(
        TransactionKind::Lend,
        SP1,
        &[(SP2, rw()), (SP3, rw())],
        &[page],
    );
    let h = e.send(&mut f, SP1, &l).unwrap().handle;
    e.retrieve(&mut f, SP2, &retrieve_req(h, SP1, SP2, unspecified()))
        .unwrap();
    e.retrieve(&mut f, SP3, &retrieve_req(h, SP1, SP3, unspecified()))
        .unwrap();
    f.content.insert(page.base.0, 0x77);
    let mut r = relinquish_req(h, SP3);
    r.flags = FLAG_ZERO_MEMORY;
    e.relinquish(&mut f, SP3, &r).unwrap();
    assert_eq!(f.content[&page.base.0], 0x77, "SP2 still has it mapped");
    e.relinquish(&mut f, SP2, &relinquish_req(h, SP2)).unwrap();
    assert_eq!(f.content[&page.base.0], 0, "wiped after the last unmap");
}

#[test]
fn retrieve_limits_give_no_memory() {
    let (mut e, mut f) = setup();
    let s = req(
        TransactionKind::Share,
        NW,
        &[(SP1, rw())],
        &[PageRange::new(NS_RAM, 1)],
    );
    let h = e.send(&mut f, NW, &s).unwrap().handle;
    f.pool_free = 0;
    f.pool_total = 0;
    let r = retrieve_req(h, NW, SP1, unspecified());
    rejects(&mut e, &mut f, Rule::PageTableMemoryExhausted, |e, f| {
        e.retrieve(f, SP1, &r)
    });

    // The donated-ranges table full.
    let mut e: MemShare<8, 4, 8, 1> = MemShare::new(LIMITS);
    let mut f = Fake::new(64);
    let d = |range| {
        req(
            TransactionKind::Donate,
            SP1,
            &[(SP2, unspecified())],
            &[range],
        )
    };
    let h1 = e.send(&mut f, SP1, &d(sp1_pages(1, 1))).unwrap().handle;
    e.retrieve(&mut f, SP2, &retrieve_req(h1, SP1, SP2, unspecified()))
        .unwrap();
    let h2 = e.send(&mut f, SP1, &d(sp1_pages(3, 1))).unwrap().handle;
    let r = retrieve_req(h2, SP1, SP2, unspecified());
    let engine_before = format!("{e:?}");
    let fake_before = f.clone();
    assert_eq!(e.retrieve(&mut f, SP2, &r), Err(Rule::OwnershipTableFull));
    assert_eq!(format!("{e:?}"), engine_before);
    assert!(f == fake_before);
}

#[test]
fn relinquish_rules() {
    let (mut e, mut f, h) = lent();
    let ok = relinquish_req(h, SP2);
    rejects(&mut e, &mut f, Rule::NotRetrieved, |e, f| {
        e.relinquish(f, SP2, &ok)
    });
    e.retrieve(&mut f, SP2, &retrieve_req(h, SP1, SP2, ro()))
        .unwrap();
    let mut r = ok.clone();
    r.handle = MemHandle(h.0 + 1);
    rejects(&mut e, &mut f, Rule::UnknownHandle, |e, f| {
        e.relinquish(f, SP2, &r)
    });
    let mut r = ok.clone();
    r.flags = FLAG_TIME_SLICING;
    rejects(&mut e, &mut f, Rule::InvalidFlags, |e, f| {
        e.relinquish(f, SP2, &r)
    });
    let r = relinquish_req(h, SP3);
    rejects(&mut e, &mut f, Rule::RelinquishEndpointsInvalid, |e, f| {
        e.relinquish(f, SP2, &r)
    });
    let mut r = ok.clone();
    r.endpoints.push(SP3).unwrap();
    rejects(&mut e, &mut f, Rule::RelinquishEndpointsInvalid, |e, f| {
        e.relinquish(f, SP2, &r)
    });
    let r = relinquish_req(h, SP3);
    rejects(&mut e, &mut f, Rule::NotAReceiver, |e, f| {
        e.relinquish(f, SP3, &r)
    });
    e.relinquish(&mut f, SP2, &ok).unwrap();

    // The transaction grants SP2 read-only access: no wiping on relinquish (nor asking
    // for it at retrieve), as Arm's ACS expects (DENIED).
    let (mut e, mut f) = setup();
    let h = e
        .send(&mut f, SP1, &lend(SP2, ro(), sp1_pages(1, 1)))
        .unwrap()
        .handle;
    let mut rr = retrieve_req(h, SP1, SP2, unspecified());
    rr.flags = FLAG_ZERO_AFTER_RELINQUISH;
    rejects(&mut e, &mut f, Rule::ZeroNotAllowed, |e, f| {
        e.retrieve(f, SP2, &rr)
    });
    e.retrieve(&mut f, SP2, &retrieve_req(h, SP1, SP2, unspecified()))
        .unwrap();
    let mut r = relinquish_req(h, SP2);
    r.flags = FLAG_ZERO_MEMORY;
    rejects(&mut e, &mut f, Rule::ZeroNotAllowed, |e, f| {
        e.relinquish(f, SP2, &r)
    });
    assert_eq!(Rule::ZeroNotAllowed.error(), FfaError::Denied);
}

#[test]
fn zeroing_is_judged_on_the_grant_not_on_the_retrieved_access() {
    // ACS lend_retrieve_input_checks2: RW lend, RO retrieve, relinquish with zero flag.
    let (mut e, mut f, h) = lent();
    e.retrieve(&mut f, SP2, &retrieve_req(h, SP1, SP2, ro()))
        .unwrap();
    let mut r = relinquish_req(h, SP2);
    r.flags = FLAG_ZERO_MEMORY;
    f.content.insert(sp1_pages(1, 1).base.0, 0xAB);
    e.relinquish(&mut f, SP2, &r).unwrap();
    e.reclaim(&mut f, SP1, h, 0).unwrap();
    assert_eq!(f.content[&sp1_pages(1, 1).base.0], 0);
}

#[test]
fn reclaim_rules() {
    let (mut e, mut f, h) = lent();
    rejects(&mut e, &mut f, Rule::UnknownHandle, |e, f| {
        e.reclaim(f, SP1, MemHandle(h.0 + 1), 0)
    });
    rejects(&mut e, &mut f, Rule::NotTheOwner, |e, f| {
        e.reclaim(f, SP2, h, 0)
    });
    rejects(&mut e, &mut f, Rule::InvalidFlags, |e, f| {
        e.reclaim(f, SP1, h, FLAG_TIME_SLICING)
    });
    e.retrieve(&mut f, SP2, &retrieve_req(h, SP1, SP2, unspecified()))
        .unwrap();
    rejects(&mut e, &mut f, Rule::StillBorrowed, |e, f| {
        e.reclaim(f, SP1, h, 0)
    });

    let (mut e, mut f) = setup();
    let s = req(
        TransactionKind::Share,
        SP1,
        &[(SP2, ro())],
        &[sp1_pages(1, 1)],
    );
    let h = e.send(&mut f, SP1, &s).unwrap().handle;
    // Zero before reclaim is fine for a share too (ACS reclaim_input_error_checks).
    e.reclaim(&mut f, SP1, h, FLAG_ZERO_MEMORY).unwrap();
    assert_eq!(f.content[&sp1_pages(1, 1).base.0], 0);
    assert_eq!(Rule::NotTheOwner.error(), FfaError::InvalidParameters);
}

#[test]
fn retrieve_response_reports_zeroed_memory() {
    // ACS lend_retrieve_input_checks1/2: bit 0 of the response flags says whether the
    // memory arrives zeroed.
    let (mut e, mut f) = setup();
    let mut l = lend(SP2, rw(), sp1_pages(1, 1));
    l.flags = FLAG_ZERO_MEMORY;
    let h = e.send(&mut f, SP1, &l).unwrap().handle;
    let resp = e
        .retrieve(&mut f, SP2, &retrieve_req(h, SP1, SP2, unspecified()))
        .unwrap();
    assert_eq!(resp.flags & FLAG_ZERO_MEMORY, FLAG_ZERO_MEMORY);
    e.relinquish(&mut f, SP2, &relinquish_req(h, SP2)).unwrap();
    // Retrieved again after SP2 could write it: no longer vouched for.
    let resp = e
        .retrieve(&mut f, SP2, &retrieve_req(h, SP1, SP2, unspecified()))
        .unwrap();
    assert_eq!(resp.flags & FLAG_ZERO_MEMORY, 0);

    let (mut e, mut f, h) = lent();
    let resp = e
        .retrieve(&mut f, SP2, &retrieve_req(h, SP1, SP2, unspecified()))
        .unwrap();
    assert_eq!(resp.flags & FLAG_ZERO_MEMORY, 0);
}

#[test]
fn multi_borrower_lend_may_leave_the_type_unspecified() {
    let (mut e, mut f) = setup();
    let mut l = req(
        TransactionKind::Lend,
        SP1,
        &[(SP2, rw()), (SP3, ro())],
        &[sp1_pages(1, 1)],
    );
    l.attributes = MemoryType::NotSpecified;
    let h = e.send(&mut f, SP1, &l).unwrap().handle;
    // Each borrower chooses: the default when it names none, or what it names.
    let resp = e
        .retrieve(&mut f, SP2, &retrieve_req(h, SP1, SP2, unspecified()))
        .unwrap();
    assert_eq!(resp.attributes, MemoryType::NORMAL_WB_IS);
    let mut rr = retrieve_req(h, SP1, SP3, unspecified());
    let outer_nc = MemoryType::Normal {
        cacheability: types::Cacheability::NonCacheable,
        shareability: types::Shareability::Outer,
    };
    rr.attributes = outer_nc;
    assert_eq!(e.retrieve(&mut f, SP3, &rr).unwrap().attributes, outer_nc);

    // Device memory lent with the type unspecified cannot be mapped Normal.
    let (mut e, mut f) = setup();
    let h = e
        .send(&mut f, SP1, &lend(SP2, rw(), PageRange::new(sp_dev(1), 1)))
        .unwrap()
        .handle;
    let mut rr = retrieve_req(h, SP1, SP2, unspecified());
    rr.attributes = MemoryType::NORMAL_WB_IS;
    rejects(&mut e, &mut f, Rule::RetrieveAttributesMismatch, |e, f| {
        e.retrieve(f, SP2, &rr)
    });
    rr.attributes = MemoryType::NotSpecified;
    let resp = e.retrieve(&mut f, SP2, &rr).unwrap();
    assert_eq!(resp.attributes, MemoryType::Device(DeviceAttr::NGnRnE));
}

#[test]
fn executable_device_mapping_is_refused() {
    // ACS donate_retrieve_input_checks3: X with Device attributes on donated RAM.
    let (mut e, mut f) = setup();
    let d = req(
        TransactionKind::Donate,
        SP1,
        &[(SP2, unspecified())],
        &[sp1_pages(0, 1)],
    );
    let h = e.send(&mut f, SP1, &d).unwrap().handle;
    let mut r = retrieve_req(
        h,
        SP1,
        SP2,
        p(DataAccess::NotSpecified, InstructionAccess::Executable),
    );
    r.attributes = MemoryType::Device(DeviceAttr::NGnRnE);
    rejects(
        &mut e,
        &mut f,
        Rule::RetrievePermissionsExceedGrant,
        |e, f| e.retrieve(f, SP2, &r),
    );
    r.attributes = MemoryType::NotSpecified;
    let resp = e.retrieve(&mut f, SP2, &r).unwrap();
    assert_eq!(resp.permissions.instruction, InstructionAccess::Executable);
}
