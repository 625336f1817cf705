//! The SPMC's state and its FF-A entry points: one call from the normal world (forwarded by the
//! SPMD) becomes one answer, running secure partitions on the way as the call requires.
//!
//! Concurrency: every core runs the same synchronous loop. Each partition's runtime state sits
//! behind its own lock, taken with `try_lock` only: a partition that is already running (on
//! another core, or further up this core's chain of direct requests) is BUSY, never waited for.
//! The normal world's mailbox has its own lock, which the direct-message path never takes;
//! each partition's RX/TX buffers have one too (`partition::SpMailbox`), outside its runtime,
//! so that an indirect message reaches a partition that is running or waiting up a chain.

#![forbid(unsafe_code)]

// The dispatcher and the handler signature.
pub mod call;
pub mod dispatch;
// One handler module per FF-A ABI family (dispatch.rs lists which ABI goes where).
pub mod direct;
pub mod framework;
pub mod indirect;
pub mod memory;
pub mod notify;
pub mod sched;
pub mod setup;
pub mod sp_services;
pub mod version;
// Partitions: their state machine, loading them, running them.
pub mod lifecycle;
pub mod loader;
pub mod partition;
pub mod run;
// Secure interrupts owned by partitions, and the time limits the SPMC's own timer enforces.
pub mod interrupt;
pub mod irq_pending;
pub mod time_limit;
// The one list of implemented ABIs per caller.
pub mod abi_table;
// What an endpoint owns at an address: the one ownership query.
pub mod ownership;
// Test images only: the state checker behind the SPMC's own endpoint (host-tested always).
#[cfg(any(test, feature = "state-check"))]
pub mod state_check;

use crate::arch::{Exit, UserRegs};
use crate::memory::{KernelLayout, PhysRange};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};
use ffa_abi::endpoint::EndpointId;
use ffa_abi::error::ErrorCode;
use ffa_abi::regs::Regs;
use ffa_abi::version::Version;
use partition::Sp;
use spmc_table::Table;

/// The FF-A version this SPMC implements.
pub const SPMC_VERSION: Version = Version::V1_2;

/// What the kernel logic needs from the machine: the architecture seam. The real one lives in
/// `arch::aarch64`; host tests supply a fake that scripts partitions.
pub trait Env {
    /// Runs an S-EL0 context on this core until it traps back.
    fn run_user(&mut self, regs: &mut UserRegs, ttbr0: u64) -> Exit;
    /// Copies physical memory (inside the alias window) into `buf`; false if not reachable.
    fn read_phys(&self, pa: u64, buf: &mut [u8]) -> bool;
    /// Copies `data` into physical memory (inside the alias window); false if not reachable.
    fn write_phys(&self, pa: u64, data: &[u8]) -> bool;
    /// Writes zeros over `[pa, pa + len)` (inside the alias window); false if not reachable.
    /// The default goes through `write_phys`; the machine uses the cache's zeroing instruction.
    fn zero_phys(&self, pa: u64, len: u64) -> bool {
        const ZEROS: [u8; 512] = [0; 512];
        let mut off = 0;
        while off < len {
            let n = (len - off).min(ZEROS.len() as u64) as usize;
            if !self.write_phys(pa + off, &ZEROS[..n]) {
                return false;
            }
            off += n as u64;
        }
        true
    }
    /// Makes code written with `write_phys` at `[pa, pa + len)` visible to instruction fetch
    /// (clean the data cache to the point of unification, invalidate the instruction cache).
    /// Host fakes have no caches, hence the empty default.
    fn sync_icache(&self, pa: u64, len: u64) {
        let _ = (pa, len);
    }
    /// Invalidates the TLB entries of an ASID after its mappings changed.
    fn tlb_invalidate_asid(&self, asid: u16);
    /// Takes this core's highest-priority pending secure interrupt: acknowledges it, masks it
    /// at the GIC and ends it there (arch/gic.rs explains why). `None` when none is pending.
    /// The default (no GIC) has none.
    fn interrupt_take(&mut self) -> Option<u32> {
        None
    }
    /// Unmasks an interrupt [`Env::interrupt_take`] masked, once its owner handled it; `core`
    /// is where it was taken.
    fn interrupt_unmask(&mut self, intid: u32, core: usize) {
        let _ = (intid, core);
    }
    /// The interrupt ID of the SPMC's own timer on this machine (the secure physical timer),
    /// if it has one: [`Env::interrupt_take`] returns it without masking it.
    fn timer_intid(&self) -> Option<u32> {
        None
    }
    /// This core's counter (the timer's time base), in ticks.
    fn now(&self) -> u64 {
        0
    }
    /// Counter ticks per millisecond.
    fn ticks_per_ms(&self) -> u64 {
        1
    }
    /// Makes `deadline` (a counter value; `None`: none) the SPMC's deadline in force on this
    /// core and returns the one it replaces; the machine programs the SPMC's timer for it
    /// (disables it for `None`) at every call. Whoever takes the timer's interrupt checks
    /// `time_limit::expired` (a stray or early interrupt is no expiry) and calls
    /// `deadline_swap(deadline())`, which arms it again.
    fn deadline_swap(&mut self, deadline: Option<u64>) -> Option<u64> {
        let _ = deadline;
        None
    }
    /// The deadline in force on this core.
    fn deadline(&self) -> Option<u64> {
        None
    }
    /// Whether a Group 0 interrupt (EL3's) is the highest pending one on this core
    /// (ICC_HPPIR0_EL1). In the secure state it is signalled as FIQ, like a non-secure one
    /// (GICv3, table 4-3), so an FIQ that stopped a partition may be either. The default (no
    /// GIC) has none.
    fn group0_pending(&self) -> bool {
        false
    }
    /// Hands this core's pending Group 0 interrupt to EL3 with FFA_EL3_INTR_HANDLE: TF-A's SPMD
    /// (`spmd_handle_group0_intr_swd` in services/std_svc/spmd/spmd_main.c) acknowledges it,
    /// gives it to the platform and ends it, and answers FFA_SUCCESS. Returns whether it did.
    fn el3_intr_handle(&mut self) -> bool {
        true
    }
    /// The linear ID of this core.
    fn core(&self) -> usize;
    /// Raises non-secure SGI `intid` on this core (the schedule-receiver interrupt of
    /// notifications). Host fakes record it.
    fn raise_ns_sgi(&self, intid: u32);
}

/// An RX/TX buffer pair registered with FFA_RXTX_MAP (or from an SP's manifest).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Mailbox {
    /// Physical address of the caller's TX buffer (the SPMC reads it).
    pub tx: u64,
    /// Physical address of the caller's RX buffer (the SPMC writes it).
    pub rx: u64,
    /// Size of each buffer in 4 KiB pages.
    pub pages: u32,
    /// Whether the RX buffer holds a message the owner has not released (RX_RELEASE).
    pub rx_full: bool,
    /// The TX buffer was given in the manifest, not by FFA_RXTX_MAP (cannot be unmapped).
    pub from_manifest: bool,
    /// The v1.0 message (FFA_MSG_SEND) the full RX buffer holds, for FFA_MSG_POLL: set with
    /// `rx_full`, gone when the buffer is handed back ([`Mailbox::release`]), so a poll never
    /// reports it over whatever fills the buffer next.
    pub v1_0: Option<indirect::V1_0Message>,
}

impl Mailbox {
    /// A pair with nothing in its RX buffer.
    pub fn new(tx: u64, rx: u64, pages: u32, from_manifest: bool) -> Self {
        Self {
            tx,
            rx,
            pages,
            rx_full: false,
            from_manifest,
            v1_0: None,
        }
    }

    /// The owner hands its RX buffer back (FFA_RX_RELEASE, FFA_MSG_WAIT without the retain
    /// flag, an abort): the SPMC may write it again, and what it held, a v1.0 message
    /// included, is gone.
    pub fn release(&mut self) {
        self.rx_full = false;
        self.v1_0 = None;
    }
}

/// The normal world's state at the SPMC.
#[derive(Debug, Default)]
pub struct NormalWorld {
    pub mailbox: Option<Mailbox>,
}

/// Platform facts the kernel needs at run time.
#[derive(Clone, Copy, Debug)]
pub struct PlatformInfo {
    pub name: &'static str,
    pub layout: KernelLayout,
    /// Non-secure memory the normal world may name (its RX/TX buffers, shared memory).
    pub ns_memory: &'static [PhysRange],
    /// Memory-sharing limits (concurrent transactions, receivers and constituents per
    /// transaction), clamped to the engine's compile-time capacity; beyond them: NO_MEMORY.
    pub memory_limits: crate::mem_share::Limits,
    /// Which of x8-x17 EL3 passes between the worlds (`boot::PlatformBoot`).
    pub el3_registers: El3Registers,
    /// Time limits of partitions where the SP set description does not set them.
    pub time_limits: time_limit::Defaults,
}

/// Which argument registers EL3 copies from a normal-world call into the SPMC's registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum El3Registers {
    /// TF-A v2.14 and later (services/std_svc/spmd/spmd_main.c `spmd_smc_switch_state`, commit
    /// "fix(el3-spmc): fixed x8-x17 register handling for FFA 1.2"): x0-x17 for an SMC64 call
    /// when the normal world asked for FF-A v1.2 or later and the SPMC answered v1.2 or later;
    /// x0-x7 otherwise (`SMC_RET8`, or `SMC_RET18` with x8-x17 zero). qemu/monitor does the
    /// same.
    TfA2_14,
    /// TF-A before v2.14: x0-x7 of every call (`SMC_RET8`). Cargo feature `tf-a-pre-2-14` of
    /// the platform crates.
    X0ToX7,
}

impl El3Registers {
    /// Returns whether x8-x17 of a normal-world call with function ID `w0` reach the SPMC,
    /// given the version the normal world negotiated (`nw`, the lower of its request and
    /// ours) and the SPMC's own.
    pub fn passes_x8_x17(self, w0: u32, nw: Version, spmc: Version) -> bool {
        const SMC64: u32 = 1 << 30;
        let v1_2 = Version::new(1, 2);
        match self {
            Self::TfA2_14 => w0 & SMC64 != 0 && nw >= v1_2 && spmc >= v1_2,
            Self::X0ToX7 => false,
        }
    }
}

/// The SPMC.
pub struct Spmc {
    /// The SPMC's endpoint ID (manifest `spmc_id`).
    pub id: EndpointId,
    /// The version this SPMC speaks (its manifest may lower it).
    pub version: Version,
    pub table: &'static Table,
    pub platform: PlatformInfo,
    pub sps: Vec<Sp>,
    /// The normal world's state (its RX/TX pair). A core retired while holding it poisons
    /// it: the ABIs that use the normal world's mailbox then answer ABORTED (see [`Spmc::nw_state`]).
    pub nw: crate::sync::CoreLock<NormalWorld>,
    /// The memory transaction engine (memory ABIs only; never taken on the message path).
    /// A core retired while holding it poisons it: memory ABIs then answer ABORTED.
    pub mem: crate::sync::CoreLock<memory::MemState>,
    /// Notification state, per receiving endpoint (notify.rs).
    pub notify: notify::Notifications,
    nw_version: AtomicU32,
    /// Secure interrupts taken for a partition and not delivered yet (all partitions): one
    /// load tells the message path there is nothing to deliver.
    pub irq_pending: AtomicU32,
}

impl Spmc {
    /// Creates the SPMC state for a table (partitions not yet loaded).
    pub fn new(
        id: EndpointId,
        version: Version,
        table: &'static Table,
        platform: PlatformInfo,
    ) -> Self {
        let sps = table
            .partitions
            .iter()
            .enumerate()
            .map(|(i, p)| Sp::new(i, p))
            .collect();
        Self {
            id,
            version,
            table,
            platform,
            sps,
            nw: crate::sync::CoreLock::new(NormalWorld::default()),
            mem: crate::sync::CoreLock::new(memory::MemState::new(platform.memory_limits)),
            notify: notify::Notifications::new(
                table.partitions.iter().map(|p| p.execution_ctx_count),
            ),
            nw_version: AtomicU32::new(Version::V1_0.encode()),
            irq_pending: AtomicU32::new(0),
        }
    }

    /// The normal world's state under its lock; ABORTED if a core was retired holding it (the
    /// state may be half updated: nobody uses it again, and no core hangs waiting for it).
    pub fn nw_state(&self) -> Result<crate::sync::CoreGuard<'_, NormalWorld>, ErrorCode> {
        self.nw
            .lock(crate::arch::current_core())
            .map_err(|_| ErrorCode::Aborted)
    }

    /// The version negotiated with the normal world (v1.0 until it calls FFA_VERSION).
    pub fn nw_version(&self) -> Version {
        Version::decode(self.nw_version.load(Ordering::Relaxed)).unwrap_or(Version::V1_0)
    }

    fn set_nw_version(&self, v: Version) {
        self.nw_version.store(v.encode(), Ordering::Relaxed);
    }

    /// Handles one call as it arrives from EL3, answering in place. When EL3 did not pass
    /// x8-x17 ([`El3Registers::passes_x8_x17`]) they still hold this core's previous answer,
    /// possibly another partition's DIRECT_RESP2 payload, so they are cleared first.
    pub fn handle_el3_call_in_place(&self, env: &mut impl Env, regs: &mut Regs) {
        // A secure interrupt preempted the normal world: the SPMD enters us with
        // FFA_INTERRUPT (x1-x7 zero) and takes only FFA_NORMAL_WORLD_RESUME back.
        if regs.w(0) == ffa_abi::func_id::FuncId::Interrupt32.raw() {
            dispatch::el3_interrupt(self, env, regs);
            return;
        }
        let passed =
            self.platform
                .el3_registers
                .passes_x8_x17(regs.w(0), self.nw_version(), self.version);
        if !passed {
            direct::clear_x8_x17(&mut regs.0);
        }
        dispatch::nw_call(self, env, regs);
    }

    /// [`Self::handle_el3_call_in_place`] by value.
    pub fn handle_el3_call(&self, env: &mut impl Env, mut regs: Regs) -> Regs {
        self.handle_el3_call_in_place(env, &mut regs);
        regs
    }

    /// Handles one call from the normal world and returns the answer for it.
    pub fn handle_nw_call(&self, env: &mut impl Env, regs: &Regs) -> Regs {
        let mut io = *regs;
        dispatch::nw_call(self, env, &mut io);
        io
    }
}

#[cfg(test)]
pub(crate) mod tests;
