//! Secure interrupts owned by partitions: delivery with FFA_INTERRUPT to a waiting owner,
//! later delivery to a busy one, preemption of another partition, FFA_INTERRUPT from EL3
//! answered with FFA_NORMAL_WORLD_RESUME, and unmasking only after the owner's FFA_MSG_WAIT.

use super::fake::*;
use crate::spmc::partition::State;
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use ffa_abi::error::ErrorCode;
use ffa_abi::func_id::FuncId;
use ffa_abi::regs::Regs;
use spmc_table::OtherSInterruptsAction;

fn is_interrupt(r: &Regs, id: u32) -> bool {
    r.w(0) == FuncId::Interrupt32.raw() && r.w(2) == id && r.0[1] == 0 && r.0[3..] == [0; 15]
}

/// Finishes initialisation; in its first request `WDOG` fires, and once resumed it answers
/// with w3 = `word` (as the partition with ID `me`).
fn interrupted_in_a_request(me: EndpointId, word: u32) -> Behaviour {
    script(vec![
        svc(msg_wait()),
        Box::new(|_, _| Act::Interrupt(WDOG)),
        Box::new(move |_, _| Act::Svc(resp32(me, EndpointId(0), [word, 0, 0, 0, 0]))),
    ])
}

fn resume() -> Regs {
    call(FuncId::NormalWorldResume, &[])
}

#[test]
fn configs_list_granted_interrupts_only() {
    // A device interrupt the SP set description did not grant is not configured.
    let d = owning(sp(0), &[WDOG]).patched(|p| p.capabilities.interrupts = &[]);
    let w = World::new(vec![d, owning(sp(1), &[WDOG + 1])]);
    let c: Vec<_> = crate::spmc::interrupt::configs(w.spmc.table).collect();
    assert_eq!(
        c,
        vec![crate::spmc::interrupt::Owned {
            intid: WDOG + 1,
            owner: ffa_abi::EndpointId(0x8002),
            priority: 0x20,
            level: true,
            target_mpidr: None,
        }]
    );
}

#[test]
fn waiting_owner_is_entered_with_ffa_interrupt_from_el3() {
    let mut w = World::boot(vec![sp(0), owning(sp(1), &[WDOG])]);
    let before = w.seen(1).len();
    w.env.gic_pending.push_back(WDOG);
    assert_eq!(w.el3_interrupt(), resume());
    let seen = w.seen(1);
    assert_eq!(seen.len(), before + 1);
    assert!(is_interrupt(&seen[before], WDOG), "{:x?}", seen[before]);
    // Unmasked after its FFA_MSG_WAIT, on the core it was taken on; it waits again.
    assert_eq!(w.env.gic_unmasked, vec![(WDOG, 0)]);
    assert_eq!(w.state(1), State::Waiting);
    assert!(w.seen(0).len() == 1, "the other SP did not run");
    // It still answers requests.
    let r = w.nw(req32(EndpointId(0), SP1, [1, 2, 3, 4, 5]));
    assert_eq!(r, resp32(SP1, EndpointId(0), [1, 2, 3, 4, 5]));
}

#[test]
fn nothing_pending_still_resumes_the_normal_world() {
    let mut w = World::boot(vec![owning(sp(0), &[WDOG])]);
    let before = w.seen(0).len();
    assert_eq!(w.el3_interrupt(), resume());
    assert_eq!(w.seen(0).len(), before);
    assert!(w.env.gic_unmasked.is_empty());
}

#[test]
fn an_unowned_interrupt_is_not_delivered_and_stays_masked() {
    let mut w = World::boot(vec![owning(sp(0), &[WDOG])]);
    let before = w.seen(0).len();
    w.env.gic_pending.push_back(WDOG + 7);
    assert_eq!(w.el3_interrupt(), resume());
    assert_eq!(w.seen(0).len(), before);
    assert_eq!(w.env.gic_taken, vec![WDOG + 7]);
    assert!(w.env.gic_unmasked.is_empty());
    assert_eq!(
        w.spmc
            .irq_pending
            .load(core::sync::atomic::Ordering::Relaxed),
        0
    );
}

#[test]
fn busy_owner_gets_it_when_it_next_waits() {
    // sp0 owns the interrupt; it fires while sp0 itself handles a request.
    let mut d = owning(sp(0), &[WDOG]);
    d.behaviour = interrupted_in_a_request(SP0, 7);
    let mut w = World::boot(vec![d]);
    let r = w.nw(req32(EndpointId(0), SP0, [1, 0, 0, 0, 0]));
    assert_eq!(r, resp32(SP0, EndpointId(0), [7, 0, 0, 0, 0]));
    let seen = w.seen(0);
    // boot, the request, the resume after the IRQ, then FFA_INTERRUPT once it answered.
    assert_eq!(seen.len(), 4, "{seen:x?}");
    assert_eq!(seen[1].w(0), FuncId::MsgSendDirectReq32.raw());
    assert_eq!(seen[2], seen[1], "resumed unchanged after the IRQ");
    assert!(is_interrupt(&seen[3], WDOG));
    assert_eq!(w.env.gic_unmasked, vec![(WDOG, 0)]);
    assert_eq!(w.state(0), State::Waiting);
}

#[test]
fn another_partition_is_preempted_for_a_waiting_owner() {
    // sp1 handles a request; the interrupt of sp0 fires meanwhile: sp0 handles it at once,
    // then sp1 resumes and answers.
    let mut d1 = sp(1);
    d1.behaviour = interrupted_in_a_request(SP1, 9);
    let mut w = World::boot(vec![owning(sp(0), &[WDOG]), d1]);
    let runs_before = w.env.runs.len();
    let r = w.nw(req32(EndpointId(0), SP1, [1, 0, 0, 0, 0]));
    assert_eq!(r, resp32(SP1, EndpointId(0), [9, 0, 0, 0, 0]));
    // sp1 (request), sp0 (handler), sp1 (resumed).
    assert_eq!(w.env.runs[runs_before..], [1, 0, 1]);
    assert!(is_interrupt(w.seen(0).last().unwrap(), WDOG));
    assert_eq!(w.env.gic_unmasked, vec![(WDOG, 0)]);
}

#[test]
fn queued_other_secure_interrupts_wait_for_the_running_partition() {
    let mut d1 =
        sp(1).patched(|p| p.other_s_interrupts_action = Some(OtherSInterruptsAction::Queued));
    d1.behaviour = interrupted_in_a_request(SP1, 9);
    let mut w = World::boot(vec![owning(sp(0), &[WDOG]), d1]);
    let runs_before = w.env.runs.len();
    let r = w.nw(req32(EndpointId(0), SP1, [1, 0, 0, 0, 0]));
    assert_eq!(r, resp32(SP1, EndpointId(0), [9, 0, 0, 0, 0]));
    // sp1 runs to its response first; sp0's handler runs before the normal world resumes.
    assert_eq!(w.env.runs[runs_before..], [1, 1, 0]);
    assert!(is_interrupt(w.seen(0).last().unwrap(), WDOG));
    assert_eq!(w.env.gic_unmasked, vec![(WDOG, 0)]);
}

#[test]
fn a_handler_cannot_respond_and_must_wait() {
    let mut d = owning(sp(0), &[WDOG]);
    let steps: Vec<Step> = vec![
        svc(msg_wait()),
        // Entered with FFA_INTERRUPT: a direct response answers nothing.
        Box::new(|_, _| Act::Svc(resp32(SP0, EndpointId(0), [1, 0, 0, 0, 0]))),
        svc(msg_wait()),
    ];
    d.behaviour = script(steps);
    let mut w = World::boot(vec![d]);
    w.env.gic_pending.push_back(WDOG);
    assert_eq!(w.el3_interrupt(), resume());
    let seen = w.seen(0);
    assert_eq!(seen[2], Regs::error(ErrorCode::Denied));
    assert_eq!(w.env.gic_unmasked, vec![(WDOG, 0)]);
    assert_eq!(w.state(0), State::Waiting);
}

#[test]
fn a_handler_that_faults_is_aborted_and_its_interrupt_stays_masked() {
    let mut d = owning(sp(0), &[WDOG]);
    d.behaviour = script(vec![svc(msg_wait()), data_abort(0x1234)]);
    let mut w = World::boot(vec![d, sp(1)]);
    w.env.gic_pending.push_back(WDOG);
    assert_eq!(w.el3_interrupt(), resume());
    assert!(w.env.gic_unmasked.is_empty());
    w.assert_aborted_and_other_answers(0, 1);
}

/// With `abort-action` = restart, a partition that faults in its interrupt handler is
/// restarted at once (it may never get a direct request that would restart it), and the
/// interrupt its abort left masked is unmasked by the restart.
#[test]
fn a_restartable_handler_that_faults_is_restarted_and_its_interrupt_unmasked() {
    let mut d =
        owning(sp(0), &[WDOG]).patched(|p| p.abort_action = spmc_table::AbortAction::Restart);
    // Boots, faults in its handler, then boots again (and echoes).
    d.behaviour = script(vec![svc(msg_wait()), data_abort(0x1234)]);
    let mut w = World::boot(vec![d, sp(1)]);
    w.env.gic_pending.push_back(WDOG);
    assert_eq!(w.el3_interrupt(), resume());
    assert_eq!(w.state(0), State::Waiting, "not restarted");
    assert_eq!(w.env.gic_unmasked, vec![(WDOG, 0)]);
    let r = w.nw(req32(EndpointId(0), SP0, [1, 2, 3, 4, 5]));
    assert_eq!(r, resp32(SP0, EndpointId(0), [1, 2, 3, 4, 5]));
}

/// A PPI taken on two cores before its owner handles it: both cores' instances are masked
/// by the take, so both are unmasked once it has handled it (one delivery).
#[test]
fn an_interrupt_taken_on_two_cores_is_unmasked_on_both() {
    use crate::spmc::interrupt::take_all;
    let mut w = World::boot(vec![owning(sp(0), &[WDOG])]);
    let before = w.seen(0).len();
    {
        // The owner is busy (its lock held) while core 0 then core 1 take it.
        let _busy = w.spmc.sps[0].rt.lock();
        for core in [0, 1] {
            w.env.core = core;
            w.env.gic_pending.push_back(WDOG);
            take_all(&w.spmc, &mut w.env);
        }
    }
    assert_eq!(w.el3_interrupt(), resume());
    assert_eq!(w.seen(0).len(), before + 1, "delivered once");
    assert_eq!(w.env.gic_unmasked, vec![(WDOG, 0), (WDOG, 1)]);
    assert_eq!(
        w.spmc
            .irq_pending
            .load(core::sync::atomic::Ordering::Acquire),
        0,
        "nothing left counted as pending"
    );
}

#[test]
fn several_interrupts_are_handled_one_after_the_other() {
    let mut w = World::boot(vec![owning(sp(0), &[WDOG, WDOG + 1])]);
    let before = w.seen(0).len();
    w.env.gic_pending.extend([WDOG + 1, WDOG]);
    assert_eq!(w.el3_interrupt(), resume());
    let seen = w.seen(0);
    assert_eq!(seen.len(), before + 2);
    assert!(is_interrupt(&seen[before], WDOG));
    assert!(is_interrupt(&seen[before + 1], WDOG + 1));
    assert_eq!(w.env.gic_unmasked, vec![(WDOG, 0), (WDOG + 1, 0)]);
}

#[test]
fn ffa_interrupt_from_the_normal_world_itself_is_not_supported() {
    // Only the SPMD enters the SPMC with FFA_INTERRUPT; as a normal-world call (the path that
    // does not come from EL3's interrupt handler) it is not an ABI the SPMC implements.
    let mut w = World::boot(vec![owning(sp(0), &[WDOG])]);
    w.env.gic_pending.push_back(WDOG);
    assert_error(
        &w.nw(call(FuncId::Interrupt32, &[0, WDOG.into()])),
        ErrorCode::NotSupported,
    );
}

/// A core's warm entry does not enable again the interrupt of an owner that aborted and stays
/// stopped: taken, it would only be queued for a partition that never runs.
#[test]
fn warm_entry_leaves_a_stopped_owners_interrupt_disabled() {
    use crate::spmc::interrupt::enable_on_warm_entry;
    let mut d = owning(sp(0), &[WDOG]);
    d.behaviour = script(vec![svc(msg_wait()), data_abort(0x1234)]);
    let mut w = World::boot(vec![d, owning(sp(1), &[WDOG + 1])]);
    assert!(enable_on_warm_entry(&w.spmc, WDOG, 1), "a waiting owner's");
    w.env.gic_pending.push_back(WDOG);
    assert_eq!(w.el3_interrupt(), resume());
    assert_eq!(w.state(0), State::Aborted);
    assert!(!enable_on_warm_entry(&w.spmc, WDOG, 0));
    assert!(!enable_on_warm_entry(&w.spmc, WDOG, 1));
    assert!(
        enable_on_warm_entry(&w.spmc, WDOG + 1, 1),
        "another owner's"
    );
}

/// Nor one taken on that core and still queued for its owner (masked until the owner has
/// handled it, then unmasked on that core): its instance on other cores is enabled.
#[test]
fn warm_entry_leaves_an_interrupt_queued_on_that_core_disabled() {
    use crate::spmc::interrupt::{enable_on_warm_entry, take_all};
    let mut w = World::boot(vec![owning(sp(0), &[WDOG])]);
    {
        // The owner is busy (its lock held): the interrupt taken on core 0 stays queued.
        let _busy = w.spmc.sps[0].rt.lock();
        w.env.gic_pending.push_back(WDOG);
        take_all(&w.spmc, &mut w.env);
    }
    assert!(!enable_on_warm_entry(&w.spmc, WDOG, 0), "queued on core 0");
    assert!(enable_on_warm_entry(&w.spmc, WDOG, 1));
    // Delivered and unmasked on core 0: enabled again at a later warm entry.
    assert_eq!(w.el3_interrupt(), resume());
    assert_eq!(w.env.gic_unmasked, vec![(WDOG, 0)]);
    assert!(enable_on_warm_entry(&w.spmc, WDOG, 0));
}
