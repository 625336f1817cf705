//! The SMC dispatcher: what TF-A's SPMD (SPMD_SPM_AT_SEL2=0) and PSCI do with each SMC, per
//! origin world (reference/ffa-facts.md section 2; TF-A services/std_svc/spmd/spmd_main.c).
//!
//! The secure world only runs while the normal world waits in an SMC (or during SPMC boot), so
//! each core is a strict ping-pong: a normal-world FF-A call is delivered to the SPMC as the
//! return value of its last SMC, and the SPMC's next FF-A result SMC is the normal world's
//! return value. `SecureRun` says why the secure world is running and so where its result goes.

use crate::arch::read_sysreg;
use crate::boot::{self, attrs, fatal};
use crate::console::log;
use crate::context::{GpRegs, World};
use crate::ids::{ffa, psci, smccc, SMCCC_NOT_SUPPORTED};
use crate::percpu::{this_core, Core, SecureRun};
use crate::{arch, exit_status, power};

/// ESR_ELx.EC of an SMC from AArch64.
const EC_SMC64: u64 = 0x17;

/// Handles a synchronous exception from S-EL1 or NS-EL2/EL1 and returns the context to resume.
pub fn lower_sync() -> *mut GpRegs {
    let esr = read_sysreg!(esr_el3);
    let core = this_core();
    let id = arch::core_index();
    let from = core.current();
    if esr >> 26 != EC_SMC64 {
        let elr = core.ctx(from).gp.elr_el3;
        fatal(
            exit_status::EL3_FAULT,
            format_args!(
                "unexpected trap from {from:?} on core {id}: ESR_EL3 {esr:#x}, ELR {elr:#x}"
            ),
        );
    }
    let args = core.ctx(from).gp.args();
    let fid = args[0] as u32;
    match from {
        World::NonSecure => from_normal_world(core, id, fid, &args),
        World::Secure => from_secure_world(core, id, fid, &args),
    }
}

/// Sets x0..x7 of `world` and resumes it.
fn reply(core: &mut Core, world: World, values: [u64; 8]) -> *mut GpRegs {
    core.ctx(world).gp.ret8(values);
    core.switch_to(world)
}

/// Sets x0 only (SMCCC/PSCI single result) and resumes `world`.
fn reply1(core: &mut Core, world: World, x0: u64) -> *mut GpRegs {
    core.ctx(world).gp.x[0] = x0;
    core.switch_to(world)
}

fn psci_status(status: i32) -> u64 {
    i64::from(status) as u64
}

/// An SPMD-to-SPMC framework message (FFA_MSG_SEND_DIRECT_REQ_32, SPMD -> SPMC).
fn framework_message(kind: u64, payload: u64) -> [u64; 18] {
    let mut m = [0; 18];
    m[0] = u64::from(ffa::DIRECT_REQ_32);
    m[1] = (u64::from(ffa::SPMD_ID) << 16) | u64::from(attrs().spmc_id);
    m[2] = ffa::FWK_MSG_BIT | kind;
    m[3] = payload;
    m
}

/// Whether w1 names the SPMC as source and the SPMD as destination (TF-A spmd_is_spmc_message).
fn is_spmc_to_spmd(x1: u64) -> bool {
    x1 as u32 == (u32::from(attrs().spmc_id) << 16) | u32::from(ffa::SPMD_ID)
}

/// TF-A's SPMD logical partition ID range (`SPMD_LP_ID_START..=SPMD_LP_ID_END`).
fn is_spmd_logical_partition(id: u16) -> bool {
    (0xFFC0..=0xFFFE).contains(&id)
}

fn from_normal_world(core: &mut Core, id: usize, fid: u32, a: &[u64; 18]) -> *mut GpRegs {
    let ns = World::NonSecure;
    if ffa::is_ffa(fid) {
        return ns_ffa(core, fid, a);
    }
    match fid {
        smccc::VERSION => reply1(core, ns, smccc::VERSION_1_2),
        smccc::ARCH_FEATURES => {
            let status = if a[1] as u32 == smccc::ARCH_FEATURES {
                psci::SUCCESS
            } else {
                psci::NOT_SUPPORTED
            };
            reply1(core, ns, psci_status(status))
        }
        psci::VERSION => reply1(core, ns, psci::VERSION_1_1),
        psci::FEATURES => reply1(core, ns, psci_status(power::features(a[1] as u32))),
        psci::CPU_ON_32 => {
            let s = power::cpu_on(a[1] & 0xFFFF_FFFF, a[2] & 0xFFFF_FFFF, a[3] & 0xFFFF_FFFF);
            reply1(core, ns, psci_status(s))
        }
        psci::CPU_ON_64 => reply1(core, ns, psci_status(power::cpu_on(a[1], a[2], a[3]))),
        psci::AFFINITY_INFO_32 => {
            let s = power::affinity_info(a[1] & 0xFFFF_FFFF, a[2] & 0xFFFF_FFFF);
            reply1(core, ns, psci_status(s))
        }
        psci::AFFINITY_INFO_64 => reply1(core, ns, psci_status(power::affinity_info(a[1], a[2]))),
        psci::MIGRATE_INFO_TYPE => reply1(core, ns, psci::MIGRATE_NOT_REQUIRED),
        psci::CPU_OFF => {
            // TF-A's spmd_cpu_off_handler: tell the SPMC on this core before powering down.
            let msg = framework_message(ffa::FWK_PSCI, u64::from(psci::CPU_OFF));
            core.ctx(World::Secure).gp.set_args(&msg);
            core.secure_run = SecureRun::FwkCpuOff;
            core.switch_to(World::Secure)
        }
        psci::SYSTEM_OFF => {
            // Fixture convention: x1 carries the exit status of the QEMU run.
            log!("SYSTEM_OFF from core {id}, exit status {}", a[1]);
            arch::semihosting_exit(a[1])
        }
        psci::SYSTEM_RESET => {
            log!("SYSTEM_RESET from core {id}: ending the run");
            arch::semihosting_exit(0)
        }
        _ => reply1(core, ns, SMCCC_NOT_SUPPORTED),
    }
}

fn ns_ffa(core: &mut Core, fid: u32, a: &[u64; 18]) -> *mut GpRegs {
    let ns = World::NonSecure;
    match fid {
        // The SPMD answers these for the normal world itself.
        ffa::ID_GET => reply(core, ns, ffa::success(0)),
        ffa::SPM_ID_GET => reply(core, ns, ffa::success(u64::from(attrs().spmc_id))),
        ffa::VERSION => ns_version(core, a[1] as u32),
        // Only the secure world may use these; the console belongs to the SPMC's own log.
        ffa::MSG_WAIT
        | ffa::MSG_WAIT_64
        | ffa::INTERRUPT
        | ffa::INTERRUPT_64
        | ffa::YIELD
        | ffa::YIELD_64
        | ffa::SECONDARY_EP_REGISTER_32
        | ffa::SECONDARY_EP_REGISTER_64
        | ffa::CONSOLE_LOG_32
        | ffa::CONSOLE_LOG_64
        | ffa::EL3_INTR_HANDLE => reply(core, ns, ffa::error(ffa::NOT_SUPPORTED)),
        // TF-A: only valid from the SPMC after a secure interrupt.
        ffa::NORMAL_WORLD_RESUME | ffa::NORMAL_WORLD_RESUME_64 => {
            reply(core, ns, ffa::error(ffa::DENIED))
        }
        // TF-A: "Validate source endpoint is non-secure for non-secure caller", and SPMD
        // logical partitions (0xFFC0..=0xFFFE) take no direct requests.
        ffa::DIRECT_REQ_32 | ffa::DIRECT_REQ_64 | ffa::DIRECT_REQ2
            if a[1] & (1 << 31) != 0 || is_spmd_logical_partition(a[1] as u16) =>
        {
            reply(core, ns, ffa::error(ffa::INVALID_PARAMETERS))
        }
        _ => {
            if core.secure_run != SecureRun::Idle {
                return reply(core, ns, ffa::error(ffa::NOT_SUPPORTED));
            }
            core.ctx(World::Secure).gp.set_args(a);
            core.secure_run = SecureRun::NsCall;
            core.switch_to(World::Secure)
        }
    }
}

/// FFA_VERSION from the normal world: answered by the SPMC through the framework message,
/// except for invalid versions and a v1.0 SPMC (DEN0077 section 13.2; TF-A spmd_smc_handler).
fn ns_version(core: &mut Core, requested: u32) -> *mut GpRegs {
    let ns = World::NonSecure;
    if requested & ffa::VERSION_MBZ_BIT != 0 {
        return reply(
            core,
            ns,
            [u64::from(ffa::NOT_SUPPORTED as u32), 0, 0, 0, 0, 0, 0, 0],
        );
    }
    if attrs().minor_version == 0 {
        return reply(core, ns, [u64::from(ffa::VERSION_1_0), 0, 0, 0, 0, 0, 0, 0]);
    }
    let msg = framework_message(ffa::FWK_VERSION_REQ, u64::from(requested));
    core.ctx(World::Secure).gp.set_args(&msg);
    core.secure_run = SecureRun::FwkVersion;
    core.switch_to(World::Secure)
}

/// FF-A results the SPMC sends back to the normal world (TF-A forwards these).
fn is_result_for_normal_world(fid: u32) -> bool {
    matches!(
        fid,
        ffa::ERROR
            | ffa::ERROR_64
            | ffa::SUCCESS_32
            | ffa::SUCCESS_64
            | ffa::MSG_WAIT
            | ffa::MSG_WAIT_64
            | ffa::INTERRUPT
            | ffa::INTERRUPT_64
            | ffa::YIELD
            | ffa::YIELD_64
            | ffa::MSG_SEND
            | ffa::DIRECT_REQ_32
            | ffa::DIRECT_REQ_64
            | ffa::DIRECT_RESP_32
            | ffa::DIRECT_RESP_64
            | ffa::DIRECT_REQ2
            | ffa::DIRECT_RESP2
            | ffa::MEM_DONATE_32
            | ffa::MEM_DONATE_64
            | ffa::MEM_LEND_32
            | ffa::MEM_LEND_64
            | ffa::MEM_SHARE_32
            | ffa::MEM_SHARE_64
            | ffa::MEM_RETRIEVE_REQ_32
            | ffa::MEM_RETRIEVE_REQ_64
            | ffa::MEM_RETRIEVE_RESP
            | ffa::MEM_RELINQUISH
            | ffa::MEM_RECLAIM
            | ffa::MEM_FRAG_RX
            | ffa::MEM_FRAG_TX
    )
}

/// Normal-world-only ABIs the SPMD refuses from the secure world.
fn is_normal_world_only(fid: u32) -> bool {
    matches!(
        fid,
        ffa::RX_RELEASE
            | ffa::RXTX_MAP_32
            | ffa::RXTX_MAP_64
            | ffa::RXTX_UNMAP
            | ffa::PARTITION_INFO_GET
            | ffa::NOTIFICATION_BITMAP_CREATE
            ..=ffa::NOTIFICATION_INFO_GET_32
                | ffa::NOTIFICATION_INFO_GET_64
                | ffa::MSG_SEND2
                | ffa::RX_ACQUIRE
                | ffa::RUN
    )
}

fn from_secure_world(core: &mut Core, id: usize, fid: u32, a: &[u64; 18]) -> *mut GpRegs {
    let s = World::Secure;
    // Services of the SPMD itself, whatever the secure world is running for.
    match fid {
        ffa::ID_GET => return reply(core, s, ffa::success(u64::from(attrs().spmc_id))),
        ffa::SPM_ID_GET => return reply(core, s, ffa::success(u64::from(ffa::SPMD_ID))),
        ffa::VERSION => {
            let v = if a[1] as u32 & ffa::VERSION_MBZ_BIT != 0 {
                ffa::NOT_SUPPORTED as u32
            } else {
                ffa::SPMD_VERSION
            };
            return reply(core, s, [u64::from(v), 0, 0, 0, 0, 0, 0, 0]);
        }
        // TF-A: every FF-A function is "supported" towards the SPMC (a no-op query).
        ffa::FEATURES => return reply(core, s, ffa::success(0)),
        ffa::SECONDARY_EP_REGISTER_64 => {
            let r = match boot::register_secondary_ep(a[1]) {
                Ok(()) => [u64::from(ffa::SUCCESS_64), 0, 0, 0, 0, 0, 0, 0],
                // TF-A answers this one with the SMC64 form of FFA_ERROR.
                Err(code) => {
                    let mut e = ffa::error(code);
                    e[0] = u64::from(ffa::ERROR_64);
                    e
                }
            };
            return reply(core, s, r);
        }
        ffa::NORMAL_WORLD_RESUME | ffa::NORMAL_WORLD_RESUME_64 => {
            // Only valid after a secure interrupt delivered by EL3; this monitor routes none.
            return reply(core, s, ffa::error(ffa::DENIED));
        }
        ffa::DIRECT_REQ_32 | ffa::DIRECT_REQ_64 if is_spmc_to_spmd(a[1]) => {
            return reply(core, s, ffa::error(ffa::DENIED));
        }
        f if is_normal_world_only(f) => return reply(core, s, ffa::error(ffa::NOT_SUPPORTED)),
        f if !ffa::is_ffa(f) => return secure_non_ffa(core, id, f, a),
        _ => {}
    }
    match core.secure_run {
        SecureRun::Init => init_result(core, id, fid, a),
        SecureRun::NsCall if is_result_for_normal_world(fid) => {
            core.secure_run = SecureRun::Idle;
            core.ctx(World::NonSecure).gp.set_args(a);
            core.switch_to(World::NonSecure)
        }
        SecureRun::FwkVersion => version_response(core, fid, a),
        SecureRun::FwkCpuOff => cpu_off_response(core, id, fid, a),
        SecureRun::NsCall | SecureRun::Idle => reply(core, s, ffa::error(ffa::NOT_SUPPORTED)),
    }
}

/// Non-FF-A SMCs of the secure world: PSCI discovery, and SYSTEM_OFF/SYSTEM_RESET so that an
/// SPMC that panics can end the run at once (TF-A also serves PSCI to the secure world).
fn secure_non_ffa(core: &mut Core, id: usize, fid: u32, a: &[u64; 18]) -> *mut GpRegs {
    let s = World::Secure;
    match fid {
        smccc::VERSION => reply1(core, s, smccc::VERSION_1_2),
        psci::VERSION => reply1(core, s, psci::VERSION_1_1),
        psci::FEATURES => reply1(core, s, psci_status(power::features(a[1] as u32))),
        psci::SYSTEM_OFF | psci::SYSTEM_RESET => fatal(
            exit_status::SECURE_SHUTDOWN,
            format_args!(
                "PSCI {fid:#x} from the secure world on core {id} (x1 {:#x})",
                a[1]
            ),
        ),
        _ => reply1(core, s, SMCCC_NOT_SUPPORTED),
    }
}

/// The end of the SPMC's boot on this core (reference/ffa-facts.md section 2.4).
fn init_result(core: &mut Core, id: usize, fid: u32, a: &[u64; 18]) -> *mut GpRegs {
    match fid {
        ffa::MSG_WAIT | ffa::MSG_WAIT_64 => {
            log!("SPMC init done on core {id}");
            power::mark_on(id);
            core.secure_run = SecureRun::Idle;
            boot::enter_normal_world(core, id)
        }
        ffa::ERROR | ffa::ERROR_64 => fatal(
            exit_status::SPMC_INIT_FAILED,
            format_args!("SPMC init failed on core {id}: FFA_ERROR {}", a[2] as i32),
        ),
        _ => {
            log!("SPMC sent {fid:#x} during init on core {id}: DENIED");
            reply(core, World::Secure, ffa::error(ffa::DENIED))
        }
    }
}

/// Whether the SPMC answered a framework message with the expected response type.
fn is_framework_response(fid: u32, a: &[u64; 18], kind: u64) -> bool {
    fid == ffa::DIRECT_RESP_32
        && is_spmc_to_spmd(a[1])
        && a[2] as u32 as u64 == (ffa::FWK_MSG_BIT | kind)
}

fn version_response(core: &mut Core, fid: u32, a: &[u64; 18]) -> *mut GpRegs {
    let version = if is_framework_response(fid, a, ffa::FWK_VERSION_RESP) {
        a[3] as u32
    } else {
        log!("SPMC answered the FFA_VERSION request with {fid:#x}: NOT_SUPPORTED to the caller");
        ffa::NOT_SUPPORTED as u32
    };
    core.secure_run = SecureRun::Idle;
    reply(
        core,
        World::NonSecure,
        [u64::from(version), 0, 0, 0, 0, 0, 0, 0],
    )
}

fn cpu_off_response(core: &mut Core, id: usize, fid: u32, a: &[u64; 18]) -> *mut GpRegs {
    if is_framework_response(fid, a, ffa::FWK_PM_RESP) {
        if a[3] as u32 != 0 {
            // TF-A panics on a refused CPU_OFF.
            fatal(
                exit_status::SPMC_PROTOCOL,
                format_args!("SPMC refused CPU_OFF on core {id}: status {}", a[3] as i32),
            );
        }
    } else if fid == ffa::ERROR || fid == ffa::ERROR_64 {
        // TF-A logs and carries on (e.g. OP-TEE does not implement the message).
        log!(
            "SPMC answered CPU_OFF on core {id} with FFA_ERROR {}; continuing",
            a[2] as i32
        );
    } else {
        fatal(
            exit_status::SPMC_PROTOCOL,
            format_args!(
                "SPMC answered CPU_OFF on core {id} with {fid:#x} w2 {:#x}",
                a[2]
            ),
        );
    }
    core.secure_run = SecureRun::Idle;
    power::mark_off(id);
    log!("core {id} off");
    boot::secondary_boot(core, id)
}
