//! Physical addresses and the FF-A page size: the one definition every crate of the
//! workspace uses (the partition table, the kernel, manifest-tool, the SP runtime).

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
        self.0 % PAGE_SIZE == 0
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
}
