//! The rules of the W3C Trace Context spec (sections 3.2 and 3.3) and of its
//! test suite's server cases, written from the spec: each invalid header
//! means a new trace.

#![allow(clippy::unwrap_used, reason = "tests: a panic is a failed test")]

use super::*;
use proptest::prelude::*;

const VALID: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

fn parent(text: &str) -> Result<TraceParent, ParseError> {
    text.parse()
}

#[test]
fn a_valid_traceparent_parses_and_prints_back() {
    let p = parent(VALID).unwrap();
    assert_eq!(p.trace_id().to_string(), "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(p.parent_id().to_string(), "b7ad6b7169203331");
    assert!(p.flags().sampled());
    assert_eq!(p.to_string(), VALID);
    let unsampled = parent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00").unwrap();
    assert!(!unsampled.flags().sampled());
}

#[test]
fn optional_whitespace_around_the_value_is_ignored() {
    assert_eq!(
        parent(&format!(" \t{VALID}\t ")).unwrap().to_string(),
        VALID
    );
}

#[test]
fn invalid_versions_are_refused() {
    for version in ["ff", "0", "000", "0g", "FF", "0A", "-0", "  "] {
        let text = format!("{version}-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        assert!(parent(&text).is_err(), "{text}");
    }
}

#[test]
fn version_00_has_exactly_55_characters() {
    assert!(parent(&VALID[..54]).is_err());
    assert!(parent(&format!("{VALID}-")).is_err());
    assert!(parent(&format!("{VALID}-what-the-future-holds")).is_err());
    assert!(parent(&format!("{VALID}0")).is_err());
    assert!(parent("").is_err());
}

#[test]
fn a_later_version_may_carry_more_fields_after_a_dash() {
    let future = "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let p = parent(future).unwrap();
    assert_eq!(p.to_string(), VALID, "sent on as version 00");
    assert!(parent(&format!("{future}-what-the-future-holds")).is_ok());
    // More characters without a dash, or a short header, still fail.
    assert!(parent(&format!("{future}what")).is_err());
    assert!(parent(&future[..54]).is_err());
    // Its first fields follow version 00's rules.
    assert!(parent("cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0x").is_err());
}

#[test]
fn ids_and_flags_must_be_lowercase_hex_of_the_right_length() {
    for text in [
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-B7AD6B7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0A",
        "00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333.-01",
        "00-0af7651916cd43dd8448eb211c80319-cb7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319cb-7ad6b7169203331-01",
        "00_0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331_01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-.1",
    ] {
        assert!(parent(text).is_err(), "{text}");
    }
}

#[test]
fn all_zero_ids_are_invalid() {
    assert!(parent("00-00000000000000000000000000000000-b7ad6b7169203331-01").is_err());
    assert!(parent("00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01").is_err());
}

#[test]
fn unknown_flags_are_kept() {
    let p = parent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-09").unwrap();
    assert!(p.flags().sampled());
    assert_eq!(p.flags().to_byte(), 0x09);
}

#[test]
fn a_child_keeps_the_trace_and_flags_and_takes_a_new_span() {
    let p = parent(VALID).unwrap();
    let child = p.child();
    assert_eq!(child.trace_id(), p.trace_id());
    assert_eq!(child.flags(), p.flags());
    assert_ne!(child.parent_id(), p.parent_id());
    let root = TraceParent::root(false);
    assert!(!root.flags().sampled());
    assert_eq!(parent(&root.to_string()).unwrap(), root);
}

fn state(values: &[&str]) -> Result<TraceState, ParseError> {
    TraceState::parse(values.iter().copied())
}

#[test]
fn tracestate_members_parse_in_order_across_headers() {
    let s = state(&["rojo=00f067aa0ba902b7, congo=t61rcWkgMzE", "", "a@b=1 2"]).unwrap();
    assert_eq!(s.get("congo"), Some("t61rcWkgMzE"));
    assert_eq!(s.get("a@b"), Some("1 2"));
    assert_eq!(
        s.to_string(),
        "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,a@b=1 2"
    );
    assert!(state(&[" , ,\t,"]).unwrap().is_empty());
}

#[test]
fn tracestate_keys_follow_the_grammar() {
    for good in ["a", "a1_-*/", "1tenant@vendor", "t@v-_*/1"] {
        assert!(state(&[&format!("{good}=v")]).is_ok(), "{good}");
    }
    let long_key = "a".repeat(257);
    let long_tenant = format!("{}@v", "t".repeat(242));
    let long_system = format!("t@{}", "v".repeat(15));
    for bad in [
        "A",
        "1a",
        "a.b",
        "a b",
        "",
        "@v",
        "t@",
        "t@1v",
        "t@v@w",
        "ké",
        &long_key,
        &long_tenant,
        &long_system,
    ] {
        assert!(state(&[&format!("{bad}=v")]).is_err(), "{bad}");
    }
    assert!(state(&[&format!("{}=v", "a".repeat(256))]).is_ok());
}

#[test]
fn tracestate_values_follow_the_grammar() {
    assert!(state(&["k=~!\"#$%&'()*+-./:;<>?@[]^_`{|}"]).is_ok());
    let long = "v".repeat(257);
    for bad in [
        "k=",
        "k=a=b",
        "k= ",
        "k=tab\tin",
        "k=é",
        &format!("k={long}"),
    ] {
        assert!(state(&[bad]).is_err(), "{bad:?}");
    }
    assert!(state(&["novalue"]).is_err());
    // Spaces around a member are the list's optional whitespace, not the value's.
    assert_eq!(state(&["k=a b ,j=c"]).unwrap().get("k"), Some("a b"));
}

#[test]
fn tracestate_duplicates_and_too_many_members_drop_the_list() {
    assert!(state(&["a=1,b=2,a=3"]).is_err());
    assert!(state(&["a=1", "a=2"]).is_err());
    let members = |n: usize| {
        (0..n)
            .map(|i| format!("k{i}=v"))
            .collect::<Vec<_>>()
            .join(",")
    };
    assert_eq!(state(&[&members(32)]).unwrap().iter().count(), 32);
    assert!(state(&[&members(33)]).is_err());
}

fn headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, value.parse().unwrap());
    }
    map
}

#[test]
fn a_request_continues_the_callers_trace_or_starts_a_new_one() {
    let context = TraceContext::from_headers(&headers(&[
        ("traceparent", VALID),
        ("tracestate", "rojo=1"),
        ("tracestate", "congo=2"),
    ]))
    .unwrap();
    assert_eq!(context.parent.to_string(), VALID);
    assert_eq!(context.state.to_string(), "rojo=1,congo=2");

    // Two traceparent headers, or a bad one: no parent.
    assert!(
        TraceContext::from_headers(&headers(&[("traceparent", VALID), ("traceparent", VALID)]))
            .is_none()
    );
    assert!(TraceContext::from_headers(&headers(&[("traceparent", "00-xyz")])).is_none());
    assert!(TraceContext::from_headers(&http::HeaderMap::new()).is_none());

    // A bad tracestate is dropped; the trace continues.
    let context = TraceContext::from_headers(&headers(&[
        ("traceparent", VALID),
        ("tracestate", "a=1,a=2"),
    ]))
    .unwrap();
    assert!(context.state.is_empty());
}

proptest! {
    #[test]
    fn parsing_never_panics(text in "\\PC{0,80}") {
        let _ = text.parse::<TraceParent>();
        let _ = TraceState::parse([text.as_str()]);
    }

    #[test]
    fn every_parsed_traceparent_prints_back_as_it_was(
        trace in "[0-9a-f]{32}", span in "[0-9a-f]{16}", flags in "[0-9a-f]{2}",
    ) {
        let text = format!("00-{trace}-{span}-{flags}");
        match text.parse::<TraceParent>() {
            Ok(parsed) => prop_assert_eq!(parsed.to_string(), text),
            Err(_) => prop_assert!(trace.bytes().all(|c| c == b'0') || span.bytes().all(|c| c == b'0')),
        }
    }
}

#[test]
fn a_request_trace_continues_or_starts() {
    let continued = RequestTrace::from_headers(
        &headers(&[("traceparent", VALID), ("tracestate", "a=1")]),
        false,
    );
    assert_eq!(
        continued.current.trace_id().to_string(),
        "0af7651916cd43dd8448eb211c80319c"
    );
    assert_eq!(continued.parent_id.unwrap().to_string(), "b7ad6b7169203331");
    assert_ne!(
        continued.current.parent_id().to_string(),
        "b7ad6b7169203331"
    );
    assert!(
        continued.current.flags().sampled(),
        "the caller's flag wins"
    );
    assert_eq!(continued.state.get("a"), Some("1"));

    let started = RequestTrace::from_headers(&headers(&[("traceparent", "00-bad")]), false);
    assert!(started.parent_id.is_none());
    assert!(!started.current.flags().sampled());
    assert!(
        RequestTrace::from_headers(&http::HeaderMap::new(), true)
            .current
            .flags()
            .sampled()
    );
}
