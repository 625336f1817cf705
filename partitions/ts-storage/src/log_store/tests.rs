//! The log store against the fake flash: persistence across remounts, compaction and wear,
//! torn writes, and a power loss at every program/erase step of every kind of write.

use super::*;
use crate::flash::fake::FakeFlash;
use crate::flash::{Flash, FlashError, WORD};
use alloc::collections::BTreeMap;
use alloc::vec;

const SECTOR: usize = 0x400;
const LIMITS: Limits = Limits {
    max_object: 0x100,
    total: 0x300,
    max_objects: 8,
};
const A: EndpointId = EndpointId(0x1);
const B: EndpointId = EndpointId(0x8002);

fn obj(flags: u32, data: &[u8]) -> Object {
    Object {
        flags,
        capacity: data.len() as u64,
        data: data.to_vec(),
    }
}

fn mount(f: FakeFlash) -> FlashStore<FakeFlash> {
    FlashStore::mount(f, LIMITS).expect("mount")
}

/// Everything the store holds, for comparing states.
type State = BTreeMap<(u16, u64), Object>;

fn state(s: &FlashStore<FakeFlash>) -> State {
    s.cache
        .iter()
        .map(|(c, u, o)| ((c.0, u), o.clone()))
        .collect()
}

/// Reboots: a new store mounted on what the flash holds now.
fn reboot(s: &FlashStore<FakeFlash>) -> FlashStore<FakeFlash> {
    mount(FakeFlash::from_bytes(s.flash().bytes.clone(), SECTOR))
}

#[test]
fn blank_region_is_empty_and_written_only_on_first_write() {
    let s = mount(FakeFlash::new(SECTOR, 3));
    assert!(state(&s).is_empty());
    assert_eq!(s.flash().steps, 0, "mount writes nothing");
    assert_eq!(s.active(), None);
    // Garbage (e.g. zeros from a sparse image file) is no store either.
    let s = mount(FakeFlash::from_bytes(vec![0; SECTOR * 3], SECTOR));
    assert!(state(&s).is_empty());
}

#[test]
fn objects_survive_a_reboot() {
    let mut s = mount(FakeFlash::new(SECTOR, 3));
    s.put(A, 1, obj(0, b"one")).unwrap();
    s.put(B, 1, obj(4, b"other caller")).unwrap();
    s.put(A, 2, obj(1, b"write once")).unwrap();
    s.put(A, 1, obj(0, b"one, changed")).unwrap();
    s.remove(B, 1).unwrap();
    let before = state(&s);
    let t = reboot(&s);
    assert_eq!(state(&t), before);
    assert_eq!(t.get(A, 1), Some(&obj(0, b"one, changed")));
    assert_eq!(t.get(B, 1), None);
    assert_eq!(t.get(A, 2).map(|o| o.flags), Some(1));
}

#[test]
fn refused_writes_change_nothing() {
    let mut s = mount(FakeFlash::new(SECTOR, 2));
    s.put(A, 1, obj(0, b"x")).unwrap();
    let steps = s.flash().steps;
    let big = Object {
        flags: 0,
        capacity: 0x101,
        data: vec![],
    };
    assert_eq!(s.put(A, 2, big), Err(psa::ERROR_INSUFFICIENT_STORAGE));
    for uid in 2..9 {
        s.put(A, uid, obj(0, b"y")).unwrap();
    }
    assert_eq!(
        s.put(A, 9, obj(0, b"z")),
        Err(psa::ERROR_INSUFFICIENT_STORAGE)
    );
    assert!(s.flash().steps > steps);
    let steps = s.flash().steps;
    assert_eq!(
        s.put(A, 10, obj(0, b"z")),
        Err(psa::ERROR_INSUFFICIENT_STORAGE)
    );
    assert_eq!(s.flash().steps, steps, "a refused write programs nothing");
    // Removing an absent object writes nothing either.
    s.remove(B, 77).unwrap();
    assert_eq!(s.flash().steps, steps);
    assert_eq!(state(&reboot(&s)), state(&s));
}

#[test]
fn compaction_rotates_over_every_sector() {
    let mut s = mount(FakeFlash::new(SECTOR, 4));
    let mut seen = [false; 4];
    for i in 0..200u64 {
        let data = [i as u8; 40];
        s.put(A, i % 3 + 1, obj(0, &data)).unwrap();
        seen[s.active().unwrap().0] = true;
        if i % 17 == 0 {
            // The state read back after any number of compactions is the one written.
            assert_eq!(state(&reboot(&s)), state(&s));
        }
    }
    assert_eq!(seen, [true; 4], "every sector took its turn");
    let e = &s.flash().erases;
    let (min, max) = (e.iter().min().unwrap(), e.iter().max().unwrap());
    assert!(max - min <= 1, "wear is spread evenly: {e:?}");
    assert_eq!(state(&reboot(&s)), state(&s));
}

#[test]
fn a_live_set_that_cannot_fit_a_sector_is_refused() {
    // 0x100-byte sectors: a header and one 0x60-byte object fit, not two.
    let limits = Limits {
        max_object: 0x60,
        total: 0x1000,
        max_objects: 8,
    };
    let mut s = FlashStore::mount(FakeFlash::new(0x100, 2), limits).unwrap();
    s.put(A, 1, obj(0, &[1; 0x60])).unwrap();
    assert_eq!(
        s.put(A, 2, obj(0, &[2; 0x60])),
        Err(psa::ERROR_INSUFFICIENT_STORAGE)
    );
    assert_eq!(s.get(A, 2), None);
    // Replacing the one object still works (the old version is not live any more).
    s.put(A, 1, obj(0, &[3; 0x60])).unwrap();
    assert_eq!(s.get(A, 1).unwrap().data, vec![3; 0x60]);
}

#[test]
fn geometry_is_checked() {
    assert_eq!(
        FlashStore::mount(FakeFlash::new(SECTOR, 1), LIMITS).err(),
        Some(MountError::Geometry)
    );
    assert_eq!(
        FlashStore::mount(FakeFlash::new(32, 4), LIMITS).err(),
        Some(MountError::Geometry)
    );
}

#[test]
fn corrupted_record_is_ignored_with_everything_after_it() {
    let mut s = mount(FakeFlash::new(SECTOR, 2));
    s.put(A, 1, obj(0, b"first")).unwrap();
    s.put(A, 2, obj(0, b"second")).unwrap();
    let mut bytes = s.flash().bytes.clone();
    // Flip one data bit of the second record: its CRC no longer matches.
    let second = SECTOR_HEADER + record_size(5) + RECORD_HEADER;
    bytes[second] ^= 1;
    let mut t = mount(FakeFlash::from_bytes(bytes, SECTOR));
    assert_eq!(t.get(A, 1), Some(&obj(0, b"first")));
    assert_eq!(t.get(A, 2), None);
    // The next write moves to a clean sector instead of appending after the damage.
    let before = t.active().unwrap();
    t.put(A, 3, obj(0, b"third")).unwrap();
    assert_ne!(t.active().unwrap().0, before.0);
    let u = reboot(&t);
    assert_eq!(state(&u), state(&t));
    assert_eq!(u.get(A, 3), Some(&obj(0, b"third")));
}

#[test]
fn damaged_sector_header_falls_back_to_the_previous_sector() {
    let mut s = mount(FakeFlash::new(SECTOR, 2));
    s.put(A, 1, obj(0, b"old")).unwrap();
    // Fill sector 0 so that the next write compacts into sector 1.
    while s.active().unwrap().0 == 0 {
        s.put(A, 2, obj(0, &[7; 0x80])).unwrap();
    }
    let old_sector_state = {
        let mut t = FakeFlash::from_bytes(s.flash().bytes.clone(), SECTOR);
        // What sector 0 alone says: hide sector 1's header.
        t.bytes[SECTOR..SECTOR + 4].fill(0);
        state(&mount(t))
    };
    assert!(!old_sector_state.is_empty());
    let mut bytes = s.flash().bytes.clone();
    bytes[SECTOR + 9] ^= 0x10; // sequence number of sector 1, CRC now wrong
    let t = mount(FakeFlash::from_bytes(bytes, SECTOR));
    assert_eq!(t.active().unwrap().0, 0);
    assert_eq!(state(&t), old_sector_state);
}

/// One write of the workload.
#[derive(Clone, Debug)]
enum Op {
    Put(EndpointId, u64, Object),
    Remove(EndpointId, u64),
}

fn apply(s: &mut FlashStore<FakeFlash>, op: &Op) -> Result<(), Status> {
    match op {
        Op::Put(c, u, o) => s.put(*c, *u, o.clone()),
        Op::Remove(c, u) => s.remove(*c, *u),
    }
}

/// A workload that appends, replaces, removes, fills a sector and so compacts (more than
/// once, into every sector of three).
fn workload() -> Vec<Op> {
    let mut ops = vec![
        Op::Put(A, 1, obj(0, b"alpha")),
        Op::Put(B, 1, obj(0, b"bravo, another caller")),
        Op::Put(A, 2, obj(1, b"write-once")),
        Op::Put(A, 1, obj(0, b"alpha v2")),
        Op::Remove(B, 1),
    ];
    for i in 0..30u8 {
        ops.push(Op::Put(A, 3 + u64::from(i % 3), obj(0, &[i; 0x70])));
        if i % 5 == 4 {
            ops.push(Op::Remove(A, 3 + u64::from(i % 3)));
        }
    }
    ops.push(Op::Put(B, 9, obj(0, b"last")));
    ops
}

/// Cuts the power at every program/erase step of the workload; after each cut the rebooted
/// store holds exactly the state before the interrupted write or the state after it, and
/// it takes further writes that survive another reboot.
#[test]
fn power_loss_at_every_step_leaves_the_old_or_the_new_state() {
    let ops = workload();
    // The states after each op, and the total step count, from an uninterrupted run.
    let mut clean = mount(FakeFlash::new(SECTOR, 3));
    let mut states = vec![state(&clean)];
    for op in &ops {
        apply(&mut clean, op).unwrap();
        states.push(state(&clean));
    }
    let total = clean.flash().steps;
    assert!(
        clean.flash().erases.iter().all(|&e| e >= 2),
        "the workload compacts into every sector more than once: {:?}",
        clean.flash().erases
    );
    let mut torn_erases = 0;
    for cut in 0..total {
        let mut f = FakeFlash::new(SECTOR, 3);
        f.cut_after(cut);
        let mut s = mount(f);
        let mut done = 0;
        for op in &ops {
            if apply(&mut s, op).is_err() {
                break;
            }
            done += 1;
        }
        assert!(s.flash().is_dead(), "cut {cut} happened");
        assert!(done < ops.len());
        let mut after = reboot(&s);
        let got = state(&after);
        assert!(
            got == states[done] || got == states[done + 1],
            "cut at step {cut} in op {done} ({:?}): state is neither before nor after",
            ops[done]
        );
        // Power back: the store keeps working from there.
        after
            .put(A, 100, obj(0, b"after the power came back"))
            .unwrap_or_else(|e| panic!("cut {cut}: write after reboot: {e}"));
        let mut expected = got.clone();
        expected.insert((A.0, 100), obj(0, b"after the power came back"));
        assert_eq!(state(&reboot(&after)), expected, "cut {cut}");
        torn_erases += u32::from(s.flash().torn_erase);
    }
    assert!(total > 300, "the workload has many cut points ({total})");
    assert!(torn_erases > 0);
}

/// Whatever the flash holds (garbage, a valid sector header over random records, records
/// with valid CRCs but absurd lengths), mounting never panics and the store takes a write
/// that reads back after a reboot.
#[test]
fn mount_never_panics_on_arbitrary_contents() {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..300 {
        let mut bytes: Vec<u8> = (0..SECTOR * 3).map(|_| next() as u8).collect();
        if round % 2 == 0 {
            // A valid header, so the random records behind it are replayed.
            bytes[..SECTOR_HEADER].copy_from_slice(&sector_header(&[], 7));
        }
        if round % 3 == 0 {
            // A record with a valid CRC whose length runs past the sector.
            let mut rec = Vec::new();
            encode_record(&mut rec, (A, 5, Some(&obj(0, b"x"))));
            rec[32..36].copy_from_slice(&(SECTOR as u32).to_le_bytes());
            let c = crc(&[&rec[0..36], b"x"]);
            rec[36..40].copy_from_slice(&c.to_le_bytes());
            bytes[SECTOR_HEADER..SECTOR_HEADER + rec.len()].copy_from_slice(&rec);
        }
        let mut s = mount(FakeFlash::from_bytes(bytes, SECTOR));
        s.put(B, 42, obj(0, b"after garbage"))
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(
            reboot(&s).get(B, 42),
            Some(&obj(0, b"after garbage")),
            "round {round}"
        );
    }
}

/// A flash whose `fail_at`th word program fails with a device error (the words before it in
/// the same call are programmed), once.
#[derive(Debug)]
struct FailOnce {
    inner: FakeFlash,
    words: u64,
    fail_at: Option<u64>,
}

impl Flash for FailOnce {
    fn sector_size(&self) -> usize {
        self.inner.sector_size()
    }
    fn sectors(&self) -> usize {
        self.inner.sectors()
    }
    fn read(&mut self, offset: usize, buf: &mut [u8]) -> Result<(), FlashError> {
        self.inner.read(offset, buf)
    }
    fn program(&mut self, offset: usize, data: &[u8]) -> Result<(), FlashError> {
        for (i, w) in data.chunks_exact(WORD).enumerate() {
            self.words += 1;
            if self.fail_at == Some(self.words) {
                self.fail_at = None;
                return Err(FlashError::Device(0x0010_0010));
            }
            self.inner.program(offset + i * WORD, w)?;
        }
        Ok(())
    }
    fn erase(&mut self, sector: usize) -> Result<(), FlashError> {
        self.inner.erase(sector)
    }
}

/// A program that fails half-way through a record leaves that record's words behind: the
/// next write must not be appended over them (NOR can only clear bits), but move to a clean
/// sector; nothing written before or after is lost.
#[test]
fn a_failed_append_is_never_written_over() {
    let mut s = FlashStore::mount(
        FailOnce {
            inner: FakeFlash::new(SECTOR, 3),
            words: 0,
            fail_at: None,
        },
        LIMITS,
    )
    .unwrap();
    s.put(A, 1, obj(0, b"before")).unwrap();
    let words = s.flash.words;
    s.flash.fail_at = Some(words + 5);
    assert_eq!(
        s.put(A, 2, obj(0, b"fails half-way")),
        Err(psa::ERROR_STORAGE_FAILURE)
    );
    assert_eq!(s.get(A, 2), None, "a failed write changes nothing");
    // Another caller and flags: its first words differ from the failed record's.
    s.put(B, 3, obj(4, b"after")).unwrap();
    let t = FlashStore::mount(
        FakeFlash::from_bytes(s.flash.inner.bytes.clone(), SECTOR),
        LIMITS,
    )
    .unwrap();
    assert_eq!(t.get(A, 1), Some(&obj(0, b"before")));
    assert_eq!(t.get(A, 2), None);
    assert_eq!(t.get(B, 3), Some(&obj(4, b"after")));
}

#[test]
fn a_store_never_mounts_another_stores_sectors() {
    const ITS_TAG: &[u8] = b"its partition";
    const PS_TAG: &[u8] = b"ps partition";
    let mut s = FlashStore::mount_tagged(FakeFlash::new(SECTOR, 3), LIMITS, ITS_TAG).unwrap();
    s.put(A, 1, obj(0, b"its")).unwrap();
    let bytes = s.flash().bytes.clone();
    let again = |tag| {
        FlashStore::mount_tagged(FakeFlash::from_bytes(bytes.clone(), SECTOR), LIMITS, tag).unwrap()
    };
    assert_eq!(
        again(ITS_TAG).get(A, 1).map(|o| o.data.clone()),
        Some(b"its".to_vec())
    );
    // Another store, or the untagged one, sees a blank region.
    for other in [PS_TAG, &[][..]] {
        let t = again(other);
        assert!(t.is_empty());
        assert_eq!(t.active(), None);
    }
    // And an untagged store's sectors are blank to a tagged one.
    let mut u = mount(FakeFlash::new(SECTOR, 3));
    u.put(A, 1, obj(0, b"untagged")).unwrap();
    let t = FlashStore::mount_tagged(
        FakeFlash::from_bytes(u.flash().bytes.clone(), SECTOR),
        LIMITS,
        ITS_TAG,
    )
    .unwrap();
    assert!(t.is_empty());
}
