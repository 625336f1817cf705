//! The SPMC image for QEMU sbsa-ref
#![no_std]
#![no_main]
