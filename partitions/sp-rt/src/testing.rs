//! A fake SPMC conduit for host tests (of sp-rt and of SP crates, with the `fake-spmc`
//! feature): records every call and answers from a script.

use crate::conduit::{Conduit, Regs, RegsExt};
use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// FFA_SUCCESS_32, the default reply.
pub const SUCCESS_32: u32 = crate::abi::fid::SUCCESS_32;
/// FFA_ERROR, for scripting error replies.
pub const ERROR: u32 = crate::abi::fid::ERROR;

/// Builds an FFA_ERROR reply with status `code`.
pub fn error_reply(code: i32) -> Regs {
    Regs::call(ERROR, &[0, u64::from(code as u32)]) // any code, also ones the spec lacks
}

/// Builds an FFA_SUCCESS_32 reply with w2.. = `args`.
pub fn success_reply(args: &[u64]) -> Regs {
    let mut all = [0u64; 17];
    for (d, s) in all[1..].iter_mut().zip(args) {
        *d = *s;
    }
    Regs::call(SUCCESS_32, &all)
}

/// Records calls; replies with the scripted answers in order, then FFA_SUCCESS_32.
#[derive(Debug, Default)]
pub struct FakeSpmc {
    /// Every call made, in order.
    pub calls: Vec<Regs>,
    /// Replies still to give.
    pub replies: VecDeque<Regs>,
}

impl FakeSpmc {
    /// A fake that gives `replies` in order.
    pub fn with_replies(replies: impl IntoIterator<Item = Regs>) -> Self {
        Self {
            calls: Vec::new(),
            replies: replies.into_iter().collect(),
        }
    }
}

impl Conduit for FakeSpmc {
    fn call(&mut self, regs: Regs) -> Regs {
        self.calls.push(regs);
        self.replies
            .pop_front()
            .unwrap_or_else(|| Regs::call(SUCCESS_32, &[]))
    }
}

/// A tiny flattened-device-tree writer, to build manifests for tests.
pub mod dtb {
    use alloc::vec::Vec;

    /// One step of a device tree in document order.
    pub enum Item<'a> {
        /// Opens a node with this name ("" for the root).
        Begin(&'a str),
        /// A property of the open node.
        Prop(&'a str, Vec<u8>),
        /// Closes the open node.
        End,
    }

    /// Encodes u32 cells big-endian, as a property value.
    pub fn cells(c: &[u32]) -> Vec<u8> {
        c.iter().flat_map(|x| x.to_be_bytes()).collect()
    }

    /// Writes a DTB (version 17, empty reservation map) holding `items`.
    pub fn build(items: &[Item]) -> Vec<u8> {
        let mut st = Vec::new();
        let mut strings: Vec<u8> = Vec::new();
        for it in items {
            match it {
                Item::Begin(n) => {
                    st.extend(1u32.to_be_bytes());
                    st.extend(n.as_bytes());
                    st.push(0);
                    while st.len() % 4 != 0 {
                        st.push(0);
                    }
                }
                Item::Prop(n, v) => {
                    let off = strings.len() as u32;
                    strings.extend(n.as_bytes());
                    strings.push(0);
                    st.extend(3u32.to_be_bytes());
                    st.extend((v.len() as u32).to_be_bytes());
                    st.extend(off.to_be_bytes());
                    st.extend(v);
                    while st.len() % 4 != 0 {
                        st.push(0);
                    }
                }
                Item::End => st.extend(2u32.to_be_bytes()),
            }
        }
        st.extend(9u32.to_be_bytes()); // FDT_END
        let off_struct = 40usize + 16; // header + an empty memory reservation map
        let off_strings = off_struct + st.len();
        let total = off_strings + strings.len();
        let mut b = Vec::new();
        for w in [
            0xD00D_FEEDu32,
            total as u32,
            off_struct as u32,
            off_strings as u32,
            40usize as u32,
            17,
            16,
            0,
            strings.len() as u32,
            st.len() as u32,
        ] {
            b.extend(w.to_be_bytes());
        }
        b.extend([0u8; 16]);
        b.extend(st);
        b.extend(strings);
        b
    }
}
