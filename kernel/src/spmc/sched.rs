//! Scheduling ABIs (FF-A v1.2 chapter 8 and section 13.x): FFA_RUN from the normal world, and
//! FFA_YIELD from a partition. Both only ever concern a request the normal world sent (NWd
//! scheduled mode): the SPMC schedules nothing on its own.
//!
//! FFA_RUN (normal world only; partitions get NOT_SUPPORTED from the ABI table: this SPMC gives
//! S-EL0 partitions no way to allocate CPU cycles to each other). w1 = endpoint ID << 16 |
//! vCPU ID of a partition that was preempted or yielded (what FFA_INTERRUPT/FFA_YIELD named).
//! INVALID_PARAMETERS: the endpoint is not a partition, or the vCPU ID is not one of its
//! execution contexts (S-EL0 partitions have one, ID 0). BUSY: the context is running (on
//! another core). ABORTED: the partition was aborted (as Hafnium answers). A partition waiting
//! for a message gets the cycles: it is entered with FFA_RUN (w1-w17 zero) and its
//! FFA_MSG_WAIT ends the normal world's FFA_RUN with FFA_MSG_WAIT, as Hafnium does
//! (src/api.c `api_vcpu_prepare_run`, src/ffa/spmc/cpu_cycles.c `ffa_msg_wait_complete`): how a
//! scheduler runs a receiver the schedule-receiver interrupt named. DENIED: any other state:
//! initialising, or blocked on its own request to a partition that was preempted (the normal
//! world must resume that one: it is the one FFA_INTERRUPT named).
//!
//! FFA_YIELD (partitions only). Allowed while handling a request the normal world sent: the
//! context is Preempted, the normal world gets FFA_YIELD (w1 = its ID and vCPU 0, w2/w3 = the
//! timeout the partition passed) and resumes it with FFA_RUN, when the partition's FFA_YIELD
//! returns FFA_SUCCESS. DENIED while initialising (FF-A v1.2 section 8.3, rule 4 of the SP
//! initialisation runtime model; Hafnium does the same), and while handling a request from
//! another partition: FF-A returns the cycles to that partition, which could only resume the
//! yielder with FFA_RUN, which this SPMC does not offer partitions.

use super::call::{Caller, Cx, Flow};
use super::partition::Sp;
use super::partition::{Phase, Preemption, RunEnd, State};
use super::{Env, Spmc};
use ffa_abi::endpoint::TargetInfo;
use ffa_abi::error::ErrorCode;
use ffa_abi::interface::Interface;
use ffa_abi::regs::Regs;

/// FFA_YIELD. (FFA_RUN runs partitions, which handlers never do: the dispatcher takes it
/// before the handlers, `dispatch::run_for_nw`, and asks [`run_target`] what it may run; a
/// partition's FFA_RUN is refused by the ABI table.)
pub fn handle<'s, E: Env>(cx: &mut Cx<'s, '_, E>, call: &Interface, out: &mut Regs) -> Flow<'s> {
    match call {
        Interface::Yield { .. } => yield_cycles(cx, out),
        _ => reply(out, ErrorCode::NotSupported),
    }
}

fn reply<'s>(out: &mut Regs, e: ErrorCode) -> Flow<'s> {
    *out = Regs::error(e);
    Flow::Reply
}

/// The partition FFA_RUN from the normal world names in w1, if it names one of a partition's
/// execution contexts (its state is checked under its lock, [`run_refusal`]).
pub fn run_target(spmc: &Spmc, target: TargetInfo) -> Result<&Sp, ErrorCode> {
    let idx = spmc
        .table
        .index_of(target.endpoint)
        .ok_or(ErrorCode::InvalidParameters)?;
    let sp = &spmc.sps[idx];
    if target.vcpu >= sp.desc.execution_ctx_count {
        return Err(ErrorCode::InvalidParameters);
    }
    Ok(sp)
}

/// The error FFA_RUN gets for a partition in `state` that it cannot resume.
pub fn run_refusal(state: State) -> ErrorCode {
    match state {
        State::Running => ErrorCode::Busy,
        State::Aborted => ErrorCode::Aborted,
        _ => ErrorCode::Denied,
    }
}

/// FFA_YIELD. Its timeout (w2/w3) stays in the partition's registers, where
/// `partition::suspension_regs` reads it for the normal world.
fn yield_cycles<'s, E: Env>(cx: &mut Cx<'s, '_, E>, out: &mut Regs) -> Flow<'s> {
    let Caller::Sp(_, rt) = &mut cx.caller else {
        return reply(out, ErrorCode::NotSupported);
    };
    if rt.interrupt().is_some() {
        // Handling a secure interrupt the SPMC gave it cycles for: there is no one to yield
        // to, and a timeout is only a hint, so the call returns at once (Hafnium's choice,
        // src/ffa/spmc/cpu_cycles.c `ffa_cpu_cycles_yield_prepare`).
        *out = Regs::success_w2(0);
        return Flow::Reply;
    }
    // A request the normal world sent, or cycles it gave with FFA_RUN (Hafnium lets a
    // partition in that runtime model yield, `ffa_cpu_cycles_yield_prepare`).
    let from_nw = rt.nw_run() || rt.request().is_some_and(|r| !r.sender.is_secure());
    if !from_nw {
        return reply(out, ErrorCode::Denied);
    }
    match rt.phase() {
        Phase::Running(r) => r.preempt(Preemption::Yield),
        _ => return reply(out, ErrorCode::Denied),
    }
    Flow::End(RunEnd::Suspended)
}
