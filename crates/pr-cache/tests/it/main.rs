//! Integration tests of pr-cache, one module per area.

#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests: a panic is a failed test"
)]
#![expect(
    clippy::duplicate_mod,
    reason = "the engine matrix: the same test files compiled once per engine"
)]

mod crash;
mod engine;
mod file;
#[cfg(feature = "health")]
mod health;
mod hit_ratio;
mod support;
mod trace;
mod window;

// The memory cache's tests, and those of what is built on it (tiers,
// memoization, metrics, the Redis tier), run once per engine: the same files compiled twice,
// each copy's `builder()` on its module's `ENGINE` (`#[path = "."]`:
// the files beside this one).

/// The tests on the moka engine.
#[path = "."]
mod moka_engine {
    pub(crate) const ENGINE: pr_cache::Engine = pr_cache::Engine::Moka;
    mod memory;
    #[cfg(feature = "metrics")]
    mod metrics;
    #[cfg(feature = "redis")]
    mod redis;
    mod tier;
}

/// The same tests on the fast engine.
#[path = "."]
mod fast_engine {
    pub(crate) const ENGINE: pr_cache::Engine = pr_cache::Engine::Fast;
    mod memory;
    #[cfg(feature = "metrics")]
    mod metrics;
    #[cfg(feature = "redis")]
    mod redis;
    mod tier;
}
