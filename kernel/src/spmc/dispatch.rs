//! The FF-A dispatcher: every call, from the normal world (forwarded by the SPMD) or from a
//! partition, comes in here, is checked against the ABI table for its caller, decoded once
//! at the caller's FF-A version, and routed to the one handler of its ABI family; the
//! dispatcher then does what the handler returned (`call::Flow`): answer, deliver a direct
//! message and run its receiver, or end the calling partition's run.
//!
//! Where each ABI is handled (`route` below is the same table as code):
//!
//! | ABI (FF-A v1.2 name) | handler |
//! |---|---|
//! | FFA_VERSION | `version::handle` |
//! | FFA_FEATURES, FFA_ID_GET, FFA_SPM_ID_GET, FFA_PARTITION_INFO_GET(_REGS) | `setup::handle` |
//! | FFA_RXTX_MAP, FFA_RXTX_UNMAP, FFA_RX_RELEASE | `setup::handle` |
//! | FFA_MSG_SEND_DIRECT_REQ/RESP (32/64), FFA_MSG_SEND_DIRECT_REQ2/RESP2 | `direct::handle` |
//! | framework messages (DIRECT_REQ with w2 bit 31, from the SPMD) | `framework::handle` (via `direct`) |
//! | FFA_MSG_WAIT, FFA_CONSOLE_LOG, FFA_MEM_PERM_GET/SET | `sp_services::handle` |
//! | FFA_RUN, FFA_YIELD | `sched::handle` |
//! | FFA_MEM_SHARE/LEND/DONATE, FFA_MEM_FRAG_TX/RX, FFA_MEM_RETRIEVE_REQ, FFA_MEM_RELINQUISH, FFA_MEM_RECLAIM | `memory::handle` |
//! | FFA_NOTIFICATION_BITMAP_CREATE/DESTROY, _BIND/_UNBIND, _SET/_GET, _INFO_GET | `notify::handle` |
//! | FFA_MSG_SEND2, FFA_MSG_SEND, FFA_MSG_POLL (v1.0), FFA_RX_ACQUIRE | `indirect::handle` |
//!
//! Every handler has the signature described in `call.rs`. Handlers never run a partition and
//! never import this module: a direct request comes back as `Flow::Deliver`, and the run of
//! the receiver (with the nested calls it makes) happens here, so the import graph of the
//! kernel has no circle. FFA_RUN, which runs partitions, is the dispatcher's own (`resume`;
//! `sched::run_target` checks its target).
//!
//! Preemption (docs/architecture.md, "Scheduling"): a run that ends `RunEnd::Suspended` (a
//! non-secure interrupt, or FFA_YIELD) unwinds its call chain: each partition that was waiting
//! on the Rust stack for the suspended one's response becomes Blocked, its lock is released,
//! and the normal world gets FFA_INTERRUPT or FFA_YIELD. FFA_RUN later resumes the suspended
//! partition and, as each response arrives, the partition Blocked on it (`resume`).
//!
//! Registers are handled in place: a normal-world call is answered in the block it came in;
//! a partition's call is read from its saved context, and a direct message is copied once
//! into the receiver's context and its response once back (`direct::copy_message`).

use super::call::{Caller, Cx, Flow, Target};
use super::partition::{suspension_regs, PendingRequest, Phase, RunEnd, Runtime, Sp, State};
use super::{
    abi_table, direct, indirect, interrupt, memory, notify, run, sched, setup, sp_services,
    time_limit, version, Env, Spmc,
};
use crate::policy;
use core::sync::atomic::Ordering;
use ffa_abi::endpoint::EndpointId;
use ffa_abi::error::{DecodeError, ErrorCode};
use ffa_abi::func_id::FuncId;
use ffa_abi::interface::{Interface, MemTxArgs};
use ffa_abi::regs::Regs;
use ffa_abi::version::Version;

/// Routes one decoded call to the handler of its ABI family.
fn route<'s, E: Env>(cx: &mut Cx<'s, '_, E>, call: &Interface, out: &mut Regs) -> Flow<'s> {
    match call {
        Interface::Version { .. } => version::handle(cx, call, out),
        Interface::DirectReq { .. }
        | Interface::DirectReq2 { .. }
        | Interface::DirectResp { .. }
        | Interface::DirectResp2 { .. } => direct::handle(cx, call, out),
        Interface::MemShare(_)
        | Interface::MemLend(_)
        | Interface::MemDonate(_)
        | Interface::MemFragTx { .. }
        | Interface::MemFragRx { .. }
        | Interface::MemRetrieveReq(_)
        | Interface::MemRelinquish
        | Interface::MemReclaim { .. } => memory::handle(cx, call, out),
        Interface::MsgWait { .. }
        | Interface::ConsoleLog(_)
        | Interface::MemPermGet { .. }
        | Interface::MemPermSet { .. } => sp_services::handle(cx, call, out),
        Interface::NotificationBitmapCreate { .. }
        | Interface::NotificationBitmapDestroy { .. }
        | Interface::NotificationBind { .. }
        | Interface::NotificationUnbind { .. }
        | Interface::NotificationSet { .. }
        | Interface::NotificationGet { .. }
        | Interface::NotificationInfoGet { .. } => notify::handle(cx, call, out),
        Interface::MsgSend2 { .. }
        | Interface::MsgSend { .. }
        | Interface::MsgPoll
        | Interface::RxAcquire { .. } => indirect::handle(cx, call, out),
        Interface::Run { .. } | Interface::Yield { .. } => sched::handle(cx, call, out),
        _ => setup::handle(cx, call, out),
    }
}

/// Decodes a call the ABI table lists for the caller, at the caller's version, straight from
/// its registers (the normal world's block, or the partition's saved context). Registers the
/// ABI does not use are reserved (SBZ) and ignored; reserved bits inside the registers it uses
/// are refused (docs/abi-status.md, conformance decision (a)). The result is borrowed by the
/// handlers, never moved.
fn decode(
    fid: FuncId,
    x: &[u64; 18],
    version: Version,
    sp: bool,
) -> Result<Interface, DecodeError> {
    if fid == FuncId::Version {
        // FFA_VERSION is not checked like other calls: its NOT_SUPPORTED goes in w0 itself.
        let w1 = x[1] as u32;
        return match Version::decode(w1) {
            Some(requested) => Ok(Interface::Version { requested }),
            None => Err(DecodeError::InvalidVersion(w1)),
        };
    }
    // FFA_CONSOLE_LOG is a v1.2 ABI that v1.1 partitions (Trusted Services among them) use
    // anyway, and OP-TEE's SPMC accepts it from them: so do we.
    let at = if sp
        && matches!(fid, FuncId::ConsoleLog32 | FuncId::ConsoleLog64)
        && !fid.is_available_in(version)
    {
        Version::V1_2
    } else {
        version
    };
    Interface::decode_words_sbz_ignored(x, at)
}

/// The answer to a call that did not decode.
fn refuse(fid: FuncId, e: &DecodeError, out: &mut Regs) {
    if fid == FuncId::Version {
        version::refuse(out);
    } else {
        *out = Regs::error(e.error_code());
    }
}

/// Handles one call from the normal world; the answer replaces it in `io`.
pub fn nw_call<E: Env>(spmc: &Spmc, env: &mut E, io: &mut Regs) {
    let version = spmc.nw_version();
    // The message path: direct requests are recognised by `direct::kind_of` (what the ABI
    // table implements for the normal world, without its walk), decoded by
    // `direct::decode_kind` and handled by `direct::handle_msg`, the same checks as the
    // general path without building the general `Interface` (docs/performance.md).
    let fast = match direct::kind_of(io.w(0), false) {
        Some(kind) => direct::decode_kind(kind, &io.0, version),
        None => None,
    };
    let mut cx = Cx {
        spmc,
        env,
        caller: Caller::NormalWorld,
        version,
    };
    let flow = match fast {
        Some(Ok(msg)) => match direct::handle_msg(&mut cx, &msg) {
            Ok(flow) => flow,
            Err(e) => {
                *io = Regs::error(e);
                return;
            }
        },
        Some(Err(e)) => {
            *io = Regs::error(e);
            return;
        }
        // The memory path, on the message path's model: FFA_MEM_SHARE/LEND/DONATE are
        // recognised from w0 (the ABI table implements all six for every caller, at every
        // version), their w1-w4 read by ffa-abi's `MemTxArgs::decode` (the general decoder's
        // reading of them) and the answer written into `io`, without building the general
        // `Interface` (docs/performance.md).
        None => match memory::send_fid(io.w(0)) {
            Some(fid) => {
                match MemTxArgs::decode(&io.0, fid.is_64bit()) {
                    Ok(args) => {
                        memory::send_into(spmc, cx.env, &mut cx.caller, fid, args, version, io)
                    }
                    Err(e) => return refuse(fid, &e, io),
                }
                Flow::Reply
            }
            None => {
                // Whether the ABI exists here is decided before its arguments are looked at:
                // an unimplemented ABI is NOT_SUPPORTED whatever its registers hold.
                let Some(fid) = abi_table::implemented_fid(io.w(0), policy::Caller::NormalWorld)
                else {
                    *io = Regs::error(ErrorCode::NotSupported);
                    return;
                };
                if fid == FuncId::Run32 {
                    run_for_nw(spmc, cx.env, io);
                    deliver_interrupts(spmc, cx.env);
                    // A partition given cycles may have set notifications with the SRI delayed.
                    spmc.notify.on_return_to_nw(cx.env);
                    return;
                }
                let decoded = decode(fid, &io.0, version, false);
                let call = match &decoded {
                    Ok(c) => c,
                    Err(e) => return refuse(fid, e, io),
                };
                route(&mut cx, call, io)
            }
        },
    };
    match flow {
        Flow::Reply => {}
        Flow::Deliver {
            target,
            sender,
            form,
        } => {
            // A suspended receiver leaves FFA_INTERRUPT or FFA_YIELD in `io`.
            deliver::<E, false>(spmc, cx.env, target, sender, form, &mut io.0);
        }
        // Only a partition's own calls end its run (the table keeps MSG_WAIT and the
        // responses to partitions).
        Flow::End(_) => *io = Regs::error(ErrorCode::NotSupported),
    }
    deliver_interrupts(spmc, cx.env);
    // A schedule-receiver interrupt a partition delayed is raised on the way back.
    spmc.notify.on_return_to_nw(cx.env);
}

/// FFA_INTERRUPT from EL3: a secure interrupt preempted the normal world. Takes it, runs the
/// handlers of waiting owners, and answers FFA_NORMAL_WORLD_RESUME (an owner that is busy gets
/// its interrupt when it next waits).
pub fn el3_interrupt<E: Env>(spmc: &Spmc, env: &mut E, io: &mut Regs) {
    if interrupt::take_all(spmc, env) {
        // The SPMC's timer while the normal world runs: no run is in progress on this core,
        // so nothing has expired (a stray interrupt, e.g. one raised as a run ended); set
        // again for the deadline in force, if any (none while the normal world runs).
        env.deadline_swap(env.deadline());
    }
    deliver_interrupts(spmc, env);
    spmc.notify.on_return_to_nw(env);
    io.0 = interrupt::normal_world_resume();
}

/// Runs the handlers of the waiting partitions that have interrupts pending. A partition whose
/// lock is taken (running here or on another core) is skipped: it gets its interrupts when it
/// next waits. Costs one load when nothing is pending.
pub fn deliver_interrupts<E: Env>(spmc: &Spmc, env: &mut E) {
    if spmc.irq_pending.load(Ordering::Acquire) == 0 {
        return;
    }
    for sp in &spmc.sps {
        if sp.irq.is_empty() {
            continue;
        }
        if let Some(mut rt) = sp.rt.try_lock() {
            run_interrupt_handlers(spmc, env, sp, &mut rt);
        }
    }
}

/// Enters `sp` (locked by the caller) with FFA_INTERRUPT for each interrupt pending for it,
/// while it waits, and unmasks each one it finishes handling (FFA_MSG_WAIT). One that faults
/// while handling is aborted and its interrupt stays masked.
pub fn run_interrupt_handlers<E: Env>(spmc: &Spmc, env: &mut E, sp: &Sp, rt: &mut Runtime) {
    while let Some((intid, cores)) = interrupt::next_for(spmc, sp, rt) {
        let Phase::Waiting(w) = rt.phase() else {
            return;
        };
        w.begin_interrupt(intid, cores);
        *call_regs(rt) = interrupt::signal(intid);
        match run_sp(spmc, env, sp, rt) {
            RunEnd::InterruptDone => {
                if let Phase::Running(r) = rt.phase() {
                    if let Some((id, on)) = r.end_interrupt() {
                        interrupt::unmask_on(env, id, on);
                    }
                }
            }
            RunEnd::Aborted => {
                // Its interrupt stays masked (unmasked by a restart, lifecycle.rs).
                restart_after_abort(spmc, env, sp, rt);
                return;
            }
            // Not reachable: no request is pending and it has booted (and a partition handling
            // an interrupt is not preemptible, `run::preemptible`).
            RunEnd::Response | RunEnd::InitDone | RunEnd::Suspended | RunEnd::Idle => {
                abort_sp(spmc, sp, rt);
                restart_after_abort(spmc, env, sp, rt);
                return;
            }
        }
    }
}

/// Runs `sp` until its run ends: initialisation done, the response to its pending request,
/// or a fault. Its FF-A calls on the way are handled here, nested direct requests included.
pub fn run_sp<E: Env>(spmc: &Spmc, env: &mut E, sp: &Sp, rt: &mut Runtime) -> RunEnd {
    // A run the normal world cannot preempt has a deadline on the SPMC's timer; a nested run
    // sets its own and gives the caller's back when it ends (time_limit.rs).
    let limit = time_limit::for_run(spmc.platform.time_limits, sp, rt);
    let outer = limit.map(|(_, ms)| {
        let d = time_limit::deadline(env, ms);
        env.deadline_swap(Some(d))
    });
    let end = run_sp_until(spmc, env, sp, rt, limit);
    if let Some(d) = outer {
        env.deadline_swap(d);
    }
    if end == RunEnd::Aborted {
        // It faulted or ran out of time: what it had pending goes with it.
        indirect::drop_aborted(spmc, sp, rt);
    }
    end
}

/// Aborts `sp` (locked by the caller) for breaking the protocol, and drops its notification and
/// indirect-messaging state (`indirect::drop_aborted`; a run that ends in a fault or a time
/// limit does the same in [`run_sp`]).
#[cold]
pub fn abort_sp(spmc: &Spmc, sp: &Sp, rt: &mut Runtime) {
    rt.abort();
    indirect::drop_aborted(spmc, sp, rt);
}

fn run_sp_until<E: Env>(
    spmc: &Spmc,
    env: &mut E,
    sp: &Sp,
    rt: &mut Runtime,
    limit: Option<(time_limit::Kind, u32)>,
) -> RunEnd {
    loop {
        match run::until_call(env, sp, rt) {
            run::Stop::Aborted => return RunEnd::Aborted,
            run::Stop::Interrupt => {
                if interrupted(spmc, env, sp, rt, limit) {
                    return RunEnd::Aborted;
                }
                continue;
            }
            run::Stop::NsInterrupt => {
                if let Phase::Running(r) = rt.phase() {
                    r.preempt(super::partition::Preemption::Interrupt);
                }
                return RunEnd::Suspended;
            }
            run::Stop::Call => {}
        }
        if let Some(end) = sp_call(spmc, env, sp, rt) {
            return end;
        }
    }
}

/// An IRQ stopped `sp` (locked by the caller) in a run with `limit`: takes the secure
/// interrupts pending on this core. Returns true if `sp` was aborted for its time limit.
/// Out of line: the message path never comes here.
#[cold]
#[inline(never)]
fn interrupted<E: Env>(
    spmc: &Spmc,
    env: &mut E,
    sp: &Sp,
    rt: &mut Runtime,
    limit: Option<(time_limit::Kind, u32)>,
) -> bool {
    // The SPMC's timer: the deadline of this run (or of the run that called it) may have
    // passed, and `sp` is what holds the core (an interrupt before the deadline in force, if
    // one ever comes, is no expiry: `time_limit::expired`).
    if interrupt::take_all(spmc, env) {
        let expired = time_limit::expired(env);
        let late = env.now().wrapping_sub(env.deadline().unwrap_or(0));
        // Taking the timer's interrupt masked it: set it again, for this run or (once this
        // one is aborted) for the run that called it.
        env.deadline_swap(env.deadline());
        if expired {
            run::abort_time_limit(sp, rt, limit, late);
            return true;
        }
    }
    // A secure interrupt preempted `sp`: record it for its owner; a waiting owner handles it
    // now unless `sp` asked for other secure interrupts to be queued while it runs (manifest
    // `other-s-interrupts-action` = 0; FF-A v1.2 section 8.3.1). Then `sp` resumes.
    if sp.desc.other_s_interrupts_action != Some(spmc_table::OtherSInterruptsAction::Queued) {
        deliver_interrupts(spmc, env);
    }
    false
}

/// x0-x17 of a partition's saved context: its call, and where its answer goes.
fn call_regs(rt: &mut Runtime) -> &mut [u64; 18] {
    rt.regs
        .x
        .first_chunk_mut::<18>()
        .expect("x0-x30 holds x0-x17")
}

/// Handles one FF-A call the partition made; `Some` if it ends the partition's run.
fn sp_call<E: Env>(spmc: &Spmc, env: &mut E, sp: &Sp, rt: &mut Runtime) -> Option<RunEnd> {
    let version = rt.version;
    let w0 = call_regs(rt)[0] as u32;
    let is_version = w0 == FuncId::Version.raw();
    // The message path, as in `nw_call`: an error is written straight into the partition's
    // registers below, so no answer block is cleared on the way.
    let fast = match direct::kind_of(w0, true) {
        Some(kind) => direct::decode_kind(kind, call_regs(rt), version),
        None => None,
    };
    let flow = match fast {
        // Its response ends the run: no handler context to build.
        Some(Ok(direct::Msg {
            pair,
            kind: direct::Kind::Resp,
            ..
        })) => direct::sp_response(sp, rt, pair, policy::DirectForm::Req),
        Some(Ok(direct::Msg {
            pair,
            kind: direct::Kind::Resp2,
            ..
        })) => direct::sp_response(sp, rt, pair, policy::DirectForm::Req2),
        Some(Ok(msg)) => direct::handle_msg(
            &mut Cx {
                spmc,
                env: &mut *env,
                caller: Caller::Sp(sp, &mut *rt),
                version,
            },
            &msg,
        ),
        Some(Err(e)) => Err(e),
        None => match abi_table::implemented_fid(w0, policy::Caller::Sp(sp.index)) {
            None => Err(ErrorCode::NotSupported),
            Some(fid) => Ok(general_sp_call(spmc, env, sp, rt, fid)),
        },
    };
    let end = match flow {
        Err(e) => {
            *call_regs(rt) = Regs::error(e).0;
            None
        }
        Ok(Flow::Reply) => None,
        Ok(Flow::Deliver {
            target,
            sender,
            form,
        }) => {
            // Its callee may be preempted only if the caller may be.
            let suspended = if run::preemptible(rt) {
                deliver::<E, false>(spmc, env, target, sender, form, call_regs(rt));
                is_suspension(call_regs(rt))
            } else {
                // A masked chain is never suspended (no FIQ, and FFA_YIELD is refused for a
                // partition's request).
                deliver::<E, true>(spmc, env, target, sender, form, call_regs(rt));
                false
            };
            if suspended {
                // The callee was preempted: this partition waits for it off the stack, its
                // call registers holding what the normal world is to get.
                if let (Phase::Running(r), Target::Sp(callee)) = (rt.phase(), target) {
                    r.block(callee.index);
                }
                Some(RunEnd::Suspended)
            } else {
                None
            }
        }
        Ok(Flow::End(end)) => Some(end),
    };
    // The partition's version is settled by its first other call that succeeds: a refused
    // call changes nothing, not even that.
    let refused = end.is_none() && rt.regs.x[0] as u32 == FuncId::Error32.raw();
    if !is_version && !refused {
        rt.version_frozen = true;
    }
    end
}

/// A partition's call other than a direct message, through the general decode and [`route`].
/// A reply is already in the partition's registers when this returns `Flow::Reply`.
fn general_sp_call<'s, E: Env>(
    spmc: &'s Spmc,
    env: &mut E,
    sp: &Sp,
    rt: &mut Runtime,
    fid: FuncId,
) -> Flow<'s> {
    let version = rt.version;
    let mut out = Regs::ZERO;
    let flow = match &decode(fid, call_regs(rt), version, true) {
        Err(e) => {
            refuse(fid, e, &mut out);
            Flow::Reply
        }
        Ok(call) => {
            let mut cx = Cx {
                spmc,
                env,
                caller: Caller::Sp(sp, &mut *rt),
                version,
            };
            route(&mut cx, call, &mut out)
        }
    };
    if let Flow::Reply = flow {
        *call_regs(rt) = out.0;
    }
    flow
}

/// Delivers the direct message in `io` (its sender's registers) to `target` and puts the
/// answer in its place: the response, or the error that stopped the message. Never waits: a
/// partition whose state is locked or not waiting is BUSY. `MASKED`: the sender's call chain
/// keeps non-secure interrupts queued (a constant, so that the message path carries no test
/// for it). If the receiver's call chain was suspended, `io` holds what the normal world gets
/// (FFA_INTERRUPT or FFA_YIELD, [`is_suspension`]), and the answer comes later, through
/// FFA_RUN.
fn deliver<E: Env, const MASKED: bool>(
    spmc: &Spmc,
    env: &mut E,
    target: Target<'_>,
    sender: EndpointId,
    form: policy::DirectForm,
    io: &mut [u64; 18],
) {
    let sp = match target {
        #[cfg(not(feature = "state-check"))]
        Target::Spmc => return direct::echo(io, form),
        #[cfg(feature = "state-check")]
        Target::Spmc => return super::state_check::spmc_endpoint(spmc, sender, io, form),
        Target::Sp(sp) => sp,
    };
    let Some(mut rt) = sp.rt.try_lock() else {
        *io = Regs::error(ErrorCode::Busy).0;
        return;
    };
    match rt.phase() {
        Phase::Waiting(w) => w.begin(PendingRequest { sender, form }),
        Phase::Aborted => {
            *io = Regs::error(aborted_target(spmc, env, sp, &mut rt)).0;
            return;
        }
        _ => {
            *io = Regs::error(ErrorCode::Busy).0;
            return;
        }
    }
    if MASKED {
        // A queued partition earlier in the chain: this one may not be preempted either.
        rt.regs.spsr |= run::SPSR_F;
    }
    direct::copy_message(call_regs(&mut rt), io);
    let end = run_sp(spmc, env, sp, &mut rt);
    if MASKED {
        // Unpreemptible, so it answered or was aborted; back to its own action.
        rt.ns_default();
    }
    match end {
        RunEnd::Response => answered(spmc, env, sp, &mut rt, io),
        end => {
            finish_otherwise(spmc, sp, &mut rt, end, io);
            // The caller gets ABORTED for this request; the partition itself is restarted now
            // if its manifest asks for it.
            restart_after_abort(spmc, env, sp, &mut rt);
        }
    }
}

/// After a run of `sp` (its lock held) ended, whatever the run was for (a direct request, an
/// FFA_RUN, an interrupt handler): if it aborted, restarts it now when its manifest asks for
/// it (lifecycle.rs). The caller of the aborted run has its answer (ABORTED) already.
fn restart_after_abort<E: Env>(spmc: &Spmc, env: &mut E, sp: &Sp, rt: &mut Runtime) {
    if rt.state() == State::Aborted {
        restart_if_wanted(spmc, env, sp, rt);
    }
}

/// Restarts `sp` (aborted, its lock held) if its manifest asks for it and nothing prevents it:
/// lifecycle.rs prepares it (its memory-transaction, notification and memory state reset, its
/// image loaded again), and it boots here like any partition run, until FFA_MSG_WAIT.
#[cold]
fn restart_if_wanted<E: Env>(
    spmc: &Spmc,
    env: &mut E,
    sp: &Sp,
    rt: &mut Runtime,
) -> super::lifecycle::Outcome {
    use super::lifecycle::{self, Outcome};
    if let Err(outcome) = lifecycle::prepare_restart(spmc, env, sp, rt) {
        return outcome;
    }
    match run_sp(spmc, env, sp, rt) {
        RunEnd::InitDone => {
            if let Phase::Booting(b) = rt.phase() {
                b.init_done();
            }
            crate::info!("SP {} ({:#06x}) restarted", sp.desc.name, sp.id());
            run_interrupt_handlers(spmc, env, sp, rt);
            Outcome::Restarted
        }
        RunEnd::Aborted => {
            lifecycle::give_up(sp, rt, "it aborted again while booting");
            Outcome::Stopped
        }
        RunEnd::Response | RunEnd::InterruptDone | RunEnd::Suspended | RunEnd::Idle => {
            abort_sp(spmc, sp, rt);
            lifecycle::give_up(sp, rt, "it broke the boot protocol");
            Outcome::Stopped
        }
    }
}

/// A message to an aborted partition: restarts it if its manifest asks for it and it could
/// not be restarted before (memory it lent was still borrowed); BUSY while it is to be
/// restarted (it answers again afterwards; this message is not delivered), ABORTED if it
/// stays stopped.
#[cold]
fn aborted_target<E: Env>(spmc: &Spmc, env: &mut E, sp: &Sp, rt: &mut Runtime) -> ErrorCode {
    restart_if_wanted(spmc, env, sp, rt);
    match rt.state() {
        State::Aborted => super::lifecycle::refusal(sp, rt),
        _ => ErrorCode::Busy,
    }
}

/// Whether `x`, the answer `deliver` left, is a suspension for the normal world rather than a
/// response or an error: no direct message is ever answered with FFA_INTERRUPT or FFA_YIELD.
fn is_suspension(x: &[u64; 18]) -> bool {
    let w0 = x[0] as u32;
    w0 == FuncId::Interrupt32.raw() || w0 == FuncId::Yield32.raw()
}

/// `sp` answered its request: the response goes into `io`, the registers of the request's
/// sender, and `sp` waits again (interrupts taken for it meanwhile are delivered now).
#[inline(always)]
fn answered<E: Env>(spmc: &Spmc, env: &mut E, sp: &Sp, rt: &mut Runtime, io: &mut [u64; 18]) {
    direct::copy_message(io, call_regs(rt));
    if let Phase::Running(r) = rt.phase() {
        r.end();
    }
    if !sp.irq.is_empty() {
        run_interrupt_handlers(spmc, env, sp, rt);
    }
}

/// Puts what else ended `sp`'s run for its request into `io`: ABORTED, or, if the run was
/// suspended, what the normal world gets for it (then returns true). Off the message path.
#[cold]
fn finish_otherwise(
    spmc: &Spmc,
    sp: &Sp,
    rt: &mut Runtime,
    end: RunEnd,
    io: &mut [u64; 18],
) -> bool {
    match end {
        RunEnd::Suspended => {
            *io = suspension_regs(sp.id(), rt);
            true
        }
        RunEnd::Idle => {
            // It ran on cycles the normal world gave it with FFA_RUN and waits again: the
            // normal world's FFA_RUN returns FFA_MSG_WAIT (x1-x17 zero), as Hafnium's
            // `ffa_msg_wait_complete` (src/ffa/spmc/cpu_cycles.c) answers it.
            if let Phase::Running(r) = rt.phase() {
                r.end_run();
            }
            *io = [0; 18];
            io[0] = FuncId::MsgWait32.raw().into();
            false
        }
        RunEnd::InitDone | RunEnd::InterruptDone => {
            abort_sp(spmc, sp, rt);
            *io = Regs::error(ErrorCode::Aborted).0;
            false
        }
        RunEnd::Aborted | RunEnd::Response => {
            *io = Regs::error(ErrorCode::Aborted).0;
            false
        }
    }
}

/// [`answered`] or [`finish_otherwise`]: true if the run was suspended.
fn finish<E: Env>(
    spmc: &Spmc,
    env: &mut E,
    sp: &Sp,
    rt: &mut Runtime,
    end: RunEnd,
    io: &mut [u64; 18],
) -> bool {
    if end == RunEnd::Response {
        answered(spmc, env, sp, rt, io);
        return false;
    }
    finish_otherwise(spmc, sp, rt, end, io)
}

/// FFA_RUN from the normal world (registers the ABI does not use are reserved and ignored,
/// decision (a)): checks the target, then [`resume`].
fn run_for_nw<E: Env>(spmc: &Spmc, env: &mut E, io: &mut Regs) {
    let target = ffa_abi::endpoint::TargetInfo::unpack(io.w(1));
    match sched::run_target(spmc, target) {
        Ok(sp) => resume(spmc, env, sp, &mut io.0),
        Err(e) => *io = Regs::error(e),
    }
}

/// FFA_RUN from the normal world for `first`: resumes it if it is Preempted (or enters it with
/// FFA_RUN if it is waiting), then, each time the
/// running partition answers a request from a partition Blocked on it, that partition, until a
/// response (or error) for the normal world ends the chain, or the chain is suspended again.
/// The answer replaces the FFA_RUN call in `io`. Locks are taken one at a time: a Blocked
/// partition's lock is only ever held for a moment (by a refused message or FFA_RUN), so
/// waiting for it cannot deadlock.
#[inline(never)]
fn resume<E: Env>(spmc: &Spmc, env: &mut E, first: &Sp, io: &mut [u64; 18]) {
    let Some(mut rt) = first.rt.try_lock() else {
        *io = Regs::error(ErrorCode::Busy).0;
        return;
    };
    match rt.phase() {
        Phase::Preempted(p) => p.resume(),
        // A waiting partition gets the cycles (e.g. to read the notifications the
        // schedule-receiver interrupt announced): it is entered with FFA_RUN, and its
        // FFA_MSG_WAIT ends the FFA_RUN (`finish_otherwise`, `RunEnd::Idle`).
        Phase::Waiting(w) => w.begin_run(),
        // As a message to it: the pending restart is tried, and BUSY while it waits.
        Phase::Aborted => {
            *io = Regs::error(aborted_target(spmc, env, first, &mut rt)).0;
            return;
        }
        _ => {
            *io = Regs::error(sched::run_refusal(rt.state())).0;
            return;
        }
    }
    let mut sp = first;
    loop {
        let sender = rt.request().map(|r| r.sender);
        let end = run_sp(spmc, env, sp, &mut rt);
        let caller = sender
            .filter(|s| s.is_secure())
            .and_then(|s| spmc.table.index_of(s));
        let Some(ci) = caller else {
            // The normal world sent the request: its answer (or the chain's suspension) ends
            // the FFA_RUN.
            finish(spmc, env, sp, &mut rt, end, io);
            restart_after_abort(spmc, env, sp, &mut rt);
            return;
        };
        let mut answer = [0u64; 18];
        if finish(spmc, env, sp, &mut rt, end, &mut answer) {
            *io = answer;
            return;
        }
        restart_after_abort(spmc, env, sp, &mut rt);
        drop(rt);
        let callee = sp.index;
        sp = &spmc.sps[ci];
        rt = sp.rt.lock();
        match rt.phase() {
            Phase::Blocked(b) if b.callee() == callee => b.unblock(),
            _ => {
                // Unreachable: a partition Blocked on another leaves that state only here.
                crate::info!(
                    "SP {}: response from {:#06x} found it not blocked on it; dropped",
                    sp.desc.name,
                    spmc.sps[callee].id()
                );
                *io = Regs::error(ErrorCode::Aborted).0;
                return;
            }
        }
        *call_regs(&mut rt) = answer;
    }
}
