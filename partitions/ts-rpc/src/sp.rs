//! The TS RPC endpoint on sp-rt: shared memory through FFA_MEM_RETRIEVE_REQ /
//! FFA_MEM_RELINQUISH, and the request loop that answers 32-bit direct requests.

use sp_rt::direct_msg::{DirectRequest, Kind, Payload};
use sp_rt::mem::{Retrieved, RW_NX};
use sp_rt::rxtx::RxTx;
use sp_rt::{Conduit, EndpointId, Ffa, Version};

use crate::endpoint::{Endpoint, Memory, SharedMemory};
use ffa_abi::MemHandle;

/// A region retrieved through the SPMC.
#[derive(Debug)]
pub struct Region(Retrieved);

impl SharedMemory for Region {
    fn size(&self) -> usize {
        usize::try_from(self.0.pages().saturating_mul(0x1000)).unwrap_or(0)
    }

    fn read(&self, offset: usize, out: &mut [u8]) -> bool {
        self.0.read_bytes(offset as u64, out).is_some()
    }

    fn write(&mut self, offset: usize, data: &[u8]) -> bool {
        self.0.write_bytes(offset as u64, data).is_some()
    }
}

/// The FF-A memory ABIs of this partition, for the duration of one message.
#[derive(Debug)]
pub struct SpMemory<'a, C: Conduit> {
    /// Our FF-A calls.
    pub ffa: &'a mut Ffa<C>,
    /// Our mapped RX/TX pair (retrieve descriptors go through it).
    pub rxtx: &'a mut RxTx,
    /// Our endpoint ID.
    pub me: EndpointId,
    /// Our FF-A version (descriptor layout).
    pub version: Version,
}

impl<C: Conduit> Memory for SpMemory<'_, C> {
    type Region = Region;

    fn retrieve(&mut self, owner: EndpointId, handle: MemHandle, tag: u64) -> Option<Region> {
        // Read-write, not executable: TS's endpoint asks for read-write data access.
        self.ffa
            .mem_retrieve(self.rxtx, self.version, self.me, owner, handle, tag, RW_NX)
            .ok()
            .map(Region)
    }

    fn relinquish(&mut self, region: Region) -> Result<(), Region> {
        self.ffa
            .mem_relinquish_region(self.rxtx, self.me, region.0)
            .map_err(|(_, r)| Region(r))
    }
}

/// Answers one direct request: a REQ_32 goes to the endpoint; 64-bit and REQ2 requests get the
/// RPC error TS gives them (INVALID_VALUE), with the control word echoed.
pub fn answer<M: Memory>(
    endpoint: &mut Endpoint<M::Region>,
    mem: &mut M,
    req: &DirectRequest,
) -> Payload {
    let w = |i: usize| req.payload.get(i) as u32;
    let words = [w(0), w(1), w(2), w(3), w(4)];
    let out = match req.kind {
        Kind::Req32 => endpoint.handle(mem, req.sender, words),
        Kind::Req64 | Kind::Req2 { .. } => Endpoint::<M::Region>::refuse(words[0]),
    };
    Payload::new(&out.map(u64::from))
}

/// Ends initialisation and serves TS RPC forever (sp-rt's request loop).
pub fn serve<C: Conduit>(
    ffa: &mut Ffa<C>,
    rxtx: &mut RxTx,
    me: EndpointId,
    version: Version,
    endpoint: &mut Endpoint<Region>,
) -> ! {
    sp_rt::run(ffa, |ffa, req| {
        let mut mem = SpMemory {
            ffa,
            rxtx,
            me,
            version,
        };
        answer(endpoint, &mut mem, req)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::{Reply, Service, ServiceCall};
    use crate::RpcStatus;
    use alloc::boxed::Box;
    use alloc::vec;
    use ffa_abi::Uuid;
    use sp_rt::conduit::{Regs, RegsExt};

    struct NoMem;
    struct Never;
    impl SharedMemory for Never {
        fn size(&self) -> usize {
            0
        }
        fn read(&self, _: usize, _: &mut [u8]) -> bool {
            false
        }
        fn write(&mut self, _: usize, _: &[u8]) -> bool {
            false
        }
    }
    impl Memory for NoMem {
        type Region = Never;
        fn retrieve(&mut self, _: EndpointId, _: MemHandle, _: u64) -> Option<Never> {
            None
        }
        fn relinquish(&mut self, _: Never) -> Result<(), Never> {
            Ok(())
        }
    }
    struct Count;
    impl Service for Count {
        fn uuid(&self) -> Uuid {
            crate::abi::ITS_UUID
        }
        fn call(&mut self, _: ServiceCall<'_>) -> Result<Reply, RpcStatus> {
            Ok(Reply {
                status: -140,
                len: 0,
            })
        }
    }

    #[test]
    fn only_32_bit_requests_are_ts_rpc() {
        let mut e = Endpoint::new(vec![Box::new(Count) as Box<dyn Service>], 1, 64);
        let words = [0x0000_0101u64, u64::MAX, u64::MAX, 0, 0];
        let r32 = Regs::call(0x8400_006F, &[0x0000_8005, 0, words[0], words[1], words[2]]);
        let req = DirectRequest::decode(&r32).unwrap();
        let p = answer(&mut e, &mut NoMem, &req);
        // w4 RPC status 0, w5 the service's PSA status, w6 length 0.
        assert_eq!(p.0[..5], [0x101, 0, 0xFFFF_FF74, 0, 0]);
        let r64 = Regs::call(0xC400_006F, &[0x0000_8005, 0, words[0]]);
        let req = DirectRequest::decode(&r64).unwrap();
        let p = answer(&mut e, &mut NoMem, &req);
        assert_eq!(
            p.0[..5],
            [0x101, u64::from(RpcStatus::InvalidValue.word()), 0, 0, 0]
        );
        // The response as sp-rt encodes it: RESP_32, IDs swapped, w3.. = the words.
        let r = DirectRequest::decode(&r32).unwrap().response(&answer(
            &mut e,
            &mut NoMem,
            &DirectRequest::decode(&r32).unwrap(),
        ));
        assert_eq!(r.fid(), 0x8400_0070);
        assert_eq!(r.x(1), 0x8005_0000);
        assert_eq!(r.x(3), 0x101);
        assert_eq!(r.x(5), 0xFFFF_FF74);
    }
}
