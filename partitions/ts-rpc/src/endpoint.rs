//! The SP side of TS RPC (TS `ts_rpc_endpoint_sp.c`): answers the management interface and
//! dispatches service calls to [`Service`]s by interface ID (the index SERVICE_INFO_GET
//! returned), with the request and the response in memory the caller shared.
//!
//! The request is copied out of shared memory before the service sees it and the response
//! copied back after: the client can write its pages at any time, and a service must never
//! parse bytes that change under it (a check on one read and a use of another). The copies
//! go through a buffer allocated once; nothing is allocated per message.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use ffa_abi::{EndpointId, MemHandle, Uuid};

use crate::abi::{response, Request, RpcStatus, VERSION};
use crate::shm::ShmTable;

/// Memory a client shared with us, as mapped in our address space.
pub trait SharedMemory {
    /// Returns its size in bytes.
    fn size(&self) -> usize;
    /// Copies `out.len()` bytes from `offset`; false if out of range.
    fn read(&self, offset: usize, out: &mut [u8]) -> bool;
    /// Copies `data` to `offset`; false if out of range or read-only.
    fn write(&mut self, offset: usize, data: &[u8]) -> bool;
}

/// The FF-A memory ABIs the endpoint needs.
pub trait Memory {
    /// What a retrieve gives.
    type Region: SharedMemory;
    /// Retrieves `handle` that `owner` shared with us (FFA_MEM_RETRIEVE_REQ).
    fn retrieve(&mut self, owner: EndpointId, handle: MemHandle, tag: u64) -> Option<Self::Region>;
    /// Gives it back (FFA_MEM_RELINQUISH); on failure the region is handed back.
    fn relinquish(&mut self, region: Self::Region) -> Result<(), Self::Region>;
}

/// What a service call produced: the service (e.g. PSA) status and the response length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply {
    /// Service status (PSA status for the storage services).
    pub status: i32,
    /// Bytes of response at the start of the buffer.
    pub len: usize,
}

/// A service reachable through TS RPC.
pub trait Service {
    /// Returns the service UUID clients find it by (SERVICE_INFO_GET).
    fn uuid(&self) -> Uuid;

    /// Handles one call ([`ServiceCall`]). An `Err` is an RPC-level failure (malformed
    /// request, unknown opcode): then the response carries only that status.
    fn call(&mut self, call: ServiceCall<'_>) -> Result<Reply, RpcStatus>;
}

/// One call of a [`Service`]: `opcode` from `caller` (the FF-A endpoint that sent the
/// message; services namespace their state by it) naming `client_id`. `buf[..request_len]`
/// holds the request; the response is written over it from `buf[0]`, at most `buf.len()`
/// bytes.
#[derive(Debug)]
pub struct ServiceCall<'a> {
    pub caller: EndpointId,
    pub client_id: u32,
    pub opcode: u16,
    pub buf: &'a mut [u8],
    pub request_len: usize,
}

impl ServiceCall<'_> {
    /// `request_len`, at most the buffer's length: the bytes of the request.
    pub fn clipped_len(&self) -> usize {
        self.request_len.min(self.buf.len())
    }
}

/// A TS RPC endpoint: services, the shared-memory table and the copy buffer.
pub struct Endpoint<R> {
    services: Vec<Box<dyn Service>>,
    shm: ShmTable<R>,
    scratch: Vec<u8>,
    /// Bytes of `scratch` the last call may have left data in (zeroed before the next).
    dirty: usize,
}

impl<R> core::fmt::Debug for Endpoint<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Endpoint")
            .field("services", &self.services.len())
            .field("shared", &self.shm.len())
            .field("max_message", &self.scratch.len())
            .finish()
    }
}

impl<R: SharedMemory> Endpoint<R> {
    /// An endpoint offering `services` (interface IDs in this order), holding up to
    /// `shm_slots` retrieved regions at once, and handling messages of up to `max_message`
    /// bytes.
    pub fn new(services: Vec<Box<dyn Service>>, shm_slots: usize, max_message: usize) -> Self {
        Self {
            services,
            shm: ShmTable::new(shm_slots),
            scratch: vec![0; max_message],
            dirty: 0,
        }
    }

    /// Keeps `count` shared-memory slots for `owner` alone ([`ShmTable::reserve`]): the
    /// partition that must always be able to attach (ITS and PS at block-storage) finds one
    /// however many pages other callers shared. False if refused (the reservations would
    /// leave no slot for anyone else, or the endpoint already holds memory).
    pub fn reserve_slots(&mut self, owner: EndpointId, count: usize) -> bool {
        self.shm.reserve(owner, count)
    }

    /// Returns the shared-memory table.
    pub fn shared(&self) -> &ShmTable<R> {
        &self.shm
    }

    /// Handles one TS RPC request (w3..w7 of a REQ_32 from `sender`) and returns the response
    /// words (w3..w7 of the RESP_32).
    pub fn handle<M: Memory<Region = R>>(
        &mut self,
        mem: &mut M,
        sender: EndpointId,
        w: [u32; 5],
    ) -> [u32; 5] {
        let control = w[0];
        match Request::decode(w) {
            Request::Version => response::version(control, VERSION),
            Request::MemRetrieve { handle, tag } => {
                response::status(control, self.retrieve(mem, sender, handle, tag))
            }
            Request::MemRelinquish { handle } => {
                response::status(control, self.relinquish(mem, sender, handle))
            }
            Request::ServiceInfoGet { uuid } => {
                match self.services.iter().position(|s| s.uuid() == uuid) {
                    Some(i) => match u8::try_from(i) {
                        Ok(id) => response::service_info(control, id),
                        Err(_) => response::status(control, RpcStatus::Internal),
                    },
                    None => response::status(control, RpcStatus::NotFound),
                }
            }
            Request::UnknownManagement { .. } => response::status(control, RpcStatus::InvalidValue),
            Request::Call {
                interface,
                opcode,
                handle,
                request_len,
                client_id,
            } => match self.call(sender, interface, opcode, handle, request_len, client_id) {
                Ok(r) => match u32::try_from(r.len) {
                    Ok(len) => response::call(control, r.status, len),
                    Err(_) => response::status(control, RpcStatus::InvalidResponseBody),
                },
                Err(s) => response::status(control, s),
            },
        }
    }

    /// The answer to a request in a form TS RPC does not use (64-bit or REQ2 direct
    /// messages): the control word echoed and INVALID_VALUE in the RPC status position (TS's
    /// endpoint answers a 64-bit request the same way).
    pub fn refuse(control: u32) -> [u32; 5] {
        response::status(control, RpcStatus::InvalidValue)
    }

    fn retrieve<M: Memory<Region = R>>(
        &mut self,
        mem: &mut M,
        owner: EndpointId,
        handle: MemHandle,
        tag: u64,
    ) -> RpcStatus {
        if self.shm.contains(owner, handle) {
            // Retrieving again would map the pages twice and lose track of one mapping.
            return RpcStatus::InvalidState;
        }
        if !self.shm.may_take(owner) {
            // TS answers NOT_FOUND when it has no free slot. One caller gets at most three
            // quarters of the slots ([`ShmTable::per_owner`]): the others keep some; and
            // slots reserved for fixed owners ([`Self::reserve_slots`]) are theirs alone.
            return RpcStatus::NotFound;
        }
        let Some(region) = mem.retrieve(owner, handle, tag) else {
            return RpcStatus::TransportLayer;
        };
        match self.shm.insert(owner, handle, region) {
            Ok(()) => RpcStatus::Success,
            Err(region) => {
                // Not reachable after the checks above; give the pages back all the same.
                let _ = mem.relinquish(region);
                RpcStatus::Internal
            }
        }
    }

    fn relinquish<M: Memory<Region = R>>(
        &mut self,
        mem: &mut M,
        owner: EndpointId,
        handle: MemHandle,
    ) -> RpcStatus {
        let Some(region) = self.shm.remove(owner, handle) else {
            return RpcStatus::NotFound;
        };
        match mem.relinquish(region) {
            Ok(()) => RpcStatus::Success,
            Err(region) => {
                // Still mapped: keep it usable and listed.
                let _ = self.shm.insert(owner, handle, region);
                RpcStatus::TransportLayer
            }
        }
    }

    fn call(
        &mut self,
        sender: EndpointId,
        interface: u8,
        opcode: u16,
        handle: Option<MemHandle>,
        request_len: u32,
        client_id: u32,
    ) -> Result<Reply, RpcStatus> {
        let service = self
            .services
            .get_mut(usize::from(interface))
            .ok_or(RpcStatus::InvalidValue)?;
        let region = match handle {
            Some(h) => Some(self.shm.get_mut(sender, h).ok_or(RpcStatus::NotFound)?),
            None => None,
        };
        let size = region.as_ref().map_or(0, |r| r.size());
        let request_len = usize::try_from(request_len).map_err(|_| RpcStatus::InvalidValue)?;
        if request_len > size {
            return Err(RpcStatus::InvalidValue);
        }
        let cap = size.min(self.scratch.len());
        if request_len > cap {
            return Err(RpcStatus::ResourceFailure);
        }
        // Nothing from an earlier call may leak into this one's response.
        let dirty = self.dirty.min(self.scratch.len());
        self.scratch[..dirty].fill(0);
        self.dirty = cap;
        let buf = &mut self.scratch[..cap];
        if let Some(r) = region.as_deref() {
            if !r.read(0, &mut buf[..request_len]) {
                return Err(RpcStatus::TransportLayer);
            }
        }
        let reply = service.call(ServiceCall {
            caller: sender,
            client_id,
            opcode,
            buf,
            request_len,
        })?;
        if reply.len > cap {
            return Err(RpcStatus::InvalidResponseBody);
        }
        if let Some(r) = region {
            if !r.write(0, &buf[..reply.len]) {
                return Err(RpcStatus::TransportLayer);
            }
        }
        Ok(reply)
    }
}

#[cfg(test)]
mod tests;
