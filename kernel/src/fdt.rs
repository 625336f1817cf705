//! A minimal, bounds-checked flattened-device-tree walker (DTSpec v0.4 section 5) for the one
//! blob the SPMC reads at boot, the SPMC manifest. Written by hand because `fdt-rs` needs an
//! `unsafe` constructor and trusts the blob's internal offsets; this walker never indexes out of
//! the slice and never panics.

const FDT_MAGIC: u32 = 0xd00d_feed;
const FDT_BEGIN_NODE: u32 = 1;
const FDT_END_NODE: u32 = 2;
const FDT_PROP: u32 = 3;
const FDT_NOP: u32 = 4;
const FDT_END: u32 = 9;
/// Deepest node nesting the walker follows.
const MAX_DEPTH: usize = 8;

fn be32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn cstr(b: &[u8], off: usize) -> Option<&str> {
    let tail = b.get(off..)?;
    let len = tail.iter().position(|&c| c == 0)?;
    core::str::from_utf8(&tail[..len]).ok()
}

/// A property found by [`for_each_prop`]: its node path components and its value.
pub struct Prop<'a> {
    /// Names of the enclosing nodes, outermost first (the root's name is empty).
    pub path: &'a [&'a str],
    pub name: &'a str,
    pub value: &'a [u8],
}

/// Calls `f` for every property in the blob. Fails on any malformation.
pub fn for_each_prop<'a>(blob: &'a [u8], mut f: impl FnMut(&Prop<'_>)) -> Result<(), ()> {
    if be32(blob, 0) != Some(FDT_MAGIC) {
        return Err(());
    }
    let total = be32(blob, 4).ok_or(())? as usize;
    let blob = blob.get(..total).ok_or(())?;
    let off_struct = be32(blob, 8).ok_or(())? as usize;
    let off_strings = be32(blob, 12).ok_or(())? as usize;
    let strings = blob.get(off_strings..).ok_or(())?;
    let mut path: [&str; MAX_DEPTH] = [""; MAX_DEPTH];
    let mut depth = 0usize;
    let mut pos = off_struct;
    loop {
        let token = be32(blob, pos).ok_or(())?;
        pos += 4;
        match token {
            FDT_BEGIN_NODE => {
                let name = cstr(blob, pos).ok_or(())?;
                if depth == MAX_DEPTH {
                    return Err(());
                }
                path[depth] = name;
                depth += 1;
                pos = (pos + name.len() + 1 + 3) & !3;
            }
            FDT_END_NODE => depth = depth.checked_sub(1).ok_or(())?,
            FDT_PROP => {
                let len = be32(blob, pos).ok_or(())? as usize;
                let nameoff = be32(blob, pos + 4).ok_or(())? as usize;
                let value = blob
                    .get(pos + 8..(pos + 8).checked_add(len).ok_or(())?)
                    .ok_or(())?;
                let name = cstr(strings, nameoff).ok_or(())?;
                f(&Prop {
                    path: &path[..depth],
                    name,
                    value,
                });
                pos = (pos + 8 + len + 3) & !3;
            }
            FDT_NOP => {}
            FDT_END => return if depth == 0 { Ok(()) } else { Err(()) },
            _ => return Err(()),
        }
    }
}

/// Reads a property value of one or two big-endian cells.
pub fn cells(value: &[u8]) -> Option<u64> {
    match value.len() {
        4 => be32(value, 0).map(u64::from),
        8 => Some((u64::from(be32(value, 0)?) << 32) | u64::from(be32(value, 4)?)),
        _ => None,
    }
}
