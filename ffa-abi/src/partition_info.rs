//! Partition information descriptors returned by FFA_PARTITION_INFO_GET in the RX
//! buffer (DEN0077 "Partition information descriptor": 8 bytes in v1.0, 24 bytes with UUID
//! from v1.1) and
//! packed into registers by FFA_PARTITION_INFO_GET_REGS (v1.2).
//!
//! Layout: partition ID u16 at 0, execution context count (or proxy ID) u16 at 2,
//! properties u32 at 4, and from v1.1 the UUID (16 bytes, RFC order) at 8.

use crate::endpoint::{EndpointId, TargetInfo};
use crate::error::{BuildError, DescError};
use crate::interface::{Interface, SuccessArgs};
use crate::regs::Regs;
use crate::uuid::Uuid;
use crate::version::Version;
use crate::wire;

/// Partition properties word (DEN0077 "Partition properties" table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct PartitionProperties(pub u32);

/// The ID type of bits `[5:4]` of the partition properties.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PartitionIdType {
    /// 0b00: PE endpoint ID.
    PeEndpoint = 0,
    /// 0b01: SEPID for an independent peripheral device.
    SepidIndependent = 1,
    /// 0b10: SEPID for a dependent peripheral device.
    SepidDependent = 2,
    /// 0b11: auxiliary ID.
    Auxiliary = 3,
}

impl PartitionProperties {
    /// Bit 0: receives direct requests.
    pub const DIRECT_REQ_RECV: u32 = 1 << 0;
    /// Bit 1: sends direct requests.
    pub const DIRECT_REQ_SEND: u32 = 1 << 1;
    /// Bit 2: supports indirect messaging.
    pub const INDIRECT_MSG: u32 = 1 << 2;
    /// Bit 3: receives notifications.
    pub const NOTIFICATIONS: u32 = 1 << 3;
    /// Bit 6: wants VM-created messages.
    pub const VM_CREATED_MSG: u32 = 1 << 6;
    /// Bit 7: wants VM-destroyed messages.
    pub const VM_DESTROYED_MSG: u32 = 1 << 7;
    /// Bit 8: AArch64 execution state (Linux requires it for AArch64 partitions).
    pub const AARCH64: u32 = 1 << 8;
    /// Bit 9 (v1.2): receives DIRECT_REQ2.
    pub const DIRECT_REQ2_RECV: u32 = 1 << 9;
    /// Bit 10 (v1.2): sends DIRECT_REQ2.
    pub const DIRECT_REQ2_SEND: u32 = 1 << 10;
    /// Bits defined up to v1.2.
    pub const DEFINED: u32 = 0x7FF;

    /// The ID type field.
    pub const fn id_type(self) -> PartitionIdType {
        match (self.0 >> 4) & 3 {
            0 => PartitionIdType::PeEndpoint,
            1 => PartitionIdType::SepidIndependent,
            2 => PartitionIdType::SepidDependent,
            _ => PartitionIdType::Auxiliary,
        }
    }

    /// Returns true if all of `bits` are set.
    pub const fn has(self, bits: u32) -> bool {
        self.0 & bits == bits
    }

    /// The properties a caller at `version` may see: bits introduced later are
    /// cleared (v1.0 defines bits `[2:0]`, v1.1 up to bit 8, v1.2 up to bit 10).
    pub const fn for_version(self, version: Version) -> Self {
        let mask = match version.minor {
            0 => 0x7,
            1 => 0x1FF,
            _ => Self::DEFINED,
        };
        PartitionProperties(self.0 & mask)
    }
}

/// One partition information descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PartitionInfo {
    /// Partition ID.
    pub id: EndpointId,
    /// Number of execution contexts (or the proxy ID for a SEPID).
    pub exec_ctx_count: u16,
    /// Properties.
    pub properties: PartitionProperties,
    /// UUID (not in the v1.0 descriptor).
    pub uuid: Uuid,
}

impl PartitionInfo {
    /// Descriptor size at `version`: 8 bytes in v1.0, 24 from v1.1.
    pub const fn size_for(version: Version) -> usize {
        if version.major == 1 && version.minor == 0 {
            8
        } else {
            24
        }
    }

    /// Writes the descriptor at the start of `out`; returns its size.
    pub fn write(&self, version: Version, out: &mut [u8]) -> Result<usize, BuildError> {
        if !version.is_supported_by_crate() {
            return Err(BuildError::UnsupportedVersion(version));
        }
        let n = Self::size_for(version);
        let available = out.len();
        let dst = out.get_mut(..n).ok_or(BuildError::NoSpace {
            needed: n,
            available,
        })?;
        dst[0..2].copy_from_slice(&self.id.0.to_le_bytes());
        dst[2..4].copy_from_slice(&self.exec_ctx_count.to_le_bytes());
        dst[4..8].copy_from_slice(&self.properties.0.to_le_bytes());
        if n == 24 {
            dst[8..24].copy_from_slice(&self.uuid.0);
        }
        Ok(n)
    }

    /// Writes `infos` as an array into `out` (the RX buffer); returns bytes written.
    pub fn write_all(
        infos: &[PartitionInfo],
        version: Version,
        out: &mut [u8],
    ) -> Result<usize, BuildError> {
        let n = Self::size_for(version);
        let total = infos
            .len()
            .checked_mul(n)
            .ok_or(BuildError::FieldOverflow("count"))?;
        if total > out.len() {
            return Err(BuildError::NoSpace {
                needed: total,
                available: out.len(),
            });
        }
        for (i, p) in infos.iter().enumerate() {
            p.write(version, &mut out[i * n..])?;
        }
        Ok(total)
    }

    /// Reads descriptor `index` of an array in `buf`.
    pub fn parse(buf: &[u8], index: usize, version: Version) -> Result<Self, DescError> {
        if !version.is_supported_by_crate() {
            return Err(DescError::UnsupportedVersion(version));
        }
        let n = Self::size_for(version);
        let at = index.checked_mul(n).ok_or(DescError::Overflow)?;
        let t = DescError::Truncated { offset: at, len: n };
        // Checking the whole record first keeps every field offset below in range.
        if at.checked_add(n).is_none_or(|end| end > buf.len()) {
            return Err(t);
        }
        let id = wire::u16_at(buf, at).ok_or(t)?;
        let ctx = wire::u16_at(buf, at + 2).ok_or(t)?;
        let props = wire::u32_at(buf, at + 4).ok_or(t)?;
        let uuid = if n == 24 {
            Uuid(wire::array_at::<16>(buf, at + 8).ok_or(t)?)
        } else {
            Uuid::NIL
        };
        Ok(Self {
            id: EndpointId(id),
            exec_ctx_count: ctx,
            properties: PartitionProperties(props),
            uuid,
        })
    }

    /// Packs into the three registers FFA_PARTITION_INFO_GET_REGS uses per partition:
    /// `id | ctx << 16 | properties << 32`, then the UUID as two u64.
    pub fn to_regs(&self) -> [u64; 3] {
        let [a, b] = self.uuid.to_u64_pair();
        [
            u64::from(self.id.0)
                | (u64::from(self.exec_ctx_count) << 16)
                | (u64::from(self.properties.0) << 32),
            a,
            b,
        ]
    }

    /// Inverse of [`Self::to_regs`].
    pub fn from_regs(r: [u64; 3]) -> Self {
        Self {
            id: EndpointId(r[0] as u16),
            exec_ctx_count: (r[0] >> 16) as u16,
            properties: PartitionProperties((r[0] >> 32) as u32),
            uuid: Uuid::from_u64_pair([r[1], r[2]]),
        }
    }
}

/// Reads the `count` descriptors FFA_PARTITION_INFO_GET wrote to the caller's RX buffer `buf`,
/// each `desc_size` bytes (w3 of its FFA_SUCCESS): 8 for the v1.0 layout (no UUID), or at least
/// 24 (a newer version may append fields; the extra bytes are skipped). What a partition or a
/// normal-world client reads back, where [`PartitionInfo::parse`] reads a layout chosen by
/// version.
pub fn parse_descriptors(
    buf: &[u8],
    count: u32,
    desc_size: u32,
) -> Result<impl Iterator<Item = PartitionInfo> + '_, DescError> {
    let size = desc_size as usize;
    if size != PartitionInfo::size_for(Version::V1_0)
        && size < PartitionInfo::size_for(Version::V1_1)
    {
        return Err(DescError::InvalidField {
            offset: 0,
            field: "descriptor size",
        });
    }
    let total = (count as usize)
        .checked_mul(size)
        .ok_or(DescError::Overflow)?;
    let bytes = buf.get(..total).ok_or(DescError::CountTooLarge { count })?;
    let version = if size == 8 {
        Version::V1_0
    } else {
        Version::V1_1
    };
    // Every chunk is at least as long as `version`'s layout, so parsing index 0 cannot fail.
    Ok(bytes
        .chunks_exact(size)
        .filter_map(move |d| PartitionInfo::parse(d, 0, version).ok()))
}

/// x2 of the FFA_SUCCESS answer to FFA_PARTITION_INFO_GET_REGS: last index `[15:0]`,
/// current index `[31:16]`, information tag `[47:32]`, descriptor size `[63:48]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InfoGetRegsSummary {
    /// Index of the last partition in the whole list.
    pub last_index: u16,
    /// Index of the last partition in this answer.
    pub current_index: u16,
    /// Tag to pass to resume.
    pub tag: u16,
    /// Descriptor size (24).
    pub desc_size: u16,
}

impl InfoGetRegsSummary {
    /// Encodes x2.
    pub const fn encode(self) -> u64 {
        self.last_index as u64
            | ((self.current_index as u64) << 16)
            | ((self.tag as u64) << 32)
            | ((self.desc_size as u64) << 48)
    }

    /// Decodes x2.
    pub const fn decode(x2: u64) -> Self {
        Self {
            last_index: x2 as u16,
            current_index: (x2 >> 16) as u16,
            tag: (x2 >> 32) as u16,
            desc_size: (x2 >> 48) as u16,
        }
    }
}

/// Partitions per FFA_PARTITION_INFO_GET_REGS answer: x3..x17 hold five descriptors of
/// three registers each.
pub const REGS_PER_ANSWER: usize = 5;

/// The FFA_SUCCESS answer to FFA_PARTITION_INFO_GET: w2 = count, w3 = descriptor
/// size (v1.1+; MBZ in v1.0).
pub fn info_get_success(count: u32, version: Version) -> Regs {
    let size = if version.major == 1 && version.minor == 0 {
        0
    } else {
        PartitionInfo::size_for(version) as u32
    };
    Regs::success32(TargetInfo::default(), [count, size, 0, 0, 0, 0])
}

/// The FFA_SUCCESS_64 answer to FFA_PARTITION_INFO_GET_REGS carrying `infos` (at most
/// [`REGS_PER_ANSWER`]; more is a caller bug reported as `FieldOverflow`).
pub fn info_get_regs_success(
    summary: InfoGetRegsSummary,
    infos: &[PartitionInfo],
) -> Result<Regs, BuildError> {
    if infos.len() > REGS_PER_ANSWER {
        return Err(BuildError::FieldOverflow("partition count"));
    }
    let mut args = [0u64; 16];
    args[0] = summary.encode();
    for (i, p) in infos.iter().enumerate() {
        args[1 + 3 * i..4 + 3 * i].copy_from_slice(&p.to_regs());
    }
    Ok(Interface::Success {
        target: TargetInfo::default(),
        args: SuccessArgs::Args64(args),
    }
    .encode())
}

/// Reads an FFA_PARTITION_INFO_GET_REGS answer: the summary and the partitions it
/// carries (`current_index - start_index + 1` of them, at most five).
pub fn parse_info_get_regs(
    args: &[u64; 16],
    start_index: u16,
) -> Result<(InfoGetRegsSummary, impl Iterator<Item = PartitionInfo> + '_), DescError> {
    let s = InfoGetRegsSummary::decode(args[0]);
    let n = usize::from(s.current_index)
        .checked_sub(usize::from(start_index))
        .map(|n| n + 1)
        .filter(|n| *n <= REGS_PER_ANSWER && s.current_index <= s.last_index)
        .ok_or(DescError::InvalidField {
            offset: 0,
            field: "current index",
        })?;
    Ok((
        s,
        (0..n).map(move |i| {
            PartitionInfo::from_regs([args[1 + 3 * i], args[2 + 3 * i], args[3 + 3 * i]])
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(id: u16, ctx: u16, props: u32, uuid: [u8; 16]) -> std::vec::Vec<u8> {
        let mut v = std::vec::Vec::new();
        v.extend_from_slice(&id.to_le_bytes());
        v.extend_from_slice(&ctx.to_le_bytes());
        v.extend_from_slice(&props.to_le_bytes());
        v.extend_from_slice(&uuid);
        v
    }

    #[test]
    fn parses_v1_1_descriptors() {
        let mut rx = desc(0x8001, 1, 0x303, [7; 16]);
        rx.extend(desc(0x8002, 4, 0x101, [9; 16]));
        rx.resize(4096, 0xEE);
        let v: std::vec::Vec<_> = parse_descriptors(&rx, 2, 24).unwrap().collect();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].id, EndpointId(0x8001));
        assert_eq!(v[0].properties, PartitionProperties(0x303));
        assert_eq!(v[0].uuid, Uuid([7; 16]));
        assert_eq!(v[1].exec_ctx_count, 4);
        assert_eq!(v[1].uuid, Uuid([9; 16]));
    }

    #[test]
    fn parses_v1_0_descriptors_without_uuid() {
        let rx = [0x01, 0x80, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00];
        let v: std::vec::Vec<_> = parse_descriptors(&rx, 1, 8).unwrap().collect();
        assert_eq!(v[0].id, EndpointId(0x8001));
        assert_eq!(v[0].uuid, Uuid::NIL);
    }

    #[test]
    fn rejects_bad_sizes_and_overflow() {
        let rx = [0u8; 64];
        assert!(matches!(
            parse_descriptors(&rx, 1, 12).err(),
            Some(DescError::InvalidField { .. })
        ));
        assert_eq!(
            parse_descriptors(&rx, 3, 24).err(),
            Some(DescError::CountTooLarge { count: 3 })
        );
        assert!(parse_descriptors(&rx, u32::MAX, u32::MAX).is_err());
    }

    #[test]
    fn larger_descriptors_are_skipped_over() {
        let mut rx = desc(0x8001, 1, 1, [1; 16]);
        rx.extend([0xAA; 8]);
        rx.extend(desc(0x8003, 1, 2, [3; 16]));
        rx.extend([0xAA; 8]);
        let v: std::vec::Vec<_> = parse_descriptors(&rx, 2, 32).unwrap().collect();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].id, EndpointId(0x8003));
        assert_eq!(v[1].properties, PartitionProperties(2));
    }
}
