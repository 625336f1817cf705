//! Notifications (FF-A v1.2 chapter 10 and the FFA_NOTIFICATION_* ABIs of chapter 17):
//! bitmap create/destroy for normal-world VMs, bind/unbind, set/get, INFO_GET, the
//! schedule-receiver interrupt (SRI) and the SPMC's framework notifications ("RX buffer full").
//!
//! State is per receiving endpoint, each behind its own lock: one [`Receiver`] per SP (whether
//! it may receive is its manifest's `notification-support`), and a few slots for normal-world
//! VMs, filled by FFA_NOTIFICATION_BITMAP_CREATE. A set or get for an SP takes only that SP's
//! lock; one for a VM finds its slot by taking the VM slots' locks one after the other
//! (`Notifications::with_vm`, at most [`NW_VM_SLOTS`], never two at once) until the slot with
//! its ID, so it may briefly contend with other VMs' calls on other cores. Nothing is
//! allocated after boot. Only BITMAP_CREATE/DESTROY take the slot administration lock (so that
//! one VM ID never has two slots), never the set/get path.
//!
//! Rules (Hafnium's SPMC side, src/ffa/spmc/notifications.c and src/api.c, where FF-A leaves
//! the choice; every refusal is the error code the spec names for it):
//! - BITMAP_CREATE/DESTROY come from the normal world for a VM ID: an SP ID is
//!   INVALID_PARAMETERS; creating twice, or destroying what does not exist or still has
//!   notifications pending, is DENIED; no free slot is NO_MEMORY.
//! - BIND/UNBIND are made by the receiver for one sender: an SP binds for itself, the normal
//!   world binds a VM receiver to an SP sender. A bit already bound (bind) or bound to another
//!   sender (unbind), or pending, is DENIED.
//! - SET is made by the sender: an SP for itself, the normal world for a VM sender to an SP
//!   receiver. Bits not bound to that sender are DENIED; a per-vCPU flag that does not match
//!   the binding's kind is INVALID_PARAMETERS. Only a secure sender may delay the SRI.
//! - SP senders also need the integrator's `notify` grant for the receiver (the capability gate,
//!   `policy::may_notify`): DENIED otherwise, at BIND as at SET.
//! - After a set (or an indirect message), the SRI, a non-secure SGI ([`SRI_INTID`], Hafnium's
//!   choice), is raised on the current core, or on the way back to the normal world when the
//!   sender asked for the delay.
//! - An aborted SP's state is dropped (`Notifications::drop_sp`, through
//!   `indirect::drop_aborted`): INFO_GET no longer lists it, and SET towards it or BIND of it
//!   as a sender get ABORTED (UNBIND of it stays possible, to clean up).

#![forbid(unsafe_code)]

use super::call::{Caller, Cx, Flow};
use super::{Env, Spmc};
use crate::policy;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use ffa_abi::endpoint::{EndpointId, EndpointPair};
use ffa_abi::error::ErrorCode;
use ffa_abi::interface::Interface;
use ffa_abi::notification::{info_get_success, InfoGetList, NotificationBitmaps};
use ffa_abi::regs::Regs;
use spin::Mutex;

/// The schedule-receiver interrupt: non-secure SGI 8, as Hafnium's SPMC
/// (`HF_SCHEDULE_RECEIVER_INTID`, inc/vmapi/hf/types.h). FFA_FEATURES(SRI) reports it.
pub const SRI_INTID: u32 = 8;
/// Most vCPUs a receiver's per-vCPU notifications are kept for.
pub const MAX_VCPUS: usize = 8;
/// Normal-world VMs that may have a notification bitmap at once.
pub const NW_VM_SLOTS: usize = 4;
/// Cores the delayed-SRI flags are kept for (the kernel's per-core limit).
pub const MAX_CORES: usize = crate::sync::MAX_CORES;
/// Framework notification "RX buffer full" (bit 0 of the SPM and of the hypervisor bitmap).
pub const RX_BUFFER_FULL: u32 = 1 << 0;

/// FFA_NOTIFICATION_BIND/SET w2 bit 0: per-vCPU notification.
const FLAG_PER_VCPU: u32 = 1 << 0;
/// FFA_NOTIFICATION_SET w2 bit 1: delay the schedule-receiver interrupt.
const FLAG_DELAY_SRI: u32 = 1 << 1;
/// FFA_NOTIFICATION_GET w2: which bitmaps to return (and clear).
pub const GET_SP: u32 = 1 << 0;
pub const GET_VM: u32 = 1 << 1;
pub const GET_SPM: u32 = 1 << 2;
pub const GET_HYP: u32 = 1 << 3;

/// The positions of the set bits of `b`, lowest first (one step per set bit, not per bit).
fn bits(mut b: u64) -> impl Iterator<Item = usize> {
    core::iter::from_fn(move || {
        if b == 0 {
            return None;
        }
        let i = b.trailing_zeros() as usize;
        b &= b - 1;
        Some(i)
    })
}

/// One receiving endpoint's notification state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receiver {
    /// Execution contexts (SP) or vCPUs (VM, from BITMAP_CREATE).
    vcpus: u16,
    /// Bits bound to a sender.
    bound: u64,
    /// Bound bits that are per-vCPU.
    per_vcpu: u64,
    /// Bound bits whose sender is an SP (the rest: a VM).
    from_sp: u64,
    /// Sender of each bound bit.
    senders: [EndpointId; 64],
    /// Pending global notifications.
    global: u64,
    /// Pending per-vCPU notifications, per vCPU.
    vcpu_pending: [u64; MAX_VCPUS],
    /// Pending framework notifications from the SPM.
    fwk_spm: u32,
    /// Pending framework notifications "from the hypervisor" (an RX buffer filled by a VM).
    fwk_hyp: u32,
    /// The global pending state was already listed by FFA_NOTIFICATION_INFO_GET.
    global_reported: bool,
    /// vCPUs whose per-vCPU pending state was already listed (bit per vCPU).
    vcpus_reported: u16,
    /// The receiver (an SP) was aborted: its state was dropped, nothing is bound or pending,
    /// and notifications towards it get ABORTED (`Notifications::drop_sp`).
    aborted: bool,
}

impl Receiver {
    /// A receiver with nothing bound and nothing pending.
    pub const fn new(vcpus: u16) -> Self {
        Self {
            vcpus,
            bound: 0,
            per_vcpu: 0,
            from_sp: 0,
            senders: [EndpointId(0); 64],
            global: 0,
            vcpu_pending: [0; MAX_VCPUS],
            fwk_spm: 0,
            fwk_hyp: 0,
            global_reported: false,
            vcpus_reported: 0,
            aborted: false,
        }
    }

    /// Whether the receiver was aborted (its state dropped).
    pub fn aborted(&self) -> bool {
        self.aborted
    }

    fn pending_partition_bits(&self) -> u64 {
        self.vcpu_pending.iter().fold(self.global, |a, v| a | v)
    }

    /// Tells whether anything is pending (partition or framework notifications).
    pub fn any_pending(&self) -> bool {
        self.pending_partition_bits() != 0 || self.fwk_spm != 0 || self.fwk_hyp != 0
    }

    /// FFA_NOTIFICATION_BIND: binds `bitmap` to `sender`. Bits already bound or pending:
    /// DENIED.
    pub fn bind(
        &mut self,
        sender: EndpointId,
        bitmap: u64,
        per_vcpu: bool,
    ) -> Result<(), ErrorCode> {
        if self.bound & bitmap != 0 || self.pending_partition_bits() & bitmap != 0 {
            return Err(ErrorCode::Denied);
        }
        self.bound |= bitmap;
        if per_vcpu {
            self.per_vcpu |= bitmap;
        }
        if sender.is_secure() {
            self.from_sp |= bitmap;
        }
        for i in bits(bitmap) {
            self.senders[i] = sender;
        }
        Ok(())
    }

    fn bound_to(&self, sender: EndpointId, bitmap: u64) -> bool {
        self.bound & bitmap == bitmap && bits(bitmap).all(|i| self.senders[i] == sender)
    }

    /// FFA_NOTIFICATION_UNBIND: bits not all bound to `sender`, or pending: DENIED.
    pub fn unbind(&mut self, sender: EndpointId, bitmap: u64) -> Result<(), ErrorCode> {
        if !self.bound_to(sender, bitmap) || self.pending_partition_bits() & bitmap != 0 {
            return Err(ErrorCode::Denied);
        }
        self.bound &= !bitmap;
        self.per_vcpu &= !bitmap;
        self.from_sp &= !bitmap;
        Ok(())
    }

    /// FFA_NOTIFICATION_SET: `vcpu` is `Some` for per-vCPU notifications. Bits bound to
    /// `sender` as the other kind: INVALID_PARAMETERS; not bound to `sender`: DENIED; a vCPU
    /// the receiver does not have: INVALID_PARAMETERS.
    pub fn set(
        &mut self,
        sender: EndpointId,
        bitmap: u64,
        vcpu: Option<u16>,
    ) -> Result<(), ErrorCode> {
        if self.aborted {
            return Err(ErrorCode::Aborted);
        }
        if !self.bound_to(sender, bitmap) {
            return Err(ErrorCode::Denied);
        }
        let kind_ok = match vcpu {
            None => self.per_vcpu & bitmap == 0,
            Some(_) => self.per_vcpu & bitmap == bitmap,
        };
        if !kind_ok {
            return Err(ErrorCode::InvalidParameters);
        }
        match vcpu {
            None => {
                self.global |= bitmap;
                self.global_reported = false;
            }
            Some(v) => {
                let slot = self
                    .vcpu_pending
                    .get_mut(usize::from(v))
                    .filter(|_| v < self.vcpus)
                    .ok_or(ErrorCode::InvalidParameters)?;
                *slot |= bitmap;
                self.vcpus_reported &= !(1 << v);
            }
        }
        Ok(())
    }

    /// Sets framework notifications: `from_vm` selects the hypervisor bitmap.
    pub fn set_framework(&mut self, bits: u32, from_vm: bool) {
        if self.aborted {
            return;
        }
        if from_vm {
            self.fwk_hyp |= bits;
        } else {
            self.fwk_spm |= bits;
        }
        self.global_reported = false;
    }

    /// FFA_NOTIFICATION_GET for `vcpu` (checked by the caller): returns and clears the
    /// bitmaps `flags` asks for (global plus that vCPU's per-vCPU notifications).
    pub fn get(&mut self, vcpu: u16, flags: u32) -> NotificationBitmaps {
        let v = usize::from(vcpu).min(MAX_VCPUS - 1);
        let pending = self.global | self.vcpu_pending[v];
        let mut take = 0;
        let mut out = NotificationBitmaps::default();
        if flags & GET_SP != 0 {
            out.sp = pending & self.from_sp;
            take |= self.from_sp;
        }
        if flags & GET_VM != 0 {
            out.vm = pending & !self.from_sp;
            take |= !self.from_sp;
        }
        self.global &= !take;
        self.vcpu_pending[v] &= !take;
        if flags & GET_SPM != 0 {
            out.spm = core::mem::take(&mut self.fwk_spm);
        }
        if flags & GET_HYP != 0 {
            out.hyp = core::mem::take(&mut self.fwk_hyp);
        }
        out
    }

    /// The vCPU count.
    pub fn vcpus(&self) -> u16 {
        self.vcpus
    }

    /// Adds this receiver's unreported pending state to an INFO_GET answer: one list with no
    /// vCPU for global (and framework) notifications, then lists of up to three vCPU IDs.
    /// Returns false if something did not fit (it stays unreported: "more pending").
    fn report(&mut self, id: EndpointId, out: &mut InfoLists) -> bool {
        if self.aborted {
            // Nothing is pending (`Notifications::drop_sp`); said here too, so that INFO_GET
            // never names an aborted partition whatever its state.
            return true;
        }
        let global = self.global != 0 || self.fwk_spm != 0 || self.fwk_hyp != 0;
        if global && !self.global_reported {
            if !out.push(InfoGetList {
                endpoint: id,
                vcpus: [0; 3],
                vcpu_count: 0,
            }) {
                return false;
            }
            self.global_reported = true;
        }
        let mut list = InfoGetList {
            endpoint: id,
            vcpus: [0; 3],
            vcpu_count: 0,
        };
        let mut in_list = 0u16;
        for v in 0..usize::from(self.vcpus).min(MAX_VCPUS) {
            if self.vcpu_pending[v] == 0 || self.vcpus_reported & (1 << v) != 0 {
                continue;
            }
            list.vcpus[usize::from(list.vcpu_count)] = v as u16;
            list.vcpu_count += 1;
            in_list |= 1 << v;
            if list.vcpu_count == 3 {
                if !out.push(list) {
                    return false;
                }
                self.vcpus_reported |= in_list;
                in_list = 0;
                list.vcpu_count = 0;
            }
        }
        if list.vcpu_count > 0 {
            if !out.push(list) {
                return false;
            }
            self.vcpus_reported |= in_list;
        }
        true
    }
}

/// The lists of one FFA_NOTIFICATION_INFO_GET answer, within the register capacity.
struct InfoLists {
    lists: [InfoGetList; ffa_abi::notification::MAX_IDS_64],
    count: usize,
    ids: usize,
    max_ids: usize,
}

impl InfoLists {
    fn push(&mut self, l: InfoGetList) -> bool {
        let need = 1 + usize::from(l.vcpu_count);
        if self.ids + need > self.max_ids || self.count == self.lists.len() || self.count == 31 {
            return false;
        }
        self.lists[self.count] = l;
        self.count += 1;
        self.ids += need;
        true
    }
}

/// One normal-world VM's bitmap slot.
#[derive(Debug)]
struct VmSlot {
    id: EndpointId,
    receiver: Receiver,
}

/// The SPMC's notification state: per-SP receivers (index of the partition table), VM slots,
/// and per-core delayed-SRI flags.
pub struct Notifications {
    sps: Vec<Mutex<Receiver>>,
    vms: [Mutex<Option<VmSlot>>; NW_VM_SLOTS],
    /// Taken by BITMAP_CREATE/DESTROY only.
    admin: Mutex<()>,
    sri_delayed: [AtomicBool; MAX_CORES],
}

impl Notifications {
    /// State for `sp_vcpus[i]` execution contexts of each SP, nothing bound.
    pub fn new(sp_vcpus: impl Iterator<Item = u16>) -> Self {
        Self {
            sps: sp_vcpus.map(|n| Mutex::new(Receiver::new(n))).collect(),
            vms: [const { Mutex::new(None) }; NW_VM_SLOTS],
            admin: Mutex::new(()),
            sri_delayed: [const { AtomicBool::new(false) }; MAX_CORES],
        }
    }

    /// Runs `f` on the receiver state of VM `id`, if it has a bitmap.
    fn with_vm<T>(&self, id: EndpointId, f: impl FnOnce(&mut Receiver) -> T) -> Option<T> {
        for slot in &self.vms {
            let mut s = slot.lock();
            if let Some(v) = s.as_mut().filter(|v| v.id == id) {
                return Some(f(&mut v.receiver));
            }
        }
        None
    }

    /// Whether VM `id` has a notification bitmap (FFA_NOTIFICATION_BITMAP_CREATE).
    pub fn has_vm(&self, id: EndpointId) -> bool {
        self.with_vm(id, |_| ()).is_some()
    }

    /// SP `index` was aborted: drops its notification state (bindings, pending partition and
    /// framework notifications, INFO_GET's record of them) and refuses notifications towards
    /// it from now on (ABORTED). Part of `indirect::drop_aborted`, the one clean-up of an
    /// aborted partition's messaging state.
    pub fn drop_sp(&self, index: usize) {
        self.with_sp(index, |r| {
            *r = Receiver {
                aborted: true,
                ..Receiver::new(r.vcpus)
            }
        });
    }

    /// SP `index` runs again (restarted from its image): an empty receiver, open again.
    pub fn reopen_sp(&self, index: usize) {
        self.with_sp(index, |r| *r = Receiver::new(r.vcpus));
    }

    /// Whether SP `index` was aborted (and not restarted).
    pub fn sp_aborted(&self, index: usize) -> bool {
        self.with_sp(index, |r| r.aborted).unwrap_or(false)
    }

    /// Runs `f` on the receiver state of SP table index `index`.
    pub fn with_sp<T>(&self, index: usize, f: impl FnOnce(&mut Receiver) -> T) -> Option<T> {
        self.sps.get(index).map(|m| f(&mut m.lock()))
    }

    fn create(&self, id: EndpointId, vcpus: u32) -> Result<(), ErrorCode> {
        let _admin = self.admin.lock();
        if self.with_vm(id, |_| ()).is_some() {
            return Err(ErrorCode::Denied);
        }
        if vcpus as usize > MAX_VCPUS {
            return Err(ErrorCode::NoMemory);
        }
        for slot in &self.vms {
            let mut s = slot.lock();
            if s.is_none() {
                *s = Some(VmSlot {
                    id,
                    receiver: Receiver::new(vcpus as u16),
                });
                return Ok(());
            }
        }
        Err(ErrorCode::NoMemory)
    }

    fn destroy(&self, id: EndpointId) -> Result<(), ErrorCode> {
        let _admin = self.admin.lock();
        for slot in &self.vms {
            let mut s = slot.lock();
            if s.as_ref().is_some_and(|v| v.id == id) {
                if s.as_ref().is_some_and(|v| v.receiver.any_pending()) {
                    return Err(ErrorCode::Denied);
                }
                *s = None;
                return Ok(());
            }
        }
        Err(ErrorCode::Denied)
    }

    /// Marks this core's SRI as owed when the SPMC next returns to the normal world.
    fn delay_sri(&self, core: usize) {
        if let Some(f) = self.sri_delayed.get(core) {
            f.store(true, Ordering::Relaxed);
        }
    }

    /// Raises the SRI on this core now (and forgets a delayed one).
    pub fn raise_sri(&self, env: &impl Env) {
        if let Some(f) = self.sri_delayed.get(env.core()) {
            f.store(false, Ordering::Relaxed);
        }
        env.raise_ns_sgi(SRI_INTID);
    }

    /// Raises the SRI, now or (`delay`) on the way back to the normal world.
    pub fn signal(&self, env: &impl Env, delay: bool) {
        if delay {
            self.delay_sri(env.core());
        } else {
            self.raise_sri(env);
        }
    }

    /// Called on the way back to the normal world: raises a delayed SRI.
    pub fn on_return_to_nw(&self, env: &impl Env) {
        // One load on every return to the normal world; the swap only when one is owed.
        let owed = self
            .sri_delayed
            .get(env.core())
            .is_some_and(|f| f.load(Ordering::Relaxed) && f.swap(false, Ordering::Relaxed));
        if owed {
            env.raise_ns_sgi(SRI_INTID);
        }
    }

    /// Sets a framework notification on `receiver` (an SP or a VM with a bitmap); false if
    /// the receiver cannot get notifications (no bitmap, or no `notification-support`).
    pub fn set_framework(
        &self,
        spmc: &Spmc,
        receiver: EndpointId,
        bits: u32,
        from_vm: bool,
    ) -> bool {
        if receiver.is_secure() {
            match spmc.table.index_of(receiver) {
                Some(i) if spmc.table.partitions[i].notification_support => self
                    .with_sp(i, |r| r.set_framework(bits, from_vm))
                    .is_some(),
                _ => false,
            }
        } else {
            self.with_vm(receiver, |r| r.set_framework(bits, from_vm))
                .is_some()
        }
    }
}

/// The notification ABIs.
pub fn handle<'s, E: Env>(cx: &mut Cx<'s, '_, E>, call: &Interface, out: &mut Regs) -> Flow<'s> {
    *out = match answer(cx, call) {
        Ok(r) => r,
        Err(e) => Regs::error(e),
    };
    Flow::Reply
}

fn answer<E: Env>(cx: &mut Cx<'_, '_, E>, call: &Interface) -> Result<Regs, ErrorCode> {
    let spmc = cx.spmc;
    let n = &spmc.notify;
    match *call {
        Interface::NotificationBitmapCreate { vm_id, vcpu_count } => {
            if vm_id.is_secure() || vcpu_count == 0 {
                return Err(ErrorCode::InvalidParameters);
            }
            n.create(vm_id, vcpu_count)?;
            Ok(Regs::success_w2(0))
        }
        Interface::NotificationBitmapDestroy { vm_id } => {
            if vm_id.is_secure() {
                return Err(ErrorCode::InvalidParameters);
            }
            n.destroy(vm_id)?;
            Ok(Regs::success_w2(0))
        }
        Interface::NotificationBind {
            pair,
            flags,
            bitmap,
        } => update_binding(cx, pair, bitmap, Some(flags & FLAG_PER_VCPU != 0)),
        Interface::NotificationUnbind { pair, bitmap } => update_binding(cx, pair, bitmap, None),
        Interface::NotificationSet {
            pair,
            flags,
            bitmap,
        } => set(cx, pair, flags, bitmap),
        Interface::NotificationGet {
            vcpu,
            receiver,
            flags,
        } => get(cx, vcpu, receiver, flags),
        Interface::NotificationInfoGet { is_64 } => info_get(spmc, is_64),
        _ => Err(ErrorCode::NotSupported),
    }
}

/// Where a receiver's state lives.
#[derive(Clone, Copy)]
enum Place {
    Sp(usize),
    Vm(EndpointId),
}

fn with_receiver<T>(spmc: &Spmc, place: Place, f: impl FnOnce(&mut Receiver) -> T) -> Option<T> {
    match place {
        Place::Sp(i) => spmc.notify.with_sp(i, f),
        Place::Vm(id) => spmc.notify.with_vm(id, f),
    }
}

/// The capability gate for an SP sender: the `notify` grant for the receiver.
fn gate(spmc: &Spmc, sender: EndpointId, receiver: EndpointId) -> Result<(), ErrorCode> {
    if !sender.is_secure() {
        return Ok(());
    }
    let s = spmc
        .table
        .by_id(sender)
        .ok_or(ErrorCode::InvalidParameters)?;
    policy::may_notify(s, receiver)
}

/// Finds an SP receiver's place; one without `notification-support` gets `not_enabled`.
fn sp_place(spmc: &Spmc, id: EndpointId, not_enabled: ErrorCode) -> Result<Place, ErrorCode> {
    let i = spmc
        .table
        .index_of(id)
        .ok_or(ErrorCode::InvalidParameters)?;
    if !spmc.table.partitions[i].notification_support {
        return Err(not_enabled);
    }
    Ok(Place::Sp(i))
}

/// ABORTED if `id` is an SP that was aborted: a binding or notification towards it can never
/// be used (FF-A names ABORTED for a partition that aborted, as for a direct request or
/// FFA_RUN to it). Checked after the parameters, before the capability gate.
fn not_aborted(spmc: &Spmc, id: EndpointId) -> Result<(), ErrorCode> {
    match spmc.table.index_of(id) {
        Some(i) if id.is_secure() && spmc.notify.sp_aborted(i) => Err(ErrorCode::Aborted),
        _ => Ok(()),
    }
}

/// FFA_NOTIFICATION_BIND (`per_vcpu` is `Some`) and UNBIND (`None`).
fn update_binding<E: Env>(
    cx: &Cx<'_, '_, E>,
    pair: EndpointPair,
    bitmap: u64,
    per_vcpu: Option<bool>,
) -> Result<Regs, ErrorCode> {
    let spmc = cx.spmc;
    let (sender, receiver) = (pair.source, pair.destination);
    if sender == receiver || bitmap == 0 {
        return Err(ErrorCode::InvalidParameters);
    }
    let place = match &cx.caller {
        Caller::Sp(sp, _) => {
            if receiver != sp.id() {
                return Err(ErrorCode::InvalidParameters);
            }
            if sender.is_secure() && spmc.table.by_id(sender).is_none() {
                return Err(ErrorCode::InvalidParameters);
            }
            sp_place(spmc, receiver, ErrorCode::NotSupported)?
        }
        Caller::NormalWorld => {
            if receiver.is_secure() || !sender.is_secure() || spmc.table.by_id(sender).is_none() {
                return Err(ErrorCode::InvalidParameters);
            }
            Place::Vm(receiver)
        }
    };
    if per_vcpu.is_some() {
        // Binding an aborted sender: ABORTED. Unbinding one stays possible (clean-up).
        not_aborted(spmc, sender)?;
        gate(spmc, sender, receiver)?;
    }
    let r = with_receiver(spmc, place, |r| match per_vcpu {
        Some(pv) => r.bind(sender, bitmap, pv),
        None => r.unbind(sender, bitmap),
    });
    r.ok_or(ErrorCode::InvalidParameters)??;
    Ok(Regs::success_w2(0))
}

/// FFA_NOTIFICATION_SET.
fn set<E: Env>(
    cx: &mut Cx<'_, '_, E>,
    pair: EndpointPair,
    flags: u32,
    bitmap: u64,
) -> Result<Regs, ErrorCode> {
    let spmc = cx.spmc;
    let (sender, receiver) = (pair.source, pair.destination);
    let per_vcpu = flags & FLAG_PER_VCPU != 0;
    let delay = flags & FLAG_DELAY_SRI != 0;
    let vcpu = (flags >> 16) as u16;
    if (!per_vcpu && vcpu != 0) || sender == receiver || bitmap == 0 {
        return Err(ErrorCode::InvalidParameters);
    }
    match &cx.caller {
        Caller::Sp(sp, _) => {
            if sender != sp.id() {
                return Err(ErrorCode::InvalidParameters);
            }
        }
        Caller::NormalWorld => {
            if sender.is_secure() || !receiver.is_secure() || delay {
                return Err(ErrorCode::InvalidParameters);
            }
        }
    }
    let place = if receiver.is_secure() {
        sp_place(spmc, receiver, ErrorCode::Denied)?
    } else {
        Place::Vm(receiver)
    };
    not_aborted(spmc, receiver)?;
    gate(spmc, sender, receiver)?;
    let r = with_receiver(spmc, place, |r| {
        r.set(sender, bitmap, per_vcpu.then_some(vcpu))
    });
    r.ok_or(ErrorCode::InvalidParameters)??;
    spmc.notify.signal(&*cx.env, delay);
    Ok(Regs::success_w2(0))
}

/// FFA_NOTIFICATION_GET.
fn get<E: Env>(
    cx: &Cx<'_, '_, E>,
    vcpu: u16,
    receiver: EndpointId,
    flags: u32,
) -> Result<Regs, ErrorCode> {
    let spmc = cx.spmc;
    let place = match &cx.caller {
        Caller::Sp(sp, _) => {
            if receiver != sp.id() {
                return Err(ErrorCode::InvalidParameters);
            }
            Place::Sp(sp.index)
        }
        Caller::NormalWorld => {
            // VM and hypervisor notifications of a VM are the hypervisor's business, not the
            // SPMC's (Hafnium `ffa_notifications_is_get_valid`).
            if receiver.is_secure() || flags & (GET_VM | GET_HYP) != 0 {
                return Err(ErrorCode::InvalidParameters);
            }
            Place::Vm(receiver)
        }
    };
    let got = with_receiver(spmc, place, |r| {
        if vcpu >= r.vcpus() {
            Err(ErrorCode::InvalidParameters)
        } else {
            Ok(r.get(vcpu, flags))
        }
    });
    Ok(got.ok_or(ErrorCode::InvalidParameters)??.to_success())
}

/// FFA_NOTIFICATION_INFO_GET (normal world only): the endpoints with pending notifications not
/// yet reported, VMs first, then SPs; NO_DATA if there are none.
fn info_get(spmc: &Spmc, is_64: bool) -> Result<Regs, ErrorCode> {
    let mut lists = InfoLists {
        lists: [InfoGetList::default(); ffa_abi::notification::MAX_IDS_64],
        count: 0,
        ids: 0,
        max_ids: if is_64 {
            ffa_abi::notification::MAX_IDS_64
        } else {
            ffa_abi::notification::MAX_IDS_32
        },
    };
    let mut more = false;
    for slot in &spmc.notify.vms {
        if more {
            break;
        }
        if let Some(v) = slot.lock().as_mut() {
            more = !v.receiver.report(v.id, &mut lists);
        }
    }
    for (i, p) in spmc.table.partitions.iter().enumerate() {
        if more {
            break;
        }
        more = spmc
            .notify
            .with_sp(i, |r| !r.report(p.id, &mut lists))
            .unwrap_or(false);
    }
    if lists.count == 0 {
        return Err(ErrorCode::NoData);
    }
    info_get_success(is_64, more, &lists.lists[..lists.count]).map_err(|_| ErrorCode::Aborted)
}
