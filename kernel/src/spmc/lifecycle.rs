//! What becomes of a partition after it aborted (FF-A v1.3 ALP2, "partition lifecycle"; manifest
//! binding `lifecycle-support` and `abort-action`, TF-A docs/components/ffa-manifest-binding.rst).
//!
//! An aborted partition stays stopped (callers get ABORTED) unless its manifest asks for
//! `abort-action` = restart (manifest-tool accepts it only with `lifecycle-support`, as Hafnium's
//! src/manifest.c). Then the SPMC restarts it from its image, as Hafnium does
//! (`ffa_cpu_cycles_abort`, ACTION_RESTART: the partition is re-initialised and booted again
//! while the caller of the aborted run gets FFA_ERROR(ABORTED)):
//!
//! 1. Its memory-transaction state is dropped on its behalf, as Hafnium's
//!    `ffa_memory_reclaim_relinquish_vm_regions`: every transaction it retrieved is relinquished
//!    (the lender can reclaim it; a zero-after-relinquish flag is honoured), every transaction it
//!    sent is reclaimed, its unfinished fragmented sends are abandoned and its unfinished
//!    retrieve responses forgotten. A transaction it sent that a borrower still holds cannot be
//!    reclaimed: its pages are part of the image the restart rewrites, so the restart waits
//!    (callers get BUSY, as Hafnium answers for an aborted partition with lifecycle support)
//!    and is tried again at the next message to it. Memory donated to or by it changed owner
//!    for good: a restart from the image cannot give it back, so such a partition stays stopped.
//! 2. Its notification state as a receiver (bindings, pending bits) and its mailbox (the
//!    message it held), dropped and closed at the abort (`indirect::drop_aborted`), are opened
//!    again empty
//!    (`indirect::reopen`); its RX/TX buffers are forgotten (the manifest's come back with the
//!    image).
//! 3. Its memory is reset: the image region is zeroed and the image copied in again (the tail
//!    is its bss), every secure memory region of its manifest is zeroed, the boot information
//!    is written again, and its mappings are put back to the manifest's permissions (undoing
//!    FFA_MEM_PERM_SET). Its translation table is kept, not rebuilt: another core's TTBR0 may
//!    still point at it (a core keeps the table of the last partition it ran), so freeing it
//!    would free a table in use. Its interrupt left masked by the abort is unmasked.
//! 4. It boots again under its boot time limit until FFA_MSG_WAIT. One that aborts while
//!    booting (the first time or after a restart) stays stopped: restarting it would loop.
//!
//! Steps 1-3 are [`prepare_restart`] here; step 4 is a partition run like any other, so the
//! dispatcher does it (`dispatch::restart_if_wanted`): this module does not import the
//! dispatcher, which imports it (no import circle inside the kernel).
//!
//! All of it runs with the partition's runtime lock held, so every other caller meanwhile gets
//! BUSY (its lock is only ever tried).

use super::partition::{Phase, Runtime, Sp, State};
use super::{Env, Spmc};
use ffa_abi::error::ErrorCode;
use spmc_table::AbortAction;

/// What became of an aborted partition.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Outcome {
    /// It runs again (waiting for messages).
    Restarted,
    /// It is to be restarted, but memory it lent or shared is still held by a borrower.
    Pending,
    /// It stays stopped.
    Stopped,
}

pub use super::memory::Blocked;

/// The error a caller of an aborted partition gets: BUSY while it is to be restarted (it will
/// answer again), ABORTED when it stays stopped.
pub fn refusal(sp: &Sp, rt: &Runtime) -> ErrorCode {
    if wants_restart(sp, rt) {
        ErrorCode::Busy
    } else {
        ErrorCode::Aborted
    }
}

/// Whether `sp` (aborted) is to be restarted: its manifest asks for it and it has not been
/// given up.
pub fn wants_restart(sp: &Sp, rt: &Runtime) -> bool {
    sp.desc.abort_action == AbortAction::Restart
        && rt.state() == State::Aborted
        && rt.life.initialised
        && !rt.life.given_up
}

/// Prepares the restart of `sp` (aborted, its lock held) if its manifest asks for it and
/// nothing prevents it (steps 1-3 of the module documentation), leaving it Booting: `Ok` means
/// the caller boots it now (`dispatch::restart_if_wanted`); `Err` is the outcome without a
/// boot.
pub fn prepare_restart(
    spmc: &Spmc,
    env: &mut impl Env,
    sp: &Sp,
    rt: &mut Runtime,
) -> Result<(), Outcome> {
    if rt.state() != State::Aborted {
        return Err(Outcome::Restarted);
    }
    if sp.desc.abort_action != AbortAction::Restart || rt.life.given_up {
        return Err(Outcome::Stopped);
    }
    if !rt.life.initialised {
        give_up(sp, rt, "it aborted before reaching FFA_MSG_WAIT");
        return Err(Outcome::Stopped);
    }
    match super::memory::drop_partition_state(spmc, env, sp, rt) {
        Ok(()) => {}
        Err(Blocked::Borrowed) => {
            if !rt.life.pending_logged {
                crate::info!(
                    "SP {} ({:#06x}): restart waits until memory it lent or shared is relinquished",
                    sp.desc.name,
                    sp.id()
                );
                rt.life.pending_logged = true;
            }
            return Err(Outcome::Pending);
        }
        Err(Blocked::Never(why)) => {
            give_up(sp, rt, why);
            return Err(Outcome::Stopped);
        }
    }
    let masked = rt.life.masked_interrupt.take();
    if let Err(e) = spmc.reload(env, sp, rt) {
        give_up(sp, rt, "reloading its image failed");
        crate::info!("SP {}: reload: {:?}", sp.desc.name, e);
        return Err(Outcome::Stopped);
    }
    if let Some((intid, cores)) = masked {
        super::irq_pending::unmask_on(env, intid, cores);
    }
    // Its notification and message state was dropped at the abort (`indirect::drop_aborted`):
    // it receives them again from now on.
    super::indirect::reopen(spmc, sp);
    rt.life.restarts = rt.life.restarts.saturating_add(1);
    crate::info!(
        "SP {} ({:#06x}) restarting from its image (restart {})",
        sp.desc.name,
        sp.id(),
        rt.life.restarts
    );
    if let Phase::Created(c) = rt.phase() {
        c.start_boot();
    }
    Ok(())
}

/// Marks `sp` as never to be restarted again, and says why.
pub fn give_up(sp: &Sp, rt: &mut Runtime, why: &str) {
    rt.life.given_up = true;
    crate::info!(
        "SP {} ({:#06x}) is not restarted: {why}; it stays stopped",
        sp.desc.name,
        sp.id()
    );
}
