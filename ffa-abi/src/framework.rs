//! SPMD <-> SPMC framework messages: direct messages with bit 31 of w2 set and the
//! message type in bits `[7:0]` (DEN0077 "Framework messages" / "Power management messages"; TF-A
//! `spmd_build_spmc_message()`).
//!
//! The SPMD always sends them as FFA_MSG_SEND_DIRECT_REQ_32 from its own endpoint
//! (0xFFFF) to the SPMC; the SPMC answers with FFA_MSG_SEND_DIRECT_RESP_32, IDs
//! swapped.

use crate::endpoint::EndpointPair;
use crate::error::ErrorCode;
use crate::interface::{DirectArgs, DirectMsgFlags, Interface};
use crate::version::Version;

/// Framework message types (bits `[7:0]` of w2).
pub mod msg_type {
    /// Power management request carrying a PSCI function ID (CPU_OFF from the SPMD).
    pub const PSCI: u8 = 0x0;
    /// Power management warm-boot request.
    pub const POWER_WARM_BOOT: u8 = 0x1;
    /// Power management response.
    pub const PM_RESP: u8 = 0x2;
    /// VM created.
    pub const VM_CREATED: u8 = 0x4;
    /// VM created acknowledgement.
    pub const VM_CREATED_ACK: u8 = 0x5;
    /// VM destroyed.
    pub const VM_DESTROYED: u8 = 0x6;
    /// VM destroyed acknowledgement.
    pub const VM_DESTROYED_ACK: u8 = 0x7;
    /// FFA_VERSION request forwarded by the SPMD.
    pub const VERSION_REQ: u8 = 0x8;
    /// FFA_VERSION response.
    pub const VERSION_RESP: u8 = 0x9;
}

/// PSCI CPU_OFF (SMC32), the only PSCI call TF-A's SPMD forwards.
pub const PSCI_CPU_OFF: u32 = 0x8400_0002;

/// A decoded framework message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameworkMsg {
    /// PSCI request: w3 = PSCI function ID, w4..w7 its arguments.
    PsciReq {
        /// The PSCI function (e.g. [`PSCI_CPU_OFF`]).
        function: u32,
        /// Arguments.
        args: [u32; 4],
    },
    /// Power management response: w3 = PSCI status (0 success).
    PmResp {
        /// Status.
        status: i32,
    },
    /// FFA_VERSION request: w3 = version the normal world asked for.
    VersionReq {
        /// Requested version.
        requested: Version,
    },
    /// FFA_VERSION response: w3 = the SPMC's version or NOT_SUPPORTED.
    VersionResp {
        /// Answer.
        version: Result<Version, ErrorCode>,
    },
    /// Any other type; the caller answers as it sees fit.
    Other {
        /// Type.
        msg_type: u8,
        /// w3..w7.
        args: [u32; 5],
        /// Carried by a direct request (else a response).
        is_request: bool,
    },
}

impl FrameworkMsg {
    /// Interprets a direct request/response that carries a framework message;
    /// `None` for partition messages and 64-bit forms.
    pub fn from_interface(i: &Interface) -> Option<(EndpointPair, FrameworkMsg)> {
        let (pair, flags, args) = match i {
            Interface::DirectReq { pair, flags, args }
            | Interface::DirectResp { pair, flags, args } => (pair, flags, args),
            _ => return None,
        };
        let t = flags.framework_type()?;
        let DirectArgs::Args32(a) = args else {
            return None;
        };
        let is_req = matches!(i, Interface::DirectReq { .. });
        let msg = match (t, is_req) {
            (msg_type::PSCI, true) => FrameworkMsg::PsciReq {
                function: a[0],
                args: [a[1], a[2], a[3], a[4]],
            },
            (msg_type::PM_RESP, false) => FrameworkMsg::PmResp {
                status: a[0] as i32,
            },
            (msg_type::VERSION_REQ, true) => match Version::decode(a[0]) {
                Some(v) => FrameworkMsg::VersionReq { requested: v },
                None => FrameworkMsg::Other {
                    msg_type: t,
                    args: *a,
                    is_request: is_req,
                },
            },
            (msg_type::VERSION_RESP, false) => FrameworkMsg::VersionResp {
                version: Version::from_response(a[0]),
            },
            _ => FrameworkMsg::Other {
                msg_type: t,
                args: *a,
                is_request: is_req,
            },
        };
        Some((*pair, msg))
    }

    /// Builds the direct message (request types as a request, response types as a
    /// response) from `pair`.
    pub fn to_interface(&self, pair: EndpointPair) -> Interface {
        let (t, a, req) = match *self {
            FrameworkMsg::PsciReq { function, args } => (
                msg_type::PSCI,
                [function, args[0], args[1], args[2], args[3]],
                true,
            ),
            FrameworkMsg::PmResp { status } => {
                (msg_type::PM_RESP, [status as u32, 0, 0, 0, 0], false)
            }
            FrameworkMsg::VersionReq { requested } => (
                msg_type::VERSION_REQ,
                [requested.encode(), 0, 0, 0, 0],
                true,
            ),
            FrameworkMsg::VersionResp { version } => {
                let w = match version {
                    Ok(v) => v.encode(),
                    Err(e) => e.to_u32(),
                };
                (msg_type::VERSION_RESP, [w, 0, 0, 0, 0], false)
            }
            FrameworkMsg::Other {
                msg_type,
                args,
                is_request,
            } => (msg_type, args, is_request),
        };
        let flags = DirectMsgFlags::framework(t);
        let args = DirectArgs::Args32(a);
        if req {
            Interface::DirectReq { pair, flags, args }
        } else {
            Interface::DirectResp { pair, flags, args }
        }
    }

    /// The SPMC's answer to a request received on `pair`: a response with IDs
    /// swapped.
    pub fn response(pair: EndpointPair, msg: FrameworkMsg) -> Interface {
        msg.to_interface(pair.reversed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::EndpointId;
    use crate::regs::Regs;

    #[test]
    fn tf_a_version_request() {
        // What TF-A's SPMD sends for a normal-world FFA_VERSION(1.1) (TF-A
        // services/std_svc/spmd/spmd_main.c, `spmd_build_spmc_message`).
        let regs = Regs::from_x0_7([0x8400_006F, 0xFFFF_8000, 0x8000_0008, 0x1_0001, 0, 0, 0, 0]);
        let i = Interface::decode(&regs, Version::V1_0).unwrap();
        let (pair, msg) = FrameworkMsg::from_interface(&i).unwrap();
        assert_eq!(pair.source, EndpointId::SPMD);
        assert_eq!(
            msg,
            FrameworkMsg::VersionReq {
                requested: Version::V1_1
            }
        );
        let resp = FrameworkMsg::response(
            pair,
            FrameworkMsg::VersionResp {
                version: Ok(Version::V1_2),
            },
        );
        let r = resp.encode();
        assert_eq!(
            &r.0[..4],
            &[0x8400_0070, 0x8000_FFFF, 0x8000_0009, 0x1_0002]
        );
    }

    #[test]
    fn tf_a_cpu_off() {
        let regs = Regs::from_x0_7([
            0x8400_006F,
            0xFFFF_8000,
            0x8000_0000,
            0x8400_0002,
            0,
            0,
            0,
            0,
        ]);
        let i = Interface::decode(&regs, Version::V1_1).unwrap();
        let (pair, msg) = FrameworkMsg::from_interface(&i).unwrap();
        assert_eq!(
            msg,
            FrameworkMsg::PsciReq {
                function: PSCI_CPU_OFF,
                args: [0; 4]
            }
        );
        let r = FrameworkMsg::response(pair, FrameworkMsg::PmResp { status: 0 }).encode();
        assert_eq!(&r.0[..4], &[0x8400_0070, 0x8000_FFFF, 0x8000_0002, 0]);
    }
}
