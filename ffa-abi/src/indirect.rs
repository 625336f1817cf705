//! The partition message header of indirect messages (DEN0077 v1.1+ "Partition message
//! header", FFA_MSG_SEND2): it sits at the start of the sender's TX buffer and is copied with
//! the payload into the receiver's RX buffer.
//!
//! | offset | field |
//! |---|---|
//! | 0 | flags (reserved, SBZ) |
//! | 4 | reserved (SBZ) |
//! | 8 | offset of the payload from the start of the buffer |
//! | 12 | receiver ID (`[15:0]`), 14: sender ID (`[31:16]`) |
//! | 16 | payload size in bytes |
//! | 20 | reserved (SBZ), v1.2 |
//! | 24 | protocol UUID (16 bytes), v1.2 |
//!
//! A v1.1 header is 20 bytes, a v1.2 header 40: the payload may not start inside the header of
//! the sender's version.

use crate::endpoint::EndpointId;
use crate::uuid::Uuid;
use crate::version::Version;

/// Size of the v1.1 header.
pub const HEADER_SIZE_V1_1: usize = 20;
/// Size of the v1.2 header.
pub const HEADER_SIZE_V1_2: usize = 40;

/// The header size for a sender speaking `version`.
pub const fn header_size(version: Version) -> usize {
    if version.major == 1 && version.minor < 2 {
        HEADER_SIZE_V1_1
    } else {
        HEADER_SIZE_V1_2
    }
}

/// A partition message header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageHeader {
    /// Offset of the payload from the start of the buffer.
    pub offset: u32,
    /// The receiver.
    pub receiver: EndpointId,
    /// The sender.
    pub sender: EndpointId,
    /// Payload size in bytes.
    pub size: u32,
    /// Protocol UUID (v1.2; not written in a v1.1 header).
    pub uuid: Uuid,
}

fn word(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

impl MessageHeader {
    /// A header for `size` bytes right after a header of `version`'s size.
    pub fn new(sender: EndpointId, receiver: EndpointId, size: u32, version: Version) -> Self {
        Self {
            offset: header_size(version) as u32,
            receiver,
            sender,
            size,
            uuid: Uuid::NIL,
        }
    }

    /// Reads a header from the start of `b` (at least 20 bytes; the UUID only if `b` holds 40).
    pub fn parse(b: &[u8]) -> Option<Self> {
        if b.len() < HEADER_SIZE_V1_1 {
            return None;
        }
        let ids = word(b, 12);
        let uuid = match b.get(24..40) {
            Some(u) => {
                let mut a = [0u8; 16];
                a.copy_from_slice(u);
                Uuid(a)
            }
            None => Uuid::NIL,
        };
        Some(Self {
            offset: word(b, 8),
            receiver: EndpointId(ids as u16),
            sender: EndpointId((ids >> 16) as u16),
            size: word(b, 16),
            uuid,
        })
    }

    /// Writes the header of `version`'s size at the start of `out` (reserved fields zero);
    /// returns the bytes written, or `None` if `out` is too short.
    pub fn write(&self, version: Version, out: &mut [u8]) -> Option<usize> {
        let n = header_size(version);
        let out = out.get_mut(..n)?;
        out.fill(0);
        out[8..12].copy_from_slice(&self.offset.to_le_bytes());
        out[12..14].copy_from_slice(&self.receiver.0.to_le_bytes());
        out[14..16].copy_from_slice(&self.sender.0.to_le_bytes());
        out[16..20].copy_from_slice(&self.size.to_le_bytes());
        if n == HEADER_SIZE_V1_2 {
            out[24..40].copy_from_slice(&self.uuid.0);
        }
        Some(n)
    }

    /// Bytes the message occupies from the start of the buffer (header and payload), for a
    /// sender speaking `version`: `None` if the payload starts inside the header or the sum
    /// overflows.
    pub fn total_len(&self, version: Version) -> Option<u32> {
        if (self.offset as usize) < header_size(version) {
            return None;
        }
        self.offset.checked_add(self.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_v1_1_and_v1_2() {
        let h = MessageHeader::new(EndpointId(0x8001), EndpointId(0x0002), 8, Version::V1_1);
        let mut b = [0xAAu8; 48];
        assert_eq!(h.write(Version::V1_1, &mut b), Some(20));
        assert_eq!(
            &b[..20],
            &[0, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 2, 0, 1, 0x80, 8, 0, 0, 0]
        );
        assert_eq!(b[20], 0xAA);
        assert_eq!(MessageHeader::parse(&b[..20]), Some(h));
        let mut h2 = MessageHeader::new(EndpointId(1), EndpointId(0x8002), 3, Version::V1_2);
        h2.uuid = Uuid([7; 16]);
        assert_eq!(h2.write(Version::V1_2, &mut b), Some(40));
        assert_eq!(b[8], 40);
        assert_eq!(MessageHeader::parse(&b), Some(h2));
        assert_eq!(h2.write(Version::V1_2, &mut [0u8; 39]), None);
        assert_eq!(MessageHeader::parse(&b[..19]), None);
    }

    #[test]
    fn total_len_bounds() {
        let h = MessageHeader::new(EndpointId(1), EndpointId(2), 8, Version::V1_1);
        assert_eq!(h.total_len(Version::V1_1), Some(28));
        assert_eq!(h.total_len(Version::V1_2), None);
        let big = MessageHeader {
            offset: 40,
            size: u32::MAX,
            ..h
        };
        assert_eq!(big.total_len(Version::V1_2), None);
    }
}
