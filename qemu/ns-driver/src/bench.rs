//! The benchmarks of `cargo xtask bench` (cargo feature `bench`): instead of the test cases, the
//! driver times FF-A operations from the normal world and prints one machine-readable line per
//! benchmark, then powers off (exit status = number of benchmarks that could not run).
//!
//! Method (docs/performance.md): QEMU runs with `-icount shift=0,sleep=off` and one core, so the
//! generic timer advances one tick per 16 instructions in every exception level and the PMU
//! cycle counter one count per instruction. Each operation is run N times and 2N times; the
//! difference divided by N is the cost of one operation, free of the timing code's own cost.
//! The cycle counter's filter (PMCCFILTR_EL0) also splits that cost by exception level: EL3
//! (the monitor), S-EL1 (the SPMC), S-EL0 (the SPs) and NS-EL2 (this driver's loop).
//!
//! Output, one line each (parsed by xtask/src/bench.rs):
//! `BENCH name=<id> insns_per_op=<CNTVCT diff * 16 / N> iterations=<N> pmu_per_op=<n>
//! el3=<n> sel1=<n> sel0=<n> nsel2=<n>` and, for the memory cycles, `share=<n> rr=<n>
//! reclaim=<n>` (the three calls timed one by one with the cycle counter). Trusted Services:
//! `ts_its_set_16`, `ts_its_get_16`, `ts_its_set_4096`, `ts_its_get_4096` (one TS RPC call to
//! the ITS partition over memory shared and retrieved once, the request written each time).
//! Notifications and indirect messages (bench/notify.rs): `notify_set_get`,
//! `msg_send2_round_trip`. Secure interrupts: `secure_interrupt_round_trip` (sbsa-ref's
//! watchdog interrupt, owned by echo, while this world runs: EL3, S-EL1 and S-EL0 instructions
//! from the interrupt to this world's resumption, counted with the cycle counter's filters).
//! A benchmark that
//! fails prints `BENCH name=<id> error=<why>`. Cold boot: `BENCH name=boot_to_nw
//! insns_per_op=<CNTVCT at entry * 16> iterations=1 partitions=<count>`.

use core::arch::asm;
use core::sync::atomic::{AtomicBool, Ordering};

use ffa_abi::endpoint::EndpointId;
use ffa_abi::memory::transaction::{builder_for, MemAccess, TransactionBuilder};
use ffa_abi::memory::{
    AccessPerms, Constituent, DataAccess, InstructionAccess, MemAttributes, MemHandle, PAGE_SIZE,
};
use ffa_abi::version::Version;
use ffa_abi::{FuncId, Regs};
use test_protocol::{cmd, id, status, uuid};

use crate::console::{bare_line, log};

// Notifications and indirect messages (issue 12).
mod notify;
use crate::ffa::{call, call_raw};
use crate::psci;

/// Instructions per CNTVCT tick under `-icount shift=0` (62.5 MHz counter, 1 ns/instruction).
const INSNS_PER_TICK: u64 = 16;

/// The SPMC's own endpoint (qemu/spmc-sbsa/spmc_manifest.dts), which echoes direct requests.
const SPMC_ID: EndpointId = EndpointId(0x8000);

/// This driver's RX/TX buffers: NS DRAM far above the driver's image and stacks
/// (0x100_0010_0000, 16 MiB), 2 pages each so that a 250-range descriptor fits whole.
const TX_BUF: u64 = 0x100_3000_0000;
const RX_BUF: u64 = 0x100_3000_4000;
const MAILBOX_PAGES: u64 = 2;
/// The pages shared with echo: NS DRAM at 1 GiB (QEMU runs with 2 GiB), up to 16 MiB used.
const SHARED_BASE: u64 = 0x100_4000_0000;

/// PMCCFILTR_EL0 bits (Arm ARM D17 "PMCCFILTR_EL0"): P (EL1), U (EL0), NSH (EL2 counted when
/// set), M (EL3 counted when M == P).
const FILT_P: u64 = 1 << 31;
const FILT_U: u64 = 1 << 30;
const FILT_NSH: u64 = 1 << 27;
const FILT_M: u64 = 1 << 26;

/// Which exception levels the cycle counter counts.
#[derive(Clone, Copy)]
enum Scope {
    All,
    El3,
    SecureEl1,
    SecureEl0,
    NsEl2,
}

impl Scope {
    const PARTS: [Scope; 4] = [Scope::El3, Scope::SecureEl1, Scope::SecureEl0, Scope::NsEl2];

    fn filter(self) -> u64 {
        match self {
            Scope::All => FILT_NSH,
            Scope::El3 => FILT_P | FILT_U | FILT_M,
            Scope::SecureEl1 => FILT_U | FILT_M,
            Scope::SecureEl0 => FILT_P,
            Scope::NsEl2 => FILT_P | FILT_U | FILT_NSH,
        }
    }
}

/// The counters: the thin architecture layer of the benchmarks.
mod counters {
    use super::asm;

    /// Reads CNTVCT_EL0 (the monitor sets CNTVOFF_EL2 = 0, so this is the count since reset).
    pub fn ticks() -> u64 {
        let v: u64;
        // SAFETY: reading CNTVCT_EL0 at EL2 has no side effects; the ISB keeps the read from
        // being taken early.
        unsafe { asm!("isb", "mrs {}, cntvct_el0", out(reg) v, options(nomem, nostack)) };
        v
    }

    /// Reads PMCCNTR_EL0.
    pub fn cycles() -> u64 {
        let v: u64;
        // SAFETY: reading PMCCNTR_EL0 has no side effects; EL3 does not trap PMU accesses
        // (qemu/monitor sets MDCR_EL3 = SPME only, checked by the foundation case
        // counters_run).
        unsafe { asm!("isb", "mrs {}, pmccntr_el0", out(reg) v, options(nomem, nostack)) };
        v
    }

    /// Enables the cycle counter (PMCR_EL0.E, PMCNTENSET_EL0.C) with `filter` in PMCCFILTR_EL0.
    pub fn start(filter: u64) {
        // SAFETY: these registers only control this core's PMU counting (no memory, no other
        // state); the driver is the only user of the PMU.
        unsafe {
            asm!(
                "msr pmccfiltr_el0, {f}",
                "mrs {t}, pmcr_el0",
                "orr {t}, {t}, #1",
                "msr pmcr_el0, {t}",
                "mov {t}, #(1 << 31)",
                "msr pmcntenset_el0, {t}",
                "isb",
                f = in(reg) filter, t = out(reg) _,
                options(nomem, nostack)
            )
        };
    }
}

/// Why a benchmark could not run.
type Why = heapless::String<96>;

fn why(args: core::fmt::Arguments) -> Why {
    use core::fmt::Write;
    let mut s = Why::new();
    let _ = s.write_fmt(args);
    s
}

/// One operation: run once, `Err` if FF-A refused it.
type Op<'a> = &'a mut dyn FnMut() -> Result<(), Why>;

/// Runs `op` `n` times; returns (ticks, cycles) spent.
///
/// Never inlined, so that every run of every benchmark (N and 2N, each counter filter) is this
/// one loop calling `op` through its vtable: inlined, each of `measure`'s ten calls could be
/// compiled differently, and was. At 2f10c12 the last one (the 2N run of the NS-EL2 part)
/// called `direct` out of line with a `Regs` copy while the others had it inlined, 124 more
/// driver instructions per operation in that run only, so dreq32_spmc's parts added up to
/// 1 213 against a total of 967 (docs/performance.md, "Why the per-level columns did not add
/// up").
#[inline(never)]
fn timed(n: u32, op: Op) -> Result<(u64, u64), Why> {
    let (t0, c0) = (counters::ticks(), counters::cycles());
    for _ in 0..n {
        op()?;
    }
    let (c1, t1) = (counters::cycles(), counters::ticks());
    Ok((t1 - t0, c1 - c0))
}

/// Cost per operation: the 2N run minus the N run, over N, rounded.
fn per_op(one: u64, two: u64, n: u32) -> u64 {
    let d = two.saturating_sub(one);
    (d + u64::from(n) / 2) / u64::from(n)
}

/// What [`measure`] found.
struct Result4 {
    insns: u64,
    pmu: u64,
    parts: [u64; 4],
}

/// Times `op` N and 2N times with every counter filter.
fn measure(n: u32, op: Op) -> Result<Result4, Why> {
    op()?; // warm up: first-use work (e.g. the SPMC's lazily built state) is not the cost
    counters::start(Scope::All.filter());
    let (t1, c1) = timed(n, &mut *op)?;
    let (t2, c2) = timed(2 * n, &mut *op)?;
    let mut parts = [0; 4];
    for (slot, scope) in parts.iter_mut().zip(Scope::PARTS) {
        counters::start(scope.filter());
        let (_, a) = timed(n, &mut *op)?;
        let (_, b) = timed(2 * n, &mut *op)?;
        *slot = per_op(a, b, n);
    }
    counters::start(Scope::All.filter());
    Ok(Result4 {
        insns: per_op(t1 * INSNS_PER_TICK, t2 * INSNS_PER_TICK, n),
        pmu: per_op(c1, c2, n),
        parts,
    })
}

/// Runs and prints one benchmark; returns false if it failed.
fn bench(name: &str, n: u32, op: Op) -> bool {
    if !selected(name) {
        return true;
    }
    match measure(n, op) {
        Ok(r) => {
            bare_line(format_args!(
                "BENCH name={name} insns_per_op={} iterations={n} pmu_per_op={} el3={} sel1={} sel0={} nsel2={}",
                r.insns, r.pmu, r.parts[0], r.parts[1], r.parts[2], r.parts[3]
            ));
            true
        }
        Err(e) => {
            bare_line(format_args!("BENCH name={name} error={e}"));
            false
        }
    }
}

/// One secure interrupt while this world runs, measured by exception level: echo arms sbsa-ref's
/// watchdog (its WS0 is echo's interrupt), then this world spins with no SMC until well past the
/// deadline, with the cycle counter counting one secure level (or EL3). What it counts is the
/// whole round trip the interrupt causes: EL3's FIQ entry and FFA_INTERRUPT to the SPMC, the
/// SPMC taking it and entering echo's handler, echo's FFA_MSG_WAIT, the unmask, and
/// FFA_NORMAL_WORLD_RESUME back through EL3. echo's interrupt count proves each one came.
fn secure_interrupt_bench(n: u32) -> bool {
    const FIRE_AFTER: u64 = 2000;
    if !selected("secure_interrupt_round_trip") {
        return true;
    }
    let status = || -> Result<u64, Why> {
        Ok(direct(Form::Req64, id::ECHO, &[u64::from(cmd::WDOG_STATUS)])?.x(4))
    };
    let one = |scope: Scope| -> Result<u64, Why> {
        let mut total = 0;
        for _ in 0..n {
            let before = status()?;
            let r = direct(
                Form::Req64,
                id::ECHO,
                &[u64::from(cmd::WDOG_ARM), FIRE_AFTER, 0],
            )?;
            let armed = r.x(4);
            counters::start(scope.filter());
            let c0 = counters::cycles();
            while counters::ticks() < armed + 4 * FIRE_AFTER {}
            total += counters::cycles() - c0;
            if status()? != before + 1 {
                return Err(why(format_args!("echo did not handle the interrupt")));
            }
        }
        Ok(total / u64::from(n))
    };
    let parts: Result<[u64; 3], Why> = (|| {
        Ok([
            one(Scope::El3)?,
            one(Scope::SecureEl1)?,
            one(Scope::SecureEl0)?,
        ])
    })();
    match parts {
        Ok(p) => {
            bare_line(format_args!(
                "BENCH name=secure_interrupt_round_trip insns_per_op={} iterations={n} el3={} sel1={} sel0={}",
                p[0] + p[1] + p[2],
                p[0],
                p[1],
                p[2]
            ));
            true
        }
        Err(e) => {
            bare_line(format_args!(
                "BENCH name=secure_interrupt_round_trip error={e}"
            ));
            false
        }
    }
}

/// The direct message forms.
#[derive(Clone, Copy)]
enum Form {
    Req32,
    Req64,
    Req2,
}

/// Sends one direct request from the normal world (ID 0) to `to` with payload `words`;
/// returns the response or why it is not one.
fn direct(form: Form, to: EndpointId, words: &[u64]) -> Result<Regs, Why> {
    let mut a = [0u64; 17];
    a[0] = u64::from(to);
    let (fid, first, resp) = match form {
        Form::Req32 => (FuncId::MsgSendDirectReq32, 2, FuncId::MsgSendDirectResp32),
        Form::Req64 => (FuncId::MsgSendDirectReq64, 2, FuncId::MsgSendDirectResp64),
        // x2/x3: the nil UUID (any service of the receiver).
        Form::Req2 => (FuncId::MsgSendDirectReq2, 3, FuncId::MsgSendDirectResp2),
    };
    for (slot, w) in a[first..].iter_mut().zip(words) {
        *slot = match form {
            Form::Req32 => *w & 0xFFFF_FFFF,
            _ => *w,
        };
    }
    let r = call(fid, &a);
    if r.w(0) == resp.raw() {
        Ok(r)
    } else {
        Err(why(format_args!(
            "direct request to {to:#x}: got {}",
            crate::ffa::Shown(&r)
        )))
    }
}

/// The first payload register of a response.
fn payload0(form: Form) -> usize {
    match form {
        Form::Req2 => 4,
        _ => 3,
    }
}

/// A round trip whose answer must carry `words[0]` back in its first payload register.
fn echo_op(form: Form, to: EndpointId, words: &[u64]) -> Result<(), Why> {
    let r = direct(form, to, words)?;
    if r.x(payload0(form)) != words[0] {
        return Err(why(format_args!(
            "payload not echoed: {:#x}",
            r.x(payload0(form))
        )));
    }
    Ok(())
}

/// A round trip through relay, which forwards to echo and answers [OK, echo's words...].
fn relay_op(form: Form) -> Result<(), Why> {
    let r = direct(form, id::RELAY, &[0x1234, u64::from(id::ECHO), 7])?;
    let p = payload0(form);
    if r.x(p) & 0xFFFF_FFFF != u64::from(status::OK) || r.x(p + 1) != 0x1234 {
        return Err(why(format_args!(
            "relay answered {:#x} {:#x}",
            r.x(p),
            r.x(p + 1)
        )));
    }
    Ok(())
}

/// The normal world's TX buffer. At most one `TxBuf` ever exists (`map_mailbox` makes it once),
/// and the bytes are reached only through `&mut self`, so no two slices of the buffer can be live.
struct TxBuf(());

/// Set when the one [`TxBuf`] has been made.
static TX_TAKEN: AtomicBool = AtomicBool::new(false);

impl TxBuf {
    /// The first `len` bytes of the buffer (at most its 2 pages), borrowed from `self`.
    fn bytes(&mut self, len: usize) -> &mut [u8] {
        let len = len.min((MAILBOX_PAGES * PAGE_SIZE) as usize);
        // SAFETY: TX_BUF..TX_BUF + 2 pages is non-secure DRAM (QEMU runs with 2 GiB from
        // 0x100_0000_0000) that nothing else in the driver uses (its image, data and stacks are
        // in 0x100_0010_0000..0x100_0110_0000), the EL2 MMU is off so the address is the PA,
        // `len` is within the buffer, and the slice borrows the only `TxBuf` (TX_TAKEN)
        // mutably, so it is the only reference to these bytes while it lives.
        unsafe { core::slice::from_raw_parts_mut(TX_BUF as *mut u8, len) }
    }
}

/// Maps the normal world's RX/TX pair (once) and returns the TX buffer.
fn map_mailbox() -> Result<TxBuf, Why> {
    if TX_TAKEN.swap(true, Ordering::Relaxed) {
        return Err(why(format_args!("the mailbox is already mapped")));
    }
    let r = call(FuncId::RxTxMap64, &[TX_BUF, RX_BUF, MAILBOX_PAGES]);
    if r.w(0) == FuncId::Success32.raw() || r.w(0) == FuncId::Success64.raw() {
        Ok(TxBuf(()))
    } else {
        Err(why(format_args!("FFA_RXTX_MAP: {}", crate::ffa::Shown(&r))))
    }
}

/// What a memory benchmark shares with echo.
#[derive(Clone, Copy)]
enum Shape {
    /// One range of this many pages.
    Contiguous(u32),
    /// This many one-page ranges, one page apart (no two can be merged).
    Scattered(usize),
}

impl Shape {
    /// Writes the constituents into `c`; returns how many.
    fn constituents(self, c: &mut [Constituent; 256]) -> usize {
        match self {
            Shape::Contiguous(pages) => {
                c[0] = Constituent {
                    address: SHARED_BASE,
                    page_count: pages,
                };
                1
            }
            Shape::Scattered(ranges) => {
                for (i, slot) in c.iter_mut().take(ranges).enumerate() {
                    *slot = Constituent {
                        address: SHARED_BASE + 2 * PAGE_SIZE * i as u64,
                        page_count: 1,
                    };
                }
                ranges.min(c.len())
            }
        }
    }
}

/// One memory benchmark.
struct MemCase {
    name: &'static str,
    shape: Shape,
    /// Largest fragment the sender writes (the TX buffer is 2 pages).
    frag: usize,
    /// Whether echo retrieves and relinquishes between share and reclaim.
    retrieve: bool,
    n: u32,
}

/// Per-call cycle counts accumulated over the timed iterations.
#[derive(Default)]
struct Calls {
    share: u64,
    rr: u64,
    reclaim: u64,
    count: u64,
}

fn is_success(r: &Regs) -> bool {
    r.w(0) == FuncId::Success32.raw() || r.w(0) == FuncId::Success64.raw()
}

/// FFA_MEM_SHARE of `b`'s descriptor, in fragments of at most `frag` bytes; returns the handle.
fn share(b: &TransactionBuilder, frag: usize, tx: &mut TxBuf) -> Result<MemHandle, Why> {
    let total = b
        .total_len()
        .map_err(|e| why(format_args!("descriptor: {e:?}")))?;
    let mut off = b
        .write_fragment(0, tx.bytes(frag))
        .map_err(|e| why(format_args!("descriptor: {e:?}")))?;
    let mut r = call(FuncId::MemShare32, &[total as u64, off as u64, 0, 0]);
    while r.w(0) == FuncId::MemFragRx.raw() {
        if r.w(3) as usize != off {
            return Err(why(format_args!(
                "FRAG_RX asks for offset {:#x}, sent {off:#x}",
                r.w(3)
            )));
        }
        let len = b
            .write_fragment(off, tx.bytes(frag))
            .map_err(|e| why(format_args!("descriptor: {e:?}")))?;
        off += len;
        r = call(
            FuncId::MemFragTx,
            &[u64::from(r.w(1)), u64::from(r.w(2)), len as u64, 0],
        );
    }
    if !is_success(&r) {
        return Err(why(format_args!(
            "FFA_MEM_SHARE: {}",
            crate::ffa::Shown(&r)
        )));
    }
    Ok(MemHandle::from_regs(r.w(2), r.w(3)))
}

/// One share -> retrieve -> relinquish -> reclaim cycle; adds each call's cycles to `calls`.
fn mem_cycle(
    c: &MemCase,
    b: &TransactionBuilder,
    pages: u64,
    calls: &mut Calls,
    tx: &mut TxBuf,
) -> Result<(), Why> {
    let c0 = counters::cycles();
    let handle = share(b, c.frag, tx)?;
    let c1 = counters::cycles();
    let (lo, hi) = handle.to_regs();
    // echo retrieves (asking for RW), writes 1 to the first page, relinquishes.
    let r = if c.retrieve {
        Some(direct(
            Form::Req32,
            id::ECHO,
            &[u64::from(cmd::MEM_RW), lo, hi, 0, 1],
        ))
    } else {
        None
    };
    let c2 = counters::cycles();
    let rc = call(FuncId::MemReclaim, &[lo, hi, 0]);
    let c3 = counters::cycles();
    if let Some(r) = r {
        let r = r?;
        if r.w(3) != status::OK || u64::from(r.w(5)) != pages {
            return Err(why(format_args!(
                "echo MEM_RW: status {:#x}, pages {}",
                r.w(3),
                r.w(5)
            )));
        }
    }
    if !is_success(&rc) {
        return Err(why(format_args!(
            "FFA_MEM_RECLAIM: {}",
            crate::ffa::Shown(&rc)
        )));
    }
    calls.share += c1 - c0;
    calls.rr += c2 - c1;
    calls.reclaim += c3 - c2;
    calls.count += 1;
    Ok(())
}

const HALF_PAGE: usize = PAGE_SIZE as usize / 2;
const TWO_PAGES: usize = 2 * PAGE_SIZE as usize;

fn mem_bench(c: &MemCase, tx: &mut TxBuf) -> bool {
    if !selected(c.name) {
        return true;
    }
    let mut cons = [Constituent {
        address: 0,
        page_count: 0,
    }; 256];
    let count = c.shape.constituents(&mut cons);
    let pages: u64 = cons[..count].iter().map(|k| u64::from(k.page_count)).sum();
    // Read-write; instruction access is the receiver's to ask for (the SPMC follows the
    // ACS and refuses a sender that names it).
    let perms = AccessPerms {
        data: DataAccess::ReadWrite,
        instruction: InstructionAccess::NotSpecified,
    };
    let receivers = [MemAccess::new(id::ECHO, perms)];
    let b = match builder_for(Version::V1_2, EndpointId(0), &receivers, &cons[..count]) {
        Ok(mut b) => {
            b.attributes = MemAttributes::NORMAL_WB_INNER;
            b
        }
        Err(e) => {
            bare_line(format_args!("BENCH name={} error=descriptor {e:?}", c.name));
            return false;
        }
    };
    let mut calls = Calls::default();
    let mut iteration = 0u64;
    // The per-call counts are only meaningful while the counter counts every level: keep
    // those of measure's N and 2N all-level runs (iterations 1..=3N; 0 is the warm-up).
    let mut op = || {
        let mut scratch = Calls::default();
        let acc = if (1..=3 * u64::from(c.n)).contains(&iteration) {
            &mut calls
        } else {
            &mut scratch
        };
        iteration += 1;
        mem_cycle(c, &b, pages, acc, tx)
    };
    match measure(c.n, &mut op) {
        Ok(r) => {
            let k = calls.count.max(1);
            bare_line(format_args!(
                "BENCH name={} insns_per_op={} iterations={} pmu_per_op={} el3={} sel1={} sel0={} nsel2={} share={} rr={} reclaim={} pages={pages} ranges={count}",
                c.name, r.insns, c.n, r.pmu, r.parts[0], r.parts[1], r.parts[2], r.parts[3],
                calls.share / k, calls.rr / k, calls.reclaim / k
            ));
            true
        }
        Err(e) => {
            bare_line(format_args!("BENCH name={} error={e}", c.name));
            false
        }
    }
}

/// Counts the partitions (FFA_PARTITION_INFO_GET, count only, for `uuid`; nil = all).
fn partition_count(u: [u32; 4]) -> u32 {
    let r = call(
        FuncId::PartitionInfoGet,
        &[
            u64::from(u[0]),
            u64::from(u[1]),
            u64::from(u[2]),
            u64::from(u[3]),
            1,
        ],
    );
    if is_success(&r) {
        r.w(2)
    } else {
        0
    }
}

/// Where the Trusted Services benchmarks' shared pages are: after the memory cases' 16 MiB.
const TS_SHARED: u64 = SHARED_BASE + 0x100_0000;
/// Pages shared with the ITS or PS partition (a 4 KiB object plus its request header).
const TS_PAGES: u32 = 2;

/// Writes `bytes` at `pa` in TS_SHARED, 8 bytes at a time (zero-padded).
fn ts_put(pa: u64, bytes: &[u8]) {
    for (i, c) in bytes.chunks(8).enumerate() {
        let mut w = [0u8; 8];
        w[..c.len()].copy_from_slice(c);
        let p = (pa + 8 * i as u64) as *mut u64;
        // SAFETY: callers stay inside TS_SHARED..+TS_PAGES pages (8-byte aligned offsets):
        // non-secure DRAM nothing else in the driver uses (above the memory benchmarks'
        // 16 MiB), MMU off so the address is the PA; volatile because the SP writes it too.
        unsafe { p.write_volatile(u64::from_le_bytes(w)) };
    }
}

/// One TS RPC exchange with the partition `sp` (REQ_32; w3..w7 in and out).
fn ts_rpc(sp: EndpointId, req: &ts_rpc::Request) -> Result<[u32; 5], Why> {
    let w = req.encode().map(u64::from);
    let r = direct(Form::Req32, sp, &w)?;
    Ok([r.w(3), r.w(4), r.w(5), r.w(6), r.w(7)])
}

/// A service call to `sp` over the shared pages; checks RPC and PSA success and the length.
fn ts_call(
    sp: EndpointId,
    iface: u8,
    handle: MemHandle,
    opcode: u16,
    len: usize,
    want: u32,
) -> Result<(), Why> {
    let r = ts_rpc(
        sp,
        &ts_rpc::Request::Call {
            interface: iface,
            opcode,
            handle: Some(handle),
            request_len: len as u32,
            client_id: 0,
        },
    )?;
    if r[1] != 0 || r[2] != 0 || r[3] != want {
        return Err(why(format_args!(
            "{sp:#06x} opcode {opcode:#x}: rpc {:#x} psa {:#x} len {:#x}",
            r[1], r[2], r[3]
        )));
    }
    Ok(())
}

/// ITS and PS SET and GET of 16 bytes and 4 KiB from the normal world, as a TS client does
/// it: the pages are shared and retrieved once (arm_tstee keeps its buffer registered), then
/// each call is one 32-bit direct request; a GET's header is rewritten each time (the
/// response overwrites it), which is the driver's own part (nsel2). A SET persists: the
/// service appends a record through block-storage (S-EL0 counts both SPs).
fn ts_benches(run: &mut dyn FnMut(bool), tx: &mut TxBuf) -> Result<(), Why> {
    ts_service_benches(
        run,
        tx,
        id::ITS,
        ts_rpc::abi::ITS_UUID,
        [
            "ts_its_set_16",
            "ts_its_get_16",
            "ts_its_set_4096",
            "ts_its_get_4096",
        ],
    )?;
    ts_service_benches(
        run,
        tx,
        id::PS,
        ts_rpc::abi::PS_UUID,
        [
            "ts_ps_set_16",
            "ts_ps_get_16",
            "ts_ps_set_4096",
            "ts_ps_get_4096",
        ],
    )
}

/// [`ts_benches`] for one service: `names` are SET 16, GET 16, SET 4096, GET 4096.
fn ts_service_benches(
    run: &mut dyn FnMut(bool),
    tx: &mut TxBuf,
    sp: EndpointId,
    uuid: ffa_abi::Uuid,
    names: [&'static str; 4],
) -> Result<(), Why> {
    if !names.iter().any(|n| selected(n)) {
        return Ok(());
    }
    use packed_c::secure_storage::{GetRequest, SetRequest, OP_GET, OP_SET};
    let perms = AccessPerms {
        data: DataAccess::ReadWrite,
        instruction: InstructionAccess::NotSpecified,
    };
    let receivers = [MemAccess::new(sp, perms)];
    let cons = [Constituent {
        address: TS_SHARED,
        page_count: TS_PAGES,
    }];
    let mut b = builder_for(Version::V1_2, EndpointId(0), &receivers, &cons)
        .map_err(|e| why(format_args!("descriptor: {e:?}")))?;
    b.attributes = MemAttributes::NORMAL_WB_INNER;
    let handle = share(&b, TWO_PAGES, tx)?;
    let r = ts_rpc(sp, &ts_rpc::Request::MemRetrieve { handle, tag: 0 })?;
    if r[1] != 0 {
        return Err(why(format_args!("MEM_RETRIEVE: {:#x}", r[1])));
    }
    let r = ts_rpc(sp, &ts_rpc::Request::ServiceInfoGet { uuid })?;
    if r[1] != 0 {
        return Err(why(format_args!("SERVICE_INFO_GET: {:#x}", r[1])));
    }
    let iface = r[2] as u8;
    for (size, uid) in [(16usize, 0xBE_0016u64), (4096, 0xBE_1000)] {
        // The SET request: 20-byte header, then the data.
        let mut data = [0u8; 4096];
        for (i, x) in data.iter_mut().enumerate() {
            *x = i as u8;
        }
        let mut req = [0u8; SetRequest::SIZE + 4096];
        let set = SetRequest {
            uid,
            data_length: size as u64,
            create_flags: 0,
        };
        let set_len = set
            .encode(&data[..size], &mut req)
            .ok_or_else(|| why(format_args!("SET request")))?;
        let mut get = [0u8; GetRequest::SIZE];
        GetRequest {
            uid,
            data_offset: 0,
            data_size: size as u64,
        }
        .encode(&mut get);
        let (set_name, get_name) = if size == 16 {
            (names[0], names[1])
        } else {
            (names[2], names[3])
        };
        run(bench(set_name, 50, &mut || {
            // SET answers no data: the request stays in place, but the benchmark writes it
            // each time like a client would.
            ts_put(TS_SHARED, &req[..set_len]);
            ts_call(sp, iface, handle, OP_SET, set_len, 0)
        }));
        run(bench(get_name, 50, &mut || {
            ts_put(TS_SHARED, &get);
            ts_call(sp, iface, handle, OP_GET, GetRequest::SIZE, size as u32)
        }));
    }
    let r = ts_rpc(sp, &ts_rpc::Request::MemRelinquish { handle })?;
    if r[1] != 0 {
        return Err(why(format_args!("MEM_RELINQUISH: {:#x}", r[1])));
    }
    let (lo, hi) = handle.to_regs();
    let r = call(FuncId::MemReclaim, &[lo, hi, 0]);
    if !is_success(&r) {
        return Err(why(format_args!("reclaim: {}", crate::ffa::Shown(&r))));
    }
    Ok(())
}

/// `ns_preempt_to_nw`: the latency from the normal world's timer firing while echo runs (a
/// SPIN request; echo is signalled) to the normal world having the CPU back with
/// FFA_INTERRUPT: FIQ to S-EL1, the SPMC's preemption and unwinding, EL3, the return to NS-EL2.
/// Measured directly, not by the N/2N difference: (CNTVCT at the return - the timer's compare
/// value) * 16, averaged over `n` requests. Each request is then taken to its end (FFA_RUN).
fn preempt_latency(n: u32) -> Result<u64, Why> {
    let mut total = 0;
    for _ in 0..n {
        crate::nsirq::enable();
        crate::nsirq::timer_start(2_000);
        let deadline = crate::nsirq::timer_deadline();
        let mut r = call(
            FuncId::MsgSendDirectReq64,
            &[id::ECHO.into(), 0, cmd::SPIN.into(), 20_000],
        );
        let back = counters::ticks();
        let intid = crate::nsirq::acknowledge();
        crate::nsirq::disable();
        if r.w(0) != FuncId::Interrupt32.raw() || intid != crate::nsirq::TIMER_INTID {
            return Err(why(format_args!(
                "want FFA_INTERRUPT and the timer, got {} and INTID {intid}",
                crate::ffa::Shown(&r)
            )));
        }
        total += back.saturating_sub(deadline) * INSNS_PER_TICK;
        while r.w(0) == FuncId::Interrupt32.raw() {
            r = call(FuncId::Run32, &[u64::from(r.w(1))]);
        }
        if r.w(0) != FuncId::MsgSendDirectResp64.raw() {
            return Err(why(format_args!(
                "after FFA_RUN: {}",
                crate::ffa::Shown(&r)
            )));
        }
    }
    Ok(total / u64::from(n))
}

/// One request in which echo yields once (RAW_CALL of FFA_YIELD) and FFA_RUN resumes it.
fn yield_run_op() -> Result<(), Why> {
    let y = call(
        FuncId::MsgSendDirectReq64,
        &[
            id::ECHO.into(),
            0,
            cmd::RAW_CALL.into(),
            FuncId::Yield32.raw().into(),
        ],
    );
    if y.w(0) != FuncId::Yield32.raw() {
        return Err(why(format_args!(
            "want FFA_YIELD: {}",
            crate::ffa::Shown(&y)
        )));
    }
    let r = call(FuncId::Run32, &[u64::from(y.w(1))]);
    if r.w(0) != FuncId::MsgSendDirectResp64.raw() || r.x(4) != u64::from(FuncId::Success32.raw()) {
        return Err(why(format_args!("FFA_RUN: {}", crate::ffa::Shown(&r))));
    }
    Ok(())
}

/// `cargo xtask bench` runs the image a second time with 4 cores and the run configuration
/// `case bench-smp4`: then only this runs. Every core sends [`crate::stress::RATE_REQUESTS`]
/// REQ_32 round trips at once, to the SPMC's endpoint, then each core to its own endpoint;
/// the figure is counted instructions (all four cores share the -icount clock) per answered
/// request.
fn four_core_rate() -> u64 {
    use crate::stress::{post, up_cores, JOBS, JOB_RATE, RATE_REQUESTS};
    for i in 1..4u64 {
        psci::cpu_on(i, crate::secondary::entry_point(), i);
    }
    let all_up = crate::arch::wait_until(10_000, || up_cores().len() >= 3);
    let up = up_cores();
    if !all_up {
        bare_line(format_args!(
            "BENCH name=rate4 error=only {} secondaries up",
            up.len()
        ));
        return 1;
    }
    let mut failed = 0;
    let own = [id::ECHO, id::PKG_SP, id::FAULT, SPMC_ID];
    for (name, targets) in [("rate4_spmc", [SPMC_ID; 4]), ("rate4_sp_per_core", own)] {
        let t0 = counters::ticks();
        let before: heapless::Vec<u32, 8> = up
            .iter()
            .enumerate()
            .map(|(k, &i)| post(i, JOB_RATE, u64::from(targets[k + 1])))
            .collect();
        crate::arch::sev();
        JOBS[0].arg.store(u64::from(targets[0]), Ordering::Release);
        JOBS[0].kind.store(JOB_RATE, Ordering::Release);
        crate::stress::run(0);
        let done = crate::arch::wait_until(60_000, || {
            up.iter()
                .zip(&before)
                .all(|(&i, &b)| JOBS[i].done.load(Ordering::Acquire) != b)
        });
        let t1 = counters::ticks();
        let cores = core::iter::once(0).chain(up.iter().copied());
        let (mut answered, mut busy, mut wrong) = (0u64, 0u64, 0u64);
        for c in cores {
            answered += u64::from(JOBS[c].exact[0].load(Ordering::Acquire));
            busy += u64::from(JOBS[c].busy.load(Ordering::Acquire));
            wrong += u64::from(JOBS[c].wrong.load(Ordering::Acquire));
        }
        let sent = u64::from(RATE_REQUESTS) * (up.len() as u64 + 1);
        if !done || wrong != 0 || answered + busy != sent || answered == 0 {
            bare_line(format_args!(
                "BENCH name={name} error=done {done}, {answered} answered, {busy} BUSY, {wrong} wrong of {sent}"
            ));
            failed += 1;
            continue;
        }
        bare_line(format_args!(
            "BENCH name={name} insns_per_op={} iterations={answered} busy={busy} cores={}",
            (t1 - t0) * INSNS_PER_TICK / answered,
            up.len() + 1
        ));
    }
    failed
}

/// The run configuration area as xtask wrote it into the image (main.rs `RUN_CONFIG`).
fn run_config_area() -> [u8; crate::run_config::AREA_SIZE] {
    // SAFETY: `&crate::RUN_CONFIG` is a reference to a live static byte array, so the pointer
    // is valid for a read of the whole array and aligned (u8); nothing writes it at run time
    // (it is not `mut` and has no interior mutability). The read is volatile so that the
    // compiler does not fold in the blank initialiser: xtask rewrites these bytes in the image
    // before QEMU loads it.
    unsafe { core::ptr::read_volatile(&crate::RUN_CONFIG) }
}

/// Whether the run configuration selects the benchmark `name`: `cargo xtask bench --only
/// PATTERN` writes the pattern as a case filter; without one every benchmark runs.
pub fn selected(name: &str) -> bool {
    crate::run_config::Config::parse(&run_config_area()).map_or(true, |c| c.selects(name))
}

/// Whether xtask asked for the 4-core run (run configuration line `case bench-smp4`).
fn smp4_run() -> bool {
    crate::run_config::Config::parse(&run_config_area())
        .map(|c| c.case_patterns().any(|p| p == "bench-smp4"))
        .unwrap_or(false)
}

/// Runs every benchmark and powers off (never returns; typed `()` so that `ns_main`'s case
/// code after the call is not flagged unreachable). Called first thing in `ns_main`, so that
/// the boot counter reading is taken at the driver's entry.
pub fn run() {
    let boot_ticks = counters::ticks();
    log!("benchmark mode (feature bench)");
    let version = crate::ffa::version(Version::V1_2.encode());
    let sps = partition_count([0; 4]);
    bare_line(format_args!(
        "BENCH name=boot_to_nw insns_per_op={} iterations=1 partitions={sps}",
        boot_ticks * INSNS_PER_TICK
    ));
    if smp4_run() {
        let failed = four_core_rate();
        bare_line(format_args!("BENCH done failed={failed}"));
        psci::system_off(failed)
    }
    let mut failed = 0u64;
    let mut run = |ok: bool| failed += u64::from(!ok);

    // The rest needs the default SP set; the boot-only images (0, 1, 8 SPs) stop here.
    let full = version == Version::V1_2.encode()
        && partition_count(uuid::ECHO) == 1
        && partition_count(uuid::RELAY) == 1;
    if full {
        run(bench("smccc_version_el3", 2000, &mut || {
            call_raw(psci::SMCCC_VERSION, &[]);
            Ok(())
        }));
        for (name, form) in [
            ("dreq32_spmc", Form::Req32),
            ("dreq64_spmc", Form::Req64),
            ("dreq2_spmc", Form::Req2),
        ] {
            run(bench(name, 1000, &mut || {
                echo_op(form, SPMC_ID, &[0x1234, 1, 2, 3, 4])
            }));
        }
        for (name, form) in [
            ("dreq32_echo", Form::Req32),
            ("dreq64_echo", Form::Req64),
            ("dreq2_echo", Form::Req2),
        ] {
            run(bench(name, 500, &mut || {
                echo_op(form, id::ECHO, &[0x1234, 1, 2, 3, 4])
            }));
        }
        for (name, form) in [
            ("dreq32_relay_echo", Form::Req32),
            ("dreq64_relay_echo", Form::Req64),
            ("dreq2_relay_echo", Form::Req2),
        ] {
            run(bench(name, 300, &mut || relay_op(form)));
        }
        run(secure_interrupt_bench(20));
        // Scheduling: a non-secure interrupt preempting a running SP until the normal world
        // runs, and a yield resumed with FFA_RUN (against the same request with a call that
        // does not leave the secure world: derived `yield_run_extra`).
        match selected("ns_preempt_to_nw").then(|| preempt_latency(20)) {
            None => {}
            Some(Ok(insns)) => bare_line(format_args!(
                "BENCH name=ns_preempt_to_nw insns_per_op={insns} iterations=20"
            )),
            Some(Err(e)) => {
                bare_line(format_args!("BENCH name=ns_preempt_to_nw error={e}"));
                run(false);
            }
        }
        run(bench("yield_run_echo", 200, &mut yield_run_op));
        run(bench("raw_id_get_echo", 200, &mut || {
            let r = direct(
                Form::Req64,
                id::ECHO,
                &[cmd::RAW_CALL.into(), FuncId::IdGet.raw().into()],
            )?;
            if r.x(4) != u64::from(FuncId::Success32.raw()) {
                return Err(why(format_args!("FFA_ID_GET from echo: {:#x}", r.x(4))));
            }
            Ok(())
        }));
        // SP-initiated memory sharing (works without the normal world's memory ABIs): echo
        // shares one page of its heap with fault, which retrieves, writes and relinquishes
        // it, and echo reclaims it. Compare with dreq32_relay_echo (the same two hops).
        run(bench("mem_sp_share_1", 100, &mut || {
            let r = direct(
                Form::Req32,
                id::ECHO,
                &[u64::from(cmd::SHARE), u64::from(id::FAULT), 0x77],
            )?;
            if r.w(3) != status::OK || r.w(4) != status::OK || r.w(6) != 0x77 {
                return Err(why(format_args!(
                    "echo SHARE: status {:#x}, fault's {:#x}, page after {:#x}",
                    r.w(3),
                    r.w(4),
                    r.w(6)
                )));
            }
            Ok(())
        }));
        match map_mailbox() {
            Ok(mut tx) => {
                let cases = [
                    // Share and reclaim alone: the SPMC's part of the pair, split by level.
                    MemCase {
                        name: "mem_share_reclaim_1",
                        shape: Shape::Contiguous(1),
                        frag: TWO_PAGES,
                        retrieve: false,
                        n: 50,
                    },
                    MemCase {
                        name: "mem_contig_1",
                        shape: Shape::Contiguous(1),
                        frag: TWO_PAGES,
                        retrieve: true,
                        n: 50,
                    },
                    MemCase {
                        name: "mem_contig_16",
                        shape: Shape::Contiguous(16),
                        frag: TWO_PAGES,
                        retrieve: true,
                        n: 50,
                    },
                    MemCase {
                        name: "mem_contig_256",
                        shape: Shape::Contiguous(256),
                        frag: TWO_PAGES,
                        retrieve: true,
                        n: 20,
                    },
                    MemCase {
                        name: "mem_contig_4096",
                        shape: Shape::Contiguous(4096),
                        frag: TWO_PAGES,
                        retrieve: true,
                        n: 5,
                    },
                    MemCase {
                        name: "mem_scatter_16",
                        shape: Shape::Scattered(16),
                        frag: TWO_PAGES,
                        retrieve: true,
                        n: 30,
                    },
                    MemCase {
                        name: "mem_scatter_64",
                        shape: Shape::Scattered(64),
                        frag: TWO_PAGES,
                        retrieve: true,
                        n: 20,
                    },
                    MemCase {
                        name: "mem_scatter_250",
                        shape: Shape::Scattered(250),
                        frag: TWO_PAGES,
                        retrieve: true,
                        n: 10,
                    },
                    // The same 250 ranges (a 4096-byte descriptor) sent in two 2 KiB
                    // fragments: MEM_SHARE, FRAG_RX, FRAG_TX.
                    MemCase {
                        name: "mem_scatter_250_frag",
                        shape: Shape::Scattered(250),
                        frag: HALF_PAGE,
                        retrieve: true,
                        n: 10,
                    },
                ];
                for c in &cases {
                    run(mem_bench(c, &mut tx));
                }
                notify::run(&mut run, &mut tx);
                // Trusted Services: ITS over TS RPC (needs the storage SPs of the default set).
                if partition_count(uuid::TS_RPC) >= 2 {
                    if let Err(e) = ts_benches(&mut run, &mut tx) {
                        bare_line(format_args!("BENCH name=ts_its error={e}"));
                        run(false);
                    }
                }
            }
            Err(e) => {
                bare_line(format_args!("BENCH name=mem error={e}"));
                run(false);
            }
        }
    } else {
        log!("boot-only image ({sps} partitions): no message or memory benchmarks");
    }
    bare_line(format_args!("BENCH done failed={failed}"));
    psci::system_off(failed)
}
