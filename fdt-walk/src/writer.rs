//! A small flattened-device-tree writer for tests (feature `writer`, and this crate's own
//! tests): builds blobs with exactly the nodes, properties and malformations a test needs,
//! without `dtc`. Misuse (a tree larger than 4 GiB) panics; it never reads untrusted input.

use alloc::vec::Vec;

/// One step of a device tree in document order.
#[derive(Clone, Debug)]
pub enum Item<'a> {
    /// Opens a node with this name ("" for the root).
    Begin(&'a str),
    /// A property of the open node.
    Prop(&'a str, Vec<u8>),
    /// Closes the open node.
    End,
    /// An `FDT_NOP` token.
    Nop,
}

/// Encodes u32 cells big-endian, as a property value.
pub fn cells(c: &[u32]) -> Vec<u8> {
    c.iter().flat_map(|x| x.to_be_bytes()).collect()
}

fn word(n: usize) -> [u8; 4] {
    u32::try_from(n)
        .expect("test device trees stay below 4 GiB")
        .to_be_bytes()
}

fn pad(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
}

/// Writes a DTB (version 17, empty memory reservation map) holding `items` and a final
/// `FDT_END`. Items are written as given, so unbalanced trees can be built on purpose.
pub fn build(items: &[Item]) -> Vec<u8> {
    let mut st = Vec::new();
    let mut strings: Vec<u8> = Vec::new();
    for it in items {
        match it {
            Item::Begin(n) => {
                st.extend(crate::FDT_BEGIN_NODE.to_be_bytes());
                st.extend(n.as_bytes());
                st.push(0);
                pad(&mut st);
            }
            Item::Prop(n, v) => {
                st.extend(crate::FDT_PROP.to_be_bytes());
                st.extend(word(v.len()));
                st.extend(word(strings.len()));
                strings.extend(n.as_bytes());
                strings.push(0);
                st.extend(v);
                pad(&mut st);
            }
            Item::End => st.extend(crate::FDT_END_NODE.to_be_bytes()),
            Item::Nop => st.extend(crate::FDT_NOP.to_be_bytes()),
        }
    }
    st.extend(crate::FDT_END.to_be_bytes());
    let header = 40;
    let off_struct = header + 16; // the header, then an empty memory reservation map
    let off_strings = off_struct + st.len();
    let total = off_strings + strings.len();
    let mut b = Vec::with_capacity(total);
    b.extend(crate::FDT_MAGIC.to_be_bytes());
    for w in [total, off_struct, off_strings, header] {
        b.extend(word(w));
    }
    // version 17, last compatible version 16, boot CPU 0.
    for w in [17, 16, 0, strings.len(), st.len()] {
        b.extend(word(w));
    }
    b.extend([0; 16]);
    b.extend(st);
    b.extend(strings);
    b
}
