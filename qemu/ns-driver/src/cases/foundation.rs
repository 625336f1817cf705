//! Foundation cases: FF-A discovery through the SPMD and SPMC (DEN0077 v1.2 section 13.2-13.9),
//! the SPMD's source-ID check, PSCI CPU_ON/CPU_OFF through the SPMC, and the isolation of secure
//! memory from the normal world.
#![forbid(unsafe_code)]

use core::sync::atomic::Ordering;

use ffa_abi::{EndpointId, ErrorCode, FuncId};

use crate::arch::{self, probe_read};
use crate::ffa::{self, call, call_raw, expect_error, expect_success};
use crate::harness::{check, check_eq, fail, Case, Outcome};
use crate::nsirq;
use crate::psci;
use crate::secondary::{self, CMD_CPU_OFF, CMD_SUSPEND, MAILBOXES};
use crate::stress::{run_job, JOB_REQ64};
use test_protocol::{cmd, id, status};

/// The SPMC's endpoint ID from the platform's SPMC manifest (qemu/spmc-sbsa/spmc_manifest.dts).
const SPMC_ID: u32 = 0x8000;
/// The FF-A version the SPMC implements (the same manifest's maj_ver/min_ver).
const SPMC_VERSION: u32 = 0x1_0002;
/// FFA_VERSION's NOT_SUPPORTED return, in w0 itself.
const VERSION_NOT_SUPPORTED: u32 = ErrorCode::NotSupported.to_u32();

pub const CASES: &[Case] = &[
    // Version cases come first: DEN0077 allows renegotiation only before any other FF-A call.
    Case::any_set("ffa_version_bit31_rejected", version_bit31),
    Case::any_set("ffa_version_incompatible_major", version_incompatible_major),
    Case::any_set("ffa_version_1_1_gets_spmc_version", version_1_1),
    Case::any_set("ffa_version_1_2", version_1_2),
    Case::any_set("ffa_id_get_ns_is_0", id_get),
    Case::any_set("ffa_spm_id_get_is_spmc", spm_id_get),
    Case::any_set("ffa_features_supported", features_supported),
    Case::any_set("ffa_features_unsupported", features_unsupported),
    Case::any_set("ffa_unknown_function_id", unknown_function),
    Case::any_set("ffa_secure_only_abis_refused", secure_only_refused),
    Case::any_set("direct_req_forged_secure_source", forged_secure_source),
    Case::any_set("smccc_and_psci_discovery", smccc_psci_discovery),
    Case::any_set("cpu_on_all_secondaries", cpu_on_all),
    Case::any_set("cpu_off_then_on_again", cpu_off_on).after(&["cpu_on_all_secondaries"]),
    Case::default_set("cpu_suspend_standby_and_power_down", cpu_suspend)
        .after(&["cpu_on_all_secondaries"]),
    Case::any_set("secure_memory_unreadable", secure_memory_unreadable),
    Case::any_set("ns_el1_state_survives_spmc_runs", el1_state_preserved),
    Case::any_set("psci_argument_checks", psci_argument_checks),
    Case::any_set("counters_run_in_normal_world", counters_run),
    Case::default_set("machine_reset_cold_boots_the_spmc", machine_reset_cold_boot).on_request(),
];

fn version_bit31() -> Outcome {
    // Bit 31 of the version word must be zero (DEN0077 section 13.2.1); the SPMD refuses it.
    check_eq!(
        ffa::version(0x8001_0002),
        VERSION_NOT_SUPPORTED,
        "FFA_VERSION(0x80010002)"
    );
    Ok(())
}

fn version_incompatible_major() -> Outcome {
    // A caller of another major version is not compatible: NOT_SUPPORTED (Hafnium does the
    // same; DEN0077 section 13.2.2).
    check_eq!(
        ffa::version(0x2_0000),
        VERSION_NOT_SUPPORTED,
        "FFA_VERSION(2.0)"
    );
    Ok(())
}

fn version_1_1() -> Outcome {
    // Same major: the callee answers with its own version; the caller decides.
    check_eq!(ffa::version(0x1_0001), SPMC_VERSION, "FFA_VERSION(1.1)");
    Ok(())
}

fn version_1_2() -> Outcome {
    check_eq!(ffa::version(0x1_0002), SPMC_VERSION, "FFA_VERSION(1.2)");
    Ok(())
}

fn id_get() -> Outcome {
    let r = call(FuncId::IdGet, &[]);
    check_eq!(expect_success(&r, "FFA_ID_GET")?, 0, "FFA_ID_GET w2");
    Ok(())
}

fn spm_id_get() -> Outcome {
    let r = call(FuncId::SpmIdGet, &[]);
    check_eq!(
        expect_success(&r, "FFA_SPM_ID_GET")?,
        SPMC_ID,
        "FFA_SPM_ID_GET w2"
    );
    Ok(())
}

fn features_supported() -> Outcome {
    for f in [FuncId::Version, FuncId::IdGet, FuncId::Features] {
        let r = call(FuncId::Features, &[u64::from(f.raw())]);
        expect_success(&r, f.name())?;
    }
    Ok(())
}

fn features_unsupported() -> Outcome {
    // FFA_MSG_POLL exists only in v1.0 hypervisor builds; an SPMC does not implement it.
    let r = call(FuncId::Features, &[u64::from(FuncId::MsgPoll.raw())]);
    expect_error(&r, ErrorCode::NotSupported, "FFA_FEATURES(FFA_MSG_POLL)")
}

fn unknown_function() -> Outcome {
    // An unassigned ID inside current TF-A's FF-A range (include/services/ffa_svc.h
    // is_ffa_fid: 0x60..=0x97; 0x91-0x93 are unassigned, 0x94-0x97 are v1.3's
    // NOTIFICATION_*2) gets NOT_SUPPORTED: TF-A's SPMD answers it (spmd_main.c `default:`),
    // qemu/monitor forwards it and the SPMC refuses it. Above that range TF-A itself answers
    // SMC_UNK (smccc_and_psci_discovery); so does v2.15.0 for these, its range ending at 0x90.
    for fid in [0x8400_0093_u32, 0xC400_0093] {
        let r = call_raw(fid, &[]);
        expect_error(&r, ErrorCode::NotSupported, "unknown FF-A function")?;
    }
    Ok(())
}

fn secure_only_refused() -> Outcome {
    // Only the secure world may wait for messages or register a warm-boot entry; the SPMD
    // refuses these from the normal world, and the console ABI is not forwarded either.
    for f in [
        FuncId::MsgWait32,
        FuncId::SecondaryEpRegister64,
        FuncId::ConsoleLog32,
    ] {
        let r = call(f, &[0x100_0010_0000]);
        expect_error(&r, ErrorCode::NotSupported, f.name())?;
    }
    // Resuming the normal world is the SPMC's answer to a secure interrupt, never a call.
    let r = call(FuncId::NormalWorldResume, &[]);
    expect_error(&r, ErrorCode::Denied, "FFA_NORMAL_WORLD_RESUME")?;
    Ok(())
}

fn forged_secure_source() -> Outcome {
    // Source 0x8001 (bit 15: a secure endpoint) claimed by the normal world, to the SPMC.
    for f in [FuncId::MsgSendDirectReq32, FuncId::MsgSendDirectReq64] {
        let r = call(f, &[(0x8001 << 16) | u64::from(SPMC_ID), 0, 1, 2, 3, 4, 5]);
        expect_error(&r, ErrorCode::InvalidParameters, f.name())?;
    }
    // SPMD logical partition IDs (TF-A 0xFFC0..0xFFFE) take no direct requests.
    let r = call(FuncId::MsgSendDirectReq32, &[0xFFC0]);
    expect_error(&r, ErrorCode::InvalidParameters, "DIRECT_REQ to 0xFFC0")?;
    Ok(())
}

fn smccc_psci_discovery() -> Outcome {
    // TF-A reports SMCCC v1.5 (include/lib/smccc.h).
    check_eq!(
        psci::call(psci::SMCCC_VERSION, 0, 0, 0),
        0x1_0005,
        "SMCCC_VERSION"
    );
    check_eq!(
        psci::call(0x8000_0001, u64::from(psci::SMCCC_VERSION), 0, 0),
        psci::SUCCESS,
        "SMCCC_ARCH_FEATURES(SMCCC_VERSION)"
    );
    check_eq!(
        psci::call(psci::PSCI_VERSION, 0, 0, 0),
        0x1_0001,
        "PSCI_VERSION"
    );
    let on = psci::call(psci::PSCI_FEATURES, u64::from(psci::CPU_ON_64), 0, 0);
    check_eq!(on, psci::SUCCESS, "PSCI_FEATURES(CPU_ON_64)");
    // TF-A master's qemu_sbsa implements CPU_SUSPEND (sbsa_pm.c); 0 = original power_state
    // format, no OS-initiated mode (psci_main.c `psci_features`).
    let suspend = psci::call(psci::PSCI_FEATURES, u64::from(psci::CPU_SUSPEND_64), 0, 0);
    check_eq!(suspend, psci::SUCCESS, "PSCI_FEATURES(CPU_SUSPEND_64)");
    // A SiP-range call nobody implements: SMCCC's unknown-function value -1.
    check_eq!(psci::call(0xC200_0000, 0, 0, 0), -1, "unknown SMC");
    // Standard-service IDs just above TF-A's FF-A range (is_ffa_fid: 0x60..=0x97) are not
    // FF-A calls: SMC_UNK from TF-A's std_svc_smc_handler, not FFA_ERROR.
    check_eq!(psci::call(0x8400_0098, 0, 0, 0), -1, "SMC 0x8400_0098");
    check_eq!(psci::call(0xC400_00FF, 0, 0, 0), -1, "SMC 0xC400_00FF");
    Ok(())
}

/// Returns the indices of the secondaries QEMU has: one GICv3 redistributor each (GICR_TYPER
/// at 0x4008_0000 + 128 KiB per core, Last ends the list). PSCI cannot tell: TF-A's qemu_sbsa
/// accepts every core position Aff1 < 64, Aff0 < 8, present or not.
fn secondaries() -> impl Iterator<Item = usize> {
    const GICR_TYPER: u64 = 0x4008_0000 + 0x8;
    let mut cores = 1;
    for frame in 0..secondary::MAX_CORES as u64 {
        match arch::probe_read(GICR_TYPER + frame * 0x2_0000) {
            Ok(typer) => {
                cores = frame as usize + 1;
                if typer & (1 << 4) != 0 {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    1..cores
}

/// Powers core `i` on and checks it reported FF-A results from its own core.
pub(crate) fn boot_and_check(i: usize) -> Outcome {
    let m = &MAILBOXES[i];
    let before = m.reports.load(Ordering::Acquire);
    let s = psci::cpu_on(i as u64, secondary::entry_point(), i as u64);
    check_eq!(s, psci::SUCCESS, "CPU_ON status");
    if !arch::wait_until(5000, || m.reports.load(Ordering::Acquire) != before) {
        fail!(
            "core {i} did not report within 5 s (AFFINITY_INFO {})",
            psci::affinity_info(i as u64)
        );
    }
    check_eq!(
        m.core_seen.load(Ordering::Relaxed),
        i as u32,
        "core that ran the entry"
    );
    check_eq!(
        m.version.load(Ordering::Relaxed),
        SPMC_VERSION,
        "FFA_VERSION on the secondary"
    );
    let id = m.id_get.load(Ordering::Relaxed);
    check_eq!(
        id >> 32,
        u64::from(FuncId::Success32.raw()),
        "FFA_ID_GET w0 on the secondary"
    );
    check_eq!(id & 0xFFFF_FFFF, 0, "FFA_ID_GET w2 on the secondary");
    check!(
        arch::wait_until(1000, || psci::affinity_info(i as u64) == psci::AFF_ON),
        "AFFINITY_INFO of core {i} is {} after it ran, want ON",
        psci::affinity_info(i as u64)
    );
    Ok(())
}

fn cpu_on_all() -> Outcome {
    let mut count = 0;
    for i in secondaries() {
        boot_and_check(i)?;
        check_eq!(
            psci::cpu_on(i as u64, secondary::entry_point(), i as u64),
            psci::ALREADY_ON,
            "second CPU_ON"
        );
        count += 1;
    }
    check!(
        count > 0,
        "no secondary core found (run QEMU with -smp 2 or more)"
    );
    // TF-A qemu_sbsa (sbsa_topology.c plat_core_pos_by_mpidr): Aff0 must be below 8...
    check_eq!(
        psci::cpu_on(8, secondary::entry_point(), 8),
        psci::INVALID_PARAMETERS,
        "CPU_ON(8)"
    );
    // ...but a core of cluster 1, which QEMU does not have here, is accepted and stays
    // ON_PENDING for ever (TF-A writes its hold slot; nobody reads it).
    let absent = 0x100;
    check_eq!(
        psci::affinity_info(absent),
        psci::AFF_OFF,
        "AFFINITY_INFO of an absent core"
    );
    check_eq!(
        psci::cpu_on(absent, secondary::entry_point(), 0),
        psci::SUCCESS,
        "CPU_ON of an absent core"
    );
    check_eq!(
        psci::cpu_on(absent, secondary::entry_point(), 0),
        psci::ON_PENDING,
        "second CPU_ON of an absent core"
    );
    check_eq!(
        psci::affinity_info(absent),
        psci::AFF_ON_PENDING,
        "AFFINITY_INFO of an absent core after CPU_ON"
    );
    Ok(())
}

fn cpu_off_on() -> Outcome {
    let Some(i) = secondaries().next() else {
        fail!("no secondary core");
    };
    power_cycle(i)
}

/// Turns secondary core `i` (on, in the driver) off with CPU_OFF and on again with CPU_ON,
/// checking both.
pub fn power_cycle(i: usize) -> Outcome {
    check_eq!(
        psci::affinity_info(i as u64),
        psci::AFF_ON,
        "AFFINITY_INFO before CPU_OFF"
    );
    MAILBOXES[i].command.store(CMD_CPU_OFF, Ordering::Release);
    arch::sev();
    if !arch::wait_until(5000, || psci::affinity_info(i as u64) == psci::AFF_OFF) {
        fail!(
            "core {i} not OFF after CPU_OFF (AFFINITY_INFO {}, CPU_OFF returned {:#x})",
            psci::affinity_info(i as u64),
            MAILBOXES[i].cpu_off_status.load(Ordering::Acquire)
        );
    }
    boot_and_check(i)
}

/// CPU_SUSPEND as TF-A master's qemu_sbsa does it: the standby state on this core returns once
/// an interrupt (the NS timer, 1 ms) is pending; the power-down state on a secondary resumes it
/// at its entry point once its timer fires, as after CPU_ON (it reports again), and the core
/// still reaches the SPMC (a direct request from it).
fn cpu_suspend() -> Outcome {
    nsirq::enable();
    nsirq::timer_start(62_500);
    let s = psci::call(psci::CPU_SUSPEND_64, 0x1, 0, 0);
    let fired = nsirq::timer_fired();
    let taken = nsirq::acknowledge();
    nsirq::disable();
    check_eq!(s, psci::SUCCESS, "CPU_SUSPEND(standby)");
    check!(
        fired,
        "CPU_SUSPEND(standby) returned before the timer fired"
    );
    check_eq!(
        taken,
        nsirq::TIMER_INTID,
        "the interrupt that woke the core"
    );

    let Some(i) = secondaries().find(|&i| psci::affinity_info(i as u64) == psci::AFF_ON) else {
        fail!("no secondary core is on");
    };
    power_down_suspend(i)?;
    check_eq!(
        psci::affinity_info(i as u64),
        psci::AFF_ON,
        "AFFINITY_INFO of the resumed core"
    );
    let id_req = u64::from(id::ECHO) | u64::from(cmd::ID) << 32;
    let Some(w) = run_job(i, JOB_REQ64, id_req, 5000) else {
        fail!("core {i}: no answer to a direct request after the resume");
    };
    check_eq!(
        [w[0], w[1], w[3], w[4]],
        [
            FuncId::MsgSendDirectResp64.raw().into(),
            u64::from(id::ECHO) << 16,
            u64::from(status::OK),
            u64::from(id::ECHO)
        ],
        "echo's answer to ID from the resumed core"
    );
    Ok(())
}

/// Puts secondary core `i` into PSCI CPU_SUSPEND power-down (its own normal-world timer wakes
/// it, secondary.rs `CMD_SUSPEND`) and waits until it has resumed at its entry point and
/// reported again. An interrupt pending before the core reaches WFI abandons the suspend
/// (CPU_SUSPEND returns SUCCESS): tried up to three times.
pub fn power_down_suspend(i: usize) -> Outcome {
    let m = &MAILBOXES[i];
    let mut resumed = false;
    for _ in 0..3 {
        let (reports, returns) = (
            m.reports.load(Ordering::Acquire),
            m.suspend_returns.load(Ordering::Acquire),
        );
        m.command.store(CMD_SUSPEND, Ordering::Release);
        arch::sev();
        if !arch::wait_until(5000, || {
            m.reports.load(Ordering::Acquire) != reports
                || m.suspend_returns.load(Ordering::Acquire) != returns
        }) {
            fail!("core {i} neither resumed nor returned from CPU_SUSPEND within 5 s");
        }
        if m.reports.load(Ordering::Acquire) != reports {
            resumed = true;
            break;
        }
        check_eq!(
            m.suspend_status.load(Ordering::Acquire) as i32,
            psci::SUCCESS,
            "CPU_SUSPEND(power-down) that returned"
        );
    }
    check!(
        resumed,
        "core {i}: every CPU_SUSPEND(power-down) was abandoned"
    );
    Ok(())
}

fn secure_memory_unreadable() -> Outcome {
    // Control: the probe reads ordinary normal-world memory without a fault.
    let own = secondary::entry_point();
    if let Err(esr) = probe_read(own) {
        fail!("probe of own memory {own:#x} faulted (ESR {esr:#x})");
    }
    for (what, pa) in [
        ("SPMC image", 0x2020_0000_u64),
        ("monitor RAM", 0x2000_0000),
        ("SPMC manifest", 0x2010_0000),
        ("SP pool", 0x2400_0000),
        ("secure flash", 0x0),
    ] {
        match probe_read(pa) {
            Ok(v) => {
                fail!("read of the {what} at {pa:#x} succeeded from the normal world ({v:#x})")
            }
            // Data abort, DFSC 0x10: synchronous external abort (DEN0024 D17.2.40).
            Err(esr) if esr >> 63 == 0 => {
                check_eq!(esr & 0x3F, 0x10, "DFSC of the abort")
            }
            Err(_) => {} // reported as SError: also an external abort
        }
    }
    Ok(())
}

fn el1_state_preserved() -> Outcome {
    // Distinctive values in the EL1 registers both worlds share; the SPMC runs at S-EL1 with
    // its own MMU, vectors and thread pointers, so only the monitor's world switch keeps these.
    let mine = arch::El1State {
        sctlr_el1: 0x30D0_0800 | (1 << 26), // RES1 bits + UCI
        cpacr_el1: 3 << 20,
        ttbr0_el1: 0x0000_1234_5678_9000,
        ttbr1_el1: 0x0001_0000_4321_0000,
        tcr_el1: 0x0000_0001_B519_3519,
        mair_el1: 0x0000_0000_0044_FF04,
        amair_el1: 0,
        vbar_el1: 0x100_0020_0800,
        contextidr_el1: 0x5A5A,
        tpidr_el1: 0x1111_2222_3333_4444,
        tpidr_el0: 0x5555_6666_7777_8888,
        tpidrro_el0: 0x9999_AAAA_BBBB_CCCC,
        elr_el1: 0x100_0030_1234,
        spsr_el1: 0x3C5,
        sp_el1: 0x100_0040_0000,
        esr_el1: 0x9600_0045,
        far_el1: 0xDEAD_BEEF_F00D,
        cntkctl_el1: 0x3,
    };
    mine.write();
    // What the CPU kept of them (it may clear bits it does not implement).
    let before = arch::El1State::read();
    check!(
        before.tpidr_el1 == mine.tpidr_el1,
        "TPIDR_EL1 did not take the test value"
    );
    // Calls that run the SPMC: forwarded to it, or framework messages.
    let r = call(FuncId::Features, &[u64::from(FuncId::Version.raw())]);
    expect_success(&r, "FFA_FEATURES")?;
    check_eq!(ffa::version(0x1_0002), SPMC_VERSION, "FFA_VERSION");
    let r = call(FuncId::MsgSendDirectReq32, &[(0x8001 << 16) | 0x8001]);
    check!(
        r.as_error().is_some(),
        "forged DIRECT_REQ was not refused: {}",
        ffa::Shown(&r)
    );
    let after = arch::El1State::read();
    if let Some((reg, was, now)) = before.first_difference(&after) {
        fail!("{reg} changed across SPMC runs: {was:#x} -> {now:#x}");
    }
    Ok(())
}

fn psci_argument_checks() -> Outcome {
    // Core 0 (this one) is always present. TF-A's qemu_sbsa port checks no entry point
    // (plat/qemu/common/qemu_pm.c has no validate_ns_entrypoint), so CPU_ON of this core is
    // ALREADY_ON whatever the entry.
    const SELF: u64 = 0;
    check_eq!(
        psci::cpu_on(SELF, 0x1000, 0),
        psci::ALREADY_ON,
        "CPU_ON of the calling core"
    );
    // Aff2 set: not a qemu_sbsa core position (INVALID_PARAMETERS).
    check_eq!(
        psci::cpu_on(0x1_0000, secondary::entry_point(), 0),
        psci::INVALID_PARAMETERS,
        "CPU_ON(Aff2 = 1)"
    );
    check_eq!(
        psci::affinity_info(0x40),
        psci::INVALID_PARAMETERS,
        "AFFINITY_INFO(Aff0 = 64)"
    );
    check_eq!(
        psci::call(psci::AFFINITY_INFO_64, SELF, 1, 0),
        psci::INVALID_PARAMETERS,
        "AFFINITY_INFO level 1"
    );
    check_eq!(
        psci::affinity_info(0),
        psci::AFF_ON,
        "AFFINITY_INFO of the calling core"
    );
    check_eq!(
        psci::call(psci::PSCI_FEATURES, u64::from(psci::SYSTEM_OFF), 0, 0),
        psci::SUCCESS,
        "PSCI_FEATURES(SYSTEM_OFF)"
    );
    check_eq!(
        psci::call(psci::MIGRATE_INFO_TYPE, 0, 0, 0),
        psci::NOT_SUPPORTED,
        "MIGRATE_INFO_TYPE"
    );
    // SMCCC_ARCH_FEATURES of the CPU workarounds, as a default TF-A build answers on this CPU
    // (arm_arch_svc_setup.c; Cortex-A57 and A72 list CVE-2017-5715 and ARCH_WORKAROUND_3, the
    // CVE-2018-3639 workaround is static, CVE-2024-7881 does not apply to them).
    let a57_or_a72 = matches!(arch::midr() & 0xFF00_FFF0, 0x4100_D070 | 0x4100_D080);
    let wa_1_3 = if a57_or_a72 { 0 } else { psci::NOT_SUPPORTED };
    for (f, want, what) in [
        (0x8000_8000_u64, wa_1_3, "WORKAROUND_1"),
        (0x8000_7FFF, psci::NOT_REQUIRED, "WORKAROUND_2"),
        (0x8000_3FFF, wa_1_3, "WORKAROUND_3"),
        (0x8000_0004, psci::NOT_SUPPORTED, "WORKAROUND_4"),
    ] {
        let got = psci::call(0x8000_0001, f, 0, 0);
        if got != want {
            fail!(
                "SMCCC_ARCH_FEATURES({what}) on MIDR {:#x}: got {got}, want {want}",
                arch::midr()
            );
        }
    }
    // The workaround call itself returns with x0 as it was (TF-A's SMC_RET0).
    check_eq!(
        psci::call(0x8000_8000, 0, 0, 0),
        0x8000_8000_u32 as i32,
        "SMCCC_ARCH_WORKAROUND_1"
    );
    // CPU_SUSPEND of a power state qemu_sbsa does not list (sbsa_pm.c qemu_pm_idle_states).
    check_eq!(
        psci::call(psci::CPU_SUSPEND_64, 0x2_0002, secondary::entry_point(), 0),
        psci::INVALID_PARAMETERS,
        "CPU_SUSPEND(power_state 0x20002)"
    );
    Ok(())
}

fn counters_run() -> Outcome {
    // Benchmarks read CNTVCT and PMCCNTR; EL3 must neither trap them nor leave them stopped.
    let (v0, c0) = arch::read_counters();
    let _ = call(FuncId::IdGet, &[]);
    let (v1, c1) = arch::read_counters();
    check!(v1 > v0, "CNTVCT_EL0 did not advance ({v0:#x} -> {v1:#x})");
    check!(c1 > c0, "PMCCNTR_EL0 did not advance ({c0:#x} -> {c1:#x})");
    Ok(())
}

/// Where [`machine_reset_cold_boot`] leaves its mark across the machine reset: the last page of
/// the share pool, normal-world RAM that no image load writes and no other case of that run
/// uses (the case runs on request only).
const RESET_MARK: u64 = crate::dram::SHARE_POOL_END - 0x1000;
const RESET_MAGIC: u32 = 0x5E5E_7001;
/// x1 of SYSTEM_RESET asking qemu/monitor for a real machine reset ("REBOOT";
/// qemu/monitor/src/spmd.rs `REBOOT_MAGIC`).
const REBOOT_MAGIC: u64 = 0x5245_424F_4F54;

/// A machine reset must cold-boot the SPMC: every SP loaded and initialised again from its
/// image. First boot: echo handles two requests, the mark goes into RAM and the monitor resets
/// sbsa-ref for real (QEMU keeps RAM, so the SPMC's memory still holds the previous boot).
/// Second boot, where this case runs again: echo is a fresh instance (its bss request count
/// is 1) and the other SPs answer. The SPMC used to keep its cold-boot flag in .bss, find it set
/// after the reset and take the warm path. xtask's `machine_reset` lane runs it.
fn machine_reset_cold_boot() -> Outcome {
    use crate::dram;
    use test_protocol::{cmd, id};
    let ask =
        |sp: EndpointId, word: u32| call(FuncId::MsgSendDirectReq64, &[sp.into(), 0, word.into()]);
    let served = || -> Result<u64, crate::harness::Failure> {
        let r = ask(id::ECHO, cmd::SERVED);
        check_eq!(
            [r.w(0), r.w(3)],
            [FuncId::MsgSendDirectResp64.raw(), 0],
            "echo's SERVED answer"
        );
        Ok(r.x(4))
    };
    if dram::read_u32(RESET_MARK) != Some(RESET_MAGIC) {
        served()?;
        let n = served()?;
        check!(n >= 2, "echo counted {n} requests before the reset");
        dram::write_u32(RESET_MARK, RESET_MAGIC);
        crate::console::log!("resetting the machine (echo has served {n} requests)");
        let s = psci::call(psci::SYSTEM_RESET, REBOOT_MAGIC, 0, 0);
        dram::write_u32(RESET_MARK, 0);
        fail!("SYSTEM_RESET (reboot) returned {s:#x}");
    }
    dram::write_u32(RESET_MARK, 0);
    crate::console::log!("second boot after the machine reset");
    check_eq!(
        served()?,
        1,
        "echo's request count after the reset (a fresh instance)"
    );
    for sp in [id::FAULT, id::PKG_SP] {
        let r = ask(sp, cmd::ID);
        check_eq!(
            [r.w(0), r.w(3), r.w(4)],
            [FuncId::MsgSendDirectResp64.raw(), 0, u32::from(sp)],
            "{sp:#06x}'s ID answer after the reset"
        );
    }
    Ok(())
}
