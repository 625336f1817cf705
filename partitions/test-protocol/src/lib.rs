//! The protocol between the normal-world test driver and the project's test SPs (echo, relay,
//! fault, pkg-sp): endpoint IDs and UUIDs of the default SP set, command codes and status
//! words. No unsafe, and no dependency but ffa-abi (whose `EndpointId` the IDs are): both sides
//! use the same constants.
//!
//! Payload words are numbered from the first payload register of the direct message:
//! word 0 = w3/x3 for FFA_MSG_SEND_DIRECT_REQ_32/64, x4 for FFA_MSG_SEND_DIRECT_REQ2.
//! Word 0 of a request is the command; word 0 of a response is a [`status`] word, except for
//! the plain echo, which returns the request payload unchanged. REQ_32 carries 5 words
//! (32-bit), REQ_64 5 words (x3..x7: FF-A v1.2 reserves x8..x17 of DIRECT_REQ, and the SPMC
//! does not forward them), REQ2 14 words. partitions/README.md has the same table.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

/// FF-A endpoint IDs of the default SP set (partitions/*/*.dts `id`).
pub mod id {
    use ffa_abi::EndpointId;

    /// The echo SP.
    pub const ECHO: EndpointId = EndpointId(0x8001);
    /// The relay SP.
    pub const RELAY: EndpointId = EndpointId(0x8002);
    /// The fault SP.
    pub const FAULT: EndpointId = EndpointId(0x8003);
    /// The SP packaged as an SPKG and started through the boot information protocol.
    pub const PKG_SP: EndpointId = EndpointId(0x8004);
    /// The PSA Internal Trusted Storage SP (TS RPC).
    pub const ITS: EndpointId = EndpointId(0x8005);
    /// The PSA Protected Storage SP (TS RPC).
    pub const PS: EndpointId = EndpointId(0x8006);
    /// The block storage SP (TS RPC): owns the secure flash, serves ITS and PS.
    pub const BLOCK_STORAGE: EndpointId = EndpointId(0x8008);
}

/// UUIDs of the default SP set, as the four 32-bit words FFA_PARTITION_INFO_GET takes in
/// w1..w4 (SMCCC packing: bytes 4i..4i+4 of the textual form, little-endian), which is also
/// how the manifests' `uuid` cells are written.
pub mod uuid {
    /// echo: 2f2e7c3a-6c59-4b1e-9d8f-01ec40000001
    pub const ECHO: [u32; 4] = [0x3a7c_2e2f, 0x1e4b_596c, 0xec01_8f9d, 0x0100_0040];
    /// relay: 2f2e7c3a-6c59-4b1e-9d8f-01ec40000002
    pub const RELAY: [u32; 4] = [0x3a7c_2e2f, 0x1e4b_596c, 0xec01_8f9d, 0x0200_0040];
    /// fault: 2f2e7c3a-6c59-4b1e-9d8f-01ec40000003
    pub const FAULT: [u32; 4] = [0x3a7c_2e2f, 0x1e4b_596c, 0xec01_8f9d, 0x0300_0040];
    /// pkg-sp: 2f2e7c3a-6c59-4b1e-9d8f-01ec40000004
    pub const PKG_SP: [u32; 4] = [0x3a7c_2e2f, 0x1e4b_596c, 0xec01_8f9d, 0x0400_0040];
    /// pkg-sp as an FF-A v1.0 SP (the v1.0 boot-information fixture,
    /// partitions/pkg-sp/layout-v1.0.json): 2f2e7c3a-6c59-4b1e-9d8f-01ec4000000a
    pub const PKG_SP_V1_0: [u32; 4] = [0x3a7c_2e2f, 0x1e4b_596c, 0xec01_8f9d, 0x0a00_0040];
    /// Every UUID fault's manifest lists: its own, then pkg-sp's, so that two SPs (fault and
    /// pkg-sp) implement [`PKG_SP`] and FFA_PARTITION_INFO_GET for it returns both.
    pub const FAULT_SERVICES: [[u32; 4]; 2] = [FAULT, PKG_SP];
    /// The Trusted Services RPC protocol UUID bdcd76d7-825e-4751-963b-86d4f84943ac: the FF-A
    /// UUID of the storage SPs (its, ps and block-storage), as of every TS SP.
    pub const TS_RPC: [u32; 4] = [0xd776_cdbd, 0x5147_5e82, 0xd486_3b96, 0xac43_49f8];
}

/// Command codes (request word 0). Any other value is echoed by echo, fault and pkg-sp.
pub mod cmd {
    /// echo: FFA_ID_GET. Response: \[OK, own ID\].
    pub const ID: u32 = 0xC0DE_0001;
    /// echo: FFA_VERSION with word 1 as the version to announce (0 = 0x10002).
    /// Response: \[OK, w0 of the reply (the SPMC's version, or 0xFFFF_FFFF NOT_SUPPORTED)\].
    pub const VERSION: u32 = 0xC0DE_0002;
    /// echo: FFA_PARTITION_INFO_GET for the UUID in words 1..=4 (all zero = every
    /// partition), descriptors through its RX buffer, then FFA_RX_RELEASE.
    /// Response: \[status, count, descriptor size, first descriptor's ID | exec-ctx-count << 16,
    /// first descriptor's properties\].
    pub const PARTINFO: u32 = 0xC0DE_0003;
    /// echo: FFA_PARTITION_INFO_GET_REGS (v1.2, answered in registers) for the UUID in words
    /// 1..=4 from index 0. Response: \[status, last index, current index, first ID |
    /// exec-ctx-count << 16, first properties\].
    pub const PARTINFO_REGS: u32 = 0xC0DE_000A;
    /// echo: prints "echo: LOG <word 1 in hex>" with FFA_CONSOLE_LOG_64. Response: \[OK\].
    pub const LOG: u32 = 0xC0DE_0004;
    /// echo: FFA_MEM_PERM_GET_64 on the address in word 1. Response: \[status, permissions
    /// (w2: bits \[1:0\] 0 none / 1 RW / 3 RO, bit 2 set = not executable)\].
    pub const PERM: u32 = 0xC0DE_0005;
    /// echo: sends a direct request of the same kind to the endpoint in word 1, with payload
    /// word 0 = this request's word 2 and words 1.. = this request's words 3..; relays the
    /// answer as \[status, the target's response words 0..\]. Relay does this for every request
    /// whatever word 0 is (see [`super::RELAY_FORWARDS_EVERYTHING`]).
    pub const CALL: u32 = 0xC0DE_0006;
    /// echo: answers \[OK, the SP's own ID, the sender's ID, the message kind (32, 64 or 2)\].
    pub const WHO: u32 = 0xC0DE_0007;
    /// echo: answers \[OK, perm(image base), perm(RW window), perm(boot info)\], each the w2 of
    /// the FFA_MEM_PERM_GET_64 echo made during its initialisation (the SPMC allows it only
    /// then) or, with bit 31 set, the FF-A error it got. Encoding: bits \[1:0\] 0 none, 1 RW,
    /// 3 RO; bit 2 set = not executable. Expected: 0b011 (text: RO, executable), 0b101
    /// (RW window: RW, not executable), 0b111 (boot info: RO, not executable).
    pub const INIT_PERMS: u32 = 0xC0DE_0008;
    /// echo: allocates word 1 bytes (at most [`super::HEAP_TEST_MAX`]) from its heap, fills and
    /// checks them, frees them. Response: \[status (NO_MEMORY if the allocation failed, BAD_RX
    /// never), free heap bytes before, while allocated, after\].
    pub const HEAP: u32 = 0xC0DE_0009;

    /// fault, echo: [`FAULT_TOUCH`] is also echo's (the owner touching memory it lent away).
    /// fault: reads the unmapped address [`super::fault::UNMAPPED_ADDR`] (data abort).
    pub const FAULT_UNMAPPED_READ: u32 = 0xC0DE_0F01;
    /// fault: writes to its own text (mapped read-only + executable: permission fault).
    pub const FAULT_WRITE_TEXT: u32 = 0xC0DE_0F02;
    /// fault, pkg-sp: reads then writes the address in word 1 (e.g. another SP's memory).
    pub const FAULT_TOUCH: u32 = 0xC0DE_0F03;
    /// fault: executes an undefined instruction.
    pub const FAULT_UNDEF: u32 = 0xC0DE_0F04;
    /// fault: panics (sp-rt's panic handler logs, then ends with an undefined instruction).
    pub const FAULT_PANIC: u32 = 0xC0DE_0F05;
    /// fault: recurses until its 64 KiB stack overflows into sp-rt's read-only guard page.
    pub const FAULT_STACK_OVERFLOW: u32 = 0xC0DE_0F06;

    /// echo: retrieves the memory whose handle is words 1 (low 32 bits) and 2 (high 32 bits),
    /// owned by the endpoint in word 3 (FFA_MEM_RETRIEVE_REQ through its TX/RX buffers, tag
    /// 0), reads the first u32 of the region, writes word 4 there if word 4 is not zero (then
    /// it asks for RW, else RO), and relinquishes it. Response: \[status, the u32 read, total
    /// pages, constituent count\]; status is the first error met (retrieve, write refused =
    /// DENIED, relinquish).
    pub const MEM_RW: u32 = 0xC0DE_0201;

    /// echo: shares one page of its own memory (value 0x5AFE_0001 in its first u32) read-write
    /// with the SP in word 1 (FFA_MEM_SHARE), sends that SP a direct request of the same kind
    /// \[MEM_RW, handle low, handle high, echo's ID, word 2\], reads its page back and reclaims
    /// it. Response: \[status of share / request / reclaim (first failure), the borrower's
    /// status, what the borrower read, the page's first u32 after, 0\]. Needs a `memory-share`
    /// grant for the borrower (echo -> fault in sp_layout.json); fault can borrow.
    pub const SHARE: u32 = 0xC0DE_0202;
    /// The value [`SHARE`] puts in the page before sharing it.
    pub const SHARE_PATTERN: u32 = 0x5AFE_0001;

    /// echo, fault (any SP with RX/TX): retrieves the handle in words 1 (low 32 bits) and 2
    /// (high 32 bits), owned by the endpoint in word 3, asking RW if word 4 is not zero (else
    /// RO); reads the u32 at byte offset word 5 of the region, writes word 4 there if it is not
    /// zero, and relinquishes unless word 6 has [`MEM_KEEP`] (then [`MEM_RELINQUISH`] gives it
    /// back later; a donee keeps donated memory for good). Words 5 and 6 need REQ2: the SPMC
    /// forwards only words 0..4 (x3..x7) of FFA_MSG_SEND_DIRECT_REQ_32/64.
    /// Response: \[status (first error: retrieve, write refused or offset outside = DENIED,
    /// relinquish), the u32 read, total pages, constituent count in the retrieve response\].
    pub const MEM_ACCESS: u32 = 0xC0DE_0203;
    /// Word 6 bit of [`MEM_ACCESS`]: keep the region retrieved.
    pub const MEM_KEEP: u64 = 1;
    /// echo, fault: FFA_MEM_RELINQUISH of the handle in words 1/2 (retrieved with
    /// [`MEM_ACCESS`] + [`MEM_KEEP`]). Response: \[status\].
    pub const MEM_RELINQUISH: u32 = 0xC0DE_0204;
    /// echo, fault (as owner): puts [`SHARE_PATTERN`] in one page of its own memory and sends it
    /// to the SP in word 1 with the ABI in word 2 ([`MEM_SEND_SHARE`], [`MEM_SEND_LEND`],
    /// [`MEM_SEND_DONATE`]; share/lend grant RW, donate names no access), asks that SP
    /// \[MEM_ACCESS, handle low, handle high, own ID, word 3, 0, keep if donate\] (always as
    /// REQ2 with the nil UUID, for word 6), reclaims
    /// (share/lend) and reads the page. If word 4 is [`MEM_SEND_TOUCH`] it instead reads its
    /// own page right after the send (for lend and donate the SPMC must abort the SP there;
    /// if it survives: \[UNEXPECTED_REPLY, 0, the u32 read, 0, 0\], page left unreclaimed).
    /// Response: \[status (send / request / reclaim, first failure; a donate's reclaim must be
    /// refused and is not counted), the borrower's status, what the borrower read, the page's
    /// first u32 after reclaim (0 for donate), FFA_MEM_RECLAIM's status\]. Needs a
    /// `memory-share` grant and a direct-message path to the borrower.
    pub const MEM_SEND: u32 = 0xC0DE_0205;
    /// [`MEM_SEND`] word 2: FFA_MEM_SHARE.
    pub const MEM_SEND_SHARE: u64 = 1;
    /// [`MEM_SEND`] word 2: FFA_MEM_LEND.
    pub const MEM_SEND_LEND: u64 = 2;
    /// [`MEM_SEND`] word 2: FFA_MEM_DONATE.
    pub const MEM_SEND_DONATE: u64 = 3;
    /// [`MEM_SEND`] word 4: touch the page while it is lent away (no borrower call).
    pub const MEM_SEND_TOUCH: u64 = 1;

    /// echo, fault (any SP with RX/TX, as the owner): sends the ranges named by their
    /// addresses in its own address space (pages it owns: its memory, or memory donated to
    /// it) to the SP in word 1 with the ABI in word 2 ([`MEM_SEND_SHARE`], [`MEM_SEND_LEND`],
    /// [`MEM_SEND_DONATE`]; share/lend grant RW), word 3 ranges (1..=4), then (address, pages)
    /// in words 4/5, 6/7, 8/9, 10/11 (REQ2), and leaves the transaction live: the test drives
    /// the borrower and the reclaim. Response: \[status, handle low 32 bits, handle high 32
    /// bits\].
    pub const SEND_RANGES: u32 = 0xC0DE_0206;

    /// echo, fault (any SP with RX/TX): a fragmented FFA_MEM_SHARE_32 of two heap pages to
    /// the SP in word 1, read-write, one step per request (issue 10: each sender's fragment
    /// quota). Word 2 = 0 starts it: the first fragment holds the header, the access
    /// descriptor, the composite and the first constituent only (w1 total length > w2
    /// fragment length); the pages are words 6/7, or two pages it allocates (and keeps for
    /// good: the transaction outlives the request) when word 6 is 0. Word 2 = 1 sends the rest
    /// from the offset in word 5 with FFA_MEM_FRAG_TX of the handle in words 3/4 (low, high),
    /// words 6/7 the same pages. Response: \[OK, w0, w1, w2, w3 of the SPMC's answer
    /// (FFA_MEM_FRAG_RX: handle low, high, offset; FFA_SUCCESS: 0, handle low, high), page 0,
    /// page 1\], or \[FF-A error\] when the SPMC answered FFA_ERROR.
    pub const FRAG_SHARE: u32 = 0xC0DE_1501;

    /// echo, fault, pkg-sp: makes the FF-A call x0 = word 1 (32 bits), x1.. = words 2..,
    /// exactly as given, and answers \[OK, x0, x1, ... of the reply\]. The request's form
    /// limits both: REQ_32/64 carry five words (x1..x3 in, x0..x3 out), REQ2 fourteen (x1..x12
    /// in, x0..x12 out).
    /// Lets tests make calls the SP runtime never makes on its own: a forged source ID, a
    /// response to an endpoint that sent no request, FFA_MSG_WAIT while handling a request,
    /// ABIs sp-rt has no wrapper for. A call that ends the SP's run (a response the SPMC
    /// wrongly accepts) gives no answer to this request.
    pub const RAW_CALL: u32 = 0xC0DE_0301;

    /// Any SP (as the owner of a device region; fault owns [`super::device::BASE`]): sends
    /// the page at [`super::device::BASE`] to the SP in word 1 with the ABI in word 2
    /// ([`MEM_SEND_SHARE`] or [`MEM_SEND_LEND`]), read-write, with word 3 as the descriptor's
    /// memory region attributes field (0 = not specified, as a lend to one borrower must;
    /// 0x14 = Device-nGnRE), and leaves the transaction live: the test drives the borrower
    /// ([`DEV_ACCESS`]) and the reclaim ([`RAW_CALL`] of FFA_MEM_RECLAIM) itself, so the owner
    /// needs a `memory-share` grant but no direct-message path. Response: \[status, handle
    /// low 32 bits, handle high 32 bits\].
    pub const DEV_SEND: u32 = 0xC0DE_0601;
    /// Any SP with RX/TX: retrieves the handle in words 1/2 owned by the endpoint in word 3,
    /// asking for the memory region attributes field in word 4 and the access permissions
    /// byte in word 5 (DEN0140 encoding: bits \[1:0\] data 1 RO / 2 RW, bits \[3:2\] instruction
    /// 1 NX / 2 X); reads the eight u32 registers from byte offset word 6 and packs their low
    /// bytes ([`super::device::pack_low_bytes`]); relinquishes. Response: \[status (first error:
    /// retrieve, a read outside the region = DENIED, relinquish), the packed bytes, the
    /// attributes field of the SPMC's retrieve response, the permissions byte it granted,
    /// total pages\].
    pub const DEV_ACCESS: u32 = 0xC0DE_0602;
    /// fault (owner of [`super::device::BASE`]): reads the eight u32 registers from byte
    /// offset word 1 of its device region through its own manifest mapping and packs their low
    /// bytes. Response: \[OK, the packed bytes\]. If the SPMC took the mapping away (lent), the
    /// load aborts fault.
    pub const DEV_READ: u32 = 0xC0DE_0603;

    /// echo (any SP with RX/TX and messaging-method bit 2): FFA_MSG_SEND2 of the 8 bytes of
    /// word 2 (little-endian) to the endpoint in word 1, the header at the SP's version
    /// (v1.2: 40 bytes), delaying the schedule-receiver interrupt if word 3 is not zero.
    /// Response: \[status\].
    pub const MSG_SEND2: u32 = 0xC0DE_0901;
    /// echo: fetches its framework notifications (FFA_NOTIFICATION_GET, SPM and hypervisor
    /// bitmaps), reads the indirect message in its RX buffer and releases it (FFA_RX_RELEASE).
    /// Response: \[status (first failure: get, BAD_RX for a header that does not fit, release),
    /// SPM bitmap | hypervisor bitmap << 32, sender ID, payload size, the first 8 payload bytes
    /// (little-endian)\]. With word 1 = 1 (a v1.0 FFA_MSG_SEND message, which has no header):
    /// \[status, the first 8 bytes of RX\], then FFA_RX_RELEASE.
    pub const MSG_READ: u32 = 0xC0DE_0902;
    /// echo: FFA_NOTIFICATION_BIND of bitmap word 2 for sender word 1, per-vCPU if word 3 is
    /// not zero. Response: \[status\].
    pub const NOTIFY_BIND: u32 = 0xC0DE_0903;
    /// echo: FFA_NOTIFICATION_UNBIND of bitmap word 2 bound to sender word 1. Response:
    /// \[status\].
    pub const NOTIFY_UNBIND: u32 = 0xC0DE_0904;
    /// echo: FFA_NOTIFICATION_SET of bitmap word 2 to receiver word 1, with the flags of word 3
    /// (bit 0 per-vCPU, bit 1 delay SRI, \[31:16\] vCPU). Response: \[status\].
    pub const NOTIFY_SET: u32 = 0xC0DE_0905;
    /// echo: FFA_NOTIFICATION_GET for vCPU 0 of the bitmaps in word 1 (bit 0 SP, 1 VM, 2 SPM,
    /// 3 hypervisor). Response: \[status, SP bitmap, VM bitmap, SPM | hypervisor << 32\].
    pub const NOTIFY_GET: u32 = 0xC0DE_0906;
    /// echo: what it did with the cycles FFA_RUN gave it while it waited (it reads all its
    /// notifications with FFA_NOTIFICATION_GET, then waits again). Response: \[OK, runs since
    /// boot, then what the last run's GET returned: SP bitmap, VM bitmap, SPM | hypervisor <<
    /// 32 (or the status of a failed GET in the SP word, the others 0)\].
    pub const RUN_LOG: u32 = 0xC0DE_1101;
    /// echo: word 1 = 1: from now on, a run (FFA_RUN) whose FFA_NOTIFICATION_GET shows "RX
    /// buffer full" keeps the RX buffer and the message over its FFA_MSG_WAIT (FF-A v1.2 w2
    /// bit 0, `sp_rt::RxOnWait::Retain`) for a later MSG_READ; word 1 = 0: such runs hand it
    /// back (the default; the message is lost). Response: \[OK\].
    pub const RUN_KEEP_RX: u32 = 0xC0DE_1701;
    /// A v1.0 SP (pkg-sp or echo built for FF-A v1.0): FFA_MSG_SEND of the 8 bytes of word 2
    /// (little-endian) to the endpoint in word 1, from the start of its TX buffer. Response:
    /// \[status\].
    pub const MSG_SEND_V1_0: u32 = 0xC0DE_1102;
    /// A v1.0 SP: FFA_MSG_POLL; with a message, reads the first 8 bytes of RX and releases it
    /// (FFA_RX_RELEASE). Response: \[status (of the poll, e.g. RETRY, else of the release),
    /// sender ID, size, the first 8 bytes (little-endian)\].
    pub const MSG_POLL_V1_0: u32 = 0xC0DE_1103;

    /// pkg-sp: answers \[OK, uuid cell 0, 1, 2, 3\] read from its manifest DTB, found through
    /// the FF-A boot information blob; \[NO_BOOT_INFO\] if it got none.
    pub const MANIFEST_UUID: u32 = 0xC0DE_0101;
    /// pkg-sp: answers \[OK, manifest `id`, manifest `ffa-version`, boot-info blob version\].
    pub const MANIFEST_ID: u32 = 0xC0DE_0102;
    /// Any SP with boot info: what a stock TS SP reads from its manifest copy. Answers \[OK,
    /// memory regions, how many of them carry `base-address`, the first one's `base-address`,
    /// device regions carrying `base-address`\]; \[NO_BOOT_INFO\] without boot info.
    pub const MANIFEST_BASE: u32 = 0xC0DE_0103;

    /// echo: a Trusted Services client of Protected Storage from the secure side. Request
    /// words: 1 = the PS partition's ID, 2 = UID, 3 = value (u64). echo shares one of its
    /// pages with that SP, and through TS RPC: MEM_RETRIEVE, SERVICE_INFO_GET(PS), SET the
    /// value as 8 bytes under the UID, GET it back, MEM_RELINQUISH; then reclaims the page.
    /// Response: \[OK, SET's PSA status, GET's PSA status, the value read, GET's length\], or
    /// \[UNEXPECTED_REPLY, step (1 retrieve, 2 service info, 3 set, 4 get, 5 relinquish), RPC
    /// status\] when the RPC layer failed, or \[FF-A error\].
    pub const TS_PS: u32 = 0xC0DE_0701;

    /// echo, fault, pkg-sp: what a stock C partition does with FP/SIMD (GCC spills q0-q7 in
    /// every variadic function, e.g. printf). Sets V0-V31 and FPCR from the seed in word 1
    /// (`sp_rt::cpu::fp_fill`); if word 2 names an SP, sends it FP_CHECK with seed !word1 and
    /// no target (REQ_64); then spills its registers and counts those that changed.
    /// Response: \[OK, own mismatches, target's status word, target's mismatches\].
    pub const FP_CHECK: u32 = 0xC0DE_0801;
    /// echo, fault, pkg-sp: reads CTR_EL0, DCZID_EL0, CNTFRQ_EL0, CNTVCT_EL0 at EL0 and zeroes
    /// heap bytes with DC ZVA. Response: \[OK, CTR_EL0, DCZID_EL0, CNTFRQ_EL0, bit 0 = the
    /// counter advanced between two reads, bit 1 = DC ZVA zeroed its blocks and nothing else\].
    pub const EL0_REGS: u32 = 0xC0DE_0802;
    /// echo, fault, pkg-sp: spins at EL0 until CNTVCT has advanced word 1 ticks (a busy
    /// partition for the interrupt cases). Response: \[OK, counter at start, counter at end\].
    pub const SPIN: u32 = 0xC0DE_0B01;
    /// echo: programs sbsa-ref's generic watchdog to raise WS0 (its secure interrupt, which
    /// echo owns) after word 1 ticks, then spins word 2 ticks (0: none) before answering.
    /// Response: \[OK, counter when armed, counter when the spin ended\].
    pub const WDOG_ARM: u32 = 0xC0DE_0B02;
    /// echo: what its interrupt handler saw. Response: \[OK, interrupts handled, ID of the
    /// last one, counter when the last was handled\].
    pub const WDOG_STATUS: u32 = 0xC0DE_0B03;
    /// fault: loops for ever inside the request (the SPMC's request time limit must abort
    /// it; partitions/stuck/layout.json gives it a short one). Never answered.
    pub const LOOP: u32 = 0xC0DE_0B04;

    /// every test SP: answers \[OK, the number of requests this instance of the SP has handled
    /// with its common commands, this one included\]. The count lives in its bss, so an SP
    /// restarted from its image (FF-A v1.3 `abort-action` = restart) starts again from 1.
    pub const SERVED: u32 = 0xC0DE_1001;
}

/// sbsa-ref's SBSA generic watchdog as echo drives it (QEMU hw/watchdog/sbsa_gwdt.c): the
/// refresh frame, then the control frame; WS0 is SPI 16, INTID 48.
pub mod watchdog {
    /// Refresh frame base (the device region echo's manifest names).
    pub const BASE: u64 = 0x5001_0000;
    /// Control frame (WCS at 0, WOR at 8).
    pub const CONTROL: u64 = BASE + 0x1000;
    /// WS0's interrupt ID.
    pub const WS0_INTID: u32 = 48;
}

/// Largest allocation `cmd::HEAP` makes.
pub const HEAP_TEST_MAX: u64 = 0x4_0000;

/// Relay treats every request as [`cmd::CALL`] with word 0 kept: target = word 1, the
/// target gets \[word 0, word 2, word 3, ...\]. So relays chain (each hop consumes one ID).
pub const RELAY_FORWARDS_EVERYTHING: bool = true;

/// Response word 0.
pub mod status {
    /// Done.
    pub const OK: u32 = 0;
    /// pkg-sp got no boot information (or no manifest in it).
    pub const NO_BOOT_INFO: u32 = 1;
    /// The RX buffer did not hold what FFA_PARTITION_INFO_GET reported.
    pub const BAD_RX: u32 = 2;
    /// The call got a reply that was neither success nor FFA_ERROR.
    pub const UNEXPECTED_REPLY: u32 = 3;
    /// Values with bit 31 set are FF-A status codes from FFA_ERROR, as 32-bit two's complement
    /// (0xFFFF_FFFA = DENIED, 0xFFFF_FFFC = BUSY, 0xFFFF_FFF8 = ABORTED, ...).
    pub const fn ffa_error(code: i32) -> u32 {
        code as u32
    }
}

/// The device region of the test SPs (fault's manifest `device-regions`): sbsa-ref's third
/// PL011, the "secure UART MM", which nothing else uses.
pub mod device {
    /// Base address of the region (one 4 KiB page).
    pub const BASE: u64 = 0x6004_0000;
    /// Byte offset of UARTPeriphID0; UARTPeriphID1..3 and UARTPCellID0..3 follow, one u32
    /// register each (PL011 TRM, "Peripheral identification registers").
    pub const PL011_ID_OFFSET: u64 = 0xFE0;
    /// The low bytes of those eight registers on a PL011 r1p5 as QEMU models it: PeriphID
    /// 0x11, 0x10, 0x14, 0x00 (part 0x011, designer Arm 0x41, revision 1), PCellID 0x0D, 0xF0,
    /// 0x05, 0xB1 (the PrimeCell preamble), packed with [`pack_low_bytes`]. Only a read that
    /// reaches the device gives these.
    pub const PL011_ID: u64 = pack_low_bytes([0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1]);
    /// Register `i`'s low byte becomes bits \[8i+7:8i\].
    pub const fn pack_low_bytes(regs: [u32; 8]) -> u64 {
        let mut v = 0u64;
        let mut i = 0;
        while i < 8 {
            v |= ((regs[i] & 0xFF) as u64) << (8 * i);
            i += 1;
        }
        v
    }
}

/// The power-loss test service of the `its-powercut` and `block-storage-powercut` SPs
/// (power-loss lane only, never in the default set): a TS RPC service that arms a cut of the
/// flash after a number of program or erase steps (ts-storage `CutAfter`); the SP then prints
/// [`power_cut::MARKER`] and stops, and xtask kills QEMU (docs/storage.md).
pub mod power_cut {
    /// Service UUID (made up for this project) of the control service, as four words in the
    /// order TS RPC's SERVICE_INFO_GET carries them (w4..w7, UUID bytes in order, little-endian
    /// words).
    pub const SERVICE_UUID_BYTES: [u8; 16] = [
        0x5f, 0x2a, 0x7c, 0x11, 0x9d, 0x3e, 0x4b, 0x6a, 0x8c, 0x1f, 0x0e, 0x7d, 0x3a, 0x9b, 0x2c,
        0x44,
    ];
    /// Opcode: arm the cut; the request is the step count (u64, little-endian).
    pub const OP_ARM: u16 = 1;
    /// Opcode (block-storage-powercut only): abort the partition now; its manifest has the
    /// SPMC restart it (`abort-action` = restart). No answer: the caller gets ABORTED.
    pub const OP_ABORT: u16 = 2;
    /// What the SP prints when it reaches the cut (then it spins until QEMU is killed).
    pub const MARKER: &str = "POWER CUT NOW";
}

/// Facts about the fault SP.
pub mod fault {
    /// An address in the free secure RAM range (memory map: 0x3000_0000..0x4000_0000) that
    /// no SP maps.
    pub const UNMAPPED_ADDR: u64 = 0x3F00_0000;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The manifests are the other place these numbers live: check they agree, so the test
    /// driver and the SPs cannot drift apart.
    fn manifest(sp: &str, file: &str) -> String {
        let path = format!("{}/../{sp}/{file}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn cells(dts: &str, name: &str) -> Vec<u32> {
        let line = dts
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with(name) && l[name.len()..].trim_start().starts_with('='))
            .unwrap_or_else(|| panic!("no {name}"));
        let inner = line.split('<').nth(1).unwrap().split('>').next().unwrap();
        inner
            .split_whitespace()
            .map(|c| u32::from_str_radix(c.trim_start_matches("0x"), 16).unwrap())
            .collect()
    }

    #[test]
    fn manifests_match_the_protocol_constants() {
        for (sp, file, id, uuid) in [
            ("echo", "echo.dts", id::ECHO, uuid::ECHO),
            ("relay", "relay.dts", id::RELAY, uuid::RELAY),
            ("fault", "fault.dts", id::FAULT, uuid::FAULT),
            ("pkg-sp", "pkg-sp.dts", id::PKG_SP, uuid::PKG_SP),
            ("its", "its.dts", id::ITS, uuid::TS_RPC),
            ("ps", "ps.dts", id::PS, uuid::TS_RPC),
            (
                "block-storage",
                "block-storage.dts",
                id::BLOCK_STORAGE,
                uuid::TS_RPC,
            ),
        ] {
            let dts = manifest(sp, file);
            assert_eq!(cells(&dts, "id"), vec![u32::from(id)], "{sp} id");
            let want = if sp == "fault" {
                uuid::FAULT_SERVICES.concat()
            } else {
                uuid.to_vec()
            };
            assert_eq!(cells(&dts, "uuid"), want, "{sp} uuid");
        }
    }

    #[test]
    fn pl011_id_packs_the_id_registers_low_bytes_first() {
        assert_eq!(device::PL011_ID, 0xB105_F00D_0014_1011);
        // Only the low byte of each register counts.
        assert_eq!(
            device::pack_low_bytes([0x1FF, 0, 0, 0, 0, 0, 0, 0x100]),
            0xFF
        );
    }

    #[test]
    fn fault_manifest_has_the_device_region() {
        let dts = manifest("fault", "fault.dts");
        let base = cells(&dts, "base-address")
            .iter()
            .fold(0u64, |a, c| a << 32 | u64::from(*c));
        assert_eq!(base, device::BASE, "fault's device region");
    }

    #[test]
    fn command_words_are_unique() {
        // Several branches add commands: two with one value would run the wrong handler.
        let src = include_str!("lib.rs");
        let mut seen = std::collections::BTreeMap::new();
        for line in src.lines().map(str::trim) {
            let Some(rest) = line.strip_prefix("pub const ") else {
                continue;
            };
            let Some((name, value)) = rest.split_once(": u32 = 0xC0DE_") else {
                continue;
            };
            if let Some(other) = seen.insert(value.to_string(), name.to_string()) {
                panic!("{name} and {other} are both 0xC0DE_{value}");
            }
        }
        assert!(seen.len() > 30, "only {} commands found", seen.len());
    }

    #[test]
    fn echo_manifest_has_the_watchdog_and_its_interrupt() {
        let dts = manifest("echo", "echo.dts");
        let base = cells(&dts, "base-address")
            .iter()
            .fold(0u64, |a, c| a << 32 | u64::from(*c));
        assert_eq!(base, watchdog::BASE, "echo's device region");
        assert_eq!(cells(&dts, "interrupts")[0], watchdog::WS0_INTID);
    }

    #[test]
    fn uuid_words_are_the_smccc_packing_of_the_textual_form() {
        // 2f2e7c3a-6c59-4b1e-9d8f-01ec40000001
        let bytes: [u8; 16] = [
            0x2f, 0x2e, 0x7c, 0x3a, 0x6c, 0x59, 0x4b, 0x1e, 0x9d, 0x8f, 0x01, 0xec, 0x40, 0x00,
            0x00, 0x01,
        ];
        let words: Vec<u32> = bytes
            .chunks(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(words, uuid::ECHO.to_vec());
    }

    #[test]
    fn command_codes_are_distinct_and_not_small() {
        let all = [
            cmd::ID,
            cmd::VERSION,
            cmd::PARTINFO,
            cmd::PARTINFO_REGS,
            cmd::LOG,
            cmd::PERM,
            cmd::CALL,
            cmd::WHO,
            cmd::INIT_PERMS,
            cmd::HEAP,
            cmd::FAULT_UNMAPPED_READ,
            cmd::FAULT_WRITE_TEXT,
            cmd::FAULT_TOUCH,
            cmd::FAULT_UNDEF,
            cmd::FAULT_PANIC,
            cmd::FAULT_STACK_OVERFLOW,
            cmd::MANIFEST_UUID,
            cmd::MANIFEST_ID,
            cmd::MEM_RW,
            cmd::SHARE,
            cmd::MEM_ACCESS,
            cmd::MEM_RELINQUISH,
            cmd::MEM_SEND,
            cmd::RAW_CALL,
            cmd::DEV_SEND,
            cmd::DEV_ACCESS,
            cmd::DEV_READ,
            cmd::TS_PS,
            cmd::FP_CHECK,
            cmd::EL0_REGS,
            cmd::MANIFEST_BASE,
            cmd::SEND_RANGES,
            cmd::FRAG_SHARE,
            cmd::SPIN,
            cmd::WDOG_ARM,
            cmd::WDOG_STATUS,
            cmd::SERVED,
            cmd::MSG_SEND2,
            cmd::MSG_READ,
            cmd::NOTIFY_BIND,
            cmd::NOTIFY_UNBIND,
            cmd::NOTIFY_SET,
            cmd::NOTIFY_GET,
            cmd::RUN_LOG,
            cmd::RUN_KEEP_RX,
        ];
        for (i, a) in all.iter().enumerate() {
            // Echo tests use small numbers; commands must never collide with them.
            assert!(*a > 0xFFFF);
            assert!(all[i + 1..].iter().all(|b| b != a));
        }
        assert_eq!(status::ffa_error(-6), 0xFFFF_FFFA);
    }
}
