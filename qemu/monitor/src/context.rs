//! Per-core, per-world CPU context: the general registers saved by entry.S on every lower-EL
//! exception, and the EL1 system registers that both worlds share physically and that the
//! monitor therefore swaps on every world switch (the secure world has no EL2 here, so the
//! non-secure EL2 registers are never touched by it and need no save).

use crate::arch::{read_sysreg, write_sysreg};

/// General-purpose state of one world, in the layout entry.S uses (offsets are asserted below).
#[repr(C, align(16))]
#[derive(Clone, Copy)]
pub struct GpRegs {
    /// x0..x30.
    pub x: [u64; 31],
    pub sp_el0: u64,
    /// Where the world resumes.
    pub elr_el3: u64,
    /// PSTATE the world resumes with.
    pub spsr_el3: u64,
    /// Top of this core's EL3 stack, loaded by entry.S after saving the registers.
    pub runtime_sp: u64,
    _pad: u64,
}

const _: () = {
    assert!(core::mem::size_of::<GpRegs>() == 0x120);
    assert!(core::mem::offset_of!(GpRegs, sp_el0) == 0xf8);
    assert!(core::mem::offset_of!(GpRegs, elr_el3) == 0x100);
    assert!(core::mem::offset_of!(GpRegs, runtime_sp) == 0x110);
};

impl GpRegs {
    pub const fn new() -> Self {
        Self {
            x: [0; 31],
            sp_el0: 0,
            elr_el3: 0,
            spsr_el3: 0,
            runtime_sp: 0,
            _pad: 0,
        }
    }

    /// Sets x0..x7 like an SMCCC return of eight values, leaving x8..x17 as they were.
    pub fn ret8(&mut self, values: [u64; 8]) {
        self.x[..8].copy_from_slice(&values);
    }

    /// Sets x0..x17 (an FF-A message crossing worlds).
    pub fn set_args(&mut self, values: &[u64; 18]) {
        self.x[..18].copy_from_slice(values);
    }
}

/// Declares the EL1 register set with its save and restore, from one list.
macro_rules! el1_sysregs {
    ($($reg:ident),* $(,)?) => {
        /// EL1 (and EL0 thread-ID) system registers of one world.
        #[derive(Clone, Copy)]
        #[allow(non_snake_case)]
        pub struct El1Sysregs { $(pub $reg: u64,)* }

        impl El1Sysregs {
            pub const fn zeroed() -> Self { Self { $($reg: 0,)* } }

            /// Captures the live registers (they belong to the world that just left).
            pub fn save(&mut self) { $(self.$reg = read_sysreg!($reg);)* }

            /// Loads the registers of the world about to run.
            pub fn restore(&self) { $(write_sysreg!($reg, self.$reg);)* }
        }
    };
}

el1_sysregs!(
    sctlr_el1,
    actlr_el1,
    cpacr_el1,
    csselr_el1,
    sp_el1,
    esr_el1,
    ttbr0_el1,
    ttbr1_el1,
    mair_el1,
    amair_el1,
    tcr_el1,
    tpidr_el1,
    tpidr_el0,
    tpidrro_el0,
    par_el1,
    far_el1,
    afsr0_el1,
    afsr1_el1,
    contextidr_el1,
    vbar_el1,
    elr_el1,
    spsr_el1,
    cntkctl_el1,
    mdscr_el1,
);

/// SCTLR_EL1 with only its ARMv8.0 RES1 bits set: MMU, caches and alignment checks off.
pub const SCTLR_EL1_RESET: u64 = 0x30D0_0800;

pub use qemu_monitor::spmd::World;

/// Everything saved about one world on one core.
#[derive(Clone, Copy)]
pub struct WorldContext {
    pub gp: GpRegs,
    pub el1: El1Sysregs,
}

impl WorldContext {
    pub const fn new() -> Self {
        Self {
            gp: GpRegs::new(),
            el1: El1Sysregs::zeroed(),
        }
    }

    /// Resets the context for a fresh entry at `pc` with `spsr`; EL1 starts with the MMU off.
    pub fn reset(&mut self, pc: u64, spsr: u64, runtime_sp: u64) {
        self.gp = GpRegs::new();
        self.gp.elr_el3 = pc;
        self.gp.spsr_el3 = spsr;
        self.gp.runtime_sp = runtime_sp;
        self.el1 = El1Sysregs::zeroed();
        self.el1.sctlr_el1 = SCTLR_EL1_RESET;
    }
}
