//! The static partition table: what manifest-tool emits and the SPMC links in.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
