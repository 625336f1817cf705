//! The one list of FF-A ABIs this SPMC implements, per caller. Dispatch refuses anything not
//! listed here with NOT_SUPPORTED, and FFA_FEATURES answers from the same list, so the two can
//! never disagree.

use crate::policy::Caller;
use ffa_abi::func_id::FuncId;

/// Which callers an ABI is implemented for.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Origins {
    NormalWorld,
    Partitions,
    Both,
}

/// One implemented ABI and the properties word FFA_FEATURES returns for it in w2.
#[derive(Clone, Copy, Debug)]
pub struct Abi {
    pub func: FuncId,
    pub origins: Origins,
    pub properties: u32,
}

const fn abi(func: FuncId, origins: Origins) -> Abi {
    Abi {
        func,
        origins,
        properties: 0,
    }
}

use FuncId as F;
use Origins::{Both, NormalWorld as Nw, Partitions as Sp};

/// Every implemented ABI. RXTX_MAP's properties (w2 = 0): 4 KiB minimum size and alignment,
/// no maximum (FF-A v1.2 Table 13.13).
pub const ABIS: &[Abi] = &[
    abi(F::Version, Both),
    abi(F::Features, Both),
    abi(F::IdGet, Both),
    abi(F::SpmIdGet, Both),
    abi(F::PartitionInfoGet, Both),
    abi(F::PartitionInfoGetRegs, Both),
    abi(F::RxTxMap32, Both),
    abi(F::RxTxMap64, Both),
    abi(F::RxTxUnmap, Both),
    abi(F::RxRelease, Both),
    abi(F::MsgWait32, Sp),
    abi(F::Yield32, Sp),
    abi(F::Run32, Nw),
    abi(F::MsgSendDirectReq32, Both),
    abi(F::MsgSendDirectReq64, Both),
    abi(F::MsgSendDirectResp32, Sp),
    abi(F::MsgSendDirectResp64, Sp),
    abi(F::MsgSendDirectReq2, Both),
    abi(F::MsgSendDirectResp2, Sp),
    abi(F::ConsoleLog32, Sp),
    abi(F::ConsoleLog64, Sp),
    abi(F::MemPermGet32, Sp),
    abi(F::MemPermGet64, Sp),
    abi(F::MemPermSet32, Sp),
    abi(F::MemPermSet64, Sp),
    abi(F::MemShare32, Both),
    abi(F::MemShare64, Both),
    abi(F::MemLend32, Both),
    abi(F::MemLend64, Both),
    abi(F::MemDonate32, Both),
    abi(F::MemDonate64, Both),
    abi(F::MemFragTx, Both),
    abi(F::MemFragRx, Sp),
    abi(F::MemReclaim, Both),
    abi(F::MemRetrieveReq32, Sp),
    abi(F::MemRetrieveReq64, Sp),
    abi(F::MemRelinquish, Sp),
    abi(F::NotificationBitmapCreate, Nw),
    abi(F::NotificationBitmapDestroy, Nw),
    abi(F::NotificationBind, Both),
    abi(F::NotificationUnbind, Both),
    abi(F::NotificationSet, Both),
    abi(F::NotificationGet, Both),
    abi(F::NotificationInfoGet32, Nw),
    abi(F::NotificationInfoGet64, Nw),
    abi(F::MsgSend2, Both),
    abi(F::MsgSend, Both),
    abi(F::MsgPoll, Sp),
    abi(F::RxAcquire, Nw),
];

/// Interfaces FFA_FEATURES reports as supported although the caller does not invoke them
/// here: the return and event interfaces FF-A makes mandatory (FFA_ERROR, FFA_SUCCESS,
/// FFA_INTERRUPT), FFA_MEM_RETRIEVE_RESP, which comes with FFA_MEM_RETRIEVE_REQ for
/// partitions, and FFA_MSG_WAIT for the normal world: the framework implements it (the SPMC
/// answers the normal world through it), Hafnium reports it to every caller
/// (`ffa_features_function` in src/api.c) and Arm's ACS requires it (docs/abi-status.md,
/// conformance decision (d)). Arm's ACS (ffa_features_client.c) requires them; dispatch never
/// sees them as calls from that caller.
pub const FEATURES_ONLY: &[(FuncId, Origins)] = &[
    (F::Error32, Both),
    (F::Success32, Both),
    (F::Success64, Both),
    (F::Interrupt32, Both),
    (F::MemRetrieveResp, Sp),
    (F::MsgWait32, Nw),
];

/// Tells whether FFA_FEATURES reports `func` to `caller` although it is not dispatched.
pub fn reported_only(func: FuncId, caller: Caller) -> bool {
    FEATURES_ONLY
        .iter()
        .any(|&(f, o)| f == func && allowed(o, caller))
}

/// Slot of a function ID in [`INDEX`]: FF-A function numbers 0x60..0xA0, SMC32 then SMC64.
const fn slot(w0: u32) -> Option<usize> {
    let fnum = w0 & 0xFFFF;
    let base = w0 & !0xFFFF;
    let wide = match base {
        0x8400_0000 => 0,
        0xC400_0000 => 64,
        _ => return None,
    };
    if fnum < 0x60 || fnum >= 0xA0 {
        return None;
    }
    Some(wide + (fnum - 0x60) as usize)
}

/// `INDEX[slot(fid)]` is 1 + the position of `fid` in [`ABIS`], or 0: dispatch finds an ABI
/// with one array access instead of a search.
const INDEX: [u8; 128] = {
    let mut index = [0u8; 128];
    let mut i = 0;
    while i < ABIS.len() {
        match slot(ABIS[i].func as u32) {
            Some(s) => index[s] = (i + 1) as u8,
            None => panic!("ABIS lists a function ID outside the FF-A range"),
        }
        i += 1;
    }
    index
};

fn allowed(origins: Origins, caller: Caller) -> bool {
    matches!(
        (origins, caller),
        (Both, _) | (Nw, Caller::NormalWorld) | (Sp, Caller::Sp(_))
    )
}

/// Looks up an ABI for a caller.
pub fn lookup(func: FuncId, caller: Caller) -> Option<&'static Abi> {
    lookup_raw(func as u32, caller)
}

fn lookup_raw(w0: u32, caller: Caller) -> Option<&'static Abi> {
    let i = usize::from(INDEX[slot(w0)?]).checked_sub(1)?;
    let abi = ABIS.get(i)?;
    allowed(abi.origins, caller).then_some(abi)
}

/// Tells whether `func` may be called by a caller that negotiated `version`: it must exist at
/// that version (FFA_MSG_SEND/POLL: only at v1.0), except FFA_CONSOLE_LOG, which partitions may use from any version (v1.1
/// Trusted Services SPs do, and OP-TEE's SPMC accepts it; dispatch does the same).
pub fn available_at(func: FuncId, caller: Caller, version: ffa_abi::version::Version) -> bool {
    // FFA_MSG_SEND and FFA_MSG_POLL are v1.0 indirect messaging, replaced by FFA_MSG_SEND2
    // in v1.1: only v1.0 callers have them (indirect.rs).
    if matches!(func, FuncId::MsgSend | FuncId::MsgPoll) && version.minor >= 1 {
        return false;
    }
    func.is_available_in(version)
        || (matches!(caller, Caller::Sp(_))
            && matches!(func, FuncId::ConsoleLog32 | FuncId::ConsoleLog64))
}

/// Decodes w0 and returns the function ID if it is implemented for `caller`.
pub fn implemented_fid(w0: u32, caller: Caller) -> Option<FuncId> {
    lookup_raw(w0, caller).map(|a| a.func)
}

/// Tells whether `func` is implemented for `caller`.
pub fn implemented(func: FuncId, caller: Caller) -> bool {
    lookup(func, caller).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_abi_is_listed_twice() {
        for (i, a) in ABIS.iter().enumerate() {
            assert!(
                ABIS[i + 1..].iter().all(|b| b.func != a.func),
                "{:?} listed twice",
                a.func
            );
        }
    }

    #[test]
    fn the_index_finds_every_listed_abi_and_nothing_else() {
        for a in ABIS {
            assert_eq!(
                lookup_raw(a.func as u32, Caller::NormalWorld).is_some(),
                a.origins != Sp
            );
            assert_eq!(
                lookup_raw(a.func as u32, Caller::Sp(0)).is_some(),
                a.origins != Nw
            );
        }
        for f in FuncId::ALL {
            let listed = ABIS.iter().any(|a| a.func == *f);
            if !listed {
                assert!(
                    lookup(*f, Caller::NormalWorld).is_none()
                        && lookup(*f, Caller::Sp(1)).is_none(),
                    "{f:?}"
                );
            }
        }
        for w0 in [
            0,
            0x8400_005F,
            0x8400_00A0,
            0xC400_0000,
            0x8500_0063,
            u32::MAX,
        ] {
            assert!(implemented_fid(w0, Caller::NormalWorld).is_none());
        }
    }

    /// docs/abi-status.md is written from this table: every row's NW/SP columns must say
    /// "yes" exactly for what dispatch implements, for every function ID in the row.
    #[test]
    fn the_abi_status_document_agrees_with_the_table() {
        let doc = include_str!("../../../docs/abi-status.md");
        let mut rows = 0;
        for line in doc.lines().filter(|l| l.starts_with("| FFA_")) {
            let cols: Vec<&str> = line.split('|').map(str::trim).collect();
            let (fids, nw, sp) = (cols[2], cols[4], cols[5]);
            for fid in fids.split('/').map(str::trim) {
                let Ok(raw) =
                    u32::from_str_radix(&fid.trim_start_matches("0x").replace('_', ""), 16)
                else {
                    panic!("row {line}: bad function ID {fid}");
                };
                assert_eq!(
                    implemented_fid(raw, Caller::NormalWorld).is_some(),
                    nw == "yes",
                    "NW column of {line}"
                );
                assert_eq!(
                    implemented_fid(raw, Caller::Sp(0)).is_some(),
                    sp == "yes",
                    "SP column of {line}"
                );
            }
            rows += 1;
        }
        assert!(rows >= 40, "only {rows} rows found in docs/abi-status.md");
    }

    #[test]
    fn origins_are_respected() {
        assert!(implemented(F::MsgWait32, Caller::Sp(0)));
        assert!(!implemented(F::MsgWait32, Caller::NormalWorld));
        assert!(implemented(F::Version, Caller::NormalWorld));
        assert!(!implemented(F::MsgPoll, Caller::NormalWorld));
        assert!(implemented(F::MsgPoll, Caller::Sp(0)));
        assert!(!available_at(
            F::MsgSend,
            Caller::Sp(0),
            ffa_abi::version::Version::V1_1
        ));
        assert!(!implemented(F::MsgSendDirectResp32, Caller::NormalWorld));
    }
}
