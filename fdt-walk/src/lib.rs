//! The project's one reader of flattened device trees (Devicetree Specification v0.4, chapter 5
//! "Flattened Devicetree (DTB) Format"), shared by everything that reads a manifest: the SPMC
//! kernel (SPMC manifest from EL3), the QEMU monitor and `cargo xtask` (the same SPMC
//! manifest), `sp-rt` (an SP's own partition manifest) and `manifest-tool` (partition
//! manifests inside third-party SP packages).
//!
//! Written by hand instead of using `fdt-rs`: its constructor (`DevTree::new`) is an
//! `unsafe fn` that trusts the blob's internal offsets, while every blob read here is input to
//! reject cleanly (from EL3, from an SP package, from an SP's boot information), and `unsafe`
//! is allowed only in the thin architecture/MMIO layers. This reader is `no_std`, allocates
//! nothing, has no `unsafe`, checks every offset against the blob and never panics.
//!
//! [`Fdt::new`] validates the header and then the whole structure block once (every token,
//! name, property extent and string offset; nodes balanced; one root followed by `FDT_END`), so
//! the lookups on a constructed [`Fdt`] only answer "found" or "not found".
//!
//! With the `writer` feature, [`writer`] builds DTBs for other crates' tests (sp-rt's
//! `testing::dtb`, the monitor's and xtask's manifest tests, manifest-tool's tree tests).
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]

#[cfg(any(test, feature = "writer"))]
extern crate alloc;

use core::fmt;

#[cfg(any(test, feature = "writer"))]
pub mod writer;

/// The header magic (DTSpec 5.2).
pub const FDT_MAGIC: u32 = 0xd00d_feed;
/// Structure block tokens (DTSpec 5.4.1).
const FDT_BEGIN_NODE: u32 = 0x1;
const FDT_END_NODE: u32 = 0x2;
const FDT_PROP: u32 = 0x3;
const FDT_NOP: u32 = 0x4;
const FDT_END: u32 = 0x9;
/// Header size of version 17, the version `dtc` writes (DTSpec 5.2).
const HEADER_SIZE: usize = 40;
/// The oldest header version read: before 16, `FDT_BEGIN_NODE` carried full paths instead of
/// node names; 16 is the `last_comp_version` that `dtc` writes. Version 17 added
/// `size_dt_struct`.
const OLDEST_VERSION: u32 = 16;

/// Why a blob is not a usable flattened device tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdtError {
    /// Fewer bytes than the header, or than the header's `totalsize`.
    Truncated,
    /// The first word is not [`FDT_MAGIC`].
    BadMagic(u32),
    /// The header version is older than 16.
    UnsupportedVersion(u32),
    /// The structure or strings block lies outside the blob, or the structure block is not
    /// 4-byte aligned.
    BadLayout,
    /// An unknown token, or a token where the format does not allow it, at this offset of the
    /// structure block.
    BadToken { offset: usize, token: u32 },
    /// A node name at this offset of the structure block, or a property name it refers to, is
    /// unterminated, out of range or not UTF-8.
    BadName { offset: usize },
    /// The value of the property at this offset of the structure block runs past the block.
    BadProperty { offset: usize },
    /// The structure block ends without `FDT_END`, or `FDT_END` comes inside a node.
    Unterminated,
}

impl fmt::Display for FdtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Truncated => write!(f, "blob shorter than its FDT header or totalsize"),
            Self::BadMagic(m) => write!(f, "no FDT magic 0xd00dfeed at offset 0 (found {m:#x})"),
            Self::UnsupportedVersion(v) => {
                write!(f, "FDT version {v} is older than {OLDEST_VERSION}")
            }
            Self::BadLayout => write!(f, "structure or strings block outside the blob"),
            Self::BadToken { offset, token } => {
                write!(
                    f,
                    "unexpected token {token:#x} at structure offset {offset:#x}"
                )
            }
            Self::BadName { offset } => {
                write!(
                    f,
                    "bad node or property name at structure offset {offset:#x}"
                )
            }
            Self::BadProperty { offset } => {
                write!(
                    f,
                    "property at structure offset {offset:#x} exceeds the block"
                )
            }
            Self::Unterminated => write!(f, "structure block not closed by FDT_END"),
        }
    }
}

fn be32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Widens a header field; a u32 always fits the usize of the 32- and 64-bit targets we build
/// for, and saturating makes any later range check fail rather than wrap.
fn usize_of(v: u32) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

fn align4(x: usize) -> Option<usize> {
    Some(x.checked_add(3)? & !3)
}

/// Returns the NUL-terminated UTF-8 string starting at `off`, without the NUL.
fn cstr(b: &[u8], off: usize) -> Option<&str> {
    let rest = b.get(off..)?;
    let len = rest.iter().position(|&c| c == 0)?;
    core::str::from_utf8(rest.get(..len)?).ok()
}

/// A property: its name and raw (big-endian) value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prop<'a> {
    pub name: &'a str,
    pub value: &'a [u8],
}

impl<'a> Prop<'a> {
    /// Reads the value as exactly one u32 cell.
    pub fn u32(&self) -> Option<u32> {
        match *self.value {
            [a, b, c, d] => Some(u32::from_be_bytes([a, b, c, d])),
            _ => None,
        }
    }

    /// Reads an address or size given as one cell or two cells (most significant first), as
    /// TF-A's `fdt_read_uint64` accepts.
    pub fn u64(&self) -> Option<u64> {
        match *self.value {
            [a, b, c, d] => Some(u64::from(u32::from_be_bytes([a, b, c, d]))),
            [a, b, c, d, e, f, g, h] => Some(u64::from_be_bytes([a, b, c, d, e, f, g, h])),
            _ => None,
        }
    }

    /// Reads the value as exactly `N` u32 cells.
    pub fn cells<const N: usize>(&self) -> Option<[u32; N]> {
        if self.value.len() != N.checked_mul(4)? {
            return None;
        }
        let mut out = [0u32; N];
        for (i, cell) in out.iter_mut().enumerate() {
            *cell = be32(self.value, i.checked_mul(4)?)?;
        }
        Some(out)
    }

    /// Returns the value as u32 cells, or `None` when its length is not a multiple of 4.
    pub fn cell_list(&self) -> Option<impl Iterator<Item = u32> + 'a> {
        let value = self.value;
        if !value.len().is_multiple_of(4) {
            return None;
        }
        Some(
            value
                .chunks_exact(4)
                .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])),
        )
    }

    /// Reads the value as one NUL-terminated UTF-8 string.
    pub fn string(&self) -> Option<&'a str> {
        match self.value.split_last() {
            Some((0, body)) if !body.contains(&0) => core::str::from_utf8(body).ok(),
            _ => None,
        }
    }

    /// Reads the value as a string list (DTSpec 2.2.4 `<stringlist>`); parts that are not UTF-8
    /// are skipped, and a value without the final NUL is no list at all.
    pub fn strings(&self) -> impl Iterator<Item = &'a str> + 'a {
        let body = match self.value.split_last() {
            Some((0, body)) => Some(body),
            _ => None,
        };
        body.into_iter()
            .flat_map(|b| b.split(|&c| c == 0))
            .filter_map(|s| core::str::from_utf8(s).ok())
    }

    /// Tells whether the value is empty (a boolean property, DTSpec 2.2.4 `<empty>`).
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }

    /// Tells whether the string list contains `wanted` (the usual `compatible` test).
    pub fn contains_string(&self, wanted: &str) -> bool {
        self.strings().any(|s| s == wanted)
    }
}

/// One structure-block token, with the names and values it carries.
enum Token<'a> {
    BeginNode(&'a str),
    EndNode,
    Prop(Prop<'a>),
    End,
}

/// Reads tokens from one offset of the structure block on, skipping `FDT_NOP`.
#[derive(Clone)]
struct Cursor<'a> {
    structs: &'a [u8],
    strings: &'a [u8],
    /// Offset of the next token to read.
    off: usize,
    /// Offset of the token read last (for error reports).
    at: usize,
}

impl<'a> Cursor<'a> {
    fn next_token(&mut self) -> Result<Token<'a>, FdtError> {
        loop {
            let at = self.off;
            self.at = at;
            let token = be32(self.structs, at).ok_or(FdtError::Unterminated)?;
            let body = at.checked_add(4).ok_or(FdtError::Unterminated)?;
            self.off = body;
            match token {
                FDT_NOP => continue,
                FDT_BEGIN_NODE => {
                    let bad = FdtError::BadName { offset: at };
                    let name = cstr(self.structs, body).ok_or(bad)?;
                    self.off = body
                        .checked_add(name.len())
                        .and_then(|e| e.checked_add(1))
                        .and_then(align4)
                        .ok_or(bad)?;
                    return Ok(Token::BeginNode(name));
                }
                FDT_END_NODE => return Ok(Token::EndNode),
                FDT_PROP => {
                    let bad = FdtError::BadProperty { offset: at };
                    let len = usize_of(be32(self.structs, body).ok_or(bad)?);
                    let name_off = body.checked_add(4).ok_or(bad)?;
                    let nameoff = usize_of(be32(self.structs, name_off).ok_or(bad)?);
                    let start = body.checked_add(8).ok_or(bad)?;
                    let end = start.checked_add(len).ok_or(bad)?;
                    let value = self.structs.get(start..end).ok_or(bad)?;
                    let name =
                        cstr(self.strings, nameoff).ok_or(FdtError::BadName { offset: at })?;
                    self.off = align4(end).ok_or(bad)?;
                    return Ok(Token::Prop(Prop { name, value }));
                }
                FDT_END => return Ok(Token::End),
                _ => return Err(FdtError::BadToken { offset: at, token }),
            }
        }
    }
}

/// A validated flattened device tree.
#[derive(Clone, Copy, Debug)]
pub struct Fdt<'a> {
    structs: &'a [u8],
    strings: &'a [u8],
}

impl<'a> Fdt<'a> {
    /// Validates the header of `blob` and its whole structure block.
    pub fn new(blob: &'a [u8]) -> Result<Self, FdtError> {
        let field = |i: usize| be32(blob, 4 * i).ok_or(FdtError::Truncated);
        let magic = field(0)?;
        if magic != FDT_MAGIC {
            return Err(FdtError::BadMagic(magic));
        }
        let version = field(5)?;
        if version < OLDEST_VERSION {
            return Err(FdtError::UnsupportedVersion(version));
        }
        let total = usize_of(field(1)?);
        if total < HEADER_SIZE || blob.len() < HEADER_SIZE {
            return Err(FdtError::Truncated);
        }
        let blob = blob.get(..total).ok_or(FdtError::Truncated)?;
        let off_struct = usize_of(field(2)?);
        let off_strings = usize_of(field(3)?);
        // Version 16 has no `size_dt_struct`: the block then runs to the end of the blob.
        let size_struct = if version >= 17 {
            usize_of(field(9)?)
        } else {
            total.saturating_sub(off_struct)
        };
        let size_strings = usize_of(field(8)?);
        let block = |start: usize, size: usize| {
            let end = start.checked_add(size).ok_or(FdtError::BadLayout)?;
            blob.get(start..end).ok_or(FdtError::BadLayout)
        };
        if !off_struct.is_multiple_of(4) {
            return Err(FdtError::BadLayout);
        }
        let fdt = Self {
            structs: block(off_struct, size_struct)?,
            strings: block(off_strings, size_strings)?,
        };
        fdt.validate_structure()?;
        Ok(fdt)
    }

    /// Checks that the structure block is one root node, balanced, followed by `FDT_END`.
    fn validate_structure(&self) -> Result<(), FdtError> {
        let mut c = self.cursor(0);
        let mut depth = 0usize;
        let mut root_done = false;
        loop {
            let token = c.next_token()?;
            let misplaced = |token| {
                Err(FdtError::BadToken {
                    offset: c.at,
                    token,
                })
            };
            match token {
                Token::BeginNode(_) if root_done => return misplaced(FDT_BEGIN_NODE),
                Token::BeginNode(_) => depth = depth.saturating_add(1),
                Token::EndNode if depth == 0 => return misplaced(FDT_END_NODE),
                Token::EndNode => {
                    depth -= 1;
                    root_done = depth == 0;
                }
                Token::Prop(_) if depth == 0 => return misplaced(FDT_PROP),
                Token::Prop(_) => {}
                Token::End if root_done => return Ok(()),
                Token::End => return Err(FdtError::Unterminated),
            }
        }
    }

    fn cursor(&self, off: usize) -> Cursor<'a> {
        Cursor {
            structs: self.structs,
            strings: self.strings,
            off,
            at: off,
        }
    }

    /// Returns the root node.
    pub fn root(&self) -> Node<'a> {
        let mut c = self.cursor(0);
        // `new` checked that the structure starts with the root node; should that ever not hold,
        // the root is an empty node.
        let name = match c.next_token() {
            Ok(Token::BeginNode(name)) => name,
            _ => {
                c.off = self.structs.len();
                ""
            }
        };
        Node { cursor: c, name }
    }

    /// Returns the node at `path`: "/" for the root, "/memory-regions/rw" for a child. Names
    /// match exactly, unit address included; sibling names are unique (DTSpec 2.2.1), so the
    /// first match is the node.
    pub fn node(&self, path: &str) -> Option<Node<'a>> {
        path.split('/')
            .filter(|c| !c.is_empty())
            .try_fold(self.root(), |node, name| {
                node.children().find(|c| c.name() == name)
            })
    }

    /// Returns the value of property `name` of the node at `path` (see [`Fdt::node`]).
    pub fn property(&self, path: &str, name: &str) -> Option<&'a [u8]> {
        Some(self.node(path)?.prop(name)?.value)
    }

    /// Returns a property holding one u32 cell.
    pub fn property_u32(&self, path: &str, name: &str) -> Option<u32> {
        self.node(path)?.prop(name)?.u32()
    }

    /// Returns a property holding exactly `N` u32 cells.
    pub fn property_cells<const N: usize>(&self, path: &str, name: &str) -> Option<[u32; N]> {
        self.node(path)?.prop(name)?.cells::<N>()
    }

    /// Returns a property holding a u64 as two cells (or a u32 as one cell).
    pub fn property_u64(&self, path: &str, name: &str) -> Option<u64> {
        self.node(path)?.prop(name)?.u64()
    }
}

/// A node of a validated [`Fdt`].
#[derive(Clone)]
pub struct Node<'a> {
    /// Positioned just after the node's name: at its first property or child.
    cursor: Cursor<'a>,
    name: &'a str,
}

impl fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node").field("name", &self.name).finish()
    }
}

/// What [`Node::walk`] yields: a property or a child of the node.
enum Entry<'a> {
    Prop(Prop<'a>),
    Child(Node<'a>),
}

impl<'a> Node<'a> {
    /// Returns the node name with any unit address (`uart@6004_0000`); "" for the root.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// Returns the node name without its unit address.
    pub fn base_name(&self) -> &'a str {
        self.name.split('@').next().unwrap_or(self.name)
    }

    /// Yields the node's own properties and direct children in blob order, skipping the
    /// children's insides. Ends at the node's `FDT_END_NODE` (or at anything malformed, which
    /// `Fdt::new` has already excluded).
    fn walk(&self) -> impl Iterator<Item = Entry<'a>> + 'a {
        let mut c = self.cursor.clone();
        let mut depth = 0usize;
        let mut done = false;
        core::iter::from_fn(move || {
            while !done {
                match c.next_token() {
                    Ok(Token::Prop(p)) if depth == 0 => return Some(Entry::Prop(p)),
                    Ok(Token::Prop(_)) => {}
                    Ok(Token::BeginNode(name)) => {
                        depth = depth.saturating_add(1);
                        if depth == 1 {
                            return Some(Entry::Child(Node {
                                cursor: c.clone(),
                                name,
                            }));
                        }
                    }
                    Ok(Token::EndNode) if depth > 0 => depth -= 1,
                    Ok(Token::EndNode | Token::End) | Err(_) => done = true,
                }
            }
            None
        })
    }

    /// Iterates over the node's properties in blob order.
    pub fn props(&self) -> impl Iterator<Item = Prop<'a>> + 'a {
        self.walk().filter_map(|e| match e {
            Entry::Prop(p) => Some(p),
            Entry::Child(_) => None,
        })
    }

    /// Iterates over the node's children in blob order.
    pub fn children(&self) -> impl Iterator<Item = Node<'a>> + 'a {
        self.walk().filter_map(|e| match e {
            Entry::Child(n) => Some(n),
            Entry::Prop(_) => None,
        })
    }

    /// Returns the property called `name` (property names are unique in a node, DTSpec 2.2.4).
    pub fn prop(&self, name: &str) -> Option<Prop<'a>> {
        self.props().find(|p| p.name == name)
    }

    /// Returns the first child whose name without unit address is `base_name`.
    pub fn child(&self, base_name: &str) -> Option<Node<'a>> {
        self.children().find(|c| c.base_name() == base_name)
    }
}

#[cfg(test)]
mod tests;
