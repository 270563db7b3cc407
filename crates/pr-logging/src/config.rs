//! [`LoggingConfig`]: filters, outputs, rotation, retention, redaction and
//! the audit log. `Default` is safe in production.

use std::path::PathBuf;

use pr_core::secret::SecretString;
use pr_core::units::{ByteSize, Duration};
use pr_core::validate::{Validate, Validator};
use serde::{Deserialize, Serialize};

use crate::filter::{Directives, parse_level};
use crate::time::Tz;

/// How logging is set up. Every field has a production-safe default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct LoggingConfig {
    /// Level filter in `RUST_LOG` syntax: a default level and per-target
    /// directives, e.g. `info,my_crate=debug,hyper=warn`.
    pub filter: String,
    /// Whether `RUST_LOG`, when set, replaces `filter` (read by [`crate::init`]).
    pub use_rust_log: bool,
    /// Whether [`crate::init`] routes the `log` crate's records (many
    /// libraries log through it) to these outputs, with each record's own
    /// target ([`crate::bridge_log`]).
    pub log_bridge: bool,
    /// Time zone of timestamps and rotated file names: `utc`, `local`, an
    /// IANA name (`Europe/Paris`) or a POSIX TZ string.
    pub timezone: String,
    /// Add `file` and `line` to events at DEBUG and TRACE.
    pub source_location: bool,
    /// The console output.
    pub console: ConsoleConfig,
    /// File outputs, each with its own level, format, rotation and retention
    /// (for example one with every level and an error file with `warn`).
    pub files: Vec<FileConfig>,
    /// Redaction of secrets in every field of every event and span.
    pub redaction: RedactionConfig,
    /// The tamper-evident audit log (events with target `audit`); off when
    /// absent.
    pub audit: Option<AuditConfig>,
    /// Per-callsite rate limiting; off when absent.
    pub rate_limit: Option<LogRateLimitConfig>,
    /// The longest wait of a flush or shutdown for the queues (`"5s"`; a
    /// plain number is seconds). All outputs together, 1ms to 10m; lines
    /// still queued then are reported lost, so an output that does not
    /// drain (a stdout pipe nobody reads) never holds the service longer.
    pub flush_timeout: Duration,
}

/// The largest `queue.capacity`: the queue's slots are allocated up front.
pub(crate) const MAX_QUEUE_CAPACITY: usize = 1 << 20;
/// The bounds of `flush_timeout`: a zero wait would report every queued
/// line lost, and 10 minutes is longer than any orchestrator waits.
const FLUSH_TIMEOUT: std::ops::RangeInclusive<Duration> =
    Duration::from_millis(1)..=Duration::from_secs(600);
/// The smallest `rotation.max_size`: below it a file would rotate on
/// nearly every line.
const MIN_ROTATION_SIZE: ByteSize = ByteSize(1024);

/// At most `per_second` events per second from one callsite (a `tracing`
/// macro invocation); the rest are dropped and reported in one summary line
/// (`"suppressed": N`) when the callsite next logs in a later second.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct LogRateLimitConfig {
    /// Events per second per callsite; 0 is unlimited.
    pub per_second: u32,
    /// Limits for targets (prefix match, longest wins), overriding
    /// `per_second`; 0 is unlimited.
    pub targets: std::collections::BTreeMap<String, u32>,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            filter: "info".to_owned(),
            use_rust_log: true,
            log_bridge: true,
            timezone: "utc".to_owned(),
            source_location: true,
            console: ConsoleConfig::default(),
            files: Vec::new(),
            redaction: RedactionConfig::default(),
            audit: None,
            rate_limit: None,
            flush_timeout: Duration::from_secs(5),
        }
    }
}

/// Where the console output goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Stream {
    /// Standard output.
    #[default]
    Stdout,
    /// Standard error.
    Stderr,
}

/// A line format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LogFormat {
    /// One JSON object per line.
    #[default]
    Json,
    /// A human format: time, level, spans, target, message, fields.
    Text,
}

/// Colour in the text format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Color {
    /// Only when the stream is a terminal.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The console output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ConsoleConfig {
    /// Whether the console output is on.
    pub enabled: bool,
    /// `stdout` or `stderr`.
    pub stream: Stream,
    /// `json` or `text`.
    pub format: LogFormat,
    /// The most verbose level this output writes (`trace` writes whatever
    /// the filter lets through).
    pub level: String,
    /// Colour in the text format: `auto`, `always` or `never`.
    pub color: Color,
    /// The console's bounded queue; written synchronously when absent.
    /// A background thread writes what it holds (by default 8192 lines,
    /// `drop` when full), so a stalled stdout (a pipe nobody reads) never
    /// blocks the threads that log.
    pub queue: Option<QueueConfig>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            stream: Stream::Stdout,
            format: LogFormat::Json,
            level: "trace".to_owned(),
            color: Color::Auto,
            queue: Some(QueueConfig::default()),
        }
    }
}

/// Time-based rotation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Every {
    /// No time-based rotation.
    Never,
    /// At the start of every hour.
    Hourly,
    /// At midnight in the configured time zone.
    #[default]
    Daily,
}

/// When the current file is rotated; either limit triggers a rotation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RotationConfig {
    /// Rotate before a line would take the file past this size (`"100MiB"`;
    /// a plain number is bytes; at least 1KiB; no size rotation when
    /// absent). A line is never split.
    pub max_size: Option<ByteSize>,
    /// Rotate at period boundaries: `never`, `hourly` or `daily`.
    pub every: Every,
}

impl Default for RotationConfig {
    fn default() -> Self {
        Self {
            max_size: Some(ByteSize::mib(100)),
            every: Every::Daily,
        }
    }
}

/// Which rotated files are kept; enforced at start and after each rotation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RetentionConfig {
    /// Keep at most this many rotated files (the current file is not
    /// counted); unlimited when absent.
    pub max_files: Option<usize>,
    /// Delete rotated files last modified longer ago than this (`"30d"`; a
    /// plain number is seconds); unlimited when absent.
    pub max_age: Option<Duration>,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            max_files: Some(14),
            max_age: Some(Duration::from_secs(30 * 24 * 3600)),
        }
    }
}

/// What a full queue does to the thread that logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WhenFull {
    /// Wait for room: lossless, but an output that stops draining (a
    /// stalled pipe or disk) stops the threads that log.
    Block,
    /// Drop the line and count it (`dropped` in the stats,
    /// `pr_logging_dropped_lines_total`): never waits. The default.
    #[default]
    Drop,
}

/// A bounded queue between the threads that log and an output's writer
/// thread.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct QueueConfig {
    /// Lines the queue holds, 1 to 1048576.
    pub capacity: usize,
    /// `drop` (never waits, counted; the default) or `block` (lossless).
    /// `block` waits while the output does not drain.
    pub when_full: WhenFull,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            capacity: 8192,
            when_full: WhenFull::Drop,
        }
    }
}

/// One file output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct FileConfig {
    /// The current file, whose name stays stable for tailing (for example
    /// `logs/app.log`); rotated files are named
    /// `app.<stamp>.log[.gz]` beside it.
    pub path: PathBuf,
    /// The most verbose level this file writes (`warn` for an error file).
    pub level: String,
    /// `json` or `text`.
    pub format: LogFormat,
    /// When to rotate.
    pub rotation: RotationConfig,
    /// Which rotated files to keep.
    pub retention: RetentionConfig,
    /// Gzip rotated files in the background. Needs pr-logging's `gzip`
    /// feature: on by default with it, off without it (and `true` without it
    /// is a configuration problem, never ignored).
    pub compress: bool,
    /// Unix permission bits of new files.
    pub mode: u32,
    /// The file's bounded queue; written synchronously when absent.
    /// A background thread writes what it holds (by default 8192 lines,
    /// `drop` when full), so a stalled disk never blocks the threads that
    /// log.
    pub queue: Option<QueueConfig>,
}

impl Default for FileConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("logs/app.log"),
            level: "trace".to_owned(),
            format: LogFormat::Json,
            rotation: RotationConfig::default(),
            retention: RetentionConfig::default(),
            compress: cfg!(feature = "gzip"),
            mode: 0o640,
            queue: Some(QueueConfig::default()),
        }
    }
}

impl FileConfig {
    /// A file output at `path` with the defaults.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            ..Self::default()
        }
    }
}

/// How a redacted value is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RedactionMode {
    /// `[redacted]`.
    #[default]
    Erase,
    /// `****` and the last 4 characters (erased when 8 or fewer).
    Partial,
    /// `hmac:<key id>:<hex>`, an HMAC-SHA256 of the value: equal values
    /// correlate across lines without being revealed.
    Hmac,
}

/// Redaction of secrets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RedactionConfig {
    /// Whether redaction is on.
    pub enabled: bool,
    /// Sensitive field names, matched case-insensitively, as the whole name
    /// or its last `_` / `.` / `-` separated part (`db_password`).
    pub keys: Vec<String>,
    /// Also find secrets by value in every string: bearer tokens, JWTs,
    /// card numbers that pass the Luhn check, PEM private keys.
    pub patterns: bool,
    /// `erase`, `partial` or `hmac`.
    pub mode: RedactionMode,
    /// The HMAC key for `hmac` mode (at least 32 bytes). Never serialised
    /// or printed.
    #[serde(skip_serializing)]
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub hmac_key: Option<SecretString>,
    /// The key's id, written beside each HMAC.
    pub hmac_key_id: String,
}

impl Default for RedactionConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            keys: [
                "password",
                "passwd",
                "secret",
                "token",
                "authorization",
                "cookie",
                "api_key",
                "apikey",
                "private_key",
                "credit_card",
            ]
            .map(str::to_owned)
            .to_vec(),
            patterns: true,
            mode: RedactionMode::Erase,
            hmac_key: None,
            hmac_key_id: "k1".to_owned(),
        }
    }
}

/// The audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct AuditConfig {
    /// The current audit file.
    pub path: PathBuf,
    /// The HMAC-SHA256 chain key (at least 32 bytes). Never serialised or
    /// printed.
    #[serde(skip_serializing)]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub key: SecretString,
    /// The key's id, recorded on every line.
    pub key_id: String,
    /// When to rotate; the chain continues across files.
    pub rotation: RotationConfig,
    /// Which rotated audit files to keep.
    pub retention: RetentionConfig,
    /// Unix permission bits of new files.
    pub mode: u32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("logs/audit.log"),
            key: SecretString::default(),
            key_id: "k1".to_owned(),
            rotation: RotationConfig::default(),
            retention: RetentionConfig {
                max_files: None,
                max_age: None,
            },
            mode: 0o640,
        }
    }
}

fn valid_key_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Every problem at once, each at its key relative to the logging section
/// (`filter`, `console.queue.capacity`, `files.0.path`, `audit.key`). No
/// message repeats a value: a setting may hold a secret pasted in the wrong
/// place.
impl Validate for LoggingConfig {
    fn validate(&self, v: &mut Validator) {
        if let Err(e) = Directives::parse(&self.filter, "config") {
            v.error("filter", e.to_string());
        }
        if let Err(e) = Tz::parse(&self.timezone) {
            v.error("timezone", e);
        }
        v.nested("console", &self.console);
        v.range("flush_timeout", &self.flush_timeout, &FLUSH_TIMEOUT);
        // (key, path) of each output so far, to name the one a path repeats.
        let mut seen: Vec<(String, &PathBuf)> = Vec::new();
        for (i, file) in self.files.iter().enumerate() {
            let key = format!("files.{i}");
            v.nested(&key, file);
            if let Some(other) = same_path(&seen, &file.path) {
                v.error(&format!("{key}.path"), other);
            }
            seen.push((format!("{key}.path"), &file.path));
        }
        v.nested("redaction", &self.redaction);
        if let Some(audit) = &self.audit {
            #[cfg(not(feature = "audit"))]
            v.error("audit", NO_AUDIT);
            v.nested("audit", audit);
            if let Some(other) = same_path(&seen, &audit.path) {
                v.error("audit.path", other);
            }
        }
    }
}

/// The level and the queue (`level`, `queue.capacity`).
impl Validate for ConsoleConfig {
    fn validate(&self, v: &mut Validator) {
        v.check(parse_level(&self.level).is_some(), "level", BAD_LEVEL);
        if let Some(queue) = &self.queue {
            v.nested("queue", queue);
        }
    }
}

/// `capacity` within 1 to 1048576 (the slots are allocated up front).
impl Validate for QueueConfig {
    fn validate(&self, v: &mut Validator) {
        v.range("capacity", &self.capacity, &(1..=MAX_QUEUE_CAPACITY));
    }
}

/// `max_size` at least 1KiB when set.
impl Validate for RotationConfig {
    fn validate(&self, v: &mut Validator) {
        if let Some(max) = self.max_size {
            v.check(
                max >= MIN_ROTATION_SIZE,
                "max_size",
                format!("must be at least {MIN_ROTATION_SIZE}"),
            );
        }
    }
}

/// The path, level, rotation, mode and queue of one file output; a path
/// another output writes is checked by [`LoggingConfig`].
impl Validate for FileConfig {
    fn validate(&self, v: &mut Validator) {
        check_file(v, &self.path, &self.rotation, self.mode);
        v.check(parse_level(&self.level).is_some(), "level", BAD_LEVEL);
        #[cfg(not(feature = "gzip"))]
        v.check(
            !self.compress,
            "compress",
            "needs pr-logging's `gzip` feature, which this build lacks: turn it on, or set false",
        );
        if let Some(queue) = &self.queue {
            v.nested("queue", queue);
        }
    }
}

/// With `hmac` mode on: `hmac_key` present and at least 32 bytes (its
/// length told, never its value) and a well-formed `hmac_key_id`.
impl Validate for RedactionConfig {
    fn validate(&self, v: &mut Validator) {
        if !(self.enabled && self.mode == RedactionMode::Hmac) {
            return;
        }
        #[cfg(not(feature = "audit"))]
        v.error(
            "mode",
            "`hmac` needs pr-logging's `audit` feature, which this build lacks: turn it on, or use `erase` or `partial`",
        );
        match &self.hmac_key {
            None => v.error("hmac_key", "required when mode is `hmac`"),
            Some(key) if key.len() < 32 => v.error(
                "hmac_key",
                format!(
                    "must be at least 32 bytes, got {} (value not shown)",
                    key.len()
                ),
            ),
            Some(_) => {}
        }
        v.check(valid_key_id(&self.hmac_key_id), "hmac_key_id", BAD_KEY_ID);
    }
}

/// The path, rotation, mode, chain key (at least 32 bytes, never shown) and
/// key id of the audit log; a path another output writes is checked by
/// [`LoggingConfig`].
impl Validate for AuditConfig {
    fn validate(&self, v: &mut Validator) {
        check_file(v, &self.path, &self.rotation, self.mode);
        v.check(
            self.key.len() >= 32,
            "key",
            format!(
                "must be at least 32 bytes, got {} (value not shown)",
                self.key.len()
            ),
        );
        v.check(valid_key_id(&self.key_id), "key_id", BAD_KEY_ID);
    }
}

/// A level setting's problem; the value is never repeated (a setting may
/// hold anything, a secret pasted in the wrong place included).
const BAD_LEVEL: &str = "expected trace, debug, info, warn, error or off";
/// An audit log configured in a build without it.
#[cfg(not(feature = "audit"))]
const NO_AUDIT: &str = "the audit log needs pr-logging's `audit` feature, which this build lacks: turn it on, or remove the section";
/// A key id's problem, without the id.
const BAD_KEY_ID: &str = "expected 1 to 64 letters, digits, `.`, `_` or `-`";

/// The problem of a path an earlier output (in `seen`) already writes,
/// naming that output's key, not the path.
fn same_path(seen: &[(String, &PathBuf)], path: &PathBuf) -> Option<String> {
    seen.iter()
        .find(|(_, p)| *p == path)
        .map(|(key, _)| format!("the same path as {key} (each output needs its own file)"))
}

/// The rules a file output and the audit log share (`path`,
/// `rotation.max_size`, `mode`).
fn check_file(v: &mut Validator, path: &std::path::Path, rotation: &RotationConfig, mode: u32) {
    let named = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|name| !name.is_empty() && !name.starts_with('.'));
    v.check(
        named,
        "path",
        "expected a path ending in a UTF-8 file name that does not start with `.` (such as \
         `logs/app.log`)",
    );
    v.nested("rotation", rotation);
    v.check(mode <= 0o777, "mode", "must be at most 0o777");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests: a panic is a failed test")]
    use super::*;
    use crate::Error;
    use pr_core::validate::check;
    use pr_errors::CodedError;

    /// The error the builder returns for `config`.
    fn invalid(config: &LoggingConfig) -> Error {
        Error::InvalidConfig {
            problems: check(config).unwrap_err(),
        }
    }

    #[test]
    fn default_is_valid() {
        check(&LoggingConfig::default()).unwrap();
    }

    #[test]
    fn every_problem_is_reported_and_no_secret_echoed() {
        let config = LoggingConfig {
            filter: "info,foo=loud".to_owned(),
            timezone: "Mars/Olympus".to_owned(),
            files: vec![
                FileConfig {
                    level: "chatty".to_owned(),
                    rotation: RotationConfig {
                        max_size: Some(ByteSize(10)),
                        every: Every::Never,
                    },
                    ..FileConfig::new("a.log")
                },
                FileConfig::new("a.log"),
            ],
            audit: Some(AuditConfig {
                key: SecretString::new("hunter2"),
                ..AuditConfig::default()
            }),
            ..LoggingConfig::default()
        };
        let err = invalid(&config);
        assert_eq!(err.code().as_str(), "logging.invalid_config");
        let Error::InvalidConfig { problems } = &err else {
            panic!("{err}")
        };
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        // Without feature `audit`, the section itself is a problem too.
        let audit: &[&str] = if cfg!(feature = "audit") {
            &["audit.key"]
        } else {
            &["audit", "audit.key"]
        };
        let expected = [
            &[
                "filter",
                "timezone",
                "files.0.rotation.max_size",
                "files.0.level",
                "files.1.path",
            ],
            audit,
        ]
        .concat();
        assert_eq!(keys, expected, "{problems:?}");
        let text = err.to_string();
        assert!(
            text.contains("files.0.rotation.max_size: must be at least 1KiB"),
            "{text}"
        );
        assert!(!text.contains("hunter2"));
        assert!(!format!("{config:?}").contains("hunter2"));
        assert!(!serde_json::to_string(&config).unwrap().contains("hunter2"));
    }

    #[test]
    fn hmac_audit_queue_mode_and_level_problems() {
        let mut config = LoggingConfig::default();
        config.redaction.mode = RedactionMode::Hmac;
        config.redaction.hmac_key_id = "bad id!".to_owned();
        config.console.level = "loud".to_owned();
        config.console.queue = Some(QueueConfig {
            capacity: MAX_QUEUE_CAPACITY + 1,
            when_full: WhenFull::Drop,
        });
        config.flush_timeout = Duration::from_secs(0);
        let mut file = FileConfig::new("x.log");
        file.queue = Some(QueueConfig {
            capacity: 0,
            when_full: WhenFull::Drop,
        });
        file.mode = 0o1777;
        config.files.push(file);
        config.files.push(FileConfig::new(".hidden"));
        config.audit = Some(AuditConfig {
            path: PathBuf::from("x.log"),
            key: SecretString::new("k".repeat(32)),
            key_id: String::new(),
            ..AuditConfig::default()
        });
        let problems = check(&config).unwrap_err();
        let text = problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        for expected in [
            "redaction.hmac_key: required",
            "redaction.hmac_key_id",
            "console.level",
            "console.queue.capacity: must be between 1 and 1048576",
            "flush_timeout: must be between 1ms and 10m",
            "files.0.queue.capacity",
            "files.0.mode: must be at most 0o777",
            "files.1.path",
            "audit.key_id",
            "audit.path",
        ] {
            assert!(text.contains(expected), "{expected} missing from:\n{text}");
        }
        // Numbers are bounds, never the value set.
        assert!(
            !text.contains("1048577") && !text.contains("1777"),
            "{text}"
        );
        config.redaction.hmac_key = Some(SecretString::new("short"));
        let text = invalid(&config).to_string();
        assert!(text.contains("at least 32 bytes, got 5") && !text.contains("short"));
    }

    #[test]
    fn no_string_setting_is_echoed_in_a_validation_message() {
        const SECRET: &str = "Xq7ZkP9wLmT2vR";
        let assert_hidden = |text: &str| {
            for i in 0..=SECRET.len() - 4 {
                assert!(!text.contains(&SECRET[i..i + 4]), "{text}");
            }
        };
        // Each string-valued setting holds the secret, in a form that makes
        // it invalid where it can be invalid.
        let shared = PathBuf::from(format!("logs/{SECRET}.log"));
        let mut config = LoggingConfig {
            filter: format!("info,db={SECRET}"),
            timezone: format!("Secret/{SECRET}"),
            ..LoggingConfig::default()
        };
        config.console.level = SECRET.to_owned();
        config.files.push(FileConfig {
            level: SECRET.to_owned(),
            ..FileConfig::new(shared.clone())
        });
        config.files.push(FileConfig::new(format!(".{SECRET}")));
        config
            .files
            .push(FileConfig::new(format!("logs/{SECRET}/..")));
        config.files.push(FileConfig::new(shared.clone()));
        config.redaction.keys = vec![SECRET.to_owned()];
        config.redaction.mode = RedactionMode::Hmac;
        config.redaction.hmac_key = Some(SecretString::new(SECRET));
        config.redaction.hmac_key_id = format!("{SECRET} !");
        config.audit = Some(AuditConfig {
            path: shared,
            key: SecretString::new(SECRET),
            key_id: format!("{SECRET}/"),
            ..AuditConfig::default()
        });
        config.rate_limit = Some(LogRateLimitConfig {
            per_second: 1,
            targets: [(SECRET.to_owned(), 1)].into(),
        });
        let text = invalid(&config).to_string();
        for key in [
            "filter: ",
            "timezone: ",
            "console.level: ",
            "files.0.level: ",
            "files.1.path: ",
            "files.2.path: ",
            "files.3.path: ",
            "redaction.hmac_key: ",
            "redaction.hmac_key_id: ",
            "audit.key: ",
            "audit.key_id: ",
            "audit.path: ",
        ] {
            assert!(text.contains(key), "{key} missing from:\n{text}");
        }
        assert!(text.contains("`Europe/Paris`"), "the allowed forms: {text}");
        assert!(text.contains("same path as files.0.path"), "{text}");
        assert_hidden(&text);
        // The time zone alone, as the builder reports it too.
        let config = LoggingConfig {
            timezone: format!("Secret/{SECRET}"),
            ..LoggingConfig::default()
        };
        let text = invalid(&config).to_string();
        assert!(text.contains("timezone: "), "{text}");
        assert_hidden(&text);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = serde_json::from_str::<LoggingConfig>(r#"{"levle":"info"}"#).unwrap_err();
        assert!(err.to_string().contains("levle"));
    }

    #[test]
    fn units_are_read_and_the_old_unit_keys_are_unknown() {
        // The `_ms`, `_secs` and `_bytes` keys went before 0.1: unknown now.
        for (old, json) in [
            ("flush_timeout_ms", r#"{"flush_timeout_ms":250}"#),
            (
                "max_bytes",
                r#"{"files":[{"path":"a.log","rotation":{"max_bytes":1024}}]}"#,
            ),
            (
                "max_age_secs",
                r#"{"files":[{"path":"a.log","retention":{"max_age_secs":60}}]}"#,
            ),
        ] {
            let err = serde_json::from_str::<LoggingConfig>(json).unwrap_err();
            assert!(err.to_string().contains(old), "{err}");
        }
        let config: LoggingConfig = serde_json::from_str(
            r#"{"flush_timeout":"250ms","files":[{"path":"a.log",
                "rotation":{"max_size":"64MiB"},"retention":{"max_age":"7d"}}]}"#,
        )
        .unwrap();
        assert_eq!(config.flush_timeout, Duration::from_millis(250));
        assert_eq!(config.files[0].rotation.max_size, Some(ByteSize::mib(64)));
        assert_eq!(
            config.files[0].retention.max_age,
            Some(Duration::from_secs(7 * 24 * 3600))
        );
        // Plain numbers: seconds and bytes.
        let config: LoggingConfig = serde_json::from_str(
            r#"{"flush_timeout":2,"files":[{"path":"a.log","rotation":{"max_size":2048}}]}"#,
        )
        .unwrap();
        assert_eq!(config.flush_timeout, Duration::from_secs(2));
        assert_eq!(config.files[0].rotation.max_size, Some(ByteSize(2048)));
        let too_long = LoggingConfig {
            flush_timeout: Duration::from_secs(601),
            ..LoggingConfig::default()
        };
        assert_eq!(
            check(&too_long).unwrap_err()[0].to_string(),
            "flush_timeout: must be between 1ms and 10m"
        );
    }

    #[test]
    fn a_bad_filter_is_described_without_any_of_its_value() {
        const SECRET: &str = "Xq7ZkP9wLmT2vR";
        for (filter, says) in [
            (
                format!("info,app=debug,db={SECRET}"),
                "directive 3: unknown level",
            ),
            (
                format!("{SECRET}[span]=info"),
                "directive 1: span and field",
            ),
            (
                format!("info, ,{} {}", &SECRET[..7], &SECRET[7..]),
                "directive 3: ",
            ),
        ] {
            let config = LoggingConfig {
                filter,
                ..LoggingConfig::default()
            };
            let text = invalid(&config).to_string();
            assert!(text.contains("filter: "), "{text}");
            assert!(text.contains(says), "{text}");
            assert!(text.contains("`target=level`"), "the grammar: {text}");
            for i in 0..=SECRET.len() - 4 {
                assert!(!text.contains(&SECRET[i..i + 4]), "{text}");
            }
        }
    }

    #[test]
    #[cfg(not(feature = "gzip"))]
    fn compress_without_gzip_is_a_problem_naming_the_feature() {
        let mut config = LoggingConfig::default();
        config.files.push(FileConfig::new("logs/a.log"));
        // The default does not ask for what the build lacks.
        check(&config).unwrap();
        config.files[0].compress = true;
        let problems = check(&config).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].key, "files.0.compress");
        assert!(
            problems[0].to_string().contains("`gzip` feature"),
            "{problems:?}"
        );
    }

    #[test]
    #[cfg(not(feature = "audit"))]
    fn hmac_and_an_audit_log_without_audit_are_problems_naming_the_feature() {
        let mut config = LoggingConfig::default();
        config.redaction.mode = RedactionMode::Hmac;
        config.redaction.hmac_key = Some(SecretString::new("k".repeat(32)));
        config.audit = Some(AuditConfig {
            key: SecretString::new("k".repeat(32)),
            ..AuditConfig::default()
        });
        let problems = check(&config).unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["redaction.mode", "audit"], "{problems:?}");
        for problem in &problems {
            assert!(problem.to_string().contains("`audit` feature"), "{problem}");
        }
        assert!(matches!(
            crate::Logging::builder(&config).build(),
            Err(Error::InvalidConfig { .. })
        ));
    }
}
