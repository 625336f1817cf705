//! Trusted Services RPC over FF-A (TS `components/rpc/ts_rpc/`, `docs/developer/
//! service-access-protocols.rst`): the protocol TS's secure partitions speak and Linux's
//! `arm_tstee` driver and TS's libts use.
//!
//! - [`abi`]: the five 32-bit payload registers of FFA_MSG_SEND_DIRECT_REQ/RESP_32 (w3..w7),
//!   decoded to [`abi::Request`] and encoded back.
//! - [`shm`]: the table of shared memory a partition retrieved, keyed by (owner, handle).
//! - [`endpoint`]: the SP side: the management interface (VERSION, MEM_RETRIEVE,
//!   MEM_RELINQUISH, SERVICE_INFO_GET) and service calls dispatched to [`Service`]s.
//! - `sp` (feature `sp`): the endpoint on sp-rt: FF-A memory retrieve/relinquish and the
//!   request loop.
//!
//! No `unsafe`: the bytes of shared memory are reached through [`endpoint::SharedMemory`],
//! which the runtime implements.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

#[cfg(feature = "endpoint")]
extern crate alloc;

pub mod abi;
#[cfg(feature = "endpoint")]
pub mod endpoint;
#[cfg(feature = "endpoint")]
pub mod shm;
#[cfg(any(test, feature = "sp"))]
pub mod sp;

pub use abi::{Control, Request, RpcStatus};
#[cfg(feature = "endpoint")]
pub use endpoint::{Endpoint, Memory, Reply, Service, ServiceCall, SharedMemory};
