//! The capability gate (`policy`): every combination of receiver methods, sender methods,
//! grants and request forms, and the memory-sharing grants.

use super::fake::*;
use crate::policy::{may_send_direct, may_send_direct_to_spmc, may_share_memory, DirectForm};
use alloc::boxed::Box;
use ffa_abi::error::ErrorCode;
use spmc_table::{Capabilities, EndpointId, MessagingMethod as M, Partition};

/// A partition like those of the test tables, with `methods` and `caps`.
fn partition(id: EndpointId, methods: u32, caps: Capabilities) -> &'static Partition {
    let w = World::new(alloc::vec![sp(0)]);
    let mut p = w.spmc.table.partitions[0];
    p.id = id;
    p.messaging_method = M(methods);
    p.capabilities = caps;
    Box::leak(Box::new(p))
}

fn grants(direct: &[EndpointId], share: &[EndpointId], share_nw: bool) -> Capabilities {
    let leak = |v: &[EndpointId]| -> &'static [EndpointId] {
        let mut ids = v.to_vec();
        ids.sort();
        Box::leak(ids.into_boxed_slice())
    };
    Capabilities {
        direct_request_to: leak(direct),
        memory_share_with: leak(share),
        memory_share_with_normal_world: share_nw,
        ..Capabilities::NONE
    }
}

const RECV: [u32; 4] = [
    0,
    M::DIRECT_REQ_RECV,
    M::DIRECT_REQ2_RECV,
    M::DIRECT_REQ_RECV | M::DIRECT_REQ2_RECV,
];
const SEND: [u32; 4] = [
    0,
    M::DIRECT_REQ_SEND,
    M::DIRECT_REQ2_SEND,
    M::DIRECT_REQ_SEND | M::DIRECT_REQ2_SEND,
];

#[test]
fn direct_requests_every_combination() {
    let mut allowed = 0;
    let mut total = 0;
    for recv in RECV {
        // Unrelated bits (indirect messaging, the other side's bits) never matter.
        let receiver = partition(
            SP1,
            recv | M::INDIRECT | M::DIRECT_REQ_SEND,
            Capabilities::NONE,
        );
        for form in [DirectForm::Req, DirectForm::Req2] {
            let (recv_bit, send_bit) = match form {
                DirectForm::Req => (M::DIRECT_REQ_RECV, M::DIRECT_REQ_SEND),
                DirectForm::Req2 => (M::DIRECT_REQ2_RECV, M::DIRECT_REQ2_SEND),
            };
            let receives = recv & recv_bit != 0;
            // The normal world may message any SP that receives the form.
            let want = if receives {
                Ok(())
            } else {
                Err(ErrorCode::Denied)
            };
            assert_eq!(
                may_send_direct(None, receiver, form),
                want,
                "NW {recv:#x} {form:?}"
            );
            total += 1;
            allowed += usize::from(receives);
            for send in SEND {
                for granted in [false, true] {
                    let direct: &[EndpointId] = if granted {
                        &[SP1, EndpointId(0x8005)]
                    } else {
                        &[SP2]
                    };
                    let sender =
                        partition(SP0, send | M::DIRECT_REQ_RECV, grants(direct, &[], false));
                    let ok = receives && send & send_bit != 0 && granted;
                    let want = if ok { Ok(()) } else { Err(ErrorCode::Denied) };
                    assert_eq!(
                        may_send_direct(Some(sender), receiver, form),
                        want,
                        "recv {recv:#x} send {send:#x} granted {granted} {form:?}"
                    );
                    total += 1;
                    allowed += usize::from(ok);
                }
            }
        }
    }
    assert_eq!(total, 4 * 2 * (1 + 4 * 2));
    // NW: 4 of 8 (receiver has the bit); SP: for each of those, 2 of 8 sender variants.
    assert_eq!(allowed, 4 + 4 * 2);
}

#[test]
fn a_grant_names_one_receiver_only() {
    let all = M::DIRECT_REQ_RECV | M::DIRECT_REQ_SEND;
    let a = partition(SP0, all, grants(&[SP1], &[], false));
    let b = partition(SP1, all, grants(&[], &[], false));
    let c = partition(SP2, all, grants(&[], &[], false));
    assert_eq!(may_send_direct(Some(a), b, DirectForm::Req), Ok(()));
    assert_eq!(
        may_send_direct(Some(a), c, DirectForm::Req),
        Err(ErrorCode::Denied)
    );
    // Grants are not symmetric.
    assert_eq!(
        may_send_direct(Some(b), a, DirectForm::Req),
        Err(ErrorCode::Denied)
    );
}

#[test]
fn memory_sharing_grants() {
    let p = partition(SP0, 0, grants(&[SP1], &[SP2, EndpointId(0x8007)], false));
    assert_eq!(may_share_memory(Some(p), EndpointId(0x8003)), Ok(()));
    assert_eq!(may_share_memory(Some(p), EndpointId(0x8007)), Ok(()));
    // A direct-message grant is not a memory grant.
    assert_eq!(
        may_share_memory(Some(p), EndpointId(0x8002)),
        Err(ErrorCode::Denied)
    );
    assert_eq!(
        may_share_memory(Some(p), EndpointId(0x8001)),
        Err(ErrorCode::Denied)
    );
    // Normal-world endpoints need the normal-world grant.
    for nw in [0x0000, 0x0001, 0x7FFF] {
        assert_eq!(
            may_share_memory(Some(p), EndpointId(nw)),
            Err(ErrorCode::Denied)
        );
    }
    let q = partition(SP1, 0, grants(&[], &[], true));
    for nw in [0x0000, 0x0001, 0x7FFF] {
        assert_eq!(may_share_memory(Some(q), EndpointId(nw)), Ok(()));
    }
    assert_eq!(
        may_share_memory(Some(q), EndpointId(0x8003)),
        Err(ErrorCode::Denied)
    );
    // The normal world's own memory: the gate leaves it to the memory engine.
    assert_eq!(may_share_memory(None, EndpointId(0x8001)), Ok(()));
}

/// The SPMC's own endpoint needs no grant, only the sender's send bit for the form.
#[test]
fn direct_requests_to_the_spmc() {
    for send in SEND {
        for form in [DirectForm::Req, DirectForm::Req2] {
            let bit = match form {
                DirectForm::Req => M::DIRECT_REQ_SEND,
                DirectForm::Req2 => M::DIRECT_REQ2_SEND,
            };
            let sender = partition(SP0, send | M::DIRECT_REQ_RECV, Capabilities::NONE);
            let want = if send & bit != 0 {
                Ok(())
            } else {
                Err(ErrorCode::Denied)
            };
            assert_eq!(
                may_send_direct_to_spmc(sender, form),
                want,
                "{send:#x} {form:?}"
            );
        }
    }
}
