//! Time-limit cases (issue 11), on the SP set of partitions/stuck/layout.json: stuck never
//! reaches FFA_MSG_WAIT at boot (boot limit 300 ms there) and fault loops inside a request on
//! command (request limit 300 ms). The SPMC's timer aborts both; callers get FFA_ERROR(ABORTED)
//! and echo keeps answering; fault, whose manifest here asks for it, is restarted from its
//! image. xtask checks the SPMC's console lines for both aborts and the restart
//! (xtask/src/time_limits.rs). The boot limit runs on the boot core; the looping request is
//! sent from a secondary core that went through CPU_OFF and CPU_ON, because EL3 (TF-A's
//! qemu_sbsa, and qemu/monitor like it) resets that core's GIC redistributor at CPU_ON and the
//! SPMC must make its timer interrupt secure again there.
#![forbid(unsafe_code)]

use ffa_abi::{EndpointId, ErrorCode, FuncId, Regs};
use test_protocol::{cmd, id};

use crate::cases::foundation::{power_cycle, power_down_suspend};
use crate::ffa::{call, expect_error, Shown};
use crate::harness::{check_eq, fail, Case, Failure, Outcome};
use crate::stress::{run_job, up_cores, JOB_REQ64};

/// stuck's endpoint ID (partitions/stuck/stuck.dts).
const STUCK: EndpointId = EndpointId(0x8009);

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
    )
    .after(&["cpu_on_all_secondaries"]),
    Case::layout(
        "stuck",
        "time_limit_holds_after_a_power_down_suspend",
        after_power_down_suspend,
    )
    .after(&["time_limit_sp_looping_in_a_request_contained"]),
];

fn req(dst: EndpointId, words: &[u64]) -> Regs {
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
    // answered with ABORTED, not never. It runs on a secondary core that was just turned off
    // and on again, so the limit works only if the SPMC set its timer interrupt up again
    // after the core's redistributor was reset.
    let Some(&core) = up_cores().first() else {
        fail!("no secondary core is up (run with -smp 2 or more)");
    };
    power_cycle(core)?;
    let loop_req = u64::from(id::FAULT) | u64::from(cmd::LOOP) << 32;
    let Some(w) = run_job(core, JOB_REQ64, loop_req, 10_000) else {
        fail!("core {core}: the LOOP request to fault was not answered within 10 s");
    };
    let mut r = Regs::ZERO;
    r.0[..6].copy_from_slice(&w);
    expect_error(
        &r,
        ErrorCode::Aborted,
        "LOOP to fault from a re-powered core",
    )?;
    // Its manifest here asks for a restart from its image (partitions/stuck/fault-restart.dts),
    // so it answers again afterwards.
    let r = req(id::FAULT, &[cmd::ID.into()]);
    if r.w(0) != FuncId::MsgSendDirectResp64.raw() {
        fail!(
            "fault after its abort and restart: want its response, got {}",
            Shown(&r)
        );
    }
    check_eq!(
        [r.x(3), r.x(4)],
        [0, u64::from(id::FAULT)],
        "fault's ID answer"
    );
    echo_answers()
}

/// fault's answer to ID, sent from `core`.
fn fault_id_from(core: usize) -> Outcome {
    let id_req = u64::from(id::FAULT) | u64::from(cmd::ID) << 32;
    let Some(w) = run_job(core, JOB_REQ64, id_req, 5000) else {
        fail!("core {core}: fault did not answer ID within 5 s");
    };
    check_eq!(
        [w[0], w[3], w[4]],
        [
            FuncId::MsgSendDirectResp64.raw().into(),
            0,
            u64::from(id::FAULT)
        ],
        "fault's answer to ID"
    );
    Ok(())
}

fn after_power_down_suspend() -> Outcome {
    // A time-limited run on the core first (fault's ID request, 300 ms limit), so that the
    // SPMC has armed its timer there; then the core goes through a CPU_SUSPEND power-down,
    // which loses the timer's state (qemu/monitor drops it as the hardware may; TF-A tells the
    // SPMC nothing of it). An SPMC that trusted its own record of the armed timer would not
    // arm it for the next request and fault's loop would hold the core for ever (review 5,
    // F1): it must be answered ABORTED.
    let Some(&core) = up_cores().first() else {
        fail!("no secondary core is up (run with -smp 2 or more)");
    };
    fault_id_from(core)?;
    power_down_suspend(core)?;
    let loop_req = u64::from(id::FAULT) | u64::from(cmd::LOOP) << 32;
    let Some(w) = run_job(core, JOB_REQ64, loop_req, 10_000) else {
        fail!("core {core}: the LOOP request to fault after a power-down suspend was not answered within 10 s");
    };
    let mut r = Regs::ZERO;
    r.0[..6].copy_from_slice(&w);
    expect_error(
        &r,
        ErrorCode::Aborted,
        "LOOP to fault after a power-down suspend",
    )?;
    // Restarted from its image again, it answers.
    fault_id_from(core)?;
    echo_answers()
}
