//! Partition information descriptors as FFA_PARTITION_INFO_GET writes them to the caller's RX
//! buffer (FF-A v1.2 "Partition information descriptor": 8 bytes in v1.0, 24 bytes with the
//! UUID from v1.1 on). The codec is ffa-abi's; this module names what SPs use.
#![forbid(unsafe_code)]

pub use ffa_abi::partition_info::{parse_descriptors, PartitionInfo, PartitionProperties};
pub use ffa_abi::Uuid;
