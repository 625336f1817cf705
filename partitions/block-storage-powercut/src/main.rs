//! The power-loss test partition of the shared-flash set: block-storage, plus a control
//! service that makes its flash stop after a chosen number of program/erase steps (then the
//! SP announces it and spins, and xtask kills QEMU: a power loss at a known point, in the
//! middle of a write that its or ps asked for). Only the power-loss lane's SP set
//! (layout.json here) has it; see docs/storage.md.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod sp {
    sp_rt::entry!(main);

    fn main(start: sp_rt::StartInfo) -> ! {
        ts_storage::sp::main_block_storage_power_cut(start)
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("block-storage-powercut is an S-EL0 secure partition: build it for aarch64-unknown-none (cargo xtask build)");
    std::process::exit(2);
}
