//! The environment the transaction engine needs, as traits, so the engine stays pure logic:
//! the kernel implements them over the partition table, the policy gate and the SP page
//! tables; host tests implement them with a fake that records every page's access.

use super::types::{
    Access, EndpointId, EndpointKind, MemKind, MemoryType, PageRange, Security, TransactionKind,
};

/// What an owner holds at a physical range, uniformly over the whole range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionInfo {
    /// The owner's own access to the range (an SP may not grant more).
    pub access: Access,
    /// RAM or MMIO.
    pub kind: MemKind,
    /// PA space of the range.
    pub security: Security,
}

/// Static ownership: what each endpoint owns before any donation.
///
/// The engine layers donations on top (it keeps its own table of donated ranges), so this
/// oracle only answers from configuration: for SPs the memory and device regions of the
/// partition table, for the normal world the platform's non-secure ranges.
pub trait OwnershipOracle {
    /// Returns what `owner` holds over the *whole* of `range`, or `None` if it does not own
    /// all of it uniformly. For a normal-world `owner` this must only ever answer for
    /// non-secure memory (never SPMC or SP memory); the engine re-checks `security`.
    fn static_region(&self, owner: EndpointId, range: PageRange) -> Option<RegionInfo>;

    /// What `owner` holds over every part of `span` at once: `Some(info)` only if
    /// [`OwnershipOracle::static_region`] answers `info` for every page range inside `span`,
    /// so that a send whose constituents all lie in `span` needs one query instead of one per
    /// constituent. `None` means "ask per range" (the default).
    fn static_span(&self, owner: EndpointId, span: PageRange) -> Option<RegionInfo> {
        let _ = (owner, span);
        None
    }

    /// Does SP `sp`'s own configuration (the regions of its partition-table entry, which the
    /// loader maps for it) hold any page of `range`? A retrieve must not map over such a page:
    /// the relinquish would then unmap the SP's own region (Hafnium's
    /// `ffa_retrieve_check_transition` refuses a retriever that has the pages mapped).
    fn statically_held(&self, sp: EndpointId, range: PageRange) -> bool;
}

/// The capability gate and endpoint directory (the kernel's `policy` module).
pub trait SharePolicy {
    /// What `id` is, or `None` if no such endpoint exists.
    fn endpoint_kind(&self, id: EndpointId) -> Option<EndpointKind>;
    /// May `sender` share/lend/donate memory with `receiver`, per the SP set description?
    fn may_send(&self, kind: TransactionKind, sender: EndpointId, receiver: EndpointId) -> bool;
    /// The SP set description's quota for SP `id`, if it overrides the default.
    fn quota_override(&self, id: EndpointId) -> Option<super::transaction::Quota> {
        let _ = id;
        None
    }
}

/// Attributes of one mapping in an SP's stage-1 tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MappingAttrs {
    /// Write / execute (read is implied).
    pub access: Access,
    /// Resolved memory type (never `NotSpecified`).
    pub memory: MemoryType,
    /// Set the NS bit: the range is in the non-secure PA space.
    pub non_secure: bool,
}

/// Page-table memory set aside for one SP before a commit.
///
/// The engine holds reservations inside transactions for as long as a later step needs them
/// (e.g. the owner's restore at reclaim), and hands every one back through
/// [`SpAddressSpaces::release`] or [`SpAddressSpaces::adopt`]. It is deliberately not `Clone`.
///
/// There is no VA in it: every mapping the engine makes is at VA = PA (see
/// [`SpAddressSpaces`]).
#[derive(Debug, PartialEq, Eq)]
pub struct Reservation {
    sp: EndpointId,
    table_pages: u32,
}

impl Reservation {
    /// Created by an [`SpAddressSpaces`] implementation when it set the memory aside.
    pub fn new(sp: EndpointId, table_pages: u32) -> Self {
        Reservation { sp, table_pages }
    }
    /// The SP whose tables this memory is for.
    pub fn sp(&self) -> EndpointId {
        self.sp
    }
    /// Table pages still reserved (not yet consumed by a map/unmap).
    pub fn table_pages(&self) -> u32 {
        self.table_pages
    }
    /// Takes `n` pages out of the reservation (for the port's map/unmap). Returns how many it
    /// could take: a port that asks for more than it reserved has a bug, but the engine's
    /// invariants must not depend on it, so this saturates instead of panicking.
    pub fn consume(&mut self, n: u32) -> u32 {
        let taken = n.min(self.table_pages);
        self.table_pages -= taken;
        taken
    }
    /// Puts `n` pages back (a port whose unmap freed table pages the reservation paid for).
    pub fn refund(&mut self, n: u32) {
        self.table_pages = self.table_pages.saturating_add(n);
    }
}

/// Refusal from [`SpAddressSpaces::reserve`]: the page-table pool is exhausted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoMemory;

/// The SP address-space port: page tables of S-EL0 partitions.
///
/// **Every mapping is at VA = PA.** An SP sees memory it retrieves, and memory it owns
/// (its manifest regions, pages donated to it), at the virtual address equal to the
/// physical one, as Hafnium maps memory for its partitions (`ffa_region_group_identity_map`
/// in Hafnium's src/ffa_memory.c, which adds `MM_MODE_USER | MM_MODE_NG` for S-EL0
/// partitions) and as Arm's FF-A ACS expects. Physical ranges of different SPs never
/// overlap, and the page-in-one-transaction rule keeps an SP from holding a page twice,
/// so no two mappings compete for a VA; no VA bookkeeping exists that could disagree with
/// the transaction state.
///
/// Contract: `reserve` is the only fallible call. Every `map`/`unmap`/`revoke_owner`/
/// `restore_owner` given a reservation obtained with at least the matching `*_cost` pages
/// cannot fail. `release` returns whatever the reservation still holds; `adopt` keeps the
/// mapping made with it for good (donation) and returns the rest.
pub trait SpAddressSpaces {
    /// Worst-case table pages to map `ranges` into `sp` and later unmap them.
    fn map_cost(&self, sp: EndpointId, ranges: &[PageRange]) -> u32;
    /// Worst-case table pages to remove the owner's mapping of `ranges` and later restore it.
    fn owner_cost(&self, sp: EndpointId, ranges: &[PageRange]) -> u32;
    /// Sets aside `table_pages` pages of page-table memory for `sp`.
    fn reserve(&mut self, sp: EndpointId, table_pages: u32) -> Result<Reservation, NoMemory>;
    /// Gives back what is left in `reservation`.
    fn release(&mut self, reservation: Reservation);
    /// Keeps the mapping made with `reservation` permanently (ownership moved to that SP by a
    /// donation) and gives back its unused table pages.
    fn adopt(&mut self, reservation: Reservation);
    /// Maps `ranges` at VA = PA in `reservation.sp()`. Cannot fail.
    fn map(&mut self, reservation: &mut Reservation, ranges: &[PageRange], attrs: MappingAttrs);
    /// Removes the mapping `map` made with this reservation. Cannot fail.
    fn unmap(&mut self, reservation: &mut Reservation, ranges: &[PageRange]);
    /// Removes the owner SP's own mapping of `ranges` (lend/donate), at VA = PA. Cannot fail.
    fn revoke_owner(&mut self, reservation: &mut Reservation, ranges: &[PageRange]);
    /// Puts the owner SP's mapping of `ranges` back with `attrs` (reclaim), at VA = PA.
    /// Cannot fail.
    fn restore_owner(
        &mut self,
        reservation: &mut Reservation,
        ranges: &[PageRange],
        attrs: MappingAttrs,
    );
}

/// Clears memory when a zero-memory flag asks for it (through the SPMC's own mapping).
pub trait MemoryZeroing {
    /// Writes zeros over `range`. Cannot fail.
    fn zero(&mut self, range: PageRange);
}

/// Everything the engine needs, in one bound.
pub trait Environment: OwnershipOracle + SharePolicy + SpAddressSpaces + MemoryZeroing {}

impl<T: OwnershipOracle + SharePolicy + SpAddressSpaces + MemoryZeroing> Environment for T {}
