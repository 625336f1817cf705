//! Every opcode and every PSA status the service can give, over the in-RAM store.

use super::*;
use crate::store::{Limits, RamStore};
use packed_c::psa::*;

const A: EndpointId = EndpointId(0);
const B: EndpointId = EndpointId(0x8001);
const LIMITS: Limits = Limits {
    max_object: 0x100,
    total: 0x180,
    max_objects: 3,
};

fn svc(f: Flavour) -> StorageService<RamStore> {
    StorageService::new(f, RamStore::new(LIMITS))
}

/// Calls `op` with `req` in a buffer of `cap` bytes; returns (PSA status, response bytes).
fn call(
    s: &mut StorageService<RamStore>,
    who: EndpointId,
    op: u16,
    req: &[u8],
    cap: usize,
) -> Result<(Status, Vec<u8>), RpcStatus> {
    let mut buf = vec![0u8; cap.max(req.len())];
    buf[..req.len()].copy_from_slice(req);
    let r = s.call(ServiceCall {
        caller: who,
        client_id: 0,
        opcode: op,
        buf: &mut buf[..cap],
        request_len: req.len(),
    })?;
    Ok((r.status, buf[..r.len].to_vec()))
}

fn set(
    s: &mut StorageService<RamStore>,
    who: EndpointId,
    uid: u64,
    data: &[u8],
    flags: u32,
) -> Status {
    let mut b = vec![0u8; SetRequest::SIZE + data.len()];
    SetRequest {
        uid,
        data_length: data.len() as u64,
        create_flags: flags,
    }
    .encode(data, &mut b)
    .unwrap();
    call(s, who, OP_SET, &b, b.len()).unwrap().0
}

fn get(
    s: &mut StorageService<RamStore>,
    who: EndpointId,
    uid: u64,
    off: u64,
    size: u64,
    cap: usize,
) -> (Status, Vec<u8>) {
    let mut b = [0u8; GetRequest::SIZE];
    GetRequest {
        uid,
        data_offset: off,
        data_size: size,
    }
    .encode(&mut b)
    .unwrap();
    call(s, who, OP_GET, &b, cap.max(GetRequest::SIZE)).unwrap()
}

fn uid_op(
    s: &mut StorageService<RamStore>,
    who: EndpointId,
    op: u16,
    uid: u64,
) -> (Status, Vec<u8>) {
    call(s, who, op, &uid.to_le_bytes(), 64).unwrap()
}

fn info(
    s: &mut StorageService<RamStore>,
    who: EndpointId,
    uid: u64,
) -> Result<GetInfoResponse, Status> {
    let (st, r) = uid_op(s, who, OP_GET_INFO, uid);
    if st != SUCCESS {
        assert!(r.is_empty());
        return Err(st);
    }
    assert_eq!(r.len(), GetInfoResponse::SIZE);
    Ok(GetInfoResponse::decode(&r).unwrap())
}

fn create(
    s: &mut StorageService<RamStore>,
    who: EndpointId,
    uid: u64,
    cap: u64,
    flags: u32,
) -> Status {
    let mut b = [0u8; CreateRequest::SIZE];
    CreateRequest {
        uid,
        capacity: cap,
        create_flags: flags,
    }
    .encode(&mut b)
    .unwrap();
    call(s, who, OP_CREATE, &b, 64).unwrap().0
}

fn set_ext(
    s: &mut StorageService<RamStore>,
    who: EndpointId,
    uid: u64,
    off: u64,
    data: &[u8],
) -> Status {
    let mut b = vec![0u8; SetExtendedRequest::SIZE + data.len()];
    SetExtendedRequest {
        uid,
        data_offset: off,
        data_length: data.len() as u64,
    }
    .encode(data, &mut b)
    .unwrap();
    call(s, who, OP_SET_EXTENDED, &b, b.len()).unwrap().0
}

#[test]
fn set_get_info_remove_round_trip() {
    for f in [Flavour::Its, Flavour::Ps] {
        let mut s = svc(f);
        assert_eq!(info(&mut s, A, 7), Err(ERROR_DOES_NOT_EXIST));
        assert_eq!(
            set(&mut s, A, 7, b"hello", FLAG_NO_CONFIDENTIALITY),
            SUCCESS
        );
        assert_eq!(
            info(&mut s, A, 7),
            Ok(GetInfoResponse {
                capacity: 5,
                size: 5,
                flags: FLAG_NO_CONFIDENTIALITY
            })
        );
        assert_eq!(get(&mut s, A, 7, 0, 5, 64), (SUCCESS, b"hello".to_vec()));
        // Offsets and sizes clip to the data...
        assert_eq!(get(&mut s, A, 7, 1, 100, 64), (SUCCESS, b"ello".to_vec()));
        assert_eq!(get(&mut s, A, 7, 5, 1, 64), (SUCCESS, vec![]));
        // ...and to the response buffer.
        assert_eq!(get(&mut s, A, 7, 0, 5, 24).1, b"hello".to_vec());
        assert_eq!(
            get(&mut s, A, 7, 6, 1, 64),
            (ERROR_INVALID_ARGUMENT, vec![])
        );
        // SET replaces.
        assert_eq!(set(&mut s, A, 7, b"xy", 0), SUCCESS);
        assert_eq!(get(&mut s, A, 7, 0, 9, 64), (SUCCESS, b"xy".to_vec()));
        assert_eq!(uid_op(&mut s, A, OP_REMOVE, 7).0, SUCCESS);
        assert_eq!(uid_op(&mut s, A, OP_REMOVE, 7).0, ERROR_DOES_NOT_EXIST);
        assert_eq!(get(&mut s, A, 7, 0, 1, 64).0, ERROR_DOES_NOT_EXIST);
        assert_eq!(s.store().used(), 0);
        // A zero-length object exists.
        assert_eq!(set(&mut s, A, 8, b"", 0), SUCCESS);
        assert_eq!(info(&mut s, A, 8).map(|i| i.size), Ok(0));
    }
}

#[test]
fn uid_zero_and_flags() {
    let mut s = svc(Flavour::Its);
    assert_eq!(set(&mut s, A, 0, b"a", 0), ERROR_INVALID_ARGUMENT);
    assert_eq!(get(&mut s, A, 0, 0, 1, 64).0, ERROR_INVALID_ARGUMENT);
    assert_eq!(info(&mut s, A, 0), Err(ERROR_INVALID_ARGUMENT));
    assert_eq!(uid_op(&mut s, A, OP_REMOVE, 0).0, ERROR_INVALID_ARGUMENT);
    assert_eq!(set(&mut s, A, 1, b"a", 1 << 3), ERROR_NOT_SUPPORTED);
    assert_eq!(set(&mut s, A, 1, b"a", 0x8000_0000), ERROR_NOT_SUPPORTED);
    assert_eq!(
        info(&mut s, A, 1),
        Err(ERROR_DOES_NOT_EXIST),
        "refused SET stored nothing"
    );
    assert_eq!(set(&mut s, A, 1, b"a", FLAGS_DEFINED), SUCCESS);
}

#[test]
fn write_once_cannot_change_or_go() {
    let mut s = svc(Flavour::Ps);
    assert_eq!(set(&mut s, A, 3, b"once", FLAG_WRITE_ONCE), SUCCESS);
    assert_eq!(set(&mut s, A, 3, b"twice", 0), ERROR_NOT_PERMITTED);
    assert_eq!(uid_op(&mut s, A, OP_REMOVE, 3).0, ERROR_NOT_PERMITTED);
    assert_eq!(set_ext(&mut s, A, 3, 0, b"x"), ERROR_NOT_PERMITTED);
    assert_eq!(get(&mut s, A, 3, 0, 9, 64), (SUCCESS, b"once".to_vec()));
    assert_eq!(info(&mut s, A, 3).map(|i| i.flags), Ok(FLAG_WRITE_ONCE));
}

#[test]
fn callers_are_namespaced() {
    let mut s = svc(Flavour::Its);
    assert_eq!(set(&mut s, A, 5, b"mine", FLAG_WRITE_ONCE), SUCCESS);
    assert_eq!(get(&mut s, B, 5, 0, 4, 64).0, ERROR_DOES_NOT_EXIST);
    assert_eq!(info(&mut s, B, 5), Err(ERROR_DOES_NOT_EXIST));
    assert_eq!(uid_op(&mut s, B, OP_REMOVE, 5).0, ERROR_DOES_NOT_EXIST);
    // B's own object with the same UID, despite A's write-once one.
    assert_eq!(set(&mut s, B, 5, b"yours", 0), SUCCESS);
    assert_eq!(get(&mut s, A, 5, 0, 9, 64).1, b"mine".to_vec());
    assert_eq!(get(&mut s, B, 5, 0, 9, 64).1, b"yours".to_vec());
}

#[test]
fn storage_limits() {
    let mut s = svc(Flavour::Ps);
    let big = vec![0xAB; 0x101];
    assert_eq!(set(&mut s, A, 1, &big, 0), ERROR_INSUFFICIENT_STORAGE);
    assert_eq!(set(&mut s, A, 1, &big[..0x100], 0), SUCCESS);
    // Total: 0x100 + 0x81 > 0x180.
    assert_eq!(
        set(&mut s, B, 1, &big[..0x81], 0),
        ERROR_INSUFFICIENT_STORAGE
    );
    assert_eq!(set(&mut s, B, 1, &big[..0x80], 0), SUCCESS);
    // Replacing counts the old object out.
    assert_eq!(set(&mut s, A, 1, &big[..0x20], 0), SUCCESS);
    assert_eq!(s.store().used(), 0xA0);
    // Object count.
    assert_eq!(set(&mut s, A, 2, b"", 0), SUCCESS);
    assert_eq!(set(&mut s, A, 3, b"", 0), ERROR_INSUFFICIENT_STORAGE);
    assert_eq!(create(&mut s, A, 3, 1, 0), ERROR_INSUFFICIENT_STORAGE);
    assert_eq!(uid_op(&mut s, A, OP_REMOVE, 2).0, SUCCESS);
    assert_eq!(create(&mut s, A, 3, 0x101, 0), ERROR_INSUFFICIENT_STORAGE);
    assert_eq!(create(&mut s, A, 3, 0xE1, 0), ERROR_INSUFFICIENT_STORAGE);
    assert_eq!(create(&mut s, A, 3, 0xE0, 0), SUCCESS);
}

#[test]
fn create_and_set_extended() {
    let mut s = svc(Flavour::Ps);
    assert_eq!(
        call(&mut s, A, OP_GET_SUPPORT, &[], 4).unwrap(),
        (SUCCESS, vec![1, 0, 0, 0])
    );
    assert_eq!(create(&mut s, A, 0, 8, 0), ERROR_INVALID_ARGUMENT);
    assert_eq!(
        create(&mut s, A, 9, 8, FLAG_WRITE_ONCE),
        ERROR_NOT_SUPPORTED
    );
    assert_eq!(create(&mut s, A, 9, 8, 1 << 5), ERROR_NOT_SUPPORTED);
    assert_eq!(create(&mut s, A, 9, 8, FLAG_NO_REPLAY_PROTECTION), SUCCESS);
    assert_eq!(create(&mut s, A, 9, 8, 0), ERROR_ALREADY_EXISTS);
    assert_eq!(
        info(&mut s, A, 9),
        Ok(GetInfoResponse {
            capacity: 8,
            size: 0,
            flags: FLAG_NO_REPLAY_PROTECTION
        })
    );
    assert_eq!(set_ext(&mut s, A, 9, 0, b"abcd"), SUCCESS);
    assert_eq!(set_ext(&mut s, A, 9, 4, b"efgh"), SUCCESS);
    assert_eq!(set_ext(&mut s, A, 9, 2, b"XY"), SUCCESS);
    assert_eq!(get(&mut s, A, 9, 0, 8, 64), (SUCCESS, b"abXYefgh".to_vec()));
    // Past the capacity, a gap, overflow, no object, UID 0.
    assert_eq!(set_ext(&mut s, A, 9, 6, b"xyz"), ERROR_INVALID_ARGUMENT);
    assert_eq!(create(&mut s, A, 10, 8, 0), SUCCESS);
    assert_eq!(set_ext(&mut s, A, 10, 1, b"x"), ERROR_INVALID_ARGUMENT);
    assert_eq!(
        set_ext(&mut s, A, 10, u64::MAX, b"x"),
        ERROR_INVALID_ARGUMENT
    );
    assert_eq!(set_ext(&mut s, B, 9, 0, b"x"), ERROR_DOES_NOT_EXIST);
    assert_eq!(set_ext(&mut s, A, 0, 0, b"x"), ERROR_INVALID_ARGUMENT);
    assert_eq!(get(&mut s, A, 9, 0, 8, 64).1, b"abXYefgh".to_vec());
}

#[test]
fn its_has_no_create_or_set_extended() {
    let mut s = svc(Flavour::Its);
    assert_eq!(
        call(&mut s, A, OP_GET_SUPPORT, &[], 4).unwrap(),
        (SUCCESS, vec![0, 0, 0, 0])
    );
    assert_eq!(create(&mut s, A, 9, 8, 0), ERROR_NOT_SUPPORTED);
    assert_eq!(set_ext(&mut s, A, 9, 0, b""), ERROR_NOT_SUPPORTED);
    assert_eq!(info(&mut s, A, 9), Err(ERROR_DOES_NOT_EXIST));
}

#[test]
fn malformed_requests_are_rpc_errors() {
    let mut s = svc(Flavour::Ps);
    // Headers cut short.
    assert_eq!(
        call(&mut s, A, OP_SET, &[0; 19], 64),
        Err(RpcStatus::InvalidRequestBody)
    );
    assert_eq!(
        call(&mut s, A, OP_GET, &[0; 23], 64),
        Err(RpcStatus::InvalidRequestBody)
    );
    assert_eq!(
        call(&mut s, A, OP_GET_INFO, &[0; 7], 64),
        Err(RpcStatus::InvalidRequestBody)
    );
    assert_eq!(
        call(&mut s, A, OP_REMOVE, &[], 64),
        Err(RpcStatus::InvalidRequestBody)
    );
    assert_eq!(
        call(&mut s, A, OP_CREATE, &[0; 19], 64),
        Err(RpcStatus::InvalidRequestBody)
    );
    assert_eq!(
        call(&mut s, A, OP_SET_EXTENDED, &[0; 23], 64),
        Err(RpcStatus::InvalidRequestBody)
    );
    // Data length beyond the request, and one that overflows.
    let mut b = [0u8; 24];
    SetRequest {
        uid: 1,
        data_length: 5,
        create_flags: 0,
    }
    .encode(&[], &mut b)
    .unwrap();
    assert_eq!(
        call(&mut s, A, OP_SET, &b, 64),
        Err(RpcStatus::InvalidRequestBody)
    );
    SetRequest {
        uid: 1,
        data_length: u64::MAX,
        create_flags: 0,
    }
    .encode(&[], &mut b)
    .unwrap();
    assert_eq!(
        call(&mut s, A, OP_SET, &b, 64),
        Err(RpcStatus::InvalidRequestBody)
    );
    // No room for the fixed-size responses.
    assert_eq!(
        call(&mut s, A, OP_GET_INFO, &1u64.to_le_bytes(), 19),
        Err(RpcStatus::InvalidResponseBody)
    );
    assert_eq!(
        call(&mut s, A, OP_GET_SUPPORT, &[], 3),
        Err(RpcStatus::InvalidResponseBody)
    );
    // Unknown opcode.
    assert_eq!(
        call(&mut s, A, 0x107, &[], 64),
        Err(RpcStatus::InvalidValue)
    );
    assert_eq!(call(&mut s, A, 0, &[], 64), Err(RpcStatus::InvalidValue));
    assert_eq!(s.store().used(), 0);
}

#[test]
fn service_uuids() {
    assert_eq!(svc(Flavour::Its).uuid(), ts_rpc::abi::ITS_UUID);
    assert_eq!(svc(Flavour::Ps).uuid(), ts_rpc::abi::PS_UUID);
}
