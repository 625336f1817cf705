//! Trusted Services' packed-c encoding (TS `protocols/service/*/packed-c/`): service requests
//! and responses as little-endian, byte-packed C structs, optionally followed by variable
//! data, and TLV records (`components/common/tlv`) for optional parameters.
//!
//! Everything here works on byte slices the caller owns; decoding untrusted bytes never panics
//! and never reads past the slice. The layouts are written from TS's headers and checked byte
//! for byte in the tests.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod block_storage;
pub mod psa;
pub mod secure_storage;
pub mod tlv;
pub mod wire;
