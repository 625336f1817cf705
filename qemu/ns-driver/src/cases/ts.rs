//! Trusted Services cases (issue 13): the normal world as a TS RPC client (what Linux's
//! `arm_tstee` and TS's libts do) of the Internal Trusted Storage (its, 0x8005) and Protected
//! Storage (ps, 0x8006) partitions: discovery by the TS RPC FF-A UUID both share, the
//! management interface (VERSION, SERVICE_INFO_GET, MEM_RETRIEVE, MEM_RELINQUISH), every
//! storage opcode and every PSA status the services give, RPC-level errors, a 16 KiB object
//! through five shared pages in two ranges, several clients at once, and a client in the
//! secure world (echo's `cmd::TS_PS`) whose objects are kept apart from the normal world's;
//! and the block storage partition (block-storage, 0x8008) that its and ps persist through,
//! which answers the normal world but lets only its and ps use their partitions.
//!
//! Register layout: w3 = control (flags | interface | opcode), w4..w7 the fields of
//! `ts_rpc::abi`. The request goes into memory the normal world shared (FFA_MEM_SHARE_32) and
//! the SP retrieved on MEM_RETRIEVE; the response is written over it.
//!
//! The storage SPs keep objects for the whole boot, and its keeps them in flash across boots
//! (`cargo xtask qemu` keeps the storage area; docs/storage.md): every case uses UIDs of its
//! own, removes them first, and finds a fresh UID for the write-once object it cannot remove.
#![forbid(unsafe_code)]

use ffa_abi::memory::transaction::{builder_for, MemAccess};
use ffa_abi::memory::{AccessPerms, Constituent, DataAccess, InstructionAccess, MemAttributes};
use ffa_abi::partition_info::parse_info_get_regs;
use ffa_abi::{EndpointId, ErrorCode, FuncId, MemHandle, Uuid, Version};
use packed_c::block_storage::{
    EraseRequest, PartitionInfo, ReadRequest, WriteRequest, OP_ERASE, OP_GET_PARTITION_INFO,
    OP_OPEN, OP_READ, OP_WRITE, PARTITION_PSA_ITS, PARTITION_PSA_PS,
};
use packed_c::psa::{self, Status};
use packed_c::secure_storage::{
    CreateRequest, GetInfoResponse, GetRequest, SetExtendedRequest, SetRequest, UidRequest,
    OP_CREATE, OP_GET, OP_GET_INFO, OP_GET_SUPPORT, OP_REMOVE, OP_SET, OP_SET_EXTENDED,
};
use test_protocol::{cmd, id, status, uuid};
use ts_rpc::abi::{
    Control, Request, RpcStatus, BLOCK_STORAGE_UUID, ITS_UUID, PROTOCOL_UUID, PS_UUID,
};

use crate::dram::{self, BUFFER_SIZE, NW_RX, NW_TX, SHARE_POOL};
use crate::ffa::{call, expect_error, expect_success, Shown};
use crate::harness::{check, check_eq, fail, Case, Failure, Outcome};

const ITS: EndpointId = id::ITS;
const PS: EndpointId = id::PS;
const PAGE: u64 = ffa_abi::PAGE_SIZE;

/// The TS cases' part of the driver's DRAM pool (the memory cases use the first 0x300_0000).
const TS_POOL: u64 = SHARE_POOL + 0x600_0000;

/// 32 pages for case area `n`.
pub(super) const fn area(n: u64) -> u64 {
    TS_POOL + n * 0x2_0000
}

const RW: AccessPerms = AccessPerms {
    data: DataAccess::ReadWrite,
    instruction: InstructionAccess::NotSpecified,
};

/// Every case in this file (none aborts an SP: they run before the fatal tables).
pub const CASES: &[Case] = &[
    Case::default_set("ts_partitions_share_the_ts_rpc_uuid", discovery),
    Case::default_set("ts_management_interface", management),
    Case::default_set("ts_its_every_opcode_and_status", || {
        with_mailbox(its_opcodes)
    }),
    Case::default_set("ts_ps_create_and_set_extended", || {
        with_mailbox(ps_create_set_extended)
    }),
    Case::default_set("ts_large_object_through_shared_memory", || {
        with_mailbox(large_object)
    }),
    Case::default_set("ts_several_clients_namespaced_and_sp_client", || {
        with_mailbox(several_clients)
    }),
    Case::default_set("ts_block_storage_serves_its_owners_only", || {
        with_mailbox(block_storage_owners_only)
    }),
];

pub(super) fn with_mailbox(body: fn() -> Outcome) -> Outcome {
    let m = call(FuncId::RxTxMap64, &[NW_TX, NW_RX, 1]);
    expect_success(&m, "FFA_RXTX_MAP_64")?;
    let r = body();
    let u = call(FuncId::RxTxUnmap, &[0]);
    r?;
    expect_success(&u, "FFA_RXTX_UNMAP at the end of the case").map(|_| ())
}

/// Sends w3..w7 to `sp` with FFA_MSG_SEND_DIRECT_REQ_32; returns w3..w7 of its RESP_32.
fn rpc_words(sp: EndpointId, w: [u32; 5]) -> Result<[u32; 5], Failure> {
    let w = w.map(u64::from);
    let r = call(
        FuncId::MsgSendDirectReq32,
        &[u64::from(sp), 0, w[0], w[1], w[2], w[3], w[4]],
    );
    check!(
        r.w(0) == FuncId::MsgSendDirectResp32.raw() && r.w(1) == u32::from(sp) << 16,
        "want RESP_32 from {sp:#06x}, got {}",
        Shown(&r)
    );
    Ok([r.w(3), r.w(4), r.w(5), r.w(6), r.w(7)])
}

fn rpc(sp: EndpointId, req: &Request) -> Result<[u32; 5], Failure> {
    rpc_words(sp, req.encode())
}

fn status_word(s: RpcStatus) -> u32 {
    s.word()
}

fn service_info(sp: EndpointId, u: Uuid) -> Result<[u32; 5], Failure> {
    rpc(sp, &Request::ServiceInfoGet { uuid: u })
}

/// Shares `cons` RW with `sp` from the normal world (v1.2 descriptor in TX).
fn share(sp: EndpointId, cons: &[Constituent]) -> Result<MemHandle, Failure> {
    let rx = [MemAccess::new(sp, RW)];
    let mut b = match builder_for(Version::V1_2, EndpointId(0), &rx, cons) {
        Ok(b) => b,
        Err(e) => fail!("descriptor: {e:?}"),
    };
    b.attributes = MemAttributes::NORMAL_WB_INNER;
    let mut buf = [0u8; BUFFER_SIZE];
    let n = match b.write(&mut buf) {
        Ok(n) => n,
        Err(e) => fail!("descriptor: {e:?}"),
    };
    check!(
        dram::write_bytes(NW_TX, &buf[..n]),
        "descriptor does not fit TX"
    );
    let r = call(FuncId::MemShare32, &[n as u64, n as u64, 0, 0]);
    expect_success(&r, "FFA_MEM_SHARE_32")?;
    Ok(MemHandle::from_regs(r.w(2), r.w(3)))
}

pub(super) fn reclaim(h: MemHandle) -> ffa_abi::Regs {
    let (lo, hi) = h.to_regs();
    call(FuncId::MemReclaim, &[lo, hi, 0])
}

/// A client's session with one service: shared memory the SP retrieved, and the interface ID.
pub(super) struct Session {
    sp: EndpointId,
    interface: u8,
    handle: MemHandle,
    cons: heapless::Vec<Constituent, 2>,
    client_id: u32,
}

/// What a service call answered.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Answer {
    pub(super) rpc: u32,
    pub(super) psa: Status,
    pub(super) len: u32,
}

impl Session {
    /// Shares `cons` with `sp`, has it retrieved (MEM_RETRIEVE) and finds `service`.
    pub(super) fn open(
        sp: EndpointId,
        service: Uuid,
        cons: &[Constituent],
        client_id: u32,
    ) -> Result<Self, Failure> {
        let handle = share(sp, cons)?;
        let r = rpc(sp, &Request::MemRetrieve { handle, tag: 0 })?;
        check_eq!(
            r,
            [Control::management(1).0, 0, 0, 0, 0],
            "MEM_RETRIEVE answer"
        );
        let info = service_info(sp, service)?;
        check_eq!(info[1], 0, "SERVICE_INFO_GET status");
        let mut c = heapless::Vec::new();
        for x in cons {
            let _ = c.push(*x);
        }
        Ok(Self {
            sp,
            interface: info[2] as u8,
            handle,
            cons: c,
            client_id,
        })
    }

    fn size(&self) -> u64 {
        self.cons
            .iter()
            .map(|c| u64::from(c.page_count) * PAGE)
            .sum()
    }

    /// The physical address of byte `off` of the shared memory.
    fn pa(&self, off: u64) -> Option<u64> {
        let mut rest = off;
        for c in &self.cons {
            let size = u64::from(c.page_count) * PAGE;
            if rest < size {
                return Some(c.address + rest);
            }
            rest -= size;
        }
        None
    }

    /// Writes `bytes` at byte `off` (4-aligned) of the shared memory.
    pub(super) fn write(&self, off: u64, bytes: &[u8]) -> Outcome {
        for (i, chunk) in bytes.chunks(4).enumerate() {
            let o = off + 4 * i as u64;
            let Some(pa) = self.pa(o) else {
                fail!("offset {o:#x} outside the shared memory")
            };
            check!(dram::write_bytes(pa, chunk), "write at {pa:#x}");
        }
        Ok(())
    }

    /// Reads `out.len()` bytes from byte `off` (4-aligned).
    pub(super) fn read(&self, off: u64, out: &mut [u8]) -> Outcome {
        for (i, chunk) in out.chunks_mut(4).enumerate() {
            let o = off + 4 * i as u64;
            let Some(w) = self.pa(o).and_then(dram::read_u32) else {
                fail!("read at offset {o:#x}")
            };
            chunk.copy_from_slice(&w.to_le_bytes()[..chunk.len()]);
        }
        Ok(())
    }

    /// Calls `opcode` with `req` at the start of the shared memory.
    pub(super) fn invoke(&self, opcode: u16, req: &[u8]) -> Result<Answer, Failure> {
        self.write(0, req)?;
        self.invoke_len(opcode, req.len() as u32)
    }

    /// Calls `opcode` with a request of `len` bytes already in the shared memory.
    pub(super) fn invoke_len(&self, opcode: u16, len: u32) -> Result<Answer, Failure> {
        let r = rpc(
            self.sp,
            &Request::Call {
                interface: self.interface,
                opcode,
                handle: Some(self.handle),
                request_len: len,
                client_id: self.client_id,
            },
        )?;
        check_eq!(
            r[0],
            Control::new(0, self.interface, opcode).0,
            "control word echoed"
        );
        Ok(Answer {
            rpc: r[1],
            psa: psa::from_word(r[2]),
            len: r[3],
        })
    }

    /// The handle of the session's shared memory.
    pub(super) fn handle(&self) -> MemHandle {
        self.handle
    }

    /// Calls `opcode` with no request and returns the raw answer (for a call the partition
    /// does not answer: it aborts).
    pub(super) fn invoke_raw(&self, opcode: u16) -> ffa_abi::Regs {
        let w = Request::Call {
            interface: self.interface,
            opcode,
            handle: Some(self.handle),
            request_len: 0,
            client_id: self.client_id,
        }
        .encode()
        .map(u64::from);
        call(
            FuncId::MsgSendDirectReq32,
            &[u64::from(self.sp), 0, w[0], w[1], w[2], w[3], w[4]],
        )
    }

    /// A PSA status of a call the RPC layer completed.
    pub(super) fn psa(&self, opcode: u16, req: &[u8]) -> Result<Status, Failure> {
        let a = self.invoke(opcode, req)?;
        check_eq!(a.rpc, 0, "RPC status");
        Ok(a.psa)
    }

    pub(super) fn set(&self, uid: u64, data: &[u8], flags: u32) -> Result<Status, Failure> {
        let mut b = [0u8; 256];
        let h = SetRequest {
            uid,
            data_length: data.len() as u64,
            create_flags: flags,
        };
        let Some(n) = h.encode(data, &mut b) else {
            fail!("SET request of {} bytes", data.len())
        };
        self.psa(OP_SET, &b[..n])
    }

    /// GET; returns the status and the bytes answered (at most 64).
    pub(super) fn get(
        &self,
        uid: u64,
        off: u64,
        size: u64,
    ) -> Result<(Status, heapless::Vec<u8, 64>), Failure> {
        let mut b = [0u8; GetRequest::SIZE];
        GetRequest {
            uid,
            data_offset: off,
            data_size: size,
        }
        .encode(&mut b);
        let a = self.invoke(OP_GET, &b)?;
        check_eq!(a.rpc, 0, "GET RPC status");
        check!(a.len <= 64, "GET answered {} bytes", a.len);
        let mut out = [0u8; 64];
        self.read(0, &mut out[..a.len as usize])?;
        if a.psa != psa::SUCCESS {
            check_eq!(a.len, 0, "response length of a failed GET");
        }
        let mut v = heapless::Vec::new();
        let _ = v.extend_from_slice(&out[..a.len as usize]);
        Ok((a.psa, v))
    }

    pub(super) fn info(&self, uid: u64) -> Result<Result<GetInfoResponse, Status>, Failure> {
        let a = self.invoke(OP_GET_INFO, &uid.to_le_bytes())?;
        check_eq!(a.rpc, 0, "GET_INFO RPC status");
        if a.psa != psa::SUCCESS {
            check_eq!(a.len, 0, "response length of a failed GET_INFO");
            return Ok(Err(a.psa));
        }
        check_eq!(a.len as usize, GetInfoResponse::SIZE, "GET_INFO length");
        let mut b = [0u8; GetInfoResponse::SIZE];
        self.read(0, &mut b)?;
        match GetInfoResponse::decode(&b) {
            Some(i) => Ok(Ok(i)),
            None => fail!("GET_INFO response"),
        }
    }

    pub(super) fn remove(&self, uid: u64) -> Result<Status, Failure> {
        let mut b = [0u8; UidRequest::SIZE];
        UidRequest { uid }.encode(&mut b);
        self.psa(OP_REMOVE, &b)
    }

    fn support(&self) -> Result<u32, Failure> {
        let a = self.invoke(OP_GET_SUPPORT, &[])?;
        check_eq!((a.rpc, a.psa, a.len), (0, psa::SUCCESS, 4), "GET_SUPPORT");
        let mut b = [0u8; 4];
        self.read(0, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn create(&self, uid: u64, capacity: u64, flags: u32) -> Result<Status, Failure> {
        let mut b = [0u8; CreateRequest::SIZE];
        CreateRequest {
            uid,
            capacity,
            create_flags: flags,
        }
        .encode(&mut b);
        self.psa(OP_CREATE, &b)
    }

    fn set_extended(&self, uid: u64, off: u64, data: &[u8]) -> Result<Status, Failure> {
        let mut b = [0u8; 256];
        let h = SetExtendedRequest {
            uid,
            data_offset: off,
            data_length: data.len() as u64,
        };
        let Some(n) = h.encode(data, &mut b) else {
            fail!("SET_EXTENDED request")
        };
        self.psa(OP_SET_EXTENDED, &b[..n])
    }

    /// MEM_RELINQUISH through TS RPC, then FFA_MEM_RECLAIM.
    pub(super) fn close(self) -> Outcome {
        let r = rpc(
            self.sp,
            &Request::MemRelinquish {
                handle: self.handle,
            },
        )?;
        check_eq!(
            r,
            [Control::management(2).0, 0, 0, 0, 0],
            "MEM_RELINQUISH answer"
        );
        expect_success(
            &reclaim(self.handle),
            "FFA_MEM_RECLAIM after MEM_RELINQUISH",
        )?;
        Ok(())
    }
}

pub(super) fn one(address: u64, pages: u32) -> [Constituent; 1] {
    [Constituent {
        address,
        page_count: pages,
    }]
}

// ---------------------------------------------------------------------------------------------

fn discovery() -> Outcome {
    // The storage SPs (its, ps, block-storage) carry the TS RPC UUID as their FF-A UUID (as
    // every TS SP does, and as arm_tstee looks them up): PARTITION_INFO_GET by that UUID lists
    // all three.
    let w = uuid::TS_RPC.map(u64::from);
    check_eq!(
        Uuid::from_words(uuid::TS_RPC),
        PROTOCOL_UUID,
        "test-protocol's TS RPC UUID"
    );
    let r = call(FuncId::PartitionInfoGet, &[w[0], w[1], w[2], w[3], 1]);
    check_eq!(
        expect_success(&r, "count only")?,
        3,
        "partitions with the TS RPC UUID"
    );
    let [lo, hi] = PROTOCOL_UUID.to_u64_pair();
    let r = call(FuncId::PartitionInfoGetRegs, &[lo, hi, 0]);
    check_eq!(
        r.w(0),
        FuncId::Success64.raw(),
        "FFA_PARTITION_INFO_GET_REGS"
    );
    let mut args = [0u64; 16];
    args.copy_from_slice(&r.0[2..]);
    let ds: heapless::Vec<_, 5> = match parse_info_get_regs(&args, 0) {
        Ok((_, it)) => it.collect(),
        Err(e) => fail!("answer: {e:?}"),
    };
    check_eq!(ds.len(), 3, "descriptors");
    // In table order (= boot order: block-storage first, its and ps attach to it at boot).
    for (d, want) in ds.iter().zip([id::BLOCK_STORAGE, ITS, PS]) {
        check_eq!(d.id.0, want.0, "partition ID");
        // UUID field MBZ for a non-Nil query (FF-A v1.1/v1.2 Table 6.1).
        check!(d.uuid == Uuid::NIL, "UUID {} of {want:#06x}", d.uuid);
        // Receives and sends DIRECT_REQ, AArch64: what arm_tstee needs.
        check_eq!(d.properties.0, 0x103, "properties");
    }
    Ok(())
}

fn management() -> Outcome {
    for sp in [ITS, PS] {
        check_eq!(
            rpc(sp, &Request::Version)?,
            [0x00FF_0000, 1, 0, 0, 0],
            "VERSION"
        );
        // Flags in the control word are echoed.
        check_eq!(
            rpc_words(sp, [Control::new(1, 0xFF, 0).0, 0, 0, 0, 0])?,
            [0x01FF_0000, 1, 0, 0, 0],
            "VERSION with the fast-call flag"
        );
        check_eq!(
            rpc_words(sp, [0x00FF_0007, 0, 0, 0, 0])?,
            [0x00FF_0007, status_word(RpcStatus::InvalidValue), 0, 0, 0],
            "unknown management opcode"
        );
        // A handle nobody shared: the FF-A retrieve fails.
        check_eq!(
            rpc(
                sp,
                &Request::MemRetrieve {
                    handle: MemHandle(0x8000_0000_0000_7777),
                    tag: 0
                }
            )?[1],
            status_word(RpcStatus::TransportLayer),
            "MEM_RETRIEVE of an unknown handle"
        );
        check_eq!(
            rpc(
                sp,
                &Request::MemRelinquish {
                    handle: MemHandle(0x8000_0000_0000_7777)
                }
            )?[1],
            status_word(RpcStatus::NotFound),
            "MEM_RELINQUISH of memory never retrieved"
        );
        // A call naming memory that was never retrieved, an unknown interface, and GET_SUPPORT
        // without memory for its response.
        let call_words = |iface: u8, op: u16, handle: Option<MemHandle>, len: u32| Request::Call {
            interface: iface,
            opcode: op,
            handle,
            request_len: len,
            client_id: 0,
        };
        check_eq!(
            rpc(
                sp,
                &call_words(0, OP_GET, Some(MemHandle(0x8000_0000_0000_7777)), 24)
            )?[1],
            status_word(RpcStatus::NotFound),
            "call with an unknown handle"
        );
        check_eq!(
            rpc(sp, &call_words(5, OP_GET_SUPPORT, None, 0))?[1],
            status_word(RpcStatus::InvalidValue),
            "call to interface 5"
        );
        check_eq!(
            rpc(sp, &call_words(0, OP_GET_SUPPORT, None, 0))?[1],
            status_word(RpcStatus::InvalidResponseBody),
            "GET_SUPPORT without shared memory"
        );
        check_eq!(
            rpc(sp, &call_words(0, OP_GET, None, 24))?[1],
            status_word(RpcStatus::InvalidValue),
            "a request length without shared memory"
        );
        // TS RPC is 32-bit only: a 64-bit request gets the RPC error in w4's place.
        let r = call(FuncId::MsgSendDirectReq64, &[u64::from(sp), 0, 0x00FF_0000]);
        check!(
            r.w(0) == FuncId::MsgSendDirectResp64.raw() && r.w(1) == u32::from(sp) << 16,
            "64-bit request: {}",
            Shown(&r)
        );
        check_eq!(
            [r.x(3), r.x(4)],
            [0x00FF_0000, u64::from(status_word(RpcStatus::InvalidValue))],
            "answer to a 64-bit request"
        );
    }
    // SERVICE_INFO_GET: each SP hosts exactly its own service (interface 0).
    check_eq!(
        service_info(ITS, ITS_UUID)?,
        [0x00FF_0003, 0, 0, 0, 0],
        "ITS on its"
    );
    check_eq!(
        service_info(PS, PS_UUID)?,
        [0x00FF_0003, 0, 0, 0, 0],
        "PS on ps"
    );
    let not_found = [0x00FF_0003, status_word(RpcStatus::NotFound), 0, 0, 0];
    check_eq!(service_info(ITS, PS_UUID)?, not_found, "PS on its");
    check_eq!(service_info(PS, ITS_UUID)?, not_found, "ITS on ps");
    check_eq!(
        service_info(PS, PROTOCOL_UUID)?,
        not_found,
        "the protocol UUID as a service"
    );
    Ok(())
}

/// A UID of the write-once family `base` (`base + (k << 32)`) that its does not hold yet: an
/// earlier boot's write-once objects stay in flash for good.
fn fresh_write_once_uid(s: &Session, base: u64) -> Result<u64, Failure> {
    for k in 0..16u64 {
        let uid = base + (k << 32);
        if s.info(uid)? == Err(psa::ERROR_DOES_NOT_EXIST) {
            return Ok(uid);
        }
    }
    fail!("its holds 16 write-once objects from earlier boots: cargo xtask qemu --reset-storage")
}

fn its_opcodes() -> Outcome {
    let base = area(0);
    let s = Session::open(ITS, ITS_UUID, &one(base, 1), 0)?;
    let uid = 0x1_0001;
    // Left by an earlier boot that failed half-way, if any.
    let _ = s.remove(uid)?;
    check_eq!(
        s.info(uid)?,
        Err(psa::ERROR_DOES_NOT_EXIST),
        "GET_INFO before SET"
    );
    check_eq!(s.set(uid, b"its value 1", 0)?, psa::SUCCESS, "SET");
    let (st, got) = s.get(uid, 0, 11)?;
    check_eq!((st, &got[..]), (psa::SUCCESS, &b"its value 1"[..]), "GET");
    let (st, got) = s.get(uid, 4, 100)?;
    check_eq!(
        (st, &got[..]),
        (psa::SUCCESS, &b"value 1"[..]),
        "GET clipped to the data"
    );
    check_eq!(
        s.get(uid, 12, 1)?.0,
        psa::ERROR_INVALID_ARGUMENT,
        "GET past the data"
    );
    check_eq!(
        s.info(uid)?,
        Ok(GetInfoResponse {
            capacity: 11,
            size: 11,
            flags: 0
        }),
        "GET_INFO"
    );
    check_eq!(s.support()?, 0, "ITS GET_SUPPORT");
    check_eq!(
        s.create(uid + 1, 8, 0)?,
        psa::ERROR_NOT_SUPPORTED,
        "ITS CREATE"
    );
    check_eq!(
        s.set_extended(uid, 0, b"x")?,
        psa::ERROR_NOT_SUPPORTED,
        "ITS SET_EXTENDED"
    );
    check_eq!(
        s.set(uid, b"v2", psa::FLAG_NO_CONFIDENTIALITY)?,
        psa::SUCCESS,
        "SET again"
    );
    check_eq!(
        s.info(uid)?.map(|i| (i.size, i.flags)),
        Ok((2, psa::FLAG_NO_CONFIDENTIALITY)),
        "GET_INFO after SET again"
    );
    check_eq!(s.remove(uid)?, psa::SUCCESS, "REMOVE");
    check_eq!(s.remove(uid)?, psa::ERROR_DOES_NOT_EXIST, "REMOVE again");
    check_eq!(
        s.get(uid, 0, 1)?.0,
        psa::ERROR_DOES_NOT_EXIST,
        "GET after REMOVE"
    );
    check_eq!(
        s.info(uid)?,
        Err(psa::ERROR_DOES_NOT_EXIST),
        "GET_INFO after REMOVE"
    );
    // UID 0, unknown flags, write-once.
    check_eq!(
        s.set(0, b"x", 0)?,
        psa::ERROR_INVALID_ARGUMENT,
        "SET of UID 0"
    );
    check_eq!(
        s.get(0, 0, 1)?.0,
        psa::ERROR_INVALID_ARGUMENT,
        "GET of UID 0"
    );
    check_eq!(s.remove(0)?, psa::ERROR_INVALID_ARGUMENT, "REMOVE of UID 0");
    check_eq!(
        s.set(uid, b"x", 1 << 3)?,
        psa::ERROR_NOT_SUPPORTED,
        "SET with flag bit 3"
    );
    let once = fresh_write_once_uid(&s, 0x1_0002)?;
    check_eq!(
        s.set(once, b"once", psa::FLAG_WRITE_ONCE)?,
        psa::SUCCESS,
        "SET write-once"
    );
    check_eq!(
        s.set(once, b"twice", 0)?,
        psa::ERROR_NOT_PERMITTED,
        "SET over write-once"
    );
    check_eq!(
        s.remove(once)?,
        psa::ERROR_NOT_PERMITTED,
        "REMOVE of write-once"
    );
    check_eq!(
        &s.get(once, 0, 8)?.1[..],
        &b"once"[..],
        "write-once object kept"
    );
    // RPC-level errors: unknown opcode, a truncated request, a request longer than the memory.
    let a = s.invoke(0x107, &[])?;
    check_eq!(
        a.rpc,
        status_word(RpcStatus::InvalidValue),
        "unknown opcode"
    );
    let a = s.invoke(OP_GET, &[0; 20])?;
    check_eq!(
        a.rpc,
        status_word(RpcStatus::InvalidRequestBody),
        "20-byte GET request"
    );
    let a = s.invoke_len(OP_GET, 0x1001)?;
    check_eq!(
        a.rpc,
        status_word(RpcStatus::InvalidValue),
        "request longer than the page"
    );
    // Retrieving the same memory twice is refused; while the SP holds it the normal world
    // cannot reclaim it.
    check_eq!(
        rpc(
            ITS,
            &Request::MemRetrieve {
                handle: s.handle,
                tag: 0
            }
        )?[1],
        status_word(RpcStatus::InvalidState),
        "second MEM_RETRIEVE"
    );
    expect_error(
        &reclaim(s.handle),
        ErrorCode::Denied,
        "FFA_MEM_RECLAIM while retrieved",
    )?;
    s.close()
}

fn ps_create_set_extended() -> Outcome {
    let s = Session::open(PS, PS_UUID, &one(area(1), 1), 0)?;
    check_eq!(s.support()?, psa::SUPPORT_SET_EXTENDED, "PS GET_SUPPORT");
    let uid = 0x2_0001;
    check_eq!(s.create(uid, 24, 0)?, psa::SUCCESS, "CREATE");
    check_eq!(
        s.create(uid, 24, 0)?,
        psa::ERROR_ALREADY_EXISTS,
        "CREATE again"
    );
    check_eq!(
        s.create(0, 24, 0)?,
        psa::ERROR_INVALID_ARGUMENT,
        "CREATE of UID 0"
    );
    check_eq!(
        s.create(uid + 1, 24, psa::FLAG_WRITE_ONCE)?,
        psa::ERROR_NOT_SUPPORTED,
        "CREATE write-once"
    );
    check_eq!(
        s.create(uid + 1, 0x4001, 0)?,
        psa::ERROR_INSUFFICIENT_STORAGE,
        "CREATE larger than an object may be"
    );
    check_eq!(
        s.info(uid)?,
        Ok(GetInfoResponse {
            capacity: 24,
            size: 0,
            flags: 0
        }),
        "GET_INFO of a created object"
    );
    for (i, chunk) in [b"first 8.", b"second 8", b"third 8!"].iter().enumerate() {
        check_eq!(
            s.set_extended(uid, 8 * i as u64, &chunk[..])?,
            psa::SUCCESS,
            "SET_EXTENDED chunk"
        );
    }
    let (st, got) = s.get(uid, 0, 24)?;
    check_eq!(
        (st, &got[..]),
        (psa::SUCCESS, &b"first 8.second 8third 8!"[..]),
        "GET"
    );
    check_eq!(
        s.set_extended(uid, 4, b"FIRS")?,
        psa::SUCCESS,
        "SET_EXTENDED inside"
    );
    check_eq!(
        &s.get(uid, 0, 8)?.1[..],
        &b"firsFIRS"[..],
        "GET after overwrite"
    );
    check_eq!(
        s.set_extended(uid, 20, b"12345")?,
        psa::ERROR_INVALID_ARGUMENT,
        "SET_EXTENDED past the capacity"
    );
    check_eq!(s.create(uid + 2, 8, 0)?, psa::SUCCESS, "CREATE another");
    check_eq!(
        s.set_extended(uid + 2, 1, b"x")?,
        psa::ERROR_INVALID_ARGUMENT,
        "SET_EXTENDED leaving a gap"
    );
    check_eq!(
        s.set_extended(uid + 3, 0, b"x")?,
        psa::ERROR_DOES_NOT_EXIST,
        "SET_EXTENDED of nothing"
    );
    check_eq!(s.remove(uid)?, psa::SUCCESS, "REMOVE");
    check_eq!(s.remove(uid + 2)?, psa::SUCCESS, "REMOVE the other");
    s.close()
}

/// The word at byte `i` of the large object.
fn pattern(i: u64) -> u32 {
    0xB16_0000 ^ (i as u32).wrapping_mul(0x9E37_79B9)
}

fn large_object() -> Outcome {
    // Five pages in two ranges (3 + 2 pages, not contiguous), as a kernel's scattered buffer.
    let a = area(2);
    let cons = [
        Constituent {
            address: a,
            page_count: 3,
        },
        Constituent {
            address: a + 0x8000,
            page_count: 2,
        },
    ];
    let s = Session::open(ITS, ITS_UUID, &cons, 0)?;
    check_eq!(s.size(), 0x5000, "shared size");
    let uid = 0x1_0003;
    let _ = s.remove(uid)?;
    const SIZE: u64 = 0x4000; // the largest object the storage SPs accept
    let mut h = [0u8; SetRequest::SIZE];
    for (data_len, want) in [
        (SIZE + 4, psa::ERROR_INSUFFICIENT_STORAGE),
        (SIZE, psa::SUCCESS),
    ] {
        SetRequest {
            uid,
            data_length: data_len,
            create_flags: 0,
        }
        .encode(&[], &mut h);
        s.write(0, &h)?;
        // The data follows the 20-byte header: word-aligned, written word by word.
        for i in (0..data_len).step_by(4) {
            s.write(SetRequest::SIZE as u64 + i, &pattern(i).to_le_bytes())?;
        }
        let a = s.invoke_len(OP_SET, SetRequest::SIZE as u32 + data_len as u32)?;
        check_eq!((a.rpc, a.psa), (0, want), "SET of {data_len:#x} bytes");
    }
    // GET it all back in one response, and a part of it at an offset.
    for (off, size) in [(0, SIZE), (0x3000, 0x1000), (0x3FFC, 0x100)] {
        let mut g = [0u8; GetRequest::SIZE];
        GetRequest {
            uid,
            data_offset: off,
            data_size: size,
        }
        .encode(&mut g);
        // Scribble over the memory first so the check sees only what the SP wrote.
        for i in (0..SIZE).step_by(4) {
            s.write(i, &[0xEE; 4])?;
        }
        let a = s.invoke(OP_GET, &g)?;
        let want_len = size.min(SIZE - off);
        check_eq!(
            (a.rpc, a.psa, u64::from(a.len)),
            (0, psa::SUCCESS, want_len),
            "GET"
        );
        for i in (0..want_len).step_by(4) {
            let mut w = [0u8; 4];
            s.read(i, &mut w)?;
            check_eq!(u32::from_le_bytes(w), pattern(off + i), "large object word");
        }
    }
    check_eq!(
        s.info(uid)?.map(|i| (i.capacity, i.size)),
        Ok((SIZE, SIZE)),
        "GET_INFO of the large object"
    );
    check_eq!(s.remove(uid)?, psa::SUCCESS, "REMOVE the large object");
    s.close()
}

fn several_clients() -> Outcome {
    // Two sessions of the normal world with PS at once (two handles live), client IDs 1 and 2:
    // the client ID is the caller's to give, so both see one namespace, the normal world's.
    let uid = 0x3_0001;
    let s1 = Session::open(PS, PS_UUID, &one(area(4), 1), 1)?;
    let s2 = Session::open(PS, PS_UUID, &one(area(5), 1), 2)?;
    check_eq!(
        s1.set(uid, b"normal world", 0)?,
        psa::SUCCESS,
        "SET by client 1"
    );
    check_eq!(
        &s2.get(uid, 0, 64)?.1[..],
        &b"normal world"[..],
        "GET by client 2"
    );
    // echo, another endpoint, uses the same UID through its own TS RPC session with PS.
    let v = 0x5EC0_0E1D_0000_0001u64;
    let ask = |target: EndpointId, value: u64| -> Result<[u64; 5], Failure> {
        let r = call(
            FuncId::MsgSendDirectReq64,
            &[
                u64::from(id::ECHO),
                0,
                u64::from(cmd::TS_PS),
                u64::from(target),
                uid,
                value,
            ],
        );
        check!(
            r.w(0) == FuncId::MsgSendDirectResp64.raw(),
            "echo TS_PS: {}",
            Shown(&r)
        );
        Ok([r.x(3), r.x(4), r.x(5), r.x(6), r.x(7)])
    };
    let ok = u64::from(status::OK);
    check_eq!(ask(PS, v)?, [ok, 0, 0, v, 8], "echo's SET + GET in PS");
    check_eq!(
        ask(PS, v + 1)?,
        [ok, 0, 0, v + 1, 8],
        "echo's second SET + GET"
    );
    // The normal world's object is untouched, and echo cannot see it: echo's GET returned
    // its own value above.
    check_eq!(
        &s1.get(uid, 0, 64)?.1[..],
        &b"normal world"[..],
        "normal world's object"
    );
    check_eq!(
        s2.info(uid)?.map(|i| i.size),
        Ok(12),
        "GET_INFO of the normal world's object"
    );
    // echo is not granted memory sharing with its: refused before any TS RPC.
    check_eq!(
        ask(ITS, v)?[0],
        u64::from(status::ffa_error(ErrorCode::Denied.to_i32())),
        "echo sharing with its (not granted)"
    );
    check_eq!(s1.remove(uid)?, psa::SUCCESS, "REMOVE by client 1");
    check_eq!(
        s2.get(uid, 0, 1)?.0,
        psa::ERROR_DOES_NOT_EXIST,
        "GET by client 2 after it"
    );
    s1.close()?;
    s2.close()
}

fn block_storage_owners_only() -> Outcome {
    // The normal world reaches block-storage like any TS RPC partition (arm_tstee gives it a
    // /dev/tee too), and may ask about its partitions, but only its and ps may open them or
    // use their handles: no read, write or erase of the flash from here.
    let s = Session::open(id::BLOCK_STORAGE, BLOCK_STORAGE_UUID, &one(area(12), 1), 0)?;
    check_eq!(
        service_info(ITS, BLOCK_STORAGE_UUID)?[1],
        status_word(RpcStatus::NotFound),
        "its does not offer block storage"
    );
    for (guid, what) in [(PARTITION_PSA_ITS, "ITS"), (PARTITION_PSA_PS, "PS")] {
        let a = s.invoke(OP_GET_PARTITION_INFO, &guid)?;
        check_eq!(
            (a.rpc, a.psa, a.len as usize),
            (0, psa::SUCCESS, PartitionInfo::SIZE),
            format_args!("GET_PARTITION_INFO of {what}'s partition")
        );
        let mut b = [0u8; PartitionInfo::SIZE];
        s.read(0, &mut b)?;
        let Some(info) = PartitionInfo::decode(&b) else {
            fail!("GET_PARTITION_INFO response")
        };
        // The 2 MiB storage area, 256 KiB sectors, half each.
        check_eq!(
            (info.num_blocks, info.block_size, info.partition_guid),
            (4, 0x4_0000, guid),
            format_args!("{what}'s partition")
        );
        check_eq!(
            s.psa(OP_OPEN, &guid)?,
            psa::ERROR_NOT_PERMITTED,
            format_args!("OPEN of {what}'s partition by the normal world")
        );
    }
    check_eq!(
        s.psa(OP_GET_PARTITION_INFO, &[0x77; 16])?,
        psa::ERROR_INVALID_ARGUMENT,
        "GET_PARTITION_INFO of an unknown partition"
    );
    // The handles its and ps get (0 and 1), used by someone else.
    for handle in [0u64, 1] {
        let mut b = [0u8; 64];
        let n = ReadRequest {
            handle,
            lba: 0,
            offset: 0,
            len: 16,
        }
        .encode(&mut b)
        .unwrap_or(0);
        check_eq!(
            s.psa(OP_READ, &b[..n])?,
            psa::ERROR_NOT_PERMITTED,
            format_args!("READ with handle {handle}")
        );
        let n = WriteRequest {
            handle,
            lba: 0,
            offset: 0,
        }
        .encode(&[0; 8], &mut b)
        .unwrap_or(0);
        check_eq!(
            s.psa(OP_WRITE, &b[..n])?,
            psa::ERROR_NOT_PERMITTED,
            format_args!("WRITE with handle {handle}")
        );
        let n = EraseRequest {
            handle,
            begin_lba: 0,
            num_blocks: 1,
        }
        .encode(&mut b)
        .unwrap_or(0);
        check_eq!(
            s.psa(OP_ERASE, &b[..n])?,
            psa::ERROR_NOT_PERMITTED,
            format_args!("ERASE with handle {handle}")
        );
    }
    s.close()
}
