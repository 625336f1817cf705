//! Bounds-checked little-endian field access for descriptor parsers and builders.
//!
//! Every descriptor byte goes through these helpers so that a wrong offset is a
//! `None`/error and never an out-of-bounds panic.

/// Reads `N` bytes at `off`, or `None` if the range leaves `buf` (or overflows).
fn bytes<const N: usize>(buf: &[u8], off: usize) -> Option<[u8; N]> {
    let end = off.checked_add(N)?;
    let slice = buf.get(off..end)?;
    let mut out = [0u8; N];
    out.copy_from_slice(slice);
    Some(out)
}

pub(crate) fn u8_at(buf: &[u8], off: usize) -> Option<u8> {
    buf.get(off).copied()
}

pub(crate) fn u16_at(buf: &[u8], off: usize) -> Option<u16> {
    bytes::<2>(buf, off).map(u16::from_le_bytes)
}

pub(crate) fn u32_at(buf: &[u8], off: usize) -> Option<u32> {
    bytes::<4>(buf, off).map(u32::from_le_bytes)
}

pub(crate) fn u64_at(buf: &[u8], off: usize) -> Option<u64> {
    bytes::<8>(buf, off).map(u64::from_le_bytes)
}

pub(crate) fn array_at<const N: usize>(buf: &[u8], off: usize) -> Option<[u8; N]> {
    bytes::<N>(buf, off)
}

/// A little-endian writer over a fixed-size scratch record. Builders assemble each
/// record (at most 48 bytes) here and then copy the part that falls into the
/// caller's window, which is what makes fragment-resumable writing simple.
pub(crate) struct Record<const N: usize> {
    pub(crate) bytes: [u8; N],
}

impl<const N: usize> Record<N> {
    pub(crate) const fn new() -> Self {
        Self { bytes: [0; N] }
    }

    pub(crate) fn put_u8(&mut self, off: usize, v: u8) {
        self.bytes[off] = v;
    }

    pub(crate) fn put_u16(&mut self, off: usize, v: u16) {
        self.bytes[off..off + 2].copy_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn put_u32(&mut self, off: usize, v: u32) {
        self.bytes[off..off + 4].copy_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn put_u64(&mut self, off: usize, v: u64) {
        self.bytes[off..off + 8].copy_from_slice(&v.to_le_bytes());
    }
}

/// Copies the part of `record` (which sits at absolute offset `rec_off` in the
/// serialized stream) that overlaps the window `[win_off, win_off + out.len())`.
pub(crate) fn copy_window(record: &[u8], rec_off: usize, win_off: usize, out: &mut [u8]) {
    let rec_end = rec_off.saturating_add(record.len());
    let win_end = win_off.saturating_add(out.len());
    let start = rec_off.max(win_off);
    let end = rec_end.min(win_end);
    if start >= end {
        return;
    }
    out[start - win_off..end - win_off].copy_from_slice(&record[start - rec_off..end - rec_off]);
}
