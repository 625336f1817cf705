//! Where objects live: the [`Store`] trait (the persistence seam) and an in-RAM store.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use ffa_abi::EndpointId;
use packed_c::psa::{self, Status};

/// One stored object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    /// Creation flags (PSA_STORAGE_FLAG_*).
    pub flags: u32,
    /// Bytes the object may hold (its size for SET, the reserved size for CREATE).
    pub capacity: u64,
    /// The data (its length is the object's size).
    pub data: Vec<u8>,
}

/// Size limits of a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest capacity of one object.
    pub max_object: u64,
    /// Sum of the capacities of all objects of all callers.
    pub total: u64,
    /// Most objects of all callers.
    pub max_objects: usize,
}

/// Objects keyed by (caller, UID). Every write is all-or-nothing.
pub trait Store {
    /// Returns the object.
    fn get(&self, caller: EndpointId, uid: u64) -> Option<&Object>;
    /// Stores `obj` under the key, replacing any object there; INSUFFICIENT_STORAGE (nothing
    /// changed) if the limits do not allow it, STORAGE_FAILURE if the medium failed.
    fn put(&mut self, caller: EndpointId, uid: u64, obj: Object) -> Result<(), Status>;
    /// Removes the object (no-op if absent).
    fn remove(&mut self, caller: EndpointId, uid: u64) -> Result<(), Status>;
    /// Returns the limits.
    fn limits(&self) -> Limits;
}

/// Objects in the partition's heap (lost at reset).
#[derive(Debug)]
pub struct RamStore {
    objects: BTreeMap<(u16, u64), Object>,
    used: u64,
    limits: Limits,
}

impl RamStore {
    /// An empty store with these limits.
    pub fn new(limits: Limits) -> Self {
        Self {
            objects: BTreeMap::new(),
            used: 0,
            limits,
        }
    }

    /// Returns the capacity in use.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// Returns the number of objects.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether the store holds no object.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Checks (changing nothing) that `obj` may be stored under the key within the limits;
    /// returns the capacity in use after it would be (INSUFFICIENT_STORAGE otherwise).
    pub fn check_put(&self, caller: EndpointId, uid: u64, obj: &Object) -> Result<u64, Status> {
        let key = (caller.0, uid);
        let old = self.objects.get(&key).map_or(0, |o| o.capacity);
        let used = self
            .used
            .checked_sub(old)
            .and_then(|u| u.checked_add(obj.capacity))
            .ok_or(psa::ERROR_INSUFFICIENT_STORAGE)?;
        let count = self.objects.len() + usize::from(!self.objects.contains_key(&key));
        if obj.capacity > self.limits.max_object
            || used > self.limits.total
            || count > self.limits.max_objects
        {
            return Err(psa::ERROR_INSUFFICIENT_STORAGE);
        }
        Ok(used)
    }

    /// Iterates over (caller, UID, object) in key order.
    pub fn iter(&self) -> impl Iterator<Item = (EndpointId, u64, &Object)> {
        self.objects
            .iter()
            .map(|(&(c, uid), o)| (EndpointId(c), uid, o))
    }
}

impl Store for RamStore {
    fn get(&self, caller: EndpointId, uid: u64) -> Option<&Object> {
        self.objects.get(&(caller.0, uid))
    }

    fn put(&mut self, caller: EndpointId, uid: u64, obj: Object) -> Result<(), Status> {
        let used = self.check_put(caller, uid, &obj)?;
        self.objects.insert((caller.0, uid), obj);
        self.used = used;
        Ok(())
    }

    fn remove(&mut self, caller: EndpointId, uid: u64) -> Result<(), Status> {
        if let Some(o) = self.objects.remove(&(caller.0, uid)) {
            self.used -= o.capacity;
        }
        Ok(())
    }

    fn limits(&self) -> Limits {
        self.limits
    }
}
