//! The shared memory a TS RPC endpoint retrieved, keyed by (owner, handle) as TS's
//! `ts_rpc_endpoint_sp` keys it: a handle is only meaningful with the endpoint that shared it,
//! so one client can never name another client's memory.

use alloc::vec::Vec;
use ffa_abi::{EndpointId, MemHandle};

/// One retrieved region.
#[derive(Debug)]
struct Slot<R> {
    owner: EndpointId,
    handle: MemHandle,
    region: R,
}

/// A fixed number of slots, allocated once.
#[derive(Debug)]
pub struct ShmTable<R> {
    slots: Vec<Option<Slot<R>>>,
    /// Slots kept for fixed owners: (owner, how many). The others may not take them.
    reserved: Vec<(EndpointId, usize)>,
}

impl<R> ShmTable<R> {
    /// A table of `capacity` free slots.
    pub fn new(capacity: usize) -> Self {
        let mut slots = Vec::with_capacity(capacity);
        slots.resize_with(capacity, || None);
        Self {
            slots,
            reserved: Vec::new(),
        }
    }

    /// Keeps `count` slots for `owner` (in addition to any it was given before): other owners
    /// can never take them, so `owner` finds a free slot whatever the others hold (block-storage
    /// keeps one for each of its partitions' owners, ITS and PS). Refused (false) if the
    /// reservations would leave no slot for anyone else, or the table is already in use.
    pub fn reserve(&mut self, owner: EndpointId, count: usize) -> bool {
        let total: usize = self.reserved.iter().map(|(_, n)| n).sum::<usize>() + count;
        if !self.is_empty() || total >= self.slots.len() {
            return false;
        }
        match self.reserved.iter_mut().find(|(o, _)| *o == owner) {
            Some((_, n)) => *n += count,
            None => self.reserved.push((owner, count)),
        }
        true
    }

    /// Returns how many slots are reserved for `owner` ([`Self::reserve`]).
    pub fn reserved_for(&self, owner: EndpointId) -> usize {
        self.reserved
            .iter()
            .filter(|(o, _)| *o == owner)
            .map(|(_, n)| n)
            .sum()
    }

    /// Slots still kept for the reserved owners other than `except`: each one's reservation
    /// less what it holds.
    fn kept_for_others(&self, except: EndpointId) -> usize {
        self.reserved
            .iter()
            .filter(|(o, _)| *o != except)
            .map(|(o, n)| n.saturating_sub(self.held_by(*o)))
            .sum()
    }

    /// Tells whether `owner` may take one more slot now: one is free that is not kept for
    /// another owner's reservation, and `owner` holds fewer than [`Self::per_owner`].
    pub fn may_take(&self, owner: EndpointId) -> bool {
        let free = self.slots.len() - self.len();
        free > self.kept_for_others(owner) && self.held_by(owner) < self.per_owner()
    }

    fn index(&self, owner: EndpointId, handle: MemHandle) -> Option<usize> {
        self.slots.iter().position(|s| {
            s.as_ref()
                .is_some_and(|s| s.owner == owner && s.handle == handle)
        })
    }

    /// Returns the region `owner` shared as `handle`.
    pub fn get(&self, owner: EndpointId, handle: MemHandle) -> Option<&R> {
        let i = self.index(owner, handle)?;
        self.slots[i].as_ref().map(|s| &s.region)
    }

    /// Returns the region `owner` shared as `handle`, mutably.
    pub fn get_mut(&mut self, owner: EndpointId, handle: MemHandle) -> Option<&mut R> {
        let i = self.index(owner, handle)?;
        self.slots[i].as_mut().map(|s| &mut s.region)
    }

    /// Tells whether (`owner`, `handle`) is in the table.
    pub fn contains(&self, owner: EndpointId, handle: MemHandle) -> bool {
        self.index(owner, handle).is_some()
    }

    /// Returns how many slots `owner` holds.
    pub fn held_by(&self, owner: EndpointId) -> usize {
        self.slots
            .iter()
            .filter(|s| s.as_ref().is_some_and(|s| s.owner == owner))
            .count()
    }

    /// The most slots one owner may hold: three quarters of them (all of a table of fewer
    /// than four), so that one caller (the normal world, say) cannot take every slot and
    /// starve the others (ITS and PS attaching to block-storage).
    pub fn per_owner(&self) -> usize {
        (self.slots.len() - self.slots.len() / 4).max(1)
    }

    /// Tells whether every slot is in use.
    pub fn is_full(&self) -> bool {
        self.slots.iter().all(Option::is_some)
    }

    /// Returns how many slots are in use.
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    /// Tells whether no slot is in use.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a region; gives it back if the key is already present or `owner` may not take
    /// a slot ([`Self::may_take`]: the table is full, or only slots kept for others are free).
    pub fn insert(&mut self, owner: EndpointId, handle: MemHandle, region: R) -> Result<(), R> {
        let free = self.slots.len() - self.len();
        if self.contains(owner, handle) || free <= self.kept_for_others(owner) {
            return Err(region);
        }
        match self.slots.iter_mut().find(|s| s.is_none()) {
            Some(free) => {
                *free = Some(Slot {
                    owner,
                    handle,
                    region,
                });
                Ok(())
            }
            None => Err(region),
        }
    }

    /// Takes the region out of the table.
    pub fn remove(&mut self, owner: EndpointId, handle: MemHandle) -> Option<R> {
        let i = self.index(owner, handle)?;
        self.slots[i].take().map(|s| s.region)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_by_owner_and_handle() {
        let mut t = ShmTable::new(2);
        let (a, b) = (EndpointId(0), EndpointId(0x8001));
        assert!(t.is_empty());
        t.insert(a, MemHandle(1), "a1").unwrap();
        // The same handle value from another owner is another region.
        t.insert(b, MemHandle(1), "b1").unwrap();
        assert!(t.is_full());
        assert_eq!(t.insert(a, MemHandle(2), "a2"), Err("a2"));
        assert_eq!(t.get(a, MemHandle(1)), Some(&"a1"));
        assert_eq!(t.get(b, MemHandle(1)), Some(&"b1"));
        assert_eq!(t.get(b, MemHandle(2)), None);
        assert_eq!(t.remove(a, MemHandle(1)), Some("a1"));
        assert_eq!(t.remove(a, MemHandle(1)), None);
        assert_eq!(t.len(), 1);
        // A duplicate key is refused even with room.
        assert_eq!(t.insert(b, MemHandle(1), "again"), Err("again"));
        t.insert(a, MemHandle(2), "a2").unwrap();
        *t.get_mut(a, MemHandle(2)).unwrap() = "changed";
        assert_eq!(t.get(a, MemHandle(2)), Some(&"changed"));
    }

    /// Issue 13: slots reserved for fixed owners stay free for them whatever the others
    /// take, and are counted as used once the owner holds them.
    #[test]
    fn reserved_slots_are_kept_for_their_owners() {
        let (its, ps) = (EndpointId(0x8005), EndpointId(0x8006));
        let others = [EndpointId(0), EndpointId(1), EndpointId(0x8001)];
        let mut t = ShmTable::new(8);
        assert!(t.reserve(its, 1));
        assert!(t.reserve(ps, 1));
        // Everything reserved: nothing left for anyone else.
        assert!(!t.reserve(EndpointId(0x8002), 6));
        let mut h = 0;
        let mut taken = 0;
        for o in others.iter().cycle().take(12) {
            h += 1;
            if t.may_take(*o) {
                t.insert(*o, MemHandle(h), ()).unwrap();
                taken += 1;
            } else {
                assert_eq!(t.insert(*o, MemHandle(h), ()), Err(()));
            }
        }
        assert_eq!(taken, 6, "the others share the 6 unreserved slots");
        assert!(t.may_take(its) && t.may_take(ps));
        t.insert(its, MemHandle(1000), ()).unwrap();
        // ITS's reserved slot is used; its second page would take PS's: refused.
        assert!(!t.may_take(its));
        assert_eq!(t.insert(its, MemHandle(1001), ()), Err(()));
        t.insert(ps, MemHandle(1000), ()).unwrap();
        assert!(t.is_full());
        // One of the others gives a slot back: anyone may take it, ITS too.
        t.remove(others[0], MemHandle(1)).unwrap();
        assert!(t.may_take(its) && t.may_take(others[1]));
        // A reservation only while the table is unused.
        assert!(!t.reserve(its, 1));
    }

    /// Before ITS or PS came, their reserved slots stay free even if the others hold all
    /// the rest; an owner without a reservation is limited by `per_owner` as before.
    #[test]
    fn reservations_and_the_per_owner_limit_together() {
        let its = EndpointId(0x8005);
        let nw = EndpointId(0);
        let mut t = ShmTable::new(16);
        assert!(t.reserve(its, 1));
        let mut n = 0;
        while t.may_take(nw) {
            n += 1;
            t.insert(nw, MemHandle(n), ()).unwrap();
        }
        assert_eq!(n, 12, "three quarters of 16");
        let mut m = 0;
        let other = EndpointId(1);
        while t.may_take(other) {
            m += 1;
            t.insert(other, MemHandle(m), ()).unwrap();
        }
        assert_eq!(m, 3, "the last free slot is ITS's");
        assert!(t.may_take(its));
        t.insert(its, MemHandle(1), ()).unwrap();
        assert!(t.is_full());
    }
}
