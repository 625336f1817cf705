//! The state checker behind the SPMC's endpoint in test images (`state_check`, cargo feature
//! `state-check`): it reports clean tables as clean, finds a page mapped where the transaction
//! state says it is not, and refuses what it cannot serve.

use super::fake::*;
use crate::memory::{MemType, UserPerm, PAGE_SIZE};
use crate::policy::DirectForm;
use crate::spmc::{direct, state_check};
use ffa_abi::EndpointId;

#[test]
fn clean_tables_are_clean() {
    let w = World::echoes(2);
    assert_eq!(
        state_check::check(&w.spmc, EndpointId(0), NS.base, 16),
        [state_check::CLEAN, 0, 0, 0, 0]
    );
}

#[test]
fn a_page_mapped_outside_the_state_is_found() {
    let w = World::echoes(2);
    let page = NS.base + 3 * PAGE_SIZE;
    {
        let mut rt = w.spmc.sps[1].rt.lock();
        let perm = UserPerm {
            write: true,
            exec: false,
            non_secure: true,
            memory: MemType::Normal,
        };
        rt.space
            .as_mut()
            .unwrap()
            .map_shared(page, 1, perm)
            .unwrap();
    }
    assert_eq!(
        state_check::check(&w.spmc, EndpointId(0), NS.base, 16),
        [state_check::MISMATCH, 0, 0, 0x8002, page]
    );
    // A range that does not contain the page does not see it.
    assert_eq!(
        state_check::check(&w.spmc, EndpointId(0), NS.base, 3)[0],
        state_check::CLEAN
    );
}

#[test]
fn partitions_and_bad_ranges_are_refused() {
    let w = World::echoes(1);
    let refused = [state_check::REFUSED, 0, 0, 0, 0];
    assert_eq!(
        state_check::check(&w.spmc, EndpointId(0x8001), NS.base, 1),
        refused
    );
    assert_eq!(
        state_check::check(&w.spmc, EndpointId(0), NS.base + 1, 1),
        refused
    );
    assert_eq!(
        state_check::check(
            &w.spmc,
            EndpointId(0),
            NS.base,
            state_check::MAX_NS_PAGES + 1
        ),
        refused
    );
    assert_eq!(
        state_check::check(&w.spmc, EndpointId(0), !0xFFF, 2),
        refused
    );
}

#[test]
fn other_requests_to_the_spmc_are_echoed() {
    let w = World::echoes(1);
    let r = req64(EndpointId(0), SPMC_ID, [state_check::CMD + 1, 2, 3, 4, 5]);
    let mut io = r.0;
    state_check::spmc_endpoint(&w.spmc, EndpointId(0), &mut io, DirectForm::Req);
    let mut want = r.0;
    direct::echo(&mut want, DirectForm::Req);
    assert_eq!(io, want);
    // The check itself answers in the echo's form, x3..x7 replaced.
    let mut io = req64(EndpointId(0), SPMC_ID, [state_check::CMD, NS.base, 4, 0, 0]).0;
    state_check::spmc_endpoint(&w.spmc, EndpointId(0), &mut io, DirectForm::Req);
    assert_eq!(
        io[0] as u32,
        ffa_abi::func_id::FuncId::MsgSendDirectResp64.raw()
    );
    assert_eq!(io[1], u64::from(0x8000u32 << 16));
    assert_eq!(io[3..8], [state_check::CLEAN, 0, 0, 0, 0]);
}
