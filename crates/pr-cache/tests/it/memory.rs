//! The memory cache: bounds, expiry on a manual clock, listener causes,
//! exact statistics, one loader run per key, stale-while-revalidate.

use std::future::Future as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pr_cache::{CacheSnapshot, Error, MemoryCache, RemovalCause};
use pr_core::time::ManualClock;

use super::ENGINE;

/// A builder on the engine this copy of the tests runs against (see
/// `main.rs`: the same tests run on each engine).
fn builder<K, V>() -> pr_cache::MemoryCacheBuilder<K, V>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    MemoryCache::builder().engine(ENGINE)
}

/// A moka eviction policy, set on the moka engine only (the fast engine has
/// its own policy and rejects one: see `engine.rs`).
trait MokaPolicy {
    fn moka_policy(self, policy: pr_cache::Policy) -> Self;
}

impl<K, V> MokaPolicy for pr_cache::MemoryCacheBuilder<K, V>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn moka_policy(self, policy: pr_cache::Policy) -> Self {
        if ENGINE == pr_cache::Engine::Moka {
            self.policy(policy)
        } else {
            self
        }
    }
}

type Removed = Arc<Mutex<Vec<(String, u32, RemovalCause)>>>;

fn listened(
    builder: pr_cache::MemoryCacheBuilder<String, u32>,
) -> (pr_cache::MemoryCacheBuilder<String, u32>, Removed) {
    let removed = Removed::default();
    let sink = Arc::clone(&removed);
    let builder = builder.eviction_listener(move |k: &String, v: &u32, cause| {
        sink.lock().unwrap().push((k.clone(), *v, cause));
    });
    (builder, removed)
}

#[test]
fn insert_get_invalidate_by_key_predicate_and_prefix() {
    let (builder, removed) = listened(builder().max_entries(100).record_stats());
    let cache = builder.build().unwrap();
    for (i, k) in ["user:1", "user:2", "order:1", "order:2", "misc"]
        .iter()
        .enumerate()
    {
        cache.insert((*k).to_owned(), u32::try_from(i).unwrap());
    }
    assert_eq!(cache.get("user:2"), Some(1));
    cache.insert("misc".to_owned(), 40);
    assert_eq!(cache.get("misc"), Some(40));
    cache.invalidate("misc");
    assert_eq!(cache.get("misc"), None);
    assert_eq!(cache.invalidate_prefix("user:"), 2);
    assert_eq!(cache.invalidate_if(|_, v| *v == 3), 1);
    assert_eq!(cache.get("order:1"), Some(2));
    assert_eq!(cache.get("order:2"), None);
    assert_eq!(cache.remove("order:1"), Some(2));
    let removed = removed.lock().unwrap().clone();
    let causes: Vec<_> = removed.iter().map(|r| r.2).collect();
    assert_eq!(
        causes
            .iter()
            .filter(|c| **c == RemovalCause::Replaced)
            .count(),
        1
    );
    assert_eq!(
        causes
            .iter()
            .filter(|c| **c == RemovalCause::Explicit)
            .count(),
        5
    );
    assert!(removed.contains(&("misc".to_owned(), 4, RemovalCause::Replaced)));
    let stats = cache.snapshot().unwrap();
    assert_eq!((stats.hits, stats.misses), (3, 2));
}

#[test]
fn ttl_and_per_entry_expiry_follow_the_injected_clock() {
    let clock = ManualClock::new();
    let (builder, removed) = listened(
        builder()
            .time_to_live(Duration::from_secs(60))
            .clock(clock.clock())
            .record_stats(),
    );
    let cache = builder.build().unwrap();
    cache.insert("a".to_owned(), 1);
    cache.insert_with_ttl("short".to_owned(), 2, Duration::from_secs(5));
    cache.insert_with_ttl("long".to_owned(), 3, Duration::from_secs(600));
    clock.advance(Duration::from_secs(4));
    assert_eq!(cache.get("short"), Some(2));
    clock.advance(Duration::from_secs(1));
    assert_eq!(cache.get("short"), None);
    assert_eq!(cache.get("a"), Some(1));
    assert_eq!(cache.age("a"), Some(Duration::from_secs(5)));
    clock.advance(Duration::from_secs(55));
    assert_eq!(cache.get("a"), None);
    assert_eq!(cache.get("long"), Some(3));
    let removed = removed.lock().unwrap().clone();
    assert_eq!(
        removed,
        [
            ("short".to_owned(), 2, RemovalCause::Expired),
            ("a".to_owned(), 1, RemovalCause::Expired)
        ]
    );
    let stats = cache.snapshot().unwrap();
    assert_eq!(stats.removals.get(RemovalCause::Expired), 2);
    assert_eq!(stats.eviction_count(), 2);
}

#[test]
fn time_to_idle_is_reset_by_reads() {
    let clock = ManualClock::new();
    let cache: MemoryCache<String, u32> = builder()
        .time_to_idle(Duration::from_secs(10))
        .clock(clock.clock())
        .build()
        .unwrap();
    cache.insert("k".to_owned(), 1);
    for _ in 0..5 {
        clock.advance(Duration::from_secs(9));
        assert_eq!(cache.get("k"), Some(1));
    }
    clock.advance(Duration::from_secs(10));
    assert_eq!(cache.get("k"), None);
}

#[test]
fn weight_bound_evicts_with_cause_size_and_counts_weight() {
    let (builder, removed) = listened(
        builder()
            .max_weight(1_000, |_: &String, v: &u32| *v)
            .moka_policy(pr_cache::Policy::Lru)
            .record_stats(),
    );
    let cache = builder.build().unwrap();
    for i in 0..50 {
        cache.insert(format!("k{i}"), 100);
        cache.run_pending_tasks();
    }
    cache.run_pending_tasks();
    assert!(cache.weighted_size() <= 1_000, "{}", cache.weighted_size());
    let removed = removed.lock().unwrap().clone();
    assert!(removed.len() >= 40);
    assert!(removed.iter().all(|r| r.2 == RemovalCause::Size));
    let stats = cache.snapshot().unwrap();
    let n = u64::try_from(removed.len()).unwrap();
    assert_eq!(stats.removals.get(RemovalCause::Size), n);
    assert_eq!(stats.removed_weight.get(RemovalCause::Size), n * 100);
    assert_eq!(stats.eviction_weight(), n * 100);
}

#[test]
fn stats_are_exact_against_a_counted_workload() {
    let clock = ManualClock::new();
    let cache: MemoryCache<u32, u32> = builder()
        .max_entries(10_000)
        .clock(clock.clock())
        .record_stats()
        .build()
        .unwrap();
    for k in 0..100 {
        cache.insert(k, k);
    }
    // 100 hits, 100 misses.
    for k in 0..200 {
        let _ = cache.get(&k);
    }
    // 30 loads of 7 ms each (20 succeed, 10 fail), then 20 hits on them.
    for k in 1_000..1_030 {
        let r = cache.try_get_or_insert_with_blocking(k, || {
            clock.advance(Duration::from_millis(7));
            if k % 3 == 0 { Err("no") } else { Ok(k) }
        });
        assert_eq!(r.is_ok(), k % 3 != 0);
    }
    for k in 1_000..1_030 {
        if k % 3 != 0 {
            assert_eq!(cache.get_or_insert_with_blocking(k, || unreachable!()), k);
        }
    }
    cache.invalidate(&1);
    cache.insert(2, 20);
    cache.run_pending_tasks();
    let stats = cache.snapshot().unwrap();
    assert_eq!(stats.hits, 100 + 20);
    assert_eq!(stats.misses, 100 + 30);
    assert_eq!(stats.load_successes, 20);
    assert_eq!(stats.load_failures, 10);
    assert_eq!(stats.total_load_time, Duration::from_millis(7 * 30));
    assert_eq!(stats.average_load_penalty(), Duration::from_millis(7));
    assert_eq!(stats.removals.get(RemovalCause::Explicit), 1);
    assert_eq!(stats.removals.get(RemovalCause::Replaced), 1);
    assert_eq!(stats.eviction_count(), 0);
    assert!((stats.hit_ratio() - 120.0 / 250.0).abs() < 1e-12);

    let off: MemoryCache<u32, u32> = builder().build().unwrap();
    let _ = off.get(&1);
    assert_eq!(off.snapshot(), None);
    assert_eq!(CacheSnapshot::default().hit_ratio(), 1.0);
}

#[test]
fn a_thousand_threads_run_one_loader() {
    let cache: MemoryCache<String, u64> = builder().record_stats().build().unwrap();
    let runs = AtomicUsize::new(0);
    let barrier = std::sync::Barrier::new(1_000);
    std::thread::scope(|s| {
        for _ in 0..1_000 {
            s.spawn(|| {
                barrier.wait();
                let v = cache.get_or_insert_with_blocking("hot".to_owned(), || {
                    runs.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(5));
                    99
                });
                assert_eq!(v, 99);
            });
        }
    });
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let stats = cache.snapshot().unwrap();
    assert_eq!(
        (stats.misses, stats.hits, stats.load_successes),
        (1, 999, 1)
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_thousand_tasks_run_one_async_loader_and_share_its_error() {
    let cache: MemoryCache<String, u64> = builder().record_stats().build().unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..1_000 {
        let cache = cache.clone();
        let runs = Arc::clone(&runs);
        tasks.push(tokio::spawn(async move {
            cache
                .get_or_insert_with("hot".to_owned(), || async {
                    runs.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    7
                })
                .await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 7);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    // Errors: shared by concurrent callers, not cached.
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let cache = cache.clone();
        let runs = Arc::clone(&runs);
        tasks.push(tokio::spawn(async move {
            cache
                .try_get_or_insert_with("bad".to_owned(), || async {
                    runs.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Err::<u64, _>("backend down")
                })
                .await
        }));
    }
    for t in tasks {
        assert_eq!(*t.await.unwrap().unwrap_err(), "backend down");
    }
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    let again = cache
        .try_get_or_insert_with("bad".to_owned(), || async { Ok::<_, &str>(1) })
        .await;
    assert_eq!(again.unwrap(), 1);
    let stats = cache.snapshot().unwrap();
    assert_eq!(stats.load_successes, 2);
    assert_eq!(stats.load_failures, 1);
    assert_eq!(stats.hits, 999);
    assert_eq!(stats.misses, 1 + 100 + 1);
}

#[test]
fn sync_errors_are_not_cached() {
    let cache: MemoryCache<u8, u8> = builder().build().unwrap();
    assert_eq!(
        *cache
            .try_get_or_insert_with_blocking(1, || Err("no"))
            .unwrap_err(),
        "no"
    );
    assert_eq!(
        cache
            .try_get_or_insert_with_blocking(1, || Ok::<_, &str>(5))
            .unwrap(),
        5
    );
    // A failure cached on purpose: the value is a Result, with a short TTL.
    let negative: MemoryCache<u8, Result<u8, String>> = builder().build().unwrap();
    negative.insert_with_ttl(1, Err("not found".to_owned()), Duration::from_secs(5));
    assert_eq!(
        negative.get_or_insert_with_blocking(1, || Ok(1)),
        Err("not found".to_owned())
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn stale_while_revalidate_returns_old_value_and_refreshes_once() {
    let clock = ManualClock::new();
    let cache: MemoryCache<String, u32> = builder()
        .refresh_after(Duration::from_secs(10))
        .clock(clock.clock())
        .record_stats()
        .build()
        .unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(tokio::sync::Notify::new());
    let loader = |value: u32| {
        let runs = Arc::clone(&runs);
        let gate = Arc::clone(&gate);
        move || async move {
            runs.fetch_add(1, Ordering::SeqCst);
            if value > 1 {
                gate.notified().await;
            }
            Ok::<u32, String>(value)
        }
    };
    assert_eq!(
        cache
            .get_or_refresh("k".to_owned(), loader(1))
            .await
            .unwrap(),
        1
    );
    clock.advance(Duration::from_secs(5));
    assert_eq!(
        cache
            .get_or_refresh("k".to_owned(), loader(2))
            .await
            .unwrap(),
        1
    );
    tokio::task::yield_now().await;
    assert_eq!(runs.load(Ordering::SeqCst), 1, "young: no refresh");

    clock.advance(Duration::from_secs(6));
    for _ in 0..5 {
        // Old value at once, while the one refresh waits at the gate.
        assert_eq!(
            cache
                .get_or_refresh("k".to_owned(), loader(2))
                .await
                .unwrap(),
            1
        );
        tokio::task::yield_now().await;
    }
    assert_eq!(runs.load(Ordering::SeqCst), 2, "one refresh");
    gate.notify_one();
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(cache.get("k"), Some(2));
    assert_eq!(cache.age("k"), Some(Duration::ZERO));
    let stats = cache.snapshot().unwrap();
    assert_eq!(stats.load_successes, 2);
}

#[test]
fn invalid_configuration_lists_every_problem() {
    let err = builder::<u8, u8>()
        .max_entries(1)
        .max_weight(1, |_, _| 1)
        .time_to_live(Duration::ZERO)
        .name("")
        .build()
        .unwrap_err();
    let Error::InvalidConfig { problems } = &err else {
        panic!("{err}")
    };
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert_eq!(
        pr_errors::CodedError::code(&err).as_str(),
        "cache.invalid_config"
    );
}

#[test]
fn configuration_builds_a_cache_and_reports_every_problem() {
    let config: pr_cache::MemoryCacheConfig = serde_json::from_str(&format!(
        r#"{{"name": "users", "max_entries": 5, "time_to_live": "1m", "record_stats": true, "engine": "{}"}}"#,
        ENGINE.as_str()
    ))
    .unwrap();
    assert_eq!(config.engine, ENGINE);
    let cache: MemoryCache<u8, u8> = MemoryCache::from_config(&config).unwrap();
    assert_eq!(cache.engine(), ENGINE);
    cache.insert(1, 1);
    assert_eq!(cache.get(&1), Some(1));
    assert_eq!(cache.name(), "users");
    assert_eq!(cache.snapshot().unwrap().hits, 1);
    assert_eq!(config.time_to_live.as_std(), Duration::from_secs(60));
    assert!(pr_core::validate::check(&pr_cache::MemoryCacheConfig::default()).is_ok());

    let mut bad = pr_cache::MemoryCacheConfig::default();
    bad.name.clear();
    bad.max_entries = 0;
    bad.time_to_live = pr_core::units::Duration::from_secs(1);
    bad.refresh_after = pr_core::units::Duration::from_secs(2);
    let Err(Error::InvalidConfig { problems }) = MemoryCache::<u8, u8>::from_config(&bad) else {
        panic!("invalid")
    };
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        ["name", "max_entries", "refresh_after"],
        "{problems:?}"
    );
    assert!(
        serde_json::from_str::<pr_cache::MemoryCacheConfig>(r#"{"max_entrys": 1}"#).is_err(),
        "unknown fields are refused"
    );
    // The `_ms` keys went before 0.1: unknown now.
    for old in ["time_to_live_ms", "time_to_idle_ms", "refresh_after_ms"] {
        let json = format!(r#"{{"{old}": 1000}}"#);
        let err = serde_json::from_str::<pr_cache::MemoryCacheConfig>(&json).unwrap_err();
        assert!(err.to_string().contains(old), "{err}");
    }
}

/// The bytes the live entries' keys and values hold, as `Weigh` counts
/// them (a walk with a predicate that removes nothing).
fn live_bytes(cache: &MemoryCache<String, String>) -> (usize, usize) {
    use pr_cache::Weigh as _;
    let (mut bytes, mut entries) = (0, 0);
    cache.invalidate_if(|k, v| {
        bytes += k.weigh() + v.weigh();
        entries += 1;
        false
    });
    (bytes, entries)
}

/// Client-chosen keys of 16 KB, 2,000 distinct: a cache bounded in bytes
/// stays within its bound, where an entry bound alone would hold them all
/// (32 MB). With both bounds set, the count bound still holds too.
#[test]
fn a_byte_bound_holds_against_many_long_keys() {
    const MAX_BYTES: u64 = 1 << 20;
    for policy in [
        pr_cache::Policy::WindowTinyLfu,
        pr_cache::Policy::TinyLfu,
        pr_cache::Policy::Lru,
    ] {
        let cache: MemoryCache<String, String> = builder()
            .max_entries(10_000)
            .max_bytes(MAX_BYTES)
            .moka_policy(policy)
            .record_stats()
            .build()
            .unwrap();
        for i in 0..2_000 {
            let key = format!("{i:05}{}", "k".repeat(16 * 1024));
            cache.insert(key, "v".repeat(100));
            if i % 100 == 99 {
                cache.run_pending_tasks();
                assert!(
                    cache.weighted_size() <= MAX_BYTES,
                    "{policy:?}: {}",
                    cache.weighted_size()
                );
            }
        }
        cache.run_pending_tasks();
        let (bytes, entries) = live_bytes(&cache);
        assert!(
            cache.weighted_size() <= MAX_BYTES,
            "{policy:?}: {}",
            cache.weighted_size()
        );
        assert!(bytes as u64 <= MAX_BYTES, "{policy:?}: {bytes} bytes held");
        assert!(
            entries > 0 && entries <= 64,
            "{policy:?}: {entries} entries"
        );
        assert_eq!(cache.entry_count(), entries as u64, "{policy:?}");
        let stats = cache.snapshot().unwrap();
        assert!(
            stats.removals.get(RemovalCause::Size) >= 2_000 - 64,
            "{policy:?}: {stats:?}"
        );
        // A single entry over the whole bound is not kept.
        cache.insert("huge".repeat(300_000), String::new());
        cache.run_pending_tasks();
        assert!(cache.weighted_size() <= MAX_BYTES, "{policy:?}");
        assert_eq!(cache.get(&"huge".repeat(300_000)), None, "{policy:?}");
    }

    // Small entries fill the cache up to the entry bound, never past it.
    for policy in [pr_cache::Policy::WindowTinyLfu, pr_cache::Policy::Lru] {
        let cache: MemoryCache<u64, u64> = builder()
            .max_entries(100)
            .max_bytes(MAX_BYTES)
            .moka_policy(policy)
            .build()
            .unwrap();
        for i in 0..10_000 {
            cache.insert(i, i);
            if i % 50 == 49 {
                cache.run_pending_tasks();
                assert!(
                    cache.entry_count() <= 100,
                    "{policy:?}: {}",
                    cache.entry_count()
                );
            }
        }
        cache.run_pending_tasks();
        assert!(cache.weighted_size() <= MAX_BYTES, "{policy:?}");
        assert!(
            (90..=100).contains(&cache.entry_count()),
            "{policy:?}: {}",
            cache.entry_count()
        );
    }

    // A closure for types without `Weigh`, and a bound in bytes alone.
    let cache: MemoryCache<String, Vec<String>> = builder()
        .max_bytes_with(64 * 1024, |k: &String, v: &Vec<String>| {
            k.len() + v.iter().map(String::len).sum::<usize>()
        })
        .build()
        .unwrap();
    for i in 0..1_000 {
        cache.insert(format!("{i:04}"), vec!["x".repeat(1_000)]);
    }
    cache.run_pending_tasks();
    assert!(
        cache.weighted_size() <= 64 * 1024,
        "{}",
        cache.weighted_size()
    );
    assert!(cache.entry_count() <= 64);
}

#[test]
fn byte_bounds_are_validated_and_configured() {
    let Err(Error::InvalidConfig { problems }) = builder::<String, String>().max_bytes(0).build()
    else {
        panic!("a zero byte bound is invalid")
    };
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].to_string(), "max_bytes: must be greater than 0");
    let Err(Error::InvalidConfig { problems }) = builder::<String, String>()
        .max_bytes(1 << 20)
        .max_weight(10, |_, _| 1)
        .build()
    else {
        panic!("a byte and a weight bound are one too many")
    };
    assert_eq!(problems.len(), 1, "{problems:?}");
    let Err(Error::InvalidConfig { problems }) = builder::<String, String>()
        .max_entries(1)
        .max_bytes(1 << 40)
        .build()
    else {
        panic!("over 4 GiB per entry")
    };
    assert!(
        problems[0]
            .to_string()
            .starts_with("max_bytes: must be at most 4GiB"),
        "{problems:?}"
    );

    let config = pr_cache::MemoryCacheConfig::default();
    assert_eq!(config.max_size.as_u64(), 32 << 20, "the documented default");
    let mut config: pr_cache::MemoryCacheConfig =
        serde_json::from_str(r#"{"max_entries": 1000, "max_size": "256KiB"}"#).unwrap();
    assert_eq!(config.max_size.as_u64(), 262_144);
    config.engine = ENGINE;
    assert!(
        serde_json::from_str::<pr_cache::MemoryCacheConfig>(r#"{"max_bytes": 262144}"#).is_err(),
        "the `_bytes` key went before 0.1"
    );
    let cache: MemoryCache<String, String> = MemoryCache::from_config(&config).unwrap();
    for i in 0..500 {
        cache.insert(format!("{i:04}{}", "k".repeat(4_000)), String::new());
    }
    cache.run_pending_tasks();
    assert!(
        cache.weighted_size() <= 262_144,
        "{}",
        cache.weighted_size()
    );
    assert!(live_bytes(&cache).0 <= 262_144);
    let with: MemoryCache<String, Vec<String>> =
        MemoryCache::from_config_with(&config, |k: &String, _: &Vec<String>| k.len()).unwrap();
    with.insert("k".to_owned(), Vec::new());
    assert_eq!(with.get("k"), Some(Vec::new()));

    config.max_size = pr_core::units::ByteSize(0);
    config.max_entries = 0;
    let Err(Error::InvalidConfig { problems }) = MemoryCache::<u8, u8>::from_config(&config) else {
        panic!("invalid")
    };
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["max_entries", "max_size"], "{problems:?}");
    config.max_entries = 1;
    config.max_size = pr_core::units::ByteSize(1 << 40);
    let problems = pr_core::validate::check(&config).unwrap_err();
    assert_eq!(
        problems[0].to_string(),
        "max_size: must be at most 4GiB per entry of `max_entries`"
    );
}

proptest::proptest! {
    /// Any sequence of gets, inserts, invalidations and loads: the cache
    /// answers as a map would, and its statistics count exactly.
    #[test]
    fn behaves_like_a_map_and_counts_exactly(
        ops in proptest::collection::vec((0_u8..4, 0_u8..12, proptest::num::u8::ANY), 0..200)
    ) {
        let cache: MemoryCache<u8, u8> = builder().record_stats().build().unwrap();
        let mut model = std::collections::HashMap::new();
        let (mut hits, mut misses, mut loads, mut explicit, mut replaced) = (0, 0, 0, 0, 0);
        for (op, k, v) in ops {
            match op {
                0 => {
                    let got = cache.get(&k);
                    proptest::prop_assert_eq!(got, model.get(&k).copied());
                    if got.is_some() { hits += 1 } else { misses += 1 }
                }
                1 => {
                    cache.insert(k, v);
                    if model.insert(k, v).is_some() {
                        replaced += 1;
                    }
                }
                2 => {
                    cache.invalidate(&k);
                    if model.remove(&k).is_some() {
                        explicit += 1;
                    }
                }
                _ => {
                    let got = cache.get_or_insert_with_blocking(k, || v);
                    if let std::collections::hash_map::Entry::Vacant(e) = model.entry(k) {
                        misses += 1;
                        loads += 1;
                        e.insert(v);
                    } else {
                        hits += 1;
                    }
                    proptest::prop_assert_eq!(got, model[&k]);
                }
            }
        }
        let stats = cache.snapshot().unwrap();
        proptest::prop_assert_eq!(stats.hits, hits);
        proptest::prop_assert_eq!(stats.misses, misses);
        proptest::prop_assert_eq!(stats.load_successes, loads);
        proptest::prop_assert_eq!(stats.removals.get(RemovalCause::Explicit), explicit);
        proptest::prop_assert_eq!(stats.removals.get(RemovalCause::Replaced), replaced);
    }
}

proptest::proptest! {
    /// A bounded cache (window + moka): a get returns the latest value
    /// written for its key or nothing, never an older or invalidated one,
    /// and after maintenance the bound holds.
    #[test]
    fn bounded_cache_never_returns_a_stale_value(
        ops in proptest::collection::vec((0_u8..3, 0_u8..40, proptest::num::u8::ANY), 0..300)
    ) {
        let cache: MemoryCache<u8, u8> = builder().max_entries(20).build().unwrap();
        let mut latest = std::collections::HashMap::new();
        for (op, k, v) in ops {
            match op {
                0 => {
                    if let Some(got) = cache.get(&k) {
                        proptest::prop_assert_eq!(Some(&got), latest.get(&k));
                    }
                }
                1 => {
                    cache.insert(k, v);
                    latest.insert(k, v);
                }
                _ => {
                    cache.invalidate(&k);
                    latest.remove(&k);
                    proptest::prop_assert_eq!(cache.get(&k), None);
                }
            }
        }
        cache.run_pending_tasks();
        proptest::prop_assert!(cache.entry_count() <= 20, "{}", cache.entry_count());
    }
}

#[test]
fn sync_stale_while_revalidate_refreshes_once_on_a_thread() {
    let clock = ManualClock::new();
    let cache: MemoryCache<String, u32> = builder()
        .refresh_after(Duration::from_secs(10))
        .clock(clock.clock())
        .build()
        .unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let (open, gate) = std::sync::mpsc::channel::<()>();
    let gate = Arc::new(Mutex::new(gate));
    let loader = |value: u32| {
        let runs = Arc::clone(&runs);
        let gate = Arc::clone(&gate);
        move || {
            runs.fetch_add(1, Ordering::SeqCst);
            if value > 1 {
                gate.lock().unwrap().recv().unwrap();
            }
            Ok::<u32, String>(value)
        }
    };
    assert_eq!(
        cache
            .get_or_refresh_blocking("k".to_owned(), loader(1))
            .unwrap(),
        1
    );
    clock.advance(Duration::from_secs(11));
    for _ in 0..5 {
        // The old value at once, while the one refresh waits at the gate.
        assert_eq!(
            cache
                .get_or_refresh_blocking("k".to_owned(), loader(2))
                .unwrap(),
            1
        );
    }
    open.send(()).unwrap();
    for _ in 0..2_000 {
        if cache.get("k") == Some(2) {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(cache.get("k"), Some(2));
    assert_eq!(runs.load(Ordering::SeqCst), 2, "one load, one refresh");
}

#[test]
fn a_thousand_threads_run_one_loader_through_the_window() {
    // Bounded, default policy: loads go through the window, not moka's loader.
    let cache: MemoryCache<String, u64> =
        builder().max_entries(1_000).record_stats().build().unwrap();
    let runs = AtomicUsize::new(0);
    let barrier = std::sync::Barrier::new(1_000);
    std::thread::scope(|s| {
        for _ in 0..1_000 {
            s.spawn(|| {
                barrier.wait();
                let v = cache.get_or_insert_with_blocking("hot".to_owned(), || {
                    runs.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(5));
                    99
                });
                assert_eq!(v, 99);
            });
        }
    });
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let stats = cache.snapshot().unwrap();
    assert_eq!(
        (stats.misses, stats.hits, stats.load_successes),
        (1, 999, 1)
    );
    // Errors are shared by waiters, and not cached.
    assert_eq!(
        *cache
            .try_get_or_insert_with_blocking("bad".to_owned(), || Err::<u64, _>("no"))
            .unwrap_err(),
        "no"
    );
    assert_eq!(
        cache
            .try_get_or_insert_with_blocking("bad".to_owned(), || Ok::<_, &str>(1))
            .unwrap(),
        1
    );
    // A loaded value stays: a full cache of other keys does not reject it at once.
    for i in 0..1_000 {
        cache.insert(format!("other{i}"), i);
    }
    let loaded = cache.get_or_insert_with_blocking("fresh".to_owned(), || 5);
    assert_eq!(loaded, 5);
    cache.run_pending_tasks();
    assert_eq!(cache.get("fresh"), Some(5));
}

#[test]
fn per_entry_ttl_works_without_a_cache_ttl() {
    // No TTL, TTI or refresh age: moka runs without its expiry hook, and the
    // entry's own deadline is checked on get.
    let clock = ManualClock::new();
    let (builder, removed) = listened(builder().max_entries(100).clock(clock.clock()));
    let cache = builder.build().unwrap();
    cache.insert_with_ttl("short".to_owned(), 1, Duration::from_secs(5));
    cache.insert("forever".to_owned(), 2);
    clock.advance(Duration::from_secs(5));
    assert_eq!(cache.get("short"), None);
    assert_eq!(cache.get("forever"), Some(2));
    assert_eq!(
        removed.lock().unwrap().clone(),
        [("short".to_owned(), 1, RemovalCause::Expired)]
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_refresh_that_panics_does_not_block_later_refreshes() {
    let clock = ManualClock::new();
    let cache: MemoryCache<String, u32> = builder()
        .refresh_after(Duration::from_secs(10))
        .clock(clock.clock())
        .build()
        .unwrap();
    cache.insert("k".to_owned(), 1);
    clock.advance(Duration::from_secs(11));
    let stale = cache
        .get_or_refresh("k".to_owned(), || async {
            if true {
                panic!("loader bug");
            }
            Ok::<u32, String>(2)
        })
        .await;
    assert_eq!(stale.unwrap(), 1);
    // Let the refresh task run (and panic).
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        cache.get("k"),
        Some(1),
        "a failed refresh keeps the old value"
    );
    let again = cache
        .get_or_refresh("k".to_owned(), || async { Ok::<u32, String>(3) })
        .await;
    assert_eq!(again.unwrap(), 1);
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(cache.get("k"), Some(3), "the next refresh ran");
}

/// A loader that panics does not leave the callers waiting on it stuck:
/// each runs on (one of them loads), sync through the window and async.
#[test]
fn a_panicking_sync_loader_does_not_hang_its_waiters() {
    for bounded in [false, true] {
        let builder = builder();
        let builder = if bounded {
            builder.max_entries(100)
        } else {
            builder
        };
        let cache: MemoryCache<String, u32> = builder.build().unwrap();
        let first = std::sync::atomic::AtomicBool::new(true);
        let barrier = std::sync::Barrier::new(8);
        let results: Vec<std::thread::Result<u32>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            cache.get_or_insert_with_blocking("k".to_owned(), || {
                                if first.swap(false, Ordering::SeqCst) {
                                    std::thread::sleep(Duration::from_millis(5));
                                    panic!("loader bug");
                                }
                                7
                            })
                        }))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let panicked = results.iter().filter(|r| r.is_err()).count();
        assert!(panicked <= 1, "bounded {bounded}: {panicked} panics");
        assert!(results.iter().flatten().all(|v| *v == 7));
        assert_eq!(cache.get("k"), Some(7), "bounded {bounded}");
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_panicking_async_loader_does_not_hang_its_waiters() {
    let cache: MemoryCache<String, u32> = builder().build().unwrap();
    let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let cache = cache.clone();
            let first = Arc::clone(&first);
            tokio::spawn(async move {
                cache
                    .get_or_insert_with("k".to_owned(), || async move {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        assert!(!first.swap(false, Ordering::SeqCst), "loader bug");
                        7
                    })
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        if let Ok(v) = t.await {
            assert_eq!(v, 7);
            ok += 1;
        }
    }
    assert_eq!(ok, 7, "one task panicked, the others got the value");
    assert_eq!(cache.get("k"), Some(7));
}

/// A refresh that ends after the key was written or invalidated meanwhile
/// does not overwrite the newer value nor bring the key back; bounded (the
/// window) and unbounded.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_refresh_never_overwrites_a_newer_write_or_an_invalidation() {
    for bounded in [false, true] {
        let clock = ManualClock::new();
        let builder = builder()
            .refresh_after(Duration::from_secs(10))
            .clock(clock.clock());
        let builder = if bounded {
            builder.max_entries(100)
        } else {
            builder
        };
        let cache: MemoryCache<String, u32> = builder.build().unwrap();
        for (k, meanwhile) in [("written", Some(5)), ("invalidated", None)] {
            cache.insert(k.to_owned(), 1);
            clock.advance(Duration::from_secs(11));
            let gate = Arc::new(tokio::sync::Notify::new());
            let open = Arc::clone(&gate);
            let stale = cache
                .get_or_refresh(k.to_owned(), move || async move {
                    open.notified().await;
                    Ok::<u32, String>(2)
                })
                .await
                .unwrap();
            assert_eq!(stale, 1);
            tokio::task::yield_now().await;
            match meanwhile {
                Some(v) => cache.insert(k.to_owned(), v),
                None => cache.invalidate(k),
            }
            gate.notify_one();
            for _ in 0..10 {
                tokio::task::yield_now().await;
            }
            assert_eq!(cache.get(k), meanwhile, "{k}, bounded {bounded}");
        }
        // Unchanged meanwhile: the refresh lands.
        cache.insert("plain".to_owned(), 1);
        clock.advance(Duration::from_secs(11));
        let _ = cache
            .get_or_refresh("plain".to_owned(), || async { Ok::<u32, String>(3) })
            .await;
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(cache.get("plain"), Some(3), "bounded {bounded}");
    }
}

/// Outside a tokio runtime a due refresh is skipped, not a panic: the old
/// value comes back, and a later call inside a runtime refreshes.
#[test]
fn a_refresh_due_outside_a_runtime_returns_the_old_value() {
    let clock = ManualClock::new();
    let cache: MemoryCache<String, u32> = builder()
        .refresh_after(Duration::from_secs(10))
        .clock(clock.clock())
        .build()
        .unwrap();
    cache.insert("k".to_owned(), 1);
    clock.advance(Duration::from_secs(11));
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut call =
        std::pin::pin!(cache.get_or_refresh("k".to_owned(), || async { Ok::<u32, String>(2) }));
    let std::task::Poll::Ready(got) = call.as_mut().poll(&mut cx) else {
        panic!("a hit is ready at once")
    };
    assert_eq!(got.unwrap(), 1);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let _ = cache
            .get_or_refresh("k".to_owned(), || async { Ok::<u32, String>(3) })
            .await;
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    });
    assert_eq!(cache.get("k"), Some(3));
}
