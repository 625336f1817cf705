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

/// Where a core's timer is armed, kept apart from the deadline in force (`Env::deadline`), so
/// that a run does not reprogram the timer (docs/performance.md, "The request time limit"):
/// the timer is armed only when nothing is armed or the new deadline is earlier than the armed
/// one. A deadline given back (the end of a run) leaves the timer as it is. So the timer may
/// fire before the deadline in force, or when there is none: whoever takes its interrupt
/// checks the deadline ([`expired`]) and sets it again (`Env::deadline_swap(env.deadline())`),
/// which re-arms it for the deadline in force, or leaves it masked if there is none. The
/// timer never fires later than the deadline in force: that deadline was armed, or a later
/// one replaced by an earlier one, or it was already armed earlier. In steady request traffic
/// the timer is programmed once per limit period and fires once per limit period (one
/// interrupt, taken wherever the core is then), instead of two programmings per request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Armed(Option<u64>);

impl Armed {
    /// The deadline in force becomes `deadline`: returns whether the timer must be armed at
    /// it (nothing armed, or armed later), and records it if so.
    #[inline(always)]
    pub fn set(&mut self, deadline: Option<u64>) -> bool {
        match (deadline, self.0) {
            (Some(d), Some(a)) if a <= d => false,
            (Some(d), _) => {
                self.0 = Some(d);
                true
            }
            (None, _) => false,
        }
    }

    /// Its interrupt was taken, which masks the timer until it is armed again.
    pub fn fired(&mut self) {
        self.0 = None;
    }

    /// Where it is armed (`None`: nowhere, or masked after it fired).
    pub fn at(&self) -> Option<u64> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::Armed;

    #[test]
    fn armed_only_for_an_earlier_deadline() {
        let mut a = Armed::default();
        assert!(a.set(Some(100)), "nothing armed");
        assert_eq!(a.at(), Some(100));
        assert!(
            !a.set(Some(150)),
            "a later deadline: the armed one fires first"
        );
        assert!(!a.set(Some(100)), "the same deadline");
        assert!(!a.set(None), "no deadline: left armed");
        assert_eq!(a.at(), Some(100));
        assert!(a.set(Some(60)), "an earlier deadline is armed");
        assert_eq!(a.at(), Some(60));
    }

    #[test]
    fn a_fired_timer_is_armed_again() {
        let mut a = Armed::default();
        assert!(a.set(Some(100)));
        a.fired();
        assert_eq!(a.at(), None);
        assert!(!a.set(None), "no deadline in force: stays masked");
        assert!(a.set(Some(300)), "re-armed for the deadline in force");
        assert_eq!(a.at(), Some(300));
    }
}
