//! The monitor's thin architecture layer: system-register access, event wait/signal, core
//! identity and the semihosting exit. Everything `unsafe` about the CPU lives here.

use core::arch::asm;

/// Reads a system register by name.
macro_rules! read_sysreg {
    ($reg:ident) => {{
        let value: u64;
        // SAFETY: reading this system register at EL3 has no side effect on memory.
        unsafe {
            core::arch::asm!(concat!("mrs {}, ", stringify!($reg)), out(reg) value,
                options(nomem, nostack, preserves_flags))
        };
        value
    }};
}

/// Writes a system register by name. The caller states why the write is sound.
macro_rules! write_sysreg {
    ($reg:ident, $value:expr) => {{
        let value: u64 = $value;
        // SAFETY: the monitor only writes registers that configure lower ELs or its own EL3
        // controls with values documented at the call site; no Rust-visible memory changes.
        unsafe {
            core::arch::asm!(concat!("msr ", stringify!($reg), ", {}"), in(reg) value,
                options(nomem, nostack, preserves_flags))
        };
    }};
}

pub(crate) use read_sysreg;
pub(crate) use write_sysreg;

/// Largest number of cores the monitor handles (sbsa-ref numbers them in MPIDR.Aff0).
pub const MAX_CORES: usize = 8;

/// Returns the index of the executing core (MPIDR_EL1.Aff0; the boot code parked any core with
/// higher affinity levels set or Aff0 >= [`MAX_CORES`]).
pub fn core_index() -> usize {
    (read_sysreg!(mpidr_el1) & 0xFF) as usize % MAX_CORES
}

/// Waits for an event (another core's SEV or a cleared exclusive monitor).
pub fn wfe() {
    // SAFETY: WFE only pauses this core; it touches no memory.
    unsafe { asm!("wfe", options(nomem, nostack, preserves_flags)) };
}

/// Wakes every core waiting in WFE, after prior stores are visible.
/// Waits for an interrupt (PSCI CPU_SUSPEND): returns once one is pending for this core,
/// whatever the masks.
pub fn wfi() {
    // SAFETY: WFI only waits; no memory or register is changed.
    unsafe { core::arch::asm!("dsb sy", "wfi", options(nomem, nostack, preserves_flags)) };
}

/// What a core power-down does to the SPMC's timer: the warm reset that ends it leaves
/// CNTPS_CTL_EL1.ENABLE architecturally UNKNOWN (the Arm ARM's reset value for the field), and
/// TF-A neither saves nor restores any CNTPS register (lib/el3_runtime/aarch64/context_mgmt.c
/// saves CNTP/CNTV only, for the normal world) nor tells the SPMC (services/std_svc/spmd/
/// spmd_pm.c hooks only CPU_ON and CPU_OFF). QEMU's WFI keeps the timer running, so PSCI
/// CPU_SUSPEND's power-down path calls this to behave as the hardware may: the SPMC must not
/// rely on a timer it armed before the suspend (review 5, F1).
pub fn lose_secure_timer() {
    // SAFETY: CNTPS_CTL_EL1 (S3_7_C14_C2_1, accessible at EL3) only controls this core's
    // secure physical timer; writing 0 disables it and lowers its interrupt. No memory is
    // touched.
    unsafe {
        core::arch::asm!(
            "msr S3_7_C14_C2_1, xzr",
            "isb",
            options(nomem, nostack, preserves_flags)
        )
    };
}

/// ISR_EL1 (readable at EL3): IRQ, FIQ or SError pending for this core.
pub fn interrupt_pending() -> bool {
    read_sysreg!(isr_el1) != 0
}

/// MIDR_EL1: which CPU this is (for SMCCC_ARCH_FEATURES' workaround answers).
pub fn midr() -> u64 {
    read_sysreg!(midr_el1)
}

pub fn sev() {
    // SAFETY: DSB orders this core's prior stores before SEV; neither touches Rust-owned memory.
    unsafe { asm!("dsb sy", "sev", options(nostack, preserves_flags)) };
}

/// Ends the QEMU run with `status` through Arm semihosting SYS_EXIT (ADP_Stopped_ApplicationExit).
pub fn semihosting_exit(status: u64) -> ! {
    let block: [u64; 2] = [0x2_0026, status];
    loop {
        // SAFETY: SYS_EXIT (w0 = 0x18) reads the two-word block x1 points at, which lives on
        // this stack frame for the duration of the call; QEMU then terminates.
        unsafe { asm!("hlt #0xf000", in("x0") 0x18u64, in("x1") block.as_ptr(), options(nostack)) };
    }
}

extern "C" {
    /// Restores the world saved in `ctx` and ERETs to it (entry.S).
    pub fn el3_exit(ctx: *mut crate::context::GpRegs) -> !;
    /// The EL3 vector table (entry.S).
    static el3_vectors: u8;
}

/// Address of the EL3 vector table.
pub fn vectors_address() -> u64 {
    core::ptr::addr_of!(el3_vectors) as u64
}
