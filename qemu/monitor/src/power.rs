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

/// Lowest non-secure DRAM address; CPU_ON entry points must be at or above it.
const NS_DRAM_BASE: u64 = 0x100_0000_0000;

/// GICv3 redistributor frames of sbsa-ref: one per core, 128 KiB apart (RD_base + SGI_base).
const GICR_BASE: usize = 0x4008_0000;
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

/// Maps an MPIDR to a core index (sbsa-ref: Aff0 only).
fn core_of(mpidr: u64) -> Option<usize> {
    let aff0 = (mpidr & 0xFF) as usize;
    if mpidr & 0xFF_00FF_FF00 != 0 || aff0 >= MAX_CORES {
        return None;
    }
    if POWER[aff0].state.load(Ordering::Acquire) == ABSENT {
        return None;
    }
    Some(aff0)
}

/// PSCI CPU_ON (DEN0022 section 5.6).
pub fn cpu_on(target: u64, entry: u64, context_id: u64) -> i32 {
    let Some(core) = core_of(target) else {
        return psci::INVALID_PARAMETERS;
    };
    if entry < NS_DRAM_BASE || entry % 4 != 0 {
        return psci::INVALID_ADDRESS;
    }
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

/// PSCI AFFINITY_INFO (DEN0022 section 5.7); only affinity level 0 exists on sbsa-ref here.
pub fn affinity_info(target: u64, lowest_level: u64) -> i32 {
    if lowest_level != 0 {
        return psci::INVALID_PARAMETERS;
    }
    let Some(core) = core_of(target) else {
        return psci::INVALID_PARAMETERS;
    };
    match POWER[core].state.load(Ordering::Acquire) {
        ON => psci::AFF_ON,
        OFF => psci::AFF_OFF,
        _ => psci::AFF_ON_PENDING,
    }
}
