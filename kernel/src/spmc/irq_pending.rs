//! The secure interrupts taken for one partition and not delivered yet: part of the
//! partition's state (`partition::Sp::irq`), set by `interrupt` on any core. Its own module so
//! that the partition state does not import the interrupt logic, which imports it (no import
//! circle inside the kernel, issue 8).

use alloc::boxed::Box;
use core::sync::atomic::{AtomicU64, Ordering};

use super::Env;

/// Interrupts a partition owns at most: one bit each in [`Pending`] (manifest-tool refuses
/// more).
pub const MAX_PER_SP: usize = 64;

/// The interrupts taken for one partition and not delivered yet: bit `i` is its
/// `capabilities.interrupts[i]`, with the cores it was taken on (a PPI can be taken on several
/// before its owner handles it: each core's instance is masked until then). Any core sets bits
/// without taking the partition's lock; only the core holding that lock clears them.
pub struct Pending {
    bits: AtomicU64,
    /// Per interrupt, bit n: taken on core n (cores < 64, `crate::sync::MAX_CORES`).
    cores: Box<[AtomicU64]>,
}

/// `core`'s bit in a mask of cores.
pub fn core_bit(core: usize) -> u64 {
    1 << (core % 64)
}

impl Pending {
    /// No interrupt pending for a partition owning `owned` interrupts.
    pub fn new(owned: usize) -> Self {
        Self {
            bits: AtomicU64::new(0),
            cores: (0..owned.min(MAX_PER_SP))
                .map(|_| AtomicU64::new(0))
                .collect(),
        }
    }

    /// Tells whether nothing waits for delivery.
    pub fn is_empty(&self) -> bool {
        self.bits.load(Ordering::Acquire) == 0
    }

    /// Records `bit` taken on `core`; true if it was not pending before (taken on another
    /// core only adds that core).
    pub(super) fn set(&self, bit: usize, core: usize) -> bool {
        let Some(c) = self.cores.get(bit) else {
            return false;
        };
        c.fetch_or(core_bit(core), Ordering::AcqRel);
        self.bits.fetch_or(1 << bit, Ordering::AcqRel) & (1 << bit) == 0
    }

    /// Whether bit `bit` is pending, taken (among others) on `core`.
    pub(super) fn pending_on(&self, bit: usize, core: usize) -> bool {
        self.cores
            .get(bit)
            .is_some_and(|c| c.load(Ordering::Acquire) & core_bit(core) != 0)
    }

    /// Removes the lowest pending bit: (bit, mask of the cores it was taken on; empty if a
    /// core recorded itself, and was taken with, the previous instance).
    pub(super) fn take_lowest(&self) -> Option<(usize, u64)> {
        loop {
            let bits = self.bits.load(Ordering::Acquire);
            if bits == 0 {
                return None;
            }
            let bit = bits.trailing_zeros() as usize;
            if self
                .bits
                .compare_exchange(
                    bits,
                    bits & !(1 << bit),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
            {
                let cores = self
                    .cores
                    .get(bit)
                    .map_or(0, |c| c.swap(0, Ordering::AcqRel));
                return Some((bit, cores));
            }
        }
    }
}

/// Unmasks `intid` on each core of the mask `cores`.
pub fn unmask_on(env: &mut impl Env, intid: u32, cores: u64) {
    let mut m = cores;
    while m != 0 {
        let core = m.trailing_zeros() as usize;
        m &= m - 1;
        env.interrupt_unmask(intid, core);
    }
}
