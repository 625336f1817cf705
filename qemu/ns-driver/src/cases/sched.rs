//! Scheduling (issue 11 part B; FF-A v1.2 chapter 8): a normal-world timer interrupt meeting an
//! SP that runs a long request, for each `ns-interrupts-action` an S-EL0 SP may have (echo and
//! fault: signalled; pkg-sp and relay: queued; managed exit is refused by manifest-tool for
//! S-EL0 SPs), FFA_YIELD, FFA_RUN and its refusals, a preempted SP resumed from another core,
//! and every core sending direct requests at once.
//!
//! The normal world resumes preempted SPs as Linux's FF-A driver does
//! (drivers/firmware/arm_ffa/driver.c, `ffa_msg_send_direct_req`: while the answer is
//! FFA_INTERRUPT, call FFA_RUN with its w1). Its interrupt is the NS-EL2 timer (nsirq.rs).

use core::sync::atomic::Ordering;

use ffa_abi::{EndpointId, ErrorCode, FuncId, Regs};
use test_protocol::{cmd, id, status};

use crate::arch;
use crate::console::log;
use crate::ffa::{call, expect_error, expect_success, Shown};
use crate::harness::{check, check_eq, fail, Case, Failure, Outcome};
use crate::nsirq::{self, TIMER_INTID};
use crate::stress::{self, post, up_cores, JOBS, JOB_RUN, JOB_STRESS, ROUNDS, TARGETS};

/// Every case in this file.
///
/// The four `ns_interrupt_*` cases hang on the normal-world timer's window (armed 1 ms before a
/// request, it must meet the SP during its 20 ms spin): `cargo xtask test` runs them in a boot
/// of their own under `-icount`, where the counter follows executed instructions, not the
/// host's clock (xtask/src/sched_icount.rs); the default boot skips them (`on_request`). By
/// hand: `cargo xtask qemu --icount --case NAME`.
pub const CASES: &[Case] = &[
    Case::default_set("ns_interrupt_preempts_signalled_sp", signalled).on_request(),
    Case::default_set("ns_interrupt_queued_by_queued_sp", queued).on_request(),
    Case::default_set("ns_interrupt_preempts_sp_call_chain", chain_signalled).on_request(),
    Case::default_set("ns_interrupt_queued_chain_head_wins", chain_queued).on_request(),
    Case::default_set("ffa_yield_then_ffa_run", yield_run),
    Case::default_set("ffa_run_refusals_and_features", run_refusals),
    Case::default_set("preempted_sp_resumed_on_another_core", resume_elsewhere)
        .after(&["cpu_on_all_secondaries"]),
    Case::default_set("four_core_direct_request_stress", stress_all_cores)
        .after(&["cpu_on_all_secondaries"]),
    Case::default_set("cpu_off_on_keeps_sp_contexts", cpu_off_on_keeps_contexts)
        .after(&["cpu_on_all_secondaries", "cpu_off_then_on_again"]),
];

/// How long a SPIN request runs: 20 ms of the 62.5 MHz counter.
const SPIN_TICKS: u64 = 1_250_000;
/// When the timer fires after the request is sent: 1 ms.
const TIMER_TICKS: u64 = 62_500;

fn spin_args(dest: EndpointId, words: &[u64]) -> [u64; 7] {
    let mut a = [0u64; 7];
    a[0] = u64::from(dest);
    a[2..2 + words.len()].copy_from_slice(words);
    a
}

/// What happened on the way to the answer of a request.
struct Resumed {
    answer: Regs,
    /// FFA_INTERRUPT answers, each followed by taking the timer interrupt and FFA_RUN.
    preemptions: u32,
}

/// Answers every FFA_INTERRUPT as Linux does: takes its own pending interrupt (which must be
/// the timer, the one that preempted the SP), then FFA_RUN(w1), until another answer comes.
fn resume_until_answer(mut r: Regs, preempted: EndpointId) -> Result<Resumed, Failure> {
    let mut preemptions = 0;
    while r.w(0) == FuncId::Interrupt32.raw() {
        check_eq!(
            r.w(1),
            u32::from(preempted) << 16,
            "FFA_INTERRUPT w1 (SP, vCPU 0)"
        );
        check_eq!(r.w(2), 0, "FFA_INTERRUPT w2");
        let intid = nsirq::acknowledge();
        check_eq!(
            intid,
            TIMER_INTID,
            "the interrupt pending for the normal world"
        );
        preemptions += 1;
        check!(
            preemptions < 32,
            "preempted {preemptions} times for one timer interrupt"
        );
        r = call(FuncId::Run32, &[u64::from(r.w(1))]);
    }
    Ok(Resumed {
        answer: r,
        preemptions,
    })
}

/// Sends REQ_64 `words` to `dest` with the timer armed; returns what came back.
fn with_timer(dest: EndpointId, words: &[u64], preempted: EndpointId) -> Result<Resumed, Failure> {
    nsirq::enable();
    nsirq::timer_start(TIMER_TICKS);
    let r = call(FuncId::MsgSendDirectReq64, &spin_args(dest, words));
    let out = resume_until_answer(r, preempted);
    nsirq::disable();
    out
}

/// Checks the SPIN answer whose counter at start is x`at` (and at end x`at + 1`, test-protocol
/// `cmd::SPIN`) covers the whole spin.
fn spun(r: &Regs, at: usize, who: &str) -> Result<(), Failure> {
    let ticks = r.x(at + 1).wrapping_sub(r.x(at));
    check!(
        ticks >= SPIN_TICKS,
        "{who} spun {ticks} ticks, want {SPIN_TICKS}"
    );
    Ok(())
}

fn expect_resp64(r: &Regs, from: EndpointId) -> Result<(), Failure> {
    check!(
        r.w(0) == FuncId::MsgSendDirectResp64.raw() && r.w(1) == u32::from(from) << 16,
        "want DIRECT_RESP_64 from {from:#x}, got {}",
        Shown(r)
    );
    Ok(())
}

/// Signalled (echo): the timer preempts echo's 20 ms spin; the normal world gets
/// FFA_INTERRUPT with the interrupt still pending for it, takes it, and FFA_RUN resumes echo
/// to the end of its request.
fn signalled() -> Outcome {
    let out = with_timer(id::ECHO, &[cmd::SPIN.into(), SPIN_TICKS], id::ECHO)?;
    expect_resp64(&out.answer, id::ECHO)?;
    check_eq!(out.answer.x(3), u64::from(status::OK), "echo's status");
    spun(&out.answer, 4, "echo")?;
    check!(
        out.preemptions >= 1,
        "the timer interrupt never preempted echo (a signalled SP)"
    );
    check_eq!(nsirq::pending(), nsirq::SPURIOUS, "interrupt left pending");
    log!(
        "echo preempted {} time(s), resumed with FFA_RUN",
        out.preemptions
    );
    Ok(())
}

/// Queued (pkg-sp): the timer fires during pkg-sp's spin, but pkg-sp runs to its answer; the
/// interrupt waits, pending, until the normal world has the CPU back.
fn queued() -> Outcome {
    let out = with_timer_kept(id::PKG_SP, &[cmd::SPIN.into(), SPIN_TICKS])?;
    expect_resp64(&out, id::PKG_SP)?;
    check_eq!(out.x(3), u64::from(status::OK), "pkg-sp's status");
    spun(&out, 4, "pkg-sp")?;
    Ok(())
}

/// Sends with the timer armed and expects no preemption: the answer comes straight back, and
/// the timer interrupt, which fired meanwhile, is pending then.
fn with_timer_kept(dest: EndpointId, words: &[u64]) -> Result<Regs, Failure> {
    nsirq::enable();
    nsirq::timer_start(TIMER_TICKS);
    let r = call(FuncId::MsgSendDirectReq64, &spin_args(dest, words));
    let fired = nsirq::timer_fired();
    let pending = nsirq::pending();
    let taken = nsirq::acknowledge();
    nsirq::disable();
    if r.w(0) == FuncId::Interrupt32.raw() {
        // Leave nothing behind: resume the SP to its end before failing.
        let _ = call(FuncId::Run32, &[u64::from(r.w(1))]);
        fail!("a queued call chain was preempted: {}", Shown(&r));
    }
    check!(
        fired,
        "the timer had not fired by the answer (spin too short?)"
    );
    check_eq!(
        pending,
        TIMER_INTID,
        "the timer interrupt pending after the answer"
    );
    check_eq!(taken, TIMER_INTID, "the interrupt the normal world took");
    Ok(r)
}

/// A call chain NW -> echo -> fault, both signalled: the timer preempts fault; the chain
/// unwinds; FFA_RUN must name fault (echo is blocked: DENIED), and resuming fault brings
/// fault's answer to echo and echo's to the normal world.
fn chain_signalled() -> Outcome {
    let words = [
        cmd::CALL.into(),
        id::FAULT.into(),
        cmd::SPIN.into(),
        SPIN_TICKS,
    ];
    // Under -icount (the only way `cargo xtask test` runs this case) the timer fires 1 000 000
    // instructions after it is armed: far after echo has called fault (a few thousand), far
    // before fault's 20 ms (20 000 000 instructions) spin ends. A preemption naming echo is a
    // failure here: it would mean echo did not reach fault within the window.
    nsirq::enable();
    nsirq::timer_start(TIMER_TICKS);
    let r = call(FuncId::MsgSendDirectReq64, &spin_args(id::ECHO, &words));
    let result = chain_checks(r);
    nsirq::disable();
    if result.is_err() {
        unwind(r);
    }
    result
}

/// Leaves nothing suspended for the cases after a failed one: resumes whatever `r` (an answer
/// to a request) says was preempted, with the timer off, until an answer that is not
/// FFA_INTERRUPT. (FFA_RUN of a partition that already finished only runs it to FFA_MSG_WAIT.)
fn unwind(mut r: Regs) {
    for _ in 0..32 {
        if r.w(0) != FuncId::Interrupt32.raw() {
            return;
        }
        let _ = nsirq::acknowledge();
        r = call(FuncId::Run32, &[u64::from(r.w(1))]);
    }
}

fn chain_checks(r: Regs) -> Outcome {
    check_eq!(
        [r.w(0), r.w(1)],
        [FuncId::Interrupt32.raw(), u32::from(id::FAULT) << 16],
        "FFA_INTERRUPT naming fault, the SP that was running"
    );
    check_eq!(nsirq::acknowledge(), TIMER_INTID, "the pending interrupt");
    // echo waits for fault's answer: it cannot be resumed, nor take another request.
    let run_echo = call(FuncId::Run32, &[u64::from(id::ECHO) << 16]);
    expect_error(&run_echo, ErrorCode::Denied, "FFA_RUN of the blocked echo")?;
    let busy = call(FuncId::MsgSendDirectReq32, &[id::ECHO.into(), 0, 1]);
    expect_error(&busy, ErrorCode::Busy, "request to the blocked echo")?;
    let out = resume_until_answer(call(FuncId::Run32, &[u64::from(r.w(1))]), id::FAULT)?;
    expect_resp64(&out.answer, id::ECHO)?;
    check_eq!(
        [out.answer.x(3), out.answer.x(4)],
        [u64::from(status::OK); 2],
        "echo's status, fault's status"
    );
    spun(&out.answer, 5, "fault")?;
    Ok(())
}

/// A call chain NW -> relay (queued) -> echo (signalled): the least permissive action of the
/// chain applies (FF-A v1.2 section 8.3.1), so echo is not preempted either.
fn chain_queued() -> Outcome {
    let words = [cmd::SPIN.into(), id::ECHO.into(), SPIN_TICKS];
    let r = with_timer_kept(id::RELAY, &words)?;
    expect_resp64(&r, id::RELAY)?;
    check_eq!(
        [r.x(3), r.x(4)],
        [u64::from(status::OK); 2],
        "relay's status, echo's status"
    );
    spun(&r, 5, "echo")?;
    Ok(())
}

/// echo calls FFA_YIELD (through RAW_CALL) with a timeout: the normal world gets FFA_YIELD
/// naming echo; echo is then busy, FFA_RUN with the wrong endpoint or vCPU is refused, and
/// FFA_RUN(w1) resumes echo, whose FFA_YIELD returns FFA_SUCCESS.
fn yield_run() -> Outcome {
    let words = [
        cmd::RAW_CALL.into(),
        FuncId::Yield32.raw().into(),
        0,
        0x1234,
        0x5,
    ];
    let r = call(FuncId::MsgSendDirectReq64, &spin_args(id::ECHO, &words));
    check_eq!(
        [r.w(0), r.w(1), r.w(2), r.w(3)],
        [
            FuncId::Yield32.raw(),
            u32::from(id::ECHO) << 16,
            0x1234,
            0x5
        ],
        "FFA_YIELD (target, timeout)"
    );
    let target = u64::from(r.w(1));
    let busy = call(FuncId::MsgSendDirectReq32, &[id::ECHO.into(), 0, 1]);
    expect_error(&busy, ErrorCode::Busy, "request to the yielded echo")?;
    for (w1, code, what) in [
        (target | 1, ErrorCode::InvalidParameters, "vCPU 1 of echo"),
        (0x8000 << 16, ErrorCode::InvalidParameters, "the SPMC"),
        (
            0x7FFF << 16,
            ErrorCode::InvalidParameters,
            "no such endpoint",
        ),
    ] {
        expect_error(&call(FuncId::Run32, &[w1]), code, what)?;
    }
    // relay waits: FFA_RUN gives it cycles, and its FFA_MSG_WAIT answers.
    check_eq!(
        call(FuncId::Run32, &[u64::from(id::RELAY) << 16]).w(0),
        FuncId::MsgWait32.raw(),
        "FFA_RUN of relay, waiting"
    );
    let r = call(FuncId::Run32, &[target]);
    expect_resp64(&r, id::ECHO)?;
    check_eq!(
        [r.x(3), r.x(4), r.x(5)],
        [u64::from(status::OK), FuncId::Success32.raw().into(), 0],
        "RAW_CALL's answer: echo's FFA_YIELD returned FFA_SUCCESS"
    );
    // And echo serves requests again.
    let again = call(FuncId::MsgSendDirectReq32, &[id::ECHO.into(), 0, 0x77]);
    check_eq!(again.w(3), 0x77, "echo after the yield");
    Ok(())
}

/// FFA_RUN of a waiting partition (it runs until FFA_MSG_WAIT), FFA_RUN refusals, and what
/// FFA_FEATURES says about scheduling.
fn run_refusals() -> Outcome {
    check_eq!(
        call(FuncId::Run32, &[u64::from(id::ECHO) << 16]).w(0),
        FuncId::MsgWait32.raw(),
        "FFA_RUN of echo, waiting: it runs until FFA_MSG_WAIT"
    );
    for (w1, code, what) in [
        (
            u64::from(id::PKG_SP) << 16 | 0xFFFF,
            ErrorCode::InvalidParameters,
            "vCPU 0xFFFF",
        ),
        (0, ErrorCode::InvalidParameters, "the normal world's own ID"),
    ] {
        expect_error(&call(FuncId::Run32, &[w1]), code, what)?;
    }
    let f = |fid: u32| call(FuncId::Features, &[fid.into()]);
    expect_success(&f(FuncId::Run32.raw()), "FFA_FEATURES(FFA_RUN)")?;
    expect_error(
        &f(FuncId::Yield32.raw()),
        ErrorCode::NotSupported,
        "FFA_FEATURES(FFA_YIELD) from the NW",
    )?;
    expect_error(
        &f(3),
        ErrorCode::NotSupported,
        "FFA_FEATURES(managed-exit interrupt)",
    )?;
    // Partitions: FFA_YIELD yes, FFA_RUN no (echo asks through RAW_CALL).
    for (fid, want) in [(FuncId::Yield32, 0u64), (FuncId::Run32, 0xFFFF_FFFF)] {
        let words = [
            cmd::RAW_CALL.into(),
            FuncId::Features.raw().into(),
            fid.raw().into(),
        ];
        let r = call(FuncId::MsgSendDirectReq64, &spin_args(id::ECHO, &words));
        let ok = if want == 0 {
            r.x(4) == u64::from(FuncId::Success32.raw())
        } else {
            r.x(4) == u64::from(FuncId::Error32.raw())
                && r.x(6) as u32 == ErrorCode::NotSupported.to_u32()
        };
        check!(ok, "FFA_FEATURES({:?}) from echo: {}", fid, Shown(&r));
    }
    Ok(())
}

/// Sends echo a SPIN request with the NS timer armed to fire meanwhile: echo (signalled) is
/// preempted, the answer is FFA_INTERRUPT naming it, and the timer's interrupt was pending.
/// Returns that answer (its w1 is what FFA_RUN takes to resume echo).
fn preempt_spinning_echo() -> Result<Regs, Failure> {
    nsirq::enable();
    nsirq::timer_start(TIMER_TICKS);
    let r = call(
        FuncId::MsgSendDirectReq64,
        &spin_args(id::ECHO, &[cmd::SPIN.into(), SPIN_TICKS]),
    );
    let intid = nsirq::acknowledge();
    nsirq::disable();
    check_eq!(
        [r.w(0), r.w(1)],
        [FuncId::Interrupt32.raw(), u32::from(id::ECHO) << 16],
        "FFA_INTERRUPT naming echo"
    );
    check_eq!(intid, TIMER_INTID, "the pending interrupt");
    Ok(r)
}

/// An S-EL0 SP has one execution context, which migrates: echo, preempted on the primary
/// core, is resumed by FFA_RUN from a secondary core, where it finishes its request.
fn resume_elsewhere() -> Outcome {
    let up = up_cores();
    let Some(&other) = up.first() else {
        fail!("no secondary core is up (run with -smp 2 or more)");
    };
    let r = preempt_spinning_echo()?;
    let Some(w) = stress::run_job(other, JOB_RUN, u64::from(r.w(1)), 10_000) else {
        fail!("core {other} did not finish FFA_RUN");
    };
    check_eq!(
        [w[0], w[1], w[3]],
        [
            FuncId::MsgSendDirectResp64.raw().into(),
            u64::from(id::ECHO) << 16,
            u64::from(status::OK)
        ],
        "the answer core {other} got for FFA_RUN"
    );
    let ticks = w[5].wrapping_sub(w[4]);
    check!(ticks >= SPIN_TICKS, "echo spun {ticks} ticks");
    Ok(())
}

/// Every core (4 under `-smp 4`) sends ROUNDS rounds of direct requests to the SPMC, echo,
/// pkg-sp and relay -> fault at the same time. Every request gets exactly one answer: its exact
/// echo (each recorded once, by its unique tag) or BUSY (one execution context per SP); none
/// is wrong, lost or answered twice.
fn stress_all_cores() -> Outcome {
    every_core_every_sp()
}

/// PSCI CPU_OFF and CPU_ON of a core while an SP's request is suspended, as the SPMD sends them
/// (the CPU_OFF framework message, then a warm entry of the SPMC at its secondary entry point;
/// services/std_svc/spmd/spmd_pm.c). No S-EL0 SP is told: the power-management messages are
/// for contexts pinned to the PE, manifest-tool refuses an S-EL0 SP's subscription, and none in
/// this set has one. What must hold instead: the SPMC answers the SPMD as TF-A expects (the
/// monitor ends the run with 202 otherwise, and the core goes OFF), the one migratable context
/// of echo, preempted on the primary while core `i` goes off and on, finishes its request from
/// core `i` after its warm boot, and every SP answers exactly on every core afterwards.
fn cpu_off_on_keeps_contexts() -> Outcome {
    use crate::secondary::{CMD_CPU_OFF, MAILBOXES};
    let up = up_cores();
    let Some(&i) = up.first() else {
        fail!("no secondary core is up (run with -smp 2 or more)");
    };
    let r = preempt_spinning_echo()?;
    // Core i off while echo is suspended: the SPMC must still answer the CPU_OFF framework
    // message with success (else the monitor stops the run, as TF-A panics).
    MAILBOXES[i].command.store(CMD_CPU_OFF, Ordering::Release);
    arch::sev();
    check!(
        arch::wait_until(5000, || crate::psci::affinity_info(i as u64)
            == crate::psci::AFF_OFF),
        "core {i} not OFF after CPU_OFF (AFFINITY_INFO {}, CPU_OFF returned {:#x})",
        crate::psci::affinity_info(i as u64),
        MAILBOXES[i].cpu_off_status.load(Ordering::Acquire)
    );
    // Echo is still suspended: FFA_RUN from the primary would resume it, so only probe it
    // with a request, which must be BUSY (its context is in use), not ABORTED or answered.
    let probe = call(
        FuncId::MsgSendDirectReq32,
        &[id::ECHO.into(), 0, 1, 2, 3, 4, 5],
    );
    expect_error(&probe, ErrorCode::Busy, "a request to suspended echo")?;
    super::foundation::boot_and_check(i)?;
    // Warm-booted core i resumes echo's context, which migrated there.
    let Some(w) = stress::run_job(i, JOB_RUN, u64::from(r.w(1)), 10_000) else {
        fail!("core {i} did not finish FFA_RUN after its warm boot");
    };
    check_eq!(
        [w[0], w[1], w[3]],
        [
            FuncId::MsgSendDirectResp64.raw().into(),
            u64::from(id::ECHO) << 16,
            u64::from(status::OK)
        ],
        "the answer core {i} got for FFA_RUN after CPU_OFF and CPU_ON"
    );
    let ticks = w[5].wrapping_sub(w[4]);
    check!(ticks >= SPIN_TICKS, "echo spun {ticks} ticks");
    every_core_every_sp()
}

/// The stress burst on every core that is up, each answer checked exactly once.
fn every_core_every_sp() -> Outcome {
    let up = up_cores();
    check!(
        up.len() >= 3,
        "want 4 cores up, {} secondaries are",
        up.len()
    );
    let before: heapless::Vec<u32, 8> = up.iter().map(|&i| post(i, JOB_STRESS, 0)).collect();
    arch::sev();
    JOBS[0].kind.store(JOB_STRESS, Ordering::Release);
    stress::run(0);
    let finished = arch::wait_until(120_000, || {
        up.iter()
            .zip(&before)
            .all(|(&i, &b)| JOBS[i].done.load(Ordering::Acquire) != b)
    });
    check!(finished, "a secondary core did not finish its burst");
    let cores = core::iter::once(0).chain(up.iter().copied());
    let (mut exact, mut busy, mut wrong, mut recorded) = ([0u32; 4], 0u32, 0u32, 0u32);
    for c in cores {
        let j = &JOBS[c];
        for (t, e) in exact.iter_mut().enumerate() {
            *e += j.exact[t].load(Ordering::Acquire);
        }
        busy += j.busy.load(Ordering::Acquire);
        wrong += j.wrong.load(Ordering::Acquire);
        recorded += j
            .answered
            .iter()
            .map(|a| a.load(Ordering::Acquire).count_ones())
            .sum::<u32>();
    }
    let n = up.len() as u32 + 1;
    let sent = n * ROUNDS * TARGETS.len() as u32;
    let total_exact: u32 = exact.iter().sum();
    check_eq!(wrong, 0, "wrong or repeated answers");
    check_eq!(
        total_exact + busy,
        sent,
        "answers (exact + BUSY) for the requests sent"
    );
    check_eq!(
        recorded,
        total_exact,
        "requests whose exact answer was recorded"
    );
    check_eq!(exact[0], n * ROUNDS, "SPMC endpoint answers (never BUSY)");
    for (t, e) in exact.iter().enumerate() {
        check!(*e > 0, "no request to {} was answered", TARGETS[t]);
    }
    log!(
        "{n} cores x {ROUNDS} rounds x {} targets: {total_exact} exact answers {exact:?}, {busy} BUSY",
        TARGETS.len()
    );
    Ok(())
}
