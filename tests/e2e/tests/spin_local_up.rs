//! The app served by `spin-local up` in a child process, configured by command-line flags
//! (`--from`, `--variable`, `--state-dir`) as a user runs it, rather than through the library.

use crate::mcp_support::*;
use e2e::TestApp;

#[test]
fn the_whole_flow_works_under_spin_local_up() {
    let app = TestApp::builder().separate_process().start();
    let token = token_for(&app, "admin@example.com");
    let response = mcp(&app, &token, ADD);
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json()["result"]["content"][0]["text"], "42");
    assert_eq!(app.kv_keys("oauth:access:").len(), 1, "the token is in --state-dir's SQLite store");
    assert!(app.peak_rss_kib().expect("the child's /proc status") > 0);
}
