//! The stuck test SP: logs one line, then spins for ever before FFA_MSG_WAIT, as a stock
//! Trusted Services SP does after a fatal error in its initialisation (`while(1)`). The SPMC's
//! boot time limit must abort it and boot the partitions after it.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod sp {
    use sp_rt::StartInfo;

    sp_rt::entry!(main);

    fn main(_start: StartInfo) -> ! {
        sp_rt::log!("spinning before FFA_MSG_WAIT (the SPMC's boot time limit must stop this)");
        loop {
            core::hint::spin_loop();
        }
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("stuck is an S-EL0 secure partition: build it with cargo xtask --layout partitions/stuck/layout.json");
    std::process::exit(2);
}
