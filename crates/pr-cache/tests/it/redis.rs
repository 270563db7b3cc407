//! The Redis tier and cross-node invalidation against a real
//! `redis-server` started on a free loopback port.

use std::future::Future;
use std::time::Duration;

use pr_cache::{
    FileCache, MemoryCache, RedisInvalidation, RedisReconnect, RedisTier, Tier as _, TieredCache,
};

use pr_test_support::{RedisServer, TempDir, temp_dir};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_tier_stores_with_ttl_and_removes() {
    let server = RedisServer::start();
    let tier = RedisTier::connect(&server.url(), "t:").await.unwrap();
    assert_eq!(tier.get("a").await.unwrap(), None);
    tier.set("a", b"1", Some(Duration::from_secs(30)))
        .await
        .unwrap();
    tier.set("b", b"2", None).await.unwrap();
    assert_eq!(tier.get("a").await.unwrap().as_deref(), Some(&b"1"[..]));
    let client = redis::Client::open(server.url().as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let pttl: i64 = redis::cmd("PTTL")
        .arg("t:a")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(pttl > 0 && pttl <= 30_000, "{pttl}");
    let pttl: i64 = redis::cmd("PTTL")
        .arg("t:b")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(pttl, -1, "no TTL");
    tier.remove("a").await.unwrap();
    assert_eq!(tier.get("a").await.unwrap(), None);

    // `clear` removes the tier's keys, many (past one SCAN batch) and with
    // glob characters, and nothing outside its prefix.
    for i in 0..1_200 {
        tier.set(&format!("k{i}"), b"v", None).await.unwrap();
    }
    let starry = RedisTier::connect(&server.url(), "t*").await.unwrap();
    starry.set("[x]", b"v", None).await.unwrap();
    redis::cmd("SET")
        .arg("u:kept")
        .arg("v")
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    starry.clear().await.unwrap();
    assert_eq!(starry.get("[x]").await.unwrap(), None);
    assert_eq!(
        tier.get("k7").await.unwrap().as_deref(),
        Some(&b"v"[..]),
        "`t*` is a literal prefix"
    );
    tier.clear().await.unwrap();
    let left: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, ["u:kept"]);

    let err = RedisTier::connect("redis://127.0.0.1:1/", "x")
        .await
        .unwrap_err();
    assert_eq!(pr_errors::CodedError::code(&err).as_str(), "cache.redis");
}

async fn node(url: &str, dir: &TempDir) -> TieredCache<String> {
    let memory: MemoryCache<String, String> = builder().max_entries(1_000).build().unwrap();
    let bus = RedisInvalidation::connect(url, "pr-cache-test")
        .await
        .unwrap();
    TieredCache::builder(memory)
        .tier(FileCache::builder(dir.path()).build().unwrap())
        .tier(RedisTier::connect(url, "app:").await.unwrap())
        .time_to_live(Duration::from_secs(600))
        .invalidation(bus)
        .build()
}

async fn until_gone(cache: &TieredCache<String>, key: &str) {
    for _ in 0..2_500 {
        if cache.memory().get(key).is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("{key} was not invalidated on the other node");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_see_each_others_invalidations() {
    let server = RedisServer::start();
    // Each node has its own file tier (its own disk) and connections.
    let (dir_a, dir_b) = (temp_dir("node-a"), temp_dir("node-b"));
    let a = node(&server.url(), &dir_a).await;
    let b = node(&server.url(), &dir_b).await;

    a.insert("user:1", "ada".to_owned()).await.unwrap();
    // B reads through Redis; promoted into its file tier and memory.
    assert_eq!(b.get("user:1").await.as_deref(), Some("ada"));
    assert_eq!(b.memory().get("user:1").as_deref(), Some("ada"));
    let b_file = FileCache::builder(dir_b.path()).build().unwrap();
    assert!(
        b_file.get("user:1").unwrap().is_some(),
        "promoted into the file tier"
    );

    // Invalidated on A: gone from Redis at once, and from B's memory soon.
    a.invalidate("user:1").await.unwrap();
    until_gone(&b, "user:1").await;
    assert_eq!(a.memory().get("user:1"), None);
    // B's own disk dropped it too (the handler removes it from local tiers
    // after the memory tier), so no tier of B answers the old value.
    for _ in 0..2_500 {
        if b_file.get("user:1").unwrap().is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(b.get("user:1").await, None);

    // And the other way round; A's own message does not drop A's new value.
    b.insert("user:2", "grace".to_owned()).await.unwrap();
    assert_eq!(a.get("user:2").await.as_deref(), Some("grace"));
    b.invalidate("user:2").await.unwrap();
    until_gone(&a, "user:2").await;
    a.insert("user:3", "linus".to_owned()).await.unwrap();
    a.invalidate("user:3").await.unwrap();
    a.insert("user:3", "again".to_owned()).await.unwrap();
    assert_eq!(a.memory().get("user:3").as_deref(), Some("again"));
}

/// A node whose pub/sub connection is killed subscribes again, then drops
/// its local copies (invalidations sent meanwhile were lost); later
/// invalidations from another node reach its memory tier.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_resubscribes_after_its_connection_is_killed() {
    let server = RedisServer::start();
    let (dir_a, dir_b) = (temp_dir("resub-a"), temp_dir("resub-b"));
    let a = node(&server.url(), &dir_a).await;
    let b = node(&server.url(), &dir_b).await;
    // B holds copies in memory and on its disk whose invalidation it will
    // have missed.
    b.memory().insert("missed".to_owned(), "old".to_owned());
    let b_file = FileCache::builder(dir_b.path()).build().unwrap();
    b_file.insert("missed", b"\"old\"").unwrap();
    let client = redis::Client::open(server.url().as_str()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert_eq!(killed, 2, "both nodes' subscriptions were cut");
    for _ in 0..2_500 {
        if b.memory().get("missed").is_none() && b_file.get("missed").unwrap().is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(b.memory().get("missed"), None, "memory tier emptied");
    assert_eq!(
        b_file.get("missed").unwrap(),
        None,
        "local file tier emptied"
    );
    // Messages sent while B is away are lost; B is back within a few
    // attempts of its backoff.
    for _ in 0..500 {
        b.memory().insert("k".to_owned(), "stale".to_owned());
        a.invalidate("k").await.unwrap();
        for _ in 0..10 {
            if b.memory().get("k").is_none() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    panic!("node B never received an invalidation after its connection was killed");
}

/// Polls `done` every 10 ms until it holds, failing after a generous
/// deadline (the back-off bound in these tests is 400 ms).
async fn eventually<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..3_000 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what} did not happen within 30 s");
}

/// Redis is killed and restarted on the same port: the tier's commands
/// fail at once meanwhile, its health check goes `Degraded`, and it
/// reconnects on its own; before it takes commands again the tiered cache
/// empties its memory tier (what it held before and during the outage may
/// have missed invalidations). The invalidation bus subscribes again and
/// publishes again, and its check follows the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tier_and_the_bus_come_back_after_redis_restarts() {
    let mut server = RedisServer::start();
    let mut reconnect = RedisReconnect::default();
    reconnect.min_delay = pr_core::units::Duration::from_millis(10);
    reconnect.max_delay = pr_core::units::Duration::from_millis(400);
    let tier = RedisTier::connect_with(&server.url(), "r:", &reconnect)
        .await
        .unwrap();
    let memory: MemoryCache<String, String> = builder().max_entries(1_000).build().unwrap();
    let cache = TieredCache::builder(memory).tier(tier.clone()).build();
    // Two nodes on a bus, memory only: B's memory hears A's invalidations.
    let bus_node = |bus: RedisInvalidation| {
        let memory: MemoryCache<String, String> = builder().max_entries(100).build().unwrap();
        TieredCache::builder(memory).invalidation(bus).build()
    };
    let bus_a = RedisInvalidation::connect_with(&server.url(), "restart", &reconnect)
        .await
        .unwrap();
    let bus_b = RedisInvalidation::connect_with(&server.url(), "restart", &reconnect)
        .await
        .unwrap();
    #[cfg(feature = "health")]
    let checks = {
        use pr_health::Check as _;
        let checks = [
            tier.health_check(),
            bus_a.health_check(),
            bus_b.health_check(),
        ];
        assert_eq!(checks[0].name(), "cache:redis:r:");
        assert_eq!(checks[1].name(), "cache:redis-bus:restart");
        assert!(!pr_health::Check::critical(&checks[0]));
        checks
    };
    let (a, b) = (bus_node(bus_a), bus_node(bus_b));

    cache.insert("before", "1".to_owned()).await.unwrap();
    assert_eq!(
        tier.get("before").await.unwrap().as_deref(),
        Some(&b"\"1\""[..])
    );
    #[cfg(feature = "health")]
    for check in &checks {
        assert_eq!(
            pr_health::Check::check(check).await.status(),
            pr_health::Status::Up
        );
    }

    server.kill();
    // The first command on the dead connection fails and marks it down;
    // later ones fail at once without waiting on a connection attempt.
    assert!(tier.get("before").await.is_err());
    assert!(!tier.is_connected());
    let err = tier.get("before").await.unwrap_err();
    assert_eq!(pr_errors::CodedError::code(&err).as_str(), "cache.redis");
    // A read is a miss, not an error; memory still answers meanwhile.
    assert_eq!(cache.get("absent").await, None);
    cache.memory().insert("during".to_owned(), "2".to_owned());
    assert_eq!(cache.get("before").await.as_deref(), Some("1"));
    #[cfg(feature = "health")]
    for check in &checks {
        eventually("the check going Degraded", || async {
            pr_health::Check::check(check).await.status() == pr_health::Status::Degraded
        })
        .await;
    }

    // Blocks while it waits for the port (a few ms): off the runtime, so
    // that the reconnecting tasks keep running meanwhile.
    tokio::task::block_in_place(|| server.restart());
    #[cfg(feature = "health")]
    for check in &checks {
        eventually("the check going Up", || async {
            pr_health::Check::check(check).await.status() == pr_health::Status::Up
        })
        .await;
    }
    eventually("the tier reconnecting", || async { tier.is_connected() }).await;
    assert_eq!(tier.reconnects(), 1);
    // Flushed before the tier took commands again.
    assert_eq!(cache.memory().get("before"), None, "held before the outage");
    assert_eq!(cache.memory().get("during"), None, "held during the outage");
    cache.insert("after", "3".to_owned()).await.unwrap();
    assert_eq!(
        tier.get("after").await.unwrap().as_deref(),
        Some(&b"\"3\""[..])
    );
    assert_eq!(
        cache.get("before").await,
        None,
        "the restarted Redis is empty"
    );

    // The bus: subscribed again on both nodes, and publishing again.
    eventually("invalidations reaching B again", || async {
        b.memory().insert("k".to_owned(), "stale".to_owned());
        if a.invalidate("k").await.is_err() {
            return false;
        }
        for _ in 0..20 {
            if b.memory().get("k").is_none() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        false
    })
    .await;
}
