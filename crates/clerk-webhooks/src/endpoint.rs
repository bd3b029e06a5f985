//! `POST /webhooks/clerk`: a delivery is checked, then acted on, then remembered.
//!
//! 1. Without `clerk_webhook_secret` the route does not exist: 404, and the log says why.
//! 2. `POST` only (405); a body of at most [`MAX_BODY_BYTES`] (413).
//! 3. The signature ([`crate::signature`]): 400 for missing or malformed headers, 401 for a
//!    timestamp outside the tolerance or no valid signature.
//! 4. A message id processed before: 409 `already_processed` ([`crate::processed`]).
//! 5. A body that is no Clerk event: 400.
//! 6. The webhook rate limit (counted only here, after the signature): 429 with `Retry-After`.
//! 7. The event acted on ([`act`]); a store failure, or a user with more grants than one
//!    delivery ends, is 503 with `Retry-After`, and the id is not remembered, so Svix's retry
//!    processes it again.
//! 8. The id remembered, an audit line written (`webhook.processed`), 200.
//!
//! Every refusal changes nothing in the store and leaves a `webhook.refused` audit line.

use http::StatusCode;
use oauth_core::user_access::{self, Changed};
use platform::rate_limit::{Subject, Verdict};
use platform::record::RecordError;
use platform::web::{self, Request, Response};
use platform::{AuditEvent, Event, Ports, VariableError, diagnostic};
use serde_json::json;

use crate::event::{self, ClerkEvent};
use crate::processed;
use crate::settings::{SessionEndPolicy, Settings};
use crate::signature::{self, SignatureError, SignedHeaders};

/// The largest body accepted: Clerk's User object with its metadata (each kind at most 8 KB)
/// is a few kilobytes; this leaves ample room.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The route.
pub const PATH: &str = "/webhooks/clerk";

/// Seconds Clerk is asked to wait after a 503.
const RETRY_AFTER_SECS: u64 = 30;

/// Answers a request to [`PATH`], with this crate's [`Settings`] read from `ports`' variables.
pub fn handle(ports: Ports<'_>, request: &Request) -> Response {
    match Settings::from_variables(ports.variables) {
        Ok(settings) => handle_with(ports, &settings, request),
        Err(error) => misconfigured(&error),
    }
}

/// [`handle`] with `settings`.
fn handle_with(ports: Ports<'_>, settings: &Settings, request: &Request) -> Response {
    let Some(secrets) = &settings.secrets else {
        let mut response = web::response(StatusCode::NOT_FOUND, &[("content-type", "text/plain")], "Not found");
        let why = format!("{PATH} is off: the variable `{}` is not set (README \"Clerk webhooks\")", Settings::SECRET);
        diagnostic::attach(&mut response, &why);
        return response;
    };
    if request.method() != http::Method::POST {
        return web::method_not_allowed("POST");
    }
    let refused = |status, code: &str, description: &str| {
        let event = AuditEvent::new(Event::WebhookRefused).error(code).client_addr(web::client_ip(request));
        ports.audit.record(event);
        error(status, code, description)
    };
    if request.body().len() > MAX_BODY_BYTES {
        return refused(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "the body is larger than 256 KiB");
    }
    let headers = SignedHeaders {
        id: web::header_str(request, signature::ID_HEADER),
        timestamp: web::header_str(request, signature::TIMESTAMP_HEADER),
        signature: web::header_str(request, signature::SIGNATURE_HEADER),
    };
    let verified = match signature::verify(secrets, headers, request.body(), ports.clock.now_unix()) {
        Ok(verified) => verified,
        Err(e) => return refused(signature_status(&e), e.code(), &e.to_string()),
    };
    match processed::was_processed(ports.store, ports.clock, &verified.id) {
        Ok(false) => {}
        Ok(true) => return refused(StatusCode::CONFLICT, "already_processed", "this message was processed before"),
        Err(_) => return unavailable(ports, request, "storage is unavailable"),
    }
    let event = match event::parse(request.body()) {
        Ok(event) => event,
        Err(e) => return refused(StatusCode::BAD_REQUEST, "invalid_event", &e.to_string()),
    };
    if let Ok(Verdict::Limited { retry_after }) = settings.rate_limit.hit(ports.store, ports.clock, Subject::Everyone) {
        let limit = settings.rate_limit;
        let audit = AuditEvent::new(Event::RateLimited).limit(limit.name).retry_after(retry_after);
        ports.audit.record(audit.client_addr(web::client_ip(request)));
        let mut response = error(StatusCode::TOO_MANY_REQUESTS, "rate_limited", &limit.refusal(retry_after));
        web::append_header(&mut response, "retry-after", &retry_after.to_string());
        return response;
    }
    let done = match act(ports, settings.session_end, &event) {
        Ok(done) if done.changed.complete => done,
        Ok(_) => return unavailable(ports, request, "the user has more grants than one delivery ends; retry"),
        Err(_) => return unavailable(ports, request, "storage is unavailable"),
    };
    if processed::mark_processed(ports.store, ports.clock, &verified.id).is_err() {
        return unavailable(ports, request, "storage is unavailable");
    }
    let mut audit = AuditEvent::new(Event::WebhookProcessed).detail(done.detail).caller_text(event.event_type());
    if let Some(user_id) = event.user_id() {
        audit = audit.user_id(user_id);
    }
    ports.audit.record(audit);
    web::json(
        StatusCode::OK,
        &json!({ "processed": event.event_type(), "action": done.action, "grants": done.changed.grants }),
    )
}

/// What acting on an event did.
struct Done {
    /// For the answer: `ended_access`, `dropped_access_tokens`, `revoked_session_grants`, `none`.
    action: &'static str,
    /// For the audit line.
    detail: &'static str,
    changed: Changed,
}

/// Acts on a verified event.
fn act(ports: Ports<'_>, session_end: SessionEndPolicy, event: &ClerkEvent) -> Result<Done, RecordError> {
    let (store, clock) = (ports.store, ports.clock);
    let nothing = |detail| Done { action: "none", detail, changed: Changed { grants: 0, complete: true } };
    Ok(match event {
        ClerkEvent::UserDeleted { user_id } => Done {
            action: "ended_access",
            detail: "user deleted in Clerk: every grant ended",
            changed: user_access::end_all(store, clock, user_id)?,
        },
        ClerkEvent::UserUpdated { user_id, banned: true, .. } => Done {
            action: "ended_access",
            detail: "user banned in Clerk: every grant ended",
            changed: user_access::end_all(store, clock, user_id)?,
        },
        ClerkEvent::UserUpdated { user_id, banned: false, role } => Done {
            action: "dropped_access_tokens",
            detail: "user updated in Clerk: access tokens of grants with another role dropped",
            changed: user_access::drop_tokens_on_role_change(store, clock, user_id, role.as_deref())?,
        },
        ClerkEvent::SessionEnded { user_id, session_id, .. } => match session_end {
            SessionEndPolicy::Ignore => nothing("Clerk session ended: ignored (clerk_webhook_session_end)"),
            SessionEndPolicy::RevokeSessionGrants => Done {
                action: "revoked_session_grants",
                detail: "Clerk session ended: the grants signed in through it revoked",
                changed: user_access::revoke_session_grants(store, clock, user_id, session_id)?,
            },
        },
        ClerkEvent::Other { .. } => nothing("event type not acted on: acknowledged"),
    })
}

fn signature_status(error: &SignatureError) -> StatusCode {
    match error {
        SignatureError::OutsideTolerance | SignatureError::NoValidSignature => StatusCode::UNAUTHORIZED,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// 503 with `Retry-After`: nothing was remembered, so Svix's retry is processed.
fn unavailable(ports: Ports<'_>, request: &Request, description: &str) -> Response {
    let event = AuditEvent::new(Event::WebhookRefused).error("temporarily_unavailable").detail(description);
    ports.audit.record(event.client_addr(web::client_ip(request)));
    let mut response = error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", description);
    web::append_header(&mut response, "retry-after", &RETRY_AFTER_SECS.to_string());
    response
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    web::json(status, &json!({ "error": code, "error_description": description }))
}

/// The answer when the store cannot be opened: 503, Svix retries.
pub fn store_unavailable(_: &Request, _: &platform::StoreError) -> Response {
    let mut response = error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", "storage is unavailable");
    web::append_header(&mut response, "retry-after", &RETRY_AFTER_SECS.to_string());
    response
}

/// The answer when the settings cannot be read: 500, the variable named in the log.
pub fn misconfigured(error: &VariableError) -> Response {
    let mut response = web::json(
        StatusCode::INTERNAL_SERVER_ERROR,
        &json!({ "error": "server_error", "error_description": "the webhook is misconfigured" }),
    );
    diagnostic::attach(&mut response, &error.to_string());
    response
}

#[cfg(test)]
mod tests;
