//! The FF-A boot information blob an SP receives in the register its manifest's
//! `gp-register-num` names (FF-A v1.2 section 5.4 "Boot information protocol": table 5.8 boot
//! information descriptor, table 5.9 boot information header).
//!
//! Parsing is pure and never panics: every field is checked against the bytes actually given.
#![forbid(unsafe_code)]

/// Signature in the first word of the header.
pub const BOOT_INFO_SIGNATURE: u32 = 0x0FFA;
/// Size of the header (table 5.9).
pub const HEADER_SIZE: usize = 32;
/// Size of one descriptor (table 5.8).
pub const DESCRIPTOR_SIZE: usize = 32;
/// Largest blob this runtime reads: the SPMC writes the header and descriptors in the first
/// page of the boot-info region (the manifest DTB follows on later pages).
pub const MAX_BLOB_SIZE: usize = 0x1000;

/// Descriptor type byte of a standard FDT (bit 7 = 0 standard, bits \[6:0\] = 0 FDT).
const TYPE_STD_FDT: u8 = 0x00;
/// Descriptor type byte of a standard HOB list.
const TYPE_STD_HOB: u8 = 0x01;
/// Flags bits \[3:2\]: format of the contents field, 0 = address, 1 = value.
const FLAGS_CONTENTS_SHIFT: u16 = 2;
const FLAGS_CONTENTS_MASK: u16 = 0b11;

/// Why a boot information blob was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootInfoError {
    /// Fewer bytes than a header.
    Truncated,
    /// The first word is not 0x0FFA.
    BadSignature(u32),
    /// The version is not 1.1 or later with major 1.
    BadVersion(u32),
    /// The blob size is smaller than the header, or larger than the bytes available.
    BadBlobSize(u32),
    /// The descriptor size is smaller than table 5.8's 32 bytes.
    BadDescriptorSize(u32),
    /// The descriptor array does not fit in the blob (or overlaps the header).
    BadDescriptorArray,
}

/// What a descriptor's contents field holds (flags bits \[3:2\]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contents {
    /// The address of the boot information, `size` bytes long.
    Address {
        /// Address in the SP's address space.
        addr: u64,
        /// Length in bytes.
        size: u32,
    },
    /// The boot information itself, `size` (1..=8) bytes of `value`.
    Value {
        /// The value.
        value: u64,
        /// Meaningful bytes.
        size: u32,
    },
    /// A reserved format value.
    Reserved(u16),
}

/// What a descriptor describes (the type byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InfoType {
    /// A flattened device tree (standard, id 0): for an SP, its manifest.
    Fdt,
    /// A UEFI HOB list (standard, id 1).
    Hob,
    /// Another standard id (reserved) or an implementation-defined type (bit 7 set).
    Other(u8),
}

/// One boot information descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Descriptor {
    /// The 16-byte name field (string or UUID, per flags bits \[1:0\]).
    pub name: [u8; 16],
    /// The type.
    pub info_type: InfoType,
    /// The raw flags.
    pub flags: u16,
    /// The contents.
    pub contents: Contents,
}

/// A validated boot information blob.
#[derive(Clone, Copy, Debug)]
pub struct BootInfo<'a> {
    blob: &'a [u8],
    version: u32,
    desc_size: usize,
    desc_count: usize,
    desc_offset: usize,
}

fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    let s = b.get(o..o.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], o: usize) -> Option<u64> {
    let s = b.get(o..o.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

/// Reads the blob size from a header without validating anything else, so the caller knows
/// how many bytes to hand to [`BootInfo::parse`]. `None` if `header` is shorter than a header
/// or the signature is wrong.
pub fn declared_blob_size(header: &[u8]) -> Option<u32> {
    if header.len() < HEADER_SIZE || u32_at(header, 0)? != BOOT_INFO_SIGNATURE {
        return None;
    }
    u32_at(header, 8)
}

impl<'a> BootInfo<'a> {
    /// Validates the header of `bytes` and the extent of its descriptor array.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, BootInfoError> {
        let field = |o| u32_at(bytes, o).ok_or(BootInfoError::Truncated);
        if bytes.len() < HEADER_SIZE {
            return Err(BootInfoError::Truncated);
        }
        let signature = field(0)?;
        if signature != BOOT_INFO_SIGNATURE {
            return Err(BootInfoError::BadSignature(signature));
        }
        let version = field(4)?;
        if version & 0x8000_0000 != 0 || version >> 16 != 1 || version & 0xFFFF < 1 {
            return Err(BootInfoError::BadVersion(version));
        }
        let blob_size = field(8)?;
        let size = usize::try_from(blob_size).map_err(|_| BootInfoError::BadBlobSize(blob_size))?;
        if size < HEADER_SIZE || size > bytes.len() {
            return Err(BootInfoError::BadBlobSize(blob_size));
        }
        let raw_desc_size = field(12)?;
        let desc_size = usize::try_from(raw_desc_size)
            .map_err(|_| BootInfoError::BadDescriptorSize(raw_desc_size))?;
        if desc_size < DESCRIPTOR_SIZE {
            return Err(BootInfoError::BadDescriptorSize(raw_desc_size));
        }
        let desc_count =
            usize::try_from(field(16)?).map_err(|_| BootInfoError::BadDescriptorArray)?;
        let desc_offset =
            usize::try_from(field(20)?).map_err(|_| BootInfoError::BadDescriptorArray)?;
        let end = desc_count
            .checked_mul(desc_size)
            .and_then(|len| len.checked_add(desc_offset))
            .ok_or(BootInfoError::BadDescriptorArray)?;
        if desc_offset < HEADER_SIZE || end > size {
            return Err(BootInfoError::BadDescriptorArray);
        }
        Ok(Self {
            blob: &bytes[..size],
            version,
            desc_size,
            desc_count,
            desc_offset,
        })
    }

    /// Returns the blob's version field (FFA_VERSION encoding).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Iterates over the descriptors.
    pub fn descriptors(&self) -> impl Iterator<Item = Descriptor> + 'a {
        let blob = self.blob;
        let (offset, size) = (self.desc_offset, self.desc_size);
        // `parse` checked that offset + count * size <= blob.len(), so these never overflow.
        (0..self.desc_count).filter_map(move |i| decode_descriptor(blob, offset + i * size))
    }

    /// Returns the address and size of the first standard FDT given by address: for an SP,
    /// its manifest DTB.
    pub fn fdt(&self) -> Option<(u64, u32)> {
        self.descriptors()
            .find_map(|d| match (d.info_type, d.contents) {
                (InfoType::Fdt, Contents::Address { addr, size }) => Some((addr, size)),
                _ => None,
            })
    }
}

fn decode_descriptor(blob: &[u8], o: usize) -> Option<Descriptor> {
    let d = blob.get(o..o.checked_add(DESCRIPTOR_SIZE)?)?;
    let mut name = [0u8; 16];
    name.copy_from_slice(&d[..16]);
    let info_type = match d[16] {
        TYPE_STD_FDT => InfoType::Fdt,
        TYPE_STD_HOB => InfoType::Hob,
        other => InfoType::Other(other),
    };
    let flags = u16::from_le_bytes([d[18], d[19]]);
    let size = u32_at(d, 20)?;
    let raw = u64_at(d, 24)?;
    let contents = match (flags >> FLAGS_CONTENTS_SHIFT) & FLAGS_CONTENTS_MASK {
        0 => Contents::Address { addr: raw, size },
        1 => Contents::Value { value: raw, size },
        other => Contents::Reserved(other),
    };
    Some(Descriptor {
        name,
        info_type,
        flags,
        contents,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a blob the way the SPMC does: header, then `descs` descriptors of 32 bytes.
    pub(crate) fn blob(descs: &[(u8, u16, u32, u64)]) -> Vec<u8> {
        let mut v = Vec::new();
        let size = HEADER_SIZE + descs.len() * DESCRIPTOR_SIZE;
        for w in [0x0FFA, 0x1_0002, size as u32, 32, descs.len() as u32, 32] {
            v.extend_from_slice(&u32::to_le_bytes(w));
        }
        v.extend_from_slice(&[0; 8]);
        for (ty, flags, sz, contents) in descs {
            v.extend_from_slice(b"manifest\0\0\0\0\0\0\0\0");
            v.push(*ty);
            v.push(0);
            v.extend_from_slice(&flags.to_le_bytes());
            v.extend_from_slice(&sz.to_le_bytes());
            v.extend_from_slice(&contents.to_le_bytes());
        }
        v
    }

    fn set_u32(v: &mut [u8], o: usize, x: u32) {
        v[o..o + 4].copy_from_slice(&x.to_le_bytes());
    }

    #[test]
    fn finds_the_manifest_fdt() {
        let b = blob(&[(0x80, 0, 4, 0xDEAD), (0, 0, 0x345, 0x2440_1000)]);
        let bi = BootInfo::parse(&b).unwrap();
        assert_eq!(bi.version(), 0x1_0002);
        assert_eq!(bi.descriptors().count(), 2);
        assert_eq!(bi.fdt(), Some((0x2440_1000, 0x345)));
        assert_eq!(declared_blob_size(&b), Some(96));
    }

    #[test]
    fn value_fdt_is_not_taken_as_an_address() {
        let b = blob(&[(0, 1 << 2, 8, 0x1234)]);
        let bi = BootInfo::parse(&b).unwrap();
        assert_eq!(bi.fdt(), None);
        let d = bi.descriptors().next().unwrap();
        assert_eq!(
            d.contents,
            Contents::Value {
                value: 0x1234,
                size: 8
            }
        );
    }

    #[test]
    fn rejects_bad_headers() {
        let good = blob(&[(0, 0, 16, 0x1000)]);
        assert_eq!(
            BootInfo::parse(&good[..31]).err(),
            Some(BootInfoError::Truncated)
        );
        let mut b = good.clone();
        set_u32(&mut b, 0, 0xFFA0);
        assert_eq!(
            BootInfo::parse(&b).err(),
            Some(BootInfoError::BadSignature(0xFFA0))
        );
        let mut b = good.clone();
        set_u32(&mut b, 4, 0x1_0000);
        assert_eq!(
            BootInfo::parse(&b).err(),
            Some(BootInfoError::BadVersion(0x1_0000))
        );
        let mut b = good.clone();
        set_u32(&mut b, 8, 65);
        assert_eq!(
            BootInfo::parse(&b).err(),
            Some(BootInfoError::BadBlobSize(65))
        );
        let mut b = good.clone();
        set_u32(&mut b, 12, 16);
        assert_eq!(
            BootInfo::parse(&b).err(),
            Some(BootInfoError::BadDescriptorSize(16))
        );
        let mut b = good.clone();
        set_u32(&mut b, 16, 2);
        assert_eq!(
            BootInfo::parse(&b).err(),
            Some(BootInfoError::BadDescriptorArray)
        );
        let mut b = good.clone();
        set_u32(&mut b, 20, 8);
        assert_eq!(
            BootInfo::parse(&b).err(),
            Some(BootInfoError::BadDescriptorArray)
        );
        let mut b = good;
        set_u32(&mut b, 16, u32::MAX);
        set_u32(&mut b, 20, u32::MAX);
        assert_eq!(
            BootInfo::parse(&b).err(),
            Some(BootInfoError::BadDescriptorArray)
        );
    }

    #[test]
    fn never_panics_on_arbitrary_bytes() {
        // A cheap deterministic sweep (xorshift) over mutated blobs: parse and walk them all.
        let base = blob(&[(0, 0, 16, 0x1000), (1, 4, 8, 7)]);
        let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut accepted = 0;
        for _ in 0..20_000 {
            let mut b = base.clone();
            for _ in 0..4 {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let i = (s as usize) % b.len();
                b[i] = (s >> 32) as u8;
            }
            let cut = (s >> 40) as usize % (b.len() + 1);
            if let Ok(bi) = BootInfo::parse(&b[..cut]) {
                accepted += 1;
                let declared = u32_at(&b, 16).unwrap() as usize;
                assert!(bi.descriptors().count() <= declared);
                if let Some((addr, size)) = bi.fdt() {
                    assert!(bi.descriptors().any(|d| d.info_type == InfoType::Fdt
                        && d.contents == Contents::Address { addr, size }));
                }
            }
        }
        // Some mutations leave the blob valid: the sweep reached the descriptor walk.
        assert!(accepted > 0);
    }
}
