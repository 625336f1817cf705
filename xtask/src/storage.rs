//! The storage lane of `cargo xtask test`: its and ps persist in sbsa-ref's secure flash across
//! boots of one image and across power losses (docs/storage.md). Each step is a boot of the
//! same flash file running one on-request case of qemu/ns-driver/src/cases/storage.rs; the
//! image is rebuilt between boots with the next case, which keeps its storage area (what
//! `cargo xtask qemu` does too).
//!
//! - persistence, default SP set (its and ps through block-storage): write (erased storage),
//!   then read back after the reboot;
//! - power loss, its-powercut set (partitions/its-powercut): the SP stops its flash at a
//!   chosen step and prints the marker, and QEMU is killed there (SIGKILL, as a power cut:
//!   nothing more reaches the flash); the next boot must find the old value. Twice: in the
//!   middle of a record, then in the middle of the compaction that follows;
//! - power loss through block-storage, block-storage-powercut set (partitions/
//!   block-storage-powercut: its and ps as in the default set, block-storage with the stop
//!   hook): the same three boots on a PS object, cut inside block-storage while it serves
//!   PS's writes; ITS's object in the other partition must be untouched. Then a fourth
//!   boot: block-storage aborted and restarted (its manifest asks for it), its and ps attach
//!   again on their old pages.

use std::path::Path;
use std::time::Duration;

use crate::flash::Storage;
use crate::layout::{LayoutRef, Target};
use crate::run_config::RunConfig;
use crate::toolchain::Toolchain;
use crate::{build_image, runner, step, Image};

/// The flash image all boots of a scenario share (in the layout's output folder).
const IMAGE: &str = "storage-flash.img";

/// How a boot must end.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The one case passes and the normal world powers off.
    Pass,
    /// The SP announces the power cut and QEMU is killed there.
    PowerCut,
}

/// One boot of a scenario.
pub(crate) struct Boot {
    pub(crate) case: &'static str,
    pub(crate) storage: Storage,
    pub(crate) end: End,
}

/// Boots `lref`'s image (`IMAGE`, rebuilt with `b.case` as the only case) and checks it ends
/// as `b.end` says.
pub(crate) fn boot(tc: &Toolchain, lref: &LayoutRef, b: &Boot, timeout: u64) -> Result<(), String> {
    let run = RunConfig {
        layout: (!lref.is_default).then(|| lref.name.clone()),
        cases: vec![b.case.to_string()],
        ..RunConfig::default()
    };
    let image: Image = build_image(
        tc,
        &[],
        crate::SPMC_TEST_FEATURES,
        lref,
        &run,
        IMAGE,
        b.storage,
    )?;
    let log = image.out.join(format!("{}.log", b.case));
    let mut opts = runner::RunOptions::new(&image.flash, &log);
    opts.timeout = Duration::from_secs(timeout);
    if b.end == End::PowerCut {
        opts.kill_on = Some(test_protocol::power_cut::MARKER.to_string());
    }
    step(&format!(
        "boot for {} (console log {})",
        b.case,
        log.display()
    ));
    let o = runner::run(&opts)?;
    let passed_line = format!("case {} ... ok", b.case);
    let verdict = match b.end {
        End::Pass if o.summary() == Some((1, 0)) && o.status == Some(0) => Ok(()),
        End::Pass => Err(format!(
            "{}: want 1 passed, 0 failed and exit status 0; got {:?}, status {:?}",
            b.case,
            o.summary(),
            o.status
        )),
        End::PowerCut if o.killed_on_text && !o.console.contains(&passed_line) => Ok(()),
        End::PowerCut => Err(format!(
            "{}: the SP never announced the power cut (killed: {}, summary {:?})",
            b.case,
            o.killed_on_text,
            o.summary()
        )),
    };
    if verdict.is_err() {
        eprintln!("--- console log ({}) ---\n{}", log.display(), o.console);
    }
    verdict
}

/// Runs the lane; returns (passed, failed), one per boot. Stops a scenario at its first
/// failing boot (the later ones would test nothing), counting the rest as failed.
pub fn run_lane(tc: &Toolchain, timeout: u64) -> Result<(u32, u32), String> {
    let default = LayoutRef::new(None, Target::Qemu)?;
    let powercut_layout = crate::root().join("partitions/its-powercut/layout.json");
    let powercut = LayoutRef::new(Some(Path::new(&powercut_layout)), Target::Qemu)?;
    let shared_layout = crate::root().join("partitions/block-storage-powercut/layout.json");
    let shared = LayoutRef::new(Some(Path::new(&shared_layout)), Target::Qemu)?;
    let scenarios: [(&LayoutRef, Vec<Boot>); 3] = [
        (
            &default,
            vec![
                Boot {
                    case: "storage_persist_write",
                    storage: Storage::Reset,
                    end: End::Pass,
                },
                Boot {
                    case: "storage_persist_read",
                    storage: Storage::Keep,
                    end: End::Pass,
                },
            ],
        ),
        (
            &powercut,
            vec![
                Boot {
                    case: "storage_power_cut_arm",
                    storage: Storage::Reset,
                    end: End::PowerCut,
                },
                Boot {
                    case: "storage_power_cut_check",
                    storage: Storage::Keep,
                    end: End::PowerCut,
                },
                Boot {
                    case: "storage_power_cut_check_again",
                    storage: Storage::Keep,
                    end: End::Pass,
                },
            ],
        ),
        (
            &shared,
            vec![
                Boot {
                    case: "storage_shared_power_cut_arm",
                    storage: Storage::Reset,
                    end: End::PowerCut,
                },
                Boot {
                    case: "storage_shared_power_cut_check",
                    storage: Storage::Keep,
                    end: End::PowerCut,
                },
                Boot {
                    case: "storage_shared_power_cut_check_again",
                    storage: Storage::Keep,
                    end: End::Pass,
                },
                // block-storage-powercut restarts after an abort: its and ps attach again.
                Boot {
                    case: "storage_block_storage_restart",
                    storage: Storage::Keep,
                    end: End::Pass,
                },
            ],
        ),
    ];
    let (mut passed, mut failed) = (0, 0);
    for (lref, boots) in &scenarios {
        for (i, b) in boots.iter().enumerate() {
            match boot(tc, lref, b, timeout) {
                Ok(()) => passed += 1,
                Err(e) => {
                    eprintln!("storage lane: FAILED: {e}");
                    failed += (boots.len() - i) as u32;
                    break;
                }
            }
        }
    }
    eprintln!("storage lane: {passed} passed, {failed} failed");
    Ok((passed, failed))
}
