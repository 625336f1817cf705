//! Why a memory management call was refused, and which FF-A error code each reason maps to.
//!
//! One enum variant per validation rule keeps the rule -> error table in one place (the
//! `match` in [`Rule::error`]) and lets tests assert *which* rule fired, not only the code.

/// The FF-A error codes memory management calls return (DEN0077 v1.1 Table 7.x "Error codes").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FfaError {
    /// -2: malformed or inconsistent request.
    InvalidParameters,
    /// -3: a platform limit (transactions, receivers, constituents, page-table memory,
    /// fragment buffers) is exhausted.
    NoMemory,
    /// -4: the caller already has an operation of this kind in flight.
    Busy,
    /// -6: well formed, but the caller may not do it (ownership, access, state, policy).
    Denied,
}

impl FfaError {
    /// The signed error code placed in w2 of FFA_ERROR.
    pub const fn code(self) -> i32 {
        match self {
            FfaError::InvalidParameters => -2,
            FfaError::NoMemory => -3,
            FfaError::Busy => -4,
            FfaError::Denied => -6,
        }
    }
}

/// Every rule the engine checks. [`Rule::error`] is the single table from rule to FF-A error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    // ---- Transaction descriptor shape (FFA_MEM_SHARE/LEND/DONATE) ----
    /// A field is not valid for the ABI it came with (flag bits, NS bit, handle in a send,
    /// missing composite, a composite in a retrieve request, reserved encodings).
    MalformedDescriptor,
    /// The descriptor's sender ID is not the caller (DENIED: the ACS checks that the lender
    /// is the owner).
    SenderNotCaller,
    /// No endpoint memory access descriptor.
    NoReceivers,
    /// More receivers than the platform supports.
    TooManyReceivers,
    /// FFA_MEM_DONATE names more than one receiver.
    DonateNeedsOneReceiver,
    /// The same receiver appears twice, or the sender names itself.
    DuplicateOrSelfReceiver,
    /// A receiver ID is not a known endpoint.
    UnknownReceiver,
    /// No constituent, or a constituent of zero pages.
    EmptyRegion,
    /// More constituents than the platform supports.
    TooManyConstituents,
    /// A constituent is not 4 KiB aligned or wraps the address space.
    MisalignedConstituent,
    /// Two constituents overlap.
    OverlappingConstituents,
    /// The composite's total page count does not match the constituents.
    PageCountMismatch,
    /// A flag that must be zero is set, or a flag is not valid for this transaction type
    /// (zero-memory on FFA_MEM_SHARE, time slicing which this SPMC does not support, a
    /// transaction type or alignment hint in a send).
    InvalidFlags,
    /// Data/instruction access field not allowed for this transaction type (share/lend need
    /// RO or RW, donate "not specified"; instruction access is never named by a sender).
    InvalidPermissions,
    /// Memory type field not allowed for this transaction type (share and multi-borrower lend
    /// must specify it; single-borrower lend and donate must leave it unspecified).
    InvalidMemoryType,
    // ---- Ownership, access and policy ----
    /// The sender does not own every page (or owns them with mixed kind/security).
    NotOwner,
    /// A page is already part of a live transaction or an in-flight transmission.
    AlreadyInTransaction,
    /// The sender grants write access to memory it may only read.
    AccessExceedsOwner,
    /// Device memory (MMIO) may only be lent, to a single borrower: not shared, not donated,
    /// not lent to several (Hafnium's `ffa_send_check_transition`; Arm's ACS expects a
    /// shared device region refused).
    DeviceMemoryNotLendable,
    /// The memory type does not fit the memory (device attributes on RAM or the reverse).
    MemoryTypeMismatch,
    /// The capability table forbids this sender -> receiver transfer.
    PolicyDenied,
    /// An SP tries to send to a normal-world endpoint: its memory cannot be reached from the
    /// normal world, and retrieval by NS endpoints goes through the hypervisor, which this
    /// SPMC does not serve.
    SpToNormalWorld,
    /// A normal-world sender names no SP receiver: nothing for the SPMC to do.
    NoSecureReceiver,
    // ---- Limits ----
    /// Every transaction slot is in use.
    TransactionsExhausted,
    /// The SP's page-table pool or VA space cannot cover the mapping.
    PageTableMemoryExhausted,
    /// The table of donated ranges is full.
    OwnershipTableFull,
    /// The sender already has as many live transactions as its quota allows
    /// ([`Quota::transactions`](super::transaction::Quota)).
    TransactionQuotaExceeded,
    /// The sender already has as many fragmented transmissions in flight as its quota allows.
    FragmentQuotaExceeded,
    /// The donor's donations already hold as many entries of the donated-ranges table as its
    /// quota allows.
    DonationQuotaExceeded,
    // ---- MemHandle lookups ----
    /// No live transaction has this handle.
    UnknownHandle,
    // ---- FFA_MEM_RETRIEVE_REQ ----
    /// Only SPs retrieve through this SPMC.
    RetrieverNotSp,
    /// The retrieve request names a different sender (DENIED, as Arm's ACS checks; some
    /// Hafnium versions answer INVALID_PARAMETERS).
    RetrieveSenderMismatch,
    /// The retrieve request's tag differs.
    RetrieveTagMismatch,
    /// The retrieve request's transaction type differs.
    RetrieveTypeMismatch,
    /// The retrieve request does not carry an entry for the caller, or names endpoints that
    /// are not receivers of the transaction.
    RetrieveReceiversMismatch,
    /// The caller is not a receiver of the transaction.
    NotAReceiver,
    /// A listed receiver's implementation-defined value differs from the sender's (v1.2).
    ImpdefMismatch,
    /// The caller already holds the memory.
    AlreadyRetrieved,
    /// A page of the transaction lies in one of the caller's own regions (its partition-table
    /// entry maps it already): a retrieve would map over it and the relinquish unmap it
    /// (DENIED, as Hafnium's `ffa_retrieve_check_transition`).
    RetrieverOwnsMemory,
    /// The caller asks for more access than the transaction grants, or executable device
    /// memory.
    RetrievePermissionsExceedGrant,
    /// The caller asks for attributes other than the transaction's.
    RetrieveAttributesMismatch,
    /// Zeroing requested where the sender did not ask for it (zero before retrieval), the
    /// transaction grants the receiver read-only access, or another receiver holds the
    /// memory.
    ZeroNotAllowed,
    // ---- FFA_MEM_RELINQUISH ----
    /// A relinquish descriptor must name exactly the caller.
    RelinquishEndpointsInvalid,
    /// The caller does not currently hold the memory.
    NotRetrieved,
    // ---- FFA_MEM_RECLAIM ----
    /// Only the owner (sender) may reclaim (INVALID_PARAMETERS: the ACS and Hafnium treat it
    /// as a handle that is not the caller's).
    NotTheOwner,
    /// A receiver still holds the memory.
    StillBorrowed,
    // ---- Fragments (FFA_MEM_FRAG_TX / FFA_MEM_FRAG_RX) ----
    /// Total length smaller than the fragment, zero, or over the platform's descriptor limit.
    InvalidLength,
    /// Every fragment buffer is in use.
    FragmentSlotsExhausted,
    /// The descriptor is larger than the platform's fragment buffer.
    DescriptorTooLarge,
    /// No in-flight transmission or response matches the handle and caller.
    UnknownFragmentHandle,
    /// The fragment would overrun the announced total length, is not made of whole 16-byte
    /// constituent descriptors, or the offset is not where the transmission stands.
    FragmentMismatch,
}

impl Rule {
    /// The FF-A error code this rule gives (the table the module doc refers to).
    pub const fn error(self) -> FfaError {
        use FfaError::*;
        match self {
            Rule::MalformedDescriptor
            | Rule::NoReceivers
            | Rule::DonateNeedsOneReceiver
            | Rule::DuplicateOrSelfReceiver
            | Rule::UnknownReceiver
            | Rule::EmptyRegion
            | Rule::MisalignedConstituent
            | Rule::OverlappingConstituents
            | Rule::PageCountMismatch
            | Rule::InvalidFlags
            | Rule::InvalidPermissions
            | Rule::InvalidMemoryType
            | Rule::NoSecureReceiver
            | Rule::UnknownHandle
            | Rule::RetrieveTagMismatch
            | Rule::RetrieveTypeMismatch
            | Rule::RetrieveReceiversMismatch
            | Rule::NotAReceiver
            | Rule::ImpdefMismatch
            | Rule::NotTheOwner
            | Rule::RelinquishEndpointsInvalid
            | Rule::NotRetrieved
            | Rule::InvalidLength
            | Rule::UnknownFragmentHandle
            | Rule::FragmentMismatch => InvalidParameters,
            Rule::TooManyReceivers
            | Rule::TooManyConstituents
            | Rule::TransactionsExhausted
            | Rule::PageTableMemoryExhausted
            | Rule::OwnershipTableFull
            | Rule::TransactionQuotaExceeded
            | Rule::FragmentQuotaExceeded
            | Rule::DonationQuotaExceeded
            | Rule::FragmentSlotsExhausted
            | Rule::DescriptorTooLarge => NoMemory,
            Rule::SenderNotCaller
            | Rule::NotOwner
            | Rule::AlreadyInTransaction
            | Rule::AccessExceedsOwner
            | Rule::DeviceMemoryNotLendable
            | Rule::MemoryTypeMismatch
            | Rule::PolicyDenied
            | Rule::SpToNormalWorld
            | Rule::RetrieverNotSp
            | Rule::RetrieveSenderMismatch
            | Rule::AlreadyRetrieved
            | Rule::RetrieverOwnsMemory
            | Rule::RetrievePermissionsExceedGrant
            | Rule::RetrieveAttributesMismatch
            | Rule::ZeroNotAllowed
            | Rule::StillBorrowed => Denied,
        }
    }
}

/// A refused call: the rule that refused it. Converts to the FF-A error with [`Rule::error`].
pub type Rejection = Rule;

impl From<FfaError> for ffa_abi::ErrorCode {
    fn from(e: FfaError) -> Self {
        match e {
            FfaError::InvalidParameters => ffa_abi::ErrorCode::InvalidParameters,
            FfaError::NoMemory => ffa_abi::ErrorCode::NoMemory,
            FfaError::Busy => ffa_abi::ErrorCode::Busy,
            FfaError::Denied => ffa_abi::ErrorCode::Denied,
        }
    }
}

impl From<Rule> for ffa_abi::ErrorCode {
    fn from(r: Rule) -> Self {
        r.error().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_agree_with_ffa_abi() {
        for e in [
            FfaError::InvalidParameters,
            FfaError::NoMemory,
            FfaError::Busy,
            FfaError::Denied,
        ] {
            assert_eq!(ffa_abi::ErrorCode::from(e) as i32, e.code());
        }
        assert_eq!(
            ffa_abi::ErrorCode::from(Rule::StillBorrowed),
            ffa_abi::ErrorCode::Denied
        );
    }
}
