//! Platform facts, once: where TF-A puts BL32 and its own memory on each supported platform
//! ([`tf_a`]), and how this project lays out its SPMC, SP pool, devices and normal-world memory
//! around that ([`qemu_sbsa`], [`fvp`]). The SPMC images (qemu/spmc-sbsa, platform-fvp), the
//! EL3 monitor (qemu/monitor), manifest-tool's built-in platforms and xtask read these
//! constants; the hand-written copies that cannot (each `link.ld`, each SPMC manifest DTS) are
//! checked against them by this crate's tests (tests/agreement.rs).
#![no_std]
#![forbid(unsafe_code)]

pub mod tf_a;

/// A half-open physical address range `[base, base + size)`: the workspace's one physical
/// range type (`ffa_abi::PhysRange`), so the SPMC images, manifest-tool and the monitor use
/// these constants as they are.
pub use ffa_abi::PhysRange as Range;

/// Returns the first range of `reserved` that `r` overlaps, if any.
pub const fn first_overlap(r: &Range, reserved: &[Range]) -> Option<Range> {
    let mut i = 0;
    while i < reserved.len() {
        if r.overlaps(&reserved[i]) {
            return Some(reserved[i]);
        }
        i += 1;
    }
    None
}

/// Returns whether no range of `ranges` overlaps any of `reserved`.
pub const fn all_clear_of(ranges: &[Range], reserved: &[Range]) -> bool {
    let mut i = 0;
    while i < ranges.len() {
        if first_overlap(&ranges[i], reserved).is_some() {
            return false;
        }
        i += 1;
    }
    true
}

/// QEMU sbsa-ref under TF-A's qemu_sbsa port (or qemu/monitor, which puts everything where
/// that port does): the SPMC is BL32 at TF-A's `BL32_BASE`, EL3 keeps the bottom 32 KiB and the
/// top of secure RAM, and the SPMC, its SPs and free secure memory share what lies between.
pub mod qemu_sbsa {
    use super::{tf_a::qemu_sbsa as tfa, Range};

    /// Secure RAM of the machine (QEMU hw/arm/sbsa-ref.c `SBSA_SECURE_MEM`).
    pub const SECURE_RAM: Range = Range::from_to(tfa::SEC_SRAM_BASE, tfa::SEC_SRAM_LIMIT);
    /// The SPMC's region: image, .bss, stacks, heap. Starts where TF-A's BL2 loads BL32 and
    /// BL31 enters it; `link.ld` and the SPMC manifest's load_address/entrypoint/binary_size
    /// say the same (tests/agreement.rs).
    pub const SPMC: Range = Range::from_to(tfa::BL32_BASE, 0x2400_0000);
    /// Where manifest-tool places SP images, boot-information regions and `base-address`
    /// memory regions.
    pub const SP_POOL: Range = Range::from_to(0x2400_0000, 0x3000_0000);
    /// Secure RAM no partition owns, which the SPMC still maps (tests use it as memory nobody
    /// may share): up to the lowest address TF-A's EL3 images use.
    pub const FREE_SECURE: Range = Range::from_to(0x3000_0000, tfa::EL3_HIGH.base);
    /// Secure RAM EL3 keeps for itself (TF-A's shared RAM; BL2, BL31, TB_FW_CONFIG,
    /// TOS_FW_CONFIG, BL1 RW data): never mapped by the SPMC, never given to an SP.
    pub const EL3_RESERVED: &[Range] = &[tfa::SHARED_RAM, tfa::EL3_HIGH];
    /// Secure RAM outside the SPMC's image that the SPMC maps (its alias window): the SP pool
    /// and the free secure RAM.
    pub const SECURE_ALIAS: &[Range] =
        &[Range::from_to(SP_POOL.base, FREE_SECURE.end_saturating())];
    /// Non-secure DRAM the SPMC maps and the normal world may name (QEMU is run with
    /// `-m 2048` or less; the driver's DTB sits at the base).
    pub const NS_DRAM: Range = Range {
        base: tfa::NS_DRAM0_BASE,
        size: 0x8000_0000,
    };
    /// NS DRAM an SP's `base-address` memory region may name (the first 1 GiB).
    pub const NS_DRAM_FOR_SPS: Range = Range {
        base: tfa::NS_DRAM0_BASE,
        size: 0x4000_0000,
    };
    /// The SPMC's console: sbsa-ref's secure PL011 (TF-A `UART1_BASE`, its crash console).
    pub const SPMC_UART: Range = Range {
        base: tfa::UART1_BASE,
        size: 0x1000,
    };
    /// The other secure PL011 (TF-A `UART2_BASE`), which an SP may be given.
    pub const SP_UART: Range = Range {
        base: tfa::UART2_BASE,
        size: 0x1000,
    };
    /// sbsa-ref's secure embedded controller, which an SP may be given.
    pub const SECURE_EC: Range = Range {
        base: 0x5000_0000,
        size: 0x1000,
    };
    /// sbsa-ref's secure flash (QEMU pflash unit 0, `sbsa.flash0`): visible in the Secure
    /// address space only, CFI with the Intel command set, 32-bit bank of two x16 devices.
    /// The EL3 monitor's boot image sits at its base (qemu/monitor/src/flash_directory.rs).
    pub const SECURE_FLASH: Range = Range {
        base: 0,
        size: 0x1000_0000,
    };
    /// Erase sector of the secure flash (QEMU hw/arm/sbsa-ref.c `SBSA_FLASH_SECTOR_SIZE`).
    pub const SECURE_FLASH_SECTOR: u64 = 0x4_0000;
    /// The persistent-storage part of the secure flash: its last 2 MiB (8 sectors), a device
    /// region that the storage partition (its) may be given. The boot image stays below it
    /// and xtask never overwrites it when it rebuilds the image (docs/storage.md).
    pub const STORAGE_FLASH: Range = Range {
        base: 0x0FE0_0000,
        size: 0x20_0000,
    };
    /// sbsa-ref's SBSA generic watchdog: refresh frame, then control frame (QEMU
    /// hw/arm/sbsa-ref.c `SBSA_GWDT_REFRESH`, `SBSA_GWDT_CONTROL`), which an SP may be given
    /// with its WS0 interrupt.
    pub const WATCHDOG: Range = Range {
        base: 0x5001_0000,
        size: 0x2000,
    };
    /// The watchdog's WS0 interrupt: SPI 16 (sbsa-ref.c `sbsa_ref_irqmap[SBSA_GWDT_WS0]`).
    pub const WATCHDOG_WS0_INTID: u32 = 32 + 16;
    /// The secure physical timer's PPI (sbsa-ref.c `ARCH_TIMER_S_EL1_IRQ` = PPI 13): the
    /// SPMC's own timer.
    pub const SECURE_TIMER_INTID: u32 = 16 + 13;
    /// The non-secure timers' PPIs (EL2 physical 10, virtual 11, EL1 physical 14): the normal
    /// world's.
    pub const NS_TIMER_INTIDS: [u32; 3] = [16 + 10, 16 + 11, 16 + 14];
    /// One past the last SPI: sbsa-ref's GIC has `NUM_IRQS` = 256 SPIs (sbsa-ref.c).
    pub const INTID_END: u32 = 32 + 256;
    /// GICv3 distributor and redistributors (TF-A `GICD_BASE`, `GICR_BASE`; 8 cores x 128 KiB).
    pub const GICD: Range = Range {
        base: tfa::GICD_BASE,
        size: 0x1_0000,
    };
    pub const GICR: Range = Range {
        base: tfa::GICR_BASE,
        size: 0x10_0000,
    };
    /// The normal world's PL011 (TF-A `UART0_BASE`).
    pub const NS_UART: u64 = tfa::UART0_BASE;
    /// Where EL3 (qemu/monitor) keeps its data, stacks and per-core contexts: TF-A's BL31
    /// region, so the monitor uses no memory TF-A's BL31 would not.
    pub const MONITOR_RAM: Range = tfa::BL31;
    /// Where EL3 puts the SPMC manifest (TOS_FW_CONFIG) and passes it in x0.
    pub const SPMC_MANIFEST: Range = tfa::TOS_FW_CONFIG;
    /// Where the normal world's DTB is (TF-A `PLAT_QEMU_DT_BASE`: QEMU puts it at the base of
    /// NS DRAM) and where a normal-world payload is loaded (2 MiB into NS DRAM: Linux needs a
    /// 2 MiB-aligned base, and QEMU's DTB must stay below it).
    pub const NS_DTB: u64 = tfa::NS_DRAM0_BASE;
    pub const NS_PAYLOAD: u64 = tfa::NS_DRAM0_BASE + 0x20_0000;
}

/// Arm Base FVP under TF-A's FVP port (`PLAT=fvp SPD=spmd SPMD_SPM_AT_SEL2=0`).
pub mod fvp {
    use super::{tf_a::fvp as tfa, Range};

    /// The SPMC's region: TF-A's `PLAT_ARM_SPMC_BASE`/`PLAT_ARM_SPMC_SIZE` (BL32_BASE and the
    /// most TF-A's BL2 loads); `link.ld` and the manifest say the same.
    pub const SPMC: Range = Range {
        base: tfa::PLAT_ARM_SPMC_BASE,
        size: tfa::PLAT_ARM_SPMC_SIZE,
    };
    /// The SP pool: the rest of TF-A's trusted DRAM below HW_CONFIG.
    pub const SP_POOL: Range = Range::from_to(SPMC.base + SPMC.size, tfa::HW_CONFIG.base);
    /// Secure memory EL3 keeps: trusted SRAM (BL1 RW, BL2, BL31, FW_CONFIG, TB_FW_CONFIG,
    /// TOS_FW_CONFIG), HW_CONFIG in trusted DRAM, and DRAM1's TZC-secured top (EL3's TZC DRAM).
    pub const EL3_RESERVED: &[Range] = &[tfa::TRUSTED_SRAM, tfa::HW_CONFIG, tfa::TZC_DRAM1_SECURE];
    /// Secure memory the SPMC maps outside its image: the SP pool.
    pub const SECURE_ALIAS: &[Range] = &[SP_POOL];
    /// Non-secure DRAM as TF-A leaves it: DRAM1 below its TZC-secured top 16 MiB, and the
    /// first 2 GiB of DRAM2 (the FVP's default 4 GiB; Linux's fvp-base-revc.dts says the same).
    pub const NS_DRAM: &[Range] = &[
        Range::from_to(tfa::ARM_DRAM1_BASE, tfa::TZC_DRAM1_SECURE.base),
        Range {
            base: 0x8_8000_0000,
            size: 0x8000_0000,
        },
    ];
    /// UART1 of the motherboard (V2M_IOFPGA_UART1): TF-A's BL31 run-time console, the SPMC's.
    pub const SPMC_UART: Range = Range {
        base: 0x1c0a_0000,
        size: 0x1000,
    };
    /// UART2 (TF-A's TSP UART), which an SP may be given.
    pub const SP_UART: Range = Range {
        base: 0x1c0b_0000,
        size: 0x1_0000,
    };
    /// The secure timer control and CNTBase frames, which an SP may be given.
    pub const SECURE_TIMER: Range = Range::from_to(0x2a81_0000, 0x2a83_0000);
    /// The secure physical timer's PPI (TF-A fvp: `ARM_IRQ_SEC_PHY_TIMER` 29): the SPMC's own.
    pub const SECURE_TIMER_INTID: u32 = 29;
    /// The non-secure timers' PPIs (26 EL2 physical, 27 virtual, 30 EL1 physical).
    pub const NS_TIMER_INTIDS: [u32; 3] = [26, 27, 30];
    /// One past the last SPI the FVP's GIC-600 model implements by default (SPIs 32-1019; the
    /// model's `GICD_TYPER.ITLinesNumber` may be smaller: the SPMC's GIC driver refuses what
    /// the distributor lacks at boot).
    pub const INTID_END: u32 = 1020;
    /// GICv3 distributor (TF-A fvp_def.h `BASE_GICD_BASE`) and redistributors
    /// (`BASE_GICR_BASE`; 8 cores x 128 KiB).
    pub const GICD: Range = Range {
        base: 0x2f00_0000,
        size: 0x1_0000,
    };
    pub const GICR: Range = Range {
        base: 0x2f10_0000,
        size: 0x10_0000,
    };
}

// The layouts keep clear of EL3's memory, checked when this crate compiles.
const _: () = {
    use qemu_sbsa as q;
    assert!(all_clear_of(
        &[q::SPMC, q::SP_POOL, q::FREE_SECURE],
        q::EL3_RESERVED
    ));
    assert!(all_clear_of(q::SECURE_ALIAS, q::EL3_RESERVED));
    assert!(
        q::SECURE_RAM.contains_range(&q::SPMC) && q::SECURE_RAM.contains_range(&q::FREE_SECURE)
    );
    assert!(!q::SPMC.overlaps(&q::SP_POOL));
    assert!(q::SECURE_FLASH.contains_range(&q::STORAGE_FLASH));
    assert!(q::STORAGE_FLASH.base.is_multiple_of(q::SECURE_FLASH_SECTOR));
    assert!(q::STORAGE_FLASH.size.is_multiple_of(q::SECURE_FLASH_SECTOR));
    assert!(all_clear_of(&[fvp::SPMC, fvp::SP_POOL], fvp::EL3_RESERVED));
    assert!(all_clear_of(fvp::SECURE_ALIAS, fvp::EL3_RESERVED));
    assert!(all_clear_of(fvp::NS_DRAM, fvp::EL3_RESERVED));
};
