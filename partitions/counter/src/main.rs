//! The counter example SP's entry: maps its RX/TX buffers, logs that it is ready and serves
//! direct requests with `counter::Counter` (src/lib.rs) forever.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod sp {
    use counter::Counter;
    use sp_rt::{Ffa, StartInfo};

    sp_rt::entry!(main);

    fn main(start: StartInfo) -> ! {
        let mut ffa = Ffa::svc();
        // RX/TX are needed to retrieve memory; without them the SP still counts.
        let rxtx = match start.rxtx.map(&mut ffa) {
            Ok(()) => Some(start.rxtx),
            Err(e) => {
                sp_rt::log!("FFA_RXTX_MAP failed: {e:?}");
                None
            }
        };
        let mut counter = Counter { value: 0, rxtx };
        sp_rt::log!("ready");
        sp_rt::run(&mut ffa, |ffa, req| counter.handle(ffa, req))
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("counter is an S-EL0 secure partition: build it with cargo xtask (see docs/integrator-guide.md)");
    std::process::exit(2);
}
