//! Fuzz target: the memory transaction descriptor parser; byte 0 selects the version. Same properties as the bounded proptest run (tests/properties.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/common/roundtrip.rs"]
mod roundtrip;

fuzz_target!(|data: &[u8]| {
    if let Some((sel, buf)) = data.split_first() {
        roundtrip::check_transaction(buf, roundtrip::version_from(*sel));
    }
});
