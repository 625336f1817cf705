//! Snapshot test: the generator's output for tests/golden/input must equal the checked-in
//! tests/golden/expected files byte for byte. After an intended change, regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p manifest-tool --test golden` and review the diff.

use manifest_tool::{output, BuildRequest, Platform};
use std::path::Path;

fn golden() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

#[test]
fn generated_outputs_match_snapshot() {
    let layout = golden().join("input/sp_layout.json");
    let plan = manifest_tool::check(&layout, &Platform::qemu_sbsa()).unwrap();
    let out = output::generate(&plan, "sp_layout.json").unwrap();
    let expected = golden().join("expected");
    let files: [(&str, &[u8]); 3] = [
        (output::TABLE_RS, out.table_rs.as_bytes()),
        (output::BLOB_BIN, &out.blob),
        (output::TABLE_TXT, out.report.as_bytes()),
    ];
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        for (name, bytes) in files {
            std::fs::write(expected.join(name), bytes).unwrap();
        }
        return;
    }
    for (name, bytes) in files {
        let want = std::fs::read(expected.join(name)).unwrap();
        assert!(
            want == bytes,
            "{name} differs from the snapshot (UPDATE_GOLDEN=1 to refresh)"
        );
    }
}

#[test]
fn build_writes_the_same_files_and_is_idempotent() {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        return; // the snapshot is being rewritten concurrently
    }
    let layout = golden().join("input/sp_layout.json");
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("golden-build");
    let _ = std::fs::remove_dir_all(&out_dir);
    let platform = Platform::qemu_sbsa();
    let req = BuildRequest {
        layout: &layout,
        platform: &platform,
        out_dir: &out_dir,
    };
    let report = manifest_tool::build(&req).unwrap();
    assert_eq!(report.files.len(), 3);
    for name in [output::TABLE_RS, output::BLOB_BIN, output::TABLE_TXT] {
        let got = std::fs::read(out_dir.join(name)).unwrap();
        let want = std::fs::read(golden().join("expected").join(name)).unwrap();
        assert!(got == want, "{name}");
    }
    // Unchanged outputs are not rewritten (keeps the SPMC build from redoing work).
    let before = std::fs::metadata(out_dir.join(output::BLOB_BIN))
        .unwrap()
        .modified()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    manifest_tool::build(&req).unwrap();
    let after = std::fs::metadata(out_dir.join(output::BLOB_BIN))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);
    assert!(report.inputs.iter().any(|p| p.ends_with("sp3.pkg")));
}

#[test]
fn checked_in_package_is_what_pack_produces() {
    let input = golden().join("input");
    let pkg = manifest_tool::pack(&input.join("sp3.dts"), &input.join("sp3.bin")).unwrap();
    assert_eq!(pkg, std::fs::read(input.join("sp3.pkg")).unwrap());
    let parsed = manifest_tool::spkg::parse(&pkg).unwrap();
    assert_eq!(parsed.image, std::fs::read(input.join("sp3.bin")).unwrap());
    assert!(manifest_tool::fdt::is_dtb(parsed.manifest));
}
