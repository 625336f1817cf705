//! Jobs the scheduling cases give every core at once (secondary.rs runs them on the secondary
//! cores, the primary runs its own share): a bounded burst of direct requests to several
//! endpoints whose every answer is checked, and FFA_RUN of a preempted SP from another core.
#![forbid(unsafe_code)]

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use ffa_abi::{EndpointId, ErrorCode, FuncId, Regs};
use test_protocol::{id, status};

use crate::ffa::call;
use crate::secondary::MAX_CORES;

/// No job.
pub const JOB_NONE: u32 = 0;
/// [`burst`]: `ROUNDS` requests to each of [`TARGETS`].
pub const JOB_STRESS: u32 = 1;
/// FFA_RUN with w1 = `arg`, the answer kept in `words`.
pub const JOB_RUN: u32 = 2;
/// [`rate`]: [`RATE_REQUESTS`] REQ_32 round trips to the endpoint `arg` (`cargo xtask bench`).
pub const JOB_RATE: u32 = 3;
/// One DIRECT_REQ_64 to the endpoint in bits 0-15 of `arg` with x3 = bits 32-63, the answer
/// kept in `words`.
pub const JOB_REQ64: u32 = 4;
/// echo's SPIN for `arg` ticks (DIRECT_REQ_64, x3 = SPIN, x4 = `arg`), sent again while the
/// answer is BUSY (echo busy on another core), the answer kept in `words`.
pub const JOB_SPIN_ECHO: u32 = 5;

/// Requests per core in one [`JOB_RATE`] run.
pub const RATE_REQUESTS: u32 = 400;

/// Rounds of one stress burst: every round sends one request to each target.
pub const ROUNDS: u32 = 100;
/// The endpoints a burst sends to, each with the form of request it gets.
pub const TARGETS: [&str; 4] = [
    "SPMC (REQ_32)",
    "echo (REQ_64)",
    "pkg-sp (REQ_32)",
    "relay -> fault (REQ2)",
];
const SLOTS: usize = (ROUNDS as usize * TARGETS.len()).div_ceil(64);

/// One core's job and its results.
pub struct Job {
    pub kind: AtomicU32,
    pub arg: AtomicU64,
    /// Finished jobs (the primary waits for it to move).
    pub done: AtomicU32,
    /// [`JOB_STRESS`]: exact answers per target, BUSY answers, anything else.
    pub exact: [AtomicU32; 4],
    pub busy: AtomicU32,
    pub wrong: AtomicU32,
    /// Bit `round * 4 + target` set when that request got its exact answer; an answer that
    /// came twice (or for another request) shows as `wrong`.
    pub answered: [AtomicU64; SLOTS],
    /// [`JOB_RUN`], [`JOB_REQ64`]: x0..x5 of the answer.
    pub words: [AtomicU64; 6],
}

#[allow(clippy::declare_interior_mutable_const)]
const JOB: Job = Job {
    kind: AtomicU32::new(JOB_NONE),
    arg: AtomicU64::new(0),
    done: AtomicU32::new(0),
    exact: [const { AtomicU32::new(0) }; 4],
    busy: AtomicU32::new(0),
    wrong: AtomicU32::new(0),
    answered: [const { AtomicU64::new(0) }; SLOTS],
    words: [const { AtomicU64::new(0) }; 6],
};

pub static JOBS: [Job; MAX_CORES] = [JOB; MAX_CORES];

/// Runs the job posted for `core`, if any, and marks it done.
pub fn run(core: usize) {
    let j = &JOBS[core];
    match j.kind.swap(JOB_NONE, Ordering::AcqRel) {
        JOB_STRESS => burst(core),
        JOB_RATE => rate(core, EndpointId(j.arg.load(Ordering::Acquire) as u16)),
        JOB_RUN => {
            let r = call(FuncId::Run32, &[j.arg.load(Ordering::Acquire)]);
            keep_answer(j, &r);
        }
        JOB_SPIN_ECHO => {
            let spin = [
                u64::from(id::ECHO),
                0,
                test_protocol::cmd::SPIN.into(),
                j.arg.load(Ordering::Acquire),
                0,
                0,
                0,
            ];
            let mut r = call(FuncId::MsgSendDirectReq64, &spin);
            for _ in 0..1000 {
                let busy = r.w(0) == FuncId::Error32.raw() && r.w(2) == ErrorCode::Busy.to_u32();
                if !busy {
                    break;
                }
                r = call(FuncId::MsgSendDirectReq64, &spin);
            }
            keep_answer(j, &r);
        }
        JOB_REQ64 => {
            let arg = j.arg.load(Ordering::Acquire);
            let r = call(
                FuncId::MsgSendDirectReq64,
                &[arg & 0xFFFF, 0, arg >> 32, 0, 0, 0, 0],
            );
            keep_answer(j, &r);
        }
        _ => return,
    }
    j.done.fetch_add(1, Ordering::Release);
}

/// Runs job `kind` with `arg` on secondary core `i` (posted, the core woken) and waits up to
/// `ms` milliseconds for it: x0..x5 of the answer it kept, or `None` if it did not finish.
pub fn run_job(i: usize, kind: u32, arg: u64, ms: u64) -> Option<[u64; 6]> {
    let before = post(i, kind, arg);
    crate::arch::sev();
    let j = &JOBS[i];
    if !crate::arch::wait_until(ms, || j.done.load(Ordering::Acquire) != before) {
        return None;
    }
    Some(core::array::from_fn(|k| j.words[k].load(Ordering::Acquire)))
}

/// x0..x5 of `r` into the job's `words`.
fn keep_answer(j: &Job, r: &Regs) {
    for (i, w) in j.words.iter().enumerate() {
        w.store(r.x(i), Ordering::Relaxed);
    }
}

/// Posts job `kind` with `arg` to secondary core `i` (its mailbox command `CMD_JOB`; the
/// caller wakes it with SEV) and returns the core's `done` count before it.
pub fn post(i: usize, kind: u32, arg: u64) -> u32 {
    let j = &JOBS[i];
    let before = j.done.load(Ordering::Acquire);
    j.arg.store(arg, Ordering::Release);
    j.kind.store(kind, Ordering::Release);
    crate::secondary::MAILBOXES[i]
        .command
        .store(crate::secondary::CMD_JOB, Ordering::Release);
    before
}

/// The secondary cores that have reported (are up in the driver).
pub fn up_cores() -> heapless::Vec<usize, 8> {
    (1..MAX_CORES)
        .filter(|&i| {
            crate::secondary::MAILBOXES[i]
                .reports
                .load(Ordering::Acquire)
                > 0
        })
        .collect()
}

/// [`RATE_REQUESTS`] REQ_32 round trips to `dest`, each checked: `exact[0]`, `busy`, `wrong`.
fn rate(core: usize, dest: EndpointId) {
    let j = &JOBS[core];
    let (mut exact, mut busy, mut wrong) = (0, 0, 0);
    for n in 0..RATE_REQUESTS {
        let tag = (core as u64) << 24 | u64::from(n);
        let r = call(
            FuncId::MsgSendDirectReq32,
            &[dest.into(), 0, tag, 1, 2, 3, 4],
        );
        if r.w(0) == FuncId::MsgSendDirectResp32.raw() && r.w(3) == tag as u32 && r.w(7) == 4 {
            exact += 1;
        } else if r.w(0) == FuncId::Error32.raw() && r.w(2) == ErrorCode::Busy.to_u32() {
            busy += 1;
        } else {
            wrong += 1;
        }
    }
    j.exact[0].store(exact, Ordering::Relaxed);
    j.busy.store(busy, Ordering::Relaxed);
    j.wrong.store(wrong, Ordering::Relaxed);
}

/// The request for target `t` with tag `tag`, and the exact answer it must get.
fn request(t: usize, tag: u64) -> (FuncId, [u64; 17], Regs) {
    let mut args = [0u64; 17];
    let mut want = Regs::ZERO;
    let words = [
        tag,
        tag ^ 0x5A5A,
        tag << 8,
        0x1234_5678 ^ tag,
        !tag & 0xFFFF_FFFF,
    ];
    match t {
        0 | 2 => {
            let dest = if t == 0 {
                EndpointId(0x8000)
            } else {
                id::PKG_SP
            };
            let words = words.map(|w| w & 0xFFFF_FFFF);
            args[0] = u64::from(dest);
            args[2..7].copy_from_slice(&words);
            want.0[0] = FuncId::MsgSendDirectResp32.raw().into();
            want.0[1] = u64::from(dest) << 16;
            want.0[3..8].copy_from_slice(&words);
            (FuncId::MsgSendDirectReq32, args, want)
        }
        1 => {
            args[0] = u64::from(id::ECHO);
            args[2..7].copy_from_slice(&words.map(|w| w | tag << 40));
            want.0[0] = FuncId::MsgSendDirectResp64.raw().into();
            want.0[1] = u64::from(id::ECHO) << 16;
            want.0[3..8].copy_from_slice(&args[2..7]);
            (FuncId::MsgSendDirectReq64, args, want)
        }
        _ => {
            // relay forwards [word 0, word 2, ...] to the endpoint in word 1 and answers
            // [status, the target's words]; fault echoes what it does not know.
            args[0] = u64::from(id::RELAY);
            args[3] = tag;
            args[4] = u64::from(id::FAULT);
            args[5..9].copy_from_slice(&words[1..]);
            want.0[0] = FuncId::MsgSendDirectResp2.raw().into();
            want.0[1] = u64::from(id::RELAY) << 16;
            want.0[4] = u64::from(status::OK);
            want.0[5] = tag;
            want.0[6..10].copy_from_slice(&words[1..]);
            (FuncId::MsgSendDirectReq2, args, want)
        }
    }
}

/// Whether `r` is a BUSY answer: from the SPMC (FFA_ERROR), or relayed by relay (its status
/// word is fault's BUSY).
fn is_busy(t: usize, r: &Regs) -> bool {
    let busy = ErrorCode::Busy.to_u32();
    (r.w(0) == FuncId::Error32.raw() && r.w(2) == busy)
        || (t == 3
            && r.w(0) == FuncId::MsgSendDirectResp2.raw()
            && r.x(4) == u64::from(status::ffa_error(ErrorCode::Busy.to_i32())))
}

/// [`ROUNDS`] rounds of one request to each target, tags unique to (core, round, target).
fn burst(core: usize) {
    let j = &JOBS[core];
    for a in &j.answered {
        a.store(0, Ordering::Relaxed);
    }
    let (mut exact, mut busy, mut wrong) = ([0u32; 4], 0, 0);
    for round in 0..ROUNDS {
        for (t, hits) in exact.iter_mut().enumerate() {
            let slot = round as usize * TARGETS.len() + t;
            let tag = (core as u64) << 24 | (slot as u64) << 4 | 0x7;
            let (fid, args, want) = request(t, tag);
            let r = call(fid, &args);
            if r == want {
                let bit = 1u64 << (slot % 64);
                let prev = j.answered[slot / 64].fetch_or(bit, Ordering::Relaxed);
                if prev & bit != 0 {
                    wrong += 1;
                } else {
                    *hits += 1;
                }
            } else if is_busy(t, &r) {
                busy += 1;
            } else {
                wrong += 1;
            }
        }
    }
    for (d, s) in j.exact.iter().zip(exact) {
        d.store(s, Ordering::Relaxed);
    }
    j.busy.store(busy, Ordering::Relaxed);
    j.wrong.store(wrong, Ordering::Relaxed);
}
