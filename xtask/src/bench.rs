//! `cargo xtask bench`: instruction counts of the message and memory paths and of cold boot,
//! measured on QEMU sbsa-ref under `-icount shift=0,sleep=off` (docs/performance.md,
//! docs/performance.md).
//!
//! Builds the image with the normal-world driver's `bench` feature (qemu/ns-driver/src/bench.rs
//! runs the benchmarks instead of the test cases and prints `BENCH name=... key=value ...`
//! lines), runs it on one core, and then boots images with 0, 1 and 8 SPs for the cold-boot
//! figures (the default image has 4). The alternative SP sets are generated under
//! target/xtask/bench/: layouts, partition tables, and for the 8-SP set four more copies of
//! echo, each linked at its own address through sp-rt's `SP_RT_MANIFEST_ECHO` override with a
//! generated manifest (new id, UUID, load address, boot order). Prints a table and writes
//! target/xtask/bench.json. Figures are reported, never asserted.

use ffa_abi::EndpointId;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::toolchain::Toolchain;
use crate::{flash, runner, step, toolchain};

/// One `BENCH` line: its name and its `key=value` fields, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenchLine {
    pub name: String,
    pub fields: Vec<(String, String)>,
}

impl BenchLine {
    /// A numeric field.
    pub fn num(&self, key: &str) -> Option<u64> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.parse().ok())
    }

    /// The `error=` text of a benchmark that could not run.
    pub fn error(&self) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == "error")
            .map(|(_, v)| v.as_str())
    }
}

/// Parses `BENCH name=<id> k=v ...` (anywhere in a console line; `error=` takes the rest of
/// the line since the driver's messages contain spaces). Other lines give `None`.
pub fn parse_line(line: &str) -> Option<BenchLine> {
    let line = line.trim_end_matches(['\r', '\n']);
    let rest = &line[line.find("BENCH name=")? + "BENCH ".len()..];
    let mut fields = Vec::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        if key.is_empty() || key.contains(char::is_whitespace) {
            return None;
        }
        let (value, next) = if key == "error" {
            (after, "")
        } else {
            after.split_once(' ').unwrap_or((after, ""))
        };
        fields.push((key.to_string(), value.to_string()));
        rest = next.trim_start();
    }
    let (k, name) = fields.first()?.clone();
    if k != "name" || name.is_empty() {
        return None;
    }
    Some(BenchLine {
        name,
        fields: fields.into_iter().skip(1).collect(),
    })
}

/// Every `BENCH` line of a console log.
pub fn parse_console(console: &str) -> Vec<BenchLine> {
    console.lines().filter_map(parse_line).collect()
}

/// The benchmarks of the 4-core image (qemu/ns-driver/src/bench.rs, `four_core_rate`).
const SMP4_BENCHES: [&str; 2] = ["rate4_spmc", "rate4_sp_per_core"];

/// Options of `cargo xtask bench`.
struct BenchArgs {
    /// Also boot the 0-, 1- and 8-SP images for the cold-boot figures.
    boot_sets: bool,
    timeout: u64,
    /// `--only NAME`: run only the benchmarks that this name (or `prefix*` pattern) selects.
    only: Option<String>,
}

fn parse_args(args: &[String]) -> Result<BenchArgs, String> {
    let mut a = BenchArgs {
        boot_sets: true,
        timeout: 300,
        only: None,
    };
    let mut it = args.iter();
    while let Some(x) = it.next() {
        match x.as_str() {
            "--no-boot-sets" => a.boot_sets = false,
            "--only" => {
                let name = it
                    .next()
                    .ok_or("--only takes a benchmark name or prefix*")?;
                if name.is_empty() || name.contains(char::is_whitespace) {
                    return Err(format!("--only {name:?}: one name or prefix* pattern"));
                }
                a.only = Some(name.clone());
                // One benchmark of the default image: no cold-boot images.
                a.boot_sets = false;
            }
            "--timeout" => {
                a.timeout = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--timeout takes seconds")?
            }
            other => {
                return Err(format!(
                    "unknown option {other} (bench takes --no-boot-sets, --only NAME, --timeout S)"
                ))
            }
        }
    }
    Ok(a)
}

/// Where the bench artefacts go.
fn bench_dir() -> PathBuf {
    crate::out_dir().join("bench")
}

/// The echo copies of the 8-SP set: (id, load address, boot order, UUID last word). The set
/// is relay, fault, pkg-sp and these five (the first under the name `echo`, which relay's
/// capabilities name): without echo's own UUID the benchmark driver only reports the boot
/// figure.
fn echo_copies() -> [(EndpointId, u64, u32, u32); 5] {
    // IDs after the default set's 0x8001..0x8004; images after theirs (0x2400_0000 +
    // 4 MiB), 1 MiB apart as sp_layout.json's `size`; UUID ...40000005 and on.
    core::array::from_fn(|i| {
        let i = i as u32;
        (
            EndpointId(0x8005 + i as u16),
            0x2440_0000 + u64::from(i) * 0x10_0000,
            10 + i,
            (5 + i) << 24 | 0x40,
        )
    })
}

/// echo's manifest with another id, UUID (last word), load address and boot order, and without
/// its device regions (the watchdog and its interrupt are echo's alone).
pub fn echo_copy_manifest(
    echo_dts: &str,
    id: EndpointId,
    load: u64,
    boot_order: u32,
    uuid3: u32,
) -> Result<String, String> {
    let mut out = String::new();
    let mut seen = [false; 4];
    let mut skipping: Option<String> = None;
    for line in echo_dts.lines() {
        let t = line.trim_start();
        let indent = &line[..line.len() - t.len()];
        if let Some(end) = &skipping {
            if line == end {
                skipping = None;
            }
            continue;
        }
        if t.starts_with("device-regions {") {
            skipping = Some(format!("{indent}}};"));
            continue;
        }
        let new = if t.starts_with("id = ") {
            seen[0] = true;
            format!("{indent}id = <{id:#x}>;")
        } else if t.starts_with("load-address = ") {
            seen[1] = true;
            format!("{indent}load-address = <0x0 {load:#x}>;")
        } else if t.starts_with("boot-order = ") {
            seen[2] = true;
            format!("{indent}boot-order = <{boot_order}>;")
        } else if t.starts_with("uuid = ") {
            seen[3] = true;
            let inner = t
                .split_once('<')
                .and_then(|(_, r)| r.split_once('>'))
                .map(|(c, _)| c)
                .ok_or("echo.dts: malformed uuid")?;
            let mut cells: Vec<&str> = inner.split_whitespace().collect();
            if cells.len() != 4 {
                return Err("echo.dts: uuid has not 4 cells".into());
            }
            let last = format!("{uuid3:#010x}");
            cells[3] = &last;
            format!("{indent}uuid = <{}>;", cells.join(" "))
        } else if t.starts_with("description = ") {
            format!("{indent}description = \"echo copy {id:#x} (cargo xtask bench, 8-SP set)\";")
        } else {
            line.to_string()
        };
        out.push_str(&new);
        out.push('\n');
    }
    if seen.iter().all(|s| *s) {
        Ok(out)
    } else {
        Err("echo.dts lacks one of id, load-address, boot-order, uuid".into())
    }
}

/// An SP set for a cold-boot image, as `sp_layout.json` text (paths absolute). Built from
/// the resolved default set of the benchmark image's build (absolute paths, images built).
fn layout_json(root: &Path, count: usize, copies: &[(EndpointId, PathBuf, PathBuf)]) -> String {
    let resolved = crate::out_dir().join("qemu/default");
    let default = std::fs::read_to_string(resolved.join("sp_layout.json")).unwrap_or_default();
    layout_json_from(&default, &resolved.join("sp"), root, count, copies)
}

/// [`layout_json`] from the resolved default set's text and its SP image folder.
fn layout_json_from(
    default: &str,
    sp: &Path,
    root: &Path,
    count: usize,
    copies: &[(EndpointId, PathBuf, PathBuf)],
) -> String {
    let parts = root.join("partitions");
    let echo_only = format!(
        "  \"echo\": {{ \"image\": \"{}\", \"pm\": \"{}\", \"size\": \"0x100000\", \"capabilities\": {{ \"devices\": [\"watchdog\"], \"interrupts\": [48] }} }}",
        sp.join("echo.bin").display(),
        parts.join("echo/echo.dts").display()
    );
    match count {
        0 => "{}\n".to_string(),
        1 => format!("{{\n{echo_only}\n}}\n"),
        _ => {
            // The default set without echo, plus the copies.
            // The storage SPs sit where the copies go (IDs 0x8005/0x8006/0x8008, 0x2440_0000,
            // 0x2450_0000 and 0x2470_0000): the boot sets keep the four test SPs' shape.
            let default = without_entry(default, "echo");
            let default = without_entry(&default, "its");
            let default = without_entry(&default, "ps");
            let default = without_entry(&default, "block-storage");
            let mut entries = Vec::new();
            for (i, (id, image, dts)) in copies.iter().enumerate() {
                // The first copy takes echo's name, which relay's capabilities refer to.
                let name = if i == 0 {
                    "echo".to_string()
                } else {
                    format!("echo-{id:x}")
                };
                entries.push(format!(
                    "  \"{name}\": {{ \"image\": \"{}\", \"pm\": \"{}\", \"size\": \"0x100000\", \"capabilities\": {{}} }}",
                    image.display(),
                    dts.display()
                ));
            }
            // A removed last entry leaves the comma before it.
            let body = default
                .trim()
                .trim_end_matches('}')
                .trim_end()
                .trim_end_matches(',');
            format!("{body},\n{}\n}}\n", entries.join(",\n"))
        }
    }
}

/// Removes the top-level entry `"name": { ... }` (and its trailing comma) from an SP layout's
/// JSON text; the text is returned unchanged if there is no such entry.
pub fn without_entry(json: &str, name: &str) -> String {
    let key = format!("\"{name}\":");
    let Some(start) = json.find(&key) else {
        return json.to_string();
    };
    let Some(open) = json[start..].find('{').map(|i| start + i) else {
        return json.to_string();
    };
    let mut depth = 0usize;
    let mut end = None;
    for (i, c) in json[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    end = Some(open + i + 1);
                    break;
                }
            }
            _ => {}
        }
    }
    let Some(mut end) = end else {
        return json.to_string();
    };
    let rest = json[end..].trim_start();
    if rest.starts_with(',') {
        end = json.len() - rest.len() + 1;
    }
    format!("{}{}", &json[..start], json[end..].trim_start())
}

/// Builds the five echo copies of the 8-SP set; returns (id, flat image, manifest).
fn build_echo_copies(
    tc: &Toolchain,
    root: &Path,
) -> Result<Vec<(EndpointId, PathBuf, PathBuf)>, String> {
    let dir = bench_dir();
    let echo_dts = std::fs::read_to_string(root.join("partitions/echo/echo.dts"))
        .map_err(|e| format!("partitions/echo/echo.dts: {e}"))?;
    let mut out = Vec::new();
    for (id, load, order, uuid3) in echo_copies() {
        let dts = dir.join(format!("echo-{id:x}.dts"));
        std::fs::write(&dts, echo_copy_manifest(&echo_dts, id, load, order, uuid3)?)
            .map_err(|e| e.to_string())?;
        // sp-rt's build script links echo at this manifest's load address (it reruns when
        // the variable changes, so later default builds relink echo at its own address).
        let rel = tc.build(
            root,
            &["echo"],
            &[("SP_RT_MANIFEST_ECHO", dts.display().to_string())],
        )?;
        // The ELF must be the copy just linked (target/fw is shared with other builds).
        let elf = rel.join("echo");
        let entry = crate::table::elf_entry(&elf)?;
        if entry != load {
            return Err(format!(
                "{}: entry {entry:#x}, expected the copy's load address {load:#x}",
                elf.display()
            ));
        }
        let bin = dir.join(format!("echo-{id:x}.bin"));
        tc.objcopy(&elf, &bin)?;
        out.push((id, bin, dts));
    }
    Ok(out)
}

/// The commit measured, with "+dirty" when the work tree differs from it.
fn git_commit(root: &Path) -> String {
    let run = |args: &[&str]| {
        Command::new("git")
            .current_dir(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match run(&["rev-parse", "--short", "HEAD"]) {
        Some(c)
            if run(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty()) =>
        {
            format!("{c}+dirty")
        }
        Some(c) => c,
        None => "unknown (not a git checkout)".into(),
    }
}

/// Builds the flash image whose SPMC carries the SP set `layout`; returns its path.
fn build_boot_image(
    tc: &Toolchain,
    root: &Path,
    count: usize,
    layout_text: &str,
) -> Result<PathBuf, String> {
    let dir = bench_dir();
    let layout = dir.join(format!("layout-{count}.json"));
    std::fs::write(&layout, layout_text).map_err(|e| e.to_string())?;
    let table = dir.join(format!("table-{count}"));
    crate::table::write_table(&layout, &table, manifest_tool::Platform::qemu_sbsa())?;
    let rel = tc.build(
        root,
        &["spmc-sbsa"],
        &[("SPMC_TABLE_DIR", table.display().to_string())],
    )?;
    let spmc = dir.join(format!("spmc-{count}.bin"));
    tc.objcopy(&rel.join("spmc-sbsa"), &spmc)?;
    let bins = crate::out_dir().join("bin");
    let flash_img = dir.join(format!("flash-{count}.img"));
    flash::assemble(
        &flash::FlashInputs {
            monitor: &bins.join("qemu-monitor.bin"),
            manifest_dtb: &bins.join("spmc_manifest.dtb"),
            spmc: &spmc,
            ns: &bins.join("ns-driver.bin"),
            ns_load_address: flash::flash_directory::NS_IMAGE_LOAD_ADDRESS,
            // Every measurement starts from erased storage: the ITS benches write to it.
            storage: flash::Storage::Reset,
        },
        &flash_img,
    )?;
    Ok(flash_img)
}

/// Runs one image under icount on `smp` cores; returns its BENCH lines.
fn run_image(
    flash_img: &Path,
    log: &Path,
    timeout: u64,
    smp: u32,
) -> Result<Vec<BenchLine>, String> {
    let mut opts = runner::RunOptions::new(flash_img, log);
    // One core, but for the 4-core rate: under -icount the virtual clock is shared by all
    // vCPUs, so parked secondaries would add their instructions to every figure.
    opts.smp = smp;
    opts.icount = true;
    opts.timeout = Duration::from_secs(timeout);
    opts.memory_mib = 2048;
    let outcome = runner::run(&opts)?;
    if outcome.timed_out {
        return Err(format!(
            "QEMU did not finish within {timeout} s (log {})",
            log.display()
        ));
    }
    let lines = parse_console(&outcome.console);
    if !outcome.console.contains("BENCH done") {
        return Err(format!(
            "the benchmark driver did not finish (exit status {:?}, log {})",
            outcome.status,
            log.display()
        ));
    }
    Ok(lines)
}

fn command_output(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn json_line(b: &BenchLine, image: &str) -> String {
    let mut s = format!(
        "{{\"name\": {}, \"image\": {}",
        json_str(&b.name),
        json_str(image)
    );
    for (k, v) in &b.fields {
        let value = match v.parse::<u64>() {
            Ok(n) => n.to_string(),
            Err(_) => json_str(v),
        };
        let _ = write!(s, ", {}: {value}", json_str(k));
    }
    s.push('}');
    s
}

/// Figures derived from two measured ones (a difference, per unit).
fn derived(results: &BTreeMap<String, BenchLine>) -> Vec<(String, String)> {
    let get = |n: &str, k: &str| results.get(n).and_then(|b| b.num(k));
    let mut d = Vec::new();
    for form in ["32", "64", "2"] {
        let (relay, echo) = (format!("dreq{form}_relay_echo"), format!("dreq{form}_echo"));
        for key in ["pmu_per_op", "sel1"] {
            if let (Some(a), Some(b)) = (get(&relay, key), get(&echo, key)) {
                d.push((
                    format!("sp_to_sp{form}_{key}"),
                    (a as i64 - b as i64).to_string(),
                ));
            }
        }
    }
    // What a yield adds to a request: echo's FFA_YIELD leaving for the normal world and
    // FFA_RUN coming back, against the same request whose call (FFA_ID_GET) stays in the SPMC.
    for key in ["pmu_per_op", "sel1"] {
        if let (Some(a), Some(b)) = (get("yield_run_echo", key), get("raw_id_get_echo", key)) {
            d.push((
                format!("yield_run_extra_{key}"),
                (a as i64 - b as i64).to_string(),
            ));
        }
    }
    // SP-initiated share + retrieve + relinquish + reclaim of one page: echo's SHARE command
    // minus the same two hops without memory (NW -> relay -> echo).
    for key in ["pmu_per_op", "sel1"] {
        if let (Some(a), Some(b)) = (get("mem_sp_share_1", key), get("dreq32_relay_echo", key)) {
            d.push((
                format!("sp_mem_cycle_{key}"),
                (a as i64 - b as i64).to_string(),
            ));
        }
    }
    // Notifications and indirect messages without the direct request that reads them back.
    for (name, op) in [
        ("notify_set_get_net", "notify_set_get"),
        ("msg_send2_round_trip_net", "msg_send2_round_trip"),
    ] {
        for key in ["pmu_per_op", "sel1"] {
            if let (Some(a), Some(b)) = (get(op, key), get("dreq64_echo", key)) {
                d.push((format!("{name}_{key}"), (a as i64 - b as i64).to_string()));
            }
        }
    }
    // Per extra contiguous page (1 -> 4096 pages) and per extra range (16 -> 250 ranges).
    for (name, lo, hi, units) in [
        ("per_page", "mem_contig_1", "mem_contig_4096", 4095.0),
        ("per_range", "mem_scatter_16", "mem_scatter_250", 234.0),
    ] {
        for key in ["pmu_per_op", "share", "rr", "reclaim"] {
            if let (Some(a), Some(b)) = (get(lo, key), get(hi, key)) {
                d.push((
                    format!("mem_{name}_{key}"),
                    format!("{:.1}", (b as f64 - a as f64) / units),
                ));
            }
        }
    }
    d
}

/// `cargo xtask bench`.
pub fn cmd_bench(args: &[String]) -> Result<(), String> {
    let a = parse_args(args)?;
    let tc = toolchain::ensure_cross()?;
    toolchain::ensure_qemu()?;
    let root = crate::root();
    let dir = bench_dir();
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;

    // 1. The default image (4 SPs) with the benchmark driver: message and memory figures
    //    and the 4-SP cold boot.
    step("building the benchmark image (ns-driver feature `bench`)");
    let lref = crate::layout::LayoutRef::new(None, crate::layout::Target::Qemu)?;
    // `--only`: the driver reads the pattern as a case filter and runs only the benchmarks
    // it selects (qemu/ns-driver/src/bench.rs, `selected`).
    let only = crate::RunConfig {
        cases: a.only.iter().cloned().collect(),
        ..crate::RunConfig::default()
    };
    let image = crate::build_product(&tc, crate::variants::NS_BENCH.features, &lref, &only)?;
    let main_flash = dir.join("flash-4.img");
    std::fs::copy(&image.flash, &main_flash).map_err(|e| e.to_string())?;
    // The default image keeps its storage area from earlier `cargo xtask qemu` runs: the
    // ITS/PS benches start from erased storage all the same.
    flash::reset_storage(&main_flash)?;
    let smp4_selected = a.only.as_deref().is_none_or(|p| {
        SMP4_BENCHES
            .iter()
            .any(|n| crate::run_config::driver::matches(p, n))
    });
    // The same image with the run configuration `case bench-smp4`: the driver then only
    // measures the 4-core direct-message rate (qemu/ns-driver/src/bench.rs, four_core_rate).
    let smp4_flash = dir.join("flash-4-smp4.img");
    if smp4_selected {
        let smp4 = crate::RunConfig {
            cases: vec!["bench-smp4".to_string()],
            ..crate::RunConfig::default()
        };
        let image = crate::build(&tc, crate::variants::NS_BENCH.features, &lref, &smp4)?;
        std::fs::copy(&image.flash, &smp4_flash).map_err(|e| e.to_string())?;
        flash::reset_storage(&smp4_flash)?;
    }

    // 2. The cold-boot images (built before running anything, so that one build phase and
    //    one run phase follow each other).
    let mut images: Vec<(usize, PathBuf)> = Vec::new();
    if a.boot_sets {
        step("building the cold-boot images with 0, 1 and 8 SPs");
        let copies = build_echo_copies(&tc, &root)?;
        for count in [0usize, 1, 8] {
            let text = layout_json(&root, count, &copies);
            images.push((count, build_boot_image(&tc, &root, count, &text)?));
        }
    }
    images.insert(0, (4, main_flash));

    // 3. Run them.
    let mut results: BTreeMap<String, BenchLine> = BTreeMap::new();
    // Names in run order, for the table.
    let mut order: Vec<String> = Vec::new();
    let mut json = Vec::new();
    let mut failures = Vec::new();
    for (count, flash_img) in &images {
        step(&format!("running the {count}-SP image under -icount"));
        let log = dir.join(format!("run-{count}.log"));
        let lines = match run_image(flash_img, &log, a.timeout, 1) {
            Ok(l) => l,
            Err(e) => {
                failures.push(format!("{count}-SP image: {e}"));
                continue;
            }
        };
        for mut b in lines {
            if b.name == "boot_to_nw" {
                b.name = format!("boot_{count}sp");
            } else if *count != 4 {
                // Only the default image's message and memory figures are reported.
                continue;
            }
            if let Some(e) = b.error() {
                failures.push(format!("{}: {e}", b.name));
            }
            json.push(json_line(&b, &format!("{count}sp")));
            if !order.contains(&b.name) {
                order.push(b.name.clone());
            }
            results.insert(b.name.clone(), b);
        }
    }

    if smp4_selected {
        step("running the 4-SP image on 4 cores under -icount (direct-message rate)");
    }
    match smp4_selected.then(|| run_image(&smp4_flash, &dir.join("run-4-smp4.log"), a.timeout, 4)) {
        None => {}
        Some(Ok(lines)) => {
            for b in lines {
                if let Some(e) = b.error() {
                    failures.push(format!("{}: {e}", b.name));
                }
                json.push(json_line(&b, "4sp-smp4"));
                if !order.contains(&b.name) {
                    order.push(b.name.clone());
                }
                results.insert(b.name.clone(), b);
            }
        }
        Some(Err(e)) => failures.push(format!("4-core image: {e}")),
    }

    // 4. Report.
    let qemu = command_output("qemu-system-aarch64", &["--version"]);
    let date = command_output("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]);
    let commit = git_commit(&root);
    println!("\ncargo xtask bench, {date}, commit {commit}, {qemu}");
    println!("method: -icount shift=0,sleep=off, -smp 1; per op = (t(2N) - t(N)) / N");
    println!(
        "{:<22} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>6}",
        "benchmark", "insns/op", "pmu/op", "EL3", "S-EL1", "S-EL0", "NS-EL2", "N"
    );
    let cell = |b: &BenchLine, k: &str| b.num(k).map_or("-".to_string(), |n| n.to_string());
    for b in order.iter().filter_map(|n| results.get(n)) {
        if b.error().is_some() {
            continue;
        }
        println!(
            "{:<22} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>6}",
            b.name,
            cell(b, "insns_per_op"),
            cell(b, "pmu_per_op"),
            cell(b, "el3"),
            cell(b, "sel1"),
            cell(b, "sel0"),
            cell(b, "nsel2"),
            cell(b, "iterations"),
        );
    }
    let mem: Vec<&BenchLine> = order
        .iter()
        .filter_map(|n| results.get(n))
        .filter(|b| b.num("share").is_some())
        .collect();
    if !mem.is_empty() {
        println!(
            "\n{:<22} {:>10} {:>12} {:>10}  (single calls, cycle counter, all levels)",
            "memory cycle", "share", "retr+relinq", "reclaim"
        );
        for b in mem {
            println!(
                "{:<22} {:>10} {:>12} {:>10}",
                b.name,
                cell(b, "share"),
                cell(b, "rr"),
                cell(b, "reclaim")
            );
        }
    }
    let d = derived(&results);
    println!();
    for (k, v) in &d {
        println!("{k} = {v}");
    }
    let mut out = String::from("{\n");
    let _ = writeln!(out, "  \"date\": {},", json_str(&date));
    let _ = writeln!(out, "  \"commit\": {},", json_str(&commit));
    let _ = writeln!(out, "  \"qemu\": {},", json_str(&qemu));
    let _ = writeln!(
        out,
        "  \"method\": {},",
        json_str("-icount shift=0,sleep=off, -smp 1 (rate4_*: -smp 4), -m 2048; insns_per_op = (CNTVCT(2N) - CNTVCT(N)) * 16 / N (ns_preempt_to_nw: (CNTVCT at the NW's return - timer deadline) * 16, averaged; rate4_*: all cores' CNTVCT span * 16 / answered requests); pmu_per_op and el3/sel1/sel0/nsel2 = the same with PMCCNTR_EL0 (filtered by PMCCFILTR_EL0); share/rr/reclaim = single calls timed with PMCCNTR; boot_<k>sp = CNTVCT at the NS driver's entry * 16")
    );
    let _ = writeln!(
        out,
        "  \"benchmarks\": [\n    {}\n  ],",
        json.join(",\n    ")
    );
    let derived_json: Vec<String> = d
        .iter()
        .map(|(k, v)| format!("{}: {v}", json_str(k)))
        .collect();
    let _ = writeln!(out, "  \"derived\": {{{}}},", derived_json.join(", "));
    let fails: Vec<String> = failures.iter().map(|f| json_str(f)).collect();
    let _ = writeln!(out, "  \"failures\": [{}]\n}}", fails.join(", "));
    let path = crate::out_dir().join("bench.json");
    std::fs::write(&path, out).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("\nwrote {}", path.display());
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} benchmark(s) could not run:\n  {}",
            failures.len(),
            failures.join("\n  ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_lines_are_parsed_with_their_fields() {
        let b = parse_line("BENCH name=dreq32_echo insns_per_op=2048 iterations=500 el3=310\r")
            .unwrap();
        assert_eq!(b.name, "dreq32_echo");
        assert_eq!(b.num("insns_per_op"), Some(2048));
        assert_eq!(b.num("iterations"), Some(500));
        assert_eq!(b.num("el3"), Some(310));
        assert_eq!(b.num("sel1"), None);
        assert_eq!(b.error(), None);
    }

    #[test]
    fn errors_keep_their_spaces_and_junk_is_ignored() {
        let b =
            parse_line("BENCH name=mem_contig_1 error=FFA_MEM_SHARE: FFA_ERROR Denied").unwrap();
        assert_eq!(b.error(), Some("FFA_MEM_SHARE: FFA_ERROR Denied"));
        assert_eq!(parse_line("[NS] case x ... ok"), None);
        assert_eq!(parse_line("BENCH done failed=0"), None);
        assert_eq!(parse_line("BENCH name= x=1"), None);
        assert_eq!(parse_line("BENCH name=a novalue"), None);
        let log = "[SPMC] hi\nBENCH name=a x=1\nBENCH name=b y=z\n";
        let all = parse_console(log);
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].fields, vec![("y".to_string(), "z".to_string())]);
    }

    #[test]
    fn only_takes_one_pattern_and_drops_the_boot_sets() {
        let args = |v: &[&str]| parse_args(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let a = args(&["--only", "mem_scatter_*"]).unwrap();
        assert_eq!(a.only.as_deref(), Some("mem_scatter_*"));
        assert!(!a.boot_sets);
        let a = args(&[]).unwrap();
        assert_eq!(a.only, None);
        assert!(a.boot_sets);
        assert!(args(&["--only"]).is_err());
        assert!(args(&["--only", "a b"]).is_err());
        // The driver reads the pattern as a case filter: it selects by the same rule.
        let cfg = crate::RunConfig {
            cases: vec!["mem_scatter_*".into()],
            ..crate::RunConfig::default()
        };
        let text = cfg.text().unwrap();
        let mut area = crate::run_config::driver::blank_area().to_vec();
        area[16..16 + text.len()].copy_from_slice(text.as_bytes());
        let c = crate::run_config::driver::Config::parse(&area).unwrap();
        assert!(c.selects("mem_scatter_250"));
        assert!(!c.selects("mem_contig_1"));
    }

    #[test]
    fn echo_copies_get_their_own_identity_and_address() {
        let dts = std::fs::read_to_string(crate::root().join("partitions/echo/echo.dts")).unwrap();
        let copy =
            echo_copy_manifest(&dts, EndpointId(0x8005), 0x2440_0000, 10, 0x0500_0040).unwrap();
        assert!(copy.contains("id = <0x8005>;"));
        assert!(copy.contains("load-address = <0x0 0x24400000>;"));
        assert!(copy.contains("boot-order = <10>;"));
        assert!(copy.contains("uuid = <0x3a7c2e2f 0x1e4b596c 0xec018f9d 0x05000040>;"));
        assert!(!copy.contains("0x8001"));
        assert!(!copy.contains("device-regions") && !copy.contains("interrupts = "));
        assert!(copy.contains("memory-regions {"));
        assert!(echo_copy_manifest("/ { };", EndpointId(1), 0, 0, 0).is_err());
        // The copies do not overlap each other or the default set (0x2400_0000..0x2440_0000).
        let loads: Vec<u64> = echo_copies().iter().map(|c| c.1).collect();
        assert_eq!(
            loads,
            vec![
                0x2440_0000,
                0x2450_0000,
                0x2460_0000,
                0x2470_0000,
                0x2480_0000
            ]
        );
    }

    #[test]
    fn the_8_sp_set_is_the_resolved_default_set_with_echo_copies() {
        // What xtask's layout resolution writes for the default set (absolute paths, sorted
        // keys, serde_json's pretty form).
        let resolved = r#"{
  "block-storage": { "image": "/o/sp/block-storage.bin", "pm": "/p/block-storage.dts" },
  "echo": { "image": "/o/sp/echo.bin", "pm": "/p/echo.dts", "capabilities": { "direct-messages": ["ps"] } },
  "fault": { "image": "/o/sp/fault.bin", "pm": "/p/fault.dts" },
  "its": { "image": "/o/sp/its.bin", "pm": "/p/its.dts" },
  "pkg-sp": { "package": "/o/sp/pkg-sp.pkg" },
  "ps": { "image": "/o/sp/ps.bin", "pm": "/p/ps.dts" },
  "relay": { "image": "/o/sp/relay.bin", "pm": "/p/relay.dts", "capabilities": { "direct-messages": ["echo"] } }
}"#;
        let copies: Vec<(EndpointId, PathBuf, PathBuf)> = (0..5)
            .map(|i| {
                (
                    EndpointId(0x8005 + i),
                    PathBuf::from(format!("/b/e{i}.bin")),
                    PathBuf::from(format!("/b/e{i}.dts")),
                )
            })
            .collect();
        let text = layout_json_from(resolved, Path::new("/o/sp"), Path::new("/r"), 8, &copies);
        let v: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "echo",
                "echo-8006",
                "echo-8007",
                "echo-8008",
                "echo-8009",
                "fault",
                "pkg-sp",
                "relay"
            ]
        );
        assert_eq!(v["echo"]["image"], "/b/e0.bin");
        let one = layout_json_from(resolved, Path::new("/o/sp"), Path::new("/r"), 1, &copies);
        let v: serde_json::Value = serde_json::from_str(&one).unwrap();
        assert_eq!(v["echo"]["image"], "/o/sp/echo.bin");
    }

    #[test]
    fn an_entry_is_removed_from_a_layout() {
        let j = "{\n  \"echo\": { \"a\": { \"b\": 1 } },\n  \"relay\": { \"c\": 2 }\n}\n";
        let out = without_entry(j, "echo");
        assert_eq!(out, "{\n  \"relay\": { \"c\": 2 }\n}\n");
        assert_eq!(without_entry(j, "fault"), j);
        let last = without_entry(j, "relay");
        assert!(last.contains("echo") && !last.contains("relay"));
        // The shipped layout loses echo and keeps the others.
        let shipped =
            std::fs::read_to_string(crate::root().join("partitions/sp_layout.json")).unwrap();
        let out = without_entry(&shipped, "echo");
        assert!(!out.contains("\"echo\":") && out.contains("\"relay\":"));
    }

    #[test]
    fn elf_entry_is_read_only_from_elf64_le_headers() {
        let mut h = vec![0u8; 0x40];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = 2;
        h[5] = 1;
        h[0x18..0x20].copy_from_slice(&0x2440_0000u64.to_le_bytes());
        assert_eq!(crate::table::parse_elf_entry(&h), Some(0x2440_0000));
        assert_eq!(crate::table::parse_elf_entry(&h[..0x1C]), None);
        h[5] = 2; // big endian
        assert_eq!(crate::table::parse_elf_entry(&h), None);
        assert_eq!(crate::table::parse_elf_entry(b"MZ"), None);
    }

    #[test]
    fn derived_figures_are_differences() {
        let line = |s: &str| parse_line(s).unwrap();
        let mut r = BTreeMap::new();
        for s in [
            "BENCH name=dreq32_echo pmu_per_op=1000 sel1=300",
            "BENCH name=dreq32_relay_echo pmu_per_op=1800 sel1=700",
        ] {
            let b = line(s);
            r.insert(b.name.clone(), b);
        }
        let d = derived(&r);
        assert!(d.contains(&("sp_to_sp32_pmu_per_op".to_string(), "800".to_string())));
        assert!(d.contains(&("sp_to_sp32_sel1".to_string(), "400".to_string())));
    }
}
