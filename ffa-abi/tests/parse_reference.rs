//! The descriptor parser reads headers and records as aligned words (one load per word when
//! the buffer is 8-byte aligned, assembled from bytes otherwise). This test keeps the
//! byte-by-byte reading it replaced as a reference and checks, on mutated valid descriptors
//! and on arbitrary bytes, at an aligned and at every misaligned start, that both accept the
//! same descriptors with the same fields and refuse the same ones with the same error.

use ffa_abi::memory::transaction::{MemAccess, MemTransaction, TransactionBuilder};
use ffa_abi::memory::{
    AccessPerms, Constituent, Layout, MemAttributes, MemHandle, TransactionFlags, PAGE_SIZE,
};
use ffa_abi::{DescError, EndpointId, Version};
use proptest::prelude::*;

/// What a parsed descriptor says, through the public accessors.
#[derive(Debug, PartialEq, Eq)]
struct Summary {
    layout: Layout,
    sender: EndpointId,
    attributes: MemAttributes,
    flags: TransactionFlags,
    handle: MemHandle,
    tag: u64,
    receivers: Vec<MemAccess>,
    composite_offset: Option<u32>,
    total_pages: u32,
    constituents: Vec<Constituent>,
}

fn summary(t: &MemTransaction<'_>) -> Summary {
    Summary {
        layout: t.layout(),
        sender: t.sender,
        attributes: t.attributes,
        flags: t.flags,
        handle: t.handle,
        tag: t.tag,
        receivers: t.receivers().collect(),
        composite_offset: t.composite_offset(),
        total_pages: t.total_page_count(),
        constituents: t.constituents().collect(),
    }
}

// --- The reference: the byte-by-byte parser (ffa-abi before the word reading). ---

fn get<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    b.get(off..off.checked_add(N)?)?.try_into().ok()
}
fn u8_at(b: &[u8], off: usize) -> Option<u8> {
    b.get(off).copied()
}
fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    get::<2>(b, off).map(u16::from_le_bytes)
}
fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    get::<4>(b, off).map(u32::from_le_bytes)
}
fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    get::<8>(b, off).map(u64::from_le_bytes)
}
fn need<T>(v: Option<T>, offset: usize, len: usize) -> Result<T, DescError> {
    v.ok_or(DescError::Truncated { offset, len })
}
fn mbz(buf: &[u8], offset: usize, len: usize) -> Result<(), DescError> {
    let end = offset.checked_add(len).ok_or(DescError::Overflow)?;
    let bytes = need(buf.get(offset..end), offset, len)?;
    match bytes.iter().position(|b| *b != 0) {
        Some(i) => Err(DescError::NonZeroMbz { offset: offset + i }),
        None => Ok(()),
    }
}

fn reference_parse(buf: &[u8], version: Version) -> Result<Summary, DescError> {
    let layout = Layout::for_version(version)?;
    let hdr = layout.header_size();
    if buf.len() < hdr {
        return Err(DescError::Truncated {
            offset: 0,
            len: hdr,
        });
    }
    let sender = EndpointId(need(u16_at(buf, 0), 0, 2)?);
    let raw_attr = if layout == Layout::V1_0 {
        mbz(buf, 3, 1)?;
        u16::from(need(u8_at(buf, 2), 2, 1)?)
    } else {
        need(u16_at(buf, 2), 2, 2)?
    };
    let attributes = MemAttributes::decode(raw_attr, layout).ok_or(DescError::InvalidField {
        offset: 2,
        field: "memory region attributes",
    })?;
    let flags = TransactionFlags(need(u32_at(buf, 4), 4, 4)?);
    let handle = MemHandle(need(u64_at(buf, 8), 8, 8)?);
    let tag = need(u64_at(buf, 16), 16, 8)?;
    let count = need(u32_at(buf, 28), 28, 4)?;
    let emad_offset = if layout == Layout::V1_0 {
        mbz(buf, 24, 4)?;
        32usize
    } else {
        let size = need(u32_at(buf, 24), 24, 4)?;
        if size as usize != layout.emad_size() {
            return Err(DescError::InvalidField {
                offset: 24,
                field: "endpoint memory access descriptor size",
            });
        }
        mbz(buf, 36, 12)?;
        let off = need(u32_at(buf, 32), 32, 4)?;
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
    let mut composite_offset = None;
    let mut receivers = Vec::new();
    for i in 0..count as usize {
        let at = emad_offset + i * emad_size;
        let perms = need(u8_at(buf, at + 2), at + 2, 1)?;
        let Some(p) = AccessPerms::decode(perms) else {
            return Err(DescError::InvalidField {
                offset: at + 2,
                field: "memory access permissions",
            });
        };
        let f = need(u8_at(buf, at + 3), at + 3, 1)?;
        if f & !1 != 0 {
            return Err(DescError::NonZeroMbz { offset: at + 3 });
        }
        let reserved_at = if layout == Layout::V1_2 {
            at + 24
        } else {
            at + 8
        };
        mbz(buf, reserved_at, 8)?;
        let off = need(u32_at(buf, at + 4), at + 4, 4)?;
        match composite_offset {
            None => composite_offset = Some(off),
            Some(prev) if prev != off => return Err(DescError::BadOffset { value: off }),
            Some(_) => {}
        }
        let mut a = MemAccess::new(EndpointId(need(u16_at(buf, at), at, 2)?), p);
        a.flags = f;
        if layout == Layout::V1_2 {
            a.impdef = [u64_at(buf, at + 8).unwrap(), u64_at(buf, at + 16).unwrap()];
        }
        receivers.push(a);
    }
    let composite_offset = composite_offset.unwrap_or(0);
    let mut constituents = Vec::new();
    let total_pages = if composite_offset == 0 {
        0
    } else {
        let c = composite_offset as usize;
        if c % 8 != 0 {
            return Err(DescError::Misaligned {
                offset: emad_offset + 4,
            });
        }
        if c < emad_end || c.checked_add(16).is_none_or(|e| e > buf.len()) {
            return Err(DescError::BadOffset {
                value: composite_offset,
            });
        }
        let total = need(u32_at(buf, c), c, 4)?;
        let ranges = need(u32_at(buf, c + 4), c + 4, 4)?;
        mbz(buf, c + 8, 8)?;
        if ranges == 0 {
            return Err(DescError::InvalidField {
                offset: c + 4,
                field: "address range count",
            });
        }
        let end = (ranges as usize)
            .checked_mul(16)
            .and_then(|n| n.checked_add(c + 16))
            .ok_or(DescError::Overflow)?;
        if end > buf.len() {
            return Err(DescError::CountTooLarge { count: ranges });
        }
        let mut sum: u32 = 0;
        for i in 0..ranges as usize {
            let at = c + 16 + i * 16;
            let addr = u64_at(buf, at).unwrap();
            let pages = u32_at(buf, at + 8).unwrap();
            if addr % PAGE_SIZE != 0 {
                return Err(DescError::Misaligned { offset: at });
            }
            if pages == 0 {
                return Err(DescError::InvalidField {
                    offset: at + 8,
                    field: "constituent page count",
                });
            }
            mbz(buf, at + 12, 4)?;
            if addr.checked_add(u64::from(pages) * PAGE_SIZE).is_none() {
                return Err(DescError::Overflow);
            }
            sum = sum.checked_add(pages).ok_or(DescError::Overflow)?;
            constituents.push(Constituent {
                address: addr,
                page_count: pages,
            });
        }
        if sum != total {
            return Err(DescError::InvalidField {
                offset: c,
                field: "total page count",
            });
        }
        total
    };
    Ok(Summary {
        layout,
        sender,
        attributes,
        flags,
        handle,
        tag,
        receivers,
        composite_offset: (composite_offset != 0).then_some(composite_offset),
        total_pages,
        constituents,
    })
}

// --- The property. ---

/// `bytes` copied to each start offset 0..8 of an 8-byte aligned store, parsed there, and
/// compared with the reference.
fn agree(bytes: &[u8], v: Version) -> Result<(), TestCaseError> {
    let want = reference_parse(bytes, v);
    let mut store = vec![0u64; bytes.len() / 8 + 2];
    for start in 0..8 {
        let raw: &mut [u8] = zerocopy_bytes(&mut store);
        raw[start..start + bytes.len()].copy_from_slice(bytes);
        let parsed = MemTransaction::parse(&raw[start..start + bytes.len()], v);
        let got = parsed.as_ref().map(summary).map_err(|e| *e);
        prop_assert_eq!(&got, &want, "start {}", start);
    }
    Ok(())
}

/// The bytes of `words` (8-byte aligned), without unsafe: through their little-endian copies.
fn zerocopy_bytes(words: &mut [u64]) -> &mut [u8] {
    use zerocopy::IntoBytes;
    words.as_mut_bytes()
}

fn valid(layout: Layout, n_recv: usize, n_cons: usize, attr: u16, impdef: u64) -> Vec<u8> {
    let recv: Vec<MemAccess> = (0..n_recv)
        .map(|i| {
            let mut a = MemAccess::new(EndpointId(0x8001 + i as u16), AccessPerms::RW_NX);
            if layout == Layout::V1_2 {
                a.impdef = [impdef, !impdef];
            }
            a.flags = (i % 2) as u8;
            a
        })
        .collect();
    let cons: Vec<Constituent> = (0..n_cons as u64)
        .map(|i| Constituent {
            address: 0x1000 * (i * 5 + 1),
            page_count: 1 + i as u32,
        })
        .collect();
    let b = TransactionBuilder {
        layout,
        sender: EndpointId(0x8003),
        attributes: MemAttributes::decode(attr, layout).unwrap_or(MemAttributes::NORMAL_WB_INNER),
        flags: TransactionFlags(0x5),
        handle: MemHandle(0x1234_5678_9abc),
        tag: 7,
        receivers: &recv,
        constituents: &cons,
    };
    let mut out = vec![0u8; b.total_len().unwrap()];
    b.write(&mut out).unwrap();
    out
}

const VERSIONS: [(Layout, Version); 3] = [
    (Layout::V1_0, Version::V1_0),
    (Layout::V1_1, Version::V1_1),
    (Layout::V1_2, Version::V1_2),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn word_parser_agrees_with_the_byte_parser(
        sel in 0usize..3,
        other_version in 0usize..4,
        n_recv in 1usize..4,
        n_cons in 0usize..5,
        attr in 0u16..0x80,
        impdef in any::<u64>(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        cut in any::<usize>(),
    ) {
        let (layout, v) = VERSIONS[sel];
        let mut buf = valid(layout, n_recv, n_cons, attr, impdef);
        prop_assert!(reference_parse(&buf, v).is_ok() || MemAttributes::decode(attr, layout).is_none());
        for (at, val) in edits {
            let i = at % buf.len();
            buf[i] = val;
        }
        if cut % 4 == 0 {
            buf.truncate(cut % (buf.len() + 1));
        }
        // Mostly the version the descriptor was written for; sometimes another one, an
        // unsupported one included.
        let v = match other_version {
            0 => Version::new(1, 3),
            1 => VERSIONS[(sel + 1) % 3].1,
            _ => v,
        };
        agree(&buf, v)?;
    }

    #[test]
    fn word_parser_agrees_on_arbitrary_bytes(
        buf in proptest::collection::vec(any::<u8>(), 0..200),
        sel in 0usize..3,
    ) {
        agree(&buf, VERSIONS[sel].1)?;
    }
}

#[test]
fn unmutated_samples_are_accepted_the_same() {
    for (layout, v) in VERSIONS {
        for n_cons in 0..4 {
            let buf = valid(layout, 2, n_cons, 0x2F, 0x1122_3344_5566_7788);
            let want = reference_parse(&buf, v).expect("a valid descriptor");
            assert_eq!(want.receivers.len(), 2);
            agree(&buf, v).unwrap();
        }
    }
}
