//! The build-variants lane of `cargo xtask test`: everything xtask's other commands compile
//! that the test's own images do not, compiled here (`cargo check`, no code generation or
//! boot), one counted check each. Session 5: a compile error in qemu/ns-driver's `bench`-only
//! code passed the full test and broke `cargo xtask bench`.
//!
//! The commands take their package and feature sets from the constants here, and
//! [`CHECKED`] lists them, so that a variant cannot be built by a command and left out of
//! the test (tests below).

use crate::layout::{LayoutRef, Target};
use crate::toolchain::Toolchain;
use std::path::Path;
use std::process::Command;

/// Firmware packages with features, as `Toolchain::build_with` compiles them for aarch64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Firmware {
    pub packages: &'static [&'static str],
    /// Cargo features (`feature` for a single package, else `package/feature`).
    pub features: &'static [&'static str],
    /// The SPMC crates include the partition table of their platform's default SP set
    /// (`SPMC_TABLE_DIR`); `None` for crates without one.
    pub table: Option<Target>,
}

/// A variant of the lane: firmware for aarch64, or a host workspace of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Firmware(Firmware),
    /// `cargo <args>` in this directory (relative to the repository root), with its output in
    /// `target/<target_dir>` of the main workspace.
    Workspace {
        dir: &'static str,
        args: &'static [&'static str],
        target_dir: &'static str,
    },
}

/// The normal-world driver of `cargo xtask bench` (qemu/ns-driver/src/bench.rs).
pub const NS_BENCH: Firmware = Firmware {
    packages: &["ns-driver"],
    features: &["bench"],
    table: None,
};

/// The sbsa-ref SPMC as it ships, without the test images' state checker
/// (`cargo xtask bench` and `cargo xtask bl32`).
pub const SPMC_PRODUCT: Firmware = Firmware {
    packages: &["spmc-sbsa"],
    features: &[],
    table: Some(Target::Qemu),
};

/// The Base FVP SPMC (`cargo xtask fvp`).
pub const SPMC_FVP: Firmware = Firmware {
    packages: &["spmc-fvp"],
    features: &[],
    table: Some(Target::Fvp),
};

/// ffa-abi's cargo-fuzz targets (a workspace of their own, ffa-abi/fuzz). Rust only:
/// without the default feature libfuzzer-sys does not compile libFuzzer's C++.
pub const FUZZ_TARGETS: Variant = Variant::Workspace {
    dir: "ffa-abi/fuzz",
    args: &["check", "--bins", "--no-default-features"],
    target_dir: "fuzz-check",
};

/// What the lane compiles, in order.
pub const CHECKED: &[(&str, Variant)] = &[
    (
        "ns-driver with `bench` (cargo xtask bench)",
        Variant::Firmware(NS_BENCH),
    ),
    (
        "spmc-sbsa without state-check (cargo xtask bench, bl32)",
        Variant::Firmware(SPMC_PRODUCT),
    ),
    ("spmc-fvp (cargo xtask fvp)", Variant::Firmware(SPMC_FVP)),
    ("ffa-abi fuzz targets (cargo fuzz)", FUZZ_TARGETS),
];

/// Compiles one variant.
fn check(tc: &Toolchain, root: &Path, v: &Variant) -> Result<(), String> {
    match v {
        Variant::Firmware(fw) => {
            let mut env = Vec::new();
            if let Some(target) = fw.table {
                // The table of the platform's default set, where the builds of the other
                // commands put it (written only when it changes, so no rebuild follows).
                let lref = LayoutRef::new(None, target)?;
                let table = lref.out.join("table");
                crate::prepare_sps(tc, &lref, target, &table)?;
                env.push(("SPMC_TABLE_DIR", table.display().to_string()));
            }
            tc.check_with(root, fw.packages, fw.features, &env)
        }
        Variant::Workspace {
            dir,
            args,
            target_dir,
        } => check_workspace(&root.join(dir), args, &root.join("target").join(target_dir)),
    }
}

/// `cargo <args>` in `dir` with `--target-dir target_dir`.
fn check_workspace(dir: &Path, args: &[&str], target_dir: &Path) -> Result<(), String> {
    let status = Command::new("cargo")
        .current_dir(dir)
        .args(args)
        .arg("--target-dir")
        .arg(target_dir)
        .status()
        .map_err(|e| format!("cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "cargo {} in {} failed (cargo's errors above)",
            args.join(" "),
            dir.display()
        ))
    }
}

/// Compiles every variant of [`CHECKED`]; returns (passed, failed).
pub fn run_lane(tc: &Toolchain) -> (u32, u32) {
    crate::step("build variants of the other commands (cargo check)");
    let root = crate::root();
    let (mut passed, mut failed) = (0, 0);
    for (what, v) in CHECKED {
        match check(tc, &root, v) {
            Ok(()) => {
                passed += 1;
                eprintln!("variants: {what} ... ok");
            }
            Err(e) => {
                failed += 1;
                eprintln!("variants: {what} ... FAILED: {e}");
            }
        }
    }
    eprintln!("variants: {passed} passed, {failed} failed");
    (passed, failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each variant a command builds is in the lane (the commands use these constants).
    #[test]
    fn every_variant_the_commands_build_is_checked() {
        for v in [
            Variant::Firmware(NS_BENCH),
            Variant::Firmware(SPMC_PRODUCT),
            Variant::Firmware(SPMC_FVP),
            FUZZ_TARGETS,
        ] {
            assert!(
                CHECKED.iter().any(|(_, c)| *c == v),
                "{v:?} is built by a command but not checked by cargo xtask test"
            );
        }
    }

    /// The `[features]` of a Cargo.toml: the keys of that table.
    fn features(manifest: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut inside = false;
        for line in manifest.lines().map(str::trim) {
            if line.starts_with('[') {
                inside = line == "[features]";
            } else if inside && !line.starts_with('#') {
                if let Some((key, _)) = line.split_once('=') {
                    out.push(key.trim().to_string());
                }
            }
        }
        out
    }

    /// Every cargo feature of a firmware crate is compiled by `cargo xtask test`: in the test
    /// images (the SPMC's state checker), in this lane, or only read through `cfg!()`, whose
    /// both branches every build compiles. A new feature fails this until it is covered.
    #[test]
    fn every_feature_of_the_firmware_crates_is_compiled_by_the_test() {
        // Features read only by `cfg!()` (qemu/spmc-sbsa/src/main.rs, platform-fvp/src/main.rs).
        const CFG_MACRO_ONLY: &[&str] = &["spmc-sbsa/tf-a-pre-2-14", "spmc-fvp/tf-a-pre-2-14"];
        let root = crate::root();
        let mut uncovered = Vec::new();
        for (package, dir) in [
            ("ns-driver", "qemu/ns-driver"),
            ("qemu-monitor", "qemu/monitor"),
            ("spmc-sbsa", "qemu/spmc-sbsa"),
            ("spmc-fvp", "platform-fvp"),
        ] {
            let manifest = std::fs::read_to_string(root.join(dir).join("Cargo.toml")).unwrap();
            for f in features(&manifest) {
                let full = format!("{package}/{f}");
                let in_lane = CHECKED.iter().any(|(_, v)| match v {
                    Variant::Firmware(fw) => {
                        fw.features.contains(&full.as_str())
                            || (fw.packages == [package] && fw.features.contains(&f.as_str()))
                    }
                    Variant::Workspace { .. } => false,
                });
                if !(in_lane
                    || crate::SPMC_TEST_FEATURES.contains(&full.as_str())
                    || CFG_MACRO_ONLY.contains(&full.as_str()))
                {
                    uncovered.push(full);
                }
            }
        }
        assert!(
            uncovered.is_empty(),
            "features no part of cargo xtask test compiles: {uncovered:?}"
        );
        // The parser sees the features that are there.
        let sbsa = std::fs::read_to_string(root.join("qemu/spmc-sbsa/Cargo.toml")).unwrap();
        assert_eq!(features(&sbsa), ["tf-a-pre-2-14", "state-check"]);
    }

    #[test]
    fn a_workspace_that_does_not_compile_fails_its_check() {
        let dir = std::env::temp_dir().join(format!("xtask-variants-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            "[package]\nname = \"variant-probe\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[workspace]\n",
        )
        .unwrap();
        let target = dir.join("target");
        std::fs::write(dir.join("src/lib.rs"), "pub fn f() -> u32 { \"no\" }\n").unwrap();
        let broken = check_workspace(&dir, &["check"], &target);
        std::fs::write(dir.join("src/lib.rs"), "pub fn f() -> u32 { 1 }\n").unwrap();
        let fixed = check_workspace(&dir, &["check"], &target);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(broken.is_err());
        assert_eq!(fixed, Ok(()));
    }
}
