//! Assembles the 256 MiB secure-flash image QEMU sbsa-ref boots from: the EL3 monitor at
//! offset 0, the flash directory at `DIRECTORY_OFFSET`, and the SPMC manifest DTB, the SPMC
//! flat binary and the normal-world driver in 2 MiB-aligned slots (layout: docs/boot.md).
//! The storage area at the end (`STORAGE_OFFSET`, docs/storage.md) is what the storage
//! partition wrote in earlier runs: rebuilding the image keeps it, unless told to erase it.
//!
//! The directory format and the manifest checks are the monitor's own code, included here so
//! the image builder and the firmware cannot disagree.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
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
    /// What becomes of the storage area of an existing image at `out`.
    pub storage: Storage,
}

/// The storage area of a rebuilt image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Keep what an existing image holds there (erased if there is no image yet).
    Keep,
    /// Erase it (every byte 0xFF, as an erased flash reads): `--reset-storage`.
    Reset,
}

/// What the storage area of the new image holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageOutcome {
    /// The bytes of the previous image.
    Kept,
    /// Erased, and why.
    Erased(&'static str),
}

/// Where everything went, for the build log.
#[derive(Debug, Clone)]
pub struct FlashLayout {
    pub monitor_size: u64,
    pub entries: Vec<Entry>,
    pub spmc: spmc_manifest::SpmcAttributes,
    pub storage: StorageOutcome,
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
            "  {:#010x} storage ({:#x} bytes): {}",
            flash_directory::STORAGE_OFFSET,
            flash_directory::STORAGE_SIZE,
            match &self.storage {
                StorageOutcome::Kept => "kept from the previous image".to_string(),
                StorageOutcome::Erased(why) => format!("erased ({why})"),
            }
        )?;
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
/// before the directory and everything fits below the storage area.
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
        if end > flash_directory::PAYLOAD_END {
            return Err(format!(
                "{kind:?} ({size:#x} bytes at {offset:#x}) does not fit below the storage area at {:#x}",
                flash_directory::PAYLOAD_END
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

    let (storage_bytes, storage) = old_storage(out, inputs.storage);
    let write = || -> std::io::Result<()> {
        let mut f = File::create(out)?;
        f.write_all(&monitor)?;
        f.seek(SeekFrom::Start(flash_directory::DIRECTORY_OFFSET))?;
        f.write_all(&directory[..dir_len])?;
        for (e, bytes) in entries.iter().zip([&manifest, &spmc, &ns]) {
            f.seek(SeekFrom::Start(e.flash_offset))?;
            f.write_all(bytes)?;
        }
        f.seek(SeekFrom::Start(flash_directory::STORAGE_OFFSET))?;
        f.write_all(&storage_bytes)?;
        f.set_len(flash_directory::FLASH_SIZE)?;
        f.sync_all()
    };
    write().map_err(|e| format!("cannot write the flash image {}: {e}", out.display()))?;
    Ok(FlashLayout {
        monitor_size: monitor.len() as u64,
        entries,
        spmc: attrs,
        storage,
    })
}

/// The storage area for the image at `out`: the old image's bytes, or erased flash.
fn old_storage(out: &Path, policy: Storage) -> (Vec<u8>, StorageOutcome) {
    let erased = |why| {
        (
            vec![0xFF; flash_directory::STORAGE_SIZE as usize],
            StorageOutcome::Erased(why),
        )
    };
    if policy == Storage::Reset {
        return erased("--reset-storage");
    }
    let Ok(mut f) = File::open(out) else {
        return erased("new image");
    };
    if f.metadata().map(|m| m.len()).ok() != Some(flash_directory::FLASH_SIZE) {
        return erased("the old image is not a whole flash image");
    }
    let mut bytes = vec![0u8; flash_directory::STORAGE_SIZE as usize];
    let read = f
        .seek(SeekFrom::Start(flash_directory::STORAGE_OFFSET))
        .and_then(|_| f.read_exact(&mut bytes));
    match read {
        Ok(()) => (bytes, StorageOutcome::Kept),
        Err(_) => erased("the old image could not be read"),
    }
}

/// Erases the storage area of the image at `path` in place (every byte 0xFF).
pub fn reset_storage(path: &Path) -> Result<(), String> {
    let run = || -> std::io::Result<()> {
        let mut f = fs::OpenOptions::new().write(true).open(path)?;
        f.seek(SeekFrom::Start(flash_directory::STORAGE_OFFSET))?;
        f.write_all(&vec![0xFF; flash_directory::STORAGE_SIZE as usize])?;
        f.sync_all()
    };
    run().map_err(|e| format!("cannot erase the storage area of {}: {e}", path.display()))
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
                storage: Storage::Keep,
            },
            &out,
        )
        .unwrap();
        assert_eq!(layout.storage, StorageOutcome::Erased("new image"));
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
        let storage = flash_directory::STORAGE_OFFSET as usize;
        assert!(image[storage..].iter().all(|&b| b == 0xFF), "erased");

        // What the storage partition wrote survives a rebuild with other payloads...
        let mut written = image;
        written[storage..storage + 4].copy_from_slice(b"SLOG");
        let last = written.len() - 1;
        written[last] = 0x42;
        fs::write(&out, &written).unwrap();
        fs::write(&spmc, [0xDD; 7000]).unwrap();
        let inputs = FlashInputs {
            monitor: &monitor,
            manifest_dtb: &dtb,
            spmc: &spmc,
            ns: &ns,
            ns_load_address: flash_directory::NS_IMAGE_LOAD_ADDRESS,
            storage: Storage::Keep,
        };
        let layout = assemble(&inputs, &out).unwrap();
        assert_eq!(layout.storage, StorageOutcome::Kept);
        let image = fs::read(&out).unwrap();
        assert_eq!(&image[storage..storage + 4], b"SLOG");
        assert_eq!(image[last], 0x42);
        assert_eq!(&image[s.flash_offset as usize..][..7000], &[0xDD; 7000]);
        // ... and --reset-storage erases it, as does reset_storage on an image in place.
        let layout = assemble(
            &FlashInputs {
                storage: Storage::Reset,
                ..inputs
            },
            &out,
        )
        .unwrap();
        assert_eq!(layout.storage, StorageOutcome::Erased("--reset-storage"));
        let image = fs::read(&out).unwrap();
        assert!(image[storage..].iter().all(|&b| b == 0xFF));
        let mut written = image;
        written[storage] = 0;
        fs::write(&out, &written).unwrap();
        reset_storage(&out).unwrap();
        let image = fs::read(&out).unwrap();
        assert_eq!(image.len() as u64, flash_directory::FLASH_SIZE);
        assert!(image[storage..].iter().all(|&b| b == 0xFF));
        assert_eq!(&image[..100], &[0xAA; 100]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn payloads_stay_below_the_storage_area() {
        let room = flash_directory::PAYLOAD_END - flash_directory::FIRST_SLOT_OFFSET;
        assert!(plan(0x100, &[(PayloadKind::Spmc, room, 0)]).is_ok());
        let err = plan(0x100, &[(PayloadKind::Spmc, room + 1, 0)]).unwrap_err();
        assert!(err.contains("storage area"), "{err}");
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
