//! The listeners' TLS: the handshake of each connection and the watcher of
//! the certificate files (feature `tls`; without it a listener has no TLS
//! and these are never called).

#[cfg(feature = "tls")]
pub(super) use enabled::{handshake, watch};

#[cfg(not(feature = "tls"))]
pub(super) use disabled::{handshake, watch};

#[cfg(feature = "tls")]
mod enabled {
    use std::net::SocketAddr;

    use tokio::io::{AsyncRead, AsyncWrite};
    use tokio::sync::watch;

    use super::super::{Timeouts, Tls};

    /// Reloads the listener's certificate files until dropped.
    pub(in super::super) fn watch(tls: &Tls) -> Aborted {
        Aborted(tokio::spawn(tls.clone().watch()))
    }

    /// A task aborted when dropped.
    pub(in super::super) struct Aborted(tokio::task::JoinHandle<()>);

    impl Drop for Aborted {
        fn drop(&mut self) {
            self.0.abort();
        }
    }

    /// The TLS handshake of one connection, bounded by the first-request
    /// timeout (a client that opens a connection and trickles its hello holds
    /// a slot no longer than one that trickles its request head) and given up
    /// when the listener stops. `None`: the connection is to be closed; the
    /// failure is counted (`pr_app_tls_handshake_failures_total{listener}`)
    /// and logged at debug (scanners and health checkers of load balancers
    /// fail handshakes all day).
    pub(in super::super) async fn handshake<IO>(
        listener: &'static str,
        tls: &Tls,
        io: IO,
        peer: SocketAddr,
        mut stopped: watch::Receiver<bool>,
        timeouts: Timeouts,
    ) -> Option<tokio_rustls::server::TlsStream<IO>>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let limit = timeouts.first_request.min(timeouts.idle);
        let failed = |reason: &dyn std::fmt::Display| {
            metrics::describe_counter!(
                "pr_app_tls_handshake_failures_total",
                "TLS handshakes that failed or timed out on an HTTP listener of the app."
            );
            metrics::counter!("pr_app_tls_handshake_failures_total", "listener" => listener)
                .increment(1);
            tracing::debug!(event = "app.tls_handshake_failed", listener, %peer, reason = %reason, "TLS handshake failed");
        };
        tokio::select! {
            accepted = tokio::time::timeout(limit, tls.acceptor().accept(io)) => match accepted {
                Ok(Ok(stream)) => Some(stream),
                Ok(Err(e)) => {
                    failed(&e);
                    None
                }
                Err(_) => {
                    failed(&"timed out");
                    None
                }
            },
            _ = stopped.wait_for(|stop| *stop) => None,
        }
    }
}

#[cfg(not(feature = "tls"))]
mod disabled {
    use std::net::SocketAddr;

    use tokio::sync::watch;

    use super::super::{Timeouts, Tls};

    pub(in super::super) fn watch(tls: &Tls) -> std::convert::Infallible {
        match *tls {}
    }

    pub(in super::super) async fn handshake<IO>(
        _listener: &'static str,
        tls: &Tls,
        _io: IO,
        _peer: SocketAddr,
        _stopped: watch::Receiver<bool>,
        _timeouts: Timeouts,
    ) -> Option<IO> {
        match *tls {}
    }
}
