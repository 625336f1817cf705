//! The Debian kernels the Linux lanes boot, and what building modules for them takes.
//!
//! - [`Kernel::Stock`]: Debian 12's (and 13's) stock 6.12 from bookworm-security, fetched with
//!   the host's own apt (arm64 enabled with `dpkg --add-architecture arm64`); its FF-A driver is
//!   built out of tree (Debian builds it with CONFIG_ARM_FFA_TRANSPORT off).
//! - [`Kernel::Backports`]: the newest [`BACKPORTS_SERIES`] kernel of Debian 13's
//!   trixie-backports, fetched through a private apt configuration under
//!   target/xtask/linux-backports/apt (its own sources list, state and cache, verified with the
//!   host's Debian archive keyring); the host's /etc/apt is never touched. This kernel ships
//!   arm_ffa as modules (CONFIG_ARM_FFA_TRANSPORT=m), which the lane loads as they are; its
//!   driver speaks FF-A v1.2 and has framework notifications (an SP's FFA_MSG_SEND2 reaches a
//!   module through `fwk_notify_request`).
//!
//! Debian builds trixie's kernels with gcc 14 and trixie's glibc; the host is Debian 12 (gcc
//! 12, glibc 2.36). So for such a kernel the modules are built with the host's
//! aarch64-linux-gnu-gcc, with the kernel configuration's gcc-14-only flags turned off
//! ([`compiler_args`]), and the kbuild host tools that do not run on the host's glibc (modpost)
//! are built from the kernel's own source ([`build_modpost`]). The vermagic (kernel release,
//! SMP, preempt, mod_unload, aarch64) does not name the compiler, and the kernel has
//! CONFIG_MODVERSIONS off, so such modules load.

use super::{output, run};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The trixie-backports kernel series the second lane boots (its newest version at run time).
pub const BACKPORTS_SERIES: &str = "7.3";
/// Where trixie-backports is.
const BACKPORTS_SOURCE: &str = "http://deb.debian.org/debian trixie-backports main";
/// The host's Debian archive keyring (Debian 12's lists the trixie keys).
const ARCHIVE_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// Which Debian kernel a Linux lane boots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// Debian 12's stock 6.12 (bookworm-security): FF-A v1.1 driver, no framework
    /// notifications.
    Stock,
    /// trixie-backports' newest [`BACKPORTS_SERIES`]: FF-A v1.2 driver with framework
    /// notifications.
    Backports,
}

impl Kernel {
    /// The lane's output folder under target/xtask.
    pub fn out_name(self) -> &'static str {
        match self {
            Kernel::Stock => "linux",
            Kernel::Backports => "linux-backports",
        }
    }

    /// How the lane names itself in output lines.
    pub fn lane_name(self) -> String {
        match self {
            Kernel::Stock => "linux".into(),
            Kernel::Backports => format!("linux-{}", BACKPORTS_SERIES),
        }
    }
}

/// A Debian kernel unpacked under target/xtask: what the lane needs of it.
pub struct Tree {
    /// The package version, e.g. `7.3.4-1~bpo13+1`.
    pub version: String,
    /// The kernel ABI name, e.g. `7.3.4+deb13` (the release is `<abi>-arm64`).
    pub abi: String,
    /// The arm64 headers (kbuild's directory for `make -C`).
    pub headers: PathBuf,
    /// The kernel Image (Debian's arm64 `vmlinuz` is an uncompressed Image).
    pub image: PathBuf,
    /// The extracted `linux-source-<series>/drivers` (firmware/arm_ffa, tee/tstee).
    pub drivers: PathBuf,
    /// busybox (static, arm64).
    pub busybox: PathBuf,
    /// The unpacked tree's root.
    pub root: PathBuf,
}

impl Tree {
    /// A module of the Debian kernel, `rel` under `lib/modules/<abi>-arm64/kernel/` (bookworm
    /// ships them under /lib, trixie under /usr/lib), e.g. `drivers/tee/tee.ko.xz`.
    pub fn shipped_module(&self, rel: &str) -> Option<PathBuf> {
        ["lib", "usr/lib"]
            .iter()
            .map(|l| {
                self.root
                    .join(format!("{l}/modules/{}-arm64/kernel", self.abi))
                    .join(rel)
            })
            .find(|p| p.exists())
    }

    /// `CONFIG_<name>` in the kernel's configuration ("y", "m", or None when not set).
    pub fn config(&self, name: &str) -> Result<Option<String>, String> {
        let path = self.headers.join(".config");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(config_value(&text, name))
    }
}

/// `CONFIG_<name>`'s value in a kernel .config text, quotes removed.
pub fn config_value(config: &str, name: &str) -> Option<String> {
    let key = format!("CONFIG_{name}=");
    config
        .lines()
        .find_map(|l| l.strip_prefix(&key))
        .map(|v| v.trim_matches('"').to_string())
}

/// `6.12.118-1~deb12u1` -> `6.12.118+deb12`; `7.3.4-1~bpo13+1` -> `7.3.4+deb13` (a backport's
/// ABI names the distribution it is built for).
pub fn abi_of(version: &str) -> Option<String> {
    let (upstream, debian) = version.split_once('-')?;
    // `1~deb12u1`: the ABI carries the distribution part before the update number.
    let release = debian.split_once('~').map(|(_, r)| r)?;
    if let Some(bpo) = release.strip_prefix("bpo") {
        let n: String = bpo.chars().take_while(|c| c.is_ascii_digit()).collect();
        return (!n.is_empty()).then(|| format!("{upstream}+deb{n}"));
    }
    let dist = release.split('u').next().filter(|d| !d.is_empty())?;
    Some(format!("{upstream}+{dist}"))
}

/// The private apt configuration for trixie-backports under `dir`: its own sources list,
/// lists, cache and (empty) dpkg status, no preferences, the host's Debian archive keyring.
/// Returns the `-o` options every apt call takes.
fn private_apt(dir: &Path) -> Result<Vec<String>, String> {
    for d in [
        "lists/partial",
        "cache/archives/partial",
        "sources.list.d",
        "preferences.d",
    ] {
        std::fs::create_dir_all(dir.join(d)).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let sources = dir.join("sources.list");
    std::fs::write(
        &sources,
        format!("deb [arch=amd64,arm64 signed-by={ARCHIVE_KEYRING}] {BACKPORTS_SOURCE}\n"),
    )
    .map_err(|e| e.to_string())?;
    let status = dir.join("status");
    if !status.exists() {
        std::fs::write(&status, "").map_err(|e| e.to_string())?;
    }
    let p = |x: &str| dir.join(x).display().to_string();
    let mut opts = vec![
        format!("Dir::Etc::SourceList={}", p("sources.list")),
        format!("Dir::Etc::SourceParts={}", p("sources.list.d")),
        format!("Dir::Etc::Preferences={}", p("preferences")),
        format!("Dir::Etc::PreferencesParts={}", p("preferences.d")),
        format!("Dir::State::Lists={}", p("lists")),
        format!("Dir::State::status={}", p("status")),
        format!("Dir::Cache={}", p("cache")),
        "APT::Architecture=amd64".into(),
        "APT::Architectures::=amd64".into(),
        "APT::Architectures::=arm64".into(),
    ];
    if crate::toolchain::is_root() {
        // apt's download sandbox user (_apt) cannot write into target/.
        opts.push("APT::Sandbox::User=root".into());
    }
    Ok(opts
        .into_iter()
        .flat_map(|o| ["-o".to_string(), o])
        .collect())
}

fn apt(opts: &[String], tool: &str) -> Command {
    let mut c = Command::new(tool);
    c.args(opts);
    c
}

/// The candidate version of `package` in the private configuration's lists.
fn candidate(opts: &[String], package: &str) -> Result<Option<String>, String> {
    let policy = output(
        apt(opts, "apt-cache").args(["policy", package]),
        &format!("apt-cache policy {package} (trixie-backports)"),
    )?;
    Ok(policy
        .lines()
        .find_map(|l| l.trim().strip_prefix("Candidate: "))
        .filter(|v| *v != "(none)")
        .map(str::to_string))
}

/// Fetches (once per version; the packages are deleted once unpacked) and unpacks the
/// trixie-backports kernel: the newest
/// `linux-source-<BACKPORTS_SERIES>` version's Image, the arm_ffa and tee modules, headers,
/// kbuild and source (drivers and modpost's sources only), and the host's busybox-static.
pub fn fetch_backports(dir: &Path) -> Result<Tree, String> {
    let apt_dir = dir.join("apt");
    let opts = private_apt(&apt_dir)?;
    let series = BACKPORTS_SERIES;
    let source_pkg = format!("linux-source-{series}");
    // The index is refreshed once a day (a second later run works offline).
    let fresh = std::fs::metadata(apt_dir.join("lists"))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age.as_secs() < 24 * 3600)
        && candidate(&opts, &source_pkg)?.is_some();
    if !fresh {
        eprintln!(
            "xtask: reading Debian's trixie-backports index (apt-get update with a private \
             configuration in {}: its own sources list, lists and cache, the host's archive \
             keyring; /etc/apt is not changed)",
            apt_dir.display()
        );
        run(
            apt(&opts, "apt-get").args(["update", "-qq"]),
            "apt-get update (trixie-backports)",
        )?;
        // apt sets the lists folder's time only when something changed.
        let _ = Command::new("touch").arg(apt_dir.join("lists")).status();
    }
    let version = candidate(&opts, &source_pkg)?.ok_or_else(|| {
        format!("trixie-backports offers no {source_pkg} (BACKPORTS_SERIES in xtask/src/linux/debian.rs)")
    })?;
    let abi = abi_of(&version).ok_or_else(|| format!("unexpected version {version}"))?;
    let debs = dir.join("debs");
    let root = dir.join(format!("root-{abi}"));
    let done = root.join(".unpacked");
    let src_dir = root.join(format!("linux-source-{series}"));
    let tree = Tree {
        headers: root.join(format!("usr/src/linux-headers-{abi}-arm64")),
        image: root.join(format!("usr/lib/modules/{abi}-arm64/vmlinuz.unsigned")),
        drivers: src_dir.join("drivers"),
        busybox: root.join("bin/busybox"),
        root: root.clone(),
        version: version.clone(),
        abi: abi.clone(),
    };
    if done.exists() {
        point_headers_at(&root, &abi)?;
        return Ok(tree);
    }
    std::fs::create_dir_all(&debs).map_err(|e| e.to_string())?;
    let wanted = [
        format!("linux-binary-unsigned-{abi}-arm64:arm64"),
        format!("linux-modules-{abi}-arm64:arm64"),
        format!("linux-headers-{abi}-arm64:arm64"),
        format!("linux-headers-{abi}-common"),
        format!("linux-kbuild-{abi}"),
        source_pkg.clone(),
    ];
    let file_of = |pkg: &str| -> Option<PathBuf> {
        let name = pkg.split(':').next().unwrap_or(pkg);
        std::fs::read_dir(&debs)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name().is_some_and(|n| {
                    let n = n.to_string_lossy();
                    n.starts_with(&format!("{name}_"))
                        && n.contains(&format!("_{}_", version.replace(':', "%3a")))
                })
            })
    };
    let missing: Vec<String> = wanted
        .iter()
        .filter(|p| file_of(p).is_none())
        .map(|p| format!("{p}={version}"))
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "xtask: downloading Debian's trixie-backports arm64 kernel {version} (image, the \
             modules package for arm_ffa and tee, headers, kbuild, source: about 280 MB, once) \
             with apt-get download into {}",
            debs.display()
        );
        run(
            apt(&opts, "apt-get")
                .arg("download")
                .args(&missing)
                .current_dir(&debs),
            "apt-get download (trixie-backports)",
        )?;
    }
    let busybox_deb = super::host_busybox(&debs)?;
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
    let deb = |p: &str| file_of(p).ok_or_else(|| format!("{p}: not downloaded"));
    for p in &wanted[..5] {
        if p.starts_with("linux-modules-") {
            continue;
        }
        run(
            Command::new("dpkg-deb").arg("-x").arg(deb(p)?).arg(&root),
            "dpkg-deb -x",
        )?;
    }
    run(
        Command::new("dpkg-deb")
            .arg("-x")
            .arg(&busybox_deb)
            .arg(&root),
        "dpkg-deb -x",
    )?;
    // Of the 86 MB of modules, the FF-A driver's and the TEE subsystem's.
    let modules = format!("./usr/lib/modules/{abi}-arm64/kernel/drivers");
    pipe_untar(
        &deb(&wanted[1])?,
        None,
        &root,
        &[
            &format!("{modules}/firmware/arm_ffa"),
            &format!("{modules}/tee/tee.ko.xz"),
        ],
    )?;
    eprintln!(
        "xtask: extracting drivers/firmware/arm_ffa, drivers/tee/tstee, scripts/mod and \
         scripts/include from {source_pkg}"
    );
    let top = format!("linux-source-{series}");
    pipe_untar(
        &deb(&source_pkg)?,
        Some(&format!("./usr/src/linux-source-{series}.tar.xz")),
        &root,
        &[
            &format!("{top}/drivers/firmware/arm_ffa"),
            &format!("{top}/drivers/tee/tstee"),
            &format!("{top}/scripts/mod"),
            &format!("{top}/scripts/include"),
        ],
    )?;
    for p in [
        &tree.image,
        &tree.headers.join(".config"),
        &tree.drivers,
        &tree.busybox,
    ] {
        if !p.exists() {
            return Err(format!("after unpacking, {} is missing", p.display()));
        }
    }
    point_headers_at(&root, &abi)?;
    std::fs::write(&done, &version).map_err(|e| e.to_string())?;
    // The unpacked tree is all the lane reads: the 270 MB of packages go (disk is shared), and
    // so do the trees of versions the index has replaced.
    for p in &wanted {
        if let Some(f) = file_of(p) {
            let _ = std::fs::remove_file(f);
        }
    }
    for old in stale_roots(dir, &abi) {
        eprintln!("xtask: removing {} (an older kernel's tree)", old.display());
        let _ = std::fs::remove_dir_all(old);
    }
    Ok(tree)
}

/// The unpacked trees (`root-<abi>`) in `dir` other than `abi`'s.
fn stale_roots(dir: &Path, abi: &str) -> Vec<PathBuf> {
    let keep = format!("root-{abi}");
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.is_dir()
                        && p.file_name().is_some_and(|n| {
                            let n = n.to_string_lossy();
                            n.starts_with("root-") && n != keep
                        })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Extracts `paths` of a .deb's data into `root`, streaming (no copy of the archive on disk);
/// with `inner`, `paths` are inside that .tar.xz member of the package (linux-source).
fn pipe_untar(deb: &Path, inner: Option<&str>, root: &Path, paths: &[&str]) -> Result<(), String> {
    // sh: dpkg-deb --fsys-tarfile DEB | tar -x ... (the paths as positional arguments).
    let script = match inner {
        None => {
            r#"deb=$1 root=$2; shift 2; dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$root" "$@""#
        }
        Some(_) => {
            r#"deb=$1 root=$2 inner=$3; shift 3; dpkg-deb --fsys-tarfile "$deb" | tar -xO "$inner" | tar -xJ -C "$root" "$@""#
        }
    };
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script).arg("sh").arg(deb).arg(root);
    if let Some(i) = inner {
        cmd.arg(i);
    }
    cmd.args(paths);
    run(&mut cmd, &format!("unpacking {}", deb.display()))?;
    for p in paths {
        if !root.join(p).exists() {
            return Err(format!("{}: no {p}", deb.display()));
        }
    }
    Ok(())
}

/// The arm64 headers' Makefile names the headers by their installed paths (`include
/// /usr/src/linux-headers-<abi>-common/Makefile`, and trixie's also `KBUILD_OUTPUT=
/// /usr/src/linux-headers-<abi>-arm64`); points them at the copies under `root`, whatever path
/// they were pointed at before.
pub fn point_headers_at(root: &Path, abi: &str) -> Result<(), String> {
    let hdr = root.join(format!("usr/src/linux-headers-{abi}-arm64/Makefile"));
    let text = std::fs::read_to_string(&hdr).map_err(|e| format!("{}: {e}", hdr.display()))?;
    let fixed = headers_makefile(&text, root, abi);
    if fixed != text {
        std::fs::write(&hdr, fixed).map_err(|e| format!("{}: {e}", hdr.display()))?;
    }
    Ok(())
}

/// The headers' Makefile with its two installed paths under `root`.
fn headers_makefile(text: &str, root: &Path, abi: &str) -> String {
    let common = format!("/usr/src/linux-headers-{abi}-common/Makefile");
    let arch = format!("/usr/src/linux-headers-{abi}-arm64");
    let fixed: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with("include ") && l.ends_with(&common) {
                format!("include {}{common}", root.display())
            } else if l.starts_with("KBUILD_OUTPUT=") && l.ends_with(&arch) {
                format!("KBUILD_OUTPUT={}{arch}", root.display())
            } else {
                l.to_string()
            }
        })
        .collect();
    fixed.join("\n") + "\n"
}

/// What a kernel configuration made with a newer gcc turns on that an older gcc lacks, and
/// what the kernel does instead when its Kconfig finds the older gcc.
struct NewerGcc {
    /// The configuration option (without `CONFIG_`).
    option: &'static str,
    /// How to ask the compiler: a command-line flag (None: the option's own value), or a C
    /// snippet that must compile without warnings.
    probe: Probe,
    /// For the C side, which reads the option from autoconf.h: what the kernel's headers
    /// define when the option is off (an include after compiler_types.h redefines it).
    c_fallback: &'static str,
}

enum Probe {
    Flag(Option<&'static str>),
    Snippet(&'static str),
}

const NEWER_GCC: &[NewerGcc] = &[
    // gcc 14. Makefile: `-fmin-function-alignment=$(CONFIG_FUNCTION_ALIGNMENT)`, else
    // `-falign-functions=`, which gcc drops for cold functions; so include/linux/
    // compiler_types.h defines `__cold` empty unless CONFIG_CC_HAS_SANE_FUNCTION_ALIGNMENT
    // (= this option for gcc). Without that, ftrace finds __init functions misaligned
    // ("Misaligned patch-site") and the module load oopses.
    NewerGcc {
        option: "CC_HAS_MIN_FUNCTION_ALIGNMENT",
        probe: Probe::Flag(Some("-fmin-function-alignment=8")),
        c_fallback: "#undef __cold\n#define __cold\n",
    },
    // gcc 14: `-finline-stringops=memset` (Makefile only).
    NewerGcc {
        option: "CC_OPT_INLINE_MEMSET",
        probe: Probe::Flag(None),
        c_fallback: "",
    },
    // gcc 13: the assume statement attribute (compiler_types.h `__assume`).
    NewerGcc {
        option: "CC_HAS_ASSUME",
        probe: Probe::Snippet("int f(int x) { __attribute__((__assume__(x > 0))); return x; }\n"),
        c_fallback: "#undef __assume\n#define __assume(expr)\n",
    },
];

/// Whether the host's cross gcc accepts `flag` / compiles `snippet` without a warning.
fn cc_accepts(cc: &str, flag: Option<&str>, snippet: &str) -> bool {
    use std::io::Write;
    let child = Command::new(cc)
        .args(["-Werror", "-x", "c", "-c", "-o", "/dev/null", "-"])
        .args(flag)
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        return false;
    };
    if let Some(mut i) = child.stdin.take() {
        let _ = i.write_all(snippet.as_bytes());
    }
    child.wait().is_ok_and(|s| s.success())
}

/// The make arguments that build modules for `tree` with the host's cross compiler: none when
/// the compiler Debian used (CONFIG_CC_VERSION_TEXT's first word, e.g.
/// `aarch64-linux-gnu-gcc-12`) is installed. Otherwise `CC=aarch64-linux-gnu-gcc`, and what
/// the kernel's Kconfig would have chosen for that compiler: each [`NEWER_GCC`] option it
/// fails turned off for the Makefiles (`CONFIG_X=`) and, through `KCFLAGS=-include
/// <tree>/gcc-compat.h`, for the C side (printed once per tree).
pub fn compiler_args(tree: &Tree) -> Result<Vec<String>, String> {
    let cfg_path = tree.headers.join(".config");
    let cfg =
        std::fs::read_to_string(&cfg_path).map_err(|e| format!("{}: {e}", cfg_path.display()))?;
    let debian_cc = config_value(&cfg, "CC_VERSION_TEXT").unwrap_or_default();
    let debian_cc_bin = debian_cc
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    if !debian_cc_bin.is_empty()
        && Command::new(&debian_cc_bin)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    {
        return Ok(Vec::new());
    }
    let cc = "aarch64-linux-gnu-gcc";
    let mut args = vec![format!("CC={cc}")];
    let mut off = Vec::new();
    let mut compat = String::from(
        "/* Written by cargo xtask linux: what include/linux/compiler_types.h defines for a gcc \
         that lacks these options of the kernel's configuration (xtask/src/linux/debian.rs). */\n",
    );
    for n in NEWER_GCC {
        let Some(value) = config_value(&cfg, n.option) else {
            continue;
        };
        let ok = match n.probe {
            Probe::Flag(f) => cc_accepts(cc, Some(f.unwrap_or(&value)), ""),
            Probe::Snippet(s) => cc_accepts(cc, None, s),
        };
        if !ok {
            args.push(format!("CONFIG_{}=", n.option));
            compat += n.c_fallback;
            off.push(format!("CONFIG_{}", n.option));
        }
    }
    let header = tree.root.join("gcc-compat.h");
    std::fs::write(&header, &compat).map_err(|e| format!("{}: {e}", header.display()))?;
    args.push(format!("KCFLAGS=-include {}", header.display()));
    let marker = tree.root.join(".compiler-noted");
    if !marker.exists() {
        eprintln!(
            "xtask: Debian built {} with `{debian_cc}`, which this host lacks: building its \
             modules with the host's {cc}{}",
            tree.abi,
            if off.is_empty() {
                String::new()
            } else {
                format!(
                    ", with what the kernel does for a gcc without {}",
                    off.join(", ")
                )
            }
        );
        let _ = std::fs::write(&marker, "");
    }
    Ok(args)
}

/// Whether a kbuild host program runs on this host (trixie's are linked against glibc 2.38+).
fn host_tool_runs(tool: &Path) -> bool {
    match Command::new(tool).output() {
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            !(err.contains("version `GLIBC_") && err.contains("not found"))
        }
        Err(_) => false,
    }
}

/// The kbuild tree's modpost the build runs (Debian's `scripts/mod/modpost` is a wrapper that
/// runs `modpost.real-lsb-64` for a little-endian 64-bit kernel).
fn kbuild_modpost(tree: &Tree) -> PathBuf {
    let scripts = tree.headers.join("scripts/mod");
    let real = scripts.join("modpost.real-lsb-64");
    if real.exists() {
        real
    } else {
        scripts.join("modpost")
    }
}

/// Makes the tree's kbuild host tools runnable: fixdep must run as shipped; modpost, if it
/// does not (trixie's glibc), is built from the kernel's source with the host gcc, as the
/// kernel's scripts/mod/Makefile does: devicetable-offsets.h from devicetable-offsets.s (the
/// target compiler, through kbuild) and elfconfig.h from mk_elfconfig over an empty target
/// object, then modpost.c, file2alias.c, sumversion.c, symsearch.c. `make_args` are
/// [`compiler_args`]'s.
pub fn ensure_host_tools(tree: &Tree, make_args: &[String], work: &Path) -> Result<(), String> {
    let fixdep = tree.headers.join("scripts/basic/fixdep");
    if !host_tool_runs(&fixdep) {
        return Err(format!(
            "{} does not run on this host (built for a newer glibc)",
            fixdep.display()
        ));
    }
    let modpost = kbuild_modpost(tree);
    if host_tool_runs(&modpost) {
        return Ok(());
    }
    let built = tree.root.join(".modpost-built");
    if built.exists() {
        return Err(format!(
            "{} was rebuilt from source but still does not run",
            modpost.display()
        ));
    }
    let src = tree.drivers.parent().ok_or("no source tree")?;
    eprintln!(
        "xtask: {}'s modpost needs a newer glibc than this host's: building it from {} with \
         the host gcc",
        tree.abi,
        src.display()
    );
    // devicetable-offsets.s and empty.o: target objects, through kbuild.
    let gen = work.join("modpost");
    let _ = std::fs::remove_dir_all(&gen);
    std::fs::create_dir_all(&gen).map_err(|e| e.to_string())?;
    for f in ["devicetable-offsets.c", "empty.c"] {
        std::fs::copy(src.join("scripts/mod").join(f), gen.join(f))
            .map_err(|e| format!("{f}: {e}"))?;
    }
    std::fs::write(gen.join("Kbuild"), "").map_err(|e| e.to_string())?;
    run(
        Command::new("make")
            .arg("-s")
            .arg("-C")
            .arg(&tree.headers)
            .arg(format!("M={}", gen.display()))
            .args([
                "ARCH=arm64",
                "CROSS_COMPILE=aarch64-linux-gnu-",
                "CONFIG_DEBUG_INFO_BTF_MODULES=",
            ])
            .args(make_args)
            .args(["devicetable-offsets.s", "empty.o"]),
        "kbuild: devicetable-offsets.s, empty.o",
    )?;
    let asm =
        std::fs::read_to_string(gen.join("devicetable-offsets.s")).map_err(|e| e.to_string())?;
    std::fs::write(
        gen.join("devicetable-offsets.h"),
        offsets_header(&asm, "__DEVICETABLE_OFFSETS_H__"),
    )
    .map_err(|e| e.to_string())?;
    run(
        Command::new("gcc")
            .args(["-O2", "-o"])
            .arg(gen.join("mk_elfconfig"))
            .arg(src.join("scripts/mod/mk_elfconfig.c")),
        "gcc mk_elfconfig",
    )?;
    let empty = std::fs::File::open(gen.join("empty.o")).map_err(|e| e.to_string())?;
    let elfconfig = Command::new(gen.join("mk_elfconfig"))
        .stdin(empty)
        .output()
        .map_err(|e| format!("mk_elfconfig: {e}"))?;
    if !elfconfig.status.success() {
        return Err("mk_elfconfig failed".into());
    }
    std::fs::write(gen.join("elfconfig.h"), &elfconfig.stdout).map_err(|e| e.to_string())?;
    // modpost's sources include "../../include/linux/..." (their own tree's); the headers'
    // include/ is that tree's, so a copy of scripts/ next to a link to it resolves them.
    let stage = gen.join("tree");
    std::fs::create_dir_all(stage.join("scripts")).map_err(|e| e.to_string())?;
    run(
        Command::new("cp")
            .arg("-r")
            .arg(src.join("scripts/mod"))
            .arg(src.join("scripts/include"))
            .arg(stage.join("scripts")),
        "cp scripts",
    )?;
    let common = tree
        .root
        .join(format!("usr/src/linux-headers-{}-common/include", tree.abi));
    std::os::unix::fs::symlink(&common, stage.join("include")).map_err(|e| e.to_string())?;
    let m = stage.join("scripts/mod");
    let out = gen.join("modpost-host");
    run(
        Command::new("gcc")
            .args(["-O2", "-I"])
            .arg(&gen)
            .arg("-I")
            .arg(stage.join("scripts/include"))
            .arg("-o")
            .arg(&out)
            .args(["modpost.c", "file2alias.c", "sumversion.c", "symsearch.c"].map(|f| m.join(f))),
        "gcc modpost",
    )?;
    // Replaces the unrunnable binary in the unpacked kbuild tree (never the host's).
    let _ = std::fs::remove_file(&modpost);
    std::fs::copy(&out, &modpost).map_err(|e| format!("{}: {e}", modpost.display()))?;
    std::fs::write(&built, "").map_err(|e| e.to_string())?;
    if !host_tool_runs(&modpost) {
        return Err(format!("{} does not run", modpost.display()));
    }
    Ok(())
}

/// Kbuild's `filechk_offsets`: the `.ascii "->NAME VALUE comment"` lines of a compiled offsets
/// file as `#define NAME VALUE`.
fn offsets_header(asm: &str, guard: &str) -> String {
    let mut out = format!("#ifndef {guard}\n#define {guard}\n");
    for l in asm.lines() {
        let Some(rest) = l.trim_start().strip_prefix(".ascii") else {
            continue;
        };
        let Some(inner) = rest.trim_start().strip_prefix("\"->") else {
            continue;
        };
        let inner = inner.split('"').next().unwrap_or_default();
        let mut words = inner.split_whitespace();
        if let (Some(name), Some(value)) = (words.next(), words.next()) {
            let value = value.trim_start_matches(['$', '#']);
            out += &format!("#define {name} {value}\n");
        }
    }
    out + "#endif\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_names_follow_debian() {
        assert_eq!(
            abi_of("6.12.118-1~deb12u1").as_deref(),
            Some("6.12.118+deb12")
        );
        assert_eq!(
            abi_of("6.12.41-1~deb12u1").as_deref(),
            Some("6.12.41+deb12")
        );
        assert_eq!(abi_of("7.3.4-1~bpo13+1").as_deref(), Some("7.3.4+deb13"));
        assert_eq!(abi_of("7.2.12-1~bpo13+1").as_deref(), Some("7.2.12+deb13"));
        assert_eq!(abi_of("6.12"), None);
        assert_eq!(abi_of("7.3.4-1~bpo+1"), None);
    }

    #[test]
    fn offsets_become_defines() {
        let asm = "\t.ascii \"->SIZE_usb_device_id 32 sizeof(struct usb_device_id)\"\t//\n\
                   \tmov x0, x1\n\
                   \t.ascii \"->OFF_usb_device_id_idVendor #2 offsetof(struct usb_device_id, idVendor)\"\n\
                   \t.ascii \"->\"\n";
        assert_eq!(
            offsets_header(asm, "G"),
            "#ifndef G\n#define G\n#define SIZE_usb_device_id 32\n\
             #define OFF_usb_device_id_idVendor 2\n#endif\n"
        );
    }

    #[test]
    fn headers_makefile_points_into_the_tree() {
        let root = Path::new("/t/root");
        let trixie = "KBUILD_OUTPUT=/usr/src/linux-headers-7.3.4+deb13-arm64\n\
                      include /usr/src/linux-headers-7.3.4+deb13-common/Makefile\n";
        let fixed = headers_makefile(trixie, root, "7.3.4+deb13");
        assert_eq!(
            fixed,
            "KBUILD_OUTPUT=/t/root/usr/src/linux-headers-7.3.4+deb13-arm64\n\
             include /t/root/usr/src/linux-headers-7.3.4+deb13-common/Makefile\n"
        );
        // Already pointed somewhere else (a copied target/): pointed here again.
        let moved = headers_makefile(&fixed, Path::new("/u"), "7.3.4+deb13");
        assert!(moved.contains("KBUILD_OUTPUT=/u/usr/src/linux-headers-7.3.4+deb13-arm64\n"));
        assert!(moved.contains("include /u/usr/src/linux-headers-7.3.4+deb13-common/Makefile\n"));
        let bookworm = "include /usr/src/linux-headers-6.12.118+deb12-common/Makefile\n";
        assert_eq!(
            headers_makefile(bookworm, root, "6.12.118+deb12"),
            "include /t/root/usr/src/linux-headers-6.12.118+deb12-common/Makefile\n"
        );
    }

    #[test]
    fn only_other_versions_trees_are_stale() {
        let dir = std::env::temp_dir().join(format!("xtask-stale-roots-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for d in ["root-7.3.4+deb13", "root-7.3.5+deb13", "apt", "debs"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        std::fs::write(dir.join("root-file"), "").unwrap();
        let stale = stale_roots(&dir, "7.3.5+deb13");
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(stale, vec![dir.join("root-7.3.4+deb13")]);
    }

    #[test]
    fn config_values() {
        let cfg = "CONFIG_ARM_FFA_TRANSPORT=m\n# CONFIG_ARM_TSTEE is not set\n\
                   CONFIG_CC_VERSION_TEXT=\"aarch64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0\"\n";
        assert_eq!(config_value(cfg, "ARM_FFA_TRANSPORT").as_deref(), Some("m"));
        assert_eq!(config_value(cfg, "ARM_TSTEE"), None);
        assert_eq!(
            config_value(cfg, "CC_VERSION_TEXT").as_deref(),
            Some("aarch64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0")
        );
    }
}
