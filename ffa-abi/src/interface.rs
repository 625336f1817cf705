//! Every FF-A v1.0-v1.2 call and return as one typed value, decoded from and encoded
//! to a [`Regs`] block (the function syntax table of each ABI in DEN0077 v1.2 and DEN0140).
//!
//! Decoding checks what the register block can tell: the function exists at the
//! negotiated version, reserved registers and bit fields are zero (only the low 32
//! bits of each register for SMC32 calls, SMCCC "SMC32/HVC32 argument passing"), and enumerated fields hold
//! defined values. Semantic checks that need SPMC state are the caller's job.

use crate::direct::{self, DirectHeader, DirectKind};
use crate::endpoint::{EndpointId, EndpointPair, TargetInfo};
use crate::error::{DecodeError, ErrorCode};
use crate::features::FeatureQuery;
use crate::func_id::FuncId;
use crate::memory::MemHandle;
use crate::regs::Regs;
use crate::uuid::Uuid;
use crate::version::Version;

/// Arguments of FFA_SUCCESS: w2..w7 (SMC32) or x2..x17 (SMC64; x8..x17 only from
/// v1.2, e.g. FFA_PARTITION_INFO_GET_REGS).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SuccessArgs {
    /// FFA_SUCCESS_32: w2..w7.
    Args32([u32; 6]),
    /// FFA_SUCCESS_64: x2..x17.
    Args64([u64; 16]),
}

/// Payload of FFA_MSG_SEND_DIRECT_REQ/RESP: w3..w7 or x3..x7 (DEN0077 "FFA_MSG_SEND_DIRECT_REQ").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DirectArgs {
    /// SMC32 form.
    Args32([u32; 5]),
    /// SMC64 form.
    Args64([u64; 5]),
}

/// FFA_MSG_WAIT w2 bit 0 (FF-A v1.2, "Retain RX buffer ownership"): the caller keeps its RX
/// buffer instead of giving it back to the producer; ignored if it does not own it.
pub const MSG_WAIT_RETAIN_RX: u32 = 1 << 0;

/// w2 of a direct message: bit 31 marks a framework message, bits `[7:0]` its type;
/// everything else is MBZ (DEN0077 "FFA_MSG_SEND_DIRECT_REQ" w2 "Flags").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct DirectMsgFlags(u32);

impl DirectMsgFlags {
    /// A partition message (w2 = 0).
    pub const PARTITION: DirectMsgFlags = DirectMsgFlags(0);

    /// A framework message of type `msg_type`.
    pub const fn framework(msg_type: u8) -> Self {
        DirectMsgFlags(0x8000_0000 | msg_type as u32)
    }

    /// Validates w2.
    pub const fn decode(w2: u32) -> Option<Self> {
        let allowed = if w2 & 0x8000_0000 != 0 {
            0x8000_00FF
        } else {
            0
        };
        if w2 & !allowed != 0 {
            return None;
        }
        Some(DirectMsgFlags(w2))
    }

    /// The raw word.
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// The framework message type, if this is a framework message.
    pub const fn framework_type(self) -> Option<u8> {
        if self.0 & 0x8000_0000 != 0 {
            Some(self.0 as u8)
        } else {
            None
        }
    }
}

/// The buffer of a memory management call when it is not the TX buffer (w3/x3 address
/// and w4 page count, DEN0140 "FFA_MEM_SHARE" function syntax table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemBuffer {
    /// Base address of the buffer.
    pub addr: u64,
    /// Its size in 4K pages.
    pub page_count: u32,
}

/// Arguments of FFA_MEM_DONATE/LEND/SHARE/RETRIEVE_REQ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemTxArgs {
    /// w1: total length of the descriptor.
    pub total_len: u32,
    /// w2: length of the descriptor in this fragment.
    pub frag_len: u32,
    /// w3/w4: a dynamically allocated buffer, or `None` for the TX buffer.
    pub buffer: Option<MemBuffer>,
    /// SMC64 form.
    pub is_64: bool,
}

/// Characters of FFA_CONSOLE_LOG packed in w2..w7 (SMC32, 24 bytes) or x2..x17
/// (SMC64, 128 bytes), first character least significant (DEN0077 v1.2 "FFA_CONSOLE_LOG").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConsoleChars {
    /// w1 bits `[7:0]`: number of valid characters.
    pub len: u8,
    /// The register contents as bytes (beyond `len` kept so encoding is exact).
    pub bytes: [u8; 128],
    /// SMC64 form.
    pub is_64: bool,
}

impl ConsoleChars {
    /// Capacity of the 32-bit form.
    pub const MAX_32: usize = 24;
    /// Capacity of the 64-bit form.
    pub const MAX_64: usize = 128;

    /// Builds from text (truncated to the capacity of the chosen width).
    pub fn new(text: &[u8], is_64: bool) -> Self {
        let cap = if is_64 { Self::MAX_64 } else { Self::MAX_32 };
        let n = text.len().min(cap);
        let mut bytes = [0u8; 128];
        bytes[..n].copy_from_slice(&text[..n]);
        Self {
            len: n as u8,
            bytes,
            is_64,
        }
    }

    /// The valid characters.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len).min(128)]
    }
}

/// One FF-A call or return (DEN0077 v1.2 and DEN0140 ABI chapters). Variants are named after the ABI;
/// `is_64` selects the SMC64 function ID where both widths exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interface {
    /// FFA_ERROR.
    Error {
        /// w1.
        target: TargetInfo,
        /// w2.
        code: ErrorCode,
        /// w3 (v1.2 error argument).
        arg: u32,
    },
    /// FFA_SUCCESS.
    Success {
        /// w1.
        target: TargetInfo,
        /// w2.. / x2...
        args: SuccessArgs,
    },
    /// FFA_INTERRUPT.
    Interrupt {
        /// w1.
        target: TargetInfo,
        /// w2.
        interrupt_id: u32,
    },
    /// FFA_VERSION: w1 = requested version.
    Version {
        /// The version the caller asks for.
        requested: Version,
    },
    /// FFA_FEATURES.
    Features {
        /// w1.
        query: FeatureQuery,
        /// w2 (MBZ in v1.0).
        input_properties: u32,
    },
    /// FFA_RX_ACQUIRE (v1.1): w1 `[15:0]` VM ID.
    RxAcquire {
        /// VM whose buffer is acquired.
        vm_id: EndpointId,
    },
    /// FFA_RX_RELEASE: w1 `[15:0]` VM ID (v1.1, hypervisor use; else 0).
    RxRelease {
        /// VM whose buffer is released.
        vm_id: EndpointId,
    },
    /// FFA_RXTX_MAP.
    RxTxMap {
        /// x1/w1: TX buffer address.
        tx: u64,
        /// x2/w2: RX buffer address.
        rx: u64,
        /// w3 `[5:0]`: pages per buffer.
        page_count: u32,
        /// SMC64 form.
        is_64: bool,
    },
    /// FFA_RXTX_UNMAP: w1 `[31:16]` ID.
    RxTxUnmap {
        /// Endpoint whose buffers are unmapped.
        id: EndpointId,
    },
    /// FFA_PARTITION_INFO_GET.
    PartitionInfoGet {
        /// w1..w4.
        uuid: Uuid,
        /// w5 bit 0 (v1.1+): return the count only.
        count_only: bool,
    },
    /// FFA_PARTITION_INFO_GET_REGS (v1.2).
    PartitionInfoGetRegs {
        /// x1/x2.
        uuid: Uuid,
        /// x3 `[15:0]`.
        start_index: u16,
        /// x3 `[31:16]`.
        tag: u16,
    },
    /// FFA_ID_GET.
    IdGet,
    /// FFA_SPM_ID_GET (v1.1).
    SpmIdGet,
    /// FFA_MSG_WAIT: w2 flags (v1.2+: [`MSG_WAIT_RETAIN_RX`]; MBZ before).
    MsgWait {
        /// w2.
        flags: u32,
    },
    /// FFA_MSG_POLL (legacy v1.0 indirect messaging).
    MsgPoll,
    /// FFA_YIELD.
    Yield {
        /// w1.
        target: TargetInfo,
        /// w2/w3 (v1.1+): timeout in nanoseconds.
        timeout: u64,
    },
    /// FFA_RUN: w1 target.
    Run {
        /// Endpoint and vCPU to run.
        target: TargetInfo,
    },
    /// FFA_NORMAL_WORLD_RESUME.
    NormalWorldResume,
    /// FFA_MSG_SEND (legacy v1.0): w1 ids, w3 size, w4 attributes.
    MsgSend {
        /// w1.
        pair: EndpointPair,
        /// w3: message size in bytes.
        size: u32,
        /// w4.
        attributes: u32,
    },
    /// FFA_MSG_SEND2 (v1.1).
    MsgSend2 {
        /// w1 `[31:16]`: sender VM ID (hypervisor only).
        sender_vm: EndpointId,
        /// w2 (bit 1: delay the schedule receiver interrupt).
        flags: u32,
    },
    /// FFA_MSG_SEND_DIRECT_REQ.
    DirectReq {
        /// w1.
        pair: EndpointPair,
        /// w2.
        flags: DirectMsgFlags,
        /// w3..w7 / x3..x7.
        args: DirectArgs,
    },
    /// FFA_MSG_SEND_DIRECT_RESP.
    DirectResp {
        /// w1.
        pair: EndpointPair,
        /// w2.
        flags: DirectMsgFlags,
        /// w3..w7 / x3..x7.
        args: DirectArgs,
    },
    /// FFA_MSG_SEND_DIRECT_REQ2 (v1.2).
    DirectReq2 {
        /// x1.
        pair: EndpointPair,
        /// x2/x3: protocol UUID.
        uuid: Uuid,
        /// x4..x17.
        args: [u64; 14],
    },
    /// FFA_MSG_SEND_DIRECT_RESP2 (v1.2).
    DirectResp2 {
        /// x1.
        pair: EndpointPair,
        /// x4..x17.
        args: [u64; 14],
    },
    /// FFA_MEM_DONATE.
    MemDonate(MemTxArgs),
    /// FFA_MEM_LEND.
    MemLend(MemTxArgs),
    /// FFA_MEM_SHARE.
    MemShare(MemTxArgs),
    /// FFA_MEM_RETRIEVE_REQ.
    MemRetrieveReq(MemTxArgs),
    /// FFA_MEM_RETRIEVE_RESP: w1 total, w2 fragment length.
    MemRetrieveResp {
        /// Total length of the descriptor.
        total_len: u32,
        /// Length in this fragment.
        frag_len: u32,
    },
    /// FFA_MEM_RELINQUISH (descriptor in the TX buffer).
    MemRelinquish,
    /// FFA_MEM_RECLAIM: w1/w2 handle, w3 flags.
    MemReclaim {
        /// Handle.
        handle: MemHandle,
        /// Bit 0 zero memory, bit 1 time slicing.
        flags: u32,
    },
    /// FFA_MEM_OP_PAUSE.
    MemOpPause {
        /// Handle.
        handle: MemHandle,
    },
    /// FFA_MEM_OP_RESUME.
    MemOpResume {
        /// Handle.
        handle: MemHandle,
    },
    /// FFA_MEM_FRAG_RX: w1/w2 handle, w3 offset, w4 `[31:16]` sender.
    MemFragRx {
        /// Handle.
        handle: MemHandle,
        /// Offset of the requested fragment.
        offset: u32,
        /// Endpoint (hypervisor use).
        sender: EndpointId,
    },
    /// FFA_MEM_FRAG_TX: w1/w2 handle, w3 length, w4 `[31:16]` sender.
    MemFragTx {
        /// Handle.
        handle: MemHandle,
        /// Length of this fragment.
        frag_len: u32,
        /// Endpoint (hypervisor use).
        sender: EndpointId,
    },
    /// FFA_MEM_PERM_GET (v1.1): x1 base VA.
    MemPermGet {
        /// Virtual address.
        addr: u64,
        /// SMC64 form.
        is_64: bool,
    },
    /// FFA_MEM_PERM_SET (v1.1): x1 base VA, w2 pages, w3 permissions.
    MemPermSet {
        /// Virtual address.
        addr: u64,
        /// Number of pages.
        page_count: u32,
        /// Permissions.
        perm: crate::memory::PermGetSet,
        /// SMC64 form.
        is_64: bool,
    },
    /// FFA_NOTIFICATION_BITMAP_CREATE (v1.1).
    NotificationBitmapCreate {
        /// w1 `[15:0]`.
        vm_id: EndpointId,
        /// w2.
        vcpu_count: u32,
    },
    /// FFA_NOTIFICATION_BITMAP_DESTROY (v1.1).
    NotificationBitmapDestroy {
        /// w1 `[15:0]`.
        vm_id: EndpointId,
    },
    /// FFA_NOTIFICATION_BIND (v1.1).
    NotificationBind {
        /// w1: sender `[31:16]`, receiver `[15:0]`.
        pair: EndpointPair,
        /// w2 bit 0: per-vCPU.
        flags: u32,
        /// w3/w4.
        bitmap: u64,
    },
    /// FFA_NOTIFICATION_UNBIND (v1.1).
    NotificationUnbind {
        /// w1.
        pair: EndpointPair,
        /// w3/w4.
        bitmap: u64,
    },
    /// FFA_NOTIFICATION_SET (v1.1).
    NotificationSet {
        /// w1.
        pair: EndpointPair,
        /// w2: bit 0 per-vCPU, bit 1 delay SRI, `[31:16]` vCPU ID.
        flags: u32,
        /// w3/w4.
        bitmap: u64,
    },
    /// FFA_NOTIFICATION_GET (v1.1).
    NotificationGet {
        /// w1 `[31:16]`.
        vcpu: u16,
        /// w1 `[15:0]`.
        receiver: EndpointId,
        /// w2 `[3:0]`: SP, VM, SPM, hypervisor bitmaps.
        flags: u32,
    },
    /// FFA_NOTIFICATION_INFO_GET (v1.1).
    NotificationInfoGet {
        /// SMC64 form.
        is_64: bool,
    },
    /// FFA_SECONDARY_EP_REGISTER (v1.1): x1 entry point.
    SecondaryEpRegister {
        /// Entry address.
        entry: u64,
        /// SMC64 form.
        is_64: bool,
    },
    /// FFA_CONSOLE_LOG (v1.2).
    ConsoleLog(ConsoleChars),
    /// FFA_EL3_INTR_HANDLE (v1.2).
    El3IntrHandle,
}

/// Tracks which registers a decoder consumed, so the rest can be checked MBZ.
struct Reader<'a> {
    regs: &'a [u64; 18],
    is_64: bool,
    used: u32,
    /// Whether registers the ABI does not use must be zero (see [`Interface::decode_sbz_ignored`]).
    check_unused: bool,
}

impl<'a> Reader<'a> {
    fn x(&mut self, i: usize) -> u64 {
        self.used |= 1 << i;
        self.regs[i]
    }

    fn w(&mut self, i: usize) -> u32 {
        self.x(i) as u32
    }

    /// A register-width address: the full x register for SMC64, w for SMC32.
    fn addr(&mut self, i: usize) -> u64 {
        if self.is_64 {
            self.x(i)
        } else {
            u64::from(self.w(i))
        }
    }

    /// A w register in which only `mask` bits may be set.
    fn w_masked(&mut self, i: usize, mask: u32) -> Result<u32, DecodeError> {
        let v = self.w(i);
        if v & !mask != 0 {
            return Err(DecodeError::NonZeroMbz { reg: i as u8 });
        }
        Ok(v)
    }

    /// Checks that every unconsumed register of x1..x7 is zero.
    fn finish(self) -> Result<(), DecodeError> {
        if !self.check_unused {
            return Ok(());
        }
        for i in 1..8 {
            if self.used & (1 << i) != 0 {
                continue;
            }
            let v = if self.is_64 {
                self.regs[i]
            } else {
                u64::from(self.regs[i] as u32)
            };
            if v != 0 {
                return Err(DecodeError::NonZeroMbz { reg: i as u8 });
            }
        }
        Ok(())
    }
}

fn mem_tx(r: &mut Reader<'_>) -> Result<MemTxArgs, DecodeError> {
    r.used |= 0b1_1110;
    MemTxArgs::decode(r.regs, r.is_64)
}

/// FFA_MEM_SHARE, FFA_MEM_LEND and FFA_MEM_DONATE (32 and 64) recognised from w0 without the
/// function table, for a dispatcher's path that decodes them with [`MemTxArgs::decode`]
/// instead of building an [`Interface`]. All six exist from v1.0, so no version refuses
/// them. `None` for every other function.
#[inline(always)]
pub const fn mem_send_fid(w0: u32) -> Option<FuncId> {
    use FuncId as F;
    const SHARE32: u32 = F::MemShare32.raw();
    const SHARE64: u32 = F::MemShare64.raw();
    const LEND32: u32 = F::MemLend32.raw();
    const LEND64: u32 = F::MemLend64.raw();
    const DONATE32: u32 = F::MemDonate32.raw();
    const DONATE64: u32 = F::MemDonate64.raw();
    match w0 {
        SHARE32 => Some(F::MemShare32),
        SHARE64 => Some(F::MemShare64),
        LEND32 => Some(F::MemLend32),
        LEND64 => Some(F::MemLend64),
        DONATE32 => Some(F::MemDonate32),
        DONATE64 => Some(F::MemDonate64),
        _ => None,
    }
}

impl MemTxArgs {
    /// Decodes w1-w4 of FFA_MEM_DONATE/LEND/SHARE/RETRIEVE_REQ from x0-x17 (`is_64`: the
    /// SMC64 form, whose x3 is a whole address): the general decoder's reading of these ABIs
    /// (it calls this), for a dispatcher that knows the function from w0 already. x5-x17 are
    /// not part of these calls (reserved, SBZ: not looked at here).
    #[inline(always)]
    pub fn decode(x: &[u64; 18], is_64: bool) -> Result<MemTxArgs, DecodeError> {
        let total_len = x[1] as u32;
        let frag_len = x[2] as u32;
        let addr = if is_64 { x[3] } else { u64::from(x[3] as u32) };
        let page_count = x[4] as u32;
        if frag_len > total_len || frag_len == 0 {
            return Err(DecodeError::InvalidField {
                reg: 2,
                field: "fragment length",
            });
        }
        let buffer = match (addr, page_count) {
            (0, 0) => None,
            (a, p) if a != 0 && p != 0 => Some(MemBuffer {
                addr: a,
                page_count: p,
            }),
            _ => {
                return Err(DecodeError::InvalidField {
                    reg: 4,
                    field: "buffer address/page count",
                })
            }
        };
        Ok(MemTxArgs {
            total_len,
            frag_len,
            buffer,
            is_64,
        })
    }
}

fn handle(r: &mut Reader<'_>) -> MemHandle {
    MemHandle::from_regs(r.w(1), r.w(2))
}

fn bitmap(r: &mut Reader<'_>) -> u64 {
    u64::from(r.w(3)) | (u64::from(r.w(4)) << 32)
}

impl Interface {
    /// Decodes a call or return made at the negotiated `version`.
    ///
    /// Errors map to FF-A codes with [`DecodeError::error_code`]: unknown functions
    /// and functions newer than `version` give NOT_SUPPORTED, bad fields
    /// INVALID_PARAMETERS. A caller that wants to tolerate a newer function from an
    /// older client (e.g. FFA_CONSOLE_LOG from a v1.1 partition, as some stock SPs
    /// do) can retry with [`Version::LATEST`] on [`DecodeError::NotInVersion`].
    pub fn decode(regs: &Regs, version: Version) -> Result<Interface, DecodeError> {
        Self::decode_checked(&regs.0, version, true)
    }

    /// Decodes like [`Interface::decode`], but ignores the registers of x1..x7 the ABI does
    /// not use, which FF-A marks "Reserved (SBZ)": the caller should write zero, the callee
    /// ignores them. Reserved bits inside the registers an ABI does use (MBZ fields such as
    /// the flags of a direct message or bit 31 of a version) are still refused. A value
    /// decoded this way carries nothing from an ignored register: [`Interface::encode`]
    /// writes zero there.
    pub fn decode_sbz_ignored(regs: &Regs, version: Version) -> Result<Interface, DecodeError> {
        Self::decode_checked(&regs.0, version, false)
    }

    /// [`Interface::decode_sbz_ignored`] of x0-x17 kept in an array (a saved register context,
    /// say), without copying them into a [`Regs`] first.
    pub fn decode_words_sbz_ignored(
        x: &[u64; 18],
        version: Version,
    ) -> Result<Interface, DecodeError> {
        Self::decode_checked(x, version, false)
    }

    fn decode_checked(
        regs: &[u64; 18],
        version: Version,
        check_unused: bool,
    ) -> Result<Interface, DecodeError> {
        let fid = FuncId::try_from(regs[0] as u32).map_err(DecodeError::UnknownFunction)?;
        if !fid.is_available_in(version) {
            return Err(DecodeError::NotInVersion { func: fid, version });
        }
        let v1_0 = version.minor == 0;
        let mut r = Reader {
            regs,
            is_64: fid.is_64bit(),
            used: 0,
            check_unused,
        };
        use FuncId as F;
        let out = match fid {
            F::Error32 => {
                let target = TargetInfo::unpack(r.w(1));
                let raw = r.w(2) as i32;
                let code = ErrorCode::from_i32(raw).ok_or(DecodeError::InvalidField {
                    reg: 2,
                    field: "error code",
                })?;
                Interface::Error {
                    target,
                    code,
                    arg: r.w(3),
                }
            }
            F::Success32 => Interface::Success {
                target: TargetInfo::unpack(r.w(1)),
                args: SuccessArgs::Args32([r.w(2), r.w(3), r.w(4), r.w(5), r.w(6), r.w(7)]),
            },
            F::Success64 => {
                let target = TargetInfo::unpack(r.w(1));
                let mut a = [0u64; 16];
                // x8..x17 are only part of the call from v1.2 (SMCCC v1.2 registers).
                let n = if version.minor >= 2 { 16 } else { 6 };
                for (i, slot) in a.iter_mut().enumerate().take(n) {
                    *slot = r.x(2 + i);
                }
                Interface::Success {
                    target,
                    args: SuccessArgs::Args64(a),
                }
            }
            F::Interrupt32 => Interface::Interrupt {
                target: TargetInfo::unpack(r.w(1)),
                interrupt_id: r.w(2),
            },
            F::Version => {
                let w1 = r.w(1);
                Interface::Version {
                    requested: Version::decode(w1).ok_or(DecodeError::InvalidVersion(w1))?,
                }
            }
            F::Features => {
                let query = FeatureQuery::decode(r.w(1));
                let input_properties = if v1_0 { r.w_masked(2, 0)? } else { r.w(2) };
                Interface::Features {
                    query,
                    input_properties,
                }
            }
            F::RxAcquire => Interface::RxAcquire {
                vm_id: EndpointId(r.w_masked(1, 0xFFFF)? as u16),
            },
            F::RxRelease => Interface::RxRelease {
                vm_id: EndpointId(r.w_masked(1, 0xFFFF)? as u16),
            },
            F::RxTxMap32 | F::RxTxMap64 => Interface::RxTxMap {
                tx: r.addr(1),
                rx: r.addr(2),
                page_count: r.w_masked(3, 0x3F)?,
                is_64: r.is_64,
            },
            F::RxTxUnmap => Interface::RxTxUnmap {
                id: EndpointId((r.w_masked(1, 0xFFFF_0000)? >> 16) as u16),
            },
            F::PartitionInfoGet => {
                let uuid = Uuid::from_words([r.w(1), r.w(2), r.w(3), r.w(4)]);
                let flags = r.w_masked(5, if v1_0 { 0 } else { 1 })?;
                Interface::PartitionInfoGet {
                    uuid,
                    count_only: flags & 1 != 0,
                }
            }
            F::PartitionInfoGetRegs => {
                let uuid = Uuid::from_u64_pair([r.x(1), r.x(2)]);
                let x3 = r.x(3);
                if x3 >> 32 != 0 {
                    return Err(DecodeError::NonZeroMbz { reg: 3 });
                }
                let start_index = x3 as u16;
                let tag = (x3 >> 16) as u16;
                if start_index == 0 && tag != 0 {
                    return Err(DecodeError::InvalidField {
                        reg: 3,
                        field: "information tag with start index 0",
                    });
                }
                Interface::PartitionInfoGetRegs {
                    uuid,
                    start_index,
                    tag,
                }
            }
            F::IdGet => Interface::IdGet,
            F::SpmIdGet => Interface::SpmIdGet,
            // w2 bit 0, "retain RX buffer ownership", exists from v1.2 (Hafnium's
            // `api_ffa_msg_wait`: w2 != 0 below v1.2 is INVALID_PARAMETERS); the rest is MBZ.
            F::MsgWait32 => Interface::MsgWait {
                flags: r.w_masked(
                    2,
                    if version >= Version::V1_2 {
                        MSG_WAIT_RETAIN_RX
                    } else {
                        0
                    },
                )?,
            },
            F::MsgPoll => Interface::MsgPoll,
            F::Yield32 => Interface::Yield {
                target: TargetInfo::unpack(r.w(1)),
                timeout: u64::from(r.w(2)) | (u64::from(r.w(3)) << 32),
            },
            F::Run32 => Interface::Run {
                target: TargetInfo::unpack(r.w(1)),
            },
            F::NormalWorldResume => Interface::NormalWorldResume,
            F::MsgSend => {
                let pair = EndpointPair::unpack(r.w(1));
                Interface::MsgSend {
                    pair,
                    size: r.w(3),
                    attributes: r.w(4),
                }
            }
            F::MsgSend2 => Interface::MsgSend2 {
                sender_vm: EndpointId((r.w_masked(1, 0xFFFF_0000)? >> 16) as u16),
                flags: r.w_masked(2, 0b10)?,
            },
            F::MsgSendDirectReq32
            | F::MsgSendDirectReq64
            | F::MsgSendDirectResp32
            | F::MsgSendDirectResp64
            | F::MsgSendDirectReq2
            | F::MsgSendDirectResp2 => {
                // The message path's codec (crate::direct), so that both apply the same rules.
                let kind = DirectKind::of(fid).ok_or(DecodeError::UnknownFunction(fid.raw()))?;
                // Registers of x1..x7 that are part of the message: all but RESP2's x2/x3.
                r.used |= if kind == DirectKind::Resp2 {
                    0b1111_0010
                } else {
                    0b1111_1110
                };
                let h = DirectHeader::fields(fid, kind, r.regs)?;
                let p = h.payload(r.regs);
                match kind {
                    DirectKind::Req | DirectKind::Resp => {
                        let args = if r.is_64 {
                            DirectArgs::Args64([p[0], p[1], p[2], p[3], p[4]])
                        } else {
                            DirectArgs::Args32([p[0], p[1], p[2], p[3], p[4]].map(|w| w as u32))
                        };
                        let (pair, flags) = (h.pair, h.flags);
                        if kind == DirectKind::Req {
                            Interface::DirectReq { pair, flags, args }
                        } else {
                            Interface::DirectResp { pair, flags, args }
                        }
                    }
                    DirectKind::Req2 => Interface::DirectReq2 {
                        pair: h.pair,
                        uuid: h.uuid,
                        args: p,
                    },
                    DirectKind::Resp2 => Interface::DirectResp2 {
                        pair: h.pair,
                        args: p,
                    },
                }
            }
            F::MemDonate32 | F::MemDonate64 => Interface::MemDonate(mem_tx(&mut r)?),
            F::MemLend32 | F::MemLend64 => Interface::MemLend(mem_tx(&mut r)?),
            F::MemShare32 | F::MemShare64 => Interface::MemShare(mem_tx(&mut r)?),
            F::MemRetrieveReq32 | F::MemRetrieveReq64 => Interface::MemRetrieveReq(mem_tx(&mut r)?),
            F::MemRetrieveResp => {
                let total_len = r.w(1);
                let frag_len = r.w(2);
                if frag_len > total_len || frag_len == 0 {
                    return Err(DecodeError::InvalidField {
                        reg: 2,
                        field: "fragment length",
                    });
                }
                Interface::MemRetrieveResp {
                    total_len,
                    frag_len,
                }
            }
            F::MemRelinquish => Interface::MemRelinquish,
            F::MemReclaim => Interface::MemReclaim {
                handle: handle(&mut r),
                flags: r.w_masked(3, 0b11)?,
            },
            F::MemOpPause => Interface::MemOpPause {
                handle: handle(&mut r),
            },
            F::MemOpResume => Interface::MemOpResume {
                handle: handle(&mut r),
            },
            F::MemFragRx => Interface::MemFragRx {
                handle: handle(&mut r),
                offset: r.w(3),
                sender: EndpointId((r.w_masked(4, 0xFFFF_0000)? >> 16) as u16),
            },
            F::MemFragTx => Interface::MemFragTx {
                handle: handle(&mut r),
                frag_len: r.w(3),
                sender: EndpointId((r.w_masked(4, 0xFFFF_0000)? >> 16) as u16),
            },
            F::MemPermGet32 | F::MemPermGet64 => Interface::MemPermGet {
                addr: r.addr(1),
                is_64: r.is_64,
            },
            F::MemPermSet32 | F::MemPermSet64 => {
                let addr = r.addr(1);
                let page_count = r.w(2);
                let perm =
                    crate::memory::PermGetSet::decode(r.w(3)).ok_or(DecodeError::InvalidField {
                        reg: 3,
                        field: "memory permissions",
                    })?;
                Interface::MemPermSet {
                    addr,
                    page_count,
                    perm,
                    is_64: r.is_64,
                }
            }
            F::NotificationBitmapCreate => Interface::NotificationBitmapCreate {
                vm_id: EndpointId(r.w_masked(1, 0xFFFF)? as u16),
                vcpu_count: r.w(2),
            },
            F::NotificationBitmapDestroy => Interface::NotificationBitmapDestroy {
                vm_id: EndpointId(r.w_masked(1, 0xFFFF)? as u16),
            },
            F::NotificationBind => Interface::NotificationBind {
                pair: EndpointPair::unpack(r.w(1)),
                flags: r.w_masked(2, 1)?,
                bitmap: bitmap(&mut r),
            },
            F::NotificationUnbind => Interface::NotificationUnbind {
                pair: EndpointPair::unpack(r.w(1)),
                bitmap: bitmap(&mut r),
            },
            F::NotificationSet => Interface::NotificationSet {
                pair: EndpointPair::unpack(r.w(1)),
                flags: r.w_masked(2, 0xFFFF_0003)?,
                bitmap: bitmap(&mut r),
            },
            F::NotificationGet => {
                let w1 = r.w(1);
                Interface::NotificationGet {
                    vcpu: (w1 >> 16) as u16,
                    receiver: EndpointId(w1 as u16),
                    flags: r.w_masked(2, 0xF)?,
                }
            }
            F::NotificationInfoGet32 | F::NotificationInfoGet64 => {
                Interface::NotificationInfoGet { is_64: r.is_64 }
            }
            F::SecondaryEpRegister32 | F::SecondaryEpRegister64 => Interface::SecondaryEpRegister {
                entry: r.addr(1),
                is_64: r.is_64,
            },
            F::ConsoleLog32 | F::ConsoleLog64 => {
                // The count is w1[7:0] of FFA_CONSOLE_LOG_32 and x1[7:0] of _64: the rest of
                // the register, upper half of x1 included for _64, is MBZ.
                if r.is_64 && r.regs[1] >> 32 != 0 {
                    return Err(DecodeError::NonZeroMbz { reg: 1 });
                }
                let len = r.w_masked(1, 0xFF)? as u8;
                let cap = if r.is_64 {
                    ConsoleChars::MAX_64
                } else {
                    ConsoleChars::MAX_32
                };
                if len == 0 || usize::from(len) > cap {
                    return Err(DecodeError::InvalidField {
                        reg: 1,
                        field: "character count",
                    });
                }
                let mut bytes = [0u8; 128];
                if r.is_64 {
                    for i in 0..16 {
                        bytes[i * 8..i * 8 + 8].copy_from_slice(&r.x(2 + i).to_le_bytes());
                    }
                } else {
                    for i in 0..6 {
                        bytes[i * 4..i * 4 + 4].copy_from_slice(&r.w(2 + i).to_le_bytes());
                    }
                }
                Interface::ConsoleLog(ConsoleChars {
                    len,
                    bytes,
                    is_64: r.is_64,
                })
            }
            F::El3IntrHandle => Interface::El3IntrHandle,
        };
        r.finish()?;
        Ok(out)
    }

    /// Returns the function ID this value is encoded with.
    pub fn func_id(&self) -> FuncId {
        use FuncId as F;
        let pick = |is_64: bool, f32: F, f64: F| if is_64 { f64 } else { f32 };
        match self {
            Interface::Error { .. } => F::Error32,
            Interface::Success { args, .. } => match args {
                SuccessArgs::Args32(_) => F::Success32,
                SuccessArgs::Args64(_) => F::Success64,
            },
            Interface::Interrupt { .. } => F::Interrupt32,
            Interface::Version { .. } => F::Version,
            Interface::Features { .. } => F::Features,
            Interface::RxAcquire { .. } => F::RxAcquire,
            Interface::RxRelease { .. } => F::RxRelease,
            Interface::RxTxMap { is_64, .. } => pick(*is_64, F::RxTxMap32, F::RxTxMap64),
            Interface::RxTxUnmap { .. } => F::RxTxUnmap,
            Interface::PartitionInfoGet { .. } => F::PartitionInfoGet,
            Interface::PartitionInfoGetRegs { .. } => F::PartitionInfoGetRegs,
            Interface::IdGet => F::IdGet,
            Interface::SpmIdGet => F::SpmIdGet,
            Interface::MsgWait { .. } => F::MsgWait32,
            Interface::MsgPoll => F::MsgPoll,
            Interface::Yield { .. } => F::Yield32,
            Interface::Run { .. } => F::Run32,
            Interface::NormalWorldResume => F::NormalWorldResume,
            Interface::MsgSend { .. } => F::MsgSend,
            Interface::MsgSend2 { .. } => F::MsgSend2,
            Interface::DirectReq { args, .. } => match args {
                DirectArgs::Args32(_) => F::MsgSendDirectReq32,
                DirectArgs::Args64(_) => F::MsgSendDirectReq64,
            },
            Interface::DirectResp { args, .. } => match args {
                DirectArgs::Args32(_) => F::MsgSendDirectResp32,
                DirectArgs::Args64(_) => F::MsgSendDirectResp64,
            },
            Interface::DirectReq2 { .. } => F::MsgSendDirectReq2,
            Interface::DirectResp2 { .. } => F::MsgSendDirectResp2,
            Interface::MemDonate(a) => pick(a.is_64, F::MemDonate32, F::MemDonate64),
            Interface::MemLend(a) => pick(a.is_64, F::MemLend32, F::MemLend64),
            Interface::MemShare(a) => pick(a.is_64, F::MemShare32, F::MemShare64),
            Interface::MemRetrieveReq(a) => pick(a.is_64, F::MemRetrieveReq32, F::MemRetrieveReq64),
            Interface::MemRetrieveResp { .. } => F::MemRetrieveResp,
            Interface::MemRelinquish => F::MemRelinquish,
            Interface::MemReclaim { .. } => F::MemReclaim,
            Interface::MemOpPause { .. } => F::MemOpPause,
            Interface::MemOpResume { .. } => F::MemOpResume,
            Interface::MemFragRx { .. } => F::MemFragRx,
            Interface::MemFragTx { .. } => F::MemFragTx,
            Interface::MemPermGet { is_64, .. } => pick(*is_64, F::MemPermGet32, F::MemPermGet64),
            Interface::MemPermSet { is_64, .. } => pick(*is_64, F::MemPermSet32, F::MemPermSet64),
            Interface::NotificationBitmapCreate { .. } => F::NotificationBitmapCreate,
            Interface::NotificationBitmapDestroy { .. } => F::NotificationBitmapDestroy,
            Interface::NotificationBind { .. } => F::NotificationBind,
            Interface::NotificationUnbind { .. } => F::NotificationUnbind,
            Interface::NotificationSet { .. } => F::NotificationSet,
            Interface::NotificationGet { .. } => F::NotificationGet,
            Interface::NotificationInfoGet { is_64 } => {
                pick(*is_64, F::NotificationInfoGet32, F::NotificationInfoGet64)
            }
            Interface::SecondaryEpRegister { is_64, .. } => {
                pick(*is_64, F::SecondaryEpRegister32, F::SecondaryEpRegister64)
            }
            Interface::ConsoleLog(c) => pick(c.is_64, F::ConsoleLog32, F::ConsoleLog64),
            Interface::El3IntrHandle => F::El3IntrHandle,
        }
    }

    /// Encodes into a register block. Unused registers are zero. Values wider than an
    /// SMC32 field are truncated to it (a decoded value never is).
    pub fn encode(&self) -> Regs {
        let mut x = [0u64; 18];
        x[0] = self.func_id().raw().into();
        let w = |v: u32| u64::from(v);
        let lo = |v: u64| v & 0xFFFF_FFFF;
        match *self {
            Interface::Error { target, code, arg } => {
                x[1] = w(target.pack());
                x[2] = w(code.to_u32());
                x[3] = w(arg);
            }
            Interface::Success { target, args } => {
                x[1] = w(target.pack());
                match args {
                    SuccessArgs::Args32(a) => {
                        for (i, v) in a.iter().enumerate() {
                            x[2 + i] = w(*v);
                        }
                    }
                    SuccessArgs::Args64(a) => x[2..18].copy_from_slice(&a),
                }
            }
            Interface::Interrupt {
                target,
                interrupt_id,
            } => {
                x[1] = w(target.pack());
                x[2] = w(interrupt_id);
            }
            Interface::Version { requested } => x[1] = w(requested.encode()),
            Interface::Features {
                query,
                input_properties,
            } => {
                x[1] = w(query.encode());
                x[2] = w(input_properties);
            }
            Interface::RxAcquire { vm_id } | Interface::RxRelease { vm_id } => {
                x[1] = vm_id.0.into()
            }
            Interface::RxTxMap {
                tx,
                rx,
                page_count,
                is_64,
            } => {
                x[1] = if is_64 { tx } else { lo(tx) };
                x[2] = if is_64 { rx } else { lo(rx) };
                x[3] = w(page_count & 0x3F);
            }
            Interface::RxTxUnmap { id } => x[1] = w(u32::from(id.0) << 16),
            Interface::PartitionInfoGet { uuid, count_only } => {
                let words = uuid.to_words();
                for (i, v) in words.iter().enumerate() {
                    x[1 + i] = w(*v);
                }
                x[5] = w(u32::from(count_only));
            }
            Interface::PartitionInfoGetRegs {
                uuid,
                start_index,
                tag,
            } => {
                let [a, b] = uuid.to_u64_pair();
                x[1] = a;
                x[2] = b;
                x[3] = u64::from(start_index) | (u64::from(tag) << 16);
            }
            Interface::IdGet
            | Interface::SpmIdGet
            | Interface::MsgPoll
            | Interface::NormalWorldResume
            | Interface::MemRelinquish
            | Interface::NotificationInfoGet { .. }
            | Interface::El3IntrHandle => {}
            Interface::MsgWait { flags } => x[2] = w(flags),
            Interface::Yield { target, timeout } => {
                x[1] = w(target.pack());
                x[2] = lo(timeout);
                x[3] = timeout >> 32;
            }
            Interface::Run { target } => x[1] = w(target.pack()),
            Interface::MsgSend {
                pair,
                size,
                attributes,
            } => {
                x[1] = w(pair.pack());
                x[3] = w(size);
                x[4] = w(attributes);
            }
            Interface::MsgSend2 { sender_vm, flags } => {
                x[1] = w(u32::from(sender_vm.0) << 16);
                x[2] = w(flags);
            }
            // The message path's layout (crate::direct).
            Interface::DirectReq { pair, flags, args }
            | Interface::DirectResp { pair, flags, args } => {
                let p = match args {
                    DirectArgs::Args32(a) => a.map(u64::from),
                    DirectArgs::Args64(a) => a,
                };
                direct::write(&mut x, self.func_id(), pair, flags, Uuid::NIL, &p);
            }
            Interface::DirectReq2 { pair, uuid, args } => {
                direct::write(
                    &mut x,
                    self.func_id(),
                    pair,
                    DirectMsgFlags::PARTITION,
                    uuid,
                    &args,
                );
            }
            Interface::DirectResp2 { pair, args } => {
                direct::write(
                    &mut x,
                    self.func_id(),
                    pair,
                    DirectMsgFlags::PARTITION,
                    Uuid::NIL,
                    &args,
                );
            }
            Interface::MemDonate(a)
            | Interface::MemLend(a)
            | Interface::MemShare(a)
            | Interface::MemRetrieveReq(a) => {
                x[1] = w(a.total_len);
                x[2] = w(a.frag_len);
                if let Some(b) = a.buffer {
                    x[3] = if a.is_64 { b.addr } else { lo(b.addr) };
                    x[4] = w(b.page_count);
                }
            }
            Interface::MemRetrieveResp {
                total_len,
                frag_len,
            } => {
                x[1] = w(total_len);
                x[2] = w(frag_len);
            }
            Interface::MemReclaim { handle, flags } => {
                (x[1], x[2]) = handle.to_regs();
                x[3] = w(flags);
            }
            Interface::MemOpPause { handle } | Interface::MemOpResume { handle } => {
                (x[1], x[2]) = handle.to_regs();
            }
            Interface::MemFragRx {
                handle,
                offset,
                sender,
            } => {
                (x[1], x[2]) = handle.to_regs();
                x[3] = w(offset);
                x[4] = w(u32::from(sender.0) << 16);
            }
            Interface::MemFragTx {
                handle,
                frag_len,
                sender,
            } => {
                (x[1], x[2]) = handle.to_regs();
                x[3] = w(frag_len);
                x[4] = w(u32::from(sender.0) << 16);
            }
            Interface::MemPermGet { addr, is_64 } => x[1] = if is_64 { addr } else { lo(addr) },
            Interface::MemPermSet {
                addr,
                page_count,
                perm,
                is_64,
            } => {
                x[1] = if is_64 { addr } else { lo(addr) };
                x[2] = w(page_count);
                x[3] = w(perm.encode());
            }
            Interface::NotificationBitmapCreate { vm_id, vcpu_count } => {
                x[1] = vm_id.0.into();
                x[2] = w(vcpu_count);
            }
            Interface::NotificationBitmapDestroy { vm_id } => x[1] = vm_id.0.into(),
            Interface::NotificationBind {
                pair,
                flags,
                bitmap,
            }
            | Interface::NotificationSet {
                pair,
                flags,
                bitmap,
            } => {
                x[1] = w(pair.pack());
                x[2] = w(flags);
                x[3] = lo(bitmap);
                x[4] = bitmap >> 32;
            }
            Interface::NotificationUnbind { pair, bitmap } => {
                x[1] = w(pair.pack());
                x[3] = lo(bitmap);
                x[4] = bitmap >> 32;
            }
            Interface::NotificationGet {
                vcpu,
                receiver,
                flags,
            } => {
                x[1] = w((u32::from(vcpu) << 16) | u32::from(receiver.0));
                x[2] = w(flags);
            }
            Interface::SecondaryEpRegister { entry, is_64 } => {
                x[1] = if is_64 { entry } else { lo(entry) }
            }
            Interface::ConsoleLog(c) => {
                x[1] = c.len.into();
                if c.is_64 {
                    for i in 0..16 {
                        let mut b = [0u8; 8];
                        b.copy_from_slice(&c.bytes[i * 8..i * 8 + 8]);
                        x[2 + i] = u64::from_le_bytes(b);
                    }
                } else {
                    for i in 0..6 {
                        let mut b = [0u8; 4];
                        b.copy_from_slice(&c.bytes[i * 4..i * 4 + 4]);
                        x[2 + i] = w(u32::from_le_bytes(b));
                    }
                }
            }
        }
        Regs(x)
    }

    /// Builds FFA_ERROR with `code`.
    pub const fn error(code: ErrorCode) -> Interface {
        Interface::Error {
            target: TargetInfo::new(EndpointId(0), 0),
            code,
            arg: 0,
        }
    }

    /// Builds FFA_SUCCESS_32 with w2..w7.
    pub const fn success32(args: [u32; 6]) -> Interface {
        Interface::Success {
            target: TargetInfo::new(EndpointId(0), 0),
            args: SuccessArgs::Args32(args),
        }
    }
}

#[cfg(test)]
mod mem_send_tests {
    use super::*;
    use proptest::prelude::*;

    const SENDS: [FuncId; 6] = [
        FuncId::MemShare32,
        FuncId::MemShare64,
        FuncId::MemLend32,
        FuncId::MemLend64,
        FuncId::MemDonate32,
        FuncId::MemDonate64,
    ];

    /// The versions an FF-A endpoint can have negotiated.
    const VERSIONS: [Version; 3] = [Version::V1_0, Version::V1_1, Version::V1_2];

    #[test]
    fn the_six_send_functions_and_nothing_else() {
        for f in FuncId::ALL {
            let want = SENDS.contains(f).then_some(*f);
            assert_eq!(mem_send_fid(f.raw()), want, "{f:?}");
            for v in VERSIONS {
                assert!(want.is_none() || f.is_available_in(v), "{f:?} at {v:?}");
            }
            // Neighbours of every function ID (one bit flipped, the SMC64 bit included).
            for bit in 0..32 {
                let w0 = f.raw() ^ (1 << bit);
                let want = FuncId::try_from(w0).ok().filter(|g| SENDS.contains(g));
                assert_eq!(mem_send_fid(w0), want, "{w0:#x}");
            }
        }
    }

    proptest! {
        /// The dispatcher's reading of FFA_MEM_SHARE/LEND/DONATE is the general decoder's: the
        /// same arguments where it accepts, the same error where it refuses, at every version,
        /// with junk in every register (w1-w4 often set to a valid combination).
        #[test]
        fn decode_agrees_with_the_general_decoder(
            which in 0usize..6,
            junk in proptest::array::uniform18(any::<u64>()),
            mask in any::<u8>(),
            v in 0usize..3,
        ) {
            let mut x = junk;
            x[0] = (junk[0] & !0xFFFF_FFFF) | u64::from(SENDS[which].raw());
            if mask & 1 != 0 {
                // fragment length <= total length, or equal.
                x[2] = (x[2] & !0xFFFF_FFFF) | u64::from((x[1] as u32) >> (mask >> 4));
            }
            if mask & 2 != 0 {
                x[3] = if mask & 8 != 0 { x[3] & !0xFFFF_FFFF } else { 0 };
            }
            if mask & 4 != 0 {
                x[4] &= !0xFFFF_FFFF;
            }
            let fid = mem_send_fid(x[0] as u32).expect("a send function");
            let fast = MemTxArgs::decode(&x, fid.is_64bit());
            let general = Interface::decode_words_sbz_ignored(&x, VERSIONS[v]);
            match (fast, general) {
                (Err(f), Err(g)) => prop_assert_eq!(f, g),
                (Ok(a), Ok(call)) => {
                    let want = match fid {
                        FuncId::MemShare32 | FuncId::MemShare64 => Interface::MemShare(a),
                        FuncId::MemLend32 | FuncId::MemLend64 => Interface::MemLend(a),
                        _ => Interface::MemDonate(a),
                    };
                    prop_assert_eq!(call, want);
                    prop_assert_eq!(call.func_id(), fid);
                }
                (f, g) => prop_assert!(false, "fast {:?}, general {:?}", f, g),
            }
        }
    }
}

/// Review 6b: `decode_agrees_with_the_general_decoder` compares `MemTxArgs::decode` with the
/// general decoder, which since 34ddc3c calls `MemTxArgs::decode` itself: for w1-w4 it compares
/// the function with itself. This checks the reading against a model of the FF-A text (and of
/// the reading before 34ddc3c): w1 total length, w2 fragment length (0 < frag <= total), x3/w3
/// buffer address (x3 whole for SMC64), w4 page count; address and count both zero or both not;
/// the upper halves of x1, x2, x4 and (SMC32) x3 ignored.
#[cfg(test)]
mod review6b_mem_tx_model {
    use super::*;
    use proptest::prelude::*;

    fn model(x: &[u64; 18], is_64: bool) -> Option<(u32, u32, Option<(u64, u32)>)> {
        let total = (x[1] & 0xFFFF_FFFF) as u32;
        let frag = (x[2] & 0xFFFF_FFFF) as u32;
        let addr = if is_64 { x[3] } else { x[3] & 0xFFFF_FFFF };
        let count = (x[4] & 0xFFFF_FFFF) as u32;
        if frag == 0 || frag > total {
            return None;
        }
        match (addr == 0, count == 0) {
            (true, true) => Some((total, frag, None)),
            (false, false) => Some((total, frag, Some((addr, count)))),
            _ => None,
        }
    }

    proptest! {
        #[test]
        fn mem_tx_decode_matches_the_model(
            x in proptest::array::uniform18(any::<u64>()),
            is_64 in any::<bool>(),
            small in any::<bool>(),
            zero_buf in any::<bool>(),
        ) {
            let mut x = x;
            if small {
                x[2] = (x[2] & !0xFFFF_FFFF) | u64::from((x[1] as u32) >> 3);
            }
            if zero_buf {
                x[3] &= if is_64 { 0 } else { !0xFFFF_FFFF };
                x[4] &= !0xFFFF_FFFF;
            }
            let got = MemTxArgs::decode(&x, is_64)
                .ok()
                .map(|a| (a.total_len, a.frag_len, a.buffer.map(|b| (b.addr, b.page_count))));
            prop_assert_eq!(got, model(&x, is_64));
        }
    }
}
