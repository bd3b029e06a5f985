//! The test and benchmark tooling of spin-local (none of it is the runtime; the runtime's tests,
//! the end-to-end tests and the benchmarks use it):
//! - a real `redis-server` on a free loopback port ([`redis_server`], [`secure_redis_server`]: the
//!   Redis key-value tests and the scale-out end-to-end tests), [`free_port`], [`wait_for_port`];
//! - [`https`]: an HTTPS server with a throwaway test CA ([`HttpsServer`], [`TestCa`]) for
//!   outbound-HTTPS tests through `[[client_tls]]`;
//! - [`fixtures`]: the fixture guest components (`tests/fixtures`), built for `wasm32-wasip2`;
//! - [`process`]: `spin-local up` (or `spin up`) as a child process, and what it costs;
//! - [`bench`]: a load generator, and the `spin-local-bench` binary that uses it.

#![allow(
    clippy::panic,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "test support: a set-up that cannot work fails the test, loudly"
)]

pub mod bench;
pub mod fixtures;
pub mod https;
pub mod process;

pub use https::{HttpsServer, HttpsServerBuilder, Issued, TestCa, TestRequest, TestResponse};

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` on a free loopback port with a temp dir, killed on drop.
pub struct RedisServer {
    child: Child,
    /// `redis://127.0.0.1:<port>`
    pub url: String,
    port: u16,
    binary: PathBuf,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Stops the server the way an operator restarting it would: `SHUTDOWN SAVE` (its data goes
    /// to a snapshot in its dir), then waits until the process is gone. Connections to it close.
    pub fn stop(&mut self) {
        use std::io::Write;
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = stream.write_all(b"*2\r\n$8\r\nSHUTDOWN\r\n$4\r\nSAVE\r\n");
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while !matches!(self.child.try_wait(), Ok(Some(_))) {
            assert!(Instant::now() < deadline, "redis-server on port {} did not shut down", self.port);
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Starts the server again after [`RedisServer::stop`], on the same port with the same data.
    pub fn start_again(&mut self) {
        let child = spawn_redis(&self.binary, self.port, self.dir.path());
        let started = Instant::now();
        self.child = child;
        while redis_pid(self.port) != Some(self.child.id()) {
            assert!(started.elapsed() < Duration::from_secs(10), "redis-server did not come back on {}", self.port);
            assert!(!matches!(self.child.try_wait(), Ok(Some(_))), "redis-server could not take port {}", self.port);
            std::thread::sleep(Duration::from_millis(10));
        }
    }
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
    let binary = redis_binary()?;
    // Another process may take the free port before redis-server binds it (several test
    // processes run at once): then ours exits, and we try another port.
    for _ in 0..5 {
        if let Some(server) = start_redis(&binary) {
            return Some(server);
        }
    }
    panic!("redis-server did not start on any of 5 free ports");
}

/// The installed redis-server, or `None` after a loud message (under CI: a failed test).
fn redis_binary() -> Option<PathBuf> {
    let binary = find_in_path("redis-server");
    if binary.is_none() {
        let msg = "redis-server is not installed (Debian: apt-get install redis-server)";
        if std::env::var_os("CI").is_some() {
            panic!("{msg}: the Redis tests cannot run");
        }
        eprintln!("\n!!!!! SKIPPING the Redis test: {msg} !!!!!\n");
    }
    binary
}

/// One attempt: `None` when the redis-server answering on the port is not the one started here.
fn start_redis(binary: &std::path::Path) -> Option<RedisServer> {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let child = spawn_redis(binary, port, dir.path());
    let url = format!("redis://127.0.0.1:{port}");
    let mut server = RedisServer { child, url, port, binary: binary.to_path_buf(), dir };
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

/// A `redis-server` that speaks TLS only (`rediss://localhost:<port>`, a certificate for
/// `localhost` from a throwaway CA in `ca_file`) and lets in one user with a password and the
/// README's ACL (reads, writes, transactions, connection commands; the default user is off):
/// Redis as the README tells operators to run it. Killed on drop.
pub struct SecureRedisServer {
    child: Child,
    pub port: u16,
    /// The CA certificate (PEM) that signed the server's certificate.
    pub ca_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for SecureRedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a [`SecureRedisServer`] for `user` / `password`, or `None` when redis-server is not
/// installed (as [`redis_server`]).
pub fn secure_redis_server(user: &str, password: &str) -> Option<SecureRedisServer> {
    let binary = redis_binary()?;
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = TestCa::new();
    let issued = ca.server_certificate(&["localhost"]);
    let file = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write a TLS file");
        path
    };
    let (cert, key, ca_file) =
        (file("cert.pem", &issued.cert_pem), file("key.pem", &issued.key_pem), file("ca.pem", ca.ca_pem()));
    let port = free_port();
    let config = format!(
        "bind 127.0.0.1\nport 0\ntls-port {port}\ntls-cert-file {}\ntls-key-file {}\ntls-ca-cert-file {}\n\
         tls-auth-clients no\nsave \"\"\nappendonly no\ndir {}\nuser default off\n\
         user {user} on >{password} ~* resetchannels -@all +@read +@write +@transaction +@connection\n",
        cert.display(),
        key.display(),
        ca_file.display(),
        dir.path().display()
    );
    let config_file = file("redis.conf", &config);
    let mut child = Command::new(binary)
        .arg(&config_file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server starts");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(!matches!(child.try_wait(), Ok(Some(_))), "redis-server with TLS exited (port {port} taken?)");
        assert!(started.elapsed() < Duration::from_secs(10), "redis-server with TLS did not listen on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(SecureRedisServer { child, port, ca_file, _dir: dir })
}

/// redis-server on loopback `port`, its data in `dir`, saving only when told (`SHUTDOWN SAVE`).
fn spawn_redis(binary: &std::path::Path, port: u16, dir: &std::path::Path) -> Child {
    Command::new(binary)
        .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server starts")
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
