//! The SPMC image for Arm Base FVP
#![no_std]
#![no_main]
