//! `cmd::TS_PS`: a Trusted Services client inside the secure world (what TS's `ts_rpc_caller_sp`
//! does for an SP that uses another SP's service): share a page, then TS RPC over 32-bit direct
//! requests to the Protected Storage partition.

use packed_c::secure_storage::{GetRequest, SetRequest, OP_GET, OP_SET};
use sp_rt::mem::{Constituent, MemHandle, SharedPage, SHARE_RW};
use sp_rt::{Conduit, DirectRequest, EndpointId, Error, Ffa, Kind, Payload};
use test_protocol::status;
use ts_rpc::abi::PS_UUID;
use ts_rpc::{Request, RpcStatus};

use crate::{fail, status_of, SpState};

/// Sends one TS RPC request (REQ_32) and returns the response words w3..w7.
fn rpc<C: Conduit>(
    ffa: &mut Ffa<C>,
    me: EndpointId,
    to: EndpointId,
    req: &Request,
) -> Result<[u32; 5], Error> {
    let w = req.encode().map(u64::from);
    let p = ffa.direct_request(Kind::Req32, me, to, &Payload::new(&w))?;
    Ok(core::array::from_fn(|i| p.get(i) as u32))
}

/// Copies `bytes` (a multiple of 4 long) into the page's first words.
fn put(page: &SharedPage, bytes: &[u8]) {
    for (i, c) in bytes.chunks_exact(4).enumerate() {
        let _ = page.write_u32(4 * i, u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
    }
}

fn broken(step: u64, rpc_status: u32) -> Payload {
    Payload::new(&[
        u64::from(status::UNEXPECTED_REPLY),
        step,
        u64::from(rpc_status),
    ])
}

/// Runs the exchange; the page is shared and reclaimed by the caller.
fn exchange<C: Conduit>(
    ffa: &mut Ffa<C>,
    me: EndpointId,
    ps: EndpointId,
    handle: MemHandle,
    page: &SharedPage,
    uid: u64,
    value: u64,
) -> Result<Payload, Error> {
    let ok = RpcStatus::Success.word();
    let r = rpc(ffa, me, ps, &Request::MemRetrieve { handle, tag: 0 })?;
    if r[1] != ok {
        return Ok(broken(1, r[1]));
    }
    let result;
    let info = rpc(ffa, me, ps, &Request::ServiceInfoGet { uuid: PS_UUID })?;
    if info[1] != ok {
        result = Ok(broken(2, info[1]));
    } else {
        let interface = info[2] as u8;
        let mut buf = [0u8; 28];
        let set = SetRequest {
            uid,
            data_length: 8,
            create_flags: 0,
        };
        let n = set.encode(&value.to_le_bytes(), &mut buf).unwrap_or(0);
        put(page, &buf[..n]);
        let call = |opcode, len| Request::Call {
            interface,
            opcode,
            handle: Some(handle),
            request_len: len,
            client_id: 0,
        };
        let s = rpc(ffa, me, ps, &call(OP_SET, n as u32))?;
        if s[1] != ok {
            result = Ok(broken(3, s[1]));
        } else {
            let get = GetRequest {
                uid,
                data_offset: 0,
                data_size: 8,
            };
            let n = get.encode(&mut buf).unwrap_or(0);
            put(page, &buf[..n]);
            let g = rpc(ffa, me, ps, &call(OP_GET, n as u32))?;
            if g[1] != ok {
                result = Ok(broken(4, g[1]));
            } else {
                let lo = page.read_u32(0).unwrap_or(0);
                let hi = page.read_u32(4).unwrap_or(0);
                result = Ok(Payload::new(&[
                    u64::from(status::OK),
                    u64::from(s[2]),
                    u64::from(g[2]),
                    u64::from(hi) << 32 | u64::from(lo),
                    u64::from(g[3]),
                ]));
            }
        }
    }
    // Always hand the memory back through the protocol, whatever happened above.
    let rel = rpc(ffa, me, ps, &Request::MemRelinquish { handle })?;
    if rel[1] != ok {
        return Ok(broken(5, rel[1]));
    }
    result
}

/// `cmd::TS_PS` (see test-protocol).
pub(crate) fn ts_ps<C: Conduit>(
    ffa: &mut Ffa<C>,
    sp: &mut SpState<'_>,
    req: &DirectRequest,
) -> Payload {
    let rxtx = match &mut sp.rxtx {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let me = req.receiver;
    let ps = EndpointId(req.payload.get(1) as u16);
    let page = SharedPage::new_boxed();
    let cons = [Constituent {
        address: page.addr(),
        page_count: 1,
    }];
    let handle = match ffa.mem_share(rxtx, sp.version, me, &[(ps, SHARE_RW)], &cons) {
        Ok(h) => h,
        Err(e) => return fail(&e),
    };
    let answer = exchange(
        ffa,
        me,
        ps,
        handle,
        &page,
        req.payload.get(2),
        req.payload.get(3),
    );
    match ffa.mem_reclaim(handle, 0) {
        Ok(()) => {}
        Err(e) => {
            // The SPMC still lets PS use the page: never give it back to the heap.
            core::mem::forget(page);
            return Payload::new(&[status_of(&e)]);
        }
    }
    answer.unwrap_or_else(|e| fail(&e))
}
