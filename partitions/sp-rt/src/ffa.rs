//! Typed FF-A calls an S-EL0 partition makes (FF-A v1.2, Arm DEN0077: chapter 13 setup and
//! discovery, chapter 14 CPU cycle management, chapter 16 memory permissions, 13.x console).
//!
//! Every call goes through a [`Conduit`], so the encodings are host-tested with a fake one.
//! Results are decoded the way the spec says: FFA_SUCCESS (32 or 64) is success, FFA_ERROR
//! carries a status code in w2, anything else is an unexpected reply the caller must see.

use crate::abi::{err, fid};
use crate::conduit::{Conduit, Regs, Svc};
use crate::partition_info::{Uuid, PARTITION_INFO_GET_COUNT_ONLY};

/// An FF-A endpoint ID (FF-A v1.2 section 6.1 "Partition identification").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EndpointId(pub u16);

impl EndpointId {
    /// Tells whether the ID belongs to the secure world (bit 15 set).
    pub const fn is_secure(self) -> bool {
        self.0 & 0x8000 != 0
    }
}

/// An FF-A version number as FFA_VERSION encodes it: major in bits [30:16], minor in [15:0]
/// (FF-A v1.2 section 13.2 "FFA_VERSION").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32);

impl Version {
    /// FF-A v1.0.
    pub const V1_0: Self = Self(0x1_0000);
    /// FF-A v1.1.
    pub const V1_1: Self = Self(0x1_0001);
    /// FF-A v1.2, the version this runtime is written against.
    pub const V1_2: Self = Self(0x1_0002);

    /// Returns the major version.
    pub const fn major(self) -> u16 {
        ((self.0 >> 16) & 0x7FFF) as u16
    }

    /// Returns the minor version.
    pub const fn minor(self) -> u16 {
        (self.0 & 0xFFFF) as u16
    }
}

/// An FF-A status code from FFA_ERROR w2 (FF-A v1.2 table 12.2 "Status codes").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// -1
    NotSupported,
    /// -2
    InvalidParameters,
    /// -3
    NoMemory,
    /// -4
    Busy,
    /// -5
    Interrupted,
    /// -6
    Denied,
    /// -7
    Retry,
    /// -8
    Aborted,
    /// -9
    NoData,
    /// A code this runtime does not know, kept as received.
    Unknown(i32),
}

impl ErrorCode {
    /// Decodes the signed status code of FFA_ERROR w2.
    pub const fn from_raw(code: i32) -> Self {
        match code {
            err::NOT_SUPPORTED => Self::NotSupported,
            err::INVALID_PARAMETERS => Self::InvalidParameters,
            err::NO_MEMORY => Self::NoMemory,
            err::BUSY => Self::Busy,
            err::INTERRUPTED => Self::Interrupted,
            err::DENIED => Self::Denied,
            err::RETRY => Self::Retry,
            err::ABORTED => Self::Aborted,
            err::NO_DATA => Self::NoData,
            other => Self::Unknown(other),
        }
    }

    /// Returns the signed status code as FFA_ERROR w2 carries it.
    pub const fn raw(self) -> i32 {
        match self {
            Self::NotSupported => err::NOT_SUPPORTED,
            Self::InvalidParameters => err::INVALID_PARAMETERS,
            Self::NoMemory => err::NO_MEMORY,
            Self::Busy => err::BUSY,
            Self::Interrupted => err::INTERRUPTED,
            Self::Denied => err::DENIED,
            Self::Retry => err::RETRY,
            Self::Aborted => err::ABORTED,
            Self::NoData => err::NO_DATA,
            Self::Unknown(c) => c,
        }
    }
}

/// Why an FF-A call did not succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The callee answered FFA_ERROR with this status.
    Ffa(ErrorCode),
    /// The callee answered with this function ID, which is neither the call's success reply
    /// nor FFA_ERROR (e.g. FFA_INTERRUPT).
    Unexpected(u32),
}

impl Error {
    /// Returns the FF-A status code to report for this error: the callee's own code, or
    /// NOT_SUPPORTED for a reply the runtime could not interpret.
    pub const fn code(&self) -> ErrorCode {
        match self {
            Self::Ffa(c) => *c,
            Self::Unexpected(_) => ErrorCode::NotSupported,
        }
    }
}

/// Result of an FF-A call.
pub type Result<T> = core::result::Result<T, Error>;

/// Classifies a reply: FFA_SUCCESS (32/64) is `Ok`, FFA_ERROR is `Err(Ffa)`, else `Unexpected`.
pub fn expect_success(r: Regs) -> Result<Regs> {
    match r.fid() {
        fid::SUCCESS_32 | fid::SUCCESS_64 => Ok(r),
        fid::ERROR => Err(Error::Ffa(ErrorCode::from_raw(r.w(2) as i32))),
        _ => Err(Error::Unexpected(r.fid())),
    }
}

/// What FFA_PARTITION_INFO_GET reported (FF-A v1.2 section 13.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionCount {
    /// Number of partition information descriptors (w2).
    pub count: u32,
    /// Size of each descriptor in bytes (w3; 0 when only the count was asked for).
    pub desc_size: u32,
}

/// What FFA_MEM_PERM_GET reported for a page (FF-A v1.2 section 16.? "FFA_MEM_PERM_GET": w2
/// bits [1:0] data access 0 = none, 1 = RW, 3 = RO; bit 2 = 1 when not executable).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemPerm(pub u32);

/// The FF-A calls of a partition, over a conduit.
#[derive(Debug, Default)]
pub struct Ffa<C: Conduit = Svc> {
    conduit: C,
}

impl Ffa<Svc> {
    /// Returns the FF-A calls of this partition over the real `SVC #0` conduit.
    pub const fn svc() -> Self {
        Self { conduit: Svc }
    }
}

impl<C: Conduit> Ffa<C> {
    /// Wraps a conduit.
    pub const fn new(conduit: C) -> Self {
        Self { conduit }
    }

    /// Returns the conduit (tests read what was sent through it).
    pub fn conduit(&self) -> &C {
        &self.conduit
    }

    /// Makes a raw call and returns the raw reply.
    pub fn call(&mut self, regs: Regs) -> Regs {
        self.conduit.call(regs)
    }

    fn call_ok(&mut self, fid: u32, args: &[u64]) -> Result<Regs> {
        expect_success(self.conduit.call(Regs::call(fid, args)))
    }

    /// FFA_VERSION (section 13.2): tells the callee our version, returns its version. The reply
    /// is not an FFA_SUCCESS: w0 is the version or NOT_SUPPORTED (-1).
    pub fn version(&mut self, ours: Version) -> Result<Version> {
        let r = self
            .conduit
            .call(Regs::call(fid::VERSION, &[u64::from(ours.0)]));
        let w0 = r.w(0);
        if w0 & 0x8000_0000 != 0 {
            Err(Error::Ffa(ErrorCode::from_raw(w0 as i32)))
        } else {
            Ok(Version(w0))
        }
    }

    /// FFA_ID_GET (section 13.9): returns our own endpoint ID.
    pub fn id_get(&mut self) -> Result<EndpointId> {
        self.call_ok(fid::ID_GET, &[])
            .map(|r| EndpointId(r.w(2) as u16))
    }

    /// FFA_SPM_ID_GET (section 13.10): returns the SPMC's endpoint ID.
    pub fn spm_id_get(&mut self) -> Result<EndpointId> {
        self.call_ok(fid::SPM_ID_GET, &[])
            .map(|r| EndpointId(r.w(2) as u16))
    }

    /// FFA_FEATURES (section 13.3): asks whether `function_or_feature` is implemented; returns
    /// the interface properties in (w2, w3).
    pub fn features(&mut self, function_or_feature: u32, input: u32) -> Result<(u32, u32)> {
        self.call_ok(
            fid::FEATURES,
            &[u64::from(function_or_feature), u64::from(input)],
        )
        .map(|r| (r.w(2), r.w(3)))
    }

    /// FFA_RXTX_MAP_64 (section 13.5): maps our TX (x1) and RX (x2) buffers of `pages` 4 KiB
    /// pages each (w3 bits [5:0]) into the SPMC.
    pub fn rxtx_map(&mut self, tx: u64, rx: u64, pages: u32) -> Result<()> {
        if pages == 0 || pages > 0x3F {
            return Err(Error::Ffa(ErrorCode::InvalidParameters));
        }
        self.call_ok(fid::RXTX_MAP_64, &[tx, rx, u64::from(pages)])
            .map(|_| ())
    }

    /// FFA_RXTX_UNMAP (section 13.6): unmaps our buffers (w1 ID field MBZ from a partition).
    pub fn rxtx_unmap(&mut self) -> Result<()> {
        self.call_ok(fid::RXTX_UNMAP, &[]).map(|_| ())
    }

    /// FFA_RX_RELEASE (section 13.7): gives ownership of our RX buffer back to the producer.
    pub fn rx_release(&mut self) -> Result<()> {
        self.call_ok(fid::RX_RELEASE, &[]).map(|_| ())
    }

    /// FFA_PARTITION_INFO_GET (section 13.8): asks for the partitions answering to `uuid` (nil =
    /// all). Without `count_only` the descriptors land in our RX buffer, which we then own
    /// until [`Self::rx_release`].
    pub fn partition_info_get(&mut self, uuid: Uuid, count_only: bool) -> Result<PartitionCount> {
        let w = uuid.to_regs();
        let flags = if count_only {
            PARTITION_INFO_GET_COUNT_ONLY
        } else {
            0
        };
        self.call_ok(
            fid::PARTITION_INFO_GET,
            &[
                u64::from(w[0]),
                u64::from(w[1]),
                u64::from(w[2]),
                u64::from(w[3]),
                u64::from(flags),
            ],
        )
        .map(|r| PartitionCount {
            count: r.w(2),
            desc_size: r.w(3),
        })
    }

    /// FFA_MEM_PERM_GET_64 (section 16.? of v1.1/v1.2 "Memory permission management"):
    /// returns the permissions of the page at `addr` in our own translation regime.
    pub fn mem_perm_get(&mut self, addr: u64) -> Result<MemPerm> {
        self.call_ok(fid::MEM_PERM_GET_64, &[addr])
            .map(|r| MemPerm(r.w(2)))
    }

    /// FFA_MEM_PERM_SET_64: sets the permissions (`perm` as in [`MemPerm`]) of `pages` pages
    /// from `addr` (only allowed during initialisation).
    pub fn mem_perm_set(&mut self, addr: u64, pages: u32, perm: u32) -> Result<()> {
        self.call_ok(
            fid::MEM_PERM_SET_64,
            &[addr, u64::from(pages), u64::from(perm)],
        )
        .map(|_| ())
    }

    /// FFA_CONSOLE_LOG_64 (FF-A v1.2 section 13.x): prints up to
    /// [`crate::console::CONSOLE_LOG_64_MAX`] bytes; longer input is split over several calls.
    pub fn console_log(&mut self, bytes: &[u8]) -> Result<()> {
        for chunk in bytes.chunks(crate::console::CONSOLE_LOG_64_MAX) {
            let regs = crate::console::pack_console_log_64(chunk);
            expect_success(self.conduit.call(regs))?;
        }
        Ok(())
    }

    /// FFA_MSG_WAIT (section 14.3): ends our current run (the first call ends initialisation)
    /// and returns the next message, whatever it is.
    pub fn msg_wait(&mut self) -> Regs {
        self.conduit.call(Regs::call(fid::MSG_WAIT, &[]))
    }

    /// FFA_YIELD (section 14.4): gives the CPU back to whoever ran us; returns how we resume.
    pub fn yield_cpu(&mut self) -> Regs {
        self.conduit.call(Regs::call(fid::YIELD, &[]))
    }
}
