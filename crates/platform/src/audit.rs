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
//! error code of ours), `detail` (a short fixed description of ours), `caller_text` (text the
//! caller sent that the event quotes), `limit` (which rate limit), `retry_after` (seconds).
//! Absent fields are omitted, never `null`.
//!
//! **Never in an event**: tokens, codes, client secrets, state handles, cookies, tool arguments
//! or prompt text. Only identifiers (client id, user id, grant id) and our own codes and
//! descriptions go in `error` and `detail`; whatever else a caller wrote (a `grant_type`, a
//! parameter name, Clerk's `error_description` as it came back through the browser) goes in
//! `caller_text` and nowhere else. Every text field has its control characters, line and
//! paragraph separators and bidi/format characters escaped (`platform::text::escape_hidden`,
//! so neither the raw line nor its parsed fields can be split, forged or reordered by a
//! caller) and is cut at [`MAX_FIELD_CHARS`] characters.

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
    /// A verified Clerk webhook was acted on (`user_id`, `detail`: what it did; `caller_text`:
    /// the event type).
    WebhookProcessed,
    /// A Clerk webhook delivery was refused (`error`: why; nothing was changed).
    WebhookRefused,
    /// An operator revoked grants from the console (`user_id`: the operator; `grant_id`, or
    /// `client_id`, or `caller_text`: the user whose grants; `detail`: what).
    AdminRevoked,
    /// An operator blocked a client (`client_id`; `user_id`: the operator).
    ClientBlocked,
    /// An operator lifted a client's block.
    ClientUnblocked,
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
            Event::WebhookProcessed => "webhook.processed",
            Event::WebhookRefused => "webhook.refused",
            Event::AdminRevoked => "admin.revoked",
            Event::ClientBlocked => "admin.client_blocked",
            Event::ClientUnblocked => "admin.client_unblocked",
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
            | Event::WebhookRefused => Outcome::Failure,
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Fields {
    client_id: Option<String>,
    user_id: Option<String>,
    client_addr: Option<String>,
    grant_id: Option<String>,
    tool: Option<String>,
    duration_ms: Option<u64>,
    error: Option<String>,
    detail: Option<String>,
    caller_text: Option<String>,
    limit: Option<String>,
    retry_after: Option<u64>,
}

/// A whole line, in field order.
#[derive(Serialize)]
struct Line<'a> {
    ts: &'a str,
    event: &'static str,
    component: &'a str,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_addr: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grant_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    caller_text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
}

/// A text field as it is kept: hidden characters escaped, then cut at [`MAX_FIELD_CHARS`].
fn cut(text: &str) -> String {
    // Printable ASCII has nothing to escape and one byte per character: a copy, or a byte cut.
    if crate::text::is_printable_ascii(text) {
        return text.get(..MAX_FIELD_CHARS).unwrap_or(text).to_owned();
    }
    crate::text::escape_hidden(text).chars().take(MAX_FIELD_CHARS).collect()
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

    /// An error code of ours (`invalid_grant`, `access_denied`, ...). A code someone else sent
    /// (Clerk's, through the browser) goes in [`caller_text`](Self::caller_text).
    #[must_use]
    pub fn error(mut self, code: &str) -> Self {
        self.fields.error = Some(cut(code));
        self
    }

    /// A short description of ours. Never a credential, a cookie, user content or anything a
    /// caller wrote (that is [`caller_text`](Self::caller_text)).
    #[must_use]
    pub fn detail(mut self, detail: &str) -> Self {
        self.fields.detail = Some(cut(detail));
        self
    }

    /// Text the caller sent that the event is about (a `grant_type` value, a parameter name,
    /// Clerk's error as it came back through the browser): kept apart from our own words,
    /// escaped and cut like every field. Never a credential.
    #[must_use]
    pub fn caller_text(mut self, text: &str) -> Self {
        self.fields.caller_text = Some(cut(text));
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
    /// inspects (the line without `ts` and `component`).
    pub fn to_json(&self) -> serde_json::Value {
        let mut value: serde_json::Value = serde_json::from_str(&self.to_line("", 0)).unwrap_or_default();
        if let serde_json::Value::Object(map) = &mut value {
            map.remove("ts");
            map.remove("component");
        }
        value
    }

    /// The log line (with its trailing newline) as `component` writes it at `now_unix`.
    pub fn to_line(&self, component: &str, now_unix: u64) -> String {
        let ts = crate::calendar::rfc3339(now_unix);
        let f = &self.fields;
        let line = Line {
            ts: &ts,
            event: self.event.name(),
            component,
            outcome: self.outcome.name(),
            client_id: f.client_id.as_deref(),
            user_id: f.user_id.as_deref(),
            client_addr: f.client_addr.as_deref(),
            grant_id: f.grant_id.as_deref(),
            tool: f.tool.as_deref(),
            duration_ms: f.duration_ms,
            error: f.error.as_deref(),
            detail: f.detail.as_deref(),
            caller_text: f.caller_text.as_deref(),
            limit: f.limit.as_deref(),
            retry_after: f.retry_after,
        };
        // Strings and integers always serialise; the fallback keeps this panic-free regardless.
        let mut text = serde_json::to_string(&line).unwrap_or_else(|_| format!(r#"{{"event":"{}"}}"#, line.event));
        text.push('\n');
        text
    }
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
            .caller_text("what they sent")
            .limit("tool_calls")
            .retry_after(7);
        let line = event.to_line("mcp-handler", 0);
        let names = [
            "ts",
            "event",
            "component",
            "outcome",
            "tool",
            "duration_ms",
            "error",
            "detail",
            "caller_text",
            "limit",
            "retry_after",
        ];
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
        assert!(value["client_id"].as_str().unwrap().starts_with(r#"evil\n{"event":"forged"}\r\u{2028}x"#));
    }

    #[test]
    fn a_long_printable_field_is_cut_at_the_same_length_as_any_other() {
        let ascii = "a".repeat(MAX_FIELD_CHARS + 50);
        let accented = "\u{e9}".repeat(MAX_FIELD_CHARS + 50);
        for text in [&ascii, &accented] {
            let event = AuditEvent::new(Event::TokenFailed).client_id(text);
            let value: Value = serde_json::from_str(&event.to_line("c", 0)).unwrap();
            assert_eq!(value["client_id"].as_str().unwrap().chars().count(), MAX_FIELD_CHARS);
        }
        let short = AuditEvent::new(Event::TokenFailed).client_id("client_1");
        assert_eq!(short.to_json()["client_id"], "client_1");
    }

    #[test]
    fn separators_and_bidi_controls_are_escaped_in_the_line_and_in_its_parsed_fields() {
        let hostile = "grant\u{2028}{\"event\":\"forged\"}\u{2029}\u{202e}desrever\u{200b}";
        let event = AuditEvent::new(Event::TokenFailed).detail(hostile).caller_text(hostile).error(hostile);
        let line = event.to_line("c", 0);
        assert!(!crate::text::has_hidden_characters(line.trim_end_matches('\n')), "{line:?}");
        let value: Value = serde_json::from_str(&line).unwrap();
        for field in ["detail", "caller_text", "error"] {
            let text = value[field].as_str().unwrap();
            assert!(!crate::text::has_hidden_characters(text), "{field}: {text:?}");
            assert!(text.contains(r"\u{2028}") && text.contains(r"\u{202e}"), "{field}: {text:?}");
        }
    }

    #[test]
    fn memory_audit_keeps_events_in_order_and_filters_by_kind() {
        let audit = MemoryAudit::new();
        audit.record(AuditEvent::new(Event::ClientRegistered).client_id("a"));
        let through_a_reference: &dyn AuditLog = &&audit;
        through_a_reference.record(AuditEvent::new(Event::TokenIssued).client_id("a"));
        assert_eq!(audit.events().len(), 2);
        assert_eq!(
            audit.of(Event::TokenIssued),
            [json!({"event": "token.issued", "outcome": "success", "client_id": "a"})]
        );
        assert!(audit.of(Event::TokenRevoked).is_empty());
    }
}
