//! `manifest-tool check|build|pack`: the command-line front of the library.
//! Exit status: 0 success, 1 invalid input (message `file: node: rule: detail`), 2 usage.
#![forbid(unsafe_code)]

use manifest_tool::{BuildRequest, Platform};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage:
  manifest-tool check <sp_layout.json> [--platform qemu-sbsa|fvp|platform.json]
  manifest-tool build <sp_layout.json> --out DIR [--platform qemu-sbsa|fvp|platform.json]
  manifest-tool pack --manifest <x.dts|x.dtb> --image <x.bin> -o <out.pkg>
  manifest-tool uuid <xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx>   (prints the manifest `uuid` cells)

check and build report every error they find, one line each: file: node: rule: detail";

fn usage(msg: &str) -> ExitCode {
    eprintln!("manifest-tool: {msg}\n{USAGE}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        return usage("missing command");
    };
    let mut positional = Vec::new();
    let mut opts: Vec<(String, String)> = Vec::new();
    let mut it = args[1..].iter();
    while let Some(a) = it.next() {
        if a.starts_with('-') {
            let key = match a.as_str() {
                "--platform" | "--out" | "--manifest" | "--image" | "-o" => a.clone(),
                "-h" | "--help" => {
                    println!("{USAGE}");
                    return ExitCode::SUCCESS;
                }
                _ => return usage(&format!("unknown option {a}")),
            };
            let Some(v) = it.next() else {
                return usage(&format!("{key} needs a value"));
            };
            opts.push((key, v.clone()));
        } else {
            positional.push(a.clone());
        }
    }
    let opt = |k: &str| {
        opts.iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let result = match cmd.as_str() {
        "check" | "build" => {
            let [layout] = positional.as_slice() else {
                return usage("expected one sp_layout.json");
            };
            let platform = match Platform::from_arg(
                &opt("--platform").unwrap_or_else(|| "qemu-sbsa".into()),
            ) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(1);
                }
            };
            let layout = PathBuf::from(layout);
            if cmd == "check" {
                manifest_tool::check_all(&layout, &platform).map(|plan| {
                    for w in &plan.warnings {
                        eprintln!("warning: {w}");
                    }
                    println!(
                        "{}: {} SPs valid for {}",
                        layout.display(),
                        plan.sps.len(),
                        platform.name
                    );
                })
            } else {
                let Some(out) = opt("--out") else {
                    return usage("build needs --out DIR");
                };
                let out = PathBuf::from(out);
                manifest_tool::build_all(&BuildRequest {
                    layout: &layout,
                    platform: &platform,
                    out_dir: &out,
                })
                .map(|r| {
                    for w in &r.warnings {
                        eprintln!("warning: {w}");
                    }
                    for f in &r.files {
                        println!("wrote {}", f.display());
                    }
                })
            }
        }
        "pack" => {
            let (Some(m), Some(i), Some(o)) = (opt("--manifest"), opt("--image"), opt("-o")) else {
                return usage("pack needs --manifest, --image and -o");
            };
            if !positional.is_empty() {
                return usage("pack takes no positional arguments");
            }
            manifest_tool::pack(m.as_ref(), i.as_ref())
                .and_then(|bytes| {
                    std::fs::write(&o, bytes)
                        .map_err(|e| manifest_tool::Error::new(&o, "/", "output", e.to_string()))
                        .map(|()| println!("wrote {o}"))
                })
                .map_err(|e| vec![e])
        }
        "uuid" => {
            let [u] = positional.as_slice() else {
                return usage("uuid takes one UUID string");
            };
            match manifest_tool::manifest::parse_uuid(u) {
                Some(id) => {
                    println!("{}", manifest_tool::manifest::uuid_cells(&id));
                    return ExitCode::SUCCESS;
                }
                None => {
                    return usage(&format!(
                        "{u}: not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
                    ))
                }
            }
        }
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => return usage(&format!("unknown command {other}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            if errors.len() > 1 {
                eprintln!("{} errors", errors.len());
            }
            ExitCode::from(1)
        }
    }
}
