//! The whole path through real descriptor bytes: ffa-abi builds a descriptor, parses it,
//! `convert` hands it to the engine, and the retrieve response is encoded and parsed back,
//! in every layout, whole and in fragments in both directions.

use ffa_abi::memory::relinquish::{write_relinquish, MemRelinquish};
use ffa_abi::memory::transaction::{MemAccess, MemTransaction, TransactionBuilder};
use ffa_abi::memory::{
    AccessPerms, Constituent, DataAccess as WireData, InstructionAccess as WireInstr, Layout,
    MemAttributes, MemOp, MemType, TransactionFlags,
};
use ffa_abi::Version;

use super::*;
use crate::mem_share::convert::{
    check_total_length, relinquish_request, retrieve_request, retrieve_response_len,
    transaction_request, translate_sp_constituents, write_retrieve_response,
};
use crate::mem_share::fragment::{FragProgress, FragmentAssembler, ResponseCursors};

type Big = MemShare<8, 4, 32, 16>;
const BIG: Limits = Limits {
    max_transactions: 8,
    max_receivers: 4,
    max_constituents: 32,
    nw_quota: super::NO_QUOTA,
    sp_quota: super::NO_QUOTA,
};

fn layout(v: Version) -> Layout {
    Layout::for_version(v).unwrap()
}

fn rw_perms() -> AccessPerms {
    AccessPerms {
        data: WireData::ReadWrite,
        instruction: WireInstr::NotSpecified,
    }
}

/// A share from the normal world to SP1 of `ranges`, encoded for `v`.
fn share_bytes(v: Version, ranges: &[Constituent]) -> std::vec::Vec<u8> {
    let receivers = [MemAccess::new(SP1, rw_perms())];
    let b = TransactionBuilder {
        layout: layout(v),
        sender: NW,
        attributes: MemAttributes::NORMAL_WB_INNER,
        flags: TransactionFlags(0),
        handle: MemHandle(0),
        tag: 0x1234,
        receivers: &receivers,
        constituents: ranges,
    };
    let mut out = vec![0; b.total_len().unwrap()];
    b.write(&mut out).unwrap();
    out
}

fn retrieve_bytes(v: Version, handle: MemHandle) -> std::vec::Vec<u8> {
    let receivers = [MemAccess::new(
        SP1,
        AccessPerms {
            data: WireData::ReadWrite,
            instruction: WireInstr::NotExecutable,
        },
    )];
    let b = TransactionBuilder {
        layout: layout(v),
        sender: NW,
        attributes: MemAttributes::NOT_SPECIFIED,
        flags: TransactionFlags(0),
        handle,
        tag: 0x1234,
        receivers: &receivers,
        constituents: &[],
    };
    let mut out = vec![0; b.total_len().unwrap()];
    b.write(&mut out).unwrap();
    out
}

fn scattered(n: u32) -> std::vec::Vec<Constituent> {
    (0..n)
        .map(|i| Constituent {
            address: NS_RAM + 2 * i as u64 * PAGE_SIZE,
            page_count: 1,
        })
        .collect()
}

#[test]
fn share_retrieve_relinquish_reclaim_through_bytes_in_every_layout() {
    for v in [Version::V1_0, Version::V1_1, Version::V1_2] {
        let mut f = Fake::new(64);
        let mut e = Big::new(BIG);
        let bytes = share_bytes(v, &scattered(3));
        let d = MemTransaction::parse(&bytes, v).unwrap();
        let r: TransactionRequest<4, 32> = transaction_request(TransactionKind::Share, &d).unwrap();
        let h = e.send(&mut f, NW, &r).unwrap().handle;

        let rb = retrieve_bytes(v, h);
        let rd = MemTransaction::parse(&rb, v).unwrap();
        let rr: RetrieveRequest<4> = retrieve_request(&rd).unwrap();
        let resp = e.retrieve(&mut f, SP1, &rr).unwrap();

        let len = retrieve_response_len(&resp, v).unwrap();
        let mut out = vec![0; len];
        assert_eq!(write_retrieve_response(&resp, v, 0, &mut out).unwrap(), len);
        let back = MemTransaction::parse(&out, v).unwrap();
        back.validate_for(MemOp::RetrieveResp).unwrap();
        assert_eq!((back.handle, back.sender, back.tag), (h, NW, 0x1234));
        assert_eq!(
            back.attributes.mem_type,
            MemType::Normal(ffa_abi::memory::Cacheability::WriteBack)
        );
        assert_eq!(
            back.attributes.ns,
            v != Version::V1_0,
            "NS bit from v1.1 on"
        );
        assert_eq!(
            back.flags.transaction_type(),
            ffa_abi::memory::TransactionType::Share
        );
        let me = back.receiver(0).unwrap();
        assert_eq!(me.endpoint, SP1);
        assert_eq!(me.perms, AccessPerms::RW_NX);
        let vas: std::vec::Vec<_> = back.constituents().collect();
        assert_eq!(vas.len(), 3);
        assert_eq!(vas[0].address, NS_RAM, "at VA = PA");
        assert_eq!(vas[2].address, NS_RAM + 4 * PAGE_SIZE, "at VA = PA");
        // The mapping really is at those VAs' pages.
        assert_eq!(
            f.access.get(&(SP1, NS_RAM + 4 * PAGE_SIZE)),
            Some(&Access::RW)
        );

        let mut rel = [0u8; 32];
        let n = write_relinquish(h, 0, &[SP1], &mut rel).unwrap();
        let rq: RelinquishRequest<4> =
            relinquish_request(&MemRelinquish::parse(&rel[..n]).unwrap()).unwrap();
        e.relinquish(&mut f, SP1, &rq).unwrap();
        e.reclaim(&mut f, NW, h, 0).unwrap();
        assert_eq!(f.in_use, 0);
    }
}

#[test]
fn fragmented_send_and_fragmented_retrieve_response() {
    let v = Version::V1_1;
    let mut f = Fake::new(64);
    let mut e = Big::new(BIG);
    let whole = share_bytes(v, &scattered(16));
    // Sender side: the head with two constituents, then three constituents per
    // FFA_MEM_FRAG_TX.
    let mut asm: FragmentAssembler<2, 1024> = FragmentAssembler::new();
    let total = whole.len() as u32;
    let head = 48 + 16 + 16 + 2 * 16;
    let FragProgress::More { handle, mut offset } = asm
        .start(NW, TransactionKind::Share, total, &whole[..head], || {
            e.reserve_handle()
        })
        .unwrap()
    else {
        panic!("first fragment completed");
    };
    loop {
        let end = (offset as usize + 48).min(whole.len());
        match asm.push(NW, handle, &whole[offset as usize..end]).unwrap() {
            FragProgress::More { offset: o, .. } => offset = o,
            FragProgress::Complete { .. } => break,
        }
    }
    let sent = asm
        .finish(NW, handle, |kind, bytes| {
            assert_eq!(bytes, &whole[..]);
            let d = MemTransaction::parse(bytes, v).map_err(|_| Rule::MalformedDescriptor)?;
            let r: TransactionRequest<4, 32> = transaction_request(kind, &d)?;
            e.send_with_handle(&mut f, NW, &r, handle)
        })
        .unwrap()
        .unwrap();
    assert_eq!(sent.handle, handle);

    // Receiver side: a 128-byte RX buffer is too small for 16 constituents.
    let rx = 128usize;
    let rb = retrieve_bytes(v, handle);
    let rr: RetrieveRequest<4> = retrieve_request(&MemTransaction::parse(&rb, v).unwrap()).unwrap();
    let resp = e.retrieve(&mut f, SP1, &rr).unwrap();
    let total = retrieve_response_len(&resp, v).unwrap();
    let mut whole_resp = vec![0; total];
    write_retrieve_response(&resp, v, 0, &mut whole_resp).unwrap();

    let mut cursors: ResponseCursors<3, 32> = ResponseCursors::new();
    let mut buf = vec![0u8; rx];
    let first = write_retrieve_response(&resp, v, 0, &mut buf).unwrap();
    assert!(first < total && first > 0);
    let mut got = buf[..first].to_vec();
    cursors
        .begin(resp.clone(), total as u32, first as u32)
        .unwrap();
    let mut fragments = 1;
    while got.len() < total {
        let at = got.len() as u32;
        let n = cursors
            .next(SP1, handle, at, |r, off| {
                write_retrieve_response(r, v, off as usize, &mut buf).unwrap_or(0) as u32
            })
            .unwrap();
        got.extend_from_slice(&buf[..n as usize]);
        fragments += 1;
    }
    assert!(fragments > 2);
    assert_eq!(got, whole_resp);
    assert!(!cursors.pending(SP1, handle));
}

#[test]
fn conversion_rejections() {
    let v = Version::V1_1;
    // A retrieve request must not carry a composite (retriever-chosen ranges).
    let with_ranges = share_bytes(v, &scattered(1));
    let d = MemTransaction::parse(&with_ranges, v).unwrap();
    assert_eq!(
        retrieve_request::<4>(&d).err(),
        Some(Rule::MalformedDescriptor)
    );
    // Zero-memory flag on a share is not a defined bit for FFA_MEM_SHARE.
    let mut zeroed = with_ranges.clone();
    zeroed[4] = 1;
    let d = MemTransaction::parse(&zeroed, v).unwrap();
    assert_eq!(
        transaction_request::<4, 8>(TransactionKind::Share, &d).err(),
        Some(Rule::MalformedDescriptor)
    );
    // More constituents than the engine holds: NO_MEMORY.
    let many = share_bytes(v, &scattered(9));
    let d = MemTransaction::parse(&many, v).unwrap();
    let err = transaction_request::<4, 8>(TransactionKind::Share, &d).err();
    assert_eq!(err, Some(Rule::TooManyConstituents));
    assert_eq!(Rule::TooManyConstituents.error(), FfaError::NoMemory);
}

#[test]
fn first_fragment_must_announce_the_real_total_length() {
    for v in [Version::V1_0, Version::V1_1, Version::V1_2] {
        let whole = share_bytes(v, &scattered(4));
        let total = whole.len() as u32;
        let head = whole.len() - 2 * 16; // two constituents still to come
        assert_eq!(check_total_length(&whole[..head], v, total), Ok(()));
        // ACS lend_input_error_checks1: w1 = real total + 16.
        assert_eq!(
            check_total_length(&whole[..head], v, total + 16),
            Err(Rule::InvalidLength)
        );
        assert_eq!(Rule::InvalidLength.error(), FfaError::InvalidParameters);
        // A first fragment that stops before the composite header.
        let short = layout(v).header_size() + 8;
        assert_eq!(
            check_total_length(&whole[..short], v, total),
            Err(Rule::MalformedDescriptor)
        );
        // No receivers at all.
        let mut none = whole.clone();
        none[28..32].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(
            check_total_length(&none[..head], v, total),
            Err(Rule::NoReceivers)
        );
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 300,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// Arbitrary first fragments never panic the length check.
    #[test]
    fn total_length_check_never_panics(
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
        total in proptest::prelude::any::<u32>(),
        v in 0usize..3,
    ) {
        let v = [Version::V1_0, Version::V1_1, Version::V1_2][v];
        let _ = check_total_length(&bytes, v, total);
    }

    /// A valid descriptor with random bytes overwritten goes through parse, convert and the
    /// engine without panicking; whatever the engine refuses leaves it untouched, and
    /// whatever it accepts is the sender's own memory.
    #[test]
    fn mutated_descriptors_are_refused_cleanly(
        edits in proptest::collection::vec((0usize..160, proptest::prelude::any::<u8>()), 1..6),
        kind in 0usize..3,
        v in 0usize..3,
    ) {
        let v = [Version::V1_0, Version::V1_1, Version::V1_2][v];
        let kind = [TransactionKind::Share, TransactionKind::Lend, TransactionKind::Donate][kind];
        let mut bytes = share_bytes(v, &scattered(3));
        let len = bytes.len();
        for (at, b) in edits {
            bytes[at % len] = b;
        }
        let mut f = Fake::new(64);
        let mut e = Big::new(BIG);
        let Ok(d) = MemTransaction::parse(&bytes, v) else { return Ok(()) };
        let Ok(r) = transaction_request::<4, 32>(kind, &d) else { return Ok(()) };
        let before = format!("{e:?}");
        let fake_before = f.clone();
        match e.send(&mut f, r.sender, &r) {
            Ok(_) => {
                // No donation happened yet, so ownership is the static one.
                for c in r.constituents.iter() {
                    let owned = OwnershipOracle::static_region(&f, r.sender, *c);
                    proptest::prop_assert!(owned.is_some());
                }
            }
            Err(_) => {
                proptest::prop_assert_eq!(format!("{e:?}"), before);
                proptest::prop_assert!(f == fake_before);
            }
        }
    }
}

#[test]
fn v1_2_implementation_defined_values_must_be_repeated_and_are_returned() {
    let v = Version::V1_2;
    let mut me = MemAccess::new(SP1, rw_perms());
    me.impdef = [7, 8];
    let receivers = [me];
    let ranges = scattered(1);
    let b = TransactionBuilder {
        layout: layout(v),
        sender: NW,
        attributes: MemAttributes::NORMAL_WB_INNER,
        flags: TransactionFlags(0),
        handle: MemHandle(0),
        tag: 0x1234,
        receivers: &receivers,
        constituents: &ranges,
    };
    let mut bytes = vec![0; b.total_len().unwrap()];
    b.write(&mut bytes).unwrap();
    let mut f = Fake::new(64);
    let mut e = Big::new(BIG);
    let d = MemTransaction::parse(&bytes, v).unwrap();
    let r: TransactionRequest<4, 32> = transaction_request(TransactionKind::Share, &d).unwrap();
    let h = e.send(&mut f, NW, &r).unwrap().handle;

    // ACS mem_share_impdef: a retrieve without the sender's value is refused...
    let plain = retrieve_bytes(v, h);
    let rr: RetrieveRequest<4> =
        retrieve_request(&MemTransaction::parse(&plain, v).unwrap()).unwrap();
    assert_eq!(
        e.retrieve(&mut f, SP1, &rr).err(),
        Some(Rule::ImpdefMismatch)
    );
    // ...and with it, it succeeds and the response carries it back.
    let mut rr = rr;
    rr.receivers[0].impdef = [7, 8];
    let resp = e.retrieve(&mut f, SP1, &rr).unwrap();
    let mut out = vec![0; retrieve_response_len(&resp, v).unwrap()];
    write_retrieve_response(&resp, v, 0, &mut out).unwrap();
    let back = MemTransaction::parse(&out, v).unwrap();
    assert_eq!(back.receiver(0).unwrap().impdef, [7, 8]);
}

/// SP1's address space in these tests: VA 0x4000_0000 + i pages maps SP1's RAM page
/// `order[i]`, so VA-contiguous pages may be physically apart.
fn sp1_translate(order: &'static [u64]) -> impl FnMut(VirtAddr) -> Option<(PhysAddr, u64)> {
    move |va: VirtAddr| {
        let i = va.0.checked_sub(0x4000_0000)? / PAGE_SIZE;
        let page = *order.get(i as usize)?;
        // Report runs honestly: how many following VA pages stay physically contiguous.
        let mut run = 1;
        while order.get(i as usize + run as usize) == Some(&(page + run)) {
            run += 1;
        }
        Some((PhysAddr(sp_ram(1) + page * PAGE_SIZE), run))
    }
}

#[test]
fn sp_senders_name_their_own_addresses() {
    static ORDER: [u64; 5] = [3, 4, 5, 9, 1];
    let mut r = req(
        TransactionKind::Lend,
        SP1,
        &[(SP2, rw())],
        &[PageRange::new(0x4000_0000, 5)],
    );
    translate_sp_constituents(&mut r, sp1_translate(&ORDER)).unwrap();
    let got: std::vec::Vec<_> = r.constituents.iter().copied().collect();
    assert_eq!(
        got,
        vec![sp1_pages(3, 3), sp1_pages(9, 1), sp1_pages(1, 1)],
        "physically contiguous pieces merged, the rest split"
    );
    assert_eq!(r.total_pages, 5);
    let mut f = Fake::new(64);
    let mut e = Engine::new(LIMITS);
    e.send(&mut f, SP1, &r).unwrap();
    assert_eq!(f.access.get(&(SP1, sp1_pages(9, 1).base.0)), None);

    // One page past what SP1 has mapped.
    let mut r = req(
        TransactionKind::Lend,
        SP1,
        &[(SP2, rw())],
        &[PageRange::new(0x4000_0000, 6)],
    );
    assert_eq!(
        translate_sp_constituents(&mut r, sp1_translate(&ORDER)),
        Err(Rule::NotOwner)
    );
    // A claim of 2^32-1 pages stops at the first unmapped one.
    let mut calls = 0;
    let mut huge = req(
        TransactionKind::Lend,
        SP1,
        &[(SP2, rw())],
        &[PageRange::new(0x4000_0000, u32::MAX)],
    );
    let mut t = sp1_translate(&ORDER);
    let res = translate_sp_constituents(&mut huge, |va| {
        calls += 1;
        t(va)
    });
    assert_eq!(res, Err(Rule::NotOwner));
    assert!(calls <= 5);
    // Too many physical pieces for the engine's capacity.
    static SCATTER: [u64; 9] = [0, 2, 4, 6, 8, 10, 1, 3, 5];
    let mut r = req(
        TransactionKind::Lend,
        SP1,
        &[(SP2, rw())],
        &[PageRange::new(0x4000_0000, 9)],
    );
    assert_eq!(
        translate_sp_constituents(&mut r, sp1_translate(&SCATTER)),
        Err(Rule::TooManyConstituents)
    );
    let mut r = req(
        TransactionKind::Lend,
        SP1,
        &[(SP2, rw())],
        &[PageRange::new(0x4000_0800, 1)],
    );
    assert_eq!(
        translate_sp_constituents(&mut r, sp1_translate(&ORDER)),
        Err(Rule::MisalignedConstituent)
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 200,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// A share of `n` scattered pages sent in fragments of `per` constituents gives the same
    /// transaction as the same share sent whole, and its retrieve response walked through an
    /// RX buffer of `rx` bytes with FFA_MEM_FRAG_RX reassembles to the whole response.
    #[test]
    fn fragments_in_both_directions_change_nothing(
        n in 1u32..16,
        per in 1usize..5,
        rx in 112usize..600,
        v in 1usize..3,
    ) {
        let v = [Version::V1_0, Version::V1_1, Version::V1_2][v];
        let whole = share_bytes(v, &scattered(n));
        let total = whole.len();
        let head = total - 16 * n as usize + 16 * (per.min(n as usize) - 1);

        // Whole.
        let mut f1 = Fake::new(64);
        let mut e1 = Big::new(BIG);
        let d = MemTransaction::parse(&whole, v).unwrap();
        let r: TransactionRequest<4, 32> = transaction_request(TransactionKind::Share, &d).unwrap();
        let h1 = e1.send(&mut f1, NW, &r).unwrap().handle;

        // Fragmented.
        let mut f2 = Fake::new(64);
        let mut e2 = Big::new(BIG);
        let mut asm: FragmentAssembler<1, 1024> = FragmentAssembler::new();
        let h2 = if head < total {
            proptest::prop_assert_eq!(check_total_length(&whole[..head], v, total as u32), Ok(()));
            let FragProgress::More { handle, mut offset } = asm
                .start(NW, TransactionKind::Share, total as u32, &whole[..head], || e2.reserve_handle())
                .unwrap()
            else {
                return Err(proptest::test_runner::TestCaseError::fail("completed at start"));
            };
            loop {
                let end = (offset as usize + 16 * per).min(total);
                match asm.push(NW, handle, &whole[offset as usize..end]).unwrap() {
                    FragProgress::More { offset: o, .. } => offset = o,
                    FragProgress::Complete { .. } => break,
                }
            }
            let sent = asm.finish(NW, handle, |kind, bytes| {
                let d = MemTransaction::parse(bytes, v).map_err(|_| Rule::MalformedDescriptor)?;
                let r: TransactionRequest<4, 32> = transaction_request(kind, &d)?;
                e2.send_with_handle(&mut f2, NW, &r, handle)
            });
            sent.unwrap().unwrap().handle
        } else {
            e2.send(&mut f2, NW, &r).unwrap().handle
        };
        let view1: std::vec::Vec<_> = e1.transactions().map(|t| (t.kind, t.sender, t.constituents.to_vec())).collect();
        let view2: std::vec::Vec<_> = e2.transactions().map(|t| (t.kind, t.sender, t.constituents.to_vec())).collect();
        proptest::prop_assert_eq!(view1, view2);

        // Retrieve response through a small RX buffer.
        let rb = retrieve_bytes(v, h2);
        let rr: RetrieveRequest<4> = retrieve_request(&MemTransaction::parse(&rb, v).unwrap()).unwrap();
        let resp = e2.retrieve(&mut f2, SP1, &rr).unwrap();
        let len = retrieve_response_len(&resp, v).unwrap();
        let mut expect = vec![0; len];
        write_retrieve_response(&resp, v, 0, &mut expect).unwrap();
        let mut buf = vec![0u8; rx];
        let first = write_retrieve_response(&resp, v, 0, &mut buf).unwrap();
        let mut got = buf[..first].to_vec();
        let mut cursors: ResponseCursors<2, 32> = ResponseCursors::new();
        cursors.begin(resp.clone(), len as u32, first as u32).unwrap();
        while got.len() < len {
            let at = got.len() as u32;
            let k = cursors
                .next(SP1, h2, at, |r, off| {
                    write_retrieve_response(r, v, off as usize, &mut buf).unwrap_or(0) as u32
                })
                .unwrap();
            got.extend_from_slice(&buf[..k as usize]);
        }
        proptest::prop_assert_eq!(got, expect);
        proptest::prop_assert!(h1.is_spmc_allocated() && h2.is_spmc_allocated());
    }
}
