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
}
