//! The TS RPC register ABI (TS `components/rpc/ts_rpc/common/ts_rpc_abi.c`): five 32-bit
//! payload words of FFA_MSG_SEND_DIRECT_REQ_32 / RESP_32, word 0 = w3.
//!
//! Word 0 (the control word, echoed in every response): bits \[31:30\] SAP (0), \[29:24\]
//! flags, \[23:16\] interface ID, \[15:0\] opcode. Interface 0xFF is the management interface.
//!
//! | request | w4 | w5 | w6 | w7 | response w4.. |
//! |---|---|---|---|---|---|
//! | VERSION (0xFF/0) | | | | | version (1) |
//! | MEM_RETRIEVE (0xFF/1) | handle lo | handle hi | tag lo | tag hi | RPC status |
//! | MEM_RELINQUISH (0xFF/2) | handle lo | handle hi | | | RPC status |
//! | SERVICE_INFO_GET (0xFF/3) | UUID bytes 0-3 | 4-7 | 8-11 | 12-15 | RPC status, interface ID |
//! | service call (iface/op) | handle lo | handle hi (all-ones: none) | request length | client ID | RPC status, service status, response length |

use ffa_abi::{MemHandle, Uuid};

/// The FF-A UUID every TS RPC partition carries in its manifest (TS `deployment.cmake`,
/// Linux `TS_RPC_UUID`): bdcd76d7-825e-4751-963b-86d4f84943ac.
pub const PROTOCOL_UUID: Uuid = Uuid([
    0xbd, 0xcd, 0x76, 0xd7, 0x82, 0x5e, 0x47, 0x51, 0x96, 0x3b, 0x86, 0xd4, 0xf8, 0x49, 0x43, 0xac,
]);
/// PSA Internal Trusted Storage service UUID dc1eef48-b17a-4ccf-ac8b-dfcff7711b14.
pub const ITS_UUID: Uuid = Uuid([
    0xdc, 0x1e, 0xef, 0x48, 0xb1, 0x7a, 0x4c, 0xcf, 0xac, 0x8b, 0xdf, 0xcf, 0xf7, 0x71, 0x1b, 0x14,
]);
/// PSA Protected Storage service UUID 751bf801-3dde-4768-a514-0f10aeed1790.
pub const PS_UUID: Uuid = Uuid([
    0x75, 0x1b, 0xf8, 0x01, 0x3d, 0xde, 0x47, 0x68, 0xa5, 0x14, 0x0f, 0x10, 0xae, 0xed, 0x17, 0x90,
]);
/// TS's block storage service UUID 63646e80-eb52-462f-ac4f-8cdf3987519c
/// (`components/service/block_storage/provider/block_storage_uuid.h`).
pub const BLOCK_STORAGE_UUID: Uuid = Uuid([
    0x63, 0x64, 0x6e, 0x80, 0xeb, 0x52, 0x46, 0x2f, 0xac, 0x4f, 0x8c, 0xdf, 0x39, 0x87, 0x51, 0x9c,
]);

/// The management interface ID.
pub const MANAGEMENT_INTERFACE: u8 = 0xFF;
/// Management opcode: protocol version.
pub const OP_VERSION: u16 = 0;
/// Management opcode: retrieve shared memory.
pub const OP_MEM_RETRIEVE: u16 = 1;
/// Management opcode: relinquish shared memory.
pub const OP_MEM_RELINQUISH: u16 = 2;
/// Management opcode: interface ID of a service UUID (TS: INTERFACE_ID_QUERY).
pub const OP_SERVICE_INFO_GET: u16 = 3;
/// The protocol version this crate speaks.
pub const VERSION: u32 = 1;
/// Flag bit 0: fast call (data in registers). TS defines it; its SP endpoint ignores it.
pub const FLAG_FAST_CALL: u8 = 0x01;
/// The memory handle that means "no shared memory" (FFA_MEM_HANDLE_INVALID).
pub const NO_HANDLE: MemHandle = MemHandle::INVALID;

/// RPC layer status (TS `components/rpc/common/interface/rpc_status.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum RpcStatus {
    /// RPC_SUCCESS.
    Success = 0,
    /// RPC_ERROR_INTERNAL.
    Internal = -1,
    /// RPC_ERROR_INVALID_VALUE.
    InvalidValue = -2,
    /// RPC_ERROR_NOT_FOUND.
    NotFound = -3,
    /// RPC_ERROR_INVALID_STATE.
    InvalidState = -4,
    /// RPC_ERROR_TRANSPORT_LAYER.
    TransportLayer = -5,
    /// RPC_ERROR_INVALID_REQUEST_BODY.
    InvalidRequestBody = -6,
    /// RPC_ERROR_INVALID_RESPONSE_BODY.
    InvalidResponseBody = -7,
    /// RPC_ERROR_RESOURCE_FAILURE.
    ResourceFailure = -8,
}

impl RpcStatus {
    /// Returns the register word (two's complement).
    pub const fn word(self) -> u32 {
        self as i32 as u32
    }

    /// Decodes a register word, `None` for a value TS does not define.
    pub const fn from_word(w: u32) -> Option<Self> {
        Some(match w as i32 {
            0 => Self::Success,
            -1 => Self::Internal,
            -2 => Self::InvalidValue,
            -3 => Self::NotFound,
            -4 => Self::InvalidState,
            -5 => Self::TransportLayer,
            -6 => Self::InvalidRequestBody,
            -7 => Self::InvalidResponseBody,
            -8 => Self::ResourceFailure,
            _ => return None,
        })
    }
}

/// The control word (w3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Control(pub u32);

impl Control {
    /// Builds a control word.
    pub const fn new(flags: u8, interface: u8, opcode: u16) -> Self {
        Self(((flags as u32 & 0x3F) << 24) | (interface as u32) << 16 | opcode as u32)
    }

    /// A management interface control word.
    pub const fn management(opcode: u16) -> Self {
        Self::new(0, MANAGEMENT_INTERFACE, opcode)
    }

    /// Bits \[29:24\].
    pub const fn flags(self) -> u8 {
        (self.0 >> 24) as u8 & 0x3F
    }

    /// Bits \[23:16\].
    pub const fn interface(self) -> u8 {
        (self.0 >> 16) as u8
    }

    /// Bits \[15:0\].
    pub const fn opcode(self) -> u16 {
        self.0 as u16
    }
}

/// Packs a UUID into four words the way TS copies `struct rpc_uuid` over the registers
/// (byte 0 in the low byte of w4): the SMCCC packing `ffa_abi::Uuid::to_words` uses.
pub fn uuid_words(u: Uuid) -> [u32; 4] {
    u.to_words()
}

fn handle(lo: u32, hi: u32) -> MemHandle {
    MemHandle(u64::from(hi) << 32 | u64::from(lo))
}

fn split(v: u64) -> (u32, u32) {
    (v as u32, (v >> 32) as u32)
}

/// A decoded TS RPC request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// VERSION.
    Version,
    /// MEM_RETRIEVE of `handle` (with `tag`) from the sender.
    MemRetrieve {
        /// FF-A memory handle.
        handle: MemHandle,
        /// FF-A memory tag.
        tag: u64,
    },
    /// MEM_RELINQUISH of `handle`.
    MemRelinquish {
        /// FF-A memory handle.
        handle: MemHandle,
    },
    /// SERVICE_INFO_GET of a service UUID.
    ServiceInfoGet {
        /// The service asked for.
        uuid: Uuid,
    },
    /// A management opcode TS does not define.
    UnknownManagement {
        /// The opcode.
        opcode: u16,
    },
    /// A call to a service interface.
    Call {
        /// Interface ID (from SERVICE_INFO_GET).
        interface: u8,
        /// Service opcode.
        opcode: u16,
        /// Shared memory holding the request (and then the response); `None` = no memory.
        handle: Option<MemHandle>,
        /// Request bytes at the start of the shared memory.
        request_len: u32,
        /// Client ID the caller names (TS passes it to the service; storage ignores it).
        client_id: u32,
    },
}

impl Request {
    /// Decodes w3..w7 of a REQ_32.
    pub fn decode(w: [u32; 5]) -> Self {
        let c = Control(w[0]);
        if c.interface() == MANAGEMENT_INTERFACE {
            return match c.opcode() {
                OP_VERSION => Self::Version,
                OP_MEM_RETRIEVE => Self::MemRetrieve {
                    handle: handle(w[1], w[2]),
                    tag: u64::from(w[4]) << 32 | u64::from(w[3]),
                },
                OP_MEM_RELINQUISH => Self::MemRelinquish {
                    handle: handle(w[1], w[2]),
                },
                OP_SERVICE_INFO_GET => Self::ServiceInfoGet {
                    uuid: Uuid::from_words([w[1], w[2], w[3], w[4]]),
                },
                opcode => Self::UnknownManagement { opcode },
            };
        }
        let h = handle(w[1], w[2]);
        Self::Call {
            interface: c.interface(),
            opcode: c.opcode(),
            handle: (h != NO_HANDLE).then_some(h),
            request_len: w[3],
            client_id: w[4],
        }
    }

    /// Encodes w3..w7 (flags 0).
    pub fn encode(&self) -> [u32; 5] {
        match *self {
            Self::Version => [Control::management(OP_VERSION).0, 0, 0, 0, 0],
            Self::MemRetrieve { handle, tag } => {
                let (hl, hh) = split(handle.0);
                let (tl, th) = split(tag);
                [Control::management(OP_MEM_RETRIEVE).0, hl, hh, tl, th]
            }
            Self::MemRelinquish { handle } => {
                let (hl, hh) = split(handle.0);
                [Control::management(OP_MEM_RELINQUISH).0, hl, hh, 0, 0]
            }
            Self::ServiceInfoGet { uuid } => {
                let u = uuid_words(uuid);
                [
                    Control::management(OP_SERVICE_INFO_GET).0,
                    u[0],
                    u[1],
                    u[2],
                    u[3],
                ]
            }
            Self::UnknownManagement { opcode } => [Control::management(opcode).0, 0, 0, 0, 0],
            Self::Call {
                interface,
                opcode,
                handle,
                request_len,
                client_id,
            } => {
                let (hl, hh) = split(handle.unwrap_or(NO_HANDLE).0);
                [
                    Control::new(0, interface, opcode).0,
                    hl,
                    hh,
                    request_len,
                    client_id,
                ]
            }
        }
    }
}

/// Response words: the request's control word, then the fields of `kind`.
pub mod response {
    use super::RpcStatus;

    /// VERSION's answer: w4 = version (no RPC status, as TS).
    pub fn version(control: u32, version: u32) -> [u32; 5] {
        [control, version, 0, 0, 0]
    }

    /// MEM_RETRIEVE / MEM_RELINQUISH / a failed call or query: w4 = RPC status.
    pub fn status(control: u32, s: RpcStatus) -> [u32; 5] {
        [control, s.word(), 0, 0, 0]
    }

    /// SERVICE_INFO_GET success: w4 = 0, w5 = interface ID.
    pub fn service_info(control: u32, interface: u8) -> [u32; 5] {
        [
            control,
            RpcStatus::Success.word(),
            u32::from(interface),
            0,
            0,
        ]
    }

    /// A service call the RPC layer completed: w4 = 0, w5 = service status, w6 = length.
    pub fn call(control: u32, service_status: i32, len: u32) -> [u32; 5] {
        [
            control,
            RpcStatus::Success.word(),
            service_status as u32,
            len,
            0,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_word_fields() {
        let c = Control::new(0x3F, 0x12, 0x0101);
        assert_eq!(c.0, 0x3F12_0101);
        assert_eq!((c.flags(), c.interface(), c.opcode()), (0x3F, 0x12, 0x101));
        // SAP bits [31:30] are not flags.
        assert_eq!(Control(0xC000_0000).flags(), 0);
        assert_eq!(Control::management(3).0, 0x00FF_0003);
        assert_eq!(Control::new(0xFF, 1, 2).0, 0x3F01_0002);
    }

    #[test]
    fn uuids_pack_as_ts_copies_them_into_the_registers() {
        // memcpy of the 16 RFC-order bytes over w4..w7 (little-endian words).
        assert_eq!(
            uuid_words(ITS_UUID),
            [0x48ef_1edc, 0xcf4c_7ab1, 0xcfdf_8bac, 0x141b_71f7]
        );
        assert_eq!(
            uuid_words(PS_UUID),
            [0x01f8_1b75, 0x6847_de3d, 0x100f_14a5, 0x9017_edae]
        );
        // The manifest `uuid` cells of a TS SP.
        assert_eq!(
            PROTOCOL_UUID.to_words(),
            [0xd776_cdbd, 0x5147_5e82, 0xd486_3b96, 0xac43_49f8]
        );
        assert_eq!(
            Uuid::parse_str("bdcd76d7-825e-4751-963b-86d4f84943ac"),
            Some(PROTOCOL_UUID)
        );
        assert_eq!(
            Uuid::parse_str("dc1eef48-b17a-4ccf-ac8b-dfcff7711b14"),
            Some(ITS_UUID)
        );
        assert_eq!(
            Uuid::parse_str("751bf801-3dde-4768-a514-0f10aeed1790"),
            Some(PS_UUID)
        );
    }

    #[test]
    fn management_requests_decode_from_ts_register_positions() {
        assert_eq!(Request::decode([0x00FF_0000, 9, 9, 9, 9]), Request::Version);
        assert_eq!(
            Request::decode([0x00FF_0001, 0x3344_5566, 0x1122, 0x7, 0x8]),
            Request::MemRetrieve {
                handle: MemHandle(0x1122_3344_5566),
                tag: 0x8_0000_0007
            }
        );
        assert_eq!(
            Request::decode([0x00FF_0002, 1, 2, 0, 0]),
            Request::MemRelinquish {
                handle: MemHandle(0x2_0000_0001)
            }
        );
        assert_eq!(
            Request::decode([
                0x00FF_0003,
                0x48ef_1edc,
                0xcf4c_7ab1,
                0xcfdf_8bac,
                0x141b_71f7
            ]),
            Request::ServiceInfoGet { uuid: ITS_UUID }
        );
        assert_eq!(
            Request::decode([0x00FF_0004, 0, 0, 0, 0]),
            Request::UnknownManagement { opcode: 4 }
        );
    }

    #[test]
    fn calls_decode_and_round_trip() {
        let r = Request::decode([0x0000_0101, 0xFFFF_FFFF, 0xFFFF_FFFF, 0, 0]);
        assert_eq!(
            r,
            Request::Call {
                interface: 0,
                opcode: 0x101,
                handle: None,
                request_len: 0,
                client_id: 0
            }
        );
        let r = Request::Call {
            interface: 2,
            opcode: 0x100,
            handle: Some(MemHandle(0x8000_0000_0000_0005)),
            request_len: 0x40,
            client_id: 7,
        };
        assert_eq!(r.encode(), [0x0002_0100, 5, 0x8000_0000, 0x40, 7]);
        assert_eq!(Request::decode(r.encode()), r);
        for m in [
            Request::Version,
            Request::MemRetrieve {
                handle: MemHandle(0xAB_CDEF_0123),
                tag: u64::MAX - 1,
            },
            Request::MemRelinquish {
                handle: MemHandle(3),
            },
            Request::ServiceInfoGet { uuid: PS_UUID },
        ] {
            assert_eq!(Request::decode(m.encode()), m);
        }
    }

    #[test]
    fn statuses_are_tss() {
        assert_eq!(RpcStatus::InvalidValue.word(), 0xFFFF_FFFE);
        assert_eq!(RpcStatus::ResourceFailure.word(), 0xFFFF_FFF8);
        for w in 0..=8u32 {
            let s = RpcStatus::from_word(0u32.wrapping_sub(w)).unwrap();
            assert_eq!(s.word(), 0u32.wrapping_sub(w));
        }
        assert_eq!(RpcStatus::from_word(0xFFFF_FFF7), None);
        assert_eq!(RpcStatus::from_word(1), None);
        assert_eq!(
            response::call(0x101, -140, 0),
            [0x101, 0, 0xFFFF_FF74, 0, 0]
        );
        assert_eq!(
            response::service_info(0xFF_0003, 0),
            [0xFF_0003, 0, 0, 0, 0]
        );
        assert_eq!(response::version(0xFF_0000, 1), [0xFF_0000, 1, 0, 0, 0]);
    }
}
