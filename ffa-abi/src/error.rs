//! FF-A error codes (DEN0077 "Status reporting": "Error status codes" table) and the crate's rich decode
//! errors, which map to the code the specification requires at the boundary.

use crate::func_id::FuncId;
use crate::version::Version;

/// An FF-A status code carried in w2 of FFA_ERROR (DEN0077 "Error status codes").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ErrorCode {
    /// NOT_SUPPORTED.
    NotSupported = -1,
    /// INVALID_PARAMETERS.
    InvalidParameters = -2,
    /// NO_MEMORY.
    NoMemory = -3,
    /// BUSY.
    Busy = -4,
    /// INTERRUPTED.
    Interrupted = -5,
    /// DENIED.
    Denied = -6,
    /// RETRY.
    Retry = -7,
    /// ABORTED.
    Aborted = -8,
    /// NO_DATA (v1.1).
    NoData = -9,
}

impl ErrorCode {
    /// All codes, in numeric order.
    pub const ALL: [ErrorCode; 9] = [
        ErrorCode::NotSupported,
        ErrorCode::InvalidParameters,
        ErrorCode::NoMemory,
        ErrorCode::Busy,
        ErrorCode::Interrupted,
        ErrorCode::Denied,
        ErrorCode::Retry,
        ErrorCode::Aborted,
        ErrorCode::NoData,
    ];

    /// Returns the signed code.
    pub const fn to_i32(self) -> i32 {
        self as i32
    }

    /// Returns the code as it sits in w2 (two's complement).
    pub const fn to_u32(self) -> u32 {
        self as i32 as u32
    }

    /// Decodes a signed code.
    pub const fn from_i32(v: i32) -> Option<Self> {
        Some(match v {
            -1 => ErrorCode::NotSupported,
            -2 => ErrorCode::InvalidParameters,
            -3 => ErrorCode::NoMemory,
            -4 => ErrorCode::Busy,
            -5 => ErrorCode::Interrupted,
            -6 => ErrorCode::Denied,
            -7 => ErrorCode::Retry,
            -8 => ErrorCode::Aborted,
            -9 => ErrorCode::NoData,
            _ => return None,
        })
    }
}

impl TryFrom<i32> for ErrorCode {
    type Error = i32;
    fn try_from(v: i32) -> Result<Self, i32> {
        ErrorCode::from_i32(v).ok_or(v)
    }
}

impl From<ErrorCode> for i32 {
    fn from(e: ErrorCode) -> i32 {
        e.to_i32()
    }
}

/// Why a register block could not be decoded into an [`crate::Interface`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// w0 is not an FF-A v1.0-v1.2 function ID.
    UnknownFunction(u32),
    /// The function exists but not at the negotiated version.
    NotInVersion {
        /// The function called.
        func: FuncId,
        /// The version negotiated with the caller.
        version: Version,
    },
    /// A reserved (MBZ) register or bit field is non-zero.
    NonZeroMbz {
        /// The register index (1-17).
        reg: u8,
    },
    /// A field holds a value the specification does not define.
    InvalidField {
        /// The register index.
        reg: u8,
        /// The field name.
        field: &'static str,
    },
    /// FFA_VERSION was called with bit 31 of the requested version set.
    InvalidVersion(u32),
}

impl DecodeError {
    /// The error code the specification requires for this failure: unknown or
    /// unavailable functions are NOT_SUPPORTED, malformed arguments are
    /// INVALID_PARAMETERS (DEN0077 "Status reporting" and each ABI's error table).
    pub const fn error_code(&self) -> ErrorCode {
        match self {
            DecodeError::UnknownFunction(_)
            | DecodeError::NotInVersion { .. }
            | DecodeError::InvalidVersion(_) => ErrorCode::NotSupported,
            DecodeError::NonZeroMbz { .. } | DecodeError::InvalidField { .. } => {
                ErrorCode::InvalidParameters
            }
        }
    }
}

impl From<DecodeError> for ErrorCode {
    fn from(e: DecodeError) -> ErrorCode {
        e.error_code()
    }
}

/// Why a descriptor in a buffer was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DescError {
    /// The buffer ends before a field at `offset` of `len` bytes.
    Truncated {
        /// Offset of the field.
        offset: usize,
        /// Length of the field.
        len: usize,
    },
    /// An offset/size/count computation overflowed.
    Overflow,
    /// A count is larger than the buffer can hold.
    CountTooLarge {
        /// The count read from the descriptor.
        count: u32,
    },
    /// An offset in the descriptor points outside the buffer or into the header.
    BadOffset {
        /// The offset value read.
        value: u32,
    },
    /// A reserved (MBZ) field at `offset` is non-zero.
    NonZeroMbz {
        /// Byte offset of the reserved field.
        offset: usize,
    },
    /// An address, size or offset is not aligned as required.
    Misaligned {
        /// Byte offset of the field.
        offset: usize,
    },
    /// A field holds a value the specification does not define.
    InvalidField {
        /// Byte offset of the field.
        offset: usize,
        /// The field name.
        field: &'static str,
    },
    /// The descriptor layout of this version is not known.
    UnsupportedVersion(Version),
    /// A signature/magic value is wrong.
    BadSignature,
}

impl DescError {
    /// The error code the specification requires: a version the layout is unknown for
    /// is NOT_SUPPORTED, every malformed descriptor is INVALID_PARAMETERS (DEN0077
    /// / DEN0140 per-ABI error tables).
    pub const fn error_code(&self) -> ErrorCode {
        match self {
            DescError::UnsupportedVersion(_) => ErrorCode::NotSupported,
            _ => ErrorCode::InvalidParameters,
        }
    }
}

impl From<DescError> for ErrorCode {
    fn from(e: DescError) -> ErrorCode {
        e.error_code()
    }
}

/// Why a builder could not write a descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildError {
    /// The output buffer is too small for the descriptor (or the first fragment).
    NoSpace {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// A value does not fit the field of this layout.
    FieldOverflow(&'static str),
    /// The descriptor layout of this version is not known.
    UnsupportedVersion(Version),
}

impl BuildError {
    /// Maps to the FF-A error a caller should return (NO_MEMORY when the buffer is
    /// too small, per the DEN0140 FFA_MEM_* error tables).
    pub const fn error_code(&self) -> ErrorCode {
        match self {
            BuildError::NoSpace { .. } => ErrorCode::NoMemory,
            BuildError::FieldOverflow(_) => ErrorCode::InvalidParameters,
            BuildError::UnsupportedVersion(_) => ErrorCode::NotSupported,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for (i, c) in ErrorCode::ALL.iter().enumerate() {
            assert_eq!(c.to_i32(), -(i as i32) - 1);
            assert_eq!(ErrorCode::try_from(c.to_i32()), Ok(*c));
            assert_eq!(ErrorCode::from_i32(c.to_u32() as i32), Some(*c));
        }
        assert_eq!(ErrorCode::try_from(0), Err(0));
        assert_eq!(ErrorCode::try_from(-10), Err(-10));
    }

    #[test]
    fn decode_errors_map_to_spec_codes() {
        assert_eq!(
            DecodeError::UnknownFunction(1).error_code(),
            ErrorCode::NotSupported
        );
        assert_eq!(
            DecodeError::NonZeroMbz { reg: 3 }.error_code(),
            ErrorCode::InvalidParameters
        );
        assert_eq!(
            DescError::Overflow.error_code(),
            ErrorCode::InvalidParameters
        );
        assert_eq!(
            DescError::UnsupportedVersion(Version::new(1, 9)).error_code(),
            ErrorCode::NotSupported
        );
    }
}
