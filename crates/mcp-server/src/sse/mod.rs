//! The legacy HTTP+SSE transport (MCP 2024-11-05), still used by older clients:
//! `GET /sse` opens a stream whose first event names the URL to POST messages to;
//! `POST /sse/message?sessionId=..` answers 202 and the response arrives on the stream.
//!
//! The POST and the stream run in different instances, so they meet in a key-value mailbox
//! ([`mailbox`]). This module holds the protocol (checks, framing, ownership); the component
//! owns the timing loop, calling [`SseStream::poll`] every [`SseStream::poll_interval`], which
//! backs off while the stream is idle and snaps back when a message arrives.
//!
//! Each open stream holds an instance of the runtime for up to `sse_max_seconds`, so the number
//! of open streams is capped per user and in all, with a share kept for users with few streams
//! ([`presence`]); past a cap `GET /sse` is a 429. While it lives, a stream checks its access
//! token again every few seconds and ends once the grant is revoked ([`access`]).

pub mod access;
pub mod keys;
pub mod mailbox;
pub mod presence;

use crate::dispatch::{Envelope, Reply, dispatch};
use crate::settings::SseSettings;
use crate::transport::auth::{self, Transport};
use crate::transport::{self, Endpoint, Services, body_refusal, checks};
use access::StreamAccess;
use http::{Method, StatusCode};
use mailbox::{Cursor, MailboxError};
use platform::web::{self, Cors, Request, Response};
use platform::{AuditEvent, Clock, Event, KeyValueStore};
use presence::{Full, Presence};
use std::time::Duration;

/// Where the stream tells clients to POST (relative to the stream's URL).
pub const MESSAGE_PATH: &str = "/sse/message";
/// Sent when nothing else was, so idle proxies keep the connection.
pub const KEEPALIVE: &str = ": keep-alive\n\n";
/// The session outlives the stream's own limit by this much, so a late POST still finds it.
const SESSION_GRACE_SECONDS: u64 = 30;

pub const SSE_CORS: Cors = Cors {
    allow_methods: "GET, POST, OPTIONS",
    allow_headers: Cors::DEFAULT_ALLOW_HEADERS,
    expose_headers: Cors::DEFAULT_EXPOSE_HEADERS,
};

const STREAM_ENDPOINT: Endpoint = Endpoint { method: Method::GET, cors: SSE_CORS, transport: Transport::LegacySse };
const MESSAGE_ENDPOINT: Endpoint = Endpoint { method: Method::POST, cors: SSE_CORS, transport: Transport::LegacySse };

/// One SSE event.
pub fn event(name: &str, data: &str) -> String {
    let mut frame = format!("event: {name}\n");
    for line in data.lines() {
        frame.push_str("data: ");
        frame.push_str(line);
        frame.push('\n');
    }
    frame.push('\n');
    frame
}

/// An opened stream: the response head to send, its first event, and the stream state.
pub struct OpenedStream {
    /// Status and headers; the body is streamed by the component.
    pub head: Response,
    pub first_event: String,
    pub stream: SseStream,
}

/// `GET /sse`: checks the request and opens a session, or says why not.
pub fn open_stream(request: &Request, services: &Services<'_>) -> Result<OpenedStream, Box<Response>> {
    let record = transport::admit(request, services, &STREAM_ENDPOINT)?;
    if !checks::accepts(request, "text/event-stream") {
        return Err(Box::new(checks::not_acceptable("text/event-stream")));
    }
    let settings = services.settings.sse;
    let presence = presence::enter(services.ports.store, services.ports.clock, &record.props.user_id, &settings)
        .map_err(|full| {
            let event = AuditEvent::new(Event::RateLimited)
                .limit(full.cap.name())
                .retry_after(full.retry_after)
                .user_id(&record.props.user_id)
                .client_id(&record.client_id)
                .client_addr(web::client_ip(request));
            services.ports.audit.record(event);
            Box::new(too_many_streams(full))
        })?;
    let expires_at = services.ports.clock.now_unix() + settings.max_duration.as_secs() + SESSION_GRACE_SECONDS;
    let session_id = mailbox::create(services.ports.store, &record.props.user_id, expires_at).map_err(unavailable)?;
    let mut head = web::response(
        StatusCode::OK,
        &[("content-type", "text/event-stream"), ("cache-control", "no-cache, no-store"), ("x-accel-buffering", "no")],
        Vec::new(),
    );
    SSE_CORS.apply(request, &mut head);
    let first_event = event("endpoint", &format!("{MESSAGE_PATH}?sessionId={session_id}"));
    let access = stream_access(request, services, &settings);
    Ok(OpenedStream { head, first_event, stream: SseStream::new(session_id, settings, presence, access) })
}

/// The token `request` was admitted with, to check again while the stream lives.
fn stream_access(request: &Request, services: &Services<'_>, settings: &SseSettings) -> Option<StreamAccess> {
    let token = auth::bearer_token(request)?;
    let base = services.base_url(request).ok()?;
    Some(StreamAccess::new(token, oauth_core::mcp_resource(&base), settings.token_check_interval))
}

/// 429 for a stream past a cap, with `Retry-After`.
fn too_many_streams(full: Full) -> Response {
    let mut response = checks::plain(StatusCode::TOO_MANY_REQUESTS, &full.cap.refusal(full.retry_after));
    web::append_header(&mut response, "retry-after", &full.retry_after.to_string());
    response
}

/// What one poll of the stream produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Poll {
    /// SSE text to write, in order.
    pub chunks: Vec<String>,
    /// The stream should end (time is up, the session is gone, or its access token was revoked
    /// or expired); call [`SseStream::close`].
    pub finished: bool,
}

/// The state of one open `GET /sse` stream.
pub struct SseStream {
    session_id: String,
    settings: SseSettings,
    last_write: Duration,
    cursor: Cursor,
    presence: Presence,
    /// `None` only if the admitted request had no token to keep, which `admit` rules out.
    access: Option<StreamAccess>,
    /// How long to wait before the next poll.
    interval: Duration,
}

impl SseStream {
    fn new(session_id: String, settings: SseSettings, presence: Presence, access: Option<StreamAccess>) -> Self {
        let interval = settings.poll_interval;
        let cursor = Cursor::default();
        Self { session_id, settings, last_write: Duration::ZERO, cursor, presence, access, interval }
    }

    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// How long to wait before the next [`poll`](Self::poll): the base interval while messages
    /// flow, doubling after each poll that found none, up to the idle interval.
    pub fn poll_interval(&self) -> Duration {
        self.interval
    }

    /// Delivers queued messages; `elapsed` is the time since the stream opened.
    pub fn poll(&mut self, store: &dyn KeyValueStore, clock: &dyn Clock, elapsed: Duration) -> Poll {
        let revoked = self.access.as_mut().is_some_and(|access| !access.still_valid(store, clock, elapsed));
        if elapsed >= self.settings.max_duration || revoked {
            return Poll { chunks: Vec::new(), finished: true };
        }
        self.presence.renew(store, clock);
        let mut poll = match mailbox::drain(store, clock, &self.session_id, &mut self.cursor, elapsed) {
            Ok(bodies) => Poll { chunks: bodies.iter().map(|b| event("message", b)).collect(), finished: false },
            Err(MailboxError::NotFound) => Poll { chunks: Vec::new(), finished: true },
            // A passing store hiccup: try again on the next poll.
            Err(_) => Poll::default(),
        };
        self.interval = if poll.chunks.is_empty() {
            (self.interval * 2).min(self.settings.idle_poll_interval.max(self.settings.poll_interval))
        } else {
            self.settings.poll_interval
        };
        if poll.chunks.is_empty() && elapsed.saturating_sub(self.last_write) >= self.settings.keepalive_interval {
            poll.chunks.push(KEEPALIVE.to_owned());
        }
        if !poll.chunks.is_empty() {
            self.last_write = elapsed;
        }
        poll
    }

    /// Ends the session, deletes its mailbox and frees its place in the stream caps.
    pub fn close(self, store: &dyn KeyValueStore, clock: &dyn Clock) {
        // Best effort: an undeletable session still expires and is swept.
        let _ = mailbox::close(store, &self.session_id, &self.cursor);
        self.presence.leave(store, clock);
    }
}

/// `POST /sse/message?sessionId=..`: runs the message and queues the answer for the stream.
pub async fn handle_message(request: &Request, services: &Services<'_>) -> Response {
    let mut response = message_response(request, services).await;
    SSE_CORS.apply(request, &mut response);
    response
}

async fn message_response(request: &Request, services: &Services<'_>) -> Response {
    let record = match transport::admit(request, services, &MESSAGE_ENDPOINT) {
        Ok(record) => record,
        Err(response) => return *response,
    };
    let query = web::query_pairs(request);
    let Some(session_id) = web::first_value(&query, "sessionId") else {
        return checks::plain(StatusCode::BAD_REQUEST, "Bad Request: missing sessionId");
    };
    if let Err(error) =
        mailbox::check_owner(services.ports.store, services.ports.clock, session_id, &record.props.user_id)
    {
        return mailbox_error(error);
    }
    // The answer goes on the stream, so the client only needs to accept our 202.
    if let Some(refusal) = body_refusal(request, None) {
        return refusal;
    }
    let protocol_version = match checks::protocol_version_header(request) {
        Ok(version) => version,
        Err(response) => return *response,
    };
    let toolbox = services.toolbox(&record);
    let envelope = Envelope { protocol_version, ..Envelope::default() };
    match dispatch(&toolbox, request.body(), envelope, &services.tool_calls(request, &record)).await {
        Reply::Accepted => accepted(),
        // Like a refused message, the challenge answers the POST itself (MCP's 403 is for the
        // HTTP request); nothing goes on the stream, and the client steps up and posts again.
        Reply::InsufficientScope { tool, scope } => {
            transport::step_up(request, services, auth::Transport::LegacySse, &tool, &scope)
        }
        // A malformed or refused message is answered here, where the client can see it.
        Reply::Json { status, body, retry_after } if status != StatusCode::OK => {
            transport::json_reply(status, body, retry_after)
        }
        Reply::Json { body, .. } => {
            let body = String::from_utf8_lossy(&body).into_owned();
            match mailbox::post(services.ports.store, services.ports.clock, session_id, body) {
                Ok(()) => accepted(),
                Err(error) => mailbox_error(error),
            }
        }
    }
}

fn accepted() -> Response {
    checks::plain(StatusCode::ACCEPTED, "Accepted")
}

fn mailbox_error(error: MailboxError) -> Response {
    match error {
        MailboxError::NotFound => checks::plain(StatusCode::NOT_FOUND, "Not Found: unknown or closed SSE session"),
        MailboxError::NotOwner => {
            checks::plain(StatusCode::FORBIDDEN, "Forbidden: this SSE session belongs to another user")
        }
        other => *unavailable(other),
    }
}

fn unavailable(error: MailboxError) -> Box<Response> {
    Box::new(crate::transport::store_unavailable(&error))
}

#[cfg(test)]
mod tests;
