//! Direct messaging for an S-EL0 partition (FF-A v1.2, Arm DEN0077, direct messaging ABIs:
//! FFA_MSG_SEND_DIRECT_REQ/RESP 32/64 and FFA_MSG_SEND_DIRECT_REQ2/RESP2) and the request loop
//! that serves them.
//!
//! Messages are decoded and encoded by ffa-abi ([`Interface::decode_sbz_ignored`],
//! [`Interface::encode`]), the workspace's one FF-A codec; this module only maps its
//! `DirectReq`/`DirectResp`/`DirectReq2`/`DirectResp2` values to a [`Kind`] and a [`Payload`].
//! Payload registers, as the spec lays them out (FF-A v1.2 sections 15.2-15.5):
//! - REQ_32/RESP_32: w3..w7 (5 words), w2 = flags (bit 31 = framework message);
//! - REQ_64/RESP_64: x3..x7 (5 words), w2 = flags; x8..x17 are not part of the message (the
//!   SPMC delivers them as zero, docs/abi-status.md);
//! - REQ2/RESP2: x4..x17 (14 words), x2/x3 = UUID of the protocol (requests; MBZ in responses).
//!
//! In every form w1 = (sender << 16) | receiver (ffa-abi's `EndpointPair`).
#![forbid(unsafe_code)]

use crate::abi::fid;
use crate::conduit::{Conduit, Regs, RegsExt};
use crate::ffa::{expect_success, EndpointId, Error, ErrorCode, Ffa, Result};
use ffa_abi::interface::{DirectArgs, DirectMsgFlags, Interface};
use ffa_abi::{EndpointPair, Uuid, Version};

/// Most payload words any direct message carries (REQ2: x4..x17).
pub const MAX_PAYLOAD: usize = 14;
/// x2 bit 31 of REQ/RESP 32/64: the message is a framework message, not a partition message.
pub const FLAG_FRAMEWORK: u64 = 1 << 31;

/// Which direct messaging ABI a message uses; a response must use the matching one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// FFA_MSG_SEND_DIRECT_REQ_32 / RESP_32.
    Req32,
    /// FFA_MSG_SEND_DIRECT_REQ_64 / RESP_64.
    Req64,
    /// FFA_MSG_SEND_DIRECT_REQ2 / RESP2, with the protocol UUID of the request (x2, x3).
    Req2 {
        /// The protocol UUID (x2 and x3 of the request; nil for none).
        uuid: Uuid,
    },
}

impl Kind {
    /// Returns how many payload words this kind carries.
    pub const fn payload_len(self) -> usize {
        match self {
            Self::Req32 | Self::Req64 => 5,
            Self::Req2 { .. } => 14,
        }
    }
}

/// A payload of up to [`MAX_PAYLOAD`] words; word 0 is the first payload register of the kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Payload(pub [u64; MAX_PAYLOAD]);

impl Payload {
    /// Builds a payload from its first words (the rest zero; words past [`MAX_PAYLOAD`] are
    /// dropped).
    pub fn new(words: &[u64]) -> Self {
        let mut p = [0u64; MAX_PAYLOAD];
        for (d, s) in p.iter_mut().zip(words) {
            *d = *s;
        }
        Self(p)
    }

    /// Returns word `i`, or 0 past the end.
    pub fn get(&self, i: usize) -> u64 {
        self.0.get(i).copied().unwrap_or(0)
    }

    /// The payload of a REQ/RESP 32/64 (ffa-abi's decoded w3..w7 / x3..x7).
    fn from_args(args: &DirectArgs) -> Self {
        match args {
            DirectArgs::Args32(a) => Self::new(&a.map(u64::from)),
            DirectArgs::Args64(a) => Self::new(a),
        }
    }

    /// The first five words as the REQ/RESP 32/64 arguments of `kind` (SMC32: the low word
    /// of each, as only that is defined).
    fn args(&self, kind: Kind) -> DirectArgs {
        let a = [self.0[0], self.0[1], self.0[2], self.0[3], self.0[4]];
        match kind {
            Kind::Req32 => DirectArgs::Args32(a.map(|w| w as u32)),
            _ => DirectArgs::Args64(a),
        }
    }

    /// The fourteen words of a REQ2/RESP2.
    fn args2(&self) -> [u64; 14] {
        self.0
    }
}

/// The kind and payload of a REQ/RESP 32/64 from ffa-abi's arguments.
fn kind_of(args: &DirectArgs) -> Kind {
    match args {
        DirectArgs::Args32(_) => Kind::Req32,
        DirectArgs::Args64(_) => Kind::Req64,
    }
}

/// A direct request received by this partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirectRequest {
    /// Which ABI carried it.
    pub kind: Kind,
    /// The sender (w1 bits \[31:16\]).
    pub sender: EndpointId,
    /// The receiver, i.e. us (w1 bits \[15:0\]).
    pub receiver: EndpointId,
    /// w2 of REQ_32/64 (bit 31 = framework message); 0 for REQ2.
    pub flags: u64,
    /// The payload words.
    pub payload: Payload,
}

impl DirectRequest {
    /// Decodes `r` if it is a direct request ffa-abi accepts, else `None`.
    pub fn decode(r: &Regs) -> Option<Self> {
        let (kind, pair, flags, payload) = match Interface::decode_sbz_ignored(r, Version::LATEST) {
            Ok(Interface::DirectReq { pair, flags, args }) => (
                kind_of(&args),
                pair,
                u64::from(flags.raw()),
                Payload::from_args(&args),
            ),
            Ok(Interface::DirectReq2 { pair, uuid, args }) => {
                (Kind::Req2 { uuid }, pair, 0, Payload::new(&args))
            }
            _ => return None,
        };
        Some(Self {
            kind,
            sender: pair.source,
            receiver: pair.destination,
            flags,
            payload,
        })
    }

    /// Tells whether this is a framework message (x2 bit 31) rather than a partition message.
    pub fn is_framework(&self) -> bool {
        self.flags & FLAG_FRAMEWORK != 0
    }

    /// Encodes the response `payload` to this request: the matching RESP ABI, sender and
    /// receiver swapped, flags/UUID registers zero.
    pub fn response(&self, payload: &Payload) -> Regs {
        let pair = EndpointPair::new(self.receiver, self.sender);
        match self.kind {
            Kind::Req2 { .. } => Interface::DirectResp2 {
                pair,
                args: payload.args2(),
            },
            kind => Interface::DirectResp {
                pair,
                flags: DirectMsgFlags::PARTITION,
                args: payload.args(kind),
            },
        }
        .encode()
    }
}

/// Encodes a direct request from `sender` to `receiver`.
pub fn encode_request(kind: Kind, sender: EndpointId, receiver: EndpointId, p: &Payload) -> Regs {
    let pair = EndpointPair::new(sender, receiver);
    match kind {
        Kind::Req2 { uuid } => Interface::DirectReq2 {
            pair,
            uuid,
            args: p.args2(),
        },
        kind => Interface::DirectReq {
            pair,
            flags: DirectMsgFlags::PARTITION,
            args: p.args(kind),
        },
    }
    .encode()
}

/// Decodes the reply to a direct request of `kind` we sent to `receiver`: the matching
/// response from that endpoint, FFA_ERROR, or anything else as `Unexpected`.
pub fn decode_response(kind: Kind, receiver: EndpointId, r: Regs) -> Result<Payload> {
    let answer = match Interface::decode_sbz_ignored(&r, Version::LATEST) {
        Ok(Interface::DirectResp { pair, args, .. }) if kind_of(&args) == kind => {
            Some((pair, Payload::from_args(&args)))
        }
        Ok(Interface::DirectResp2 { pair, args }) if matches!(kind, Kind::Req2 { .. }) => {
            Some((pair, Payload::new(&args)))
        }
        _ => None,
    };
    if let Some((pair, payload)) = answer {
        if pair.source == receiver {
            return Ok(payload);
        }
    }
    // FFA_ERROR becomes Err(Ffa); a success reply to a request is itself unexpected.
    match expect_success(r) {
        Ok(r) => Err(Error::Unexpected(r.fid())),
        Err(e) => Err(e),
    }
}

impl<C: Conduit> Ffa<C> {
    /// Sends a direct request and waits for the response (FF-A v1.2 direct messaging). An FFA_ERROR
    /// reply (e.g. DENIED by the capability gate, BUSY when the target is running) is an error.
    pub fn direct_request(
        &mut self,
        kind: Kind,
        sender: EndpointId,
        receiver: EndpointId,
        payload: &Payload,
    ) -> Result<Payload> {
        let reply = self.call(encode_request(kind, sender, receiver, payload));
        decode_response(kind, receiver, reply)
    }
}

/// Answers `msg` if it is a direct request and returns the next message: the reply to our
/// response, or to FFA_MSG_WAIT when `msg` was anything else (e.g. FFA_ERROR because the SPMC
/// refused our last response, or an FFA_INTERRUPT this runtime does not handle).
///
/// Fails when FFA_MSG_WAIT itself is refused: then the SPMC and this partition disagree about
/// its state and no message can ever arrive. Calling FFA_MSG_WAIT again would spin at EL0
/// forever (the SPMC runs us synchronously, so the whole core would hang); the caller must
/// end the partition instead.
pub fn serve_one<C: Conduit>(
    ffa: &mut Ffa<C>,
    msg: Regs,
    handler: &mut impl FnMut(&mut Ffa<C>, &DirectRequest) -> Payload,
) -> Result<Regs> {
    serve_one_with(ffa, msg, handler, &mut |_, _| RxOnWait::Release)
}

/// What a waiting partition can be entered with besides a direct request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// FFA_INTERRUPT: a secure interrupt it owns, the ID in w2 (FF-A v1.2 section 8.2.1: an
    /// S-EL0 partition is entered with FFA_INTERRUPT); the FFA_MSG_WAIT that follows tells the
    /// SPMC it is handled, and it unmasks it.
    Interrupt(u32),
    /// FFA_RUN: its scheduler (the normal world, after the schedule-receiver interrupt named
    /// it) gave it cycles, e.g. to read its notifications with FFA_NOTIFICATION_GET and its RX
    /// buffer; the FFA_MSG_WAIT that follows hands the RX buffer back unless the event's
    /// handler says [`RxOnWait::Retain`].
    Run,
}

/// What the FFA_MSG_WAIT after an [`Event`] does with our RX buffer (FF-A v1.2 FFA_MSG_WAIT
/// w2 bit 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RxOnWait {
    /// Give it back to the SPMC (FF-A's default, and the only choice before v1.2): a message
    /// still in it is gone for us.
    #[default]
    Release,
    /// Keep it, and the message in it, until our FFA_RX_RELEASE (or an FFA_MSG_WAIT without
    /// this): for a partition that saw "RX buffer full" during a run and reads the message
    /// later. FF-A v1.2 partitions only: the SPMC answers a v1.0/v1.1 partition's FFA_MSG_WAIT
    /// with this flag INVALID_PARAMETERS, and the serving loop then fails ([`serve_one`]).
    Retain,
}

/// [`serve_one`], with `on_event` called when `msg` is FFA_INTERRUPT or FFA_RUN ([`Event`]);
/// what it returns decides whether the FFA_MSG_WAIT that follows keeps our RX buffer.
pub fn serve_one_with<C: Conduit>(
    ffa: &mut Ffa<C>,
    msg: Regs,
    handler: &mut impl FnMut(&mut Ffa<C>, &DirectRequest) -> Payload,
    on_event: &mut impl FnMut(&mut Ffa<C>, Event) -> RxOnWait,
) -> Result<Regs> {
    if let Some(req) = DirectRequest::decode(&msg) {
        let payload = handler(ffa, &req);
        return Ok(ffa.call(req.response(&payload)));
    }
    let rx = if msg.fid() == fid::INTERRUPT {
        on_event(ffa, Event::Interrupt(msg.w(2)))
    } else if msg.fid() == fid::RUN {
        on_event(ffa, Event::Run)
    } else {
        RxOnWait::Release
    };
    let next = match rx {
        RxOnWait::Release => ffa.msg_wait(),
        RxOnWait::Retain => ffa.msg_wait_retaining_rx(),
    };
    match expect_success(next) {
        Err(e @ (Error::Ffa(_) | Error::UnknownStatus(_))) => Err(e),
        _ => Ok(next),
    }
}

/// Ends initialisation with FFA_MSG_WAIT and serves direct requests forever with `handler`,
/// whose returned payload becomes the response. If the SPMC refuses FFA_MSG_WAIT the
/// partition panics (sp-rt's panic handler logs and aborts it): see [`serve_one`].
pub fn run<C: Conduit>(
    ffa: &mut Ffa<C>,
    handler: impl FnMut(&mut Ffa<C>, &DirectRequest) -> Payload,
) -> ! {
    run_with_interrupts(ffa, handler, |_, _| {})
}

/// [`run`] for a partition that owns interrupts: `on_interrupt` handles each one it is
/// entered with (the device's own acknowledgement); then it waits again.
pub fn run_with_interrupts<C: Conduit>(
    ffa: &mut Ffa<C>,
    handler: impl FnMut(&mut Ffa<C>, &DirectRequest) -> Payload,
    mut on_interrupt: impl FnMut(&mut Ffa<C>, u32),
) -> ! {
    run_with_events(ffa, handler, move |ffa, e| {
        if let Event::Interrupt(id) = e {
            on_interrupt(ffa, id)
        }
        RxOnWait::Release
    })
}

/// [`run`] with `on_event` called for each FFA_INTERRUPT or FFA_RUN it is entered with
/// ([`Event`]); then it waits again, keeping its RX buffer if `on_event` says so
/// ([`RxOnWait`]).
pub fn run_with_events<C: Conduit>(
    ffa: &mut Ffa<C>,
    mut handler: impl FnMut(&mut Ffa<C>, &DirectRequest) -> Payload,
    mut on_event: impl FnMut(&mut Ffa<C>, Event) -> RxOnWait,
) -> ! {
    let mut msg = ffa.msg_wait();
    loop {
        msg = match serve_one_with(ffa, msg, &mut handler, &mut on_event) {
            Ok(next) => next,
            Err(e) => panic!("FFA_MSG_WAIT refused ({e:?}): cannot receive messages"),
        };
    }
}

/// Turns an FF-A error into the status word test protocols put in a response: the spec's
/// negative status code as a two's-complement 32-bit value.
pub fn status_word(e: &Error) -> u64 {
    let code: ErrorCode = e.code();
    u64::from(code.to_u32())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeSpmc;

    fn req(fid: u32, regs: &[u64]) -> Regs {
        Regs::call(fid, regs)
    }

    #[test]
    fn decodes_the_three_request_forms() {
        let r = req(
            0x8400_006F,
            &[0x0001_8001, 0, 0xFFFF_FFFF_0000_0011, 2, 3, 4, 5, 6],
        );
        let d = DirectRequest::decode(&r).unwrap();
        assert_eq!(d.kind, Kind::Req32);
        assert_eq!((d.sender, d.receiver), (EndpointId(1), EndpointId(0x8001)));
        // SMC32: upper halves are not part of the message.
        assert_eq!(d.payload.get(0), 0x11);
        assert_eq!(d.payload.get(4), 5);
        assert_eq!(d.payload.get(5), 0);

        let mut regs = [0u64; 17];
        regs[0] = 0x8002_8001;
        for (i, r) in regs.iter_mut().enumerate().skip(1) {
            *r = 0x1_0000_0000 + i as u64 + 1; // x(i + 1) holds 0x1_0000_0000 + (i + 1)
        }
        // REQ_64: w2 is the flags word (a partition message: 0), the payload x3..x7 only;
        // x8..x17 are not part of the message (FF-A v1.2 section 15.2).
        let mut regs64 = regs;
        regs64[1] = 0;
        let d = DirectRequest::decode(&req(0xC400_006F, &regs64)).unwrap();
        assert_eq!(d.kind, Kind::Req64);
        assert_eq!(d.payload.get(0), 0x1_0000_0003);
        assert_eq!(d.payload.get(4), 0x1_0000_0007);
        assert_eq!(d.payload.get(5), 0);
        // Reserved flag bits: not a request ffa-abi accepts.
        assert_eq!(DirectRequest::decode(&req(0xC400_006F, &regs)), None);

        let d = DirectRequest::decode(&req(0xC400_008D, &regs)).unwrap();
        assert_eq!(
            d.kind,
            Kind::Req2 {
                uuid: Uuid::from_u64_pair([0x1_0000_0002, 0x1_0000_0003])
            }
        );
        assert_eq!(d.flags, 0);
        assert_eq!(d.payload.get(0), 0x1_0000_0004);
        assert_eq!(d.payload.get(13), 0x1_0000_0011);
        assert_eq!(d.payload.get(14), 0);

        assert_eq!(DirectRequest::decode(&req(0x8400_0061, &[])), None);
    }

    #[test]
    fn responses_swap_ids_and_use_the_matching_abi() {
        let d = DirectRequest::decode(&req(0x8400_006F, &[0x0000_8001, 0, 7])).unwrap();
        let r = d.response(&Payload::new(&[0x1_0000_00AA, 2, 3, 4, 5, 6]));
        assert_eq!(r.fid(), 0x8400_0070);
        assert_eq!(r.x(1), 0x8001_0000);
        assert_eq!(r.x(2), 0);
        assert_eq!(r.x(3), 0xAA);
        assert_eq!(r.x(7), 5);
        assert_eq!(r.x(8), 0);

        let d = DirectRequest::decode(&req(0xC400_008D, &[0x0003_8002, 9, 9, 1])).unwrap();
        let r = d.response(&Payload::new(&[0xAB; 15]));
        assert_eq!(r.fid(), 0xC400_008E);
        assert_eq!(r.x(1), 0x8002_0003);
        assert_eq!((r.x(2), r.x(3)), (0, 0));
        assert_eq!(r.x(4), 0xAB);
        assert_eq!(r.x(17), 0xAB);
    }

    #[test]
    fn direct_request_decodes_response_error_and_garbage() {
        let resp = Regs::call(0xC400_0070, &[0x8003_8001, 0, 0x55, 0x66]);
        let mut ffa = Ffa::new(FakeSpmc::with_replies([
            resp,
            Regs::call(0x8400_0060, &[0, 0xFFFF_FFFA]),
            Regs::call(0x8400_0061, &[]),
            // A response from someone else than the receiver is not our answer.
            Regs::call(0xC400_0070, &[0x8004_8001, 0, 0x55]),
        ]));
        let me = EndpointId(0x8001);
        let to = EndpointId(0x8003);
        let p = Payload::new(&[1, 2]);
        let got = ffa.direct_request(Kind::Req64, me, to, &p).unwrap();
        assert_eq!((got.get(0), got.get(1)), (0x55, 0x66));
        assert_eq!(
            ffa.direct_request(Kind::Req64, me, to, &p),
            Err(Error::Ffa(ErrorCode::Denied))
        );
        assert!(matches!(
            ffa.direct_request(Kind::Req64, me, to, &p),
            Err(Error::Unexpected(_))
        ));
        assert!(matches!(
            ffa.direct_request(Kind::Req64, me, to, &p),
            Err(Error::Unexpected(_))
        ));
        let sent = &ffa.conduit().calls[0];
        assert_eq!(sent.fid(), 0xC400_006F);
        assert_eq!(sent.x(1), 0x8001_8003);
        assert_eq!((sent.x(3), sent.x(4)), (1, 2));
    }

    #[test]
    fn serve_one_answers_requests_and_waits_on_anything_else() {
        let next = Regs::call(0x8400_006F, &[0x0000_8001, 0, 42]);
        let mut ffa = Ffa::new(FakeSpmc::with_replies([next, next]));
        let mut seen = Vec::new();
        let mut handler = |_: &mut Ffa<FakeSpmc>, r: &DirectRequest| {
            seen.push(r.payload.get(0));
            Payload::new(&[r.payload.get(0) + 1])
        };
        let got = serve_one(&mut ffa, next, &mut handler);
        assert_eq!(got, Ok(next));
        // An FFA_ERROR (e.g. our response was refused) leads back to FFA_MSG_WAIT.
        let err = Regs::call(0x8400_0060, &[0, 0xFFFF_FFFE]);
        let got = serve_one(&mut ffa, err, &mut handler);
        assert_eq!(got, Ok(next));
        assert_eq!(seen, vec![42]);
        let calls = &ffa.conduit().calls;
        assert_eq!(calls[0].fid(), 0x8400_0070);
        assert_eq!(calls[0].x(3), 43);
        assert_eq!(calls[1].fid(), 0x8400_006B);
    }

    #[test]
    fn cycles_given_by_ffa_run_are_an_event_then_the_partition_waits() {
        let next = Regs::call(0x8400_006F, &[0x0000_8001, 0, 42]);
        let mut ffa = Ffa::new(FakeSpmc::with_replies([Regs::call(0x8400_0061, &[]), next]));
        let mut handler = |_: &mut Ffa<FakeSpmc>, r: &DirectRequest| r.payload;
        let mut events = Vec::new();
        let run = Regs::call(0x8400_006D, &[]);
        let got = serve_one_with(&mut ffa, run, &mut handler, &mut |f, e| {
            events.push(e);
            // What a receiver does with the cycles: one call of its own.
            let _ = f.id_get();
            RxOnWait::Release
        });
        assert_eq!(got, Ok(next));
        assert_eq!(events, vec![Event::Run]);
        let calls = &ffa.conduit().calls;
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].fid(), 0x8400_0069);
        assert_eq!(calls[1].fid(), 0x8400_006B);
        assert_eq!(calls[1].x(2), 0, "FFA_MSG_WAIT gives the RX buffer back");
    }

    #[test]
    fn an_event_handler_may_keep_the_rx_buffer_over_the_wait() {
        let next = Regs::call(0x8400_006F, &[0x0000_8001, 0, 42]);
        let mut ffa = Ffa::new(FakeSpmc::with_replies([next, next]));
        let mut handler = |_: &mut Ffa<FakeSpmc>, r: &DirectRequest| r.payload;
        let run = Regs::call(0x8400_006D, &[]);
        let got = serve_one_with(&mut ffa, run, &mut handler, &mut |_, _| RxOnWait::Retain);
        assert_eq!(got, Ok(next));
        // Only the wait after the event keeps it: after anything else the buffer goes back.
        let err = Regs::call(0x8400_0060, &[0, 0xFFFF_FFFE]);
        let got = serve_one_with(&mut ffa, err, &mut handler, &mut |_, _| RxOnWait::Retain);
        assert_eq!(got, Ok(next));
        let calls = &ffa.conduit().calls;
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].fid(), 0x8400_006B);
        assert_eq!(calls[0].x(2), 1, "w2 bit 0: retain RX buffer ownership");
        assert_eq!(calls[1].fid(), 0x8400_006B);
        assert_eq!(calls[1].x(2), 0);
    }

    #[test]
    fn an_interrupt_is_handled_then_the_partition_waits() {
        let next = Regs::call(0x8400_006F, &[0x0000_8001, 0, 42]);
        let mut ffa = Ffa::new(FakeSpmc::with_replies([next]));
        let mut handler = |_: &mut Ffa<FakeSpmc>, r: &DirectRequest| r.payload;
        let mut got_irq = Vec::new();
        let irq = Regs::call(0x8400_0062, &[0, 48]);
        let got = serve_one_with(&mut ffa, irq, &mut handler, &mut |_, e| {
            got_irq.push(e);
            RxOnWait::Release
        });
        assert_eq!(got, Ok(next));
        assert_eq!(got_irq, vec![Event::Interrupt(48)]);
        let calls = &ffa.conduit().calls;
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].fid(), 0x8400_006B);
    }

    #[test]
    fn a_refused_msg_wait_is_an_error_not_a_spin() {
        let denied = Regs::call(0x8400_0060, &[0, 0xFFFF_FFFA]);
        let mut ffa = Ffa::new(FakeSpmc::with_replies([denied]));
        let mut handler = |_: &mut Ffa<FakeSpmc>, r: &DirectRequest| r.payload;
        let got = serve_one(&mut ffa, denied, &mut handler);
        assert_eq!(got, Err(Error::Ffa(ErrorCode::Denied)));
        assert_eq!(ffa.conduit().calls.len(), 1);
    }

    #[test]
    fn status_word_is_twos_complement() {
        assert_eq!(status_word(&Error::Ffa(ErrorCode::Busy)), 0xFFFF_FFFC);
    }
}
