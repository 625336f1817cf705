//! The capability gate: the one place that decides, from the static partition table, whether an
//! endpoint may make a call to another. Handlers ask; they never decide themselves.
//!
//! Rules (FF-A v1.2 section 15 plus the integrator's grants in the SP set description):
//! - A direct request needs the sender to declare sending (manifest `messaging-method` bit 1, or
//!   bit 10 for REQ2) and the receiver to declare receiving (bit 0, or bit 9). The normal world
//!   always counts as a sender.
//! - An SP may send direct requests only to the SPs its `capabilities.direct-messages` grant
//!   names. The normal world may message any SP that receives direct requests.
//! - Memory may be shared only with endpoints the `memory-share` grant names.
//! - An SP may signal notifications only to the endpoints its `notify` grant names (checked at
//!   FFA_NOTIFICATION_BIND by the receiver and at FFA_NOTIFICATION_SET by the sender).
//! - Indirect messages need both ends to declare indirect messaging (`messaging-method` bit 2)
//!   and an SP sender the `indirect-messages` grant for the receiver.

#![forbid(unsafe_code)]

use ffa_abi::error::ErrorCode;
use spmc_table::{EndpointId, MessagingMethod, Partition};

/// Who is making a call.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Caller {
    /// The normal world (hypervisor or OS), endpoint 0 and its VMs.
    NormalWorld,
    /// The secure partition at this index of the partition table.
    Sp(usize),
}

/// Which form of direct request is asked for.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum DirectForm {
    /// FFA_MSG_SEND_DIRECT_REQ (32 or 64).
    Req,
    /// FFA_MSG_SEND_DIRECT_REQ2 (v1.2).
    Req2,
}

fn recv_bit(form: DirectForm) -> u32 {
    match form {
        DirectForm::Req => MessagingMethod::DIRECT_REQ_RECV,
        DirectForm::Req2 => MessagingMethod::DIRECT_REQ2_RECV,
    }
}

fn send_bit(form: DirectForm) -> u32 {
    match form {
        DirectForm::Req => MessagingMethod::DIRECT_REQ_SEND,
        DirectForm::Req2 => MessagingMethod::DIRECT_REQ2_SEND,
    }
}

/// Decides whether `sender` may send a direct request of `form` to `receiver`.
pub fn may_send_direct(
    sender: Option<&Partition>,
    receiver: &Partition,
    form: DirectForm,
) -> Result<(), ErrorCode> {
    if !receiver.messaging_method.has(recv_bit(form)) {
        return Err(ErrorCode::Denied);
    }
    match sender {
        None => Ok(()),
        Some(s) => {
            if !s.messaging_method.has(send_bit(form)) {
                return Err(ErrorCode::Denied);
            }
            if !s.capabilities.may_send_direct_to(receiver.id) {
                return Err(ErrorCode::Denied);
            }
            Ok(())
        }
    }
}

/// Decides whether SP `sender` may send a direct request of `form` to the SPMC's own endpoint:
/// it must declare sending that form; no grant is needed (every partition may reach its SPMC).
pub fn may_send_direct_to_spmc(sender: &Partition, form: DirectForm) -> Result<(), ErrorCode> {
    if sender.messaging_method.has(send_bit(form)) {
        Ok(())
    } else {
        Err(ErrorCode::Denied)
    }
}

/// Decides whether `sender` (an SP, or the normal world when `None`) may share, lend or donate
/// memory to `receiver`.
pub fn may_share_memory(sender: Option<&Partition>, receiver: EndpointId) -> Result<(), ErrorCode> {
    match sender {
        // The normal world owns its memory; what it may give is limited by the receivers'
        // existence, checked by the memory engine.
        None => Ok(()),
        Some(s) if s.capabilities.may_share_memory_with(receiver) => Ok(()),
        Some(_) => Err(ErrorCode::Denied),
    }
}

/// Decides whether `sender` (an SP, or the normal world when `None`) may send an indirect
/// message to `receiver` (an SP, or the normal world when `None`): both must declare indirect
/// messaging (`messaging-method` bit 2; the normal world always does), and an SP sender needs
/// the `indirect-messages` grant for the receiver.
pub fn may_send_indirect(
    sender: Option<&Partition>,
    receiver: Option<&Partition>,
) -> Result<(), ErrorCode> {
    if receiver.is_some_and(|r| !r.messaging_method.has(MessagingMethod::INDIRECT)) {
        return Err(ErrorCode::Denied);
    }
    match sender {
        None => Ok(()),
        Some(s) => {
            let to = receiver.map_or(EndpointId(0), |r| r.id);
            if s.messaging_method.has(MessagingMethod::INDIRECT)
                && s.capabilities.may_send_indirect_to(to)
            {
                Ok(())
            } else {
                Err(ErrorCode::Denied)
            }
        }
    }
}

/// Decides whether SP `sender` may bind or set notifications for `receiver` (an SP, or a
/// normal-world endpoint): its `notify` grant must name it.
pub fn may_notify(sender: &Partition, receiver: EndpointId) -> Result<(), ErrorCode> {
    if sender.capabilities.may_notify(receiver) {
        Ok(())
    } else {
        Err(ErrorCode::Denied)
    }
}
