//! A normal-world interrupt for the scheduling cases: the NS-EL2 physical timer (CNTHP, PPI 26
//! on sbsa-ref), a Group 1 Non-secure interrupt as the monitor configures every interrupt (TF-A
//! does the same for a normal world that owns them). The driver keeps PSTATE.I masked and
//! takes the interrupt by acknowledging it through ICC_IAR1_EL1 when it has the CPU back: the
//! GIC signals it all the same, and that signal is what preempts a running SP in the secure
//! world (as FIQ at S-EL1). The scheduling cases use it on the primary core; a secondary uses
//! it to wake from PSCI CPU_SUSPEND (secondary.rs `CMD_SUSPEND`). Each core reaches its own
//! redistributor.

use core::arch::asm;

use arm_gic::gicv3::GicCpuInterface;
use arm_gic::{IntId, InterruptGroup};

use platform_facts::qemu_sbsa::{GICD, GICR};

/// INTID of the EL2 physical timer (sbsa-ref wires CNTHP to PPI 26).
pub const TIMER_INTID: u32 = 26;
/// Special INTID: nothing pending (GICv3 "spurious").
pub const SPURIOUS: u32 = 1023;

/// The SGI/PPI frame of this core's redistributor (RD_base + 64 KiB; 128 KiB per core, in core
/// order on sbsa-ref).
fn sgi_base() -> u64 {
    GICR.base + crate::arch::core_index() as u64 * 0x2_0000 + 0x1_0000
}
const GICR_ISENABLER0: u64 = 0x100;
const GICR_ICENABLER0: u64 = 0x180;
const GICR_IPRIORITYR: u64 = 0x400;

macro_rules! msr {
    ($reg:literal, $v:expr) => {
        // SAFETY: writes an NS-EL2 GIC CPU-interface or timer register of this core; these
        // only configure interrupt delivery to this core and touch no memory.
        unsafe { asm!(concat!("msr ", $reg, ", {0}"), "isb", in(reg) $v, options(nostack)) }
    };
}

macro_rules! mrs {
    ($reg:literal) => {{
        let v: u64;
        // SAFETY: reads a GIC CPU-interface or timer register of this core. (Reading IAR1
        // acknowledges the interrupt, which is what `acknowledge` is for.)
        unsafe { asm!(concat!("mrs {0}, ", $reg), out(reg) v, options(nostack)) };
        v
    }};
}

fn write32(offset: u64, v: u32) {
    let p = (sgi_base() + offset) as *mut u32;
    // SAFETY: this core's redistributor SGI frame (platform-facts GICR, one frame a core) is
    // device memory the EL2 driver reaches with its MMU off; the offsets are GICv3 registers the
    // normal world may write for its own (Group 1 Non-secure) interrupts.
    unsafe { p.write_volatile(v) }
}

/// GICD_CTLR, Non-secure view: bit 1 = EnableGrp1A (Group 1 Non-secure), bit 31 = RWP.
fn enable_group1_ns_in_distributor() {
    let p = GICD.base as *mut u32;
    // SAFETY: sbsa-ref's distributor (platform-facts GICD); the normal world's view of
    // GICD_CTLR, where it may enable its own group, as Linux's GICv3 driver does at boot (EL3
    // firmware enables only the secure groups: TF-A gicv3_distif_init).
    unsafe {
        p.write_volatile(p.read_volatile() | 1 << 1);
        while p.read_volatile() & 1 << 31 != 0 {}
    }
}

fn write8(offset: u64, v: u8) {
    let p = (sgi_base() + offset) as *mut u8;
    // SAFETY: as in `write32`; GICR_IPRIORITYR is byte-accessible.
    unsafe { p.write_volatile(v) }
}

/// Enables the system-register CPU interface at EL2, unmasks every priority, enables Group 1
/// and the timer's PPI. Idempotent.
pub fn enable() {
    sre_el2();
    GicCpuInterface::set_priority_mask(0xFF);
    GicCpuInterface::enable_group1(true);
    enable_group1_ns_in_distributor();
    write8(GICR_IPRIORITYR + u64::from(TIMER_INTID), 0x80);
    write32(GICR_ISENABLER0, 1 << TIMER_INTID);
}

/// Disables the timer and its PPI again, and Group 1 in this core's CPU interface, as before
/// [`enable`]: the driver handles no interrupt elsewhere, and a Group 1 Non-secure interrupt
/// left pending for it (the SPMC's schedule-receiver SGI, say) would otherwise preempt every
/// signalled SP the later cases and benchmarks run.
pub fn disable() {
    // As in `enable`, so this works on a core that never ran it (a secondary quiets its
    // wake-up timer on every entry).
    sre_el2();
    timer_stop();
    write32(GICR_ICENABLER0, 1 << TIMER_INTID);
    GicCpuInterface::enable_group1(false);
}

/// ICC_SRE_EL2 = SRE | Enable (EL1 may use the system registers too). Written by hand: arm-gic
/// has it only behind its `el2` feature, whose arm-sysregs-el2 crate this workspace does not
/// carry (docs/handwritten.md); the other CPU-interface registers go through arm-gic.
fn sre_el2() {
    msr!("S3_4_C12_C9_5", 0x9u64);
}

/// The monitor's Group 0 test source (qemu/monitor/src/gic.rs) is the EL1 physical timer (CNTP),
/// PPI 30. Its EL3 handler masks it: CNTP_CTL_EL0 = IMASK when the SPMC handed it to EL3 with
/// FFA_EL3_INTR_HANDLE, 0 (disabled) when EL3 took it while the normal world ran.
///
/// Asks the monitor to make the test source Group 0 on this core (`on`), or to give it back
/// (qemu/monitor/src/spmd.rs `FIXTURE_GROUP0_SOURCE`; the timer is the normal world's
/// otherwise). True if the monitor answered 0.
pub fn group0_source(on: bool) -> bool {
    let mut a = [0u64; 18];
    a[0] = 0x8200_FF30;
    a[1] = u64::from(on);
    crate::arch::smc(a)[0] == 0
}

/// Arms the EL1 physical timer (EL3's Group 0 test source) `ticks` from now.
pub fn group0_timer_start(ticks: u64) {
    msr!("cntp_tval_el0", ticks);
    msr!("cntp_ctl_el0", 1u64);
}

/// CNTP_CTL_EL0: bit 0 ENABLE, bit 1 IMASK, bit 2 ISTATUS.
pub fn group0_timer_ctl() -> u64 {
    mrs!("cntp_ctl_el0")
}

/// Disables the EL1 physical timer.
pub fn group0_timer_stop() {
    msr!("cntp_ctl_el0", 0u64);
}

/// Arms the EL2 physical timer to fire `ticks` counter ticks from now.
pub fn timer_start(ticks: u64) {
    // CNTHP_TVAL_EL2, then CNTHP_CTL_EL2 = ENABLE (IMASK clear).
    msr!("S3_4_C14_C2_0", ticks);
    msr!("S3_4_C14_C2_1", 1u64);
}

/// The counter value the armed timer fires at (CNTHP_CVAL_EL2).
#[cfg_attr(
    not(feature = "bench"),
    allow(dead_code, reason = "used by the benchmarks")
)]
pub fn timer_deadline() -> u64 {
    mrs!("S3_4_C14_C2_2")
}

/// Stops the timer (its output, and so the interrupt, goes low).
pub fn timer_stop() {
    msr!("S3_4_C14_C2_1", 0u64);
}

/// Whether the timer condition has been met (CNTHP_CTL_EL2.ISTATUS).
pub fn timer_fired() -> bool {
    mrs!("S3_4_C14_C2_1") & 0b100 != 0
}

/// The highest-priority pending Group 1 interrupt (ICC_HPPIR1_EL1), not acknowledged.
pub fn pending() -> u32 {
    let id = GicCpuInterface::get_pending_interrupt(InterruptGroup::Group1);
    u32::from(id.unwrap_or(IntId::SPECIAL_NONE))
}

/// Takes the highest-priority pending Group 1 interrupt: acknowledges it (ICC_IAR1_EL1); if it
/// is the timer, stops the timer; then ends it (ICC_EOIR1_EL1: priority drop and deactivation).
/// Returns its INTID ([`SPURIOUS`] if none was pending).
pub fn acknowledge() -> u32 {
    let Some(id) = GicCpuInterface::get_and_acknowledge_interrupt(InterruptGroup::Group1) else {
        return SPURIOUS;
    };
    if u32::from(id) == TIMER_INTID {
        timer_stop();
    }
    GicCpuInterface::end_interrupt(id, InterruptGroup::Group1);
    u32::from(id)
}
