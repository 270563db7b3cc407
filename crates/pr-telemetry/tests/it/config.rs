//! Invalid settings, in the section and in the `OTEL_*` variables.

use pr_telemetry::{Telemetry, TelemetryConfig};

fn problems(config: &TelemetryConfig, env: &[(&str, &str)]) -> Vec<(String, String)> {
    match Telemetry::builder(config)
        .env_vars(env.iter().copied())
        .build()
    {
        Err(pr_telemetry::Error::InvalidConfig { problems }) => {
            problems.into_iter().map(|p| (p.key, p.message)).collect()
        }
        other => panic!("expected invalid config, got {other:?}"),
    }
}

#[test]
fn every_invalid_key_is_reported_at_once() {
    let mut config = TelemetryConfig::default();
    config.endpoint = Some("collector:4318".to_owned());
    config.sampling_ratio = Some(1.5);
    config.queue_size = 0;
    config.filter = "info,my_crate=loud".to_owned();
    config
        .headers
        .insert("bad header".to_owned(), "secret-value-1".into());
    let found = problems(&config, &[]);
    let keys: Vec<&str> = found.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "endpoint",
            "sampling_ratio",
            "headers.bad header",
            "filter",
            "queue_size",
            "batch_size"
        ],
        "{found:?}"
    );
    assert!(
        found.iter().all(|(_, m)| !m.contains("secret-value-1")),
        "a header's value never appears: {found:?}"
    );
}

#[test]
fn an_invalid_variable_is_named() {
    let found = problems(
        &TelemetryConfig::default(),
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url"),
            ("OTEL_TRACES_SAMPLER_ARG", "often"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key"),
            ("OTEL_RESOURCE_ATTRIBUTES", "=x"),
        ],
    );
    let keys: Vec<&str> = found.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_HEADERS",
            "OTEL_RESOURCE_ATTRIBUTES",
            "OTEL_TRACES_SAMPLER_ARG",
        ],
        "{found:?}"
    );
}

#[test]
fn the_http_base_endpoint_gets_the_traces_path() {
    let telemetry = Telemetry::builder(&TelemetryConfig::default())
        .env_vars([("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")])
        .build()
        .unwrap();
    assert_eq!(
        telemetry.endpoint(),
        Some((
            "http://collector:4318/v1/traces",
            pr_telemetry::Protocol::HttpProtobuf
        ))
    );
    // The signal's own variable is taken as is.
    let telemetry = Telemetry::builder(&TelemetryConfig::default())
        .env_vars([
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://tempo:4318/otlp/v1/traces",
            ),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
        ])
        .build()
        .unwrap();
    assert_eq!(
        telemetry.endpoint().map(|(e, _)| e),
        Some("http://tempo:4318/otlp/v1/traces")
    );
}

#[test]
fn the_section_reads_from_toml() {
    let config: TelemetryConfig = toml::from_str(
        r#"
        endpoint = "http://collector:4317"
        protocol = "grpc"
        sampling_ratio = 0.25
        batch_delay = "1s"
        headers = { "x-api-key" = "k" }
        resource_attributes = { "deployment.environment" = "prod" }
        "#,
    )
    .unwrap();
    assert_eq!(config.protocol, Some(pr_telemetry::Protocol::Grpc));
    assert_eq!(config.sampling_ratio, Some(0.25));
    assert!(toml::from_str::<TelemetryConfig>("endpont = \"x\"").is_err());
}
