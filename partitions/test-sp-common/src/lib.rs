//! The SP side of `test-protocol`: one handler per command, shared by the test SPs. All of it
//! is safe code over `sp_rt::Ffa<C>`, so it is host-tested against sp-rt's fake SPMC; the
//! SP binaries only add what needs the real hardware (the fault SP's faults).
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;

use core::fmt::Write;
use ffa_abi::memory::transaction::{builder_for, MemAccess};
use ffa_abi::memory::{DataAccess, InstructionAccess, Layout, MemAttributes};
use ffa_abi::FuncId;
use sp_rt::console::LineWriter;
use sp_rt::fdt::Fdt;
use sp_rt::ffa::expect_success;
use sp_rt::mem::{AccessPerms, Constituent, MemHandle, SharedPage, RO_NX, RW_NX, SHARE_RW};
use sp_rt::partition_info::parse_descriptors;
use sp_rt::rxtx::RxTx;
use sp_rt::{
    Conduit, DirectRequest, EndpointId, Error, ErrorCode, Ffa, Kind, Payload, Regs, RegsExt, Uuid,
    Version,
};
use test_protocol::{cmd, status};

mod messaging;
pub use messaging::on_run;
mod ts_client;

/// What a test SP knows besides the request: its buffers and its boot information.
#[derive(Debug)]
pub struct SpState<'m> {
    /// The RX/TX pair, if FFA_RXTX_MAP succeeded; else the error it gave.
    pub rxtx: Result<RxTx, Error>,
    /// The manifest DTB found through the boot information, if any.
    pub manifest: Option<Fdt<'m>>,
    /// The boot information blob's version field, if the SP got one.
    pub boot_info_version: Option<u32>,
    /// FFA_MEM_PERM_GET results taken during initialisation (see [`snapshot_perms`]).
    pub init_perms: [u64; 3],
    /// The FF-A version of the SP's manifest (`ffa-version`): descriptor layouts follow it.
    pub version: Version,
    /// Returns the free bytes of the SP's heap (`sp_rt::rt::heap_free` on the target).
    pub heap_free: fn() -> usize,
}

/// Asks FFA_MEM_PERM_GET_64 for each address (only allowed during initialisation) and keeps
/// the permissions, or the status word of the error, for `cmd::INIT_PERMS`.
pub fn snapshot_perms<C: Conduit>(ffa: &mut Ffa<C>, addrs: [u64; 3]) -> [u64; 3] {
    addrs.map(|a| match ffa.mem_perm_get(a) {
        Ok(p) => u64::from(p.0),
        Err(e) => status_of(&e),
    })
}

/// Returns the status word for a failed FF-A call (test-protocol `status`).
pub fn status_of(e: &Error) -> u64 {
    match e {
        Error::Ffa(code) => u64::from(status::ffa_error(code.to_i32())),
        Error::UnknownStatus(code) => u64::from(status::ffa_error(*code)),
        Error::Unexpected(_) => u64::from(status::UNEXPECTED_REPLY),
    }
}

fn ok(words: &[u64]) -> Payload {
    let mut p = Payload::new(&[u64::from(status::OK)]);
    for (d, s) in p.0[1..].iter_mut().zip(words) {
        *d = *s;
    }
    p
}

fn fail(e: &Error) -> Payload {
    Payload::new(&[status_of(e)])
}

fn kind_code(kind: Kind) -> u64 {
    match kind {
        Kind::Req32 => 32,
        Kind::Req64 => 64,
        Kind::Req2 { .. } => 2,
    }
}

/// Sends `payload` to `target` with the same kind of direct request as `req` (REQ2 with the
/// nil UUID) and answers \[status, target's words 0..\]: the relay step of `cmd::CALL`.
pub fn forward<C: Conduit>(
    ffa: &mut Ffa<C>,
    req: &DirectRequest,
    target: EndpointId,
    payload: &Payload,
) -> Payload {
    let kind = match req.kind {
        Kind::Req2 { .. } => Kind::Req2 { uuid: Uuid::NIL },
        k => k,
    };
    match ffa.direct_request(kind, req.receiver, target, payload) {
        Ok(resp) => ok(&resp.0),
        Err(e) => fail(&e),
    }
}

/// Builds the payload `cmd::CALL` and the relay send on: \[word a, words b.. of `req`].
fn forwarded_payload(req: &DirectRequest, first: usize, rest_from: usize) -> Payload {
    let mut p = Payload::new(&[req.payload.get(first)]);
    for (i, d) in p.0[1..].iter_mut().enumerate() {
        *d = req.payload.get(rest_from + i);
    }
    p
}

/// The relay SP: every request goes on to the endpoint in word 1 with \[word 0, word 2, ...\].
pub fn relay<C: Conduit>(ffa: &mut Ffa<C>, req: &DirectRequest) -> Payload {
    let target = EndpointId(req.payload.get(1) as u16);
    forward(ffa, req, target, &forwarded_payload(req, 0, 2))
}

fn mem_rw<C: Conduit>(ffa: &mut Ffa<C>, sp: &mut SpState<'_>, req: &DirectRequest) -> Payload {
    let rxtx = match &mut sp.rxtx {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let w = |i| req.payload.get(i) & 0xFFFF_FFFF;
    let handle = MemHandle(w(1) | w(2) << 32);
    let owner = EndpointId(w(3) as u16);
    let value = w(4) as u32;
    let perms = if value != 0 { RW_NX } else { RO_NX };
    let me = req.receiver;
    let mut region = match ffa.mem_retrieve(rxtx, sp.version, me, owner, handle, 0, perms) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let read = region.read_u32(0).unwrap_or(0);
    let written = value == 0 || region.write_u32(0, value).is_some();
    let pages = region.pages();
    let count = region.constituents().len() as u64;
    let status = match ffa.mem_relinquish_region(rxtx, me, region) {
        Err((e, _)) => status_of(&e),
        Ok(()) if !written => u64::from(status::ffa_error(ErrorCode::Denied.to_i32())),
        Ok(()) => u64::from(status::OK),
    };
    Payload::new(&[status, u64::from(read), pages, count])
}

fn share<C: Conduit>(ffa: &mut Ffa<C>, sp: &mut SpState<'_>, req: &DirectRequest) -> Payload {
    let rxtx = match &mut sp.rxtx {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let me = req.receiver;
    let borrower = EndpointId(req.payload.get(1) as u16);
    let page = SharedPage::new_boxed();
    let _ = page.write_u32(0, cmd::SHARE_PATTERN);
    let cons = [Constituent {
        address: page.addr(),
        page_count: 1,
    }];
    let handle = match ffa.mem_share(rxtx, sp.version, me, &[(borrower, SHARE_RW)], &cons) {
        Ok(h) => h,
        Err(e) => return fail(&e),
    };
    let (lo, hi) = (handle.0 & 0xFFFF_FFFF, handle.0 >> 32);
    let kind = match req.kind {
        Kind::Req2 { .. } => Kind::Req2 { uuid: Uuid::NIL },
        k => k,
    };
    let call = Payload::new(&[
        u64::from(cmd::MEM_RW),
        lo,
        hi,
        u64::from(me.0),
        req.payload.get(2),
    ]);
    let answer = ffa.direct_request(kind, me, borrower, &call);
    let after = page.read_u32(0).unwrap_or(0);
    // Reclaim whatever happened: the borrower has relinquished (or never retrieved).
    let reclaimed = ffa.mem_reclaim(handle, 0);
    let status = match (&answer, &reclaimed) {
        (Err(e), _) | (Ok(_), Err(e)) => status_of(e),
        (Ok(_), Ok(())) => u64::from(status::OK),
    };
    let (b_status, b_read) = answer.map_or((0, 0), |p| (p.get(0), p.get(1)));
    if reclaimed.is_err() {
        // The SPMC still lets someone use the page: never give it back to the heap.
        core::mem::forget(page);
    }
    Payload::new(&[status, b_status, b_read, u64::from(after), 0])
}

/// `cmd::FP_CHECK`: FP/SIMD registers survive a call to another SP that uses its own.
fn fp_check<C: Conduit>(ffa: &mut Ffa<C>, req: &DirectRequest) -> Payload {
    let seed = req.payload.get(1);
    let target = req.payload.get(2) as u16;
    sp_rt::cpu::fp_fill(seed);
    let (t_status, t_bad) = if target != 0 {
        let call = Payload::new(&[u64::from(cmd::FP_CHECK), !seed, 0]);
        match ffa.direct_request(Kind::Req64, req.receiver, EndpointId(target), &call) {
            Ok(p) => (p.get(0), p.get(1)),
            Err(e) => (status_of(&e), 0),
        }
    } else {
        (u64::from(status::OK), 0)
    };
    let bad = sp_rt::cpu::fp_mismatches(seed);
    Payload::new(&[u64::from(status::OK), u64::from(bad), t_status, t_bad])
}

/// `cmd::EL0_REGS`: the EL0 system registers and DC ZVA.
fn el0_regs() -> Payload {
    let a = sp_rt::cpu::el0_regs();
    let b = sp_rt::cpu::el0_regs();
    let advanced = a.cntvct != 0 && b.cntvct >= a.cntvct;
    // 0xAA everywhere, DC ZVA over what it can: zero bytes must be exactly the whole blocks.
    let mut buf = alloc::vec![0xAAu8; 1024];
    let blocks = sp_rt::cpu::dc_zva(&mut buf[64..960]);
    let zeros = buf.iter().filter(|b| **b == 0).count();
    let others_kept = buf.iter().all(|b| *b == 0 || *b == 0xAA);
    let block = 4usize << (a.dczid & 0xF);
    let zva_ok = blocks > 0 && zeros == blocks * block && others_kept && buf[..64] == [0xAA; 64];
    Payload::new(&[
        u64::from(status::OK),
        a.ctr,
        a.dczid,
        a.cntfrq,
        u64::from(advanced) | u64::from(zva_ok) << 1,
    ])
}

/// `cmd::MEM_ACCESS`: retrieve, read/write at an offset, relinquish unless asked to keep.
fn mem_access<C: Conduit>(ffa: &mut Ffa<C>, sp: &mut SpState<'_>, req: &DirectRequest) -> Payload {
    let rxtx = match &mut sp.rxtx {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let w = |i| req.payload.get(i) & 0xFFFF_FFFF;
    let handle = MemHandle(w(1) | w(2) << 32);
    let owner = EndpointId(w(3) as u16);
    let value = w(4) as u32;
    let offset = req.payload.get(5);
    let keep = req.payload.get(6) & cmd::MEM_KEEP != 0;
    let perms = if value != 0 { RW_NX } else { RO_NX };
    let me = req.receiver;
    let mut region = match ffa.mem_retrieve(rxtx, sp.version, me, owner, handle, 0, perms) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let read = region.read_u32(offset);
    let written = value == 0 || region.write_u32(offset, value).is_some();
    let pages = region.pages();
    let count = region.constituents().len() as u64;
    let denied = u64::from(status::ffa_error(ErrorCode::Denied.to_i32()));
    let status = if keep {
        // The SPMC keeps the mapping until MEM_RELINQUISH names the handle.
        match (read, written) {
            (Some(_), true) => u64::from(status::OK),
            _ => denied,
        }
    } else {
        match ffa.mem_relinquish_region(rxtx, me, region) {
            Err((e, _)) => status_of(&e),
            Ok(()) if read.is_none() || !written => denied,
            Ok(()) => u64::from(status::OK),
        }
    };
    Payload::new(&[status, u64::from(read.unwrap_or(0)), pages, count])
}

/// `cmd::MEM_RELINQUISH`: gives back a region kept by `cmd::MEM_ACCESS`.
fn mem_relinquish<C: Conduit>(
    ffa: &mut Ffa<C>,
    sp: &mut SpState<'_>,
    req: &DirectRequest,
) -> Payload {
    let rxtx = match &mut sp.rxtx {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let w = |i| req.payload.get(i) & 0xFFFF_FFFF;
    match ffa.mem_relinquish(rxtx, req.receiver, MemHandle(w(1) | w(2) << 32)) {
        Ok(()) => ok(&[]),
        Err(e) => fail(&e),
    }
}

/// Sends `page` to `borrower` with FFA_MEM_SHARE/LEND/DONATE (`abi` = `cmd::MEM_SEND_*`),
/// with the attributes and permissions each ABI requires of a sender (DEN0140 "Memory region
/// attributes" and "Memory access permissions" usage tables): share names the memory type;
/// a lend to one borrower and a donate leave it to the receiver; donate names no data access.
fn send_page<C: Conduit>(
    ffa: &mut Ffa<C>,
    rxtx: &mut RxTx,
    version: Version,
    me: EndpointId,
    borrower: EndpointId,
    abi: u64,
    page: &SharedPage,
) -> Result<MemHandle, Error> {
    let not_specified = AccessPerms {
        data: DataAccess::NotSpecified,
        instruction: InstructionAccess::NotSpecified,
    };
    let (fid, perms, attributes) = match abi {
        cmd::MEM_SEND_SHARE => (FuncId::MemShare32, SHARE_RW, MemAttributes::NORMAL_WB_INNER),
        cmd::MEM_SEND_LEND => (FuncId::MemLend32, SHARE_RW, MemAttributes::NOT_SPECIFIED),
        cmd::MEM_SEND_DONATE => (
            FuncId::MemDonate32,
            not_specified,
            MemAttributes::NOT_SPECIFIED,
        ),
        _ => return Err(Error::Ffa(ErrorCode::InvalidParameters)),
    };
    let access = [MemAccess::new(borrower, perms)];
    let cons = [Constituent {
        address: page.addr(),
        page_count: 1,
    }];
    let mut b = builder_for(version, me, &access, &cons).map_err(|e| Error::Ffa(e.error_code()))?;
    b.attributes = attributes;
    let len = rxtx
        .with_tx(|tx| b.write(tx))
        .map_err(|e| Error::Ffa(e.error_code()))?;
    let len = len as u64;
    let r = expect_success(ffa.call(Regs::call(fid.raw(), &[len, len, 0, 0])))?;
    Ok(MemHandle::from_regs(r.w(2), r.w(3)))
}

/// `cmd::SEND_RANGES`: this SP sends up to four ranges of its own address space to another
/// SP and leaves the transaction live.
fn send_ranges<C: Conduit>(ffa: &mut Ffa<C>, sp: &mut SpState<'_>, req: &DirectRequest) -> Payload {
    let rxtx = match &mut sp.rxtx {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let arg = |i| req.payload.get(i);
    let invalid = Error::Ffa(ErrorCode::InvalidParameters);
    let n = arg(3) as usize;
    if !(1..=4).contains(&n) {
        return fail(&invalid);
    }
    let mut cons: Vec<Constituent> = Vec::new();
    for k in 0..n {
        let Ok(page_count) = u32::try_from(arg(5 + 2 * k)) else {
            return fail(&invalid);
        };
        cons.push(Constituent {
            address: arg(4 + 2 * k),
            page_count,
        });
    }
    let not_specified = AccessPerms {
        data: DataAccess::NotSpecified,
        instruction: InstructionAccess::NotSpecified,
    };
    let (fid, perms, attributes) = match arg(2) {
        cmd::MEM_SEND_SHARE => (FuncId::MemShare32, SHARE_RW, MemAttributes::NORMAL_WB_INNER),
        cmd::MEM_SEND_LEND => (FuncId::MemLend32, SHARE_RW, MemAttributes::NOT_SPECIFIED),
        cmd::MEM_SEND_DONATE => (
            FuncId::MemDonate32,
            not_specified,
            MemAttributes::NOT_SPECIFIED,
        ),
        _ => return fail(&invalid),
    };
    let access = [MemAccess::new(EndpointId(arg(1) as u16), perms)];
    let mut b = match builder_for(sp.version, req.receiver, &access, &cons) {
        Ok(b) => b,
        Err(e) => return fail(&Error::Ffa(e.error_code())),
    };
    b.attributes = attributes;
    let len = match rxtx.with_tx(|tx| b.write(tx)) {
        Ok(l) => l as u64,
        Err(e) => return fail(&Error::Ffa(e.error_code())),
    };
    match expect_success(ffa.call(Regs::call(fid.raw(), &[len, len, 0, 0]))) {
        Ok(r) => ok(&[u64::from(r.w(2)), u64::from(r.w(3))]),
        Err(e) => fail(&e),
    }
}

/// `cmd::FRAG_SHARE`: one step of a share of two pages sent in two fragments.
fn frag_share<C: Conduit>(ffa: &mut Ffa<C>, sp: &mut SpState<'_>, req: &DirectRequest) -> Payload {
    let rxtx = match &mut sp.rxtx {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let arg = |i| req.payload.get(i);
    let invalid = Error::Ffa(ErrorCode::InvalidParameters);
    let pages = if arg(6) == 0 {
        // Kept for good: the transaction outlives this request.
        [SharedPage::new_boxed(), SharedPage::new_boxed()]
            .map(|p| alloc::boxed::Box::leak(p).addr())
    } else {
        [arg(6), arg(7)]
    };
    let cons = pages.map(|address| Constituent {
        address,
        page_count: 1,
    });
    let access = [MemAccess::new(EndpointId(arg(1) as u16), SHARE_RW)];
    let mut b = match builder_for(sp.version, req.receiver, &access, &cons) {
        Ok(b) => b,
        Err(e) => return fail(&Error::Ffa(e.error_code())),
    };
    b.attributes = MemAttributes::NORMAL_WB_INNER;
    let (Ok(total), Ok(prefix)) = (b.total_len(), b.prefix_len()) else {
        return fail(&invalid);
    };
    let (fid, offset, handle) = match arg(2) {
        0 => (FuncId::MemShare32, 0, [0, 0]),
        1 => (FuncId::MemFragTx, arg(5) as usize, [arg(3), arg(4)]),
        _ => return fail(&invalid),
    };
    // The first fragment ends after the first constituent; the second holds the rest.
    let written = rxtx.with_tx(|tx| {
        let room = if offset == 0 {
            prefix + ffa_abi::memory::transaction::CONSTITUENT_SIZE
        } else {
            tx.len()
        };
        b.write_fragment(offset, &mut tx[..room])
    });
    let len = match written {
        Ok(l) => l as u64,
        Err(e) => return fail(&Error::Ffa(e.error_code())),
    };
    let r = if fid == FuncId::MemShare32 {
        ffa.call(Regs::call(fid.raw(), &[total as u64, len, 0, 0]))
    } else {
        ffa.call(Regs::call(fid.raw(), &[handle[0], handle[1], len, 0]))
    };
    if r.w(0) == FuncId::Error32.raw() {
        return Payload::new(&[u64::from(status::ffa_error(r.w(2) as i32))]);
    }
    ok(&[
        u64::from(r.w(0)),
        u64::from(r.w(1)),
        u64::from(r.w(2)),
        u64::from(r.w(3)),
        pages[0],
        pages[1],
    ])
}

/// `cmd::MEM_SEND`: this SP as the owner of a share, lend or donate to another SP.
fn mem_send<C: Conduit>(ffa: &mut Ffa<C>, sp: &mut SpState<'_>, req: &DirectRequest) -> Payload {
    let rxtx = match &mut sp.rxtx {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let me = req.receiver;
    let borrower = EndpointId(req.payload.get(1) as u16);
    let abi = req.payload.get(2);
    let donate = abi == cmd::MEM_SEND_DONATE;
    let page = SharedPage::new_boxed();
    let _ = page.write_u32(0, cmd::SHARE_PATTERN);
    let handle = match send_page(ffa, rxtx, sp.version, me, borrower, abi, &page) {
        Ok(h) => h,
        Err(e) => return fail(&e),
    };
    // DIRECT_REQ_32/64 carry words 0..4 only (x3..x7): the keep flag (word 6) needs REQ2.
    let kind = Kind::Req2 { uuid: Uuid::NIL };
    let call = Payload::new(&[
        u64::from(cmd::MEM_ACCESS),
        handle.0 & 0xFFFF_FFFF,
        handle.0 >> 32,
        u64::from(me.0),
        req.payload.get(3),
        0,
        if donate { cmd::MEM_KEEP } else { 0 },
    ]);
    if req.payload.get(4) == cmd::MEM_SEND_TOUCH {
        // Lent or donated away: the SPMC unmapped the page, so this load must abort us (no
        // borrower call first: the owner then needs no direct-message grant).
        let v = core::hint::black_box(page.read_u32(0)).unwrap_or(0);
        // Still here: the SPMC left the page mapped. Say so with what was read.
        core::mem::forget(page);
        return Payload::new(&[u64::from(status::UNEXPECTED_REPLY), 0, u64::from(v), 0, 0]);
    }
    let answer = ffa.direct_request(kind, me, borrower, &call);
    let reclaimed = ffa.mem_reclaim(handle, 0);
    let after = match reclaimed {
        Ok(()) => page.read_u32(0).unwrap_or(0),
        Err(_) => 0,
    };
    let reclaim_status = match &reclaimed {
        Ok(()) => u64::from(status::OK),
        Err(e) => status_of(e),
    };
    let status = match (&answer, &reclaimed) {
        (Err(e), _) => status_of(e),
        (Ok(_), Err(e)) if !donate => status_of(e),
        _ => u64::from(status::OK),
    };
    let (b_status, b_read) = answer.map_or((0, 0), |p| (p.get(0), p.get(1)));
    if reclaimed.is_err() {
        // Donated (or still lent): the page is not ours to free any more.
        core::mem::forget(page);
    }
    Payload::new(&[status, b_status, b_read, u64::from(after), reclaim_status])
}

/// `cmd::DEV_SEND`: shares or lends the device page `test_protocol::device::BASE` (the
/// caller's own only if its manifest names it: fault's) RW to the SP in word 1, with the
/// attributes field in word 3; the transaction stays live for the test to drive.
fn dev_send<C: Conduit>(ffa: &mut Ffa<C>, sp: &mut SpState<'_>, req: &DirectRequest) -> Payload {
    let rxtx = match &mut sp.rxtx {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let invalid = || Error::Ffa(ErrorCode::InvalidParameters);
    let fid = match req.payload.get(2) {
        cmd::MEM_SEND_SHARE => FuncId::MemShare32,
        cmd::MEM_SEND_LEND => FuncId::MemLend32,
        _ => return fail(&invalid()),
    };
    let layout = match Layout::for_version(sp.version) {
        Ok(l) => l,
        Err(e) => return fail(&Error::Ffa(e.error_code())),
    };
    let Some(attributes) = u16::try_from(req.payload.get(3))
        .ok()
        .and_then(|a| MemAttributes::decode(a, layout))
    else {
        return fail(&invalid());
    };
    let me = req.receiver;
    let access = [MemAccess::new(
        EndpointId(req.payload.get(1) as u16),
        SHARE_RW,
    )];
    // Device regions are mapped at their physical address in their owner (VA = PA).
    let cons = [Constituent {
        address: test_protocol::device::BASE,
        page_count: 1,
    }];
    let sent = builder_for(sp.version, me, &access, &cons)
        .map_err(|e| Error::Ffa(e.error_code()))
        .and_then(|mut b| {
            b.attributes = attributes;
            rxtx.with_tx(|tx| b.write(tx))
                .map_err(|e| Error::Ffa(e.error_code()))
        })
        .and_then(|len| {
            let len = len as u64;
            expect_success(ffa.call(Regs::call(fid.raw(), &[len, len, 0, 0])))
        });
    match sent {
        Ok(r) => ok(&[u64::from(r.w(2)), u64::from(r.w(3))]),
        Err(e) => fail(&e),
    }
}

/// `cmd::DEV_ACCESS`: retrieve with the given attributes and permissions, read eight
/// registers, relinquish.
fn dev_access<C: Conduit>(ffa: &mut Ffa<C>, sp: &mut SpState<'_>, req: &DirectRequest) -> Payload {
    let rxtx = match &mut sp.rxtx {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let invalid = Error::Ffa(ErrorCode::InvalidParameters);
    let w = |i| req.payload.get(i) & 0xFFFF_FFFF;
    let handle = MemHandle(w(1) | w(2) << 32);
    let owner = EndpointId(w(3) as u16);
    let layout = match Layout::for_version(sp.version) {
        Ok(l) => l,
        Err(e) => return fail(&Error::Ffa(e.error_code())),
    };
    let Some(attributes) = u16::try_from(req.payload.get(4))
        .ok()
        .and_then(|a| MemAttributes::decode(a, layout))
    else {
        return fail(&invalid);
    };
    let Some(perms) = u8::try_from(req.payload.get(5))
        .ok()
        .and_then(AccessPerms::decode)
    else {
        return fail(&invalid);
    };
    let offset = req.payload.get(6);
    let me = req.receiver;
    let region =
        match ffa.mem_retrieve_with(rxtx, sp.version, me, owner, handle, 0, perms, attributes) {
            Ok(r) => r,
            Err(e) => return fail(&e),
        };
    let mut regs = [0u32; 8];
    let mut inside = true;
    for (i, r) in regs.iter_mut().enumerate() {
        match offset
            .checked_add(4 * i as u64)
            .and_then(|o| region.read_u32(o))
        {
            Some(v) => *r = v,
            None => inside = false,
        }
    }
    let got_attributes = u64::from(region.attributes().encode());
    let got_perms = u64::from(region.perms().encode());
    let pages = region.pages();
    let status = match ffa.mem_relinquish_region(rxtx, me, region) {
        Err((e, _)) => status_of(&e),
        Ok(()) if !inside => u64::from(status::ffa_error(ErrorCode::Denied.to_i32())),
        Ok(()) => u64::from(status::OK),
    };
    Payload::new(&[
        status,
        test_protocol::device::pack_low_bytes(regs),
        got_attributes,
        got_perms,
        pages,
    ])
}

fn heap(sp: &SpState<'_>, bytes: u64) -> Payload {
    let n = usize::try_from(bytes.min(test_protocol::HEAP_TEST_MAX)).unwrap_or(0);
    let before = (sp.heap_free)() as u64;
    let mut v: Vec<u8> = Vec::new();
    if v.try_reserve_exact(n).is_err() {
        return Payload::new(&[
            u64::from(status::ffa_error(ErrorCode::NoMemory.to_i32())),
            before,
        ]);
    }
    v.extend((0..n).map(|i| i as u8));
    let intact = v.iter().enumerate().all(|(i, b)| *b == i as u8);
    let during = (sp.heap_free)() as u64;
    drop(v);
    let after = (sp.heap_free)() as u64;
    if !intact {
        return Payload::new(&[u64::from(status::BAD_RX), before, during, after]);
    }
    ok(&[before, during, after])
}

fn partinfo<C: Conduit>(ffa: &mut Ffa<C>, sp: &SpState<'_>, req: &DirectRequest) -> Payload {
    let rxtx = match &sp.rxtx {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let words = [1, 2, 3, 4].map(|i| req.payload.get(i) as u32);
    let n = match ffa.partition_info_get(Uuid::from_words(words), false) {
        Ok(n) => n,
        Err(e) => return fail(&e),
    };
    let first = rxtx.with_rx(|rx| {
        parse_descriptors(rx, n.count, n.desc_size)
            .map(|mut it| it.next())
            .map_err(|_| ())
    });
    // We own RX since the call succeeded: give it back whatever we found in it.
    let released = rxtx.release(ffa);
    match (first, released) {
        (Err(()), _) => Payload::new(&[u64::from(status::BAD_RX)]),
        (Ok(_), Err(e)) => fail(&e),
        (Ok(first), Ok(())) => {
            let (id_ctx, props) = first.map_or((0, 0), |d| {
                (
                    u64::from(d.id.0) | u64::from(d.exec_ctx_count) << 16,
                    u64::from(d.properties.0),
                )
            });
            ok(&[u64::from(n.count), u64::from(n.desc_size), id_ctx, props])
        }
    }
}

/// Requests this instance handled with [`common`] (in bss: a restart from the image zeroes it).
static SERVED: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Handles the commands every test SP understands; `None` when word 0 is not one of them.
pub fn common<C: Conduit>(
    ffa: &mut Ffa<C>,
    sp: &mut SpState<'_>,
    req: &DirectRequest,
) -> Option<Payload> {
    let served = SERVED.fetch_add(1, core::sync::atomic::Ordering::Relaxed) + 1;
    if let Some(p) = messaging::handle(ffa, sp, req) {
        return Some(p);
    }
    let arg = |i| req.payload.get(i);
    let command = u32::try_from(arg(0)).ok()?;
    Some(match command {
        cmd::ID => match ffa.id_get() {
            Ok(id) => ok(&[u64::from(id.0)]),
            Err(e) => fail(&e),
        },
        cmd::VERSION => {
            let word = match arg(1) as u32 {
                0 => Version::V1_2.encode(),
                v => v,
            };
            ok(&[u64::from(ffa.version_raw(word))])
        }
        cmd::PARTINFO => partinfo(ffa, sp, req),
        cmd::PARTINFO_REGS => {
            let words = [1, 2, 3, 4].map(|i| req.payload.get(i) as u32);
            match ffa.partition_info_get_regs(Uuid::from_words(words), 0, 0) {
                Ok((s, infos)) => {
                    let (id_ctx, props) = infos.iter().next().map_or((0, 0), |d| {
                        (
                            u64::from(d.id.0) | u64::from(d.exec_ctx_count) << 16,
                            u64::from(d.properties.0),
                        )
                    });
                    ok(&[
                        u64::from(s.last_index),
                        u64::from(s.current_index),
                        id_ctx,
                        props,
                    ])
                }
                Err(e) => fail(&e),
            }
        }
        cmd::LOG => {
            let mut w = LineWriter::new(ffa);
            let _ = write!(w, "LOG {:#x} from {:#06x}", arg(1), req.sender.0);
            w.finish_line();
            ok(&[])
        }
        cmd::PERM => match ffa.mem_perm_get(arg(1)) {
            Ok(p) => ok(&[u64::from(p.0)]),
            Err(e) => fail(&e),
        },
        cmd::CALL => {
            let target = EndpointId(arg(1) as u16);
            forward(ffa, req, target, &forwarded_payload(req, 2, 3))
        }
        cmd::RAW_CALL => {
            let args: [u64; 13] = core::array::from_fn(|i| arg(2 + i));
            let r = ffa.call(Regs::call(arg(1) as u32, &args));
            ok(&core::array::from_fn::<u64, 14, _>(|i| r.x(i)))
        }
        cmd::SERVED => ok(&[served]),
        cmd::WHO => ok(&[
            u64::from(req.receiver.0),
            u64::from(req.sender.0),
            kind_code(req.kind),
        ]),
        cmd::INIT_PERMS => ok(&sp.init_perms),
        cmd::MEM_RW => mem_rw(ffa, sp, req),
        cmd::HEAP => heap(sp, arg(1)),
        cmd::SHARE => share(ffa, sp, req),
        cmd::TS_PS => ts_client::ts_ps(ffa, sp, req),
        cmd::FP_CHECK => fp_check(ffa, req),
        cmd::EL0_REGS => el0_regs(),
        cmd::SPIN => {
            let start = sp_rt::cpu::counter();
            let end = sp_rt::cpu::spin_until(start, arg(1));
            ok(&[start, end])
        }
        cmd::MEM_ACCESS => mem_access(ffa, sp, req),
        cmd::MEM_RELINQUISH => mem_relinquish(ffa, sp, req),
        cmd::MEM_SEND => mem_send(ffa, sp, req),
        cmd::SEND_RANGES => send_ranges(ffa, sp, req),
        cmd::FRAG_SHARE => frag_share(ffa, sp, req),
        cmd::DEV_SEND => dev_send(ffa, sp, req),
        cmd::DEV_ACCESS => dev_access(ffa, sp, req),
        cmd::MANIFEST_UUID => match sp
            .manifest
            .as_ref()
            .and_then(|m| m.property_cells::<4>("/", "uuid"))
        {
            Some(c) => ok(&c.map(u64::from)),
            None => Payload::new(&[u64::from(status::NO_BOOT_INFO)]),
        },
        cmd::MANIFEST_BASE => match &sp.manifest {
            Some(m) => ok(&manifest_bases(m)),
            None => Payload::new(&[u64::from(status::NO_BOOT_INFO)]),
        },
        cmd::MANIFEST_ID => match &sp.manifest {
            Some(m) => ok(&[
                m.property_u32("/", "id").map_or(0, u64::from),
                m.property_u32("/", "ffa-version").map_or(0, u64::from),
                sp.boot_info_version.map_or(0, u64::from),
            ]),
            None => Payload::new(&[u64::from(status::NO_BOOT_INFO)]),
        },
        _ => return None,
    })
}

/// `cmd::MANIFEST_BASE`: what a stock TS SP's `sp_config_loader` reads from its manifest
/// copy: \[memory regions, of them with a 64-bit `base-address`, the first one's, device
/// regions with a 64-bit `base-address`\].
fn manifest_bases(m: &Fdt<'_>) -> [u64; 4] {
    let regions = |path: &str| {
        m.node(path)
            .map(|n| {
                n.children()
                    // 8 bytes exactly, as TS's dt_get_u64 reads it.
                    .map(|c| {
                        let [hi, lo] = c.prop("base-address")?.cells::<2>()?;
                        Some(u64::from(hi) << 32 | u64::from(lo))
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let mem = regions("/memory-regions");
    let dev = regions("/device-regions");
    [
        mem.len() as u64,
        mem.iter().filter(|b| b.is_some()).count() as u64,
        mem.first().copied().flatten().unwrap_or(0),
        dev.iter().filter(|b| b.is_some()).count() as u64,
    ]
}

/// The echo SP: the common commands, anything else comes back unchanged.
pub fn echo<C: Conduit>(ffa: &mut Ffa<C>, sp: &mut SpState<'_>, req: &DirectRequest) -> Payload {
    common(ffa, sp, req).unwrap_or(req.payload)
}

/// Maps the RX/TX pair the runtime reserved; logs (and keeps) the error if that fails. (The
/// SPMC tags console lines with the SP's name, so messages carry none.)
pub fn map_buffers<C: Conduit>(ffa: &mut Ffa<C>, rxtx: RxTx) -> Result<RxTx, Error> {
    match rxtx.map(ffa) {
        Ok(()) => Ok(rxtx),
        Err(e) => {
            let mut w = LineWriter::new(ffa);
            let _ = write!(w, "FFA_RXTX_MAP failed: {e:?}");
            w.finish_line();
            Err(e)
        }
    }
}

#[cfg(test)]
#[allow(unsafe_code)] // tests build RX/TX pairs over their own pages
mod tests;
