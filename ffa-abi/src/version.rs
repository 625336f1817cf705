//! FF-A version numbers and the compatibility rule (DEN0077 "FFA_VERSION").
//!
//! A version is encoded as `major << 16 | minor` with bit 31 zero.

use crate::error::ErrorCode;

/// An FF-A version (DEN0077 "FFA_VERSION" "Version number" encoding).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version {
    /// Major version, 15 bits.
    pub major: u16,
    /// Minor version.
    pub minor: u16,
}

impl Version {
    /// FF-A v1.0.
    pub const V1_0: Version = Version::new(1, 0);
    /// FF-A v1.1.
    pub const V1_1: Version = Version::new(1, 1);
    /// FF-A v1.2.
    pub const V1_2: Version = Version::new(1, 2);
    /// The newest version this crate implements.
    pub const LATEST: Version = Version::V1_2;

    /// Builds a version.
    pub const fn new(major: u16, minor: u16) -> Self {
        Self { major, minor }
    }

    /// Encodes as `major << 16 | minor`. Bit 31 is kept clear.
    pub const fn encode(self) -> u32 {
        ((self.major as u32 & 0x7FFF) << 16) | self.minor as u32
    }

    /// Decodes a version word; bit 31 must be zero (MBZ), else `None`.
    pub const fn decode(word: u32) -> Option<Self> {
        if word & 0x8000_0000 != 0 {
            return None;
        }
        Some(Self::new((word >> 16) as u16, word as u16))
    }

    /// The compatibility rule of DEN0077 "FFA_VERSION": an implementation of version `self` can
    /// serve a caller that asked for `requested` if the majors are equal and the
    /// requested minor is not newer than ours.
    pub const fn is_compatible_with(self, requested: Version) -> bool {
        self.major == requested.major && requested.minor <= self.minor
    }

    /// Returns true if this crate knows the descriptor layouts of this version
    /// (1.0, 1.1 or 1.2).
    pub const fn is_supported_by_crate(self) -> bool {
        self.major == 1 && self.minor <= 2
    }

    /// The version both sides use after negotiation: the caller's requested version if
    /// we can serve it, else `None` (the caller sees our version and decides).
    pub const fn negotiate(ours: Version, requested: Version) -> Option<Version> {
        if ours.is_compatible_with(requested) {
            Some(requested)
        } else {
            None
        }
    }

    /// Interprets the w0 returned by FFA_VERSION: a version, or NOT_SUPPORTED (-1).
    pub fn from_response(w0: u32) -> Result<Version, ErrorCode> {
        if w0 as i32 == ErrorCode::NotSupported.to_i32() {
            return Err(ErrorCode::NotSupported);
        }
        Version::decode(w0).ok_or(ErrorCode::NotSupported)
    }
}

impl core::fmt::Display for Version {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding() {
        assert_eq!(Version::V1_0.encode(), 0x1_0000);
        assert_eq!(Version::V1_2.encode(), 0x1_0002);
        assert_eq!(Version::decode(0x1_0001), Some(Version::V1_1));
        assert_eq!(Version::decode(0x8001_0001), None);
        assert_eq!(
            Version::from_response(0xFFFF_FFFF),
            Err(ErrorCode::NotSupported)
        );
        assert_eq!(Version::from_response(0x1_0002), Ok(Version::V1_2));
    }

    #[test]
    fn compatibility_rule() {
        assert!(Version::V1_2.is_compatible_with(Version::V1_0));
        assert!(Version::V1_2.is_compatible_with(Version::V1_2));
        assert!(!Version::V1_1.is_compatible_with(Version::V1_2));
        assert!(!Version::V1_2.is_compatible_with(Version::new(2, 0)));
        assert!(!Version::new(2, 5).is_compatible_with(Version::V1_0));
        assert_eq!(
            Version::negotiate(Version::V1_2, Version::V1_1),
            Some(Version::V1_1)
        );
        assert_eq!(Version::negotiate(Version::V1_1, Version::V1_2), None);
    }
}
