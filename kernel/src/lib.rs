//! The SPMC kernel. Everything outside `arch` is plain Rust that runs in host tests.
//!
//! `unsafe` is confined to the machine layer: `arch` (all `asm!`), and the target-only `boot`
//! (MMU enable, the manifest's physical bytes) and `platform` (MMIO, link-script symbols).
//! Every other module is `#![forbid(unsafe_code)]`, which the test below keeps true for
//! modules added later.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]

extern crate alloc;

pub mod arch;
#[cfg(target_os = "none")]
pub mod boot;
pub mod console;
#[cfg(target_os = "none")]
pub mod machine;
pub mod mem_share;
pub mod memory;
#[cfg(target_os = "none")]
pub mod platform;
pub mod policy;
pub mod spmc;
pub mod spmc_manifest;
pub mod sync;

#[cfg(test)]
mod tests {
    /// Every module of this crate except the machine layer forbids `unsafe`.
    #[test]
    fn every_module_above_arch_forbids_unsafe_code() {
        let lib = include_str!("lib.rs");
        let sources: &[(&str, &str)] = &[
            ("console", include_str!("console.rs")),
            ("machine", include_str!("machine.rs")),
            ("mem_share", include_str!("mem_share.rs")),
            ("memory", include_str!("memory.rs")),
            ("policy", include_str!("policy.rs")),
            ("spmc", include_str!("spmc.rs")),
            ("spmc_manifest", include_str!("spmc_manifest.rs")),
            ("sync", include_str!("sync.rs")),
        ];
        let machine = ["arch", "boot", "platform"];
        let mut checked = 0;
        for line in lib.lines().filter(|l| l.starts_with("pub mod ")) {
            let name = line.trim_start_matches("pub mod ").trim_end_matches(';');
            if machine.contains(&name) {
                continue;
            }
            let Some((_, src)) = sources.iter().find(|(n, _)| *n == name) else {
                panic!("module {name} is not checked here: add it (with forbid(unsafe_code))");
            };
            assert!(
                src.lines().any(|l| l.trim() == "#![forbid(unsafe_code)]"),
                "module {name} does not forbid unsafe code"
            );
            checked += 1;
        }
        assert_eq!(checked, sources.len());
    }

    extern crate std;
    use alloc::string::{String, ToString};
    use alloc::vec::Vec;
    use std::collections::{BTreeMap, BTreeSet};

    use crate::spmc::tests::import_graph::{circle_through, imports};

    /// The crate's top-level modules and, for each, the other top-level modules its sources
    /// name as `crate::name` (a module's folder included, its test code not).
    fn top_level_graph() -> BTreeMap<String, BTreeSet<String>> {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
        let modules: BTreeSet<String> = lib
            .lines()
            .filter_map(|l| l.strip_prefix("pub mod "))
            .map(|l| l.trim_end_matches(';').to_string())
            .collect();
        let mut graph = BTreeMap::new();
        for m in &modules {
            let mut files = Vec::from([src.join(std::format!("{m}.rs"))]);
            let mut dirs = Vec::from([src.join(m)]);
            while let Some(d) = dirs.pop() {
                for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        if p.file_name().is_some_and(|n| n != "tests") {
                            dirs.push(p);
                        }
                    } else if p.extension().is_some_and(|x| x == "rs") {
                        files.push(p);
                    }
                }
            }
            let mut out = BTreeSet::new();
            for f in files {
                let text = std::fs::read_to_string(&f).unwrap_or_default();
                out.extend(imports(&text, &modules, m, &["crate::"]));
            }
            graph.insert(m.clone(), out);
        }
        graph
    }

    /// The arch layer is the bottom of the kernel: it imports no kernel logic (the console's
    /// fault report is handed in at boot, the `Env` implementation lives in `machine`), only
    /// `sync`, which imports nothing; and the top-level modules import each other without a
    /// circle.
    #[test]
    fn the_arch_layer_imports_no_logic_and_the_modules_no_circle() {
        let graph = top_level_graph();
        // The parser sees the edges it must (a check that cannot pass vacuously).
        assert!(graph["spmc"].contains("arch"), "{:?}", graph["spmc"]);
        assert!(graph["machine"].contains("spmc"), "{:?}", graph["machine"]);
        let arch: Vec<&String> = graph["arch"].iter().collect();
        assert_eq!(arch, ["sync"], "arch imports {arch:?}");
        assert!(graph["sync"].is_empty(), "{:?}", graph["sync"]);
        for from in graph.keys() {
            if let Some(c) = circle_through(&graph, from) {
                panic!("import circle: {}", c.join(" -> "));
            }
        }
    }
}
