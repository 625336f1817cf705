//! Scheduling (FF-A v1.2 chapter 8): non-secure interrupts preempting partitions per their
//! `ns-interrupts-action`, FFA_YIELD, and FFA_RUN resuming them (and their call chains) for
//! the normal world, with every refusal FFA_RUN and FFA_YIELD can give.

use super::fake::*;
use crate::spmc::partition::State;
use crate::spmc::run::SPSR_F;
use alloc::boxed::Box;
use alloc::vec;
use ffa_abi::error::ErrorCode;
use ffa_abi::func_id::FuncId;
use ffa_abi::regs::Regs;
use ffa_abi::version::Version;
use spmc_table::NsInterruptsAction;

const NW: EndpointId = EndpointId(0x0001);

fn run(target: u32) -> Regs {
    call(FuncId::Run32, &[target.into()])
}

fn interrupt_for(id: EndpointId) -> Regs {
    let mut r = Regs::ZERO;
    r.0[0] = FuncId::Interrupt32.raw().into();
    r.0[1] = u64::from(id.0) << 16;
    r
}

fn step(f: impl FnMut(&Regs, &Memory) -> Act + 'static) -> Step {
    Box::new(f)
}

fn queued(mut d: SpDef) -> SpDef {
    d.patch = Some(Box::new(|p| {
        p.ns_interrupts_action = NsInterruptsAction::Queued;
    }));
    d
}

/// Boots, then on its first request takes a non-secure interrupt, then echoes.
fn preempted_once() -> Behaviour {
    script(vec![svc(msg_wait()), step(|_, _| Act::Fiq)])
}

#[test]
fn a_signalled_partition_is_preempted_and_resumed_by_ffa_run() {
    let mut d = sp(0);
    d.behaviour = preempted_once();
    let mut w = World::boot(vec![d, sp(1)]);
    w.nw_version(Version::V1_2);
    let q = req32(NW, SP0, [1, 2, 3, 4, 5]);
    let r = w.nw(q);
    assert_eq!(
        r,
        interrupt_for(SP0),
        "the NW gets FFA_INTERRUPT naming the SP"
    );
    assert_eq!(w.state(0), State::Preempted);
    // The run that was preempted had FIQ (non-secure interrupts) unmasked; boot had it masked.
    let spsrs = w.env.spsrs.clone();
    assert_ne!(spsrs[0] & SPSR_F, 0, "FIQ masked while the SP initialises");
    assert_eq!(
        *spsrs.last().unwrap() & SPSR_F,
        0,
        "FIQ unmasked for a signalled SP"
    );
    // While preempted it takes no other request; other partitions run.
    assert_error(&w.nw(req32(NW, SP0, [9, 9, 9, 9, 9])), ErrorCode::Busy);
    let q1 = req32(NW, SP1, [7, 7, 7, 7, 7]);
    assert_eq!(w.nw(q1), echo_of(&q1).unwrap());
    // FFA_RUN resumes it where it was: the registers it was preempted with are untouched.
    let seen_before = w.seen(0).len();
    let r = w.nw(run(0x8001_0000));
    assert_eq!(r, echo_of(&q).unwrap(), "the response to the first request");
    assert_eq!(w.seen(0)[seen_before], q);
    assert_eq!(w.state(0), State::Waiting);
    assert_eq!(w.spmc.sps[0].rt.lock().request(), None);
}

#[test]
fn a_queued_partition_runs_on_with_non_secure_interrupts_masked() {
    let mut d = queued(sp(0));
    // Were FIQ taken anyway, the SPMC resumes it rather than preempting it.
    d.behaviour = preempted_once();
    let mut w = World::boot(vec![d]);
    let q = req64(NW, SP0, [1, 2, 3, 4, 5]);
    assert_eq!(w.nw(q), echo_of(&q).unwrap());
    assert!(
        w.env.spsrs.iter().all(|s| s & SPSR_F != 0),
        "FIQ masked in every run of a queued SP: {:x?}",
        w.env.spsrs
    );
    assert_eq!(w.state(0), State::Waiting);
}

/// The least permissive action of a call chain applies (FF-A v1.2 section 8.3.1): a signalled
/// SP called by a queued one runs with non-secure interrupts masked.
#[test]
fn a_queued_caller_masks_its_callee() {
    let mut a = queued(sp(0));
    a.direct_to = vec![SP1];
    let inner = req32(SP0, SP1, [4, 4, 4, 4, 4]);
    a.behaviour = script(vec![
        svc(msg_wait()),
        svc(inner),
        step(|r, _| Act::Svc(resp32(SP0, NW, [r.w(3), 0, 0, 0, 0]))),
    ]);
    let mut w = World::boot(vec![a, sp(1)]);
    let runs_before = w.env.runs.len();
    let r = w.nw(req32(NW, SP0, [0; 5]));
    assert_eq!(r, resp32(SP0, NW, [4, 0, 0, 0, 0]));
    let callee_runs: Vec<u64> = w.env.runs[runs_before..]
        .iter()
        .zip(&w.env.spsrs[runs_before..])
        .filter(|(i, _)| **i == 1)
        .map(|(_, s)| *s)
        .collect();
    assert!(!callee_runs.is_empty());
    assert!(callee_runs.iter().all(|s| s & SPSR_F != 0));
}

/// SP0 (request from the NW) asks SP1, which is preempted: the chain unwinds, SP0 is Blocked,
/// FFA_RUN must name SP1 (SP0: DENIED), and resuming SP1 carries its response to SP0 and SP0's
/// to the NW.
#[test]
fn a_preempted_call_chain_unwinds_and_resumes_in_order() {
    let mut a = sp(0);
    a.direct_to = vec![SP1];
    let inner = req64(SP0, SP1, [11, 12, 13, 14, 15]);
    a.behaviour = script(vec![
        svc(msg_wait()),
        svc(inner),
        // SP1's response arrives here; answer the NW with its first word.
        step(|r, _| Act::Svc(resp32(SP0, NW, [r.x(3) as u32, r.w(0), 0, 0, 0]))),
    ]);
    let mut b = sp(1);
    b.behaviour = preempted_once();
    let mut w = World::boot(vec![a, b]);
    let r = w.nw(req32(NW, SP0, [0; 5]));
    assert_eq!(r, interrupt_for(SP1));
    assert_eq!((w.state(0), w.state(1)), (State::Blocked, State::Preempted));
    let before = w.snapshot();
    assert_error(&w.nw(run(0x8001_0000)), ErrorCode::Denied);
    assert_error(&w.nw(req32(NW, SP0, [1; 5])), ErrorCode::Busy);
    assert_eq!(w.snapshot(), before);
    let r = w.nw(run(0x8002_0000));
    assert_eq!(
        r,
        resp32(SP0, NW, [11, FuncId::MsgSendDirectResp64.raw(), 0, 0, 0])
    );
    assert_eq!((w.state(0), w.state(1)), (State::Waiting, State::Waiting));
}

#[test]
fn a_callee_that_faults_after_resuming_aborts_only_itself() {
    let mut a = sp(0);
    a.direct_to = vec![SP1];
    a.behaviour = script(vec![
        svc(msg_wait()),
        svc(req32(SP0, SP1, [1; 5])),
        step(|r, _| Act::Svc(resp32(SP0, NW, [r.w(0), r.w(2), 0, 0, 0]))),
    ]);
    let mut b = sp(1);
    b.behaviour = script(vec![
        svc(msg_wait()),
        step(|_, _| Act::Fiq),
        data_abort(0x10),
    ]);
    let mut w = World::boot(vec![a, b]);
    assert_eq!(w.nw(req32(NW, SP0, [0; 5])), interrupt_for(SP1));
    let r = w.nw(run(0x8002_0000));
    // SP0 got ABORTED for its request and answered the NW.
    assert_eq!(
        r,
        resp32(
            SP0,
            NW,
            [FuncId::Error32.raw(), ErrorCode::Aborted.to_u32(), 0, 0, 0]
        )
    );
    assert_eq!((w.state(0), w.state(1)), (State::Waiting, State::Aborted));
    assert_error(&w.nw(run(0x8002_0000)), ErrorCode::Aborted);
}

#[test]
fn ffa_yield_returns_to_the_normal_world_and_ffa_run_answers_it_with_success() {
    let mut d = sp(0);
    d.behaviour = script(vec![
        svc(msg_wait()),
        svc(call(FuncId::Yield32, &[0, 0x5, 0x6])),
        step(|r, _| Act::Svc(resp32(SP0, NW, [r.w(0), r.w(1), r.w(2), 0, 0]))),
    ]);
    let mut w = World::boot(vec![d]);
    let r = w.nw(req32(NW, SP0, [0; 5]));
    let mut want = Regs::ZERO;
    want.0[..4].copy_from_slice(&[FuncId::Yield32.raw().into(), 0x8001_0000, 5, 6]);
    assert_eq!(r, want);
    assert_eq!(w.state(0), State::Preempted);
    let r = w.nw(run(0x8001_0000));
    assert_eq!(r, resp32(SP0, NW, [FuncId::Success32.raw(), 0, 0, 0, 0]));
    // It saw exactly FFA_SUCCESS_32 with every other register zero.
    let mut ok = Regs::ZERO;
    ok.0[0] = FuncId::Success32.raw().into();
    assert_eq!(*w.seen(0).last().unwrap(), ok);
    assert_eq!(w.state(0), State::Waiting);
}

#[test]
fn ffa_yield_is_denied_while_initialising_and_for_a_partitions_request() {
    let mut d = sp(0);
    d.behaviour = during_boot(vec![call(FuncId::Yield32, &[])]);
    let w = World::boot(vec![d]);
    assert_error(&w.seen(0)[1], ErrorCode::Denied);
    assert_eq!(w.state(0), State::Waiting);

    let mut a = sp(0);
    a.direct_to = vec![SP1];
    a.behaviour = script(vec![
        svc(msg_wait()),
        svc(req32(SP0, SP1, [0; 5])),
        step(|r, _| Act::Svc(resp32(SP0, NW, [r.w(3), 0, 0, 0, 0]))),
    ]);
    let mut b = sp(1);
    // SP1 answers with the error code its FFA_YIELD got.
    b.behaviour = during_request(vec![call(FuncId::Yield32, &[])]);
    let mut w = World::boot(vec![a, b]);
    let r = w.nw(req32(NW, SP0, [0; 5]));
    assert_eq!(r, resp32(SP0, NW, [ErrorCode::Denied.to_u32(), 0, 0, 0, 0]));
    assert_eq!((w.state(0), w.state(1)), (State::Waiting, State::Waiting));
}

#[test]
fn ffa_run_refusals_change_nothing() {
    let mut d = sp(1);
    d.behaviour = script(vec![svc(msg_wait()), data_abort(0)]);
    let mut w = World::boot(vec![sp(0), d]);
    // Abort SP1 first.
    assert_error(&w.nw(req32(NW, SP1, [0; 5])), ErrorCode::Aborted);
    let before = w.snapshot();
    let runs = w.env.runs.len();
    for (target, code) in [
        (0x8009_0000u32, ErrorCode::InvalidParameters), // no such partition
        (0x0000_0000, ErrorCode::InvalidParameters),    // the normal world's own ID
        (0x8000_0000, ErrorCode::InvalidParameters),    // the SPMC
        (0x8001_0001, ErrorCode::InvalidParameters),    // vCPU 1 of a one-context SP
        (0x8001_FFFF, ErrorCode::InvalidParameters),
        (0x8002_0000, ErrorCode::Aborted), // aborted
    ] {
        assert_error(&w.nw(run(target)), code);
    }
    // Reserved registers are ignored (decision (a)).
    assert_error(
        &w.nw(call(FuncId::Run32, &[0x8002_0000, u64::MAX, 7])),
        ErrorCode::Aborted,
    );
    assert_eq!(w.snapshot(), before);
    assert_eq!(w.env.runs.len(), runs, "no partition ran");
}

#[test]
fn ffa_run_from_a_partition_is_not_supported() {
    let mut d = sp(0);
    d.behaviour = during_boot(vec![run(0x8002_0000)]);
    let w = World::boot(vec![d, sp(1)]);
    assert_error(&w.seen(0)[1], ErrorCode::NotSupported);
}

/// FFA_FEATURES: FFA_RUN for the NW, FFA_YIELD for SPs; the managed-exit interrupt feature
/// (ID 3) is NOT_SUPPORTED: S-EL0 partitions cannot have managed exit (manifest-tool refuses
/// it), so there is no managed-exit interrupt to name.
#[test]
fn features_answer_for_run_yield_and_managed_exit() {
    let features = |fid: u32| call(FuncId::Features, &[fid.into(), 0]);
    let mut w = World::echoes(1);
    w.nw_version(Version::V1_2);
    assert_success(&w.nw(features(FuncId::Run32.raw())), 0);
    assert_error(
        &w.nw(features(FuncId::Yield32.raw())),
        ErrorCode::NotSupported,
    );
    assert_error(&w.nw(features(3)), ErrorCode::NotSupported);
    let mut d = sp(0);
    d.behaviour = during_boot(vec![
        features(FuncId::Yield32.raw()),
        features(FuncId::Run32.raw()),
        features(3),
    ]);
    let w = World::boot(vec![d]);
    assert_success(&w.seen(0)[1], 0);
    assert_error(&w.seen(0)[2], ErrorCode::NotSupported);
    assert_error(&w.seen(0)[3], ErrorCode::NotSupported);
}

/// A partition preempted again and again (the normal world's interrupt still pending when it
/// resumes it) makes progress only when the NW lets it; each FFA_RUN gets FFA_INTERRUPT until
/// then, and nothing leaks between rounds.
#[test]
fn repeated_preemption_until_completion() {
    let mut d = sp(0);
    d.behaviour = script(vec![
        svc(msg_wait()),
        step(|_, _| Act::Fiq),
        step(|_, _| Act::Fiq),
        step(|_, _| Act::Fiq),
    ]);
    let mut w = World::boot(vec![d]);
    let q = req2(NW, SP0, [0, 0], core::array::from_fn(|i| i as u64 * 3));
    w.nw_version(Version::V1_2);
    assert_eq!(w.nw(q), interrupt_for(SP0));
    assert_eq!(w.nw(run(0x8001_0000)), interrupt_for(SP0));
    assert_eq!(w.nw(run(0x8001_0000)), interrupt_for(SP0));
    assert_eq!(w.nw(run(0x8001_0000)), echo_of(&q).unwrap());
    // Waiting again: another FFA_RUN gives it cycles of its own (it waits at once).
    assert_eq!(w.nw(run(0x8001_0000)), msg_wait());
}

/// A partition handling a secure interrupt (SPMC-scheduled, no request) is not preemptible by
/// non-secure interrupts, and its FFA_YIELD returns FFA_SUCCESS at once (nobody to yield to;
/// Hafnium does the same).
#[test]
fn a_secure_interrupt_handler_is_not_preempted_and_yield_returns_at_once() {
    let mut d = owning(sp(0), &[WDOG]);
    d.behaviour = script(vec![
        svc(msg_wait()),
        // Entered with FFA_INTERRUPT: an FIQ meets it, then it yields, then it is done.
        step(|_, _| Act::Fiq),
        svc(call(FuncId::Yield32, &[])),
        svc(msg_wait()),
    ]);
    let mut w = World::boot(vec![d]);
    w.env.gic_pending.push_back(WDOG);
    assert_eq!(w.el3_interrupt(), call(FuncId::NormalWorldResume, &[]));
    let seen = w.seen(0);
    // Boot, FFA_INTERRUPT, the same registers after the FIQ, FFA_SUCCESS for the yield.
    assert_eq!(seen.len(), 4, "{seen:x?}");
    assert_eq!(seen[2], seen[1], "resumed untouched after the FIQ");
    assert_success(&seen[3], 0);
    assert!(w.env.spsrs.iter().all(|s| s & SPSR_F != 0));
    assert_eq!(w.state(0), State::Waiting);
}

/// What a partition sees when FFA_RUN gives it cycles while it waits: FFA_RUN_32, x1-x17 zero
/// (Hafnium's `ffa_run_abi`).
fn run_entry() -> Regs {
    call(FuncId::Run32, &[])
}

/// FFA_RUN of a waiting partition (after the schedule-receiver interrupt, say) gives it the
/// cycles: it is entered with FFA_RUN and its FFA_MSG_WAIT ends the normal world's FFA_RUN with
/// FFA_MSG_WAIT (x1-x17 zero), as Hafnium does; nothing else changes, and it serves requests
/// as before.
#[test]
fn ffa_run_of_a_waiting_partition_runs_it_until_it_waits() {
    let mut w = World::echoes(2);
    let before = w.snapshot();
    let runs = w.env.runs.len();
    assert_eq!(w.nw(run(0x8002_0000)), msg_wait());
    assert_eq!(w.seen(1).last(), Some(&run_entry()));
    assert_eq!(w.env.runs.len(), runs + 1, "SP1 ran once, nobody else");
    assert_eq!(w.snapshot(), before);
    // Reserved registers are ignored (decision (a)).
    assert_eq!(
        w.nw(call(FuncId::Run32, &[0x8002_0000, u64::MAX, 7])),
        msg_wait()
    );
    let q = req32(NW, SP1, [1, 2, 3, 4, 5]);
    assert_eq!(w.nw(q), echo_of(&q).unwrap());
}

/// Inside such a run the partition may make calls, yield (the normal world gets FFA_YIELD and
/// resumes it with FFA_RUN, its FFA_YIELD then returns FFA_SUCCESS), be preempted by a
/// non-secure interrupt, and its FFA_MSG_WAIT still ends the chain of FFA_RUNs. A direct request
/// meanwhile is BUSY, and a fault aborts it (ABORTED to the FFA_RUN).
#[test]
fn a_run_given_by_ffa_run_can_yield_be_preempted_and_abort() {
    let mut d = sp(0);
    d.behaviour = script(vec![
        svc(msg_wait()),
        // First FFA_RUN: an ID_GET, a yield, then waits.
        svc(call(FuncId::IdGet, &[])),
        svc(call(FuncId::Yield32, &[])),
        svc(msg_wait()),
        // Second: a non-secure interrupt, then waits.
        step(|_, _| Act::Fiq),
        svc(msg_wait()),
        // Third: a fault.
        data_abort(0),
    ]);
    let mut w = World::boot(vec![d]);
    let mut yielded = Regs::ZERO;
    yielded.0[0] = FuncId::Yield32.raw().into();
    yielded.0[1] = 0x8001_0000;
    assert_eq!(w.nw(run(0x8001_0000)), yielded);
    assert_eq!(w.state(0), State::Preempted);
    assert_error(&w.nw(req32(NW, SP0, [0; 5])), ErrorCode::Busy);
    assert_eq!(w.nw(run(0x8001_0000)), msg_wait());
    let seen = w.seen(0);
    assert_eq!(seen[1], run_entry());
    assert_success(&seen[2], 0x8001);
    assert_success(&seen[3], 0);
    assert_eq!(w.state(0), State::Waiting);
    assert_eq!(w.nw(run(0x8001_0000)), interrupt_for(SP0));
    assert_eq!(w.nw(run(0x8001_0000)), msg_wait());
    assert_error(&w.nw(run(0x8001_0000)), ErrorCode::Aborted);
    assert_eq!(w.state(0), State::Aborted);
}

/// A Group 0 interrupt taken while a signalled partition handles the normal world's request is
/// EL3's, not the normal world's: it goes to EL3 with FFA_EL3_INTR_HANDLE (TF-A
/// spmd_main.c `spmd_handle_group0_intr_swd`) and the partition resumes and answers, never
/// preempted. A non-secure FIQ after it still preempts it.
#[test]
fn a_group0_interrupt_goes_to_el3_and_the_partition_runs_on() {
    let mut d = sp(0);
    d.behaviour = script(vec![
        svc(msg_wait()),
        step(|_, _| Act::Group0),
        step(|_, _| Act::Group0),
    ]);
    let mut w = World::boot(vec![d]);
    w.nw_version(Version::V1_2);
    let q = req32(NW, SP0, [1, 2, 3, 4, 5]);
    let seen = w.seen(0).len();
    assert_eq!(w.nw(q), echo_of(&q).unwrap(), "answered, not preempted");
    assert_eq!(w.env.el3_intr_handled, 2, "each Group 0 FIQ went to EL3");
    assert!(!w.env.group0_pending);
    // Resumed untouched after each: the request registers every time.
    assert_eq!(&w.seen(0)[seen..seen + 3], &[q, q, q]);
    assert_eq!(w.state(0), State::Waiting);
    // A non-secure FIQ is not EL3's: it preempts the signalled partition as before.
    let mut d = sp(0);
    d.behaviour = preempted_once();
    let mut w = World::boot(vec![d]);
    w.nw_version(Version::V1_2);
    assert_eq!(w.nw(req32(NW, SP0, [1, 2, 3, 4, 5])), interrupt_for(SP0));
    assert_eq!(w.env.el3_intr_handled, 0);
}

/// The same for a queued partition (the fake takes the FIQ whatever PSTATE.F says): EL3 gets
/// it, and the partition answers.
#[test]
fn a_group0_interrupt_in_a_queued_partition_goes_to_el3() {
    let mut d = queued(sp(0));
    d.behaviour = script(vec![svc(msg_wait()), step(|_, _| Act::Group0)]);
    let mut w = World::boot(vec![d]);
    let q = req64(NW, SP0, [1, 2, 3, 4, 5]);
    assert_eq!(w.nw(q), echo_of(&q).unwrap());
    assert_eq!(w.env.el3_intr_handled, 1);
}
