//! Indirect messaging (indirect.rs): FFA_MSG_SEND2 in every direction with the RX buffer
//! ownership rules, the framework notification and the SRI; every error the spec names, each
//! changing nothing; FFA_RX_ACQUIRE; the v1.0 FFA_MSG_SEND / FFA_MSG_POLL pair.

use super::fake::*;
use super::notify::{
    assert_sp_error, assert_sp_ok, bitmaps, calling_sp, leak_ids, lists, sgis, sp_call,
};
use crate::memory::PAGE_SIZE;
use crate::spmc::notify::SRI_INTID;
use alloc::boxed::Box;
use alloc::vec::Vec;
use ffa_abi::error::ErrorCode;
use ffa_abi::func_id::FuncId;
use ffa_abi::indirect::MessageHeader;
use ffa_abi::notification::NotificationBitmaps;
use ffa_abi::regs::Regs;
use ffa_abi::version::Version;
use spmc_table::{Capabilities, EndpointId, MessagingMethod, PhysAddr, RxTxBuffer};

fn rx(i: usize) -> u64 {
    base(i) + 0x6_0000
}
fn tx(i: usize) -> u64 {
    base(i) + 0x6_1000
}

/// An SP that receives (and sends) indirect messages, with manifest RX/TX buffers,
/// notifications, and an `indirect-messages` grant for `to` (+ the normal world if `nw`).
fn mailbox_sp(i: usize, to: &'static [EndpointId], nw: bool, calls: Vec<Regs>) -> SpDef {
    let mut d = sp(i);
    d.messaging |= MessagingMethod::INDIRECT;
    d.notifications = true;
    d.rx_tx = Some(RxTxBuffer {
        rx: PhysAddr(rx(i)),
        tx: PhysAddr(tx(i)),
        pages: 1,
    });
    d.patch = Some(Box::new(move |p| {
        p.capabilities = Capabilities {
            indirect_message_to: leak_ids(to),
            indirect_message_to_normal_world: nw,
            ..p.capabilities
        };
    }));
    calling_sp(d, calls)
}

fn send2(flags: u64) -> Regs {
    call(FuncId::MsgSend2, &[0, flags])
}

/// Writes a message (header at the start, payload at `offset`) into a TX buffer.
fn write_msg(
    w: &World,
    tx: u64,
    sender: EndpointId,
    receiver: EndpointId,
    offset: u32,
    payload: &[u8],
) {
    let mut h = MessageHeader::new(sender, receiver, payload.len() as u32, Version::V1_1);
    h.offset = offset;
    let mut b = [0u8; 20];
    h.write(Version::V1_1, &mut b).unwrap();
    assert!(w.env.mem.write(tx, &b));
    assert!(w.env.mem.write(tx + u64::from(offset), payload));
}

#[test]
fn normal_world_sends_to_an_sp() {
    let d = mailbox_sp(
        0,
        &[],
        false,
        alloc::vec![
            call(FuncId::NotificationGet, &[u64::from(SP0), 0b1111]),
            call(FuncId::RxRelease, &[]),
        ],
    );
    let mut w = World::boot(alloc::vec![d]);
    w.nw_version(Version::V1_1);
    let (ntx, _) = w.map_nw_mailbox(1);
    // Stale bytes in the receiver's buffer must not survive the message.
    assert!(w.env.mem.write(rx(0) + 100, &[0xEE; 16]));
    write_msg(&w, ntx, EndpointId(0), SP0, 20, b"hello SP");
    assert_success(&w.nw(send2(0)), 0);
    assert_eq!(sgis(&w), [SRI_INTID]);
    assert_eq!(w.env.mem.bytes(rx(0), 28), w.env.mem.bytes(ntx, 28));
    assert_eq!(
        w.env.mem.bytes(rx(0) + 28, 0x1000 - 28),
        alloc::vec![0; 0x1000 - 28]
    );
    // The receiver's buffer is full until it releases it.
    let before = w.snapshot();
    assert_error(&w.nw(send2(0)), ErrorCode::Busy);
    assert_eq!(w.snapshot(), before);
    let (l, _) = lists(&w.nw(call(FuncId::NotificationInfoGet64, &[])));
    assert_eq!(l, alloc::vec![(SP0, alloc::vec![])]);
    // "RX buffer full" from a VM is in the hypervisor's framework bitmap (Hafnium).
    assert_eq!(
        bitmaps(&sp_call(&mut w, SP0, 0)),
        NotificationBitmaps {
            hyp: 1,
            ..Default::default()
        }
    );
    assert_sp_ok(&sp_call(&mut w, SP0, 1));
    write_msg(&w, ntx, EndpointId(0), SP0, 20, b"again");
    assert_success(&w.nw(send2(0)), 0);
    assert_eq!(w.env.mem.bytes(rx(0) + 20, 5), b"again");
}

#[test]
fn msg_send2_refusals_change_nothing() {
    let d0 = mailbox_sp(0, &[], false, alloc::vec![]);
    // sp1 does not accept indirect messages.
    let d1 = sp(1);
    let mut w = World::boot(alloc::vec![d0, d1]);
    w.nw_version(Version::V1_1);
    // No TX buffer: DENIED.
    assert_error(&w.nw(send2(0)), ErrorCode::Denied);
    let (ntx, _) = w.map_nw_mailbox(1);
    let before = w.snapshot();
    let cases: [(EndpointId, EndpointId, u32, usize, u64, ErrorCode); 9] = [
        // forged sender in the header
        (EndpointId(5), SP0, 20, 8, 0, ErrorCode::InvalidParameters),
        // to the normal world itself
        (
            EndpointId(0),
            EndpointId(0),
            20,
            8,
            0,
            ErrorCode::InvalidParameters,
        ),
        // payload overlapping the v1.1 header
        (EndpointId(0), SP0, 19, 8, 0, ErrorCode::InvalidParameters),
        // larger than the buffers
        (
            EndpointId(0),
            SP0,
            20,
            0x1000,
            0,
            ErrorCode::InvalidParameters,
        ),
        // no such endpoint
        (
            EndpointId(0),
            EndpointId(0x8077),
            20,
            8,
            0,
            ErrorCode::InvalidParameters,
        ),
        // the SPMC is no receiver
        (
            EndpointId(0),
            SPMC_ID,
            20,
            8,
            0,
            ErrorCode::InvalidParameters,
        ),
        // a receiver whose messaging-method has no indirect messaging
        (EndpointId(0), SP1, 20, 8, 0, ErrorCode::Denied),
        // the normal world cannot delay the SRI
        (
            EndpointId(0),
            SP0,
            20,
            8,
            0b10,
            ErrorCode::InvalidParameters,
        ),
        // x1 names a VM whose TX buffer the SPMC does not know
        (EndpointId(0), SP0, 20, 8, 1 << 32, ErrorCode::Denied),
    ];
    for (sender, receiver, offset, len, extra, code) in cases {
        write_msg(
            &w,
            ntx,
            sender,
            receiver,
            offset,
            &alloc::vec![7; len.min(0xF00)],
        );
        if len == 0x1000 {
            assert!(w.env.mem.write(ntx + 16, &0x1000u32.to_le_bytes()));
        }
        let r = if extra >> 32 != 0 {
            call(FuncId::MsgSend2, &[1 << 16, 0])
        } else {
            send2(extra)
        };
        assert_error(&w.nw(r), code);
        assert_eq!(w.snapshot(), before, "{receiver:#x} {offset} {code:?}");
    }
    // An offset + size that overflows.
    write_msg(&w, ntx, EndpointId(0), SP0, 20, b"x");
    assert!(w.env.mem.write(ntx + 16, &u32::MAX.to_le_bytes()));
    assert_error(&w.nw(send2(0)), ErrorCode::InvalidParameters);
    // A v1.2 sender's header is 40 bytes.
    w.nw_version(Version::V1_2);
    write_msg(&w, ntx, EndpointId(0), SP0, 20, b"x");
    assert_error(&w.nw(send2(0)), ErrorCode::InvalidParameters);
    write_msg(&w, ntx, EndpointId(0), SP0, 40, b"x");
    assert_success(&w.nw(send2(0)), 0);
    assert_eq!(sgis(&w), [SRI_INTID]);
    assert_eq!(w.env.mem.bytes(rx(0) + 40, 1), b"x");
}

#[test]
fn sps_send_to_sps_and_to_the_normal_world() {
    let d0 = mailbox_sp(
        0,
        &[SP1],
        true,
        alloc::vec![
            call(FuncId::MsgSend2, &[0, 0]),
            call(FuncId::MsgSend2, &[0, 0b10])
        ],
    );
    let d1 = mailbox_sp(
        1,
        &[],
        false,
        alloc::vec![
            call(FuncId::MsgSend2, &[0, 0]),
            call(FuncId::NotificationGet, &[u64::from(SP1), 0b0100]),
            call(FuncId::RxRelease, &[]),
        ],
    );
    let mut w = World::boot(alloc::vec![d0, d1]);
    w.nw_version(Version::V1_1);
    let (_, nrx) = w.map_nw_mailbox(1);
    // sp0 (v1.2) -> sp1, granted.
    write_msg(&w, tx(0), SP0, SP1, 40, b"to sp1");
    assert_sp_ok(&sp_call(&mut w, SP0, 0));
    assert_eq!(w.env.mem.bytes(rx(1) + 40, 6), b"to sp1");
    assert_eq!(sgis(&w), [SRI_INTID]);
    assert_eq!(
        bitmaps(&sp_call(&mut w, SP1, 1)),
        NotificationBitmaps {
            spm: 1,
            ..Default::default()
        }
    );
    // sp1 -> sp0: no grant.
    write_msg(&w, tx(1), SP1, SP0, 40, b"no");
    assert_sp_error(&sp_call(&mut w, SP1, 0), ErrorCode::Denied);
    // sp0 -> the normal world, the SRI delayed until the request returns.
    assert_success(&w.nw(call(FuncId::NotificationBitmapCreate, &[0, 1])), 0);
    write_msg(&w, tx(0), SP0, EndpointId(0), 40, b"to nw");
    assert_sp_ok(&sp_call(&mut w, SP0, 1));
    assert_eq!(sgis(&w), [SRI_INTID, SRI_INTID]);
    assert_eq!(w.env.mem.bytes(nrx + 40, 5), b"to nw");
    assert_eq!(
        bitmaps(&w.nw(call(FuncId::NotificationGet, &[0, 0b0101]))),
        NotificationBitmaps {
            spm: 1,
            ..Default::default()
        }
    );
    // The normal world's buffer is full until it releases it; then it may acquire it, and
    // nothing is delivered while it holds it.
    assert_sp_error(&sp_call(&mut w, SP0, 0), ErrorCode::Busy);
    write_msg(&w, tx(0), SP0, EndpointId(0), 40, b"busy");
    assert_sp_error(&sp_call(&mut w, SP0, 1), ErrorCode::Busy);
    assert_success(&w.nw(call(FuncId::RxRelease, &[])), 0);
    assert_success(&w.nw(call(FuncId::RxAcquire, &[0])), 0);
    assert_error(&w.nw(call(FuncId::RxAcquire, &[0])), ErrorCode::Denied);
    assert_sp_error(&sp_call(&mut w, SP0, 1), ErrorCode::Busy);
    assert_success(&w.nw(call(FuncId::RxRelease, &[])), 0);
    assert_sp_ok(&sp_call(&mut w, SP0, 1));
}

#[test]
fn rx_acquire_refusals() {
    let mut w = World::echoes(1);
    w.nw_version(Version::V1_1);
    assert_error(
        &w.nw(call(FuncId::RxAcquire, &[0])),
        ErrorCode::InvalidParameters,
    );
    w.map_nw_mailbox(1);
    assert_error(
        &w.nw(call(FuncId::RxAcquire, &[3])),
        ErrorCode::InvalidParameters,
    );
    assert_error(
        &w.nw(call(FuncId::RxAcquire, &[u64::from(SP0)])),
        ErrorCode::NotSupported,
    );
    assert_success(&w.nw(call(FuncId::RxAcquire, &[0])), 0);
    // Acquired: the SPMC writes nothing there (PARTITION_INFO_GET is BUSY).
    assert_error(
        &w.nw(call(FuncId::PartitionInfoGet, &[0, 0, 0, 0, 0])),
        ErrorCode::Busy,
    );
    assert_success(&w.nw(call(FuncId::RxRelease, &[])), 0);
}

#[test]
fn v1_0_msg_send_and_poll() {
    let mut d = mailbox_sp(
        0,
        &[],
        false,
        alloc::vec![
            call(FuncId::MsgPoll, &[]),
            call(FuncId::MsgPoll, &[]),
            call(FuncId::RxRelease, &[]),
            call(FuncId::MsgPoll, &[]),
        ],
    );
    d.version = Version::V1_0;
    d.messaging = MessagingMethod::DIRECT_REQ_RECV | MessagingMethod::INDIRECT;
    let d1 = mailbox_sp(1, &[], false, alloc::vec![call(FuncId::MsgPoll, &[])]);
    let mut w = World::boot(alloc::vec![d, d1]);
    w.nw_version(Version::V1_1);
    let (ntx, _) = w.map_nw_mailbox(1);
    assert!(w.env.mem.write(ntx, b"v1.0 message"));
    let send =
        |dst: EndpointId, size: u64| call(FuncId::MsgSend, &[pair(EndpointId(0), dst), 0, size, 0]);
    // Gone in v1.1: NOT_SUPPORTED, and FFA_FEATURES says so.
    assert_error(&w.nw(send(SP0, 12)), ErrorCode::NotSupported);
    assert_error(
        &w.nw(call(FuncId::Features, &[FuncId::MsgSend.raw().into()])),
        ErrorCode::NotSupported,
    );
    w.nw_version(Version::V1_0);
    assert_success(
        &w.nw(call(FuncId::Features, &[FuncId::MsgSend.raw().into()])),
        0,
    );
    let before = w.snapshot();
    assert_error(&w.nw(send(SP0, 0)), ErrorCode::InvalidParameters);
    assert_error(
        &w.nw(send(SP0, PAGE_SIZE + 1)),
        ErrorCode::InvalidParameters,
    );
    assert_error(
        &w.nw(send(EndpointId(0x8007), 12)),
        ErrorCode::InvalidParameters,
    );
    assert_error(
        &w.nw(call(FuncId::MsgSend, &[pair(EndpointId(3), SP0), 0, 12, 0])),
        ErrorCode::InvalidParameters,
    );
    assert_error(
        &w.nw(call(FuncId::MsgSend, &[pair(EndpointId(0), SP0), 0, 12, 2])),
        ErrorCode::InvalidParameters,
    );
    assert_eq!(w.snapshot(), before);
    assert_success(&w.nw(send(SP0, 12)), 0);
    assert_eq!(w.env.mem.bytes(rx(0), 12), b"v1.0 message");
    assert_error(&w.nw(send(SP0, 12)), ErrorCode::Busy);
    // The v1.0 SP polls it: FFA_MSG_SEND with sender/receiver and size; then RETRY.
    let p = sp_call(&mut w, SP0, 0);
    assert_eq!(
        (p.w(0), p.w(1), p.w(2), p.w(3)),
        (FuncId::MsgSend.raw(), u32::from(SP0), 0, 12),
        "{p:x?}"
    );
    assert_sp_error(&sp_call(&mut w, SP0, 1), ErrorCode::Retry);
    // A message released without a poll is not reported by a later poll.
    assert_sp_ok(&sp_call(&mut w, SP0, 2));
    assert_success(
        &w.nw(call(FuncId::MsgSend, &[pair(EndpointId(0), SP0), 0, 4, 0])),
        0,
    );
    assert_sp_ok(&sp_call(&mut w, SP0, 2));
    assert_sp_error(&sp_call(&mut w, SP0, 3), ErrorCode::Retry);
    // A v1.2 SP has no FFA_MSG_POLL.
    assert_sp_error(&sp_call(&mut w, SP1, 0), ErrorCode::NotSupported);
}

/// A request whose x3 is this makes [`faulting`] partitions take a data abort.
const FAULT_ON: u64 = 0xF0;

/// `inner`, except that a direct request with x3 = [`FAULT_ON`] makes it fault.
fn faulting(mut inner: Behaviour) -> Behaviour {
    let mut fault = data_abort(0x10);
    Box::new(move |r, m| {
        if r.w(0) == FuncId::MsgSendDirectReq64.raw() && r.x(3) == FAULT_ON {
            return fault(r, m);
        }
        inner(r, m)
    })
}

/// An SP with a mailbox, notifications, and grants to notify and message `to` and the normal
/// world.
fn granted_sp(i: usize, to: &'static [EndpointId], calls: Vec<Regs>) -> SpDef {
    let mut d = mailbox_sp(i, to, true, calls);
    d.patch = Some(Box::new(move |p| {
        p.capabilities = Capabilities {
            indirect_message_to: leak_ids(to),
            indirect_message_to_normal_world: true,
            notify: leak_ids(to),
            notify_normal_world: true,
            ..p.capabilities
        };
    }));
    d
}

/// An aborted SP's notification state and pending messages are dropped (`drop_aborted`):
/// INFO_GET no longer lists it while it still lists the others; SET, BIND (of it as a sender),
/// FFA_MSG_SEND2 and v1.0 FFA_MSG_SEND towards it get ABORTED, from the normal world and from
/// another SP, and change nothing; the normal world may still unbind it.
#[test]
fn an_aborted_sp_loses_its_notifications_and_messages() {
    const BIT: u64 = 1 << 3;
    let mut d0 = granted_sp(0, &[SP1], alloc::vec![bind_nw(SP0)]);
    d0.behaviour = faulting(d0.behaviour);
    let d1 = granted_sp(
        1,
        &[SP0],
        alloc::vec![
            bind_nw(SP1),
            call(FuncId::NotificationSet, &[pair(SP1, SP0), 0, BIT, 0]),
            call(FuncId::MsgSend2, &[0, 0]),
        ],
    );
    let mut w = World::boot(alloc::vec![d0, d1]);
    w.nw_version(Version::V1_1);
    let (ntx, _) = w.map_nw_mailbox(1);
    let set = |to: EndpointId| {
        call(
            FuncId::NotificationSet,
            &[pair(EndpointId(0), to), 0, BIT, 0],
        )
    };
    let bind_sp0 = |bit: u64| {
        call(
            FuncId::NotificationBind,
            &[pair(SP0, EndpointId(0)), 0, bit, 0],
        )
    };
    // Pending for sp0: a notification from the NW, "RX buffer full" and the message; sp1 also
    // has a notification pending. INFO_GET is not asked before the abort.
    assert_sp_ok(&sp_call(&mut w, SP0, 0));
    assert_sp_ok(&sp_call(&mut w, SP1, 0));
    assert_success(&w.nw(call(FuncId::NotificationBitmapCreate, &[0, 1])), 0);
    assert_success(&w.nw(bind_sp0(BIT)), 0);
    assert_success(&w.nw(set(SP0)), 0);
    assert_success(&w.nw(set(SP1)), 0);
    write_msg(&w, ntx, EndpointId(0), SP0, 20, b"dropped");
    assert_success(&w.nw(send2(0)), 0);
    assert!(w.spmc.notify.with_sp(0, |r| r.any_pending()).unwrap());
    // sp0 faults.
    assert_error(
        &w.nw(req64(EndpointId(0), SP0, [FAULT_ON, 0, 0, 0, 0])),
        ErrorCode::Aborted,
    );
    assert_eq!(w.state(0), crate::spmc::partition::State::Aborted);
    assert!(w
        .spmc
        .notify
        .with_sp(0, |r| r.aborted() && !r.any_pending())
        .unwrap());
    assert!(!w.sp_mailbox(0).unwrap().rx_full);
    let (l, _) = lists(&w.nw(call(FuncId::NotificationInfoGet64, &[])));
    assert_eq!(l, alloc::vec![(SP1, alloc::vec![])]);
    // Towards sp0: ABORTED, nothing changes.
    let before = w.snapshot();
    let sgis_before = sgis(&w).len();
    assert_error(&w.nw(set(SP0)), ErrorCode::Aborted);
    assert_error(&w.nw(bind_sp0(BIT << 1)), ErrorCode::Aborted);
    write_msg(&w, ntx, EndpointId(0), SP0, 20, b"refused");
    assert_error(&w.nw(send2(0)), ErrorCode::Aborted);
    write_msg(&w, tx(1), SP1, SP0, 40, b"refused");
    assert_sp_error(&sp_call(&mut w, SP1, 1), ErrorCode::Aborted);
    assert_sp_error(&sp_call(&mut w, SP1, 2), ErrorCode::Aborted);
    w.nw_version(Version::V1_0);
    assert_error(
        &w.nw(call(FuncId::MsgSend, &[pair(EndpointId(0), SP0), 0, 8, 0])),
        ErrorCode::Aborted,
    );
    w.nw_version(Version::V1_1);
    assert_eq!(w.snapshot(), before);
    assert_eq!(sgis(&w).len(), sgis_before, "no SRI for a refused call");
    assert_error(
        &w.nw(call(FuncId::NotificationInfoGet64, &[])),
        ErrorCode::NoData,
    );
    // The normal world may still unbind it, and destroy its bitmap.
    assert_success(
        &w.nw(call(
            FuncId::NotificationUnbind,
            &[pair(SP0, EndpointId(0)), 0, BIT, 0],
        )),
        0,
    );
    assert_success(&w.nw(call(FuncId::NotificationBitmapDestroy, &[0])), 0);
}

/// The call that makes SP `me` bind the normal world's notification bit 3 (global).
fn bind_nw(me: EndpointId) -> Regs {
    call(
        FuncId::NotificationBind,
        &[pair(EndpointId(0), me), 0, 1 << 3, 0],
    )
}

/// `indirect::reopen`, the counterpart a restart of an aborted SP calls: its notification
/// receiver is open again and empty (a SET is refused for want of a binding, no longer as
/// ABORTED), and INFO_GET still has nothing for it.
#[test]
fn a_reopened_sp_receives_notifications_again() {
    const BIT: u64 = 1 << 3;
    let mut d0 = granted_sp(0, &[], alloc::vec![bind_nw(SP0)]);
    d0.behaviour = faulting(d0.behaviour);
    let mut w = World::boot(alloc::vec![d0]);
    w.nw_version(Version::V1_1);
    let set = call(
        FuncId::NotificationSet,
        &[pair(EndpointId(0), SP0), 0, BIT, 0],
    );
    assert_sp_ok(&sp_call(&mut w, SP0, 0));
    assert_error(
        &w.nw(req64(EndpointId(0), SP0, [FAULT_ON, 0, 0, 0, 0])),
        ErrorCode::Aborted,
    );
    assert_error(&w.nw(set), ErrorCode::Aborted);
    crate::spmc::indirect::reopen(&w.spmc, &w.spmc.sps[0]);
    assert!(!w.spmc.notify.sp_aborted(0));
    assert_error(&w.nw(set), ErrorCode::Denied);
    assert_error(
        &w.nw(call(FuncId::NotificationInfoGet64, &[])),
        ErrorCode::NoData,
    );
}

/// A partition with a message from the normal world (as indirect_msg's NW -> SP case) whose
/// runs end with `waits` (one FFA_MSG_WAIT per FFA_RUN, after the one that ends its boot).
fn run_sp_with_message(version: Version, waits: Vec<Regs>) -> (World, u64) {
    let mut d = mailbox_sp(0, &[], false, Vec::new());
    d.version = version;
    let mut steps: Vec<Step> = alloc::vec![svc(msg_wait())];
    steps.extend(waits.into_iter().map(svc));
    d.behaviour = script(steps);
    let mut w = World::boot(alloc::vec![d]);
    w.nw_version(Version::V1_1);
    let (ntx, _) = w.map_nw_mailbox(1);
    write_msg(&w, ntx, EndpointId(0), SP0, 20, b"first");
    assert_success(&w.nw(send2(0)), 0);
    (w, ntx)
}

fn run_sp0() -> Regs {
    call(FuncId::Run32, &[0x8001_0000])
}

/// FF-A v1.2 FFA_MSG_WAIT w2 bit 0 ("retain RX buffer ownership"): a partition the normal
/// world gives cycles (FFA_RUN) after an indirect message keeps its RX buffer, and the message
/// in it, when its FFA_MSG_WAIT sets the flag: another message is BUSY and the first is still
/// there. Without the flag the FFA_MSG_WAIT hands the buffer back (Hafnium's
/// `api_ffa_msg_wait`): the next message is accepted over the first.
#[test]
fn a_run_partition_keeps_its_message_only_when_its_msg_wait_retains_rx() {
    let retain = call(FuncId::MsgWait32, &[0, 1]);
    let (mut w, ntx) = run_sp_with_message(Version::V1_2, alloc::vec![retain, msg_wait()]);
    assert_eq!(w.nw(run_sp0()), msg_wait());
    assert_eq!(w.seen(0).len(), 2, "entered with FFA_RUN once");
    write_msg(&w, ntx, EndpointId(0), SP0, 20, b"second");
    let before = w.snapshot();
    assert_error(&w.nw(send2(0)), ErrorCode::Busy);
    assert_eq!(w.snapshot(), before);
    assert_eq!(w.env.mem.bytes(rx(0) + 20, 5), b"first".to_vec());
    assert!(w.sp_mailbox(0).unwrap().rx_full);
    // The next run waits without the flag: the buffer goes back, the new message comes in.
    assert_eq!(w.nw(run_sp0()), msg_wait());
    assert!(!w.sp_mailbox(0).unwrap().rx_full);
    assert_success(&w.nw(send2(0)), 0);
    assert_eq!(w.env.mem.bytes(rx(0) + 20, 6), b"second".to_vec());
}

/// Below v1.2 FFA_MSG_WAIT has no flags (the retain flag is FF-A v1.2's; Hafnium's
/// `api_ffa_msg_wait` refuses w2 != 0 from an older caller, the ACS sets it only from v1.2):
/// a v1.1 partition's FFA_MSG_WAIT with w2 bit 0 is INVALID_PARAMETERS, it keeps running and
/// its RX buffer (a refused call changes nothing: its FFA_RX_RELEASE then succeeds), and a
/// plain FFA_MSG_WAIT ends the run.
#[test]
fn the_retain_flag_is_invalid_parameters_below_v1_2() {
    let retain = call(FuncId::MsgWait32, &[0, 1]);
    let release = call(FuncId::RxRelease, &[]);
    let (mut w, ntx) = run_sp_with_message(Version::V1_1, alloc::vec![retain, release, msg_wait()]);
    assert_eq!(w.nw(run_sp0()), msg_wait());
    let seen = w.seen(0);
    assert_eq!(seen.len(), 4, "{seen:x?}");
    assert_error(&seen[2], ErrorCode::InvalidParameters);
    assert_success(&seen[3], 0);
    assert!(!w.sp_mailbox(0).unwrap().rx_full);
    write_msg(&w, ntx, EndpointId(0), SP0, 20, b"second");
    assert_success(&w.nw(send2(0)), 0);
}

/// The normal world is several cores: one of them can rewrite its TX buffer while another's
/// FFA_MSG_SEND2 is in the SPMC. Here that other core rewrites the header's sender (to SP1, a
/// sender SP0 may trust) and its size (to the whole buffer) right after the SPMC read the
/// header. The SPMC reads the header once, checks that copy and writes it into the receiver's
/// RX buffer, copying only the bytes after it from the TX buffer: SP0 gets the sender and size
/// that were checked, and nothing past the message.
#[test]
fn msg_send2_delivers_the_header_it_checked_not_a_rewritten_one() {
    let d0 = mailbox_sp(0, &[], false, alloc::vec![]);
    let d1 = mailbox_sp(1, &[], false, alloc::vec![]);
    let mut w = World::boot(alloc::vec![d0, d1]);
    w.nw_version(Version::V1_1);
    let (ntx, _) = w.map_nw_mailbox(1);
    write_msg(&w, ntx, EndpointId(0), SP0, 20, b"payload!");
    assert!(w.env.mem.write(ntx + 28, &[0x5A; 64]));
    let reads = alloc::rc::Rc::new(core::cell::Cell::new(0));
    let seen = reads.clone();
    *w.env.after_read.borrow_mut() = Some(Box::new(move |mem: &Memory, pa, len| {
        if pa == ntx && len >= 20 {
            seen.set(seen.get() + 1);
            let ids = (u32::from(SP1) << 16) | u32::from(SP0);
            assert!(mem.write(ntx + 12, &ids.to_le_bytes()));
            assert!(mem.write(ntx + 16, &0x1000u32.to_le_bytes()));
        }
    }));
    let r = w.nw(send2(0));
    *w.env.after_read.borrow_mut() = None;
    assert_success(&r, 0);
    assert_eq!(reads.get(), 1, "the header was read once");
    let got = MessageHeader::parse(&w.env.mem.bytes(rx(0), 20)).unwrap();
    assert_eq!(
        (got.sender, got.receiver, got.offset, got.size),
        (EndpointId(0), SP0, 20, 8)
    );
    assert_eq!(w.env.mem.bytes(rx(0) + 20, 8), b"payload!");
    assert_eq!(w.env.mem.bytes(rx(0) + 28, 64), [0; 64]);
}

/// A v1.0 partition has no FFA_NOTIFICATION_GET and no partition message header (its indirect
/// messages are FFA_MSG_SEND ones, read with FFA_MSG_POLL): FFA_MSG_SEND2 to it could never be
/// seen and would keep its RX buffer full. Hafnium refuses a receiver below v1.1 with DENIED
/// (src/ffa/spmc/indirect_messaging.c `ffa_indirect_msg_is_supported`); nothing changes.
#[test]
fn msg_send2_to_a_v1_0_sp_is_denied() {
    let mut d0 = mailbox_sp(0, &[], false, alloc::vec![call(FuncId::MsgPoll, &[])]);
    d0.version = Version::V1_0;
    d0.messaging = MessagingMethod::DIRECT_REQ_RECV | MessagingMethod::INDIRECT;
    let mut w = World::boot(alloc::vec![d0]);
    w.nw_version(Version::V1_1);
    let (ntx, _) = w.map_nw_mailbox(1);
    write_msg(&w, ntx, EndpointId(0), SP0, 20, b"v1.1 msg");
    let before = w.snapshot();
    let rx_before = w.env.mem.bytes(rx(0), 64);
    assert_error(&w.nw(send2(0)), ErrorCode::Denied);
    assert_eq!(w.snapshot(), before);
    assert_eq!(w.env.mem.bytes(rx(0), 64), rx_before);
    assert!(sgis(&w).is_empty());
    assert_sp_error(&sp_call(&mut w, SP0, 0), ErrorCode::Retry);
}

/// The same with the normal world as the receiver (Hafnium compares the other world's
/// negotiated version): a normal world that went back to v1.0 has no partition message header
/// and no FFA_NOTIFICATION_GET; an SP's FFA_MSG_SEND2 to it is DENIED even though its bitmap
/// from v1.1 still exists, and its RX buffer is untouched.
#[test]
fn msg_send2_from_an_sp_to_a_v1_0_normal_world_is_denied() {
    let d0 = mailbox_sp(0, &[], true, alloc::vec![send2(0)]);
    let mut w = World::boot(alloc::vec![d0]);
    w.nw_version(Version::V1_1);
    assert_success(&w.nw(call(FuncId::NotificationBitmapCreate, &[0, 1])), 0);
    w.nw_version(Version::V1_0);
    let (_, nrx) = w.map_nw_mailbox(1);
    write_msg(&w, tx(0), SP0, EndpointId(0), 40, b"to a v1.0 nw");
    let before = w.snapshot();
    let rx_before = w.env.mem.bytes(nrx, 64);
    assert_sp_error(&sp_call(&mut w, SP0, 0), ErrorCode::Denied);
    assert_eq!(w.snapshot(), before);
    assert_eq!(w.env.mem.bytes(nrx, 64), rx_before);
    assert!(sgis(&w).is_empty());
}

/// The converse: a v1.0 caller's FFA_MSG_SEND into a partition at v1.1 or later, which has no
/// FFA_MSG_POLL (NOT_SUPPORTED to it) and gets no notification for it, would leave header-less
/// bytes in its RX buffer and keep it full without anything telling it why. Hafnium's SPMC has
/// no FFA_MSG_SEND; refused like a receiver that takes no indirect messages (DENIED, the answer
/// `policy::may_send_indirect` gives), nothing changed (docs/abi-status.md).
#[test]
fn v1_0_msg_send_to_a_v1_1_or_later_sp_is_denied() {
    let d0 = mailbox_sp(0, &[], false, alloc::vec![]);
    let mut d1 = mailbox_sp(1, &[], false, alloc::vec![]);
    d1.version = Version::V1_1;
    let mut w = World::boot(alloc::vec![d0, d1]);
    w.nw_version(Version::V1_0);
    let (ntx, _) = w.map_nw_mailbox(1);
    assert!(w.env.mem.write(ntx, b"v1.0 message"));
    let before = w.snapshot();
    let rx_before = [w.env.mem.bytes(rx(0), 64), w.env.mem.bytes(rx(1), 64)];
    for to in [SP0, SP1] {
        assert_error(
            &w.nw(call(FuncId::MsgSend, &[pair(EndpointId(0), to), 0, 12, 0])),
            ErrorCode::Denied,
        );
    }
    assert_eq!(w.snapshot(), before);
    assert_eq!(
        [w.env.mem.bytes(rx(0), 64), w.env.mem.bytes(rx(1), 64)],
        rx_before
    );
}

/// A v1.0 message released without FFA_MSG_POLL (FFA_RX_RELEASE, or FFA_MSG_WAIT's release)
/// is gone: when the RX buffer is full again for another reason (here the partition's own
/// FFA_PARTITION_INFO_GET), FFA_MSG_POLL answers RETRY, not the old sender and size over the
/// partition descriptors now in the buffer.
#[test]
fn a_released_v1_0_message_is_not_polled_back_over_other_rx_contents() {
    let mut d0 = mailbox_sp(
        0,
        &[],
        false,
        alloc::vec![
            call(FuncId::RxRelease, &[]),
            call(FuncId::PartitionInfoGet, &[0, 0, 0, 0, 0]),
            call(FuncId::MsgPoll, &[]),
        ],
    );
    d0.version = Version::V1_0;
    d0.messaging = MessagingMethod::DIRECT_REQ_RECV | MessagingMethod::INDIRECT;
    let mut w = World::boot(alloc::vec![d0]);
    w.nw_version(Version::V1_0);
    let (ntx, _) = w.map_nw_mailbox(1);
    assert!(w.env.mem.write(ntx, b"v1.0 message"));
    assert_success(
        &w.nw(call(FuncId::MsgSend, &[pair(EndpointId(0), SP0), 0, 12, 0])),
        0,
    );
    assert!(w.sp_mailbox(0).unwrap().v1_0.is_some());
    assert_sp_ok(&sp_call(&mut w, SP0, 0));
    assert_eq!(w.sp_mailbox(0).unwrap().v1_0, None);
    let info = sp_call(&mut w, SP0, 1);
    assert_eq!(info.w(0), FuncId::Success32.raw(), "{info:x?}");
    assert_sp_error(&sp_call(&mut w, SP0, 2), ErrorCode::Retry);
}

/// FFA_RX_RELEASE's w1 names the VM whose buffer a hypervisor releases; a partition must leave
/// it zero. Hafnium (`api_ffa_rx_release`: "`receiver_id` can be set only at Non-Secure
/// Physical interface") answers INVALID_PARAMETERS to an SP naming any ID, its own included,
/// and the message stays in its RX buffer.
#[test]
fn rx_release_from_an_sp_naming_itself_is_invalid_parameters() {
    let d0 = mailbox_sp(
        0,
        &[],
        false,
        alloc::vec![call(FuncId::RxRelease, &[u64::from(SP0)])],
    );
    let mut w = World::boot(alloc::vec![d0]);
    w.nw_version(Version::V1_1);
    let (ntx, _) = w.map_nw_mailbox(1);
    write_msg(&w, ntx, EndpointId(0), SP0, 20, b"hello");
    assert_success(&w.nw(send2(0)), 0);
    assert_sp_error(&sp_call(&mut w, SP0, 0), ErrorCode::InvalidParameters);
    assert!(w.sp_mailbox(0).unwrap().rx_full);
}

/// The normal world learns of an indirect message only through "RX buffer full" in VM 0's
/// notification bitmap: without a bitmap, an SP's FFA_MSG_SEND2 to it is DENIED (it could
/// never be told, and its RX buffer would stay full; docs/abi-status.md says why this differs
/// from Hafnium, which pends it in state it always keeps for VM 0 and raises the SRI). With
/// the bitmap the same message is delivered.
#[test]
fn msg_send2_to_a_normal_world_without_a_bitmap_is_denied() {
    let d0 = mailbox_sp(0, &[], true, alloc::vec![send2(0)]);
    let mut w = World::boot(alloc::vec![d0]);
    w.nw_version(Version::V1_2);
    let (_, nrx) = w.map_nw_mailbox(1);
    write_msg(&w, tx(0), SP0, EndpointId(0), 40, b"to the nw");
    let before = w.snapshot();
    let rx_before = w.env.mem.bytes(nrx, 64);
    assert_sp_error(&sp_call(&mut w, SP0, 0), ErrorCode::Denied);
    assert_eq!(w.snapshot(), before);
    assert_eq!(w.env.mem.bytes(nrx, 64), rx_before);
    assert!(sgis(&w).is_empty());
    assert_success(&w.nw(call(FuncId::NotificationBitmapCreate, &[0, 1])), 0);
    assert_sp_ok(&sp_call(&mut w, SP0, 0));
    assert_eq!(w.env.mem.bytes(nrx + 40, 9), b"to the nw");
    assert_eq!(sgis(&w), [SRI_INTID]);
}

/// FF-A's BUSY for FFA_MSG_SEND2 is about the receiver's RX buffer only (Hafnium's
/// `api_ffa_msg_send2`: `vm_is_mailbox_busy`, the mailbox state and mapping, under the VM's
/// lock, not the vCPU's). A receiver whose RX buffer is free gets the message while it waits
/// up the sender's own call chain: SP1 sends SP0 a direct request, and SP0, handling it, sends
/// SP1 an indirect message (SP1's runtime is locked further up this core's chain; its
/// mailbox has a lock of its own).
#[test]
fn msg_send2_to_a_receiver_waiting_on_the_sender_is_delivered() {
    let d0 = mailbox_sp(0, &[SP1], false, alloc::vec![send2(0)]);
    let mut d1 = mailbox_sp(1, &[], false, alloc::vec![req64(SP1, SP0, [0, 0, 0, 0, 0])]);
    d1.direct_to = alloc::vec![SP0];
    let mut w = World::boot(alloc::vec![d0, d1]);
    w.nw_version(Version::V1_1);
    write_msg(&w, tx(0), SP0, SP1, 40, b"to sp1");
    // SP1's call result is SP0's DIRECT_RESP_64; its w3/w4 are w0/w2 of SP0's MSG_SEND2
    // (calling_sp packs them there).
    let r = sp_call(&mut w, SP1, 0);
    assert_eq!(r.w(0), FuncId::MsgSendDirectResp64.raw(), "{r:x?}");
    assert_eq!(
        (r.w(3), r.w(4)),
        (FuncId::Success32.raw(), 0),
        "SP0's FFA_MSG_SEND2 to SP1 (RX empty): w2 = {:#x}",
        r.w(4)
    );
    assert!(w.sp_mailbox(1).unwrap().rx_full);
    assert_eq!(w.env.mem.bytes(rx(1) + 40, 6), b"to sp1");
    // Its RX buffer full, the next one is BUSY: BUSY means that, and only that.
    let r = sp_call(&mut w, SP1, 0);
    assert_eq!(
        (r.w(3), r.w(4)),
        (FuncId::Error32.raw(), ErrorCode::Busy.to_i32() as u32)
    );
}

/// The same for a receiver running on another core, modelled by holding its runtime lock (as
/// that core's dispatcher does for the whole run) while the normal world sends: delivered,
/// with "RX buffer full" and the SRI; the runtime is untouched.
#[test]
fn msg_send2_to_a_receiver_running_elsewhere_is_delivered() {
    let d0 = mailbox_sp(0, &[], false, alloc::vec![]);
    let mut w = World::boot(alloc::vec![d0]);
    w.nw_version(Version::V1_2);
    let (ntx, _) = w.map_nw_mailbox(1);
    write_msg(&w, ntx, EndpointId(0), SP0, 40, b"while running");
    let running = w.spmc.sps[0].rt.lock();
    let r = w.spmc.handle_nw_call(&mut w.env, &send2(0));
    drop(running);
    assert_success(&r, 0);
    assert!(w.sp_mailbox(0).unwrap().rx_full);
    assert_eq!(w.env.mem.bytes(rx(0) + 40, 13), b"while running");
    assert_eq!(sgis(&w), [SRI_INTID]);
}
