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
