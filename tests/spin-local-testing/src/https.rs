//! An HTTPS server for tests, with a throwaway certificate authority.
//!
//! The app under test reaches it only if the runtime config trusts the test CA, exactly as with
//! real Spin:
//!
//! ```no_run
//! use spin_local_testing::{HttpsServer, TestResponse};
//! let server = HttpsServer::start(|request| match request.path.as_str() {
//!     "/client.json" => TestResponse::json(r#"{"client_id":"..."}"#).header("cache-control", "max-age=60"),
//!     "/slow" => TestResponse::json("{}").delay(std::time::Duration::from_secs(5)),
//!     "/drip" => TestResponse::json("{}").trickle(std::time::Duration::from_secs(1)),
//!     "/moved" => TestResponse::redirect(302, "https://localhost/elsewhere"),
//!     _ => TestResponse::new(404),
//! });
//! let runtime_config = format!(
//!     "[[client_tls]]\ncomponent_ids = [\"oauth-provider\"]\nhosts = [\"localhost\"]\nca_roots_file = \"{}\"\n",
//!     server.ca_file().display(),
//! );
//! let url = server.url("/client.json"); // https://localhost:<port>/client.json
//! // ... run the app with that runtime config and `allowed_outbound_hosts` covering the URL ...
//! assert_eq!(server.request_count(), 0);
//! # drop((runtime_config, url));
//! ```
//!
//! The server listens on 127.0.0.1 (a free port) and its certificate names `localhost`,
//! `127.0.0.1` and `::1`. The handler runs for every request and may keep state of its own (an
//! `Arc<Mutex<..>>` captured by the closure) to change its answers during a test. The server
//! runs on its own thread, so it works from blocking and async tests alike, and stops on drop.

use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

/// A throwaway certificate authority: issues server and client certificates.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    ca_pem: String,
}

/// A certificate issued by a [`TestCa`] and its private key, both PEM.
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

impl TestCa {
    pub fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "spin-local test CA");
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate().expect("CA key");
        let ca_pem = params.self_signed(&key).expect("self-signed CA").pem();
        Self { issuer: Issuer::new(params, key), ca_pem }
    }

    /// The CA certificate, PEM: what `[[client_tls]] ca_roots_file` must contain.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A server certificate for `names` (host names or IP addresses).
    pub fn server_certificate(&self, names: &[&str]) -> Issued {
        self.issue(names, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate (for `[[client_tls]] client_cert_file` / `client_private_key_file`).
    pub fn client_certificate(&self, name: &str) -> Issued {
        self.issue(&[name], ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn issue(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> Issued {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("certificate names");
        params.distinguished_name.push(DnType::CommonName, names.first().cloned().unwrap_or_default());
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().expect("certificate key");
        let cert = params.signed_by(&key, &self.issuer).expect("signed certificate");
        Issued { cert_pem: cert.pem(), key_pem: key.serialize_pem() }
    }
}

/// A request as the handler sees it.
#[derive(Debug, Clone)]
pub struct TestRequest {
    pub method: String,
    /// Path and query, e.g. `/client.json?x=1`.
    pub path: String,
    /// Names in lowercase.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl TestRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// What the server answers.
#[derive(Debug, Clone)]
pub struct TestResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// How long to wait before sending the response head.
    pub delay: Duration,
    /// If set, the body is sent one byte at a time, this long apart (after the head).
    pub trickle: Option<Duration>,
}

impl TestResponse {
    /// `status` with an empty body.
    pub fn new(status: u16) -> Self {
        Self { status, headers: Vec::new(), body: Vec::new(), delay: Duration::ZERO, trickle: None }
    }

    /// 200 with `content-type: application/json`.
    pub fn json(body: impl Into<Vec<u8>>) -> Self {
        Self::new(200).header("content-type", "application/json").body(body)
    }

    /// A redirect (`status` 301, 302, 303, 307 or 308) to `location`.
    pub fn redirect(status: u16, location: &str) -> Self {
        Self::new(status).header("location", location)
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Waits this long before answering (for timeout tests).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Sends the head at once, then the body one byte every `interval` (a server that keeps a
    /// client waiting while it never quite stops sending).
    pub fn trickle(mut self, interval: Duration) -> Self {
        self.trickle = Some(interval);
        self
    }
}

/// A body sent one byte at a time, `interval` apart.
struct Trickle {
    rest: Bytes,
    interval: Duration,
    wait: Pin<Box<tokio::time::Sleep>>,
}

impl Trickle {
    fn new(body: Vec<u8>, interval: Duration) -> Self {
        Self { rest: Bytes::from(body), interval, wait: Box::pin(tokio::time::sleep(interval)) }
    }
}

impl hyper::body::Body for Trickle {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.rest.is_empty() {
            return Poll::Ready(None);
        }
        if self.wait.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        let next = tokio::time::Instant::now() + self.interval;
        self.wait.as_mut().reset(next);
        let byte = self.rest.split_to(1);
        Poll::Ready(Some(Ok(Frame::data(byte))))
    }
}

type Handler = Arc<dyn Fn(&TestRequest) -> TestResponse + Send + Sync>;

/// Options for [`HttpsServer`].
#[derive(Default)]
pub struct HttpsServerBuilder {
    require_client_cert: bool,
}

impl HttpsServerBuilder {
    /// Refuse TLS clients without a certificate from the server's CA (mutual TLS); see
    /// [`HttpsServer::client_cert_files`].
    pub fn require_client_cert(mut self) -> Self {
        self.require_client_cert = true;
        self
    }

    pub fn start(self, handler: impl Fn(&TestRequest) -> TestResponse + Send + Sync + 'static) -> HttpsServer {
        HttpsServer::spawn(self, Arc::new(handler))
    }
}

/// An HTTPS server on a free loopback port, with a certificate from its own [`TestCa`]; counts
/// the requests it answered. Stops when dropped.
pub struct HttpsServer {
    addr: SocketAddr,
    dir: tempfile::TempDir,
    ca: TestCa,
    requests: Arc<AtomicUsize>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HttpsServer {
    /// Starts a server answering every request with `handler`.
    pub fn start(handler: impl Fn(&TestRequest) -> TestResponse + Send + Sync + 'static) -> Self {
        Self::builder().start(handler)
    }

    pub fn builder() -> HttpsServerBuilder {
        HttpsServerBuilder::default()
    }

    fn spawn(options: HttpsServerBuilder, handler: Handler) -> Self {
        let ca = TestCa::new();
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("ca.pem"), ca.ca_pem()).expect("write the CA file");
        let tls = Arc::new(server_tls(&ca, options.require_client_cert));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let requests = Arc::new(AtomicUsize::new(0));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let counter = requests.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
            runtime.block_on(serve(listener, tls, handler, counter, stopped));
        });
        Self { addr, dir, ca, requests, stop: Some(stop), thread: Some(thread) }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `https://localhost:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port())
    }

    /// The CA certificate file (PEM), for `[[client_tls]] ca_roots_file`.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub fn ca(&self) -> &TestCa {
        &self.ca
    }

    /// Writes a client certificate from the server's CA: `(cert file, key file)`, for
    /// `client_cert_file` / `client_private_key_file`.
    pub fn client_cert_files(&self) -> (PathBuf, PathBuf) {
        let issued = self.ca.client_certificate("spin-local test client");
        let (cert, key) = (self.dir.path().join("client.pem"), self.dir.path().join("client-key.pem"));
        std::fs::write(&cert, issued.cert_pem).expect("write the client certificate");
        std::fs::write(&key, issued.key_pem).expect("write the client key");
        (cert, key)
    }

    /// How many requests were answered (handler called) so far.
    pub fn request_count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// A directory that lives as long as the server (e.g. for a runtime-config file).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn server_tls(ca: &TestCa, require_client_cert: bool) -> rustls::ServerConfig {
    let issued = ca.server_certificate(&["localhost", "127.0.0.1", "::1"]);
    let chain = vec![CertificateDer::from_pem_slice(issued.cert_pem.as_bytes()).expect("server certificate")];
    let key = PrivateKeyDer::from_pem_slice(issued.key_pem.as_bytes()).expect("server key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("TLS versions");
    let builder = if require_client_cert {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from_pem_slice(ca.ca_pem().as_bytes()).expect("CA")).expect("CA as a root");
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .expect("client verifier");
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let mut config = builder.with_single_cert(chain, key).expect("server certificate and key");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

async fn serve(
    listener: std::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    handler: Handler,
    requests: Arc<AtomicUsize>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let stream = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        let (acceptor, handler, requests) = (acceptor.clone(), handler.clone(), requests.clone());
        tokio::spawn(async move {
            // A client that refuses our certificate ends here, as it should.
            let Ok(stream) = acceptor.accept(stream).await else { return };
            let service = hyper::service::service_fn(move |request| answer(request, handler.clone(), requests.clone()));
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

async fn answer(
    request: http::Request<hyper::body::Incoming>,
    handler: Handler,
    requests: Arc<AtomicUsize>,
) -> Result<http::Response<Either<Full<Bytes>, Trickle>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
    let request = TestRequest {
        method: parts.method.to_string(),
        path: parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        body,
    };
    requests.fetch_add(1, Ordering::SeqCst);
    let reply = handler(&request);
    tokio::time::sleep(reply.delay).await;
    let body = match reply.trickle {
        Some(interval) => Either::Right(Trickle::new(reply.body, interval)),
        None => Either::Left(Full::new(Bytes::from(reply.body))),
    };
    let mut response = http::Response::new(body);
    *response.status_mut() =
        http::StatusCode::from_u16(reply.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in reply.headers {
        if let (Ok(name), Ok(value)) =
            (http::HeaderName::from_bytes(name.as_bytes()), http::HeaderValue::from_str(&value))
        {
            response.headers_mut().append(name, value);
        }
    }
    Ok(response)
}
