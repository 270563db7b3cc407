//! A real `redis-server` on a free loopback port, for the tests of the
//! Redis tier, the invalidation bus and the distributed rate limiters.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a starting server may take to accept connections.
const START_PATIENCE: Duration = Duration::from_secs(10);

/// A `redis-server` child on a loopback port, without persistence, killed
/// when dropped. [`kill`](Self::kill) and [`restart`](Self::restart) play
/// an outage: the restarted server listens on the same port, empty.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
}

impl RedisServer {
    /// Starts a server on a free port and waits until it accepts
    /// connections (a few milliseconds).
    ///
    /// # Panics
    ///
    /// When `redis-server` is not installed (`.ci/run` installs it) or does
    /// not start within 10 s.
    #[must_use]
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free loopback port: {e}"));
        Self::start_on(port)
    }

    /// Starts a server on `port`, as [`start`](Self::start) does.
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start).
    #[must_use]
    pub fn start_on(port: u16) -> Self {
        let mut server = Self { child: None, port };
        server.restart();
        server
    }

    /// The server's URL, `redis://127.0.0.1:<port>/`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The server's port.
    #[must_use]
    pub const fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server with SIGKILL (no goodbye to its clients) and reaps
    /// it; nothing when it is not running.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (killing a running one
    /// first) and waits until it accepts connections.
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start).
    pub fn restart(&mut self) {
        self.kill();
        let port = self.port;
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("redis-server is needed by these tests (.ci/run installs it): {e}")
            });
        let started = Instant::now();
        while started.elapsed() < START_PATIENCE {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                self.child = Some(child);
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("redis-server did not start on port {port}");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
