//! The integrator checks of `cargo xtask test` (issue 14's "done when"):
//!
//! - `integrator_counter_layout_called_from_normal_world`: builds and boots
//!   partitions/counter/layout.json, an SP set with the counter example SP (not in the default
//!   set) and echo, runs every case (those that need the default set are skipped, not failed)
//!   and calls counter from the normal-world client: REQ_32, REQ_64, REQ2 with its UUID, a
//!   request it forwards to echo, and a memory share it reads and writes; checks each answer.
//! - `integrator_wrong_load_address_refused`: links counter for an address in FVP's SP pool
//!   and gives the ELF to a QEMU layout; the build must refuse it, naming both addresses.
//! - `integrator_external_sp_crate`: writes a small SP crate with its own `[workspace]` in a
//!   directory outside this repository (a path dependency on partitions/sp-rt, as an
//!   integrator's would be), a layout naming it with `"crate"`, builds and boots that set and
//!   calls the SP from the normal-world client; checks the answer its code computes.
//! - `integrator_counter_called_from_linux`: boots Linux on the counter layout's image
//!   (`cargo xtask linux --layout ... --run ...`) and calls counter with `ffa-call` through
//!   Linux's FF-A driver: REQ_32 ADD by ID, CALL to echo by UUID (REQ_64), SUM_SHARED over a
//!   page Linux shares, ADD again (the state carried over); checks each printed answer.

use crate::layout::{LayoutRef, Target};
use crate::run_config::driver::CallKind;
use crate::run_config::{CallSpec, RunConfig};
use crate::toolchain::Toolchain;
use crate::{call, step};
use ffa_abi::EndpointId;

/// counter's manifest values (partitions/counter/counter.dts).
const COUNTER: EndpointId = EndpointId(0x8007);
const COUNTER_UUID: &str = "7c0a39e4-5bd2-4a53-8c1e-2f7d1e0c0a05";
const COUNTER_BASE: u64 = 0x2460_0000;
const ECHO: EndpointId = EndpointId(0x8001);
/// An address in FVP's SP pool (0x0700_0000..0x07F0_0000).
const FVP_ADDRESS: u64 = 0x0710_0000;

fn report(name: &str, r: Result<(), String>, passed: &mut u32, failed: &mut u32) {
    match r {
        Ok(()) => {
            *passed += 1;
            eprintln!("integrator: {name} ... ok");
        }
        Err(why) => {
            *failed += 1;
            eprintln!("integrator: {name} ... FAILED: {why}");
        }
    }
}

/// Runs both checks; returns (passed, failed).
pub fn run(tc: &Toolchain, timeout: u64) -> (u32, u32) {
    let (mut p, mut f) = (0, 0);
    // First: it links counter at the wrong address; the layout run relinks it right.
    report(
        "integrator_wrong_load_address_refused",
        wrong_load_address(tc),
        &mut p,
        &mut f,
    );
    report(
        "integrator_counter_layout_called_from_normal_world",
        counter_layout(tc, timeout),
        &mut p,
        &mut f,
    );
    report(
        "integrator_external_sp_crate",
        external_sp_crate(tc, timeout),
        &mut p,
        &mut f,
    );
    report(
        "integrator_counter_called_from_linux",
        counter_from_linux(tc),
        &mut p,
        &mut f,
    );
    (p, f)
}

/// The external SP: endpoint ID, UUID cells, and where it is linked (alone in its set, the
/// first slot of the QEMU SP pool).
const EXT_ID: EndpointId = EndpointId(0x8009);
const EXT_BASE: u64 = 0x2400_0000;

/// Where the external crate is written: outside the repository (and so outside its
/// workspace), one folder per checkout.
fn external_dir() -> std::path::PathBuf {
    let root = crate::root();
    let tag: u64 = root
        .to_string_lossy()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    std::env::temp_dir().join(format!("rust-spmc-external-sp-{tag:016x}"))
}

fn external_sp_crate(tc: &Toolchain, timeout: u64) -> Result<(), String> {
    let root = crate::root();
    let dir = external_dir();
    if dir.starts_with(&root) {
        return Err(format!("{} is inside the repository", dir.display()));
    }
    let sp_rt = root.join("partitions/sp-rt");
    let write = |rel: &str, text: String| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap_or(&dir)).map_err(|e| e.to_string())?;
        if std::fs::read_to_string(&p).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        Ok::<(), String>(())
    };
    write(
        "Cargo.toml",
        format!(
            "[package]\nname = \"ext-sp\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
             build = \"build.rs\"\n\n[dependencies]\nsp-rt = {{ path = \"{}\" }}\n\n\
             # Its own workspace: this crate is not a member of rust-spmc's.\n[workspace]\n\n\
             [profile.release]\npanic = \"abort\"\nopt-level = \"s\"\n",
            sp_rt.display()
        ),
    )?;
    // Start from the repository's lock file: the same dependency versions, no resolution.
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).map_err(|e| e.to_string())?;
    write("Cargo.lock", lock)?;
    write(
        "build.rs",
        format!(
            "#[path = \"{}\"]\nmod sp_link;\n\nfn main() {{\n    sp_link::configure(\"ext-sp.dts\");\n}}\n",
            sp_rt.join("link/sp_link.rs").display()
        ),
    )?;
    write(
        "src/main.rs",
        "//! An SP crate outside rust-spmc's workspace: answers [0, w0 * w1, the sender, 0xE5].\n\
         #![cfg_attr(target_os = \"none\", no_std, no_main)]\n\n\
         #[cfg(target_os = \"none\")]\nmod sp {\n    use sp_rt::{Ffa, Payload, StartInfo};\n\n\
         \x20   sp_rt::entry!(main);\n\n\
         \x20   fn main(_start: StartInfo) -> ! {\n\
         \x20       let mut ffa = Ffa::svc();\n\
         \x20       sp_rt::log!(\"external SP ready\");\n\
         \x20       sp_rt::run(&mut ffa, |_ffa, req| {\n\
         \x20           let (a, b) = (req.payload.get(0), req.payload.get(1));\n\
         \x20           Payload::new(&[0, a.wrapping_mul(b), u64::from(req.sender.0), 0xE5])\n\
         \x20       })\n    }\n}\n\n\
         #[cfg(not(target_os = \"none\"))]\nfn main() {}\n"
            .to_string(),
    )?;
    let counter_dts = std::fs::read_to_string(root.join("partitions/counter/counter.dts"))
        .map_err(|e| e.to_string())?;
    let dts = counter_dts
        .replace(
            &format!("id = <{COUNTER:#x}>;"),
            &format!("id = <{EXT_ID:#x}>;"),
        )
        .replace(
            "load-address = <0x0 0x24600000>;",
            &format!("load-address = <0x0 {EXT_BASE:#x}>;"),
        )
        .replace(
            "uuid = <0xe4390a7c 0x534ad25b 0x7d2f1e8c 0x050a0c1e>;",
            "uuid = <0xe4390a7c 0x534ad25b 0x7d2f1e8c 0x090a0c1e>;",
        )
        .replace(
            "description = \"counter: example SP\";",
            "description = \"ext-sp\";",
        );
    if !dts.contains(&format!("id = <{EXT_ID:#x}>;")) || !dts.contains("0x090a0c1e") {
        return Err("partitions/counter/counter.dts changed: update external_sp_crate".into());
    }
    write("ext-sp.dts", dts)?;
    write(
        "layout.json",
        "{ \"ext-sp\": { \"crate\": \".\", \"pm\": \"ext-sp.dts\", \"capabilities\": {} } }\n"
            .to_string(),
    )?;
    let lref = LayoutRef::new(Some(&dir.join("layout.json")), Target::Qemu)?;
    let run = RunConfig {
        layout: Some(lref.name.clone()),
        cases: Vec::new(),
        calls_only: true,
        calls: vec![CallSpec {
            kind: CallKind::Req32,
            dest: EXT_ID,
            uuid: [0, 0],
            share_pages: 0,
            fill: 0,
            words: vec!["6".into(), "7".into()],
        }],
        fuzz: None,
    };
    let image = crate::build(tc, &[], &lref, &run)?;
    let plan = image.plan.as_ref().ok_or("empty plan")?;
    let sp = plan
        .sps
        .iter()
        .find(|p| p.entry.name == "ext-sp")
        .ok_or("ext-sp is not in the table")?;
    if sp.id != EXT_ID || sp.image_base != EXT_BASE {
        return Err(format!(
            "ext-sp is {:#x} at {:#x} in the table, want {EXT_ID:#x} at {EXT_BASE:#x}",
            sp.id, sp.image_base
        ));
    }
    let q = crate::QemuArgs::boot(4, timeout);
    let outcome = crate::run_qemu(&image, &q, false, "test.log")?;
    let log = image.out.join("test.log");
    let got = call::answers(&outcome.console).get(&1).cloned();
    let want = vec![0, 42, 0, 0xE5, 0];
    if got.as_ref() != Some(&want) {
        return Err(format!(
            "ext-sp answered {got:x?}, want {want:x?} (log {})",
            log.display()
        ));
    }
    step(&format!(
        "integrator: the SP crate in {} (outside the workspace) answered 6 * 7",
        dir.display()
    ));
    Ok(())
}

/// The integrator guide's Linux walk-through, run: each command and the exact output it must
/// print (counter starts at 0 in a fresh boot).
fn counter_from_linux(tc: &Toolchain) -> Result<(), String> {
    let layout = crate::root().join("partitions/counter/layout.json");
    let id = format!("{COUNTER:#06x}");
    let echo = format!("{ECHO:#06x}");
    let steps: Vec<(String, Vec<String>)> = vec![
        (
            format!("ffa-call --req32 {id} 1 5"),
            vec![format!("answer from {id}: [0x0, 0x5, 0x0, 0x0, 0x0]")],
        ),
        (
            format!("ffa-call {COUNTER_UUID} 3 {echo} 0x1234 0x5678"),
            vec![format!("answer from {id}: [0x0, 0x1234, 0x5678, 0x0, 0x0]")],
        ),
        (
            format!("ffa-call --share 1 --fill 1 {id} 4 hlo hhi 4"),
            vec![
                format!("answer from {id}: [0x0, 0xa, 0x1, 0x0, 0x0]"),
                "shared memory afterwards (first 8 words): [0x1, 0x2, 0x3, 0x4, 0xa, 0x6, 0x7, 0x8]"
                    .to_string(),
            ],
        ),
        (
            format!("ffa-call --req64 {id} 1 2"),
            vec![format!("answer from {id}: [0x0, 0x7, 0x0, 0x0, 0x0]")],
        ),
    ];
    let commands: Vec<String> = steps.iter().map(|(c, _)| c.clone()).collect();
    let runs = crate::linux::run_commands(
        tc,
        std::time::Duration::from_secs(crate::LINUX_TIMEOUT_S),
        Some(&layout),
        &commands,
        &[],
    )?;
    for (run, (command, want)) in runs.iter().zip(&steps) {
        if run.status != Some(0) || &run.output != want {
            return Err(format!(
                "`{command}` ended with {:?} and printed {:?}, want status 0 and {want:?}",
                run.status, run.output
            ));
        }
    }
    step("integrator: counter answered 4 ffa-call requests from Linux as expected");
    Ok(())
}

fn wrong_load_address(tc: &Toolchain) -> Result<(), String> {
    let root = crate::root();
    let dir = crate::out_dir().join("integrator");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let dts_file = root.join("partitions/counter/counter.dts");
    let dts = std::fs::read_to_string(&dts_file).map_err(|e| e.to_string())?;
    let here = format!("load-address = <0x0 {COUNTER_BASE:#x}>;");
    if !dts.contains(&here) {
        return Err(format!("{} no longer has `{here}`", dts_file.display()));
    }
    let fvp_dts = dir.join("counter-fvp.dts");
    std::fs::write(
        &fvp_dts,
        dts.replace(&here, &format!("load-address = <0x0 {FVP_ADDRESS:#x}>;")),
    )
    .map_err(|e| e.to_string())?;
    step("integrator: linking counter for an FVP address");
    let rel = tc.build(
        &root,
        &["counter"],
        &[("SP_RT_MANIFEST_COUNTER", fvp_dts.display().to_string())],
    )?;
    let elf = dir.join("counter-fvp.elf");
    std::fs::copy(rel.join("counter"), &elf).map_err(|e| e.to_string())?;
    let layout = dir.join("wrong_address.json");
    std::fs::write(
        &layout,
        format!(
            "{{ \"counter\": {{ \"image\": \"{}\", \"pm\": \"{}\" }} }}\n",
            elf.display(),
            dts_file.display()
        ),
    )
    .map_err(|e| e.to_string())?;
    let lref = LayoutRef::new(Some(&layout), Target::Qemu)?;
    match crate::prepare_sps(tc, &lref, Target::Qemu, &lref.out.join("table")) {
        Ok(_) => Err("the build accepted counter linked for the FVP pool in a QEMU set".into()),
        Err(e) => {
            step(&format!("integrator: refused as it should be: {e}"));
            let (linked, placed) = (
                format!("linked for {FVP_ADDRESS:#x}"),
                format!("places it at {COUNTER_BASE:#x}"),
            );
            if e.contains(&linked) && e.contains(&placed) && e.contains("counter.dts") {
                Ok(())
            } else {
                Err(format!("refused, but the error does not say `{linked}` and `{placed}` of counter.dts: {e}"))
            }
        }
    }
}

fn counter_layout(tc: &Toolchain, timeout: u64) -> Result<(), String> {
    let layout = crate::root().join("partitions/counter/layout.json");
    let lref = LayoutRef::new(Some(&layout), Target::Qemu)?;
    let uuid = manifest_tool::manifest::parse_uuid(COUNTER_UUID).ok_or("bad UUID")?;
    let pair = uuid.to_u64_pair();
    let req = |kind, uuid, share_pages, fill, words: &[&str]| CallSpec {
        kind,
        dest: COUNTER,
        uuid,
        share_pages,
        fill,
        words: words.iter().map(|w| w.to_string()).collect(),
    };
    let echo = format!("{ECHO:#x}");
    let run = RunConfig {
        layout: Some(lref.name.clone()),
        cases: Vec::new(),
        calls_only: false,
        calls: vec![
            // ADD 5, GET through each request kind, CALL echo, SUM_SHARED over a share.
            req(CallKind::Req32, [0, 0], 0, 0, &["1", "5"]),
            req(CallKind::Req64, [0, 0], 0, 0, &["1", "0x100000000"]),
            req(CallKind::Req2, pair, 0, 0, &["2"]),
            req(
                CallKind::Req64,
                [0, 0],
                0,
                0,
                &["3", &echo, "0x1234", "0x5678"],
            ),
            req(CallKind::Req64, [0, 0], 1, 1, &["4", "hlo", "hhi", "4"]),
        ],
        fuzz: None,
    };
    let image = crate::build(tc, &[], &lref, &run)?;
    // The SP is where the manifest says and has the manifest's ID.
    let plan = image.plan.as_ref().ok_or("empty plan")?;
    let found = call::find_sp(plan, "counter")?;
    if found.0 != COUNTER || call::find_sp(plan, COUNTER_UUID)?.1 != pair {
        return Err(format!("counter is {found:?} in the table"));
    }
    let q = crate::QemuArgs::boot(4, timeout);
    let outcome = crate::run_qemu(&image, &q, false, "test.log")?;
    let log = image.out.join("test.log");
    let (passed, failed) = outcome
        .summary()
        .ok_or_else(|| format!("no summary (log {})", log.display()))?;
    if failed != 0 || outcome.status != Some(0) {
        return Err(format!(
            "{passed} passed, {failed} failed, status {:?} (log {})",
            outcome.status,
            log.display()
        ));
    }
    let skipped = outcome
        .console
        .lines()
        .filter(|l| l.contains("skipped: needs the default SP set"))
        .count();
    if skipped == 0 {
        return Err("no default-set case was skipped".into());
    }
    let ran = outcome
        .console
        .lines()
        .filter(|l| l.starts_with("[NS] case ") && l.trim_end().ends_with("... ok"))
        .count();
    if ran == 0 {
        return Err("no case ran".into());
    }
    let answers = call::answers(&outcome.console);
    let first = |n: usize, k: usize| {
        answers
            .get(&n)
            .map(|w| w.iter().take(k).copied().collect::<Vec<_>>())
    };
    let want: [(usize, &str, Vec<u64>); 5] = [
        (1, "REQ_32 ADD 5", vec![0, 5, 0, 0, 0]),
        (2, "REQ_64 ADD 1 << 32", vec![0, 0x1_0000_0005, 0, 0, 0]),
        (
            3,
            "REQ2 (counter's UUID) GET",
            vec![0, 0x1_0000_0005, 0, 0, 0],
        ),
        (4, "REQ_64 CALL echo", vec![0, 0x1234, 0x5678, 0, 0]),
        (
            5,
            "REQ_64 SUM_SHARED of 1 + 2 + 3 + 4",
            vec![0, 10, 1, 0, 0],
        ),
    ];
    for (n, what, words) in want {
        let got = first(n, words.len());
        if got.as_ref() != Some(&words) {
            return Err(format!(
                "call {n} ({what}): got {got:x?}, want {words:x?} (log {})",
                log.display()
            ));
        }
    }
    // counter wrote the sum after the four words it added.
    let mem = call::memory_after(&outcome.console);
    let got = mem.get(&5).map(|m| m[..5.min(m.len())].to_vec());
    if got.as_deref() != Some(&[1, 2, 3, 4, 10][..]) {
        return Err(format!(
            "shared memory after SUM_SHARED: got {got:x?}, want [1, 2, 3, 4, 0xa]"
        ));
    }
    step(&format!(
        "integrator: {passed} driver results ({ran} cases ran, {skipped} default-set cases skipped), 5 answers checked"
    ));
    Ok(())
}
