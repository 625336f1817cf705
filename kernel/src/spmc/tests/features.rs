//! FFA_FEATURES as real peers check it: Arm's FF-A ACS (ARM-software/ff-a-acs, test/v1.x/...)
//! and Hafnium's SPMC (src/api.c). Each test states the expectation of the peer it names.

use super::fake::*;
use ffa_abi::error::ErrorCode;
use ffa_abi::func_id::FuncId;
use ffa_abi::regs::Regs;
use ffa_abi::version::Version;

fn features(fid: u32, input: u32) -> Regs {
    call(FuncId::Features, &[fid.into(), input.into()])
}

/// ACS test/v1.0/setup_discovery/ffa_features/ffa_features_client.c: FFA_ERROR_32,
/// FFA_INTERRUPT_32 and at least one of FFA_SUCCESS_32/64 "must be supported" (FFA_FEATURES
/// answers SUCCESS with w2-w7 zero), for VM1 and for every SP. Hafnium's
/// `ffa_features_function` answers SUCCESS(0) for all four.
#[test]
fn features_reports_the_mandatory_interfaces() {
    let mandatory = [0x8400_0060u32, 0x8400_0061, 0xC400_0061, 0x8400_0062];
    let mut w = World::echoes(1);
    w.nw_version(Version::V1_2);
    for f in mandatory {
        assert_success(&w.nw(features(f, 0)), 0);
    }
    let mut d = sp(0);
    d.behaviour = during_boot(mandatory.iter().map(|&f| features(f, 0)).collect());
    let w = World::boot(alloc::vec![d]);
    let seen = w.seen(0);
    for (i, _) in mandatory.iter().enumerate() {
        assert_success(&seen[1 + i], 0);
    }
}

/// ACS test/v1.1/setup_discovery/ffa_features/ffa_features_nsbit_client.c (client SP1): a
/// v1.1+ SP that queries FFA_MEM_RETRIEVE_REQ without bit 1 (NS bit) in the input properties
/// must get FFA_ERROR; with bit 1 set, the answer must have bit 1 set ("A v1.1 SPMC always sets
/// Bit[1]"). Hafnium: NOT_SUPPORTED without the bit, else w2 = NS (bit 1) | hypervisor (bit 2).
/// ffa_features_client.c also requires w2[31:3] and w3[31:8] to be zero.
#[test]
fn features_mem_retrieve_req_ns_bit_handshake() {
    let mut d = sp(0);
    d.behaviour = during_boot(alloc::vec![
        features(FuncId::MemRetrieveReq32.raw(), 0),
        features(FuncId::MemRetrieveReq64.raw(), 0),
        features(FuncId::MemRetrieveReq32.raw(), 0b10),
        features(FuncId::MemRetrieveReq64.raw(), 0b10),
    ]);
    let w = World::boot(alloc::vec![d]);
    let seen = w.seen(0);
    assert_error(&seen[1], ErrorCode::NotSupported);
    assert_error(&seen[2], ErrorCode::NotSupported);
    for r in &seen[3..5] {
        assert_eq!(r.w(0), FuncId::Success32.raw(), "{r:x?}");
        assert_ne!(r.w(2) & 0b10, 0, "NS bit not reported: {r:x?}");
        assert_eq!(r.w(2) >> 3, 0, "w2[31:3] MBZ: {r:x?}");
        assert_eq!(r.w(3) >> 8, 0, "w3[31:8] MBZ: {r:x?}");
    }
}

/// ACS ffa_features_client.c: when FFA_MEM_RETRIEVE_REQ is supported, FFA_MEM_RETRIEVE_RESP
/// must be too ("RETRIEVE_REQ and RETRIEVE_RESP both must be supported"), else the test fails
/// for every SP client. Hafnium lists FFA_MEM_RETRIEVE_RESP_32 as supported.
#[test]
fn features_mem_retrieve_resp_goes_with_retrieve_req() {
    let mut d = sp(0);
    d.behaviour = during_boot(alloc::vec![
        features(FuncId::MemRetrieveReq64.raw(), 0b10),
        features(FuncId::MemRetrieveResp.raw(), 0),
    ]);
    let w = World::boot(alloc::vec![d]);
    let seen = w.seen(0);
    assert_eq!(seen[1].w(0), FuncId::Success32.raw(), "{:x?}", seen[1]);
    assert_success(&seen[2], 0);
}

/// The interrupt interfaces: FFA_INTERRUPT is reported to both callers (above, mandatory);
/// FFA_NORMAL_WORLD_RESUME and FFA_EL3_INTR_HANDLE are the SPMC's own calls to the SPMD (TF-A
/// spmd_main.c accepts them from the secure world only), so neither the normal world nor a
/// partition may invoke them here: NOT_SUPPORTED, as a call and in FFA_FEATURES. Hafnium's
/// `ffa_features_function` does not list them for its partitions either.
#[test]
fn features_of_the_spmd_only_interrupt_interfaces_are_not_supported() {
    let spmd_only = [FuncId::NormalWorldResume.raw(), FuncId::El3IntrHandle.raw()];
    let mut w = World::echoes(1);
    w.nw_version(Version::V1_2);
    for f in spmd_only {
        assert_error(&w.nw(features(f, 0)), ErrorCode::NotSupported);
        assert_error(
            &w.nw(call(FuncId::try_from(f).unwrap(), &[])),
            ErrorCode::NotSupported,
        );
    }
    let mut d = sp(0);
    d.behaviour = during_boot(
        spmd_only
            .iter()
            .flat_map(|&f| [features(f, 0), call(FuncId::try_from(f).unwrap(), &[])])
            .collect(),
    );
    let w = World::boot(alloc::vec![d]);
    let seen = w.seen(0);
    for r in &seen[1..5] {
        assert_error(r, ErrorCode::NotSupported);
    }
}

/// FFA_ABORT (FF-A v1.3, 0x8400_0090 / 0xC400_0090: a partition reports a fatal error and is
/// aborted). Hafnium offers it only to partitions at v1.3 (src/api.c `api_ffa_abort` and
/// `ffa_features_function`: NOT_SUPPORTED below v1.3, and to VMs), and partitions here
/// negotiate at most v1.2: NOT_SUPPORTED as a call and in FFA_FEATURES, from a partition (which
/// is not aborted by it and goes on) and from the normal world (TF-A's SPMD refuses it from
/// the normal world too, spmd_main.c).
#[test]
fn ffa_abort_is_not_offered_below_v1_3() {
    const ABORT32: u32 = 0x8400_0090;
    const ABORT64: u32 = 0xC400_0090;
    let raw = |w0: u32| {
        let mut r = Regs::ZERO;
        r.0[0] = w0.into();
        r.0[2] = 0x5; // the implementation-defined error code
        r
    };
    let mut w = World::echoes(1);
    w.nw_version(Version::V1_2);
    for f in [ABORT32, ABORT64] {
        assert_error(&w.nw(features(f, 0)), ErrorCode::NotSupported);
        assert_error(&w.nw(raw(f)), ErrorCode::NotSupported);
    }
    let mut d = sp(0);
    d.behaviour = during_boot(alloc::vec![
        features(ABORT32, 0),
        features(ABORT64, 0),
        raw(ABORT32),
        raw(ABORT64),
    ]);
    let mut w = World::boot(alloc::vec![d]);
    let seen = w.seen(0);
    for r in &seen[1..5] {
        assert_error(r, ErrorCode::NotSupported);
    }
    assert_eq!(w.state(0), crate::spmc::partition::State::Waiting);
    let answer = w.nw(req32(EndpointId(0), SP0, [7, 0, 0, 0, 0]));
    assert_eq!(answer.w(3), 7, "the partition still answers: {answer:x?}");
}

/// A feature ID (w1 bit 31 clear) takes no input properties: Hafnium's `ffa_features_feature`
/// answers NOT_SUPPORTED when w2 is not zero ("input_property must be 0"); the ACS checks only
/// the zero case. FFA_FEATURES(SRI) answers the SGI ID with w2 = 0 only.
#[test]
fn a_feature_id_with_input_properties_is_not_supported() {
    let mut w = World::echoes(1);
    w.nw_version(Version::V1_1);
    let sri = 2;
    assert_success(&w.nw(features(sri, 0)), crate::spmc::notify::SRI_INTID);
    for input in [1, 1 << 1, 1 << 31] {
        assert_error(&w.nw(features(sri, input)), ErrorCode::NotSupported);
    }
}
