//! Register round trips for every FF-A function ID at every version that has it, and
//! the rejection rules of `Interface::decode`.

#[path = "common/samples.rs"]
mod samples;
use samples::*;

use ffa_abi::interface::ConsoleChars;
use ffa_abi::*;

#[test]
fn every_function_round_trips_at_every_version() {
    let mut checked = 0;
    for &f in FuncId::ALL {
        for v in VERSIONS {
            if !f.is_available_in(v) {
                continue;
            }
            let i = sample(f, v);
            assert_eq!(i.func_id(), f);
            let regs = i.encode();
            assert_eq!(regs.w(0), f.raw());
            let back = Interface::decode(&regs, v).unwrap_or_else(|e| panic!("{f:?} @ {v}: {e:?}"));
            assert_eq!(back, i, "{f:?} @ {v}");
            assert_eq!(back.encode(), regs);
            checked += 1;
        }
    }
    // 37 v1.0 IDs x3 versions, 17 v1.1 IDs x2, 6 v1.2 IDs x1.
    assert_eq!(checked, 37 * 3 + 17 * 2 + 6);
}

#[test]
fn unknown_function_is_not_supported() {
    for fid in [
        0u32,
        0x8400_005F,
        0x8400_008F,
        0xC400_0063,
        0x8400_0000,
        0xFFFF_FFFF,
    ] {
        let regs = Regs::from_x0_7([fid.into(), 0, 0, 0, 0, 0, 0, 0]);
        let e = Interface::decode(&regs, Version::V1_2).unwrap_err();
        assert_eq!(e, DecodeError::UnknownFunction(fid));
        assert_eq!(e.error_code(), ErrorCode::NotSupported);
    }
}

#[test]
fn newer_functions_are_not_supported_at_older_versions() {
    for &f in FuncId::ALL {
        for v in VERSIONS {
            if f.is_available_in(v) {
                continue;
            }
            let regs = sample(f, Version::V1_2).encode();
            let e = Interface::decode(&regs, v).unwrap_err();
            assert_eq!(
                e,
                DecodeError::NotInVersion {
                    func: f,
                    version: v
                }
            );
            assert_eq!(e.error_code(), ErrorCode::NotSupported);
        }
    }
    // An unknown major version has no functions at all.
    let e = Interface::decode(&Interface::IdGet.encode(), Version::new(2, 0)).unwrap_err();
    assert_eq!(e.error_code(), ErrorCode::NotSupported);
}

/// Every register of x1..x7 that a function does not use is MBZ: setting any bit in it
/// (the low half for SMC32 calls) must give INVALID_PARAMETERS.
#[test]
fn unused_registers_are_mbz() {
    for &f in FuncId::ALL {
        for v in VERSIONS {
            if !f.is_available_in(v) {
                continue;
            }
            let base = sample(f, v).encode();
            for reg in 1..8 {
                let mut probe = base;
                probe.0[reg] ^= 0x10;
                match Interface::decode(&probe, v) {
                    Ok(i) => {
                        // The register is a field: flipping it must show in the value.
                        assert_ne!(i, sample(f, v), "{f:?} x{reg} ignored");
                    }
                    Err(e) => {
                        assert_eq!(e.error_code(), ErrorCode::InvalidParameters, "{f:?} x{reg}")
                    }
                }
            }
        }
    }
}

#[test]
fn smc32_ignores_upper_register_halves() {
    let mut regs = sample(FuncId::MsgSendDirectReq32, Version::V1_1).encode();
    for r in regs.0.iter_mut().take(8) {
        *r |= 0xABCD_0000_0000_0000;
    }
    let i = Interface::decode(&regs, Version::V1_1).unwrap();
    assert_eq!(i, sample(FuncId::MsgSendDirectReq32, Version::V1_1));
}

#[test]
fn smc64_upper_halves_of_unused_registers_are_mbz() {
    let mut regs = sample(FuncId::RxTxMap64, Version::V1_0).encode();
    assert!(Interface::decode(&regs, Version::V1_0).is_ok());
    regs.0[4] = 1 << 40;
    let e = Interface::decode(&regs, Version::V1_0).unwrap_err();
    assert_eq!(e, DecodeError::NonZeroMbz { reg: 4 });
}

fn expect_invalid(regs: [u64; 8], v: Version) {
    let e = Interface::decode(&Regs::from_x0_7(regs), v).unwrap_err();
    assert_eq!(
        e.error_code(),
        ErrorCode::InvalidParameters,
        "{regs:x?}: {e:?}"
    );
}

#[test]
fn reserved_bit_fields_are_checked() {
    let v = Version::V1_2;
    // RXTX_MAP page count is w3[5:0].
    expect_invalid([0xC400_0066, 0x1000, 0x2000, 0x40, 0, 0, 0, 0], v);
    // RXTX_UNMAP ID lives in w1[31:16]; [15:0] MBZ.
    expect_invalid([0x8400_0067, 0x1, 0, 0, 0, 0, 0, 0], v);
    // PARTITION_INFO_GET flags: only bit 0, and none in v1.0.
    expect_invalid([0x8400_0068, 0, 0, 0, 0, 2, 0, 0], v);
    expect_invalid([0x8400_0068, 0, 0, 0, 0, 1, 0, 0], Version::V1_0);
    // PARTITION_INFO_GET_REGS: x3[63:32] MBZ, tag must be 0 with start index 0.
    expect_invalid([0xC400_008B, 0, 0, 1 << 32, 0, 0, 0, 0], v);
    expect_invalid([0xC400_008B, 0, 0, 0x1_0000, 0, 0, 0, 0], v);
    // Direct request flags: bits other than 31 and [7:0] MBZ; [7:0] MBZ without 31.
    expect_invalid([0x8400_006F, 0x8001_0002, 0x100, 0, 0, 0, 0, 0], v);
    expect_invalid([0x8400_006F, 0x8001_0002, 0x8000_0100, 0, 0, 0, 0, 0], v);
    expect_invalid([0x8400_006F, 0x8001_0002, 0x8, 0, 0, 0, 0, 0], v);
    // MEM_SHARE: buffer address without page count, fragment longer than total.
    expect_invalid([0x8400_0073, 0x100, 0x100, 0x1000, 0, 0, 0, 0], v);
    expect_invalid([0x8400_0073, 0x100, 0x200, 0, 0, 0, 0, 0], v);
    expect_invalid([0x8400_0073, 0x100, 0, 0, 0, 0, 0, 0], v);
    // MEM_RECLAIM flags bits [31:2] MBZ.
    expect_invalid([0x8400_0077, 1, 0, 4, 0, 0, 0, 0], v);
    // MEM_FRAG_TX w4[15:0] MBZ.
    expect_invalid([0x8400_007B, 1, 0, 0x10, 1, 0, 0, 0], v);
    // MEM_PERM_SET: data access 0b10 reserved, bits [31:3] MBZ.
    expect_invalid([0x8400_0089, 0x1000, 1, 2, 0, 0, 0, 0], v);
    expect_invalid([0x8400_0089, 0x1000, 1, 8, 0, 0, 0, 0], v);
    // NOTIFICATION_SET flags [15:2] MBZ.
    expect_invalid([0x8400_0081, 0x8001_0002, 4, 1, 0, 0, 0, 0], v);
    // NOTIFICATION_BITMAP_CREATE VM ID is 16 bits.
    expect_invalid([0x8400_007D, 0x1_0000, 1, 0, 0, 0, 0, 0], v);
    // CONSOLE_LOG: count 0 or above the capacity.
    expect_invalid([0x8400_008A, 0, 0x41, 0, 0, 0, 0, 0], v);
    expect_invalid([0x8400_008A, 25, 0x41, 0, 0, 0, 0, 0], v);
    expect_invalid([0x8400_008A, 0x101, 0x41, 0, 0, 0, 0, 0], v);
    // FFA_ERROR with an undefined code.
    expect_invalid([0x8400_0060, 0, 0xFFFF_FFF0, 0, 0, 0, 0, 0], v);
    // MSG_WAIT flags: only bit 0 (retain RX) from v1.2, none before (Hafnium, the ACS).
    expect_invalid([0x8400_006B, 0, 2, 0, 0, 0, 0, 0], v);
    expect_invalid([0x8400_006B, 0, 1, 0, 0, 0, 0, 0], Version::V1_1);
    expect_invalid([0x8400_006B, 0, 1, 0, 0, 0, 0, 0], Version::V1_0);
    assert_eq!(
        Interface::decode(&Regs::from_x0_7([0x8400_006B, 0, 1, 0, 0, 0, 0, 0]), v),
        Ok(Interface::MsgWait {
            flags: ffa_abi::MSG_WAIT_RETAIN_RX
        })
    );
    // FEATURES input properties are MBZ in v1.0.
    expect_invalid([0x8400_0064, 0x8400_0074, 2, 0, 0, 0, 0, 0], Version::V1_0);
}

#[test]
fn direct_req2_uses_the_extended_registers() {
    let i = sample(FuncId::MsgSendDirectReq2, Version::V1_2);
    let regs = i.encode();
    assert_eq!(regs.x(17), !13u64);
    assert_eq!([regs.x(2), regs.x(3)], uuid().to_u64_pair());
    // DIRECT_RESP2 has x2/x3 MBZ.
    let mut r = sample(FuncId::MsgSendDirectResp2, Version::V1_2).encode();
    r.0[3] = 1;
    assert_eq!(
        Interface::decode(&r, Version::V1_2).unwrap_err(),
        DecodeError::NonZeroMbz { reg: 3 }
    );
}

#[test]
fn version_with_bit_31_is_not_supported() {
    let e = Interface::decode(
        &Regs::from_x0_7([0x8400_0063, 0x8001_0000, 0, 0, 0, 0, 0, 0]),
        Version::V1_0,
    )
    .unwrap_err();
    assert_eq!(e.error_code(), ErrorCode::NotSupported);
}

#[test]
fn console_log_packs_first_character_low() {
    let i = Interface::ConsoleLog(ConsoleChars::new(b"ABCDE", false));
    let r = i.encode();
    assert_eq!((r.x(1), r.x(2), r.x(3)), (5, 0x4443_4241, 0x45));
    let i = Interface::ConsoleLog(ConsoleChars::new(b"ABCDEFGHI", true));
    let r = i.encode();
    assert_eq!((r.x(2), r.x(3)), (0x4847_4645_4443_4241, 0x49));
    match Interface::decode(&r, Version::V1_2).unwrap() {
        Interface::ConsoleLog(c) => assert_eq!(c.as_bytes(), b"ABCDEFGHI"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn golden_registers_from_linux_and_tf_a() {
    // Linux arm_ffa probe: FFA_VERSION(1.1).
    let i = Interface::decode(
        &Regs::from_x0_7([0x8400_0063, 0x1_0001, 0, 0, 0, 0, 0, 0]),
        Version::V1_0,
    )
    .unwrap();
    assert_eq!(
        i,
        Interface::Version {
            requested: Version::V1_1
        }
    );
    // FFA_PARTITION_INFO_GET(nil, count only).
    let i = Interface::decode(
        &Regs::from_x0_7([0x8400_0068, 0, 0, 0, 0, 1, 0, 0]),
        Version::V1_1,
    )
    .unwrap();
    assert_eq!(
        i,
        Interface::PartitionInfoGet {
            uuid: Uuid::NIL,
            count_only: true
        }
    );
    // FFA_INTERRUPT from the SPMD: all arguments zero.
    let i = Interface::decode(
        &Regs::from_x0_7([0x8400_0062, 0, 0, 0, 0, 0, 0, 0]),
        Version::V1_1,
    )
    .unwrap();
    assert_eq!(
        i,
        Interface::Interrupt {
            target: TargetInfo::default(),
            interrupt_id: 0
        }
    );
}

/// `decode_sbz_ignored` ignores the registers an ABI does not use (reserved SBZ) and decodes
/// what `decode` decodes from the same block with them zero; MBZ bits inside used registers
/// are refused by both, and the re-encoded value carries nothing from the ignored registers.
#[test]
fn decode_sbz_ignored_ignores_unused_registers_only() {
    let mut filled = 0;
    for &f in FuncId::ALL {
        let v = Version::V1_2;
        if !f.is_available_in(v) {
            continue;
        }
        let i = sample(f, v);
        let clean = i.encode();
        let mut junk = clean;
        for k in 1..8 {
            let mut probe = clean;
            probe.0[k] ^= 0x5A5A_0000_5A5A;
            // A register the strict decoder refuses but the lenient one does not read: unused.
            if Interface::decode(&probe, v).is_err()
                && Interface::decode_sbz_ignored(&probe, v).as_ref() == Ok(&i)
            {
                junk.0[k] = probe.0[k];
                filled += 1;
            }
        }
        let back =
            Interface::decode_sbz_ignored(&junk, v).unwrap_or_else(|e| panic!("{f:?}: {e:?}"));
        assert_eq!(back, i, "{f:?}");
        assert_eq!(back.encode(), clean, "{f:?}");
    }
    // FFA_ID_GET alone has x1-x7 unused; many ABIs have some.
    assert!(filled > 50, "{filled}");
    // An MBZ field inside a used register: w2 of a direct request.
    let mut r = Regs::ZERO;
    r.0[0] = FuncId::MsgSendDirectReq32.raw().into();
    r.0[2] = 0x100;
    assert!(Interface::decode_sbz_ignored(&r, Version::V1_2).is_err());
}

/// FFA_CONSOLE_LOG_64's count is x1[7:0]: x1[63:8] is MBZ, upper half included.
#[test]
fn console_log_64_count_is_checked_at_full_width() {
    let mut r = Regs::ZERO;
    r.0[0] = FuncId::ConsoleLog64.raw().into();
    r.0[2] = u64::from(b'a');
    for x1 in [0x1_0000_0001u64, 1 << 63 | 1, 0x101] {
        r.0[1] = x1;
        assert!(Interface::decode(&r, Version::V1_2).is_err(), "{x1:#x}");
        assert!(
            Interface::decode_sbz_ignored(&r, Version::V1_2).is_err(),
            "{x1:#x}"
        );
    }
    r.0[1] = 1;
    assert!(Interface::decode(&r, Version::V1_2).is_ok());
    // SMC32: the upper half of x1 is not part of the call.
    r.0[0] = FuncId::ConsoleLog32.raw().into();
    r.0[1] = 0x1_0000_0001;
    assert!(Interface::decode(&r, Version::V1_2).is_ok());
}
