//! The partition's heap: `linked_list_allocator` over the window the linker script reserves
//! between the RX/TX buffers and the stack (see `link/sp.ld`), behind a spin lock. An SP has
//! one execution context, so the lock is never contended; it is there because `GlobalAlloc`
//! takes `&self`.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use linked_list_allocator::Heap as LlHeap;
use spin::Mutex;

/// A global allocator that starts empty and is given its memory once by the runtime's entry.
pub struct Heap(Mutex<LlHeap>);

impl Heap {
    /// An empty heap: every allocation fails until [`Self::init`].
    pub const fn empty() -> Self {
        Self(Mutex::new(LlHeap::empty()))
    }

    /// Gives the heap `[start, start + size)`. Does nothing if it already has memory.
    ///
    /// # Safety
    /// The range must be valid for reads and writes, unused by anything else for the rest of
    /// the program, and `start` non-null.
    pub unsafe fn init(&self, start: *mut u8, size: usize) {
        let mut h = self.0.lock();
        if h.size() == 0 {
            // SAFETY: the caller guarantees the range is ours alone and writable; `size() == 0`
            // shows the heap was not initialised before (init may only run once).
            unsafe { h.init(start, size) };
        }
    }

    /// Returns the bytes still free.
    pub fn free(&self) -> usize {
        self.0.lock().free()
    }
}

impl Default for Heap {
    fn default() -> Self {
        Self::empty()
    }
}

// SAFETY: allocation and deallocation are delegated to `linked_list_allocator::Heap`, which
// returns blocks of at least `layout.size()` bytes aligned to `layout.align()` from the range
// given to `init`, never hands out a block twice, and the mutex serialises all access to it.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.0
            .lock()
            .allocate_first_fit(layout)
            .map_or(core::ptr::null_mut(), |p| p.as_ptr())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(p) = NonNull::new(ptr) {
            // SAFETY: GlobalAlloc's contract: `ptr` came from `alloc` on this heap with `layout`.
            unsafe { self.0.lock().deallocate(p, layout) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_from_the_given_window_and_reuses_it() {
        let mut window = vec![0u64; 512]; // 4 KiB, 8-aligned
        let start = window.as_mut_ptr().cast::<u8>();
        let heap = Heap::empty();
        let layout = Layout::from_size_align(64, 16).unwrap();
        // SAFETY: test-only: an empty heap must fail without touching memory.
        assert!(unsafe { heap.alloc(layout) }.is_null());
        // SAFETY: `window` outlives `heap`'s use below and nothing else touches it meanwhile.
        unsafe { heap.init(start, 4096) };
        let free0 = heap.free();
        // SAFETY: layout is non-zero sized.
        let p = unsafe { heap.alloc(layout) };
        assert!(!p.is_null());
        assert_eq!(p as usize % 16, 0);
        let off = p as usize - start as usize;
        assert!(off + 64 <= 4096);
        assert!(heap.free() < free0);
        // SAFETY: `p` came from this heap with `layout`.
        unsafe { heap.dealloc(p, layout) };
        assert_eq!(heap.free(), free0);
        let big = Layout::from_size_align(8192, 8).unwrap();
        // SAFETY: layout is non-zero sized.
        assert!(unsafe { heap.alloc(big) }.is_null());
    }
}
