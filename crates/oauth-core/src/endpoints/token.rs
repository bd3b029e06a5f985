//! `POST /token`: `authorization_code` and `refresh_token` grants.
//!
//! Refused requests (4xx) count against `rate_limit_token_failures_per_minute`: per registered
//! client and client address when the request names a registered client, else per client
//! address, so made-up client ids do not each get a fresh allowance. A caller past it gets 429
//! before any other work. A client id is not a secret, so a count per client alone would let
//! anyone who knows a public client's id lock every user of that client out of `/token` (and
//! out of refreshing) with a few bogus requests a minute; counted per address too, a caller can
//! only exhaust its own allowance. What a per-client count would add, stopping someone guessing
//! codes, refresh tokens or secrets from many addresses, is not worth that: they are 256-bit
//! random values. A client stuck retrying a dead refresh token is still stopped, at its address.

use http::StatusCode;
use platform::rate_limit::{Subject, Verdict};
use platform::web::{self, Request, Response};
use platform::{Event, Outcome};

use super::Provider;
use super::client_auth::Presented;
use super::error::OAuthError;
use super::form::Form;
use super::grant_error;
use crate::cimd::{self, ResolvedClient};
use crate::clients::{lookup_client, touch_client};
use crate::records::ClientRecord;
use crate::tokens::{CodeExchange, GrantError, Issued, RefreshRequest, Rotation, exchange_code, refresh};

pub(super) async fn handle(provider: &Provider<'_>, request: &Request) -> Response {
    let caller = match Caller::identify(provider, request) {
        Ok(caller) => caller,
        Err(unavailable) => return unavailable.into_response(),
    };
    let limit = &provider.settings.limits.token_failures;
    // Failures count against the registered client the request names at this address, else
    // against the address.
    let registered = caller.client.as_ref().map(|client| client.client_id.clone());
    let address = web::client_ip(request);
    let subject = match &registered {
        Some(client_id) => Subject::ClientAt(client_id, address),
        None => Subject::Address(address),
    };
    // A store that cannot count lets the request through (see `platform::rate_limit`).
    if let Ok(Verdict::Limited { retry_after }) = limit.check(provider.ports.store, provider.ports.clock, subject) {
        return provider.refuse(limit, retry_after, request, caller.client_id());
    }
    let presented_id = caller.client_id().map(str::to_owned);
    match token(provider, request, caller).await {
        Ok(granted) => {
            // Best effort: a failed touch or cache write must not cost the client its tokens.
            let _ = touch_client(provider.ports.store, provider.ports.clock, &granted.resolved.client.client_id);
            provider.clients(request).remember(&granted.resolved);
            record_granted(provider, request, &granted);
            let mut response = web::json(StatusCode::OK, &granted.issued.response);
            web::append_header(&mut response, "pragma", "no-cache");
            response
        }
        Err(refusal) => {
            if refusal.is_failure() {
                let _ = limit.hit(provider.ports.store, provider.ports.clock, subject);
            }
            record_refusal(provider, request, presented_id.as_deref(), &refusal);
            refusal.answer.into_response()
        }
    }
}

/// Who a token request is from, found before any work is done: its form and the credentials
/// it presents (or why they cannot be read), and the registered client they name.
struct Caller {
    read: Result<(Form, Presented), OAuthError>,
    client: Option<ClientRecord>,
}

impl Caller {
    /// Reads the request; only a failing store is an error here (every other problem is the
    /// request's, answered after the rate limit had its say).
    /// A document client (a URL `client_id`) counts its failures by address, as an unknown
    /// client does (anyone can name any URL); its request is also counted, before anything is
    /// fetched, by the document limits (`crate::cimd::throttle`), which parallel requests cannot
    /// outrun as they can this check-then-count.
    fn identify(provider: &Provider<'_>, request: &Request) -> Result<Caller, OAuthError> {
        let read = Form::parse(request).and_then(|form| Presented::read(request, &form).map(|p| (form, p)));
        let client = match &read {
            Ok((_, presented)) if !cimd::is_url(&presented.credentials.client_id) => {
                lookup_client(provider.ports.store, provider.ports.clock, &presented.credentials.client_id)?
            }
            _ => None,
        };
        Ok(Caller { read, client })
    }

    /// The client id it presents, registered or not.
    fn client_id(&self) -> Option<&str> {
        self.read.as_ref().ok().map(|(_, presented)| presented.credentials.client_id.as_str())
    }
}

/// Which grant a successful request used.
#[derive(Clone, Copy)]
enum GrantType {
    AuthorizationCode,
    RefreshToken,
}

struct Granted {
    resolved: ResolvedClient,
    grant_type: GrantType,
    issued: Issued,
}

/// A refused token request: the answer, and what the audit trail calls it.
struct Refusal {
    answer: OAuthError,
    event: Event,
    grant_id: Option<String>,
}

impl Refusal {
    /// Whether it counts against `token_failures`: the client's mistakes (4xx), not a limit's
    /// refusal of a request that would have worked.
    fn is_failure(&self) -> bool {
        self.answer.status.is_client_error() && self.answer.limit.is_none()
    }
}

impl From<OAuthError> for Refusal {
    fn from(answer: OAuthError) -> Self {
        let event = if answer.limit.is_some() { Event::RateLimited } else { Event::TokenFailed };
        Self { answer, event, grant_id: None }
    }
}

impl From<GrantError> for Refusal {
    fn from(error: GrantError) -> Self {
        if let GrantError::RateLimited { grant_id, limit, retry_after } = error {
            let answer = OAuthError::rate_limited(&limit, retry_after);
            return Self { answer, event: Event::RateLimited, grant_id: Some(grant_id) };
        }
        let (event, grant_id) = match &error {
            GrantError::CodeReplayed { grant_id } => (Event::CodeReused, Some(grant_id.clone())),
            GrantError::RefreshReplayed { grant_id, .. } => (Event::RefreshTokenReused, Some(grant_id.clone())),
            _ => (Event::TokenFailed, None),
        };
        Self { answer: grant_error::answer(error), event, grant_id }
    }
}

async fn token(provider: &Provider<'_>, request: &Request, caller: Caller) -> Result<Granted, Refusal> {
    let (form, presented) = caller.read?;
    let resolved = presented.authenticate(&provider.clients(request)).await?;
    let client = &resolved.client;
    let (store, clock) = (provider.ports.store, provider.ports.clock);
    let (grant_type, issued) = match form.require("grant_type")? {
        "authorization_code" => {
            let exchange = CodeExchange {
                code: form.require("code")?,
                redirect_uri: form.get("redirect_uri"),
                code_verifier: form.get("code_verifier"),
                resource: form.get("resource"),
            };
            (GrantType::AuthorizationCode, exchange_code(store, clock, &provider.settings.scopes, client, &exchange)?)
        }
        "refresh_token" => {
            let refresh_request = RefreshRequest {
                refresh_token: form.require("refresh_token")?,
                scope: form.get("scope"),
                resource: form.get("resource"),
            };
            let rotation = Rotation {
                grace_secs: provider.settings.refresh_grace_secs,
                sleep: provider.ports.sleep,
                per_grant: provider.settings.limits.refreshes,
            };
            let issued = refresh(
                store,
                clock,
                provider.directory,
                &provider.settings.scopes,
                &rotation,
                client,
                &refresh_request,
            )
            .await?;
            (GrantType::RefreshToken, issued)
        }
        other => {
            let refused = OAuthError::bad_request("unsupported_grant_type", "this grant_type is not supported");
            return Err(refused.quoting(other).into());
        }
    };
    Ok(Granted { resolved, grant_type, issued })
}

fn record_granted(provider: &Provider<'_>, request: &Request, granted: &Granted) {
    let event = match granted.grant_type {
        GrantType::AuthorizationCode => Event::TokenIssued,
        GrantType::RefreshToken => Event::TokenRefreshed,
    };
    let event =
        provider.event(event, request).client_id(&granted.resolved.client.client_id).grant_id(&granted.issued.grant_id);
    let event = match &granted.issued.user_id {
        Some(user_id) => event.user_id(user_id),
        None => event.detail("the rotation's answer again, within the grace window"),
    };
    provider.ports.audit.record(event);
}

/// A refused request in the audit trail: our error code and description, and apart from them,
/// labelled, whatever of the caller's text the description quotes.
fn record_refusal(provider: &Provider<'_>, request: &Request, client_id: Option<&str>, refusal: &Refusal) {
    let answer = &refusal.answer;
    let mut event = match answer.limit {
        Some(limit) => {
            let retry_after = answer.retry_after.map_or(0, u64::from);
            provider.limited_event(limit, retry_after, request, client_id)
        }
        None => {
            let event = provider.event(refusal.event, request).with_outcome(Outcome::Failure);
            let event = event.error(answer.error).detail(&answer.description);
            match client_id {
                Some(client_id) => event.client_id(client_id),
                None => event,
            }
        }
    };
    if let Some(text) = &answer.caller_text {
        event = event.caller_text(text);
    }
    if let Some(grant_id) = &refusal.grant_id {
        event = event.grant_id(grant_id);
    }
    provider.ports.audit.record(event);
}
