//! The SPMC image for QEMU sbsa-ref: the platform's addresses and the static partition table,
//! handed to the kernel at cold boot. The only crate of the SPMC that names an address.
#![no_std]
#![no_main]

use arm_pl011_uart::{PL011Registers, Uart};
use core::ptr::NonNull;
use safe_mmio::UniqueMmioPointer;
use spmc_kernel::boot::{self, ImageSymbols, PlatformBoot};
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
};

mod table {
    include!(concat!(env!("SPMC_TABLE_DIR"), "/partition_table.rs"));
}

unsafe extern "C" {
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_start: u8;
    static __rodata_end: u8;
    static __data_start: u8;
    static __heap_start: u8;
    static __spmc_end: u8;
}

fn addr(sym: &u8) -> u64 {
    sym as *const u8 as usize as u64
}

fn range(start: &u8, end: &u8) -> PhysRange {
    PhysRange {
        base: addr(start),
        size: addr(end) - addr(start),
    }
}

static UART: spin::Once<spin::Mutex<Uart<'static>>> = spin::Once::new();

/// Writes console text to the secure UART (CR before LF for terminals).
fn console_write(s: &str) {
    if let Some(u) = UART.get() {
        let mut u = u.lock();
        for b in s.bytes() {
            if b == b'\n' {
                while u.is_tx_fifo_full() {}
                u.write_word(b'\r');
            }
            while u.is_tx_fifo_full() {}
            u.write_word(b);
        }
    }
}

/// Cold boot entry, called by the kernel's `_start` with EL3's x0-x4.
#[unsafe(no_mangle)]
extern "C" fn spmc_cold_entry(x0: u64, _x1: u64, _x2: u64, _x3: u64, x4: u64) -> ! {
    UART.call_once(|| {
        // SAFETY: 0x6003_0000 is sbsa-ref's secure PL011, mapped by the kernel's tables as device
        // memory; this is the only pointer to it.
        let regs = unsafe {
            UniqueMmioPointer::new(NonNull::new_unchecked(SECURE_UART as *mut PL011Registers))
        };
        spin::Mutex::new(Uart::new(regs))
    });
    spmc_kernel::console::install(console_write);
    // SAFETY: the linker script defines these symbols; only their addresses are used.
    let image = unsafe {
        ImageSymbols {
            text: range(&__text_start, &__text_end),
            rodata: range(&__rodata_start, &__rodata_end),
            data: range(&__data_start, &__spmc_end),
            heap: range(&__heap_start, &__spmc_end),
        }
    };
    boot::cold_boot(&PLATFORM, &table::TABLE, image, x0, x4)
}

/// Warm boot entry of secondary cores.
#[unsafe(no_mangle)]
extern "C" fn spmc_warm_entry(core: u64) -> ! {
    boot::warm_boot(core)
}
