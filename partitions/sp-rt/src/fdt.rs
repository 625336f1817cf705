//! A minimal reader of flattened device trees (devicetree specification v0.4, chapter 5
//! "Flattened devicetree (DTB) format"), enough for an SP to read properties of its own FF-A
//! manifest (e.g. `uuid`, `id`) from the copy the boot information points at.
//!
//! Pure and panic-free: every offset is checked against the blob; a malformed tree gives an
//! error or "not found", never an out-of-bounds access.

const FDT_MAGIC: u32 = 0xD00D_FEED;
const FDT_BEGIN_NODE: u32 = 1;
const FDT_END_NODE: u32 = 2;
const FDT_PROP: u32 = 3;
const FDT_NOP: u32 = 4;
const HEADER_SIZE: usize = 40;

/// Why a blob is not a usable device tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdtError {
    /// Fewer bytes than the header, or than `totalsize`.
    Truncated,
    /// The magic is not 0xd00dfeed.
    BadMagic(u32),
    /// The structure or strings block lies outside the blob.
    BadLayout,
}

/// A validated device tree blob.
#[derive(Clone, Copy, Debug)]
pub struct Fdt<'a> {
    structs: &'a [u8],
    strings: &'a [u8],
}

fn be32(b: &[u8], o: usize) -> Option<u32> {
    let s = b.get(o..o.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Returns the NUL-terminated string starting at `o`, without the NUL.
fn cstr(b: &[u8], o: usize) -> Option<&[u8]> {
    let rest = b.get(o..)?;
    let n = rest.iter().position(|c| *c == 0)?;
    rest.get(..n)
}

fn align4(x: usize) -> Option<usize> {
    Some(x.checked_add(3)? & !3)
}

impl<'a> Fdt<'a> {
    /// Validates the header of `blob` and the extent of its blocks.
    pub fn new(blob: &'a [u8]) -> Result<Self, FdtError> {
        let hdr = |o| be32(blob, o).ok_or(FdtError::Truncated);
        if blob.len() < HEADER_SIZE {
            return Err(FdtError::Truncated);
        }
        let magic = hdr(0)?;
        if magic != FDT_MAGIC {
            return Err(FdtError::BadMagic(magic));
        }
        let total = hdr(4)? as usize;
        let blob = blob.get(..total).ok_or(FdtError::Truncated)?;
        let block = |off: u32, size: u32| {
            let start = off as usize;
            let end = start
                .checked_add(size as usize)
                .ok_or(FdtError::BadLayout)?;
            blob.get(start..end).ok_or(FdtError::BadLayout)
        };
        let structs = block(hdr(8)?, hdr(36)?)?;
        let strings = block(hdr(12)?, hdr(32)?)?;
        Ok(Self { structs, strings })
    }

    /// Returns the value of property `name` of the node at `path` ("/" for the root,
    /// "/memory-regions/rw" for a child; names match exactly, unit address included).
    pub fn property(&self, path: &str, name: &str) -> Option<&'a [u8]> {
        let components = || path.split('/').filter(|c| !c.is_empty());
        let want_depth = components().count() + 1; // the root node is depth 1
        let (mut depth, mut matched) = (0usize, 0usize);
        let mut o = 0usize;
        loop {
            let token = be32(self.structs, o)?;
            o = o.checked_add(4)?;
            match token {
                FDT_BEGIN_NODE => {
                    let node = cstr(self.structs, o)?;
                    o = align4(o.checked_add(node.len() + 1)?)?;
                    if matched == depth {
                        let expected = if depth == 0 {
                            Some("")
                        } else {
                            components().nth(depth - 1)
                        };
                        if expected.map(str::as_bytes) == Some(node) {
                            matched += 1;
                        }
                    }
                    depth += 1;
                }
                FDT_END_NODE => {
                    depth = depth.checked_sub(1)?;
                    matched = matched.min(depth);
                }
                FDT_PROP => {
                    let len = be32(self.structs, o)? as usize;
                    let nameoff = be32(self.structs, o.checked_add(4)?)? as usize;
                    let start = o.checked_add(8)?;
                    let value = self.structs.get(start..start.checked_add(len)?)?;
                    o = align4(start.checked_add(len)?)?;
                    if depth == want_depth
                        && matched == depth
                        && cstr(self.strings, nameoff)? == name.as_bytes()
                    {
                        return Some(value);
                    }
                }
                FDT_NOP => {}
                // FDT_END, or an unknown token in a corrupt tree, ends the walk: not found.
                _ => return None,
            }
        }
    }

    /// Returns a property holding one u32 cell.
    pub fn property_u32(&self, path: &str, name: &str) -> Option<u32> {
        let v = self.property(path, name)?;
        if v.len() != 4 {
            return None;
        }
        be32(v, 0)
    }

    /// Returns a property holding exactly `N` u32 cells.
    pub fn property_cells<const N: usize>(&self, path: &str, name: &str) -> Option<[u32; N]> {
        let v = self.property(path, name)?;
        if v.len() != 4 * N {
            return None;
        }
        let mut out = [0u32; N];
        for (i, cell) in out.iter_mut().enumerate() {
            *cell = be32(v, 4 * i)?;
        }
        Some(out)
    }

    /// Returns a property holding a u64 as two cells (or a u32 as one cell).
    pub fn property_u64(&self, path: &str, name: &str) -> Option<u64> {
        let v = self.property(path, name)?;
        match v.len() {
            4 => be32(v, 0).map(u64::from),
            8 => Some(u64::from(be32(v, 0)?) << 32 | u64::from(be32(v, 4)?)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::dtb::{build, cells, Item};

    fn manifest() -> Vec<u8> {
        use Item::*;
        build(&[
            Begin(""),
            Prop("compatible", b"arm,ffa-manifest-1.0\0".to_vec()),
            Prop("uuid", cells(&[1, 2, 3, 4])),
            Begin("memory-regions"),
            Begin("rw"),
            Prop("id", cells(&[0xBAD])),
            Prop("pages-count", cells(&[0x80])),
            End,
            End,
            Prop("id", cells(&[0x8004])),
            Prop("load-address", cells(&[0, 0x2430_0000])),
            End,
        ])
    }

    #[test]
    fn reads_root_and_child_properties() {
        let b = manifest();
        let f = Fdt::new(&b).unwrap();
        assert_eq!(f.property_cells::<4>("/", "uuid"), Some([1, 2, 3, 4]));
        // The child's `id` does not shadow the root's, which comes after the child.
        assert_eq!(f.property_u32("/", "id"), Some(0x8004));
        assert_eq!(
            f.property_u32("/memory-regions/rw", "pages-count"),
            Some(0x80)
        );
        assert_eq!(f.property_u32("/memory-regions/rw", "id"), Some(0xBAD));
        assert_eq!(f.property_u64("/", "load-address"), Some(0x2430_0000));
        assert_eq!(
            f.property("/", "compatible"),
            Some(&b"arm,ffa-manifest-1.0\0"[..])
        );
        assert_eq!(f.property("/", "missing"), None);
        assert_eq!(f.property("/memory-regions", "uuid"), None);
        assert_eq!(f.property_cells::<3>("/", "uuid"), None);
    }

    #[test]
    fn rejects_bad_headers() {
        let b = manifest();
        assert_eq!(Fdt::new(&b[..39]).err(), Some(FdtError::Truncated));
        assert_eq!(Fdt::new(&b[..b.len() - 1]).err(), Some(FdtError::Truncated));
        let mut m = b.clone();
        m[0] = 0;
        assert_eq!(Fdt::new(&m).err(), Some(FdtError::BadMagic(0x000D_FEED)));
        let mut m = b;
        m[36..40].copy_from_slice(&0xFFFF_FFF0u32.to_be_bytes());
        assert_eq!(Fdt::new(&m).err(), Some(FdtError::BadLayout));
    }

    #[test]
    fn never_panics_on_mutated_trees() {
        let base = manifest();
        let mut s: u64 = 0x1234_5678_9ABC_DEF1;
        let mut walked = 0;
        for _ in 0..20_000 {
            let mut b = base.clone();
            for _ in 0..3 {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let i = (s as usize) % b.len();
                b[i] = (s >> 24) as u8;
            }
            if let Ok(f) = Fdt::new(&b) {
                walked += 1;
                if let Some(v) = f.property("/", "uuid") {
                    assert!(v.len() <= b.len());
                }
                let _ = f.property_u32("/memory-regions/rw", "pages-count");
            }
        }
        assert!(walked > 0);
    }
}
