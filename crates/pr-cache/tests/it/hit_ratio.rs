//! The hit ratio on a prefix of the ARC OLTP trace is at least exact LRU's
//! at every capacity the bench reports (the bench replays the whole trace);
//! the ARC simulator checked by hand and against LRU and OPT on prefixes of
//! both traces.

use pr_cache::{Engine, Policy};

use crate::trace::{self, Trace};

#[test]
fn default_policy_beats_exact_lru_on_the_oltp_trace() {
    let keys = trace::load_trace(Trace::Oltp, 120_000);
    assert_eq!(keys.len(), 120_000);
    for capacity in [256_u64, 512, 1000, 2000] {
        let cap = usize::try_from(capacity).unwrap();
        let lru = trace::lru_hits(&keys, cap);
        let opt = trace::opt_hits(&keys, cap);
        let ours = trace::ours_hits(&keys, capacity, Policy::default(), false);
        let strict = trace::ours_hits(&keys, capacity, Policy::default(), true);
        assert!(ours >= lru, "capacity {capacity}: ours {ours} < LRU {lru}");
        assert!(
            strict >= lru,
            "capacity {capacity}: ours (strict) {strict} < LRU {lru}"
        );
        assert!(opt >= ours && opt >= strict, "OPT is the bound: {opt}");
    }
    // Exact LRU and OPT agree with testdata/cache-trace/README.md on the whole
    // trace (the bench prints those); on a tiny trace they are checked by hand here.
    let tiny = [1, 2, 3, 1, 4, 1, 2, 5, 1, 2];
    assert_eq!(trace::lru_hits(&tiny, 3), 4);
    assert_eq!(trace::opt_hits(&tiny, 3), 5);
}

/// The fast engine keeps at least exact LRU's hit ratio on the same prefix,
/// with its default shards (one at these sizes, on any machine: a shard
/// holds at least 1,024 entries) and with 64 asked for, `quick_cache`'s own
/// default on 16 cores (it lowers them to keep 32 entries per shard).
#[test]
fn fast_engine_beats_exact_lru_on_the_oltp_trace() {
    let keys = trace::load_trace(Trace::Oltp, 120_000);
    for capacity in [256_u64, 512, 1000, 2000] {
        let cap = usize::try_from(capacity).unwrap();
        let lru = trace::lru_hits(&keys, cap);
        let fast = trace::engine_hits(&keys, capacity, Engine::Fast, None);
        let sharded = trace::engine_hits(&keys, capacity, Engine::Fast, Some(64));
        assert!(fast >= lru, "capacity {capacity}: fast {fast} < LRU {lru}");
        assert!(
            sharded >= lru,
            "capacity {capacity}: fast, 64 shards {sharded} < LRU {lru}"
        );
    }
}

/// ARC on sequences small enough to follow by hand (capacity 2).
#[test]
fn arc_simulator_on_hand_made_sequences() {
    // 1 is read twice (T2), then the one-off 2 and 3 go through T1 (2 to the
    // ghosts B1) and leave 1 resident: 2 hits, where LRU evicts 1 for 3.
    let scan = [1, 1, 2, 3, 1];
    assert_eq!(trace::arc_hits(&scan, 2), 2);
    assert_eq!(trace::lru_hits(&scan, 2), 1);
    // Ghost hits adapt p and count as misses: 1 hits in T1 (to T2); 3
    // sends 2 to B1; 2 from B1 (p = 1) sends 1 to B2; 1 from B2 (p = 0)
    // sends 3 to B1; 2 hits in T2; 3 from B1 sends 1 to B2; 1 from B2: 2 hits.
    let ghosts = [1, 2, 1, 3, 2, 1, 2, 3, 1];
    assert_eq!(trace::arc_hits(&ghosts, 2), 2);
    // Everything fits: every repeat hits.
    assert_eq!(trace::arc_hits(&[1, 2, 1, 2, 2], 2), 3);
}

/// ARC keeps at least exact LRU's hits, and at most OPT's, on prefixes of
/// both traces (the bench prints the whole traces; on OLTP it matches the
/// paper's 38.93 / 46.08 % at 1,000 / 2,000 entries to 0.02 point). ARC is
/// not always above LRU: on P3's first 200,000 keys at 1,000 entries it is
/// below (2,913 hits to 3,231; over the whole trace it is above), so P3 is
/// checked from 4,096 entries.
#[test]
fn arc_simulator_beats_exact_lru_on_both_traces() {
    for (which, len, capacities) in [
        (Trace::Oltp, 120_000, &[256_usize, 512, 1000, 2000][..]),
        (Trace::P3, 200_000, &[4096, 16384][..]),
    ] {
        let keys = trace::load_trace(which, len);
        assert_eq!(keys.len(), len);
        for &capacity in capacities {
            let lru = trace::lru_hits(&keys, capacity);
            let arc = trace::arc_hits(&keys, capacity);
            let opt = trace::opt_hits(&keys, capacity);
            assert!(arc >= lru, "{which:?} {capacity}: ARC {arc} < LRU {lru}");
            assert!(opt >= arc, "{which:?} {capacity}: ARC {arc} > OPT {opt}");
        }
    }
}
