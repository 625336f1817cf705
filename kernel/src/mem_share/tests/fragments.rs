//! Fragmented descriptors in both directions: the sender's FFA_MEM_FRAG_TX accumulation and
//! the receiver's FFA_MEM_FRAG_RX walk over a large retrieve response.

use proptest::prelude::*;

use super::*;
use crate::mem_share::fragment::{FragProgress, FragmentAssembler, ResponseCursors};

type Asm = FragmentAssembler<2, 64>;

fn counter() -> impl FnMut() -> MemHandle {
    let mut n = 0x10;
    move || {
        n += 1;
        MemHandle(n)
    }
}

#[test]
fn start_rules() {
    let mut a = Asm::new();
    let mut h = counter();
    let k = TransactionKind::Share;
    assert_eq!(a.start(NW, k, 10, &[], &mut h), Err(Rule::InvalidLength));
    assert_eq!(
        a.start(NW, k, 10, &[0; 10], &mut h),
        Err(Rule::InvalidLength)
    );
    assert_eq!(
        a.start(NW, k, 65, &[0; 8], &mut h),
        Err(Rule::DescriptorTooLarge)
    );
    assert_eq!(Rule::DescriptorTooLarge.error(), FfaError::NoMemory);
    let first = a.start(NW, k, 20, &[1; 8], &mut h).unwrap();
    assert_eq!(
        first,
        FragProgress::More {
            handle: MemHandle(0x11),
            offset: 8
        }
    );
    // One transmission per sender by default; more is the sender's quota exceeded (the
    // normal world's endpoints share one).
    assert_eq!(
        a.start(NW, k, 20, &[1; 8], &mut h),
        Err(Rule::FragmentQuotaExceeded)
    );
    assert_eq!(
        a.start(VM2, k, 20, &[1; 8], &mut h),
        Err(Rule::FragmentQuotaExceeded)
    );
    assert_eq!(Rule::FragmentQuotaExceeded.error(), FfaError::NoMemory);
    a.start(SP1, k, 20, &[1; 8], &mut h).unwrap();
    assert_eq!(
        a.start(SP2, k, 20, &[1; 8], &mut h),
        Err(Rule::FragmentSlotsExhausted)
    );
    // Refused starts consumed no handle.
    assert_eq!(h(), MemHandle(0x13));
}

#[test]
fn push_rules_and_completion() {
    let mut a = Asm::new();
    // A 4-byte head, then two 16-byte constituents.
    let whole: std::vec::Vec<u8> = (1..=36).collect();
    let h = match a
        .start(NW, TransactionKind::Lend, 36, &whole[..4], counter())
        .unwrap()
    {
        FragProgress::More { handle, .. } => handle,
        other => panic!("{other:?}"),
    };
    let one = &whole[4..20];
    let other_sender = a.push(SP1, h, one);
    assert_eq!(other_sender, Err(Rule::UnknownFragmentHandle));
    let other_handle = a.push(NW, MemHandle(h.0 + 1), one);
    assert_eq!(other_handle, Err(Rule::UnknownFragmentHandle));
    assert_eq!(a.push(NW, h, &[]), Err(Rule::FragmentMismatch));
    let partial = a.push(NW, h, &whole[4..12]);
    assert_eq!(
        partial,
        Err(Rule::FragmentMismatch),
        "not whole constituents"
    );
    let overrun = a.push(NW, h, &[0; 48]);
    assert_eq!(overrun, Err(Rule::FragmentMismatch), "overruns the total");
    assert_eq!(a.finish(NW, h, |_, _| ()), None, "not complete yet");
    let more = a.push(NW, h, one);
    assert_eq!(
        more,
        Ok(FragProgress::More {
            handle: h,
            offset: 20
        })
    );
    let done = a.push(NW, h, &whole[20..]);
    assert_eq!(done, Ok(FragProgress::Complete { handle: h }));
    let got = a.finish(NW, h, |k, b| (k, b.to_vec())).unwrap();
    assert_eq!(got, (TransactionKind::Lend, whole.clone()));
    assert_eq!(a.in_flight(), 0);
    let gone = a.push(NW, h, one);
    assert_eq!(gone, Err(Rule::UnknownFragmentHandle), "gone after finish");
}

#[test]
fn abort_frees_the_slot() {
    let mut a = Asm::new();
    let FragProgress::More { handle, .. } = a
        .start(NW, TransactionKind::Share, 12, &[1; 4], counter())
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(a.abort(SP1, handle), Err(Rule::UnknownFragmentHandle));
    a.abort(NW, handle).unwrap();
    assert_eq!(a.in_flight(), 0);
}

fn response(receiver: EndpointId, handle: MemHandle) -> RetrieveResponse<8> {
    RetrieveResponse {
        handle,
        kind: TransactionKind::Share,
        sender: NW,
        tag: 0,
        flags: 1 << 3,
        attributes: MemoryType::NORMAL_WB_IS,
        non_secure: true,
        receiver,
        permissions: Permissions::from_access(Access::RW),
        impdef: [0, 0],
        total_pages: 3,
        constituents: [
            PageRange::new(0x8000_0000, 1),
            PageRange::new(0x8000_4000, 2),
        ]
        .into_iter()
        .collect(),
    }
}

#[test]
fn retrieve_response_in_pieces() {
    let mut c: ResponseCursors<2, 8> = ResponseCursors::new();
    let h = MemHandle(5);
    let fixed = |n: u32| move |_: &RetrieveResponse<8>, _: u32| n;
    c.begin(response(SP1, h), 100, 100).unwrap();
    assert!(!c.pending(SP1, h), "complete at once: no cursor");
    assert_eq!(c.begin(response(SP1, h), 100, 0), Err(Rule::InvalidLength));
    c.begin(response(SP1, h), 250, 100).unwrap();
    assert!(c.pending(SP1, h));
    assert_eq!(
        c.next(SP2, h, 100, fixed(100)),
        Err(Rule::UnknownFragmentHandle)
    );
    assert_eq!(
        c.next(SP1, MemHandle(6), 100, fixed(100)),
        Err(Rule::UnknownFragmentHandle)
    );
    assert_eq!(c.next(SP1, h, 50, fixed(100)), Err(Rule::FragmentMismatch));
    assert_eq!(
        c.next(SP1, h, 100, fixed(0)),
        Err(Rule::FragmentMismatch),
        "encoder failed"
    );
    assert_eq!(
        c.next(SP1, h, 100, fixed(151)),
        Err(Rule::FragmentMismatch),
        "past the end"
    );
    let mut seen = None;
    let len = c
        .next(SP1, h, 100, |r, off| {
            seen = Some((r.clone(), off));
            100
        })
        .unwrap();
    assert_eq!(len, 100);
    assert_eq!(seen, Some((response(SP1, h), 100)));
    assert_eq!(c.next(SP1, h, 200, fixed(50)), Ok(50));
    assert!(!c.pending(SP1, h));
    assert_eq!(
        c.next(SP1, h, 250, fixed(1)),
        Err(Rule::UnknownFragmentHandle)
    );
    // Full table: a third receiver cannot start.
    c.begin(response(SP1, h), 250, 100).unwrap();
    c.begin(response(SP2, h), 250, 100).unwrap();
    assert!(!c.can_begin(SP3));
    assert!(
        c.can_begin(SP1),
        "a new retrieve replaces the receiver's unfinished one"
    );
    assert_eq!(
        c.begin(response(SP3, h), 250, 100),
        Err(Rule::FragmentSlotsExhausted)
    );
    let vas: std::vec::Vec<_> = response(SP1, h).mapped_constituents().collect();
    assert_eq!(
        vas,
        vec![(VirtAddr(0x8000_0000), 1), (VirtAddr(0x8000_4000), 2)],
        "each constituent at VA = PA"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Any split of a descriptor into a head and whole-constituent fragments reassembles to
    /// the same bytes, and bogus interleaved fragments (wrong sender, wrong handle, overrun)
    /// are refused and change nothing.
    #[test]
    fn any_split_reassembles(
        head in 1usize..16,
        constituents in 1usize..4,
        seed in any::<u8>(),
        cuts in prop::collection::vec(1usize..4, 1..8),
        noise in prop::collection::vec(0u8..3, 0..8),
    ) {
        let bytes: std::vec::Vec<u8> = (0..head + 16 * constituents)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect();
        let mut a = Asm::new();
        let mut pos = head;
        let FragProgress::More { handle, offset } = a
            .start(NW, TransactionKind::Share, bytes.len() as u32, &bytes[..head], counter())
            .unwrap()
        else {
            return Err(TestCaseError::fail("first fragment completed"));
        };
        prop_assert_eq!(offset as usize, head);
        let mut i = 0;
        loop {
            if let Some(&n) = noise.get(i) {
                let before = format!("{a:?}");
                let bad = match n {
                    0 => a.push(SP1, handle, &bytes[pos..pos + 16]),
                    1 => a.push(NW, MemHandle(handle.0 ^ 1), &bytes[pos..pos + 16]),
                    _ => a.push(NW, handle, &vec![0; bytes.len() - pos + 16]),
                };
                prop_assert!(bad.is_err());
                prop_assert_eq!(format!("{a:?}"), before);
            }
            let n = (16 * cuts[i % cuts.len()]).min(bytes.len() - pos);
            let step = a.push(NW, handle, &bytes[pos..pos + n]).unwrap();
            pos += n;
            i += 1;
            match step {
                FragProgress::More { offset, .. } => prop_assert_eq!(offset as usize, pos),
                FragProgress::Complete { .. } => break,
            }
        }
        prop_assert_eq!(pos, bytes.len());
        let got = a.finish(NW, handle, |_, b| b.to_vec()).unwrap();
        prop_assert_eq!(got, bytes);
    }

    /// Walking a response with FFA_MEM_FRAG_RX covers every byte exactly once, whatever
    /// lengths the encoder picks.
    #[test]
    fn response_fragments_tile_the_descriptor(
        total in 1u32..5000,
        first in 1u32..1000,
        lens in prop::collection::vec(1u32..1000, 1..64),
    ) {
        let mut c: ResponseCursors<3, 8> = ResponseCursors::new();
        let h = MemHandle(9);
        let first = first.min(total);
        c.begin(response(SP2, h), total, first).unwrap();
        let mut sent = first;
        let mut i = 0;
        while sent < total {
            let want = lens[i % lens.len()].min(total - sent);
            let got = c.next(SP2, h, sent, |_, off| {
                assert_eq!(off, sent);
                want
            }).unwrap();
            prop_assert_eq!(got, want);
            sent += got;
            i += 1;
        }
        prop_assert_eq!(sent, total);
        prop_assert!(!c.pending(SP2, h));
    }
}
