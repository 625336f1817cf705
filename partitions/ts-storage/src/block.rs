//! Block storage shared by several storage partitions (TS's "shared flash" design,
//! `deployments/*/config/shared-flash-opteesp`): one partition owns the flash and serves it
//! as partitions of blocks over TS RPC with TS's block storage protocol
//! ([`packed_c::block_storage`]); ITS and PS are its clients, each on its own partition.
//!
//! - [`BlockStorageService`]: the server, a [`ts_rpc::Service`] over any [`Flash`]. A block is
//!   one erase sector. Each partition has one owner endpoint: only it may OPEN it and use the
//!   handle (TS's `storage_partition_acl`; the owner is configured rather than the first
//!   opener, so that nothing else, not even the normal world, which can reach every TS RPC
//!   partition, can claim a partition before its owner first asks). WRITE programs (NOR
//!   semantics: it clears bits; a client writes erased blocks) and ERASE erases whole blocks.
//! - [`BlockFlash`]: the client, a [`Flash`] over a [`Transport`] (on an SP: TS RPC direct
//!   messages and a shared page, `sp.rs`), so the same [`crate::FlashStore`] log runs over
//!   the CFI driver or over a block storage partition.

use alloc::vec;
use alloc::vec::Vec;

use ffa_abi::{EndpointId, Uuid};
use packed_c::block_storage::{
    EraseRequest, GuidRequest, Handle, PartitionInfo, ReadRequest, WriteRequest, WriteResponse,
    GUID_LEN, OP_CLOSE, OP_ERASE, OP_GET_PARTITION_INFO, OP_OPEN, OP_READ, OP_WRITE,
    PARTITION_PSA_ITS, PARTITION_PSA_PS,
};
use packed_c::psa::{self, Status};
use ts_rpc::{Reply, RpcStatus, Service, ServiceCall};

use crate::flash::{check_range, Flash, FlashError, WORD};

/// TS's block storage service UUID 63646e80-eb52-462f-ac4f-8cdf3987519c.
pub const SERVICE_UUID: Uuid = ts_rpc::abi::BLOCK_STORAGE_UUID;

/// The endpoint that owns the ITS partition (partitions/its/its.dts `id`).
pub const ITS_ENDPOINT: EndpointId = EndpointId(0x8005);
/// The endpoint that owns the PS partition (partitions/ps/ps.dts `id`).
pub const PS_ENDPOINT: EndpointId = EndpointId(0x8006);

/// The partition table of the default SP set on a `sectors`-sector flash: the first half
/// for ITS, the rest for PS, by TS's partition GUIDs (those TS's shared-flash ITS and PS
/// open), each owned by that SP's endpoint.
pub fn default_partitions(sectors: usize) -> Vec<BlockPartition> {
    let half = sectors / 2;
    vec![
        BlockPartition {
            guid: PARTITION_PSA_ITS,
            first: 0,
            blocks: half,
            owner: ITS_ENDPOINT,
        },
        BlockPartition {
            guid: PARTITION_PSA_PS,
            first: half,
            blocks: sectors - half,
            owner: PS_ENDPOINT,
        },
    ]
}

/// One partition of the flash: `blocks` sectors from sector `first`, usable by `owner` only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockPartition {
    /// The GUID clients open it by.
    pub guid: [u8; GUID_LEN],
    /// First sector in the flash.
    pub first: usize,
    /// Number of sectors.
    pub blocks: usize,
    /// The only endpoint allowed to open and use it.
    pub owner: EndpointId,
}

/// Why a partition table was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableError {
    /// A partition is empty or reaches past the flash.
    OutOfRange,
    /// Two partitions share a sector.
    Overlap,
    /// Two partitions share a GUID.
    DuplicateGuid,
}

/// The block storage server over the flash `F`.
#[derive(Debug)]
pub struct BlockStorageService<F> {
    flash: F,
    parts: Vec<BlockPartition>,
    parent: [u8; GUID_LEN],
}

fn reply(status: Status) -> Result<Reply, RpcStatus> {
    Ok(Reply { status, len: 0 })
}

/// Bytes moved per flash access on the server (a stack buffer: nothing is allocated per
/// message).
const STEP: usize = 256;

impl<F: Flash> BlockStorageService<F> {
    /// Serves `parts` of `flash`; `parent` is the GUID reported as every partition's parent
    /// (the device's).
    pub fn new(
        flash: F,
        parts: Vec<BlockPartition>,
        parent: [u8; GUID_LEN],
    ) -> Result<Self, TableError> {
        for (i, p) in parts.iter().enumerate() {
            match p.first.checked_add(p.blocks) {
                Some(end) if p.blocks > 0 && end <= flash.sectors() => {}
                _ => return Err(TableError::OutOfRange),
            }
            for q in &parts[..i] {
                if q.guid == p.guid {
                    return Err(TableError::DuplicateGuid);
                }
                if p.first < q.first + q.blocks && q.first < p.first + p.blocks {
                    return Err(TableError::Overlap);
                }
            }
        }
        Ok(Self {
            flash,
            parts,
            parent,
        })
    }

    /// Returns the flash.
    pub fn flash(&self) -> &F {
        &self.flash
    }

    /// The partition behind `handle`, if `caller` may use it (TS: INVALID_ARGUMENT for a
    /// handle that names nothing, NOT_PERMITTED for someone else's).
    fn partition(&self, caller: EndpointId, handle: u64) -> Result<BlockPartition, Status> {
        let p = usize::try_from(handle)
            .ok()
            .and_then(|i| self.parts.get(i))
            .ok_or(psa::ERROR_INVALID_ARGUMENT)?;
        if p.owner != caller {
            return Err(psa::ERROR_NOT_PERMITTED);
        }
        Ok(*p)
    }

    fn find(&self, guid: &[u8; GUID_LEN]) -> Option<(usize, &BlockPartition)> {
        self.parts.iter().enumerate().find(|(_, p)| &p.guid == guid)
    }

    /// The flash byte range of `len` bytes at `offset` in block `lba` of `p`, clipped to the
    /// block (TS's device stores clip a transfer to the block it starts in).
    fn span(
        &self,
        p: &BlockPartition,
        lba: u64,
        offset: u32,
        len: usize,
    ) -> Option<(usize, usize)> {
        let ss = self.flash.sector_size();
        let lba = usize::try_from(lba).ok().filter(|l| *l < p.blocks)?;
        let offset = usize::try_from(offset).ok().filter(|o| *o < ss)?;
        let len = len.min(ss - offset);
        Some(((p.first + lba) * ss + offset, len))
    }

    fn get_partition_info(&mut self, buf: &mut [u8], len: usize) -> Result<Reply, RpcStatus> {
        let req = GuidRequest::decode(&buf[..len]).ok_or(RpcStatus::InvalidRequestBody)?;
        let Some((_, p)) = self.find(&req.partition_guid) else {
            return reply(psa::ERROR_INVALID_ARGUMENT);
        };
        let info = PartitionInfo {
            num_blocks: p.blocks as u64,
            block_size: u32::try_from(self.flash.sector_size()).map_err(|_| RpcStatus::Internal)?,
            partition_guid: p.guid,
            parent_guid: self.parent,
        };
        let n = info.encode(buf).ok_or(RpcStatus::Internal)?;
        Ok(Reply {
            status: psa::SUCCESS,
            len: n,
        })
    }

    fn open(&mut self, caller: EndpointId, buf: &mut [u8], len: usize) -> Result<Reply, RpcStatus> {
        let req = GuidRequest::decode(&buf[..len]).ok_or(RpcStatus::InvalidRequestBody)?;
        let Some((i, p)) = self.find(&req.partition_guid) else {
            return reply(psa::ERROR_INVALID_ARGUMENT);
        };
        if p.owner != caller {
            return reply(psa::ERROR_NOT_PERMITTED);
        }
        let n = Handle { handle: i as u64 }
            .encode(buf)
            .ok_or(RpcStatus::Internal)?;
        Ok(Reply {
            status: psa::SUCCESS,
            len: n,
        })
    }

    fn close(&mut self, caller: EndpointId, buf: &[u8]) -> Result<Reply, RpcStatus> {
        let req = Handle::decode(buf).ok_or(RpcStatus::InvalidRequestBody)?;
        match self.partition(caller, req.handle) {
            Ok(_) => reply(psa::SUCCESS),
            Err(s) => reply(s),
        }
    }

    fn read(&mut self, caller: EndpointId, buf: &mut [u8], len: usize) -> Result<Reply, RpcStatus> {
        let req = ReadRequest::decode(&buf[..len]).ok_or(RpcStatus::InvalidRequestBody)?;
        let p = match self.partition(caller, req.handle) {
            Ok(p) => p,
            Err(s) => return reply(s),
        };
        // At most what the response buffer holds (TS clips the same way).
        let want = usize::try_from(req.len)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let Some((at, n)) = self.span(&p, req.lba, req.offset, want) else {
            return reply(psa::ERROR_INVALID_ARGUMENT);
        };
        // Word-aligned reads around [at, at + n), copied out a step at a time.
        let mut done = 0;
        while done < n {
            let pos = at + done;
            let start = pos - pos % WORD;
            let mut tmp = [0u8; STEP];
            let end = (pos + (n - done)).min(start + STEP).next_multiple_of(WORD);
            if self.flash.read(start, &mut tmp[..end - start]).is_err() {
                return reply(psa::ERROR_STORAGE_FAILURE);
            }
            let take = (end - pos).min(n - done);
            buf[done..done + take].copy_from_slice(&tmp[pos - start..pos - start + take]);
            done += take;
        }
        Ok(Reply {
            status: psa::SUCCESS,
            len: n,
        })
    }

    fn write(
        &mut self,
        caller: EndpointId,
        buf: &mut [u8],
        len: usize,
    ) -> Result<Reply, RpcStatus> {
        let req = WriteRequest::decode(&buf[..len]).ok_or(RpcStatus::InvalidRequestBody)?;
        let p = match self.partition(caller, req.handle) {
            Ok(p) => p,
            Err(s) => return reply(s),
        };
        let data_len = len - WriteRequest::SIZE;
        let Some((at, n)) = self.span(&p, req.lba, req.offset, data_len) else {
            return reply(psa::ERROR_INVALID_ARGUMENT);
        };
        // Whole words: bytes outside the data are programmed as 0xFF, which leaves them as
        // they are (programming only clears bits).
        let mut done = 0;
        while done < n {
            let pos = at + done;
            let start = pos - pos % WORD;
            let mut tmp = [0xFFu8; STEP];
            let take = (start + STEP - pos).min(n - done);
            let src = WriteRequest::SIZE + done;
            tmp[pos - start..pos - start + take].copy_from_slice(&buf[src..src + take]);
            let end = (pos + take).next_multiple_of(WORD);
            if self.flash.program(start, &tmp[..end - start]).is_err() {
                return reply(psa::ERROR_STORAGE_FAILURE);
            }
            done += take;
        }
        let n = WriteResponse {
            num_written: n as u64,
        }
        .encode(buf)
        .ok_or(RpcStatus::Internal)?;
        Ok(Reply {
            status: psa::SUCCESS,
            len: n,
        })
    }

    fn erase(&mut self, caller: EndpointId, buf: &[u8]) -> Result<Reply, RpcStatus> {
        let req = EraseRequest::decode(buf).ok_or(RpcStatus::InvalidRequestBody)?;
        let p = match self.partition(caller, req.handle) {
            Ok(p) => p,
            Err(s) => return reply(s),
        };
        let Some(first) = usize::try_from(req.begin_lba)
            .ok()
            .filter(|l| *l < p.blocks)
        else {
            return reply(psa::ERROR_INVALID_ARGUMENT);
        };
        let count = usize::try_from(req.num_blocks)
            .unwrap_or(usize::MAX)
            .min(p.blocks - first);
        for b in first..first + count {
            if self.flash.erase(p.first + b).is_err() {
                return reply(psa::ERROR_STORAGE_FAILURE);
            }
        }
        reply(psa::SUCCESS)
    }
}

impl<F: Flash> Service for BlockStorageService<F> {
    fn uuid(&self) -> Uuid {
        SERVICE_UUID
    }

    fn call(&mut self, call: ServiceCall<'_>) -> Result<Reply, RpcStatus> {
        let len = call.clipped_len();
        let (caller, opcode, buf) = (call.caller, call.opcode, call.buf);
        match opcode {
            OP_GET_PARTITION_INFO => self.get_partition_info(buf, len),
            OP_OPEN => self.open(caller, buf, len),
            OP_CLOSE => self.close(caller, &buf[..len]),
            OP_READ => self.read(caller, buf, len),
            OP_WRITE => self.write(caller, buf, len),
            OP_ERASE => self.erase(caller, &buf[..len]),
            _ => Err(RpcStatus::InvalidValue),
        }
    }
}

/// How a [`BlockFlash`] reaches the block storage service: one TS RPC service call with the
/// request in `buf[..request_len]`; the response is written over `buf`.
pub trait Transport {
    /// Bytes of the message buffer (the memory shared with the server).
    fn capacity(&self) -> usize;
    /// Makes the call; returns the service status and the response length, or
    /// `FlashError::Transport` if the call itself failed.
    fn call(
        &mut self,
        opcode: u16,
        buf: &mut [u8],
        request_len: usize,
    ) -> Result<(Status, usize), FlashError>;
}

/// A partition of a block storage service, as a [`Flash`] (one block = one sector). Reads
/// go through a one-chunk cache (the log's mount reads word by word), which every program
/// or erase empties.
#[derive(Debug)]
pub struct BlockFlash<T> {
    t: T,
    handle: u64,
    block_size: usize,
    blocks: usize,
    buf: Vec<u8>,
    /// Flash offset of the cached chunk, and its bytes.
    cache: Option<(usize, Vec<u8>)>,
}

/// Bytes of a request's fixed part before WRITE data.
const WRITE_HEADER: usize = WriteRequest::SIZE;

impl<T: Transport> BlockFlash<T> {
    /// Finds partition `guid` (GET_PARTITION_INFO) and opens it.
    pub fn open(mut t: T, guid: [u8; GUID_LEN]) -> Result<Self, FlashError> {
        let cap = t.capacity();
        if cap < WRITE_HEADER + WORD || cap < PartitionInfo::SIZE {
            return Err(FlashError::Transport);
        }
        let mut buf = vec![0u8; cap];
        let req = GuidRequest {
            partition_guid: guid,
        };
        let n = req.encode(&mut buf).ok_or(FlashError::Transport)?;
        let info = match t.call(OP_GET_PARTITION_INFO, &mut buf, n)? {
            (psa::SUCCESS, len) => {
                PartitionInfo::decode(&buf[..len.min(cap)]).ok_or(FlashError::Transport)?
            }
            (s, _) => return Err(FlashError::Service(s)),
        };
        let block_size = usize::try_from(info.block_size).map_err(|_| FlashError::Transport)?;
        let blocks = usize::try_from(info.num_blocks).map_err(|_| FlashError::Transport)?;
        if block_size == 0 || !block_size.is_multiple_of(WORD) || blocks == 0 {
            return Err(FlashError::OutOfRange);
        }
        let n = req.encode(&mut buf).ok_or(FlashError::Transport)?;
        let handle = match t.call(OP_OPEN, &mut buf, n)? {
            (psa::SUCCESS, len) => {
                Handle::decode(&buf[..len.min(cap)])
                    .ok_or(FlashError::Transport)?
                    .handle
            }
            (s, _) => return Err(FlashError::Service(s)),
        };
        Ok(Self {
            t,
            handle,
            block_size,
            blocks,
            buf,
            cache: None,
        })
    }

    /// Bytes of one read chunk: the buffer, in whole words, at most a block.
    fn chunk(&self) -> usize {
        (self.buf.len() - self.buf.len() % WORD).min(self.block_size)
    }

    /// Reads the chunk that holds flash offset `at` into the cache; a read of `want` (less
    /// than a chunk) at the start of a block reads only those bytes (in whole words): the
    /// log's mount reads each sector's header and nothing else of the sectors it does not
    /// replay. A whole chunk per header was a 4 KiB READ through block-storage for each
    /// sector of ITS and PS at every boot.
    fn fill(&mut self, at: usize, want: usize) -> Result<(), FlashError> {
        let c = self.chunk();
        let lba = at / self.block_size;
        let in_block = at % self.block_size;
        let start = in_block - in_block % c;
        let len = if in_block == 0 && want < c {
            want.next_multiple_of(WORD).min(c)
        } else {
            c
        }
        .min(self.block_size - start);
        let req = ReadRequest {
            handle: self.handle,
            lba: lba as u64,
            offset: u32::try_from(start).map_err(|_| FlashError::OutOfRange)?,
            len: u32::try_from(len).map_err(|_| FlashError::OutOfRange)?,
        };
        let n = req.encode(&mut self.buf).ok_or(FlashError::Transport)?;
        match self.t.call(OP_READ, &mut self.buf, n)? {
            (psa::SUCCESS, got) if got == len => {}
            (psa::SUCCESS, _) => return Err(FlashError::Transport),
            (s, _) => return Err(FlashError::Service(s)),
        }
        let mut bytes = match self.cache.take() {
            Some((_, mut v)) => {
                v.clear();
                v
            }
            None => Vec::new(),
        };
        bytes.extend_from_slice(&self.buf[..len]);
        self.cache = Some((lba * self.block_size + start, bytes));
        Ok(())
    }
}

impl<T: Transport> Flash for BlockFlash<T> {
    fn sector_size(&self) -> usize {
        self.block_size
    }

    fn sectors(&self) -> usize {
        self.blocks
    }

    fn read(&mut self, offset: usize, buf: &mut [u8]) -> Result<(), FlashError> {
        check_range(offset, buf.len(), self.block_size * self.blocks)?;
        let mut done = 0;
        while done < buf.len() {
            let at = offset + done;
            let hit = matches!(&self.cache, Some((c, v)) if *c <= at && at < *c + v.len());
            if !hit {
                self.fill(at, buf.len() - done)?;
            }
            let Some((c, v)) = &self.cache else {
                return Err(FlashError::Transport);
            };
            let take = (c + v.len() - at).min(buf.len() - done);
            buf[done..done + take].copy_from_slice(&v[at - c..at - c + take]);
            done += take;
        }
        Ok(())
    }

    fn program(&mut self, offset: usize, data: &[u8]) -> Result<(), FlashError> {
        check_range(offset, data.len(), self.block_size * self.blocks)?;
        self.cache = None;
        let room = (self.buf.len() - WRITE_HEADER) / WORD * WORD;
        let mut done = 0;
        while done < data.len() {
            let at = offset + done;
            let lba = at / self.block_size;
            let in_block = at % self.block_size;
            let take = room.min(self.block_size - in_block).min(data.len() - done);
            let req = WriteRequest {
                handle: self.handle,
                lba: lba as u64,
                offset: u32::try_from(in_block).map_err(|_| FlashError::OutOfRange)?,
            };
            let n = req
                .encode(&data[done..done + take], &mut self.buf)
                .ok_or(FlashError::Transport)?;
            match self.t.call(OP_WRITE, &mut self.buf, n)? {
                (psa::SUCCESS, len) => {
                    let w = WriteResponse::decode(&self.buf[..len.min(self.buf.len())])
                        .ok_or(FlashError::Transport)?;
                    if w.num_written != take as u64 {
                        return Err(FlashError::Transport);
                    }
                }
                (s, _) => return Err(FlashError::Service(s)),
            }
            done += take;
        }
        Ok(())
    }

    fn erase(&mut self, sector: usize) -> Result<(), FlashError> {
        if sector >= self.blocks {
            return Err(FlashError::OutOfRange);
        }
        self.cache = None;
        let req = EraseRequest {
            handle: self.handle,
            begin_lba: sector as u64,
            num_blocks: 1,
        };
        let n = req.encode(&mut self.buf).ok_or(FlashError::Transport)?;
        match self.t.call(OP_ERASE, &mut self.buf, n)? {
            (psa::SUCCESS, _) => Ok(()),
            (s, _) => Err(FlashError::Service(s)),
        }
    }
}

#[cfg(test)]
mod tests;
