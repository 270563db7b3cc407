//! Named policies from configuration: TOML sections, every problem at its
//! key, defaults under instances, pipelines that behave as the same ones
//! built in code, shared breakers.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use pr_core::time::ManualClock;
use pr_resilience::breaker::{
    BreakerConfig, CircuitBreaker, SlidingWindow, SlidingWindowKind, State,
};
use pr_resilience::bulkhead::{Bulkhead, BulkheadConfig};
use pr_resilience::pipeline::Pipeline;
use pr_resilience::policies::{Policies, ResilienceConfig};
use pr_resilience::retry::{Backoff, BackoffKind, Jitter, Retry, RetryConfig};
use pr_resilience::{CallError, Clock, Error};

fn transient() -> Error {
    Error::Rejected {
        name: "upstream".into(),
        retry_after: None,
    }
}

fn parse(text: &str) -> ResilienceConfig {
    toml::from_str(text).unwrap()
}

/// Each problem as `key: message`.
fn problems(config: &impl pr_core::validate::Validate) -> Vec<String> {
    let mut v = pr_core::validate::Validator::new();
    config.validate(&mut v);
    v.problems().iter().map(ToString::to_string).collect()
}

fn keys(error: &Error) -> Vec<&str> {
    let Error::InvalidConfig { problems } = error else {
        panic!("not invalid_config: {error}")
    };
    problems.iter().map(|p| p.key.as_str()).collect()
}

const EXAMPLE: &str = r#"
[defaults.retry]
max_retries = 1
jitter = "none"

[defaults.breaker]
minimum_calls = 5
wait_in_open = "10s"

[defaults.pipeline]
total_timeout = "5s"

[retries.standard]
backoff = "constant"
base_delay = "100ms"

[retries.patient]
max_retries = 4
backoff = "exponential"
base_delay = "1s"
factor = 3.0
max_delay = "0s"
max_elapsed = "1m"
fail_after_max_attempts = true

[breakers.quotes]
sliding_window = "time"
window_duration = "30s"
window_buckets = 30
failure_rate_threshold = 25.0
slow_call_rate_threshold = 80.0
slow_call_duration = "2s"
open_backoff_factor = 2.0
max_wait_in_open = "5m"
permitted_calls_in_half_open = 3
probe_lease = "20s"
record_all_errors = true

[bulkheads.upstream]
limit = 16
max_queue = 4
max_wait = "250ms"

[pipelines.quotes]
retry = "standard"
breaker = "quotes"
bulkhead = "upstream"
attempt_timeout = "500ms"
"#;

#[test]
fn a_toml_section_reads_into_the_config_types() {
    let config = parse(EXAMPLE);
    assert_eq!(config.defaults.retry.max_retries, Some(1));
    assert_eq!(config.defaults.retry.jitter, Some(Jitter::None));
    let patient = &config.retries["patient"];
    assert_eq!(patient.backoff, Some(BackoffKind::Exponential));
    assert_eq!(patient.factor, Some(3.0));
    assert_eq!(
        patient.max_elapsed.map(pr_core::units::Duration::as_std),
        Some(Duration::from_secs(60))
    );
    let quotes = &config.breakers["quotes"];
    assert_eq!(quotes.sliding_window, Some(SlidingWindowKind::Time));
    assert_eq!(quotes.window_buckets, Some(30));
    assert_eq!(quotes.record_all_errors, Some(true));
    assert_eq!(config.bulkheads["upstream"].limit, Some(16));
    let pipeline = &config.pipelines["quotes"];
    assert_eq!(pipeline.breaker.as_deref(), Some("quotes"));
    assert_eq!(
        pipeline
            .attempt_timeout
            .map(pr_core::units::Duration::as_std),
        Some(Duration::from_millis(500))
    );
    assert!(problems(&config).is_empty(), "{:?}", problems(&config));

    let policies = Policies::from_config(&config).unwrap();
    assert_eq!(policies.pipeline_names().collect::<Vec<_>>(), ["quotes"]);
    assert_eq!(policies.bulkhead("upstream").unwrap().name(), "upstream");
    assert_eq!(policies.breaker("quotes").unwrap().name(), "quotes");
    assert!(policies.pipeline("nothing").is_none());
}

#[test]
fn unknown_keys_and_wrong_kinds_are_refused_by_serde() {
    let unknown = toml::from_str::<ResilienceConfig>("[retries.a]\nmax_retry = 3\n").unwrap_err();
    assert!(unknown.to_string().contains("max_retry"), "{unknown}");
    let kind = toml::from_str::<ResilienceConfig>("[breakers.a]\nsliding_window = \"sliding\"\n")
        .unwrap_err();
    assert!(kind.to_string().contains("sliding_window"), "{kind}");
    let section = toml::from_str::<ResilienceConfig>("[timeouts.a]\n").unwrap_err();
    assert!(section.to_string().contains("timeouts"), "{section}");
}

#[test]
fn every_problem_is_reported_at_its_key_without_its_value() {
    let config = parse(
        r#"
        [defaults.retry]
        factor = 0.5

        [defaults.pipeline]
        bulkhead = "nowhere"

        [retries.fast]
        factor = inf

        [breakers.quotes]
        failure_rate_threshold = 0.0
        slow_call_rate_threshold = 101.0
        window_size = 0
        window_duration = "0s"
        window_buckets = 2000
        permitted_calls_in_half_open = 0
        probe_lease = "0s"
        open_backoff_factor = 0.9

        [bulkheads.db]
        limit = 0

        [pipelines.quotes]
        retry = "missing-retry"
        breaker = "missing-breaker"
        "#,
    );
    assert_eq!(
        problems(&config),
        [
            "defaults.retry.factor: must be a finite number of at least 1",
            "defaults.pipeline.bulkhead: names `nowhere`, which is not a key of `bulkheads`",
            "retries.fast.factor: must be a finite number of at least 1",
            "breakers.quotes.failure_rate_threshold: must be more than 0 and at most 100 (a percentage)",
            "breakers.quotes.slow_call_rate_threshold: must be more than 0 and at most 100 (a percentage)",
            "breakers.quotes.window_size: must be at least 1",
            "breakers.quotes.window_duration: must be more than zero",
            "breakers.quotes.window_buckets: must be between 1 and 1024",
            "breakers.quotes.permitted_calls_in_half_open: must be between 1 and 1024",
            "breakers.quotes.probe_lease: must be more than zero",
            "breakers.quotes.open_backoff_factor: must be a finite number of at least 1",
            "bulkheads.db.limit: must be at least 1",
            "pipelines.quotes.retry: names `missing-retry`, which is not a key of `retries`",
            "pipelines.quotes.breaker: names `missing-breaker`, which is not a key of `breakers`",
        ]
    );
    // Refused at construction with the same problems, nothing built.
    let refused = Policies::from_config(&config).unwrap_err();
    assert_eq!(
        pr_errors::CodedError::code(&refused).as_str(),
        "resilience.invalid_config"
    );
    assert_eq!(keys(&refused).len(), 14);
}

#[test]
fn a_pipeline_naming_an_unknown_instance_is_refused_at_its_key() {
    let config = parse(
        r#"
        [breakers.quotes]

        [pipelines.quotes]
        breaker = "qoutes"
        "#,
    );
    let refused = Policies::from_config(&config).unwrap_err();
    assert_eq!(keys(&refused), ["pipelines.quotes.breaker"]);
    assert!(refused.to_string().contains("`qoutes`"), "{refused}");

    let empty = parse("[retries.\"\"]\n");
    assert_eq!(problems(&empty), ["retries: names must not be empty"]);
}

#[test]
fn each_area_refuses_its_own_config_at_its_own_keys() {
    let mut retry = RetryConfig::default();
    retry.factor = Some(f64::NAN);
    assert_eq!(
        keys(&Retry::from_config("r", &retry).unwrap_err()),
        ["factor"]
    );
    let mut breaker = BreakerConfig::default();
    breaker.failure_rate_threshold = Some(150.0);
    breaker.window_size = Some(0);
    assert_eq!(
        keys(&CircuitBreaker::from_config("b", &breaker).unwrap_err()),
        ["failure_rate_threshold", "window_size"]
    );
    let mut bulkhead = BulkheadConfig::default();
    bulkhead.limit = Some(0);
    assert_eq!(
        keys(&Bulkhead::from_config("h", &bulkhead).unwrap_err()),
        ["limit"]
    );
    // Nothing set: the builders' defaults, all valid.
    assert!(Retry::from_config("r", &RetryConfig::default()).is_ok());
    assert!(CircuitBreaker::from_config("b", &BreakerConfig::default()).is_ok());
    assert!(Bulkhead::from_config("h", &BulkheadConfig::default()).is_ok());
}

#[test]
fn an_instance_takes_the_defaults_for_what_it_leaves_unset() {
    let config = parse(EXAMPLE);
    let standard = config.retries["standard"].or(&config.defaults.retry);
    assert_eq!(standard.max_retries, Some(1), "from the defaults");
    assert_eq!(standard.backoff, Some(BackoffKind::Constant), "its own");
    let patient = config.retries["patient"].or(&config.defaults.retry);
    assert_eq!(
        patient.max_retries,
        Some(4),
        "its own wins over the defaults"
    );
    let quotes = config.breakers["quotes"].or(&config.defaults.breaker);
    assert_eq!(quotes.minimum_calls, Some(5));
    assert_eq!(quotes.failure_rate_threshold, Some(25.0));
    let pipeline = config.pipelines["quotes"].or(&config.defaults.pipeline);
    assert_eq!(
        pipeline.total_timeout.map(pr_core::units::Duration::as_std),
        Some(Duration::from_secs(5))
    );

    // And the built policies show it: one retry (the defaults' count) of a
    // constant 100 ms, no jitter (the defaults'); four of the patient one,
    // uncapped (`max_delay = "0s"`).
    let policies = Policies::from_config(&config).unwrap();
    assert_eq!(
        policies.retry("standard").unwrap().delays(10),
        [Duration::from_millis(100)]
    );
    assert_eq!(
        policies.retry("patient").unwrap().delays(10),
        [1, 3, 9, 27].map(Duration::from_secs)
    );
}

/// What one call through a pipeline did: its outcome, the attempts it ran,
/// the breaker's state after it, the time it took on paused time.
async fn observe(pipeline: &Pipeline<pr_resilience::retry::Transient>) -> Vec<String> {
    let mut seen = Vec::new();
    for _ in 0..4 {
        let attempts = AtomicU32::new(0);
        let started = tokio::time::Instant::now();
        let outcome = pipeline
            .run(|| async {
                attempts.fetch_add(1, Ordering::Relaxed);
                Err::<(), _>(transient())
            })
            .await;
        seen.push(format!(
            "{outcome:?} attempts={} state={} took={:?}",
            attempts.into_inner(),
            pipeline.breaker().unwrap().state(),
            started.elapsed()
        ));
    }
    seen
}

#[tokio::test(start_paused = true)]
async fn a_pipeline_from_config_behaves_as_the_same_pipeline_built_in_code() {
    let config = parse(
        r#"
        [retries.twice]
        max_retries = 2
        backoff = "constant"
        base_delay = "1s"
        jitter = "none"

        [breakers.upstream]
        window_size = 4
        minimum_calls = 4
        failure_rate_threshold = 50.0
        wait_in_open = "10s"

        [pipelines.quotes]
        retry = "twice"
        breaker = "upstream"
        total_timeout = "0s"
        attempt_timeout = "0s"
        "#,
    );
    let policies = Policies::builder(&config)
        .clock(Clock::tokio())
        .build()
        .unwrap();
    let from_config = policies.pipeline("quotes").unwrap();
    let in_code = Pipeline::builder()
        .name("quotes")
        .retry(
            Retry::builder()
                .name("twice")
                .backoff(Backoff::Constant(Duration::from_secs(1)))
                .jitter(Jitter::None)
                .max_retries(2)
                .clock(Clock::tokio())
                .build()
                .unwrap(),
        )
        .breaker(
            CircuitBreaker::builder("upstream")
                .sliding_window(SlidingWindow::Count(4))
                .minimum_calls(4)
                .failure_rate_threshold(50.0)
                .wait_in_open(Duration::from_secs(10))
                .clock(Clock::tokio()),
        )
        .build()
        .unwrap();

    let configured = observe(&from_config).await;
    assert_eq!(configured, observe(&in_code).await);
    // The first call: three attempts (two retries, a second apart), three
    // failures in a window of four, still closed.
    assert!(
        configured[0].ends_with("attempts=3 state=closed took=2s"),
        "{configured:?}"
    );
    // The second call's first failure opens the breaker; the first retry,
    // a second later, is refused (the operation does not run) and waits out
    // the refusal's retry-after, 9 s; the second runs as a half-open probe.
    assert!(
        configured[1].ends_with("attempts=2 state=half_open took=10s"),
        "{configured:?}"
    );
}

#[test]
fn a_breaker_named_by_two_pipelines_is_one_breaker() {
    let manual = ManualClock::new();
    let config = parse(
        r#"
        [defaults.pipeline]
        total_timeout = "0s"
        attempt_timeout = "0s"

        [breakers.shared]
        window_size = 2
        minimum_calls = 2
        failure_rate_threshold = 50.0
        wait_in_open = "30s"

        [pipelines.reads]
        breaker = "shared"

        [pipelines.writes]
        breaker = "shared"
        "#,
    );
    let policies = Policies::builder(&config)
        .clock(manual.clock())
        .build()
        .unwrap();
    let reads = policies.pipeline("reads").unwrap();
    let writes = policies.pipeline("writes").unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let calls = AtomicU32::new(0);
    let fail = || async {
        calls.fetch_add(1, Ordering::Relaxed);
        Err::<(), _>(transient())
    };
    runtime.block_on(async {
        assert!(matches!(reads.run(fail).await, Err(CallError::Inner(_))));
        assert!(matches!(reads.run(fail).await, Err(CallError::Inner(_))));
        // Two failures through `reads` opened the breaker `writes` uses.
        let refused = writes.run(fail).await;
        let Err(CallError::Rejected(Error::CircuitOpen { name, retry_after })) = refused else {
            panic!("not refused: {refused:?}")
        };
        assert_eq!(name, "shared");
        assert_eq!(retry_after, Duration::from_secs(30));
    });
    assert_eq!(
        calls.load(Ordering::Relaxed),
        2,
        "the refused call never ran"
    );
    assert_eq!(policies.breaker("shared").unwrap().state(), State::Open);

    // Its wait in open is read on the builder's clock.
    manual.advance(Duration::from_secs(30));
    runtime.block_on(async {
        let probe = writes.run(|| async { Ok::<_, Error>(()) }).await;
        assert!(probe.is_ok(), "{probe:?}");
    });
    assert_eq!(reads.breaker().unwrap().state(), State::HalfOpen);
}

#[tokio::test(start_paused = true)]
async fn the_configured_timeouts_and_bulkhead_apply() {
    let config = parse(
        r#"
        [bulkheads.one]
        limit = 1

        [pipelines.slow]
        bulkhead = "one"
        total_timeout = "2s"
        attempt_timeout = "500ms"

        [pipelines.plain]
        "#,
    );
    let policies = Policies::from_config(&config).unwrap();
    let slow = policies.pipeline("slow").unwrap();
    let timed_out = slow
        .run(|| async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok::<_, Error>(())
        })
        .await;
    let Err(CallError::Rejected(Error::Timeout { name, after })) = timed_out else {
        panic!("not a timeout: {timed_out:?}")
    };
    assert_eq!(
        (name.as_str(), after),
        ("slow.attempt", Duration::from_millis(500))
    );
    assert_eq!(slow.bulkhead().unwrap().name(), "one");

    // Nothing named: no retry, breaker or bulkhead; the standard timeouts.
    let plain = policies.pipeline("plain").unwrap();
    assert!(plain.retry().is_none() && plain.breaker().is_none() && plain.bulkhead().is_none());
    let cut = plain
        .run(|| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, Error>(())
        })
        .await;
    let Err(CallError::Rejected(Error::Timeout { after, .. })) = cut else {
        panic!("not a timeout: {cut:?}")
    };
    assert_eq!(after, Duration::from_secs(10));
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn percent() -> impl Strategy<Value = Option<f64>> {
        prop::option::of(prop_oneof![
            Just(0.0),
            Just(100.0),
            Just(f64::NAN),
            -10.0..120.0f64
        ])
    }

    fn factor() -> impl Strategy<Value = Option<f64>> {
        prop::option::of(prop_oneof![
            Just(1.0),
            Just(f64::INFINITY),
            Just(f64::NAN),
            -1.0..5.0f64
        ])
    }

    fn duration() -> impl Strategy<Value = Option<pr_core::units::Duration>> {
        prop::option::of((0u64..3).prop_map(pr_core::units::Duration::from_secs))
    }

    fn breaker() -> impl Strategy<Value = BreakerConfig> {
        (
            (
                prop::option::of(prop_oneof![
                    Just(SlidingWindowKind::Count),
                    Just(SlidingWindowKind::Time)
                ]),
                prop::option::of(0u32..3),
                duration(),
                prop::option::of(prop_oneof![0u32..3, 1023u32..1026]),
            ),
            (percent(), percent(), duration(), prop::option::of(0u32..3)),
            (
                factor(),
                duration(),
                prop::option::of(prop_oneof![0u32..3, 1023u32..1026]),
                duration(),
                prop::option::of(any::<bool>()),
            ),
        )
            .prop_map(|(window, rates, open)| {
                let mut c = BreakerConfig::default();
                (
                    c.sliding_window,
                    c.window_size,
                    c.window_duration,
                    c.window_buckets,
                ) = window;
                (
                    c.failure_rate_threshold,
                    c.slow_call_rate_threshold,
                    c.slow_call_duration,
                    c.minimum_calls,
                ) = rates;
                (
                    c.open_backoff_factor,
                    c.max_wait_in_open,
                    c.permitted_calls_in_half_open,
                    c.probe_lease,
                    c.record_all_errors,
                ) = open;
                c
            })
    }

    proptest! {
        /// What validation accepts, the builder builds: `Policies` never
        /// fails past its validation, and what the builder refuses is
        /// reported at a key first.
        #[test]
        fn a_valid_breaker_config_always_builds(config in breaker()) {
            let valid = pr_core::validate::check(&config).is_ok();
            let built = config.to_builder("b").build().is_ok();
            prop_assert!(!valid || built, "valid but refused: {config:?}");
        }

        #[test]
        fn a_retry_config_is_valid_exactly_when_it_builds(
            factor in factor(),
            backoff in prop::option::of(prop_oneof![
                Just(BackoffKind::Constant),
                Just(BackoffKind::Exponential),
                Just(BackoffKind::DecorrelatedJitter),
            ]),
        ) {
            let mut config = RetryConfig::default();
            config.factor = factor;
            config.backoff = backoff;
            let valid = pr_core::validate::check(&config).is_ok();
            let built = config.to_builder("r").build().is_ok();
            prop_assert!(!valid || built, "valid but refused: {config:?}");
            // The factor is checked whatever the backoff: a factor below 1
            // is a mistake even where it is not used yet.
            prop_assert_eq!(valid, factor.is_none_or(|f| f.is_finite() && f >= 1.0));
        }

        #[test]
        fn a_bulkhead_config_is_valid_exactly_when_it_builds(limit in prop::option::of(0usize..4)) {
            let mut config = BulkheadConfig::default();
            config.limit = limit;
            let valid = pr_core::validate::check(&config).is_ok();
            prop_assert_eq!(valid, config.to_builder("h").build().is_ok());
        }
    }
}

/// The policies of `text` on a manual clock, their pipeline `quotes`, and a runtime to call it.
fn quotes_pipeline(
    text: &str,
) -> (
    Policies,
    Pipeline<pr_resilience::retry::Transient>,
    tokio::runtime::Runtime,
) {
    let policies = Policies::builder(&parse(text))
        .clock(ManualClock::new().clock())
        .build()
        .unwrap();
    let quotes = policies.pipeline("quotes").unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    (policies, quotes, runtime)
}

#[test]
fn a_retune_changes_live_thresholds_and_keeps_the_window() {
    let text = |minimum: u32, threshold: f64| {
        format!(
            "[defaults.pipeline]\ntotal_timeout = \"0s\"\nattempt_timeout = \"0s\"\n\
             [breakers.quotes]\nwindow_size = 10\nminimum_calls = {minimum}\n\
             failure_rate_threshold = {threshold:?}\nwait_in_open = \"30s\"\n\
             [pipelines.quotes]\nbreaker = \"quotes\"\n"
        )
    };
    let (policies, quotes, runtime) = quotes_pipeline(&text(100, 50.0));
    let fail = || async { Err::<(), _>(transient()) };
    let ok = || async { Ok::<(), Error>(()) };
    runtime.block_on(async {
        for _ in 0..3 {
            let _ = quotes.run(fail).await;
        }
        let _ = quotes.run(ok).await;
    });
    let breaker = policies.breaker("quotes").unwrap();
    // 3 failures of 4 calls, under the 100 calls needed: closed.
    assert_eq!(breaker.state(), State::Closed);

    // A bad threshold changes nothing.
    let bad = Policies::retune(&policies, &parse(&text(4, 150.0))).unwrap_err();
    assert!(
        keys(&bad).contains(&"breakers.quotes.failure_rate_threshold"),
        "{bad}"
    );
    assert_eq!(breaker.snapshot().calls, 4);

    // 4 calls now suffice, and the window kept its 4: the next failure opens it.
    assert_eq!(policies.retune(&parse(&text(4, 50.0))).unwrap(), ["quotes"]);
    assert_eq!(breaker.snapshot().calls, 4, "the window was kept");
    assert_eq!(breaker.state(), State::Closed);
    runtime.block_on(async {
        let _ = quotes.run(fail).await;
    });
    assert_eq!(breaker.state(), State::Open);
}

/// A window of another size starts a new, empty window of that size; the
/// pipelines keep their breaker, and the new window decides from then on.
#[test]
fn a_retune_with_another_window_size_starts_a_new_window() {
    let text = |size: u32| {
        format!(
            "[defaults.pipeline]\ntotal_timeout = \"0s\"\nattempt_timeout = \"0s\"\n\
             [breakers.quotes]\nwindow_size = {size}\nminimum_calls = 4\n\
             failure_rate_threshold = 50.0\nwait_in_open = \"30s\"\n\
             [pipelines.quotes]\nbreaker = \"quotes\"\n"
        )
    };
    let (policies, quotes, runtime) = quotes_pipeline(&text(10));
    let fail = || async { Err::<(), _>(transient()) };
    let ok = || async { Ok::<(), Error>(()) };
    runtime.block_on(async {
        for _ in 0..3 {
            let _ = quotes.run(ok).await;
        }
    });
    let breaker = policies.breaker("quotes").unwrap();
    assert_eq!(breaker.snapshot().calls, 3);

    assert_eq!(policies.retune(&parse(&text(2))).unwrap(), ["quotes"]);
    assert_eq!(breaker.snapshot().calls, 0, "a new window");
    assert_eq!(breaker.state(), State::Closed);
    // The same size again keeps the window.
    runtime.block_on(async {
        let _ = quotes.run(ok).await;
    });
    policies.retune(&parse(&text(2))).unwrap();
    assert_eq!(breaker.snapshot().calls, 1, "kept");
    // The new window holds 2 calls: the minimum of calls is met at 2, and
    // one failure of the 2 (50 %) opens it.
    runtime.block_on(async {
        let _ = quotes.run(fail).await;
    });
    assert_eq!(breaker.snapshot().calls, 2);
    assert_eq!(breaker.state(), State::Open);
}
