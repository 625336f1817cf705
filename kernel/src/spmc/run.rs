//! Running a partition: entering its S-EL0 context until it makes an FF-A call, and containing
//! what else stops it (faults are the end of the partition; an IRQ, a secure interrupt, goes
//! back to the dispatcher, which takes it and resumes the partition; a non-secure interrupt
//! preempts it when its call chain lets it be preempted).
//!
//! Non-secure interrupts. EL3 leaves them routed to S-EL1 while the secure world runs: TF-A's
//! SPMD registers an EL3 handler for secure (S-EL1) and Group 0 interrupts only
//! (services/std_svc/spmd/spmd_main.c, `spmd_setup`), so SCR_EL3.IRQ/FIQ stay 0 in the secure
//! context, and a GICv3 signals a Group 1 Non-secure interrupt to a PE in Secure state as FIQ.
//! So PSTATE.F of the S-EL0 context decides: masked, the interrupt stays pending until the SPMC
//! returns to the normal world ("queued", FF-A v1.2 section 8.3.1); unmasked, it is taken to
//! S-EL1 at once, and the SPMC preempts the partition ("signalled") and returns FFA_INTERRUPT to
//! the normal world without acknowledging the interrupt, which the normal world then takes.
//! A Group 0 interrupt is an FIQ too: taken while a partition runs, it is handed to EL3 with
//! FFA_EL3_INTR_HANDLE and the partition resumes (TF-A's SPMD expects exactly that:
//! spmd_main.c `spmd_handle_group0_intr_swd`); while the context has FIQ masked it waits until
//! the normal world runs, where EL3 takes it (`spmd_group0_interrupt_handler_nwd`).

pub use super::partition::SPSR_F;
use super::partition::{Runtime, Sp};
use super::Env;
use crate::arch::{esr, Exit};
use crate::memory::AddressSpace;

/// Why a partition stopped running.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Stop {
    /// It made an FF-A call; its registers are in its context.
    Call,
    /// It faulted and was aborted.
    Aborted,
    /// An IRQ stopped it (a secure interrupt is pending on this core); its registers are in
    /// its context and it resumes where it was.
    Interrupt,
    /// A non-secure interrupt preempted it (taken as FIQ at S-EL1, left pending).
    NsInterrupt,
}

/// Whether non-secure interrupts may preempt the context: its saved PSTATE.F is clear
/// (`partition::SPSR_F` says when it is).
pub fn preemptible(rt: &Runtime) -> bool {
    rt.regs.spsr & SPSR_F == 0
}

/// Runs the partition until it makes an FF-A call (`SVC #0`) or faults (then it is aborted).
/// An SVC with another immediate is not an FF-A call: FF-A's S-EL0 conduit is `SVC #0`
/// (SMCCC's convention), so it is an illegal instruction for a partition, and a fault
/// (docs/abi-status.md, "Also decided").
pub fn until_call(env: &mut impl Env, sp: &Sp, rt: &mut Runtime) -> Stop {
    loop {
        let Some(ttbr0) = rt.space.as_ref().map(AddressSpace::ttbr0) else {
            rt.abort();
            return Stop::Aborted;
        };
        match env.run_user(&mut rt.regs, ttbr0) {
            Exit::Sync { esr: e, .. } if esr::ec(e) == esr::EC_SVC64 && esr::svc_imm(e) == 0 => {
                return Stop::Call
            }
            // Everything else is out of line: the message path is the SVC above.
            exit => {
                if let Some(stop) = other_exit(env, sp, rt, exit) {
                    return stop;
                }
            }
        }
    }
}

/// What stopped a partition other than an FF-A call: `None` when it resumes where it was.
#[cold]
#[inline(never)]
fn other_exit(env: &mut impl Env, sp: &Sp, rt: &mut Runtime, exit: Exit) -> Option<Stop> {
    match exit {
        Exit::Sync { esr: e, far } if esr::ec(e) == esr::EC_SVC64 => {
            abort(
                sp,
                rt,
                "SVC with an immediate other than 0 (not an FF-A call)",
                e,
                far,
            );
            Some(Stop::Aborted)
        }
        Exit::Sync { esr: e, far } => {
            abort(sp, rt, esr::describe(e), e, far);
            Some(Stop::Aborted)
        }
        Exit::SError { esr: e } => {
            abort(sp, rt, "SError", e, 0);
            Some(Stop::Aborted)
        }
        Exit::Irq => Some(Stop::Interrupt),
        // An FIQ is EL3's (Group 0) or the normal world's. EL3's goes to EL3 with
        // FFA_EL3_INTR_HANDLE and the partition resumes where it was, whatever its
        // `ns-interrupts-action`: it is not the normal world's interrupt. Hafnium's
        // `fiq_lower` checks ICC_HPPIR0_EL1 the same way before anything else.
        Exit::Fiq if env.group0_pending() => {
            if !env.el3_intr_handle() {
                crate::info!("EL3 did not answer FFA_EL3_INTR_HANDLE with FFA_SUCCESS");
            }
            None
        }
        // Otherwise FIQ is unmasked only in a preemptible run: a non-secure interrupt.
        Exit::Fiq if preemptible(rt) => Some(Stop::NsInterrupt),
        // Masked otherwise (`SPSR_EL0T`): resume where it stopped.
        Exit::Fiq => None,
    }
}

/// Aborts `sp`, which held the core past a deadline: its own (`limit`), or that of the run
/// that called it.
pub fn abort_time_limit(
    sp: &Sp,
    rt: &mut Runtime,
    limit: Option<(super::time_limit::Kind, u32)>,
    late_ticks: u64,
) {
    use super::time_limit::Kind;
    match limit {
        Some((Kind::Boot, ms)) => crate::info!(
            "SP {} ({:#06x}) did not reach FFA_MSG_WAIT within {ms} ms (boot time limit): aborted, boot goes on",
            sp.desc.name,
            sp.id()
        ),
        Some((Kind::Request, ms)) => crate::info!(
            "SP {} ({:#06x}) ran {ms} ms without answering (request time limit): aborted at pc {:#x}, {late_ticks} counter ticks past its deadline",
            sp.desc.name,
            sp.id(),
            rt.regs.pc
        ),
        None => crate::info!(
            "SP {} ({:#06x}) was still running when the time limit of its caller ran out: aborted at pc {:#x}",
            sp.desc.name,
            sp.id(),
            rt.regs.pc
        ),
    }
    rt.abort();
}

fn abort(sp: &Sp, rt: &mut Runtime, what: &str, esr_v: u64, far: u64) {
    crate::info!(
        "SP {} ({:#06x}) aborted: {} at pc {:#x}, FAR {:#x}, ESR {:#x}",
        sp.desc.name,
        sp.id(),
        what,
        rt.regs.pc,
        far,
        esr_v
    );
    let img = &sp.desc.image;
    if !(img.base.0..img.base.0 + img.size).contains(&rt.regs.pc) {
        // The usual cause: an image linked for another address than its manifest's
        // load-address (e.g. built for another platform's SP pool).
        crate::info!(
            "SP {}: pc {:#x} is outside its image region {:#x}..{:#x}: is the image linked for its manifest's load-address?",
            sp.desc.name,
            rt.regs.pc,
            img.base.0,
            img.base.0 + img.size
        );
    }
    rt.abort();
}
