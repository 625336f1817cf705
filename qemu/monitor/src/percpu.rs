//! Per-core monitor state: both worlds' contexts, which world is live, and what the secure
//! world's current run is for. Only the owning core touches its entry; cores talk to each other
//! through the atomics in `power.rs`.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch::{self, read_sysreg, write_sysreg, MAX_CORES};
use crate::context::{GpRegs, World, WorldContext};
pub use qemu_monitor::spmd::SecureRun;

/// SCR_EL3 while the secure world runs: RES1 (bits 5:4), SIF, RW (lower ELs AArch64), ST (S-EL1
/// may use the secure physical timer). NS = 0, no IRQ/FIQ/EA routing to EL3, SMC enabled.
const SCR_SECURE: u64 = 0x30 | (1 << 9) | (1 << 10) | (1 << 11);
/// SCR_EL3 while the normal world runs: NS, FIQ (routed to EL3), HCE (HVC enabled), RW, RES1.
/// FIQ: in the non-secure state Secure Group 1 and Group 0 interrupts are signalled as FIQ
/// (GICv3 spec, table 4-3), and TF-A's SPMD asks for both to reach EL3 from the normal world
/// only (spmd_main.c `spmd_spmc_init`, routing model NON_SECURE; the interrupt framework sets
/// SCR_EL3.FIQ in the non-secure context, bl31/interrupt_mgmt.c). Non-secure interrupts (IRQ
/// there) stay with the normal world.
const SCR_NON_SECURE: u64 = 0x30 | 1 | (1 << 2) | (1 << 8) | (1 << 10);

/// SCR_EL3.API | APK: pointer-authentication instructions and keys usable below EL3 without
/// trapping, set only on CPUs that have pointer authentication (their absence makes the bits RES0).
/// Computed once at boot ([`detect_cpu_features`]) so world switches do not read ID registers.
static SCR_NS_FEATURES: AtomicU64 = AtomicU64::new(0);

/// Records the SCR_EL3 feature bits this CPU model needs for the normal world.
pub fn detect_cpu_features() {
    let isar1 = read_sysreg!(id_aa64isar1_el1);
    let isar2 = read_sysreg!(id_aa64isar2_el1);
    // APA [7:4], API [11:8], GPA [27:24], GPI [31:28]; ISAR2 APA3 [15:12], GPA3 [11:8].
    let pauth = isar1 & 0xFF00_0FF0 != 0 || isar2 & 0xFF00 != 0;
    let bits = if pauth { (1 << 16) | (1 << 17) } else { 0 };
    SCR_NS_FEATURES.store(bits, Ordering::Relaxed);
}

fn scr_ns_features() -> u64 {
    SCR_NS_FEATURES.load(Ordering::Relaxed)
}

pub struct Core {
    ctx: [WorldContext; 2],
    current: World,
    pub secure_run: SecureRun,
    /// Where (and with which x0) the normal world starts once the SPMC init on this core ends.
    pub ns_entry: u64,
    pub ns_arg: u64,
}

impl Core {
    const fn new() -> Self {
        Self {
            ctx: [WorldContext::new(), WorldContext::new()],
            current: World::Secure,
            secure_run: SecureRun::Idle,
            ns_entry: 0,
            ns_arg: 0,
        }
    }

    /// Returns the world whose registers are live (the one that trapped).
    pub fn current(&self) -> World {
        self.current
    }

    pub fn ctx(&mut self, world: World) -> &mut WorldContext {
        &mut self.ctx[world as usize]
    }

    /// The SMCCC argument registers x0..x17 `world` trapped with, borrowed from its context.
    pub fn args(&self, world: World) -> &[u64; 18] {
        let x = &self.ctx[world as usize].gp.x;
        // x has 31 entries: the first 18 always exist.
        x.first_chunk::<18>().unwrap_or(&[0; 18])
    }

    /// The saved x0..x17 of `from` (read) and of `to` (written), for a call forwarded from
    /// one world's context straight into the other's (`from != to`).
    pub fn forward_regs(&mut self, from: World) -> (&[u64; 18], &mut [u64; 18]) {
        let [s, ns] = &mut self.ctx;
        let (src, dst) = match from {
            World::Secure => (&s.gp.x, &mut ns.gp.x),
            World::NonSecure => (&ns.gp.x, &mut s.gp.x),
        };
        let src = src.first_chunk::<18>().unwrap_or(&[0; 18]);
        let dst = match dst.first_chunk_mut::<18>() {
            Some(d) => d,
            None => unreachable!("31 saved registers"),
        };
        (src, dst)
    }

    /// Makes `to` the live world (saving the EL1 registers of the world that trapped) and
    /// returns the context entry.S must ERET to.
    pub fn switch_to(&mut self, to: World) -> *mut GpRegs {
        if self.current != to {
            self.ctx[self.current as usize].el1.save();
            self.load(to);
        }
        &mut self.ctx[to as usize].gp
    }

    /// Makes `to` the live world when nothing live is worth saving (boot, wake from CPU_OFF).
    pub fn enter_fresh(&mut self, to: World) -> *mut GpRegs {
        self.load(to);
        &mut self.ctx[to as usize].gp
    }

    fn load(&mut self, to: World) {
        self.ctx[to as usize].el1.restore();
        let scr = match to {
            World::Secure => SCR_SECURE,
            World::NonSecure => SCR_NON_SECURE | scr_ns_features(),
        };
        write_sysreg!(scr_el3, scr);
        self.current = to;
    }
}

struct Cores([UnsafeCell<Core>; MAX_CORES]);

// SAFETY: entry i is only accessed by the core whose MPIDR.Aff0 is i, through `this_core`, whose
// contract allows one live reference per core.
unsafe impl Sync for Cores {}

static CORES: Cores = Cores([const { UnsafeCell::new(Core::new()) }; MAX_CORES]);

/// Returns the executing core's state.
///
/// # Safety
///
/// The caller must be an entry into the monitor from entry.S (the reset path of a core, or one
/// exception from a lower EL) and call this once in that entry: the returned reference must be
/// the only live reference to this core's entry. It stays valid until the monitor leaves
/// through `el3_exit` (which does not return, so the reference is dead by the next entry), and
/// entries never nest because EL3 takes no exceptions into itself (they are fatal,
/// `el3_unexpected`). Other cores never reach this entry: the index is this core's MPIDR.Aff0.
pub unsafe fn this_core() -> &'static mut Core {
    let i = arch::core_index();
    // SAFETY: index i is the executing core's, so no other core touches CORES[i]; the caller
    // guarantees that this core holds no other reference to it (see # Safety).
    unsafe { &mut *CORES.0[i].get() }
}

/// Top of core `i`'s EL3 stack (entry.S uses the same arithmetic at reset).
pub fn stack_top(i: usize) -> u64 {
    extern "C" {
        static __stacks_top: u8;
    }
    let top = core::ptr::addr_of!(__stacks_top) as u64;
    top - 0x4000 * i as u64
}
