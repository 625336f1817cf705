//! Thin conversions between `ffa-abi`'s parsed memory descriptors (any layout, v1.0 to
//! v1.2) and the engine's requests, and the encoding of retrieve responses.
//!
//! The parser already rejected malformed bytes (offsets, counts, MBZ fields, alignment,
//! page-count sum); what is left here is mapping types, the engine's capacity limits, and
//! the per-ABI field rules `MemTransaction::validate_for` checks.

use ffa_abi::memory::relinquish::MemRelinquish;
use ffa_abi::memory::transaction::{MemAccess, MemTransaction, TransactionBuilder};
use ffa_abi::memory::{AccessPerms, Constituent, Layout, MemAttributes, MemOp, TransactionFlags};
use ffa_abi::{BuildError, Version};
use heapless::Vec;

use super::error::Rule;
use super::request::{
    ReceiverGrant, RelinquishRequest, RetrieveRequest, RetrieveResponse, TransactionRequest,
};
use super::types::{
    MemoryType, PageRange, Permissions, PhysAddr, TransactionKind, VirtAddr, PAGE_SIZE,
};

fn mem_op(kind: TransactionKind) -> MemOp {
    match kind {
        TransactionKind::Share => MemOp::Share,
        TransactionKind::Lend => MemOp::Lend,
        TransactionKind::Donate => MemOp::Donate,
    }
}

fn memory_type(a: MemAttributes) -> Result<MemoryType, Rule> {
    // Re-decoding the wire value keeps one definition of the reserved encodings; the NS
    // bit (only legal in responses) makes it fail too.
    MemoryType::from_bits(a.encode()).ok_or(Rule::MalformedDescriptor)
}

fn grants<const R: usize>(
    receivers: impl Iterator<Item = MemAccess>,
) -> Result<Vec<ReceiverGrant, R>, Rule> {
    let mut out = Vec::new();
    fill_grants(receivers, &mut out)?;
    Ok(out)
}

/// [`grants`] into `out` (emptied first), where it lives: a send request's list is not built
/// elsewhere and moved (R grants of 24 bytes each).
fn fill_grants<const R: usize>(
    receivers: impl Iterator<Item = MemAccess>,
    out: &mut Vec<ReceiverGrant, R>,
) -> Result<(), Rule> {
    out.clear();
    for r in receivers {
        let permissions =
            Permissions::from_bits(r.perms.encode()).ok_or(Rule::MalformedDescriptor)?;
        out.push(ReceiverGrant {
            id: r.endpoint,
            permissions,
            impdef: r.impdef,
        })
        .map_err(|_| Rule::TooManyReceivers)?;
    }
    Ok(())
}

/// The engine's view of a share/lend/donate descriptor `d` that arrived with `kind`.
pub fn transaction_request<const R: usize, const C: usize>(
    kind: TransactionKind,
    d: &MemTransaction<'_>,
) -> Result<TransactionRequest<R, C>, Rule> {
    let mut out = TransactionRequest {
        kind,
        sender: d.sender,
        attributes: MemoryType::NotSpecified,
        flags: 0,
        tag: 0,
        receivers: Vec::new(),
        total_pages: 0,
        constituents: Vec::new(),
    };
    fill_transaction_request(kind, d, &mut out)?;
    Ok(out)
}

/// As [`transaction_request`], overwriting `out` (a buffer the caller keeps, so that the
/// constituent list, up to `C` of them, is written once and never moved). On error `out`
/// holds a partial request and must not be sent.
pub fn fill_transaction_request<const R: usize, const C: usize>(
    kind: TransactionKind,
    d: &MemTransaction<'_>,
    out: &mut TransactionRequest<R, C>,
) -> Result<(), Rule> {
    d.validate_for(mem_op(kind))
        .map_err(|_| Rule::MalformedDescriptor)?;
    out.constituents.clear();
    for c in d.constituents() {
        out.constituents
            .push(PageRange::from(c))
            .map_err(|_| Rule::TooManyConstituents)?;
    }
    out.kind = kind;
    out.sender = d.sender;
    out.attributes = memory_type(d.attributes)?;
    out.flags = d.flags.0;
    out.tag = d.tag;
    fill_grants(d.receivers(), &mut out.receivers)?;
    out.total_pages = d.total_page_count() as u64;
    Ok(())
}

/// The engine's view of an FFA_MEM_RETRIEVE_REQ descriptor. Retriever-specified address
/// ranges (a composite in the request) are not supported: INVALID_PARAMETERS.
pub fn retrieve_request<const R: usize>(
    d: &MemTransaction<'_>,
) -> Result<RetrieveRequest<R>, Rule> {
    d.validate_for(MemOp::RetrieveReq)
        .map_err(|_| Rule::MalformedDescriptor)?;
    if d.composite_offset().is_some() {
        return Err(Rule::MalformedDescriptor);
    }
    Ok(RetrieveRequest {
        handle: d.handle,
        sender: d.sender,
        attributes: memory_type(d.attributes)?,
        flags: d.flags.0,
        tag: d.tag,
        receivers: grants(d.receivers())?,
    })
}

/// The engine's view of an FFA_MEM_RELINQUISH descriptor.
pub fn relinquish_request<const R: usize>(
    d: &MemRelinquish<'_>,
) -> Result<RelinquishRequest<R>, Rule> {
    let mut endpoints = Vec::new();
    for e in d.endpoints() {
        endpoints
            .push(e)
            .map_err(|_| Rule::RelinquishEndpointsInvalid)?;
    }
    Ok(RelinquishRequest {
        handle: d.handle,
        flags: d.flags,
        endpoints,
    })
}

/// Encodes bytes `[offset, ..)` of the retrieve response for a caller at `version` into
/// `out`, cutting at record boundaries; returns the fragment length (0 at the end). With
/// `offset` 0 and a large enough `out` this writes the whole descriptor. `total_len` of the
/// same arguments gives w1 of FFA_MEM_RETRIEVE_RESP.
pub fn write_retrieve_response<const C: usize>(
    resp: &RetrieveResponse<C>,
    version: Version,
    offset: usize,
    out: &mut [u8],
) -> Result<usize, BuildError> {
    with_builder(resp, version, |b| b.write_fragment(offset, out))
}

/// [`write_retrieve_response`] and [`retrieve_response_len`] at once: `out` is only as
/// large as `out_len(total_len)` says (the caller's RX buffer, or what is left of the
/// response), and the constituent list is gathered once for both. Returns (total length,
/// fragment length).
pub fn encode_retrieve_response<const C: usize>(
    resp: &RetrieveResponse<C>,
    version: Version,
    offset: usize,
    out: &mut [u8],
    out_len: impl FnOnce(usize) -> usize,
) -> Result<(usize, usize), BuildError> {
    with_builder(resp, version, |b| {
        let total = b.total_len()?;
        let len = out_len(total).min(out.len());
        let n = b.write_fragment(offset, &mut out[..len])?;
        Ok((total, n))
    })
}

/// Total encoded length of the retrieve response at `version`.
pub fn retrieve_response_len<const C: usize>(
    resp: &RetrieveResponse<C>,
    version: Version,
) -> Result<usize, BuildError> {
    with_builder(resp, version, |b| b.total_len())
}

fn with_builder<const C: usize, T>(
    resp: &RetrieveResponse<C>,
    version: Version,
    f: impl FnOnce(&TransactionBuilder<'_>) -> Result<T, BuildError>,
) -> Result<T, BuildError> {
    let layout =
        Layout::for_version(version).map_err(|_| BuildError::UnsupportedVersion(version))?;
    // v1.0 has no NS bit: its callers learn nothing about the security state.
    let ns_bit = if layout == Layout::V1_0 {
        0
    } else {
        MemoryType::NS_BIT
    };
    let attr_bits = resp.attributes.to_bits() | (resp.attributes_bits() & ns_bit);
    let attributes =
        MemAttributes::decode(attr_bits, layout).ok_or(BuildError::FieldOverflow("attributes"))?;
    let perms = AccessPerms::decode(resp.permissions.to_bits())
        .ok_or(BuildError::FieldOverflow("permissions"))?;
    let mut me = MemAccess::new(resp.receiver, perms);
    me.impdef = resp.impdef;
    let receivers = [me];
    // Filled where it lives (a `collect` would build it elsewhere and copy all C slots).
    let mut constituents: Vec<Constituent, C> = Vec::new();
    for (va, page_count) in resp.mapped_constituents() {
        // Cannot fail: the response holds at most C constituents.
        let _ = constituents.push(Constituent {
            address: va.0,
            page_count,
        });
    }
    let b = TransactionBuilder {
        layout,
        sender: resp.sender,
        attributes,
        flags: TransactionFlags(resp.flags),
        handle: resp.handle,
        tag: resp.tag,
        receivers: &receivers,
        constituents: &constituents,
    };
    f(&b)
}

fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    let bytes = buf.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// On the first fragment of a fragmented FFA_MEM_SHARE/LEND/DONATE (w2 < w1), checks that
/// the announced total length `total_len` (w1) is the length the descriptor itself implies:
/// the header, the access descriptors and the composite header must all be in the first
/// fragment, and the total is the composite offset plus its constituents. A mismatch is
/// INVALID_PARAMETERS right away, as Arm's ACS expects, instead of a transmission that can
/// never complete. Call it before [`super::FragmentAssembler::start`].
pub fn check_total_length(first: &[u8], version: Version, total_len: u32) -> Result<(), Rule> {
    let layout = Layout::for_version(version).map_err(|_| Rule::MalformedDescriptor)?;
    let bad = Rule::MalformedDescriptor;
    let count = u32_at(first, 28).ok_or(bad)?;
    if count == 0 {
        return Err(Rule::NoReceivers);
    }
    let emad_offset = match layout {
        Layout::V1_0 => 32,
        _ => u32_at(first, 32).ok_or(bad)? as usize,
    };
    let composite = u32_at(first, emad_offset.checked_add(4).ok_or(bad)?).ok_or(bad)? as u64;
    let composite_at = usize::try_from(composite).map_err(|_| bad)?;
    let ranges = u32_at(first, composite_at.checked_add(4).ok_or(bad)?).ok_or(bad)? as u64;
    // Cannot overflow: both terms are below 2^36.
    let expected = composite + 16 + ranges * 16;
    if expected != total_len as u64 {
        return Err(Rule::InvalidLength);
    }
    Ok(())
}

/// An SP names memory by addresses of its own (S-EL0) address space, which are the
/// "IPAs" FF-A talks about for a partition whose translation the SPMC owns (the borrower
/// of a donation lends it on with the address the retrieve response gave it, as the ACS
/// does). Rewrites the constituents of `req` into physical ranges before [`MemShare::send`]
/// sees them.
///
/// `translate(va)` is the SP's page tables: the physical page at `va` and how many pages
/// from there are mapped physically contiguous (at least 1), or `None` if `va` is not
/// mapped. Physically adjacent pieces are merged. The loop runs once per contiguous piece,
/// so its length is bounded by what the SP has mapped, not by the page counts it claims.
///
/// Errors: misaligned or empty constituents (INVALID_PARAMETERS), an unmapped page
/// ([`Rule::NotOwner`], DENIED), more physical pieces than `C` (NO_MEMORY).
///
/// [`MemShare::send`]: super::MemShare::send
pub fn translate_sp_constituents<const R: usize, const C: usize>(
    req: &mut TransactionRequest<R, C>,
    translate: impl FnMut(VirtAddr) -> Option<(PhysAddr, u64)>,
) -> Result<(), Rule> {
    let mut out: Vec<PageRange, C> = Vec::new();
    translate_sp_ranges(&req.constituents, &mut out, translate)?;
    req.constituents = out;
    Ok(())
}

/// [`translate_sp_constituents`] of the ranges `from`, writing the physical ranges into
/// `out` (replacing what it held; on error it holds part of them). The kernel keeps `out`
/// and copies back only the entries used, instead of moving a list of capacity `C`.
pub fn translate_sp_ranges<const C: usize>(
    from: &[PageRange],
    out: &mut Vec<PageRange, C>,
    mut translate: impl FnMut(VirtAddr) -> Option<(PhysAddr, u64)>,
) -> Result<(), Rule> {
    out.clear();
    for c in from.iter() {
        if c.pages == 0 {
            return Err(Rule::EmptyRegion);
        }
        if c.base.0 % PAGE_SIZE != 0 || c.end().is_none() {
            return Err(Rule::MisalignedConstituent);
        }
        let mut va = c.base.0;
        let mut left = c.pages as u64;
        while left > 0 {
            let (pa, run) = translate(VirtAddr(va)).ok_or(Rule::NotOwner)?;
            // A port answering nonsense must not make the loop spin or alias pages.
            if run == 0 || pa.0 % PAGE_SIZE != 0 {
                return Err(Rule::NotOwner);
            }
            let n = run.min(left);
            // n <= left <= u32::MAX, so the casts below are lossless.
            let merged = match out.last_mut() {
                Some(last)
                    if last.end() == Some(pa.0)
                        && (last.pages as u64).saturating_add(n) <= u32::MAX as u64 =>
                {
                    last.pages += n as u32;
                    true
                }
                _ => false,
            };
            if !merged {
                out.push(PageRange {
                    base: pa,
                    pages: n as u32,
                })
                .map_err(|_| Rule::TooManyConstituents)?;
            }
            va += n * PAGE_SIZE;
            left -= n;
        }
    }
    Ok(())
}
