//! Fuzzing from both worlds (issue 10): random FF-A calls from the normal world and from a
//! malicious SP (fault, driven through test-protocol `RAW_CALL`: any register values the SP
//! runtime would never send), memory transaction descriptors built valid and then mutated
//! (any byte, the lengths, overlapping and repeated ranges), and SP-to-SP transactions; then
//! the invariants, which must hold whatever the calls did:
//!
//! - every transaction still live is reclaimable by its owner once its borrowers have
//!   relinquished (no handle is stuck, none was lost);
//! - every SP still answers a direct request, and so does the SPMC's own endpoint;
//! - no transaction slot or quota leaked: the normal world can again hold its whole quota of
//!   live transactions, and echo can still share with fault;
//! - every FFA_ERROR returned on the way carried an error code FF-A defines;
//! - the SPMC's state checker (test images: kernel/src/spmc/state_check.rs) finds every SP's
//!   tables equal to the transaction state, every [`CHECK_EVERY`] actions and at the end, and at
//!   the end the SPMC holds as many live transactions and page-table pages as before the run;
//! - a malicious SP's reclaim of another endpoint's transaction, and its retrieve of one sent to
//!   another borrower alone, are refused.
//!
//! The run is a function of its seed alone (given the same image): the seed is printed first
//! and in every failure, and `cargo xtask fuzz --seed N --calls M` replays it. `cargo xtask
//! test` runs [`CASES`]: one short run with a fixed seed.
//!
//! Calls left out, because they would change what the rest of the run (or of the test image)
//! relies on rather than test the SPMC: FFA_VERSION (the negotiated version), FFA_RXTX_UNMAP
//! (the mailboxes the memory calls need), FFA_MEM_PERM_SET from an SP (its own text), direct
//! responses and FFA_MSG_WAIT from an SP (they end the SP's run; the partitions cases test
//! them), and test-protocol commands that fault an SP on purpose (payload words never carry
//! the 0xC0DE command prefix).
#![forbid(unsafe_code)]

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use ffa_abi::memory::transaction::{builder_for, MemAccess};
use ffa_abi::memory::{AccessPerms, Constituent, MemAttributes};
use ffa_abi::{EndpointId, ErrorCode, FuncId, MemHandle, Regs, Uuid, Version};
use test_protocol::{cmd, id, status};

use crate::console::log;
use crate::dram::{self, BUFFER_SIZE, NW_RX, NW_TX, SHARE_POOL};
use crate::ffa::{call, call_raw, Shown};
use crate::harness::{check, fail, Case, Failure, Outcome};

/// The fixed-seed run of `cargo xtask test` (a few seconds of QEMU time).
pub const CASES: &[Case] = &[
    Case::default_set("fuzz_both_worlds_fixed_seed", || run(TEST_SEED, TEST_CALLS)),
    // Also the starvation check of the engine's lock: with a test-and-set lock, a borrower's
    // MEM_RELINQUISH waited at S-EL1 until its request time limit aborted it (kernel/src/sync.rs).
    Case::default_set("mem_race_four_cores", race).after(&["cpu_on_all_secondaries"]),
];

/// The seed and length of the run in `cargo xtask test`.
pub const TEST_SEED: u64 = 0x5EED_0010;
pub const TEST_CALLS: u32 = 400;
/// FFA_RUNs the normal world gives a request's SP that yielded before the request fails.
const MAX_RESUMES: u32 = 8;

/// The pages the fuzzer shares, lends and donates: 64 pages of the driver's pool that no other
/// case uses.
const POOL: u64 = SHARE_POOL + 0x700_0000;
const POOL_PAGES: u64 = 64;
/// Eight pages after them that no fuzzed call names (so none can have been donated away),
/// for the quota check at the end.
const QUOTA_PAGES: u64 = POOL + POOL_PAGES * PAGE;
const PAGE: u64 = ffa_abi::PAGE_SIZE;

/// SPs that retrieve (test-protocol MEM_ACCESS / MEM_RELINQUISH).
const BORROWERS: [EndpointId; 2] = [id::ECHO, id::FAULT];
/// The malicious SP.
const EVIL: EndpointId = id::FAULT;
/// The SPMC's ID and the normal world's (targets the fuzzer picks besides the SPs).
const SPMC: EndpointId = EndpointId(0x8000);
const NW: EndpointId = EndpointId(0);
/// The normal world's live-transaction quota (kernel `Quota::NW_DEFAULT`).
const NW_QUOTA: usize = 8;
/// The most live transactions tracked (more than any quota allows at once).
const MAX_LIVE: usize = 32;

/// x3 of a DIRECT_REQ_64 to the SPMC's endpoint that runs its state checker (test images:
/// kernel/src/spmc/state_check.rs `CMD`; the answer's x3 is 0 clean, 1 mismatch (x6 the SP,
/// x7 the page), 2 refused; x4 live transactions, x5 page-table pages held).
const STATE_CHECK: u64 = 0x5354_4154_4543_484B;
/// How often (in actions) the run asks for the state checker.
const CHECK_EVERY: u32 = 50;

/// splitmix64: small, and the whole sequence follows from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value below `n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }

    /// A register value: mostly small or structured, sometimes anything.
    fn word(&mut self) -> u64 {
        let v = match self.below(6) {
            0 => 0,
            1 => self.below(16),
            2 => self.next() & 0xFFFF_FFFF,
            3 => {
                u64::from(*self.pick(&[SPMC, id::ECHO, id::RELAY, id::FAULT, id::PKG_SP, NW]))
                    | u64::from(*self.pick(&[NW, id::ECHO, id::FAULT])) << 16
            }
            4 => POOL + self.below(POOL_PAGES) * PAGE + *self.pick(&[0u64, 1, 0x800]),
            _ => self.next(),
        };
        harmless(v)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Keeps a payload word from naming a test-protocol command (0xC0DE_xxxx in its low half):
/// some of them fault an SP on purpose.
fn harmless(v: u64) -> u64 {
    if (v as u32) >> 16 == 0xC0DE {
        v ^ 0x1_0000
    } else {
        v
    }
}

/// A transaction the run created and has not seen end.
#[derive(Clone, Copy, Debug)]
struct Live {
    handle: MemHandle,
    /// 0: the normal world; else the SP that sent it.
    owner: EndpointId,
    /// A donation (it ends when the donee retrieves it).
    donate: bool,
    /// Its first borrower, as far as the run knows (0: unknown).
    to: EndpointId,
}

struct Fuzz {
    rng: Rng,
    seed: u64,
    calls: u32,
    step: u32,
    live: heapless::Vec<Live, MAX_LIVE>,
    stats: Stats,
    /// (live transactions, page-table pages held) the state checker saw before the run.
    before: (u64, u64),
}

/// What the run did, printed at its end: shows the calls got past the decoders.
#[derive(Default)]
struct Stats {
    /// Transactions created (successful sends, and fragmented sends begun).
    created: u32,
    /// Reclaims that succeeded during the run.
    reclaimed: u32,
    /// Retrieves by a borrower that succeeded (MEM_ACCESS status OK).
    retrieved: u32,
    /// Calls answered FFA_SUCCESS (either world, raw calls).
    raw_success: u32,
    /// Calls answered FFA_ERROR (either world).
    errors: u32,
    /// Transactions live when the calls ended (reclaimed by the invariant check).
    live_at_end: usize,
}

/// FF-A error codes (DEN0077 v1.2 Table "Error status codes": -1 .. -10).
fn known_error(code: u32) -> bool {
    ErrorCode::from_i32(code as i32).is_some()
}

impl Fuzz {
    fn new(seed: u64, calls: u32) -> Self {
        Fuzz {
            rng: Rng(seed),
            seed,
            calls,
            step: 0,
            live: heapless::Vec::new(),
            stats: Stats::default(),
            before: (0, 0),
        }
    }

    fn fail(&self, what: core::fmt::Arguments) -> Failure {
        crate::harness::failure(format_args!(
            "seed {:#x} step {}: {what} (replay: cargo xtask fuzz --seed {:#x} --calls {})",
            self.seed, self.step, self.seed, self.calls
        ))
    }

    /// The oracle every answer passes: an FFA_ERROR carries a defined code.
    fn answer(&mut self, r: &Regs, what: &str) -> Result<(), Failure> {
        if r.w(0) == FuncId::Error32.raw() {
            self.stats.errors += 1;
        } else if r.w(0) == FuncId::Success32.raw() || r.w(0) == FuncId::Success64.raw() {
            self.stats.raw_success += 1;
        }
        if r.w(0) == FuncId::Error32.raw() && !known_error(r.w(2)) {
            return Err(self.fail(format_args!(
                "{what}: FFA_ERROR with undefined code {:#x}: {}",
                r.w(2),
                Shown(r)
            )));
        }
        Ok(())
    }

    fn track(&mut self, l: Live) {
        if self.live.iter().all(|x| x.handle != l.handle) {
            // Full means more live transactions than all quotas allow: the invariant check
            // at the end will see the one left out as leaked slots.
            let _ = self.live.push(l);
        }
    }

    fn forget(&mut self, h: MemHandle) {
        self.live.retain(|l| l.handle != h);
    }

    /// One random action (one FF-A call, or a few for a structured one).
    fn act(&mut self) -> Outcome {
        match self.rng.below(100) {
            0..=21 => self.nw_send(),
            22..=31 => self.nw_reclaim(),
            32..=46 => self.sp_access(),
            47..=51 => self.sp_relinquish(),
            52..=69 => self.nw_raw(),
            70..=87 => self.sp_raw(),
            88..=94 => self.sp_steal(),
            _ => self.sp_to_sp(),
        }
    }

    /// FFA_MEM_SHARE/LEND/DONATE from the normal world: a valid descriptor of one to three
    /// ranges in the pool (overlapping or repeated at times) to one or two borrowers, sent
    /// as it is or with a byte, a length or a register mutated.
    fn nw_send(&mut self) -> Outcome {
        let r = &mut self.rng;
        let (fid, donate) = match r.below(10) {
            0..=4 => (*r.pick(&[FuncId::MemShare32, FuncId::MemShare64]), false),
            5..=8 => (*r.pick(&[FuncId::MemLend32, FuncId::MemLend64]), false),
            _ => (*r.pick(&[FuncId::MemDonate32, FuncId::MemDonate64]), true),
        };
        // DEN0140 encoding: bits [1:0] data (1 RO, 2 RW), bits [3:2] instruction (0 not
        // specified, 1 NX, 2 X): the grants senders give, and anything.
        let grants = [
            rw(),
            perms(0b0001),
            perms(0b0110),
            perms(0),
            perms(r.below(256) as u8),
        ];
        // Half the sends are clean (one borrower, the grant and attributes its kind takes,
        // ranges apart), so that transactions live long enough to be retrieved, kept,
        // relinquished and reclaimed; the other half anything, then maybe mutated.
        let clean = r.chance(2);
        let mut rx = heapless::Vec::<MemAccess, 2>::new();
        let mut cons = heapless::Vec::<Constituent, 3>::new();
        let attrs = if clean {
            let grant = if donate {
                perms(0)
            } else if r.chance(4) {
                perms(0b0001)
            } else {
                rw()
            };
            let _ = rx.push(MemAccess::new(*r.pick(&BORROWERS), grant));
            // Ranges in separate quarters of the pool: never overlapping.
            let n = 1 + r.below(2);
            for q in 0..n {
                let _ = cons.push(Constituent {
                    address: POOL + (q * 32 + r.below(28)) * PAGE,
                    page_count: 1 + r.below(3) as u32,
                });
            }
            if fid == FuncId::MemShare32 || fid == FuncId::MemShare64 {
                MemAttributes::NORMAL_WB_INNER
            } else {
                MemAttributes::NOT_SPECIFIED
            }
        } else {
            for _ in 0..1 + r.below(2) {
                let who = if r.chance(8) {
                    EndpointId(r.below(0x1_0000) as u16)
                } else {
                    *r.pick(&BORROWERS)
                };
                let _ = rx.push(MemAccess::new(who, *r.pick(&grants)));
            }
            for _ in 0..1 + r.below(3) {
                let _ = cons.push(Constituent {
                    address: POOL + r.below(POOL_PAGES) * PAGE,
                    page_count: 1 + r.below(3) as u32,
                });
            }
            *r.pick(&[MemAttributes::NORMAL_WB_INNER, MemAttributes::NOT_SPECIFIED])
        };
        let Ok(mut b) = builder_for(Version::V1_2, NW, &rx, &cons) else {
            return Ok(());
        };
        b.attributes = attrs;
        let mut buf = [0u8; BUFFER_SIZE];
        let (Ok(total), Ok(n)) = (b.total_len(), b.write_fragment(0, &mut buf)) else {
            return Ok(());
        };
        let mut len = n;
        let mut total = total;
        // A mutated byte may have changed the receivers: then who may retrieve is unknown.
        let mut bytes_mutated = false;
        match if clean { 9 } else { r.below(10) } {
            0 | 1 => {
                // Any byte of the descriptor.
                let at = r.below(n as u64) as usize;
                buf[at] = r.next() as u8;
                bytes_mutated = true;
            }
            2 => {
                // A 32-bit field (offsets, counts, sizes) set to something else.
                let at = (r.below(n as u64 / 4) * 4) as usize;
                buf[at..at + 4].copy_from_slice(&(r.word() as u32).to_le_bytes());
                bytes_mutated = true;
            }
            3 => total = r.below(2 * n as u64 + 1) as usize,
            4 => len = r.below(n as u64 + 1) as usize,
            _ => {}
        }
        if !dram::write_bytes(NW_TX, &buf[..len.min(BUFFER_SIZE)]) {
            fail!("fuzz: TX write");
        }
        let reg3 = if r.chance(10) { r.word() } else { 0 };
        let a = call(fid, &[total as u64, len as u64, reg3, 0]);
        self.answer(&a, "MEM send")?;
        // `to` names the one borrower only when the descriptor says so unaltered: a send to
        // two borrowers may be retrieved by either (NW stands for "not known").
        let to = match (rx.as_slice(), bytes_mutated) {
            ([only], false) => only.endpoint,
            _ => NW,
        };
        self.after_send(&a, NW, donate, to);
        Ok(())
    }

    /// Records what a send answered: a handle, or a fragmented send in progress (its handle
    /// is in w1/w2 of FFA_MEM_FRAG_RX), which the end of the run reclaims like any other.
    fn after_send(&mut self, a: &Regs, owner: EndpointId, donate: bool, to: EndpointId) {
        let (lo, hi) = match a.w(0) {
            w if w == FuncId::Success32.raw() || w == FuncId::Success64.raw() => (a.w(2), a.w(3)),
            w if w == FuncId::MemFragRx.raw() => (a.w(1), a.w(2)),
            _ => return,
        };
        self.stats.created += 1;
        self.track(Live {
            handle: MemHandle::from_regs(lo, hi),
            owner,
            donate,
            to,
        });
    }

    /// FFA_MEM_RECLAIM from the normal world of one of its handles, or of a made-up one.
    fn nw_reclaim(&mut self) -> Outcome {
        let mine: heapless::Vec<Live, MAX_LIVE> = self
            .live
            .iter()
            .filter(|l| l.owner == NW)
            .copied()
            .collect();
        let h = if mine.is_empty() || self.rng.chance(4) {
            MemHandle(self.rng.next())
        } else {
            self.rng.pick(&mine).handle
        };
        let (lo, hi) = h.to_regs();
        let flags = if self.rng.chance(6) {
            self.rng.word()
        } else {
            0
        };
        let a = call(FuncId::MemReclaim, &[lo, hi, flags]);
        self.answer(&a, "FFA_MEM_RECLAIM")?;
        if a.w(0) == FuncId::Success32.raw() {
            self.stats.reclaimed += 1;
            self.forget(h);
        }
        Ok(())
    }

    /// A borrower retrieves a live handle (or a made-up one), reads, maybe writes, and
    /// relinquishes or keeps it.
    fn sp_access(&mut self) -> Outcome {
        let l = if self.live.is_empty() || self.rng.chance(6) {
            Live {
                handle: MemHandle(self.rng.next()),
                owner: NW,
                donate: false,
                to: NW,
            }
        } else {
            *self.rng.pick(&self.live)
        };
        let sp = if BORROWERS.contains(&l.to) && !self.rng.chance(4) {
            l.to
        } else {
            *self.rng.pick(&BORROWERS)
        };
        let (lo, hi) = l.handle.to_regs();
        let value = if self.rng.chance(2) {
            0
        } else {
            self.rng.next() & 0xFFFF
        };
        let offset = self.rng.below(4) * 0x800;
        let keep = if self.rng.chance(3) { cmd::MEM_KEEP } else { 0 };
        let words = [
            u64::from(cmd::MEM_ACCESS),
            lo,
            hi,
            u64::from(l.owner),
            value,
            offset,
            keep,
        ];
        let out = self.req2(sp, &words)?;
        if out[0] == u64::from(status::OK) {
            self.stats.retrieved += 1;
            if l.to != NW && l.to != sp {
                return Err(self.fail(format_args!(
                    "{sp:#06x} retrieved {:?}, sent to {:#06x} alone (owner {:#06x})",
                    l.handle, l.to, l.owner
                )));
            }
        }
        if l.donate && out[0] == u64::from(status::OK) {
            // The donee has the pages now: the transaction is over.
            self.forget(l.handle);
        }
        Ok(())
    }

    fn sp_relinquish(&mut self) -> Outcome {
        let sp = *self.rng.pick(&BORROWERS);
        let h = if self.live.is_empty() || self.rng.chance(4) {
            MemHandle(self.rng.next())
        } else {
            self.rng.pick(&self.live).handle
        };
        let (lo, hi) = h.to_regs();
        self.req2(sp, &[u64::from(cmd::MEM_RELINQUISH), lo, hi])?;
        Ok(())
    }

    /// A random FF-A call from the normal world: any function number of the FF-A range, SMC32
    /// or SMC64, with random registers (direct requests go to the test SPs, the SPMC or nobody).
    fn nw_raw(&mut self) -> Outcome {
        let fid = self.random_fid(false);
        let mut args = [0u64; 17];
        for a in args.iter_mut() {
            *a = self.rng.word();
        }
        if is_direct_req(fid) {
            let to = *self.rng.pick(&[
                SPMC,
                id::ECHO,
                id::RELAY,
                id::FAULT,
                id::PKG_SP,
                EndpointId(0x7FFF),
            ]);
            args[0] = if self.rng.chance(8) {
                args[0]
            } else {
                u64::from(to)
            };
        }
        let a = call_raw(fid, &args);
        self.answer(&a, "normal-world call")?;
        if is_mem_send(fid) {
            self.after_send(&a, NW, fid & 0xFFFF == 0x71, NW);
        }
        Ok(())
    }

    /// A random FF-A call made by the malicious SP (RAW_CALL: x0 and x1..x12 as given).
    fn sp_raw(&mut self) -> Outcome {
        let fid = self.random_fid(true);
        let mut words = [0u64; 14];
        words[0] = u64::from(cmd::RAW_CALL);
        words[1] = u64::from(fid);
        for w in words[2..].iter_mut() {
            *w = self.rng.word();
        }
        if is_direct_req(fid) {
            let to = *self
                .rng
                .pick(&[SPMC, id::ECHO, id::RELAY, id::PKG_SP, EVIL, NW]);
            words[2] = if self.rng.chance(6) {
                words[2]
            } else {
                u64::from(EVIL) << 16 | u64::from(to)
            };
        }
        if fid & 0xFFFF == 0x77 && self.rng.chance(2) {
            // FFA_MEM_RECLAIM of someone else's live handle: must be refused.
            if let Some(l) = self.live.iter().find(|l| l.owner != EVIL).copied() {
                let (lo, hi) = l.handle.to_regs();
                words[2] = lo;
                words[3] = hi;
            }
        }
        let out = self.req2(EVIL, &words)?;
        if out[0] != u64::from(status::OK) {
            return Ok(());
        }
        let reply = Regs(core::array::from_fn(
            |i| if i < 13 { out[1 + i] } else { 0 },
        ));
        self.answer(&reply, "the SP's call")?;
        if fid & 0xFFFF == 0x77 && reply.w(0) == FuncId::Success32.raw() {
            let h = MemHandle::from_regs(words[2] as u32, words[3] as u32);
            if let Some(l) = self.live.iter().find(|l| l.handle == h) {
                if l.owner != EVIL {
                    return Err(self.fail(format_args!(
                        "fault reclaimed {h:?}, owned by {:#06x}",
                        l.owner
                    )));
                }
            }
            self.forget(h);
        }
        if is_mem_send(fid) {
            self.after_send(&reply, EVIL, fid & 0xFFFF == 0x71, NW);
        }
        Ok(())
    }

    /// The malicious SP goes for a transaction that is not its own: reclaims it, or
    /// retrieves one sent to another borrower alone. Both must be refused.
    fn sp_steal(&mut self) -> Outcome {
        let theirs: heapless::Vec<Live, MAX_LIVE> = self
            .live
            .iter()
            .filter(|l| l.owner != EVIL)
            .copied()
            .collect();
        if theirs.is_empty() {
            return Ok(());
        }
        let l = *self.rng.pick(&theirs);
        let (lo, hi) = l.handle.to_regs();
        if self.rng.chance(2) {
            let out = self.req2(
                EVIL,
                &[
                    u64::from(cmd::RAW_CALL),
                    u64::from(FuncId::MemReclaim.raw()),
                    lo,
                    hi,
                    0,
                ],
            )?;
            if out[0] == u64::from(status::OK) && out[1] as u32 != FuncId::Error32.raw() {
                return Err(self.fail(format_args!(
                    "fault reclaimed {:?} of {:#06x}: w0 {:#x}",
                    l.handle, l.owner, out[1]
                )));
            }
            Ok(())
        } else if l.to != NW && l.to != EVIL {
            let out = self.req2(
                EVIL,
                &[
                    u64::from(cmd::MEM_ACCESS),
                    lo,
                    hi,
                    u64::from(l.owner),
                    0,
                    0,
                    0,
                ],
            )?;
            if out[0] == u64::from(status::OK) {
                return Err(self.fail(format_args!(
                    "fault retrieved {:?}, sent to {:#06x} alone",
                    l.handle, l.to
                )));
            }
            Ok(())
        } else {
            Ok(())
        }
    }

    /// echo shares or lends one of its pages with fault, which retrieves, writes and
    /// relinquishes it, and echo reclaims it: the whole SP-to-SP cycle in one request.
    fn sp_to_sp(&mut self) -> Outcome {
        let abi = *self.rng.pick(&[cmd::MEM_SEND_SHARE, cmd::MEM_SEND_LEND]);
        let value = self.rng.next() & 0xFFFF;
        self.req2(
            id::ECHO,
            &[u64::from(cmd::MEM_SEND), u64::from(EVIL), abi, value],
        )?;
        Ok(())
    }

    /// A function ID of the FF-A range (0x60..=0x9F), SMC32 or SMC64, without the calls the
    /// module documentation leaves out.
    fn random_fid(&mut self, sp: bool) -> u32 {
        loop {
            let f = 0x60 + self.rng.below(0x40) as u32;
            let fid = if self.rng.chance(2) {
                0x8400_0000
            } else {
                0xC400_0000
            } | f;
            let left_out = match f {
                0x63 | 0x67 => true,      // FFA_VERSION, FFA_RXTX_UNMAP
                0x6B | 0x70 | 0x87 => sp, // MSG_WAIT, DIRECT_RESP, DIRECT_RESP2
                0x89 => sp,               // FFA_MEM_PERM_SET
                0x8A => sp,               // FFA_CONSOLE_LOG: random bytes on the console
                _ => false,
            };
            if !left_out {
                return fid;
            }
        }
    }

    /// A DIRECT_REQ2 from the normal world to `sp` with the nil UUID; the response's x4..x17.
    fn req2(&self, sp: EndpointId, words: &[u64]) -> Result<[u64; 14], Failure> {
        let mut args = [0u64; 17];
        args[0] = u64::from(sp);
        [args[1], args[2]] = Uuid::NIL.to_u64_pair();
        for (d, s) in args[3..].iter_mut().zip(words) {
            *d = *s;
        }
        let mut r = call(FuncId::MsgSendDirectReq2, &args);
        // A random call of fault's (RAW_CALL) may be FFA_YIELD: the request then returns
        // FFA_YIELD with the SP's ID and vCPU in w1, and the normal world resumes it with
        // FFA_RUN, as a scheduler would, until the SP answers.
        let mut resumed = 0;
        while r.w(0) == FuncId::Yield32.raw() && resumed < MAX_RESUMES {
            r = call(FuncId::Run32, &[u64::from(r.w(1))]);
            resumed += 1;
        }
        if r.w(0) != FuncId::MsgSendDirectResp2.raw() {
            return Err(self.fail(format_args!(
                "request {:#x} to {sp:#06x} got no response: {}",
                words[0],
                Shown(&r)
            )));
        }
        Ok(core::array::from_fn(|i| r.0[4 + i]))
    }

    /// Runs the SPMC's state checker over the pool and every SP's memory regions: every
    /// SP's tables must equal the transaction state. Returns (live transactions, page-table
    /// pages held in reservations).
    fn state_check(&self) -> Result<(u64, u64), Failure> {
        let pages = POOL_PAGES + NW_QUOTA as u64;
        let r = call(
            FuncId::MsgSendDirectReq64,
            &[0x8000, 0, STATE_CHECK, POOL, pages],
        );
        if r.w(0) != FuncId::MsgSendDirectResp64.raw() {
            return Err(self.fail(format_args!("state check: {}", Shown(&r))));
        }
        match r.0[3] {
            0 => Ok((r.0[4], r.0[5])),
            1 => Err(self.fail(format_args!(
                "state checker: SP {:#06x} maps page {:#x} other than the transaction state says",
                r.0[6], r.0[7]
            ))),
            STATE_CHECK => Err(self.fail(format_args!(
                "this SPMC has no state checker (built without spmc-sbsa's `state-check`)"
            ))),
            other => Err(self.fail(format_args!("state checker refused ({other:#x})"))),
        }
    }

    /// The invariants at the end of a run (module documentation).
    fn check_end(&mut self) -> Outcome {
        // Borrowers give back whatever they kept, then every owner reclaims.
        let live = self.live.clone();
        for l in &live {
            let (lo, hi) = l.handle.to_regs();
            for sp in BORROWERS {
                self.req2(sp, &[u64::from(cmd::MEM_RELINQUISH), lo, hi])?;
            }
        }
        for l in &live {
            let (lo, hi) = l.handle.to_regs();
            let a = if l.owner == NW {
                call(FuncId::MemReclaim, &[lo, hi, 0])
            } else {
                let out = self.req2(
                    l.owner,
                    &[
                        u64::from(cmd::RAW_CALL),
                        u64::from(FuncId::MemReclaim.raw()),
                        lo,
                        hi,
                        0,
                    ],
                )?;
                Regs(core::array::from_fn(
                    |i| if i < 13 { out[1 + i] } else { 0 },
                ))
            };
            let ok = a.w(0) == FuncId::Success32.raw();
            // A donation the donee retrieved is over: its handle is gone.
            let gone = l.donate
                && a.w(0) == FuncId::Error32.raw()
                && a.w(2) == ErrorCode::InvalidParameters.to_i32() as u32;
            if !ok && !gone {
                return Err(self.fail(format_args!(
                    "live handle {:?} of {:#06x} not reclaimable at the end: {}",
                    l.handle,
                    l.owner,
                    Shown(&a)
                )));
            }
        }
        self.live.clear();
        // The malicious SP may have left its RX buffer full (FFA_PARTITION_INFO_GET without
        // FFA_RX_RELEASE): give it back, as its runtime would, for the cases after the run.
        self.req2(
            EVIL,
            &[u64::from(cmd::RAW_CALL), u64::from(FuncId::RxRelease.raw())],
        )?;
        // Every SP and the SPMC's endpoint answer.
        for to in [
            SPMC,
            id::ECHO,
            id::RELAY,
            id::FAULT,
            id::PKG_SP,
            id::ITS,
            id::PS,
        ] {
            let r = call(
                FuncId::MsgSendDirectReq32,
                &[u64::from(to), 0, 0x1234, 1, 2, 3, 4],
            );
            if r.w(0) != FuncId::MsgSendDirectResp32.raw() {
                return Err(self.fail(format_args!(
                    "{to:#06x} does not answer after the run: {}",
                    Shown(&r)
                )));
            }
        }
        // No slot leaked: the normal world holds its whole quota again...
        let mut handles = heapless::Vec::<MemHandle, NW_QUOTA>::new();
        for i in 0..NW_QUOTA as u64 {
            let rx = [MemAccess::new(id::ECHO, rw())];
            let cons = [Constituent {
                address: QUOTA_PAGES + i * PAGE,
                page_count: 1,
            }];
            let Ok(mut b) = builder_for(Version::V1_2, NW, &rx, &cons) else {
                fail!("descriptor");
            };
            b.attributes = MemAttributes::NORMAL_WB_INNER;
            let mut buf = [0u8; BUFFER_SIZE];
            let Ok(n) = b.write_fragment(0, &mut buf) else {
                fail!("descriptor");
            };
            check!(dram::write_bytes(NW_TX, &buf[..n]), "TX write");
            let a = call(FuncId::MemShare64, &[n as u64, n as u64, 0, 0]);
            if a.w(0) != FuncId::Success32.raw() {
                return Err(self.fail(format_args!(
                    "share {} of the normal world's quota of {NW_QUOTA} after the run: {}",
                    i + 1,
                    Shown(&a)
                )));
            }
            let _ = handles.push(MemHandle::from_regs(a.w(2), a.w(3)));
        }
        for h in handles {
            let (lo, hi) = h.to_regs();
            let a = call(FuncId::MemReclaim, &[lo, hi, 0]);
            if a.w(0) != FuncId::Success32.raw() {
                return Err(self.fail(format_args!("reclaim {h:?}: {}", Shown(&a))));
            }
        }
        // The tables equal the state, and the SPMC holds what it held before the run: no
        // transaction and no page-table page leaked.
        let now = self.state_check()?;
        if now != self.before {
            return Err(self.fail(format_args!(
                "after the run the SPMC holds (live transactions, table pages) {now:?}, before it {:?}",
                self.before
            )));
        }
        // ...and echo's SP-to-SP cycle works from start to end.
        let out = self.req2(
            id::ECHO,
            &[
                u64::from(cmd::MEM_SEND),
                u64::from(EVIL),
                cmd::MEM_SEND_SHARE,
                0x5EED,
            ],
        )?;
        if out[..2] != [u64::from(status::OK); 2] || out[4] != u64::from(status::OK) {
            return Err(self.fail(format_args!(
                "echo's share with fault after the run: {:#x?}",
                &out[..5]
            )));
        }
        Ok(())
    }
}

fn perms(v: u8) -> AccessPerms {
    AccessPerms::decode(v).unwrap_or(AccessPerms::RW_NX)
}

/// Read-write, instruction access not specified: what a share or lend grants.
fn rw() -> AccessPerms {
    perms(0b0010)
}

fn is_direct_req(fid: u32) -> bool {
    matches!(fid & 0xFFFF, 0x6F | 0x8D)
}

fn is_mem_send(fid: u32) -> bool {
    matches!(fid & 0xFFFF, 0x71..=0x73)
}

/// Runs `calls` random actions from `seed`, then checks the invariants. Maps the normal
/// world's mailbox for the run and unmaps it after.
pub fn run(seed: u64, calls: u32) -> Outcome {
    log!("fuzz: seed {seed:#x}, {calls} calls (replay: cargo xtask fuzz --seed {seed:#x} --calls {calls})");
    let m = call(FuncId::RxTxMap64, &[NW_TX, NW_RX, 1]);
    check!(
        m.w(0) == FuncId::Success32.raw(),
        "fuzz: FFA_RXTX_MAP_64: {}",
        Shown(&m)
    );
    let mut f = Fuzz::new(seed, calls);
    let mut r = f.state_check().map(|b| f.before = b);
    while r.is_ok() && f.step < calls {
        r = f.act();
        if r.is_ok() && (f.step + 1).is_multiple_of(CHECK_EVERY) {
            r = f.state_check().map(|_| ());
        }
        if r.is_ok() {
            f.step += 1;
        }
    }
    if r.is_ok() {
        f.step = calls;
        f.stats.live_at_end = f.live.len();
        r = f.check_end();
    }
    let st = &f.stats;
    log!(
        "fuzz: {} transactions created, {} reclaimed and {} retrieved during the run, {} calls answered FFA_SUCCESS, {} FFA_ERROR; {} live at the end",
        st.created,
        st.reclaimed,
        st.retrieved,
        st.raw_success,
        st.errors,
        st.live_at_end
    );
    let u = call(FuncId::RxTxUnmap, &[0]);
    r?;
    check!(
        u.w(0) == FuncId::Success32.raw(),
        "fuzz: FFA_RXTX_UNMAP: {}",
        Shown(&u)
    );
    log!("fuzz: seed {seed:#x}: {calls} calls, invariants hold");
    Ok(())
}

// ---- The 4-core race ---------------------------------------------------------------------

/// Transactions the cores race on.
const RACE_SLOTS: usize = 6;
/// Actions each core takes.
pub const RACE_ROUNDS: u32 = 150;
/// One page per slot, after the quota pages; the u32 at its start is `RACE_PATTERN + slot`.
const RACE_POOL: u64 = QUOTA_PAGES + NW_QUOTA as u64 * PAGE;
const RACE_PATTERN: u32 = 0x4ACE_0000;
/// Cores the race counts (the primary is core 0).
const RACE_CORES: usize = crate::secondary::MAX_CORES;

/// The current handle of each slot (0: being re-sent).
static RACE_HANDLES: [AtomicU64; RACE_SLOTS] = [const { AtomicU64::new(0) }; RACE_SLOTS];
/// Bit `b` of slot `s`: borrower `BORROWERS[b]` holds slot `s`'s current handle (set after
/// its keeping retrieve succeeded, cleared before it relinquishes).
static RACE_HELD: [AtomicU32; RACE_SLOTS] = [const { AtomicU32::new(0) }; RACE_SLOTS];
/// Bit `b` of slot `s`: a core is between asking borrower `BORROWERS[b]` to retrieve or
/// relinquish slot `s` and recording the outcome in [`RACE_HELD`]. Without it a relinquish on
/// one core could slip in after another core's keeping retrieve was answered and before it set
/// its `RACE_HELD` bit, leaving the bit set for a page nobody holds, and a correct reclaim
/// would then be counted wrong (seen under TF-A's timing, 2026-12).
static RACE_BUSY_PAIR: [AtomicU32; RACE_SLOTS] = [const { AtomicU32::new(0) }; RACE_SLOTS];
/// The normal world has one TX buffer for all its cores: one sender at a time.
static TX_BUSY: AtomicBool = AtomicBool::new(false);
/// Per core: actions answered as allowed, BUSY answers, and the first wrong answer (0: none;
/// else what went wrong, encoded by `wrong`).
static RACE_OK: [AtomicU32; RACE_CORES] = [const { AtomicU32::new(0) }; RACE_CORES];
static RACE_BUSY: [AtomicU32; RACE_CORES] = [const { AtomicU32::new(0) }; RACE_CORES];
static RACE_WRONG: [AtomicU64; RACE_CORES] = [const { AtomicU64::new(0) }; RACE_CORES];

/// What a wrong answer was: (kind << 56) | (slot << 48) | detail.
fn wrong(kind: u64, slot: usize, detail: u64) -> u64 {
    (kind << 56) | ((slot as u64) << 48) | (detail & 0xFFFF_FFFF_FFFF)
}

/// Shares (even slots) or lends (odd slots) slot `s`'s page with echo and fault, read-write;
/// returns the handle, or 0 if the SPMC refused.
fn race_send(s: usize) -> u64 {
    while TX_BUSY
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        core::hint::spin_loop();
    }
    let rx = [
        MemAccess::new(id::ECHO, rw()),
        MemAccess::new(id::FAULT, rw()),
    ];
    let cons = [Constituent {
        address: RACE_POOL + s as u64 * PAGE,
        page_count: 1,
    }];
    let mut handle = 0;
    if let Ok(mut b) = builder_for(Version::V1_2, NW, &rx, &cons) {
        b.attributes = MemAttributes::NORMAL_WB_INNER;
        let mut buf = [0u8; 256];
        if let Ok(n) = b.write_fragment(0, &mut buf) {
            if dram::write_bytes(NW_TX, &buf[..n]) {
                let fid = if s.is_multiple_of(2) {
                    FuncId::MemShare64
                } else {
                    FuncId::MemLend64
                };
                let a = call(fid, &[n as u64, n as u64, 0, 0]);
                if a.w(0) == FuncId::Success32.raw() {
                    handle = MemHandle::from_regs(a.w(2), a.w(3)).0;
                }
            }
        }
    }
    TX_BUSY.store(false, Ordering::Release);
    handle
}

/// A DIRECT_REQ2 from this core to `sp` (nil UUID): x4..x17 of the response, or `None` if the
/// SP was busy with another core's request (FFA_ERROR BUSY).
fn race_req2(sp: EndpointId, words: &[u64]) -> Result<Option<[u64; 14]>, u64> {
    let mut args = [0u64; 17];
    args[0] = u64::from(sp);
    for (d, s) in args[3..].iter_mut().zip(words) {
        *d = *s;
    }
    let r = call(FuncId::MsgSendDirectReq2, &args);
    if r.w(0) == FuncId::MsgSendDirectResp2.raw() {
        return Ok(Some(core::array::from_fn(|i| r.0[4 + i])));
    }
    if r.w(0) == FuncId::Error32.raw() && r.w(2) == ErrorCode::Busy.to_i32() as u32 {
        return Ok(None);
    }
    Err(u64::from(r.w(0)) << 32 | u64::from(r.w(2)))
}

/// One core's part of the race: [`RACE_ROUNDS`] actions on random slots: a borrower retrieves
/// (reading the page, which must hold its slot's pattern: any other page would be a mapping
/// lost or crossed) and relinquishes or keeps it, a borrower relinquishes, the normal world
/// reclaims (which must fail while a borrower holds it) and sends the page again. Called on
/// every core at once (secondary.rs `CMD_MEM_RACE`).
pub fn race_worker(core: usize, seed: u64) {
    let c = core % RACE_CORES;
    let mut rng = Rng(seed ^ (c as u64).wrapping_mul(0x9E37_79B9));
    for _ in 0..RACE_ROUNDS {
        if RACE_WRONG[c].load(Ordering::Relaxed) != 0 {
            return;
        }
        let s = rng.below(RACE_SLOTS as u64) as usize;
        let b = rng.below(2) as usize;
        let sp = BORROWERS[b];
        let h = RACE_HANDLES[s].load(Ordering::Acquire);
        let (lo, hi) = MemHandle(h).to_regs();
        let action = rng.below(4);
        // A retrieve or relinquish by borrower `b` on slot `s` while another core has one in
        // flight would race its RACE_HELD update: count it as BUSY, as the SP would answer.
        let pair = 1 << b;
        if action < 3 && RACE_BUSY_PAIR[s].fetch_or(pair, Ordering::AcqRel) & pair != 0 {
            RACE_BUSY[c].fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let outcome = match action {
            0 | 1 => {
                let keep = rng.chance(2);
                let words = [
                    u64::from(cmd::MEM_ACCESS),
                    lo,
                    hi,
                    0,
                    0,
                    0,
                    if keep { cmd::MEM_KEEP } else { 0 },
                ];
                match race_req2(sp, &words) {
                    Ok(Some(r)) if r[0] == u64::from(status::OK) => {
                        if r[1] as u32 != RACE_PATTERN + s as u32 {
                            Err(wrong(1, s, r[1]))
                        } else {
                            if keep {
                                RACE_HELD[s].fetch_or(1 << b, Ordering::AcqRel);
                            }
                            Ok(true)
                        }
                    }
                    Ok(Some(_)) => Ok(true),
                    Ok(None) => Ok(false),
                    Err(e) => Err(wrong(2, s, e)),
                }
            }
            2 => {
                RACE_HELD[s].fetch_and(!(1 << b), Ordering::AcqRel);
                match race_req2(sp, &[u64::from(cmd::MEM_RELINQUISH), lo, hi]) {
                    Ok(Some(_)) => Ok(true),
                    Ok(None) => Ok(false),
                    Err(e) => Err(wrong(2, s, e)),
                }
            }
            _ => {
                let held = RACE_HELD[s].load(Ordering::Acquire);
                let a = call(FuncId::MemReclaim, &[lo, hi, 0]);
                if a.w(0) == FuncId::Success32.raw() {
                    if held != 0 || RACE_HELD[s].load(Ordering::Acquire) != 0 {
                        Err(wrong(3, s, u64::from(held)))
                    } else if RACE_HANDLES[s]
                        .compare_exchange(h, 0, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        let n = race_send(s);
                        RACE_HANDLES[s].store(n, Ordering::Release);
                        Ok(true)
                    } else {
                        // Two cores reclaimed one handle.
                        Err(wrong(4, s, h))
                    }
                } else if a.w(0) == FuncId::Error32.raw() && known_error(a.w(2)) {
                    Ok(true)
                } else {
                    Err(wrong(5, s, u64::from(a.w(0))))
                }
            }
        };
        if action < 3 {
            RACE_BUSY_PAIR[s].fetch_and(!pair, Ordering::AcqRel);
        }
        match outcome {
            Ok(true) => {
                RACE_OK[c].fetch_add(1, Ordering::Relaxed);
            }
            Ok(false) => {
                RACE_BUSY[c].fetch_add(1, Ordering::Relaxed);
            }
            Err(w) => {
                RACE_WRONG[c].store(w, Ordering::Release);
            }
        }
    }
}

/// The 4-core race (issue 10): every core up runs [`race_worker`] over the same transactions
/// at once; no answer may be wrong (module docs of `race_worker`); afterwards every
/// transaction ends with its owner, and the state checker finds the tables equal to the state
/// with as many transactions and table pages held as before.
fn race() -> Outcome {
    use crate::secondary::MAILBOXES;
    let up: heapless::Vec<usize, 8> = (1..MAILBOXES.len())
        .filter(|&i| MAILBOXES[i].reports.load(Ordering::Acquire) > 0)
        .collect();
    check!(
        up.len() >= 3,
        "{} secondary cores up, the race needs 3",
        up.len()
    );
    let m = call(FuncId::RxTxMap64, &[NW_TX, NW_RX, 1]);
    check!(
        m.w(0) == FuncId::Success32.raw(),
        "FFA_RXTX_MAP_64: {}",
        Shown(&m)
    );
    let r = race_run(&up);
    let u = call(FuncId::RxTxUnmap, &[0]);
    r?;
    check!(
        u.w(0) == FuncId::Success32.raw(),
        "FFA_RXTX_UNMAP: {}",
        Shown(&u)
    );
    Ok(())
}

fn race_run(up: &[usize]) -> Outcome {
    use crate::secondary::{CMD_MEM_RACE, MAILBOXES};
    let f = Fuzz::new(RACE_SEED, RACE_ROUNDS);
    let before = f.state_check()?;
    for s in 0..RACE_SLOTS {
        check!(
            dram::write_bytes(
                RACE_POOL + s as u64 * PAGE,
                &(RACE_PATTERN + s as u32).to_le_bytes()
            ),
            "race page write"
        );
        let h = race_send(s);
        check!(h != 0, "sending race slot {s} failed");
        RACE_HANDLES[s].store(h, Ordering::Release);
        RACE_HELD[s].store(0, Ordering::Release);
        RACE_BUSY_PAIR[s].store(0, Ordering::Release);
    }
    for c in 0..RACE_CORES {
        RACE_OK[c].store(0, Ordering::Relaxed);
        RACE_BUSY[c].store(0, Ordering::Relaxed);
        RACE_WRONG[c].store(0, Ordering::Relaxed);
    }
    let before_done: heapless::Vec<u32, 8> = up
        .iter()
        .map(|&i| MAILBOXES[i].done.load(Ordering::Acquire))
        .collect();
    for &i in up {
        MAILBOXES[i]
            .target
            .store(RACE_SEED as u32, Ordering::Release);
        MAILBOXES[i].command.store(CMD_MEM_RACE, Ordering::Release);
    }
    crate::arch::sev();
    race_worker(0, RACE_SEED);
    let finished = crate::arch::wait_until(120_000, || {
        up.iter()
            .zip(&before_done)
            .all(|(&i, &b)| MAILBOXES[i].done.load(Ordering::Acquire) > b)
    });
    check!(
        finished,
        "a secondary core did not finish its part of the race"
    );
    let (mut ok, mut busy) = (0u32, 0u32);
    for c in core::iter::once(0).chain(up.iter().copied()) {
        let w = RACE_WRONG[c].load(Ordering::Acquire);
        if w != 0 {
            fail!(
                "core {c}: wrong answer {w:#x} (kind {}: 1 page content, 2 request refused, 3 reclaim while held, 4 double reclaim, 5 reclaim answer)",
                w >> 56
            );
        }
        ok += RACE_OK[c].load(Ordering::Relaxed);
        busy += RACE_BUSY[c].load(Ordering::Relaxed);
    }
    check!(ok > 0, "no action of the race was answered");
    // Every transaction ends with its owner.
    for (s, handle) in RACE_HANDLES.iter().enumerate() {
        let h = handle.load(Ordering::Acquire);
        check!(h != 0, "slot {s} was not sent again after a reclaim");
        let (lo, hi) = MemHandle(h).to_regs();
        for sp in BORROWERS {
            f.req2(sp, &[u64::from(cmd::MEM_RELINQUISH), lo, hi])?;
        }
        let a = call(FuncId::MemReclaim, &[lo, hi, 0]);
        check!(
            a.w(0) == FuncId::Success32.raw(),
            "reclaim of slot {s} after the race: {}",
            Shown(&a)
        );
    }
    let after = f.state_check()?;
    check!(
        after == before,
        "the SPMC holds (live transactions, table pages) {after:?} after the race, {before:?} before"
    );
    log!(
        "race: {} cores x {RACE_ROUNDS} actions on {RACE_SLOTS} transactions: {ok} answered, {busy} BUSY, none wrong",
        up.len() + 1
    );
    Ok(())
}

const RACE_SEED: u64 = 0x4ACE_0004;
