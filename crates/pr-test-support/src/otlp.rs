//! OTLP receivers on loopback: HTTP (`POST /v1/traces`, protobuf) and
//! gRPC (`TraceService/Export`), each keeping every request, decoded with
//! the official protobuf definitions; and a collector that accepts
//! connections and never answers.
//!
//! # Panics
//!
//! The helpers panic when a socket or runtime cannot be set up, or a
//! request does not decode: a failed test.

#![allow(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    reason = "a test helper whose panics are failed tests, as the module's docs say"
)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;

/// The requests a receiver got.
#[derive(Clone, Debug, Default)]
pub struct Received(Arc<Mutex<Vec<ExportTraceServiceRequest>>>);

impl Received {
    /// Every span received, with its resource's attributes.
    #[must_use]
    pub fn spans(&self) -> Vec<(Span, Vec<(String, String)>)> {
        let mut spans = Vec::new();
        for request in self.0.lock().unwrap().iter() {
            for resource_spans in &request.resource_spans {
                let attributes: Vec<(String, String)> = resource_spans
                    .resource
                    .iter()
                    .flat_map(|r| &r.attributes)
                    .map(|kv| {
                        (
                            kv.key.clone(),
                            value_text(kv.value.as_ref().and_then(|v| v.value.as_ref())),
                        )
                    })
                    .collect();
                for scope in &resource_spans.scope_spans {
                    for span in &scope.spans {
                        spans.push((span.clone(), attributes.clone()));
                    }
                }
            }
        }
        spans
    }
}

fn value_text(value: Option<&Value>) -> String {
    match value {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        _ => String::new(),
    }
}

/// A receiver with its runtime; stops when dropped.
#[derive(Debug)]
pub struct Receiver {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it got.
    pub received: Received,
    _runtime: Background,
}

impl Receiver {
    /// `POST /v1/traces` over HTTP/1.1, protobuf bodies.
    #[must_use]
    pub fn http() -> Self {
        let runtime = runtime();
        let received = Received::default();
        let kept = received.clone();
        let (listener, addr) = bind();
        let app = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |headers: http::HeaderMap, body: axum::body::Bytes| {
                let kept = kept.clone();
                async move {
                    assert_eq!(headers["content-type"], "application/x-protobuf");
                    let request = ExportTraceServiceRequest::decode(body).unwrap();
                    kept.0.lock().unwrap().push(request);
                    (
                        [("content-type", "application/x-protobuf")],
                        ExportTraceServiceResponse::default().encode_to_vec(),
                    )
                }
            }),
        );
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            addr,
            received,
            _runtime: Background(Some(runtime)),
        }
    }

    /// The gRPC trace service.
    #[must_use]
    pub fn grpc() -> Self {
        let runtime = runtime();
        let received = Received::default();
        let (listener, addr) = bind();
        let service = TraceServiceServer::new(Grpc(received.clone()));
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tokio_stream(listener))
                .await
                .unwrap();
        });
        Self {
            addr,
            received,
            _runtime: Background(Some(runtime)),
        }
    }

    /// The traces URL of the HTTP receiver.
    #[must_use]
    pub fn traces_url(&self) -> String {
        format!("http://{}/v1/traces", self.addr)
    }

    /// The gRPC receiver's address.
    #[must_use]
    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// A runtime of its own, stopped without waiting when dropped (also from
/// inside a test's async runtime, where waiting is not allowed).
#[derive(Debug)]
struct Background(Option<tokio::runtime::Runtime>);

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// A loopback listener, ready for `tokio::net::TcpListener::from_std`.
fn bind() -> (std::net::TcpListener, SocketAddr) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// The accepted connections of a listener, as tonic takes them.
fn tokio_stream(
    listener: tokio::net::TcpListener,
) -> impl futures_util::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures_util::stream::unfold(listener, |listener| async move {
        let accepted = listener.accept().await.map(|(stream, _)| stream);
        Some((accepted, listener))
    })
}

struct Grpc(Received);

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.0.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// A collector that accepts connections and never answers; the
/// connections stay open until it is dropped.
#[derive(Debug)]
pub struct Silent {
    /// Where it listens.
    pub addr: SocketAddr,
    _runtime: Background,
}

impl Silent {
    /// Starts it.
    #[must_use]
    pub fn start() -> Self {
        let runtime = runtime();
        let (listener, addr) = bind();
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        Self {
            addr,
            _runtime: Background(Some(runtime)),
        }
    }
}

/// Lowercase hex of an id's bytes, as W3C Trace Context writes it.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An address nothing listens on.
#[must_use]
pub fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}
