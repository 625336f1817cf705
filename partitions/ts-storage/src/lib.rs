//! PSA Storage API 1.0 semantics (Internal Trusted Storage and Protected Storage) behind TS's
//! secure storage protocol (`protocols/service/secure_storage/packed-c`), as a
//! [`ts_rpc::Service`].
//!
//! - Objects are keyed by (caller, UID): the caller is the FF-A endpoint that sent the
//!   message, as TS's storage backends key them, so no endpoint can read, change, remove or
//!   even detect another's objects. The client ID in the message (w7) is not trusted.
//! - UID 0 is invalid; flags outside WRITE_ONCE | NO_CONFIDENTIALITY | NO_REPLAY_PROTECTION
//!   are NOT_SUPPORTED; a write-once object can be neither changed nor removed
//!   (NOT_PERMITTED). The last two flags ask for *less* protection, which the API allows an
//!   implementation to ignore: they are stored and reported back, and change nothing.
//! - Protected Storage adds CREATE and SET_EXTENDED (GET_SUPPORT reports SET_EXTENDED);
//!   Internal Trusted Storage answers them NOT_SUPPORTED and GET_SUPPORT 0, since the PSA
//!   ITS API has neither.
//! - Results and checks follow TS's storage provider and backends where the API leaves a
//!   choice (e.g. GET clips to the data and to the response buffer; SET_EXTENDED may not
//!   leave a gap); malformed requests are RPC errors (INVALID_REQUEST_BODY), not PSA ones.
//! - Objects persist in flash through [`FlashStore`], a power-loss-safe log over the
//!   [`flash::Flash`] seam, which the CFI driver ([`cfi`]) implements on sbsa-ref's secure
//!   flash (docs/storage.md).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod block;
pub mod cfi;
pub mod flash;
pub mod log_store;
pub mod service;
#[cfg(any(feature = "sp", test))]
pub mod sp;
pub mod store;

pub use log_store::FlashStore;
pub use service::{Flavour, StorageService};
pub use store::{Limits, Object, RamStore, Store};
