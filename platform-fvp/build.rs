//! Passes the FVP linker script (which places the SPMC at TF-A's BL32 base 0x0600_0000) and
//! makes cargo rebuild when the partition table the image includes changes.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    println!("cargo:rustc-link-arg-bins=-T{dir}/link.ld");
    println!("cargo:rerun-if-changed={dir}/link.ld");
    println!("cargo:rerun-if-env-changed=SPMC_TABLE_DIR");
    if let Ok(t) = std::env::var("SPMC_TABLE_DIR") {
        println!("cargo:rerun-if-changed={t}/partition_table.rs");
        println!("cargo:rerun-if-changed={t}/sp_blob.bin");
    }
}
