//! Sending one outbound request: an idle pooled connection to the origin if there is one (see
//! [`super::pool`]), else resolve, drop blocked addresses, connect (TCP, then TLS for https) and
//! HTTP/1.1 handshake; then send, and time the response, with the `wasi:http` error codes Spin
//! gives the guest for each failure.

use super::ComponentNetwork;
use super::pool::Sender;
use bytes::Bytes;
use http::uri::Scheme;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use rustls::pki_types::ServerName;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::{Sleep, timeout};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

/// Spin's timeout for each of connect, first byte and between bytes, unless the guest sets one.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// Resolves once the connection is done (what `WasiHttpHooks::send_request` returns with the
/// response).
pub type ConnectionDone = Box<dyn Future<Output = Result<(), Error>> + Send>;

/// The byte stream under HTTP: plain TCP or TLS over it.
trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// Where a request goes.
struct Target {
    tls: bool,
    /// As in the URI: a name, an IPv4 address, or a bracketed IPv6 address.
    host: String,
    port: u16,
}

impl Target {
    fn of(uri: &http::Uri) -> Result<Self, Error> {
        let tls = uri.scheme() == Some(&Scheme::HTTPS);
        let authority = uri.authority().ok_or(Error::HttpRequestUriInvalid)?;
        let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
        Ok(Self { tls, host: authority.host().to_string(), port })
    }

    /// The pool's key for connections to this target.
    fn origin(&self) -> super::pool::Origin {
        (self.tls, self.host.clone(), self.port)
    }

    /// The `Host` header hyper-util's client (Spin's) writes: the port only when not the default.
    fn host_header(&self) -> String {
        let default_port = if self.tls { 443 } else { 80 };
        if self.port == default_port { self.host.clone() } else { format!("{}:{}", self.host, self.port) }
    }
}

struct Timeouts {
    connect: Duration,
    first_byte: Duration,
    between_bytes: Duration,
}

impl Timeouts {
    fn from(options: Option<RequestOptions>) -> Self {
        let options = options.unwrap_or_default();
        Self {
            connect: options.connect_timeout.unwrap_or(DEFAULT_TIMEOUT),
            first_byte: options.first_byte_timeout.unwrap_or(DEFAULT_TIMEOUT),
            between_bytes: options.between_bytes_timeout.unwrap_or(DEFAULT_TIMEOUT),
        }
    }
}

/// Sends `request` (absolute URI, already allowed by `allowed_outbound_hosts`) for `network`'s
/// component. As in Spin the first-byte timeout covers everything up to the response head,
/// connecting included, and the between-bytes timeout each wait for more of the body.
pub async fn send(
    network: &ComponentNetwork,
    mut request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> Result<(http::Response<WasiBody>, ConnectionDone), Error> {
    let timeouts = Timeouts::from(options);
    let target = Target::of(request.uri())?;
    to_origin_form(&mut request, &target)?;
    let exchange = async {
        let request = match network.pool.take(&target.origin()).await {
            Some(sender) => match reuse(sender, request).await? {
                Reused::Answered(response, sender) => return Ok((response, sender)),
                Reused::Closed(request) => request,
            },
            None => request,
        };
        let stream = connect(network, &target, timeouts.connect).await?;
        exchange(stream, request).await
    };
    let (response, sender) =
        timeout(timeouts.first_byte, exchange).await.map_err(|_| Error::ConnectionReadTimeout)??;
    let back_to_pool = ReturnToPool { pool: network.pool.clone(), origin: target.origin(), sender };
    let response = response.map(|body| BetweenBytes::new(body, timeouts.between_bytes, back_to_pool).boxed_unsync());
    // The connection runs on its own task (see `exchange`): nothing is left to wait for here.
    let done: ConnectionDone = Box::new(async { Ok(()) });
    Ok((response, done))
}

/// What sending on a pooled connection came to.
enum Reused {
    Answered(http::Response<Incoming>, Sender),
    /// The connection closed before the request went out: it goes on a new one, as hyper-util
    /// retries such a request.
    Closed(http::Request<WasiBody>),
}

async fn reuse(mut sender: Sender, request: http::Request<WasiBody>) -> Result<Reused, Error> {
    match sender.try_send_request(request).await {
        Ok(response) => Ok(Reused::Answered(response, sender)),
        Err(mut failed) => match failed.take_message() {
            Some(request) => Ok(Reused::Closed(request)),
            None => Err(protocol_error(failed.into_error())),
        },
    }
}

/// The request line names only the path (the URI carries scheme and authority until here); the
/// guest's `Host` header is replaced by the URI's authority, as Spin does.
fn to_origin_form(request: &mut http::Request<WasiBody>, target: &Target) -> Result<(), Error> {
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_string();
    *request.uri_mut() = path.parse().map_err(|_| Error::HttpRequestUriInvalid)?;
    let host = http::HeaderValue::from_str(&target.host_header()).map_err(|_| Error::HttpRequestUriInvalid)?;
    request.headers_mut().insert(http::header::HOST, host);
    Ok(())
}

/// DNS, the block check on every resolved address, TCP within the connect timeout, then TLS.
async fn connect(
    network: &ComponentNetwork,
    target: &Target,
    connect_timeout: Duration,
) -> Result<Box<dyn Stream>, Error> {
    let addrs = resolve(target).await?;
    let addrs = allowed_addresses(network, target, addrs)?;
    let tcp = match timeout(connect_timeout, TcpStream::connect(addrs.as_slice())).await {
        Err(_) => return Err(Error::ConnectionTimeout),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::AddrNotAvailable => {
            return Err(dns_error("address not available"));
        }
        Ok(Err(_)) => return Err(Error::ConnectionRefused),
        Ok(Ok(tcp)) => tcp,
    };
    if !target.tls {
        return Ok(Box::new(tcp));
    }
    let config = network.tls.config_for(&target.host).map_err(|e| Error::InternalError(Some(e)))?;
    // The host as in the URI: an IPv6 literal keeps its brackets and is no valid name (as in Spin).
    let name = ServerName::try_from(target.host.clone()).map_err(|_| dns_error("invalid dns name"))?;
    let tls = tokio_rustls::TlsConnector::from(config).connect(name, tcp).await.map_err(|e| {
        eprintln!("spin-local: component `{}`: TLS with {}: {e}", network.component_id, target.host);
        Error::TlsProtocolError
    })?;
    Ok(Box::new(tls))
}

async fn resolve(target: &Target) -> Result<Vec<SocketAddr>, Error> {
    let host_port = format!("{}:{}", target.host, target.port);
    let addrs = tokio::net::lookup_host(&host_port).await.map_err(|_| dns_error("address not available"))?;
    Ok(addrs.collect())
}

/// Drops blocked addresses; when every resolved address is blocked: `destination-ip-prohibited`.
fn allowed_addresses(
    network: &ComponentNetwork,
    target: &Target,
    mut addrs: Vec<SocketAddr>,
) -> Result<Vec<SocketAddr>, Error> {
    let blocked = network.blocked.remove_blocked(&mut addrs);
    if addrs.is_empty() && !blocked.is_empty() {
        eprintln!(
            "spin-local: component `{}`: every address of {} ({blocked:?}) is blocked by the runtime config's \
             [outbound_networking] block_networks",
            network.component_id, target.host
        );
        return Err(Error::DestinationIpProhibited);
    }
    Ok(addrs)
}

fn dns_error(rcode: &str) -> Error {
    Error::DnsError { rcode: Some(rcode.to_string()), info_code: Some(0) }
}

/// HTTP/1.1 over a new connection on `stream`: the response head, and the connection's sending
/// half. The connection runs on a task of its own, as hyper-util runs its pooled connections,
/// for as long as anyone holds that half (the pool, between requests): it ends when the half is
/// dropped, and when a request's future is dropped before its answer (a timeout), hyper closes
/// the connection.
async fn exchange(
    stream: Box<dyn Stream>,
    request: http::Request<WasiBody>,
) -> Result<(http::Response<Incoming>, Sender), Error> {
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(protocol_error)?;
    tokio::spawn(connection);
    let response = sender.send_request(request).await.map_err(protocol_error)?;
    Ok((response, sender))
}

/// Spin answers any hyper failure with `HTTP-protocol-error`.
fn protocol_error(e: hyper::Error) -> Error {
    eprintln!("spin-local: outbound HTTP: {e}");
    Error::HttpProtocolError
}

/// Where a connection goes once its response body was read to the end.
struct ReturnToPool {
    pool: super::ConnectionPool,
    origin: super::pool::Origin,
    sender: Sender,
}

impl ReturnToPool {
    fn now(self) {
        self.pool.put(self.origin, self.sender);
    }
}

/// A response body that fails with `connection-read-timeout` when the next frame takes longer
/// than `limit`, and then lets go of the connection; read to its end, it hands the connection
/// back to the pool. (A body dropped before its end takes the connection with it.)
struct BetweenBytes {
    body: Option<Incoming>,
    limit: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
    connection: Option<ReturnToPool>,
}

impl BetweenBytes {
    fn new(body: Incoming, limit: Duration, connection: ReturnToPool) -> Self {
        let mut body = Self { body: Some(body), limit, sleep: None, connection: Some(connection) };
        // An empty body (`content-length: 0`) has ended already, whether or not it is read.
        body.give_back_connection_if_ended();
        body
    }

    fn give_back_connection_if_ended(&mut self) {
        if self.body.as_ref().is_some_and(Body::is_end_stream)
            && let Some(connection) = self.connection.take()
        {
            connection.now();
        }
    }
}

impl Body for BetweenBytes {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = &mut *self;
        let Some(body) = this.body.as_mut() else {
            return Poll::Ready(None);
        };
        if let Poll::Ready(frame) = Pin::new(body).poll_frame(cx) {
            this.sleep = None;
            match (&frame, this.connection.take()) {
                (None, Some(connection)) => connection.now(),
                (_, connection) => {
                    this.connection = connection;
                    this.give_back_connection_if_ended();
                }
            }
            return Poll::Ready(frame.map(|f| f.map_err(protocol_error)));
        }
        let limit = this.limit;
        let sleep = this.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        ready!(sleep.as_mut().poll(cx));
        this.body = None;
        Poll::Ready(Some(Err(Error::ConnectionReadTimeout)))
    }

    fn is_end_stream(&self) -> bool {
        self.body.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.body.as_ref().map(Body::size_hint).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::{AppNetwork, ClientTls};
    use crate::runtime_config::OutboundNetworking;
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    use spin_local_testing::{HttpsServer, TestResponse};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A component whose `[[client_tls]]` trusts `server`'s test CA for `localhost`.
    fn trusting(server: &HttpsServer) -> ComponentNetwork {
        let ca = CertificateDer::from_pem_slice(server.ca().ca_pem().as_bytes()).expect("CA");
        let client_tls = vec![ClientTls {
            component_ids: vec!["c".into()],
            hosts: vec!["localhost".into()],
            use_platform_roots: false,
            use_webpki_roots: false,
            root_certificates: vec![ca],
            client_cert: None,
        }];
        AppNetwork::new(OutboundNetworking { client_tls, ..Default::default() }).expect("valid").for_component("c")
    }

    fn get(url: &str) -> http::Request<WasiBody> {
        let body = http_body_util::Empty::<Bytes>::new().map_err(Error::from).boxed_unsync();
        http::Request::get(url).body(body).expect("request")
    }

    fn waiting_at_most(first_byte: Duration, between_bytes: Duration) -> Option<RequestOptions> {
        Some(RequestOptions {
            first_byte_timeout: Some(first_byte),
            between_bytes_timeout: Some(between_bytes),
            ..RequestOptions::default()
        })
    }

    #[tokio::test]
    async fn https_through_client_tls_answers() {
        let server = HttpsServer::start(|_| TestResponse::json("{}"));
        let (response, _done) = send(&trusting(&server), get(&server.url("/")), None).await.expect("response");
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.expect("body").to_bytes();
        assert_eq!(body.as_ref(), b"{}");
    }

    #[tokio::test]
    async fn a_slow_response_head_is_a_read_timeout() {
        let server = HttpsServer::start(|_| TestResponse::json("{}").delay(Duration::from_secs(3)));
        let options = waiting_at_most(Duration::from_millis(200), DEFAULT_TIMEOUT);
        let result = send(&trusting(&server), get(&server.url("/")), options).await;
        assert!(matches!(result, Err(Error::ConnectionReadTimeout)), "{:?}", result.err());
    }

    /// A plain HTTP server on loopback answering `pong` with keep-alive; counts its connections.
    async fn counting_server() -> (SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let accepted = std::sync::Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(|_| async {
                        Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(
                            Bytes::from_static(b"pong"),
                        )))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (addr, accepted)
    }

    #[tokio::test]
    async fn a_connection_whose_response_was_read_carries_the_next_request_from_any_component() {
        use std::sync::atomic::Ordering;
        let (addr, accepted) = counting_server().await;
        let app = AppNetwork::new(OutboundNetworking::default()).expect("valid");
        for component in ["a", "b", "a"] {
            let (response, _done) =
                send(&app.for_component(component), get(&format!("http://{addr}/")), None).await.expect("response");
            assert_eq!(response.into_body().collect().await.expect("body").to_bytes().as_ref(), b"pong");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "one connection, reused");
        let (unread, _done) = send(&app.for_component("a"), get(&format!("http://{addr}/")), None).await.expect("head");
        drop(unread);
        let (response, _done) =
            send(&app.for_component("a"), get(&format!("http://{addr}/")), None).await.expect("head");
        drop(response.into_body().collect().await);
        assert_eq!(accepted.load(Ordering::SeqCst), 2, "a body dropped unread takes its connection with it");
    }

    #[tokio::test]
    async fn a_stalled_body_is_a_read_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request).await;
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nab").await;
            tokio::time::sleep(Duration::from_secs(10)).await;
        });
        let options = waiting_at_most(DEFAULT_TIMEOUT, Duration::from_millis(200));
        let (response, _done) =
            send(&ComponentNetwork::default(), get(&format!("http://{addr}/")), options).await.expect("head");
        let mut body = response.into_body();
        let first = body.frame().await.expect("a frame").expect("data");
        assert_eq!(first.into_data().expect("data").as_ref(), b"ab");
        let next = body.frame().await.expect("an error frame");
        assert!(matches!(next, Err(Error::ConnectionReadTimeout)), "{next:?}");
    }
}
