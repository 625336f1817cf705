//! Runtime for Rust secure partitions running at S-EL0 under the SPMC.
#![cfg_attr(not(test), no_std)]
