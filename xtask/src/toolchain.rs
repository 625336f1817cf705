//! Finds (or installs) what cross-building for aarch64-unknown-none and running QEMU need,
//! and builds firmware crates with whichever compiler route this machine has.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Firmware is built without FP/SIMD (like TF-A's and OP-TEE's `-mgeneral-regs-only`): under
/// TF-A nobody saves the FP registers across worlds, so EL3, the SPMC and SPs leave them alone.
pub const TARGET: &str = "aarch64-unknown-none-softfloat";

/// How firmware crates are compiled for `aarch64-unknown-none`.
#[derive(Clone, Debug)]
pub enum Route {
    /// The rustup toolchain has the target installed: plain `cargo build --target`.
    Rustup,
    /// Debian's `rustc-web` + `rust-web-src`: build core/alloc from source (`-Zbuild-std`).
    DebianBuildStd,
}

#[derive(Clone, Debug)]
pub struct Toolchain {
    pub route: Route,
    pub objcopy: PathBuf,
}

/// Debian packages each prerequisite comes from, in install order.
const PACKAGES_BUILD_STD: &[&str] = &[
    "rustc-web",
    "cargo-web",
    "rust-web-src",
    "lld-22",
    "llvm-22",
];
const PACKAGES_QEMU: &[&str] = &["qemu-system-arm", "seabios", "device-tree-compiler"];

fn rustup_has_target() -> bool {
    Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.trim() == TARGET)
        })
        .unwrap_or(false)
}

fn debian_route_present() -> bool {
    Path::new("/usr/bin/rustc").exists()
        && Path::new("/usr/lib/rustlib/src/rust/library/core").exists()
        && find_tool(&["rust-lld"]).is_some()
}

pub fn find_tool(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for name in names {
        for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn dpkg_installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

/// Installs the missing Debian packages (as root), or fails with the exact command to run.
pub fn ensure_packages(pkgs: &[&str], why: &str) -> Result<(), String> {
    let missing: Vec<&str> = pkgs
        .iter()
        .copied()
        .filter(|p| !dpkg_installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let cmd = format!("apt-get update && apt-get install -y {}", missing.join(" "));
    if !is_root() {
        return Err(format!(
            "missing packages for {why}: {}\n  run as root: {cmd}",
            missing.join(" ")
        ));
    }
    eprintln!(
        "xtask: installing {} ({why}) with apt-get",
        missing.join(" ")
    );
    let ok = Command::new("sh")
        .args(["-c", &format!("DEBIAN_FRONTEND=noninteractive {cmd} -qq")])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "apt-get failed installing {}; run: {cmd}",
            missing.join(" ")
        ))
    }
}

/// Picks the compiler route, installing Debian's packages when no route exists.
pub fn ensure_cross() -> Result<Toolchain, String> {
    let route = if rustup_has_target() {
        Route::Rustup
    } else {
        if !debian_route_present() {
            ensure_packages(PACKAGES_BUILD_STD, "building for aarch64-unknown-none")?;
        }
        if !debian_route_present() {
            return Err(
                "no aarch64-unknown-none toolchain: neither the rustup target nor \
                        Debian's rustc-web + rust-web-src + lld is usable"
                    .into(),
            );
        }
        Route::DebianBuildStd
    };
    let objcopy = match find_tool(&["llvm-objcopy-22", "llvm-objcopy", "rust-objcopy"]) {
        Some(p) => p,
        None => {
            ensure_packages(&["llvm-22"], "objcopy to flat binaries")?;
            find_tool(&["llvm-objcopy-22"]).ok_or("llvm-objcopy-22 not found after install")?
        }
    };
    Ok(Toolchain { route, objcopy })
}

/// Makes sure QEMU (sbsa-ref), its VGA BIOS and dtc are present.
pub fn ensure_qemu() -> Result<(), String> {
    ensure_packages(
        PACKAGES_QEMU,
        "running QEMU sbsa-ref and compiling device trees",
    )
}

impl Toolchain {
    pub fn describe(&self) -> &'static str {
        match self.route {
            Route::Rustup => "rustup target aarch64-unknown-none",
            Route::DebianBuildStd => "Debian rustc-web with -Zbuild-std (core, alloc)",
        }
    }

    /// Builds the given firmware packages (release, for aarch64) and returns the target dir.
    pub fn build(
        &self,
        root: &Path,
        packages: &[&str],
        extra_env: &[(&str, String)],
    ) -> Result<PathBuf, String> {
        self.build_with(root, packages, &[], extra_env)
    }

    /// Builds one firmware package with cargo features enabled.
    pub fn build_features(
        &self,
        root: &Path,
        package: &str,
        features: &[&str],
        extra_env: &[(&str, String)],
    ) -> Result<PathBuf, String> {
        self.build_with(root, &[package], features, extra_env)
    }

    /// Builds the package of `manifest` (a Cargo.toml outside this workspace, e.g. an
    /// integrator's SP crate with its own `[workspace]`) into this workspace's firmware target
    /// directory; returns the directory its binaries land in.
    pub fn build_manifest(
        &self,
        manifest: &Path,
        extra_env: &[(&str, String)],
    ) -> Result<PathBuf, String> {
        let root = crate::root();
        self.build_in("build", Some(manifest), &root, &[], &[], extra_env)
    }

    /// Builds firmware packages with cargo features (`package/feature` names) enabled.
    pub fn build_with(
        &self,
        root: &Path,
        packages: &[&str],
        features: &[&str],
        extra_env: &[(&str, String)],
    ) -> Result<PathBuf, String> {
        self.build_in("build", None, root, packages, features, extra_env)
    }

    /// `cargo check` of firmware packages with features, as [`Self::build_with`] would
    /// compile them (same target, profile and target directory, so build scripts and the
    /// standard library are shared with the builds) but without code generation or linking.
    pub fn check_with(
        &self,
        root: &Path,
        packages: &[&str],
        features: &[&str],
        extra_env: &[(&str, String)],
    ) -> Result<(), String> {
        self.build_in("check", None, root, packages, features, extra_env)
            .map(|_| ())
    }

    /// Runs `cargo <verb>` (build or check) for the firmware target in `root`'s workspace,
    /// or for the package of `manifest` (in its own directory, so that its own workspace
    /// applies).
    fn build_in(
        &self,
        verb: &str,
        manifest: Option<&Path>,
        root: &Path,
        packages: &[&str],
        features: &[&str],
        extra_env: &[(&str, String)],
    ) -> Result<PathBuf, String> {
        let target_dir = root.join("target/fw");
        let mut cmd = Command::new("cargo");
        cmd.current_dir(manifest.and_then(Path::parent).unwrap_or(root));
        match self.route {
            Route::Rustup => {
                cmd.arg(verb);
            }
            Route::DebianBuildStd => {
                cmd.env("RUSTC", "/usr/bin/rustc")
                    .env("RUSTC_BOOTSTRAP", "1")
                    .arg(verb)
                    .args([
                        "-Zbuild-std=core,alloc,compiler_builtins",
                        "-Zbuild-std-features=compiler-builtins-mem",
                    ]);
            }
        }
        cmd.args(["--release", "--target", TARGET])
            .arg("--target-dir")
            .arg(&target_dir);
        if let Some(m) = manifest {
            cmd.arg("--manifest-path").arg(m);
        }
        for p in packages {
            cmd.args(["-p", p]);
        }
        if !features.is_empty() {
            cmd.arg("--features").arg(features.join(","));
        }
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        // The host toolchain's variables must not leak into the cross build.
        cmd.env_remove("RUSTFLAGS").env_remove("CARGO_BUILD_TARGET");
        let status = cmd.status().map_err(|e| format!("cargo: {e}"))?;
        if !status.success() {
            let what = match manifest {
                Some(m) => m.display().to_string(),
                None => packages.join(", "),
            };
            return Err(format!(
                "cargo {verb} of {what} for {TARGET} failed (cargo's errors above)"
            ));
        }
        Ok(target_dir.join(TARGET).join("release"))
    }

    /// Turns an ELF into the flat binary that is loaded into memory.
    pub fn objcopy(&self, elf: &Path, bin: &Path) -> Result<(), String> {
        let ok = Command::new(&self.objcopy)
            .args(["-O", "binary"])
            .arg(elf)
            .arg(bin)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            Ok(())
        } else {
            Err(format!("objcopy {} failed", elf.display()))
        }
    }
}

/// Compiles a device tree source to a blob with dtc.
pub fn dtc(src: &Path, out: &Path) -> Result<(), String> {
    let out_s = Command::new("dtc")
        .args(["-I", "dts", "-O", "dtb", "-o"])
        .arg(out)
        .arg(src)
        .output()
        .map_err(|e| format!("dtc: {e}"))?;
    if out_s.status.success() {
        Ok(())
    } else {
        Err(format!(
            "dtc {}: {}",
            src.display(),
            String::from_utf8_lossy(&out_s.stderr)
        ))
    }
}
