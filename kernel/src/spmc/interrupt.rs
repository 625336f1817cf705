//! Secure interrupts owned by partitions (FF-A v1.2 chapter 8, "Interrupt management"): which
//! partition owns an interrupt (its manifest's device regions, granted in the SP set
//! description: `Capabilities::interrupts`), recording an interrupt taken on any core for its
//! owner, and the register block that signals it.
//!
//! The mechanism for an S-EL0 partition (FF-A v1.2 section 8.2.1, "Secure interrupt signaling
//! mechanisms": an S-EL0 partition has no vIRQ, it is entered with FFA_INTERRUPT through ERET
//! while it waits, the interrupt ID in w2; Hafnium does the same for its S-EL0 partitions,
//! src/ffa/spmc/interrupts.c `interrupt_resume_waiting`): a waiting owner is entered with
//! FFA_INTERRUPT at once; a busy one (running a request here or on another core, or further
//! up this core's chain) gets it when it next waits. It ends handling with FFA_MSG_WAIT, and
//! the SPMC unmasks the interrupt (arch/gic.rs: taking it masked and ended it at the GIC).
//! The running of handlers is the dispatcher's (`dispatch::run_interrupt_handlers`).

use super::partition::{Phase, Runtime, Sp};
use super::{Env, Spmc};
use core::sync::atomic::Ordering;
use ffa_abi::func_id::FuncId;

pub use super::irq_pending::{core_bit, unmask_on, Pending, MAX_PER_SP};

/// The partition that owns `intid` and the interrupt's position in its list.
pub fn owner(spmc: &Spmc, intid: u32) -> Option<(&Sp, usize)> {
    spmc.sps.iter().find_map(|sp| {
        let i = sp.desc.capabilities.interrupts.binary_search(&intid).ok()?;
        (i < MAX_PER_SP).then_some((sp, i))
    })
}

/// Takes every secure interrupt pending on this core and records each with its owner; returns
/// whether the SPMC's own timer was among them (`time_limit`). An interrupt nobody owns (the
/// SPMC configures only owned ones, so this means a GIC set up by someone else) is reported
/// and stays masked.
pub fn take_all(spmc: &Spmc, env: &mut impl Env) -> bool {
    let core = env.core();
    let timer = env.timer_intid();
    let mut fired = false;
    let mut n = 0;
    while let Some(intid) = env.interrupt_take() {
        n += 1;
        if Some(intid) == timer {
            fired = true;
            continue;
        }
        match owner(spmc, intid) {
            Some((sp, bit)) => {
                if sp.irq.set(bit, core) {
                    spmc.irq_pending.fetch_add(1, Ordering::Release);
                }
            }
            None => crate::info!("secure interrupt {intid} has no owner: left masked"),
        }
        // A device that keeps asserting a level interrupt is masked by the take: the loop
        // ends. The bound is a belt against a GIC that does not mask.
        if n >= 1024 {
            break;
        }
    }
    fired
}

/// The next interrupt to enter `sp` with (its runtime locked by the caller): only while it
/// waits. Returns (interrupt ID, mask of the cores it was taken on).
pub fn next_for(spmc: &Spmc, sp: &Sp, rt: &mut Runtime) -> Option<(u32, u64)> {
    if !matches!(rt.phase(), Phase::Waiting(_)) {
        return None;
    }
    loop {
        let (bit, cores) = sp.irq.take_lowest()?;
        spmc.irq_pending.fetch_sub(1, Ordering::AcqRel);
        if cores != 0 {
            return Some((sp.desc.capabilities.interrupts[bit], cores));
        }
    }
}

/// Whether a core's warm entry (its redistributor reset by EL3, everything disabled) enables
/// the partition interrupt `intid` on it again. Not when its owner aborted and stays stopped
/// (taken, it would be queued for a partition that never runs, once per CPU_ON), nor when the
/// instance taken on this core is still queued for its owner or was left masked by its
/// owner's abort: the unmask after its handling, or the restart, enables it then. An owner
/// whose lock is held (running, or restarting, on another core) can take it.
pub fn enable_on_warm_entry(spmc: &Spmc, intid: u32, core: usize) -> bool {
    let Some((sp, bit)) = owner(spmc, intid) else {
        return true;
    };
    if sp.irq.pending_on(bit, core) {
        return false;
    }
    let Some(rt) = sp.rt.try_lock() else {
        return true;
    };
    if rt.state() != super::partition::State::Aborted {
        return true;
    }
    let masked_here = matches!(rt.life.masked_interrupt,
        Some((id, cores)) if id == intid && cores & core_bit(core) != 0);
    super::lifecycle::wants_restart(sp, &rt) && !masked_here
}

/// One interrupt the SPMC configures at boot, from the partition table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owned {
    pub intid: u32,
    /// The owning partition's endpoint ID.
    pub owner: ffa_abi::EndpointId,
    pub priority: u8,
    pub level: bool,
    /// Where an SPI goes (`interrupts-target`); `None`: the boot core.
    pub target_mpidr: Option<u64>,
}

/// Every interrupt a partition owns: those of its device regions the SP set description
/// granted (`Capabilities::interrupts`; manifest-tool checked they are secure and owned once).
pub fn configs(table: &'static spmc_table::Table) -> impl Iterator<Item = Owned> {
    table.partitions.iter().flat_map(|p| {
        p.device_regions
            .iter()
            .flat_map(|d| d.interrupts.iter())
            .filter(|i| p.capabilities.owns_interrupt(i.id))
            .map(|i| Owned {
                intid: i.id,
                owner: p.id,
                priority: i.attributes.priority(),
                level: i.attributes.level(),
                target_mpidr: i.target_mpidr,
            })
    })
}

/// x0-x17 that enter a partition to handle `intid`: FFA_INTERRUPT, w1 zero (no vCPU for an
/// S-EL0 partition), w2 the interrupt ID, the rest zero (Hafnium's
/// `api_ffa_interrupt_return`).
pub fn signal(intid: u32) -> [u64; 18] {
    let mut r = [0; 18];
    r[0] = FuncId::Interrupt32.raw().into();
    r[2] = intid.into();
    r
}

/// The SPMC's answer to FFA_INTERRUPT from EL3 once the interrupt is handled:
/// FFA_NORMAL_WORLD_RESUME (TF-A's SPMD refuses anything else, spmd_main.c).
pub fn normal_world_resume() -> [u64; 18] {
    let mut r = [0; 18];
    r[0] = FuncId::NormalWorldResume.raw().into();
    r
}
