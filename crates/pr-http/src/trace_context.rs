//! W3C Trace Context (<https://www.w3.org/TR/trace-context/>): the
//! `traceparent` and `tracestate` request headers, parsed by the spec's
//! rules, so that a request continues the caller's trace or starts a new one.
//!
//! What a server must do with what it receives, and what this module does:
//!
//! - `traceparent` is `version-traceid-parentid-flags` in lowercase hex. Version
//!   `00` is exactly 55 characters. A later version is read by version `00`'s
//!   layout for its first 55 characters and may carry more fields after a
//!   `-` (forward compatibility); version `ff` is invalid. An all-zero trace
//!   id or parent id is invalid, and so is uppercase hex. Spaces and tabs
//!   around the value are ignored (optional whitespace, RFC 9110).
//! - Two `traceparent` headers, or one that does not parse, mean no parent:
//!   the server starts a new trace and ignores `tracestate`.
//! - `tracestate` is a list of up to 32 `key=value` members (keys `vendor` or
//!   `tenant@vendor`, values printable ASCII without `,` and `=`); empty
//!   members are skipped; several headers are one list. A list that breaks a
//!   rule (a bad key or value, a duplicate key, more than 32 members) is
//!   dropped whole, and the trace still continues from `traceparent`.
//!
//! ```
//! use pr_http::trace_context::TraceParent;
//!
//! let parent: TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse()?;
//! assert!(parent.flags().sampled());
//! let child = parent.child();
//! assert_eq!(child.trace_id(), parent.trace_id());
//! assert_ne!(child.parent_id(), parent.parent_id());
//! assert!("00-00000000000000000000000000000000-00f067aa0ba902b7-01"
//!     .parse::<TraceParent>()
//!     .is_err());
//! # Ok::<(), pr_http::trace_context::ParseError>(())
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

mod layer;
#[cfg(feature = "otel")]
mod otel;
#[cfg(all(feature = "otel", feature = "client"))]
pub(crate) use otel::inject_outbound;

pub use layer::{TraceContextLayer, TraceContextService};

/// The length of a version `00` `traceparent`.
const TRACEPARENT_LEN: usize = 55;
/// The most `tracestate` members a list may have.
pub const MAX_TRACESTATE_MEMBERS: usize = 32;
/// The longest `tracestate` value.
const MAX_VALUE_LEN: usize = 256;

/// Why a header did not parse. Not sent to clients: an invalid header means
/// a new trace, not an error response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {header}: {reason}")]
pub struct ParseError {
    /// `traceparent` or `tracestate`.
    pub header: &'static str,
    /// The rule it breaks.
    pub reason: &'static str,
}

impl ParseError {
    const fn parent(reason: &'static str) -> Self {
        Self {
            header: "traceparent",
            reason,
        }
    }

    const fn state(reason: &'static str) -> Self {
        Self {
            header: "tracestate",
            reason,
        }
    }
}

/// A trace's 16-byte id, never all zeros.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceId([u8; 16]);

/// A span's 8-byte id, never all zeros.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpanId([u8; 8]);

impl TraceId {
    /// A new random id.
    #[must_use]
    pub fn random() -> Self {
        loop {
            let bytes = fastrand::u128(..).to_be_bytes();
            if bytes != [0; 16] {
                return Self(bytes);
            }
        }
    }

    /// The id's bytes.
    #[must_use]
    pub const fn to_bytes(self) -> [u8; 16] {
        self.0
    }
}

impl SpanId {
    /// A new random id.
    #[must_use]
    pub fn random() -> Self {
        loop {
            let bytes = fastrand::u64(..).to_be_bytes();
            if bytes != [0; 8] {
                return Self(bytes);
            }
        }
    }

    /// The id's bytes.
    #[must_use]
    pub const fn to_bytes(self) -> [u8; 8] {
        self.0
    }
}

/// Lowercase hex, as the header writes it.
fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({self})")
    }
}

/// The `trace-flags` byte. Only `sampled` (bit 0) is defined in version
/// `00`; other bits are kept as received.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TraceFlags(u8);

impl TraceFlags {
    /// The caller may have recorded this trace.
    pub const SAMPLED: Self = Self(0x01);

    /// The flags from their byte.
    #[must_use]
    pub const fn from_byte(byte: u8) -> Self {
        Self(byte)
    }

    /// The flags' byte.
    #[must_use]
    pub const fn to_byte(self) -> u8 {
        self.0
    }

    /// Whether the `sampled` bit is set.
    #[must_use]
    pub const fn sampled(self) -> bool {
        self.0 & 0x01 != 0
    }
}

/// A parsed `traceparent`: the caller's trace and its span, the parent of
/// the request's span.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TraceParent {
    trace_id: TraceId,
    parent_id: SpanId,
    flags: TraceFlags,
}

/// `count` lowercase hex digits at the start of `text`, as bytes; `None`
/// for anything else (uppercase included).
fn lower_hex<const N: usize>(text: &[u8]) -> Option<[u8; N]> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = digit(*text.get(2 * i)?)? << 4 | digit(*text.get(2 * i + 1)?)?;
    }
    Some(out)
}

impl TraceParent {
    /// The start of a new trace: random ids, `sampled` as given.
    #[must_use]
    pub fn root(sampled: bool) -> Self {
        Self {
            trace_id: TraceId::random(),
            parent_id: SpanId::random(),
            flags: if sampled {
                TraceFlags::SAMPLED
            } else {
                TraceFlags::default()
            },
        }
    }

    /// The same trace with a new span id: what this service sends on as the
    /// parent of its own outbound calls.
    #[must_use]
    pub fn child(&self) -> Self {
        Self {
            parent_id: SpanId::random(),
            ..*self
        }
    }

    /// The trace's id.
    #[must_use]
    pub const fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// The caller's span id.
    #[must_use]
    pub const fn parent_id(&self) -> SpanId {
        self.parent_id
    }

    /// The trace flags.
    #[must_use]
    pub const fn flags(&self) -> TraceFlags {
        self.flags
    }
}

impl FromStr for TraceParent {
    type Err = ParseError;

    fn from_str(value: &str) -> Result<Self, ParseError> {
        let text = value.trim_matches([' ', '\t']).as_bytes();
        let version = lower_hex::<1>(text).ok_or(ParseError::parent(
            "the version is not two lowercase hex digits",
        ))?[0];
        if version == 0xff {
            return Err(ParseError::parent("version ff is invalid"));
        }
        let fits = match version {
            0 => text.len() == TRACEPARENT_LEN,
            // A later version: version 00's fields first, then more fields after a dash.
            _ => {
                text.len() == TRACEPARENT_LEN
                    || (text.len() > TRACEPARENT_LEN && text[TRACEPARENT_LEN] == b'-')
            }
        };
        if !fits {
            return Err(ParseError::parent("wrong length"));
        }
        if text[2] != b'-' || text[35] != b'-' || text[52] != b'-' {
            return Err(ParseError::parent("the fields are not separated by dashes"));
        }
        let trace_id = lower_hex::<16>(&text[3..35]).ok_or(ParseError::parent(
            "the trace id is not 32 lowercase hex digits",
        ))?;
        let parent_id = lower_hex::<8>(&text[36..52]).ok_or(ParseError::parent(
            "the parent id is not 16 lowercase hex digits",
        ))?;
        let flags = lower_hex::<1>(&text[53..55]).ok_or(ParseError::parent(
            "the flags are not two lowercase hex digits",
        ))?[0];
        if trace_id == [0; 16] {
            return Err(ParseError::parent("the trace id is all zeros"));
        }
        if parent_id == [0; 8] {
            return Err(ParseError::parent("the parent id is all zeros"));
        }
        Ok(Self {
            trace_id: TraceId(trace_id),
            parent_id: SpanId(parent_id),
            flags: TraceFlags(flags),
        })
    }
}

/// The header value, version `00` (what this service sends, whatever
/// version it received).
impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            self.trace_id, self.parent_id, self.flags.0
        )
    }
}

/// A parsed `tracestate`: vendors' `key=value` members, in order, at most
/// [`MAX_TRACESTATE_MEMBERS`].
///
/// Shared, not copied, by its clones: a request's state is cloned into the
/// task-local [`RequestTrace::current`] and sent on with each outbound call,
/// and a clone of a `Vec` of strings would be one allocation per member and
/// two per string; the `Arc` costs one allocation at parse time, then an
/// atomic increment per clone. An empty list holds no `Arc` at all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceState {
    members: Option<Arc<[(String, String)]>>,
}

fn key_char(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-' | b'*' | b'/')
}

/// `simple-key` or `tenant-id@system-id`.
fn valid_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    match key.split_once('@') {
        None => {
            (1..=256).contains(&bytes.len())
                && bytes[0].is_ascii_lowercase()
                && bytes.iter().all(|&c| key_char(c))
        }
        Some((tenant, system)) => {
            let (t, s) = (tenant.as_bytes(), system.as_bytes());
            (1..=241).contains(&t.len())
                && (t[0].is_ascii_lowercase() || t[0].is_ascii_digit())
                && t.iter().all(|&c| key_char(c))
                && (1..=14).contains(&s.len())
                && s[0].is_ascii_lowercase()
                && s.iter().all(|&c| key_char(c))
        }
    }
}

/// Printable ASCII without `,` and `=`, not ending in a space, 1 to 256
/// characters.
fn valid_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    let non_blank = |c: u8| (0x21..=0x7e).contains(&c) && c != b',' && c != b'=';
    (1..=MAX_VALUE_LEN).contains(&bytes.len())
        && bytes.iter().all(|&c| c == b' ' || non_blank(c))
        && non_blank(bytes[bytes.len() - 1])
}

impl TraceState {
    /// The list from the values of every `tracestate` header of a request,
    /// in order (several headers are one list).
    ///
    /// # Errors
    ///
    /// A member that breaks the grammar, a duplicate key, or more than
    /// [`MAX_TRACESTATE_MEMBERS`] members: the list is dropped whole.
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Self, ParseError> {
        let mut members: Vec<(String, String)> = Vec::new();
        for value in values {
            for member in value.split(',') {
                let member = member.trim_matches([' ', '\t']);
                if member.is_empty() {
                    continue;
                }
                if members.len() == MAX_TRACESTATE_MEMBERS {
                    return Err(ParseError::state("more than 32 members"));
                }
                let (key, value) = member
                    .split_once('=')
                    .ok_or(ParseError::state("a member has no `=`"))?;
                if !valid_key(key) {
                    return Err(ParseError::state("a key breaks the grammar"));
                }
                if !valid_value(value) {
                    return Err(ParseError::state("a value breaks the grammar"));
                }
                if members.iter().any(|(k, _)| k == key) {
                    return Err(ParseError::state("a key appears twice"));
                }
                members.push((key.to_owned(), value.to_owned()));
            }
        }
        Ok(Self {
            members: (!members.is_empty()).then(|| Arc::from(members)),
        })
    }

    fn members(&self) -> &[(String, String)] {
        self.members.as_deref().unwrap_or_default()
    }

    /// The value of `key`, if a member has it.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.members()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The members, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.members().iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether the list has no member.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.members.is_none()
    }
}

/// The header value: members joined by `,`.
impl fmt::Display for TraceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (key, value)) in self.members().iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{key}={value}")?;
        }
        Ok(())
    }
}

/// A request's trace context: the caller's `traceparent` and, when it
/// parsed, its `tracestate`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceContext {
    /// The caller's trace and span.
    pub parent: TraceParent,
    /// The vendors' state, empty when absent or dropped.
    pub state: TraceState,
}

impl TraceContext {
    /// The context of a request with `headers`: `None` (start a new trace)
    /// when `traceparent` is missing, repeated or invalid.
    #[must_use]
    pub fn from_headers(headers: &http::HeaderMap) -> Option<Self> {
        let mut parents = headers.get_all("traceparent").iter();
        let (Some(parent), None) = (parents.next(), parents.next()) else {
            return None;
        };
        let parent: TraceParent = parent.to_str().ok()?.parse().ok()?;
        let values: Option<Vec<&str>> = headers
            .get_all("tracestate")
            .iter()
            .map(|v| v.to_str().ok())
            .collect();
        let state = values
            .and_then(|values| TraceState::parse(values).ok())
            .unwrap_or_default();
        Some(Self { parent, state })
    }
}

/// What a request's handler and logs know of its trace: this request's own
/// span in the trace (a child of the caller's, or the root of a new trace),
/// the caller's span id, and the vendors' state to send on. Put in the
/// request's extensions by [`TraceContextLayer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestTrace {
    /// This request's trace and span (send it on as the parent of outbound
    /// calls' spans: [`TraceParent::child`]).
    pub current: TraceParent,
    /// The caller's span, when the request continued a trace.
    pub parent_id: Option<SpanId>,
    /// The caller's `tracestate`, empty when absent or dropped.
    pub state: TraceState,
}

tokio::task_local! {
    /// The trace of the request whose task this is, set by [`TraceContextLayer`].
    static CURRENT: RequestTrace;
}

impl RequestTrace {
    /// The trace of the request whose task this is: set by
    /// [`TraceContextLayer`] around the inner service's future, so code deep
    /// in a handler (the outbound client) continues the trace without being
    /// handed it. `None` outside such a request, and in a task the handler
    /// spawned (a task-local does not follow `tokio::spawn`; pass the trace
    /// on by hand there).
    #[must_use]
    pub fn current() -> Option<Self> {
        CURRENT.try_with(Clone::clone).ok()
    }

    /// Runs `future` with `self` as [`RequestTrace::current`], for code that
    /// serves requests without [`TraceContextLayer`] (a queue consumer
    /// continuing a message's trace).
    pub async fn scope<F: Future>(self, future: F) -> F::Output {
        CURRENT.scope(self, future).await
    }

    /// The trace of a request with `headers`: the caller's continued, or a
    /// new one (`sampled` as given) when `traceparent` is missing or invalid.
    #[must_use]
    pub fn from_headers(headers: &http::HeaderMap, sampled: bool) -> Self {
        match TraceContext::from_headers(headers) {
            Some(TraceContext { parent, state }) => Self {
                current: parent.child(),
                parent_id: Some(parent.parent_id()),
                state,
            },
            None => Self {
                current: TraceParent::root(sampled),
                parent_id: None,
                state: TraceState::default(),
            },
        }
    }
}

#[cfg(test)]
mod tests;
