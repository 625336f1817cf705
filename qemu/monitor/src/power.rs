//! PSCI power state of each core, shared between cores through atomics, and the PSCI calls of
//! the normal world (Arm DEN0022 PSCI v1.1, the subset a bare-metal driver and Linux use).

use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};

use crate::arch::{self, MAX_CORES};
use qemu_monitor::ids::psci;

/// The core is not present in this QEMU configuration (no GIC redistributor names it).
const ABSENT: u8 = 0;
const OFF: u8 = 1;
/// CPU_ON claimed the core and is writing its entry point.
const CLAIMED: u8 = 2;
/// The core was told to power on and is booting (SPMC secondary init, then NS entry).
const ON_PENDING: u8 = 3;
const ON: u8 = 4;

struct CorePower {
    state: AtomicU8,
    entry: AtomicU64,
    context_id: AtomicU64,
}

static POWER: [CorePower; MAX_CORES] = [const {
    CorePower {
        state: AtomicU8::new(ABSENT),
        entry: AtomicU64::new(0),
        context_id: AtomicU64::new(0),
    }
}; MAX_CORES];

/// GICv3 redistributor frames of sbsa-ref: one per core, 128 KiB apart (RD_base + SGI_base).
const GICR_BASE: usize = platform_facts::qemu_sbsa::GICR.base as usize;
const GICR_STRIDE: usize = 0x2_0000;
const GICR_TYPER: usize = 0x8;
/// GICR_TYPER.Last: this is the last redistributor of the contiguous region.
const GICR_TYPER_LAST: u64 = 1 << 4;

/// Finds the cores of this machine from the GIC redistributors (one per core, each naming its
/// core's affinity), marks them off, and marks the primary as booting. Cores that have not
/// reached the monitor yet are nevertheless "off" for PSCI: CPU_ON waits for them to arrive.
/// Returns the number of cores found.
pub fn discover_cores() -> usize {
    let mut found = 0;
    for frame in 0..MAX_CORES {
        let typer = (GICR_BASE + frame * GICR_STRIDE + GICR_TYPER) as *const u64;
        // SAFETY: the sbsa-ref GICv3 redistributor region starts at 0x4008_0000; frames are
        // read only up to the one flagged Last, and GICR_TYPER is a read-only 64-bit register.
        let typer = unsafe { typer.read_volatile() };
        // Affinity_Value[7:0] (Aff0) is GICR_TYPER[39:32].
        let aff0 = ((typer >> 32) & 0xFF) as usize;
        if aff0 < MAX_CORES {
            let _ = POWER[aff0].state.compare_exchange(
                ABSENT,
                OFF,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
            found += 1;
        }
        if typer & GICR_TYPER_LAST != 0 {
            break;
        }
    }
    POWER[0].state.store(ON_PENDING, Ordering::Release);
    found
}

/// Marks the executing core as on (its SPMC init finished).
pub fn mark_on(core: usize) {
    POWER[core].state.store(ON, Ordering::Release);
}

/// Marks the executing core as off.
pub fn mark_off(core: usize) {
    POWER[core].state.store(OFF, Ordering::Release);
}

/// Parks the core until CPU_ON names it; returns (entry, context_id).
pub fn wait_for_cpu_on(core: usize) -> (u64, u64) {
    let p = &POWER[core];
    while p.state.load(Ordering::Acquire) != ON_PENDING {
        arch::wfe();
    }
    (
        p.entry.load(Ordering::Relaxed),
        p.context_id.load(Ordering::Relaxed),
    )
}

/// Cores TF-A's qemu_sbsa port accepts but QEMU does not have, that CPU_ON was asked to power
/// on: they stay ON_PENDING for ever, as under TF-A (one bit per core position Aff1 * 8 + Aff0).
static ABSENT_PENDING: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];

/// A core position as TF-A qemu_sbsa's plat_core_pos_by_mpidr computes it (sbsa_topology.c):
/// affinity bits only, Aff2 = Aff3 = 0, Aff1 < PLATFORM_CLUSTER_COUNT (64), Aff0 <
/// PLATFORM_MAX_CPUS_PER_CLUSTER (8); `None` is PSCI_E_INVALID_PARAMS.
fn core_pos(mpidr: u64) -> Option<usize> {
    use platform_facts::tf_a::qemu_sbsa::{CLUSTER_COUNT, MAX_CPUS_PER_CLUSTER};
    let mpidr = mpidr & 0xFF_00FF_FFFF;
    let (aff0, aff1) = (mpidr & 0xFF, (mpidr >> 8) & 0xFF);
    if mpidr & !0xFFFF != 0 || aff1 >= CLUSTER_COUNT || aff0 >= MAX_CPUS_PER_CLUSTER {
        return None;
    }
    Some((aff1 * MAX_CPUS_PER_CLUSTER + aff0) as usize)
}

/// The monitor's index of a core QEMU has, if `pos` names one.
fn present(pos: usize) -> Option<usize> {
    (pos < MAX_CORES && POWER[pos].state.load(Ordering::Acquire) != ABSENT).then_some(pos)
}

fn absent_pending(pos: usize) -> (&'static AtomicU64, u64) {
    (&ABSENT_PENDING[pos / 64], 1 << (pos % 64))
}

/// PSCI CPU_ON (DEN0022 section 5.6) as TF-A's psci_cpu_on does it on qemu_sbsa: the target
/// must be a valid core position (else INVALID_PARAMETERS); the entry point is not checked
/// (plat/qemu/common/qemu_pm.c has no validate_ns_entrypoint); a core QEMU does not have
/// accepts the call and stays ON_PENDING (its hold slot is never read).
pub fn cpu_on(target: u64, entry: u64, context_id: u64) -> i32 {
    let Some(pos) = core_pos(target) else {
        return psci::INVALID_PARAMETERS;
    };
    let Some(core) = present(pos) else {
        let (word, bit) = absent_pending(pos);
        return if word.fetch_or(bit, Ordering::AcqRel) & bit != 0 {
            psci::ON_PENDING
        } else {
            psci::SUCCESS
        };
    };
    let p = &POWER[core];
    match p
        .state
        .compare_exchange(OFF, CLAIMED, Ordering::AcqRel, Ordering::Acquire)
    {
        Ok(_) => {
            p.entry.store(entry, Ordering::Relaxed);
            p.context_id.store(context_id, Ordering::Relaxed);
            p.state.store(ON_PENDING, Ordering::Release);
            arch::sev();
            psci::SUCCESS
        }
        Err(ON) => psci::ALREADY_ON,
        Err(_) => psci::ON_PENDING,
    }
}

/// PSCI AFFINITY_INFO (DEN0022 section 5.7) as TF-A's psci_affinity_info: a valid core
/// position, lowest affinity level 0 (PSCI_CPU_PWR_LVL) only; a core QEMU does not have is
/// OFF, or ON_PENDING after a CPU_ON.
pub fn affinity_info(target: u64, lowest_level: u64) -> i32 {
    let Some(pos) = core_pos(target) else {
        return psci::INVALID_PARAMETERS;
    };
    if lowest_level != 0 {
        return psci::INVALID_PARAMETERS;
    }
    let Some(core) = present(pos) else {
        let (word, bit) = absent_pending(pos);
        return if word.load(Ordering::Acquire) & bit != 0 {
            psci::AFF_ON_PENDING
        } else {
            psci::AFF_OFF
        };
    };
    match POWER[core].state.load(Ordering::Acquire) {
        ON => psci::AFF_ON,
        OFF => psci::AFF_OFF,
        _ => psci::AFF_ON_PENDING,
    }
}

/// Resets the whole machine through sbsa-ref's secure embedded controller (QEMU
/// hw/misc/sbsa_ec.c: command 2, reboot, written at offset 0), as TF-A's qemu_sbsa resets it.
/// QEMU starts every core again at the flash; RAM keeps what it held.
pub fn machine_reset() -> ! {
    const EC_CMD_REBOOT: u32 = 2;
    let ec = platform_facts::qemu_sbsa::SECURE_EC.base as *mut u32;
    // SAFETY: sbsa-ref's secure EC page (platform-facts) is device memory EL3 reaches with its
    // MMU off; a 32-bit write of the command register at offset 0 is its whole interface.
    unsafe { ec.write_volatile(EC_CMD_REBOOT) };
    loop {
        arch::wfe();
    }
}
