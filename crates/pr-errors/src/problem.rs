//! RFC 9457 problem details: the JSON body an HTTP API answers errors with.

use std::error::Error as StdError;
use std::fmt;

use http::StatusCode;
use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use crate::{CodedError, Error, Report};

/// The standard members; an extension may not reuse their names.
const STANDARD_MEMBERS: [&str; 5] = ["type", "title", "status", "detail", "instance"];
/// The extension member that carries the error code.
const CODE_MEMBER: &str = "code";
/// The extension member [`Problem::with_causes`] fills.
const CAUSES_MEMBER: &str = "causes";

/// An RFC 9457 problem details object.
///
/// [`Problem::from_error`] (or [`Report::to_problem`]) builds one from a coded
/// error: the status and code always, the message only when the code is
/// public. The cause chain, backtrace and anything else internal are left
/// out unless asked for with [`with_causes`](Problem::with_causes).
///
/// Deserialising follows the RFC: members whose value has the wrong type are
/// ignored, and unknown members are kept as extensions.
///
/// # Examples
///
/// ```
/// use pr_errors::{Problem, Report};
///
/// let err = std::io::Error::other("secret path /srv/keys is unreadable");
/// let problem = Report::unclassified(err).to_problem().with_instance("/orders/17");
/// let json = problem.to_json();
/// assert_eq!(
///     json,
///     r#"{"type":"about:blank","title":"Internal Server Error","status":500,"instance":"/orders/17","code":"internal.unclassified"}"#
/// );
/// let back: Problem = serde_json::from_str(&json)?;
/// assert_eq!(back, problem);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    type_uri: String,
    title: Option<String>,
    status: Option<StatusCode>,
    detail: Option<String>,
    instance: Option<String>,
    code: Option<String>,
    extensions: Map<String, Value>,
}

impl Problem {
    /// The media type of a problem details body.
    pub const CONTENT_TYPE: &'static str = "application/problem+json";

    /// A problem of type `about:blank` for `status`, titled with the status's
    /// reason phrase as the RFC asks.
    #[must_use]
    pub fn new(status: StatusCode) -> Self {
        Self {
            type_uri: "about:blank".to_owned(),
            title: status.canonical_reason().map(str::to_owned),
            status: Some(status),
            detail: None,
            instance: None,
            code: None,
            extensions: Map::new(),
        }
    }

    /// The problem a client should see for `error`: its status, its code as
    /// the `code` member, and its message as `detail` only when the code is
    /// public.
    #[must_use]
    pub fn from_error(error: &(dyn CodedError + '_)) -> Self {
        let mut problem = Self::new(error.status());
        problem.code = Some(error.code().as_str().to_owned());
        problem.detail = error.public_message();
        problem
    }

    /// Sets the problem type URI (by default `about:blank`), e.g. a page of
    /// your documentation for the error code.
    #[must_use]
    pub fn with_type(mut self, uri: impl Into<String>) -> Self {
        self.type_uri = uri.into();
        self
    }

    /// Sets the title: a short summary that is the same for every occurrence
    /// of the type.
    #[must_use]
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets the detail: an explanation of this occurrence, for the client.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Sets the instance: a URI reference for this occurrence (the request
    /// path, or a trace id as a URN).
    #[must_use]
    pub fn with_instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    /// Adds the messages of `error`'s causes as a `causes` array. This shows
    /// internals to the client: only for trusted clients or development.
    #[must_use]
    pub fn with_causes(mut self, error: &(dyn StdError + 'static)) -> Self {
        let causes = crate::chain(error)
            .skip(1)
            .map(|cause| Value::String(cause.to_string()));
        self.extensions
            .insert(CAUSES_MEMBER.to_owned(), Value::Array(causes.collect()));
        self
    }

    /// Adds an extension member.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidExtension`] when `name` is a standard member or `code`,
    /// or is not what RFC 9457 recommends: an ASCII letter, then at least two
    /// more ASCII letters, digits or underscores.
    pub fn with_extension(mut self, name: &str, value: impl Into<Value>) -> Result<Self, Error> {
        let reason = if STANDARD_MEMBERS.contains(&name) || name == CODE_MEMBER {
            Some("it is a standard member")
        } else if !is_extension_name(name) {
            Some("names are an ASCII letter then two or more ASCII letters, digits or underscores")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(Error::InvalidExtension {
                name: name.to_owned(),
                reason,
            });
        }
        self.extensions.insert(name.to_owned(), value.into());
        Ok(self)
    }

    /// The problem type URI.
    #[must_use]
    pub fn type_uri(&self) -> &str {
        &self.type_uri
    }

    /// The title.
    #[must_use]
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }

    /// The detail.
    #[must_use]
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The instance.
    #[must_use]
    pub fn instance(&self) -> Option<&str> {
        self.instance.as_deref()
    }

    /// The error code.
    #[must_use]
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The extension members other than `code`.
    #[must_use]
    pub fn extensions(&self) -> &Map<String, Value> {
        &self.extensions
    }

    /// The problem as compact JSON.
    #[must_use]
    #[expect(
        clippy::missing_panics_doc,
        reason = "every member is a string, a number or a JSON value with string keys, so serialising cannot fail"
    )]
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("problem details always serialise")
    }
}

impl Report {
    /// The problem a client should see for this report (see
    /// [`Problem::from_error`]).
    #[must_use]
    pub fn to_problem(&self) -> Problem {
        Problem::from_error(self.error())
    }
}

fn is_extension_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && name.len() >= 3
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl Serialize for Problem {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", &self.type_uri)?;
        if let Some(title) = &self.title {
            map.serialize_entry("title", title)?;
        }
        if let Some(status) = self.status {
            map.serialize_entry("status", &status.as_u16())?;
        }
        if let Some(detail) = &self.detail {
            map.serialize_entry("detail", detail)?;
        }
        if let Some(instance) = &self.instance {
            map.serialize_entry("instance", instance)?;
        }
        if let Some(code) = &self.code {
            map.serialize_entry(CODE_MEMBER, code)?;
        }
        for (name, value) in &self.extensions {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Problem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut members = Map::deserialize(deserializer)?;
        // RFC 9457 §3.1: a member whose value has the wrong type is ignored.
        let mut string = |name: &str| match members.remove(name) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };
        let type_uri = string("type").unwrap_or_else(|| "about:blank".to_owned());
        let title = string("title");
        let detail = string("detail");
        let instance = string("instance");
        let code = string(CODE_MEMBER);
        let status = members
            .remove("status")
            .and_then(|v| v.as_u64())
            .and_then(|n| u16::try_from(n).ok())
            .and_then(|n| StatusCode::from_u16(n).ok());
        Ok(Self {
            type_uri,
            title,
            status,
            detail,
            instance,
            code,
            extensions: members,
        })
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let title = self.title.as_deref().unwrap_or("problem");
        match (self.status, &self.code) {
            (Some(status), Some(code)) => write!(f, "{} {title} [{code}]", status.as_u16()),
            (Some(status), None) => write!(f, "{} {title}", status.as_u16()),
            (None, Some(code)) => write!(f, "{title} [{code}]"),
            (None, None) => f.write_str(title),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RetryClass;

    crate::codes! {
        /// Test codes.
        static CODES;
        /// A public error.
        SHOWN = "test.shown", CONFLICT, permanent, public;
        /// A private error.
        HIDDEN = "test.hidden", BAD_GATEWAY, transient;
    }

    #[derive(Debug, thiserror::Error)]
    #[error("order 17 was changed by someone else")]
    struct Shown;
    impl CodedError for Shown {
        fn info(&self) -> &'static crate::CodeInfo {
            &SHOWN
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("upstream at 10.0.0.7 refused")]
    struct Hidden(#[source] std::io::Error);
    impl CodedError for Hidden {
        fn info(&self) -> &'static crate::CodeInfo {
            &HIDDEN
        }
    }

    #[test]
    fn public_message_becomes_detail() {
        let p = Report::new(Shown)
            .context("saving /srv/data/orders.db")
            .to_problem();
        assert_eq!(p.status(), Some(StatusCode::CONFLICT));
        assert_eq!(p.code(), Some("test.shown"));
        // The context (which names a path) stays out; the public message goes in.
        assert_eq!(p.detail(), Some("order 17 was changed by someone else"));
        assert!(!p.to_json().contains("/srv"));
    }

    #[test]
    fn private_message_and_causes_stay_out_unless_asked() {
        let err = Hidden(std::io::Error::other("connection refused"));
        assert_eq!(err.retry(), RetryClass::TRANSIENT);
        let p = Problem::from_error(&err);
        let json = p.to_json();
        assert!(!json.contains("10.0.0.7"), "{json}");
        assert!(!json.contains("refused"), "{json}");
        assert_eq!(p.title(), Some("Bad Gateway"));
        let with = p.with_causes(&err);
        assert_eq!(
            with.extensions()["causes"],
            serde_json::json!(["connection refused"])
        );
    }

    #[test]
    fn extension_names_are_checked() {
        let p = Problem::new(StatusCode::BAD_REQUEST);
        for bad in ["type", "status", "code", "ab", "1abc", "with-dash", ""] {
            let err = p.clone().with_extension(bad, 1).unwrap_err();
            assert_eq!(err.code().as_str(), "problem.invalid_extension");
            assert!(err.to_string().contains(&format!("`{bad}`")), "{err}");
        }
        let ok = p
            .with_extension("balance", 30)
            .unwrap()
            .with_extension("trace_id", "abc")
            .unwrap();
        assert_eq!(ok.extensions().len(), 2);
    }

    #[test]
    fn wrong_member_types_are_ignored() {
        let p: Problem = serde_json::from_str(
            r#"{"type":5,"title":["x"],"status":"400","detail":"d","code":7,"balance":30,"status2":1}"#,
        )
        .unwrap();
        assert_eq!(p.type_uri(), "about:blank");
        assert_eq!(p.title(), None);
        assert_eq!(p.status(), None);
        assert_eq!(p.detail(), Some("d"));
        assert_eq!(p.code(), None);
        assert_eq!(p.extensions().len(), 2);
        let out_of_range: Problem = serde_json::from_str(r#"{"status":70000}"#).unwrap();
        assert_eq!(out_of_range.status(), None);
    }

    #[test]
    fn test_catalogue_is_complete() {
        assert_eq!(CODES.entries, [SHOWN, HIDDEN]);
    }

    #[test]
    fn display_is_short() {
        let p = Problem::from_error(&Shown);
        assert_eq!(p.to_string(), "409 Conflict [test.shown]");
        assert_eq!(
            Problem::new(StatusCode::IM_A_TEAPOT).to_string(),
            "418 I'm a teapot"
        );
    }
}
