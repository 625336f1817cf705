//! The endpoint against a fake FF-A memory layer and a fake service.

use super::*;
use crate::abi::{Control, ITS_UUID, PS_UUID};
use std::cell::RefCell;
use std::rc::Rc;

const NW: EndpointId = EndpointId(0);
const SP: EndpointId = EndpointId(0x8001);

#[derive(Debug)]
struct Page {
    bytes: Rc<RefCell<Vec<u8>>>,
    handle: MemHandle,
}

impl SharedMemory for Page {
    fn size(&self) -> usize {
        self.bytes.borrow().len()
    }
    fn read(&self, offset: usize, out: &mut [u8]) -> bool {
        match self.bytes.borrow().get(offset..offset + out.len()) {
            Some(s) => {
                out.copy_from_slice(s);
                true
            }
            None => false,
        }
    }
    fn write(&mut self, offset: usize, data: &[u8]) -> bool {
        match self.bytes.borrow_mut().get_mut(offset..offset + data.len()) {
            Some(s) => {
                s.copy_from_slice(data);
                true
            }
            None => false,
        }
    }
}

type Bytes = Rc<RefCell<Vec<u8>>>;

/// Memory the fake "SPMC" lets us retrieve: handle -> (owner, bytes).
#[derive(Default)]
struct FakeMem {
    shared: Vec<(EndpointId, MemHandle, Bytes)>,
    retrieved: Vec<MemHandle>,
    refuse_relinquish: bool,
}

impl FakeMem {
    fn share(&mut self, owner: EndpointId, handle: u64, size: usize) -> Rc<RefCell<Vec<u8>>> {
        let b = Rc::new(RefCell::new(vec![0; size]));
        self.shared.push((owner, MemHandle(handle), b.clone()));
        b
    }
}

impl Memory for FakeMem {
    type Region = Page;
    fn retrieve(&mut self, owner: EndpointId, handle: MemHandle, _tag: u64) -> Option<Page> {
        let (_, _, b) = self
            .shared
            .iter()
            .find(|(o, h, _)| *o == owner && *h == handle)?;
        self.retrieved.push(handle);
        Some(Page {
            bytes: b.clone(),
            handle,
        })
    }
    fn relinquish(&mut self, region: Page) -> Result<(), Page> {
        if self.refuse_relinquish {
            return Err(region);
        }
        self.retrieved.retain(|h| *h != region.handle);
        Ok(())
    }
}

/// Opcode 1: reverses the request and returns status 7; opcode 2: returns the caller and
/// client in 4 bytes; opcode 3: claims a response longer than the buffer; 4: RPC error;
/// 5: returns the whole buffer (to see nothing stale is in it).
struct Fake(Uuid);

impl Service for Fake {
    fn uuid(&self) -> Uuid {
        self.0
    }
    fn call(
        &mut self,
        ServiceCall {
            caller,
            client_id,
            opcode,
            buf,
            request_len,
        }: ServiceCall<'_>,
    ) -> Result<Reply, RpcStatus> {
        match opcode {
            1 => {
                buf[..request_len].reverse();
                Ok(Reply {
                    status: 7,
                    len: request_len,
                })
            }
            2 => {
                buf[..2].copy_from_slice(&caller.0.to_le_bytes());
                buf[2..4].copy_from_slice(&(client_id as u16).to_le_bytes());
                Ok(Reply { status: 0, len: 4 })
            }
            3 => Ok(Reply {
                status: 0,
                len: buf.len() + 1,
            }),
            5 => Ok(Reply {
                status: 0,
                len: buf.len(),
            }),
            _ => Err(RpcStatus::InvalidRequestBody),
        }
    }
}

fn endpoint(slots: usize) -> Endpoint<Page> {
    Endpoint::new(
        vec![Box::new(Fake(ITS_UUID)), Box::new(Fake(PS_UUID))],
        slots,
        0x2000,
    )
}

fn call(iface: u8, op: u16, handle: u64, len: u32, client: u32) -> [u32; 5] {
    [
        Control::new(0, iface, op).0,
        handle as u32,
        (handle >> 32) as u32,
        len,
        client,
    ]
}

const RETRIEVE: u32 = 0x00FF_0001;
const RELINQUISH: u32 = 0x00FF_0002;
const INFO: u32 = 0x00FF_0003;

#[test]
fn version_and_unknown_management_opcodes() {
    let mut e = endpoint(1);
    let mut m = FakeMem::default();
    assert_eq!(
        e.handle(&mut m, NW, [0x00FF_0000, 5, 5, 5, 5]),
        [0x00FF_0000, 1, 0, 0, 0]
    );
    assert_eq!(
        e.handle(&mut m, NW, [0x00FF_0009, 0, 0, 0, 0]),
        [0x00FF_0009, RpcStatus::InvalidValue.word(), 0, 0, 0]
    );
    // Flags are echoed in the control word.
    assert_eq!(
        e.handle(&mut m, NW, [0x01FF_0000, 0, 0, 0, 0])[0],
        0x01FF_0000
    );
}

#[test]
fn service_info_get_finds_interfaces_by_uuid() {
    let mut e = endpoint(1);
    let mut m = FakeMem::default();
    let w = |u: Uuid| {
        let x = u.to_words();
        [INFO, x[0], x[1], x[2], x[3]]
    };
    assert_eq!(e.handle(&mut m, NW, w(ITS_UUID)), [INFO, 0, 0, 0, 0]);
    assert_eq!(e.handle(&mut m, NW, w(PS_UUID)), [INFO, 0, 1, 0, 0]);
    assert_eq!(
        e.handle(&mut m, NW, w(crate::abi::PROTOCOL_UUID)),
        [INFO, RpcStatus::NotFound.word(), 0, 0, 0]
    );
}

#[test]
fn retrieve_call_relinquish() {
    let mut e = endpoint(2);
    let mut m = FakeMem::default();
    let page = m.share(NW, 0x8000_0000_0000_0001, 0x1000);
    page.borrow_mut()[..3].copy_from_slice(&[1, 2, 3]);
    let h = 0x8000_0000_0000_0001u64;
    assert_eq!(
        e.handle(&mut m, NW, [RETRIEVE, h as u32, (h >> 32) as u32, 0, 0]),
        [RETRIEVE, 0, 0, 0, 0]
    );
    assert_eq!(m.retrieved, [MemHandle(h)]);
    // Retrieving it again is refused without a second FF-A retrieve.
    assert_eq!(
        e.handle(&mut m, NW, [RETRIEVE, h as u32, (h >> 32) as u32, 0, 0])[1],
        RpcStatus::InvalidState.word()
    );
    assert_eq!(m.retrieved.len(), 1);
    let r = e.handle(&mut m, NW, call(0, 1, h, 3, 0));
    assert_eq!(r, [0x0000_0001, 0, 7, 3, 0]);
    assert_eq!(page.borrow()[..3], [3, 2, 1]);
    // Caller and client ID reach the service.
    let r = e.handle(&mut m, NW, call(1, 2, h, 0, 0x55));
    assert_eq!(r, [0x0001_0002, 0, 0, 4, 0]);
    assert_eq!(page.borrow()[..4], [0, 0, 0x55, 0]);
    // Another endpoint cannot use NW's handle.
    assert_eq!(
        e.handle(&mut m, SP, call(0, 1, h, 3, 0))[1],
        RpcStatus::NotFound.word()
    );
    assert_eq!(
        e.handle(&mut m, SP, [RELINQUISH, h as u32, (h >> 32) as u32, 0, 0])[1],
        RpcStatus::NotFound.word()
    );
    assert_eq!(
        e.handle(&mut m, NW, [RELINQUISH, h as u32, (h >> 32) as u32, 0, 0]),
        [RELINQUISH, 0, 0, 0, 0]
    );
    assert!(m.retrieved.is_empty());
    assert_eq!(
        e.handle(&mut m, NW, call(0, 1, h, 3, 0))[1],
        RpcStatus::NotFound.word()
    );
}

#[test]
fn retrieve_failures() {
    let mut e = endpoint(1);
    let mut m = FakeMem::default();
    // Nothing shared with that handle: the FF-A retrieve fails.
    assert_eq!(
        e.handle(&mut m, NW, [RETRIEVE, 9, 0, 0, 0])[1],
        RpcStatus::TransportLayer.word()
    );
    m.share(NW, 1, 0x1000);
    m.share(NW, 2, 0x1000);
    assert_eq!(e.handle(&mut m, NW, [RETRIEVE, 1, 0, 0, 0])[1], 0);
    // Table full: TS's answer, and no FF-A retrieve made.
    assert_eq!(
        e.handle(&mut m, NW, [RETRIEVE, 2, 0, 0, 0])[1],
        RpcStatus::NotFound.word()
    );
    assert_eq!(m.retrieved, [MemHandle(1)]);
    // A refused relinquish keeps the region usable.
    m.refuse_relinquish = true;
    assert_eq!(
        e.handle(&mut m, NW, [RELINQUISH, 1, 0, 0, 0])[1],
        RpcStatus::TransportLayer.word()
    );
    assert_eq!(e.handle(&mut m, NW, call(0, 1, 1, 0, 0))[1], 0);
}

#[test]
fn call_checks() {
    let mut e = endpoint(1);
    let mut m = FakeMem::default();
    let page = m.share(NW, 1, 0x3000);
    e.handle(&mut m, NW, [RETRIEVE, 1, 0, 0, 0]);
    // Unknown interface.
    assert_eq!(
        e.handle(&mut m, NW, call(2, 1, 1, 0, 0))[1],
        RpcStatus::InvalidValue.word()
    );
    // Request longer than the shared memory.
    assert_eq!(
        e.handle(&mut m, NW, call(0, 1, 1, 0x3001, 0))[1],
        RpcStatus::InvalidValue.word()
    );
    // Fits the memory but not the endpoint's message buffer (0x2000).
    assert_eq!(
        e.handle(&mut m, NW, call(0, 1, 1, 0x2001, 0))[1],
        RpcStatus::ResourceFailure.word()
    );
    // No memory: a request length is refused, an empty call reaches the service.
    assert_eq!(
        e.handle(&mut m, NW, call(0, 1, u64::MAX, 1, 0))[1],
        RpcStatus::InvalidValue.word()
    );
    assert_eq!(
        e.handle(&mut m, NW, call(0, 1, u64::MAX, 0, 0)),
        [1, 0, 7, 0, 0]
    );
    // The service's own RPC error, and a response claimed longer than the buffer.
    assert_eq!(
        e.handle(&mut m, NW, call(0, 4, 1, 0, 0)),
        [4, RpcStatus::InvalidRequestBody.word(), 0, 0, 0]
    );
    assert_eq!(
        e.handle(&mut m, NW, call(0, 3, 1, 0, 0))[1],
        RpcStatus::InvalidResponseBody.word()
    );
    // A later call sees none of an earlier request's bytes.
    page.borrow_mut()[..4].copy_from_slice(&[9, 9, 9, 9]);
    assert_eq!(e.handle(&mut m, NW, call(0, 1, 1, 4, 0))[1], 0);
    page.borrow_mut().fill(0xEE);
    assert_eq!(e.handle(&mut m, NW, call(0, 5, 1, 0, 0))[3], 0x2000);
    assert!(page.borrow()[..0x2000].iter().all(|b| *b == 0));
}

#[test]
fn refusal_of_other_message_forms() {
    assert_eq!(
        Endpoint::<Page>::refuse(0x0000_0101),
        [0x101, RpcStatus::InvalidValue.word(), 0, 0, 0]
    );
}

/// One caller cannot take every shared-memory slot (review 4, #2). block-storage serves ITS
/// and PS with 16 slots (ts-storage sp.rs SHM_SLOTS); the normal world, which can message
/// every TS RPC partition, shares 16 pages and retrieves them first: ITS's MEM_RETRIEVE must
/// still find a slot.
#[test]
fn one_caller_cannot_take_every_slot() {
    const ITS: EndpointId = EndpointId(0x8005);
    let mut e = endpoint(16);
    let mut m = FakeMem::default();
    for h in 1..=16u64 {
        m.share(NW, h, 0x1000);
        let _ = e.handle(&mut m, NW, [RETRIEVE, h as u32, 0, 0, 0]);
    }
    m.share(ITS, 100, 0x1000);
    assert_eq!(
        e.handle(&mut m, ITS, [RETRIEVE, 100, 0, 0, 0])[1],
        0,
        "the storage client's page was refused: the normal world holds every slot"
    );
}

/// Issue 13: several callers together can fill the slots that one alone cannot
/// (`one_caller_cannot_take_every_slot`); block-storage reserves one for each of its fixed
/// owners (ITS, PS), so both still attach after the normal world and two other SPs shared and
/// retrieved all they could.
#[test]
fn several_callers_cannot_starve_the_reserved_owners() {
    const ITS: EndpointId = EndpointId(0x8005);
    const PS: EndpointId = EndpointId(0x8006);
    let mut e = endpoint(16);
    assert!(e.reserve_slots(ITS, 1));
    assert!(e.reserve_slots(PS, 1));
    let mut m = FakeMem::default();
    let mut h = 1u64;
    let mut accepted = 0;
    for caller in [NW, SP, EndpointId(0x8002)] {
        for _ in 0..16 {
            m.share(caller, h, 0x1000);
            if e.handle(&mut m, caller, [RETRIEVE, h as u32, 0, 0, 0])[1] == 0 {
                accepted += 1;
            }
            h += 1;
        }
    }
    assert_eq!(
        accepted, 14,
        "the others take every slot but the two reserved"
    );
    for (owner, handle) in [(ITS, 100u64), (PS, 101)] {
        m.share(owner, handle, 0x1000);
        assert_eq!(
            e.handle(&mut m, owner, [RETRIEVE, handle as u32, 0, 0, 0])[1],
            0,
            "{owner:?}'s page was refused: the other callers hold every slot"
        );
    }
    // Without the reservations the same callers leave nothing (what the test guards against).
    let mut e = endpoint(16);
    let mut m = FakeMem::default();
    let mut h = 1u64;
    for caller in [NW, SP, EndpointId(0x8002)] {
        for _ in 0..16 {
            m.share(caller, h, 0x1000);
            let _ = e.handle(&mut m, caller, [RETRIEVE, h as u32, 0, 0, 0]);
            h += 1;
        }
    }
    m.share(ITS, 100, 0x1000);
    assert_ne!(e.handle(&mut m, ITS, [RETRIEVE, 100, 0, 0, 0])[1], 0);
}
