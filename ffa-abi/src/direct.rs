//! The direct messaging ABIs read and written in place: FFA_MSG_SEND_DIRECT_REQ/RESP (32/64)
//! and FFA_MSG_SEND_DIRECT_REQ2/RESP2 (DEN0077 v1.2 "FFA_MSG_SEND_DIRECT_REQ",
//! "FFA_MSG_SEND_DIRECT_RESP", "FFA_MSG_SEND_DIRECT_REQ2", "FFA_MSG_SEND_DIRECT_RESP2").
//!
//! This is the message path's codec, for the SPMC and the S-EL0 runtime alike: [`DirectHeader`]
//! reads the endpoints, the kind, the flags and REQ2's protocol UUID straight from x0-x3, and
//! the payload stays in the registers ([`DirectHeader::payload`]); [`write`] lays a message out
//! in a register block. [`crate::Interface`] decodes and encodes these six ABIs through the
//! same functions, so the general codec and the message path apply exactly the same rules:
//!
//! - REQ/RESP exist from v1.0, REQ2/RESP2 from v1.2 (NOT_SUPPORTED before);
//! - w1 = sender << 16 | receiver; for REQ2/RESP2 the upper half of x1 must be zero;
//! - w2 of REQ/RESP holds flags: 0 for a partition message, or bit 31 with a framework message
//!   type in bits `[7:0]`; any other bit set is refused (INVALID_PARAMETERS);
//! - the payload is w3..w7 (SMC32: the upper halves are not part of the message), x3..x7
//!   (SMC64) or x4..x17 (REQ2/RESP2, after REQ2's UUID in x2/x3);
//! - everything else (x8..x17 of REQ/RESP, x2/x3 of RESP2) is reserved (SBZ) and ignored, as
//!   [`crate::Interface::decode_sbz_ignored`] ignores it, and written as zero.

use crate::endpoint::EndpointPair;
use crate::error::DecodeError;
use crate::func_id::FuncId;
use crate::interface::DirectMsgFlags;
use crate::uuid::Uuid;
use crate::version::Version;

/// Payload words of REQ/RESP (x3..x7).
pub const PAYLOAD_WORDS: usize = 5;
/// Payload words of REQ2/RESP2 (x4..x17).
pub const PAYLOAD2_WORDS: usize = 14;

/// Which direct messaging ABI (the SMC32 and SMC64 forms of REQ and RESP are one kind each).
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
pub enum DirectKind {
    /// FFA_MSG_SEND_DIRECT_REQ_32/64.
    Req,
    /// FFA_MSG_SEND_DIRECT_RESP_32/64.
    Resp,
    /// FFA_MSG_SEND_DIRECT_REQ2.
    Req2,
    /// FFA_MSG_SEND_DIRECT_RESP2.
    Resp2,
}

impl DirectKind {
    /// The kind of a direct messaging function, `None` for any other function.
    #[inline]
    pub const fn of(fid: FuncId) -> Option<Self> {
        match fid {
            FuncId::MsgSendDirectReq32 | FuncId::MsgSendDirectReq64 => Some(Self::Req),
            FuncId::MsgSendDirectResp32 | FuncId::MsgSendDirectResp64 => Some(Self::Resp),
            FuncId::MsgSendDirectReq2 => Some(Self::Req2),
            FuncId::MsgSendDirectResp2 => Some(Self::Resp2),
            _ => None,
        }
    }

    /// The function of this kind in its SMC32 or SMC64 form (`is_64`: w0 bit 30); REQ2 and
    /// RESP2 exist only as SMC64.
    #[inline]
    pub const fn function(self, is_64: bool) -> FuncId {
        match (self, is_64) {
            (Self::Req, false) => FuncId::MsgSendDirectReq32,
            (Self::Req, true) => FuncId::MsgSendDirectReq64,
            (Self::Resp, false) => FuncId::MsgSendDirectResp32,
            (Self::Resp, true) => FuncId::MsgSendDirectResp64,
            (Self::Req2, _) => FuncId::MsgSendDirectReq2,
            (Self::Resp2, _) => FuncId::MsgSendDirectResp2,
        }
    }

    /// The version that introduced the ABI: [`FuncId::min_version`] of its functions (tested),
    /// without the general table lookup.
    #[inline]
    pub const fn min_version(self) -> Version {
        match self {
            Self::Req | Self::Resp => Version::V1_0,
            Self::Req2 | Self::Resp2 => Version::V1_2,
        }
    }
}

/// Recognises a direct messaging function from w0 without the general function table: the
/// six IDs only, so the message path does not pay for [`FuncId`]'s full `TryFrom`.
#[inline]
pub const fn direct_fid(w0: u32) -> Option<FuncId> {
    const REQ32: u32 = FuncId::MsgSendDirectReq32.raw();
    const REQ64: u32 = FuncId::MsgSendDirectReq64.raw();
    const RESP32: u32 = FuncId::MsgSendDirectResp32.raw();
    const RESP64: u32 = FuncId::MsgSendDirectResp64.raw();
    const REQ2: u32 = FuncId::MsgSendDirectReq2.raw();
    const RESP2: u32 = FuncId::MsgSendDirectResp2.raw();
    match w0 {
        REQ32 => Some(FuncId::MsgSendDirectReq32),
        REQ64 => Some(FuncId::MsgSendDirectReq64),
        RESP32 => Some(FuncId::MsgSendDirectResp32),
        RESP64 => Some(FuncId::MsgSendDirectResp64),
        REQ2 => Some(FuncId::MsgSendDirectReq2),
        RESP2 => Some(FuncId::MsgSendDirectResp2),
        _ => None,
    }
}

/// The six direct messaging functions: REQ_32, REQ_64, RESP_32, RESP_64, REQ2, RESP2.
pub const FUNCTIONS: [FuncId; 6] = [
    FuncId::MsgSendDirectReq32,
    FuncId::MsgSendDirectReq64,
    FuncId::MsgSendDirectResp32,
    FuncId::MsgSendDirectResp64,
    FuncId::MsgSendDirectReq2,
    FuncId::MsgSendDirectResp2,
];

/// A direct message without its payload, decoded from its registers.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
pub struct DirectHeader {
    /// The function (which gives the kind and, for REQ/RESP, the SMC32 or SMC64 form).
    pub fid: FuncId,
    /// The kind of [`DirectHeader::fid`].
    pub kind: DirectKind,
    /// w1: source and destination.
    pub pair: EndpointPair,
    /// w2 of REQ/RESP; [`DirectMsgFlags::PARTITION`] for REQ2/RESP2, which have none.
    pub flags: DirectMsgFlags,
    /// REQ2's protocol UUID (x2, x3); nil for the other kinds.
    pub uuid: Uuid,
}

impl DirectHeader {
    /// Decodes a direct message from x0-x17 made at `version`: `None` when w0 is not a direct
    /// messaging function, else the header or the error the general decoder gives for the
    /// same registers ([`crate::Interface::decode_words_sbz_ignored`] decodes these ABIs with
    /// this function).
    #[inline]
    pub fn decode(x: &[u64; 18], version: Version) -> Option<Result<Self, DecodeError>> {
        Self::decode_fid(direct_fid(x[0] as u32)?, x, version)
    }

    /// [`DirectHeader::decode`] for a caller that has already decoded w0 into `fid` (any
    /// function: `None` unless it is a direct messaging one).
    #[inline]
    pub fn decode_fid(
        fid: FuncId,
        x: &[u64; 18],
        version: Version,
    ) -> Option<Result<Self, DecodeError>> {
        Some(Self::checked(fid, DirectKind::of(fid)?, x, version))
    }

    /// [`DirectHeader::decode`] for a caller that has recognised w0 as a function of `kind`
    /// (its SMC32 or SMC64 form, told apart by w0 bit 30).
    #[inline]
    pub fn decode_kind(
        kind: DirectKind,
        x: &[u64; 18],
        version: Version,
    ) -> Result<Self, DecodeError> {
        Self::checked(kind.function(x[0] & (1 << 30) != 0), kind, x, version)
    }

    /// The version check, then the registers.
    #[inline(always)]
    fn checked(
        fid: FuncId,
        kind: DirectKind,
        x: &[u64; 18],
        version: Version,
    ) -> Result<Self, DecodeError> {
        let min = kind.min_version();
        if version.major != min.major || version.minor < min.minor {
            return Err(DecodeError::NotInVersion { func: fid, version });
        }
        Self::fields(fid, kind, x)
    }

    /// The checks of the registers once the function is known to exist at the caller's
    /// version; shared with the general decoder.
    #[inline]
    pub(crate) fn fields(
        fid: FuncId,
        kind: DirectKind,
        x: &[u64; 18],
    ) -> Result<Self, DecodeError> {
        let pair = EndpointPair::unpack(x[1] as u32);
        let (flags, uuid) = match kind {
            DirectKind::Req | DirectKind::Resp => {
                let flags = DirectMsgFlags::decode(x[2] as u32)
                    .ok_or(DecodeError::NonZeroMbz { reg: 2 })?;
                (flags, Uuid::NIL)
            }
            DirectKind::Req2 | DirectKind::Resp2 => {
                if x[1] >> 32 != 0 {
                    return Err(DecodeError::NonZeroMbz { reg: 1 });
                }
                let uuid = if kind == DirectKind::Req2 {
                    Uuid::from_u64_pair([x[2], x[3]])
                } else {
                    Uuid::NIL
                };
                (DirectMsgFlags::PARTITION, uuid)
            }
        };
        Ok(Self {
            fid,
            kind,
            pair,
            flags,
            uuid,
        })
    }

    /// True for the SMC64 forms (REQ/RESP_64, REQ2, RESP2): payload registers at full width.
    #[inline]
    pub const fn is_64(&self) -> bool {
        self.fid.is_64bit()
    }

    /// How many payload words the message carries: 5 for REQ/RESP, 14 for REQ2/RESP2.
    #[inline]
    pub const fn payload_len(&self) -> usize {
        match self.kind {
            DirectKind::Req | DirectKind::Resp => PAYLOAD_WORDS,
            DirectKind::Req2 | DirectKind::Resp2 => PAYLOAD2_WORDS,
        }
    }

    /// The payload of the message in `x` (the block this header was decoded from): words
    /// 0..[`DirectHeader::payload_len`] are w3..w7 (SMC32, zero-extended), x3..x7 (SMC64)
    /// or x4..x17 (REQ2/RESP2); the words after them are zero.
    #[inline]
    pub fn payload(&self, x: &[u64; 18]) -> [u64; PAYLOAD2_WORDS] {
        let mut p = [0u64; PAYLOAD2_WORDS];
        match self.kind {
            DirectKind::Req | DirectKind::Resp => {
                let mask = if self.is_64() { u64::MAX } else { 0xFFFF_FFFF };
                for (d, s) in p.iter_mut().zip(&x[3..8]) {
                    *d = *s & mask;
                }
            }
            DirectKind::Req2 | DirectKind::Resp2 => p.copy_from_slice(&x[4..18]),
        }
        p
    }
}

/// Writes a direct message of function `fid` into `x`: x0 = `fid`, w1 = `pair`, then for
/// REQ/RESP w2 = `flags` and the first five `payload` words in x3..x7 (their low 32 bits for
/// SMC32), for REQ2 x2/x3 = `uuid` and for RESP2 x2/x3 = 0, and the first fourteen words in
/// x4..x17. Missing payload words and every register the message does not use are zero. A
/// `fid` that is not a direct messaging function leaves `x` unchanged and returns false.
#[inline]
pub fn write(
    x: &mut [u64; 18],
    fid: FuncId,
    pair: EndpointPair,
    flags: DirectMsgFlags,
    uuid: Uuid,
    payload: &[u64],
) -> bool {
    let Some(kind) = DirectKind::of(fid) else {
        return false;
    };
    x[0] = u64::from(fid.raw());
    x[1] = u64::from(pair.pack());
    match kind {
        DirectKind::Req | DirectKind::Resp => {
            x[2] = u64::from(flags.raw());
            let mask = if fid.is_64bit() {
                u64::MAX
            } else {
                0xFFFF_FFFF
            };
            for (i, d) in x[3..8].iter_mut().enumerate() {
                *d = payload.get(i).copied().unwrap_or(0) & mask;
            }
            x[8..18].fill(0);
        }
        DirectKind::Req2 | DirectKind::Resp2 => {
            let [a, b] = if kind == DirectKind::Req2 {
                uuid.to_u64_pair()
            } else {
                [0, 0]
            };
            x[2] = a;
            x[3] = b;
            for (i, d) in x[4..18].iter_mut().enumerate() {
                *d = payload.get(i).copied().unwrap_or(0);
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interface::{DirectArgs, Interface};
    use proptest::prelude::*;

    const FIDS: [FuncId; 6] = FUNCTIONS;

    /// The six function IDs as DEN0077 v1.2 numbers them (SMC32 0x84.., SMC64 0xC4..).
    #[test]
    fn the_functions_are_the_specs_six() {
        let raw = FUNCTIONS.map(FuncId::raw);
        assert_eq!(
            raw,
            [
                0x8400_006F,
                0xC400_006F,
                0x8400_0070,
                0xC400_0070,
                0xC400_008D,
                0xC400_008E
            ]
        );
        let kinds = FUNCTIONS.map(|f| DirectKind::of(f).unwrap());
        use DirectKind::*;
        assert_eq!(kinds, [Req, Req, Resp, Resp, Req2, Resp2]);
    }

    #[test]
    fn kinds_and_versions_are_the_function_tables() {
        for f in FuncId::ALL {
            assert_eq!(direct_fid(f.raw()), DirectKind::of(*f).map(|_| *f), "{f:?}");
            if let Some(k) = DirectKind::of(*f) {
                assert!(FIDS.contains(f));
                assert_eq!(k.min_version(), f.min_version(), "{f:?}");
                assert_eq!(k.function(f.is_64bit()), *f);
            }
        }
        assert_eq!(direct_fid(0), None);
    }

    /// The payload words of a decoded general `Interface`, as [`DirectHeader::payload`] gives
    /// them.
    fn general_payload(call: &Interface) -> [u64; 14] {
        let mut p = [0u64; 14];
        match call {
            Interface::DirectReq { args, .. } | Interface::DirectResp { args, .. } => match args {
                DirectArgs::Args32(a) => {
                    for (d, s) in p.iter_mut().zip(a) {
                        *d = u64::from(*s);
                    }
                }
                DirectArgs::Args64(a) => p[..5].copy_from_slice(a),
            },
            Interface::DirectReq2 { args, .. } | Interface::DirectResp2 { args, .. } => p = *args,
            _ => panic!("not a direct message: {call:?}"),
        }
        p
    }

    /// A register block that is often valid: x0's upper half is junk, x1's upper half and w2
    /// are cleared or set to a framework message by `mask`.
    fn block(which: usize, junk: [u64; 18], mask: u32, framework_type: u8) -> [u64; 18] {
        let mut x = junk;
        x[0] = (junk[0] & !0xFFFF_FFFF) | u64::from(FIDS[which].raw());
        if mask & 1 != 0 {
            x[1] &= 0xFFFF_FFFF;
        }
        if mask & 16 != 0 {
            x[1] = (x[1] & 0xFFFF_FFFF) | 1 << (32 + (mask >> 5) % 2 * 31);
        }
        if mask & 2 != 0 {
            x[2] &= !0xFFFF_FFFF;
        }
        if mask & 4 != 0 {
            x[2] = (x[2] & !0xFFFF_FFFF) | 0x8000_0000 | u64::from(framework_type);
        }
        x
    }

    proptest! {
        /// The message path's decode is the general decoder's: the same error where it
        /// refuses, the same endpoints, flags, UUID and payload where it accepts, at every
        /// version, with junk in every register.
        #[test]
        fn decode_agrees_with_the_general_decoder(
            which in 0usize..6,
            junk in proptest::array::uniform18(any::<u64>()),
            mask in any::<u32>(),
            major in 0u16..3,
            minor in 0u16..4,
            framework_type in any::<u8>(),
        ) {
            let x = block(which, junk, mask, framework_type);
            let version = if mask & 8 != 0 { Version::V1_2 } else { Version::new(major, minor) };
            let general = Interface::decode_words_sbz_ignored(&x, version);
            let fast = DirectHeader::decode(&x, version).expect("a direct messaging function");
            prop_assert_eq!(DirectHeader::decode_fid(FIDS[which], &x, version), Some(fast));
            let kind = DirectKind::of(FIDS[which]).unwrap();
            prop_assert_eq!(DirectHeader::decode_kind(kind, &x, version), fast);
            match (fast, general) {
                (Err(f), Err(g)) => prop_assert_eq!(f, g),
                (Ok(h), Ok(call)) => {
                    let (pair, flags, uuid) = match call {
                        Interface::DirectReq { pair, flags, .. }
                        | Interface::DirectResp { pair, flags, .. } => (pair, flags, Uuid::NIL),
                        Interface::DirectReq2 { pair, uuid, .. } => (pair, DirectMsgFlags::PARTITION, uuid),
                        Interface::DirectResp2 { pair, .. } => (pair, DirectMsgFlags::PARTITION, Uuid::NIL),
                        other => panic!("decoded as {other:?}"),
                    };
                    prop_assert_eq!((h.fid, h.pair, h.flags, h.uuid), (FIDS[which], pair, flags, uuid));
                    prop_assert_eq!(h.payload(&x), general_payload(&call));
                    prop_assert_eq!(h.payload_len(), if which < 4 { 5 } else { 14 });
                }
                (f, g) => prop_assert!(false, "fast {:?}, general {:?}", f, g),
            }
        }

        /// Writing a decoded message back gives the block DEN0077's register tables give
        /// ([`spec_layout`], built from the raw registers without the codec), which is also
        /// the general encoder's, and that block decodes to the same header and payload.
        #[test]
        fn write_is_the_spec_layout(
            which in 0usize..6,
            junk in proptest::array::uniform18(any::<u64>()),
            mask in any::<u32>(),
            framework_type in any::<u8>(),
            stale in any::<u64>(),
        ) {
            let x = block(which, junk, mask, framework_type);
            let Ok(h) = DirectHeader::decode(&x, Version::V1_2).unwrap() else {
                return Ok(());
            };
            let payload = h.payload(&x);
            let mut out = [stale; 18];
            prop_assert!(write(&mut out, h.fid, h.pair, h.flags, h.uuid, &payload));
            prop_assert_eq!(out, spec_layout(&x));
            let call = Interface::decode_words_sbz_ignored(&x, Version::V1_2).unwrap();
            prop_assert_eq!(call.encode().0, out);
            let again = DirectHeader::decode(&out, Version::V1_2).unwrap().unwrap();
            prop_assert_eq!(again, h);
            prop_assert_eq!(again.payload(&out), payload);
        }
    }

    /// The registers of a valid direct message as DEN0077 v1.2's tables lay them out
    /// ("FFA_MSG_SEND_DIRECT_REQ/RESP", "..._REQ2/RESP2" function syntax), copied field by
    /// field from the raw block `x`, numbers only: x0 = w0; w1 = sender << 16 | receiver;
    /// REQ/RESP: w2 the flags, the payload in x3..x7 (w3..w7 for SMC32, w0 bit 30 clear),
    /// x8..x17 zero (SBZ); REQ2 (0xC400_008D): the protocol UUID in x2/x3; RESP2: x2/x3 zero
    /// (SBZ); REQ2/RESP2: the payload in x4..x17.
    fn spec_layout(x: &[u64; 18]) -> [u64; 18] {
        let w = |r: u64| r & 0xFFFF_FFFF;
        let mut out = [0u64; 18];
        out[0] = w(x[0]);
        out[1] = w(x[1]);
        match out[0] {
            0xC400_008D | 0xC400_008E => {
                if out[0] == 0xC400_008D {
                    out[2] = x[2];
                    out[3] = x[3];
                }
                out[4..18].copy_from_slice(&x[4..18]);
            }
            fid => {
                out[2] = w(x[2]);
                let smc64 = fid & (1 << 30) != 0;
                for i in 3..8 {
                    out[i] = if smc64 { x[i] } else { w(x[i]) };
                }
            }
        }
        out
    }

    /// One message of each function against registers written out by hand from the spec's
    /// tables: what [`write`] lays out, and what [`DirectHeader::decode`] reads back.
    #[test]
    fn fixed_vectors_from_the_specs_register_tables() {
        // Payload word i: 0xF0 + i in the top byte, i + 1 in the low one.
        let p: [u64; 14] = core::array::from_fn(|i| (0xF0 + i as u64) << 56 | (i as u64 + 1));
        let pair = EndpointPair::new(crate::EndpointId(0x8001), crate::EndpointId(0x0003));
        let uuid = Uuid(core::array::from_fn(|i| i as u8));
        let framework = DirectMsgFlags::decode(0x8000_0008).unwrap();
        let w1 = 0x8001_0003;
        let full = |r: &mut [u64; 18], at: usize, n: usize| r[at..at + n].copy_from_slice(&p[..n]);
        let mut req32 = [0u64; 18];
        req32[..8].copy_from_slice(&[0x8400_006F, w1, 0, 1, 2, 3, 4, 5]);
        let mut req64 = [0u64; 18];
        req64[..3].copy_from_slice(&[0xC400_006F, w1, 0x8000_0008]);
        full(&mut req64, 3, 5);
        let mut resp32 = req32;
        resp32[0] = 0x8400_0070;
        resp32[2] = 0x8000_0008;
        let mut resp64 = [0u64; 18];
        resp64[..2].copy_from_slice(&[0xC400_0070, w1]);
        full(&mut resp64, 3, 5);
        let mut req2 = [0u64; 18];
        req2[..4].copy_from_slice(&[
            0xC400_008D,
            w1,
            0x0706_0504_0302_0100,
            0x0F0E_0D0C_0B0A_0908,
        ]);
        full(&mut req2, 4, 14);
        let mut resp2 = [0u64; 18];
        resp2[..2].copy_from_slice(&[0xC400_008E, w1]);
        full(&mut resp2, 4, 14);
        let partition = DirectMsgFlags::PARTITION;
        for (fid, flags, id, want) in [
            (FuncId::MsgSendDirectReq32, partition, Uuid::NIL, req32),
            (FuncId::MsgSendDirectReq64, framework, Uuid::NIL, req64),
            (FuncId::MsgSendDirectResp32, framework, Uuid::NIL, resp32),
            (FuncId::MsgSendDirectResp64, partition, Uuid::NIL, resp64),
            (FuncId::MsgSendDirectReq2, partition, uuid, req2),
            (FuncId::MsgSendDirectResp2, partition, Uuid::NIL, resp2),
        ] {
            let mut out = [0xAAu64; 18];
            assert!(write(&mut out, fid, pair, flags, id, &p));
            assert_eq!(out, want, "{fid:?}");
            let h = DirectHeader::decode(&want, Version::V1_2).unwrap().unwrap();
            assert_eq!((h.fid, h.pair, h.flags, h.uuid), (fid, pair, flags, id));
            let n = h.payload_len();
            let mut payload = p;
            if !fid.is_64bit() {
                payload = payload.map(|v| v & 0xFFFF_FFFF);
            }
            assert_eq!(h.payload(&want)[..n], payload[..n], "{fid:?}");
        }
    }

    #[test]
    fn every_other_function_is_left_to_the_general_decoder() {
        for f in FuncId::ALL {
            if !FIDS.contains(f) {
                let mut x = [0u64; 18];
                x[0] = u64::from(f.raw());
                assert_eq!(DirectHeader::decode(&x, Version::V1_2), None, "{f:?}");
                assert_eq!(
                    DirectHeader::decode_fid(*f, &x, Version::V1_2),
                    None,
                    "{f:?}"
                );
                let mut out = [7u64; 18];
                assert!(!write(
                    &mut out,
                    *f,
                    EndpointPair::default(),
                    DirectMsgFlags::PARTITION,
                    Uuid::NIL,
                    &[1]
                ));
                assert_eq!(out, [7u64; 18]);
            }
        }
    }

    #[test]
    fn the_rules_one_by_one() {
        let v12 = Version::V1_2;
        let mut x = [0u64; 18];
        // REQ2 before v1.2: NOT_SUPPORTED; REQ from v1.0.
        x[0] = u64::from(FuncId::MsgSendDirectReq2.raw());
        let got = DirectHeader::decode(&x, Version::V1_1).unwrap();
        assert_eq!(
            got.map_err(|e| e.error_code()),
            Err(crate::ErrorCode::NotSupported)
        );
        x[0] = u64::from(FuncId::MsgSendDirectReq32.raw());
        assert!(DirectHeader::decode(&x, Version::V1_0).unwrap().is_ok());
        // Reserved flag bits: INVALID_PARAMETERS; a framework message is a valid header.
        x[2] = 0x100;
        let got = DirectHeader::decode(&x, v12).unwrap();
        assert_eq!(
            got.map_err(|e| e.error_code()),
            Err(crate::ErrorCode::InvalidParameters)
        );
        x[2] = 0x8000_0002;
        let h = DirectHeader::decode(&x, v12).unwrap().unwrap();
        assert_eq!(h.flags.framework_type(), Some(2));
        // The upper half of x2 of an SMC32 call is not part of w2.
        x[2] = 0xFFFF_FFFF_0000_0000;
        assert_eq!(
            DirectHeader::decode(&x, v12).unwrap().unwrap().flags,
            DirectMsgFlags::PARTITION
        );
        // x1's upper half: ignored for REQ, refused for REQ2/RESP2.
        x[1] = 0x1_8001_0001;
        assert!(DirectHeader::decode(&x, v12).unwrap().is_ok());
        x[0] = u64::from(FuncId::MsgSendDirectResp2.raw());
        assert_eq!(
            DirectHeader::decode(&x, v12).unwrap(),
            Err(DecodeError::NonZeroMbz { reg: 1 })
        );
        // SMC32 payload: the low halves only; SMC64: full width; x8.. not part of REQ/RESP.
        let mut y = [u64::MAX; 18];
        y[0] = u64::from(FuncId::MsgSendDirectReq32.raw());
        y[1] = 0x8001_0001;
        y[2] = 0;
        let h = DirectHeader::decode(&y, v12).unwrap().unwrap();
        assert_eq!(
            h.payload(&y)[..6],
            [
                0xFFFF_FFFF,
                0xFFFF_FFFF,
                0xFFFF_FFFF,
                0xFFFF_FFFF,
                0xFFFF_FFFF,
                0
            ]
        );
        y[0] = u64::from(FuncId::MsgSendDirectReq64.raw());
        let h = DirectHeader::decode(&y, v12).unwrap().unwrap();
        assert_eq!(
            h.payload(&y)[..6],
            [u64::MAX, u64::MAX, u64::MAX, u64::MAX, u64::MAX, 0]
        );
        // Writing: SMC32 payload words cut to 32 bits, everything unused zero; RESP2 carries
        // no UUID even if one is given; a short payload is padded with zeros.
        let pair = EndpointPair::unpack(0x8001_0002);
        let none = DirectMsgFlags::PARTITION;
        let mut out = [u64::MAX; 18];
        assert!(write(
            &mut out,
            FuncId::MsgSendDirectResp32,
            pair,
            none,
            Uuid::NIL,
            &[u64::MAX; 14]
        ));
        let mut want = [0u64; 18];
        want[0] = 0x8400_0070;
        want[1] = 0x8001_0002;
        want[3..8].fill(0xFFFF_FFFF);
        assert_eq!(out, want);
        let uuid = Uuid::from_u64_pair([1, 2]);
        assert!(write(
            &mut out,
            FuncId::MsgSendDirectResp2,
            pair,
            none,
            uuid,
            &[9, 8]
        ));
        let mut want = [0u64; 18];
        want[0] = 0xC400_008E;
        want[1] = 0x8001_0002;
        want[4] = 9;
        want[5] = 8;
        assert_eq!(out, want);
        assert!(write(
            &mut out,
            FuncId::MsgSendDirectReq2,
            pair,
            none,
            uuid,
            &[9]
        ));
        assert_eq!(
            (out[0], out[2], out[3], out[4], out[5]),
            (0xC400_008D, 1, 2, 9, 0)
        );
    }
}
