//! The HTTP/1 server loop (hyper over tokio), with the [`Gate`] in front of the handlers.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use super::state::State;
use super::{Before, Gate, Request, Response, handlers};

pub(super) async fn serve(listener: tokio::net::TcpListener, state: Arc<State>, gate: Arc<dyn Gate>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        if !gate.admit() {
            drop(stream);
            continue;
        }
        let (state, gate) = (state.clone(), gate.clone());
        tokio::spawn(async move {
            let service = service_fn(move |request| answer(state.clone(), gate.clone(), request));
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

/// Why a connection was closed without an answer.
#[derive(Debug, thiserror::Error)]
#[error("the gate closed the connection without an answer")]
struct Closed;

/// The answer to one request; [`Before::Close`] makes hyper close the connection unanswered
/// (the service's error), also on a connection opened earlier (a client's pooled keep-alive one).
async fn answer(
    state: Arc<State>,
    gate: Arc<dyn Gate>,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Closed> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
    let request = Request::from_parts(parts, body);
    let response = match gate.before(&request) {
        Before::Answer => handlers::route(&state, &request),
        Before::Delay(delay) => {
            tokio::time::sleep(delay).await;
            handlers::route(&state, &request)
        }
        Before::Replace(response) => response,
        Before::Close => return Err(Closed),
    };
    Ok(into_hyper(response))
}

fn into_hyper(response: Response) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = response.into_parts();
    hyper::Response::from_parts(parts, Full::new(Bytes::from(body)))
}
