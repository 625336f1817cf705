//! Cold boot of the monitor: EL3 register setup, loading the payloads named by the flash
//! directory, validating the SPMC manifest like TF-A's SPMD, and the first entry into the SPMC
//! on each core (primary at cold boot, secondaries on PSCI CPU_ON).

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use qemu_monitor::el3;
use qemu_monitor::flash_directory::{self, Entry, PayloadKind};
use qemu_monitor::spmc_manifest::{self, SpmcAttributes};
use spin::Once;

use crate::arch::{self, el3_exit, read_sysreg, write_sysreg};
use crate::console::log;
use crate::context::World;
use crate::percpu::{stack_top, Core, SecureRun};
use crate::{exit_status, power};

/// Where the SPMC manifest (TOS_FW_CONFIG) is copied, and the end of its window.
pub const MANIFEST_PA: u64 = flash_directory::SPMC_MANIFEST_LOAD_ADDRESS;
const MANIFEST_WINDOW_END: u64 = MANIFEST_PA + flash_directory::SPMC_MANIFEST_MAX_SIZE;
/// Where BL32 goes: TF-A qemu_sbsa's BL32_BASE..BL32_LIMIT (qemu_bl2_mem_params_desc.c
/// loads it at BL32_BASE, at most BL32_LIMIT - BL32_BASE bytes, and BL31 enters it there).
const SPMC_WINDOW: (u64, u64) = (
    flash_directory::SPMC_LOAD_ADDRESS,
    flash_directory::SPMC_LOAD_ADDRESS + flash_directory::SPMC_MAX_SIZE,
);
/// Non-secure DRAM above QEMU's DTB, within the first 1 GiB (present with any -m >= 1024).
const NS_DTB: u64 = 0x100_0000_0000;
const NS_WINDOW: (u64, u64) = (0x100_0010_0000, 0x100_4000_0000);

/// PSTATE for entering the SPMC: EL1h, D, A, I, F masked.
const SPSR_EL1H_MASKED: u64 = 0x3C5;
/// PSTATE for entering the normal world: EL2h, D, A, I, F masked.
const SPSR_EL2H_MASKED: u64 = 0x3C9;

/// Value the primary writes to [`BOOT_READY`] once .bss is cleared (entry.S compares it).
const BOOT_READY_MAGIC: u64 = 0x5245_4144_594D_4F4E;

/// Polled by the secondaries at reset, in .noinit so clearing .bss cannot race with them.
#[no_mangle]
#[link_section = ".noinit"]
static BOOT_READY: AtomicU64 = AtomicU64::new(0);

/// Clears [`BOOT_READY`] before a machine reset: RAM survives the reset, and secondaries that
/// found the word still set would jump into the RAM copy while the primary rewrites it.
pub fn forget_boot_ready() {
    BOOT_READY.store(0, Ordering::Release);
}

/// Secondaries that left the flash: they run from RAM (counted before they do anything else).
static SECONDARIES_IN_RAM: AtomicUsize = AtomicUsize::new(0);

static ATTRS: Once<SpmcAttributes> = Once::new();
/// The SPMC's warm-boot entry (FFA_SECONDARY_EP_REGISTER_64), 0 until registered.
static SECONDARY_EP: AtomicU64 = AtomicU64::new(0);

/// Returns the validated SPMC manifest attributes (set before any world runs).
pub fn attrs() -> &'static SpmcAttributes {
    match ATTRS.get() {
        Some(a) => a,
        None => fatal(
            exit_status::EL3_FAULT,
            format_args!("manifest used before boot"),
        ),
    }
}

/// Prints why the monitor stops and ends the QEMU run with `status`.
pub fn fatal(status: u64, why: core::fmt::Arguments) -> ! {
    log!("fatal: {}", why);
    arch::semihosting_exit(status)
}

/// FFA_SECONDARY_EP_REGISTER_64 from the SPMC: accepted once, inside the SPMC region; TF-A's
/// spmd_pm_secondary_ep_register answers INVALID_PARAMETERS to both a second call and an
/// address outside `[load_address, load_address + binary_size)`.
pub fn register_secondary_ep(pa: u64) -> Result<(), i32> {
    use qemu_monitor::ids::ffa;
    if !attrs().contains(pa) {
        return Err(ffa::INVALID_PARAMETERS);
    }
    SECONDARY_EP
        .compare_exchange(0, pa, Ordering::AcqRel, Ordering::Acquire)
        .map(|_| ())
        .map_err(|_| ffa::INVALID_PARAMETERS)
}

/// Sets this core's EL3 controls. Called once per core at reset.
fn init_el3() {
    write_sysreg!(vbar_el3, arch::vectors_address());
    // RES1 bits and SA (stack alignment check); MMU, caches and alignment faults off: the
    // monitor runs uncached from secure RAM and is built for strict alignment.
    write_sysreg!(sctlr_el3, 0x30C5_0838);
    // No trap of FP/SIMD (TFP = 0), of trace or of the activity monitors. SVE and SME stay
    // trapped (EZ = ESM = 0), as TF-A builds them when the SVE registers are not kept
    // (ENABLE_SVE_FOR_NS=0): see `qemu_monitor::el3::cptr_el3`.
    let pfr0 = read_sysreg!(id_aa64pfr0_el1);
    let pfr1 = read_sysreg!(id_aa64pfr1_el1);
    let cptr = el3::cptr_el3(pfr0, pfr1, el3::SAVES_SVE_STATE);
    write_sysreg!(cptr_el3, cptr);
    // SAFETY: ISB only orders the CPTR_EL3 write before the ZCR/SMCR accesses it enables.
    unsafe { core::arch::asm!("isb", options(nomem, nostack)) };
    if cptr & el3::CPTR_EZ != 0 {
        // ZCR_EL3.LEN = 0xF: the largest implemented SVE vector length for lower ELs.
        write_sysreg!(S3_6_C1_C2_0, 0xF);
    }
    if cptr & el3::CPTR_ESM != 0 {
        // SMCR_EL3.LEN = 0xF: the largest implemented streaming vector length.
        write_sysreg!(S3_6_C1_C2_6, 0xF);
    }
    // SPME: PMU event counting allowed in Secure state too, for benchmarks; no PMU/debug traps.
    write_sysreg!(mdcr_el3, 1 << 17);
    if read_sysreg!(cntfrq_el0) == 0 {
        // sbsa-ref's generic timer runs at 62.5 MHz; QEMU normally presets CNTFRQ already.
        write_sysreg!(cntfrq_el0, 62_500_000);
    }
    // Virtual counter == physical counter in the normal world.
    write_sysreg!(cntvoff_el2, 0);
    crate::percpu::detect_cpu_features();
    crate::gic::init_cpu_interface();
}

/// Gives NS-EL2 a defined reset state before (re-)entering the normal world on this core.
fn init_ns_el2() {
    // RES1 bits only: EL2 MMU and caches off, little-endian.
    write_sysreg!(sctlr_el2, 0x30C5_0830);
    // RW: a later NS-EL1 runs AArch64; nothing routed to or trapped in EL2 yet.
    write_sysreg!(hcr_el2, 1 << 31);
    // RES1 bits only: FP/SIMD not trapped at EL2 (TFP = 0).
    write_sysreg!(cptr_el2, 0x33FF);
    // EL1PCTEN | EL1PCEN: NS-EL1/EL0 may read the physical counter and use the timer.
    write_sysreg!(cnthctl_el2, 0x3);
    write_sysreg!(vttbr_el2, 0);
}

fn directory() -> flash_directory::Directory {
    // SAFETY: the secure flash is mapped at PA 0 and readable at EL3 with the MMU off; the
    // directory window lies inside its 256 MiB and nothing writes the flash yet (no world
    // has run).
    let bytes = unsafe {
        core::slice::from_raw_parts(
            flash_directory::DIRECTORY_OFFSET as *const u8,
            flash_directory::MAX_DIRECTORY_SIZE,
        )
    };
    match flash_directory::decode(bytes) {
        Ok(d) => d,
        Err(e) => fatal(
            exit_status::BOOT,
            format_args!("bad flash directory: {:?}", e),
        ),
    }
}

fn payload(dir: &flash_directory::Directory, kind: PayloadKind) -> Entry {
    match dir.find(kind) {
        Some(e) => e,
        None => fatal(
            exit_status::BOOT,
            format_args!("flash image has no {:?} payload", kind),
        ),
    }
}

/// Copies a payload from flash to its load address after checking it fits `window`.
fn load(e: &Entry, window: (u64, u64)) {
    let fits = e.load_address >= window.0
        && e.load_address
            .checked_add(e.size)
            .is_some_and(|end| end <= window.1);
    if !fits {
        fatal(
            exit_status::BOOT,
            format_args!(
                "{:?} at {:#x} (+{:#x}) is outside {:#x}..{:#x}",
                e.kind, e.load_address, e.size, window.0, window.1
            ),
        );
    }
    // SAFETY: the source range was checked by `flash_directory::decode` to lie inside the
    // flash; the destination was just checked to lie in a RAM window that no Rust object of
    // the monitor occupies (its own RAM is TF-A's BL31 region, outside every window) and no
    // other world runs yet; the ranges cannot overlap (flash vs RAM).
    unsafe {
        core::ptr::copy_nonoverlapping(
            e.flash_offset as *const u8,
            e.load_address as *mut u8,
            e.size as usize,
        );
    }
}

/// Cold boot of the primary core; `core` is its per-core state.
pub fn primary(core: &'static mut Core) -> ! {
    crate::console::init();
    log!("monitor start on core 0");
    init_el3();
    BOOT_READY.store(BOOT_READY_MAGIC, Ordering::Release);
    arch::sev();

    let dir = directory();
    let manifest = payload(&dir, PayloadKind::SpmcManifest);
    if manifest.load_address != MANIFEST_PA {
        fatal(
            exit_status::BOOT,
            format_args!(
                "manifest load address {:#x} is not {MANIFEST_PA:#x}",
                manifest.load_address
            ),
        );
    }
    load(&manifest, (MANIFEST_PA, MANIFEST_WINDOW_END));
    // SAFETY: `load` just wrote `manifest.size` bytes at MANIFEST_PA, inside secure RAM, and
    // nothing else writes that window while the monitor reads it.
    let blob =
        unsafe { core::slice::from_raw_parts(MANIFEST_PA as *const u8, manifest.size as usize) };
    let a = match spmc_manifest::parse(blob) {
        Ok(a) => a,
        Err(e) => fatal(
            exit_status::BOOT,
            format_args!("SPMC manifest refused: {:?}", e),
        ),
    };
    log!(
        "SPMC manifest: spmc_id {:#x}, FF-A v{}.{}, exec_state {}, load {:#x}, entry {:#x}, size {:#x}",
        a.spmc_id, a.major_version, a.minor_version, a.exec_state, a.load_address, a.entrypoint,
        a.binary_size
    );

    // As TF-A: BL32 is loaded and entered at BL32_BASE; the manifest's load_address and
    // binary_size only bound FFA_SECONDARY_EP_REGISTER (and are not checked against BL32_BASE,
    // as TF-A does not: an image linked elsewhere reports it itself at entry).
    let spmc = payload(&dir, PayloadKind::Spmc);
    if spmc.load_address != SPMC_WINDOW.0 {
        fatal(
            exit_status::BOOT,
            format_args!(
                "SPMC payload load address {:#x} is not BL32_BASE {:#x}",
                spmc.load_address, SPMC_WINDOW.0
            ),
        );
    }
    if a.load_address != SPMC_WINDOW.0 {
        log!(
            "warning: manifest load_address {:#x} is not BL32_BASE {:#x}",
            a.load_address,
            SPMC_WINDOW.0
        );
    }
    load(&spmc, SPMC_WINDOW);
    let ns = payload(&dir, PayloadKind::NsImage);
    load(&ns, NS_WINDOW);
    ATTRS.call_once(|| a);

    core.ns_entry = ns.load_address;
    core.ns_arg = NS_DTB;
    let cores = power::discover_cores();
    log!("{cores} cores present");
    // Once the SPMC runs, a partition may program the secure flash, which then answers reads
    // with its status: no core may still be executing the reset code there.
    while SECONDARIES_IN_RAM.load(Ordering::Acquire) + 1 < cores {
        arch::wfe();
    }
    log!("every core runs from RAM");
    // As TF-A's BL31 before it enters BL32 and BL33: the normal world owns every interrupt.
    crate::gic::init();
    enter_spmc(core, 0, SPMC_WINDOW.0)
}

/// Reset path of a secondary core: set up EL3, then park until PSCI CPU_ON.
pub fn secondary(core: &'static mut Core, id: usize) -> ! {
    SECONDARIES_IN_RAM.fetch_add(1, Ordering::AcqRel);
    arch::sev();
    init_el3();
    secondary_boot(core, id)
}

/// Parks the core until CPU_ON, then boots the SPMC on it (warm entry); its FFA_MSG_WAIT then
/// takes the core into the normal world at the CPU_ON entry point.
pub fn secondary_boot(core: &mut Core, id: usize) -> ! {
    let (entry, context_id) = power::wait_for_cpu_on(id);
    core.ns_entry = entry;
    core.ns_arg = context_id;
    // TF-A's PSCI sets up the core's GIC (qemu_pwr_domain_on_finish) before the SPMD enters
    // the SPMC (svc_on_finish).
    crate::gic::power_on(id);
    // TF-A enters a core the SPMC registered no entry for at BL32's entry point (BL32_BASE).
    let ep = match SECONDARY_EP.load(Ordering::Acquire) {
        0 => SPMC_WINDOW.0,
        ep => ep,
    };
    log!("core {id} on: entering SPMC at {ep:#x}");
    enter_spmc(core, id, ep)
}

/// Enters the SPMC at `pc` per the boot contract (x0 = manifest, x4 = core linear ID).
fn enter_spmc(core: &mut Core, id: usize, pc: u64) -> ! {
    let s = core.ctx(World::Secure);
    s.reset(pc, SPSR_EL1H_MASKED, stack_top(id));
    s.gp.x[0] = MANIFEST_PA;
    s.gp.x[4] = id as u64;
    core.secure_run = SecureRun::Init;
    if id == 0 {
        log!("entering SPMC at {pc:#x} (S-EL1) on core 0");
    }
    let ctx = core.enter_fresh(World::Secure);
    // SAFETY: ctx points at this core's secure context, fully initialised above; el3_exit
    // switches SP_EL3 to it and ERETs to S-EL1.
    unsafe { el3_exit(ctx) }
}

/// Prepares this core's normal-world context for entry at the pending CPU_ON (or cold boot)
/// entry point and returns it for the switch.
pub fn enter_normal_world(core: &mut Core, id: usize) -> *mut crate::context::GpRegs {
    init_ns_el2();
    let (entry, arg) = (core.ns_entry, core.ns_arg);
    let ns = core.ctx(World::NonSecure);
    ns.reset(entry, SPSR_EL2H_MASKED, stack_top(id));
    ns.gp.x[0] = arg;
    log!("entering normal world at {entry:#x} (NS-EL2) on core {id}");
    core.switch_to(World::NonSecure)
}
