//! `cargo xtask call`: the normal-world client for integrators. Builds the image of an SP set,
//! boots it with the driver in client mode (qemu/ns-driver/src/client.rs: no cases, only the
//! request) and prints the SP's answer.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::layout::{LayoutRef, Target};
use crate::run_config::driver::CallKind;
use crate::run_config::{CallSpec, RunConfig};
use crate::{step, toolchain};
use ffa_abi::EndpointId;

pub const HELP: &str =
    "usage: cargo xtask call [--layout FILE] [--req32|--req64|--req2] [--share PAGES [--fill WORD]]
                        [--timeout S] SP [WORD...]

Builds the QEMU image of the SP set, boots it and sends one direct request from the normal
world to SP, then prints the answer's payload words (or the FF-A error):

  SP          the SP's name in the layout, its endpoint ID (0x8005) or one of its UUIDs
              (7c0a39e4-5bd2-4a53-8c1e-2f7d1e0c0a05; with --req2 it is also the protocol UUID,
              otherwise the nil UUID is sent)
  WORD        payload words 0.. (w3.. for REQ_32/64, at most 5; x4.. for REQ2, at most 14):
              0x-hex or decimal; with --share, `hlo` and `hhi` are the memory handle's halves
  --req32, --req64 (default), --req2   FFA_MSG_SEND_DIRECT_REQ_32 / _64 / REQ2
  --share N   first share N pages (at most 16) of normal-world memory read-write with SP
              (FFA_MEM_SHARE_32); word i of the memory is FILL + i; after the answer the
              driver prints the first 8 words of the memory and reclaims it
  --fill W    the first word of the shared memory (default 0)
  --layout F  the SP set (default partitions/sp_layout.json)
  --timeout S kill QEMU after S seconds (default 120)

Example (the counter example SP, docs/integrator-guide.md):
  cargo xtask call --layout partitions/counter/layout.json counter 1 5
  cargo xtask call --layout partitions/counter/layout.json --share 1 --fill 1 counter 4 hlo hhi 4
";

/// The payload words of each `call N answer:` line, by N.
pub fn answers(console: &str) -> BTreeMap<usize, Vec<u64>> {
    numbered_lines(console, "answer:")
}

/// The words of each `call N memory after:` line, by N.
pub fn memory_after(console: &str) -> BTreeMap<usize, Vec<u64>> {
    numbered_lines(console, "memory after:")
}

fn numbered_lines(console: &str, tag: &str) -> BTreeMap<usize, Vec<u64>> {
    let mut out = BTreeMap::new();
    for line in console.lines() {
        let Some(rest) = line.trim_end_matches('\r').strip_prefix("[NS] call ") else {
            continue;
        };
        let Some((n, rest)) = rest.split_once(' ') else {
            continue;
        };
        let (Ok(n), Some(words)) = (n.parse::<usize>(), rest.strip_prefix(tag)) else {
            continue;
        };
        let words: Option<Vec<u64>> = words
            .split_whitespace()
            .map(crate::run_config::driver::number)
            .collect();
        if let Some(w) = words {
            out.insert(n, w);
        }
    }
    out
}

/// Finds the SP `which` (name, ID or UUID) in the placed set; returns its ID and the REQ2
/// protocol UUID registers (the UUID if `which` is one, else nil).
pub fn find_sp(plan: &manifest_tool::Plan, which: &str) -> Result<(EndpointId, [u64; 2]), String> {
    let names = || {
        plan.sps
            .iter()
            .map(|p| format!("{} {:#06x}", p.entry.name, p.id))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(p) = plan.sps.iter().find(|p| p.entry.name == which) {
        return Ok((p.id, [0, 0]));
    }
    if let Some(id) = crate::run_config::driver::number(which) {
        return plan
            .sps
            .iter()
            .find(|p| u64::from(p.id) == id)
            .map(|p| (p.id, [0, 0]))
            .ok_or_else(|| format!("no SP has ID {id:#x} in this set ({})", names()));
    }
    if let Some(u) = manifest_tool::manifest::parse_uuid(which) {
        let sp = plan
            .sps
            .iter()
            .find(|p| p.manifest.services.iter().any(|s| s.uuid == u))
            .ok_or_else(|| format!("no SP has UUID {which} in this set ({})", names()))?;
        return Ok((sp.id, u.to_u64_pair()));
    }
    Err(format!(
        "{which}: not an SP name, ID or UUID of this set ({})",
        names()
    ))
}

struct Args {
    layout: Option<PathBuf>,
    kind: CallKind,
    share: u32,
    fill: u32,
    timeout: u64,
    sp: String,
    words: Vec<String>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        layout: None,
        kind: CallKind::Req64,
        share: 0,
        fill: 0,
        timeout: 120,
        sp: String::new(),
        words: Vec::new(),
    };
    let num = |v: Option<&String>, what: &str| {
        v.and_then(|s| crate::run_config::driver::number(s))
            .ok_or(format!("{what} takes a number"))
    };
    let mut positional = Vec::new();
    let mut it = args.iter();
    while let Some(x) = it.next() {
        match x.as_str() {
            "--layout" => a.layout = Some(PathBuf::from(it.next().ok_or("--layout takes a file")?)),
            "--req32" => a.kind = CallKind::Req32,
            "--req64" => a.kind = CallKind::Req64,
            "--req2" => a.kind = CallKind::Req2,
            "--share" => {
                a.share = u32::try_from(num(it.next(), "--share")?)
                    .map_err(|_| "--share: too many pages")?
            }
            "--fill" => {
                a.fill =
                    u32::try_from(num(it.next(), "--fill")?).map_err(|_| "--fill: a 32-bit word")?
            }
            "--timeout" => a.timeout = num(it.next(), "--timeout")?,
            o if o.starts_with("--") => return Err(format!("unknown option {o}\n{HELP}")),
            _ => positional.push(x.clone()),
        }
    }
    let mut p = positional.into_iter();
    a.sp = p.next().ok_or(format!("which SP?\n{HELP}"))?;
    a.words = p.collect();
    Ok(a)
}

/// `cargo xtask call`.
pub fn cmd_call(args: &[String]) -> Result<(), String> {
    let a = parse(args)?;
    let tc = toolchain::ensure_cross()?;
    toolchain::ensure_qemu()?;
    let lref = LayoutRef::new(a.layout.as_deref(), Target::Qemu)?;
    // The SP is looked up in the placed set, which the build makes; the request is patched
    // into the driver after the build, so build first with no call, then patch.
    let mut run = RunConfig {
        layout: (!lref.is_default).then(|| lref.name.clone()),
        calls_only: true,
        ..RunConfig::default()
    };
    let image = crate::build(&tc, &[], &lref, &run)?;
    let plan = image.plan.as_ref().ok_or("the SP set is empty")?;
    let (dest, uuid) = find_sp(plan, &a.sp)?;
    run.calls.push(CallSpec {
        kind: a.kind,
        dest,
        uuid: if a.kind == CallKind::Req2 {
            uuid
        } else {
            [0, 0]
        },
        share_pages: a.share,
        fill: a.fill,
        words: a.words.clone(),
    });
    let image = crate::build(&tc, &[], &lref, &run)?;
    let q = crate::QemuArgs::boot(1, a.timeout);
    let outcome = crate::run_qemu(&image, &q, false, "call.log")?;
    if outcome.timed_out {
        return Err(format!("QEMU did not finish within {} s", a.timeout));
    }
    match answers(&outcome.console).get(&1) {
        Some(words) => {
            let shown: Vec<String> = words.iter().map(|w| format!("{w:#x}")).collect();
            println!("answer from {} ({dest:#06x}): [{}]", a.sp, shown.join(", "));
            if let Some(m) = memory_after(&outcome.console).get(&1) {
                let shown: Vec<String> = m.iter().map(|w| format!("{w:#x}")).collect();
                println!(
                    "shared memory afterwards (first 8 words): [{}]",
                    shown.join(", ")
                );
            }
            if outcome.status == Some(0) {
                Ok(())
            } else {
                Err(format!(
                    "the driver reported failure (exit status {:?})",
                    outcome.status
                ))
            }
        }
        None => {
            step("no answer: see the `[NS] call 1` lines above");
            Err(format!(
                "{} did not answer (exit status {:?})",
                a.sp, outcome.status
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_lines_are_read_by_call_number() {
        let console = "[NS] call 1: req32 to 0x8005 words [0x1]\r\n[NS] call 1 answer: 0x0 0x5 0x0\r\n\
                       [SPMC] noise\n[NS] call 2 error: FFA_ERROR Denied\n[NS] call 3 memory after: 0x1 0xa\n";
        let a = answers(console);
        assert_eq!(a.len(), 1);
        assert_eq!(a[&1], vec![0, 5, 0]);
        assert_eq!(memory_after(console)[&3], vec![1, 10]);
    }

    #[test]
    fn options_and_words_are_parsed() {
        let v = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        let a = parse(&v("--req2 --share 2 --fill 0x10 counter 4 hlo hhi")).unwrap();
        assert_eq!(
            (a.kind, a.share, a.fill, a.sp.as_str()),
            (CallKind::Req2, 2, 16, "counter")
        );
        assert_eq!(a.words, v("4 hlo hhi"));
        assert!(parse(&v("--share")).is_err());
        assert!(parse(&v("--bogus x")).is_err());
        assert!(parse(&[]).is_err());
    }
}
