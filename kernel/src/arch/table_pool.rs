//! Page-table memory for the SP address spaces, taken from the heap before a memory
//! transaction commits and handed to `aarch64-paging` from a per-table pool (the role
//! Hafnium's `mpool` plays for its page tables): a map or unmap made with pages set aside
//! this way never allocates, so it cannot fail.
//!
//! The pool lives in the table's `Translation`. Pages enter it only through
//! [`PoolTranslation::fill`] (fallible: the heap may be exhausted, and that is where a memory
//! ABI gets NO_MEMORY) and through `deallocate_table` (a subtable freed by an unmap); they
//! leave through `allocate_table` and [`PoolTranslation::drain`]. When the pool is empty,
//! `allocate_table` falls back to the heap (the load-time mappings of an SP, which are made
//! before anything is reserved) and counts it.

use aarch64_paging::descriptor::{El1Attributes, PhysicalAddress};
use aarch64_paging::paging::{PageTable, Translation};
use alloc::vec::Vec;
use core::alloc::Layout;
use core::cell::RefCell;
use core::ptr::NonNull;

type Table = PageTable<El1Attributes>;

/// A table page: 4 KiB, 4 KiB aligned.
const LAYOUT: Layout = Layout::new::<Table>();

/// The identity `Translation` of the kernel's tables with a pool of spare table pages.
#[derive(Debug, Default)]
pub struct PoolTranslation {
    /// Addresses of spare table pages (contents undefined: zeroed when handed out).
    pool: RefCell<Vec<usize>>,
    /// Tables taken from the heap because the pool was empty.
    heap_fallbacks: core::cell::Cell<u32>,
}

// The pool only ever holds pages this translation allocated with `LAYOUT`.
impl PoolTranslation {
    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// Spare pages in the pool.
    pub fn len(&self) -> usize {
        self.pool.borrow().len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Tables the heap had to provide because the pool was empty.
    pub fn heap_fallbacks(&self) -> u32 {
        self.heap_fallbacks.get()
    }

    /// Takes `n` pages from the heap into the pool. False (and nothing taken) if the heap
    /// cannot provide them.
    pub fn fill(&self, n: usize) -> bool {
        let mut pool = self.pool.borrow_mut();
        if pool.try_reserve(n).is_err() {
            return false;
        }
        let start = pool.len();
        for _ in 0..n {
            // SAFETY: `LAYOUT` has a non-zero size.
            let p = unsafe { alloc::alloc::alloc(LAYOUT) };
            if p.is_null() {
                for q in pool.drain(start..) {
                    // SAFETY: `q` was allocated just above with `LAYOUT` and is in no table.
                    unsafe { alloc::alloc::dealloc(q as *mut u8, LAYOUT) };
                }
                return false;
            }
            pool.push(p as usize);
        }
        true
    }

    /// Gives `n` spare pages (at most all of them) back to the heap.
    pub fn drain(&self, n: usize) {
        let mut pool = self.pool.borrow_mut();
        let keep = pool.len().saturating_sub(n);
        for q in pool.drain(keep..) {
            // SAFETY: every page in the pool was allocated with `LAYOUT` (by `fill`, or by
            // `allocate_table` and given back by `deallocate_table`) and is in no table.
            unsafe { alloc::alloc::dealloc(q as *mut u8, LAYOUT) };
        }
    }
}

impl Drop for PoolTranslation {
    fn drop(&mut self) {
        let n = self.len();
        self.drain(n);
    }
}

impl Translation<El1Attributes> for PoolTranslation {
    fn allocate_table(&mut self) -> (NonNull<Table>, PhysicalAddress) {
        let page = self.pool.get_mut().pop();
        let table = match page.and_then(|p| NonNull::new(p as *mut Table)) {
            Some(t) => {
                // SAFETY: `t` is a page of `LAYOUT` size owned by the pool (now by the
                // caller): no one else refers to it; zeroed memory is a valid empty table.
                unsafe { t.as_ptr().write_bytes(0, 1) };
                t
            }
            None => {
                self.heap_fallbacks
                    .set(self.heap_fallbacks.get().saturating_add(1));
                PageTable::new()
            }
        };
        // Identity: the kernel reaches its heap at VA = PA.
        (table, PhysicalAddress(table.as_ptr() as usize))
    }

    unsafe fn deallocate_table(&mut self, page_table: NonNull<Table>) {
        // The page goes back to the pool (not the heap) so that the caller can return it to
        // the heap only after the TLB no longer holds walks through it (`drain`).
        self.pool.get_mut().push(page_table.as_ptr() as usize);
    }

    fn physical_to_virtual(&self, pa: PhysicalAddress) -> NonNull<Table> {
        NonNull::new(pa.0 as *mut Table).expect("page table at physical address 0")
    }
}
