//! Services the SPMC gives its partitions: FFA_CONSOLE_LOG (lines tagged with the SP's name)
//! and FFA_MEM_PERM_GET/SET (only during initialisation, never writable and executable).

use super::fake::*;
use crate::memory::PAGE_SIZE;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use ffa_abi::error::ErrorCode;
use ffa_abi::func_id::FuncId;
use ffa_abi::regs::Regs;
use ffa_abi::version::Version;

/// FFA_CONSOLE_LOG with `text` packed first character least significant (w2..w7 or x2..x17).
fn console(text: &[u8], is_64: bool) -> Regs {
    let (f, width, regs) = if is_64 {
        (FuncId::ConsoleLog64, 8, 16)
    } else {
        (FuncId::ConsoleLog32, 4, 6)
    };
    let mut r = call(f, &[text.len() as u64]);
    for (k, chunk) in text.chunks(width).enumerate().take(regs) {
        let mut b = [0u8; 8];
        b[..chunk.len()].copy_from_slice(chunk);
        r.0[2 + k] = u64::from_le_bytes(b);
    }
    r
}

#[test]
fn console_log_prints_whole_lines_tagged_with_the_sp_name() {
    capture_console();
    let long: Vec<u8> = vec![b'a'; 128];
    let mut d = sp(0);
    d.name = "conlog_sp";
    d.behaviour = during_boot(vec![
        console(b"hello ", false),
        console(b"wor\x01ld\n", false),
        console(&long, true),
        console(&long, true),
        console(b"\n", true),
        // Refused: no characters, more than a 32-bit call carries, w1[31:8] set.
        console(b"", false),
        {
            let mut r = console(b"x", false);
            r.0[1] = 25;
            r
        },
        {
            let mut r = console(b"x", false);
            r.0[1] |= 0x100;
            r
        },
    ]);
    let w = World::boot(vec![d]);
    let seen = w.seen(0);
    for r in &seen[1..6] {
        assert_success(r, 0);
    }
    for r in &seen[6..9] {
        assert_error(r, ErrorCode::InvalidParameters);
    }
    // Tagged with the SP's name and ID, not the SPMC's prefix.
    let tag = alloc::format!("[SP conlog_sp {:#06x}] ", w.spmc.sps[0].id());
    let lines = console_lines(&tag);
    let a = |n: usize| String::from_utf8(vec![b'a'; n]).unwrap();
    assert_eq!(
        lines,
        [
            alloc::format!("{tag}hello wor?ld"),
            alloc::format!("{tag}{}", a(159)),
            alloc::format!("{tag}{}", a(97)),
        ]
    );
}

/// FFA_CONSOLE_LOG is a v1.2 ABI, but Trusted Services SPs (v1.1) use it and OP-TEE's SPMC
/// accepts it from them; so does this SPMC (partition.rs).
#[test]
fn console_log_is_accepted_from_v1_1_partitions() {
    capture_console();
    let mut d = sp(0);
    d.name = "conlog_v11";
    d.version = Version::V1_1;
    d.behaviour = during_boot(vec![console(b"early\n", false)]);
    let w = World::boot(vec![d]);
    assert_success(&w.seen(0)[1], 0);
    assert_eq!(
        w.spmc.sps[0].rt.lock().version,
        ffa_abi::version::Version::V1_1
    );
    let tag = alloc::format!("[SP conlog_v11 {:#06x}] ", w.spmc.sps[0].id());
    assert_eq!(console_lines(&tag), [alloc::format!("{tag}early")]);
}

fn perm_get(addr: u64) -> Regs {
    call(FuncId::MemPermGet64, &[addr])
}

fn perm_set(addr: u64, pages: u64, perm: u64) -> Regs {
    call(FuncId::MemPermSet64, &[addr, pages, perm])
}

/// Permission words (FF-A v1.1 FFA_MEM_PERM_GET/SET): bits[1:0] 1 = RW, 3 = RO, 0 = none;
/// bit 2 set = not executable.
const RW: u64 = 0b101;
const RO: u64 = 0b111;
const RX: u64 = 0b011;
const RWX: u64 = 0b001;
const NONE: u64 = 0b100;

#[test]
fn mem_perm_get_during_initialisation() {
    let data = base(0) + DATA_OFFSET;
    let mut d = sp(0);
    d.behaviour = during_boot(vec![
        perm_get(base(0)),
        perm_get(data + 0x123),
        perm_get(base(0) + BOOT_INFO_OFFSET),
        perm_get(base(0) + 0x7_0000),
        perm_get(base(1)),
        perm_get(u64::MAX),
        call(FuncId::MemPermGet32, &[data]),
    ]);
    let w = World::boot(vec![d, sp(1)]);
    let s = w.seen(0);
    assert_success(&s[1], RX as u32);
    assert_success(&s[2], RW as u32);
    assert_success(&s[3], RO as u32);
    // Unmapped, another SP's image, not an address at all.
    for r in &s[4..7] {
        assert_error(r, ErrorCode::InvalidParameters);
    }
    assert_success(&s[7], RW as u32);
}

#[test]
fn mem_perm_set_during_initialisation() {
    let data = base(0) + DATA_OFFSET;
    let mut d = sp(0);
    d.behaviour = during_boot(vec![
        // Refused, changing nothing: W+X, no access, reserved bits, unaligned, 0 pages,
        // crossing into unmapped memory, another SP's page.
        perm_set(data, 1, RWX),
        perm_set(data, 1, NONE),
        perm_set(data, 1, 0b1000 | RO),
        perm_set(data + 8, 1, RO),
        perm_set(data, 0, RO),
        perm_set(data, u64::from(DATA_PAGES) + 1, RO),
        perm_set(base(1), 1, RO),
        perm_get(data),
        // Accepted.
        perm_set(data, 1, RO),
        perm_get(data),
        perm_get(data + PAGE_SIZE),
        perm_set(data + PAGE_SIZE, 1, RX),
        perm_get(data + PAGE_SIZE),
        perm_set(base(0), 1, RW),
        perm_get(base(0)),
    ]);
    let w = World::boot(vec![d, sp(1)]);
    let s = w.seen(0);
    for r in &s[1..8] {
        assert_error(r, ErrorCode::InvalidParameters);
    }
    assert_success(&s[8], RW as u32);
    assert_success(&s[9], 0);
    assert_success(&s[10], RO as u32);
    assert_success(&s[11], RW as u32);
    // The data region's manifest attributes are RW, not executable: RX exceeds them.
    assert_error(&s[12], ErrorCode::InvalidParameters);
    assert_success(&s[13], RW as u32);
    assert_success(&s[14], 0);
    assert_success(&s[15], RW as u32);
    // The page tables say the same, and the SP's TLB entries were invalidated for each change.
    let rt = w.spmc.sps[0].rt.lock();
    let space = rt.space.as_ref().unwrap();
    let p = space.user_perm(data).unwrap();
    assert!(!p.write && !p.exec);
    let p = space.user_perm(data + PAGE_SIZE).unwrap();
    assert!(p.write && !p.exec);
    let p = space.user_perm(base(0)).unwrap();
    assert!(p.write && !p.exec);
    let asid = space.asid();
    let flushes = w.env.tlb.borrow().iter().filter(|&&a| a == asid).count();
    assert_eq!(flushes, 1 + 2, "one at load, one per accepted change");
}

#[test]
fn mem_perm_after_initialisation_is_denied() {
    let data = base(0) + DATA_OFFSET;
    let mut d = sp(0);
    d.behaviour = during_request(vec![perm_get(data)]);
    let mut d1 = sp(1);
    d1.behaviour = during_request(vec![perm_set(base(1) + DATA_OFFSET, 1, RO)]);
    let mut w = World::boot(vec![d, d1]);
    for (i, id) in [(0usize, 0x8001u16), (1, 0x8002)] {
        let r = w.nw(req32(EndpointId(1), EndpointId(id), [0; 5]));
        // The SP reports the error code of its call in w3.
        assert_eq!(r.w(3), ErrorCode::Denied.to_u32());
        assert_error(&w.seen(i)[2], ErrorCode::Denied);
    }
    let rt = w.spmc.sps[1].rt.lock();
    let p = rt
        .space
        .as_ref()
        .unwrap()
        .user_perm(base(1) + DATA_OFFSET)
        .unwrap();
    assert!(p.write, "a refused MEM_PERM_SET changed the mapping");
}

#[test]
fn mem_perm_set_refuses_device_memory() {
    let dev = 0x6000_0000;
    let mut a = sp(0);
    a.patch = Some(Box::new(move |p| {
        p.device_regions = Box::leak(Box::new([spmc_table::DeviceRegion {
            name: "uart",
            base: spmc_table::PhysAddr(dev),
            pages: 1,
            attributes: spmc_table::MemAttributes(0x3),
            interrupts: &[],
            exclusive_access: false,
        }]));
    }));
    a.behaviour = during_boot(vec![perm_set(dev, 1, RO), perm_get(dev)]);
    let w = World::boot(vec![a]);
    assert_error(&w.seen(0)[1], ErrorCode::InvalidParameters);
    assert_success(&w.seen(0)[2], RW as u32);
}

/// FFA_CONSOLE_LOG_64's character count is x1[7:0] with the rest of x1 MBZ, upper half included
/// (it was read from w1, so 0x1_0000_0001 passed as 1). FFA_CONSOLE_LOG_32's is w1[7:0]: an
/// SMC32 call's upper register halves are not part of it (SMCCC).
#[test]
fn console_log_64_count_is_decoded_at_full_width() {
    let mut d = sp(0);
    let text = u64::from_le_bytes(*b"abcdefgh");
    d.behaviour = during_boot(vec![
        call(FuncId::ConsoleLog64, &[0x1_0000_0001, text]),
        call(FuncId::ConsoleLog64, &[0x8000_0000_0000_0001, text]),
        call(FuncId::ConsoleLog64, &[0x101, text]),
        call(FuncId::ConsoleLog64, &[1, text]),
        call(FuncId::ConsoleLog32, &[0x1_0000_0001, text & 0xFFFF_FFFF]),
    ]);
    let w = World::boot(vec![d]);
    let s = w.seen(0);
    for r in &s[1..4] {
        assert_error(r, ErrorCode::InvalidParameters);
    }
    assert_success(&s[4], 0);
    assert_success(&s[5], 0);
}

/// Conformance decision (a): Arm's ACS SP entry calls FFA_MEM_PERM_SET with stale values in
/// x4-x7, which the ABI does not use (reserved SBZ), and expects success.
#[test]
fn mem_perm_set_ignores_stale_reserved_registers() {
    let data = base(0) + DATA_OFFSET;
    let mut stale = perm_set(data, 1, RO);
    stale.0[4] = 0x1234;
    stale.0[6] = 0xDEAD_BEEF;
    stale.0[7] = u64::MAX;
    let mut bad_perm = perm_set(data + PAGE_SIZE, 1, RO | 0x10);
    bad_perm.0[6] = 1;
    let mut d = sp(0);
    d.behaviour = during_boot(vec![stale, perm_get(data), bad_perm]);
    let w = World::boot(vec![d]);
    let s = w.seen(0);
    assert_success(&s[1], 0);
    assert_success(&s[2], RO as u32);
    // Reserved bits of w3, a register the ABI uses, are still refused.
    assert_error(&s[3], ErrorCode::InvalidParameters);
}

/// An SP that jumps outside its image region (the symptom of an image linked for another
/// address than its manifest's load-address) is aborted, and the report says where the pc is.
#[test]
fn an_abort_with_the_pc_outside_the_image_region_says_so() {
    capture_console();
    let mut d = sp(0);
    d.name = "elsewhere_sp";
    d.behaviour = script(vec![
        svc(call(FuncId::MsgWait32, &[])),
        Box::new(|_, _| Act::FaultAtPc { pc: 0x0710_1410 }),
    ]);
    let mut w = World::boot(vec![d, sp(1)]);
    let id = w.spmc.sps[0].id();
    assert_error(
        &w.nw(call(
            FuncId::MsgSendDirectReq32,
            &[u64::from(id), 0, 1, 2, 3, 4, 5],
        )),
        ErrorCode::Aborted,
    );
    let lines = console_lines("elsewhere_sp");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("pc 0x7101410 is outside its image region")),
        "{lines:#?}"
    );
    // A fault inside the image region gets no such line.
    capture_console();
    let mut d = sp(0);
    d.name = "inside_sp";
    d.behaviour = script(vec![
        svc(call(FuncId::MsgWait32, &[])),
        data_abort(0xDEAD_0000),
    ]);
    let mut w = World::boot(vec![d]);
    let id = w.spmc.sps[0].id();
    let _ = w.nw(call(FuncId::MsgSendDirectReq32, &[u64::from(id), 0, 1]));
    let lines = console_lines("inside_sp");
    assert!(lines.iter().any(|l| l.contains("aborted")), "{lines:#?}");
    assert!(
        !lines.iter().any(|l| l.contains("outside its image region")),
        "{lines:#?}"
    );
}
