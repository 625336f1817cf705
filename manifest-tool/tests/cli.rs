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

/// One run reports every broken SP, each with its file or layout key, not only the first.
#[test]
fn every_error_is_reported_not_only_the_first() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../partitions/fixtures/invalid");
    let fixtures = fixtures.canonicalize().unwrap();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-all-errors");
    std::fs::create_dir_all(&dir).unwrap();
    let tiny = fixtures.join("common/tiny.bin");
    let layout = dir.join("sp_layout.json");
    std::fs::write(
        &layout,
        format!(
            r#"{{
  "a": {{ "image": "{tiny}", "pm": "{range}" }},
  "b": {{ "image": "{tiny}", "pm": "{spmc}" }},
  "c": {{ "image": "{tiny}", "pm": "{range}", "colour": "blue" }},
  "d": {{ "image": "{missing}", "pm": "{range}" }}
}}"#,
            tiny = tiny.display(),
            range = fixtures.join("boot-order-range/sp1.dts").display(),
            spmc = fixtures.join("id-spmc/sp1.dts").display(),
            missing = dir.join("no-such.bin").display(),
        ),
    )
    .unwrap();
    // The layout's own errors come first (every entry), then each SP's.
    let errors =
        manifest_tool::check_all(&layout, &manifest_tool::Platform::qemu_sbsa()).unwrap_err();
    let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].contains("/c/colour: unknown-key"), "{lines:#?}");
    // Without the layout error: one error per broken SP.
    let text = std::fs::read_to_string(&layout)
        .unwrap()
        .replace(r#", "colour": "blue""#, "");
    std::fs::write(&layout, text).unwrap();
    let errors =
        manifest_tool::check_all(&layout, &manifest_tool::Platform::qemu_sbsa()).unwrap_err();
    let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert!(
        lines[0].contains("boot-order-range/sp1.dts: /: value-range"),
        "{lines:#?}"
    );
    assert!(
        lines[1].contains("id-spmc/sp1.dts: /: endpoint-id"),
        "{lines:#?}"
    );
    assert!(
        lines[2].contains("boot-order-range/sp1.dts: /: value-range"),
        "{lines:#?}"
    );
    assert!(
        lines[3].contains("no-such.bin: /: file-unreadable: ")
            && lines[3].contains("(layout key /d/image)"),
        "{lines:#?}"
    );
    // The command line prints them all.
    let out = tool().arg("check").arg(&layout).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("endpoint-id") && err.contains("value-range") && err.contains("4 errors"),
        "{err}"
    );
}

#[test]
fn uuid_prints_the_manifest_cells() {
    let out = tool()
        .args(["uuid", "7c0a39e4-5bd2-4a53-8c1e-2f7d1e0c0a05"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "uuid = <0xe4390a7c 0x534ad25b 0x7d2f1e8c 0x050a0c1e>;"
    );
    let out = tool().args(["uuid", "not-a-uuid"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
