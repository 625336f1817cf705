//! No partition can hold a core for ever: each run of a partition that the normal world cannot
//! preempt has a deadline, enforced with the SPMC's own timer (the secure physical timer,
//! which S-EL1 may use because EL3 sets SCR_EL3.ST for the SPMC: TF-A's SPMD enters it with
//! `EP_ST_ENABLE`, services/std_svc/spmd/spmd_main.c; qemu/monitor does the same). A
//! partition that has not reached FFA_MSG_WAIT within its boot limit, or that runs past its
//! request limit inside a request or an interrupt's handling, is aborted: its callers get
//! FFA_ERROR(ABORTED), the others go on (docs/architecture.md, "Time limits").
//!
//! Limits come from the SP set description (`time-limits`, `Capabilities::time_limits`) or
//! the platform's defaults (`PlatformInfo::time_limits`); 0 is "no limit".

use super::partition::{Runtime, Sp, State};
use super::Env;

/// The platform's default limits, in milliseconds (0: none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Defaults {
    /// From a partition's first entry to its FFA_MSG_WAIT.
    pub boot_ms: u32,
    /// One request the normal world cannot preempt, or one interrupt's handling.
    pub request_ms: u32,
}

impl Defaults {
    /// No limit at all (host tests that do not test limits; a platform that opts out).
    pub const NONE: Self = Self {
        boot_ms: 0,
        request_ms: 0,
    };
}

/// What a run is, for its limit and for the console line when it is exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Boot,
    Request,
}

/// Whether a request of `sp` is exempt from the request limit: none is. A request the normal
/// world can preempt (`ns-interrupts-action` signalled, `run::preemptible`) is limited too,
/// but its deadline is armed again at every resume (each `run_sp`), so a partition the normal
/// world's interrupts keep preempting never reaches it; one that runs the whole limit with no
/// non-secure interrupt to give the core back is aborted like a queued one. (The QEMU case
/// `time_limit_sp_looping_in_a_request_contained` relies on that with fault, a signalled SP,
/// and no normal-world interrupt.)
pub fn preemptible(sp: &Sp) -> bool {
    let _ = sp;
    false
}

/// The limit of the run `rt` is about to start, in milliseconds, with what it is; `None`: no
/// limit.
pub fn for_run(defaults: Defaults, sp: &Sp, rt: &Runtime) -> Option<(Kind, u32)> {
    let own = sp.desc.capabilities.time_limits;
    let (kind, ms) = match rt.state() {
        State::Booting => (Kind::Boot, own.boot_ms.unwrap_or(defaults.boot_ms)),
        State::Running if !preemptible(sp) => {
            (Kind::Request, own.request_ms.unwrap_or(defaults.request_ms))
        }
        _ => return None,
    };
    (ms != 0).then_some((kind, ms))
}

/// The deadline `ms` milliseconds from now, in counter ticks.
pub fn deadline(env: &impl Env, ms: u32) -> u64 {
    env.now()
        .saturating_add(env.ticks_per_ms().saturating_mul(u64::from(ms)))
}

/// Whether the timer's current deadline has passed.
pub fn expired(env: &impl Env) -> bool {
    env.deadline().is_some_and(|d| env.now() >= d)
}

// Why the timer is written at every run: the machine programs CNTPS_CVAL/CTL at each
// `Env::deadline_swap` (start and end of a run), from the deadline alone. Arming it lazily
// (only for a deadline earlier than a remembered armed one, 74eacdc) saved 2 instructions of
// the time limit's ~40 per request (docs/performance.md, "Issue 11 leftovers") and was unsound
// on real hardware: a core's power-down suspend resets its timer, TF-A's SPMD does not tell the
// SPMC (services/std_svc/spmd/spmd_pm.c has only svc_on_finish and svc_off) and saves no CNTPS
// register (lib/el3_runtime/aarch64/context_mgmt.c), so the remembered copy said "armed" for a
// timer that was off and every later limit on that core was silently gone (review 5, F1). The
// SPMC still treats an expiry before the deadline in force, or with none, as no expiry
// (`expired`, and the tests in tests/time_limits.rs), which costs nothing and keeps a stray or
// early timer interrupt harmless.
