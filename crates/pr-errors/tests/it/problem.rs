//! Problem details built from reports, and their JSON round trip.

use pr_errors::http::StatusCode;
use pr_errors::{Problem, Report};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::support::Node;

#[test]
fn private_errors_show_only_code_and_status() {
    let report = Report::new(Node::chain(
        &["db at /var/lib/pg failed".to_owned(), "disk".to_owned()],
        false,
    ));
    let json: Value = serde_json::from_str(&report.to_problem().to_json()).unwrap();
    assert_eq!(
        json,
        json!({"type": "about:blank", "title": "Service Unavailable", "status": 503, "code": "test.private"})
    );
}

#[test]
fn public_errors_carry_their_message() {
    let report = Report::new(Node::chain(
        &["field `email` is not an address".to_owned()],
        true,
    ))
    .context("validating signup from 203.0.113.9");
    let problem = report
        .to_problem()
        .with_type("https://docs.example.com/errors/test.public");
    assert_eq!(problem.detail(), Some("field `email` is not an address"));
    assert_eq!(problem.status(), Some(StatusCode::UNPROCESSABLE_ENTITY));
    assert!(!problem.to_json().contains("203.0.113.9"));
    assert_eq!(Problem::CONTENT_TYPE, "application/problem+json");
}

fn ext_name() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_]{2,12}".prop_filter("not a standard member", |n| {
        !["type", "title", "status", "detail", "instance", "code"].contains(&n.as_str())
    })
}

fn ext_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
        prop::collection::vec(any::<u32>(), 0..4).prop_map(Value::from),
    ]
}

proptest! {
    #[test]
    fn json_round_trips(
        status in 100u16..1000,
        type_uri in proptest::option::of(any::<String>()),
        title in proptest::option::of(any::<String>()),
        detail in proptest::option::of(any::<String>()),
        instance in proptest::option::of(any::<String>()),
        extensions in prop::collection::btree_map(ext_name(), ext_value(), 0..5),
    ) {
        let mut problem = Problem::new(StatusCode::from_u16(status).unwrap());
        if let Some(t) = type_uri { problem = problem.with_type(t); }
        if let Some(t) = title { problem = problem.with_title(t); }
        if let Some(d) = detail { problem = problem.with_detail(d); }
        if let Some(i) = instance { problem = problem.with_instance(i); }
        for (name, value) in extensions {
            problem = problem.with_extension(&name, value).unwrap();
        }
        let json = problem.to_json();
        let back: Problem = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, problem);
    }

    #[test]
    fn any_json_object_parses_without_panic(members in prop::collection::btree_map("[a-z]{1,8}", ext_value(), 0..8)) {
        let text = serde_json::to_string(&members).unwrap();
        let parsed: Problem = serde_json::from_str(&text).unwrap();
        // Whatever came in, what goes out parses back to the same problem.
        let again: Problem = serde_json::from_str(&parsed.to_json()).unwrap();
        prop_assert_eq!(again, parsed);
    }
}
