//! `/metrics` served on loopback, called with a real HTTP client.

use std::io::Read as _;
use std::time::Duration;

use pr_metrics::Registry;

struct Reply {
    content_type: String,
    content_encoding: Option<String>,
    body: Vec<u8>,
}

async fn serve(registry: Registry) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app: axum::Router = pr_metrics::http::router(registry);
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    base
}

async fn get(url: String, headers: &'static [(&'static str, &'static str)]) -> Reply {
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let mut request = agent.get(&url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = request.call().unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        let content_type = header("content-type").unwrap();
        let content_encoding = header("content-encoding");
        let mut body = Vec::new();
        response
            .body_mut()
            .as_reader()
            .read_to_end(&mut body)
            .unwrap();
        Reply {
            content_type,
            content_encoding,
            body,
        }
    })
    .await
    .unwrap()
}

fn registry() -> Registry {
    let registry = Registry::default();
    for i in 0..20 {
        registry
            .counter("served_requests_total", &[("route", &format!("/r{i}"))])
            .unwrap()
            .inc_by(i);
    }
    registry
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_negotiation_and_gzip() {
    let base = serve(registry()).await;
    let url = format!("{base}/metrics");

    let plain = get(url.clone(), &[]).await;
    assert_eq!(
        plain.content_type,
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert_eq!(plain.content_encoding, None);
    let text = String::from_utf8(plain.body).unwrap();
    assert!(
        text.contains("served_requests_total{route=\"/r3\"} 3\n"),
        "{text}"
    );

    let om = get(
        url.clone(),
        &[(
            "accept",
            "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
        )],
    )
    .await;
    assert_eq!(
        om.content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let om_text = String::from_utf8(om.body).unwrap();
    assert!(om_text.ends_with("# EOF\n"));

    let zipped = get(url, &[("accept-encoding", "gzip, deflate")]).await;
    assert_eq!(zipped.content_encoding.as_deref(), Some("gzip"));
    assert!(zipped.body.len() < text.len());
    let mut unzipped = String::new();
    flate2::read::GzDecoder::new(zipped.body.as_slice())
        .read_to_string(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, text);
}

/// A scraper asking for `OpenMetrics` gets the exemplars; one asking for
/// Prometheus text gets the same samples without them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exemplars_follow_the_negotiated_format() {
    let registry = Registry::builder()
        .exemplars(|| Some(pr_metrics::TraceIds::new([0xee; 16], [0xdd; 8])))
        .build()
        .unwrap();
    registry
        .histogram("job_duration_seconds", &[])
        .unwrap()
        .record(0.2);
    let url = format!("{}/metrics", serve(registry).await);
    let om = get(
        url.clone(),
        &[("accept", "application/openmetrics-text; version=1.0.0")],
    )
    .await;
    assert!(om.content_type.starts_with("application/openmetrics-text"));
    let om = String::from_utf8(om.body).unwrap();
    let exemplar = format!(
        r#"job_duration_seconds_bucket{{le="0.25"}} 1 # {{trace_id="{}",span_id="{}"}} 0.2 "#,
        "ee".repeat(16),
        "dd".repeat(8)
    );
    assert!(om.contains(&exemplar), "{om}");
    let plain = String::from_utf8(get(url, &[("accept", "text/plain")]).await.body).unwrap();
    assert!(
        plain.contains("job_duration_seconds_bucket{le=\"0.25\"} 1\n"),
        "{plain}"
    );
    assert!(!plain.contains("trace_id"), "{plain}");
}
