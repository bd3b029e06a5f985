//! Streamed response bodies, trapping guests, runaway guests, what guests print.

use crate::common::{get, options, post, start, start_with};
use http_body_util::BodyExt;
use spin_local::StateDir;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_stdout_and_stderr_are_appended_to_the_component_log_files_in_the_state_dir() {
    let state = tempfile::tempdir().expect("temp dir");
    let logs = state.path().join("logs");
    let mut opts = options(StateDir::Path(state.path().to_path_buf()));
    opts.follow_component_output = false;
    let app = start_with(opts, None).await;
    for n in 1..=3 {
        let url = format!("{}/print?out=audit+line+{n}&err=warning+{n}", app.url);
        assert_eq!(get(&url).await, (200, "printed".to_string()));
    }
    let stdout = std::fs::read_to_string(logs.join("printer_stdout.txt")).expect("printer_stdout.txt");
    assert_eq!(stdout, "audit line 1\naudit line 2\naudit line 3\n");
    let stderr = std::fs::read_to_string(logs.join("printer_stderr.txt")).expect("printer_stderr.txt");
    assert_eq!(stderr, "warning 1\nwarning 2\nwarning 3\n");
    assert_eq!(std::fs::read_to_string(logs.join("echo-exact_stdout.txt")).expect("one file per component"), "");
    drop(app);
}
