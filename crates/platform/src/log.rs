//! The operator's log: a Spin component's stderr, which Spin keeps (`spin up` prints it, and with
//! `--log-dir` writes `<component>_stderr.txt`; hosted platforms collect it). What a client is told
//! only generically (a store's or Clerk's error, a broken setting) is written here in full.

/// Writes one line: `<source>: <what>: <detail>`, cleaned as [`crate::diagnostic`] lines are
/// (the detail may quote what Clerk or a caller sent: it must not forge or flood log lines).
#[allow(clippy::print_stderr, reason = "a Spin component's log is its stderr")]
pub fn failure(source: &str, what: &str, detail: &dyn std::fmt::Display) {
    eprintln!("{source}: {}", crate::diagnostic::clean(&format!("{what}: {detail}")));
}
