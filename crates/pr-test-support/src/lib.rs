//! Test helpers shared by the toolkit's crates, so that each crate's tests
//! do not grow their own copy: temporary directories ([`temp_dir`], on
//! `tempfile`), a real `redis-server` on a free loopback port
//! ([`RedisServer`]), Prometheus' `promtool` on real exposition text
//! ([`check_metrics`]), the `PyPI` checkers `kubernetes-validate` and
//! `check-jsonschema` on the shipped deployment files
//! ([`kubernetes_validate`], [`check_jsonschema`]), a child process to kill mid-write
//! ([`CrashChild`]), the vendored outside test data under `testdata/`
//! ([`testdata`]), and (feature `tls`) a test's own certificate authority
//! (`tls::TestCa`), and (feature `browser`) a headless Chromium driven over
//! the DevTools protocol (`browser::Browser`).
//!
//! Dev-only and not published, like `tower-test`: the crates name it as a
//! path dev-dependency, which `cargo publish` strips. Every helper panics
//! with a message that says what is missing (a test helper's failure is a
//! failed test), and what installs it where that is a system tool
//! (`.ci/run` installs `redis-server` and `promtool`, and the gates and
//! `.ci/run` the `PyPI` tools into `target/pr-gates/venv`).
//!
//! ```
//! let dir = pr_test_support::temp_dir("example");
//! std::fs::write(dir.path().join("a"), b"x").unwrap();
//! assert!(dir.path().join("a").is_file());
//! // Removed when `dir` drops.
//! ```

#[cfg(feature = "browser")]
pub mod browser;
mod child;
#[cfg(feature = "otlp")]
pub mod otlp;
mod promtool;
mod redis;
mod temp;
mod testdata;
#[cfg(feature = "tls")]
pub mod tls;
mod tools;

pub use child::CrashChild;
pub use promtool::{check_metrics, check_openmetrics, promtool, promtool_run};
pub use redis::RedisServer;
pub use temp::{TempDir, temp_dir};
pub use testdata::{testdata, testdata_path};
pub use tools::{
    CHECK_JSONSCHEMA, KUBERNETES_VALIDATE, check_jsonschema, kubernetes_validate, python_tool,
};
