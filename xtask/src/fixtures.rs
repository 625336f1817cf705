//! Boots of fixture SP sets that the default image cannot hold (`cargo xtask test` runs them
//! after the storage lane): the FF-A v1.0 boot-information fixture, pkg-sp built for an FF-A
//! v1.0 manifest (partitions/pkg-sp/layout-v1.0.json), which must find its manifest through
//! v1.0 name/value boot information (qemu/ns-driver/src/cases/stock_sp.rs).

use std::path::Path;

use crate::flash::Storage;
use crate::layout::{LayoutRef, Target};
use crate::storage::{boot, Boot, End};
use crate::toolchain::Toolchain;

/// Runs the fixture boots; returns (passed, failed), one per boot.
pub fn run_lane(tc: &Toolchain, timeout: u64) -> Result<(u32, u32), String> {
    let file = crate::root().join("partitions/pkg-sp/layout-v1.0.json");
    let lref = LayoutRef::new(Some(Path::new(&file)), Target::Qemu)?;
    let b = Boot {
        case: "boot_info_v1_0_manifest_read_back",
        storage: Storage::Reset,
        end: End::Pass,
    };
    Ok(match boot(tc, &lref, &b, timeout) {
        Ok(()) => (1, 0),
        Err(e) => {
            eprintln!("fixture lane: FAILED: {e}");
            (0, 1)
        }
    })
}
