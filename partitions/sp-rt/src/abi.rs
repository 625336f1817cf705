//! The FF-A function IDs the runtime calls or decodes, as `u32` constants for `match`
//! patterns. The numbers come from the project's `ffa-abi` crate ([`FuncId`]), the one place
//! they are written down (FF-A v1.2, Arm DEN0077, the function ID tables).
#![forbid(unsafe_code)]

/// FF-A function IDs (SMC32 = 0x8400_0000 | n, SMC64 = 0xC400_0000 | n).
#[allow(dead_code)] // the set the runtime decodes or may call; not all used yet
pub(crate) mod fid {
    use ffa_abi::FuncId;

    pub const ERROR: u32 = FuncId::Error32.raw();
    pub const SUCCESS_32: u32 = FuncId::Success32.raw();
    pub const SUCCESS_64: u32 = FuncId::Success64.raw();
    pub const INTERRUPT: u32 = FuncId::Interrupt32.raw();
    pub const VERSION: u32 = FuncId::Version.raw();
    pub const FEATURES: u32 = FuncId::Features.raw();
    pub const RX_RELEASE: u32 = FuncId::RxRelease.raw();
    pub const RXTX_MAP_64: u32 = FuncId::RxTxMap64.raw();
    pub const RXTX_UNMAP: u32 = FuncId::RxTxUnmap.raw();
    pub const PARTITION_INFO_GET: u32 = FuncId::PartitionInfoGet.raw();
    pub const PARTITION_INFO_GET_REGS: u32 = FuncId::PartitionInfoGetRegs.raw();
    pub const ID_GET: u32 = FuncId::IdGet.raw();
    pub const MSG_WAIT: u32 = FuncId::MsgWait32.raw();
    pub const YIELD: u32 = FuncId::Yield32.raw();
    pub const RUN: u32 = FuncId::Run32.raw();
    pub const MSG_SEND_DIRECT_REQ_32: u32 = FuncId::MsgSendDirectReq32.raw();
    pub const MSG_SEND_DIRECT_REQ_64: u32 = FuncId::MsgSendDirectReq64.raw();
    pub const MSG_SEND_DIRECT_RESP_32: u32 = FuncId::MsgSendDirectResp32.raw();
    pub const MSG_SEND_DIRECT_RESP_64: u32 = FuncId::MsgSendDirectResp64.raw();
    pub const SPM_ID_GET: u32 = FuncId::SpmIdGet.raw();
    pub const MEM_PERM_GET_64: u32 = FuncId::MemPermGet64.raw();
    pub const MEM_PERM_SET_64: u32 = FuncId::MemPermSet64.raw();
    pub const CONSOLE_LOG_64: u32 = FuncId::ConsoleLog64.raw();
    pub const MSG_SEND_DIRECT_REQ2: u32 = FuncId::MsgSendDirectReq2.raw();
    pub const MSG_SEND_DIRECT_RESP2: u32 = FuncId::MsgSendDirectResp2.raw();
    pub const MEM_RETRIEVE_REQ_32: u32 = FuncId::MemRetrieveReq32.raw();
    pub const MEM_RETRIEVE_RESP: u32 = FuncId::MemRetrieveResp.raw();
    pub const MEM_RELINQUISH: u32 = FuncId::MemRelinquish.raw();
    pub const MEM_FRAG_RX: u32 = FuncId::MemFragRx.raw();
    pub const MEM_SHARE_32: u32 = FuncId::MemShare32.raw();
    pub const MEM_RECLAIM: u32 = FuncId::MemReclaim.raw();
    pub const MEM_FRAG_TX: u32 = FuncId::MemFragTx.raw();
}

#[cfg(test)]
mod tests {
    use super::fid;

    #[test]
    fn ids_are_the_spec_numbers() {
        // Spot checks against DEN0077's table, so a wrong variant name cannot slip through.
        assert_eq!(fid::MSG_WAIT, 0x8400_006B);
        assert_eq!(fid::MSG_SEND_DIRECT_REQ_64, 0xC400_006F);
        assert_eq!(fid::CONSOLE_LOG_64, 0xC400_008A);
        assert_eq!(fid::MSG_SEND_DIRECT_RESP2, 0xC400_008E);
        assert_eq!(fid::RXTX_MAP_64, 0xC400_0066);
    }
}
