//! The memory transaction engine: live transactions, donated-ownership table, handle
//! allocation, and the six operations (send = share/lend/donate, retrieve, relinquish,
//! reclaim). Each operation is `validate_*` (no side effects) -> reserve -> `commit_*`
//! (cannot fail). See the module doc of `mem_share` for the state machine and invariants.

use heapless::Vec;

use super::env::{Environment, MappingAttrs, OwnershipOracle, RegionInfo, Reservation};
use super::error::Rule;
use super::request::{
    ReceiverGrant, RelinquishRequest, RetrieveRequest, RetrieveResponse, TransactionRequest,
    FLAG_ALIGNMENT_HINT_MASK, FLAG_ALIGNMENT_HINT_VALID, FLAG_TIME_SLICING,
    FLAG_TRANSACTION_TYPE_MASK, FLAG_TRANSACTION_TYPE_SHIFT, FLAG_ZERO_AFTER_RELINQUISH,
    FLAG_ZERO_MEMORY,
};
use super::types::{
    Access, Cacheability, DataAccess, DeviceAttr, EndpointId, EndpointKind, InstructionAccess,
    MemHandle, MemKind, MemoryType, PageRange, Permissions, Security, Shareability,
    TransactionKind, PAGE_SIZE,
};

/// Run-time limits from the platform configuration. Each is clamped to the compile-time
/// capacity of the engine; exceeding one gives NO_MEMORY.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Concurrent live transactions.
    pub max_transactions: usize,
    /// Receivers per transaction.
    pub max_receivers: usize,
    /// Constituents per transaction.
    pub max_constituents: usize,
    /// Quota of the normal world (all its endpoints together: the SPMC cannot tell a
    /// hypervisor's VMs apart by anything they cannot forge).
    pub nw_quota: Quota,
    /// Quota of an SP whose entry in the SP set description does not override it.
    pub sp_quota: Quota,
}

/// What one endpoint may hold of the engine's shared tables at once. Going beyond one's own
/// quota is NO_MEMORY for that endpoint only: as long as the quotas of all endpoints add up
/// to no more than the tables' capacity, nobody can exhaust a table for the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// Live transactions it sent (a handle counts until it is reclaimed or retrieved by the
    /// donee).
    pub transactions: u16,
    /// Fragmented transmissions it has in flight.
    pub fragments: u16,
    /// Entries of the donated-ranges table its donations hold.
    pub donated: u16,
}

impl Quota {
    /// The normal world's default: 8 live transactions (of the kernel's 24 slots), one
    /// fragmented transmission (of 4 reassembly slots), 32 donated-ranges entries (of 128).
    pub const NW_DEFAULT: Quota = Quota {
        transactions: spmc_table::memory_capacity::NW_TRANSACTIONS,
        fragments: spmc_table::memory_capacity::NW_FRAGMENTS,
        donated: spmc_table::memory_capacity::NW_DONATED,
    };
    /// An SP's default: 2 live transactions, one fragmented transmission, 8 donated-ranges
    /// entries (the kernel's tables hold the normal world's and eight SPs' quotas).
    pub const SP_DEFAULT: Quota = Quota {
        transactions: spmc_table::memory_capacity::SP_TRANSACTIONS,
        fragments: spmc_table::memory_capacity::SP_FRAGMENTS,
        donated: spmc_table::memory_capacity::SP_DONATED,
    };
}

/// A receiver's hold on the memory after a successful retrieve.
#[derive(Debug, PartialEq, Eq)]
struct Held {
    reservation: Reservation,
    access: Access,
    zero_after_relinquish: bool,
}

#[derive(Debug, PartialEq, Eq)]
struct ReceiverState {
    id: EndpointId,
    kind: EndpointKind,
    /// Permissions as normalised at send (share: instruction access forced to NX).
    granted: Permissions,
    impdef: [u64; 2],
    held: Option<Held>,
}

/// One slot of the transaction table. Slots are reused in place (`live` says whether one
/// holds a transaction): a transaction is several KiB, and building one in a temporary or
/// wrapping it in an `Option` made every send zero-fill or copy all of it.
#[derive(Debug, PartialEq, Eq)]
struct Transaction<const R: usize, const C: usize> {
    /// The slot holds a live transaction; the other fields mean nothing otherwise.
    live: bool,
    handle: MemHandle,
    kind: TransactionKind,
    sender: EndpointId,
    sender_kind: EndpointKind,
    tag: u64,
    zero_on_send: bool,
    /// Some receiver has mapped the memory since the send (so zeroing at send no longer
    /// vouches for the contents).
    exposed: bool,
    /// A borrower asked for zeroing after relinquish; done when the last holder leaves.
    zero_pending: bool,
    attributes: MemoryType,
    /// The owner's hold on the memory when it sent it (uniform over all constituents).
    region: RegionInfo,
    receivers: Vec<ReceiverState, R>,
    constituents: Vec<PageRange, C>,
    /// Indices of `constituents` by ascending address (the constituents themselves keep the
    /// sender's order, which is the order they are mapped in).
    order: Vec<u16, C>,
    /// The lowest address of the constituents and the end of the highest: a send whose own
    /// span misses it cannot overlap any of them (one test instead of a walk per live
    /// transaction: ITS and PS keep pages shared with block-storage for good).
    span: (u64, u64),
    total_pages: u64,
    /// SP owner of a lend/donate: table pages for the revoke done at send and the restore at
    /// reclaim, held until one of them is no longer possible.
    owner_reservation: Option<Reservation>,
}

impl<const R: usize, const C: usize> Transaction<R, C> {
    /// An empty slot.
    const FREE: Self = Transaction {
        live: false,
        handle: MemHandle::INVALID,
        kind: TransactionKind::Share,
        sender: EndpointId(0),
        sender_kind: EndpointKind::NormalWorld,
        tag: 0,
        zero_on_send: false,
        exposed: false,
        zero_pending: false,
        attributes: MemoryType::NotSpecified,
        region: RegionInfo {
            access: Access {
                write: false,
                exec: false,
            },
            kind: MemKind::Normal,
            security: Security::NonSecure,
        },
        receivers: Vec::new(),
        constituents: Vec::new(),
        order: Vec::new(),
        span: (0, 0),
        total_pages: 0,
        owner_reservation: None,
    };

    /// Ends the transaction: the slot is free again (its lists emptied, so nothing stale
    /// is left to read).
    fn free(&mut self) {
        self.live = false;
        self.handle = MemHandle::INVALID;
        self.receivers.clear();
        self.constituents.clear();
        self.order.clear();
        self.span = (0, 0);
        self.owner_reservation = None;
    }
}

/// A range whose owner changed by donation; overrides the static [`OwnershipOracle`] answer.
///
/// [`OwnershipOracle`]: super::env::OwnershipOracle
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DonatedRange {
    /// The pages.
    pub range: PageRange,
    /// Their owner now.
    pub owner: EndpointId,
    /// What the owner holds.
    pub info: RegionInfo,
    /// The donor whose donation made this entry (counted against its
    /// [`Quota::donated`]).
    pub charged: EndpointId,
}

/// Read-only view of a live transaction, for the kernel (diagnostics) and the tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionView<'a> {
    /// Handle.
    pub handle: MemHandle,
    /// Type.
    pub kind: TransactionKind,
    /// Owner that sent it.
    pub sender: EndpointId,
    /// Constituents.
    pub constituents: &'a [PageRange],
    /// The owner's access when it sent the memory.
    pub owner_access: Access,
    /// Receivers with, for SPs that currently hold the memory, the access they were given.
    pub receivers: Vec<(EndpointId, Option<Access>), PLAN_RECEIVERS>,
}

/// What a successful send produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendOutcome {
    /// The handle to return in FFA_SUCCESS (w2/w3).
    pub handle: MemHandle,
}

/// The transaction engine with room for `TX` transactions of up to `R` receivers and `C`
/// constituents, and `OWN` donated ranges.
#[derive(Debug)]
pub struct MemShare<const TX: usize, const R: usize, const C: usize, const OWN: usize> {
    limits: Limits,
    transactions: [Transaction<R, C>; TX],
    /// Bit i set: slot i is live. It mirrors `transactions[i].live` (set in `commit_send`,
    /// cleared next to each `Transaction::free`), so that the scans every call makes (find a
    /// handle, the overlap check, the quotas, a free slot) visit the live slots only instead
    /// of reading a flag in each of TX slots ~5 KiB apart.
    live_slots: u64,
    donated: Vec<DonatedRange, OWN>,
    /// Next handle value: monotonic, so a handle is never reused (2^63 sends would be
    /// needed to wrap).
    next_handle: u64,
}

/// Everything `validate_send` established, consumed by the commit. `validate_send` writes
/// it into the caller's plan: returned inside a `Result`, its byte arrays sat at an odd
/// offset and each move of it was a byte-by-byte `memcpy` (~400 instructions per send).
struct SendPlan {
    sender_kind: EndpointKind,
    region: RegionInfo,
    receiver_kinds: [Option<EndpointKind>; 16],
    granted: [Option<Permissions>; 16],
    slot: usize,
    zero: bool,
}

impl SendPlan {
    /// The plan before validation (nothing established).
    const EMPTY: Self = SendPlan {
        sender_kind: EndpointKind::NormalWorld,
        region: RegionInfo {
            access: Access {
                write: false,
                exec: false,
            },
            kind: MemKind::Normal,
            security: Security::NonSecure,
        },
        receiver_kinds: [None; PLAN_RECEIVERS],
        granted: [None; PLAN_RECEIVERS],
        slot: 0,
        zero: false,
    };
}

/// Everything `validate_retrieve` established.
struct RetrievePlan {
    slot: usize,
    receiver_index: usize,
    access: Access,
    attrs: MappingAttrs,
    zero_before: bool,
    zero_after_relinquish: bool,
    /// A donation whose new ownership fits the donated-ranges table (validation computed
    /// it; the commit recomputes it in place rather than carry a table-sized copy).
    donation: Option<RegionInfo>,
    map_cost: u32,
}

/// Upper bound of receivers the plans and views carry inline (the engine's `R` must not
/// exceed it).
pub const PLAN_RECEIVERS: usize = 16;

impl<const TX: usize, const R: usize, const C: usize, const OWN: usize> MemShare<TX, R, C, OWN> {
    /// Builds an empty engine. `limits` are clamped to the capacities. `const` so that the
    /// kernel can place it in a `static` (it is tens of KiB: too big for a stack).
    pub const fn new(limits: Limits) -> Self {
        // Plans carry receiver data inline; a larger R would silently truncate. Constituent
        // indices are u16.
        const { assert!(R <= PLAN_RECEIVERS && C <= u16::MAX as usize) };
        // One bit per slot in `live_slots`.
        const { assert!(TX <= 64) };
        const fn clamp(v: usize, cap: usize) -> usize {
            if v < cap {
                v
            } else {
                cap
            }
        }
        MemShare {
            limits: Limits {
                max_transactions: clamp(limits.max_transactions, TX),
                max_receivers: clamp(limits.max_receivers, R),
                max_constituents: clamp(limits.max_constituents, C),
                nw_quota: limits.nw_quota,
                sp_quota: limits.sp_quota,
            },
            transactions: [Transaction::FREE; TX],
            live_slots: 0,
            donated: Vec::new(),
            next_handle: 1,
        }
    }

    /// The effective limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The quota of `id`: the SP set description's override, else the default for its kind.
    pub fn quota_of<E: Environment>(&self, env: &E, id: EndpointId) -> Quota {
        match env.endpoint_kind(id) {
            Some(EndpointKind::Sp) => env.quota_override(id).unwrap_or(self.limits.sp_quota),
            _ => self.limits.nw_quota,
        }
    }

    /// Live transactions `id` sent (for a normal-world ID: that all normal-world endpoints
    /// sent, which share one quota).
    pub fn live_sent_by(&self, id: EndpointId) -> usize {
        self.live_transactions()
            .filter(|t| same_account(t.sender, id))
            .count()
    }

    /// Entries of the donated-ranges table charged to `id` (normal world: to any of its
    /// endpoints).
    pub fn donated_charged_to(&self, id: EndpointId) -> usize {
        self.donated
            .iter()
            .filter(|d| same_account(d.charged, id))
            .count()
    }

    /// Takes a fresh handle out of the sequence without creating a transaction: used for the
    /// first fragment of a fragmented send, whose handle the caller learns before the
    /// descriptor is complete. Pass it to [`MemShare::send_with_handle`] later.
    pub fn reserve_handle(&mut self) -> MemHandle {
        let h = MemHandle(self.next_handle & !MemHandle::ALLOCATOR_HYPERVISOR);
        self.next_handle = self.next_handle.wrapping_add(1);
        h
    }

    /// Live transactions.
    pub fn transactions(&self) -> impl Iterator<Item = TransactionView<'_>> {
        self.live_transactions().map(|t| TransactionView {
            handle: t.handle,
            kind: t.kind,
            sender: t.sender,
            constituents: &t.constituents,
            owner_access: t.region.access,
            receivers: t
                .receivers
                .iter()
                .map(|r| (r.id, r.held.as_ref().map(|h| h.access)))
                .collect(),
        })
    }

    /// Ranges whose owner changed by donation.
    pub fn donated_ranges(&self) -> &[DonatedRange] {
        &self.donated
    }

    /// Table pages the engine currently holds in reservations (for leak accounting).
    pub fn held_table_pages(&self) -> u64 {
        self.live_transactions()
            .map(|t| {
                let owner = t
                    .owner_reservation
                    .as_ref()
                    .map_or(0, |r| r.table_pages() as u64);
                let recv: u64 = t
                    .receivers
                    .iter()
                    .filter_map(|r| r.held.as_ref())
                    .map(|h| h.reservation.table_pages() as u64)
                    .sum();
                owner + recv
            })
            .sum()
    }

    fn find(&self, handle: MemHandle) -> Option<usize> {
        self.live_indices().find(|&i| {
            self.transactions
                .get(i)
                .is_some_and(|t| t.live && t.handle == handle)
        })
    }

    /// Indices of the live slots, ascending.
    fn live_indices(&self) -> impl Iterator<Item = usize> {
        let mut m = self.live_slots;
        core::iter::from_fn(move || {
            if m == 0 {
                return None;
            }
            let i = m.trailing_zeros() as usize;
            m &= m - 1;
            Some(i)
        })
    }

    fn live_transactions(&self) -> impl Iterator<Item = &Transaction<R, C>> {
        self.live_indices()
            .filter_map(|i| self.transactions.get(i))
            .filter(|t| t.live)
    }

    /// Whether `live_slots` names exactly the live slots (checked by the host tests after
    /// every step).
    #[cfg(test)]
    pub(crate) fn live_slots_consistent(&self) -> bool {
        self.transactions
            .iter()
            .enumerate()
            .all(|(i, t)| t.live == (self.live_slots >> i & 1 == 1))
    }

    /// Whether every live transaction's span is that of its constituents (checked by the
    /// host tests after every step).
    #[cfg(test)]
    pub(crate) fn spans_consistent(&self) -> bool {
        self.live_transactions().all(|t| {
            let lo = t.constituents.iter().map(|r| r.base.0).min();
            let hi = t.constituents.iter().filter_map(|r| r.end()).max();
            lo.zip(hi) == Some(t.span)
        })
    }

    /// The live transaction in `slot`.
    fn slot(&self, slot: usize) -> Option<&Transaction<R, C>> {
        self.transactions.get(slot).filter(|t| t.live)
    }

    fn slot_mut(&mut self, slot: usize) -> Option<&mut Transaction<R, C>> {
        self.transactions.get_mut(slot).filter(|t| t.live)
    }

    // ------------------------------------------------------------------------------------
    // FFA_MEM_SHARE / FFA_MEM_LEND / FFA_MEM_DONATE
    // ------------------------------------------------------------------------------------

    /// Handles a complete share/lend/donate descriptor from `caller`, allocating a new handle.
    pub fn send<E: Environment>(
        &mut self,
        env: &mut E,
        caller: EndpointId,
        req: &TransactionRequest<R, C>,
    ) -> Result<SendOutcome, Rule> {
        // The request's constituents by address, for the overlap checks now and later (kept
        // out of the plan, which would otherwise be copied with it).
        let mut order = Vec::new();
        let mut plan = SendPlan::EMPTY;
        self.validate_send(env, caller, req, &mut order, &mut plan)?;
        let owner_reservation = match self.owner_loses_mapping(req, &plan) {
            true => Some(self.reserve_owner(env, caller, req)?),
            false => None,
        };
        let handle = self.reserve_handle();
        self.commit_send(env, req, &plan, &order, owner_reservation, handle);
        Ok(SendOutcome { handle })
    }

    /// As [`MemShare::send`] for a descriptor that arrived in fragments, with the handle
    /// [`MemShare::reserve_handle`] gave out at the first fragment.
    pub fn send_with_handle<E: Environment>(
        &mut self,
        env: &mut E,
        caller: EndpointId,
        req: &TransactionRequest<R, C>,
        handle: MemHandle,
    ) -> Result<SendOutcome, Rule> {
        if !handle.is_spmc_allocated()
            || handle.0 >= self.next_handle
            || self.find(handle).is_some()
        {
            return Err(Rule::UnknownFragmentHandle);
        }
        let mut order = Vec::new();
        let mut plan = SendPlan::EMPTY;
        self.validate_send(env, caller, req, &mut order, &mut plan)?;
        let owner_reservation = match self.owner_loses_mapping(req, &plan) {
            true => Some(self.reserve_owner(env, caller, req)?),
            false => None,
        };
        self.commit_send(env, req, &plan, &order, owner_reservation, handle);
        Ok(SendOutcome { handle })
    }

    fn validate_send<E: Environment>(
        &self,
        env: &E,
        caller: EndpointId,
        req: &TransactionRequest<R, C>,
        order: &mut Vec<u16, C>,
        plan: &mut SendPlan,
    ) -> Result<(), Rule> {
        if req.sender != caller {
            return Err(Rule::SenderNotCaller);
        }
        let sender_kind = env.endpoint_kind(caller).ok_or(Rule::SenderNotCaller)?;

        // Flags (DEN0077 v1.1 Table 10.21): zero memory (lend/donate only), time slicing
        // (unsupported), everything else must be zero in a send.
        let zero = req.flags & FLAG_ZERO_MEMORY != 0;
        if req.flags & !FLAG_ZERO_MEMORY != 0 || (zero && req.kind == TransactionKind::Share) {
            return Err(Rule::InvalidFlags);
        }

        // Receivers.
        let n = req.receivers.len();
        if n == 0 {
            return Err(Rule::NoReceivers);
        }
        if n > self.limits.max_receivers {
            return Err(Rule::TooManyReceivers);
        }
        if req.kind == TransactionKind::Donate && n != 1 {
            return Err(Rule::DonateNeedsOneReceiver);
        }
        // Written straight into the plan (a plan built here and assigned whole was three
        // `memcpy` calls per send).
        let receiver_kinds = &mut plan.receiver_kinds;
        for (i, r) in req.receivers.iter().enumerate() {
            if r.id == caller || req.receivers[..i].iter().any(|o| o.id == r.id) {
                return Err(Rule::DuplicateOrSelfReceiver);
            }
            receiver_kinds[i] = Some(env.endpoint_kind(r.id).ok_or(Rule::UnknownReceiver)?);
        }
        let any_ns = receiver_kinds[..n].contains(&Some(EndpointKind::NormalWorld));
        let any_sp = receiver_kinds[..n].contains(&Some(EndpointKind::Sp));
        if sender_kind == EndpointKind::Sp && any_ns {
            return Err(Rule::SpToNormalWorld);
        }
        if sender_kind == EndpointKind::NormalWorld && !any_sp {
            return Err(Rule::NoSecureReceiver);
        }

        // Permissions per transaction type (DEN0140 "Memory access permissions", Hafnium,
        // Arm's ACS): share/lend must give RO or RW, donate leaves data access to the
        // receiver; no sender names instruction access (the ACS refuses X even on a lend
        // to one borrower): executability is the receiver's request, bounded at retrieve.
        let granted = &mut plan.granted;
        for (i, r) in req.receivers.iter().enumerate() {
            let p = r.permissions;
            let data_ok = match req.kind {
                TransactionKind::Share | TransactionKind::Lend => {
                    p.data != DataAccess::NotSpecified
                }
                TransactionKind::Donate => p.data == DataAccess::NotSpecified,
            };
            let ok = data_ok && p.instruction == InstructionAccess::NotSpecified;
            if !ok {
                return Err(Rule::InvalidPermissions);
            }
            granted[i] = Some(match req.kind {
                // Shared memory is never executable for the borrower (v1.0 §5.11.3).
                TransactionKind::Share => Permissions {
                    data: p.data,
                    instruction: InstructionAccess::NotExecutable,
                },
                _ => p,
            });
        }

        // Memory type: the sharer names it; a single borrower or a donee chooses it at
        // retrieval, so the lender must leave it unspecified; with several borrowers either
        // is accepted (Arm's ACS lends to two borrowers with it unspecified).
        let specified = req.attributes != MemoryType::NotSpecified;
        let type_ok = match req.kind {
            TransactionKind::Share => specified,
            TransactionKind::Lend if n > 1 => true,
            TransactionKind::Lend | TransactionKind::Donate => !specified,
        };
        if !type_ok {
            return Err(Rule::InvalidMemoryType);
        }

        // Constituents.
        if req.constituents.is_empty() {
            return Err(Rule::EmptyRegion);
        }
        if req.constituents.len() > self.limits.max_constituents {
            return Err(Rule::TooManyConstituents);
        }
        // One pass: well-formedness, the page total, and (for ranges in address order, what
        // senders usually give) the order and the overlap check between neighbours.
        let mut total: u64 = 0;
        let mut sorted = true;
        let mut touching = false;
        let mut prev: Option<(u64, u64)> = None;
        order.clear();
        for (i, c) in req.constituents.iter().enumerate() {
            if c.pages == 0 {
                return Err(Rule::EmptyRegion);
            }
            let end = match c.end() {
                Some(end) if c.base.0 % PAGE_SIZE == 0 => end,
                _ => return Err(Rule::MisalignedConstituent),
            };
            total += c.pages as u64;
            if let Some((base, prev_end)) = prev {
                sorted &= base < c.base.0;
                touching |= prev_end > c.base.0;
            }
            prev = Some((c.base.0, end));
            // Cannot fail: at most C constituents, C <= u16::MAX.
            let _ = order.push(i as u16);
        }
        // Sorted once, the overlap checks below are linear instead of quadratic: Linux
        // shares buffers as hundreds of scattered pages.
        let overlapping = if sorted {
            touching
        } else {
            order.sort_unstable_by_key(|&i| req.constituents[i as usize].base.0);
            order
                .windows(2)
                .any(|w| req.constituents[w[0] as usize].overlaps(&req.constituents[w[1] as usize]))
        };
        if overlapping {
            return Err(Rule::OverlappingConstituents);
        }
        if total != req.total_pages {
            return Err(Rule::PageCountMismatch);
        }

        // Capabilities: the single policy gate decides who may send to whom.
        for r in req.receivers.iter() {
            if !env.may_send(req.kind, caller, r.id) {
                return Err(Rule::PolicyDenied);
            }
        }

        // Ownership: every page owned by the sender, uniformly. When no donation touches the
        // span of the ranges and the static answer holds over all of it, one query answers
        // for every constituent (the normal world's scattered buffers).
        let span = self.span_region(env, caller, req, order);
        let mut region: Option<RegionInfo> = span;
        let per_range = if span.is_some() {
            &[][..]
        } else {
            &req.constituents[..]
        };
        for c in per_range {
            let info = self.owned_region(env, caller, *c).ok_or(Rule::NotOwner)?;
            match region {
                None => region = Some(info),
                Some(r) if r == info => {}
                Some(_) => return Err(Rule::NotOwner),
            }
        }
        let region = region.ok_or(Rule::EmptyRegion)?;
        if sender_kind == EndpointKind::NormalWorld && region.security != Security::NonSecure {
            return Err(Rule::NotOwner);
        }
        // Zeroing writes the pages: not for an owner that may only read them.
        if zero && !region.access.write {
            return Err(Rule::ZeroNotAllowed);
        }

        // A page belongs to at most one live transaction. The same pass over the live
        // transactions counts what the quota checks below need (their order of errors is
        // unchanged: only the counting moved here).
        let mut sent_by_caller = 0usize;
        let mut pending_donated = 0usize;
        let span = span_of(&req.constituents, order);
        for t in self.live_transactions() {
            let apart = t.span.1 <= span.0 || span.1 <= t.span.0;
            if !apart && any_overlap(&t.constituents, &t.order, &req.constituents, order) {
                return Err(Rule::AlreadyInTransaction);
            }
            if same_account(t.sender, caller) {
                sent_by_caller += 1;
                if t.kind == TransactionKind::Donate {
                    pending_donated += t.constituents.len();
                }
            }
        }

        // No more access than the owner has; attributes that fit the memory.
        for p in granted[..n].iter().flatten() {
            if p.data == DataAccess::ReadWrite && !region.access.write {
                return Err(Rule::AccessExceedsOwner);
            }
        }
        if !type_fits(req.attributes, region.kind) {
            return Err(Rule::MemoryTypeMismatch);
        }
        // Device memory is lent to one borrower or not at all (Hafnium's
        // `ffa_send_check_transition`: "Device memory regions can only be lent a single
        // borrower"); Arm's ACS expects a shared device region refused.
        if region.kind == MemKind::Device && !(req.kind == TransactionKind::Lend && n == 1) {
            return Err(Rule::DeviceMemoryNotLendable);
        }

        let quota = self.quota_of(env, caller);
        if sent_by_caller >= usize::from(quota.transactions) {
            return Err(Rule::TransactionQuotaExceeded);
        }
        // A donation will hold at least one donated-ranges entry per constituent once
        // retrieved: refuse now what the donor's quota cannot hold anyway (the retrieve
        // checks the exact count again).
        if req.kind == TransactionKind::Donate {
            let need = self.donated_charged_to(caller) + pending_donated + req.constituents.len();
            if need > usize::from(quota.donated) {
                return Err(Rule::DonationQuotaExceeded);
            }
        }

        // The first free slot, if the limit allows one more transaction.
        let slot = (!self.live_slots).trailing_zeros() as usize;
        if slot >= TX || self.live() >= self.limits.max_transactions {
            return Err(Rule::TransactionsExhausted);
        }

        plan.sender_kind = sender_kind;
        plan.region = region;
        plan.slot = slot;
        plan.zero = zero;
        Ok(())
    }

    /// Whether the sender loses its own mapping of the memory (and so needs table pages
    /// reserved for its restore): only an SP owner that lends or donates; the normal world's
    /// tables are not ours.
    fn owner_loses_mapping(&self, req: &TransactionRequest<R, C>, plan: &SendPlan) -> bool {
        plan.sender_kind == EndpointKind::Sp && req.kind != TransactionKind::Share
    }

    /// Table pages for an SP owner's revoke and restore ([`Self::owner_loses_mapping`]).
    /// Called only when it is needed: a share's answer then carries no reservation through
    /// a `Result<Option<..>>`, whose moves were byte copies.
    fn reserve_owner<E: Environment>(
        &self,
        env: &mut E,
        caller: EndpointId,
        req: &TransactionRequest<R, C>,
    ) -> Result<Reservation, Rule> {
        let cost = env.owner_cost(caller, &req.constituents);
        env.reserve(caller, cost)
            .map_err(|_| Rule::PageTableMemoryExhausted)
    }

    fn commit_send<E: Environment>(
        &mut self,
        env: &mut E,
        req: &TransactionRequest<R, C>,
        plan: &SendPlan,
        order: &[u16],
        mut owner_reservation: Option<Reservation>,
        handle: MemHandle,
    ) {
        if let Some(res) = owner_reservation.as_mut() {
            env.revoke_owner(res, &req.constituents);
        }
        // Zero after the owner lost access and before any borrower can map it.
        if plan.zero {
            for c in req.constituents.iter() {
                env.zero(*c);
            }
        }
        // Written field by field into the free slot: a `Transaction` is several KiB (the
        // constituents and their order), too much to build in a temporary.
        let Some(t) = self.transactions.get_mut(plan.slot) else {
            // Unreachable: validation found this free slot. Give the memory back.
            if let Some(res) = owner_reservation {
                env.release(res);
            }
            return;
        };
        t.live = true;
        self.live_slots |= 1 << plan.slot;
        t.handle = handle;
        t.kind = req.kind;
        // Validation established that the descriptor's sender is the caller.
        t.sender = req.sender;
        t.sender_kind = plan.sender_kind;
        t.tag = req.tag;
        t.zero_on_send = plan.zero;
        t.exposed = false;
        t.zero_pending = false;
        t.attributes = req.attributes;
        t.region = plan.region;
        t.total_pages = req.total_pages;
        t.owner_reservation = owner_reservation;
        t.receivers.clear();
        t.constituents.clear();
        t.order.clear();
        for (i, r) in req.receivers.iter().enumerate() {
            // Capacity R and kinds/grants were established in validation for every index.
            let (Some(kind), Some(granted)) = (plan.receiver_kinds[i], plan.granted[i]) else {
                continue;
            };
            let _ = t.receivers.push(ReceiverState {
                id: r.id,
                kind,
                granted,
                impdef: r.impdef,
                held: None,
            });
        }
        // Cannot fail: both have the capacity C the request's constituents fit in.
        let _ = t.constituents.extend_from_slice(&req.constituents);
        let _ = t.order.extend_from_slice(order);
        t.span = span_of(&req.constituents, order);
    }

    fn live(&self) -> usize {
        self.live_slots.count_ones() as usize
    }

    /// Does `sp` still map a page of `range` through its own regions: a page its
    /// partition-table entry holds ([`OwnershipOracle::statically_held`]) that no donated
    /// range covers (a donated range of a page in `sp`'s region has another owner now, so
    /// `sp`'s mapping of it went at the donation). Each part of `range` outside the donated
    /// ranges is asked once.
    fn still_holds<E: Environment>(&self, env: &E, sp: EndpointId, range: PageRange) -> bool {
        if !env.statically_held(sp, range) {
            return false;
        }
        let Some(end) = range.end() else {
            return true;
        };
        let mut at = range.base.0;
        while at < end {
            // A donated range holding `at`: skip past it.
            if let Some(d) = self
                .donated
                .iter()
                .find(|d| d.range.base.0 <= at && d.range.end().is_some_and(|e| at < e))
            {
                at = d.range.end().unwrap_or(end).min(end);
                continue;
            }
            // The gap up to the next donated range (or the end of `range`).
            let next = self
                .donated
                .iter()
                .map(|d| d.range.base.0)
                .filter(|&b| b > at)
                .min()
                .unwrap_or(end)
                .min(end);
            let pages = (next - at) / PAGE_SIZE;
            match u32::try_from(pages) {
                Ok(n) if env.statically_held(sp, PageRange::new(at, n)) => return true,
                Ok(_) => {}
                Err(_) => return true,
            }
            at = next;
        }
        false
    }

    /// What `owner` holds over the whole span of `req`'s constituents (`order`: their indices
    /// by address), if no donated range touches the span and the static oracle answers for
    /// all of it ([`OwnershipOracle::static_span`]): then [`MemShare::owned_region`] would
    /// give that answer for every constituent. `None`: ask per constituent.
    fn span_region<E: Environment>(
        &self,
        env: &E,
        owner: EndpointId,
        req: &TransactionRequest<R, C>,
        order: &[u16],
    ) -> Option<RegionInfo> {
        if req.constituents.len() < 2 {
            return None;
        }
        let first = req.constituents.get(usize::from(*order.first()?))?;
        let last = req.constituents.get(usize::from(*order.last()?))?;
        let pages = (last.end()? - first.base.0) / PAGE_SIZE;
        let span = PageRange::new(first.base.0, u32::try_from(pages).ok()?);
        if self.donated.iter().any(|d| d.range.overlaps(&span)) {
            return None;
        }
        env.static_span(owner, span)
    }

    /// What `owner` holds at `range`, taking donations into account.
    fn owned_region<E: Environment>(
        &self,
        env: &E,
        owner: EndpointId,
        range: PageRange,
    ) -> Option<RegionInfo> {
        let mut covered: u64 = 0;
        let mut info: Option<RegionInfo> = None;
        for d in self.donated.iter().filter(|d| d.range.overlaps(&range)) {
            if d.owner != owner {
                return None;
            }
            match info {
                None => info = Some(d.info),
                Some(i) if i == d.info => {}
                Some(_) => return None,
            }
            covered += overlap_pages(&d.range, &range);
        }
        match info {
            // Donated ranges are disjoint, so full coverage means the page sum matches.
            Some(i) if covered == range.pages as u64 => Some(i),
            Some(_) => None,
            None => env.static_region(owner, range),
        }
    }

    // ------------------------------------------------------------------------------------
    // FFA_MEM_RETRIEVE_REQ
    // ------------------------------------------------------------------------------------

    /// Handles a retrieve request from SP `caller`: maps the memory and returns what the
    /// FFA_MEM_RETRIEVE_RESP must say.
    pub fn retrieve<E: Environment>(
        &mut self,
        env: &mut E,
        caller: EndpointId,
        req: &RetrieveRequest<R>,
    ) -> Result<RetrieveResponse<C>, Rule> {
        let mut response = dead_response(caller);
        self.retrieve_into(env, caller, req, &mut response)?;
        Ok(response)
    }

    /// As [`MemShare::retrieve`], writing the response into `response` (left unchanged on
    /// error): the kernel keeps one response buffer instead of moving a constituent-sized
    /// value out of the engine on every retrieve.
    pub fn retrieve_into<E: Environment>(
        &mut self,
        env: &mut E,
        caller: EndpointId,
        req: &RetrieveRequest<R>,
        response: &mut RetrieveResponse<C>,
    ) -> Result<(), Rule> {
        let plan = self.validate_retrieve(env, caller, req)?;
        let reservation = env
            .reserve(caller, plan.map_cost)
            .map_err(|_| Rule::PageTableMemoryExhausted)?;
        self.commit_retrieve(env, caller, plan, reservation, response);
        Ok(())
    }

    fn validate_retrieve<E: Environment>(
        &self,
        env: &E,
        caller: EndpointId,
        req: &RetrieveRequest<R>,
    ) -> Result<RetrievePlan, Rule> {
        if env.endpoint_kind(caller) != Some(EndpointKind::Sp) {
            return Err(Rule::RetrieverNotSp);
        }
        let slot = self.find(req.handle).ok_or(Rule::UnknownHandle)?;
        let t = self.slot(slot).ok_or(Rule::UnknownHandle)?;

        // Flags (DEN0077 v1.1 Table 10.22).
        let flags = req.flags;
        let known = FLAG_ZERO_MEMORY | FLAG_ZERO_AFTER_RELINQUISH | FLAG_TRANSACTION_TYPE_MASK;
        if flags & !known != 0
            || flags & (FLAG_TIME_SLICING | FLAG_ALIGNMENT_HINT_MASK | FLAG_ALIGNMENT_HINT_VALID)
                != 0
        {
            return Err(Rule::InvalidFlags);
        }
        let ty = (flags & FLAG_TRANSACTION_TYPE_MASK) >> FLAG_TRANSACTION_TYPE_SHIFT;
        if ty != 0 && ty != t.kind.type_field() {
            return Err(Rule::RetrieveTypeMismatch);
        }
        let zero_before = flags & FLAG_ZERO_MEMORY != 0;
        let zero_after = flags & FLAG_ZERO_AFTER_RELINQUISH != 0;
        // Shared memory stays with its owner: nobody may wipe it; donated memory is never
        // relinquished.
        if (t.kind == TransactionKind::Share && (zero_before || zero_after))
            || (t.kind == TransactionKind::Donate && zero_after)
        {
            return Err(Rule::InvalidFlags);
        }

        if req.sender != t.sender {
            return Err(Rule::RetrieveSenderMismatch);
        }
        if req.tag != t.tag {
            return Err(Rule::RetrieveTagMismatch);
        }
        let receiver_index = t
            .receivers
            .iter()
            .position(|r| r.id == caller)
            .ok_or(Rule::NotAReceiver)?;
        let mine = req
            .receivers
            .iter()
            .find(|g| g.id == caller)
            .ok_or(Rule::RetrieveReceiversMismatch)?;
        for g in req.receivers.iter() {
            let r = t
                .receivers
                .iter()
                .find(|r| r.id == g.id)
                .ok_or(Rule::RetrieveReceiversMismatch)?;
            if r.impdef != g.impdef {
                return Err(Rule::ImpdefMismatch);
            }
        }
        let rs = &t.receivers[receiver_index];
        if rs.held.is_some() {
            return Err(Rule::AlreadyRetrieved);
        }

        let access = resolve_access(t, rs.granted, *mine)?;
        let memory = resolve_type(t, req.attributes)?;
        // Device attributes rule out execution, whatever the memory is (ACS
        // donate_retrieve_input_checks3).
        if access.exec && matches!(memory, MemoryType::Device(_)) {
            return Err(Rule::RetrievePermissionsExceedGrant);
        }

        // Zeroing is judged on what the transaction grants the receiver, not on what it
        // asked for this time (the ACS retrieves RO from an RW lend and then relinquishes
        // with the zero flag).
        if (zero_before || zero_after) && !grant_allows_write(t, rs.granted) {
            return Err(Rule::ZeroNotAllowed);
        }
        // Zeroing now would wipe what another borrower has mapped.
        if zero_before {
            let others_hold = t
                .receivers
                .iter()
                .any(|r| r.id != caller && r.held.is_some());
            if others_hold || !t.zero_on_send {
                return Err(Rule::ZeroNotAllowed);
            }
        }

        // The retriever must not map any of the pages already (Hafnium's
        // `ffa_retrieve_check_transition`: "Ensure the retriever has the expected state",
        // DENIED unless every page is unmapped for it). Pages in another live transaction are
        // excluded at the send, and pages donated to the retriever are its own (it cannot be
        // the receiver of its own send), so what is left are the retriever's own regions
        // minus what it donated away: the normal world may send a page of an SP's non-secure
        // manifest region to that SP, and mapping it again would let the relinquish unmap
        // the SP's own region. One query over the span first; per range only if it hits.
        let span_pages = t.span.1.saturating_sub(t.span.0).div_ceil(PAGE_SIZE);
        let span_hit = match u32::try_from(span_pages) {
            Ok(pages) => env.statically_held(caller, PageRange::new(t.span.0, pages)),
            Err(_) => true,
        };
        if span_hit
            && t.constituents
                .iter()
                .any(|&r| self.still_holds(env, caller, r))
        {
            return Err(Rule::RetrieverOwnsMemory);
        }

        let donation = if t.kind == TransactionKind::Donate {
            let info = RegionInfo {
                access,
                kind: t.region.kind,
                security: t.region.security,
            };
            let quota = self.quota_of(env, t.sender);
            let table = donate_ranges(env, &self.donated, &t.constituents, caller, info, t.sender)?;
            if table
                .iter()
                .filter(|d| same_account(d.charged, t.sender))
                .count()
                > usize::from(quota.donated)
            {
                return Err(Rule::DonationQuotaExceeded);
            }
            Some(info)
        } else {
            None
        };

        Ok(RetrievePlan {
            slot,
            receiver_index,
            access,
            attrs: MappingAttrs {
                access,
                memory,
                non_secure: t.region.security == Security::NonSecure,
            },
            zero_before,
            zero_after_relinquish: zero_after,
            donation,
            map_cost: env.map_cost(caller, &t.constituents),
        })
    }

    fn commit_retrieve<E: Environment>(
        &mut self,
        env: &mut E,
        caller: EndpointId,
        plan: RetrievePlan,
        mut reservation: Reservation,
        response: &mut RetrieveResponse<C>,
    ) {
        // Validation established that the slot is live; a donation frees it.
        let Some(t) = self.transactions.get_mut(plan.slot).filter(|t| t.live) else {
            // Unreachable by construction; give the memory back rather than leak it.
            env.release(reservation);
            *response = dead_response(caller);
            return;
        };
        if plan.zero_before {
            for c in t.constituents.iter() {
                env.zero(*c);
            }
        }
        env.map(&mut reservation, &t.constituents, plan.attrs);
        let mut flags = t.kind.type_field() << FLAG_TRANSACTION_TYPE_SHIFT;
        // Bit 0 of the response says whether the receiver gets freshly zeroed memory: zeroed
        // now, or at send with nobody having mapped it since.
        if plan.zero_before || (t.zero_on_send && !t.exposed) {
            flags |= FLAG_ZERO_MEMORY;
        }
        t.exposed = true;
        if plan.zero_after_relinquish {
            flags |= FLAG_ZERO_AFTER_RELINQUISH;
        }
        // Field by field: the constituent list is refilled where it is, not moved.
        response.handle = t.handle;
        response.kind = t.kind;
        response.sender = t.sender;
        response.tag = t.tag;
        response.flags = flags;
        response.attributes = plan.attrs.memory;
        response.non_secure = plan.attrs.non_secure;
        response.receiver = caller;
        response.permissions = Permissions::from_access(plan.access);
        response.impdef = t.receivers[plan.receiver_index].impdef;
        response.total_pages = t.total_pages;
        response.constituents.clear();
        // Cannot fail: the response has the transaction's capacity C.
        let _ = response.constituents.extend_from_slice(&t.constituents);
        if t.kind == TransactionKind::Donate {
            // Ownership moves for good: the receiver keeps its mapping as owner, the former
            // owner never gets its mapping back, and the handle dies.
            env.adopt(reservation);
            if let Some(owner_res) = t.owner_reservation.take() {
                env.release(owner_res);
            }
            // Validation computed the same table from the same state, so this is `Ok`.
            if let Some(info) = plan.donation {
                let donor = t.sender;
                if let Ok(d) =
                    donate_ranges(&*env, &self.donated, &t.constituents, caller, info, donor)
                {
                    self.donated = d;
                }
            }
            t.free();
            self.live_slots &= !(1 << plan.slot);
        } else {
            t.receivers[plan.receiver_index].held = Some(Held {
                reservation,
                access: plan.access,
                zero_after_relinquish: plan.zero_after_relinquish,
            });
        }
    }

    // ------------------------------------------------------------------------------------
    // FFA_MEM_RELINQUISH
    // ------------------------------------------------------------------------------------

    /// Handles a relinquish from SP `caller`: unmaps the memory from it.
    pub fn relinquish<E: Environment>(
        &mut self,
        env: &mut E,
        caller: EndpointId,
        req: &RelinquishRequest<R>,
    ) -> Result<(), Rule> {
        let (slot, idx, zero) = self.validate_relinquish(caller, req)?;
        self.commit_relinquish(env, slot, idx, zero);
        Ok(())
    }

    fn validate_relinquish(
        &self,
        caller: EndpointId,
        req: &RelinquishRequest<R>,
    ) -> Result<(usize, usize, bool), Rule> {
        let slot = self.find(req.handle).ok_or(Rule::UnknownHandle)?;
        let t = self.slot(slot).ok_or(Rule::UnknownHandle)?;
        if req.flags & !FLAG_ZERO_MEMORY != 0 {
            return Err(Rule::InvalidFlags);
        }
        let zero_flag = req.flags & FLAG_ZERO_MEMORY != 0;
        if zero_flag && t.kind == TransactionKind::Share {
            return Err(Rule::InvalidFlags);
        }
        if req.endpoints.len() != 1 || req.endpoints[0] != caller {
            return Err(Rule::RelinquishEndpointsInvalid);
        }
        let idx = t
            .receivers
            .iter()
            .position(|r| r.id == caller)
            .ok_or(Rule::NotAReceiver)?;
        let held = t.receivers[idx].held.as_ref().ok_or(Rule::NotRetrieved)?;
        if zero_flag && !grant_allows_write(t, t.receivers[idx].granted) {
            return Err(Rule::ZeroNotAllowed);
        }
        Ok((slot, idx, zero_flag || held.zero_after_relinquish))
    }

    fn commit_relinquish<E: Environment>(
        &mut self,
        env: &mut E,
        slot: usize,
        idx: usize,
        zero: bool,
    ) {
        let Some(t) = self.slot_mut(slot) else {
            return;
        };
        if let Some(mut held) = t.receivers[idx].held.take() {
            env.unmap(&mut held.reservation, &t.constituents);
            env.release(held.reservation);
        }
        // With several borrowers the wipe waits until the last one has unmapped the pages
        // (DEN0140 "Zero memory after relinquish"; the ACS checks it).
        t.zero_pending |= zero;
        if t.zero_pending && t.receivers.iter().all(|r| r.held.is_none()) {
            for c in t.constituents.iter() {
                env.zero(*c);
            }
            t.zero_pending = false;
        }
    }

    // ------------------------------------------------------------------------------------
    // FFA_MEM_RECLAIM
    // ------------------------------------------------------------------------------------

    /// Handles FFA_MEM_RECLAIM from the owner `caller` with the w3 `flags`.
    pub fn reclaim<E: Environment>(
        &mut self,
        env: &mut E,
        caller: EndpointId,
        handle: MemHandle,
        flags: u32,
    ) -> Result<(), Rule> {
        let (slot, zero) = self.validate_reclaim(caller, handle, flags)?;
        self.commit_reclaim(env, slot, zero);
        Ok(())
    }

    fn validate_reclaim(
        &self,
        caller: EndpointId,
        handle: MemHandle,
        flags: u32,
    ) -> Result<(usize, bool), Rule> {
        let slot = self.find(handle).ok_or(Rule::UnknownHandle)?;
        let t = self.slot(slot).ok_or(Rule::UnknownHandle)?;
        if t.sender != caller {
            return Err(Rule::NotTheOwner);
        }
        // Zero before reclaim is valid for every type, shares included (the ACS reclaims a
        // share with it and expects zeroed memory).
        let zero = flags & FLAG_ZERO_MEMORY != 0;
        if flags & !FLAG_ZERO_MEMORY != 0 {
            return Err(Rule::InvalidFlags);
        }
        // Normal-world receivers retrieve and relinquish through the hypervisor, which only
        // forwards the reclaim once they are done: only SP holders block here.
        if t.receivers.iter().any(|r| r.held.is_some()) {
            return Err(Rule::StillBorrowed);
        }
        Ok((slot, zero))
    }

    fn commit_reclaim<E: Environment>(&mut self, env: &mut E, slot: usize, zero: bool) {
        // Worked on in place and only then emptied: taking the transaction out of its slot
        // would copy all of it.
        let Some(t) = self.slot_mut(slot) else {
            return;
        };
        if zero {
            for c in t.constituents.iter() {
                env.zero(*c);
            }
        }
        if let Some(mut res) = t.owner_reservation.take() {
            let attrs = MappingAttrs {
                access: t.region.access,
                memory: default_type(t.region.kind),
                non_secure: t.region.security == Security::NonSecure,
            };
            env.restore_owner(&mut res, &t.constituents, attrs);
            env.release(res);
        }
        t.free();
        self.live_slots &= !(1 << slot);
    }
}

/// Do `a` and `b` draw on one quota? Each SP has its own; the normal world's endpoints (a
/// hypervisor's VMs, which the SPMC cannot tell apart by anything they cannot forge) share
/// one.
pub(crate) fn same_account(a: EndpointId, b: EndpointId) -> bool {
    a == b || (!a.is_secure() && !b.is_secure())
}

/// Indices of `ranges` (well formed, at most `C`) ordered by base address.
#[cfg(test)]
fn sorted_order<const C: usize>(ranges: &[PageRange]) -> Vec<u16, C> {
    let mut order: Vec<u16, C> = Vec::new();
    sorted_order_into(ranges, &mut order);
    order
}

/// Indices of `ranges` (well formed, at most `C`) ordered by base address, written into
/// `order` (replacing what it held) so that no list is returned by value.
#[cfg(test)]
fn sorted_order_into<const C: usize>(ranges: &[PageRange], order: &mut Vec<u16, C>) {
    order.clear();
    for i in 0..ranges.len() {
        // Cannot fail: `ranges` comes from a Vec of capacity C <= u16::MAX.
        let _ = order.push(i as u16);
    }
    // Senders usually list their ranges in address order already: one comparison per
    // range then, instead of the sort's run detection.
    if !ranges.windows(2).all(|w| w[0].base.0 < w[1].base.0) {
        order.sort_unstable_by_key(|&i| ranges[i as usize].base.0);
    }
}

/// The span of well-formed, non-overlapping ranges `r` (`by_address`: their indices by
/// ascending address): the lowest base and the end of the highest range, which is the highest
/// end since none overlap. `(0, 0)` for none.
fn span_of(r: &[PageRange], by_address: &[u16]) -> (u64, u64) {
    let at = |i: Option<&u16>| i.and_then(|&i| r.get(usize::from(i)));
    match (at(by_address.first()), at(by_address.last())) {
        (Some(lo), Some(hi)) => (lo.base.0, hi.end().unwrap_or(u64::MAX)),
        _ => (0, 0),
    }
}

/// Do two lists of well-formed, internally disjoint ranges share a page? Walks both in
/// address order (`ai`/`bi` from [`sorted_order_into`]), always advancing the range that ends
/// first: linear in the two lengths.
fn any_overlap(a: &[PageRange], ai: &[u16], b: &[PageRange], bi: &[u16]) -> bool {
    let (mut i, mut j) = (0, 0);
    while let (Some(&x), Some(&y)) = (ai.get(i), bi.get(j)) {
        let (Some(x), Some(y)) = (a.get(x as usize), b.get(y as usize)) else {
            return true;
        };
        if x.overlaps(y) {
            return true;
        }
        if x.end() <= y.end() {
            i += 1;
        } else {
            j += 1;
        }
    }
    false
}

/// Pages common to two well-formed ranges.
fn overlap_pages(a: &PageRange, b: &PageRange) -> u64 {
    match (a.end(), b.end()) {
        (Some(ae), Some(be)) => {
            let lo = a.base.0.max(b.base.0);
            let hi = ae.min(be);
            hi.saturating_sub(lo) / PAGE_SIZE
        }
        _ => 0,
    }
}

/// Does the memory type suit the memory? `NotSpecified` suits anything (decided later).
fn type_fits(ty: MemoryType, kind: MemKind) -> bool {
    matches!(
        (ty, kind),
        (MemoryType::NotSpecified, _)
            | (MemoryType::Device(_), MemKind::Device)
            | (MemoryType::Normal { .. }, MemKind::Normal)
    )
}

/// The type a receiver gets when neither side specified one.
fn default_type(kind: MemKind) -> MemoryType {
    match kind {
        MemKind::Normal => MemoryType::NORMAL_WB_IS,
        MemKind::Device => MemoryType::Device(DeviceAttr::NGnRnE),
    }
}

/// Does the transaction let this receiver write (what zero flags are judged on)?
fn grant_allows_write<const R: usize, const C: usize>(
    t: &Transaction<R, C>,
    granted: Permissions,
) -> bool {
    match granted.data {
        DataAccess::ReadWrite => true,
        DataAccess::ReadOnly => false,
        DataAccess::NotSpecified => t.region.access.write,
    }
}

/// The access a retrieve gets: what the receiver asks for, never more than granted.
fn resolve_access<const R: usize, const C: usize>(
    t: &Transaction<R, C>,
    granted: Permissions,
    asked: ReceiverGrant,
) -> Result<Access, Rule> {
    // What the sender allowed: donate leaves both fields to the receiver, bounded by what
    // the owner itself had; "not specified" instruction access on a single-borrower lend
    // likewise falls back to the owner's right.
    let may_write = grant_allows_write(t, granted);
    // Only a sole borrower or the donee may execute, only normal memory, and only if the
    // owner itself could (a share is recorded as NX).
    let sole = t.kind == TransactionKind::Donate
        || (t.kind == TransactionKind::Lend && t.receivers.len() == 1);
    let may_exec = sole
        && t.region.kind == MemKind::Normal
        && t.region.access.exec
        && granted.instruction != InstructionAccess::NotExecutable;
    let write = match asked.permissions.data {
        DataAccess::NotSpecified => may_write,
        DataAccess::ReadOnly => false,
        DataAccess::ReadWrite => true,
    };
    // Executable only when asked for explicitly: a receiver that did not say gets NX.
    let exec = asked.permissions.instruction == InstructionAccess::Executable;
    if (write && !may_write) || (exec && !may_exec) {
        return Err(Rule::RetrievePermissionsExceedGrant);
    }
    Ok(Access { write, exec })
}

/// The memory type a retrieve maps with.
fn resolve_type<const R: usize, const C: usize>(
    t: &Transaction<R, C>,
    asked: MemoryType,
) -> Result<MemoryType, Rule> {
    match (t.attributes, asked) {
        (MemoryType::NotSpecified, MemoryType::NotSpecified) => Ok(default_type(t.region.kind)),
        // The receiver chooses; only RAM may be mapped Normal.
        (MemoryType::NotSpecified, a) if t.region.kind == MemKind::Normal => Ok(a),
        (MemoryType::NotSpecified, a @ MemoryType::Device(_)) => Ok(a),
        (MemoryType::NotSpecified, _) => Err(Rule::RetrieveAttributesMismatch),
        (sent, MemoryType::NotSpecified) => Ok(sent),
        (sent, a) if no_less_restrictive(a, sent) => Ok(a),
        _ => Err(Rule::RetrieveAttributesMismatch),
    }
}

/// Is `asked` at least as restrictive as `sent`? The precedence of DEN0140 "Memory region
/// attributes" as Arm's ACS checks it: Device-nGnRnE < nGnRE < nGRE < GRE < Normal;
/// Non-cacheable < Write-Back; Non-shareable < Inner < Outer shareable.
pub(crate) fn no_less_restrictive(asked: MemoryType, sent: MemoryType) -> bool {
    fn device_rank(d: DeviceAttr) -> u8 {
        match d {
            DeviceAttr::NGnRnE => 0,
            DeviceAttr::NGnRE => 1,
            DeviceAttr::NGRE => 2,
            DeviceAttr::GRE => 3,
        }
    }
    fn cache_rank(c: Cacheability) -> u8 {
        match c {
            Cacheability::NonCacheable => 0,
            Cacheability::WriteBack => 1,
        }
    }
    fn share_rank(s: Shareability) -> u8 {
        match s {
            Shareability::NonShareable => 0,
            Shareability::Inner => 1,
            Shareability::Outer => 2,
        }
    }
    match (asked, sent) {
        (MemoryType::Device(a), MemoryType::Device(s)) => device_rank(a) <= device_rank(s),
        (MemoryType::Device(_), MemoryType::Normal { .. }) => true,
        (
            MemoryType::Normal {
                cacheability: ac,
                shareability: ash,
            },
            MemoryType::Normal {
                cacheability: sc,
                shareability: ssh,
            },
        ) => cache_rank(ac) <= cache_rank(sc) && share_rank(ash) <= share_rank(ssh),
        _ => false,
    }
}

/// The donated-ranges table after `ranges` moved to `owner` by `donor`'s donation, or
/// `OwnershipTableFull`.
///
/// The table only holds what differs from the static answer, as compactly as it can, so
/// that it does not grow for good: a range that goes back to its static owner with the
/// static access leaves the table; entries the donation cuts are charged to the donor (its
/// donation split them); neighbouring entries of the same owner, access and charge merge.
fn donate_ranges<const OWN: usize, E: OwnershipOracle>(
    env: &E,
    current: &Vec<DonatedRange, OWN>,
    ranges: &[PageRange],
    owner: EndpointId,
    info: RegionInfo,
    donor: EndpointId,
) -> Result<Vec<DonatedRange, OWN>, Rule> {
    let mut out: Vec<DonatedRange, OWN> = Vec::new();
    for d in current.iter() {
        if !ranges.iter().any(|r| r.overlaps(&d.range)) {
            out.push(*d).map_err(|_| Rule::OwnershipTableFull)?;
            continue;
        }
        // Keep the parts of `d` that no donated range touches.
        let mut pieces: Vec<PageRange, 64> = Vec::new();
        pieces.push(d.range).map_err(|_| Rule::OwnershipTableFull)?;
        for r in ranges {
            let mut next: Vec<PageRange, 64> = Vec::new();
            for p in pieces.iter() {
                for rest in subtract(p, r).into_iter().flatten() {
                    next.push(rest).map_err(|_| Rule::OwnershipTableFull)?;
                }
            }
            pieces = next;
        }
        for p in pieces {
            push_merged(
                &mut out,
                DonatedRange {
                    range: p,
                    owner: d.owner,
                    info: d.info,
                    charged: donor,
                },
            )?;
        }
    }
    for r in ranges {
        // Back with its static owner, as the static configuration has it: nothing to record.
        if env.static_region(owner, *r) == Some(info) {
            continue;
        }
        push_merged(
            &mut out,
            DonatedRange {
                range: *r,
                owner,
                info,
                charged: donor,
            },
        )?;
    }
    Ok(out)
}

/// Adds `new` to the table, merged with an entry it extends (same owner, access and charge,
/// physically adjacent).
fn push_merged<const OWN: usize>(
    out: &mut Vec<DonatedRange, OWN>,
    new: DonatedRange,
) -> Result<(), Rule> {
    let same =
        |d: &DonatedRange| d.owner == new.owner && d.info == new.info && d.charged == new.charged;
    for d in out.iter_mut() {
        if !same(d) {
            continue;
        }
        let pages = d.range.pages.checked_add(new.range.pages);
        match pages {
            Some(p) if d.range.end() == Some(new.range.base.0) => {
                d.range.pages = p;
                return Ok(());
            }
            Some(p) if new.range.end() == Some(d.range.base.0) => {
                d.range.base = new.range.base;
                d.range.pages = p;
                return Ok(());
            }
            _ => {}
        }
    }
    out.push(new).map_err(|_| Rule::OwnershipTableFull)
}

/// `a` minus `b`: up to two pieces.
fn subtract(a: &PageRange, b: &PageRange) -> [Option<PageRange>; 2] {
    let (Some(ae), Some(be)) = (a.end(), b.end()) else {
        return [Some(*a), None];
    };
    if !a.overlaps(b) {
        return [Some(*a), None];
    }
    let left = (b.base.0 > a.base.0).then(|| PageRange {
        base: a.base,
        pages: ((b.base.0 - a.base.0) / PAGE_SIZE) as u32,
    });
    let right = (be < ae).then(|| PageRange {
        base: super::types::PhysAddr(be),
        pages: ((ae - be) / PAGE_SIZE) as u32,
    });
    [left, right]
}

/// Placeholder response: the initial value of a response buffer, and what the unreachable
/// "slot vanished" path of `commit_retrieve` leaves.
pub(crate) fn dead_response<const C: usize>(caller: EndpointId) -> RetrieveResponse<C> {
    RetrieveResponse {
        handle: MemHandle::INVALID,
        kind: TransactionKind::Share,
        sender: caller,
        tag: 0,
        flags: 0,
        attributes: MemoryType::NotSpecified,
        non_secure: false,
        receiver: caller,
        permissions: Permissions::from_access(Access::RO),
        impdef: [0, 0],
        total_pages: 0,
        constituents: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Disjoint ranges from (gap, length) pairs, then shuffled by `rot`.
    fn disjoint(parts: &[(u8, u8)], start: u64, rot: usize) -> std::vec::Vec<PageRange> {
        let mut at = start;
        let mut v: std::vec::Vec<PageRange> = parts
            .iter()
            .map(|&(gap, len)| {
                at += gap as u64 * PAGE_SIZE;
                let r = PageRange::new(at, len as u32 + 1);
                at += (len as u64 + 1) * PAGE_SIZE;
                r
            })
            .collect();
        let n = v.len().max(1);
        v.rotate_left(rot % n);
        v
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

        /// The linear merge agrees with the quadratic definition.
        #[test]
        fn linear_overlap_matches_pairwise(
            a in prop::collection::vec((0u8..4, 0u8..4), 0..12),
            b in prop::collection::vec((0u8..4, 0u8..4), 0..12),
            shift in 0u64..40,
            rot_a in 0usize..12,
            rot_b in 0usize..12,
        ) {
            let ra = disjoint(&a, 0x1000_0000, rot_a);
            let rb = disjoint(&b, 0x1000_0000 + shift * PAGE_SIZE, rot_b);
            let oa = sorted_order::<16>(&ra);
            let ob = sorted_order::<16>(&rb);
            let pairwise = ra.iter().any(|x| rb.iter().any(|y| x.overlaps(y)));
            prop_assert_eq!(any_overlap(&ra, &oa, &rb, &ob), pairwise);
            // The spans' test that lets `validate_send` skip the merge is only ever right to.
            let (sa, sb) = (span_of(&ra, &oa), span_of(&rb, &ob));
            if sa.1 <= sb.0 || sb.1 <= sa.0 {
                prop_assert!(!pairwise, "spans {:x?} {:x?} apart but ranges overlap", sa, sb);
            }
            if let (Some(lo), Some(hi)) = (ra.iter().map(|r| r.base.0).min(), ra.iter().filter_map(|r| r.end()).max()) {
                prop_assert_eq!(sa, (lo, hi));
            }
            for w in oa.windows(2) {
                prop_assert!(ra[w[0] as usize].base.0 < ra[w[1] as usize].base.0);
            }
        }
    }
}
