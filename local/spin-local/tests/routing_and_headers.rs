//! Spin's routing rules and request headers, over real HTTP through spin-local.

use crate::common::{field, get, start};
use spin_local_testing::bench::fetch;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_routes_beat_wildcards_and_the_longest_prefix_wins() {
    let app = start(|_| {}).await;
    let component = |body: String| field(&body, "component").unwrap_or_default();
    let cases = [
        ("/echo", "echo-exact"),
        ("/echo/", "echo-exact"),
        ("/echo/special", "echo-special"),
        ("/echo/other", "echo-wild"),
        ("/echo/deep", "echo-deep"),
        ("/echo/deep/x/y", "echo-deep"),
        ("/users/42/profile", "echo-param"),
    ];
    for (path, expected) in cases {
        let (status, body) = get(&format!("{}{path}", app.url)).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(component(body), expected, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmatched_paths_are_404_and_health_is_answered_by_the_runtime() {
    let app = start(|_| {}).await;
    assert_eq!(get(&format!("{}/nothing/here", app.url)).await.0, 404);
    assert_eq!(get(&format!("{}/echoes", app.url)).await.0, 404);
    assert_eq!(get(&format!("{}/users/42", app.url)).await.0, 404);
    let (status, body) = get(&format!("{}/.well-known/spin/health", app.url)).await;
    assert_eq!((status, body.as_str()), (200, "OK"));
    assert_eq!(get(&format!("{}/.well-known/spin/other", app.url)).await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spin_request_headers_describe_the_match() {
    let app = start(|_| {}).await;
    let (status, body) = get(&format!("{}/echo/deep/a/b/?q=1", app.url)).await;
    assert_eq!(status, 200, "{body}");
    let port = app.server.addr.port();
    let h = |k: &str| field(&body, k).unwrap_or_else(|| panic!("no {k} in {body}"));
    assert_eq!(h("spin-full-url"), format!("http://127.0.0.1:{port}/echo/deep/a/b/?q=1"));
    assert_eq!(h("spin-path-info"), "/a/b/");
    assert_eq!(h("spin-matched-route"), "/echo/deep/...");
    assert_eq!(h("spin-raw-component-route"), "/echo/deep/...");
    assert_eq!(h("spin-component-route"), "/echo/deep");
    assert_eq!(h("spin-base-path"), "/");
    assert!(h("spin-client-addr").starts_with("127.0.0.1:"), "{body}");

    let (_, exact) = get(&format!("{}/echo", app.url)).await;
    assert_eq!(field(&exact, "spin-path-info").as_deref(), Some(""));
    let (_, param) = get(&format!("{}/users/42/profile", app.url)).await;
    assert_eq!(field(&param, "spin-path-match-id").as_deref(), Some("42"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_s_copies_of_spin_headers_stay_and_spin_s_own_values_are_appended_after_them() {
    let app = start(|_| {}).await;
    let sent = [
        ("spin-client-addr", "198.51.100.7:1"),
        ("Spin-Full-URL", "http://127.0.0.1:1/forged"),
        ("spin-path-info", "/forged"),
    ];
    let (status, _, body) = fetch(http::Method::GET, &format!("{}/echo/deep/a", app.url), &sent, "").await.unwrap();
    let body = String::from_utf8_lossy(&body).into_owned();
    assert_eq!(status, 200, "{body}");
    let values = |name: &str| -> Vec<String> {
        body.lines().filter_map(|l| l.strip_prefix(&format!("{name}=")).map(str::to_string)).collect()
    };
    let port = app.server.addr.port();
    assert_eq!(
        values("spin-full-url"),
        ["http://127.0.0.1:1/forged".to_string(), format!("http://127.0.0.1:{port}/echo/deep/a")]
    );
    assert_eq!(values("spin-path-info"), ["/forged", "/a"]);
    let addrs = values("spin-client-addr");
    assert_eq!(addrs.len(), 2, "{body}");
    assert_eq!(addrs[0], "198.51.100.7:1", "the caller's copy first, as Spin hands it over");
    assert!(addrs[1].starts_with("127.0.0.1:"), "Spin's own value last: {body}");
    assert_eq!(values("spin-matched-route"), ["/echo/deep/..."], "one value where the caller sent none");
}
