//! `cargo xtask`: the project's single entry point. Builds the firmware (SPs, partition table,
//! SPMC, EL3 monitor, normal-world driver), boots it on QEMU sbsa-ref, runs every test and the
//! benchmarks, and writes the BL32 bundle for TF-A. Installs what is missing on its own.

mod bench;
mod flash;
mod fvp;
mod run_config;
mod runner;
mod table;
mod toolchain;

use run_config::RunConfig;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;
use toolchain::Toolchain;

const USAGE: &str = "usage: cargo xtask <command> [options]

commands:
  build            build the image (SPs, partition table, SPMC, monitor, NS driver, flash)
  qemu             build and boot it on QEMU sbsa-ref; the normal world runs its FF-A cases
      --smp N        cores (default 4)          --gdb       wait for gdb on :1234
      --timeout S    kill QEMU after S seconds (default 120)
      --case NAME... run only these driver cases (exact names, or `prefix*`), plus the cases
                     they need first; names are in qemu/ns-driver/src/cases/*.rs
  test             host tests (cargo test), then the QEMU cases; ends with 'N passed, N failed'
      (takes qemu's options; with --case only the QEMU cases run)
  bench            instruction counts under -icount for the message and memory paths
      --no-boot-sets skip the 0/1/8-SP cold-boot images   --timeout S  per QEMU run (300)
  bl32             write the bare BL32 binary and the SPMC manifest DTS for TF-A
  fvp              build the Base FVP SPMC (BL32) + SPMC manifest for TF-A; prints the make line
  check-manifests  run manifest-tool check on the default SP set
";

/// The firmware crates built for aarch64.
const SP_CRATES: &[&str] = &["echo", "relay", "fault", "pkg-sp", "its", "ps"];
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
}

fn build(tc: &Toolchain, ns_features: &[&str], run: &RunConfig) -> Result<Image, String> {
    let root = root();
    let out = out_dir();
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    step(&format!("compiler: {}", tc.describe()));

    // 1. Secure partitions, as flat images (+ the SPKG package of pkg-sp).
    step("building secure partitions");
    let rel = tc.build(&root, SP_CRATES, &[])?;
    let sp_dir = root.join("target/sp");
    std::fs::create_dir_all(&sp_dir).map_err(|e| e.to_string())?;
    for sp in SP_CRATES {
        tc.objcopy(&rel.join(sp), &sp_dir.join(format!("{sp}.bin")))?;
    }
    let pkg = manifest_tool::pack(
        &root.join("partitions/pkg-sp/pkg-sp.dts"),
        &sp_dir.join("pkg-sp.bin"),
    )
    .map_err(|e| format!("packaging pkg-sp: {e}"))?;
    std::fs::write(sp_dir.join("pkg-sp.pkg"), pkg).map_err(|e| e.to_string())?;

    // 2. The static partition table.
    step("compiling the SP set (partitions/sp_layout.json) into the partition table");
    let table_dir = out.join("table");
    let platform = manifest_tool::Platform::qemu_sbsa();
    let report = manifest_tool::build(&manifest_tool::BuildRequest {
        layout: &root.join("partitions/sp_layout.json"),
        platform: &platform,
        out_dir: &table_dir,
    })
    .map_err(|e| format!("manifest-tool: {e}"))?;
    for w in &report.warnings {
        step(&format!("manifest-tool warning: {w}"));
    }

    // 3. SPMC, monitor, normal-world driver.
    step("building the SPMC, the EL3 monitor and the normal-world driver");
    let env = [("SPMC_TABLE_DIR", table_dir.display().to_string())];
    let rel = if ns_features.is_empty() {
        tc.build(&root, FW_CRATES, &env)?
    } else {
        // The driver with features is a build of its own; build the others once, without it.
        tc.build(&root, &["qemu-monitor", "spmc-sbsa"], &env)?;
        tc.build_features(&root, "ns-driver", ns_features, &env)?
    };
    let bins = out.join("bin");
    std::fs::create_dir_all(&bins).map_err(|e| e.to_string())?;
    for c in FW_CRATES {
        tc.objcopy(&rel.join(c), &bins.join(format!("{c}.bin")))?;
    }
    let manifest_dts = root.join("qemu/spmc-sbsa/spmc_manifest.dts");
    let manifest_dtb = bins.join("spmc_manifest.dtb");
    toolchain::dtc(&manifest_dts, &manifest_dtb)?;

    // 4. The flash image, with the driver's run configuration (run_config.rs) patched in.
    let ns_bin = bins.join("ns-driver.bin");
    let ns_image = std::fs::read(&ns_bin).map_err(|e| format!("{}: {e}", ns_bin.display()))?;
    let ns_run = bins.join("ns-driver.run.bin");
    std::fs::write(&ns_run, run_config::patch(&ns_image, run)?)
        .map_err(|e| format!("{}: {e}", ns_run.display()))?;
    let flash = out.join("flash.img");
    let layout = flash::assemble(
        &flash::FlashInputs {
            monitor: &bins.join("qemu-monitor.bin"),
            manifest_dtb: &manifest_dtb,
            spmc: &bins.join("spmc-sbsa.bin"),
            ns: &ns_run,
        },
        &flash,
    )?;
    step(&format!("flash image {}:\n{layout}", flash.display()));
    Ok(Image {
        flash,
        manifest_dts,
    })
}

struct QemuArgs {
    smp: u32,
    gdb: bool,
    timeout: u64,
    /// `--case` names/patterns for the driver.
    cases: Vec<String>,
}

fn parse_qemu_args(args: &[String]) -> Result<QemuArgs, String> {
    let mut q = QemuArgs {
        smp: 4,
        gdb: false,
        timeout: 120,
        cases: Vec::new(),
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
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    Ok(q)
}

fn run_qemu(
    image: &Image,
    q: &QemuArgs,
    icount: bool,
    log_name: &str,
) -> Result<runner::RunOutcome, String> {
    let log = out_dir().join(log_name);
    let mut opts = runner::RunOptions::new(&image.flash, &log);
    opts.smp = q.smp;
    opts.gdb = q.gdb;
    opts.icount = icount;
    opts.timeout = Duration::from_secs(q.timeout);
    opts.memory_mib = 2048;
    step(&format!("running: {}", runner::command_string(&opts)));
    runner::run(&opts)
}

fn cmd_qemu(args: &[String]) -> Result<(), String> {
    let q = parse_qemu_args(args)?;
    let tc = toolchain::ensure_cross()?;
    toolchain::ensure_qemu()?;
    let run = RunConfig {
        layout: None,
        cases: q.cases.clone(),
    };
    let image = build(&tc, &[], &run)?;
    let outcome = run_qemu(&image, &q, false, "qemu.log")?;
    if outcome.timed_out {
        return Err(format!(
            "QEMU did not finish within {} s (log: target/xtask/qemu.log)",
            q.timeout
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
    let (hp, hf) = if q.cases.is_empty() {
        host_tests()?
    } else {
        step("--case given: host tests not run");
        (0, 0)
    };
    let run = RunConfig {
        layout: None,
        cases: q.cases.clone(),
    };
    let image = build(&tc, &[], &run)?;
    let outcome = run_qemu(&image, &q, false, "test.log")?;
    let (qp, qf) = match outcome.summary() {
        Some(s) => s,
        None => {
            eprintln!(
                "--- console log (target/xtask/test.log) ---\n{}",
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
    let (p, f) = (hp + qp, hf + qemu_failed);
    println!("{p} passed, {f} failed");
    if f == 0 {
        Ok(())
    } else {
        Err(format!("{f} test(s) failed"))
    }
}

fn cmd_bl32() -> Result<(), String> {
    let tc = toolchain::ensure_cross()?;
    toolchain::ensure_qemu()?;
    let image = build(&tc, &[], &RunConfig::default())?;
    let dir = out_dir().join("bl32");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    // The same SPMC and partitions, built for TF-A's SPMD (which passes only x0-x7 to an
    // S-EL1 SPMC); the QEMU image keeps the qemu/monitor build.
    step("building the SPMC for TF-A (feature tf-a)");
    let table = out_dir().join("table");
    let rel = tc.build_features(
        &root(),
        "spmc-sbsa",
        &["tf-a"],
        &[("SPMC_TABLE_DIR", table.display().to_string())],
    )?;
    tc.objcopy(&rel.join("spmc-sbsa"), &dir.join("bl32.bin"))?;
    std::fs::copy(&image.manifest_dts, dir.join("spmc_manifest.dts")).map_err(|e| e.to_string())?;
    println!(
        "{}/bl32.bin: the SPMC with its partitions (load address 0x2020_0000)",
        dir.display()
    );
    println!(
        "{}/spmc_manifest.dts: pass as QEMU_TOS_FW_CONFIG_DTS (qemu_sbsa) or ARM_SPMC_MANIFEST_DTS",
        dir.display()
    );
    println!("TF-A: make PLAT=qemu_sbsa SPD=spmd SPMD_SPM_AT_SEL2=0 BL32={}/bl32.bin QEMU_TOS_FW_CONFIG_DTS={}/spmc_manifest.dts ...", dir.display(), dir.display());
    Ok(())
}

fn cmd_check_manifests() -> Result<(), String> {
    let platform = manifest_tool::Platform::qemu_sbsa();
    manifest_tool::check(&root().join("partitions/sp_layout.json"), &platform)
        .map_err(|e| e.to_string())?;
    println!("partitions/sp_layout.json: ok");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let rest = &args[1..];
    let result = match cmd.as_str() {
        "build" => toolchain::ensure_cross().and_then(|tc| {
            toolchain::ensure_qemu()?;
            build(&tc, &[], &RunConfig::default()).map(|_| ())
        }),
        "qemu" => cmd_qemu(rest),
        "test" => cmd_test(rest),
        "bench" => bench::cmd_bench(rest),
        "bl32" => cmd_bl32(),
        "fvp" => toolchain::ensure_cross().and_then(|tc| fvp::build_fvp(&tc)),
        "check-manifests" => cmd_check_manifests(),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
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
