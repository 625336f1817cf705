//! A small, safe reader for flattened device tree blobs (devicetree specification v0.4,
//! chapter 5), turning a DTB into an owned tree.
//!
//! The tool does not use `fdt-rs` here: its entry points are `unsafe fn` that trust the
//! buffer's layout, and manifests inside third-party SP packages are input we must reject
//! cleanly, never trust. This reader checks every offset and never panics.

/// The FDT header magic (devicetree specification 5.2).
pub const FDT_MAGIC: u32 = 0xd00d_feed;

const FDT_BEGIN_NODE: u32 = 1;
const FDT_END_NODE: u32 = 2;
const FDT_PROP: u32 = 3;
const FDT_NOP: u32 = 4;
const FDT_END: u32 = 9;
/// Deeper trees are rejected rather than risking unbounded recursion on crafted input.
const MAX_DEPTH: usize = 32;

/// A property: its name and raw (big-endian) value bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prop {
    /// Property name.
    pub name: String,
    /// Raw value.
    pub value: Vec<u8>,
}

/// A node with its properties and children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Node name including any unit address (`uart@6004_0000`); "" for the root.
    pub name: String,
    /// Full path from the root (`/memory-regions/heap`), `/` for the root.
    pub path: String,
    /// Properties in blob order.
    pub props: Vec<Prop>,
    /// Children in blob order.
    pub children: Vec<Node>,
}

/// Tells whether `bytes` starts with the FDT magic.
pub fn is_dtb(bytes: &[u8]) -> bool {
    be32(bytes, 0) == Some(FDT_MAGIC)
}

fn be32(bytes: &[u8], off: usize) -> Option<u32> {
    let b = bytes.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn usize_of(v: u32) -> usize {
    // u32 always fits in usize on the hosts this tool runs on (32- and 64-bit).
    usize::try_from(v).unwrap_or(usize::MAX)
}

fn align4(off: usize) -> Option<usize> {
    off.checked_add(3).map(|v| v & !3)
}

fn cstr(bytes: &[u8], off: usize) -> Option<(&str, usize)> {
    let rest = bytes.get(off..)?;
    let len = rest.iter().position(|&b| b == 0)?;
    let s = std::str::from_utf8(&rest[..len]).ok()?;
    Some((s, len))
}

/// Parses a DTB into its root node. The error is a one-line reason.
pub fn parse(bytes: &[u8]) -> Result<Node, String> {
    if !is_dtb(bytes) {
        return Err("no FDT magic 0xd00dfeed at offset 0".into());
    }
    let field = |i: usize| be32(bytes, 4 * i).ok_or_else(|| "truncated FDT header".to_string());
    let totalsize = usize_of(field(1)?);
    let off_struct = usize_of(field(2)?);
    let off_strings = usize_of(field(3)?);
    let version = field(5)?;
    if version < 16 {
        return Err(format!("FDT version {version} is older than 16"));
    }
    if totalsize > bytes.len() {
        return Err(format!(
            "totalsize {totalsize:#x} exceeds the {:#x} bytes present",
            bytes.len()
        ));
    }
    let blob = &bytes[..totalsize];
    let strings = blob
        .get(off_strings..)
        .ok_or("strings block offset out of range")?;
    let (size_struct, size_strings) = if version >= 17 {
        (usize_of(field(9)?), usize_of(field(8)?))
    } else {
        (blob.len().saturating_sub(off_struct), strings.len())
    };
    let strings = strings
        .get(..size_strings)
        .ok_or("strings block exceeds the blob")?;
    let end_struct = off_struct
        .checked_add(size_struct)
        .ok_or("structure block size overflows")?;
    let structure = blob
        .get(off_struct..end_struct)
        .ok_or("structure block exceeds the blob")?;
    if !off_struct.is_multiple_of(4) {
        return Err("structure block is not 4-byte aligned".into());
    }

    let mut reader = Reader {
        s: structure,
        strings,
        off: 0,
    };
    // Skip leading NOPs, then the root node must begin.
    let tok = reader.token()?;
    if tok != FDT_BEGIN_NODE {
        return Err(format!("structure block starts with token {tok:#x}"));
    }
    let root = reader.node(String::new(), 0)?;
    match reader.token()? {
        FDT_END => Ok(root),
        t => Err(format!(
            "expected FDT_END after the root node, found token {t:#x}"
        )),
    }
}

struct Reader<'a> {
    s: &'a [u8],
    strings: &'a [u8],
    off: usize,
}

impl Reader<'_> {
    /// Returns the next token that is not a NOP.
    fn token(&mut self) -> Result<u32, String> {
        loop {
            let t = be32(self.s, self.off).ok_or("structure block ends without FDT_END")?;
            self.off += 4;
            if t != FDT_NOP {
                return Ok(t);
            }
        }
    }

    /// Reads a node whose FDT_BEGIN_NODE token was just consumed.
    fn node(&mut self, parent_path: String, depth: usize) -> Result<Node, String> {
        if depth > MAX_DEPTH {
            return Err(format!("nodes nested deeper than {MAX_DEPTH}"));
        }
        let (name, len) = cstr(self.s, self.off).ok_or("unterminated or non-UTF-8 node name")?;
        let name = name.to_string();
        self.off = align4(self.off + len + 1).ok_or("offset overflow")?;
        let path = match (depth, parent_path.as_str()) {
            (0, _) => "/".to_string(),
            (_, "/") => format!("/{name}"),
            (_, p) => format!("{p}/{name}"),
        };
        let mut node = Node {
            name,
            path,
            props: Vec::new(),
            children: Vec::new(),
        };
        loop {
            match self.token()? {
                FDT_PROP => {
                    let len = usize_of(be32(self.s, self.off).ok_or("truncated property")?);
                    let nameoff = usize_of(be32(self.s, self.off + 4).ok_or("truncated property")?);
                    let start = self.off + 8;
                    let end = start.checked_add(len).ok_or("property length overflows")?;
                    let value = self
                        .s
                        .get(start..end)
                        .ok_or_else(|| format!("property in {} exceeds the block", node.path))?;
                    let (pname, _) = cstr(self.strings, nameoff)
                        .ok_or_else(|| format!("bad property name offset in {}", node.path))?;
                    node.props.push(Prop {
                        name: pname.to_string(),
                        value: value.to_vec(),
                    });
                    self.off = align4(end).ok_or("offset overflow")?;
                }
                FDT_BEGIN_NODE => {
                    let child = self.node(node.path.clone(), depth + 1)?;
                    node.children.push(child);
                }
                FDT_END_NODE => return Ok(node),
                t => return Err(format!("unexpected token {t:#x} in {}", node.path)),
            }
        }
    }
}

impl Node {
    /// Returns the property called `name`.
    pub fn prop(&self, name: &str) -> Option<&Prop> {
        self.props.iter().find(|p| p.name == name)
    }

    /// Tells whether the property `name` exists (boolean properties).
    pub fn has(&self, name: &str) -> bool {
        self.prop(name).is_some()
    }

    /// Returns the first child whose name (without unit address) is `name`.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.base_name() == name)
    }

    /// Returns the node name without its unit address.
    pub fn base_name(&self) -> &str {
        self.name.split('@').next().unwrap_or(&self.name)
    }

    /// Returns the node's `compatible` strings.
    pub fn compatible(&self) -> Vec<&str> {
        self.prop("compatible")
            .map(|p| p.strings())
            .unwrap_or_default()
    }

    /// Returns the node's `phandle` (or legacy `linux,phandle`), if any.
    pub fn phandle(&self) -> Option<u32> {
        self.prop("phandle")
            .or_else(|| self.prop("linux,phandle"))
            .and_then(|p| p.u32().ok())
    }

    /// Finds the node with phandle `ph` in this subtree.
    pub fn find_phandle(&self, ph: u32) -> Option<&Node> {
        if self.phandle() == Some(ph) {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find_phandle(ph))
    }
}

impl Prop {
    /// Reads a single u32 cell.
    pub fn u32(&self) -> Result<u32, String> {
        match self.value.as_slice() {
            [a, b, c, d] => Ok(u32::from_be_bytes([*a, *b, *c, *d])),
            v => Err(format!("expected one u32 cell, found {} bytes", v.len())),
        }
    }

    /// Reads an address or size: one cell (the form most manifests use) or two cells.
    pub fn u64(&self) -> Result<u64, String> {
        match self.value.len() {
            4 => self.u32().map(u64::from),
            8 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&self.value);
                Ok(u64::from_be_bytes(b))
            }
            n => Err(format!("expected one or two u32 cells, found {n} bytes")),
        }
    }

    /// Reads the value as a list of u32 cells.
    pub fn cells(&self) -> Result<Vec<u32>, String> {
        if !self.value.len().is_multiple_of(4) {
            return Err(format!(
                "expected u32 cells, found {} bytes",
                self.value.len()
            ));
        }
        Ok(self
            .value
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// Reads the value as one NUL-terminated string.
    pub fn string(&self) -> Result<&str, String> {
        match self.value.split_last() {
            Some((0, body)) if !body.contains(&0) => {
                std::str::from_utf8(body).map_err(|_| "string is not UTF-8".to_string())
            }
            _ => Err("expected one NUL-terminated string".into()),
        }
    }

    /// Reads the value as a string list (invalid parts are dropped).
    pub fn strings(&self) -> Vec<&str> {
        let body = match self.value.split_last() {
            Some((0, body)) => body,
            _ => return Vec::new(),
        };
        body.split(|&b| b == 0)
            .filter_map(|s| std::str::from_utf8(s).ok())
            .collect()
    }

    /// Tells whether the property is empty (a boolean property).
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a small DTB by hand: root { a = <1>; s = "x"; child@1 { b = <0 2>; }; }.
    fn sample() -> Vec<u8> {
        let mut st = Vec::new();
        let push = |v: &mut Vec<u8>, w: u32| v.extend_from_slice(&w.to_be_bytes());
        let strings = b"a\0s\0b\0".to_vec();
        push(&mut st, FDT_BEGIN_NODE);
        push(&mut st, 0); // "" + NUL, padded
        push(&mut st, FDT_PROP);
        push(&mut st, 4);
        push(&mut st, 0);
        push(&mut st, 1);
        push(&mut st, FDT_NOP);
        push(&mut st, FDT_PROP);
        push(&mut st, 2);
        push(&mut st, 2);
        st.extend_from_slice(b"x\0\0\0");
        push(&mut st, FDT_BEGIN_NODE);
        st.extend_from_slice(b"child@1\0");
        push(&mut st, FDT_PROP);
        push(&mut st, 8);
        push(&mut st, 4);
        push(&mut st, 0);
        push(&mut st, 2);
        push(&mut st, FDT_END_NODE);
        push(&mut st, FDT_END_NODE);
        push(&mut st, FDT_END);
        let off_struct = 40u32;
        let off_strings = off_struct + u32::try_from(st.len()).unwrap();
        let total = off_strings + u32::try_from(strings.len()).unwrap();
        let mut out = Vec::new();
        for w in [
            FDT_MAGIC,
            total,
            off_struct,
            off_strings,
            40,
            17,
            16,
            0,
            u32::try_from(strings.len()).unwrap(),
            u32::try_from(st.len()).unwrap(),
        ] {
            push(&mut out, w);
        }
        out.extend_from_slice(&st);
        out.extend_from_slice(&strings);
        out
    }

    #[test]
    fn parses_hand_built_blob() {
        let root = parse(&sample()).unwrap();
        assert_eq!(root.path, "/");
        assert_eq!(root.prop("a").unwrap().u32(), Ok(1));
        assert_eq!(root.prop("s").unwrap().string(), Ok("x"));
        let child = root.child("child").unwrap();
        assert_eq!(child.path, "/child@1");
        assert_eq!(child.prop("b").unwrap().u64(), Ok(2));
        assert!(child.prop("b").unwrap().u32().is_err());
    }

    #[test]
    fn every_truncation_and_corruption_is_an_error_not_a_panic() {
        let good = sample();
        for len in 0..good.len() {
            assert!(parse(&good[..len]).is_err(), "truncated to {len}");
        }
        // Flip every byte of the blob in turn: parse must return, whatever it decides.
        for i in 0..good.len() {
            for v in [0x00, 0xFF, 0x01, 0x80] {
                let mut bad = good.clone();
                bad[i] = v;
                let _ = parse(&bad);
            }
        }
    }
}
