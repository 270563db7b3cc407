//! The application's lifecycle phase, which the probes answer from.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use serde::Serialize;

/// Where the application is in its life. Phases only move forward.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Phase {
    /// Starting up: not ready, startup probe failing.
    Starting,
    /// Serving: readiness follows the readiness checks.
    Ready,
    /// Shutting down gracefully: not ready (so load balancers stop sending
    /// traffic), still live.
    Draining,
    /// Stopped: neither ready nor live.
    Stopped,
}

impl Phase {
    const ALL: [Self; 4] = [Self::Starting, Self::Ready, Self::Draining, Self::Stopped];

    /// The phase's name: `starting`, `ready`, `draining`, `stopped`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Ready => "ready",
            Self::Draining => "draining",
            Self::Stopped => "stopped",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A shared handle on the lifecycle phase; clones see the same phase.
#[derive(Clone, Debug, Default)]
pub struct Lifecycle(Arc<AtomicU8>);

impl Lifecycle {
    /// A lifecycle in [`Phase::Starting`].
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The current phase.
    #[must_use]
    pub fn phase(&self) -> Phase {
        Phase::ALL[usize::from(self.0.load(Ordering::Acquire)).min(3)]
    }

    /// Startup is complete. Returns whether the phase changed (it does not
    /// move back from draining or stopped).
    ///
    /// This does not wait for the checks; a service with a
    /// [`Refresher`](crate::Refresher) calls
    /// [`HealthRegistry::mark_ready`](crate::HealthRegistry::mark_ready)
    /// instead, which first gives every check its first result.
    #[expect(
        clippy::must_use_candidate,
        reason = "callers mostly ignore whether the phase changed"
    )]
    pub fn mark_ready(&self) -> bool {
        self.advance(Phase::Ready)
    }

    /// Graceful shutdown begins: readiness fails from now on.
    #[expect(
        clippy::must_use_candidate,
        reason = "callers mostly ignore whether the phase changed"
    )]
    pub fn start_draining(&self) -> bool {
        self.advance(Phase::Draining)
    }

    /// The application has stopped: liveness fails too.
    #[expect(
        clippy::must_use_candidate,
        reason = "callers mostly ignore whether the phase changed"
    )]
    pub fn mark_stopped(&self) -> bool {
        self.advance(Phase::Stopped)
    }

    fn advance(&self, to: Phase) -> bool {
        let target = to as u8;
        let previous = self.0.fetch_max(target, Ordering::AcqRel);
        let changed = previous < target;
        if changed {
            let from = Phase::ALL[usize::from(previous).min(3)];
            tracing::info!(
                target: "pr_health",
                event = "health.lifecycle_changed",
                from = from.as_str(),
                to = to.as_str(),
                "lifecycle phase changed"
            );
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_only_move_forward() {
        let life = Lifecycle::new();
        assert_eq!(life.phase(), Phase::Starting);
        assert!(life.mark_ready());
        assert!(!life.mark_ready());
        assert!(life.start_draining());
        assert!(!life.mark_ready());
        assert_eq!(life.clone().phase(), Phase::Draining);
        assert!(life.mark_stopped());
        assert_eq!(life.phase(), Phase::Stopped);
    }

    #[test]
    fn skipping_ahead_is_allowed() {
        let life = Lifecycle::new();
        assert!(life.start_draining());
        assert_eq!(life.phase(), Phase::Draining);
    }
}
