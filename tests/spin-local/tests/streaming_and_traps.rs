//! Streamed response bodies, trapping guests, runaway guests.

mod common;
use common::{get, post, start};
use http_body_util::BodyExt;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_bodies_stream_while_the_guest_still_runs() {
    let app = start(|_| {}).await;
    let stream = tokio::net::TcpStream::connect(app.server.addr).await.expect("connect");
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(wasmtime_wasi_http::io::TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(conn);
    let request = http::Request::get("/stream?gate=open-sesame")
        .header("host", "localhost")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .expect("request");
    let response = sender.send_request(request).await.expect("response head");
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    // The guest writes "first", then waits for the gate key: only a streaming runtime
    // delivers "first" now.
    let first = tokio::time::timeout(Duration::from_secs(10), body.frame())
        .await
        .expect("first chunk arrives before the guest finishes")
        .expect("a frame")
        .expect("no error");
    assert_eq!(first.into_data().expect("data").as_ref(), b"first\n");
    assert_eq!(post(&format!("{}/kv/spin/set/open-sesame", app.url), "1").await.0, 200);
    let rest = tokio::time::timeout(Duration::from_secs(10), body.collect()).await.expect("stream ends").expect("body");
    assert_eq!(rest.to_bytes().as_ref(), b"second\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trapping_guest_gets_500_and_the_server_keeps_serving() {
    let app = start(|_| {}).await;
    assert_eq!(get(&format!("{}/trap", app.url)).await.0, 500);
    assert_eq!(get(&format!("{}/echo", app.url)).await.0, 200);
    assert_eq!(get(&format!("{}/trap", app.url)).await.0, 500);
    assert_eq!(get(&format!("{}/echo", app.url)).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runaway_guest_is_interrupted() {
    let app = start(|o| o.guest_time_limit = Duration::from_millis(300)).await;
    let (status, _) = tokio::time::timeout(Duration::from_secs(20), get(&format!("{}/loop", app.url)))
        .await
        .expect("the loop is stopped");
    assert_eq!(status, 500);
    assert_eq!(get(&format!("{}/echo", app.url)).await.0, 200);
}
