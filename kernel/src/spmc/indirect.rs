//! Indirect messaging (FF-A v1.2 chapter 16 and "FFA_MSG_SEND2"): a message written in the
//! sender's TX buffer is copied into the receiver's RX buffer, which then belongs to the
//! receiver until it calls FFA_RX_RELEASE, and the receiver is told with the framework
//! notification "RX buffer full" and the schedule-receiver interrupt. Also the v1.0 pair
//! FFA_MSG_SEND / FFA_MSG_POLL for v1.0 callers (removed from v1.1), and FFA_RX_ACQUIRE.
//!
//! Rules (errors as the spec names them; Hafnium's `api_ffa_msg_send2` where FF-A leaves a
//! choice):
//! - The header's sender must be the caller (INVALID_PARAMETERS); sender and receiver differ;
//!   the normal world sends only to SPs (an SP may send to SPs and to the normal world).
//! - Both ends must declare indirect messaging (manifest `messaging-method` bit 2; the normal
//!   world always does) and an SP sender needs the `indirect-messages` grant for the
//!   receiver: DENIED otherwise (`policy::may_send_indirect`).
//! - Indirect messages do not cross the v1.0 / v1.1 boundary: FFA_MSG_SEND2 to a receiver
//!   below v1.1 (an SP, or the normal world, by negotiated version) and v1.0 FFA_MSG_SEND to
//!   an SP at v1.1 or later are DENIED (Hafnium's `ffa_indirect_msg_is_supported` for the
//!   first): such a receiver could never learn of the message. An SP's message to the normal
//!   world needs VM 0's notification bitmap (DENIED otherwise; docs/abi-status.md).
//! - A caller without a TX buffer: DENIED. A receiver without an RX buffer, or whose RX buffer
//!   is still full (or acquired): BUSY, and only then (as Hafnium's `vm_is_mailbox_busy`). A
//!   receiver running on another core or waiting up this core's call chain gets the message:
//!   its mailbox has a lock of its own (`partition::SpMailbox`), taken after the sender's
//!   runtime lock and never together with another mailbox lock (the sender's pair is copied
//!   out first).
//! - The payload offset must not overlap the header (20 bytes for a v1.1 sender, 40 for v1.2),
//!   offset + size must not overflow and must fit both buffers: INVALID_PARAMETERS.
//! - Only a secure sender may ask to delay the schedule-receiver interrupt.
//! - A receiver that was aborted: ABORTED (after the header checks, before the gate), as for a
//!   direct request to it. Its pending messages and notifications were dropped when it was
//!   aborted ([`drop_aborted`]).
//!
//! - The header is read from the sender's TX buffer once; the receiver gets that checked copy
//!   and only the bytes after it come from the TX buffer (which the normal world's other cores
//!   may rewrite during the call), so the sender, receiver, offset and size the receiver reads
//!   are the ones the SPMC validated.
//!
//! Nothing is allocated: the copy goes through a buffer on the stack.

#![forbid(unsafe_code)]

use super::call::{Caller, Cx, Flow};
use super::notify::RX_BUFFER_FULL;
use super::partition::{Runtime, Sp};
use super::{Env, Mailbox, Spmc};
use crate::memory::PAGE_SIZE;
use crate::policy;
use ffa_abi::endpoint::{EndpointId, EndpointPair};
use ffa_abi::error::ErrorCode;
use ffa_abi::func_id::FuncId;
use ffa_abi::indirect::{header_size, MessageHeader, HEADER_SIZE_V1_2};
use ffa_abi::interface::Interface;
use ffa_abi::regs::Regs;
use ffa_abi::version::Version;

/// FFA_MSG_SEND_2 w2 bit 1: delay the schedule-receiver interrupt.
const FLAG_DELAY_SRI: u32 = 1 << 1;

/// A v1.0 message (FFA_MSG_SEND) waiting in an SP's RX buffer for FFA_MSG_POLL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct V1_0Message {
    pub sender: EndpointId,
    pub size: u32,
}

/// The indirect messaging ABIs and FFA_RX_ACQUIRE.
pub fn handle<'s, E: Env>(cx: &mut Cx<'s, '_, E>, call: &Interface, out: &mut Regs) -> Flow<'s> {
    *out = match *call {
        Interface::MsgSend2 { sender_vm, flags } => msg_send2(cx, sender_vm, flags),
        Interface::MsgSend {
            pair,
            size,
            attributes,
        } => msg_send(cx, pair, size, attributes),
        Interface::MsgPoll => msg_poll(cx),
        Interface::RxAcquire { vm_id } => rx_acquire(cx.spmc, vm_id),
        _ => Err(ErrorCode::NotSupported),
    }
    .unwrap_or_else(Regs::error);
    Flow::Reply
}

/// Writes a message into the receiver's RX buffer at `dst`: `head` (the header the SPMC read
/// and checked, written from the SPMC's own copy) at offset 0, then bytes `head.len()..len` of
/// the sender's TX buffer at `src` through a stack buffer, then zeroes the rest of the
/// receiver's buffer up to `dst_len` (no stale data from an earlier message). The header is
/// never read from the TX buffer again: the normal world's other cores can rewrite it at any
/// time, and the receiver must get the sender, receiver, offset and size the SPMC validated.
fn copy(
    env: &mut impl Env,
    head: &[u8],
    src: u64,
    dst: u64,
    len: u64,
    dst_len: u64,
) -> Result<(), ErrorCode> {
    if !env.write_phys(dst, head) {
        return Err(ErrorCode::Aborted);
    }
    let mut buf = [0u8; 256];
    let mut off = head.len() as u64;
    while off < len {
        let n = (len - off).min(buf.len() as u64) as usize;
        if !env.read_phys(src + off, &mut buf[..n]) || !env.write_phys(dst + off, &buf[..n]) {
            return Err(ErrorCode::Aborted);
        }
        off += n as u64;
    }
    let end = len.max(head.len() as u64);
    if dst_len > end && !env.zero_phys(dst + end, dst_len - end) {
        return Err(ErrorCode::Aborted);
    }
    Ok(())
}

/// The sender side of a message: its ID, version, TX buffer (address, size) and whether it is
/// secure; DENIED without a TX buffer.
struct Source {
    id: EndpointId,
    version: Version,
    tx: u64,
    tx_len: u64,
}

fn source<E: Env>(cx: &mut Cx<'_, '_, E>) -> Result<Source, ErrorCode> {
    let (id, version) = (cx.id(), cx.version);
    let mb = cx.with_mailbox(|m| *m)?.ok_or(ErrorCode::Denied)?;
    Ok(Source {
        id,
        version,
        tx: mb.tx,
        tx_len: u64::from(mb.pages) * PAGE_SIZE,
    })
}

/// The gate and the receiver's existence: the SP to deliver to, or `None` for the normal
/// world.
fn receiver(
    spmc: &Spmc,
    sender: EndpointId,
    receiver: EndpointId,
) -> Result<Option<&Sp>, ErrorCode> {
    if sender == receiver {
        return Err(ErrorCode::InvalidParameters);
    }
    let sender_desc = if sender.is_secure() {
        Some(
            spmc.table
                .by_id(sender)
                .ok_or(ErrorCode::InvalidParameters)?,
        )
    } else {
        None
    };
    if !receiver.is_secure() {
        // Only partitions send to the normal world (its VMs' messages to each other are the
        // hypervisor's business).
        let s = sender_desc.ok_or(ErrorCode::InvalidParameters)?;
        if receiver.0 != 0 {
            // The SPMC knows the normal world's one RX buffer, endpoint 0's.
            return Err(ErrorCode::InvalidParameters);
        }
        policy::may_send_indirect(Some(s), None)?;
        // The normal world learns of a message only through "RX buffer full" in its bitmap
        // (and the SRI that makes it look): without one it could never tell why its RX buffer
        // is full, and its own FFA_PARTITION_INFO_GET would be BUSY. DENIED, like a receiver
        // below v1.1 (docs/abi-status.md says why this differs from Hafnium).
        if !spmc.notify.has_vm(receiver) {
            return Err(ErrorCode::Denied);
        }
        return Ok(None);
    }
    let i = spmc
        .table
        .index_of(receiver)
        .ok_or(ErrorCode::InvalidParameters)?;
    if spmc.notify.sp_aborted(i) {
        return Err(ErrorCode::Aborted);
    }
    policy::may_send_indirect(sender_desc, Some(&spmc.table.partitions[i]))?;
    Ok(Some(&spmc.sps[i]))
}

/// Runs `f` on the receiver's mailbox and the FF-A version the receiver speaks, under the
/// mailbox's own lock: an SP's (`Sp::mailbox`; never its runtime, so a receiver running on
/// another core or waiting up this core's call chain still gets the message) or the normal
/// world's.
fn with_receiver_mailbox<T>(
    spmc: &Spmc,
    to: Option<&Sp>,
    f: impl FnOnce(&mut Option<Mailbox>, Version) -> Result<T, ErrorCode>,
) -> Result<T, ErrorCode> {
    match to {
        Some(sp) => {
            let mut mb = sp.mailbox()?;
            // Aborted since `receiver` looked (on another core): nothing is delivered.
            if mb.closed {
                return Err(ErrorCode::Aborted);
            }
            let version = mb.version;
            f(&mut mb.pair, version)
        }
        None => f(&mut spmc.nw_state()?.mailbox, spmc.nw_version()),
    }
}

/// What is delivered.
enum Message<'a> {
    /// FFA_MSG_SEND2: the header the SPMC read and checked (20 or 40 bytes).
    V1_1 { header: &'a [u8] },
    /// v1.0 FFA_MSG_SEND: header-less bytes, for the receiver's FFA_MSG_POLL.
    V1_0(V1_0Message),
}

/// Delivers a message of `len` bytes into the receiver's RX buffer and marks it full: a
/// v1.1 message's header from the SPMC's checked copy, the rest from the sender's TX buffer
/// ([`copy`]). DENIED if the receiver's FF-A version does not have the mechanism (it could
/// never learn of the message, and its RX buffer would stay full): FFA_MSG_SEND2 needs v1.1 or
/// later (Hafnium `ffa_indirect_msg_is_supported`), v1.0 FFA_MSG_SEND a v1.0 receiver (the
/// only one with FFA_MSG_POLL). BUSY if the receiver has no RX buffer or it is full;
/// INVALID_PARAMETERS if the message does not fit either buffer.
fn deliver(
    spmc: &Spmc,
    env: &mut impl Env,
    src: &Source,
    to: Option<&Sp>,
    msg: Message<'_>,
    len: u64,
) -> Result<(), ErrorCode> {
    if len > src.tx_len {
        return Err(ErrorCode::InvalidParameters);
    }
    with_receiver_mailbox(spmc, to, |mb, version| {
        let takes = match msg {
            Message::V1_1 { .. } => version >= Version::V1_1,
            Message::V1_0(_) => version == Version::V1_0,
        };
        if !takes {
            return Err(ErrorCode::Denied);
        }
        let mb = mb.as_mut().ok_or(ErrorCode::Busy)?;
        if mb.rx_full {
            return Err(ErrorCode::Busy);
        }
        let rx_len = u64::from(mb.pages) * PAGE_SIZE;
        if len > rx_len {
            return Err(ErrorCode::InvalidParameters);
        }
        let (header, v1_0) = match msg {
            Message::V1_1 { header } => (header, None),
            Message::V1_0(m) => (&[][..], Some(m)),
        };
        copy(env, header, src.tx, mb.rx, len, rx_len)?;
        mb.rx_full = true;
        mb.v1_0 = v1_0;
        Ok(())
    })
}

/// The one clean-up of an aborted partition's notification and indirect-messaging state,
/// called with its lock held wherever it is aborted (`dispatch::run_sp` after a fault or a
/// time limit, `dispatch::abort_sp` for a protocol violation, the loader's failed loads):
/// its notification state is dropped and closed (`Notifications::drop_sp`: INFO_GET no longer
/// lists it, notifications towards it get ABORTED), the message in its RX buffer (v1.1
/// FFA_MSG_SEND2 or v1.0 FFA_MSG_SEND) is dropped, and messages towards it get ABORTED. A
/// restart from its image undoes the closing with [`reopen`]. `_rt` is the partition's locked
/// runtime: the lock order is the runtime's, then the mailbox's.
pub fn drop_aborted(spmc: &Spmc, sp: &Sp, _rt: &mut Runtime) {
    spmc.notify.drop_sp(sp.index);
    // A poisoned mailbox lock already refuses everything (ABORTED).
    if let Ok(mut mb) = sp.mailbox() {
        mb.closed = true;
        if let Some(pair) = mb.pair.as_mut() {
            pair.release();
        }
    }
}

/// A partition restarted from its image receives notifications and messages again (the
/// counterpart of [`drop_aborted`]; its RX/TX buffers are set up again by its load).
pub fn reopen(spmc: &Spmc, sp: &Sp) {
    spmc.notify.reopen_sp(sp.index);
    if let Ok(mut mb) = sp.mailbox() {
        mb.closed = false;
    }
}

/// FFA_MSG_SEND2.
fn msg_send2<E: Env>(
    cx: &mut Cx<'_, '_, E>,
    sender_vm: EndpointId,
    flags: u32,
) -> Result<Regs, ErrorCode> {
    let spmc = cx.spmc;
    if sender_vm.0 != 0 {
        // Only a hypervisor names the VM it forwards for; the SPMC knows no other VM's TX
        // buffer (Hafnium: such a sender is not found, DENIED).
        return match cx.caller {
            Caller::NormalWorld => Err(ErrorCode::Denied),
            Caller::Sp(..) => Err(ErrorCode::InvalidParameters),
        };
    }
    let src = source(cx)?;
    if !src.id.is_secure() && flags & FLAG_DELAY_SRI != 0 {
        return Err(ErrorCode::InvalidParameters);
    }
    // The header is read once, of the size the sender's version defines (20 or 40 bytes);
    // the receiver gets this copy, never a second read of the TX buffer (`copy`).
    let mut buf = [0u8; HEADER_SIZE_V1_2];
    let raw = &mut buf[..header_size(src.version)];
    if !cx.env.read_phys(src.tx, raw) {
        return Err(ErrorCode::Aborted);
    }
    let raw = &*raw;
    let h = MessageHeader::parse(raw).ok_or(ErrorCode::InvalidParameters)?;
    if h.sender != src.id {
        return Err(ErrorCode::InvalidParameters);
    }
    let to = receiver(spmc, src.id, h.receiver)?;
    let total = h
        .total_len(src.version)
        .ok_or(ErrorCode::InvalidParameters)?;
    deliver(
        spmc,
        cx.env,
        &src,
        to,
        Message::V1_1 { header: raw },
        u64::from(total),
    )?;
    // "RX buffer full": from the hypervisor's bitmap when a VM sent it, else the SPM's
    // (Hafnium); only a receiver that can get notifications is told.
    if spmc
        .notify
        .set_framework(spmc, h.receiver, RX_BUFFER_FULL, !src.id.is_secure())
    {
        spmc.notify.signal(&*cx.env, flags & FLAG_DELAY_SRI != 0);
    }
    Ok(Regs::success_w2(0))
}

/// FFA_MSG_SEND (v1.0): `size` bytes at the start of the TX buffer, to an SP.
fn msg_send<E: Env>(
    cx: &mut Cx<'_, '_, E>,
    pair: EndpointPair,
    size: u32,
    attributes: u32,
) -> Result<Regs, ErrorCode> {
    let spmc = cx.spmc;
    if cx.version != Version::V1_0 {
        return Err(ErrorCode::NotSupported);
    }
    // w4 bit 0 asked Hafnium's v1.0 to wake the receiver; the rest is reserved.
    if attributes & !1 != 0 || pair.source != cx.id() || !pair.destination.is_secure() || size == 0
    {
        return Err(ErrorCode::InvalidParameters);
    }
    let src = source(cx)?;
    let to = receiver(spmc, src.id, pair.destination)?.ok_or(ErrorCode::InvalidParameters)?;
    let msg = Message::V1_0(V1_0Message {
        sender: src.id,
        size,
    });
    deliver(spmc, cx.env, &src, Some(to), msg, u64::from(size))?;
    Ok(Regs::success_w2(0))
}

/// FFA_MSG_POLL (v1.0 SPs): the message FFA_MSG_SEND left, as FFA_MSG_SEND(w1 = sender and
/// receiver, w3 = size); nothing waiting: RETRY.
fn msg_poll<E: Env>(cx: &mut Cx<'_, '_, E>) -> Result<Regs, ErrorCode> {
    let Caller::Sp(sp, _) = &cx.caller else {
        return Err(ErrorCode::NotSupported);
    };
    if cx.version != Version::V1_0 {
        return Err(ErrorCode::NotSupported);
    }
    // Set only together with a full RX buffer, cleared whenever it is handed back
    // (`Mailbox::release`) or unmapped: a message released without a poll is gone.
    let m = sp
        .mailbox()?
        .pair
        .as_mut()
        .and_then(|mb| mb.v1_0.take())
        .ok_or(ErrorCode::Retry)?;
    let mut r = Regs::ZERO;
    r.0[0] = FuncId::MsgSend.raw().into();
    r.0[1] = (u64::from(m.sender) << 16) | u64::from(sp.id());
    r.0[3] = m.size.into();
    Ok(r)
}

/// FFA_RX_ACQUIRE (normal world): takes the normal world's RX buffer from the SPMC, which
/// then writes nothing into it until FFA_RX_RELEASE. Only endpoint 0's buffer exists here.
fn rx_acquire(spmc: &Spmc, vm_id: EndpointId) -> Result<Regs, ErrorCode> {
    if vm_id.is_secure() {
        return Err(ErrorCode::NotSupported);
    }
    if vm_id.0 != 0 {
        return Err(ErrorCode::InvalidParameters);
    }
    let mut nw = spmc.nw_state()?;
    let mb = nw.mailbox.as_mut().ok_or(ErrorCode::InvalidParameters)?;
    if mb.rx_full {
        return Err(ErrorCode::Denied);
    }
    mb.rx_full = true;
    Ok(Regs::success_w2(0))
}
