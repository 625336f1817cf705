//! Stage-1 address spaces (built with `aarch64-paging`) and the kernel's window onto physical
//! memory.
//!
//! Every address space the SPMC installs in TTBR0_EL1 carries the same global, EL1-only kernel
//! mappings: the SPMC image identity mapped, its devices, and an *alias window* that maps the
//! memory the SPMC works on for others (the SP pool and the rest of secure RAM outside the SPMC,
//! and non-secure DRAM) at `pa + ALIAS_OFFSET`. An SP's own regions are added identity mapped,
//! non-global (tagged with the SP's ASID) and EL0-accessible. So switching TTBR0 between SPs never
//! changes what the kernel sees, and the kernel never touches SP or normal-world memory through
//! an identity address an SP could also use.

#![forbid(unsafe_code)]

use crate::arch::table_pool::PoolTranslation;
use aarch64_paging::descriptor::{El1Attributes, PhysicalAddress, VirtualAddress};
use aarch64_paging::paging::{Constraints, El1And0, MemoryRegion, VaRange};
use aarch64_paging::{MapError, Mapping};

/// The translation granule (4 KiB) and physical ranges are ffa-abi's, like every address type
/// of the workspace.
pub use ffa_abi::{PhysRange, PAGE_SIZE};
/// Where the alias window starts: kernel VA of physical address `pa` is `pa + ALIAS_OFFSET`.
/// Above every identity address the platforms use for SPs (48-bit VAs, 4 KiB granule).
pub const ALIAS_OFFSET: u64 = 0x4000_0000_0000;

/// What the kernel maps in every address space (from the platform and the linker).
#[derive(Clone, Copy, Debug)]
pub struct KernelLayout {
    /// Executable, read-only at EL1.
    pub text: PhysRange,
    /// Read-only, never executable.
    pub rodata: PhysRange,
    /// Read-write, never executable: data, bss, stacks, heap (page tables live in the heap).
    pub data: PhysRange,
    /// Device MMIO the kernel drives (UART, GIC).
    pub devices: &'static [PhysRange],
    /// Secure memory reachable through the alias window (excluding the SPMC's own region).
    pub secure_alias: &'static [PhysRange],
    /// Non-secure memory reachable through the alias window (mapped with the NS bit).
    pub ns_alias: &'static [PhysRange],
    /// Pages inside `data` left unmapped: the lowest page of each core's stack, so that a
    /// kernel stack overflow faults instead of running into another core's stack.
    pub guards: &'static [PhysRange],
    /// Secure memory EL3 keeps for itself (TF-A's BL31/BL2/BL1 RW data, shared RAM, config
    /// pages): no address space ever maps a byte of it, at EL1 or EL0 (`MapError::AddressRange`).
    pub el3_reserved: &'static [PhysRange],
}

impl KernelLayout {
    /// Returns the first range the kernel would map that overlaps EL3's memory: its image,
    /// devices or alias windows.
    pub fn el3_overlap(&self) -> Option<(PhysRange, PhysRange)> {
        let mine = [self.text, self.rodata, self.data]
            .into_iter()
            .chain(self.devices.iter().copied())
            .chain(self.secure_alias.iter().copied())
            .chain(self.ns_alias.iter().copied());
        for r in mine {
            if let Some(e) = overlapping(r, self.el3_reserved) {
                return Some((r, e));
            }
        }
        None
    }
}

/// Returns the first range of `reserved` that shares a byte with `r`.
pub fn overlapping(r: PhysRange, reserved: &[PhysRange]) -> Option<PhysRange> {
    let end = r.base.saturating_add(r.size);
    reserved.iter().copied().find(|e| {
        r.size != 0 && e.size != 0 && r.base < e.base.saturating_add(e.size) && e.base < end
    })
}

/// How an SP may access one of its pages.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct UserPerm {
    pub write: bool,
    pub exec: bool,
    /// Normal-world memory: mapped with the NS bit.
    pub non_secure: bool,
    /// Memory type of the mapping.
    pub memory: MemType,
}

/// The memory type of an SP mapping: normal write-back, or one of the four device types
/// (FF-A memory region attributes; each has its own MAIR_EL1 index, see `arch::enable_mmu`).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum MemType {
    Normal,
    DeviceNgnrne,
    DeviceNgnre,
    DeviceNgre,
    DeviceGre,
}

impl UserPerm {
    /// Tells whether the mapping is device memory.
    pub fn is_device(&self) -> bool {
        self.memory != MemType::Normal
    }
}

impl UserPerm {
    /// Read-only data.
    pub const RO: Self = Self {
        write: false,
        exec: false,
        non_secure: false,
        memory: MemType::Normal,
    };
    /// Read-write data.
    pub const RW: Self = Self {
        write: true,
        exec: false,
        non_secure: false,
        memory: MemType::Normal,
    };
    /// Read-only code.
    pub const RX: Self = Self {
        write: false,
        exec: true,
        non_secure: false,
        memory: MemType::Normal,
    };
}

// MAIR_EL1 indices, programmed by `arch::aarch64::enable_mmu`: 0 Device-nGnRE, 1 Normal
// write-back, 2 Device-nGnRnE, 3 Device-nGRE, 4 Device-GRE.
const MAIR_DEVICE: El1Attributes = El1Attributes::ATTRIBUTE_INDEX_0;
const MAIR_NORMAL: El1Attributes = El1Attributes::ATTRIBUTE_INDEX_1;
const MAIR_DEVICE_NGNRNE: El1Attributes = El1Attributes::ATTRIBUTE_INDEX_2;
const MAIR_DEVICE_NGRE: El1Attributes = El1Attributes::ATTRIBUTE_INDEX_3;
const MAIR_DEVICE_GRE: El1Attributes = El1Attributes::ATTRIBUTE_INDEX_4;
const BASE: El1Attributes = El1Attributes::VALID.union(El1Attributes::ACCESSED);

/// Attribute bits for an EL0 mapping with the given permissions.
pub fn user_attributes(perm: UserPerm) -> El1Attributes {
    let mut a = BASE | El1Attributes::USER | El1Attributes::NON_GLOBAL | El1Attributes::PXN;
    a |= match perm.memory {
        MemType::Normal => MAIR_NORMAL | El1Attributes::INNER_SHAREABLE,
        MemType::DeviceNgnre => MAIR_DEVICE | El1Attributes::UXN,
        MemType::DeviceNgnrne => MAIR_DEVICE_NGNRNE | El1Attributes::UXN,
        MemType::DeviceNgre => MAIR_DEVICE_NGRE | El1Attributes::UXN,
        MemType::DeviceGre => MAIR_DEVICE_GRE | El1Attributes::UXN,
    };
    if !perm.write {
        a |= El1Attributes::READ_ONLY;
    }
    if !perm.exec {
        a |= El1Attributes::UXN;
    }
    if perm.non_secure {
        a |= El1Attributes::NS;
    }
    a
}

/// Decodes the permission an EL0 mapping grants (the inverse of [`user_attributes`]).
pub fn user_perm_of(a: El1Attributes) -> UserPerm {
    UserPerm {
        write: !a.contains(El1Attributes::READ_ONLY),
        exec: !a.contains(El1Attributes::UXN),
        non_secure: a.contains(El1Attributes::NS),
        memory: match a.bits() & (7 << 2) {
            x if x == MAIR_DEVICE.bits() => MemType::DeviceNgnre,
            x if x == MAIR_DEVICE_NGNRNE.bits() => MemType::DeviceNgnrne,
            x if x == MAIR_DEVICE_NGRE.bits() => MemType::DeviceNgre,
            x if x == MAIR_DEVICE_GRE.bits() => MemType::DeviceGre,
            _ => MemType::Normal,
        },
    }
}

/// One stage-1 translation table for TTBR0_EL1.
///
/// Tables for mappings the memory ABIs make come from a pool set aside beforehand
/// ([`AddressSpace::reserve_tables`]), so those mappings cannot fail; the level-3 table of a
/// 2 MiB chunk that holds only such mappings is freed when the last of them goes.
pub struct AddressSpace {
    map: Mapping<PoolTranslation, El1And0>,
    asid: u16,
    /// EL3's memory (`KernelLayout::el3_reserved`): refused by every mapping.
    el3_reserved: &'static [PhysRange],
    /// Pool pages promised to live reservations; the rest of the pool is spare.
    reserved: usize,
    /// VA ranges mapped outside the memory ABIs (the kernel's mappings, the SP's own
    /// regions): the tables under them are never freed.
    pinned: heapless::Vec<(u64, u64), 24>,
    /// More pinned ranges than `pinned` holds: free no table at all.
    pin_overflow: bool,
    /// Per 2 MiB chunk (index = VA >> 21): pages the memory ABIs have mapped there.
    shared: heapless::Vec<(u64, u32), 64>,
}

/// Spare pool pages an address space keeps between memory operations (a one-page retrieve
/// reserves a few and uses at most one): more go back to the heap.
pub const SPARE_TABLE_PAGES: usize = 8;

/// VA span of one level-3 table.
const CHUNK_SHIFT: u32 = 21;

/// The end of a (base, pages) range (saturating: callers have checked it does not wrap).
fn range_end((base, pages): (u64, u64)) -> u64 {
    base.saturating_add(pages.saturating_mul(PAGE_SIZE))
}

/// A run of ranges the page-table code maps or unmaps together ([`next_run`]).
struct Run {
    /// One past the index of the run's last range.
    end: usize,
    /// The 2 MiB chunk every range of the run lies in; `None` for a run of one range that
    /// crosses a chunk boundary (or is empty).
    chunk: Option<u64>,
    /// Pages in the run's ranges.
    pages: u64,
    /// The first range's base and the last range's end.
    lo: u64,
    hi: u64,
}

/// The run of `ranges` that starts at index `i`, the range before it ending at `prev_end`
/// (0 for the first): `ranges[i]` and, if it lies inside one 2 MiB chunk, the ranges after it
/// inside the same chunk, each starting at or after the end of the one before. `None` when
/// there is no range at `i` or it starts before `prev_end`: from `i` on the ranges are not in
/// address order (disjoint ranges in increasing order are cut into runs to the end).
///
/// One look at each range makes the order check, the grouping by chunk and the page count
/// that the map and the unmap need (they were separate passes over the ranges).
fn next_run<T: PageSpan>(ranges: &[T], i: usize, prev_end: u64) -> Option<Run> {
    let (lo, n) = ranges.get(i)?.span();
    if lo < prev_end {
        return None;
    }
    let mut hi = range_end((lo, n));
    let chunk = lo >> CHUNK_SHIFT;
    if n == 0 || (hi - 1) >> CHUNK_SHIFT != chunk {
        return Some(Run {
            end: i + 1,
            chunk: None,
            pages: n,
            lo,
            hi,
        });
    }
    let (mut j, mut pages) = (i + 1, n);
    while let Some(q) = ranges.get(j) {
        let (b, n) = q.span();
        let end = range_end((b, n));
        // Out of order (the next run finds it), empty, or not inside the chunk: the run ends
        // (`b >= hi` puts `b` in the chunk when the end is).
        if b < hi || n == 0 || (end - 1) >> CHUNK_SHIFT != chunk {
            break;
        }
        (j, pages, hi) = (j + 1, pages + n, end);
    }
    Some(Run {
        end: j,
        chunk: Some(chunk),
        pages,
        lo,
        hi,
    })
}

/// Level-3 entries in one 2 MiB chunk.
const CHUNK_PAGES: u64 = 1 << (CHUNK_SHIFT - PAGE_SIZE.trailing_zeros());

/// The pages of one 2 MiB chunk that ranges inside it cover, one bit per level-3 entry: a
/// walk's callback tests one bit per entry instead of searching the ranges, so an entry in a
/// gap between them costs a few instructions.
struct ChunkPages([u64; (CHUNK_PAGES / 64) as usize]);

impl ChunkPages {
    /// The pages of `ranges` ((base, pages), all inside one chunk: a run of [`next_run`]).
    fn of<T: PageSpan>(ranges: &[T]) -> Self {
        let mut words = [0u64; (CHUNK_PAGES / 64) as usize];
        for r in ranges {
            let (base, pages) = r.span();
            let mut at = (base / PAGE_SIZE) % CHUNK_PAGES;
            if pages == 1 {
                // The usual scattered range (Linux shares buffers page by page).
                words[(at / 64) as usize] |= 1 << (at % 64);
                continue;
            }
            let end = at.saturating_add(pages).min(CHUNK_PAGES);
            while at < end {
                // The bits of [at, end) in this word: k of them (1..=64) from `bit` up.
                let bit = at % 64;
                let k = (end - at).min(64 - bit);
                words[(at / 64) as usize] |= (u64::MAX >> (64 - k)) << bit;
                at += k;
            }
        }
        Self(words)
    }

    /// Is the page at `va` (inside the chunk) one of them?
    fn covers(&self, va: u64) -> bool {
        let i = (va / PAGE_SIZE) % CHUNK_PAGES;
        self.0[(i / 64) as usize] >> (i % 64) & 1 != 0
    }
}

/// A (base, pages) range as the page-table code takes it: tuples, and the memory engine's
/// ranges without a copy into another list.
pub trait PageSpan: Copy {
    /// (base address, pages).
    fn span(self) -> (u64, u64);
}

impl PageSpan for (u64, u64) {
    fn span(self) -> (u64, u64) {
        self
    }
}

/// Page-table pages that mapping `ranges` ((base, pages), in any order) at VA = PA with
/// page entries can need at most, in a table whose root is level 0: one level-3 table per
/// 2 MiB chunk the ranges touch, one level-2 table per 1 GiB, one level-1 table per 512 GiB.
/// A chunk is counted again only when the ranges leave it and come back, so ranges in address
/// order count each chunk once, and in any order every chunk is counted at least once.
pub fn table_pages_for(ranges: impl IntoIterator<Item = (u64, u64)>) -> u64 {
    const SHIFTS: [u32; 3] = [CHUNK_SHIFT, 30, 39];
    let mut total = 0u64;
    let mut last = [u64::MAX; 3];
    for (base, pages) in ranges {
        if pages == 0 {
            continue;
        }
        let end = range_end((base, pages)) - 1;
        // Inside the chunk the previous range ended in: nothing new at any level.
        if base >> CHUNK_SHIFT == last[0] && end >> CHUNK_SHIFT == last[0] {
            continue;
        }
        for (shift, prev) in SHIFTS.iter().zip(last.iter_mut()) {
            let (lo, hi) = (base >> shift, end >> shift);
            let n = hi - lo + 1 - u64::from(lo == *prev);
            total = total.saturating_add(n);
            *prev = hi;
        }
    }
    total
}

/// The error for an address or size that does not fit the 64-bit/usize arithmetic.
fn out_of_range() -> MapError {
    MapError::AddressRange(VirtualAddress(usize::MAX))
}

fn region(base: u64, size: u64) -> Result<MemoryRegion, MapError> {
    let b = usize::try_from(base).map_err(|_| out_of_range())?;
    let e = base
        .checked_add(size)
        .and_then(|e| usize::try_from(e).ok())
        .ok_or_else(out_of_range)?;
    Ok(MemoryRegion::new(b, e))
}

impl AddressSpace {
    /// Builds a table holding only the kernel's mappings, for ASID `asid` (0 for the kernel's).
    pub fn new(layout: &KernelLayout, asid: u16) -> Result<Self, MapError> {
        let map = Mapping::with_asid_and_va_range(
            PoolTranslation::new(),
            usize::from(asid),
            0,
            El1And0,
            VaRange::Lower,
        );
        let mut s = Self {
            map,
            asid,
            el3_reserved: layout.el3_reserved,
            reserved: 0,
            pinned: heapless::Vec::new(),
            pin_overflow: false,
            shared: heapless::Vec::new(),
        };
        let k = BASE | MAIR_NORMAL | El1Attributes::INNER_SHAREABLE | El1Attributes::UXN;
        s.map_phys(layout.text.base, layout.text, k | El1Attributes::READ_ONLY)?;
        s.map_phys(
            layout.rodata.base,
            layout.rodata,
            k | El1Attributes::READ_ONLY | El1Attributes::PXN,
        )?;
        s.map_phys(layout.data.base, layout.data, k | El1Attributes::PXN)?;
        for g in layout.guards {
            s.unmap_kernel(*g)?;
        }
        let dev = BASE | MAIR_DEVICE | El1Attributes::UXN | El1Attributes::PXN;
        for d in layout.devices {
            s.map_phys(d.base, *d, dev)?;
        }
        for r in layout.secure_alias {
            s.map_phys(r.base + ALIAS_OFFSET, *r, k | El1Attributes::PXN)?;
        }
        for r in layout.ns_alias {
            s.map_phys(
                r.base + ALIAS_OFFSET,
                *r,
                k | El1Attributes::PXN | El1Attributes::NS,
            )?;
        }
        Ok(s)
    }

    fn map_phys(&mut self, va: u64, pa: PhysRange, attrs: El1Attributes) -> Result<(), MapError> {
        if pa.size == 0 {
            return Ok(());
        }
        if let Some(e) = overlapping(pa, self.el3_reserved) {
            return Err(MapError::AddressRange(VirtualAddress(
                usize::try_from(e.base).unwrap_or(usize::MAX),
            )));
        }
        self.pin(va, pa.size);
        let pa_usize = usize::try_from(pa.base).map_err(|_| out_of_range())?;
        // SP mappings stay page-granular so that a later permission change or unmap of part of a
        // region never has to split a live block.
        let c = if attrs.contains(El1Attributes::USER) {
            Constraints::NO_BLOCK_MAPPINGS
        } else {
            Constraints::empty()
        };
        self.map
            .map_range(&region(va, pa.size)?, PhysicalAddress(pa_usize), attrs, c)
    }

    /// Leaves `r` (identity, page aligned) unmapped in the kernel's mappings.
    fn unmap_kernel(&mut self, r: PhysRange) -> Result<(), MapError> {
        self.map.map_range(
            &region(r.base, r.size)?,
            PhysicalAddress(0),
            El1Attributes::empty(),
            Constraints::empty(),
        )
    }

    /// Records that `[va, va + size)` holds mappings the memory ABIs did not make.
    fn pin(&mut self, va: u64, size: u64) {
        let end = va.saturating_add(size);
        // Mapped again with the same extent (a partition's restart): pinned already.
        if self.pinned.iter().any(|&(a, b)| a <= va && end <= b) {
            return;
        }
        if let Some(last) = self.pinned.last_mut() {
            if last.1 == va {
                last.1 = end;
                return;
            }
        }
        if self.pinned.push((va, end)).is_err() {
            self.pin_overflow = true;
        }
    }

    /// Sets aside `n` pool pages for a later [`AddressSpace::map_shared`] (taking what the
    /// spare pages do not cover from the heap). False, with nothing changed, if the heap
    /// cannot provide them.
    pub fn reserve_tables(&mut self, n: usize) -> bool {
        let t = self.map.translation();
        let spare = t.len().saturating_sub(self.reserved);
        if spare < n && !t.fill(n - spare) {
            return false;
        }
        self.reserved += n;
        true
    }

    /// Gives back `n` reserved pool pages (they become spare).
    pub fn release_tables(&mut self, n: usize) {
        self.reserved = self.reserved.saturating_sub(n);
    }

    /// Returns spare pool pages beyond [`SPARE_TABLE_PAGES`] to the heap. Call it only after
    /// the TLB entries of this ASID were invalidated: the pool holds the tables unmaps freed,
    /// which the table walker may still have cached until then.
    pub fn trim_pool(&mut self) {
        let t = self.map.translation();
        let spare = t.len().saturating_sub(self.reserved);
        t.drain(spare.saturating_sub(SPARE_TABLE_PAGES));
    }

    /// Pool pages: (reserved, spare), and tables the heap provided because the pool was empty.
    pub fn pool_stats(&self) -> (usize, usize, u32) {
        let t = self.map.translation();
        (
            self.reserved,
            t.len().saturating_sub(self.reserved),
            t.heap_fallbacks(),
        )
    }

    /// Maps `pages` pages at VA = PA = `pa` for the memory ABIs, with tables from the
    /// reserved pool: [`AddressSpace::map_shared_ranges`] for one range.
    pub fn map_shared(&mut self, pa: u64, pages: u64, perm: UserPerm) -> Result<usize, MapError> {
        self.map_shared_ranges(&[(pa, pages)], perm)
    }

    /// Maps the pages of `ranges` ((base, pages), disjoint, in any order) at VA = PA for the
    /// memory ABIs, with tables from the reserved pool, and counts them per 2 MiB chunk.
    /// Returns the pool pages it used (taken off the reservation). On error nothing stays
    /// mapped or counted and the reserved counter is unchanged, but not every table is back:
    /// the level-3 tables go back to the pool, while level-1/2 tables the first ranges built
    /// stay in the table (empty, reused by the next map that reaches them). The pool may then
    /// hold fewer pages than are reserved, and a later map of the same reservation may take a
    /// table from the heap. Only an internal bug reaches this (validation passed memory the
    /// map refuses: EL3's).
    ///
    /// Ranges in address order (what senders usually give) take one walk from the root per
    /// chunk instead of one per range (a scattered region's ranges share their tables): the
    /// first range of a run in one chunk ([`next_run`]), and any range that crosses a chunk
    /// boundary, is mapped with `map_range`, which builds the chunk's tables; the run's other
    /// ranges are then written by one `modify_range` walk over their span, which allocates
    /// nothing. The order check, the grouping by chunk and the page count are made in the same
    /// look at each range. From the first range that starts before the previous one ends on,
    /// each range is mapped by its own walk from the root.
    pub fn map_shared_ranges<T: PageSpan>(
        &mut self,
        ranges: &[T],
        perm: UserPerm,
    ) -> Result<usize, MapError> {
        let before = self.map.translation().len();
        match self.map_ranges(ranges, user_attributes(perm)) {
            Ok(()) => {
                let used = before.saturating_sub(self.map.translation().len());
                self.reserved = self.reserved.saturating_sub(used);
                Ok(used)
            }
            Err((counted, e)) => {
                // The ranges counted (and maybe mapped) so far come off again; their level-3
                // tables go back to the pool.
                let _ = self.unmap_shared_ranges(&ranges[..counted]);
                Err(e)
            }
        }
    }

    /// The mapping and counting of [`AddressSpace::map_shared_ranges`]; on error, also how
    /// many ranges from the start were counted (and maybe mapped).
    fn map_ranges<T: PageSpan>(
        &mut self,
        ranges: &[T],
        attrs: El1Attributes,
    ) -> Result<(), (usize, MapError)> {
        let (mut i, mut prev_end) = (0, 0);
        while let Some(run) = next_run(ranges, i, prev_end) {
            let group = &ranges[i..run.end];
            self.refuse_el3(group, run.lo, run.hi).map_err(|e| (i, e))?;
            // Counted before it is mapped, so that an undo counts off what was counted.
            match run.chunk {
                Some(c) => {
                    self.count_chunk(c, run.pages, true);
                }
                None => self.count_shared(run.lo, run.pages, true),
            }
            self.map_run(group, run.hi, attrs)
                .map_err(|e| (run.end, e))?;
            (i, prev_end) = (run.end, run.hi);
        }
        // Not in address order from `i` on: one walk from the root per range.
        for (k, r) in ranges.iter().enumerate().skip(i) {
            let (b, n) = r.span();
            self.refuse_el3(core::slice::from_ref(r), b, range_end((b, n)))
                .map_err(|e| (k, e))?;
            self.count_shared(b, n, true);
            self.map_one((b, n), attrs).map_err(|e| (k + 1, e))?;
        }
        Ok(())
    }

    /// Refuses ranges of `group` that overlap EL3's memory; `[lo, hi)` is their span, checked
    /// first (a run's ranges are checked one by one only when their span overlaps it).
    fn refuse_el3<T: PageSpan>(&self, group: &[T], lo: u64, hi: u64) -> Result<(), MapError> {
        let span = PhysRange {
            base: lo,
            size: hi.saturating_sub(lo),
        };
        if overlapping(span, self.el3_reserved).is_none() {
            return Ok(());
        }
        for r in group {
            let (b, n) = r.span();
            let size = n.checked_mul(PAGE_SIZE).ok_or_else(out_of_range)?;
            if let Some(e) = overlapping(PhysRange { base: b, size }, self.el3_reserved) {
                return Err(MapError::AddressRange(VirtualAddress(
                    usize::try_from(e.base).unwrap_or(usize::MAX),
                )));
            }
        }
        Ok(())
    }

    /// Maps one run of in-order ranges ([`next_run`]) ending at `hi`: its first range by a
    /// walk from the root that builds the tables, the others (a run of more than one range
    /// lies in one chunk, whose level-3 table exists then) by one `modify_range` walk over
    /// their span.
    fn map_run<T: PageSpan>(
        &mut self,
        group: &[T],
        hi: u64,
        attrs: El1Attributes,
    ) -> Result<(), MapError> {
        let Some((first, rest)) = group.split_first() else {
            return Ok(());
        };
        self.map_one(first.span(), attrs)?;
        let Some(lo) = rest.first().map(|r| r.span().0) else {
            return Ok(());
        };
        let pages = ChunkPages::of(rest);
        let missed = core::cell::Cell::new(false);
        let page = attrs | El1Attributes::TABLE_OR_PAGE;
        self.map.modify_range(&region(lo, hi - lo)?, &|mr, d| {
            if d.level() != 3 {
                // Not a page entry (cannot happen: map_one built the chunk's table). The
                // run's ranges are then mapped one by one below.
                missed.set(true);
                return Ok(());
            }
            let va = mr.start().0;
            if pages.covers(va as u64) {
                d.set(PhysicalAddress(va), page)
            } else {
                Ok(())
            }
        })?;
        if missed.get() {
            for q in rest {
                self.map_one(q.span(), attrs)?;
            }
        }
        Ok(())
    }

    /// Maps one range at VA = PA with `attrs`, walking from the root.
    fn map_one(&mut self, (pa, pages): (u64, u64), attrs: El1Attributes) -> Result<(), MapError> {
        let size = pages.checked_mul(PAGE_SIZE).ok_or_else(out_of_range)?;
        self.map.map_range(
            &region(pa, size)?,
            PhysicalAddress(usize::try_from(pa).map_err(|_| out_of_range())?),
            attrs,
            Constraints::NO_BLOCK_MAPPINGS,
        )
    }

    /// Removes a mapping [`AddressSpace::map_shared`] made (or an owner's own pages, at VA =
    /// PA): [`AddressSpace::unmap_shared_ranges`] for one range.
    pub fn unmap_shared(&mut self, pa: u64, pages: u64) -> Result<(), MapError> {
        self.unmap_shared_ranges(&[(pa, pages)])
    }

    /// Removes the mappings of `ranges` ((base, pages), disjoint, in any order) that
    /// [`AddressSpace::map_shared_ranges`] made (or an owner's own pages, at VA = PA) and
    /// counts them off, then frees the level-3 table of every chunk they leave without
    /// memory-ABI mappings and outside the pinned ranges (its page goes to the pool: see
    /// [`AddressSpace::trim_pool`]). Other pages of the ranges' span are left as they are.
    ///
    /// In address order, a run of ranges in one chunk ([`next_run`]) is unmapped by one walk
    /// over its span, or not walked at all when it leaves the chunk empty: the chunk's level-3
    /// table is freed whole. A chunk is freed only once every range in it is counted off (a
    /// range crossing into it is counted when its own run comes), so no later unmap finds it
    /// without a table and builds one. From the first range out of order on, each range takes
    /// its own walk from the root. Every range is unmapped even if one fails; the first error
    /// is returned.
    pub fn unmap_shared_ranges<T: PageSpan>(&mut self, ranges: &[T]) -> Result<(), MapError> {
        let mut result = Ok(());
        // The span of the ranges, in which emptied chunks not freed yet are freed at the end.
        let (mut lo, mut hi) = (u64::MAX, 0u64);
        let (mut i, mut prev_end) = (0, 0);
        while let Some(run) = next_run(ranges, i, prev_end) {
            let group = &ranges[i..run.end];
            let r = match run.chunk {
                Some(c) => match self.count_chunk(c, run.pages, false) {
                    Some((at, 0)) if self.unpinned(c) => {
                        let r = self.free_chunk(c);
                        if r.is_ok() {
                            self.shared.remove(at);
                        }
                        r
                    }
                    _ if group.len() > 1 => self.unmap_walk(group, run.lo, run.hi),
                    _ => self.unmap_user(run.lo, run.pages),
                },
                None => {
                    self.count_shared(run.lo, run.pages, false);
                    self.unmap_user(run.lo, run.pages)
                }
            };
            result = result.and(r);
            (lo, hi) = (lo.min(run.lo), hi.max(run.hi));
            (i, prev_end) = (run.end, run.hi);
        }
        for r in ranges.iter().skip(i) {
            let (b, n) = r.span();
            self.count_shared(b, n, false);
            result = result.and(self.unmap_user(b, n));
            (lo, hi) = (lo.min(b), hi.max(range_end((b, n))));
        }
        if hi > lo {
            result = result.and(self.free_unused_chunks(lo, (hi - lo) / PAGE_SIZE));
        }
        result
    }

    /// Is `chunk` outside every pinned range (so that its level-3 table may be freed once no
    /// memory-ABI mapping is left in it)?
    fn unpinned(&self, chunk: u64) -> bool {
        let (lo, hi) = (chunk << CHUNK_SHIFT, (chunk + 1) << CHUNK_SHIFT);
        !self.pin_overflow && !self.pinned.iter().any(|&(a, b)| a < hi && lo < b)
    }

    /// Unmaps the whole of `chunk`: replaces its level-2 entry and frees its level-3 table
    /// (it exists: the memory ABIs mapped in it, so this allocates nothing).
    fn free_chunk(&mut self, chunk: u64) -> Result<(), MapError> {
        let lo = chunk << CHUNK_SHIFT;
        self.map.map_range(
            &region(lo, 1 << CHUNK_SHIFT)?,
            PhysicalAddress(0),
            El1Attributes::empty(),
            Constraints::empty(),
        )
    }

    /// Unmaps the pages of `ranges` (a run inside one chunk, spanning `[lo, hi)`) in one
    /// `modify_range` walk over their span.
    fn unmap_walk<T: PageSpan>(&mut self, ranges: &[T], lo: u64, hi: u64) -> Result<(), MapError> {
        let pages = ChunkPages::of(ranges);
        self.map.modify_range(&region(lo, hi - lo)?, &|mr, d| {
            if d.is_table() || !d.flags().contains(El1Attributes::VALID) {
                return Ok(());
            }
            if pages.covers(mr.start().0 as u64) {
                d.set(PhysicalAddress(0), El1Attributes::empty())?;
            }
            Ok(())
        })
    }

    /// Frees the level-3 tables of the chunks of `[pa, pa + pages)` that hold no shared
    /// mapping and no pinned range.
    pub fn free_unused_chunks(&mut self, pa: u64, pages: u64) -> Result<(), MapError> {
        if self.pin_overflow || pages == 0 {
            self.shared.retain(|&(_, n)| n > 0);
            return Ok(());
        }
        let size = pages * PAGE_SIZE;
        let (first, last) = (pa >> CHUNK_SHIFT, (pa + size - 1) >> CHUNK_SHIFT);
        // Only chunks the memory ABIs mapped in (an entry of `shared`, its count now 0): their
        // tables exist, so unmapping the whole chunk allocates nothing.
        let mut result = Ok(());
        for i in 0..self.shared.len() {
            let (chunk, n) = self.shared[i];
            if n != 0 || chunk < first || chunk > last {
                continue;
            }
            if self.unpinned(chunk) {
                // Unmapping the whole chunk replaces its level-2 entry and frees the table.
                result = result.and(self.free_chunk(chunk));
            }
        }
        self.shared.retain(|&(_, n)| n > 0);
        result
    }

    /// Adds or removes `n` pages in the count of shared mappings of `chunk`. Returns where
    /// the chunk is in the list and its count now (`None`: not tracked).
    fn count_chunk(&mut self, chunk: u64, n: u64, add: bool) -> Option<(usize, u32)> {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        match self.shared.iter().position(|&(c, _)| c == chunk) {
            Some(at) => {
                let k = &mut self.shared[at].1;
                *k = if add {
                    k.saturating_add(n)
                } else {
                    k.saturating_sub(n)
                };
                Some((at, *k))
            }
            None if add => {
                if self.shared.push((chunk, n)).is_err() {
                    // Untracked: never freed (bounded by the chunks the SP can reach).
                    self.pin(chunk << CHUNK_SHIFT, 1 << CHUNK_SHIFT);
                    return None;
                }
                Some((self.shared.len() - 1, n))
            }
            None => None,
        }
    }

    /// Adds or removes `pages` pages at `pa` in the per-chunk counts of shared mappings.
    fn count_shared(&mut self, pa: u64, pages: u64, add: bool) {
        let mut at = pa;
        let end = range_end((pa, pages));
        while at < end {
            let chunk = at >> CHUNK_SHIFT;
            let next = ((chunk + 1) << CHUNK_SHIFT).min(end);
            self.count_chunk(chunk, (next - at) / PAGE_SIZE, add);
            at = next;
        }
    }

    /// Maps `pages` pages of physical memory at `pa` to EL0 at `va` with `perm`.
    pub fn map_user(
        &mut self,
        va: u64,
        pa: u64,
        pages: u64,
        perm: UserPerm,
    ) -> Result<(), MapError> {
        let size = pages.checked_mul(PAGE_SIZE).ok_or_else(out_of_range)?;
        self.map_phys(va, PhysRange { base: pa, size }, user_attributes(perm))
    }

    /// Removes EL0 mappings of `[va, va + pages * PAGE_SIZE)` (entries become invalid).
    pub fn unmap_user(&mut self, va: u64, pages: u64) -> Result<(), MapError> {
        let size = pages.checked_mul(PAGE_SIZE).ok_or_else(out_of_range)?;
        self.map.map_range(
            &region(va, size)?,
            PhysicalAddress(0),
            El1Attributes::empty(),
            Constraints::NO_BLOCK_MAPPINGS,
        )
    }

    /// Changes the permission of already-mapped EL0 pages (FFA_MEM_PERM_SET).
    pub fn set_user_perm(&mut self, va: u64, pages: u64, perm: UserPerm) -> Result<(), MapError> {
        let size = pages.checked_mul(PAGE_SIZE).ok_or_else(out_of_range)?;
        let new = user_attributes(perm);
        self.map.modify_range(&region(va, size)?, &|_r, d| {
            if !d.is_table() {
                let flags = d.flags();
                if !flags.contains(El1Attributes::USER) {
                    return Err(());
                }
                d.set(
                    d.output_address(),
                    new | (flags & El1Attributes::TABLE_OR_PAGE),
                )
                .map_err(|_| ())?;
            }
            Ok(())
        })
    }

    /// Returns the EL0 permission of the page at `va`, or `None` if EL0 cannot access it.
    pub fn user_perm(&self, va: u64) -> Option<UserPerm> {
        self.translate(va).map(|(_, perm)| perm)
    }

    /// Translates an EL0 virtual address to its physical address and EL0 permission.
    pub fn translate(&self, va: u64) -> Option<(u64, UserPerm)> {
        let mut found = None;
        let page = va & !(PAGE_SIZE - 1);
        let r = region(page, PAGE_SIZE).ok()?;
        self.map
            .walk_range(&r, &mut |mr, d, _level| {
                let f = d.flags();
                if d.is_valid() && f.contains(El1Attributes::USER) {
                    let base = d.output_address().0 as u64;
                    let offset = page - mr.start().0 as u64;
                    found = Some((base + offset + (va - page), user_perm_of(f)));
                }
                Ok(())
            })
            .ok()?;
        found
    }

    /// Returns the TTBR0_EL1 value that installs this table with its ASID.
    pub fn ttbr0(&self) -> u64 {
        (self.map.root_address().0 as u64) | (u64::from(self.asid) << 48)
    }

    /// Returns the ASID the table is tagged with.
    pub fn asid(&self) -> u16 {
        self.asid
    }
}

/// Memory the SPMC maps into an SP for the memory ABIs sits at VA = PA. Secure and
/// non-secure physical addresses are two spaces, so that is only sound if no normal-world
/// range the normal world may share has the same numbers as something an SP table maps in
/// the secure space (the SPMC's image and devices, in every table; the SP pool) or reaches
/// the alias window. Returns the first normal-world range that clashes.
pub fn identity_clash(layout: &KernelLayout, ns: &[PhysRange]) -> Option<PhysRange> {
    let secure = [layout.text, layout.rodata, layout.data]
        .into_iter()
        .chain(layout.devices.iter().copied())
        .chain(layout.secure_alias.iter().copied());
    let secure: heapless::Vec<PhysRange, 32> = secure.take(32).collect();
    ns.iter()
        .copied()
        .find(|n| n.end().is_none_or(|e| e > ALIAS_OFFSET) || secure.iter().any(|s| s.overlaps(n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EL3: PhysRange = PhysRange {
        base: 0x3FBC_F000,
        size: 0x43_1000,
    };
    static EL3_RESERVED: [PhysRange; 1] = [EL3];

    fn layout(secure_alias: &'static [PhysRange]) -> KernelLayout {
        KernelLayout {
            text: PhysRange {
                base: 0x2000_8000,
                size: 0x1000,
            },
            rodata: PhysRange {
                base: 0x2000_9000,
                size: 0x1000,
            },
            data: PhysRange {
                base: 0x2000_A000,
                size: 0x2000,
            },
            devices: &[],
            secure_alias,
            ns_alias: &[],
            guards: &[],
            el3_reserved: &EL3_RESERVED,
        }
    }

    /// EL3's memory is never mapped: not by an alias window that reaches into it (the
    /// kernel's table is refused, and boot names both ranges), not for an SP.
    #[test]
    fn el3_memory_is_never_mapped() {
        static CLEAR: [PhysRange; 1] = [PhysRange {
            base: 0x2400_0000,
            size: 0x1BBC_F000,
        }];
        static INTO_EL3: [PhysRange; 1] = [PhysRange {
            base: 0x2400_0000,
            size: 0x1C00_0000,
        }];
        let ok = layout(&CLEAR);
        assert_eq!(ok.el3_overlap(), None);
        let mut space = AddressSpace::new(&ok, 1).unwrap();
        let bad = layout(&INTO_EL3);
        assert_eq!(bad.el3_overlap(), Some((INTO_EL3[0], EL3)));
        assert!(AddressSpace::new(&bad, 0).is_err());
        // SP mappings: the last page below EL3 is fine, the first page of EL3 is not, nor a
        // range that only ends inside it.
        assert!(space
            .map_user(0x3FBC_E000, 0x3FBC_E000, 1, UserPerm::RX)
            .is_ok());
        assert!(space
            .map_user(0x3FBC_F000, 0x3FBC_F000, 1, UserPerm::RX)
            .is_err());
        assert!(space
            .map_user(0x3FBC_D000, 0x3FBC_D000, 3, UserPerm::RX)
            .is_err());
        assert_eq!(space.translate(0x3FBC_D000).map(|t| t.0), None);
    }

    #[test]
    fn identity_clash_finds_ns_ranges_numbered_like_secure_ones() {
        static DEV: [PhysRange; 1] = [PhysRange {
            base: 0x6000_0000,
            size: 0x1000,
        }];
        static POOL: [PhysRange; 1] = [PhysRange {
            base: 0x2400_0000,
            size: 0x1C00_0000,
        }];
        let layout = KernelLayout {
            text: PhysRange {
                base: 0x2020_0000,
                size: 0x1_0000,
            },
            rodata: PhysRange {
                base: 0x2021_0000,
                size: 0x1_0000,
            },
            data: PhysRange {
                base: 0x2022_0000,
                size: 0x10_0000,
            },
            devices: &DEV,
            secure_alias: &POOL,
            ns_alias: &[],
            guards: &[],
            el3_reserved: &[],
        };
        let dram = PhysRange {
            base: 0x100_0000_0000,
            size: 0x8000_0000,
        };
        assert_eq!(identity_clash(&layout, &[dram]), None);
        let low = PhysRange {
            base: 0x3000_0000,
            size: 0x1000,
        };
        assert_eq!(identity_clash(&layout, &[dram, low]), Some(low), "SP pool");
        let dev = PhysRange {
            base: 0x6000_0000,
            size: 0x2000,
        };
        assert_eq!(identity_clash(&layout, &[dev]), Some(dev), "SPMC device");
        let high = PhysRange {
            base: ALIAS_OFFSET - 0x1000,
            size: 0x2000,
        };
        assert_eq!(identity_clash(&layout, &[high]), Some(high), "alias window");
    }

    pub(super) fn test_layout() -> KernelLayout {
        static POOL: [PhysRange; 1] = [PhysRange {
            base: 0x2400_0000,
            size: 0x100_0000,
        }];
        KernelLayout {
            text: PhysRange {
                base: 0x2020_0000,
                size: 0x1000,
            },
            rodata: PhysRange {
                base: 0x2020_1000,
                size: 0x1000,
            },
            data: PhysRange {
                base: 0x2020_2000,
                size: 0x2000,
            },
            devices: &[],
            secure_alias: &POOL,
            ns_alias: &[],
            guards: &[],
            el3_reserved: &[],
        }
    }

    /// Mappings made for the memory ABIs take their tables from the reserved pool, never
    /// from the heap, and the level-3 table of a chunk they alone used is freed with the
    /// last of them (back to the pool, then to the heap beyond the spare pages kept).
    #[test]
    fn shared_mappings_use_the_reserved_pool_and_free_their_tables() {
        let mut s = AddressSpace::new(&test_layout(), 1).unwrap();
        // The SP's own region (pinned: its tables stay).
        s.map_user(0x2400_0000, 0x2400_0000, 4, UserPerm::RW)
            .unwrap();
        let (_, _, heap0) = s.pool_stats();
        // NS memory far from everything else: needs new level-1..3 tables.
        let pa = 0x100_4000_0000;
        assert!(s.reserve_tables(6));
        assert_eq!(s.pool_stats().0, 6);
        let used = s.map_shared(pa, 3, UserPerm::RW).unwrap();
        assert!((1..=6).contains(&used), "{used}");
        let (reserved, spare, heap) = s.pool_stats();
        assert_eq!(heap, heap0, "no table from the heap during a reserved map");
        assert_eq!(reserved, 6 - used);
        assert_eq!(
            s.translate(pa + PAGE_SIZE).map(|(p, _)| p),
            Some(pa + PAGE_SIZE)
        );
        s.release_tables(reserved);
        // Unmapping two of three pages keeps the table; the last one frees it.
        s.unmap_shared(pa, 2).unwrap();
        assert_eq!(s.pool_stats().1, spare + reserved);
        s.unmap_shared(pa + 2 * PAGE_SIZE, 1).unwrap();
        assert_eq!(
            s.pool_stats().1,
            spare + reserved + 1,
            "level-3 table freed"
        );
        assert_eq!(s.translate(pa + 2 * PAGE_SIZE), None);
        s.trim_pool();
        assert!(s.pool_stats().1 <= SPARE_TABLE_PAGES);
        // The pinned region's table is never freed.
        s.unmap_shared(0x2400_0000, 1).unwrap();
        assert!(s.translate(0x2400_1000).is_some());
        // A map without a reservation still works, from the heap, and is counted.
        let before = s.pool_stats().2;
        s.trim_pool();
        let t = s.map.translation();
        t.drain(t.len());
        s.map_shared(0x100_8000_0000, 1, UserPerm::RO).unwrap();
        assert!(s.pool_stats().2 > before);
    }

    /// Ranges mapped in one call (one walk per chunk while they come in address order, one
    /// walk per range from the first one out of order on) give the same tables and counts as
    /// one `map_shared` per range, use no table page beyond [`table_pages_for`]'s bound (so a
    /// reservation of that many is never short), and unmap back to nothing, freeing the
    /// level-3 table of every chunk they leave empty and building none.
    #[test]
    fn ranges_mapping_agrees_with_one_walk_per_range() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        // (gap before, pages) in pages; bases from NS memory near chunk and 1 GiB boundaries;
        // the order they are given in: as laid out, reversed, or with one pair swapped.
        let shape = (
            0u64..4,
            proptest::collection::vec((0u64..700, 1u64..40), 1..24),
            0u8..3,
            0usize..24,
        );
        let mut runner = TestRunner::new(Config {
            cases: 300,
            ..Config::default()
        });
        runner
            .run(&shape, |(start, gaps, order, swap)| {
                let origin = [
                    0x100_4000_0000u64,
                    0x100_3FF0_0000,
                    0x100_401F_C000,
                    0x80_3FFF_F000,
                ][start as usize];
                let mut ranges = Vec::new();
                let mut at = origin;
                for (gap, pages) in gaps {
                    at += gap * PAGE_SIZE;
                    ranges.push((at, pages));
                    at += pages * PAGE_SIZE;
                }
                let lo = ranges[0].0;
                let hi = range_end(*ranges.last().unwrap());
                let mut given = ranges.clone();
                match order {
                    1 => given.reverse(),
                    2 if given.len() > 1 => {
                        let k = swap % (given.len() - 1);
                        given.swap(k, k + 1);
                    }
                    _ => {}
                }
                let perm = UserPerm::RW;
                let mut one = AddressSpace::new(&test_layout(), 1).unwrap();
                let mut walk = AddressSpace::new(&test_layout(), 2).unwrap();
                let cost = table_pages_for(given.iter().copied()) as usize;
                let heap0 = walk.pool_stats().2;
                prop_assert!(walk.reserve_tables(cost));
                for &(b, n) in &given {
                    one.map_shared(b, n, perm).unwrap();
                }
                let used = walk.map_shared_ranges(&given, perm).unwrap();
                prop_assert!(used <= cost, "{} > {}", used, cost);
                prop_assert_eq!(walk.pool_stats().0, cost - used);
                prop_assert_eq!(walk.pool_stats().2, heap0, "a table came from the heap");
                let mut page = lo.saturating_sub(PAGE_SIZE);
                while page < hi + PAGE_SIZE {
                    prop_assert_eq!(walk.translate(page), one.translate(page), "{:#x}", page);
                    let inside = ranges
                        .iter()
                        .any(|&(b, n)| page >= b && page < range_end((b, n)));
                    prop_assert_eq!(walk.translate(page).map(|t| t.0), inside.then_some(page));
                    page += PAGE_SIZE;
                }
                let sorted = |s: &AddressSpace| {
                    let mut v = s.shared.to_vec();
                    v.sort_unstable();
                    v
                };
                prop_assert_eq!(sorted(&walk), sorted(&one));
                walk.release_tables(cost - used);
                // Another memory-ABI page in the first gap (if any) keeps its chunk's table:
                // that chunk is walked, the others are freed whole.
                let gap = ranges
                    .windows(2)
                    .find(|w| range_end(w[0]) < w[1].0)
                    .map(|w| range_end(w[0]));
                if let Some(g) = gap {
                    walk.map_shared(g, 1, UserPerm::RO).unwrap();
                }
                let (pool0, heap0) = (walk.map.translation().len(), walk.pool_stats().2);
                walk.unmap_shared_ranges(&given).unwrap();
                let mut page = lo;
                while page < hi {
                    let kept = Some(page) == gap;
                    prop_assert_eq!(
                        walk.translate(page).map(|t| t.0),
                        kept.then_some(page),
                        "{:#x}",
                        page
                    );
                    page += PAGE_SIZE;
                }
                if let Some(g) = gap {
                    walk.unmap_shared(g, 1).unwrap();
                }
                prop_assert!(walk.shared.is_empty());
                // Every level-3 table of the ranges' chunks (and the gap page's) went back to
                // the pool, and the unmaps took none from it or from the heap.
                let mut chunks = std::collections::BTreeSet::new();
                for &(b, n) in ranges.iter().chain(gap.map(|g| (g, 1)).iter()) {
                    chunks.extend((b >> CHUNK_SHIFT)..=((range_end((b, n)) - 1) >> CHUNK_SHIFT));
                }
                prop_assert_eq!(walk.map.translation().len(), pool0 + chunks.len());
                prop_assert_eq!(walk.pool_stats().2, heap0);
                Ok(())
            })
            .unwrap();
    }

    /// A range crossing into a chunk that a run of ranges after it empties: the chunk is
    /// freed once, after both, and the unmap builds no table for the crossing range's part
    /// (it would be left behind, empty, if the chunk were freed before that part was unmapped).
    #[test]
    fn unmapping_a_range_across_chunks_builds_no_table() {
        let chunk = 1u64 << CHUNK_SHIFT;
        let base = 0x100_4000_0000u64;
        // In chunk 0; across chunks 0 and 1; in chunk 1; in chunk 1 again.
        let ranges = [
            (base + 10 * PAGE_SIZE, 2),
            (base + chunk - 2 * PAGE_SIZE, 4),
            (base + chunk + 20 * PAGE_SIZE, 1),
            (base + chunk + 30 * PAGE_SIZE, 3),
        ];
        for given in [ranges, [ranges[1], ranges[0], ranges[3], ranges[2]]] {
            let mut s = AddressSpace::new(&test_layout(), 1).unwrap();
            let cost = table_pages_for(given.iter().copied()) as usize;
            assert!(s.reserve_tables(cost));
            let used = s.map_shared_ranges(&given, UserPerm::RW).unwrap();
            s.release_tables(cost - used);
            let (pool0, heap0) = (s.map.translation().len(), s.pool_stats().2);
            s.unmap_shared_ranges(&given).unwrap();
            assert_eq!(s.map.translation().len(), pool0 + 2, "{given:x?}");
            assert_eq!(s.pool_stats().2, heap0);
            assert!(s.shared.is_empty());
            for &(b, n) in &ranges {
                for p in 0..n {
                    assert_eq!(s.translate(b + p * PAGE_SIZE), None);
                }
            }
        }
    }

    /// A map refused part of the way (a range reaching into EL3's memory after others were
    /// mapped, in order and out of order) leaves nothing mapped or counted and the reserved
    /// counter as it was (the ranges lie where the kernel's level-1/2 tables exist already,
    /// so this does not see the level-1/2 tables a refused map may leave built).
    #[test]
    fn a_refused_map_leaves_nothing_mapped() {
        let ok = [(0x3F00_0000u64, 1u64), (0x3F00_2000, 2), (0x3F20_0000, 1)];
        // The last page below EL3 is fine; the next range starts inside it.
        let bad = (EL3.base - PAGE_SIZE, 2);
        let cases = [
            vec![ok[0], ok[1], ok[2], bad],
            vec![ok[2], ok[0], ok[1], bad],
            vec![ok[0], bad, ok[1]],
        ];
        for given in cases {
            let mut s = AddressSpace::new(&layout(&[]), 1).unwrap();
            let cost = table_pages_for(given.iter().copied()) as usize;
            assert!(s.reserve_tables(cost));
            assert!(matches!(
                s.map_shared_ranges(&given, UserPerm::RW),
                Err(MapError::AddressRange(_))
            ));
            assert_eq!(s.pool_stats().0, cost, "{given:x?}");
            assert!(s.shared.is_empty());
            for &(b, n) in &given {
                for p in 0..n {
                    assert_eq!(s.translate(b + p * PAGE_SIZE), None, "{given:x?}");
                }
            }
            // The same ranges without the bad one map.
            let good: Vec<_> = given.iter().copied().filter(|&r| r != bad).collect();
            assert!(s.map_shared_ranges(&good, UserPerm::RW).is_ok());
            assert_eq!(
                s.translate(ok[1].0 + PAGE_SIZE).map(|t| t.0),
                Some(ok[1].0 + PAGE_SIZE)
            );
        }
    }

    /// A chunk's page bitmap holds exactly the pages of the ranges, across word boundaries
    /// and at both ends of the chunk.
    #[test]
    fn chunk_pages_hold_exactly_the_ranges() {
        let chunk = 0x100_4020_0000u64;
        let ranges = [(0u64, 1u64), (63, 2), (100, 130), (300, 64), (511, 1)]
            .map(|(p, n)| (chunk + p * PAGE_SIZE, n));
        let pages = ChunkPages::of(&ranges);
        for p in 0..CHUNK_PAGES {
            let va = chunk + p * PAGE_SIZE;
            let inside = ranges
                .iter()
                .any(|&(b, n)| va >= b && va < range_end((b, n)));
            assert_eq!(pages.covers(va), inside, "page {p}");
        }
        assert!(!ChunkPages::of::<(u64, u64)>(&[]).covers(chunk));
    }

    /// The bound counts every chunk, 1 GiB and 512 GiB region a range touches, each once when
    /// the ranges come in order.
    #[test]
    fn table_pages_for_counts_each_region_once() {
        let chunk = 1u64 << CHUNK_SHIFT;
        // One page: one table per level.
        assert_eq!(table_pages_for([(0x100_4000_0000, 1)]), 3);
        // 250 pages two apart in one chunk: still three.
        let scattered = (0..250u64).map(|i| (0x100_4000_0000 + 2 * i * PAGE_SIZE, 1));
        assert_eq!(table_pages_for(scattered), 3);
        // Two pages astride a chunk boundary: two level-3 tables.
        assert_eq!(
            table_pages_for([(0x100_4000_0000 + chunk - PAGE_SIZE, 2)]),
            4
        );
        // Leaving a chunk and coming back counts it again (an upper bound in any order).
        let a = (0x100_4000_0000, 1);
        let b = (0x100_4000_0000 + chunk, 1);
        assert_eq!(table_pages_for([a, b, a]), 3 + 2);
        assert_eq!(table_pages_for([(0, 0)]), 0);
    }

    /// Reserving more than the heap has fails and changes nothing.
    #[test]
    fn reserving_tables_is_all_or_nothing() {
        let mut s = AddressSpace::new(&test_layout(), 1).unwrap();
        assert!(!s.reserve_tables(usize::MAX / 4096));
        assert_eq!(s.pool_stats().0, 0);
        assert!(s.reserve_tables(2));
        assert_eq!(s.pool_stats().0, 2);
    }

    /// Every permission and memory type survives the trip through descriptor attributes, and
    /// device memory is never executable.
    #[test]
    fn user_attributes_round_trip() {
        let types = [
            MemType::Normal,
            MemType::DeviceNgnrne,
            MemType::DeviceNgnre,
            MemType::DeviceNgre,
            MemType::DeviceGre,
        ];
        for memory in types {
            for bits in 0..8u8 {
                let perm = UserPerm {
                    write: bits & 1 != 0,
                    exec: bits & 2 != 0 && memory == MemType::Normal,
                    non_secure: bits & 4 != 0,
                    memory,
                };
                let a = user_attributes(perm);
                assert_eq!(user_perm_of(a), perm, "{perm:?}");
                assert!(
                    a.contains(El1Attributes::PXN),
                    "EL1 must never execute SP pages"
                );
                if memory != MemType::Normal {
                    assert!(a.contains(El1Attributes::UXN));
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "memory_review6b.rs"]
mod review6b;
