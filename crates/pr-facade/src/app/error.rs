//! The app's error type and codes.

use std::net::SocketAddr;

use pr_errors::{CodeInfo, CodedError};

pr_errors::codes! {
    /// Every code pr-facade's `app` defines.
    pub static CODES;

    /// The configuration did not load or validate; every problem is listed.
    pub INVALID_CONFIG = "app.invalid_config", INTERNAL_SERVER_ERROR, permanent;
    /// Logging could not be set up.
    pub LOGGING_FAILED = "app.logging_failed", INTERNAL_SERVER_ERROR, permanent;
    /// The metrics registry could not be set up or installed.
    pub METRICS_FAILED = "app.metrics_failed", INTERNAL_SERVER_ERROR, permanent;
    /// The health registry could not be set up.
    pub HEALTH_FAILED = "app.health_failed", INTERNAL_SERVER_ERROR, permanent;
    /// The resource sampler could not be set up.
    pub RESOURCES_FAILED = "app.resources_failed", INTERNAL_SERVER_ERROR, permanent;
    /// The ops server or the API could not listen on its address.
    pub BIND_FAILED = "app.bind_failed", SERVICE_UNAVAILABLE, transient;
    /// A listener's TLS certificate, key or CA file cannot be read or used.
    pub TLS_FAILED = "app.tls_failed", INTERNAL_SERVER_ERROR, permanent;
    /// The `http` section could not be made into the API's stack.
    pub HTTP_FAILED = "app.http_failed", INTERNAL_SERVER_ERROR, permanent;
    /// The `resilience` section's named policies could not be built.
    pub RESILIENCE_FAILED = "app.resilience_failed", INTERNAL_SERVER_ERROR, permanent;
    /// The `telemetry` section (or an `OTEL_*` variable) is invalid, or the exporter could not start.
    pub TELEMETRY_FAILED = "app.telemetry_failed", INTERNAL_SERVER_ERROR, permanent;
    /// The environment check found something at or above
    /// `security.fail_on`.
    pub INSECURE_ENVIRONMENT = "app.insecure_environment", INTERNAL_SERVER_ERROR, permanent;
    /// [`App::pipeline`](crate::app::App::pipeline) was asked for a name
    /// the `resilience` section does not define.
    pub UNKNOWN_PIPELINE = "app.unknown_pipeline", INTERNAL_SERVER_ERROR, permanent;
    /// A request reached the API after shutdown began; another instance
    /// should take it.
    pub DRAINING = "app.draining", SERVICE_UNAVAILABLE, transient;
    /// The signal handlers could not be installed.
    pub SIGNAL_FAILED = "app.signal_failed", INTERNAL_SERVER_ERROR, permanent;
    /// A `/status` section was added under a name already taken or reserved.
    pub DUPLICATE_SECTION = "app.duplicate_section", INTERNAL_SERVER_ERROR, permanent;
}

/// What can go wrong when building an [`App`](crate::app::App).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration did not load or validate.
    #[error("service `{service}`: configuration rejected")]
    InvalidConfig {
        /// The service's name.
        service: String,
        /// pr-config's error, with one problem per finding.
        #[source]
        source: pr_config::Error,
    },
    /// Logging could not be set up.
    #[error("logging could not be set up")]
    Logging(#[source] pr_logging::Error),
    /// The metrics registry could not be set up or installed.
    #[error("the metrics registry could not be set up")]
    Metrics(#[source] pr_metrics::Error),
    /// The health registry could not be set up.
    #[error("the health registry could not be set up")]
    Health(#[source] pr_health::Error),
    /// The resource sampler could not be set up.
    #[error("the resource sampler could not be set up")]
    Resources(#[source] pr_resources::Error),
    /// The ops server or the API could not listen.
    #[error("the {listener} server cannot listen on {addr}")]
    Bind {
        /// Which: `ops` or `api`.
        listener: &'static str,
        /// The configured address (`ops.addr`, or the API's).
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A listener's TLS files cannot be read or used (feature `tls`).
    #[cfg(feature = "tls")]
    #[error("the {listener} server's TLS cannot be set up")]
    Tls {
        /// Which: `ops` or `api`.
        listener: &'static str,
        /// Which file and what is wrong with it.
        #[source]
        source: pr_http::Error,
    },
    /// The `http` section could not be made into the API's stack (feature
    /// `http`).
    #[cfg(feature = "http")]
    #[error("the http section cannot be applied")]
    Http(#[source] pr_http::Error),
    /// The `resilience` section's named policies could not be built
    /// (feature `resilience`).
    #[cfg(feature = "resilience")]
    #[error("the resilience section cannot be applied")]
    Resilience(#[source] pr_resilience::Error),
    /// The environment check found something at or above `security.fail_on`
    /// (feature `security`); every finding is listed.
    #[cfg(feature = "security")]
    #[error(
        "service `{service}` refuses to start: the environment check found problems at or above `{fail_on}` (security.fail_on):\n{report}"
    )]
    InsecureEnvironment {
        /// The service's name.
        service: String,
        /// The severity that stops the start.
        fail_on: pr_security::Severity,
        /// Every finding.
        report: pr_security::SecurityReport,
    },
    /// No pipeline of the `resilience` section has this name (feature
    /// `resilience`).
    #[cfg(feature = "resilience")]
    #[error("no pipeline named `{name}` in resilience.pipelines (defined: {known})")]
    UnknownPipeline {
        /// The name asked for.
        name: String,
        /// The names defined, comma-separated (`none` when there are none).
        known: String,
    },
    /// The `telemetry` section (or an `OTEL_*` variable) is invalid, or
    /// the exporter could not start (feature `telemetry`).
    #[cfg(feature = "telemetry")]
    #[error("the telemetry section cannot be applied")]
    Telemetry(#[source] pr_telemetry::Error),
    /// The SIGTERM / SIGINT / SIGHUP handlers could not be installed.
    #[error("the signal handlers could not be installed")]
    Signal(#[source] std::io::Error),
    /// A `/status` section name is taken or reserved.
    #[error("the /status section `{name}` is already taken or reserved")]
    DuplicateSection {
        /// The name.
        name: String,
    },
}

impl CodedError for Error {
    fn info(&self) -> &'static CodeInfo {
        match self {
            Self::InvalidConfig { .. } => &INVALID_CONFIG,
            Self::Logging(_) => &LOGGING_FAILED,
            Self::Metrics(_) => &METRICS_FAILED,
            Self::Health(_) => &HEALTH_FAILED,
            Self::Resources(_) => &RESOURCES_FAILED,
            Self::Bind { .. } => &BIND_FAILED,
            #[cfg(feature = "http")]
            Self::Http(_) => &HTTP_FAILED,
            #[cfg(feature = "resilience")]
            Self::Resilience(_) => &RESILIENCE_FAILED,
            #[cfg(feature = "resilience")]
            Self::UnknownPipeline { .. } => &UNKNOWN_PIPELINE,
            #[cfg(feature = "security")]
            Self::InsecureEnvironment { .. } => &INSECURE_ENVIRONMENT,
            #[cfg(feature = "tls")]
            Self::Tls { .. } => &TLS_FAILED,
            #[cfg(feature = "telemetry")]
            Self::Telemetry(_) => &TELEMETRY_FAILED,
            Self::Signal(_) => &SIGNAL_FAILED,
            Self::DuplicateSection { .. } => &DUPLICATE_SECTION,
        }
    }
}
