//! How its and ps attach to the block storage partition, and attach again after a failure,
//! without ever latching one and without losing a page (issue 13).
//!
//! An attachment is: find block storage (a TS RPC partition offering its service), share one
//! 4 KiB page of ours with it (FFA_MEM_SHARE), have it retrieve the page (TS RPC
//! MEM_RETRIEVE), GET_PARTITION_INFO and OPEN our partition through that page, and mount our
//! log over it (plain reads: no flash command). [`Attacher::attach`] does it at boot and
//! again at the next request while it fails, whatever failed: lookup unanswered, share or
//! retrieve refused, partition info or open refused, mount failed. Meanwhile the partition
//! fails closed (every request that needs the store answers PSA_ERROR_STORAGE_FAILURE). A
//! request that finds the attachment lost (block storage aborted or restarted) is answered
//! once more after attaching again ([`Client::serve`]).
//!
//! Pages: a page that was shared is never given back to the heap (someone may still map it);
//! it is reused once FFA_MEM_RECLAIM says the borrower gave it back. A share that is undone
//! (an attach step after the share failed, or the attachment was lost because block-storage
//! aborted or restarted) is first asked back from its borrower (TS RPC MEM_RELINQUISH: a
//! block-storage that restarted no longer knows it, the SPMC relinquished it on its behalf),
//! then reclaimed; one that cannot be reclaimed yet is tried again at each attach. At most
//! [`MAX_PAGES`] pages are ever allocated: with none free, the attach fails (closed) rather
//! than take another page from the heap.

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};

use ffa_abi::{EndpointId, MemHandle};
use packed_c::block_storage::{PARTITION_PSA_ITS, PARTITION_PSA_PS};
use sp_rt::mem::SharedPage;
use ts_rpc::{Request, RpcStatus, Service};

use crate::block::{BlockFlash, Transport};
use crate::flash::{Flash, FlashError};
use crate::log_store::{FlashStore, MountError};
use crate::service::{Flavour, StorageService};
use crate::store::RamStore;

use super::{FailClosed, LIMITS};

/// The most pages an attacher ever takes from the heap: the live attachment's, and one more
/// while block-storage has not given an old one back.
pub const MAX_PAGES: usize = 2;

/// What looking for the block storage partition found.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// It, and the interface ID of its service.
    Found(EndpointId, u8),
    /// No partition we may message offers it: there is no block storage for us.
    NoneAllowed,
    /// One that might offer it did not answer (BUSY after the retries, aborted).
    Unanswered,
}

/// The FF-A and TS RPC calls an attach makes (sp.rs: `SpLink` over sp-rt; tests: a fake).
pub trait Link {
    /// The transport an attachment's block storage client uses.
    type Transport: Transport + 'static;
    /// Finds the block storage partition.
    fn find(&mut self) -> Lookup;
    /// Shares `page` read-write with `to` (FFA_MEM_SHARE): the handle, or `None` if refused.
    fn share(&mut self, to: EndpointId, page: &'static SharedPage) -> Option<MemHandle>;
    /// Reclaims `handle` (FFA_MEM_RECLAIM): false if refused (a borrower still holds it).
    fn reclaim(&mut self, handle: MemHandle) -> bool;
    /// Sends a TS RPC management request to `to`: the RPC status word of its answer, or
    /// `None` if it did not answer (BUSY after the retries, aborted, ...).
    fn manage(&mut self, to: EndpointId, req: &Request) -> Option<u32>;
    /// The transport of service calls to `to`'s `interface` through `page`, shared as
    /// `handle`.
    fn transport(
        &mut self,
        to: EndpointId,
        interface: u8,
        handle: MemHandle,
        page: &'static SharedPage,
    ) -> Self::Transport;
}

/// Why an attach failed (the partition fails closed and tries again at its next request).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Block storage may be there but did not answer.
    Unanswered,
    /// Every page we may take is still shared (block-storage has not given them back).
    NoPage,
    /// FFA_MEM_SHARE refused.
    Share,
    /// Block storage did not retrieve the page (e.g. NOT_FOUND: no slot).
    Retrieve,
    /// GET_PARTITION_INFO or OPEN failed.
    Open(FlashError),
    /// The log could not be mounted (read failed, or the flash is unusable).
    Mount(MountError),
}

/// A page shared with `to` as `handle`.
#[derive(Debug)]
struct Share {
    to: EndpointId,
    handle: MemHandle,
    page: &'static SharedPage,
}

/// Attaches its or ps (`flavour`) to block storage, again after every failure.
#[derive(Debug)]
pub struct Attacher {
    flavour: Flavour,
    /// Pages of ours not shared with anyone: used first.
    free: Vec<&'static SharedPage>,
    /// Shares to undo (relinquish asked, reclaim refused so far).
    stale: Vec<Share>,
    /// The share the current attachment uses.
    live: Option<Share>,
    /// Pages taken from the heap so far (at most [`MAX_PAGES`]).
    pages: usize,
}

impl Attacher {
    /// An attacher for `flavour`, holding no page yet.
    pub fn new(flavour: Flavour) -> Self {
        Self {
            flavour,
            free: Vec::new(),
            stale: Vec::new(),
            live: None,
            pages: 0,
        }
    }

    /// Pages taken from the heap so far.
    #[cfg(test)]
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// Shares not reclaimed yet, the live one included.
    #[cfg(test)]
    pub fn outstanding(&self) -> usize {
        self.stale.len() + usize::from(self.live.is_some())
    }

    /// The attachment is lost (block-storage aborted, or restarted and forgot our page): its
    /// share is undone at the next attach. The caller has dropped the service using it.
    pub fn lost(&mut self) {
        if let Some(s) = self.live.take() {
            self.stale.push(s);
        }
    }

    /// The store of our flavour on our block storage partition, or why not. A RAM store if
    /// we may message no block storage at all (no flash for us in this SP set: a property of
    /// the capabilities, not a failure).
    pub fn attach<L: Link>(&mut self, link: &mut L) -> Result<Box<dyn Service>, Failure> {
        self.lost();
        self.undo_stale(link);
        let (bs, interface) = match link.find() {
            Lookup::Found(bs, interface) => (bs, interface),
            Lookup::NoneAllowed => {
                sp_rt::log!(
                    "storage: no block storage partition may be messaged: objects last until reset"
                );
                return Ok(Box::new(StorageService::new(
                    self.flavour,
                    RamStore::new(LIMITS),
                )));
            }
            Lookup::Unanswered => return Err(Failure::Unanswered),
        };
        let page = self.page().ok_or(Failure::NoPage)?;
        let Some(handle) = link.share(bs, page) else {
            // Nothing was shared: the page is still only ours.
            self.free.push(page);
            return Err(Failure::Share);
        };
        let share = Share {
            to: bs,
            handle,
            page,
        };
        if link.manage(bs, &Request::MemRetrieve { handle, tag: 0 })
            != Some(RpcStatus::Success.word())
        {
            self.undo(link, share);
            return Err(Failure::Retrieve);
        }
        let transport = link.transport(bs, interface, handle, page);
        match open_store(self.flavour, transport) {
            Ok(service) => {
                sp_rt::log!("storage: attached to block storage {:#06x}", bs.0);
                self.live = Some(share);
                Ok(service)
            }
            Err(f) => {
                self.undo(link, share);
                Err(f)
            }
        }
    }

    /// A page to share: a free one, else a new one while fewer than [`MAX_PAGES`] were taken.
    /// Shared pages are never freed (leaked from the heap on purpose), only reused.
    fn page(&mut self) -> Option<&'static SharedPage> {
        if let Some(p) = self.free.pop() {
            return Some(p);
        }
        if self.pages >= MAX_PAGES {
            return None;
        }
        self.pages += 1;
        Some(Box::leak(SharedPage::new_boxed()))
    }

    fn undo<L: Link>(&mut self, link: &mut L, share: Share) {
        self.stale.push(share);
        self.undo_stale(link);
    }

    /// Asks each stale share's borrower to give it back, then reclaims it; a reclaimed page
    /// is free again. Those still held stay stale.
    fn undo_stale<L: Link>(&mut self, link: &mut L) {
        let mut i = 0;
        while i < self.stale.len() {
            let s = &self.stale[i];
            // Whatever it answers (NOT_FOUND if it restarted: the SPMC relinquished for it),
            // the reclaim decides.
            let _ = link.manage(s.to, &Request::MemRelinquish { handle: s.handle });
            if link.reclaim(s.handle) {
                let s = self.stale.swap_remove(i);
                self.free.push(s.page);
            } else {
                i += 1;
            }
        }
    }
}

/// its or ps over block storage between requests: the service requests go to (the attached
/// store, or one that fails every write), and what attaches it.
pub struct Client {
    flavour: Flavour,
    attacher: Attacher,
    attached: bool,
    /// Set by the attachment's transport when block storage lost it (aborted, restarted).
    lost: Rc<Cell<bool>>,
    /// What requests go to.
    service: Rc<RefCell<Box<dyn Service>>>,
}

impl core::fmt::Debug for Client {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client")
            .field("attacher", &self.attacher)
            .field("attached", &self.attached)
            .finish()
    }
}

impl Client {
    /// Not attached yet: requests fail closed until [`Self::ensure`] attaches. `lost` is the
    /// flag the link's transports set.
    pub fn new(flavour: Flavour, lost: Rc<Cell<bool>>) -> Self {
        Self {
            flavour,
            attacher: Attacher::new(flavour),
            attached: false,
            lost,
            service: Rc::new(RefCell::new(FailClosed::service(flavour))),
        }
    }

    /// The service requests go to (shared with the endpoint's service slot).
    pub fn service(&self) -> Rc<RefCell<Box<dyn Service>>> {
        self.service.clone()
    }

    /// Tells whether the store is attached.
    pub fn attached(&self) -> bool {
        self.attached
    }

    /// The attacher (its pages and shares).
    #[cfg(test)]
    pub fn attacher(&self) -> &Attacher {
        &self.attacher
    }

    /// At boot and before each request: drops a lost attachment, and attaches if not
    /// attached. On failure the requests fail closed (STORAGE_FAILURE) until the next try.
    pub fn ensure<L: Link>(&mut self, link: &mut L) -> Result<(), Failure> {
        if self.lost.replace(false) && self.attached {
            sp_rt::log!("storage: block storage lost our attachment: attaching again");
            self.attached = false;
            // Nothing may use the old page once it is given back.
            *self.service.borrow_mut() = FailClosed::service(self.flavour);
            self.attacher.lost();
        }
        if self.attached {
            return Ok(());
        }
        let r = self.attacher.attach(link);
        // A transport of a failed attempt may have flagged its own loss: already undone.
        self.lost.set(false);
        match r {
            Ok(service) => {
                *self.service.borrow_mut() = service;
                self.attached = true;
                Ok(())
            }
            Err(f) => {
                sp_rt::log!(
                    "storage: cannot attach to block storage ({f:?}): this request fails, the next attaches again"
                );
                Err(f)
            }
        }
    }
}

impl Client {
    /// Serves one request with `answer`: attaches first if needed ([`Self::ensure`]); if block
    /// storage lost our attachment during the request (it aborted, or restarted and no longer
    /// knows our page), answers it once more after attaching again, so that a client does not
    /// see block-storage's restart. That is safe: the loss is noticed only when block storage
    /// refused a call outright (ABORTED, or NOT_FOUND for our page), so the store changed
    /// nothing (a refused write leaves it as it was) and answered the request with a PSA
    /// error and no response bytes, so the request is still in the client's memory.
    pub fn serve<L: Link, R>(&mut self, link: &mut L, mut answer: impl FnMut(&mut L) -> R) -> R {
        let _ = self.ensure(link);
        let first = answer(link);
        if !(self.attached && self.lost.get()) {
            return first;
        }
        match self.ensure(link) {
            Ok(()) => answer(link),
            Err(_) => first,
        }
    }
}

/// Opens our partition over `transport` and mounts our log on it (reads only).
fn open_store<T: Transport + 'static>(
    flavour: Flavour,
    transport: T,
) -> Result<Box<dyn Service>, Failure> {
    let guid: &'static [u8; 16] = match flavour {
        Flavour::Its => &PARTITION_PSA_ITS,
        Flavour::Ps => &PARTITION_PSA_PS,
    };
    let flash = BlockFlash::open(transport, *guid).map_err(Failure::Open)?;
    sp_rt::log!(
        "storage: partition of block storage: {} sectors of {:#x}",
        flash.sectors(),
        flash.sector_size()
    );
    // Tagged with the partition: never mounts sectors another store wrote.
    let store = FlashStore::mount_tagged(flash, LIMITS, guid).map_err(Failure::Mount)?;
    match store.active() {
        Some((s, seq)) => sp_rt::log!(
            "storage: {} objects read back from flash (sector {s}, generation {seq})",
            store.len()
        ),
        None => sp_rt::log!("storage: the flash holds no store yet (erased or new)"),
    }
    Ok(Box::new(StorageService::new(flavour, store)))
}

#[cfg(test)]
mod tests;
