//! Outbound HTTP: allowed hosts (templated from variables) pass, others are denied to the guest.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed step fails the test")]

use crate::common::{encode, get};
use std::convert::Infallible;

/// A tiny HTTP server on 127.0.0.1 answering "pong from target".
async fn target() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_req| async {
                    Ok::<_, Infallible>(http::Response::new(http_body_util::Full::new(bytes::Bytes::from(
                        "pong from target",
                    ))))
                });
                let io = wasmtime_wasi_http::io::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_hosts_pass_and_others_are_denied_to_the_guest() {
    let allowed = target().await;
    let other = target().await;
    let allowed_origin = format!("http://127.0.0.1:{}", allowed.port());
    let app = crate::common::start(|o| o.variables.push(("outbound_allowed".into(), allowed_origin.clone()))).await;

    let (status, body) = get(&format!("{}/outbound?url={}", app.url, encode(&format!("{allowed_origin}/ping")))).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("status=200") && body.contains("pong from target"), "{body}");

    let denied = format!("http://127.0.0.1:{}/ping", other.port());
    let (status, body) = get(&format!("{}/outbound?url={}", app.url, encode(&denied))).await;
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("HttpRequestDenied"), "{body}");

    // The server keeps serving after a denial.
    assert_eq!(get(&format!("{}/echo", app.url)).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unreachable_default_allows_nothing_else() {
    let target = target().await;
    let app = crate::common::start(|_| {}).await;
    let url = format!("http://127.0.0.1:{}/ping", target.port());
    let (status, body) = get(&format!("{}/outbound?url={}", app.url, encode(&url))).await;
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("HttpRequestDenied"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_networks_apply_to_plain_http_too() {
    let target = target().await;
    let origin = format!("http://127.0.0.1:{}", target.port());
    let dir = tempfile::tempdir().expect("temp dir");
    let rc = crate::common::runtime_config(dir.path(), "[outbound_networking]\nblock_networks = [\"private\"]\n");
    let app = crate::common::start(|o| {
        o.variables.push(("outbound_allowed".into(), origin.clone()));
        o.runtime_config_file = Some(rc);
    })
    .await;
    let (status, body) = get(&format!("{}/outbound?url={}", app.url, encode(&format!("{origin}/ping")))).await;
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("DestinationIpProhibited"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_port_is_connection_refused() {
    let port = crate::common::free_port();
    let origin = format!("http://127.0.0.1:{port}");
    let app = crate::common::start(|o| o.variables.push(("outbound_allowed".into(), origin.clone()))).await;
    let (status, body) = get(&format!("{}/outbound?url={}", app.url, encode(&format!("{origin}/")))).await;
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("ConnectionRefused"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_invalid_with_the_run_time_values_denies_everything_like_spin() {
    let target = target().await;
    let origin = format!("http://127.0.0.1:{}", target.port());
    // Valid at load (the default is), without a scheme at run time: released Spin starts, and
    // then every check of the component's list fails.
    let no_scheme = format!("127.0.0.1:{}", target.port());
    let app = crate::common::start(|o| o.variables.push(("outbound_allowed".into(), no_scheme))).await;
    let (status, body) = get(&format!("{}/outbound?url={}", app.url, encode(&format!("{origin}/ping")))).await;
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("HttpRequestDenied"), "{body}");
}
