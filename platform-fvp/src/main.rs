//! The SPMC image for Arm Base FVP, loaded by TF-A as BL32 (SPD=spmd, SPMD_SPM_AT_SEL2=0): the
//! platform's addresses and the static partition table, handed to the kernel at cold boot. The
//! only crate of the FVP SPMC that names an address; where each address comes from:
//! docs/integrator-guide.md, section "Base FVP".
#![no_std]
#![no_main]

use platform_facts::fvp as facts;
use spmc_kernel::boot::{GicBases, PlatformBoot};
use spmc_kernel::spmc::El3Registers;

/// UART1 of the FVP's motherboard (V2M_IOFPGA_UART1, PL011): the console OP-TEE uses on FVP
/// and TF-A's BL31 run-time console; TF-A has initialised it (115200 baud) before BL32 runs.
const CONSOLE_UART: usize = facts::SPMC_UART.base as usize;

static PLATFORM: PlatformBoot = PlatformBoot {
    name: "fvp",
    devices: &[facts::SPMC_UART, facts::GICD, facts::GICR],
    secure_alias: facts::SECURE_ALIAS,
    ns_alias: facts::NS_DRAM,
    el3_reserved: facts::EL3_RESERVED,
    // TF-A's FVP PLATFORM_CORE_COUNT with the default FVP_CLUSTER_COUNT=2,
    // FVP_MAX_CPUS_PER_CLUSTER=4, FVP_MAX_PE_PER_CPU=1: x4 (plat_my_core_pos) is 0..7.
    cores: 8,
    // The engine's full capacity: 16 live transactions, 8 receivers, 256 constituents.
    memory_limits: spmc_kernel::spmc::memory::DEFAULT_LIMITS,
    // Generous: they exist so that a partition stuck in a loop cannot hold a core for ever,
    // not to bound ordinary work; an SP set description may set tighter ones per SP.
    time_limits: spmc_kernel::spmc::time_limit::Defaults {
        boot_ms: 10_000,
        request_ms: 10_000,
    },
    gic: Some(GicBases {
        gicd: facts::GICD.base,
        gicr: facts::GICR.base,
    }),
    // TF-A v2.14+'s rule (spmd_smc_switch_state); feature `tf-a-pre-2-14` for an older TF-A.
    el3_registers: if cfg!(feature = "tf-a-pre-2-14") {
        El3Registers::X0ToX7
    } else {
        El3Registers::TfA2_14
    },
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

spmc_kernel::platform_entry!(PLATFORM, table::TABLE, console, CONSOLE_UART);
