//! Shared sample values for the integration tests: one representative, non-trivial
//! `Interface` for every function ID (an exhaustive match, so a new `FuncId` cannot be
//! added without a sample).

#![allow(dead_code)]

use ffa_abi::features::{FeatureId, FeatureQuery};
use ffa_abi::interface::{ConsoleChars, MemBuffer, MemTxArgs};
use ffa_abi::memory::{MemHandle, PermData, PermGetSet};
use ffa_abi::*;

pub const VERSIONS: [Version; 3] = [Version::V1_0, Version::V1_1, Version::V1_2];

pub fn pair() -> EndpointPair {
    EndpointPair::new(EndpointId(0x8001), EndpointId(0x0003))
}

pub fn uuid() -> Uuid {
    Uuid::parse_str("bdcd76d7-825e-4751-963b-86d4f84943ac").unwrap()
}

fn mem(is_64: bool, buffer: bool) -> MemTxArgs {
    MemTxArgs {
        total_len: 0x1230,
        frag_len: 0x1000,
        buffer: buffer.then_some(MemBuffer {
            addr: if is_64 { 0x1_2345_6000 } else { 0x2345_6000 },
            page_count: 2,
        }),
        is_64,
    }
}

/// A sample value for `f` valid at `v` (some fields are version dependent).
pub fn sample(f: FuncId, v: Version) -> Interface {
    use FuncId as F;
    let h = MemHandle(0x8000_0000_0000_0123);
    let t = TargetInfo::new(EndpointId(0x8002), 1);
    let v10 = v == Version::V1_0;
    match f {
        F::Error32 => Interface::Error {
            target: t,
            code: ErrorCode::Denied,
            arg: 7,
        },
        F::Success32 => Interface::Success {
            target: t,
            args: SuccessArgs::Args32([1, 2, 3, 4, 5, 0xFFFF_FFFF]),
        },
        F::Success64 => {
            let mut a = [0u64; 16];
            let n = if v >= Version::V1_2 { 16 } else { 6 };
            for (i, x) in a.iter_mut().enumerate().take(n) {
                *x = 0x1111_0000_0000_0000u64.wrapping_mul(i as u64 + 1) + i as u64;
            }
            Interface::Success {
                target: t,
                args: SuccessArgs::Args64(a),
            }
        }
        F::Interrupt32 => Interface::Interrupt {
            target: t,
            interrupt_id: 42,
        },
        F::Version => Interface::Version {
            requested: Version::V1_1,
        },
        F::Features => Interface::Features {
            query: if v10 {
                FeatureQuery::Function(FuncId::RxTxMap64)
            } else {
                FeatureQuery::Feature(FeatureId::ScheduleReceiverInterrupt)
            },
            input_properties: if v10 { 0 } else { 2 },
        },
        F::RxRelease => Interface::RxRelease {
            vm_id: EndpointId(if v10 { 0 } else { 5 }),
        },
        F::RxAcquire => Interface::RxAcquire {
            vm_id: EndpointId(5),
        },
        F::RxTxMap32 => Interface::RxTxMap {
            tx: 0x8000_0000,
            rx: 0x8000_1000,
            page_count: 1,
            is_64: false,
        },
        F::RxTxMap64 => Interface::RxTxMap {
            tx: 0x100_0000_0000,
            rx: 0x100_0000_1000,
            page_count: 63,
            is_64: true,
        },
        F::RxTxUnmap => Interface::RxTxUnmap { id: EndpointId(9) },
        F::PartitionInfoGet => Interface::PartitionInfoGet {
            uuid: uuid(),
            count_only: !v10,
        },
        F::PartitionInfoGetRegs => Interface::PartitionInfoGetRegs {
            uuid: uuid(),
            start_index: 3,
            tag: 0x55,
        },
        F::IdGet => Interface::IdGet,
        F::SpmIdGet => Interface::SpmIdGet,
        F::MsgPoll => Interface::MsgPoll,
        F::MsgWait32 => Interface::MsgWait {
            flags: if v >= Version::V1_2 { 1 } else { 0 },
        },
        F::Yield32 => Interface::Yield {
            target: t,
            timeout: 0x1234_5678_9ABC_DEF0,
        },
        F::Run32 => Interface::Run { target: t },
        F::MsgSend => Interface::MsgSend {
            pair: pair(),
            size: 64,
            attributes: 1,
        },
        F::MsgSendDirectReq32 => Interface::DirectReq {
            pair: pair(),
            flags: DirectMsgFlags::PARTITION,
            args: DirectArgs::Args32([1, 2, 3, 4, 0xFFFF_FFFF]),
        },
        F::MsgSendDirectReq64 => Interface::DirectReq {
            pair: pair(),
            flags: DirectMsgFlags::PARTITION,
            args: DirectArgs::Args64([1, 2, 3, u64::MAX, 5]),
        },
        F::MsgSendDirectResp32 => Interface::DirectResp {
            pair: pair().reversed(),
            flags: DirectMsgFlags::framework(9),
            args: DirectArgs::Args32([0x1_0002, 0, 0, 0, 0]),
        },
        F::MsgSendDirectResp64 => Interface::DirectResp {
            pair: pair().reversed(),
            flags: DirectMsgFlags::PARTITION,
            args: DirectArgs::Args64([6, 7, 8, 9, 10]),
        },
        F::MemDonate32 => Interface::MemDonate(mem(false, false)),
        F::MemDonate64 => Interface::MemDonate(mem(true, true)),
        F::MemLend32 => Interface::MemLend(mem(false, true)),
        F::MemLend64 => Interface::MemLend(mem(true, false)),
        F::MemShare32 => Interface::MemShare(mem(false, false)),
        F::MemShare64 => Interface::MemShare(mem(true, true)),
        F::MemRetrieveReq32 => Interface::MemRetrieveReq(mem(false, true)),
        F::MemRetrieveReq64 => Interface::MemRetrieveReq(mem(true, false)),
        F::MemRetrieveResp => Interface::MemRetrieveResp {
            total_len: 0x2000,
            frag_len: 0x1000,
        },
        F::MemRelinquish => Interface::MemRelinquish,
        F::MemReclaim => Interface::MemReclaim {
            handle: h,
            flags: 1,
        },
        F::MemOpPause => Interface::MemOpPause { handle: h },
        F::MemOpResume => Interface::MemOpResume { handle: h },
        F::MemFragRx => Interface::MemFragRx {
            handle: h,
            offset: 0x1000,
            sender: EndpointId(0),
        },
        F::MemFragTx => Interface::MemFragTx {
            handle: h,
            frag_len: 0x800,
            sender: EndpointId(4),
        },
        F::NormalWorldResume => Interface::NormalWorldResume,
        F::NotificationBitmapCreate => Interface::NotificationBitmapCreate {
            vm_id: EndpointId(3),
            vcpu_count: 4,
        },
        F::NotificationBitmapDestroy => Interface::NotificationBitmapDestroy {
            vm_id: EndpointId(3),
        },
        F::NotificationBind => Interface::NotificationBind {
            pair: pair(),
            flags: 1,
            bitmap: 0x8000_0000_0000_0001,
        },
        F::NotificationUnbind => Interface::NotificationUnbind {
            pair: pair(),
            bitmap: 0xF0,
        },
        F::NotificationSet => Interface::NotificationSet {
            pair: pair(),
            flags: 0x0002_0003,
            bitmap: 1 << 40,
        },
        F::NotificationGet => Interface::NotificationGet {
            vcpu: 2,
            receiver: EndpointId(0x8001),
            flags: 0xF,
        },
        F::NotificationInfoGet32 => Interface::NotificationInfoGet { is_64: false },
        F::NotificationInfoGet64 => Interface::NotificationInfoGet { is_64: true },
        F::SecondaryEpRegister32 => Interface::SecondaryEpRegister {
            entry: 0x2000_1000,
            is_64: false,
        },
        F::SecondaryEpRegister64 => Interface::SecondaryEpRegister {
            entry: 0x1_2000_1000,
            is_64: true,
        },
        F::MemPermGet32 => Interface::MemPermGet {
            addr: 0x40_0000,
            is_64: false,
        },
        F::MemPermGet64 => Interface::MemPermGet {
            addr: 0x1_0040_0000,
            is_64: true,
        },
        F::MemPermSet32 | F::MemPermSet64 => Interface::MemPermSet {
            addr: 0x40_0000,
            page_count: 3,
            perm: PermGetSet {
                data: PermData::ReadOnly,
                executable: true,
            },
            is_64: f == F::MemPermSet64,
        },
        F::ConsoleLog32 => Interface::ConsoleLog(ConsoleChars::new(b"hello, world", false)),
        F::ConsoleLog64 => Interface::ConsoleLog(ConsoleChars::new(
            b"a longer line that needs more than forty-eight characters of the x registers",
            true,
        )),
        F::El3IntrHandle => Interface::El3IntrHandle,
        F::MsgSend2 => Interface::MsgSend2 {
            sender_vm: EndpointId(2),
            flags: 2,
        },
        F::MsgSendDirectReq2 => {
            let mut args = [0u64; 14];
            for (i, a) in args.iter_mut().enumerate() {
                *a = !(i as u64);
            }
            Interface::DirectReq2 {
                pair: pair(),
                uuid: uuid(),
                args,
            }
        }
        F::MsgSendDirectResp2 => {
            let mut args = [0u64; 14];
            args[13] = 0xDEAD_BEEF;
            Interface::DirectResp2 {
                pair: pair().reversed(),
                args,
            }
        }
    }
}
