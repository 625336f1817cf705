//! `cargo xtask linux` (also part of `cargo xtask test`): boots Debian's arm64 Linux 6.12 as the
//! normal world on the project's chain (qemu/monitor -> SPMC -> SPs) on QEMU sbsa-ref with two
//! cores, loads Linux's own FF-A driver (arm_ffa: ffa-core + ffa-module) and arm_tstee, both
//! built out of tree from Debian's kernel source (Debian builds the kernel with
//! CONFIG_ARM_FFA_TRANSPORT off), and the lane's test module (linux/ffa-test), which checks
//! direct messages, memory share/lend and CPU hotplug through Linux's FF-A ops. Then user space
//! (linux/user-checks.sh) runs two static programs built with gcc-aarch64-linux-gnu:
//! `ts-client` (linux/user/ts_client.c) talks to ITS and PS through arm_tstee's /dev/teeN as
//! Trusted Services' libts does, and `ffa-call` (linux/user/ffa_call.c), the integrator's
//! client, sends direct requests and shares through /dev/ffa-call (module linux/ffa-call).
//!
//! `--kernel 7.3` (the second lane, also in `cargo xtask test`) does the same on Debian 13's
//! trixie-backports 7.3, whose FF-A driver is v1.2 and ships as modules ([`debian`]).
//!
//! Everything comes from Debian packages fetched with apt-get download (6.12: the host's apt,
//! arm64 packages through `dpkg --add-architecture arm64`, into target/xtask/linux/; 7.3: a
//! private apt configuration, into target/xtask/linux-backports/), unpacked with dpkg-deb;
//! nothing fetched is committed. The lane passes only if the driver reports the firmware version,
//! every partition of the SP set shows up with its ID and UUID, every module check and every
//! user-space check ([`USER_CHECKS`]) passed and Linux powered the machine off with status 0.

mod debian;

use crate::runner;
use crate::toolchain::{self, Toolchain};
use debian::{abi_of, point_headers_at, Tree};
pub use debian::{Kernel, BACKPORTS_SERIES};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Cores Linux runs on (the reference measured 3 s with 2, 23 s with 4 on two host cores).
const SMP: u32 = 2;
/// Guest RAM; QEMU rewrites the DTB's memory node to match it (-dtb).
const MEMORY_MIB: u32 = 1024;
/// The initramfs goes 128 MiB into NS DRAM, above the kernel (about 43 MiB with its bss).
const INITRD_ADDRESS: u64 = platform_facts::qemu_sbsa::NS_DTB + 0x0800_0000;
/// Host packages the lane needs: the cross compiler for the modules, the arm64 C library and
/// Linux UAPI headers for the static user-space programs (linux/user), xz for Debian's
/// modules, and the host gcc for the backports kernel's modpost (built from its source).
const HOST_PACKAGES: &[&str] = &[
    "gcc",
    "gcc-aarch64-linux-gnu",
    "libc6-dev-arm64-cross",
    "linux-libc-dev-arm64-cross",
    "make",
    "xz-utils",
];

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("{what}: cannot start {:?}: {e}", cmd.get_program()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status}): {cmd:?}"))
    }
}

fn output(cmd: &mut Command, what: &str) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: cannot start {:?}: {e}", cmd.get_program()))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The Debian package version of `linux-source-6.12` apt would install, e.g.
/// `6.12.118-1~deb12u1`, and the kernel ABI name derived from it, `6.12.118+deb12`.
fn kernel_version() -> Result<(String, String), String> {
    let policy = output(
        Command::new("apt-cache").args(["policy", "linux-source-6.12"]),
        "apt-cache policy linux-source-6.12",
    )?;
    let version = policy
        .lines()
        .find_map(|l| l.trim().strip_prefix("Candidate: "))
        .filter(|v| *v != "(none)")
        .ok_or("apt knows no linux-source-6.12 (Debian 12 bookworm-security is needed)")?
        .to_string();
    let abi = abi_of(&version).ok_or_else(|| format!("unexpected version {version}"))?;
    Ok((version, abi))
}

/// Makes apt able to download arm64 packages (dpkg --add-architecture arm64, apt-get update).
fn ensure_arm64_packages() -> Result<(), String> {
    let archs = output(
        Command::new("dpkg").arg("--print-foreign-architectures"),
        "dpkg",
    )?;
    if archs.lines().any(|a| a.trim() == "arm64") {
        return Ok(());
    }
    if !toolchain::is_root() {
        return Err(
            "the Linux lane downloads arm64 Debian packages; run as root: \
                    dpkg --add-architecture arm64 && apt-get update"
                .into(),
        );
    }
    eprintln!(
        "xtask: enabling arm64 packages for apt (dpkg --add-architecture arm64, apt-get update)"
    );
    run(
        Command::new("dpkg").args(["--add-architecture", "arm64"]),
        "dpkg --add-architecture arm64",
    )?;
    run(
        Command::new("apt-get").args(["update", "-qq"]),
        "apt-get update",
    )
}

/// busybox-static (arm64) from the host's apt (Debian 12's), downloaded once into `debs`.
fn host_busybox(debs: &Path) -> Result<PathBuf, String> {
    ensure_arm64_packages()?;
    let find = || {
        std::fs::read_dir(debs)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name().is_some_and(|n| {
                    let n = n.to_string_lossy();
                    n.starts_with("busybox-static_") && n.ends_with("_arm64.deb")
                })
            })
    };
    if let Some(p) = find() {
        return Ok(p);
    }
    eprintln!(
        "xtask: downloading busybox-static (arm64, Debian 12's) with apt-get download into {}",
        debs.display()
    );
    std::fs::create_dir_all(debs).map_err(|e| e.to_string())?;
    run(
        Command::new("apt-get")
            .args(["download", "busybox-static:arm64"])
            .current_dir(debs),
        "apt-get download busybox-static:arm64",
    )?;
    find().ok_or_else(|| "apt-get download busybox-static:arm64 left no .deb".into())
}

/// Debian 12's stock 6.12, through the host's apt (unpacked under `dir`).
fn fetch_stock(dir: &Path) -> Result<Tree, String> {
    ensure_arm64_packages()?;
    let (version, abi) = kernel_version()?;
    let root = fetch_debian(dir, &version, &abi)?;
    Ok(Tree {
        headers: root.join(format!("usr/src/linux-headers-{abi}-arm64")),
        image: root.join(format!("boot/vmlinuz-{abi}-arm64")),
        drivers: root.join("linux-source-6.12/drivers"),
        busybox: root.join("bin/busybox"),
        root,
        version,
        abi,
    })
}

/// Downloads (once) and unpacks (once) the Debian packages into `dir/root`.
fn fetch_debian(dir: &Path, version: &str, abi: &str) -> Result<PathBuf, String> {
    let debs = dir.join("debs");
    let root = dir.join(format!("root-{abi}"));
    let done = root.join(".unpacked");
    if done.exists() {
        // The tree may have been unpacked under another path (a copied target/).
        point_headers_at(&root, abi)?;
        return Ok(root);
    }
    std::fs::create_dir_all(&debs).map_err(|e| e.to_string())?;
    let have = |prefix: &str| {
        std::fs::read_dir(&debs).is_ok_and(|d| {
            d.flatten().any(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.starts_with(prefix)
                    && (n.contains(&format!("_{version}_")) || prefix == "busybox-static_")
            })
        })
    };
    let all_there = [
        format!("linux-image-{abi}-arm64-unsigned_"),
        format!("linux-headers-{abi}-arm64_"),
        format!("linux-headers-{abi}-common_"),
        format!("linux-kbuild-{abi}_"),
        "linux-source-6.12_".to_string(),
        "busybox-static_".to_string(),
    ]
    .iter()
    .all(|p| have(p));
    let packages = [
        format!("linux-image-{abi}-arm64-unsigned:arm64={version}"),
        format!("linux-headers-{abi}-arm64:arm64={version}"),
        format!("linux-headers-{abi}-common={version}"),
        format!("linux-kbuild-{abi}={version}"),
        format!("linux-source-6.12={version}"),
        "busybox-static:arm64".to_string(),
    ];
    if !all_there {
        eprintln!(
        "xtask: downloading Debian's arm64 kernel {version}, its headers, kbuild and source, and \
         busybox-static (about 270 MB, once) into {}",
        debs.display()
    );
    }
    if !all_there {
        run(
            Command::new("apt-get")
                .arg("download")
                .args(&packages)
                .current_dir(&debs),
            "apt-get download",
        )?;
    }
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
    for e in std::fs::read_dir(&debs).map_err(|e| e.to_string())? {
        let p = e.map_err(|e| e.to_string())?.path();
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // This version's packages (apt keeps the `~` in file names), and busybox.
        let wanted = name.ends_with(".deb")
            && (name.contains(&format!("_{version}_")) || name.starts_with("busybox-static_"));
        if wanted {
            run(
                Command::new("dpkg-deb").arg("-x").arg(&p).arg(&root),
                "dpkg-deb -x",
            )?;
        }
    }
    point_headers_at(&root, abi)?;
    // Only the two drivers are needed from the 150 MB source tarball.
    eprintln!(
        "xtask: extracting drivers/firmware/arm_ffa and drivers/tee/tstee from linux-source-6.12"
    );
    run(
        Command::new("tar")
            .arg("-xJf")
            .arg(root.join("usr/src/linux-source-6.12.tar.xz"))
            .arg("-C")
            .arg(&root)
            .args([
                "linux-source-6.12/drivers/firmware/arm_ffa",
                "linux-source-6.12/drivers/tee/tstee",
            ]),
        "tar",
    )?;
    std::fs::write(&done, version).map_err(|e| e.to_string())?;
    Ok(root)
}

/// Copies `from`'s .c/.h files and the repository's Kbuild into `to`.
fn stage_sources(from: &Path, kbuild: &Path, to: &Path) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).map_err(|e| e.to_string())?;
    for e in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let p = e.map_err(|e| e.to_string())?.path();
        if matches!(p.extension().and_then(|x| x.to_str()), Some("c" | "h")) {
            std::fs::copy(&p, to.join(p.file_name().unwrap_or_default()))
                .map_err(|e| e.to_string())?;
        }
    }
    std::fs::copy(kbuild, to.join("Kbuild")).map_err(|e| e.to_string())?;
    Ok(())
}

/// Builds one out-of-tree module directory against the arm64 headers.
fn kbuild(
    headers: &Path,
    dir: &Path,
    extra_symbols: Option<&Path>,
    make_args: &[String],
) -> Result<(), String> {
    let mut cmd = Command::new("make");
    cmd.arg("-s")
        .arg("-j2")
        .arg("-C")
        .arg(headers)
        .arg(format!("M={}", dir.display()))
        .args([
            "ARCH=arm64",
            "CROSS_COMPILE=aarch64-linux-gnu-",
            // BTF for modules needs pahole; the kernel loads modules without it.
            "CONFIG_DEBUG_INFO_BTF_MODULES=",
        ])
        .args(make_args);
    if let Some(s) = extra_symbols {
        cmd.arg(format!("KBUILD_EXTRA_SYMBOLS={}", s.display()));
    }
    cmd.arg("modules");
    run(
        &mut cmd,
        &format!("building the modules in {}", dir.display()),
    )
}

/// The lane's user-space programs: (name in the initramfs' /bin, source in linux/user).
const USER_PROGRAMS: &[(&str, &str)] = &[("ffa-call", "ffa_call.c"), ("ts-client", "ts_client.c")];

/// Builds one static arm64 Linux program (like busybox-static, it needs nothing from the
/// initramfs); `linux/ffa-call` is on the include path for the module's ioctl header.
fn cross_cc(source: &Path, linux_dir: &Path, out: &Path) -> Result<(), String> {
    run(
        Command::new("aarch64-linux-gnu-gcc")
            .args(["-static", "-O2", "-Wall", "-Wextra", "-Werror", "-I"])
            .arg(linux_dir.join("ffa-call"))
            .arg("-o")
            .arg(out)
            .arg(source),
        &format!("compiling {}", source.display()),
    )
}

/// /lane.env, which linux/user-checks.sh sources: the endpoint IDs (and echo's UUID) of the
/// partitions its checks call, from the placed SP set rather than copied numbers.
fn lane_env(plan: Option<&manifest_tool::Plan>) -> Result<String, String> {
    let plan = plan.ok_or("the default SP set is empty: the Linux lane needs partitions")?;
    let sp = |name: &str| {
        let missing = || format!("the Linux lane's user-space checks need the SP `{name}`");
        plan.sps
            .iter()
            .find(|p| p.entry.name == name)
            .ok_or_else(missing)
    };
    let echo = sp("echo")?;
    let echo_uuid = echo
        .manifest
        .services
        .first()
        .map(|s| s.uuid.to_string())
        .ok_or("echo's manifest has no UUID")?;
    Ok(format!(
        "ECHO_ID={:#06x}\nECHO_UUID={echo_uuid}\nFAULT_ID={:#06x}\nITS_ID={:#06x}\nPS_ID={:#06x}\n",
        echo.id,
        sp("fault")?.id,
        sp("its")?.id,
        sp("ps")?.id
    ))
}

/// One file of the initramfs.
struct CpioEntry {
    name: String,
    mode: u32,
    data: Vec<u8>,
}

/// Writes a "newc" cpio archive (the format the kernel unpacks as initramfs, uncompressed).
fn cpio_newc(entries: &[CpioEntry]) -> Vec<u8> {
    fn pad(out: &mut Vec<u8>) {
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }
    let mut out = Vec::new();
    let trailer = CpioEntry {
        name: "TRAILER!!!".into(),
        mode: 0,
        data: Vec::new(),
    };
    for (ino, e) in entries.iter().chain(std::iter::once(&trailer)).enumerate() {
        let nlink = if e.mode & 0o040000 != 0 { 2 } else { 1 };
        let header = format!(
            "070701{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}",
            ino + 1,
            e.mode,
            0,
            0,
            nlink,
            0,
            e.data.len(),
            0,
            0,
            0,
            0,
            e.name.len() + 1,
            0
        );
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(e.name.as_bytes());
        out.push(0);
        pad(&mut out);
        out.extend_from_slice(&e.data);
        pad(&mut out);
    }
    out
}

/// What the lane expects to see: every partition of the SP set, as "0x<id>" and the UUIDs the
/// driver reports for it.
struct Expected {
    partitions: Vec<(ffa_abi::EndpointId, Vec<String>)>,
}

fn expected_partitions(plan: Option<&manifest_tool::Plan>) -> Result<Expected, String> {
    let plan = plan.ok_or("the default SP set is empty: the Linux lane needs partitions")?;
    let partitions = plan
        .sps
        .iter()
        .map(|sp| {
            (
                sp.id,
                sp.manifest
                    .services
                    .iter()
                    .map(|s| s.uuid.to_string())
                    .collect(),
            )
        })
        .collect();
    Ok(Expected { partitions })
}

/// The user-space checks (linux/user-checks.sh: ts-client and ffa-call) the lane requires,
/// each as a "lane: check NAME ... ok" line: a check that silently stopped running fails too.
const USER_CHECKS: &[&str] = &[
    "ts_tee_devices",
    "ts_its_session",
    "ts_its_not_on_other_partition",
    "ts_its_set",
    "ts_its_get",
    "ts_its_get_part",
    "ts_its_get_info",
    "ts_its_separate_from_other",
    "ts_its_large_object",
    "ts_its_uid_zero_invalid",
    "ts_its_get_support",
    "ts_its_create_not_supported",
    "ts_its_remove",
    "ts_its_get_after_remove",
    "ts_its_shm_given_back",
    "ts_ps_session",
    "ts_ps_not_on_other_partition",
    "ts_ps_set",
    "ts_ps_get",
    "ts_ps_get_part",
    "ts_ps_get_info",
    "ts_ps_separate_from_other",
    "ts_ps_large_object",
    "ts_ps_uid_zero_invalid",
    "ts_ps_get_support",
    "ts_ps_create_set_extended",
    "ts_ps_remove",
    "ts_ps_get_after_remove",
    "ts_ps_shm_given_back",
    "ts_its_persist_set",
    "ts_ps_persist_set",
    "ffa_call_req64_echo",
    "ffa_call_req64_who",
    "ffa_call_req32_who_by_uuid",
    "ffa_call_share_mem_rw",
    "ffa_call_its_ts_rpc_version",
    "ffa_call_unknown_partition",
    "ffa_call_ffa_error_aborted",
];

/// The DIRECT_REQ2 check of linux/user-checks.sh: a v1.1 driver (6.12) refuses REQ2 itself,
/// a v1.2 driver (7.x) sends it.
fn req2_check(kernel: Kernel) -> &'static str {
    match kernel {
        Kernel::Stock => "ffa_call_req2_refused_below_v1_2",
        Kernel::Backports => "ffa_call_req2_who",
    }
}

/// The checks linux/ffa-test prints on every kernel ("ffa-test: check NAME ... ok"); a check
/// that silently stopped running fails the lane too.
const MODULE_CHECKS: &[&str] = &[
    "echo_bound",
    "direct_req_64",
    "direct_req_64_kind",
    "mem_share_retrieve_write_reclaim",
    "mem_lend_retrieve_write_reclaim",
    "notification_sp_to_linux",
    "notification_relinquish",
    "notification_linux_to_sp",
    "notification_sp_unbinds",
    "indirect_msg_send2_to_sp",
    "sched_recv_runs_sp",
    "cpu1_offline_online",
    "long_request_preempted",
    "direct_req_32",
    "direct_req_32_kind",
];

/// The checks linux/ffa-test prints only where the driver has framework notifications (Linux
/// 6.15 and later: the backports lane): echo's FFA_MSG_SEND2 to Linux received through
/// `fwk_notify_request`, twice (so the driver released its RX buffer), then the callbacks
/// relinquished.
const FWK_MODULE_CHECKS: &[&str] = &[
    "indirect_msg_send2_from_sp",
    "indirect_msg_send2_from_sp_rx_released",
    "fwk_notify_relinquish",
];

/// The module checks a lane on `kernel` requires.
fn module_checks(kernel: Kernel) -> Vec<&'static str> {
    let fwk = match kernel {
        Kernel::Stock => &[][..],
        Kernel::Backports => FWK_MODULE_CHECKS,
    };
    MODULE_CHECKS.iter().chain(fwk).copied().collect()
}

/// The checks of the lane's second boot (on the first boot's flash image).
const REBOOT_CHECKS: &[&str] = &[
    "ts_its_persisted_across_reboot",
    "ts_its_persisted_remove",
    "ts_ps_persisted_across_reboot",
    "ts_ps_persisted_remove",
];

/// What the second boot runs: ts-client reads back the ITS and PS objects the first boot stored.
const REBOOT_COMMAND: &str = ". /lane.env; ts-client --persist-check \"$ITS_ID\" \"$PS_ID\"";

/// Lines that mean a TS RPC exchange or a reclaim went wrong behind the checks' back:
/// arm_tstee's dev_err for a non-zero RPC status (drivers/tee/tstee/core.c; the relinquish at
/// shm free has no other witness) and ffa-call's failed reclaim.
const ERROR_LINES: &[&str] = &[
    "shm_register rpc status",
    "shm_unregister rpc status",
    "invoke_func rpc status",
    "request doesn't fit into shared memory buffer",
    "ffa-call: reclaim of handle",
];

/// The modules the lane loads; --run loads all but the test module.
const LANE_MODULES: &[&str] = &[
    "ffa-core.ko",
    "ffa-module.ko",
    "tee.ko",
    "arm-tstee.ko",
    "ffa-test.ko",
    "ffa-call.ko",
];

/// Checks what every boot must show: the driver found the firmware, `modules` loaded, every
/// partition of the set enumerated, /init reached its end and Linux powered off cleanly.
fn judge_boot(
    console: &str,
    expected: &Expected,
    status: Option<i32>,
    timed_out: bool,
    modules: &[&str],
) -> Vec<String> {
    let mut failures = Vec::new();
    let lines: Vec<&str> = console.lines().map(|l| l.trim_end_matches('\r')).collect();
    let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
    if !lines
        .iter()
        .any(|l| l.contains("ARM FF-A: Firmware version") && l.contains("found"))
    {
        failures.push("the driver did not report the firmware version".into());
    }
    for m in modules {
        if !has(&format!("lane: insmod {m}: ok")) {
            failures.push(format!("insmod {m} did not succeed"));
        }
    }
    // "lane: partition arm-ffa-N partition_id=<decimal> uuid=<uuid>" from sysfs.
    let seen: Vec<(u64, String)> = lines
        .iter()
        .filter_map(|l| {
            let rest = &l[l.find("lane: partition ")?..];
            let id = rest
                .split("partition_id=")
                .nth(1)?
                .split_whitespace()
                .next()?;
            let uuid = rest.split("uuid=").nth(1)?.split_whitespace().next()?;
            let id = match id.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).ok()?,
                None => id.parse().ok()?,
            };
            Some((id, uuid.to_ascii_lowercase()))
        })
        .collect();
    // An FF-A v1.1 descriptor carries one UUID: a v1.1 driver (Linux 6.12) sees each
    // partition under its first UUID; from v1.2 on, a partition with several UUIDs has one
    // descriptor per UUID.
    let driver_minor = lines
        .iter()
        .find_map(|l| l.split("ARM FF-A: Driver version 1.").nth(1))
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(0);
    for (id, uuids) in &expected.partitions {
        let visible = if driver_minor >= 2 { uuids.len() } else { 1 };
        for u in uuids.iter().take(visible) {
            if !seen.iter().any(|(i, s)| *i == u64::from(*id) && s == u) {
                failures.push(format!(
                    "partition {id:#06x} with UUID {u} was not enumerated"
                ));
            }
        }
    }
    // Issue 12: the driver must enable notifications (FFA_FEATURES of BITMAP_CREATE and SRI,
    // the bitmap, the SRI's IRQ); it prints one of these lines when any of that fails.
    if has("Notification setup failed") || has("Notification bitmap create error") {
        failures.push("the FF-A driver did not enable notifications".into());
    }
    if !has("lane: end") {
        failures.push("/init did not reach its end".into());
    }
    if timed_out {
        failures.push("timed out".into());
    } else if status != Some(0) {
        failures.push(format!(
            "QEMU ended with status {status:?}, not a clean power-off (0)"
        ));
    }
    failures
}

/// Checks the console of a lane run on `kernel`; returns the failures (empty = the lane
/// passed).
fn judge(
    console: &str,
    expected: &Expected,
    status: Option<i32>,
    timed_out: bool,
    kernel: Kernel,
) -> Vec<String> {
    let mut failures = judge_boot(console, expected, status, timed_out, LANE_MODULES);
    let lines: Vec<&str> = console.lines().map(|l| l.trim_end_matches('\r')).collect();
    let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
    let checks: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains("ffa-test: check "))
        .collect();
    if checks.is_empty() {
        failures.push("the test module ran no checks".into());
    }
    for c in &checks {
        if !c.ends_with("... ok") {
            failures.push(format!("module check failed: {}", c.trim()));
        }
    }
    for name in module_checks(kernel) {
        if !has(&format!("ffa-test: check {name} ... ")) {
            failures.push(format!("the module check {name} did not run"));
        }
    }
    if !lines
        .iter()
        .any(|l| l.contains("ffa-test: ") && l.ends_with(" passed, 0 failed"))
    {
        failures.push("the test module did not report 0 failed".into());
    }
    for c in lines.iter().filter(|l| l.contains("lane: check ")) {
        if !c.ends_with("... ok") {
            failures.push(format!("user-space check failed: {}", c.trim()));
        }
    }
    for name in USER_CHECKS.iter().chain([&req2_check(kernel)]) {
        if !has(&format!("lane: check {name} ... ")) {
            failures.push(format!("the user-space check {name} did not run"));
        }
    }
    if !lines
        .iter()
        .any(|l| l.starts_with("ts-client: ") && l.ends_with(" passed, 0 failed"))
    {
        failures.push("ts-client did not report 0 failed".into());
    }
    for e in ERROR_LINES {
        if let Some(l) = lines.iter().find(|l| l.contains(e)) {
            failures.push(format!("console: {}", l.trim()));
        }
    }
    // An FFA_NOTIFICATION_INFO_GET after the SRI that found nothing (NO_DATA): Linux 6.12
    // logs it (it compares a2 with a sign-extended -9; the SPMC, like TF-A's SPMD and Hafnium,
    // zero-extends w2). The test module lets the driver's INFO_GET run before echo reads, so
    // this line means an SRI with nothing new pending (linux/ffa-test/ffa_notif.c). Not
    // judged in --run boots, whose commands may read notifications in any order.
    if let Some(l) = lines
        .iter()
        .find(|l| l.contains("Notification Info fetch failed"))
    {
        failures.push(format!("an SRI with nothing to fetch: {}", l.trim()));
    }
    failures
}

/// The usage of `cargo xtask linux`.
pub const HELP: &str =
    "usage: cargo xtask linux [--kernel 6.12|7.3] [--layout FILE] [--timeout S] [--run CMD]...
                         [--add FILE]...

Boots Debian's arm64 Linux on the QEMU chain (2 cores, qemu/monitor -> SPMC -> the SP set)
with Linux's FF-A driver and arm_tstee; installs what it needs. Without --run, the lane: the
test module linux/ffa-test and the user-space checks (ts-client over arm_tstee, ffa-call) run
and are judged; `cargo xtask test` runs both kernels' lanes.

  --kernel 6.12 Debian 12's stock 6.12 from bookworm-security through the host's apt (the
                default; FF-A v1.1 driver, built out of tree; the lane boots twice, the second
                time for ITS/PS persistence; console: target/xtask/linux/console.log)
  --kernel 7.3  the newest 7.3 of Debian 13's trixie-backports, fetched through a private apt
                configuration in target/xtask/linux-backports/apt (the host's /etc/apt is
                not changed); Debian's own arm_ffa modules (FF-A v1.2 driver, framework
                notifications); one boot (console: target/xtask/linux-backports/console.log)

  --run CMD     instead of the lane's checks, run the shell command CMD in the initramfs
                (busybox; /dev/ffa-call and the `ffa-call` tool are there) and print its
                output and exit status; may be repeated. Fails if the boot or a command fails.
  --add FILE    (with --run) put FILE in the initramfs as /bin/<its name>, e.g. your own
                test program; it must be a static arm64 Linux executable (there is no libc
                in the initramfs); may be repeated
  --layout FILE the SP set (default partitions/sp_layout.json; the lane's checks need the
                default set's echo, its and ps, --run needs nothing)
  --timeout S   kill QEMU after S seconds (default 240)

Example (the counter example SP, docs/integrator-guide.md):
  cargo xtask linux --layout partitions/counter/layout.json --run 'ffa-call --req32 0x8007 1 5'
";

/// A shell command quoted for sh's single quotes.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// /lane-run.sh: each command between "lane: run N: CMD" and "lane: run N exit status S".
fn run_script(commands: &[String]) -> String {
    let mut out = String::from("# Written by cargo xtask linux --run.\n");
    for (n, c) in commands.iter().enumerate() {
        out += &format!("echo \"lane: run {n}: \"{}\n", sh_quote(c));
        // A subshell: a command that exits or changes directory cannot end /init.
        out += &format!("(\n{c}\n)\n");
        out += &format!("echo \"lane: run {n} exit status $?\"\n");
    }
    out
}

/// One command's result in a --run boot.
#[derive(Debug, PartialEq)]
pub struct CommandRun {
    pub command: String,
    /// What it printed (stdout and stderr share the console), kernel log lines left out.
    pub output: Vec<String>,
    /// None: the command never finished (the console stops inside it).
    pub status: Option<i32>,
}

/// A kernel log line on the console: `[    3.123456] ...`.
fn is_kernel_line(l: &str) -> bool {
    let Some(rest) = l.strip_prefix('[') else {
        return false;
    };
    rest.split_once(']').is_some_and(|(t, _)| {
        let t = t.trim();
        !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '.')
    })
}

/// Splits a --run console into the commands' outputs and statuses.
fn command_runs(console: &str, commands: &[String]) -> Vec<CommandRun> {
    let lines: Vec<&str> = console.lines().map(|l| l.trim_end_matches('\r')).collect();
    commands
        .iter()
        .enumerate()
        .map(|(n, c)| {
            let start = format!("lane: run {n}: ");
            let end = format!("lane: run {n} exit status ");
            let from = lines.iter().position(|l| l.starts_with(&start));
            let mut output = Vec::new();
            let mut status = None;
            if let Some(from) = from {
                for l in &lines[from + 1..] {
                    if let Some(st) = l.strip_prefix(&end) {
                        status = st.trim().parse().ok();
                        break;
                    }
                    if l.starts_with("lane: run ") || l.starts_with("lane: end") {
                        break;
                    }
                    if !is_kernel_line(l) {
                        output.push(l.to_string());
                    }
                }
            }
            CommandRun {
                command: c.clone(),
                output,
                status,
            }
        })
        .collect()
}

/// Boots Linux 6.12 on `layout`'s image and runs `commands` in its shell (ffa-call.ko
/// loaded); returns each command's output and status, or `Err` if the boot itself failed
/// (driver, partitions, modules, power-off) with the console log's path.
pub fn run_commands(
    tc: &Toolchain,
    timeout: Duration,
    layout: Option<&Path>,
    commands: &[String],
    add: &[PathBuf],
) -> Result<Vec<CommandRun>, String> {
    run_commands_on(tc, timeout, layout, commands, add, Kernel::Stock)
}

/// [`run_commands`] on `kernel`.
fn run_commands_on(
    tc: &Toolchain,
    timeout: Duration,
    layout: Option<&Path>,
    commands: &[String],
    add: &[PathBuf],
    kernel: Kernel,
) -> Result<Vec<CommandRun>, String> {
    let mode = Mode::Run {
        commands: commands.to_vec(),
        add: add.to_vec(),
    };
    let Booted {
        outcome,
        expected,
        log,
    } = boot(tc, timeout, layout, &mode, kernel)?;
    let modules: Vec<&str> = LANE_MODULES
        .iter()
        .copied()
        .filter(|m| *m != "ffa-test.ko")
        .collect();
    let failures = judge_boot(
        &outcome.console,
        &expected,
        outcome.status,
        outcome.timed_out,
        &modules,
    );
    if !failures.is_empty() {
        return Err(format!(
            "the Linux boot failed (console log {}):\n  {}",
            log.display(),
            failures.join("\n  ")
        ));
    }
    Ok(command_runs(&outcome.console, commands))
}

/// `cargo xtask linux [--layout FILE] [--timeout S] [--run CMD]...`.
pub fn cmd_linux(args: &[String]) -> Result<(), String> {
    let mut layout = None;
    let mut timeout = Duration::from_secs(crate::LINUX_TIMEOUT_S);
    let mut commands = Vec::new();
    let mut add = Vec::new();
    let mut kernel = Kernel::Stock;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--layout" => layout = Some(PathBuf::from(it.next().ok_or("--layout takes a file")?)),
            "--run" => commands.push(it.next().ok_or("--run takes a shell command")?.clone()),
            "--add" => add.push(PathBuf::from(it.next().ok_or("--add takes a file")?)),
            "--kernel" => {
                kernel = match it.next().map(String::as_str) {
                    Some("6.12") | Some("stock") => Kernel::Stock,
                    Some("backports") => Kernel::Backports,
                    Some(s) if s == BACKPORTS_SERIES => Kernel::Backports,
                    other => {
                        return Err(format!(
                            "--kernel takes 6.12 or {BACKPORTS_SERIES} (backports), not {other:?}"
                        ))
                    }
                }
            }
            "--timeout" => {
                let t = it.next().ok_or("--timeout takes seconds")?;
                let t: u64 = t
                    .parse()
                    .map_err(|_| format!("--timeout: `{t}` is not a number"))?;
                timeout = Duration::from_secs(t);
            }
            "--help" | "-h" => {
                print!("{HELP}");
                return Ok(());
            }
            other => return Err(format!("unknown option {other}\n{HELP}")),
        }
    }
    if !add.is_empty() && commands.is_empty() {
        return Err("--add needs --run (the lane's own checks take no extra programs)".into());
    }
    let tc = toolchain::ensure_cross()?;
    toolchain::ensure_qemu()?;
    if commands.is_empty() {
        if layout.is_some() {
            eprintln!("xtask: the lane's checks need the default set's echo, its and ps");
        }
        return match layout {
            None => match run_lane(&tc, timeout, kernel)? {
                (_, 0) => Ok(()),
                _ => Err("the Linux lane failed".into()),
            },
            Some(l) => {
                let b = boot(&tc, timeout, Some(&l), &Mode::Lane, kernel)?;
                let f = judge(
                    &b.outcome.console,
                    &b.expected,
                    b.outcome.status,
                    b.outcome.timed_out,
                    kernel,
                );
                for x in &f {
                    println!("linux: FAILED: {x}");
                }
                if f.is_empty() {
                    Ok(())
                } else {
                    Err("the Linux lane failed".into())
                }
            }
        };
    }
    let runs = run_commands_on(&tc, timeout, layout.as_deref(), &commands, &add, kernel)?;
    let mut failed = 0;
    for r in &runs {
        println!("linux: $ {}", r.command);
        for l in &r.output {
            println!("{l}");
        }
        match r.status {
            Some(0) => {}
            Some(s) => {
                failed += 1;
                println!("linux: exit status {s}");
            }
            None => {
                failed += 1;
                println!("linux: the command did not finish");
            }
        }
    }
    if failed == 0 {
        Ok(())
    } else {
        Err(format!("{failed} of {} command(s) failed", runs.len()))
    }
}

/// What Linux does once the drivers are loaded.
pub enum Mode {
    /// The lane: the test module and the user-space checks (linux/user-checks.sh).
    Lane,
    /// `cargo xtask linux --run CMD... [--add FILE...]`: these shell commands (with `ffa-call`
    /// and ffa-call.ko loaded, and the added programs in /bin) instead, their output printed.
    Run {
        commands: Vec<String>,
        add: Vec<PathBuf>,
    },
    /// The lane's second boot on the first one's flash image (its storage kept): these
    /// commands, with /lane.env, in target/xtask/linux/reboot/.
    Reboot { commands: Vec<String> },
}

/// A finished Linux boot.
struct Booted {
    outcome: runner::RunOutcome,
    expected: Expected,
    log: PathBuf,
}

/// Decompresses one of the Debian kernel's own modules (`rel` under its kernel/ folder).
fn shipped_module(tree: &Tree, rel: &str) -> Result<Vec<u8>, String> {
    let xz = tree
        .shipped_module(rel)
        .ok_or_else(|| format!("Debian's {} has no {rel}", tree.abi))?;
    let out = Command::new("xz")
        .arg("-dc")
        .arg(&xz)
        .output()
        .map_err(|e| format!("xz: {e}"))?;
    if !out.status.success() {
        return Err(format!("xz -dc {} failed", xz.display()));
    }
    Ok(out.stdout)
}

/// The modules the initramfs loads, in [`LANE_MODULES`]' order (file name, contents): the
/// FF-A driver (Debian's own when the kernel ships it, CONFIG_ARM_FFA_TRANSPORT=m, else built
/// out of tree from its source), Debian's tee.ko, arm_tstee (built out of tree: neither
/// kernel ships it) and the lane's ffa-test and ffa-call, all built against `tree`'s headers.
fn lane_modules(tree: &Tree, build: &Path) -> Result<Vec<(&'static str, Vec<u8>)>, String> {
    let lx = crate::root().join("linux");
    let make_args = debian::compiler_args(tree)?;
    debian::ensure_host_tools(tree, &make_args, build)?;
    let headers = &tree.headers;
    let src = &tree.drivers;
    let read = |p: PathBuf| std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()));
    let shipped_ffa = tree.config("ARM_FFA_TRANSPORT")?.as_deref() == Some("m");
    let (ffa_core, ffa_module, ffa_symbols) = if shipped_ffa {
        crate::step(&format!(
            "Debian's {} ships arm_ffa (CONFIG_ARM_FFA_TRANSPORT=m): its ffa-core.ko and \
             ffa-module.ko are loaded as they are; building arm_tstee, ffa-test and ffa-call",
            tree.abi
        ));
        (
            shipped_module(tree, "drivers/firmware/arm_ffa/ffa-core.ko.xz")?,
            shipped_module(tree, "drivers/firmware/arm_ffa/ffa-module.ko.xz")?,
            // The headers' Module.symvers lists the shipped driver's exports.
            None,
        )
    } else {
        crate::step(
            "building arm_ffa, arm_tstee the lane's ffa-test and ffa-call modules out of tree",
        );
        stage_sources(
            &src.join("firmware/arm_ffa"),
            &lx.join("ffa/Kbuild"),
            &build.join("ffa"),
        )?;
        kbuild(headers, &build.join("ffa"), None, &make_args)?;
        (
            read(build.join("ffa/ffa-core.ko"))?,
            read(build.join("ffa/ffa-module.ko"))?,
            Some(build.join("ffa/Module.symvers")),
        )
    };
    let symbols = ffa_symbols.as_deref();
    stage_sources(
        &src.join("tee/tstee"),
        &lx.join("tstee/Kbuild"),
        &build.join("tstee"),
    )?;
    kbuild(headers, &build.join("tstee"), symbols, &make_args)?;
    stage_sources(
        &lx.join("ffa-test"),
        &lx.join("ffa-test/Kbuild"),
        &build.join("ffa-test"),
    )?;
    kbuild(headers, &build.join("ffa-test"), symbols, &make_args)?;
    stage_sources(
        &lx.join("ffa-call"),
        &lx.join("ffa-call/Kbuild"),
        &build.join("ffa-call"),
    )?;
    kbuild(headers, &build.join("ffa-call"), symbols, &make_args)?;
    // Debian's own tee.ko (CONFIG_TEE=m), xz-compressed.
    let tee = shipped_module(tree, "drivers/tee/tee.ko.xz")?;
    Ok(vec![
        ("ffa-core.ko", ffa_core),
        ("ffa-module.ko", ffa_module),
        ("tee.ko", tee),
        ("arm-tstee.ko", read(build.join("tstee/arm-tstee.ko"))?),
        ("ffa-test.ko", read(build.join("ffa-test/ffa-test.ko"))?),
        ("ffa-call.ko", read(build.join("ffa-call/ffa-call.ko"))?),
    ])
}

/// Builds everything for `layout` (None: the default set) and boots `kernel` in `mode`.
fn boot(
    tc: &Toolchain,
    timeout: Duration,
    layout: Option<&Path>,
    mode: &Mode,
    kernel: Kernel,
) -> Result<Booted, String> {
    let root = crate::root();
    let out = crate::out_dir().join(kernel.out_name());
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    toolchain::ensure_packages(HOST_PACKAGES, "building Linux modules for the Linux lane")?;
    let tree = match kernel {
        Kernel::Stock => fetch_stock(&out)?,
        Kernel::Backports => debian::fetch_backports(&out)?,
    };
    crate::step(&format!(
        "Debian's arm64 Linux {} (package version {}) from {}",
        tree.abi,
        tree.version,
        tree.root.display()
    ));

    // The firmware: the same monitor, SPMC and SPs as the QEMU cases (default SP set), with
    // Linux's Image as the normal-world payload at a 2 MiB-aligned base (arm64 booting.rst).
    let lref = crate::layout::LayoutRef::new(layout, crate::layout::Target::Qemu)?;
    let image = crate::build(tc, &[], &lref, &crate::run_config_for(&lref, &[]))?;
    let bins = crate::out_dir().join("bin");
    // What depends on the SP set and the mode (flash, initramfs, DTB, console) goes in its own
    // folder for --run, so it never overwrites the lane's files.
    let run_out = match mode {
        Mode::Lane => out.clone(),
        Mode::Reboot { .. } => out.join("reboot"),
        Mode::Run { .. } => out.join(format!("run-{}", lref.name)),
    };
    std::fs::create_dir_all(&run_out).map_err(|e| e.to_string())?;
    let flash = run_out.join("flash.img");
    let storage = match mode {
        Mode::Reboot { .. } => {
            // The machine reboots: same flash contents (the storage area is what matters).
            let first = out.join("flash.img");
            std::fs::copy(&first, &flash)
                .map_err(|e| format!("{} -> {}: {e}", first.display(), flash.display()))?;
            crate::flash::Storage::Keep
        }
        // Each lane starts from erased storage.
        _ => crate::flash::Storage::Reset,
    };
    let layout = crate::flash::assemble(
        &crate::flash::FlashInputs {
            monitor: &bins.join("qemu-monitor.bin"),
            manifest_dtb: &bins.join("spmc_manifest.dtb"),
            spmc: &image.out.join("spmc-sbsa.bin"),
            ns: &tree.image,
            ns_load_address: platform_facts::qemu_sbsa::NS_PAYLOAD,
            storage,
        },
        &flash,
    )?;
    crate::step(&format!("flash image {}:\n{layout}", flash.display()));
    let expected = expected_partitions(image.plan.as_ref())?;
    // The lane's checks call echo, ITS and PS; --run needs nothing of the set.
    let lane_env = match mode {
        Mode::Lane | Mode::Reboot { .. } => lane_env(image.plan.as_ref())?,
        Mode::Run { .. } => String::new(),
    };

    let build = out.join("build");
    let lx = root.join("linux");
    let modules = lane_modules(&tree, &build)?;
    crate::step("building the lane's user-space programs (linux/user: ffa-call, ts-client)");
    let user = build.join("user");
    std::fs::create_dir_all(&user).map_err(|e| e.to_string())?;
    for (program, source) in USER_PROGRAMS {
        cross_cc(&lx.join("user").join(source), &lx, &user.join(program))?;
    }

    crate::step("writing the initramfs (busybox-static, the modules, linux/init.sh)");
    let read = |p: PathBuf| std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()));
    let dir = |name: &str| CpioEntry {
        name: name.into(),
        mode: 0o040755,
        data: Vec::new(),
    };
    let file = |name: &str, mode: u32, data: Vec<u8>| CpioEntry {
        name: name.into(),
        mode: 0o100000 | mode,
        data,
    };
    let mut entries = vec![
        dir("bin"),
        dir("dev"),
        dir("proc"),
        dir("sys"),
        dir("lib"),
        dir("lib/modules"),
        file("init", 0o755, read(lx.join("init.sh"))?),
        file("user-checks.sh", 0o644, read(lx.join("user-checks.sh"))?),
        file("lane.env", 0o644, lane_env.into_bytes()),
        file("bin/busybox", 0o755, read(tree.busybox.clone())?),
    ];
    for (name, data) in modules {
        entries.push(file(&format!("lib/modules/{name}"), 0o644, data));
    }
    if let Mode::Reboot { commands } = mode {
        entries.push(file(
            "lane-run.sh",
            0o644,
            run_script(commands).into_bytes(),
        ));
    }
    if let Mode::Run { commands, add } = mode {
        entries.push(file(
            "lane-run.sh",
            0o644,
            run_script(commands).into_bytes(),
        ));
        for f in add {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or_else(|| format!("--add {}: not a file name", f.display()))?;
            if USER_PROGRAMS.iter().any(|(p, _)| *p == name) {
                return Err(format!(
                    "--add {}: /bin/{name} is the lane's own",
                    f.display()
                ));
            }
            entries.push(file(&format!("bin/{name}"), 0o755, read(f.clone())?));
        }
    }
    for (program, _) in USER_PROGRAMS {
        entries.push(file(
            &format!("bin/{program}"),
            0o755,
            read(user.join(program))?,
        ));
    }
    let initrd = cpio_newc(&entries);
    let initrd_path = run_out.join("initramfs.cpio");
    std::fs::write(&initrd_path, &initrd).map_err(|e| e.to_string())?;

    crate::step("writing the sbsa-ref device tree for Linux (linux/sbsa-ref.dts.in)");
    let template =
        std::fs::read_to_string(lx.join("sbsa-ref.dts.in")).map_err(|e| e.to_string())?;
    let cpus: String = (0..SMP)
        .map(|i| {
            format!(
                "\t\tcpu@{i} {{\n\t\t\tdevice_type = \"cpu\";\n\t\t\tcompatible = \"arm,cortex-a57\";\n\t\t\treg = <0x0 {i:#x}>;\n\t\t\tenable-method = \"psci\";\n\t\t}};\n"
            )
        })
        .collect();
    let end = INITRD_ADDRESS + initrd.len() as u64;
    let dts = template
        .replace("@CPUS@", cpus.trim_end())
        .replace(
            "@INITRD_START@",
            &format!(
                "{:#x} {:#x}",
                INITRD_ADDRESS >> 32,
                INITRD_ADDRESS & 0xFFFF_FFFF
            ),
        )
        .replace(
            "@INITRD_END@",
            &format!("{:#x} {:#x}", end >> 32, end & 0xFFFF_FFFF),
        );
    let dts_path = run_out.join("sbsa-ref-linux.dts");
    std::fs::write(&dts_path, dts).map_err(|e| e.to_string())?;
    let dtb = run_out.join("sbsa-ref-linux.dtb");
    toolchain::dtc(&dts_path, &dtb)?;

    let log = run_out.join("console.log");
    let mut opts = runner::RunOptions::new(&flash, &log);
    opts.smp = SMP;
    opts.memory_mib = MEMORY_MIB;
    opts.cpu = "cortex-a57".into();
    opts.timeout = timeout;
    opts.extra = vec![
        "-dtb".into(),
        dtb.display().to_string(),
        "-device".into(),
        format!(
            "loader,file={},addr={INITRD_ADDRESS:#x},force-raw=on",
            initrd_path.display()
        ),
    ];
    let outcome = runner::run(&opts)?;
    Ok(Booted {
        outcome,
        expected,
        log,
    })
}

/// Checks the console of the lane's second boot.
fn judge_reboot(
    console: &str,
    expected: &Expected,
    status: Option<i32>,
    timed_out: bool,
) -> Vec<String> {
    let modules: Vec<&str> = LANE_MODULES
        .iter()
        .copied()
        .filter(|m| *m != "ffa-test.ko")
        .collect();
    let mut failures = judge_boot(console, expected, status, timed_out, &modules);
    let lines: Vec<&str> = console.lines().map(|l| l.trim_end_matches('\r')).collect();
    for c in lines.iter().filter(|l| l.contains("lane: check ")) {
        if !c.ends_with("... ok") {
            failures.push(format!("after the reboot: {}", c.trim()));
        }
    }
    for name in REBOOT_CHECKS {
        if !lines
            .iter()
            .any(|l| l.contains(&format!("lane: check {name} ... ")))
        {
            failures.push(format!("after the reboot: the check {name} did not run"));
        }
    }
    failures
}

/// Builds everything and boots `kernel` with the lane's checks; on 6.12, boots it again on the
/// same flash image to read back what ITS and PS stored (persistence across a reboot of the
/// machine; the backports lane boots once). `Ok((passed, failed))` counts the lane as one
/// test, or `Err` when it could not be set up.
pub fn run_lane(tc: &Toolchain, timeout: Duration, kernel: Kernel) -> Result<(u32, u32), String> {
    let name = kernel.lane_name();
    let Booted {
        outcome,
        expected,
        log,
    } = boot(tc, timeout, None, &Mode::Lane, kernel)?;
    let mut failures = judge(
        &outcome.console,
        &expected,
        outcome.status,
        outcome.timed_out,
        kernel,
    );
    if !outcome.timed_out && kernel == Kernel::Stock {
        crate::step("Linux lane: booting again on the same flash image (ITS and PS persistence)");
        let mode = Mode::Reboot {
            commands: vec![REBOOT_COMMAND.to_string()],
        };
        let b = boot(tc, timeout, None, &mode, kernel)?;
        let f = judge_reboot(
            &b.outcome.console,
            &b.expected,
            b.outcome.status,
            b.outcome.timed_out,
        );
        if !f.is_empty() {
            failures.extend(f);
            failures.push(format!("second boot's console log {}", b.log.display()));
        }
    }
    if failures.is_empty() {
        println!("{name}: passed (console log {})", log.display());
        Ok((1, 0))
    } else {
        for f in &failures {
            println!("{name}: FAILED: {f}");
        }
        println!("{name}: console log {}", log.display());
        Ok((0, 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_mode_separates_the_commands_outputs() {
        let cmds = vec![
            "ffa-call --req32 0x8007 1 5".to_string(),
            "echo it's; false".to_string(),
            "sleep 1000".to_string(),
        ];
        let script = run_script(&cmds);
        assert!(
            script.contains(r#"echo "lane: run 1: "'echo it'\''s; false'"#),
            "{script}"
        );
        assert!(
            script.contains("(\nffa-call --req32 0x8007 1 5\n)\n"),
            "{script}"
        );
        let console = "lane: run 0: ffa-call --req32 0x8007 1 5\n\
                       answer from 0x8007: [0x0, 0x5, 0x0, 0x0, 0x0]\n\
                       [    3.123456] some kernel line\n\
                       lane: run 0 exit status 0\n\
                       lane: run 1: echo it's; false\nit's\nlane: run 1 exit status 1\n\
                       lane: run 2: sleep 1000\n";
        let runs = command_runs(console, &cmds);
        assert_eq!(
            runs[0].output,
            vec!["answer from 0x8007: [0x0, 0x5, 0x0, 0x0, 0x0]".to_string()]
        );
        assert_eq!(runs[0].status, Some(0));
        assert_eq!(runs[1].output, vec!["it's".to_string()]);
        assert_eq!(runs[1].status, Some(1));
        assert_eq!(runs[2].status, None, "a command that never ended");
        assert!(is_kernel_line("[    3.123456] x"));
        assert!(!is_kernel_line("[0x1, 0x2]"));
    }

    #[test]
    fn the_reboot_check_fails_without_its_lines() {
        let good = "ARM FF-A: Driver version 1.1\nARM FF-A: Firmware version 1.2 found\n\
             lane: insmod ffa-core.ko: ok\nlane: insmod ffa-module.ko: ok\n\
             lane: partition arm-ffa-1 partition_id=32769 uuid=2f2e7c3a-6c59-4b1e-9d8f-01ec40000001\n\
             lane: insmod tee.ko: ok\nlane: insmod arm-tstee.ko: ok\nlane: insmod ffa-call.ko: ok\n\
             lane: check ts_its_persisted_across_reboot ... ok\n\
             lane: check ts_its_persisted_remove ... ok\n\
             lane: check ts_ps_persisted_across_reboot ... ok\n\
             lane: check ts_ps_persisted_remove ... ok\nlane: end\n";
        assert!(judge_reboot(good, &echo_only(), Some(0), false).is_empty());
        let lost = good.replace(
            "ts_its_persisted_across_reboot ... ok",
            "ts_its_persisted_across_reboot ... FAILED: GET after the reboot: ok, PSA status -140",
        );
        assert!(!judge_reboot(&lost, &echo_only(), Some(0), false).is_empty());
        let missing: String = good
            .lines()
            .filter(|l| !l.contains("persisted_across"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(!judge_reboot(&missing, &echo_only(), Some(0), false).is_empty());
        assert!(!judge_reboot(good, &echo_only(), Some(1), false).is_empty());
    }

    #[test]
    fn uuids_print_like_linux() {
        // partitions/test-protocol uuid::ECHO, as the manifest's cells: the lane compares
        // ffa-abi's text form of the UUID with what Linux prints.
        let echo = [0x3a7c_2e2f, 0x1e4b_596c, 0xec01_8f9d, 0x0100_0040];
        assert_eq!(
            ffa_abi::Uuid::from_words(echo).to_string(),
            "2f2e7c3a-6c59-4b1e-9d8f-01ec40000001"
        );
    }

    #[test]
    fn cpio_entries_are_aligned_and_terminated() {
        let a = cpio_newc(&[CpioEntry {
            name: "init".into(),
            mode: 0o100755,
            data: b"#!/bin/sh\n".to_vec(),
        }]);
        assert!(a.starts_with(b"070701"));
        assert_eq!(a.len() % 4, 0);
        let text = String::from_utf8_lossy(&a);
        assert!(text.contains("init\0"));
        assert!(text.contains("TRAILER!!!"));
        // The file size field of the first header (offset 6 + 6 * 8).
        assert_eq!(&a[54..62], b"0000000A");
    }

    /// A console of a passing lane on `kernel`: every line the judge requires.
    fn console_for(kernel: Kernel) -> String {
        let driver = match kernel {
            Kernel::Stock => "1.1",
            Kernel::Backports => "1.2",
        };
        format!("ARM FF-A: Driver version {driver}\nARM FF-A: Firmware version 1.2 found\n")
            + "lane: insmod ffa-core.ko: ok\nlane: insmod ffa-module.ko: ok\n\
         lane: partition arm-ffa-1 partition_id=32769 uuid=2f2e7c3a-6c59-4b1e-9d8f-01ec40000001\n\
         lane: insmod tee.ko: ok\nlane: insmod arm-tstee.ko: ok\nlane: insmod ffa-test.ko: ok\n"
            + &module_checks(kernel)
                .iter()
                .map(|c| format!("ffa-test: check {c} ... ok\n"))
                .collect::<String>()
            + "ffa-test: 15 passed, 0 failed\nlane: insmod ffa-call.ko: ok\n"
            + &USER_CHECKS
                .iter()
                .chain([&req2_check(kernel)])
                .map(|c| format!("lane: check {c} ... ok\n"))
                .collect::<String>()
            + "ts-client: 27 passed, 0 failed\nlane: end\n"
    }

    fn good_console() -> String {
        console_for(Kernel::Stock)
    }

    /// The backports lane requires what its v1.2 driver does: DIRECT_REQ2 sent (not refused),
    /// and every partition under each of its UUIDs.
    #[test]
    fn the_backports_lane_needs_its_own_lines() {
        let good = console_for(Kernel::Backports);
        assert!(judge(&good, &echo_only(), Some(0), false, Kernel::Backports).is_empty());
        // 6.12's console (REQ2 refused) does not pass as 7.x's, nor the reverse.
        let stock = console_for(Kernel::Stock);
        assert!(!judge(&stock, &echo_only(), Some(0), false, Kernel::Backports).is_empty());
        assert!(!judge(&good, &echo_only(), Some(0), false, Kernel::Stock).is_empty());
        // Every line it needs beyond 6.12's: REQ2 and the SP's MSG_SEND2 received by Linux.
        for drop in [
            "ffa_call_req2_who",
            "check indirect_msg_send2_from_sp ",
            "check indirect_msg_send2_from_sp_rx_released ",
            "check fwk_notify_relinquish ",
        ] {
            let without: String = good
                .lines()
                .filter(|l| !l.contains(drop))
                .map(|l| format!("{l}\n"))
                .collect();
            assert_ne!(without, good, "{drop}");
            assert!(
                !judge(&without, &echo_only(), Some(0), false, Kernel::Backports).is_empty(),
                "without `{drop}`"
            );
        }
        let failed = good.replace(
            "indirect_msg_send2_from_sp ... ok",
            "indirect_msg_send2_from_sp ... FAILED: callback never ran",
        );
        assert!(!judge(&failed, &echo_only(), Some(0), false, Kernel::Backports).is_empty());
    }

    fn echo_only() -> Expected {
        Expected {
            partitions: vec![(
                ffa_abi::EndpointId(0x8001),
                vec!["2f2e7c3a-6c59-4b1e-9d8f-01ec40000001".into()],
            )],
        }
    }

    /// The judge fails the lane for each missing piece: a check that cannot fail would be no
    /// check.
    #[test]
    fn the_lane_fails_without_each_required_line() {
        let good = good_console();
        assert!(judge(&good, &echo_only(), Some(0), false, Kernel::Stock).is_empty());
        assert!(
            !judge(&good, &echo_only(), Some(1), false, Kernel::Stock).is_empty(),
            "power-off status"
        );
        assert!(
            !judge(&good, &echo_only(), None, true, Kernel::Stock).is_empty(),
            "timeout"
        );
        for drop in [
            "Firmware version",
            "partition_id=32769",
            "check direct_req_64 ",
            "check sched_recv_runs_sp ",
            "check long_request_preempted ",
            "0 failed",
            "lane: end",
            "insmod ffa-module.ko",
            "insmod ffa-call.ko",
            "check ts_its_get ",
            "check ffa_call_share_mem_rw ",
            "ts-client: ",
        ] {
            let console: String = good
                .lines()
                .filter(|l| !l.contains(drop))
                .map(|l| format!("{l}\n"))
                .collect();
            assert!(
                !judge(&console, &echo_only(), Some(0), false, Kernel::Stock).is_empty(),
                "without `{drop}`"
            );
        }
        let failed = good.replace("direct_req_64 ... ok", "direct_req_64 ... FAILED: x");
        assert!(!judge(&failed, &echo_only(), Some(0), false, Kernel::Stock).is_empty());
        let failed = good.replace("ts_ps_get ... ok", "ts_ps_get ... FAILED: x");
        assert!(!judge(&failed, &echo_only(), Some(0), false, Kernel::Stock).is_empty());
        for e in ERROR_LINES {
            let console = format!("{good}arm_tstee arm-ffa-5: {e}: 9\n");
            assert!(
                !judge(&console, &echo_only(), Some(0), false, Kernel::Stock).is_empty(),
                "with `{e}`"
            );
        }
        // Notifications not enabled by the driver (issue 12).
        let no_notif = good.replace(
            "lane: insmod ffa-core.ko: ok\n",
            "lane: insmod ffa-core.ko: ok\nARM FF-A: Notification setup failed -95, not enabled\n",
        );
        assert!(
            !judge(&no_notif, &echo_only(), Some(0), false, Kernel::Stock).is_empty(),
            "notifications not enabled"
        );
        // INFO_GET answered NO_DATA after an SRI (issue 12).
        let no_data = good.replace(
            "ffa-test: check direct_req_64 ... ok\n",
            "ffa-test: check direct_req_64 ... ok\n[    3.05] ARM FF-A: Notification Info fetch failed: 0x84000060 (0xfffffff7)\n",
        );
        assert_ne!(no_data, good);
        assert!(
            !judge(&no_data, &echo_only(), Some(0), false, Kernel::Stock).is_empty(),
            "INFO_GET with nothing pending"
        );
        // A partition with two UUIDs: the v1.1 driver sees the first only; a v1.2 driver
        // must see both.
        let two = Expected {
            partitions: vec![(
                ffa_abi::EndpointId(0x8001),
                vec![
                    "2f2e7c3a-6c59-4b1e-9d8f-01ec40000001".into(),
                    "2f2e7c3a-6c59-4b1e-9d8f-01ec40000004".into(),
                ],
            )],
        };
        assert!(judge(&good, &two, Some(0), false, Kernel::Stock).is_empty());
        let v1_2 = good.replace("Driver version 1.1", "Driver version 1.2");
        assert!(!judge(&v1_2, &two, Some(0), false, Kernel::Stock).is_empty());
        let other = Expected {
            partitions: vec![(
                ffa_abi::EndpointId(0x8002),
                vec!["2f2e7c3a-6c59-4b1e-9d8f-01ec40000002".into()],
            )],
        };
        assert!(
            !judge(&good, &other, Some(0), false, Kernel::Stock).is_empty(),
            "a missing partition"
        );
    }
}
