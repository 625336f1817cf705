//! Host-test fake of the memory-sharing environment: static ownership, a policy table, SP
//! address spaces tracked page by page (who can access which page, with which access), a
//! counted page-table pool, and a zeroing log. Used by the unit and property tests to check
//! the invariants of `mem_share` after every step.

use std::collections::{BTreeMap, BTreeSet};

use super::env::{
    MappingAttrs, MemoryZeroing, NoMemory, OwnershipOracle, RegionInfo, Reservation, SharePolicy,
    SpAddressSpaces,
};
use super::transaction::Quota;
use super::types::{
    Access, EndpointId, EndpointKind, MemKind, PageRange, Security, TransactionKind, PAGE_SIZE,
};

/// Pseudo owner under which the platform's non-secure ranges are recorded: any normal-world
/// endpoint owns them as far as the SPMC can tell.
pub const NS_OWNER: EndpointId = EndpointId(0x7FFF);

pub const SP1: EndpointId = EndpointId(0x8001);
pub const SP2: EndpointId = EndpointId(0x8002);
pub const SP3: EndpointId = EndpointId(0x8003);
pub const NW: EndpointId = EndpointId(0x0001);
pub const VM2: EndpointId = EndpointId(0x0002);

/// Base of SP `n`'s RAM in the fake (n = 1..=3), 16 pages each.
pub fn sp_ram(n: u64) -> u64 {
    0x1000_0000 + n * 0x10_0000
}
/// The one device page each SP owns.
pub fn sp_dev(n: u64) -> u64 {
    0x5000_0000 + n * 0x1_0000
}
/// Non-secure RAM, 32 pages.
pub const NS_RAM: u64 = 0x8000_0000;
pub const NS_RAM_PAGES: u32 = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fake {
    pub regions: Vec<(EndpointId, PageRange, RegionInfo)>,
    pub kinds: BTreeMap<EndpointId, EndpointKind>,
    /// Pairs the policy refuses.
    pub denied: BTreeSet<(EndpointId, EndpointId)>,
    /// Per-SP quotas of the SP set description (others get the engine's default).
    pub quotas: BTreeMap<EndpointId, Quota>,
    /// Per SP, per page: the access the SP's tables give it.
    pub access: BTreeMap<(EndpointId, u64), Access>,
    /// Per SP, per page: the attributes it is mapped with (for receivers' mappings).
    pub attrs: BTreeMap<(EndpointId, u64), MappingAttrs>,
    pub pool_total: u64,
    pub pool_free: u64,
    pub reserved: u64,
    pub in_use: u64,
    /// Table pages in use per (sp, key): key = the first page of a receiver mapping or of an
    /// owner revoke (split tables). A stack, because a donated owner's split tables stay for
    /// good under the same key a later revoke may use.
    pub ledger: BTreeMap<(EndpointId, u64), Vec<u64>>,
    /// Page contents: 0 = zeroed.
    pub content: BTreeMap<u64, u64>,
    pub zero_log: Vec<PageRange>,
    /// Contract breaches the port saw (double map, unmapping what is not mapped, ...).
    pub violations: Vec<String>,
    /// Donated mappings the port was told to keep: (new owner, table pages given back).
    pub adopted_log: Vec<(EndpointId, u32)>,
    /// Never answer for a span ([`OwnershipOracle::static_span`]): the engine then asks per
    /// range, as the oracle of a differential test.
    pub per_range_only: bool,
}

fn pages(r: &PageRange) -> impl Iterator<Item = u64> {
    let base = r.base.0;
    (0..r.pages as u64).map(move |i| base + i * PAGE_SIZE)
}

impl Fake {
    /// Three SPs with 16 RW pages of RAM (the upper 4 read-only, page 0 executable) and one
    /// device page each; the normal world with 32 pages of NS RAM; a pool of `pool` table
    /// pages.
    pub fn new(pool: u64) -> Self {
        let mut f = Fake {
            regions: Vec::new(),
            kinds: BTreeMap::new(),
            denied: BTreeSet::new(),
            quotas: BTreeMap::new(),
            access: BTreeMap::new(),
            attrs: BTreeMap::new(),
            pool_total: pool,
            pool_free: pool,
            reserved: 0,
            in_use: 0,
            ledger: BTreeMap::new(),
            content: BTreeMap::new(),
            zero_log: Vec::new(),
            violations: Vec::new(),
            adopted_log: Vec::new(),
            per_range_only: false,
        };
        for (n, sp) in [(1, SP1), (2, SP2), (3, SP3)] {
            f.kinds.insert(sp, EndpointKind::Sp);
            let rwx = RegionInfo {
                access: Access {
                    write: true,
                    exec: true,
                },
                kind: MemKind::Normal,
                security: Security::Secure,
            };
            let rw = RegionInfo {
                access: Access::RW,
                ..rwx
            };
            let ro = RegionInfo {
                access: Access::RO,
                ..rwx
            };
            let dev = RegionInfo {
                access: Access::RW,
                kind: MemKind::Device,
                security: Security::Secure,
            };
            f.add_region(sp, PageRange::new(sp_ram(n), 1), rwx);
            f.add_region(sp, PageRange::new(sp_ram(n) + PAGE_SIZE, 11), rw);
            f.add_region(sp, PageRange::new(sp_ram(n) + 12 * PAGE_SIZE, 4), ro);
            f.add_region(sp, PageRange::new(sp_dev(n), 1), dev);
        }
        f.kinds.insert(NW, EndpointKind::NormalWorld);
        f.kinds.insert(VM2, EndpointKind::NormalWorld);
        f.regions.push((
            NS_OWNER,
            PageRange::new(NS_RAM, NS_RAM_PAGES),
            RegionInfo {
                access: Access {
                    write: true,
                    exec: true,
                },
                kind: MemKind::Normal,
                security: Security::NonSecure,
            },
        ));
        for p in pages(&PageRange::new(NS_RAM, NS_RAM_PAGES)) {
            f.content.insert(p, 0xAA);
        }
        f
    }

    fn add_region(&mut self, sp: EndpointId, r: PageRange, info: RegionInfo) {
        self.regions.push((sp, r, info));
        for p in pages(&r) {
            self.access.insert((sp, p), info.access);
            self.content.insert(p, 0xAA);
        }
        // The SP's boot-time mapping of the region: one table page, outside the pool.
    }

    /// Who (among SPs) can access `page`, and how.
    pub fn accessors(&self, page: u64) -> Vec<(EndpointId, Access)> {
        self.access
            .iter()
            .filter(|((_, p), _)| *p == page)
            .map(|((sp, _), a)| (*sp, *a))
            .collect()
    }

    /// Every page any SP region or the NS range covers.
    pub fn all_pages(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self.regions.iter().flat_map(|(_, r, _)| pages(r)).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The static owner of `page` (NS pages: [`NS_OWNER`]).
    pub fn static_owner(&self, page: u64) -> Option<(EndpointId, RegionInfo)> {
        self.regions
            .iter()
            .find(|(_, r, _)| r.contains(&PageRange::new(page, 1)))
            .map(|(o, _, i)| (*o, *i))
    }

    fn consume(&mut self, r: &mut Reservation, n: u64, key: (EndpointId, u64)) {
        let want = u32::try_from(n).unwrap_or(u32::MAX);
        let taken = r.consume(want) as u64;
        if taken != n {
            self.violations.push(format!(
                "reservation of {:?} too small: {n} > {taken}",
                r.sp()
            ));
        }
        self.reserved -= taken;
        self.in_use += taken;
        self.ledger.entry(key).or_default().push(taken);
    }

    fn give_back(&mut self, key: (EndpointId, u64)) {
        let n = self.ledger.get_mut(&key).and_then(Vec::pop);
        if self.ledger.get(&key).is_some_and(Vec::is_empty) {
            self.ledger.remove(&key);
        }
        match n {
            Some(n) => {
                self.in_use -= n;
                self.pool_free += n;
            }
            None => self
                .violations
                .push(format!("no tables recorded for {key:x?}")),
        }
    }
}

impl OwnershipOracle for Fake {
    fn static_region(&self, owner: EndpointId, range: PageRange) -> Option<RegionInfo> {
        let who = match self.kinds.get(&owner)? {
            EndpointKind::NormalWorld => NS_OWNER,
            EndpointKind::Sp => owner,
        };
        self.regions
            .iter()
            .find(|(o, r, _)| *o == who && r.contains(&range))
            .map(|(_, _, i)| *i)
    }

    /// The first region containing `span`, if no region listed before it overlaps `span`
    /// (a range inside `span` could find that one first).
    fn static_span(&self, owner: EndpointId, span: PageRange) -> Option<RegionInfo> {
        if self.per_range_only {
            return None;
        }
        let who = match self.kinds.get(&owner)? {
            EndpointKind::NormalWorld => NS_OWNER,
            EndpointKind::Sp => owner,
        };
        for (o, r, i) in self.regions.iter().filter(|(o, _, _)| *o == who) {
            let _ = o;
            if r.contains(&span) {
                return Some(*i);
            }
            if r.overlaps(&span) {
                return None;
            }
        }
        None
    }

    /// The SP's own regions (not the normal world's: NS_OWNER is not an SP).
    fn statically_held(&self, sp: EndpointId, range: PageRange) -> bool {
        self.regions
            .iter()
            .any(|(o, r, _)| *o == sp && r.overlaps(&range))
    }
}

impl SharePolicy for Fake {
    fn endpoint_kind(&self, id: EndpointId) -> Option<EndpointKind> {
        self.kinds.get(&id).copied()
    }
    fn may_send(&self, _kind: TransactionKind, sender: EndpointId, receiver: EndpointId) -> bool {
        !self.denied.contains(&(sender, receiver))
    }
    fn quota_override(&self, id: EndpointId) -> Option<Quota> {
        self.quotas.get(&id).copied()
    }
}

impl SpAddressSpaces for Fake {
    // Worst-case estimates one page above what map/revoke really use, like a real port
    // that cannot know in advance whether a block must be split: the rest must come back.
    fn map_cost(&self, _sp: EndpointId, ranges: &[PageRange]) -> u32 {
        ranges.len() as u32 + 1
    }
    fn owner_cost(&self, _sp: EndpointId, ranges: &[PageRange]) -> u32 {
        ranges.len() as u32 + 1
    }
    fn reserve(&mut self, sp: EndpointId, table_pages: u32) -> Result<Reservation, NoMemory> {
        if self.pool_free < table_pages as u64 {
            return Err(NoMemory);
        }
        self.pool_free -= table_pages as u64;
        self.reserved += table_pages as u64;
        Ok(Reservation::new(sp, table_pages))
    }
    fn release(&mut self, r: Reservation) {
        self.reserved -= r.table_pages() as u64;
        self.pool_free += r.table_pages() as u64;
    }
    fn adopt(&mut self, r: Reservation) {
        self.adopted_log.push((r.sp(), r.table_pages()));
        self.release(r);
    }
    fn map(&mut self, r: &mut Reservation, ranges: &[PageRange], attrs: MappingAttrs) {
        let sp = r.sp();
        let key = (sp, ranges.first().map_or(0, |c| c.base.0));
        self.consume(r, ranges.len() as u64, key);
        for p in ranges.iter().flat_map(pages) {
            if self.access.insert((sp, p), attrs.access).is_some() {
                self.violations.push(format!("{sp:?} mapped {p:#x} twice"));
            }
            self.attrs.insert((sp, p), attrs);
        }
    }
    fn unmap(&mut self, r: &mut Reservation, ranges: &[PageRange]) {
        let sp = r.sp();
        self.give_back((sp, ranges.first().map_or(0, |c| c.base.0)));
        for p in ranges.iter().flat_map(pages) {
            if self.access.remove(&(sp, p)).is_none() {
                self.violations
                    .push(format!("{sp:?} unmapped unmapped {p:#x}"));
            }
            self.attrs.remove(&(sp, p));
        }
    }
    fn revoke_owner(&mut self, r: &mut Reservation, ranges: &[PageRange]) {
        let sp = r.sp();
        let key = (sp, ranges.first().map_or(0, |c| c.base.0));
        self.consume(r, ranges.len() as u64, key);
        for p in ranges.iter().flat_map(pages) {
            if self.access.remove(&(sp, p)).is_none() {
                self.violations.push(format!("owner {sp:?} had no {p:#x}"));
            }
            self.attrs.remove(&(sp, p));
        }
    }
    fn restore_owner(&mut self, r: &mut Reservation, ranges: &[PageRange], attrs: MappingAttrs) {
        let sp = r.sp();
        self.give_back((sp, ranges.first().map_or(0, |c| c.base.0)));
        for p in ranges.iter().flat_map(pages) {
            if self.access.insert((sp, p), attrs.access).is_some() {
                self.violations
                    .push(format!("owner {sp:?} restored mapped {p:#x}"));
            }
        }
    }
}

impl MemoryZeroing for Fake {
    fn zero(&mut self, range: PageRange) {
        for p in pages(&range) {
            self.content.insert(p, 0);
        }
        self.zero_log.push(range);
    }
}
