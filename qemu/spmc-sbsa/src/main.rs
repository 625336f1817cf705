//! The SPMC image for QEMU sbsa-ref: the platform's addresses and the static partition table,
//! handed to the kernel at cold boot. The only crate of the SPMC that names an address.
#![no_std]
#![no_main]

use spmc_kernel::boot::PlatformBoot;
use spmc_kernel::memory::PhysRange;

/// Secure PL011 (the second UART of sbsa-ref).
const SECURE_UART: usize = 0x6003_0000;
const GICD: PhysRange = PhysRange {
    base: 0x4006_0000,
    size: 0x1_0000,
};
const GICR: PhysRange = PhysRange {
    base: 0x4008_0000,
    size: 0x10_0000,
};
/// Secure RAM not occupied by EL3 or the SPMC: the SP pool and free secure memory.
const SECURE_ALIAS: &[PhysRange] = &[PhysRange {
    base: 0x2400_0000,
    size: 0x1C00_0000,
}];
/// Non-secure DRAM (QEMU is run with 2 GiB).
const NS_DRAM: &[PhysRange] = &[PhysRange {
    base: 0x100_0000_0000,
    size: 0x8000_0000,
}];

static PLATFORM: PlatformBoot = PlatformBoot {
    name: "qemu-sbsa",
    devices: &[
        PhysRange {
            base: SECURE_UART as u64,
            size: 0x1000,
        },
        GICD,
        GICR,
    ],
    secure_alias: SECURE_ALIAS,
    ns_alias: NS_DRAM,
    cores: 8,
    // The engine's full capacity: 16 live transactions, 8 receivers, 256 constituents.
    memory_limits: spmc_kernel::spmc::memory::DEFAULT_LIMITS,
    // qemu/monitor passes x0-x17; TF-A's SPMD passes x0-x7 to an S-EL1 SPMC (feature `tf-a`,
    // used by `cargo xtask bl32`).
    el3_forwards_x8_x17: !cfg!(feature = "tf-a"),
};

mod table {
    include!(concat!(env!("SPMC_TABLE_DIR"), "/partition_table.rs"));
}

/// Makes the secure UART the SPMC's console.
fn console() {
    // SAFETY: 0x6003_0000 is sbsa-ref's secure PL011, mapped by the kernel's tables as device
    // memory (it is in PLATFORM.devices); nothing else in the SPMC uses it.
    unsafe { spmc_kernel::platform::install_pl011_console(SECURE_UART) }
}

spmc_kernel::platform_entry!(PLATFORM, table::TABLE, console);
