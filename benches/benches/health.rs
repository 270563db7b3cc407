//! pr-health: answering `/health/ready` from a warm cache, calling the router
//! directly (no socket), as a load balancer's probe would hit it.
//!
//! No peer: the goal is an absolute one (well under 50 µs per answer).

use std::hint::black_box;

use axum::body::Body;
use axum::http::Request;
use criterion::{Criterion, criterion_group, criterion_main};
use pr_health::{HealthRegistry, Outcome, check_fn};
use tower::ServiceExt as _;

fn ready_from_cache(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime builds");
    let registry = HealthRegistry::default();
    for name in ["postgres", "redis", "disk"] {
        registry
            .add(check_fn(name, || async { Outcome::up() }))
            .expect("names are distinct");
    }
    registry.lifecycle().mark_ready();
    let router: axum::Router = pr_health::http::router(registry.clone());
    let _refresher = runtime.block_on(async {
        let refresher = registry.spawn_refresher();
        // Let the first refresh finish so every answer comes from the cache.
        tokio::task::yield_now().await;
        registry
            .refresh(None, std::time::Duration::from_secs(60))
            .await;
        refresher
    });

    let mut group = c.benchmark_group("health/ready_cached");
    group.bench_function("ours", |b| {
        b.to_async(&runtime).iter(|| {
            let router = router.clone();
            async move {
                let request = Request::get("/health/ready")
                    .body(Body::empty())
                    .expect("a valid request");
                let response = router
                    .oneshot(request)
                    .await
                    .expect("the router is infallible");
                black_box(response.status())
            }
        });
    });
    group.finish();
}

criterion_group!(benches, ready_from_cache);
criterion_main!(benches);
