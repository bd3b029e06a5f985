//! The key-value suite on every backend, each behaving like Spin's own: SQLite (Spin's default),
//! in memory (Spin's is SQLite in memory too), and Redis both as Spin 4.1 does it (the default:
//! every compare-and-swap reports `cas-failed`) and with correct compare-and-swap.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed step fails the test")]

use crate::common::{TestApp, get, options, post, redis_server, runtime_config, start, start_with};
use spin_local::StateDir;
use spin_local::kv::RedisMode;
use spin_local_testing::RedisServer;

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
    assert_eq!(get(&format!("{url}/kv/get-many?keys=")).await, (200, String::new()), "empty batch");
    assert_eq!(post(&format!("{url}/kv/wasi/delete/alpha"), "").await.0, 200);
    assert_eq!(get(&format!("{url}/kv/spin/exists/alpha")).await, (200, "false".into()));
    assert_eq!(get(&format!("{url}/kv/spin/get/alpha")).await.0, 404);
    assert_eq!(post(&format!("{url}/kv/spin/delete/beta"), "").await.0, 200);
    assert_eq!(get(&format!("{url}/kv/wasi/get/beta")).await.0, 404);
}

/// Compare-and-swap where the swap's result is right (SQLite, in memory, correct Redis).
async fn compare_and_swap_reports_conflicts(url: &str) {
    post(&format!("{url}/kv/spin/set/c"), "v1").await;
    assert_eq!(post(&format!("{url}/kv/cas/c?from=v1"), "v2").await, (200, "won".into()));
    assert_eq!(get(&format!("{url}/kv/spin/get/c")).await, (200, "v2".into()));
    assert_eq!(post(&format!("{url}/kv/cas/c?from=v1"), "v3").await, (409, "stale".into()));
    // Two swaps that both saw v2: the second one's swap conflicts.
    let cas_url = format!("{url}/kv/cas/c?from=v2&hold_ms=300");
    let (a, b) = tokio::join!(post(&cas_url, "a"), post(&cas_url, "b"));
    let outcomes = [a.1, b.1];
    assert_eq!(outcomes.iter().filter(|o| *o == "won").count(), 1, "{outcomes:?}");
    assert!(outcomes.contains(&"cas-failed".to_string()), "{outcomes:?}");
    // Create-if-absent, one at a time.
    assert_eq!(post(&format!("{url}/kv/cas/fresh?absent=1"), "x").await, (200, "won".into()));
    assert_eq!(post(&format!("{url}/kv/cas/fresh?absent=1"), "y").await, (409, "stale".into()));
    assert_eq!(get(&format!("{url}/kv/spin/get/fresh")).await, (200, "x".into()));
}

async fn only_granted_stores_open(url: &str) {
    for api in ["spin", "wasi"] {
        let (status, body) = get(&format!("{url}/kv/{api}/get/x?store=other")).await;
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("AccessDenied"), "{body}");
    }
}

/// `n` concurrent requests at once, in the order given; their `(status, body)`s.
async fn concurrently(urls: Vec<(String, String)>) -> Vec<(u16, String)> {
    let handles: Vec<_> =
        urls.into_iter().map(|(url, body)| tokio::spawn(async move { post(&url, &body).await })).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("request task"));
    }
    out
}

/// 32 requests swap one existing key from the same old value; exactly one may win.
async fn cas_race_has_one_winner(url: &str) {
    post(&format!("{url}/kv/spin/set/race"), "old").await;
    let urls = (0..32).map(|i| (format!("{url}/kv/cas/race?from=old&hold_ms=200"), format!("winner-{i}"))).collect();
    let results = concurrently(urls).await;
    let winners: Vec<usize> = results.iter().enumerate().filter(|(_, r)| r.0 == 200).map(|(i, _)| i).collect();
    assert_eq!(winners.len(), 1, "results: {results:?}");
    assert!(results.iter().all(|r| r.0 == 200 || r.0 == 409), "{results:?}");
    // Losers that saw "old" too prove the swap itself detected the conflict (not just `current`).
    assert!(results.iter().any(|r| r.1 == "cas-failed"), "{results:?}");
    let (_, value) = get(&format!("{url}/kv/spin/get/race")).await;
    assert_eq!(value, format!("winner-{}", winners[0]));
}

/// 32 concurrent increments of one counter return 1..=32, each exactly once.
async fn increments_are_atomic(url: &str) {
    let urls = (0..32).map(|_| (format!("{url}/kv/incr/hits?delta=1"), String::new())).collect();
    let results = concurrently(urls).await;
    let mut values: Vec<i64> = results
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 200, "{body}");
            body.parse().expect("a number")
        })
        .collect();
    values.sort();
    assert_eq!(values, (1..=32).collect::<Vec<i64>>());
    assert_eq!(get(&format!("{url}/kv/incr/hits?delta=-2")).await, (200, "30".into()));
    assert_eq!(get(&format!("{url}/kv/incr/hits?delta=0")).await, (200, "30".into()));
}

/// What Spin's SQLite store does (on disk and in memory).
async fn sqlite_suite(url: &str) {
    both_apis_see_the_same_store(url).await;
    compare_and_swap_reports_conflicts(url).await;
    only_granted_stores_open(url).await;
    cas_race_has_one_winner(url).await;
    increments_are_atomic(url).await;

    // Counters are 8-byte little-endian integers: 30 = 0x1e.
    assert_eq!(get(&format!("{url}/kv/wasi/get/hits?hex=1")).await, (200, "1e00000000000000".into()));
    // get-many answers only the keys that exist.
    post(&format!("{url}/kv/spin/set/alpha"), "one").await;
    assert_eq!(get(&format!("{url}/kv/get-many?keys=alpha,missing")).await, (200, "alpha=one".into()));
    // A swap without `current`, or from an absent value, is an upsert: it always wins.
    assert_eq!(post(&format!("{url}/kv/cas/alpha?from=x&no_current=1"), "two").await, (200, "won".into()));
    assert_eq!(get(&format!("{url}/kv/spin/get/alpha")).await, (200, "two".into()));
    create_if_absent_is_not_atomic(url).await;
}

/// Spin's SQLite CAS from an absent value upserts, so racing creators all "win".
async fn create_if_absent_is_not_atomic(url: &str) {
    let urls =
        (0..32).map(|i| (format!("{url}/kv/cas/race-new?absent=1&hold_ms=300"), format!("creator-{i}"))).collect();
    let results = concurrently(urls).await;
    assert!(results.iter().all(|r| r.1 == "won" || r.1 == "stale"), "{results:?}");
    assert!(results.iter().filter(|r| r.1 == "won").count() > 1, "{results:?}");
}

/// Spin's SQLite `increment` panics on a value that is not a counter, and its store stays unusable.
async fn increment_of_a_non_counter_breaks_the_sqlite_store(url: &str) {
    post(&format!("{url}/kv/spin/set/record"), "{}").await;
    assert_eq!(get(&format!("{url}/kv/incr/record")).await.0, 500);
    assert_eq!(get(&format!("{url}/kv/spin/get/record")).await.0, 500);
    assert_eq!(post(&format!("{url}/kv/wasi/set/other"), "x").await.0, 500);
    assert_eq!(get(&format!("{url}/echo")).await.0, 200, "the server itself keeps serving");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_behaves_like_spins() {
    let app = start(|_| {}).await;
    sqlite_suite(&app.url).await;
    increment_of_a_non_counter_breaks_the_sqlite_store(&app.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_store_behaves_like_spins() {
    // `--state-dir ""`: no state on disk, so Spin keeps the default store in memory.
    let app = start_with(options(StateDir::None), None).await;
    sqlite_suite(&app.url).await;
    increment_of_a_non_counter_breaks_the_sqlite_store(&app.url).await;
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

async fn app_on_redis(redis: &RedisServer, mode: Option<RedisMode>) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let rc =
        runtime_config(dir.path(), &format!("[key_value_store.default]\ntype = \"redis\"\nurl = \"{}\"\n", redis.url));
    let app = start(|o| {
        o.runtime_config_file = Some(rc);
        if let Some(mode) = mode {
            o.redis_mode = mode;
        }
    })
    .await;
    (app, dir)
}

/// What every Redis mode shares: Spin's commands (INCRBY counters as decimal text, KEYS *).
async fn redis_counters_are_decimal_text(url: &str) {
    increments_are_atomic(url).await;
    assert_eq!(get(&format!("{url}/kv/spin/get/hits")).await, (200, "30".into()));
    post(&format!("{url}/kv/spin/set/record"), "{}").await;
    let (status, body) = get(&format!("{url}/kv/incr/record")).await;
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("not an integer"), "Redis's own error: {body}");
    assert_eq!(get(&format!("{url}/kv/spin/get/record")).await, (200, "{}".into()), "the store keeps working");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_by_default_does_compare_and_swap_like_spin_4_1() {
    let Some(redis) = redis_server() else { return };
    let (app, _dir) = app_on_redis(&redis, None).await;
    let url = app.url.as_str();
    both_apis_see_the_same_store(url).await;
    only_granted_stores_open(url).await;
    redis_counters_are_decimal_text(url).await;

    // The swap writes, then reports a conflict (Spin's `UNWATCH <key>` is refused by Redis).
    post(&format!("{url}/kv/spin/set/c"), "v1").await;
    assert_eq!(post(&format!("{url}/kv/cas/c?from=v1"), "v2").await, (409, "cas-failed".into()));
    assert_eq!(get(&format!("{url}/kv/spin/get/c")).await, (200, "v2".into()));
    assert_eq!(post(&format!("{url}/kv/cas/c?from=v1&no_current=1"), "v3").await, (409, "cas-failed".into()));
    assert_eq!(get(&format!("{url}/kv/spin/get/c")).await, (200, "v3".into()));
    assert_eq!(post(&format!("{url}/kv/cas/new?absent=1"), "n1").await, (409, "cas-failed".into()));
    assert_eq!(get(&format!("{url}/kv/spin/get/new")).await, (200, "n1".into()));

    // 32 racers from one value: every one is told `cas-failed`; Redis ran exactly one transaction.
    post(&format!("{url}/kv/spin/set/race"), "old").await;
    let urls = (0..32).map(|i| (format!("{url}/kv/cas/race?from=old&hold_ms=200"), format!("racer-{i}"))).collect();
    let results = concurrently(urls).await;
    assert!(results.iter().all(|r| *r == (409, "cas-failed".to_string()) || r.1 == "stale"), "{results:?}");
    let (_, value) = get(&format!("{url}/kv/spin/get/race")).await;
    assert!(value.starts_with("racer-"), "one transaction wrote: {value}");

    // get-many sends `KEYS <keys>`: one absent key is empty, two keys are Redis's error, one
    // existing key panics Spin's host (the guest traps: a bare 500).
    assert_eq!(get(&format!("{url}/kv/get-many?keys=missing")).await, (200, String::new()));
    let (status, body) = get(&format!("{url}/kv/get-many?keys=c,new")).await;
    assert_eq!(status, 500);
    assert!(body.contains("get-many:") && body.contains("wrong number of arguments"), "{body}");
    let (status, body) = get(&format!("{url}/kv/get-many?keys=c")).await;
    assert_eq!(status, 500);
    assert!(!body.contains("get-many:"), "a trap, not an error value: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_in_correct_mode_passes_the_cas_suite() {
    let Some(redis) = redis_server() else { return };
    let (app, _dir) = app_on_redis(&redis, Some(RedisMode::Correct)).await;
    let url = app.url.as_str();
    both_apis_see_the_same_store(url).await;
    compare_and_swap_reports_conflicts(url).await;
    only_granted_stores_open(url).await;
    cas_race_has_one_winner(url).await;
    redis_counters_are_decimal_text(url).await;
    // Create-if-absent is atomic here (WATCH on an absent key).
    let urls =
        (0..32).map(|i| (format!("{url}/kv/cas/race-new?absent=1&hold_ms=200"), format!("creator-{i}"))).collect();
    let results = concurrently(urls).await;
    assert_eq!(results.iter().filter(|r| r.0 == 200).count(), 1, "{results:?}");
    // get-many is MGET: every key, with its value or none.
    post(&format!("{url}/kv/spin/set/alpha"), "one").await;
    assert_eq!(get(&format!("{url}/kv/get-many?keys=alpha,missing")).await, (200, "alpha=one\nmissing".into()));
}

/// `(status, body, how long it took)` of a GET.
async fn timed_get(url: &str) -> (u16, String, std::time::Duration) {
    let started = std::time::Instant::now();
    let (status, body) = get(url).await;
    (status, body, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_store_fails_at_once_while_redis_is_down_and_serves_again_within_a_second_of_its_return() {
    let Some(mut redis) = redis_server() else { return };
    let (app, _dir) = app_on_redis(&redis, None).await;
    let url = app.url.as_str();
    assert_eq!(post(&format!("{url}/kv/spin/set/kept"), "before").await.0, 200);
    redis.stop();
    for _ in 0..3 {
        let (status, body, took) = timed_get(&format!("{url}/kv/spin/get/kept")).await;
        assert_eq!(status, 500, "the store's error reaches the guest: {body}");
        assert!(took < std::time::Duration::from_secs(2), "an answer, not a hang: {took:?}");
    }
    redis.start_again();
    let back = std::time::Instant::now();
    let mut last = timed_get(&format!("{url}/kv/spin/get/kept")).await;
    while last.0 != 200 && back.elapsed() < std::time::Duration::from_secs(5) {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        last = timed_get(&format!("{url}/kv/spin/get/kept")).await;
    }
    assert_eq!((last.0, last.1.as_str()), (200, "before"), "after {:?}", back.elapsed());
    assert!(back.elapsed() < std::time::Duration::from_secs(1), "served again after {:?}", back.elapsed());
    assert_eq!(get(&format!("{url}/kv/incr/n?delta=2")).await, (200, "2".into()), "every operation works again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_redis_fails_requests_not_the_start_as_in_spin() {
    let port = crate::common::free_port();
    let dir = tempfile::tempdir().expect("temp dir");
    let rc = runtime_config(
        dir.path(),
        &format!("[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://127.0.0.1:{port}\"\n"),
    );
    let app = start(|o| o.runtime_config_file = Some(rc)).await;
    for api in ["spin", "wasi"] {
        let (status, body) = get(&format!("{}/kv/{api}/get/x", app.url)).await;
        assert!(
            status == 403 && body.starts_with("open: ") && body.contains("Other("),
            "opening the store fails: {status} {body}"
        );
    }
    assert_eq!(get(&format!("{}/.well-known/spin/health", app.url)).await, (200, "OK".into()));
}
