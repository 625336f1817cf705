//! Host-testable logic of the EL3 monitor for QEMU sbsa-ref: the flash directory format shared
//! with `xtask`, the SPMC manifest reader, the SMC IDs and the SPMD/PSCI routing decisions. The
//! firmware around them (boot, contexts, world switches) is `main.rs`.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod el3;
pub mod flash_directory;
pub mod ids;
pub mod spmc_manifest;
pub mod spmd;
