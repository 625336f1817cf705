//! The time-limit check of `cargo xtask test` (issue 11): boots partitions/stuck/layout.json,
//! an SP set with echo, fault and stuck (which never reaches FFA_MSG_WAIT), runs its cases
//! (qemu/ns-driver/src/cases/time_limits.rs: stuck is ABORTED, fault looping in a request is
//! answered ABORTED and restarted from its image, as its manifest there asks, echo keeps
//! answering; memory.rs `aborted_sp_restarted_from_its_image`) and checks that the SPMC said why
//! on its console.
//! A separate set because the default one must keep booting fast.

use crate::layout::{LayoutRef, Target};
use crate::toolchain::Toolchain;

/// Runs the check; returns (passed, failed).
pub fn run(tc: &Toolchain, timeout: u64) -> (u32, u32) {
    match check(tc, timeout) {
        Ok(()) => {
            eprintln!("time-limits: time_limits_stuck_set_contained ... ok");
            (1, 0)
        }
        Err(why) => {
            eprintln!("time-limits: time_limits_stuck_set_contained ... FAILED: {why}");
            (0, 1)
        }
    }
}

fn check(tc: &Toolchain, timeout: u64) -> Result<(), String> {
    let layout = crate::root().join("partitions/stuck/layout.json");
    let lref = LayoutRef::new(Some(&layout), Target::Qemu)?;
    let image = crate::build(tc, &[], &lref, &crate::run_config_for(&lref, &[]))?;
    let q = crate::QemuArgs::boot(4, timeout);
    let outcome = crate::run_qemu(&image, &q, false, "test.log")?;
    let log = image.out.join("test.log");
    match outcome.summary() {
        Some((p, 0)) if p >= 4 => {}
        s => {
            return Err(format!(
                "the stuck set's cases: {s:?} (want at least 4 passed, 0 failed; log {})",
                log.display()
            ))
        }
    }
    for line in [
        "SP stuck (0x8009) did not reach FFA_MSG_WAIT within 300 ms (boot time limit): aborted, boot goes on",
        "SP fault (0x8003) ran 300 ms without answering (request time limit): aborted",
        "SP fault (0x8003) initialised",
        // Its manifest in this set asks for a restart from its image after an abort.
        "SP fault (0x8003) restarting from its image",
        "SP fault (0x8003) restarted",
    ] {
        if !outcome.console.contains(line) {
            return Err(format!("the console lacks `{line}` (log {})", log.display()));
        }
    }
    Ok(())
}
