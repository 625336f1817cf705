//! Direct messaging (FF-A v1.2 chapter 15): FFA_MSG_SEND_DIRECT_REQ/RESP (32/64) and
//! DIRECT_REQ2/RESP2, from the normal world to SPs and between SPs.
//!
//! Errors, all returned without changing any state: a malformed or forged source ID is
//! INVALID_PARAMETERS, an unknown destination INVALID_PARAMETERS, a destination or sender whose
//! manifest or grants do not allow the message DENIED (decided by `policy`), a destination that
//! is running or is waiting on a request of its own (which includes every cycle of requests)
//! BUSY, an aborted destination ABORTED.

use super::partition::{set_regs, PendingRequest, RunEnd, Runtime, Sp, State, Step};
use super::{Env, Spmc};
use crate::policy::{self, DirectForm};
use ffa_abi::endpoint::EndpointPair;
use ffa_abi::error::ErrorCode;
use ffa_abi::func_id::FuncId;
use ffa_abi::regs::Regs;

/// Which request/response pair a message belongs to.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Form {
    /// DIRECT_REQ / DIRECT_RESP (32 or 64).
    Req,
    /// DIRECT_REQ2 / DIRECT_RESP2.
    Req2,
}

impl Form {
    fn policy(self) -> DirectForm {
        match self {
            Form::Req => DirectForm::Req,
            Form::Req2 => DirectForm::Req2,
        }
    }
}

/// Tells whether a message is an SMC64 call (bit 30 of the function ID).
fn is_64(regs: &Regs) -> bool {
    regs.w(0) & (1 << 30) != 0
}

/// Checks the protocol UUID of a DIRECT_REQ2 (x2/x3): nil, or one the receiver implements
/// (FF-A v1.2 section 15.4).
fn req2_uuid_ok(regs: &Regs, target: &spmc_table::Partition) -> bool {
    let uuid = ffa_abi::uuid::Uuid::from_u64_pair([regs.x(2), regs.x(3)]);
    uuid.is_nil() || target.has_uuid(spmc_table::Uuid(uuid.0))
}

/// The SPMC's own endpoint answers direct requests by echoing them: the cheapest round trip
/// through the SPMC (used by `cargo xtask bench`), and a liveness check for clients.
fn spmc_echo(regs: &Regs, pair: EndpointPair, form: Form) -> Regs {
    let mut r = *regs;
    r.0[0] = match form {
        Form::Req if regs.w(0) == FuncId::MsgSendDirectReq64.raw() => {
            FuncId::MsgSendDirectResp64.raw()
        }
        Form::Req => FuncId::MsgSendDirectResp32.raw(),
        Form::Req2 => FuncId::MsgSendDirectResp2.raw(),
    }
    .into();
    r.0[1] = pair.reversed().pack().into();
    if form == Form::Req2 {
        // RESP2 has no UUID: x2-x3 are reserved.
        r.0[2] = 0;
        r.0[3] = 0;
    }
    r
}

/// A direct request from the normal world.
pub fn nw_request(
    spmc: &Spmc,
    env: &mut impl Env,
    regs: &Regs,
    pair: EndpointPair,
    form: Form,
) -> Regs {
    if pair.source.is_secure() {
        return Regs::error(ErrorCode::InvalidParameters);
    }
    if pair.destination.0 == spmc.id {
        return spmc_echo(regs, pair, form);
    }
    let Some(idx) = spmc
        .table
        .index_of(spmc_table::EndpointId(pair.destination.0))
    else {
        return Regs::error(ErrorCode::InvalidParameters);
    };
    let target = &spmc.sps[idx];
    if let Err(e) = policy::may_send_direct(None, target.desc, form.policy()) {
        return Regs::error(e);
    }
    if form == Form::Req2 && !req2_uuid_ok(regs, target.desc) {
        return Regs::error(ErrorCode::InvalidParameters);
    }
    deliver(spmc, env, target, regs, pair.source.0, form)
}

/// A direct request from SP `sp` to another SP.
pub fn sp_request(
    spmc: &Spmc,
    env: &mut impl Env,
    sp: &Sp,
    regs: &Regs,
    pair: EndpointPair,
    form: Form,
) -> Regs {
    if pair.source.0 != sp.id() || pair.destination.0 == sp.id() {
        return Regs::error(ErrorCode::InvalidParameters);
    }
    if pair.destination.0 == spmc.id {
        if let Err(e) = policy::may_send_direct_to_spmc(sp.desc, form.policy()) {
            return Regs::error(e);
        }
        return spmc_echo(regs, pair, form);
    }
    let Some(idx) = spmc
        .table
        .index_of(spmc_table::EndpointId(pair.destination.0))
    else {
        // Includes normal-world destinations: SPs cannot send direct requests to them.
        return Regs::error(ErrorCode::InvalidParameters);
    };
    let target = &spmc.sps[idx];
    if let Err(e) = policy::may_send_direct(Some(sp.desc), target.desc, form.policy()) {
        return Regs::error(e);
    }
    if form == Form::Req2 && !req2_uuid_ok(regs, target.desc) {
        return Regs::error(ErrorCode::InvalidParameters);
    }
    deliver(spmc, env, target, regs, sp.id(), form)
}

/// Runs `target` with the request until it responds. Never waits: a partition whose state is
/// locked or not waiting is BUSY.
pub fn deliver(
    spmc: &Spmc,
    env: &mut impl Env,
    target: &Sp,
    regs: &Regs,
    sender: u16,
    form: Form,
) -> Regs {
    let Some(mut rt) = target.rt.try_lock() else {
        return Regs::error(ErrorCode::Busy);
    };
    match rt.state {
        State::Waiting => {}
        State::Aborted => return Regs::error(ErrorCode::Aborted),
        _ => return Regs::error(ErrorCode::Busy),
    }
    rt.state = State::Running;
    rt.request = Some(PendingRequest {
        sender,
        form,
        wide: is_64(regs),
    });
    set_regs(&mut rt, regs);
    match spmc.run(env, target, &mut rt) {
        RunEnd::Response(r) => {
            rt.state = State::Waiting;
            rt.request = None;
            r
        }
        RunEnd::Aborted => Regs::error(ErrorCode::Aborted),
        RunEnd::InitDone => {
            rt.state = State::Aborted;
            Regs::error(ErrorCode::Aborted)
        }
    }
}

/// A direct response from SP `sp`: ends its run if it answers the request it is handling.
pub fn sp_response(sp: &Sp, rt: &mut Runtime, regs: &Regs, pair: EndpointPair, form: Form) -> Step {
    if pair.source.0 != sp.id() {
        return Step::Return(Regs::error(ErrorCode::InvalidParameters));
    }
    match rt.request {
        Some(req) if req.sender == pair.destination.0 && req.form == form => {
            // A DIRECT_REQ_64 is answered with DIRECT_RESP_64, a _32 with _32: another width is
            // a response of the wrong form (DENIED, as for RESP2 to a REQ).
            if req.wide != is_64(regs) {
                return Step::Return(Regs::error(ErrorCode::Denied));
            }
            Step::End(RunEnd::Response(*regs))
        }
        Some(req) if req.sender != pair.destination.0 => {
            Step::Return(Regs::error(ErrorCode::InvalidParameters))
        }
        // Responding while handling no request, or with the wrong form.
        _ => Step::Return(Regs::error(ErrorCode::Denied)),
    }
}
