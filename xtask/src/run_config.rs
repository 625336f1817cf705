//! The normal-world driver's run configuration: xtask writes it into the driver's flat image
//! (the area qemu/ns-driver/src/run_config.rs defines, whose parser is included here), so one
//! driver build serves every `--case` filter and SP set.

#[allow(dead_code)]
#[path = "../../qemu/ns-driver/src/run_config.rs"]
pub mod driver;

/// What one QEMU run of the driver is told.
#[derive(Clone, Debug, Default)]
pub struct RunConfig {
    /// The SP set's name: `None` for the default set (partitions/sp_layout.json).
    pub layout: Option<String>,
    /// `--case` names or `prefix*` patterns; empty runs every case.
    pub cases: Vec<String>,
    /// Run no case, only `calls`.
    pub calls_only: bool,
    /// Direct requests for the driver's client mode (qemu/ns-driver/src/client.rs).
    pub calls: Vec<CallSpec>,
    /// A fuzz run after the cases and calls: (seed, calls) (`cargo xtask fuzz`).
    pub fuzz: Option<(u64, u32)>,
}

/// One request of the client mode.
#[derive(Clone, Debug)]
pub struct CallSpec {
    pub kind: driver::CallKind,
    pub dest: ffa_abi::EndpointId,
    /// REQ2's protocol UUID registers (x2, x3).
    pub uuid: [u64; 2],
    /// Pages to share with `dest` first (0: none).
    pub share_pages: u32,
    /// Word i of the shared memory is `fill + i`.
    pub fill: u32,
    /// Payload words: numbers, or `hlo`/`hhi` for the share's handle.
    pub words: Vec<String>,
}

impl CallSpec {
    fn line(&self) -> String {
        let mut l = format!(
            "call {} {:#x} {:#x} {:#x} {} {:#x}",
            self.kind.name(),
            self.dest,
            self.uuid[0],
            self.uuid[1],
            self.share_pages,
            self.fill
        );
        for w in &self.words {
            l.push(' ');
            l.push_str(w);
        }
        l
    }
}

impl RunConfig {
    /// The configuration text (run_config.rs describes the format).
    pub fn text(&self) -> Result<String, String> {
        let mut t = String::new();
        let one_word = |what: &str, v: &str| {
            if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
                Err(format!("{what} {v:?}: must be one word"))
            } else {
                Ok(())
            }
        };
        match &self.layout {
            None => t.push_str("layout default\n"),
            Some(name) => {
                one_word("layout name", name)?;
                if name == "default" {
                    return Err(
                        "a layout other than the default one cannot be named `default`".into(),
                    );
                }
                t.push_str(&format!("layout {name}\n"));
            }
        }
        for c in &self.cases {
            one_word("--case", c)?;
            t.push_str(&format!("case {c}\n"));
        }
        if self.calls_only {
            t.push_str("calls-only\n");
        }
        for c in &self.calls {
            for w in &c.words {
                one_word("word", w)?;
            }
            let line = c.line();
            // The driver's own parser decides what it accepts.
            let cfg = format!("{}{line}\n", String::from_utf8_lossy(driver::MAGIC));
            driver::Config::parse(cfg.as_bytes()).map_err(|e| format!("{e}: {line}"))?;
            t.push_str(&line);
            t.push('\n');
        }
        if let Some((seed, calls)) = self.fuzz {
            t.push_str(&format!("fuzz {seed:#x} {calls}\n"));
        }
        Ok(t)
    }
}

/// Returns `image` (the driver's flat binary) with `config` written into its run-configuration
/// area.
pub fn patch(image: &[u8], config: &RunConfig) -> Result<Vec<u8>, String> {
    let text = config.text()?;
    let magic = driver::MAGIC.as_slice();
    // The magic also sits in the driver's read-only data (its parser compares against it):
    // the area is the occurrence followed by text and then only zeros, up to its size.
    let is_area = |at: usize| {
        image
            .get(at + magic.len()..at + driver::AREA_SIZE)
            .is_some_and(|rest| {
                let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
                rest[end..].iter().all(|&b| b == 0) && std::str::from_utf8(&rest[..end]).is_ok()
            })
    };
    let mut hits = image
        .windows(magic.len())
        .enumerate()
        .filter(|(i, w)| *w == magic && is_area(*i))
        .map(|(i, _)| i);
    let Some(at) = hits.next() else {
        return Err("the normal-world driver image has no run-configuration area".into());
    };
    if hits.next().is_some() {
        return Err("the normal-world driver image has two run-configuration areas".into());
    }
    let room = driver::AREA_SIZE - magic.len() - 1; // keep the NUL that ends the text
    if text.len() > room {
        return Err(format!(
            "run configuration is {} bytes, the driver has room for {room} (fewer --case names)",
            text.len()
        ));
    }
    let start = at + magic.len();
    let end = at + driver::AREA_SIZE;
    if image.len() < end {
        return Err("the driver image ends inside its run-configuration area".into());
    }
    let mut out = image.to_vec();
    out[start..end].fill(0);
    out[start..start + text.len()].copy_from_slice(text.as_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> Vec<u8> {
        // The parser's copy of the magic, followed by other data, comes first.
        let mut img = driver::MAGIC.to_vec();
        img.extend_from_slice(&[0xAAu8; 84]);
        img.extend_from_slice(&driver::blank_area());
        img.extend_from_slice(&[0x55; 50]);
        img
    }

    fn parsed(img: &[u8]) -> driver::Config<'_> {
        driver::Config::parse(&img[100..100 + driver::AREA_SIZE]).unwrap()
    }

    #[test]
    fn an_unpatched_area_runs_every_case_of_the_default_set() {
        let img = image();
        let c = parsed(&img);
        assert!(c.default_set());
        assert!(c.selects("anything"));
        assert_eq!(c.case_patterns().count(), 0);
    }

    #[test]
    fn a_patched_area_reads_back_layout_and_cases() {
        let cfg = RunConfig {
            layout: Some("counter_layout.json".into()),
            cases: vec!["ffa_version_1_2".into(), "mem_*".into()],
            ..RunConfig::default()
        };
        let img = patch(&image(), &cfg).unwrap();
        // Only the area changed.
        assert!(img[16..100].iter().all(|&b| b == 0xAA));
        assert!(img[100 + driver::AREA_SIZE..].iter().all(|&b| b == 0x55));
        let c = parsed(&img);
        assert!(!c.default_set());
        assert_eq!(c.layout(), "counter_layout.json");
        assert!(c.selects("ffa_version_1_2"));
        assert!(c.selects("mem_share_4096_pages"));
        assert!(!c.selects("ffa_version_1_1_gets_spmc_version"));
        assert!(!c.selects("ffa_version_1_2_and_more"));
        assert_eq!(c.calls().count(), 0);
        // Patching again replaces, not appends.
        let img = patch(&img, &RunConfig::default()).unwrap();
        let c = parsed(&img);
        assert!(c.default_set());
        assert!(c.selects("x"));
    }

    #[test]
    fn calls_read_back_with_their_words() {
        let cfg = RunConfig {
            calls_only: true,
            calls: vec![CallSpec {
                kind: driver::CallKind::Req2,
                dest: ffa_abi::EndpointId(0x8005),
                uuid: [0x1122, 0x3344],
                share_pages: 2,
                fill: 7,
                words: vec!["4".into(), "hlo".into(), "hhi".into(), "0x10".into()],
            }],
            ..RunConfig::default()
        };
        let img = patch(&image(), &cfg).unwrap();
        let c = parsed(&img);
        assert!(c.calls_only());
        let calls: Vec<_> = c.calls().collect();
        assert_eq!(calls.len(), 1);
        let k = &calls[0];
        assert_eq!(
            (k.kind, k.dest, k.uuid, k.share_pages, k.fill),
            (
                driver::CallKind::Req2,
                ffa_abi::EndpointId(0x8005),
                [0x1122, 0x3344],
                2,
                7
            )
        );
        let words: Vec<_> = k.words().map(Result::unwrap).collect();
        assert_eq!(
            words,
            [
                driver::Word::Value(4),
                driver::Word::HandleLo,
                driver::Word::HandleHi,
                driver::Word::Value(16)
            ]
        );
    }

    #[test]
    fn a_fuzz_run_reads_back_its_seed_and_length() {
        let cfg = RunConfig {
            calls_only: true,
            fuzz: Some((0xDEAD_BEEF_0123_4567, 1000)),
            ..RunConfig::default()
        };
        let img = patch(&image(), &cfg).unwrap();
        let c = parsed(&img);
        assert!(c.calls_only());
        assert_eq!(c.fuzz(), Some((0xDEAD_BEEF_0123_4567, 1000)));
        assert_eq!(
            parsed(&patch(&image(), &RunConfig::default()).unwrap()).fuzz(),
            None
        );
        let mut bad = image();
        bad[100 + 16..100 + 26].copy_from_slice(b"fuzz 1 x2\n");
        assert!(driver::Config::parse(&bad[100..100 + driver::AREA_SIZE]).is_err());
    }

    #[test]
    fn bad_inputs_are_refused() {
        assert!(patch(&[0u8; 5000], &RunConfig::default()).is_err());
        let mut two = image();
        two.extend_from_slice(&driver::blank_area());
        assert!(patch(&two, &RunConfig::default()).is_err());
        let spaced = RunConfig {
            cases: vec!["a b".into()],
            ..RunConfig::default()
        };
        assert!(patch(&image(), &spaced).is_err());
        let call = |words: &[&str]| RunConfig {
            calls: vec![CallSpec {
                kind: driver::CallKind::Req32,
                dest: ffa_abi::EndpointId(0x8005),
                uuid: [0, 0],
                share_pages: 0,
                fill: 0,
                words: words.iter().map(|w| w.to_string()).collect(),
            }],
            ..RunConfig::default()
        };
        assert!(patch(&image(), &call(&["1", "0x5"])).is_ok());
        assert!(patch(&image(), &call(&["1", "five"])).is_err());
        assert!(patch(&image(), &call(&["1", "2", "3", "4", "5", "6"]))
            .unwrap_err()
            .contains("more words"));
        let many = RunConfig {
            cases: (0..400).map(|i| format!("case_number_{i}")).collect(),
            ..RunConfig::default()
        };
        assert!(patch(&image(), &many).unwrap_err().contains("room"));
        let mut bad = image();
        bad[100 + 16..100 + 20].copy_from_slice(b"zap\n");
        assert!(driver::Config::parse(&bad[100..100 + driver::AREA_SIZE]).is_err());
    }
}
