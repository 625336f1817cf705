//! The partition's RX/TX buffer pair (FF-A v1.2 section "RX/TX buffer management":
//! FFA_RXTX_MAP, FFA_RXTX_UNMAP, FFA_RX_RELEASE). The runtime's linker script reserves one
//! page-aligned 4 KiB page for each inside the SP's RW window, so they are pages the SP owns,
//! as FFA_RXTX_MAP requires.

use crate::conduit::Conduit;
use crate::ffa::{Ffa, Result};

/// Size of each buffer: one 4 KiB page (the minimum granule FF-A allows).
pub const BUFFER_SIZE: usize = 0x1000;

/// A mapped RX/TX pair. Access goes through short-lived slices because the SPMC writes RX
/// between our calls.
#[derive(Debug)]
pub struct RxTx {
    rx: *const u8,
    tx: *mut u8,
}

impl RxTx {
    /// Wraps two buffers without mapping them.
    ///
    /// # Safety
    /// `rx` and `tx` must each point to [`BUFFER_SIZE`] bytes, 4 KiB aligned, valid for the
    /// rest of the program, used by nothing else, `tx` writable.
    pub const unsafe fn from_raw(rx: *const u8, tx: *mut u8) -> Self {
        Self { rx, tx }
    }

    /// Maps the pair with FFA_RXTX_MAP_64 (TX in x1, RX in x2, one page).
    pub fn map<C: Conduit>(&self, ffa: &mut Ffa<C>) -> Result<()> {
        ffa.rxtx_map(self.tx as u64, self.rx as u64, 1)
    }

    /// Unmaps the pair with FFA_RXTX_UNMAP.
    pub fn unmap<C: Conduit>(&self, ffa: &mut Ffa<C>) -> Result<()> {
        ffa.rxtx_unmap()
    }

    /// Runs `f` over the RX buffer's bytes. Call it only while we own RX (after a call that
    /// filled it, before [`Self::release`]).
    pub fn with_rx<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        rx_read::set(true);
        // SAFETY: `from_raw`'s contract makes `rx` a valid, aligned BUFFER_SIZE-byte buffer
        // that lives forever. The SPMC writes it only while the producer owns it, i.e. never
        // during this call, which runs between two of our own FF-A calls on our one context.
        let rx = unsafe { core::slice::from_raw_parts(self.rx, BUFFER_SIZE) };
        f(rx)
    }

    /// Runs `f` over the TX buffer's bytes, to fill in a message or descriptor.
    pub fn with_tx<R>(&mut self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        // SAFETY: `from_raw`'s contract makes `tx` a valid, writable BUFFER_SIZE-byte buffer
        // used by nothing else; `&mut self` makes this the only slice over it. The SPMC reads
        // TX only during our calls that pass it a message, never during this one.
        let tx = unsafe { core::slice::from_raw_parts_mut(self.tx, BUFFER_SIZE) };
        f(tx)
    }

    /// Gives RX back to the SPMC with FFA_RX_RELEASE.
    pub fn release<C: Conduit>(&self, ffa: &mut Ffa<C>) -> Result<()> {
        ffa.rx_release()
    }
}

/// Whether the partition looked at its RX buffer ([`RxTx::with_rx`], which every reader here
/// goes through) since the serving loop last cleared the mark: after an interrupt it keeps
/// the buffer over FFA_MSG_WAIT unless this is set (`RxOnWait::KeepUnlessRead`). One flag per
/// partition (its one execution context); per thread in this crate's host tests, which run
/// in parallel.
pub(crate) mod rx_read {
    #[cfg(not(test))]
    static READ: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
    #[cfg(test)]
    std::thread_local! {
        static READ: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
    }

    /// Sets the mark to `v`, returning what it was.
    #[cfg(not(test))]
    pub(crate) fn set(v: bool) -> bool {
        READ.swap(v, core::sync::atomic::Ordering::Relaxed)
    }

    /// Sets the mark to `v`, returning what it was.
    #[cfg(test)]
    pub(crate) fn set(v: bool) -> bool {
        READ.with(|r| r.replace(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conduit::RegsExt;
    use crate::testing::FakeSpmc;

    #[repr(C, align(4096))]
    struct Page([u8; BUFFER_SIZE]);

    /// Review 5 F3: an interrupt handler that read its RX buffer (e.g. the message it was
    /// waiting for) lets the wait that follows release it, as before; a read made before the
    /// event (e.g. while handling an earlier request) does not count.
    #[test]
    fn after_an_interrupt_handler_read_rx_the_wait_releases_it() {
        use crate::conduit::Regs;
        use crate::direct_msg::{serve_one, serve_one_with, DirectRequest, RxOnWait};
        use crate::ffa::Ffa;
        let rx = Box::new(Page([7; BUFFER_SIZE]));
        let mut tx = Box::new(Page([0; BUFFER_SIZE]));
        // SAFETY: both pages are boxed, aligned, one page each, and outlive the pair.
        let rxtx = unsafe { RxTx::from_raw(rx.0.as_ptr(), tx.0.as_mut_ptr()) };
        let next = Regs::call(0x8400_006F, &[0x0000_8001, 0, 42]);
        let mut ffa = Ffa::new(FakeSpmc::with_replies([next, next]));
        let mut handler = |_: &mut Ffa<FakeSpmc>, r: &DirectRequest| r.payload;
        let irq = Regs::call(0x8400_0062, &[0, 48]);
        let mut read = |_: &mut Ffa<FakeSpmc>, e| {
            assert_eq!(rxtx.with_rx(|b| b[0]), 7);
            RxOnWait::default_after(e)
        };
        assert_eq!(
            serve_one_with(&mut ffa, irq, &mut handler, &mut read),
            Ok(next)
        );
        rxtx.with_rx(|_| ());
        assert_eq!(serve_one(&mut ffa, irq, &mut handler), Ok(next));
        let calls = &ffa.conduit().calls;
        assert_eq!(calls.len(), 2);
        assert_eq!((calls[0].fid(), calls[0].x(2)), (0x8400_006B, 0));
        assert_eq!((calls[1].fid(), calls[1].x(2)), (0x8400_006B, 1));
    }

    #[test]
    fn maps_tx_in_x1_and_rx_in_x2_and_reads_rx() {
        let mut rx = Box::new(Page([0; BUFFER_SIZE]));
        let mut tx = Box::new(Page([0; BUFFER_SIZE]));
        rx.0[0] = 0x5A;
        let rxp = rx.0.as_ptr();
        let txp = tx.0.as_mut_ptr();
        // SAFETY: both pages live until the end of the test and are only used through `pair`.
        let mut pair = unsafe { RxTx::from_raw(rxp, txp) };
        let mut ffa = Ffa::new(FakeSpmc::default());
        pair.map(&mut ffa).unwrap();
        pair.release(&mut ffa).unwrap();
        pair.unmap(&mut ffa).unwrap();
        let c = &ffa.conduit().calls;
        assert_eq!(c[0].fid(), 0xC400_0066);
        assert_eq!(
            (c[0].x(1), c[0].x(2), c[0].x(3)),
            (txp as u64, rxp as u64, 1)
        );
        assert_eq!(c[1].fid(), 0x8400_0065);
        assert_eq!(c[2].fid(), 0x8400_0067);
        assert_eq!(pair.with_rx(|b| b[0]), 0x5A);
        pair.with_tx(|b| b[1] = 7);
        assert_eq!(tx.0[1], 7);
    }
}
