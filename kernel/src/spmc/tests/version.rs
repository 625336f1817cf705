//! FFA_VERSION (direct and as the SPMD's framework message), FFA_FEATURES, FFA_ID_GET,
//! FFA_SPM_ID_GET, unknown function IDs and reserved-field (MBZ) checks.

use super::fake::*;
use crate::spmc::abi_table::{Origins, ABIS};
use alloc::vec::Vec;
use ffa_abi::error::ErrorCode;
use ffa_abi::func_id::FuncId;
use ffa_abi::regs::Regs;
use ffa_abi::version::Version;

const V1_3: Version = Version::new(1, 3);
/// TF-A's SPMD: its endpoint ID, the framework message types (w2[7:0]) and PSCI CPU_OFF
/// (TF-A services/std_svc/spmd/spmd_main.c and spmd_private.h).
const SPMD_ID: EndpointId = EndpointId(0xFFFF);
const MSG_PSCI: u8 = 0x0;
const MSG_VERSION_REQ: u8 = 0x8;
const PSCI_CPU_OFF: u32 = 0x8400_0002;

/// The block FFA_VERSION returns: w0 = the version (or NOT_SUPPORTED), nothing else.
fn version_answer(w0: u32) -> Regs {
    let mut r = Regs::ZERO;
    r.0[0] = w0.into();
    r
}

fn version_call(word: u32) -> Regs {
    call(FuncId::Version, &[word.into()])
}

/// The SPMD's framework message carrying an FFA_VERSION request from the normal world.
fn fwk_version(word: u32) -> Regs {
    let mut r = call(
        FuncId::MsgSendDirectReq32,
        &[
            pair(SPMD_ID, SPMC_ID),
            0x8000_0000 | u64::from(MSG_VERSION_REQ),
        ],
    );
    r.0[3] = word.into();
    r
}

fn fwk_answer(msg: u32, w3: u32) -> Regs {
    let mut r = Regs::ZERO;
    r.0[0] = FuncId::MsgSendDirectResp32.raw().into();
    r.0[1] = pair(SPMC_ID, SPMD_ID);
    r.0[2] = (0x8000_0000 | msg).into();
    // TF-A's SPMD gives x3 to the normal world as x0, which Linux compares with a 64-bit -1:
    // a NOT_SUPPORTED version answer is sign-extended.
    r.0[3] = if msg == 9 && w3 == 0xFFFF_FFFF {
        u64::MAX
    } else {
        w3.into()
    };
    r
}

/// The FFA_FEATURES query the tests make for `f` at `v`: FFA_MEM_RETRIEVE_REQ from v1.1 is the
/// NS-bit handshake (w2 bit 1 set), other queries have w2 = 0.
fn features_query(f: FuncId, v: Version) -> Regs {
    let input: u64 = if is_retrieve(f) && v.minor >= 1 { 2 } else { 0 };
    call(FuncId::Features, &[f.raw().into(), input])
}

/// What FFA_FEATURES answers in w2 for a listed ABI: its table properties, or the NS-bit
/// handshake bit for FFA_MEM_RETRIEVE_REQ from v1.1.
fn features_props(abi: &crate::spmc::abi_table::Abi, v: Version) -> u32 {
    if is_retrieve(abi.func) && v.minor >= 1 {
        2
    } else {
        abi.properties
    }
}

fn is_retrieve(f: FuncId) -> bool {
    matches!(f, FuncId::MemRetrieveReq32 | FuncId::MemRetrieveReq64)
}

#[test]
fn version_compatible_requests_get_ours_and_set_the_lower_version() {
    for (asked, agreed) in [
        (Version::V1_0, Version::V1_0),
        (Version::V1_1, Version::V1_1),
        (Version::V1_2, Version::V1_2),
    ] {
        // Directly (a hypervisor forwarding the raw call) ...
        let mut w = World::echoes(1);
        let r = w.nw(version_call(asked.encode()));
        assert_eq!(r, version_answer(0x1_0002), "asked {asked}");
        assert_eq!(w.spmc.nw_version(), agreed, "asked {asked}");
        // ... and as TF-A's SPMD forwards it (framework message 8, answer type 9).
        let mut w = World::echoes(1);
        let r = w.nw(fwk_version(asked.encode()));
        assert_eq!(r, fwk_answer(9, 0x1_0002), "asked {asked}");
        assert_eq!(w.spmc.nw_version(), agreed, "asked {asked}");
    }
}

#[test]
fn version_incompatible_requests_change_nothing() {
    // Another major, or a newer minor than ours (conformance decision (c): FF-A v1.2 section
    // 13.2.2, Hafnium, Arm's ACS asking for v1.4).
    for word in [
        0x2_0000u32,
        0x0_0009,
        0x7FFF_0002,
        V1_3.encode(),
        0x1_0004,
        0x1_FFFF,
    ] {
        let mut w = World::echoes(1);
        w.nw_version(Version::V1_1);
        let before = w.snapshot();
        assert_eq!(w.nw(version_call(word)), version_answer(0xFFFF_FFFF));
        assert_eq!(w.nw(fwk_version(word)), fwk_answer(9, 0xFFFF_FFFF));
        assert_eq!(w.snapshot(), before, "requested {word:#x}");
    }
}

#[test]
fn version_bit_31_in_the_framework_message_is_not_supported() {
    let mut w = World::echoes(1);
    w.nw_version(Version::V1_1);
    let before = w.snapshot();
    assert_eq!(w.nw(fwk_version(0x8001_0002)), fwk_answer(9, 0xFFFF_FFFF));
    assert_eq!(w.snapshot(), before);
}

#[test]
fn version_bit_31_set_is_not_supported_in_w0() {
    let mut w = World::echoes(1);
    w.nw_version(Version::V1_1);
    let before = w.snapshot();
    assert_eq!(w.nw(version_call(0x8001_0002)), version_answer(0xFFFF_FFFF));
    assert_eq!(w.snapshot(), before);

    // The same from an SP.
    let mut d = sp(0);
    d.behaviour = during_boot(alloc::vec![version_call(0x8001_0001)]);
    let w = World::boot(alloc::vec![d]);
    assert_eq!(w.seen(0)[1], version_answer(0xFFFF_FFFF));
    assert_eq!(w.spmc.sps[0].rt.lock().version, Version::V1_2);
}

#[test]
fn version_from_an_sp_sets_the_version_it_speaks() {
    let mut d = sp(0);
    d.version = Version::V1_1;
    d.behaviour = during_boot(alloc::vec![
        version_call(0x2_0000),
        version_call(0x1_0000),
        version_call(0x1_0007),
        version_call(0x1_0001),
    ]);
    let mut d1 = sp(1);
    d1.version = Version::V1_1;
    d1.behaviour = during_boot(alloc::vec![version_call(0x2_0000)]);
    let w = World::boot(alloc::vec![d, d1]);
    let seen = w.seen(0);
    assert_eq!(seen[1], version_answer(0xFFFF_FFFF));
    assert_eq!(seen[2], version_answer(0x1_0002));
    // A newer minor than ours is not compatible (conformance decision (c)).
    assert_eq!(seen[3], version_answer(0xFFFF_FFFF));
    assert_eq!(seen[4], version_answer(0x1_0002));
    // The last compatible request wins: 1.1 asked, 1.1 agreed.
    assert_eq!(w.spmc.sps[0].rt.lock().version, Version::V1_1);
    // An incompatible request keeps the manifest's version.
    assert_eq!(w.spmc.sps[1].rt.lock().version, Version::V1_1);
    // The normal world's version is not touched by SPs.
    assert_eq!(w.spmc.nw_version(), Version::V1_0);
}

#[test]
fn framework_messages_from_anyone_but_the_spmd_are_refused() {
    let mut w = World::echoes(1);
    let before = w.snapshot();
    // From the normal world's own ID, to the SPMC.
    let mut r = fwk_version(0x1_0001);
    r.0[1] = pair(EndpointId(0x0001), SPMC_ID);
    assert_error(&w.nw(r), ErrorCode::InvalidParameters);
    // From the SPMD, to an SP.
    r.0[1] = pair(SPMD_ID, SP0);
    assert_error(&w.nw(r), ErrorCode::InvalidParameters);
    // Unknown framework message type.
    let mut r = fwk_version(0x1_0001);
    r.0[2] = 0x8000_0005;
    assert_error(&w.nw(r), ErrorCode::InvalidParameters);
    // The 64-bit form carries no framework message the SPMC knows.
    let mut r = fwk_version(0x1_0001);
    r.0[0] = FuncId::MsgSendDirectReq64.raw().into();
    assert_error(&w.nw(r), ErrorCode::InvalidParameters);
    // Reserved bits of w2 beside the framework bit and type.
    let mut r = fwk_version(0x1_0001);
    r.0[2] = 0x8000_0108;
    assert_error(&w.nw(r), ErrorCode::InvalidParameters);
    assert_eq!(w.snapshot(), before);
    assert_eq!(w.seen(0).len(), 1, "the SP was run for a framework message");
}

#[test]
fn framework_psci_messages() {
    let mut w = World::echoes(1);
    let mut r = fwk_version(PSCI_CPU_OFF);
    r.0[2] = 0x8000_0000 | u64::from(MSG_PSCI);
    assert_eq!(w.nw(r), fwk_answer(2, 0));
    r.0[3] = 0x8400_0001; // PSCI_CPU_SUSPEND is not handled.
    assert_eq!(w.nw(r), fwk_answer(2, 0xFFFF_FFFF));
}

/// FFA_FEATURES for every ABI of the table, from the normal world (at v1.2) and from an SP.
#[test]
fn features_answers_from_the_abi_table() {
    let mut w = World::echoes(1);
    w.nw_version(Version::V1_2);
    // FFA_MSG_SEND/POLL exist for v1.0 callers only (abi_table::available_at).
    let at_v1_2 = |abi: &&crate::spmc::abi_table::Abi| {
        crate::spmc::abi_table::available_at(abi.func, crate::policy::Caller::Sp(0), Version::V1_2)
    };
    for abi in ABIS.iter().filter(at_v1_2) {
        let r = w.nw(call(FuncId::Features, &[abi.func.raw().into()]));
        match abi.origins {
            Origins::NormalWorld | Origins::Both => assert_success(&r, abi.properties),
            Origins::Partitions
                if crate::spmc::abi_table::reported_only(
                    abi.func,
                    crate::policy::Caller::NormalWorld,
                ) =>
            {
                assert_success(&r, 0)
            }
            Origins::Partitions => assert_error(&r, ErrorCode::NotSupported),
        }
    }
    let calls = ABIS
        .iter()
        .filter(at_v1_2)
        .map(|a| features_query(a.func, Version::V1_2))
        .collect();
    let mut d = sp(0);
    d.behaviour = during_boot(calls);
    let w = World::boot(alloc::vec![d]);
    let seen = w.seen(0);
    for (i, abi) in ABIS.iter().filter(at_v1_2).enumerate() {
        let r = &seen[1 + i];
        match abi.origins {
            Origins::Partitions | Origins::Both => {
                assert_success(r, features_props(abi, Version::V1_2))
            }
            Origins::NormalWorld => assert_error(r, ErrorCode::NotSupported),
        }
    }
}

#[test]
fn features_of_unimplemented_abis_and_feature_ids_is_not_supported() {
    let mut w = World::echoes(1);
    w.nw_version(Version::V1_2);
    let before = w.snapshot();
    let unimplemented = FuncId::ALL
        .iter()
        .filter(|f| !ABIS.iter().any(|a| a.func == **f))
        .filter(|f| !crate::spmc::abi_table::reported_only(**f, crate::policy::Caller::NormalWorld))
        .map(|f| f.raw());
    // Feature IDs 1 and 3 (NPI, ME interrupts; SRI is notify.rs's), an unknown feature ID, an
    // unknown function.
    for q in unimplemented.chain([1, 3, 0x7F, 0x8400_00FF, 0xC400_0063]) {
        let r = w.nw(call(FuncId::Features, &[q.into()]));
        assert_error(&r, ErrorCode::NotSupported);
    }
    assert_eq!(w.snapshot(), before);
    assert!(unimplemented_is_not_empty());
}

fn unimplemented_is_not_empty() -> bool {
    FuncId::ALL
        .iter()
        .any(|f| !ABIS.iter().any(|a| a.func == *f))
}

/// abi_table's promise: FFA_FEATURES and dispatch never disagree. A v1.0 caller cannot call a
/// v1.1/v1.2 ABI (decoding refuses it with NOT_SUPPORTED), so FFA_FEATURES must not report it.
#[test]
fn features_agrees_with_dispatch_at_v1_0() {
    let mut w = World::echoes(1);
    assert_eq!(w.spmc.nw_version(), Version::V1_0);
    for abi in ABIS {
        if !matches!(abi.origins, Origins::NormalWorld | Origins::Both) {
            continue;
        }
        let r = w.nw(call(FuncId::Features, &[abi.func.raw().into()]));
        if abi.func.is_available_in(Version::V1_0) {
            assert_success(&r, abi.properties);
        } else {
            assert_error(&r, ErrorCode::NotSupported);
        }
    }
}

#[test]
fn id_get_and_spm_id_get() {
    let mut w = World::echoes(1);
    assert_success(&w.nw(call(FuncId::IdGet, &[])), 0);
    // FFA_SPM_ID_GET is v1.1: NOT_SUPPORTED until the normal world negotiates v1.1.
    assert_error(&w.nw(call(FuncId::SpmIdGet, &[])), ErrorCode::NotSupported);
    w.nw_version(Version::V1_1);
    assert_success(&w.nw(call(FuncId::SpmIdGet, &[])), u32::from(SPMC_ID));

    let mut d = sp(0);
    d.behaviour = during_boot(alloc::vec![
        call(FuncId::IdGet, &[]),
        call(FuncId::SpmIdGet, &[])
    ]);
    let mut d1 = sp(1);
    d1.id = EndpointId(0x8123);
    d1.behaviour = during_boot(alloc::vec![call(FuncId::IdGet, &[])]);
    let w = World::boot(alloc::vec![d, d1]);
    assert_success(&w.seen(0)[1], 0x8001);
    assert_success(&w.seen(0)[2], u32::from(SPMC_ID));
    assert_success(&w.seen(1)[1], 0x8123);
}

#[test]
fn unknown_function_ids_are_not_supported() {
    let mut w = World::echoes(1);
    w.nw_version(Version::V1_2);
    let before = w.snapshot();
    for fid in [
        0x8400_00FFu32, // past the FF-A range
        0x8400_005F,    // just below it
        0xC400_0063,    // FFA_VERSION has no SMC64 form
        0x8400_0000,    // PSCI_VERSION
        0x0000_0000,
    ] {
        let mut r = Regs::ZERO;
        r.0[0] = fid.into();
        assert_error(&w.nw(r), ErrorCode::NotSupported);
    }
    // Known ABIs this SPMC does not implement, or not for the normal world.
    for f in [
        FuncId::MsgPoll,
        FuncId::MsgWait32,
        FuncId::MsgSendDirectResp32,
        FuncId::MemPermGet64,
        FuncId::Yield32,
    ] {
        assert_error(&w.nw(call(f, &[])), ErrorCode::NotSupported);
    }
    let log = call(FuncId::ConsoleLog32, &[1, u64::from(b'A')]);
    assert_error(&w.nw(log), ErrorCode::NotSupported);
    assert_eq!(w.snapshot(), before);
    assert_eq!(w.seen(0).len(), 1);

    // From an SP.
    let mut d = sp(0);
    let mut bad = Regs::ZERO;
    bad.0[0] = 0x8400_00FF;
    d.behaviour = during_boot(alloc::vec![bad, call(FuncId::Run32, &[])]);
    let w = World::boot(alloc::vec![d]);
    assert_error(&w.seen(0)[1], ErrorCode::NotSupported);
    assert_error(&w.seen(0)[2], ErrorCode::NotSupported);
}

/// Conformance decision (a): registers an ABI does not use are reserved SBZ and ignored (the
/// answer is the same as with zeros); reserved bits inside the registers it uses are MBZ and
/// refused with INVALID_PARAMETERS.
#[test]
fn reserved_registers_are_ignored_reserved_bits_are_refused() {
    let mut w = World::echoes(1);
    w.nw_version(Version::V1_2);
    let before = w.snapshot();
    // x1..x7 of FFA_ID_GET are reserved, whatever they hold.
    for reg in 1..8 {
        let mut r = call(FuncId::IdGet, &[]);
        r.0[reg] = 1;
        assert_success(&w.nw(r), 0);
        r.0[reg] = u64::MAX;
        assert_success(&w.nw(r), 0);
    }
    // FFA_RX_RELEASE w1[31:16], FFA_RXTX_MAP w3[31:6], FFA_RXTX_UNMAP w1[15:0].
    let r = call(FuncId::RxRelease, &[0x1_0000]);
    assert_error(&w.nw(r), ErrorCode::InvalidParameters);
    let r = call(FuncId::RxTxMap64, &[NS.base, NS.base + 0x1000, 0x41]);
    assert_error(&w.nw(r), ErrorCode::InvalidParameters);
    let r = call(FuncId::RxTxUnmap, &[0x1]);
    assert_error(&w.nw(r), ErrorCode::InvalidParameters);
    // A direct request's w2 holds only the framework bit and type.
    let mut r = req32(EndpointId(0x1), SP0, [1, 2, 3, 4, 5]);
    r.0[2] = 0x100;
    assert_error(&w.nw(r), ErrorCode::InvalidParameters);
    assert_eq!(w.snapshot(), before);
    assert_eq!(w.seen(0).len(), 1, "a refused request reached the SP");
}

/// An ABI the SPMC does not implement is NOT_SUPPORTED whatever its arguments: a caller probing
/// with a malformed call must not learn "implemented" from INVALID_PARAMETERS.
#[test]
fn unimplemented_abis_are_not_supported_whatever_their_arguments() {
    let mut w = World::echoes(1);
    w.nw_version(Version::V1_2);
    let r = call(FuncId::MemOpResume, &[0, 1]);
    assert_error(&w.nw(r), ErrorCode::NotSupported);
    let r = call(FuncId::MemOpPause, &[0, 0, 2]);
    assert_error(&w.nw(r), ErrorCode::NotSupported);
    let r = call(FuncId::MsgWait32, &[0, 2]);
    assert_error(&w.nw(r), ErrorCode::NotSupported);
}

/// Arguments that get a call to `f` past decoding (the handler may still refuse it).
fn decodable(f: FuncId) -> Regs {
    use FuncId as F;
    match f {
        F::MemShare32
        | F::MemShare64
        | F::MemLend32
        | F::MemLend64
        | F::MemDonate32
        | F::MemDonate64
        | F::MemRetrieveReq32
        | F::MemRetrieveReq64 => call(f, &[0x30, 0x30]),
        F::MemFragTx => call(f, &[0, 0, 0x10]),
        F::Features => call(f, &[F::Version.raw().into()]),
        F::ConsoleLog32 | F::ConsoleLog64 => call(f, &[1, u64::from(b'.')]),
        _ => call(f, &[]),
    }
}

fn not_supported(r: &Regs) -> bool {
    r.as_error() == Some(Ok(ErrorCode::NotSupported))
}

/// abi_table's promise from the other side: an ABI FFA_FEATURES reports to the normal world
/// reaches a handler (it may refuse the arguments, never with NOT_SUPPORTED).
#[test]
fn every_abi_the_table_lists_for_the_normal_world_is_dispatched() {
    let mut w = World::echoes(1);
    w.nw_version(Version::V1_2);
    let mut missing = Vec::new();
    for abi in ABIS {
        if abi.func == FuncId::Version
            || abi.origins == Origins::Partitions
            || !crate::spmc::abi_table::available_at(
                abi.func,
                crate::policy::Caller::NormalWorld,
                Version::V1_2,
            )
        {
            continue;
        }
        if not_supported(&w.nw(decodable(abi.func))) {
            missing.push(abi.func);
        }
    }
    assert!(missing.is_empty(), "listed but NOT_SUPPORTED: {missing:?}");
}

#[test]
fn every_abi_the_table_lists_for_partitions_is_dispatched() {
    let funcs: Vec<FuncId> = ABIS
        .iter()
        .filter(|a| a.origins != Origins::NormalWorld)
        // FFA_VERSION answers in w0; FFA_MSG_WAIT would end the initialisation.
        .filter(|a| !matches!(a.func, FuncId::Version | FuncId::MsgWait32))
        .filter(|a| {
            crate::spmc::abi_table::available_at(
                a.func,
                crate::policy::Caller::Sp(0),
                Version::V1_2,
            )
        })
        .map(|a| a.func)
        .collect();
    let mut d = sp(0);
    d.behaviour = during_boot(funcs.iter().map(|&f| decodable(f)).collect());
    let w = World::boot(alloc::vec![d]);
    let seen = w.seen(0);
    let missing: Vec<FuncId> = funcs
        .iter()
        .zip(&seen[1..])
        .filter(|(_, r)| not_supported(r))
        .map(|(f, _)| *f)
        .collect();
    assert!(missing.is_empty(), "listed but NOT_SUPPORTED: {missing:?}");
    assert_eq!(seen.len(), funcs.len() + 1);
}

/// abi_table's promise for partitions at each version they may speak: FFA_FEATURES(f) is
/// SUCCESS exactly when calling f is not NOT_SUPPORTED.
#[test]
fn features_agrees_with_dispatch_for_partitions_at_every_version() {
    let funcs: Vec<FuncId> = ABIS
        .iter()
        .filter(|a| a.origins != Origins::NormalWorld)
        .filter(|a| !matches!(a.func, FuncId::Version | FuncId::MsgWait32))
        .map(|a| a.func)
        .collect();
    for v in [Version::V1_0, Version::V1_1, Version::V1_2] {
        let mut calls = Vec::new();
        let version = v;
        for &f in &funcs {
            calls.push(features_query(f, version));
            calls.push(decodable(f));
        }
        let mut d = sp(0);
        d.version = v;
        d.behaviour = during_boot(calls);
        let w = World::boot(alloc::vec![d]);
        let seen = w.seen(0);
        let mut disagree = Vec::new();
        for (k, &f) in funcs.iter().enumerate() {
            let reported = seen[1 + 2 * k].w(0) == FuncId::Success32.raw();
            let dispatched = !not_supported(&seen[2 + 2 * k]);
            if reported != dispatched {
                disagree.push((f, reported, dispatched));
            }
        }
        assert!(
            disagree.is_empty(),
            "v{v:?}: (ABI, FEATURES, dispatched): {disagree:?}"
        );
    }
}

/// Conformance decision (d): FFA_FEATURES(FFA_MSG_WAIT) from the normal world is reported (as
/// Hafnium does and Arm's ACS requires), while the normal world still cannot call it here.
#[test]
fn features_reports_msg_wait_to_the_normal_world() {
    let mut w = World::echoes(1);
    w.nw_version(Version::V1_2);
    let r = w.nw(call(FuncId::Features, &[FuncId::MsgWait32.raw().into()]));
    assert_success(&r, 0);
    let before = w.snapshot();
    assert_error(&w.nw(call(FuncId::MsgWait32, &[])), ErrorCode::NotSupported);
    assert_eq!(w.snapshot(), before);
    // A partition gets it from the ABI table, as before.
    let mut d = sp(0);
    d.behaviour = during_boot(alloc::vec![features_query(
        FuncId::MsgWait32,
        Version::V1_2
    )]);
    let w = World::boot(alloc::vec![d]);
    assert_success(&w.seen(0)[1], 0);
}

/// A refused call changes nothing: `sp_call` (partition.rs) sets `version_frozen` before the
/// call is even decoded, so a malformed FFA_RXTX_MAP (refused with INVALID_PARAMETERS) or an
/// unimplemented ABI (NOT_SUPPORTED) still fixes the partition's version, and its later
/// FFA_VERSION(1.1) is refused.
#[test]
fn refused_call_does_not_freeze_the_version() {
    let mut d = sp(0);
    d.behaviour = during_boot(vec![
        call(FuncId::RxTxMap64, &[0x123, 0x456, 0]),
        call(FuncId::Version, &[Version::V1_1.encode().into()]),
    ]);
    let w = World::boot(vec![d]);
    let seen = w.seen(0);
    assert!(seen[1].as_error().is_some(), "{:x?}", seen[1]);
    assert_eq!(
        seen[2].w(0),
        Version::V1_2.encode(),
        "FFA_VERSION after a refused call: {:x?}",
        seen[2]
    );
    assert_eq!(w.spmc.sps[0].rt.lock().version, Version::V1_1);
}

/// ACS test/v1.2/setup_discovery/ffa_version_negotiation (client SP1): after the endpoint has
/// negotiated v1.2 and made other FF-A calls, FFA_VERSION(v1.1) must return NOT_SUPPORTED
/// (w0 = 0xFFFF_FFFF) and FFA_VERSION(v1.2) must still succeed. Hafnium `api_ffa_version`:
/// once `ffa_version_negotiated` (set by any call other than VERSION), a different version is
/// NOT_SUPPORTED.
#[test]
fn sp_version_is_frozen_after_other_calls() {
    let mut d = sp(0);
    d.behaviour = during_boot(alloc::vec![
        version_call(0x1_0002),
        call(FuncId::IdGet, &[]),
        version_call(0x1_0001),
        version_call(0x1_0002),
    ]);
    let w = World::boot(alloc::vec![d]);
    let seen = w.seen(0);
    assert_eq!(seen[1].x(0), 0x1_0002);
    assert_success(&seen[2], 0x8001);
    assert_eq!(
        seen[3].x(0),
        0xFFFF_FFFF,
        "v1.1 after other calls: {:x?}",
        seen[3]
    );
    assert_eq!(seen[4].x(0), 0x1_0002);
    assert_eq!(w.spmc.sps[0].rt.lock().version, Version::V1_2);
}
