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
];

/// Looks up an ABI for a caller.
pub fn lookup(func: FuncId, caller: Caller) -> Option<&'static Abi> {
    ABIS.iter().find(|a| {
        a.func == func
            && match (a.origins, caller) {
                (Both, _) => true,
                (Nw, Caller::NormalWorld) => true,
                (Sp, Caller::Sp(_)) => true,
                _ => false,
            }
    })
}

/// Decodes w0 and returns the function ID if it is implemented for `caller`.
pub fn implemented_fid(w0: u32, caller: Caller) -> Option<FuncId> {
    let func = FuncId::try_from(w0).ok()?;
    implemented(func, caller).then_some(func)
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
    fn origins_are_respected() {
        assert!(implemented(F::MsgWait32, Caller::Sp(0)));
        assert!(!implemented(F::MsgWait32, Caller::NormalWorld));
        assert!(implemented(F::Version, Caller::NormalWorld));
        assert!(!implemented(F::MsgPoll, Caller::NormalWorld));
        assert!(!implemented(F::MsgSendDirectResp32, Caller::NormalWorld));
    }
}
