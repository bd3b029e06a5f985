//! The audit port ([`platform::AuditLog`]) on Spin: each event is one JSON line on the
//! component's stdout, which Spin keeps in its logs (`<state dir>/logs/<component>_stdout.txt`
//! and, unless `spin up --quiet`, on its own output) and platforms ship.

use platform::{AuditEvent, AuditLog, Clock, SystemClock};
use wasi::cli::stdout;

/// Writes audit events to stdout, naming the component they come from.
#[derive(Debug, Clone, Copy)]
pub struct StdoutAudit {
    component: &'static str,
}

impl StdoutAudit {
    /// `component` is the id in `spin.toml` (`oauth-provider`, ...): the line's `component`.
    pub const fn new(component: &'static str) -> Self {
        Self { component }
    }
}

impl AuditLog for StdoutAudit {
    fn record(&self, event: AuditEvent) {
        let line = event.to_line(self.component, SystemClock.now_unix());
        // One write per line (short: every field is capped, far below the 4096 bytes one
        // `blocking-write-and-flush` takes), so lines from concurrent instances do not
        // interleave. Straight to `wasi:cli/stdout` rather than through `println!`, which
        // panics when stdout is closed (an audit line must never take a request down) and
        // brings std's buffered stdout into every component.
        let _ = stdout::get_stdout().blocking_write_and_flush(line.as_bytes());
    }
}
