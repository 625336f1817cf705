//! Direct messaging (FF-A v1.2 chapter 15): FFA_MSG_SEND_DIRECT_REQ/RESP (32/64) and
//! DIRECT_REQ2/RESP2, from the normal world to SPs and between SPs.
//!
//! The handlers here decide whether a message may go where it is addressed; the dispatcher
//! then moves it ([`copy_message`]) and runs the receiver.
//!
//! Errors, all returned without changing any state: a malformed or forged source ID is
//! INVALID_PARAMETERS, an unknown destination INVALID_PARAMETERS, a destination or sender whose
//! manifest or grants do not allow the message DENIED (decided by `policy`), a destination that
//! is running or is waiting on a request of its own (which includes every cycle of requests)
//! BUSY, an aborted destination ABORTED.

use super::call::{Caller, Cx, Flow, Target};
use super::{framework, Env};
use crate::policy::{self, DirectForm};
use ffa_abi::direct::DirectHeader;
use ffa_abi::endpoint::EndpointPair;
use ffa_abi::error::{DecodeError, ErrorCode};
use ffa_abi::func_id::FuncId;
use ffa_abi::interface::Interface;
use ffa_abi::regs::Regs;
use ffa_abi::uuid::Uuid;
use ffa_abi::version::Version;

/// Tells whether a message is an SMC64 call (bit 30 of the function ID).
pub fn is_64(x0: u64) -> bool {
    x0 & (1 << 30) != 0
}

/// A direct message as its handler needs it: the endpoints, which ABI, and REQ2's protocol
/// UUID, decoded straight from the caller's registers by [`decode`]. The payload stays in the
/// registers: the dispatcher moves it with [`copy_message`].
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Msg {
    pub pair: EndpointPair,
    pub kind: Kind,
    /// REQ2's protocol UUID (nil for the other kinds).
    pub uuid: Uuid,
}

/// Which direct messaging ABI (the SMC32 and SMC64 forms of REQ and RESP are one kind each):
/// ffa-abi's, whose register codec [`decode`] uses.
pub use ffa_abi::direct::DirectKind as Kind;

/// Decodes a direct message from x0-x17 for a caller at `version` with ffa-abi's message-path
/// codec ([`DirectHeader`]), which the general decoder (`Interface::decode_words_sbz_ignored`)
/// itself uses for these ABIs: REQ2/RESP2 exist from v1.2, w2 of REQ/RESP holds flags whose
/// reserved bits must be zero, the upper half of x1 of REQ2/RESP2 must be zero; everything
/// else the ABIs do not use is reserved (SBZ) and ignored. Without building the general
/// 144-byte `Interface`, this is the message path's decode (docs/performance.md); the tests
/// below check it against the general decoder.
///
/// `None` when the call is not a direct message, or is a framework message (w2 bit 31 set
/// with valid flags): those take the general path, which hands them to `framework`.
#[inline]
pub fn decode(fid: FuncId, x: &[u64; 18], version: Version) -> Option<Result<Msg, ErrorCode>> {
    msg(DirectHeader::decode_fid(fid, x, version)?)
}

const REQ32: u32 = FuncId::MsgSendDirectReq32.raw();
const REQ64: u32 = FuncId::MsgSendDirectReq64.raw();
const RESP32: u32 = FuncId::MsgSendDirectResp32.raw();
const RESP64: u32 = FuncId::MsgSendDirectResp64.raw();

/// The message path's first step: the direct messaging ABI that `w0` names, if the ABI table
/// implements it for the caller (`from_sp`: a partition; the responses are partitions' only),
/// exactly as `abi_table::implemented_fid` would say (proven by the tests below), without its
/// table walk. `None` for every other call, which takes the general path.
#[inline(always)]
pub fn kind_of(w0: u32, from_sp: bool) -> Option<Kind> {
    match w0 {
        REQ32 | REQ64 => Some(Kind::Req),
        RESP32 | RESP64 if from_sp => Some(Kind::Resp),
        REQ2 => Some(Kind::Req2),
        RESP2 if from_sp => Some(Kind::Resp2),
        _ => None,
    }
}

/// [`decode`] of a message whose ABI is known to be `kind`.
#[inline(always)]
pub fn decode_kind(kind: Kind, x: &[u64; 18], version: Version) -> Option<Result<Msg, ErrorCode>> {
    msg(DirectHeader::decode_kind(kind, x, version))
}

/// The handler's view of a decoded header: framework messages are left to the general path.
#[inline(always)]
fn msg(h: Result<DirectHeader, DecodeError>) -> Option<Result<Msg, ErrorCode>> {
    Some(match h {
        Err(e) => Err(e.error_code()),
        Ok(h) if h.flags.framework_type().is_some() => return None,
        Ok(h) => Ok(Msg {
            pair: h.pair,
            kind: h.kind,
            uuid: h.uuid,
        }),
    })
}

impl Msg {
    /// The message of a decoded direct messaging call that is not a framework message.
    pub fn of(call: &Interface) -> Option<Msg> {
        let (pair, kind, uuid) = match call {
            Interface::DirectReq { pair, flags, .. } if flags.framework_type().is_none() => {
                (*pair, Kind::Req, Uuid::NIL)
            }
            Interface::DirectResp { pair, flags, .. } if flags.framework_type().is_none() => {
                (*pair, Kind::Resp, Uuid::NIL)
            }
            Interface::DirectReq2 { pair, uuid, .. } => (*pair, Kind::Req2, *uuid),
            Interface::DirectResp2 { pair, .. } => (*pair, Kind::Resp2, Uuid::NIL),
            _ => return None,
        };
        Some(Msg { pair, kind, uuid })
    }
}

/// The direct messaging ABIs as the general decoder gives them, from any caller: framework
/// messages go to `framework` (from the normal world; a partition may not send them), the rest
/// to [`handle_msg`]. The dispatcher's fast path calls [`handle_msg`] directly.
pub fn handle<'s, E: Env>(cx: &mut Cx<'s, '_, E>, call: &Interface, out: &mut Regs) -> Flow<'s> {
    if let Some(msg) = Msg::of(call) {
        return match handle_msg(cx, &msg) {
            Ok(flow) => flow,
            Err(e) => reply(out, e),
        };
    }
    match call {
        // Framework messages come from the SPMD only; a partition may not send them.
        Interface::DirectReq { .. } if matches!(cx.caller, Caller::NormalWorld) => {
            framework::handle(cx, call, out)
        }
        // A partition's framework request, or a framework response (never sent to the SPMC).
        Interface::DirectReq { .. } | Interface::DirectResp { .. } => {
            reply(out, ErrorCode::InvalidParameters)
        }
        _ => reply(out, ErrorCode::NotSupported),
    }
}

/// A direct message (not a framework message) from any caller: where it goes, or the error
/// that answers it. Changes no state.
#[inline]
pub fn handle_msg<'s, E: Env>(cx: &mut Cx<'s, '_, E>, msg: &Msg) -> Result<Flow<'s>, ErrorCode> {
    match msg.kind {
        Kind::Req => request(cx, msg.pair, DirectForm::Req, None),
        Kind::Req2 => request(cx, msg.pair, DirectForm::Req2, Some(&msg.uuid)),
        Kind::Resp => response(cx, msg.pair, DirectForm::Req),
        Kind::Resp2 => response(cx, msg.pair, DirectForm::Req2),
    }
}

fn reply<'s>(out: &mut Regs, e: ErrorCode) -> Flow<'s> {
    *out = Regs::error(e);
    Flow::Reply
}

/// A direct request (REQ or REQ2 with protocol `uuid`) from the normal world or an SP.
fn request<'s, E: Env>(
    cx: &mut Cx<'s, '_, E>,
    pair: EndpointPair,
    form: DirectForm,
    uuid: Option<&Uuid>,
) -> Result<Flow<'s>, ErrorCode> {
    let spmc = cx.spmc;
    let sender = match &cx.caller {
        Caller::NormalWorld => {
            if pair.source.is_secure() {
                return Err(ErrorCode::InvalidParameters);
            }
            None
        }
        Caller::Sp(sp, _) => {
            if pair.source != sp.id() || pair.destination == sp.id() {
                return Err(ErrorCode::InvalidParameters);
            }
            Some(sp.desc)
        }
    };
    if pair.destination == spmc.id {
        if let Some(s) = sender {
            policy::may_send_direct_to_spmc(s, form)?;
        }
        return Ok(Flow::Deliver {
            target: Target::Spmc,
            sender: pair.source,
            form,
        });
    }
    // Includes normal-world destinations: SPs cannot send direct requests to them.
    let Some(idx) = spmc.table.index_of(pair.destination) else {
        return Err(ErrorCode::InvalidParameters);
    };
    let target = &spmc.sps[idx];
    policy::may_send_direct(sender, target.desc, form)?;
    // The protocol UUID of a DIRECT_REQ2: nil, or one the receiver implements (FF-A v1.2
    // section 15.4).
    if let Some(u) = uuid {
        if !u.is_nil() && !target.desc.has_uuid(*u) {
            return Err(ErrorCode::InvalidParameters);
        }
    }
    Ok(Flow::Deliver {
        target: Target::Sp(target),
        sender: pair.source,
        form,
    })
}

/// A direct response from an SP: ends its run if it answers the request it is handling. RESP
/// answers REQ and RESP2 answers REQ2 (FF-A v1.2 section 15.3); the SMC32 or SMC64 form of a
/// RESP need not match its REQ's, and the response is delivered in its own form (as Hafnium
/// does and Arm's ACS expects: docs/abi-status.md, conformance decision (b)).
fn response<'s, E: Env>(
    cx: &mut Cx<'s, '_, E>,
    pair: EndpointPair,
    form: DirectForm,
) -> Result<Flow<'s>, ErrorCode> {
    let Caller::Sp(sp, rt) = &cx.caller else {
        // The ABI table lists the responses for partitions only.
        return Err(ErrorCode::NotSupported);
    };
    sp_response(sp, rt, pair, form)
}

/// [`response`] from partition `sp` (its runtime `rt`): the dispatcher's message path calls it
/// for a partition's response without building the handlers' context.
#[inline]
pub fn sp_response<'s>(
    sp: &super::partition::Sp,
    rt: &super::partition::Runtime,
    pair: EndpointPair,
    form: DirectForm,
) -> Result<Flow<'s>, ErrorCode> {
    if pair.source != sp.id() {
        return Err(ErrorCode::InvalidParameters);
    }
    match rt.request() {
        Some(req) if req.sender == pair.destination && req.form == form => {
            Ok(Flow::End(super::partition::RunEnd::Response))
        }
        Some(req) if req.sender != pair.destination => Err(ErrorCode::InvalidParameters),
        // Responding while handling no request, or with the wrong form.
        _ => Err(ErrorCode::Denied),
    }
}

const REQ2: u32 = FuncId::MsgSendDirectReq2.raw();
const RESP2: u32 = FuncId::MsgSendDirectResp2.raw();

/// Copies a direct message that decoded successfully from `src` to `dst`, in its canonical
/// form (what `Interface::encode` of the decoded message gives, proven by the tests below): the
/// upper halves of the 32-bit fields and of every SMC32 argument cleared, and x8-x17 cleared
/// for DIRECT_REQ/RESP, which do not use them. So no register a message does not use carries
/// one endpoint's leftovers to another, without decoding and re-encoding the whole block.
#[inline]
pub fn copy_message(dst: &mut [u64; 18], src: &[u64; 18]) {
    let lo = |v: u64| v & 0xFFFF_FFFF;
    let w0 = src[0] as u32;
    dst[0] = u64::from(w0);
    if w0 == REQ2 || w0 == RESP2 {
        // x1's upper half was checked zero by the decoder; x2-x3 are REQ2's protocol UUID and
        // reserved in RESP2; x4-x17 are the payload. Copies of sizes the compiler writes inline.
        dst[1] = src[1];
        if w0 == REQ2 {
            dst[2] = src[2];
            dst[3] = src[3];
        } else {
            dst[2] = 0;
            dst[3] = 0;
        }
        dst[4..11].copy_from_slice(&src[4..11]);
        dst[11..18].copy_from_slice(&src[11..18]);
        return;
    }
    dst[1] = lo(src[1]);
    dst[2] = lo(src[2]);
    if is_64(src[0]) {
        dst[3..8].copy_from_slice(&src[3..8]);
    } else {
        for i in 3..8 {
            dst[i] = lo(src[i]);
        }
    }
    clear_x8_x17(dst);
}

/// Clears x8-x17 (DIRECT_REQ/RESP do not use them). In two halves: the firmware is built for
/// strict alignment, where LLVM writes a constant-size clear inline only up to 8 stores and
/// calls `memset` (about 28 instructions for 80 bytes) above that; the halves are inline
/// stores (docs/performance.md).
#[inline(always)]
pub fn clear_x8_x17(x: &mut [u64; 18]) {
    x[8..13].fill(0);
    // Keeps LLVM from merging the halves back into one 80-byte `memset` (it did); costs no
    // instruction, the registers are in memory already.
    core::hint::black_box(&mut *x);
    x[13..18].fill(0);
}

/// The SPMC's own endpoint answers direct requests by echoing them, in place: the cheapest round
/// trip through the SPMC (used by `cargo xtask bench`), and a liveness check for clients. The
/// answer is [`copy_message`]'s canonical form with the response's function ID, the endpoints
/// swapped and (RESP2) x2-x3 cleared.
pub fn echo(io: &mut [u64; 18], form: DirectForm) {
    let lo = |v: u64| v & 0xFFFF_FFFF;
    let w0 = io[0] as u32;
    io[0] = u64::from(match form {
        DirectForm::Req if w0 == FuncId::MsgSendDirectReq64.raw() => {
            FuncId::MsgSendDirectResp64.raw()
        }
        DirectForm::Req => FuncId::MsgSendDirectResp32.raw(),
        DirectForm::Req2 => FuncId::MsgSendDirectResp2.raw(),
    });
    // The upper half of x1 is zero in every accepted request (REQ2: checked; REQ: w1).
    io[1] = EndpointPair::unpack(io[1] as u32).reversed().pack().into();
    match form {
        DirectForm::Req2 => {
            // RESP2 has no UUID: x2-x3 are reserved; x4-x17 are the payload.
            io[2] = 0;
            io[3] = 0;
        }
        DirectForm::Req => {
            io[2] = lo(io[2]);
            if w0 != FuncId::MsgSendDirectReq64.raw() {
                for x in &mut io[3..8] {
                    *x = lo(*x);
                }
            }
            clear_x8_x17(io);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ffa_abi::version::Version;
    use proptest::prelude::*;

    use ffa_abi::direct::FUNCTIONS as FIDS;

    proptest! {
        /// Cleaning in place gives exactly the canonical encoding of the decoded message, for
        /// every block the decoder accepts (junk in the upper halves, in x8-x17 and in x0's
        /// upper half included).
        #[test]
        fn copy_message_is_the_canonical_encoding(
            which in 0usize..6,
            junk in proptest::array::uniform18(any::<u64>()),
            clean_mask in any::<u32>(),
        ) {
            let mut x = junk;
            // Mostly-valid blocks: keep the fields the decoder checks valid often enough.
            x[0] = (junk[0] & !0xFFFF_FFFF) | u64::from(FIDS[which].raw());
            if clean_mask & 1 != 0 { x[1] &= 0xFFFF_FFFF; }
            if clean_mask & 2 != 0 { x[2] = 0; }
            if clean_mask & 4 != 0 { x[3] = 0; }
            if clean_mask & 8 != 0 { x[2] = (x[2] & !0xFFFF_FFFF) | 0x8000_0001; }
            let regs = Regs(x);
            if let Ok(call) = Interface::decode_sbz_ignored(&regs, Version::V1_2) {
                let mut out = [0xAAu64; 18];
                copy_message(&mut out, &x);
                prop_assert_eq!(out, call.encode().0);
            }
        }
    }

    proptest! {
        /// The message path's decode agrees with the general decoder on every block, at every
        /// version: the same error code where it refuses, the same message where it accepts,
        /// and it hands over (`None`) exactly the framework messages.
        #[test]
        fn decode_agrees_with_the_general_decoder(
            which in 0usize..6,
            junk in proptest::array::uniform18(any::<u64>()),
            clean_mask in any::<u32>(),
            major in 0u16..3,
            minor in 0u16..4,
            framework_type in any::<u8>(),
        ) {
            let mut x = junk;
            x[0] = (junk[0] & !0xFFFF_FFFF) | u64::from(FIDS[which].raw());
            if clean_mask & 1 != 0 { x[1] &= 0xFFFF_FFFF; }
            if clean_mask & 16 != 0 { x[1] = (x[1] & 0xFFFF_FFFF) | 1 << (32 + (clean_mask >> 5) % 2 * 31); }
            if clean_mask & 2 != 0 { x[2] &= !0xFFFF_FFFF; }
            if clean_mask & 4 != 0 {
                x[2] = (x[2] & !0xFFFF_FFFF) | 0x8000_0000 | u64::from(framework_type);
            }
            // Mostly the versions callers negotiate.
            let version = if clean_mask & 8 != 0 { Version::V1_2 } else { Version::new(major, minor) };
            let general = Interface::decode_words_sbz_ignored(&x, version);
            match decode(FIDS[which], &x, version) {
                None => {
                    let call = general.expect("handed over only what decodes");
                    prop_assert!(Msg::of(&call).is_none());
                    let framework = matches!(
                        call,
                        Interface::DirectReq { flags, .. } | Interface::DirectResp { flags, .. }
                            if flags.framework_type().is_some()
                    );
                    prop_assert!(framework, "handed over a non-framework call {:?}", call);
                }
                Some(Err(e)) => prop_assert_eq!(general.map_err(|g| g.error_code()), Err(e)),
                Some(Ok(m)) => {
                    let call = general.expect("accepted by both");
                    prop_assert_eq!(Msg::of(&call), Some(m));
                }
            }
        }
    }

    /// `kind_of` accepts exactly the direct messaging ABIs the ABI table implements for the
    /// caller, and names the same kind as `decode` of the table's function ID.
    #[test]
    fn kind_of_agrees_with_the_abi_table() {
        use crate::policy::Caller;
        use crate::spmc::abi_table::implemented_fid;
        let mut w0s: Vec<u32> = FuncId::ALL.iter().map(|f| f.raw()).collect();
        // Neighbours and other conventions' forms of the same numbers.
        for f in FIDS {
            for d in [1u32, 1 << 30, 1 << 31, 0x1_0000, 0xFFFF_0000] {
                w0s.push(f.raw() ^ d);
                w0s.push(f.raw().wrapping_add(d));
            }
        }
        for w0 in w0s {
            for (caller, sp) in [(Caller::NormalWorld, false), (Caller::Sp(0), true)] {
                let mut x = [0u64; 18];
                x[0] = u64::from(w0);
                let table = implemented_fid(w0, caller).and_then(|f| {
                    FIDS.contains(&f)
                        .then(|| match decode(f, &x, Version::V1_2) {
                            Some(Ok(m)) => m.kind,
                            other => panic!("{f:?}: {other:?}"),
                        })
                });
                assert_eq!(kind_of(w0, sp), table, "w0 {w0:#x}, caller {caller:?}");
            }
        }
    }

    #[test]
    fn decode_leaves_every_other_abi_to_the_general_path() {
        for f in FuncId::ALL {
            if !FIDS.contains(f) {
                assert_eq!(decode(*f, &[0; 18], Version::V1_2), None, "{f:?}");
            }
        }
    }

    proptest! {
        /// The in-place echo is the canonical encoding of the request with the response's
        /// function ID and the endpoints swapped.
        #[test]
        fn echo_is_the_cleaned_request_turned_round(
            which in 0usize..3,
            junk in proptest::array::uniform18(any::<u64>()),
        ) {
            let req = [FuncId::MsgSendDirectReq32, FuncId::MsgSendDirectReq64, FuncId::MsgSendDirectReq2][which];
            let mut x = junk;
            x[0] = u64::from(req.raw());
            x[1] &= 0xFFFF_FFFF;
            x[2] = if which == 2 { junk[2] } else { 0 };
            let Ok(call) = Interface::decode_sbz_ignored(&Regs(x), Version::V1_2) else {
                return Ok(());
            };
            let form = if which == 2 { DirectForm::Req2 } else { DirectForm::Req };
            let mut want = call.encode().0;
            want[0] = u64::from(match which {
                0 => FuncId::MsgSendDirectResp32.raw(),
                1 => FuncId::MsgSendDirectResp64.raw(),
                _ => FuncId::MsgSendDirectResp2.raw(),
            });
            want[1] = u64::from(EndpointPair::unpack(x[1] as u32).reversed().pack());
            if which == 2 {
                want[2] = 0;
                want[3] = 0;
            }
            let mut io = x;
            echo(&mut io, form);
            prop_assert_eq!(io, want);
        }
    }

    #[test]
    fn copy_message_cleans_a_32_bit_request() {
        let mut x = [u64::MAX; 18];
        x[0] = 0xFFFF_FFFF_0000_0000 | u64::from(FuncId::MsgSendDirectReq32.raw());
        x[2] = 0xFFFF_FFFF_0000_0000;
        let call = Interface::decode_sbz_ignored(&Regs(x), Version::V1_2).unwrap();
        let mut out = [7u64; 18];
        copy_message(&mut out, &x);
        assert_eq!(out, call.encode().0);
        assert_eq!(out[0], 0x8400_006F);
        assert!(out[1..8].iter().all(|&v| v >> 32 == 0));
        assert!(out[8..].iter().all(|&v| v == 0));
    }
}
