//! A real headless Chromium driven over the Chrome DevTools Protocol, for
//! tests of a page as a user's browser runs it: navigate, run script in the
//! page, wait for what it shows, collect every console error, uncaught
//! exception and browser-reported error (a Content-Security-Policy
//! violation, a failed load), and take a screenshot.
//!
//! The browser is Debian's `chromium` (or the binary `PR_CHROMIUM` names),
//! started with its own temporary profile and `--remote-debugging-port=0`;
//! the test talks to it over one WebSocket (tungstenite), attached to one
//! page target. Only the handful of protocol commands a page test needs are
//! spoken, which is why this is not a generated binding of the whole
//! protocol (`chromiumoxide`, `headless_chrome`): those compile the
//! protocol's thousands of types for five commands.
//!
//! It runs with `--no-sandbox`: CI runs as root, where Chromium's sandbox
//! refuses to start, and the browser only ever opens the test's own
//! loopback pages.

use std::io::ErrorKind;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

use crate::TempDir;

/// How long one protocol command may take before the test fails.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// A headless Chromium with one page open; killed when dropped.
pub struct Browser {
    child: Child,
    socket: WebSocket<TcpStream>,
    session: String,
    next_id: u64,
    errors: Vec<String>,
    load_events: u64,
    // Removed after the browser is killed (fields drop in order).
    _profile: TempDir,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("pid", &self.child.id())
            .field("errors", &self.errors)
            .finish_non_exhaustive()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    /// Starts a headless Chromium (`PR_CHROMIUM`, else `chromium` on the
    /// `PATH`) with a blank page of `width` × `height` pixels.
    ///
    /// # Panics
    ///
    /// When the browser is missing (the message says how to install it),
    /// does not start, or does not open its DevTools endpoint in 30 s.
    #[must_use]
    pub fn launch(width: u32, height: u32) -> Self {
        let binary = std::env::var("PR_CHROMIUM").unwrap_or_else(|_| "chromium".to_owned());
        let profile = crate::temp_dir("chromium");
        let mut child = Command::new(&binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                &format!("--window-size={width},{height}"),
                &format!("--user-data-dir={}", profile.path().display()),
                "about:blank",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start the browser `{binary}` ({e}): install Debian's `chromium` \
                     (apt-get install chromium; `cargo xtask gates --install-tools` does) or \
                     set PR_CHROMIUM to a Chromium binary"
                )
            });
        let (port, path) = Self::endpoint(&mut child, profile.path());
        let endpoint = format!("ws://127.0.0.1:{port}{path}");
        let stream = TcpStream::connect(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("cannot reach the DevTools port {port}: {e}"));
        let (socket, _) = tungstenite::client(endpoint.as_str(), stream)
            .unwrap_or_else(|e| panic!("cannot open the DevTools socket {endpoint}: {e}"));
        // Short reads, so a wait can poll the page between messages.
        socket
            .get_ref()
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("a read timeout on the DevTools socket");
        let mut browser = Self {
            child,
            socket,
            session: String::new(),
            next_id: 0,
            errors: Vec::new(),
            load_events: 0,
            _profile: profile,
        };
        let targets = browser.command("Target.getTargets", &json!({}));
        let page = targets["targetInfos"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["type"] == "page"))
            .map(|t| t["targetId"].clone())
            .unwrap_or_else(|| {
                browser.command("Target.createTarget", &json!({"url": "about:blank"}))["targetId"]
                    .clone()
            });
        let attached = browser.command(
            "Target.attachToTarget",
            &json!({"targetId": page, "flatten": true}),
        );
        browser.session = attached["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        for domain in ["Page.enable", "Runtime.enable", "Log.enable"] {
            browser.command(domain, &json!({}));
        }
        browser
    }

    /// The browser's DevTools port and WebSocket path, from the
    /// `DevToolsActivePort` file it writes into its profile once it listens.
    fn endpoint(child: &mut Child, profile: &Path) -> (u16, String) {
        let file = profile.join("DevToolsActivePort");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(text) = std::fs::read_to_string(&file) {
                let mut lines = text.lines();
                if let (Some(Ok(port)), Some(path)) = (lines.next().map(str::parse), lines.next()) {
                    return (port, path.to_owned());
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the browser exited ({status}) before opening its DevTools endpoint");
            }
            assert!(
                Instant::now() < deadline,
                "the browser opened no DevTools endpoint in 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends one protocol command (to the page once attached) and returns
    /// its result, recording the events that arrive meanwhile.
    fn command(&mut self, method: &str, params: &Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            message["sessionId"] = json!(self.session);
        }
        self.socket
            .send(Message::text(message.to_string()))
            .unwrap_or_else(|e| panic!("{method}: the DevTools socket failed: {e}"));
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            assert!(
                Instant::now() < deadline,
                "{method}: no answer from the browser in {COMMAND_TIMEOUT:?}"
            );
            let Some(reply) = self.receive() else {
                continue;
            };
            if reply["id"] == id {
                if let Some(error) = reply.get("error") {
                    panic!("{method}: the browser refused it: {error}");
                }
                return reply["result"].clone();
            }
        }
    }

    /// One message, or `None` when none came within the socket's short read
    /// timeout; events are recorded on the way.
    fn receive(&mut self) -> Option<Value> {
        let message = match self.socket.read() {
            Ok(message) => message,
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                return None;
            }
            Err(e) => panic!("the DevTools socket failed: {e}"),
        };
        let Message::Text(text) = message else {
            return None;
        };
        let value: Value = serde_json::from_str(&text).expect("DevTools messages are JSON");
        self.record(&value);
        Some(value)
    }

    /// Keeps what an event says went wrong in the page.
    fn record(&mut self, event: &Value) {
        let params = &event["params"];
        match event["method"].as_str() {
            Some("Runtime.consoleAPICalled")
                if matches!(params["type"].as_str(), Some("error" | "assert")) =>
            {
                let args: Vec<String> = params["args"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| {
                        a.get("value")
                            .or_else(|| a.get("description"))
                            .map_or_else(String::new, ToString::to_string)
                    })
                    .collect();
                self.errors
                    .push(format!("console.error: {}", args.join(" ")));
            }
            Some("Runtime.exceptionThrown") => {
                let details = &params["exceptionDetails"];
                let text = details["exception"]["description"]
                    .as_str()
                    .or_else(|| details["text"].as_str())
                    .unwrap_or("an exception");
                self.errors.push(format!("uncaught: {text}"));
            }
            Some("Log.entryAdded") if params["entry"]["level"] == "error" => {
                let entry = &params["entry"];
                self.errors.push(format!(
                    "{} error: {} ({})",
                    entry["source"].as_str().unwrap_or("browser"),
                    entry["text"].as_str().unwrap_or_default(),
                    entry["url"].as_str().unwrap_or_default()
                ));
            }
            Some("Page.loadEventFired") => self.load_events += 1,
            _ => {}
        }
    }

    /// Opens `url` in the page and waits for its `load` event.
    ///
    /// # Panics
    ///
    /// When the navigation fails or the page does not load in 30 s.
    pub fn goto(&mut self, url: &str) {
        let loaded = self.load_events;
        let result = self.command("Page.navigate", &json!({"url": url}));
        if let Some(error) = result.get("errorText") {
            panic!("cannot open {url}: {error}");
        }
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        while self.load_events == loaded {
            assert!(Instant::now() < deadline, "{url} did not load in 30 s");
            self.receive();
        }
    }

    /// Runs `script` (an expression; a promise is awaited) in the page and
    /// returns its value as JSON.
    ///
    /// # Panics
    ///
    /// When the script throws: the panic names the exception.
    pub fn eval(&mut self, script: &str) -> Value {
        let result = self.command(
            "Runtime.evaluate",
            &json!({"expression": script, "awaitPromise": true, "returnByValue": true}),
        );
        if let Some(details) = result.get("exceptionDetails") {
            panic!("`{script}` threw: {details}");
        }
        result["result"]["value"].clone()
    }

    /// Runs `script` until it returns something other than `null`,
    /// `undefined`, `false` or `""`, at most for `timeout`, and returns that.
    ///
    /// # Panics
    ///
    /// At `timeout`, naming the script, its last value and the page's
    /// errors so far.
    pub fn wait_for(&mut self, script: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let value = self.eval(script);
            if !matches!(&value, Value::Null | Value::Bool(false)) && value.as_str() != Some("") {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "`{script}` still {value} after {timeout:?}; page errors: {:?}",
                self.errors
            );
            // Events arriving while the page works are recorded here.
            self.receive();
        }
    }

    /// Every error the page reported so far: console errors, uncaught
    /// exceptions and the browser's own (policy violations, failed loads).
    #[must_use]
    pub fn errors(&mut self) -> Vec<String> {
        // What is already on the socket counts too.
        while self.receive().is_some() {}
        self.errors.clone()
    }

    /// Writes a PNG screenshot of the page to `path`.
    ///
    /// # Panics
    ///
    /// When the browser gives none or the file cannot be written.
    pub fn screenshot(&mut self, path: &Path) {
        let shot = self.command("Page.captureScreenshot", &json!({"format": "png"}));
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("the screenshot is base64");
        std::fs::write(path, png)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}
