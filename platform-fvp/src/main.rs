//! The SPMC image for Arm Base FVP, loaded by TF-A as BL32 (SPD=spmd, SPMD_SPM_AT_SEL2=0): the
//! platform's addresses and the static partition table, handed to the kernel at cold boot. The
//! only crate of the FVP SPMC that names an address; where each address comes from:
//! docs/integrator-guide.md, section "Base FVP".
#![no_std]
#![no_main]

use arm_pl011_uart::{PL011Registers, Uart};
use core::ptr::NonNull;
use safe_mmio::UniqueMmioPointer;
use spmc_kernel::arch::aarch64;
use spmc_kernel::boot::{self, ImageSymbols, PlatformBoot};
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
    static __stacks_start: u8;
    static __stacks_end: u8;
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

/// Writes console text to the UART (CR before LF for terminals).
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

/// Cold boot entry, called by the kernel's `_start` with the SPMD's x0-x4 (x0 = TOS_FW_CONFIG,
/// the SPMC manifest; x4 = core linear ID).
#[unsafe(no_mangle)]
extern "C" fn spmc_cold_entry(x0: u64, _x1: u64, _x2: u64, _x3: u64, x4: u64) -> ! {
    UART.call_once(|| {
        // SAFETY: 0x1c0a_0000 is the FVP's UART1 PL011 register block, mapped by the kernel's
        // tables as device memory (it is in PLATFORM.devices); this is the SPMC's only pointer
        // to it.
        let regs = unsafe {
            UniqueMmioPointer::new(NonNull::new_unchecked(CONSOLE_UART as *mut PL011Registers))
        };
        spin::Mutex::new(Uart::new(regs))
    });
    spmc_kernel::console::install(console_write);
    // SAFETY: the linker script defines these symbols; only their addresses are used.
    let stacks = unsafe { range(&__stacks_start, &__stacks_end) };
    // The kernel's entry code places core n's stack at __stacks_start + (n + 1) * STACK_SIZE;
    // a link script reserving less would let a stack run into the heap.
    let needed = aarch64::STACK_SIZE * aarch64::MAX_CORES;
    if usize::try_from(stacks.size).map_or(true, |s| s < needed) {
        panic!(
            "link.ld reserves {:#x} bytes of stacks, the kernel needs {needed:#x}",
            stacks.size
        );
    }
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

/// Warm boot entry of secondary cores (FFA_SECONDARY_EP_REGISTER target).
#[unsafe(no_mangle)]
extern "C" fn spmc_warm_entry(core: u64) -> ! {
    boot::warm_boot(core)
}
