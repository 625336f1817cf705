//! The machine-reset check of `cargo xtask test` (issue 11): boots the default image with only
//! the driver case `machine_reset_cold_boots_the_spmc`, which makes qemu/monitor reset sbsa-ref
//! for real (RAM kept) and runs again after the reset. The SPMC must cold-boot the second time:
//! the case checks echo is a fresh instance, and this check that the console shows every boot
//! step twice.

use crate::layout::{LayoutRef, Target};
use crate::toolchain::Toolchain;

const NAME: &str = "machine_reset_cold_boots_the_spmc";

/// Runs the check; returns (passed, failed).
pub fn run(tc: &Toolchain, timeout: u64) -> (u32, u32) {
    match check(tc, timeout) {
        Ok(()) => {
            eprintln!("machine-reset: {NAME} ... ok");
            (1, 0)
        }
        Err(why) => {
            eprintln!("machine-reset: {NAME} ... FAILED: {why}");
            (0, 1)
        }
    }
}

fn check(tc: &Toolchain, timeout: u64) -> Result<(), String> {
    let lref = LayoutRef::new(None, Target::Qemu)?;
    let cases = [NAME.to_string()];
    let image = crate::build(tc, &[], &lref, &crate::run_config_for(&lref, &cases))?;
    let q = crate::QemuArgs::boot(2, timeout);
    let outcome = crate::run_qemu(&image, &q, false, "machine-reset.log")?;
    let log = image.out.join("machine-reset.log");
    match outcome.summary() {
        Some((1, 0)) => {}
        s => {
            return Err(format!(
                "the case after the reset: {s:?} (want 1 passed, 0 failed; log {})",
                log.display()
            ))
        }
    }
    for (line, times) in [
        ("resetting the machine (echo has served", 1),
        ("SYSTEM_RESET (reboot) from core 0", 1),
        ("second boot after the machine reset", 1),
        ("SP echo (0x8001) initialised", 2),
        ("SPMC init done on core 0", 2),
    ] {
        let n = outcome.console.matches(line).count();
        if n != times {
            return Err(format!(
                "the console has `{line}` {n} times, want {times} (log {})",
                log.display()
            ));
        }
    }
    Ok(())
}
