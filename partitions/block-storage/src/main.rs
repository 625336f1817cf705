//! The block storage partition: owns sbsa-ref's secure flash (its manifest's `storage` device
//! region) and serves it with TS's block storage protocol over TS RPC, one partition for ITS
//! and one for PS (all logic in `ts-storage`, host-tested; docs/storage.md).
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod sp {
    sp_rt::entry!(main);

    fn main(start: sp_rt::StartInfo) -> ! {
        ts_storage::sp::main_block_storage(start)
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "block-storage is an S-EL0 secure partition: build it for aarch64-unknown-none (cargo xtask build)"
    );
    std::process::exit(2);
}
