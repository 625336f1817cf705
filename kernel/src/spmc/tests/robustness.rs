//! Arbitrary registers from both sides: the normal world and the partitions make random calls
//! (any function ID, arguments biased towards IDs and addresses that mean something here).
//! The SPMC must never panic, every answer must be a well-formed FF-A return, and afterwards
//! no partition may be left running or holding a request.

use super::fake::*;
use crate::spmc::partition::State;
use alloc::boxed::Box;
use alloc::vec::Vec;
use ffa_abi::error::ErrorCode;
use ffa_abi::func_id::FuncId;
use ffa_abi::regs::Regs;
use proptest::prelude::*;

/// A register value: often one the SPMC gives meaning to, sometimes anything.
fn reg() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        0u64..8,
        // Endpoint IDs and packed pairs.
        prop::sample::select(vec![0x8000u64, 0x8001, 0x8002, 0x8003, 0xFFFF, 0x1]),
        (0u64..4, 0u64..4)
            .prop_map(|(s, d)| pair(EndpointId(0x8000 + s as u16), EndpointId(0x8000 + d as u16))),
        (0u64..4).prop_map(|d| pair(EndpointId(0x0001), EndpointId(0x8000 + d as u16))),
        // Addresses: the NS window, the SPs' slots, around page boundaries.
        (0u64..0x100).prop_map(|p| NS.base + p * 0x1000),
        (0u64..3, 0u64..0x100).prop_map(|(i, p)| base(i as usize) + p * 0x1000),
        Just(u64::MAX),
        Just(0xFFFF_FFFF_FFFF_F000),
        any::<u64>(),
    ]
}

/// A call: x0 one of the FF-A function IDs (or anything), x1..x17 from [`reg`].
fn regs() -> impl Strategy<Value = Regs> {
    let fid = prop_oneof![
        4 => prop::sample::select(FuncId::ALL.to_vec()).prop_map(|f| u64::from(f.raw())),
        1 => any::<u64>(),
    ];
    (fid, prop::collection::vec(reg(), 17)).prop_map(|(x0, rest)| {
        let mut r = Regs::ZERO;
        r.0[0] = x0;
        r.0[1..].copy_from_slice(&rest);
        r
    })
}

/// Checks that `r` is something an FF-A caller can be answered with; a partition may also be
/// resumed with a direct request (`to_sp`).
fn well_formed(r: &Regs, to_sp: bool) -> Result<(), TestCaseError> {
    let w0 = r.w(0);
    if let Some(code) = r.as_error() {
        prop_assert!(code.is_ok(), "FFA_ERROR with an unknown code: {r:x?}");
        prop_assert_eq!(r.x(1), 0);
        prop_assert!(r.0[3..].iter().all(|&x| x == 0), "{r:x?}");
        return Ok(());
    }
    let requests = [
        FuncId::MsgSendDirectReq32,
        FuncId::MsgSendDirectReq64,
        FuncId::MsgSendDirectReq2,
    ];
    if to_sp && requests.iter().any(|f| f.raw() == w0) {
        return Ok(());
    }
    let known = [
        FuncId::Success32,
        FuncId::Success64,
        FuncId::MsgSendDirectResp32,
        FuncId::MsgSendDirectResp64,
        FuncId::MsgSendDirectResp2,
        FuncId::MemRetrieveResp,
        FuncId::MemFragRx,
        FuncId::MemFragTx,
    ];
    // FFA_VERSION answers with a version (bit 31 clear) or NOT_SUPPORTED in w0.
    let version = w0 & 0x8000_0000 == 0 || w0 == ErrorCode::NotSupported.to_u32();
    prop_assert!(
        known.iter().any(|f| f.raw() == w0) || version,
        "unexpected answer {r:x?}"
    );
    Ok(())
}

/// A partition that makes `calls` (once, from its first entry on), then finishes
/// initialisation or answers the request it was last given.
fn random_sp(calls: Vec<Regs>) -> Behaviour {
    let mut calls = calls.into_iter();
    let mut pending: Option<Regs> = None;
    Box::new(move |r, _| {
        if echo_of(r).is_some() {
            pending = Some(*r);
        }
        if let Some(c) = calls.next() {
            return Act::Svc(c);
        }
        match pending.take() {
            Some(q) => Act::Svc(echo_of(&q).unwrap()),
            None => Act::Svc(msg_wait()),
        }
    })
}

fn world(sp_calls: [Vec<Regs>; 3]) -> World {
    let defs = sp_calls
        .into_iter()
        .enumerate()
        .map(|(i, calls)| {
            let mut d = sp(i);
            d.direct_to = (0..3).filter(|&k| k != i).map(sp_id).collect();
            d.behaviour = random_sp(calls);
            d
        })
        .collect();
    World::boot(defs)
}

fn settled(w: &World) -> Result<(), TestCaseError> {
    for i in 0..3 {
        let rt = w.spmc.sps[i].rt.try_lock();
        prop_assert!(rt.is_some(), "SP {} left locked", i);
        let rt = rt.unwrap();
        prop_assert!(
            matches!(rt.state(), State::Waiting | State::Aborted),
            "SP {} left {:?}",
            i,
            rt.state()
        );
        prop_assert_eq!(rt.request(), None);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_calls_from_both_worlds(
        sp_calls in [
            prop::collection::vec(regs(), 0..6),
            prop::collection::vec(regs(), 0..6),
            prop::collection::vec(regs(), 0..6),
        ],
        nw_calls in prop::collection::vec(regs(), 1..12),
    ) {
        let mut w = world(sp_calls);
        // Everything the SPs got back during boot is well formed.
        for i in 0..3 {
            for r in w.seen(i).iter().skip(1) {
                well_formed(r, true)?;
            }
        }
        settled(&w)?;
        for q in nw_calls {
            let r = w.nw(q);
            well_formed(&r, false)?;
            settled(&w)?;
        }
        // The SPMC still answers.
        let q = req32(EndpointId(1), SPMC_ID, [1, 2, 3, 4, 5]);
        prop_assert_eq!(w.nw(q), echo_of(&q).unwrap());
    }
}

/// Partitions that make random calls while handling requests (not only at boot).
#[test]
fn arbitrary_calls_while_handling_requests() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 48,
        ..ProptestConfig::default()
    });
    let strategy = (
        prop::collection::vec(regs(), 1..8),
        prop::collection::vec(0u16..3, 1..6),
    );
    runner
        .run(&strategy, |(calls, targets)| {
            let mut d = sp(0);
            d.direct_to = alloc::vec![SP1, SP2];
            let mut calls = Some(calls);
            let mut inner: Option<Behaviour> = None;
            let mut booted = false;
            // Boots plainly; makes the random calls while handling its first request.
            d.behaviour = Box::new(move |r, m| {
                if !booted {
                    booted = true;
                    return Act::Svc(msg_wait());
                }
                let b = inner.get_or_insert_with(|| random_sp(calls.take().unwrap_or_default()));
                b(r, m)
            });
            let defs = alloc::vec![d, sp(1), sp(2)];
            let mut w = World::boot(defs);
            for t in targets {
                let mut r = w.nw(req32(
                    EndpointId(1),
                    EndpointId(0x8001 + t),
                    [t.into(), 0, 0, 0, 0],
                ));
                // A partition that yields is resumed as Linux's driver does: FFA_RUN(w1)
                // until the answer is something else (its random calls are finite).
                for _ in 0..16 {
                    if r.w(0) != FuncId::Yield32.raw() {
                        break;
                    }
                    prop_assert_eq!(r.w(1), 0x8001_0000, "FFA_YIELD names the yielder");
                    r = w.nw(call(FuncId::Run32, &[r.x(1)]));
                }
                well_formed(&r, false)?;
                settled(&w)?;
            }
            Ok(())
        })
        .unwrap();
}

/// An SVC with an immediate other than 0 is not an FF-A call (FF-A's S-EL0 conduit is SVC #0):
/// the partition is aborted like any other faulting one, its registers are not read as a call,
/// and the others keep running.
#[test]
fn an_svc_with_a_nonzero_immediate_aborts_the_partition() {
    capture_console();
    // While handling a request: a well-formed response, but made with SVC #1.
    let mut d = sp(0);
    d.name = "svc_imm_sp";
    d.behaviour = script(alloc::vec![
        svc(msg_wait()),
        Box::new(|r, _| Act::SvcImm {
            imm: 1,
            regs: echo_of(r).unwrap(),
        }),
    ]);
    // During initialisation: FFA_MSG_WAIT made with SVC #0xFFFF.
    let mut e = sp(1);
    e.behaviour = script(alloc::vec![Box::new(|_, _| Act::SvcImm {
        imm: 0xFFFF,
        regs: msg_wait(),
    })]);
    let mut w = World::boot(alloc::vec![d, e, sp(2)]);
    assert_eq!(w.state(1), State::Aborted);
    let q = req32(EndpointId(1), SP0, [1; 5]);
    assert_error(&w.nw(q), ErrorCode::Aborted);
    assert_eq!(w.state(0), State::Aborted);
    let lines = console_lines("SP svc_imm_sp (0x8001) aborted");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("SVC with an immediate"), "{}", lines[0]);
    let q = req32(EndpointId(1), SP2, [1; 5]);
    assert_eq!(w.nw(q), echo_of(&q).unwrap());
}
