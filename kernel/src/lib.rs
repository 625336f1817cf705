//! The SPMC kernel. Everything outside `arch` is plain Rust that runs in host tests.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod mem_share;
