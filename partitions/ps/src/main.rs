//! The PSA Protected Storage over TS RPC partition: TS RPC endpoint with the Ps service of `ts-storage`
//! (all logic there, host-tested).
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod sp {
    sp_rt::entry!(main);

    fn main(start: sp_rt::StartInfo) -> ! {
        ts_storage::sp::main(start, ts_storage::Flavour::Ps)
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "ps is an S-EL0 secure partition: build it for aarch64-unknown-none (cargo xtask build)"
    );
    std::process::exit(2);
}
