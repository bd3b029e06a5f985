//! The HTTP trigger (Spin's `trigger-http`): the server, [`routing`], Spin's reserved routes, routing, Spin's request headers, a fresh instance
//! per request, streamed responses, one log line per request, and the [`Limits`] that keep slow
//! clients from taking the server from everyone else.

mod connection;
pub mod limits;
mod request;
mod response;
pub mod routing;

pub use limits::Limits;

use crate::app::App;
use crate::engine::{EPOCH_TICK, EpochTicker};
use crate::error::Error;
use crate::host::HostState;
use crate::trigger::routing::{RouteMatch, WELL_KNOWN_PREFIX};
use bytes::Bytes;
use connection::{ConnectionState, GuardedStream, RequestGuard};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinSet;
use wasmtime::{Store, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

type Body = HyperOutgoingBody;

/// A started app. Dropping it (or [`shutdown`](RunningServer::shutdown)) stops the server.
pub struct RunningServer {
    /// The bound address (the real port when started on port 0).
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningServer {
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, closes open connections, waits for the accept loop to end.
    pub async fn shutdown(mut self) {
        self.stop();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Serves until the process is interrupted (the binary's `up`).
    pub async fn wait(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Shared by every request.
struct Server {
    app: App,
    instances: Arc<Semaphore>,
    log_requests: bool,
    limits: Limits,
}

impl App {
    /// Binds `listen` (use port 0 for a free port) and serves the app in the background on the
    /// current tokio runtime.
    pub async fn start(self, listen: SocketAddr) -> Result<RunningServer, Error> {
        let listener = TcpListener::bind(listen).await.map_err(|source| match source.kind() {
            std::io::ErrorKind::AddrInUse => Error::PortInUse { addr: listen },
            _ => Error::Listen { addr: listen, source },
        })?;
        let addr = listener.local_addr().map_err(|source| Error::Listen { addr: listen, source })?;
        let ticker = EpochTicker::start(self.engine.clone());
        let server = Arc::new(Server {
            instances: Arc::new(Semaphore::new(self.options.max_instances as usize)),
            log_requests: self.options.log_requests,
            limits: self.options.limits,
            app: self,
        });
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(accept_loop(server, listener, rx, ticker));
        Ok(RunningServer { addr, shutdown: Some(tx), task: Some(task) })
    }
}

async fn accept_loop(
    server: Arc<Server>,
    listener: TcpListener,
    mut stop: oneshot::Receiver<()>,
    _ticker: EpochTicker,
) {
    // Connections live in the set so that stopping the server closes them too.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let Ok((stream, client)) = accepted else { continue };
                if server.app.options.tcp_nodelay {
                    let _ = stream.set_nodelay(true);
                }
                connections.spawn(serve_connection(server.clone(), stream, client));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// One connection (see [`connection`]): each request counts as open from its head to the end
/// of its response, so the head deadline only runs while a head is being read.
async fn serve_connection(server: Arc<Server>, stream: TcpStream, client: SocketAddr) {
    let state = Arc::new(ConnectionState::default());
    let socket = GuardedStream::new(stream, state.clone(), server.limits.header_read_timeout);
    let service = hyper::service::service_fn(move |req| {
        let server = server.clone();
        let open = state.request_started();
        async move { Ok::<_, Infallible>(server.handle(client, req, open).await) }
    });
    connection::serve(socket, service).await;
}

impl Server {
    async fn handle(&self, client: SocketAddr, req: Request<Incoming>, open: RequestGuard) -> Response<Body> {
        let start = Instant::now();
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let (response, component) = self.dispatch(client, req, open.started).await;
        if self.log_requests {
            eprintln!(
                "spin-local: {method} {path} -> {} {} {:.2}ms",
                component.as_deref().unwrap_or("-"),
                response.status().as_u16(),
                start.elapsed().as_secs_f64() * 1000.0
            );
        }
        response.map(|body| open.held_until_end_of(body))
    }

    async fn dispatch(
        &self,
        client: SocketAddr,
        req: Request<Incoming>,
        started: tokio::time::Instant,
    ) -> (Response<Body>, Option<String>) {
        let path = req.uri().path().to_string();
        if let Some(reserved) = path.strip_prefix(WELL_KNOWN_PREFIX) {
            return (self.well_known(reserved), None);
        }
        let router = &self.app.router;
        let Some(matched) = router.route(&path) else {
            return (text(StatusCode::NOT_FOUND, "Not Found"), None);
        };
        let id = matched.route.component.clone();
        let Some(component) = self.app.components.get(&id) else {
            return (text(StatusCode::INTERNAL_SERVER_ERROR, "unknown component"), Some(id));
        };
        // The body is read before the request takes an instance slot (see `request.rs`).
        let req = match request::buffer(req, started, &self.limits).await {
            Ok(req) => with_spin_headers(req, &matched, client),
            Err(refused) => return (closing(text(refused.status(), refused.reason())), Some(id)),
        };
        (self.call_guest(component, request::for_guest(req)).await, Some(id))
    }

    fn well_known(&self, rest: &str) -> Response<Body> {
        match rest {
            "health" => text(StatusCode::OK, "OK"),
            "info" => text(StatusCode::OK, &format!("{{\"name\":\"{}\",\"runtime\":\"spin-local\"}}", self.app.name)),
            _ => text(StatusCode::NOT_FOUND, "Not Found"),
        }
    }

    /// Runs the guest in its own task and answers as soon as it sets the response outparam, so
    /// a streamed body flows while the guest is still writing it. `503` when no instance slot
    /// frees within [`Limits::instance_wait_timeout`].
    async fn call_guest(
        &self,
        component: &crate::component::LoadedComponent,
        req: request::ForGuest,
    ) -> Response<Body> {
        let waiting = tokio::time::timeout(self.limits.instance_wait_timeout, self.instances.clone().acquire_owned());
        let permit = match waiting.await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_closed)) => return text(StatusCode::SERVICE_UNAVAILABLE, "server is shutting down"),
            Err(_elapsed) => return busy(),
        };
        let mut store = self.new_store(component);
        let (tx, rx) = oneshot::channel();
        let resources = store
            .data_mut()
            .http()
            .new_incoming_request(wasmtime_wasi_http::p2::bindings::http::types::Scheme::Http, req)
            .and_then(|r| Ok((r, store.data_mut().http().new_response_outparam_from_callback(hand_to_hyper(tx))?)));
        let (request, outparam) = match resources {
            Ok(pair) => pair,
            Err(e) => return text(StatusCode::BAD_REQUEST, &format!("bad request: {e}")),
        };
        let pre = component.pre.clone();
        let id = component.info.id.clone();
        let guest = tokio::spawn(async move {
            let _permit = permit;
            let result = async {
                let proxy = pre.instantiate_async(&mut store).await?;
                proxy.wasi_http_incoming_handler().call_handle(&mut store, request, outparam).await
            }
            .await;
            if let Err(e) = &result {
                eprintln!("spin-local: component `{id}` trapped: {e:?}");
            }
            result
        });
        match rx.await {
            Ok(Ok(response)) => response,
            Ok(Err(code)) => text(StatusCode::INTERNAL_SERVER_ERROR, &format!("guest error: {code:?}")),
            Err(_) => match guest.await {
                Ok(Ok(())) => text(StatusCode::INTERNAL_SERVER_ERROR, "guest did not set a response"),
                _ => text(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
            },
        }
    }

    fn new_store(&self, component: &crate::component::LoadedComponent) -> Store<HostState> {
        let limits = StoreLimitsBuilder::new().memory_size(self.app.options.max_memory).instances(64).build();
        let mut store = Store::new(&self.app.engine, HostState::new(component.info.clone(), limits));
        store.limiter(|s| &mut s.limits);
        let limit = self.app.options.guest_time_limit;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |mut ctx| {
            let busy = ctx.data_mut().busy.tick(EPOCH_TICK);
            if busy > limit { Ok(UpdateDeadline::Interrupt) } else { Ok(UpdateDeadline::Yield(1)) }
        });
        store
    }
}

/// The outparam's callback, run when the guest sets it: the response goes to hyper as it stood
/// at that moment ([`response::as_set`]).
fn hand_to_hyper(
    tx: oneshot::Sender<Result<Response<Body>, ErrorCode>>,
) -> impl FnOnce(Result<Response<Body>, ErrorCode>) + Send + Sync + 'static {
    move |result| {
        // The receiver is gone only if the connection is: nobody is left to answer.
        let _ = tx.send(result.map(|response| response.map(response::as_set)));
    }
}

/// Spin's request headers, and an absolute URI so the guest sees scheme and authority.
///
/// As Spin does it (`crates/trigger-http/src/headers.rs` `prepare_request_headers` and `wasi.rs`
/// `prepare_request`, the same from v3.5.0 to v4.0.2): the caller's headers stay, all of them,
/// and Spin's are **appended** after them in this order (`HeaderMap::extend` appends), so a
/// caller who sends its own `spin-client-addr` makes the guest see two values, the caller's
/// first. Nothing is replaced: replacing would hide from the tests what a component meets on
/// Spin. `spin-full-url` is built from the first `Host` header (`localhost` without one).
fn with_spin_headers<B>(mut req: Request<B>, m: &RouteMatch<'_>, client: SocketAddr) -> Request<B> {
    let host = req.headers().get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost").to_string();
    let path_and_query = req.uri().path_and_query().map_or("/", |pq| pq.as_str()).to_string();
    let full_url = format!("http://{host}{path_and_query}");
    if let Ok(uri) = full_url.parse() {
        *req.uri_mut() = uri;
    }
    let route = m.route;
    let mut append = |name: String, value: &str| {
        if let (Ok(name), Ok(value)) = (http::HeaderName::try_from(name), HeaderValue::from_str(value)) {
            req.headers_mut().append(name, value);
        }
    };
    append("spin-path-info".into(), &m.path_info);
    append("spin-full-url".into(), &full_url);
    append("spin-matched-route".into(), &route.raw);
    append("spin-base-path".into(), "/");
    append("spin-raw-component-route".into(), &route.raw);
    append("spin-component-route".into(), route.component_route());
    append("spin-client-addr".into(), &client.to_string());
    for (name, value) in &m.params {
        append(format!("spin-path-match-{name}"), value);
    }
    req
}

fn text(status: StatusCode, body: &str) -> Response<Body> {
    let body = Full::new(Bytes::from(body.to_string())).map_err(|never: Infallible| match never {}).boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
}

/// Every instance slot stayed taken for [`Limits::instance_wait_timeout`].
fn busy() -> Response<Body> {
    let mut response = text(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable: every instance is busy");
    response.headers_mut().insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// `response`, after which the connection closes (the request's body was not read to its end).
fn closing(mut response: Response<Body>) -> Response<Body> {
    response.headers_mut().insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    response
}
