//! Little-endian field access at fixed offsets, the building block of every packed-c struct.

/// Reads the little-endian u32 at `off`, if the slice is long enough.
pub fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Reads the little-endian u64 at `off`, if the slice is long enough.
pub fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    let s = b.get(off..off.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

/// Writes `v` little-endian at `off`; false (nothing written) if it does not fit.
pub fn put_u32(b: &mut [u8], off: usize, v: u32) -> bool {
    match off.checked_add(4).and_then(|end| b.get_mut(off..end)) {
        Some(s) => {
            s.copy_from_slice(&v.to_le_bytes());
            true
        }
        None => false,
    }
}

/// Writes `v` little-endian at `off`; false (nothing written) if it does not fit.
pub fn put_u64(b: &mut [u8], off: usize, v: u64) -> bool {
    match off.checked_add(8).and_then(|end| b.get_mut(off..end)) {
        Some(s) => {
            s.copy_from_slice(&v.to_le_bytes());
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_little_endian_and_bounds_checked() {
        let mut b = [0u8; 12];
        assert!(put_u64(&mut b, 0, 0x0807_0605_0403_0201));
        assert!(put_u32(&mut b, 8, 0x0C0B_0A09));
        assert_eq!(b, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        assert_eq!(u64_at(&b, 0), Some(0x0807_0605_0403_0201));
        assert_eq!(u32_at(&b, 8), Some(0x0C0B_0A09));
        assert_eq!(u32_at(&b, 9), None);
        assert_eq!(u64_at(&b, usize::MAX - 2), None);
        assert!(!put_u32(&mut b, 10, 0));
        assert!(!put_u64(&mut b, usize::MAX, 0));
        assert_eq!(b[10..], [11, 12]);
    }
}
