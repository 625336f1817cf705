//! Host-testable logic of the EL3 monitor for QEMU sbsa-ref: the flash directory format shared
//! with `xtask` and the SPMC manifest reader. The firmware itself is `main.rs`.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod flash_directory;
pub mod spmc_manifest;
