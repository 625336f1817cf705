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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conduit::RegsExt;
    use crate::testing::FakeSpmc;

    #[repr(C, align(4096))]
    struct Page([u8; BUFFER_SIZE]);

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
