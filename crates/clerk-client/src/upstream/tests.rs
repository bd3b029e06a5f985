use super::*;
use crate::config::BackendConfig;
use crate::fake::{API, FakeClerk, ISSUER};
use base64::Engine;
use futures::executor::block_on;
use platform::{ManualClock, MemoryAudit, MemoryStore, OutboundError, StaticVariables, ThreadSleep};

const CALLBACK: &str = "http://127.0.0.1:3000/callback";

fn config() -> ClerkConfig {
    ClerkConfig {
        frontend_api: ISSUER.into(),
        client_id: "cid".into(),
        client_secret: "csecret".into(),
        backend: BackendConfig { api_url: API.into(), secret_key: "sk_test_key".into() },
    }
}

struct Setup {
    fake: FakeClerk,
    store: MemoryStore,
    clock: ManualClock,
    config: ClerkConfig,
    audit: MemoryAudit,
    vars: StaticVariables,
    request: UpstreamRequest,
}

impl Setup {
    fn new() -> Self {
        let setup = Self {
            fake: FakeClerk::new(),
            store: MemoryStore::new(),
            clock: ManualClock::at(1_700_000_000),
            config: config(),
            audit: MemoryAudit::new(),
            vars: StaticVariables::default(),
            request: UpstreamRequest::random().unwrap(),
        };
        setup.fake.id_claims.lock().unwrap()["nonce"] = serde_json::json!(setup.request.nonce);
        setup
    }
    fn clerk(&self) -> Clerk<'_> {
        let ports = Ports {
            store: &self.store,
            clock: &self.clock,
            http: &self.fake,
            sleep: &ThreadSleep,
            audit: &self.audit,
            variables: &self.vars,
        };
        Clerk::new(&self.config, &ports)
    }
    fn sign_in(&self) -> Result<SignedIn, ClerkError> {
        block_on(self.clerk().sign_in("code1", CALLBACK, &self.request))
    }
}

#[test]
fn authorization_url_carries_code_flow_pkce_s256_nonce_state_and_scopes() {
    let s = Setup::new();
    let url = block_on(s.clerk().authorization_url(CALLBACK, &s.request)).unwrap();
    let parsed = url::Url::parse(&url).unwrap();
    assert_eq!(parsed.as_str().split('?').next(), Some(format!("{ISSUER}/oauth/authorize").as_str()));
    let q: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], "cid");
    assert_eq!(q["redirect_uri"], CALLBACK);
    assert_eq!(q["scope"], "openid email profile public_metadata");
    assert_eq!(q["state"], s.request.state);
    assert_eq!(q["nonce"], s.request.nonce);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"], platform::secret::sha256_base64url(s.request.pkce_verifier.as_bytes()));
}

#[test]
fn sign_in_reads_profile_and_role_from_backend_api() {
    let s = Setup::new();
    let props = s.sign_in().unwrap().props;
    assert_eq!(props.user_id, "user_admin");
    assert_eq!(props.session_id.as_deref(), Some("sess_1"));
    assert_eq!(props.email.as_deref(), Some("admin@example.com"));
    assert_eq!(props.first_name.as_deref(), Some("Ada"));
    assert_eq!(props.role.as_deref(), Some("admin"));
    assert_eq!(props.metadata, serde_json::json!({"role":"admin"}));
}

#[test]
fn code_exchange_uses_basic_auth_pkce_verifier_and_callback() {
    let s = Setup::new();
    s.sign_in().unwrap();
    let basic = base64::engine::general_purpose::STANDARD.encode("cid:csecret");
    assert_eq!(s.fake.last_authorization("/oauth/token"), Some(format!("Basic {basic}")));
    let body = s.fake.last_body("/oauth/token").unwrap();
    let form: std::collections::HashMap<_, _> = form_pairs(&body);
    assert_eq!(form["grant_type"], "authorization_code");
    assert_eq!(form["code"], "code1");
    assert_eq!(form["code_verifier"], s.request.pkce_verifier);
    assert_eq!(form["redirect_uri"], CALLBACK);
}

fn form_pairs(body: &str) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes()).into_owned().collect()
}

#[test]
fn sign_in_falls_back_to_id_token_and_userinfo_when_backend_api_is_down() {
    let s = Setup::new();
    s.fake.respond("/v1/users/user_admin", 503, "<html>down</html>");
    let props = s.sign_in().unwrap().props;
    assert_eq!(props.role.as_deref(), Some("premium"), "role from the ID token's public_metadata");
    assert_eq!(props.email.as_deref(), Some("token@example.com"));
    assert_eq!(props.first_name.as_deref(), Some("Info"), "filled from userinfo");
}

#[test]
fn sign_in_of_a_banned_user_fails() {
    let s = Setup::new();
    s.fake.id_claims.lock().unwrap()["sub"] = serde_json::json!("user_banned");
    assert!(matches!(s.sign_in(), Err(ClerkError::UserGone { .. })));
}

#[test]
fn sign_in_with_a_rejected_secret_key_fails_as_config_error() {
    let s = Setup::new();
    s.fake.respond("/v1/users/user_admin", 401, r#"{"errors":[]}"#);
    assert_eq!(s.sign_in().unwrap_err(), ClerkError::BackendUnauthorized);
}

#[test]
fn sign_in_with_a_replayed_nonce_fails() {
    let s = Setup::new();
    s.fake.id_claims.lock().unwrap()["nonce"] = serde_json::json!("someone-elses");
    assert!(matches!(s.sign_in(), Err(ClerkError::InvalidIdToken(_))));
}

#[test]
fn invalid_grant_from_clerk_is_rejected() {
    let s = Setup::new();
    s.fake.respond("/oauth/token", 400, r#"{"error":"invalid_grant","error_description":"expired"}"#);
    assert_eq!(s.sign_in().unwrap_err(), ClerkError::Rejected { error: "invalid_grant".into() });
}

#[test]
fn token_endpoint_503_with_html_is_temporary() {
    let s = Setup::new();
    s.fake.respond("/oauth/token", 503, "<html>maintenance</html>");
    let err = s.sign_in().unwrap_err();
    assert!(err.is_temporary(), "{err:?}");
}

#[test]
fn token_endpoint_garbage_is_malformed() {
    let s = Setup::new();
    s.fake.respond("/oauth/token", 200, "{\"access_token\": 12}");
    assert!(matches!(s.sign_in(), Err(ClerkError::Malformed { .. })));
}

#[test]
fn token_response_without_id_token_is_malformed() {
    let s = Setup::new();
    s.fake.respond("/oauth/token", 200, r#"{"access_token":"oat","token_type":"Bearer"}"#);
    assert!(matches!(s.sign_in(), Err(ClerkError::Malformed { .. })));
}

#[test]
fn clerk_timing_out_during_exchange_is_temporary() {
    let s = Setup::new();
    block_on(s.clerk().metadata()).unwrap();
    s.fake.fail_with(OutboundError::Timeout { host: "demo.clerk.accounts.dev".into() });
    let err = s.sign_in().unwrap_err();
    assert!(matches!(err, ClerkError::Unavailable { .. }) && err.is_temporary(), "{err:?}");
}
