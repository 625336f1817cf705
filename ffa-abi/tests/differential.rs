//! Differential tests against the `arm-ffa` 0.5 crate for the encodings both
//! implement: encode with one, decode with the other, in both directions.
//!
//! arm-ffa does not implement the legacy v1.0 FFA_MSG_SEND/FFA_MSG_POLL, and it reads
//! every SMC64 SUCCESS/DIRECT_REQ/DIRECT_RESP as an 18-register v1.2 call, so those
//! are compared at v1.2 only. Its memory descriptors are the v1.1 layout.

#[path = "common/samples.rs"]
mod samples;
use samples::*;

use arm_ffa::memory_management as am;
use arm_ffa::partition_info as ap;
use ffa_abi::boot_info::{self, BootInfo, BootInfoDesc, BootInfoFlags, BootInfoType};
use ffa_abi::memory::relinquish::{write_relinquish, MemRelinquish};
use ffa_abi::memory::transaction::{MemAccess, MemTransaction, TransactionBuilder};
use ffa_abi::memory::{
    AccessPerms, Constituent, DataAccess, InstructionAccess, Layout, MemAttributes, MemHandle,
    TransactionFlags,
};
use ffa_abi::partition_info::{PartitionInfo, PartitionProperties};
use ffa_abi::*;

fn arm_version(v: Version) -> arm_ffa::Version {
    arm_ffa::Version(v.major, v.minor)
}

fn comparable(f: FuncId, v: Version) -> bool {
    use FuncId as F;
    match f {
        F::MsgSend | F::MsgPoll => false,
        F::Success64 | F::MsgSendDirectReq64 | F::MsgSendDirectResp64 => v >= Version::V1_2,
        _ => true,
    }
}

/// Our sample adjusted to what arm-ffa can represent: it does not model FFA_YIELD's
/// w1..w3, and its memory-operation values lose the SMC64 width when the TX buffer is
/// used (it picks the ID from the buffer variant), so 64-bit samples name a buffer.
fn diff_sample(f: FuncId, v: Version) -> Interface {
    use ffa_abi::interface::{MemBuffer, MemTxArgs};
    let with_buf = |a: MemTxArgs| MemTxArgs {
        buffer: if a.is_64 {
            Some(MemBuffer {
                addr: 0x1_0000_0000,
                page_count: 1,
            })
        } else {
            a.buffer
        },
        ..a
    };
    match sample(f, v) {
        Interface::Yield { .. } => Interface::Yield {
            target: TargetInfo::default(),
            timeout: 0,
        },
        Interface::MemDonate(a) => Interface::MemDonate(with_buf(a)),
        Interface::MemLend(a) => Interface::MemLend(with_buf(a)),
        Interface::MemShare(a) => Interface::MemShare(with_buf(a)),
        Interface::MemRetrieveReq(a) => Interface::MemRetrieveReq(with_buf(a)),
        other => other,
    }
}

#[test]
fn registers_ours_to_arm_ffa_and_back() {
    let mut compared = 0;
    for &f in FuncId::ALL {
        for v in VERSIONS {
            if !f.is_available_in(v) || !comparable(f, v) {
                continue;
            }
            let ours = diff_sample(f, v);
            let regs = ours.encode();
            // Ours -> arm-ffa.
            let theirs = arm_ffa::Interface::from_regs(arm_version(v), &regs.0)
                .unwrap_or_else(|e| panic!("arm-ffa rejects our {f:?} @ {v}: {e:?}"));
            assert_eq!(
                theirs.function_id().map(|x| x as u32),
                Some(f.raw()),
                "{f:?}"
            );
            // arm-ffa -> ours: its encoding of what it decoded is what we decode.
            let mut back = [0u64; 18];
            theirs.to_regs(arm_version(v), &mut back);
            let width = if f.uses_extended_regs() && v >= Version::V1_2 {
                18
            } else {
                8
            };
            assert_eq!(&back[..width], &regs.0[..width], "{f:?} @ {v}: {theirs:?}");
            let decoded = Interface::decode(&Regs(back), v).unwrap();
            assert_eq!(decoded, ours, "{f:?} @ {v}");
            compared += 1;
        }
    }
    // All 151 (function, version) pairs minus MSG_SEND/MSG_POLL at three versions and
    // the three SMC64 success/direct forms at v1.0 and v1.1.
    assert_eq!(compared, 151 - 6 - 6);
}

#[test]
fn registers_arm_ffa_values_decode_field_by_field() {
    let v = Version::V1_2;
    let u = arm_ffa::UuidHelper::from_bytes(uuid().0);
    let cases: Vec<(arm_ffa::Interface, Interface)> = vec![
        (
            arm_ffa::Interface::MsgSendDirectReq2 {
                src_id: 0x8001,
                dst_id: 0x0003,
                uuid: u,
                args: arm_ffa::interface_args::DirectMsg2Args([7; 14]),
            },
            Interface::DirectReq2 {
                pair: pair(),
                uuid: uuid(),
                args: [7; 14],
            },
        ),
        (
            arm_ffa::Interface::PartitionInfoGetRegs {
                uuid: u,
                start_index: 2,
                info_tag: 9,
            },
            Interface::PartitionInfoGetRegs {
                uuid: uuid(),
                start_index: 2,
                tag: 9,
            },
        ),
        (
            arm_ffa::Interface::PartitionInfoGet {
                uuid: u,
                flags: ap::PartitionInfoGetFlags { count_only: true },
            },
            Interface::PartitionInfoGet {
                uuid: uuid(),
                count_only: true,
            },
        ),
        (
            arm_ffa::Interface::Error {
                target_info: 0.into(),
                error_code: arm_ffa::FfaError::InvalidParameters,
                error_arg: 0,
                is_32bit: true,
            },
            Interface::error(ErrorCode::InvalidParameters),
        ),
        (
            arm_ffa::Interface::MemReclaim {
                handle: am::Handle(0x8000_0000_0000_0042),
                flags: am::MemReclaimFlags {
                    zero_memory: true,
                    time_slicing: false,
                },
            },
            Interface::MemReclaim {
                handle: MemHandle(0x8000_0000_0000_0042),
                flags: 1,
            },
        ),
        (
            arm_ffa::Interface::Features {
                feat_id: arm_ffa::interface_args::Feature::FuncId(arm_ffa::FuncId::MemShare64),
                input_properties: 0,
            },
            Interface::Features {
                query: ffa_abi::FeatureQuery::Function(FuncId::MemShare64),
                input_properties: 0,
            },
        ),
    ];
    for (theirs, ours) in cases {
        let mut regs = [0u64; 18];
        theirs.to_regs(arm_ffa::Version(1, 2), &mut regs);
        assert_eq!(
            Interface::decode(&Regs(regs), v).unwrap(),
            ours,
            "{theirs:?}"
        );
        assert_eq!(
            arm_ffa::Interface::from_regs(arm_ffa::Version(1, 2), &ours.encode().0).unwrap(),
            theirs
        );
    }
}

fn arm_perm(p: AccessPerms, endpoint: u16) -> am::MemAccessPerm {
    am::MemAccessPerm {
        endpoint_id: endpoint,
        data_access: match p.data {
            DataAccess::NotSpecified => am::DataAccessPerm::NotSpecified,
            DataAccess::ReadOnly => am::DataAccessPerm::ReadOnly,
            DataAccess::ReadWrite => am::DataAccessPerm::ReadWrite,
        },
        instr_access: match p.instruction {
            InstructionAccess::NotSpecified => am::InstuctionAccessPerm::NotSpecified,
            InstructionAccess::NotExecutable => am::InstuctionAccessPerm::NotExecutable,
            InstructionAccess::Executable => am::InstuctionAccessPerm::Executable,
        },
        flags: 0,
    }
}

fn constituents(n: u64) -> Vec<Constituent> {
    (0..n)
        .map(|i| Constituent {
            address: 0x8800_0000 + i * 0x3000,
            page_count: (i as u32 % 3) + 1,
        })
        .collect()
}

#[test]
fn memory_transaction_both_directions() {
    let perms = [
        AccessPerms::RW_NX,
        AccessPerms {
            data: DataAccess::ReadOnly,
            instruction: InstructionAccess::Executable,
        },
    ];
    for n_recv in 1..=2usize {
        for n_cons in [1u64, 2, 7] {
            for attr in [0x2Fu16, 0x6F, 0x14, 0x00, 0x26] {
                let recv: Vec<MemAccess> = (0..n_recv)
                    .map(|i| MemAccess::new(EndpointId(0x8001 + i as u16), perms[i]))
                    .collect();
                let cons = constituents(n_cons);
                let ours = TransactionBuilder {
                    layout: Layout::V1_1,
                    sender: EndpointId(0x0001),
                    attributes: MemAttributes::decode(attr, Layout::V1_1).unwrap(),
                    flags: TransactionFlags(0b10),
                    handle: MemHandle(0x1234_5678),
                    tag: 0xAB,
                    receivers: &recv,
                    constituents: &cons,
                };
                let theirs = am::MemTransactionDesc {
                    sender_id: 1,
                    mem_region_attr: am::MemRegionAttributes::try_from(attr).unwrap(),
                    flags: am::MemTransactionFlags(0b10),
                    handle: am::Handle(0x1234_5678),
                    tag: 0xAB,
                };
                let arm_cons: Vec<am::ConstituentMemRegion> = cons
                    .iter()
                    .map(|c| am::ConstituentMemRegion {
                        address: c.address,
                        page_cnt: c.page_count,
                    })
                    .collect();
                let arm_recv: Vec<am::MemAccessPerm> = recv
                    .iter()
                    .map(|r| arm_perm(r.perms, r.endpoint.0))
                    .collect();

                // arm-ffa encodes, we decode.
                let mut a = vec![0u8; 1024];
                let an = theirs.pack(&arm_cons, &arm_recv, &mut a);
                let t = MemTransaction::parse(&a[..an], Version::V1_1).unwrap();
                assert_eq!(t.sender, EndpointId(1));
                assert_eq!(t.attributes.encode(), attr);
                assert_eq!(t.handle, MemHandle(0x1234_5678));
                assert_eq!(t.receivers().collect::<Vec<_>>(), recv);
                assert_eq!(t.constituents().collect::<Vec<_>>(), cons);

                // We encode, arm-ffa decodes.
                let mut o = vec![0u8; 1024];
                let on = ours.write(&mut o).unwrap();
                let (desc, acc, comp) = am::MemTransactionDesc::unpack(&o[..on]).unwrap();
                assert_eq!(desc, theirs);
                let acc: Vec<_> = acc.map(|r| r.unwrap()).collect();
                assert_eq!(acc, arm_recv);
                let comp: Vec<_> = comp.unwrap().map(|c| c.unwrap()).collect();
                assert_eq!(comp, arm_cons);

                // Both place the records the same way.
                assert_eq!(&a[..an], &o[..on]);
            }
        }
    }
}

#[test]
fn relinquish_both_directions() {
    let eps = [0x8001u16, 0x8002, 0x0005];
    let d = am::MemRelinquishDesc {
        handle: am::Handle(0xFEDC_BA98_7654_3210),
        flags: 1,
    };
    let mut a = [0u8; 64];
    let an = d.pack(&eps, &mut a);
    let r = MemRelinquish::parse(&a[..an]).unwrap();
    assert_eq!(r.handle, MemHandle(0xFEDC_BA98_7654_3210));
    assert_eq!(r.flags, 1);
    assert_eq!(r.endpoints().map(|e| e.0).collect::<Vec<_>>(), eps);

    let mut o = [0u8; 64];
    let ids: Vec<EndpointId> = eps.iter().map(|e| EndpointId(*e)).collect();
    let on = write_relinquish(MemHandle(0xFEDC_BA98_7654_3210), 1, &ids, &mut o).unwrap();
    let (desc, it) = am::MemRelinquishDesc::unpack(&o[..on]).unwrap();
    assert_eq!(desc, d);
    assert_eq!(it.collect::<Vec<_>>(), eps);
    assert_eq!(&a[..an], &o[..on]);
}

#[test]
fn partition_info_both_directions() {
    for v in [Version::V1_1, Version::V1_2] {
        let theirs = ap::PartitionInfo {
            uuid: arm_ffa::UuidHelper::from_bytes(uuid().0),
            partition_id: 0x8003,
            partition_id_type: ap::PartitionIdType::PeEndpoint {
                execution_ctx_count: 4,
            },
            props: ap::PartitionProperties {
                support_direct_req_rec: true,
                support_direct_req_send: true,
                support_direct_req2_rec: (v >= Version::V1_2).then_some(true),
                support_direct_req2_send: (v >= Version::V1_2).then_some(false),
                support_indirect_msg: false,
                support_notif_rec: true,
                subscribe_vm_created: false,
                subscribe_vm_destroyed: false,
                is_aarch64: true,
            },
        };
        let mut a = [0u8; 48];
        ap::PartitionInfo::pack(arm_version(v), &[theirs, theirs], &mut a, true);
        let ours = PartitionInfo::parse(&a, 1, v).unwrap();
        assert_eq!(ours.id, EndpointId(0x8003));
        assert_eq!(ours.exec_ctx_count, 4);
        assert_eq!(ours.uuid, uuid());
        let mut want = PartitionProperties::DIRECT_REQ_RECV
            | PartitionProperties::DIRECT_REQ_SEND
            | PartitionProperties::NOTIFICATIONS
            | PartitionProperties::AARCH64;
        if v >= Version::V1_2 {
            want |= PartitionProperties::DIRECT_REQ2_RECV;
        }
        assert_eq!(ours.properties, PartitionProperties(want));

        let mut o = [0u8; 48];
        PartitionInfo::write_all(&[ours, ours], v, &mut o).unwrap();
        assert_eq!(o, a);
        let back: Vec<_> = ap::PartitionInfoIterator::new(arm_version(v), &o, 2)
            .unwrap()
            .map(|p| p.unwrap())
            .collect();
        assert_eq!(back, vec![theirs, theirs]);
    }
}

#[test]
fn boot_info_both_directions() {
    use arm_ffa::boot_info as ab;
    for v in [Version::V1_1, Version::V1_2] {
        let name = c"ffa_manifest";
        let theirs = [
            ab::BootInfo {
                name: ab::BootInfoName::NullTermString(name),
                typ: ab::BootInfoType::Std(ab::BootInfoStdId::Fdt),
                contents: ab::BootInfoContents::Value {
                    val: 0x7000_0000,
                    len: 8,
                },
            },
            ab::BootInfo {
                name: ab::BootInfoName::Uuid(arm_ffa::UuidHelper::from_bytes(uuid().0)),
                typ: ab::BootInfoType::Impdef(ab::BootInfoImpdefId(3)),
                contents: ab::BootInfoContents::Value { val: 42, len: 4 },
            },
        ];
        let mut a = [0u8; 128];
        ab::BootInfo::pack(arm_version(v), &theirs, &mut a, None);
        let b = BootInfo::parse(&a).unwrap();
        assert_eq!(b.version, v);
        let d: Vec<_> = b.descs().collect();
        let mut n0 = [0u8; 16];
        n0[..12].copy_from_slice(b"ffa_manifest");
        let ours = vec![
            BootInfoDesc {
                name: n0,
                kind: BootInfoType::Fdt,
                flags: BootInfoFlags {
                    name_is_uuid: false,
                    content_is_value: true,
                },
                size: 8,
                contents: 0x7000_0000,
            },
            BootInfoDesc {
                name: uuid().0,
                kind: BootInfoType::ImpDef(3),
                flags: BootInfoFlags {
                    name_is_uuid: true,
                    content_is_value: true,
                },
                size: 4,
                contents: 42,
            },
        ];
        assert_eq!(d, ours);

        let mut o = [0u8; 128];
        let n = boot_info::write_boot_info(v, &ours, &mut o).unwrap();
        assert_eq!(&o[..n], &a[..n]);
        let back: Vec<_> = ab::BootInfoIterator::new(arm_version(v), &o[..n])
            .unwrap()
            .map(|x| x.unwrap())
            .collect();
        assert_eq!(back, theirs.to_vec());
    }
}

#[test]
fn uuid_register_packing_agrees() {
    let u = arm_ffa::UuidHelper::from_bytes(uuid().0);
    assert_eq!(arm_ffa::UuidHelper::to_u32_regs(u), uuid().to_words());
    assert_eq!(arm_ffa::UuidHelper::to_u64_regs(u), uuid().to_u64_pair());
}

#[test]
fn error_codes_and_versions_agree() {
    for c in ErrorCode::ALL {
        let theirs = arm_ffa::FfaError::try_from(c.to_i32()).unwrap();
        assert_eq!(theirs as i32, c.to_i32());
    }
    for v in VERSIONS {
        assert_eq!(u32::from(arm_version(v)), v.encode());
    }
    for &f in FuncId::ALL {
        if matches!(f, FuncId::MsgSend | FuncId::MsgPoll) {
            // Legacy v1.0 indirect messaging, absent from arm-ffa.
            assert!(arm_ffa::FuncId::try_from(f.raw()).is_err());
            continue;
        }
        let theirs = arm_ffa::FuncId::try_from(f.raw()).unwrap();
        assert_eq!(theirs.is_32bit(), !f.is_64bit());
    }
}

#[test]
fn partition_info_get_regs_answer_both_directions() {
    use ffa_abi::partition_info::{info_get_regs_success, parse_info_get_regs, InfoGetRegsSummary};
    let ps: Vec<PartitionInfo> = (0..3u16)
        .map(|i| PartitionInfo {
            id: EndpointId(0x8001 + i),
            exec_ctx_count: 2,
            properties: PartitionProperties(0x103),
            uuid: uuid(),
        })
        .collect();
    let s = InfoGetRegsSummary {
        last_index: 2,
        current_index: 2,
        tag: 0,
        desc_size: 24,
    };
    let regs = info_get_regs_success(s, &ps).unwrap();
    let theirs = arm_ffa::Interface::from_regs(arm_ffa::Version(1, 2), &regs.0).unwrap();
    let arm_ffa::Interface::Success { args, .. } = theirs else {
        panic!("{theirs:?}");
    };
    let a = ap::SuccessArgsPartitionInfoGetRegs::try_from(args).unwrap();
    assert_eq!((a.last_index, a.current_index, a.info_tag), (2, 2, 0));
    // Each 24-byte chunk of the register payload is a v1.1 partition info descriptor.
    for (i, p) in ps.iter().enumerate() {
        let mut d = [0u8; 24];
        p.write(Version::V1_2, &mut d).unwrap();
        assert_eq!(&a.descriptor_data[i * 24..i * 24 + 24], &d);
    }
    // And back: arm-ffa's encoding parses with ours.
    let mut back = [0u64; 18];
    arm_ffa::Interface::Success {
        target_info: 0.into(),
        args: a.into(),
    }
    .to_regs(arm_ffa::Version(1, 2), &mut back);
    let mut x = [0u64; 16];
    x.copy_from_slice(&back[2..]);
    let (s2, it) = parse_info_get_regs(&x, 0).unwrap();
    assert_eq!(s2.current_index, 2);
    assert_eq!(it.collect::<Vec<_>>(), ps);
}

#[test]
fn notification_info_get_both_directions() {
    use arm_ffa::notification::{
        SuccessArgsNotificationInfoGet32, SuccessArgsNotificationInfoGet64,
    };
    use ffa_abi::notification::{info_get_success, InfoGet, InfoGetList};
    let spec: [(u16, &[u16]); 4] = [
        (0x8001, &[0, 1]),
        (0x0002, &[]),
        (0x8003, &[5, 6, 7]),
        (4, &[9]),
    ];
    let lists: Vec<InfoGetList> = spec
        .iter()
        .map(|(ep, v)| {
            let mut l = InfoGetList {
                endpoint: EndpointId(*ep),
                vcpu_count: v.len() as u8,
                ..Default::default()
            };
            l.vcpus[..v.len()].copy_from_slice(v);
            l
        })
        .collect();
    for is_64 in [false, true] {
        // arm-ffa encodes, we decode.
        let theirs: arm_ffa::interface_args::SuccessArgs = if is_64 {
            let mut a = SuccessArgsNotificationInfoGet64::default();
            a.more_pending_notifications = true;
            for (ep, v) in spec {
                a.add_list(ep, v).unwrap();
            }
            a.into()
        } else {
            let mut a = SuccessArgsNotificationInfoGet32::default();
            a.more_pending_notifications = true;
            for (ep, v) in spec {
                a.add_list(ep, v).unwrap();
            }
            a.into()
        };
        let mut regs = [0u64; 18];
        arm_ffa::Interface::Success {
            target_info: 0.into(),
            args: theirs,
        }
        .to_regs(arm_ffa::Version(1, 2), &mut regs);
        let Interface::Success { args, .. } =
            Interface::decode(&Regs(regs), Version::V1_2).unwrap()
        else {
            panic!("not a success");
        };
        let ours = InfoGet::parse(&args).unwrap();
        assert!(ours.more_pending);
        assert_eq!(ours.lists(), &lists[..]);

        // We encode, arm-ffa decodes.
        let r = info_get_success(is_64, true, &lists).unwrap();
        assert_eq!(&r.0[..8], &regs[..8]);
        let arm_ffa::Interface::Success { args, .. } =
            arm_ffa::Interface::from_regs(arm_ffa::Version(1, 2), &r.0).unwrap()
        else {
            panic!("not a success");
        };
        let got: Vec<(u16, Vec<u16>)> = if is_64 {
            let a = SuccessArgsNotificationInfoGet64::try_from(args).unwrap();
            a.iter().map(|(e, v)| (e, v.to_vec())).collect()
        } else {
            let a = SuccessArgsNotificationInfoGet32::try_from(args).unwrap();
            a.iter().map(|(e, v)| (e, v.to_vec())).collect()
        };
        let want: Vec<(u16, Vec<u16>)> = spec.iter().map(|(e, v)| (*e, v.to_vec())).collect();
        assert_eq!(got, want);
    }
}
