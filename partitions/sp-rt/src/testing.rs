//! A fake SPMC conduit for host tests (of sp-rt and of SP crates, with the `fake-spmc`
//! feature): records every call and answers from a script.
#![forbid(unsafe_code)]

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

/// A tiny flattened-device-tree writer, to build manifests for tests (the one `fdt-walk`
/// provides with its `writer` feature).
pub mod dtb {
    pub use fdt_walk::writer::{build, cells, Item};
}
