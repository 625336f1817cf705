//! What TF-A's SPMD (SPMD_SPM_AT_SEL2=0) and PSCI do with each SMC, as a pure decision: given
//! the calling world, why the secure world is running, the caller's x0..x17 and the SPMC
//! manifest, [`decide`] says what happens next. The firmware (`dispatch.rs`) carries the
//! decision out; keeping it here lets every rule of docs/boot.md be tested on the host.
//! Source: TF-A services/std_svc/spmd/spmd_main.c.
//!
//! The secure world only runs while the normal world waits in an SMC (or during SPMC boot), so
//! each core is a ping-pong: a normal-world FF-A call is delivered to the SPMC as the return
//! value of its last SMC, and the SPMC's next FF-A result SMC is the normal world's return
//! value. [`SecureRun`] says why the secure world is running and so where its result goes.

use crate::ids::{ffa, psci, smccc, SMCCC_NOT_SUPPORTED};
use crate::spmc_manifest::SpmcAttributes;

/// Which world a context belongs to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum World {
    Secure = 0,
    NonSecure = 1,
}

/// Why the secure world is running on a core (or `Idle` if the normal world is).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SecureRun {
    /// The normal world runs; the SPMC waits in its last SMC.
    Idle,
    /// SPMC boot on this core; ends with FFA_MSG_WAIT (or FFA_ERROR).
    Init,
    /// A normal-world FF-A call was delivered; the next FF-A result goes back to it.
    NsCall,
    /// The FFA_VERSION framework request is outstanding.
    FwkVersion,
    /// The PSCI CPU_OFF framework request is outstanding.
    FwkCpuOff,
    /// A secure interrupt preempted the normal world and the SPMC was entered with
    /// FFA_INTERRUPT; it ends with FFA_NORMAL_WORLD_RESUME (TF-A's per-core
    /// `secure_interrupt_ongoing`, services/std_svc/spmd/spmd_main.c).
    SecureInterrupt,
}

/// What the monitor does with one SMC.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Action {
    /// Set x0..x7 of the world and resume it (x8..x17 keep their values).
    Reply(World, [u64; 8]),
    /// Set x0 of the world and resume it (an SMCCC/PSCI single result).
    Reply1(World, u64),
    /// Copy x0..x17 into the other world and resume it (an SPMD framework message).
    Deliver(World, [u64; 18]),
    /// Forward the caller's FF-A call or result (its saved x0..x17) to the other world as
    /// TF-A's `spmd_smc_switch_state` does, straight from the caller's context into the
    /// destination's ([`switch_regs_into`]: x0..x7, plus x8..x17 when the versions allow).
    Forward(World),
    /// FFA_SECONDARY_EP_REGISTER_64 inside the SPMC region: register it once (else
    /// FFA_ERROR_64 INVALID_PARAMETERS, as TF-A), then reply to the SPMC.
    RegisterSecondaryEp(u64),
    /// PSCI CPU_ON from the normal world (x1..x3 already narrowed for the SMC32 form).
    CpuOn {
        target: u64,
        entry: u64,
        context_id: u64,
    },
    /// PSCI AFFINITY_INFO from the normal world.
    AffinityInfo { target: u64, lowest_level: u64 },
    /// SMCCC_ARCH_FEATURES of this function ID: the answer depends on the CPU
    /// ([`smccc_arch_features`] with its MIDR_EL1).
    ArchFeatures(u32),
    /// PSCI CPU_SUSPEND of a standby state: wait for an interrupt, then return SUCCESS.
    Standby,
    /// PSCI CPU_SUSPEND of a power-down state: wait for an interrupt (unless one is pending
    /// already: return SUCCESS at once), then enter the normal world at `entry` with x0 =
    /// `context_id`, as after CPU_ON; the SPMC is not told (the SPMD has no suspend hooks).
    SuspendPowerDown { entry: u64, context_id: u64 },
    /// The SPMC finished its init on this core: enter the normal world.
    InitDone,
    /// The SPMC failed its init (FFA_ERROR with this code).
    InitFailed(i32),
    /// The SPMC acknowledged CPU_OFF (or refused with FFA_ERROR, which TF-A ignores): power
    /// the core down until the next CPU_ON.
    PowerDown { refused_with: Option<i32> },
    /// SYSTEM_OFF or SYSTEM_RESET: end the run with this status.
    Shutdown { from: World, status: u64 },
    /// SYSTEM_RESET from the normal world with x1 = [`REBOOT_MAGIC`]: reset the machine for
    /// real (sbsa-ref's secure embedded controller), so that everything boots again from the
    /// flash with RAM left as it was.
    Reboot,
    /// [`FIXTURE_GROUP0_SOURCE`]: the test Group 0 source on (true) or off for the calling core.
    Group0TestSource(bool),
    /// The SPMC broke the SPMD protocol; TF-A panics.
    ProtocolViolation(&'static str),
    /// FFA_NORMAL_WORLD_RESUME after a secure interrupt: resume the normal world where the
    /// interrupt took it, its registers untouched (TF-A `spmd_spm_core_sync_exit` then
    /// `SMC_RET0` of the normal-world context).
    ResumeNormalWorld,
    /// FFA_EL3_INTR_HANDLE from the SPMC: acknowledge the pending Group 0 interrupt and hand it
    /// to the platform (TF-A `spmd_handle_group0_intr_swd`).
    HandleGroup0,
}

/// An [`Action`], the secure-run state afterwards, and an optional note for the boot log.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Decision {
    pub action: Action,
    pub run: SecureRun,
    pub note: Option<&'static str>,
    /// The SPMC's FF-A version as the normal world now sees it (TF-A's
    /// `spmc_nwd_ffa_version`), when this SMC settled it.
    pub spmc_version: Option<u32>,
}

impl Decision {
    fn new(action: Action, run: SecureRun) -> Self {
        Self {
            action,
            run,
            note: None,
            spmc_version: None,
        }
    }

    fn with_spmc_version(mut self, v: u32) -> Self {
        self.spmc_version = Some(v);
        self
    }

    fn noted(mut self, note: &'static str) -> Self {
        self.note = Some(note);
        self
    }
}

/// Sign-extends a PSCI status into x0.
pub fn psci_status(status: i32) -> u64 {
    i64::from(status) as u64
}

/// PSCI_FEATURES (DEN0022 section 5.15): 0 for the implemented functions. For CPU_SUSPEND
/// that 0 is TF-A's feature flags with the original power_state format and no OS-initiated
/// mode (lib/psci/psci_main.c `psci_features`; PSCI_EXTENDED_STATE_ID = PSCI_OS_INIT_MODE =
/// 0 in make_helpers/defaults.mk).
pub fn psci_features(fid: u32) -> i32 {
    match fid {
        psci::VERSION
        | psci::CPU_SUSPEND_32
        | psci::CPU_SUSPEND_64
        | psci::CPU_OFF
        | psci::CPU_ON_32
        | psci::CPU_ON_64
        | psci::AFFINITY_INFO_32
        | psci::AFFINITY_INFO_64
        | psci::MIGRATE_INFO_TYPE
        | psci::SYSTEM_OFF
        | psci::SYSTEM_RESET
        | psci::FEATURES
        | smccc::VERSION => psci::SUCCESS,
        _ => psci::NOT_SUPPORTED,
    }
}

/// SMCCC_ARCH_FEATURES as a default TF-A build answers it on a CPU with this MIDR_EL1
/// (services/arm_arch_svc/arm_arch_svc_setup.c `smccc_arch_features`): SMC_ARCH_CALL_SUCCESS
/// for SMCCC_VERSION and SMCCC_ARCH_FEATURES; SOC_ID is not offered on qemu_sbsa
/// (plat/qemu/qemu_sbsa/sbsa_sip_svc.c). The CPU workarounds follow lib/cpus/cpu-ops.mk's
/// defaults (WORKAROUND_CVE_2017_5715, _2018_3639, _2022_23960 and _2024_7881 on,
/// DYNAMIC_WORKAROUND_CVE_2018_3639 off) and the errata tables of the two CPUs the QEMU runs
/// use: Cortex-A57 and Cortex-A72 (lib/cpus/aarch64/cortex_a57.S, cortex_a72.S, both in
/// qemu_sbsa's QEMU_CPU_LIBS) list CVE-2017-5715 and ARCH_WORKAROUND_3 for every revision
/// QEMU models, so WORKAROUND_1 and _3 are SMC_WA_DO (0); WORKAROUND_2 is
/// SMC_ARCH_CALL_NOT_REQUIRED (-2) on every CPU in a build without the dynamic workaround;
/// WORKAROUND_4 (CVE-2024-7881) is NOT_SUPPORTED on both. For other CPUs the monitor does not
/// carry TF-A's errata tables and answers NOT_SUPPORTED for WORKAROUND_1 and _3 (what TF-A
/// answers for a CPU without an entry, ERRATA_MISSING). On QEMU the workarounds themselves
/// have nothing to do (no speculation to mitigate): the calls just return ([`ns_other`]).
pub fn smccc_arch_features(fid: u32, midr: u64) -> i32 {
    /// MIDR_EL1 implementer Arm (0x41) and part number, bits 31:24 and 15:4.
    const PART_MASK: u64 = 0xFF00_FFF0;
    const CORTEX_A57: u64 = 0x4100_D070;
    const CORTEX_A72: u64 = 0x4100_D080;
    let listed = matches!(midr & PART_MASK, CORTEX_A57 | CORTEX_A72);
    match fid {
        smccc::VERSION | smccc::ARCH_FEATURES => psci::SUCCESS,
        smccc::ARCH_WORKAROUND_1 | smccc::ARCH_WORKAROUND_3 if listed => smccc::WA_DO,
        smccc::ARCH_WORKAROUND_2 => smccc::NOT_REQUIRED,
        _ => psci::NOT_SUPPORTED,
    }
}

/// CPU_SUSPEND's power_state values qemu_sbsa accepts (plat/qemu/qemu_sbsa/sbsa_pm.c
/// `qemu_pm_idle_states`, original format): core standby (retention), core power-down, and
/// core + cluster power-down. Anything else is INVALID_PARAMETERS (`qemu_validate_power_state`).
pub const SUSPEND_STANDBY: u32 = 0x0000_0001;
pub const SUSPEND_CORE_DOWN: u32 = 0x0001_0002;
pub const SUSPEND_CLUSTER_DOWN: u32 = 0x0101_0022;

/// PSCI CPU_SUSPEND as TF-A master's qemu_sbsa does it (lib/psci/psci_main.c
/// `psci_cpu_suspend`, psci_suspend.c; sbsa_pm.c since 70147347e "add PSCI suspend support
/// using hold pen mailbox": the core waits in WFI and, woken, resumes through the warm boot
/// path at the caller's entry point). The entry point is not checked (no
/// `validate_ns_entrypoint` on qemu).
fn cpu_suspend(power_state: u32, entry: u64, context_id: u64) -> Action {
    match power_state {
        SUSPEND_STANDBY => Action::Standby,
        SUSPEND_CORE_DOWN | SUSPEND_CLUSTER_DOWN => Action::SuspendPowerDown { entry, context_id },
        _ => Action::Reply1(World::NonSecure, psci_status(psci::INVALID_PARAMETERS)),
    }
}

/// TF-A's FF-A version globals (services/std_svc/spmd/spmd_main.c): the version the normal
/// world asked for in FFA_VERSION until its first other FF-A call (`nonsecure_ffa_version`,
/// `nonsecure_version_negotiated`), and the SPMC's version as the normal world sees it
/// (`spmc_nwd_ffa_version`). Both start at 0 (below v1.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FfaVersions {
    pub ns: u32,
    pub ns_negotiated: bool,
    pub spmc: u32,
}

impl FfaVersions {
    /// Records an FF-A call of the normal world (before it is decided): FFA_VERSION updates
    /// the requested version until negotiation ends, any other FF-A call ends it
    /// (`spmd_try_set_nonsecure_ffa_version`, `spmd_set_version_negotiated`). Returns the
    /// globals as they are then: the versions the call is forwarded with, so that the
    /// monitor takes its lock once per normal-world FF-A call (dispatch.rs).
    pub fn on_ns_call(&mut self, fid: u32, x1: u64) -> Self {
        if fid == ffa::VERSION {
            let v = x1 as u32;
            if v & ffa::VERSION_MBZ_BIT == 0 && !self.ns_negotiated {
                self.ns = v;
            }
        } else {
            self.ns_negotiated = true;
        }
        *self
    }
}

/// The registers the destination world gets for a forwarded FF-A call or result, and whether
/// x8..x17 are among them: TF-A's std_svc_smc_handler clears the top halves of x1..x4 of an
/// SMC32 call; spmd_smc_switch_state passes x0..x17 of an SMC64 call when the destination's
/// version is v1.2 or later (x8..x17 zero when the source's is below v1.2), and x0..x7 only
/// otherwise (SMC_RET8: the destination keeps its own x8..x17).
pub fn switch_regs(from: World, a: &[u64; 18], v: &FfaVersions) -> ([u64; 18], bool) {
    let mut r = *a;
    let upper = switch_regs_into(from, a, &mut r, v);
    (r, upper)
}

/// [`switch_regs`] written straight into the destination's saved registers `out`, as TF-A's
/// SMC_RET8/SMC_RET18 write `ctx_out` from the caller's context: x0..x7 always, x8..x17 only
/// when the answer is true (otherwise `out[8..]` keeps the destination's own values).
///
/// x0 is the 32-bit function ID without the SVE hint, never the caller's raw x0: TF-A's
/// spmd_smc_switch_state (services/std_svc/spmd/spmd_main.c) writes x0 from its `uint32_t
/// smc_fid` argument, which common/runtime_svc.c read as 32 bits and stripped of the hint. The
/// hint would only matter for what EL3 saves of the caller's SIMD state (`simd_ctx_save`, not
/// modelled here) and is passed on only to an SPMC at S-EL2 (SPMD_SPM_AT_SEL2), not to this
/// S-EL1 one.
#[inline(always)]
pub fn switch_regs_into(from: World, a: &[u64; 18], out: &mut [u64; 18], v: &FfaVersions) -> bool {
    let fid = smccc::function_id(a[0]);
    let smc64 = fid & 0x4000_0000 != 0;
    let high = if smc64 { u64::MAX } else { 0xFFFF_FFFF };
    out[0] = u64::from(fid);
    out[1] = a[1] & high;
    out[2] = a[2] & high;
    out[3] = a[3] & high;
    out[4] = a[4] & high;
    out[5] = a[5];
    out[6] = a[6];
    out[7] = a[7];
    let (v_in, v_out) = match from {
        World::Secure => (v.spmc, v.ns),
        World::NonSecure => (v.ns, v.spmc),
    };
    if smc64 && v_out >= ffa::VERSION_1_2 {
        let keep = if v_in < ffa::VERSION_1_2 { 0 } else { u64::MAX };
        for i in 8..18 {
            out[i] = a[i] & keep;
        }
        true
    } else {
        false
    }
}

/// An SPMD-to-SPMC framework message (FFA_MSG_SEND_DIRECT_REQ_32, SPMD -> SPMC), x4..x17 zero.
pub fn framework_message(attrs: &SpmcAttributes, kind: u64, payload: u64) -> [u64; 18] {
    let mut m = [0; 18];
    m[0] = u64::from(ffa::DIRECT_REQ_32);
    m[1] = (u64::from(ffa::SPMD_ID) << 16) | u64::from(attrs.spmc_id);
    m[2] = ffa::FWK_MSG_BIT | kind;
    m[3] = payload;
    m
}

/// Whether w1 names the SPMC as source and the SPMD as destination (TF-A spmd_is_spmc_message).
fn is_spmc_to_spmd(attrs: &SpmcAttributes, x1: u64) -> bool {
    x1 as u32 == (u32::from(attrs.spmc_id) << 16) | u32::from(ffa::SPMD_ID)
}

/// TF-A's SPMD logical partition ID range (`SPMD_LP_ID_START..=SPMD_LP_ID_END`).
fn is_spmd_logical_partition(id: u16) -> bool {
    (0xFFC0..=0xFFFE).contains(&id)
}

/// Returns what the monitor does with the SMC `a` (x0..x17) made by `from` while the secure
/// world's run on this core is `run`. The call is classified by its function ID with the SVE
/// hint cleared ([`smccc::function_id`]), as TF-A's common/runtime_svc.c does before it looks
/// up the service: an FF-A or PSCI call with the hint set is that call.
pub fn decide(from: World, run: SecureRun, a: &[u64; 18], attrs: &SpmcAttributes) -> Decision {
    let fid = smccc::function_id(a[0]);
    match from {
        World::NonSecure if ffa::is_ffa(fid) => ns_ffa(run, fid, a, attrs),
        World::NonSecure => ns_other(run, fid, a, attrs),
        World::Secure => secure(run, fid, a, attrs),
    }
}

/// What ICC_HPPIR0_EL1 read at EL3 says is pending (GICv3 architecture spec, section 4.1.1
/// "special INTIDs"; TF-A `gicv3_get_pending_interrupt_type`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PendingType {
    /// 1020: a Secure Group 1 interrupt (TF-A INTR_TYPE_S_EL1).
    SecureEl1,
    /// 1021: a Non-secure Group 1 interrupt (INTR_TYPE_NS).
    NonSecure,
    /// 1022/1023: nothing pending (INTR_TYPE_INVAL).
    None,
    /// Any other ID: a Group 0 interrupt (INTR_TYPE_EL3).
    Group0(u32),
}

impl PendingType {
    /// Classifies an ICC_HPPIR0_EL1 value read at EL3.
    pub fn from_hppir0(hppir0: u64) -> Self {
        match (hppir0 & 0xFF_FFFF) as u32 {
            1020 => Self::SecureEl1,
            1021 => Self::NonSecure,
            1022 | 1023 => Self::None,
            id => Self::Group0(id),
        }
    }
}

/// What the monitor does with an FIQ taken to EL3. SCR_EL3.FIQ is set only while the normal
/// world runs (`percpu.rs`), as TF-A's SPMD registers its S-EL1 and Group 0 handlers with the
/// routing model "from the non-secure state only" (spmd_main.c `spmd_spmc_init`:
/// `set_interrupt_rm_flag(flags, NON_SECURE)`): in the secure state both kinds are taken by
/// the SPMC at S-EL1.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FiqAction {
    /// Secure Group 1 interrupt while the normal world runs: save its context and enter the
    /// SPMC with FFA_INTERRUPT, x1..x7 zero (`spmd_secure_interrupt_handler`).
    EnterSpmc([u64; 8]),
    /// Group 0 interrupt while the normal world runs: acknowledge it and give it to the
    /// platform (`spmd_group0_interrupt_handler_nwd`).
    Group0(u32),
    /// Nothing to do (the interrupt went away, or it is not routed here): resume the world.
    Resume,
}

/// Decides what an FIQ at EL3 does, given what the GIC reports pending.
pub fn fiq(pending: PendingType) -> FiqAction {
    match pending {
        PendingType::SecureEl1 => {
            FiqAction::EnterSpmc([u64::from(ffa::INTERRUPT), 0, 0, 0, 0, 0, 0, 0])
        }
        PendingType::Group0(id) => FiqAction::Group0(id),
        PendingType::NonSecure | PendingType::None => FiqAction::Resume,
    }
}

/// A fixture SMC of the test driver (SMCCC SiP range, fast, 32-bit; TF-A has no such call): x1
/// = 1 makes the monitor's Group 0 test source (the EL1 physical timer's PPI 30) Group 0 on the
/// calling core, x1 = 0 gives it back to the normal world. Answers 0.
pub const FIXTURE_GROUP0_SOURCE: u32 = 0x8200_FF30;

/// x1 of a normal-world PSCI SYSTEM_RESET that asks for a real machine reset ("REBOOT").
pub const REBOOT_MAGIC: u64 = 0x5245_424F_4F54;

fn ns_other(run: SecureRun, fid: u32, a: &[u64; 18], attrs: &SpmcAttributes) -> Decision {
    let ns = World::NonSecure;
    let reply1 = |x0| Decision::new(Action::Reply1(ns, x0), run);
    let low = |x: u64| x & 0xFFFF_FFFF;
    match fid {
        smccc::VERSION => reply1(smccc::VERSION_1_5),
        smccc::ARCH_FEATURES => Decision::new(Action::ArchFeatures(a[1] as u32), run),
        // TF-A arm_arch_svc_smc_handler: SMC_RET0, every register as the caller left it (the
        // workaround itself, where a CPU needs one, runs on entry to EL3).
        smccc::ARCH_WORKAROUND_1
        | smccc::ARCH_WORKAROUND_2
        | smccc::ARCH_WORKAROUND_3
        | smccc::ARCH_WORKAROUND_4 => reply1(a[0]),
        psci::VERSION => reply1(psci::VERSION_1_1),
        psci::FEATURES => reply1(psci_status(psci_features(a[1] as u32))),
        psci::CPU_SUSPEND_32 => Decision::new(cpu_suspend(a[1] as u32, low(a[2]), low(a[3])), run),
        psci::CPU_SUSPEND_64 => Decision::new(cpu_suspend(a[1] as u32, a[2], a[3]), run),
        psci::CPU_ON_32 => Decision::new(
            Action::CpuOn {
                target: low(a[1]),
                entry: low(a[2]),
                context_id: low(a[3]),
            },
            run,
        ),
        psci::CPU_ON_64 => Decision::new(
            Action::CpuOn {
                target: a[1],
                entry: a[2],
                context_id: a[3],
            },
            run,
        ),
        psci::AFFINITY_INFO_32 => Decision::new(
            Action::AffinityInfo {
                target: low(a[1]),
                lowest_level: low(a[2]),
            },
            run,
        ),
        psci::AFFINITY_INFO_64 => Decision::new(
            Action::AffinityInfo {
                target: a[1],
                lowest_level: a[2],
            },
            run,
        ),
        // TF-A lib/psci/psci_main.c psci_migrate_info_type: NOT_SUPPORTED when the SPD has no
        // svc_migrate_info hook, which the SPMD's PM hooks lack (seen under TF-A too).
        psci::MIGRATE_INFO_TYPE => reply1(psci_status(psci::NOT_SUPPORTED)),
        // TF-A's spmd_cpu_off_handler: tell the SPMC on this core before powering down.
        psci::CPU_OFF => Decision::new(
            Action::Deliver(
                World::Secure,
                framework_message(attrs, ffa::FWK_PSCI, u64::from(psci::CPU_OFF)),
            ),
            SecureRun::FwkCpuOff,
        ),
        // Fixture convention: SYSTEM_OFF's x1 is the exit status of the QEMU run.
        psci::SYSTEM_OFF => Decision::new(
            Action::Shutdown {
                from: ns,
                status: a[1],
            },
            run,
        ),
        // Fixture convention: x1 (which PSCI leaves unused) = REBOOT_MAGIC asks for a real
        // machine reset instead of the end of the run.
        psci::SYSTEM_RESET if a[1] == REBOOT_MAGIC => Decision::new(Action::Reboot, run),
        FIXTURE_GROUP0_SOURCE => Decision::new(Action::Group0TestSource(a[1] == 1), run),
        psci::SYSTEM_RESET => Decision::new(
            Action::Shutdown {
                from: ns,
                status: 0,
            },
            run,
        ),
        _ => reply1(SMCCC_NOT_SUPPORTED),
    }
}

fn ns_ffa(run: SecureRun, fid: u32, a: &[u64; 18], attrs: &SpmcAttributes) -> Decision {
    let ns = World::NonSecure;
    let reply = |regs| Decision::new(Action::Reply(ns, regs), run);
    match fid {
        // The SPMD answers these for the normal world itself.
        ffa::ID_GET => reply(ffa::success(0)),
        ffa::SPM_ID_GET => reply(ffa::success(u64::from(attrs.spmc_id))),
        ffa::VERSION => ns_version(run, a[1] as u32, attrs),
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
        | ffa::EL3_INTR_HANDLE => reply(ffa::error(ffa::NOT_SUPPORTED)),
        // TF-A: only valid from the SPMC after a secure interrupt.
        ffa::NORMAL_WORLD_RESUME | ffa::NORMAL_WORLD_RESUME_64 => reply(ffa::error(ffa::DENIED)),
        // TF-A: "Validate source endpoint is non-secure for non-secure caller", and SPMD
        // logical partitions (0xFFC0..=0xFFFE) take no direct requests.
        ffa::DIRECT_REQ_32 | ffa::DIRECT_REQ_64 | ffa::DIRECT_REQ2
            if a[1] & (1 << 31) != 0 || is_spmd_logical_partition(a[1] as u16) =>
        {
            reply(ffa::error(ffa::INVALID_PARAMETERS))
        }
        _ if run != SecureRun::Idle => reply(ffa::error(ffa::NOT_SUPPORTED))
            .noted("normal-world FF-A call while the secure world is busy"),
        _ => Decision::new(Action::Forward(World::Secure), SecureRun::NsCall),
    }
}

/// FFA_VERSION from the normal world: answered by the SPMC through the framework message,
/// except for invalid versions and a v1.0 SPMC (DEN0077 section 13.2; TF-A spmd_smc_handler).
fn ns_version(run: SecureRun, requested: u32, attrs: &SpmcAttributes) -> Decision {
    let version_reply = |w0: u32| {
        Decision::new(
            Action::Reply(World::NonSecure, [u64::from(w0), 0, 0, 0, 0, 0, 0, 0]),
            run,
        )
    };
    if requested & ffa::VERSION_MBZ_BIT != 0 {
        return version_reply(ffa::NOT_SUPPORTED as u32);
    }
    if attrs.minor_version == 0 {
        return version_reply(ffa::VERSION_1_0).with_spmc_version(ffa::VERSION_1_0);
    }
    if run != SecureRun::Idle {
        return version_reply(ffa::NOT_SUPPORTED as u32);
    }
    let msg = framework_message(attrs, ffa::FWK_VERSION_REQ, u64::from(requested));
    Decision::new(Action::Deliver(World::Secure, msg), SecureRun::FwkVersion)
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

fn secure(run: SecureRun, fid: u32, a: &[u64; 18], attrs: &SpmcAttributes) -> Decision {
    let s = World::Secure;
    let reply = |regs| Decision::new(Action::Reply(s, regs), run);
    // Services of the SPMD itself, whatever the secure world is running for.
    match fid {
        ffa::ID_GET => return reply(ffa::success(u64::from(attrs.spmc_id))),
        ffa::SPM_ID_GET => return reply(ffa::success(u64::from(ffa::SPMD_ID))),
        ffa::VERSION => {
            let v = if a[1] as u32 & ffa::VERSION_MBZ_BIT != 0 {
                ffa::NOT_SUPPORTED as u32
            } else {
                ffa::SPMD_VERSION
            };
            return reply([u64::from(v), 0, 0, 0, 0, 0, 0, 0]);
        }
        // TF-A: every FF-A function is "supported" towards the SPMC (a no-op query).
        ffa::FEATURES => return reply(ffa::success(0)),
        ffa::SECONDARY_EP_REGISTER_64 => {
            return Decision::new(Action::RegisterSecondaryEp(a[1]), run)
        }
        // TF-A: valid only while `secure_interrupt_ongoing` (the SPMC was entered with
        // FFA_INTERRUPT from the normal world); DENIED otherwise. TF-A's switch has the SMC32 ID
        // only; the SMC64 one is not an FF-A v1.2 ABI and is refused the same way.
        ffa::NORMAL_WORLD_RESUME if run == SecureRun::SecureInterrupt => {
            return Decision::new(Action::ResumeNormalWorld, SecureRun::Idle)
        }
        ffa::NORMAL_WORLD_RESUME | ffa::NORMAL_WORLD_RESUME_64 => {
            return reply(ffa::error(ffa::DENIED))
        }
        // TF-A: secure origin only (the normal world gets NOT_SUPPORTED in `ns_ffa`).
        ffa::EL3_INTR_HANDLE => return Decision::new(Action::HandleGroup0, run),
        ffa::DIRECT_REQ_32 | ffa::DIRECT_REQ_64 if is_spmc_to_spmd(attrs, a[1]) => {
            return reply(ffa::error(ffa::DENIED))
        }
        f if is_normal_world_only(f) => return reply(ffa::error(ffa::NOT_SUPPORTED)),
        f if !ffa::is_ffa(f) => return secure_other(run, f, a),
        _ => {}
    }
    match run {
        SecureRun::Init => match fid {
            ffa::MSG_WAIT | ffa::MSG_WAIT_64 => Decision::new(Action::InitDone, SecureRun::Idle),
            ffa::ERROR | ffa::ERROR_64 => Decision::new(Action::InitFailed(a[2] as i32), run),
            _ => reply(ffa::error(ffa::DENIED)).noted("SPMC sent an FF-A result during init"),
        },
        SecureRun::NsCall if is_result_for_normal_world(fid) => {
            Decision::new(Action::Forward(World::NonSecure), SecureRun::Idle)
        }
        SecureRun::FwkVersion => {
            let ok = is_framework_response(attrs, fid, a, ffa::FWK_VERSION_RESP);
            let version = if ok {
                a[3] as u32
            } else {
                ffa::NOT_SUPPORTED as u32
            };
            let d = Decision::new(
                Action::Reply(World::NonSecure, [u64::from(version), 0, 0, 0, 0, 0, 0, 0]),
                SecureRun::Idle,
            );
            if ok {
                d.with_spmc_version(version)
            } else {
                d.noted("bad answer to the FFA_VERSION framework message: NOT_SUPPORTED")
            }
        }
        SecureRun::FwkCpuOff => cpu_off_response(attrs, fid, a),
        // TF-A would forward such a result to the normal world, which is in the middle of
        // whatever the interrupt preempted and expects no FF-A answer: an SPMC bug either way.
        SecureRun::SecureInterrupt if is_result_for_normal_world(fid) => Decision::new(
            Action::ProtocolViolation(
                "FF-A result instead of FFA_NORMAL_WORLD_RESUME after a secure interrupt",
            ),
            run,
        ),
        SecureRun::NsCall | SecureRun::Idle | SecureRun::SecureInterrupt => {
            reply(ffa::error(ffa::NOT_SUPPORTED))
        }
    }
}

/// Non-FF-A SMCs of the secure world: PSCI discovery, and SYSTEM_OFF/SYSTEM_RESET so that an
/// SPMC that panics can end the run at once (TF-A also serves PSCI to the secure world).
fn secure_other(run: SecureRun, fid: u32, a: &[u64; 18]) -> Decision {
    let s = World::Secure;
    let reply1 = |x0| Decision::new(Action::Reply1(s, x0), run);
    match fid {
        smccc::VERSION => reply1(smccc::VERSION_1_5),
        psci::VERSION => reply1(psci::VERSION_1_1),
        psci::FEATURES => reply1(psci_status(psci_features(a[1] as u32))),
        psci::SYSTEM_OFF | psci::SYSTEM_RESET => Decision::new(
            Action::Shutdown {
                from: s,
                status: a[1],
            },
            run,
        ),
        _ => reply1(SMCCC_NOT_SUPPORTED),
    }
}

/// Whether the SPMC answered a framework message with the expected response type.
fn is_framework_response(attrs: &SpmcAttributes, fid: u32, a: &[u64; 18], kind: u64) -> bool {
    fid == ffa::DIRECT_RESP_32
        && is_spmc_to_spmd(attrs, a[1])
        && u64::from(a[2] as u32) == (ffa::FWK_MSG_BIT | kind)
}

fn cpu_off_response(attrs: &SpmcAttributes, fid: u32, a: &[u64; 18]) -> Decision {
    let idle = |action| Decision::new(action, SecureRun::Idle);
    if is_framework_response(attrs, fid, a, ffa::FWK_PM_RESP) {
        if a[3] as u32 == 0 {
            idle(Action::PowerDown { refused_with: None })
        } else {
            // TF-A panics on a refused CPU_OFF.
            idle(Action::ProtocolViolation(
                "SPMC returned a non-zero status for CPU_OFF",
            ))
        }
    } else if fid == ffa::ERROR || fid == ffa::ERROR_64 {
        // TF-A logs and carries on (e.g. OP-TEE does not implement the message).
        idle(Action::PowerDown {
            refused_with: Some(a[2] as i32),
        })
    } else {
        idle(Action::ProtocolViolation(
            "SPMC answered the CPU_OFF framework message with something else",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPMC: SpmcAttributes = SpmcAttributes {
        spmc_id: 0x8000,
        major_version: 1,
        minor_version: 2,
        exec_state: 0,
        load_address: 0x2020_0000,
        entrypoint: 0x2020_0000,
        binary_size: 0x03E0_0000,
    };
    const NS: World = World::NonSecure;
    const S: World = World::Secure;

    fn regs(values: &[u64]) -> [u64; 18] {
        let mut r = [0; 18];
        r[..values.len()].copy_from_slice(values);
        // Distinctive upper registers, to see what is copied.
        for (i, x) in r.iter_mut().enumerate().skip(values.len().max(8)) {
            *x = 0x1000 + i as u64;
        }
        r
    }

    fn decide_ns(run: SecureRun, values: &[u64]) -> Decision {
        decide(NS, run, &regs(values), &SPMC)
    }

    fn decide_s(run: SecureRun, values: &[u64]) -> Decision {
        decide(S, run, &regs(values), &SPMC)
    }

    fn error(code: i32) -> [u64; 8] {
        ffa::error(code)
    }

    fn fid(f: u32) -> u64 {
        u64::from(f)
    }

    #[test]
    fn normal_world_ids_are_answered_by_the_spmd() {
        let d = decide_ns(SecureRun::Idle, &[fid(ffa::ID_GET)]);
        assert_eq!(d.action, Action::Reply(NS, ffa::success(0)));
        let d = decide_ns(SecureRun::Idle, &[fid(ffa::SPM_ID_GET)]);
        assert_eq!(d.action, Action::Reply(NS, ffa::success(0x8000)));
        assert_eq!(d.run, SecureRun::Idle);
    }

    #[test]
    fn normal_world_version_goes_through_the_framework_message() {
        let d = decide_ns(SecureRun::Idle, &[fid(ffa::VERSION), 0x1_0001]);
        assert_eq!(d.run, SecureRun::FwkVersion);
        let Action::Deliver(S, m) = d.action else {
            panic!("{d:?}")
        };
        assert_eq!(
            &m[..4],
            &[fid(ffa::DIRECT_REQ_32), 0xFFFF_8000, 0x8000_0008, 0x1_0001]
        );
        assert!(m[4..].iter().all(|&x| x == 0));
        // The SPMC's answer becomes w0 of the normal world's call.
        let resp = [fid(ffa::DIRECT_RESP_32), 0x8000_FFFF, 0x8000_0009, 0x1_0002];
        let d = decide_s(SecureRun::FwkVersion, &resp);
        assert_eq!(d.action, Action::Reply(NS, [0x1_0002, 0, 0, 0, 0, 0, 0, 0]));
        assert_eq!((d.run, d.note), (SecureRun::Idle, None));
        assert_eq!(d.spmc_version, Some(0x1_0002), "what the SPMD records");
        // A wrong response type, wrong IDs or another ABI: NOT_SUPPORTED to the caller.
        for bad in [
            [fid(ffa::DIRECT_RESP_32), 0x8000_FFFF, 0x8000_0002, 0x1_0002],
            [fid(ffa::DIRECT_RESP_32), 0xFFFF_8000, 0x8000_0009, 0x1_0002],
            [fid(ffa::SUCCESS_32), 0x8000_FFFF, 0x8000_0009, 0x1_0002],
        ] {
            let d = decide_s(SecureRun::FwkVersion, &bad);
            assert_eq!(
                d.action,
                Action::Reply(NS, [0xFFFF_FFFF, 0, 0, 0, 0, 0, 0, 0])
            );
            assert_eq!(d.run, SecureRun::Idle);
            assert!(d.note.is_some());
            assert_eq!(d.spmc_version, None);
        }
    }

    #[test]
    fn normal_world_version_special_cases() {
        let d = decide_ns(SecureRun::Idle, &[fid(ffa::VERSION), 0x8001_0002]);
        assert_eq!(
            d.action,
            Action::Reply(NS, [0xFFFF_FFFF, 0, 0, 0, 0, 0, 0, 0])
        );
        let v1_0 = SpmcAttributes {
            minor_version: 0,
            ..SPMC
        };
        let d = decide(
            NS,
            SecureRun::Idle,
            &regs(&[fid(ffa::VERSION), 0x1_0002]),
            &v1_0,
        );
        assert_eq!(d.action, Action::Reply(NS, [0x1_0000, 0, 0, 0, 0, 0, 0, 0]));
        assert_eq!(d.run, SecureRun::Idle);
    }

    #[test]
    fn normal_world_calls_are_delivered_whole() {
        let call = regs(&[fid(ffa::DIRECT_REQ_64), 0x0000_8001, 0, 7, 8, 9, 10, 11]);
        let d = decide(NS, SecureRun::Idle, &call, &SPMC);
        assert_eq!(d.action, Action::Forward(S));
        assert_eq!(d.run, SecureRun::NsCall);
        // Unknown IDs in TF-A's FF-A range go to the SPMC too (it answers NOT_SUPPORTED)...
        let d = decide_ns(SecureRun::Idle, &[0x8400_0097]);
        assert!(matches!(d.action, Action::Forward(S)));
        // ...and above it TF-A's standard-service dispatcher answers SMC_UNK (-1) in x0.
        for f in [0x8400_0098, 0xC400_00FE, 0x8400_00FF] {
            let d = decide_ns(SecureRun::Idle, &[f]);
            assert_eq!(d.action, Action::Reply1(NS, u64::MAX), "{f:#x}");
            let d = decide_s(SecureRun::NsCall, &[f]);
            assert_eq!(d.action, Action::Reply1(S, u64::MAX), "{f:#x}");
        }
    }

    #[test]
    fn normal_world_cannot_forge_secure_sources_or_reach_spmd_partitions() {
        for f in [ffa::DIRECT_REQ_32, ffa::DIRECT_REQ_64, ffa::DIRECT_REQ2] {
            let d = decide_ns(SecureRun::Idle, &[fid(f), 0x8001_8000]);
            assert_eq!(d.action, Action::Reply(NS, error(ffa::INVALID_PARAMETERS)));
            let d = decide_ns(SecureRun::Idle, &[fid(f), 0x0000_FFC0]);
            assert_eq!(d.action, Action::Reply(NS, error(ffa::INVALID_PARAMETERS)));
            let d = decide_ns(SecureRun::Idle, &[fid(f), 0x0000_FFFE]);
            assert_eq!(d.action, Action::Reply(NS, error(ffa::INVALID_PARAMETERS)));
        }
        // A response is not checked this way (TF-A checks requests only).
        let d = decide_ns(SecureRun::Idle, &[fid(ffa::DIRECT_RESP_32), 0x0000_8001]);
        assert!(matches!(d.action, Action::Forward(S)));
    }

    #[test]
    fn normal_world_cannot_use_secure_only_abis() {
        for f in [
            ffa::MSG_WAIT,
            ffa::INTERRUPT,
            ffa::YIELD,
            ffa::SECONDARY_EP_REGISTER_64,
            ffa::CONSOLE_LOG_32,
            ffa::CONSOLE_LOG_64,
            ffa::EL3_INTR_HANDLE,
        ] {
            let d = decide_ns(SecureRun::Idle, &[fid(f)]);
            assert_eq!(
                d.action,
                Action::Reply(NS, error(ffa::NOT_SUPPORTED)),
                "{f:#x}"
            );
        }
        let d = decide_ns(SecureRun::Idle, &[fid(ffa::NORMAL_WORLD_RESUME)]);
        assert_eq!(d.action, Action::Reply(NS, error(ffa::DENIED)));
    }

    #[test]
    fn spmc_results_return_to_the_waiting_caller() {
        let res = regs(&[fid(ffa::DIRECT_RESP_32), 0x8001_0000, 0, 1, 2, 3, 4, 5, 6]);
        let d = decide(S, SecureRun::NsCall, &res, &SPMC);
        assert_eq!(d.action, Action::Forward(NS));
        assert_eq!(d.run, SecureRun::Idle);
        for f in [
            ffa::SUCCESS_32,
            ffa::ERROR,
            ffa::MSG_WAIT,
            ffa::MEM_RETRIEVE_RESP,
            ffa::YIELD,
        ] {
            let d = decide_s(SecureRun::NsCall, &[fid(f)]);
            assert!(matches!(d.action, Action::Forward(NS)), "{f:#x}");
        }
        // A call that is not a result: refused to the SPMC, the normal world keeps waiting.
        let d = decide_s(SecureRun::NsCall, &[0x8400_0097]);
        assert_eq!(d.action, Action::Reply(S, error(ffa::NOT_SUPPORTED)));
        assert_eq!(d.run, SecureRun::NsCall);
    }

    #[test]
    fn spmd_services_to_the_spmc() {
        let d = decide_s(SecureRun::NsCall, &[fid(ffa::ID_GET)]);
        assert_eq!(d.action, Action::Reply(S, ffa::success(0x8000)));
        assert_eq!(d.run, SecureRun::NsCall, "a service call keeps the run");
        let d = decide_s(SecureRun::Init, &[fid(ffa::SPM_ID_GET)]);
        assert_eq!(d.action, Action::Reply(S, ffa::success(0xFFFF)));
        let d = decide_s(SecureRun::Init, &[fid(ffa::VERSION), 0x1_0002]);
        assert_eq!(d.action, Action::Reply(S, [0x1_0002, 0, 0, 0, 0, 0, 0, 0]));
        let d = decide_s(
            SecureRun::Init,
            &[fid(ffa::FEATURES), fid(ffa::MEM_SHARE_64)],
        );
        assert_eq!(d.action, Action::Reply(S, ffa::success(0)));
        let d = decide_s(
            SecureRun::Init,
            &[fid(ffa::SECONDARY_EP_REGISTER_64), 0x2020_1000],
        );
        assert_eq!(d.action, Action::RegisterSecondaryEp(0x2020_1000));
        let d = decide_s(SecureRun::NsCall, &[fid(ffa::DIRECT_REQ_32), 0x8000_FFFF]);
        assert_eq!(d.action, Action::Reply(S, error(ffa::DENIED)));
        for f in [
            ffa::RXTX_MAP_64,
            ffa::PARTITION_INFO_GET,
            ffa::MSG_SEND2,
            ffa::RUN,
        ] {
            let d = decide_s(SecureRun::NsCall, &[fid(f)]);
            assert_eq!(
                d.action,
                Action::Reply(S, error(ffa::NOT_SUPPORTED)),
                "{f:#x}"
            );
        }
        let d = decide_s(SecureRun::NsCall, &[fid(ffa::CONSOLE_LOG_64)]);
        assert_eq!(d.action, Action::Reply(S, error(ffa::NOT_SUPPORTED)));
        let d = decide_s(SecureRun::NsCall, &[fid(ffa::NORMAL_WORLD_RESUME)]);
        assert_eq!(d.action, Action::Reply(S, error(ffa::DENIED)));
    }

    #[test]
    fn spmc_init_handshake() {
        let d = decide_s(SecureRun::Init, &[fid(ffa::MSG_WAIT)]);
        assert_eq!((d.action, d.run), (Action::InitDone, SecureRun::Idle));
        let d = decide_s(SecureRun::Init, &[fid(ffa::MSG_WAIT_64)]);
        assert_eq!(d.action, Action::InitDone);
        let d = decide_s(
            SecureRun::Init,
            &[fid(ffa::ERROR), 0, (-6i32) as u32 as u64],
        );
        assert_eq!(d.action, Action::InitFailed(-6));
        let d = decide_s(SecureRun::Init, &[fid(ffa::DIRECT_RESP_32)]);
        assert_eq!(d.action, Action::Reply(S, error(ffa::DENIED)));
        assert_eq!(d.run, SecureRun::Init);
    }

    /// x8..x17 cross worlds exactly as TF-A v2.14+'s spmd_smc_switch_state passes them.
    #[test]
    fn x8_to_x17_follow_tf_a() {
        let mut call = regs(&[fid(ffa::DIRECT_REQ2), 0x0000_8001, 0xFFFF_FFFF_0000_0002]);
        for (i, x) in call[8..].iter_mut().enumerate() {
            *x = 0x100 + i as u64;
        }
        let both = FfaVersions {
            ns: 0x1_0002,
            ns_negotiated: true,
            spmc: 0x1_0002,
        };
        assert_eq!(switch_regs(NS, &call, &both), (call, true));
        assert_eq!(switch_regs(S, &call, &both), (call, true));
        // A v1.1 normal world (Linux 6.12): its calls reach the SPMC with x8..x17 zero, and
        // the SPMC's SMC64 answers reach it as x0..x7 only.
        let linux = FfaVersions {
            ns: 0x1_0001,
            ..both
        };
        let mut zeroed = call;
        zeroed[8..].fill(0);
        assert_eq!(switch_regs(NS, &call, &linux), (zeroed, true));
        assert_eq!(switch_regs(S, &call, &linux), (call, false));
        // Nothing negotiated yet: both start below v1.2.
        assert_eq!(
            switch_regs(NS, &call, &FfaVersions::default()),
            (call, false)
        );
        // SMC32: x0..x7 only, and x1..x4 lose their top halves (std_svc_smc_handler).
        let mut c32 = call;
        c32[0] = fid(ffa::DIRECT_REQ_32);
        c32[3] = 0xAAAA_BBBB_CCCC_DDDD;
        c32[5] = 0xAAAA_BBBB_0000_0005;
        let (r, upper) = switch_regs(NS, &c32, &both);
        assert!(!upper);
        assert_eq!((r[3], r[5]), (0xCCCC_DDDD, 0xAAAA_BBBB_0000_0005));
        // Written into the destination's context: x0..x7 replaced, its own x8..x17 kept
        // when the call carries none (SMC_RET8), replaced when it does (SMC_RET18).
        let mut dst = [0xD0D0_u64; 18];
        assert!(!switch_regs_into(NS, &c32, &mut dst, &both));
        assert_eq!(dst[..8], r[..8]);
        assert!(dst[8..].iter().all(|&x| x == 0xD0D0));
        let mut dst = [0xD0D0_u64; 18];
        assert!(switch_regs_into(NS, &call, &mut dst, &linux));
        assert_eq!(dst, zeroed);
        let mut dst = [0xD0D0_u64; 18];
        assert!(switch_regs_into(S, &call, &mut dst, &both));
        assert_eq!(dst, call);
    }

    /// Review 5 F2: TF-A's spmd_smc_switch_state writes x0 from `uint32_t smc_fid`, the SVE
    /// hint bit already masked out by common/runtime_svc.c `sync_handler`: the destination
    /// never sees the caller's x0[63:32] nor bit 16.
    #[test]
    fn forwarded_x0_is_the_32_bit_function_id_as_in_tf_a() {
        let both = FfaVersions {
            ns: 0x1_0002,
            ns_negotiated: true,
            spmc: 0x1_0002,
        };
        let mut call = regs(&[fid(ffa::DIRECT_REQ_64), 0x0000_8001, 0, 7]);
        call[0] |= 0xDEAD_BEEF_0000_0000;
        let mut dst = [0u64; 18];
        switch_regs_into(NS, &call, &mut dst, &both);
        assert_eq!(dst[0], fid(ffa::DIRECT_REQ_64), "x0 {:#x}", dst[0]);
        // With the SVE hint as well: the SPMC (at S-EL1, so not SPMD_SPM_AT_SEL2) never sees it.
        call[0] |= 1 << 16;
        switch_regs_into(NS, &call, &mut dst, &both);
        assert_eq!(dst[0], fid(ffa::DIRECT_REQ_64), "x0 {:#x}", dst[0]);
    }

    /// Review 5 F2: an SMCCC v1.3+ caller (the monitor reports v1.5) may set the SVE hint
    /// (x0 bit 16); TF-A masks it before dispatch and forwards the FF-A call.
    #[test]
    fn an_ffa_call_with_the_sve_hint_is_forwarded_as_in_tf_a() {
        let d = decide_ns(
            SecureRun::Idle,
            &[fid(ffa::DIRECT_REQ_64) | (1 << 16), 0x0000_8001],
        );
        assert_eq!(d.action, Action::Forward(S));
    }

    #[test]
    fn ffa_versions_settle_as_in_tf_a() {
        let mut v = FfaVersions::default();
        v.on_ns_call(ffa::VERSION, 0x1_0001);
        v.on_ns_call(ffa::VERSION, 0x8001_0002);
        assert_eq!(v.ns, 0x1_0001, "a bad version is not recorded");
        v.on_ns_call(ffa::VERSION, 0x1_0002);
        assert_eq!(
            v.ns, 0x1_0002,
            "the last FFA_VERSION before other calls wins"
        );
        v.spmc = 0x1_0002;
        // What the call is forwarded with: the globals after it was recorded.
        let seen = v.on_ns_call(ffa::ID_GET, 0);
        assert_eq!(
            seen,
            FfaVersions {
                ns: 0x1_0002,
                ns_negotiated: true,
                spmc: 0x1_0002
            }
        );
        assert_eq!(v.on_ns_call(ffa::VERSION, 0x1_0000), seen);
        assert_eq!((v.ns, v.ns_negotiated), (0x1_0002, true));
    }

    #[test]
    fn cpu_off_asks_the_spmc_first() {
        let d = decide_ns(SecureRun::Idle, &[fid(psci::CPU_OFF)]);
        assert_eq!(d.run, SecureRun::FwkCpuOff);
        let Action::Deliver(S, m) = d.action else {
            panic!("{d:?}")
        };
        assert_eq!(
            &m[..4],
            &[
                fid(ffa::DIRECT_REQ_32),
                0xFFFF_8000,
                0x8000_0000,
                0x8400_0002
            ]
        );
        assert!(m[4..].iter().all(|&x| x == 0));
        let ok = [fid(ffa::DIRECT_RESP_32), 0x8000_FFFF, 0x8000_0002, 0];
        let d = decide_s(SecureRun::FwkCpuOff, &ok);
        assert_eq!(d.action, Action::PowerDown { refused_with: None });
        assert_eq!(d.run, SecureRun::Idle);
        let d = decide_s(SecureRun::FwkCpuOff, &[fid(ffa::ERROR), 0, 0xFFFF_FFFF]);
        assert_eq!(
            d.action,
            Action::PowerDown {
                refused_with: Some(-1)
            }
        );
        for bad in [
            [fid(ffa::DIRECT_RESP_32), 0x8000_FFFF, 0x8000_0002, 1],
            [fid(ffa::DIRECT_RESP_32), 0x8000_FFFF, 0x8000_0009, 0],
            [fid(ffa::MSG_WAIT), 0, 0, 0],
        ] {
            let d = decide_s(SecureRun::FwkCpuOff, &bad);
            assert!(matches!(d.action, Action::ProtocolViolation(_)), "{bad:x?}");
        }
    }

    #[test]
    fn workaround_features_follow_tf_a_for_the_cpu() {
        let a57 = 0x411F_D070; // QEMU cortex-a57: r1p0
        let a72 = 0x410F_D083; // QEMU cortex-a72: r0p3
        let n1 = 0x414F_D0C1;
        for cpu in [a57, a72] {
            assert_eq!(smccc_arch_features(smccc::ARCH_WORKAROUND_1, cpu), 0);
            assert_eq!(smccc_arch_features(smccc::ARCH_WORKAROUND_3, cpu), 0);
            assert_eq!(smccc_arch_features(smccc::ARCH_WORKAROUND_2, cpu), -2);
            assert_eq!(smccc_arch_features(smccc::ARCH_WORKAROUND_4, cpu), -1);
        }
        assert_eq!(smccc_arch_features(smccc::ARCH_WORKAROUND_1, n1), -1);
        assert_eq!(smccc_arch_features(smccc::ARCH_WORKAROUND_2, n1), -2);
        assert_eq!(smccc_arch_features(smccc::VERSION, n1), 0);
        assert_eq!(
            smccc_arch_features(0x8000_0002, a72),
            -1,
            "SOC_ID: not on qemu_sbsa"
        );
    }

    #[test]
    fn psci_and_smccc() {
        let r1 = |values: &[u64]| decide_ns(SecureRun::Idle, values).action;
        assert_eq!(r1(&[fid(smccc::VERSION)]), Action::Reply1(NS, 0x1_0005));
        assert_eq!(
            r1(&[fid(smccc::ARCH_FEATURES), fid(smccc::VERSION)]),
            Action::ArchFeatures(smccc::VERSION)
        );
        assert_eq!(
            r1(&[fid(smccc::ARCH_FEATURES), 0x8000_8000]),
            Action::ArchFeatures(0x8000_8000),
            "the answer depends on the CPU"
        );
        for wa in [0x8000_8000, 0x8000_7FFF, 0x8000_3FFF, 0x8000_0004] {
            assert_eq!(r1(&[wa]), Action::Reply1(NS, wa), "SMC_RET0: x0 unchanged");
        }
        assert_eq!(r1(&[fid(psci::VERSION)]), Action::Reply1(NS, 0x1_0001));
        assert_eq!(
            r1(&[fid(psci::FEATURES), fid(psci::CPU_ON_64)]),
            Action::Reply1(NS, 0)
        );
        assert_eq!(
            r1(&[fid(psci::FEATURES), 0xC400_0001]),
            Action::Reply1(NS, 0),
            "CPU_SUSPEND: original power_state format, no OS-initiated mode"
        );
        assert_eq!(r1(&[0xC400_0001, 1, 0x1234, 5]), Action::Standby);
        assert_eq!(
            r1(&[0xC400_0001, 0x1_0002, 0x100_0010_0000, 5]),
            Action::SuspendPowerDown {
                entry: 0x100_0010_0000,
                context_id: 5
            }
        );
        assert_eq!(
            r1(&[0x8400_0001, 0x101_0022, 0x1_8000_1000, 0x1_0000_0007]),
            Action::SuspendPowerDown {
                entry: 0x8000_1000,
                context_id: 7
            }
        );
        for bad in [0, 2, 0x1_0001, 0x2_0002, 0x1_0102] {
            assert_eq!(
                r1(&[0xC400_0001, bad, 0x1234, 0]),
                Action::Reply1(NS, (-2i64) as u64),
                "power_state {bad:#x}"
            );
        }
        assert_eq!(
            r1(&[fid(psci::MIGRATE_INFO_TYPE)]),
            Action::Reply1(NS, u64::MAX)
        );
        assert_eq!(
            r1(&[
                fid(psci::CPU_ON_32),
                0xFFFF_FFFF_0000_0001,
                0x1_8000_1000,
                5
            ]),
            Action::CpuOn {
                target: 1,
                entry: 0x8000_1000,
                context_id: 5
            }
        );
        assert_eq!(
            r1(&[fid(psci::CPU_ON_64), 2, 0x100_0010_0000, 7]),
            Action::CpuOn {
                target: 2,
                entry: 0x100_0010_0000,
                context_id: 7
            }
        );
        assert_eq!(
            r1(&[fid(psci::SYSTEM_OFF), 3]),
            Action::Shutdown {
                from: NS,
                status: 3
            }
        );
        assert_eq!(
            r1(&[fid(psci::SYSTEM_RESET), 3]),
            Action::Shutdown {
                from: NS,
                status: 0
            }
        );
        // The fixture's real reset, from the normal world only.
        assert_eq!(r1(&[fid(psci::SYSTEM_RESET), REBOOT_MAGIC]), Action::Reboot);
        let d = decide_s(SecureRun::NsCall, &[fid(psci::SYSTEM_RESET), REBOOT_MAGIC]);
        assert!(matches!(d.action, Action::Shutdown { from: S, .. }));
        assert_eq!(r1(&[0xC200_0000]), Action::Reply1(NS, u64::MAX));
        // From the secure world: discovery and shutdown only.
        let d = decide_s(SecureRun::NsCall, &[fid(psci::SYSTEM_OFF), 9]);
        assert_eq!(d.action, Action::Shutdown { from: S, status: 9 });
        let d = decide_s(
            SecureRun::NsCall,
            &[fid(psci::CPU_ON_64), 1, 0x2020_0000, 0],
        );
        assert_eq!(d.action, Action::Reply1(S, u64::MAX));
    }

    #[test]
    fn fiq_at_el3_follows_the_pending_group() {
        assert_eq!(PendingType::from_hppir0(1020), PendingType::SecureEl1);
        assert_eq!(PendingType::from_hppir0(1021), PendingType::NonSecure);
        assert_eq!(PendingType::from_hppir0(1023), PendingType::None);
        assert_eq!(PendingType::from_hppir0(1022), PendingType::None);
        assert_eq!(PendingType::from_hppir0(29), PendingType::Group0(29));
        assert_eq!(
            fiq(PendingType::SecureEl1),
            FiqAction::EnterSpmc([u64::from(ffa::INTERRUPT), 0, 0, 0, 0, 0, 0, 0])
        );
        assert_eq!(fiq(PendingType::Group0(48)), FiqAction::Group0(48));
        assert_eq!(fiq(PendingType::NonSecure), FiqAction::Resume);
        assert_eq!(fiq(PendingType::None), FiqAction::Resume);
    }

    #[test]
    fn a_secure_interrupt_ends_with_normal_world_resume_only() {
        let run = SecureRun::SecureInterrupt;
        let d = decide_s(run, &[fid(ffa::NORMAL_WORLD_RESUME)]);
        assert_eq!(
            (d.action, d.run),
            (Action::ResumeNormalWorld, SecureRun::Idle)
        );
        // Outside a secure interrupt: DENIED (spmd_main.c), also for the SMC64 ID.
        for r in [SecureRun::Idle, SecureRun::NsCall, SecureRun::Init] {
            let d = decide_s(r, &[fid(ffa::NORMAL_WORLD_RESUME)]);
            assert_eq!(d.action, Action::Reply(S, error(ffa::DENIED)));
        }
        let d = decide_s(run, &[fid(ffa::NORMAL_WORLD_RESUME_64)]);
        assert_eq!(d.action, Action::Reply(S, error(ffa::DENIED)));
        // A result meant for a normal-world caller: nobody is waiting for it.
        let d = decide_s(run, &[fid(ffa::MSG_WAIT)]);
        assert!(matches!(d.action, Action::ProtocolViolation(_)));
        // SPMD services stay available meanwhile.
        let d = decide_s(run, &[fid(ffa::ID_GET)]);
        assert_eq!(d.action, Action::Reply(S, ffa::success(0x8000)));
        assert_eq!(d.run, run);
    }

    #[test]
    fn el3_intr_handle_is_for_the_secure_world() {
        for run in [
            SecureRun::NsCall,
            SecureRun::SecureInterrupt,
            SecureRun::Idle,
        ] {
            let d = decide_s(run, &[fid(ffa::EL3_INTR_HANDLE)]);
            assert_eq!((d.action, d.run), (Action::HandleGroup0, run));
        }
        let d = decide_ns(SecureRun::Idle, &[fid(ffa::EL3_INTR_HANDLE)]);
        assert_eq!(d.action, Action::Reply(NS, error(ffa::NOT_SUPPORTED)));
    }
}
