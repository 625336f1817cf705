//! FF-A function identifiers (DEN0077 "Function IDs" tables of each ABI; SMCCC fast calls in the
//! Standard Secure Service range).
//!
//! SMC32 IDs are `0x8400_0000 | fnum`, SMC64 IDs are `0xC400_0000 | fnum`. Only the
//! functions of FF-A v1.0, v1.1 and v1.2 are listed; anything else is unknown and must
//! be answered with `NOT_SUPPORTED`.

use crate::version::Version;

macro_rules! func_ids {
    ($( $(#[$doc:meta])* $name:ident = $val:literal, $ver:ident; )*) => {
        /// One FF-A function ID (DEN0077, each ABI's "function syntax" table).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u32)]
        pub enum FuncId {
            $( $(#[$doc])* $name = $val, )*
        }

        impl FuncId {
            /// Every function ID this crate knows, in numeric order per width.
            pub const ALL: &'static [FuncId] = &[ $( FuncId::$name, )* ];

            /// Returns the FF-A version that introduced this function.
            pub const fn min_version(self) -> Version {
                match self { $( FuncId::$name => Version::$ver, )* }
            }

            /// Returns the ABI name as the specification spells it.
            pub const fn name(self) -> &'static str {
                match self { $( FuncId::$name => stringify!($name), )* }
            }
        }

        impl TryFrom<u32> for FuncId {
            type Error = u32;

            /// Decodes a function ID; the unknown value is returned as the error.
            fn try_from(value: u32) -> Result<Self, u32> {
                match value {
                    $( $val => Ok(FuncId::$name), )*
                    other => Err(other),
                }
            }
        }
    };
}

func_ids! {
    /// FFA_ERROR (SMC32).
    Error32 = 0x8400_0060, V1_0;
    /// FFA_SUCCESS (SMC32).
    Success32 = 0x8400_0061, V1_0;
    /// FFA_SUCCESS (SMC64).
    Success64 = 0xC400_0061, V1_0;
    /// FFA_INTERRUPT (SMC32).
    Interrupt32 = 0x8400_0062, V1_0;
    /// FFA_VERSION.
    Version = 0x8400_0063, V1_0;
    /// FFA_FEATURES.
    Features = 0x8400_0064, V1_0;
    /// FFA_RX_RELEASE.
    RxRelease = 0x8400_0065, V1_0;
    /// FFA_RXTX_MAP (SMC32).
    RxTxMap32 = 0x8400_0066, V1_0;
    /// FFA_RXTX_MAP (SMC64).
    RxTxMap64 = 0xC400_0066, V1_0;
    /// FFA_RXTX_UNMAP.
    RxTxUnmap = 0x8400_0067, V1_0;
    /// FFA_PARTITION_INFO_GET.
    PartitionInfoGet = 0x8400_0068, V1_0;
    /// FFA_ID_GET.
    IdGet = 0x8400_0069, V1_0;
    /// FFA_MSG_POLL (legacy v1.0 indirect messaging).
    MsgPoll = 0x8400_006A, V1_0;
    /// FFA_MSG_WAIT (SMC32).
    MsgWait32 = 0x8400_006B, V1_0;
    /// FFA_YIELD (SMC32).
    Yield32 = 0x8400_006C, V1_0;
    /// FFA_RUN (SMC32).
    Run32 = 0x8400_006D, V1_0;
    /// FFA_MSG_SEND (legacy v1.0 indirect messaging).
    MsgSend = 0x8400_006E, V1_0;
    /// FFA_MSG_SEND_DIRECT_REQ (SMC32).
    MsgSendDirectReq32 = 0x8400_006F, V1_0;
    /// FFA_MSG_SEND_DIRECT_REQ (SMC64).
    MsgSendDirectReq64 = 0xC400_006F, V1_0;
    /// FFA_MSG_SEND_DIRECT_RESP (SMC32).
    MsgSendDirectResp32 = 0x8400_0070, V1_0;
    /// FFA_MSG_SEND_DIRECT_RESP (SMC64).
    MsgSendDirectResp64 = 0xC400_0070, V1_0;
    /// FFA_MEM_DONATE (SMC32).
    MemDonate32 = 0x8400_0071, V1_0;
    /// FFA_MEM_DONATE (SMC64).
    MemDonate64 = 0xC400_0071, V1_0;
    /// FFA_MEM_LEND (SMC32).
    MemLend32 = 0x8400_0072, V1_0;
    /// FFA_MEM_LEND (SMC64).
    MemLend64 = 0xC400_0072, V1_0;
    /// FFA_MEM_SHARE (SMC32).
    MemShare32 = 0x8400_0073, V1_0;
    /// FFA_MEM_SHARE (SMC64).
    MemShare64 = 0xC400_0073, V1_0;
    /// FFA_MEM_RETRIEVE_REQ (SMC32).
    MemRetrieveReq32 = 0x8400_0074, V1_0;
    /// FFA_MEM_RETRIEVE_REQ (SMC64).
    MemRetrieveReq64 = 0xC400_0074, V1_0;
    /// FFA_MEM_RETRIEVE_RESP.
    MemRetrieveResp = 0x8400_0075, V1_0;
    /// FFA_MEM_RELINQUISH.
    MemRelinquish = 0x8400_0076, V1_0;
    /// FFA_MEM_RECLAIM.
    MemReclaim = 0x8400_0077, V1_0;
    /// FFA_MEM_OP_PAUSE.
    MemOpPause = 0x8400_0078, V1_0;
    /// FFA_MEM_OP_RESUME.
    MemOpResume = 0x8400_0079, V1_0;
    /// FFA_MEM_FRAG_RX.
    MemFragRx = 0x8400_007A, V1_0;
    /// FFA_MEM_FRAG_TX.
    MemFragTx = 0x8400_007B, V1_0;
    /// FFA_NORMAL_WORLD_RESUME.
    NormalWorldResume = 0x8400_007C, V1_0;
    /// FFA_NOTIFICATION_BITMAP_CREATE.
    NotificationBitmapCreate = 0x8400_007D, V1_1;
    /// FFA_NOTIFICATION_BITMAP_DESTROY.
    NotificationBitmapDestroy = 0x8400_007E, V1_1;
    /// FFA_NOTIFICATION_BIND.
    NotificationBind = 0x8400_007F, V1_1;
    /// FFA_NOTIFICATION_UNBIND.
    NotificationUnbind = 0x8400_0080, V1_1;
    /// FFA_NOTIFICATION_SET.
    NotificationSet = 0x8400_0081, V1_1;
    /// FFA_NOTIFICATION_GET.
    NotificationGet = 0x8400_0082, V1_1;
    /// FFA_NOTIFICATION_INFO_GET (SMC32).
    NotificationInfoGet32 = 0x8400_0083, V1_1;
    /// FFA_NOTIFICATION_INFO_GET (SMC64).
    NotificationInfoGet64 = 0xC400_0083, V1_1;
    /// FFA_RX_ACQUIRE.
    RxAcquire = 0x8400_0084, V1_1;
    /// FFA_SPM_ID_GET.
    SpmIdGet = 0x8400_0085, V1_1;
    /// FFA_MSG_SEND2.
    MsgSend2 = 0x8400_0086, V1_1;
    /// FFA_SECONDARY_EP_REGISTER (SMC32).
    SecondaryEpRegister32 = 0x8400_0087, V1_1;
    /// FFA_SECONDARY_EP_REGISTER (SMC64).
    SecondaryEpRegister64 = 0xC400_0087, V1_1;
    /// FFA_MEM_PERM_GET (SMC32).
    MemPermGet32 = 0x8400_0088, V1_1;
    /// FFA_MEM_PERM_GET (SMC64).
    MemPermGet64 = 0xC400_0088, V1_1;
    /// FFA_MEM_PERM_SET (SMC32).
    MemPermSet32 = 0x8400_0089, V1_1;
    /// FFA_MEM_PERM_SET (SMC64).
    MemPermSet64 = 0xC400_0089, V1_1;
    /// FFA_CONSOLE_LOG (SMC32).
    ConsoleLog32 = 0x8400_008A, V1_2;
    /// FFA_CONSOLE_LOG (SMC64).
    ConsoleLog64 = 0xC400_008A, V1_2;
    /// FFA_PARTITION_INFO_GET_REGS (SMC64 only).
    PartitionInfoGetRegs = 0xC400_008B, V1_2;
    /// FFA_EL3_INTR_HANDLE.
    El3IntrHandle = 0x8400_008C, V1_2;
    /// FFA_MSG_SEND_DIRECT_REQ2 (SMC64 only).
    MsgSendDirectReq2 = 0xC400_008D, V1_2;
    /// FFA_MSG_SEND_DIRECT_RESP2 (SMC64 only).
    MsgSendDirectResp2 = 0xC400_008E, V1_2;
}

/// Bit 30 of an SMCCC function ID selects the SMC64 calling convention.
const SMC64_BIT: u32 = 0x4000_0000;

impl FuncId {
    /// Returns the raw 32-bit function ID.
    pub const fn raw(self) -> u32 {
        self as u32
    }

    /// Returns true for the SMC64 form (bit 30 of the ID, SMCCC "Function Identifier").
    pub const fn is_64bit(self) -> bool {
        self.raw() & SMC64_BIT != 0
    }

    /// Returns the other width of the same ABI, if the specification defines one.
    pub fn other_width(self) -> Option<FuncId> {
        FuncId::try_from(self.raw() ^ SMC64_BIT).ok()
    }

    /// Returns the SMC32 form of this ABI, if it exists.
    pub fn as_32bit(self) -> Option<FuncId> {
        if self.is_64bit() {
            self.other_width()
        } else {
            Some(self)
        }
    }

    /// Returns the SMC64 form of this ABI, if it exists.
    pub fn as_64bit(self) -> Option<FuncId> {
        if self.is_64bit() {
            Some(self)
        } else {
            self.other_width()
        }
    }

    /// Returns true if this function may be used at the negotiated `version`.
    pub fn is_available_in(self, version: Version) -> bool {
        version.major == self.min_version().major && version.minor >= self.min_version().minor
    }

    /// Returns true if the function uses registers x8-x17 (FF-A v1.2 with SMCCC v1.2
    /// argument registers: DIRECT_REQ2/RESP2, PARTITION_INFO_GET_REGS, 64-bit SUCCESS and CONSOLE_LOG).
    pub const fn uses_extended_regs(self) -> bool {
        matches!(
            self,
            FuncId::MsgSendDirectReq2
                | FuncId::MsgSendDirectResp2
                | FuncId::PartitionInfoGetRegs
                | FuncId::Success64
                | FuncId::ConsoleLog64
        )
    }
}

impl From<FuncId> for u32 {
    fn from(f: FuncId) -> u32 {
        f.raw()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_round_trips_and_has_the_right_width() {
        for &f in FuncId::ALL {
            assert_eq!(FuncId::try_from(f.raw()), Ok(f));
            assert_eq!(f.is_64bit(), f.raw() & 0xC000_0000 == 0xC000_0000);
            assert_eq!(f.raw() & 0x3F00_0000 & !SMC64_BIT, 0x0400_0000);
            let fnum = f.raw() & 0xFFFF;
            assert!((0x60..=0x8E).contains(&fnum), "{f:?}");
        }
    }

    #[test]
    fn pairs() {
        assert_eq!(FuncId::MemShare32.as_64bit(), Some(FuncId::MemShare64));
        assert_eq!(FuncId::RxTxMap64.as_32bit(), Some(FuncId::RxTxMap32));
        assert_eq!(FuncId::Version.as_64bit(), None);
        assert_eq!(FuncId::MsgSendDirectReq2.as_32bit(), None);
    }

    #[test]
    fn unknown_ids_are_rejected() {
        assert_eq!(FuncId::try_from(0x8400_005F), Err(0x8400_005F));
        assert_eq!(FuncId::try_from(0x8400_008F), Err(0x8400_008F));
        // The 64-bit FFA_VERSION does not exist.
        assert_eq!(FuncId::try_from(0xC400_0063), Err(0xC400_0063));
    }
}
