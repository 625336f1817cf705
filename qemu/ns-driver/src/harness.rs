//! The case registry's runner: each case is a named function returning `Ok` or a message,
//! declared once in its topic module (`cases/<topic>.rs`, `pub const CASES`) with what it needs
//! (the default SP set or any set), when it must run (its [`Stage`]), which cases must have run
//! before it, and which SP fault it provokes on purpose. The runner orders the registry by
//! stage, applies the run configuration xtask patched into the image (`--case` names, the SP
//! set in use; `run_config.rs`), prints one line per case and the final "N passed, N failed".
#![forbid(unsafe_code)]

use core::fmt::{self, Write};

use crate::console::log;
use crate::run_config::Config;

/// Why a case failed (truncated if longer).
pub type Failure = heapless::String<200>;
/// Result of one case.
pub type Outcome = Result<(), Failure>;

/// What a case needs from the SP set the image was built with.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Needs {
    /// Runs with any SP set (it talks to the SPMC, the monitor or PSCI only).
    AnySet,
    /// Expects exactly the default set of partitions/sp_layout.json (echo, relay, fault,
    /// pkg-sp, its, ps with their IDs, UUIDs and grants); skipped, with a line saying so, under another
    /// layout.
    DefaultSet,
    /// Needs the SP set of the layout with this name (e.g. `stuck` for
    /// partitions/stuck/layout.json); skipped under every other.
    Layout(&'static str),
}

/// When a case runs. Stages run in this order; inside a stage, cases run in registry order
/// (cases.rs lists the modules once). A case that aborts an SP (which happens once per SP
/// per boot) goes in the stage for that SP, after every case that still needs the SP.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Stage {
    /// Ordinary cases.
    Main,
    /// Aborts the fault SP (memory cases use fault as a borrower, so after them).
    AbortsFault,
    /// Aborts echo, which nearly every other case needs.
    AbortsEcho,
    /// Aborts pkg-sp: the very last SP left that can fault on command.
    AbortsPkgSp,
}

/// Every stage, in run order.
pub const STAGES: [Stage; 4] = [
    Stage::Main,
    Stage::AbortsFault,
    Stage::AbortsEcho,
    Stage::AbortsPkgSp,
];

/// One registered test case.
pub struct Case {
    pub name: &'static str,
    pub run: fn() -> Outcome,
    pub needs: Needs,
    pub stage: Stage,
    /// Cases that must have run first (a `--case` filter that selects this case runs them
    /// too), e.g. the case that powers the secondary cores on.
    pub after: &'static [&'static str],
    /// The SP fault the case provokes on purpose, announced before it runs so that the SPMC's
    /// "SP ... aborted" line reads as expected.
    pub provokes: Option<&'static str>,
    /// Runs only when `--case` names it exactly: one step of a multi-boot scenario that
    /// xtask drives (e.g. storage written in one boot, read in the next).
    pub on_request: bool,
}

impl Case {
    /// A case that runs with any SP set.
    pub const fn any_set(name: &'static str, run: fn() -> Outcome) -> Self {
        Self {
            name,
            run,
            needs: Needs::AnySet,
            stage: Stage::Main,
            after: &[],
            provokes: None,
            on_request: false,
        }
    }

    /// A case that needs the default SP set.
    pub const fn default_set(name: &'static str, run: fn() -> Outcome) -> Self {
        Self {
            needs: Needs::DefaultSet,
            ..Self::any_set(name, run)
        }
    }

    /// A case that needs the SP set of the layout named `layout`.
    pub const fn layout(layout: &'static str, name: &'static str, run: fn() -> Outcome) -> Self {
        Self {
            needs: Needs::Layout(layout),
            ..Self::any_set(name, run)
        }
    }

    /// Runs in `stage` instead of [`Stage::Main`].
    pub const fn stage(self, stage: Stage) -> Self {
        Self { stage, ..self }
    }

    /// Needs the cases `after` to have run first.
    pub const fn after(self, after: &'static [&'static str]) -> Self {
        Self { after, ..self }
    }

    /// Runs only when `--case` names it exactly (never in a full run).
    pub const fn on_request(self) -> Self {
        Self {
            on_request: true,
            ..self
        }
    }

    /// Provokes the SP fault described by `what` on purpose.
    pub const fn provokes(self, what: &'static str) -> Self {
        Self {
            provokes: Some(what),
            ..self
        }
    }
}

/// Builds a failure message.
pub fn failure(args: fmt::Arguments) -> Failure {
    let mut s = Failure::new();
    let _ = s.write_fmt(args);
    s
}

/// Fails the current case with a formatted message.
macro_rules! fail {
    ($($arg:tt)*) => { return Err($crate::harness::failure(format_args!($($arg)*))) };
}

/// Fails the current case unless `cond` holds.
macro_rules! check {
    ($cond:expr, $($arg:tt)*) => { if !$cond { $crate::harness::fail!($($arg)*) } };
}

/// Fails the current case unless `got == want`.
macro_rules! check_eq {
    ($got:expr, $want:expr, $what:expr) => {{
        let (got, want) = ($got, $want);
        if got != want {
            $crate::harness::fail!("{}: got {:#x?}, want {:#x?}", $what, got, want)
        }
    }};
}
pub(crate) use {check, check_eq, fail};

/// The registry in run order: by stage, then registry order.
pub fn ordered(registry: &'static [&'static [Case]]) -> impl Iterator<Item = &'static Case> {
    STAGES.into_iter().flat_map(move |stage| {
        registry
            .iter()
            .flat_map(|m| m.iter())
            .filter(move |c| c.stage == stage)
    })
}

/// Whether `case` runs under `config`: the filter names it, or a selected case needs it to
/// have run first (`after`, followed to any depth).
fn selected(
    registry: &'static [&'static [Case]],
    config: &Config,
    case: &Case,
    depth: u32,
) -> bool {
    if config.selects(case.name) {
        return true;
    }
    depth < 8
        && ordered(registry)
            .filter(|d| d.after.contains(&case.name))
            .any(|d| selected(registry, config, d, depth + 1))
}

/// Runs the registry under `config`; returns (passed, failed). The caller prints the summary.
pub fn run_all(registry: &'static [&'static [Case]], config: &Config) -> (u32, u32) {
    let (mut passed, mut failed, mut skipped, mut filtered) = (0u32, 0u32, 0u32, 0u32);
    if config.calls_only() {
        log!("no cases: only the calls of the run configuration");
        return (0, 0);
    }
    // A filter name that matches nothing is a mistake (a typo would otherwise pass silently).
    for pattern in config.case_patterns() {
        if !ordered(registry).any(|c| crate::run_config::matches(pattern, c.name)) {
            failed += 1;
            log!("--case {pattern}: no case has this name (FAILED)");
        }
    }
    for case in ordered(registry) {
        let named = config.case_patterns().any(|p| p == case.name);
        if !selected(registry, config, case, 0) || (case.on_request && !named) {
            filtered += 1;
            continue;
        }
        if case.needs == Needs::DefaultSet && !config.default_set() {
            skipped += 1;
            log!(
                "case {} ... skipped: needs the default SP set (partitions/sp_layout.json), this image has {}",
                case.name,
                config.layout()
            );
            continue;
        }
        if let Needs::Layout(set) = case.needs {
            if config.layout() != set {
                skipped += 1;
                log!(
                    "case {} ... skipped: needs the SP set `{set}`, this image has {}",
                    case.name,
                    config.layout()
                );
                continue;
            }
        }
        if let Some(what) = case.provokes {
            log!(
                "case {} provokes, on purpose: {what} (the SPMC's abort report below is expected)",
                case.name
            );
        }
        match (case.run)() {
            Ok(()) => {
                passed += 1;
                log!("case {} ... ok", case.name);
            }
            Err(why) => {
                failed += 1;
                log!("case {} ... FAILED: {}", case.name, why);
            }
        }
    }
    if skipped > 0 || filtered > 0 {
        log!("{skipped} skipped (another SP set's), {filtered} not selected by --case");
    }
    (passed, failed)
}
