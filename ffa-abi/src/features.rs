//! FFA_FEATURES: what a query names and the properties words an FFA_SUCCESS answer
//! carries (DEN0077 "FFA_FEATURES": "Feature IDs" and the per-interface "properties" tables).

use crate::endpoint::TargetInfo;
use crate::func_id::FuncId;
use crate::regs::Regs;

/// Feature IDs queried with bit 31 of w1 clear (DEN0077 "FFA_FEATURES" "Feature IDs" table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FeatureId {
    /// Notification pending interrupt (NPI): w2 of the answer is its interrupt ID.
    NotificationPendingInterrupt = 1,
    /// Schedule receiver interrupt (SRI).
    ScheduleReceiverInterrupt = 2,
    /// Managed exit interrupt (MEI).
    ManagedExitInterrupt = 3,
}

impl FeatureId {
    /// Decodes a feature ID value (bits `[7:0]` of w1).
    pub const fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(FeatureId::NotificationPendingInterrupt),
            2 => Some(FeatureId::ScheduleReceiverInterrupt),
            3 => Some(FeatureId::ManagedExitInterrupt),
            _ => None,
        }
    }
}

/// What w1 of FFA_FEATURES asks about. Unknown values are kept so that the caller can
/// answer NOT_SUPPORTED and the value still re-encodes exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FeatureQuery {
    /// Bit 31 set: a function ID this crate knows.
    Function(FuncId),
    /// Bit 31 clear, bits `[30:8]` zero: a known feature ID.
    Feature(FeatureId),
    /// Anything else (unknown function or feature, or reserved bits set).
    Unknown(u32),
}

impl FeatureQuery {
    /// Decodes w1.
    pub fn decode(w1: u32) -> Self {
        if w1 & 0x8000_0000 != 0 {
            match FuncId::try_from(w1) {
                Ok(f) => FeatureQuery::Function(f),
                Err(_) => FeatureQuery::Unknown(w1),
            }
        } else if w1 & 0x7FFF_FF00 == 0 {
            match FeatureId::from_u8(w1 as u8) {
                Some(id) => FeatureQuery::Feature(id),
                None => FeatureQuery::Unknown(w1),
            }
        } else {
            FeatureQuery::Unknown(w1)
        }
    }

    /// Encodes into w1.
    pub fn encode(self) -> u32 {
        match self {
            FeatureQuery::Function(f) => f.raw(),
            FeatureQuery::Feature(id) => id as u32,
            FeatureQuery::Unknown(w) => w,
        }
    }
}

/// Minimum size and alignment of RX/TX buffers, w2 bits `[1:0]` of the FFA_RXTX_MAP
/// answer (DEN0077 "FFA_FEATURES": FFA_RXTX_MAP properties).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RxTxMinBuffer {
    /// 4 KiB.
    Size4K = 0,
    /// 64 KiB.
    Size64K = 1,
    /// 16 KiB.
    Size16K = 2,
}

/// Properties of FFA_RXTX_MAP (DEN0077 "FFA_FEATURES": FFA_RXTX_MAP properties).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RxTxMapProperties {
    /// Minimum buffer size and alignment.
    pub min_buffer: RxTxMinBuffer,
    /// v1.2: maximum buffer size in pages in bits `[31:16]` (0 = no limit).
    pub max_pages: u16,
}

impl RxTxMapProperties {
    /// Encodes w2 of the answer.
    pub fn encode(self) -> u32 {
        (self.min_buffer as u32) | (u32::from(self.max_pages) << 16)
    }

    /// Decodes w2; reserved bits `[15:2]` and the value 3 are rejected.
    pub fn decode(w2: u32) -> Option<Self> {
        if w2 & 0xFFFC != 0 {
            return None;
        }
        let min_buffer = match w2 & 3 {
            0 => RxTxMinBuffer::Size4K,
            1 => RxTxMinBuffer::Size64K,
            2 => RxTxMinBuffer::Size16K,
            _ => return None,
        };
        Some(Self {
            min_buffer,
            max_pages: (w2 >> 16) as u16,
        })
    }
}

/// Properties of the memory-management ABIs (FFA_MEM_DONATE/LEND/SHARE/RETRIEVE_REQ;
/// DEN0077 "FFA_FEATURES": memory management interface properties).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct MemOpProperties {
    /// Bit 0: a buffer other than the TX buffer may carry the descriptor.
    pub dynamic_buffer: bool,
    /// Bit 1 (FFA_MEM_RETRIEVE_REQ, v1.1+): the NS bit of the memory region
    /// attributes is used in retrieve responses.
    pub ns_bit: bool,
    /// Bit 2 (FFA_MEM_RETRIEVE_REQ, v1.1+): retrieve requests from the hypervisor on
    /// behalf of a VM are supported.
    pub hypervisor_retrieve: bool,
}

impl MemOpProperties {
    /// Encodes w2 of the answer.
    pub fn encode(self) -> u32 {
        u32::from(self.dynamic_buffer)
            | (u32::from(self.ns_bit) << 1)
            | (u32::from(self.hypervisor_retrieve) << 2)
    }

    /// Decodes w2; other bits must be zero.
    pub fn decode(w2: u32) -> Option<Self> {
        if w2 & !0b111 != 0 {
            return None;
        }
        Some(Self {
            dynamic_buffer: w2 & 1 != 0,
            ns_bit: w2 & 2 != 0,
            hypervisor_retrieve: w2 & 4 != 0,
        })
    }
}

/// Input property of an FFA_FEATURES(FFA_MEM_RETRIEVE_REQ) query, w2 bit 1: the caller
/// asks whether the NS bit is used (v1.1+).
pub const FEATURES_INPUT_NS_BIT: u32 = 1 << 1;

/// Builds the FFA_SUCCESS answer to an FFA_FEATURES query with properties w2/w3.
pub fn features_success(w2: u32, w3: u32) -> Regs {
    Regs::success32(TargetInfo::default(), [w2, w3, 0, 0, 0, 0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        assert_eq!(
            FeatureQuery::decode(0xC400_0066),
            FeatureQuery::Function(FuncId::RxTxMap64)
        );
        assert_eq!(
            FeatureQuery::decode(2),
            FeatureQuery::Feature(FeatureId::ScheduleReceiverInterrupt)
        );
        assert_eq!(FeatureQuery::decode(4), FeatureQuery::Unknown(4));
        assert_eq!(FeatureQuery::decode(0x101), FeatureQuery::Unknown(0x101));
        assert_eq!(
            FeatureQuery::decode(0x8400_00FF),
            FeatureQuery::Unknown(0x8400_00FF)
        );
        for w in [0xC400_0066, 2, 4, 0x101, 0x8400_00FF] {
            assert_eq!(FeatureQuery::decode(w).encode(), w);
        }
    }

    #[test]
    fn properties() {
        let p = RxTxMapProperties {
            min_buffer: RxTxMinBuffer::Size16K,
            max_pages: 4,
        };
        assert_eq!(p.encode(), 0x0004_0002);
        assert_eq!(RxTxMapProperties::decode(0x0004_0002), Some(p));
        assert_eq!(RxTxMapProperties::decode(3), None);
        assert_eq!(RxTxMapProperties::decode(0x10), None);
        let m = MemOpProperties {
            dynamic_buffer: false,
            ns_bit: true,
            hypervisor_retrieve: false,
        };
        assert_eq!(m.encode(), 2);
        assert_eq!(MemOpProperties::decode(2), Some(m));
        assert_eq!(MemOpProperties::decode(8), None);
        let r = features_success(2, 0);
        assert_eq!((r.x(0), r.x(2)), (0x8400_0061, 2));
    }
}
