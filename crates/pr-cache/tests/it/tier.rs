//! Tiers: memory in front of the file cache, read-through, write-through,
//! promotion, one loader run per key; memoization.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pr_cache::{FileCache, MemoryCache, TieredCache, memoize};

use pr_test_support::{TempDir, temp_dir};

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

fn tiered(dir: &TempDir) -> TieredCache<Vec<u32>> {
    TieredCache::builder(builder().max_entries(100).record_stats().build().unwrap())
        .tier(FileCache::builder(dir.path()).build().unwrap())
        .time_to_live(Duration::from_secs(3600))
        .build()
}

#[tokio::test(flavor = "current_thread")]
async fn write_through_read_through_and_promotion_after_a_restart() {
    let dir = temp_dir("tier");
    let cache = tiered(&dir);
    cache.insert("a", vec![1, 2]).await.unwrap();
    assert_eq!(cache.get("a").await, Some(vec![1, 2]));
    let file = FileCache::builder(dir.path()).build().unwrap();
    assert_eq!(file.get("a").unwrap().as_deref(), Some(&b"[1,2]"[..]));

    // A new process: empty memory, the file tier answers, then memory does.
    let restarted = tiered(&dir);
    assert_eq!(restarted.memory().get("a"), None);
    assert_eq!(restarted.get("a").await, Some(vec![1, 2]));
    assert_eq!(restarted.memory().get("a"), Some(vec![1, 2]));

    restarted.invalidate("a").await.unwrap();
    assert_eq!(restarted.get("a").await, None);
    assert_eq!(file.get("a").unwrap(), None);
    // An undecodable lower value is a miss.
    file.insert("bad", b"not json").unwrap();
    assert_eq!(restarted.get("bad").await, None);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn one_loader_run_per_key_across_tiers() {
    let dir = temp_dir("tier-load");
    let cache = tiered(&dir);
    let runs = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let cache = cache.clone();
        let runs = Arc::clone(&runs);
        tasks.push(tokio::spawn(async move {
            cache
                .get_or_insert_with("k", || async {
                    runs.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok::<_, String>(vec![7])
                })
                .await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), vec![7]);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    // Written through: a restarted cache finds it below without loading.
    let restarted = tiered(&dir);
    let v = restarted
        .get_or_insert_with("k", || async { Err::<Vec<u32>, _>("must not run") })
        .await
        .unwrap();
    assert_eq!(v, vec![7]);
    // A loader error is returned, not cached.
    let err = restarted
        .get_or_insert_with("missing", || async { Err::<Vec<u32>, _>("down") })
        .await
        .unwrap_err();
    assert_eq!(*err, "down");
    assert_eq!(restarted.get("missing").await, None);
}

#[test]
fn memoized_sync_function_runs_once_per_argument() {
    let runs = AtomicUsize::new(0);
    let slow_square = memoize(
        builder().max_entries(100).record_stats().build().unwrap(),
        |n: &u64| {
            runs.fetch_add(1, Ordering::SeqCst);
            n * n
        },
    );
    for _ in 0..3 {
        assert_eq!(slow_square.call_blocking(4), 16);
        assert_eq!(slow_square.call_blocking(5), 25);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(slow_square.cache().snapshot().unwrap().hits, 4);
    let parse = memoize(builder().build().unwrap(), |s: &String| s.parse::<u32>());
    assert_eq!(parse.try_call_blocking("12".to_owned()).unwrap(), 12);
    assert!(parse.try_call_blocking("x".to_owned()).is_err());
    parse.cache().run_pending_tasks();
    assert_eq!(parse.cache().entry_count(), 1);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn memoized_async_function_runs_once_per_argument() {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    let fetch = Arc::new(memoize(builder().build().unwrap(), move |id: u32| {
        let counter = Arc::clone(&counter);
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(10)).await;
            format!("user {id}")
        }
    }));
    let mut tasks = Vec::new();
    for i in 0..50 {
        let fetch = Arc::clone(&fetch);
        tasks.push(tokio::spawn(async move { fetch.call(i % 5).await }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(t.await.unwrap(), format!("user {}", i % 5));
    }
    assert_eq!(runs.load(Ordering::SeqCst), 5);
    let failing = memoize(builder().build().unwrap(), |n: u32| async move {
        if n == 0 { Err("zero") } else { Ok(n) }
    });
    assert_eq!(*failing.try_call(0).await.unwrap_err(), "zero");
    assert_eq!(failing.try_call(3).await.unwrap(), 3);
}

/// A file tier whose reads wait at a gate after reading, to order a read
/// of the lower tier against an invalidation.
#[derive(Debug)]
struct Gated {
    files: FileCache,
    read: Arc<tokio::sync::Notify>,
    gate: Arc<tokio::sync::Notify>,
}

impl pr_cache::Tier for Gated {
    fn name(&self) -> &'static str {
        "gated"
    }
    fn get<'a>(&'a self, key: &'a str) -> pr_cache::TierFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            let bytes = self.files.get(key)?;
            self.read.notify_one();
            self.gate.notified().await;
            Ok(bytes)
        })
    }
    fn set<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        _: Option<Duration>,
    ) -> pr_cache::TierFuture<'a, ()> {
        Box::pin(async move { self.files.insert(key, value) })
    }
    fn remove<'a>(&'a self, key: &'a str) -> pr_cache::TierFuture<'a, ()> {
        Box::pin(async move { self.files.remove(key).map(|_| ()) })
    }
    fn clear(&self) -> pr_cache::TierFuture<'_, ()> {
        Box::pin(async move { self.files.clear().map(|_| ()) })
    }
}

/// A get that read the old value from a lower tier before an invalidation
/// finished does not leave it in the memory tier afterwards.
#[tokio::test(flavor = "current_thread")]
async fn a_value_read_below_during_an_invalidation_is_not_kept() {
    let dir = temp_dir("tier-gated");
    let read = Arc::new(tokio::sync::Notify::new());
    let gate = Arc::new(tokio::sync::Notify::new());
    let cache: TieredCache<String> = TieredCache::builder(builder().build().unwrap())
        .tier(Gated {
            files: FileCache::builder(dir.path()).build().unwrap(),
            read: Arc::clone(&read),
            gate: Arc::clone(&gate),
        })
        .build();
    for loader in [false, true] {
        cache.insert("k", "old".to_owned()).await.unwrap();
        cache.memory().invalidate("k");
        let reader = cache.clone();
        let get = tokio::spawn(async move {
            if loader {
                reader
                    .get_or_insert_with("k", || async { Ok::<_, String>("loaded".to_owned()) })
                    .await
                    .ok()
            } else {
                reader.get("k").await
            }
        });
        read.notified().await;
        cache.invalidate("k").await.unwrap();
        gate.notify_one();
        assert_eq!(get.await.unwrap().as_deref(), Some("old"), "read before");
        assert_eq!(cache.memory().get("k"), None, "not kept (loader {loader})");
        let files = FileCache::builder(dir.path()).build().unwrap();
        assert_eq!(files.get("k").unwrap(), None, "gone below too");
    }
}
