//! `testdata/email/isemail-tests.xml` (164 cases, isemail 3.05).
//!
//! Every `ISEMAIL_ERR` address is rejected in every mode; every
//! `ISEMAIL_VALID_CATEGORY`, `ISEMAIL_DNSWARN` and `ISEMAIL_RFC5321` address
//! is accepted in the RFC 5321 mode. The `CFWS`, `DEPREC` and `RFC5322` rows
//! (valid only under RFC 5322's full grammar with comments, folding white
//! space and obsolete forms) and the HTML mode are pinned to the counts the
//! crate docs state.

use std::collections::BTreeMap;

use pr_security::validation::{EmailMode, validate_email};

use pr_test_support::testdata;

struct Case {
    id: String,
    address: String,
    category: String,
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(&text[start..end])
}

/// Decodes XML entities, then the corpus's convention that U+2400 + n
/// stands for the control character n.
fn decode(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let semi = rest[amp..].find(';').unwrap() + amp;
        let entity = &rest[amp + 1..semi];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ if entity.starts_with("#x") => {
                char::from_u32(u32::from_str_radix(&entity[2..], 16).unwrap()).unwrap()
            }
            _ if entity.starts_with('#') => char::from_u32(entity[1..].parse().unwrap()).unwrap(),
            _ => panic!("unknown entity {entity}"),
        };
        out.push(c);
        rest = &rest[semi + 1..];
    }
    out.push_str(rest);
    out.chars()
        .map(|c| match u32::from(c) {
            n @ 0x2400..=0x241f => char::from_u32(n - 0x2400).unwrap(),
            0x2421 => '\u{7f}',
            _ => c,
        })
        .collect()
}

fn cases() -> Vec<Case> {
    let xml = String::from_utf8(testdata("email/isemail-tests.xml")).unwrap();
    let mut cases = Vec::new();
    let mut rest = xml.as_str();
    while let Some(start) = rest.find("<test id=\"") {
        let block_end = rest[start..].find("</test>").unwrap() + start;
        let block = &rest[start..block_end];
        let id = between(block, "<test id=\"", "\"").unwrap().to_owned();
        let address = if block.contains("<address/>") {
            String::new()
        } else {
            decode(between(block, "<address>", "</address>").unwrap())
        };
        let category = between(block, "<category>", "</category>")
            .unwrap()
            .to_owned();
        cases.push(Case {
            id,
            address,
            category,
        });
        rest = &rest[block_end..];
    }
    cases
}

/// (category, mode) -> (accepted, rejected)
fn tally() -> BTreeMap<(String, &'static str), (usize, usize)> {
    let mut tally = BTreeMap::new();
    for case in cases() {
        for (mode, name) in [(EmailMode::Rfc5321, "rfc5321"), (EmailMode::Html, "html")] {
            let accepted = validate_email(&case.address, mode).is_ok();
            let entry: &mut (usize, usize) =
                tally.entry((case.category.clone(), name)).or_default();
            if accepted {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
        }
    }
    tally
}

#[test]
fn isemail_errors_rejected_and_valid_accepted() {
    let cases = cases();
    assert_eq!(cases.len(), 164);
    let mut failures = Vec::new();
    for case in &cases {
        let strict = validate_email(&case.address, EmailMode::Rfc5321);
        let html = validate_email(&case.address, EmailMode::Html);
        match case.category.as_str() {
            "ISEMAIL_ERR" if strict.is_ok() || html.is_ok() => {
                failures.push(format!("#{} {:?} accepted", case.id, case.address));
            }
            "ISEMAIL_VALID_CATEGORY" | "ISEMAIL_DNSWARN" | "ISEMAIL_RFC5321" => {
                if let Err(e) = strict {
                    failures.push(format!("#{} {:?} rejected: {e}", case.id, case.address));
                }
            }
            _ => {}
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn isemail_counts_match_the_docs() {
    let tally = tally();
    for ((category, mode), (accepted, rejected)) in &tally {
        eprintln!("isemail {category:<24} {mode:<8} accepted {accepted:>3} rejected {rejected:>3}");
    }
    let get = |c: &str, m: &'static str| tally[&(c.to_owned(), m)];
    // The figures in the crate docs (README "Email" section).
    assert_eq!(get("ISEMAIL_ERR", "rfc5321"), (0, 66));
    assert_eq!(get("ISEMAIL_ERR", "html"), (0, 66));
    assert_eq!(get("ISEMAIL_VALID_CATEGORY", "rfc5321"), (14, 0));
    assert_eq!(get("ISEMAIL_VALID_CATEGORY", "html"), (14, 0));
    assert_eq!(get("ISEMAIL_DNSWARN", "rfc5321"), (8, 0));
    assert_eq!(get("ISEMAIL_DNSWARN", "html"), (8, 0));
    assert_eq!(get("ISEMAIL_RFC5321", "rfc5321"), (16, 0));
    assert_eq!(get("ISEMAIL_RFC5321", "html"), (3, 13));
    assert_eq!(get("ISEMAIL_CFWS", "rfc5321"), (0, 10));
    assert_eq!(get("ISEMAIL_CFWS", "html"), (0, 10));
    assert_eq!(get("ISEMAIL_DEPREC", "rfc5321"), (0, 20));
    assert_eq!(get("ISEMAIL_DEPREC", "html"), (0, 20));
    assert_eq!(get("ISEMAIL_RFC5322", "rfc5321"), (0, 30));
    assert_eq!(get("ISEMAIL_RFC5322", "html"), (0, 30));
}
