//! GICv3 set-up at EL3, as TF-A's GICv3 driver does it on qemu_sbsa
//! (drivers/arm/gic/v3/gicv3_main.c `gicv3_distif_init`, `gicv3_rdistif_init`,
//! `gicv3_cpuif_enable`, `gicv3_cpuif_disable`; gicv3_helpers.c
//! `gicv3_ppi_sgi_config_defaults`; plat/qemu/qemu_sbsa/sbsa_gic.c with qemu_sbsa's
//! platform_def.h `PLATFORM_G1S_PROPS`): system-register access enabled for the lower ELs,
//! affinity routing on for both security states, every SPI, SGI and PPI in Group 1 Non-secure
//! except the secure SGIs 8-15 (Group 1 Secure, highest secure priority, enabled: TF-A's
//! interrupt properties for qemu_sbsa), Group 0 and Group 1 Secure enabled in the distributor
//! and in each CPU interface, the priority mask open. The interrupts an SP manifest assigns are
//! made secure by the SPMC itself, which may program the secure view of the GIC
//! (GICD_CTLR.DS = 0).
//!
//! Like TF-A, a core's redistributor is set up when that core is powered on, not before: the
//! boot core's at cold boot (`plat_qemu_gic_init`), a secondary's on every PSCI CPU_ON, before
//! the SPMC's warm entry (sbsa_pm.c `qemu_pwr_domain_on_finish` -> `qemu_pwr_gic_on_finish`
//! runs ahead of the SPMD's `svc_on_finish`). That set-up returns every SGI and PPI of the core
//! to its defaults (disabled, Group 1 Non-secure, priority 0xA0, PPIs level), so whatever the
//! SPMC configured in that redistributor before is gone and the SPMC must configure its
//! private interrupts again on each warm entry. CPU_OFF disables the core's CPU interface
//! groups and marks its redistributor asleep (`qemu_pwr_gic_off`).
//!
//! Deviation from TF-A, for tests: TF-A's qemu_sbsa has no Group 0 source, so nothing could
//! exercise the Group 0 paths of the SPMD (FFA_EL3_INTR_HANDLE from the SPMC, and the EL3
//! handler while the normal world runs). This monitor makes one: the EL1 physical timer's PPI
//! ([`GROUP0_TEST_PPI`], which neither the driver nor
//! the SPMC on its secure timer uses) is made Group 0 on the driver's request only (a fixture
//! SMC: Linux booted at EL2 uses the EL1 physical timer as its own), and its platform handler
//! (dispatch.rs) masks the timer.

use arm_gic::gicv3::GicCpuInterface;
use arm_gic::{IntId, InterruptGroup};
use platform_facts::qemu_sbsa::{GICD, GICR};

use crate::arch::{read_sysreg, write_sysreg};

const GICD_CTLR: usize = 0x0;
const GICD_TYPER: usize = 0x4;
const GICD_IGROUPR: usize = 0x80;
const GICD_IGRPMODR: usize = 0xD00;
/// GICD_CTLR: RWP (register write pending), ARE_S, ARE_NS.
const CTLR_RWP: u32 = 1 << 31;
const CTLR_ARE_S: u32 = 1 << 4;
const CTLR_ARE_NS: u32 = 1 << 5;
/// GICD_CTLR (secure view): EnableGrp0, EnableGrp1S.
const CTLR_ENABLE_G0: u32 = 1 << 0;
const CTLR_ENABLE_G1S: u32 = 1 << 2;
/// qemu_sbsa's secure SGIs (platform_def.h `QEMU_IRQ_SEC_SGI_0..7`).
const SECURE_SGIS: u32 = 0xFF00;
/// GIC_HIGHEST_SEC_PRIORITY.
const HIGHEST_SEC_PRIORITY: u32 = 0x00;
/// The Group 0 test source: the EL1 physical timer (CNTP), PPI 30 on sbsa-ref.
pub const GROUP0_TEST_PPI: u32 = 30;
/// Its priority: in the secure half, below the secure SGIs (TF-A's EHF puts Group 0 sources
/// there too).
const GROUP0_TEST_PRIORITY: u32 = 0x20;

/// Redistributor frames: RD_base, then SGI_base 64 KiB above; 128 KiB per core.
const GICR_STRIDE: usize = 0x2_0000;
const GICR_WAKER: usize = 0x14;
const GICR_TYPER: usize = 0x8;
const GICR_SGI_BASE: usize = 0x1_0000;
const GICR_IGROUPR0: usize = 0x80;
const GICR_IGRPMODR0: usize = 0xD00;
const GICR_ISENABLER0: usize = 0x100;
const GICR_ICENABLER0: usize = 0x180;
const GICR_IPRIORITYR: usize = 0x400;
const GICR_ICFGR1: usize = 0xC04;
/// GICD_IPRIORITYR_DEF_VAL: the default priority TF-A gives every SGI and PPI (0xA0).
const DEFAULT_PRIORITY: u32 = 0xA0A0_A0A0;
const WAKER_PROCESSOR_SLEEP: u32 = 1 << 1;
const WAKER_CHILDREN_ASLEEP: u32 = 1 << 2;
const TYPER_LAST: u64 = 1 << 4;

fn read32(base: u64, offset: usize) -> u32 {
    let p = (base as usize + offset) as *const u32;
    // SAFETY: `base` is sbsa-ref's GIC distributor or a redistributor frame (platform-facts),
    // device memory that the MMU-off EL3 accesses directly; the offsets are GICv3 registers.
    unsafe { p.read_volatile() }
}

fn write32(base: u64, offset: usize, value: u32) {
    let p = (base as usize + offset) as *mut u32;
    // SAFETY: as in `read32`; these registers only configure the GIC, no Rust-owned memory.
    unsafe { p.write_volatile(value) }
}

fn read64(base: u64, offset: usize) -> u64 {
    let p = (base as usize + offset) as *const u64;
    // SAFETY: as in `read32`; GICR_TYPER is a 64-bit read-only register.
    unsafe { p.read_volatile() }
}

/// Lets this core's lower ELs use the GIC system registers (TF-A `gicv3_cpuif_enable`:
/// ICC_SRE_EL3 = SRE | DFB | DIB | Enable). Run on every core at reset.
pub fn init_cpu_interface() {
    // ICC_SRE_EL3 (S3_6_C12_C12_5): SRE, DFB, DIB, Enable.
    write_sysreg!(S3_6_C12_C12_5, 0xF);
    // SAFETY: ISB makes the new SRE value visible to the instructions after it; no memory.
    unsafe { core::arch::asm!("isb", options(nomem, nostack, preserves_flags)) };
    // The rest of gicv3_cpuif_enable, run here in the secure state (SCR_EL3.NS = 0 at reset):
    // the secure ICC_SRE_EL1.SRE, the idle priority in ICC_PMR_EL1 (GIC_PRI_MASK), Group 0
    // enabled (ICC_IGRPEN0_EL1) and Group 1 Secure enabled (ICC_IGRPEN1_EL3.EnableGrp1S; the
    // normal world enables its own group). The EL1 registers go through arm-gic, as the SPMC's
    // do; ICC_SRE_EL3 and ICC_IGRPEN1_EL3 are written here because arm-gic has them only behind
    // its `el3` feature, whose arm-sysregs-el3 crate this workspace does not carry
    // (docs/handwritten.md).
    GicCpuInterface::enable_system_register_el1();
    GicCpuInterface::set_priority_mask(0xFF);
    GicCpuInterface::enable_group0(true);
    let igrpen1 = read_sysreg!(S3_6_C12_C12_7);
    write_sysreg!(S3_6_C12_C12_7, igrpen1 | 0b10);
    // SAFETY: as above: the ISB orders the system-register writes; no memory is touched.
    unsafe { core::arch::asm!("isb", options(nomem, nostack, preserves_flags)) };
}

/// ICC_HPPIR0_EL1 read at EL3: the highest-priority pending interrupt, with the special IDs
/// 1020 (Secure Group 1) and 1021 (Non-secure Group 1) for the other groups.
pub fn highest_pending_group0() -> u64 {
    let id = GicCpuInterface::get_pending_interrupt(InterruptGroup::Group0);
    u64::from(u32::from(id.unwrap_or(IntId::SPECIAL_NONE)))
}

/// Acknowledges the pending Group 0 interrupt (ICC_IAR0_EL1) and returns its ID (1023: none).
pub fn acknowledge_group0() -> u32 {
    let id = GicCpuInterface::get_and_acknowledge_interrupt(InterruptGroup::Group0);
    u32::from(id.unwrap_or(IntId::SPECIAL_NONE))
}

/// Ends the Group 0 interrupt `intid` (ICC_EOIR0_EL1: priority drop and deactivation, with
/// ICC_CTLR_EL3.EOImode_EL3 = 0).
pub fn end_group0(intid: u32) {
    write_sysreg!(S3_0_C12_C8_1, u64::from(intid));
}

/// The distributor, once on the primary core (TF-A `gicv3_distif_init`), and the primary's own
/// redistributor (`gicv3_rdistif_init(0)`). The secondaries' redistributors stay as reset left
/// them until their CPU_ON ([`power_on`]).
pub fn init() {
    let d = GICD.base;
    // Affinity routing on for both states before the groups are set (GICv3 spec 12.1.9).
    write32(
        d,
        GICD_CTLR,
        read32(d, GICD_CTLR) | CTLR_ARE_S | CTLR_ARE_NS,
    );
    while read32(d, GICD_CTLR) & CTLR_RWP != 0 {}
    // Every SPI: Group 1 Non-secure (IGROUPR = 1, IGRPMODR = 0); register 0 covers SGIs and
    // PPIs, which live in the redistributors with affinity routing.
    let lines = (read32(d, GICD_TYPER) & 0x1F) as usize + 1;
    for n in 1..lines {
        write32(d, GICD_IGROUPR + 4 * n, !0);
        write32(d, GICD_IGRPMODR + 4 * n, 0);
    }
    init_redistributor(0);
    // gicv3_distif_init ends by enabling Group 0 and Group 1 Secure (the secure view of
    // GICD_CTLR; the normal world enables Group 1 Non-secure through its own view).
    write32(
        d,
        GICD_CTLR,
        read32(d, GICD_CTLR) | CTLR_ENABLE_G0 | CTLR_ENABLE_G1S,
    );
    while read32(d, GICD_CTLR) & CTLR_RWP != 0 {}
}

/// A secondary core powered on by CPU_ON, before the SPMC's warm entry: its redistributor
/// set up from scratch and its CPU interface enabled (TF-A `qemu_pwr_gic_on_finish`:
/// `gicv3_rdistif_init` + `gicv3_cpuif_enable`).
pub fn power_on(core: usize) {
    init_redistributor(core);
    init_cpu_interface();
}

/// A core going off after CPU_OFF (TF-A `qemu_pwr_gic_off` -> `gicv3_cpuif_disable`): Group 0
/// and both Group 1 enables off in its CPU interface, its redistributor marked asleep
/// (`gicv3_rdistif_off` does nothing more on qemu_sbsa).
pub fn power_off(core: usize) {
    GicCpuInterface::enable_group0(false);
    let igrpen1 = read_sysreg!(S3_6_C12_C12_7);
    write_sysreg!(S3_6_C12_C12_7, igrpen1 & !0b11);
    // SAFETY: ISB orders the system-register writes before the redistributor is put to sleep;
    // no memory is touched.
    unsafe { core::arch::asm!("isb", options(nomem, nostack, preserves_flags)) };
    let Some(rd) = redistributor(core) else {
        return;
    };
    write32(
        rd,
        GICR_WAKER,
        read32(rd, GICR_WAKER) | WAKER_PROCESSOR_SLEEP,
    );
    while read32(rd, GICR_WAKER) & WAKER_CHILDREN_ASLEEP == 0 {}
}

/// The RD_base frame of `core`'s redistributor (frames in core order up to GICR_TYPER.Last).
fn redistributor(core: usize) -> Option<u64> {
    for frame in 0..crate::arch::MAX_CORES {
        let rd = GICR.base + (frame * GICR_STRIDE) as u64;
        if rd >= GICR.base + GICR.size {
            return None;
        }
        if frame == core {
            return Some(rd);
        }
        if read64(rd, GICR_TYPER) & TYPER_LAST != 0 {
            return None;
        }
    }
    None
}

/// TF-A `gicv3_rdistif_init` for `core`: the redistributor awake, every SGI and PPI disabled,
/// Group 1 Non-secure, priority 0xA0 and (PPIs) level-triggered
/// (`gicv3_ppi_sgi_config_defaults`), then the secure SGIs 8-15 Group 1 Secure at the highest
/// secure priority and enabled (`gicv3_secure_ppi_sgi_config_props`).
fn init_redistributor(core: usize) {
    let Some(rd) = redistributor(core) else {
        return;
    };
    // Wake the redistributor (TF-A gicv3_rdistif_mark_core_awake).
    write32(
        rd,
        GICR_WAKER,
        read32(rd, GICR_WAKER) & !WAKER_PROCESSOR_SLEEP,
    );
    while read32(rd, GICR_WAKER) & WAKER_CHILDREN_ASLEEP != 0 {}
    let sgi = rd + GICR_SGI_BASE as u64;
    write32(sgi, GICR_ICENABLER0, !0);
    write32(sgi, GICR_IGROUPR0, !0);
    for n in 0..8 {
        write32(sgi, GICR_IPRIORITYR + 4 * n, DEFAULT_PRIORITY);
    }
    write32(sgi, GICR_ICFGR1, 0);
    // Secure SGIs: IGROUPR0 = 0, IGRPMODR0 = 1 is Secure Group 1. TF-A sets IGRPMODR bits only
    // for its secure interrupts and never clears the others (an interrupt with both bits set
    // is Non-secure Group 1 all the same).
    write32(sgi, GICR_IGROUPR0, !SECURE_SGIS);
    write32(
        sgi,
        GICR_IGRPMODR0,
        read32(sgi, GICR_IGRPMODR0) | SECURE_SGIS,
    );
    // SGIs 8-15 sit in IPRIORITYR2 and 3 (one byte each); SGIs are always edge triggered.
    let prio = HIGHEST_SEC_PRIORITY * 0x0101_0101;
    write32(sgi, GICR_IPRIORITYR + 8, prio);
    write32(sgi, GICR_IPRIORITYR + 12, prio);
    write32(sgi, GICR_ISENABLER0, SECURE_SGIS);
}

/// Makes the Group 0 test PPI of `core` Group 0 (enabled, [`GROUP0_TEST_PRIORITY`]) or gives it
/// back to the normal world (disabled, Group 1 Non-secure, default priority), on request of the
/// test driver only (fixture SMC [`qemu_monitor::spmd::FIXTURE_GROUP0_SOURCE`]): it is the EL1
/// physical timer, which Linux booted at EL2 uses as its own timer.
pub fn set_group0_test_source(core: usize, group0: bool) {
    let Some(rd) = redistributor(core) else {
        return;
    };
    let sgi = rd + GICR_SGI_BASE as u64;
    let g0 = 1 << GROUP0_TEST_PPI;
    write32(sgi, GICR_ICENABLER0, g0);
    let reg = GICR_IPRIORITYR + (GROUP0_TEST_PPI as usize & !3);
    let shift = 8 * (GROUP0_TEST_PPI % 4);
    let priority = if group0 {
        GROUP0_TEST_PRIORITY
    } else {
        DEFAULT_PRIORITY & 0xFF
    };
    write32(
        sgi,
        reg,
        read32(sgi, reg) & !(0xFF << shift) | priority << shift,
    );
    write32(sgi, GICR_IGRPMODR0, read32(sgi, GICR_IGRPMODR0) & !g0);
    let groups = read32(sgi, GICR_IGROUPR0);
    if group0 {
        write32(sgi, GICR_IGROUPR0, groups & !g0);
        write32(sgi, GICR_ISENABLER0, g0);
    } else {
        write32(sgi, GICR_IGROUPR0, groups | g0);
    }
}
