//! The block storage protocol (TS `protocols/service/block_storage/packed-c/messages.h` and
//! `opcodes.h`): a partitioned block device served over TS RPC, which TS's "shared flash"
//! deployments of ITS and PS use as their backing store.
//!
//! Every struct is `__attribute__((packed))` little-endian. WRITE's request is followed by the
//! data bytes; READ's response is the data itself. Partition GUIDs travel as 16 octets in
//! GUID byte order (TS `uuid_guid_octets_from_canonical`: the first three fields
//! little-endian), see [`guid_octets`].

use crate::wire::{put_u32, put_u64, u32_at, u64_at};

/// First opcode of the service (TS_BLOCK_STORAGE_OPCODE_BASE).
pub const OPCODE_BASE: u16 = 0x100;
/// GET_PARTITION_INFO: size and GUIDs of a partition.
pub const OP_GET_PARTITION_INFO: u16 = OPCODE_BASE + 1;
/// OPEN: a handle for a partition (the caller must be allowed to use it).
pub const OP_OPEN: u16 = OPCODE_BASE + 2;
/// CLOSE: gives the handle back.
pub const OP_CLOSE: u16 = OPCODE_BASE + 3;
/// READ: bytes of one block.
pub const OP_READ: u16 = OPCODE_BASE + 4;
/// WRITE: bytes into one block.
pub const OP_WRITE: u16 = OPCODE_BASE + 5;
/// ERASE: whole blocks.
pub const OP_ERASE: u16 = OPCODE_BASE + 6;

/// Octets of a partition GUID.
pub const GUID_LEN: usize = 16;

/// The 16 octets of a GUID written canonically as `a-b-c-d-e` (`d` and `e` given as the
/// 8 bytes they spell), in GUID byte order: `a`, `b`, `c` little-endian, then `d`/`e` as
/// written (TS `uuid_parse_to_guid_octets`).
pub const fn guid_octets(a: u32, b: u16, c: u16, rest: [u8; 8]) -> [u8; GUID_LEN] {
    let a = a.to_le_bytes();
    let b = b.to_le_bytes();
    let c = c.to_le_bytes();
    [
        a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], rest[0], rest[1], rest[2], rest[3],
        rest[4], rest[5], rest[6], rest[7],
    ]
}

/// TS `DISK_GUID_UNIQUE_PARTITION_PSA_ITS` 92f7d53b-127e-432b-815c-9a95b80d69b7 (media/disk/
/// guid.h): the partition TS's shared-flash ITS opens.
pub const PARTITION_PSA_ITS: [u8; GUID_LEN] = guid_octets(
    0x92f7_d53b,
    0x127e,
    0x432b,
    [0x81, 0x5c, 0x9a, 0x95, 0xb8, 0x0d, 0x69, 0xb7],
);
/// TS `DISK_GUID_UNIQUE_PARTITION_PSA_PS` 701456da-9b50-49b2-9722-47510f851ccd: the partition
/// TS's shared-flash PS opens.
pub const PARTITION_PSA_PS: [u8; GUID_LEN] = guid_octets(
    0x7014_56da,
    0x9b50,
    0x49b2,
    [0x97, 0x22, 0x47, 0x51, 0x0f, 0x85, 0x1c, 0xcd],
);

fn guid_at(b: &[u8], off: usize) -> Option<[u8; GUID_LEN]> {
    let s = b.get(off..off.checked_add(GUID_LEN)?)?;
    let mut g = [0u8; GUID_LEN];
    g.copy_from_slice(s);
    Some(g)
}

fn put_guid(b: &mut [u8], off: usize, g: &[u8; GUID_LEN]) -> bool {
    match off
        .checked_add(GUID_LEN)
        .and_then(|end| b.get_mut(off..end))
    {
        Some(s) => {
            s.copy_from_slice(g);
            true
        }
        None => false,
    }
}

/// `ts_block_storage_get_partition_info_in` and `ts_block_storage_open_in`: a partition GUID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuidRequest {
    /// The partition asked for.
    pub partition_guid: [u8; GUID_LEN],
}

impl GuidRequest {
    /// Size in bytes.
    pub const SIZE: usize = GUID_LEN;

    /// Decodes the struct at the start of `b`.
    pub fn decode(b: &[u8]) -> Option<Self> {
        Some(Self {
            partition_guid: guid_at(b, 0)?,
        })
    }

    /// Encodes into `b`; returns the bytes written.
    pub fn encode(&self, b: &mut [u8]) -> Option<usize> {
        put_guid(b, 0, &self.partition_guid).then_some(Self::SIZE)
    }
}

/// `ts_block_storage_get_partition_info_out`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionInfo {
    /// Blocks in the partition.
    pub num_blocks: u64,
    /// Bytes per block.
    pub block_size: u32,
    /// The partition's GUID.
    pub partition_guid: [u8; GUID_LEN],
    /// The GUID of the device it is carved from.
    pub parent_guid: [u8; GUID_LEN],
}

impl PartitionInfo {
    /// Size in bytes (8 + 4 + 16 + 16).
    pub const SIZE: usize = 44;

    /// Decodes the struct at the start of `b`.
    pub fn decode(b: &[u8]) -> Option<Self> {
        Some(Self {
            num_blocks: u64_at(b, 0)?,
            block_size: u32_at(b, 8)?,
            partition_guid: guid_at(b, 12)?,
            parent_guid: guid_at(b, 28)?,
        })
    }

    /// Encodes into `b`; returns the bytes written.
    pub fn encode(&self, b: &mut [u8]) -> Option<usize> {
        let out = b.get_mut(..Self::SIZE)?;
        put_u64(out, 0, self.num_blocks);
        put_u32(out, 8, self.block_size);
        put_guid(out, 12, &self.partition_guid);
        put_guid(out, 28, &self.parent_guid);
        Some(Self::SIZE)
    }
}

/// `ts_block_storage_open_out` and `ts_block_storage_close_in`: a partition handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handle {
    /// The handle OPEN gave.
    pub handle: u64,
}

impl Handle {
    /// Size in bytes.
    pub const SIZE: usize = 8;

    /// Decodes the struct at the start of `b`.
    pub fn decode(b: &[u8]) -> Option<Self> {
        Some(Self {
            handle: u64_at(b, 0)?,
        })
    }

    /// Encodes into `b`; returns the bytes written.
    pub fn encode(&self, b: &mut [u8]) -> Option<usize> {
        put_u64(b, 0, self.handle).then_some(Self::SIZE)
    }
}

/// `ts_block_storage_read_in`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadRequest {
    /// Partition handle.
    pub handle: u64,
    /// Block (logical block address within the partition).
    pub lba: u64,
    /// Byte offset in the block.
    pub offset: u32,
    /// Bytes wanted.
    pub len: u32,
}

impl ReadRequest {
    /// Size in bytes (8 + 8 + 4 + 4).
    pub const SIZE: usize = 24;

    /// Decodes the struct at the start of `b`.
    pub fn decode(b: &[u8]) -> Option<Self> {
        Some(Self {
            handle: u64_at(b, 0)?,
            lba: u64_at(b, 8)?,
            offset: u32_at(b, 16)?,
            len: u32_at(b, 20)?,
        })
    }

    /// Encodes into `b`; returns the bytes written.
    pub fn encode(&self, b: &mut [u8]) -> Option<usize> {
        let out = b.get_mut(..Self::SIZE)?;
        put_u64(out, 0, self.handle);
        put_u64(out, 8, self.lba);
        put_u32(out, 16, self.offset);
        put_u32(out, 20, self.len);
        Some(Self::SIZE)
    }
}

/// `ts_block_storage_write_in`, followed by the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteRequest {
    /// Partition handle.
    pub handle: u64,
    /// Block.
    pub lba: u64,
    /// Byte offset in the block.
    pub offset: u32,
}

impl WriteRequest {
    /// Header size in bytes (8 + 8 + 4).
    pub const SIZE: usize = 20;

    /// Decodes the header at the start of `b`.
    pub fn decode(b: &[u8]) -> Option<Self> {
        Some(Self {
            handle: u64_at(b, 0)?,
            lba: u64_at(b, 8)?,
            offset: u32_at(b, 16)?,
        })
    }

    /// Encodes the header, then `data`, into `b`; returns the bytes written.
    pub fn encode(&self, data: &[u8], b: &mut [u8]) -> Option<usize> {
        let end = Self::SIZE.checked_add(data.len())?;
        let out = b.get_mut(..end)?;
        put_u64(out, 0, self.handle);
        put_u64(out, 8, self.lba);
        put_u32(out, 16, self.offset);
        out[Self::SIZE..].copy_from_slice(data);
        Some(end)
    }
}

/// `ts_block_storage_write_out`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteResponse {
    /// Bytes written.
    pub num_written: u64,
}

impl WriteResponse {
    /// Size in bytes.
    pub const SIZE: usize = 8;

    /// Decodes the struct at the start of `b`.
    pub fn decode(b: &[u8]) -> Option<Self> {
        Some(Self {
            num_written: u64_at(b, 0)?,
        })
    }

    /// Encodes into `b`; returns the bytes written.
    pub fn encode(&self, b: &mut [u8]) -> Option<usize> {
        put_u64(b, 0, self.num_written).then_some(Self::SIZE)
    }
}

/// `ts_block_storage_erase_in`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EraseRequest {
    /// Partition handle.
    pub handle: u64,
    /// First block.
    pub begin_lba: u64,
    /// Blocks to erase.
    pub num_blocks: u32,
}

impl EraseRequest {
    /// Size in bytes (8 + 8 + 4).
    pub const SIZE: usize = 20;

    /// Decodes the struct at the start of `b`.
    pub fn decode(b: &[u8]) -> Option<Self> {
        Some(Self {
            handle: u64_at(b, 0)?,
            begin_lba: u64_at(b, 8)?,
            num_blocks: u32_at(b, 16)?,
        })
    }

    /// Encodes into `b`; returns the bytes written.
    pub fn encode(&self, b: &mut [u8]) -> Option<usize> {
        let out = b.get_mut(..Self::SIZE)?;
        put_u64(out, 0, self.handle);
        put_u64(out, 8, self.begin_lba);
        put_u32(out, 16, self.num_blocks);
        Some(Self::SIZE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcodes_are_ts_block_storage_opcodes() {
        assert_eq!(
            [
                OP_GET_PARTITION_INFO,
                OP_OPEN,
                OP_CLOSE,
                OP_READ,
                OP_WRITE,
                OP_ERASE
            ],
            [0x101, 0x102, 0x103, 0x104, 0x105, 0x106]
        );
    }

    #[test]
    fn partition_guids_are_in_guid_byte_order() {
        // "92f7d53b-127e-432b-815c-9a95b80d69b7" parsed as TS's uuid_parse_to_guid_octets
        // does: the first three fields byte-reversed.
        assert_eq!(
            PARTITION_PSA_ITS,
            [
                0x3b, 0xd5, 0xf7, 0x92, 0x7e, 0x12, 0x2b, 0x43, 0x81, 0x5c, 0x9a, 0x95, 0xb8, 0x0d,
                0x69, 0xb7
            ]
        );
        assert_eq!(
            PARTITION_PSA_PS,
            [
                0xda, 0x56, 0x14, 0x70, 0x50, 0x9b, 0xb2, 0x49, 0x97, 0x22, 0x47, 0x51, 0x0f, 0x85,
                0x1c, 0xcd
            ]
        );
    }

    #[test]
    fn layouts_are_packed_little_endian() {
        let mut b = [0u8; 64];
        let r = ReadRequest {
            handle: 0x0102_0304_0506_0708,
            lba: 0x1112_1314_1516_1718,
            offset: 0x2122_2324,
            len: 0x3132_3334,
        };
        assert_eq!(r.encode(&mut b), Some(24));
        assert_eq!(
            b[..24],
            [
                8, 7, 6, 5, 4, 3, 2, 1, 0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11, 0x24, 0x23,
                0x22, 0x21, 0x34, 0x33, 0x32, 0x31
            ]
        );
        assert_eq!(ReadRequest::decode(&b), Some(r));
        assert_eq!(ReadRequest::decode(&b[..23]), None);

        let w = WriteRequest {
            handle: 1,
            lba: 2,
            offset: 3,
        };
        assert_eq!(w.encode(&[0xAA, 0xBB], &mut b), Some(22));
        assert_eq!(
            b[..22],
            [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0xAA, 0xBB]
        );
        assert_eq!(WriteRequest::decode(&b), Some(w));
        assert_eq!(w.encode(&[0; 50], &mut b), None);

        let e = EraseRequest {
            handle: 7,
            begin_lba: 9,
            num_blocks: 0x0A0B_0C0D,
        };
        assert_eq!(e.encode(&mut b), Some(20));
        assert_eq!(b[16..20], [0x0D, 0x0C, 0x0B, 0x0A]);
        assert_eq!(EraseRequest::decode(&b), Some(e));

        let i = PartitionInfo {
            num_blocks: 4,
            block_size: 0x4_0000,
            partition_guid: PARTITION_PSA_ITS,
            parent_guid: [0x55; 16],
        };
        assert_eq!(i.encode(&mut b), Some(44));
        assert_eq!(b[..12], [4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0]);
        assert_eq!(b[12..28], PARTITION_PSA_ITS);
        assert_eq!(b[28..44], [0x55; 16]);
        assert_eq!(PartitionInfo::decode(&b), Some(i));
        assert_eq!(PartitionInfo::decode(&b[..43]), None);

        assert_eq!(Handle { handle: 3 }.encode(&mut b), Some(8));
        assert_eq!(Handle::decode(&b), Some(Handle { handle: 3 }));
        assert_eq!(WriteResponse { num_written: 9 }.encode(&mut b), Some(8));
        assert_eq!(
            WriteResponse::decode(&b[..8]),
            Some(WriteResponse { num_written: 9 })
        );
        let g = GuidRequest {
            partition_guid: PARTITION_PSA_PS,
        };
        assert_eq!(g.encode(&mut b), Some(16));
        assert_eq!(GuidRequest::decode(&b[..16]), Some(g));
        assert_eq!(GuidRequest::decode(&b[..15]), None);
        assert_eq!(g.encode(&mut b[..15]), None);
    }
}
