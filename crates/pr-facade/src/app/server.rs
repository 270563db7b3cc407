//! The app's HTTP listeners: the ops server, and the service's API when it
//! hands its router to the app ([`AppBuilder::api`](crate::app::AppBuilder::api),
//! [`App::serve`](crate::app::App::serve)).
//!
//! Every listener defends itself against slow and greedy clients the same
//! way; [`HttpLimits`] says how.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration as StdDuration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use pr_config::{ByteSize, Duration, Validate, Validator};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::app::{Drain, Error, WorkGuard};

mod tls;

/// A listener's TLS (feature `tls`).
#[cfg(feature = "tls")]
pub(crate) type Tls = pr_http::tls::ServerTls;

/// Without the `tls` feature a listener has no TLS: a type with no values.
#[cfg(not(feature = "tls"))]
#[derive(Clone, Debug)]
pub(crate) enum Tls {}

/// Where and how the service's API listens: what the selector given to
/// [`AppBuilder::api`](crate::app::AppBuilder::api) picks out of the
/// configuration. As settings, a table (`[api]`: `addr`, `limits`, `tls`;
/// `Default`: 127.0.0.1:8080, the default limits, plain HTTP). A
/// `(SocketAddr, HttpLimits)` pair converts into one (plain HTTP);
/// [`with_tls`](Self::with_tls) (feature `tls`) serves HTTPS.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ApiListener {
    /// The address to listen on.
    pub addr: SocketAddr,
    /// The listener's limits.
    pub limits: HttpLimits,
    /// The certificate to serve, for HTTPS only (feature `tls`).
    #[cfg(feature = "tls")]
    pub tls: Option<pr_http::tls::TlsConfig>,
}

impl Default for ApiListener {
    fn default() -> Self {
        Self::new(
            SocketAddr::from(([127, 0, 0, 1], 8080)),
            HttpLimits::default(),
        )
    }
}

/// Every problem of its limits and TLS settings, each at its key.
impl Validate for ApiListener {
    fn validate(&self, v: &mut Validator) {
        v.nested("limits", &self.limits);
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            v.nested("tls", tls);
        }
    }
}

impl ApiListener {
    /// Plain HTTP on `addr` with `limits`.
    #[must_use]
    pub fn new(addr: SocketAddr, limits: HttpLimits) -> Self {
        Self {
            addr,
            limits,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// HTTPS only, with the certificate and settings of `tls` (`None`: plain
    /// HTTP).
    #[cfg(feature = "tls")]
    #[must_use]
    pub fn with_tls(mut self, tls: Option<pr_http::tls::TlsConfig>) -> Self {
        self.tls = tls;
        self
    }
}

/// The TLS of listener `name` from its settings, the files read now.
#[cfg(feature = "tls")]
pub(crate) fn load_tls(
    name: &'static str,
    config: Option<&pr_http::tls::TlsConfig>,
) -> Result<Option<Tls>, Error> {
    config
        .map(|config| {
            pr_http::tls::ServerTls::new(config).map_err(|source| Error::Tls {
                listener: name,
                source,
            })
        })
        .transpose()
}

impl From<(SocketAddr, HttpLimits)> for ApiListener {
    fn from((addr, limits): (SocketAddr, HttpLimits)) -> Self {
        Self::new(addr, limits)
    }
}

/// File descriptors kept out of every listener's connection cap, for what
/// else the process opens: stdio, the runtime's own, log files, queue
/// segments, outbound connections to Redis and dependencies.
pub const RESERVED_FDS: u64 = 64;

/// How often a listener logs accept errors at most.
pub const ACCEPT_ERROR_LOG_INTERVAL: StdDuration = StdDuration::from_secs(10);

/// The ops server's connection cap when `ops.limits.max_connections` is unset.
pub(crate) const OPS_MAX_CONNECTIONS: usize = 64;

/// The API's connection cap when `max_connections` is unset.
pub(crate) const API_MAX_CONNECTIONS: usize = 1024;

/// The smallest `max_header_size` (hyper's smallest read buffer).
const MIN_HEADER_BYTES: u64 = 8 * 1024;

/// The largest `max_header_size` (HTTP/2 counts header lists in `u32`;
/// no sane head is near it).
const MAX_HEADER_SIZE: u64 = 16 * 1024 * 1024;

/// Limits of one HTTP listener of the app (the ops server, and the API when
/// [`AppBuilder::api`](crate::app::AppBuilder::api) asks for one). `Default`
/// suits a service in a 256 MiB pod: at most 32 KiB of head per connection,
/// so the API's 1,024 connections hold at most 32 MiB of unparsed heads.
///
/// What each listener does with them:
///
/// - **a connection cap with back-pressure**: at the cap the listener stops
///   accepting (new connections wait in the kernel's backlog, holding no
///   file descriptor) until one closes. The caps of all listeners are sized
///   to the process's open-files limit, less [`RESERVED_FDS`] for log files,
///   queues and outbound connections; the ops server's cap is taken first, so
///   a flooded API can never take the descriptors the probes need.
/// - **a header-read timeout**: a client that does not finish a request head
///   in time is disconnected (HTTP/1; hyper starts the timer when it waits
///   for a head, so it also bounds the wait between keep-alive requests). A
///   fresh connection, HTTP/1 or HTTP/2, that has not delivered its first
///   request within it is dropped, even one that never sends a byte.
/// - **an idle timeout**: a connection with no request in flight for that
///   long is closed gracefully (HTTP/1 and HTTP/2); HTTP/2 connections are
///   pinged every half of it and dropped when the peer stops answering for
///   a header-read timeout. A closing connection with nothing in flight that
///   has not finished its goodbye within a header-read timeout (a client
///   that never acknowledges `GOAWAY`) is dropped.
/// - **head limits**: HTTP/1 request heads larger than `max_header_size` get
///   431, more than `max_headers` fields get 431; HTTP/2 header lists are
///   bounded the same way.
/// - **HTTP/2 limits**: concurrent streams per connection, and the
///   reset-flood bounds (streams reset by the client before the server saw
///   them, and streams the server had to reset for protocol errors) after
///   which the connection is closed with `GOAWAY`.
/// - **accept errors** (`EMFILE`, `ENFILE`, `ENOBUFS`) are survived: each is
///   counted (`pr_app_accept_errors_total{listener}`), logged at most once
///   every [`ACCEPT_ERROR_LOG_INTERVAL`] with the number left unlogged, and
///   followed by a back-off from 10 ms doubling to 1 s, so a listener out of
///   descriptors neither spins nor floods the log.
///
/// When shutdown begins, the listener closes its socket and every connection
/// is shut down gracefully at once: idle connections and a fresh one part way
/// through its first head are closed, HTTP/2 clients get `GOAWAY`, requests
/// being handled finish. Only requests that reached the
/// router count as in flight (the API's [`Drain`] guard is taken when hyper
/// hands the request over, not when the connection opens, and held until
/// the response is sent).
///
/// Open connections are the gauge `pr_app_connections{listener}`, the cap
/// `pr_app_connections_max{listener}`.
///
/// Not covered here: how long a handler may take to read a request body or a
/// client to read a response (bound them around the router, e.g. with
/// tower-http's `TimeoutLayer` and `RequestBodyTimeoutLayer`, and axum's body
/// limit), and protocol upgrades (WebSockets): the listeners serve none, so
/// that every socket stays inside the cap, the gauge and the drain.
///
/// In a configuration file (`ops.limits`, or the API section's `limits`):
///
/// ```toml
/// [ops.limits]
/// max_connections = 64
/// header_read_timeout = "10s"
/// idle_timeout = "60s"
/// max_header_size = "32KiB"
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct HttpLimits {
    /// The most connections open at once; at the cap, accepting pauses.
    /// Unset: 1,024 for the API, 64 for the ops server. Either is lowered at
    /// start-up (with a warning) to fit the open-files limit.
    pub max_connections: Option<usize>,
    /// How long a client may take to send a whole request head (HTTP/1),
    /// including the wait for the next request on a keep-alive connection.
    pub header_read_timeout: Duration,
    /// How long a connection may stay open with no request in flight.
    pub idle_timeout: Duration,
    /// The largest request head: request line and header fields (HTTP/1),
    /// or header list (HTTP/2). A larger one is answered 431. 8 KiB to 16 MiB.
    pub max_header_size: ByteSize,
    /// The most header fields in an HTTP/1 request head; more are answered 431.
    pub max_headers: usize,
    /// The most concurrent streams on one HTTP/2 connection.
    pub http2_max_concurrent_streams: u32,
    /// The most HTTP/2 streams a client may open and reset before the server
    /// handles them (the "rapid reset" flood) before the connection is
    /// closed.
    pub http2_max_pending_reset_streams: usize,
    /// The most HTTP/2 streams the server may have to reset for a client's
    /// protocol errors before the connection is closed.
    pub http2_max_local_error_reset_streams: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_connections: None,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_header_size: ByteSize(32 * 1024),
            max_headers: 64,
            http2_max_concurrent_streams: 100,
            http2_max_pending_reset_streams: 20,
            http2_max_local_error_reset_streams: 1024,
        }
    }
}

impl Validate for HttpLimits {
    fn validate(&self, v: &mut Validator) {
        v.check(
            self.max_connections != Some(0),
            "max_connections",
            "must be at least 1 (unset takes the listener's default)",
        );
        v.check(
            !self.header_read_timeout.as_std().is_zero(),
            "header_read_timeout",
            "must be greater than 0",
        );
        v.check(
            !self.idle_timeout.as_std().is_zero(),
            "idle_timeout",
            "must be greater than 0",
        );
        v.check(
            (MIN_HEADER_BYTES..=MAX_HEADER_SIZE).contains(&self.max_header_size.0),
            "max_header_size",
            format!(
                "must be from {} to {}, got {}",
                ByteSize(MIN_HEADER_BYTES),
                ByteSize(MAX_HEADER_SIZE),
                self.max_header_size
            ),
        );
        v.check(self.max_headers >= 1, "max_headers", "must be at least 1");
        v.check(
            self.http2_max_concurrent_streams >= 1,
            "http2_max_concurrent_streams",
            "must be at least 1",
        );
    }
}

/// The open-files budget the listeners' caps come out of.
#[derive(Debug)]
pub(crate) struct FdBudget {
    /// Descriptors left for connections; `u64::MAX` when unlimited.
    left: AtomicU64,
    /// The soft limit the budget was sized from (`None`: unlimited).
    limit: Option<u64>,
}

impl FdBudget {
    /// A budget of `limit` (the soft `RLIMIT_NOFILE`) less [`RESERVED_FDS`].
    pub(crate) fn new(limit: Option<u64>) -> Self {
        Self {
            left: AtomicU64::new(limit.map_or(u64::MAX, |l| l.saturating_sub(RESERVED_FDS))),
            limit,
        }
    }

    /// Grants `listener` up to `wanted` connections; logs a warning when
    /// fewer are left. Never less than 1, so a listener always serves.
    pub(crate) fn grant(&self, listener: &str, wanted: usize) -> usize {
        let wanted_u64 = u64::try_from(wanted).unwrap_or(u64::MAX);
        let mut granted = wanted_u64;
        let _ = self
            .left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                granted = wanted_u64.min(left).max(1);
                Some(left.saturating_sub(granted))
            });
        if granted < wanted_u64 {
            tracing::warn!(
                event = "app.connection_cap_lowered",
                listener,
                wanted,
                granted,
                open_files_limit = self.limit,
                reserved = RESERVED_FDS,
                "connection cap lowered to fit the open-files limit"
            );
        }
        usize::try_from(granted).unwrap_or(usize::MAX)
    }
}

/// A bound socket, not yet serving.
#[derive(Debug)]
pub(crate) struct Bound {
    name: &'static str,
    listener: TcpListener,
    addr: SocketAddr,
}

impl Bound {
    /// Binds `addr` for the listener `name` (`ops`, `api`).
    pub(crate) async fn bind(name: &'static str, addr: SocketAddr) -> Result<Self, Error> {
        let bind_error = |source| Error::Bind {
            listener: name,
            addr,
            source,
        };
        let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        Ok(Self {
            name,
            listener,
            addr,
        })
    }

    /// The listener with its limits, its cap granted from `budget`
    /// (`limits.max_connections`, or `default_max` when unset).
    pub(crate) fn limit(
        self,
        limits: &HttpLimits,
        default_max: usize,
        budget: &FdBudget,
        tls: Option<Tls>,
    ) -> Listener {
        let max_connections =
            budget.grant(self.name, limits.max_connections.unwrap_or(default_max));
        tracing::info!(
            event = "app.listening",
            listener = self.name,
            addr = %self.addr,
            max_connections,
            tls = tls.is_some(),
            "listening"
        );
        Listener {
            name: self.name,
            listener: self.listener,
            addr: self.addr,
            max_connections,
            limits: limits.clone(),
            tls,
        }
    }
}

/// A bound listener with its limits, ready to serve.
#[derive(Debug)]
pub(crate) struct Listener {
    name: &'static str,
    listener: TcpListener,
    addr: SocketAddr,
    max_connections: usize,
    limits: HttpLimits,
    tls: Option<Tls>,
}

impl Listener {
    /// The bound address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves `router` until `shutdown` resolves, then shuts every
    /// connection down gracefully and returns once they are closed. With a
    /// `drain`, each request holds a [`Drain`] guard while the router
    /// handles it, and a request arriving once draining has begun is
    /// answered 503 `app.draining`.
    pub(crate) async fn serve(
        self,
        router: Router,
        drain: Option<Drain>,
        shutdown: impl Future<Output = ()>,
    ) {
        let Self {
            name,
            listener: incoming,
            max_connections,
            limits,
            tls,
            ..
        } = self;
        serve(
            incoming,
            name,
            max_connections,
            &limits,
            Served { router, drain, tls },
            shutdown,
        )
        .await;
    }
}

/// What a listener serves: the router, the drain its requests count in, and
/// the TLS its connections are wrapped in.
#[derive(Clone)]
struct Served {
    router: Router,
    drain: Option<Drain>,
    tls: Option<Tls>,
}

async fn serve(
    incoming: TcpListener,
    name: &'static str,
    max_connections: usize,
    limits: &HttpLimits,
    served: Served,
    shutdown: impl Future<Output = ()>,
) {
    let builder = Arc::new(builder(limits));
    let timeouts = Timeouts {
        first_request: limits.header_read_timeout.as_std(),
        idle: limits.idle_timeout.as_std(),
        close_grace: limits.header_read_timeout.as_std(),
    };
    let permits = Arc::new(Semaphore::new(max_connections.min(Semaphore::MAX_PERMITS)));
    let (stop, stopped) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut errors = AcceptErrors::new(name);
    describe_metrics();
    metrics::gauge!("pr_app_connections_max", "listener" => name).set(max_connections as f64);
    let open = metrics::gauge!("pr_app_connections", "listener" => name);
    // The certificate files are looked at while the listener serves.
    let _watcher = served.tls.as_ref().map(tls::watch);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // Reap finished connections so the set holds open ones only.
        while connections.try_join_next().is_some() {}
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_closed) => break,
            },
            () = &mut shutdown => break,
        };
        let accepted = tokio::select! {
            accepted = incoming.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => {
                errors.succeeded();
                accepted
            }
            Err(e) => {
                drop(permit);
                if let Some(pause) = errors.failed(&e) {
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        () = &mut shutdown => break,
                    }
                }
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let builder = Arc::clone(&builder);
        let served = served.clone();
        let stopped = stopped.clone();
        // Counted down on every end of the task: return, panic, abort.
        let counted = OpenConnection::new(open.clone());
        connections.spawn(async move {
            let _counted = counted;
            let _permit = permit;
            connection(name, stream, peer, &builder, served, stopped, timeouts).await;
        });
    }
    // Stop accepting: close the socket now, so the kernel completes no more
    // handshakes into a backlog nobody reads; then shut every connection
    // down at once and wait for them.
    drop(incoming);
    let _ = stop.send(true);
    while connections.join_next().await.is_some() {}
}

/// One open connection in the `pr_app_connections` gauge.
struct OpenConnection(metrics::Gauge);

impl OpenConnection {
    fn new(gauge: metrics::Gauge) -> Self {
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// The listeners' metrics, with their help text.
fn describe_metrics() {
    metrics::describe_gauge!(
        "pr_app_connections",
        "Connections open on an HTTP listener of the app (ops, api)."
    );
    metrics::describe_gauge!(
        "pr_app_connections_max",
        "The connection cap of an HTTP listener, after fitting the open-files limit."
    );
    metrics::describe_counter!(
        "pr_app_accept_errors_total",
        "Failed accepts on an HTTP listener (EMFILE, ENFILE, ...), each followed by a back-off."
    );
}

/// The hyper connection builder for `limits`.
fn builder(limits: &HttpLimits) -> auto::Builder<TokioExecutor> {
    let head = usize::try_from(limits.max_header_size.0).unwrap_or(usize::MAX);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout.as_std())
        .max_headers(limits.max_headers)
        // Bounds the read buffer, so the head; a head that does not fit is
        // answered 431.
        .max_buf_size(head.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.http2_max_concurrent_streams)
        .max_pending_accept_reset_streams(limits.http2_max_pending_reset_streams)
        .max_local_error_reset_streams(limits.http2_max_local_error_reset_streams)
        .max_header_list_size(u32::try_from(limits.max_header_size.0).unwrap_or(u32::MAX))
        // Pings an idle connection, and drops one whose peer stops answering
        // (also while closing: h2 waits for a ping's answer after GOAWAY).
        .keep_alive_interval(limits.idle_timeout.as_std() / 2)
        .keep_alive_timeout(limits.header_read_timeout.as_std());
    builder
}

/// What a connection is doing: requests in flight, whether any request
/// has started, when the last one started or ended (for the idle timeout),
/// and the bytes read since then.
struct Activity {
    in_flight: AtomicUsize,
    started: AtomicBool,
    since: Instant,
    last_ms: AtomicU64,
    unclaimed: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            started: AtomicBool::new(false),
            since: Instant::now(),
            last_ms: AtomicU64::new(0),
            unclaimed: AtomicU64::new(0),
        }
    }

    /// Whether no request has reached the router on this connection yet.
    fn fresh(&self) -> bool {
        !self.started.load(Ordering::Acquire)
    }

    /// Whether the client is part way through the first request head of
    /// a fresh connection: the one case hyper's graceful shutdown waits
    /// for (it closes a keep-alive connection between requests itself). The
    /// router never saw it, so closing loses nothing.
    fn reading_first_head(&self) -> bool {
        self.fresh() && self.unclaimed.load(Ordering::Acquire) > 0
    }

    fn touch(&self) {
        self.unclaimed.store(0, Ordering::Release);
        let ms = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// When the connection is to be closed for idling: `first_request`
    /// after it opened while no request has come (a client that connects
    /// and says nothing, or too slowly, before any protocol's own timer
    /// runs), else `idle` after the last request ended; `None` while a
    /// request is in flight.
    fn idle_deadline(&self, first_request: StdDuration, idle: StdDuration) -> Option<Instant> {
        if self.fresh() {
            return Some(self.since + first_request.min(idle));
        }
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let last = StdDuration::from_millis(self.last_ms.load(Ordering::Relaxed));
        Some(self.since + last + idle)
    }
}

/// A request in flight on a connection, from the moment hyper hands it to
/// the service until its response body has been sent (it lives in the body).
struct Busy(Arc<Activity>);

impl Busy {
    fn new(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        activity.started.store(true, Ordering::Release);
        activity.touch();
        Self(Arc::clone(activity))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Serves one connection until it closes, after its TLS handshake when the
/// listener has TLS (bounded by the first-request timeout, and given up at
/// shutdown).
async fn connection(
    name: &'static str,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    builder: &auto::Builder<TokioExecutor>,
    served: Served,
    stopped: watch::Receiver<bool>,
    timeouts: Timeouts,
) {
    let activity = Arc::new(Activity::new());
    let io = Counted {
        stream,
        activity: Arc::clone(&activity),
    };
    match served.tls.clone() {
        None => serve_connection(io, peer, builder, served, activity, stopped, timeouts).await,
        Some(tls) => {
            let Some(io) = tls::handshake(name, &tls, io, peer, stopped.clone(), timeouts).await
            else {
                return;
            };
            serve_connection(io, peer, builder, served, activity, stopped, timeouts).await;
        }
    }
}

/// Serves one connection until it closes: gracefully at once when the
/// listener stops, or when it has been idle too long; a connection that
/// has not finished closing `close_grace` after that, with nothing in
/// flight (a client that never acknowledges an HTTP/2 `GOAWAY`), is dropped.
async fn serve_connection<IO>(
    io: IO,
    peer: SocketAddr,
    builder: &auto::Builder<TokioExecutor>,
    served: Served,
    activity: Arc<Activity>,
    mut stopped: watch::Receiver<bool>,
    timeouts: Timeouts,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Served { router, drain, .. } = served;
    let service = {
        let activity = Arc::clone(&activity);
        hyper::service::service_fn(move |request: Request<Incoming>| {
            let router = router.clone();
            let drain = drain.clone();
            let busy = Busy::new(&activity);
            handle(request, peer, router, drain, busy)
        })
    };
    // No upgrades: an upgraded socket would leave the connection's task, and
    // with it the cap, the gauge and the drain.
    let conn = builder.serve_connection(TokioIo::new(io), service);
    let mut conn = std::pin::pin!(conn);
    let mut closing: Option<Instant> = None;
    loop {
        let deadline = match closing {
            Some(since) => Some(since + timeouts.close_grace),
            None => activity.idle_deadline(timeouts.first_request, timeouts.idle),
        };
        tokio::select! {
            biased;
            served = conn.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(event = "app.connection_error", %peer, error = %e, "connection ended with an error");
                }
                return;
            }
            changed = stopped.wait_for(|stop| *stop), if closing.is_none() => {
                // A closed channel means the listener is gone: stop too.
                let _ = changed;
                if activity.reading_first_head() {
                    return;
                }
                conn.as_mut().graceful_shutdown();
                closing = Some(Instant::now());
            }
            () = sleep_until_or_after(deadline, timeouts.idle) => {
                let now = Instant::now();
                let nothing_in_flight = activity.in_flight.load(Ordering::Acquire) == 0;
                match closing {
                    Some(since) => {
                        if nothing_in_flight && now >= since + timeouts.close_grace {
                            return;
                        }
                    }
                    None => {
                        let due = activity
                            .idle_deadline(timeouts.first_request, timeouts.idle)
                            .is_some_and(|at| at <= now);
                        if due && activity.fresh() {
                            // No request ever came: nothing to finish.
                            return;
                        }
                        if due {
                            conn.as_mut().graceful_shutdown();
                            closing = Some(now);
                        }
                    }
                }
            }
        }
    }
}

/// A connection's timers.
#[derive(Clone, Copy, Debug)]
struct Timeouts {
    /// How long a fresh connection may take to deliver its first request.
    first_request: StdDuration,
    /// How long a connection may idle between requests.
    idle: StdDuration,
    /// How long a closing connection with nothing in flight may take to
    /// finish its goodbye.
    close_grace: StdDuration,
}

/// Sleeps until `at`, or for `otherwise` when there is no deadline (a
/// request is in flight: look again later).
async fn sleep_until_or_after(at: Option<Instant>, otherwise: StdDuration) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => tokio::time::sleep(otherwise).await,
    }
}

/// One request: the peer's address as axum's [`ConnectInfo`], a [`Drain`]
/// guard while the router handles it.
async fn handle(
    mut request: Request<Incoming>,
    peer: SocketAddr,
    mut router: Router,
    drain: Option<Drain>,
    busy: Busy,
) -> Result<Response<axum::body::Body>, std::convert::Infallible> {
    use tower::Service as _;
    let work = match &drain {
        Some(drain) => match drain.try_start() {
            Some(work) => Some(work),
            None => return Ok(draining()),
        },
        None => None,
    };
    request.extensions_mut().insert(ConnectInfo(peer));
    std::future::poll_fn(|cx| {
        <Router as tower::Service<Request<Incoming>>>::poll_ready(&mut router, cx)
    })
    .await?;
    let response = router.call(request).await?;
    // The request stays in flight until its body has been sent.
    Ok(response.map(|inner| {
        axum::body::Body::new(Guarded {
            inner,
            _busy: busy,
            _work: work,
        })
    }))
}

/// A response body holding its request's guards until it is sent (or
/// dropped with the connection).
struct Guarded {
    inner: axum::body::Body,
    _busy: Busy,
    _work: Option<WorkGuard>,
}

impl http_body::Body for Guarded {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The connection's socket, counting the bytes read into its [`Activity`].
struct Counted {
    stream: tokio::net::TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        if read > 0 {
            this.activity
                .unclaimed
                .fetch_add(read as u64, Ordering::AcqRel);
        }
        polled
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// The answer to a request that arrives once draining has begun.
fn draining() -> Response<axum::body::Body> {
    let body = pr_errors::Problem::new(StatusCode::SERVICE_UNAVAILABLE)
        .with_title(crate::app::codes::DRAINING.code.as_str())
        .with_detail("the service is shutting down; retry on another instance")
        .to_json();
    let mut response = Response::new(axum::body::Body::from(body));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Accept errors of one listener: counted, logged at a bounded rate, and
/// answered with a growing pause while they last.
struct AcceptErrors {
    listener: &'static str,
    counter: metrics::Counter,
    pause: StdDuration,
    last_logged: Option<Instant>,
    unlogged: u64,
}

/// The first pause after an accept error.
const FIRST_PAUSE: StdDuration = StdDuration::from_millis(10);

/// The longest pause between accept attempts.
const MAX_PAUSE: StdDuration = StdDuration::from_secs(1);

impl AcceptErrors {
    fn new(listener: &'static str) -> Self {
        Self {
            listener,
            counter: metrics::counter!("pr_app_accept_errors_total", "listener" => listener),
            pause: FIRST_PAUSE,
            last_logged: None,
            unlogged: 0,
        }
    }

    fn succeeded(&mut self) {
        self.pause = FIRST_PAUSE;
    }

    /// Counts and maybe logs `error`; how long to pause before accepting
    /// again (`None`: the error was the peer's, accept again at once).
    fn failed(&mut self, error: &std::io::Error) -> Option<StdDuration> {
        use std::io::ErrorKind;
        self.counter.increment(1);
        // A connection that went away between SYN and accept is the
        // peer's business, not a shortage: no pause, and no log line to
        // crowd out the one a shortage needs.
        if matches!(
            error.kind(),
            ErrorKind::ConnectionAborted
                | ErrorKind::ConnectionReset
                | ErrorKind::ConnectionRefused
        ) {
            tracing::debug!(event = "app.accept_aborted", listener = self.listener, error = %error, "a connection went away before it was accepted");
            return None;
        }
        let now = Instant::now();
        let due = self
            .last_logged
            .is_none_or(|at| now.duration_since(at) >= ACCEPT_ERROR_LOG_INTERVAL);
        if due {
            tracing::error!(
                event = "app.accept_failed",
                listener = self.listener,
                error = %error,
                unlogged = self.unlogged,
                "cannot accept connections; backing off"
            );
            self.last_logged = Some(now);
            self.unlogged = 0;
        } else {
            self.unlogged += 1;
        }
        let pause = self.pause;
        self.pause = (self.pause * 2).min(MAX_PAUSE);
        Some(pause)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_grants_what_is_left_and_never_nothing() {
        let budget = FdBudget::new(Some(1024));
        assert_eq!(budget.grant("ops", 64), 64);
        assert_eq!(budget.grant("api", 10_000), 1024 - 64 - 64);
        assert_eq!(budget.grant("other", 10), 1);
        let unlimited = FdBudget::new(None);
        assert_eq!(unlimited.grant("api", 5000), 5000);
        let tiny = FdBudget::new(Some(10));
        assert_eq!(tiny.grant("ops", 64), 1);
    }

    #[test]
    fn accept_errors_back_off_doubling_to_a_ceiling_and_reset_on_success() {
        let emfile = std::io::Error::from_raw_os_error(24);
        let mut errors = AcceptErrors::new("test");
        let pauses: Vec<_> = (0..10).map(|_| errors.failed(&emfile).unwrap()).collect();
        assert_eq!(pauses[0], FIRST_PAUSE);
        assert_eq!(pauses[1], FIRST_PAUSE * 2);
        assert_eq!(*pauses.last().unwrap(), MAX_PAUSE);
        assert!(pauses.windows(2).all(|w| w[0] <= w[1]));
        // Logged once, the rest counted as unlogged within the interval.
        assert_eq!(errors.unlogged, 9);
        errors.succeeded();
        assert_eq!(errors.failed(&emfile), Some(FIRST_PAUSE));
        let aborted = std::io::Error::from(std::io::ErrorKind::ConnectionAborted);
        assert_eq!(
            errors.failed(&aborted),
            None,
            "a peer's abort is no shortage"
        );
    }

    #[test]
    fn limits_are_validated_with_every_problem() {
        let limits = HttpLimits {
            max_connections: Some(0),
            header_read_timeout: Duration::from_secs(0),
            idle_timeout: Duration::from_secs(0),
            max_header_size: ByteSize(100),
            max_headers: 0,
            http2_max_concurrent_streams: 0,
            ..HttpLimits::default()
        };
        let mut v = Validator::new();
        limits.validate(&mut v);
        let text = format!("{:?}", v.problems());
        for key in [
            "max_connections",
            "header_read_timeout",
            "idle_timeout",
            "max_header_size",
            "max_headers",
            "http2_max_concurrent_streams",
        ] {
            assert!(text.contains(key), "{key} missing from {text}");
        }
        let mut v = Validator::new();
        HttpLimits::default().validate(&mut v);
        assert!(v.problems().is_empty(), "{:?}", v.problems());
    }
}
