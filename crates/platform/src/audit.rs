//! The audit trail port: one JSON line per security event, for operators to ship to their log
//! system.
//!
//! The libraries describe what happened as an [`AuditEvent`] and hand it to an [`AuditLog`];
//! how it is written is the host's business. `spin-platform` prints each event as one line on
//! the component's stdout (Spin keeps a component's stdout in its logs, and platforms ship it);
//! tests use [`MemoryAudit`].
//!
//! **Line format** ([`AuditEvent::to_line`]): a JSON object on one line with, in this order,
//! `ts` (RFC 3339, UTC, seconds), `event` (a fixed name, [`Event::name`]), `component`,
//! `outcome` ([`Outcome::name`]), then whichever of these the event carries: `client_id`,
//! `user_id`, `client_addr` (IP address only), `grant_id`, `tool`, `duration_ms`, `error` (an
//! error code, ours or Clerk's), `detail` (a short fixed description), `limit` (which rate
//! limit), `retry_after` (seconds). Absent fields are omitted, never `null`.
//!
//! **Never in an event**: tokens, codes, client secrets, state handles, cookies, tool arguments
//! or prompt text. Only identifiers (client id, user id, grant id) and our own descriptions go
//! in. Every text field is cut at [`MAX_FIELD_CHARS`] characters, and JSON escaping keeps any
//! text a caller influenced (a presented client id, Clerk's error) on its one line.

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

/// Where events go.
pub trait AuditLog {
    fn record(&self, event: AuditEvent);
}

impl<T: AuditLog + ?Sized> AuditLog for &T {
    fn record(&self, event: AuditEvent) {
        (**self).record(event)
    }
}

/// What happened: the `event` field. The names are part of the log format; operators build
/// alerts on them, so they never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// `POST /register` created a client.
    ClientRegistered,
    /// The user approved a client on the consent page (or a remembered approval applied).
    ConsentApproved,
    /// The user denied a client on the consent page.
    ConsentDenied,
    /// Clerk signed the user in and the client got its authorization code.
    SignInCompleted,
    /// The sign-in ended without a code (Clerk's error, a refused or broken Clerk answer).
    SignInFailed,
    /// `/token` exchanged an authorization code for tokens.
    TokenIssued,
    /// `/token` rotated a refresh token.
    TokenRefreshed,
    /// `/revoke` revoked a token (and, for a refresh token, its grant).
    TokenRevoked,
    /// `/token` refused a request (the OAuth error is in `error`).
    TokenFailed,
    /// A rotated refresh token was presented after its grace window: the grant was revoked.
    RefreshTokenReused,
    /// An authorization code was presented again: its grant was revoked.
    CodeReused,
    /// A request was refused by a rate limit or a stream cap (`limit`, `retry_after`).
    RateLimited,
    /// An MCP tool ran (`tool`, `outcome`, `duration_ms`).
    ToolCalled,
    /// Something failed on our side; `detail` says what, for the operator (the caller gets a
    /// generic answer).
    ServerError,
}

impl Event {
    /// The value of the `event` field.
    pub fn name(self) -> &'static str {
        match self {
            Event::ClientRegistered => "client.registered",
            Event::ConsentApproved => "consent.approved",
            Event::ConsentDenied => "consent.denied",
            Event::SignInCompleted => "sign_in.completed",
            Event::SignInFailed => "sign_in.failed",
            Event::TokenIssued => "token.issued",
            Event::TokenRefreshed => "token.refreshed",
            Event::TokenRevoked => "token.revoked",
            Event::TokenFailed => "token.failed",
            Event::RefreshTokenReused => "token.refresh_reused",
            Event::CodeReused => "token.code_reused",
            Event::RateLimited => "rate_limited",
            Event::ToolCalled => "tool.called",
            Event::ServerError => "server.error",
        }
    }

    /// The outcome an event of this kind has unless the caller says otherwise.
    fn usual_outcome(self) -> Outcome {
        match self {
            Event::ConsentDenied => Outcome::Denied,
            Event::SignInFailed
            | Event::TokenFailed
            | Event::RefreshTokenReused
            | Event::CodeReused
            | Event::ServerError => Outcome::Failure,
            Event::RateLimited => Outcome::Limited,
            _ => Outcome::Success,
        }
    }
}

/// How it ended: the `outcome` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// Refused or failed (a bad request, a tool error, an outage).
    Failure,
    /// The user said no.
    Denied,
    /// A rate limit or cap refused it.
    Limited,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
            Outcome::Limited => "limited",
        }
    }
}

/// The longest text a field keeps, in characters.
pub const MAX_FIELD_CHARS: usize = 200;

/// One security event. Built with [`AuditEvent::new`] and the setters, which cut long text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    event: Event,
    outcome: Outcome,
    fields: Fields,
}

/// The optional fields, in line order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
struct Fields {
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_addr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
}

/// A whole line, in field order.
#[derive(Serialize)]
struct Line<'a> {
    ts: String,
    event: &'static str,
    component: &'a str,
    outcome: &'static str,
    #[serde(flatten)]
    fields: &'a Fields,
}

fn cut(text: &str) -> String {
    text.chars().take(MAX_FIELD_CHARS).collect()
}

impl AuditEvent {
    pub fn new(event: Event) -> Self {
        Self { event, outcome: event.usual_outcome(), fields: Fields::default() }
    }

    pub fn event(&self) -> Event {
        self.event
    }

    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    #[must_use]
    pub fn with_outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    #[must_use]
    pub fn client_id(mut self, client_id: &str) -> Self {
        self.fields.client_id = Some(cut(client_id));
        self
    }

    #[must_use]
    pub fn user_id(mut self, user_id: &str) -> Self {
        self.fields.user_id = Some(cut(user_id));
        self
    }

    /// The caller's IP address (no port), when the host knows it.
    #[must_use]
    pub fn client_addr(mut self, addr: Option<IpAddr>) -> Self {
        self.fields.client_addr = addr.map(|ip| ip.to_string());
        self
    }

    #[must_use]
    pub fn grant_id(mut self, grant_id: &str) -> Self {
        self.fields.grant_id = Some(cut(grant_id));
        self
    }

    #[must_use]
    pub fn tool(mut self, tool: &str) -> Self {
        self.fields.tool = Some(cut(tool));
        self
    }

    #[must_use]
    pub fn duration(mut self, duration: Duration) -> Self {
        self.fields.duration_ms = Some(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// An error code (`invalid_grant`, Clerk's `access_denied`, ...).
    #[must_use]
    pub fn error(mut self, code: &str) -> Self {
        self.fields.error = Some(cut(code));
        self
    }

    /// A short description. Never a credential, a cookie or user content.
    #[must_use]
    pub fn detail(mut self, detail: &str) -> Self {
        self.fields.detail = Some(cut(detail));
        self
    }

    /// Which rate limit or cap refused the request.
    #[must_use]
    pub fn limit(mut self, name: &str) -> Self {
        self.fields.limit = Some(cut(name));
        self
    }

    #[must_use]
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.fields.retry_after = Some(seconds);
        self
    }

    /// The event's own fields (`event`, `outcome` and those set) as a JSON object: what a test
    /// inspects.
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(&self.fields).unwrap_or_default();
        if let serde_json::Value::Object(map) = &mut value {
            map.insert("event".into(), self.event.name().into());
            map.insert("outcome".into(), self.outcome.name().into());
        }
        value
    }

    /// The log line (with its trailing newline) as `component` writes it at `now_unix`.
    pub fn to_line(&self, component: &str, now_unix: u64) -> String {
        let line = Line {
            ts: rfc3339(now_unix),
            event: self.event.name(),
            component,
            outcome: self.outcome.name(),
            fields: &self.fields,
        };
        // Strings and integers always serialise; the fallback keeps this panic-free regardless.
        let mut text = serde_json::to_string(&line).unwrap_or_else(|_| format!(r#"{{"event":"{}"}}"#, line.event));
        text.push('\n');
        text
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds (the proleptic Gregorian calendar, UTC).
pub fn rfc3339(unix: u64) -> String {
    let (days, secs) = (unix / 86_400, unix % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// The calendar date `days` after 1970-01-01 (H. Hinnant's `civil_from_days`, for days >= 0).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097; // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era, 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1st, 0..=365
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Events kept in memory, for tests.
#[derive(Debug, Default)]
pub struct MemoryAudit {
    events: Mutex<Vec<AuditEvent>>,
}

impl MemoryAudit {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every event so far, in order.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.lock().clone()
    }

    /// The events of one kind, as JSON objects ([`AuditEvent::to_json`]).
    pub fn of(&self, event: Event) -> Vec<serde_json::Value> {
        self.lock().iter().filter(|e| e.event == event).map(AuditEvent::to_json).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<AuditEvent>> {
        // A push cannot leave the vector half-written, so poisoning is moot.
        self.events.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl AuditLog for MemoryAudit {
    fn record(&self, event: AuditEvent) {
        self.lock().push(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn a_line_has_the_fixed_fields_in_order_then_only_those_set() {
        let event = AuditEvent::new(Event::TokenIssued)
            .client_id("client_1")
            .user_id("user_1")
            .client_addr(Some("192.0.2.7".parse().unwrap()))
            .grant_id("grant_1");
        let line = event.to_line("oauth-provider", 1_700_000_000);
        assert_eq!(
            line,
            concat!(
                r#"{"ts":"2023-11-14T22:13:20Z","event":"token.issued","component":"oauth-provider","outcome":"success","#,
                r#""client_id":"client_1","user_id":"user_1","client_addr":"192.0.2.7","grant_id":"grant_1"}"#,
                "\n"
            )
        );
    }

    #[test]
    fn every_optional_field_has_its_documented_name() {
        let event = AuditEvent::new(Event::ToolCalled)
            .with_outcome(Outcome::Failure)
            .tool("add")
            .duration(Duration::from_micros(2_500))
            .error("tool_error")
            .detail("the tool reported an error")
            .limit("tool_calls")
            .retry_after(7);
        let line = event.to_line("mcp-handler", 0);
        let names =
            ["ts", "event", "component", "outcome", "tool", "duration_ms", "error", "detail", "limit", "retry_after"];
        let positions: Vec<usize> = names.iter().map(|name| line.find(&format!(r#""{name}":"#)).unwrap()).collect();
        assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "{line}");
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value.as_object().unwrap().len(), names.len());
        assert_eq!(value["duration_ms"], 2);
        assert_eq!(value["ts"], "1970-01-01T00:00:00Z");
    }

    #[test]
    fn outcomes_follow_the_event_unless_set() {
        assert_eq!(AuditEvent::new(Event::ConsentDenied).outcome(), Outcome::Denied);
        assert_eq!(AuditEvent::new(Event::RateLimited).outcome(), Outcome::Limited);
        assert_eq!(AuditEvent::new(Event::CodeReused).outcome(), Outcome::Failure);
        assert_eq!(AuditEvent::new(Event::ClientRegistered).outcome(), Outcome::Success);
        let failed_call = AuditEvent::new(Event::ToolCalled).with_outcome(Outcome::Failure);
        assert_eq!(failed_call.to_json()["outcome"], "failure");
    }

    #[test]
    fn caller_influenced_text_stays_on_one_line_and_is_cut() {
        let hostile = format!("evil\n{{\"event\":\"forged\"}}\r\u{2028}{}", "x".repeat(1000));
        let line = AuditEvent::new(Event::TokenFailed).client_id(&hostile).to_line("c", 0);
        assert_eq!(line.matches('\n').count(), 1, "{line}");
        assert!(line.ends_with('\n'));
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["event"], "token.failed");
        assert_eq!(value["client_id"].as_str().unwrap().chars().count(), MAX_FIELD_CHARS);
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(rfc3339(4_102_444_800), "2100-01-01T00:00:00Z");
    }

    #[test]
    fn memory_audit_keeps_events_in_order_and_filters_by_kind() {
        let audit = MemoryAudit::new();
        audit.record(AuditEvent::new(Event::ClientRegistered).client_id("a"));
        let by_reference: &dyn AuditLog = &&audit;
        by_reference.record(AuditEvent::new(Event::TokenIssued).client_id("a"));
        assert_eq!(audit.events().len(), 2);
        assert_eq!(
            audit.of(Event::TokenIssued),
            [json!({"event": "token.issued", "outcome": "success", "client_id": "a"})]
        );
        assert!(audit.of(Event::TokenRevoked).is_empty());
    }
}
