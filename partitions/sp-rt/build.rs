//! Tells the build scripts of SP crates (which depend on sp-rt directly) where sp-rt's linker
//! script is: `DEP_SP_RT_LINK_DIR` (Cargo `links` metadata), read by link/sp_link.rs. An SP
//! crate outside this repository has no `../sp-rt/link` beside it.

fn main() {
    let dir = std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets this"))
        .join("link");
    println!("cargo::metadata=link_dir={}", dir.display());
    println!("cargo::rerun-if-changed=build.rs");
}
