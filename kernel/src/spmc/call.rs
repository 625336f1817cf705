//! The one handler signature every FF-A handler has:
//!
//! ```text
//! fn handle<'s, E: Env>(cx: &mut Cx<'s, '_, E>, call: &Interface, out: &mut Regs) -> Flow<'s>
//! ```
//!
//! `cx` says who is calling (the normal world, or an SP with its locked runtime) and at which
//! FF-A version; `call` is the decoded call, borrowed (never moved: it is 144 bytes); `out` is
//! where the handler writes its answer when it returns [`Flow::Reply`] (and only then). The
//! dispatcher (`dispatch.rs`) decodes, routes, and carries out what the handler returns, so no
//! handler runs a partition or imports the dispatcher.

use super::partition::{RunEnd, Runtime, Sp};
use super::{Env, Mailbox, Spmc};
use crate::policy::{self, DirectForm};
use ffa_abi::endpoint::EndpointId;
use ffa_abi::error::ErrorCode;
use ffa_abi::version::Version;

/// The normal world's endpoint ID as the SPMC sees it (the OS or hypervisor; FF-A v1.2
/// section 2.9). Memory transactions from the normal world carry it as their sender.
pub const NW_ID: EndpointId = EndpointId(0);

/// Who made the call.
pub enum Caller<'c> {
    /// The normal world (forwarded by the SPMD).
    NormalWorld,
    /// A secure partition, with its runtime (locked by the dispatcher for the whole call).
    Sp(&'c Sp, &'c mut Runtime),
}

/// The context of one call.
pub struct Cx<'s, 'c, E: Env> {
    pub spmc: &'s Spmc,
    pub env: &'c mut E,
    pub caller: Caller<'c>,
    /// The FF-A version the caller negotiated.
    pub version: Version,
}

impl<E: Env> Cx<'_, '_, E> {
    /// The caller as the capability gate and the ABI table name it.
    pub fn who(&self) -> policy::Caller {
        match &self.caller {
            Caller::NormalWorld => policy::Caller::NormalWorld,
            Caller::Sp(sp, _) => policy::Caller::Sp(sp.index),
        }
    }

    /// The caller's endpoint ID.
    pub fn id(&self) -> EndpointId {
        self.caller.id()
    }

    /// Runs `f` on the caller's RX/TX buffer pair under its lock: the SP's (`Sp::mailbox`) or
    /// the normal world's ([`Spmc::nw_state`]); ABORTED if that lock was poisoned.
    pub fn with_mailbox<T>(
        &mut self,
        f: impl FnOnce(&mut Option<Mailbox>) -> T,
    ) -> Result<T, ErrorCode> {
        match &mut self.caller {
            Caller::NormalWorld => Ok(f(&mut self.spmc.nw_state()?.mailbox)),
            Caller::Sp(sp, _) => Ok(f(&mut sp.mailbox()?.pair)),
        }
    }
}

/// Where a direct message goes.
#[derive(Clone, Copy)]
pub enum Target<'s> {
    /// The SPMC's own endpoint, which echoes it.
    Spmc,
    /// A partition, run until it responds.
    Sp(&'s Sp),
}

/// What the dispatcher does after a handler returned.
pub enum Flow<'s> {
    /// The answer is in `out`: return it to the caller.
    Reply,
    /// Deliver the caller's message, as it is in its registers (cleaned of what the message
    /// does not use), to `target`; the target's response is the answer.
    Deliver {
        target: Target<'s>,
        sender: EndpointId,
        form: DirectForm,
    },
    /// The calling partition's run ends (its answer, if any, is in its own registers).
    End(RunEnd),
}

impl Caller<'_> {
    /// The caller's endpoint ID: [`NW_ID`] for the normal world, else the SP's.
    pub fn id(&self) -> EndpointId {
        match self {
            Caller::NormalWorld => NW_ID,
            Caller::Sp(sp, _) => sp.id(),
        }
    }

    /// The calling partition's runtime, or `None` for the normal world.
    pub fn runtime(&mut self) -> Option<&mut Runtime> {
        match self {
            Caller::NormalWorld => None,
            Caller::Sp(_, rt) => Some(rt),
        }
    }

    /// The same caller, borrowed for a shorter time: for a helper that keeps the caller while
    /// it works (the memory engine's environment) and gives it back afterwards.
    pub fn reborrow(&mut self) -> Caller<'_> {
        match self {
            Caller::NormalWorld => Caller::NormalWorld,
            Caller::Sp(sp, rt) => Caller::Sp(sp, rt),
        }
    }
}
