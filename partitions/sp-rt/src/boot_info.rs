//! The FF-A boot information blob an SP receives in the register its manifest's
//! `gp-register-num` names (FF-A v1.2 "Boot information protocol": the boot information header
//! and descriptor tables). The codec is ffa-abi's ([`ffa_abi::boot_info`]): parsing is pure,
//! never panics, and checks every field against the bytes actually given.
#![forbid(unsafe_code)]

pub use ffa_abi::boot_info::{
    BootInfo, BootInfoDesc, BootInfoFlags, BootInfoType, BootInfoV1_0, NameValue, HEADER_SIZE,
    V1_0_ENTRY_SIZE, V1_0_MAGIC,
};

/// Largest blob this runtime reads: the SPMC writes the header and descriptors in the first
/// page of the boot-info region (the manifest DTB follows on later pages).
pub const MAX_BLOB_SIZE: usize = 0x1000;

/// Returns the address and size of the first standard FDT given by address: for an SP, its
/// manifest DTB. An FDT passed by value is not an address and is skipped.
pub fn manifest_fdt(info: &BootInfo<'_>) -> Option<(u64, u32)> {
    info.descs()
        .filter(|d| d.kind == BootInfoType::Fdt)
        .find_map(|d| d.address())
}

/// Returns the address and size of the manifest DTB in a v1.0 blob (FF-A v1.0's name/value
/// pairs, which an SPMC gives an SP whose manifest says `ffa-version = <0x00010000>`): the
/// first `TYPE_DT` pair, as OP-TEE's SPMC writes it and TS's `sp_config_loader` reads it.
pub fn manifest_fdt_v1_0(info: &BootInfoV1_0<'_>) -> Option<(u64, u64)> {
    let mut want = [0u8; 16];
    want[..7].copy_from_slice(b"TYPE_DT");
    info.entries()
        .find(|e| e.name == want)
        .map(|e| (e.value, e.size))
}

/// Bytes of a v1.0 blob with `count` pairs, if it fits [`MAX_BLOB_SIZE`].
pub fn v1_0_blob_size(count: u32) -> Option<usize> {
    usize::try_from(count)
        .ok()?
        .checked_mul(V1_0_ENTRY_SIZE)?
        .checked_add(8)
        .filter(|&n| n <= MAX_BLOB_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ffa_abi::boot_info::write_boot_info;
    use ffa_abi::{DescError, Version};

    /// Builds a blob the way the SPMC does: header, then one 32-byte descriptor per entry.
    fn blob(descs: &[BootInfoDesc]) -> Vec<u8> {
        let mut out = vec![0u8; 512];
        let n = write_boot_info(Version::V1_2, descs, &mut out).unwrap();
        out.truncate(n);
        out
    }

    fn desc(kind: BootInfoType, content_is_value: bool, size: u32, contents: u64) -> BootInfoDesc {
        BootInfoDesc {
            name: *b"manifest\0\0\0\0\0\0\0\0",
            kind,
            flags: BootInfoFlags {
                name_is_uuid: false,
                content_is_value,
            },
            size,
            contents,
        }
    }

    fn set_u32(v: &mut [u8], o: usize, x: u32) {
        v[o..o + 4].copy_from_slice(&x.to_le_bytes());
    }

    #[test]
    fn finds_the_manifest_fdt() {
        let b = blob(&[
            desc(BootInfoType::ImpDef(0), false, 4, 0xDEAD),
            desc(BootInfoType::Fdt, false, 0x345, 0x2440_1000),
        ]);
        let bi = BootInfo::parse(&b).unwrap();
        assert_eq!(bi.version, Version::V1_2);
        assert_eq!(bi.descs().count(), 2);
        assert_eq!(manifest_fdt(&bi), Some((0x2440_1000, 0x345)));
        assert_eq!(BootInfo::peek_blob_size(&b), Ok(96));
    }

    #[test]
    fn value_fdt_is_not_taken_as_an_address() {
        let b = blob(&[desc(BootInfoType::Fdt, true, 8, 0x1234)]);
        let bi = BootInfo::parse(&b).unwrap();
        assert_eq!(manifest_fdt(&bi), None);
        let d = bi.descs().next().unwrap();
        assert!(d.flags.content_is_value);
        assert_eq!((d.contents, d.size), (0x1234, 8));
    }

    #[test]
    fn rejects_bad_headers() {
        let good = blob(&[desc(BootInfoType::Fdt, false, 16, 0x1000)]);
        assert!(matches!(
            BootInfo::parse(&good[..31]),
            Err(DescError::Truncated { .. })
        ));
        let mut b = good.clone();
        set_u32(&mut b, 0, 0xFFA0);
        assert_eq!(BootInfo::parse(&b).err(), Some(DescError::BadSignature));
        let mut b = good.clone();
        set_u32(&mut b, 4, 0x1_0000);
        assert_eq!(
            BootInfo::parse(&b).err(),
            Some(DescError::UnsupportedVersion(Version::V1_0))
        );
        let mut b = good.clone();
        set_u32(&mut b, 8, 65);
        assert!(matches!(
            BootInfo::parse(&b),
            Err(DescError::InvalidField { offset: 8, .. })
        ));
        let mut b = good.clone();
        set_u32(&mut b, 12, 16);
        assert!(matches!(
            BootInfo::parse(&b),
            Err(DescError::InvalidField { offset: 12, .. })
        ));
        let mut b = good.clone();
        set_u32(&mut b, 16, 2);
        assert_eq!(
            BootInfo::parse(&b).err(),
            Some(DescError::CountTooLarge { count: 2 })
        );
        let mut b = good.clone();
        set_u32(&mut b, 20, 8);
        assert_eq!(
            BootInfo::parse(&b).err(),
            Some(DescError::BadOffset { value: 8 })
        );
        let mut b = good;
        set_u32(&mut b, 16, u32::MAX);
        set_u32(&mut b, 20, u32::MAX);
        assert!(BootInfo::parse(&b).is_err());
    }

    #[test]
    fn never_panics_on_arbitrary_bytes() {
        // A cheap deterministic sweep (xorshift) over mutated blobs: parse and walk them all.
        let base = blob(&[
            desc(BootInfoType::Fdt, false, 16, 0x1000),
            desc(BootInfoType::Hob, true, 8, 7),
        ]);
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
                let declared = u32::from_le_bytes([b[16], b[17], b[18], b[19]]) as usize;
                assert!(bi.descs().count() <= declared);
                if let Some((addr, size)) = manifest_fdt(&bi) {
                    assert!(bi
                        .descs()
                        .any(|d| d.kind == BootInfoType::Fdt && d.address() == Some((addr, size))));
                }
            }
        }
        // Some mutations leave the blob valid: the sweep reached the descriptor walk.
        assert!(accepted > 0);
    }

    #[test]
    fn v1_0_blob_names_the_manifest() {
        use ffa_abi::boot_info::write_boot_info_v1_0;
        let mut other = NameValue::dt(0x1000, 0x20);
        other.name = *b"TYPE_DTX\0\0\0\0\0\0\0\0";
        let mut out = [0u8; 128];
        let n =
            write_boot_info_v1_0(&[other, NameValue::dt(0x2440_1000, 0x300)], &mut out).unwrap();
        let info = BootInfoV1_0::parse(&out[..n]).unwrap();
        assert_eq!(manifest_fdt_v1_0(&info), Some((0x2440_1000, 0x300)));
        let n = write_boot_info_v1_0(&[other], &mut out).unwrap();
        let info = BootInfoV1_0::parse(&out[..n]).unwrap();
        assert_eq!(manifest_fdt_v1_0(&info), None);
        assert_eq!(v1_0_blob_size(2), Some(72));
        assert_eq!(v1_0_blob_size(200), None);
        assert_eq!(v1_0_blob_size(u32::MAX), None);
    }
}
