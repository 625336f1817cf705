//! Physical addresses, physical ranges and the FF-A page size: the one definition every crate
//! of the workspace uses (the partition table, the kernel and its platforms, manifest-tool,
//! the SP runtime).

/// The FF-A translation granule: memory transaction constituents, RX/TX buffer sizes and
/// partition manifest `pages-count` are counted in 4 KiB pages (DEN0077 "Constituent memory
/// region descriptor"; the partition manifest binding's memory regions).
pub const PAGE_SIZE: u64 = 0x1000;

/// A physical address. SP regions are identity mapped in the SP's stage-1 address space, so
/// for those this is also the address the SP sees.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhysAddr(pub u64);

impl PhysAddr {
    /// Returns the raw value.
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// Returns the address `bytes` further on, or `None` on overflow.
    pub const fn checked_add(self, bytes: u64) -> Option<PhysAddr> {
        match self.0.checked_add(bytes) {
            Some(a) => Some(PhysAddr(a)),
            None => None,
        }
    }

    /// Tells whether the address is a multiple of [`PAGE_SIZE`].
    pub const fn is_page_aligned(self) -> bool {
        self.0.is_multiple_of(PAGE_SIZE)
    }
}

impl From<u64> for PhysAddr {
    fn from(v: u64) -> Self {
        PhysAddr(v)
    }
}

impl From<PhysAddr> for u64 {
    fn from(v: PhysAddr) -> u64 {
        v.0
    }
}

/// A physical address range `[base, base + size)`: platform memory and device windows, the
/// SPMC's own sections, the SP pool. A range whose end does not fit in 64 bits is malformed:
/// it contains nothing and, being never valid, overlaps everything.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PhysRange {
    /// First address.
    pub base: u64,
    /// Size in bytes.
    pub size: u64,
}

impl PhysRange {
    /// Builds a range from its two ends (`end` exclusive). For constants: `end < base` is a
    /// compile-time error there (and a panic elsewhere).
    pub const fn from_to(base: u64, end: u64) -> Self {
        Self {
            base,
            size: end - base,
        }
    }

    /// Returns the exclusive end, or `None` when it does not fit in 64 bits.
    pub const fn end(&self) -> Option<u64> {
        self.base.checked_add(self.size)
    }

    /// Returns the exclusive end, saturating at the top of the address space (for reports).
    pub const fn end_saturating(&self) -> u64 {
        self.base.saturating_add(self.size)
    }

    /// Tells whether `[base, base + len)` lies inside this range (never, if either end
    /// overflows).
    pub const fn contains(&self, base: u64, len: u64) -> bool {
        match (base.checked_add(len), self.end()) {
            (Some(e), Some(my_end)) => base >= self.base && e <= my_end,
            _ => false,
        }
    }

    /// Tells whether `other` lies entirely inside this range.
    pub const fn contains_range(&self, other: &PhysRange) -> bool {
        self.contains(other.base, other.size)
    }

    /// Tells whether the two ranges share a byte. An empty range shares none; a malformed one
    /// (end beyond 64 bits) is treated as overlapping everything, so no caller can rely on it.
    pub const fn overlaps(&self, other: &PhysRange) -> bool {
        if self.size == 0 || other.size == 0 {
            return false;
        }
        match (self.end(), other.end()) {
            (Some(a), Some(b)) => self.base < b && other.base < a,
            _ => true,
        }
    }
}

impl core::fmt::Display for PhysRange {
    /// `[base, end)` in hex.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "[{:#x}, {:#x})", self.base, self.end_saturating())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_and_alignment() {
        assert_eq!(PhysAddr(0x1000).checked_add(0x234), Some(PhysAddr(0x1234)));
        assert_eq!(PhysAddr(u64::MAX).checked_add(1), None);
        assert!(PhysAddr(0x2000).is_page_aligned());
        assert!(!PhysAddr(0x2010).is_page_aligned());
        assert_eq!(u64::from(PhysAddr::from(7)), 7);
    }

    #[test]
    fn ranges_contain_and_overlap_by_bytes() {
        let r = PhysRange::from_to(0x1000, 0x3000);
        assert_eq!(r.size, 0x2000);
        assert_eq!(r.end(), Some(0x3000));
        assert!(r.contains(0x1000, 0x2000));
        assert!(r.contains(0x2fff, 1));
        assert!(!r.contains(0x2fff, 2));
        assert!(!r.contains(0xfff, 1));
        assert!(!r.contains(u64::MAX, 2));
        assert!(r.contains_range(&PhysRange::from_to(0x2000, 0x3000)));
        assert!(!r.contains_range(&PhysRange::from_to(0x2000, 0x3001)));
        assert!(r.overlaps(&PhysRange::from_to(0x2fff, 0x4000)));
        assert!(!r.overlaps(&PhysRange::from_to(0x3000, 0x4000)));
        assert!(!r.overlaps(&PhysRange::from_to(0x0, 0x1000)));
        // Empty ranges share no byte, even inside.
        assert!(!r.overlaps(&PhysRange::from_to(0x2000, 0x2000)));
        // A range past the top of the address space is malformed: contained nowhere, and
        // overlapping everything.
        let top = PhysRange {
            base: u64::MAX - 0xfff,
            size: 0x2000,
        };
        assert_eq!(top.end(), None);
        assert_eq!(top.end_saturating(), u64::MAX);
        assert!(top.overlaps(&r));
        assert!(!PhysRange::from_to(0, u64::MAX).contains_range(&top));
        assert_eq!(std::format!("{r}"), "[0x1000, 0x3000)");
    }
}
