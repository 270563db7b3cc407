//! Health statuses, what one check run says, and how statuses aggregate.

use std::fmt;

use serde::Serialize;

/// The health of one check or of a group of checks.
///
/// Ordered from best to worst: `Up < Degraded < Unknown < Down`, so the
/// status of a group is the maximum of its members' (after the rule in
/// [`aggregate`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum Status {
    /// Working.
    Up,
    /// Working with reduced function (a non-critical dependency is down,
    /// a threshold is near). Still serves traffic.
    Degraded,
    /// Not known yet: the check has not completed a first run.
    Unknown,
    /// Not working.
    Down,
}

impl Status {
    /// The name used in JSON and logs: `UP`, `DEGRADED`, `UNKNOWN`, `DOWN`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Up => "UP",
            Self::Degraded => "DEGRADED",
            Self::Unknown => "UNKNOWN",
            Self::Down => "DOWN",
        }
    }

    /// Whether a probe with this status passes: `Up` and `Degraded` do.
    #[must_use]
    pub const fn is_passing(self) -> bool {
        matches!(self, Self::Up | Self::Degraded)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The status of a group: the worst member status, where a non-critical
/// member counts at most as [`Status::Degraded`]. An empty group is `Up`.
///
/// `Unknown` (a check that has not run yet) counts like a failure for
/// critical checks, so that readiness stays false until every critical check
/// has answered once.
#[must_use]
pub fn aggregate(members: impl IntoIterator<Item = (Status, bool)>) -> Status {
    members
        .into_iter()
        .map(|(status, critical)| {
            if critical {
                status
            } else {
                status.min(Status::Degraded)
            }
        })
        .max()
        .unwrap_or(Status::Up)
}

/// What one run of a check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    status: Status,
    message: Option<String>,
}

impl Outcome {
    /// Working.
    #[must_use]
    pub const fn up() -> Self {
        Self {
            status: Status::Up,
            message: None,
        }
    }

    /// Working with reduced function, and why.
    #[must_use]
    pub fn degraded(message: impl Into<String>) -> Self {
        Self {
            status: Status::Degraded,
            message: Some(message.into()),
        }
    }

    /// Not working, and why.
    #[must_use]
    pub fn down(message: impl Into<String>) -> Self {
        Self {
            status: Status::Down,
            message: Some(message.into()),
        }
    }

    /// Adds or replaces the message (also useful on `up()`, e.g. "12 GiB free").
    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// The status.
    #[must_use]
    pub const fn status(&self) -> Status {
        self.status
    }

    /// The message, if any.
    #[must_use]
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
}

/// `Ok` is up; `Err` is down with the error (and its causes) as the message.
impl<E: std::error::Error + 'static> From<Result<(), E>> for Outcome {
    fn from(result: Result<(), E>) -> Self {
        match result {
            Ok(()) => Self::up(),
            Err(err) => Self::down(pr_errors::chain(&err).to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rule() {
        use Status::*;
        assert_eq!(aggregate([]), Up);
        assert_eq!(aggregate([(Up, true), (Down, false)]), Degraded);
        assert_eq!(aggregate([(Up, true), (Down, true)]), Down);
        assert_eq!(aggregate([(Unknown, true), (Up, true)]), Unknown);
        assert_eq!(aggregate([(Unknown, false), (Up, true)]), Degraded);
        assert!(Degraded.is_passing() && !Unknown.is_passing());
    }

    #[test]
    fn from_result() {
        let err: Result<(), std::io::Error> = Err(std::io::Error::other("refused"));
        assert_eq!(Outcome::from(err), Outcome::down("refused"));
        assert_eq!(Outcome::from(Ok::<(), std::io::Error>(())), Outcome::up());
    }

    fn status() -> impl Strategy<Value = Status> {
        prop_oneof![
            Just(Status::Up),
            Just(Status::Degraded),
            Just(Status::Unknown),
            Just(Status::Down)
        ]
    }

    proptest! {
        /// Against a model: down only if some critical check is down; passing
        /// unless some critical check is down or unknown.
        #[test]
        fn aggregate_matches_model(members in prop::collection::vec((status(), any::<bool>()), 0..12)) {
            let got = aggregate(members.iter().copied());
            let critical_down = members.iter().any(|&(s, c)| c && s == Status::Down);
            let critical_unknown = members.iter().any(|&(s, c)| c && s == Status::Unknown);
            let any_bad = members.iter().any(|&(s, _)| s != Status::Up);
            let expected = if critical_down {
                Status::Down
            } else if critical_unknown {
                Status::Unknown
            } else if any_bad {
                Status::Degraded
            } else {
                Status::Up
            };
            prop_assert_eq!(got, expected);
        }
    }
}
