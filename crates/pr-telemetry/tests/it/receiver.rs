//! OTLP receivers on loopback: HTTP (`POST /v1/traces`, protobuf) and
//! gRPC (`TraceService/Export`), each keeping every request; and a
//! collector that accepts connections and never answers.

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
#[derive(Clone, Default)]
pub(crate) struct Received(Arc<Mutex<Vec<ExportTraceServiceRequest>>>);

impl Received {
    /// Every span received, with its resource's attributes.
    pub(crate) fn spans(&self) -> Vec<(Span, Vec<(String, String)>)> {
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
pub(crate) struct Receiver {
    pub(crate) addr: SocketAddr,
    pub(crate) received: Received,
    _runtime: tokio::runtime::Runtime,
}

impl Receiver {
    /// `POST /v1/traces` over HTTP/1.1, protobuf bodies.
    pub(crate) fn http() -> Self {
        let runtime = runtime();
        let received = Received::default();
        let kept = received.clone();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
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
        runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            addr,
            received,
            _runtime: runtime,
        }
    }

    /// The gRPC trace service.
    pub(crate) fn grpc() -> Self {
        let runtime = runtime();
        let received = Received::default();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let service = TraceServiceServer::new(Grpc(received.clone()));
        runtime.spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tokio_stream(listener))
                .await
                .unwrap();
        });
        Self {
            addr,
            received,
            _runtime: runtime,
        }
    }

    /// The traces URL of the HTTP receiver.
    pub(crate) fn traces_url(&self) -> String {
        format!("http://{}/v1/traces", self.addr)
    }

    /// The gRPC receiver's address.
    pub(crate) fn grpc_url(&self) -> String {
        format!("http://{}", self.addr)
    }
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
pub(crate) struct Silent {
    pub(crate) addr: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

impl Silent {
    pub(crate) fn start() -> Self {
        let runtime = runtime();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        Self {
            addr,
            _runtime: runtime,
        }
    }
}

/// An address nothing listens on.
pub(crate) fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}
