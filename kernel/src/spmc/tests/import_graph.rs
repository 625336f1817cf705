//! The modules of `spmc` import each other without a circle (issue 8: "the import graph has no
//! circle inside the kernel"), so each one can be read knowing only what it imports. Read from
//! the sources: every `super::name` / `crate::spmc::name` outside a test module is an edge.

extern crate std;

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use std::collections::{BTreeMap, BTreeSet};

/// How an `spmc` module names another.
const SPMC: &[&str] = &["super::", "crate::spmc::"];

/// The `modules` other than `me` that a source names through one of `prefixes` (`super::` and
/// `crate::spmc::` for the `spmc` modules; `crate::` for the crate's top-level ones, the
/// crate-level test in lib.rs), outside its `#[cfg(test)]` tail.
pub(crate) fn imports(
    src: &str,
    modules: &BTreeSet<String>,
    me: &str,
    prefixes: &[&str],
) -> BTreeSet<String> {
    let code = src.split("#[cfg(test)]").next().unwrap_or("");
    let mut out = BTreeSet::new();
    for prefix in prefixes {
        for (i, _) in code.match_indices(prefix) {
            let rest = &code[i + prefix.len()..];
            // `super::{a, b::C}` or `super::a`.
            let names: Vec<&str> = match rest.strip_prefix('{') {
                Some(list) => list[..list.find('}').unwrap_or(0)]
                    .split(',')
                    .map(|s| s.trim().split("::").next().unwrap_or(""))
                    .collect(),
                None => Vec::from([rest
                    .split(|c: char| !c.is_alphanumeric() && c != '_')
                    .next()
                    .unwrap_or("")]),
            };
            for n in names {
                if n != me && modules.contains(n) {
                    out.insert(n.to_string());
                }
            }
        }
    }
    out
}

/// A path `from` -> ... -> `from`, if the graph has one through `from`.
pub(crate) fn circle_through(
    graph: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
) -> Option<Vec<String>> {
    let mut stack = Vec::from([(from.to_string(), Vec::from([from.to_string()]))]);
    let mut seen = BTreeSet::new();
    while let Some((at, path)) = stack.pop() {
        for next in graph.get(&at).into_iter().flatten() {
            if next == from {
                let mut p = path.clone();
                p.push(next.clone());
                return Some(p);
            }
            if seen.insert(next.clone()) {
                let mut p = path.clone();
                p.push(next.clone());
                stack.push((next.clone(), p));
            }
        }
    }
    None
}

#[test]
fn spmc_modules_import_each_other_without_a_circle() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/spmc");
    let mut sources = BTreeMap::new();
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if let Some(m) = name.strip_suffix(".rs") {
            if m != "tests" {
                sources.insert(m.to_string(), std::fs::read_to_string(e.path()).unwrap());
            }
        }
    }
    assert!(sources.contains_key("dispatch") && sources.contains_key("partition"));
    let modules: BTreeSet<String> = sources.keys().cloned().collect();
    let graph: BTreeMap<String, BTreeSet<String>> = sources
        .iter()
        .map(|(m, src)| (m.clone(), imports(src, &modules, m, SPMC)))
        .collect();
    // The parser sees the edges it must (a check that cannot pass vacuously).
    assert!(
        graph["dispatch"].contains("partition"),
        "{:?}",
        graph["dispatch"]
    );
    assert!(
        graph["interrupt"].contains("partition"),
        "{:?}",
        graph["interrupt"]
    );
    for m in &modules {
        if let Some(c) = circle_through(&graph, m) {
            panic!("import circle: {}", c.join(" -> "));
        }
    }
}

#[test]
fn the_parser_finds_a_circle() {
    let modules: BTreeSet<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
    let graph: BTreeMap<String, BTreeSet<String>> = [
        (
            "a".to_string(),
            imports("use super::{b, x};", &modules, "a", SPMC),
        ),
        (
            "b".to_string(),
            imports(
                "use super::a::T;\n#[cfg(test)]\nuse super::c;",
                &modules,
                "b",
                SPMC,
            ),
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        circle_through(&graph, "a"),
        Some(["a", "b", "a"].map(String::from).to_vec())
    );
}
