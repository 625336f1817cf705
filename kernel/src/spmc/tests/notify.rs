//! Notifications (notify.rs): bitmap create/destroy, bind/unbind, set/get, INFO_GET and the
//! schedule-receiver interrupt, in every direction (NW -> SP, SP -> NW, SP -> SP), with the
//! capability gate and the error each bad input gets.

use super::fake::*;
use crate::spmc::notify::SRI_INTID;
use alloc::boxed::Box;
use alloc::vec::Vec;
use ffa_abi::error::ErrorCode;
use ffa_abi::func_id::FuncId;
use ffa_abi::interface::Interface;
use ffa_abi::notification::{InfoGet, NotificationBitmaps};
use ffa_abi::regs::Regs;
use ffa_abi::version::Version;
use spmc_table::{Capabilities, EndpointId};

const GET_ALL_SP: u64 = 0b0101; // SP + SPM bitmaps

fn create(vm: EndpointId, vcpus: u64) -> Regs {
    call(FuncId::NotificationBitmapCreate, &[u64::from(vm.0), vcpus])
}
fn destroy(vm: EndpointId) -> Regs {
    call(FuncId::NotificationBitmapDestroy, &[u64::from(vm.0)])
}
fn bind(sender: EndpointId, receiver: EndpointId, flags: u64, bitmap: u64) -> Regs {
    call(
        FuncId::NotificationBind,
        &[
            pair(sender, receiver),
            flags,
            bitmap & 0xFFFF_FFFF,
            bitmap >> 32,
        ],
    )
}
fn unbind(sender: EndpointId, receiver: EndpointId, bitmap: u64) -> Regs {
    call(
        FuncId::NotificationUnbind,
        &[
            pair(sender, receiver),
            0,
            bitmap & 0xFFFF_FFFF,
            bitmap >> 32,
        ],
    )
}
fn set(sender: EndpointId, receiver: EndpointId, flags: u64, bitmap: u64) -> Regs {
    call(
        FuncId::NotificationSet,
        &[
            pair(sender, receiver),
            flags,
            bitmap & 0xFFFF_FFFF,
            bitmap >> 32,
        ],
    )
}
fn get(receiver: EndpointId, vcpu: u16, flags: u64) -> Regs {
    call(
        FuncId::NotificationGet,
        &[(u64::from(vcpu) << 16) | u64::from(receiver.0), flags],
    )
}
fn info_get(is_64: bool) -> Regs {
    call(
        if is_64 {
            FuncId::NotificationInfoGet64
        } else {
            FuncId::NotificationInfoGet32
        },
        &[],
    )
}

/// The bitmaps of a GET answer (which must be FFA_SUCCESS_32).
pub(super) fn bitmaps(r: &Regs) -> NotificationBitmaps {
    assert_eq!(r.w(0), FuncId::Success32.raw(), "{r:x?}");
    NotificationBitmaps::from_args([r.w(2), r.w(3), r.w(4), r.w(5), r.w(6), r.w(7)])
}

/// The (endpoint, vCPUs) lists of an INFO_GET answer, and its "more pending" bit.
pub(super) fn lists(r: &Regs) -> (Vec<(EndpointId, Vec<u16>)>, bool) {
    let Ok(Interface::Success { args, .. }) = Interface::decode(r, Version::V1_2) else {
        panic!("not a success: {r:x?}")
    };
    let p = InfoGet::parse(&args).unwrap();
    (
        p.lists()
            .iter()
            .map(|l| (l.endpoint, l.vcpus[..usize::from(l.vcpu_count)].to_vec()))
            .collect(),
        p.more_pending,
    )
}

pub(super) fn leak_ids(v: &[EndpointId]) -> &'static [EndpointId] {
    let mut ids = v.to_vec();
    ids.sort();
    Box::leak(ids.into_boxed_slice())
}

/// An SP that supports notifications and may notify `to` (and the normal world if `nw`).
fn notifying_sp(i: usize, to: &'static [EndpointId], nw: bool) -> SpDef {
    let mut d = sp(i);
    d.notifications = true;
    d.patch = Some(Box::new(move |p| {
        p.capabilities = Capabilities {
            notify: leak_ids(to),
            notify_normal_world: nw,
            ..p.capabilities
        };
    }));
    d
}

/// An SP whose every direct request makes the calls the request names: request w3 picks one
/// of `calls`; it answers with a 64-bit response carrying the 32-bit result registers: x3 =
/// w0, x4..x6 = w2..w7 two to a register, x7 = w1.
pub(super) fn calling_sp(mut d: SpDef, calls: Vec<Regs>) -> SpDef {
    let pending = core::cell::Cell::new(None::<Regs>);
    d.behaviour = Box::new(move |r, _| {
        let f = r.w(0);
        if f == FuncId::MsgSendDirectReq32.raw() || f == FuncId::MsgSendDirectReq64.raw() {
            pending.set(Some(*r));
            return Act::Svc(calls[r.x(3) as usize]);
        }
        match pending.take() {
            Some(q) => {
                let (src, dst) = ((q.w(1) >> 16) as u16, q.w(1) as u16);
                let two = |i: usize| u64::from(r.w(i)) | (u64::from(r.w(i + 1)) << 32);
                let mut out = call(
                    FuncId::MsgSendDirectResp64,
                    &[
                        pair(EndpointId(dst), EndpointId(src)),
                        0,
                        r.w(0).into(),
                        two(2),
                        two(4),
                        two(6),
                        r.w(1).into(),
                    ],
                );
                out.0[8..].fill(0);
                Act::Svc(out)
            }
            None => Act::Svc(msg_wait()),
        }
    });
    d
}

/// Asks SP `dst` (normal world sender) to make its call number `n`; returns the result's
/// w0..w7 as a register block.
pub(super) fn sp_call(w: &mut World, dst: EndpointId, n: u64) -> Regs {
    let r = w.nw(req64(EndpointId(0), dst, [n, 0, 0, 0, 0]));
    assert_eq!(r.w(0), FuncId::MsgSendDirectResp64.raw(), "{r:x?}");
    let mut out = Regs::ZERO;
    out.0[0] = r.x(3);
    out.0[1] = r.x(7);
    for i in 0..3 {
        out.0[2 + 2 * i] = r.x(4 + i) & 0xFFFF_FFFF;
        out.0[3 + 2 * i] = r.x(4 + i) >> 32;
    }
    out
}

#[track_caller]
pub(super) fn assert_sp_ok(r: &Regs) {
    assert_eq!(r.w(0), FuncId::Success32.raw(), "{r:x?}");
}

#[track_caller]
pub(super) fn assert_sp_error(r: &Regs, code: ErrorCode) {
    assert_eq!(
        (r.w(0), r.w(2)),
        (FuncId::Error32.raw(), code.to_u32()),
        "expected {code:?}: {r:x?}"
    );
}

pub(super) fn sgis(w: &World) -> Vec<u32> {
    w.env.sgis.borrow().clone()
}

#[test]
fn features_report_the_sri_to_the_normal_world_only() {
    let mut d = sp(0);
    d.behaviour = during_boot(alloc::vec![
        call(FuncId::Features, &[2]),
        call(FuncId::Features, &[1]),
        call(
            FuncId::Features,
            &[FuncId::NotificationBitmapCreate.raw().into()]
        ),
        call(FuncId::Features, &[FuncId::NotificationSet.raw().into()]),
    ]);
    let mut w = World::boot(alloc::vec![d]);
    let seen = w.seen(0);
    assert_error(&seen[1], ErrorCode::NotSupported);
    assert_error(&seen[2], ErrorCode::NotSupported);
    assert_error(&seen[3], ErrorCode::NotSupported);
    assert_success(&seen[4], 0);
    w.nw_version(Version::V1_1);
    assert_success(&w.nw(call(FuncId::Features, &[2])), SRI_INTID);
    assert_error(&w.nw(call(FuncId::Features, &[1])), ErrorCode::NotSupported);
    for f in [
        FuncId::NotificationBitmapCreate,
        FuncId::NotificationBitmapDestroy,
        FuncId::NotificationBind,
        FuncId::NotificationSet,
        FuncId::NotificationGet,
        FuncId::NotificationInfoGet64,
    ] {
        assert_success(&w.nw(call(FuncId::Features, &[f.raw().into()])), 0);
    }
    // A v1.0 caller knows neither the ABIs nor the SRI.
    w.nw_version(Version::V1_0);
    assert_error(&w.nw(call(FuncId::Features, &[2])), ErrorCode::NotSupported);
}

#[test]
fn bitmap_create_and_destroy_refuse_what_the_spec_names() {
    let mut w = World::echoes(1);
    w.nw_version(Version::V1_2);
    assert_error(&w.nw(create(SP0, 1)), ErrorCode::InvalidParameters);
    assert_error(
        &w.nw(create(EndpointId(0), 0)),
        ErrorCode::InvalidParameters,
    );
    assert_error(&w.nw(create(EndpointId(0), 9)), ErrorCode::NoMemory);
    assert_error(&w.nw(destroy(EndpointId(0))), ErrorCode::Denied);
    assert_success(&w.nw(create(EndpointId(0), 2)), 0);
    assert_error(&w.nw(create(EndpointId(0), 2)), ErrorCode::Denied);
    for vm in 1..4 {
        assert_success(&w.nw(create(EndpointId(vm), 1)), 0);
    }
    assert_error(&w.nw(create(EndpointId(7), 1)), ErrorCode::NoMemory);
    assert_error(&w.nw(destroy(SP0)), ErrorCode::InvalidParameters);
    assert_success(&w.nw(destroy(EndpointId(3))), 0);
    assert_success(&w.nw(create(EndpointId(7), 1)), 0);
    // Partitions cannot call them.
    let mut d = sp(0);
    d.behaviour = during_boot(alloc::vec![create(EndpointId(1), 1)]);
    let w = World::boot(alloc::vec![d]);
    assert_error(&w.seen(0)[1], ErrorCode::NotSupported);
}

/// NW -> SP: the SP binds the normal world, the normal world sets, the SRI goes up, INFO_GET
/// names the SP once, and the SP's GET returns the bits in the VM bitmap and clears them.
#[test]
fn normal_world_notifies_an_sp() {
    let d = calling_sp(
        notifying_sp(0, &[], false),
        alloc::vec![
            bind(EndpointId(0), SP0, 0, 0b1010),
            get(SP0, 0, 0b1111),
            unbind(EndpointId(0), SP0, 0b0010),
            unbind(EndpointId(0), SP0, 0b0011),
        ],
    );
    let mut w = World::boot(alloc::vec![d]);
    w.nw_version(Version::V1_1);
    // Nothing bound yet: DENIED, and no interrupt.
    assert_error(&w.nw(set(EndpointId(0), SP0, 0, 0b10)), ErrorCode::Denied);
    assert_sp_ok(&sp_call(&mut w, SP0, 0));
    // Only the normal world's own IDs may be senders; the SRI cannot be delayed by it.
    assert_error(&w.nw(set(SP0, SP0, 0, 0b10)), ErrorCode::InvalidParameters);
    assert_error(
        &w.nw(set(EndpointId(0), SP0, 0b10, 0b10)),
        ErrorCode::InvalidParameters,
    );
    assert_error(
        &w.nw(set(EndpointId(0), SP0, 0, 0)),
        ErrorCode::InvalidParameters,
    );
    assert_error(&w.nw(set(EndpointId(0), SP0, 0, 0b1)), ErrorCode::Denied);
    assert_error(
        &w.nw(set(EndpointId(0), SP0, 1 << 16, 0b10)),
        ErrorCode::InvalidParameters,
    );
    assert_eq!(sgis(&w), Vec::<u32>::new());
    assert_error(&w.nw(info_get(true)), ErrorCode::NoData);
    assert_success(&w.nw(set(EndpointId(0), SP0, 0, 0b10)), 0);
    assert_eq!(sgis(&w), [SRI_INTID]);
    let (l, more) = lists(&w.nw(info_get(true)));
    assert_eq!((l, more), (alloc::vec![(SP0, alloc::vec![])], false));
    // Reported once, until something new is set.
    assert_error(&w.nw(info_get(true)), ErrorCode::NoData);
    // Pending bits cannot be unbound.
    assert_sp_error(&sp_call(&mut w, SP0, 2), ErrorCode::Denied);
    let g = sp_call(&mut w, SP0, 1);
    assert_eq!(
        bitmaps(&g),
        NotificationBitmaps {
            vm: 0b10,
            ..Default::default()
        }
    );
    assert_eq!(
        bitmaps(&sp_call(&mut w, SP0, 1)),
        NotificationBitmaps::default()
    );
    assert_sp_ok(&sp_call(&mut w, SP0, 2));
    // Unbinding bits not bound to that sender: DENIED.
    assert_sp_error(&sp_call(&mut w, SP0, 3), ErrorCode::Denied);
    assert_error(&w.nw(set(EndpointId(0), SP0, 0, 0b0010)), ErrorCode::Denied);
    assert_success(&w.nw(set(EndpointId(0), SP0, 0, 0b1000)), 0);
}

/// An SP without `notification-support` cannot bind (NOT_SUPPORTED) or be notified (DENIED).
#[test]
fn an_sp_without_notification_support_gets_none() {
    let d = calling_sp(sp(0), alloc::vec![bind(EndpointId(0), SP0, 0, 1)]);
    let mut w = World::boot(alloc::vec![d]);
    w.nw_version(Version::V1_1);
    assert_sp_error(&sp_call(&mut w, SP0, 0), ErrorCode::NotSupported);
    assert_error(&w.nw(set(EndpointId(0), SP0, 0, 1)), ErrorCode::Denied);
    assert_error(
        &w.nw(set(EndpointId(0), EndpointId(0x8077), 0, 1)),
        ErrorCode::InvalidParameters,
    );
}

/// SP -> NW: the normal world creates its bitmap and binds the SP; the SP (granted
/// `notify: normal-world`) sets; INFO_GET names VM 0; GET returns the SP bitmap.
#[test]
fn an_sp_notifies_the_normal_world() {
    let d0 = calling_sp(
        notifying_sp(0, &[], true),
        alloc::vec![
            set(SP0, EndpointId(0), 0, 1 << 40),
            set(SP0, EndpointId(0), 0, 1 << 41),
            set(EndpointId(0), SP0, 0, 1)
        ],
    );
    let d1 = calling_sp(
        notifying_sp(1, &[], false),
        alloc::vec![set(SP1, EndpointId(0), 0, 1 << 40)],
    );
    let mut w = World::boot(alloc::vec![d0, d1]);
    w.nw_version(Version::V1_1);
    // No bitmap yet: the receiver does not exist.
    assert_error(
        &w.nw(bind(SP0, EndpointId(0), 0, 1 << 40)),
        ErrorCode::InvalidParameters,
    );
    assert_sp_error(&sp_call(&mut w, SP0, 0), ErrorCode::InvalidParameters);
    assert_success(&w.nw(create(EndpointId(0), 2)), 0);
    // The normal world binds for itself, SPs as senders only.
    assert_error(
        &w.nw(bind(EndpointId(0), EndpointId(0), 0, 1)),
        ErrorCode::InvalidParameters,
    );
    assert_error(&w.nw(bind(SP0, SP1, 0, 1)), ErrorCode::InvalidParameters);
    assert_error(
        &w.nw(bind(EndpointId(0x8077), EndpointId(0), 0, 1)),
        ErrorCode::InvalidParameters,
    );
    assert_success(&w.nw(bind(SP0, EndpointId(0), 0, 1 << 40)), 0);
    // Bound already (to any sender): DENIED.
    assert_error(
        &w.nw(bind(SP0, EndpointId(0), 0, 1 << 40)),
        ErrorCode::Denied,
    );
    // SP1 has no grant for the normal world: DENIED at bind (and at set).
    assert_error(
        &w.nw(bind(SP1, EndpointId(0), 0, 1 << 42)),
        ErrorCode::Denied,
    );
    assert_sp_error(&sp_call(&mut w, SP1, 0), ErrorCode::Denied);
    // Another sender's bit, or an unbound one: DENIED; a forged sender: INVALID_PARAMETERS.
    assert_sp_error(&sp_call(&mut w, SP0, 1), ErrorCode::Denied);
    assert_sp_error(&sp_call(&mut w, SP0, 2), ErrorCode::InvalidParameters);
    assert_eq!(sgis(&w), Vec::<u32>::new());
    assert_sp_ok(&sp_call(&mut w, SP0, 0));
    assert_eq!(sgis(&w), [SRI_INTID]);
    let (l, _) = lists(&w.nw(info_get(false)));
    assert_eq!(l, alloc::vec![(EndpointId(0), alloc::vec![])]);
    // The VM and hypervisor bitmaps of a VM are not the SPMC's to give.
    assert_error(
        &w.nw(get(EndpointId(0), 0, 0b0010)),
        ErrorCode::InvalidParameters,
    );
    assert_error(
        &w.nw(get(EndpointId(0), 0, 0b1000)),
        ErrorCode::InvalidParameters,
    );
    assert_error(
        &w.nw(get(EndpointId(0), 2, 0b0001)),
        ErrorCode::InvalidParameters,
    );
    assert_error(&w.nw(get(SP0, 0, 0b0001)), ErrorCode::InvalidParameters);
    let g = w.nw(get(EndpointId(0), 1, GET_ALL_SP));
    assert_eq!(
        bitmaps(&g),
        NotificationBitmaps {
            sp: 1 << 40,
            ..Default::default()
        }
    );
    assert_eq!(
        bitmaps(&w.nw(get(EndpointId(0), 0, GET_ALL_SP))),
        Default::default()
    );
    // Destroy refuses while something is pending, then succeeds.
    assert_sp_ok(&sp_call(&mut w, SP0, 0));
    assert_error(&w.nw(destroy(EndpointId(0))), ErrorCode::Denied);
    bitmaps(&w.nw(get(EndpointId(0), 0, GET_ALL_SP)));
    assert_error(
        &w.nw(unbind(SP1, EndpointId(0), 1 << 40)),
        ErrorCode::Denied,
    );
    assert_success(&w.nw(unbind(SP0, EndpointId(0), 1 << 40)), 0);
    assert_success(&w.nw(destroy(EndpointId(0))), 0);
}

/// SP -> SP, with the grant, and the delayed SRI raised on the way back to the normal world.
#[test]
fn an_sp_notifies_another_with_a_delayed_sri() {
    let d0 = calling_sp(
        notifying_sp(0, &[SP1], false),
        alloc::vec![set(SP0, SP1, 0b10, 1), set(SP0, SP1, 0, 1)],
    );
    let d1 = calling_sp(
        notifying_sp(1, &[], false),
        alloc::vec![
            bind(SP0, SP1, 0, 1),
            get(SP1, 0, GET_ALL_SP),
            bind(SP1, SP1, 0, 2),
            bind(EndpointId(0x8077), SP1, 0, 2),
            bind(SP0, SP0, 0, 2),
        ],
    );
    let mut w = World::boot(alloc::vec![d0, d1]);
    w.nw_version(Version::V1_1);
    assert_sp_error(&sp_call(&mut w, SP1, 2), ErrorCode::InvalidParameters);
    assert_sp_error(&sp_call(&mut w, SP1, 3), ErrorCode::InvalidParameters);
    assert_sp_error(&sp_call(&mut w, SP1, 4), ErrorCode::InvalidParameters);
    assert_sp_ok(&sp_call(&mut w, SP1, 0));
    let before = sgis(&w).len();
    assert_sp_ok(&sp_call(&mut w, SP0, 0));
    // Raised once, after the request that set it returned to the normal world.
    assert_eq!(sgis(&w)[before..], [SRI_INTID]);
    let (l, _) = lists(&w.nw(info_get(true)));
    assert_eq!(l, alloc::vec![(SP1, alloc::vec![])]);
    let g = sp_call(&mut w, SP1, 1);
    assert_eq!(
        bitmaps(&g),
        NotificationBitmaps {
            sp: 1,
            ..Default::default()
        }
    );
    assert_sp_ok(&sp_call(&mut w, SP0, 1));
    assert_eq!(sgis(&w).len(), before + 2);
}

/// Without a `notify` grant an SP can neither be bound as a sender nor set.
#[test]
fn an_sp_without_a_grant_cannot_notify() {
    let d0 = calling_sp(
        notifying_sp(0, &[], false),
        alloc::vec![set(SP0, SP1, 0, 1)],
    );
    let d1 = calling_sp(
        notifying_sp(1, &[], false),
        alloc::vec![bind(SP0, SP1, 0, 1)],
    );
    let mut w = World::boot(alloc::vec![d0, d1]);
    w.nw_version(Version::V1_1);
    assert_sp_error(&sp_call(&mut w, SP1, 0), ErrorCode::Denied);
    assert_sp_error(&sp_call(&mut w, SP0, 0), ErrorCode::Denied);
    assert_eq!(sgis(&w), Vec::<u32>::new());
    assert_error(&w.nw(info_get(true)), ErrorCode::NoData);
}

/// Per-vCPU notifications to a VM: INFO_GET lists the vCPU, GET returns them only on it, and
/// a set of the wrong kind is INVALID_PARAMETERS.
#[test]
fn per_vcpu_notifications_reach_their_vcpu_only() {
    let d0 = calling_sp(
        notifying_sp(0, &[], true),
        alloc::vec![
            set(SP0, EndpointId(0), 1 | (1 << 16), 1 << 3),
            set(SP0, EndpointId(0), 0, 1 << 3),
            set(SP0, EndpointId(0), 1 | (2 << 16), 1 << 3),
            set(SP0, EndpointId(0), 1 | (1 << 16), 1 << 4),
            set(SP0, EndpointId(0), 0, 1 << 4),
        ],
    );
    let mut w = World::boot(alloc::vec![d0]);
    w.nw_version(Version::V1_1);
    assert_success(&w.nw(create(EndpointId(0), 2)), 0);
    assert_success(&w.nw(bind(SP0, EndpointId(0), 1, 1 << 3)), 0);
    assert_success(&w.nw(bind(SP0, EndpointId(0), 0, 1 << 4)), 0);
    assert_sp_error(&sp_call(&mut w, SP0, 1), ErrorCode::InvalidParameters);
    assert_sp_error(&sp_call(&mut w, SP0, 2), ErrorCode::InvalidParameters);
    assert_sp_error(&sp_call(&mut w, SP0, 3), ErrorCode::InvalidParameters);
    assert_sp_ok(&sp_call(&mut w, SP0, 0));
    assert_sp_ok(&sp_call(&mut w, SP0, 4));
    let (l, _) = lists(&w.nw(info_get(true)));
    assert_eq!(
        l,
        alloc::vec![
            (EndpointId(0), alloc::vec![]),
            (EndpointId(0), alloc::vec![1])
        ]
    );
    assert_eq!(
        bitmaps(&w.nw(get(EndpointId(0), 0, 1))),
        NotificationBitmaps {
            sp: 1 << 4,
            ..Default::default()
        }
    );
    assert_eq!(
        bitmaps(&w.nw(get(EndpointId(0), 1, 1))),
        NotificationBitmaps {
            sp: 1 << 3,
            ..Default::default()
        }
    );
}

/// More pending endpoints than one answer holds: "more pending", and the rest come next.
#[test]
fn info_get_splits_what_does_not_fit() {
    let mut defs = Vec::new();
    for i in 0..12 {
        defs.push(notifying_sp(i, &[], false));
    }
    let mut w = World::boot(defs);
    w.nw_version(Version::V1_1);
    for i in 0..12u16 {
        w.spmc
            .notify
            .with_sp(usize::from(i), |r| {
                r.bind(EndpointId(0), 1, false).unwrap();
                r.set(EndpointId(0), 1, None).unwrap();
            })
            .unwrap();
    }
    let (l, more) = lists(&w.nw(info_get(false)));
    assert_eq!(l.len(), 10);
    assert!(more);
    let (l2, more) = lists(&w.nw(info_get(false)));
    assert_eq!(
        l2,
        alloc::vec![(sp_id(10), alloc::vec![]), (sp_id(11), alloc::vec![])]
    );
    assert!(!more);
}
