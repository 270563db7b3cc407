//! Threshold rules and memory budgets as pr-health checks (feature `health`).

use std::fmt::Write as _;
use std::sync::Arc;

use pr_health::{Check, CheckFuture, Group, Outcome};

use crate::{MemoryBudget, RuleSeverity, Sampler};

/// A health check over a sampler's threshold rules, read from the latest
/// snapshot (never samples itself).
///
/// A rule at `Warning` makes the check `Degraded`; a rule at `Critical` makes
/// it `Down` if the rule was made with [`Rule::readiness`](crate::Rule::readiness)
/// (so readiness turns off under, say, memory pressure) and `Degraded`
/// otherwise. In the readiness group by default.
#[derive(Debug, Clone)]
#[must_use = "a check does nothing until it is added to a registry"]
pub struct ResourcesCheck {
    sampler: Sampler,
    name: String,
    groups: Vec<Group>,
}

impl ResourcesCheck {
    /// A check named `resources` over `sampler`'s rules.
    pub fn new(sampler: &Sampler) -> Self {
        Self {
            sampler: sampler.clone(),
            name: "resources".to_owned(),
            groups: vec![Group::READINESS],
        }
    }

    /// Sets the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets the groups.
    pub fn groups(mut self, groups: impl IntoIterator<Item = Group>) -> Self {
        self.groups = groups.into_iter().collect();
        self
    }

    /// The outcome for the latest snapshot.
    #[must_use]
    pub fn evaluate(&self) -> Outcome {
        let snapshot = self.sampler.latest();
        let mut message = String::new();
        let mut down = false;
        let mut degraded = false;
        for rule in snapshot
            .rules
            .iter()
            .filter(|r| r.severity != RuleSeverity::Ok)
        {
            if !message.is_empty() {
                message.push_str("; ");
            }
            let _ = write!(message, "{} is {}", rule.name, rule.severity);
            if let Some(value) = rule.value {
                let _ = write!(message, " ({value:.3})");
            }
            if rule.severity == RuleSeverity::Critical && rule.readiness {
                down = true;
            } else {
                degraded = true;
            }
        }
        if down {
            Outcome::down(message)
        } else if degraded {
            Outcome::degraded(message)
        } else {
            Outcome::up()
        }
    }
}

impl Check for ResourcesCheck {
    fn name(&self) -> &str {
        &self.name
    }
    fn check(&self) -> CheckFuture<'_> {
        let outcome = self.evaluate();
        Box::pin(async move { outcome })
    }
    fn groups(&self) -> Vec<Group> {
        self.groups.clone()
    }
}

/// A health check of a [`MemoryBudget`]'s use: `Degraded` from `warning`
/// (a share of the limit, default 0.8), `Down` from `critical` (default
/// 0.95). In the readiness group.
#[derive(Debug, Clone)]
#[must_use = "a check does nothing until it is added to a registry"]
pub struct BudgetCheck {
    budget: Arc<MemoryBudget>,
    name: String,
    warning: f64,
    critical: f64,
}

impl BudgetCheck {
    /// A check named `budget:<name>`.
    pub fn new(budget: Arc<MemoryBudget>) -> Self {
        let name = format!("budget:{}", budget.name());
        Self {
            budget,
            name,
            warning: 0.8,
            critical: 0.95,
        }
    }

    /// Sets the thresholds, shares of the limit.
    pub const fn thresholds(mut self, warning: f64, critical: f64) -> Self {
        self.warning = warning;
        self.critical = critical;
        self
    }

    /// The outcome now.
    #[must_use]
    pub fn evaluate(&self) -> Outcome {
        let ratio = self.budget.used_ratio();
        let message = format!(
            "{} of {} bytes reserved ({:.1} %)",
            self.budget.used(),
            self.budget.limit(),
            ratio * 100.0
        );
        if ratio >= self.critical {
            Outcome::down(message)
        } else if ratio >= self.warning {
            Outcome::degraded(message)
        } else {
            Outcome::up().with_message(message)
        }
    }
}

impl Check for BudgetCheck {
    fn name(&self) -> &str {
        &self.name
    }
    fn check(&self) -> CheckFuture<'_> {
        let outcome = self.evaluate();
        Box::pin(async move { outcome })
    }
}
