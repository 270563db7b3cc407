//! Per-callsite rate limiting: at most N events per second from one
//! callsite (configurable per target); the rest are counted and reported in
//! one summary line when the callsite next logs in a new second.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use tracing::Metadata;

use crate::config::LogRateLimitConfig;
use crate::time::unix_parts;
use pr_core::time::Clock;

#[derive(Debug)]
struct Window {
    limit: u32,
    second: AtomicI64,
    count: AtomicU32,
    suppressed: AtomicU64,
}

/// What to do with one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// Whether the event is written.
    pub(crate) pass: bool,
    /// Events suppressed at this callsite in earlier seconds, to report now.
    pub(crate) summary: Option<u64>,
}

#[derive(Debug)]
pub(crate) struct RateLimiter {
    default: u32,
    /// Longest target first.
    targets: Vec<(String, u32)>,
    windows: RwLock<HashMap<usize, Arc<Window>>>,
    clock: Clock,
}

impl RateLimiter {
    pub(crate) fn new(config: &LogRateLimitConfig, clock: Clock) -> Self {
        let mut targets: Vec<(String, u32)> = config
            .targets
            .iter()
            .map(|(t, n)| (t.clone(), *n))
            .collect();
        targets.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
        Self {
            default: config.per_second,
            targets,
            windows: RwLock::new(HashMap::new()),
            clock,
        }
    }

    fn limit_for(&self, target: &str) -> u32 {
        self.targets
            .iter()
            .find(|(prefix, _)| target.starts_with(prefix.as_str()))
            .map_or(self.default, |(_, n)| *n)
    }

    fn window(&self, meta: &Metadata<'_>, key: usize) -> Arc<Window> {
        if let Some(window) = pr_core::sync::read(&self.windows).get(&key) {
            return Arc::clone(window);
        }
        let mut windows = pr_core::sync::write(&self.windows);
        Arc::clone(windows.entry(key).or_insert_with(|| {
            Arc::new(Window {
                limit: self.limit_for(meta.target()),
                second: AtomicI64::new(i64::MIN),
                count: AtomicU32::new(0),
                suppressed: AtomicU64::new(0),
            })
        }))
    }

    /// The verdict for one event from the call site `key` (a callsite's
    /// address, or a bridged `log` record's hashed location).
    pub(crate) fn check(&self, meta: &Metadata<'_>, key: usize) -> Verdict {
        let window = self.window(meta, key);
        if window.limit == 0 {
            return Verdict {
                pass: true,
                summary: None,
            };
        }
        let now = unix_parts(self.clock.wall()).0;
        let mut summary = None;
        let second = window.second.load(Ordering::Acquire);
        if second != now
            && window
                .second
                .compare_exchange(second, now, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            window.count.store(0, Ordering::Release);
            let suppressed = window.suppressed.swap(0, Ordering::AcqRel);
            summary = (suppressed > 0).then_some(suppressed);
        }
        let pass = window.count.fetch_add(1, Ordering::AcqRel) < window.limit;
        if !pass {
            window.suppressed.fetch_add(1, Ordering::AcqRel);
        }
        Verdict { pass, summary }
    }
}
