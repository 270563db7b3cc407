//! The names a service's `main` uses: `use pr_facade::prelude::*;`.

pub use crate::app::{App, AppConfig, Drain, Exit, ServiceConfig, StatusBoard, WorkGuard};
pub use pr_config::{Duration, SecretString, Validate, Validator};
pub use pr_errors::{CodedError, Report};
