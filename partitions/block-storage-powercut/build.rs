//! Links the block-storage-powercut SP at the address its manifest gives (sp-rt's shared
//! linker script).

#[path = "../sp-rt/link/sp_link.rs"]
mod sp_link;

fn main() {
    sp_link::configure("block-storage-powercut.dts");
}
