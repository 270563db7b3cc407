//! A load generator for the demo service: `cargo xtask bench` runs it (not a
//! test). It starts the service binary given as the first argument on free
//! loopback ports, drives `GET /quote/{symbol}` from keep-alive connections
//! for a while, probes `GET /health/ready` meanwhile, stops the service with
//! SIGTERM, and writes a Markdown section with requests per second and
//! latency percentiles to the path given as the second argument.
//!
//! ```sh
//! cargo build --release -p pr-facade --examples
//! target/release/examples/load target/release/examples/service target/load.md
//! ```
//!
//! Settings (environment): `LOAD_CONNECTIONS` (8), `LOAD_SECONDS` (10),
//! `LOAD_WARMUP_SECONDS` (2), `LOAD_SYMBOLS` (10000).

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// One keep-alive HTTP/1.1 connection.
struct Connection {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Connection {
    fn open(addr: &str) -> std::io::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Self {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        })
    }

    /// Sends `GET path` and reads the whole answer; its status.
    fn get(&mut self, path: &str) -> std::io::Result<u16> {
        write!(self.writer, "GET {path} HTTP/1.1\r\nHost: load\r\n\r\n")?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let mut length = 0usize;
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok(status)
    }
}

/// Latencies in microseconds and the count of non-2xx answers.
#[derive(Default)]
struct Samples {
    micros: Vec<u32>,
    errors: u64,
}

impl Samples {
    fn merge(&mut self, other: Self) {
        self.micros.extend(other.micros);
        self.errors += other.errors;
    }

    fn percentile(sorted: &[u32], p: f64) -> f64 {
        if sorted.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
    }

    fn row(&mut self, name: &str, seconds: f64) -> String {
        self.micros.sort_unstable();
        let n = self.micros.len();
        format!(
            "| {name} | {n} | {:.0} | {:.2} | {:.2} | {:.2} | {} |\n",
            n as f64 / seconds,
            Self::percentile(&self.micros, 50.0),
            Self::percentile(&self.micros, 99.0),
            self.micros.last().map_or(0.0, |m| f64::from(*m) / 1000.0),
            self.errors
        )
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The service, stopped with SIGTERM (then killed) when dropped.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The load's settings, from `LOAD_*` variables.
#[derive(Clone, Copy)]
struct Load {
    connections: u64,
    seconds: u64,
    warmup: u64,
    symbols: u64,
}

/// One run of the service (`stack`: with pr-http's stack around its API, or without): the API's
/// samples, the readiness probe's, and the seconds measured.
fn measure(service: &str, load: Load, stack: bool) -> Result<(Samples, Samples, f64), String> {
    let Load {
        connections,
        seconds,
        warmup,
        symbols,
    } = load;
    let io = |e: std::io::Error| e.to_string();
    let (api_port, ops_port) = (free_port().map_err(io)?, free_port().map_err(io)?);
    let dir = std::env::temp_dir().join(format!("pr-load-{}-{stack}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(io)?;
    let api = format!("127.0.0.1:{api_port}");
    let ops = format!("127.0.0.1:{ops_port}");
    let binary = std::fs::canonicalize(service).map_err(|e| format!("{service}: {e}"))?;
    let _service = Service(
        Command::new(&binary)
            .current_dir(&dir)
            .env("APP__API__ADDR", &api)
            .env("APP__OPS__ADDR", &ops)
            .env("APP__DEPENDENCY__FAILURE_RATE", "0.05")
            .env("APP__DEPENDENCY__MIN_LATENCY", "0ms")
            .env("APP__DEPENDENCY__MAX_LATENCY", "2ms")
            .env("APP__CACHE__TIME_TO_LIVE", "1s")
            // Every request passes the per-client limiter, which never refuses here.
            .env("APP__HTTP__RATE_LIMIT__PERMITS", "1000000000")
            .env("APP__HTTP__RATE_LIMIT__BURST", "1000000000")
            .env("APP__LOGGING__CONSOLE__ENABLED", "false")
            .env("APP__HTTP__ENABLED", if stack { "true" } else { "false" })
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {service}: {e}"))?,
    );

    // Ready?
    let started = Instant::now();
    loop {
        if let Ok(200) = Connection::open(&ops).and_then(|mut c| c.get("/health/ready")) {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            return Err("the service did not become ready".to_owned());
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for worker in 0..connections {
        let (api, measuring, stop) = (api.clone(), Arc::clone(&measuring), Arc::clone(&stop));
        workers.push(std::thread::spawn(move || -> Result<Samples, String> {
            let mut conn = Connection::open(&api).map_err(|e| e.to_string())?;
            let mut samples = Samples::default();
            let mut x = 0x9E37_79B9_7F4A_7C15_u64 ^ (worker + 1);
            while !stop.load(Ordering::Relaxed) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let path = format!("/quote/S{}", x % symbols);
                let t = Instant::now();
                let status = match conn.get(&path) {
                    Ok(status) => status,
                    Err(_) => {
                        conn = Connection::open(&api).map_err(|e| e.to_string())?;
                        0
                    }
                };
                if measuring.load(Ordering::Relaxed) {
                    samples
                        .micros
                        .push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                    if !(200..300).contains(&status) {
                        samples.errors += 1;
                    }
                }
            }
            Ok(samples)
        }));
    }
    let prober = {
        let (ops, measuring, stop) = (ops.clone(), Arc::clone(&measuring), Arc::clone(&stop));
        std::thread::spawn(move || -> Result<Samples, String> {
            let mut conn = Connection::open(&ops).map_err(|e| e.to_string())?;
            let mut samples = Samples::default();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let status = conn.get("/health/ready").map_err(|e| e.to_string())?;
                if measuring.load(Ordering::Relaxed) {
                    samples
                        .micros
                        .push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                    if status != 200 {
                        samples.errors += 1;
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok(samples)
        })
    };
    std::thread::sleep(Duration::from_secs(warmup));
    measuring.store(true, Ordering::Relaxed);
    let window = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    measuring.store(false, Ordering::Relaxed);
    let measured = window.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);

    let mut api_samples = Samples::default();
    for worker in workers {
        api_samples.merge(worker.join().map_err(|_| "a worker panicked")??);
    }
    let ready = prober.join().map_err(|_| "the prober panicked")??;

    let _ = std::fs::remove_dir_all(&dir);
    Ok((api_samples, ready, measured))
}

fn run(service: &str, out: &PathBuf) -> Result<(), String> {
    let load = Load {
        connections: env_u64("LOAD_CONNECTIONS", 8),
        seconds: env_u64("LOAD_SECONDS", 10),
        warmup: env_u64("LOAD_WARMUP_SECONDS", 2),
        symbols: env_u64("LOAD_SYMBOLS", 10_000).max(1),
    };
    let (mut api_samples, mut ready, measured) = measure(service, load, true)?;
    let (mut bare, _, bare_measured) = measure(service, load, false)?;
    let mut md = String::from("## The demo service under load\n\n");
    let _ = write!(
        md,
        "`cargo xtask bench` also builds the demo service (`examples/service/`) in release mode and \
         drives it with `examples/load.rs` from loopback: {} keep-alive connections ask \
         `GET /quote/S<n>` for random symbols among {} as fast as they can for {} s \
         (after {} s of warm-up), through the per-request drain guard and pr-http's stack (request id, trace context, access \
         log, metrics, limits), the \
         per-client rate limiter (a quota high enough never to refuse), a cache with a 1 s TTL, and, on a miss, the standard resilience pipeline (total timeout, retry, \
         circuit breaker, attempt timeout) around a simulated dependency that takes 0-2 ms and \
         fails 5 % of the time (so some answers are 502 after retries, counted as non-2xx). \
         Meanwhile `GET /health/ready` is probed every 50 ms on the ops port. A second run serves \
         the same API without pr-http's stack (`http.enabled = false`: no request ids, access log, \
         metrics, limits or rate limiter), to show what the stack costs under load. The client and the \
         service share the machine's cores, so the figures are a floor, not a capacity.\n\n",
        load.connections, load.symbols, load.seconds, load.warmup
    );
    md.push_str(
        "| endpoint | requests | requests/s | p50 (ms) | p99 (ms) | max (ms) | non-2xx |\n",
    );
    md.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    md.push_str(&api_samples.row("`GET /quote/{symbol}` (full pipeline)", measured));
    md.push_str(&bare.row(
        "the same with pr-http's stack off (`http.enabled = false`)",
        bare_measured,
    ));
    md.push_str(&ready.row("`GET /health/ready` during that load", measured));
    std::fs::write(out, &md).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    report(&md);
    Ok(())
}

#[expect(
    clippy::print_stdout,
    reason = "the load generator reports what it measured"
)]
fn report(md: &str) {
    print!("{md}");
}

#[expect(clippy::print_stderr, reason = "the load generator says why it failed")]
fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(service), Some(out)) = (args.next(), args.next()) else {
        eprintln!("usage: load <service binary> <output.md>");
        return ExitCode::from(2);
    };
    match run(&service, &PathBuf::from(out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("load: {e}");
            ExitCode::FAILURE
        }
    }
}
