//! A small loopback load generator: N keep-alive HTTP/1.1 connections, each sending one
//! request at a time, bounded by a duration and a request count. Reusable for any URL.

use bytes::Bytes;
pub use http::Method;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// What to send and for how long.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// `http://127.0.0.1:PORT/path?query` (loopback only; plain HTTP).
    pub url: String,
    pub method: Method,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// Requests in flight (one connection each).
    pub concurrency: usize,
    /// Stop after this long...
    pub duration: Duration,
    /// ...or after this many requests, whichever comes first.
    pub max_requests: u64,
}

impl LoadSpec {
    pub fn get(url: impl Into<String>, concurrency: usize, duration: Duration) -> Self {
        Self {
            url: url.into(),
            method: Method::GET,
            headers: Vec::new(),
            body: Bytes::new(),
            concurrency,
            duration,
            max_requests: 1_000_000,
        }
    }
}

/// Latency and throughput of one run.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub requests: u64,
    /// Transport errors (connection refused/reset).
    pub errors: u64,
    /// Responses whose status was not 2xx.
    pub non_2xx: u64,
    pub elapsed: Duration,
    pub requests_per_sec: f64,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        write!(
            f,
            "{} requests in {:.2}s: {:.0} req/s, p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {} non-2xx, {} errors",
            self.requests,
            self.elapsed.as_secs_f64(),
            self.requests_per_sec,
            ms(self.p50),
            ms(self.p90),
            ms(self.p99),
            ms(self.max),
            self.non_2xx,
            self.errors
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("invalid url {0}: expected http://host:port/path")]
    Url(String),
    #[error("cannot connect to {0}: {1}")]
    Connect(String, std::io::Error),
}

/// Runs the load and returns its statistics.
pub async fn run_load(spec: &LoadSpec) -> Result<LoadReport, BenchError> {
    let uri: http::Uri = spec.url.parse().map_err(|_| BenchError::Url(spec.url.clone()))?;
    let authority = uri.authority().ok_or_else(|| BenchError::Url(spec.url.clone()))?.to_string();
    // Fail fast when nothing listens, instead of counting errors for the whole duration.
    TcpStream::connect(&authority).await.map_err(|e| BenchError::Connect(authority.clone(), e))?;
    let spec = Arc::new(spec.clone());
    let issued = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + spec.duration;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..spec.concurrency.max(1) {
        workers.spawn(worker(spec.clone(), authority.clone(), uri.clone(), issued.clone(), deadline));
    }
    let mut all = WorkerStats::default();
    while let Some(stats) = workers.join_next().await {
        if let Ok(stats) = stats {
            all.merge(stats);
        }
    }
    Ok(all.report(start.elapsed()))
}

#[derive(Default)]
struct WorkerStats {
    latencies: Vec<Duration>,
    errors: u64,
    non_2xx: u64,
}

impl WorkerStats {
    fn merge(&mut self, other: WorkerStats) {
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
        self.non_2xx += other.non_2xx;
    }

    fn report(mut self, elapsed: Duration) -> LoadReport {
        self.latencies.sort_unstable();
        let pick = |q: f64| -> Duration {
            if self.latencies.is_empty() {
                return Duration::ZERO;
            }
            let i = ((self.latencies.len() as f64 - 1.0) * q).round() as usize;
            self.latencies[i]
        };
        let requests = self.latencies.len() as u64;
        LoadReport {
            requests,
            errors: self.errors,
            non_2xx: self.non_2xx,
            elapsed,
            requests_per_sec: requests as f64 / elapsed.as_secs_f64().max(1e-9),
            p50: pick(0.50),
            p90: pick(0.90),
            p99: pick(0.99),
            max: self.latencies.last().copied().unwrap_or_default(),
        }
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(authority: &str) -> Option<Sender> {
    let stream = TcpStream::connect(authority).await.ok()?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.ok()?;
    tokio::spawn(conn);
    Some(sender)
}

async fn worker(
    spec: Arc<LoadSpec>,
    authority: String,
    uri: http::Uri,
    issued: Arc<AtomicU64>,
    deadline: Instant,
) -> WorkerStats {
    let mut stats = WorkerStats::default();
    let mut sender: Option<Sender> = None;
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < spec.max_requests {
        if sender.is_none() {
            sender = connect(&authority).await;
        }
        let Some(s) = sender.as_mut() else {
            stats.errors += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let started = Instant::now();
        match send_one(s, &spec, &authority, &path).await {
            Some(ok) => {
                stats.latencies.push(started.elapsed());
                if !ok {
                    stats.non_2xx += 1;
                }
            }
            None => {
                stats.errors += 1;
                sender = None;
            }
        }
    }
    stats
}

/// Sends one request and reads the whole body; `Some(is_2xx)`, or `None` on transport errors.
async fn send_one(sender: &mut Sender, spec: &LoadSpec, authority: &str, path: &str) -> Option<bool> {
    sender.ready().await.ok()?;
    let mut builder = Request::builder().method(spec.method.clone()).uri(path).header("host", authority);
    for (k, v) in &spec.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let request = builder.body(Full::new(spec.body.clone())).ok()?;
    let response = sender.send_request(request).await.ok()?;
    let ok = response.status().is_success();
    response.into_body().collect().await.ok()?;
    Some(ok)
}

/// One request on a fresh connection, whole body read: `(status, headers, body)`.
/// A small client for tests and the benchmark's set-up.
pub async fn fetch(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Result<(http::StatusCode, http::HeaderMap, Bytes), FetchError> {
    let uri: http::Uri = url.parse().map_err(|_| FetchError::Url(url.to_string()))?;
    let authority = uri.authority().ok_or_else(|| FetchError::Url(url.to_string()))?.to_string();
    let stream = TcpStream::connect(&authority).await.map_err(FetchError::Connect)?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(FetchError::Http)?;
    tokio::spawn(conn);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut builder = Request::builder().method(method).uri(path).header("host", authority.as_str());
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let request = builder.body(Full::new(body.into())).map_err(|_| FetchError::Url(url.to_string()))?;
    let response = sender.send_request(request).await.map_err(FetchError::Http)?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(FetchError::Http)?.to_bytes();
    Ok((parts.status, parts.headers, body))
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("invalid url {0}")]
    Url(String),
    #[error("connect: {0}")]
    Connect(std::io::Error),
    #[error("http: {0}")]
    Http(hyper::Error),
}
