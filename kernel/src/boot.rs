//! Cold and warm boot of the SPMC on AArch64: heap, translation tables, the SPMC manifest,
//! partitions, then the per-core FF-A loop with EL3.

use crate::arch::aarch64;
use crate::machine::Machine;
use crate::memory::{AddressSpace, KernelLayout, PhysRange};
use crate::spmc::{PlatformInfo, Spmc, SPMC_VERSION};
use crate::spmc_manifest;
use ffa_abi::error::ErrorCode;
use ffa_abi::func_id::FuncId;
use ffa_abi::regs::Regs;
use ffa_abi::version::Version;
use linked_list_allocator::LockedHeap;
use spmc_table::Table;

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();

static SPMC: spin::Once<Spmc> = spin::Once::new();
static KERNEL_SPACE: spin::Once<spin::Mutex<AddressSpace>> = spin::Once::new();

/// Linker-provided boundaries of the image.
pub struct ImageSymbols {
    pub text: PhysRange,
    pub rodata: PhysRange,
    pub data: PhysRange,
    pub heap: PhysRange,
    /// The per-core stacks (inside `data`).
    pub stacks: PhysRange,
}

/// What a platform crate hands the kernel at cold boot.
pub struct PlatformBoot {
    pub name: &'static str,
    pub devices: &'static [PhysRange],
    pub secure_alias: &'static [PhysRange],
    pub ns_alias: &'static [PhysRange],
    /// Cores the platform has: at most the kernel's `MAX_CORES` (stacks and per-core data).
    pub cores: usize,
    /// Secure memory EL3 keeps (TF-A's BL31/BL2/BL1 RW data, shared RAM, config pages): the
    /// SPMC refuses to boot if its image, devices or alias windows overlap it, and never maps
    /// it (`KernelLayout::el3_reserved`).
    pub el3_reserved: &'static [PhysRange],
    /// Which of x8-x17 EL3 passes between the worlds (`spmc::El3Registers`).
    pub el3_registers: crate::spmc::El3Registers,
    /// Memory-sharing limits of this platform (`spmc::memory::DEFAULT_LIMITS` for the
    /// engine's full capacity).
    pub memory_limits: crate::mem_share::Limits,
    /// The GICv3 the SPMC configures secure interrupts in (both ranges are also in
    /// `devices`); `None`: no interrupt is configured and partitions get none.
    pub gic: Option<GicBases>,
    /// Partitions' time limits where the SP set description sets none.
    pub time_limits: crate::spmc::time_limit::Defaults,
}

/// Where the GICv3 is.
pub struct GicBases {
    /// The distributor (GICD_BASE).
    pub gicd: u64,
    /// The first redistributor frame (GICR_BASE).
    pub gicr: u64,
}

fn smc(regs: Regs) -> Regs {
    let mut r = regs.0;
    aarch64::smc(&mut r);
    Regs(r)
}

fn call(fid: FuncId, x1: u64) -> Regs {
    let mut r = Regs::ZERO;
    r.0[0] = fid.raw().into();
    r.0[1] = x1;
    smc(r)
}

/// Reports a failed initialisation to EL3 (FFA_ERROR), which does not return.
fn fail(code: ErrorCode, why: core::fmt::Arguments) -> ! {
    crate::console::print_line(format_args!("init failed: {why}"));
    let mut r = Regs::error(code);
    loop {
        r = smc(r);
    }
}

/// Cold boot on the primary core. `manifest_pa` is x0 from EL3.
pub fn cold_boot(
    plat: &'static PlatformBoot,
    table: &'static Table,
    image: ImageSymbols,
    manifest_pa: u64,
    core: u64,
) -> ! {
    // S-EL1 exceptions are reported on the console (the arch layer does not import it).
    aarch64::set_fault_report(crate::console::emergency_fault);
    // SAFETY: the heap range comes from the linker script: it lies inside the SPMC's region,
    // after every section, and nothing else uses it.
    unsafe {
        HEAP.lock().init(
            image.heap.base as usize as *mut u8,
            image.heap.size as usize,
        );
    }
    crate::info!(
        "FF-A SPMC (Rust) starting on {} core {core}, S-EL1",
        plat.name
    );
    // The manifest is read before the MMU is on (identity, physical): its FDT header's
    // totalsize bytes, at most 64 KiB, so nothing past it (EL3's memory under TF-A) is read.
    // SAFETY: EL3 passes the physical address of the manifest blob in x0 (TF-A boot contract);
    // with the MMU off every physical address is accessible; the header is 8 bytes, read-only.
    let header: &[u8] =
        unsafe { core::slice::from_raw_parts(manifest_pa as usize as *const u8, 8) };
    let total = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
    let len = usize::try_from(total).map_or(0x1_0000, |t| t.clamp(8, 0x1_0000));
    // SAFETY: as above, `len` bytes (at most 64 KiB) of the blob EL3 passed; read-only, and the
    // slice only lives during parsing.
    let blob: &[u8] =
        unsafe { core::slice::from_raw_parts(manifest_pa as usize as *const u8, len) };
    let manifest = match spmc_manifest::parse(blob) {
        Ok(m) => m,
        Err(e) => fail(
            ErrorCode::InvalidParameters,
            format_args!("SPMC manifest at {manifest_pa:#x}: {e:?}"),
        ),
    };
    crate::info!(
        "manifest: spmc_id {:#06x}, FF-A v{}.{}, load {:#x} size {:#x}",
        manifest.spmc_id,
        manifest.maj_ver,
        manifest.min_ver,
        manifest.load_address,
        manifest.binary_size
    );
    if plat.cores > aarch64::MAX_CORES {
        fail(
            ErrorCode::InvalidParameters,
            format_args!(
                "{} cores, the kernel has stacks for {}",
                plat.cores,
                aarch64::MAX_CORES
            ),
        );
    }
    if let Err(e) = table.check_shape() {
        fail(
            ErrorCode::InvalidParameters,
            format_args!("partition table: {e:?}"),
        );
    }

    // The lowest page of each core's stack stays unmapped: a kernel stack overflow faults
    // (and the fault vector restarts on the core's stack top) instead of silently writing into
    // the stack of the core below.
    let guards: &'static [PhysRange] = alloc::boxed::Box::leak(
        (0..aarch64::MAX_CORES as u64)
            .map(|i| PhysRange {
                base: image.stacks.base + i * aarch64::STACK_SIZE as u64,
                size: crate::memory::PAGE_SIZE,
            })
            .collect::<alloc::vec::Vec<_>>()
            .into_boxed_slice(),
    );
    let layout = KernelLayout {
        text: image.text,
        rodata: image.rodata,
        data: image.data,
        devices: plat.devices,
        secure_alias: plat.secure_alias,
        ns_alias: plat.ns_alias,
        guards,
        el3_reserved: plat.el3_reserved,
    };
    if let Some((mine, el3)) = layout.el3_overlap() {
        fail(
            ErrorCode::InvalidParameters,
            format_args!(
                "{:#x}..{:#x} would map EL3's memory {:#x}..{:#x}",
                mine.base,
                mine.base + mine.size,
                el3.base,
                el3.base + el3.size
            ),
        );
    }
    let space = match AddressSpace::new(&layout, 0) {
        Ok(s) => s,
        Err(e) => fail(
            ErrorCode::NoMemory,
            format_args!("kernel page tables: {e:?}"),
        ),
    };
    // SAFETY: the table identity-maps the image (text executable, data/stack/heap writable)
    // and the devices in use; see `AddressSpace::new`.
    unsafe { aarch64::enable_mmu(space.ttbr0()) };
    let ttbr0 = space.ttbr0();
    KERNEL_SPACE.call_once(|| spin::Mutex::new(space));
    // Both alias lists are static; the copy helpers accept either kind of range.
    static ALL_ALIAS: spin::Once<alloc::vec::Vec<PhysRange>> = spin::Once::new();
    let all = ALL_ALIAS.call_once(|| {
        plat.secure_alias
            .iter()
            .chain(plat.ns_alias)
            .copied()
            .collect()
    });
    aarch64::set_alias_ranges(all.as_slice(), crate::memory::ALIAS_OFFSET);
    crate::info!(
        "MMU on (TTBR0 {ttbr0:#x}); heap {:#x} bytes",
        image.heap.size
    );

    // What EL3 says about us (the SPMD answers these itself).
    let id = call(FuncId::IdGet, 0);
    if (id.w(0) != FuncId::Success32.raw() && id.w(0) != FuncId::Success64.raw())
        || id.w(2) != u32::from(manifest.spmc_id)
    {
        crate::info!(
            "warning: FFA_ID_GET from EL3 gave {:#x}/{:#x}",
            id.w(0),
            id.w(2)
        );
    }
    let spmd_version = call(FuncId::Version, u64::from(SPMC_VERSION.encode()));
    crate::info!("SPMD speaks FF-A {:#x}", spmd_version.w(0));
    let ours = Version::new(1, manifest.min_ver.min(SPMC_VERSION.minor));

    let r = call(FuncId::SecondaryEpRegister64, aarch64::secondary_entry());
    if r.w(0) != FuncId::Success32.raw() && r.w(0) != FuncId::Success64.raw() {
        crate::info!(
            "warning: FFA_SECONDARY_EP_REGISTER refused ({:#x}, {:#x})",
            r.w(0),
            r.w(2)
        );
    }

    // Memory the SPs retrieve is mapped at VA = PA (kernel/src/memory.rs, identity_clash).
    if let Some(r) = crate::memory::identity_clash(&layout, plat.ns_alias) {
        fail(
            ErrorCode::InvalidParameters,
            format_args!(
                "NS range {:#x}+{:#x} has the numbers of secure memory an SP table maps",
                r.base, r.size
            ),
        );
    }
    let platform = PlatformInfo {
        name: plat.name,
        layout,
        ns_memory: plat.ns_alias,
        memory_limits: plat.memory_limits,
        el3_registers: plat.el3_registers,
        time_limits: if plat.gic.is_some() {
            plat.time_limits
        } else {
            // Without the GIC the timer's interrupt never comes: no limit can be enforced.
            crate::spmc::time_limit::Defaults::NONE
        },
    };
    let spmc = SPMC.call_once(|| Spmc::new(manifest.spmc_id, ours, table, platform));
    init_interrupts(plat, spmc, core as usize);
    let mut machine = Machine::new(core as usize);
    crate::info!("booting {} partition(s)", spmc.sps.len());
    spmc.boot_partitions(&mut machine);
    crate::info!(
        "init done on core {core}: FF-A v{}.{}, id {:#06x}",
        ours.major,
        ours.minor,
        spmc.id
    );
    run_loop(spmc, &mut machine)
}

/// Finds the GIC and makes every interrupt a partition owns Group 1 Secure, routed (SPIs) to
/// the boot core, before any partition runs. An interrupt the GIC refuses is reported and left
/// alone: its owner never receives it.
fn init_interrupts(plat: &PlatformBoot, spmc: &Spmc, core: usize) {
    let Some(g) = &plat.gic else {
        crate::info!("no GIC on this platform: secure interrupts are not configured");
        return;
    };
    // SAFETY: the platform crate names its GICv3 distributor and first redistributor, both in
    // `plat.devices`, which the kernel table maps as device memory for good; arch::gic is the
    // only code that touches them.
    let cores = unsafe { crate::arch::gic::init(g.gicd, g.gicr) };
    crate::arch::gic::init_cpu(core);
    sri_init(core);
    let target = crate::arch::gic::mpidr();
    // The SPMC's own timer, on every core, before any partition runs (spmc/time_limit.rs).
    if let Err(e) = crate::arch::gic::configure(&timer_config(target)) {
        crate::info!("the secure physical timer's interrupt: GIC refused it ({e:?})");
    }
    for c in crate::spmc::interrupt::configs(spmc.table) {
        let cfg = gic_config(&c, target);
        match crate::arch::gic::configure(&cfg) {
            Ok(()) => crate::info!(
                "interrupt {} -> SP {:#06x} (Group 1 Secure, priority {:#x})",
                c.intid,
                c.owner,
                c.priority
            ),
            Err(e) => crate::info!("interrupt {}: GIC refused it ({e:?})", c.intid),
        }
    }
    crate::info!("GICv3: {cores} redistributor(s)");
}

/// The secure physical timer's PPI, the SPMC's own (spmc/time_limit.rs).
fn timer_config(target_mpidr: u64) -> crate::arch::gic::Config {
    crate::arch::gic::Config {
        intid: crate::arch::gic::TIMER_INTID,
        priority: crate::arch::gic::TIMER_PRIORITY,
        level: true,
        target_mpidr,
    }
}

/// What the GIC is told for a partition's interrupt; an SPI without `interrupts-target` goes
/// to `target_mpidr`.
fn gic_config(c: &crate::spmc::interrupt::Owned, target_mpidr: u64) -> crate::arch::gic::Config {
    crate::arch::gic::Config {
        intid: c.intid,
        priority: c.priority,
        level: c.level,
        target_mpidr: c.target_mpidr.unwrap_or(target_mpidr),
    }
}

/// A core's private interrupts (the timer's PPI and any PPI or SGI a partition owns) made
/// Group 1 Secure again on its warm entry: EL3 set its redistributor back to the defaults when
/// it powered the core on (TF-A qemu_sbsa `qemu_pwr_gic_on_finish` -> `gicv3_rdistif_init`;
/// qemu/monitor/src/gic.rs does the same). Without this the time limits and private
/// interrupts stop working on a core after its first CPU_ON. A partition's one is left
/// disabled when its owner cannot take it or an instance of it is still queued
/// (`interrupt::enable_on_warm_entry`).
fn private_interrupts_init(spmc: &Spmc, core: usize) {
    let target = crate::arch::gic::mpidr();
    let sp = crate::spmc::interrupt::configs(spmc.table).map(|c| {
        let on = crate::spmc::interrupt::enable_on_warm_entry(spmc, c.intid, core);
        (gic_config(&c, target), on)
    });
    for (cfg, on) in core::iter::once((timer_config(target), true)).chain(sp) {
        if let Err(e) = crate::arch::gic::configure_private(&cfg, core, on) {
            crate::info!(
                "interrupt {} on core {core}: GIC refused it ({e:?})",
                cfg.intid
            );
        }
    }
}

/// The schedule-receiver interrupt of notifications is the normal world's SGI on this core
/// (kernel/src/spmc/notify.rs).
fn sri_init(core: usize) {
    crate::arch::gic::configure_ns_sgi(crate::spmc::notify::SRI_INTID, core, SRI_PRIORITY);
}

/// Priority of the schedule-receiver interrupt (Hafnium's `SRI_PRIORITY`).
const SRI_PRIORITY: u8 = 0xF0;

/// Warm boot of a secondary core (entered by EL3 after PSCI CPU_ON).
pub fn warm_boot(core: u64) -> ! {
    let Some(spmc) = SPMC.get() else {
        fail(
            ErrorCode::Denied,
            format_args!("core {core} entered before cold boot finished"),
        )
    };
    let ttbr0 = KERNEL_SPACE.get().map(|s| s.lock().ttbr0()).unwrap_or(0);
    // SAFETY: the kernel table built at cold boot maps the image identically on every core.
    unsafe { aarch64::enable_mmu(ttbr0) };
    crate::arch::gic::init_cpu(core as usize);
    sri_init(core as usize);
    private_interrupts_init(spmc, core as usize);
    let mut machine = Machine::new(core as usize);
    crate::info!(
        "core {core} online (counter {} ticks/ms)",
        crate::spmc::Env::ticks_per_ms(&machine)
    );
    run_loop(spmc, &mut machine)
}

fn run_loop(spmc: &'static Spmc, machine: &mut Machine) -> ! {
    let mut msg = Regs::ZERO;
    msg.0[0] = FuncId::MsgWait32.raw().into();
    loop {
        aarch64::smc(&mut msg.0);
        spmc.handle_el3_call_in_place(machine, &mut msg);
    }
}

/// Halts the core after a panic in the SPMC.
/// A panic is an SPMC bug: report it, then answer every call on this core with
/// FFA_ERROR(ABORTED) (see `refuse_forever`).
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    crate::console::emergency_line(format_args!("PANIC: {info}"));
    aarch64::refuse_forever()
}
