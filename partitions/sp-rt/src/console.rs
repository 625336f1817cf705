//! Logging through FFA_CONSOLE_LOG_64 (FF-A v1.2 "FFA_CONSOLE_LOG": w1 = character count,
//! the characters packed little-endian in x2..x17, at most 128 per call).
//!
//! The runtime sends one call per line, the line's `\n` included, splitting lines longer than
//! one call; the SPMC treats the characters as a stream and tags each line with the SP's name.
#![forbid(unsafe_code)]

use crate::conduit::{Conduit, Regs};
use crate::ffa::Ffa;
use ffa_abi::interface::ConsoleChars;
use ffa_abi::Interface;

/// Most characters one FFA_CONSOLE_LOG_64 call carries: 16 registers x2..x17 of 8 bytes.
pub const CONSOLE_LOG_64_MAX: usize = ConsoleChars::MAX_64;

/// Builds the FFA_CONSOLE_LOG_64 call for `chars` with ffa-abi's encoding (at most
/// [`CONSOLE_LOG_64_MAX`] bytes; any excess is dropped, so callers split first): byte `i` goes
/// to register `2 + i / 8`, bits `8 * (i % 8)`.
pub fn pack_console_log_64(chars: &[u8]) -> Regs {
    Interface::ConsoleLog(ConsoleChars::new(chars, true)).encode()
}

/// A `core::fmt::Write` sink that sends whole lines with FFA_CONSOLE_LOG_64. Errors from the
/// SPMC are ignored: logging must never be the reason a partition fails.
pub struct LineWriter<'a, C: Conduit> {
    ffa: &'a mut Ffa<C>,
    buf: [u8; CONSOLE_LOG_64_MAX],
    len: usize,
}

impl<'a, C: Conduit> LineWriter<'a, C> {
    /// Starts an empty line.
    pub fn new(ffa: &'a mut Ffa<C>) -> Self {
        Self {
            ffa,
            buf: [0; CONSOLE_LOG_64_MAX],
            len: 0,
        }
    }

    fn push(&mut self, b: u8) {
        if self.len == self.buf.len() {
            self.flush();
        }
        self.buf[self.len] = b;
        self.len += 1;
        if b == b'\n' {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.len > 0 {
            let _ = self.ffa.console_log(&self.buf[..self.len]);
            self.len = 0;
        }
    }

    /// Ends the current line with `\n` if it has characters, and sends it.
    pub fn finish_line(&mut self) {
        if self.len > 0 {
            self.push(b'\n');
        }
    }
}

impl<C: Conduit> core::fmt::Write for LineWriter<'_, C> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for b in s.bytes() {
            self.push(b);
        }
        Ok(())
    }
}

/// Prints a formatted line through FFA_CONSOLE_LOG_64, like `println!`.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {{
        let mut ffa = $crate::ffa::Ffa::new($crate::conduit::Svc);
        let mut w = $crate::console::LineWriter::new(&mut ffa);
        let _ = core::fmt::Write::write_fmt(&mut w, format_args!($($arg)*));
        w.finish_line();
    }};
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conduit::RegsExt;
    use crate::testing::FakeSpmc;
    use core::fmt::Write;

    fn unpack(r: &Regs) -> Vec<u8> {
        let n = r.x(1) as usize;
        (0..n)
            .map(|i| (r.x(2 + i / 8) >> (8 * (i % 8))) as u8)
            .collect()
    }

    #[test]
    fn packs_little_endian_from_x2() {
        let r = pack_console_log_64(b"ABCDEFGHI");
        assert_eq!(r.fid(), 0xC400_008A);
        assert_eq!(r.x(1), 9);
        assert_eq!(r.x(2), u64::from_le_bytes(*b"ABCDEFGH"));
        assert_eq!(r.x(3), u64::from(b'I'));
        assert_eq!(r.x(4), 0);
    }

    #[test]
    fn full_call_uses_x17_and_excess_is_dropped() {
        let s = [b'z'; 130];
        let r = pack_console_log_64(&s);
        assert_eq!(r.x(1), 128);
        assert_eq!(r.x(17), u64::from_le_bytes([b'z'; 8]));
    }

    #[test]
    fn writer_sends_one_call_per_line_and_splits_long_lines() {
        let mut ffa = Ffa::new(FakeSpmc::default());
        let mut w = LineWriter::new(&mut ffa);
        write!(w, "hello {}\nsecond", 42).unwrap();
        w.finish_line();
        let long = "x".repeat(200);
        w.write_str(&long).unwrap();
        w.finish_line();
        let calls = ffa.conduit().calls.clone();
        let lines: Vec<Vec<u8>> = calls.iter().map(unpack).collect();
        assert_eq!(lines[0], b"hello 42\n");
        assert_eq!(lines[1], b"second\n");
        assert_eq!(lines[2].len(), 128);
        let mut rest = b"x".repeat(72);
        rest.push(b'\n');
        assert_eq!(lines[3], rest);
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn empty_line_sends_nothing() {
        let mut ffa = Ffa::new(FakeSpmc::default());
        LineWriter::new(&mut ffa).finish_line();
        assert!(ffa.conduit().calls.is_empty());
    }
}
