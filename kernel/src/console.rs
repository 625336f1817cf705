//! The SPMC console: a `core::fmt::Write` sink the platform installs at boot, the `info!`/`warn!`
//! macros, and the last-resort fault report. Logging is off the message path.

#![forbid(unsafe_code)]

use crate::sync::CoreLock;
use core::fmt::Write;

/// The platform's output routine (the secure UART).
type Sink = fn(&str);

struct Writer(Sink);

impl Write for Writer {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        (self.0)(s);
        Ok(())
    }
}

/// A core retired while it held this lock (a panic in the middle of a line) leaves it
/// poisoned: the other cores then drop their lines instead of waiting for ever.
static CONSOLE: CoreLock<Option<Writer>> = CoreLock::new(None);

/// Installs the console sink (the platform's secure UART).
pub fn install(sink: Sink) {
    if let Ok(mut c) = CONSOLE.lock(crate::arch::current_core()) {
        *c = Some(Writer(sink));
    }
}

/// Writes one formatted line with the "[SPMC] " prefix.
pub fn print_line(args: core::fmt::Arguments) {
    let Ok(mut c) = CONSOLE.lock(crate::arch::current_core()) else {
        return;
    };
    if let Some(sink) = c.as_mut() {
        let _ = sink.write_str("[SPMC] ");
        let _ = sink.write_fmt(args);
        let _ = sink.write_str("\n");
    }
}

/// Writes one line an SP logged (FFA_CONSOLE_LOG), tagged with its name and ID instead of the
/// SPMC's prefix: `[SP counter 0x8007] ready`.
pub fn print_sp_line(name: &str, id: ffa_abi::EndpointId, line: &str) {
    let Ok(mut c) = CONSOLE.lock(crate::arch::current_core()) else {
        return;
    };
    if let Some(sink) = c.as_mut() {
        let _ = writeln!(sink, "[SP {name} {id:#06x}] {line}");
    }
}

/// Logs a line on the SPMC console.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::console::print_line(format_args!($($arg)*)) };
}

/// Writes one line like [`print_line`] but never waits for the console lock (for panics: the
/// code that panicked may hold it).
pub fn emergency_line(args: core::fmt::Arguments) {
    if let Some(mut guard) = CONSOLE.try_lock(crate::arch::current_core()) {
        if let Some(sink) = guard.as_mut() {
            let _ = sink.write_str("[SPMC] ");
            let _ = sink.write_fmt(args);
            let _ = sink.write_str("\n");
        }
    }
}

/// Reports an exception taken by the SPMC itself. Must not block: the console lock may be held
/// by the code that faulted.
pub fn emergency_fault(kind: u64, esr: u64, elr: u64, far: u64) {
    if let Some(mut guard) = CONSOLE.try_lock(crate::arch::current_core()) {
        if let Some(sink) = guard.as_mut() {
            let _ = writeln!(
                sink,
                "[SPMC] PANIC: exception {kind} at S-EL1: ESR {esr:#x} ({}), ELR {elr:#x}, FAR {far:#x}",
                crate::arch::esr::describe(esr)
            );
        }
    }
}
