//! The SPMC image for QEMU sbsa-ref: the platform's addresses and the static partition table,
//! handed to the kernel at cold boot. The only crate of the SPMC that names an address.
#![no_std]
#![no_main]

use platform_facts::qemu_sbsa as facts;
use spmc_kernel::boot::{GicBases, PlatformBoot};
use spmc_kernel::memory::PhysRange;
use spmc_kernel::spmc::El3Registers;

/// Secure PL011 (the second UART of sbsa-ref).
const SECURE_UART: usize = facts::SPMC_UART.base as usize;
const NS_DRAM: &[PhysRange] = &[facts::NS_DRAM];

static PLATFORM: PlatformBoot = PlatformBoot {
    name: "qemu-sbsa",
    devices: &[facts::SPMC_UART, facts::GICD, facts::GICR],
    secure_alias: facts::SECURE_ALIAS,
    ns_alias: NS_DRAM,
    el3_reserved: facts::EL3_RESERVED,
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
    // TF-A v2.14+'s rule, which qemu/monitor follows too; feature `tf-a-pre-2-14` for an
    // older TF-A, whose SPMD passes x0-x7 only.
    el3_registers: if cfg!(feature = "tf-a-pre-2-14") {
        El3Registers::X0ToX7
    } else {
        El3Registers::TfA2_14
    },
};

mod table {
    include!(concat!(env!("SPMC_TABLE_DIR"), "/partition_table.rs"));
}

/// Makes the secure UART the SPMC's console.
fn console() {
    // SAFETY: SECURE_UART (0x6003_0000) is sbsa-ref's secure PL011, mapped by the kernel's tables as device
    // memory (it is in PLATFORM.devices); nothing else in the SPMC uses it.
    unsafe { spmc_kernel::platform::install_pl011_console(SECURE_UART) }
}

// Released TF-A (v2.12-v2.15) enters BL32 0x6000 below where master does; _start moves the
// image up to its link address from there.
spmc_kernel::platform_entry!(
    PLATFORM,
    table::TABLE,
    console,
    SECURE_UART,
    platform_facts::tf_a::qemu_sbsa::RELEASED_BL32_BASE,
);
