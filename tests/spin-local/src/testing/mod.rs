//! Test support: a real `redis-server` on a free loopback port (the Redis key-value tests of this
//! crate and the scale-out end-to-end tests), and an HTTPS server with a throwaway test CA
//! ([`HttpsServer`], [`TestCa`]) for outbound-HTTPS tests through `[[client_tls]]`.

#![allow(
    clippy::panic,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "test support: a set-up that cannot work fails the test, loudly"
)]

mod https;

pub use https::{HttpsServer, HttpsServerBuilder, Issued, TestCa, TestRequest, TestResponse};

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` on a free loopback port with a temp dir, killed on drop.
pub struct RedisServer {
    child: Child,
    /// `redis://127.0.0.1:<port>`
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts redis-server, or `None` (after a loud message) when it is not installed. Under CI
/// (env `CI` set) a missing redis-server fails the test instead.
pub fn redis_server() -> Option<RedisServer> {
    let Some(binary) = find_in_path("redis-server") else {
        let msg = "redis-server is not installed (Debian: apt-get install redis-server)";
        if std::env::var_os("CI").is_some() {
            panic!("{msg}: the Redis tests cannot run");
        }
        eprintln!("\n!!!!! SKIPPING the Redis test: {msg} !!!!!\n");
        return None;
    };
    // Another process may take the free port before redis-server binds it (several test
    // processes run at once): then ours exits, and we try another port.
    for _ in 0..5 {
        if let Some(server) = start_redis(&binary) {
            return Some(server);
        }
    }
    panic!("redis-server did not start on any of 5 free ports");
}

/// One attempt: `None` when the redis-server answering on the port is not the one started here.
fn start_redis(binary: &std::path::Path) -> Option<RedisServer> {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let child = Command::new(binary)
        .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server starts");
    let mut server = RedisServer { child, url: format!("redis://127.0.0.1:{port}"), _dir: dir };
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if matches!(server.child.try_wait(), Ok(Some(_))) {
            return None;
        }
        if redis_pid(port) == Some(server.child.id()) {
            return Some(server);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("redis-server on port {port} did not answer within 10 s");
}

/// The `process_id` of the Redis answering on loopback `port` (`INFO server`), if any.
fn redis_pid(port: u16) -> Option<u32> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    stream.write_all(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n").ok()?;
    let mut reply = Vec::new();
    let mut chunk = [0u8; 4096];
    while !String::from_utf8_lossy(&reply).contains("process_id:") || !reply.ends_with(b"\r\n") {
        let n = stream.read(&mut chunk).ok().filter(|n| *n > 0)?;
        reply.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&reply);
    text.lines().find_map(|l| l.strip_prefix("process_id:")).and_then(|pid| pid.trim().parse().ok())
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port()
}

/// Waits until something accepts connections on loopback `port`; panics after `limit`.
pub fn wait_for_port(port: u16, limit: Duration) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("nothing listens on port {port} after {limit:?}");
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
