//! `/authorize` and `/callback` for a client identified by a metadata document (the fake Clerk
//! answers the document's path too).

use super::*;

const DOC_URL: &str = "https://client.example.com/oauth/client.json";

/// A fixture whose client is the document at [`DOC_URL`], listing the loopback redirect URI
/// without its port.
fn document_fixture(name: &str) -> Fixture {
    let mut f = fixture();
    let document = serde_json::json!({
        "client_id": DOC_URL,
        "client_name": name,
        "redirect_uris": ["http://127.0.0.1/oauth/callback"],
        "client_uri": "https://client.example.com",
    });
    f.env.http.respond("/oauth/client.json", 200, &document.to_string());
    f.client_id = DOC_URL.to_owned();
    f
}

#[test]
fn the_consent_page_leads_with_the_host_it_was_fetched_from_and_shows_the_name_as_its_claim() {
    let mut f = document_fixture("Doc <b>Client</b>");
    let page = f.get_authorize(&[]);
    assert_eq!(page.status(), 200, "{}", body(&page));
    let html = body(&page);
    let badge = r#"<span class="badge" title="This app's description was fetched over HTTPS from this host">fetched from client.example.com</span>"#;
    assert!(
        html.contains(&format!(r#"<h1><bdi class="client">client.example.com</bdi> {badge} wants to use"#)),
        "{html}"
    );
    assert!(!html.contains("Verified") && !html.contains("verified"), "no more than it knows: {html}");
    assert!(
        html.contains(&format!("<code>{DOC_URL}</code>, a document fetched from <strong>client.example.com</strong>")),
        "{html}"
    );
    assert!(html.contains("It calls itself “<bdi class=\"client\">Doc &lt;b&gt;Client&lt;/b&gt;</bdi>”"), "{html}");
    assert!(html.contains("a name client.example.com chose"), "{html}");
    assert!(html.contains("127.0.0.1") && html.contains("This address is on your own computer"));
}

#[test]
fn a_registered_client_named_like_a_document_host_gets_another_headline_without_the_badge() {
    let mut f = fixture_with(r#""client_name":"client.example.com""#);
    let html = body(&f.get_authorize(&[]));
    assert!(
        html.contains(r#"<h1>An app calling itself “<bdi class="client">client.example.com</bdi>” wants to use"#),
        "{html}"
    );
    assert!(!html.contains(r#"class="badge""#), "the badge is for document clients only: {html}");
    assert!(html.contains("this server has not checked them"), "{html}");
    let document = body(&document_fixture("Doc Client").get_authorize(&[]));
    let headline = |html: &str| html.split("<h1>").nth(1).and_then(|h| h.split("</h1>").next()).unwrap().to_owned();
    assert_ne!(headline(&html), headline(&document));
}

#[test]
fn a_document_client_goes_through_clerk_and_gets_a_code() {
    let mut f = document_fixture("Doc Client");
    let clerk_url = f.approve_to_clerk();
    let loc = location(&f.callback(&clerk_url, &[("code", "clerk-code")]));
    assert!(loc.starts_with(REDIRECT), "{loc}");
    assert!(query_of(&loc)["code"].len() >= 43);
    assert_eq!(f.env.http.calls_to("/oauth/client.json"), 1, "fetched once, then cached");
}

#[test]
fn a_refused_document_is_a_400_page_with_a_log_line_and_only_the_refusal_stored() {
    let mut f = fixture();
    f.env.http.respond(
        "/oauth/client.json",
        200,
        r#"{"client_id":"https://other.example.com/x","redirect_uris":["https://a.example.com/cb"]}"#,
    );
    f.client_id = DOC_URL.to_owned();
    let before = f.records();
    let page = f.get_authorize(&[]);
    assert_eq!(page.status(), 400);
    assert!(page.headers().get("location").is_none());
    assert!(body(&page).contains("could not be verified"), "{}", body(&page));
    let log = platform::diagnostic::of(&page).expect("a log line");
    assert!(log.contains(DOC_URL) && log.contains("not exactly its URL"), "{log}");
    assert!(!body(&page).contains("not exactly"), "the reason is for the log only");
    let mut stored = f.records();
    stored.retain(|key, _| !before.contains_key(key));
    let refusal = oauth_core::keys::refused_document(DOC_URL);
    assert_eq!(stored.keys().collect::<Vec<_>>(), [&refusal], "remembered for a minute, not fetched again");
}

#[test]
fn a_url_that_cannot_be_a_document_is_refused_without_a_fetch() {
    let mut f = fixture();
    f.client_id = "http://client.example.com/oauth/client.json".to_owned();
    let page = f.get_authorize(&[]);
    assert_eq!(page.status(), 400);
    assert!(body(&page).contains("could not be verified"), "{}", body(&page));
    assert!(!body(&page).contains("https URL"), "the reason is for the log only: {}", body(&page));
    assert!(platform::diagnostic::of(&page).is_some_and(|log| log.contains("must be an https URL")));
    assert_eq!(f.env.http.total_calls(), 0);
}

#[test]
fn documents_turned_off_make_a_url_an_unknown_client() {
    let mut f = document_fixture("Doc Client");
    f.env.vars = variables().with("client_id_metadata_documents", "false");
    let page = f.get_authorize(&[]);
    assert_eq!(page.status(), 400);
    assert!(body(&page).contains("Unknown client"), "{}", body(&page));
    assert_eq!(f.env.http.total_calls(), 0);
}

#[test]
fn a_malformed_switch_is_a_500_page_naming_the_variable() {
    let mut f = document_fixture("Doc Client");
    f.env.vars = variables().with("client_id_metadata_documents", "maybe");
    let page = f.get_authorize(&[]);
    assert_eq!(page.status(), 500);
    assert!(body(&page).contains("client_id_metadata_documents"), "{}", body(&page));
}

#[test]
fn a_caller_naming_too_many_document_clients_gets_a_429_page_and_nothing_is_fetched() {
    let mut f = document_fixture("Doc Client");
    f.env.vars = variables().with("rate_limit_document_clients_per_minute", "1");
    assert_eq!(f.get_authorize(&[]).status(), 200);
    let page = f.get_authorize(&[]);
    assert_eq!(page.status(), 429, "{}", body(&page));
    assert!(page.headers().get("retry-after").is_some());
    assert_eq!(f.env.http.calls_to("/oauth/client.json"), 1);
    let limited = f.env.audit.of(platform::Event::RateLimited);
    assert_eq!(limited[0]["limit"], "document_clients");
}
