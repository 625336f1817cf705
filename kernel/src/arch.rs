//! The architecture seam: the only place with `asm!`. Everything else in the kernel sees the
//! types below and a handful of functions, so that it builds and runs in host tests.

#[cfg(target_os = "none")]
pub mod aarch64;
#[cfg(target_os = "none")]
pub mod gic;
pub mod table_pool;

/// The linear ID of the core running this code (0 in host tests).
pub fn current_core() -> usize {
    #[cfg(target_os = "none")]
    {
        aarch64::current_core()
    }
    #[cfg(not(target_os = "none"))]
    {
        0
    }
}

/// Register state of an S-EL0 execution context, saved when it traps to the SPMC and
/// restored when it is resumed. The layout is shared with the assembly in `aarch64`.
#[repr(C)]
#[derive(Clone, Debug, Default)]
pub struct UserRegs {
    /// General-purpose registers x0-x30.
    pub x: [u64; 31],
    /// SP_EL0.
    pub sp: u64,
    /// ELR_EL1: where the context resumes.
    pub pc: u64,
    /// SPSR_EL1: the PSTATE it resumes with.
    pub spsr: u64,
    /// TPIDR_EL0, which EL0 can write: per partition, so it cannot carry data between them.
    pub tpidr: u64,
    /// The context's FP/SIMD registers, loaded when it first uses FP/SIMD in a run and saved
    /// when the run ends (arch::aarch64::run_user); zero for a fresh context.
    pub fp: FpRegs,
}

/// FP/SIMD register state of one context: V0-V31, FPCR, FPSR. The layout is shared with the
/// assembly in `aarch64` (`stp q`/`ldp q` pairs, then FPCR and FPSR).
#[repr(C, align(16))]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FpRegs {
    /// V0-V31 (128 bits each).
    pub q: [u128; 32],
    /// FPCR.
    pub fpcr: u64,
    /// FPSR.
    pub fpsr: u64,
}

/// SPSR value for AArch64 EL0t with IRQ unmasked and FIQ masked (PSTATE.F), the state an SP
/// starts in. In the secure state a Group 1 Secure interrupt is an IRQ and a Non-secure Group 1
/// or Group 0 one is an FIQ (GICv3 spec, table 4-3). IRQs stop the SP so that the SPMC takes
/// the secure interrupts it owns (spmc/interrupt.rs). PSTATE.F is set or cleared before every
/// run by `spmc::run::until_call`: FIQ is how a non-secure interrupt reaches S-EL1, and it is
/// unmasked only while the SP handles a request it may be preempted in (its
/// `ns-interrupts-action`, docs/architecture.md, "Scheduling"); masked, the interrupt stays
/// pending until the SPMC returns to the normal world, which then takes it.
pub const SPSR_EL0T: u64 = 1 << 6;

/// Why an S-EL0 context stopped running and returned control to the SPMC.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Exit {
    /// A synchronous exception (SVC, abort, undefined instruction), with ESR_EL1 and FAR_EL1.
    Sync { esr: u64, far: u64 },
    /// An IRQ was taken while the context ran.
    Irq,
    /// An FIQ was taken while the context ran.
    Fiq,
    /// An SError was taken while the context ran.
    SError { esr: u64 },
}

/// ESR_EL1.EC values the SPMC distinguishes (Arm ARM D17.2.37).
pub mod esr {
    pub const EC_SHIFT: u64 = 26;
    pub const EC_UNKNOWN: u64 = 0x00;
    pub const EC_SVC64: u64 = 0x15;
    pub const EC_IABT_LOWER: u64 = 0x20;
    pub const EC_DABT_LOWER: u64 = 0x24;
    pub const EC_PC_ALIGN: u64 = 0x22;
    pub const EC_SP_ALIGN: u64 = 0x26;
    pub const EC_FP: u64 = 0x07;

    /// Returns the exception class field of an ESR value.
    pub const fn ec(esr: u64) -> u64 {
        (esr >> EC_SHIFT) & 0x3f
    }

    /// Returns the immediate of an SVC (ISS[15:0] when the class is [`EC_SVC64`]).
    pub const fn svc_imm(esr: u64) -> u16 {
        esr as u16
    }

    /// Names an exception class for fault reports.
    pub fn describe(esr: u64) -> &'static str {
        match ec(esr) {
            EC_UNKNOWN => "undefined instruction",
            EC_SVC64 => "SVC",
            EC_IABT_LOWER => "instruction abort",
            EC_DABT_LOWER => "data abort",
            EC_PC_ALIGN => "PC alignment fault",
            EC_SP_ALIGN => "SP alignment fault",
            EC_FP => "FP/SIMD access trap",
            _ => "exception",
        }
    }
}
