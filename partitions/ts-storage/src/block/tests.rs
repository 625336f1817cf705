//! The block storage server and client against the fake flash: the protocol's checks, the
//! partitions' isolation, and the log store running over the client (persistence and power
//! loss at every step, as over the direct driver).

use super::*;
use crate::flash::fake::FakeFlash;
use crate::log_store::FlashStore;
use crate::store::{Limits, Object, Store};
use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use core::cell::RefCell;

const SECTOR: usize = 0x400;
const ITS: EndpointId = EndpointId(0x8005);
const PS: EndpointId = EndpointId(0x8006);
const NW: EndpointId = EndpointId(0x0001);
const PARENT: [u8; 16] = [0xA5; 16];

type Server = Rc<RefCell<BlockStorageService<FakeFlash>>>;

fn table() -> Vec<BlockPartition> {
    vec![
        BlockPartition {
            guid: PARTITION_PSA_ITS,
            first: 0,
            blocks: 3,
            owner: ITS,
        },
        BlockPartition {
            guid: PARTITION_PSA_PS,
            first: 3,
            blocks: 3,
            owner: PS,
        },
    ]
}

fn server(flash: FakeFlash) -> Server {
    Rc::new(RefCell::new(
        BlockStorageService::new(flash, table(), PARENT).expect("table"),
    ))
}

/// The client's transport calling the server in-process as endpoint `caller`.
#[derive(Debug)]
struct Direct {
    server: Server,
    caller: EndpointId,
    cap: usize,
}

impl Transport for Direct {
    fn capacity(&self) -> usize {
        self.cap
    }

    fn call(
        &mut self,
        opcode: u16,
        buf: &mut [u8],
        request_len: usize,
    ) -> Result<(Status, usize), FlashError> {
        assert_eq!(buf.len(), self.cap);
        match self.server.borrow_mut().call(ServiceCall {
            caller: self.caller,
            client_id: 0,
            opcode,
            buf,
            request_len,
        }) {
            Ok(r) => Ok((r.status, r.len)),
            Err(_) => Err(FlashError::Transport),
        }
    }
}

fn client(s: &Server, caller: EndpointId, guid: [u8; 16], cap: usize) -> BlockFlash<Direct> {
    BlockFlash::open(
        Direct {
            server: s.clone(),
            caller,
            cap,
        },
        guid,
    )
    .expect("open")
}

/// A raw call: (service status or RPC error, response bytes).
fn raw(
    s: &Server,
    caller: EndpointId,
    opcode: u16,
    req: &[u8],
) -> Result<(Status, Vec<u8>), RpcStatus> {
    let mut buf = vec![0u8; 0x100];
    buf[..req.len()].copy_from_slice(req);
    let r = s.borrow_mut().call(ServiceCall {
        caller,
        client_id: 0,
        opcode,
        buf: &mut buf,
        request_len: req.len(),
    })?;
    Ok((r.status, buf[..r.len].to_vec()))
}

fn handle_of(s: &Server, caller: EndpointId, guid: [u8; 16]) -> u64 {
    let (st, out) = raw(s, caller, OP_OPEN, &guid).unwrap();
    assert_eq!(st, psa::SUCCESS);
    Handle::decode(&out).unwrap().handle
}

#[test]
fn partition_info_and_open_follow_ts() {
    let s = server(FakeFlash::new(SECTOR, 6));
    let (st, out) = raw(&s, NW, OP_GET_PARTITION_INFO, &PARTITION_PSA_PS).unwrap();
    assert_eq!(st, psa::SUCCESS);
    assert_eq!(
        PartitionInfo::decode(&out),
        Some(PartitionInfo {
            num_blocks: 3,
            block_size: SECTOR as u32,
            partition_guid: PARTITION_PSA_PS,
            parent_guid: PARENT,
        })
    );
    assert_eq!(out.len(), PartitionInfo::SIZE);
    // An unknown GUID: INVALID_ARGUMENT (TS's find_by_partition_guid).
    assert_eq!(
        raw(&s, NW, OP_GET_PARTITION_INFO, &[7; 16]).unwrap(),
        (psa::ERROR_INVALID_ARGUMENT, vec![])
    );
    assert_eq!(
        raw(&s, ITS, OP_OPEN, &[7; 16]).unwrap(),
        (psa::ERROR_INVALID_ARGUMENT, vec![])
    );
    // Only the owner opens: the normal world and the other storage SP are refused.
    assert_eq!(
        raw(&s, NW, OP_OPEN, &PARTITION_PSA_ITS).unwrap(),
        (psa::ERROR_NOT_PERMITTED, vec![])
    );
    assert_eq!(
        raw(&s, PS, OP_OPEN, &PARTITION_PSA_ITS).unwrap(),
        (psa::ERROR_NOT_PERMITTED, vec![])
    );
    assert_eq!(handle_of(&s, ITS, PARTITION_PSA_ITS), 0);
    assert_eq!(handle_of(&s, PS, PARTITION_PSA_PS), 1);
    // Short requests are malformed bodies; unknown opcodes an invalid value.
    assert_eq!(
        raw(&s, ITS, OP_OPEN, &[0; 15]),
        Err(RpcStatus::InvalidRequestBody)
    );
    assert_eq!(
        raw(&s, ITS, OP_READ, &[0; 23]),
        Err(RpcStatus::InvalidRequestBody)
    );
    assert_eq!(
        raw(&s, ITS, OP_WRITE, &[0; 19]),
        Err(RpcStatus::InvalidRequestBody)
    );
    assert_eq!(
        raw(&s, ITS, OP_ERASE, &[0; 19]),
        Err(RpcStatus::InvalidRequestBody)
    );
    assert_eq!(
        raw(&s, ITS, OP_CLOSE, &[0; 7]),
        Err(RpcStatus::InvalidRequestBody)
    );
    assert_eq!(raw(&s, ITS, 0x107, &[]), Err(RpcStatus::InvalidValue));
    // CLOSE checks the handle like every other use of it.
    assert_eq!(
        raw(&s, ITS, OP_CLOSE, &0u64.to_le_bytes()).unwrap().0,
        psa::SUCCESS
    );
    assert_eq!(
        raw(&s, ITS, OP_CLOSE, &1u64.to_le_bytes()).unwrap().0,
        psa::ERROR_NOT_PERMITTED
    );
    assert_eq!(
        raw(&s, ITS, OP_CLOSE, &9u64.to_le_bytes()).unwrap().0,
        psa::ERROR_INVALID_ARGUMENT
    );
}

#[test]
fn a_handle_is_usable_by_its_owner_only() {
    let s = server(FakeFlash::new(SECTOR, 6));
    let its = handle_of(&s, ITS, PARTITION_PSA_ITS);
    let mut b = [0u8; 64];
    let n = WriteRequest {
        handle: its,
        lba: 0,
        offset: 0,
    }
    .encode(&[1, 2, 3, 4], &mut b)
    .unwrap();
    for who in [NW, PS] {
        assert_eq!(
            raw(&s, who, OP_WRITE, &b[..n]).unwrap().0,
            psa::ERROR_NOT_PERMITTED
        );
        let r = ReadRequest {
            handle: its,
            lba: 0,
            offset: 0,
            len: 4,
        };
        let m = r.encode(&mut b).unwrap();
        assert_eq!(
            raw(&s, who, OP_READ, &b[..m]).unwrap().0,
            psa::ERROR_NOT_PERMITTED
        );
        let e = EraseRequest {
            handle: its,
            begin_lba: 0,
            num_blocks: 1,
        };
        let m = e.encode(&mut b).unwrap();
        assert_eq!(
            raw(&s, who, OP_ERASE, &b[..m]).unwrap().0,
            psa::ERROR_NOT_PERMITTED
        );
    }
    assert_eq!(
        s.borrow().flash().steps,
        0,
        "nothing was programmed or erased"
    );
}

#[test]
fn partitions_are_separate_sectors() {
    let s = server(FakeFlash::new(SECTOR, 6));
    let mut its = client(&s, ITS, PARTITION_PSA_ITS, 64);
    let mut ps = client(&s, PS, PARTITION_PSA_PS, 64);
    assert_eq!((its.sectors(), its.sector_size()), (3, SECTOR));
    its.program(0, &[0x11; 8]).unwrap();
    ps.program(0, &[0x22; 8]).unwrap();
    ps.program(2 * SECTOR + SECTOR - 4, &[0x33; 4]).unwrap();
    let bytes = s.borrow().flash().bytes.clone();
    assert_eq!(bytes[..8], [0x11; 8]);
    assert_eq!(bytes[3 * SECTOR..3 * SECTOR + 8], [0x22; 8]);
    assert_eq!(bytes[6 * SECTOR - 4..], [0x33; 4]);
    // Past its partition: refused on both sides.
    assert_eq!(
        its.program(3 * SECTOR, &[0; 4]),
        Err(FlashError::OutOfRange)
    );
    let h = handle_of(&s, ITS, PARTITION_PSA_ITS);
    let mut b = [0u8; 64];
    let n = WriteRequest {
        handle: h,
        lba: 3,
        offset: 0,
    }
    .encode(&[0; 4], &mut b)
    .unwrap();
    assert_eq!(
        raw(&s, ITS, OP_WRITE, &b[..n]).unwrap().0,
        psa::ERROR_INVALID_ARGUMENT
    );
    let n = WriteRequest {
        handle: h,
        lba: 0,
        offset: SECTOR as u32,
    }
    .encode(&[0; 4], &mut b)
    .unwrap();
    assert_eq!(
        raw(&s, ITS, OP_WRITE, &b[..n]).unwrap().0,
        psa::ERROR_INVALID_ARGUMENT
    );
    // ERASE clips to the partition: PS's sectors are untouched.
    let n = EraseRequest {
        handle: h,
        begin_lba: 1,
        num_blocks: 100,
    }
    .encode(&mut b)
    .unwrap();
    assert_eq!(raw(&s, ITS, OP_ERASE, &b[..n]).unwrap().0, psa::SUCCESS);
    assert_eq!(s.borrow().flash().erases, vec![0, 1, 1, 0, 0, 0]);
    let mut got = [0u8; 8];
    ps.read(0, &mut got).unwrap();
    assert_eq!(got, [0x22; 8]);
}

#[test]
fn unaligned_transfers_keep_the_bytes_around_them() {
    let s = server(FakeFlash::new(SECTOR, 6));
    let h = handle_of(&s, ITS, PARTITION_PSA_ITS);
    let mut b = [0u8; 64];
    let n = WriteRequest {
        handle: h,
        lba: 1,
        offset: 5,
    }
    .encode(&[0xA1, 0xA2, 0xA3, 0xA4, 0xA5], &mut b)
    .unwrap();
    let (st, out) = raw(&s, ITS, OP_WRITE, &b[..n]).unwrap();
    assert_eq!(st, psa::SUCCESS);
    assert_eq!(
        WriteResponse::decode(&out),
        Some(WriteResponse { num_written: 5 })
    );
    let bytes = s.borrow().flash().bytes.clone();
    assert_eq!(
        bytes[SECTOR..SECTOR + 12],
        [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xFF, 0xFF]
    );
    let n = ReadRequest {
        handle: h,
        lba: 1,
        offset: 6,
        len: 3,
    }
    .encode(&mut b)
    .unwrap();
    assert_eq!(
        raw(&s, ITS, OP_READ, &b[..n]).unwrap(),
        (psa::SUCCESS, vec![0xA2, 0xA3, 0xA4])
    );
    // A read is clipped to the block it starts in, and to the response buffer.
    let n = ReadRequest {
        handle: h,
        lba: 1,
        offset: (SECTOR - 3) as u32,
        len: 100,
    }
    .encode(&mut b)
    .unwrap();
    assert_eq!(
        raw(&s, ITS, OP_READ, &b[..n]).unwrap(),
        (psa::SUCCESS, vec![0xFF; 3])
    );
    let n = ReadRequest {
        handle: h,
        lba: 0,
        offset: 0,
        len: 0x1000,
    }
    .encode(&mut b)
    .unwrap();
    assert_eq!(raw(&s, ITS, OP_READ, &b[..n]).unwrap().1.len(), 0x100);
    // A write past the block's end stops at it.
    let n = WriteRequest {
        handle: h,
        lba: 0,
        offset: (SECTOR - 2) as u32,
    }
    .encode(&[1, 2, 3, 4], &mut b)
    .unwrap();
    let (st, out) = raw(&s, ITS, OP_WRITE, &b[..n]).unwrap();
    assert_eq!(st, psa::SUCCESS);
    assert_eq!(
        WriteResponse::decode(&out),
        Some(WriteResponse { num_written: 2 })
    );
    assert_eq!(
        s.borrow().flash().bytes[SECTOR - 2..SECTOR + 1],
        [1, 2, 0xFF]
    );
}

#[test]
fn bad_tables_are_refused() {
    let f = || FakeFlash::new(SECTOR, 6);
    let p = |first, blocks, guid: u8| BlockPartition {
        guid: [guid; 16],
        first,
        blocks,
        owner: ITS,
    };
    assert_eq!(
        BlockStorageService::new(f(), vec![p(4, 3, 1)], PARENT).err(),
        Some(TableError::OutOfRange)
    );
    assert_eq!(
        BlockStorageService::new(f(), vec![p(0, 0, 1)], PARENT).err(),
        Some(TableError::OutOfRange)
    );
    assert_eq!(
        BlockStorageService::new(f(), vec![p(0, 3, 1), p(2, 2, 2)], PARENT).err(),
        Some(TableError::Overlap)
    );
    assert_eq!(
        BlockStorageService::new(f(), vec![p(0, 3, 1), p(3, 2, 1)], PARENT).err(),
        Some(TableError::DuplicateGuid)
    );
    assert!(BlockStorageService::new(f(), vec![p(0, 3, 1), p(3, 3, 2)], PARENT).is_ok());
}

#[test]
fn open_reports_refusals() {
    let s = server(FakeFlash::new(SECTOR, 6));
    let d = |caller| Direct {
        server: s.clone(),
        caller,
        cap: 64,
    };
    assert_eq!(
        BlockFlash::open(d(NW), PARTITION_PSA_ITS).err(),
        Some(FlashError::Service(psa::ERROR_NOT_PERMITTED))
    );
    assert_eq!(
        BlockFlash::open(d(ITS), [9; 16]).err(),
        Some(FlashError::Service(psa::ERROR_INVALID_ARGUMENT))
    );
    let small = Direct {
        server: s.clone(),
        caller: ITS,
        cap: 16,
    };
    assert_eq!(
        BlockFlash::open(small, PARTITION_PSA_ITS).err(),
        Some(FlashError::Transport)
    );
}

const LIMITS: Limits = Limits {
    max_object: 0x100,
    total: 0x300,
    max_objects: 8,
};

fn obj(data: &[u8]) -> Object {
    Object {
        flags: 0,
        capacity: data.len() as u64,
        data: data.to_vec(),
    }
}

type State = BTreeMap<(u16, u64), Vec<u8>>;

fn state<S: Store>(s: &S, keys: &[(EndpointId, u64)]) -> State {
    keys.iter()
        .filter_map(|&(c, u)| s.get(c, u).map(|o| ((c.0, u), o.data.clone())))
        .collect()
}

/// The log over the block storage client: what ITS and PS run on the device.
fn store(s: &Server, who: EndpointId, guid: [u8; 16]) -> FlashStore<BlockFlash<Direct>> {
    FlashStore::mount(client(s, who, guid, 0x80), LIMITS).expect("mount")
}

#[test]
fn two_logs_share_the_flash_and_survive_a_reboot() {
    let s = server(FakeFlash::new(SECTOR, 6));
    let mut its = store(&s, ITS, PARTITION_PSA_ITS);
    let mut ps = store(&s, PS, PARTITION_PSA_PS);
    let a = EndpointId(1);
    for i in 0..20u64 {
        // Enough writes to compact both logs round their sectors.
        its.put(a, i % 5 + 1, obj(&[i as u8; 0x50])).unwrap();
        ps.put(a, i % 4 + 1, obj(&[0x80 | i as u8; 0x61])).unwrap();
    }
    its.remove(a, 2).unwrap();
    let keys: Vec<_> = (1..6).map(|u| (a, u)).collect();
    let (want_its, want_ps) = (state(&its, &keys), state(&ps, &keys));
    assert_eq!(want_its.len(), 4);
    assert_eq!(want_ps.len(), 4);
    assert_ne!(want_its, want_ps);
    // Reboot: a new server on the same flash bytes, new clients.
    let bytes = s.borrow().flash().bytes.clone();
    let s2 = server(FakeFlash::from_bytes(bytes, SECTOR));
    assert_eq!(state(&store(&s2, ITS, PARTITION_PSA_ITS), &keys), want_its);
    assert_eq!(state(&store(&s2, PS, PARTITION_PSA_PS), &keys), want_ps);
    assert!(
        s.borrow().flash().erases.iter().all(|e| *e >= 1),
        "both logs rotated"
    );
}

#[test]
fn power_loss_at_every_step_through_the_block_service() {
    // PS's log over the client, the flash cut at every program/erase step of a workload
    // that appends, replaces, removes and compacts: after each cut, a reboot finds the state
    // before or after the interrupted write.
    let a = EndpointId(1);
    let keys: Vec<_> = (1..5).map(|u| (a, u)).collect();
    type Op = (u64, Option<u8>);
    let ops: Vec<Op> = (0..24u64)
        .map(|i| (i % 4 + 1, if i % 7 == 6 { None } else { Some(i as u8) }))
        .collect();
    let apply = |st: &mut FlashStore<BlockFlash<Direct>>, (uid, v): Op| match v {
        Some(v) => st.put(a, uid, obj(&[v; 0x70])),
        None => st.remove(a, uid),
    };
    // The states after each whole write, and the number of steps in total.
    let s = server(FakeFlash::new(SECTOR, 6));
    let mut st = store(&s, PS, PARTITION_PSA_PS);
    let mut states = vec![state(&st, &keys)];
    for &op in &ops {
        apply(&mut st, op).unwrap();
        states.push(state(&st, &keys));
    }
    let total = s.borrow().flash().steps;
    assert!(total > 100, "the workload compacts ({total} steps)");
    for cut in 0..total {
        let mut f = FakeFlash::new(SECTOR, 6);
        f.cut_after(cut);
        let s = server(f);
        let mut st = store(&s, PS, PARTITION_PSA_PS);
        let mut done = 0;
        for &op in &ops {
            if apply(&mut st, op).is_err() {
                break;
            }
            done += 1;
        }
        assert!(s.borrow().flash().is_dead(), "cut {cut} happened");
        let bytes = s.borrow().flash().bytes.clone();
        let s2 = server(FakeFlash::from_bytes(bytes, SECTOR));
        let mut again = store(&s2, PS, PARTITION_PSA_PS);
        let now = state(&again, &keys);
        assert!(
            now == states[done] || now == states[done + 1],
            "cut {cut}: neither the state before nor after write {done}"
        );
        // And the store takes a write that survives another reboot.
        again.put(a, 9, obj(b"after")).unwrap();
        let bytes = s2.borrow().flash().bytes.clone();
        let s3 = server(FakeFlash::from_bytes(bytes, SECTOR));
        let third = store(&s3, PS, PARTITION_PSA_PS);
        assert_eq!(
            third.get(a, 9).map(|o| o.data.clone()),
            Some(b"after".to_vec())
        );
        // ITS's partition was never touched.
        assert!(s2.borrow().flash().bytes[..3 * SECTOR]
            .iter()
            .all(|b| *b == 0xFF));
    }
}

/// A transport that records the length each READ asks for.
#[derive(Debug)]
struct Recording(Direct, Rc<RefCell<Vec<u32>>>);

impl Transport for Recording {
    fn capacity(&self) -> usize {
        self.0.capacity()
    }

    fn call(&mut self, op: u16, b: &mut [u8], n: usize) -> Result<(Status, usize), FlashError> {
        if op == OP_READ {
            self.1
                .borrow_mut()
                .push(ReadRequest::decode(&b[..n]).unwrap().len);
        }
        self.0.call(op, b, n)
    }
}

/// Mounts ITS's store through a [`Recording`] transport (buffer 0x100); returns the store
/// and the lengths the mount's READs asked for.
fn mount_recording(s: &Server) -> (FlashStore<BlockFlash<Recording>>, Vec<u32>) {
    let asked = Rc::new(RefCell::new(Vec::new()));
    let t = Recording(
        Direct {
            server: s.clone(),
            caller: ITS,
            cap: 0x100,
        },
        asked.clone(),
    );
    let st = FlashStore::mount(BlockFlash::open(t, PARTITION_PSA_ITS).unwrap(), LIMITS).unwrap();
    let asked = asked.borrow().clone();
    (st, asked)
}

#[test]
fn mount_reads_in_chunks() {
    // The log's mount scans the active sector's tail word by word: the client's cache turns
    // that into one READ per chunk.
    let s = server(FakeFlash::new(SECTOR, 6));
    let mut st = store(&s, ITS, PARTITION_PSA_ITS);
    st.put(EndpointId(1), 1, obj(b"x")).unwrap();
    let (st, asked) = mount_recording(&s);
    assert_eq!(st.len(), 1);
    // 3 sector headers + the active sector's 4 chunks of 0x100.
    assert!(asked.len() <= 3 + 4, "{asked:?}");
}

/// Mounting an erased partition reads each sector's header and nothing else (it was a whole
/// chunk per header: at boot, a 4 KiB READ through block-storage per sector of ITS and PS).
#[test]
fn mount_reads_only_the_sector_headers_of_an_erased_partition() {
    let s = server(FakeFlash::new(SECTOR, 6));
    let (st, asked) = mount_recording(&s);
    assert!(st.is_empty());
    assert_eq!(asked, [crate::log_store::SECTOR_HEADER as u32; 3]);
}

#[test]
fn the_owners_are_the_storage_partitions_of_the_default_set() {
    fn id_of(dts: &str) -> EndpointId {
        let line = dts
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("id = <"))
            .expect("id");
        let v = line.trim_start_matches("id = <").trim_end_matches(">;");
        EndpointId(u16::from_str_radix(v.trim_start_matches("0x"), 16).expect("hex id"))
    }
    assert_eq!(id_of(include_str!("../../../its/its.dts")), ITS_ENDPOINT);
    assert_eq!(id_of(include_str!("../../../ps/ps.dts")), PS_ENDPOINT);
    let t = default_partitions(8);
    assert_eq!(
        t.iter()
            .map(|p| (p.first, p.blocks, p.owner))
            .collect::<Vec<_>>(),
        vec![(0, 4, ITS_ENDPOINT), (4, 4, PS_ENDPOINT)]
    );
    assert!(BlockStorageService::new(FakeFlash::new(SECTOR, 8), t, PARENT).is_ok());
    assert!(
        BlockStorageService::new(FakeFlash::new(SECTOR, 5), default_partitions(5), PARENT).is_ok()
    );
}
