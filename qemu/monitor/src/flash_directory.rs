//! The directory that tells the monitor where each payload sits in the secure flash image.
//!
//! `xtask` writes it (see `xtask/src/flash.rs`, which includes this very file) and the monitor
//! reads it at boot, so the format has exactly one definition. All fields are little-endian.
//!
//! Layout at flash offset [`DIRECTORY_OFFSET`]:
//! `magic[8] | version: u32 | count: u32 | count x { kind: u32, reserved: u32, flash_offset: u64,
//! size: u64, load_address: u64 }`.

/// Total size of the sbsa-ref secure flash image (pflash unit 0).
pub const FLASH_SIZE: u64 = platform_facts::qemu_sbsa::SECURE_FLASH.size;
/// Where persistent storage starts: payloads end below it, and xtask keeps its bytes when it
/// rebuilds the image (platform-facts `STORAGE_FLASH`, docs/storage.md).
pub const STORAGE_OFFSET: u64 = platform_facts::qemu_sbsa::STORAGE_FLASH.base;
/// Bytes of persistent storage, up to the end of the flash.
pub const STORAGE_SIZE: u64 = platform_facts::qemu_sbsa::STORAGE_FLASH.size;
/// The end of the area payloads may use.
pub const PAYLOAD_END: u64 = STORAGE_OFFSET;
const _: () = assert!(STORAGE_OFFSET + STORAGE_SIZE == FLASH_SIZE);
/// Where the directory sits: right after the space reserved for the monitor's own image.
pub const DIRECTORY_OFFSET: u64 = 0x0010_0000;
/// The largest monitor image that fits before the directory.
pub const MONITOR_MAX_SIZE: u64 = DIRECTORY_OFFSET;
/// Payload slots start at this offset and are aligned to [`SLOT_ALIGN`].
pub const FIRST_SLOT_OFFSET: u64 = 0x0020_0000;
/// Alignment of every payload slot (2 MiB, a block mapping size should anyone map flash).
pub const SLOT_ALIGN: u64 = 0x0020_0000;
/// Where the monitor copies the SPMC manifest DTB: TF-A qemu_sbsa's TOS_FW_CONFIG page.
pub const SPMC_MANIFEST_LOAD_ADDRESS: u64 = platform_facts::qemu_sbsa::SPMC_MANIFEST.base;
/// Largest SPMC manifest DTB (TF-A's TOS_FW_CONFIG_SIZE, one page).
pub const SPMC_MANIFEST_MAX_SIZE: u64 = platform_facts::qemu_sbsa::SPMC_MANIFEST.size;
/// Where the monitor loads and enters the SPMC: TF-A qemu_sbsa's BL32_BASE, whatever the
/// manifest says (TF-A's SPMD does not place an S-EL1 SPMC by its manifest either).
pub const SPMC_LOAD_ADDRESS: u64 = platform_facts::tf_a::qemu_sbsa::BL32_BASE;
/// The most of BL32 TF-A's BL2 loads (BL32_LIMIT - BL32_BASE).
pub const SPMC_MAX_SIZE: u64 =
    platform_facts::tf_a::qemu_sbsa::BL32_LIMIT - platform_facts::tf_a::qemu_sbsa::BL32_BASE;
/// Where the normal-world driver is loaded and entered (NS-EL2).
pub const NS_IMAGE_LOAD_ADDRESS: u64 = 0x100_0010_0000;
/// Identifies a directory; also stops a monitor from booting a stale or foreign image.
pub const MAGIC: [u8; 8] = *b"SPMCFLSH";
/// Format version of this layout.
pub const VERSION: u32 = 1;
/// Upper bound on entries, so the directory has a fixed maximum size.
pub const MAX_ENTRIES: usize = 8;
/// Bytes of the header (magic, version, count).
pub const HEADER_SIZE: usize = 16;
/// Bytes of one entry.
pub const ENTRY_SIZE: usize = 32;
/// Largest encoded directory.
pub const MAX_DIRECTORY_SIZE: usize = HEADER_SIZE + MAX_ENTRIES * ENTRY_SIZE;

/// What a payload is; decides where the monitor uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadKind {
    /// SPMC manifest DTB (TOS_FW_CONFIG), copied to secure RAM and passed to the SPMC in x0.
    SpmcManifest,
    /// SPMC flat binary (BL32), copied to the manifest's `load_address`.
    Spmc,
    /// Normal-world test driver flat binary, copied to non-secure DRAM.
    NsImage,
}

impl PayloadKind {
    /// Returns the on-flash code of the kind.
    pub const fn code(self) -> u32 {
        match self {
            PayloadKind::SpmcManifest => 1,
            PayloadKind::Spmc => 2,
            PayloadKind::NsImage => 3,
        }
    }

    /// Decodes an on-flash kind code.
    pub const fn from_code(code: u32) -> Option<Self> {
        match code {
            1 => Some(PayloadKind::SpmcManifest),
            2 => Some(PayloadKind::Spmc),
            3 => Some(PayloadKind::NsImage),
            _ => None,
        }
    }
}

/// One payload: where it is in flash and where the monitor copies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// What the payload is.
    pub kind: PayloadKind,
    /// Byte offset of the payload in the flash image (= its physical address, flash is at 0).
    pub flash_offset: u64,
    /// Payload size in bytes.
    pub size: u64,
    /// Physical address the monitor copies the payload to.
    pub load_address: u64,
}

/// Why a directory was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirectoryError {
    /// The buffer is shorter than the header or the entries it announces.
    Truncated,
    /// The magic is not [`MAGIC`].
    BadMagic,
    /// The version is not [`VERSION`].
    BadVersion(u32),
    /// More than [`MAX_ENTRIES`] entries.
    TooManyEntries(u32),
    /// An entry has an unknown kind code.
    UnknownKind(u32),
    /// An entry's flash range lies (partly) outside the payload area of the flash (e.g. in
    /// the storage area).
    OutOfFlash { kind: PayloadKind },
    /// Two entries of the same kind.
    Duplicate(PayloadKind),
}

/// A decoded, bounds-checked directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Directory {
    entries: [Option<Entry>; MAX_ENTRIES],
}

impl Directory {
    /// Returns the entry of `kind`, if the image has one.
    pub fn find(&self, kind: PayloadKind) -> Option<Entry> {
        self.entries
            .iter()
            .flatten()
            .find(|e| e.kind == kind)
            .copied()
    }

    /// Iterates over the entries in directory order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().flatten()
    }
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let lo = read_u32(bytes, at)?;
    let hi = read_u32(bytes, at.checked_add(4)?)?;
    Some(u64::from(lo) | (u64::from(hi) << 32))
}

/// Checks that `[offset, offset + size)` lies in the payload area of the flash.
fn validate_flash_range(offset: u64, size: u64) -> bool {
    match offset.checked_add(size) {
        Some(end) => offset >= FIRST_SLOT_OFFSET && end <= PAYLOAD_END,
        None => false,
    }
}

/// Decodes and checks a directory read from flash. Never panics on any input.
pub fn decode(bytes: &[u8]) -> Result<Directory, DirectoryError> {
    let magic = bytes.get(0..8).ok_or(DirectoryError::Truncated)?;
    if magic != MAGIC {
        return Err(DirectoryError::BadMagic);
    }
    let version = read_u32(bytes, 8).ok_or(DirectoryError::Truncated)?;
    if version != VERSION {
        return Err(DirectoryError::BadVersion(version));
    }
    let count = read_u32(bytes, 12).ok_or(DirectoryError::Truncated)?;
    if count as usize > MAX_ENTRIES {
        return Err(DirectoryError::TooManyEntries(count));
    }
    let mut dir = Directory {
        entries: [None; MAX_ENTRIES],
    };
    for i in 0..count as usize {
        let at = HEADER_SIZE + i * ENTRY_SIZE;
        let code = read_u32(bytes, at).ok_or(DirectoryError::Truncated)?;
        let flash_offset = read_u64(bytes, at + 8).ok_or(DirectoryError::Truncated)?;
        let size = read_u64(bytes, at + 16).ok_or(DirectoryError::Truncated)?;
        let load_address = read_u64(bytes, at + 24).ok_or(DirectoryError::Truncated)?;
        let kind = PayloadKind::from_code(code).ok_or(DirectoryError::UnknownKind(code))?;
        if !validate_flash_range(flash_offset, size) {
            return Err(DirectoryError::OutOfFlash { kind });
        }
        if dir.find(kind).is_some() {
            return Err(DirectoryError::Duplicate(kind));
        }
        dir.entries[i] = Some(Entry {
            kind,
            flash_offset,
            size,
            load_address,
        });
    }
    Ok(dir)
}

/// Encodes `entries` into `out`; returns the number of bytes written. Fails if there are too
/// many entries for the format.
pub fn encode(
    entries: &[Entry],
    out: &mut [u8; MAX_DIRECTORY_SIZE],
) -> Result<usize, DirectoryError> {
    if entries.len() > MAX_ENTRIES {
        return Err(DirectoryError::TooManyEntries(entries.len() as u32));
    }
    out.fill(0);
    out[0..8].copy_from_slice(&MAGIC);
    out[8..12].copy_from_slice(&VERSION.to_le_bytes());
    out[12..16].copy_from_slice(&(entries.len() as u32).to_le_bytes());
    for (i, e) in entries.iter().enumerate() {
        let at = HEADER_SIZE + i * ENTRY_SIZE;
        out[at..at + 4].copy_from_slice(&e.kind.code().to_le_bytes());
        out[at + 8..at + 16].copy_from_slice(&e.flash_offset.to_le_bytes());
        out[at + 16..at + 24].copy_from_slice(&e.size.to_le_bytes());
        out[at + 24..at + 32].copy_from_slice(&e.load_address.to_le_bytes());
    }
    Ok(HEADER_SIZE + entries.len() * ENTRY_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> [Entry; 2] {
        [
            Entry {
                kind: PayloadKind::SpmcManifest,
                flash_offset: 0x20_0000,
                size: 0x200,
                load_address: SPMC_MANIFEST_LOAD_ADDRESS,
            },
            Entry {
                kind: PayloadKind::Spmc,
                flash_offset: 0x40_0000,
                size: 0x1_2345,
                load_address: SPMC_LOAD_ADDRESS,
            },
        ]
    }

    #[test]
    fn round_trip() {
        let mut buf = [0u8; MAX_DIRECTORY_SIZE];
        let n = encode(&sample(), &mut buf).unwrap();
        assert_eq!(n, HEADER_SIZE + 2 * ENTRY_SIZE);
        let dir = decode(&buf[..n]).unwrap();
        assert_eq!(dir.find(PayloadKind::Spmc), Some(sample()[1]));
        assert_eq!(dir.find(PayloadKind::NsImage), None);
        assert_eq!(dir.entries().count(), 2);
    }

    #[test]
    fn refuses_bad_input() {
        let mut buf = [0u8; MAX_DIRECTORY_SIZE];
        let n = encode(&sample(), &mut buf).unwrap();
        assert_eq!(decode(&buf[..n - 1]), Err(DirectoryError::Truncated));
        assert_eq!(decode(&buf[..4]), Err(DirectoryError::Truncated));
        let mut bad = buf;
        bad[0] = b'X';
        assert_eq!(decode(&bad), Err(DirectoryError::BadMagic));
        let mut bad = buf;
        bad[12] = 9;
        assert_eq!(decode(&bad), Err(DirectoryError::TooManyEntries(9)));
        let mut bad = buf;
        bad[HEADER_SIZE] = 7;
        assert_eq!(decode(&bad), Err(DirectoryError::UnknownKind(7)));
        let mut dup = sample();
        dup[1].kind = PayloadKind::SpmcManifest;
        let n = encode(&dup, &mut buf).unwrap();
        assert_eq!(
            decode(&buf[..n]),
            Err(DirectoryError::Duplicate(PayloadKind::SpmcManifest))
        );
        let mut out = sample();
        out[1].size = PAYLOAD_END - out[1].flash_offset + 1;
        let n = encode(&out, &mut buf).unwrap();
        assert_eq!(
            decode(&buf[..n]),
            Err(DirectoryError::OutOfFlash {
                kind: PayloadKind::Spmc
            }),
            "a payload reaching into the storage area"
        );
        let mut out = sample();
        out[0].size = u64::MAX;
        let n = encode(&out, &mut buf).unwrap();
        assert_eq!(
            decode(&buf[..n]),
            Err(DirectoryError::OutOfFlash {
                kind: PayloadKind::SpmcManifest
            })
        );
    }

    #[test]
    fn never_panics_on_short_prefixes() {
        let mut buf = [0u8; MAX_DIRECTORY_SIZE];
        encode(&sample(), &mut buf).unwrap();
        for len in 0..buf.len() {
            let _ = decode(&buf[..len]);
        }
    }
}
