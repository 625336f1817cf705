//! Host tests of the test SPs' handlers against sp-rt's fake SPMC.

use super::*;
use ffa_abi::indirect::MessageHeader;
use ffa_abi::memory::transaction::{builder_for, MemAccess};
use ffa_abi::memory::{AccessPerms, Constituent};
use ffa_abi::MemHandle;
use sp_rt::testing::dtb::{build, cells, Item};
use sp_rt::testing::{error_reply, success_reply, FakeSpmc};
use sp_rt::{Regs, RegsExt, RxOnWait};
use test_protocol::id;

#[repr(C, align(4096))]
struct Page([u8; 4096]);

struct Buffers {
    rx: Box<Page>,
    tx: Box<Page>,
}

impl Buffers {
    fn new() -> Self {
        Self {
            rx: Box::new(Page([0; 4096])),
            tx: Box::new(Page([0; 4096])),
        }
    }

    fn pair(&mut self) -> RxTx {
        // SAFETY: the pages are boxed, 4 KiB aligned, and outlive every use of the pair in
        // the test; the test only touches RX through the pair after filling it.
        unsafe { RxTx::from_raw(self.rx.0.as_ptr(), self.tx.0.as_mut_ptr()) }
    }
}

fn state(rxtx: Result<RxTx, Error>) -> SpState<'static> {
    SpState {
        rxtx,
        manifest: None,
        boot_info_version: None,
        init_perms: [0; 3],
        version: sp_rt::Version::V1_2,
        heap_free: || 0x1000,
    }
}

/// A REQ_64 from the normal world (ID 0) to echo with payload `words`.
fn req64(words: &[u64]) -> DirectRequest {
    let mut regs = [0u64; 17];
    regs[0] = u64::from(id::ECHO);
    regs[2..2 + words.len()].copy_from_slice(words);
    DirectRequest::decode(&Regs::call(0xC400_006F, &regs)).unwrap()
}

/// A REQ2 (nil protocol UUID) from the normal world to echo with payload `words` (x4..x17):
/// for commands with more words than the five a REQ_64 carries (x3..x7, FF-A v1.2 section
/// 15.2), as the QEMU cases send them.
fn req2(words: &[u64]) -> DirectRequest {
    let mut regs = [0u64; 17];
    regs[0] = u64::from(id::ECHO);
    regs[3..3 + words.len()].copy_from_slice(words);
    DirectRequest::decode(&Regs::call(0xC400_008D, &regs)).unwrap()
}

fn req32(words: &[u64]) -> DirectRequest {
    let mut regs = [0u64; 7];
    regs[0] = u64::from(id::ECHO);
    regs[2..2 + words.len()].copy_from_slice(words);
    DirectRequest::decode(&Regs::call(0x8400_006F, &regs)).unwrap()
}

#[test]
fn echo_returns_unknown_payloads_unchanged() {
    let mut ffa = Ffa::new(FakeSpmc::default());
    let req = req64(&[
        0x1111,
        2,
        3,
        0xFFFF_FFFF_FFFF_FFFF,
        5,
        6,
        7,
        8,
        9,
        10,
        11,
        12,
        13,
        14,
        15,
    ]);
    assert_eq!(
        echo(&mut ffa, &mut state(Err(Error::Unexpected(0))), &req),
        req.payload
    );
    assert!(ffa.conduit().calls.is_empty());
}

#[test]
fn id_and_version_report_what_the_spmc_said() {
    let mut ffa = Ffa::new(FakeSpmc::with_replies([
        success_reply(&[u64::from(id::ECHO)]),
        Regs::call(0x1_0002, &[]),
        Regs::call(0xFFFF_FFFF, &[]),
    ]));
    let mut sp = state(Err(Error::Unexpected(0)));
    let r = echo(&mut ffa, &mut sp, &req32(&[u64::from(cmd::ID)]));
    assert_eq!((r.get(0), r.get(1)), (0, u64::from(id::ECHO)));
    let r = echo(&mut ffa, &mut sp, &req32(&[u64::from(cmd::VERSION)]));
    assert_eq!((r.get(0), r.get(1)), (0, 0x1_0002));
    let r = echo(
        &mut ffa,
        &mut sp,
        &req32(&[u64::from(cmd::VERSION), 0x1_0001]),
    );
    assert_eq!((r.get(0), r.get(1)), (0, 0xFFFF_FFFF));
    let calls = &ffa.conduit().calls;
    assert_eq!(calls[0].fid(), 0x8400_0069);
    assert_eq!((calls[1].fid(), calls[1].x(1)), (0x8400_0063, 0x1_0002));
    assert_eq!(calls[2].x(1), 0x1_0001);
}

fn descriptor(id: EndpointId, ctx: u16, props: u32) -> Vec<u8> {
    let mut v = id.0.to_le_bytes().to_vec();
    v.extend(ctx.to_le_bytes());
    v.extend(props.to_le_bytes());
    v.extend([0xAB; 16]);
    v
}

#[test]
fn partinfo_reads_rx_then_releases_it() {
    let mut bufs = Buffers::new();
    let mut d = descriptor(EndpointId(0x8001), 1, 0x0000_0703);
    d.extend(descriptor(EndpointId(0x8002), 1, 0x0000_0103));
    bufs.rx.0[..48].copy_from_slice(&d);
    let mut sp = state(Ok(bufs.pair()));
    let mut ffa = Ffa::new(FakeSpmc::with_replies([success_reply(&[2, 24])]));
    let r = echo(
        &mut ffa,
        &mut sp,
        &req64(&[u64::from(cmd::PARTINFO), 0x3a7c_2e2f, 1, 2, 3]),
    );
    assert_eq!(
        (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)),
        (0, 2, 24, 0x8001 | 1 << 16, 0x703)
    );
    let calls = &ffa.conduit().calls;
    assert_eq!(calls[0].fid(), 0x8400_0068);
    assert_eq!(
        (calls[0].x(1), calls[0].x(4), calls[0].x(5)),
        (0x3a7c_2e2f, 3, 0)
    );
    assert_eq!(calls[1].fid(), 0x8400_0065, "RX released after reading");
}

#[test]
fn partinfo_reports_errors_and_bad_rx_and_still_releases() {
    let mut sp = state(Err(Error::Ffa(sp_rt::ErrorCode::NoMemory)));
    let mut ffa = Ffa::new(FakeSpmc::default());
    let r = echo(&mut ffa, &mut sp, &req64(&[u64::from(cmd::PARTINFO)]));
    assert_eq!(r.get(0), 0xFFFF_FFFD);

    let mut bufs = Buffers::new();
    let mut sp = state(Ok(bufs.pair()));
    // 200 descriptors of 24 bytes do not fit in one page.
    let mut ffa = Ffa::new(FakeSpmc::with_replies([success_reply(&[200, 24])]));
    let r = echo(&mut ffa, &mut sp, &req64(&[u64::from(cmd::PARTINFO)]));
    assert_eq!(r.get(0), u64::from(status::BAD_RX));
    assert_eq!(ffa.conduit().calls[1].fid(), 0x8400_0065);

    let mut ffa = Ffa::new(FakeSpmc::with_replies([error_reply(-2)]));
    let r = echo(&mut ffa, &mut sp, &req64(&[u64::from(cmd::PARTINFO)]));
    assert_eq!(r.get(0), 0xFFFF_FFFE);
    assert_eq!(
        ffa.conduit().calls.len(),
        1,
        "no RX_RELEASE when RX was not filled"
    );
}

#[test]
fn call_forwards_and_shifts_the_payload() {
    let target_resp = Regs::call(0xC400_0070, &[u64::from(id::RELAY) << 16 | 0x8001, 0, 7, 8]);
    let mut ffa = Ffa::new(FakeSpmc::with_replies([target_resp, error_reply(-6)]));
    let mut sp = state(Err(Error::Unexpected(0)));
    let req = req64(&[u64::from(cmd::CALL), u64::from(id::RELAY), 0x55, 0x66, 0x77]);
    let r = echo(&mut ffa, &mut sp, &req);
    assert_eq!((r.get(0), r.get(1), r.get(2)), (0, 7, 8));
    let sent = ffa.conduit().calls[0];
    assert_eq!(sent.fid(), 0xC400_006F);
    assert_eq!(sent.x(1), u64::from(id::ECHO) << 16 | u64::from(id::RELAY));
    assert_eq!(
        (sent.x(3), sent.x(4), sent.x(5), sent.x(6)),
        (0x55, 0x66, 0x77, 0)
    );
    // The capability gate said no: the status word carries DENIED.
    let r = echo(&mut ffa, &mut sp, &req);
    assert_eq!(r.get(0), 0xFFFF_FFFA);
}

#[test]
fn relay_consumes_one_target_id_per_hop() {
    let echo_resp = Regs::call(
        0x8400_0070,
        &[u64::from(id::ECHO) << 16 | 0x8002, 0, 0x1234],
    );
    let mut ffa = Ffa::new(FakeSpmc::with_replies([echo_resp]));
    // Requests reach relay as REQ_32 from the normal world: [cmd, target, rest...].
    let mut regs = [0u64; 7];
    regs[0] = u64::from(id::RELAY);
    regs[2..7].copy_from_slice(&[0x1234, u64::from(id::ECHO), 9, 10, 11]);
    let req = DirectRequest::decode(&Regs::call(0x8400_006F, &regs)).unwrap();
    let r = relay(&mut ffa, &req);
    assert_eq!((r.get(0), r.get(1)), (0, 0x1234));
    let sent = ffa.conduit().calls[0];
    assert_eq!(sent.fid(), 0x8400_006F);
    assert_eq!(sent.x(1), u64::from(id::RELAY) << 16 | u64::from(id::ECHO));
    assert_eq!(
        (sent.x(3), sent.x(4), sent.x(5), sent.x(6)),
        (0x1234, 9, 10, 11)
    );
}

#[test]
fn req2_forwards_with_the_nil_uuid() {
    let resp2 = Regs::call(
        0xC400_008E,
        &[u64::from(id::ECHO) << 16 | 0x8002, 0, 0, 0x99],
    );
    let mut ffa = Ffa::new(FakeSpmc::with_replies([resp2]));
    let mut regs = [0u64; 17];
    regs[0] = u64::from(id::RELAY);
    regs[1] = 0xAAAA; // x2/x3: the relay's own protocol UUID
    regs[2] = 0xBBBB;
    regs[3] = 0x42; // x4 = word 0
    regs[4] = u64::from(id::ECHO);
    let req = DirectRequest::decode(&Regs::call(0xC400_008D, &regs)).unwrap();
    let r = relay(&mut ffa, &req);
    assert_eq!((r.get(0), r.get(1)), (0, 0x99));
    let sent = ffa.conduit().calls[0];
    assert_eq!(sent.fid(), 0xC400_008D);
    assert_eq!((sent.x(2), sent.x(3), sent.x(4)), (0, 0, 0x42));
}

#[test]
fn manifest_commands_read_the_boot_info_manifest() {
    let dtb = build(&[
        Item::Begin(""),
        Item::Prop("uuid", cells(&test_protocol::uuid::PKG_SP)),
        Item::Prop("id", cells(&[u32::from(id::PKG_SP)])),
        Item::Prop("ffa-version", cells(&[0x1_0001])),
        Item::End,
    ]);
    let mut sp = SpState {
        rxtx: Err(Error::Unexpected(0)),
        manifest: Some(Fdt::new(&dtb).unwrap()),
        boot_info_version: Some(0x1_0001),
        init_perms: [0; 3],
        version: sp_rt::Version::V1_1,
        heap_free: || 0,
    };
    let mut ffa = Ffa::new(FakeSpmc::default());
    let r = echo(&mut ffa, &mut sp, &req64(&[u64::from(cmd::MANIFEST_UUID)]));
    let want = test_protocol::uuid::PKG_SP.map(u64::from);
    assert_eq!(
        [r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)],
        [0, want[0], want[1], want[2], want[3]]
    );
    let r = echo(&mut ffa, &mut sp, &req64(&[u64::from(cmd::MANIFEST_ID)]));
    assert_eq!(
        [r.get(0), r.get(1), r.get(2), r.get(3)],
        [0, 0x8004, 0x1_0001, 0x1_0001]
    );
    let mut none = state(Err(Error::Unexpected(0)));
    let r = echo(
        &mut ffa,
        &mut none,
        &req64(&[u64::from(cmd::MANIFEST_UUID)]),
    );
    assert_eq!(r.get(0), u64::from(status::NO_BOOT_INFO));
}

#[test]
fn log_prints_through_console_log() {
    let mut ffa = Ffa::new(FakeSpmc::default());
    let mut sp = state(Err(Error::Unexpected(0)));
    let r = echo(&mut ffa, &mut sp, &req64(&[u64::from(cmd::LOG), 0x2a]));
    assert_eq!(r.get(0), 0);
    let c = ffa.conduit().calls[0];
    assert_eq!(c.fid(), 0xC400_008A);
    let n = c.x(1) as usize;
    let text: Vec<u8> = (0..n)
        .map(|i| (c.x(2 + i / 8) >> (8 * (i % 8))) as u8)
        .collect();
    assert_eq!(text, b"LOG 0x2a from 0x0000\n");
}

#[test]
fn who_reports_ids_and_kind() {
    let mut ffa = Ffa::new(FakeSpmc::default());
    let mut sp = state(Err(Error::Unexpected(0)));
    let r = echo(&mut ffa, &mut sp, &req32(&[u64::from(cmd::WHO)]));
    assert_eq!(
        [r.get(0), r.get(1), r.get(2), r.get(3)],
        [0, u64::from(id::ECHO), 0, 32]
    );
}

#[test]
fn init_perms_are_snapshotted_then_reported() {
    let mut ffa = Ffa::new(FakeSpmc::with_replies([
        success_reply(&[0b011]),
        success_reply(&[0b101]),
        error_reply(-2),
    ]));
    let perms = snapshot_perms(&mut ffa, [0x2400_0000, 0x2408_0000, 0x2440_0000]);
    assert_eq!(perms, [0b011, 0b101, 0xFFFF_FFFE]);
    let addrs: Vec<u64> = ffa.conduit().calls.iter().map(|c| c.x(1)).collect();
    assert_eq!(addrs, vec![0x2400_0000, 0x2408_0000, 0x2440_0000]);
    let mut sp = state(Err(Error::Unexpected(0)));
    sp.init_perms = perms;
    let r = echo(&mut ffa, &mut sp, &req64(&[u64::from(cmd::INIT_PERMS)]));
    assert_eq!(
        [r.get(0), r.get(1), r.get(2), r.get(3)],
        [0, 0b011, 0b101, 0xFFFF_FFFE]
    );
}

/// Writes the retrieve response the SPMC would put in RX: us as the receiver, one constituent.
fn retrieve_response(rx: &mut [u8], addr: u64, perms: AccessPerms) -> u32 {
    let receivers = [MemAccess::new(id::ECHO, perms)];
    let cons = [Constituent {
        address: addr,
        page_count: 1,
    }];
    let mut b = builder_for(sp_rt::Version::V1_2, EndpointId(0), &receivers, &cons).unwrap();
    b.handle = MemHandle(0x5_0000_0007);
    b.write(rx).unwrap() as u32
}

#[test]
fn mem_rw_retrieves_reads_writes_and_relinquishes() {
    let mut shared = Box::new(Page([0; 4096]));
    shared.0[..4].copy_from_slice(&0x1111_2222u32.to_le_bytes());
    let addr = shared.0.as_mut_ptr() as u64;
    let mut bufs = Buffers::new();
    let n = retrieve_response(&mut bufs.rx.0, addr, AccessPerms::RW_NX);
    let resp = Regs::call(0x8400_0075, &[u64::from(n), u64::from(n)]);
    let mut sp = state(Ok(bufs.pair()));
    let mut ffa = Ffa::new(FakeSpmc::with_replies([
        resp,
        success_reply(&[]),
        success_reply(&[]),
    ]));
    let r = echo(
        &mut ffa,
        &mut sp,
        &req64(&[u64::from(cmd::MEM_RW), 7, 5, 0, 0xABCD]),
    );
    assert_eq!(
        [r.get(0), r.get(1), r.get(2), r.get(3)],
        [0, 0x1111_2222, 1, 1]
    );
    assert_eq!(shared.0[..4], 0xABCDu32.to_le_bytes());
    let fids: Vec<u32> = ffa.conduit().calls.iter().map(|c| c.fid()).collect();
    assert_eq!(fids, vec![0x8400_0074, 0x8400_0065, 0x8400_0076]);
}

#[test]
fn mem_rw_reports_a_refused_retrieve() {
    let mut bufs = Buffers::new();
    let mut sp = state(Ok(bufs.pair()));
    let mut ffa = Ffa::new(FakeSpmc::with_replies([error_reply(-2)]));
    let r = echo(
        &mut ffa,
        &mut sp,
        &req64(&[u64::from(cmd::MEM_RW), 7, 0, 0, 0]),
    );
    assert_eq!(r.get(0), 0xFFFF_FFFE);
}

#[test]
fn heap_allocates_checks_and_frees() {
    let mut ffa = Ffa::new(FakeSpmc::default());
    let mut sp = state(Err(Error::Unexpected(0)));
    let r = echo(&mut ffa, &mut sp, &req64(&[u64::from(cmd::HEAP), 4096]));
    // The host heap_free stub is constant; on the target "during" is smaller.
    assert_eq!(
        [r.get(0), r.get(1), r.get(2), r.get(3)],
        [0, 0x1000, 0x1000, 0x1000]
    );
    assert!(ffa.conduit().calls.is_empty());
}

#[test]
fn share_lends_a_page_asks_the_borrower_and_reclaims() {
    let mut bufs = Buffers::new();
    let mut sp = state(Ok(bufs.pair()));
    let borrower_resp = Regs::call(
        0xC400_0070,
        &[
            u64::from(id::FAULT) << 16 | u64::from(id::ECHO),
            0,
            0,
            u64::from(cmd::SHARE_PATTERN),
        ],
    );
    let mut ffa = Ffa::new(FakeSpmc::with_replies([
        success_reply(&[0x42, 0]),
        borrower_resp,
        success_reply(&[]),
    ]));
    let r = echo(
        &mut ffa,
        &mut sp,
        &req64(&[u64::from(cmd::SHARE), u64::from(id::FAULT), 0x77]),
    );
    // The fake borrower did not write the page, so it still holds the pattern.
    assert_eq!(
        [r.get(0), r.get(1), r.get(2), r.get(3)],
        [
            0,
            0,
            u64::from(cmd::SHARE_PATTERN),
            u64::from(cmd::SHARE_PATTERN)
        ]
    );
    let c = &ffa.conduit().calls;
    assert_eq!(c[0].fid(), 0x8400_0073);
    assert_eq!(c[1].fid(), 0xC400_006F);
    assert_eq!(c[1].x(1), u64::from(id::ECHO) << 16 | u64::from(id::FAULT));
    assert_eq!(
        (c[1].x(3), c[1].x(4), c[1].x(5), c[1].x(6), c[1].x(7)),
        (u64::from(cmd::MEM_RW), 0x42, 0, u64::from(id::ECHO), 0x77)
    );
    assert_eq!((c[2].fid(), c[2].x(1)), (0x8400_0077, 0x42));
}

#[test]
fn share_reports_a_refused_share() {
    let mut bufs = Buffers::new();
    let mut sp = state(Ok(bufs.pair()));
    let mut ffa = Ffa::new(FakeSpmc::with_replies([error_reply(-6)]));
    let r = echo(
        &mut ffa,
        &mut sp,
        &req64(&[u64::from(cmd::SHARE), u64::from(id::RELAY)]),
    );
    assert_eq!(r.get(0), 0xFFFF_FFFA);
    assert_eq!(ffa.conduit().calls.len(), 1);
}

#[test]
fn mem_access_reads_and_writes_at_an_offset_and_keeps_when_asked() {
    let mut shared = Box::new(Page([0; 4096]));
    shared.0[8..12].copy_from_slice(&0x3333_4444u32.to_le_bytes());
    let addr = shared.0.as_mut_ptr() as u64;
    let mut bufs = Buffers::new();
    let n = retrieve_response(&mut bufs.rx.0, addr, AccessPerms::RW_NX);
    let resp = Regs::call(0x8400_0075, &[u64::from(n), u64::from(n)]);
    let mut sp = state(Ok(bufs.pair()));
    // Replies: retrieve response, RX release; no relinquish (kept).
    let mut ffa = Ffa::new(FakeSpmc::with_replies([resp, success_reply(&[])]));
    let r = echo(
        &mut ffa,
        &mut sp,
        &req2(&[
            u64::from(cmd::MEM_ACCESS),
            7,
            5,
            0,
            0xABCD,
            8,
            cmd::MEM_KEEP,
        ]),
    );
    assert_eq!(
        [r.get(0), r.get(1), r.get(2), r.get(3)],
        [0, 0x3333_4444, 1, 1]
    );
    assert_eq!(shared.0[8..12], 0xABCDu32.to_le_bytes());
    let fids: Vec<u32> = ffa.conduit().calls.iter().map(|c| c.fid()).collect();
    assert_eq!(fids, vec![0x8400_0074, 0x8400_0065]);
}

#[test]
fn mem_access_outside_the_region_is_denied_and_still_relinquishes() {
    let mut shared = Box::new(Page([0; 4096]));
    let addr = shared.0.as_mut_ptr() as u64;
    let mut bufs = Buffers::new();
    let n = retrieve_response(&mut bufs.rx.0, addr, AccessPerms::RW_NX);
    let resp = Regs::call(0x8400_0075, &[u64::from(n), u64::from(n)]);
    let mut sp = state(Ok(bufs.pair()));
    let mut ffa = Ffa::new(FakeSpmc::with_replies([
        resp,
        success_reply(&[]),
        success_reply(&[]),
    ]));
    let r = echo(
        &mut ffa,
        &mut sp,
        &req2(&[u64::from(cmd::MEM_ACCESS), 7, 5, 0, 1, 0x1000]),
    );
    assert_eq!(r.get(0), 0xFFFF_FFFA);
    let fids: Vec<u32> = ffa.conduit().calls.iter().map(|c| c.fid()).collect();
    assert_eq!(fids, vec![0x8400_0074, 0x8400_0065, 0x8400_0076]);
}

#[test]
fn mem_relinquish_names_the_handle_and_us() {
    let mut bufs = Buffers::new();
    let mut sp = state(Ok(bufs.pair()));
    let mut ffa = Ffa::new(FakeSpmc::with_replies([success_reply(&[])]));
    let r = echo(
        &mut ffa,
        &mut sp,
        &req64(&[u64::from(cmd::MEM_RELINQUISH), 7, 5]),
    );
    assert_eq!(r.get(0), 0);
    assert_eq!(ffa.conduit().calls[0].fid(), 0x8400_0076);
    let d = ffa_abi::memory::relinquish::MemRelinquish::parse(&bufs.tx.0).unwrap();
    assert_eq!(d.handle, MemHandle(0x5_0000_0007));
    assert_eq!(d.endpoints().collect::<Vec<_>>(), vec![id::ECHO]);
}

/// fault's FFA_MSG_SEND_DIRECT_RESP2 to echo with payload `words` (from x4).
fn resp2(words: &[u64]) -> Regs {
    let mut regs = [0u64; 17];
    regs[0] = u64::from(id::FAULT) << 16 | u64::from(id::ECHO);
    regs[3..3 + words.len()].copy_from_slice(words);
    Regs::call(0xC400_008E, &regs)
}

/// The descriptor `MEM_SEND` wrote into TX (exactly its length), parsed back.
fn sent(desc: &[u8]) -> ffa_abi::memory::transaction::MemTransaction<'_> {
    ffa_abi::memory::transaction::MemTransaction::parse(desc, sp_rt::Version::V1_2).unwrap()
}

#[test]
fn mem_send_lend_asks_the_borrower_with_req2_then_reclaims() {
    let mut bufs = Buffers::new();
    let mut sp = state(Ok(bufs.pair()));
    let borrower_resp = resp2(&[0, u64::from(cmd::SHARE_PATTERN)]);
    let mut ffa = Ffa::new(FakeSpmc::with_replies([
        success_reply(&[0x42, 0]),
        borrower_resp,
        success_reply(&[]),
    ]));
    // Asked with REQ_32: the borrower gets REQ2 (the keep flag is word 6).
    let r = echo(
        &mut ffa,
        &mut sp,
        &req32(&[
            u64::from(cmd::MEM_SEND),
            u64::from(id::FAULT),
            cmd::MEM_SEND_LEND,
            0x77,
        ]),
    );
    assert_eq!(
        [r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)],
        [
            0,
            0,
            u64::from(cmd::SHARE_PATTERN),
            u64::from(cmd::SHARE_PATTERN),
            0
        ]
    );
    let c = &ffa.conduit().calls;
    assert_eq!(c[0].fid(), 0x8400_0072); // FFA_MEM_LEND_32
    let t = sent(&bufs.tx.0[..c[0].x(1) as usize]);
    assert_eq!(t.attributes, ffa_abi::memory::MemAttributes::NOT_SPECIFIED);
    assert_eq!(t.receiver(0).unwrap().perms, SHARE_RW);
    assert_eq!(c[1].fid(), 0xC400_008D); // FFA_MSG_SEND_DIRECT_REQ2, payload from x4
    assert_eq!((c[1].x(2), c[1].x(3)), (0, 0));
    assert_eq!(
        (c[1].x(4), c[1].x(5), c[1].x(7), c[1].x(8), c[1].x(10)),
        (
            u64::from(cmd::MEM_ACCESS),
            0x42,
            u64::from(id::ECHO),
            0x77,
            0
        )
    );
    assert_eq!((c[2].fid(), c[2].x(1)), (0x8400_0077, 0x42));
}

#[test]
fn mem_send_donate_names_no_access_keeps_and_expects_no_reclaim() {
    let mut bufs = Buffers::new();
    let mut sp = state(Ok(bufs.pair()));
    let borrower_resp = resp2(&[0, u64::from(cmd::SHARE_PATTERN)]);
    let mut ffa = Ffa::new(FakeSpmc::with_replies([
        success_reply(&[0x43, 0]),
        borrower_resp,
        error_reply(-2),
    ]));
    let r = echo(
        &mut ffa,
        &mut sp,
        &req64(&[
            u64::from(cmd::MEM_SEND),
            u64::from(id::FAULT),
            cmd::MEM_SEND_DONATE,
            0x77,
        ]),
    );
    assert_eq!(
        [r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)],
        [0, 0, u64::from(cmd::SHARE_PATTERN), 0, 0xFFFF_FFFE]
    );
    let c = &ffa.conduit().calls;
    assert_eq!(c[0].fid(), 0x8400_0071); // FFA_MEM_DONATE_32
    let t = sent(&bufs.tx.0[..c[0].x(1) as usize]);
    assert_eq!(t.receiver(0).unwrap().perms.encode(), 0);
    assert_eq!(c[1].x(10), cmd::MEM_KEEP);
}

#[test]
fn mem_send_refusals_and_unknown_abis() {
    let mut bufs = Buffers::new();
    let mut sp = state(Ok(bufs.pair()));
    let mut ffa = Ffa::new(FakeSpmc::with_replies([error_reply(-6)]));
    let r = echo(
        &mut ffa,
        &mut sp,
        &req64(&[
            u64::from(cmd::MEM_SEND),
            u64::from(id::RELAY),
            cmd::MEM_SEND_SHARE,
        ]),
    );
    assert_eq!(r.get(0), 0xFFFF_FFFA);
    let r = echo(
        &mut ffa,
        &mut sp,
        &req64(&[u64::from(cmd::MEM_SEND), u64::from(id::FAULT), 9]),
    );
    assert_eq!(r.get(0), 0xFFFF_FFFE);
    assert_eq!(ffa.conduit().calls.len(), 1);
}

#[test]
fn raw_call_passes_registers_through_unchanged() {
    // The SPMC's reply to a forged DIRECT_REQ_32: FFA_ERROR INVALID_PARAMETERS.
    let mut ffa = Ffa::new(FakeSpmc::with_replies([error_reply(-2)]));
    let mut sp = state(Err(Error::Unexpected(0)));
    let forged = (0x8002_u64 << 16) | 0x8003;
    let mut words = [0u64; 14];
    words[0] = u64::from(cmd::RAW_CALL);
    words[1] = 0x8400_006F;
    words[2] = forged;
    for (i, w) in words[3..].iter_mut().enumerate() {
        *w = 0x100 + i as u64;
    }
    let r = echo(&mut ffa, &mut sp, &req2(&words));
    // [OK, x0 .. x12 of the reply]: FFA_ERROR, x1 0, w2 = -2.
    assert_eq!(
        (r.get(0), r.get(1), r.get(2), r.get(3)),
        (0, 0x8400_0060, 0, 0xFFFF_FFFE)
    );
    let calls = &ffa.conduit().calls;
    assert_eq!(calls.len(), 1);
    assert_eq!((calls[0].fid(), calls[0].x(1)), (0x8400_006F, forged));
    // x2..x12 are the request's words 3..13 (a REQ2 carries 14 words), x13.. zero.
    for i in 2..13 {
        assert_eq!(calls[0].x(i), 0x100 + i as u64 - 2, "x{i}");
    }
    assert_eq!(calls[0].x(13), 0);
}

#[test]
fn dev_send_sends_the_device_page_with_the_given_attributes_and_keeps_it_live() {
    let mut bufs = Buffers::new();
    let mut sp = state(Ok(bufs.pair()));
    let mut ffa = Ffa::new(FakeSpmc::with_replies([
        success_reply(&[0x44, 0x1]),
        success_reply(&[0x45, 0]),
    ]));
    let r = echo(
        &mut ffa,
        &mut sp,
        &req64(&[
            u64::from(cmd::DEV_SEND),
            u64::from(id::ECHO),
            cmd::MEM_SEND_SHARE,
            0x14,
        ]),
    );
    assert_eq!([r.get(0), r.get(1), r.get(2)], [0, 0x44, 0x1]);
    let c = ffa.conduit().calls.clone();
    assert_eq!(c[0].fid(), 0x8400_0073); // FFA_MEM_SHARE_32
    let t = sent(&bufs.tx.0[..c[0].x(1) as usize]);
    assert_eq!(t.attributes.encode(), 0x14, "Device-nGnRE");
    assert_eq!(t.receiver(0).unwrap().perms, SHARE_RW);
    assert_eq!(
        t.constituents().collect::<Vec<_>>(),
        vec![Constituent {
            address: test_protocol::device::BASE,
            page_count: 1
        }]
    );
    // A lend with the type left unspecified; no borrower call, no reclaim either way.
    let r = echo(
        &mut ffa,
        &mut sp,
        &req64(&[
            u64::from(cmd::DEV_SEND),
            u64::from(id::ECHO),
            cmd::MEM_SEND_LEND,
            0,
        ]),
    );
    assert_eq!([r.get(0), r.get(1), r.get(2)], [0, 0x45, 0]);
    let c = &ffa.conduit().calls;
    assert_eq!(c.len(), 2);
    assert_eq!(c[1].fid(), 0x8400_0072); // FFA_MEM_LEND_32
    let t = sent(&bufs.tx.0[..c[1].x(1) as usize]);
    assert_eq!(t.attributes.encode(), 0);
}

#[test]
fn dev_send_refuses_bad_abis_and_attributes_without_calling() {
    let mut bufs = Buffers::new();
    let mut sp = state(Ok(bufs.pair()));
    let mut ffa = Ffa::new(FakeSpmc::with_replies([]));
    for words in [
        // Donate is not a DEV_SEND ABI; 0x3C is the reserved memory type 0b11.
        [u64::from(cmd::DEV_SEND), 1, cmd::MEM_SEND_DONATE, 0],
        [u64::from(cmd::DEV_SEND), 1, cmd::MEM_SEND_SHARE, 0x3C],
        [u64::from(cmd::DEV_SEND), 1, cmd::MEM_SEND_SHARE, 0x1_0014],
    ] {
        let r = echo(&mut ffa, &mut sp, &req64(&words));
        assert_eq!(r.get(0), 0xFFFF_FFFE, "{words:x?}");
    }
    assert!(ffa.conduit().calls.is_empty());
}

/// The retrieve response for `DEV_ACCESS`: one page at `addr` with attributes `attrs`.
fn device_response(rx: &mut [u8], addr: u64, attrs: u16) -> u64 {
    let receivers = [MemAccess::new(id::ECHO, AccessPerms::RW_NX)];
    let cons = [Constituent {
        address: addr,
        page_count: 1,
    }];
    let mut b = builder_for(sp_rt::Version::V1_2, id::FAULT, &receivers, &cons).unwrap();
    b.handle = MemHandle(0x5_0000_0007);
    b.attributes =
        ffa_abi::memory::MemAttributes::decode(attrs, ffa_abi::memory::Layout::V1_2).unwrap();
    b.write(rx).unwrap() as u64
}

#[test]
fn dev_access_asks_the_attributes_reads_eight_registers_and_relinquishes() {
    let mut dev = Box::new(Page([0; 4096]));
    // Registers whose upper bytes must be ignored by the packing.
    for (i, v) in [0x111u32, 0x10, 0x14, 0, 0x0D, 0xF0, 0x05, 0xB1]
        .iter()
        .enumerate()
    {
        dev.0[0xFE0 + 4 * i..0xFE4 + 4 * i].copy_from_slice(&v.to_le_bytes());
    }
    let addr = dev.0.as_ptr() as u64;
    let mut bufs = Buffers::new();
    let n = device_response(&mut bufs.rx.0, addr, 0x14);
    let resp = Regs::call(0x8400_0075, &[n, n]);
    let mut sp = state(Ok(bufs.pair()));
    let mut ffa = Ffa::new(FakeSpmc::with_replies([
        resp,
        success_reply(&[]),
        success_reply(&[]),
    ]));
    let rw_nx = u64::from(AccessPerms::RW_NX.encode());
    let r = echo(
        &mut ffa,
        &mut sp,
        &req2(&[
            u64::from(cmd::DEV_ACCESS),
            7,
            5,
            u64::from(id::FAULT),
            0x14,
            rw_nx,
            0xFE0,
        ]),
    );
    assert_eq!(
        [r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)],
        [0, test_protocol::device::PL011_ID, 0x14, rw_nx, 1]
    );
    // Retrieve (sp-rt's tests check it carries the attributes asked), RX release, relinquish.
    let fids: Vec<u32> = ffa.conduit().calls.iter().map(|c| c.fid()).collect();
    assert_eq!(fids, vec![0x8400_0074, 0x8400_0065, 0x8400_0076]);
}

#[test]
fn dev_access_outside_the_region_is_denied_bad_words_are_refused() {
    let dev = Box::new(Page([0; 4096]));
    let mut bufs = Buffers::new();
    let n = device_response(&mut bufs.rx.0, dev.0.as_ptr() as u64, 0x10);
    let resp = Regs::call(0x8400_0075, &[n, n]);
    let mut sp = state(Ok(bufs.pair()));
    let mut ffa = Ffa::new(FakeSpmc::with_replies([
        resp,
        success_reply(&[]),
        success_reply(&[]),
    ]));
    let rw_nx = u64::from(AccessPerms::RW_NX.encode());
    // The eighth register would be at 0x1000: past the page.
    let r = echo(
        &mut ffa,
        &mut sp,
        &req2(&[u64::from(cmd::DEV_ACCESS), 7, 5, 3, 0, rw_nx, 0xFE4]),
    );
    assert_eq!([r.get(0), r.get(2)], [0xFFFF_FFFA, 0x10]);
    assert_eq!(ffa.conduit().calls.len(), 3, "relinquished all the same");
    // A reserved attributes encoding or permissions byte: refused before any call.
    for (attrs, perms) in [(0x3C, rw_nx), (0x14, 0xFF)] {
        let r = echo(
            &mut ffa,
            &mut sp,
            &req2(&[u64::from(cmd::DEV_ACCESS), 7, 5, 3, attrs, perms, 0]),
        );
        assert_eq!(r.get(0), 0xFFFF_FFFE, "{attrs:#x} {perms:#x}");
    }
    assert_eq!(ffa.conduit().calls.len(), 3);
}

/// Cycles from FFA_RUN: the receiver asks its ID, gets all four bitmaps, and RUN_LOG reports
/// the count and what the GET returned (SP and VM bitmaps as 64-bit words, SPM | HYP << 32).
#[test]
fn a_run_reads_every_notification_bitmap_and_run_log_reports_it() {
    let mut ffa = Ffa::new(FakeSpmc::with_replies([
        success_reply(&[u64::from(id::ECHO)]),
        // w2/w3 SP bitmap, w4/w5 VM bitmap, w6 SPM, w7 hypervisor.
        success_reply(&[0x10, 0x1, 0x20, 0, 1, 0]),
    ]));
    // "RX buffer full" (SPM bitmap) among them, but nobody asked to keep RX: hand it back.
    assert_eq!(on_run(&mut ffa), RxOnWait::Release);
    let calls = &ffa.conduit().calls;
    assert_eq!(calls[0].fid(), FuncId::IdGet.raw());
    assert_eq!(calls[1].fid(), FuncId::NotificationGet.raw());
    assert_eq!(calls[1].x(1), u64::from(id::ECHO));
    assert_eq!(calls[1].x(2), 0b1111);
    let mut sp = state(Err(Error::Ffa(ErrorCode::NotSupported)));
    let r = echo(&mut ffa, &mut sp, &req64(&[cmd::RUN_LOG.into()]));
    assert_eq!(
        &r.0[..5],
        &[u64::from(status::OK), 1, 0x1_0000_0010, 0x20, 1]
    );

    // RUN_KEEP_RX (one test: the flags and the log are the SP's statics): a run that sees
    // "RX buffer full" (hypervisor bitmap) keeps RX; MSG_READ then reads the message although
    // its own GET finds the notification taken, and releases RX.
    let mut bufs = Buffers::new();
    let h = MessageHeader::new(EndpointId(0), id::ECHO, 8, sp_rt::Version::V1_2);
    let n = h.write(sp_rt::Version::V1_2, &mut bufs.rx.0).unwrap();
    bufs.rx.0[n..n + 8].copy_from_slice(&0x5EEDu64.to_le_bytes());
    let mut sp = state(Ok(bufs.pair()));
    let mut ffa = Ffa::new(FakeSpmc::with_replies([
        success_reply(&[u64::from(id::ECHO)]),
        success_reply(&[0, 0, 0, 0, 0, 1]),
        success_reply(&[0, 0, 0, 0, 0, 0]),
        success_reply(&[]),
    ]));
    let r = echo(&mut ffa, &mut sp, &req64(&[cmd::RUN_KEEP_RX.into(), 1]));
    assert_eq!(r.0[0], u64::from(status::OK));
    assert_eq!(on_run(&mut ffa), RxOnWait::Retain);
    let r = echo(&mut ffa, &mut sp, &req64(&[cmd::MSG_READ.into()]));
    let r0 = r.0;
    let r = echo(&mut ffa, &mut sp, &req64(&[cmd::RUN_KEEP_RX.into(), 0]));
    assert_eq!(r.0[0], u64::from(status::OK));
    assert_eq!(&r0[..5], &[u64::from(status::OK), 0, 0, 8, 0x5EED]);
    let c = &ffa.conduit().calls;
    assert_eq!(c[2].fid(), FuncId::NotificationGet.raw());
    assert_eq!(c[3].fid(), FuncId::RxRelease.raw());
    // Kept once: the next MSG_READ needs a new "RX buffer full" again.
    assert_eq!(c.len(), 4);
}

/// MSG_SEND_V1_0 puts the 8 bytes at the start of TX and calls FFA_MSG_SEND; MSG_POLL_V1_0
/// polls, reads the first 8 bytes of RX and releases it, or reports the poll's error.
#[test]
fn v1_0_send_and_poll_commands() {
    let mut bufs = Buffers::new();
    bufs.rx.0[..8].copy_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
    let mut sp = state(Ok(bufs.pair()));
    let mut ffa = Ffa::new(FakeSpmc::with_replies([
        success_reply(&[]),
        Regs::call(FuncId::MsgSend.raw(), &[0x0000_8001, 0, 8]),
        success_reply(&[]),
        error_reply(ErrorCode::Retry.to_i32()),
    ]));
    let r = echo(
        &mut ffa,
        &mut sp,
        &req64(&[cmd::MSG_SEND_V1_0.into(), 0x8004, 0xAB]),
    );
    assert_eq!(r.0[0], u64::from(status::OK));
    let r = echo(&mut ffa, &mut sp, &req64(&[cmd::MSG_POLL_V1_0.into()]));
    assert_eq!(
        &r.0[..4],
        &[u64::from(status::OK), 0, 8, 0x1122_3344_5566_7788]
    );
    let r = echo(&mut ffa, &mut sp, &req64(&[cmd::MSG_POLL_V1_0.into()]));
    assert_eq!(
        r.0[0],
        u64::from(status::ffa_error(ErrorCode::Retry.to_i32()))
    );
    let c = &ffa.conduit().calls;
    assert_eq!(
        (c[0].fid(), c[0].x(1), c[0].x(3)),
        (FuncId::MsgSend.raw(), u64::from(id::ECHO) << 16 | 0x8004, 8)
    );
    assert_eq!(c[1].fid(), FuncId::MsgPoll.raw());
    assert_eq!(c[2].fid(), FuncId::RxRelease.raw());
    assert_eq!(&bufs.tx.0[..8], &0xABu64.to_le_bytes());
}
