//! Boot-log output of the monitor on the non-secure PL011 (0x6000_0000), shared by all cores.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, Ordering};

const UART_BASE: usize = 0x6000_0000;
const UARTDR: usize = 0x000;
const UARTFR: usize = 0x018;
const UARTCR: usize = 0x030;
const FR_TXFF: u32 = 1 << 5;

static LOCK: AtomicBool = AtomicBool::new(false);

struct Uart;

impl Uart {
    fn reg(offset: usize) -> *mut u32 {
        (UART_BASE + offset) as *mut u32
    }

    fn put(&mut self, byte: u8) {
        // SAFETY: 0x6000_0000 is the sbsa-ref PL011 in both address spaces; its FR and DR
        // registers are 32-bit MMIO words that only the console writes through this lock.
        unsafe {
            while Self::reg(UARTFR).read_volatile() & FR_TXFF != 0 {}
            Self::reg(UARTDR).write_volatile(u32::from(byte));
        }
    }
}

impl Write for Uart {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                self.put(b'\r');
            }
            self.put(b);
        }
        Ok(())
    }
}

/// Enables the UART transmitter (QEMU works without it, real PL011s do not).
pub fn init() {
    // SAFETY: UARTCR of the PL011 above; UARTEN | TXE | RXE.
    unsafe { Uart::reg(UARTCR).write_volatile(0x301) };
}

/// Prints one "[EL3] " line, whole, even when several cores log at once.
pub fn log_line(args: fmt::Arguments) {
    while LOCK
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        core::hint::spin_loop();
    }
    let _ = Uart.write_str("[EL3] ");
    let _ = Uart.write_fmt(args);
    let _ = Uart.write_str("\n");
    LOCK.store(false, Ordering::Release);
}

/// Prints one "[EL3] " line.
macro_rules! log {
    ($($arg:tt)*) => { $crate::console::log_line(format_args!($($arg)*)) };
}
pub(crate) use log;
