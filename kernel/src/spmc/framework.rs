//! SPMD-to-SPMC framework messages (TF-A SPMD, ffa-facts.md section 2.6): FFA_VERSION requests
//! from the normal world and the PSCI CPU_OFF notification.

use super::{Env, Spmc};
use ffa_abi::endpoint::EndpointPair;
use ffa_abi::error::ErrorCode;
use ffa_abi::func_id::FuncId;
use ffa_abi::interface::DirectArgs;
use ffa_abi::regs::Regs;

/// The SPMD's endpoint ID.
pub const SPMD_ID: u16 = 0xFFFF;
/// Framework message types (bits [7:0] of w2).
pub const MSG_PSCI: u8 = 0x0;
pub const MSG_PM_RESP: u8 = 0x2;
pub const MSG_VERSION_REQ: u8 = 0x8;
pub const MSG_VERSION_RESP: u8 = 0x9;
/// PSCI function the SPMD forwards.
pub const PSCI_CPU_OFF: u32 = 0x8400_0002;
const PSCI_SUCCESS: u32 = 0;
const PSCI_NOT_SUPPORTED: u32 = -1i32 as u32;

fn response(pair: EndpointPair, msg: u8, w3: u32) -> Regs {
    let mut r = Regs::ZERO;
    r.0[0] = FuncId::MsgSendDirectResp32.raw().into();
    r.0[1] = pair.reversed().pack().into();
    r.0[2] = (0x8000_0000 | u32::from(msg)).into();
    r.0[3] = w3.into();
    r
}

/// Handles a framework message. Only the SPMD may send them to the SPMC.
pub fn handle(
    spmc: &Spmc,
    env: &mut impl Env,
    pair: EndpointPair,
    msg: u8,
    args: DirectArgs,
) -> Regs {
    if pair.source.0 != SPMD_ID || pair.destination.0 != spmc.id {
        return Regs::error(ErrorCode::InvalidParameters);
    }
    let w3 = match args {
        DirectArgs::Args32(a) => a[0],
        DirectArgs::Args64(_) => return Regs::error(ErrorCode::InvalidParameters),
    };
    match msg {
        MSG_VERSION_REQ => {
            let r = spmc.negotiate(w3);
            if let Ok((agreed, _)) = r {
                spmc.set_nw_version(agreed);
            }
            let word = match r {
                Ok((_, ours)) => ours.encode(),
                Err(e) => e.to_u32(),
            };
            response(pair, MSG_VERSION_RESP, word)
        }
        MSG_PSCI => {
            let status = if w3 == PSCI_CPU_OFF {
                crate::info!("core {} going off", env.core());
                PSCI_SUCCESS
            } else {
                PSCI_NOT_SUPPORTED
            };
            response(pair, MSG_PM_RESP, status)
        }
        _ => Regs::error(ErrorCode::InvalidParameters),
    }
}
