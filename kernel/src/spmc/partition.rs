//! A secure partition and the life cycle of its (single) execution context.
//!
//! The context's state changes only through the transitions below, each a method of a value
//! that exists only in the state the transition starts from ([`Runtime::phase`]): there is no
//! way to write, say, Booting -> Running, or to start a request on a partition that is not
//! waiting. The one transition legal from every state is [`Runtime::abort`].
//!
//! ```text
//!  Created --start_boot--> Booting --init_done--> Waiting --begin--> Running <--resume-- Preempted
//!     |                       |                     ^ ^               |  |  \--preempt-->   ^
//!     |                       |                     | +------end------+  +--block--> Blocked |
//!     |                       |                     |  begin_interrupt: Running  (unblock: Running)
//!     |                       |                     |  (handling an interrupt, no request)
//!     |                       |                     +--end_interrupt--+
//!     +-----------------------+------abort (from any state)-----> Aborted
//! ```
//!
//! Waiting --begin_run--> Running --end_run--> Waiting is a run the normal world gives a
//! waiting context with FFA_RUN (no request pending; it ends with FFA_MSG_WAIT).
//!
//! Preempted and Blocked exist only for requests the normal world sent and runs it gave (NWd
//! scheduled mode, FF-A v1.2 section 8.2): a context handling one is Preempted when a
//! non-secure interrupt preempts it (its `ns-interrupts-action` is "signalled") or when it
//! calls FFA_YIELD, and the normal world resumes it with FFA_RUN. A context whose own direct request went to a context
//! that was preempted is Blocked until that context responds (the call chain is unwound into
//! these states, so that no core's stack holds a suspended chain).

use super::Mailbox;
use crate::arch::UserRegs;
use crate::memory::AddressSpace;
use crate::policy::DirectForm;
use crate::sync::{CoreGuard, CoreLock};
use ffa_abi::endpoint::EndpointId;
use ffa_abi::error::ErrorCode;
use ffa_abi::version::Version;
use heapless::String;
use spin::Mutex;
use spmc_table::Partition;

/// Life cycle of a partition's (single) execution context.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum State {
    /// Not loaded yet.
    Created,
    /// Running its initialisation, until FFA_MSG_WAIT.
    Booting,
    /// Waiting for a message.
    Waiting,
    /// Running on behalf of a direct request, handling a secure interrupt it was entered
    /// with (FFA_INTERRUPT), or on cycles the normal world gave it with FFA_RUN.
    Running,
    /// Handling a direct request, stopped by a non-secure interrupt or by FFA_YIELD: only
    /// FFA_RUN from the normal world resumes it.
    Preempted,
    /// Handling a direct request, waiting for the response to its own direct request to a
    /// partition that was preempted (the call chain was unwound to return to the normal world).
    Blocked,
    /// Faulted or failed to load: never runs again.
    Aborted,
}

/// The direct request an SP is currently handling.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct PendingRequest {
    /// Who sent it (and gets the response).
    pub sender: EndpointId,
    /// Which response form answers it.
    pub form: DirectForm,
}

/// Why a context is Preempted.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Preemption {
    /// A non-secure interrupt: it resumes where it was stopped, registers untouched.
    Interrupt,
    /// It called FFA_YIELD: it resumes with FFA_SUCCESS as the answer to that call.
    Yield,
}

/// Mutable state of one partition, behind its lock.
pub struct Runtime {
    /// Where the context is in its life cycle: changed only by the transitions of this module.
    state: State,
    /// The request it handles: `Some` exactly while `state` is Running, Preempted or Blocked.
    request: Option<PendingRequest>,
    /// Why it is Preempted (meaningful in that state only).
    preemption: Preemption,
    /// Index of the partition whose response it waits for (meaningful while Blocked).
    blocked_on: usize,
    /// Its manifest's `ns-interrupts-action` queues non-secure interrupts. "Signalled after a
    /// managed exit" never reaches the kernel (manifest-tool refuses it for S-EL0 partitions);
    /// should a table carry it, queuing is the safe reading: the partition is never preempted
    /// without the exit it asked for.
    ns_queued: bool,
    pub regs: UserRegs,
    pub space: Option<AddressSpace>,
    /// The FF-A version the partition speaks (its manifest's, until it calls FFA_VERSION).
    /// [`SpMailbox::version`] holds a copy for senders of indirect messages.
    pub version: Version,
    /// Characters logged with FFA_CONSOLE_LOG since the last newline.
    pub log_line: String<160>,
    /// The partition made an FF-A call other than FFA_VERSION: its version is settled.
    pub version_frozen: bool,
    /// The secure interrupt it handles (ID, mask of the cores it was taken on): `Some` exactly while it
    /// runs because it was entered with FFA_INTERRUPT.
    interrupt: Option<(u32, u64)>,
    /// It runs (or is Preempted or Blocked) on cycles the normal world gave it with FFA_RUN
    /// while it was waiting: true from [`Waiting::begin_run`] to [`Running::end_run`].
    nw_run: bool,
    /// What the lifecycle after an abort needs (lifecycle.rs); kept across restarts.
    pub life: Life,
}

/// Lifecycle bookkeeping of a partition (lifecycle.rs).
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct Life {
    /// It reached FFA_MSG_WAIT since it was last (re)loaded.
    pub initialised: bool,
    /// It will not be restarted (its boot failed, or memory changed owner for good).
    pub given_up: bool,
    /// The "restart waits" line was printed.
    pub pending_logged: bool,
    /// Times it was restarted.
    pub restarts: u32,
    /// The interrupt it was handling when it aborted, left masked (ID, mask of the cores it was taken on).
    pub masked_interrupt: Option<(u32, u64)>,
}

/// The context in its current state, with the transitions legal from it.
pub enum Phase<'a> {
    Created(Created<'a>),
    Booting(Booting<'a>),
    Waiting(Waiting<'a>),
    Running(Running<'a>),
    Preempted(Preempted<'a>),
    Blocked(Blocked<'a>),
    Aborted,
}

/// A context not loaded yet.
pub struct Created<'a>(&'a mut Runtime);
/// A context running its initialisation.
pub struct Booting<'a>(&'a mut Runtime);
/// A context waiting for a message.
pub struct Waiting<'a>(&'a mut Runtime);
/// A context handling a direct request.
pub struct Running<'a>(&'a mut Runtime);
/// A context stopped inside a request, resumed only by FFA_RUN.
pub struct Preempted<'a>(&'a mut Runtime);
/// A context waiting for the response to its own request to a preempted partition.
pub struct Blocked<'a>(&'a mut Runtime);

impl Created<'_> {
    /// Loaded: its initialisation runs next.
    pub fn start_boot(self) {
        self.0.state = State::Booting;
    }
}

impl Booting<'_> {
    /// Initialisation finished (FFA_MSG_WAIT): it waits for messages. From now on its saved
    /// PSTATE.F is its own `ns-interrupts-action` whenever it is not handling a secure
    /// interrupt (see [`SPSR_F`]).
    pub fn init_done(self) {
        self.0.state = State::Waiting;
        self.0.life.initialised = true;
        self.0.life.pending_logged = false;
        self.0.ns_default();
    }
}

/// PSTATE.F in SPSR_EL1: FIQ masked. A non-secure interrupt reaches S-EL1 as FIQ
/// (`spmc::run`), so this bit in a context's saved SPSR says whether one may preempt it. It is
/// set while the context initialises (`SPSR_EL0T`: the SPMD waits for its FFA_MSG_WAIT) and
/// while it handles a secure interrupt (SPMC-scheduled); otherwise it follows the partition's
/// `ns-interrupts-action` (set for "queued"), kept in place between requests so that the
/// message path does not touch it, except when a call chain with a queued partition earlier in
/// it masks a signalled one (`dispatch::deliver`: the least permissive action of a call chain
/// applies, FF-A v1.2 section 8.3.1).
pub const SPSR_F: u64 = 1 << 6;

impl Waiting<'_> {
    /// A direct request is delivered to it.
    pub fn begin(self, request: PendingRequest) {
        self.0.state = State::Running;
        self.0.request = Some(request);
    }

    /// It is entered with FFA_INTERRUPT to handle `intid` (taken on the cores of the mask
    /// `cores`, bit n for core n): not preemptible by non-secure interrupts while it does.
    pub fn begin_interrupt(self, intid: u32, cores: u64) {
        self.0.state = State::Running;
        self.0.interrupt = Some((intid, cores));
        self.0.regs.spsr |= SPSR_F;
    }

    /// The normal world gives it cycles with FFA_RUN (e.g. after the schedule-receiver
    /// interrupt named it): it resumes from its FFA_MSG_WAIT with FFA_RUN_32 in w0 and x1-x17
    /// zero, as Hafnium enters a waiting partition (src/api.c, `api_vcpu_prepare_run`:
    /// `ffa_run_abi`; its test SPs' message loop asserts w1 is 0), and runs until it waits
    /// again ([`Running::end_run`]). No request is pending: it owes no response.
    pub fn begin_run(self) {
        self.0.state = State::Running;
        self.0.nw_run = true;
        self.0.regs.x[..18].fill(0);
        self.0.regs.x[0] = u64::from(ffa_abi::func_id::FuncId::Run32.raw());
    }
}

impl Running<'_> {
    /// It called FFA_MSG_WAIT at the end of a run the normal world gave it with FFA_RUN: it
    /// waits again.
    pub fn end_run(self) {
        self.0.state = State::Waiting;
        self.0.nw_run = false;
    }

    /// The request it handles.
    pub fn request(&self) -> Option<PendingRequest> {
        self.0.request
    }

    /// It answered its request: it waits again.
    pub fn end(self) {
        self.0.state = State::Waiting;
        self.0.request = None;
    }

    /// A non-secure interrupt stopped it, or it yielded: it keeps its request.
    pub fn preempt(self, why: Preemption) {
        self.0.state = State::Preempted;
        self.0.preemption = why;
    }

    /// Its own direct request went to partition `callee`, which was preempted.
    pub fn block(self, callee: usize) {
        self.0.state = State::Blocked;
        self.0.blocked_on = callee;
    }

    /// The interrupt it handles, if it was entered with FFA_INTERRUPT.
    pub fn interrupt(&self) -> Option<(u32, u64)> {
        self.0.interrupt
    }

    /// It finished handling its interrupt (FFA_MSG_WAIT): it waits again. Returns the
    /// interrupt, for the SPMC to unmask.
    pub fn end_interrupt(self) -> Option<(u32, u64)> {
        self.0.state = State::Waiting;
        self.0.ns_default();
        self.0.interrupt.take()
    }
}

impl Preempted<'_> {
    /// Why it was stopped.
    pub fn why(&self) -> Preemption {
        self.0.preemption
    }

    /// FFA_RUN gives it the CPU again. A context that yielded gets FFA_SUCCESS_32 as the
    /// answer to its FFA_YIELD (x1-x17 zero); an interrupted one resumes untouched.
    pub fn resume(self) {
        if self.0.preemption == Preemption::Yield {
            self.0.regs.x[..18].fill(0);
            self.0.regs.x[0] = u64::from(ffa_abi::func_id::FuncId::Success32.raw());
        }
        self.0.state = State::Running;
    }
}

impl Blocked<'_> {
    /// The partition it waits for.
    pub fn callee(&self) -> usize {
        self.0.blocked_on
    }

    /// The response it waited for arrived (the caller copies it into its registers).
    pub fn unblock(self) {
        self.0.state = State::Running;
    }
}

impl Runtime {
    /// Puts PSTATE.F back to the partition's own `ns-interrupts-action` (see [`SPSR_F`]).
    pub fn ns_default(&mut self) {
        if self.ns_queued {
            self.regs.spsr |= SPSR_F;
        } else {
            self.regs.spsr &= !SPSR_F;
        }
    }

    fn new(version: Version, ns_queued: bool) -> Self {
        Runtime {
            state: State::Created,
            request: None,
            preemption: Preemption::Interrupt,
            blocked_on: 0,
            ns_queued,
            regs: UserRegs::default(),
            space: None,
            version,
            log_line: String::new(),
            version_frozen: false,
            interrupt: None,
            nw_run: false,
            life: Life::default(),
        }
    }

    /// Puts an aborted context back to Created, as a fresh [`Runtime::new`] for the same
    /// manifest, keeping its address space (the loader reloads it) and [`Life`]: the restart
    /// of lifecycle.rs. Anything but Aborted is left alone.
    pub fn reset_for_restart(&mut self, version: Version) {
        if self.state != State::Aborted {
            return;
        }
        let space = self.space.take();
        let life = self.life;
        *self = Runtime::new(version, self.ns_queued);
        self.space = space;
        self.life = life;
        self.life.initialised = false;
    }

    /// Where the context is in its life cycle.
    pub fn state(&self) -> State {
        self.state
    }

    /// The direct request it is handling, if it is running one.
    pub fn request(&self) -> Option<PendingRequest> {
        self.request
    }

    /// The secure interrupt it is handling, if it was entered with FFA_INTERRUPT.
    pub fn interrupt(&self) -> Option<(u32, u64)> {
        self.interrupt
    }

    /// Whether it runs on cycles the normal world gave it with FFA_RUN while it was waiting.
    pub fn nw_run(&self) -> bool {
        self.nw_run
    }

    /// The context in its current state, to make one of the transitions legal from it.
    pub fn phase(&mut self) -> Phase<'_> {
        match self.state {
            State::Created => Phase::Created(Created(self)),
            State::Booting => Phase::Booting(Booting(self)),
            State::Waiting => Phase::Waiting(Waiting(self)),
            State::Running => Phase::Running(Running(self)),
            State::Preempted => Phase::Preempted(Preempted(self)),
            State::Blocked => Phase::Blocked(Blocked(self)),
            State::Aborted => Phase::Aborted,
        }
    }

    /// It faulted, failed to load or broke the protocol: it never runs again, and the request
    /// it was handling (if any) is dropped. An interrupt it was handling stays masked: its
    /// device may still assert it, and nobody else may handle it.
    pub fn abort(&mut self) {
        self.state = State::Aborted;
        self.request = None;
        if let Some(i) = self.interrupt.take() {
            self.life.masked_interrupt = Some(i);
        }
        self.nw_run = false;
    }
}

/// A partition's RX/TX buffer pair and what senders of indirect messages must know about its
/// owner, behind a lock of its own, outside [`Runtime`]: a message reaches the RX buffer while
/// the partition runs on another core or waits up a call chain (its runtime locked), as FF-A
/// makes BUSY mean only "the RX buffer is not free". Lock order: the runtime lock (or the
/// memory engine's), then this one; no other lock is taken while it is held, and it is never
/// held across a partition's run.
#[derive(Debug)]
pub struct SpMailbox {
    /// The pair (from the manifest or FFA_RXTX_MAP), `None` before load or after an unmap.
    pub pair: Option<Mailbox>,
    /// The owner's FF-A version, kept equal to [`Runtime::version`] (set with it by
    /// FFA_VERSION and at every load): indirect messages depend on it.
    pub version: Version,
    /// The owner was aborted: its message was dropped and nothing is delivered (ABORTED)
    /// until a restart opens it again (`indirect::drop_aborted` / `indirect::reopen`).
    pub closed: bool,
}

/// One secure partition: its table entry and its runtime state.
pub struct Sp {
    pub index: usize,
    pub desc: &'static Partition,
    pub rt: Mutex<Runtime>,
    /// Its RX/TX buffers ([`SpMailbox`]).
    pub mailbox: CoreLock<SpMailbox>,
    /// Secure interrupts taken for it and not yet delivered (outside `rt`: any core records
    /// them without waiting for the partition).
    pub irq: super::irq_pending::Pending,
}

impl Sp {
    pub fn new(index: usize, desc: &'static Partition) -> Self {
        let version = desc.ffa_version;
        Self {
            index,
            desc,
            rt: Mutex::new(Runtime::new(
                version,
                desc.ns_interrupts_action != spmc_table::NsInterruptsAction::Signaled,
            )),
            mailbox: CoreLock::new(SpMailbox {
                pair: None,
                version,
                closed: false,
            }),
            irq: super::irq_pending::Pending::new(desc.capabilities.interrupts.len()),
        }
    }

    /// Its mailbox under its lock; ABORTED if a core was retired holding it (as
    /// `Spmc::nw_state`).
    pub fn mailbox(&self) -> Result<CoreGuard<'_, SpMailbox>, ErrorCode> {
        self.mailbox
            .lock(crate::arch::current_core())
            .map_err(|_| ErrorCode::Aborted)
    }

    /// A copy of its RX/TX pair, if it has one.
    pub fn mailbox_pair(&self) -> Result<Option<Mailbox>, ErrorCode> {
        Ok(self.mailbox()?.pair)
    }

    /// The SP's endpoint ID.
    pub fn id(&self) -> EndpointId {
        self.desc.id
    }
}

/// How a run of a partition ended.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum RunEnd {
    /// It finished initialising (FFA_MSG_WAIT during boot).
    InitDone,
    /// It answered the pending direct request; the answer is in its x0-x17.
    Response,
    /// It finished handling the interrupt it was entered with (FFA_MSG_WAIT).
    InterruptDone,
    /// It ran on cycles the normal world gave it with FFA_RUN and waits again (FFA_MSG_WAIT).
    Idle,
    /// It faulted and was aborted.
    Aborted,
    /// It, or the partition its call chain ended in, was preempted or yielded: the normal
    /// world gets the CPU back and resumes that partition with FFA_RUN. What the normal world
    /// gets is [`suspension_regs`] of the partition (kept small: this type is on the message
    /// path).
    Suspended,
}

/// What the normal world gets when the call chain that `rt` belongs to was suspended.
/// Preempted: FFA_INTERRUPT (w1 = `id` << 16 | vCPU 0, w2 = 0: the interrupt is the normal
/// world's own, still pending) or, if it yielded, FFA_YIELD (w1 likewise, w2/w3 = the timeout
/// from its call, still in its registers). Blocked: what its callee's suspension put in its
/// call registers (`dispatch::deliver`), which the answer replaces when it is resumed. Linux's
/// driver answers both FFA_INTERRUPT and FFA_YIELD with FFA_RUN(w1).
pub fn suspension_regs(id: EndpointId, rt: &Runtime) -> [u64; 18] {
    use ffa_abi::func_id::FuncId;
    let mut r = [0u64; 18];
    match (rt.state, rt.preemption) {
        (State::Blocked, _) => r.copy_from_slice(&rt.regs.x[..18]),
        (_, Preemption::Yield) => {
            r[0] = u64::from(FuncId::Yield32.raw());
            r[1] = u64::from(id) << 16;
            r[2] = rt.regs.x[2] & 0xFFFF_FFFF;
            r[3] = rt.regs.x[3] & 0xFFFF_FFFF;
        }
        (_, Preemption::Interrupt) => {
            r[0] = u64::from(FuncId::Interrupt32.raw());
            r[1] = u64::from(id) << 16;
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> PendingRequest {
        PendingRequest {
            sender: EndpointId(0),
            form: DirectForm::Req,
        }
    }

    #[test]
    fn the_life_cycle_goes_through_its_transitions_only() {
        let mut rt = Runtime::new(Version::V1_2, false);
        assert_eq!(rt.state(), State::Created);
        let Phase::Created(c) = rt.phase() else {
            panic!()
        };
        c.start_boot();
        assert_eq!(rt.state(), State::Booting);
        let Phase::Booting(b) = rt.phase() else {
            panic!()
        };
        b.init_done();
        assert_eq!((rt.state(), rt.request()), (State::Waiting, None));
        let Phase::Waiting(w) = rt.phase() else {
            panic!()
        };
        w.begin(req());
        assert_eq!((rt.state(), rt.request()), (State::Running, Some(req())));
        let Phase::Running(r) = rt.phase() else {
            panic!()
        };
        assert_eq!(r.request(), Some(req()));
        r.end();
        assert_eq!((rt.state(), rt.request()), (State::Waiting, None));
    }

    #[test]
    fn an_interrupt_is_handled_from_waiting_to_waiting() {
        let mut rt = Runtime::new(Version::V1_2, false);
        rt.state = State::Waiting;
        let Phase::Waiting(w) = rt.phase() else {
            panic!()
        };
        w.begin_interrupt(48, 2);
        assert_eq!(
            (rt.state(), rt.request(), rt.interrupt()),
            (State::Running, None, Some((48, 2)))
        );
        let Phase::Running(r) = rt.phase() else {
            panic!()
        };
        assert_eq!(r.end_interrupt(), Some((48, 2)));
        assert_eq!((rt.state(), rt.interrupt()), (State::Waiting, None));
    }

    #[test]
    fn preemption_and_blocking_keep_the_request() {
        let mut rt = Runtime::new(Version::V1_2, false);
        rt.state = State::Waiting;
        let Phase::Waiting(w) = rt.phase() else {
            panic!()
        };
        w.begin(req());
        rt.regs.x[0] = 0x8400_006C;
        rt.regs.x[5] = 7;
        let Phase::Running(r) = rt.phase() else {
            panic!()
        };
        r.preempt(Preemption::Yield);
        assert_eq!((rt.state(), rt.request()), (State::Preempted, Some(req())));
        let Phase::Preempted(p) = rt.phase() else {
            panic!()
        };
        assert_eq!(p.why(), Preemption::Yield);
        p.resume();
        // FFA_YIELD is answered with FFA_SUCCESS_32, nothing else.
        assert_eq!(rt.regs.x[0], 0x8400_0061);
        assert!(rt.regs.x[1..18].iter().all(|&x| x == 0));
        assert_eq!(rt.state(), State::Running);
        // An interrupted context resumes untouched.
        rt.regs.x[3] = 9;
        let Phase::Running(r) = rt.phase() else {
            panic!()
        };
        r.preempt(Preemption::Interrupt);
        let Phase::Preempted(p) = rt.phase() else {
            panic!()
        };
        p.resume();
        assert_eq!(rt.regs.x[3], 9);
        let Phase::Running(r) = rt.phase() else {
            panic!()
        };
        r.block(3);
        assert_eq!((rt.state(), rt.request()), (State::Blocked, Some(req())));
        let Phase::Blocked(b) = rt.phase() else {
            panic!()
        };
        assert_eq!(b.callee(), 3);
        b.unblock();
        assert_eq!(rt.state(), State::Running);
    }

    #[test]
    fn suspensions_become_the_normal_worlds_answer() {
        let mut rt = Runtime::new(Version::V1_2, false);
        rt.state = State::Preempted;
        rt.preemption = Preemption::Interrupt;
        rt.regs.x[2] = 77;
        let r = suspension_regs(EndpointId(0x8001), &rt);
        assert_eq!(&r[..3], &[0x8400_0062, 0x8001_0000, 0]);
        assert!(r[3..].iter().all(|&x| x == 0));
        // FFA_YIELD: the timeout comes from w2/w3 of the partition's call.
        rt.preemption = Preemption::Yield;
        rt.regs.x[2] = 0xFFFF_FFFF_0000_0002;
        rt.regs.x[3] = 1;
        let r = suspension_regs(EndpointId(0x8002), &rt);
        assert_eq!(&r[..4], &[0x8400_006C, 0x8002_0000, 2, 1]);
        assert!(r[4..].iter().all(|&x| x == 0));
        // Blocked: what its callee's suspension left in its registers.
        rt.state = State::Blocked;
        rt.regs.x[..18].copy_from_slice(&[9; 18]);
        assert_eq!(suspension_regs(EndpointId(0x8003), &rt), [9; 18]);
    }

    #[test]
    fn ffa_run_gives_a_waiting_context_a_run_of_its_own() {
        let mut rt = Runtime::new(Version::V1_2, false);
        rt.state = State::Waiting;
        rt.regs.x[..18].copy_from_slice(&[7; 18]);
        let Phase::Waiting(w) = rt.phase() else {
            panic!()
        };
        w.begin_run();
        assert_eq!(
            (rt.state(), rt.request(), rt.nw_run()),
            (State::Running, None, true)
        );
        // Entered with FFA_RUN_32, nothing else.
        assert_eq!(rt.regs.x[0], 0x8400_006D);
        assert!(rt.regs.x[1..18].iter().all(|&x| x == 0));
        let Phase::Running(r) = rt.phase() else {
            panic!()
        };
        r.end_run();
        assert_eq!((rt.state(), rt.nw_run()), (State::Waiting, false));
        let Phase::Waiting(w) = rt.phase() else {
            panic!()
        };
        w.begin_run();
        rt.abort();
        assert_eq!((rt.state(), rt.nw_run()), (State::Aborted, false));
    }

    #[test]
    fn abort_is_final_and_drops_the_request() {
        let mut rt = Runtime::new(Version::V1_2, false);
        rt.state = State::Waiting;
        let Phase::Waiting(w) = rt.phase() else {
            panic!()
        };
        w.begin(req());
        rt.abort();
        assert_eq!((rt.state(), rt.request()), (State::Aborted, None));
        assert!(matches!(rt.phase(), Phase::Aborted));
    }
}
