//! What the sweep of the expiry index costs on a real store: 900 sign-in records that expired
//! (consent pages never submitted, aged by hand as time would), then one request that stores
//! something; the time from its response until every one of them is gone is its catch-up turn
//! (`platform::housekeeping`, up to 1,000 entries) plus its share, on the runtime's SQLite store.
//!
//! Run: `cargo test -p e2e --profile host sweep_bench:: -- --ignored --nocapture` (spin-local),
//! or with `E2E_SPIN_BINARY=<path to spin>` under a real `spin up`.

#![allow(clippy::print_stdout, reason = "a benchmark: printing its numbers is its job")]

use std::time::{Duration, Instant};

use e2e::{Browser, Pkce, TestApp};

/// Most of one catch-up turn's 1,000 entries (the rest goes to the minutes it walks through).
const RECORDS: usize = 900;

#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn a_catch_up_turn_over_nine_hundred_expired_records() {
    let app = TestApp::builder().variable("rate_limit_sign_in_per_minute", "1000000").start();
    let client = app.register_client(false);
    let mut browser = Browser::new();
    for n in 0..RECORDS {
        assert_eq!(browser.get(&app.authorize_url(&client, &Pkce::new(), &format!("s{n}"))).status, 200);
    }
    let aged = app.kv_keys("signin:consent:");
    assert_eq!(aged.len(), RECORDS);
    // The housekeeping after the last responses may still run: age the records once it is done,
    // and send the request at the start of a catch-up turn (one per 10 seconds), so that no
    // other request has taken that turn.
    std::thread::sleep(Duration::from_secs(2));
    let store = app.store();
    aged.iter().for_each(|key| e2e::store::age_record(&store, key, &[]));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    std::thread::sleep(Duration::from_millis(10_000 - (now.as_millis() % 10_000) as u64 + 50));

    let started = Instant::now();
    assert_eq!(browser.get(&app.authorize_url(&client, &Pkce::new(), "trigger")).status, 200);
    let answered = started.elapsed();
    app.wait_until_within("the aged records are swept", Duration::from_secs(120), || {
        app.kv_keys("signin:consent:").len() <= 1
    });
    let swept = started.elapsed();
    println!(
        "\n== sweep: {RECORDS} expired records, one request: answered in {:.1} ms, all swept {:.0} ms after \
         it was sent ({:.2} ms per entry) ==",
        answered.as_secs_f64() * 1e3,
        swept.as_secs_f64() * 1e3,
        swept.as_secs_f64() * 1e3 / RECORDS as f64
    );
}
