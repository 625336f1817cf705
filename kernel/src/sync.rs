//! A spin lock that knows which core holds it, so that a core retired by an SPMC bug (a
//! panic or an exception at S-EL1, `arch::aarch64::refuse_forever`) cannot hang the others:
//! a core waiting for a lock whose holder was retired stops waiting and gets
//! [`Poisoned`], and the caller answers with an error instead (the state behind the lock may
//! be half updated, so nobody may use it again).
//!
//! Used for the locks other cores wait on: the memory engine (`Spmc::mem`), the normal
//! world's mailbox (`Spmc::nw`), each partition's mailbox (`Sp::mailbox`) and the console.
//! Partition runtimes are only ever taken with `try_lock` on the message path (BUSY), so a
//! retired holder makes its partition BUSY for good rather than hang anyone.

#![forbid(unsafe_code)]

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Cores the kernel serves (must cover every core ID the entry code lets in).
pub const MAX_CORES: usize = 8;

/// Cores retired after an SPMC bug: they never run SPMC code again.
static RETIRED: [AtomicBool; MAX_CORES] = [const { AtomicBool::new(false) }; MAX_CORES];

/// Marks `core` retired (from the panic and fault paths, before the core stops serving).
pub fn retire(core: usize) {
    if let Some(r) = RETIRED.get(core) {
        r.store(true, Ordering::SeqCst);
    }
}

/// Whether `core` was retired.
pub fn is_retired(core: usize) -> bool {
    RETIRED.get(core).is_some_and(|r| r.load(Ordering::SeqCst))
}

/// The lock's holder was retired while holding it: the state it guards is not to be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Poisoned;

/// A `spin::Mutex` with its holder's core recorded, taken in ticket order: waiters are served
/// first come, first served, so a core cannot starve while others release and re-take the lock
/// in a loop (a plain test-and-set lock let three cores retrying against a fourth keep it from
/// the memory engine for seconds under QEMU's TCG, until a time limit aborted its partition).
/// The ticket pair orders the waiters; the inner mutex, free by the time the next ticket is
/// served, holds the value.
pub struct CoreLock<T> {
    inner: spin::Mutex<T>,
    /// Core that holds the lock, plus one; 0 when free.
    holder: AtomicUsize,
    /// Set once a waiter found the holder retired: every later lock fails at once (so tickets
    /// taken by waiters that then gave up never need serving).
    poisoned: AtomicBool,
    /// The next ticket to hand out.
    next: AtomicUsize,
    /// The ticket being served (its taker may hold the lock).
    serving: AtomicUsize,
}

/// Access to the value while the lock is held; clears the holder and serves the next ticket on
/// drop.
pub struct CoreGuard<'a, T> {
    guard: Option<spin::MutexGuard<'a, T>>,
    holder: &'a AtomicUsize,
    serving: &'a AtomicUsize,
}

impl<T> CoreLock<T> {
    /// A free lock around `value`.
    pub const fn new(value: T) -> Self {
        Self {
            inner: spin::Mutex::new(value),
            holder: AtomicUsize::new(0),
            poisoned: AtomicBool::new(false),
            next: AtomicUsize::new(0),
            serving: AtomicUsize::new(0),
        }
    }

    /// Takes the lock for `core`, waiting in ticket order while other live cores hold it or
    /// wait for it; [`Poisoned`] if the holder is a retired core (or was, once).
    pub fn lock(&self, core: usize) -> Result<CoreGuard<'_, T>, Poisoned> {
        if self.poisoned.load(Ordering::Acquire) {
            return Err(Poisoned);
        }
        let ticket = self.next.fetch_add(1, Ordering::Relaxed);
        loop {
            if self.poisoned.load(Ordering::Acquire) {
                return Err(Poisoned);
            }
            if self.serving.load(Ordering::Acquire) == ticket {
                if let Some(guard) = self.inner.try_lock() {
                    return Ok(self.guard(core, guard));
                }
            }
            let h = self.holder.load(Ordering::Acquire);
            if h != 0 && is_retired(h - 1) {
                self.poisoned.store(true, Ordering::Release);
                return Err(Poisoned);
            }
            core::hint::spin_loop();
        }
    }

    /// Takes the lock if nobody holds it or waits for it (never waits, never poisons).
    pub fn try_lock(&self, core: usize) -> Option<CoreGuard<'_, T>> {
        if self.poisoned.load(Ordering::Acquire) {
            return None;
        }
        let serving = self.serving.load(Ordering::Acquire);
        self.next
            .compare_exchange(serving, serving + 1, Ordering::Acquire, Ordering::Relaxed)
            .ok()?;
        match self.inner.try_lock() {
            Some(guard) => Some(self.guard(core, guard)),
            None => {
                // The previous holder's inner guard is still being dropped: give the ticket
                // back by serving it, as a holder would.
                self.serving.fetch_add(1, Ordering::Release);
                None
            }
        }
    }

    fn guard<'a>(&'a self, core: usize, guard: spin::MutexGuard<'a, T>) -> CoreGuard<'a, T> {
        self.holder.store(core + 1, Ordering::Release);
        CoreGuard {
            guard: Some(guard),
            holder: &self.holder,
            serving: &self.serving,
        }
    }

    /// Whether a retired holder poisoned the lock.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    /// The core holding the lock, if any.
    pub fn holder(&self) -> Option<usize> {
        self.holder.load(Ordering::Acquire).checked_sub(1)
    }
}

impl<T> core::ops::Deref for CoreGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard.as_ref().expect("held until drop")
    }
}

impl<T> core::ops::DerefMut for CoreGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard.as_mut().expect("held until drop")
    }
}

impl<T> Drop for CoreGuard<'_, T> {
    fn drop(&mut self) {
        self.holder.store(0, Ordering::Release);
        // Release the value, then serve the next ticket.
        drop(self.guard.take());
        self.serving.fetch_add(1, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiter_is_served_before_a_core_that_comes_later() {
        let l = std::sync::Arc::new(CoreLock::new(0u32));
        let first = l.lock(0).unwrap();
        let l2 = l.clone();
        let waiter = std::thread::spawn(move || {
            *l2.lock(1).unwrap() += 1;
        });
        // The waiter has its ticket once `next` moved past the holder's.
        while l.next.load(Ordering::Acquire) < 2 {
            std::hint::spin_loop();
        }
        drop(first);
        // The lock is free for a moment, but it is the waiter's turn: a later core does not
        // get it by trying (a test-and-set lock would let it, and starve the waiter).
        if let Some(g) = l.try_lock(2) {
            assert_eq!(*g, 1, "a later core took the lock before the waiting one");
        }
        waiter.join().unwrap();
        assert_eq!(*l.lock(2).unwrap(), 1);
    }

    #[test]
    fn a_retired_holder_poisons_the_lock_instead_of_hanging_waiters() {
        let l = CoreLock::new(5u32);
        {
            let mut g = l.lock(1).unwrap();
            *g += 1;
            assert_eq!(l.holder(), Some(1));
        }
        assert_eq!(l.holder(), None);
        // Core 7 takes the lock and is retired while holding it (its guard is never dropped,
        // as when the core stops in `refuse_forever`).
        let g = l.lock(7).unwrap();
        core::mem::forget(g);
        assert!(l.try_lock(2).is_none());
        retire(7);
        assert_eq!(
            l.lock(2).err(),
            Some(Poisoned),
            "waiter gets an error, not a hang"
        );
        assert!(l.is_poisoned());
        assert!(l.try_lock(2).is_none());
        // Another lock is unaffected.
        let other = CoreLock::new(0u8);
        assert!(other.lock(2).is_ok());
    }

    #[test]
    fn waiting_for_a_live_holder_gets_the_lock() {
        // Cores 2 and 3: the retired set is global and tests run in parallel; other tests
        // retire cores 5, 6 and 7 (mem_state.rs, above), which would poison this lock.
        let l = std::sync::Arc::new(CoreLock::new(0u64));
        let l2 = l.clone();
        let t = std::thread::spawn(move || {
            for _ in 0..10_000 {
                *l2.lock(2).unwrap() += 1;
            }
        });
        for _ in 0..10_000 {
            *l.lock(3).unwrap() += 1;
        }
        t.join().unwrap();
        assert_eq!(*l.lock(3).unwrap(), 20_000);
        assert!(!l.is_poisoned());
    }
}
