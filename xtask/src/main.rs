//! `cargo xtask`: the project's single entry point. Builds the firmware (SPs, partition table,
//! SPMC, EL3 monitor, normal-world driver), boots it on QEMU sbsa-ref, runs every test and the
//! benchmarks, and writes the BL32 bundle for TF-A. Installs what is missing on its own.
#![forbid(unsafe_code)]

mod bench;
mod call;
mod fixtures;
mod flash;
mod fmt;
mod fuzz;
mod fvp;
mod integrator;
mod layout;
mod linux;
mod machine_reset;
mod run_config;
mod runner;
mod sched_icount;
mod storage;
mod table;
mod time_limits;
mod toolchain;
mod variants;

use layout::{LayoutRef, Target};
use run_config::RunConfig;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;
use toolchain::Toolchain;

const USAGE: &str = "usage: cargo xtask <command> [options]    (cargo xtask <command> --help)

commands:
  build            build the QEMU image: SPs, partition table, SPMC, monitor, NS driver, flash
  qemu             build and boot it on QEMU sbsa-ref; the normal world runs its FF-A cases
  test             cargo fmt --check, host tests (cargo test), then the QEMU cases; ends with
                   'N passed, N failed'
  call             boot an image and send one direct request (and a memory share) to an SP
  fuzz             random FF-A calls from both worlds on QEMU with the SPMC's state checker
                   (--seed N --calls M; the seed replays the run)
  bench            instruction counts under -icount for the message and memory paths
  bl32             write the bare BL32 binary and the SPMC manifest DTS for TF-A
  linux            boot Debian's arm64 Linux 6.12 on the chain (2 cores) with Linux's FF-A
                   driver, arm_tstee and linux/ffa-test; installs what it needs (test runs it);
                   --kernel 7.3: trixie-backports' 7.3 instead (test runs it too);
                   --run CMD runs your commands there instead (ffa-call: call an SP from Linux)
  fvp              build the Base FVP SPMC (BL32) + SPMC manifest for TF-A; prints the make line
  check-manifests  build an SP set's SPs and validate it with manifest-tool
  storage          the storage lane alone: its's objects across reboots and power losses

Every command that builds takes --layout FILE: an SP set in TF-A's sp_layout.json shape
(docs/integrator-guide.md); the default is partitions/sp_layout.json (FVP:
platform-fvp/sp_layout.json). Outputs go to target/xtask/<platform>/<layout name>/.
";

/// How long the Linux lane may run in QEMU (it powers off well within a minute).
pub const LINUX_TIMEOUT_S: u64 = 240;

const LAYOUT_HELP: &str =
    "  --layout FILE    the SP set (default partitions/sp_layout.json); SPs with a `crate` key
                   are built from that Cargo package, linked for their `pm`
";

const QEMU_HELP: &str = "  --smp N          cores (default 4)
  --timeout S      kill QEMU after S seconds (default 120)
  --gdb            QEMU waits for gdb on localhost:1234 (no timeout); prints the gdb-multiarch
                   command with the symbol files of the monitor, the SPMC and every SP
  --icount         virtual time follows executed instructions (-icount shift=0,sleep=off):
                   the counter and timers no longer depend on the host's speed or load
  --case NAME...   run only these driver cases (exact names, or `prefix*`), plus the cases
                   they need first; names are in qemu/ns-driver/src/cases/*.rs
";

const STORAGE_HELP: &str =
    "  --reset-storage  erase the secure flash's storage area (what ITS stored in earlier runs)
                   before booting; without it, rebuilding the image keeps that area, so
                   objects stored in one run are there in the next (docs/storage.md)
";

/// `cargo xtask <cmd> --help`.
fn help(cmd: &str) -> Option<String> {
    Some(match cmd {
        "build" => format!("usage: cargo xtask build [--layout FILE]\n\nBuilds the QEMU image of an SP set: target/xtask/qemu/<layout>/flash.img; prints the\npartition map's path.\n\n{LAYOUT_HELP}"),
        "qemu" => format!("usage: cargo xtask qemu [--layout FILE] [--smp N] [--timeout S] [--gdb] [--case NAME...] [--reset-storage]\n\nBuilds and boots the image on QEMU sbsa-ref; the normal-world driver runs its cases\n(those that need the default SP set are skipped under another layout) and ends with\n'N passed, N failed'; the exit status is the failure count.\n\n{LAYOUT_HELP}{QEMU_HELP}{STORAGE_HELP}"),
        "test" => format!("usage: cargo xtask test [--layout FILE] [--smp N] [--timeout S] [--case NAME...]\n\nEvery test: cargo fmt --all --check in every Cargo workspace (one check each), cargo test on the host crates, a cargo check of each build variant\nthat only other commands build (bench's driver, the product and FVP SPMCs, the fuzz targets), the QEMU cases, then the integrator checks\n(an SP set with the counter example SP called from the normal world; an SP linked for the\nwrong address refused), the storage lane (cargo xtask storage), the FF-A v1.0 boot-info\nfixture (pkg-sp as a v1.0 SP) and the Linux lane. Ends with 'N passed, N failed'. With --case or --layout only the\nQEMU cases of that image run. The cases boot test-flash.img with erased storage (the\nqemu command's flash.img keeps its storage).\n\n{LAYOUT_HELP}{QEMU_HELP}"),
        "call" => call::HELP.to_string(),
        "fuzz" => fuzz::HELP.to_string(),
        "linux" => linux::HELP.to_string(),
        "bench" => "usage: cargo xtask bench [--no-boot-sets] [--only NAME] [--timeout S]\n\nInstruction counts under QEMU -icount (messages, memory, cold boot with 0/1/4/8 SPs):\ntarget/xtask/bench.json; see docs/performance.md.\n\n  --no-boot-sets   skip the 0/1/8-SP cold-boot images\n  --only NAME      run only that benchmark (or `prefix*`), e.g. to trace it; no cold-boot images\n  --timeout S      per QEMU run (default 300)\n".to_string(),
        "bl32" => format!("usage: cargo xtask bl32 [--layout FILE]\n\nThe sbsa-ref SPMC with its SP set for TF-A's SPMD: target/xtask/qemu/<layout>/bl32/\n{{bl32.bin, spmc_manifest.dts}} and the TF-A make line.\n\n{LAYOUT_HELP}"),
        "fvp" => "usage: cargo xtask fvp [--layout FILE]\n\nThe Base FVP SPMC (BL32) with its SP set (default platform-fvp/sp_layout.json, which is\nempty; FVP_SP_LAYOUT=FILE works too): target/xtask/fvp/<layout>/{bl32.bin,\nspmc_manifest.dts} and the TF-A make line. SP manifests need load addresses in the FVP\npool 0x0700_0000..0x07F0_0000 (docs/integrator-guide.md).\n\n  --layout FILE    the FVP SP set\n".to_string(),
        "storage" => "usage: cargo xtask storage [--timeout S]\n\nThe storage lane of `cargo xtask test` alone: its and ps persist in the secure flash across\nreboots (default SP set: write, reboot, read back) and power losses (partitions/its-powercut\nand partitions/block-storage-powercut: QEMU killed in the middle of a record, then of a\ncompaction; the old value must be read back). Boots target/xtask/qemu/<layout>/storage-flash.img several times; docs/storage.md.\n\n  --timeout S      per QEMU boot (default 120)\n".to_string(),
        "check-manifests" => format!("usage: cargo xtask check-manifests [--layout FILE] [--platform qemu|fvp]\n\nBuilds the set's SPs and validates the set with manifest-tool, reporting every error.\n\n{LAYOUT_HELP}"),
        _ => return None,
    })
}

/// The firmware crates built for aarch64 besides the SPs (which come from the layout).
const FW_CRATES: &[&str] = &["qemu-monitor", "ns-driver", "spmc-sbsa"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn out_dir() -> PathBuf {
    root().join("target/xtask")
}

fn step(msg: &str) {
    eprintln!("xtask: {msg}");
}

/// Paths of everything `build` produced.
struct Image {
    flash: PathBuf,
    manifest_dts: PathBuf,
    /// The layout's output folder.
    out: PathBuf,
    /// The placed SP set (`None` for an empty set).
    plan: Option<manifest_tool::Plan>,
    /// Symbol files for gdb: (what, ELF).
    symbols: Vec<(String, PathBuf)>,
}

/// Builds the layout's SPs, compiles the set into the partition table in `table_dir` and
/// checks every SP image with an ELF against where the table places it. Every error found
/// is reported, not only the first.
fn prepare_sps(
    tc: &Toolchain,
    lref: &LayoutRef,
    target: Target,
    table_dir: &Path,
) -> Result<(Option<manifest_tool::Plan>, Vec<layout::SpElf>), String> {
    step(&format!(
        "SP set {} ({}) -> {}",
        lref.file.display(),
        target.name(),
        lref.out.display()
    ));
    let resolved = layout::resolve(tc, lref)?;
    let plan = table::write_table(&resolved.file, table_dir, target.platform()).map_err(|e| {
        format!(
            "{e}\n(manifest-tool read {}, which xtask resolved from {})",
            resolved.file.display(),
            lref.file.display()
        )
    })?;
    if let Some(plan) = &plan {
        let errors: Vec<String> = resolved
            .elfs
            .iter()
            .filter_map(|sp| {
                let planned = plan.sps.iter().find(|p| p.entry.name == sp.name)?;
                layout::check_elf(sp, planned).err()
            })
            .collect();
        if !errors.is_empty() {
            return Err(errors.join("\n"));
        }
    }
    step(&format!(
        "partition map: {}",
        table_dir.join(manifest_tool::output::TABLE_TXT).display()
    ));
    Ok((plan, resolved.elfs))
}

/// The SPMC's feature for test images: its state checker behind its own endpoint
/// (kernel/src/spmc/state_check.rs), which the fuzz lane asks.
const SPMC_TEST_FEATURES: &[&str] = &["spmc-sbsa/state-check"];

/// Builds the layout's test image as `flash.img` (the SPMC with its state checker), keeping
/// the storage area of the previous one (what the storage partition wrote in earlier runs;
/// docs/storage.md). Every command but `bench` and `bl32`, which build the SPMC as it ships
/// ([`build_product`]).
fn build(
    tc: &Toolchain,
    ns_features: &[&str],
    lref: &LayoutRef,
    run: &RunConfig,
) -> Result<Image, String> {
    build_image(
        tc,
        ns_features,
        SPMC_TEST_FEATURES,
        lref,
        run,
        "flash.img",
        flash::Storage::Keep,
    )
}

/// [`build`] with the SPMC as it ships (no test feature).
fn build_product(
    tc: &Toolchain,
    ns_features: &[&str],
    lref: &LayoutRef,
    run: &RunConfig,
) -> Result<Image, String> {
    build_image(
        tc,
        ns_features,
        variants::SPMC_PRODUCT.features,
        lref,
        run,
        "flash.img",
        flash::Storage::Keep,
    )
}

/// Builds the layout's image into the output folder's `flash_name`, with its storage area
/// kept or erased as `storage` says.
fn build_image(
    tc: &Toolchain,
    ns_features: &[&str],
    spmc_features: &[&str],
    lref: &LayoutRef,
    run: &RunConfig,
    flash_name: &str,
    storage: flash::Storage,
) -> Result<Image, String> {
    let root = root();
    let out = lref.out.clone();
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    step(&format!("compiler: {}", tc.describe()));

    // 1, 2. The SPs of the layout and the static partition table.
    let table_dir = out.join("table");
    let (plan, elfs) = prepare_sps(tc, lref, Target::Qemu, &table_dir)?;

    // 3. SPMC, monitor, normal-world driver.
    step("building the SPMC, the EL3 monitor and the normal-world driver");
    let env = [("SPMC_TABLE_DIR", table_dir.display().to_string())];
    let rel = if ns_features.is_empty() {
        tc.build_with(&root, FW_CRATES, spmc_features, &env)?
    } else {
        // The driver with features is a build of its own; build the others once, without it.
        tc.build_with(&root, &["qemu-monitor", "spmc-sbsa"], spmc_features, &env)?;
        tc.build_features(&root, "ns-driver", ns_features, &env)?
    };
    // The SPMC must run where TF-A's BL2 puts BL32 (it checks this itself at entry, too).
    let entry = table::elf_entry(&rel.join("spmc-sbsa"))?;
    if entry != flash::flash_directory::SPMC_LOAD_ADDRESS {
        return Err(format!(
            "spmc-sbsa is entered at {entry:#x}, but TF-A qemu_sbsa enters BL32 at BL32_BASE {:#x}",
            flash::flash_directory::SPMC_LOAD_ADDRESS
        ));
    }
    // The monitor and the driver do not depend on the layout; the SPMC carries the table.
    let bins = out_dir().join("bin");
    std::fs::create_dir_all(&bins).map_err(|e| e.to_string())?;
    for c in ["qemu-monitor", "ns-driver"] {
        tc.objcopy(&rel.join(c), &bins.join(format!("{c}.bin")))?;
    }
    let spmc_bin = out.join("spmc-sbsa.bin");
    tc.objcopy(&rel.join("spmc-sbsa"), &spmc_bin)?;
    // Symbol files for gdb, copied so that another layout's build cannot change them.
    let mut symbols = Vec::new();
    for (what, elf, copy) in [
        (
            "EL3 monitor",
            rel.join("qemu-monitor"),
            bins.join("qemu-monitor.elf"),
        ),
        ("SPMC", rel.join("spmc-sbsa"), out.join("spmc-sbsa.elf")),
        (
            "NS driver",
            rel.join("ns-driver"),
            bins.join("ns-driver.elf"),
        ),
    ] {
        std::fs::copy(&elf, &copy).map_err(|e| format!("{}: {e}", elf.display()))?;
        symbols.push((what.to_string(), copy));
    }
    for sp in &elfs {
        symbols.push((format!("SP {}", sp.name), sp.elf.clone()));
    }
    let manifest_dts = root.join("qemu/spmc-sbsa/spmc_manifest.dts");
    let manifest_dtb = bins.join("spmc_manifest.dtb");
    toolchain::dtc(&manifest_dts, &manifest_dtb)?;

    // 4. The flash image, with the driver's run configuration (run_config.rs) patched in.
    let ns_bin = bins.join("ns-driver.bin");
    let ns_image = std::fs::read(&ns_bin).map_err(|e| format!("{}: {e}", ns_bin.display()))?;
    let ns_run = out.join("ns-driver.run.bin");
    std::fs::write(&ns_run, run_config::patch(&ns_image, run)?)
        .map_err(|e| format!("{}: {e}", ns_run.display()))?;
    let flash = out.join(flash_name);
    let flash_layout = flash::assemble(
        &flash::FlashInputs {
            monitor: &bins.join("qemu-monitor.bin"),
            manifest_dtb: &manifest_dtb,
            spmc: &spmc_bin,
            ns: &ns_run,
            ns_load_address: flash::flash_directory::NS_IMAGE_LOAD_ADDRESS,
            storage,
        },
        &flash,
    )?;
    step(&format!("flash image {}:\n{flash_layout}", flash.display()));
    step(&format!(
        "partition map: {}",
        table_dir.join(manifest_tool::output::TABLE_TXT).display()
    ));
    Ok(Image {
        flash,
        manifest_dts,
        out,
        plan,
        symbols,
    })
}

/// The run configuration for an image of `lref` with `--case` filter `cases`.
fn run_config_for(lref: &LayoutRef, cases: &[String]) -> RunConfig {
    RunConfig {
        layout: (!lref.is_default).then(|| lref.name.clone()),
        cases: cases.to_vec(),
        ..RunConfig::default()
    }
}

struct QemuArgs {
    smp: u32,
    gdb: bool,
    timeout: u64,
    /// `--case` names/patterns for the driver.
    cases: Vec<String>,
    /// `--layout`.
    layout: Option<PathBuf>,
    /// `--reset-storage`: erase the image's storage area before booting.
    reset_storage: bool,
    /// `--icount`: virtual time follows executed instructions (`-icount shift=0,sleep=off`).
    icount: bool,
}

impl QemuArgs {
    /// A plain boot of an image xtask built itself: `smp` cores, no gdb, every case of the
    /// image, storage kept.
    fn boot(smp: u32, timeout: u64) -> Self {
        Self {
            smp,
            gdb: false,
            timeout,
            cases: Vec::new(),
            layout: None,
            reset_storage: false,
            icount: false,
        }
    }
}

/// Takes `--layout FILE` out of `args`; returns the file and the other arguments.
fn take_layout(args: &[String]) -> Result<(Option<PathBuf>, Vec<String>), String> {
    let mut rest = Vec::new();
    let mut layout = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--layout" {
            let f = it.next().ok_or("--layout takes a file")?;
            if layout.replace(PathBuf::from(f)).is_some() {
                return Err("--layout given twice".into());
            }
        } else {
            rest.push(a.clone());
        }
    }
    Ok((layout, rest))
}

fn parse_qemu_args(args: &[String]) -> Result<QemuArgs, String> {
    let (layout, args) = take_layout(args)?;
    let mut q = QemuArgs {
        smp: 4,
        gdb: false,
        timeout: 120,
        cases: Vec::new(),
        layout,
        reset_storage: false,
        icount: false,
    };
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--smp" => {
                q.smp = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|n| (1..=8).contains(n))
                    .ok_or("--smp takes 1..8")?
            }
            "--gdb" => q.gdb = true,
            "--icount" => q.icount = true,
            "--reset-storage" => q.reset_storage = true,
            "--case" => {
                let before = q.cases.len();
                while let Some(name) = it.next_if(|n| !n.starts_with("--")) {
                    q.cases.push(name.clone());
                }
                if q.cases.len() == before {
                    return Err("--case takes one or more case names (or `prefix*`)".into());
                }
            }
            "--timeout" => {
                q.timeout = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--timeout takes seconds")?
            }
            other => return Err(format!("unknown option {other} (cargo xtask qemu --help)")),
        }
    }
    Ok(q)
}

/// The gdb command that debugs `image` on QEMU's gdbstub: every symbol file at its link
/// address (all images are linked where they run).
fn gdb_command(image: &Image) -> String {
    let mut s = String::from("gdb-multiarch -q");
    let mut first = true;
    for (_, elf) in &image.symbols {
        let cmd = if first { "file" } else { "add-symbol-file" };
        first = false;
        s.push_str(&format!(" -ex '{cmd} {}'", elf.display()));
    }
    s.push_str(" -ex 'set architecture aarch64' -ex 'target remote localhost:1234'");
    s
}

fn run_qemu(
    image: &Image,
    q: &QemuArgs,
    icount: bool,
    log_name: &str,
) -> Result<runner::RunOutcome, String> {
    let log = image.out.join(log_name);
    let mut opts = runner::RunOptions::new(&image.flash, &log);
    opts.smp = q.smp;
    opts.gdb = q.gdb;
    opts.icount = icount;
    opts.timeout = Duration::from_secs(q.timeout);
    opts.memory_mib = 2048;
    if q.gdb {
        // The system gdb usually cannot debug AArch64; Debian's gdb-multiarch can.
        step("debug with (Debian package gdb-multiarch), in another terminal:");
        for (what, elf) in &image.symbols {
            step(&format!("  {what}: {}", elf.display()));
        }
        println!("{}", gdb_command(image));
    }
    step(&format!("running: {}", runner::command_string(&opts)));
    let outcome = runner::run(&opts)?;
    step(&format!("console log: {}", log.display()));
    Ok(outcome)
}

fn cmd_qemu(args: &[String]) -> Result<(), String> {
    let q = parse_qemu_args(args)?;
    let tc = toolchain::ensure_cross()?;
    toolchain::ensure_qemu()?;
    let lref = LayoutRef::new(q.layout.as_deref(), Target::Qemu)?;
    let image = build(&tc, &[], &lref, &run_config_for(&lref, &q.cases))?;
    if q.reset_storage {
        flash::reset_storage(&image.flash)?;
        step(&format!("storage area of {} erased", image.flash.display()));
    }
    let outcome = run_qemu(&image, &q, q.icount, "qemu.log")?;
    if outcome.timed_out {
        return Err(format!(
            "QEMU did not finish within {} s (log: {})",
            q.timeout,
            image.out.join("qemu.log").display()
        ));
    }
    match outcome.status {
        Some(0) => Ok(()),
        Some(s) => Err(format!(
            "the normal world reported failure (exit status {s})"
        )),
        None => Err("QEMU was killed".into()),
    }
}

fn host_tests() -> Result<(u32, u32), String> {
    step("host tests: cargo test (workspace default members)");
    let out = Command::new("cargo")
        .current_dir(root())
        .args(["test", "--quiet"])
        .output()
        .map_err(|e| format!("cargo test: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let (mut passed, mut failed) = (0u32, 0u32);
    for line in text.lines() {
        if let Some(rest) = line.trim().strip_prefix("test result: ") {
            let num = |key: &str| -> u32 {
                rest.split(';')
                    .find_map(|p| {
                        p.trim().strip_suffix(key).map(|n| {
                            n.trim()
                                .trim_start_matches("ok.")
                                .trim_start_matches("FAILED.")
                                .trim()
                                .parse()
                                .unwrap_or(0)
                        })
                    })
                    .unwrap_or(0)
            };
            passed += num("passed");
            failed += num("failed");
        }
    }
    for line in text
        .lines()
        .filter(|l| l.contains("FAILED") || l.contains("panicked") || l.starts_with("error"))
    {
        eprintln!("  {line}");
    }
    if !out.status.success() && failed == 0 {
        eprintln!("{text}");
        return Err("cargo test failed to build or run".into());
    }
    eprintln!("host: {passed} passed, {failed} failed");
    Ok((passed, failed))
}

fn cmd_test(args: &[String]) -> Result<(), String> {
    let q = parse_qemu_args(args)?;
    let tc = toolchain::ensure_cross()?;
    toolchain::ensure_qemu()?;
    // With --case or --layout, only the QEMU cases of that image run.
    let everything = q.cases.is_empty() && q.layout.is_none();
    let (hp, hf) = if everything {
        // Formatting first: two seconds, and a clear message before anything is built.
        let (fp, ff) = fmt::run_lane(&root());
        let (hp, hf) = host_tests()?;
        (hp + fp, hf + ff)
    } else {
        step("--case or --layout given: only the QEMU cases of that image run");
        (0, 0)
    };
    let lref = LayoutRef::new(q.layout.as_deref(), Target::Qemu)?;
    // The cases start from erased storage in an image of their own: the results do not
    // depend on what earlier runs stored, and `cargo xtask qemu`'s storage is left alone.
    let image = build_image(
        &tc,
        &[],
        SPMC_TEST_FEATURES,
        &lref,
        &run_config_for(&lref, &q.cases),
        "test-flash.img",
        flash::Storage::Reset,
    )?;
    // What the other commands build and the images here do not (bench's driver, the product
    // and FVP SPMCs, the fuzz targets): compiled, not booted.
    let (hp, hf) = if everything {
        let (vp, vf) = variants::run_lane(&tc);
        (hp + vp, hf + vf)
    } else {
        (hp, hf)
    };
    let outcome = run_qemu(&image, &q, q.icount, "test.log")?;
    let log = image.out.join("test.log");
    let (qp, qf) = match outcome.summary() {
        Some(s) => s,
        None => {
            eprintln!(
                "--- console log ({}) ---\n{}",
                log.display(),
                outcome.console
            );
            if outcome.timed_out {
                return Err(format!("QEMU hung: no result within {} s", q.timeout));
            }
            return Err(format!(
                "QEMU ended (status {:?}) without a test summary",
                outcome.status
            ));
        }
    };
    if outcome.timed_out {
        eprintln!("--- console log ---\n{}", outcome.console);
        return Err("QEMU hung after the summary".into());
    }
    let qemu_failed = qf + u32::from(outcome.status != Some(0) && qf == 0);
    eprintln!(
        "qemu: {qp} passed, {qf} failed (exit status {:?})",
        outcome.status
    );
    // The scheduling cases with normal-world timer windows, in a boot of their own under
    // -icount (sched_icount.rs).
    let (qp, qemu_failed) = if everything {
        match sched_icount::run(&tc, q.timeout) {
            Ok((p, f)) => {
                eprintln!("qemu (-icount): {p} passed, {f} failed");
                (qp + p, qemu_failed + f)
            }
            Err(why) => {
                eprintln!("qemu (-icount): FAILED: {why}");
                (qp, qemu_failed + sched_icount::CASES.len() as u32)
            }
        }
    } else {
        (qp, qemu_failed)
    };
    let (ip, ifail) = if everything {
        integrator::run(&tc, q.timeout)
    } else {
        (0, 0)
    };
    // its in the secure flash: across reboots and power losses (several boots of one image).
    let (sp, sf) = if everything {
        let (sp, sf) = storage::run_lane(&tc, q.timeout)?;
        let (fp, ff) = fixtures::run_lane(&tc, q.timeout)?;
        (sp + fp, sf + ff)
    } else {
        (0, 0)
    };
    // Time limits on their own SP set (a stuck SP would slow every default boot).
    let (ip, ifail) = if everything {
        let (tp, tf) = time_limits::run(&tc, q.timeout);
        (ip + tp, ifail + tf)
    } else {
        (ip, ifail)
    };
    // A machine reset must cold-boot the SPMC (two boots of the default image).
    let (ip, ifail) = if everything {
        let (mp, mf) = machine_reset::run(&tc, q.timeout);
        (ip + mp, ifail + mf)
    } else {
        (ip, ifail)
    };
    // The Linux lanes: Linux's own FF-A driver over the same firmware, on Debian 12's stock
    // 6.12 (FF-A v1.1 driver) and on trixie-backports' 7.x (v1.2, framework notifications);
    // one test each.
    let (lp, lf) = if everything {
        let timeout = Duration::from_secs(LINUX_TIMEOUT_S);
        step("Linux lane (cargo xtask linux)");
        let (p6, f6) = linux::run_lane(&tc, timeout, linux::Kernel::Stock)?;
        step(&format!(
            "Linux lane on trixie-backports' {} (cargo xtask linux --kernel {})",
            linux::BACKPORTS_SERIES,
            linux::BACKPORTS_SERIES
        ));
        let (p7, f7) = linux::run_lane(&tc, timeout, linux::Kernel::Backports)?;
        (p6 + p7, f6 + f7)
    } else {
        (0, 0)
    };
    let (p, f) = (hp + qp + ip + sp + lp, hf + qemu_failed + ifail + sf + lf);
    println!("{p} passed, {f} failed");
    if f == 0 {
        Ok(())
    } else {
        Err(format!("{f} test(s) failed"))
    }
}

fn cmd_bl32(args: &[String]) -> Result<(), String> {
    let (layout, rest) = take_layout(args)?;
    if let Some(a) = rest.first() {
        return Err(format!("unknown option {a} (cargo xtask bl32 --help)"));
    }
    let tc = toolchain::ensure_cross()?;
    toolchain::ensure_qemu()?;
    let lref = LayoutRef::new(layout.as_deref(), Target::Qemu)?;
    let image = build_product(&tc, &[], &lref, &run_config_for(&lref, &[]))?;
    let dir = image.out.join("bl32");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    // The very image qemu/monitor boots: it is linked at TF-A's BL32_BASE and follows TF-A
    // v2.14+'s x8-x17 rule, as the monitor does (docs/integrator-guide.md).
    std::fs::copy(image.out.join("spmc-sbsa.bin"), dir.join("bl32.bin"))
        .map_err(|e| e.to_string())?;
    std::fs::copy(&image.manifest_dts, dir.join("spmc_manifest.dts")).map_err(|e| e.to_string())?;
    println!(
        "{}/bl32.bin: the SPMC with its partitions, linked at TF-A qemu_sbsa's BL32_BASE {:#x}",
        dir.display(),
        platform_facts::tf_a::qemu_sbsa::BL32_BASE
    );
    println!(
        "{}/spmc_manifest.dts: pass as QEMU_TOS_FW_CONFIG_DTS (qemu_sbsa) or ARM_SPMC_MANIFEST_DTS",
        dir.display()
    );
    println!("TF-A (v2.14 or later): make PLAT=qemu_sbsa SPD=spmd SPMD_SPM_AT_SEL2=0 BL32={}/bl32.bin QEMU_TOS_FW_CONFIG_DTS={}/spmc_manifest.dts ...", dir.display(), dir.display());
    Ok(())
}

fn cmd_fvp(args: &[String]) -> Result<(), String> {
    let (layout, rest) = take_layout(args)?;
    if let Some(a) = rest.first() {
        return Err(format!("unknown option {a} (cargo xtask fvp --help)"));
    }
    let layout = layout.or_else(|| std::env::var_os("FVP_SP_LAYOUT").map(PathBuf::from));
    let tc = toolchain::ensure_cross()?;
    let lref = LayoutRef::new(layout.as_deref(), Target::Fvp)?;
    fvp::build_fvp(&tc, &lref)
}

fn cmd_storage(args: &[String]) -> Result<(), String> {
    let timeout = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => 120,
        ["--timeout", s] => s.parse().map_err(|_| "--timeout takes seconds")?,
        _ => return Err("usage: cargo xtask storage [--timeout S]".into()),
    };
    let tc = toolchain::ensure_cross()?;
    toolchain::ensure_qemu()?;
    match storage::run_lane(&tc, timeout)? {
        (_, 0) => Ok(()),
        (_, f) => Err(format!("{f} storage boot(s) failed")),
    }
}

fn cmd_check_manifests(args: &[String]) -> Result<(), String> {
    let (layout, rest) = take_layout(args)?;
    let target = match rest.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] | ["--platform", "qemu"] => Target::Qemu,
        ["--platform", "fvp"] => Target::Fvp,
        _ => {
            return Err(
                "usage: cargo xtask check-manifests [--layout FILE] [--platform qemu|fvp]".into(),
            )
        }
    };
    let tc = toolchain::ensure_cross()?;
    let lref = LayoutRef::new(layout.as_deref(), target)?;
    let table = lref.out.join("table");
    prepare_sps(&tc, &lref, target, &table)?;
    println!("{}: ok", lref.file.display());
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let rest = &args[1..];
    if rest.iter().any(|a| a == "--help" || a == "-h") {
        return match help(cmd) {
            Some(h) => {
                print!("{h}");
                ExitCode::SUCCESS
            }
            None => {
                eprint!("unknown command {cmd}\n{USAGE}");
                ExitCode::from(2)
            }
        };
    }
    let result = match cmd.as_str() {
        "build" => take_layout(rest).and_then(|(layout, rest)| {
            if let Some(a) = rest.first() {
                return Err(format!("unknown option {a} (cargo xtask build --help)"));
            }
            let tc = toolchain::ensure_cross()?;
            toolchain::ensure_qemu()?;
            let lref = LayoutRef::new(layout.as_deref(), Target::Qemu)?;
            build(&tc, &[], &lref, &run_config_for(&lref, &[])).map(|_| ())
        }),
        "qemu" => cmd_qemu(rest),
        "test" => cmd_test(rest),
        "call" => call::cmd_call(rest),
        "fuzz" => fuzz::cmd_fuzz(rest),
        "bench" => bench::cmd_bench(rest),
        "bl32" => cmd_bl32(rest),
        "linux" => linux::cmd_linux(rest),
        "fvp" => cmd_fvp(rest),
        "check-manifests" => cmd_check_manifests(rest),
        "storage" => cmd_storage(rest),
        "help" | "--help" | "-h" => {
            match rest.first().and_then(|c| help(c)) {
                Some(h) => print!("{h}"),
                None => print!("{USAGE}"),
            }
            Ok(())
        }
        other => Err(format!("unknown command {other}\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_help() {
        for cmd in [
            "build",
            "qemu",
            "test",
            "call",
            "fuzz",
            "linux",
            "bench",
            "bl32",
            "fvp",
            "check-manifests",
            "storage",
        ] {
            let h = help(cmd).unwrap_or_else(|| panic!("{cmd} has no --help"));
            assert!(h.starts_with(&format!("usage: cargo xtask {cmd}")), "{h}");
        }
        assert!(help("nope").is_none());
    }

    #[test]
    fn the_gdb_command_loads_every_symbol_file() {
        let image = Image {
            flash: PathBuf::from("f.img"),
            manifest_dts: PathBuf::new(),
            out: PathBuf::new(),
            plan: None,
            symbols: vec![
                ("EL3 monitor".into(), PathBuf::from("/b/qemu-monitor.elf")),
                ("SPMC".into(), PathBuf::from("/o/spmc-sbsa.elf")),
                ("SP counter".into(), PathBuf::from("/o/sp/counter.elf")),
            ],
        };
        assert_eq!(
            gdb_command(&image),
            "gdb-multiarch -q -ex 'file /b/qemu-monitor.elf' -ex 'add-symbol-file /o/spmc-sbsa.elf' \
             -ex 'add-symbol-file /o/sp/counter.elf' -ex 'set architecture aarch64' \
             -ex 'target remote localhost:1234'"
        );
    }

    /// Every relative link in the repository's Markdown files names a file or folder that
    /// exists (issue 8: docs linked files that were not in the repository).
    #[test]
    fn every_relative_markdown_link_resolves() {
        fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                let name = e.file_name();
                let name = name.to_string_lossy();
                if p.is_dir() {
                    if !name.starts_with('.') && name != "target" {
                        markdown_files(&p, out);
                    }
                } else if name.ends_with(".md") {
                    out.push(p);
                }
            }
        }
        let mut files = Vec::new();
        markdown_files(&root(), &mut files);
        assert!(files.iter().any(|f| f.ends_with("docs/architecture.md")));
        let mut dangling = Vec::new();
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            for (i, _) in text.match_indices("](") {
                let rest = &text[i + 2..];
                let Some(end) = rest.find(')') else { continue };
                let target = &rest[..end];
                if target.contains("://")
                    || target.starts_with('#')
                    || target.starts_with("mailto:")
                {
                    continue;
                }
                let path = target.split('#').next().unwrap_or("");
                if path.is_empty() || path.contains(char::is_whitespace) {
                    continue;
                }
                if !f.parent().unwrap().join(path).exists() {
                    dangling.push(format!("{}: {target}", f.display()));
                }
            }
        }
        assert!(dangling.is_empty(), "links to missing files: {dangling:#?}");
    }

    #[test]
    fn layout_is_taken_from_any_position() {
        let v = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        let (l, rest) = take_layout(&v("--smp 2 --layout x.json --gdb")).unwrap();
        assert_eq!(l, Some(PathBuf::from("x.json")));
        assert_eq!(rest, v("--smp 2 --gdb"));
        assert!(take_layout(&v("--layout")).is_err());
        assert!(take_layout(&v("--layout a --layout b")).is_err());
        let q = parse_qemu_args(&v("--case a b* --layout l.json --smp 2")).unwrap();
        assert_eq!(q.cases, v("a b*"));
        assert_eq!(q.smp, 2);
        assert!(parse_qemu_args(&v("--case")).is_err());
    }
}
