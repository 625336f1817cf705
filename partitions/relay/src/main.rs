//! The relay test SP: forwards every direct request to the endpoint in payload word 1 and
//! answers with that endpoint's response (test-protocol `RELAY_FORWARDS_EVERYTHING`); used to
//! test SP-to-SP messaging, the capability gate and request cycles.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod sp {
    use sp_rt::{Ffa, StartInfo};

    sp_rt::entry!(main);

    fn main(_start: StartInfo) -> ! {
        let mut ffa = Ffa::svc();
        sp_rt::log!("ready");
        sp_rt::run(&mut ffa, test_sp_common::relay)
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "relay is an S-EL0 secure partition: build it for aarch64-unknown-none (cargo xtask build)"
    );
    std::process::exit(2);
}
