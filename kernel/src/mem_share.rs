//! FF-A memory management transactions (share, lend, donate, retrieve, relinquish, reclaim,
//! fragments): the pure-logic state machine of DEN0077 v1.1 chapter 10 / DEN0140 (v1.2).
//!
//! # Where it sits
//!
//! The dispatcher decodes the ABI and the descriptor with `ffa-abi`, turns it into a
//! [`TransactionRequest`] / [`RetrieveRequest`] / [`RelinquishRequest`] (see [`convert`]), and calls [`MemShare`]. The engine touches the
//! world only through the [`Environment`] traits:
//!
//! | trait | kernel implementation | answers / does |
//! |---|---|---|
//! | [`OwnershipOracle`] | partition table + platform NS ranges | what an endpoint *statically* owns at a PA range, with which access, kind (RAM/MMIO) and security; never secure memory for the normal world |
//! | [`SharePolicy`] | the `policy` capability gate | endpoint kind (SP / normal world) and "may S send to R" |
//! | [`SpAddressSpaces`] | SP stage-1 tables (aarch64-paging) | `reserve` table pages + a VA window (the only fallible call), then infallible `map`/`unmap`/`revoke_owner`/`restore_owner`, `release`/`adopt` |
//! | [`MemoryZeroing`] | SPMC's own mapping of the page | zero a range |
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
//! static [`OwnershipOracle`].
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
//! # Choices where the spec leaves room (documented for reviewers)
//!
//! - SP senders may only send to SPs ([`Rule::SpToNormalWorld`], DENIED): SP memory is
//!   secure, and normal-world retrieval goes through a hypervisor, which this SPMC does not
//!   serve. Normal-world senders must name at least one SP; normal-world receivers in such a
//!   transaction are recorded but their retrieve/relinquish is the hypervisor's business, so
//!   they do not block reclaim.
//! - Operation time slicing is not supported (INVALID_PARAMETERS); the alignment hint of a
//!   retrieve request likewise.
//! - A receiver that names attributes must name exactly the transaction's (no aliasing with
//!   different attributes); a receiver that does not name instruction access gets NX.
//! - A page may be in only one live transaction at a time (also for shares).
//! - Zeroing on retrieve/relinquish needs RW access and no other current holder.
//!
//! Errors: every refusal is a [`Rule`]; [`Rule::error`] is the table from rule to FF-A code.

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
pub use transaction::{DonatedRange, Limits, MemShare, SendOutcome, TransactionView};
pub use types::{
    Access, DataAccess, EndpointId, EndpointKind, InstructionAccess, MemHandle, MemKind,
    MemoryType, PageRange, Permissions, PhysAddr, Security, TransactionKind, VirtAddr, PAGE_SIZE,
};

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;
