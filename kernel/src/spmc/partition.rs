//! A secure partition and the life cycle of its (single) execution context.
//!
//! The context's state changes only through the transitions below, each a method of a value
//! that exists only in the state the transition starts from ([`Runtime::phase`]): there is no
//! way to write, say, Booting -> Running, or to start a request on a partition that is not
//! waiting. The one transition legal from every state is [`Runtime::abort`].
//!
//! ```text
//!  Created --start_boot--> Booting --init_done--> Waiting --begin--> Running
//!     |                       |                     ^ ^                |
//!     |                       |                     | +-------end------+
//!     |                       |                     |  begin_interrupt: Running (handling
//!     |                       |                     |  an interrupt, no request)
//!     |                       |                     +--end_interrupt--+
//!     +-----------------------+------abort (from any state)-----> Aborted
//! ```

use super::Mailbox;
use crate::arch::UserRegs;
use crate::memory::AddressSpace;
use crate::policy::DirectForm;
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
    /// Running on behalf of a direct request, or handling a secure interrupt it was entered
    /// with (FFA_INTERRUPT).
    Running,
    /// Faulted or failed to load: never runs again.
    Aborted,
}

/// The direct request an SP is currently handling.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct PendingRequest {
    /// Who sent it (and gets the response).
    pub sender: u16,
    /// Which response form answers it.
    pub form: DirectForm,
}

/// Mutable state of one partition, behind its lock.
pub struct Runtime {
    /// Where the context is in its life cycle: changed only by the transitions of this module.
    state: State,
    /// The request it handles: `Some` exactly while `state` is Running.
    request: Option<PendingRequest>,
    pub regs: UserRegs,
    pub space: Option<AddressSpace>,
    /// The FF-A version the partition speaks (its manifest's, until it calls FFA_VERSION).
    pub version: Version,
    pub mailbox: Option<Mailbox>,
    /// Characters logged with FFA_CONSOLE_LOG since the last newline.
    pub log_line: String<160>,
    /// The partition made an FF-A call other than FFA_VERSION: its version is settled.
    pub version_frozen: bool,
    /// The secure interrupt it handles (ID, core it was taken on): `Some` exactly while it
    /// runs because it was entered with FFA_INTERRUPT.
    interrupt: Option<(u32, usize)>,
}

/// The context in its current state, with the transitions legal from it.
pub enum Phase<'a> {
    Created(Created<'a>),
    Booting(Booting<'a>),
    Waiting(Waiting<'a>),
    Running(Running<'a>),
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

impl Created<'_> {
    /// Loaded: its initialisation runs next.
    pub fn start_boot(self) {
        self.0.state = State::Booting;
    }
}

impl Booting<'_> {
    /// Initialisation finished (FFA_MSG_WAIT): it waits for messages.
    pub fn init_done(self) {
        self.0.state = State::Waiting;
    }
}

impl Waiting<'_> {
    /// A direct request is delivered to it.
    pub fn begin(self, request: PendingRequest) {
        self.0.state = State::Running;
        self.0.request = Some(request);
    }

    /// It is entered with FFA_INTERRUPT to handle `intid` (taken on `core`).
    pub fn begin_interrupt(self, intid: u32, core: usize) {
        self.0.state = State::Running;
        self.0.interrupt = Some((intid, core));
    }
}

impl Running<'_> {
    /// The request it handles.
    pub fn request(&self) -> Option<PendingRequest> {
        self.0.request
    }

    /// It answered its request: it waits again.
    pub fn end(self) {
        self.0.state = State::Waiting;
        self.0.request = None;
    }

    /// The interrupt it handles, if it was entered with FFA_INTERRUPT.
    pub fn interrupt(&self) -> Option<(u32, usize)> {
        self.0.interrupt
    }

    /// It finished handling its interrupt (FFA_MSG_WAIT): it waits again. Returns the
    /// interrupt, for the SPMC to unmask.
    pub fn end_interrupt(self) -> Option<(u32, usize)> {
        self.0.state = State::Waiting;
        self.0.interrupt.take()
    }
}

impl Runtime {
    fn new(version: Version) -> Self {
        Runtime {
            state: State::Created,
            request: None,
            regs: UserRegs::default(),
            space: None,
            version,
            mailbox: None,
            log_line: String::new(),
            version_frozen: false,
            interrupt: None,
        }
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
    pub fn interrupt(&self) -> Option<(u32, usize)> {
        self.interrupt
    }

    /// The context in its current state, to make one of the transitions legal from it.
    pub fn phase(&mut self) -> Phase<'_> {
        match self.state {
            State::Created => Phase::Created(Created(self)),
            State::Booting => Phase::Booting(Booting(self)),
            State::Waiting => Phase::Waiting(Waiting(self)),
            State::Running => Phase::Running(Running(self)),
            State::Aborted => Phase::Aborted,
        }
    }

    /// It faulted, failed to load or broke the protocol: it never runs again, and the request
    /// it was handling (if any) is dropped. An interrupt it was handling stays masked: its
    /// device may still assert it, and nobody else may handle it.
    pub fn abort(&mut self) {
        self.state = State::Aborted;
        self.request = None;
        self.interrupt = None;
    }
}

/// One secure partition: its table entry and its runtime state.
pub struct Sp {
    pub index: usize,
    pub desc: &'static Partition,
    pub rt: Mutex<Runtime>,
    /// Secure interrupts taken for it and not yet delivered (outside `rt`: any core records
    /// them without waiting for the partition).
    pub irq: super::interrupt::Pending,
}

impl Sp {
    pub fn new(index: usize, desc: &'static Partition) -> Self {
        let version = desc.ffa_version;
        Self {
            index,
            desc,
            rt: Mutex::new(Runtime::new(version)),
            irq: super::interrupt::Pending::new(desc.capabilities.interrupts.len()),
        }
    }

    /// The SP's endpoint ID.
    pub fn id(&self) -> u16 {
        self.desc.id.0
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
    /// It faulted and was aborted.
    Aborted,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> PendingRequest {
        PendingRequest {
            sender: 0,
            form: DirectForm::Req,
        }
    }

    #[test]
    fn the_life_cycle_goes_through_its_transitions_only() {
        let mut rt = Runtime::new(Version::V1_2);
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
        let mut rt = Runtime::new(Version::V1_2);
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
    fn abort_is_final_and_drops_the_request() {
        let mut rt = Runtime::new(Version::V1_2);
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
