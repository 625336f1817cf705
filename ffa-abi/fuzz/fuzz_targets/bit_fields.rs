//! Fuzz target: the attribute, permission, feature-query and version word decoders. Same properties as the bounded proptest run (tests/properties.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/common/roundtrip.rs"]
mod roundtrip;

fuzz_target!(|data: &[u8]| {
    let mut w = [0u8; 4];
    let n = data.len().min(4);
    w[..n].copy_from_slice(&data[..n]);
    roundtrip::check_fields(u32::from_le_bytes(w));
});
