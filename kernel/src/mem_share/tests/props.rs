//! Property tests: random sequences of share/lend/donate/retrieve/relinquish/reclaim from
//! several SPs and the normal world, checking after every step that
//! - every SP's page-table access equals what the live transactions and ownership imply
//!   (so a page is writable by two endpoints only when shared or lent so, and lent or
//!   donated memory is never accessible to its SP owner),
//! - reclaim succeeds only when every SP receiver relinquished (and then does succeed),
//! - handles are unique and SPMC-allocated,
//! - a rejected call changes nothing,
//! - page-table memory is conserved and accounted for (no leak), also after draining.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;
use crate::mem_share::request::FLAG_ZERO_MEMORY;
use crate::mem_share::types::DeviceAttr;

const EPS: [EndpointId; 5] = [SP1, SP2, SP3, NW, VM2];

#[derive(Clone, Debug)]
enum Op {
    Send {
        kind: u8,
        sender: usize,
        receivers: Vec<(usize, u8)>,
        ranges: Vec<(u8, u64, u32)>,
        flags: u8,
        attrs: u8,
    },
    Retrieve {
        pick: u8,
        receiver: u8,
        perm: u8,
        flags: u8,
    },
    Relinquish {
        pick: u8,
        receiver: u8,
        zero: bool,
    },
    Reclaim {
        pick: u8,
        by_owner: bool,
        zero: bool,
    },
}

fn perm(sel: u8) -> Permissions {
    match sel {
        6..=8 => return rw(),
        9..=11 => return ro(),
        _ => {}
    }
    match sel % 6 {
        0 => unspecified(),
        1 => ro(),
        2 => rw(),
        3 => p(DataAccess::ReadWrite, InstructionAccess::Executable),
        4 => p(DataAccess::ReadOnly, InstructionAccess::NotExecutable),
        _ => p(DataAccess::ReadWrite, InstructionAccess::NotExecutable),
    }
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let send = (
        0..3u8,
        0..5usize,
        prop::collection::vec((0..20usize, 0..12u8), 1..4),
        prop::collection::vec(
            (
                0..14u8,
                0..16u64,
                prop_oneof![1 => Just(0u32), 12 => 1..4u32],
            ),
            1..3,
        ),
        0..20u8,
        0..16u8,
    )
        .prop_map(|(kind, sender, receivers, ranges, flags, attrs)| Op::Send {
            kind,
            sender,
            receivers,
            ranges,
            flags,
            attrs,
        });
    let retrieve =
        (any::<u8>(), 0..6u8, 0..8u8, 0..10u8).prop_map(|(pick, receiver, perm, flags)| {
            Op::Retrieve {
                pick,
                receiver,
                perm,
                flags,
            }
        });
    let relinquish =
        (any::<u8>(), 0..6u8, prop::bool::weighted(0.2)).prop_map(|(pick, receiver, zero)| {
            Op::Relinquish {
                pick,
                receiver,
                zero,
            }
        });
    let reclaim = (
        any::<u8>(),
        prop::bool::weighted(0.85),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(pick, by_owner, zero)| Op::Reclaim {
            pick,
            by_owner,
            zero,
        });
    prop_oneof![4 => send, 4 => retrieve, 2 => relinquish, 2 => reclaim]
}

/// Mostly a valid receiver: an SP other than the sender; sometimes the sender itself, the
/// normal world or an unknown endpoint.
fn receiver_for(sender: EndpointId, r: usize) -> EndpointId {
    let others: Vec<EndpointId> = [SP1, SP2, SP3]
        .into_iter()
        .filter(|&e| e != sender)
        .collect();
    match r {
        0..=16 => others[r % others.len()],
        17 => sender,
        18 => VM2,
        _ => EndpointId(0x8077),
    }
}

/// The sender's own memory most of the time, someone else's sometimes.
fn range_for(sender: EndpointId, (area, off, pages): (u8, u64, u32)) -> PageRange {
    let own = match sender {
        SP1 => 1,
        SP2 => 2,
        SP3 => 3,
        _ => 0,
    };
    let base = match area {
        0..=9 if own > 0 => sp_ram(own),
        10 if own > 0 => return PageRange::new(sp_dev(own), 1),
        0..=10 => return PageRange::new(NS_RAM + off * 2 * PAGE_SIZE, pages),
        11..=13 => sp_ram(area as u64 - 10),
        _ => NS_RAM,
    };
    PageRange::new(base + off * PAGE_SIZE, pages)
}

struct Harness {
    e: Engine,
    f: Fake,
    seen: BTreeSet<MemHandle>,
    /// Our own record of which SPs hold each handle, from successful calls only.
    holders: BTreeMap<MemHandle, BTreeSet<EndpointId>>,
    /// The quotas the engine was given (normal world, SPs).
    quotas: (Quota, Quota),
}

impl Harness {
    fn live(&self) -> Vec<(MemHandle, EndpointId, Vec<EndpointId>)> {
        self.e
            .transactions()
            .map(|t| {
                (
                    t.handle,
                    t.sender,
                    t.receivers.iter().map(|r| r.0).collect(),
                )
            })
            .collect()
    }

    fn pick(&self, pick: u8) -> Option<(MemHandle, EndpointId, Vec<EndpointId>)> {
        let live = self.live();
        if pick >= 240 || live.is_empty() {
            // A dead or never-issued handle.
            let h = self.seen.iter().nth(pick as usize % self.seen.len().max(1));
            let h = h.copied().unwrap_or(MemHandle(0x77));
            let found = live.iter().find(|t| t.0 == h).cloned();
            return Some(found.unwrap_or((h, SP1, vec![SP2])));
        }
        live.get(pick as usize % live.len()).cloned()
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let engine_before = format!("{:?}", self.e);
        let fake_before = self.f.clone();
        let result: Result<(), Rule> = match op.clone() {
            Op::Send {
                kind,
                sender,
                receivers,
                ranges,
                flags,
                attrs,
            } => {
                let kind = [
                    TransactionKind::Share,
                    TransactionKind::Lend,
                    TransactionKind::Donate,
                ][kind as usize];
                let s = EPS[sender];
                let mut receivers = receivers;
                if kind == TransactionKind::Donate && flags % 4 != 0 {
                    receivers.truncate(1);
                }
                let mut rs: Vec<(EndpointId, Permissions)> = Vec::new();
                for &(r, sel) in &receivers {
                    let id = receiver_for(s, r);
                    // Mostly distinct receivers; a duplicate now and then.
                    if r % 7 != 0 && rs.iter().any(|(o, _)| *o == id) {
                        continue;
                    }
                    let pm = if kind == TransactionKind::Donate {
                        unspecified()
                    } else {
                        perm(sel)
                    };
                    rs.push((id, pm));
                }
                let cs: Vec<PageRange> = ranges.iter().map(|&r| range_for(s, r)).collect();
                let mut r = req(kind, s, &rs, &cs);
                r.flags = match flags {
                    0..=14 => 0,
                    15..=18 if kind != TransactionKind::Share => FLAG_ZERO_MEMORY,
                    15..=17 => 0,
                    18 => FLAG_ZERO_MEMORY,
                    _ => 1 << 7,
                };
                if cs
                    .iter()
                    .any(|c| c.base.0 >= 0x5000_0000 && c.base.0 < 0x6000_0000)
                    && r.attributes != MemoryType::NotSpecified
                {
                    r.attributes = MemoryType::Device(DeviceAttr::NGnRE);
                }
                match attrs {
                    13 => r.attributes = MemoryType::NotSpecified,
                    14 => r.attributes = MemoryType::NORMAL_WB_IS,
                    15 => r.attributes = MemoryType::Device(DeviceAttr::NGnRnE),
                    _ => {}
                }
                let live_before = self.e.live_sent_by(s);
                let out = self.e.send(&mut self.f, s, &r);
                if out == Err(Rule::TransactionQuotaExceeded) {
                    prop_assert_eq!(
                        live_before,
                        usize::from(self.quota(s).transactions),
                        "quota refusal below the quota"
                    );
                }
                if let Ok(o) = out {
                    prop_assert!(o.handle.is_spmc_allocated(), "SPMC handle format");
                    prop_assert!(self.seen.insert(o.handle), "handle {:?} reused", o.handle);
                    self.holders.insert(o.handle, BTreeSet::new());
                    prop_assert!(
                        !r.receivers
                            .iter()
                            .any(|g| self.f.denied.contains(&(s, g.id))),
                        "send allowed against the capability table"
                    );
                    if r.flags & FLAG_ZERO_MEMORY != 0 {
                        for c in r.constituents.iter() {
                            for i in 0..c.pages as u64 {
                                let page = c.base.0 + i * PAGE_SIZE;
                                prop_assert_eq!(self.f.content.get(&page), Some(&0));
                            }
                        }
                    }
                }
                out.map(|_| ())
            }
            Op::Retrieve {
                pick,
                receiver,
                perm: sel,
                flags,
            } => {
                let Some((h, sender, rcvs)) = self.pick(pick) else {
                    return Ok(());
                };
                let who = if receiver < 5 && !rcvs.is_empty() {
                    rcvs[receiver as usize % rcvs.len()]
                } else {
                    EPS[receiver as usize % 5]
                };
                let mut rr = retrieve_req(h, sender, who, perm(sel));
                rr.flags = match flags {
                    0..=7 => 0,
                    8 => FLAG_ZERO_MEMORY,
                    _ => request::FLAG_ZERO_AFTER_RELINQUISH,
                };
                let donate = self
                    .e
                    .transactions()
                    .any(|t| t.handle == h && t.kind == TransactionKind::Donate);
                let constituents: Vec<PageRange> = self
                    .e
                    .transactions()
                    .find(|t| t.handle == h)
                    .map(|t| t.constituents.to_vec())
                    .unwrap_or_default();
                let out = self.e.retrieve(&mut self.f, who, &rr);
                if let Ok(resp) = &out {
                    prop_assert_eq!(resp.handle, h);
                    // Each constituent is reported at the VA the receiver has it at: VA = PA.
                    let vas: Vec<(u64, u32)> = resp
                        .mapped_constituents()
                        .map(|(va, n)| (va.0, n))
                        .collect();
                    let pas: Vec<(u64, u32)> =
                        constituents.iter().map(|c| (c.base.0, c.pages)).collect();
                    prop_assert_eq!(vas, pas);
                    let ns = self
                        .e
                        .transactions()
                        .find(|t| t.handle == h)
                        .map_or(resp.non_secure, |t| t.constituents[0].base.0 >= NS_RAM);
                    prop_assert_eq!(resp.non_secure, ns);
                    if donate {
                        self.holders.remove(&h);
                    } else {
                        prop_assert!(self.holders.entry(h).or_default().insert(who));
                    }
                }
                out.map(|_| ())
            }
            Op::Relinquish {
                pick,
                receiver,
                zero,
            } => {
                let Some((h, _, rcvs)) = self.pick(pick) else {
                    return Ok(());
                };
                let held: Vec<EndpointId> = self
                    .holders
                    .get(&h)
                    .into_iter()
                    .flatten()
                    .copied()
                    .collect();
                let who = if receiver < 4 && !held.is_empty() {
                    held[receiver as usize % held.len()]
                } else if receiver < 5 && !rcvs.is_empty() {
                    rcvs[receiver as usize % rcvs.len()]
                } else {
                    EPS[receiver as usize % 5]
                };
                let mut rq = relinquish_req(h, who);
                if zero {
                    rq.flags = FLAG_ZERO_MEMORY;
                }
                let out = self.e.relinquish(&mut self.f, who, &rq);
                if out.is_ok() {
                    let held = self.holders.get_mut(&h).is_some_and(|s| s.remove(&who));
                    prop_assert!(held, "relinquish accepted from a non-holder");
                }
                out
            }
            Op::Reclaim {
                pick,
                by_owner,
                zero,
            } => {
                let Some((h, sender, _)) = self.pick(pick) else {
                    return Ok(());
                };
                let caller = if by_owner { sender } else { SP3 };
                let flags = if zero { FLAG_ZERO_MEMORY } else { 0 };
                let kind = self
                    .e
                    .transactions()
                    .find(|t| t.handle == h)
                    .map(|t| t.kind);
                let holders_empty = self.holders.get(&h).is_none_or(BTreeSet::is_empty);
                let out = self.e.reclaim(&mut self.f, caller, h, flags);
                if out.is_ok() {
                    prop_assert!(holders_empty, "reclaim while a receiver holds the memory");
                    self.holders.remove(&h);
                } else if kind.is_some() && caller == sender && holders_empty {
                    prop_assert!(false, "owner's valid reclaim refused: {:?}", out);
                }
                out
            }
        };
        if result.is_err() {
            prop_assert_eq!(
                format!("{:?}", self.e),
                engine_before,
                "rejected call changed the engine"
            );
            prop_assert!(
                self.f == fake_before,
                "rejected call changed the environment"
            );
        }
        self.check()
    }

    fn quota(&self, e: EndpointId) -> Quota {
        if e.is_secure() {
            self.quotas.1
        } else {
            self.quotas.0
        }
    }

    /// Expected SP access for every page, from ownership and the live transactions, equals
    /// what the fake page tables hold; nobody holds more of the shared tables than its quota.
    fn check(&self) -> Result<(), TestCaseError> {
        for e in EPS {
            let q = self.quota(e);
            prop_assert!(self.e.live_sent_by(e) <= usize::from(q.transactions));
            prop_assert!(self.e.donated_charged_to(e) <= usize::from(q.donated));
        }
        let txs: Vec<_> = self.e.transactions().collect();
        for page in self.f.all_pages() {
            let pr = PageRange::new(page, 1);
            let mut expected: BTreeMap<EndpointId, Access> = BTreeMap::new();
            let owner = self
                .e
                .donated_ranges()
                .iter()
                .find(|d| d.range.contains(&pr))
                .map(|d| (d.owner, d.info.access))
                .or_else(|| self.f.static_owner(page).map(|(o, i)| (o, i.access)));
            let covering: Vec<_> = txs
                .iter()
                .filter(|t| t.constituents.iter().any(|c| c.contains(&pr)))
                .collect();
            prop_assert!(covering.len() <= 1, "page {:#x} in two transactions", page);
            if let Some((o, access)) = owner {
                let lent_away = covering
                    .iter()
                    .any(|t| t.sender == o && t.kind != TransactionKind::Share);
                if o.is_secure() && !lent_away {
                    expected.insert(o, access);
                }
                for t in &covering {
                    if t.kind != TransactionKind::Share && t.sender.is_secure() {
                        prop_assert!(
                            !self.f.access.contains_key(&(t.sender, page)),
                            "lent page {:#x} still mapped in its owner {:?}",
                            page,
                            t.sender
                        );
                    }
                }
            }
            for t in &covering {
                for (r, held) in &t.receivers {
                    if let Some(a) = held {
                        expected.insert(*r, *a);
                    }
                }
            }
            let actual: BTreeMap<EndpointId, Access> = self.f.accessors(page).into_iter().collect();
            prop_assert_eq!(&actual, &expected, "access to page {:#x}", page);
            // Two writers only where a share/lend grants it.
            let writers: Vec<_> = actual
                .iter()
                .filter(|(_, a)| a.write)
                .map(|(e, _)| *e)
                .collect();
            if writers.len() > 1 {
                prop_assert!(
                    covering.iter().any(|t| t.kind != TransactionKind::Donate),
                    "page {:#x} writable by {:?} without a share or lend",
                    page,
                    writers
                );
            }
        }
        check_tables_prop(&self.e, &self.f)
    }

    /// Relinquishes everything held and reclaims every transaction.
    fn drain(&mut self) -> Result<(), TestCaseError> {
        for (h, sender, _) in self.live() {
            let holders: Vec<_> = self
                .holders
                .get(&h)
                .into_iter()
                .flatten()
                .copied()
                .collect();
            for who in holders {
                prop_assert_eq!(
                    self.e.relinquish(&mut self.f, who, &relinquish_req(h, who)),
                    Ok(())
                );
            }
            self.holders.remove(&h);
            prop_assert_eq!(self.e.reclaim(&mut self.f, sender, h, 0), Ok(()));
            self.check()?;
        }
        prop_assert_eq!(self.e.transactions().count(), 0);
        prop_assert_eq!(self.f.reserved, 0, "reservations left after draining");
        Ok(())
    }
}

fn check_tables_prop(e: &Engine, f: &Fake) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        f.pool_free + f.reserved + f.in_use,
        f.pool_total,
        "pool conservation"
    );
    prop_assert_eq!(f.reserved, e.held_table_pages(), "held reservations");
    let ledger: u64 = f.ledger.values().flatten().sum();
    prop_assert_eq!(ledger, f.in_use, "used table pages belong to mappings");
    prop_assert!(f.violations.is_empty(), "port contract: {:?}", f.violations);
    prop_assert!(e.live_slots_consistent(), "live-slot mask == live slots");
    prop_assert!(
        e.spans_consistent(),
        "each live transaction's span is its ranges'"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_keep_the_invariants(
        ops in prop::collection::vec(op_strategy(), 1..40),
        pool in prop_oneof![Just(4u64), Just(64u64)],
        max_transactions in 1usize..7,
        denied in prop::collection::btree_set((0..5usize, 0..5usize), 0..3),
        quota in (1u16..5, 1u16..4, 1u16..12, 1u16..6),
    ) {
        let nw_quota = Quota { transactions: quota.0, fragments: 1, donated: quota.2 };
        let sp_quota = Quota { transactions: quota.1, fragments: 1, donated: quota.3 };
        let mut f = Fake::new(pool);
        f.denied = denied.into_iter().map(|(a, b)| (EPS[a], EPS[b])).collect();
        let mut h = Harness {
            e: Engine::new(Limits { max_transactions, nw_quota, sp_quota, ..LIMITS }),
            f,
            seen: BTreeSet::new(),
            holders: BTreeMap::new(),
            quotas: (nw_quota, sp_quota),
        };
        for op in &ops {
            h.step(op)?;
        }
        h.drain()?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Ownership asked once over the span of a send's ranges (`OwnershipOracle::static_span`)
    /// decides as one query per range does: the same calls on an engine whose oracle never
    /// answers for a span leave the same engine state and the same mappings after every step
    /// (donations to and from the normal world included).
    #[test]
    fn span_ownership_agrees_with_per_range(ops in prop::collection::vec(op_strategy(), 1..40)) {
        let quota = Quota { transactions: 8, fragments: 1, donated: 16 };
        let harness = |per_range_only: bool| {
            let mut f = Fake::new(64);
            f.per_range_only = per_range_only;
            Harness {
                e: Engine::new(Limits { nw_quota: quota, sp_quota: quota, ..LIMITS }),
                f,
                seen: BTreeSet::new(),
                holders: BTreeMap::new(),
                quotas: (quota, quota),
            }
        };
        let (mut span, mut per_range) = (harness(false), harness(true));
        for op in &ops {
            span.step(op)?;
            per_range.step(op)?;
            prop_assert_eq!(format!("{:?}", span.e), format!("{:?}", per_range.e));
            prop_assert_eq!(&span.f.access, &per_range.f.access);
        }
    }
}
