//! Input validation: email addresses, URLs with a policy and an SSRF guard,
//! host names and IP addresses, numbers in ranges, text rules and RFC 3339
//! date-times. Each returns a typed [`Error`](crate::Error) naming what was
//! wrong, never the value.

mod email;
mod net;
mod text;

pub use email::{Email, EmailMode, validate_email};
pub use net::{
    DEFAULT_MAX_REDIRECTS, MAX_URL_LEN, RedirectGuard, Url, UrlPolicy, is_public_ip, parse_url,
    resolve_checked, resolve_checked_blocking, validate_hostname, validate_ip,
};
pub use text::{
    CharClass, DateTime, TextRule, check_range, validate_f64, validate_int, validate_rfc3339,
};
