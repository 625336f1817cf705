//! FF-A v1.0-v1.2 ABI (Arm DEN0077, memory management in DEN0140 from v1.2): function
//! IDs, register encodings, error codes and memory/partition/boot descriptors as
//! typed Rust values, chosen by the version negotiated with each caller.
//!
//! This crate is where registers and descriptor bytes become typed values and back.
//! It is `no_std`, has no `unsafe`, never allocates, and never panics on untrusted
//! input: every decoder returns an error that maps to the FF-A error code the
//! specification requires ([`DecodeError::error_code`], [`DescError::error_code`]).
//!
//! Citations: rustdoc names the specification section or table by its title (in
//! DEN0077 v1.2 unless a version is given; memory management tables in DEN0140 for
//! v1.2), because table numbers move between releases.
//!
//! Modules:
//! - [`addr`]: [`PhysAddr`], [`PhysRange`] and the FF-A [`PAGE_SIZE`].
//! - [`func_id`]: [`FuncId`], every v1.0-v1.2 function ID, SMC32/SMC64 pairs.
//! - [`error`]: [`ErrorCode`] (NOT_SUPPORTED..NO_DATA) and the rich decode errors.
//! - [`version`]: [`Version`], its encoding and the compatibility rule.
//! - [`endpoint`]: [`EndpointId`] (secure bit 15), packed ID pairs, target info.
//! - [`uuid`]: [`Uuid`] and its SMCCC register packing.
//! - [`regs`]: [`Regs`], the x0-x17 register block, FFA_SUCCESS/FFA_ERROR helpers.
//! - [`interface`]: [`Interface`], every call/return, `decode(regs, version)` and
//!   `encode()`.
//! - [`direct`]: the direct messaging ABIs read and written in place (the message path's
//!   codec, which [`Interface`] uses for them too).
//! - [`features`]: FFA_FEATURES queries (function and feature IDs) and properties.
//! - [`framework`]: SPMD framework messages (PSCI CPU_OFF, FFA_VERSION forwarding).
//! - [`memory`]: handles, attributes, permissions, flags; the memory transaction
//!   descriptor ([`memory::transaction`]) and relinquish descriptor
//!   ([`memory::relinquish`]) in the v1.0 and v1.1+ layouts.
//! - [`notification`]: FFA_NOTIFICATION_GET bitmaps and FFA_NOTIFICATION_INFO_GET ID
//!   lists.
//! - [`partition_info`]: partition information descriptors (8 / 24 bytes) and
//!   partition properties.
//! - [`boot_info`]: v1.1+ boot information header/descriptors and the v1.0
//!   name/value blob.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod addr;
pub mod boot_info;
pub mod direct;
pub mod endpoint;
pub mod error;
pub mod features;
pub mod framework;
pub mod func_id;
pub mod indirect;
pub mod interface;
pub mod memory;
pub mod notification;
pub mod partition_info;
pub mod regs;
pub mod uuid;
pub mod version;
mod wire;

pub use addr::{PhysAddr, PhysRange, PAGE_SIZE};
pub use endpoint::{EndpointId, EndpointPair, TargetInfo};
pub use error::{BuildError, DecodeError, DescError, ErrorCode};
pub use features::{FeatureId, FeatureQuery};
pub use func_id::FuncId;
pub use interface::{DirectArgs, DirectMsgFlags, Interface, SuccessArgs, MSG_WAIT_RETAIN_RX};
pub use memory::MemHandle;
pub use partition_info::{PartitionInfo, PartitionProperties};
pub use regs::Regs;
pub use uuid::Uuid;
pub use version::Version;
