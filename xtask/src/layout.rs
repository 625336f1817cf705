//! SP sets ("layouts") as xtask builds them: `cargo xtask qemu|test|bl32|fvp|call --layout
//! FILE`. A layout is manifest-tool's `sp_layout.json` plus two keys only xtask reads:
//!
//! - `"crate": "<dir>"`: the SP is the Cargo package in `<dir>` (relative to the layout file).
//!   xtask builds it for aarch64, linked for the entry's `pm` (it sets
//!   `SP_RT_MANIFEST_<CRATE>` for sp-rt's build script), checks the ELF against the address
//!   manifest-tool places it at, and writes the flat image into this layout's own output
//!   folder. A package inside this workspace is built as a member; one outside it with
//!   `--manifest-path` (it needs its own `[workspace]`; checked by
//!   `integrator_external_sp_crate`).
//! - `"pack": true` (with `crate`): hand the SP to the SPMC as an SPKG package (`pm` +
//!   image), as TF-A's sptool would.
//!
//! Entries without `crate` are prebuilt: `image` + `pm`, or `package`, as manifest-tool reads
//! them. An `image` that is an ELF file is converted to a flat binary and checked like a built
//! one. The result is a resolved layout with absolute paths and no xtask keys, in the output
//! folder: `target/xtask/<platform>/<layout name>/sp_layout.json`, which manifest-tool compiles.
//! Outputs of one platform or layout never overwrite another's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::toolchain::Toolchain;

/// The platform a layout is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Qemu,
    Fvp,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Qemu => "qemu",
            Target::Fvp => "fvp",
        }
    }

    pub fn platform(self) -> manifest_tool::Platform {
        match self {
            Target::Qemu => manifest_tool::Platform::qemu_sbsa(),
            Target::Fvp => manifest_tool::Platform::fvp(),
        }
    }
}

/// A layout to build: its file and the folder its outputs go to.
#[derive(Clone, Debug)]
pub struct LayoutRef {
    /// The layout as the user wrote it.
    pub file: PathBuf,
    /// Its name in output paths and in the driver's run configuration: `default` for the
    /// platform's default set, else the file stem.
    pub name: String,
    /// True for the platform's default set.
    pub is_default: bool,
    /// `target/xtask/<platform>/<name>/`.
    pub out: PathBuf,
}

impl LayoutRef {
    /// The layout for `--layout` (`None`: the platform's default set).
    pub fn new(arg: Option<&Path>, target: Target) -> Result<Self, String> {
        let root = crate::root();
        let default = match target {
            Target::Qemu => root.join("partitions/sp_layout.json"),
            Target::Fvp => root.join("platform-fvp/sp_layout.json"),
        };
        let (file, is_default) = match arg {
            None => (default, true),
            Some(p) => {
                let p = std::env::current_dir()
                    .map(|d| d.join(p))
                    .unwrap_or_else(|_| p.to_path_buf());
                if !p.is_file() {
                    return Err(format!("--layout {}: no such file", p.display()));
                }
                let same = p.canonicalize().ok() == default.canonicalize().ok();
                (p, same)
            }
        };
        let name = if is_default {
            "default".to_string()
        } else {
            // `counter/layout.json` is "counter"; `my_set.json` is "my_set".
            let mut stem = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "layout".into());
            if stem == "layout" || stem == "sp_layout" {
                if let Some(parent) = file.parent().and_then(|p| p.file_name()) {
                    stem = parent.to_string_lossy().into_owned();
                }
            }
            let clean: String = stem
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            if clean == "default" {
                "default-layout".into()
            } else {
                clean
            }
        };
        let out = crate::out_dir().join(target.name()).join(&name);
        Ok(Self {
            file,
            name,
            is_default,
            out,
        })
    }
}

/// Tells whether a Cargo.toml has a `[workspace]` table of its own (a workspace root).
fn declares_workspace(manifest: &str) -> bool {
    manifest
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .any(|l| l == "[workspace]" || l.starts_with("[workspace."))
}

/// One SP whose image xtask has as an ELF (built from a crate, or given as an ELF file).
#[derive(Clone, Debug)]
pub struct SpElf {
    /// The layout key.
    pub name: String,
    /// The ELF (copied into the output folder, for gdb).
    pub elf: PathBuf,
    /// Where it came from, for messages.
    pub origin: String,
}

/// What [`resolve`] produced.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The resolved layout (absolute paths, no xtask keys).
    pub file: PathBuf,
    /// SPs with an ELF, to check against the placement and to give gdb.
    pub elfs: Vec<SpElf>,
}

/// An error about the layout: `file: /key/sub: detail`, like manifest-tool's.
fn at(layout: &Path, key: &str, detail: impl std::fmt::Display) -> String {
    format!("{}: {key}: {detail}", layout.display())
}

const ELF_MAGIC: &[u8; 4] = b"\x7fELF";

fn is_elf(path: &Path) -> bool {
    use std::io::Read;
    let mut m = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut m))
        .is_ok_and(|()| &m == ELF_MAGIC)
}

/// The `[package] name` of the Cargo.toml in `dir`.
pub fn package_name(dir: &Path) -> Result<String, String> {
    let toml = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&toml).map_err(|e| format!("{}: {e}", toml.display()))?;
    let mut in_package = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if in_package {
            if let Some(rest) = line.strip_prefix("name") {
                if let Some(v) = rest.trim_start().strip_prefix('=') {
                    return Ok(v.trim().trim_matches('"').to_string());
                }
            }
        }
    }
    Err(format!("{}: no [package] name", toml.display()))
}

/// A crate to build for one layout entry.
struct CrateBuild {
    key: String,
    dir: PathBuf,
    package: String,
    manifest: PathBuf,
    pack: bool,
}

/// Builds what the layout's `crate` entries name, converts ELF images, and writes the resolved
/// layout into `lref.out`.
pub fn resolve(tc: &Toolchain, lref: &LayoutRef) -> Result<Resolved, String> {
    let layout = &lref.file;
    let text = std::fs::read_to_string(layout).map_err(|e| format!("{}: {e}", layout.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| at(layout, "/", format!("json-syntax: {e}")))?;
    let Some(obj) = json.as_object() else {
        return Err(at(layout, "/", "json-shape: expected an object of SPs"));
    };
    let dir = layout.parent().unwrap_or(Path::new(".")).to_path_buf();
    let sp_dir = lref.out.join("sp");
    std::fs::create_dir_all(&sp_dir).map_err(|e| format!("{}: {e}", sp_dir.display()))?;

    let mut resolved = serde_json::Map::new();
    let mut builds = Vec::new();
    let mut elfs = Vec::new();
    let mut errors = Vec::new();
    for (key, entry) in obj {
        let node = format!("/{key}");
        let Some(e) = entry.as_object() else {
            // manifest-tool reports the shape.
            resolved.insert(key.clone(), entry.clone());
            continue;
        };
        let mut e = e.clone();
        let abs = |v: &serde_json::Value| -> serde_json::Value {
            match v {
                serde_json::Value::String(s) if s != "sp_pkg" && s != "tl_pkg" => {
                    serde_json::Value::String(dir.join(s).display().to_string())
                }
                serde_json::Value::Object(o) => {
                    let mut o = o.clone();
                    if let Some(serde_json::Value::String(f)) = o.get("file") {
                        let f = dir.join(f).display().to_string();
                        o.insert("file".into(), f.into());
                    }
                    serde_json::Value::Object(o)
                }
                other => other.clone(),
            }
        };
        let pack = match e.remove("pack") {
            None => false,
            Some(serde_json::Value::Bool(b)) => b,
            Some(v) => {
                errors.push(at(
                    layout,
                    &format!("{node}/pack"),
                    format!("expected true or false, not {v}"),
                ));
                false
            }
        };
        if let Some(c) = e.remove("crate") {
            let Some(c) = c.as_str() else {
                errors.push(at(
                    layout,
                    &format!("{node}/crate"),
                    "expected a directory (relative to the layout)",
                ));
                continue;
            };
            for k in ["image", "package"] {
                if e.contains_key(k) {
                    errors.push(at(layout, &format!("{node}/{k}"), format!("`{k}` and `crate` exclude each other: xtask builds the image of a `crate` entry")));
                }
            }
            let Some(pm) = e.get("pm").and_then(|p| p.as_str()) else {
                errors.push(at(
                    layout,
                    &format!("{node}/pm"),
                    "a `crate` entry needs `pm`, the manifest the SP is linked for",
                ));
                continue;
            };
            let manifest = dir.join(pm);
            if !manifest.is_file() {
                errors.push(at(
                    layout,
                    &format!("{node}/pm"),
                    format!("{} does not exist", manifest.display()),
                ));
                continue;
            }
            let cdir = dir.join(c);
            match package_name(&cdir) {
                Ok(package) => builds.push(CrateBuild {
                    key: key.clone(),
                    dir: cdir,
                    package,
                    manifest,
                    pack,
                }),
                Err(why) => errors.push(at(layout, &format!("{node}/crate"), why)),
            }
            e.insert("pm".into(), abs(&e["pm"].clone()));
            resolved.insert(key.clone(), serde_json::Value::Object(e));
            continue;
        }
        if pack {
            errors.push(at(layout, &format!("{node}/pack"), "`pack` needs `crate`"));
        }
        for k in ["image", "pm", "package"] {
            if let Some(v) = e.get(k).cloned() {
                let v = abs(&v);
                // A missing file is named with the layout key that wants it.
                let path = match &v {
                    serde_json::Value::String(s) => Some(PathBuf::from(s)),
                    serde_json::Value::Object(o) => {
                        o.get("file").and_then(|f| f.as_str()).map(PathBuf::from)
                    }
                    _ => None,
                };
                if let Some(p) = &path {
                    if !(k == "package" && (p.ends_with("sp_pkg") || p.ends_with("tl_pkg")))
                        && !p.is_file()
                    {
                        errors.push(at(
                            layout,
                            &format!("{node}/{k}"),
                            format!("file-missing: {} does not exist", p.display()),
                        ));
                    }
                }
                e.insert(k.into(), v);
            }
        }
        // A prebuilt ELF image: flat binary for manifest-tool, ELF kept for the checks.
        if let Some(img) = e.get("image").and_then(|v| v.as_str()).map(PathBuf::from) {
            if img.is_file() && is_elf(&img) {
                let bin = sp_dir.join(format!("{key}.bin"));
                let elf = sp_dir.join(format!("{key}.elf"));
                std::fs::copy(&img, &elf).map_err(|e| format!("{}: {e}", elf.display()))?;
                tc.objcopy(&elf, &bin)?;
                e.insert("image".into(), bin.display().to_string().into());
                elfs.push(SpElf {
                    name: key.clone(),
                    elf,
                    origin: format!("{} (layout key {node}/image)", img.display()),
                });
            }
        }
        resolved.insert(key.clone(), serde_json::Value::Object(e));
    }
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }

    // Build the crates: the workspace's members in one cargo run, others one by one. A crate
    // with a `[workspace]` of its own is not a member even inside this repository's tree.
    let root = crate::root();
    let (members, outside): (Vec<&CrateBuild>, Vec<&CrateBuild>) = builds.iter().partition(|b| {
        let inside = b
            .dir
            .canonicalize()
            .map(|d| d.starts_with(&root))
            .unwrap_or(false);
        let manifest = std::fs::read_to_string(b.dir.join("Cargo.toml")).unwrap_or_default();
        inside && !declares_workspace(&manifest)
    });
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    for b in &builds {
        let var = format!(
            "SP_RT_MANIFEST_{}",
            b.package.to_uppercase().replace('-', "_")
        );
        let v = b.manifest.display().to_string();
        if let Some(old) = env.insert(var.clone(), v.clone()) {
            if old != v {
                return Err(at(
                    layout,
                    &format!("/{}/pm", b.key),
                    format!("crate {} is used by two entries with different manifests ({old}, {v}); one build links it for one address", b.package),
                ));
            }
        }
    }
    let env_list: Vec<(&str, String)> = env.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let mut elf_of: BTreeMap<String, PathBuf> = BTreeMap::new();
    if !members.is_empty() {
        let mut pkgs: Vec<&str> = members.iter().map(|b| b.package.as_str()).collect();
        pkgs.sort();
        pkgs.dedup();
        crate::step(&format!(
            "building SP crates {} (layout {})",
            pkgs.join(", "),
            lref.name
        ));
        let rel = tc.build(&root, &pkgs, &env_list)?;
        for b in &members {
            elf_of.insert(b.key.clone(), rel.join(&b.package));
        }
    }
    for b in &outside {
        crate::step(&format!(
            "building SP crate {} from {}",
            b.package,
            b.dir.display()
        ));
        let rel = tc.build_manifest(&b.dir.join("Cargo.toml"), &env_list)?;
        elf_of.insert(b.key.clone(), rel.join(&b.package));
    }
    for b in &builds {
        let built = &elf_of[&b.key];
        let elf = sp_dir.join(format!("{}.elf", b.key));
        let bin = sp_dir.join(format!("{}.bin", b.key));
        std::fs::copy(built, &elf).map_err(|e| format!("{}: {e}", built.display()))?;
        tc.objcopy(&elf, &bin)?;
        let Some(serde_json::Value::Object(e)) = resolved.get_mut(&b.key) else {
            unreachable!("every crate entry was inserted above");
        };
        if b.pack {
            let pkg = sp_dir.join(format!("{}.pkg", b.key));
            let bytes = manifest_tool::pack(&b.manifest, &bin)
                .map_err(|e| format!("packaging {}: {e}", b.key))?;
            std::fs::write(&pkg, bytes).map_err(|e| format!("{}: {e}", pkg.display()))?;
            e.remove("pm");
            e.insert("package".into(), pkg.display().to_string().into());
        } else {
            e.insert("image".into(), bin.display().to_string().into());
        }
        elfs.push(SpElf {
            name: b.key.clone(),
            elf,
            origin: format!("crate {} ({})", b.package, b.dir.display()),
        });
    }

    let file = lref.out.join("sp_layout.json");
    let text = serde_json::to_string_pretty(&serde_json::Value::Object(resolved))
        .map_err(|e| e.to_string())?;
    if std::fs::read_to_string(&file).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))?;
    }
    Ok(Resolved { file, elfs })
}

/// The PT_LOAD segments of a little-endian ELF64: (vaddr, paddr, filesz, memsz).
pub fn load_segments(bytes: &[u8]) -> Option<Vec<(u64, u64, u64, u64)>> {
    crate::table::parse_elf_entry(bytes)?;
    let u16_at = |o: usize| Some(u16::from_le_bytes(bytes.get(o..o + 2)?.try_into().ok()?));
    let u32_at = |o: usize| Some(u32::from_le_bytes(bytes.get(o..o + 4)?.try_into().ok()?));
    let u64_at = |o: usize| Some(u64::from_le_bytes(bytes.get(o..o + 8)?.try_into().ok()?));
    let phoff = usize::try_from(u64_at(0x20)?).ok()?;
    let phentsize = usize::from(u16_at(0x36)?);
    let phnum = usize::from(u16_at(0x38)?);
    let mut out = Vec::new();
    for i in 0..phnum {
        let p = phoff.checked_add(i.checked_mul(phentsize)?)?;
        if u32_at(p)? == 1 {
            out.push((
                u64_at(p + 0x10)?,
                u64_at(p + 0x18)?,
                u64_at(p + 0x20)?,
                u64_at(p + 0x28)?,
            ));
        }
    }
    Some(out)
}

/// Checks an SP's ELF against where manifest-tool placed it: the entry point must be the
/// image base + `entrypoint-offset`, and every loaded segment inside the image region. The
/// error says which address the image was linked for and which the manifest wants.
pub fn check_elf(sp: &SpElf, planned: &manifest_tool::sp_set::PlannedSp) -> Result<(), String> {
    let bytes = std::fs::read(&sp.elf).map_err(|e| format!("{}: {e}", sp.elf.display()))?;
    let entry = crate::table::parse_elf_entry(&bytes)
        .ok_or_else(|| format!("{}: not a little-endian ELF64 file", sp.origin))?;
    let segs =
        load_segments(&bytes).ok_or_else(|| format!("{}: malformed program headers", sp.origin))?;
    check_placement(
        &sp.name,
        &sp.origin,
        entry,
        &segs,
        planned.image_base,
        planned.manifest.entrypoint_offset,
        planned.entry.size,
        &planned.loaded.manifest_file,
    )
}

/// [`check_elf`] on the values.
#[allow(clippy::too_many_arguments)]
pub fn check_placement(
    name: &str,
    origin: &str,
    entry: u64,
    segs: &[(u64, u64, u64, u64)],
    base: u64,
    entry_offset: u64,
    size: u64,
    manifest: &Path,
) -> Result<(), String> {
    let want = base + entry_offset;
    let lowest = segs.iter().filter(|s| s.3 > 0).map(|s| s.1).min();
    let hint = "rebuild the SP for this manifest (sp-rt SPs: a `crate` entry in the layout, or \
                SP_RT_MANIFEST_<CRATE>=<the manifest>), or give the manifest the address the \
                image was linked for";
    if entry != want || lowest.is_some_and(|l| l != base) {
        return Err(format!(
            "SP {name}: {origin} is linked for {:#x} (entry point {entry:#x}), but {} places it at {base:#x} (entry {want:#x}): {hint}",
            lowest.unwrap_or(entry),
            manifest.display()
        ));
    }
    for &(vaddr, paddr, _filesz, memsz) in segs {
        for (what, a) in [("virtual", vaddr), ("physical", paddr)] {
            if memsz > 0 && (a < base || a + memsz > base + size) {
                return Err(format!(
                    "SP {name}: {origin} has a segment at {what} {a:#x}+{memsz:#x}, outside its image region {base:#x}+{size:#x} ({}): {hint}",
                    manifest.display()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crate_with_its_own_workspace_is_no_member() {
        assert!(declares_workspace(
            "[package]\nname = \"x\"\n\n[workspace]\n"
        ));
        assert!(declares_workspace(
            "[workspace.dependencies]\nsp-rt = \"1\"\n"
        ));
        assert!(!declares_workspace(
            "[package]\nname = \"counter\"\nedition.workspace = true\n# [workspace]\n"
        ));
    }

    #[test]
    fn a_segment_or_entry_elsewhere_is_refused_with_both_addresses() {
        let m = Path::new("counter.dts");
        let ok = [
            (0x2440_0000, 0x2440_0000, 0x1000, 0x1000),
            (0x2448_0000, 0x2448_0000, 0x100, 0x8_0000),
        ];
        check_placement(
            "counter",
            "c",
            0x2440_0000,
            &ok,
            0x2440_0000,
            0,
            0x10_0000,
            m,
        )
        .unwrap();
        // Linked for FVP's pool, placed in QEMU's.
        let fvp = [(0x0710_0000, 0x0710_0000, 0x1000, 0x1000)];
        let e = check_placement(
            "counter",
            "c",
            0x0710_0000,
            &fvp,
            0x2440_0000,
            0,
            0x10_0000,
            m,
        )
        .unwrap_err();
        assert!(
            e.contains("0x7100000") && e.contains("0x24400000") && e.contains("counter.dts"),
            "{e}"
        );
        // Right entry, but data beyond the region.
        let big = [
            (0x2440_0000, 0x2440_0000, 0x1000, 0x1000),
            (0x2450_0000, 0x2450_0000, 0, 0x1000),
        ];
        let e = check_placement(
            "counter",
            "c",
            0x2440_0000,
            &big,
            0x2440_0000,
            0,
            0x10_0000,
            m,
        )
        .unwrap_err();
        assert!(e.contains("outside its image region"), "{e}");
    }

    #[test]
    fn package_names_are_read_from_cargo_toml() {
        let root = crate::root();
        assert_eq!(
            package_name(&root.join("partitions/pkg-sp")).unwrap(),
            "pkg-sp"
        );
        assert!(package_name(&root.join("partitions/fixtures")).is_err());
    }
}
