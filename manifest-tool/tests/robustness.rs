//! The readers of untrusted bytes (DTB, manifest, SP package) never panic: they are fed
//! deterministic pseudo-random mutations of real inputs and must return, Ok or Err.

use manifest_tool::{fdt, layout, manifest, spkg};
use std::path::Path;

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }
}

fn mutate(rng: &mut Rng, good: &[u8]) -> Vec<u8> {
    let mut bad = good.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(4) {
            0 => {
                let i = rng.below(bad.len());
                bad[i] = rng.next() as u8;
            }
            1 if bad.len() >= 4 => {
                // Overwrite a whole big-endian word with an interesting value.
                let i = rng.below(bad.len() / 4) * 4;
                let v: [u32; 6] = [0, 1, 2, 3, 0xFFFF_FFFF, 0x8000_0000];
                bad[i..i + 4].copy_from_slice(&v[rng.below(6)].to_be_bytes());
            }
            2 => bad.truncate(rng.below(bad.len() + 1).max(1)),
            _ => bad.extend((0..rng.below(64)).map(|_| rng.next() as u8)),
        }
    }
    bad
}

#[test]
fn mutated_manifests_never_panic() {
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/input");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut parsed = 0;
    for name in ["sp1.dts", "sp2.dts", "sp3.dts"] {
        let file = input.join(name);
        let good = layout::read_manifest_file(&file).unwrap();
        assert!(manifest::parse_manifest(&file, &fdt::parse(&good).unwrap()).is_ok());
        for _ in 0..3000 {
            let bad = mutate(&mut rng, &good);
            if let Ok(root) = fdt::parse(&bad) {
                parsed += 1;
                let _ = manifest::parse_manifest(&file, &root);
            }
        }
    }
    // The mutations must reach the manifest rules too, not only the blob framing.
    assert!(parsed > 1000, "only {parsed} mutated blobs parsed");
}

#[test]
fn mutated_packages_never_panic() {
    let pkg =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/input/sp3.pkg"))
            .unwrap();
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    for _ in 0..5000 {
        // Mutate mostly the header, where the offsets are.
        let mut bad = pkg.clone();
        let i = rng.below(24);
        bad[i] = rng.next() as u8;
        let bad = if rng.below(2) == 0 {
            mutate(&mut rng, &bad)
        } else {
            bad
        };
        if let Ok(p) = spkg::parse(&bad) {
            assert!(p.manifest.len() + p.image.len() <= bad.len());
        }
    }
}
