//! EL3 trap controls the monitor sets for the lower ELs, and what a trap it does not handle
//! means, kept here so that they are tested on the host.

/// CPTR_EL3.EZ: SVE instructions and ZCR_ELx accesses are not trapped to EL3.
pub const CPTR_EZ: u64 = 1 << 8;
/// CPTR_EL3.TFP: FP/SIMD instructions are trapped to EL3.
pub const CPTR_TFP: u64 = 1 << 10;
/// CPTR_EL3.ESM: SME instructions and SMCR_ELx accesses are not trapped to EL3.
pub const CPTR_ESM: u64 = 1 << 12;

/// Whether the monitor saves and restores the normal world's SVE state (Z0-Z31, P0-P15, FFR,
/// ZCR_EL2/EL1; with SME also the streaming mode, ZA and ZT0) over a world switch, TF-A's
/// `CTX_INCLUDE_SVE_REGS=1`. It does not: the monitor
/// keeps no FP/SIMD registers at all, and the SPMC keeps only the normal world's V0-V31, FPCR
/// and FPSR (kernel/src/arch/aarch64.rs, the role of TF-A's `CTX_INCLUDE_FPREGS=1`).
pub const SAVES_SVE_STATE: bool = false;

/// CPTR_EL3, the same for both worlds: FP/SIMD, trace and the activity monitors are not
/// trapped (TFP, TTA, TAM = 0); SVE (EZ) and SME (ESM) are left untrapped only on a CPU that
/// has them (`id_aa64pfr0_el1` SVE [35:32], `id_aa64pfr1_el1` SME [27:24]) and only when
/// `saves_sve` (the monitor keeps the SVE state, [`SAVES_SVE_STATE`]).
///
/// As TF-A: make_helpers/constraints.mk forces `ENABLE_SVE_FOR_NS=0` when FP registers are
/// kept without the SVE ones ("CTX_INCLUDE_FPREGS and ENABLE_SVE_FOR_NS together require
/// CTX_INCLUDE_SVE_REGS"; docs/getting_started/build-options.rst: to avoid corrupting the
/// normal world's Z registers, which alias the FP/SIMD ones), and refuses `ENABLE_SME_FOR_NS`
/// without `ENABLE_SVE_FOR_NS`. With both off, TF-A leaves CPTR_EL3.EZ and ESM clear
/// (lib/extensions/sve/sve.c and sme/sme.c are not called). Otherwise an SP's FP/SIMD use,
/// whose V-register loads zero Z0-Z31 above bit 127, would corrupt live SVE state of the
/// normal world that the SPMC does not save.
pub fn cptr_el3(pfr0: u64, pfr1: u64, saves_sve: bool) -> u64 {
    let has_sve = (pfr0 >> 32) & 0xF != 0;
    let has_sme = (pfr1 >> 24) & 0xF != 0;
    let mut v = 0;
    if saves_sve && has_sve {
        v |= CPTR_EZ;
        if has_sme {
            v |= CPTR_ESM;
        }
    }
    v
}

/// ESR_EL3.EC of a trapped SVE access (CPTR_EL3.EZ = 0).
pub const EC_SVE: u64 = 0x19;
/// ESR_EL3.EC of a trapped SME access (CPTR_EL3.ESM = 0).
pub const EC_SME: u64 = 0x1D;

/// Why the monitor stops on a synchronous exception other than an SMC with class `ec`, if it
/// is one it expects a normal world may cause. TF-A would inject an UNDEF into the lower EL
/// instead (common/runtime_svc.c `handler_sync_exception` -> `inject_undef64`); this test
/// fixture stops the run so that the cause is seen.
pub fn unhandled_trap_note(ec: u64) -> Option<&'static str> {
    match ec {
        EC_SVE | EC_SME => Some(
            "(SVE/SME is trapped at EL3 because the monitor keeps no SVE state, as TF-A \
             built with ENABLE_SVE_FOR_NS=0: use a CPU model without SVE/SME, e.g. cortex-a72)",
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ID_AA64PFR0_EL1 with SVE = 1, ID_AA64PFR1_EL1 with SME = 1 (`-cpu max`).
    const PFR0_SVE: u64 = 1 << 32;
    const PFR1_SME: u64 = 1 << 24;

    /// Review 5 F7: on a CPU with SVE and SME, the monitor, which keeps no SVE state, leaves
    /// both trapped for the normal world as TF-A's build does (ENABLE_SVE_FOR_NS forced to 0);
    /// FP/SIMD stays untrapped.
    #[test]
    fn sve_and_sme_stay_trapped_without_an_sve_save_as_in_tf_a() {
        let v = cptr_el3(PFR0_SVE, PFR1_SME, SAVES_SVE_STATE);
        assert_eq!(v & (CPTR_EZ | CPTR_ESM), 0, "CPTR_EL3 {v:#x}");
        assert_eq!(v & CPTR_TFP, 0, "CPTR_EL3 {v:#x}");
        // A CPU without them: nothing to enable.
        assert_eq!(cptr_el3(0, 0, SAVES_SVE_STATE), 0);
    }

    /// The combination TF-A allows (CTX_INCLUDE_SVE_REGS=1): enabled only where implemented.
    #[test]
    fn sve_is_untrapped_only_with_its_state_saved_and_present() {
        assert_eq!(cptr_el3(PFR0_SVE, PFR1_SME, true), CPTR_EZ | CPTR_ESM);
        assert_eq!(cptr_el3(PFR0_SVE, 0, true), CPTR_EZ);
        assert_eq!(cptr_el3(0, PFR1_SME, true), 0);
    }

    #[test]
    fn an_sve_or_sme_trap_is_explained() {
        assert!(unhandled_trap_note(EC_SVE).is_some_and(|n| n.contains("ENABLE_SVE_FOR_NS=0")));
        assert!(unhandled_trap_note(EC_SME).is_some());
        assert_eq!(unhandled_trap_note(0x00), None);
    }
}
