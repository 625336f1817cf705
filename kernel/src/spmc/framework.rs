//! SPMD-to-SPMC framework messages (TF-A services/std_svc/spmd/spmd_main.c): FFA_VERSION requests
//! from the normal world and the PSCI CPU_OFF notification.
//!
//! Power management. TF-A's SPMD tells the SPMC of two events only (spmd_pm.c registers
//! `svc_off` and `svc_on_finish`): CPU_OFF, as the framework message handled here, answered with
//! the PM response and status 0 (anything else makes the SPMD panic), and CPU_ON, which is no
//! message but a warm entry of the SPMC at the address it registered with
//! FFA_SECONDARY_EP_REGISTER, ended by FFA_MSG_WAIT (boot.rs). Neither is relayed to a
//! partition: the messages of the manifest's `power-management-messages` go to the execution
//! context pinned to the PE changing state, which only an MP partition has. An S-EL0 partition
//! is UP, its one context migrating between cores, so nothing of it is lost with a core (a
//! context preempted there is resumed by FFA_RUN on any core); Hafnium relays CPU_OFF to MP
//! partitions only and clears the field for UP and S-EL0 ones, and manifest-tool refuses the
//! subscription for them.

use super::call::{Cx, Flow};
use super::version;
use super::Env;
use ffa_abi::endpoint::{EndpointId, EndpointPair};
use ffa_abi::error::ErrorCode;
use ffa_abi::framework::{msg_type, FrameworkMsg, PSCI_CPU_OFF};
use ffa_abi::interface::{DirectArgs, Interface};
use ffa_abi::regs::Regs;

/// The SPMD's endpoint ID.
pub const SPMD_ID: EndpointId = EndpointId::SPMD;
const PSCI_SUCCESS: i32 = 0;
const PSCI_NOT_SUPPORTED: i32 = -1;

fn response(pair: EndpointPair, msg: FrameworkMsg) -> Regs {
    msg.to_interface(pair.reversed()).encode()
}

/// Handles a framework message (a DIRECT_REQ with w2 bit 31 set) from the normal world's
/// side. Only the SPMD may send them to the SPMC.
pub fn handle<'s, E: Env>(cx: &mut Cx<'s, '_, E>, call: &Interface, out: &mut Regs) -> Flow<'s> {
    *out = match call {
        Interface::DirectReq { pair, flags, args } => match flags.framework_type() {
            Some(t) => message(cx, *pair, t, args),
            None => Regs::error(ErrorCode::InvalidParameters),
        },
        _ => Regs::error(ErrorCode::NotSupported),
    };
    Flow::Reply
}

fn message<E: Env>(cx: &mut Cx<'_, '_, E>, pair: EndpointPair, msg: u8, args: &DirectArgs) -> Regs {
    if pair.source != SPMD_ID || pair.destination != cx.spmc.id {
        return Regs::error(ErrorCode::InvalidParameters);
    }
    let w3 = match args {
        DirectArgs::Args32(a) => a[0],
        DirectArgs::Args64(_) => return Regs::error(ErrorCode::InvalidParameters),
    };
    match msg {
        msg_type::VERSION_REQ => {
            let r = version::for_normal_world(cx.spmc, w3);
            let mut resp = response(pair, FrameworkMsg::VersionResp { version: r });
            // TF-A's SPMD hands x3 to the normal world as x0 unchanged, and Linux compares x0
            // with NOT_SUPPORTED as a 64-bit -1: sign-extend the error here.
            if r.is_err() {
                resp.0[3] = ErrorCode::NotSupported.to_i32() as i64 as u64;
            }
            resp
        }
        msg_type::PSCI => {
            let status = if w3 == PSCI_CPU_OFF {
                crate::info!("core {} going off", cx.env.core());
                // No run is in progress here, so the timer was disabled when the last one
                // ended (`Env::deadline_swap`): nothing can fire on the core that goes off.
                PSCI_SUCCESS
            } else {
                PSCI_NOT_SUPPORTED
            };
            response(pair, FrameworkMsg::PmResp { status })
        }
        _ => Regs::error(ErrorCode::InvalidParameters),
    }
}
