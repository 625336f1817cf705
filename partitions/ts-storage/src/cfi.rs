//! A driver for CFI NOR flash with the Intel/Sharp command set (CFI primary command set
//! 0x0001) on a 32-bit bank of two x16 devices, as QEMU sbsa-ref's pflash units are wired
//! (hw/arm/sbsa-ref.c: width 4, device-width 2, 256 KiB sectors; hw/block/pflash_cfi01.c).
//! Every command is written to both devices at once (the command byte in each 16-bit half);
//! each status read returns both devices' status registers.
//!
//! The device leaves read-array mode at the first command and answers every read with its
//! status until it gets READ_ARRAY: nothing else may read the device meanwhile (that is why
//! the EL3 monitor runs from RAM, docs/storage.md), and every operation here ends in
//! read-array mode, also on error.
//!
//! The bus (32-bit MMIO at the region's base) is behind [`Bus`], so this logic runs on the
//! host against a model of the device; the SP's MMIO bus is sp-rt's.

use crate::flash::{check_range, Flash, FlashError, WORD};

/// 32-bit accesses to the region, at byte offsets from its base.
pub trait Bus {
    /// Reads the 32-bit word at `offset`.
    fn read32(&mut self, offset: usize) -> u32;
    /// Writes the 32-bit word at `offset`.
    fn write32(&mut self, offset: usize, value: u32);
}

/// Replicates a command byte into both 16-bit devices of the bank.
const fn both(cmd: u32) -> u32 {
    cmd | (cmd << 16)
}

const CMD_READ_ARRAY: u32 = both(0xFF);
const CMD_READ_ID: u32 = both(0x90);
const CMD_CLEAR_STATUS: u32 = both(0x50);
const CMD_PROGRAM: u32 = both(0x40);
const CMD_ERASE: u32 = both(0x20);
const CMD_CONFIRM: u32 = both(0xD0);
const CMD_LOCK_SETUP: u32 = both(0x60);
/// Status register: SR.7 ready.
const SR_READY: u32 = both(0x80);
/// SR.5 erase error, SR.4 program error, SR.3 VPP low, SR.1 block locked.
const SR_ERRORS: u32 = both(0x3A);
/// Manufacturer code of Intel (and Micron's P30 line it became), in both devices.
pub const MANUFACTURER_INTEL: u32 = both(0x89);

/// How many status reads before an operation counts as hung (QEMU is ready at once; real
/// parts need up to a few seconds per erase).
const MAX_POLLS: u32 = 10_000_000;

/// A flash region on a CFI device.
#[derive(Debug)]
pub struct CfiFlash<B> {
    bus: B,
    sector_size: usize,
    sectors: usize,
    /// The identification: `None` until probed (see [`CfiFlash::deferred`]), then the
    /// device ID code or why the device is not usable.
    probed: Option<Result<u32, FlashError>>,
}

impl<B: Bus> CfiFlash<B> {
    /// Probes the device at the region's base (READ_IDENTIFIER: the manufacturer code must
    /// be Intel's in both devices) and returns the region of `sectors` sectors of
    /// `sector_size` bytes; `Err(Device(code))` if something else answers. Returns the
    /// device ID code too, for the log.
    pub fn probe(bus: B, sector_size: usize, sectors: usize) -> Result<(Self, u32), FlashError> {
        let mut f = Self::deferred(bus, sector_size, sectors)?;
        let device = f.identify()?;
        Ok((f, device))
    }

    /// The region of `sectors` sectors of `sector_size` bytes, *not probed*: no command is
    /// written to the device until the first program or erase, which probes first (and
    /// fails, sending nothing more, if the device is not an Intel-command-set CFI part).
    /// Until then reads are plain reads of the array (the device comes out of reset in
    /// read-array mode). This is how the block storage partition opens the flash: the
    /// first command takes the whole device out of read-array mode, which nothing may see
    /// while code runs from the device (docs/storage.md, "When the flash is first written").
    pub fn deferred(bus: B, sector_size: usize, sectors: usize) -> Result<Self, FlashError> {
        if sector_size == 0 || !sector_size.is_multiple_of(WORD) || sectors == 0 {
            return Err(FlashError::OutOfRange);
        }
        Ok(Self {
            bus,
            sector_size,
            sectors,
            probed: None,
        })
    }

    /// Whether a command has been sent to the device (it has been probed).
    pub fn probed(&self) -> bool {
        self.probed.is_some()
    }

    /// READ_IDENTIFIER at the region's base, once: the manufacturer code must be Intel's in
    /// both devices. Returns the device ID code.
    fn identify(&mut self) -> Result<u32, FlashError> {
        if let Some(r) = self.probed {
            return r;
        }
        self.bus.write32(0, CMD_READ_ID);
        let manufacturer = self.bus.read32(0);
        let device = self.bus.read32(WORD);
        self.bus.write32(0, CMD_READ_ARRAY);
        let r = if manufacturer == MANUFACTURER_INTEL {
            Ok(device)
        } else {
            Err(FlashError::Device(manufacturer))
        };
        self.probed = Some(r);
        r
    }

    fn size(&self) -> usize {
        self.sector_size * self.sectors
    }

    /// Polls the status at `at` until both devices are ready; clears and reports errors.
    /// Leaves the device in read-array mode.
    fn finish(&mut self, at: usize) -> Result<(), FlashError> {
        let r = self.wait(at);
        self.bus.write32(at, CMD_READ_ARRAY);
        r
    }

    /// Polls the status at `at` until both devices are ready; clears and reports errors.
    /// Leaves the device in read-status mode (the next command may follow at once: the
    /// words of one program call go out without READ_ARRAY between them, which nothing else
    /// may read meanwhile anyway; the call ends with READ_ARRAY).
    fn wait(&mut self, at: usize) -> Result<(), FlashError> {
        let mut status = 0;
        let mut ready = false;
        for _ in 0..MAX_POLLS {
            status = self.bus.read32(at);
            if status & SR_READY == SR_READY {
                ready = true;
                break;
            }
        }
        if !ready {
            Err(FlashError::Timeout)
        } else if status & SR_ERRORS != 0 {
            self.bus.write32(at, CMD_CLEAR_STATUS);
            Err(FlashError::Device(status))
        } else {
            Ok(())
        }
    }

    /// Clears the lock bit of the block at `at` (parts power up with blocks locked).
    fn unlock(&mut self, at: usize) -> Result<(), FlashError> {
        self.bus.write32(at, CMD_LOCK_SETUP);
        self.bus.write32(at, CMD_CONFIRM);
        self.finish(at)
    }
}

impl<B: Bus> Flash for CfiFlash<B> {
    fn sector_size(&self) -> usize {
        self.sector_size
    }

    fn sectors(&self) -> usize {
        self.sectors
    }

    fn read(&mut self, offset: usize, buf: &mut [u8]) -> Result<(), FlashError> {
        check_range(offset, buf.len(), self.size())?;
        for (i, w) in buf.chunks_exact_mut(WORD).enumerate() {
            w.copy_from_slice(&self.bus.read32(offset + i * WORD).to_le_bytes());
        }
        Ok(())
    }

    fn program(&mut self, offset: usize, data: &[u8]) -> Result<(), FlashError> {
        check_range(offset, data.len(), self.size())?;
        self.identify()?;
        let mut unlocked = usize::MAX;
        let mut result = Ok(());
        let mut last = offset;
        for (i, w) in data.chunks_exact(WORD).enumerate() {
            let at = offset + i * WORD;
            last = at;
            let block = at - at % self.sector_size;
            if block != unlocked {
                self.bus.write32(block, CMD_LOCK_SETUP);
                self.bus.write32(block, CMD_CONFIRM);
                result = self.wait(block);
                if result.is_err() {
                    break;
                }
                unlocked = block;
            }
            self.bus.write32(at, CMD_PROGRAM);
            self.bus
                .write32(at, u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
            result = self.wait(at);
            if result.is_err() {
                break;
            }
        }
        // One READ_ARRAY for the whole call, also after an error.
        self.bus.write32(last, CMD_READ_ARRAY);
        result
    }

    fn erase(&mut self, sector: usize) -> Result<(), FlashError> {
        if sector >= self.sectors {
            return Err(FlashError::OutOfRange);
        }
        self.identify()?;
        let at = sector * self.sector_size;
        self.unlock(at)?;
        self.bus.write32(at, CMD_ERASE);
        self.bus.write32(at, CMD_CONFIRM);
        self.finish(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    /// A model of the Intel command set as QEMU's pflash_cfi01 implements it (one state for
    /// the bank), strict about sequences: a command it does not expect is recorded.
    #[derive(Debug)]
    struct Device {
        mem: Vec<u8>,
        sector: usize,
        /// The pending first command of a two-cycle sequence, or the mode reads answer in.
        mode: u32,
        status: u32,
        locked: Vec<bool>,
        /// Bad sequences seen.
        errors: Vec<(usize, u32, u32)>,
        /// Reads done while not in read-array mode, other than status polls.
        fail_next_program: bool,
        /// Writes (commands and data) seen.
        writes: usize,
        /// READ_ARRAY commands seen.
        read_arrays: usize,
    }

    impl Device {
        fn new(sector: usize, sectors: usize) -> Self {
            Self {
                mem: vec![0xA5; sector * sectors],
                sector,
                mode: CMD_READ_ARRAY,
                status: 0,
                locked: vec![true; sectors],
                errors: Vec::new(),
                fail_next_program: false,
                writes: 0,
                read_arrays: 0,
            }
        }
    }

    impl Bus for &mut Device {
        fn read32(&mut self, at: usize) -> u32 {
            match self.mode {
                CMD_READ_ARRAY => u32::from_le_bytes(self.mem[at..at + 4].try_into().unwrap()),
                CMD_READ_ID => match (at / 4) & 0xFF {
                    0 => MANUFACTURER_INTEL,
                    1 => both(0x18),
                    _ => 0,
                },
                _ => self.status,
            }
        }

        fn write32(&mut self, at: usize, v: u32) {
            self.writes += 1;
            if v == CMD_READ_ARRAY && !matches!(self.mode, CMD_PROGRAM) {
                self.read_arrays += 1;
            }
            let block = at / self.sector;
            match (self.mode, v) {
                (CMD_PROGRAM, data) => {
                    if self.locked[block] || self.fail_next_program {
                        self.status = SR_READY | both(0x10);
                        self.fail_next_program = false;
                    } else {
                        for (i, b) in data.to_le_bytes().iter().enumerate() {
                            self.mem[at + i] &= b;
                        }
                        self.status |= SR_READY;
                    }
                    self.mode = both(0x70);
                }
                (CMD_ERASE, CMD_CONFIRM) => {
                    if self.locked[block] {
                        self.status = SR_READY | both(0x20);
                    } else {
                        let s = block * self.sector;
                        self.mem[s..s + self.sector].fill(0xFF);
                        self.status |= SR_READY;
                    }
                    self.mode = both(0x70);
                }
                (CMD_LOCK_SETUP, CMD_CONFIRM) => {
                    self.locked[block] = false;
                    self.status |= SR_READY;
                    self.mode = both(0x70);
                }
                (CMD_ERASE | CMD_LOCK_SETUP, other) => {
                    self.errors.push((at, self.mode, other));
                    self.mode = CMD_READ_ARRAY;
                }
                (_, CMD_CLEAR_STATUS) => {
                    self.status = 0;
                    self.mode = CMD_READ_ARRAY;
                }
                (_, CMD_READ_ARRAY | CMD_READ_ID | CMD_PROGRAM | CMD_ERASE | CMD_LOCK_SETUP) => {
                    self.mode = v;
                }
                (mode, other) => {
                    self.errors.push((at, mode, other));
                    self.mode = CMD_READ_ARRAY;
                }
            }
        }
    }

    const SECTOR: usize = 0x1000;

    #[test]
    fn probe_erase_program_read() {
        let mut dev = Device::new(SECTOR, 4);
        {
            let (mut f, id) = CfiFlash::probe(&mut dev, SECTOR, 4).unwrap();
            assert_eq!(id, both(0x18));
            f.erase(1).unwrap();
            f.program(SECTOR + 8, b"abcdefgh").unwrap();
            let mut buf = [0u8; 16];
            f.read(SECTOR, &mut buf).unwrap();
            assert_eq!(&buf, b"\xff\xff\xff\xff\xff\xff\xff\xffabcdefgh");
            // Sector 0 was neither erased nor written.
            f.read(0, &mut buf[..4]).unwrap();
            assert_eq!(&buf[..4], &[0xA5; 4]);
        }
        assert!(dev.errors.is_empty(), "{:x?}", dev.errors);
        assert_eq!(dev.mode, CMD_READ_ARRAY, "left in read-array mode");
    }

    #[test]
    fn deferred_flash_sends_no_command_before_the_first_write() {
        let mut dev = Device::new(SECTOR, 2);
        {
            let mut f = CfiFlash::deferred(&mut dev, SECTOR, 2).unwrap();
            let mut buf = [0u8; 8];
            f.read(SECTOR, &mut buf).unwrap();
            assert_eq!(buf, [0xA5; 8]);
            assert!(!f.probed());
        }
        assert_eq!(dev.writes, 0, "reads alone send no command");
        {
            let mut f = CfiFlash::deferred(&mut dev, SECTOR, 2).unwrap();
            f.erase(1).unwrap();
            assert!(f.probed());
            f.program(SECTOR, &[1, 2, 3, 4]).unwrap();
            let mut w = [0u8; 4];
            f.read(SECTOR, &mut w).unwrap();
            assert_eq!(w, [1, 2, 3, 4]);
        }
        assert!(dev.errors.is_empty(), "{:x?}", dev.errors);
        assert_eq!(dev.mode, CMD_READ_ARRAY);
        // Not a CFI device: the first write probes, fails, and nothing more is written.
        struct Ram([u8; 64], usize);
        impl Bus for Ram {
            fn read32(&mut self, at: usize) -> u32 {
                u32::from_le_bytes(self.0[at..at + 4].try_into().unwrap())
            }
            fn write32(&mut self, at: usize, v: u32) {
                self.1 += 1;
                self.0[at..at + 4].copy_from_slice(&v.to_le_bytes());
            }
        }
        let mut f = CfiFlash::deferred(Ram([0; 64], 0), 16, 4).unwrap();
        assert_eq!(f.program(0, &[0; 4]), Err(FlashError::Device(CMD_READ_ID)));
        let probe_writes = f.bus.1;
        assert_eq!(f.erase(1), Err(FlashError::Device(CMD_READ_ID)));
        assert_eq!(f.bus.1, probe_writes, "probed once");
    }

    #[test]
    fn a_program_call_returns_to_read_array_once() {
        let mut dev = Device::new(SECTOR, 2);
        {
            let (mut f, _) = CfiFlash::probe(&mut dev, SECTOR, 2).unwrap();
            f.erase(0).unwrap();
        }
        let before = dev.read_arrays;
        {
            let (mut f, _) = CfiFlash::probe(&mut dev, SECTOR, 2).unwrap();
            let data: Vec<u8> = (0..64u8).collect();
            // Across the sector boundary: two unlocks, 16 words, one READ_ARRAY at the end
            // (and the probe's).
            f.program(SECTOR - 32, &data).unwrap();
            let mut back = [0u8; 64];
            f.read(SECTOR - 32, &mut back).unwrap();
            assert_eq!(back[..32], data[..32]);
        }
        assert_eq!(dev.read_arrays - before, 2, "the probe's and the program's");
        assert_eq!(dev.mode, CMD_READ_ARRAY);
        assert!(dev.errors.is_empty(), "{:x?}", dev.errors);
        // Sector 1 was not erased: its words were programmed over 0xA5 (AND).
        assert_eq!(dev.mem[SECTOR], 0xA5 & 32);
    }

    #[test]
    fn device_errors_are_reported_and_cleared() {
        let mut dev = Device::new(SECTOR, 2);
        dev.fail_next_program = true;
        {
            let (mut f, _) = CfiFlash::probe(&mut dev, SECTOR, 2).unwrap();
            f.erase(0).unwrap();
            assert_eq!(
                f.program(0, &[0; 4]),
                Err(FlashError::Device(SR_READY | both(0x10)))
            );
            // The next operation works: the status was cleared, the device is in read-array.
            f.program(0, &[1, 2, 3, 4]).unwrap();
            let mut w = [0u8; 4];
            f.read(0, &mut w).unwrap();
            assert_eq!(w, [1, 2, 3, 4]);
        }
        assert_eq!(dev.status & SR_ERRORS, 0);
        assert!(dev.errors.is_empty(), "{:x?}", dev.errors);
    }

    #[test]
    fn refuses_other_devices_and_bad_ranges() {
        struct Ram([u8; 64]);
        impl Bus for Ram {
            fn read32(&mut self, at: usize) -> u32 {
                u32::from_le_bytes(self.0[at..at + 4].try_into().unwrap())
            }
            fn write32(&mut self, at: usize, v: u32) {
                self.0[at..at + 4].copy_from_slice(&v.to_le_bytes());
            }
        }
        // Plain memory echoes the command back instead of an ID.
        assert_eq!(
            CfiFlash::probe(Ram([0; 64]), 16, 4).err(),
            Some(FlashError::Device(CMD_READ_ID))
        );
        let mut dev = Device::new(SECTOR, 2);
        let (mut f, _) = CfiFlash::probe(&mut dev, SECTOR, 2).unwrap();
        assert_eq!(f.erase(2), Err(FlashError::OutOfRange));
        assert_eq!(f.program(2, &[0; 4]), Err(FlashError::Misaligned));
        assert_eq!(f.program(2 * SECTOR, &[0; 4]), Err(FlashError::OutOfRange));
        let mut b = [0u8; 3];
        assert_eq!(f.read(0, &mut b), Err(FlashError::Misaligned));
    }
}
