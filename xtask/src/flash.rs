//! Assembles the 256 MiB secure-flash image QEMU sbsa-ref boots from: the EL3 monitor at
//! offset 0, the flash directory at `DIRECTORY_OFFSET`, and the SPMC manifest DTB, the SPMC
//! flat binary and the normal-world driver in 2 MiB-aligned slots (layout: docs/boot.md).
//!
//! The directory format and the manifest checks are the monitor's own code, included here so
//! the image builder and the firmware cannot disagree.

use std::fs::{self, File};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

#[path = "../../qemu/monitor/src/flash_directory.rs"]
pub mod flash_directory;
#[path = "../../qemu/monitor/src/spmc_manifest.rs"]
pub mod spmc_manifest;

use flash_directory::{Entry, PayloadKind};

/// The four inputs of the image, all flat binaries except the manifest (a DTB).
#[derive(Debug, Clone, Copy)]
pub struct FlashInputs<'a> {
    pub monitor: &'a Path,
    pub manifest_dtb: &'a Path,
    pub spmc: &'a Path,
    pub ns: &'a Path,
    /// Where the monitor loads and enters the normal-world image
    /// (`flash_directory::NS_IMAGE_LOAD_ADDRESS` for the driver; 2 MiB-aligned for Linux).
    pub ns_load_address: u64,
}

/// Where everything went, for the build log.
#[derive(Debug, Clone)]
pub struct FlashLayout {
    pub monitor_size: u64,
    pub entries: Vec<Entry>,
    pub spmc: spmc_manifest::SpmcAttributes,
}

impl std::fmt::Display for FlashLayout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "  {:#010x} monitor ({:#x} bytes)", 0, self.monitor_size)?;
        writeln!(
            f,
            "  {:#010x} flash directory",
            flash_directory::DIRECTORY_OFFSET
        )?;
        for e in &self.entries {
            writeln!(
                f,
                "  {:#010x} {:?} ({:#x} bytes) -> {:#x}",
                e.flash_offset, e.kind, e.size, e.load_address
            )?;
        }
        writeln!(
            f,
            "  SPMC manifest: id {:#x}, FF-A v{}.{}, entry {:#x}, region {:#x}+{:#x}",
            self.spmc.spmc_id,
            self.spmc.major_version,
            self.spmc.minor_version,
            self.spmc.entrypoint,
            self.spmc.load_address,
            self.spmc.binary_size
        )
    }
}

fn align_up(x: u64, a: u64) -> u64 {
    x.div_ceil(a) * a
}

/// Places the payloads, in order, in consecutive 2 MiB-aligned slots; checks the monitor fits
/// before the directory and everything fits the flash.
pub fn plan(monitor_size: u64, payloads: &[(PayloadKind, u64, u64)]) -> Result<Vec<Entry>, String> {
    if monitor_size > flash_directory::MONITOR_MAX_SIZE {
        return Err(format!(
            "monitor image is {monitor_size:#x} bytes, more than the {:#x} before the flash directory",
            flash_directory::MONITOR_MAX_SIZE
        ));
    }
    if payloads.len() > flash_directory::MAX_ENTRIES {
        return Err(format!(
            "{} payloads, at most {}",
            payloads.len(),
            flash_directory::MAX_ENTRIES
        ));
    }
    let mut offset = flash_directory::FIRST_SLOT_OFFSET;
    let mut entries = Vec::new();
    for &(kind, size, load_address) in payloads {
        let end = offset + size;
        if end > flash_directory::FLASH_SIZE {
            return Err(format!(
                "{kind:?} ({size:#x} bytes at {offset:#x}) does not fit the {:#x}-byte flash",
                flash_directory::FLASH_SIZE
            ));
        }
        entries.push(Entry {
            kind,
            flash_offset: offset,
            size,
            load_address,
        });
        offset = align_up(end.max(offset + 1), flash_directory::SLOT_ALIGN);
    }
    Ok(entries)
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    fs::read(path).map_err(|e| format!("cannot read the {what} {}: {e}", path.display()))
}

/// Builds the flash image at `out` (a sparse 256 MiB file) and returns its layout. The SPMC
/// goes where TF-A's BL2 puts BL32 (BL32_BASE), as the monitor expects; its manifest is
/// validated with the monitor's own rules and must name that address too.
pub fn assemble(inputs: &FlashInputs, out: &Path) -> Result<FlashLayout, String> {
    let monitor = read(inputs.monitor, "monitor image")?;
    let manifest = read(inputs.manifest_dtb, "SPMC manifest DTB")?;
    let spmc = read(inputs.spmc, "SPMC image")?;
    let ns = read(inputs.ns, "normal-world driver image")?;

    let attrs = spmc_manifest::parse(&manifest).map_err(|e| {
        format!(
            "SPMC manifest {} refused: {e:?}",
            inputs.manifest_dtb.display()
        )
    })?;
    if manifest.len() as u64 > flash_directory::SPMC_MANIFEST_MAX_SIZE {
        return Err(format!(
            "SPMC manifest DTB is {:#x} bytes, more than {:#x}",
            manifest.len(),
            flash_directory::SPMC_MANIFEST_MAX_SIZE
        ));
    }
    if attrs.load_address != flash_directory::SPMC_LOAD_ADDRESS {
        return Err(format!(
            "SPMC manifest load_address {:#x} is not TF-A's BL32_BASE {:#x}",
            attrs.load_address,
            flash_directory::SPMC_LOAD_ADDRESS
        ));
    }
    if spmc.len() as u64 > flash_directory::SPMC_MAX_SIZE {
        return Err(format!(
            "SPMC image is {:#x} bytes, more than TF-A's BL2 loads as BL32 ({:#x})",
            spmc.len(),
            flash_directory::SPMC_MAX_SIZE
        ));
    }
    if spmc.len() as u64 > u64::from(attrs.binary_size) {
        return Err(format!(
            "SPMC image is {:#x} bytes, more than the manifest's binary_size {:#x}",
            spmc.len(),
            attrs.binary_size
        ));
    }
    let entries = plan(
        monitor.len() as u64,
        &[
            (
                PayloadKind::SpmcManifest,
                manifest.len() as u64,
                flash_directory::SPMC_MANIFEST_LOAD_ADDRESS,
            ),
            (
                PayloadKind::Spmc,
                spmc.len() as u64,
                flash_directory::SPMC_LOAD_ADDRESS,
            ),
            (
                PayloadKind::NsImage,
                ns.len() as u64,
                inputs.ns_load_address,
            ),
        ],
    )?;
    let mut directory = [0u8; flash_directory::MAX_DIRECTORY_SIZE];
    let dir_len = flash_directory::encode(&entries, &mut directory)
        .map_err(|e| format!("flash directory: {e:?}"))?;
    // Read it back with the monitor's own decoder: what the monitor will see at boot.
    let decoded = flash_directory::decode(&directory[..dir_len])
        .map_err(|e| format!("the monitor would refuse this flash directory: {e:?}"))?;
    if !decoded.entries().eq(entries.iter()) {
        return Err("flash directory does not read back as written".into());
    }

    let write = || -> std::io::Result<()> {
        let mut f = File::create(out)?;
        f.write_all(&monitor)?;
        f.seek(SeekFrom::Start(flash_directory::DIRECTORY_OFFSET))?;
        f.write_all(&directory[..dir_len])?;
        for (e, bytes) in entries.iter().zip([&manifest, &spmc, &ns]) {
            f.seek(SeekFrom::Start(e.flash_offset))?;
            f.write_all(bytes)?;
        }
        f.set_len(flash_directory::FLASH_SIZE)?;
        f.sync_all()
    };
    write().map_err(|e| format!("cannot write the flash image {}: {e}", out.display()))?;
    Ok(FlashLayout {
        monitor_size: monitor.len() as u64,
        entries,
        spmc: attrs,
    })
}

#[cfg(test)]
mod layout_tests {
    use super::*;

    #[test]
    fn slots_are_aligned_and_ordered() {
        let e = plan(
            0x8000,
            &[
                (PayloadKind::SpmcManifest, 0x300, 0x3FFE_D000),
                (PayloadKind::Spmc, 0x20_0001, 0x2000_8000),
                (PayloadKind::NsImage, 0x1000, 0x100_0010_0000),
            ],
        )
        .unwrap();
        assert_eq!(e[0].flash_offset, 0x20_0000);
        assert_eq!(e[1].flash_offset, 0x40_0000);
        // The SPMC spills one byte past 2 MiB, so the next slot is 4 MiB further.
        assert_eq!(e[2].flash_offset, 0x80_0000);
        let mut buf = [0u8; flash_directory::MAX_DIRECTORY_SIZE];
        let n = flash_directory::encode(&e, &mut buf).unwrap();
        let dir = flash_directory::decode(&buf[..n]).unwrap();
        assert_eq!(dir.entries().count(), 3);
        assert_eq!(dir.find(PayloadKind::NsImage), Some(e[2]));
    }

    #[test]
    fn refuses_oversized_inputs() {
        assert!(plan(flash_directory::MONITOR_MAX_SIZE + 1, &[]).is_err());
        assert!(plan(
            0x100,
            &[(PayloadKind::Spmc, flash_directory::FLASH_SIZE, 0)]
        )
        .is_err());
    }

    #[test]
    fn assembles_an_image_the_monitor_can_read() {
        let dir = std::env::temp_dir().join(format!("xtask-flash-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let monitor = dir.join("monitor.bin");
        let spmc = dir.join("spmc.bin");
        let ns = dir.join("ns.bin");
        let dtb = dir.join("manifest.dtb");
        fs::write(&monitor, [0xAA; 100]).unwrap();
        fs::write(&spmc, [0xBB; 5000]).unwrap();
        fs::write(&ns, [0xCC; 300]).unwrap();
        fs::write(&dtb, platform_manifest()).unwrap();
        let out = dir.join("flash.img");
        let layout = assemble(
            &FlashInputs {
                monitor: &monitor,
                manifest_dtb: &dtb,
                spmc: &spmc,
                ns: &ns,
                ns_load_address: flash_directory::NS_IMAGE_LOAD_ADDRESS,
            },
            &out,
        )
        .unwrap();
        let image = fs::read(&out).unwrap();
        assert_eq!(image.len() as u64, flash_directory::FLASH_SIZE);
        assert_eq!(&image[..100], &[0xAA; 100]);
        let start = flash_directory::DIRECTORY_OFFSET as usize;
        let d = flash_directory::decode(&image[start..start + flash_directory::MAX_DIRECTORY_SIZE])
            .unwrap();
        let s = d.find(PayloadKind::Spmc).unwrap();
        assert_eq!(s.load_address, 0x2000_8000, "TF-A qemu_sbsa BL32_BASE");
        assert_eq!(&image[s.flash_offset as usize..][..5000], &[0xBB; 5000]);
        let n = d.find(PayloadKind::NsImage).unwrap();
        assert_eq!(&image[n.flash_offset as usize..][..300], &[0xCC; 300]);
        assert_eq!(layout.spmc.spmc_id, 0x8000);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// The platform manifest as `dtc` compiles qemu/spmc-sbsa/spmc_manifest.dts (written with
    /// fdt-walk's test writer so the test needs no dtc).
    fn platform_manifest() -> Vec<u8> {
        use fdt_walk::writer::{build, cells, Item};
        let mut items = vec![
            Item::Begin(""),
            Item::Prop("compatible", b"arm,ffa-core-manifest-1.0\0".to_vec()),
            Item::Begin("attribute"),
        ];
        for (name, v) in [
            ("spmc_id", 0x8000u32),
            ("maj_ver", 1),
            ("min_ver", 2),
            ("exec_state", 0),
            ("binary_size", 0x03FF_8000),
        ] {
            items.push(Item::Prop(name, cells(&[v])));
        }
        for name in ["load_address", "entrypoint"] {
            items.push(Item::Prop(name, cells(&[0, 0x2000_8000])));
        }
        items.extend([Item::End, Item::End]);
        build(&items)
    }
}
