//! The environment the transaction engine needs, as traits, so the engine stays pure logic:
//! the kernel implements them over the partition table, the policy gate and the SP page
//! tables; host tests implement them with a fake that records every page's access.

use super::types::{
    Access, EndpointId, EndpointKind, MemKind, MemoryType, PageRange, Security, TransactionKind,
    VirtAddr,
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
}

/// The capability gate and endpoint directory (the kernel's `policy` module).
pub trait SharePolicy {
    /// What `id` is, or `None` if no such endpoint exists.
    fn endpoint_kind(&self, id: EndpointId) -> Option<EndpointKind>;
    /// May `sender` share/lend/donate memory with `receiver`, per the SP set description?
    fn may_send(&self, kind: TransactionKind, sender: EndpointId, receiver: EndpointId) -> bool;
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

/// Page-table memory (and, for receivers, a VA window) set aside for one SP before a commit.
///
/// The engine holds reservations inside transactions for as long as a later step needs them
/// (e.g. the owner's restore at reclaim), and hands every one back through
/// [`SpAddressSpaces::release`] or [`SpAddressSpaces::adopt`]. It is deliberately not `Clone`.
#[derive(Debug, PartialEq, Eq)]
pub struct Reservation {
    sp: EndpointId,
    table_pages: u32,
    va: Option<VirtAddr>,
    va_pages: u64,
}

impl Reservation {
    /// Created by an [`SpAddressSpaces`] implementation when it set the memory aside.
    pub fn new(sp: EndpointId, table_pages: u32, va: Option<VirtAddr>, va_pages: u64) -> Self {
        Reservation {
            sp,
            table_pages,
            va,
            va_pages,
        }
    }
    /// The SP whose tables this memory is for.
    pub fn sp(&self) -> EndpointId {
        self.sp
    }
    /// Table pages still reserved (not yet consumed by a map/unmap).
    pub fn table_pages(&self) -> u32 {
        self.table_pages
    }
    /// Start of the reserved VA window, if one was asked for.
    pub fn va(&self) -> Option<VirtAddr> {
        self.va
    }
    /// Size of the VA window in pages.
    pub fn va_pages(&self) -> u64 {
        self.va_pages
    }
    /// Takes `n` pages out of the reservation (for the port's map/unmap). Returns how many it
    /// could take: a port that asks for more than it reserved has a bug, but the engine's
    /// invariants must not depend on it, so this saturates instead of panicking.
    pub fn consume(&mut self, n: u32) -> u32 {
        let taken = n.min(self.table_pages);
        self.table_pages -= taken;
        taken
    }
}

/// Refusal from [`SpAddressSpaces::reserve`]: the pool or the VA space is exhausted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoMemory;

/// The SP address-space port: page tables of S-EL0 partitions.
///
/// Contract: `reserve` is the only fallible call. Every `map`/`unmap`/`revoke_owner`/
/// `restore_owner` given a reservation obtained with at least the matching `*_cost` pages
/// cannot fail. `release` returns whatever the reservation still holds (and its VA window);
/// `adopt` keeps the mapping made with it for good (donation) and returns the rest.
pub trait SpAddressSpaces {
    /// Worst-case table pages to map `ranges` into `sp` and later unmap them.
    fn map_cost(&self, sp: EndpointId, ranges: &[PageRange]) -> u32;
    /// Worst-case table pages to remove the owner's mapping of `ranges` and later restore it.
    fn owner_cost(&self, sp: EndpointId, ranges: &[PageRange]) -> u32;
    /// Sets aside `table_pages` pages and, if `va_pages > 0`, a VA window of that many pages.
    fn reserve(
        &mut self,
        sp: EndpointId,
        table_pages: u32,
        va_pages: u64,
    ) -> Result<Reservation, NoMemory>;
    /// Gives back what is left in `reservation`, including its VA window.
    fn release(&mut self, reservation: Reservation);
    /// Keeps the mapping made with `reservation` permanently (ownership moved to that SP by a
    /// donation) and gives back its unused table pages.
    fn adopt(&mut self, reservation: Reservation);
    /// Called just before [`SpAddressSpaces::adopt`] with the physical `ranges` that now
    /// belong to `reservation.sp()`, mapped back to back from `reservation.va()`. A port whose
    /// owners are not identity mapped records it here, so that a later `revoke_owner` /
    /// `restore_owner` of these pages (the new owner lending them on) finds their VAs.
    fn adopted(&mut self, reservation: &Reservation, ranges: &[PageRange]) {
        let _ = (reservation, ranges);
    }
    /// Maps `ranges` back to back at the reservation's VA window. Cannot fail.
    fn map(&mut self, reservation: &mut Reservation, ranges: &[PageRange], attrs: MappingAttrs);
    /// Removes the mapping `map` made with this reservation. Cannot fail.
    fn unmap(&mut self, reservation: &mut Reservation, ranges: &[PageRange]);
    /// Removes the owner SP's own mapping of `ranges` (lend/donate). Cannot fail.
    fn revoke_owner(&mut self, reservation: &mut Reservation, ranges: &[PageRange]);
    /// Puts the owner SP's mapping of `ranges` back with `attrs` (reclaim). Cannot fail.
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
