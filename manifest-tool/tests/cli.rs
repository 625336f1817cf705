//! The command line: exit status 0 on success, 1 on invalid input with a
//! `file: node: rule: detail` message, 2 on usage errors.

use std::path::Path;
use std::process::Command;

fn tool() -> Command {
    Command::new(env!("CARGO_BIN_EXE_manifest-tool"))
}

fn golden_layout() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/input/sp_layout.json")
}

#[test]
fn check_and_build_succeed_on_a_valid_set() {
    let out = tool()
        .arg("check")
        .arg(golden_layout())
        .args(["--platform", "qemu-sbsa"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 SPs valid"));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-build");
    let out = tool()
        .arg("build")
        .arg(golden_layout())
        .arg("--out")
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join("partition_table.rs").is_file());
}

#[test]
fn invalid_input_exits_1_with_the_rule() {
    let case = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../partitions/fixtures/invalid/id-spmc/sp_layout.json");
    let out = tool().arg("check").arg(&case).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sp1.dts: /: endpoint-id: "), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["frobnicate"],
        &["check"],
        &["build", "x.json"],
        &["check", "x", "--bogus", "1"],
        &["pack", "--image", "x"],
    ] {
        let out = tool().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn pack_writes_a_package_the_tool_reads_back() {
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/input");
    let out_pkg = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-sp3.pkg");
    let out = tool()
        .arg("pack")
        .arg("--manifest")
        .arg(input.join("sp3.dts"))
        .arg("--image")
        .arg(input.join("sp3.bin"))
        .arg("-o")
        .arg(&out_pkg)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(&out_pkg).unwrap(),
        std::fs::read(input.join("sp3.pkg")).unwrap()
    );
    // An invalid manifest is refused before packing.
    let bad = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../partitions/fixtures/invalid/elf-format/sp1.dts");
    let out = tool()
        .arg("pack")
        .arg("--manifest")
        .arg(bad)
        .arg("--image")
        .arg(input.join("sp3.bin"))
        .arg("-o")
        .arg(&out_pkg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(": unsupported: "));
}
