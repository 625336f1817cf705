//! The fake machine the dispatcher tests run on: sparse physical memory behind the `Env` seam,
//! and S-EL0 partitions emulated by Rust closures that see the registers the SPMC hands them and
//! answer with their next SVC (or a fault). Also builds leaked static partition tables.
//!
//! Writing a test:
//! - `sp(i)` gives a default partition for slot `i` (ID 0x8001 + i, v1.2, every direct
//!   messaging method, boot order i, image at `base(i)`, RW data region at
//!   `base(i) + DATA_OFFSET`, boot info at `base(i) + BOOT_INFO_OFFSET`, echo behaviour); edit
//!   its fields, or `patch` the generated table entry for anything else.
//! - Behaviours: `echo()`, `script(steps)` (one step per resume, then echo), `during_boot(calls)`,
//!   `during_request(calls)`, or any `Box<dyn FnMut(&Regs, &Memory) -> Act>`. A step may read
//!   and write physical memory (its TX buffer, say) through `Memory`.
//! - `World::boot(defs)` builds the table and boots; `World::new` does not boot. Then
//!   `w.nw(regs)` is one normal-world call; `w.seen(i)` lists x0-x17 at every resume of SP `i`
//!   (index 0 is its boot entry, then the result of each call it made or the message it got);
//!   `w.snapshot()` captures all per-endpoint SPMC state to prove a refused call changed nothing.
//! - Check answers with `assert_error`/`assert_success` (every other register must be zero) or
//!   by comparing whole `Regs`.

use crate::arch::{esr, Exit, UserRegs};
use crate::memory::{KernelLayout, PhysRange, PAGE_SIZE};
use crate::spmc::partition::{PendingRequest, State};
use crate::spmc::{Env, Mailbox, PlatformInfo, Spmc};
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use ffa_abi::error::ErrorCode;
use ffa_abi::func_id::FuncId;
use ffa_abi::regs::Regs;
use ffa_abi::version::Version;
use spmc_table::{
    BlobRange, BootInfoRegion, Capabilities, DeviceRegion, ExceptionLevel, ExecutionState,
    ImageRegion, Interrupt, InterruptAttributes, MemAttributes, MemoryRegion, MessagingMethod,
    NsInterruptsAction, Partition, PhysAddr, PowerMessages, RxTxBuffer, Service, Table, Uuid,
    XlatGranule, TABLE_MAGIC, TABLE_VERSION,
};
use std::collections::BTreeMap;

pub use spmc_table::EndpointId;

/// The SPMC's endpoint ID in every test.
pub const SPMC_ID: EndpointId = EndpointId(0x8000);
/// The IDs [`sp`] gives the partitions in slots 0..2 (0x8001 + slot).
pub const SP0: EndpointId = EndpointId(0x8001);
pub const SP1: EndpointId = EndpointId(0x8002);
pub const SP2: EndpointId = EndpointId(0x8003);

/// The ID [`sp`] gives the partition in slot `i`.
pub const fn sp_id(i: usize) -> EndpointId {
    EndpointId(0x8001 + i as u16)
}

/// Secure memory the SPs live in (the alias window reaches it).
pub const POOL: PhysRange = PhysRange {
    base: 0x2000_0000,
    size: 0x100_0000,
};
/// Non-secure memory the normal world may name (its RX/TX buffers).
pub const NS: PhysRange = PhysRange {
    base: 0x8000_0000,
    size: 0x10_0000,
};
/// Secure memory outside the SP pool and outside the alias window.
pub const SECURE_ELSEWHERE: u64 = 0x3000_0000;
/// What unwritten memory reads as: never zero, so that missing zeroing shows.
pub const POISON: u8 = 0xA5;

/// Per-SP layout: image region, boot-info region and a data region inside a 1 MiB slot.
pub const SLOT: u64 = 0x10_0000;
pub const IMAGE_SIZE: u64 = 0x4000;
pub const ENTRY_OFFSET: u64 = 0x10;
pub const DATA_OFFSET: u64 = 0x4_0000;
pub const DATA_PAGES: u32 = 2;
pub const BOOT_INFO_OFFSET: u64 = 0x8_0000;
pub const IMAGE_LEN: usize = 0x80;

static SECURE_ALIAS: [PhysRange; 1] = [POOL];
static NS_ALIAS: [PhysRange; 1] = [NS];
/// Secure memory the fake platform's EL3 keeps, just above the kernel image.
pub const EL3: PhysRange = PhysRange {
    base: 0x1000_8000,
    size: 0x8000,
};
static EL3_RESERVED: [PhysRange; 1] = [EL3];

/// The platform every test uses: a tiny kernel, the pool and the NS window.
pub fn platform() -> PlatformInfo {
    PlatformInfo {
        name: "fake",
        layout: KernelLayout {
            text: PhysRange {
                base: 0x1000_0000,
                size: 0x1000,
            },
            rodata: PhysRange {
                base: 0x1000_1000,
                size: 0x1000,
            },
            data: PhysRange {
                base: 0x1000_2000,
                size: 0x2000,
            },
            devices: &[],
            secure_alias: &SECURE_ALIAS,
            ns_alias: &NS_ALIAS,
            guards: &[],
            el3_reserved: &EL3_RESERVED,
        },
        ns_memory: &NS_ALIAS,
        memory_limits: crate::spmc::memory::DEFAULT_LIMITS,
        el3_registers: crate::spmc::El3Registers::TfA2_14,
        time_limits: crate::spmc::time_limit::Defaults::NONE,
    }
}

/// Physical memory: 4 KiB pages created on first write; only the alias window is reachable.
pub struct Memory {
    pages: RefCell<BTreeMap<u64, Box<[u8; 0x1000]>>>,
}

impl Memory {
    fn reachable(pa: u64, len: usize) -> bool {
        let len = len as u64;
        POOL.contains(pa, len) || NS.contains(pa, len)
    }

    /// Reads `buf.len()` bytes at `pa`; false outside the alias window.
    pub fn read(&self, pa: u64, buf: &mut [u8]) -> bool {
        if !Self::reachable(pa, buf.len()) {
            return false;
        }
        let pages = self.pages.borrow();
        for (i, b) in buf.iter_mut().enumerate() {
            let a = pa + i as u64;
            *b = pages
                .get(&(a & !(PAGE_SIZE - 1)))
                .map_or(POISON, |p| p[(a % PAGE_SIZE) as usize]);
        }
        true
    }

    /// Writes `data` at `pa`; false outside the alias window.
    pub fn write(&self, pa: u64, data: &[u8]) -> bool {
        if !Self::reachable(pa, data.len()) {
            return false;
        }
        let mut pages = self.pages.borrow_mut();
        for (i, b) in data.iter().enumerate() {
            let a = pa + i as u64;
            let page = pages
                .entry(a & !(PAGE_SIZE - 1))
                .or_insert_with(|| Box::new([POISON; 0x1000]));
            page[(a % PAGE_SIZE) as usize] = *b;
        }
        true
    }

    /// Returns `len` bytes at `pa` (panics outside the window: a test bug).
    pub fn bytes(&self, pa: u64, len: usize) -> Vec<u8> {
        let mut v = alloc::vec![0; len];
        assert!(
            self.read(pa, &mut v),
            "test reads unreachable memory {pa:#x}"
        );
        v
    }

    /// Every page that was ever written, in address order.
    pub fn written_pages(&self) -> Vec<u64> {
        self.pages.borrow().keys().copied().collect()
    }

    /// Reads a little-endian u32.
    pub fn u32_at(&self, pa: u64) -> u32 {
        u32::from_le_bytes(self.bytes(pa, 4).try_into().unwrap())
    }

    /// Reads a little-endian u64.
    pub fn u64_at(&self, pa: u64) -> u64 {
        u64::from_le_bytes(self.bytes(pa, 8).try_into().unwrap())
    }
}

/// What an emulated partition does next.
pub enum Act {
    /// Traps with SVC #0 after writing x0-x17.
    Svc(Regs),
    /// Traps with `SVC #imm` after writing x0-x17.
    SvcImm { imm: u16, regs: Regs },
    /// Takes a synchronous exception of class `ec` (e.g. a data abort) at `far`.
    Fault { ec: u64, far: u64 },
    /// Takes an instruction abort at `pc` (a jump there, e.g. by an image linked elsewhere).
    FaultAtPc { pc: u64 },
    /// An IRQ interrupts it; it resumes with the same registers.
    Irq,
    /// Secure interrupt `intid` becomes pending on the GIC and its IRQ interrupts the
    /// partition, which resumes with the same registers.
    Interrupt(u32),
    /// Runs `ms` milliseconds of the fake clock without making a call (a loop), then an IRQ
    /// stops it (the SPMC's timer, if its deadline passed; otherwise nothing is pending).
    Spin(u64),
    /// An FIQ interrupts it (a non-secure interrupt, as a GICv3 signals one in Secure state).
    /// The fake takes it whatever PSTATE.F says; `FakeEnv::spsrs` shows what the SPMC set.
    Fiq,
    /// An SError.
    SError,
    /// A Group 0 interrupt becomes pending and its FIQ interrupts the partition, which resumes
    /// with the same registers once EL3 handled it.
    Group0,
}

/// The behaviour of one partition: given x0-x17 as the SPMC resumes it (the boot arguments,
/// a message, or the result of its last call), what it does next.
pub type Behaviour = Box<dyn FnMut(&Regs, &Memory) -> Act>;

struct Slot {
    image: PhysRange,
    behaviour: Behaviour,
    /// x0-x17 at every resume, in order.
    seen: Rc<RefCell<Vec<Regs>>>,
    /// Full user registers at the first resume (boot entry).
    entry: Rc<RefCell<Option<UserRegs>>>,
    ttbr0: Option<u64>,
}

/// The fake machine.
pub struct FakeEnv {
    pub mem: Memory,
    slots: Vec<Slot>,
    /// Slot index of every run_user call, in order.
    pub runs: Vec<usize>,
    /// SPSR_EL1 the SPMC entered each run with, in the order of `runs`.
    pub spsrs: Vec<u64>,
    /// ASIDs whose TLB entries were invalidated, in order.
    pub tlb: RefCell<Vec<u16>>,
    /// Ranges made visible to instruction fetch: (pa, len, number of runs before).
    pub icache: RefCell<Vec<(u64, u64, usize)>>,
    /// Number of times `write_phys` was called (used to prove that refused calls write nothing).
    pub writes: RefCell<usize>,
    /// Secure interrupts pending at the fake GIC, taken in order by `interrupt_take`.
    pub gic_pending: alloc::collections::VecDeque<u32>,
    /// Interrupts taken (so masked), in order.
    pub gic_taken: Vec<u32>,
    /// Interrupts unmasked again, with the core they were taken on, in order.
    pub gic_unmasked: Vec<(u32, usize)>,
    /// The core the SPMC runs on (`Env::core`).
    pub core: usize,
    /// The fake counter (1000 ticks per millisecond); `Act::Spin` advances it.
    pub now: u64,
    /// Where the SPMC's timer is set, and every value it was set to, in order.
    pub deadline: Option<u64>,
    pub deadlines: Vec<Option<u64>>,
    /// Taking the timer's interrupt masked it.
    pub timer_masked: bool,
    /// Non-secure SGIs raised (the schedule-receiver interrupt), in order.
    pub sgis: RefCell<Vec<u32>>,
    /// A Group 0 interrupt is pending (`Act::Group0`) until FFA_EL3_INTR_HANDLE.
    pub group0_pending: bool,
    /// FFA_EL3_INTR_HANDLE calls to EL3.
    pub el3_intr_handled: u32,
    /// Runs after every `read_phys` (address, length): another core of the normal world
    /// writing its buffers while the SPMC works on them.
    pub after_read: RefCell<Option<AfterRead>>,
}

/// A hook run after every `read_phys` (see [`FakeEnv::after_read`]).
pub type AfterRead = Box<dyn FnMut(&Memory, u64, usize)>;

/// The fake SPMC timer's interrupt ID (the secure physical timer's PPI).
pub const TIMER_INTID: u32 = 29;

impl Env for FakeEnv {
    fn interrupt_take(&mut self) -> Option<u32> {
        // The timer is a level interrupt: pending while its deadline has passed, until taking
        // it masks it (as CNTPS_CTL_EL1.IMASK does) and the next deadline_swap unmasks it.
        if !self.timer_masked && self.deadline.is_some_and(|d| self.now >= d) {
            self.timer_masked = true;
            self.gic_taken.push(TIMER_INTID);
            return Some(TIMER_INTID);
        }
        let id = self.gic_pending.pop_front()?;
        self.gic_taken.push(id);
        Some(id)
    }

    fn timer_intid(&self) -> Option<u32> {
        Some(TIMER_INTID)
    }

    fn now(&self) -> u64 {
        self.now
    }

    fn ticks_per_ms(&self) -> u64 {
        1000
    }

    fn deadline_swap(&mut self, deadline: Option<u64>) -> Option<u64> {
        self.timer_masked = false;
        self.deadlines.push(deadline);
        core::mem::replace(&mut self.deadline, deadline)
    }

    fn deadline(&self) -> Option<u64> {
        self.deadline
    }

    fn interrupt_unmask(&mut self, intid: u32, core: usize) {
        self.gic_unmasked.push((intid, core));
    }

    fn run_user(&mut self, regs: &mut UserRegs, ttbr0: u64) -> Exit {
        let idx = self
            .slots
            .iter()
            .position(|s| s.image.contains(regs.pc, 4))
            .unwrap_or_else(|| panic!("SPMC resumed pc {:#x}, no partition there", regs.pc));
        self.runs.push(idx);
        self.spsrs.push(regs.spsr);
        // A scripted partition that never ends its run would hang the test: fail instead.
        assert!(
            self.runs.len() < 100_000,
            "partitions keep running: livelock"
        );
        let slot = &mut self.slots[idx];
        // A partition always runs in the same address space.
        assert_eq!(
            *slot.ttbr0.get_or_insert(ttbr0),
            ttbr0,
            "TTBR0 of SP changed"
        );
        slot.entry.borrow_mut().get_or_insert_with(|| regs.clone());
        let mut incoming = Regs::ZERO;
        incoming.0.copy_from_slice(&regs.x[..18]);
        slot.seen.borrow_mut().push(incoming);
        match (slot.behaviour)(&incoming, &self.mem) {
            Act::Svc(out) => {
                regs.x[..18].copy_from_slice(&out.0);
                Exit::Sync {
                    esr: esr::EC_SVC64 << esr::EC_SHIFT,
                    far: 0,
                }
            }
            Act::SvcImm { imm, regs: out } => {
                regs.x[..18].copy_from_slice(&out.0);
                Exit::Sync {
                    esr: (esr::EC_SVC64 << esr::EC_SHIFT) | u64::from(imm),
                    far: 0,
                }
            }
            Act::Fault { ec, far } => Exit::Sync {
                esr: ec << esr::EC_SHIFT,
                far,
            },
            Act::FaultAtPc { pc } => {
                regs.pc = pc;
                Exit::Sync {
                    esr: esr::EC_IABT_LOWER << esr::EC_SHIFT,
                    far: pc,
                }
            }
            Act::Irq => Exit::Irq,
            Act::Interrupt(id) => {
                self.gic_pending.push_back(id);
                Exit::Irq
            }
            Act::Spin(ms) => {
                self.now += ms * 1000;
                Exit::Irq
            }
            Act::Fiq => Exit::Fiq,
            Act::Group0 => {
                self.group0_pending = true;
                Exit::Fiq
            }
            Act::SError => Exit::SError { esr: 0xBF00_0000 },
        }
    }

    fn read_phys(&self, pa: u64, buf: &mut [u8]) -> bool {
        let ok = self.mem.read(pa, buf);
        if let Some(f) = self.after_read.borrow_mut().as_mut() {
            f(&self.mem, pa, buf.len());
        }
        ok
    }

    fn write_phys(&self, pa: u64, data: &[u8]) -> bool {
        *self.writes.borrow_mut() += 1;
        self.mem.write(pa, data)
    }

    fn sync_icache(&self, pa: u64, len: u64) {
        self.icache.borrow_mut().push((pa, len, self.runs.len()));
    }

    fn tlb_invalidate_asid(&self, asid: u16) {
        self.tlb.borrow_mut().push(asid);
    }

    fn core(&self) -> usize {
        self.core
    }

    fn raise_ns_sgi(&self, intid: u32) {
        self.sgis.borrow_mut().push(intid);
    }

    fn group0_pending(&self) -> bool {
        self.group0_pending
    }

    fn el3_intr_handle(&mut self) -> bool {
        self.group0_pending = false;
        self.el3_intr_handled += 1;
        true
    }
}

// ---------------------------------------------------------------------------------------------
// Register blocks.

/// A call: x0 = `f`, x1.. = `args`.
pub fn call(f: FuncId, args: &[u64]) -> Regs {
    let mut r = Regs::ZERO;
    r.0[0] = f.raw().into();
    r.0[1..=args.len()].copy_from_slice(args);
    r
}

/// x1 of a direct message.
pub fn pair(src: EndpointId, dst: EndpointId) -> u64 {
    (u64::from(src.0) << 16) | u64::from(dst.0)
}

pub fn msg_wait() -> Regs {
    call(FuncId::MsgWait32, &[])
}

pub fn req32(src: EndpointId, dst: EndpointId, args: [u32; 5]) -> Regs {
    let mut r = call(FuncId::MsgSendDirectReq32, &[pair(src, dst), 0]);
    for (i, a) in args.iter().enumerate() {
        r.0[3 + i] = (*a).into();
    }
    r
}

pub fn req64(src: EndpointId, dst: EndpointId, args: [u64; 5]) -> Regs {
    let mut r = call(FuncId::MsgSendDirectReq64, &[pair(src, dst), 0]);
    r.0[3..8].copy_from_slice(&args);
    r
}

pub fn req2(src: EndpointId, dst: EndpointId, uuid: [u64; 2], args: [u64; 14]) -> Regs {
    let mut r = call(
        FuncId::MsgSendDirectReq2,
        &[pair(src, dst), uuid[0], uuid[1]],
    );
    r.0[4..18].copy_from_slice(&args);
    r
}

pub fn resp32(src: EndpointId, dst: EndpointId, args: [u32; 5]) -> Regs {
    let mut r = req32(src, dst, args);
    r.0[0] = FuncId::MsgSendDirectResp32.raw().into();
    r
}

/// The direct response that echoes request `r` (same form and width, arguments unchanged).
pub fn echo_of(r: &Regs) -> Option<Regs> {
    let f = FuncId::try_from(r.w(0)).ok()?;
    let resp = match f {
        FuncId::MsgSendDirectReq32 => FuncId::MsgSendDirectResp32,
        FuncId::MsgSendDirectReq64 => FuncId::MsgSendDirectResp64,
        FuncId::MsgSendDirectReq2 => FuncId::MsgSendDirectResp2,
        _ => return None,
    };
    let mut out = *r;
    out.0[0] = resp.raw().into();
    out.0[1] = pair(EndpointId(r.w(1) as u16), EndpointId((r.w(1) >> 16) as u16));
    if f == FuncId::MsgSendDirectReq2 {
        out.0[2] = 0;
        out.0[3] = 0;
    } else if f == FuncId::MsgSendDirectReq32 {
        for x in &mut out.0[3..8] {
            *x &= 0xFFFF_FFFF;
        }
    }
    // Registers outside the message are zero in the response.
    let used = if f == FuncId::MsgSendDirectReq2 {
        18
    } else {
        8
    };
    for x in &mut out.0[used..] {
        *x = 0;
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// Behaviours.

/// Answers every direct request by echoing it; anything else (boot, results) is MSG_WAIT.
pub fn echo() -> Behaviour {
    Box::new(|r, _| Act::Svc(echo_of(r).unwrap_or_else(msg_wait)))
}

/// One step of a script: gets the registers the SP was resumed with.
pub type Step = Box<dyn FnMut(&Regs, &Memory) -> Act>;

/// Finishes initialisation, then never makes another call: whatever it is entered for next (a
/// request, an interrupt) it spins in, 100 ms of the fake clock per resume, until aborted.
pub fn waits_then_loops() -> Behaviour {
    let mut booted = false;
    Box::new(move |_, _| {
        if core::mem::replace(&mut booted, true) {
            Act::Spin(100)
        } else {
            Act::Svc(msg_wait())
        }
    })
}

/// Runs `steps` one per resume, then behaves like [`echo`].
pub fn script(steps: Vec<Step>) -> Behaviour {
    let mut steps = steps.into_iter();
    let mut rest = echo();
    Box::new(move |r, m| match steps.next() {
        Some(mut s) => s(r, m),
        None => rest(r, m),
    })
}

/// A step that makes the call `c`.
pub fn svc(c: Regs) -> Step {
    Box::new(move |_, _| Act::Svc(c))
}

/// A step that faults with a data abort at `far`.
pub fn data_abort(far: u64) -> Step {
    Box::new(move |_, _| Act::Fault {
        ec: esr::EC_DABT_LOWER,
        far,
    })
}

/// Makes the calls `calls` during initialisation, then finishes it and echoes.
pub fn during_boot(calls: Vec<Regs>) -> Behaviour {
    let mut steps: Vec<Step> = calls.into_iter().map(svc).collect();
    steps.push(svc(msg_wait()));
    script(steps)
}

/// Finishes initialisation; on the first request makes the calls `calls`, then answers that
/// request with a 32-bit response whose w3 is the error code (or 0) of the last call.
pub fn during_request(calls: Vec<Regs>) -> Behaviour {
    let mut steps: Vec<Step> = alloc::vec![svc(msg_wait())];
    let req = Rc::new(RefCell::new(Regs::ZERO));
    let n = calls.len();
    for (i, c) in calls.into_iter().enumerate() {
        let req = req.clone();
        steps.push(Box::new(move |r, _| {
            if i == 0 {
                *req.borrow_mut() = *r;
            }
            Act::Svc(c)
        }));
    }
    steps.push(Box::new(move |r, _| {
        let q = if n == 0 { *r } else { *req.borrow() };
        let (src, dst) = (EndpointId((q.w(1) >> 16) as u16), EndpointId(q.w(1) as u16));
        Act::Svc(resp32(dst, src, [r.w(2), 0, 0, 0, 0]))
    }));
    script(steps)
}

// ---------------------------------------------------------------------------------------------
// Partition tables.

/// An edit applied to a generated table entry.
pub type Patch = Box<dyn Fn(&mut Partition)>;

/// What a test partition looks like; `sp(i)` gives defaults for slot `i`.
pub struct SpDef {
    pub name: &'static str,
    pub id: EndpointId,
    pub uuids: Vec<[u8; 16]>,
    pub version: Version,
    pub messaging: u32,
    pub boot_order: Option<u16>,
    pub direct_to: Vec<EndpointId>,
    pub memory_regions: Vec<MemoryRegion>,
    pub rx_tx: Option<RxTxBuffer>,
    pub gp: Option<u8>,
    pub exec_ctx: u16,
    pub notifications: bool,
    pub vm_availability: u32,
    pub state: ExecutionState,
    pub image_len: usize,
    pub behaviour: Behaviour,
    /// Last edits to the table entry (for fields the defaults do not cover).
    pub patch: Option<Patch>,
}

impl SpDef {
    /// `self` with `f` applied to its table entry after any edit it already has.
    pub fn patched(mut self, f: impl Fn(&mut Partition) + 'static) -> Self {
        let old = self.patch.take();
        self.patch = Some(Box::new(move |p| {
            if let Some(o) = &old {
                o(p);
            }
            f(p);
        }));
        self
    }
}

/// The watchdog-like SPI the interrupt and time-limit tests use (sbsa-ref's generic watchdog
/// WS0 is 48).
pub const WDOG: u32 = 48;

/// `d` with a device region carrying the secure interrupts `ids` (level SPIs, priority 0x20)
/// and the grant to use them.
pub fn owning(d: SpDef, ids: &'static [u32]) -> SpDef {
    /// Secure, level, SPI, priority 0x20.
    const ATTR: u32 = 0x20 | (1 << 8) | (1 << 9) | (0b10 << 10);
    let irqs: &'static [Interrupt] = Box::leak(
        ids.iter()
            .map(|&id| Interrupt {
                id,
                attributes: InterruptAttributes(ATTR),
                target_mpidr: None,
            })
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    );
    let regions: &'static [DeviceRegion] = Box::leak(Box::new([DeviceRegion {
        name: "wdog",
        base: PhysAddr(0x5001_0000),
        pages: 2,
        attributes: MemAttributes(MemAttributes::READ | MemAttributes::WRITE),
        interrupts: irqs,
        exclusive_access: false,
    }]));
    d.patched(move |p| {
        p.device_regions = regions;
        p.capabilities.interrupts = ids;
    })
}

/// A UUID whose 16 bytes all differ (so byte-order mistakes show), starting with `b`.
pub fn uuid(b: u8) -> [u8; 16] {
    core::array::from_fn(|k| b.wrapping_add((k as u8).wrapping_mul(0x11)))
}

/// Messaging: receives and sends REQ and REQ2.
pub const ALL_DIRECT: u32 = MessagingMethod::DIRECT_REQ_RECV
    | MessagingMethod::DIRECT_REQ_SEND
    | MessagingMethod::DIRECT_REQ2_RECV
    | MessagingMethod::DIRECT_REQ2_SEND;

/// Base address of slot `i`.
pub const fn base(i: usize) -> u64 {
    POOL.base + i as u64 * SLOT
}

/// Defaults for the partition in slot `i`: ID 0x8001 + i, UUID `uuid(0x10 + i)`, v1.2, every
/// direct messaging method, boot order i, one RW data region, echo behaviour.
pub fn sp(i: usize) -> SpDef {
    SpDef {
        name: Box::leak(alloc::format!("sp{i}").into_boxed_str()),
        id: sp_id(i),
        uuids: alloc::vec![uuid(0x10 + i as u8)],
        version: Version::V1_2,
        messaging: ALL_DIRECT,
        boot_order: Some(i as u16),
        direct_to: Vec::new(),
        memory_regions: alloc::vec![data_region(i, DATA_OFFSET, DATA_PAGES, 0x3)],
        rx_tx: None,
        gp: Some(0),
        exec_ctx: 1,
        notifications: false,
        vm_availability: 0,
        state: ExecutionState::AArch64,
        image_len: IMAGE_LEN,
        behaviour: echo(),
        patch: None,
    }
}

/// A memory region of slot `i` at `offset` with the table's attribute bits.
pub fn data_region(i: usize, offset: u64, pages: u32, attributes: u32) -> MemoryRegion {
    MemoryRegion {
        name: "data",
        description: "",
        base: PhysAddr(base(i) + offset),
        pages,
        attributes: MemAttributes(attributes),
        in_image: false,
        nobits: false,
    }
}

fn leak<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

/// The fake image of slot `i`: a recognisable pattern.
pub fn image_bytes(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|k| (k as u8) ^ (0x40 + i as u8)).collect()
}

/// The fake manifest DTB of slot `i` (the kernel copies it, never parses it).
pub fn dtb_bytes(i: usize) -> Vec<u8> {
    let mut v = alloc::vec![0xD0, 0x0D, 0xFE, 0xED];
    v.extend_from_slice(b"fake manifest of slot ");
    v.push(b'0' + i as u8);
    v.resize(0x30, 0xEE);
    v
}

/// A test world: the SPMC over a leaked table, and the fake machine running its partitions.
pub struct World {
    pub spmc: Spmc,
    pub env: FakeEnv,
    seen: Vec<Rc<RefCell<Vec<Regs>>>>,
    entry: Vec<Rc<RefCell<Option<UserRegs>>>>,
}

impl World {
    /// Builds the table and the SPMC (v1.2, ID 0x8000) without booting anything.
    pub fn new(defs: Vec<SpDef>) -> Self {
        Self::build(defs, true)
    }

    /// Like [`World::new`], without asserting that the table passes `Table::check_shape` (to
    /// test what the kernel itself checks at load time).
    pub fn new_unchecked(defs: Vec<SpDef>) -> Self {
        Self::build(defs, false)
    }

    fn build(defs: Vec<SpDef>, check_shape: bool) -> Self {
        let mut blob = Vec::new();
        let mut parts = Vec::new();
        let mut slots = Vec::new();
        let mut seen = Vec::new();
        let mut entry = Vec::new();
        for (i, d) in defs.into_iter().enumerate() {
            let img_off = blob.len() as u32;
            blob.extend_from_slice(&image_bytes(i, d.image_len));
            let dtb_off = blob.len() as u32;
            let dtb = dtb_bytes(i);
            blob.extend_from_slice(&dtb);
            let mut direct_to = d.direct_to.clone();
            direct_to.sort();
            let services = d
                .uuids
                .iter()
                .map(|u| Service {
                    uuid: Uuid(*u),
                    messaging_method: MessagingMethod(d.messaging),
                })
                .collect();
            let mut p = Partition {
                name: d.name,
                description: "",
                id: d.id,
                services: leak(services),
                ffa_version: d.version,
                exception_level: ExceptionLevel::SEl0,
                execution_state: d.state,
                execution_ctx_count: d.exec_ctx,
                messaging_method: MessagingMethod(d.messaging),
                boot_order: d.boot_order,
                ns_interrupts_action: NsInterruptsAction::Signaled,
                other_s_interrupts_action: None,
                gp_register_num: d.gp,
                power_management_messages: PowerMessages(0),
                abort_action: spmc_table::AbortAction::Stop,
                vm_availability_messages: d.vm_availability,
                notification_support: d.notifications,
                xlat_granule: XlatGranule::K4,
                image: ImageRegion {
                    base: PhysAddr(base(i)),
                    size: IMAGE_SIZE,
                    image: BlobRange {
                        offset: img_off,
                        len: d.image_len as u32,
                    },
                    entrypoint_offset: ENTRY_OFFSET,
                },
                boot_info: BootInfoRegion {
                    base: PhysAddr(base(i) + BOOT_INFO_OFFSET),
                    pages: 2,
                    manifest_dtb: BlobRange {
                        offset: dtb_off,
                        len: dtb.len() as u32,
                    },
                },
                memory_regions: leak(d.memory_regions),
                device_regions: &[],
                rx_tx: d.rx_tx,
                capabilities: Capabilities {
                    direct_request_to: leak(direct_to),
                    ..Capabilities::NONE
                },
            };
            if let Some(f) = &d.patch {
                f(&mut p);
            }
            parts.push(p);
            let s = Rc::new(RefCell::new(Vec::new()));
            let e = Rc::new(RefCell::new(None));
            seen.push(s.clone());
            entry.push(e.clone());
            slots.push(Slot {
                image: PhysRange {
                    base: base(i),
                    size: IMAGE_SIZE,
                },
                behaviour: d.behaviour,
                seen: s,
                entry: e,
                ttbr0: None,
            });
        }
        let table: &'static Table = Box::leak(Box::new(Table {
            magic: TABLE_MAGIC,
            version: TABLE_VERSION,
            sp_pool: POOL,
            partitions: leak(parts),
            blob: leak(blob),
        }));
        if check_shape {
            assert_eq!(table.check_shape(), Ok(()), "test table is malformed");
        }
        let spmc = Spmc::new(SPMC_ID, Version::V1_2, table, platform());
        let env = FakeEnv {
            mem: Memory {
                pages: RefCell::new(BTreeMap::new()),
            },
            slots,
            runs: Vec::new(),
            spsrs: Vec::new(),
            tlb: RefCell::new(Vec::new()),
            icache: RefCell::new(Vec::new()),
            writes: RefCell::new(0),
            gic_pending: alloc::collections::VecDeque::new(),
            gic_taken: Vec::new(),
            gic_unmasked: Vec::new(),
            core: 0,
            sgis: RefCell::new(Vec::new()),
            group0_pending: false,
            el3_intr_handled: 0,
            after_read: RefCell::new(None),
            now: 0,
            deadline: None,
            deadlines: Vec::new(),
            timer_masked: false,
        };
        Self {
            spmc,
            env,
            seen,
            entry,
        }
    }

    /// Builds and boots every partition.
    pub fn boot(defs: Vec<SpDef>) -> Self {
        let mut w = Self::new(defs);
        w.spmc.boot_partitions(&mut w.env);
        w
    }

    /// Boots `n` default echo partitions.
    pub fn echoes(n: usize) -> Self {
        Self::boot((0..n).map(sp).collect())
    }

    /// Makes one call from the normal world.
    pub fn nw(&mut self, r: Regs) -> Regs {
        self.spmc.handle_nw_call(&mut self.env, &r)
    }

    /// Enters the SPMC with FFA_INTERRUPT, as the SPMD does for a secure interrupt taken while
    /// the normal world runs; returns the SPMC's answer to EL3.
    pub fn el3_interrupt(&mut self) -> Regs {
        self.spmc
            .handle_el3_call(&mut self.env, call(FuncId::Interrupt32, &[]))
    }

    /// The partition in slot `aborted` is aborted: a request to it gets ABORTED, and the one in
    /// slot `other` still echoes one (both with `sp(i)`'s IDs).
    pub fn assert_aborted_and_other_answers(&mut self, aborted: usize, other: usize) {
        let (a, o) = (sp_id(aborted), sp_id(other));
        assert_eq!(self.state(aborted), State::Aborted);
        assert_error(
            &self.nw(req32(EndpointId(0), a, [1, 0, 0, 0, 0])),
            ErrorCode::Aborted,
        );
        assert_eq!(
            self.nw(req32(EndpointId(0), o, [2, 0, 0, 0, 0])),
            resp32(o, EndpointId(0), [2, 0, 0, 0, 0])
        );
    }

    /// Negotiates `v` with the SPMC as the normal world does through the SPMD.
    pub fn nw_version(&mut self, v: Version) {
        let r = self.nw(call(FuncId::Version, &[v.encode().into()]));
        assert_eq!(r.w(0), Version::V1_2.encode());
        assert_eq!(self.spmc.nw_version(), v);
    }

    /// State of the partition in slot `i`.
    pub fn state(&self, i: usize) -> State {
        self.spmc.sps[i].rt.lock().state()
    }

    /// x0-x17 at every resume of the partition in slot `i`.
    pub fn seen(&self, i: usize) -> Vec<Regs> {
        self.seen[i].borrow().clone()
    }

    /// Registers at the first entry of the partition in slot `i`.
    pub fn entry(&self, i: usize) -> Option<UserRegs> {
        self.entry[i].borrow().clone()
    }

    /// Everything the SPMC keeps per endpoint, to prove a refused call changed nothing.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            nw_version: self.spmc.nw_version(),
            nw_mailbox: self.spmc.nw.lock(0).unwrap().mailbox,
            sps: self
                .spmc
                .sps
                .iter()
                .map(|s| {
                    let rt = s.rt.lock();
                    (
                        rt.state(),
                        rt.request(),
                        s.mailbox_pair().unwrap(),
                        rt.version,
                    )
                })
                .collect(),
        }
    }

    /// SP `i`'s RX/TX pair (a copy).
    pub fn sp_mailbox(&self, i: usize) -> Option<Mailbox> {
        self.spmc.sps[i].mailbox_pair().unwrap()
    }

    /// Maps an NW RX/TX pair of `pages` pages at the start of the NS window (TX first).
    pub fn map_nw_mailbox(&mut self, pages: u32) -> (u64, u64) {
        let tx = NS.base;
        let rx = NS.base + u64::from(pages) * PAGE_SIZE;
        let r = self.nw(call(FuncId::RxTxMap64, &[tx, rx, pages.into()]));
        assert_success(&r, 0);
        (tx, rx)
    }
}

/// See [`World::snapshot`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub nw_version: Version,
    pub nw_mailbox: Option<Mailbox>,
    pub sps: Vec<(State, Option<PendingRequest>, Option<Mailbox>, Version)>,
}

// ---------------------------------------------------------------------------------------------
// Assertions.

/// Checks an FFA_ERROR with `code` and every other register zero.
#[track_caller]
pub fn assert_error(r: &Regs, code: ErrorCode) {
    let mut want = Regs::ZERO;
    want.0[0] = 0x8400_0060;
    want.0[2] = code.to_u32().into();
    assert_eq!(*r, want, "expected FFA_ERROR({code:?}), got {r:x?}");
}

/// Checks FFA_SUCCESS_32 with w2 = `w2` and every other register zero.
#[track_caller]
pub fn assert_success(r: &Regs, w2: u32) {
    let mut want = Regs::ZERO;
    want.0[0] = 0x8400_0061;
    want.0[2] = w2.into();
    assert_eq!(*r, want, "expected FFA_SUCCESS(w2 = {w2:#x}), got {r:x?}");
}

// ---------------------------------------------------------------------------------------------
// Console capture.

static CAPTURED: spin::Mutex<String> = spin::Mutex::new(String::new());

fn sink(s: &str) {
    CAPTURED.lock().push_str(s);
}

/// Installs the capturing console (idempotent; tests run in parallel, so each looks for lines
/// tagged with names only it uses).
pub fn capture_console() {
    crate::console::install(sink);
}

/// Every line printed so far that contains `needle`.
pub fn console_lines(needle: &str) -> Vec<String> {
    CAPTURED
        .lock()
        .lines()
        .filter(|l| l.contains(needle))
        .map(String::from)
        .collect()
}
