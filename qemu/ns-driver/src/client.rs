//! The normal-world client mode (`cargo xtask call`): after the cases, the driver sends the
//! direct requests of its run configuration's `call` lines to the SPs they name, optionally
//! sharing pages with the SP first (the request can carry the share's handle), and prints
//! each answer:
//!
//! ```text
//! [NS] call 1: req32 to 0x8007 words [0x1, 0x5]
//! [NS] call 1 answer: 0x0 0x5 0x0 0x0 0x0
//! [NS] call 1 error: FFA_ERROR Denied
//! [NS] call 1 memory after: 0x1 0x2 0x3 0x4 0xa 0x0 0x0 0x0
//! ```
//!
//! `answer` lists the response's payload words (w3..w7 for RESP_32/64, x4..x17 for RESP2).
//! A call that gets no answer of the right kind counts as a failure of the run.

use ffa_abi::memory::transaction::{builder_for, MemAccess};
use ffa_abi::memory::{AccessPerms, Constituent, DataAccess, InstructionAccess, MemAttributes};
use ffa_abi::{EndpointId, FuncId, MemHandle, Regs, Version};

use crate::console::log;
use crate::ffa::{call, Shown};
use crate::run_config::{Call, CallKind, Config, Word};

use crate::dram;

/// The pages a call shares: the last 16 of the memory cases' pool, which no case uses.
const CALL_PAGES: u64 = dram::SHARE_POOL_END - Call::MAX_SHARE_PAGES * 0x1000;

/// Runs every `call` line; returns how many failed.
pub fn run_calls(config: &Config) -> u32 {
    let mut failed = 0;
    for (i, c) in config.calls().enumerate() {
        if let Err(why) = run_one(i + 1, &c) {
            log!("call {} error: {why}", i + 1);
            failed += 1;
        }
    }
    failed
}

fn run_one(n: usize, c: &Call) -> Result<(), heapless::String<120>> {
    use core::fmt::Write;
    let err = |args: core::fmt::Arguments| {
        let mut s = heapless::String::new();
        let _ = s.write_fmt(args);
        s
    };
    let handle = if c.share_pages > 0 {
        Some(share(c).map_err(|w| err(format_args!("{w}")))?)
    } else {
        None
    };
    let (lo, hi) = handle.map_or((0, 0), MemHandle::to_regs);
    let mut words = [0u64; 14];
    let mut count = 0;
    for (slot, w) in words.iter_mut().zip(c.words()) {
        *slot = match w {
            Ok(Word::Value(v)) => v,
            Ok(Word::HandleLo) => lo,
            Ok(Word::HandleHi) => hi,
            Err(_) => 0, // refused by Config::parse
        };
        count += 1;
    }
    let mut shown: heapless::String<400> = heapless::String::new();
    for (i, w) in words[..count].iter().enumerate() {
        let _ = write!(shown, "{}{w:#x}", if i == 0 { "" } else { ", " });
    }
    log!(
        "call {n}: {} to {:#06x} words [{shown}]",
        c.kind.name(),
        c.dest
    );
    let mut args = [0u64; 17];
    args[0] = u64::from(c.dest); // sender 0 (the normal world) in bits 31:16
    let (fid, resp, first) = match c.kind {
        CallKind::Req32 => (FuncId::MsgSendDirectReq32, FuncId::MsgSendDirectResp32, 2),
        CallKind::Req64 => (FuncId::MsgSendDirectReq64, FuncId::MsgSendDirectResp64, 2),
        CallKind::Req2 => {
            args[1] = c.uuid[0];
            args[2] = c.uuid[1];
            (FuncId::MsgSendDirectReq2, FuncId::MsgSendDirectResp2, 3)
        }
    };
    for (d, s) in args[first..].iter_mut().zip(&words[..c.kind.payload_len()]) {
        *d = if c.kind == CallKind::Req32 {
            *s & 0xFFFF_FFFF
        } else {
            *s
        };
    }
    let r = call(fid, &args);
    let answered = r.w(0) == resp.raw();
    if answered {
        let len = c.kind.payload_len();
        let mut line: heapless::String<400> = heapless::String::new();
        for v in &r.0[first + 1..first + 1 + len] {
            let v = if c.kind == CallKind::Req32 {
                v & 0xFFFF_FFFF
            } else {
                *v
            };
            let _ = write!(line, " {v:#x}");
        }
        log!("call {n} answer:{line}");
    }
    if let Some(h) = handle {
        let mut line: heapless::String<200> = heapless::String::new();
        for i in 0..8 {
            let _ = write!(
                line,
                " {:#x}",
                dram::read_u32(CALL_PAGES + 4 * i).unwrap_or(0)
            );
        }
        log!("call {n} memory after:{line}");
        let (lo, hi) = h.to_regs();
        let rc = call(FuncId::MemReclaim, &[lo, hi, 0]);
        let u = call(FuncId::RxTxUnmap, &[0]);
        if rc.as_error().is_some() {
            return Err(err(format_args!("FFA_MEM_RECLAIM: {}", Shown(&rc))));
        }
        if u.as_error().is_some() {
            return Err(err(format_args!("FFA_RXTX_UNMAP: {}", Shown(&u))));
        }
    }
    if answered {
        Ok(())
    } else {
        Err(err(format_args!("{}", Shown(&r))))
    }
}

/// Maps the normal world's RX/TX, fills the call's pages and shares them (read-write) with the
/// destination; returns the handle. RX/TX stay mapped until the reclaim.
fn share(c: &Call) -> Result<MemHandle, &'static str> {
    let pages = u64::from(c.share_pages);
    for i in 0..pages * 1024 {
        dram::write_u32(CALL_PAGES + 4 * i, c.fill.wrapping_add(i as u32));
    }
    let m = call(FuncId::RxTxMap64, &[dram::NW_TX, dram::NW_RX, 1]);
    if m.as_error().is_some() {
        return Err("FFA_RXTX_MAP_64 refused");
    }
    let rw = AccessPerms {
        data: DataAccess::ReadWrite,
        instruction: InstructionAccess::NotSpecified,
    };
    let receivers = [MemAccess::new(c.dest, rw)];
    let cons = [Constituent {
        address: CALL_PAGES,
        page_count: c.share_pages,
    }];
    let mut b = builder_for(Version::V1_2, EndpointId(0), &receivers, &cons)
        .map_err(|_| "building the share descriptor")?;
    b.attributes = MemAttributes::NORMAL_WB_INNER;
    let mut buf = [0u8; dram::BUFFER_SIZE];
    let len = b
        .write(&mut buf)
        .map_err(|_| "share descriptor larger than TX")?;
    if !dram::write_bytes(dram::NW_TX, &buf[..len]) {
        return Err("writing TX");
    }
    let r: Regs = call(FuncId::MemShare32, &[len as u64, len as u64, 0, 0]);
    if r.w(0) != FuncId::Success32.raw() && r.w(0) != FuncId::Success64.raw() {
        log!("FFA_MEM_SHARE_32: {}", Shown(&r));
        let _ = call(FuncId::RxTxUnmap, &[0]);
        return Err("FFA_MEM_SHARE_32 refused");
    }
    let h = MemHandle::from_regs(r.w(2), r.w(3));
    log!(
        "shared {} page(s) at {CALL_PAGES:#x} with {:#06x}: handle {:#x}",
        c.share_pages,
        c.dest,
        h.0
    );
    Ok(h)
}
