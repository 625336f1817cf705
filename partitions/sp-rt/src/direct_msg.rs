//! Direct messaging for an S-EL0 partition (FF-A v1.2, Arm DEN0077, direct messaging ABIs:
//! FFA_MSG_SEND_DIRECT_REQ/RESP 32/64 and FFA_MSG_SEND_DIRECT_REQ2/RESP2) and the request loop
//! that serves them.
//!
//! Messages are decoded and encoded by ffa-abi's message-path codec ([`ffa_abi::direct`]:
//! [`DirectHeader::decode`] straight from the registers, [`direct::write`] in place), which
//! the general [`ffa_abi::Interface`] uses for these ABIs too and the SPMC uses for its own
//! message path: the same rules everywhere, without building the general 144-byte value for
//! every message (docs/performance.md). This module only maps a header and its payload to a
//! [`Kind`] and a [`Payload`].
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
use ffa_abi::direct::{self, DirectHeader, DirectKind};
use ffa_abi::interface::DirectMsgFlags;
use ffa_abi::{EndpointPair, FuncId, Uuid, Version};

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

    /// The request function of this kind.
    const fn request(self) -> FuncId {
        match self {
            Self::Req32 => FuncId::MsgSendDirectReq32,
            Self::Req64 => FuncId::MsgSendDirectReq64,
            Self::Req2 { .. } => FuncId::MsgSendDirectReq2,
        }
    }

    /// The response function that answers a request of this kind.
    const fn response(self) -> FuncId {
        match self {
            Self::Req32 => FuncId::MsgSendDirectResp32,
            Self::Req64 => FuncId::MsgSendDirectResp64,
            Self::Req2 { .. } => FuncId::MsgSendDirectResp2,
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
    #[inline]
    pub fn decode(r: &Regs) -> Option<Self> {
        let h = DirectHeader::decode(&r.0, Version::LATEST)?.ok()?;
        let kind = match h.kind {
            DirectKind::Req if h.is_64() => Kind::Req64,
            DirectKind::Req => Kind::Req32,
            DirectKind::Req2 => Kind::Req2 { uuid: h.uuid },
            DirectKind::Resp | DirectKind::Resp2 => return None,
        };
        Some(Self {
            kind,
            sender: h.pair.source,
            receiver: h.pair.destination,
            flags: u64::from(h.flags.raw()),
            payload: Payload(h.payload(&r.0)),
        })
    }

    /// Tells whether this is a framework message (x2 bit 31) rather than a partition message.
    pub fn is_framework(&self) -> bool {
        self.flags & FLAG_FRAMEWORK != 0
    }

    /// Encodes the response `payload` to this request: the matching RESP ABI, sender and
    /// receiver swapped, flags/UUID registers zero.
    #[inline]
    pub fn response(&self, payload: &Payload) -> Regs {
        let pair = EndpointPair::new(self.receiver, self.sender);
        let mut r = Regs::ZERO;
        direct::write(
            &mut r.0,
            self.kind.response(),
            pair,
            DirectMsgFlags::PARTITION,
            Uuid::NIL,
            &payload.0,
        );
        r
    }
}

/// Encodes a direct request from `sender` to `receiver`.
pub fn encode_request(kind: Kind, sender: EndpointId, receiver: EndpointId, p: &Payload) -> Regs {
    let uuid = match kind {
        Kind::Req2 { uuid } => uuid,
        Kind::Req32 | Kind::Req64 => Uuid::NIL,
    };
    let mut r = Regs::ZERO;
    direct::write(
        &mut r.0,
        kind.request(),
        EndpointPair::new(sender, receiver),
        DirectMsgFlags::PARTITION,
        uuid,
        &p.0,
    );
    r
}

/// Decodes the reply to a direct request of `kind` we sent to `receiver`: the matching
/// response from that endpoint, FFA_ERROR, or anything else as `Unexpected`.
pub fn decode_response(kind: Kind, receiver: EndpointId, r: Regs) -> Result<Payload> {
    // The matching response (its SMC32/64 form included) from `receiver`.
    if let Some(Ok(h)) = DirectHeader::decode(&r.0, Version::LATEST) {
        if h.fid == kind.response() && h.pair.source == receiver {
            return Ok(Payload(h.payload(&r.0)));
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
    serve_one_with(ffa, msg, handler, &mut |_, e| RxOnWait::default_after(e))
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
    /// [`Self::Retain`] unless the partition read its RX buffer ([`crate::rxtx::RxTx::with_rx`])
    /// since it was entered, then [`Self::Release`]; below FF-A v1.2 always Release (the
    /// SPMC's INVALID_PARAMETERS to the flag, which changes nothing, is remembered and the
    /// wait repeated without it). The default after an interrupt: its handler was not told
    /// about an indirect message that may sit unread in the buffer, and a release would let
    /// the next FFA_MSG_SEND2 overwrite it. Releasing after a read keeps the old behaviour of a
    /// partition that reads a message and leaves the release to its wait.
    KeepUnlessRead,
}

impl RxOnWait {
    /// What the waits of [`serve_one`], [`run`] and [`run_with_interrupts`] do after `event`:
    /// [`Self::KeepUnlessRead`] after an interrupt, [`Self::Release`] after FFA_RUN (whose
    /// handler there reads nothing: a partition that reads its messages in its runs says so
    /// with [`run_with_events`]).
    pub fn default_after(event: Event) -> Self {
        match event {
            Event::Interrupt(_) => Self::KeepUnlessRead,
            Event::Run => Self::Release,
        }
    }
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
    // Only reads made while handling this event count for KeepUnlessRead.
    crate::rxtx::rx_read::set(false);
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
        RxOnWait::KeepUnlessRead => {
            if crate::rxtx::rx_read::set(false) || ffa.retain_refused {
                ffa.msg_wait()
            } else {
                let r = ffa.msg_wait_retaining_rx();
                if expect_success(r) == Err(Error::Ffa(ErrorCode::InvalidParameters)) {
                    ffa.retain_refused = true;
                    ffa.msg_wait()
                } else {
                    r
                }
            }
        }
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
/// entered with (the device's own acknowledgement); then it waits again, keeping its RX
/// buffer unless `on_interrupt` read it ([`RxOnWait::default_after`]).
pub fn run_with_interrupts<C: Conduit>(
    ffa: &mut Ffa<C>,
    handler: impl FnMut(&mut Ffa<C>, &DirectRequest) -> Payload,
    mut on_interrupt: impl FnMut(&mut Ffa<C>, u32),
) -> ! {
    run_with_events(ffa, handler, move |ffa, e| {
        if let Event::Interrupt(id) = e {
            on_interrupt(ffa, id)
        }
        RxOnWait::default_after(e)
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

    /// Review 5 F3: an indirect message may sit unread in the RX buffer when an interrupt
    /// comes (MSG_SEND2, then our interrupt before the scheduler runs us); the wait that ends
    /// the handler must not hand it back by default (FF-A v1.2 FFA_MSG_WAIT w2 bit 0).
    #[test]
    fn after_an_interrupt_the_default_wait_keeps_the_rx_buffer() {
        let next = Regs::call(0x8400_006F, &[0x0000_8001, 0, 42]);
        let mut ffa = Ffa::new(FakeSpmc::with_replies([next, next]));
        let mut handler = |_: &mut Ffa<FakeSpmc>, r: &DirectRequest| r.payload;
        let irq = Regs::call(0x8400_0062, &[0, 48]);
        assert_eq!(serve_one(&mut ffa, irq, &mut handler), Ok(next));
        // run_with_interrupts' choice after its handler.
        let mut on_event = |_: &mut Ffa<FakeSpmc>, e| RxOnWait::default_after(e);
        assert_eq!(
            serve_one_with(&mut ffa, irq, &mut handler, &mut on_event),
            Ok(next)
        );
        let calls = &ffa.conduit().calls;
        assert_eq!(calls.len(), 2);
        for c in calls {
            assert_eq!(c.fid(), 0x8400_006B);
            assert_eq!(c.x(2), 1, "w2 bit 0: retain RX buffer ownership");
        }
    }

    /// Below v1.2 the SPMC refuses the flag with INVALID_PARAMETERS and changes nothing: the
    /// runtime waits again without it, and from then on waits without it at once.
    #[test]
    fn below_v1_2_the_refused_retain_flag_is_dropped_for_good() {
        let next = Regs::call(0x8400_006F, &[0x0000_8001, 0, 42]);
        let invalid = Regs::call(0x8400_0060, &[0, 0xFFFF_FFFE]);
        let mut ffa = Ffa::new(FakeSpmc::with_replies([invalid, next, next]));
        let mut handler = |_: &mut Ffa<FakeSpmc>, r: &DirectRequest| r.payload;
        let irq = Regs::call(0x8400_0062, &[0, 48]);
        assert_eq!(serve_one(&mut ffa, irq, &mut handler), Ok(next));
        assert_eq!(serve_one(&mut ffa, irq, &mut handler), Ok(next));
        let calls = &ffa.conduit().calls;
        let w2: Vec<u64> = calls.iter().map(|c| c.x(2)).collect();
        assert!(calls.iter().all(|c| c.fid() == 0x8400_006B));
        assert_eq!(w2, vec![1, 0, 0]);
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

    /// The general decoder's reading of a request, as this module read it before it had the
    /// register path: the oracle of the test below.
    fn general_request(r: &Regs) -> Option<DirectRequest> {
        use ffa_abi::interface::{DirectArgs, Interface};
        let (kind, pair, flags, payload) = match Interface::decode_sbz_ignored(r, Version::LATEST) {
            Ok(Interface::DirectReq { pair, flags, args }) => match args {
                DirectArgs::Args32(a) => (
                    Kind::Req32,
                    pair,
                    flags.raw(),
                    Payload::new(&a.map(u64::from)),
                ),
                DirectArgs::Args64(a) => (Kind::Req64, pair, flags.raw(), Payload::new(&a)),
            },
            Ok(Interface::DirectReq2 { pair, uuid, args }) => {
                (Kind::Req2 { uuid }, pair, 0, Payload::new(&args))
            }
            _ => return None,
        };
        Some(DirectRequest {
            kind,
            sender: pair.source,
            receiver: pair.destination,
            flags: u64::from(flags),
            payload,
        })
    }

    /// Random register blocks, mostly direct messages with fields often valid (xorshift, so
    /// the run is the same every time).
    fn blocks(n: usize) -> impl Iterator<Item = Regs> {
        const FIDS: [u32; 8] = [
            0x8400_006F,
            0xC400_006F,
            0x8400_0070,
            0xC400_0070,
            0xC400_008D,
            0xC400_008E,
            0x8400_0061,
            0x8400_006B,
        ];
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        (0..n).map(move |_| {
            let mut x = [0u64; 18];
            for w in x.iter_mut() {
                *w = next();
            }
            let m = next();
            x[0] = (x[0] & !0xFFFF_FFFF) | u64::from(FIDS[(m % 8) as usize]);
            if m & 0x100 != 0 {
                x[1] &= 0xFFFF_FFFF;
            }
            match (m >> 9) % 4 {
                0 => x[2] = 0,
                1 => x[2] &= !0xFFFF_FFFF,
                2 => x[2] = (x[2] & !0xFFFF_FFFF) | 0x8000_0000 | (x[2] & 0xFF),
                _ => {}
            }
            Regs(x)
        })
    }

    #[test]
    fn the_register_path_decodes_exactly_what_the_general_decoder_accepts() {
        let (mut accepted, mut refused) = (0, 0);
        for r in blocks(50_000) {
            let got = DirectRequest::decode(&r);
            assert_eq!(got, general_request(&r), "{r:x?}");
            match got {
                Some(req) => {
                    accepted += 1;
                    // The response and a request written back are the general encoding.
                    let p = Payload::new(&[r.x(9), r.x(10), r.x(11), r.x(12), r.x(13), r.x(14)]);
                    let resp = req.response(&p);
                    let pair = EndpointPair::new(req.receiver, req.sender);
                    let want = match req.kind {
                        Kind::Req2 { .. } => ffa_abi::Interface::DirectResp2 { pair, args: p.0 },
                        kind => ffa_abi::Interface::DirectResp {
                            pair,
                            flags: DirectMsgFlags::PARTITION,
                            args: if kind == Kind::Req32 {
                                ffa_abi::DirectArgs::Args32(
                                    [p.0[0], p.0[1], p.0[2], p.0[3], p.0[4]].map(|w| w as u32),
                                )
                            } else {
                                ffa_abi::DirectArgs::Args64([
                                    p.0[0], p.0[1], p.0[2], p.0[3], p.0[4],
                                ])
                            },
                        },
                    };
                    assert_eq!(resp, want.encode());
                    // Read back as the reply to a request of that kind from its receiver.
                    assert_eq!(
                        decode_response(req.kind, req.receiver, resp)
                            .map(|q| q.0[..req.kind.payload_len()].to_vec()),
                        Ok(want_payload(&want))
                    );
                    let again = encode_request(req.kind, req.sender, req.receiver, &req.payload);
                    assert_eq!(
                        DirectRequest::decode(&again).map(|q| (q.kind, q.payload)),
                        Some((req.kind, req.payload))
                    );
                }
                None => refused += 1,
            }
        }
        // Both outcomes are exercised.
        assert!(
            accepted > 5_000 && refused > 5_000,
            "{accepted} accepted, {refused} refused"
        );
    }

    fn want_payload(i: &ffa_abi::Interface) -> Vec<u64> {
        match i {
            ffa_abi::Interface::DirectResp {
                args: ffa_abi::DirectArgs::Args32(a),
                ..
            } => a.map(u64::from).to_vec(),
            ffa_abi::Interface::DirectResp {
                args: ffa_abi::DirectArgs::Args64(a),
                ..
            } => a.to_vec(),
            ffa_abi::Interface::DirectResp2 { args, .. } => args.to_vec(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn a_response_is_accepted_only_in_the_matching_form_from_the_receiver() {
        let me = EndpointId(0x8001);
        let to = EndpointId(0x8003);
        let p = Payload::new(&[5, 6]);
        let req = encode_request(Kind::Req32, me, to, &p);
        let d = DirectRequest::decode(&Regs(req.0)).unwrap();
        let resp32 = d.response(&p);
        let resp64 = DirectRequest {
            kind: Kind::Req64,
            ..d
        }
        .response(&p);
        let resp2 = DirectRequest {
            kind: Kind::Req2 { uuid: Uuid::NIL },
            ..d
        }
        .response(&p);
        assert_eq!(
            decode_response(Kind::Req32, to, resp32).map(|q| q.get(1)),
            Ok(6)
        );
        for (kind, r) in [
            (Kind::Req32, resp64),
            (Kind::Req64, resp32),
            (Kind::Req2 { uuid: Uuid::NIL }, resp32),
            (Kind::Req32, resp2),
        ] {
            assert!(
                matches!(decode_response(kind, to, r), Err(Error::Unexpected(_))),
                "{kind:?}"
            );
        }
        // Reserved flag bits in the response: not a response the decoder accepts.
        let mut bad = resp32;
        bad.0[2] = 0x100;
        assert!(matches!(
            decode_response(Kind::Req32, to, bad),
            Err(Error::Unexpected(_))
        ));
    }

    #[test]
    fn status_word_is_twos_complement() {
        assert_eq!(status_word(&Error::Ffa(ErrorCode::Busy)), 0xFFFF_FFFC);
    }
}
