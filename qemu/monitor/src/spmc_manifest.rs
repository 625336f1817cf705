//! Reader and validator of the SPMC manifest (TOS_FW_CONFIG), the device tree with
//! `compatible = "arm,ffa-core-manifest-1.0"` and the node `/attribute`, checked the way TF-A's
//! SPMD checks it (TF-A `plat/common/plat_spmd_manifest.c`).
//!
//! The blob is read with the workspace's FDT reader, `fdt-walk` (fdt-walk/: no `unsafe`,
//! every offset bounds-checked, never panics), the one the SPMC itself uses, rather than
//! `fdt-rs`, whose constructor is an `unsafe fn` that trusts the blob.

use fdt_walk::{Fdt, Prop};

/// The `compatible` string the SPMD looks for.
pub const COMPATIBLE: &str = "arm,ffa-core-manifest-1.0";
/// The FF-A version the monitor's SPMD implements: the highest SPMC minor version it accepts.
pub const SPMD_FFA_MINOR: u32 = 2;

/// The SPMC attributes of the manifest after validation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpmcAttributes {
    /// SPMC endpoint ID (bit 15 set).
    pub spmc_id: u16,
    /// FF-A major version the SPMC implements (always 1).
    pub major_version: u32,
    /// FF-A minor version the SPMC implements.
    pub minor_version: u32,
    /// 0 = AArch64 (the only state accepted here).
    pub exec_state: u32,
    /// Physical base of the SPMC region.
    pub load_address: u64,
    /// Cold-boot entry point.
    pub entrypoint: u64,
    /// Size of the SPMC region.
    pub binary_size: u32,
}

impl SpmcAttributes {
    /// Returns whether `pa` lies inside the SPMC region `[load_address, load_address + binary_size)`,
    /// the check TF-A applies to `FFA_SECONDARY_EP_REGISTER`.
    pub fn contains(&self, pa: u64) -> bool {
        pa >= self.load_address && pa - self.load_address < u64::from(self.binary_size)
    }
}

/// Why a manifest was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManifestError {
    /// Not a flattened device tree, or a structure offset/size is out of bounds.
    Malformed,
    /// The root node is not compatible with [`COMPATIBLE`].
    NotCompatible,
    /// There is no `/attribute` node.
    NoAttributeNode,
    /// A mandatory property is missing or has the wrong size.
    Missing(&'static str),
    /// `spmc_id` does not have bit 15 set or does not fit 16 bits.
    BadSpmcId(u32),
    /// The version is not 1.x with x <= [`SPMD_FFA_MINOR`].
    BadVersion { major: u32, minor: u32 },
    /// `exec_state` is not 0 (AArch64).
    BadExecState(u32),
    /// The entry point is outside `[load_address, load_address + binary_size)`.
    EntryOutsideImage,
}

/// Values found while walking, before validation.
#[derive(Default)]
struct Raw<'a> {
    root_compatible: Option<Prop<'a>>,
    attribute_seen: bool,
    spmc_id: Option<Prop<'a>>,
    maj_ver: Option<Prop<'a>>,
    min_ver: Option<Prop<'a>>,
    exec_state: Option<Prop<'a>>,
    load_address: Option<Prop<'a>>,
    entrypoint: Option<Prop<'a>>,
    binary_size: Option<Prop<'a>>,
}

fn walk(blob: &[u8]) -> Option<Raw<'_>> {
    let root = Fdt::new(blob).ok()?.root();
    let mut raw = Raw {
        root_compatible: root.props().filter(|p| p.name == "compatible").last(),
        ..Raw::default()
    };
    // Unit addresses are allowed ("attribute@0" is not used, but harmless); should the node
    // appear twice, a later value wins.
    for attribute in root.children().filter(|n| n.base_name() == "attribute") {
        raw.attribute_seen = true;
        for p in attribute.props() {
            let slot = match p.name {
                "spmc_id" => &mut raw.spmc_id,
                "maj_ver" => &mut raw.maj_ver,
                "min_ver" => &mut raw.min_ver,
                "exec_state" => &mut raw.exec_state,
                "load_address" => &mut raw.load_address,
                "entrypoint" => &mut raw.entrypoint,
                "binary_size" => &mut raw.binary_size,
                _ => continue,
            };
            *slot = Some(p);
        }
    }
    Some(raw)
}

fn cell_u32(value: Option<Prop<'_>>, name: &'static str) -> Result<u32, ManifestError> {
    value
        .and_then(|p| p.u32())
        .ok_or(ManifestError::Missing(name))
}

/// Reads a 64-bit value given as one or two cells, as TF-A's `fdt_read_uint64` accepts.
fn cell_u64(value: Option<Prop<'_>>, name: &'static str) -> Result<u64, ManifestError> {
    value
        .and_then(|p| p.u64())
        .ok_or(ManifestError::Missing(name))
}

/// Parses and validates an SPMC manifest blob. Never panics on any input.
pub fn parse(blob: &[u8]) -> Result<SpmcAttributes, ManifestError> {
    let raw = walk(blob).ok_or(ManifestError::Malformed)?;
    match raw.root_compatible {
        Some(list) if list.contains_string(COMPATIBLE) => {}
        _ => return Err(ManifestError::NotCompatible),
    }
    if !raw.attribute_seen {
        return Err(ManifestError::NoAttributeNode);
    }
    let spmc_id = cell_u32(raw.spmc_id, "spmc_id")?;
    let major_version = cell_u32(raw.maj_ver, "maj_ver")?;
    let minor_version = cell_u32(raw.min_ver, "min_ver")?;
    let exec_state = cell_u32(raw.exec_state, "exec_state")?;
    let load_address = cell_u64(raw.load_address, "load_address")?;
    let entrypoint = cell_u64(raw.entrypoint, "entrypoint")?;
    let binary_size = cell_u32(raw.binary_size, "binary_size")?;

    let spmc_id = match u16::try_from(spmc_id) {
        Ok(id) if id & 0x8000 != 0 => id,
        _ => return Err(ManifestError::BadSpmcId(spmc_id)),
    };
    if major_version != 1 || minor_version > SPMD_FFA_MINOR {
        return Err(ManifestError::BadVersion {
            major: major_version,
            minor: minor_version,
        });
    }
    if exec_state != 0 {
        return Err(ManifestError::BadExecState(exec_state));
    }
    let attrs = SpmcAttributes {
        spmc_id,
        major_version,
        minor_version,
        exec_state,
        load_address,
        entrypoint,
        binary_size,
    };
    if !attrs.contains(entrypoint) {
        return Err(ManifestError::EntryOutsideImage);
    }
    Ok(attrs)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use fdt_walk::writer::{self, Item};
    use std::vec::Vec;

    /// Builds a flattened device tree: `/ { compatible; attribute { props } }`.
    fn build(compatible: &[u8], props: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut items = std::vec![
            Item::Begin(""),
            Item::Prop("compatible", compatible.to_vec()),
            Item::Begin("attribute"),
        ];
        items.extend(props.iter().map(|(n, v)| Item::Prop(n, v.clone())));
        items.extend([Item::End, Item::End]);
        writer::build(&items)
    }

    fn cell(v: u32) -> Vec<u8> {
        v.to_be_bytes().to_vec()
    }

    fn cells64(v: u64) -> Vec<u8> {
        v.to_be_bytes().to_vec()
    }

    fn good_props() -> Vec<(&'static str, Vec<u8>)> {
        std::vec![
            ("spmc_id", cell(0x8000)),
            ("maj_ver", cell(1)),
            ("min_ver", cell(2)),
            ("exec_state", cell(0)),
            ("load_address", cells64(0x2020_0000)),
            ("entrypoint", cells64(0x2020_0000)),
            ("binary_size", cell(0x03E0_0000)),
        ]
    }

    fn with(name: &str, value: Vec<u8>) -> Vec<(&'static str, Vec<u8>)> {
        good_props()
            .into_iter()
            .map(|(n, v)| {
                if n == name {
                    (n, value.clone())
                } else {
                    (n, v)
                }
            })
            .collect()
    }

    const COMPAT: &[u8] = b"arm,ffa-core-manifest-1.0\0";

    #[test]
    fn parses_the_platform_manifest() {
        let a = parse(&build(COMPAT, &good_props())).unwrap();
        assert_eq!(a.spmc_id, 0x8000);
        assert_eq!((a.major_version, a.minor_version), (1, 2));
        assert_eq!(a.load_address, 0x2020_0000);
        assert_eq!(a.entrypoint, 0x2020_0000);
        assert_eq!(a.binary_size, 0x03E0_0000);
        assert!(a.contains(0x2020_0000));
        assert!(a.contains(0x23FF_FFFF));
        assert!(!a.contains(0x2400_0000));
        assert!(!a.contains(0x201F_FFFF));
    }

    #[test]
    fn accepts_single_cell_addresses_and_compatible_lists() {
        let props = with("load_address", cell(0x2020_0000));
        let blob = build(b"vendor,thing\0arm,ffa-core-manifest-1.0\0", &props);
        assert_eq!(parse(&blob).unwrap().load_address, 0x2020_0000);
    }

    #[test]
    fn rejects_what_tf_a_rejects() {
        assert_eq!(
            parse(&build(b"arm,other\0", &good_props())),
            Err(ManifestError::NotCompatible)
        );
        assert_eq!(
            parse(&build(COMPAT, &with("spmc_id", cell(0x0001)))),
            Err(ManifestError::BadSpmcId(1))
        );
        assert_eq!(
            parse(&build(COMPAT, &with("spmc_id", cell(0x1_8000)))),
            Err(ManifestError::BadSpmcId(0x1_8000))
        );
        assert_eq!(
            parse(&build(COMPAT, &with("maj_ver", cell(2)))),
            Err(ManifestError::BadVersion { major: 2, minor: 2 })
        );
        assert_eq!(
            parse(&build(COMPAT, &with("min_ver", cell(3)))),
            Err(ManifestError::BadVersion { major: 1, minor: 3 })
        );
        assert_eq!(
            parse(&build(COMPAT, &with("exec_state", cell(1)))),
            Err(ManifestError::BadExecState(1))
        );
        assert_eq!(
            parse(&build(COMPAT, &with("entrypoint", cells64(0x2400_0000)))),
            Err(ManifestError::EntryOutsideImage)
        );
        let missing: Vec<_> = good_props()
            .into_iter()
            .filter(|(n, _)| *n != "binary_size")
            .collect();
        assert_eq!(
            parse(&build(COMPAT, &missing)),
            Err(ManifestError::Missing("binary_size"))
        );
        assert_eq!(
            parse(&build(COMPAT, &with("maj_ver", std::vec![0, 1]))),
            Err(ManifestError::Missing("maj_ver"))
        );
    }

    #[test]
    fn never_panics_on_truncated_or_corrupted_blobs() {
        let blob = build(COMPAT, &good_props());
        for len in 0..blob.len() {
            let _ = parse(&blob[..len]);
        }
        for i in 0..blob.len() {
            for bit in [0x01u8, 0x80, 0xFF] {
                let mut b = blob.clone();
                b[i] ^= bit;
                let _ = parse(&b);
            }
        }
        assert_eq!(parse(&[]), Err(ManifestError::Malformed));
    }
}
