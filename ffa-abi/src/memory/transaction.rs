//! The memory transaction descriptor with its endpoint memory access descriptors,
//! composite memory region descriptor and constituents (the DEN0077 v1.0, DEN0077 v1.1
//! and DEN0140 v1.2 tables "Memory transaction descriptor", "Endpoint memory access
//! descriptor", "Composite memory region descriptor", "Constituent memory region
//! descriptor").
//!
//! Layouts, offsets in bytes:
//!
//! | field                     | v1.0      | v1.1 / v1.2 |
//! |---------------------------|-----------|-------------|
//! | sender ID (u16)           | 0         | 0           |
//! | attributes                | 2 (u8), 3 reserved | 2 (u16) |
//! | flags (u32)               | 4         | 4           |
//! | handle (u64)              | 8         | 8           |
//! | tag (u64)                 | 16        | 16          |
//! | reserved u32 / EMAD size  | 24 (MBZ)  | 24          |
//! | EMAD count (u32)          | 28        | 28          |
//! | EMAD array offset (u32)   | (32 fixed)| 32          |
//! | reserved (12 bytes, MBZ)  | -         | 36          |
//!
//! An endpoint memory access descriptor is: endpoint ID u16, permissions u8, flags
//! u8, composite offset u32, then 8 reserved bytes (v1.0/v1.1) or 16 implementation
//! defined bytes plus 8 reserved bytes (v1.2). The composite descriptor is: total
//! page count u32, range count u32, 8 reserved bytes, then 16-byte constituents
//! (address u64, page count u32, 4 reserved bytes).

use super::{AccessPerms, Constituent, Layout, MemAttributes, MemHandle, MemOp, TransactionFlags};
use crate::endpoint::EndpointId;
use crate::error::{BuildError, DescError};
use crate::version::Version;
use crate::wire::{self, copy_window, Record};
use zerocopy::FromBytes;

/// Size of the composite memory region descriptor header.
pub const COMPOSITE_SIZE: usize = 16;
/// Size of one constituent memory region descriptor.
pub const CONSTITUENT_SIZE: usize = 16;

/// One receiver's entry: the endpoint memory access descriptor without its composite
/// offset, which the builder computes and the parser checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemAccess {
    /// The receiver (borrower).
    pub endpoint: EndpointId,
    /// Its access permissions.
    pub perms: AccessPerms,
    /// Bit 0: non-retrieval borrower. Other bits MBZ.
    pub flags: u8,
    /// v1.2 implementation-defined value (zero in earlier layouts).
    pub impdef: [u64; 2],
}

impl MemAccess {
    /// Builds an entry with no flags and no implementation-defined value.
    pub const fn new(endpoint: EndpointId, perms: AccessPerms) -> Self {
        Self {
            endpoint,
            perms,
            flags: 0,
            impdef: [0, 0],
        }
    }
}

fn need<T>(v: Option<T>, offset: usize, len: usize) -> Result<T, DescError> {
    v.ok_or(DescError::Truncated { offset, len })
}

/// A validated, borrowed view of a memory transaction descriptor. Every offset,
/// count and reserved field was checked by [`MemTransaction::parse`], so the
/// accessors cannot fail on an index they advertise.
#[derive(Clone, Copy, Debug)]
pub struct MemTransaction<'a> {
    buf: &'a [u8],
    layout: Layout,
    /// Owner / lender.
    pub sender: EndpointId,
    /// Memory region attributes.
    pub attributes: MemAttributes,
    /// Transaction flags (not yet checked against an ABI: see [`Self::validate_for`]).
    pub flags: TransactionFlags,
    /// Handle (0 in a lender's share/lend/donate).
    pub handle: MemHandle,
    /// Tag.
    pub tag: u64,
    emad_offset: usize,
    emad_count: usize,
    composite_offset: u32,
    range_count: usize,
    total_pages: u32,
}

/// Address, page count and reserved word of a 16-byte constituent record.
#[inline(always)]
fn constituent_fields(rec: &[u8; CONSTITUENT_SIZE]) -> (u64, u32, u32) {
    let word = |i: usize| u32::from_le_bytes([rec[i], rec[i + 1], rec[i + 2], rec[i + 3]]);
    (
        u64::from(word(0)) | u64::from(word(4)) << 32,
        word(8),
        word(12),
    )
}

/// The constituent records of `area` (whole 16-byte records) as (address, page count,
/// reserved word). The firmware is built for strict alignment, where a `u64` read from bytes
/// of unknown alignment is eight loads and seven shifts: an 8-byte aligned `area` (the
/// composite offset is a multiple of 8, so it is whenever the descriptor's buffer is) is read
/// as aligned words through zerocopy's checked cast, any other byte by byte. The values are
/// the same either way (`records_agree_whatever_the_alignment`).
fn records(area: &[u8]) -> impl Iterator<Item = (u64, u32, u32)> + '_ {
    let (words, bytes): (&[u64], &[u8]) = match <[u64]>::ref_from_bytes(area) {
        Ok(w) => (w, &[]),
        Err(_) => (&[], area),
    };
    words
        .as_chunks::<2>()
        .0
        .iter()
        .map(|w| {
            let second = u64::from_le(w[1]);
            (u64::from_le(w[0]), second as u32, (second >> 32) as u32)
        })
        .chain(
            bytes
                .as_chunks::<CONSTITUENT_SIZE>()
                .0
                .iter()
                .map(constituent_fields),
        )
}

/// Where [`MemTransaction::parse`] reads a descriptor's header and records from: `N`
/// little-endian words from byte `at`, `None` if they leave the buffer. The firmware is built
/// for strict alignment, where a field read from bytes of unknown alignment is a load per
/// byte. Every header and record a parser reads starts at a multiple of 8 (the access
/// descriptors' offset is checked to be a multiple of 16, the composite's of 8), so in an
/// 8-byte aligned buffer each word is one aligned load ([`Aligned`]); any other buffer is
/// read byte by byte ([`Unaligned`]). The choice is made once per descriptor, by calling a
/// separate copy of the parser for each (a choice per field or per record let the compiler
/// merge both reads into the byte-wise one, as they give the same value).
trait Words: Copy {
    fn words<const N: usize>(self, at: usize) -> Option<[u64; N]>;
}

/// An 8-byte aligned buffer as words (its whole words; a tail of fewer than 8 bytes cannot
/// hold a word that starts at a multiple of 8).
#[derive(Clone, Copy)]
struct Aligned<'a>(&'a [u64]);

/// A buffer of any alignment, read byte by byte.
#[derive(Clone, Copy)]
struct Unaligned<'a>(&'a [u8]);

impl Words for Aligned<'_> {
    #[inline(always)]
    fn words<const N: usize>(self, at: usize) -> Option<[u64; N]> {
        if !at.is_multiple_of(8) {
            // Never asked for (see `Words`); refused rather than read from the wrong place.
            return None;
        }
        let from = at / 8;
        let w = self.0.get(from..from.checked_add(N)?)?;
        let mut out = [0u64; N];
        for (d, s) in out.iter_mut().zip(w) {
            *d = u64::from_le(*s);
        }
        Some(out)
    }
}

impl Words for Unaligned<'_> {
    #[inline(always)]
    fn words<const N: usize>(self, at: usize) -> Option<[u64; N]> {
        let bytes = self.0.get(at..at.checked_add(8 * N)?)?;
        let mut out = [0u64; N];
        for (d, c) in out.iter_mut().zip(bytes.as_chunks::<8>().0) {
            *d = u64::from_le_bytes(*c);
        }
        Some(out)
    }
}

/// `buf`'s whole words if `buf` is 8-byte aligned.
fn aligned_words(buf: &[u8]) -> Option<&[u64]> {
    let whole = buf.len() - buf.len() % 8;
    <[u64]>::ref_from_bytes(buf.get(..whole)?).ok()
}

/// A reserved field held in the low bytes of `v` (little-endian, starting at byte `offset` of
/// the descriptor) must be zero: the error names its first non-zero byte, as a byte-wise
/// check would.
#[inline(always)]
fn mbz_word(v: u64, offset: usize) -> Result<(), DescError> {
    match v {
        0 => Ok(()),
        v => Err(DescError::NonZeroMbz {
            offset: offset + (v.trailing_zeros() / 8) as usize,
        }),
    }
}

/// The first word of an endpoint memory access descriptor (endpoint, permissions, flags,
/// composite offset) and its reserved word, at byte `at`.
#[inline(always)]
fn emad_words<W: Words>(buf: W, at: usize, layout: Layout) -> Option<(u64, u64, [u64; 2])> {
    if layout == Layout::V1_2 {
        let [w, a, b, reserved] = buf.words::<4>(at)?;
        Some((w, reserved, [a, b]))
    } else {
        let [w, reserved] = buf.words::<2>(at)?;
        Some((w, reserved, [0, 0]))
    }
}

impl<'a> MemTransaction<'a> {
    /// Parses and validates the descriptor in `buf` (the whole, reassembled
    /// descriptor: pass exactly `total_len` bytes) for the negotiated `version`.
    pub fn parse(buf: &'a [u8], version: Version) -> Result<Self, DescError> {
        match aligned_words(buf) {
            Some(words) => Self::parse_from(buf, Aligned(words), version),
            None => Self::parse_from(buf, Unaligned(buf), version),
        }
    }

    /// [`Self::parse`] reading the header and records from `src` (`buf`'s words). Not
    /// inlined: each source has its own copy (see [`Words`]).
    #[inline(never)]
    fn parse_from<W: Words>(buf: &'a [u8], src: W, version: Version) -> Result<Self, DescError> {
        let layout = Layout::for_version(version)?;
        let hdr = layout.header_size();
        if buf.len() < hdr {
            return Err(DescError::Truncated {
                offset: 0,
                len: hdr,
            });
        }
        // The header as words (offsets 0, 8, 16, 24; v1.1+ also 32 and 40).
        let [w0, handle, tag, w3] = need(src.words::<4>(0), 0, 32)?;
        let sender = EndpointId(w0 as u16);
        let raw_attr = if layout == Layout::V1_0 {
            mbz_word((w0 >> 24) & 0xFF, 3)?;
            ((w0 >> 16) & 0xFF) as u16
        } else {
            (w0 >> 16) as u16
        };
        let attributes =
            MemAttributes::decode(raw_attr, layout).ok_or(DescError::InvalidField {
                offset: 2,
                field: "memory region attributes",
            })?;
        let flags = TransactionFlags((w0 >> 32) as u32);
        let handle = MemHandle(handle);
        let count = (w3 >> 32) as u32;
        let emad_offset = if layout == Layout::V1_0 {
            mbz_word(w3 & 0xFFFF_FFFF, 24)?;
            32usize
        } else {
            let size = w3 as u32;
            if size as usize != layout.emad_size() {
                return Err(DescError::InvalidField {
                    offset: 24,
                    field: "endpoint memory access descriptor size",
                });
            }
            let [w4, w5] = need(src.words::<2>(32), 32, 16)?;
            mbz_word(w4 >> 32, 36)?;
            mbz_word(w5, 40)?;
            let off = w4 as u32;
            if off % 16 != 0 {
                return Err(DescError::Misaligned { offset: 32 });
            }
            if (off as usize) < hdr {
                return Err(DescError::BadOffset { value: off });
            }
            off as usize
        };
        if count == 0 {
            return Err(DescError::InvalidField {
                offset: 28,
                field: "receiver count",
            });
        }
        let emad_size = layout.emad_size();
        let emad_end = (count as usize)
            .checked_mul(emad_size)
            .and_then(|n| n.checked_add(emad_offset))
            .ok_or(DescError::Overflow)?;
        if emad_end > buf.len() {
            return Err(DescError::CountTooLarge { count });
        }

        // Every access descriptor must be well formed and point at the same
        // composite descriptor (a transaction describes one memory region).
        let mut composite_offset = None;
        for i in 0..count as usize {
            let at = emad_offset + i * emad_size;
            let (w, reserved, _) = need(emad_words(src, at, layout), at, emad_size)?;
            if AccessPerms::decode((w >> 16) as u8).is_none() {
                return Err(DescError::InvalidField {
                    offset: at + 2,
                    field: "memory access permissions",
                });
            }
            if (w >> 24) as u8 & !1 != 0 {
                return Err(DescError::NonZeroMbz { offset: at + 3 });
            }
            mbz_word(reserved, at + emad_size - 8)?;
            let off = (w >> 32) as u32;
            match composite_offset {
                None => composite_offset = Some(off),
                Some(prev) if prev != off => {
                    return Err(DescError::BadOffset { value: off });
                }
                Some(_) => {}
            }
        }
        let composite_offset = composite_offset.unwrap_or(0);

        let (range_count, total_pages) = if composite_offset == 0 {
            (0, 0)
        } else {
            let c = composite_offset as usize;
            if !c.is_multiple_of(8) {
                return Err(DescError::Misaligned {
                    offset: emad_offset + 4,
                });
            }
            // The composite must not overlap the header or the access descriptors.
            if c < emad_end || c.checked_add(COMPOSITE_SIZE).is_none_or(|e| e > buf.len()) {
                return Err(DescError::BadOffset {
                    value: composite_offset,
                });
            }
            let [head, reserved] = need(src.words::<2>(c), c, COMPOSITE_SIZE)?;
            let total = head as u32;
            let ranges = (head >> 32) as u32;
            mbz_word(reserved, c + 8)?;
            if ranges == 0 {
                return Err(DescError::InvalidField {
                    offset: c + 4,
                    field: "address range count",
                });
            }
            let end = (ranges as usize)
                .checked_mul(CONSTITUENT_SIZE)
                .and_then(|n| n.checked_add(c + COMPOSITE_SIZE))
                .ok_or(DescError::Overflow)?;
            if end > buf.len() {
                return Err(DescError::CountTooLarge { count: ranges });
            }
            let mut sum: u32 = 0;
            // `end` is within `buf` (checked above): whole 16-byte records, no per-field
            // bounds checks.
            let area = buf.get(c + COMPOSITE_SIZE..end).unwrap_or(&[]);
            for (i, (addr, pages, reserved)) in records(area).enumerate() {
                let at = c + COMPOSITE_SIZE + i * CONSTITUENT_SIZE;
                if addr % super::PAGE_SIZE != 0 {
                    return Err(DescError::Misaligned { offset: at });
                }
                if pages == 0 {
                    return Err(DescError::InvalidField {
                        offset: at + 8,
                        field: "constituent page count",
                    });
                }
                mbz_word(u64::from(reserved), at + 12)?;
                // The region must not wrap the address space.
                if addr
                    .checked_add(u64::from(pages) * super::PAGE_SIZE)
                    .is_none()
                {
                    return Err(DescError::Overflow);
                }
                sum = sum.checked_add(pages).ok_or(DescError::Overflow)?;
            }
            if sum != total {
                return Err(DescError::InvalidField {
                    offset: c,
                    field: "total page count",
                });
            }
            (ranges as usize, total)
        };

        Ok(Self {
            buf,
            layout,
            sender,
            attributes,
            flags,
            handle,
            tag,
            emad_offset,
            emad_count: count as usize,
            composite_offset,
            range_count,
            total_pages,
        })
    }

    /// Checks the rules that depend on the ABI the descriptor came with: defined flag
    /// bits, the NS attribute bit only in retrieve responses, a composite for lender
    /// operations and retrieve responses, a zero handle from a lender (DEN0140 "Memory transaction descriptor" field usage per ABI).
    pub fn validate_for(&self, op: MemOp) -> Result<(), DescError> {
        if !self.flags.validate_for(op) {
            return Err(DescError::NonZeroMbz { offset: 4 });
        }
        // The NS bit is only meaningful in a retrieve response; senders and
        // borrowers must leave it clear.
        if self.attributes.ns && op != MemOp::RetrieveResp {
            return Err(DescError::NonZeroMbz { offset: 2 });
        }
        match op {
            MemOp::Share | MemOp::Lend | MemOp::Donate => {
                if self.handle.0 != 0 {
                    return Err(DescError::InvalidField {
                        offset: 8,
                        field: "handle",
                    });
                }
                if self.composite_offset == 0 {
                    return Err(DescError::BadOffset { value: 0 });
                }
            }
            MemOp::RetrieveResp => {
                if self.composite_offset == 0 {
                    return Err(DescError::BadOffset { value: 0 });
                }
            }
            MemOp::RetrieveReq => {}
        }
        Ok(())
    }

    /// The layout the descriptor was parsed with.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Number of receivers (endpoint memory access descriptors).
    pub fn receiver_count(&self) -> usize {
        self.emad_count
    }

    /// Receiver `i`.
    pub fn receiver(&self, i: usize) -> Option<MemAccess> {
        if i >= self.emad_count {
            return None;
        }
        let at = self.emad_offset + i * self.layout.emad_size();
        match aligned_words(self.buf) {
            Some(words) => Self::access_at(Aligned(words), at, self.layout),
            None => Self::access_at(Unaligned(self.buf), at, self.layout),
        }
    }

    /// The access descriptor at byte `at`, read from `src` (a copy per source, as
    /// [`Self::parse_from`]).
    #[inline(never)]
    fn access_at<W: Words>(src: W, at: usize, layout: Layout) -> Option<MemAccess> {
        let (w, _, impdef) = emad_words(src, at, layout)?;
        Some(MemAccess {
            endpoint: EndpointId(w as u16),
            perms: AccessPerms::decode((w >> 16) as u8)?,
            flags: (w >> 24) as u8,
            impdef,
        })
    }

    /// All receivers.
    pub fn receivers(&self) -> impl Iterator<Item = MemAccess> + '_ {
        (0..self.emad_count).filter_map(move |i| self.receiver(i))
    }

    /// Offset of the composite descriptor, `None` if the transaction names the region
    /// only by its handle (offset 0, allowed in retrieve requests).
    pub fn composite_offset(&self) -> Option<u32> {
        if self.composite_offset == 0 {
            None
        } else {
            Some(self.composite_offset)
        }
    }

    /// Total page count of the composite (0 without one).
    pub fn total_page_count(&self) -> u32 {
        self.total_pages
    }

    /// Number of constituents (0 without a composite).
    pub fn constituent_count(&self) -> usize {
        self.range_count
    }

    /// Constituent `i`.
    pub fn constituent(&self, i: usize) -> Option<Constituent> {
        if i >= self.range_count {
            return None;
        }
        let at = self.composite_offset as usize + COMPOSITE_SIZE + i * CONSTITUENT_SIZE;
        Some(Constituent {
            address: wire::u64_at(self.buf, at)?,
            page_count: wire::u32_at(self.buf, at + 8)?,
        })
    }

    /// All constituents.
    pub fn constituents(&self) -> impl Iterator<Item = Constituent> + '_ {
        let from = self.composite_offset as usize + COMPOSITE_SIZE;
        let area = if self.range_count == 0 {
            &[][..]
        } else {
            self.buf
                .get(from..from + self.range_count * CONSTITUENT_SIZE)
                .unwrap_or(&[])
        };
        records(area).map(|(address, page_count, _)| Constituent {
            address,
            page_count,
        })
    }

    /// A builder that re-encodes this descriptor with `receivers`/`constituents`
    /// storage supplied by the caller (used to check stable re-encoding).
    pub fn to_builder<'b>(
        &self,
        receivers: &'b [MemAccess],
        constituents: &'b [Constituent],
    ) -> TransactionBuilder<'b> {
        TransactionBuilder {
            layout: self.layout,
            sender: self.sender,
            attributes: self.attributes,
            flags: self.flags,
            handle: self.handle,
            tag: self.tag,
            receivers,
            constituents,
        }
    }
}

/// Writes a memory transaction descriptor (for FFA_MEM_SHARE/LEND/DONATE, retrieve
/// requests and retrieve responses) in the compact canonical arrangement: header,
/// access descriptors right after it, then the composite descriptor and its
/// constituents. Nothing is allocated; the descriptor can be written whole or in
/// fragments at any record boundary.
#[derive(Clone, Copy, Debug)]
pub struct TransactionBuilder<'a> {
    /// Layout to write.
    pub layout: Layout,
    /// Owner / lender.
    pub sender: EndpointId,
    /// Memory region attributes.
    pub attributes: MemAttributes,
    /// Transaction flags.
    pub flags: TransactionFlags,
    /// Handle.
    pub handle: MemHandle,
    /// Tag.
    pub tag: u64,
    /// Receivers.
    pub receivers: &'a [MemAccess],
    /// Constituents; empty means "no composite" (composite offset 0, as in a
    /// retrieve request that names the region by handle).
    pub constituents: &'a [Constituent],
}

impl<'a> TransactionBuilder<'a> {
    /// Offset of the access descriptors.
    fn emad_offset(&self) -> usize {
        self.layout.header_size()
    }

    /// Offset of the composite descriptor (also where the access descriptors end).
    fn composite_offset(&self) -> Result<usize, BuildError> {
        self.receivers
            .len()
            .checked_mul(self.layout.emad_size())
            .and_then(|n| n.checked_add(self.emad_offset()))
            .ok_or(BuildError::FieldOverflow("receiver count"))
    }

    /// Offset of the first constituent: everything before it must be in the first
    /// fragment.
    pub fn prefix_len(&self) -> Result<usize, BuildError> {
        let c = self.composite_offset()?;
        Ok(if self.constituents.is_empty() {
            c
        } else {
            c + COMPOSITE_SIZE
        })
    }

    /// Total length of the descriptor.
    pub fn total_len(&self) -> Result<usize, BuildError> {
        let tail = self
            .constituents
            .len()
            .checked_mul(CONSTITUENT_SIZE)
            .ok_or(BuildError::FieldOverflow("constituent count"))?;
        let total = self
            .prefix_len()?
            .checked_add(tail)
            .ok_or(BuildError::FieldOverflow("descriptor length"))?;
        u32::try_from(total).map_err(|_| BuildError::FieldOverflow("descriptor length"))?;
        Ok(total)
    }

    fn total_pages(&self) -> Result<u32, BuildError> {
        self.constituents.iter().try_fold(0u32, |acc, c| {
            acc.checked_add(c.page_count)
                .ok_or(BuildError::FieldOverflow("total page count"))
        })
    }

    /// Writes the whole descriptor at the start of `out`; returns its length.
    pub fn write(&self, out: &mut [u8]) -> Result<usize, BuildError> {
        let total = self.total_len()?;
        if out.len() < total {
            return Err(BuildError::NoSpace {
                needed: total,
                available: out.len(),
            });
        }
        self.write_window(0, &mut out[..total])?;
        Ok(total)
    }

    /// Writes the fragment that starts at byte `offset` of the descriptor into `out`
    /// and returns its length: as many whole records as fit, so that the next
    /// fragment starts at a constituent boundary (DEN0140 "Transmission of transaction descriptor in fragments"). The
    /// first fragment must hold everything up to the first constituent. Returns
    /// `Ok(0)` when `offset` is the end of the descriptor.
    pub fn write_fragment(&self, offset: usize, out: &mut [u8]) -> Result<usize, BuildError> {
        let total = self.total_len()?;
        let prefix = self.prefix_len()?;
        if offset >= total {
            return Ok(0);
        }
        let on_boundary =
            offset == 0 || (offset >= prefix && (offset - prefix).is_multiple_of(CONSTITUENT_SIZE));
        if !on_boundary {
            return Err(BuildError::FieldOverflow("fragment offset"));
        }
        let mut end = total.min(offset.saturating_add(out.len()));
        if end < prefix {
            return Err(BuildError::NoSpace {
                needed: prefix,
                available: out.len(),
            });
        }
        end -= (end - prefix) % CONSTITUENT_SIZE;
        if end <= offset {
            return Err(BuildError::NoSpace {
                needed: CONSTITUENT_SIZE,
                available: out.len(),
            });
        }
        self.write_window(offset, &mut out[..end - offset])?;
        Ok(end - offset)
    }

    /// Writes bytes `[win_off, win_off + out.len())` of the serialized descriptor.
    fn write_window(&self, win_off: usize, out: &mut [u8]) -> Result<(), BuildError> {
        let layout = self.layout;
        let count =
            u32::try_from(self.receivers.len()).map_err(|_| BuildError::FieldOverflow("count"))?;
        let comp_off = self.composite_offset()?;
        let comp_field = if self.constituents.is_empty() {
            0
        } else {
            u32::try_from(comp_off).map_err(|_| BuildError::FieldOverflow("composite offset"))?
        };
        let total_pages = self.total_pages()?;
        let ranges = u32::try_from(self.constituents.len())
            .map_err(|_| BuildError::FieldOverflow("range count"))?;
        if layout == Layout::V1_0 && self.attributes.encode() > 0x3F {
            return Err(BuildError::FieldOverflow("attributes"));
        }

        // A window from the start of an 8-byte aligned buffer (a whole descriptor, or the
        // first fragment, written into a TX or RX buffer): every word written once, as an
        // aligned store, instead of byte stores into records copied into a zeroed window.
        // The firmware is built for strict alignment, where each field written into bytes of
        // unknown alignment is a byte store per byte. Same bytes either way
        // (`records_agree_whatever_the_alignment`).
        if win_off == 0 && !self.constituents.is_empty() {
            if let Ok(words) = <[u64]>::mut_from_bytes(out) {
                self.write_words(words, comp_field, total_pages, ranges);
                return Ok(());
            }
        }

        out.fill(0);
        let mut h = Record::<48>::new();
        h.put_u16(0, self.sender.0);
        let attr = self.attributes.encode();
        if layout == Layout::V1_0 {
            h.put_u8(2, attr as u8);
        } else {
            h.put_u16(2, attr);
        }
        h.put_u32(4, self.flags.0);
        h.put_u64(8, self.handle.0);
        h.put_u64(16, self.tag);
        if layout != Layout::V1_0 {
            h.put_u32(24, layout.emad_size() as u32);
            h.put_u32(32, self.emad_offset() as u32);
        }
        h.put_u32(28, count);
        copy_window(&h.bytes[..layout.header_size()], 0, win_off, out);

        let esz = layout.emad_size();
        let win_end = win_off.saturating_add(out.len());
        for (i, r) in self.receivers.iter().enumerate() {
            let at = self.emad_offset() + i * esz;
            if at >= win_end {
                break;
            }
            let mut e = Record::<32>::new();
            e.put_u16(0, r.endpoint.0);
            e.put_u8(2, r.perms.encode());
            e.put_u8(3, r.flags);
            e.put_u32(4, comp_field);
            if layout == Layout::V1_2 {
                e.put_u64(8, r.impdef[0]);
                e.put_u64(16, r.impdef[1]);
            }
            copy_window(&e.bytes[..esz], at, win_off, out);
        }

        if !self.constituents.is_empty() {
            let mut c = Record::<16>::new();
            c.put_u32(0, total_pages);
            c.put_u32(4, ranges);
            copy_window(&c.bytes, comp_off, win_off, out);
            let base = comp_off + COMPOSITE_SIZE;
            // Only the constituents that overlap the window are visited, so writing a
            // long descriptor fragment by fragment stays linear.
            let first = win_off.saturating_sub(base) / CONSTITUENT_SIZE;
            // The constituents wholly inside the window are written in place (their
            // reserved word is already zero); one cut by either edge goes through a record.
            let whole_from = first + usize::from(base + first * CONSTITUENT_SIZE < win_off);
            let inside = out
                .get_mut((base + whole_from * CONSTITUENT_SIZE).saturating_sub(win_off)..)
                .filter(|_| base + whole_from * CONSTITUENT_SIZE >= win_off);
            let mut written = whole_from;
            if let Some(area) = inside {
                let whole = area.len() / CONSTITUENT_SIZE * CONSTITUENT_SIZE;
                let area = &mut area[..whole];
                let ks = self.constituents.iter().skip(whole_from);
                // Aligned words where the window is 8-byte aligned (as `records` reads them);
                // the reserved word is written as the zero it already is.
                match <[u64]>::mut_from_bytes(area) {
                    Ok(words) => {
                        for (k, w) in ks.zip(words.as_chunks_mut::<2>().0.iter_mut()) {
                            w[0] = k.address.to_le();
                            w[1] = u64::from(k.page_count).to_le();
                            written += 1;
                        }
                    }
                    Err(_) => {
                        for (k, rec) in ks.zip(area.as_chunks_mut::<CONSTITUENT_SIZE>().0) {
                            rec[..8].copy_from_slice(&k.address.to_le_bytes());
                            rec[8..12].copy_from_slice(&k.page_count.to_le_bytes());
                            written += 1;
                        }
                    }
                }
            }
            // The constituent cut by the window's start, and the one cut by its end.
            let head = (first < whole_from).then_some(first);
            for i in head.into_iter().chain(core::iter::once(written)) {
                let Some(k) = self.constituents.get(i) else {
                    continue;
                };
                let at = base + i * CONSTITUENT_SIZE;
                if at >= win_end {
                    continue;
                }
                let mut rec = Record::<16>::new();
                rec.put_u64(0, k.address);
                rec.put_u32(8, k.page_count);
                copy_window(&rec.bytes, at, win_off, out);
            }
        }
        Ok(())
    }

    /// [`Self::write_window`] of a window that starts at offset 0, holds the prefix (header,
    /// access descriptors, composite) and whole constituents, as words: `words` is that
    /// window (its length a multiple of 16 past the prefix: `write_fragment` cuts there).
    fn write_words(&self, words: &mut [u64], comp_field: u32, total_pages: u32, ranges: u32) {
        let layout = self.layout;
        let le = u64::to_le;
        let mut w = words.iter_mut();
        let mut put = |v: u64| {
            if let Some(d) = w.next() {
                *d = le(v);
            }
        };
        let attr = u64::from(self.attributes.encode());
        // Header: sender, attributes (8 bits in v1.0), flags; handle; tag; then v1.0's
        // reserved word and count, or v1.1+'s access descriptor size and count, offset,
        // reserved.
        put(u64::from(self.sender.0) | attr << 16 | u64::from(self.flags.0) << 32);
        put(self.handle.0);
        put(self.tag);
        let count = self.receivers.len() as u64;
        if layout == Layout::V1_0 {
            put(count << 32);
        } else {
            put(layout.emad_size() as u64 | count << 32);
            put(self.emad_offset() as u64);
            put(0);
        }
        // Access descriptors: endpoint, permissions, flags, composite offset; v1.2's two
        // implementation-defined words and reserved word, or v1.0/v1.1's reserved word.
        for r in self.receivers {
            put(u64::from(r.endpoint.0)
                | u64::from(r.perms.encode()) << 16
                | u64::from(r.flags) << 24
                | u64::from(comp_field) << 32);
            if layout == Layout::V1_2 {
                put(r.impdef[0]);
                put(r.impdef[1]);
            }
            put(0);
        }
        // Composite: total pages, range count, reserved; then the constituents in the
        // window: address, page count and reserved word.
        put(u64::from(total_pages) | u64::from(ranges) << 32);
        put(0);
        for k in self.constituents {
            put(k.address);
            put(u64::from(k.page_count));
        }
    }
}

/// Convenience: what a lender's FFA_MEM_SHARE/LEND/DONATE, a borrower's retrieve
/// request, or the SPMC's retrieve response for `version` has to look like is all the
/// same builder; this picks the layout from the negotiated version.
pub fn builder_for<'a>(
    version: Version,
    sender: EndpointId,
    receivers: &'a [MemAccess],
    constituents: &'a [Constituent],
) -> Result<TransactionBuilder<'a>, BuildError> {
    let layout =
        Layout::for_version(version).map_err(|_| BuildError::UnsupportedVersion(version))?;
    Ok(TransactionBuilder {
        layout,
        sender,
        attributes: MemAttributes::NOT_SPECIFIED,
        flags: TransactionFlags(0),
        handle: MemHandle(0),
        tag: 0,
        receivers,
        constituents,
    })
}
