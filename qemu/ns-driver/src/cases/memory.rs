//! Memory management cases (issue 5; FF-A v1.2 DEN0140 "Memory management", DEN0077 v1.1
//! chapter 10): the normal world shares, lends and donates its DRAM to SPs, which retrieve,
//! read, write and relinquish it (test-protocol `MEM_ACCESS`); SPs do the same among
//! themselves (`MEM_SEND`); fragmented descriptors both ways; 4096-page and 250-range
//! transactions; one refusal per descriptor field, each followed by the same transaction
//! done right (a refused call changes nothing); and an SP that touches the page it lent away
//! is aborted while everything else goes on.
//!
//! Device memory: fault owns sbsa-ref's secure UART MM (test_protocol::device, its
//! manifest's `device-regions`) and lends it to echo, which retrieves it with device
//! attributes and reads the PL011's identification registers through the mapping (only the
//! real device answers 0x11 0x10 0x14 0x00 0x0D 0xF0 0x05 0xB1); refusals: a share of device
//! memory (Hafnium lends device memory to a single borrower only; Arm's ACS expects a shared
//! device region refused), normal attributes in the retrieve, an executable device mapping,
//! normal attributes in the send, device memory sent by an endpoint that owns none (echo, the
//! normal world), and device attributes over DRAM.

use ffa_abi::memory::transaction::{builder_for, MemAccess, TransactionBuilder};
use ffa_abi::memory::{
    AccessPerms, Constituent, DataAccess, InstructionAccess, MemAttributes, TransactionFlags,
};
use ffa_abi::{EndpointId, ErrorCode, FuncId, MemHandle, Regs, Uuid, Version};
use test_protocol::{cmd, device, id, status};

use crate::dram::{self, BUFFER_SIZE, NW_RX, NW_TX, SHARE_POOL};
use crate::ffa::{call, expect_error, expect_success, Shown};
use crate::harness::{check, check_eq, fail, Case, Failure, Outcome, Stage};

/// The normal world's endpoint ID.
const NW: EndpointId = EndpointId(0);
const ECHO: EndpointId = id::ECHO;
const FAULT: EndpointId = id::FAULT;
const PAGE: u64 = ffa_abi::PAGE_SIZE;

/// Pool layout: every case works on its own pages, so one that fails and leaves a transaction
/// live cannot make the next one fail with "already in a transaction".
const BIG: u64 = SHARE_POOL; // 4096 pages
const RANGES_250: u64 = SHARE_POOL + 0x100_0000; // 250 ranges, every other page
const RANGES_256: u64 = SHARE_POOL + 0x140_0000; // 256 ranges, every other page
const RANGES_ABANDONED: u64 = SHARE_POOL + 0x180_0000; // 256 ranges, every other page

/// Sixteen pages for case number `n`.
const fn slot(n: u64) -> u64 {
    SHARE_POOL + 0x200_0000 + n * 0x1_0000
}

/// What a lender grants for share/lend: read-write, instruction access left unspecified
/// (a sender naming it is refused).
const RW: AccessPerms = AccessPerms {
    data: DataAccess::ReadWrite,
    instruction: InstructionAccess::NotSpecified,
};
const RO: AccessPerms = AccessPerms {
    data: DataAccess::ReadOnly,
    instruction: InstructionAccess::NotSpecified,
};
/// What a donor names: nothing (DEN0140 "Memory access permissions usage").
const NO_ACCESS: AccessPerms = AccessPerms {
    data: DataAccess::NotSpecified,
    instruction: InstructionAccess::NotSpecified,
};

/// The first words a page holds when an SP is to read it.
const PATTERN: u32 = 0x5EED_0000;

fn ffa_status(code: ErrorCode) -> u64 {
    u64::from(status::ffa_error(code.to_i32()))
}

const OK: u64 = status::OK as u64;

/// The normal world as the owner (and the fragmented, 4096-page, 250-range and refusal
/// cases, all sent from the normal world).
pub const CASES: &[Case] = &[
    Case::default_set("mem_share_nw_to_echo_rw_reclaim", || with_mailbox(share_rw)),
    Case::layout("stuck", "aborted_sp_restarted_from_its_image", || {
        with_mailbox(restarted_from_image)
    }),
    Case::default_set("mem_share_nw_read_only_grant", || {
        with_mailbox(share_read_only)
    }),
    Case::default_set("mem_lend_nw_to_echo", || with_mailbox(lend_nw)),
    Case::default_set("mem_donate_nw_to_echo", || with_mailbox(donate_nw)),
    Case::default_set("mem_reclaim_while_retrieved_denied", || {
        with_mailbox(reclaim_while_held)
    }),
    Case::default_set("mem_share_nw_two_receivers", || with_mailbox(two_receivers)),
    Case::default_set("mem_share_4096_pages", || with_mailbox(pages_4096)),
    Case::default_set("mem_share_250_ranges", || with_mailbox(ranges_250)),
    Case::default_set("mem_share_fragmented_both_ways", || {
        with_mailbox(fragmented)
    }),
    Case::default_set("mem_fragmented_send_abandoned_by_reclaim", || {
        with_mailbox(fragment_abandoned)
    }),
    Case::default_set("mem_reject_receiver_count", || with_mailbox(reject_count)),
    Case::default_set("mem_reject_composite_offset", || {
        with_mailbox(reject_offset)
    }),
    Case::default_set("mem_reject_size_page_count", || with_mailbox(reject_size)),
    Case::default_set("mem_reject_length_beyond_tx", || {
        with_mailbox(reject_length)
    }),
    Case::default_set("mem_reject_device_attributes_on_ram", || {
        with_mailbox(reject_device_attributes)
    }),
    Case::default_set("mem_reject_reserved_attributes", || {
        with_mailbox(reject_reserved_attributes)
    }),
    Case::default_set("mem_reject_permission_unspecified", || {
        with_mailbox(reject_permission)
    }),
    Case::default_set("mem_reject_permission_instruction", || {
        with_mailbox(reject_instruction)
    }),
    Case::default_set("mem_reject_receiver_unknown", || {
        with_mailbox(reject_receiver)
    }),
    Case::default_set("mem_reject_flag_zero_on_share", || {
        with_mailbox(reject_flag)
    }),
    Case::default_set("mem_reject_handle_in_send", || with_mailbox(reject_handle)),
    Case::default_set("mem_reject_sender_not_caller", || {
        with_mailbox(reject_sender)
    }),
    Case::default_set("mem_reject_constituent_misaligned", || {
        with_mailbox(reject_misaligned)
    }),
    Case::default_set("mem_reject_constituent_secure", || {
        with_mailbox(reject_secure)
    }),
    Case::default_set("mem_reclaim_unknown_handle", || {
        with_mailbox(reclaim_unknown)
    }),
    // SPs as owners: echo shares, lends and donates its pages to fault.
    Case::default_set("mem_sp_share_echo_to_fault", || with_mailbox(sp_share)),
    Case::default_set("mem_sp_lend_echo_to_fault", || with_mailbox(sp_lend)),
    Case::default_set("mem_sp_donate_echo_to_fault", || with_mailbox(sp_donate)),
    Case::default_set("mem_sp_share_without_grant_denied", || {
        with_mailbox(sp_no_grant)
    }),
    Case::default_set("mem_sp_share_to_normal_world_denied", || {
        with_mailbox(sp_to_nw)
    }),
    Case::default_set("mem_device_share_denied", || with_mailbox(device_share)),
    Case::default_set("mem_device_lend_fault_to_echo", || {
        with_mailbox(device_lend)
    }),
    Case::default_set("mem_device_retrieve_normal_attributes_denied", || {
        with_mailbox(device_retrieve_weaker)
    }),
    Case::default_set("mem_device_retrieve_executable_denied", || {
        with_mailbox(device_retrieve_exec)
    }),
    Case::default_set("mem_device_send_normal_attributes_denied", || {
        with_mailbox(device_send_normal)
    }),
    Case::default_set("mem_device_send_by_non_owner_denied", || {
        with_mailbox(device_not_owner)
    }),
    // Issue 10, the attacker's side (bugs 2, 3, 4; bug 1 is the echo-aborting case below).
    Case::default_set("mem_attack_donee_lends_and_reclaims", || {
        with_mailbox(donee_lends_and_reclaims)
    }),
    Case::default_set("mem_attack_nw_fills_transaction_slots", || {
        with_mailbox(nw_fills_transaction_slots)
    }),
    Case::default_set("mem_attack_concurrent_fragmented_sends", || {
        with_mailbox(concurrent_fragmented_sends)
    }),
    // Uses up the normal world's donation quota for the rest of the boot: last of the
    // normal world's donations.
    Case::default_set("mem_attack_nw_donations_fill_ownership_table", || {
        with_mailbox(nw_donations_fill_ownership_table)
    }),
    // Aborts echo, which nearly every other case needs: its stage runs it after every Main
    // case and after the fault SP's abort (fault dies once per boot).
    Case::default_set("mem_owner_touching_lent_page_aborted", || {
        with_mailbox(lent_touch)
    })
    .stage(Stage::AbortsEcho)
    .after(&["mem_attack_nw_donations_fill_ownership_table"])
    .provokes("echo (0x8001) aborted: it touches the second of two donated pages it lent away"),
];

// ---- Helpers -------------------------------------------------------------------------------

/// Maps the normal world's RX/TX pair (FFA_RXTX_MAP_64, one page each) for one case and
/// unmaps it afterwards, whatever the case did: the SPMC refuses a second map (DENIED), and
/// the other case files map their own buffers the same way.
fn with_mailbox(body: fn() -> Outcome) -> Outcome {
    let m = call(FuncId::RxTxMap64, &[NW_TX, NW_RX, 1]);
    expect_success(&m, "FFA_RXTX_MAP_64")?;
    let r = body();
    let u = call(FuncId::RxTxUnmap, &[0]);
    r?;
    expect_success(&u, "FFA_RXTX_UNMAP at the end of the case").map(|_| ())
}

/// A lender's descriptor from the normal world in the v1.2 layout (the driver negotiates
/// v1.2 before any case runs).
fn descriptor<'a>(
    receivers: &'a [MemAccess],
    constituents: &'a [Constituent],
    attributes: MemAttributes,
) -> Result<TransactionBuilder<'a>, Failure> {
    match builder_for(Version::V1_2, NW, receivers, constituents) {
        Ok(mut b) => {
            b.attributes = attributes;
            Ok(b)
        }
        Err(e) => fail!("descriptor: {e:?}"),
    }
}

fn one(address: u64, pages: u32) -> [Constituent; 1] {
    [Constituent {
        address,
        page_count: pages,
    }]
}

/// Sends `b` with `fid` from TX, in fragments (FFA_MEM_FRAG_RX / FFA_MEM_FRAG_TX) if it does
/// not fit in the buffer; returns the final answer and how many fragments went.
fn send(fid: FuncId, b: &TransactionBuilder) -> Result<(Regs, u32), Failure> {
    let total = match b.total_len() {
        Ok(t) => t,
        Err(e) => fail!("descriptor length: {e:?}"),
    };
    let mut buf = [0u8; BUFFER_SIZE];
    let fragment = |offset: usize, buf: &mut [u8]| -> Result<usize, Failure> {
        match b.write_fragment(offset, buf) {
            Ok(n) if n > 0 && dram::write_bytes(NW_TX, &buf[..n]) => Ok(n),
            other => fail!("fragment at {offset}: {other:?}"),
        }
    };
    let mut sent = fragment(0, &mut buf)?;
    let mut r = call(fid, &[total as u64, sent as u64, 0, 0]);
    let mut fragments = 1;
    while r.w(0) == FuncId::MemFragRx.raw() {
        check_eq!(r.w(3) as usize, sent, "FFA_MEM_FRAG_RX offset");
        check!(fragments < 64, "more than 64 fragments");
        let n = fragment(sent, &mut buf)?;
        r = call(
            FuncId::MemFragTx,
            &[u64::from(r.w(1)), u64::from(r.w(2)), n as u64, 0],
        );
        sent += n;
        fragments += 1;
    }
    Ok((r, fragments))
}

/// Sends raw descriptor bytes (one fragment, w1 = `total`, w2 = the bytes' length).
fn send_bytes(fid: FuncId, bytes: &[u8], total: usize) -> Result<Regs, Failure> {
    check!(
        dram::write_bytes(NW_TX, bytes),
        "descriptor does not fit TX"
    );
    Ok(call(fid, &[total as u64, bytes.len() as u64, 0, 0]))
}

fn handle_of(r: &Regs, what: &str) -> Result<MemHandle, Failure> {
    expect_success(r, what)?;
    Ok(MemHandle::from_regs(r.w(2), r.w(3)))
}

fn reclaim(h: MemHandle) -> Regs {
    let (lo, hi) = h.to_regs();
    call(FuncId::MemReclaim, &[lo, hi, 0])
}

/// FFA_MSG_SEND_DIRECT_REQ2 from the normal world to `sp` (echo or fault) with its UUID as
/// the protocol; returns response words 0..14 (x4..x17). REQ2 because the commands use words
/// 5 and 6, and DIRECT_REQ_32/64 carry words 0..4 only.
fn request(sp: EndpointId, words: &[u64]) -> Result<[u64; 14], Failure> {
    let uuid = match sp {
        ECHO => test_protocol::uuid::ECHO,
        FAULT => test_protocol::uuid::FAULT,
        _ => fail!("no REQ2 protocol for {sp:#06x}"),
    };
    let mut args = [0u64; 17];
    args[0] = u64::from(sp);
    [args[1], args[2]] = Uuid::from_words(uuid).to_u64_pair();
    for (d, s) in args[3..].iter_mut().zip(words) {
        *d = *s;
    }
    let r = call(FuncId::MsgSendDirectReq2, &args);
    if r.w(0) != FuncId::MsgSendDirectResp2.raw() {
        fail!("request {:#x} to {sp:#06x}: {}", words[0], Shown(&r));
    }
    let mut out = [0u64; 14];
    out.copy_from_slice(&r.0[4..18]);
    Ok(out)
}

/// Asks `sp` to retrieve `h` (owned by `owner`), read the u32 at `offset`, write `value`
/// there (0: read only) and relinquish unless `keep`. Returns \[status, read, pages, count\].
fn access(
    sp: EndpointId,
    h: MemHandle,
    owner: EndpointId,
    value: u32,
    offset: u64,
    keep: bool,
) -> Result<[u64; 4], Failure> {
    let (lo, hi) = h.to_regs();
    let keep = if keep { cmd::MEM_KEEP } else { 0 };
    let r = request(
        sp,
        &[
            u64::from(cmd::MEM_ACCESS),
            lo,
            hi,
            u64::from(owner),
            u64::from(value),
            offset,
            keep,
        ],
    )?;
    Ok([r[0], r[1], r[2], r[3]])
}

fn relinquish_by(sp: EndpointId, h: MemHandle) -> Result<u64, Failure> {
    let (lo, hi) = h.to_regs();
    Ok(request(sp, &[u64::from(cmd::MEM_RELINQUISH), lo, hi])?[0])
}

/// Fills the first word of each page of `[base, base + pages)` with PATTERN + page index.
fn fill(base: u64, pages: u64) {
    for i in 0..pages {
        dram::write_u32(base + i * PAGE, PATTERN + i as u32);
    }
}

fn read(pa: u64) -> Result<u32, Failure> {
    match dram::read_u32(pa) {
        Some(v) => Ok(v),
        None => fail!("{pa:#x} is outside the driver's DRAM pool"),
    }
}

/// The valid transaction every refusal is checked against: share `pages` pages at `base`
/// RW with echo, echo reads PATTERN and writes `value`, relinquishes, and the normal world
/// reclaims and sees the write.
fn share_cycle(base: u64, pages: u32, value: u32) -> Outcome {
    fill(base, u64::from(pages));
    let rx = [MemAccess::new(ECHO, RW)];
    let cons = one(base, pages);
    let b = descriptor(&rx, &cons, MemAttributes::NORMAL_WB_INNER)?;
    let (r, _) = send(FuncId::MemShare32, &b)?;
    let h = handle_of(&r, "FFA_MEM_SHARE_32")?;
    let got = access(ECHO, h, NW, value, 0, false)?;
    check_eq!(
        got,
        [OK, u64::from(PATTERN), u64::from(pages), 1],
        "echo MEM_ACCESS [status, read, pages, count]"
    );
    expect_success(&reclaim(h), "FFA_MEM_RECLAIM")?;
    check_eq!(read(base)?, value, "the page after echo wrote it");
    Ok(())
}

// ---- Normal world as the owner -------------------------------------------------------------

fn share_rw() -> Outcome {
    let base = slot(0);
    fill(base, 1);
    let rx = [MemAccess::new(ECHO, RW)];
    let cons = one(base, 1);
    let b = descriptor(&rx, &cons, MemAttributes::NORMAL_WB_INNER)?;
    let (r, frags) = send(FuncId::MemShare32, &b)?;
    check_eq!(frags, 1, "fragments");
    let h = handle_of(&r, "FFA_MEM_SHARE_32")?;
    check!(h.is_spmc_allocated(), "handle {h:?} has bit 63 set");
    check_eq!(
        access(ECHO, h, NW, 0xA11C_E001, 0, false)?,
        [OK, u64::from(PATTERN), 1, 1],
        "echo MEM_ACCESS"
    );
    // A share leaves the owner's access: the normal world sees echo's write at once.
    check_eq!(read(base)?, 0xA11C_E001, "page after echo's write");
    // Retrieve again after relinquish: allowed while the transaction lives.
    check_eq!(
        access(ECHO, h, NW, 0, 0, false)?,
        [OK, 0xA11C_E001, 1, 1],
        "echo's second retrieve"
    );
    expect_success(&reclaim(h), "FFA_MEM_RECLAIM")?;
    expect_error(
        &reclaim(h),
        ErrorCode::InvalidParameters,
        "reclaim of a reclaimed handle",
    )?;
    check_eq!(
        access(ECHO, h, NW, 0, 0, false)?[0],
        ffa_status(ErrorCode::InvalidParameters),
        "echo retrieving a reclaimed handle"
    );
    Ok(())
}

fn share_read_only() -> Outcome {
    let base = slot(1);
    fill(base, 1);
    let rx = [MemAccess::new(ECHO, RO)];
    let cons = one(base, 1);
    let b = descriptor(&rx, &cons, MemAttributes::NORMAL_WB_INNER)?;
    let h = handle_of(&send(FuncId::MemShare32, &b)?.0, "FFA_MEM_SHARE_32 RO")?;
    // Asking for more than the grant is refused (DENIED) and maps nothing.
    check_eq!(
        access(ECHO, h, NW, 0xBAD, 0, false)?[0],
        ffa_status(ErrorCode::Denied),
        "echo retrieving RW from an RO grant"
    );
    check_eq!(
        access(ECHO, h, NW, 0, 0, false)?,
        [OK, u64::from(PATTERN), 1, 1],
        "echo RO retrieve"
    );
    expect_success(&reclaim(h), "FFA_MEM_RECLAIM")?;
    check_eq!(read(base)?, PATTERN, "page unchanged");
    Ok(())
}

fn lend_nw() -> Outcome {
    let base = slot(2);
    fill(base, 2);
    let rx = [MemAccess::new(ECHO, RW)];
    let cons = one(base, 2);
    // A lend to one borrower leaves the memory type to the borrower.
    let b = descriptor(&rx, &cons, MemAttributes::NOT_SPECIFIED)?;
    let h = handle_of(&send(FuncId::MemLend32, &b)?.0, "FFA_MEM_LEND_32")?;
    check_eq!(
        access(ECHO, h, NW, 0x1E4D_0002, PAGE, false)?,
        [OK, u64::from(PATTERN + 1), 2, 1],
        "echo MEM_ACCESS on the second page"
    );
    expect_success(&reclaim(h), "FFA_MEM_RECLAIM")?;
    check_eq!(read(base + PAGE)?, 0x1E4D_0002, "second page after reclaim");
    check_eq!(
        access(ECHO, h, NW, 0, 0, false)?[0],
        ffa_status(ErrorCode::InvalidParameters),
        "echo retrieving after reclaim"
    );
    Ok(())
}

fn donate_nw() -> Outcome {
    let base = slot(3);
    fill(base, 1);
    let rx = [MemAccess::new(ECHO, NO_ACCESS)];
    let cons = one(base, 1);
    let b = descriptor(&rx, &cons, MemAttributes::NOT_SPECIFIED)?;
    let h = handle_of(&send(FuncId::MemDonate32, &b)?.0, "FFA_MEM_DONATE_32")?;
    // The donee keeps the page: a retrieve of a donation ends the transaction.
    check_eq!(
        access(ECHO, h, NW, 0xD0_0A7E, 0, true)?,
        [OK, u64::from(PATTERN), 1, 1],
        "echo retrieving the donation"
    );
    expect_error(
        &reclaim(h),
        ErrorCode::InvalidParameters,
        "reclaim of a donated handle",
    )?;
    // The normal world gave the page away: it may not share it any more.
    let rx_rw = [MemAccess::new(ECHO, RW)];
    let b = descriptor(&rx_rw, &cons, MemAttributes::NORMAL_WB_INNER)?;
    expect_error(
        &send(FuncId::MemShare32, &b)?.0,
        ErrorCode::Denied,
        "sharing the donated page",
    )?;
    Ok(())
}

fn reclaim_while_held() -> Outcome {
    let base = slot(4);
    fill(base, 1);
    let rx = [MemAccess::new(ECHO, RW)];
    let cons = one(base, 1);
    let b = descriptor(&rx, &cons, MemAttributes::NORMAL_WB_INNER)?;
    let h = handle_of(&send(FuncId::MemShare32, &b)?.0, "FFA_MEM_SHARE_32")?;
    check_eq!(
        access(ECHO, h, NW, 0, 0, true)?[0],
        OK,
        "echo retrieve (kept)"
    );
    expect_error(
        &reclaim(h),
        ErrorCode::Denied,
        "reclaim while echo holds it",
    )?;
    // A second retrieve by the same borrower while it holds the memory is refused.
    check_eq!(
        access(ECHO, h, NW, 0, 0, true)?[0],
        ffa_status(ErrorCode::Denied),
        "echo retrieving twice"
    );
    check_eq!(relinquish_by(ECHO, h)?, OK, "echo relinquish");
    check_eq!(
        relinquish_by(ECHO, h)?,
        ffa_status(ErrorCode::InvalidParameters),
        "echo relinquishing twice"
    );
    expect_success(&reclaim(h), "reclaim after relinquish")?;
    Ok(())
}

fn two_receivers() -> Outcome {
    let base = slot(5);
    fill(base, 1);
    let rx = [MemAccess::new(ECHO, RW), MemAccess::new(FAULT, RW)];
    let cons = one(base, 1);
    let b = descriptor(&rx, &cons, MemAttributes::NORMAL_WB_INNER)?;
    let h = handle_of(&send(FuncId::MemShare32, &b)?.0, "FFA_MEM_SHARE_32 x2")?;
    check_eq!(
        access(ECHO, h, NW, 0xEC40_0001, 0, true)?,
        [OK, u64::from(PATTERN), 1, 1],
        "echo retrieve+write (kept)"
    );
    // fault sees echo's write through its own mapping of the same page.
    check_eq!(
        access(FAULT, h, NW, 0xFA17_0002, 0, false)?,
        [OK, 0xEC40_0001, 1, 1],
        "fault retrieve+read+write+relinquish"
    );
    expect_error(
        &reclaim(h),
        ErrorCode::Denied,
        "reclaim while echo holds it",
    )?;
    check_eq!(relinquish_by(ECHO, h)?, OK, "echo relinquish");
    expect_success(&reclaim(h), "reclaim")?;
    check_eq!(read(base)?, 0xFA17_0002, "page after both");
    check_eq!(
        access(FAULT, h, NW, 0, 0, false)?[0],
        ffa_status(ErrorCode::InvalidParameters),
        "fault retrieving after reclaim"
    );
    Ok(())
}

fn pages_4096() -> Outcome {
    const PAGES: u32 = 4096;
    let last = BIG + u64::from(PAGES - 1) * PAGE;
    fill(BIG, 1);
    dram::write_u32(last, PATTERN + 4095);
    let rx = [MemAccess::new(ECHO, RW)];
    let cons = one(BIG, PAGES);
    let b = descriptor(&rx, &cons, MemAttributes::NORMAL_WB_INNER)?;
    let h = handle_of(
        &send(FuncId::MemShare32, &b)?.0,
        "FFA_MEM_SHARE_32 4096 pages",
    )?;
    check_eq!(
        access(ECHO, h, NW, 0x4096_0001, 0, false)?,
        [OK, u64::from(PATTERN), u64::from(PAGES), 1],
        "echo on the first page"
    );
    check_eq!(
        access(ECHO, h, NW, 0x4096_0FFF, u64::from(PAGES - 1) * PAGE, false)?,
        [OK, u64::from(PATTERN + 4095), u64::from(PAGES), 1],
        "echo on the last page"
    );
    expect_success(&reclaim(h), "FFA_MEM_RECLAIM")?;
    check_eq!(read(BIG)?, 0x4096_0001, "first page");
    check_eq!(read(last)?, 0x4096_0FFF, "last page");
    Ok(())
}

/// `n` one-page constituents, every other page from `base` (so no two can be merged).
fn ranges<const N: usize>(base: u64) -> [Constituent; N] {
    core::array::from_fn(|i| Constituent {
        address: base + 2 * i as u64 * PAGE,
        page_count: 1,
    })
}

/// Shares `cons` with echo, has echo read/write the first word of the first and the last
/// range, reclaims; returns the number of fragments the send took.
fn share_ranges(cons: &[Constituent]) -> Result<u32, Failure> {
    let n = cons.len() as u64;
    for (i, c) in cons.iter().enumerate() {
        dram::write_u32(c.address, PATTERN + i as u32);
    }
    let rx = [MemAccess::new(ECHO, RW)];
    let b = descriptor(&rx, cons, MemAttributes::NORMAL_WB_INNER)?;
    let (r, frags) = send(FuncId::MemShare32, &b)?;
    let h = handle_of(&r, "FFA_MEM_SHARE_32")?;
    check_eq!(
        access(ECHO, h, NW, 0x0AAA_0000, 0, false)?,
        [OK, u64::from(PATTERN), n, n],
        "echo on the first range"
    );
    check_eq!(
        access(ECHO, h, NW, 0x0AAA_0001, (n - 1) * PAGE, false)?,
        [OK, u64::from(PATTERN) + n - 1, n, n],
        "echo on the last range"
    );
    expect_success(&reclaim(h), "FFA_MEM_RECLAIM")?;
    check_eq!(read(cons[0].address)?, 0x0AAA_0000, "first range");
    check_eq!(
        read(cons[cons.len() - 1].address)?,
        0x0AAA_0001,
        "last range"
    );
    Ok(frags)
}

fn ranges_250() -> Outcome {
    let cons: [Constituent; 250] = ranges(RANGES_250);
    // 48 + 32 + 16 + 250 * 16 = 4096 bytes: one fragment, and so is echo's retrieve response.
    check_eq!(share_ranges(&cons)?, 1, "fragments of the 250-range send");
    Ok(())
}

fn fragmented() -> Outcome {
    // 48 + 32 + 16 + 256 * 16 = 4192 bytes: more than the 4 KiB TX buffer, so the send goes
    // in two fragments, and echo's retrieve response does not fit its 4 KiB RX buffer either
    // (it fetches the rest with FFA_MEM_FRAG_RX; its constituent count proves it got it all).
    let cons: [Constituent; 256] = ranges(RANGES_256);
    check_eq!(share_ranges(&cons)?, 2, "fragments of the 256-range send");
    Ok(())
}

fn fragment_abandoned() -> Outcome {
    let cons: [Constituent; 256] = ranges(RANGES_ABANDONED);
    let rx = [MemAccess::new(ECHO, RW)];
    let b = descriptor(&rx, &cons, MemAttributes::NORMAL_WB_INNER)?;
    let total = b.total_len().unwrap_or(0);
    let mut buf = [0u8; BUFFER_SIZE];
    let n = match b.write_fragment(0, &mut buf) {
        Ok(n) => n,
        Err(e) => fail!("first fragment: {e:?}"),
    };
    let r = send_bytes(FuncId::MemShare32, &buf[..n], total)?;
    check_eq!(
        r.w(0),
        FuncId::MemFragRx.raw(),
        "answer to the first fragment"
    );
    check_eq!(r.w(3) as usize, n, "FRAG_RX offset");
    let h = MemHandle::from_regs(r.w(1), r.w(2));
    // The owner abandons the transmission by reclaiming its handle; then the handle is gone
    // and the pages are free for a new transaction.
    expect_success(&reclaim(h), "reclaim of the unfinished transmission")?;
    let r = call(
        FuncId::MemFragTx,
        &[u64::from(r.w(1)), u64::from(r.w(2)), 16, 0],
    );
    expect_error(
        &r,
        ErrorCode::InvalidParameters,
        "FRAG_TX after the abandon",
    )?;
    check_eq!(share_ranges(&cons)?, 2, "the same transaction again");
    Ok(())
}

// ---- Refusals: one per descriptor field, each followed by the valid transaction --------------

/// Builds the valid one-page share of `base` with echo, lets `corrupt` change its bytes,
/// sends it with `fid` and expects `want`; then runs the valid transaction on the same pages.
fn reject(
    base: u64,
    corrupt: impl FnOnce(&mut [u8]),
    fid: FuncId,
    want: ErrorCode,
    what: &str,
) -> Outcome {
    let rx = [MemAccess::new(ECHO, RW)];
    let cons = one(base, 1);
    let b = descriptor(&rx, &cons, MemAttributes::NORMAL_WB_INNER)?;
    let mut buf = [0u8; 256];
    let n = match b.write(&mut buf) {
        Ok(n) => n,
        Err(e) => fail!("descriptor: {e:?}"),
    };
    corrupt(&mut buf[..n]);
    expect_error(&send_bytes(fid, &buf[..n], n)?, want, what)?;
    share_cycle(base, 1, 0x600D_0000 | (base >> 16) as u32 & 0xFFFF)
}

// v1.2 layout offsets (ffa_abi::memory::transaction's table): header 48 bytes, one 32-byte
// endpoint memory access descriptor, the composite at 80, the constituent at 96.
const SENDER: usize = 0;
const ATTRIBUTES: usize = 2;
const FLAGS: usize = 4;
const HANDLE: usize = 8;
const EMAD_COUNT: usize = 28;
const EMAD_ENDPOINT: usize = 48;
const EMAD_PERMS: usize = 50;
const EMAD_COMPOSITE: usize = 52;
const TOTAL_PAGES: usize = 80;
const CONSTITUENT_ADDRESS: usize = 96;

fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn reject_count() -> Outcome {
    reject(
        slot(10),
        |b| put_u32(b, EMAD_COUNT, 0),
        FuncId::MemShare32,
        ErrorCode::InvalidParameters,
        "receiver count 0",
    )
}

fn reject_offset() -> Outcome {
    reject(
        slot(11),
        |b| {
            let end = b.len() as u32;
            put_u32(b, EMAD_COMPOSITE, end);
        },
        FuncId::MemShare32,
        ErrorCode::InvalidParameters,
        "composite offset past the end",
    )
}

fn reject_size() -> Outcome {
    reject(
        slot(12),
        |b| put_u32(b, TOTAL_PAGES, 2),
        FuncId::MemShare32,
        ErrorCode::InvalidParameters,
        "total page count 2 for a 1-page constituent",
    )
}

fn reject_length() -> Outcome {
    // w1 = w2 larger than the 4 KiB TX buffer: the SPMC cannot read it.
    let base = slot(13);
    let r = call(FuncId::MemShare32, &[0x2000, 0x2000, 0, 0]);
    expect_error(&r, ErrorCode::InvalidParameters, "fragment length 8 KiB")?;
    share_cycle(base, 1, 0x600D_0013)
}

fn reject_device_attributes() -> Outcome {
    // Device-nGnRE over normal DRAM: the memory type does not fit the memory (DENIED).
    reject(
        slot(14),
        |b| put_u16(b, ATTRIBUTES, 0x14),
        FuncId::MemShare32,
        ErrorCode::Denied,
        "device attributes on RAM",
    )
}

fn reject_reserved_attributes() -> Outcome {
    reject(
        slot(15),
        |b| put_u16(b, ATTRIBUTES, 0x3F),
        FuncId::MemShare32,
        ErrorCode::InvalidParameters,
        "reserved memory type 0b11",
    )
}

fn reject_permission() -> Outcome {
    reject(
        slot(16),
        |b| b[EMAD_PERMS] = NO_ACCESS.encode(),
        FuncId::MemShare32,
        ErrorCode::InvalidParameters,
        "share with data access not specified",
    )
}

fn reject_instruction() -> Outcome {
    let rwx = AccessPerms {
        data: DataAccess::ReadWrite,
        instruction: InstructionAccess::Executable,
    };
    reject(
        slot(17),
        |b| b[EMAD_PERMS] = rwx.encode(),
        FuncId::MemShare32,
        ErrorCode::InvalidParameters,
        "sender naming instruction access",
    )
}

fn reject_receiver() -> Outcome {
    reject(
        slot(18),
        |b| put_u16(b, EMAD_ENDPOINT, 0x80FF),
        FuncId::MemShare32,
        ErrorCode::InvalidParameters,
        "unknown receiver 0x80ff",
    )
}

fn reject_flag() -> Outcome {
    reject(
        slot(19),
        |b| put_u32(b, FLAGS, TransactionFlags::ZERO_MEMORY),
        FuncId::MemShare32,
        ErrorCode::InvalidParameters,
        "zero-memory flag on a share",
    )
}

fn reject_handle() -> Outcome {
    reject(
        slot(20),
        |b| put_u64(b, HANDLE, 0x1234),
        FuncId::MemShare32,
        ErrorCode::InvalidParameters,
        "handle in a lender's descriptor",
    )
}

fn reject_sender() -> Outcome {
    reject(
        slot(21),
        |b| put_u16(b, SENDER, ECHO.0),
        FuncId::MemShare32,
        ErrorCode::Denied,
        "sender echo from the normal world",
    )
}

fn reject_misaligned() -> Outcome {
    let base = slot(22);
    reject(
        base,
        |b| put_u64(b, CONSTITUENT_ADDRESS, base + 0x800),
        FuncId::MemShare32,
        ErrorCode::InvalidParameters,
        "constituent not page aligned",
    )
}

fn reject_secure() -> Outcome {
    // echo's own RW window (secure memory): not the normal world's to share.
    reject(
        slot(23),
        |b| put_u64(b, CONSTITUENT_ADDRESS, 0x2408_0000),
        FuncId::MemShare32,
        ErrorCode::Denied,
        "secure memory as a constituent",
    )
}

fn reclaim_unknown() -> Outcome {
    expect_error(
        &reclaim(MemHandle(0x7FFF_0000_0000)),
        ErrorCode::InvalidParameters,
        "reclaim of a handle never issued",
    )?;
    share_cycle(slot(24), 1, 0x600D_0024)
}

// ---- SPs as owners ---------------------------------------------------------------------------

/// echo sends one page of its own to fault with `abi`; fault retrieves, reads, writes
/// `value`; echo reclaims (share/lend). Returns echo's answer words 0..5.
fn sp_send(abi: u64, value: u32) -> Result<[u64; 5], Failure> {
    let r = request(
        ECHO,
        &[
            u64::from(cmd::MEM_SEND),
            u64::from(FAULT),
            abi,
            u64::from(value),
        ],
    )?;
    Ok([r[0], r[1], r[2], r[3], r[4]])
}

fn sp_share() -> Outcome {
    check_eq!(
        sp_send(cmd::MEM_SEND_SHARE, 0x5A5E_0001)?,
        [OK, OK, u64::from(cmd::SHARE_PATTERN), 0x5A5E_0001, OK],
        "echo MEM_SEND share [status, fault's status, fault read, page after, reclaim]"
    );
    Ok(())
}

fn sp_lend() -> Outcome {
    check_eq!(
        sp_send(cmd::MEM_SEND_LEND, 0x1E4D_0001)?,
        [OK, OK, u64::from(cmd::SHARE_PATTERN), 0x1E4D_0001, OK],
        "echo MEM_SEND lend [status, fault's status, fault read, page after, reclaim]"
    );
    Ok(())
}

fn sp_donate() -> Outcome {
    // fault keeps the donated page; echo's reclaim finds no transaction.
    check_eq!(
        sp_send(cmd::MEM_SEND_DONATE, 0xD0_0A7E)?,
        [
            OK,
            OK,
            u64::from(cmd::SHARE_PATTERN),
            0,
            ffa_status(ErrorCode::InvalidParameters)
        ],
        "echo MEM_SEND donate [status, fault's status, fault read, page after, reclaim]"
    );
    Ok(())
}

fn sp_no_grant() -> Outcome {
    // echo has no memory-share grant for relay (partitions/sp_layout.json).
    let r = request(
        ECHO,
        &[
            u64::from(cmd::MEM_SEND),
            u64::from(id::RELAY),
            cmd::MEM_SEND_SHARE,
            1,
        ],
    )?;
    check_eq!(
        r[0],
        ffa_status(ErrorCode::Denied),
        "echo sharing with relay"
    );
    // And echo can still share with fault: nothing was left half done.
    sp_share()
}

fn sp_to_nw() -> Outcome {
    // echo's grants name the normal world, but SP memory is secure and this SPMC serves no
    // normal-world retrieval: an SP may only send to SPs (mem_share "choices": DENIED).
    let r = request(ECHO, &[u64::from(cmd::MEM_SEND), 0, cmd::MEM_SEND_SHARE, 1])?;
    check_eq!(
        r[0],
        ffa_status(ErrorCode::Denied),
        "echo sharing with the normal world"
    );
    let r = request(ECHO, &[u64::from(cmd::MEM_SEND), 0, cmd::MEM_SEND_LEND, 1])?;
    check_eq!(
        r[0],
        ffa_status(ErrorCode::Denied),
        "echo lending to the normal world"
    );
    sp_share()
}

// ---- Device memory: fault's secure UART MM -----------------------------------------------

/// Memory region attributes fields (DEN0140 "Memory region attributes": bits [5:4] type
/// 0b01 device / 0b10 normal, bits [3:2] the device kind or cacheability, [1:0] shareability).
const DEVICE_NGNRNE: u64 = 0x10;
const DEVICE_NGNRE: u64 = 0x14;
const NORMAL_WB_INNER: u64 = MemAttributes::NORMAL_WB_INNER.encode() as u64;
const RW_NX: u64 = AccessPerms::RW_NX.encode() as u64;
const RWX: u64 = AccessPerms {
    data: DataAccess::ReadWrite,
    instruction: InstructionAccess::Executable,
}
.encode() as u64;

/// fault reads the PL011's eight ID registers through its own manifest mapping.
fn owner_reads_device(when: &str) -> Outcome {
    let r = request(FAULT, &[u64::from(cmd::DEV_READ), device::PL011_ID_OFFSET])?;
    if (r[0], r[1]) != (OK, device::PL011_ID) {
        fail!(
            "fault's own read of the PL011 ID registers {when}: status {:#x}, bytes {:#x}, want {:#x}",
            r[0],
            r[1],
            device::PL011_ID
        );
    }
    Ok(())
}

/// fault sends its device page to echo with `abi` and attributes field `attrs`; returns
/// fault's status and the handle.
fn device_send(abi: u64, attrs: u64) -> Result<(u64, MemHandle), Failure> {
    let r = request(
        FAULT,
        &[u64::from(cmd::DEV_SEND), u64::from(ECHO), abi, attrs],
    )?;
    Ok((r[0], MemHandle::from_regs(r[1] as u32, r[2] as u32)))
}

fn device_sent(abi: u64, attrs: u64) -> Result<MemHandle, Failure> {
    let (st, h) = device_send(abi, attrs)?;
    check_eq!(st, OK, "fault DEV_SEND of its device page");
    Ok(h)
}

/// echo retrieves `h` asking `attrs` and `perms`, reads the ID registers, relinquishes.
/// Returns \[status, packed ID bytes, response attributes, granted permissions, pages\].
fn device_access(h: MemHandle, attrs: u64, perms: u64) -> Result<[u64; 5], Failure> {
    let (lo, hi) = h.to_regs();
    let r = request(
        ECHO,
        &[
            u64::from(cmd::DEV_ACCESS),
            lo,
            hi,
            u64::from(FAULT),
            attrs,
            perms,
            device::PL011_ID_OFFSET,
        ],
    )?;
    Ok([r[0], r[1], r[2], r[3], r[4]])
}

/// fault's FFA_MEM_RECLAIM of `h` (through RAW_CALL): checks FFA_SUCCESS.
fn owner_reclaims(h: MemHandle) -> Outcome {
    let (lo, hi) = h.to_regs();
    let r = request(
        FAULT,
        &[
            u64::from(cmd::RAW_CALL),
            u64::from(FuncId::MemReclaim.raw()),
            lo,
            hi,
            0,
        ],
    )?;
    if (r[0], r[1] as u32) != (OK, FuncId::Success32.raw()) {
        fail!(
            "fault's FFA_MEM_RECLAIM of its device page: status {:#x}, x0 {:#x}, x2 {:#x}",
            r[0],
            r[1],
            r[3]
        );
    }
    Ok(())
}

/// The whole valid transaction: send, echo retrieves Device-nGnRE RW and reads the device,
/// fault reclaims and its own mapping still reaches the device.
fn device_cycle(abi: u64) -> Outcome {
    let attrs = if abi == cmd::MEM_SEND_SHARE {
        DEVICE_NGNRE
    } else {
        0
    };
    let h = device_sent(abi, attrs)?;
    check_eq!(
        device_access(h, DEVICE_NGNRE, RW_NX)?,
        [OK, device::PL011_ID, DEVICE_NGNRE, RW_NX, 1],
        "echo DEV_ACCESS [status, ID bytes, attributes, permissions, pages]"
    );
    owner_reclaims(h)?;
    owner_reads_device("after the reclaim")
}

fn device_share() -> Outcome {
    owner_reads_device("before the share")?;
    check_eq!(
        device_send(cmd::MEM_SEND_SHARE, DEVICE_NGNRE)?.0,
        ffa_status(ErrorCode::Denied),
        "fault sharing its device page"
    );
    // The refusal changed nothing: fault still has its device, and may lend it. (Donate and
    // a lend to two are refused by the same rule: mem_share's
    // device_memory_is_never_shared_donated_or_lent_to_several.)
    owner_reads_device("after the refusal")?;
    device_cycle(cmd::MEM_SEND_LEND)
}

fn device_lend() -> Outcome {
    // A lend to one borrower leaves the memory type to the receiver: with "not specified"
    // too, the SPMC picks Device-nGnRnE (the strictest) for device memory.
    let h = device_sent(cmd::MEM_SEND_LEND, 0)?;
    check_eq!(
        device_access(h, 0, RW_NX)?,
        [OK, device::PL011_ID, DEVICE_NGNRNE, RW_NX, 1],
        "echo DEV_ACCESS, type not specified [status, ID bytes, attributes, permissions, pages]"
    );
    check_eq!(
        device_access(h, DEVICE_NGNRE, RW_NX)?,
        [OK, device::PL011_ID, DEVICE_NGNRE, RW_NX, 1],
        "echo DEV_ACCESS Device-nGnRE [status, ID bytes, attributes, permissions, pages]"
    );
    // Lent away: fault's own mapping is gone until the reclaim restores it (a read now would
    // abort fault, which later cases need; mem_owner_touching_lent_page_aborted covers that
    // for normal memory).
    owner_reclaims(h)?;
    owner_reads_device("after the reclaim of the lend")
}

fn device_retrieve_weaker() -> Outcome {
    let denied = ffa_status(ErrorCode::Denied);
    let h = device_sent(cmd::MEM_SEND_LEND, 0)?;
    check_eq!(
        device_access(h, NORMAL_WB_INNER, RW_NX)?[0],
        denied,
        "echo retrieving device memory as normal write-back memory"
    );
    // The refusal changed nothing: the right retrieve works, then the reclaim.
    check_eq!(
        device_access(h, DEVICE_NGNRE, RW_NX)?,
        [OK, device::PL011_ID, DEVICE_NGNRE, RW_NX, 1],
        "echo DEV_ACCESS after the refusal"
    );
    owner_reclaims(h)?;
    owner_reads_device("after the reclaim")
}

fn device_retrieve_exec() -> Outcome {
    let denied = ffa_status(ErrorCode::Denied);
    // A lend to one borrower is where normal memory may be mapped executable; device memory
    // never is, whatever attributes the borrower asks for.
    let h = device_sent(cmd::MEM_SEND_LEND, 0)?;
    check_eq!(
        device_access(h, DEVICE_NGNRE, RWX)?[0],
        denied,
        "echo retrieving device memory executable, Device-nGnRE"
    );
    check_eq!(
        device_access(h, 0, RWX)?[0],
        denied,
        "echo retrieving device memory executable, type not specified"
    );
    check_eq!(
        device_access(h, DEVICE_NGNRE, RW_NX)?,
        [OK, device::PL011_ID, DEVICE_NGNRE, RW_NX, 1],
        "echo DEV_ACCESS after the refusals"
    );
    owner_reclaims(h)?;
    owner_reads_device("after the reclaim")
}

fn device_send_normal() -> Outcome {
    let (st, _) = device_send(cmd::MEM_SEND_SHARE, NORMAL_WB_INNER)?;
    check_eq!(
        st,
        ffa_status(ErrorCode::Denied),
        "fault sharing its device page as normal memory"
    );
    device_cycle(cmd::MEM_SEND_LEND)
}

fn device_not_owner() -> Outcome {
    // echo has no device region: the secure UART MM is not mapped in it, so not its to send.
    let r = request(
        ECHO,
        &[
            u64::from(cmd::DEV_SEND),
            u64::from(FAULT),
            cmd::MEM_SEND_SHARE,
            DEVICE_NGNRE,
        ],
    )?;
    check_eq!(
        r[0],
        ffa_status(ErrorCode::Denied),
        "echo sharing the device page it does not own"
    );
    // The normal world owns no device memory as far as the SPMC is concerned (only its DRAM):
    // not the secure UART MM, nor its own UART.
    let Some(dev) = MemAttributes::decode(DEVICE_NGNRE as u16, ffa_abi::memory::Layout::V1_2)
    else {
        fail!("Device-nGnRE attributes do not decode");
    };
    let rx = [MemAccess::new(ECHO, RW)];
    for (fid, base, attrs, what) in [
        (
            FuncId::MemShare32,
            device::BASE,
            dev,
            "NW sharing the secure UART MM",
        ),
        (
            FuncId::MemShare32,
            0x6000_0000,
            dev,
            "NW sharing its own UART",
        ),
        (
            FuncId::MemLend32,
            device::BASE,
            MemAttributes::NOT_SPECIFIED,
            "NW lending the secure UART MM",
        ),
    ] {
        let cons = one(base, 1);
        let b = descriptor(&rx, &cons, attrs)?;
        let (r, _) = send(fid, &b)?;
        expect_error(&r, ErrorCode::Denied, what)?;
    }
    // fault's device page is untouched by all that.
    device_cycle(cmd::MEM_SEND_LEND)
}

fn lent_touch() -> Outcome {
    // echo must be alive and well first, or the ABORTED below would prove nothing.
    check_eq!(request(ECHO, &[0x7E57])?[0], 0x7E57, "echo before the case");
    // Issue 10 bug 1: echo owns two neighbouring pages by two donations from the normal
    // world, and lends both to fault (its memory-share grant) in one transaction, as two
    // constituents the SPMC merges into one physical range. It must lose both: it used to
    // keep the second (mapped at a second VA window) and read what the borrower wrote. Its
    // touch of the second page must take a translation fault, and the SPMC aborts it; the
    // normal world's pending request ends with ABORTED. (fault may be aborted already: the
    // lend does not need the borrower to run.)
    // (The two donations were made by mem_attack_nw_donations_fill_ownership_table: the
    // normal world's donation quota is used up after it.)
    let p = BUG1_PAGES;
    send_ranges(ECHO, FAULT, cmd::MEM_SEND_LEND, &[(p, 1), (p + PAGE, 1)])?;
    let r = call(
        FuncId::MsgSendDirectReq64,
        &[u64::from(ECHO), 0, u64::from(cmd::FAULT_TOUCH), p + PAGE],
    );
    expect_error(
        &r,
        ErrorCode::Aborted,
        "echo touching the second page it lent away",
    )?;
    let again = call(FuncId::MsgSendDirectReq64, &[u64::from(ECHO), 0, 1, 2, 3]);
    expect_error(&again, ErrorCode::Aborted, "a request to the aborted echo")?;
    // Contained: pkg-sp still answers.
    let r = call(
        FuncId::MsgSendDirectReq32,
        &[u64::from(id::PKG_SP), 0, 7, 8, 9],
    );
    check_eq!(
        (r.w(0), r.w(3), r.w(4), r.w(5)),
        (FuncId::MsgSendDirectResp32.raw(), 7, 8, 9),
        "pkg-sp's echo after echo's abort"
    );
    Ok(())
}

// ---- Issue 10: the attacker's side --------------------------------------------------------

/// Two pages echo owns by donation for the bug 1 case.
const BUG1_PAGES: u64 = slot(43);

/// NW donates one page at `pa` to `sp`, which retrieves it (writing `value` at offset 0) and
/// keeps it: the page is `sp`'s own from then on, at VA = PA.
fn donate_to(sp: EndpointId, pa: u64, value: u32) -> Outcome {
    let rx = [MemAccess::new(sp, NO_ACCESS)];
    let cons = one(pa, 1);
    let b = descriptor(&rx, &cons, MemAttributes::NOT_SPECIFIED)?;
    let h = handle_of(&send(FuncId::MemDonate32, &b)?.0, "FFA_MEM_DONATE_32")?;
    check_eq!(
        access(sp, h, NW, value, 0, true)?[0],
        OK,
        "the donee's retrieve of the donation"
    );
    Ok(())
}

/// `sp` sends `ranges` (addresses in its address space) to `to` with `abi` and leaves the
/// transaction live; returns the handle.
fn send_ranges(
    sp: EndpointId,
    to: EndpointId,
    abi: u64,
    ranges: &[(u64, u64)],
) -> Result<MemHandle, Failure> {
    check!(ranges.len() <= 4, "SEND_RANGES takes four ranges");
    let mut words = [0u64; 12];
    words[..4].copy_from_slice(&[
        u64::from(cmd::SEND_RANGES),
        u64::from(to),
        abi,
        ranges.len() as u64,
    ]);
    for (k, &(a, n)) in ranges.iter().enumerate() {
        words[4 + 2 * k] = a;
        words[5 + 2 * k] = n;
    }
    let r = request(sp, &words[..4 + 2 * ranges.len()])?;
    check_eq!(r[0], OK, "SEND_RANGES status");
    Ok(MemHandle::from_regs(r[1] as u32, r[2] as u32))
}

/// `sp`'s FFA_MEM_RECLAIM of `h` (RAW_CALL): FFA_SUCCESS expected.
fn sp_reclaims(sp: EndpointId, h: MemHandle) -> Outcome {
    let (lo, hi) = h.to_regs();
    let r = request(
        sp,
        &[
            u64::from(cmd::RAW_CALL),
            u64::from(FuncId::MemReclaim.raw()),
            lo,
            hi,
            0,
        ],
    )?;
    check_eq!(
        (r[0], r[1] as u32),
        (OK, FuncId::Success32.raw()),
        "the owner's FFA_MEM_RECLAIM [status, x0]"
    );
    Ok(())
}

/// Issue 10 bug 2: an SP lends a page it got by donation, the borrower writes it, the SP
/// reclaims it and must have it again (the SPMC used to log "owner mapping not found" and
/// leave it unmapped: the touch below then aborted fault).
fn donee_lends_and_reclaims() -> Outcome {
    let p = slot(40);
    donate_to(FAULT, p, 0x0D0_4EE1)?;
    let h = send_ranges(FAULT, ECHO, cmd::MEM_SEND_LEND, &[(p, 1)])?;
    check_eq!(
        access(ECHO, h, FAULT, 0x0B0B_0B0B, 0, false)?,
        [OK, 0x0D0_4EE1, 1, 1],
        "echo borrowing fault's donated page [status, read, pages, count]"
    );
    sp_reclaims(FAULT, h)?;
    let r = request(FAULT, &[u64::from(cmd::FAULT_TOUCH), p])?;
    check_eq!(
        [r[0], r[1]],
        [OK, 0x0B0B_0B0B],
        "fault reading its reclaimed page [status, value]"
    );
    Ok(())
}

/// Issue 10 bug 3: the normal world sharing pages nobody retrieves used to take every
/// transaction slot, after which every SP-to-SP share failed NO_MEMORY. Now it runs into
/// its own quota (NO_MEMORY for it alone) and echo's share with fault still works.
fn nw_fills_transaction_slots() -> Outcome {
    let rx = [MemAccess::new(ECHO, RW)];
    let mut handles = [MemHandle(0); 16];
    let mut shared = 0;
    let mut refused = 0;
    for k in 0..16 {
        let cons = one(slot(41) + k * PAGE, 1);
        let b = descriptor(&rx, &cons, MemAttributes::NORMAL_WB_INNER)?;
        let (r, _) = send(FuncId::MemShare32, &b)?;
        if r.w(0) == FuncId::Error32.raw() {
            expect_error(
                &r,
                ErrorCode::NoMemory,
                "a share beyond the normal world's quota",
            )?;
            refused += 1;
        } else {
            handles[shared] = handle_of(&r, "FFA_MEM_SHARE_32")?;
            shared += 1;
        }
    }
    // The SPs' share works while the normal world is at its quota.
    let r = request(ECHO, &[u64::from(cmd::SHARE), u64::from(FAULT), 0x600D])?;
    for h in &handles[..shared] {
        expect_success(&reclaim(*h), "FFA_MEM_RECLAIM")?;
    }
    check!(
        refused > 0,
        "16 shares of the normal world all accepted: no quota"
    );
    check_eq!(
        [r[0], r[1]],
        [OK, OK],
        "echo SHARE with fault while the normal world is at its quota [status, fault's]"
    );
    Ok(())
}

/// Two pages (one apart) the normal world sends in two fragments in
/// [`concurrent_fragmented_sends`].
const FRAG_PAGES: u64 = slot(44);

/// One step of an SP's fragmented share of two of its heap pages with `to`
/// (test-protocol `FRAG_SHARE`): `step` 0 starts it (`pages` \[0, 0\]: the SP allocates them),
/// 1 sends the rest from `offset` for handle `h`. Returns the response words \[status, w0, w1,
/// w2, w3, page 0, page 1\].
fn sp_frag_share(
    sp: EndpointId,
    to: EndpointId,
    step: u64,
    h: MemHandle,
    offset: u64,
    pages: [u64; 2],
) -> Result<[u64; 7], Failure> {
    let (lo, hi) = h.to_regs();
    let r = request(
        sp,
        &[
            u64::from(cmd::FRAG_SHARE),
            u64::from(to),
            step,
            lo,
            hi,
            offset,
            pages[0],
            pages[1],
        ],
    )?;
    Ok([r[0], r[1], r[2], r[3], r[4], r[5], r[6]])
}

/// Issue 10: fragment reassembly is bounded per sender, and the senders do not share one
/// bound. The normal world, echo and fault each start a fragmented share (the first fragment
/// holds the first of two ranges) and keep it in flight; a second start by the normal world
/// or by echo is NO_MEMORY (its own quota of one reassembly), and that refusal takes nothing
/// from the others: all three complete afterwards, whole (each borrower's retrieve sees both
/// pages), and are reclaimed.
fn concurrent_fragmented_sends() -> Outcome {
    let rx = [MemAccess::new(ECHO, RW)];
    let cons = [
        Constituent {
            address: FRAG_PAGES,
            page_count: 1,
        },
        Constituent {
            address: FRAG_PAGES + 2 * PAGE,
            page_count: 1,
        },
    ];
    fill(FRAG_PAGES, 3);
    let b = descriptor(&rx, &cons, MemAttributes::NORMAL_WB_INNER)?;
    let (Ok(total), Ok(prefix)) = (b.total_len(), b.prefix_len()) else {
        fail!("descriptor length")
    };
    let mut buf = [0u8; BUFFER_SIZE];
    let first = match b.write_fragment(0, &mut buf[..prefix + 16]) {
        Ok(n) => n,
        Err(e) => fail!("first fragment: {e:?}"),
    };
    check!(
        first < total,
        "the first fragment is not the whole descriptor"
    );
    // The normal world's transmission, in flight.
    let r = send_bytes(FuncId::MemShare32, &buf[..first], total)?;
    check_eq!(
        (r.w(0), r.w(3) as usize),
        (FuncId::MemFragRx.raw(), first),
        "the normal world's first fragment [w0, FRAG_RX offset]"
    );
    let nw = MemHandle::from_regs(r.w(1), r.w(2));
    // echo's and fault's, started while the normal world's is in flight.
    let e = sp_frag_share(ECHO, FAULT, 0, MemHandle(0), 0, [0, 0])?;
    check_eq!(
        [e[0], e[1]],
        [OK, u64::from(FuncId::MemFragRx.raw())],
        "echo's first fragment with the normal world's in flight [status, w0]"
    );
    let echo_pages = [e[5], e[6]];
    let echo_h = MemHandle::from_regs(e[2] as u32, e[3] as u32);
    let echo_off = e[4];
    let f = sp_frag_share(FAULT, ECHO, 0, MemHandle(0), 0, [0, 0])?;
    check_eq!(
        [f[0], f[1]],
        [OK, u64::from(FuncId::MemFragRx.raw())],
        "fault's first fragment with two others in flight [status, w0]"
    );
    let fault_pages = [f[5], f[6]];
    let fault_h = MemHandle::from_regs(f[2] as u32, f[3] as u32);
    // A second transmission of the normal world and of echo: each over its own quota.
    let r = send_bytes(FuncId::MemShare32, &buf[..first], total)?;
    expect_error(
        &r,
        ErrorCode::NoMemory,
        "the normal world's second fragmented send while its first is in flight",
    )?;
    let e2 = sp_frag_share(ECHO, FAULT, 0, MemHandle(0), 0, echo_pages)?;
    check_eq!(
        e2[0],
        ffa_status(ErrorCode::NoMemory),
        "echo's second fragmented send while its first is in flight"
    );
    // All three complete: the refusals took nothing from anyone.
    let e = sp_frag_share(ECHO, FAULT, 1, echo_h, echo_off, echo_pages)?;
    check_eq!(
        [e[0], e[1]],
        [OK, u64::from(FuncId::Success32.raw())],
        "echo's second fragment [status, w0]"
    );
    check_eq!(
        MemHandle::from_regs(e[3] as u32, e[4] as u32),
        echo_h,
        "echo's transaction handle"
    );
    let f = sp_frag_share(FAULT, ECHO, 1, fault_h, f[4], fault_pages)?;
    check_eq!(
        [f[0], f[1]],
        [OK, u64::from(FuncId::Success32.raw())],
        "fault's second fragment [status, w0]"
    );
    let (lo, hi) = nw.to_regs();
    let n = match b.write_fragment(first, &mut buf) {
        Ok(n) => n,
        Err(e) => fail!("second fragment: {e:?}"),
    };
    check!(
        dram::write_bytes(NW_TX, &buf[..n]),
        "second fragment does not fit TX"
    );
    let r = call(FuncId::MemFragTx, &[lo, hi, n as u64, 0]);
    check_eq!(
        handle_of(&r, "the normal world's second fragment")?,
        nw,
        "the normal world's transaction handle"
    );
    // Each transaction is whole: its borrower retrieves both ranges.
    check_eq!(
        access(ECHO, nw, EndpointId(0), 0, 0, false)?,
        [OK, u64::from(PATTERN), 2, 2],
        "echo's retrieve of the normal world's share [status, read, pages, ranges]"
    );
    // An SP's two heap pages may be neighbours, which the SPMC then describes as one range:
    // the page total says whether both arrived.
    let a = access(FAULT, echo_h, ECHO, 0, 0, false)?;
    check_eq!(
        [a[0], a[1], a[2]],
        [OK, 0, 2],
        "fault's retrieve of echo's share [status, read, pages]"
    );
    let a = access(ECHO, fault_h, FAULT, 0, 0, false)?;
    check_eq!(
        [a[0], a[1], a[2]],
        [OK, 0, 2],
        "echo's retrieve of fault's share [status, read, pages]"
    );
    expect_success(&reclaim(nw), "the normal world's FFA_MEM_RECLAIM")?;
    sp_reclaims(ECHO, echo_h)?;
    sp_reclaims(FAULT, fault_h)?;
    Ok(())
}

/// Issue 10 bug 4: retrieved one-page donations used to fill the table of donated ranges for
/// good, after which every donation, by anyone, failed NO_MEMORY until reboot. Now the
/// normal world's donations stop at its quota and echo can still donate to fault.
fn nw_donations_fill_ownership_table() -> Outcome {
    // First the two neighbouring pages mem_owner_touching_lent_page_aborted (issue 10 bug 1)
    // needs echo to own by two donations: after this case the normal world cannot donate.
    donate_to(ECHO, BUG1_PAGES, 0x0001_0001)?;
    donate_to(ECHO, BUG1_PAGES + PAGE, 0x0002_0002)?;
    let rx = [MemAccess::new(ECHO, NO_ACCESS)];
    let mut donated = 0;
    let mut refused = false;
    // Every other page, so that no two donated pages merge into one entry.
    for k in 0..48 {
        let cons = one(slot(50) + 2 * k * PAGE, 1);
        let b = descriptor(&rx, &cons, MemAttributes::NOT_SPECIFIED)?;
        let (r, _) = send(FuncId::MemDonate32, &b)?;
        if r.w(0) == FuncId::Error32.raw() {
            expect_error(
                &r,
                ErrorCode::NoMemory,
                "a donation beyond the normal world's quota",
            )?;
            refused = true;
            break;
        }
        let h = handle_of(&r, "FFA_MEM_DONATE_32")?;
        check_eq!(
            access(ECHO, h, NW, 0, 0, true)?[0],
            OK,
            "echo's retrieve of a donation"
        );
        donated += 1;
    }
    check!(refused, "{donated} donations of the normal world: no quota");
    // Someone else's donation still goes through: echo donates one of its pages to fault.
    let r = sp_send(cmd::MEM_SEND_DONATE, 0xD0_0A7F)?;
    check_eq!(
        [r[0], r[1]],
        [OK, OK],
        "echo MEM_SEND donate with the normal world at its quota [status, fault's status]"
    );
    Ok(())
}

/// The stuck SP set's fault has `abort-action` = restart (partitions/stuck/fault-restart.dts,
/// FF-A v1.3 partition lifecycle). It holds a page the normal world lent it when its request
/// time limit aborts it: the request gets ABORTED, the SPMC restarts it from its image, and
/// the restart relinquishes the page on its behalf (the normal world can reclaim it) and
/// resets its memory (its bss request count starts again).
fn restarted_from_image() -> Outcome {
    let served = |what: &str| -> Result<u64, Failure> {
        let r = request(FAULT, &[u64::from(cmd::SERVED)])?;
        check_eq!(r[0], OK, format_args!("{what}: SERVED status"));
        Ok(r[1])
    };
    served("first")?;
    let before = served("second")?;
    check!(
        before >= 2,
        "fault counted {before} requests before its abort"
    );
    let base = slot(6);
    fill(base, 1);
    let rx = [MemAccess::new(FAULT, RW)];
    let cons = one(base, 1);
    let b = descriptor(&rx, &cons, MemAttributes::NOT_SPECIFIED)?;
    let h = handle_of(&send(FuncId::MemLend32, &b)?.0, "FFA_MEM_LEND_32 to fault")?;
    check_eq!(
        access(FAULT, h, NW, 0xFA17_0001, 0, true)?,
        [OK, u64::from(PATTERN), 1, 1],
        "fault retrieving the page (kept)"
    );
    expect_error(
        &reclaim(h),
        ErrorCode::Denied,
        "reclaim while fault holds it",
    )?;
    // fault loops in this request until its 300 ms limit aborts it.
    let mut a = [0u64; 7];
    a[0] = u64::from(FAULT);
    a[2] = u64::from(cmd::LOOP);
    expect_error(
        &call(FuncId::MsgSendDirectReq64, &a),
        ErrorCode::Aborted,
        "LOOP to fault",
    )?;
    expect_success(&reclaim(h), "reclaim after fault's restart")?;
    check_eq!(
        read(base)?,
        0xFA17_0001,
        "the page fault wrote before its abort"
    );
    check_eq!(
        served("after the restart")?,
        1,
        "fault's request count after its restart"
    );
    Ok(())
}
