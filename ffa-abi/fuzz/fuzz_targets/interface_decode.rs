//! Fuzz target: Interface::decode over 18 arbitrary registers (bytes 0..144) at a version chosen by byte 144. Same properties as the bounded proptest run (tests/properties.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/common/roundtrip.rs"]
mod roundtrip;

fuzz_target!(|data: &[u8]| {
    roundtrip::check_regs_bytes(data);
});
