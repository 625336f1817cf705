//! Memory sharing for a partition (FF-A v1.2 / DEN0140 memory management): as a borrower,
//! FFA_MEM_RETRIEVE_REQ / FFA_MEM_RETRIEVE_RESP / FFA_MEM_RELINQUISH; as an owner,
//! FFA_MEM_SHARE of its own pages ([`SharedPage`]) and FFA_MEM_RECLAIM. Descriptors are built
//! with `ffa-abi` in our TX buffer; responses arrive in our RX buffer, which is given back with
//! FFA_RX_RELEASE once read.
//!
//! A response larger than the RX buffer arrives in fragments: the runtime copies each one to
//! the heap, releases RX and asks for the next with FFA_MEM_FRAG_RX until it has the whole
//! descriptor (at most [`MAX_RETRIEVE_RESPONSE`] bytes; a larger one is undone with
//! FFA_MEM_RELINQUISH and reported NO_MEMORY).

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::UnsafeCell;

use crate::abi::fid;
use crate::conduit::{Conduit, RegsExt};
use crate::ffa::{expect_success, EndpointId, Error, ErrorCode, Ffa, Result, Version};
use crate::rxtx::RxTx;
use ffa_abi::interface::{Interface, MemTxArgs};
use ffa_abi::memory::relinquish::write_relinquish;
use ffa_abi::memory::transaction::{builder_for, MemAccess, MemTransaction};
use ffa_abi::memory::{DataAccess, InstructionAccess, MemAttributes, PAGE_SIZE};

pub use ffa_abi::memory::{AccessPerms, Constituent};
pub use ffa_abi::MemHandle;

/// Largest retrieve response the runtime reassembles (about 4000 constituents).
pub const MAX_RETRIEVE_RESPONSE: u32 = 0x1_0000;

/// Read-only, not executable: what a borrower asks for to read shared data.
pub const RO_NX: AccessPerms = AccessPerms {
    data: DataAccess::ReadOnly,
    instruction: InstructionAccess::NotExecutable,
};
/// Read-write, not executable.
pub const RW_NX: AccessPerms = AccessPerms::RW_NX;

/// What a retrieve gave us: the region as mapped in our address space. Only
/// [`Ffa::mem_retrieve`] makes one (from the SPMC's response), and
/// [`Ffa::mem_relinquish_region`] consumes it, so while it exists its constituents are mapped.
#[derive(Debug, PartialEq, Eq)]
pub struct Retrieved {
    handle: MemHandle,
    sender: EndpointId,
    perms: AccessPerms,
    attributes: MemAttributes,
    constituents: Vec<Constituent>,
}

impl Retrieved {
    /// Returns the handle.
    pub fn handle(&self) -> MemHandle {
        self.handle
    }

    /// Returns the owner (lender).
    pub fn sender(&self) -> EndpointId {
        self.sender
    }

    /// Returns the permissions the SPMC granted.
    pub fn perms(&self) -> AccessPerms {
        self.perms
    }

    /// Returns the memory region attributes of the SPMC's response (how the region is mapped:
    /// e.g. Device-nGnRE for a device region).
    pub fn attributes(&self) -> MemAttributes {
        self.attributes
    }

    /// Returns the constituents, at the addresses where the SPMC mapped them for us.
    pub fn constituents(&self) -> &[Constituent] {
        &self.constituents
    }

    /// Reads the naturally aligned u32 at byte `offset` of the region.
    pub fn read_u32(&self, offset: u64) -> Option<u32> {
        let p: *const u32 = self.word_ptr(offset)?;
        // SAFETY: `word_ptr` checked that the 4 bytes lie inside one constituent of the
        // SPMC's retrieve response and are 4-byte aligned; the SPMC mapped every constituent
        // readable in our address space at that address from the retrieve until we relinquish,
        // and a `Retrieved` only exists in between (relinquishing consumes it). Volatile: the
        // owner may change shared memory at any time.
        Some(unsafe { p.read_volatile() })
    }

    /// Writes the naturally aligned u32 at byte `offset`; `None` if out of range or we were
    /// not granted write access.
    pub fn write_u32(&mut self, offset: u64, value: u32) -> Option<()> {
        if self.perms.data != DataAccess::ReadWrite {
            return None;
        }
        let p: *mut u32 = self.word_ptr(offset)?.cast_mut();
        // SAFETY: as in `read_u32`, and the SPMC granted read-write access (checked above), so
        // the mapping is writable; `&mut self` keeps this the only access through us.
        unsafe { p.write_volatile(value) };
        Some(())
    }

    fn word_ptr(&self, offset: u64) -> Option<*const u32> {
        let a = self.address_of(offset, 4)?;
        if !a.is_multiple_of(4) {
            return None;
        }
        Some(core::ptr::with_exposed_provenance(usize::try_from(a).ok()?))
    }

    /// Returns the total number of 4 KiB pages.
    pub fn pages(&self) -> u64 {
        self.constituents
            .iter()
            .map(|c| u64::from(c.page_count))
            .sum()
    }

    /// Returns the address of byte `offset` and how many bytes, up to `want`, follow it
    /// contiguously in the same constituent.
    fn run_at(&self, offset: u64, want: u64) -> Option<(u64, u64)> {
        let mut rest = offset;
        for c in &self.constituents {
            let size = u64::from(c.page_count).checked_mul(PAGE_SIZE)?;
            if rest < size {
                return Some((c.address.checked_add(rest)?, want.min(size - rest)));
            }
            rest -= size;
        }
        None
    }

    /// Copies `out.len()` bytes from byte `offset` of the region (across constituents).
    /// `None`, with `out` partly written, if the range leaves the region.
    pub fn read_bytes(&self, offset: u64, out: &mut [u8]) -> Option<()> {
        let mut done = 0usize;
        while done < out.len() {
            let at = offset.checked_add(u64::try_from(done).ok()?)?;
            let want = u64::try_from(out.len() - done).ok()?;
            let (addr, n) = self.run_at(at, want)?;
            let n = usize::try_from(n).ok()?;
            let base = usize::try_from(addr).ok()?;
            let dst = &mut out[done..done + n];
            let mut i = 0;
            while i < n {
                let a = base + i;
                if a.is_multiple_of(8) && n - i >= 8 {
                    let p: *const u64 = core::ptr::with_exposed_provenance(a);
                    // SAFETY: `run_at` found [a, a + 8) inside one constituent of the SPMC's
                    // retrieve response, which is mapped readable at that address until we
                    // relinquish (which consumes `self`); `a` is 8-byte aligned. Volatile: the
                    // owner may write the memory at any time.
                    let w = unsafe { p.read_volatile() };
                    dst[i..i + 8].copy_from_slice(&w.to_ne_bytes());
                    i += 8;
                } else {
                    let p: *const u8 = core::ptr::with_exposed_provenance(a);
                    // SAFETY: as above, for the one byte at `a`.
                    dst[i] = unsafe { p.read_volatile() };
                    i += 1;
                }
            }
            done += n;
        }
        Some(())
    }

    /// Copies `data` to byte `offset` of the region (across constituents). `None` if we were
    /// not granted write access or the range leaves the region (then nothing is written).
    pub fn write_bytes(&mut self, offset: u64, data: &[u8]) -> Option<()> {
        if self.perms.data != DataAccess::ReadWrite {
            return None;
        }
        let len = u64::try_from(data.len()).ok()?;
        if offset.checked_add(len)? > self.pages().checked_mul(PAGE_SIZE)? {
            return None;
        }
        let mut done = 0usize;
        while done < data.len() {
            let at = offset.checked_add(u64::try_from(done).ok()?)?;
            let want = u64::try_from(data.len() - done).ok()?;
            let (addr, n) = self.run_at(at, want)?;
            let n = usize::try_from(n).ok()?;
            let base = usize::try_from(addr).ok()?;
            let src = &data[done..done + n];
            let mut i = 0;
            while i < n {
                let a = base + i;
                if a.is_multiple_of(8) && n - i >= 8 {
                    let mut w = [0u8; 8];
                    w.copy_from_slice(&src[i..i + 8]);
                    let p: *mut u64 = core::ptr::with_exposed_provenance_mut(a);
                    // SAFETY: as in `read_bytes`, and the SPMC granted read-write access
                    // (checked above), so the mapping is writable; `&mut self` makes this the
                    // only access through us.
                    unsafe { p.write_volatile(u64::from_ne_bytes(w)) };
                    i += 8;
                } else {
                    let p: *mut u8 = core::ptr::with_exposed_provenance_mut(a);
                    // SAFETY: as above, for the one byte at `a`.
                    unsafe { p.write_volatile(src[i]) };
                    i += 1;
                }
            }
            done += n;
        }
        Some(())
    }

    /// Returns the address of byte `offset` of the region (counting across constituents), if
    /// `len` bytes from there lie in one constituent.
    pub fn address_of(&self, offset: u64, len: u64) -> Option<u64> {
        let mut rest = offset;
        for c in &self.constituents {
            let size = u64::from(c.page_count).checked_mul(PAGE_SIZE)?;
            if rest < size {
                return (rest.checked_add(len)? <= size).then(|| c.address + rest);
            }
            rest -= size;
        }
        None
    }
}

/// Read-write with instruction access not specified: what an owner grants a borrower in
/// FFA_MEM_SHARE (the borrower's retrieve request then asks for not-executable).
pub const SHARE_RW: AccessPerms = AccessPerms {
    data: DataAccess::ReadWrite,
    instruction: InstructionAccess::NotSpecified,
};

/// One 4 KiB page of the partition's own memory (on its heap, inside its RW window), to share
/// with other endpoints. While it is shared others may write it at any time, so it is an
/// `UnsafeCell` and every access is volatile.
#[repr(C, align(4096))]
pub struct SharedPage(UnsafeCell<[u8; 0x1000]>);

impl SharedPage {
    /// Allocates a zeroed page on the heap.
    pub fn new_boxed() -> Box<Self> {
        Box::new(SharedPage(UnsafeCell::new([0; 0x1000])))
    }

    /// Returns the page's address (VA = PA in the partition's identity mapping).
    pub fn addr(&self) -> u64 {
        self.0.get() as u64
    }

    fn word(&self, offset: usize) -> Option<*mut u32> {
        if !offset.is_multiple_of(4) || offset.checked_add(4)? > 0x1000 {
            return None;
        }
        // In bounds (checked above) of the array the cell holds.
        Some(self.0.get().cast::<u8>().wrapping_add(offset).cast::<u32>())
    }

    /// Reads the aligned u32 at `offset`.
    pub fn read_u32(&self, offset: usize) -> Option<u32> {
        let p = self.word(offset)?;
        // SAFETY: `p` points to 4 aligned bytes inside this live page (checked by `word`); the
        // UnsafeCell makes writes by other endpoints through their own mappings legitimate, and
        // the volatile read makes the compiler actually load the current value.
        Some(unsafe { p.read_volatile() })
    }

    /// Writes the aligned u32 at `offset`.
    pub fn write_u32(&self, offset: usize, value: u32) -> Option<()> {
        let p = self.word(offset)?;
        // SAFETY: as in `read_u32`; writing through the UnsafeCell's pointer is allowed with
        // a shared reference, and nothing in this partition holds a reference into the bytes.
        unsafe { p.write_volatile(value) };
        Some(())
    }
}

impl core::fmt::Debug for SharedPage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SharedPage({:#x})", self.addr())
    }
}

/// Encodes an FFA_ERROR status from a descriptor build/parse error.
fn ffa_err(code: ErrorCode) -> Error {
    Error::Ffa(code)
}

/// The SMC32 arguments of a memory call whose whole `len`-byte descriptor is in our TX buffer
/// (w1 total length = w2 fragment length, no buffer address).
fn tx_args(len: usize) -> Result<MemTxArgs> {
    let len = u32::try_from(len).map_err(|_| ffa_err(ErrorCode::NoMemory))?;
    Ok(MemTxArgs {
        total_len: len,
        frag_len: len,
        buffer: None,
        is_64: false,
    })
}

impl<C: Conduit> Ffa<C> {
    /// Retrieves the memory `handle` that `owner` shared/lent/donated to us (`me`), asking for
    /// `perms`, with descriptors in the layout of our FF-A `version`. Reads the response from
    /// RX and releases RX.
    #[allow(clippy::too_many_arguments)] // each is a field of the retrieve request
    pub fn mem_retrieve(
        &mut self,
        rxtx: &mut RxTx,
        version: Version,
        me: EndpointId,
        owner: EndpointId,
        handle: MemHandle,
        tag: u64,
        perms: AccessPerms,
    ) -> Result<Retrieved> {
        let attributes = MemAttributes::NOT_SPECIFIED;
        self.mem_retrieve_with(rxtx, version, me, owner, handle, tag, perms, attributes)
    }

    /// [`Self::mem_retrieve`] asking for memory region `attributes` (DEN0140: at least as
    /// restrictive as the sender's; "not specified" leaves them to the sender and the SPMC).
    #[allow(clippy::too_many_arguments)] // each is a field of the retrieve request
    pub fn mem_retrieve_with(
        &mut self,
        rxtx: &mut RxTx,
        version: Version,
        me: EndpointId,
        owner: EndpointId,
        handle: MemHandle,
        tag: u64,
        perms: AccessPerms,
        attributes: MemAttributes,
    ) -> Result<Retrieved> {
        let receivers = [MemAccess::new(me, perms)];
        let mut b =
            builder_for(version, owner, &receivers, &[]).map_err(|e| ffa_err(e.error_code()))?;
        b.handle = handle;
        b.tag = tag;
        b.attributes = attributes;
        let len = rxtx
            .with_tx(|tx| b.write(tx))
            .map_err(|e| ffa_err(e.error_code()))?;
        // The whole descriptor, in our TX buffer (no buffer address).
        let r = self.call(Interface::MemRetrieveReq(tx_args(len)?).encode());
        if r.fid() != fid::MEM_RETRIEVE_RESP {
            return Err(match expect_success(r) {
                Ok(r) => Error::Unexpected(r.fid()),
                Err(e) => e,
            });
        }
        let (total, first) = (r.w(1), r.w(2));
        let parsed = self
            .reassemble(rxtx, handle, total, first)
            .and_then(|desc| {
                let t =
                    MemTransaction::parse(&desc, version).map_err(|e| ffa_err(e.error_code()))?;
                let granted = t.receivers().find(|a| a.endpoint == me).map(|a| a.perms);
                Ok(Retrieved {
                    handle: t.handle,
                    sender: t.sender,
                    perms: granted.unwrap_or(perms),
                    attributes: t.attributes,
                    constituents: t.constituents().collect(),
                })
            });
        match parsed {
            Ok(region) => Ok(region),
            Err(e) => {
                // The SPMC mapped the region even if we cannot use the answer: give it back.
                let _ = self.mem_relinquish(rxtx, me, handle);
                Err(e)
            }
        }
    }

    /// Collects a retrieve response of `total` bytes whose first `first` bytes are in RX:
    /// copies each fragment out, releases RX, and asks for the next one with FFA_MEM_FRAG_RX
    /// (w1/w2 = handle, w3 = offset) until the descriptor is whole. RX is released on every
    /// path, since the SPMC filled it.
    fn reassemble(
        &mut self,
        rxtx: &RxTx,
        handle: MemHandle,
        total: u32,
        first: u32,
    ) -> Result<Vec<u8>> {
        let mut desc: Vec<u8> = Vec::new();
        let mut frag = first;
        loop {
            let copied = rxtx.with_rx(|rx| {
                let n = usize::try_from(frag).ok()?;
                let bytes = rx.get(..n)?;
                let room = usize::try_from(total).ok()?.checked_sub(desc.len())?;
                if n == 0 || n > room || total > MAX_RETRIEVE_RESPONSE {
                    return None;
                }
                desc.try_reserve_exact(n).ok()?;
                desc.extend_from_slice(bytes);
                Some(())
            });
            let released = self.rx_release();
            if copied.is_none() {
                let code = if total > MAX_RETRIEVE_RESPONSE {
                    ErrorCode::NoMemory
                } else {
                    ErrorCode::InvalidParameters
                };
                return Err(ffa_err(code));
            }
            released?;
            let offset = u32::try_from(desc.len()).map_err(|_| ffa_err(ErrorCode::NoMemory))?;
            if offset == total {
                return Ok(desc);
            }
            let r = self.call(
                Interface::MemFragRx {
                    handle,
                    offset,
                    sender: EndpointId(0),
                }
                .encode(),
            );
            if r.fid() != fid::MEM_FRAG_TX || MemHandle::from_regs(r.w(1), r.w(2)) != handle {
                return Err(match expect_success(r) {
                    Ok(r) => Error::Unexpected(r.fid()),
                    Err(e) => e,
                });
            }
            frag = r.w(3);
        }
    }

    /// Shares our own pages (FFA_MEM_SHARE_32, descriptor in TX, layout of our `version`) with
    /// `receivers`, as normal write-back inner-shareable memory. Returns the handle.
    pub fn mem_share(
        &mut self,
        rxtx: &mut RxTx,
        version: Version,
        me: EndpointId,
        receivers: &[(EndpointId, AccessPerms)],
        constituents: &[Constituent],
    ) -> Result<MemHandle> {
        let access: Vec<MemAccess> = receivers
            .iter()
            .map(|(e, p)| MemAccess::new(*e, *p))
            .collect();
        let mut b =
            builder_for(version, me, &access, constituents).map_err(|e| ffa_err(e.error_code()))?;
        b.attributes = MemAttributes::NORMAL_WB_INNER;
        let len = rxtx
            .with_tx(|tx| b.write(tx))
            .map_err(|e| ffa_err(e.error_code()))?;
        let r = expect_success(self.call(Interface::MemShare(tx_args(len)?).encode()))?;
        Ok(MemHandle::from_regs(r.w(2), r.w(3)))
    }

    /// Takes back memory we shared (FFA_MEM_RECLAIM, w1/w2 = handle, w3 = flags).
    pub fn mem_reclaim(&mut self, handle: MemHandle, flags: u32) -> Result<()> {
        expect_success(self.call(Interface::MemReclaim { handle, flags }.encode())).map(|_| ())
    }

    /// Gives back a region we retrieved (FFA_MEM_RELINQUISH). On failure the region is
    /// handed back so the caller still holds it.
    pub fn mem_relinquish_region(
        &mut self,
        rxtx: &mut RxTx,
        me: EndpointId,
        region: Retrieved,
    ) -> core::result::Result<(), (Error, Retrieved)> {
        match self.mem_relinquish(rxtx, me, region.handle) {
            Ok(()) => Ok(()),
            Err(e) => Err((e, region)),
        }
    }

    /// Gives back memory we retrieved (FFA_MEM_RELINQUISH with the descriptor in TX), by
    /// handle.
    pub fn mem_relinquish(
        &mut self,
        rxtx: &mut RxTx,
        me: EndpointId,
        handle: MemHandle,
    ) -> Result<()> {
        rxtx.with_tx(|tx| write_relinquish(handle, 0, &[me], tx))
            .map_err(|e| ffa_err(e.error_code()))?;
        expect_success(self.call(Interface::MemRelinquish.encode())).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conduit::Regs;
    use crate::testing::{error_reply, success_reply, FakeSpmc};
    use ffa_abi::memory::relinquish::MemRelinquish;

    #[repr(C, align(4096))]
    struct Page([u8; 4096]);

    fn pair(rx: &mut Page, tx: &mut Page) -> RxTx {
        // SAFETY: both pages outlive the pair in each test and are only used through it.
        unsafe { RxTx::from_raw(rx.0.as_ptr(), tx.0.as_mut_ptr()) }
    }

    const ME: EndpointId = EndpointId(0x8001);
    const OWNER: EndpointId = EndpointId(0x0000);

    /// Writes the response the SPMC would put in RX: one receiver, `constituents`.
    fn response(rx: &mut Page, constituents: &[Constituent]) -> u32 {
        let receivers = [MemAccess::new(ME, RW_NX)];
        let mut b = builder_for(Version::V1_2, OWNER, &receivers, constituents).unwrap();
        b.handle = MemHandle(0x1234_5678_9ABC);
        b.tag = 7;
        b.write(&mut rx.0).unwrap() as u32
    }

    #[test]
    fn retrieve_writes_the_request_reads_the_response_and_releases_rx() {
        let mut rx = Box::new(Page([0; 4096]));
        let mut tx = Box::new(Page([0; 4096]));
        let cons = [
            Constituent {
                address: 0x3000_0000,
                page_count: 2,
            },
            Constituent {
                address: 0x3010_0000,
                page_count: 1,
            },
        ];
        let n = response(&mut rx, &cons);
        let resp = Regs::call(0x8400_0075, &[u64::from(n), u64::from(n)]);
        let mut ffa = Ffa::new(FakeSpmc::with_replies([resp, success_reply(&[])]));
        let mut p = pair(&mut rx, &mut tx);
        let got = ffa
            .mem_retrieve(
                &mut p,
                Version::V1_2,
                ME,
                OWNER,
                MemHandle(0x1234_5678_9ABC),
                7,
                RW_NX,
            )
            .unwrap();
        assert_eq!(got.handle(), MemHandle(0x1234_5678_9ABC));
        assert_eq!(got.constituents(), &cons[..]);
        assert_eq!(got.pages(), 3);
        assert_eq!(got.address_of(0x1FFC, 4), Some(0x3000_1FFC));
        assert_eq!(
            got.address_of(0x1FFE, 4),
            None,
            "runs past the end of constituent 0"
        );
        assert_eq!(got.address_of(0x2000, 8), Some(0x3010_0000));
        assert_eq!(got.address_of(0x3000, 1), None);
        let calls = ffa.conduit().calls.clone();
        assert_eq!(calls[0].fid(), 0x8400_0074);
        let len = calls[0].x(1);
        assert_eq!(calls[0].x(2), len);
        assert_eq!((calls[0].x(3), calls[0].x(4)), (0, 0));
        assert_eq!(calls[1].fid(), 0x8400_0065, "RX released");
        // The request in TX is a valid retrieve request naming the handle and us.
        let t = MemTransaction::parse(&tx.0[..len as usize], Version::V1_2).unwrap();
        assert_eq!(t.handle, MemHandle(0x1234_5678_9ABC));
        assert_eq!(t.tag, 7);
        assert_eq!(t.sender, OWNER);
        assert_eq!(t.receivers().next().map(|a| a.endpoint), Some(ME));
        assert_eq!(t.constituent_count(), 0);
    }

    #[test]
    fn bytes_cross_constituents_and_respect_bounds_and_permissions() {
        let mut rx = Box::new(Page([0; 4096]));
        let mut tx = Box::new(Page([0; 4096]));
        let mut a = Box::new(Page([0; 4096]));
        let mut b = Box::new(Page([0; 4096]));
        let cons = [
            Constituent {
                address: a.0.as_mut_ptr().expose_provenance() as u64,
                page_count: 1,
            },
            Constituent {
                address: b.0.as_mut_ptr().expose_provenance() as u64,
                page_count: 1,
            },
        ];
        let n = response(&mut rx, &cons);
        let resp = Regs::call(0x8400_0075, &[u64::from(n), u64::from(n)]);
        let mut ffa = Ffa::new(FakeSpmc::with_replies([resp, success_reply(&[])]));
        let mut p = pair(&mut rx, &mut tx);
        let mut got = ffa
            .mem_retrieve(&mut p, Version::V1_2, ME, OWNER, MemHandle(1), 0, RW_NX)
            .unwrap();
        let data: Vec<u8> = (0..40u8).collect();
        // Unaligned, crossing from page a into page b.
        assert_eq!(got.write_bytes(0xFF3, &data), Some(()));
        let mut back = [0u8; 40];
        assert_eq!(got.read_bytes(0xFF3, &mut back), Some(()));
        assert_eq!(back[..], data[..]);
        assert_eq!(a.0[0xFF3..], data[..13]);
        assert_eq!(b.0[..27], data[13..]);
        // Past the end: refused, nothing written.
        assert_eq!(got.write_bytes(0x1FF0, &[0xEE; 17]), None);
        assert!(b.0[0xFF0..].iter().all(|x| *x == 0));
        assert_eq!(got.read_bytes(0x1FFF, &mut [0; 2]), None);
        assert_eq!(got.read_bytes(0x2000, &mut []), Some(()));
        got.perms = RO_NX;
        assert_eq!(got.write_bytes(0, &[1]), None);
        assert_eq!(a.0[0], 0);
    }

    #[test]
    fn retrieve_with_attributes_asks_for_them_and_reports_the_answer() {
        let mut rx = Box::new(Page([0; 4096]));
        let mut tx = Box::new(Page([0; 4096]));
        let cons = [Constituent {
            address: 0x6004_0000,
            page_count: 1,
        }];
        // The SPMC answers Device-nGnRE (0x14), as for a device region.
        let device = MemAttributes::decode(0x14, ffa_abi::memory::Layout::V1_1).unwrap();
        let receivers = [MemAccess::new(ME, RW_NX)];
        let mut b = builder_for(Version::V1_2, OWNER, &receivers, &cons).unwrap();
        b.handle = MemHandle(9);
        b.attributes = device;
        let n = b.write(&mut rx.0).unwrap() as u64;
        let resp = Regs::call(0x8400_0075, &[n, n]);
        let mut ffa = Ffa::new(FakeSpmc::with_replies([resp, success_reply(&[])]));
        let mut p = pair(&mut rx, &mut tx);
        let got = ffa
            .mem_retrieve_with(
                &mut p,
                Version::V1_2,
                ME,
                OWNER,
                MemHandle(9),
                0,
                RW_NX,
                device,
            )
            .unwrap();
        assert_eq!(got.attributes().encode(), 0x14);
        let len = ffa.conduit().calls[0].x(1) as usize;
        let t = MemTransaction::parse(&tx.0[..len], Version::V1_2).unwrap();
        assert_eq!(
            t.attributes.encode(),
            0x14,
            "the request asks for Device-nGnRE"
        );
    }

    #[test]
    fn retrieve_errors_and_fragmented_responses() {
        let mut rx = Box::new(Page([0; 4096]));
        let mut tx = Box::new(Page([0; 4096]));
        let mut ffa = Ffa::new(FakeSpmc::with_replies([error_reply(-6)]));
        let mut p = pair(&mut rx, &mut tx);
        let h = MemHandle(5);
        assert_eq!(
            ffa.mem_retrieve(&mut p, Version::V1_2, ME, OWNER, h, 0, RO_NX),
            Err(Error::Ffa(ErrorCode::Denied))
        );
        assert_eq!(
            ffa.conduit().calls.len(),
            1,
            "nothing to release after an error"
        );

        // A response larger than the runtime reassembles: release RX, relinquish, NO_MEMORY.
        let huge = Regs::call(0x8400_0075, &[0x10_0000, 0x1000]);
        let mut ffa = Ffa::new(FakeSpmc::with_replies([
            huge,
            success_reply(&[]),
            success_reply(&[]),
        ]));
        assert_eq!(
            ffa.mem_retrieve(&mut p, Version::V1_2, ME, OWNER, h, 0, RO_NX),
            Err(Error::Ffa(ErrorCode::NoMemory))
        );
        let fids: Vec<u32> = ffa.conduit().calls.iter().map(|c| c.fid()).collect();
        assert_eq!(fids, vec![0x8400_0074, 0x8400_0065, 0x8400_0076]);

        // A fragment longer than the announced total is refused the same way.
        let bad = Regs::call(0x8400_0075, &[0x100, 0x200]);
        let mut ffa = Ffa::new(FakeSpmc::with_replies([
            bad,
            success_reply(&[]),
            success_reply(&[]),
        ]));
        assert_eq!(
            ffa.mem_retrieve(&mut p, Version::V1_2, ME, OWNER, h, 0, RO_NX),
            Err(Error::Ffa(ErrorCode::InvalidParameters))
        );
        let fids: Vec<u32> = ffa.conduit().calls.iter().map(|c| c.fid()).collect();
        assert_eq!(fids, vec![0x8400_0074, 0x8400_0065, 0x8400_0076]);
    }

    #[test]
    fn fragmented_responses_are_reassembled_with_frag_rx() {
        // 300 constituents do not fit in one 4 KiB RX page (16 bytes each).
        let cons: Vec<Constituent> = (0..300)
            .map(|i| Constituent {
                address: 0x3000_0000 + i * 0x1000,
                page_count: 1,
            })
            .collect();
        let receivers = [MemAccess::new(ME, RW_NX)];
        let mut b = builder_for(Version::V1_2, OWNER, &receivers, &cons).unwrap();
        b.handle = MemHandle(0x77);
        let total = b.total_len().unwrap();
        let mut whole = vec![0u8; total];
        b.write(&mut whole).unwrap();
        // The fake SPMC hands the descriptor out in 4000-byte fragments; the test copies
        // each into RX before the call that announces it, as the SPMC would.
        let mut rx = Box::new(Page([0; 4096]));
        let mut tx = Box::new(Page([0; 4096]));
        let rx_ptr = rx.0.as_mut_ptr();
        let chunks: Vec<&[u8]> = whole.chunks(4000).collect();
        assert_eq!(chunks.len(), 2);
        rx.0[..chunks[0].len()].copy_from_slice(chunks[0]);
        let first = Regs::call(0x8400_0075, &[total as u64, chunks[0].len() as u64]);
        let next = Regs::call(0x8400_007B, &[0x77, 0, chunks[1].len() as u64]);

        struct Staged<'a> {
            inner: FakeSpmc,
            rx: *mut u8,
            second: &'a [u8],
        }
        impl Conduit for Staged<'_> {
            fn call(&mut self, regs: Regs) -> Regs {
                if regs.fid() == 0x8400_007A {
                    // SAFETY: `rx` is the test's RX page, alive for the whole test and not
                    // borrowed while the runtime is inside an FF-A call.
                    unsafe {
                        core::ptr::copy_nonoverlapping(
                            self.second.as_ptr(),
                            self.rx,
                            self.second.len(),
                        )
                    };
                }
                self.inner.call(regs)
            }
        }
        let fake = FakeSpmc::with_replies([first, success_reply(&[]), next, success_reply(&[])]);
        let mut ffa = Ffa::new(Staged {
            inner: fake,
            rx: rx_ptr,
            second: chunks[1],
        });
        let mut p = pair(&mut rx, &mut tx);
        let got = ffa
            .mem_retrieve(&mut p, Version::V1_2, ME, OWNER, MemHandle(0x77), 0, RW_NX)
            .unwrap();
        assert_eq!(got.constituents(), &cons[..]);
        let calls = &ffa.conduit().inner.calls;
        let fids: Vec<u32> = calls.iter().map(|c| c.fid()).collect();
        assert_eq!(
            fids,
            vec![0x8400_0074, 0x8400_0065, 0x8400_007A, 0x8400_0065]
        );
        assert_eq!(
            (calls[2].x(1), calls[2].x(2), calls[2].x(3)),
            (0x77, 0, 4000)
        );
    }

    #[test]
    fn region_words_are_read_and_written_in_bounds_only() {
        // The "shared memory" is a host page whose address the fake SPMC's response names.
        let mut shared = Box::new(Page([0; 4096]));
        shared.0[8..12].copy_from_slice(&0xCAFE_F00Du32.to_le_bytes());
        let addr = shared.0.as_mut_ptr() as u64;
        let mut rx = Box::new(Page([0; 4096]));
        let mut tx = Box::new(Page([0; 4096]));
        let n = response(
            &mut rx,
            &[Constituent {
                address: addr,
                page_count: 1,
            }],
        );
        let resp = Regs::call(0x8400_0075, &[u64::from(n), u64::from(n)]);
        let mut ffa = Ffa::new(FakeSpmc::with_replies([resp, success_reply(&[])]));
        let mut p = pair(&mut rx, &mut tx);
        let mut got = ffa
            .mem_retrieve(&mut p, Version::V1_2, ME, OWNER, MemHandle(1), 0, RW_NX)
            .unwrap();
        assert_eq!(got.read_u32(8), Some(0xCAFE_F00D));
        assert_eq!(got.write_u32(8, 0x1234_5678), Some(()));
        assert_eq!(got.read_u32(4094), None, "past the end");
        assert_eq!(got.read_u32(6), None, "unaligned");
        ffa.mem_relinquish_region(&mut p, ME, got).unwrap();
        assert_eq!(shared.0[8..12], 0x1234_5678u32.to_le_bytes());
    }

    #[test]
    fn share_writes_the_descriptor_and_returns_the_handle_then_reclaims() {
        let mut rx = Box::new(Page([0; 4096]));
        let mut tx = Box::new(Page([0; 4096]));
        let page = SharedPage::new_boxed();
        assert_eq!(page.addr() % 4096, 0);
        page.write_u32(0, 0x5AFE).unwrap();
        assert_eq!(page.read_u32(0), Some(0x5AFE));
        assert_eq!(page.read_u32(4094), None);
        assert_eq!(page.write_u32(2, 1), None);
        let to = EndpointId(0x8003);
        let cons = [Constituent {
            address: page.addr(),
            page_count: 1,
        }];
        let mut ffa = Ffa::new(FakeSpmc::with_replies([
            success_reply(&[0x9, 0x1]),
            success_reply(&[]),
        ]));
        let mut p = pair(&mut rx, &mut tx);
        let h = ffa
            .mem_share(&mut p, Version::V1_2, ME, &[(to, SHARE_RW)], &cons)
            .unwrap();
        assert_eq!(h, MemHandle(0x1_0000_0009));
        ffa.mem_reclaim(h, 0).unwrap();
        let c = &ffa.conduit().calls;
        assert_eq!(c[0].fid(), 0x8400_0073);
        let len = c[0].x(1) as usize;
        assert_eq!((c[0].x(2), c[0].x(3), c[0].x(4)), (len as u64, 0, 0));
        assert_eq!(
            (c[1].fid(), c[1].x(1), c[1].x(2), c[1].x(3)),
            (0x8400_0077, 9, 1, 0)
        );
        let t = MemTransaction::parse(&tx.0[..len], Version::V1_2).unwrap();
        assert_eq!(t.sender, ME);
        assert_eq!(
            t.receivers().next().map(|a| (a.endpoint, a.perms)),
            Some((to, SHARE_RW))
        );
        assert_eq!(t.constituents().collect::<Vec<_>>(), cons.to_vec());
        assert_eq!(t.attributes, MemAttributes::NORMAL_WB_INNER);
    }

    #[test]
    fn relinquish_names_the_handle_and_us() {
        let mut rx = Box::new(Page([0; 4096]));
        let mut tx = Box::new(Page([0; 4096]));
        let mut ffa = Ffa::new(FakeSpmc::default());
        let mut p = pair(&mut rx, &mut tx);
        ffa.mem_relinquish(&mut p, ME, MemHandle(0xABCD)).unwrap();
        assert_eq!(ffa.conduit().calls[0].fid(), 0x8400_0076);
        let d = MemRelinquish::parse(&tx.0).unwrap();
        assert_eq!(d.handle, MemHandle(0xABCD));
        assert_eq!(d.endpoints().collect::<Vec<_>>(), vec![ME]);
    }
}
