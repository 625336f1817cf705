//! The kernel logic's machine seam (`spmc::Env`) on the real hardware: [`Machine`], one per
//! core, built from the arch layer's primitives (`arch::aarch64`, `arch::gic`). It sits above
//! both the arch layer and `spmc`, so the arch layer imports no kernel logic
//! (docs/architecture.md, "The kernel's map"); it needs no `unsafe` of its own.
#![forbid(unsafe_code)]

use crate::arch::aarch64 as hw;
use crate::arch::{gic, Exit, UserRegs};
use crate::spmc::Env;

/// The machine seam of the kernel logic on real hardware: one per core, owned by its run loop.
pub struct Machine {
    pub core: usize,
    /// The deadline in force on this core (`Env::deadline_swap`).
    pub deadline: Option<u64>,
    /// Counter ticks per millisecond (CNTFRQ_EL0 / 1000, read once: on the message path).
    ticks_per_ms: u64,
}

impl Machine {
    /// This core's machine, with its secure physical timer off.
    pub fn new(core: usize) -> Self {
        hw::secure_timer(None);
        Self {
            core,
            deadline: None,
            ticks_per_ms: (hw::counter_frequency() / 1000).max(1),
        }
    }
}

impl Env for Machine {
    fn run_user(&mut self, regs: &mut UserRegs, ttbr0: u64) -> Exit {
        hw::run_user(regs, ttbr0)
    }

    fn read_phys(&self, pa: u64, buf: &mut [u8]) -> bool {
        hw::read_phys(pa, buf)
    }

    fn write_phys(&self, pa: u64, data: &[u8]) -> bool {
        hw::write_phys(pa, data)
    }

    fn zero_phys(&self, pa: u64, len: u64) -> bool {
        hw::zero_phys(pa, len)
    }

    fn sync_icache(&self, pa: u64, len: u64) {
        hw::sync_icache(pa, len)
    }

    fn tlb_invalidate_asid(&self, asid: u16) {
        hw::tlbi_asid(asid);
    }

    fn interrupt_take(&mut self) -> Option<u32> {
        gic::take(self.core)
    }

    fn interrupt_unmask(&mut self, intid: u32, core: usize) {
        gic::unmask(intid, core);
    }

    fn timer_intid(&self) -> Option<u32> {
        Some(gic::TIMER_INTID)
    }

    fn now(&self) -> u64 {
        hw::physical_counter()
    }

    fn ticks_per_ms(&self) -> u64 {
        self.ticks_per_ms
    }

    fn deadline_swap(&mut self, deadline: Option<u64>) -> Option<u64> {
        // Programmed at every swap, from the deadline alone, never skipped on a remembered
        // copy of the timer's state: TF-A saves no CNTPS register and tells the SPMC nothing
        // of a core's power-down suspend (services/std_svc/spmd/spmd_pm.c hooks only CPU_ON
        // and CPU_OFF), after which the timer is reset while a copy would still say "armed"
        // (time_limit.rs, "Why the timer is written at every run"). Also lifts the mask
        // `gic::take` put on it.
        hw::secure_timer(deadline);
        core::mem::replace(&mut self.deadline, deadline)
    }

    fn deadline(&self) -> Option<u64> {
        self.deadline
    }

    fn core(&self) -> usize {
        self.core
    }

    fn raise_ns_sgi(&self, intid: u32) {
        gic::raise_ns_sgi(intid);
    }

    fn group0_pending(&self) -> bool {
        gic::group0_pending()
    }

    fn el3_intr_handle(&mut self) -> bool {
        hw::el3_intr_handle()
    }
}
