//! Direct messaging (FF-A v1.2 chapter 15) from the normal world and between SPs: round trips,
//! refused requests (which must change nothing), busy and aborted destinations, and the
//! response rules.

use super::fake::*;
use crate::arch::esr;
use crate::spmc::partition::State;
use alloc::boxed::Box;
use alloc::vec;
use ffa_abi::error::ErrorCode;
use ffa_abi::func_id::FuncId;
use ffa_abi::regs::Regs;
use ffa_abi::version::Version;
use spmc_table::MessagingMethod;

const NW: EndpointId = EndpointId(0x0001);

fn uuid_pair(b: u8) -> [u64; 2] {
    let u = ffa_abi::uuid::Uuid(uuid(b));
    u.to_u64_pair()
}

fn args14() -> [u64; 14] {
    core::array::from_fn(|i| 0x1111_0000_0000_0000 * (i as u64 % 15 + 1) + i as u64)
}

#[test]
fn nw_echo_round_trips_in_every_form() {
    let mut w = World::echoes(2);
    w.nw_version(Version::V1_2);
    let requests = [
        req32(NW, SP0, [1, 0xFFFF_FFFF, 3, 4, 0x8000_0000]),
        req64(NW, SP1, [u64::MAX, 2, 0x1234_5678_9ABC_DEF0, 4, 5]),
        req2(NW, SP0, uuid_pair(0x10), args14()),
    ];
    for q in requests {
        let dst = usize::from(q.w(1) as u16 - 0x8001);
        let r = w.nw(q);
        assert_eq!(r, echo_of(&q).unwrap());
        // The SP saw exactly the request, and is waiting again.
        assert_eq!(w.seen(dst).last(), Some(&q));
        assert_eq!(w.state(dst), State::Waiting);
        assert_eq!(w.spmc.sps[dst].rt.lock().request(), None);
    }
}

#[test]
fn the_spmc_endpoint_echoes() {
    let mut w = World::echoes(1);
    w.nw_version(Version::V1_2);
    let before = w.snapshot();
    for q in [
        req32(NW, SPMC_ID, [1, 2, 3, 4, 5]),
        req64(NW, SPMC_ID, [6, 7, 8, 9, u64::MAX]),
        req2(NW, SPMC_ID, [1, 2], args14()),
    ] {
        assert_eq!(w.nw(q), echo_of(&q).unwrap());
    }
    assert_eq!(w.snapshot(), before);
    assert_eq!(w.seen(0).len(), 1);

    // From an SP too.
    let mut d = sp(0);
    d.behaviour = during_boot(vec![req32(SP0, SPMC_ID, [5, 4, 3, 2, 1])]);
    let w = World::boot(vec![d]);
    let q = req32(SP0, SPMC_ID, [5, 4, 3, 2, 1]);
    assert_eq!(w.seen(0)[1], echo_of(&q).unwrap());
}

#[test]
fn req2_needs_v1_2() {
    let mut w = World::echoes(1);
    w.nw_version(Version::V1_1);
    let before = w.snapshot();
    let r = w.nw(req2(NW, SP0, uuid_pair(0x10), args14()));
    assert_error(&r, ErrorCode::NotSupported);
    assert_eq!(w.snapshot(), before);
    assert_eq!(w.seen(0).len(), 1);
}

#[test]
fn refused_nw_requests_change_nothing() {
    let mut d0 = sp(0);
    d0.messaging = MessagingMethod::DIRECT_REQ_SEND; // receives nothing
    let mut d1 = sp(1);
    d1.messaging = MessagingMethod::DIRECT_REQ_RECV; // receives REQ, not REQ2
    let mut w = World::boot(vec![d0, d1, sp(2)]);
    w.nw_version(Version::V1_2);
    let before = w.snapshot();
    let cases = [
        // A normal-world caller naming a secure source.
        (req32(SP2, SP1, [1; 5]), ErrorCode::InvalidParameters),
        (req32(SPMC_ID, SP1, [1; 5]), ErrorCode::InvalidParameters),
        (
            req64(EndpointId(0xFFFF), SP1, [1; 5]),
            ErrorCode::InvalidParameters,
        ),
        (
            req2(SP2, SP1, [0; 2], [0; 14]),
            ErrorCode::InvalidParameters,
        ),
        // Unknown destinations: no such SP, or a normal-world ID.
        (
            req32(NW, EndpointId(0x8009), [1; 5]),
            ErrorCode::InvalidParameters,
        ),
        (
            req32(NW, EndpointId(0x0002), [1; 5]),
            ErrorCode::InvalidParameters,
        ),
        (
            req2(NW, EndpointId(0x8009), [0; 2], [0; 14]),
            ErrorCode::InvalidParameters,
        ),
        // Destinations that do not receive this form.
        (req32(NW, SP0, [1; 5]), ErrorCode::Denied),
        (req64(NW, SP0, [1; 5]), ErrorCode::Denied),
        (req2(NW, SP1, uuid_pair(0x11), [0; 14]), ErrorCode::Denied),
    ];
    for (q, code) in cases {
        assert_error(&w.nw(q), code);
    }
    assert_eq!(w.snapshot(), before);
    for i in 0..3 {
        assert_eq!(w.seen(i).len(), 1, "SP {i} was run for a refused request");
    }
}

/// A's behaviour for SP-to-SP tests: finish boot; on a request, make `call`, then answer the
/// request with w3..w7 = w0, w2, w3, w4, w5 of the call's result.
fn relay(call: Regs) -> Behaviour {
    during_request_reporting(vec![call])
}

fn during_request_reporting(calls: Vec<Regs>) -> Behaviour {
    let mut steps: Vec<Step> = vec![svc(msg_wait())];
    steps.extend(calls.into_iter().map(svc));
    steps.push(Box::new(|r, _| {
        Act::Svc(resp32(SP0, NW, [r.w(0), r.w(2), r.w(3), r.w(4), r.w(5)]))
    }));
    script(steps)
}

#[test]
fn sp_to_sp_round_trip() {
    let q = req64(SP0, SP1, [9, 8, 7, 6, u64::MAX]);
    let mut a = sp(0);
    a.direct_to = vec![SP1];
    a.behaviour = relay(q);
    let mut w = World::boot(vec![a, sp(1)]);
    let r = w.nw(req32(NW, SP0, [0; 5]));
    // B saw A's request; A got B's echo; the NW got A's answer.
    assert_eq!(w.seen(1).last(), Some(&q));
    assert_eq!(w.seen(0)[2], echo_of(&q).unwrap());
    let resp64 = FuncId::MsgSendDirectResp64.raw();
    assert_eq!(r, resp32(SP0, NW, [resp64, 0, 9, 8, 7]));
    assert_eq!(w.state(0), State::Waiting);
    assert_eq!(w.state(1), State::Waiting);
}

#[test]
fn refused_sp_requests() {
    type Tweak = Box<dyn Fn(&mut SpDef)>;
    let cases: Vec<(Tweak, Regs, ErrorCode)> = vec![
        // No grant for the destination.
        (Box::new(|_| {}), req32(SP0, SP1, [1; 5]), ErrorCode::Denied),
        // Granted, but A does not declare sending direct requests.
        (
            Box::new(|a| {
                a.direct_to = vec![SP1];
                a.messaging = MessagingMethod::DIRECT_REQ_RECV;
            }),
            req32(SP0, SP1, [1; 5]),
            ErrorCode::Denied,
        ),
        // Granted for REQ but A only sends REQ (not REQ2).
        (
            Box::new(|a| {
                a.direct_to = vec![SP1];
                a.messaging = MessagingMethod::DIRECT_REQ_RECV | MessagingMethod::DIRECT_REQ_SEND;
            }),
            req2(SP0, SP1, uuid_pair(0x11), [0; 14]),
            ErrorCode::Denied,
        ),
        // To itself.
        (
            Box::new(|a| a.direct_to = vec![SP0, SP1]),
            req32(SP0, SP0, [1; 5]),
            ErrorCode::InvalidParameters,
        ),
        // A forged source.
        (
            Box::new(|a| a.direct_to = vec![SP1]),
            req32(SP2, SP1, [1; 5]),
            ErrorCode::InvalidParameters,
        ),
        // To the normal world or to an unknown SP.
        (
            Box::new(|a| a.direct_to = vec![SP1]),
            req32(SP0, EndpointId(0x0000), [1; 5]),
            ErrorCode::InvalidParameters,
        ),
        (
            Box::new(|a| a.direct_to = vec![SP1, EndpointId(0x8009)]),
            req32(SP0, EndpointId(0x8009), [1; 5]),
            ErrorCode::InvalidParameters,
        ),
        // A framework message.
        (
            Box::new(|a| a.direct_to = vec![SP1]),
            {
                let mut q = req32(SP0, SP1, [1; 5]);
                q.0[2] = 0x8000_0008;
                q
            },
            ErrorCode::InvalidParameters,
        ),
    ];
    for (i, (tweak, q, code)) in cases.into_iter().enumerate() {
        let mut a = sp(0);
        tweak(&mut a);
        a.behaviour = relay(q);
        let mut w = World::boot(vec![a, sp(1)]);
        let before = w.snapshot();
        let r = w.nw(req32(NW, SP0, [0; 5]));
        assert_error(&w.seen(0)[2], code);
        assert_eq!(r.w(3), 0x8400_0060, "case {i}");
        assert_eq!(w.seen(1).len(), 1, "case {i}: B was run");
        assert_eq!(w.snapshot(), before, "case {i}");
    }
}

#[test]
fn a_cycle_of_requests_is_busy_and_changes_nothing() {
    // NW -> A -> B -> A: A is running further up the chain.
    let mut a = sp(0);
    a.direct_to = vec![SP1];
    a.behaviour = relay(req32(SP0, SP1, [1; 5]));
    let mut b = sp(1);
    b.direct_to = vec![SP0];
    b.behaviour = script(vec![
        svc(msg_wait()),
        svc(req32(SP1, SP0, [2; 5])),
        Box::new(|r, _| Act::Svc(resp32(SP1, SP0, [r.w(0), r.w(2), 0, 0, 0]))),
    ]);
    let mut w = World::boot(vec![a, b]);
    let before = w.snapshot();
    let r = w.nw(req32(NW, SP0, [0; 5]));
    assert_error(&w.seen(1)[2], ErrorCode::Busy);
    // A was entered once for the NW request, never for B's.
    assert_eq!(w.seen(0).len(), 3);
    assert_eq!(
        w.seen(0)[2],
        resp32(SP1, SP0, [0x8400_0060, ErrorCode::Busy.to_u32(), 0, 0, 0])
    );
    assert_eq!(
        r,
        resp32(
            SP0,
            NW,
            [
                FuncId::MsgSendDirectResp32.raw(),
                0,
                0x8400_0060,
                0xFFFF_FFFC,
                0
            ]
        )
    );
    assert_eq!(w.snapshot(), before);
}

#[test]
fn requests_to_a_partition_that_has_not_booted_are_busy() {
    let mut a = sp(0);
    a.direct_to = vec![SP1];
    a.behaviour = during_boot(vec![req32(SP0, SP1, [1; 5])]);
    let w = World::boot(vec![a, sp(1)]);
    assert_error(&w.seen(0)[1], ErrorCode::Busy);
    // B booted afterwards and was never given A's request.
    assert_eq!(w.seen(1).len(), 1);
    assert_eq!(w.state(0), State::Waiting);
    assert_eq!(w.state(1), State::Waiting);
}

#[test]
fn response_rules() {
    // During boot there is nothing to answer.
    let mut d = sp(0);
    d.behaviour = during_boot(vec![resp32(SP0, NW, [1; 5])]);
    let w = World::boot(vec![d]);
    assert_error(&w.seen(0)[1], ErrorCode::Denied);
    assert_eq!(w.state(0), State::Waiting);

    // While handling a 32-bit request from NW: wrong destination, wrong source, wrong form,
    // MSG_WAIT, a framework response; then the right answer ends the run.
    let mut wrong_form = req2(SP0, NW, [0; 2], [0; 14]);
    wrong_form.0[0] = FuncId::MsgSendDirectResp2.raw().into();
    wrong_form.0[2] = 0;
    let mut fwk = resp32(SP0, NW, [1; 5]);
    fwk.0[2] = 0x8000_0009;
    let attempts = vec![
        (
            resp32(SP0, EndpointId(0x0002), [1; 5]),
            ErrorCode::InvalidParameters,
        ),
        (resp32(SP1, NW, [1; 5]), ErrorCode::InvalidParameters),
        (wrong_form, ErrorCode::Denied),
        (msg_wait(), ErrorCode::Denied),
        (fwk, ErrorCode::InvalidParameters),
    ];
    let codes: Vec<ErrorCode> = attempts.iter().map(|a| a.1).collect();
    let mut steps: Vec<Step> = vec![svc(msg_wait())];
    steps.extend(attempts.into_iter().map(|a| svc(a.0)));
    steps.push(svc(resp32(SP0, NW, [7, 7, 7, 7, 7])));
    let mut d = sp(0);
    d.behaviour = script(steps);
    let mut w = World::boot(vec![d]);
    let r = w.nw(req32(NW, SP0, [0; 5]));
    assert_eq!(r, resp32(SP0, NW, [7; 5]));
    let seen = w.seen(0);
    for (i, code) in codes.iter().enumerate() {
        assert_error(&seen[2 + i], *code);
    }
    assert_eq!(w.state(0), State::Waiting);

    // A REQ2 is answered by RESP2 only.
    let mut d = sp(0);
    d.behaviour = script(vec![
        svc(msg_wait()),
        svc(resp32(SP0, NW, [1; 5])),
        Box::new(|r, _| {
            let mut out = req2(SP0, NW, [0; 2], [0; 14]);
            out.0[0] = FuncId::MsgSendDirectResp2.raw().into();
            out.0[4] = r.x(2);
            Act::Svc(out)
        }),
    ]);
    let mut w = World::boot(vec![d]);
    w.nw_version(Version::V1_2);
    let r = w.nw(req2(NW, SP0, uuid_pair(0x10), [0; 14]));
    assert_eq!(r.w(0), FuncId::MsgSendDirectResp2.raw());
    assert_eq!(r.x(4), ErrorCode::Denied.to_u32().into());
}

/// Registers beyond the direct response (x8-x17 for DIRECT_RESP) are the SP's scratch
/// registers; they must not cross to the requester.
#[test]
fn a_response_carries_only_the_message_registers() {
    let mut d = sp(0);
    d.behaviour = script(vec![
        svc(msg_wait()),
        Box::new(|_, _| {
            let mut r = resp32(SP0, NW, [1, 2, 3, 4, 5]);
            for x in &mut r.0[8..] {
                *x = 0x5EC2_E75E_C2E7_5EC2;
            }
            Act::Svc(r)
        }),
    ]);
    let mut w = World::boot(vec![d]);
    let r = w.nw(req32(NW, SP0, [0; 5]));
    assert_eq!(r, resp32(SP0, NW, [1, 2, 3, 4, 5]));
}

#[test]
fn a_fault_while_handling_a_request_aborts_only_that_partition() {
    for fault in [
        Act::Fault {
            ec: esr::EC_DABT_LOWER,
            far: 0xDEAD_0000,
        },
        Act::Fault {
            ec: esr::EC_UNKNOWN,
            far: 0,
        },
        Act::SError,
    ] {
        let mut fault = Some(fault);
        let mut d = sp(0);
        d.behaviour = script(vec![
            svc(msg_wait()),
            Box::new(move |_, _| fault.take().unwrap()),
        ]);
        let mut w = World::boot(vec![d, sp(1)]);
        assert_error(&w.nw(req32(NW, SP0, [1; 5])), ErrorCode::Aborted);
        assert_eq!(w.state(0), State::Aborted);
        assert_eq!(w.spmc.sps[0].rt.lock().request(), None);
        let runs = w.seen(0).len();
        // Later requests are ABORTED without running it.
        assert_error(&w.nw(req64(NW, SP0, [1; 5])), ErrorCode::Aborted);
        assert_eq!(w.seen(0).len(), runs);
        // Others are unaffected.
        let q = req32(NW, SP1, [3; 5]);
        assert_eq!(w.nw(q), echo_of(&q).unwrap());
    }
}

#[test]
fn a_fault_down_a_chain_is_reported_to_the_requesting_sp() {
    let mut a = sp(0);
    a.direct_to = vec![SP1];
    a.behaviour = relay(req32(SP0, SP1, [1; 5]));
    let mut b = sp(1);
    b.behaviour = script(vec![svc(msg_wait()), data_abort(0x10)]);
    let mut w = World::boot(vec![a, b]);
    let r = w.nw(req32(NW, SP0, [0; 5]));
    assert_error(&w.seen(0)[2], ErrorCode::Aborted);
    assert_eq!(
        r,
        resp32(SP0, NW, [0x8400_0060, ErrorCode::Aborted.to_u32(), 0, 0, 0])
    );
    assert_eq!(w.state(0), State::Waiting);
    assert_eq!(w.state(1), State::Aborted);
}

#[test]
fn an_interrupt_resumes_the_partition_where_it_stopped() {
    let mut d = sp(0);
    d.behaviour = script(vec![svc(msg_wait()), Box::new(|_, _| Act::Irq)]);
    let mut w = World::boot(vec![d]);
    let q = req32(NW, SP0, [4; 5]);
    assert_eq!(w.nw(q), echo_of(&q).unwrap());
    // Resumed with the same registers after the interrupt.
    let seen = w.seen(0);
    assert_eq!(&seen[1..], &[q, q]);
}

#[test]
fn an_sp_that_fails_to_boot_is_aborted_for_requests() {
    let mut d = sp(0);
    d.behaviour = script(vec![data_abort(0)]);
    let mut w = World::boot(vec![d]);
    assert_eq!(w.state(0), State::Aborted);
    assert_error(&w.nw(req32(NW, SP0, [1; 5])), ErrorCode::Aborted);
    assert_eq!(w.seen(0).len(), 1);
}

/// A partition running on another core holds its lock: the request is BUSY at once (never
/// waited for) and nothing changes.
#[test]
fn a_partition_running_elsewhere_is_busy() {
    let mut w = World::echoes(2);
    let before = w.snapshot();
    let spmc = &w.spmc;
    let env = &mut w.env;
    let guard = spmc.sps[0].rt.lock();
    let r = spmc.handle_nw_call(env, &req32(NW, SP0, [1; 5]));
    assert_error(&r, ErrorCode::Busy);
    // The other partition still answers.
    let q = req32(NW, SP1, [2; 5]);
    assert_eq!(spmc.handle_nw_call(env, &q), echo_of(&q).unwrap());
    drop(guard);
    assert_eq!(w.snapshot(), before);
    assert_eq!(w.seen(0).len(), 1);
}

/// What reaches a receiver is the message, re-encoded: upper halves of a 32-bit request's
/// registers and registers outside the message are not passed on.
#[test]
fn requests_reach_the_receiver_in_canonical_form() {
    let mut q = req32(SP0, SP1, [1, 2, 3, 4, 5]);
    for x in &mut q.0[3..8] {
        *x |= 0xDEAD_0000_0000_0000;
    }
    for x in &mut q.0[8..] {
        *x = 0x5EC2_E75E_C2E7_5EC2;
    }
    let mut a = sp(0);
    a.direct_to = vec![SP1];
    a.behaviour = relay(q);
    let mut w = World::boot(vec![a, sp(1)]);
    // A 32-bit request (the relay answers with DIRECT_RESP_32), with junk beyond x7.
    let mut nw_q = req32(NW, SP0, [7; 5]);
    nw_q.0[12] = 0x5EC2_E75E;
    w.nw(nw_q);
    let mut canonical_nw = nw_q;
    canonical_nw.0[12] = 0;
    assert_eq!(w.seen(0)[1], canonical_nw);
    assert_eq!(w.seen(1)[1], req32(SP0, SP1, [1, 2, 3, 4, 5]));
}

/// A DIRECT_REQ_64 must be answered with DIRECT_RESP_64: a 32-bit answer is refused with
/// DENIED (a response of the wrong form) and the SP stays in the request (its next, matching
/// answer ends it).
fn resp64(src: EndpointId, dst: EndpointId, args: [u64; 5]) -> Regs {
    let mut r = req64(src, dst, args);
    r.0[0] = FuncId::MsgSendDirectResp64.raw().into();
    r
}

/// Conformance decision (b): a DIRECT_RESP answers a DIRECT_REQ whatever its SMC32/SMC64 form
/// (FF-A v1.2 section 15.3 pairs RESP with REQ and RESP2 with REQ2 only; Hafnium does the same,
/// and Arm's ACS server answers a DIRECT_REQ_64 with DIRECT_RESP_32). The response arrives in
/// its own form, cleaned: a RESP_32 carries w3-w7 only.
#[test]
fn a_response_of_the_other_width_is_delivered() {
    let mut a = sp(0);
    let mut wide = resp32(SP0, NW, [1, 2, 3, 4, 5]);
    wide.0[3] |= 0xFFFF_0000_0000; // not part of a RESP_32
    a.behaviour = script(vec![
        svc(msg_wait()),
        svc(wide),
        svc(resp64(SP0, NW, [u64::MAX, 7, 8, 9, 10])),
    ]);
    let mut w = World::boot(vec![a]);
    let r = w.nw(req64(NW, SP0, [0; 5]));
    assert_eq!(r, resp32(SP0, NW, [1, 2, 3, 4, 5]));
    assert_eq!(w.state(0), State::Waiting);
    let r = w.nw(req32(NW, SP0, [0; 5]));
    assert_eq!(r, resp64(SP0, NW, [u64::MAX, 7, 8, 9, 10]));
    assert_eq!(w.state(0), State::Waiting);
}

/// policy.rs rule 1: a direct request needs the sender to declare sending. The SPMC's own
/// endpoint is no SP (no grant needed) but the sender's messaging method still applies.
#[test]
fn an_sp_that_does_not_send_direct_requests_cannot_message_the_spmc() {
    let mut d = sp(0);
    d.messaging = MessagingMethod::DIRECT_REQ_RECV;
    d.behaviour = during_boot(vec![req32(SP0, SPMC_ID, [1; 5])]);
    let w = World::boot(vec![d]);
    assert_error(&w.seen(0)[1], ErrorCode::Denied);
}

/// A fault is reported on the SPMC console with the partition's name, what it was and where.
#[test]
fn a_fault_is_reported_with_the_partition_name() {
    capture_console();
    let mut d = sp(0);
    d.name = "faulty_sp";
    d.behaviour = script(vec![svc(msg_wait()), data_abort(0xDEAD_0000)]);
    let mut w = World::boot(vec![d]);
    assert_error(&w.nw(req32(NW, SP0, [1; 5])), ErrorCode::Aborted);
    let lines = console_lines("SP faulty_sp (0x8001) aborted");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("data abort"), "{}", lines[0]);
    assert!(lines[0].contains("FAR 0xdead0000"), "{}", lines[0]);
}

/// DIRECT_REQ2 names a protocol UUID: nil, or one the receiver implements; any other is
/// INVALID_PARAMETERS and the receiver does not run.
#[test]
fn req2_to_a_uuid_the_receiver_does_not_implement_is_refused() {
    let mut w = World::boot(vec![sp(0)]);
    w.nw_version(Version::V1_2);
    let runs = w.seen(0).len();
    let r = w.nw(req2(NW, SP0, [0x1234_5678, 0x9abc_def0], [1; 14]));
    assert_error(&r, ErrorCode::InvalidParameters);
    assert_eq!(
        w.seen(0).len(),
        runs,
        "the receiver ran for a refused request"
    );
    let ok = w.nw(req2(NW, SP0, [0, 0], [1; 14]));
    assert_eq!(ok.w(0), FuncId::MsgSendDirectResp2.raw());
}

/// x8-x17 of a call reach the SPMC as TF-A v2.14+'s `spmd_smc_switch_state` passes them: for
/// an SMC64 call when both sides negotiated v1.2 or later. Otherwise they still hold the
/// SPMC's previous answer and are cleared before the call is handled, so a DIRECT_REQ2 cannot
/// carry another partition's response words; the same for an older TF-A (x0-x7 only).
#[test]
fn x8_to_x17_pass_only_as_tf_a_passes_them() {
    use crate::spmc::El3Registers;
    let mut q = req2(NW, SP0, [0, 0], [0; 14]);
    for (i, x) in q.0[8..].iter_mut().enumerate() {
        *x = 0xA5A5_0000 + i as u64;
    }
    q.0[4] = 7;
    let mut cleared = q;
    cleared.0[8..].fill(0);
    let mut w = World::boot(vec![sp(0)]);
    w.nw_version(Version::V1_2);
    w.spmc.handle_el3_call(&mut w.env, q);
    assert_eq!(w.seen(0).last(), Some(&q), "SMC64, both at v1.2: passed");
    w.spmc.platform.el3_registers = El3Registers::X0ToX7;
    w.spmc.handle_el3_call(&mut w.env, q);
    assert_eq!(
        w.seen(0).last(),
        Some(&cleared),
        "TF-A before v2.14: cleared"
    );

    // A v1.1 normal world (Linux 6.12): TF-A passes x0-x7 even of SMC64 calls.
    let rule = El3Registers::TfA2_14;
    let req64 = 0xC400_006F;
    let req32 = 0x8400_006F;
    let (v1_1, v1_2) = (Version::new(1, 1), Version::V1_2);
    assert!(rule.passes_x8_x17(req64, v1_2, v1_2));
    assert!(!rule.passes_x8_x17(req64, v1_1, v1_2));
    assert!(!rule.passes_x8_x17(req64, v1_2, v1_1));
    assert!(!rule.passes_x8_x17(req32, v1_2, v1_2));
    assert!(!El3Registers::X0ToX7.passes_x8_x17(req64, v1_2, v1_2));
}

/// The SMC32 form of a direct request never carries x8-x17, whatever the versions.
#[test]
fn x8_to_x17_of_an_smc32_call_are_cleared() {
    let mut w = World::boot(vec![sp(0)]);
    w.nw_version(Version::V1_2);
    let mut q = Regs::ZERO;
    q.0[0] = 0x8400_006F;
    q.0[1] = (u64::from(NW) << 16) | 0x8001;
    q.0[3] = 5;
    for (i, x) in q.0[8..].iter_mut().enumerate() {
        *x = 0xA5A5_0000 + i as u64;
    }
    w.spmc.handle_el3_call(&mut w.env, q);
    let mut cleared = q;
    cleared.0[8..].fill(0);
    assert_eq!(w.seen(0).last(), Some(&cleared));
}
