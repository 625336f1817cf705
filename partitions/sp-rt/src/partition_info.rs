//! Partition information descriptors as FFA_PARTITION_INFO_GET writes them to the caller's RX
//! buffer (FF-A v1.2 section "Partition information descriptor": 8 bytes in v1.0, 24 bytes
//! with the UUID from v1.1 on). Parsing is pure and never panics.
#![forbid(unsafe_code)]

/// Flag in w5 of FFA_PARTITION_INFO_GET: return only the count, write nothing to RX (v1.1+).
pub const PARTITION_INFO_GET_COUNT_ONLY: u32 = 1;

/// Size of a v1.1+ partition information descriptor.
pub const DESCRIPTOR_SIZE_V1_1: usize = 24;
/// Size of a v1.0 partition information descriptor (no UUID).
pub const DESCRIPTOR_SIZE_V1_0: usize = 8;

pub use ffa_abi::Uuid;

/// One partition information descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionInfo {
    /// Endpoint ID of the partition.
    pub id: u16,
    /// Execution context count (or proxy ID, depending on the properties' ID type).
    pub exec_ctx_count: u16,
    /// Partition properties (bit 0 receives direct requests, bit 1 sends them, bit 8 AArch64,
    /// bit 9 receives REQ2, bit 10 sends REQ2; ffa-facts.md section 1 notes).
    pub properties: u32,
    /// The partition's UUID (nil in v1.0 descriptors, which carry none).
    pub uuid: Uuid,
}

/// Why an RX buffer did not hold the descriptors FFA_PARTITION_INFO_GET promised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionInfoError {
    /// The reported descriptor size is neither 8 nor at least 24 bytes.
    BadDescriptorSize(u32),
    /// `count * size` does not fit in the buffer.
    TooLarge,
}

/// Parses `count` descriptors of `desc_size` bytes from `rx`. A descriptor size larger than 24
/// is accepted (newer versions may append fields); the extra bytes are skipped.
pub fn parse_descriptors(
    rx: &[u8],
    count: u32,
    desc_size: u32,
) -> Result<impl Iterator<Item = PartitionInfo> + '_, PartitionInfoError> {
    let size = usize::try_from(desc_size).map_err(|_| PartitionInfoError::TooLarge)?;
    if size != DESCRIPTOR_SIZE_V1_0 && size < DESCRIPTOR_SIZE_V1_1 {
        return Err(PartitionInfoError::BadDescriptorSize(desc_size));
    }
    let n = usize::try_from(count).map_err(|_| PartitionInfoError::TooLarge)?;
    let total = n.checked_mul(size).ok_or(PartitionInfoError::TooLarge)?;
    let bytes = rx.get(..total).ok_or(PartitionInfoError::TooLarge)?;
    Ok(bytes.chunks_exact(size).map(decode_one))
}

fn decode_one(d: &[u8]) -> PartitionInfo {
    // `parse_descriptors` only hands out chunks of at least 8 bytes, and of at least 24 when
    // they are not exactly 8, so every index below is in bounds; `get` keeps it panic-free
    // even if that ever changed.
    let u16_at = |o: usize| {
        d.get(o..o + 2)
            .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |o: usize| {
        d.get(o..o + 4)
            .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let mut uuid = [0u8; 16];
    if let Some(b) = d.get(8..24) {
        uuid.copy_from_slice(b);
    }
    PartitionInfo {
        id: u16_at(0),
        exec_ctx_count: u16_at(2),
        properties: u32_at(4),
        uuid: Uuid(uuid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(id: u16, ctx: u16, props: u32, uuid: [u8; 16]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&id.to_le_bytes());
        v.extend_from_slice(&ctx.to_le_bytes());
        v.extend_from_slice(&props.to_le_bytes());
        v.extend_from_slice(&uuid);
        v
    }

    #[test]
    fn uuid_register_packing_matches_smccc_order() {
        // a1a2a3a4-b1b2-c1c2-d1d2-d3d4d5d6d7d8 -> [a4a3a2a1, c2c1b2b1, d4d3d2d1, d8d7d6d5]
        let u = Uuid([
            0xa1, 0xa2, 0xa3, 0xa4, 0xb1, 0xb2, 0xc1, 0xc2, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6,
            0xd7, 0xd8,
        ]);
        assert_eq!(
            u.to_words(),
            [0xa4a3_a2a1, 0xc2c1_b2b1, 0xd4d3_d2d1, 0xd8d7_d6d5]
        );
        assert_eq!(Uuid::from_words(u.to_words()), u);
    }

    #[test]
    fn parses_v1_1_descriptors() {
        let mut rx = desc(0x8001, 1, 0x303, [7; 16]);
        rx.extend(desc(0x8002, 4, 0x101, [9; 16]));
        rx.resize(4096, 0xEE);
        let v: Vec<_> = parse_descriptors(&rx, 2, 24).unwrap().collect();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].id, 0x8001);
        assert_eq!(v[0].properties, 0x303);
        assert_eq!(v[0].uuid, Uuid([7; 16]));
        assert_eq!(v[1].exec_ctx_count, 4);
        assert_eq!(v[1].uuid, Uuid([9; 16]));
    }

    #[test]
    fn parses_v1_0_descriptors_without_uuid() {
        let rx = [0x01, 0x80, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00];
        let v: Vec<_> = parse_descriptors(&rx, 1, 8).unwrap().collect();
        assert_eq!(v[0].id, 0x8001);
        assert_eq!(v[0].uuid, Uuid::NIL);
    }

    #[test]
    fn rejects_bad_sizes_and_overflow() {
        let rx = [0u8; 64];
        assert_eq!(
            parse_descriptors(&rx, 1, 12).err(),
            Some(PartitionInfoError::BadDescriptorSize(12))
        );
        assert_eq!(
            parse_descriptors(&rx, 3, 24).err(),
            Some(PartitionInfoError::TooLarge)
        );
        assert_eq!(
            parse_descriptors(&rx, u32::MAX, u32::MAX).err(),
            Some(PartitionInfoError::TooLarge)
        );
    }

    #[test]
    fn larger_descriptors_are_skipped_over() {
        let mut rx = desc(0x8001, 1, 1, [1; 16]);
        rx.extend([0xAA; 8]);
        rx.extend(desc(0x8003, 1, 2, [3; 16]));
        rx.extend([0xAA; 8]);
        let v: Vec<_> = parse_descriptors(&rx, 2, 32).unwrap().collect();
        assert_eq!(v[1].id, 0x8003);
        assert_eq!(v[1].properties, 2);
    }
}
