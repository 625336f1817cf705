//! The secure storage protocol's opcodes over a [`Store`], with the PSA Storage API's checks.

use alloc::vec::Vec;

use ffa_abi::{EndpointId, Uuid};
use packed_c::psa::{self, Status};
use packed_c::secure_storage::{
    CreateRequest, GetInfoResponse, GetRequest, GetSupportResponse, SetExtendedRequest, SetRequest,
    UidRequest, OP_CREATE, OP_GET, OP_GET_INFO, OP_GET_SUPPORT, OP_REMOVE, OP_SET, OP_SET_EXTENDED,
};
use ts_rpc::{Reply, RpcStatus, Service, ServiceCall};

use crate::store::{Object, Store};

/// Which PSA storage API the service implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// PSA Internal Trusted Storage (service UUID `ts_rpc::abi::ITS_UUID`).
    Its,
    /// PSA Protected Storage (`ts_rpc::abi::PS_UUID`), with CREATE and SET_EXTENDED.
    Ps,
}

/// A storage service over the store `S`.
#[derive(Debug)]
pub struct StorageService<S> {
    flavour: Flavour,
    store: S,
}

fn reply(status: Status) -> Result<Reply, RpcStatus> {
    Ok(Reply { status, len: 0 })
}

/// Returns the data bytes following a `header`-byte request header, if the request holds
/// them all (TS: INVALID_REQUEST_BODY otherwise).
fn data_after(req: &[u8], header: usize, len: u64) -> Result<&[u8], RpcStatus> {
    let len = usize::try_from(len).map_err(|_| RpcStatus::InvalidRequestBody)?;
    let end = header
        .checked_add(len)
        .ok_or(RpcStatus::InvalidRequestBody)?;
    req.get(header..end).ok_or(RpcStatus::InvalidRequestBody)
}

impl<S: Store> StorageService<S> {
    /// A service of `flavour` over `store`.
    pub fn new(flavour: Flavour, store: S) -> Self {
        Self { flavour, store }
    }

    /// Returns the store.
    pub fn store(&self) -> &S {
        &self.store
    }

    fn set(&mut self, caller: EndpointId, req: &[u8]) -> Result<Reply, RpcStatus> {
        let h = SetRequest::decode(req).ok_or(RpcStatus::InvalidRequestBody)?;
        let data = data_after(req, SetRequest::SIZE, h.data_length)?;
        if h.uid == 0 {
            return reply(psa::ERROR_INVALID_ARGUMENT);
        }
        if h.create_flags & !psa::FLAGS_DEFINED != 0 {
            return reply(psa::ERROR_NOT_SUPPORTED);
        }
        if let Some(o) = self.store.get(caller, h.uid) {
            if o.flags & psa::FLAG_WRITE_ONCE != 0 {
                return reply(psa::ERROR_NOT_PERMITTED);
            }
        }
        if h.data_length > self.store.limits().max_object {
            return reply(psa::ERROR_INSUFFICIENT_STORAGE);
        }
        let mut bytes = Vec::new();
        if bytes.try_reserve_exact(data.len()).is_err() {
            return reply(psa::ERROR_INSUFFICIENT_MEMORY);
        }
        bytes.extend_from_slice(data);
        let obj = Object {
            flags: h.create_flags,
            capacity: h.data_length,
            data: bytes,
        };
        reply(match self.store.put(caller, h.uid, obj) {
            Ok(()) => psa::SUCCESS,
            Err(s) => s,
        })
    }

    fn get(&mut self, caller: EndpointId, buf: &mut [u8], len: usize) -> Result<Reply, RpcStatus> {
        let h = GetRequest::decode(&buf[..len]).ok_or(RpcStatus::InvalidRequestBody)?;
        if h.uid == 0 {
            return reply(psa::ERROR_INVALID_ARGUMENT);
        }
        let Some(o) = self.store.get(caller, h.uid) else {
            return reply(psa::ERROR_DOES_NOT_EXIST);
        };
        let size = o.data.len() as u64;
        if h.data_offset > size {
            return reply(psa::ERROR_INVALID_ARGUMENT);
        }
        // Clipped to the data and to the response buffer, as TS's provider and backends do.
        let n = h.data_size.min(size - h.data_offset).min(buf.len() as u64) as usize;
        let from = h.data_offset as usize;
        buf[..n].copy_from_slice(&o.data[from..from + n]);
        Ok(Reply {
            status: psa::SUCCESS,
            len: n,
        })
    }

    fn get_info(
        &mut self,
        caller: EndpointId,
        buf: &mut [u8],
        len: usize,
    ) -> Result<Reply, RpcStatus> {
        let h = UidRequest::decode(&buf[..len]).ok_or(RpcStatus::InvalidRequestBody)?;
        if buf.len() < GetInfoResponse::SIZE {
            return Err(RpcStatus::InvalidResponseBody);
        }
        if h.uid == 0 {
            return reply(psa::ERROR_INVALID_ARGUMENT);
        }
        let Some(o) = self.store.get(caller, h.uid) else {
            return reply(psa::ERROR_DOES_NOT_EXIST);
        };
        let info = GetInfoResponse {
            capacity: o.capacity,
            size: o.data.len() as u64,
            flags: o.flags,
        };
        let n = info.encode(buf).ok_or(RpcStatus::InvalidResponseBody)?;
        Ok(Reply {
            status: psa::SUCCESS,
            len: n,
        })
    }

    fn remove(&mut self, caller: EndpointId, req: &[u8]) -> Result<Reply, RpcStatus> {
        let h = UidRequest::decode(req).ok_or(RpcStatus::InvalidRequestBody)?;
        if h.uid == 0 {
            return reply(psa::ERROR_INVALID_ARGUMENT);
        }
        let Some(o) = self.store.get(caller, h.uid) else {
            return reply(psa::ERROR_DOES_NOT_EXIST);
        };
        if o.flags & psa::FLAG_WRITE_ONCE != 0 {
            return reply(psa::ERROR_NOT_PERMITTED);
        }
        reply(match self.store.remove(caller, h.uid) {
            Ok(()) => psa::SUCCESS,
            Err(s) => s,
        })
    }

    fn create(&mut self, caller: EndpointId, req: &[u8]) -> Result<Reply, RpcStatus> {
        let h = CreateRequest::decode(req).ok_or(RpcStatus::InvalidRequestBody)?;
        if h.uid == 0 {
            return reply(psa::ERROR_INVALID_ARGUMENT);
        }
        // PSA PS 1.0 psa_ps_create: a write-once object could never be filled in.
        if h.create_flags & !psa::FLAGS_DEFINED != 0 || h.create_flags & psa::FLAG_WRITE_ONCE != 0 {
            return reply(psa::ERROR_NOT_SUPPORTED);
        }
        if self.store.get(caller, h.uid).is_some() {
            return reply(psa::ERROR_ALREADY_EXISTS);
        }
        if h.capacity > self.store.limits().max_object {
            return reply(psa::ERROR_INSUFFICIENT_STORAGE);
        }
        let obj = Object {
            flags: h.create_flags,
            capacity: h.capacity,
            data: Vec::new(),
        };
        reply(match self.store.put(caller, h.uid, obj) {
            Ok(()) => psa::SUCCESS,
            Err(s) => s,
        })
    }

    fn set_extended(&mut self, caller: EndpointId, req: &[u8]) -> Result<Reply, RpcStatus> {
        let h = SetExtendedRequest::decode(req).ok_or(RpcStatus::InvalidRequestBody)?;
        let data = data_after(req, SetExtendedRequest::SIZE, h.data_length)?;
        if h.uid == 0 {
            return reply(psa::ERROR_INVALID_ARGUMENT);
        }
        let Some(o) = self.store.get(caller, h.uid) else {
            return reply(psa::ERROR_DOES_NOT_EXIST);
        };
        if o.flags & psa::FLAG_WRITE_ONCE != 0 {
            return reply(psa::ERROR_NOT_PERMITTED);
        }
        let Some(end) = h.data_offset.checked_add(h.data_length) else {
            return reply(psa::ERROR_INVALID_ARGUMENT);
        };
        // Inside the capacity, and no gap after the current data (TS's backends).
        if end > o.capacity || h.data_offset > o.data.len() as u64 {
            return reply(psa::ERROR_INVALID_ARGUMENT);
        }
        let mut obj = o.clone();
        let (from, end) = (h.data_offset as usize, end as usize);
        if end > obj.data.len() {
            obj.data.resize(end, 0);
        }
        obj.data[from..end].copy_from_slice(data);
        reply(match self.store.put(caller, h.uid, obj) {
            Ok(()) => psa::SUCCESS,
            Err(s) => s,
        })
    }

    fn get_support(&mut self, buf: &mut [u8]) -> Result<Reply, RpcStatus> {
        let support = match self.flavour {
            Flavour::Its => 0,
            Flavour::Ps => psa::SUPPORT_SET_EXTENDED,
        };
        let n = GetSupportResponse { support }
            .encode(buf)
            .ok_or(RpcStatus::InvalidResponseBody)?;
        Ok(Reply {
            status: psa::SUCCESS,
            len: n,
        })
    }
}

impl<S: Store> Service for StorageService<S> {
    fn uuid(&self) -> Uuid {
        match self.flavour {
            Flavour::Its => ts_rpc::abi::ITS_UUID,
            Flavour::Ps => ts_rpc::abi::PS_UUID,
        }
    }

    fn call(&mut self, call: ServiceCall<'_>) -> Result<Reply, RpcStatus> {
        let len = call.clipped_len();
        let (caller, opcode, buf) = (call.caller, call.opcode, call.buf);
        let ps = self.flavour == Flavour::Ps;
        match opcode {
            OP_SET => self.set(caller, &buf[..len]),
            OP_GET => self.get(caller, buf, len),
            OP_GET_INFO => self.get_info(caller, buf, len),
            OP_REMOVE => self.remove(caller, &buf[..len]),
            OP_CREATE if ps => self.create(caller, &buf[..len]),
            OP_SET_EXTENDED if ps => self.set_extended(caller, &buf[..len]),
            OP_CREATE | OP_SET_EXTENDED => reply(psa::ERROR_NOT_SUPPORTED),
            OP_GET_SUPPORT => self.get_support(buf),
            _ => Err(RpcStatus::InvalidValue),
        }
    }
}

#[cfg(test)]
mod tests;
