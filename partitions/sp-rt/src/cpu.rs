//! What the CPU gives an S-EL0 partition besides FF-A: the EL0 system registers C runtimes
//! use (CTR_EL0, DCZID_EL0, CNTFRQ_EL0, CNTVCT_EL0), DC ZVA, and FP/SIMD registers. The SPMC
//! grants EL0 the same as Linux grants its user space, and switches FP/SIMD state per
//! partition (partitions/README.md). Test SPs use these to check that.
//!
//! Only the register accesses are architecture code; on the host they act on a simulated
//! register file so the handlers above them run in host tests.

/// The EL0-readable identification and timer registers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct El0Regs {
    /// CTR_EL0 (cache type).
    pub ctr: u64,
    /// DCZID_EL0 (DC ZVA block size; bit 4 = prohibited).
    pub dczid: u64,
    /// CNTFRQ_EL0 (counter frequency).
    pub cntfrq: u64,
    /// CNTVCT_EL0 (virtual count).
    pub cntvct: u64,
}

/// The value V`i` gets from [`fp_fill`] with `seed`.
pub fn fp_pattern(seed: u64, i: usize) -> u128 {
    let a = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i as u64;
    let b = seed.rotate_left(i as u32 + 1) ^ 0x5A5A_0000_0000_0000;
    u128::from(b) << 64 | u128::from(a)
}

/// FPCR value [`fp_fill`] sets: rounding mode (bits 23:22) from the seed, flush-to-zero.
pub fn fpcr_pattern(seed: u64) -> u64 {
    (seed & 3) << 22 | 1 << 24
}

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod imp {
    use super::El0Regs;
    use core::arch::asm;

    pub fn el0_regs() -> El0Regs {
        let (ctr, dczid, cntfrq, cntvct): (u64, u64, u64, u64);
        // SAFETY: reading these registers has no side effects; the SPMC lets EL0 read them
        // (SCTLR_EL1.UCT, CNTKCTL_EL1.EL0VCTEN; DCZID_EL0 is always readable). Were it not
        // to, the read would trap and the SPMC abort this partition, never corrupt memory.
        unsafe {
            asm!(
                "mrs {0}, ctr_el0",
                "mrs {1}, dczid_el0",
                "mrs {2}, cntfrq_el0",
                "isb",
                "mrs {3}, cntvct_el0",
                out(reg) ctr, out(reg) dczid, out(reg) cntfrq, out(reg) cntvct,
                options(nomem, nostack)
            )
        };
        El0Regs {
            ctr,
            dczid,
            cntfrq,
            cntvct,
        }
    }

    pub fn dc_zva(addr: *mut u8) {
        // SAFETY: the caller passes the start of a DC ZVA block it owns (checked in
        // `super::dc_zva`); DC ZVA writes zeros to exactly that block.
        unsafe { asm!("dc zva, {0}", in(reg) addr, options(nostack)) };
    }

    // The FP/SIMD registers are not declared as clobbers: this target is soft-float, so the
    // compiler never keeps a value in them (and cannot name them); only this code uses them.
    pub fn fp_load(v: &[u128; 32], fpcr: u64) {
        // SAFETY: reads the 512 bytes of `v` (16-byte aligned as u128) into V0-V31 and sets
        // FPCR; nothing else is touched.
        unsafe {
            asm!(
                ".arch_extension fp",
                ".arch_extension simd",
                "ldp q0, q1, [{p}, #0]",
                "ldp q2, q3, [{p}, #32]",
                "ldp q4, q5, [{p}, #64]",
                "ldp q6, q7, [{p}, #96]",
                "ldp q8, q9, [{p}, #128]",
                "ldp q10, q11, [{p}, #160]",
                "ldp q12, q13, [{p}, #192]",
                "ldp q14, q15, [{p}, #224]",
                "ldp q16, q17, [{p}, #256]",
                "ldp q18, q19, [{p}, #288]",
                "ldp q20, q21, [{p}, #320]",
                "ldp q22, q23, [{p}, #352]",
                "ldp q24, q25, [{p}, #384]",
                "ldp q26, q27, [{p}, #416]",
                "ldp q28, q29, [{p}, #448]",
                "ldp q30, q31, [{p}, #480]",
                "msr fpcr, {c}",
                p = in(reg) v.as_ptr(),
                c = in(reg) fpcr,
                options(nostack, readonly)
            )
        };
    }

    /// Stores V0-V31 and FPCR the way a variadic function's prologue spills q0-q7 (GCC's
    /// `stp q` sequence), for all 32.
    pub fn fp_store(v: &mut [u128; 32]) -> u64 {
        let fpcr: u64;
        // SAFETY: writes 512 bytes into `v` (16-byte aligned, exclusively borrowed) and reads
        // FPCR.
        unsafe {
            asm!(
                ".arch_extension fp",
                ".arch_extension simd",
                "stp q0, q1, [{p}, #0]",
                "stp q2, q3, [{p}, #32]",
                "stp q4, q5, [{p}, #64]",
                "stp q6, q7, [{p}, #96]",
                "stp q8, q9, [{p}, #128]",
                "stp q10, q11, [{p}, #160]",
                "stp q12, q13, [{p}, #192]",
                "stp q14, q15, [{p}, #224]",
                "stp q16, q17, [{p}, #256]",
                "stp q18, q19, [{p}, #288]",
                "stp q20, q21, [{p}, #320]",
                "stp q22, q23, [{p}, #352]",
                "stp q24, q25, [{p}, #384]",
                "stp q26, q27, [{p}, #416]",
                "stp q28, q29, [{p}, #448]",
                "stp q30, q31, [{p}, #480]",
                "mrs {c}, fpcr",
                p = in(reg) v.as_mut_ptr(),
                c = out(reg) fpcr,
                options(nostack)
            )
        };
        fpcr
    }
}

#[cfg(not(all(target_arch = "aarch64", target_os = "none")))]
mod imp {
    use super::El0Regs;
    use spin::Mutex;

    static FILE: Mutex<([u128; 32], u64)> = Mutex::new(([0; 32], 0));

    pub fn el0_regs() -> El0Regs {
        El0Regs {
            ctr: 0x8444_C004,
            dczid: 4,
            cntfrq: 62_500_000,
            cntvct: 1,
        }
    }

    pub fn dc_zva(addr: *mut u8) {
        for i in 0..64 {
            // SAFETY: `super::dc_zva` checked the 64-byte block lies in the caller's buffer.
            unsafe { addr.add(i).write(0) };
        }
    }

    pub fn fp_load(v: &[u128; 32], fpcr: u64) {
        *FILE.lock() = (*v, fpcr);
    }

    pub fn fp_store(v: &mut [u128; 32]) -> u64 {
        let f = FILE.lock();
        *v = f.0;
        f.1
    }
}

/// Reads CTR_EL0, DCZID_EL0, CNTFRQ_EL0 and CNTVCT_EL0 at EL0.
pub fn el0_regs() -> El0Regs {
    imp::el0_regs()
}

/// The virtual counter (CNTVCT_EL0, readable at EL0: the SPMC sets CNTKCTL_EL1.EL0VCTEN).
/// On the host, a counter that advances by one per read.
pub fn counter() -> u64 {
    #[cfg(target_os = "none")]
    {
        el0_regs().cntvct
    }
    #[cfg(not(target_os = "none"))]
    {
        static NOW: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
        NOW.fetch_add(1, core::sync::atomic::Ordering::Relaxed)
    }
}

/// Spins until the counter has advanced `ticks` past `start`; returns the counter then.
/// Interrupts may take the core meanwhile: the counter keeps counting.
pub fn spin_until(start: u64, ticks: u64) -> u64 {
    loop {
        let now = counter();
        if now.wrapping_sub(start) >= ticks {
            return now;
        }
        core::hint::spin_loop();
    }
}

/// Zeroes the DC ZVA block(s) of `buf` with DC ZVA at EL0; returns how many blocks it zeroed
/// (0 when DCZID_EL0 says DC ZVA is prohibited).
pub fn dc_zva(buf: &mut [u8]) -> usize {
    let id = el0_regs().dczid;
    if id & (1 << 4) != 0 {
        return 0;
    }
    let block = 4usize << (id & 0xF);
    let start = buf.as_ptr() as usize;
    let first = start.next_multiple_of(block) - start;
    let mut n = 0;
    let mut off = first;
    while off + block <= buf.len() {
        imp::dc_zva(buf[off..off + block].as_mut_ptr());
        off += block;
        n += 1;
    }
    n
}

/// Sets V0-V31 to [`fp_pattern`]`(seed, i)` and FPCR to [`fpcr_pattern`]`(seed)`.
pub fn fp_fill(seed: u64) {
    let v: [u128; 32] = core::array::from_fn(|i| fp_pattern(seed, i));
    imp::fp_load(&v, fpcr_pattern(seed));
}

/// Spills V0-V31 and FPCR to memory and counts the registers that differ from what
/// [`fp_fill`]`(seed)` set (FPCR counts as one).
pub fn fp_mismatches(seed: u64) -> u32 {
    let mut v = [0u128; 32];
    let fpcr = imp::fp_store(&mut v);
    let regs = v
        .iter()
        .enumerate()
        .filter(|(i, x)| **x != fp_pattern(seed, *i))
        .count() as u32;
    regs + u32::from(fpcr & fpcr_pattern_mask() != fpcr_pattern(seed))
}

/// The FPCR bits [`fpcr_pattern`] sets.
fn fpcr_pattern_mask() -> u64 {
    3 << 22 | 1 << 24
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_then_check() {
        fp_fill(7);
        assert_eq!(fp_mismatches(7), 0);
        assert_eq!(fp_mismatches(8), 33);
        assert_ne!(fp_pattern(1, 0), fp_pattern(1, 1));
        let mut b = vec![0xAAu8; 256];
        let n = dc_zva(&mut b);
        assert!(n >= 2);
    }
}
