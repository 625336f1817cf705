//! Fragmented transmission of memory transaction descriptors (DEN0077 v1.1 §10.3
//! "Transmission of transaction descriptor in fragments"):
//!
//! - [`FragmentAssembler`]: the sender's side. A share/lend/donate whose total length exceeds
//!   the first fragment gets a handle and FFA_MEM_FRAG_RX(handle, offset) back; the sender
//!   continues with FFA_MEM_FRAG_TX(handle, fragment length) until the descriptor is whole,
//!   which then goes to the parser and [`MemShare::send_with_handle`].
//! - [`ResponseCursors`]: the receiver's side. A retrieve response larger than the receiver's
//!   RX buffer goes out in pieces: the receiver asks with FFA_MEM_FRAG_RX(handle, offset) and
//!   gets FFA_MEM_FRAG_TX(handle, length) with the next piece in its RX buffer.
//!
//! Both are bounded: fixed slots and a fixed buffer per slot; running out is NO_MEMORY.
//!
//! [`MemShare::send_with_handle`]: super::MemShare::send_with_handle

use heapless::Vec;

use super::error::Rule;
use super::request::RetrieveResponse;
use super::types::{EndpointId, MemHandle, TransactionKind};

/// Size of a constituent memory region descriptor, the unit of continuation fragments
/// (DEN0077 v1.1 Table 10.14).
pub const CONSTITUENT_SIZE: usize = 16;

/// One transmission slot, reused in place (`live` says whether it holds one): the buffer
/// is `BUF` bytes, and moving a slot in or out of an `Option` copied all of it.
#[derive(Debug)]
struct Inflight<const BUF: usize> {
    live: bool,
    handle: MemHandle,
    sender: EndpointId,
    kind: TransactionKind,
    total: u32,
    bytes: Vec<u8, BUF>,
}

impl<const BUF: usize> Inflight<BUF> {
    const FREE: Self = Inflight {
        live: false,
        handle: MemHandle::INVALID,
        sender: EndpointId(0),
        kind: TransactionKind::Share,
        total: 0,
        bytes: Vec::new(),
    };

    fn free(&mut self) {
        self.live = false;
        self.handle = MemHandle::INVALID;
        self.bytes.clear();
    }
}

/// Progress of a fragmented send after a fragment was accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FragProgress {
    /// Reply FFA_MEM_FRAG_RX with this handle and offset (bytes received so far).
    More {
        /// MemHandle of the transmission (and of the transaction if it completes).
        handle: MemHandle,
        /// Fragment offset for w3 of FFA_MEM_FRAG_RX.
        offset: u32,
    },
    /// The descriptor is whole: call [`FragmentAssembler::finish`] with this handle.
    Complete {
        /// MemHandle of the transmission.
        handle: MemHandle,
    },
}

/// Accumulates up to `SLOTS` fragmented descriptors of at most `BUF` bytes each.
#[derive(Debug)]
pub struct FragmentAssembler<const SLOTS: usize, const BUF: usize> {
    slots: [Inflight<BUF>; SLOTS],
}

impl<const SLOTS: usize, const BUF: usize> Default for FragmentAssembler<SLOTS, BUF> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const SLOTS: usize, const BUF: usize> FragmentAssembler<SLOTS, BUF> {
    /// No transmission in flight.
    pub const fn new() -> Self {
        FragmentAssembler {
            slots: [Inflight::FREE; SLOTS],
        }
    }

    fn live(&self) -> impl Iterator<Item = &Inflight<BUF>> {
        self.slots.iter().filter(|s| s.live)
    }

    /// Starts a transmission: FFA_MEM_SHARE/LEND/DONATE with `total_len` (w1) larger than
    /// the first `fragment` (w2 bytes of the TX buffer). `new_handle` is called only once
    /// everything is checked, so a refused start consumes no handle. One transmission per
    /// sender: [`FragmentAssembler::start_within`] with a quota of 1.
    pub fn start(
        &mut self,
        sender: EndpointId,
        kind: TransactionKind,
        total_len: u32,
        fragment: &[u8],
        new_handle: impl FnOnce() -> MemHandle,
    ) -> Result<FragProgress, Rule> {
        self.start_within(sender, 1, kind, total_len, fragment, new_handle)
    }

    /// As [`FragmentAssembler::start`], for a sender that may have `quota` transmissions in
    /// flight (the normal world's endpoints share one quota); beyond it NO_MEMORY.
    pub fn start_within(
        &mut self,
        sender: EndpointId,
        quota: usize,
        kind: TransactionKind,
        total_len: u32,
        fragment: &[u8],
        new_handle: impl FnOnce() -> MemHandle,
    ) -> Result<FragProgress, Rule> {
        let len = fragment.len();
        if len == 0 || len >= total_len as usize {
            // A descriptor that fits in one fragment is not a fragmented transmission.
            return Err(Rule::InvalidLength);
        }
        if total_len as usize > BUF {
            return Err(Rule::DescriptorTooLarge);
        }
        if self
            .live()
            .filter(|s| super::transaction::same_account(s.sender, sender))
            .count()
            >= quota
        {
            return Err(Rule::FragmentQuotaExceeded);
        }
        let s = self
            .slots
            .iter_mut()
            .find(|s| !s.live)
            .ok_or(Rule::FragmentSlotsExhausted)?;
        s.bytes.clear();
        // Cannot fail: len < total_len <= BUF (and the slot is still free if it did).
        s.bytes
            .extend_from_slice(fragment)
            .map_err(|_| Rule::DescriptorTooLarge)?;
        let handle = new_handle();
        s.live = true;
        s.handle = handle;
        s.sender = sender;
        s.kind = kind;
        s.total = total_len;
        Ok(FragProgress::More {
            handle,
            offset: len as u32,
        })
    }

    /// FFA_MEM_FRAG_TX(handle, fragment length) from `sender`: appends the fragment.
    pub fn push(
        &mut self,
        sender: EndpointId,
        handle: MemHandle,
        fragment: &[u8],
    ) -> Result<FragProgress, Rule> {
        let s = self
            .slots
            .iter_mut()
            .find(|s| s.live && s.handle == handle && s.sender == sender)
            .ok_or(Rule::UnknownFragmentHandle)?;
        let have = s.bytes.len();
        // Continuation fragments carry whole constituent descriptors (16 bytes each).
        if fragment.is_empty()
            || !fragment.len().is_multiple_of(CONSTITUENT_SIZE)
            || have + fragment.len() > s.total as usize
        {
            return Err(Rule::FragmentMismatch);
        }
        s.bytes
            .extend_from_slice(fragment)
            .map_err(|_| Rule::FragmentMismatch)?;
        let offset = s.bytes.len() as u32;
        Ok(if offset == s.total {
            FragProgress::Complete { handle }
        } else {
            FragProgress::More { handle, offset }
        })
    }

    /// Hands the whole descriptor of a completed transmission to `f` (parse + send), then
    /// frees the slot whatever `f` decides (`f` reads the bytes where they are). `None` if
    /// `handle` is not complete.
    pub fn finish<T>(
        &mut self,
        sender: EndpointId,
        handle: MemHandle,
        f: impl FnOnce(TransactionKind, &[u8]) -> T,
    ) -> Option<T> {
        let s = self.slots.iter_mut().find(|s| {
            s.live && s.handle == handle && s.sender == sender && s.bytes.len() == s.total as usize
        })?;
        let out = f(s.kind, &s.bytes);
        s.free();
        Some(out)
    }

    /// Abandons `sender`'s transmission `handle` (e.g. FFA_MEM_RECLAIM of a handle whose
    /// descriptor never completed, or the sender's teardown).
    pub fn abort(&mut self, sender: EndpointId, handle: MemHandle) -> Result<(), Rule> {
        let s = self
            .slots
            .iter_mut()
            .find(|s| s.live && s.handle == handle && s.sender == sender)
            .ok_or(Rule::UnknownFragmentHandle)?;
        s.free();
        Ok(())
    }

    /// Number of transmissions in flight.
    pub fn in_flight(&self) -> usize {
        self.live().count()
    }

    /// Abandons every transmission of `sender` (its restart).
    pub fn abandon_sender(&mut self, sender: EndpointId) {
        for s in self
            .slots
            .iter_mut()
            .filter(|s| s.live && s.sender == sender)
        {
            s.free();
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Cursor<const C: usize> {
    response: RetrieveResponse<C>,
    total: u32,
    sent: u32,
}

/// Retrieve responses still being transmitted, at most one per receiver (a receiver has one
/// RX buffer, so a new retrieve replaces an unfinished one). Size `N` = number of SPs.
///
/// Fragment lengths come from the encoder (it cuts at record boundaries), so the cursor only
/// checks offsets and counts bytes.
#[derive(Debug)]
pub struct ResponseCursors<const N: usize, const C: usize> {
    slots: [Option<Cursor<C>>; N],
}

impl<const N: usize, const C: usize> Default for ResponseCursors<N, C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize, const C: usize> ResponseCursors<N, C> {
    /// Nothing in transmission.
    pub const fn new() -> Self {
        ResponseCursors {
            slots: [const { None }; N],
        }
    }

    fn slot_of(&self, receiver: EndpointId) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.as_ref().is_some_and(|c| c.response.receiver == receiver))
    }

    /// Returns true if [`ResponseCursors::begin`] for `receiver` will succeed. Check it
    /// before committing a retrieve whose response will not fit the RX buffer.
    pub fn can_begin(&self, receiver: EndpointId) -> bool {
        self.slot_of(receiver).is_some() || self.slots.iter().any(Option::is_none)
    }

    /// Records that `response` encodes to `total_len` bytes of which the first
    /// `first_len` went out with FFA_MEM_RETRIEVE_RESP (w1 = total, w2 = first). Keeps a
    /// cursor only when more remains.
    pub fn begin(
        &mut self,
        response: RetrieveResponse<C>,
        total_len: u32,
        first_len: u32,
    ) -> Result<(), Rule> {
        self.begin_from(&response, total_len, first_len)
    }

    /// As [`ResponseCursors::begin`] for a response the caller keeps: it is copied only
    /// when a cursor must remember it (the response did not fit at once).
    pub fn begin_from(
        &mut self,
        response: &RetrieveResponse<C>,
        total_len: u32,
        first_len: u32,
    ) -> Result<(), Rule> {
        if first_len == 0 || first_len > total_len {
            return Err(Rule::InvalidLength);
        }
        let existing = self.slot_of(response.receiver);
        if first_len == total_len {
            // Complete at once; forget any older unfinished response of this receiver.
            if let Some(i) = existing {
                self.slots[i] = None;
            }
            return Ok(());
        }
        let i = existing
            .or_else(|| self.slots.iter().position(Option::is_none))
            .ok_or(Rule::FragmentSlotsExhausted)?;
        self.slots[i] = Some(Cursor {
            response: response.clone(),
            total: total_len,
            sent: first_len,
        });
        Ok(())
    }

    /// FFA_MEM_FRAG_RX(handle, offset) from `receiver`: checks the offset, lets `write`
    /// encode the fragment that starts there into the RX buffer (it returns the fragment
    /// length, 0 if it could not), and advances. Returns the length for w3 of
    /// FFA_MEM_FRAG_TX.
    pub fn next(
        &mut self,
        receiver: EndpointId,
        handle: MemHandle,
        offset: u32,
        write: impl FnOnce(&RetrieveResponse<C>, u32) -> u32,
    ) -> Result<u32, Rule> {
        let i = self
            .slot_of(receiver)
            .filter(|&i| {
                self.slots[i]
                    .as_ref()
                    .is_some_and(|c| c.response.handle == handle)
            })
            .ok_or(Rule::UnknownFragmentHandle)?;
        let Some(c) = self.slots[i].as_mut() else {
            return Err(Rule::UnknownFragmentHandle);
        };
        if offset != c.sent {
            return Err(Rule::FragmentMismatch);
        }
        let len = write(&c.response, offset);
        if len == 0 || len > c.total - c.sent {
            return Err(Rule::FragmentMismatch);
        }
        c.sent += len;
        if c.sent == c.total {
            self.slots[i] = None;
        }
        Ok(len)
    }

    /// Forgets `receiver`'s unfinished response (its restart).
    pub fn forget(&mut self, receiver: EndpointId) {
        if let Some(i) = self.slot_of(receiver) {
            self.slots[i] = None;
        }
    }

    /// Returns true if `receiver` still has part of a response of `handle` to fetch.
    pub fn pending(&self, receiver: EndpointId, handle: MemHandle) -> bool {
        self.slots
            .iter()
            .flatten()
            .any(|c| c.response.receiver == receiver && c.response.handle == handle)
    }
}
