//! The FF-A conduit of an S-EL0 partition: `SVC #0` with x0..x17 in and out (FF-A v1.2
//! conduits; SMCCC v1.2 lets a call use x0..x17 both ways).
//!
//! The typed helpers in [`crate::ffa`] are generic over [`Conduit`], so their register encoding
//! is tested on the host against a fake; only [`Svc`] touches the architecture.

pub use ffa_abi::Regs;

/// Building and reading call blocks the way the runtime needs: `Regs::call(fid, args)` and
/// `regs.fid()`.
pub trait RegsExt {
    /// Builds a call block: `x0` = `fid`, `x1..` = `args`, the rest zero (FF-A says unused
    /// argument registers are MBZ).
    fn call(fid: u32, args: &[u64]) -> Self;
    /// Returns the function ID in w0.
    fn fid(&self) -> u32;
}

impl RegsExt for Regs {
    fn call(fid: u32, args: &[u64]) -> Self {
        let mut r = Regs::ZERO;
        r.0[0] = u64::from(fid);
        for (dst, src) in r.0[1..].iter_mut().zip(args) {
            *dst = *src;
        }
        r
    }

    fn fid(&self) -> u32 {
        self.w(0)
    }
}

/// A way to make an FF-A call: hand over x0..x17, get x0..x17 back.
pub trait Conduit {
    /// Makes the call `regs` and returns the registers the callee answered with.
    fn call(&mut self, regs: Regs) -> Regs;
}

/// The real conduit of an S-EL0 partition: `SVC #0` to the SPMC at S-EL1.
#[derive(Clone, Copy, Debug, Default)]
pub struct Svc;

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
impl Conduit for Svc {
    fn call(&mut self, regs: Regs) -> Regs {
        let mut r = regs.0;
        // SAFETY: `svc #0` traps to the SPMC, which implements the FF-A SVC conduit: it reads
        // x0..x17, writes its answer to x0..x17 and returns to the next instruction with every
        // other register, SP_EL0 and memory outside what the FF-A call itself defines (RX
        // buffer, shared memory) unchanged. All of x0..x17 are declared in/out, so the compiler
        // keeps nothing live in them across the call; memory effects are allowed (no
        // `nomem`) because calls such as FFA_PARTITION_INFO_GET write our RX buffer.
        unsafe {
            core::arch::asm!(
                "svc #0",
                inout("x0") r[0], inout("x1") r[1], inout("x2") r[2], inout("x3") r[3],
                inout("x4") r[4], inout("x5") r[5], inout("x6") r[6], inout("x7") r[7],
                inout("x8") r[8], inout("x9") r[9], inout("x10") r[10], inout("x11") r[11],
                inout("x12") r[12], inout("x13") r[13], inout("x14") r[14], inout("x15") r[15],
                inout("x16") r[16], inout("x17") r[17],
                options(nostack),
            );
        }
        Regs(r)
    }
}

/// On the host there is no SPMC to trap to: the conduit answers every call with
/// FFA_ERROR(NOT_SUPPORTED) so that host code linking the runtime fails loudly, not silently.
#[cfg(not(all(target_arch = "aarch64", target_os = "none")))]
impl Conduit for Svc {
    fn call(&mut self, _regs: Regs) -> Regs {
        Regs::error(ffa_abi::ErrorCode::NotSupported)
    }
}
