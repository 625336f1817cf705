//! FF-A memory management ABIs (FF-A v1.2 chapter 16 / DEN0140): the glue between the
//! dispatcher, the callers' RX/TX buffers, the `ffa-abi` descriptor parsers and builders, and
//! the pure transaction engine in `crate::mem_share`, which it drives through the kernel's
//! implementation of the engine's environment traits (`KernelMem`).
//!
//! Memory operations take the one engine lock (they are not on the message path); a core
//! retired while holding it (an SPMC bug) poisons it, and every memory ABI then answers
//! FFA_ERROR(ABORTED) instead of spinning for ever (`crate::sync`). Lock order:
//! a caller SP's runtime lock, then the engine lock, then a mailbox lock: the normal world's
//! (only while its TX buffer is copied into the engine's buffer) or the calling SP's own
//! (`Sp::mailbox`: a copy of the pair, or held while a retrieve response is written into its
//! RX buffer, so that no indirect message lands there meanwhile). Nothing may take the engine
//! lock while holding a mailbox lock.
//!
//! Descriptors are read into a buffer the engine state owns and parsed there, and the
//! request and the retrieve response are filled in buffers it owns too: each of them is
//! kilobytes (up to [`MAX_CONSTITUENTS`] entries), and this kernel's `memcpy` moves 8 bytes
//! in 4 instructions, so a heap copy or a by-value move of one costs thousands.

use super::call::{Caller, Cx, Flow};
use super::partition::{Runtime, Sp, SpMailbox};
use super::{Env, Mailbox, Spmc};
use crate::mem_share::convert;
use crate::mem_share::types::DeviceAttr;
use crate::mem_share::{
    Access, EndpointKind, FragProgress, FragmentAssembler, Limits, MappingAttrs, MemHandle,
    MemKind, MemShare, MemoryType, NoMemory, PageRange, Quota, RegionInfo, RelinquishRequest,
    Reservation, ResponseCursors, RetrieveRequest, RetrieveResponse, Rule, Security,
    TransactionKind, TransactionRequest,
};
use crate::memory::{MemType, UserPerm, PAGE_SIZE};
use crate::sync::CoreGuard;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use ffa_abi::endpoint::EndpointId;
use ffa_abi::error::ErrorCode;
use ffa_abi::func_id::FuncId;
use ffa_abi::interface::{Interface, MemTxArgs};
use ffa_abi::memory::relinquish::MemRelinquish;
use ffa_abi::memory::transaction::MemTransaction;
use ffa_abi::regs::Regs;
use ffa_abi::version::Version;

/// The error for a memory ABI whose caller has no RX/TX buffers mapped: the descriptor it
/// names cannot exist (Hafnium answers INVALID_PARAMETERS too).
const NO_MAILBOX: ErrorCode = ErrorCode::InvalidParameters;

/// Concurrent live transactions: room for the default quotas of the normal world (8) and
/// eight SPs (2 each); manifest-tool refuses an SP set whose quotas add up to more.
pub const MAX_TRANSACTIONS: usize = spmc_table::memory_capacity::TRANSACTIONS as usize;
/// Receivers per transaction.
pub const MAX_RECEIVERS: usize = 8;
/// Constituents per transaction (the 250-range transactions fit).
pub const MAX_CONSTITUENTS: usize = 256;
/// Donated ranges the engine tracks: room for the default quotas of the normal world (32) and
/// twelve SPs (8 each).
pub const MAX_DONATED: usize = spmc_table::memory_capacity::DONATED as usize;
/// Fragmented sends in flight, and the largest reassembled descriptor.
pub const FRAG_SLOTS: usize = spmc_table::memory_capacity::FRAGMENT_SLOTS as usize;
pub const FRAG_BYTES: usize = 0x2000;
/// Retrieve responses in fragmented transmission (one per SP at most).
pub const RESPONSE_SLOTS: usize = 8;
/// TX bytes read into the engine's own buffer; a longer read (no descriptor the engine can
/// accept needs one) goes through a heap buffer as before.
pub const TX_COPY_BYTES: usize = 0x2000;
/// Page-table pages all reservations together may hold at once (16 MiB of the SPMC heap):
/// each reserved page is a real page taken from the heap into the SP's table pool
/// (`AddressSpace::reserve_tables`); this bound keeps the memory ABIs from starving the
/// heap's other users.
pub const TABLE_PAGE_BUDGET: u64 = 4096;

type Engine = MemShare<MAX_TRANSACTIONS, MAX_RECEIVERS, MAX_CONSTITUENTS, MAX_DONATED>;
type Request = TransactionRequest<MAX_RECEIVERS, MAX_CONSTITUENTS>;
type Response = RetrieveResponse<MAX_CONSTITUENTS>;

/// The memory engine and its fragment state.
pub struct MemState {
    engine: Engine,
    frags: FragmentAssembler<FRAG_SLOTS, FRAG_BYTES>,
    cursors: ResponseCursors<RESPONSE_SLOTS, MAX_CONSTITUENTS>,
    /// The current call's copy of the caller's TX buffer (engine lock held).
    tx: TxCopy,
    /// The send request being converted and sent.
    request: Request,
    /// An SP sender's constituents translated to physical ranges, before they replace the
    /// request's.
    pieces: heapless::Vec<PageRange, MAX_CONSTITUENTS>,
    /// The retrieve response being encoded.
    response: Response,
}

/// The engine's copy of a TX buffer (and its retrieve-response staging), 8-byte aligned: the
/// descriptor parser and writer then read and write constituent records and the response's
/// fields as aligned words (ffa-abi `records`, `TransactionBuilder::write_fragment`), where
/// the strict-alignment firmware would otherwise move them a byte at a time.
#[repr(C, align(8))]
struct TxCopy([u8; TX_COPY_BYTES]);

/// The engine's full capacity, for platforms that do not lower it.
pub const DEFAULT_LIMITS: Limits = Limits {
    max_transactions: MAX_TRANSACTIONS,
    max_receivers: MAX_RECEIVERS,
    max_constituents: MAX_CONSTITUENTS,
    nw_quota: Quota::NW_DEFAULT,
    sp_quota: Quota::SP_DEFAULT,
};

impl MemState {
    /// Creates the engine with the platform's limits (clamped to its capacity).
    pub fn new(limits: Limits) -> Self {
        Self {
            engine: MemShare::new(limits),
            frags: FragmentAssembler::new(),
            cursors: ResponseCursors::new(),
            tx: TxCopy([0; TX_COPY_BYTES]),
            request: TransactionRequest {
                kind: TransactionKind::Share,
                sender: EndpointId(0),
                attributes: MemoryType::NotSpecified,
                flags: 0,
                tag: 0,
                receivers: heapless::Vec::new(),
                total_pages: 0,
                constituents: heapless::Vec::new(),
            },
            pieces: heapless::Vec::new(),
            response: crate::mem_share::transaction::dead_response(EndpointId(0)),
        }
    }

    /// Live transactions (for tests and diagnostics).
    pub fn live(&self) -> usize {
        self.engine.transactions().count()
    }

    /// Table pages the engine holds in reservations (for tests and diagnostics).
    pub fn held_table_pages(&self) -> u64 {
        self.engine.held_table_pages()
    }
}

impl Default for MemState {
    fn default() -> Self {
        Self::new(DEFAULT_LIMITS)
    }
}

/// Table pages held by live reservations (in the SPs' pools), against [`TABLE_PAGE_BUDGET`].
static TABLE_PAGES_RESERVED: AtomicU64 = AtomicU64::new(0);

fn err(rule: Rule) -> Regs {
    Regs::error(rule.error().into())
}

fn handle_regs(fid: FuncId, handle: MemHandle, w3: u32, w4: u32) -> Regs {
    let (lo, hi) = handle.to_regs();
    let mut r = Regs::ZERO;
    r.0[0] = fid.raw().into();
    r.0[1] = lo;
    r.0[2] = hi;
    r.0[3] = w3.into();
    r.0[4] = w4.into();
    r
}

/// The kernel's implementation of the engine's environment: ownership from the partition
/// table and the platform, the capability gate, the SP page tables, zeroing through the alias
/// window.
struct KernelMem<'a, E: Env> {
    spmc: &'a Spmc,
    env: &'a mut E,
    /// Who is calling; an SP caller's runtime is already locked (by the dispatcher), so the
    /// engine reaches it through here, never through its lock.
    caller: Caller<'a>,
}

fn sp_of(spmc: &Spmc, id: EndpointId) -> Option<&Sp> {
    spmc.table.index_of(id).map(|i| &spmc.sps[i])
}

impl<E: Env> KernelMem<'_, E> {
    /// Runs `f` on SP `id`'s runtime: the caller's (already locked) or another SP's through
    /// `try_lock` (never waiting).
    fn with_rt<T>(&mut self, id: EndpointId, f: impl FnOnce(&mut Runtime) -> T) -> Option<T> {
        if let Caller::Sp(sp, rt) = &mut self.caller {
            if sp.id() == id {
                return Some(f(rt));
            }
        }
        let sp = sp_of(self.spmc, id)?;
        let mut rt = sp.rt.try_lock()?;
        Some(f(&mut rt))
    }

    /// Maps (`perm` given) or unmaps `ranges` in SP `sp`'s tables at VA = PA, then
    /// invalidates its TLB entries and returns spare table pages beyond what it keeps to the
    /// heap. Used for borrowers and owners alike: every mapping the memory ABIs make or
    /// remove is at VA = PA, so no VA has to be looked up or remembered. Returns the reserved
    /// table pages the mapping used.
    fn set_ranges(&mut self, sp: EndpointId, ranges: &[PageRange], perm: Option<UserPerm>) -> u32 {
        let done = self.with_rt(sp, |rt| {
            let space = rt.space.as_mut()?;
            // One look at each range decides the order, the chunks and the counts (ranges in
            // address order, what senders usually give, take one walk per 2 MiB chunk); a
            // failed map leaves nothing mapped.
            let res = match perm {
                Some(p) => space.map_shared_ranges(ranges, p),
                None => space.unmap_shared_ranges(ranges).map(|()| 0),
            };
            let used = res.unwrap_or_else(|_| {
                crate::info!(
                    "BUG: page-table update of {} ranges at {:#x} failed after reservation",
                    ranges.len(),
                    ranges.first().map_or(0, |r| r.base.0)
                );
                0
            });
            Some((space.asid(), used))
        });
        match done.flatten() {
            Some((asid, used)) => {
                self.env.tlb_invalidate_asid(asid);
                // The walker no longer holds tables the unmaps freed: they may leave the pool.
                let _ = self.with_rt(sp, |rt| rt.space.as_mut().map(|s| s.trim_pool()));
                u32::try_from(used).unwrap_or(u32::MAX)
            }
            None => {
                crate::info!(
                    "BUG: SP {:#06x} tables not reachable for a memory commit",
                    sp.0
                );
                0
            }
        }
    }

    /// Gives `n` reserved pages of SP `sp`'s pool back (they become spare) and off the
    /// global count.
    fn unreserve(&mut self, sp: EndpointId, n: u32) {
        TABLE_PAGES_RESERVED.fetch_sub(u64::from(n), Ordering::Relaxed);
        let _ = self.with_rt(sp, |rt| {
            if let Some(space) = rt.space.as_mut() {
                space.release_tables(n as usize);
                space.trim_pool();
            }
        });
    }
}

/// The access an SP has now to every page of `range` (pages of its image region, whose
/// permissions MEM_PERM_SET set during its initialisation), if it is the same on all of them
/// and normal secure memory.
fn current_access(rt: &Runtime, range: PageRange) -> Option<Access> {
    let space = rt.space.as_ref()?;
    let mut access = None;
    for i in 0..u64::from(range.pages) {
        let p = space.user_perm(range.base.0 + i * PAGE_SIZE)?;
        if p.is_device() || p.non_secure {
            return None;
        }
        let a = Access {
            write: p.write,
            exec: p.exec,
        };
        match access {
            None => access = Some(a),
            Some(x) if x == a => {}
            Some(_) => return None,
        }
    }
    access
}

fn user_perm(attrs: MappingAttrs) -> UserPerm {
    UserPerm {
        write: attrs.access.write,
        exec: attrs.access.exec,
        non_secure: attrs.non_secure,
        memory: match attrs.memory {
            MemoryType::Device(DeviceAttr::NGnRnE) => MemType::DeviceNgnrne,
            MemoryType::Device(DeviceAttr::NGnRE) => MemType::DeviceNgnre,
            MemoryType::Device(DeviceAttr::NGRE) => MemType::DeviceNgre,
            MemoryType::Device(DeviceAttr::GRE) => MemType::DeviceGre,
            _ => MemType::Normal,
        },
    }
}

impl<E: Env> crate::mem_share::OwnershipOracle for KernelMem<'_, E> {
    /// Answered by the one ownership query (`super::ownership`): what the owner holds over the
    /// whole range, if it may share it.
    fn static_region(&self, owner: EndpointId, range: PageRange) -> Option<RegionInfo> {
        use super::ownership::{self, Kind, Use};
        let len = u64::from(range.pages).checked_mul(PAGE_SIZE)?;
        if !owner.is_secure() {
            // The normal world owns non-secure DRAM only (never SPMC or SP memory).
            ownership::nw_region(self.spmc.platform.ns_memory, range.base.0, len)?;
            return Some(RegionInfo {
                access: Access {
                    write: true,
                    exec: true,
                },
                kind: MemKind::Normal,
                security: Security::NonSecure,
            });
        }
        let p = self.spmc.table.by_id(owner)?;
        let r = ownership::sp_region(p, range.base.0, len).filter(|r| r.may(Use::Share))?;
        let security = if r.non_secure {
            Security::NonSecure
        } else {
            Security::Secure
        };
        let (access, kind) = match r.kind {
            // The image region (code, data, bss: the SP owns it as much as its memory regions;
            // Hafnium lets a partition share any page it owns, and Arm's ACS partitions share
            // buffers in their .bss): with the access the SP has now, uniform over the range.
            Kind::Image => {
                let access = match &self.caller {
                    Caller::Sp(sp, rt) if sp.id() == owner => current_access(rt, range),
                    _ => {
                        let sp = sp_of(self.spmc, owner)?;
                        let rt = sp.rt.try_lock()?;
                        current_access(&rt, range)
                    }
                }?;
                (access, MemKind::Normal)
            }
            Kind::Device => (
                Access {
                    write: r.write,
                    exec: false,
                },
                MemKind::Device,
            ),
            _ => (
                Access {
                    write: r.write,
                    exec: r.exec,
                },
                MemKind::Normal,
            ),
        };
        Some(RegionInfo {
            access,
            kind,
            security,
        })
    }

    /// The normal world's answer is the same for every range of non-secure memory, so a
    /// span inside it answers for every range in it. SPs' regions nest (a memory region in
    /// the image region answers differently): asked per range.
    fn static_span(&self, owner: EndpointId, span: PageRange) -> Option<RegionInfo> {
        if owner.is_secure() {
            return None;
        }
        self.static_region(owner, span)
    }

    /// Any region of the SP's partition-table entry (the loader maps every one of them).
    fn statically_held(&self, sp: EndpointId, range: PageRange) -> bool {
        let Some(p) = self.spmc.table.by_id(sp) else {
            return false;
        };
        let len = u64::from(range.pages).saturating_mul(PAGE_SIZE);
        super::ownership::sp_holds_any(p, range.base.0, len)
    }
}

impl<E: Env> crate::mem_share::SharePolicy for KernelMem<'_, E> {
    fn endpoint_kind(&self, id: EndpointId) -> Option<EndpointKind> {
        if !id.is_secure() {
            return Some(EndpointKind::NormalWorld);
        }
        self.spmc.table.by_id(id).map(|_| EndpointKind::Sp)
    }

    fn may_send(&self, _kind: TransactionKind, sender: EndpointId, receiver: EndpointId) -> bool {
        let sender_p = if sender.is_secure() {
            match self.spmc.table.by_id(sender) {
                Some(p) => Some(p),
                None => return false,
            }
        } else {
            None
        };
        crate::policy::may_share_memory(sender_p, receiver).is_ok()
    }

    fn quota_override(&self, id: EndpointId) -> Option<Quota> {
        let q = self.spmc.table.by_id(id)?.capabilities.memory_quota;
        if q == spmc_table::MemoryQuota::DEFAULT {
            return None;
        }
        let d = self.spmc.platform.memory_limits.sp_quota;
        Some(Quota {
            transactions: q.transactions.unwrap_or(d.transactions),
            fragments: q.fragments.unwrap_or(d.fragments),
            donated: q.donated.unwrap_or(d.donated),
        })
    }
}

/// Worst-case table pages to map `ranges` as 4 KiB entries (`crate::memory::table_pages_for`:
/// one table per 2 MiB chunk, 1 GiB and 512 GiB the ranges touch, so a scattered region whose
/// ranges share chunks needs a few pages, not one per range).
impl crate::memory::PageSpan for PageRange {
    fn span(self) -> (u64, u64) {
        (self.base.0, u64::from(self.pages))
    }
}

fn table_cost(ranges: &[PageRange]) -> u32 {
    let n = crate::memory::table_pages_for(ranges.iter().map(|r| (r.base.0, u64::from(r.pages))));
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl<E: Env> crate::mem_share::SpAddressSpaces for KernelMem<'_, E> {
    fn map_cost(&self, _sp: EndpointId, ranges: &[PageRange]) -> u32 {
        table_cost(ranges)
    }

    fn owner_cost(&self, _sp: EndpointId, ranges: &[PageRange]) -> u32 {
        table_cost(ranges)
    }

    fn reserve(&mut self, sp: EndpointId, table_pages: u32) -> Result<Reservation, NoMemory> {
        let want = u64::from(table_pages);
        let prev = TABLE_PAGES_RESERVED.fetch_add(want, Ordering::Relaxed);
        if prev + want > TABLE_PAGE_BUDGET {
            TABLE_PAGES_RESERVED.fetch_sub(want, Ordering::Relaxed);
            return Err(NoMemory);
        }
        // Real pages, now: the commit's map takes its tables from them and cannot fail.
        let got = self.with_rt(sp, |rt| {
            rt.space
                .as_mut()
                .is_some_and(|s| s.reserve_tables(table_pages as usize))
        });
        if got != Some(true) {
            TABLE_PAGES_RESERVED.fetch_sub(want, Ordering::Relaxed);
            return Err(NoMemory);
        }
        Ok(Reservation::new(sp, table_pages))
    }

    fn release(&mut self, reservation: Reservation) {
        self.unreserve(reservation.sp(), reservation.table_pages());
    }

    fn adopt(&mut self, reservation: Reservation) {
        self.unreserve(reservation.sp(), reservation.table_pages());
    }

    fn map(&mut self, reservation: &mut Reservation, ranges: &[PageRange], attrs: MappingAttrs) {
        let used = self.set_ranges(reservation.sp(), ranges, Some(user_perm(attrs)));
        TABLE_PAGES_RESERVED.fetch_sub(u64::from(reservation.consume(used)), Ordering::Relaxed);
        // Unmapping never needs table pages (it only frees them): what the map did not use
        // goes back now rather than sit in the reservation until the relinquish.
        let rest = reservation.table_pages();
        reservation.consume(rest);
        self.unreserve(reservation.sp(), rest);
    }

    fn unmap(&mut self, reservation: &mut Reservation, ranges: &[PageRange]) {
        self.set_ranges(reservation.sp(), ranges, None);
    }

    fn revoke_owner(&mut self, reservation: &mut Reservation, ranges: &[PageRange]) {
        // Kept whole for the restore at reclaim, which may have to rebuild tables the revoke
        // freed (memory donated to the SP has no pinned tables).
        self.set_ranges(reservation.sp(), ranges, None);
    }

    fn restore_owner(
        &mut self,
        reservation: &mut Reservation,
        ranges: &[PageRange],
        attrs: MappingAttrs,
    ) {
        let used = self.set_ranges(reservation.sp(), ranges, Some(user_perm(attrs)));
        TABLE_PAGES_RESERVED.fetch_sub(u64::from(reservation.consume(used)), Ordering::Relaxed);
    }
}

impl<E: Env> crate::mem_share::MemoryZeroing for KernelMem<'_, E> {
    fn zero(&mut self, range: PageRange) {
        let len = u64::from(range.pages) * PAGE_SIZE;
        if !self.env.zero_phys(range.base.0, len) {
            crate::info!("BUG: zeroing {:#x} failed", range.base.0);
        }
    }
}

/// The memory management ABIs, from any caller (the ABI table keeps the borrower-side ones to
/// partitions).
pub fn handle<'s, E: Env>(cx: &mut Cx<'s, '_, E>, call: &Interface, out: &mut Regs) -> Flow<'s> {
    let (spmc, version) = (cx.spmc, cx.version);
    let env = &mut *cx.env;
    let caller = &mut cx.caller;
    *out = match call {
        Interface::MemShare(a) | Interface::MemLend(a) | Interface::MemDonate(a) => {
            send_into(spmc, env, caller, call.func_id(), *a, version, out);
            return Flow::Reply;
        }
        Interface::MemFragTx {
            handle,
            frag_len,
            sender,
        } => {
            // w4 names the sender VM: only the normal world (a hypervisor) gives one, and
            // never a secure ID; an SP's w4 is ignored.
            if matches!(caller, Caller::NormalWorld) && sender.is_secure() {
                Regs::error(ErrorCode::InvalidParameters)
            } else {
                frag_tx(spmc, env, caller, *handle, *frag_len, version)
            }
        }
        Interface::MemReclaim { handle, flags } => reclaim(spmc, env, caller, *handle, *flags),
        Interface::MemRetrieveReq(a) => retrieve(spmc, env, caller, *a),
        Interface::MemFragRx { handle, offset, .. } => frag_rx(spmc, env, caller, *handle, *offset),
        Interface::MemRelinquish => relinquish(spmc, env, caller),
        _ => Regs::error(ErrorCode::NotSupported),
    };
    Flow::Reply
}

/// The first bytes of a caller's TX buffer: in the engine's buffer when they fit it, in a
/// heap buffer otherwise.
enum TxBytes<'a> {
    Buf(&'a [u8]),
    Heap(Vec<u8>),
}

impl core::ops::Deref for TxBytes<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            TxBytes::Buf(b) => b,
            TxBytes::Heap(v) => v,
        }
    }
}

/// Copies `len` bytes of a caller's TX buffer, into `buf` when they fit.
fn read_tx<'a>(
    env: &impl Env,
    mb: &Mailbox,
    len: u32,
    buf: &'a mut [u8],
) -> Result<TxBytes<'a>, ErrorCode> {
    if u64::from(len) > u64::from(mb.pages) * PAGE_SIZE {
        return Err(ErrorCode::InvalidParameters);
    }
    let len = len as usize;
    let out = match buf.get_mut(..len) {
        Some(b) => {
            if !env.read_phys(mb.tx, b) {
                return Err(ErrorCode::InvalidParameters);
            }
            TxBytes::Buf(b)
        }
        None => {
            let mut v = vec![0u8; len];
            if !env.read_phys(mb.tx, &mut v) {
                return Err(ErrorCode::InvalidParameters);
            }
            TxBytes::Heap(v)
        }
    };
    Ok(out)
}

/// FFA_MEM_SHARE/LEND/DONATE (32 and 64) recognised from w0: the dispatcher's memory path.
/// The ABI table implements all six for every caller
/// (`tests::memory::send_fid_agrees_with_the_abi_table`).
#[inline(always)]
pub fn send_fid(w0: u32) -> Option<FuncId> {
    ffa_abi::interface::mem_send_fid(w0)
}

fn kind_of(fid: FuncId) -> Option<TransactionKind> {
    match fid {
        FuncId::MemShare32 | FuncId::MemShare64 => Some(TransactionKind::Share),
        FuncId::MemLend32 | FuncId::MemLend64 => Some(TransactionKind::Lend),
        FuncId::MemDonate32 | FuncId::MemDonate64 => Some(TransactionKind::Donate),
        _ => None,
    }
}

/// What a send call answers, small enough to travel in registers: the answer is written once,
/// into the caller's register block ([`answer_send`]), instead of built and copied (a `Regs`
/// is 144 bytes, and a by-value move of one is a `memcpy` call).
enum Sent {
    /// FFA_SUCCESS with the handle.
    Handle(MemHandle),
    /// FFA_MEM_FRAG_RX: send the next fragment from `offset`.
    More { handle: MemHandle, offset: u32 },
}

fn rule(r: Rule) -> ErrorCode {
    r.error().into()
}

/// Writes the answer to a send call into `out`: FFA_SUCCESS with the handle in w2/w3 (x1 and
/// x4-x17 zero), FFA_MEM_FRAG_RX, or FFA_ERROR.
#[inline(always)]
fn answer_send(out: &mut Regs, sent: Result<Sent, ErrorCode>) {
    match sent {
        Ok(Sent::Handle(handle)) => {
            let (lo, hi) = handle.to_regs();
            let x = &mut out.0;
            x[0] = FuncId::Success32.raw().into();
            x[1] = 0;
            x[2] = lo;
            x[3] = hi;
            // Inline stores in two halves, as `direct::clear_x8_x17` (strict alignment: one
            // 112-byte clear would be a `memset` call).
            x[4..11].fill(0);
            core::hint::black_box(&mut *x);
            x[11..18].fill(0);
        }
        Ok(Sent::More { handle, offset }) => {
            *out = handle_regs(FuncId::MemFragRx, handle, offset, 0);
        }
        Err(e) => *out = Regs::error(e),
    }
}

/// Parses a whole descriptor and sends it through the engine; the new transaction's handle.
#[allow(clippy::too_many_arguments)]
fn send_descriptor<E: Env>(
    km: &mut KernelMem<'_, E>,
    engine: &mut Engine,
    req: &mut Request,
    pieces: &mut heapless::Vec<PageRange, MAX_CONSTITUENTS>,
    kind: TransactionKind,
    version: Version,
    bytes: &[u8],
    handle: Option<MemHandle>,
) -> Result<MemHandle, ErrorCode> {
    // Borrowed where `parse` wrote it: moving the view out of its `Result` was a byte-wise
    // `memcpy` (its fields sit at an odd offset there).
    let parsed = MemTransaction::parse(bytes, version);
    let t = parsed.as_ref().map_err(|e| e.error_code())?;
    convert::fill_transaction_request(kind, t, req).map_err(rule)?;
    // An SP names memory by addresses of its own address space (identity for its manifest
    // regions, elsewhere for memory donated to it): translate them to physical ranges.
    if let Caller::Sp(_, rt) = &km.caller {
        let space = rt.space.as_ref().ok_or(ErrorCode::Denied)?;
        convert::translate_sp_ranges(&req.constituents, pieces, |va| {
            space
                .translate(va.0)
                .map(|(pa, _)| (crate::mem_share::PhysAddr(pa), 1))
        })
        .map_err(rule)?;
        // Only the entries used are copied back (the lists have the same capacity).
        req.constituents.clear();
        let _ = req.constituents.extend_from_slice(pieces);
    }
    // The caller's own RX/TX buffers cannot be lent or donated away: the SPMC keeps writing
    // the RX buffer, which would then be someone else's memory.
    if matches!(kind, TransactionKind::Lend | TransactionKind::Donate) {
        let mailbox = match &km.caller {
            Caller::Sp(sp, _) => sp.mailbox_pair()?,
            Caller::NormalWorld => km.spmc.nw_state()?.mailbox,
        };
        if let Some(mb) = mailbox {
            let len = u64::from(mb.pages) * PAGE_SIZE;
            let hits = |r: &PageRange| {
                let end = r.base.0.saturating_add(u64::from(r.pages) * PAGE_SIZE);
                [mb.rx, mb.tx]
                    .iter()
                    .any(|&b| r.base.0 < b + len && b < end)
            };
            if req.constituents.iter().any(hits) {
                return Err(ErrorCode::Denied);
            }
        }
    }
    let caller = km.caller.id();
    let out = match handle {
        None => engine.send(km, caller, req),
        Some(h) => engine.send_with_handle(km, caller, req, h),
    };
    out.map(|o| o.handle).map_err(rule)
}

/// FFA_MEM_SHARE/LEND/DONATE from the normal world or an SP: the first (or only) fragment is
/// in the caller's TX buffer. [`send_into`] with the answer returned.
pub fn send(
    spmc: &Spmc,
    env: &mut impl Env,
    caller: &mut Caller<'_>,
    fid: FuncId,
    args: MemTxArgs,
    version: Version,
) -> Regs {
    let mut out = Regs::ZERO;
    send_into(spmc, env, caller, fid, args, version, &mut out);
    out
}

/// [`send`], writing the answer into `out` (the caller's registers on the dispatcher's path).
pub fn send_into(
    spmc: &Spmc,
    env: &mut impl Env,
    caller: &mut Caller<'_>,
    fid: FuncId,
    args: MemTxArgs,
    version: Version,
    out: &mut Regs,
) {
    answer_send(out, send_step(spmc, env, caller, fid, args, version));
}

fn send_step(
    spmc: &Spmc,
    env: &mut impl Env,
    caller: &mut Caller<'_>,
    fid: FuncId,
    args: MemTxArgs,
    version: Version,
) -> Result<Sent, ErrorCode> {
    let kind = kind_of(fid).ok_or(ErrorCode::NotSupported)?;
    if args.buffer.is_some() {
        // Dynamically allocated buffers are not supported (FFA_FEATURES says so).
        return Err(ErrorCode::InvalidParameters);
    }
    let Ok(mut state) = spmc.mem.lock(env.core()) else {
        return Err(ErrorCode::Aborted);
    };
    let state = &mut *state;
    let bytes = mailbox_tx(spmc, env, caller, args.frag_len, &mut state.tx.0)?;
    let me = caller.id();
    let mut km = KernelMem {
        spmc,
        env,
        caller: caller.reborrow(),
    };
    if args.frag_len == args.total_len {
        return send_descriptor(
            &mut km,
            &mut state.engine,
            &mut state.request,
            &mut state.pieces,
            kind,
            version,
            &bytes,
            None,
        )
        .map(Sent::Handle);
    }
    convert::check_total_length(&bytes, version, args.total_len).map_err(rule)?;
    let engine = &mut state.engine;
    let quota = usize::from(engine.quota_of(&km, me).fragments);
    match state
        .frags
        .start_within(me, quota, kind, args.total_len, &bytes, || {
            engine.reserve_handle()
        }) {
        Ok(FragProgress::More { handle, offset }) => Ok(Sent::More { handle, offset }),
        Ok(FragProgress::Complete { .. }) => Err(ErrorCode::InvalidParameters),
        Err(r) => Err(rule(r)),
    }
}

/// FFA_MEM_FRAG_TX from the sender of a fragmented transmission.
pub fn frag_tx(
    spmc: &Spmc,
    env: &mut impl Env,
    caller: &mut Caller<'_>,
    handle: MemHandle,
    frag_len: u32,
    version: Version,
) -> Regs {
    let Ok(mut state) = spmc.mem.lock(env.core()) else {
        return Regs::error(ErrorCode::Aborted);
    };
    let state = &mut *state;
    let bytes = match mailbox_tx(spmc, env, caller, frag_len, &mut state.tx.0) {
        Ok(b) => b,
        Err(e) => return Regs::error(e),
    };
    let me = caller.id();
    match state.frags.push(me, handle, &bytes) {
        Ok(FragProgress::More { handle, offset }) => {
            handle_regs(FuncId::MemFragRx, handle, offset, 0)
        }
        Ok(FragProgress::Complete { handle }) => {
            let mut km = KernelMem {
                spmc,
                env,
                caller: caller.reborrow(),
            };
            let engine = &mut state.engine;
            let req = &mut state.request;
            let pieces = &mut state.pieces;
            let r = state.frags.finish(me, handle, |kind, whole| {
                send_descriptor(
                    &mut km,
                    engine,
                    req,
                    pieces,
                    kind,
                    version,
                    whole,
                    Some(handle),
                )
            });
            let mut out = Regs::ZERO;
            answer_send(
                &mut out,
                r.unwrap_or(Err(ErrorCode::InvalidParameters))
                    .map(Sent::Handle),
            );
            out
        }
        Err(rule) => err(rule),
    }
}

/// `sp`'s mailbox lock and its RX/TX pair, for writing a response into a free RX buffer:
/// ABORTED if the mailbox is closed, [`NO_MAILBOX`] without a pair, BUSY while RX is full.
fn free_rx(sp: &Sp) -> Result<(CoreGuard<'_, SpMailbox>, Mailbox), ErrorCode> {
    let mbox = sp.mailbox()?;
    let mb = mbox.pair.ok_or(NO_MAILBOX)?;
    if mb.rx_full {
        return Err(ErrorCode::Busy);
    }
    Ok((mbox, mb))
}

/// Copies `len` bytes of the caller's TX buffer (an SP's, or the normal world's) into `buf`
/// (the engine's, so the engine lock is held).
fn mailbox_tx<'a>(
    spmc: &Spmc,
    env: &impl Env,
    caller: &Caller<'_>,
    len: u32,
    buf: &'a mut [u8],
) -> Result<TxBytes<'a>, ErrorCode> {
    match caller {
        Caller::Sp(sp, _) => {
            let mb = sp.mailbox_pair()?.ok_or(NO_MAILBOX)?;
            read_tx(env, &mb, len, buf)
        }
        Caller::NormalWorld => {
            let nw = spmc.nw_state()?;
            let mb = nw.mailbox.as_ref().ok_or(NO_MAILBOX)?;
            read_tx(env, mb, len, buf)
        }
    }
}

/// FFA_MEM_RECLAIM by the owner.
pub fn reclaim(
    spmc: &Spmc,
    env: &mut impl Env,
    caller: &mut Caller<'_>,
    handle: MemHandle,
    flags: u32,
) -> Regs {
    let Ok(mut state) = spmc.mem.lock(env.core()) else {
        return Regs::error(ErrorCode::Aborted);
    };
    let state = &mut *state;
    let me = caller.id();
    let mut km = KernelMem {
        spmc,
        env,
        caller: caller.reborrow(),
    };
    // Reclaiming the handle of an unfinished fragmented send abandons the transmission.
    if state.frags.abort(me, handle).is_ok() {
        return Regs::success_w2(0);
    }
    match state.engine.reclaim(&mut km, me, handle, flags) {
        Ok(()) => Regs::success_w2(0),
        Err(rule) => err(rule),
    }
}

/// FFA_MEM_RETRIEVE_REQ from an SP: maps the memory and writes the retrieve response into its
/// RX buffer (the first fragment of it when it does not fit). The normal world has no
/// retrieve here (the ABI table does not list it for the normal world): NOT_SUPPORTED.
pub fn retrieve(spmc: &Spmc, env: &mut impl Env, caller: &mut Caller<'_>, args: MemTxArgs) -> Regs {
    let Caller::Sp(sp, rt) = caller else {
        return Regs::error(ErrorCode::NotSupported);
    };
    if args.buffer.is_some() || args.frag_len != args.total_len {
        return Regs::error(ErrorCode::InvalidParameters);
    }
    let sp: &Sp = sp;
    let Ok(mut state) = spmc.mem.lock(env.core()) else {
        return Regs::error(ErrorCode::Aborted);
    };
    let state = &mut *state;
    // Held until the response is in the RX buffer: a message (FFA_MSG_SEND2 from another
    // core) cannot fill it meanwhile. Order: the engine's lock, then the mailbox's.
    let (mut mbox, mb) = match free_rx(sp) {
        Ok(m) => m,
        Err(e) => return Regs::error(e),
    };
    let bytes = match read_tx(env, &mb, args.frag_len, &mut state.tx.0) {
        Ok(b) => b,
        Err(e) => return Regs::error(e),
    };
    let version = rt.version;
    let t = match MemTransaction::parse(&bytes, version) {
        Ok(t) => t,
        Err(e) => return Regs::error(e.error_code()),
    };
    let req: RetrieveRequest<MAX_RECEIVERS> = match convert::retrieve_request(&t) {
        Ok(r) => r,
        Err(rule) => return err(rule),
    };
    drop(bytes);
    let me = sp.id();
    if !state.cursors.can_begin(me) {
        return Regs::error(ErrorCode::NoMemory);
    }
    let mut km = KernelMem {
        spmc,
        env,
        caller: Caller::Sp(sp, rt),
    };
    let resp = &mut state.response;
    if let Err(rule) = state.engine.retrieve_into(&mut km, me, &req, resp) {
        return err(rule);
    }
    let env = km.env;
    let rx_len = (u64::from(mb.pages) * PAGE_SIZE) as usize;
    let (total, first) = match write_response(env, resp, version, mb.rx, rx_len, 0, &mut state.tx.0)
    {
        Ok(v) => v,
        Err(e) => return Regs::error(e),
    };
    if let Err(rule) = state.cursors.begin_from(resp, total, first) {
        return err(rule);
    }
    if let Some(m) = mbox.pair.as_mut() {
        m.rx_full = true;
    }
    let mut r = Regs::ZERO;
    r.0[0] = FuncId::MemRetrieveResp.raw().into();
    r.0[1] = total.into();
    r.0[2] = first.into();
    r
}

/// Encodes (part of) a retrieve response for `version` at `offset` into the RX buffer at
/// `rx`, staging it in `buf` (the engine's TX copy, free again by then) when it fits.
/// Returns (total length, bytes written).
fn write_response(
    env: &mut impl Env,
    resp: &Response,
    version: Version,
    rx: u64,
    rx_len: usize,
    offset: usize,
    buf: &mut [u8],
) -> Result<(u32, u32), ErrorCode> {
    let mut heap = Vec::new();
    let out: &mut [u8] = if rx_len <= buf.len() {
        buf
    } else {
        heap.resize(rx_len, 0u8);
        &mut heap
    };
    let want = |total: usize| rx_len.min(total.saturating_sub(offset));
    let (total, n) = convert::encode_retrieve_response(resp, version, offset, out, want)
        .map_err(|e| e.error_code())?;
    if !env.write_phys(rx, &out[..n]) {
        return Err(ErrorCode::Aborted);
    }
    let total = u32::try_from(total).map_err(|_| ErrorCode::NoMemory)?;
    Ok((total, u32::try_from(n).map_err(|_| ErrorCode::NoMemory)?))
}

/// FFA_MEM_FRAG_RX from an SP fetching the next fragment of its retrieve response.
pub fn frag_rx(
    spmc: &Spmc,
    env: &mut impl Env,
    caller: &mut Caller<'_>,
    handle: MemHandle,
    offset: u32,
) -> Regs {
    let Caller::Sp(sp, rt) = caller else {
        return Regs::error(ErrorCode::NotSupported);
    };
    let version = rt.version;
    let me = sp.id();
    let Ok(mut state) = spmc.mem.lock(env.core()) else {
        return Regs::error(ErrorCode::Aborted);
    };
    let state = &mut *state;
    // Held until the fragment is in the RX buffer (as in `retrieve`).
    let (mut mbox, mb) = match free_rx(sp) {
        Ok(m) => m,
        Err(e) => return Regs::error(e),
    };
    let rx_len = (u64::from(mb.pages) * PAGE_SIZE) as usize;
    let buf = &mut state.tx.0;
    let r = state.cursors.next(me, handle, offset, |resp, off| {
        write_response(env, resp, version, mb.rx, rx_len, off as usize, buf)
            .map(|(_, n)| n)
            .unwrap_or(0)
    });
    match r {
        Ok(len) => {
            if let Some(m) = mbox.pair.as_mut() {
                m.rx_full = true;
            }
            handle_regs(FuncId::MemFragTx, handle, len, 0)
        }
        Err(rule) => err(rule),
    }
}

/// The relinquish descriptor at the start of an SP's TX buffer (at most its first 4 KiB):
/// the 16-byte header, then only as many bytes as its endpoint count needs, instead of the
/// whole 4 KiB. The parser reads nothing past that count, so it sees the same bytes and
/// gives the same answers; a count that does not fit gets the whole 4 KiB as before.
fn read_relinquish<'a>(
    env: &impl Env,
    mb: &Mailbox,
    buf: &'a mut [u8],
) -> Result<TxBytes<'a>, ErrorCode> {
    const HEADER: u32 = 16;
    let limit = (u64::from(mb.pages) * PAGE_SIZE).min(0x1000) as u32;
    if limit < HEADER {
        return read_tx(env, mb, limit, buf);
    }
    let mut header = [0u8; HEADER as usize];
    if !env.read_phys(mb.tx, &mut header) {
        return Err(ErrorCode::InvalidParameters);
    }
    let count = u32::from_le_bytes([header[12], header[13], header[14], header[15]]);
    let len = u64::from(count)
        .saturating_mul(2)
        .saturating_add(u64::from(HEADER))
        .min(u64::from(limit)) as u32;
    read_tx(env, mb, len, buf)
}

/// FFA_MEM_RELINQUISH from an SP: the descriptor is in its TX buffer.
pub fn relinquish(spmc: &Spmc, env: &mut impl Env, caller: &mut Caller<'_>) -> Regs {
    let Caller::Sp(sp, rt) = caller else {
        return Regs::error(ErrorCode::NotSupported);
    };
    let mb = match sp.mailbox_pair() {
        Ok(Some(mb)) => mb,
        Ok(None) => return Regs::error(NO_MAILBOX),
        Err(e) => return Regs::error(e),
    };
    let Ok(mut state) = spmc.mem.lock(env.core()) else {
        return Regs::error(ErrorCode::Aborted);
    };
    let state = &mut *state;
    let bytes = match read_relinquish(env, &mb, &mut state.tx.0) {
        Ok(b) => b,
        Err(e) => return Regs::error(e),
    };
    let d = match MemRelinquish::parse(&bytes) {
        Ok(d) => d,
        Err(e) => return Regs::error(e.error_code()),
    };
    let req: RelinquishRequest<MAX_RECEIVERS> = match convert::relinquish_request(&d) {
        Ok(r) => r,
        Err(rule) => return err(rule),
    };
    drop(bytes);
    let me = sp.id();
    let mut km = KernelMem {
        spmc,
        env,
        caller: Caller::Sp(sp, rt),
    };
    match state.engine.relinquish(&mut km, me, &req) {
        Ok(()) => Regs::success_w2(0),
        Err(rule) => err(rule),
    }
}

/// Why an aborted partition's memory-transaction state cannot be dropped now, so its
/// restart cannot happen (lifecycle.rs).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Blocked {
    /// A borrower still holds memory the partition sent: try again later.
    Borrowed,
    /// Memory changed owner by donation, or the engine is unusable: never.
    Never(&'static str),
}

/// A page mapped other than the transaction state says (see [`check_mappings`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MappingMismatch {
    /// The SP whose tables disagree.
    pub sp: EndpointId,
    /// The page (its VA, which must equal its PA).
    pub page: u64,
    /// What the state implies: mapped (with the access, when the state records it) or not.
    pub expected: Option<Option<Access>>,
    /// What the SP's tables hold at VA = `page`: PA and access.
    pub actual: Option<(u64, Access)>,
}

/// The SP that owns `page` by its partition-table entry (image, memory, device, RX/TX or
/// boot-information region), if any: the ownership query's answer (`ownership::sp_region`).
fn static_owner(spmc: &Spmc, page: u64) -> Option<EndpointId> {
    spmc.table
        .partitions
        .iter()
        .find(|p| super::ownership::sp_region(p, page, 1).is_some())
        .map(|p| p.id)
}

/// The state checker of the memory ABIs: for every page of `pages` and every SP, the SP's
/// tables map the page exactly where the transaction state says, at VA = PA and nowhere
/// else it could be asked for: its owner (static or by donation) has it unless it lent or
/// donated it in a live transaction; each receiver holding a retrieve has it with the access
/// it was given; nobody else has it. Owners' access is compared where the state records it
/// (donated memory); the access of static regions is the manifest's and MEM_PERM_SET's.
///
/// Takes the engine lock and then each SP's runtime lock one at a time (never both: the
/// expectations are computed first), so call it when no memory ABI is running, e.g. between
/// the calls of a host test or of the fuzz lane.
pub fn check_mappings(spmc: &Spmc, pages: &[u64]) -> Result<(), MappingMismatch> {
    // (sp index, page, expectation) for every pair, computed under the engine lock.
    let mut expect: Vec<(usize, u64, Option<Option<Access>>)> = Vec::new();
    {
        let Ok(state) = spmc.mem.lock(crate::arch::current_core()) else {
            // A core was retired inside the engine: nothing it guards can be vouched for.
            return Err(MappingMismatch {
                sp: EndpointId(0),
                page: u64::MAX,
                expected: None,
                actual: None,
            });
        };
        let txs: Vec<_> = state.engine.transactions().collect();
        for &page in pages {
            let pr = PageRange::new(page, 1);
            let owner = match state
                .engine
                .donated_ranges()
                .iter()
                .find(|d| d.range.contains(&pr))
            {
                Some(d) => Some((d.owner, Some(d.info.access))),
                None => static_owner(spmc, page).map(|o| (o, None)),
            };
            let covering = txs
                .iter()
                .find(|t| t.constituents.iter().any(|c| c.contains(&pr)));
            for (i, sp) in spmc.sps.iter().enumerate() {
                let id = sp.id();
                let held = covering.and_then(|t| {
                    t.receivers
                        .iter()
                        .find(|(r, _)| *r == id)
                        .and_then(|(_, a)| *a)
                });
                let e = if let Some(a) = held {
                    Some(Some(a))
                } else {
                    match owner {
                        Some((o, access)) if o == id => {
                            let away = covering.is_some_and(|t| {
                                t.sender == id && t.kind != TransactionKind::Share
                            });
                            (!away).then_some(access)
                        }
                        _ => None,
                    }
                };
                expect.push((i, page, e));
            }
        }
    }
    for (i, page, e) in expect {
        let sp = &spmc.sps[i];
        let actual = {
            let rt = sp.rt.lock();
            rt.space
                .as_ref()
                .and_then(|s| s.translate(page))
                .map(|(pa, p)| {
                    (
                        pa,
                        Access {
                            write: p.write,
                            exec: p.exec,
                        },
                    )
                })
        };
        let ok = match (e, actual) {
            (None, None) => true,
            (Some(want), Some((pa, got))) => pa == page && want.is_none_or(|w| w == got),
            _ => false,
        };
        if !ok {
            return Err(MappingMismatch {
                sp: sp.id(),
                page,
                expected: e,
                actual,
            });
        }
    }
    Ok(())
}

/// Drops what the memory ABIs hold for `sp`, aborted and to be restarted (its lock held; see
/// lifecycle.rs): relinquishes every transaction it retrieved, reclaims every transaction it
/// sent, abandons its fragmented sends and forgets its unfinished retrieve responses, as
/// Hafnium's `ffa_memory_reclaim_relinquish_vm_regions` does for an aborting partition. Each
/// step is a whole relinquish or reclaim, so a blocked call leaves every transaction whole, and
/// calling it again finishes the work. Memory donated to or from it blocks for good: its owner
/// changed, and a restart from the image cannot undo that.
pub fn drop_partition_state(
    spmc: &Spmc,
    env: &mut impl Env,
    sp: &Sp,
    rt: &mut Runtime,
) -> Result<(), Blocked> {
    use crate::mem_share::RelinquishRequest;
    let me = sp.id();
    let Ok(mut state) = spmc.mem.lock(env.core()) else {
        return Err(Blocked::Never(
            "the memory engine is unusable (a core was retired holding it)",
        ));
    };
    let state = &mut *state;
    let overlaps_own = |base: u64, len: u64| {
        super::ownership::regions(sp.desc)
            .any(|r| base < r.base.saturating_add(r.len) && r.base < base.saturating_add(len))
    };
    if state.engine.donated_ranges().iter().any(|d| {
        d.owner == me
            || d.charged == me
            || overlaps_own(d.range.base.0, u64::from(d.range.pages) * PAGE_SIZE)
    }) {
        return Err(Blocked::Never("memory was donated to it or by it"));
    }
    let mut retrieved: heapless::Vec<MemHandle, MAX_TRANSACTIONS> = heapless::Vec::new();
    let mut sent: heapless::Vec<MemHandle, MAX_TRANSACTIONS> = heapless::Vec::new();
    for t in state.engine.transactions() {
        // Capacity: at most MAX_TRANSACTIONS live transactions.
        if t.sender == me {
            let _ = sent.push(t.handle);
        } else if t
            .receivers
            .iter()
            .any(|(id, held)| *id == me && held.is_some())
        {
            let _ = retrieved.push(t.handle);
        }
    }
    let mut km = KernelMem {
        spmc,
        env,
        caller: Caller::Sp(sp, rt),
    };
    for handle in retrieved {
        let mut endpoints = heapless::Vec::new();
        let _ = endpoints.push(me);
        let req = RelinquishRequest {
            handle,
            flags: 0,
            endpoints,
        };
        if state.engine.relinquish(&mut km, me, &req).is_err() {
            return Err(Blocked::Never(
                "a transaction it retrieved could not be relinquished",
            ));
        }
    }
    let mut borrowed = false;
    for handle in sent {
        if state.engine.reclaim(&mut km, me, handle, 0).is_err() {
            borrowed = true;
        }
    }
    state.frags.abandon_sender(me);
    state.cursors.forget(me);
    if borrowed {
        Err(Blocked::Borrowed)
    } else {
        Ok(())
    }
}
