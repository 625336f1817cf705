//! Review 6b: the fused map/unmap of memory-ABI ranges (6f5049c) checked against a model of
//! several transactions mapped into one SP at once, mapped and unmapped in any interleaving,
//! each in its own order (what the engine does: one `map_shared_ranges` per retrieve, one
//! `unmap_shared_ranges` per relinquish, with the transaction's constituents in the sender's
//! order).
use super::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Several transactions' ranges (pairwise disjoint, sharing 2 MiB chunks), each mapped and
/// unmapped by one call in its own order, interleaved at random: after every step every page
/// is mapped exactly when a mapped transaction holds it, no table comes from the heap when
/// the map was reserved `table_pages_for` pages, the per-chunk counts are the mapped pages,
/// and at the end every level-3 table is back in the pool.
#[test]
fn interleaved_transactions_map_exactly_their_pages() {
    let shape = (
        0usize..3,
        proptest::collection::vec((0u64..96, 1u64..12, 0usize..4), 2..20),
        proptest::collection::vec((0usize..4, any::<u64>()), 1..16),
        proptest::collection::vec((0usize..4, 0u8..3), 4..30),
    );
    let mut runner = TestRunner::new(Config {
        cases: 400,
        ..Config::default()
    });
    runner
        .run(&shape, |(start, layout, orders, steps)| {
            let origin = [0x100_4000_0000u64, 0x100_401F_C000, 0x100_3FFF_0000][start];
            // Lay the ranges out in address order and deal them to four transactions.
            let mut txs: [Vec<(u64, u64)>; 4] = Default::default();
            let mut at = origin;
            for (gap, pages, to) in layout {
                at += gap * PAGE_SIZE;
                txs[to].push((at, pages));
                at += pages * PAGE_SIZE;
            }
            let (lo, hi) = (origin, at);
            // Each transaction's own order: as laid out, reversed, or rotated/swapped.
            for (t, seed) in orders {
                let v = &mut txs[t];
                if v.len() > 1 {
                    match seed % 3 {
                        0 => v.reverse(),
                        1 => {
                            let k = (seed as usize / 3) % v.len();
                            v.rotate_left(k)
                        }
                        _ => {
                            let k = (seed as usize / 3) % (v.len() - 1);
                            v.swap(k, k + 1);
                        }
                    }
                }
            }
            let mut s = AddressSpace::new(&super::tests::test_layout(), 1).unwrap();
            let heap0 = s.pool_stats().2;
            let mut mapped = [false; 4];
            for (t, _) in steps {
                if txs[t].is_empty() {
                    continue;
                }
                if mapped[t] {
                    s.unmap_shared_ranges(&txs[t]).unwrap();
                    mapped[t] = false;
                } else {
                    let cost = table_pages_for(txs[t].iter().copied()) as usize;
                    prop_assert!(s.reserve_tables(cost));
                    let used = s.map_shared_ranges(&txs[t], UserPerm::RW).unwrap();
                    prop_assert!(used <= cost);
                    s.release_tables(cost - used);
                    mapped[t] = true;
                }
                s.trim_pool();
                prop_assert_eq!(s.pool_stats().2, heap0, "a table came from the heap");
                // Every page in the span is mapped exactly when a mapped transaction holds it.
                let mut want = std::collections::BTreeMap::<u64, u64>::new();
                let mut page = lo;
                while page < hi {
                    let held = (0..4).any(|i| {
                        mapped[i]
                            && txs[i]
                                .iter()
                                .any(|&(b, n)| page >= b && page < range_end((b, n)))
                    });
                    prop_assert_eq!(
                        s.translate(page).map(|t| t.0),
                        held.then_some(page),
                        "{:#x} after {:?}",
                        page,
                        mapped
                    );
                    if held {
                        *want.entry(page >> CHUNK_SHIFT).or_default() += 1;
                    }
                    page += PAGE_SIZE;
                }
                let mut counts: Vec<(u64, u64)> = s
                    .shared
                    .iter()
                    .filter(|&&(_, n)| n > 0)
                    .map(|&(c, n)| (c, u64::from(n)))
                    .collect();
                counts.sort_unstable();
                let want: Vec<(u64, u64)> = want.into_iter().collect();
                prop_assert_eq!(counts, want);
            }
            for t in 0..4 {
                if mapped[t] {
                    s.unmap_shared_ranges(&txs[t]).unwrap();
                }
            }
            prop_assert!(s.shared.is_empty());
            prop_assert_eq!(s.pool_stats().2, heap0);
            Ok(())
        })
        .unwrap();
}
