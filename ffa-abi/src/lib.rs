//! FF-A v1.0-v1.2 ABI (Arm DEN0077): function IDs, register encodings, error codes and
//! memory/partition/boot descriptors as typed Rust values, per negotiated version.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
