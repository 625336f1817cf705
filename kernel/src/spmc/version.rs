//! FFA_VERSION (FF-A v1.2 section 13.2), the one place a version is negotiated: for the normal
//! world (a direct call, or the SPMD's VERSION_REQ framework message, `framework.rs`) and for
//! partitions.

use super::call::{Caller, Cx, Flow};
use super::{Env, Spmc};
use ffa_abi::error::ErrorCode;
use ffa_abi::interface::Interface;
use ffa_abi::regs::Regs;
use ffa_abi::version::Version;

/// Works out FFA_VERSION for a caller asking for `requested_word`: the version it will speak
/// (the one it asked for, for the caller to record) and ours to answer with. A caller is
/// compatible when its major version is ours and its minor is not newer than ours (FF-A v1.2
/// section 13.2.2; Hafnium's `ffa_versions_are_compatible`); anything else, and a set bit 31,
/// is NOT_SUPPORTED (docs/abi-status.md, conformance decision (c)).
pub fn negotiate(ours: Version, requested_word: u32) -> Result<(Version, Version), ErrorCode> {
    let requested = Version::decode(requested_word).ok_or(ErrorCode::NotSupported)?;
    if !ours.is_compatible_with(requested) {
        return Err(ErrorCode::NotSupported);
    }
    Ok((requested, ours))
}

/// Negotiates with the normal world and records the agreed version; returns ours or the error
/// to answer with.
pub fn for_normal_world(spmc: &Spmc, requested_word: u32) -> Result<Version, ErrorCode> {
    let r = negotiate(spmc.version, requested_word);
    if let Ok((agreed, _)) = r {
        spmc.set_nw_version(agreed);
    }
    r.map(|(_, ours)| ours)
}

/// FFA_VERSION from any caller. Its NOT_SUPPORTED goes in w0 itself, not in an FFA_ERROR; a
/// word with bit 31 set never decodes to an `Interface::Version`, so the dispatcher answers it
/// with [`refuse`].
pub fn handle<'s, E: Env>(cx: &mut Cx<'s, '_, E>, call: &Interface, out: &mut Regs) -> Flow<'s> {
    let Interface::Version { requested } = call else {
        return refuse(out);
    };
    let word = requested.encode();
    let answer = match &mut cx.caller {
        Caller::NormalWorld => for_normal_world(cx.spmc, word),
        Caller::Sp(sp, rt) => {
            let r = negotiate(cx.spmc.version, word);
            // Once the partition has made another FF-A call, its version is fixed: asking for
            // a different one is NOT_SUPPORTED and changes nothing (as Hafnium does, and
            // Arm's ACS ffa_version_negotiation expects).
            let r = match r {
                Ok((agreed, _)) if rt.version_frozen && agreed != rt.version => {
                    Err(ErrorCode::NotSupported)
                }
                other => other,
            };
            if let Ok((agreed, _)) = r {
                rt.version = agreed;
                // The copy senders of indirect messages read (`SpMailbox::version`); a
                // poisoned mailbox lock refuses every message to it already.
                if let Ok(mut mb) = sp.mailbox() {
                    mb.version = agreed;
                }
            }
            r.map(|(_, ours)| ours)
        }
    };
    *out = Regs::version_response(answer);
    Flow::Reply
}

/// The answer to an FFA_VERSION whose requested word has bit 31 set.
pub fn refuse<'s>(out: &mut Regs) -> Flow<'s> {
    *out = Regs::version_response(Err(ErrorCode::NotSupported));
    Flow::Reply
}
