//! The hit ratio on a prefix of the ARC OLTP trace is at least exact LRU's
//! at every capacity the bench reports (the bench replays the whole trace).

use pr_cache::{Engine, Policy};

use crate::trace;

#[test]
fn default_policy_beats_exact_lru_on_the_oltp_trace() {
    let keys = trace::load(120_000);
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
    let keys = trace::load(120_000);
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
