//! Reads the SPMC manifest (`arm,ffa-core-manifest-1.0`, TF-A's TOS_FW_CONFIG) that EL3 passes
//! in x0: only the fields the SPMC needs. Every malformation is an error, never a panic.

#![forbid(unsafe_code)]

use fdt_walk::Fdt;
use ffa_abi::EndpointId;

/// The fields of `/attribute` the SPMC uses.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct SpmcManifest {
    pub spmc_id: EndpointId,
    pub maj_ver: u16,
    pub min_ver: u16,
    pub load_address: u64,
    pub binary_size: u64,
}

/// Why the manifest was rejected.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum ManifestError {
    BadBlob,
    NotCoreManifest,
    Missing(&'static str),
    Invalid(&'static str),
}

const NAMES: [&str; 6] = [
    "spmc_id",
    "maj_ver",
    "min_ver",
    "exec_state",
    "load_address",
    "binary_size",
];

/// Parses the manifest blob.
pub fn parse(blob: &[u8]) -> Result<SpmcManifest, ManifestError> {
    let fdt = Fdt::new(blob).map_err(|_| ManifestError::BadBlob)?;
    let root = fdt.root();
    let compatible = root
        .props()
        .any(|p| p.name == "compatible" && p.contains_string("arm,ffa-core-manifest-1.0"));
    // Every `/attribute` node counts and a later value wins, as in a walk of the whole blob.
    let mut fields: [Option<Option<u64>>; 6] = [None; 6];
    for attribute in root.children().filter(|n| n.name() == "attribute") {
        for p in attribute.props() {
            if let Some(i) = NAMES.iter().position(|n| *n == p.name) {
                fields[i] = Some(p.u64());
            }
        }
    }
    if !compatible {
        return Err(ManifestError::NotCoreManifest);
    }
    let get = |i: usize| match fields[i] {
        None => Err(ManifestError::Missing(NAMES[i])),
        Some(None) => Err(ManifestError::Invalid(NAMES[i])),
        Some(Some(v)) => Ok(v),
    };
    let spmc_id = u16::try_from(get(0)?).map_err(|_| ManifestError::Invalid("spmc_id"))?;
    let spmc_id = EndpointId(spmc_id);
    if !spmc_id.is_secure() {
        return Err(ManifestError::Invalid("spmc_id"));
    }
    let maj_ver = u16::try_from(get(1)?).map_err(|_| ManifestError::Invalid("maj_ver"))?;
    let min_ver = u16::try_from(get(2)?).map_err(|_| ManifestError::Invalid("min_ver"))?;
    if maj_ver != 1 {
        return Err(ManifestError::Invalid("maj_ver"));
    }
    if fields[3].is_some() && get(3)? != 0 {
        return Err(ManifestError::Invalid("exec_state"));
    }
    Ok(SpmcManifest {
        spmc_id,
        maj_ver,
        min_ver,
        load_address: get(4)?,
        binary_size: get(5)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn dtb(src: &str) -> Option<Vec<u8>> {
        let dir = std::env::temp_dir().join(format!("spmc-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        let dts = dir.join(format!(
            "{:x}.dts",
            src.len() * 31 + src.bytes().map(usize::from).sum::<usize>()
        ));
        std::fs::write(&dts, src).ok()?;
        let out = Command::new("dtc")
            .args(["-I", "dts", "-O", "dtb"])
            .arg(&dts)
            .output()
            .ok()?;
        out.status.success().then_some(out.stdout)
    }

    const GOOD: &str = r#"/dts-v1/;
/ { compatible = "arm,ffa-core-manifest-1.0"; #address-cells = <2>; #size-cells = <1>;
    attribute { spmc_id = <0x8000>; maj_ver = <0x1>; min_ver = <0x2>; exec_state = <0x0>;
        load_address = <0x0 0x20200000>; entrypoint = <0x0 0x20200000>; binary_size = <0x3e00000>; };
};"#;

    #[test]
    fn parses_the_qemu_manifest() {
        let Some(blob) = dtb(GOOD) else {
            panic!("dtc is needed for this test")
        };
        let m = parse(&blob).unwrap();
        assert_eq!(
            m,
            SpmcManifest {
                spmc_id: EndpointId(0x8000),
                maj_ver: 1,
                min_ver: 2,
                load_address: 0x2020_0000,
                binary_size: 0x3e0_0000
            }
        );
    }

    #[test]
    fn rejects_bad_manifests() {
        let cases = [
            (
                GOOD.replace("0x8000", "0x7000"),
                ManifestError::Invalid("spmc_id"),
            ),
            (
                GOOD.replace("maj_ver = <0x1>", "maj_ver = <0x2>"),
                ManifestError::Invalid("maj_ver"),
            ),
            (
                GOOD.replace("exec_state = <0x0>", "exec_state = <0x1>"),
                ManifestError::Invalid("exec_state"),
            ),
            (
                GOOD.replace("spmc_id = <0x8000>;", ""),
                ManifestError::Missing("spmc_id"),
            ),
            (
                GOOD.replace("arm,ffa-core-manifest-1.0", "arm,other"),
                ManifestError::NotCoreManifest,
            ),
        ];
        for (src, err) in cases {
            let blob = dtb(&src).expect("dtc");
            assert_eq!(parse(&blob), Err(err));
        }
    }

    #[test]
    fn truncated_or_garbage_blobs_are_errors() {
        let blob = dtb(GOOD).expect("dtc");
        for len in 0..blob.len() {
            assert!(parse(&blob[..len]).is_err() || len >= blob.len());
        }
        let mut corrupt = blob.clone();
        for i in (40..corrupt.len()).step_by(7) {
            corrupt[i] ^= 0x5a;
            let _ = parse(&corrupt); // must not panic
        }
    }
}
