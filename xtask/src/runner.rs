//! Runs QEMU sbsa-ref on a flash image: builds the command line, streams the console to stdout
//! and to a log file, enforces a timeout (a hang is reported with the console log), and returns
//! the exit status the firmware chose through semihosting (PSCI SYSTEM_OFF's x1 in our fixture).

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How to run QEMU.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The 256 MiB secure-flash image (see `flash::assemble`).
    pub flash: PathBuf,
    /// Number of cores (`-smp`); sbsa-ref supports up to 8 here.
    pub smp: u32,
    /// Wait for a debugger: gdbstub on TCP port 1234 and CPUs halted at reset (`-s -S`).
    /// Disables the timeout.
    pub gdb: bool,
    /// Deterministic instruction counting (`-icount shift=0,sleep=off`) for benchmarks.
    pub icount: bool,
    /// Kill QEMU and report a hang after this long.
    pub timeout: Duration,
    /// Where the console output is also written.
    pub log: PathBuf,
    /// The QEMU binary; `qemu-system-aarch64` from PATH by default.
    pub qemu: PathBuf,
    /// `-cpu` model.
    pub cpu: String,
    /// Guest RAM in MiB (the memory map needs at least 1024; the sbsa-ref SPMC maps 2 GiB of
    /// non-secure DRAM, so 2048 is the default).
    pub memory_mib: u32,
    /// More QEMU arguments (the Linux lane's `-dtb` and `-device loader`).
    pub extra: Vec<String>,
    /// Kill QEMU (SIGKILL, no shutdown of any kind) as soon as the console shows this text:
    /// the power-loss cases' way to cut the power at a point the firmware announces.
    pub kill_on: Option<String>,
}

impl RunOptions {
    /// Options with the project defaults for `flash`, logging to `log`.
    pub fn new(flash: &Path, log: &Path) -> Self {
        Self {
            flash: flash.to_path_buf(),
            smp: 4,
            gdb: false,
            icount: false,
            timeout: Duration::from_secs(120),
            log: log.to_path_buf(),
            qemu: PathBuf::from("qemu-system-aarch64"),
            cpu: "cortex-a72".to_string(),
            memory_mib: 2048,
            extra: Vec::new(),
            kill_on: None,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// QEMU's exit status (the semihosting SYS_EXIT status), `None` if killed or signalled.
    pub status: Option<i32>,
    /// True if the timeout fired and QEMU was killed.
    pub timed_out: bool,
    /// True if QEMU was killed because the console showed `RunOptions::kill_on`.
    pub killed_on_text: bool,
    /// Everything QEMU printed on its console (all UARTs) and stderr.
    pub console: String,
}

impl RunOutcome {
    /// Returns the "N passed, N failed" line of the normal-world driver, if it printed one.
    pub fn summary(&self) -> Option<(u32, u32)> {
        parse_summary(&self.console)
    }
}

/// Finds the last line that is exactly "N passed, N failed" (the driver's final line).
pub fn parse_summary(console: &str) -> Option<(u32, u32)> {
    console.lines().rev().find_map(|line| {
        let line = line.trim_end_matches('\r');
        let (p, f) = line.split_once(" passed, ")?;
        let f = f.strip_suffix(" failed")?;
        Some((p.parse().ok()?, f.parse().ok()?))
    })
}

/// The QEMU arguments for `opts` (without the binary).
pub fn command_line(opts: &RunOptions) -> Vec<String> {
    let mut args: Vec<String> = [
        "-machine",
        "sbsa-ref",
        "-cpu",
        &opts.cpu,
        "-smp",
        &opts.smp.to_string(),
        "-m",
        &opts.memory_mib.to_string(),
        "-nodefaults",
        "-display",
        "none",
        "-monitor",
        "none",
        // One console for the non-secure UART (monitor, NS driver) and both secure UARTs
        // (SPMC): sbsa-ref wires serial 0/1/2 to 0x6000_0000, 0x6003_0000, 0x6004_0000.
        "-chardev",
        "stdio,mux=on,id=con,signal=off",
        "-serial",
        "chardev:con",
        "-serial",
        "chardev:con",
        "-serial",
        "chardev:con",
        "-semihosting-config",
        "enable=on,target=native",
        "-drive",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(format!(
        "if=pflash,unit=0,format=raw,file={}",
        opts.flash.display()
    ));
    if opts.icount {
        // One vCPU thread, counters advance with retired instructions: repeatable counts.
        args.extend(["-icount", "shift=0,sleep=off"].map(String::from));
    } else {
        // One host thread for all vCPUs: parked cores spin in WFE, which QEMU does not halt,
        // and the build machines are small.
        args.extend(["-accel", "tcg,thread=single"].map(String::from));
    }
    if opts.gdb {
        args.extend(["-s", "-S"].map(String::from));
    }
    args.extend(opts.extra.iter().cloned());
    args
}

/// The full command as one shell-quotable line, for logs and docs.
pub fn command_string(opts: &RunOptions) -> String {
    let mut s = opts.qemu.display().to_string();
    for a in command_line(opts) {
        s.push(' ');
        s.push_str(&a);
    }
    s
}

/// Copies `src` to our stdout/stderr, the log file and the shared buffer until EOF.
fn pump(mut src: impl Read, to_stderr: bool, log: Arc<Mutex<File>>, buf: Arc<Mutex<Vec<u8>>>) {
    let mut chunk = [0u8; 4096];
    loop {
        let n = match src.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let bytes = &chunk[..n];
        if to_stderr {
            let _ = std::io::stderr().write_all(bytes);
        } else {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(bytes);
            let _ = out.flush();
        }
        if let Ok(mut f) = log.lock() {
            let _ = f.write_all(bytes);
        }
        if let Ok(mut b) = buf.lock() {
            b.extend_from_slice(bytes);
        }
    }
}

/// Runs QEMU to completion or timeout. `Err` only when QEMU cannot be started or the log
/// cannot be written; a hang is an `Ok` outcome with `timed_out`, reported on stderr.
pub fn run(opts: &RunOptions) -> Result<RunOutcome, String> {
    if !opts.flash.exists() {
        return Err(format!(
            "flash image {} does not exist",
            opts.flash.display()
        ));
    }
    let log = File::create(&opts.log)
        .map_err(|e| format!("cannot create the console log {}: {e}", opts.log.display()))?;
    let log = Arc::new(Mutex::new(log));
    let buf = Arc::new(Mutex::new(Vec::new()));
    eprintln!("running: {}", command_string(opts));
    if opts.gdb {
        eprintln!("QEMU waits for gdb on localhost:1234 (target remote :1234)");
    }
    let mut child = Command::new(&opts.qemu)
        .args(command_line(opts))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", opts.qemu.display()))?;
    let out = child.stdout.take().ok_or("QEMU stdout not captured")?;
    let err = child.stderr.take().ok_or("QEMU stderr not captured")?;
    let pumps = [
        {
            let (l, b) = (log.clone(), buf.clone());
            std::thread::spawn(move || pump(out, false, l, b))
        },
        {
            let (l, b) = (log.clone(), buf.clone());
            std::thread::spawn(move || pump(err, true, l, b))
        },
    ];

    let start = Instant::now();
    let mut timed_out = false;
    let mut killed_on_text = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(format!("waiting for QEMU: {e}")),
        }
        if let Some(text) = &opts.kill_on {
            let seen = buf
                .lock()
                .map(|b| b.windows(text.len()).any(|w| w == text.as_bytes()))
                .unwrap_or(false);
            if seen {
                killed_on_text = true;
                let _ = child.kill();
                match child.wait() {
                    Ok(status) => break status,
                    Err(e) => return Err(format!("waiting for the killed QEMU: {e}")),
                }
            }
        }
        if !opts.gdb && start.elapsed() > opts.timeout {
            timed_out = true;
            let _ = child.kill();
            match child.wait() {
                Ok(status) => break status,
                Err(e) => return Err(format!("waiting for the killed QEMU: {e}")),
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    for p in pumps {
        let _ = p.join();
    }
    let console = buf
        .lock()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    if timed_out {
        eprintln!(
            "\nQEMU HANG: no exit after {} s, killed. Console log ({}):\n{}",
            opts.timeout.as_secs(),
            opts.log.display(),
            console
        );
    }
    Ok(RunOutcome {
        status: if timed_out { None } else { status.code() },
        timed_out,
        killed_on_text,
        console,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line_is_found_only_when_exact() {
        let log = "[NS] case a ... ok\r\n3 passed, 1 failed\r\n[EL3] SYSTEM_OFF from core 0, exit status 1\r\n";
        assert_eq!(parse_summary(log), Some((3, 1)));
        assert_eq!(parse_summary("[NS] 3 passed, 1 failed"), None);
        assert_eq!(parse_summary("x passed, 1 failed"), None);
        assert_eq!(parse_summary(""), None);
    }

    #[test]
    fn command_line_has_the_options() {
        let mut o = RunOptions::new(Path::new("/tmp/f.img"), Path::new("/tmp/l.log"));
        o.smp = 2;
        let a = command_line(&o);
        let s = a.join(" ");
        assert!(s.contains("-smp 2"));
        assert!(s.contains("file=/tmp/f.img"));
        assert!(!s.contains("-S"));
        assert!(!s.contains("icount"));
        o.gdb = true;
        o.icount = true;
        let s = command_line(&o).join(" ");
        assert!(s.contains("-s -S"));
        assert!(s.contains("-icount shift=0,sleep=off"));
        assert!(!s.contains("thread=single"));
    }
}
