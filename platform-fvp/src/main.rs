//! The SPMC image for Arm Base FVP, loaded by TF-A as BL32 (SPD=spmd, SPMD_SPM_AT_SEL2=0): the
//! platform's addresses and the static partition table, handed to the kernel at cold boot. The
//! only crate of the FVP SPMC that names an address; where each address comes from:
//! docs/integrator-guide.md, section "Base FVP".
#![no_std]
#![no_main]

use spmc_kernel::boot::PlatformBoot;
use spmc_kernel::memory::PhysRange;

/// UART1 of the FVP's motherboard (V2M_IOFPGA_UART1, PL011): the console OP-TEE uses on FVP
/// and TF-A's BL31 run-time console; TF-A has initialised it (115200 baud) before BL32 runs.
const CONSOLE_UART: usize = 0x1c0a_0000;
/// GICv3 distributor (TF-A fvp_def.h BASE_GICD_BASE).
const GICD: PhysRange = PhysRange {
    base: 0x2f00_0000,
    size: 0x1_0000,
};
/// GICv3 redistributors (BASE_GICR_BASE): 8 cores x 128 KiB.
const GICR: PhysRange = PhysRange {
    base: 0x2f10_0000,
    size: 0x10_0000,
};
/// The SP pool inside TF-A's trusted DRAM: above the SPMC's 16 MiB, below HW_CONFIG
/// (0x07F0_0000). Must equal manifest-tool's `Platform::fvp().sp_pool`.
const SECURE_ALIAS: &[PhysRange] = &[PhysRange {
    base: 0x0700_0000,
    size: 0x00F0_0000,
}];
/// Non-secure DRAM as TF-A leaves it: DRAM1 0x8000_0000..0xFF00_0000 (its top 16 MiB,
/// 0xFF00_0000.., is TZC-secured for EL3) and the first 2 GiB of DRAM2 at 0x8_8000_0000 (the
/// FVP's default 4 GiB of DRAM; Linux's fvp-base-revc.dts memory node says the same).
const NS_DRAM: &[PhysRange] = &[
    PhysRange {
        base: 0x8000_0000,
        size: 0x7f00_0000,
    },
    PhysRange {
        base: 0x8_8000_0000,
        size: 0x8000_0000,
    },
];

static PLATFORM: PlatformBoot = PlatformBoot {
    name: "fvp",
    devices: &[
        PhysRange {
            base: CONSOLE_UART as u64,
            size: 0x1000,
        },
        GICD,
        GICR,
    ],
    secure_alias: SECURE_ALIAS,
    ns_alias: NS_DRAM,
    // TF-A's FVP PLATFORM_CORE_COUNT with the default FVP_CLUSTER_COUNT=2,
    // FVP_MAX_CPUS_PER_CLUSTER=4, FVP_MAX_PE_PER_CPU=1: x4 (plat_my_core_pos) is 0..7.
    cores: 8,
    // The engine's full capacity: 16 live transactions, 8 receivers, 256 constituents.
    memory_limits: spmc_kernel::spmc::memory::DEFAULT_LIMITS,
    // TF-A's SPMD passes x0-x7 only to an S-EL1 SPMC (`SMC_RET8` in spmd_smc_switch_state).
    el3_forwards_x8_x17: false,
};

mod table {
    include!(concat!(env!("SPMC_TABLE_DIR"), "/partition_table.rs"));
}

/// Makes UART1 the SPMC's console.
fn console() {
    // SAFETY: 0x1c0a_0000 is the FVP's UART1 PL011 register block, mapped by the kernel's
    // tables as device memory (it is in PLATFORM.devices); nothing else in the SPMC uses it.
    unsafe { spmc_kernel::platform::install_pl011_console(CONSOLE_UART) }
}

spmc_kernel::platform_entry!(PLATFORM, table::TABLE, console);
