//! Notification and indirect-message commands (test-protocol MSG_SEND2, MSG_READ,
//! NOTIFY_BIND/UNBIND/SET/GET), through sp-rt's typed calls.

use crate::{fail, ok, status_of, SpState};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use sp_rt::notify::{get, RX_BUFFER_FULL};
use sp_rt::{Conduit, DirectRequest, EndpointId, Ffa, Payload, RxOnWait};
use test_protocol::{cmd, status};

/// Handles the commands of this module; `None` for any other command.
pub fn handle<C: Conduit>(
    ffa: &mut Ffa<C>,
    sp: &mut SpState<'_>,
    req: &DirectRequest,
) -> Option<Payload> {
    let arg = |i| req.payload.get(i);
    let me = req.receiver;
    let command = u32::try_from(arg(0)).ok()?;
    let done = |r: sp_rt::ffa::Result<()>| match r {
        Ok(()) => ok(&[]),
        Err(e) => fail(&e),
    };
    Some(match command {
        cmd::MSG_SEND2 => {
            let rxtx = match &mut sp.rxtx {
                Ok(r) => r,
                Err(e) => return Some(fail(e)),
            };
            let to = EndpointId(arg(1) as u16);
            done(ffa.msg_send2(rxtx, me, to, sp.version, &arg(2).to_le_bytes(), arg(3) != 0))
        }
        cmd::MSG_READ if arg(1) == 1 => read_raw(ffa, sp),
        cmd::MSG_READ => read(ffa, sp, me),
        cmd::NOTIFY_BIND => {
            done(ffa.notification_bind(EndpointId(arg(1) as u16), me, arg(3) != 0, arg(2)))
        }
        cmd::NOTIFY_UNBIND => done(ffa.notification_unbind(EndpointId(arg(1) as u16), me, arg(2))),
        cmd::NOTIFY_SET => {
            let flags = arg(3) as u32;
            let vcpu = (flags & 1 != 0).then_some((flags >> 16) as u16);
            done(ffa.notification_set(me, EndpointId(arg(1) as u16), vcpu, flags & 2, arg(2)))
        }
        cmd::MSG_SEND_V1_0 => {
            let rxtx = match &mut sp.rxtx {
                Ok(r) => r,
                Err(e) => return Some(fail(e)),
            };
            let to = EndpointId(arg(1) as u16);
            done(ffa.msg_send_v1_0(rxtx, me, to, &arg(2).to_le_bytes()))
        }
        cmd::MSG_POLL_V1_0 => poll_v1_0(ffa, sp),
        cmd::RUN_LOG => ok(&RUN_LOG.each(|a| a.load(Ordering::Relaxed))),
        cmd::RUN_KEEP_RX => {
            KEEP_RX.store(arg(1) != 0, Ordering::Relaxed);
            ok(&[])
        }
        cmd::NOTIFY_GET => match ffa.notification_get(me, 0, arg(1) as u32) {
            Ok(b) => ok(&[b.sp, b.vm, u64::from(b.spm) | u64::from(b.hyp) << 32]),
            Err(e) => fail(&e),
        },
        _ => return None,
    })
}

/// MSG_READ: framework notifications, the message, RX_RELEASE. The message is there if this
/// GET shows "RX buffer full", or if a run saw it and kept the buffer ([`on_run`]; the GET
/// then shows nothing, the notification was taken by the run's).
fn read<C: Conduit>(ffa: &mut Ffa<C>, sp: &mut SpState<'_>, me: EndpointId) -> Payload {
    let bits = match ffa.notification_get(me, 0, get::SPM | get::HYP) {
        Ok(b) => u64::from(b.spm) | u64::from(b.hyp) << 32,
        Err(e) => return fail(&e),
    };
    let rxtx = match &mut sp.rxtx {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let kept = HELD_FROM_RUN.swap(false, Ordering::Relaxed);
    let full = kept || bits & (u64::from(RX_BUFFER_FULL) | u64::from(RX_BUFFER_FULL) << 32) != 0;
    let msg = rxtx.read_message(|h, p| {
        let mut first = [0u8; 8];
        let n = p.len().min(8);
        first[..n].copy_from_slice(&p[..n]);
        (
            u64::from(h.sender.0),
            u64::from(h.size),
            u64::from_le_bytes(first),
        )
    });
    let released = rxtx.release(ffa);
    match (msg, released) {
        (_, Err(e)) => Payload::new(&[status_of(&e), bits]),
        (None, Ok(())) => Payload::new(&[u64::from(status::BAD_RX), bits]),
        (Some((sender, size, first)), Ok(())) if full => ok(&[bits, sender, size, first]),
        (Some(_), Ok(())) => Payload::new(&[u64::from(status::BAD_RX), bits]),
    }
}

/// MSG_READ with word 1 = 1: a v1.0 message (FFA_MSG_SEND) has no header: the first 8 bytes of
/// RX, then RX_RELEASE.
fn read_raw<C: Conduit>(ffa: &mut Ffa<C>, sp: &mut SpState<'_>) -> Payload {
    let rxtx = match &mut sp.rxtx {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let first = rxtx.with_rx(|rx| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&rx[..8]);
        u64::from_le_bytes(b)
    });
    match rxtx.release(ffa) {
        Ok(()) => ok(&[first]),
        Err(e) => fail(&e),
    }
}

/// MSG_POLL_V1_0: FFA_MSG_POLL, then the first 8 bytes of RX, then FFA_RX_RELEASE.
fn poll_v1_0<C: Conduit>(ffa: &mut Ffa<C>, sp: &mut SpState<'_>) -> Payload {
    let (sender, size) = match ffa.msg_poll() {
        Ok(m) => m,
        Err(e) => return fail(&e),
    };
    let rxtx = match &mut sp.rxtx {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let first = rxtx.with_rx(|rx| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&rx[..8]);
        u64::from_le_bytes(b)
    });
    match rxtx.release(ffa) {
        Ok(()) => ok(&[u64::from(sender.0), u64::from(size), first]),
        Err(e) => fail(&e),
    }
}

/// What [`on_run`] saw: runs, then the last GET's SP, VM and SPM | hypervisor << 32 words.
struct RunLog([AtomicU64; 4]);

impl RunLog {
    fn each(&self, f: impl Fn(&AtomicU64) -> u64) -> [u64; 4] {
        core::array::from_fn(|i| f(&self.0[i]))
    }
}

static RUN_LOG: RunLog = RunLog([const { AtomicU64::new(0) }; 4]);

/// `cmd::RUN_KEEP_RX`: runs that see "RX buffer full" keep the RX buffer.
static KEEP_RX: AtomicBool = AtomicBool::new(false);
/// A run kept the RX buffer with a message in it; MSG_READ reads it (and clears this).
static HELD_FROM_RUN: AtomicBool = AtomicBool::new(false);

/// A receiver given cycles by FFA_RUN (`sp_rt::Event::Run`, e.g. by the normal world after the
/// schedule-receiver interrupt named it): reads every notification bitmap of its own with
/// FFA_NOTIFICATION_GET and keeps what it got for `cmd::RUN_LOG`; the caller then waits again,
/// keeping the RX buffer if `cmd::RUN_KEEP_RX` asked for it and "RX buffer full" was among
/// what it got (so a later MSG_READ still finds the message), else handing it back.
pub fn on_run<C: Conduit>(ffa: &mut Ffa<C>) -> RxOnWait {
    let got = ffa
        .id_get()
        .and_then(|me| ffa.notification_get(me, 0, get::SP | get::VM | get::SPM | get::HYP));
    let (words, full) = match got {
        Ok(b) => (
            [b.sp, b.vm, u64::from(b.spm) | u64::from(b.hyp) << 32],
            (b.spm | b.hyp) & RX_BUFFER_FULL != 0,
        ),
        Err(e) => ([status_of(&e), 0, 0], false),
    };
    RUN_LOG.0[0].fetch_add(1, Ordering::Relaxed);
    for (a, w) in RUN_LOG.0[1..].iter().zip(words) {
        a.store(w, Ordering::Relaxed);
    }
    if full && KEEP_RX.load(Ordering::Relaxed) {
        HELD_FROM_RUN.store(true, Ordering::Relaxed);
        RxOnWait::Retain
    } else {
        RxOnWait::Release
    }
}
