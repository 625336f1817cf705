//! Output on the non-secure PL011 (0x6000_0000): "[NS] " lines and the bare summary line.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, Ordering};

const UART_DR: *mut u32 = 0x6000_0000 as *mut u32;
const UART_FR: *const u32 = 0x6000_0018 as *const u32;
const FR_TXFF: u32 = 1 << 5;

static LOCK: AtomicBool = AtomicBool::new(false);

struct Uart;

impl Write for Uart {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            for byte in if b == b'\n' { [b'\r', b'\n'] } else { [b, 0] } {
                if byte == 0 {
                    continue;
                }
                // SAFETY: the sbsa-ref non-secure PL011 FR/DR registers, written only under LOCK.
                unsafe {
                    while UART_FR.read_volatile() & FR_TXFF != 0 {}
                    UART_DR.write_volatile(u32::from(byte));
                }
            }
        }
        Ok(())
    }
}

fn locked(prefix: &str, args: fmt::Arguments) {
    while LOCK
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        core::hint::spin_loop();
    }
    let _ = Uart.write_str(prefix);
    let _ = Uart.write_fmt(args);
    let _ = Uart.write_str("\n");
    LOCK.store(false, Ordering::Release);
}

/// Prints one "[NS] " line.
pub fn line(args: fmt::Arguments) {
    locked("[NS] ", args);
}

/// Prints one line without prefix (the final summary the CI reads).
pub fn bare_line(args: fmt::Arguments) {
    locked("", args);
}

/// Prints one "[NS] " line.
macro_rules! log {
    ($($arg:tt)*) => { $crate::console::line(format_args!($($arg)*)) };
}
pub(crate) use log;
