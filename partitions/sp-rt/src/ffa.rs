//! Typed FF-A calls an S-EL0 partition makes (FF-A v1.2, Arm DEN0077: the setup and discovery
//! ABIs, FFA_MSG_WAIT/FFA_YIELD, FFA_MEM_PERM_GET/SET, FFA_CONSOLE_LOG). Each method's doc names
//! the ABI it makes; the spec's section of that ABI is the reference.
//!
//! Every call goes through a [`Conduit`], so the encodings are host-tested with a fake one.
//! Results are decoded the way the spec says: FFA_SUCCESS (32 or 64) is success, FFA_ERROR
//! carries a status code in w2, anything else is an unexpected reply the caller must see.
#![forbid(unsafe_code)]

use crate::abi::fid;
use crate::conduit::{Conduit, Regs, RegsExt, Svc};
use ffa_abi::memory::PermGetSet;
use ffa_abi::partition_info::{
    parse_info_get_regs, InfoGetRegsSummary, PartitionInfo, REGS_PER_ANSWER,
};
use ffa_abi::{FeatureQuery, Interface, TargetInfo, Uuid};

pub use ffa_abi::{EndpointId, ErrorCode, Version};

/// Why an FF-A call did not succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The callee answered FFA_ERROR with this status.
    Ffa(ErrorCode),
    /// The callee answered FFA_ERROR with a status code the spec does not define.
    UnknownStatus(i32),
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
            Self::UnknownStatus(_) | Self::Unexpected(_) => ErrorCode::NotSupported,
        }
    }
}

/// Result of an FF-A call.
pub type Result<T> = core::result::Result<T, Error>;

/// Decodes the status word of FFA_ERROR (w2, two's complement).
fn status_error(w2: u32) -> Error {
    let code = w2 as i32;
    ErrorCode::from_i32(code).map_or(Error::UnknownStatus(code), Error::Ffa)
}

/// Classifies a reply: FFA_SUCCESS (32/64) is `Ok`, FFA_ERROR is `Err(Ffa)`, else `Unexpected`.
pub fn expect_success(r: Regs) -> Result<Regs> {
    match r.fid() {
        fid::SUCCESS_32 | fid::SUCCESS_64 => Ok(r),
        fid::ERROR => Err(status_error(r.w(2))),
        _ => Err(Error::Unexpected(r.fid())),
    }
}

/// What FFA_PARTITION_INFO_GET reported (FF-A v1.2, FFA_PARTITION_INFO_GET: w2 count, w3 size).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionCount {
    /// Number of partition information descriptors (w2).
    pub count: u32,
    /// Size of each descriptor in bytes (w3; 0 when only the count was asked for).
    pub desc_size: u32,
}

/// The partitions of one FFA_PARTITION_INFO_GET_REGS answer (at most
/// [`REGS_PER_ANSWER`]), without allocating.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PartitionsInRegs {
    items: [Option<PartitionInfo>; REGS_PER_ANSWER],
    len: usize,
}

impl PartitionsInRegs {
    fn push(&mut self, p: PartitionInfo) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = Some(p);
            self.len += 1;
        }
    }

    /// Returns the descriptors.
    pub fn iter(&self) -> impl Iterator<Item = PartitionInfo> + '_ {
        self.items.iter().take(self.len).flatten().copied()
    }

    /// Returns how many there are.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Tells whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// What FFA_MEM_PERM_GET reported for a page (FF-A v1.1+, FFA_MEM_PERM_GET: w2
/// bits \[1:0\] data access 0 = none, 1 = RW, 3 = RO; bit 2 = 1 when not executable).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemPerm(pub u32);

/// The FF-A calls of a partition, over a conduit.
#[derive(Debug, Default)]
pub struct Ffa<C: Conduit = Svc> {
    conduit: C,
    /// The SPMC refused FFA_MSG_WAIT's retain flag (INVALID_PARAMETERS: a partition below FF-A
    /// v1.2), so the serving loop's default waits without it (`RxOnWait::KeepUnlessRead`).
    pub(crate) retain_refused: bool,
}

impl Ffa<Svc> {
    /// Returns the FF-A calls of this partition over the real `SVC #0` conduit.
    pub const fn svc() -> Self {
        Self {
            conduit: Svc,
            retain_refused: false,
        }
    }
}

impl<C: Conduit> Ffa<C> {
    /// Wraps a conduit.
    pub const fn new(conduit: C) -> Self {
        Self {
            conduit,
            retain_refused: false,
        }
    }

    /// Returns the conduit (tests read what was sent through it).
    pub fn conduit(&self) -> &C {
        &self.conduit
    }

    /// Makes a raw call and returns the raw reply.
    pub fn call(&mut self, regs: Regs) -> Regs {
        self.conduit.call(regs)
    }

    /// Makes the call `call`, encoded by ffa-abi, and classifies the reply.
    fn call_abi(&mut self, call: Interface) -> Result<Regs> {
        expect_success(self.conduit.call(call.encode()))
    }

    /// FFA_VERSION: tells the callee our version, returns its version. The reply
    /// is not an FFA_SUCCESS: w0 is the version or NOT_SUPPORTED (-1).
    pub fn version(&mut self, ours: Version) -> Result<Version> {
        let r = self
            .conduit
            .call(Interface::Version { requested: ours }.encode());
        Version::from_response(r.w(0)).map_err(Error::Ffa)
    }

    /// FFA_VERSION with any word, even an invalid one (bit 31 set), returning w0 of the reply
    /// unchanged: for tests of the callee's checks.
    pub fn version_raw(&mut self, word: u32) -> u32 {
        self.conduit
            .call(Regs::call(fid::VERSION, &[u64::from(word)]))
            .w(0)
    }

    /// FFA_ID_GET: returns our own endpoint ID.
    pub fn id_get(&mut self) -> Result<EndpointId> {
        self.call_abi(Interface::IdGet)
            .map(|r| EndpointId(r.w(2) as u16))
    }

    /// FFA_SPM_ID_GET: returns the SPMC's endpoint ID.
    pub fn spm_id_get(&mut self) -> Result<EndpointId> {
        self.call_abi(Interface::SpmIdGet)
            .map(|r| EndpointId(r.w(2) as u16))
    }

    /// FFA_FEATURES: asks whether `function_or_feature` is implemented; returns
    /// the interface properties in (w2, w3).
    pub fn features(&mut self, function_or_feature: u32, input: u32) -> Result<(u32, u32)> {
        self.call_abi(Interface::Features {
            query: FeatureQuery::decode(function_or_feature),
            input_properties: input,
        })
        .map(|r| (r.w(2), r.w(3)))
    }

    /// FFA_RXTX_MAP_64: maps our TX (x1) and RX (x2) buffers of `pages` 4 KiB
    /// pages each (w3 bits \[5:0\]) into the SPMC.
    pub fn rxtx_map(&mut self, tx: u64, rx: u64, pages: u32) -> Result<()> {
        if pages == 0 || pages > 0x3F {
            return Err(Error::Ffa(ErrorCode::InvalidParameters));
        }
        self.call_abi(Interface::RxTxMap {
            tx,
            rx,
            page_count: pages,
            is_64: true,
        })
        .map(|_| ())
    }

    /// FFA_RXTX_UNMAP: unmaps our buffers (w1 ID field MBZ from a partition).
    pub fn rxtx_unmap(&mut self) -> Result<()> {
        self.call_abi(Interface::RxTxUnmap { id: EndpointId(0) })
            .map(|_| ())
    }

    /// FFA_RX_RELEASE: gives ownership of our RX buffer back to the producer.
    pub fn rx_release(&mut self) -> Result<()> {
        self.call_abi(Interface::RxRelease {
            vm_id: EndpointId(0),
        })
        .map(|_| ())
    }

    /// FFA_PARTITION_INFO_GET: asks for the partitions answering to `uuid` (nil =
    /// all). Without `count_only` the descriptors land in our RX buffer, which we then own
    /// until [`Self::rx_release`].
    pub fn partition_info_get(&mut self, uuid: Uuid, count_only: bool) -> Result<PartitionCount> {
        let call = Interface::PartitionInfoGet { uuid, count_only }.encode();
        expect_success(self.conduit.call(call)).map(|r| PartitionCount {
            count: r.w(2),
            desc_size: r.w(3),
        })
    }

    /// FFA_PARTITION_INFO_GET_REGS (v1.2): asks for the partitions answering to `uuid` (nil =
    /// all) from index `start` (with the `tag` of a previous answer when `start` > 0), answered
    /// in registers: up to five partitions per call, no RX buffer involved.
    pub fn partition_info_get_regs(
        &mut self,
        uuid: Uuid,
        start: u16,
        tag: u16,
    ) -> Result<(InfoGetRegsSummary, PartitionsInRegs)> {
        let r = self.call_abi(Interface::PartitionInfoGetRegs {
            uuid,
            start_index: start,
            tag,
        })?;
        let mut args = [0u64; 16];
        args.copy_from_slice(&r.0[2..]);
        let (summary, infos) =
            parse_info_get_regs(&args, start).map_err(|e| Error::Ffa(e.error_code()))?;
        let mut out = PartitionsInRegs::default();
        for i in infos {
            out.push(i);
        }
        Ok((summary, out))
    }

    /// FFA_MEM_PERM_GET_64: returns the permissions of the page at `addr` in our own translation regime.
    pub fn mem_perm_get(&mut self, addr: u64) -> Result<MemPerm> {
        self.call_abi(Interface::MemPermGet { addr, is_64: true })
            .map(|r| MemPerm(r.w(2)))
    }

    /// FFA_MEM_PERM_SET_64: sets the permissions (`perm` as in [`MemPerm`]) of `pages` pages
    /// from `addr` (only allowed during initialisation). A `perm` with reserved bits or the
    /// reserved data access 0b10 is INVALID_PARAMETERS without a call, as the SPMC would answer.
    pub fn mem_perm_set(&mut self, addr: u64, pages: u32, perm: u32) -> Result<()> {
        let perm = PermGetSet::decode(perm).ok_or(Error::Ffa(ErrorCode::InvalidParameters))?;
        self.call_abi(Interface::MemPermSet {
            addr,
            page_count: pages,
            perm,
            is_64: true,
        })
        .map(|_| ())
    }

    /// FFA_CONSOLE_LOG_64 (FF-A v1.2): prints up to
    /// [`crate::console::CONSOLE_LOG_64_MAX`] bytes; longer input is split over several calls.
    pub fn console_log(&mut self, bytes: &[u8]) -> Result<()> {
        for chunk in bytes.chunks(crate::console::CONSOLE_LOG_64_MAX) {
            let regs = crate::console::pack_console_log_64(chunk);
            expect_success(self.conduit.call(regs))?;
        }
        Ok(())
    }

    /// FFA_MSG_WAIT: ends our current run (the first call ends initialisation), giving our RX
    /// buffer back to the SPMC, and returns the next message, whatever it is.
    pub fn msg_wait(&mut self) -> Regs {
        self.conduit.call(Interface::MsgWait { flags: 0 }.encode())
    }

    /// FFA_MSG_WAIT keeping our RX buffer (and a message in it) until we release it (FF-A v1.2
    /// w2 bit 0, `MSG_WAIT_RETAIN_RX`; refused with INVALID_PARAMETERS below v1.2).
    pub fn msg_wait_retaining_rx(&mut self) -> Regs {
        self.conduit.call(
            Interface::MsgWait {
                flags: ffa_abi::MSG_WAIT_RETAIN_RX,
            }
            .encode(),
        )
    }

    /// FFA_YIELD: gives the CPU back to whoever ran us; returns how we resume.
    pub fn yield_cpu(&mut self) -> Regs {
        self.conduit.call(
            Interface::Yield {
                target: TargetInfo::default(),
                timeout: 0,
            }
            .encode(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{error_reply, success_reply, FakeSpmc};

    #[test]
    fn success_error_and_other_replies_are_told_apart() {
        assert!(expect_success(success_reply(&[1])).is_ok());
        assert!(expect_success(Regs::call(0xC400_0061, &[])).is_ok());
        assert_eq!(
            expect_success(error_reply(-4)),
            Err(Error::Ffa(ErrorCode::Busy))
        );
        assert_eq!(
            expect_success(error_reply(-77)),
            Err(Error::UnknownStatus(-77))
        );
        assert_eq!(
            expect_success(Regs::call(0x8400_0062, &[])),
            Err(Error::Unexpected(0x8400_0062))
        );
        assert_eq!(Error::UnknownStatus(-77).code(), ErrorCode::NotSupported);
    }

    #[test]
    fn discovery_calls_encode_and_decode() {
        let mut ffa = Ffa::new(FakeSpmc::with_replies([
            success_reply(&[0x8001]),
            success_reply(&[0x8000]),
            Regs::call(0x1_0002, &[]),
            Regs::call(0xFFFF_FFFF, &[]),
            success_reply(&[3, 24]),
            success_reply(&[0b101]),
        ]));
        assert_eq!(ffa.id_get(), Ok(EndpointId(0x8001)));
        assert_eq!(ffa.spm_id_get(), Ok(EndpointId(0x8000)));
        assert_eq!(ffa.version(Version::V1_2), Ok(Version::V1_2));
        assert_eq!(
            ffa.version(Version::V1_1),
            Err(Error::Ffa(ErrorCode::NotSupported))
        );
        let uuid = Uuid::from_words([1, 2, 3, 4]);
        assert_eq!(
            ffa.partition_info_get(uuid, true),
            Ok(PartitionCount {
                count: 3,
                desc_size: 24
            })
        );
        assert_eq!(ffa.mem_perm_get(0x2400_0000), Ok(MemPerm(0b101)));
        let c = &ffa.conduit().calls;
        assert_eq!(c[0].fid(), 0x8400_0069);
        assert_eq!(c[1].fid(), 0x8400_0085);
        assert_eq!((c[2].fid(), c[2].x(1)), (0x8400_0063, 0x1_0002));
        assert_eq!(c[3].x(1), 0x1_0001);
        assert_eq!(c[4].fid(), 0x8400_0068);
        assert_eq!(
            (c[4].x(1), c[4].x(2), c[4].x(3), c[4].x(4), c[4].x(5)),
            (1, 2, 3, 4, 1)
        );
        assert_eq!((c[5].fid(), c[5].x(1)), (0xC400_0088, 0x2400_0000));
    }

    #[test]
    fn partition_info_get_regs_reads_the_registers() {
        use ffa_abi::partition_info::{info_get_regs_success, PartitionProperties};
        let info = |id: EndpointId| PartitionInfo {
            id,
            exec_ctx_count: 1,
            properties: PartitionProperties(0x703),
            uuid: Uuid::from_words([id.0.into(), 2, 3, 4]),
        };
        let summary = InfoGetRegsSummary {
            last_index: 3,
            current_index: 1,
            tag: 9,
            desc_size: 24,
        };
        let answer = info_get_regs_success(
            summary,
            &[info(EndpointId(0x8001)), info(EndpointId(0x8002))],
        )
        .unwrap();
        let bad = info_get_regs_success(
            InfoGetRegsSummary {
                current_index: 7,
                ..summary
            },
            &[],
        )
        .unwrap();
        let mut ffa = Ffa::new(FakeSpmc::with_replies([answer, bad]));
        let uuid = Uuid::from_words([1, 2, 3, 4]);
        let (s, infos) = ffa.partition_info_get_regs(uuid, 0, 0).unwrap();
        assert_eq!(s, summary);
        let got: Vec<_> = infos.iter().collect();
        assert_eq!(
            got,
            vec![info(EndpointId(0x8001)), info(EndpointId(0x8002))]
        );
        // current index beyond start + 5: the answer is malformed.
        assert!(ffa.partition_info_get_regs(uuid, 0, 0).is_err());
        let c = &ffa.conduit().calls;
        assert_eq!(c[0].fid(), 0xC400_008B);
        assert_eq!([c[0].x(1), c[0].x(2)], uuid.to_u64_pair());
        assert_eq!(c[0].x(3), 0);
    }

    #[test]
    fn rxtx_map_checks_the_page_count_before_calling() {
        let mut ffa = Ffa::new(FakeSpmc::default());
        assert_eq!(
            ffa.rxtx_map(0x1000, 0x2000, 0),
            Err(Error::Ffa(ErrorCode::InvalidParameters))
        );
        assert_eq!(
            ffa.rxtx_map(0x1000, 0x2000, 64),
            Err(Error::Ffa(ErrorCode::InvalidParameters))
        );
        assert!(ffa.conduit().calls.is_empty());
        assert_eq!(ffa.rxtx_map(0x1000, 0x2000, 1), Ok(()));
    }

    #[test]
    fn console_log_splits_and_stops_at_the_first_error() {
        let mut ffa = Ffa::new(FakeSpmc::with_replies([
            success_reply(&[]),
            error_reply(-2),
        ]));
        let text = [b'a'; 300];
        assert_eq!(
            ffa.console_log(&text),
            Err(Error::Ffa(ErrorCode::InvalidParameters))
        );
        let c = &ffa.conduit().calls;
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].x(1), c[1].x(1)), (128, 128));
    }
}
