//! Links the counter SP at the address its manifest gives (sp-rt's shared linker script).
//! `cargo xtask` points `SP_RT_MANIFEST_COUNTER` at the manifest of the layout it builds
//! (the `pm` of the layout entry), so the image is always linked for the set it goes into.

#[path = "../sp-rt/link/sp_link.rs"]
mod sp_link;

fn main() {
    sp_link::configure("counter.dts");
}
