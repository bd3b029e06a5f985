//! Test support: a real `redis-server` on a free loopback port, for the Redis key-value tests of
//! this crate and the scale-out end-to-end tests.

#![allow(
    clippy::panic,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "test support: a set-up that cannot work fails the test, loudly"
)]

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
    let server = RedisServer { child, url: format!("redis://127.0.0.1:{port}"), _dir: dir };
    wait_for_port(port, Duration::from_secs(10));
    Some(server)
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
