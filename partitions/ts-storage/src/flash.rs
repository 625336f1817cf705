//! The flash seam of the persistent store: a NOR-like medium that is read freely, programmed
//! in 4-byte words and erased a sector at a time (sbsa-ref's secure flash: CFI, 32-bit bank,
//! 256 KiB sectors). The CFI driver (`cfi`) implements it on the device; tests use
//! [`fake::FakeFlash`], which can lose power at any program or erase step.

/// Bytes of one program unit: offsets and lengths given to [`Flash::program`] are multiples.
pub const WORD: usize = 4;

/// Why a flash operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlashError {
    /// The range is not inside the region.
    OutOfRange,
    /// Offset or length is not a multiple of [`WORD`].
    Misaligned,
    /// The device reported an error (CFI status register bits).
    Device(u32),
    /// The device never became ready.
    Timeout,
    /// Power was lost (the fake only): nothing more happens until the next "boot".
    PowerLost,
    /// A block storage service answered with this PSA status (`block::BlockFlash`).
    Service(i32),
    /// The call to a block storage service failed, or its answer was malformed.
    Transport,
}

/// A region of flash made of `sectors()` erase sectors of `sector_size()` bytes.
pub trait Flash {
    /// Bytes of one erase sector.
    fn sector_size(&self) -> usize;
    /// Number of sectors in the region.
    fn sectors(&self) -> usize;
    /// Reads `buf.len()` bytes at `offset` (both multiples of [`WORD`]).
    fn read(&mut self, offset: usize, buf: &mut [u8]) -> Result<(), FlashError>;
    /// Programs `data` at `offset` (both multiples of [`WORD`]), word by word in address
    /// order; the target words must be erased.
    fn program(&mut self, offset: usize, data: &[u8]) -> Result<(), FlashError>;
    /// Erases sector `sector` (every byte becomes 0xFF).
    fn erase(&mut self, sector: usize) -> Result<(), FlashError>;
}

/// Checks that `[offset, offset + len)` is word-aligned and inside `size` bytes.
pub fn check_range(offset: usize, len: usize, size: usize) -> Result<(), FlashError> {
    if !offset.is_multiple_of(WORD) || !len.is_multiple_of(WORD) {
        return Err(FlashError::Misaligned);
    }
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(FlashError::OutOfRange),
    }
}

/// A flash that stops at a chosen program/erase step, for power-loss tests on the real
/// device: after `arm(n)` it lets `n` more steps (word programs or sector erases) through,
/// then calls `stop` instead of the next one. On the device `stop` never returns (the SP
/// announces the cut and spins until QEMU is killed, docs/storage.md), so the flash holds
/// exactly what `n` steps left.
pub struct CutAfter<F> {
    inner: F,
    budget: alloc::rc::Rc<core::cell::Cell<Option<u64>>>,
    stop: fn(u64) -> FlashError,
    steps: u64,
}

impl<F: core::fmt::Debug> core::fmt::Debug for CutAfter<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CutAfter")
            .field("inner", &self.inner)
            .field("budget", &self.budget.get())
            .field("steps", &self.steps)
            .finish()
    }
}

impl<F: Flash> CutAfter<F> {
    /// Wraps `inner`; `budget` is shared with whoever arms the cut (`None`: no cut); `stop`
    /// gets the number of steps done since the wrapper was made.
    pub fn new(
        inner: F,
        budget: alloc::rc::Rc<core::cell::Cell<Option<u64>>>,
        stop: fn(u64) -> FlashError,
    ) -> Self {
        Self {
            inner,
            budget,
            stop,
            steps: 0,
        }
    }

    /// Counts one step, or stops if the budget is spent.
    fn step(&mut self) -> Result<(), FlashError> {
        match self.budget.get() {
            Some(0) => Err((self.stop)(self.steps)),
            Some(n) => {
                self.budget.set(Some(n - 1));
                self.steps += 1;
                Ok(())
            }
            None => {
                self.steps += 1;
                Ok(())
            }
        }
    }
}

impl<F: Flash> Flash for CutAfter<F> {
    fn sector_size(&self) -> usize {
        self.inner.sector_size()
    }

    fn sectors(&self) -> usize {
        self.inner.sectors()
    }

    fn read(&mut self, offset: usize, buf: &mut [u8]) -> Result<(), FlashError> {
        self.inner.read(offset, buf)
    }

    fn program(&mut self, offset: usize, data: &[u8]) -> Result<(), FlashError> {
        check_range(offset, data.len(), self.sector_size() * self.sectors())?;
        for (i, w) in data.chunks_exact(WORD).enumerate() {
            self.step()?;
            self.inner.program(offset + i * WORD, w)?;
        }
        Ok(())
    }

    fn erase(&mut self, sector: usize) -> Result<(), FlashError> {
        self.step()?;
        self.inner.erase(sector)
    }
}

/// An in-memory flash that counts program and erase steps and can lose power at any of them.
#[cfg(any(test, feature = "fake-flash"))]
pub mod fake {
    use super::{check_range, Flash, FlashError, WORD};
    use alloc::vec;
    use alloc::vec::Vec;

    /// NOR flash in RAM. Programming clears bits (`old & new`, as NOR does), erasing sets
    /// them. With a step budget, the step that exhausts it is torn: a word programmed half
    /// (some of its bits cleared), or a sector erased half (its first half 0xFF, the rest as
    /// it was); then every operation fails with `PowerLost`.
    #[derive(Clone, Debug)]
    pub struct FakeFlash {
        /// The bytes of the region (keep them to "reboot" with [`FakeFlash::from_bytes`]).
        pub bytes: Vec<u8>,
        sector_size: usize,
        /// Steps left before power is lost (`None`: never).
        budget: Option<u64>,
        /// Program-word and erase steps done so far.
        pub steps: u64,
        /// Erases per sector (wear).
        pub erases: Vec<u32>,
        /// The power was lost in the middle of an erase.
        pub torn_erase: bool,
        dead: bool,
    }

    impl FakeFlash {
        /// An erased region of `sectors` sectors of `sector_size` bytes.
        pub fn new(sector_size: usize, sectors: usize) -> Self {
            Self::from_bytes(vec![0xFF; sector_size * sectors], sector_size)
        }

        /// A region holding `bytes` (e.g. what a previous run left).
        pub fn from_bytes(bytes: Vec<u8>, sector_size: usize) -> Self {
            let sectors = bytes.len() / sector_size;
            Self {
                bytes,
                sector_size,
                budget: None,
                steps: 0,
                erases: vec![0; sectors],
                torn_erase: false,
                dead: false,
            }
        }

        /// Loses power at the `n`th step from now (0: the very next one is torn).
        pub fn cut_after(&mut self, n: u64) {
            self.budget = Some(n);
        }

        /// Whether power was lost.
        pub fn is_dead(&self) -> bool {
            self.dead
        }

        /// Counts one step; returns false if this step is the one torn by the power loss.
        fn step(&mut self) -> Result<bool, FlashError> {
            if self.dead {
                return Err(FlashError::PowerLost);
            }
            self.steps += 1;
            match self.budget {
                Some(0) => {
                    self.dead = true;
                    Ok(false)
                }
                Some(ref mut n) => {
                    *n -= 1;
                    Ok(true)
                }
                None => Ok(true),
            }
        }
    }

    impl Flash for FakeFlash {
        fn sector_size(&self) -> usize {
            self.sector_size
        }

        fn sectors(&self) -> usize {
            self.bytes.len() / self.sector_size
        }

        fn read(&mut self, offset: usize, buf: &mut [u8]) -> Result<(), FlashError> {
            if self.dead {
                return Err(FlashError::PowerLost);
            }
            check_range(offset, buf.len(), self.bytes.len())?;
            buf.copy_from_slice(&self.bytes[offset..offset + buf.len()]);
            Ok(())
        }

        fn program(&mut self, offset: usize, data: &[u8]) -> Result<(), FlashError> {
            check_range(offset, data.len(), self.bytes.len())?;
            for (i, w) in data.chunks_exact(WORD).enumerate() {
                let at = offset + i * WORD;
                let whole = self.step()?;
                for (j, &b) in w.iter().enumerate() {
                    // A torn word: only the bits of its first two bytes were cleared.
                    if whole || j < 2 {
                        self.bytes[at + j] &= b;
                    }
                }
                if !whole {
                    return Err(FlashError::PowerLost);
                }
            }
            Ok(())
        }

        fn erase(&mut self, sector: usize) -> Result<(), FlashError> {
            if sector >= self.sectors() {
                return Err(FlashError::OutOfRange);
            }
            let whole = self.step()?;
            let start = sector * self.sector_size;
            let len = if whole {
                self.sector_size
            } else {
                self.sector_size / 2
            };
            self.bytes[start..start + len].fill(0xFF);
            self.erases[sector] += 1;
            self.torn_erase = !whole;
            if whole {
                Ok(())
            } else {
                Err(FlashError::PowerLost)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeFlash;
    use super::*;
    use alloc::rc::Rc;
    use core::cell::Cell;

    #[test]
    fn cut_after_lets_exactly_n_steps_through() {
        let budget = Rc::new(Cell::new(None));
        let mut f = CutAfter::new(FakeFlash::new(64, 2), budget.clone(), |_| {
            FlashError::PowerLost
        });
        f.program(0, &[0; 8]).unwrap();
        budget.set(Some(3));
        // Three more words, then the fourth is refused before it reaches the flash.
        assert_eq!(f.program(8, &[0x11; 16]), Err(FlashError::PowerLost));
        assert_eq!(
            &f.inner.bytes[8..24],
            &[
                0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0xFF, 0xFF,
                0xFF, 0xFF
            ]
        );
        assert_eq!(f.inner.steps, 5);
        assert_eq!(f.erase(1), Err(FlashError::PowerLost));
        assert_eq!(f.inner.erases, [0, 0]);
        budget.set(None);
        f.erase(1).unwrap();
        assert_eq!(f.steps, 6);
        assert_eq!(f.program(2, &[0; 4]), Err(FlashError::Misaligned));
    }
}
