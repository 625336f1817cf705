//! Every invalid SP set under partitions/fixtures/invalid must be rejected with exactly the
//! error its `expected.txt` names (file, node, rule and detail).

use manifest_tool::Platform;
use std::path::{Path, PathBuf};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../partitions/fixtures/invalid")
}

#[test]
fn every_invalid_fixture_fails_with_its_expected_error() {
    let platform = Platform::qemu_sbsa();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expected.txt").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "only {} fixtures", cases.len());
    let mut failures = Vec::new();
    let mut rules = std::collections::BTreeSet::new();
    for case in &cases {
        let expected = std::fs::read_to_string(case.join("expected.txt")).unwrap();
        let expected = expected.trim_end();
        let prefix = format!("{}/", case.display());
        match manifest_tool::check(&case.join("sp_layout.json"), &platform) {
            Ok(_) => failures.push(format!("{}: accepted", case.display())),
            Err(e) => {
                rules.insert(e.rule);
                let got = e.to_string().replace(&prefix, "");
                if got != expected {
                    failures.push(format!(
                        "{}:\n  want {expected}\n  got  {got}",
                        case.display()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The fixtures are distinct in kind, not 20 variations of one mistake.
    assert!(
        rules.len() >= 20,
        "only {} distinct rules: {rules:?}",
        rules.len()
    );
}
