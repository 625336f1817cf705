//! The owned device tree the manifest checks work on, built from a DTB with the workspace's
//! FDT reader `fdt-walk` (fdt-walk/; devicetree specification v0.4, chapter 5).
//!
//! Not `fdt-rs`: its entry points are `unsafe fn` that trust the buffer's layout, and manifests
//! inside third-party SP packages are input we must reject cleanly, never trust. `fdt-walk`
//! checks every offset and never panics; this module only copies its nodes into owned values
//! with their full paths, for error messages that name the node.

pub use fdt_walk::FDT_MAGIC;

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
    bytes.get(..4) == Some(&FDT_MAGIC.to_be_bytes()[..])
}

/// Parses a DTB into its root node. The error is a one-line reason.
pub fn parse(bytes: &[u8]) -> Result<Node, String> {
    let fdt = fdt_walk::Fdt::new(bytes).map_err(|e| e.to_string())?;
    own(&fdt.root(), "", 0)
}

/// Copies `node` (a child of the node at `parent_path`, or the root) and its subtree.
fn own(node: &fdt_walk::Node<'_>, parent_path: &str, depth: usize) -> Result<Node, String> {
    if depth > MAX_DEPTH {
        return Err(format!("nodes nested deeper than {MAX_DEPTH}"));
    }
    let name = node.name().to_string();
    let path = match (depth, parent_path) {
        (0, _) => "/".to_string(),
        (_, "/") => format!("/{name}"),
        (_, p) => format!("{p}/{name}"),
    };
    let props = node
        .props()
        .map(|p| Prop {
            name: p.name.to_string(),
            value: p.value.to_vec(),
        })
        .collect();
    let children = node
        .children()
        .map(|c| own(&c, &path, depth + 1))
        .collect::<Result<_, _>>()?;
    Ok(Node {
        name,
        path,
        props,
        children,
    })
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
    /// Borrows the property as `fdt-walk` reads values, so both decode cells and strings alike.
    fn view(&self) -> fdt_walk::Prop<'_> {
        fdt_walk::Prop {
            name: &self.name,
            value: &self.value,
        }
    }

    /// Reads a single u32 cell.
    pub fn u32(&self) -> Result<u32, String> {
        self.view()
            .u32()
            .ok_or_else(|| format!("expected one u32 cell, found {} bytes", self.value.len()))
    }

    /// Reads an address or size: one cell (the form most manifests use) or two cells.
    pub fn u64(&self) -> Result<u64, String> {
        self.view().u64().ok_or_else(|| {
            format!(
                "expected one or two u32 cells, found {} bytes",
                self.value.len()
            )
        })
    }

    /// Reads the value as a list of u32 cells.
    pub fn cells(&self) -> Result<Vec<u32>, String> {
        match self.view().cell_list() {
            Some(cells) => Ok(cells.collect()),
            None => Err(format!(
                "expected u32 cells, found {} bytes",
                self.value.len()
            )),
        }
    }

    /// Reads the value as one NUL-terminated string.
    pub fn string(&self) -> Result<&str, String> {
        self.view()
            .string()
            .ok_or_else(|| match self.value.split_last() {
                Some((0, body)) if !body.contains(&0) => "string is not UTF-8".to_string(),
                _ => "expected one NUL-terminated string".to_string(),
            })
    }

    /// Reads the value as a string list (invalid parts are dropped).
    pub fn strings(&self) -> Vec<&str> {
        self.view().strings().collect()
    }

    /// Tells whether the property is empty (a boolean property).
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }
}

#[cfg(test)]
mod tests {
    //! The reader's own tests are in fdt-walk; these check what this module adds: owned
    //! copies, paths and the nesting limit.
    use super::*;

    /// Writes a DTB: a root holding `a = <1>; s = "x";` and `depth` nested nodes `n@1`, the
    /// innermost with `b = <0 2>;`.
    fn nested(depth: usize) -> Vec<u8> {
        use fdt_walk::writer::{build, cells, Item};
        let mut items = vec![
            Item::Begin(""),
            Item::Prop("a", cells(&[1])),
            Item::Prop("s", b"x\0".to_vec()),
        ];
        items.extend((0..depth).map(|_| Item::Begin("n@1")));
        items.push(Item::Prop("b", cells(&[0, 2])));
        items.extend((0..=depth).map(|_| Item::End));
        build(&items)
    }

    #[test]
    fn copies_the_tree_with_paths() {
        let root = parse(&nested(2)).unwrap();
        assert_eq!(root.path, "/");
        assert_eq!(root.prop("a").unwrap().u32(), Ok(1));
        assert_eq!(root.prop("s").unwrap().string(), Ok("x"));
        let child = root.child("n").unwrap();
        assert_eq!(child.path, "/n@1");
        let inner = child.child("n").unwrap();
        assert_eq!(inner.path, "/n@1/n@1");
        assert_eq!(inner.prop("b").unwrap().u64(), Ok(2));
        assert!(inner.prop("b").unwrap().u32().is_err());
        assert!(inner.children.is_empty());
    }

    #[test]
    fn rejects_deep_nesting_and_bad_blobs_with_a_reason() {
        assert!(parse(&nested(MAX_DEPTH)).is_ok());
        assert_eq!(
            parse(&nested(MAX_DEPTH + 1)).err().as_deref(),
            Some("nodes nested deeper than 32")
        );
        let good = nested(1);
        assert!(parse(&good[..good.len() - 1]).is_err());
        assert!(!is_dtb(&good[1..]));
        assert!(is_dtb(&good));
    }
}
