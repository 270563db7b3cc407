//! Tower layers: a real axum server on loopback called by a real HTTP client
//! over separate connections (axum clones the service per connection), and
//! the pipeline and retry layers through `ServiceExt` with clones.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use pr_resilience::breaker::{
    BreakerLayer, CallOutcome, CircuitBreaker, ErrorsFail, SlidingWindow, State,
};
use pr_resilience::bulkhead::{Bulkhead, BulkheadLayer};
use pr_resilience::pipeline::{Pipeline, PipelineLayer};
use pr_resilience::retry::{Backoff, Jitter, Retry, RetryLayer};
use pr_resilience::timeout::{Timeout, TimeoutLayer};
use pr_resilience::{CallError, Error};
use tower::{Service, ServiceBuilder, ServiceExt, service_fn};

/// GET on a fresh connection; answers the status and the Retry-After header.
async fn get_fresh(url: String) -> (u16, Option<String>) {
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let response = agent.get(&url).call().unwrap();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|value| value.to_str().unwrap().to_owned());
        (response.status().as_u16(), retry_after)
    })
    .await
    .unwrap()
}

async fn rejected(error: CallError<CallError<Infallible>>) -> axum::response::Response {
    let error = error.flatten();
    let retry_after = error
        .rejection()
        .and_then(Error::retry_after)
        .map_or(0, |d| d.as_secs());
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [("retry-after", retry_after.to_string())],
        error.to_string(),
    )
        .into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_connections_share_one_breaker() {
    let breaker = CircuitBreaker::builder("handler")
        .sliding_window(SlidingWindow::Count(4))
        .minimum_calls(4)
        .wait_in_open(Duration::from_secs(120))
        .build()
        .unwrap();
    let calls = Arc::new(AtomicU32::new(0));
    let handler_calls = Arc::clone(&calls);
    let app = axum::Router::new()
        .route(
            "/flaky",
            get(move || {
                handler_calls.fetch_add(1, Ordering::SeqCst);
                async { StatusCode::INTERNAL_SERVER_ERROR }
            }),
        )
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(rejected))
                .layer(BreakerLayer::new(breaker.clone()).record_with(
                    |outcome: &Result<axum::response::Response, CallError<Infallible>>| {
                        match outcome {
                            Ok(response) if response.status().is_server_error() => {
                                CallOutcome::Failure
                            }
                            Ok(_) => CallOutcome::Success,
                            Err(_) => CallOutcome::Failure,
                        }
                    },
                ))
                .layer(TimeoutLayer::new(Timeout::new(
                    "handler",
                    Duration::from_secs(30),
                ))),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/flaky", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    for _ in 0..4 {
        assert_eq!(get_fresh(url.clone()).await.0, 500);
    }
    assert_eq!(
        breaker.state(),
        State::Open,
        "four connections, one breaker"
    );
    let (status, retry_after) = get_fresh(url.clone()).await;
    assert_eq!(status, 503);
    let retry_after: u64 = retry_after.unwrap().parse().unwrap();
    assert!(retry_after > 100 && retry_after <= 120);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        4,
        "the open breaker kept the handler out"
    );
    server.abort();
}

/// The layer's default counts the service's errors by their class: a
/// permanent one leaves the breaker closed, a transient one opens it; with
/// `ErrorsFail` every error is a failure.
#[tokio::test(start_paused = true)]
async fn the_breaker_layer_counts_errors_by_their_class() {
    let breaker = || {
        CircuitBreaker::builder("geo")
            .sliding_window(SlidingWindow::Count(4))
            .minimum_calls(4)
            .build()
            .unwrap()
    };
    let answer = |transient: bool| async move {
        Err::<(), _>(if transient {
            Error::Rejected {
                name: "geo".into(),
                retry_after: None,
            }
        } else {
            Error::InvalidConfig {
                problems: vec![pr_core::validate::Violation::new("city", String::new())],
            }
        })
    };
    let by_class = breaker();
    let service = ServiceBuilder::new()
        .layer(BreakerLayer::new(by_class.clone()))
        .service(service_fn(answer));
    for _ in 0..10 {
        let outcome = service.clone().oneshot(false).await;
        assert!(matches!(outcome, Err(CallError::Inner(_))), "{outcome:?}");
    }
    assert_eq!(by_class.state(), State::Closed);
    for _ in 0..4 {
        let _ = service.clone().oneshot(true).await;
    }
    assert_eq!(by_class.state(), State::Open);

    let every_error = breaker();
    let service = ServiceBuilder::new()
        .layer(BreakerLayer::new(every_error.clone()).record_with(ErrorsFail))
        .service(service_fn(answer));
    for _ in 0..4 {
        let _ = service.clone().oneshot(false).await;
    }
    assert_eq!(every_error.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn pipeline_layer_clones_share_state_and_retry() {
    let attempts = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&attempts);
    let seen = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
    let inner = service_fn(move |name: String| {
        counter.fetch_add(1, Ordering::SeqCst);
        let first = seen.lock().unwrap().insert(name.clone());
        async move {
            if first {
                Err(Error::Rejected {
                    name,
                    retry_after: None,
                })
            } else {
                Ok(format!("hello {name}"))
            }
        }
    });
    let pipeline = Pipeline::builder()
        .retry(
            Retry::builder()
                .backoff(Backoff::Constant(Duration::from_millis(10)))
                .jitter(Jitter::None)
                .build()
                .unwrap(),
        )
        .breaker(CircuitBreaker::builder("greeter"))
        .bulkhead(
            Bulkhead::builder("greeter")
                .limit(2)
                .max_queue(10)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let breaker = pipeline.breaker().unwrap().clone();
    let service = ServiceBuilder::new()
        .layer(PipelineLayer::new(pipeline))
        .service(inner);
    let mut tasks = Vec::new();
    for i in 0..5 {
        let service = service.clone();
        tasks.push(tokio::spawn(async move {
            service.oneshot(format!("n{i}")).await
        }));
    }
    for task in tasks {
        assert!(task.await.unwrap().unwrap().starts_with("hello"));
    }
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        10,
        "each call failed once, then succeeded"
    );
    assert_eq!(
        breaker.snapshot().calls,
        10,
        "every clone recorded in one breaker"
    );
    assert_eq!(breaker.snapshot().failures, 5);
}

#[tokio::test(start_paused = true)]
async fn bulkhead_layer_refuses_past_its_limit() {
    let service = ServiceBuilder::new()
        .layer(BulkheadLayer::new(
            Bulkhead::builder("slow").limit(1).build().unwrap(),
        ))
        .service(service_fn(|_: ()| async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok::<_, Infallible>(())
        }));
    let first = tokio::spawn(service.clone().oneshot(()));
    tokio::task::yield_now().await;
    let second = service.clone().oneshot(()).await;
    assert!(matches!(
        second,
        Err(CallError::Rejected(Error::BulkheadFull { .. }))
    ));
    assert!(first.await.unwrap().is_ok());
}

#[tokio::test(start_paused = true)]
async fn retry_layer_and_ready_services() {
    let attempts = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&attempts);
    let inner = service_fn(move |_: ()| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            if n < 2 {
                Err(Error::Rejected {
                    name: "x".into(),
                    retry_after: None,
                })
            } else {
                Ok(n)
            }
        }
    });
    let mut service = ServiceBuilder::new()
        .layer(RetryLayer::new(
            Retry::builder().max_retries(5).build().unwrap(),
        ))
        .service(inner);
    let answer = service.ready().await.unwrap().call(()).await.unwrap();
    assert_eq!(answer, 2);
}

/// Through the pipeline layer, an open breaker answers at once (no time
/// passes, the total timeout is not waited for), and the refusal maps to
/// 503 with `Retry-After` = the time to the next probe, rounded up.
#[tokio::test(start_paused = true)]
async fn an_open_breaker_in_the_pipeline_layer_is_an_immediate_503_with_retry_after() {
    let pipeline = Pipeline::standard("prices")
        .total_timeout(Some(Duration::from_secs(2)))
        .breaker(
            CircuitBreaker::builder("prices")
                .clock(pr_resilience::Clock::tokio())
                .wait_in_open(Duration::from_millis(7_500)),
        )
        .build()
        .unwrap();
    pipeline.breaker().unwrap().force_open();
    let calls = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&calls);
    let mut service = ServiceBuilder::new()
        .layer(PipelineLayer::new(pipeline))
        .service(service_fn(move |_: ()| {
            counted.fetch_add(1, Ordering::Relaxed);
            async { Ok::<_, Error>("fresh") }
        }));
    let start = tokio::time::Instant::now();
    let mut call = std::pin::pin!(service.ready().await.unwrap().call(()));
    let polled = std::future::poll_fn(|cx| std::task::Poll::Ready(call.as_mut().poll(cx))).await;
    let std::task::Poll::Ready(Err(CallError::Rejected(error))) = polled else {
        panic!("not refused on the first poll: {polled:?}")
    };
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(calls.load(Ordering::Relaxed), 0);
    let response: http::Response<()> = pr_resilience::admission::refusal_response(&error);
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "8");
}
