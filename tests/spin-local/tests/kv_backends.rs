//! The same key-value suite on every backend: SQLite (Spin's default), in-memory, Redis; plus
//! the CAS race: 32 concurrent swaps from one old value, exactly one winner.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed step fails the test")]

mod common;
use common::{get, options, post, redis_server, runtime_config, start, start_with};
use spin_local::StateDir;

async fn both_apis_see_the_same_store(url: &str) {
    assert_eq!(post(&format!("{url}/kv/spin/set/alpha"), "one").await.0, 200);
    assert_eq!(get(&format!("{url}/kv/wasi/get/alpha")).await, (200, "one".into()));
    assert_eq!(get(&format!("{url}/kv/spin/exists/alpha")).await, (200, "true".into()));
    assert_eq!(post(&format!("{url}/kv/wasi/set/beta"), "two").await.0, 200);
    assert_eq!(get(&format!("{url}/kv/spin/get/beta")).await, (200, "two".into()));
    assert_eq!(get(&format!("{url}/kv/wasi/exists/beta")).await, (200, "true".into()));
    for api in ["spin", "wasi"] {
        let (status, keys) = get(&format!("{url}/kv/{api}/keys/")).await;
        assert_eq!(status, 200);
        let keys: Vec<&str> = keys.lines().collect();
        assert!(keys.contains(&"alpha") && keys.contains(&"beta"), "{api}: {keys:?}");
    }
    let (status, many) = get(&format!("{url}/kv/get-many?keys=alpha,missing")).await;
    assert_eq!((status, many.as_str()), (200, "alpha=one\nmissing"));
    assert_eq!(post(&format!("{url}/kv/wasi/delete/alpha"), "").await.0, 200);
    assert_eq!(get(&format!("{url}/kv/spin/exists/alpha")).await, (200, "false".into()));
    assert_eq!(get(&format!("{url}/kv/spin/get/alpha")).await.0, 404);
    assert_eq!(post(&format!("{url}/kv/spin/delete/beta"), "").await.0, 200);
    assert_eq!(get(&format!("{url}/kv/wasi/get/beta")).await.0, 404);
}

async fn compare_and_swap_and_increment(url: &str) {
    post(&format!("{url}/kv/spin/set/c"), "v1").await;
    assert_eq!(post(&format!("{url}/kv/cas/c?from=v1"), "v2").await, (200, "won".into()));
    assert_eq!(get(&format!("{url}/kv/spin/get/c")).await, (200, "v2".into()));
    assert_eq!(post(&format!("{url}/kv/cas/c?from=v1"), "v3").await, (409, "stale".into()));
    // Two swaps that both saw v2: the second one's swap conflicts.
    let cas_url = format!("{url}/kv/cas/c?from=v2&hold_ms=300");
    let (a, b) = tokio::join!(post(&cas_url, "a"), post(&cas_url, "b"));
    let mut outcomes = [a.1, b.1];
    outcomes.sort();
    assert!(outcomes.contains(&"won".to_string()), "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| *o == "won").count(), 1, "{outcomes:?}");
    // Create-if-absent.
    assert_eq!(post(&format!("{url}/kv/cas/fresh?absent=1"), "x").await, (200, "won".into()));
    assert_eq!(post(&format!("{url}/kv/cas/fresh?absent=1"), "y").await, (409, "stale".into()));
    assert_eq!(get(&format!("{url}/kv/spin/get/fresh")).await, (200, "x".into()));
    // Counters.
    assert_eq!(get(&format!("{url}/kv/incr/n?delta=5")).await, (200, "5".into()));
    assert_eq!(get(&format!("{url}/kv/incr/n?delta=-2")).await, (200, "3".into()));
    assert_eq!(get(&format!("{url}/kv/incr/n?delta=0")).await, (200, "3".into()));
}

async fn only_granted_stores_open(url: &str) {
    for api in ["spin", "wasi"] {
        let (status, body) = get(&format!("{url}/kv/{api}/get/x?store=other")).await;
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("AccessDenied"), "{body}");
    }
}

/// 32 requests CAS one key from the same old value; exactly one may win.
async fn cas_race_has_one_winner(url: &str) {
    post(&format!("{url}/kv/spin/set/race"), "old").await;
    let attempts = (0..32).map(|i| {
        let url = format!("{url}/kv/cas/race?from=old&hold_ms=200");
        async move { post(&url, &format!("winner-{i}")).await }
    });
    let results = futures_join_all(attempts).await;
    let winners: Vec<usize> = results.iter().enumerate().filter(|(_, r)| r.0 == 200).map(|(i, _)| i).collect();
    assert_eq!(winners.len(), 1, "results: {results:?}");
    assert!(results.iter().all(|r| r.0 == 200 || r.0 == 409), "{results:?}");
    // Losers that saw "old" too prove the swap itself detected the conflict (not just `current`).
    assert!(results.iter().any(|r| r.1 == "cas-failed"), "{results:?}");
    let (_, value) = get(&format!("{url}/kv/spin/get/race")).await;
    assert_eq!(value, format!("winner-{}", winners[0]));

    // The same for create-if-absent.
    let attempts = (0..32).map(|i| {
        let url = format!("{url}/kv/cas/race-new?absent=1&hold_ms=200");
        async move { post(&url, &format!("creator-{i}")).await }
    });
    let results = futures_join_all(attempts).await;
    assert_eq!(results.iter().filter(|r| r.0 == 200).count(), 1, "{results:?}");
    assert!(results.iter().any(|r| r.1 == "cas-failed"), "{results:?}");
}

async fn futures_join_all<F: std::future::Future<Output = (u16, String)> + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<(u16, String)> {
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("request task"));
    }
    out
}

async fn full_suite(url: &str) {
    both_apis_see_the_same_store(url).await;
    compare_and_swap_and_increment(url).await;
    only_granted_stores_open(url).await;
    cas_race_has_one_winner(url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_passes_the_kv_suite() {
    let app = start(|_| {}).await;
    full_suite(&app.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_store_passes_the_kv_suite() {
    // `--state-dir ""`: no state on disk, so Spin keeps the default store in memory.
    let app = start_with(options(StateDir::None), None).await;
    full_suite(&app.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_config_spin_store_without_path_is_in_memory_and_with_path_is_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rc = runtime_config(dir.path(), "[key_value_store.default]\ntype = \"spin\"\n");
    let app = start(|o| o.runtime_config_file = Some(rc)).await;
    both_apis_see_the_same_store(&app.url).await;

    let rc = runtime_config(dir.path(), "[key_value_store.default]\ntype = \"spin\"\npath = \"data/kv.db\"\n");
    let app = start(|o| o.runtime_config_file = Some(rc)).await;
    post(&format!("{}/kv/spin/set/k", app.url), "v").await;
    assert!(dir.path().join("data/kv.db").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_passes_the_kv_suite() {
    let Some(redis) = redis_server() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let rc =
        runtime_config(dir.path(), &format!("[key_value_store.default]\ntype = \"redis\"\nurl = \"{}\"\n", redis.url));
    let app = start(|o| o.runtime_config_file = Some(rc)).await;
    full_suite(&app.url).await;
}
