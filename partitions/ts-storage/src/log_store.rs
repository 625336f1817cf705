//! A [`Store`] that persists in flash as a log that survives power loss at any step.
//!
//! Layout (docs/storage.md): the region is `n >= 2` erase sectors. One sector is *active*: a
//! 16-byte header (magic, version, sequence number, CRC-32) then records appended in order,
//! each one whole object state or a removal:
//!
//! `magic u32 | kind u32 | caller u32 | flags u32 | uid u64 | capacity u64 | len u32 |
//!  crc u32 | data[len] | 0xFF padding to 4 bytes` (little-endian; the CRC-32 covers the 36
//! header bytes before it and the data).
//!
//! - Mount picks the sector with a valid header and the highest sequence number and replays
//!   its records up to the first that is not whole (bad magic, kind, length or CRC): a record
//!   torn by a power loss is ignored, so the previous state of that object stands.
//! - A write appends one record; the change exists once its last word is programmed.
//! - When a record does not fit, or the tail after the last whole record is not erased (a
//!   torn record left bits there), the live objects with the change applied are written
//!   into the next sector (round robin: wear is spread over all sectors), erased first, and
//!   that sector's header, programmed last, commits it. A power loss before that leaves the
//!   old sector the newest valid one: the old state.
//!
//! Every object also lives in RAM (the [`RamStore`] cache, which enforces the limits); reads
//! never touch the flash.

use alloc::vec::Vec;

use ffa_abi::EndpointId;
use packed_c::psa::{self, Status};

use crate::flash::{Flash, FlashError, WORD};
use crate::store::{Limits, Object, RamStore, Store};

/// "SLOG": a sector header.
const SECTOR_MAGIC: u32 = 0x474F_4C53;
/// Format version of sectors and records.
const VERSION: u32 = 1;
/// Bytes of a sector header.
pub const SECTOR_HEADER: usize = 16;
/// "SREC": a record header.
const RECORD_MAGIC: u32 = 0x4345_5253;
/// Bytes of a record header.
pub const RECORD_HEADER: usize = 40;
const KIND_PUT: u32 = 1;
const KIND_REMOVE: u32 = 2;

/// Why the store cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MountError {
    /// Fewer than two sectors, or sectors too small for a header and one record.
    Geometry,
    /// The flash failed while reading.
    Flash(FlashError),
    /// The objects on flash do not fit the RAM available for them.
    OutOfMemory,
}

fn crc(parts: &[&[u8]]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    for p in parts {
        h.update(p);
    }
    h.finalize()
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn le64(b: &[u8], at: usize) -> u64 {
    u64::from(le32(b, at)) | (u64::from(le32(b, at + 4)) << 32)
}

const fn round_up(n: usize) -> usize {
    n.div_ceil(WORD) * WORD
}

/// Bytes a record with `len` data bytes takes.
pub const fn record_size(len: usize) -> usize {
    RECORD_HEADER + round_up(len)
}

/// The header of a sector of the store tagged `tag` (its CRC covers the tag, which is not
/// stored: a sector of another store fails the check).
fn sector_header(tag: &[u8], seq: u32) -> [u8; SECTOR_HEADER] {
    let mut h = [0u8; SECTOR_HEADER];
    h[0..4].copy_from_slice(&SECTOR_MAGIC.to_le_bytes());
    h[4..8].copy_from_slice(&VERSION.to_le_bytes());
    h[8..12].copy_from_slice(&seq.to_le_bytes());
    let c = crc(&[tag, &h[0..12]]);
    h[12..16].copy_from_slice(&c.to_le_bytes());
    h
}

/// Returns the sequence number of a valid sector header of the store tagged `tag`.
fn parse_sector_header(tag: &[u8], h: &[u8; SECTOR_HEADER]) -> Option<u32> {
    (le32(h, 0) == SECTOR_MAGIC && le32(h, 4) == VERSION && le32(h, 12) == crc(&[tag, &h[0..12]]))
        .then(|| le32(h, 8))
}

/// A change: put `Some(object)` or remove (`None`).
type Change<'a> = (EndpointId, u64, Option<&'a Object>);

/// Appends the encoded record of `change` to `out`.
fn encode_record(out: &mut Vec<u8>, (caller, uid, obj): Change) {
    let start = out.len();
    let (kind, flags, capacity, data): (u32, u32, u64, &[u8]) = match obj {
        Some(o) => (KIND_PUT, o.flags, o.capacity, &o.data),
        None => (KIND_REMOVE, 0, 0, &[]),
    };
    out.extend_from_slice(&RECORD_MAGIC.to_le_bytes());
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&u32::from(caller.0).to_le_bytes());
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(&uid.to_le_bytes());
    out.extend_from_slice(&capacity.to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    let c = crc(&[&out[start..start + 36], data]);
    out.extend_from_slice(&c.to_le_bytes());
    out.extend_from_slice(data);
    out.resize(start + record_size(data.len()), 0xFF);
}

/// Objects in RAM, persisted in a power-loss-safe log on `F`.
#[derive(Debug)]
pub struct FlashStore<F> {
    flash: F,
    cache: RamStore,
    /// (sector, sequence) of the active sector; `None` on a blank region.
    active: Option<(usize, u32)>,
    /// Where the next record goes in the active sector.
    tail: usize,
    /// The active sector's tail is not erased: the next write must move to a fresh sector.
    dirty: bool,
    /// What the sector headers' CRC covers besides the header (see [`FlashStore::mount_tagged`]).
    tag: &'static [u8],
}

impl<F: Flash> FlashStore<F> {
    /// Reads the newest state from `flash`. Writes nothing: a blank or unreadable region
    /// (no valid sector header) is an empty store, formatted by its first write.
    pub fn mount(flash: F, limits: Limits) -> Result<Self, MountError> {
        Self::mount_tagged(flash, limits, &[])
    }

    /// [`Self::mount`] for the store named `tag` (e.g. its block storage partition's GUID):
    /// the sector headers' CRC covers the tag too, so sectors another store wrote (another
    /// partition's, or a store from before the flash was split into partitions) never
    /// pass for this store's: they read as blank. `mount` is the untagged store (`&[]`).
    pub fn mount_tagged(
        mut flash: F,
        limits: Limits,
        tag: &'static [u8],
    ) -> Result<Self, MountError> {
        let ss = flash.sector_size();
        if flash.sectors() < 2 || ss < SECTOR_HEADER + record_size(0) || !ss.is_multiple_of(WORD) {
            return Err(MountError::Geometry);
        }
        let mut newest: Option<(usize, u32)> = None;
        for s in 0..flash.sectors() {
            let mut h = [0u8; SECTOR_HEADER];
            flash.read(s * ss, &mut h).map_err(MountError::Flash)?;
            if let Some(seq) = parse_sector_header(tag, &h) {
                if newest.is_none_or(|(_, best)| seq > best) {
                    newest = Some((s, seq));
                }
            }
        }
        let mut store = Self {
            flash,
            cache: RamStore::new(limits),
            active: newest,
            tail: SECTOR_HEADER,
            dirty: false,
            tag,
        };
        if let Some((s, _)) = newest {
            store.replay(s)?;
        }
        Ok(store)
    }

    /// Applies the whole records of sector `s` to the cache; sets `tail` and `dirty`.
    fn replay(&mut self, s: usize) -> Result<(), MountError> {
        let ss = self.flash.sector_size();
        let base = s * ss;
        let mut at = SECTOR_HEADER;
        let mut data = Vec::new();
        loop {
            if at + RECORD_HEADER > ss {
                break;
            }
            let mut h = [0u8; RECORD_HEADER];
            self.flash
                .read(base + at, &mut h)
                .map_err(MountError::Flash)?;
            let kind = le32(&h, 4);
            let len = le32(&h, 32) as usize;
            if le32(&h, 0) != RECORD_MAGIC
                || !(kind == KIND_PUT || kind == KIND_REMOVE)
                || len > ss - SECTOR_HEADER - RECORD_HEADER
                || at + record_size(len) > ss
            {
                break;
            }
            data.clear();
            data.try_reserve_exact(round_up(len))
                .map_err(|_| MountError::OutOfMemory)?;
            data.resize(round_up(len), 0);
            self.flash
                .read(base + at + RECORD_HEADER, &mut data)
                .map_err(MountError::Flash)?;
            if le32(&h, 36) != crc(&[&h[0..36], &data[..len]]) {
                break;
            }
            let caller = EndpointId(le32(&h, 8) as u16);
            let uid = le64(&h, 16);
            if kind == KIND_PUT {
                let mut bytes = Vec::new();
                bytes
                    .try_reserve_exact(len)
                    .map_err(|_| MountError::OutOfMemory)?;
                bytes.extend_from_slice(&data[..len]);
                let obj = Object {
                    flags: le32(&h, 12),
                    capacity: le64(&h, 24),
                    data: bytes,
                };
                // Every record was within the limits when written; one that is not now
                // (limits lowered by a new build) is kept out of the cache, not fatal.
                let _ = self.cache.put(caller, uid, obj);
            } else {
                let _ = self.cache.remove(caller, uid);
            }
            at += record_size(len);
        }
        self.tail = at;
        // Anything but erased words after the last whole record: a torn write. Read in
        // steps of a few words (over a block storage client each read is a message).
        let mut chunk = [0u8; 64 * WORD];
        let mut o = at;
        while o < ss {
            let n = chunk.len().min(ss - o);
            self.flash
                .read(base + o, &mut chunk[..n])
                .map_err(MountError::Flash)?;
            if chunk[..n].iter().any(|b| *b != 0xFF) {
                self.dirty = true;
                break;
            }
            o += n;
        }
        Ok(())
    }

    /// Returns the flash (e.g. to inspect a fake after a test).
    pub fn flash(&self) -> &F {
        &self.flash
    }

    /// Returns the number of objects.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// Whether the store holds no object.
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    /// Returns (active sector, sequence number), `None` before the first write.
    pub fn active(&self) -> Option<(usize, u32)> {
        self.active
    }

    /// Persists `change`, then applies it to the cache. Nothing changes on error.
    fn persist(&mut self, change: Change) -> Result<(), Status> {
        let mut rec = Vec::new();
        let len = change.2.map_or(0, |o| o.data.len());
        rec.try_reserve_exact(record_size(len))
            .map_err(|_| psa::ERROR_INSUFFICIENT_MEMORY)?;
        encode_record(&mut rec, change);
        let ss = self.flash.sector_size();
        match self.active {
            Some((s, _)) if !self.dirty && self.tail + rec.len() <= ss => {
                if self.flash.program(s * ss + self.tail, &rec).is_err() {
                    // Part of the record may be programmed: never append over it.
                    self.dirty = true;
                    return Err(psa::ERROR_STORAGE_FAILURE);
                }
                self.tail += rec.len();
                Ok(())
            }
            _ => self.compact(change, rec),
        }
    }

    /// Writes the live objects with `change` applied (its record is `rec`) into the next
    /// sector and makes it the active one.
    fn compact(&mut self, change: Change, rec: Vec<u8>) -> Result<(), Status> {
        let ss = self.flash.sector_size();
        let n = self.flash.sectors();
        let (key_caller, key_uid) = (change.0, change.1);
        let mut size = SECTOR_HEADER;
        for (caller, uid, o) in self.cache.iter() {
            if (caller, uid) != (key_caller, key_uid) {
                size += record_size(o.data.len());
            }
        }
        if change.2.is_some() {
            size += rec.len();
        }
        if size > ss {
            return Err(psa::ERROR_INSUFFICIENT_STORAGE);
        }
        let (target, seq) = match self.active {
            Some((s, seq)) => ((s + 1) % n, seq.wrapping_add(1)),
            None => (0, 1),
        };
        self.flash
            .erase(target)
            .map_err(|_| psa::ERROR_STORAGE_FAILURE)?;
        let base = target * ss;
        let mut at = SECTOR_HEADER;
        let mut buf = Vec::new();
        for (caller, uid, o) in self.cache.iter() {
            if (caller, uid) == (key_caller, key_uid) {
                continue;
            }
            buf.clear();
            buf.try_reserve_exact(record_size(o.data.len()))
                .map_err(|_| psa::ERROR_INSUFFICIENT_MEMORY)?;
            encode_record(&mut buf, (caller, uid, Some(o)));
            self.flash
                .program(base + at, &buf)
                .map_err(|_| psa::ERROR_STORAGE_FAILURE)?;
            at += buf.len();
        }
        if change.2.is_some() {
            self.flash
                .program(base + at, &rec)
                .map_err(|_| psa::ERROR_STORAGE_FAILURE)?;
            at += rec.len();
        }
        // The commit point: until this header is whole, the old sector is the newest.
        self.flash
            .program(base, &sector_header(self.tag, seq))
            .map_err(|_| psa::ERROR_STORAGE_FAILURE)?;
        self.active = Some((target, seq));
        self.tail = at;
        self.dirty = false;
        Ok(())
    }
}

impl<F: Flash> Store for FlashStore<F> {
    fn get(&self, caller: EndpointId, uid: u64) -> Option<&Object> {
        self.cache.get(caller, uid)
    }

    fn put(&mut self, caller: EndpointId, uid: u64, obj: Object) -> Result<(), Status> {
        self.cache.check_put(caller, uid, &obj)?;
        self.persist((caller, uid, Some(&obj)))?;
        self.cache.put(caller, uid, obj)
    }

    fn remove(&mut self, caller: EndpointId, uid: u64) -> Result<(), Status> {
        if self.cache.get(caller, uid).is_none() {
            return Ok(());
        }
        self.persist((caller, uid, None))?;
        self.cache.remove(caller, uid)
    }

    fn limits(&self) -> Limits {
        self.cache.limits()
    }
}

#[cfg(test)]
mod tests;
