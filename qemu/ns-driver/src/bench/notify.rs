//! Notification and indirect-message benchmarks (issue 12):
//! - `notify_set_get`: the normal world sets a notification for echo (FFA_NOTIFICATION_SET,
//!   which also raises the schedule-receiver interrupt) and echo fetches it
//!   (FFA_NOTIFICATION_GET inside a DIRECT_REQ_64 round trip: compare with `dreq64_echo`);
//! - `msg_send2_round_trip`: the normal world sends echo an 8-byte indirect message
//!   (FFA_MSG_SEND2) and echo reads it (FFA_NOTIFICATION_GET of "RX buffer full", the copy out
//!   of its RX buffer, FFA_RX_RELEASE, inside a DIRECT_REQ_64 round trip).

use ffa_abi::indirect::MessageHeader;
use ffa_abi::{EndpointId, FuncId, Version};
use test_protocol::{cmd, id, status};

use super::{bench, direct, why, Form, TxBuf};
use crate::ffa::call;

const BIT: u64 = 1 << 9;
const PAYLOAD: u64 = 0x5EED_0000_0000_0001;

fn ok(r: &ffa_abi::Regs) -> bool {
    r.w(0) == FuncId::Success32.raw() || r.w(0) == FuncId::Success64.raw()
}

/// Runs both benchmarks; `run` counts failures.
pub fn run(run: &mut dyn FnMut(bool), tx: &mut TxBuf) {
    if !super::selected("notify_set_get") && !super::selected("msg_send2_round_trip") {
        return;
    }
    // echo binds the normal world for BIT.
    let bound = direct(Form::Req64, id::ECHO, &[cmd::NOTIFY_BIND.into(), 0, BIT, 0]);
    match bound {
        Ok(r) if r.w(3) == status::OK => {
            let set = [(u64::from(id::ECHO)), 0, BIT, 0];
            run(bench("notify_set_get", 300, &mut || {
                let r = call(FuncId::NotificationSet, &set);
                if !ok(&r) {
                    return Err(why(format_args!("SET: {}", crate::ffa::Shown(&r))));
                }
                let g = direct(Form::Req64, id::ECHO, &[cmd::NOTIFY_GET.into(), 0b0010])?;
                if g.w(3) != status::OK || g.x(5) != BIT {
                    return Err(why(format_args!("echo GET: {:#x} {:#x}", g.x(3), g.x(5))));
                }
                Ok(())
            }));
            let _ = direct(Form::Req64, id::ECHO, &[cmd::NOTIFY_UNBIND.into(), 0, BIT]);
        }
        _ => {
            crate::console::bare_line(format_args!("BENCH name=notify_set_get error=bind"));
            run(false);
        }
    }
    // One message, written once: MSG_SEND2 copies it out of TX each time.
    let h = MessageHeader::new(EndpointId(0), id::ECHO, 8, Version::V1_2);
    let buf = tx.bytes(48);
    if h.write(Version::V1_2, buf).is_none() {
        run(false);
        return;
    }
    buf[40..48].copy_from_slice(&PAYLOAD.to_le_bytes());
    run(bench("msg_send2_round_trip", 300, &mut || {
        let r = call(FuncId::MsgSend2, &[0, 0]);
        if !ok(&r) {
            return Err(why(format_args!("MSG_SEND2: {}", crate::ffa::Shown(&r))));
        }
        let m = direct(Form::Req64, id::ECHO, &[cmd::MSG_READ.into()])?;
        if m.w(3) != status::OK || m.x(7) != PAYLOAD {
            return Err(why(format_args!(
                "echo MSG_READ: {:#x} {:#x}",
                m.x(3),
                m.x(7)
            )));
        }
        Ok(())
    }));
}
