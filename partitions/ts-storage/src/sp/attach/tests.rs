//! The attacher against a fake SPMC and block storage: every kind of attach failure is tried
//! again at the next request (never latched), requests fail closed meanwhile, and pages are
//! reused, never lost, across failures and lost attachments.

use super::*;
use crate::block::{default_partitions, BlockStorageService, Transport, ITS_ENDPOINT, PS_ENDPOINT};
use crate::flash::fake::FakeFlash;
use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use packed_c::psa::{self, Status};
use packed_c::secure_storage::{GetRequest, SetRequest, OP_GET, OP_SET};
use ts_rpc::ServiceCall;

const BS: EndpointId = EndpointId(0x8008);
const CALLER: EndpointId = EndpointId(0x0001);
const SECTOR: usize = 0x1000;

type Server = Rc<RefCell<BlockStorageService<FakeFlash>>>;

fn server(flash: FakeFlash) -> Server {
    Rc::new(RefCell::new(
        BlockStorageService::new(flash, default_partitions(8), [0; 16]).expect("table"),
    ))
}

/// The fake SPMC (shares, reclaims) and block storage (retrieve, relinquish, the service).
struct Fake {
    me: EndpointId,
    server: Server,
    /// Answers of the next lookups; then `Found(BS, 0)`.
    lookups: VecDeque<Lookup>,
    /// Shares to refuse, retrieves to refuse (NOT_FOUND: no slot).
    refuse_shares: u32,
    refuse_retrieves: u32,
    /// Reclaims refused whatever the state (a borrower the SPMC still counts).
    refuse_reclaims: bool,
    /// Block storage answers no management request (aborted).
    silent: bool,
    /// Outcomes of the next service calls through any transport (false: the call fails);
    /// then they go through.
    calls: Rc<RefCell<VecDeque<bool>>>,
    next_handle: u64,
    /// Shares not reclaimed: handle -> page address.
    shared: BTreeMap<u64, u64>,
    /// Handles block storage holds (retrieved, not relinquished).
    retrieved: Rc<RefCell<BTreeSet<u64>>>,
    /// Every page address ever shared.
    pages_seen: BTreeSet<u64>,
    lost: Rc<Cell<bool>>,
}

impl Fake {
    fn new(me: EndpointId, lost: Rc<Cell<bool>>) -> Self {
        Self {
            me,
            server: server(FakeFlash::new(SECTOR, 8)),
            lookups: VecDeque::new(),
            refuse_shares: 0,
            refuse_retrieves: 0,
            refuse_reclaims: false,
            silent: false,
            calls: Rc::new(RefCell::new(VecDeque::new())),
            next_handle: 1,
            shared: BTreeMap::new(),
            retrieved: Rc::new(RefCell::new(BTreeSet::new())),
            pages_seen: BTreeSet::new(),
            lost,
        }
    }

    /// Block storage aborted and was restarted from its image: its slots are gone and the
    /// SPMC relinquished what it had retrieved; the flash keeps its contents.
    fn restart_block_storage(&mut self) {
        let flash = self.server.borrow().flash().clone();
        self.server = server(flash);
        self.retrieved.borrow_mut().clear();
    }

    fn fail_calls(&self, outcomes: &[bool]) {
        self.calls.borrow_mut().extend(outcomes.iter().copied());
    }
}

/// Service calls to the fake block storage through a share it must still hold.
struct FakeTransport {
    server: Server,
    me: EndpointId,
    handle: u64,
    retrieved: Rc<RefCell<BTreeSet<u64>>>,
    calls: Rc<RefCell<VecDeque<bool>>>,
    lost: Rc<Cell<bool>>,
}

impl Transport for FakeTransport {
    fn capacity(&self) -> usize {
        0x1000
    }

    fn call(
        &mut self,
        opcode: u16,
        buf: &mut [u8],
        request_len: usize,
    ) -> Result<(Status, usize), FlashError> {
        if !self.retrieved.borrow().contains(&self.handle) {
            // NOT_FOUND for our handle: as SpTransport, the attachment is lost.
            self.lost.set(true);
            return Err(FlashError::Transport);
        }
        if self.calls.borrow_mut().pop_front() == Some(false) {
            return Err(FlashError::Transport);
        }
        let r = self
            .server
            .borrow_mut()
            .call(ServiceCall {
                caller: self.me,
                client_id: 0,
                opcode,
                buf,
                request_len,
            })
            .map_err(|_| FlashError::Transport)?;
        Ok((r.status, r.len))
    }
}

impl Link for Fake {
    type Transport = FakeTransport;

    fn find(&mut self) -> Lookup {
        self.lookups.pop_front().unwrap_or(Lookup::Found(BS, 0))
    }

    fn share(&mut self, to: EndpointId, page: &'static SharedPage) -> Option<MemHandle> {
        assert_eq!(to, BS);
        assert!(
            !self.shared.values().any(|&a| a == page.addr()),
            "a page shared twice at once"
        );
        if self.refuse_shares > 0 {
            self.refuse_shares -= 1;
            return None;
        }
        let h = self.next_handle;
        self.next_handle += 1;
        self.shared.insert(h, page.addr());
        self.pages_seen.insert(page.addr());
        Some(MemHandle(h))
    }

    fn reclaim(&mut self, handle: MemHandle) -> bool {
        if self.refuse_reclaims || self.retrieved.borrow().contains(&handle.0) {
            return false;
        }
        self.shared.remove(&handle.0).is_some()
    }

    fn manage(&mut self, to: EndpointId, req: &Request) -> Option<u32> {
        assert_eq!(to, BS);
        if self.silent {
            return None;
        }
        let status = match *req {
            Request::MemRetrieve { handle, .. } => {
                assert!(
                    self.shared.contains_key(&handle.0),
                    "retrieve of a handle not shared"
                );
                if self.refuse_retrieves > 0 {
                    self.refuse_retrieves -= 1;
                    RpcStatus::NotFound
                } else {
                    self.retrieved.borrow_mut().insert(handle.0);
                    RpcStatus::Success
                }
            }
            Request::MemRelinquish { handle } => {
                if self.retrieved.borrow_mut().remove(&handle.0) {
                    RpcStatus::Success
                } else {
                    RpcStatus::NotFound
                }
            }
            ref r => panic!("unexpected management request {r:?}"),
        };
        Some(status.word())
    }

    fn transport(
        &mut self,
        to: EndpointId,
        _interface: u8,
        handle: MemHandle,
        page: &'static SharedPage,
    ) -> FakeTransport {
        assert_eq!(to, BS);
        assert_eq!(self.shared.get(&handle.0), Some(&page.addr()));
        FakeTransport {
            server: self.server.clone(),
            me: self.me,
            handle: handle.0,
            retrieved: self.retrieved.clone(),
            calls: self.calls.clone(),
            lost: self.lost.clone(),
        }
    }
}

fn its() -> (Client, Fake) {
    let lost = Rc::new(Cell::new(false));
    (
        Client::new(Flavour::Its, lost.clone()),
        Fake::new(ITS_ENDPOINT, lost),
    )
}

/// A request as the partition's loop handles it ([`Client::serve`]): the request is copied in
/// from the client's memory at each answer, as the TS RPC endpoint does.
fn request(c: &mut Client, f: &mut Fake, op: u16, req: &[u8]) -> (Status, Vec<u8>) {
    let service = c.service();
    c.serve(f, |_| {
        let mut buf = vec![0u8; 0x400];
        buf[..req.len()].copy_from_slice(req);
        let r = service
            .borrow_mut()
            .call(ServiceCall {
                caller: CALLER,
                client_id: 0,
                opcode: op,
                buf: &mut buf,
                request_len: req.len(),
            })
            .expect("RPC");
        (r.status, buf[..r.len].to_vec())
    })
}

fn set(c: &mut Client, f: &mut Fake, uid: u64, data: &[u8]) -> Status {
    let mut b = vec![0u8; SetRequest::SIZE + data.len()];
    SetRequest {
        uid,
        data_length: data.len() as u64,
        create_flags: 0,
    }
    .encode(data, &mut b)
    .unwrap();
    request(c, f, OP_SET, &b).0
}

fn get(c: &mut Client, f: &mut Fake, uid: u64) -> (Status, Vec<u8>) {
    let mut b = [0u8; GetRequest::SIZE];
    GetRequest {
        uid,
        data_offset: 0,
        data_size: 64,
    }
    .encode(&mut b)
    .unwrap();
    request(c, f, OP_GET, &b)
}

/// Nothing is held but the live share on one page.
fn settled(c: &Client, f: &Fake) {
    assert!(c.attached());
    assert_eq!(c.attacher().pages(), 1, "pages taken from the heap");
    assert_eq!(c.attacher().outstanding(), 1, "shares not reclaimed");
    assert_eq!(f.shared.len(), 1, "shares the SPMC still has");
    assert_eq!(f.pages_seen.len(), 1, "distinct pages ever shared");
}

#[test]
fn attaches_at_the_first_try_and_serves() {
    let (mut c, mut f) = its();
    assert_eq!(c.ensure(&mut f), Ok(()));
    settled(&c, &f);
    assert_eq!(set(&mut c, &mut f, 1, b"hello"), psa::SUCCESS);
    assert_eq!(get(&mut c, &mut f, 1), (psa::SUCCESS, b"hello".to_vec()));
    settled(&c, &f);
}

/// Each kind of failure: the attach fails, a request meanwhile fails closed
/// (STORAGE_FAILURE, nothing stored), the next request attaches and works, and no page or
/// share is left behind.
#[test]
fn every_attach_failure_is_tried_again_at_the_next_request() {
    type Arrange = fn(&mut Fake);
    let cases: [(&str, Arrange, Failure); 7] = [
        (
            "lookup unanswered",
            |f| f.lookups.push_back(Lookup::Unanswered),
            Failure::Unanswered,
        ),
        ("mem_share refused", |f| f.refuse_shares = 1, Failure::Share),
        (
            "retrieve refused",
            |f| f.refuse_retrieves = 1,
            Failure::Retrieve,
        ),
        (
            "GET_PARTITION_INFO failed",
            |f| f.fail_calls(&[false]),
            Failure::Open(FlashError::Transport),
        ),
        (
            "OPEN failed",
            |f| f.fail_calls(&[true, false]),
            Failure::Open(FlashError::Transport),
        ),
        (
            "partition open refused",
            // Another endpoint's partition: block storage answers NOT_PERMITTED.
            |f| f.me = PS_ENDPOINT,
            Failure::Open(FlashError::Service(psa::ERROR_NOT_PERMITTED)),
        ),
        (
            "mount failed",
            |f| f.fail_calls(&[true, true, false]),
            Failure::Mount(MountError::Flash(FlashError::Transport)),
        ),
    ];
    for (what, arrange, failure) in cases {
        let (mut c, mut f) = its();
        arrange(&mut f);
        assert_eq!(c.ensure(&mut f), Err(failure), "{what}");
        assert!(!c.attached(), "{what}");
        // Not latched, and failing closed meanwhile: the same failure once more at the next
        // request (it answers STORAGE_FAILURE, nothing stored)...
        arrange(&mut f);
        assert_eq!(
            set(&mut c, &mut f, 7, b"while failing"),
            psa::ERROR_STORAGE_FAILURE,
            "{what}: fails closed"
        );
        // ...and the request after it attaches.
        f.me = ITS_ENDPOINT;
        assert_eq!(set(&mut c, &mut f, 7, b"attached"), psa::SUCCESS, "{what}");
        assert_eq!(
            get(&mut c, &mut f, 7),
            (psa::SUCCESS, b"attached".to_vec()),
            "{what}"
        );
        settled(&c, &f);
        assert_eq!(
            f.retrieved.borrow().len(),
            1,
            "{what}: block storage holds one page"
        );
    }
}

/// Issue 13: re-attaching after block-storage restarted reclaims the old share and reuses
/// its page: however many times, one page in all, and every old handle reclaimed. The
/// request that found the attachment lost is answered after attaching again.
#[test]
fn reattach_after_a_block_storage_restart_reuses_the_page() {
    let (mut c, mut f) = its();
    assert_eq!(c.ensure(&mut f), Ok(()));
    assert_eq!(set(&mut c, &mut f, 1, b"before"), psa::SUCCESS);
    for round in 0..5u8 {
        f.restart_block_storage();
        // The SET's write finds our handle gone: the attachment is lost, made again (on the
        // same page) and the SET answered once more: the client sees no failure.
        assert_eq!(set(&mut c, &mut f, 2, &[round]), psa::SUCCESS);
        assert!(!f.lost.get());
        assert_eq!(get(&mut c, &mut f, 1), (psa::SUCCESS, b"before".to_vec()));
        assert_eq!(get(&mut c, &mut f, 2), (psa::SUCCESS, vec![round]));
        settled(&c, &f);
    }
    assert_eq!(f.next_handle, 7, "one share per attach");
}

/// A block storage that keeps old shares (the reclaim is refused) makes the attacher take a
/// second page, never more: then it fails closed (NoPage) until a reclaim succeeds, and
/// goes back to one page.
#[test]
fn pages_are_bounded_while_old_shares_cannot_be_reclaimed() {
    let (mut c, mut f) = its();
    assert_eq!(c.ensure(&mut f), Ok(()));
    f.refuse_reclaims = true;
    for _ in 0..3 {
        f.restart_block_storage();
        let _ = set(&mut c, &mut f, 2, b"x");
        let _ = c.ensure(&mut f);
    }
    assert_eq!(c.attacher().pages(), MAX_PAGES);
    assert_eq!(f.pages_seen.len(), MAX_PAGES);
    assert!(f.shared.len() <= MAX_PAGES);
    f.restart_block_storage();
    let _ = set(&mut c, &mut f, 2, b"x");
    assert_eq!(c.ensure(&mut f), Err(Failure::NoPage));
    assert_eq!(set(&mut c, &mut f, 2, b"x"), psa::ERROR_STORAGE_FAILURE);
    f.refuse_reclaims = false;
    assert_eq!(set(&mut c, &mut f, 2, b"y"), psa::SUCCESS);
    assert_eq!(c.attacher().pages(), MAX_PAGES);
    assert_eq!(c.attacher().outstanding(), 1);
    assert_eq!(f.shared.len(), 1);
}

/// An aborted block storage (it answers nothing) keeps our share: the attacher does not
/// take it for reclaimed, and fails closed at every request without taking more pages.
#[test]
fn an_aborted_block_storage_is_retried_without_new_pages() {
    let (mut c, mut f) = its();
    assert_eq!(c.ensure(&mut f), Ok(()));
    f.lost.set(true);
    f.silent = true;
    for _ in 0..4 {
        f.lookups.push_back(Lookup::Unanswered);
        assert_eq!(set(&mut c, &mut f, 3, b"z"), psa::ERROR_STORAGE_FAILURE);
    }
    assert_eq!(c.attacher().pages(), 1);
    assert_eq!(f.shared.len(), 1, "still held by the aborted block storage");
    // It comes back (restarted: the SPMC relinquished for it).
    f.silent = false;
    f.restart_block_storage();
    assert_eq!(set(&mut c, &mut f, 3, b"z"), psa::SUCCESS);
    settled(&c, &f);
}

/// No block storage may be messaged at all: RAM, by configuration, not a failure.
#[test]
fn no_block_storage_in_the_set_means_ram() {
    let (mut c, mut f) = its();
    f.lookups.push_back(Lookup::NoneAllowed);
    assert_eq!(c.ensure(&mut f), Ok(()));
    assert_eq!(set(&mut c, &mut f, 1, b"ram"), psa::SUCCESS);
    assert_eq!(get(&mut c, &mut f, 1), (psa::SUCCESS, b"ram".to_vec()));
    assert_eq!(c.attacher().pages(), 0);
    assert!(f.shared.is_empty());
}

/// While not attached, reads fail closed too: STORAGE_FAILURE, never DOES_NOT_EXIST (which
/// a client would take for an answer). Once attached, a missing object is DOES_NOT_EXIST.
#[test]
fn reads_fail_closed_while_not_attached() {
    let (mut c, mut f) = its();
    f.lookups.extend([Lookup::Unanswered, Lookup::Unanswered]);
    assert_eq!(c.ensure(&mut f), Err(Failure::Unanswered));
    assert_eq!(get(&mut c, &mut f, 9).0, psa::ERROR_STORAGE_FAILURE);
    assert_eq!(get(&mut c, &mut f, 9).0, psa::ERROR_DOES_NOT_EXIST);
    assert!(c.attached());
}

/// The request that finds the attachment lost is answered again once only: if block storage
/// is lost again meanwhile (or cannot be attached), the client gets the failure, and the next
/// request attaches.
#[test]
fn a_lost_attachment_is_retried_once_per_request() {
    let (mut c, mut f) = its();
    assert_eq!(c.ensure(&mut f), Ok(()));
    f.restart_block_storage();
    // The re-attach fails (block storage does not answer the lookup): the first answer stands.
    f.lookups.push_back(Lookup::Unanswered);
    assert_eq!(set(&mut c, &mut f, 4, b"a"), psa::ERROR_STORAGE_FAILURE);
    assert!(!c.attached());
    assert_eq!(set(&mut c, &mut f, 4, b"a"), psa::SUCCESS);
    settled(&c, &f);
    // Lost during the retry too: the retry's answer is the last.
    f.restart_block_storage();
    let service = c.service();
    let mut answers = 0;
    let st = c.serve(&mut f, |f| {
        answers += 1;
        if answers == 2 {
            // block storage restarts again before the retry's write
            f.restart_block_storage();
        }
        let mut b = vec![0u8; SetRequest::SIZE + 1];
        SetRequest {
            uid: 4,
            data_length: 1,
            create_flags: 0,
        }
        .encode(b"b", &mut b)
        .unwrap();
        let mut buf = vec![0u8; 0x400];
        buf[..b.len()].copy_from_slice(&b);
        service
            .borrow_mut()
            .call(ServiceCall {
                caller: CALLER,
                client_id: 0,
                opcode: OP_SET,
                buf: &mut buf,
                request_len: b.len(),
            })
            .expect("RPC")
            .status
    });
    assert_eq!(answers, 2, "answered twice at most");
    assert_eq!(st, psa::ERROR_STORAGE_FAILURE);
    assert_eq!(get(&mut c, &mut f, 4), (psa::SUCCESS, b"a".to_vec()));
    assert_eq!(set(&mut c, &mut f, 4, b"c"), psa::SUCCESS);
    settled(&c, &f);
}
