//! The ops console (`GET /` on the ops port) in a real headless Chromium,
//! against the running demo: the page loads with no console error, no
//! policy violation and no failed load, shows a breaker opening after
//! failures are injected, draws the request charts, and changes the log
//! level with the ops token.

use std::time::Duration;

use pr_test_support::browser::Browser;

use crate::e2e::{Service, get};

const TOKEN: &str = "a-long-enough-console-token";
const WAIT: Duration = Duration::from_secs(20);

/// The text of the first element `selector` matches, or `null`.
fn text(selector: &str) -> String {
    format!("(document.querySelector({selector:?})?.textContent ?? null)")
}

#[test]
fn the_ops_console_shows_the_service_live_and_changes_a_log_level() {
    let service = Service::start(&format!(
        "[ops]\ntoken = \"{TOKEN}\"\n\
         [dependency]\nfailure_rate = 0.0\nmin_latency = \"1ms\"\nmax_latency = \"2ms\"\ntest_knobs = true\n\
         [resilience.breakers.quotes]\nminimum_calls = 5\n"
    ));
    for symbol in ["ACME", "INIT", "ACME"] {
        assert_eq!(get(&format!("{}/quote/{symbol}", service.api)).0, 200);
    }
    let mut browser = Browser::launch(1400, 1100);
    browser.goto(&format!("{}/", service.ops));

    let breaker = text("#breakers tr[data-name='quotes'] .state");
    assert_eq!(browser.wait_for(&breaker, WAIT), "closed");
    assert_eq!(browser.eval(&text("#service")), "pr-demo 0.1.0");
    assert_eq!(browser.eval(&text("#health")), "UP");
    assert_eq!(browser.eval(&text("#phase")), "ready");
    // Sections the demo registers, each with its row.
    for row in [
        "#caches tr[data-name='quotes']",
        "#limiters tr[data-name='http.clients']",
        "#dlq tr[data-name='quotes']",
        "#checks tr[data-name='breaker:quotes']",
    ] {
        assert_eq!(
            browser.eval(&format!("document.querySelector({row:?}) !== null")),
            true,
            "{row}"
        );
    }

    // Failures injected through the API open the breaker; the page shows it
    // at its next refresh.
    let fail = format!("{}/quote/ACME?fail=true", service.api);
    // Each failed request is three failed calls (the retries): the breaker
    // opens within a few, and then answers 503 without calling.
    let answers: Vec<u16> = (0..5).map(|_| get(&fail).0).collect();
    assert_eq!(answers[0], 502, "{answers:?}");
    assert_eq!(
        answers.last(),
        Some(&503),
        "the breaker opened: {answers:?}"
    );
    browser.wait_for(&format!("{breaker} === 'open'"), WAIT);
    let rate = browser.eval(&text("#breakers tr[data-name='quotes'] td:nth-child(5)"));
    assert!(rate.as_str().is_some_and(|r| r.ends_with('%')), "{rate}");
    // Two readings of /metrics make a point of each chart.
    browser.wait_for(
        "document.querySelector('#rate-chart polyline').getAttribute('points')",
        WAIT,
    );
    assert!(
        browser
            .eval(&text("#rate-now"))
            .as_str()
            .is_some_and(|t| t.contains("req/s")),
        "the rate is shown"
    );

    // The log level, changed with the token through the page's form.
    browser.eval(&format!(
        "document.getElementById('filter').value = 'info,pr_demo=debug';\
         document.getElementById('token').value = {TOKEN:?};\
         document.getElementById('apply-filter').click(); true"
    ));
    let result = browser.wait_for(&text("#filter-result"), WAIT);
    assert_eq!(result, "filter now info,pr_demo=debug");
    let (status, loggers) = get(&format!("{}/loggers", service.ops));
    assert_eq!(status, 200);
    assert!(
        loggers.contains(r#""filter":"info,pr_demo=debug""#),
        "{loggers}"
    );
    browser.wait_for(
        &format!("{} === 'info,pr_demo=debug'", text("#current-filter")),
        WAIT,
    );

    let errors = browser.errors();
    assert!(errors.is_empty(), "the page reported errors: {errors:#?}");
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("ops-console.png");
    browser.screenshot(&shot);
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{}",
        shot.display()
    );
    eprintln!("screenshot: {}", shot.display());

    // A wrong token is refused, and the page says so.
    browser.eval(
        "document.getElementById('token').value = 'not-the-token-at-all';\
         document.getElementById('filter').value = 'trace';\
         document.getElementById('apply-filter').click(); true",
    );
    browser.wait_for(
        &format!("{}.startsWith('401')", text("#filter-result")),
        WAIT,
    );
    assert!(
        get(&format!("{}/loggers", service.ops))
            .1
            .contains("info,pr_demo=debug")
    );
}
