//! What surrounds every tool call: the per-user rate limit (`rate_limit_tool_calls_per_minute`,
//! off by default) and the audit trail (`tool.called`: tool, user, client, outcome, duration;
//! never the arguments).
//!
//! The limit costs one key-value write (an atomic increment) per `tools/call` when it is on,
//! which is why it is off by default: the `/mcp` hot path is otherwise one read and no write.

use std::net::IpAddr;
use std::time::Duration;

use platform::rate_limit::{Limit, Subject, Verdict};
use platform::{AuditEvent, AuditLog, Clock, Event, KeyValueStore, Outcome};

/// How a tool call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    Success,
    /// The tool ran and reported an error (`isError: true`).
    ToolError,
    /// No such tool for this user.
    UnknownTool,
    InvalidArguments,
    /// The token lacks the tool's scope: the caller was challenged to step up.
    InsufficientScope,
}

impl CallOutcome {
    fn error(self) -> Option<&'static str> {
        match self {
            CallOutcome::Success => None,
            CallOutcome::ToolError => Some("tool_error"),
            CallOutcome::UnknownTool => Some("unknown_tool"),
            CallOutcome::InvalidArguments => Some("invalid_arguments"),
            CallOutcome::InsufficientScope => Some("insufficient_scope"),
        }
    }
}

/// A refused call: the limit, and when the caller may try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub limit: Limit,
    pub retry_after: u64,
}

/// The tool calls of one authenticated request.
pub struct ToolCalls<'a> {
    pub store: &'a dyn KeyValueStore,
    pub clock: &'a dyn Clock,
    pub limit: Limit,
    pub audit: &'a dyn AuditLog,
    pub user_id: &'a str,
    pub client_id: &'a str,
    pub client_addr: Option<IpAddr>,
}

impl ToolCalls<'_> {
    /// Counts a call of `tool` against the user's limit; a refusal is recorded. A store that
    /// cannot count lets the call through (see `platform::rate_limit`).
    pub fn admit(&self, tool: &str) -> Result<(), Refused> {
        match self.limit.hit(self.store, self.clock, Subject::User(self.user_id)) {
            Ok(Verdict::Limited { retry_after }) => {
                let event = self.event(Event::RateLimited, tool).limit(self.limit.name).retry_after(retry_after);
                self.audit.record(event);
                Err(Refused { limit: self.limit, retry_after })
            }
            Ok(Verdict::Allowed) | Err(_) => Ok(()),
        }
    }

    /// Records a call of `tool` that ran (or was turned down) in `took`.
    pub fn record(&self, tool: &str, outcome: CallOutcome, took: Duration) {
        let mut event = self.event(Event::ToolCalled, tool).duration(took);
        if let Some(error) = outcome.error() {
            event = event.with_outcome(Outcome::Failure).error(error);
        }
        self.audit.record(event);
    }

    fn event(&self, event: Event, tool: &str) -> AuditEvent {
        AuditEvent::new(event).tool(tool).user_id(self.user_id).client_id(self.client_id).client_addr(self.client_addr)
    }
}
