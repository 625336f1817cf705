//! `cargo xtask fuzz`: a long fuzz run from both worlds on QEMU. The normal-world driver runs
//! no case, only qemu/ns-driver/src/cases/fuzz.rs with the given seed and length (random FF-A
//! calls from the normal world and from a malicious SP, mutated memory descriptors, SP-to-SP
//! transactions, the SPMC's state checker; `cargo xtask test` runs the same code for a fixed
//! seed as the case `fuzz_both_worlds_fixed_seed`).

use crate::layout::{LayoutRef, Target};
use crate::run_config::RunConfig;
use crate::{step, toolchain};

pub const HELP: &str = "usage: cargo xtask fuzz [--seed N] [--calls M] [--smp N] [--timeout S]

Builds the test image of the default SP set and boots it on QEMU with the normal-world
driver in fuzz mode: M random FF-A calls from both worlds (a hostile normal world, and the
fault SP as a malicious partition), memory descriptors mutated from valid ones, SP-to-SP
transactions; the SPMC's state checker runs every 50 calls and at the end, then every live
transaction must be reclaimable by its owner and every SP must answer. The seed is printed
at the start and in every failure; the same seed and length replay the same run.

  --seed N     0x-hex or decimal (default: taken from the clock, and printed)
  --calls M    number of calls, 1..=1000000 (default 2000)
  --smp N      cores (default 4)
  --timeout S  kill QEMU after S seconds (default 120 + M/5)
";

#[derive(Debug, PartialEq)]
struct Args {
    seed: Option<u64>,
    calls: u32,
    smp: u32,
    timeout: Option<u64>,
}

fn number(v: Option<&String>, what: &str) -> Result<u64, String> {
    let v = v.ok_or(format!("{what} takes a number"))?;
    let parsed = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(&hex.replace('_', ""), 16),
        None => v.replace('_', "").parse(),
    };
    parsed.map_err(|_| format!("{what} {v:?}: not a number (0x-hex or decimal)"))
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        seed: None,
        calls: 2000,
        smp: 4,
        timeout: None,
    };
    let mut it = args.iter();
    while let Some(x) = it.next() {
        match x.as_str() {
            "--seed" => a.seed = Some(number(it.next(), "--seed")?),
            "--calls" => {
                a.calls = u32::try_from(number(it.next(), "--calls")?)
                    .ok()
                    .filter(|n| (1..=1_000_000).contains(n))
                    .ok_or("--calls takes 1..=1000000")?
            }
            "--smp" => {
                a.smp = u32::try_from(number(it.next(), "--smp")?)
                    .ok()
                    .filter(|n| (1..=8).contains(n))
                    .ok_or("--smp takes 1..8")?
            }
            "--timeout" => a.timeout = Some(number(it.next(), "--timeout")?),
            o => return Err(format!("unknown argument {o}\n{HELP}")),
        }
    }
    Ok(a)
}

/// A seed from the clock when none is given (printed, so the run replays).
fn clock_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    t.as_secs().rotate_left(32) ^ u64::from(t.subsec_nanos())
}

/// Whether the driver's console reports this fuzz run passed (qemu/ns-driver/src/main.rs).
fn passed(console: &str, seed: u64) -> bool {
    let ok = format!("fuzz seed {seed:#x} ... ok");
    console.lines().any(|l| l.trim_end().ends_with(&ok))
}

/// `cargo xtask fuzz`.
pub fn cmd_fuzz(args: &[String]) -> Result<(), String> {
    let a = parse(args)?;
    let seed = a.seed.unwrap_or_else(clock_seed);
    let timeout = a.timeout.unwrap_or(120 + u64::from(a.calls) / 5);
    step(&format!(
        "fuzz: seed {seed:#x}, {} calls (replay: cargo xtask fuzz --seed {seed:#x} --calls {})",
        a.calls, a.calls
    ));
    let tc = toolchain::ensure_cross()?;
    toolchain::ensure_qemu()?;
    let lref = LayoutRef::new(None, Target::Qemu)?;
    let run = RunConfig {
        calls_only: true,
        fuzz: Some((seed, a.calls)),
        ..RunConfig::default()
    };
    let image = crate::build(&tc, &[], &lref, &run)?;
    let q = crate::QemuArgs::boot(a.smp, timeout);
    let outcome = crate::run_qemu(&image, &q, false, "fuzz.log")?;
    let replay = format!("cargo xtask fuzz --seed {seed:#x} --calls {}", a.calls);
    if outcome.timed_out {
        return Err(format!(
            "QEMU did not finish within {timeout} s (replay: {replay} --timeout S)"
        ));
    }
    if outcome.status == Some(0) && passed(&outcome.console, seed) {
        step(&format!("fuzz: seed {seed:#x}, {} calls: passed", a.calls));
        Ok(())
    } else {
        Err(format!(
            "fuzz seed {seed:#x} failed (exit status {:?}; the FAILED line above says where; replay: {replay})",
            outcome.status
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn seeds_and_lengths_are_read_in_hex_or_decimal() {
        let a = parse(&args("--seed 0x5EED_0010 --calls 400")).unwrap();
        assert_eq!(a.seed, Some(0x5EED_0010));
        assert_eq!(a.calls, 400);
        assert_eq!(parse(&args("--seed 17")).unwrap().seed, Some(17));
        let d = parse(&[]).unwrap();
        assert_eq!((d.seed, d.calls, d.smp, d.timeout), (None, 2000, 4, None));
    }

    #[test]
    fn bad_arguments_are_refused_with_the_reason() {
        for (line, want) in [
            ("--calls 0", "--calls takes 1..=1000000"),
            ("--calls 1000001", "--calls takes 1..=1000000"),
            ("--smp 9", "--smp takes 1..8"),
            ("--seed zz", "not a number"),
            ("--seed", "--seed takes a number"),
            ("--layout x", "unknown argument --layout"),
        ] {
            let e = parse(&args(line)).unwrap_err();
            assert!(e.contains(want), "{line}: {e}");
        }
    }

    #[test]
    fn the_run_passes_only_on_its_own_seeds_ok_line() {
        let console =
            "[NS] fuzz: seed 0x11, 5 calls\r\n[NS] fuzz seed 0x11 ... ok\r\n1 passed, 0 failed\n";
        assert!(passed(console, 0x11));
        assert!(!passed(console, 0x12));
        assert!(!passed("[NS] fuzz seed 0x11 ... FAILED: x\n", 0x11));
    }

    #[test]
    fn the_driver_is_told_the_seed_and_length() {
        let run = RunConfig {
            calls_only: true,
            fuzz: Some((0xABC, 77)),
            ..RunConfig::default()
        };
        let text = run.text().unwrap();
        assert!(
            text.contains("calls-only\n") && text.contains("fuzz 0xabc 77\n"),
            "{text}"
        );
    }
}
