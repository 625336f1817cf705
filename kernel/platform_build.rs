// The build script every SPMC platform crate shares (platform-fvp/build.rs and
// qemu/spmc-sbsa/build.rs `include!` it; a file that is `include!`d cannot carry `//!` docs).
// It links the binary with the crate's own link.ld, which places the image at the platform's
// BL32 address and defines the symbols spmc_kernel::platform reads, and makes cargo rebuild
// when link.ld or the partition table the image includes (SPMC_TABLE_DIR, written by
// `cargo xtask`) changes.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rustc-link-arg-bins=-T{dir}/link.ld");
    println!("cargo:rerun-if-changed={dir}/link.ld");
    println!("cargo:rerun-if-env-changed=SPMC_TABLE_DIR");
    if let Ok(t) = std::env::var("SPMC_TABLE_DIR") {
        println!("cargo:rerun-if-changed={t}/partition_table.rs");
        println!("cargo:rerun-if-changed={t}/sp_blob.bin");
    }
}
