//! What the secondary cores do once PSCI CPU_ON brings them into the driver: one FF-A call on
//! their own core, a report through shared memory, then wait for a command (power off).

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use ffa_abi::{EndpointId, FuncId};

use crate::arch::{self, wfe};
use crate::console::log;
use crate::{ffa, psci};

pub const MAX_CORES: usize = 8;

/// Commands from the primary core.
pub const CMD_NONE: u32 = 0;
pub const CMD_CPU_OFF: u32 = 1;
/// Send [`BURST`] direct requests to the endpoint in `target` and count the answers.
pub const CMD_MESSAGES: u32 = 2;

/// Take part in the 4-core memory race (cases/fuzz.rs `race_worker`, seed in `target`).
pub const CMD_MEM_RACE: u32 = 3;
/// Run the job `crate::stress::JOBS` holds for this core.
pub const CMD_JOB: u32 = 4;
/// PSCI CPU_SUSPEND to the core power-down state with this core's NS timer armed to wake it
/// ([`SUSPEND_WAKE_TICKS`]); it resumes at [`entry_point`] and reports again.
pub const CMD_SUSPEND: u32 = 5;

/// qemu_sbsa's core power-down state (TF-A sbsa_pm.c `qemu_pm_idle_states`, state-id 0x02).
pub const POWER_DOWN_STATE: u64 = 0x1_0002;
/// When the timer wakes a suspended core: 20 ms of the 62.5 MHz counter.
pub const SUSPEND_WAKE_TICKS: u64 = 1_250_000;

/// Requests one core sends for [`CMD_MESSAGES`].
pub const BURST: u32 = 200;

/// The shared-memory mailbox of one secondary core.
pub struct Mailbox {
    /// Incremented each time the core has (re)booted and filled in the fields below.
    pub reports: AtomicU32,
    /// w0 of FFA_VERSION(1.2) on that core.
    pub version: AtomicU32,
    /// (w0 << 32) | w2 of FFA_ID_GET on that core.
    pub id_get: AtomicU64,
    /// MPIDR.Aff0 the core saw, to prove it ran on the core that was switched on.
    pub core_seen: AtomicU32,
    /// Status of a CPU_OFF that returned (it must not return).
    pub cpu_off_status: AtomicU32,
    /// [`CMD_SUSPEND`]: how often CPU_SUSPEND returned (abandoned: an interrupt was already
    /// pending) and its last status.
    pub suspend_returns: AtomicU32,
    pub suspend_status: AtomicU32,
    pub command: AtomicU32,
    /// [`CMD_MESSAGES`]: the destination endpoint.
    pub target: AtomicU32,
    /// [`CMD_MESSAGES`] results: correct echoes, BUSY answers, anything else; `done` counts
    /// finished bursts.
    pub echoed: AtomicU32,
    pub busy: AtomicU32,
    pub wrong: AtomicU32,
    pub done: AtomicU32,
}

#[allow(clippy::declare_interior_mutable_const)]
const MAILBOX: Mailbox = Mailbox {
    reports: AtomicU32::new(0),
    version: AtomicU32::new(0),
    id_get: AtomicU64::new(0),
    core_seen: AtomicU32::new(u32::MAX),
    cpu_off_status: AtomicU32::new(0),
    suspend_returns: AtomicU32::new(0),
    suspend_status: AtomicU32::new(0),
    command: AtomicU32::new(CMD_NONE),
    target: AtomicU32::new(0),
    echoed: AtomicU32::new(0),
    busy: AtomicU32::new(0),
    wrong: AtomicU32::new(0),
    done: AtomicU32::new(0),
};

pub static MAILBOXES: [Mailbox; MAX_CORES] = [MAILBOX; MAX_CORES];

extern "C" {
    fn secondary_entry();
}

/// The CPU_ON entry point of the driver.
pub fn entry_point() -> u64 {
    secondary_entry as *const () as u64
}

/// Rust entry of a secondary core; `context_id` is the core index the primary passed.
#[no_mangle]
extern "C" fn secondary_main(context_id: u64) -> ! {
    let i = (context_id as usize) % MAX_CORES;
    let m = &MAILBOXES[i];
    // After CPU_SUSPEND the wake-up timer is still armed and its interrupt enabled: quiet both
    // (harmless after CPU_ON).
    crate::nsirq::disable();
    let version = ffa::version(0x1_0002);
    let id = ffa::call(FuncId::IdGet, &[]);
    m.version.store(version, Ordering::Relaxed);
    m.id_get.store(
        (u64::from(id.w(0)) << 32) | u64::from(id.w(2)),
        Ordering::Relaxed,
    );
    m.core_seen
        .store(arch::core_index() as u32, Ordering::Relaxed);
    log!(
        "core {i} up: FFA_VERSION {version:#x}, FFA_ID_GET w2 {:#x}",
        id.w(2)
    );
    m.reports.fetch_add(1, Ordering::Release);
    arch::sev();
    loop {
        match m.command.swap(CMD_NONE, Ordering::AcqRel) {
            CMD_CPU_OFF => {
                let status = psci::cpu_off();
                m.cpu_off_status.store(status as u32, Ordering::Release);
            }
            CMD_SUSPEND => {
                crate::nsirq::enable();
                crate::nsirq::timer_start(SUSPEND_WAKE_TICKS);
                let status = psci::call(
                    psci::CPU_SUSPEND_64,
                    POWER_DOWN_STATE,
                    entry_point(),
                    i as u64,
                );
                // Only reached when the suspend was abandoned or refused.
                crate::nsirq::disable();
                m.suspend_status.store(status as u32, Ordering::Relaxed);
                m.suspend_returns.fetch_add(1, Ordering::Release);
                arch::sev();
            }
            CMD_MESSAGES => {
                let (echoed, busy, wrong) = burst(
                    EndpointId(m.target.load(Ordering::Acquire) as u16),
                    i as u32,
                );
                m.echoed.store(echoed, Ordering::Relaxed);
                m.busy.store(busy, Ordering::Relaxed);
                m.wrong.store(wrong, Ordering::Relaxed);
                m.done.fetch_add(1, Ordering::Release);
                arch::sev();
            }
            CMD_MEM_RACE => {
                let seed = u64::from(m.target.load(Ordering::Acquire));
                crate::cases::fuzz::race_worker(i, seed);
                m.done.fetch_add(1, Ordering::Release);
                arch::sev();
            }
            CMD_JOB => {
                crate::stress::run(i);
                arch::sev();
            }
            _ => {}
        }
        wfe();
    }
}

/// Sends [`BURST`] DIRECT_REQ_32 to `target` with payloads unique to this core and request,
/// and counts (exact echoes, BUSY errors, anything else). Used by the primary core too.
pub fn burst(target: EndpointId, core: u32) -> (u32, u32, u32) {
    let (mut echoed, mut busy, mut wrong) = (0, 0, 0);
    for n in 0..BURST {
        let tag = (core << 24) | n;
        let r = ffa::call(
            FuncId::MsgSendDirectReq32,
            &[
                u64::from(target),
                0,
                u64::from(tag),
                1,
                2,
                3,
                u64::from(!tag),
            ],
        );
        let echo = r.w(0) == FuncId::MsgSendDirectResp32.raw()
            && r.w(1) == u32::from(target) << 16
            && [r.w(3), r.w(4), r.w(5), r.w(6), r.w(7)] == [tag, 1, 2, 3, !tag];
        if echo {
            echoed += 1;
        } else if r.w(0) == FuncId::Error32.raw() && r.w(2) == ffa_abi::ErrorCode::Busy.to_u32() {
            busy += 1;
        } else {
            wrong += 1;
        }
    }
    (echoed, busy, wrong)
}
