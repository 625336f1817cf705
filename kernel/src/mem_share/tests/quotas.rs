//! Per-endpoint quotas and the donated-ranges table (issue 10, bugs 3 and 4): one endpoint
//! filling the shared tables must not refuse anyone else, and donations must not grow the
//! ownership table for good.

use super::*;

/// The engine as the kernel sizes it: 16 transactions, 64 donated ranges.
type Full = MemShare<16, 4, 8, 64>;

fn defaults() -> Limits {
    Limits {
        max_transactions: 16,
        nw_quota: Quota::NW_DEFAULT,
        sp_quota: Quota::SP_DEFAULT,
        ..LIMITS
    }
}

/// Bug 3: the normal world sharing pages nobody retrieves used to take all 16 slots and make
/// every SP-to-SP share fail NO_MEMORY. Now the normal world runs into its own quota.
#[test]
fn normal_world_cannot_take_the_sps_transaction_slots() {
    let mut f = Fake::new(64);
    let mut e = Full::new(defaults());
    let mut shared = 0;
    for k in 0..16 {
        let r = req(
            TransactionKind::Share,
            NW,
            &[(SP1, rw())],
            &[PageRange::new(NS_RAM + k * PAGE_SIZE, 1)],
        );
        match e.send(&mut f, NW, &r) {
            Ok(_) => shared += 1,
            Err(rule) => {
                assert_eq!(rule, Rule::TransactionQuotaExceeded);
                assert_eq!(rule.error(), FfaError::NoMemory);
            }
        }
    }
    assert_eq!(shared, usize::from(Quota::NW_DEFAULT.transactions));
    // Every SP still gets its own quota's worth.
    for (sp, to) in [(SP1, SP2), (SP2, SP3), (SP3, SP1)] {
        let own = |k| {
            let n = match sp {
                SP1 => 1,
                SP2 => 2,
                _ => 3,
            };
            PageRange::new(sp_ram(n) + (1 + k) * PAGE_SIZE, 1)
        };
        for k in 0..u64::from(Quota::SP_DEFAULT.transactions) {
            let r = req(TransactionKind::Lend, sp, &[(to, rw())], &[own(k)]);
            e.send(&mut f, sp, &r).expect("within the SP's quota");
        }
        let over = req(TransactionKind::Lend, sp, &[(to, rw())], &[own(5)]);
        let before = format!("{e:?}");
        assert_eq!(
            e.send(&mut f, sp, &over),
            Err(Rule::TransactionQuotaExceeded)
        );
        assert_eq!(format!("{e:?}"), before, "refusal changed nothing");
    }
    // Reclaiming gives the normal world its quota back.
    let h = e.transactions().find(|t| t.sender == NW).unwrap().handle;
    e.reclaim(&mut f, NW, h, 0).unwrap();
    let r = req(
        TransactionKind::Share,
        NW,
        &[(SP1, rw())],
        &[PageRange::new(NS_RAM + 20 * PAGE_SIZE, 1)],
    );
    assert!(e.send(&mut f, NW, &r).is_ok());
}

/// An SP set description may give an SP another quota.
#[test]
fn an_sps_quota_can_be_overridden() {
    let mut f = Fake::new(64);
    f.quotas.insert(
        SP1,
        Quota {
            transactions: 1,
            ..Quota::SP_DEFAULT
        },
    );
    let mut e = Full::new(defaults());
    e.send(
        &mut f,
        SP1,
        &req(
            TransactionKind::Lend,
            SP1,
            &[(SP2, rw())],
            &[sp1_pages(1, 1)],
        ),
    )
    .unwrap();
    assert_eq!(
        e.send(
            &mut f,
            SP1,
            &req(
                TransactionKind::Lend,
                SP1,
                &[(SP2, rw())],
                &[sp1_pages(2, 1)]
            )
        ),
        Err(Rule::TransactionQuotaExceeded)
    );
    // SP2 keeps the default.
    for k in 0..2 {
        let r = PageRange::new(sp_ram(2) + (1 + k) * PAGE_SIZE, 1);
        e.send(
            &mut f,
            SP2,
            &req(TransactionKind::Lend, SP2, &[(SP3, rw())], &[r]),
        )
        .unwrap();
    }
}

/// Donates `range` from `from` to `to` and retrieves it.
fn donate(
    e: &mut Full,
    f: &mut Fake,
    from: EndpointId,
    to: EndpointId,
    range: PageRange,
) -> Result<(), Rule> {
    let h = e
        .send(
            f,
            from,
            &req(
                TransactionKind::Donate,
                from,
                &[(to, unspecified())],
                &[range],
            ),
        )?
        .handle;
    e.retrieve(f, to, &retrieve_req(h, from, to, unspecified()))
        .map(|_| ())
}

/// Bug 4: retrieved one-page donations used to fill the 64-entry table of donated ranges
/// for good, after which every donation by anyone failed. Now the donor runs into its own
/// quota, and the others keep donating.
#[test]
fn donations_of_one_endpoint_do_not_exhaust_the_ownership_table() {
    let mut f = Fake::new(256);
    let mut e = Full::new(Limits {
        nw_quota: Quota {
            donated: 6,
            ..Quota::NW_DEFAULT
        },
        ..defaults()
    });
    let mut done = 0;
    // Every other page, so that no two donated pages merge.
    for k in 0..12 {
        let page = PageRange::new(NS_RAM + 2 * k * PAGE_SIZE, 1);
        match donate(&mut e, &mut f, NW, SP1, page) {
            Ok(()) => done += 1,
            Err(rule) => {
                assert_eq!(rule, Rule::DonationQuotaExceeded);
                assert_eq!(rule.error(), FfaError::NoMemory);
            }
        }
    }
    assert_eq!(done, 6);
    assert_eq!(e.donated_charged_to(NW), 6);
    // The SPs' donations still go through.
    donate(
        &mut e,
        &mut f,
        SP2,
        SP3,
        PageRange::new(sp_ram(2) + PAGE_SIZE, 1),
    )
    .unwrap();
    donate(
        &mut e,
        &mut f,
        SP3,
        SP1,
        PageRange::new(sp_ram(3) + PAGE_SIZE, 1),
    )
    .unwrap();
    // SP1 passing a page on frees the normal world's entry (the entry is now SP1's).
    donate(&mut e, &mut f, SP1, SP2, PageRange::new(NS_RAM, 1)).unwrap();
    assert_eq!(e.donated_charged_to(NW), 5);
    assert_eq!(e.donated_charged_to(SP1), 1);
}

/// A range that goes back to its static owner with the static access leaves the table, and
/// neighbouring donated pages of one owner are one entry.
#[test]
fn the_ownership_table_stays_compact() {
    let mut f = Fake::new(256);
    let mut e = Full::new(defaults());
    let page = PageRange::new(sp_ram(1) + 2 * PAGE_SIZE, 1);
    donate(&mut e, &mut f, SP1, SP2, page).unwrap();
    assert_eq!(e.donated_ranges().len(), 1);
    donate(&mut e, &mut f, SP2, SP1, page).unwrap();
    assert_eq!(
        e.donated_ranges(),
        &[],
        "back with its static owner as configured"
    );
    assert_eq!(f.access.get(&(SP1, page.base.0)), Some(&Access::RW));
    assert_eq!(f.access.get(&(SP2, page.base.0)), None);

    for k in 0..4 {
        donate(
            &mut e,
            &mut f,
            NW,
            SP1,
            PageRange::new(NS_RAM + k * PAGE_SIZE, 1),
        )
        .unwrap();
    }
    assert_eq!(e.donated_ranges().len(), 1, "{:?}", e.donated_ranges());
    assert_eq!(e.donated_ranges()[0].range, PageRange::new(NS_RAM, 4));
    // Passing on the middle of it splits it; the pieces stay SP1's.
    donate(
        &mut e,
        &mut f,
        SP1,
        SP3,
        PageRange::new(NS_RAM + PAGE_SIZE, 1),
    )
    .unwrap();
    let owners: std::vec::Vec<_> = e
        .donated_ranges()
        .iter()
        .map(|d| (d.range, d.owner))
        .collect();
    assert_eq!(owners.len(), 3);
    assert!(owners.contains(&(PageRange::new(NS_RAM, 1), SP1)));
    assert!(owners.contains(&(PageRange::new(NS_RAM + PAGE_SIZE, 1), SP3)));
    assert!(owners.contains(&(PageRange::new(NS_RAM + 2 * PAGE_SIZE, 2), SP1)));
}
