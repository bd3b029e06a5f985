//! The HTTP/1 server loop (hyper over tokio) and the switches applied before routing.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use crate::handlers::{self, Request, Response};
use crate::state::{Fault, State};

pub(crate) async fn serve(listener: tokio::net::TcpListener, state: Arc<State>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        if state.fault() == Fault::Refused {
            drop(stream);
            continue;
        }
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| answer(state.clone(), request));
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

/// Why a connection was closed without an answer.
#[derive(Debug, thiserror::Error)]
#[error("mock Clerk refuses: the connection is closed without an answer")]
struct Refusing;

/// The answer to one request. Under [`Fault::Refused`], a request on a connection that was
/// opened before the fault (a client's pooled keep-alive connection: Spin's outbound HTTP pools
/// them) gets no answer either: the service's error makes hyper close the connection.
async fn answer(
    state: Arc<State>,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Refusing> {
    if state.fault() == Fault::Refused {
        return Err(Refusing);
    }
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
    let request = Request::from_parts(parts, body);
    state.record_hit(request.uri().path());
    let response = match state.fault() {
        Fault::Slow(delay) => {
            tokio::time::sleep(delay).await;
            handlers::route(&state, &request)
        }
        Fault::Down => handlers::text(503, "text/html", "<html><body><h1>503 Service Unavailable</h1></body></html>"),
        Fault::Malformed => handlers::text(200, "application/json", "<html>this is not JSON"),
        Fault::None | Fault::Refused => handlers::route(&state, &request),
    };
    Ok(into_hyper(response))
}

fn into_hyper(response: Response) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = response.into_parts();
    hyper::Response::from_parts(parts, Full::new(Bytes::from(body)))
}
