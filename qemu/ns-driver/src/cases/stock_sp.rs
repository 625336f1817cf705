//! What stock secure partitions (Trusted Services' C SPs, built with GCC for a hard-float
//! target) take for granted at S-EL0, reproduced by the test SPs (issue 13):
//! - FP/SIMD registers: GCC's variadic prologues spill q0-q7, so an SP's first printf uses
//!   them. Each endpoint's registers must survive the others' use of theirs: the normal
//!   world's across SMCs that run FP-using SPs, an SP's across a direct request to another
//!   FP-using SP (`cmd::FP_CHECK`);
//! - the EL0 registers Linux also grants its user space: CTR_EL0 (cache maintenance), DCZID_EL0
//!   and DC ZVA (memset), CNTFRQ_EL0 / CNTVCT_EL0 (timing) (`cmd::EL0_REGS`);
//! - `base-address` on every region of the manifest copy in the boot information, as OP-TEE's
//!   SPMC writes it and TS's `sp_config_loader` requires (`cmd::MANIFEST_BASE`);
//! - FF-A v1.0 boot information for an SP whose manifest says FF-A v1.0 ("FF-A" name/value
//!   pairs with TYPE_DT, as OP-TEE's SPMC writes them and TS's v1.0 libsp reads them): the
//!   fixture is pkg-sp built for partitions/pkg-sp/pkg-sp-v1.0.dts, alone in its SP set, in a
//!   boot of its own that xtask runs (`boot_info_v1_0_manifest_read_back`, on request).
#![forbid(unsafe_code)]

use ffa_abi::{EndpointId, FuncId};
use test_protocol::{cmd, id, status, uuid};

use crate::arch;
use crate::ffa::{call, Shown};
use crate::harness::{check, check_eq, Case, Failure, Outcome};

/// Every case in this file.
pub const CASES: &[Case] = &[
    Case::default_set("el0_system_registers_granted", el0_regs),
    Case::default_set("fp_simd_state_kept_apart", fp_apart),
    Case::default_set("manifest_copy_has_every_region_address", manifest_bases),
    Case::any_set("boot_info_v1_0_manifest_read_back", boot_info_v1_0).on_request(),
];

/// The v1.0 fixture (pkg-sp-v1.0.dts): found its manifest through v1.0 boot information.
fn boot_info_v1_0() -> Outcome {
    let sp = id::PKG_SP;
    check_eq!(
        &ask(sp, &[u64::from(cmd::MANIFEST_ID)])?[..4],
        &[OK, u64::from(sp), 0x1_0000, 0x1_0000][..],
        "MANIFEST_ID: [OK, id, manifest ffa-version, boot info format] (v1.0 name/value pairs)"
    );
    check_eq!(
        ask(sp, &[u64::from(cmd::MANIFEST_UUID)])?,
        [
            OK,
            u64::from(uuid::PKG_SP_V1_0[0]),
            u64::from(uuid::PKG_SP_V1_0[1]),
            u64::from(uuid::PKG_SP_V1_0[2]),
            u64::from(uuid::PKG_SP_V1_0[3])
        ],
        "MANIFEST_UUID read through the v1.0 blob's TYPE_DT"
    );
    // Its RW window (load-address 0x2430_0000 + 0x8_0000), as in pkg-sp's manifest.
    check_eq!(
        ask(sp, &[u64::from(cmd::MANIFEST_BASE)])?,
        [OK, 1, 1, 0x2438_0000, 0],
        "MANIFEST_BASE through the v1.0 blob: [status, memory regions, with base-address, first base, devices with base]"
    );
    Ok(())
}

const OK: u64 = status::OK as u64;

/// A test-protocol request over FFA_MSG_SEND_DIRECT_REQ_64; response words 0..5.
fn ask(sp: EndpointId, words: &[u64]) -> Result<[u64; 5], Failure> {
    let mut a = [0u64; 8];
    a[0] = u64::from(sp);
    for (d, w) in a[2..].iter_mut().zip(words) {
        *d = *w;
    }
    let r = call(FuncId::MsgSendDirectReq64, &a);
    check!(
        r.w(0) == FuncId::MsgSendDirectResp64.raw() && r.w(1) == u32::from(sp) << 16,
        "request to {sp:#06x}: {}",
        Shown(&r)
    );
    Ok([r.x(3), r.x(4), r.x(5), r.x(6), r.x(7)])
}

fn el0_regs() -> Outcome {
    let (ctr, dczid, frq) = arch::id_regs();
    for sp in [id::ECHO, id::FAULT, id::PKG_SP] {
        let r = ask(sp, &[u64::from(cmd::EL0_REGS)])?;
        check_eq!(
            r[0],
            OK,
            "EL0_REGS status (an SP aborted on the read gets FFA_ERROR)"
        );
        check_eq!(r[1], ctr, "CTR_EL0 at EL0");
        // DZP (bit 4) clear at EL0: DC ZVA allowed, same block size as here.
        check_eq!(r[2], dczid & 0xF, "DCZID_EL0 at EL0");
        check_eq!(r[3], frq, "CNTFRQ_EL0 at EL0");
        check_eq!(r[4], 3, "CNTVCT_EL0 advancing (bit 0) and DC ZVA (bit 1)");
    }
    Ok(())
}

fn fp_apart() -> Outcome {
    let nw_seed = 0x0123_4567_89AB_CDEF;
    arch::fp_fill(nw_seed);
    // echo fills its registers, has fault (then pkg-sp) fill theirs with other values in the
    // middle of its request, and finds its own unchanged; the normal world's survive it all.
    for (i, other) in [id::FAULT, id::PKG_SP].into_iter().enumerate() {
        let seed = 0x1111 * (i as u64 + 1);
        let r = ask(
            id::ECHO,
            &[u64::from(cmd::FP_CHECK), seed, u64::from(other)],
        )?;
        check!(
            r[..4] == [OK, 0, OK, 0],
            "echo FP_CHECK around {other:#06x}: [status, echo's mismatches, target status, \
             target's mismatches] = {:#x?}",
            &r[..4]
        );
        check_eq!(
            arch::fp_mismatches(nw_seed),
            0,
            "normal world's FP/SIMD registers after it"
        );
    }
    // A second run of an SP starts from its own saved state, not from what another left.
    let r = ask(id::FAULT, &[u64::from(cmd::FP_CHECK), 0x7777, 0])?;
    check_eq!(
        [r[0], r[1], r[2], r[3]],
        [OK, 0, OK, 0],
        "fault FP_CHECK on its own"
    );
    check_eq!(
        arch::fp_mismatches(nw_seed),
        0,
        "normal world's registers at the end"
    );
    Ok(())
}

fn manifest_bases() -> Outcome {
    // Each SP's RW window is its only memory region, placed by `load-address-relative-offset`
    // 0x8_0000 in its manifest: the copy names it at image base + 0x8_0000. fault's and
    // echo's device regions (a UART, the watchdog) had their `base-address` already; pkg-sp
    // is an SPKG package.
    for (sp, base, devices) in [
        (id::ECHO, 0x2408_0000, 1),
        (id::FAULT, 0x2428_0000, 1),
        (id::PKG_SP, 0x2438_0000, 0),
    ] {
        let r = ask(sp, &[u64::from(cmd::MANIFEST_BASE)])?;
        check_eq!(
            r,
            [OK, 1, 1, base, devices],
            "[status, memory regions, with base-address, first base, devices with base]"
        );
    }
    Ok(())
}
