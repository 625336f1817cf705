//! PSA status codes (PSA Firmware Framework 1.0 `psa/error.h`, used by the PSA Storage API
//! 1.0) and the storage flag and support bits (PSA Storage API 1.0 `psa/storage_common.h`).
//! A TS service status register carries the status as a 32-bit two's-complement value.

/// A PSA status: 0 success, negative an error.
pub type Status = i32;

/// The operation succeeded.
pub const SUCCESS: Status = 0;
/// PSA_ERROR_PROGRAMMER_ERROR.
pub const ERROR_PROGRAMMER_ERROR: Status = -129;
/// PSA_ERROR_CONNECTION_REFUSED.
pub const ERROR_CONNECTION_REFUSED: Status = -130;
/// PSA_ERROR_CONNECTION_BUSY.
pub const ERROR_CONNECTION_BUSY: Status = -131;
/// PSA_ERROR_GENERIC_ERROR.
pub const ERROR_GENERIC_ERROR: Status = -132;
/// PSA_ERROR_NOT_PERMITTED: e.g. changing or removing a write-once object.
pub const ERROR_NOT_PERMITTED: Status = -133;
/// PSA_ERROR_NOT_SUPPORTED: e.g. an unknown creation flag.
pub const ERROR_NOT_SUPPORTED: Status = -134;
/// PSA_ERROR_INVALID_ARGUMENT: e.g. UID 0, an offset past the data.
pub const ERROR_INVALID_ARGUMENT: Status = -135;
/// PSA_ERROR_INVALID_HANDLE.
pub const ERROR_INVALID_HANDLE: Status = -136;
/// PSA_ERROR_BAD_STATE.
pub const ERROR_BAD_STATE: Status = -137;
/// PSA_ERROR_BUFFER_TOO_SMALL.
pub const ERROR_BUFFER_TOO_SMALL: Status = -138;
/// PSA_ERROR_ALREADY_EXISTS: CREATE of a UID in use.
pub const ERROR_ALREADY_EXISTS: Status = -139;
/// PSA_ERROR_DOES_NOT_EXIST: no object with that UID (for this caller).
pub const ERROR_DOES_NOT_EXIST: Status = -140;
/// PSA_ERROR_INSUFFICIENT_MEMORY.
pub const ERROR_INSUFFICIENT_MEMORY: Status = -141;
/// PSA_ERROR_INSUFFICIENT_STORAGE: the store is full or the object too large.
pub const ERROR_INSUFFICIENT_STORAGE: Status = -142;
/// PSA_ERROR_INSUFFICIENT_DATA.
pub const ERROR_INSUFFICIENT_DATA: Status = -143;
/// PSA_ERROR_SERVICE_FAILURE.
pub const ERROR_SERVICE_FAILURE: Status = -144;
/// PSA_ERROR_COMMUNICATION_FAILURE.
pub const ERROR_COMMUNICATION_FAILURE: Status = -145;
/// PSA_ERROR_STORAGE_FAILURE: the backing store failed.
pub const ERROR_STORAGE_FAILURE: Status = -146;
/// PSA_ERROR_HARDWARE_FAILURE.
pub const ERROR_HARDWARE_FAILURE: Status = -147;
/// PSA_ERROR_INVALID_SIGNATURE.
pub const ERROR_INVALID_SIGNATURE: Status = -149;
/// PSA_ERROR_DATA_CORRUPT (PSA Storage API 1.0: integrity check failed).
pub const ERROR_DATA_CORRUPT: Status = -152;

/// PSA_STORAGE_FLAG_NONE.
pub const FLAG_NONE: u32 = 0;
/// PSA_STORAGE_FLAG_WRITE_ONCE: the object can never be changed or removed.
pub const FLAG_WRITE_ONCE: u32 = 1 << 0;
/// PSA_STORAGE_FLAG_NO_CONFIDENTIALITY: the caller does not need confidentiality.
pub const FLAG_NO_CONFIDENTIALITY: u32 = 1 << 1;
/// PSA_STORAGE_FLAG_NO_REPLAY_PROTECTION: the caller does not need replay protection.
pub const FLAG_NO_REPLAY_PROTECTION: u32 = 1 << 2;
/// Every flag the API defines.
pub const FLAGS_DEFINED: u32 =
    FLAG_WRITE_ONCE | FLAG_NO_CONFIDENTIALITY | FLAG_NO_REPLAY_PROTECTION;

/// PSA_STORAGE_SUPPORT_SET_EXTENDED: psa_ps_create / psa_ps_set_extended are implemented.
pub const SUPPORT_SET_EXTENDED: u32 = 1 << 0;

/// Returns the status as the 32-bit register word TS puts in the service status register.
pub const fn to_word(s: Status) -> u32 {
    s as u32
}

/// Reads a service status register back.
pub const fn from_word(w: u32) -> Status {
    w as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_words() {
        // The values the PSA Storage API 1.0 lists for its functions.
        assert_eq!(to_word(ERROR_DOES_NOT_EXIST), 0xFFFF_FF74);
        assert_eq!(to_word(ERROR_INVALID_ARGUMENT), 0xFFFF_FF79);
        assert_eq!(from_word(0xFFFF_FF72), ERROR_INSUFFICIENT_STORAGE);
        assert_eq!(FLAGS_DEFINED, 7);
    }
}
