//! EL3 SPMD-compatible monitor for QEMU sbsa-ref (test fixture)
#![no_std]
#![no_main]
