//! Time limits: a partition that does not reach FFA_MSG_WAIT at boot, or runs past its limit
//! inside a request or an interrupt's handling, is aborted by the SPMC's timer; its callers get
//! ABORTED and everything else goes on. The fake clock advances only when a partition spins
//! (`Act::Spin`); the fake timer is level-triggered and masked by taking it, like CNTPS.

use super::fake::*;
use crate::spmc::partition::State;
use crate::spmc::time_limit::Defaults;
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use ffa_abi::error::ErrorCode;
use ffa_abi::regs::Regs;
use spmc_table::TimeLimits;

fn limits(d: SpDef, boot_ms: Option<u32>, request_ms: Option<u32>) -> SpDef {
    d.patched(move |p| {
        p.capabilities.time_limits = TimeLimits {
            boot_ms,
            request_ms,
        }
    })
}

/// Spins 100 ms of the fake clock.
fn spin() -> Step {
    Box::new(|_, _| Act::Spin(100))
}

/// Never reaches FFA_MSG_WAIT: spins from its first instruction.
fn looping() -> Behaviour {
    Box::new(|_, _| Act::Spin(100))
}

/// The fake clock says the aborted partition ran about 300 ms (3-4 spins of 100 ms), not for
/// ever.
fn ran_about_300_ms(w: &World) {
    assert!((300_000..=400_000).contains(&w.env.now), "{}", w.env.now);
}

#[test]
fn a_partition_stuck_at_boot_is_aborted_and_boot_goes_on() {
    let mut d0 = limits(sp(0), Some(300), None);
    d0.behaviour = looping();
    let mut w = World::boot(vec![d0, sp(1)]);
    assert_eq!(w.state(1), State::Waiting);
    ran_about_300_ms(&w);
    // The timer is off once boot is over, and callers get ABORTED.
    assert_eq!(w.env.deadline, None);
    w.assert_aborted_and_other_answers(0, 1);
}

#[test]
fn a_partition_looping_in_a_request_is_aborted() {
    let mut d0 = limits(sp(0), None, Some(300));
    d0.behaviour = waits_then_loops();
    let mut w = World::boot(vec![d0, sp(1)]);
    assert_eq!(w.env.deadline, None);
    assert_error(
        &w.nw(req32(EndpointId(0), SP0, [1, 0, 0, 0, 0])),
        ErrorCode::Aborted,
    );
    ran_about_300_ms(&w);
    assert_eq!(w.env.deadline, None, "the timer is off again");
    w.assert_aborted_and_other_answers(0, 1);
}

#[test]
fn the_platform_default_applies_and_zero_means_no_limit() {
    // sp0 spins 500 ms then answers: within no limit (its own 0), beyond the 300 ms default.
    let slow = |d: SpDef| {
        let mut d = d;
        let mut steps: Vec<Step> = vec![svc(msg_wait())];
        steps.extend((0..5).map(|_| spin()));
        steps.push(Box::new(|r: &Regs, _: &Memory| {
            Act::Svc(echo_of(r).unwrap())
        }));
        d.behaviour = script(steps);
        d
    };
    let mut w = World::new(vec![limits(slow(sp(0)), None, Some(0)), slow(sp(1))]);
    w.spmc.platform.time_limits = Defaults {
        boot_ms: 1000,
        request_ms: 300,
    };
    w.spmc.boot_partitions(&mut w.env);
    // The answer is echoed from the registers of the resume after the last spin.
    let r = w.nw(req32(EndpointId(0), SP0, [1, 0, 0, 0, 0]));
    assert_eq!(r.w(0), ffa_abi::func_id::FuncId::MsgSendDirectResp32.raw());
    assert_eq!(w.state(0), State::Waiting);
    assert_error(
        &w.nw(req32(EndpointId(0), SP1, [1, 0, 0, 0, 0])),
        ErrorCode::Aborted,
    );
    assert_eq!(w.state(1), State::Aborted);
}

#[test]
fn a_nested_request_that_loops_aborts_the_callee_only() {
    // sp0 asks sp1, which loops: sp1 is aborted at its own limit, sp0 gets ABORTED for its
    // request, answers the normal world, and its own deadline is given back.
    let mut d0 = limits(sp(0), None, Some(10_000));
    d0.behaviour = during_request(vec![req32(SP0, SP1, [5, 0, 0, 0, 0])]);
    d0.direct_to = vec![SP1];
    let mut d1 = limits(sp(1), None, Some(300));
    d1.behaviour = waits_then_loops();
    let mut w = World::boot(vec![d0, d1]);
    let r = w.nw(req32(EndpointId(0), SP0, [1, 0, 0, 0, 0]));
    // during_request answers with w3 = the error code of its last call.
    assert_eq!(
        r,
        resp32(
            SP0,
            EndpointId(0),
            [ErrorCode::Aborted.to_u32(), 0, 0, 0, 0]
        )
    );
    assert_eq!((w.state(0), w.state(1)), (State::Waiting, State::Aborted));
    // sp0's deadline, then sp1's, then sp0's again (re-armed after the abort), then off.
    let d = &w.env.deadlines;
    assert_eq!(d.first(), Some(&Some(10_000_000)));
    assert_eq!(d.last(), Some(&None));
    assert!(d.contains(&Some(300_000)), "{d:?}");
}

#[test]
fn an_interrupt_handler_that_loops_is_aborted_and_its_interrupt_stays_masked() {
    let mut d0 = limits(owning(sp(0), &[WDOG]), None, Some(300));
    d0.behaviour = waits_then_loops();
    let mut w = World::boot(vec![d0, sp(1)]);
    w.env.gic_pending.push_back(WDOG);
    let r = w.el3_interrupt();
    assert_eq!(r.w(0), ffa_abi::func_id::FuncId::NormalWorldResume.raw());
    assert!(w.env.gic_unmasked.is_empty());
    assert_eq!(w.env.deadline, None);
    w.assert_aborted_and_other_answers(0, 1);
}

/// A timer interrupt that reaches the SPMC while the normal world runs (one raised as a run
/// ended, or a stray one) is no expiry. EL3 enters the SPMC with FFA_INTERRUPT for it; no
/// partition is aborted or entered, the deadline in force (none) is set again, and the normal
/// world resumes.
#[test]
fn a_timer_left_armed_by_an_earlier_run_fires_while_the_normal_world_runs() {
    let mut w = World::boot(vec![limits(sp(0), None, Some(300)), sp(1)]);
    assert_eq!(w.nw(req32(EndpointId(0), SP0, [1, 0, 0, 0, 0])).w(3), 1);
    let before = w.env.deadlines.len();
    w.env.gic_pending.push_back(TIMER_INTID);
    let r = w.el3_interrupt();
    assert_eq!(r.w(0), ffa_abi::func_id::FuncId::NormalWorldResume.raw());
    assert_eq!(
        w.env.deadlines[before..],
        [None],
        "set again: none in force"
    );
    assert_eq!((w.state(0), w.state(1)), (State::Waiting, State::Waiting));
    assert_eq!(w.nw(req32(EndpointId(0), SP0, [2, 0, 0, 0, 0])).w(3), 2);
}

/// The timer's interrupt is taken inside a request before that request's deadline: not an
/// abort; the deadline in force is set again and the partition
/// answers.
#[test]
fn an_early_expiry_inside_a_request_is_not_an_abort() {
    let mut d0 = limits(sp(0), None, Some(300));
    d0.behaviour = script(vec![
        svc(msg_wait()),
        Box::new(|_, _| Act::Interrupt(TIMER_INTID)),
        Box::new(|r: &Regs, _: &Memory| Act::Svc(echo_of(r).unwrap())),
    ]);
    let mut w = World::boot(vec![d0, sp(1)]);
    let r = w.nw(req32(EndpointId(0), SP0, [9, 0, 0, 0, 0]));
    assert_eq!(
        r.w(0),
        ffa_abi::func_id::FuncId::MsgSendDirectResp32.raw(),
        "{r:x?}"
    );
    assert_eq!(r.w(3), 9);
    assert_eq!(w.state(0), State::Waiting);
    // The request's deadline, set again after the early expiry, then given back.
    let d = &w.env.deadlines;
    let n = d.len();
    assert_eq!(d[n - 3..], [Some(300_000), Some(300_000), None], "{d:?}");
}
