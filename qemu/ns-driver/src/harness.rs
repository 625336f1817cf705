//! The test-case table runner: each case is a named function returning `Ok` or a message; the
//! runner prints one line per case and the final "N passed, N failed" line.

use core::fmt::{self, Write};

use crate::console::{bare_line, log};

/// Why a case failed (truncated if longer).
pub type Failure = heapless::String<200>;
/// Result of one case.
pub type Outcome = Result<(), Failure>;

/// One test case.
pub struct Case {
    pub name: &'static str,
    pub run: fn() -> Outcome,
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

/// Runs every case in order and prints the summary; returns (passed, failed).
pub fn run_all<'a>(cases: impl Iterator<Item = &'a Case>) -> (u32, u32) {
    let (mut passed, mut failed) = (0, 0);
    for case in cases {
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
    bare_line(format_args!("{passed} passed, {failed} failed"));
    (passed, failed)
}
