//! Problem responses from a real server: handlers' coded errors and panics, read by a real client.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use pr_errors::CodedError;
use pr_http::problem::{ApiError, catch_panic};

pr_errors::codes! {
    static CODES;
    /// Upstream is down for a while.
    UPSTREAM = "demo.upstream_down", SERVICE_UNAVAILABLE, transient;
    /// No such symbol.
    UNKNOWN = "demo.unknown_symbol", NOT_FOUND, permanent, public;
}

/// An internal failure whose message must never reach a client.
#[derive(Debug, thiserror::Error)]
#[error("pool exhausted at db-7.internal:5432 (password=hunter2)")]
struct Upstream;

impl CodedError for Upstream {
    fn info(&self) -> &'static pr_errors::CodeInfo {
        &UPSTREAM
    }
    fn retry(&self) -> pr_errors::RetryClass {
        pr_errors::RetryClass::after(Duration::from_millis(2_100))
    }
}

/// A client's mistake, with a public message.
#[derive(Debug, thiserror::Error)]
#[error("no quote for `{0}`")]
struct Unknown(String);

impl CodedError for Unknown {
    fn info(&self) -> &'static pr_errors::CodeInfo {
        &UNKNOWN
    }
}

/// A handler that breaks.
async fn panics() -> String {
    panic!("invariant broken: secret=swordfish")
}

async fn serve() -> String {
    let app = Router::new()
        .route(
            "/down",
            get(|| async { Err::<String, ApiError>(Upstream.into()) }),
        )
        .route(
            "/quote/{symbol}",
            get(
                |axum::extract::Path(symbol): axum::extract::Path<String>| async move {
                    Err::<String, _>(ApiError::from(Unknown(symbol)))
                },
            ),
        )
        .route("/panic", get(panics))
        .route("/ok", get(|| async { "fine" }))
        .layer(catch_panic());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

/// Status, headers and body of a GET, on one keep-alive agent.
fn get_on(agent: &ureq::Agent, url: &str) -> (u16, http::HeaderMap, String) {
    let mut response = agent.get(url).call().unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (
        status,
        headers,
        response.body_mut().read_to_string().unwrap(),
    )
}

/// RFC 9457's members with their types: `type` and `title` strings, `status` the response's,
/// and the toolkit's `code`.
fn assert_problem(body: &str, status: u16, code: &str) -> serde_json::Value {
    let problem: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(problem["type"], "about:blank", "{body}");
    assert!(problem["title"].is_string(), "{body}");
    assert_eq!(problem["status"], status, "{body}");
    assert_eq!(problem["code"], code, "{body}");
    problem
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coded_errors_and_panics_answer_problem_json() {
    let base = serve().await;
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();

        let (status, headers, body) = get_on(&agent, &format!("{base}/down"));
        assert_eq!(status, 503);
        assert_eq!(headers["content-type"], "application/problem+json");
        assert_eq!(headers["retry-after"], "3", "2.1 s rounds up");
        let problem = assert_problem(&body, 503, "demo.upstream_down");
        assert!(problem.get("detail").is_none(), "{body}");
        assert!(
            !body.contains("hunter2") && !body.contains("db-7"),
            "{body}"
        );

        let (status, headers, body) = get_on(&agent, &format!("{base}/quote/ACME"));
        assert_eq!(status, 404);
        assert!(headers.get("retry-after").is_none());
        let problem = assert_problem(&body, 404, "demo.unknown_symbol");
        assert_eq!(problem["detail"], "no quote for `ACME`");

        let (status, _, body) = get_on(&agent, &format!("{base}/panic"));
        assert_eq!(status, 500);
        assert_problem(&body, 500, "http.panic");
        assert!(!body.contains("swordfish"), "{body}");
        // The server, and the client's connection, go on.
        let (status, _, body) = get_on(&agent, &format!("{base}/ok"));
        assert_eq!((status, body.as_str()), (200, "fine"));
    })
    .await
    .unwrap();
}

/// A service that panics while it is called, before any future exists: caught too.
#[tokio::test]
async fn a_panic_while_called_is_caught_too() {
    use tower::{Layer as _, ServiceExt as _};
    let service =
        catch_panic().layer(
            tower::service_fn(
                |_: http::Request<()>| -> std::future::Ready<
                    Result<http::Response<String>, std::convert::Infallible>,
                > { panic!("broken before the future") },
            ),
        );
    let response = service.oneshot(http::Request::new(())).await.unwrap();
    assert_eq!(response.status(), 500);
    assert_problem(response.body(), 500, "http.panic");
}

/// `ApiError::new`: the code's status and code, the message only when the code is public.
#[test]
fn a_code_and_a_message_answer_a_problem() {
    use axum::response::IntoResponse as _;
    let public = ApiError::new(&UNKNOWN, "no quote for this symbol").into_response();
    assert_eq!(public.status(), 404);
    let private = ApiError::new(&UPSTREAM, "db-7.internal refused").into_response();
    assert_eq!(private.status(), 503);
    let body = |response: axum::response::Response| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let bytes = runtime
            .block_on(axum::body::to_bytes(response.into_body(), 64 * 1024))
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    };
    let json = assert_problem(&body(public), 404, "demo.unknown_symbol");
    assert_eq!(json["detail"], "no quote for this symbol");
    let text = body(private);
    assert_problem(&text, 503, "demo.upstream_down");
    assert!(!text.contains("db-7"), "{text}");
}
