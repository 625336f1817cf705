//! Carries out the SPMD/PSCI decisions of `qemu_monitor::spmd` for each SMC that traps to EL3:
//! register updates, world switches, power state changes and the end of the run.

use qemu_monitor::ids::{ffa, psci, smccc};
use qemu_monitor::spmd::{self, psci_status, Action, FfaVersions, FiqAction, PendingType, World};
use spin::Mutex;

use crate::arch::{read_sysreg, write_sysreg};
use crate::boot::{self, attrs, fatal};
use crate::console::log;
use crate::context::GpRegs;
use crate::percpu::Core;
use crate::{arch, exit_status, power};

/// ESR_ELx.EC of an SMC from AArch64.
const EC_SMC64: u64 = 0x17;

/// TF-A's FF-A version globals, shared by all cores (spmd_main.c keeps them under a lock).
static VERSIONS: Mutex<FfaVersions> = Mutex::new(FfaVersions {
    ns: 0,
    ns_negotiated: false,
    spmc: 0,
});

/// Handles a synchronous exception from S-EL1 or NS-EL2/EL1 and returns the context to resume.
pub fn lower_sync(core: &mut Core) -> *mut GpRegs {
    let esr = read_sysreg!(esr_el3);
    let id = arch::core_index();
    let from = core.current();
    if esr >> 26 != EC_SMC64 {
        let elr = core.ctx(from).gp.elr_el3;
        let note = qemu_monitor::el3::unhandled_trap_note(esr >> 26).unwrap_or("");
        fatal(
            exit_status::EL3_FAULT,
            format_args!(
                "unexpected trap from {from:?} on core {id}: ESR_EL3 {esr:#x}, ELR {elr:#x} {note}"
            ),
        );
    }
    // Borrowed from the caller's saved context, not copied (TF-A reads the `handle`).
    let args = core.args(from);
    // The function ID without the SVE hint, as TF-A dispatches on (common/runtime_svc.c).
    let fid = smccc::function_id(args[0]);
    let d = spmd::decide(from, core.secure_run, args, attrs());
    // What the rare paths below log of the call.
    let head = [args[0], args[1], args[2], args[3]];
    if let Some(v) = d.spmc_version {
        VERSIONS.lock().spmc = v;
    }
    // Every FF-A call of the normal world is recorded in the version globals; a forwarded one
    // in the same critical section that reads the versions it is switched with
    // ([`forward_versions`]), the others here.
    if from == World::NonSecure && ffa::is_ffa(fid) && !matches!(d.action, Action::Forward(_)) {
        VERSIONS.lock().on_ns_call(fid, head[1]);
    }
    if let Some(note) = d.note {
        log!("core {id}: SMC {:#x} from {from:?}: {note}", head[0]);
    }
    core.secure_run = d.run;
    apply(core, id, from, d.action, &head)
}

/// Handles an FIQ taken to EL3 (only possible while the normal world runs) and returns the
/// context to resume: the SPMC entered with FFA_INTERRUPT for a secure interrupt, or the
/// interrupted world.
pub fn lower_fiq(core: &mut Core) -> *mut GpRegs {
    let id = arch::core_index();
    let from = core.current();
    let pending = PendingType::from_hppir0(crate::gic::highest_pending_group0());
    match spmd::fiq(pending) {
        FiqAction::EnterSpmc(values) if from == World::NonSecure => {
            // spmd_secure_interrupt_handler: the normal world's EL1 state is saved by the
            // switch; x8..x17 of the SPMC keep their values (it writes x0..x7 only).
            core.secure_run = spmd::SecureRun::SecureInterrupt;
            core.ctx(World::Secure).gp.ret8(values);
            core.switch_to(World::Secure)
        }
        FiqAction::Group0(intid) => {
            // spmd_group0_interrupt_handler_nwd: handled, then the normal world resumes.
            group0(intid, id, from);
            core.switch_to(from)
        }
        _ => core.switch_to(from),
    }
}

/// A Group 0 interrupt taken for `world`: acknowledged, given to the platform handler, ended
/// (TF-A `spmd_group0_interrupt_handler_nwd` and `spmd_handle_group0_intr_swd`). TF-A's qemu
/// platforms have no handler (plat/qemu/common/qemu_common.c `plat_spmd_handle_group0_interrupt`
/// returns -1: "there are no sources of Group0 secure interrupt enabled for QEMU"), and the
/// SPMD then panics ("Group0 interrupt %u not handled"). This monitor has one source for tests
/// (gic.rs [`crate::gic::GROUP0_TEST_PPI`], the EL1 physical timer): its handler masks the
/// timer, leaving CNTP_CTL_EL0 = IMASK when the SPMC handed it over and 0 (disabled) when it
/// came while the normal world ran, so the driver can tell which path ran. Any other Group 0
/// interrupt panics, as under TF-A.
fn group0(pending: u32, id: usize, world: World) {
    let intid = crate::gic::acknowledge_group0();
    if intid != crate::gic::GROUP0_TEST_PPI {
        fatal(
            exit_status::EL3_FAULT,
            format_args!(
                "Group0 interrupt {intid} (pending {pending}) not handled on core {id}: qemu_sbsa has no Group 0 source but the test timer"
            ),
        )
    }
    let ctl = if world == World::Secure { 0b10 } else { 0 };
    // CNTP_CTL_EL0: the EL1 physical timer, which EL3 reaches with the same register; IMASK
    // or disabled, so that its level output drops.
    write_sysreg!(cntp_ctl_el0, ctl);
    crate::gic::end_group0(intid);
    log!("core {id}: Group 0 interrupt {intid} (test timer) handled for the {world:?} world");
}

/// The FF-A versions a call forwarded from `from` (x0..x3 `a`) is switched with, read under
/// the lock once; a normal-world call (only FF-A calls are forwarded) is recorded first in the
/// same critical section, so that the monitor takes the lock once per forwarded call. TF-A
/// (services/std_svc/spmd/spmd_main.c) takes spmd_version_lock three times for a forwarded
/// normal-world call: spmd_ffa_smc_handler reads spmc_nwd_ffa_version at entry and hands it
/// down to the switch, spmd_smc_handler ends the negotiation (spmd_set_version_negotiated),
/// spmd_smc_switch_state reads nonsecure_ffa_version; and twice for one from the SPMC. The
/// values are the same: the normal world's version is fixed once a call other than
/// FFA_VERSION was made (this one), and the SPMC's changes only when FFA_VERSION is answered,
/// which is never forwarded.
fn forward_versions(from: World, a: &[u64; 4]) -> FfaVersions {
    let mut v = VERSIONS.lock();
    match from {
        World::NonSecure => v.on_ns_call(smccc::function_id(a[0]), a[1]),
        World::Secure => *v,
    }
}

fn reply(core: &mut Core, world: World, values: [u64; 8]) -> *mut GpRegs {
    core.ctx(world).gp.ret8(values);
    core.switch_to(world)
}

fn reply1(core: &mut Core, world: World, x0: u64) -> *mut GpRegs {
    core.ctx(world).gp.x[0] = x0;
    core.switch_to(world)
}

/// Carries out `action` for the SMC whose x0..x3 are `a`.
fn apply(core: &mut Core, id: usize, from: World, action: Action, a: &[u64; 4]) -> *mut GpRegs {
    match action {
        Action::Reply(world, values) => reply(core, world, values),
        Action::Reply1(world, x0) => reply1(core, world, x0),
        Action::Deliver(to, values) => {
            core.ctx(to).gp.set_args(&values);
            core.switch_to(to)
        }
        Action::Forward(to) => {
            let versions = forward_versions(from, a);
            // spmd_smc_switch_state: from the caller's saved registers into the destination's.
            let (src, dst) = core.forward_regs(from);
            spmd::switch_regs_into(from, src, dst, &versions);
            core.switch_to(to)
        }
        Action::RegisterSecondaryEp(pa) => {
            let r = match boot::register_secondary_ep(pa) {
                Ok(()) => [u64::from(ffa::SUCCESS_64), 0, 0, 0, 0, 0, 0, 0],
                // TF-A answers this one with the SMC64 form of FFA_ERROR.
                Err(code) => {
                    let mut e = ffa::error(code);
                    e[0] = u64::from(ffa::ERROR_64);
                    e
                }
            };
            reply(core, from, r)
        }
        Action::CpuOn {
            target,
            entry,
            context_id,
        } => {
            let status = power::cpu_on(target, entry, context_id);
            reply1(core, from, psci_status(status))
        }
        Action::ArchFeatures(f) => {
            let status = spmd::smccc_arch_features(f, arch::midr());
            reply1(core, from, psci_status(status))
        }
        // TF-A qemu_sbsa `qemu_cpu_standby`: DSB, WFI, then SUCCESS.
        Action::Standby => {
            arch::wfi();
            reply1(core, from, psci_status(psci::SUCCESS))
        }
        Action::SuspendPowerDown { entry, context_id } => {
            // psci_cpu_suspend_start: an interrupt already pending abandons the suspend, which
            // returns SUCCESS to the caller.
            if arch::interrupt_pending() {
                return reply1(core, from, psci_status(psci::SUCCESS));
            }
            // plat_secondary_cold_boot_setup with the suspend magic: WFI, then the warm boot
            // path, which enters the normal world at the caller's entry point as after CPU_ON
            // (psci_cpu_suspend_to_powerdown_finish; no SPD hook: the SPMC is not entered).
            arch::wfi();
            // A power-down loses the core's timer state, which QEMU's WFI keeps.
            arch::lose_secure_timer();
            log!("core {id} resumes from CPU_SUSPEND at {entry:#x}");
            core.ns_entry = entry;
            core.ns_arg = context_id;
            boot::enter_normal_world(core, id)
        }
        Action::AffinityInfo {
            target,
            lowest_level,
        } => {
            let status = power::affinity_info(target, lowest_level);
            reply1(core, from, psci_status(status))
        }
        Action::InitDone => {
            log!("SPMC init done on core {id}");
            power::mark_on(id);
            boot::enter_normal_world(core, id)
        }
        Action::InitFailed(code) => fatal(
            exit_status::SPMC_INIT_FAILED,
            format_args!("SPMC init failed on core {id}: FFA_ERROR {code}"),
        ),
        Action::PowerDown { refused_with } => {
            if let Some(code) = refused_with {
                log!("SPMC answered CPU_OFF on core {id} with FFA_ERROR {code}; continuing");
            }
            // TF-A: the SPMD's svc_off first, then the platform's pwr_domain_off
            // (sbsa_pm.c `qemu_pwr_domain_off` -> `qemu_pwr_gic_off`).
            crate::gic::power_off(id);
            power::mark_off(id);
            log!("core {id} off");
            boot::secondary_boot(core, id)
        }
        Action::Shutdown {
            from: World::NonSecure,
            status,
        } => {
            let what = if smccc::function_id(a[0]) == psci::SYSTEM_OFF {
                "SYSTEM_OFF"
            } else {
                "SYSTEM_RESET"
            };
            log!("{what} from core {id}, exit status {status}");
            arch::semihosting_exit(status)
        }
        Action::Shutdown {
            from: World::Secure,
            status,
        } => fatal(
            exit_status::SECURE_SHUTDOWN,
            format_args!(
                "PSCI {:#x} from the secure world on core {id} (x1 {status:#x})",
                a[0]
            ),
        ),
        Action::Group0TestSource(on) => {
            crate::gic::set_group0_test_source(id, on);
            reply1(core, from, 0)
        }
        Action::Reboot => {
            log!("SYSTEM_RESET (reboot) from core {id}: resetting the machine");
            boot::forget_boot_ready();
            crate::power::machine_reset()
        }
        Action::ResumeNormalWorld => core.switch_to(World::NonSecure),
        Action::HandleGroup0 => {
            // spmd_handle_group0_intr_swd: acknowledge; nothing pending ("INTR_ID_UNAVAILABLE")
            // returns to the SPMC with its registers as they were.
            match PendingType::from_hppir0(crate::gic::highest_pending_group0()) {
                PendingType::Group0(intid) => {
                    group0(intid, id, World::Secure);
                    // SMC_RET8(FFA_SUCCESS_SMC32, 0, ...).
                    reply(
                        core,
                        from,
                        [u64::from(ffa::SUCCESS_32), 0, 0, 0, 0, 0, 0, 0],
                    )
                }
                _ => core.switch_to(from),
            }
        }
        Action::ProtocolViolation(what) => fatal(
            exit_status::SPMC_PROTOCOL,
            format_args!(
                "{what} on core {id} (x0 {:#x} x1 {:#x} x2 {:#x} x3 {:#x})",
                a[0], a[1], a[2], a[3]
            ),
        ),
    }
}
