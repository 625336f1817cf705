//! Notifications and indirect messages for partitions (FF-A v1.2 chapters 10 and 16):
//! FFA_NOTIFICATION_BIND/UNBIND/SET/GET and FFA_MSG_SEND2, plus reading a message the SPMC
//! left in our RX buffer; FFA_MSG_SEND / FFA_MSG_POLL for FF-A v1.0 partitions. Calls are encoded by ffa-abi, the message header too.
#![deny(unsafe_code)]

use crate::conduit::{Conduit, Regs, RegsExt};
use crate::ffa::{expect_success, Error, Ffa, Result};
use crate::rxtx::{RxTx, BUFFER_SIZE};
use ffa_abi::indirect::MessageHeader;
use ffa_abi::notification::NotificationBitmaps;
use ffa_abi::{EndpointId, EndpointPair, ErrorCode, Interface, Version};

/// FFA_NOTIFICATION_GET flags: which bitmaps to fetch.
pub mod get {
    /// Notifications from SPs.
    pub const SP: u32 = 1 << 0;
    /// Notifications from VMs.
    pub const VM: u32 = 1 << 1;
    /// Framework notifications from the SPM ("RX buffer full" from an SP: bit 0).
    pub const SPM: u32 = 1 << 2;
    /// Framework notifications from the hypervisor ("RX buffer full" from a VM: bit 0).
    pub const HYP: u32 = 1 << 3;
    /// All four.
    pub const ALL: u32 = SP | VM | SPM | HYP;
}

/// FFA_NOTIFICATION_SET flag: delay the schedule-receiver interrupt.
pub const SET_DELAY_SRI: u32 = 1 << 1;

/// The framework notification "RX buffer full" (bit 0 of the SPM and hypervisor bitmaps).
pub const RX_BUFFER_FULL: u32 = 1 << 0;

impl<C: Conduit> Ffa<C> {
    /// FFA_NOTIFICATION_BIND: lets `sender` signal the notifications in `bitmap` to us (`me`),
    /// globally or per vCPU.
    pub fn notification_bind(
        &mut self,
        sender: EndpointId,
        me: EndpointId,
        per_vcpu: bool,
        bitmap: u64,
    ) -> Result<()> {
        expect_success(
            self.call(
                Interface::NotificationBind {
                    pair: EndpointPair::new(sender, me),
                    flags: u32::from(per_vcpu),
                    bitmap,
                }
                .encode(),
            ),
        )
        .map(|_| ())
    }

    /// FFA_NOTIFICATION_UNBIND of `bitmap` bound to `sender`.
    pub fn notification_unbind(
        &mut self,
        sender: EndpointId,
        me: EndpointId,
        bitmap: u64,
    ) -> Result<()> {
        expect_success(
            self.call(
                Interface::NotificationUnbind {
                    pair: EndpointPair::new(sender, me),
                    bitmap,
                }
                .encode(),
            ),
        )
        .map(|_| ())
    }

    /// FFA_NOTIFICATION_SET from us (`me`) to `receiver`: global unless `vcpu` names one;
    /// `flags` may add [`SET_DELAY_SRI`].
    pub fn notification_set(
        &mut self,
        me: EndpointId,
        receiver: EndpointId,
        vcpu: Option<u16>,
        flags: u32,
        bitmap: u64,
    ) -> Result<()> {
        let vcpu_flags = vcpu.map_or(0, |v| 1 | (u32::from(v) << 16));
        expect_success(
            self.call(
                Interface::NotificationSet {
                    pair: EndpointPair::new(me, receiver),
                    flags: flags | vcpu_flags,
                    bitmap,
                }
                .encode(),
            ),
        )
        .map(|_| ())
    }

    /// FFA_NOTIFICATION_GET: fetches (and clears) our pending notifications of the bitmaps in
    /// `flags` ([`get`]) for `vcpu`.
    pub fn notification_get(
        &mut self,
        me: EndpointId,
        vcpu: u16,
        flags: u32,
    ) -> Result<NotificationBitmaps> {
        let r = expect_success(
            self.call(
                Interface::NotificationGet {
                    vcpu,
                    receiver: me,
                    flags,
                }
                .encode(),
            ),
        )?;
        Ok(NotificationBitmaps::from_args([
            r.w(2),
            r.w(3),
            r.w(4),
            r.w(5),
            r.w(6),
            r.w(7),
        ]))
    }

    /// FFA_MSG_SEND2: writes a header (of `version`'s size) and `payload` into our TX buffer
    /// and asks the SPMC to deliver them to `to`, delaying the schedule-receiver interrupt if
    /// `delay_sri`.
    pub fn msg_send2(
        &mut self,
        rxtx: &mut RxTx,
        me: EndpointId,
        to: EndpointId,
        version: Version,
        payload: &[u8],
        delay_sri: bool,
    ) -> Result<()> {
        let size =
            u32::try_from(payload.len()).map_err(|_| Error::Ffa(ErrorCode::InvalidParameters))?;
        let h = MessageHeader::new(me, to, size, version);
        let written = rxtx.with_tx(|tx| {
            let n = h.write(version, tx)?;
            tx.get_mut(n..n + payload.len())?.copy_from_slice(payload);
            Some(())
        });
        written.ok_or(Error::Ffa(ErrorCode::InvalidParameters))?;
        let flags = if delay_sri { SET_DELAY_SRI } else { 0 };
        expect_success(self.call(Regs::call(
            ffa_abi::FuncId::MsgSend2.raw(),
            &[0, u64::from(flags)],
        )))
        .map(|_| ())
    }

    /// FFA_MSG_SEND (FF-A v1.0 partitions only; removed in v1.1): writes `payload` at the start
    /// of our TX buffer (v1.0 messages have no header) and asks the SPMC to copy it into `to`'s
    /// RX buffer.
    pub fn msg_send_v1_0(
        &mut self,
        rxtx: &mut RxTx,
        me: EndpointId,
        to: EndpointId,
        payload: &[u8],
    ) -> Result<()> {
        let size =
            u32::try_from(payload.len()).map_err(|_| Error::Ffa(ErrorCode::InvalidParameters))?;
        rxtx.with_tx(|tx| {
            tx.get_mut(..payload.len())
                .map(|d| d.copy_from_slice(payload))
        })
        .ok_or(Error::Ffa(ErrorCode::InvalidParameters))?;
        let call = Interface::MsgSend {
            pair: EndpointPair {
                source: me,
                destination: to,
            },
            size,
            attributes: 0,
        };
        expect_success(self.call(call.encode())).map(|_| ())
    }

    /// FFA_MSG_POLL (FF-A v1.0 partitions only): the message FFA_MSG_SEND left in our RX
    /// buffer, as (sender, size); its bytes are at the start of RX, which stays ours until
    /// [`RxTx::release`]. No message: the SPMC's error (RETRY).
    pub fn msg_poll(&mut self) -> Result<(EndpointId, u32)> {
        let r = self.call(Interface::MsgPoll.encode());
        if r.fid() == ffa_abi::FuncId::MsgSend.raw() {
            return Ok((EndpointPair::unpack(r.w(1)).source, r.w(3)));
        }
        match expect_success(r) {
            Ok(r) => Err(Error::Unexpected(r.fid())),
            Err(e) => Err(e),
        }
    }
}

impl RxTx {
    /// Reads the indirect message in our RX buffer (after "RX buffer full"): runs `f` on its
    /// header and payload; `None` if the header does not describe a payload inside the buffer.
    /// The buffer stays ours until [`RxTx::release`].
    pub fn read_message<R>(&self, f: impl FnOnce(&MessageHeader, &[u8]) -> R) -> Option<R> {
        self.with_rx(|rx| {
            let h = MessageHeader::parse(rx)?;
            let start = h.offset as usize;
            let end = start.checked_add(h.size as usize)?;
            if end > BUFFER_SIZE {
                return None;
            }
            Some(f(&h, &rx[start..end]))
        })
    }
}

#[cfg(test)]
#[allow(unsafe_code)]
mod tests {
    use super::*;
    use crate::testing::{success_reply, FakeSpmc};
    use alloc::boxed::Box;

    #[repr(C, align(4096))]
    struct Page([u8; BUFFER_SIZE]);

    #[test]
    fn v1_0_send_and_poll_are_encoded_as_the_spec_says() {
        let mut tx = Box::new(Page([0; BUFFER_SIZE]));
        let rx = Box::new(Page([0; BUFFER_SIZE]));
        // SAFETY: both pages are boxed, aligned and outlive the pair.
        let mut rxtx = unsafe { RxTx::from_raw(rx.0.as_ptr(), tx.0.as_mut_ptr()) };
        let mut ffa = Ffa::new(FakeSpmc::with_replies([
            success_reply(&[]),
            Regs::call(0x8400_006E, &[0x0000_8004, 0, 12]),
            Regs::call(0x8400_0060, &[0, ErrorCode::Retry.to_u32().into()]),
        ]));
        let (me, to) = (EndpointId(0x8004), EndpointId(0x8001));
        ffa.msg_send_v1_0(&mut rxtx, me, to, b"v1.0").unwrap();
        assert_eq!(ffa.msg_poll(), Ok((EndpointId(0), 12)));
        assert_eq!(ffa.msg_poll(), Err(Error::Ffa(ErrorCode::Retry)));
        assert_eq!(&tx.0[..4], b"v1.0");
        let c = &ffa.conduit().calls;
        assert_eq!(
            (c[0].fid(), c[0].x(1), c[0].x(3), c[0].x(4)),
            (0x8400_006E, 0x8004_8001, 4, 0)
        );
        assert_eq!(c[1].fid(), 0x8400_006A);
    }

    #[test]
    fn notification_calls_are_encoded_as_the_spec_says() {
        let mut ffa = Ffa::new(FakeSpmc::with_replies([
            success_reply(&[]),
            success_reply(&[]),
            success_reply(&[]),
            success_reply(&[5, 0, 6, 0, 1, 0]),
        ]));
        let (me, other) = (EndpointId(0x8001), EndpointId(0x8002));
        ffa.notification_bind(other, me, true, 1 << 33).unwrap();
        ffa.notification_unbind(other, me, 1 << 33).unwrap();
        ffa.notification_set(me, other, Some(3), SET_DELAY_SRI, 4)
            .unwrap();
        let b = ffa.notification_get(me, 0, get::ALL).unwrap();
        assert_eq!((b.sp, b.vm, b.spm, b.hyp), (5, 6, 1, 0));
        let c = &ffa.conduit().calls;
        assert_eq!(
            (c[0].fid(), c[0].x(1), c[0].x(2), c[0].x(3), c[0].x(4)),
            (0x8400_007F, 0x8002_8001, 1, 0, 2)
        );
        assert_eq!(
            (c[1].fid(), c[1].x(1), c[1].x(2)),
            (0x8400_0080, 0x8002_8001, 0)
        );
        assert_eq!(
            (c[2].fid(), c[2].x(1), c[2].x(2), c[2].x(3)),
            (0x8400_0081, 0x8001_8002, 0x3_0003, 4)
        );
        assert_eq!(
            (c[3].fid(), c[3].x(1), c[3].x(2)),
            (0x8400_0082, 0x8001, 0xF)
        );
    }

    #[test]
    fn msg_send2_writes_the_header_and_payload_then_calls() {
        let rx = Box::new(Page([0; BUFFER_SIZE]));
        let mut tx = Box::new(Page([0xAA; BUFFER_SIZE]));
        // SAFETY: both pages live until the end of the test and are only used through `pair`.
        let mut pair = unsafe { RxTx::from_raw(rx.0.as_ptr(), tx.0.as_mut_ptr()) };
        let mut ffa = Ffa::new(FakeSpmc::default());
        ffa.msg_send2(
            &mut pair,
            EndpointId(0x8001),
            EndpointId(0),
            Version::V1_2,
            b"hi",
            true,
        )
        .unwrap();
        let c = &ffa.conduit().calls;
        assert_eq!((c[0].fid(), c[0].x(1), c[0].x(2)), (0x8400_0086, 0, 2));
        let h = MessageHeader::parse(&tx.0).unwrap();
        assert_eq!(
            (h.offset, h.sender.0, h.receiver.0, h.size),
            (40, 0x8001, 0, 2)
        );
        assert_eq!(&tx.0[40..42], b"hi");
        // Reading a message back from RX (here: the TX page, as the SPMC would copy it).
        // SAFETY: as above.
        let back = unsafe { RxTx::from_raw(tx.0.as_ptr(), tx.0.as_mut_ptr()) };
        assert_eq!(
            back.read_message(|h, p| (h.sender.0, p.to_vec())),
            Some((0x8001, b"hi".to_vec()))
        );
        let too_big = [0u8; BUFFER_SIZE];
        assert_eq!(
            ffa.msg_send2(
                &mut pair,
                EndpointId(1),
                EndpointId(2),
                Version::V1_1,
                &too_big,
                false
            ),
            Err(Error::Ffa(ErrorCode::InvalidParameters))
        );
    }
}
