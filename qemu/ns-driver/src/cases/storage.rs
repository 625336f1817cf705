//! Persistence of its and ps in sbsa-ref's secure flash (issue 13; docs/storage.md), as steps
//! of scenarios over several boots of one flash image that xtask drives (the storage lane of
//! `cargo xtask test`, xtask/src/storage.rs). Each case runs only when `--case` names it.
//!
//! - Persistence (default set: its and ps are clients of block-storage, which owns the flash):
//!   `storage_persist_write` in one boot, `storage_persist_read` in the next, after xtask
//!   rebuilt the image (which keeps its storage area). Both services store objects under the
//!   same UIDs with different contents: each must read back its own.
//! - Power loss (its-powercut set): `storage_power_cut_arm` stores an old value, then has the
//!   flash stop in the middle of the record of a new one; the SP announces the cut and spins,
//!   and xtask kills QEMU. `storage_power_cut_check` (next boot) finds the old value, then
//!   stops the flash in the middle of the compaction the next write needs (the torn record
//!   left the tail dirty); `storage_power_cut_check_again` (third boot) finds the old value
//!   still, and the store takes new writes.
//! - Power loss through block-storage (block-storage-powercut set: its and ps as in the
//!   default set, block-storage with the stop hook): `storage_shared_power_cut_*`, the same
//!   three steps on a PS object, the flash stopped inside block-storage while it serves PS's
//!   WRITE, then its compaction; ITS's object in the other partition must stay as it was.
//! - Restart of block-storage (same set, whose manifest restarts it after an abort):
//!   `storage_block_storage_restart` aborts block-storage (power-cut service OP_ABORT); its and
//!   ps find their page gone at their next write, attach again on their old pages (the old
//!   shares reclaimed: the SPMC's live transactions are as many as before) and answer that
//!   write once more: it succeeds, and their objects are all there.
#![forbid(unsafe_code)]

use ffa_abi::{EndpointId, ErrorCode, FuncId, Uuid};
use packed_c::psa;
use packed_c::secure_storage::{GetRequest, SetRequest, OP_GET, OP_SET};
use test_protocol::power_cut;
use ts_rpc::abi::{ITS_UUID, PS_UUID};

use super::ts::{area, one, reclaim, Session};
use crate::ffa::{call, expect_error, expect_success};
use crate::harness::{check, check_eq, fail, Case, Failure, Outcome};

const ITS: EndpointId = test_protocol::id::ITS;
const PS: EndpointId = test_protocol::id::PS;
const BLOCK_STORAGE: EndpointId = test_protocol::id::BLOCK_STORAGE;

/// Every case in this file (each only on request).
pub const CASES: &[Case] = &[
    Case::default_set("storage_persist_write", persist_write).on_request(),
    Case::default_set("storage_persist_read", persist_read).on_request(),
    Case::any_set("storage_power_cut_arm", power_cut_arm).on_request(),
    Case::any_set("storage_power_cut_check", power_cut_check).on_request(),
    Case::any_set("storage_power_cut_check_again", power_cut_check_again).on_request(),
    Case::any_set("storage_shared_power_cut_arm", shared_power_cut_arm).on_request(),
    Case::any_set("storage_shared_power_cut_check", shared_power_cut_check).on_request(),
    Case::any_set(
        "storage_shared_power_cut_check_again",
        shared_power_cut_check_again,
    )
    .on_request(),
    Case::any_set("storage_block_storage_restart", block_storage_restart).on_request(),
];

const SMALL: u64 = 0x7_0001;
const LARGE: u64 = 0x7_0002;
const REMOVED: u64 = 0x7_0003;
const ONCE: u64 = 0x7_0004;
const SMALL_DATA: &[u8] = b"written in the first boot";
const SMALL_DATA_2: &[u8] = b"rewritten in the second boot";
/// Bytes of the large object: more than one shared page.
const LARGE_SIZE: u64 = 0x3000;

fn word(i: u64) -> u32 {
    0x5107_0000 ^ (i as u32).wrapping_mul(0x0100_0193)
}

fn with_mailbox(body: fn() -> Outcome) -> Outcome {
    super::ts::with_mailbox(body)
}

fn its_session(n: u64, pages: u32) -> Result<Session, Failure> {
    Session::open(ITS, ITS_UUID, &one(area(n), pages), 0)
}

fn ps_session(n: u64, pages: u32) -> Result<Session, Failure> {
    Session::open(PS, PS_UUID, &one(area(n), pages), 0)
}

/// What one service stores in the persistence scenario, under the same UIDs as the other
/// ([`SMALL`], [`LARGE`], [`REMOVED`], [`ONCE`]) with its own contents: each must read back
/// its own after the reboot.
struct Persisted {
    /// The service's name in the checks' labels.
    name: &'static str,
    /// Its partition ID and service UUID.
    sp: EndpointId,
    uuid: Uuid,
    /// The normal-world area its session shares (`ts::area`).
    area: u64,
    /// Stored under [`SMALL`].
    small: &'static [u8],
    /// Bytes of the pattern stored under [`LARGE`].
    large_size: u64,
    /// Stored write-once under [`ONCE`].
    once: &'static [u8],
}

const ITS_PERSISTED: Persisted = Persisted {
    name: "ITS",
    sp: ITS,
    uuid: ITS_UUID,
    area: 8,
    small: SMALL_DATA,
    large_size: LARGE_SIZE,
    once: b"once",
};

const PS_PERSISTED: Persisted = Persisted {
    name: "PS",
    sp: PS,
    uuid: PS_UUID,
    area: 9,
    small: b"protected storage, first boot",
    // A different size from ITS's.
    large_size: 0x2800,
    once: b"ps once",
};

/// A check's label with the service's name in front ("PS: GET after the reboot").
struct Label(&'static str, &'static str);

impl core::fmt::Display for Label {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.0, self.1)
    }
}

impl Persisted {
    fn session(&self) -> Result<Session, Failure> {
        Session::open(self.sp, self.uuid, &one(area(self.area), 4), 0)
    }

    fn label(&self, what: &'static str) -> Label {
        Label(self.name, what)
    }

    /// First boot (erased storage): stores the objects, and one removed again.
    fn write(&self) -> Outcome {
        let s = self.session()?;
        check_eq!(
            s.set(SMALL, self.small, 0)?,
            psa::SUCCESS,
            self.label("SET")
        );
        set_large(&s, LARGE, self.large_size)?;
        check_eq!(s.set(REMOVED, b"gone", 0)?, psa::SUCCESS, self.label("SET"));
        check_eq!(s.remove(REMOVED)?, psa::SUCCESS, self.label("REMOVE"));
        check_eq!(
            s.set(ONCE, self.once, psa::FLAG_WRITE_ONCE)?,
            psa::SUCCESS,
            self.label("SET write-once (the lane starts from erased storage)")
        );
        s.close()
    }

    /// Next boot: everything read back, the removed object still absent, the write-once one
    /// still refusing SET, and the store still taking writes.
    fn check(&self) -> Outcome {
        let s = self.session()?;
        let (st, got) = s.get(SMALL, 0, 64)?;
        check_eq!(
            (st, &got[..]),
            (psa::SUCCESS, self.small),
            self.label("GET after the reboot")
        );
        check_large(&s, LARGE, self.large_size)?;
        check_eq!(
            s.info(REMOVED)?,
            Err(psa::ERROR_DOES_NOT_EXIST),
            self.label("the removed object stays removed")
        );
        check_eq!(
            s.info(ONCE)?.map(|i| (i.size, i.flags)),
            Ok((self.once.len() as u64, psa::FLAG_WRITE_ONCE)),
            self.label("GET_INFO of the write-once object")
        );
        check_eq!(
            s.set(ONCE, b"twice", 0)?,
            psa::ERROR_NOT_PERMITTED,
            self.label("SET over the write-once object after the reboot")
        );
        check_eq!(
            s.set(SMALL, SMALL_DATA_2, 0)?,
            psa::SUCCESS,
            self.label("SET again")
        );
        let (st, got) = s.get(SMALL, 0, 64)?;
        check_eq!(
            (st, &got[..]),
            (psa::SUCCESS, SMALL_DATA_2),
            self.label("GET of the new value")
        );
        s.close()
    }
}

/// SET of `size` bytes of the pattern, written straight into the shared memory.
fn set_large(s: &Session, uid: u64, size: u64) -> Outcome {
    let mut h = [0u8; SetRequest::SIZE];
    SetRequest {
        uid,
        data_length: size,
        create_flags: 0,
    }
    .encode(&[], &mut h);
    s.write(0, &h)?;
    for i in (0..size).step_by(4) {
        s.write(SetRequest::SIZE as u64 + i, &word(i).to_le_bytes())?;
    }
    let a = s.invoke_len(OP_SET, SetRequest::SIZE as u32 + size as u32)?;
    check_eq!((a.rpc, a.psa), (0, psa::SUCCESS), "SET of the large object");
    Ok(())
}

fn check_large(s: &Session, uid: u64, size: u64) -> Outcome {
    let mut g = [0u8; GetRequest::SIZE];
    GetRequest {
        uid,
        data_offset: 0,
        data_size: size,
    }
    .encode(&mut g);
    let a = s.invoke(OP_GET, &g)?;
    check_eq!(
        (a.rpc, a.psa, u64::from(a.len)),
        (0, psa::SUCCESS, size),
        "GET of the large object"
    );
    for i in (0..size).step_by(4) {
        let mut w = [0u8; 4];
        s.read(i, &mut w)?;
        check_eq!(u32::from_le_bytes(w), word(i), "large object word");
    }
    Ok(())
}

fn persist_write() -> Outcome {
    with_mailbox(|| {
        ITS_PERSISTED.write()?;
        PS_PERSISTED.write()
    })
}

fn persist_read() -> Outcome {
    // PS, in its own partition of the flash, kept its own objects.
    with_mailbox(|| {
        ITS_PERSISTED.check()?;
        PS_PERSISTED.check()
    })
}

const CUT_UID: u64 = 0x9_0001;
const OLD: &[u8] = b"the old value, stored whole before the power loss";
/// 64 bytes: its record is 40 + 64 bytes, 26 words.
const NEW: &[u8] = b"the new value, torn by a power loss in the middle of its record.";
const NEWEST: &[u8] = b"written after two power losses";

/// Has the flash of `hook` (the partition with the power-cut service) stop after `steps`
/// more program/erase steps.
fn arm(hook: EndpointId, steps: u64) -> Outcome {
    let s = Session::open(
        hook,
        Uuid(power_cut::SERVICE_UUID_BYTES),
        &one(area(11), 1),
        0,
    )?;
    check_eq!(
        s.psa(power_cut::OP_ARM, &steps.to_le_bytes())?,
        psa::SUCCESS,
        "ARM"
    );
    s.close()
}

fn expect_old(s: &Session) -> Outcome {
    let (st, got) = s.get(CUT_UID, 0, 64)?;
    check_eq!(
        (st, &got[..]),
        (psa::SUCCESS, OLD),
        "after the power loss, the old value"
    );
    check_eq!(
        s.info(CUT_UID)?.map(|i| i.size),
        Ok(OLD.len() as u64),
        "size after the power loss"
    );
    Ok(())
}

/// What ITS holds in the shared-flash power-cut scenario (never written after the first boot).
const ITS_KEPT: &[u8] = b"ITS, in its own partition, untouched by PS's power losses";

fn keep_its() -> Outcome {
    let i = its_session(10, 1)?;
    check_eq!(i.set(CUT_UID, ITS_KEPT, 0)?, psa::SUCCESS, "ITS SET");
    i.close()
}

fn expect_its_kept() -> Outcome {
    let s = its_session(10, 1)?;
    let (st, got) = s.get(CUT_UID, 0, 64)?;
    check_eq!(
        (st, &got[..]),
        (psa::SUCCESS, ITS_KEPT),
        "ITS's object after PS's power loss"
    );
    s.close()
}

/// A power-loss scenario over three boots of one image (module docs): [`PowerCut::arm`],
/// then [`PowerCut::check`] and [`PowerCut::check_again`] in the boots after the losses.
struct PowerCut {
    /// A session with the storage service whose object is torn.
    session: fn() -> Result<Session, Failure>,
    /// The partition whose flash stops (its power-cut service).
    hook: EndpointId,
    /// What the scenario stores elsewhere before the first loss ...
    keep_other: fn() -> Outcome,
    /// ... and checks after each.
    expect_other: fn() -> Outcome,
}

/// Nothing kept aside (the ITS scenario).
fn nothing() -> Outcome {
    Ok(())
}

/// its-powercut set: ITS's own flash stops.
const ITS_CUT: PowerCut = PowerCut {
    session: || its_session(10, 1),
    hook: ITS,
    keep_other: nothing,
    expect_other: nothing,
};

/// block-storage-powercut set: PS's WRITE stops inside block-storage; ITS's object, in the
/// other partition of the same flash, must stay as it was.
const SHARED_CUT: PowerCut = PowerCut {
    session: || ps_session(9, 1),
    hook: BLOCK_STORAGE,
    keep_other: keep_its,
    expect_other: expect_its_kept,
};

impl PowerCut {
    /// Stores the old value, then has the flash stop in the middle of the new one's record
    /// (26 words, through block-storage one WRITE): the SET must not answer.
    fn arm(&self) -> Outcome {
        (self.keep_other)()?;
        let s = (self.session)()?;
        check_eq!(s.set(CUT_UID, OLD, 0)?, psa::SUCCESS, "SET old");
        check_eq!(NEW.len(), 64, "new value length");
        arm(self.hook, 13)?;
        let st = s.set(CUT_UID, NEW, 0)?;
        fail!("the SET that should have been cut by the power loss answered {st}")
    }

    /// The old value is there; the torn record left the tail dirty, so the next write
    /// compacts into the next sector (erase, records, header last): stop after the erase and
    /// two words.
    fn check(&self) -> Outcome {
        let s = (self.session)()?;
        expect_old(&s)?;
        (self.expect_other)()?;
        arm(self.hook, 3)?;
        let st = s.set(CUT_UID, NEWEST, 0)?;
        fail!("the SET that should have been cut in its compaction answered {st}")
    }

    /// The old value is still there, and the store takes new writes.
    fn check_again(&self) -> Outcome {
        let s = (self.session)()?;
        expect_old(&s)?;
        (self.expect_other)()?;
        check_eq!(
            s.set(CUT_UID, NEWEST, 0)?,
            psa::SUCCESS,
            "SET after two power losses"
        );
        let (st, got) = s.get(CUT_UID, 0, 64)?;
        check_eq!((st, &got[..]), (psa::SUCCESS, NEWEST), "GET");
        s.close()
    }
}

fn power_cut_arm() -> Outcome {
    with_mailbox(|| ITS_CUT.arm())
}

fn power_cut_check() -> Outcome {
    with_mailbox(|| ITS_CUT.check())
}

fn power_cut_check_again() -> Outcome {
    with_mailbox(|| ITS_CUT.check_again())
}

fn shared_power_cut_arm() -> Outcome {
    with_mailbox(|| SHARED_CUT.arm())
}

fn shared_power_cut_check() -> Outcome {
    with_mailbox(|| SHARED_CUT.check())
}

fn shared_power_cut_check_again() -> Outcome {
    with_mailbox(|| SHARED_CUT.check_again())
}

/// The SPMC's state checker (test images: kernel/src/spmc/state_check.rs): every SP's tables
/// must equal the transaction state; returns the live memory transactions.
fn live_transactions() -> Result<u64, Failure> {
    /// kernel/src/spmc/state_check.rs `CMD` ("STATECHK").
    const STATE_CHECK: u64 = 0x5354_4154_4543_484B;
    let r = call(FuncId::MsgSendDirectReq64, &[0x8000, 0, STATE_CHECK, 0, 0]);
    check!(
        r.w(0) == FuncId::MsgSendDirectResp64.raw() && r.0[3] == 0,
        "state check: {:#x?}",
        &r.0[..8]
    );
    Ok(r.0[4])
}

const RESTART_UID: u64 = 0x9_0002;

/// One service across block-storage's restart: the first SET after it finds our page gone
/// from block-storage; the service attaches again and answers it once more, so it succeeds;
/// the objects from before are there.
fn after_restart(s: &Session, name: &str, before: &[u8], after: &[u8]) -> Outcome {
    let (st, got) = s.get(RESTART_UID, 0, 64)?;
    check_eq!(
        (st, &got[..]),
        (psa::SUCCESS, before),
        format_args!("{name}: GET after block-storage restarted")
    );
    check_eq!(
        s.set(RESTART_UID, after, 0)?,
        psa::SUCCESS,
        format_args!("{name}: the first SET after block-storage restarted")
    );
    let (st, got) = s.get(RESTART_UID, 0, 64)?;
    check_eq!(
        (st, &got[..]),
        (psa::SUCCESS, after),
        format_args!("{name}: GET of the new value")
    );
    Ok(())
}

fn block_storage_restart() -> Outcome {
    with_mailbox(|| {
        let i = its_session(10, 1)?;
        let p = ps_session(9, 1)?;
        check_eq!(
            i.set(RESTART_UID, b"ITS before", 0)?,
            psa::SUCCESS,
            "ITS SET"
        );
        check_eq!(p.set(RESTART_UID, b"PS before", 0)?, psa::SUCCESS, "PS SET");
        let live = live_transactions()?;
        let c = Session::open(
            BLOCK_STORAGE,
            Uuid(power_cut::SERVICE_UUID_BYTES),
            &one(area(11), 1),
            0,
        )?;
        expect_error(
            &c.invoke_raw(power_cut::OP_ABORT),
            ErrorCode::Aborted,
            "OP_ABORT: block-storage aborts",
        )?;
        // Restarted from its image: the SPMC relinquished what it had retrieved, ours too.
        expect_success(
            &reclaim(c.handle()),
            "FFA_MEM_RECLAIM of the control page after the restart",
        )?;
        after_restart(&i, "ITS", b"ITS before", b"ITS after")?;
        after_restart(&p, "PS", b"PS before", b"PS after")?;
        check_eq!(
            live_transactions()?,
            live,
            "live transactions after both re-attached (each old share reclaimed, not left)"
        );
        i.close()?;
        p.close()
    })
}
