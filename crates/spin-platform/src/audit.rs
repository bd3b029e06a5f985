//! The audit port ([`platform::AuditLog`]) on Spin: each event is one JSON line on the
//! component's stdout, which Spin keeps in its logs (`<state dir>/logs/<component>_stdout.txt`
//! and, unless `spin up --quiet`, on its own output) and platforms ship.

use std::io::Write;

use platform::{AuditEvent, AuditLog, Clock, SystemClock};

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
        // One `write_all` per line (the line is short: every field is capped), so lines from
        // concurrent instances do not interleave. Not `println!`: it panics when stdout is
        // closed, and an audit line must never take a request down with it.
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(line.as_bytes());
        let _ = stdout.flush();
    }
}
