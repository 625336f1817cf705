//! Boot information passed to a partition at its first entry.
//!
//! * FF-A v1.1+ (DEN0077 v1.1+ "Boot information protocol": tables "Boot information header" and "Boot information descriptor"): a 32-byte header (signature
//!   0x0FFA u32 @0, version u32 @4, blob size u32 @8, descriptor size u32 @12,
//!   descriptor count u32 @16, array offset u32 @20, reserved u64 @24) followed by
//!   32-byte descriptors (name `[16]` @0, type u8 @16, reserved u8 @17, flags u16 @18,
//!   size u32 @20, contents u64 @24).
//! * FF-A v1.0 (DEN0077 v1.0 boot protocol "name-value pairs", as OP-TEE and Trusted
//!   Services use it): magic "FF-A" @0, count u32 @4, then 32-byte name/value pairs (name `[16]`,
//!   value u64, size u64) from offset 8.

use crate::error::{BuildError, DescError};
use crate::version::Version;
use crate::wire;

/// Signature of the v1.1+ header.
pub const SIGNATURE: u32 = 0x0FFA;
/// Size of the v1.1+ header.
pub const HEADER_SIZE: usize = 32;
/// Size of one v1.1+ descriptor.
pub const DESC_SIZE: usize = 32;
/// Magic of the v1.0 blob, the ASCII bytes "FF-A".
pub const V1_0_MAGIC: [u8; 4] = *b"FF-A";
/// Size of one v1.0 name/value pair.
pub const V1_0_ENTRY_SIZE: usize = 32;

/// Boot information type byte (bit 7: implementation defined; bits `[6:0]` the ID).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BootInfoType {
    /// Standard type 0: flattened device tree (the partition manifest).
    Fdt,
    /// Standard type 1: UEFI Hand-Off Block list.
    Hob,
    /// Another standard ID (not defined up to v1.2; kept for exact re-encoding).
    OtherStd(u8),
    /// Implementation-defined type with this ID.
    ImpDef(u8),
}

impl BootInfoType {
    /// Encodes the type byte.
    pub const fn encode(self) -> u8 {
        match self {
            BootInfoType::Fdt => 0,
            BootInfoType::Hob => 1,
            BootInfoType::OtherStd(id) => id & 0x7F,
            BootInfoType::ImpDef(id) => 0x80 | (id & 0x7F),
        }
    }

    /// Decodes the type byte.
    pub const fn decode(v: u8) -> Self {
        if v & 0x80 != 0 {
            BootInfoType::ImpDef(v & 0x7F)
        } else {
            match v {
                0 => BootInfoType::Fdt,
                1 => BootInfoType::Hob,
                id => BootInfoType::OtherStd(id),
            }
        }
    }
}

/// Descriptor flags: bits `[1:0]` name format (0 string, 1 UUID), bits `[3:2]` content
/// format (0 address, 1 value); other bits MBZ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BootInfoFlags {
    /// The name field holds a UUID rather than a NUL-terminated string.
    pub name_is_uuid: bool,
    /// The contents field holds the value itself rather than its address.
    pub content_is_value: bool,
}

impl BootInfoFlags {
    /// Encodes.
    pub const fn encode(self) -> u16 {
        (self.name_is_uuid as u16) | ((self.content_is_value as u16) << 2)
    }

    /// Decodes; reserved encodings (0b10, 0b11) and bits `[15:4]` are refused.
    pub const fn decode(v: u16) -> Option<Self> {
        if v & !0b0101 != 0 {
            return None;
        }
        Some(Self {
            name_is_uuid: v & 1 != 0,
            content_is_value: v & 4 != 0,
        })
    }
}

/// One v1.1+ boot information descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BootInfoDesc {
    /// Name (string or UUID, per flags).
    pub name: [u8; 16],
    /// Type.
    pub kind: BootInfoType,
    /// Flags.
    pub flags: BootInfoFlags,
    /// Size of the information in bytes.
    pub size: u32,
    /// Address of the information, or the value itself.
    pub contents: u64,
}

impl BootInfoDesc {
    /// A descriptor for the partition manifest DTB at `addr`, as OP-TEE's SPMC
    /// passes it to Trusted Services SPs (type FDT, content is an address).
    pub fn fdt(addr: u64, size: u32) -> Self {
        let mut name = [0u8; 16];
        name[..12].copy_from_slice(b"ffa_manifest");
        Self {
            name,
            kind: BootInfoType::Fdt,
            flags: BootInfoFlags {
                name_is_uuid: false,
                content_is_value: false,
            },
            size,
            contents: addr,
        }
    }
}

impl BootInfoDesc {
    /// Where the information is, `(address, size)`, when the contents field holds its address
    /// (flags bits `[3:2]` = 0); `None` when it holds the value itself.
    pub const fn address(&self) -> Option<(u64, u32)> {
        if self.flags.content_is_value {
            None
        } else {
            Some((self.contents, self.size))
        }
    }
}

/// A validated view of a v1.1+ boot information blob.
#[derive(Clone, Copy, Debug)]
pub struct BootInfo<'a> {
    buf: &'a [u8],
    /// FF-A version in the header.
    pub version: Version,
    /// Blob size from the header.
    pub blob_size: u32,
    offset: usize,
    count: usize,
}

impl<'a> BootInfo<'a> {
    /// Reads the blob size from the first 32 bytes, after checking the signature and
    /// version, so that a partition handed only an address in x0 knows how much to
    /// read before calling [`BootInfo::parse`].
    pub fn peek_blob_size(header: &[u8]) -> Result<usize, DescError> {
        let t = |offset, len| DescError::Truncated { offset, len };
        if wire::u32_at(header, 0).ok_or(t(0, 4))? != SIGNATURE {
            return Err(DescError::BadSignature);
        }
        let vword = wire::u32_at(header, 4).ok_or(t(4, 4))?;
        match Version::decode(vword) {
            Some(v) if v.major == 1 && v.minor >= 1 => {}
            Some(v) => return Err(DescError::UnsupportedVersion(v)),
            None => {
                return Err(DescError::InvalidField {
                    offset: 4,
                    field: "version",
                })
            }
        }
        let size = wire::u32_at(header, 8).ok_or(t(8, 4))?;
        if (size as usize) < HEADER_SIZE {
            return Err(DescError::InvalidField {
                offset: 8,
                field: "blob size",
            });
        }
        Ok(size as usize)
    }

    /// Parses and validates the header and every descriptor against `buf`.
    pub fn parse(buf: &'a [u8]) -> Result<Self, DescError> {
        let t = |offset, len| DescError::Truncated { offset, len };
        if buf.len() < HEADER_SIZE {
            return Err(t(0, HEADER_SIZE));
        }
        if wire::u32_at(buf, 0).ok_or(t(0, 4))? != SIGNATURE {
            return Err(DescError::BadSignature);
        }
        let vword = wire::u32_at(buf, 4).ok_or(t(4, 4))?;
        let version = Version::decode(vword).ok_or(DescError::InvalidField {
            offset: 4,
            field: "version",
        })?;
        if version.major != 1 || version.minor < 1 {
            return Err(DescError::UnsupportedVersion(version));
        }
        let blob_size = wire::u32_at(buf, 8).ok_or(t(8, 4))?;
        let desc_size = wire::u32_at(buf, 12).ok_or(t(12, 4))?;
        let count = wire::u32_at(buf, 16).ok_or(t(16, 4))?;
        let offset = wire::u32_at(buf, 20).ok_or(t(20, 4))?;
        if wire::u64_at(buf, 24).ok_or(t(24, 8))? != 0 {
            return Err(DescError::NonZeroMbz { offset: 24 });
        }
        if blob_size as usize > buf.len() || (blob_size as usize) < HEADER_SIZE {
            return Err(DescError::InvalidField {
                offset: 8,
                field: "blob size",
            });
        }
        if desc_size as usize != DESC_SIZE {
            return Err(DescError::InvalidField {
                offset: 12,
                field: "descriptor size",
            });
        }
        if (offset as usize) < HEADER_SIZE {
            return Err(DescError::BadOffset { value: offset });
        }
        if offset % 8 != 0 {
            return Err(DescError::Misaligned { offset: 20 });
        }
        let end = (count as usize)
            .checked_mul(DESC_SIZE)
            .and_then(|n| n.checked_add(offset as usize))
            .ok_or(DescError::Overflow)?;
        if end > blob_size as usize {
            return Err(DescError::CountTooLarge { count });
        }
        for i in 0..count as usize {
            let at = offset as usize + i * DESC_SIZE;
            if wire::u8_at(buf, at + 17).ok_or(t(at + 17, 1))? != 0 {
                return Err(DescError::NonZeroMbz { offset: at + 17 });
            }
            let flags = wire::u16_at(buf, at + 18).ok_or(t(at + 18, 2))?;
            if BootInfoFlags::decode(flags).is_none() {
                return Err(DescError::InvalidField {
                    offset: at + 18,
                    field: "boot info flags",
                });
            }
        }
        Ok(Self {
            buf,
            version,
            blob_size,
            offset: offset as usize,
            count: count as usize,
        })
    }

    /// Number of descriptors.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Descriptor `i`.
    pub fn desc(&self, i: usize) -> Option<BootInfoDesc> {
        if i >= self.count {
            return None;
        }
        let at = self.offset + i * DESC_SIZE;
        Some(BootInfoDesc {
            name: wire::array_at::<16>(self.buf, at)?,
            kind: BootInfoType::decode(wire::u8_at(self.buf, at + 16)?),
            flags: BootInfoFlags::decode(wire::u16_at(self.buf, at + 18)?)?,
            size: wire::u32_at(self.buf, at + 20)?,
            contents: wire::u64_at(self.buf, at + 24)?,
        })
    }

    /// All descriptors.
    pub fn descs(&self) -> impl Iterator<Item = BootInfoDesc> + '_ {
        (0..self.count).filter_map(move |i| self.desc(i))
    }

    /// The first FDT descriptor, the partition manifest.
    pub fn fdt(&self) -> Option<BootInfoDesc> {
        self.descs().find(|d| d.kind == BootInfoType::Fdt)
    }
}

/// Writes a v1.1+ blob (header, then the descriptors right after it) into `out`;
/// returns its size, which is also the blob size recorded in the header.
pub fn write_boot_info(
    version: Version,
    descs: &[BootInfoDesc],
    out: &mut [u8],
) -> Result<usize, BuildError> {
    write_boot_info_blob(version, descs, 0, out)
}

/// Like [`write_boot_info`], but records a blob size of `blob_size` bytes (at least
/// the header and descriptors) for a producer that places the referenced information,
/// e.g. the manifest copy, inside the blob after the descriptors. Returns the number
/// of bytes written (header and descriptors).
pub fn write_boot_info_blob(
    version: Version,
    descs: &[BootInfoDesc],
    blob_size: u32,
    out: &mut [u8],
) -> Result<usize, BuildError> {
    if version.major != 1 || version.minor < 1 {
        return Err(BuildError::UnsupportedVersion(version));
    }
    let total = descs
        .len()
        .checked_mul(DESC_SIZE)
        .and_then(|n| n.checked_add(HEADER_SIZE))
        .ok_or(BuildError::FieldOverflow("count"))?;
    let total32 = u32::try_from(total).map_err(|_| BuildError::FieldOverflow("count"))?;
    let blob32 = blob_size.max(total32);
    let available = out.len();
    let dst = out.get_mut(..total).ok_or(BuildError::NoSpace {
        needed: total,
        available,
    })?;
    dst.fill(0);
    dst[0..4].copy_from_slice(&SIGNATURE.to_le_bytes());
    dst[4..8].copy_from_slice(&version.encode().to_le_bytes());
    dst[8..12].copy_from_slice(&blob32.to_le_bytes());
    dst[12..16].copy_from_slice(&(DESC_SIZE as u32).to_le_bytes());
    dst[16..20].copy_from_slice(&(descs.len() as u32).to_le_bytes());
    dst[20..24].copy_from_slice(&(HEADER_SIZE as u32).to_le_bytes());
    for (i, d) in descs.iter().enumerate() {
        let at = HEADER_SIZE + i * DESC_SIZE;
        let e = &mut dst[at..at + DESC_SIZE];
        e[0..16].copy_from_slice(&d.name);
        e[16] = d.kind.encode();
        e[18..20].copy_from_slice(&d.flags.encode().to_le_bytes());
        e[20..24].copy_from_slice(&d.size.to_le_bytes());
        e[24..32].copy_from_slice(&d.contents.to_le_bytes());
    }
    Ok(total)
}

/// One name/value pair of the v1.0 blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NameValue {
    /// Name, e.g. "TYPE_DT" NUL padded.
    pub name: [u8; 16],
    /// Value (an address for TYPE_DT).
    pub value: u64,
    /// Size of what `value` points to.
    pub size: u64,
}

impl NameValue {
    /// The entry OP-TEE's SPMC passes for the manifest DTB.
    pub fn dt(addr: u64, size: u64) -> Self {
        let mut name = [0u8; 16];
        name[..7].copy_from_slice(b"TYPE_DT");
        Self {
            name,
            value: addr,
            size,
        }
    }
}

/// A validated view of a v1.0 name/value blob.
#[derive(Clone, Copy, Debug)]
pub struct BootInfoV1_0<'a> {
    buf: &'a [u8],
    count: usize,
}

impl<'a> BootInfoV1_0<'a> {
    /// Parses: magic "FF-A", and `count` entries inside `buf`.
    pub fn parse(buf: &'a [u8]) -> Result<Self, DescError> {
        let magic =
            wire::array_at::<4>(buf, 0).ok_or(DescError::Truncated { offset: 0, len: 8 })?;
        if magic != V1_0_MAGIC {
            return Err(DescError::BadSignature);
        }
        let count = wire::u32_at(buf, 4).ok_or(DescError::Truncated { offset: 4, len: 4 })?;
        let end = (count as usize)
            .checked_mul(V1_0_ENTRY_SIZE)
            .and_then(|n| n.checked_add(8))
            .ok_or(DescError::Overflow)?;
        if end > buf.len() {
            return Err(DescError::CountTooLarge { count });
        }
        Ok(Self {
            buf,
            count: count as usize,
        })
    }

    /// Number of entries.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Entry `i`.
    pub fn entry(&self, i: usize) -> Option<NameValue> {
        if i >= self.count {
            return None;
        }
        let at = 8 + i * V1_0_ENTRY_SIZE;
        Some(NameValue {
            name: wire::array_at::<16>(self.buf, at)?,
            value: wire::u64_at(self.buf, at + 16)?,
            size: wire::u64_at(self.buf, at + 24)?,
        })
    }

    /// All entries.
    pub fn entries(&self) -> impl Iterator<Item = NameValue> + '_ {
        (0..self.count).filter_map(move |i| self.entry(i))
    }
}

/// Writes a v1.0 name/value blob; returns its size.
pub fn write_boot_info_v1_0(entries: &[NameValue], out: &mut [u8]) -> Result<usize, BuildError> {
    let total = entries
        .len()
        .checked_mul(V1_0_ENTRY_SIZE)
        .and_then(|n| n.checked_add(8))
        .ok_or(BuildError::FieldOverflow("count"))?;
    let count = u32::try_from(entries.len()).map_err(|_| BuildError::FieldOverflow("count"))?;
    let available = out.len();
    let dst = out.get_mut(..total).ok_or(BuildError::NoSpace {
        needed: total,
        available,
    })?;
    dst[0..4].copy_from_slice(&V1_0_MAGIC);
    dst[4..8].copy_from_slice(&count.to_le_bytes());
    for (i, e) in entries.iter().enumerate() {
        let at = 8 + i * V1_0_ENTRY_SIZE;
        dst[at..at + 16].copy_from_slice(&e.name);
        dst[at + 16..at + 24].copy_from_slice(&e.value.to_le_bytes());
        dst[at + 24..at + 32].copy_from_slice(&e.size.to_le_bytes());
    }
    Ok(total)
}
