//! Non-secure DRAM outside the driver image, by physical address (the EL2 MMU is off, so PA =
//! VA): the normal world's FF-A RX/TX buffers and the pages the memory-sharing cases hand to
//! SPs. The only raw memory access of the driver besides `arch::probe_read`.
//!
//! QEMU sbsa-ref runs with 2 GiB from 0x100_0000_0000 (docs/boot.md, Addresses); the driver
//! image and its stacks take 16 MiB at 0x100_0010_0000, so everything here lies at
//! 0x100_3F00_0000 and above, inside that DRAM and clear of the image.

/// The normal world's TX buffer (one page), mapped with FFA_RXTX_MAP by `ffa::mailbox`.
pub const NW_TX: u64 = 0x100_3F00_0000;
/// The normal world's RX buffer (one page).
pub const NW_RX: u64 = 0x100_3F00_1000;
/// Size of each buffer.
pub const BUFFER_SIZE: usize = 0x1000;
/// Start of the pages the memory cases share, lend and donate (up to 0x100_4800_0000).
pub const SHARE_POOL: u64 = 0x100_4000_0000;
/// End of that pool.
pub const SHARE_POOL_END: u64 = 0x100_4800_0000;

/// Checks that `[pa, pa + len)` is one of the ranges above and `pa` is 4-byte aligned (the
/// MMU is off: all data accesses are Device-nGnRnE, which faults on misalignment).
fn allowed(pa: u64, len: usize) -> bool {
    let Some(end) = u64::try_from(len).ok().and_then(|l| pa.checked_add(l)) else {
        return false;
    };
    let inside = |lo: u64, hi: u64| pa >= lo && end <= hi;
    pa.is_multiple_of(4)
        && (inside(NW_TX, NW_RX + BUFFER_SIZE as u64) || inside(SHARE_POOL, SHARE_POOL_END))
}

/// Writes `bytes` at `pa` (whole 32-bit words; a tail shorter than a word is zero-padded).
/// Returns false, writing nothing, outside the ranges above.
pub fn write_bytes(pa: u64, bytes: &[u8]) -> bool {
    if !allowed(pa, bytes.len().next_multiple_of(4)) {
        return false;
    }
    for (i, chunk) in bytes.chunks(4).enumerate() {
        let mut w = [0u8; 4];
        w[..chunk.len()].copy_from_slice(chunk);
        write_u32(pa + 4 * i as u64, u32::from_le_bytes(w));
    }
    true
}

/// Writes the u32 at `pa` (aligned, inside the ranges above; otherwise nothing happens).
pub fn write_u32(pa: u64, value: u32) {
    if !allowed(pa, 4) {
        return;
    }
    let p = core::ptr::with_exposed_provenance_mut::<u32>(pa as usize);
    // SAFETY: `allowed` checked that `pa` is 4-byte aligned and inside non-secure DRAM that
    // QEMU backs (2 GiB from 0x100_0000_0000) and that neither the driver image nor anything
    // else in the normal world uses; SPs may write it concurrently, hence volatile.
    unsafe { p.write_volatile(value) };
}

/// Reads the u32 at `pa` (aligned, inside the ranges above; otherwise `None`).
pub fn read_u32(pa: u64) -> Option<u32> {
    if !allowed(pa, 4) {
        return None;
    }
    let p = core::ptr::with_exposed_provenance::<u32>(pa as usize);
    // SAFETY: as in `write_u32`: aligned, backed, owned by no other normal-world code.
    Some(unsafe { p.read_volatile() })
}
