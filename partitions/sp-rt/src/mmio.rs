//! 32-bit MMIO in a device region of the SP's own manifest (FF-A `device-regions`), which the
//! SPMC maps for the SP at its `base-address` (VA = PA, Device-nGnRE, read-write per its
//! `attributes`): the one place an SP reaches a device. Construction looks the region up in
//! the manifest copy the SPMC gave the SP; accesses are bounds- and alignment-checked, so a
//! driver above (e.g. ts-storage's CFI flash) has no `unsafe`.

use crate::fdt::Fdt;

/// Bytes of a page of a manifest region (`pages-count` unit): ffa-abi's FF-A page.
const PAGE: u64 = ffa_abi::PAGE_SIZE;

/// A device region of this SP, accessed in aligned 32-bit words.
#[derive(Debug)]
pub struct Mmio32 {
    base: usize,
    len: usize,
}

/// Why a device region cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmioError {
    /// The SP has no manifest copy (no boot information).
    NoManifest,
    /// No `/device-regions/<name>` node, or it lacks `base-address`/`pages-count`.
    NoRegion,
    /// The region is not page-aligned, is empty, or does not fit the address space.
    BadRegion,
    /// The region is not read-write (`attributes` bits 0 and 1).
    NotReadWrite,
}

/// Reads the device region `name` of `manifest`: (base, bytes, attributes).
fn region(manifest: &Fdt<'_>, name: &str) -> Result<(u64, u64, u32), MmioError> {
    let path = alloc::format!("/device-regions/{name}");
    let node = manifest.node(&path).ok_or(MmioError::NoRegion)?;
    let base = node
        .prop("base-address")
        .and_then(|p| p.u64())
        .ok_or(MmioError::NoRegion)?;
    let pages = node
        .prop("pages-count")
        .and_then(|p| p.u32())
        .ok_or(MmioError::NoRegion)?;
    let attributes = node
        .prop("attributes")
        .and_then(|p| p.u32())
        .ok_or(MmioError::NoRegion)?;
    let len = u64::from(pages)
        .checked_mul(PAGE)
        .ok_or(MmioError::BadRegion)?;
    if len == 0 || !base.is_multiple_of(PAGE) || base.checked_add(len).is_none() {
        return Err(MmioError::BadRegion);
    }
    Ok((base, len, attributes))
}

impl Mmio32 {
    /// The read-write device region `name` of this SP's manifest.
    pub fn from_manifest(manifest: Option<&Fdt<'_>>, name: &str) -> Result<Self, MmioError> {
        let manifest = manifest.ok_or(MmioError::NoManifest)?;
        let (base, len, attributes) = region(manifest, name)?;
        if attributes & 0x3 != 0x3 {
            return Err(MmioError::NotReadWrite);
        }
        let base = usize::try_from(base).map_err(|_| MmioError::BadRegion)?;
        let len = usize::try_from(len).map_err(|_| MmioError::BadRegion)?;
        Ok(Self { base, len })
    }

    /// Bytes of the region.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the region is empty (never, for one from the manifest).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Returns the address of the word at `offset` if it lies in the region, aligned.
    fn word(&self, offset: usize) -> Option<usize> {
        if !offset.is_multiple_of(4) || offset.checked_add(4)? > self.len {
            return None;
        }
        self.base.checked_add(offset)
    }

    /// Reads the 32-bit word at `offset`; `None` outside the region or unaligned.
    #[cfg(all(target_arch = "aarch64", target_os = "none"))]
    pub fn read32(&self, offset: usize) -> Option<u32> {
        let addr = self.word(offset)?;
        // SAFETY: `addr` is a 4-byte-aligned word inside a device region of this SP's
        // manifest, which the SPMC maps for this SP read-write at its base-address (VA = PA)
        // as Device-nGnRE before the SP runs (kernel/src/spmc/loader.rs) and never unmaps; a
        // device word is no Rust object, so the volatile access aliases nothing.
        Some(unsafe { core::ptr::read_volatile(addr as *const u32) })
    }

    /// Writes the 32-bit word at `offset`; false (nothing written) outside the region or
    /// unaligned.
    #[cfg(all(target_arch = "aarch64", target_os = "none"))]
    pub fn write32(&self, offset: usize, value: u32) -> bool {
        let Some(addr) = self.word(offset) else {
            return false;
        };
        // SAFETY: as in `read32`: an aligned word of a device region mapped read-write for
        // this SP (from_manifest checked the attributes), not Rust memory.
        unsafe { core::ptr::write_volatile(addr as *mut u32, value) };
        true
    }

    /// Host builds have no devices: every access is refused.
    #[cfg(not(all(target_arch = "aarch64", target_os = "none")))]
    pub fn read32(&self, offset: usize) -> Option<u32> {
        self.word(offset).and(None)
    }

    /// Host builds have no devices: every access is refused.
    #[cfg(not(all(target_arch = "aarch64", target_os = "none")))]
    pub fn write32(&self, offset: usize, _value: u32) -> bool {
        let _ = self.word(offset);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fdt_walk::writer::{build, cells, Item};

    fn manifest(base: u64, pages: u32, attributes: u32) -> Vec<u8> {
        build(&[
            Item::Begin(""),
            Item::Begin("device-regions"),
            Item::Begin("storage"),
            Item::Prop("base-address", cells(&[(base >> 32) as u32, base as u32])),
            Item::Prop("pages-count", cells(&[pages])),
            Item::Prop("attributes", cells(&[attributes])),
            Item::End,
            Item::End,
            Item::End,
        ])
    }

    #[test]
    fn finds_the_region_and_checks_it() {
        let blob = manifest(0x0FE0_0000, 512, 3);
        let fdt = Fdt::new(&blob).unwrap();
        let m = Mmio32::from_manifest(Some(&fdt), "storage").unwrap();
        assert_eq!((m.base, m.len()), (0x0FE0_0000, 0x20_0000));
        assert_eq!(m.word(0x1F_FFFC), Some(0x0FFF_FFFC));
        assert_eq!(m.word(0x20_0000), None, "past the end");
        assert_eq!(m.word(2), None, "unaligned");
        assert_eq!(
            Mmio32::from_manifest(Some(&fdt), "uart").err(),
            Some(MmioError::NoRegion)
        );
        assert_eq!(
            Mmio32::from_manifest(None, "storage").err(),
            Some(MmioError::NoManifest)
        );
        let blob = manifest(0x0FE0_0000, 512, 1);
        let fdt = Fdt::new(&blob).unwrap();
        assert_eq!(
            Mmio32::from_manifest(Some(&fdt), "storage").err(),
            Some(MmioError::NotReadWrite)
        );
        let blob = manifest(0x0FE0_0800, 1, 3);
        let fdt = Fdt::new(&blob).unwrap();
        assert_eq!(
            Mmio32::from_manifest(Some(&fdt), "storage").err(),
            Some(MmioError::BadRegion)
        );
    }
}
