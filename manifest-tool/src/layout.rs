//! The SP set description: TF-A's `sp_layout.json` shape (TF-A tools/sptool/sp_mk_generator.py) plus the
//! `capabilities` the integrator grants each SP; and loading each SP's manifest and image.

use crate::error::{Error, Result};
use crate::{fdt, json, spkg};
use spmc_table::Uuid;
use std::path::{Path, PathBuf};
use std::process::Command;

/// TF-A's default image region size.
pub const DEFAULT_SIZE: u64 = 0x10_0000;

/// What the integrator grants one SP, by name. Nothing else is allowed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grants {
    /// `direct-messages`: SP names this SP may send direct requests to.
    pub direct_messages: Vec<String>,
    /// `memory-share`: SP names (or "normal-world") this SP may share memory with.
    pub memory_share: Vec<String>,
    /// `notify`: SP names (or "normal-world") this SP may notify.
    pub notify: Vec<String>,
    /// `indirect-messages`: SP names (or "normal-world") this SP may send indirect messages to.
    pub indirect_messages: Vec<String>,
    /// `interrupts`: INTIDs this SP owns.
    pub interrupts: Vec<u32>,
    /// `devices`: device-region node names of this SP's manifest it may map.
    pub devices: Vec<String>,
    /// `memory-quota`: overrides of the SPMC's memory-sharing quota for this SP
    /// (`transactions`, `fragments`, `donated`; each optional).
    pub memory_quota: MemoryQuota,
    /// `time-limits`: overrides of the platform's time limits for this SP (`boot-ms`,
    /// `request-ms`; each optional, 0 = none).
    pub time_limits: TimeLimits,
}

/// `time-limits` of one SP, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeLimits {
    /// From its first entry to its FFA_MSG_WAIT at boot.
    pub boot_ms: Option<u32>,
    /// Inside one request the normal world cannot preempt, or one interrupt's handling.
    pub request_ms: Option<u32>,
}

/// `memory-quota` of one SP: what it may hold of the SPMC's memory-sharing tables.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryQuota {
    /// Live transactions it sent.
    pub transactions: Option<u16>,
    /// Fragmented transmissions in flight.
    pub fragments: Option<u16>,
    /// Donated-ranges entries its donations hold.
    pub donated: Option<u16>,
}

/// Where the SP's manifest and image come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A separate manifest (.dts or .dtb) and flat image.
    Files {
        /// `pm`.
        pm: PathBuf,
        /// `image`.
        image: PathBuf,
    },
    /// An SP package holding both.
    Package(PathBuf),
}

/// One SP of the set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpEntry {
    /// The JSON key.
    pub name: String,
    /// Manifest and image.
    pub source: Source,
    /// `uuid` (the package / binary UUID), if given.
    pub uuid: Option<Uuid>,
    /// `owner` ("SiP" or "Plat").
    pub owner: String,
    /// `physical-load-address`.
    pub physical_load_address: Option<u64>,
    /// `size`: the image region size.
    pub size: u64,
    /// `capabilities`.
    pub grants: Grants,
}

/// The parsed SP set description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The JSON file.
    pub file: PathBuf,
    /// Its SPs, in key order.
    pub sps: Vec<SpEntry>,
}

const SP_KEYS: &[&str] = &[
    "image",
    "pm",
    "uuid",
    "owner",
    "physical-load-address",
    "size",
    "package",
    "capabilities",
];
const CAP_KEYS: &[&str] = &[
    "direct-messages",
    "memory-share",
    "notify",
    "indirect-messages",
    "interrupts",
    "devices",
    "memory-quota",
    "time-limits",
];
const QUOTA_KEYS: &[&str] = &["transactions", "fragments", "donated"];
const TIME_KEYS: &[&str] = &["boot-ms", "request-ms"];

/// Reads and checks the shape of an SP set description (the first error).
pub fn read_layout(file: &Path) -> Result<Layout> {
    read_layout_all(file).map_err(|mut e| e.swap_remove(0))
}

/// Reads and checks the shape of an SP set description; reports the error of every SP entry
/// that has one, not only the first.
pub fn read_layout_all(file: &Path) -> std::result::Result<Layout, Vec<Error>> {
    read_layout_inner(file)
}

fn read_layout_inner(file: &Path) -> std::result::Result<Layout, Vec<Error>> {
    let one = |e: Error| vec![e];
    let text = std::fs::read_to_string(file)
        .map_err(|e| one(Error::new(file, "/", "file-unreadable", e.to_string())))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| one(Error::new(file, "/", "json-syntax", e.to_string())))?;
    let obj = v.as_object().ok_or_else(|| {
        one(Error::new(
            file,
            "/",
            "json-shape",
            "expected an object of SPs",
        ))
    })?;
    if obj.is_empty() {
        return Err(one(Error::new(
            file,
            "/",
            "json-shape",
            "the SP set is empty",
        )));
    }
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut sps = Vec::new();
    let mut errors = Vec::new();
    for (name, e) in obj {
        match sp_entry(file, dir, name, e) {
            Ok(sp) => sps.push(sp),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Layout {
        file: file.to_path_buf(),
        sps,
    })
}

fn sp_entry(file: &Path, dir: &Path, name: &str, v: &serde_json::Value) -> Result<SpEntry> {
    let node = format!("/{name}");
    let err = |sub: &str, rule: &'static str, d: String| {
        Error::new(file, format!("{node}{sub}"), rule, d)
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(err(
            "",
            "sp-name",
            format!("{name:?}: use letters, digits, '-', '_', '.'"),
        ));
    }
    if name == "normal-world" {
        return Err(err(
            "",
            "sp-name",
            "\"normal-world\" is reserved for capabilities".into(),
        ));
    }
    let obj = v
        .as_object()
        .ok_or_else(|| err("", "json-shape", "expected an object".into()))?;
    for key in obj.keys() {
        if !SP_KEYS.contains(&key.as_str()) {
            return Err(err(
                &format!("/{key}"),
                "unknown-key",
                format!("not one of {SP_KEYS:?}"),
            ));
        }
    }
    // `image`/`pm` are a path or {file, offset}; the offset is where sptool puts the part
    // inside a package, which does not matter once the tool reads the parts itself.
    let path_of = |key: &str| -> Result<Option<PathBuf>> {
        match obj.get(key) {
            None => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(dir.join(s))),
            Some(serde_json::Value::Object(o)) => {
                for k in o.keys() {
                    if k != "file" && k != "offset" {
                        return Err(err(
                            &format!("/{key}/{k}"),
                            "unknown-key",
                            "expected `file` or `offset`".into(),
                        ));
                    }
                }
                if let Some(off) = o.get("offset") {
                    let off = json::number(off)
                        .map_err(|d| err(&format!("/{key}/offset"), "json-shape", d))?;
                    if off % 0x1000 != 0 {
                        return Err(err(
                            &format!("/{key}/offset"),
                            "region-alignment",
                            format!("{off:#x} is not 4 KiB aligned"),
                        ));
                    }
                }
                let f = o.get("file").and_then(|f| f.as_str()).ok_or_else(|| {
                    err(
                        &format!("/{key}/file"),
                        "json-shape",
                        "expected a file name".into(),
                    )
                })?;
                Ok(Some(dir.join(f)))
            }
            Some(_) => Err(err(
                &format!("/{key}"),
                "json-shape",
                "expected a path or {file, offset}".into(),
            )),
        }
    };
    let image = path_of("image")?;
    let pm = path_of("pm")?;
    let package = match obj.get("package") {
        None => None,
        Some(serde_json::Value::String(s)) if s == "sp_pkg" => None,
        Some(serde_json::Value::String(s)) if s == "tl_pkg" => {
            return Err(err(
                "/package",
                "unsupported",
                "Transfer List packages (tl_pkg) are not supported".into(),
            ))
        }
        Some(serde_json::Value::String(s)) => Some(dir.join(s)),
        Some(_) => return Err(err("/package", "json-shape", "expected a path".into())),
    };
    let source = match (package, pm, image) {
        (Some(p), None, None) => Source::Package(p),
        (Some(_), _, _) => {
            return Err(err(
                "/package",
                "layout-source",
                "a package already holds the manifest and image: drop `pm`/`image`".into(),
            ))
        }
        (None, Some(pm), Some(image)) => Source::Files { pm, image },
        // A lone `image` that is an SP package (detected by its magic when loading).
        (None, None, Some(image)) => Source::Package(image),
        (None, _, None) => {
            return Err(err(
                "/image",
                "missing-key",
                "`image` (or `package`) is mandatory".into(),
            ))
        }
    };
    let uuid = match obj.get("uuid") {
        None => None,
        Some(u) => Some(
            u.as_str()
                .and_then(Uuid::parse_str)
                .ok_or_else(|| err("/uuid", "json-shape", format!("{u} is not a UUID string")))?,
        ),
    };
    let owner = match obj.get("owner") {
        None => "SiP".to_string(),
        Some(serde_json::Value::String(s)) if s == "SiP" || s == "Plat" => s.clone(),
        Some(o) => {
            return Err(err(
                "/owner",
                "json-shape",
                format!("{o} is not \"SiP\" or \"Plat\""),
            ))
        }
    };
    let num = |key: &str| -> Result<Option<u64>> {
        obj.get(key)
            .map(|v| json::number(v).map_err(|d| err(&format!("/{key}"), "json-shape", d)))
            .transpose()
    };
    let physical_load_address = num("physical-load-address")?;
    let size = num("size")?.unwrap_or(DEFAULT_SIZE);
    if size == 0 || size % 0x1000 != 0 {
        return Err(err(
            "/size",
            "region-alignment",
            format!("{size:#x} is not a non-zero multiple of 4 KiB"),
        ));
    }
    let grants = match obj.get("capabilities") {
        None => Grants::default(),
        Some(c) => grants(file, &format!("{node}/capabilities"), c)?,
    };
    Ok(SpEntry {
        name: name.to_string(),
        source,
        uuid,
        owner,
        physical_load_address,
        size,
        grants,
    })
}

fn grants(file: &Path, node: &str, v: &serde_json::Value) -> Result<Grants> {
    let obj = v
        .as_object()
        .ok_or_else(|| Error::new(file, node, "json-shape", "expected an object"))?;
    for key in obj.keys() {
        if !CAP_KEYS.contains(&key.as_str()) {
            return Err(Error::new(
                file,
                format!("{node}/{key}"),
                "unknown-key",
                format!("not one of {CAP_KEYS:?}"),
            ));
        }
    }
    let names = |key: &str| -> Result<Vec<String>> {
        let sub = format!("{node}/{key}");
        match obj.get(key) {
            None => Ok(Vec::new()),
            Some(serde_json::Value::Array(a)) => a
                .iter()
                .map(|s| {
                    s.as_str().map(str::to_string).ok_or_else(|| {
                        Error::new(file, &sub, "json-shape", format!("{s} is not a name"))
                    })
                })
                .collect(),
            Some(_) => Err(Error::new(file, sub, "json-shape", "expected a list")),
        }
    };
    let interrupts = match obj.get("interrupts") {
        None => Vec::new(),
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .map(|n| {
                json::number(n)
                    .ok()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| {
                        Error::new(
                            file,
                            format!("{node}/interrupts"),
                            "json-shape",
                            format!("{n} is not an interrupt ID"),
                        )
                    })
            })
            .collect::<Result<_>>()?,
        Some(_) => {
            return Err(Error::new(
                file,
                format!("{node}/interrupts"),
                "json-shape",
                "expected a list",
            ))
        }
    };
    let mut memory_quota = MemoryQuota::default();
    match obj.get("memory-quota") {
        None => {}
        Some(serde_json::Value::Object(q)) => {
            for (k, n) in q {
                let at = format!("{node}/memory-quota/{k}");
                let v = json::number(n)
                    .ok()
                    .and_then(|n| u16::try_from(n).ok())
                    .ok_or_else(|| {
                        Error::new(
                            file,
                            &at,
                            "json-shape",
                            format!("{n} is not a count (0..65535)"),
                        )
                    })?;
                match k.as_str() {
                    "transactions" => memory_quota.transactions = Some(v),
                    "fragments" => memory_quota.fragments = Some(v),
                    "donated" => memory_quota.donated = Some(v),
                    _ => {
                        return Err(Error::new(
                            file,
                            &at,
                            "json-unknown-key",
                            format!("unknown key `{k}` (known: {})", QUOTA_KEYS.join(", ")),
                        ))
                    }
                }
            }
        }
        Some(_) => {
            return Err(Error::new(
                file,
                format!("{node}/memory-quota"),
                "json-shape",
                "expected an object",
            ))
        }
    }
    let mut time_limits = TimeLimits::default();
    match obj.get("time-limits") {
        None => {}
        Some(serde_json::Value::Object(q)) => {
            for (k, n) in q {
                let at = format!("{node}/time-limits/{k}");
                let v = json::number(n)
                    .ok()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| {
                        Error::new(
                            file,
                            &at,
                            "json-shape",
                            format!("{n} is not a number of milliseconds"),
                        )
                    })?;
                match k.as_str() {
                    "boot-ms" => time_limits.boot_ms = Some(v),
                    "request-ms" => time_limits.request_ms = Some(v),
                    _ => {
                        return Err(Error::new(
                            file,
                            &at,
                            "json-unknown-key",
                            format!("unknown key `{k}` (known: {})", TIME_KEYS.join(", ")),
                        ))
                    }
                }
            }
        }
        Some(_) => {
            return Err(Error::new(
                file,
                format!("{node}/time-limits"),
                "json-shape",
                "expected an object",
            ))
        }
    }
    Ok(Grants {
        direct_messages: names("direct-messages")?,
        memory_share: names("memory-share")?,
        notify: names("notify")?,
        indirect_messages: names("indirect-messages")?,
        interrupts,
        devices: names("devices")?,
        memory_quota,
        time_limits,
    })
}

/// One SP's raw inputs after reading its files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// The file the manifest came from (for errors).
    pub manifest_file: PathBuf,
    /// The manifest DTB.
    pub dtb: Vec<u8>,
    /// The file the image came from.
    pub image_file: PathBuf,
    /// The flat image.
    pub image: Vec<u8>,
    /// True when both came from an SP package.
    pub from_package: bool,
}

fn read(file: &Path) -> Result<Vec<u8>> {
    std::fs::read(file).map_err(|e| Error::new(file, "/", "file-unreadable", e.to_string()))
}

/// Compiles device tree source with the system `dtc` (package device-tree-compiler).
pub fn compile_dts(file: &Path) -> Result<Vec<u8>> {
    let out = Command::new("dtc")
        .args(["-q", "-I", "dts", "-O", "dtb", "-o", "-"])
        .arg(file)
        .output()
        .map_err(|e| {
            Error::new(
                file,
                "/",
                "dtc-missing",
                format!("cannot run `dtc` ({e}); install device-tree-compiler or give a .dtb"),
            )
        })?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr);
        let first = msg
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("dtc failed");
        return Err(Error::new(
            file,
            "/",
            "dts-syntax",
            first.trim().to_string(),
        ));
    }
    Ok(out.stdout)
}

/// Reads a manifest given as a DTB (detected by its magic) or as source compiled with `dtc`.
pub fn read_manifest_file(file: &Path) -> Result<Vec<u8>> {
    let bytes = read(file)?;
    if fdt::is_dtb(&bytes) {
        Ok(bytes)
    } else {
        compile_dts(file)
    }
}

/// Reads an SP's manifest and image (or its package). A file that cannot be read is
/// reported with the layout key that names it (`sp_layout.json /echo/image`).
pub fn load(entry: &SpEntry) -> Result<Loaded> {
    load_files(entry).map_err(|mut e| {
        if e.rule == "file-unreadable" {
            let key = match &entry.source {
                Source::Files { pm, .. } if *pm == e.file => "pm",
                Source::Files { .. } => "image",
                Source::Package(_) => "package",
            };
            e.detail = format!("{} (layout key /{}/{key})", e.detail, entry.name);
        }
        e
    })
}

fn load_files(entry: &SpEntry) -> Result<Loaded> {
    match &entry.source {
        Source::Files { pm, image } => {
            let dtb = read_manifest_file(pm)?;
            let img = read(image)?;
            if spkg::is_spkg(&img) {
                return Err(Error::new(
                    image,
                    "/",
                    "layout-source",
                    "the image is an SP package: give it as `package` without `pm`",
                ));
            }
            if img.is_empty() {
                return Err(Error::new(
                    image,
                    "/",
                    "image-empty",
                    "the image file is empty",
                ));
            }
            Ok(Loaded {
                manifest_file: pm.clone(),
                dtb,
                image_file: image.clone(),
                image: img,
                from_package: false,
            })
        }
        Source::Package(path) => {
            let bytes = read(path)?;
            if !spkg::is_spkg(&bytes) {
                return Err(Error::new(
                    path,
                    "/",
                    "spkg",
                    "no SPKG magic: give a package, or `pm` and a flat `image`",
                ));
            }
            let pkg = spkg::parse(&bytes).map_err(|d| Error::new(path, "/", "spkg", d))?;
            Ok(Loaded {
                manifest_file: path.clone(),
                dtb: pkg.manifest.to_vec(),
                image_file: path.clone(),
                image: pkg.image.to_vec(),
                from_package: true,
            })
        }
    }
}
