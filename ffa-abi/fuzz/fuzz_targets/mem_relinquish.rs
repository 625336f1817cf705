//! Fuzz target: the memory relinquish descriptor parser. Same properties as the bounded proptest run (tests/properties.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/common/roundtrip.rs"]
mod roundtrip;

fuzz_target!(|data: &[u8]| {
    roundtrip::check_relinquish(data);
});
