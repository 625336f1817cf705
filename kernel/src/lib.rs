//! The SPMC kernel. Everything outside `arch` is plain Rust that runs in host tests.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]

extern crate alloc;

pub mod arch;
#[cfg(target_os = "none")]
pub mod boot;
pub mod console;
pub mod mem_share;
pub mod memory;
#[cfg(target_os = "none")]
pub mod platform;
pub mod policy;
pub mod spmc;
pub mod spmc_manifest;
pub mod sync;
