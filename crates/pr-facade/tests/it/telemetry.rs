//! One trace across two services: a request to the front service, through
//! pr-http's stack, calls a second service with pr-http's outbound client;
//! a real OTLP receiver gets the spans, and the log lines carry the
//! trace's id.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use pr_facade::http::outbound::HttpClient;
use pr_facade::logging::{LogFormat, Logging, LoggingConfig};
use pr_facade::telemetry::{Telemetry, TelemetryConfig};
use pr_test_support::otlp::{Receiver, hex};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// A cloneable in-memory writer for the JSON log lines.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn serve(router: Router) -> String {
    let stack = pr_facade::http::layers(&pr_facade::http::HttpConfig::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router.layer(stack)).await.unwrap() });
    format!("http://{address}")
}

#[tokio::test]
async fn a_request_is_one_trace_across_two_services_and_its_log_lines_carry_it() {
    let receiver = Receiver::http();
    let mut config = TelemetryConfig::default();
    config.endpoint = Some(receiver.traces_url());
    config.batch_delay = pr_core::units::Duration::from_millis(10);
    let telemetry = Telemetry::builder(&config)
        .service("front", "1.0.0")
        .env_vars(std::iter::empty::<(String, String)>())
        .build()
        .unwrap();
    let lines = Lines::default();
    let mut logging = LoggingConfig::default();
    logging.console.enabled = false;
    let (dispatch, guard) = Logging::builder(&logging)
        .writer(
            "lines",
            tracing::Level::INFO,
            LogFormat::Json,
            lines.clone(),
        )
        .with_layer(telemetry.layer())
        .build()
        .unwrap();
    // A current-thread runtime: every task of both services and the client
    // runs on this thread, under this subscriber.
    let _subscriber = tracing::dispatcher::set_default(&dispatch);

    let back = serve(Router::new().route(
        "/price",
        get(|| async {
            tracing::info!(event = "test.priced", "priced");
            "42"
        }),
    ))
    .await;
    let client = HttpClient::builder("back").base_url(back).build().unwrap();
    let client = Arc::new(client);
    let front = serve(Router::new().route(
        "/quote",
        get(move || {
            let client = Arc::clone(&client);
            async move {
                tracing::info!(event = "test.quoting", "quoting");
                let price = client.get("/price").send().await.unwrap();
                String::from_utf8_lossy(price.body()).into_owned()
            }
        }),
    ))
    .await;

    // The caller's trace, continued by the front service.
    let caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let response = plain_get(
        &format!("{front}/quote"),
        &format!("00-{caller_trace}-{caller_span}-01"),
    )
    .await;
    assert_eq!(response, "42");
    telemetry.shutdown(Duration::from_secs(10)).unwrap();
    drop(guard);

    let spans: Vec<_> = receiver.received.spans();
    let all: Vec<_> = spans.iter().map(|(s, _)| s.clone()).collect();
    let shape: Vec<_> = all
        .iter()
        .map(|s| (&s.name, s.kind, hex(&s.span_id), hex(&s.parent_span_id)))
        .collect();
    // Each service's server span (OTLP kind 2), its request-id span inside
    // it, and the outbound call's client span (kind 3) between the two.
    assert_eq!(all.len(), 5, "{shape:#?}");
    assert!(
        all.iter().all(|s| hex(&s.trace_id) == caller_trace),
        "one trace, the caller's: {shape:#?}"
    );
    let parent_of = |child: &opentelemetry_proto::tonic::trace::v1::Span| {
        all.iter()
            .find(|s| s.span_id == child.parent_span_id)
            .unwrap_or_else(|| panic!("no parent of {} in {shape:#?}", child.name))
            .clone()
    };
    let front_server = all
        .iter()
        .find(|s| hex(&s.parent_span_id) == caller_span)
        .unwrap_or_else(|| panic!("no span continues the caller's: {shape:#?}"))
        .clone();
    assert_eq!((front_server.name.as_str(), front_server.kind), ("GET", 2));
    let back_request = all
        .iter()
        .find(|s| s.name == "request" && s.parent_span_id != front_server.span_id)
        .unwrap_or_else(|| panic!("no request span in the back service: {shape:#?}"))
        .clone();
    // Up from the back service to the caller: back request, back server,
    // the client span, the front's request span, the front's server span.
    let back_server = parent_of(&back_request);
    let client = parent_of(&back_server);
    assert_eq!(
        (client.name.as_str(), client.kind),
        ("GET", 3),
        "{shape:#?}"
    );
    let front_request = parent_of(&client);
    assert_eq!(front_request.name, "request");
    assert_eq!(parent_of(&front_request).span_id, front_server.span_id);
    assert!(spans.iter().all(|(_, resource)| {
        resource
            .iter()
            .any(|(k, v)| k == "service.name" && v == "front")
    }));

    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    let logged: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let line = |event: &str| {
        logged
            .iter()
            .find(|l| l["event"] == event)
            .unwrap_or_else(|| panic!("no {event} in {text}"))
    };
    let quoting = line("test.quoting");
    assert_eq!(quoting["trace_id"], caller_trace);
    assert_eq!(quoting["span_id"], hex(&front_request.span_id));
    let priced = line("test.priced");
    assert_eq!(priced["trace_id"], caller_trace);
    assert_eq!(priced["span_id"], hex(&back_request.span_id));
}

/// A GET with a `traceparent`, from a plain client on a blocking thread
/// (outside this test's subscriber: it adds no span of its own).
async fn plain_get(url: &str, traceparent: &str) -> String {
    let (url, traceparent) = (url.to_owned(), traceparent.to_owned());
    tokio::task::spawn_blocking(move || {
        ureq::get(&url)
            .header("traceparent", &traceparent)
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap()
    })
    .await
    .unwrap()
}

#[test]
fn the_demo_exports_its_requests_spans_when_an_endpoint_is_configured() {
    use crate::e2e::{Service, agent};

    let receiver = Receiver::http();
    let mut service = Service::start(&format!(
        "[dependency]\nfailure_rate = 0.0\nmin_latency = \"1ms\"\nmax_latency = \"2ms\"\n\
         [telemetry]\nendpoint = \"{}\"\nbatch_delay = \"1h\"\n\
         resource_attributes = {{ \"deployment.environment\" = \"test\" }}\n",
        receiver.traces_url()
    ));
    let caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let response = agent()
        .get(format!("{}/quote/ACME", service.api))
        .header("traceparent", caller)
        .call()
        .unwrap();
    assert_eq!(response.status(), 200);
    let (code, body) = crate::e2e::get(&format!("{}/status", service.ops));
    assert_eq!(code, 200);
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["telemetry"]["exporting"], true, "{status}");
    // The request's duration has an exemplar naming its trace, for
    // OpenMetrics scrapers.
    let metrics = agent()
        .get(format!("{}/metrics", service.ops))
        .header("accept", "application/openmetrics-text; version=1.0.0")
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let exemplar = metrics
        .lines()
        .find(|l| {
            l.starts_with("http_server_request_duration_seconds_bucket")
                && l.contains("# {trace_id=\"0af7651916cd43dd8448eb211c80319c\"")
        })
        .unwrap_or_else(|| panic!("no exemplar of the request's trace:\n{metrics}"));
    let exemplar_span = exemplar
        .split("span_id=\"")
        .nth(1)
        .and_then(|rest| rest.get(..16))
        .unwrap()
        .to_owned();
    // Nothing left before the end (a batch waits an hour): the drain's
    // flush sends the request's spans.
    assert!(receiver.received.spans().is_empty());
    service.terminate();
    assert_eq!(service.wait_for_exit(), Some(0), "{}", service.output());

    let spans = receiver.received.spans();
    let server = spans
        .iter()
        .find(|(s, _)| s.kind == 2 && hex(&s.parent_span_id) == "b7ad6b7169203331")
        .unwrap_or_else(|| panic!("no server span continuing the caller's: {spans:#?}"));
    assert_eq!(hex(&server.0.trace_id), "0af7651916cd43dd8448eb211c80319c");
    let attribute = |key: &str| {
        server
            .1
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(attribute("service.name").as_deref(), Some("pr-demo"));
    // The exemplar's span is one the receiver got.
    assert!(
        spans.iter().any(|(s, _)| hex(&s.span_id) == exemplar_span),
        "{exemplar_span} not among {spans:#?}"
    );
    assert_eq!(attribute("deployment.environment").as_deref(), Some("test"));
    // The request's log lines carry its trace.
    let log = std::fs::read_to_string(service.log_file()).unwrap();
    assert!(
        log.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .any(|l| l["trace_id"] == "0af7651916cd43dd8448eb211c80319c"),
        "{log}"
    );
}

#[test]
fn retries_rejections_fallbacks_are_span_events_and_cache_loads_are_spans() {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    use pr_facade::cache::MemoryCache;
    use pr_facade::resilience::breaker::CircuitBreaker;
    use pr_facade::resilience::fallback::Fallback;
    use pr_facade::resilience::retry::{Backoff, Jitter, Retry};
    use tracing_subscriber::layer::SubscriberExt as _;

    let receiver = Receiver::http();
    let mut config = TelemetryConfig::default();
    config.endpoint = Some(receiver.traces_url());
    let telemetry = Telemetry::builder(&config)
        .service("front", "1.0.0")
        .env_vars(std::iter::empty::<(String, String)>())
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(telemetry.layer());
    tracing::subscriber::with_default(subscriber, || {
        let request = tracing::info_span!("request");
        let _entered = request.enter();
        let cache: MemoryCache<String, u32> =
            MemoryCache::builder().name("quotes").build().unwrap();
        let loaded = cache.try_get_or_insert_with_blocking("ACME".to_owned(), || {
            Ok::<u32, std::convert::Infallible>(42)
        });
        assert_eq!(loaded.unwrap(), 42);
        let retry = Retry::builder()
            .backoff(Backoff::Constant(Duration::ZERO))
            .jitter(Jitter::None)
            .max_retries(1)
            .build()
            .unwrap();
        let mut first = true;
        let retried: Result<u32, pr_facade::resilience::Error> = retry.run_blocking(|| {
            if std::mem::take(&mut first) {
                Err(pr_facade::resilience::Error::Rejected {
                    name: "upstream".into(),
                    retry_after: None,
                })
            } else {
                Ok(1)
            }
        });
        assert_eq!(retried.unwrap(), 1);
        let breaker = CircuitBreaker::builder("prices").build().unwrap();
        breaker.force_open();
        assert!(breaker.try_acquire().is_err());
        let fell_back = Fallback::value(0_u32).apply(Err::<u32, &str>("down"));
        assert_eq!(fell_back, Ok(0));
    });
    telemetry.shutdown(Duration::from_secs(10)).unwrap();

    let spans = receiver.received.spans();
    let request = spans
        .iter()
        .map(|(s, _)| s)
        .find(|s| s.name == "request")
        .unwrap_or_else(|| panic!("{spans:#?}"));
    let load = spans
        .iter()
        .map(|(s, _)| s)
        .find(|s| s.name == "cache.load")
        .unwrap_or_else(|| panic!("no cache.load span: {spans:#?}"));
    assert_eq!(load.parent_span_id, request.span_id);
    assert!(load.attributes.iter().any(|kv| kv.key == "cache"
        && matches!(kv.value.as_ref().and_then(|v| v.value.as_ref()), Some(Value::StringValue(s)) if s == "quotes")));
    let events: Vec<String> = request
        .events
        .iter()
        .filter_map(|e| {
            e.attributes
                .iter()
                .find(|kv| kv.key == "event")
                .and_then(
                    |kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                        Some(Value::StringValue(s)) => Some(s.clone()),
                        _ => None,
                    },
                )
        })
        .collect();
    for expected in ["retry.scheduled", "breaker.rejected", "fallback.used"] {
        assert!(
            events.iter().any(|e| e == expected),
            "{expected} not in {events:?}"
        );
    }
}
