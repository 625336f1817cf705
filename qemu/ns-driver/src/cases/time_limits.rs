//! Time-limit cases (issue 11), on the SP set of partitions/stuck/layout.json: stuck never
//! reaches FFA_MSG_WAIT at boot (boot limit 300 ms there) and fault loops inside a request on
//! command (request limit 300 ms). The SPMC's timer aborts both; callers get FFA_ERROR(ABORTED)
//! and echo keeps answering. xtask checks the SPMC's console lines for both aborts
//! (xtask/src/time_limits.rs).
#![forbid(unsafe_code)]

use ffa_abi::{ErrorCode, FuncId, Regs};
use test_protocol::{cmd, id};

use crate::ffa::{call, expect_error, Shown};
use crate::harness::{check_eq, fail, Case, Failure, Outcome};

/// stuck's endpoint ID (partitions/stuck/stuck.dts).
const STUCK: u16 = 0x8009;

pub const CASES: &[Case] = &[
    Case::layout(
        "stuck",
        "time_limit_sp_stuck_at_boot_contained",
        stuck_at_boot,
    ),
    Case::layout(
        "stuck",
        "time_limit_sp_looping_in_a_request_contained",
        looping_request,
    ),
];

fn req(dst: u16, words: &[u64]) -> Regs {
    let mut a = [0u64; 7];
    a[0] = u64::from(dst);
    a[2..2 + words.len()].copy_from_slice(words);
    call(FuncId::MsgSendDirectReq64, &a)
}

fn echo_answers() -> Result<(), Failure> {
    let r = req(id::ECHO, &[0x1234, 5]);
    if r.w(0) != FuncId::MsgSendDirectResp64.raw() || r.w(1) != u32::from(id::ECHO) << 16 {
        fail!("echo: want its response, got {}", Shown(&r));
    }
    check_eq!([r.x(3), r.x(4)], [0x1234, 5], "echo's payload");
    Ok(())
}

fn stuck_at_boot() -> Outcome {
    // Boot went on past stuck (this world runs), stuck was aborted at its boot limit.
    expect_error(&req(STUCK, &[1]), ErrorCode::Aborted, "request to stuck")?;
    echo_answers()
}

fn looping_request() -> Outcome {
    // fault loops inside this request until its 300 ms limit aborts it: the request is
    // answered with ABORTED, not never.
    expect_error(
        &req(id::FAULT, &[cmd::LOOP.into()]),
        ErrorCode::Aborted,
        "LOOP to fault",
    )?;
    expect_error(
        &req(id::FAULT, &[cmd::ID.into()]),
        ErrorCode::Aborted,
        "fault after its abort",
    )?;
    echo_answers()
}
