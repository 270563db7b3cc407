//! How [`ServiceConfig<T>`](super::ServiceConfig) reads one table into the
//! toolkit's sections and the service's settings: `T` is deserialized from
//! a view of the table that takes each section's key out as it passes (its
//! value read from the table itself, so an error keeps its key), and hands
//! `T` every other key. `#[serde(flatten)]` would buffer the table and lose
//! the key of every bad value.

use std::fmt;

use pr_health::HealthConfig;
use pr_logging::LoggingConfig;
use pr_metrics::MetricsConfig;
use pr_resources::ResourcesConfig;
use serde::Deserializer;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};

use super::{OpsConfig, ShutdownConfig};

/// The sections' keys, as serde's "expected one of" names them.
const SECTIONS: &[&str] = &[
    "logging",
    "metrics",
    "health",
    "resources",
    "ops",
    "shutdown",
    #[cfg(feature = "http")]
    "http",
    #[cfg(feature = "resilience")]
    "resilience",
    #[cfg(feature = "security")]
    "security",
    #[cfg(feature = "telemetry")]
    "telemetry",
];

/// The sections met so far.
#[derive(Default)]
pub(super) struct Found {
    pub(super) logging: Option<LoggingConfig>,
    pub(super) metrics: Option<MetricsConfig>,
    pub(super) health: Option<HealthConfig>,
    pub(super) resources: Option<ResourcesConfig>,
    pub(super) ops: Option<OpsConfig>,
    pub(super) shutdown: Option<ShutdownConfig>,
    #[cfg(feature = "http")]
    pub(super) http: Option<pr_http::HttpConfig>,
    #[cfg(feature = "resilience")]
    pub(super) resilience: Option<pr_resilience::policies::ResilienceConfig>,
    #[cfg(feature = "security")]
    pub(super) security: Option<pr_security::SecurityConfig>,
    #[cfg(feature = "telemetry")]
    pub(super) telemetry: Option<pr_telemetry::TelemetryConfig>,
}

impl Found {
    /// Reads the value of `key` into its section; `false` when `key` is no
    /// section's.
    fn take<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        match key {
            "logging" => self.logging = Some(map.next_value()?),
            "metrics" => self.metrics = Some(map.next_value()?),
            "health" => self.health = Some(map.next_value()?),
            "resources" => self.resources = Some(map.next_value()?),
            "ops" => self.ops = Some(map.next_value()?),
            "shutdown" => self.shutdown = Some(map.next_value()?),
            #[cfg(feature = "http")]
            "http" => self.http = Some(map.next_value()?),
            #[cfg(feature = "resilience")]
            "resilience" => self.resilience = Some(map.next_value()?),
            #[cfg(feature = "security")]
            "security" => self.security = Some(map.next_value()?),
            #[cfg(feature = "telemetry")]
            "telemetry" => self.telemetry = Some(map.next_value()?),
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// The table, as `T` sees it.
pub(super) struct Split<'a, D> {
    pub(super) inner: D,
    pub(super) found: &'a mut Found,
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Split<'_, D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_map(Settings {
            visitor,
            found: self.found,
        })
    }

    // `()` and unit structs: settings with no keys, so every other key is
    // unknown.
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_map(NoSettings {
            visitor,
            found: self.found,
        })
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.deserialize_unit(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// Hands `T`'s visitor the table without the sections.
struct Settings<'a, V> {
    visitor: V,
    found: &'a mut Found,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Settings<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_map(WithoutSections {
            inner: map,
            found: self.found,
        })
    }
}

/// Reads the sections of a table whose every other key is unknown.
struct NoSettings<'a, V> {
    visitor: V,
    found: &'a mut Found,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for NoSettings<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table of the toolkit's sections")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<V::Value, A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if !self.found.take(&key, &mut map)? {
                return Err(de::Error::unknown_field(&key, SECTIONS));
            }
        }
        self.visitor.visit_unit()
    }
}

/// The table's entries minus the sections, which it reads on the way.
struct WithoutSections<'a, A> {
    inner: A,
    found: &'a mut Found,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for WithoutSections<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        while let Some(key) = self.inner.next_key::<String>()? {
            if !self.found.take(&key, &mut self.inner)? {
                return seed.deserialize(key.into_deserializer()).map(Some);
            }
        }
        Ok(None)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        self.inner.next_value_seed(seed)
    }
}
