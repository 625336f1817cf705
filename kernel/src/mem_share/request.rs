//! Already-parsed inputs and outputs of the memory management ABIs: what the dispatcher
//! hands the engine after `ffa-abi` decoded a descriptor (either layout, v1.0 or v1.1+), and
//! what the engine hands back for the retrieve response.
//!
//! Flags stay raw `u32` here on purpose: which bits are valid depends on the transaction
//! type, so the engine decodes them during validation and names the rule that rejects them.

use heapless::Vec;

use super::types::{
    EndpointId, MemHandle, MemoryType, PageRange, Permissions, TransactionKind, VirtAddr,
};

/// Bit 0 of the memory transaction / retrieve / relinquish / reclaim flags: zero memory
/// (DEN0077 v1.1 Tables 10.21, 10.22, 16.x).
pub const FLAG_ZERO_MEMORY: u32 = 1 << 0;
/// Bit 1: operation time slicing. This SPMC completes every operation in one call and does
/// not support it.
pub const FLAG_TIME_SLICING: u32 = 1 << 1;
/// Bit 2 of the retrieve request flags: zero memory after relinquish.
pub const FLAG_ZERO_AFTER_RELINQUISH: u32 = 1 << 2;
/// Bits `[4:3]` of the transaction/retrieve flags: memory management transaction type.
pub const FLAG_TRANSACTION_TYPE_SHIFT: u32 = 3;
/// Mask of the transaction type field.
pub const FLAG_TRANSACTION_TYPE_MASK: u32 = 0b11 << FLAG_TRANSACTION_TYPE_SHIFT;
/// Bits `[8:5]` of the retrieve flags: address range alignment hint.
pub const FLAG_ALIGNMENT_HINT_MASK: u32 = 0b1111 << 5;
/// Bit 9 of the retrieve flags: the alignment hint is valid.
pub const FLAG_ALIGNMENT_HINT_VALID: u32 = 1 << 9;

/// One endpoint memory access descriptor: a receiver and the permissions the sender grants
/// it (or, in a retrieve request, that the receiver asks for).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiverGrant {
    /// The receiver endpoint.
    pub id: EndpointId,
    /// Permissions.
    pub permissions: Permissions,
    /// The v1.2 implementation-defined value of the access descriptor (zero before v1.2):
    /// a retrieve request must repeat what the sender wrote for each receiver it lists.
    pub impdef: [u64; 2],
}

impl ReceiverGrant {
    /// An entry without implementation-defined value.
    pub const fn new(id: EndpointId, permissions: Permissions) -> Self {
        ReceiverGrant {
            id,
            permissions,
            impdef: [0, 0],
        }
    }
}

/// A complete FFA_MEM_SHARE / FFA_MEM_LEND / FFA_MEM_DONATE transaction descriptor
/// (DEN0077 v1.1 Table 10.20 "Memory transaction descriptor" with its composite and
/// constituents), up to `R` receivers and `C` constituents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionRequest<const R: usize, const C: usize> {
    /// Which ABI carried it.
    pub kind: TransactionKind,
    /// Sender endpoint ID as written in the descriptor (an allegation until checked).
    pub sender: EndpointId,
    /// Memory region attributes (bits `[5:0]`; bit 6 must have been zero).
    pub attributes: MemoryType,
    /// Raw flags.
    pub flags: u32,
    /// Implementation-defined tag, echoed in retrieve requests.
    pub tag: u64,
    /// Endpoint memory access descriptors.
    pub receivers: Vec<ReceiverGrant, R>,
    /// Total page count from the composite memory region descriptor.
    pub total_pages: u64,
    /// Constituents of the composite memory region descriptor.
    pub constituents: Vec<PageRange, C>,
}

/// An FFA_MEM_RETRIEVE_REQ descriptor from an SP (DEN0077 v1.1 §10.4, Table 10.20 used as a
/// retrieve request; composite offsets must have been zero: no address ranges).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetrieveRequest<const R: usize> {
    /// MemHandle of the transaction.
    pub handle: MemHandle,
    /// Sender the receiver expects.
    pub sender: EndpointId,
    /// Attributes the receiver asks for (`NotSpecified` = take the transaction's).
    pub attributes: MemoryType,
    /// Raw retrieve flags.
    pub flags: u32,
    /// Tag the receiver expects.
    pub tag: u64,
    /// Receivers listed, with the permissions asked for; must include the caller.
    pub receivers: Vec<ReceiverGrant, R>,
}

/// An FFA_MEM_RELINQUISH descriptor (DEN0077 v1.1 Table 16.25 "Descriptor to relinquish a
/// memory region").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelinquishRequest<const R: usize> {
    /// MemHandle of the transaction.
    pub handle: MemHandle,
    /// Raw flags.
    pub flags: u32,
    /// Endpoints relinquishing: for an SP caller, exactly itself.
    pub endpoints: Vec<EndpointId, R>,
}

/// What the SPMC must write in the FFA_MEM_RETRIEVE_RESP descriptor for the receiver
/// (DEN0077 v1.1 §10.5): `convert::write_retrieve_response` turns it into bytes for the
/// caller's version. Constituents are reported in the receiver's address space, where each
/// is mapped at VA = PA: one per constituent of the transaction (so a scattered region gives
/// a long response, sent with FFA_MEM_FRAG_RX when it does not fit the RX buffer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetrieveResponse<const C: usize> {
    /// Handle.
    pub handle: MemHandle,
    /// The transaction type (also encoded in `flags` bits `[4:3]`).
    pub kind: TransactionKind,
    /// Sender endpoint.
    pub sender: EndpointId,
    /// Tag.
    pub tag: u64,
    /// Flags of the response: transaction type, and zero bits that were honoured.
    pub flags: u32,
    /// Resolved memory type of the mapping.
    pub attributes: MemoryType,
    /// Attributes bit 6: the memory is in the non-secure PA space (set for normal-world
    /// memory).
    pub non_secure: bool,
    /// The receiver (the caller).
    pub receiver: EndpointId,
    /// Fully specified permissions of the mapping.
    pub permissions: Permissions,
    /// The receiver's implementation-defined value, as the sender wrote it.
    pub impdef: [u64; 2],
    /// Total page count.
    pub total_pages: u64,
    /// The constituents, in the sender's order; each is mapped in the receiver at VA = PA.
    pub constituents: Vec<PageRange, C>,
}

impl<const C: usize> RetrieveResponse<C> {
    /// The receiver-side constituents: (virtual address, page count) in order.
    pub fn mapped_constituents(&self) -> impl Iterator<Item = (VirtAddr, u32)> + '_ {
        self.constituents
            .iter()
            .map(|c| (VirtAddr(c.base.0), c.pages))
    }

    /// The 16-bit attributes field of the response, with the NS bit.
    pub fn attributes_bits(&self) -> u16 {
        let ns = if self.non_secure {
            MemoryType::NS_BIT
        } else {
            0
        };
        self.attributes.to_bits() | ns
    }
}
