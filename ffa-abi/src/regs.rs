//! The register block an FF-A call or return travels in: x0-x7 for most ABIs, x0-x17
//! for the FF-A v1.2 ABIs that use the SMCCC v1.2 extended argument registers
//! (DEN0077 v1.2 per-ABI function syntax tables; SMCCC v1.2 "Argument passing").

use crate::endpoint::TargetInfo;
use crate::error::ErrorCode;
use crate::func_id::FuncId;
use crate::version::Version;

/// x0..x17 of one call or return. For SMC32 ABIs only the low 32 bits of x0..x7
/// matter (SMCCC "SMC32/HVC32 argument passing": the upper halves are ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub struct Regs(pub [u64; 18]);

impl Regs {
    /// All registers zero.
    pub const ZERO: Regs = Regs([0; 18]);

    /// Builds a block from x0..x7; x8..x17 are zero.
    pub fn from_x0_7(x: [u64; 8]) -> Self {
        let mut r = Regs::ZERO;
        r.0[..8].copy_from_slice(&x);
        r
    }

    /// Returns x`i` (0 for an index beyond x17).
    pub fn x(&self, i: usize) -> u64 {
        self.0.get(i).copied().unwrap_or(0)
    }

    /// Returns w`i`, the low 32 bits of x`i`.
    pub fn w(&self, i: usize) -> u32 {
        self.x(i) as u32
    }

    /// Returns the first eight registers, what an SMCCC v1.1 conduit carries.
    pub fn x0_7(&self) -> [u64; 8] {
        let mut out = [0u64; 8];
        out.copy_from_slice(&self.0[..8]);
        out
    }

    /// An FFA_ERROR return with `code` in w2 and everything else zero.
    pub fn error(code: ErrorCode) -> Self {
        let mut r = Regs::ZERO;
        r.0[0] = FuncId::Error32.raw().into();
        r.0[2] = code.to_u32().into();
        r
    }

    /// An FFA_SUCCESS (SMC32) return with w2..w7.
    pub fn success32(target: TargetInfo, args: [u32; 6]) -> Self {
        let mut r = Regs::ZERO;
        r.0[0] = FuncId::Success32.raw().into();
        r.0[1] = target.pack().into();
        for (i, a) in args.iter().enumerate() {
            r.0[2 + i] = (*a).into();
        }
        r
    }

    /// An FFA_SUCCESS (SMC32) return carrying just w2 (e.g. the ID of FFA_ID_GET).
    pub fn success_w2(w2: u32) -> Self {
        Regs::success32(TargetInfo::default(), [w2, 0, 0, 0, 0, 0])
    }

    /// An FFA_SUCCESS (SMC64) return with x2..x17.
    pub fn success64(target: TargetInfo, args: [u64; 16]) -> Self {
        let mut r = Regs::ZERO;
        r.0[0] = FuncId::Success64.raw().into();
        r.0[1] = target.pack().into();
        r.0[2..].copy_from_slice(&args);
        r
    }

    /// The FFA_SUCCESS answer to FFA_MEM_SHARE/LEND/DONATE: the handle in w2 (low)
    /// and w3 (high).
    pub fn success_handle(handle: crate::memory::MemHandle) -> Self {
        let (lo, hi) = handle.to_regs();
        Regs::success32(TargetInfo::default(), [lo as u32, hi as u32, 0, 0, 0, 0])
    }

    /// The return of FFA_VERSION: w0 holds the version itself, not FFA_SUCCESS
    /// (DEN0077 "FFA_VERSION").
    pub fn version_response(v: Result<Version, ErrorCode>) -> Self {
        let mut r = Regs::ZERO;
        r.0[0] = match v {
            Ok(v) => v.encode(),
            Err(e) => e.to_u32(),
        }
        .into();
        r
    }

    /// If this block is an FFA_ERROR, its code.
    pub fn as_error(&self) -> Option<Result<ErrorCode, i32>> {
        if self.w(0) == FuncId::Error32.raw() {
            Some(ErrorCode::try_from(self.w(2) as i32))
        } else {
            None
        }
    }
}

impl From<[u64; 8]> for Regs {
    fn from(x: [u64; 8]) -> Self {
        Regs::from_x0_7(x)
    }
}

impl From<[u64; 18]> for Regs {
    fn from(x: [u64; 18]) -> Self {
        Regs(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        let e = Regs::error(ErrorCode::Denied);
        assert_eq!(e.x(0), 0x8400_0060);
        assert_eq!(e.x(2), 0xFFFF_FFFA);
        assert_eq!(e.as_error(), Some(Ok(ErrorCode::Denied)));
        let s = Regs::success_w2(0x8001);
        assert_eq!((s.x(0), s.x(2)), (0x8400_0061, 0x8001));
        assert_eq!(s.as_error(), None);
        assert_eq!(Regs::version_response(Ok(Version::V1_1)).x(0), 0x1_0001);
        assert_eq!(
            Regs::version_response(Err(ErrorCode::NotSupported)).x(0),
            0xFFFF_FFFF
        );
    }
}
