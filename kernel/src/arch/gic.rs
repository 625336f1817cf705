//! The SPMC's side of the GICv3, through the `arm-gic` crate: the secure interrupts that SP
//! manifests assign are made Group 1 Secure here, and taken, masked and unmasked on the
//! owner's behalf. Only this file constructs the MMIO pointers (docs/handwritten.md lists what
//! arm-gic lacks).
//!
//! How an interrupt is handled (docs/architecture.md, "Interrupts"): in the secure state a
//! Group 1 Secure interrupt is an IRQ (GICv3 spec, table 4-3); the SPMC acknowledges it
//! (ICC_IAR1_EL1), disables it at the GIC and ends it at once (ICC_EOIR1_EL1 with
//! ICC_CTLR_EL1.EOImode = 0: priority drop and deactivation together, on the core that
//! acknowledged it, as the GICv3 spec requires). The owner then handles the device; when it
//! signals completion (FFA_MSG_WAIT) the interrupt is enabled again. A level interrupt the
//! owner has not cleared fires again then; an edge interrupt that came meanwhile is still
//! pending. So an interrupt is never in service twice and never lost, and nothing is left
//! active on a core the owner no longer runs on (a UP partition migrates).

use arm_gic::gicv3::registers::{Gicd, GicrSgi};
use arm_gic::gicv3::{
    GicCpuInterface, GicRedistributorIterator, GicV3, Group, SecureIntGroup, SgiTarget,
    SgiTargetGroup,
};
use arm_gic::{IntId, InterruptGroup, Trigger, UniqueMmioPointer};
use core::ptr::NonNull;
use spin::{Mutex, Once};

/// The driver, once the distributor and redistributors are known. Locked only to configure
/// and to mask or unmask an interrupt (never on the message path).
static GIC: Once<Mutex<GicV3<'static>>> = Once::new();
/// Number of redistributors found (frames up to GICR_TYPER.Last).
static CORES: Once<usize> = Once::new();

/// What the SPMC configures for one interrupt.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    pub intid: u32,
    pub priority: u8,
    pub level: bool,
    /// MPIDR (affinity fields) an SPI is routed to.
    pub target_mpidr: u64,
}

/// Why an interrupt could not be configured.
#[derive(Clone, Copy, Debug)]
pub enum ConfigError {
    NoGic,
    BadId(u32),
    Gic(arm_gic::gicv3::GicError),
}

/// Finds the GIC at the platform's addresses. Called once, on the boot core, after the MMU maps
/// both ranges as device memory.
///
/// # Safety
/// `gicd` and `gicr` must be the GICv3 distributor and the first redistributor frame of this
/// machine, mapped as device memory for the SPMC's whole life, and nothing else in the SPMC may
/// access them (this module is their only user).
pub unsafe fn init(gicd: u64, gicr: u64) -> usize {
    let Some(gicr_ptr) = NonNull::new(gicr as usize as *mut GicrSgi) else {
        return 0;
    };
    let Some(gicd_ptr) = NonNull::new(gicd as usize as *mut Gicd) else {
        return 0;
    };
    // SAFETY: the caller guarantees the redistributor frames are mapped device memory that
    // only this module uses; the iterator only reads GICR_TYPER/PIDR2 of each frame, up to the
    // one with GICR_TYPER.Last set, and is dropped before the driver below is made.
    let count = match unsafe { GicRedistributorIterator::new(gicr_ptr) } {
        Ok(it) => it.count(),
        Err(_) => return 0,
    };
    // SAFETY: as above; the distributor pointer is unique (only this driver instance holds it).
    let gicd_mmio = unsafe { UniqueMmioPointer::new(gicd_ptr) };
    // SAFETY: as above: `gicr_ptr` points at `count` redistributor frames that nothing else
    // in the SPMC accesses; the driver is made once (`Once`).
    let Ok(gic) = (unsafe { GicV3::new(gicd_mmio, gicr_ptr, count) }) else {
        return 0;
    };
    GIC.call_once(|| Mutex::new(gic));
    CORES.call_once(|| count);
    count
}

/// Prepares this core's CPU interface: system-register access, the redistributor awake (TF-A
/// did it; repeating it is harmless), EOImode 0, and Group 1 Secure enabled in the secure copy
/// of ICC_IGRPEN1_EL1 (TF-A enables it from EL3 too). The priority mask is EL3's and the normal
/// world's business (shared register): the SPMC leaves it.
pub fn init_cpu(core: usize) {
    let Some(gic) = GIC.get() else { return };
    gic.lock().init_cpu(core);
    GicCpuInterface::enable_group1(true);
}

fn intid(raw: u32) -> Result<IntId, ConfigError> {
    IntId::try_from(raw).map_err(|_| ConfigError::BadId(raw))
}

/// Makes `c` a Group 1 Secure interrupt with its priority and trigger, routes it (SPIs) and
/// enables it. A PPI or SGI is configured on every core's redistributor; a core powered on
/// later gets it again from [`configure_private`] (EL3 resets the core's redistributor then).
pub fn configure(c: &Config) -> Result<(), ConfigError> {
    let gic = GIC.get().ok_or(ConfigError::NoGic)?;
    let id = intid(c.intid)?;
    let mut gic = gic.lock();
    if id.is_private() {
        for core in 0..CORES.get().copied().unwrap_or(0) {
            configure_on(&mut gic, id, Some(core), c, true)?;
        }
    } else {
        configure_on(&mut gic, id, None, c, true)?;
        gic.distributor()
            .set_routing(id, Some(c.target_mpidr))
            .map_err(ConfigError::Gic)?;
        gic.enable_interrupt(id, None, true)
            .map_err(ConfigError::Gic)?;
    }
    Ok(())
}

/// Configures `c` again on `core`'s redistributor if it is a PPI or SGI (an SPI lives in the
/// distributor and keeps its set-up): for a core's warm entry after PSCI CPU_ON, because TF-A
/// returns every SGI and PPI of the core to Group 1 Non-secure and disabled first
/// (drivers/arm/gic/v3/gicv3_main.c `gicv3_rdistif_init`, called from qemu_sbsa's
/// `qemu_pwr_domain_on_finish` before the SPMD enters the SPMC). Left disabled unless
/// `enable` (spmc::interrupt::enable_on_warm_entry says which).
pub fn configure_private(c: &Config, core: usize, enable: bool) -> Result<(), ConfigError> {
    let gic = GIC.get().ok_or(ConfigError::NoGic)?;
    let id = intid(c.intid)?;
    if !id.is_private() {
        return Ok(());
    }
    configure_on(&mut gic.lock(), id, Some(core), c, enable)
}

/// Group 1 Secure, priority and trigger of `id` on `core`'s redistributor (`None`: the
/// distributor), with the interrupt disabled meanwhile; a private one is enabled again if
/// `enable`.
fn configure_on(
    gic: &mut GicV3<'static>,
    id: IntId,
    core: Option<usize>,
    c: &Config,
    enable: bool,
) -> Result<(), ConfigError> {
    let trigger = if c.level {
        Trigger::Level
    } else {
        Trigger::Edge
    };
    gic.enable_interrupt(id, core, false)
        .map_err(ConfigError::Gic)?;
    gic.set_group(id, core, Group::Secure(SecureIntGroup::Group1S))
        .map_err(ConfigError::Gic)?;
    gic.set_interrupt_priority(id, core, c.priority)
        .map_err(ConfigError::Gic)?;
    if !id.is_sgi() {
        gic.set_trigger(id, core, trigger)
            .map_err(ConfigError::Gic)?;
    }
    if core.is_some() && enable {
        gic.enable_interrupt(id, core, true)
            .map_err(ConfigError::Gic)?;
    }
    Ok(())
}

/// The SPMC's own timer: the secure physical timer's PPI (PPI 13, the Arm BSA's and TF-A's
/// `ARM_IRQ_SEC_PHY_TIMER`; sbsa-ref wires `ARCH_TIMER_S_EL1_IRQ` there).
pub const TIMER_INTID: u32 = 29;
/// Its priority: above every SP interrupt a manifest may give (manifest-tool keeps those in
/// 0x00-0x7f, and TF-A's secure SGIs use 0x00).
pub const TIMER_PRIORITY: u8 = 0x10;

/// Acknowledges this core's highest-priority pending Group 1 Secure interrupt, disables it
/// (on this core's redistributor for a PPI/SGI) and ends it. `None`: nothing pending. The
/// SPMC's timer is masked at the timer instead, until the SPMC programs it again.
pub fn take(core: usize) -> Option<u32> {
    let id = GicCpuInterface::get_and_acknowledge_interrupt(InterruptGroup::Group1)?;
    let raw = u32::from(id);
    if raw >= 1020 {
        // A special ID (1020-1023) is never acknowledged: nothing to end.
        return None;
    }
    if raw == TIMER_INTID {
        // Its output stays asserted while the deadline is past: mask it at the timer
        // (CNTPS_CTL_EL1.IMASK) until the SPMC sets the next deadline (`Env::deadline_swap`).
        // SAFETY: only this core's secure timer control changes; no memory is touched.
        unsafe {
            core::arch::asm!("msr S3_7_C14_C2_1, {0}", "isb", in(reg) 3u64, options(nomem, nostack))
        };
        GicCpuInterface::end_interrupt(id, InterruptGroup::Group1);
        return Some(raw);
    }
    if let Some(gic) = GIC.get() {
        let cpu = id.is_private().then_some(core);
        let _ = gic.lock().enable_interrupt(id, cpu, false);
    }
    GicCpuInterface::end_interrupt(id, InterruptGroup::Group1);
    Some(raw)
}

/// Whether this core's highest-priority pending interrupt is a Group 0 one (EL3's):
/// ICC_HPPIR0_EL1 names it (in the secure state it reads 1023 for the other groups).
pub fn group0_pending() -> bool {
    GIC.get().is_some()
        && GicCpuInterface::get_pending_interrupt(InterruptGroup::Group0)
            .is_some_and(|id| u32::from(id) < 1020)
}

/// Enables an interrupt [`take`] disabled, once its owner has handled it. `core`: where it
/// was taken (a PPI or SGI lives in that core's redistributor).
pub fn unmask(raw: u32, core: usize) {
    let (Some(gic), Ok(id)) = (GIC.get(), IntId::try_from(raw)) else {
        return;
    };
    let cpu = id.is_private().then_some(core);
    let _ = gic.lock().enable_interrupt(id, cpu, true);
}

/// Makes SGI `raw` a Group 1 Non-secure interrupt on `core`'s redistributor, at `priority`,
/// enabled: the schedule-receiver interrupt belongs to the normal world. EL3 may have made it
/// secure (TF-A's qemu_sbsa and FVP list SGIs 8-15 in `PLATFORM_G1S_PROPS`, and re-apply them
/// when a core comes back on), so every core does this when it enters the SPMC, cold or warm,
/// as Hafnium does (`ffa_notifications_sri_init`, priority 0xF0).
pub fn configure_ns_sgi(raw: u32, core: usize, priority: u8) {
    let Some(gic) = GIC.get() else { return };
    let Ok(id) = intid(raw) else { return };
    if !id.is_sgi() {
        return;
    }
    let mut gic = gic.lock();
    let _ = gic.enable_interrupt(id, Some(core), false);
    let _ = gic.set_group(id, Some(core), Group::Group1NS);
    let _ = gic.set_interrupt_priority(id, Some(core), priority);
    let _ = gic.enable_interrupt(id, Some(core), true);
}

/// Makes Group 1 non-secure SGI `raw` pending on this core: the schedule-receiver interrupt of
/// notifications. From the secure state, ICC_ASGI1R_EL1 generates a Group 1 SGI for the other
/// Security state (GICv3 architecture, "ICC_ASGI1R_EL1"), as Hafnium raises its SRI
/// (`plat_interrupts_send_sgi` with `to_this_security_state = false`). Nothing happens without
/// a GIC (its system registers are enabled by `init_cpu`) or for a non-SGI ID. The target list
/// holds Aff0 0-15 (arm-gic 0.10 has no range selector): every core of sbsa-ref and the FVP.
pub fn raise_ns_sgi(raw: u32) {
    if GIC.get().is_none() {
        return;
    }
    let Ok(id) = intid(raw) else { return };
    if !id.is_sgi() {
        return;
    }
    let m = mpidr();
    let target = SgiTarget::List {
        affinity3: (m >> 32) as u8,
        affinity2: (m >> 16) as u8,
        affinity1: (m >> 8) as u8,
        target_list: 1 << (m & 0xF),
    };
    let _ = GicCpuInterface::send_sgi(id, target, SgiTargetGroup::OtherGroup1);
}

/// Reads this core's MPIDR_EL1 affinity fields (Aff3 and Aff2..0), for SPI routing.
pub fn mpidr() -> u64 {
    let v: u64;
    // SAFETY: reading MPIDR_EL1 has no side effect.
    unsafe { core::arch::asm!("mrs {0}, mpidr_el1", out(reg) v, options(nomem, nostack)) };
    v & 0xFF_00FF_FFFF
}
