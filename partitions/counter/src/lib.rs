//! counter: the example SP of the integrator guide (docs/integrator-guide.md section 5). It
//! shows everything an SP usually does with sp-rt, in safe code that is host-tested against
//! sp-rt's fake SPMC:
//!
//! - read the words of a direct request and answer with words ([`Counter::handle`]);
//! - send a direct request to another SP and return its answer ([`cmd::CALL`]);
//! - retrieve memory the normal world shares, read and write it, and give it back
//!   ([`cmd::SUM_SHARED`]).
//!
//! Word 0 of a request is the command, the answer's word 0 a status (0 OK, otherwise the FF-A
//! error code as a 32-bit two's complement value, e.g. 0xFFFF_FFFA DENIED).
#![cfg_attr(not(test), no_std)]

use sp_rt::direct_msg::status_word;
use sp_rt::mem::{MemHandle, RW_NX};
use sp_rt::rxtx::RxTx;
use sp_rt::{Conduit, DirectRequest, EndpointId, Error, ErrorCode, Ffa, Kind, Payload, Version};

/// Request word 0.
pub mod cmd {
    /// [ADD, n] -> [0, counter after adding n].
    pub const ADD: u64 = 1;
    /// [GET] -> [0, counter].
    pub const GET: u64 = 2;
    /// [CALL, target, w0, w1, ...] -> [status, the target's answer words 0..]: a direct
    /// request of the same kind (REQ2 with the nil UUID) to SP `target`.
    pub const CALL: u64 = 3;
    /// [SUM_SHARED, handle low, handle high, n] -> [0, sum, pages]: retrieves the memory the
    /// sender shared (read-write), adds its first n u32 words, writes the sum as word n,
    /// relinquishes it.
    pub const SUM_SHARED: u64 = 4;
}

/// Status word of an answer.
pub const OK: u64 = 0;

/// The SP's state.
pub struct Counter {
    /// The counter.
    pub value: u64,
    /// Our RX/TX pair, mapped at start (needed to retrieve memory).
    pub rxtx: Option<RxTx>,
}

fn status(e: &Error) -> Payload {
    Payload::new(&[status_word(e)])
}

impl Counter {
    /// Answers one direct request.
    pub fn handle<C: Conduit>(&mut self, ffa: &mut Ffa<C>, req: &DirectRequest) -> Payload {
        let w = |i: usize| req.payload.get(i);
        match w(0) {
            cmd::ADD => {
                self.value = self.value.wrapping_add(w(1));
                Payload::new(&[OK, self.value])
            }
            cmd::GET => Payload::new(&[OK, self.value]),
            cmd::CALL => {
                let kind = match req.kind {
                    Kind::Req2 { .. } => Kind::Req2 {
                        uuid: sp_rt::Uuid::NIL,
                    },
                    k => k,
                };
                let Ok(target) = u16::try_from(w(1)) else {
                    return status(&Error::Ffa(ErrorCode::InvalidParameters));
                };
                let words: heapless_words::Words = (2..req.kind.payload_len()).map(w).collect();
                let inner = Payload::new(words.as_slice());
                match ffa.direct_request(kind, req.receiver, EndpointId(target), &inner) {
                    Ok(answer) => {
                        let mut out = [0u64; 15];
                        out[0] = OK;
                        for (i, slot) in out[1..].iter_mut().enumerate() {
                            *slot = answer.get(i);
                        }
                        Payload::new(&out)
                    }
                    Err(e) => status(&e),
                }
            }
            cmd::SUM_SHARED => match self.sum_shared(
                ffa,
                req,
                MemHandle::from_regs(w(1) as u32, w(2) as u32),
                w(3),
            ) {
                Ok((sum, pages)) => Payload::new(&[OK, sum, pages]),
                Err(e) => status(&e),
            },
            _ => status(&Error::Ffa(ErrorCode::NotSupported)),
        }
    }

    fn sum_shared<C: Conduit>(
        &mut self,
        ffa: &mut Ffa<C>,
        req: &DirectRequest,
        handle: MemHandle,
        count: u64,
    ) -> Result<(u64, u64), Error> {
        let rxtx = self
            .rxtx
            .as_mut()
            .ok_or(Error::Ffa(ErrorCode::NotSupported))?;
        // The sender of the request is the owner that shared the memory with us.
        let mut region = ffa.mem_retrieve(
            rxtx,
            Version::V1_2,
            req.receiver,
            req.sender,
            handle,
            0,
            RW_NX,
        )?;
        let mut sum = 0u64;
        let mut result = Ok(());
        for i in 0..count {
            match region.read_u32(4 * i) {
                Some(v) => sum += u64::from(v),
                None => result = Err(Error::Ffa(ErrorCode::InvalidParameters)),
            }
        }
        if result.is_ok() && region.write_u32(4 * count, sum as u32).is_none() {
            result = Err(Error::Ffa(ErrorCode::InvalidParameters));
        }
        let pages = region.pages();
        // Give the memory back whatever happened, so the owner can reclaim it.
        ffa.mem_relinquish_region(rxtx, req.receiver, region)
            .map_err(|(e, _)| e)?;
        result.map(|()| (sum, pages))
    }
}

/// A fixed-capacity word list (no allocation on the message path).
mod heapless_words {
    /// Up to 15 words.
    #[derive(Default)]
    pub struct Words {
        w: [u64; 15],
        n: usize,
    }
    impl Words {
        pub fn as_slice(&self) -> &[u64] {
            &self.w[..self.n]
        }
    }
    impl FromIterator<u64> for Words {
        fn from_iter<I: IntoIterator<Item = u64>>(it: I) -> Self {
            let mut s = Self::default();
            for v in it.into_iter().take(15) {
                s.w[s.n] = v;
                s.n += 1;
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sp_rt::testing::{error_reply, FakeSpmc};
    use sp_rt::{Regs, RegsExt};

    const REQ_32: u32 = 0x8400_006F;
    const RESP_32: u32 = 0x8400_0070;
    const REQ_64: u32 = 0xC400_006F;

    fn request(fid: u32, words: &[u64]) -> DirectRequest {
        let mut args = [0u64; 17];
        args[0] = 0x0000_8007; // from the normal world (0) to us
        for (d, s) in args[2..].iter_mut().zip(words) {
            *d = *s;
        }
        DirectRequest::decode(&Regs::call(fid, &args)).unwrap()
    }

    fn counter() -> Counter {
        Counter {
            value: 0,
            rxtx: None,
        }
    }

    #[test]
    fn add_and_get_read_and_write_words() {
        let mut ffa = Ffa::new(FakeSpmc::default());
        let mut c = counter();
        let a = c.handle(&mut ffa, &request(REQ_32, &[cmd::ADD, 5]));
        assert_eq!((a.get(0), a.get(1)), (OK, 5));
        let a = c.handle(&mut ffa, &request(REQ_64, &[cmd::ADD, 1 << 40]));
        assert_eq!(a.get(1), 5 + (1 << 40));
        let a = c.handle(&mut ffa, &request(REQ_64, &[cmd::GET]));
        assert_eq!(a.get(1), 5 + (1 << 40));
        // No FF-A call was needed.
        assert!(ffa.conduit().calls.is_empty());
        let a = c.handle(&mut ffa, &request(REQ_32, &[0x77]));
        assert_eq!(a.get(0), u64::from(ErrorCode::NotSupported.to_u32()));
    }

    #[test]
    fn call_forwards_the_words_and_returns_the_answer() {
        // echo (0x8001) answers RESP_32 with [9, 8, 7, 0, 0].
        let reply = Regs::call(RESP_32, &[0x8001_8007, 0, 9, 8, 7]);
        let mut ffa = Ffa::new(FakeSpmc::with_replies([reply]));
        let mut c = counter();
        let a = c.handle(&mut ffa, &request(REQ_32, &[cmd::CALL, 0x8001, 9, 8, 7]));
        assert_eq!([a.get(0), a.get(1), a.get(2), a.get(3)], [OK, 9, 8, 7]);
        let sent = &ffa.conduit().calls[0];
        assert_eq!(sent.fid(), REQ_32);
        assert_eq!(sent.w(1), 0x8007_8001, "from us to echo");
        assert_eq!([sent.x(3), sent.x(4), sent.x(5)], [9, 8, 7]);
        // A refusal comes back as the status word.
        let mut ffa = Ffa::new(FakeSpmc::with_replies([error_reply(-6)]));
        let a = c.handle(&mut ffa, &request(REQ_32, &[cmd::CALL, 0x8002]));
        assert_eq!(a.get(0), 0xFFFF_FFFA);
    }

    #[test]
    fn sum_shared_without_buffers_is_refused() {
        let mut ffa = Ffa::new(FakeSpmc::default());
        let a = counter().handle(&mut ffa, &request(REQ_64, &[cmd::SUM_SHARED, 1, 0, 4]));
        assert_eq!(a.get(0), u64::from(ErrorCode::NotSupported.to_u32()));
        assert!(ffa.conduit().calls.is_empty());
    }
}
