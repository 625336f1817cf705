//! Boots of fixture SP sets that the default image cannot hold (`cargo xtask test` runs them
//! after the storage lane): the FF-A v1.0 boot-information fixture, pkg-sp built for an FF-A
//! v1.0 manifest (partitions/pkg-sp/layout-v1.0.json), which must find its manifest through
//! v1.0 name/value boot information (qemu/ns-driver/src/cases/stock_sp.rs), and with echo
//! built for v1.0 (partitions/echo/echo-v1.0.dts) the v1.0 FFA_MSG_SEND / FFA_MSG_POLL case
//! between v1.0 SPs (qemu/ns-driver/src/cases/notify.rs). One boot per case.

use std::path::Path;

use crate::flash::Storage;
use crate::layout::{LayoutRef, Target};
use crate::storage::{boot, Boot, End};
use crate::toolchain::Toolchain;

/// Runs the fixture boots; returns (passed, failed), one per boot (case).
pub fn run_lane(tc: &Toolchain, timeout: u64) -> Result<(u32, u32), String> {
    let file = crate::root().join("partitions/pkg-sp/layout-v1.0.json");
    let lref = LayoutRef::new(Some(Path::new(&file)), Target::Qemu)?;
    let (mut passed, mut failed) = (0, 0);
    for case in [
        "boot_info_v1_0_manifest_read_back",
        // v1.0 FFA_MSG_SEND / FFA_MSG_POLL between the NW and two v1.0 SPs (issue 12).
        "msg_send_poll_v1_0_sps",
    ] {
        let b = Boot {
            case,
            storage: Storage::Reset,
            end: End::Pass,
        };
        match boot(tc, &lref, &b, timeout) {
            Ok(()) => passed += 1,
            Err(e) => {
                eprintln!("fixture lane: {case} FAILED: {e}");
                failed += 1;
            }
        }
    }
    Ok((passed, failed))
}
