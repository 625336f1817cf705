//! Secure interrupt cases (issue 11): a real device's interrupt owned by an SP, delivered by
//! the SPMC with FFA_INTERRUPT while its owner waits and the normal world runs (EL3 routes it
//! to the SPMC, which answers FFA_NORMAL_WORLD_RESUME), while another SP runs (preempted, then
//! resumed), and while the owner itself is busy (delivered when it next waits).
//!
//! The source is sbsa-ref's SBSA generic watchdog, whose WS0 interrupt (INTID 48) echo owns
//! (partitions/echo/echo.dts, granted in sp_layout.json): echo programs it to fire after a
//! number of counter ticks, and its handler disables it and records the counter (docs/
//! architecture.md, "Interrupts", says why this source). The secure world's counter readings
//! are the physical count (no virtual offset in the secure state without S-EL2), so echo's
//! and the spinning SP's timestamps compare directly, and with this world's CNTPCT.
#![forbid(unsafe_code)]

use ffa_abi::{EndpointId, FuncId, Regs};
use test_protocol::{cmd, id, status, watchdog};

use crate::arch::wait_until;
use crate::ffa::{call, Shown};
use crate::harness::{check, check_eq, fail, Case, Failure, Outcome};

pub const CASES: &[Case] = &[
    Case::default_set(
        "group0_interrupt_while_sp_runs_goes_to_el3",
        group0_while_sp_runs,
    ),
    Case::any_set(
        "group0_interrupt_while_normal_world_runs_goes_to_el3",
        group0_while_normal_world_runs,
    ),
    Case::default_set(
        "secure_interrupt_while_normal_world_runs",
        while_normal_world_runs,
    ),
    Case::default_set(
        "secure_interrupt_preempts_another_sp",
        while_another_sp_runs,
    ),
    Case::default_set(
        "secure_interrupt_to_busy_owner_when_it_waits",
        to_busy_owner,
    ),
];

/// 100 ms at sbsa-ref's 62.5 MHz counter: long enough for the normal world to send the
/// next request before the watchdog fires. Without -icount QEMU's counter follows the host's
/// clock, and a loaded host can stall the guest for several milliseconds: every margin here
/// is tens of milliseconds.
const FIRE_AFTER: u64 = 6_250_000;
/// 500 ms of spinning: the interrupt fires well inside it.
const SPIN: u64 = 31_250_000;
/// For the busy owner: WS0 after 200 ms while echo spins 300 ms. The watchdog's second signal,
/// WS1 (a system reset on sbsa-ref), would come at 400 ms if echo's handler had not run by
/// then; it runs as soon as echo answers.
const BUSY_FIRE_AFTER: u64 = 12_500_000;
const BUSY_SPIN: u64 = 18_750_000;

/// Sends a DIRECT_REQ_64 to `dst` with `words`; returns the response's five words.
fn ask(dst: EndpointId, words: &[u64]) -> Result<[u64; 5], Failure> {
    let mut a = [0u64; 7];
    a[0] = u64::from(dst);
    a[2..2 + words.len()].copy_from_slice(words);
    let r: Regs = call(FuncId::MsgSendDirectReq64, &a);
    if r.w(0) != FuncId::MsgSendDirectResp64.raw() || r.w(1) != u32::from(dst) << 16 {
        fail!("want a DIRECT_RESP_64 from {dst:#06x}, got {}", Shown(&r));
    }
    let w = [r.x(3), r.x(4), r.x(5), r.x(6), r.x(7)];
    check_eq!(w[0], u64::from(status::OK), "status word");
    Ok(w)
}

/// echo's handler record: (handled, last ID, counter when handled).
fn wdog_status() -> Result<(u64, u64, u64), Failure> {
    let w = ask(id::ECHO, &[cmd::WDOG_STATUS.into()])?;
    Ok((w[1], w[2], w[3]))
}

fn counter() -> u64 {
    crate::arch::counter().0
}

fn while_normal_world_runs() -> Outcome {
    let (before, _, _) = wdog_status()?;
    let w = ask(id::ECHO, &[cmd::WDOG_ARM.into(), FIRE_AFTER, 0])?;
    let armed = w[1];
    // This world now runs with no SMC: the watchdog's interrupt reaches EL3 as an FIQ, the
    // SPMD-like monitor enters the SPMC with FFA_INTERRUPT, echo handles it, and the SPMC
    // resumes us with FFA_NORMAL_WORLD_RESUME. Wait well past the deadline.
    let fired = wait_until(2000, || counter() > armed + 4 * FIRE_AFTER);
    check!(fired, "the counter did not advance past the deadline");
    let asked_at = counter();
    let (after, last_id, at) = wdog_status()?;
    check_eq!(after, before + 1, "interrupts echo handled");
    check_eq!(
        last_id,
        u64::from(watchdog::WS0_INTID),
        "interrupt ID in w2"
    );
    check!(
        at >= armed + FIRE_AFTER && at < asked_at,
        "handled at {at:#x}: not between the deadline {:#x} and this world's next call {asked_at:#x}",
        armed + FIRE_AFTER
    );
    Ok(())
}

fn while_another_sp_runs() -> Outcome {
    let (before, _, _) = wdog_status()?;
    let armed = ask(id::ECHO, &[cmd::WDOG_ARM.into(), FIRE_AFTER, 0])?[1];
    // fault spins for 500 ms: the interrupt comes while it runs; echo, waiting, handles it at
    // once and fault resumes and answers.
    let w = ask(id::FAULT, &[cmd::SPIN.into(), SPIN])?;
    let (start, end) = (w[1], w[2]);
    check!(end - start >= SPIN, "fault spun {} ticks", end - start);
    let (after, last_id, at) = wdog_status()?;
    check_eq!(after, before + 1, "interrupts echo handled");
    check_eq!(last_id, u64::from(watchdog::WS0_INTID), "interrupt ID");
    check!(
        start < at && at < end,
        "echo handled it at {at:#x}, not while fault ran ({start:#x}..{end:#x}; armed {armed:#x})"
    );
    Ok(())
}

fn to_busy_owner() -> Outcome {
    let (before, _, _) = wdog_status()?;
    // echo arms the watchdog and spins past the deadline in the same request: WS0 fires while
    // its owner is busy, so the SPMC keeps it until echo waits again (after its response).
    let w = ask(
        id::ECHO,
        &[cmd::WDOG_ARM.into(), BUSY_FIRE_AFTER, BUSY_SPIN],
    )?;
    let (armed, end) = (w[1], w[2]);
    check!(
        end >= armed + BUSY_SPIN,
        "echo spun until {end:#x} from {armed:#x}"
    );
    let (after, last_id, at) = wdog_status()?;
    check_eq!(after, before + 1, "interrupts echo handled");
    check_eq!(last_id, u64::from(watchdog::WS0_INTID), "interrupt ID");
    check!(
        at >= end && at >= armed + BUSY_FIRE_AFTER,
        "handled at {at:#x}, before echo finished its request at {end:#x}"
    );
    Ok(())
}

/// A Group 0 interrupt (EL3's; the monitor's test source is the EL1 physical timer) that fires
/// while echo spins inside the normal world's request: the SPMC takes it as FIQ at S-EL1, sees
/// it in ICC_HPPIR0_EL1, hands it to EL3 with FFA_EL3_INTR_HANDLE (TF-A spmd_main.c
/// `spmd_handle_group0_intr_swd`) and resumes echo, which answers: it is not the normal
/// world's interrupt, so echo (signalled) is not preempted. The timer's CNTP_CTL_EL0 afterwards
/// says which EL3 path ran: IMASK alone = handed over by the SPMC. If it fired before the
/// request reached the secure world (a slow host), EL3 took it from the normal world instead
/// (0): tried again, three times at most.
fn group0_while_sp_runs() -> Outcome {
    check!(
        crate::nsirq::group0_source(true),
        "the monitor's fixture SMC for the Group 0 test source"
    );
    let r = group0_while_sp_runs_inner();
    crate::nsirq::group0_source(false);
    r
}

fn group0_while_sp_runs_inner() -> Outcome {
    let (_, freq) = crate::arch::counter();
    let ms = freq / 1000;
    let mut ctl = 0;
    for _ in 0..3 {
        crate::nsirq::group0_timer_start(5 * ms);
        let r = call(
            FuncId::MsgSendDirectReq64,
            &[id::ECHO.into(), 0, cmd::SPIN.into(), 100 * ms, 0, 0, 0],
        );
        ctl = crate::nsirq::group0_timer_ctl();
        crate::nsirq::group0_timer_stop();
        check_eq!(
            [r.w(0), r.w(1), r.w(3)],
            [
                FuncId::MsgSendDirectResp64.raw(),
                u32::from(id::ECHO) << 16,
                status::OK
            ],
            "echo's answer, not preempted by EL3's interrupt"
        );
        if ctl & 0b11 != 0 {
            break;
        }
    }
    check_eq!(
        ctl & 0b11,
        0b10,
        "CNTP_CTL_EL0 [IMASK, ENABLE] after the request: IMASK alone when the SPMC handed the interrupt to EL3 (0b01: nobody handled it)"
    );
    Ok(())
}

/// The same interrupt while the normal world runs goes straight to EL3 (SCR_EL3.FIQ while the
/// normal world runs, TF-A `spmd_group0_interrupt_handler_nwd`), which disables the timer.
fn group0_while_normal_world_runs() -> Outcome {
    check!(
        crate::nsirq::group0_source(true),
        "the monitor's fixture SMC for the Group 0 test source"
    );
    let r = group0_while_normal_world_runs_inner();
    crate::nsirq::group0_source(false);
    r
}

fn group0_while_normal_world_runs_inner() -> Outcome {
    let (_, freq) = crate::arch::counter();
    crate::nsirq::group0_timer_start(freq / 1000);
    let handled = wait_until(100, || crate::nsirq::group0_timer_ctl() & 1 == 0);
    let ctl = crate::nsirq::group0_timer_ctl();
    crate::nsirq::group0_timer_stop();
    check!(
        handled,
        "EL3 did not handle the Group 0 timer within 100 ms (CNTP_CTL_EL0 {ctl:#x})"
    );
    check_eq!(
        ctl & 0b11,
        0,
        "CNTP_CTL_EL0 [IMASK, ENABLE] after EL3's handler"
    );
    Ok(())
}
