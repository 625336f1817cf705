//! FF-A UUIDs and their SMCCC register packing (SMCCC "Universally
//! Unique Identifiers" and the DEN0077 FFA_PARTITION_INFO_GET w1-w4 layout): byte 0 of the UUID goes to the least significant byte of w1 (or x1).

/// A UUID as its 16 bytes in RFC 4122 string order (`00112233-4455-...` is
/// `[0x00, 0x11, 0x22, ...]`). In descriptors (partition info, boot info) the bytes
/// are stored in this order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// The nil UUID, which means "all partitions" in FFA_PARTITION_INFO_GET.
    pub const NIL: Uuid = Uuid([0; 16]);

    /// Returns true for the nil UUID.
    pub const fn is_nil(&self) -> bool {
        u128::from_ne_bytes(self.0) == 0
    }

    /// Packs into four 32-bit registers (w1..w4 of FFA_PARTITION_INFO_GET): each word
    /// holds four UUID bytes, the first one least significant.
    /// A `const fn`, so that generated partition tables can hold UUIDs built from words.
    pub const fn to_words(self) -> [u32; 4] {
        let b = self.0;
        let mut w = [0u32; 4];
        let mut i = 0;
        while i < 4 {
            w[i] = u32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]]);
            i += 1;
        }
        w
    }

    /// Unpacks four 32-bit registers; inverse of [`Uuid::to_words`]. Manifest `uuid`
    /// properties (four u32 cells) use this packing too.
    pub const fn from_words(w: [u32; 4]) -> Self {
        let mut b = [0u8; 16];
        let mut i = 0;
        while i < 4 {
            let le = w[i].to_le_bytes();
            b[4 * i] = le[0];
            b[4 * i + 1] = le[1];
            b[4 * i + 2] = le[2];
            b[4 * i + 3] = le[3];
            i += 1;
        }
        Uuid(b)
    }

    /// Packs into two 64-bit registers (x1/x2 of FFA_PARTITION_INFO_GET_REGS, x2/x3
    /// of DIRECT_REQ2): the first eight bytes little-endian in the first register.
    pub fn to_u64_pair(self) -> [u64; 2] {
        let mut lo = [0u8; 8];
        let mut hi = [0u8; 8];
        lo.copy_from_slice(&self.0[..8]);
        hi.copy_from_slice(&self.0[8..]);
        [u64::from_le_bytes(lo), u64::from_le_bytes(hi)]
    }

    /// Unpacks two 64-bit registers; inverse of [`Uuid::to_u64_pair`].
    pub fn from_u64_pair(r: [u64; 2]) -> Self {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&r[0].to_le_bytes());
        b[8..].copy_from_slice(&r[1].to_le_bytes());
        Uuid(b)
    }

    /// Parses the canonical text form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
    pub fn parse_str(s: &str) -> Option<Self> {
        let bytes = s.as_bytes();
        if bytes.len() != 36 {
            return None;
        }
        let mut out = [0u8; 16];
        let mut n = 0;
        let mut i = 0;
        while i < 36 {
            if matches!(i, 8 | 13 | 18 | 23) {
                if bytes[i] != b'-' {
                    return None;
                }
                i += 1;
                continue;
            }
            let hi = hex(bytes[i])?;
            let lo = hex(*bytes.get(i + 1)?)?;
            *out.get_mut(n)? = hi << 4 | lo;
            n += 1;
            i += 2;
        }
        Some(Uuid(out))
    }
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl core::fmt::Debug for Uuid {
    /// `Uuid(aabbccdd-...)`: the text form, which is what logs and test failures need.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Uuid({self})")
    }
}

impl core::fmt::Display for Uuid {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smccc_packing() {
        // The TS RPC UUID; words as Linux / Hafnium put them in w1..w4.
        let u = Uuid::parse_str("bdcd76d7-825e-4751-963b-86d4f84943ac").unwrap();
        assert_eq!(
            u.to_words(),
            [0xd776_cdbd, 0x5147_5e82, 0xd486_3b96, 0xac43_49f8]
        );
        assert_eq!(Uuid::from_words(u.to_words()), u);
        assert_eq!(
            u.to_u64_pair(),
            [0x5147_5e82_d776_cdbd, 0xac43_49f8_d486_3b96]
        );
        assert_eq!(Uuid::from_u64_pair(u.to_u64_pair()), u);
        assert_eq!(std::format!("{u}"), "bdcd76d7-825e-4751-963b-86d4f84943ac");
        assert_eq!(
            std::format!("{u:?}"),
            "Uuid(bdcd76d7-825e-4751-963b-86d4f84943ac)"
        );
    }

    #[test]
    fn word_packing_takes_bytes_in_smccc_order() {
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
    fn bad_text_is_rejected() {
        assert!(Uuid::parse_str("bdcd76d7-825e-4751-963b-86d4f84943a").is_none());
        assert!(Uuid::parse_str("bdcd76d7x825e-4751-963b-86d4f84943ac").is_none());
        assert!(Uuid::parse_str("gdcd76d7-825e-4751-963b-86d4f84943ac").is_none());
    }
}
