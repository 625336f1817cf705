//! FF-A memory management transactions (share, lend, donate, retrieve, relinquish, reclaim,
//! fragments): the pure-logic state machine of DEN0077 v1.1 chapter 10 / DEN0140 (v1.2).
//!
//! # Where it sits
//!
//! The dispatcher decodes the ABI and the descriptor with `ffa-abi`, turns it into a
//! [`TransactionRequest`] / [`RetrieveRequest`] / [`RelinquishRequest`] with [`convert`],
//! and calls [`MemShare`]. The engine touches the world only through the [`Environment`]
//! traits:
//!
//! | trait | kernel implementation | answers / does |
//! |---|---|---|
//! | [`OwnershipOracle`] | partition table + platform NS ranges | what an endpoint *statically* owns at a PA range, with which access, kind (RAM/MMIO) and security; never secure memory for the normal world |
//! | [`SharePolicy`] | the `policy` capability gate | endpoint kind (SP / normal world) and "may S send to R" |
//! | [`SpAddressSpaces`] | SP stage-1 tables (aarch64-paging) | `reserve` table pages from the page-table pool (the only fallible call), then infallible `map`/`unmap`/`revoke_owner`/`restore_owner`, `release`/`adopt` |
//! | [`MemoryZeroing`] | SPMC's own mapping of the page | zero a range |
//!
//! # Wiring (for the dispatcher)
//!
//! One `MemShare<TX, R, C, OWN>` (and one [`FragmentAssembler`] and [`ResponseCursors`])
//! per SPMC behind one lock; capacities are const generics, the platform's [`Limits`] clamp
//! them at run time.
//!
//! - FFA_MEM_SHARE/LEND/DONATE (32/64) with w1 = total length, w2 = fragment length (w3/w4
//!   zero: TX buffer): if w2 == w1, parse with `ffa_abi::memory::transaction::MemTransaction`
//!   at the caller's version, [`convert::transaction_request`] (for an SP sender then
//!   [`convert::translate_sp_constituents`]: SPs name their own VAs, the engine works on
//!   PAs; the normal world names PAs/IPAs already), [`MemShare::send`] and reply
//!   FFA_SUCCESS with the handle in w2/w3. If w2 < w1, [`convert::check_total_length`], then
//!   [`FragmentAssembler::start`] (passing `|| engine.reserve_handle()`) and reply
//!   FFA_MEM_FRAG_RX(handle, offset).
//! - FFA_MEM_FRAG_TX(handle, length): [`FragmentAssembler::push`]; on `More` reply
//!   FFA_MEM_FRAG_RX, on `Complete` call [`FragmentAssembler::finish`] with a closure that
//!   parses, converts and calls [`MemShare::send_with_handle`].
//! - FFA_MEM_RETRIEVE_REQ from an SP: parse, [`convert::retrieve_request`],
//!   [`MemShare::retrieve`]; encode with [`convert::write_retrieve_response`] into the RX
//!   buffer. If it does not fit, [`ResponseCursors::begin`] and answer later
//!   FFA_MEM_FRAG_RX(handle, offset) with [`ResponseCursors::next`] (reply FFA_MEM_FRAG_TX).
//!   Check [`ResponseCursors::can_begin`] before the retrieve when the response may not fit.
//! - FFA_MEM_RELINQUISH: parse `MemRelinquish`, [`convert::relinquish_request`],
//!   [`MemShare::relinquish`]. FFA_MEM_RECLAIM(handle w1/w2, flags w3): [`MemShare::reclaim`]
//!   (for a handle still in the assembler, [`FragmentAssembler::abort`] instead).
//! - Any `Err(rule)` becomes FFA_ERROR with `rule.error().code()`.
//!
//! # State machine
//!
//! A transaction lives in one of a fixed number of slots from the send to its end:
//!
//! ```text
//!  send (SHARE/LEND/DONATE) ──> Live{receivers: none hold}
//!  Live ── retrieve(R) ──> Live{R holds}          (share/lend; R mapped with granted access)
//!  Live{R holds} ── relinquish(R) ──> Live{R does not hold}   (R unmapped; re-retrieve allowed)
//!  Live{nobody holds} ── reclaim(owner) ──> gone  (lend/donate: owner's mapping restored)
//!  Live(DONATE) ── retrieve(R) ──> gone           (R owns the pages for good; handle dies)
//! ```
//!
//! Page effects: SHARE leaves the owner mapped; LEND and DONATE unmap an SP owner at send
//! (the normal world's own tables belong to its hypervisor/OS); zero-memory flags wipe pages
//! at send (after the owner lost access), at retrieve, at relinquish and at reclaim.
//! Ownership after donation is kept in a bounded table of donated ranges layered over the
//! static [`OwnershipOracle`]. Every mapping, the owner's and each borrower's, is at
//! VA = PA, and the retrieve response lists each constituent at that address (with the NS
//! bit in the attributes for normal-world memory, v1.1 and later).
//!
//! Every operation is `validate_*` (pure, checks *every* constituent, receiver, permission
//! and flag and computes the exact page-table and table-slot needs) -> reserve (page-table
//! pages and VA through [`SpAddressSpaces::reserve`]; the only fallible side effect, and
//! nothing else has changed yet) -> `commit_*` (cannot fail). Reservations for later steps
//! (the owner's restore at reclaim, the receiver's unmap at relinquish) are taken up front
//! and held in the transaction, so relinquish and reclaim never need memory.
//!
//! # Invariants (checked after every step by the property tests)
//!
//! 1. A page is writable by two endpoints only when a share/lend grants RW to them.
//! 2. Lent and donated memory is not accessible to an SP owner while the transaction lives.
//! 3. Reclaim succeeds only when no SP receiver holds the memory.
//! 4. Handles are unique (monotonic, bit 63 clear = SPMC-allocated) and never reused.
//! 5. A rejected call changes nothing (engine state, page tables, reservations).
//! 6. Page-table memory does not leak: pool free + reserved + in use is constant, and the
//!    engine's held reservations equal the port's outstanding ones.
//!
//! # Rules and errors
//!
//! Every refusal is a [`Rule`]; [`Rule::error`] is the one table from rule to FF-A code.
//! Besides the spec and Hafnium, Arm's FF-A ACS (`test/memory_manage`) fixed these:
//!
//! - invalid or self receiver, donate with data access or memory type specified, lend to
//!   one borrower with a memory type, any sender naming instruction access, a first
//!   fragment whose w1 does not match the descriptor ([`convert::check_total_length`]), bad
//!   handle or tag in a retrieve, reclaim of a handle not the caller's: INVALID_PARAMETERS;
//! - a descriptor whose sender is not the caller, secure memory lent to the normal world:
//!   DENIED;
//! - reclaim while a receiver holds the memory: DENIED; zero flags where the transaction
//!   grants the receiver read-only access (judged on the grant, not on what the receiver
//!   retrieved), or zero-before-retrieval the lender did not ask for: DENIED;
//! - zero-before-reclaim is valid for shares too; the retrieve response's bit 0 says whether
//!   the memory arrives zeroed;
//! - device (MMIO) memory may only be lent, to a single borrower, with device attributes;
//!   share, donate and multi-borrower lend of it are DENIED. This is Hafnium's rule
//!   (`ffa_send_check_transition` in src/ffa_memory.c: "Device memory regions can only be
//!   lent a single borrower") and satisfies Arm's ACS, which expects an SP's shared device
//!   region refused, while keeping device memory transferable (issue 5);
//! - attribute bits meaningless for the memory type (bits `[3:0]` with type "not specified",
//!   shareability of device memory) are ignored, as the ACS sets them;
//! - a receiver may ask for attributes *at least as restrictive* as the sender's
//!   (Device-nGnRnE < nGnRE < nGRE < GRE < Normal, Non-cacheable < Write-Back,
//!   Non-shareable < Inner < Outer), anything less restrictive is DENIED; with the type
//!   unspecified the receiver chooses (only Device attributes for MMIO);
//! - zero-after-relinquish on a multi-borrower lend is done once the last borrower has
//!   unmapped the pages;
//! - v1.2 implementation-defined values: every receiver a retrieve request lists must carry
//!   the value the sender wrote for it (INVALID_PARAMETERS otherwise), and the response
//!   returns it;
//! - each SP can hold a retrieved region once (a second retrieve is DENIED): FFA_FEATURES
//!   for FFA_MEM_RETRIEVE_REQ must report 0 in the "outstanding retrievals" field (bits
//!   `[7:0]`, meaning 2^(0+1)-1 = 1), which the ACS reads to decide how often to retrieve.
//!
//! # Choices where the spec leaves room
//!
//! - SP senders may only send to SPs ([`Rule::SpToNormalWorld`], DENIED): SP memory is
//!   secure, and normal-world retrieval goes through a hypervisor, which this SPMC does not
//!   serve. Normal-world senders must name at least one SP; normal-world receivers in such a
//!   transaction are recorded but their retrieve/relinquish is the hypervisor's business, so
//!   they do not block reclaim.
//! - Operation time slicing is not supported (INVALID_PARAMETERS); a retrieve's alignment
//!   hint likewise (the ACS accepts an error there).
//! - A receiver that does not name instruction access gets NX; X is granted only to a sole
//!   borrower or the donee, of normal memory the owner may execute.
//! - A page may be in only one live transaction at a time (also for shares).
//! - Per-endpoint quotas ([`Quota`]): live transactions a sender has, fragmented
//!   transmissions in flight, entries of the donated-ranges table a donor's donations hold.
//!   Going beyond one's own quota is NO_MEMORY for that endpoint only; the normal world's
//!   endpoints share one quota (the SPMC cannot tell a hypervisor's VMs apart by anything
//!   they cannot forge). The kernel sizes its tables so that the default quotas of the
//!   normal world and eight SPs fit (kernel/src/spmc/memory.rs).
//! - An SP may send pages of its image region with the access it has to them now (its
//!   .data/.bss after MEM_PERM_SET), as Hafnium lets a partition send any page it owns.
//! - Zero-before-retrieval also needs that no other receiver currently holds the memory.

#![forbid(unsafe_code)]

pub mod convert;
pub mod env;
pub mod error;
pub mod fragment;
pub mod request;
pub mod transaction;
pub mod types;

pub use env::{
    Environment, MappingAttrs, MemoryZeroing, NoMemory, OwnershipOracle, RegionInfo, Reservation,
    SharePolicy, SpAddressSpaces,
};
pub use error::{FfaError, Rule};
pub use fragment::{FragProgress, FragmentAssembler, ResponseCursors};
pub use request::{
    ReceiverGrant, RelinquishRequest, RetrieveRequest, RetrieveResponse, TransactionRequest,
};
pub use transaction::{DonatedRange, Limits, MemShare, Quota, SendOutcome, TransactionView};
pub use types::{
    Access, DataAccess, EndpointId, EndpointKind, InstructionAccess, MemHandle, MemKind,
    MemoryType, PageRange, Permissions, PhysAddr, Security, TransactionKind, VirtAddr, PAGE_SIZE,
};

/// The fake environment, for kernel tests that drive the engine (dispatcher tests).
#[cfg(test)]
pub(crate) mod fake;
#[cfg(test)]
mod tests;
