//! Feature flags that live in the configuration: on / off, gradual rollout
//! bucketed exactly as Unleash does, and weighted variants.
//!
//! Bucketing: `murmur3_x86_32("{groupId}:{value}", 0) % 100 + 1` against the rollout percentage; variants use seed `86028157` and the
//! total weight. A flag's definition reads the Unleash feature format
//! (`strategies` with `default`, `gradualRolloutUserId`,
//! `gradualRolloutSessionId`, `flexibleRollout`; `variants` with weights,
//! stickiness and overrides), or the short form `rollout` / `stickiness` /
//! `group_id` for one flexible rollout.
//!
//! Not implemented (reported as disabled): strategy constraints, other
//! strategies (`userWithId`, `remoteAddress`, `applicationHostname`, custom
//! ones), strategy-level variants, dependent features, segments.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// The murmur3 x86 32-bit hash (as used by every Unleash SDK); [`bucket`]
/// is the public way in.
#[must_use]
pub(crate) fn murmur3_32(data: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h = seed;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = chunks.remainder();
    let mut k: u32 = 0;
    for (i, byte) in tail.iter().enumerate() {
        k |= u32::from(*byte) << (8 * i);
    }
    if !tail.is_empty() {
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
    }
    #[allow(
        clippy::cast_possible_truncation,
        reason = "murmur3 mixes in the length modulo 2^32"
    )]
    let len = data.len() as u32;
    h ^= len;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

const VARIANT_SEED: u32 = 86_028_157;

/// Unleash's bucket of `value` in `group`: 1 to `normalizer`.
#[must_use]
pub fn bucket(group: &str, value: &str, normalizer: u32, seed: u32) -> u32 {
    let mut key = String::with_capacity(group.len() + value.len() + 1);
    key.push_str(group);
    key.push(':');
    key.push_str(value);
    murmur3_32(key.as_bytes(), seed) % normalizer.max(1) + 1
}

/// Who is asking: the values rollouts stick to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct FlagContext {
    /// The user id.
    pub user_id: Option<String>,
    /// The session id.
    pub session_id: Option<String>,
    /// The client's address.
    pub remote_address: Option<String>,
    /// Custom fields (custom stickiness reads them).
    pub properties: HashMap<String, String>,
}

impl FlagContext {
    /// A context for a user.
    #[must_use]
    pub fn user(id: impl Into<String>) -> Self {
        Self {
            user_id: Some(id.into()),
            ..Self::default()
        }
    }

    /// Adds a custom field.
    #[must_use]
    pub fn with(mut self, field: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(field.into(), value.into());
        self
    }

    fn field(&self, name: &str) -> Option<&str> {
        match name {
            "userId" => self.user_id.as_deref(),
            "sessionId" => self.session_id.as_deref(),
            "remoteAddress" => self.remote_address.as_deref(),
            other => self.properties.get(other).map(String::as_str),
        }
    }

    /// The value for `stickiness`, or `None` (for `default`: a random bucket).
    fn sticky(&self, stickiness: &str) -> Option<&str> {
        match stickiness {
            "default" | "" => self.user_id.as_deref().or(self.session_id.as_deref()),
            other => self.field(other),
        }
    }
}

/// One strategy of a flag (the Unleash format).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Strategy {
    /// `default`, `gradualRolloutUserId`, `gradualRolloutSessionId` or
    /// `flexibleRollout`.
    pub name: String,
    /// Its parameters (`rollout`, `percentage`, `stickiness`, `groupId`).
    #[serde(deserialize_with = "null_as_default")]
    pub parameters: BTreeMap<String, String>,
    /// Constraints (not evaluated: a strategy with constraints is off).
    #[serde(deserialize_with = "null_as_default")]
    pub constraints: Vec<serde_json::Value>,
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A variant with its weight.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Variant {
    /// Its name.
    pub name: String,
    /// Its weight among the flag's variants.
    pub weight: u32,
    /// Optional payload handed to the caller.
    pub payload: Option<serde_json::Value>,
    /// The context field it sticks to (`default`: user, then session).
    pub stickiness: Option<String>,
    /// Context values that always get this variant.
    pub overrides: Vec<VariantOverride>,
}

/// Context values that always get a variant.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct VariantOverride {
    /// The context field.
    pub context_name: String,
    /// The values.
    pub values: Vec<String>,
}

/// One flag's definition.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Flag {
    /// Off for everyone when false.
    pub enabled: bool,
    /// Short form: a flexible rollout percentage (0 to 100).
    pub rollout: Option<u32>,
    /// Short form: its stickiness (`default`, `userId`, `sessionId`, or a
    /// custom field).
    pub stickiness: Option<String>,
    /// Short form: its group id (the flag's name when absent).
    pub group_id: Option<String>,
    /// Strategies (any one on turns the flag on; none means on).
    pub strategies: Vec<Strategy>,
    /// Weighted variants.
    pub variants: Vec<Variant>,
}

impl Default for Flag {
    fn default() -> Self {
        Self {
            enabled: true,
            rollout: None,
            stickiness: None,
            group_id: None,
            strategies: Vec::new(),
            variants: Vec::new(),
        }
    }
}

/// The variant a flag gives a context.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VariantChoice<'a> {
    /// The variant's name, `disabled` when none applies.
    pub name: &'a str,
    /// Its payload.
    pub payload: Option<&'a serde_json::Value>,
    /// Whether a variant applies.
    pub enabled: bool,
    /// Whether the flag itself is on.
    pub feature_enabled: bool,
}

fn random_percent() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    #[allow(clippy::cast_possible_truncation, reason = "modulo 100 fits")]
    let n = (h.finish() % 100) as u32;
    n + 1
}

impl Flag {
    fn strategy_on(&self, flag_name: &str, strategy: &Strategy, ctx: &FlagContext) -> bool {
        if !strategy.constraints.is_empty() {
            return false;
        }
        let param = |k: &str| strategy.parameters.get(k).map(String::as_str);
        let percent = |k: &str| {
            param(k)
                .and_then(|p| p.trim().parse::<u32>().ok())
                .unwrap_or(0)
        };
        let group = param("groupId").unwrap_or(flag_name);
        match strategy.name.as_str() {
            "default" => true,
            "gradualRolloutUserId" | "gradualRolloutSessionId" => {
                let value = if strategy.name == "gradualRolloutUserId" {
                    ctx.user_id.as_deref()
                } else {
                    ctx.session_id.as_deref()
                };
                let pct = percent("percentage");
                value.is_some_and(|v| pct > 0 && bucket(group, v, 100, 0) <= pct)
            }
            "flexibleRollout" => {
                let pct = percent("rollout");
                rollout_on(pct, param("stickiness").unwrap_or("default"), group, ctx)
            }
            _ => false,
        }
    }

    /// Whether the flag (named `name`) is on for `ctx`.
    #[must_use]
    pub fn is_enabled(&self, name: &str, ctx: &FlagContext) -> bool {
        if !self.enabled {
            return false;
        }
        if let Some(pct) = self.rollout {
            let group = self.group_id.as_deref().unwrap_or(name);
            return rollout_on(
                pct,
                self.stickiness.as_deref().unwrap_or("default"),
                group,
                ctx,
            );
        }
        self.strategies.is_empty()
            || self
                .strategies
                .iter()
                .any(|s| self.strategy_on(name, s, ctx))
    }

    /// The variant for `ctx` (`disabled` when the flag is off or has none).
    #[must_use]
    pub fn variant<'a>(&'a self, name: &str, ctx: &FlagContext) -> VariantChoice<'a> {
        let feature_enabled = self.is_enabled(name, ctx);
        let disabled = VariantChoice {
            name: "disabled",
            payload: None,
            enabled: false,
            feature_enabled,
        };
        let total: u32 = self.variants.iter().map(|v| v.weight).sum();
        if !feature_enabled || total == 0 {
            return disabled;
        }
        let choose = |v: &'a Variant| VariantChoice {
            name: &v.name,
            payload: v.payload.as_ref(),
            enabled: true,
            feature_enabled,
        };
        if let Some(v) = self.variants.iter().find(|v| {
            v.overrides.iter().any(|o| {
                ctx.field(&o.context_name)
                    .is_some_and(|value| o.values.iter().any(|x| x == value))
            })
        }) {
            return choose(v);
        }
        let stickiness = self
            .variants
            .first()
            .and_then(|v| v.stickiness.as_deref())
            .unwrap_or("default");
        let target = match ctx.sticky(stickiness) {
            Some(value) => bucket(name, value, total, VARIANT_SEED),
            None if stickiness == "default" => random_percent() % total + 1,
            None => return disabled,
        };
        let mut counter = 0;
        for v in &self.variants {
            if v.weight == 0 {
                continue;
            }
            counter += v.weight;
            if counter >= target {
                return choose(v);
            }
        }
        disabled
    }
}

fn rollout_on(pct: u32, stickiness: &str, group: &str, ctx: &FlagContext) -> bool {
    if pct == 0 {
        return false;
    }
    match ctx.sticky(stickiness) {
        Some(value) => bucket(group, value, 100, 0) <= pct,
        None if stickiness == "default" || stickiness.is_empty() => random_percent() <= pct,
        None => false,
    }
}

/// The flags of a configuration: a field of type `Flags` makes them load,
/// validate and reload with the rest.
///
/// # Examples
///
/// ```
/// use pr_config::{FlagContext, Flags};
///
/// let flags: Flags = serde_json::from_str(r#"{
///     "new_checkout": { "rollout": 25, "stickiness": "userId" },
///     "dark_mode": { "enabled": false }
/// }"#)?;
/// assert!(!flags.is_enabled("dark_mode", &FlagContext::default()));
/// assert!(!flags.is_enabled("missing", &FlagContext::default()));
/// let on = (0..1000).filter(|i| flags.is_enabled("new_checkout", &FlagContext::user(i.to_string()))).count();
/// assert!((200..300).contains(&on));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Flags(pub BTreeMap<String, Flag>);

impl Flags {
    /// Whether flag `name` is on for `ctx` (an unknown flag is off).
    #[must_use]
    pub fn is_enabled(&self, name: &str, ctx: &FlagContext) -> bool {
        self.0.get(name).is_some_and(|f| f.is_enabled(name, ctx))
    }

    /// The variant of flag `name` for `ctx`.
    #[must_use]
    pub fn variant<'a>(&'a self, name: &str, ctx: &FlagContext) -> VariantChoice<'a> {
        match self.0.get(name) {
            Some(flag) => flag.variant(name, ctx),
            None => VariantChoice {
                name: "disabled",
                payload: None,
                enabled: false,
                feature_enabled: false,
            },
        }
    }

    /// Applies `<PREFIX>_FEATURE_<NAME>=true|false` overrides (the name
    /// upper-cased, other characters as `_`): `true` turns the flag on for
    /// everyone, `false` off. Returns how many applied.
    pub fn apply_env_overrides<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        prefix: &str,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> usize {
        let wanted = format!("{prefix}_FEATURE_");
        let mut applied = 0;
        for (name, value) in vars {
            let Some(flag_env) = name.as_ref().strip_prefix(&wanted) else {
                continue;
            };
            let on = match value.as_ref().trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "on" | "yes" => true,
                "false" | "0" | "off" | "no" => false,
                _ => continue,
            };
            for (flag_name, flag) in &mut self.0 {
                if flag_env_name(flag_name) == flag_env {
                    *flag = Flag {
                        enabled: on,
                        variants: std::mem::take(&mut flag.variants),
                        ..Flag::default()
                    };
                    applied += 1;
                }
            }
        }
        applied
    }
}

impl Flags {
    /// [`apply_env_overrides`](Self::apply_env_overrides) with the process
    /// environment.
    pub fn apply_process_env(&mut self, prefix: &str) -> usize {
        let vars: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        self.apply_env_overrides(prefix, vars)
    }
}

fn flag_env_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur3_reference_values() {
        assert_eq!(murmur3_32(b"", 0), 0);
        assert_eq!(murmur3_32(b"", 1), 0x514e_28b7);
        assert_eq!(murmur3_32(b"hello", 0), 0x248b_fa47);
        assert_eq!(
            murmur3_32(b"The quick brown fox jumps over the lazy dog", 0),
            0x2e4f_f723
        );
    }

    #[test]
    fn env_overrides() {
        let mut flags = Flags::default();
        flags.0.insert(
            "new-checkout".into(),
            Flag {
                rollout: Some(0),
                ..Flag::default()
            },
        );
        assert!(!flags.is_enabled("new-checkout", &FlagContext::user("1")));
        assert_eq!(
            flags.apply_env_overrides(
                "APP",
                [
                    ("APP_FEATURE_NEW_CHECKOUT", "true"),
                    ("APP_FEATURE_X", "true")
                ]
            ),
            1
        );
        assert!(flags.is_enabled("new-checkout", &FlagContext::user("1")));
    }
}
