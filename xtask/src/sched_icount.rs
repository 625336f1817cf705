//! The scheduling cases of `cargo xtask test` that hang on a normal-world timer window
//! (qemu/ns-driver/src/cases/sched.rs): the NS-EL2 timer is armed 1 ms before a request and
//! must meet the SP while it runs (a 20 ms spin), after echo has called fault in the chain
//! case. Under plain TCG the counter follows the host's clock, so how many instructions fit
//! in 1 ms depends on the host's speed and load: on a loaded host the timer fired before echo
//! called fault, and a failed case left an SP suspended for the cases after it. Here they run
//! in a boot of their own under `-icount shift=0,sleep=off`, where the counter follows executed
//! instructions (1 ms = 1 000 000 of them), so every run meets the same windows whatever the
//! host does. The cases are `on_request` in the driver: the default boot skips them.

use crate::layout::{LayoutRef, Target};
use crate::toolchain::Toolchain;

/// The cases, in the driver's order (names of qemu/ns-driver/src/cases/sched.rs).
pub const CASES: &[&str] = &[
    "ns_interrupt_preempts_signalled_sp",
    "ns_interrupt_queued_by_queued_sp",
    "ns_interrupt_preempts_sp_call_chain",
    "ns_interrupt_queued_chain_head_wins",
];

/// Runs them; returns (passed, failed) as the driver counted them.
pub fn run(tc: &Toolchain, timeout: u64) -> Result<(u32, u32), String> {
    let lref = LayoutRef::new(None, Target::Qemu)?;
    let cases: Vec<String> = CASES.iter().map(|c| c.to_string()).collect();
    crate::step("scheduling cases under -icount (virtual time follows instructions)");
    let image = crate::build_image(
        tc,
        &[],
        crate::SPMC_TEST_FEATURES,
        &lref,
        &crate::run_config_for(&lref, &cases),
        "sched-icount-flash.img",
        crate::flash::Storage::Reset,
    )?;
    let q = crate::QemuArgs::boot(4, timeout);
    let outcome = crate::run_qemu(&image, &q, true, "sched-icount.log")?;
    let log = image.out.join("sched-icount.log");
    match outcome.summary() {
        Some((p, f)) if !outcome.timed_out => {
            if p + f < CASES.len() as u32 {
                return Err(format!(
                    "{p} passed, {f} failed: fewer than the {} cases ran (log {})",
                    CASES.len(),
                    log.display()
                ));
            }
            Ok((p, f + u32::from(outcome.status != Some(0) && f == 0)))
        }
        _ => Err(format!(
            "no result (timed out: {}; log {})",
            outcome.timed_out,
            log.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    /// Each case named here exists in the driver and is `on_request` there, so that the
    /// default boot (wall-clock counter) does not run it as well.
    #[test]
    fn the_cases_are_the_drivers_on_request_ones() {
        let src = std::fs::read_to_string(crate::root().join("qemu/ns-driver/src/cases/sched.rs"))
            .unwrap();
        for name in super::CASES {
            let at = src
                .find(&format!("\"{name}\""))
                .unwrap_or_else(|| panic!("{name} is not a case of sched.rs"));
            let decl = &src[at..at + src[at..].find("),\n").expect("case declaration ends")];
            assert!(
                decl.contains(".on_request("),
                "{name} is not on_request: {decl}"
            );
        }
    }
}
