//! Clerk's webhook events, as far as this server acts on them.
//!
//! Every event is `{"object":"event","type":"<type>","data":{...},"timestamp":<ms>, ...}`:
//! - `user.deleted`: `data` is `{"id":"user_..","deleted":true,"object":"user"}`;
//! - `user.updated`: `data` is Clerk's User object (`id`, `banned`, `public_metadata`, ...);
//! - `session.revoked`, `session.ended`: `data` is a Session (`id`, `user_id`, `status`, ...);
//! - anything else is acknowledged and ignored.
//!
//! Only the fields read here are checked; Clerk adds fields freely.

use serde::Deserialize;
use serde_json::Value;

/// The longest user or session id accepted (Clerk's are `user_` and 27 characters).
const MAX_ID_LEN: usize = 128;

/// What an event asks of this server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClerkEvent {
    /// `user.deleted`.
    UserDeleted { user_id: String },
    /// `user.updated`: the user's ban state and role (`public_metadata.role`, when it is a string).
    UserUpdated { user_id: String, banned: bool, role: Option<String> },
    /// `session.revoked` or `session.ended` (`kind` says which) of the Clerk session
    /// `session_id`.
    SessionEnded { kind: SessionEnd, user_id: String, session_id: String },
    /// Any other type: acknowledged, ignored.
    Other { event_type: String },
}

/// Which session event it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    Revoked,
    Ended,
}

impl SessionEnd {
    pub fn event_type(self) -> &'static str {
        match self {
            SessionEnd::Revoked => "session.revoked",
            SessionEnd::Ended => "session.ended",
        }
    }
}

impl ClerkEvent {
    /// The event's `type`, for the audit trail.
    pub fn event_type(&self) -> &str {
        match self {
            ClerkEvent::UserDeleted { .. } => "user.deleted",
            ClerkEvent::UserUpdated { .. } => "user.updated",
            ClerkEvent::SessionEnded { kind, .. } => kind.event_type(),
            ClerkEvent::Other { event_type } => event_type,
        }
    }

    /// The user the event is about, when this server acts on it.
    pub fn user_id(&self) -> Option<&str> {
        match self {
            ClerkEvent::UserDeleted { user_id }
            | ClerkEvent::UserUpdated { user_id, .. }
            | ClerkEvent::SessionEnded { user_id, .. } => Some(user_id),
            ClerkEvent::Other { .. } => None,
        }
    }
}

/// Why a body is not an event this server can act on (a 400; nothing changed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("the body is not a JSON object with a string `type`")]
    NotAnEvent,
    #[error("the `{event_type}` event has no valid `data.{field}`")]
    MissingField { event_type: &'static str, field: &'static str },
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    event_type: String,
    #[serde(default)]
    data: Value,
}

/// Parses a delivery's body (already verified as sent by Clerk).
pub fn parse(body: &[u8]) -> Result<ClerkEvent, EventError> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|_| EventError::NotAnEvent)?;
    let data = &envelope.data;
    match envelope.event_type.as_str() {
        "user.deleted" => Ok(ClerkEvent::UserDeleted { user_id: id_field("user.deleted", data, "id")? }),
        "user.updated" => Ok(ClerkEvent::UserUpdated {
            user_id: id_field("user.updated", data, "id")?,
            banned: data.get("banned").and_then(Value::as_bool).unwrap_or(false),
            role: data
                .get("public_metadata")
                .and_then(|metadata| metadata.get("role"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        }),
        "session.revoked" => session(SessionEnd::Revoked, data),
        "session.ended" => session(SessionEnd::Ended, data),
        _ => Ok(ClerkEvent::Other { event_type: envelope.event_type }),
    }
}

fn session(kind: SessionEnd, data: &Value) -> Result<ClerkEvent, EventError> {
    let event_type = kind.event_type();
    Ok(ClerkEvent::SessionEnded {
        kind,
        user_id: id_field(event_type, data, "user_id")?,
        session_id: id_field(event_type, data, "id")?,
    })
}

/// `data.<field>`: a non-empty id of visible ASCII characters.
fn id_field(event_type: &'static str, data: &Value, field: &'static str) -> Result<String, EventError> {
    data.get(field)
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty() && id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .ok_or(EventError::MissingField { event_type, field })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_deleted_as_clerk_sends_it() {
        let body = br#"{"data":{"deleted":true,"id":"user_29wBMCtzATuFJut8jO2VNTVekS4","object":"user"},
            "object":"event","timestamp":1661861640000,"type":"user.deleted","instance_id":"ins_123"}"#;
        assert_eq!(
            parse(body).unwrap(),
            ClerkEvent::UserDeleted { user_id: "user_29wBMCtzATuFJut8jO2VNTVekS4".into() }
        );
    }

    #[test]
    fn user_updated_reads_ban_and_role() {
        let body = br#"{"type":"user.updated","object":"event","data":{"id":"user_1","object":"user",
            "banned":true,"public_metadata":{"role":"premium","other":1},"first_name":"A"}}"#;
        assert_eq!(
            parse(body).unwrap(),
            ClerkEvent::UserUpdated { user_id: "user_1".into(), banned: true, role: Some("premium".into()) }
        );
        let plain = br#"{"type":"user.updated","data":{"id":"user_1","public_metadata":{}}}"#;
        assert_eq!(
            parse(plain).unwrap(),
            ClerkEvent::UserUpdated { user_id: "user_1".into(), banned: false, role: None }
        );
        let odd_role = br#"{"type":"user.updated","data":{"id":"user_1","public_metadata":{"role":7}}}"#;
        assert_eq!(
            parse(odd_role).unwrap(),
            ClerkEvent::UserUpdated { user_id: "user_1".into(), banned: false, role: None }
        );
    }

    #[test]
    fn session_events_name_their_user() {
        let body = br#"{"type":"session.revoked","data":{"id":"sess_1","user_id":"user_1","status":"revoked"}}"#;
        assert_eq!(
            parse(body).unwrap(),
            ClerkEvent::SessionEnded {
                kind: SessionEnd::Revoked,
                user_id: "user_1".into(),
                session_id: "sess_1".into()
            }
        );
        let ended = br#"{"type":"session.ended","data":{"id":"sess_1","user_id":"user_1"}}"#;
        assert_eq!(parse(ended).unwrap().event_type(), "session.ended");
    }

    #[test]
    fn other_types_are_kept_by_name() {
        let body = br#"{"type":"organization.created","data":{"id":"org_1"}}"#;
        assert_eq!(parse(body).unwrap(), ClerkEvent::Other { event_type: "organization.created".into() });
        assert_eq!(parse(body).unwrap().user_id(), None);
    }

    #[test]
    fn malformed_bodies_are_refused() {
        for body in [&b"not json"[..], b"[]", b"{}", br#"{"type":7}"#, b""] {
            assert_eq!(parse(body), Err(EventError::NotAnEvent), "{}", String::from_utf8_lossy(body));
        }
        for body in [
            &br#"{"type":"user.deleted","data":{}}"#[..],
            br#"{"type":"user.deleted"}"#,
            br#"{"type":"user.updated","data":{"id":""}}"#,
            br#"{"type":"user.updated","data":{"id":"user 1"}}"#,
            br#"{"type":"session.ended","data":{"id":"sess_1"}}"#,
            br#"{"type":"session.ended","data":{"user_id":"user_1"}}"#,
        ] {
            assert!(matches!(parse(body), Err(EventError::MissingField { .. })), "{}", String::from_utf8_lossy(body));
        }
    }
}
