use oauth_core::clients::register_client;
use oauth_core::props::UserProps;
use oauth_core::rules::redirect_uri::RedirectPolicy;
use oauth_core::tokens::{CodeExchange, TokenResponse, exchange_code};
use oauth_core::{ValidatedAuthorization, complete_authorization, verify_access_token};
use platform::{Clock, ManualClock, MemoryAudit, StaticVariables, TestStore, ThreadSleep};

use super::*;
use crate::signature::signature_header;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OLD_SECRET: &str = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const REDIRECT: &str = "http://127.0.0.1:4000/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const RESOURCE: &str = "https://mcp.example.com/mcp";

struct World {
    store: TestStore,
    clock: ManualClock,
    audit: MemoryAudit,
    vars: StaticVariables,
}

fn world() -> World {
    world_with(StaticVariables::default().with("clerk_webhook_secret", SECRET))
}

fn world_with(vars: StaticVariables) -> World {
    World { store: TestStore::default(), clock: ManualClock::at(1_700_000_000), audit: MemoryAudit::new(), vars }
}

impl World {
    fn ports(&self) -> Ports<'_> {
        Ports {
            store: &self.store,
            clock: &self.clock,
            http: &NoHttp,
            sleep: &ThreadSleep,
            audit: &self.audit,
            variables: &self.vars,
        }
    }

    /// `user` signs in to a new client (with `role`) and the client redeems the code.
    fn signed_in(&self, user: &str, role: Option<&str>) -> TokenResponse {
        let body = format!(r#"{{"redirect_uris":["{REDIRECT}"],"token_endpoint_auth_method":"none"}}"#);
        let client = register_client(&self.store, &self.clock, &RedirectPolicy::default(), body.as_bytes()).unwrap();
        let validated = ValidatedAuthorization {
            client_id: client.client.client_id.clone(),
            client_name: None,
            client_uri: None,
            logo_uri: None,
            tos_uri: None,
            policy_uri: None,
            redirect_uri: REDIRECT.into(),
            redirect_uri_provided: true,
            state: None,
            scope: vec!["mcp".into()],
            code_challenge: CHALLENGE.into(),
            resource: RESOURCE.into(),
            issuer: "https://mcp.example.com".into(),
        };
        let props = UserProps { user_id: user.into(), role: role.map(str::to_owned), ..UserProps::default() };
        let location = complete_authorization(&self.store, &self.clock, &validated, props).unwrap();
        let query = location.split_once('?').unwrap().1;
        let code = web::decode_pairs(query.as_bytes()).into_iter().find(|(k, _)| k == "code").unwrap().1;
        let exchange =
            CodeExchange { code: &code, redirect_uri: Some(REDIRECT), code_verifier: Some(VERIFIER), resource: None };
        exchange_code(
            &self.store,
            &self.clock,
            &oauth_core::rules::scope::ScopePolicy::default(),
            &client.client,
            &exchange,
        )
        .unwrap()
        .response
    }

    fn works(&self, tokens: &TokenResponse) -> bool {
        verify_access_token(&self.store, &self.clock, &tokens.access_token, RESOURCE).is_ok()
    }

    fn deliver(&self, request: Request) -> Response {
        handle(self.ports(), &request)
    }

    /// The store without rate-limit counters and the expiry index.
    fn records(&self) -> std::collections::HashMap<String, Vec<u8>> {
        let mut records = self.store.snapshot();
        records.retain(|key, _| !key.starts_with("ratelimit:") && !platform::housekeeping::is_housekeeping_key(key));
        records
    }

    fn events(&self, event: Event) -> Vec<serde_json::Value> {
        self.audit.events().into_iter().filter(|e| e.event() == event).map(|e| e.to_json()).collect()
    }
}

/// A delivery of `body` as message `id`, signed with `secret` at `timestamp`.
fn signed(id: &str, timestamp: u64, body: &str, secret: &str) -> Request {
    let signature = signature_header(secret, id, timestamp, body.as_bytes()).unwrap();
    http::Request::post("https://mcp.example.com/webhooks/clerk")
        .header("content-type", "application/json")
        .header("svix-id", id)
        .header("svix-timestamp", timestamp.to_string())
        .header("svix-signature", signature)
        .body(body.as_bytes().to_vec())
        .unwrap()
}

fn now_signed(w: &World, id: &str, body: &str) -> Request {
    signed(id, w.clock.now_unix(), body, SECRET)
}

fn user_deleted(user: &str) -> String {
    format!(r#"{{"type":"user.deleted","object":"event","data":{{"id":"{user}","deleted":true,"object":"user"}}}}"#)
}

fn user_updated(user: &str, banned: bool, role: &str) -> String {
    format!(
        r#"{{"type":"user.updated","object":"event","data":{{"id":"{user}","object":"user","banned":{banned},"public_metadata":{{"role":"{role}"}}}}}}"#
    )
}

fn body_json(response: &Response) -> serde_json::Value {
    serde_json::from_slice(response.body()).unwrap()
}

#[test]
fn a_signed_user_deleted_ends_every_grant_of_that_user_and_is_audited() {
    let w = world();
    let (first, second, other) =
        (w.signed_in("user_1", None), w.signed_in("user_1", None), w.signed_in("user_2", None));

    let response = w.deliver(now_signed(&w, "msg_1", &user_deleted("user_1")));

    assert_eq!(response.status(), 200);
    assert_eq!(body_json(&response), json!({ "processed": "user.deleted", "action": "ended_access", "grants": 2 }));
    assert!(!w.works(&first) && !w.works(&second));
    assert!(w.works(&other));
    let processed = w.events(Event::WebhookProcessed);
    assert_eq!(processed.len(), 1);
    assert_eq!(processed[0]["user_id"], "user_1");
    assert_eq!(processed[0]["caller_text"], "user.deleted");
}

#[test]
fn a_delivery_that_cannot_be_acted_on_is_503_remembers_nothing_and_its_retry_is_processed() {
    let w = world();
    let tokens = w.signed_in("user_1", None);
    w.store.break_writes("oauth:user-ended:");
    let before = w.records();

    let response = w.deliver(now_signed(&w, "msg_1", &user_deleted("user_1")));

    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"), "Svix is told when to retry");
    assert_eq!(body_json(&response)["error"], "temporarily_unavailable");
    assert_eq!(w.records(), before, "neither the end of access nor the message id was stored");
    assert!(w.works(&tokens));
    assert!(w.events(Event::WebhookProcessed).is_empty());

    w.store.repair();
    let retry = w.deliver(now_signed(&w, "msg_1", &user_deleted("user_1")));
    assert_eq!(retry.status(), 200, "the same message id is processed on Svix's retry");
    assert!(!w.works(&tokens));
}

#[test]
fn a_ban_ends_every_grant_and_a_role_change_drops_access_tokens_only_where_the_role_differs() {
    let w = world();
    let admin = w.signed_in("user_1", Some("admin"));
    let premium = w.signed_in("user_2", Some("premium"));

    let demoted = w.deliver(now_signed(&w, "msg_1", &user_updated("user_1", false, "member")));
    assert_eq!(body_json(&demoted)["action"], "dropped_access_tokens");
    assert_eq!(body_json(&demoted)["grants"], 1);
    assert!(!w.works(&admin), "the old role's token is gone");

    let same = w.deliver(now_signed(&w, "msg_2", &user_updated("user_2", false, "premium")));
    assert_eq!(body_json(&same)["grants"], 0);
    assert!(w.works(&premium), "an update that keeps the role changes nothing");

    let banned = w.deliver(now_signed(&w, "msg_3", &user_updated("user_2", true, "premium")));
    assert_eq!(body_json(&banned)["action"], "ended_access");
    assert!(!w.works(&premium));
}

#[test]
fn a_replayed_message_is_refused_with_409_and_changes_nothing() {
    let w = world();
    w.signed_in("user_1", None);
    let request = now_signed(&w, "msg_1", &user_deleted("user_1"));
    assert_eq!(w.deliver(request.clone()).status(), 200);
    let again_tokens = {
        w.clock.advance(1);
        w.signed_in("user_1", None)
    };
    let before = w.records();

    let replay = w.deliver(request);

    assert_eq!(replay.status(), 409);
    assert_eq!(body_json(&replay)["error"], "already_processed");
    assert_eq!(w.records(), before);
    assert!(w.works(&again_tokens), "the user's new grant survives the replay");
    assert_eq!(w.events(Event::WebhookRefused)[0]["error"], "already_processed");
}

#[test]
fn forged_stale_and_malformed_deliveries_are_refused_and_change_nothing() {
    let w = world();
    let tokens = w.signed_in("user_1", None);
    let body = user_deleted("user_1");
    let now = w.clock.now_unix();
    let unsigned = {
        let mut request = now_signed(&w, "msg_1", &body);
        request.headers_mut().remove("svix-signature");
        request
    };
    let cases = [
        (signed("msg_1", now, &body, OLD_SECRET), 401, "invalid_signature"),
        (signed("msg_1", now - 301, &body, SECRET), 401, "stale_timestamp"),
        (signed("msg_1", now + 301, &body, SECRET), 401, "stale_timestamp"),
        (unsigned, 400, "invalid_request"),
        (now_signed(&w, "msg_1", "{not json"), 400, "invalid_event"),
        (now_signed(&w, "msg_1", r#"{"type":"user.deleted","data":{}}"#), 400, "invalid_event"),
        (now_signed(&w, "msg_1", &format!("{body}{}", " ".repeat(MAX_BODY_BYTES))), 413, "too_large"),
    ];
    let before = w.store.snapshot();
    for (request, status, code) in cases {
        let response = w.deliver(request);
        assert_eq!((response.status().as_u16(), body_json(&response)["error"].clone()), (status, json!(code)));
    }
    assert_eq!(w.store.snapshot(), before, "nothing stored, not even a rate-limit counter");
    assert!(w.works(&tokens));
    assert_eq!(w.events(Event::WebhookRefused).len(), 7);
}

#[test]
fn a_tampered_body_under_a_valid_signature_is_refused() {
    let w = world();
    let tokens = w.signed_in("user_1", None);
    let mut request = now_signed(&w, "msg_1", &user_deleted("user_2"));
    *request.body_mut() = user_deleted("user_1").into_bytes();
    assert_eq!(w.deliver(request).status(), 401);
    assert!(w.works(&tokens));
}

#[test]
fn during_a_rotation_either_configured_secret_is_accepted() {
    let vars = StaticVariables::default().with("clerk_webhook_secret", &format!("{SECRET} {OLD_SECRET}"));
    let w = world_with(vars);
    let now = w.clock.now_unix();
    assert_eq!(w.deliver(signed("msg_1", now, &user_deleted("user_1"), OLD_SECRET)).status(), 200);
    assert_eq!(w.deliver(signed("msg_2", now, &user_deleted("user_1"), SECRET)).status(), 200);
}

#[test]
fn without_a_secret_the_route_is_404_and_the_log_says_why() {
    let w = world_with(StaticVariables::default());
    let response = w.deliver(now_signed(&w, "msg_1", &user_deleted("user_1")));
    assert_eq!(response.status(), 404);
    assert!(diagnostic::of(&response).unwrap().contains("clerk_webhook_secret"));
    assert!(w.store.snapshot().is_empty());
}

#[test]
fn only_post_is_allowed() {
    let w = world();
    let request = http::Request::get("https://mcp.example.com/webhooks/clerk").body(Vec::new()).unwrap();
    let response = w.deliver(request);
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
}

#[test]
fn session_ends_are_acknowledged_and_ignored_by_default_and_revoke_that_session_when_configured() {
    let body = r#"{"type":"session.ended","data":{"id":"sess_1","user_id":"user_1","status":"ended"}}"#;
    let w = world();
    let tokens = w.signed_in("user_1", None);
    let response = w.deliver(now_signed(&w, "msg_1", body));
    assert_eq!((response.status().as_u16(), body_json(&response)["action"].clone()), (200, json!("none")));
    assert!(w.works(&tokens));

    let vars = StaticVariables::default()
        .with("clerk_webhook_secret", SECRET)
        .with("clerk_webhook_session_end", "revoke_session_grants");
    let w = world_with(vars);
    let response = w.deliver(now_signed(&w, "msg_1", body));
    assert_eq!(body_json(&response)["action"], "revoked_session_grants");
}

#[test]
fn other_event_types_are_acknowledged_and_ignored() {
    let w = world();
    let tokens = w.signed_in("user_1", None);
    let response = w.deliver(now_signed(&w, "msg_1", r#"{"type":"email.created","data":{"id":"ema_1"}}"#));
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(&response), json!({ "processed": "email.created", "action": "none", "grants": 0 }));
    assert!(w.works(&tokens));
}

#[test]
fn past_the_rate_limit_a_verified_delivery_gets_429_and_is_not_remembered() {
    let vars =
        StaticVariables::default().with("clerk_webhook_secret", SECRET).with("rate_limit_webhooks_per_minute", "1");
    let w = world_with(vars);
    assert_eq!(w.deliver(now_signed(&w, "msg_1", &user_deleted("user_1"))).status(), 200);
    let limited = w.deliver(now_signed(&w, "msg_2", &user_deleted("user_2")));
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert!(!processed::was_processed(&w.store, &w.clock, "msg_2").unwrap());
    w.clock.advance(60);
    assert_eq!(w.deliver(now_signed(&w, "msg_2", &user_deleted("user_2"))).status(), 200, "Svix's retry passes");
}

/// The webhook makes no outbound request.
struct NoHttp;

impl platform::HttpClient for NoHttp {
    fn send(&self, _: http::Request<Vec<u8>>, _: std::time::Duration) -> platform::outbound::Sending<'_> {
        Box::pin(async { Err(platform::OutboundError::InvalidRequest("the webhook endpoint called out".into())) })
    }
}

#[test]
fn a_malformed_variable_is_a_500_naming_it_and_stores_nothing() {
    let w = world_with(StaticVariables::default());
    let w = World { vars: StaticVariables::default().with("clerk_webhook_secret", "whsec_!!"), ..w };
    let response = w.deliver(now_signed(&w, "msg_1", &user_deleted("user_1")));
    assert_eq!(response.status(), 500);
    assert!(diagnostic::of(&response).unwrap().contains("clerk_webhook_secret"));
    assert!(w.store.snapshot().is_empty());
}
