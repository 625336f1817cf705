//! Normal-world bare-metal FF-A test driver
#![no_std]
#![no_main]
