//! The driver's architecture layer at NS-EL2: the SMC conduit, counters, events and the
//! exception handler that turns a faulting probe load into a reported result.

use core::arch::asm;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Issues `SMC #0` with x0..x17 (SMCCC v1.2) and returns x0..x17.
pub fn smc(args: [u64; 18]) -> [u64; 18] {
    let mut r = args;
    // SAFETY: SMC traps to the EL3 monitor, which only changes x0..x17 (declared as in/out
    // here) and resumes at the next instruction; it does not touch this world's memory.
    unsafe {
        asm!(
            "smc #0",
            inout("x0") r[0], inout("x1") r[1], inout("x2") r[2], inout("x3") r[3],
            inout("x4") r[4], inout("x5") r[5], inout("x6") r[6], inout("x7") r[7],
            inout("x8") r[8], inout("x9") r[9], inout("x10") r[10], inout("x11") r[11],
            inout("x12") r[12], inout("x13") r[13], inout("x14") r[14], inout("x15") r[15],
            inout("x16") r[16], inout("x17") r[17],
            options(nostack)
        );
    }
    r
}

/// Returns the index of the executing core (MPIDR_EL1.Aff0 on sbsa-ref).
pub fn core_index() -> usize {
    let mpidr: u64;
    // SAFETY: reading MPIDR_EL1 has no side effects.
    unsafe { asm!("mrs {}, mpidr_el1", out(reg) mpidr, options(nomem, nostack)) };
    (mpidr & 0xFF) as usize
}

/// MIDR_EL1: which CPU model QEMU runs (the SMCCC workaround answers depend on it).
pub fn midr() -> u64 {
    let midr: u64;
    // SAFETY: reading MIDR_EL1 has no side effects.
    unsafe { asm!("mrs {}, midr_el1", out(reg) midr, options(nomem, nostack)) };
    midr
}

/// sbsa-ref's GICv3 redistributors (TF-A qemu_sbsa `GICR_BASE`, platform-facts), 128 KiB per
/// core in core order; the SGI/PPI registers are in the second 64 KiB frame.
const GICR_BASE: u64 = 0x4008_0000;
const GICR_STRIDE: u64 = 0x2_0000;
const GICR_ISPENDR0: u64 = 0x1_0200;
const GICR_ICPENDR0: u64 = 0x1_0280;

/// Tells whether SGI `intid` is pending on this core's redistributor (GICR_ISPENDR0) and, if
/// so, clears it (GICR_ICPENDR0). The driver never unmasks interrupts, so an SGI another
/// world raised for it stays pending until read here.
pub fn take_pending_sgi(intid: u32) -> bool {
    let frame = GICR_BASE + core_index() as u64 * GICR_STRIDE;
    let bit = 1u32 << (intid & 0xF);
    let pending: u32;
    // SAFETY: a 32-bit load of GICR_ISPENDR0 of this core's redistributor (sbsa-ref device
    // memory, not Rust-owned; the EL2 MMU is off); reading it has no side effect.
    unsafe {
        asm!("ldr {v:w}, [{a}]", a = in(reg) frame + GICR_ISPENDR0, v = out(reg) pending,
            options(nostack, readonly))
    };
    if pending & bit == 0 {
        return false;
    }
    // SAFETY: a 32-bit store to GICR_ICPENDR0 of the same redistributor: it clears the pending
    // state of the SGIs whose bits are set (only `intid`'s), and touches no memory.
    unsafe {
        asm!("str {v:w}, [{a}]", "dsb sy", a = in(reg) frame + GICR_ICPENDR0, v = in(reg) bit,
            options(nostack))
    };
    true
}

/// Reads the physical counter and its frequency.
pub fn counter() -> (u64, u64) {
    let (count, freq): (u64, u64);
    // SAFETY: reading CNTPCT_EL0/CNTFRQ_EL0 at EL2 has no side effects.
    unsafe {
        asm!("isb", "mrs {}, cntpct_el0", "mrs {}, cntfrq_el0", out(reg) count, out(reg) freq,
            options(nomem, nostack))
    };
    (count, freq.max(1))
}

/// Polls `done` until it holds or `ms` milliseconds of counter time pass; returns `done()`.
pub fn wait_until(ms: u64, mut done: impl FnMut() -> bool) -> bool {
    let (start, freq) = counter();
    let ticks = freq / 1000 * ms;
    while !done() {
        if counter().0.wrapping_sub(start) > ticks {
            return done();
        }
        yield_core();
    }
    true
}

/// Hints that this core is polling. Single-threaded QEMU (the runner's default, and always
/// with -icount) switches to the next vCPU on YIELD, so a polling primary lets the core it
/// waits for run; without it, under -icount, the other core would only run once the primary's
/// instruction budget is spent.
pub fn yield_core() {
    // SAFETY: YIELD is a hint with no architectural effect.
    unsafe { asm!("yield", options(nomem, nostack, preserves_flags)) };
}

/// Waits for an event (SEV from another core).
pub fn wfe() {
    // SAFETY: WFE only pauses this core.
    unsafe { asm!("wfe", options(nomem, nostack, preserves_flags)) };
}

/// Makes prior stores visible and wakes cores waiting in WFE.
pub fn sev() {
    // SAFETY: DSB and SEV touch no Rust-visible memory.
    unsafe { asm!("dsb sy", "sev", options(nostack, preserves_flags)) };
}

/// Set while a probe load is in flight on the primary core.
static PROBE_ARMED: AtomicBool = AtomicBool::new(false);
/// ESR_EL2 of the abort the probe took (0: none).
static PROBE_ESR: AtomicU64 = AtomicU64::new(0);

/// Loads the 64-bit word at physical address `pa` (the EL2 MMU is off); returns the value, or
/// the ESR_EL2 of the external abort the load took. Only one core may probe at a time.
pub fn probe_read(pa: u64) -> Result<u64, u64> {
    PROBE_ESR.store(0, Ordering::SeqCst);
    PROBE_ARMED.store(true, Ordering::SeqCst);
    let value: u64;
    // SAFETY: a single load from `pa`, which may not be backed; if it aborts, ns_exception
    // (armed above) records the syndrome and resumes after this one instruction, so `value`
    // is then garbage and not used. The DSB/ISB pair makes an asynchronous SError, if the
    // platform reports the abort that way, arrive before the flag is read.
    unsafe {
        asm!("ldr {v}, [{a}]", "dsb sy", "isb", a = in(reg) pa, v = out(reg) value,
            options(nostack, readonly))
    };
    PROBE_ARMED.store(false, Ordering::SeqCst);
    match PROBE_ESR.load(Ordering::SeqCst) {
        0 => Ok(value),
        esr => Err(esr),
    }
}

/// ESR_EL2.EC of a data abort taken without a change of EL.
const EC_DATA_ABORT_SAME_EL: u64 = 0x25;
/// Vector slots (entry.S): current EL with SP_ELx, synchronous and SError.
const VECTOR_SYNC_SPX: u64 = 4;
const VECTOR_SERROR_SPX: u64 = 7;

/// Called by entry.S for every exception; returns the address to resume at.
#[no_mangle]
extern "C" fn ns_exception(vector: u64, esr: u64, elr: u64, far: u64) -> u64 {
    let armed = PROBE_ARMED.load(Ordering::SeqCst);
    if armed && vector == VECTOR_SYNC_SPX && esr >> 26 == EC_DATA_ABORT_SAME_EL {
        PROBE_ESR.store(esr, Ordering::SeqCst);
        return elr + 4;
    }
    if armed && vector == VECTOR_SERROR_SPX {
        PROBE_ESR.store(esr | 1 << 63, Ordering::SeqCst);
        return elr;
    }
    crate::console::line(format_args!(
        "unexpected exception: vector {vector}, ESR_EL2 {esr:#x}, ELR {elr:#x}, FAR {far:#x}"
    ));
    crate::psci::system_off(crate::EXIT_CRASHED)
}

/// Declares the NS-EL1 registers the world-switch test owns, with snapshot and load.
macro_rules! el1_state {
    ($($reg:ident),* $(,)?) => {
        /// Values of NS-EL1 system registers (the driver itself runs at EL2 and does not use
        /// them, so it may set them freely).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct El1State { $(pub $reg: u64,)* }

        impl El1State {
            /// Reads the live registers.
            pub fn read() -> Self {
                $(
                    let $reg: u64;
                    // SAFETY: reading an EL1 register from EL2 (HCR_EL2.E2H = 0) has no side
                    // effects.
                    unsafe {
                        asm!(concat!("mrs {}, ", stringify!($reg)), out(reg) $reg,
                            options(nomem, nostack))
                    };
                )*
                Self { $($reg,)* }
            }

            /// Returns the first register whose value differs: (name, self, other).
            pub fn first_difference(&self, other: &Self) -> Option<(&'static str, u64, u64)> {
                $(
                    if self.$reg != other.$reg {
                        return Some((stringify!($reg), self.$reg, other.$reg));
                    }
                )*
                None
            }

            /// Loads the registers. Nothing runs at NS-EL1, so no code depends on them.
            pub fn write(&self) {
                $(
                    // SAFETY: see above: these EL1 registers configure an exception level
                    // that never runs in this driver.
                    unsafe {
                        asm!(concat!("msr ", stringify!($reg), ", {}"), in(reg) self.$reg,
                            options(nomem, nostack))
                    };
                )*
                // SAFETY: ISB only synchronises the writes above.
                unsafe { asm!("isb", options(nomem, nostack)) };
            }
        }
    };
}

el1_state!(
    sctlr_el1,
    cpacr_el1,
    ttbr0_el1,
    ttbr1_el1,
    tcr_el1,
    mair_el1,
    amair_el1,
    vbar_el1,
    contextidr_el1,
    tpidr_el1,
    tpidr_el0,
    tpidrro_el0,
    elr_el1,
    spsr_el1,
    sp_el1,
    esr_el1,
    far_el1,
    cntkctl_el1,
);

/// Enables the PMU cycle counter for this EL (PMCR_EL0.E | C reset, PMCNTENSET_EL0.C) and
/// returns (CNTVCT_EL0, PMCCNTR_EL0).
pub fn read_counters() -> (u64, u64) {
    let (vct, ccnt): (u64, u64);
    // SAFETY: PMCR_EL0/PMCNTENSET_EL0 only control this core's PMU counting; the reads have
    // no side effects. If EL3 trapped PMU access (MDCR_EL3.TPM) this would trap to EL3.
    unsafe {
        asm!(
            "mrs {t}, pmcr_el0",
            "orr {t}, {t}, #1",
            "msr pmcr_el0, {t}",
            "mov {t}, #(1 << 31)",
            "msr pmcntenset_el0, {t}",
            "isb",
            "mrs {v}, cntvct_el0",
            "mrs {c}, pmccntr_el0",
            t = out(reg) _, v = out(reg) vct, c = out(reg) ccnt,
            options(nomem, nostack)
        )
    };
    (vct, ccnt)
}

/// CTR_EL0, DCZID_EL0 and CNTFRQ_EL0 as this world sees them (the SPs' EL0 view must match).
pub fn id_regs() -> (u64, u64, u64) {
    let (ctr, dczid, frq): (u64, u64, u64);
    // SAFETY: reading these registers at EL2 has no side effects.
    unsafe {
        asm!("mrs {}, ctr_el0", "mrs {}, dczid_el0", "mrs {}, cntfrq_el0",
            out(reg) ctr, out(reg) dczid, out(reg) frq, options(nomem, nostack))
    };
    (ctr, dczid, frq)
}

/// The value V`i` gets from [`fp_fill`]`(seed)` (the same pattern as `sp_rt::cpu`).
pub fn fp_pattern(seed: u64, i: usize) -> u128 {
    let a = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i as u64;
    let b = seed.rotate_left(i as u32 + 1) ^ 0x5A5A_0000_0000_0000;
    u128::from(b) << 64 | u128::from(a)
}

/// Sets V0-V31 from `seed` and FPCR's rounding mode to `seed & 3`. The driver is soft-float:
/// the compiler never keeps values in these registers, so nothing else is disturbed.
pub fn fp_fill(seed: u64) {
    let v: [u128; 32] = core::array::from_fn(|i| fp_pattern(seed, i));
    let fpcr = (seed & 3) << 22;
    // SAFETY: reads the 512 bytes of `v` (16-byte aligned) into V0-V31 and sets FPCR; FP/SIMD
    // is not trapped at EL2 (CPTR_EL2.TFP = 0, entry.S) nor by the monitor (CPTR_EL3).
    unsafe {
        asm!(
            ".arch_extension fp",
            ".arch_extension simd",
            "ldp q0, q1, [{p}, #0]", "ldp q2, q3, [{p}, #32]", "ldp q4, q5, [{p}, #64]",
            "ldp q6, q7, [{p}, #96]", "ldp q8, q9, [{p}, #128]", "ldp q10, q11, [{p}, #160]",
            "ldp q12, q13, [{p}, #192]", "ldp q14, q15, [{p}, #224]",
            "ldp q16, q17, [{p}, #256]", "ldp q18, q19, [{p}, #288]",
            "ldp q20, q21, [{p}, #320]", "ldp q22, q23, [{p}, #352]",
            "ldp q24, q25, [{p}, #384]", "ldp q26, q27, [{p}, #416]",
            "ldp q28, q29, [{p}, #448]", "ldp q30, q31, [{p}, #480]",
            "msr fpcr, {c}",
            p = in(reg) v.as_ptr(), c = in(reg) fpcr, options(nostack, readonly)
        )
    };
}

/// Counts the V registers (and FPCR's rounding mode, as one) that differ from what
/// [`fp_fill`]`(seed)` set.
pub fn fp_mismatches(seed: u64) -> u32 {
    let mut v = [0u128; 32];
    let fpcr: u64;
    // SAFETY: writes 512 bytes into `v` (16-byte aligned, exclusively borrowed), reads FPCR.
    unsafe {
        asm!(
            ".arch_extension fp",
            ".arch_extension simd",
            "stp q0, q1, [{p}, #0]", "stp q2, q3, [{p}, #32]", "stp q4, q5, [{p}, #64]",
            "stp q6, q7, [{p}, #96]", "stp q8, q9, [{p}, #128]", "stp q10, q11, [{p}, #160]",
            "stp q12, q13, [{p}, #192]", "stp q14, q15, [{p}, #224]",
            "stp q16, q17, [{p}, #256]", "stp q18, q19, [{p}, #288]",
            "stp q20, q21, [{p}, #320]", "stp q22, q23, [{p}, #352]",
            "stp q24, q25, [{p}, #384]", "stp q26, q27, [{p}, #416]",
            "stp q28, q29, [{p}, #448]", "stp q30, q31, [{p}, #480]",
            "mrs {c}, fpcr",
            p = in(reg) v.as_mut_ptr(), c = out(reg) fpcr, options(nostack)
        )
    };
    let regs = v
        .iter()
        .enumerate()
        .filter(|(i, x)| **x != fp_pattern(seed, *i))
        .count() as u32;
    regs + u32::from((fpcr >> 22) & 3 != seed & 3)
}
