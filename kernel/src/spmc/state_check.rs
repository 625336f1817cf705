//! Test images only (cargo feature `state-check`, which xtask enables for the QEMU test, fuzz
//! and Linux images and never for BL32, FVP or benchmark builds): the SPMC's own endpoint runs
//! the memory state checker ([`memory::check_mappings`]) when the normal world asks, so that the
//! QEMU fuzz lane (qemu/ns-driver/src/cases/fuzz.rs) can check, from outside, that every SP's
//! tables equal the transaction state.
//!
//! The request: FFA_MSG_SEND_DIRECT_REQ_64 from the normal world to the SPMC's endpoint with
//! x3 = [`CMD`], x4 = the first of the normal-world pages to check, x5 = how many (at most
//! [`MAX_NS_PAGES`]). Every page of every SP's memory regions is checked too. The answer,
//! FFA_MSG_SEND_DIRECT_RESP_64: x3 = [`CLEAN`], [`MISMATCH`] or [`REFUSED`], x4 = live
//! transactions, x5 = page-table pages held in reservations, x6 = the SP and x7 = the page of
//! the first mismatch. Any other request to the SPMC's endpoint is echoed as without the
//! feature.

use super::{direct, memory, Spmc};
use crate::policy::DirectForm;
use alloc::vec::Vec;
use ffa_abi::endpoint::EndpointId;
use ffa_abi::func_id::FuncId;
use ffa_abi::PAGE_SIZE;

/// x3 of the request: "STATECHK".
pub const CMD: u64 = 0x5354_4154_4543_484B;
/// x3 of the answer: the tables equal the state.
pub const CLEAN: u64 = 0;
/// x3 of the answer: a page is mapped other than the state says (x6, x7 say where).
pub const MISMATCH: u64 = 1;
/// x3 of the answer: the request was malformed, came from a partition, or the memory engine
/// is poisoned (a core retired holding it).
pub const REFUSED: u64 = 2;
/// The most normal-world pages one request checks.
pub const MAX_NS_PAGES: u64 = 4096;

/// Handles a direct request to the SPMC's endpoint in `io` (already checked by the
/// dispatcher): the state check if it is one, else the ordinary echo.
pub fn spmc_endpoint(spmc: &Spmc, sender: EndpointId, io: &mut [u64; 18], form: DirectForm) {
    let is_check =
        form == DirectForm::Req && io[0] as u32 == FuncId::MsgSendDirectReq64.raw() && io[3] == CMD;
    if !is_check {
        return direct::echo(io, form);
    }
    let answer = check(spmc, sender, io[4], io[5]);
    direct::echo(io, form);
    io[3..8].copy_from_slice(&answer);
}

/// The answer's x3..x7 for a check asked by `sender` over `count` normal-world pages at `base`.
pub fn check(spmc: &Spmc, sender: EndpointId, base: u64, count: u64) -> [u64; 5] {
    let refused = [REFUSED, 0, 0, 0, 0];
    // Only from the normal world: a partition calling holds its own runtime lock, which the
    // checker takes.
    if sender.is_secure() || count > MAX_NS_PAGES || !base.is_multiple_of(PAGE_SIZE) {
        return refused;
    }
    let Some(end) = count
        .checked_mul(PAGE_SIZE)
        .and_then(|l| base.checked_add(l))
    else {
        return refused;
    };
    let mut pages: Vec<u64> = (base..end).step_by(PAGE_SIZE as usize).collect();
    for p in spmc.table.partitions {
        for r in p.memory_regions {
            let len = u64::from(r.pages) * PAGE_SIZE;
            pages.extend((r.base.0..r.base.0 + len).step_by(PAGE_SIZE as usize));
        }
    }
    let (live, held) = match spmc.mem.lock(crate::arch::current_core()) {
        Ok(m) => (m.live() as u64, m.held_table_pages()),
        Err(_) => return refused,
    };
    match memory::check_mappings(spmc, &pages) {
        Ok(()) => [CLEAN, live, held, 0, 0],
        Err(m) if m.page == u64::MAX => refused,
        Err(m) => [MISMATCH, live, held, u64::from(m.sp), m.page],
    }
}
