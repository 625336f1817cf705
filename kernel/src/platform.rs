//! What every SPMC image's platform crate (platform-fvp, qemu/spmc-sbsa) shares: the PL011
//! console, the image layout from the linker script, and the `spmc_cold_entry` /
//! `spmc_warm_entry` symbols the kernel's `_start` calls. A platform crate keeps only what is
//! its own: its addresses ([`PlatformBoot`]), its partition table and its `link.ld`:
//!
//! ```ignore
//! static PLATFORM: PlatformBoot = PlatformBoot { name: "qemu-sbsa", /* addresses */ };
//! mod table { include!(concat!(env!("SPMC_TABLE_DIR"), "/partition_table.rs")); }
//! fn console() {
//!     // SAFETY: <why this address is the platform's PL011, mapped, and not used elsewhere>
//!     unsafe { spmc_kernel::platform::install_pl011_console(SECURE_UART) }
//! }
//! spmc_kernel::platform_entry!(PLATFORM, table::TABLE, console, SECURE_UART);
//! ```
//!
//! The link script must define `__text_start`, `__text_end`, `__rodata_start`,
//! `__rodata_end`, `__data_start`, `__stacks_start`, `__stacks_end`, `__heap_start` and
//! `__spmc_end`. The shared build script is kernel/platform_build.rs.

use crate::arch::aarch64;
use crate::boot::{self, ImageSymbols, PlatformBoot};
use crate::memory::PhysRange;
use arm_pl011_uart::{PL011Registers, Uart, UniqueMmioPointer};
use core::ptr::NonNull;
use spmc_table::Table;

static UART: spin::Once<spin::Mutex<Uart<'static>>> = spin::Once::new();

/// Makes the PL011 at `base` the SPMC's console (`crate::console`); the first call wins, so
/// a core that comes through cold entry again cannot create a second pointer to the UART.
/// The UART is used as the firmware before the SPMC left it (TF-A initialises it on FVP, QEMU
/// needs no setup): only its data and flag registers are touched.
///
/// # Safety
///
/// `base` must be the address of a PL011 register block that the kernel's tables map as
/// device memory at the same address (it is in [`PlatformBoot::devices`]; before the MMU is
/// on, addresses are physical), and no other code may access that block.
pub unsafe fn install_pl011_console(base: usize) {
    // A null `base` is no PL011: it gives no console rather than a null pointer.
    let Some(regs) = NonNull::new(core::ptr::with_exposed_provenance_mut::<PL011Registers>(
        base,
    )) else {
        return;
    };
    UART.call_once(|| {
        // SAFETY: the caller guarantees `regs` is a mapped PL011 register block that nothing
        // else accesses; `call_once` makes this the only pointer to it we create.
        let regs = unsafe { UniqueMmioPointer::new(regs) };
        spin::Mutex::new(Uart::new(regs))
    });
    crate::console::install(console_write);
}

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

// Defined by the platform's link.ld; only their addresses are used, never their contents.
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

fn range(start: *const u8, end: *const u8) -> PhysRange {
    // The image runs identity mapped, so a symbol's address is its physical address.
    let addr = |p: *const u8| u64::try_from(p.addr()).unwrap_or(u64::MAX);
    PhysRange {
        base: addr(start),
        size: addr(end).saturating_sub(addr(start)),
    }
}

/// Reads the image layout from the link script's symbols, after checking that the script
/// reserves the stacks the kernel's entry code uses.
pub fn image_symbols() -> ImageSymbols {
    let stacks = range(&raw const __stacks_start, &raw const __stacks_end);
    // The kernel's entry code places core n's stack at __stacks_start + (n + 1) * STACK_SIZE;
    // a link script reserving less would let a stack run into the heap.
    let needed = aarch64::STACK_SIZE * aarch64::MAX_CORES;
    if usize::try_from(stacks.size).map_or(true, |s| s < needed) {
        panic!(
            "link.ld reserves {:#x} bytes of stacks, the kernel needs {needed:#x}",
            stacks.size
        );
    }
    ImageSymbols {
        text: range(&raw const __text_start, &raw const __text_end),
        rodata: range(&raw const __rodata_start, &raw const __rodata_end),
        data: range(&raw const __data_start, &raw const __spmc_end),
        heap: range(&raw const __heap_start, &raw const __spmc_end),
        stacks,
    }
}

/// Cold boot of the primary core after the platform installed its console: the image layout,
/// then [`boot::cold_boot`] with the SPMD's x0 (TOS_FW_CONFIG, the SPMC manifest) and x4 (the
/// core's linear ID).
pub fn cold_entry(
    platform: &'static PlatformBoot,
    table: &'static Table,
    manifest_pa: u64,
    core: u64,
) -> ! {
    boot::cold_boot(platform, table, image_symbols(), manifest_pa, core)
}

/// Defines the platform crate's `spmc_cold_entry` and `spmc_warm_entry`, the symbols the
/// kernel's `_start` and secondary entry call: `platform_entry!(PLATFORM, TABLE, console, UART)`
/// with a `static PLATFORM: PlatformBoot`, the generated `static TABLE: Table`, a
/// `fn console()` that installs the console (see the module documentation) and the console's
/// PL011 address, which `_start` uses to report an image entered away from its link address.
#[macro_export]
macro_rules! platform_entry {
    ($platform:path, $table:path, $console:path, $uart:path $(,)?) => {
        $crate::platform_entry!($platform, $table, $console, $uart, 0);
    };
    ($platform:path, $table:path, $console:path, $uart:path, $alt_entry:expr $(,)?) => {
        /// The console's PL011, for the entry code's message when the image runs away from its
        /// link address (read PC-relative before anything else runs).
        #[unsafe(no_mangle)]
        static SPMC_EARLY_UART: u64 = $uart as u64;

        /// A second address EL3 may enter the image at (0: none): `_start` moves the image from
        /// there to its link address before anything else runs (read PC-relative).
        #[unsafe(no_mangle)]
        static SPMC_ALT_ENTRY: u64 = $alt_entry as u64;

        /// Cold boot entry, called by the kernel's `_start` with the SPMD's x0-x4 (x0 =
        /// TOS_FW_CONFIG, the SPMC manifest; x4 = core linear ID).
        #[unsafe(no_mangle)]
        extern "C" fn spmc_cold_entry(x0: u64, _x1: u64, _x2: u64, _x3: u64, x4: u64) -> ! {
            $console();
            $crate::platform::cold_entry(&$platform, &$table, x0, x4)
        }

        /// Warm boot entry of secondary cores (FFA_SECONDARY_EP_REGISTER target).
        #[unsafe(no_mangle)]
        extern "C" fn spmc_warm_entry(core: u64) -> ! {
            $crate::boot::warm_boot(core)
        }
    };
}
