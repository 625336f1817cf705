//! FF-A calls from the normal world at register level (the encodings come from `ffa-abi`), with
//! the checks the cases share.
#![forbid(unsafe_code)]

use ffa_abi::{ErrorCode, FuncId, Regs};

use crate::arch::smc;
use crate::harness::{fail, Failure};

/// Calls `fid` (raw, so tests can send IDs `ffa-abi` does not know) with x1.. = `args`.
pub fn call_raw(fid: u32, args: &[u64]) -> Regs {
    let mut r = [0u64; 18];
    r[0] = u64::from(fid);
    for (slot, a) in r[1..].iter_mut().zip(args) {
        *slot = *a;
    }
    Regs(smc(r))
}

/// Calls `fid` with x1.. = `args`.
pub fn call(fid: FuncId, args: &[u64]) -> Regs {
    call_raw(fid.raw(), args)
}

/// FFA_VERSION: returns w0 (the version, or NOT_SUPPORTED as a u32).
pub fn version(requested: u32) -> u32 {
    call(FuncId::Version, &[u64::from(requested)]).w(0)
}

/// Describes a result block for failure messages.
pub struct Shown<'a>(pub &'a Regs);

impl core::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let r = self.0;
        match r.as_error() {
            Some(Ok(code)) => write!(f, "FFA_ERROR {code:?}"),
            Some(Err(raw)) => write!(f, "FFA_ERROR with unknown code {raw}"),
            None => write!(
                f,
                "w0 {:#x} w1 {:#x} w2 {:#x} w3 {:#x}",
                r.w(0),
                r.w(1),
                r.w(2),
                r.w(3)
            ),
        }
    }
}

/// Checks `r` is FFA_SUCCESS (32 or 64) and returns w2.
pub fn expect_success(r: &Regs, what: &str) -> Result<u32, Failure> {
    if r.w(0) == FuncId::Success32.raw() || r.w(0) == FuncId::Success64.raw() {
        Ok(r.w(2))
    } else {
        fail!("{what}: want FFA_SUCCESS, got {}", Shown(r))
    }
}

/// Checks `r` is FFA_ERROR with `code`.
pub fn expect_error(r: &Regs, code: ErrorCode, what: &str) -> Result<(), Failure> {
    match r.as_error() {
        Some(Ok(c)) if c == code => Ok(()),
        _ => fail!("{what}: want FFA_ERROR {code:?}, got {}", Shown(r)),
    }
}
