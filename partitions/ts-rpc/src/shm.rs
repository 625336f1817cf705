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
}

impl<R> ShmTable<R> {
    /// A table of `capacity` free slots.
    pub fn new(capacity: usize) -> Self {
        let mut slots = Vec::with_capacity(capacity);
        slots.resize_with(capacity, || None);
        Self { slots }
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

    /// Adds a region; gives it back if the table is full or the key is already present.
    pub fn insert(&mut self, owner: EndpointId, handle: MemHandle, region: R) -> Result<(), R> {
        if self.contains(owner, handle) {
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
}
