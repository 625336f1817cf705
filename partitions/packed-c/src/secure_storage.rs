//! The secure storage protocol (TS `protocols/service/secure_storage/packed-c/
//! secure_storage_proto.h`), used by both Internal Trusted Storage and Protected Storage:
//! opcodes, packed request/response structs, and the flag/support words they carry.
//!
//! Every struct is `__attribute__((packed))` little-endian; SET and SET_EXTENDED requests are
//! followed by their data bytes. GET's response is the object's bytes themselves.

use crate::wire::{put_u32, put_u64, u32_at, u64_at};

/// First opcode of the service (TS_SECURE_STORAGE_OPCODE_BASE).
pub const OPCODE_BASE: u16 = 0x100;
/// psa_its_set / psa_ps_set.
pub const OP_SET: u16 = OPCODE_BASE;
/// psa_its_get / psa_ps_get.
pub const OP_GET: u16 = OPCODE_BASE + 1;
/// psa_*_get_info.
pub const OP_GET_INFO: u16 = OPCODE_BASE + 2;
/// psa_*_remove.
pub const OP_REMOVE: u16 = OPCODE_BASE + 3;
/// psa_ps_create.
pub const OP_CREATE: u16 = OPCODE_BASE + 4;
/// psa_ps_set_extended.
pub const OP_SET_EXTENDED: u16 = OPCODE_BASE + 5;
/// psa_ps_get_support.
pub const OP_GET_SUPPORT: u16 = OPCODE_BASE + 6;

/// `secure_storage_request_set`: uid, data_length, create_flags, then the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetRequest {
    /// Object UID.
    pub uid: u64,
    /// Bytes of data following the header.
    pub data_length: u64,
    /// PSA_STORAGE_FLAG_* bits.
    pub create_flags: u32,
}

impl SetRequest {
    /// Header size (8 + 8 + 4).
    pub const SIZE: usize = 20;

    /// Decodes the header at the start of `b`.
    pub fn decode(b: &[u8]) -> Option<Self> {
        Some(Self {
            uid: u64_at(b, 0)?,
            data_length: u64_at(b, 8)?,
            create_flags: u32_at(b, 16)?,
        })
    }

    /// Encodes the header, then `data`, into `b`; returns the bytes written.
    pub fn encode(&self, data: &[u8], b: &mut [u8]) -> Option<usize> {
        let end = Self::SIZE.checked_add(data.len())?;
        let out = b.get_mut(..end)?;
        put_u64(out, 0, self.uid);
        put_u64(out, 8, self.data_length);
        put_u32(out, 16, self.create_flags);
        out[Self::SIZE..].copy_from_slice(data);
        Some(end)
    }
}

/// `secure_storage_request_get`: uid, data_offset, data_size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GetRequest {
    /// Object UID.
    pub uid: u64,
    /// First byte to read.
    pub data_offset: u64,
    /// Most bytes to read.
    pub data_size: u64,
}

impl GetRequest {
    /// Struct size.
    pub const SIZE: usize = 24;

    /// Decodes the struct at the start of `b`.
    pub fn decode(b: &[u8]) -> Option<Self> {
        Some(Self {
            uid: u64_at(b, 0)?,
            data_offset: u64_at(b, 8)?,
            data_size: u64_at(b, 16)?,
        })
    }

    /// Encodes into `b`; returns the bytes written.
    pub fn encode(&self, b: &mut [u8]) -> Option<usize> {
        let out = b.get_mut(..Self::SIZE)?;
        put_u64(out, 0, self.uid);
        put_u64(out, 8, self.data_offset);
        put_u64(out, 16, self.data_size);
        Some(Self::SIZE)
    }
}

/// `secure_storage_request_get_info`, `_remove`: just the uid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UidRequest {
    /// Object UID.
    pub uid: u64,
}

impl UidRequest {
    /// Struct size.
    pub const SIZE: usize = 8;

    /// Decodes the struct at the start of `b`.
    pub fn decode(b: &[u8]) -> Option<Self> {
        Some(Self { uid: u64_at(b, 0)? })
    }

    /// Encodes into `b`; returns the bytes written.
    pub fn encode(&self, b: &mut [u8]) -> Option<usize> {
        put_u64(b, 0, self.uid).then_some(Self::SIZE)
    }
}

/// `secure_storage_response_get_info`: capacity, size, flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GetInfoResponse {
    /// Bytes the object can hold (psa_storage_info_t.capacity).
    pub capacity: u64,
    /// Bytes it holds.
    pub size: u64,
    /// Its creation flags.
    pub flags: u32,
}

impl GetInfoResponse {
    /// Struct size.
    pub const SIZE: usize = 20;

    /// Decodes the struct at the start of `b`.
    pub fn decode(b: &[u8]) -> Option<Self> {
        Some(Self {
            capacity: u64_at(b, 0)?,
            size: u64_at(b, 8)?,
            flags: u32_at(b, 16)?,
        })
    }

    /// Encodes into `b`; returns the bytes written.
    pub fn encode(&self, b: &mut [u8]) -> Option<usize> {
        let out = b.get_mut(..Self::SIZE)?;
        put_u64(out, 0, self.capacity);
        put_u64(out, 8, self.size);
        put_u32(out, 16, self.flags);
        Some(Self::SIZE)
    }
}

/// `secure_storage_request_create`: uid, capacity, create_flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreateRequest {
    /// Object UID.
    pub uid: u64,
    /// Bytes to reserve.
    pub capacity: u64,
    /// PSA_STORAGE_FLAG_* bits.
    pub create_flags: u32,
}

impl CreateRequest {
    /// Struct size.
    pub const SIZE: usize = 20;

    /// Decodes the struct at the start of `b`.
    pub fn decode(b: &[u8]) -> Option<Self> {
        Some(Self {
            uid: u64_at(b, 0)?,
            capacity: u64_at(b, 8)?,
            create_flags: u32_at(b, 16)?,
        })
    }

    /// Encodes into `b`; returns the bytes written.
    pub fn encode(&self, b: &mut [u8]) -> Option<usize> {
        let out = b.get_mut(..Self::SIZE)?;
        put_u64(out, 0, self.uid);
        put_u64(out, 8, self.capacity);
        put_u32(out, 16, self.create_flags);
        Some(Self::SIZE)
    }
}

/// `secure_storage_request_set_extended`: uid, data_offset, data_length, then the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetExtendedRequest {
    /// Object UID.
    pub uid: u64,
    /// Where in the object to write.
    pub data_offset: u64,
    /// Bytes of data following the header.
    pub data_length: u64,
}

impl SetExtendedRequest {
    /// Header size.
    pub const SIZE: usize = 24;

    /// Decodes the header at the start of `b`.
    pub fn decode(b: &[u8]) -> Option<Self> {
        Some(Self {
            uid: u64_at(b, 0)?,
            data_offset: u64_at(b, 8)?,
            data_length: u64_at(b, 16)?,
        })
    }

    /// Encodes the header, then `data`, into `b`; returns the bytes written.
    pub fn encode(&self, data: &[u8], b: &mut [u8]) -> Option<usize> {
        let end = Self::SIZE.checked_add(data.len())?;
        let out = b.get_mut(..end)?;
        put_u64(out, 0, self.uid);
        put_u64(out, 8, self.data_offset);
        put_u64(out, 16, self.data_length);
        out[Self::SIZE..].copy_from_slice(data);
        Some(end)
    }
}

/// `secure_storage_response_get_support`: the PSA_STORAGE_SUPPORT_* bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GetSupportResponse {
    /// Supported features.
    pub support: u32,
}

impl GetSupportResponse {
    /// Struct size.
    pub const SIZE: usize = 4;

    /// Decodes the struct at the start of `b`.
    pub fn decode(b: &[u8]) -> Option<Self> {
        Some(Self {
            support: u32_at(b, 0)?,
        })
    }

    /// Encodes into `b`; returns the bytes written.
    pub fn encode(&self, b: &mut [u8]) -> Option<usize> {
        put_u32(b, 0, self.support).then_some(Self::SIZE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcodes_are_tss() {
        assert_eq!(
            [
                OP_SET,
                OP_GET,
                OP_GET_INFO,
                OP_REMOVE,
                OP_CREATE,
                OP_SET_EXTENDED,
                OP_GET_SUPPORT
            ],
            [0x100, 0x101, 0x102, 0x103, 0x104, 0x105, 0x106]
        );
    }

    #[test]
    fn set_request_layout() {
        // Packed: uid (8) | data_length (8) | create_flags (4) | data.
        let mut b = [0u8; 24];
        let r = SetRequest {
            uid: 0x1122_3344_5566_7788,
            data_length: 3,
            create_flags: 1,
        };
        assert_eq!(r.encode(&[0xA, 0xB, 0xC], &mut b), Some(23));
        assert_eq!(
            b[..23],
            [
                0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
                0xA, 0xB, 0xC
            ]
        );
        assert_eq!(SetRequest::decode(&b), Some(r));
        assert_eq!(SetRequest::decode(&b[..19]), None);
        assert_eq!(r.encode(&[0; 5], &mut b), None);
    }

    #[test]
    fn get_and_set_extended_layouts() {
        let mut b = [0u8; 30];
        let g = GetRequest {
            uid: 5,
            data_offset: 0x100,
            data_size: 0x2000,
        };
        assert_eq!(g.encode(&mut b), Some(24));
        assert_eq!(
            b[..24],
            [5, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(GetRequest::decode(&b), Some(g));
        assert_eq!(GetRequest::decode(&b[..23]), None);

        let s = SetExtendedRequest {
            uid: 9,
            data_offset: 4,
            data_length: 2,
        };
        assert_eq!(s.encode(&[7, 8], &mut b), Some(26));
        assert_eq!(b[8], 4);
        assert_eq!(b[16], 2);
        assert_eq!(b[24..26], [7, 8]);
        assert_eq!(SetExtendedRequest::decode(&b), Some(s));
    }

    #[test]
    fn info_create_support_layouts() {
        let mut b = [0u8; 20];
        let i = GetInfoResponse {
            capacity: 0x40,
            size: 0x20,
            flags: 4,
        };
        assert_eq!(i.encode(&mut b), Some(20));
        assert_eq!(
            b,
            [0x40, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0]
        );
        assert_eq!(GetInfoResponse::decode(&b), Some(i));

        let c = CreateRequest {
            uid: 1,
            capacity: 0x30,
            create_flags: 2,
        };
        assert_eq!(c.encode(&mut b), Some(20));
        assert_eq!(
            b,
            [1, 0, 0, 0, 0, 0, 0, 0, 0x30, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0]
        );
        assert_eq!(CreateRequest::decode(&b), Some(c));

        assert_eq!(GetSupportResponse { support: 1 }.encode(&mut b), Some(4));
        assert_eq!(b[..4], [1, 0, 0, 0]);
        assert_eq!(UidRequest { uid: 0x0102 }.encode(&mut b), Some(8));
        assert_eq!(b[..8], [2, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(UidRequest::decode(&b[..7]), None);
    }
}
