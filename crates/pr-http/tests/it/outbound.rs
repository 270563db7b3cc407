//! The outbound client against real axum servers on loopback: answers, retries through a
//! pr-resilience pipeline (waits on a manual clock, so no test sleeps), error codes, bounded
//! bodies, propagation of the inbound request's id and trace, secrets kept out of logs, and its
//! metric checked by promtool.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use pr_core::time::ManualClock;
use pr_core::units::ByteSize;
use pr_errors::{CodedError as _, RetryClass};
use pr_http::outbound::{HttpClient, OutboundError};
use pr_http::request_id::RequestIdLayer;
use pr_http::trace_context::{RequestTrace, TraceContextLayer};
use pr_resilience::CallError;
use pr_resilience::pipeline::Pipeline;
use pr_resilience::retry::{Backoff, Jitter, Retry, Transient};

use crate::capture::Captured;
use crate::server::serve;

/// A pipeline retrying transient errors 3 times, 100 ms apart, waiting on `manual`.
fn retrying(manual: &ManualClock) -> Pipeline<Transient> {
    let retry = Retry::builder()
        .backoff(Backoff::Constant(Duration::from_millis(100)))
        .jitter(Jitter::None)
        .max_retries(3)
        .clock(manual.clock())
        .build()
        .unwrap();
    Pipeline::builder().retry(retry).build().unwrap()
}

/// A route answering `statuses` in turn (then 200 "ok"), each with `Retry-After: 1` when 429,
/// and counting its calls.
fn scripted(statuses: &'static [u16]) -> (Router, Arc<AtomicU32>) {
    let calls = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&calls);
    let app = Router::new().route(
        "/scripted",
        get(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst) as usize;
            async move {
                let status = statuses.get(n).copied().unwrap_or(200);
                let mut headers = HeaderMap::new();
                if status == 429 {
                    headers.insert("retry-after", "1".parse().unwrap());
                }
                (StatusCode::from_u16(status).unwrap(), headers, "ok")
            }
        }),
    );
    (app, calls)
}

fn code(error: &CallError<OutboundError>) -> &'static str {
    error.code().as_str()
}

#[tokio::test]
async fn a_call_answers_the_response_with_its_body() {
    let address = serve(Router::new().route("/quote/{symbol}", get(|| async { "42" }))).await;
    let client = HttpClient::builder("quotes-ok")
        .base_url(format!("http://{address}"))
        .build()
        .unwrap();
    let response = client.get("/quote/ACME?at=now").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.body().as_ref(), b"42");
    assert_eq!(client.name(), "quotes-ok");
}

#[tokio::test]
async fn a_503_is_retried_through_the_pipeline() {
    let (app, calls) = scripted(&[503]);
    let address = serve(app).await;
    let manual = ManualClock::new();
    let client = HttpClient::builder("quotes-503")
        .base_url(format!("http://{address}"))
        .pipeline(retrying(&manual))
        .build()
        .unwrap();
    let response = client.get("/scripted").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // The backoff's wait, on the manual clock.
    assert_eq!(manual.elapsed(), Duration::from_millis(100));
}

#[tokio::test]
async fn a_429s_retry_after_is_waited_instead_of_the_backoff() {
    let (app, calls) = scripted(&[429]);
    let address = serve(app).await;
    let manual = ManualClock::new();
    let client = HttpClient::builder("quotes-429")
        .base_url(format!("http://{address}"))
        .pipeline(retrying(&manual))
        .build()
        .unwrap();
    let response = client.get("/scripted").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(manual.elapsed(), Duration::from_secs(1));
}

#[tokio::test]
async fn retries_give_up_with_the_last_answer_and_its_retry_after() {
    let (app, calls) = scripted(&[429, 429, 429, 429, 429]);
    let address = serve(app).await;
    let manual = ManualClock::new();
    let client = HttpClient::builder("quotes-429s")
        .base_url(format!("http://{address}"))
        .pipeline(retrying(&manual))
        .build()
        .unwrap();
    let error = client.get("/scripted").send().await.unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(code(&error), "http.client_unavailable");
    assert_eq!(error.retry(), RetryClass::after(Duration::from_secs(1)));
    let inner = error.inner().unwrap();
    assert_eq!(inner.upstream_status(), Some(StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(inner.body().unwrap().as_ref(), b"ok");
}

#[tokio::test]
async fn a_404_is_not_retried() {
    let (app, calls) = scripted(&[404, 404]);
    let address = serve(app).await;
    let manual = ManualClock::new();
    let client = HttpClient::builder("quotes-404")
        .base_url(format!("http://{address}"))
        .pipeline(retrying(&manual))
        .build()
        .unwrap();
    let error = client.get("/scripted").send().await.unwrap_err();
    assert_eq!(code(&error), "http.client_status");
    assert_eq!(error.retry(), RetryClass::Permanent);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(manual.elapsed(), Duration::ZERO);
}

/// A loopback address nothing listens on: a port bound, then freed.
async fn closed_port() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

#[tokio::test]
async fn a_refused_connection_is_transient_and_retried() {
    let address = closed_port().await;
    let manual = ManualClock::new();
    let client = HttpClient::builder("quotes-refused")
        .base_url(format!("http://{address}"))
        .pipeline(retrying(&manual))
        .build()
        .unwrap();
    let error = client.get("/").send().await.unwrap_err();
    assert_eq!(code(&error), "http.client_connect");
    assert_eq!(error.retry(), RetryClass::TRANSIENT);
    // Three retries after the first attempt, 100 ms apart.
    assert_eq!(manual.elapsed(), Duration::from_millis(300));
    assert!(error.to_string().contains(&address.to_string()), "{error}");
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_announced_or_streamed() {
    let app = Router::new()
        .route("/announced", get(|| async { vec![b'x'; 2_048] }))
        .route(
            "/streamed",
            get(|| async {
                let chunks = (0..64).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 64]));
                axum::body::Body::from_stream(futures_util::stream::iter(chunks))
            }),
        )
        .route("/fits", get(|| async { vec![b'x'; 1_024] }));
    let address = serve(app).await;
    let client = HttpClient::builder("quotes-large")
        .base_url(format!("http://{address}"))
        .max_response_body(ByteSize::kib(1))
        .build()
        .unwrap();
    for path in ["/announced", "/streamed"] {
        let error = client.get(path).send().await.unwrap_err();
        assert_eq!(code(&error), "http.client_body_too_large", "{path}");
        assert_eq!(error.retry(), RetryClass::Permanent);
    }
    let fits = client.get("/fits").send().await.unwrap();
    assert_eq!(fits.body().len(), 1_024);
}

#[tokio::test]
async fn an_invalid_path_is_refused_before_any_call() {
    let client = HttpClient::builder("quotes-path")
        .base_url("http://127.0.0.1:9")
        .build()
        .unwrap();
    for path in ["quote", "/a b", "/a#b"] {
        let error = client.get(path).send().await.unwrap_err();
        assert_eq!(code(&error), "http.client_invalid_url", "{path}");
    }
}

#[tokio::test]
async fn a_slow_server_is_a_timeout() {
    let (release, wait) = tokio::sync::oneshot::channel::<()>();
    let wait = Arc::new(tokio::sync::Mutex::new(Some(wait)));
    let app = Router::new().route(
        "/slow",
        get(move || {
            let wait = Arc::clone(&wait);
            async move {
                // Answers only when the test lets it: after the client gave up.
                if let Some(wait) = wait.lock().await.take() {
                    let _ = wait.await;
                }
                "late"
            }
        }),
    );
    let address = serve(app).await;
    let client = HttpClient::builder("quotes-slow")
        .base_url(format!("http://{address}"))
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let error = client.get("/slow").send().await.unwrap_err();
    assert_eq!(code(&error), "http.client_timeout");
    assert!(error.retry().is_transient());
    drop(release);
}

/// What the upstream server saw of a call's propagation headers.
type Seen = Arc<Mutex<Vec<(Option<String>, Option<String>, Option<String>)>>>;

/// An upstream answering `/echo`, keeping the propagation headers of each call in `seen`.
fn echo(seen: &Seen) -> Router {
    let seen = Arc::clone(seen);
    Router::new().route(
        "/echo",
        get(move |headers: HeaderMap| {
            seen.lock().unwrap().push((
                header(&headers, "x-request-id"),
                header(&headers, "traceparent"),
                header(&headers, "tracestate"),
            ));
            async { "echo" }
        }),
    )
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|value| value.to_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbound_requests_id_and_trace_reach_the_upstream() {
    let seen: Seen = Arc::default();
    let upstream = echo(&seen);
    let upstream = serve(upstream).await;
    let client = HttpClient::builder("quotes-propagation")
        .base_url(format!("http://{upstream}"))
        .build()
        .unwrap();
    let spawned = client.clone();
    // The handler names no id and no trace: the client finds the request's. The second route
    // calls from a task it spawned, where only the request's extensions tell.
    let inbound = Router::new()
        .route(
            "/in",
            get(
                move |axum::Extension(trace): axum::Extension<RequestTrace>| {
                    let client = client.clone();
                    async move {
                        client.get("/echo").send().await.unwrap();
                        trace.current.parent_id().to_string()
                    }
                },
            ),
        )
        .route(
            "/spawned",
            get(move |request: axum::extract::Request| {
                let client = spawned.clone();
                async move {
                    let extensions = request.extensions().clone();
                    tokio::spawn(async move {
                        assert!(pr_http::request_id::RequestId::current().is_none());
                        client
                            .get("/echo")
                            .context(&extensions)
                            .send()
                            .await
                            .unwrap();
                    })
                    .await
                    .unwrap();
                    "done"
                }
            }),
        )
        .layer(TraceContextLayer::new())
        .layer(RequestIdLayer::new().trust_incoming(true));
    let inbound = serve(inbound).await;

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let (own_span, _) = tokio::task::spawn_blocking(move || {
        let call = |path: &str, id: &str| {
            ureq::get(format!("http://{inbound}{path}"))
                .header("x-request-id", id)
                .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
                .header("tracestate", "vendor=abc,other=1")
                .call()
                .unwrap()
                .into_body()
                .read_to_string()
                .unwrap()
        };
        (call("/in", "req-42"), call("/spawned", "req-43"))
    })
    .await
    .unwrap();

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    for ((id, parent, state), expected_id) in seen.iter().zip(["req-42", "req-43"]) {
        assert_eq!(id.as_deref(), Some(expected_id));
        let parent = parent.as_deref().unwrap();
        let fields: Vec<&str> = parent.split('-').collect();
        assert_eq!(fields[0], "00");
        assert_eq!(fields[1], trace_id, "the same trace");
        assert_ne!(fields[2], caller_span, "a span of its own");
        assert_ne!(fields[2], own_span, "a child of the inbound request's span");
        assert_eq!(fields[3], "01", "the caller's sampled flag");
        assert_eq!(state.as_deref(), Some("vendor=abc,other=1"));
    }
}

#[tokio::test]
async fn outside_a_request_nothing_is_propagated_unless_given() {
    let seen: Seen = Arc::default();
    let upstream = echo(&seen);
    let address = serve(upstream).await;
    let client = HttpClient::builder("quotes-outside")
        .base_url(format!("http://{address}"))
        .build()
        .unwrap();
    client.get("/echo").send().await.unwrap();
    let id = pr_http::request_id::RequestId::parse("job-7").unwrap();
    client.get("/echo").request_id(id).send().await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen[0], (None, None, None));
    assert_eq!(seen[1].0.as_deref(), Some("job-7"));
    assert_eq!(seen[1].1, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_a_log_line_or_an_error() {
    let captured = Captured::install();
    let (app, _) = scripted(&[500, 500, 500, 500]);
    let address = serve(app).await;
    let manual = ManualClock::new();
    let client = HttpClient::builder("quotes-secrets")
        .base_url(format!("http://{address}"))
        .pipeline(retrying(&manual))
        .build()
        .unwrap();
    let token = pr_core::secret::SecretString::new("s3cr3t-t0ken");
    let error = client
        .get("/scripted?api_key=k3y-in-query")
        .bearer(&token)
        .header(
            http::header::COOKIE,
            http::HeaderValue::from_static("session=c00kie"),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "http.client_unavailable");

    let events: Vec<_> = captured
        .events()
        .into_iter()
        .filter(|event| event.get("client").is_some_and(|c| c == "quotes-secrets"))
        .collect();
    assert_eq!(events.len(), 4, "one event per failed attempt: {events:#?}");
    let event = &events[0];
    assert_eq!(event["event"], "http.client_attempt_failed");
    assert_eq!(event["code"], "http.client_unavailable");
    assert_eq!(event["server_address"], "127.0.0.1");
    let text = format!("{:?}\n{error}\n{error:?}\n{client:?}", captured.events());
    for secret in ["s3cr3t", "k3y-in-query", "c00kie", "api_key"] {
        assert!(!text.contains(secret), "{secret} leaked:\n{text}");
    }
}

#[cfg(feature = "metrics")]
#[tokio::test]
async fn attempts_are_timed_by_server_method_and_status_and_checked_by_promtool() {
    // A recorder of this thread's own: the global one is shared by the binary's tests, and on a
    // current-thread runtime every attempt records on this thread.
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);

    let (app, _) = scripted(&[503]);
    let address = serve(app).await;
    let client = HttpClient::builder("quotes-metrics")
        .base_url(format!("http://{address}"))
        .build()
        .unwrap();
    assert!(client.get("/scripted").send().await.is_err());
    for _ in 0..3 {
        client.get("/scripted").send().await.unwrap();
    }
    let refused = closed_port().await;
    let nowhere = HttpClient::builder("quotes-metrics-refused")
        .base_url(format!("http://{refused}"))
        .build()
        .unwrap();
    assert!(
        nowhere
            .request(http::Method::PATCH, "/")
            .send()
            .await
            .is_err()
    );

    let text = handle.render();
    let count = |needles: &[&str]| {
        text.lines()
            .filter(|line| line.starts_with("http_client_request_duration_seconds_count"))
            .find(|line| needles.iter().all(|needle| line.contains(needle)))
            .unwrap_or_else(|| panic!("no series with {needles:?}:\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .to_owned()
    };
    let port = format!(r#"server_port="{}""#, address.port());
    let common = [
        r#"server_address="127.0.0.1""#,
        port.as_str(),
        r#"http_request_method="GET""#,
    ];
    let ok = [&common[..], &[r#"http_response_status_code="200""#]].concat();
    let busy = [&common[..], &[r#"http_response_status_code="503""#]].concat();
    assert_eq!(count(&ok), "3");
    assert_eq!(count(&busy), "1");
    let refused_port = format!(r#"server_port="{}""#, refused.port());
    assert_eq!(
        count(&[
            refused_port.as_str(),
            r#"http_request_method="PATCH""#,
            r#"error_type="connect""#
        ]),
        "1"
    );
    assert!(!text.contains("/scripted"), "a path leaked:\n{text}");
    pr_test_support::check_metrics(&text).unwrap();
}

#[tokio::test]
async fn https_speaks_tls_and_a_failed_handshake_is_a_connect_error() {
    // A plain HTTP server: the client's ClientHello gets an HTTP answer, which rustls refuses.
    let address = serve(Router::new().route("/", get(|| async { "plain" }))).await;
    let client = HttpClient::builder("quotes-tls")
        .base_url(format!("https://{address}"))
        .build()
        .unwrap();
    let error = client.get("/").send().await.unwrap_err();
    assert_eq!(code(&error), "http.client_connect");
    assert!(error.retry().is_transient());
}

#[tokio::test]
async fn an_address_check_sees_every_resolved_address_and_can_refuse_them() {
    let (app, calls) = scripted(&[]);
    let address = serve(app).await;
    let base = format!("http://localhost:{}", address.port());
    type Seen = Vec<(String, Vec<std::net::SocketAddr>)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let record = Arc::clone(&seen);
    let allowing = HttpClient::builder("quotes-checked")
        .base_url(&base)
        .address_check(move |host, addrs| {
            record
                .lock()
                .unwrap()
                .push((host.to_owned(), addrs.to_vec()));
            Ok(())
        })
        .build()
        .unwrap();
    assert_eq!(
        allowing.get("/scripted").send().await.unwrap().status(),
        200
    );
    let (host, addrs) = seen.lock().unwrap()[0].clone();
    assert_eq!(host, "localhost");
    assert!(addrs.iter().any(|a| a.ip().is_loopback()), "{addrs:?}");

    // An SSRF guard: loopback refused, before any connection, and not retried.
    let manual = ManualClock::new();
    let refusing = HttpClient::builder("quotes-guarded")
        .base_url(&base)
        .pipeline(retrying(&manual))
        .address_check(
            |host, addrs| match addrs.iter().find(|a| a.ip().is_loopback()) {
                Some(a) => Err(format!("{host} resolves to {}, a loopback address", a.ip())),
                None => Ok(()),
            },
        )
        .build()
        .unwrap();
    let error = refusing.get("/scripted").send().await.unwrap_err();
    assert_eq!(code(&error), "http.client_address_refused");
    assert_eq!(error.retry(), RetryClass::Permanent);
    assert!(error.to_string().contains("a loopback address"), "{error}");
    assert_eq!(manual.elapsed(), Duration::ZERO, "not retried");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "only the allowed call arrived"
    );
}
