//! Partition cases (issue 4): the normal world discovering the default SP set of partitions/
//! (echo 0x8001, relay 0x8002, fault 0x8003, pkg-sp 0x8004, its 0x8005, ps 0x8006, block-storage 0x8008) with
//! FFA_PARTITION_INFO_GET(_REGS) through its own RX/TX mailbox, exchanging direct messages with
//! it in every form, and driving the SPs with the `test-protocol` commands so that each ABI is also called from an SP: setup
//! and discovery (DEN0077 v1.2 chapters 13-14), direct messaging (chapter 15), FFA_CONSOLE_LOG,
//! FFA_MEM_PERM_GET/SET, the capability gate of sp_layout.json, the spec's error cases (busy,
//! aborted, cycles, forged sources, responses nobody asked for) and fault containment.
//!
//! Order matters: the fault SP can die only once per boot, so the case that aborts it is in
//! stage `AbortsFault`, which runs after every `Main` case of every module;
//! every case that maps the normal world's mailbox unmaps it again before it returns, so the
//! cases of other files may map their own.

use core::cell::UnsafeCell;

use ffa_abi::partition_info::{parse_info_get_regs, PartitionInfo, PartitionProperties};
use ffa_abi::{EndpointId, ErrorCode, FuncId, Regs, Uuid, Version};
use test_protocol::{cmd, id, status, uuid};

use crate::arch::probe_read;
use crate::console::log;
use crate::ffa::{self, call, expect_error, expect_success, Shown};
use crate::harness::{check, check_eq, fail, Case, Failure, Outcome, Stage};

pub const CASES: &[Case] = &[
    Case::default_set("partition_info_get_default_set", info_get_default_set),
    Case::default_set(
        "concurrent_direct_messages_from_all_cores",
        concurrent_messages,
    )
    .after(&["cpu_on_all_secondaries"]),
    Case::default_set("partition_info_get_each_uuid", info_get_each_uuid),
    Case::default_set(
        "partition_info_get_uuid_of_two_sps",
        info_get_uuid_of_two_sps,
    ),
    Case::default_set("partition_info_get_unknown_uuid", info_get_unknown_uuid),
    Case::default_set("partition_info_get_count_only", info_get_count_only),
    Case::default_set(
        "partition_info_get_v1_0_and_v1_1_layouts",
        info_get_older_layouts,
    ),
    Case::default_set("partition_info_get_regs_nw", info_get_regs_nw),
    Case::default_set("rxtx_map_argument_checks", rxtx_map_checks),
    Case::default_set("rxtx_rx_buffer_ownership", rx_ownership),
    Case::default_set("rxtx_unmap_then_map_again", unmap_map_again),
    Case::default_set("direct_req_32_nw_to_sp", echo32),
    Case::default_set("direct_req_64_nw_to_sp", echo64),
    Case::default_set("direct_req2_nw_to_sp", echo_req2),
    Case::default_set("direct_req_nw_refusals", nw_direct_refusals),
    Case::default_set("sp_id_who_version", sp_id_who_version),
    Case::default_set("sp_partition_info_get", sp_partition_info),
    Case::default_set("sp_partition_info_get_regs", sp_partition_info_regs),
    Case::default_set(
        "sp_version_settled_after_other_calls",
        sp_version_renegotiated,
    ),
    Case::default_set("sp_console_log", sp_console_log),
    Case::default_set("sp_mem_perm_get_set", sp_mem_perm),
    Case::default_set("sp_heap", sp_heap),
    Case::default_set("sp_boot_info_spkg", pkg_boot_info),
    Case::default_set("sp_setup_abis_raw", sp_setup_abis_raw),
    Case::default_set("sp_rxtx_map_32_unmap", sp_rxtx_map_32_unmap),
    Case::default_set("sp_forged_source_refused", sp_forged_source),
    Case::default_set("sp_unsolicited_response_refused", sp_unsolicited_response),
    Case::default_set("sp_to_sp_direct_req_allowed", sp_to_sp_allowed),
    Case::default_set("sp_to_sp_capability_gate_denied", sp_to_sp_denied),
    Case::default_set("sp_to_sp_bad_destinations", sp_to_sp_bad_destinations),
    Case::default_set("direct_req_cycle_busy", cycle_busy),
    Case::default_set("sp_memory_unreadable_from_nw", sp_memory_unreadable),
    // Cases that abort the fault SP, which happens once per boot: their stage runs them after
    // every Main case (memory cases use fault as a borrower).
    Case::default_set(
        "sp_response_of_other_width_delivered",
        sp_response_width_mismatch,
    )
    .stage(Stage::AbortsFault),
    Case::default_set("fault_touching_other_sp_contained", fault_contained)
        .stage(Stage::AbortsFault)
        .provokes("fault (0x8003) aborted: it touches echo's memory"),
    // What the abort dropped of the notification and message fault_contained left pending.
    Case::default_set(
        "notify_aborted_sp_state_dropped",
        super::notify::aborted_sp_state_dropped,
    )
    .stage(Stage::AbortsFault)
    .after(&["fault_touching_other_sp_contained"]),
    // The very last case of the run: pkg-sp (the only SP left that can fault on command once
    // fault and, through the memory cases, echo are aborted) touches the SPMC's own memory.
    Case::default_set(
        "sp_touching_spmc_memory_contained",
        sp_touching_spmc_contained,
    )
    .stage(Stage::AbortsPkgSp)
    .provokes("pkg-sp (0x8004) aborted: it touches the SPMC's memory"),
];

// ---------------------------------------------------------------------------------------------
// The normal world's RX/TX mailbox.

/// One 4 KiB page of the driver's own .bss (normal-world DRAM) given to the SPMC as a buffer.
#[repr(C, align(4096))]
struct Page(UnsafeCell<[u8; 4096]>);

// SAFETY: the pages are only touched through `Page::addr` and the volatile byte reads of
// `read_rx`, from the primary core, which runs the cases one after another; the SPMC writes
// them only while that core is inside an SMC.
unsafe impl Sync for Page {}

impl Page {
    const fn new() -> Self {
        Self(UnsafeCell::new([0; 4096]))
    }

    /// Physical address (the EL2 MMU is off: VA = PA).
    fn addr(&self) -> u64 {
        self.0.get() as u64
    }
}

static TX_A: Page = Page::new();
static RX_A: Page = Page::new();
static TX_B: Page = Page::new();
static RX_B: Page = Page::new();

/// Copies the first `len` bytes of an RX page (volatile: the SPMC wrote it behind the
/// compiler's back; byte accesses because the driver runs with its MMU off, where memory is
/// Device and unaligned accesses fault).
fn read_rx(page: &Page, len: usize) -> [u8; 4096] {
    let mut out = [0u8; 4096];
    let base = page.0.get().cast::<u8>();
    for (i, b) in out.iter_mut().enumerate().take(len.min(4096)) {
        // SAFETY: `base + i` is inside the 4 KiB static page (i < 4096); a volatile read of
        // a u8 has no alignment requirement, and nothing else writes the page concurrently
        // (the SPMC only writes it while this core is in an SMC).
        *b = unsafe { base.add(i).read_volatile() };
    }
    out
}

/// FFA_RXTX_MAP_64 of one page each.
fn map(tx: &Page, rx: &Page) -> Regs {
    call(FuncId::RxTxMap64, &[tx.addr(), rx.addr(), 1])
}

fn unmap() -> Regs {
    call(FuncId::RxTxUnmap, &[0])
}

fn rx_release() -> Regs {
    call(FuncId::RxRelease, &[0])
}

/// Maps TX_A/RX_A, runs `body`, and unmaps whatever `body` did (so a failing case does not
/// leave the mailbox mapped for the next one).
fn with_mailbox(body: impl FnOnce() -> Outcome) -> Outcome {
    expect_success(&map(&TX_A, &RX_A), "FFA_RXTX_MAP_64")?;
    let r = body();
    let u = unmap();
    r?;
    expect_success(&u, "FFA_RXTX_UNMAP at the end of the case")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Discovery from the normal world.

/// What the default SP set looks like: (ID, UUID words, properties at v1.2).
/// Properties: echo and relay send and receive DIRECT_REQ and REQ2 (0x603), echo also takes
/// indirect messages and notifications (bits 2, 3), fault receives DIRECT_REQ, REQ2, indirect
/// messages and notifications (0x20D), pkg-sp (v1.1) DIRECT_REQ, indirect messages and
/// notifications (0xD), the Trusted Services storage SPs
/// its, ps and block-storage send and receive DIRECT_REQ (0x3, as TS SPs) and share the TS RPC
/// UUID; all are AArch64 (bit 8).
const DEFAULT_SET: [(EndpointId, [u32; 4], u32); 7] = [
    (id::ECHO, uuid::ECHO, 0x70F),
    (id::RELAY, uuid::RELAY, 0x703),
    (id::FAULT, uuid::FAULT, 0x30D),
    (id::PKG_SP, uuid::PKG_SP, 0x10D),
    // Table order is boot order: block-storage boots before its and ps, which attach to it
    // while they boot.
    (id::BLOCK_STORAGE, uuid::TS_RPC, 0x103),
    (id::ITS, uuid::TS_RPC, 0x103),
    (id::PS, uuid::TS_RPC, 0x103),
];

/// How many partitions the default set has.
const SP_COUNT: u32 = DEFAULT_SET.len() as u32;

/// What a v1.2 caller gets for the nil UUID: one descriptor per UUID of each partition, so
/// fault twice, with its own UUID and then with pkg-sp's (its manifest's second; FF-A v1.2,
/// Hafnium src/api.c `api_ffa_fill_partitions_info_array`, TF-A's EL3 SPMC
/// `partition_info_get_handler`). Below v1.2, one per partition ([`DEFAULT_SET`]).
const V1_2_SET: [(EndpointId, [u32; 4], u32); 8] = [
    DEFAULT_SET[0],
    DEFAULT_SET[1],
    DEFAULT_SET[2],
    (id::FAULT, uuid::PKG_SP, 0x30D),
    DEFAULT_SET[3],
    DEFAULT_SET[4],
    DEFAULT_SET[5],
    DEFAULT_SET[6],
];

/// How many descriptors a v1.2 caller gets for the nil UUID.
const V1_2_COUNT: u32 = V1_2_SET.len() as u32;

fn partition_info_get(uuid: [u32; 4], flags: u32) -> Regs {
    let w = uuid.map(u64::from);
    call(
        FuncId::PartitionInfoGet,
        &[w[0], w[1], w[2], w[3], u64::from(flags)],
    )
}

/// Checks a successful FFA_PARTITION_INFO_GET answer (count in w2, descriptor size in w3) and
/// returns the descriptors the RX page holds.
fn descriptors(
    r: &Regs,
    version: Version,
    want_count: u32,
) -> Result<heapless::Vec<PartitionInfo, 8>, Failure> {
    check_eq!(
        expect_success(r, "FFA_PARTITION_INFO_GET")?,
        want_count,
        "partition count (w2)"
    );
    let size = PartitionInfo::size_for(version);
    // w3 is the descriptor size from v1.1; v1.0 has no such field (MBZ).
    let want_w3 = if version == Version::V1_0 { 0 } else { size };
    check_eq!(r.w(3), want_w3 as u32, "descriptor size (w3)");
    let bytes = read_rx(&RX_A, size * want_count as usize);
    let mut out = heapless::Vec::new();
    for i in 0..want_count as usize {
        match PartitionInfo::parse(&bytes, i, version) {
            Ok(d) => {
                let _ = out.push(d);
            }
            Err(e) => fail!("descriptor {i}: {e:?}"),
        }
    }
    Ok(out)
}

/// Checks one descriptor against an entry of [`DEFAULT_SET`] or [`V1_2_SET`] at `version`
/// (properties limited to the bits that version defines; UUID only from v1.1).
fn check_descriptor(
    d: &PartitionInfo,
    entry: (EndpointId, [u32; 4], u32),
    version: Version,
) -> Outcome {
    let (sp, uuid_words, props) = entry;
    check_eq!(d.id.0, sp.0, "partition ID");
    check_eq!(d.exec_ctx_count, 1, "execution contexts");
    check_eq!(
        d.properties.0,
        PartitionProperties(props).for_version(version).0,
        "properties"
    );
    let want_uuid = if version == Version::V1_0 {
        Uuid::NIL
    } else {
        Uuid::from_words(uuid_words)
    };
    check!(
        d.uuid == want_uuid,
        "SP {sp:#06x}: UUID {} in the descriptor, want {}",
        d.uuid,
        want_uuid
    );
    Ok(())
}

/// `entry` as the descriptor of a query for a given (non-Nil) UUID carries it: UUID field zero
/// (FF-A v1.1/v1.2 Table 6.1: "reserved and MBZ if a non-Nil UUID was specified in w1-w4";
/// Hafnium and TF-A's EL3 SPMC fill it only for the Nil query).
fn asked(entry: (EndpointId, [u32; 4], u32)) -> (EndpointId, [u32; 4], u32) {
    (entry.0, [0; 4], entry.2)
}

/// A readable line for one discovered partition.
fn show(d: &PartitionInfo) {
    let p = d.properties;
    let yes = |bits: u32, s: &'static str| if p.has(bits) { s } else { "" };
    log!(
        "  SP {:#06x} uuid {} contexts {} properties {:#x} [{}{}{}{}{}]",
        d.id.0,
        d.uuid,
        d.exec_ctx_count,
        p.0,
        yes(PartitionProperties::DIRECT_REQ_RECV, " recv-req"),
        yes(PartitionProperties::DIRECT_REQ_SEND, " send-req"),
        yes(PartitionProperties::DIRECT_REQ2_RECV, " recv-req2"),
        yes(PartitionProperties::DIRECT_REQ2_SEND, " send-req2"),
        yes(PartitionProperties::AARCH64, " aarch64 "),
    );
}

fn info_get_default_set() -> Outcome {
    with_mailbox(|| {
        let r = partition_info_get([0; 4], 0);
        let ds = descriptors(&r, Version::V1_2, V1_2_COUNT)?;
        log!(
            "discovered {} partitions (FFA_PARTITION_INFO_GET, nil UUID):",
            ds.len()
        );
        for d in &ds {
            show(d);
        }
        for (d, e) in ds.iter().zip(V1_2_SET) {
            check_descriptor(d, e, Version::V1_2)?;
        }
        expect_success(&rx_release(), "FFA_RX_RELEASE")?;
        Ok(())
    })
}

fn info_get_each_uuid() -> Outcome {
    with_mailbox(|| {
        // pkg-sp's UUID is also fault's (see partition_info_get_uuid_of_two_sps).
        for (i, (sp, words, _)) in DEFAULT_SET.iter().enumerate().take(3) {
            let r = partition_info_get(*words, 0);
            let ds = descriptors(&r, Version::V1_2, 1)?;
            if let Err(e) = check_descriptor(&ds[0], asked(DEFAULT_SET[i]), Version::V1_2) {
                fail!("UUID of SP {sp:#06x}: {e}");
            }
            expect_success(&rx_release(), "FFA_RX_RELEASE")?;
        }
        Ok(())
    })
}

fn info_get_uuid_of_two_sps() -> Outcome {
    // fault's manifest lists pkg-sp's UUID after its own (test_protocol::uuid::FAULT_SERVICES):
    // a query for that UUID returns both SPs, in table order, each descriptor's UUID field zero
    // (MBZ for a non-Nil query, FF-A v1.1/v1.2 Table 6.1); the nil query lists fault once per UUID at v1.2, once below (other cases).
    let want = [(id::FAULT, 0x30D), (id::PKG_SP, 0x10D)];
    let check_both = |ds: &[PartitionInfo]| -> Outcome {
        check_eq!(ds.len(), 2, "descriptors");
        for (d, (sp, props)) in ds.iter().zip(want) {
            check_eq!(d.id.0, sp.0, "partition ID");
            check_eq!(d.exec_ctx_count, 1, "execution contexts");
            check_eq!(d.properties.0, props, "properties");
            check!(
                d.uuid == Uuid::NIL,
                "SP {sp:#06x}: UUID {} in the descriptor of a non-Nil query, want Nil",
                d.uuid
            );
        }
        Ok(())
    };
    let r = partition_info_get(uuid::PKG_SP, 1);
    check_eq!(expect_success(&r, "count only")?, 2, "count");
    let r = info_get_regs(uuid::PKG_SP, 0, 0);
    let ds = regs_answer(&r, 0)?;
    check_eq!(r.x(2) & 0xFFFF_FFFF, 1 | 1 << 16, "last and current index");
    check_both(&ds)?;
    with_mailbox(|| {
        let ds = descriptors(&partition_info_get(uuid::PKG_SP, 0), Version::V1_2, 2)?;
        check_both(&ds)?;
        expect_success(&rx_release(), "FFA_RX_RELEASE")?;
        Ok(())
    })
}

fn info_get_unknown_uuid() -> Outcome {
    with_mailbox(|| {
        // A UUID no partition implements (the default set's prefix with suffix ...0099).
        let unknown = [uuid::ECHO[0], uuid::ECHO[1], uuid::ECHO[2], 0x9900_0040];
        let r = partition_info_get(unknown, 0);
        expect_error(&r, ErrorCode::InvalidParameters, "unknown UUID")?;
        let r = partition_info_get(unknown, 1);
        expect_error(&r, ErrorCode::InvalidParameters, "unknown UUID, count only")?;
        // The failed calls did not hand the RX buffer to us.
        expect_error(
            &rx_release(),
            ErrorCode::Denied,
            "FFA_RX_RELEASE after them",
        )?;
        Ok(())
    })
}

fn info_get_count_only() -> Outcome {
    // The count-only flag (w5 bit 0) needs no mailbox at all and leaves RX alone.
    let r = partition_info_get([0; 4], 1);
    check_eq!(
        expect_success(&r, "count only, no mailbox")?,
        V1_2_COUNT,
        "count (nil UUID)"
    );
    let r = partition_info_get(uuid::RELAY, 1);
    check_eq!(
        expect_success(&r, "count only (relay)")?,
        1,
        "count (relay)"
    );
    // w5 bits other than bit 0 are reserved (MBZ).
    let r = partition_info_get([0; 4], 2);
    expect_error(&r, ErrorCode::InvalidParameters, "flags bit 1")?;
    with_mailbox(|| {
        let r = partition_info_get([0; 4], 1);
        check_eq!(expect_success(&r, "count only")?, V1_2_COUNT, "count");
        expect_error(
            &rx_release(),
            ErrorCode::Denied,
            "RX_RELEASE after count only",
        )?;
        // With RX owned by us, count-only still works: it does not use the buffer.
        let r = partition_info_get([0; 4], 0);
        descriptors(&r, Version::V1_2, V1_2_COUNT)?;
        let r = partition_info_get([0; 4], 1);
        check_eq!(
            expect_success(&r, "count only, RX full")?,
            V1_2_COUNT,
            "count"
        );
        expect_success(&rx_release(), "FFA_RX_RELEASE")?;
        Ok(())
    })
}

/// Negotiates `v` with FFA_VERSION, runs the nil-UUID query, and renegotiates v1.2 whatever
/// happened.
fn info_get_at(v: Version) -> Outcome {
    let got = ffa::version(v.encode());
    let result = if got != 0x1_0002 {
        Err(crate::harness::failure(format_args!(
            "FFA_VERSION({:#x}) = {got:#x}",
            v.encode()
        )))
    } else {
        with_mailbox(|| {
            let r = partition_info_get([0; 4], 0);
            let ds = descriptors(&r, v, SP_COUNT)?;
            for (d, e) in ds.iter().zip(DEFAULT_SET) {
                check_descriptor(d, e, v)?;
            }
            expect_success(&rx_release(), "FFA_RX_RELEASE")?;
            Ok(())
        })
    };
    check_eq!(ffa::version(0x1_0002), 0x1_0002, "FFA_VERSION(1.2) again");
    result
}

fn info_get_older_layouts() -> Outcome {
    // This SPMC lets the normal world renegotiate at any time (the spec only requires it
    // before other calls), so the case can step down and back up. A v1.0 caller gets 8-byte
    // descriptors without UUID and properties limited to bits [2:0]; a v1.1 caller 24-byte
    // ones without the v1.2 REQ2 bits.
    if let Err(e) = info_get_at(Version::V1_0) {
        fail!("at v1.0: {e}");
    }
    if let Err(e) = info_get_at(Version::V1_1) {
        fail!("at v1.1: {e}");
    }
    Ok(())
}

fn info_get_regs(uuid: [u32; 4], start: u16, tag: u16) -> Regs {
    let [lo, hi] = Uuid::from_words(uuid).to_u64_pair();
    call(
        FuncId::PartitionInfoGetRegs,
        &[lo, hi, u64::from(start) | u64::from(tag) << 16],
    )
}

fn regs_answer(r: &Regs, start: u16) -> Result<heapless::Vec<PartitionInfo, 5>, Failure> {
    check_eq!(
        r.w(0),
        FuncId::Success64.raw(),
        "FFA_PARTITION_INFO_GET_REGS answer"
    );
    let mut args = [0u64; 16];
    args.copy_from_slice(&r.0[2..]);
    let infos = match parse_info_get_regs(&args, start) {
        Ok((s, it)) => {
            check_eq!(s.desc_size, 24, "descriptor size");
            check_eq!(s.tag, 0, "tag");
            it.collect()
        }
        Err(e) => fail!("answer: {e:?} ({})", Shown(r)),
    };
    Ok(infos)
}

fn info_get_regs_nw() -> Outcome {
    // The register form needs no mailbox.
    // Eight descriptors (seven partitions, fault with two UUIDs): one answer holds five
    // (x3..x17, three registers each), so the first answer ends at index 4 of last index 7.
    let last = u64::from(V1_2_COUNT - 1);
    let r = info_get_regs([0; 4], 0, 0);
    let ds = regs_answer(&r, 0)?;
    check_eq!(
        r.x(2) & 0xFFFF_FFFF,
        last | 4 << 16,
        "last and current index"
    );
    check_eq!(ds.len(), 5, "descriptors in registers");
    for (d, e) in ds.iter().zip(V1_2_SET) {
        check_descriptor(d, e, Version::V1_2)?;
    }
    // From index 2: fault twice, pkg-sp, block-storage and its.
    let r = info_get_regs([0; 4], 2, 0);
    let ds = regs_answer(&r, 2)?;
    check_eq!(
        r.x(2) & 0xFFFF_FFFF,
        last | 6 << 16,
        "last and current index from 2"
    );
    check_eq!(ds.len(), 5, "descriptors from index 2");
    for (d, e) in ds.iter().zip(&V1_2_SET[2..]) {
        check_descriptor(d, *e, Version::V1_2)?;
    }
    // One UUID of one SP: one descriptor, indices 0/0.
    let r = info_get_regs(uuid::RELAY, 0, 0);
    let ds = regs_answer(&r, 0)?;
    check_eq!(r.x(2) & 0xFFFF_FFFF, 0, "last and current index (relay)");
    check_eq!(ds.len(), 1, "descriptors for relay's UUID");
    check_descriptor(&ds[0], asked(DEFAULT_SET[1]), Version::V1_2)?;
    // Past the end, an unknown UUID, and a tag with start index 0 are invalid.
    for (what, r) in [
        (
            "start index past the end",
            info_get_regs([0; 4], V1_2_COUNT as u16, 0),
        ),
        ("start index 1 of one", info_get_regs(uuid::ECHO, 1, 0)),
        ("unknown UUID", info_get_regs([1, 2, 3, 4], 0, 0)),
        ("tag with start 0", info_get_regs([0; 4], 0, 7)),
    ] {
        expect_error(&r, ErrorCode::InvalidParameters, what)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The normal world's mailbox: FFA_RXTX_MAP/UNMAP, FFA_RX_RELEASE.

fn rxtx_map_checks() -> Outcome {
    let (tx, rx) = (TX_A.addr(), RX_A.addr());
    for (what, args) in [
        ("secure TX", [0x2400_0000, rx, 1]),
        ("secure RX", [tx, 0x2020_0000, 1]),
        ("unaligned TX", [tx + 0x800, rx, 1]),
        ("TX = RX", [tx, tx, 1]),
        ("zero pages", [tx, rx, 0]),
        // w3[5:0] is the page count; the bits above are reserved.
        ("page count above 63", [tx, rx, 64]),
    ] {
        let r = call(FuncId::RxTxMap64, &args);
        expect_error(&r, ErrorCode::InvalidParameters, what)?;
    }
    // SMC32: only w1/w2 count, so a 64-bit NS address loses its top bits and names secure
    // flash.
    let r = call(FuncId::RxTxMap32, &[tx, rx, 1]);
    expect_error(
        &r,
        ErrorCode::InvalidParameters,
        "RXTX_MAP_32 of 64-bit addresses",
    )?;
    // Nothing was mapped by any of them.
    expect_error(
        &unmap(),
        ErrorCode::InvalidParameters,
        "FFA_RXTX_UNMAP with no mailbox",
    )?;
    // Without a mailbox, PARTITION_INFO_GET has nowhere to write (Hafnium: BUSY as well).
    expect_error(
        &partition_info_get([0; 4], 0),
        ErrorCode::Busy,
        "PARTITION_INFO_GET without a mailbox",
    )?;
    expect_error(
        &rx_release(),
        ErrorCode::Denied,
        "FFA_RX_RELEASE with no mailbox",
    )?;
    Ok(())
}

fn rx_ownership() -> Outcome {
    with_mailbox(|| {
        // Mapping again while mapped.
        expect_error(&map(&TX_B, &RX_B), ErrorCode::Denied, "second FFA_RXTX_MAP")?;
        // Releasing an RX buffer that holds no message.
        expect_error(
            &rx_release(),
            ErrorCode::Denied,
            "FFA_RX_RELEASE while empty",
        )?;
        // The SPMC fills RX: it is ours until we release it; meanwhile it cannot write again.
        descriptors(&partition_info_get([0; 4], 0), Version::V1_2, V1_2_COUNT)?;
        expect_error(
            &partition_info_get(uuid::ECHO, 0),
            ErrorCode::Busy,
            "PARTITION_INFO_GET with RX not released",
        )?;
        // RX_RELEASE takes the caller's ID in w1 (0 from the normal world without a hypervisor).
        expect_error(
            &call(FuncId::RxRelease, &[0x8001]),
            ErrorCode::InvalidParameters,
            "FFA_RX_RELEASE for another ID",
        )?;
        expect_success(&rx_release(), "FFA_RX_RELEASE")?;
        expect_error(&rx_release(), ErrorCode::Denied, "second FFA_RX_RELEASE")?;
        // Released: the SPMC may write again.
        let ds = descriptors(&partition_info_get(uuid::ECHO, 0), Version::V1_2, 1)?;
        check_descriptor(&ds[0], asked(DEFAULT_SET[0]), Version::V1_2)?;
        expect_success(&rx_release(), "FFA_RX_RELEASE")?;
        // RXTX_UNMAP names the buffers' owner in w1[31:16]: only ID 0 here.
        expect_error(
            &call(FuncId::RxTxUnmap, &[0x8001 << 16]),
            ErrorCode::InvalidParameters,
            "FFA_RXTX_UNMAP for another ID",
        )?;
        Ok(())
    })
}

fn unmap_map_again() -> Outcome {
    expect_success(&map(&TX_A, &RX_A), "FFA_RXTX_MAP_64")?;
    // Unmap while RX is still full: allowed, and it drops the message.
    let full = partition_info_get([0; 4], 0);
    expect_success(&full, "PARTITION_INFO_GET")?;
    expect_success(&unmap(), "FFA_RXTX_UNMAP with RX full")?;
    expect_error(
        &unmap(),
        ErrorCode::InvalidParameters,
        "second FFA_RXTX_UNMAP",
    )?;
    // Another pair of pages; RX now at RX_B, so the SPMC writes there.
    expect_success(&map(&TX_B, &RX_B), "FFA_RXTX_MAP_64 of other pages")?;
    let r = partition_info_get(uuid::FAULT, 0);
    let checked = (|| {
        check_eq!(expect_success(&r, "PARTITION_INFO_GET")?, 1, "count");
        let bytes = read_rx(&RX_B, 24);
        match PartitionInfo::parse(&bytes, 0, Version::V1_2) {
            Ok(d) => check_descriptor(&d, asked(DEFAULT_SET[2]), Version::V1_2),
            Err(e) => fail!("descriptor in RX_B: {e:?}"),
        }
    })();
    let released = rx_release();
    let unmapped = unmap();
    checked?;
    expect_success(&released, "FFA_RX_RELEASE")?;
    expect_success(&unmapped, "FFA_RXTX_UNMAP")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Direct messages.

/// The three direct request forms.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Req32,
    Req64,
    Req2,
}

/// Sends a direct request of `kind` from the normal world (ID 0) to `dst` with payload
/// `words` (word 0 in x3, or x4 for REQ2, which carries `uuid` in x2/x3).
fn send(kind: Kind, dst: EndpointId, words: &[u64]) -> Regs {
    let mut a = [0u64; 17];
    a[0] = u64::from(dst);
    let first = if kind == Kind::Req2 { 3 } else { 2 };
    for (slot, w) in a[first..].iter_mut().zip(words) {
        *slot = *w;
    }
    let f = match kind {
        Kind::Req32 => FuncId::MsgSendDirectReq32,
        Kind::Req64 => FuncId::MsgSendDirectReq64,
        Kind::Req2 => {
            // The protocol UUID: the receiver's own (the SPMC refuses a UUID the receiver
            // does not implement); nil for anything else.
            let words = match dst {
                id::ECHO => uuid::ECHO,
                id::RELAY => uuid::RELAY,
                id::FAULT => uuid::FAULT,
                id::PKG_SP => uuid::PKG_SP,
                _ => [0; 4],
            };
            let [lo, hi] = Uuid::from_words(words).to_u64_pair();
            a[1] = lo;
            a[2] = hi;
            FuncId::MsgSendDirectReq2
        }
    };
    call(f, &a)
}

/// Checks `r` is the response of `kind` from `from` to the normal world, and returns its
/// payload words 0..5.
fn response(r: &Regs, kind: Kind, from: EndpointId) -> Result<[u64; 5], Failure> {
    let want = match kind {
        Kind::Req32 => FuncId::MsgSendDirectResp32,
        Kind::Req64 => FuncId::MsgSendDirectResp64,
        Kind::Req2 => FuncId::MsgSendDirectResp2,
    };
    if r.w(0) != want.raw() || r.w(1) != u32::from(from) << 16 {
        fail!(
            "want {} from {from:#06x} to 0, got {}",
            want.name(),
            Shown(r)
        )
    }
    // x2 is reserved in RESP (MBZ); RESP2 has no UUID: x2 and x3 are zero.
    check_eq!(r.x(2), 0, "x2 of the response");
    let first = if kind == Kind::Req2 {
        check_eq!(r.x(3), 0, "x3 of RESP2");
        4
    } else {
        3
    };
    Ok(core::array::from_fn(|i| r.x(first + i)))
}

/// Sends a test-protocol request and returns the response words.
fn ask(kind: Kind, dst: EndpointId, words: &[u64]) -> Result<[u64; 5], Failure> {
    response(&send(kind, dst, words), kind, dst)
}

/// The status word of an FF-A error in a test-protocol response.
fn err(code: ErrorCode) -> u64 {
    u64::from(status::ffa_error(code.to_i32()))
}

const OK: u64 = status::OK as u64;

fn echo32() -> Outcome {
    // SMC32: only the low halves are the message; the SPMC passes the canonical encoding on,
    // so what comes back has the upper halves cleared.
    let w = [0x1111, 2, 0xDEAD_0000_0000_0003, 0xFFFF_FFFF, 5];
    let r = send(Kind::Req32, id::ECHO, &w);
    check_eq!(
        response(&r, Kind::Req32, id::ECHO)?,
        [0x1111, 2, 3, 0xFFFF_FFFF, 5],
        "echo of REQ_32"
    );
    // Nothing beyond w7 in a 32-bit response.
    check_eq!(r.x(8), 0, "x8 of RESP_32");
    Ok(())
}

fn echo64() -> Outcome {
    // DIRECT_REQ_64 carries x3..x7; x8..x17 are reserved (SBZ) even in v1.2, where only REQ2
    // uses them, and the SPMC passes messages on in their canonical encoding: words 5.. that
    // the normal world puts there never reach echo, so nothing comes back in them.
    let w: [u64; 15] = core::array::from_fn(|i| 0x6400_0000_0000_0000 | (i as u64) << 32 | 0xAB);
    let r = send(Kind::Req64, id::ECHO, &w);
    response(&r, Kind::Req64, id::ECHO)?;
    for (i, want) in w.iter().enumerate() {
        let want = if i < 5 { *want } else { 0 };
        check_eq!(r.x(3 + i), want, "payload word of RESP_64");
    }
    // Another SP answers too: pkg-sp (an SPKG, v1.1) echoes what is not a command.
    check_eq!(
        ask(Kind::Req64, id::PKG_SP, &w[..5])?,
        [w[0], w[1], w[2], w[3], w[4]],
        "pkg-sp echo"
    );
    Ok(())
}

fn echo_req2() -> Outcome {
    let w: [u64; 14] = core::array::from_fn(|i| 0x2222_0000_0000_0000 | i as u64);
    let r = send(Kind::Req2, id::ECHO, &w);
    response(&r, Kind::Req2, id::ECHO)?;
    for (i, want) in w.iter().enumerate() {
        check_eq!(r.x(4 + i), *want, "payload word of RESP2");
    }
    check_eq!(
        ask(Kind::Req2, id::ECHO, &[u64::from(cmd::WHO)])?,
        [OK, id::ECHO.into(), 0, 2, 0],
        "WHO over REQ2"
    );
    Ok(())
}

fn nw_direct_refusals() -> Outcome {
    // pkg-sp is a v1.1 SP that does not receive REQ2 (messaging method bit 9 clear).
    expect_error(
        &send(Kind::Req2, id::PKG_SP, &[1]),
        ErrorCode::Denied,
        "REQ2 to pkg-sp",
    )?;
    // No such endpoint.
    for kind in [Kind::Req32, Kind::Req64, Kind::Req2] {
        expect_error(
            &send(kind, EndpointId(0x8010), &[1]),
            ErrorCode::InvalidParameters,
            "direct request to 0x8010",
        )?;
    }
    // A response that answers no request: the normal world cannot respond at all.
    for f in [
        FuncId::MsgSendDirectResp32,
        FuncId::MsgSendDirectResp64,
        FuncId::MsgSendDirectResp2,
    ] {
        expect_error(&call(f, &[0x0000_8001]), ErrorCode::NotSupported, f.name())?;
    }
    // The SPMC's own ID answers direct requests by echoing them (IDs swapped).
    let r = call(FuncId::MsgSendDirectReq32, &[0x8000, 0, 7, 8, 9]);
    check_eq!(
        [r.w(0), r.w(1), r.w(3), r.w(4), r.w(5)],
        [FuncId::MsgSendDirectResp32.raw(), 0x8000 << 16, 7, 8, 9],
        "direct request to the SPMC"
    );
    // After all these the SPs still answer.
    check_eq!(ask(Kind::Req32, id::ECHO, &[9])?[0], 9, "echo");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ABIs called from an SP (echo's commands).

fn sp_id_who_version() -> Outcome {
    check_eq!(
        ask(Kind::Req32, id::ECHO, &[cmd::ID.into()])?,
        [OK, id::ECHO.into(), 0, 0, 0],
        "echo ID (FFA_ID_GET from an SP)"
    );
    check_eq!(
        ask(Kind::Req64, id::ECHO, &[cmd::WHO.into()])?,
        [OK, id::ECHO.into(), 0, 64, 0],
        "echo WHO over REQ_64"
    );
    check_eq!(
        ask(Kind::Req32, id::ECHO, &[cmd::WHO.into()])?,
        [OK, id::ECHO.into(), 0, 32, 0],
        "echo WHO over REQ_32"
    );
    // FFA_VERSION from an SP: 1.2 -> the SPMC's 1.2; another major / bit 31 -> NOT_SUPPORTED.
    check_eq!(
        ask(Kind::Req32, id::ECHO, &[cmd::VERSION.into(), 0x1_0002])?,
        [OK, 0x1_0002, 0, 0, 0],
        "echo VERSION(1.2)"
    );
    for bad in [0x2_0000_u64, 0x8001_0002] {
        check_eq!(
            ask(Kind::Req32, id::ECHO, &[cmd::VERSION.into(), bad])?,
            [OK, 0xFFFF_FFFF, 0, 0, 0],
            "echo VERSION(bad)"
        );
    }
    Ok(())
}

/// echo PARTINFO for `uuid`: [status, count, size, first ID | ctx << 16, first properties].
fn echo_partinfo(uuid: [u32; 4]) -> Result<[u64; 5], Failure> {
    let u = uuid.map(u64::from);
    ask(
        Kind::Req64,
        id::ECHO,
        &[cmd::PARTINFO.into(), u[0], u[1], u[2], u[3]],
    )
}

fn sp_partition_info() -> Outcome {
    check_eq!(
        echo_partinfo([0; 4])?,
        [OK, u64::from(V1_2_COUNT), 24, 0x1_8001, 0x70F],
        "echo PARTINFO(nil)"
    );
    for (sp, words, props) in &DEFAULT_SET[..3] {
        check_eq!(
            echo_partinfo(*words)?,
            [OK, 1, 24, 1 << 16 | u64::from(*sp), u64::from(*props)],
            "echo PARTINFO(one UUID)"
        );
    }
    // pkg-sp's UUID, which fault implements too: two descriptors, fault's first.
    check_eq!(
        echo_partinfo(uuid::PKG_SP)?,
        [OK, 2, 24, 0x1_8003, 0x30D],
        "echo PARTINFO(UUID of two SPs)"
    );
    check_eq!(
        echo_partinfo([1, 2, 3, 4])?,
        [err(ErrorCode::InvalidParameters), 0, 0, 0, 0],
        "echo PARTINFO(unknown UUID)"
    );
    Ok(())
}

fn echo_partinfo_regs(uuid: [u32; 4]) -> Result<[u64; 5], Failure> {
    let u = uuid.map(u64::from);
    ask(
        Kind::Req64,
        id::ECHO,
        &[cmd::PARTINFO_REGS.into(), u[0], u[1], u[2], u[3]],
    )
}

fn sp_partition_info_regs() -> Outcome {
    check_eq!(
        echo_partinfo_regs([0; 4])?,
        [OK, u64::from(V1_2_COUNT - 1), 4, 0x1_8001, 0x70F],
        "echo PARTINFO_REGS(nil)"
    );
    check_eq!(
        echo_partinfo_regs(uuid::RELAY)?,
        [OK, 0, 0, 0x1_8002, 0x703],
        "echo PARTINFO_REGS(relay)"
    );
    check_eq!(
        echo_partinfo_regs(uuid::PKG_SP)?,
        [OK, 1, 1, 0x1_8003, 0x30D],
        "echo PARTINFO_REGS(UUID of fault and pkg-sp)"
    );
    check_eq!(
        echo_partinfo_regs([1, 2, 3, 4])?,
        [err(ErrorCode::InvalidParameters), 0, 0, 0, 0],
        "echo PARTINFO_REGS(unknown UUID)"
    );
    Ok(())
}

fn sp_version_renegotiated() -> Outcome {
    // echo has made other FF-A calls since it negotiated v1.2, so its version is settled: asking
    // for v1.1 is NOT_SUPPORTED and changes nothing (Hafnium; Arm's ACS
    // ffa_version_negotiation), asking for v1.2 again is answered with the SPMC's version.
    check_eq!(
        ask(Kind::Req32, id::ECHO, &[cmd::VERSION.into(), 0x1_0001])?,
        [OK, 0xFFFF_FFFF, 0, 0, 0],
        "echo VERSION(1.1) after other calls"
    );
    check_eq!(
        echo_partinfo([0; 4])?,
        [OK, u64::from(V1_2_COUNT), 24, 0x1_8001, 0x70F],
        "echo PARTINFO still at v1.2"
    );
    check_eq!(
        ask(Kind::Req32, id::ECHO, &[cmd::VERSION.into(), 0x1_0002])?,
        [OK, 0x1_0002, 0, 0, 0],
        "echo VERSION(1.2) again"
    );
    Ok(())
}

fn sp_console_log() -> Outcome {
    // FFA_CONSOLE_LOG_64 from echo; the SPMC prints "[SP echo 0x8001] LOG 0x2a from 0x0000".
    check_eq!(
        ask(Kind::Req64, id::ECHO, &[cmd::LOG.into(), 0x2a])?,
        [OK, 0, 0, 0, 0],
        "echo LOG"
    );
    Ok(())
}

fn sp_mem_perm() -> Outcome {
    // During initialisation echo asked FFA_MEM_PERM_GET for its text (RO + X), its RW window
    // (RW + XN) and its boot information (RO + XN); sp-rt also made its stack guard page
    // read-only with FFA_MEM_PERM_SET then.
    check_eq!(
        ask(Kind::Req64, id::ECHO, &[cmd::INIT_PERMS.into()])?,
        [OK, 3, 5, 7, 0],
        "echo INIT_PERMS"
    );
    // After initialisation the SPMC refuses FFA_MEM_PERM_GET (and SET) with DENIED.
    for addr in [0x2400_0000, 0x2408_0000] {
        check_eq!(
            ask(Kind::Req64, id::ECHO, &[cmd::PERM.into(), addr])?,
            [err(ErrorCode::Denied), 0, 0, 0, 0],
            "echo PERM at run time"
        );
    }
    Ok(())
}

fn sp_heap() -> Outcome {
    let r = ask(Kind::Req64, id::ECHO, &[cmd::HEAP.into(), 0x2_0000])?;
    check_eq!(r[0], OK, "HEAP status");
    check!(
        r[1] >= r[2] + 0x2_0000,
        "heap free while 0x20000 bytes are allocated: {:#x} before, {:#x} during",
        r[1],
        r[2]
    );
    check_eq!(r[3], r[1], "heap free after the allocation was freed");
    Ok(())
}

fn pkg_boot_info() -> Outcome {
    // pkg-sp is packaged as an SPKG; it finds its manifest through the FF-A boot information
    // blob (v1.1 format, since its manifest says ffa-version 1.1).
    let u = uuid::PKG_SP.map(u64::from);
    check_eq!(
        ask(Kind::Req32, id::PKG_SP, &[cmd::MANIFEST_UUID.into()])?,
        [OK, u[0], u[1], u[2], u[3]],
        "pkg-sp MANIFEST_UUID"
    );
    check_eq!(
        ask(Kind::Req32, id::PKG_SP, &[cmd::MANIFEST_ID.into()])?,
        [OK, id::PKG_SP.into(), 0x1_0001, 0x1_0001, 0],
        "pkg-sp MANIFEST_ID"
    );
    Ok(())
}

/// Has echo make the FF-A call `fid` with x1.. = `args` (test-protocol RAW_CALL) and returns
/// the reply's x0..x12. Sent as REQ2, the only form whose payload (14 words) carries more
/// than x1..x3 of the call: REQ_32/64 carry five words, x3..x7.
fn echo_raw(fid: u32, args: &[u64]) -> Result<[u64; 13], Failure> {
    let mut words = [0u64; 14];
    words[0] = cmd::RAW_CALL.into();
    words[1] = fid.into();
    for (w, a) in words[2..].iter_mut().zip(args) {
        *w = *a;
    }
    let r = send(Kind::Req2, id::ECHO, &words);
    response(&r, Kind::Req2, id::ECHO)?;
    check_eq!(r.x(4), OK, "RAW_CALL status");
    Ok(core::array::from_fn(|i| r.x(5 + i)))
}

/// Checks a reply echo got is FFA_SUCCESS (32 or 64) and returns its w2.
fn raw_success(x: &[u64; 13], what: &str) -> Result<u64, Failure> {
    let fid = x[0] as u32;
    check!(
        fid == FuncId::Success32.raw() || fid == FuncId::Success64.raw(),
        "{what}: echo got w0 {fid:#x} (x2 {:#x}), want FFA_SUCCESS",
        x[2]
    );
    Ok(x[2] & 0xFFFF_FFFF)
}

/// Checks a reply echo got is FFA_ERROR with `code`.
fn raw_error(x: &[u64; 13], code: ErrorCode, what: &str) -> Outcome {
    check!(
        x[0] as u32 == FuncId::Error32.raw() && x[2] as u32 == code.to_i32() as u32,
        "{what}: echo got w0 {:#x} w2 {:#x}, want FFA_ERROR {code:?}",
        x[0],
        x[2]
    );
    Ok(())
}

fn sp_setup_abis_raw() -> Outcome {
    // FFA_ID_GET and FFA_SPM_ID_GET from an SP.
    check_eq!(
        raw_success(&echo_raw(FuncId::IdGet.raw(), &[])?, "FFA_ID_GET")?,
        u64::from(id::ECHO),
        "FFA_ID_GET from echo"
    );
    check_eq!(
        raw_success(&echo_raw(FuncId::SpmIdGet.raw(), &[])?, "FFA_SPM_ID_GET")?,
        0x8000,
        "FFA_SPM_ID_GET from echo"
    );
    // FFA_FEATURES answers per caller: SP-only ABIs are there for echo, not for the normal
    // world, and the other way round nothing is NW-only.
    for f in [
        FuncId::MsgWait32,
        FuncId::MsgSendDirectResp32,
        FuncId::MsgSendDirectResp2,
        FuncId::MemPermGet64,
        FuncId::ConsoleLog64,
        FuncId::PartitionInfoGetRegs,
    ] {
        raw_success(
            &echo_raw(FuncId::Features.raw(), &[f.raw().into()])?,
            f.name(),
        )?;
    }
    raw_error(
        &echo_raw(FuncId::Features.raw(), &[FuncId::MsgPoll.raw().into()])?,
        ErrorCode::NotSupported,
        "FFA_FEATURES(FFA_MSG_POLL) from echo",
    )?;
    for f in [
        FuncId::MsgSendDirectResp32,
        FuncId::MemPermGet64,
        FuncId::ConsoleLog64,
    ] {
        let r = call(FuncId::Features, &[f.raw().into()]);
        expect_error(&r, ErrorCode::NotSupported, f.name())?;
    }
    // FFA_PARTITION_INFO_GET count-only from an SP.
    check_eq!(
        raw_success(
            &echo_raw(FuncId::PartitionInfoGet.raw(), &[0, 0, 0, 0, 1])?,
            "count only"
        )?,
        u64::from(V1_2_COUNT),
        "PARTITION_INFO_GET count from echo"
    );
    // echo's mailbox: mapped at initialisation, so a second map is DENIED; its RX holds no
    // message, so RX_RELEASE is DENIED.
    raw_error(
        &echo_raw(FuncId::RxTxMap64.raw(), &[0x2408_8000, 0x2408_9000, 1])?,
        ErrorCode::Denied,
        "second FFA_RXTX_MAP from echo",
    )?;
    raw_error(
        &echo_raw(FuncId::RxRelease.raw(), &[])?,
        ErrorCode::Denied,
        "FFA_RX_RELEASE from echo without a message",
    )?;
    // FFA_MEM_PERM_SET after initialisation: DENIED.
    raw_error(
        &echo_raw(FuncId::MemPermSet64.raw(), &[0x2408_0000, 1, 0b101])?,
        ErrorCode::Denied,
        "FFA_MEM_PERM_SET at run time",
    )?;
    // FFA_CONSOLE_LOG_32 with three characters packed in w2 ("ok\n"): printed by the SPMC
    // as "echo: ok".
    raw_success(
        &echo_raw(FuncId::ConsoleLog32.raw(), &[3, 0x0A_6B6F])?,
        "FFA_CONSOLE_LOG_32",
    )?;
    Ok(())
}

/// Has pkg-sp make the FF-A call `fid` with x1..x3 = `args` (RAW_CALL over REQ_64: pkg-sp, a
/// v1.1 SP, takes no REQ2) and returns the reply's x0..x3.
fn pkg_raw(fid: u32, args: [u64; 3]) -> Result<[u64; 13], Failure> {
    let [a, b, c] = args;
    let r = ask(
        Kind::Req64,
        id::PKG_SP,
        &[cmd::RAW_CALL.into(), fid.into(), a, b, c],
    )?;
    check_eq!(r[0], OK, "RAW_CALL status");
    let mut x = [0u64; 13];
    x[..4].copy_from_slice(&r[1..]);
    Ok(x)
}

fn sp_rxtx_map_32_unmap() -> Outcome {
    // pkg-sp maps no mailbox of its own; its memory is below 4 GiB, so the SMC32 form works
    // for it. TX and RX: the first two pages of its RW window (.data; nothing here fills RX,
    // so neither page is written). (RX in its read-only, executable image is refused with
    // INVALID_PARAMETERS on QEMU: see the issue 4 report.)
    const PKG_TEXT: u64 = 0x2430_0000;
    const PKG_RW: u64 = 0x2438_0000;
    let map32 = FuncId::RxTxMap32.raw();
    for (what, args) in [
        ("TX in read-only memory", [PKG_TEXT, PKG_RW, 1]),
        ("TX in echo's memory", [0x2408_0000, PKG_TEXT, 1]),
        ("unaligned RX", [PKG_RW, PKG_TEXT + 0x10, 1]),
        ("TX = RX", [PKG_RW, PKG_RW, 1]),
        ("zero pages", [PKG_RW, PKG_TEXT, 0]),
    ] {
        raw_error(&pkg_raw(map32, args)?, ErrorCode::InvalidParameters, what)?;
    }
    raw_error(
        &pkg_raw(FuncId::RxTxUnmap.raw(), [u64::from(id::PKG_SP) << 16, 0, 0])?,
        ErrorCode::InvalidParameters,
        "FFA_RXTX_UNMAP with no mailbox",
    )?;
    raw_success(
        &pkg_raw(map32, [PKG_RW, PKG_RW + 0x1000, 1])?,
        "FFA_RXTX_MAP_32",
    )?;
    let second = pkg_raw(map32, [PKG_RW + 0x2000, PKG_RW + 0x3000, 1])?;
    let release = pkg_raw(FuncId::RxRelease.raw(), [0; 3])?;
    // w1[31:16] is a hypervisor's: from a partition, even its own ID is INVALID_PARAMETERS
    // and nothing is unmapped (Hafnium `api_ffa_rxtx_unmap`).
    let own = pkg_raw(FuncId::RxTxUnmap.raw(), [u64::from(id::PKG_SP) << 16, 0, 0])?;
    // Unmap whatever the checks found, so pkg-sp is left as it was.
    let unmapped = pkg_raw(FuncId::RxTxUnmap.raw(), [0; 3])?;
    raw_error(&second, ErrorCode::Denied, "second FFA_RXTX_MAP_32")?;
    raw_error(
        &release,
        ErrorCode::Denied,
        "FFA_RX_RELEASE without a message",
    )?;
    raw_error(
        &own,
        ErrorCode::InvalidParameters,
        "FFA_RXTX_UNMAP (own ID in w1[31:16])",
    )?;
    raw_success(&unmapped, "FFA_RXTX_UNMAP")?;
    raw_error(
        &pkg_raw(FuncId::RxTxUnmap.raw(), [0; 3])?,
        ErrorCode::InvalidParameters,
        "second FFA_RXTX_UNMAP",
    )?;
    Ok(())
}

fn sp_forged_source() -> Outcome {
    let req32 = FuncId::MsgSendDirectReq32.raw();
    for (what, fid, w1) in [
        ("relay's ID as source", req32, (0x8002_u64 << 16) | 0x8003),
        ("the normal world as source", req32, 0x8002),
        (
            "relay's ID as source, REQ_64",
            FuncId::MsgSendDirectReq64.raw(),
            (0x8002 << 16) | 0x8004,
        ),
        (
            "relay's ID as source, REQ2",
            FuncId::MsgSendDirectReq2.raw(),
            (0x8002 << 16) | 0x8003,
        ),
    ] {
        raw_error(
            &echo_raw(fid, &[w1, 0, 1, 2])?,
            ErrorCode::InvalidParameters,
            what,
        )?;
    }
    // Framework messages are the SPMD's; an SP may not send one (to the SPMC or anyone).
    for (what, dst) in [("to the SPMC", 0x8000_u64), ("to relay", 0x8002)] {
        raw_error(
            &echo_raw(req32, &[(0x8001 << 16) | dst, 1 << 31 | 8, 0x1_0002])?,
            ErrorCode::InvalidParameters,
            what,
        )?;
    }
    // A correct request through the same path works.
    let x = echo_raw(req32, &[(0x8001 << 16) | 0x8002, 0, 7, u64::from(id::ECHO)])?;
    check_eq!(
        [x[0], x[1]],
        [
            u64::from(FuncId::MsgSendDirectResp32.raw()),
            (0x8002 << 16) | 0x8001
        ],
        "echo -> relay -> echo (busy) response header"
    );
    // relay forwarded [7] to echo, which is busy handling this request.
    check_eq!(x[3], err(ErrorCode::Busy), "relay's status word");
    Ok(())
}

fn sp_unsolicited_response() -> Outcome {
    // echo is handling our REQ2 (echo_raw). A response to an endpoint that sent it no
    // request, a forged response, a response of the other form, a framework response and
    // FFA_MSG_WAIT before answering are all refused, and echo's real response still reaches
    // us afterwards (each echo_raw checks it).
    raw_error(
        &echo_raw(
            FuncId::MsgSendDirectResp2.raw(),
            &[(0x8001 << 16) | 0x8002, 0, 0, 1],
        )?,
        ErrorCode::InvalidParameters,
        "RESP2 to relay, which sent no request",
    )?;
    raw_error(
        &echo_raw(FuncId::MsgSendDirectResp2.raw(), &[0x8002 << 16, 0, 0, 1])?,
        ErrorCode::InvalidParameters,
        "RESP2 with relay's ID as source",
    )?;
    for f in [FuncId::MsgSendDirectResp32, FuncId::MsgSendDirectResp64] {
        raw_error(
            &echo_raw(f.raw(), &[0x8001 << 16, 0, 1])?,
            ErrorCode::Denied,
            "DIRECT_RESP to a REQ2",
        )?;
    }
    raw_error(
        &echo_raw(
            FuncId::MsgSendDirectResp32.raw(),
            &[0x8001 << 16, 1 << 31 | 9],
        )?,
        ErrorCode::InvalidParameters,
        "framework RESP from an SP",
    )?;
    raw_error(
        &echo_raw(FuncId::MsgWait32.raw(), &[])?,
        ErrorCode::Denied,
        "FFA_MSG_WAIT while handling a request",
    )?;
    check_eq!(
        ask(Kind::Req32, id::ECHO, &[0x31])?[0],
        0x31,
        "echo afterwards"
    );
    Ok(())
}

/// Conformance decision (b) (docs/abi-status.md): echo, handling a REQ_64, answers with
/// DIRECT_RESP_32, as Arm's ACS server partition does; the SPMC delivers it (FF-A pairs RESP
/// with REQ whatever their widths, and so does Hafnium), so the normal world's REQ_64 returns
/// that RESP_32. echo's RAW_CALL command then takes the next message as the result of its call
/// and answers it with that message's registers; after that it serves requests as before.
fn sp_response_width_mismatch() -> Outcome {
    let words = [
        u64::from(cmd::RAW_CALL),
        FuncId::MsgSendDirectResp32.raw().into(),
        0x8001 << 16,
        0,
        1,
    ];
    let r = send(Kind::Req64, id::ECHO, &words);
    check_eq!(
        response(&r, Kind::Req32, id::ECHO)?,
        [1, 0, 0, 0, 0],
        "RESP_32 to a REQ_64"
    );
    let r = send(Kind::Req32, id::ECHO, &[0x31]);
    check_eq!(
        [r.x(3), r.x(4)],
        [OK, FuncId::MsgSendDirectReq32.raw().into()],
        "echo's RAW_CALL result: the next request"
    );
    check_eq!(
        ask(Kind::Req32, id::ECHO, &[0x31])?[0],
        0x31,
        "echo afterwards"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// SP to SP.

fn sp_to_sp_allowed() -> Outcome {
    // relay -> echo (granted), all three forms; echo sees relay as the sender.
    for kind in [Kind::Req32, Kind::Req64, Kind::Req2] {
        check_eq!(
            ask(kind, id::RELAY, &[0x1234, id::ECHO.into(), 9, 10, 11])?,
            [OK, 0x1234, 9, 10, 11],
            "relay -> echo"
        );
    }
    let code = |k: Kind| match k {
        Kind::Req32 => 32,
        Kind::Req64 => 64,
        Kind::Req2 => 2,
    };
    for kind in [Kind::Req32, Kind::Req64, Kind::Req2] {
        check_eq!(
            ask(kind, id::RELAY, &[cmd::WHO.into(), id::ECHO.into()])?,
            [OK, OK, id::ECHO.into(), id::RELAY.into(), code(kind)],
            "relay -> echo WHO"
        );
    }
    // echo -> pkg-sp and echo -> fault (granted) with CALL.
    for target in [id::PKG_SP, id::FAULT] {
        check_eq!(
            ask(
                Kind::Req32,
                id::ECHO,
                &[cmd::CALL.into(), target.into(), 0x55, 6, 7]
            )?,
            [OK, 0x55, 6, 7, 0],
            "echo CALL"
        );
        check_eq!(
            ask(
                Kind::Req64,
                id::ECHO,
                &[cmd::CALL.into(), target.into(), cmd::ID.into()]
            )?,
            [OK, OK, target.into(), 0, 0],
            "echo CALL ID"
        );
    }
    // Two hops: relay -> echo -> pkg-sp.
    check_eq!(
        ask(
            Kind::Req64,
            id::RELAY,
            &[
                cmd::CALL.into(),
                id::ECHO.into(),
                id::PKG_SP.into(),
                cmd::WHO.into()
            ]
        )?,
        [OK, OK, OK, id::PKG_SP.into(), id::ECHO.into()],
        "relay -> echo -> pkg-sp WHO"
    );
    Ok(())
}

fn sp_to_sp_denied() -> Outcome {
    let denied = [err(ErrorCode::Denied), 0, 0, 0, 0];
    // relay is not granted pkg-sp.
    check_eq!(
        ask(Kind::Req32, id::RELAY, &[0x1234, id::PKG_SP.into()])?,
        denied,
        "relay -> pkg-sp"
    );
    // echo may message pkg-sp, but pkg-sp does not take REQ2 (CALL answers the error alone).
    check_eq!(
        ask(
            Kind::Req2,
            id::ECHO,
            &[cmd::CALL.into(), id::PKG_SP.into(), 1]
        )?,
        denied,
        "echo -> pkg-sp over REQ2"
    );
    // fault has no grants (and does not send direct requests at all); pkg-sp has none either.
    for (from, to) in [
        (id::FAULT, id::ECHO),
        (id::FAULT, id::RELAY),
        (id::PKG_SP, id::ECHO),
    ] {
        check_eq!(
            ask(Kind::Req32, from, &[cmd::CALL.into(), to.into(), 1])?,
            denied,
            "SP without grants CALL"
        );
    }
    Ok(())
}

fn sp_to_sp_bad_destinations() -> Outcome {
    let invalid = [err(ErrorCode::InvalidParameters), 0, 0, 0, 0];
    for (what, to) in [
        ("relay -> itself", id::RELAY),
        ("relay -> no such SP", EndpointId(0x8010)),
        ("relay -> the normal world", EndpointId(0)),
    ] {
        check_eq!(
            ask(Kind::Req32, id::RELAY, &[0x1234, to.into()])?,
            invalid,
            what
        );
    }
    // relay -> the SPMC: answered by the SPMC's echo.
    check_eq!(
        ask(Kind::Req32, id::RELAY, &[0x77, 0x8000, 5, 6])?,
        [OK, 0x77, 5, 6, 0],
        "relay -> SPMC"
    );
    Ok(())
}

fn cycle_busy() -> Outcome {
    let busy = err(ErrorCode::Busy);
    // echo -> relay -> echo: echo is waiting for relay's answer, so relay's request to echo
    // finds it busy, and relay reports that to echo.
    check_eq!(
        ask(
            Kind::Req32,
            id::ECHO,
            &[cmd::CALL.into(), id::RELAY.into(), 0x42, id::ECHO.into(), 1]
        )?,
        [OK, busy, 0, 0, 0],
        "echo -> relay -> echo"
    );
    // relay -> echo -> relay: the other way round; echo's CALL answers the error alone.
    check_eq!(
        ask(
            Kind::Req64,
            id::RELAY,
            &[cmd::CALL.into(), id::ECHO.into(), id::RELAY.into(), 5]
        )?,
        [OK, busy, 0, 0, 0],
        "relay -> echo -> relay"
    );
    // Nothing stays busy after the cycle.
    check_eq!(
        ask(Kind::Req32, id::RELAY, &[3, id::ECHO.into(), 4])?,
        [OK, 3, 4, 0, 0],
        "relay -> echo after the cycles"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Isolation and fault containment.

fn sp_memory_unreadable() -> Outcome {
    // foundation covers the SP pool base; these are SPs' data (RW windows) and another image.
    for (what, pa) in [
        ("echo's RW window", 0x2408_0000_u64),
        ("relay's image", 0x2410_0000),
        ("fault's RW window", 0x2428_0000),
        ("pkg-sp's image", 0x2430_0000),
    ] {
        match probe_read(pa) {
            Ok(v) => fail!("read of {what} at {pa:#x} succeeded from the normal world ({v:#x})"),
            Err(esr) if esr >> 63 == 0 => check_eq!(esr & 0x3F, 0x10, "DFSC of the abort"),
            Err(_) => {} // reported as SError: also an external abort
        }
    }
    Ok(())
}

fn fault_contained() -> Outcome {
    check_eq!(
        ask(Kind::Req32, id::FAULT, &[0x77, 1])?,
        [0x77, 1, 0, 0, 0],
        "fault alive"
    );
    // A notification and an indirect message pending for fault when it dies: what the abort
    // drops is checked by notify_aborted_sp_state_dropped.
    super::notify::leave_pending_for_fault()?;
    // fault reads and writes echo's RW window (0x2408_0000, where echo's .data lives): not
    // mapped in fault's address space, so it takes a translation fault; the SPMC prints the
    // fault report and aborts fault, and its requester (us) gets ABORTED.
    let r = send(
        Kind::Req32,
        id::FAULT,
        &[cmd::FAULT_TOUCH.into(), 0x2408_0000],
    );
    expect_error(&r, ErrorCode::Aborted, "FAULT_TOUCH of echo's memory")?;
    // From now on fault is aborted, for every sender and form.
    for kind in [Kind::Req32, Kind::Req64, Kind::Req2] {
        expect_error(
            &send(kind, id::FAULT, &[0x77]),
            ErrorCode::Aborted,
            "fault afterwards",
        )?;
    }
    let aborted = err(ErrorCode::Aborted);
    check_eq!(
        ask(Kind::Req32, id::RELAY, &[1, id::FAULT.into()])?,
        [aborted, 0, 0, 0, 0],
        "relay -> aborted fault"
    );
    check_eq!(
        ask(
            Kind::Req64,
            id::ECHO,
            &[cmd::CALL.into(), id::FAULT.into(), 1]
        )?,
        [aborted, 0, 0, 0, 0],
        "echo CALL aborted fault"
    );
    // Everyone else keeps working, echo's state included.
    check_eq!(ask(Kind::Req32, id::ECHO, &[0x99])?[0], 0x99, "echo alive");
    check_eq!(
        ask(Kind::Req64, id::ECHO, &[cmd::INIT_PERMS.into()])?,
        [OK, 3, 5, 7, 0],
        "echo's data intact"
    );
    check_eq!(
        ask(Kind::Req32, id::RELAY, &[2, id::ECHO.into(), 3])?,
        [OK, 2, 3, 0, 0],
        "relay -> echo"
    );
    check_eq!(ask(Kind::Req32, id::PKG_SP, &[0x5])?[0], 5, "pkg-sp alive");
    let r = call(FuncId::IdGet, &[]);
    check_eq!(expect_success(&r, "FFA_ID_GET")?, 0, "normal world alive");
    Ok(())
}

fn sp_touching_spmc_contained() -> Outcome {
    check_eq!(
        ask(Kind::Req32, id::PKG_SP, &[0x66, 2])?,
        [0x66, 2, 0, 0, 0],
        "pkg-sp alive"
    );
    // The SPMC's image base (its text and data sit in 0x2020_0000..0x2400_0000, mapped for
    // S-EL1 only): pkg-sp's access takes a data abort (seen: permission fault, ESR
    // 0x9200000f) and pkg-sp is aborted.
    let r = send(
        Kind::Req32,
        id::PKG_SP,
        &[cmd::FAULT_TOUCH.into(), 0x2020_0000],
    );
    expect_error(&r, ErrorCode::Aborted, "FAULT_TOUCH of the SPMC's memory")?;
    expect_error(
        &send(Kind::Req64, id::PKG_SP, &[0x66]),
        ErrorCode::Aborted,
        "pkg-sp afterwards",
    )?;
    // The SPMC itself is intact: it answers discovery, its own direct requests, and relay.
    let r = info_get_regs([0; 4], 0, 0);
    check_eq!(
        regs_answer(&r, 0)?.len(),
        5,
        "PARTITION_INFO_GET_REGS after the fault (first five of six)"
    );
    let r = call(FuncId::MsgSendDirectReq64, &[0x8000, 0, 0xAB]);
    check_eq!(
        [r.w(0), r.w(1)],
        [FuncId::MsgSendDirectResp64.raw(), 0x8000 << 16],
        "direct request to the SPMC"
    );
    check_eq!(r.x(3), 0xAB, "the SPMC's echo");
    check_eq!(
        ask(Kind::Req32, id::RELAY, &[0x44, 0x8000, 1])?,
        [OK, 0x44, 1, 0, 0],
        "relay -> SPMC"
    );
    check_eq!(
        expect_success(&call(FuncId::IdGet, &[]), "FFA_ID_GET")?,
        0,
        "normal world alive"
    );
    Ok(())
}

/// Every core that is up sends a burst of direct requests at the same time, to the SPMC's own
/// endpoint and then to echo: no answer may be wrong (a corrupted or misrouted echo); echo,
/// a single execution context, may answer BUSY to a core while it runs for another, the SPMC
/// endpoint never.
fn concurrent_messages() -> Outcome {
    use crate::secondary::{burst, BURST, CMD_MESSAGES, MAILBOXES};
    use core::sync::atomic::Ordering;
    let up: heapless::Vec<usize, 8> = (1..MAILBOXES.len())
        .filter(|&i| MAILBOXES[i].reports.load(Ordering::Acquire) > 0)
        .collect();
    check!(
        !up.is_empty(),
        "no secondary core is up (run with -smp 2 or more)"
    );
    for target in [EndpointId(0x8000), id::ECHO] {
        let before: heapless::Vec<u32, 8> = up
            .iter()
            .map(|&i| MAILBOXES[i].done.load(Ordering::Acquire))
            .collect();
        for &i in &up {
            MAILBOXES[i]
                .target
                .store(u32::from(target), Ordering::Release);
            MAILBOXES[i].command.store(CMD_MESSAGES, Ordering::Release);
        }
        crate::arch::sev();
        let (mut echoed, mut busy, mut wrong) = burst(target, 0);
        let finished = crate::arch::wait_until(60_000, || {
            up.iter()
                .zip(&before)
                .all(|(&i, &b)| MAILBOXES[i].done.load(Ordering::Acquire) > b)
        });
        check!(
            finished,
            "a secondary core did not finish its burst to {target:#x}"
        );
        for &i in &up {
            echoed += MAILBOXES[i].echoed.load(Ordering::Acquire);
            busy += MAILBOXES[i].busy.load(Ordering::Acquire);
            wrong += MAILBOXES[i].wrong.load(Ordering::Acquire);
        }
        let sent = BURST * (up.len() as u32 + 1);
        check_eq!(wrong, 0, "wrong answers");
        check_eq!(echoed + busy, sent, "answers");
        check!(echoed > 0, "no request to {target:#x} was answered");
        if target == EndpointId(0x8000) {
            check_eq!(busy, 0, "BUSY from the SPMC endpoint");
        }
        log!(
            "{} cores x {BURST} requests to {target:#x}: {echoed} echoed, {busy} BUSY",
            up.len() + 1
        );
    }
    Ok(())
}
