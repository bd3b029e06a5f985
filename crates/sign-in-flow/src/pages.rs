//! The HTML the flow shows: the consent page and error pages, as `maud` templates, which escape
//! every value they interpolate (client-supplied strings included) by construction; client
//! links are shown only when they are http(s); headers forbid framing, caching, referrers and
//! every resource the page does not need.

use http::StatusCode;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use oauth_core::ValidatedAuthorization;
use platform::web::{Response, response};

use crate::records::TakeError;
use crate::scope_lines::{RoleNote, ScopeLine, ScopeLines};

/// Inline styles only: no external resources, so `default-src 'none'` holds. (Our own text,
/// inserted unescaped.)
const STYLE: &str = "
:root{color-scheme:light dark;--bg:#f4f4f7;--card:#fff;--fg:#1b1b1f;--muted:#5f6270;--accent:#5b3df5;--warn-bg:#fff4e5;--warn-fg:#7a4100;--line:#e3e3ea;--danger:#b42318;--ok-bg:#e8f6ee;--ok-fg:#14532d}
@media (prefers-color-scheme:dark){:root{--bg:#121216;--card:#1d1d23;--fg:#ececf1;--muted:#a3a6b4;--line:#33333d;--warn-bg:#3a2a12;--warn-fg:#ffd9a3;--danger:#ff8a80;--ok-bg:#15301f;--ok-fg:#b7f0cb}}
*{box-sizing:border-box}body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;padding:1rem}
main{background:var(--card);max-width:30rem;width:100%;border-radius:14px;box-shadow:0 4px 24px #0000001f;padding:2rem}
h1{font-size:1.3rem;margin:0 0 .25rem}p{margin:.5rem 0}.muted{color:var(--muted);font-size:.9rem}
.client{font-weight:600;overflow-wrap:anywhere}dl{margin:1.25rem 0;border-top:1px solid var(--line)}
dt{font-weight:600;margin-top:.9rem;font-size:.9rem;color:var(--muted)}dd{margin:.2rem 0 0;overflow-wrap:anywhere}
ul{margin:.3rem 0 0;padding-left:1.2rem}.warn{background:var(--warn-bg);color:var(--warn-fg);border-radius:8px;padding:.7rem .9rem;margin-top:1rem;font-size:.92rem}
.actions{display:flex;gap:.75rem;margin-top:1.5rem}button{flex:1;font:inherit;font-weight:600;padding:.75rem;border-radius:8px;cursor:pointer;border:1px solid var(--line);background:transparent;color:var(--fg)}
button.primary{background:var(--accent);border-color:var(--accent);color:#fff}button:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
a{color:var(--accent)}code{font-size:.85rem}
main.wide{max-width:44rem}header.top{display:flex;justify-content:space-between;align-items:flex-start;gap:1rem}
form.inline{margin:0}button.small{flex:none;padding:.45rem .95rem;font-size:.9rem}
button.danger{color:var(--danger);border-color:var(--danger)}button.danger:hover{background:var(--danger);color:#fff}
ul.apps{list-style:none;padding:0;margin:1.25rem 0 0;border-top:1px solid var(--line)}
li.app{display:flex;align-items:center;gap:1rem;padding:1rem 0;border-bottom:1px solid var(--line)}
.avatar{flex:none;width:2.6rem;height:2.6rem;border-radius:10px;display:flex;align-items:center;justify-content:center;background:var(--accent);color:#fff;font-weight:700;font-size:1.15rem}
.info{flex:1;min-width:0}.info p{margin:0}.name{font-weight:600;overflow-wrap:anywhere}.meta{color:var(--muted);font-size:.88rem;margin-top:.15rem!important}
.badge{display:inline-block;font-size:.72rem;font-weight:600;padding:.05rem .5rem;border-radius:999px;background:var(--ok-bg);color:var(--ok-fg);vertical-align:middle}
.notice{background:var(--ok-bg);color:var(--ok-fg);border-radius:8px;padding:.7rem .9rem}.empty{color:var(--muted);text-align:center;padding:2rem 0}.foot{margin-top:1.25rem}
main.console{max-width:72rem}table{width:100%;border-collapse:collapse;font-size:.88rem;margin-top:1rem}th,td{text-align:left;padding:.45rem .4rem;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}
td form.inline{display:inline-block;margin:0 .25rem .25rem 0}form.filter{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end;margin-top:1rem}form.filter label{font-size:.85rem;color:var(--muted)}
input[type=text]{font:inherit;padding:.4rem .5rem;border:1px solid var(--line);border-radius:6px;background:transparent;color:var(--fg);min-width:14rem}
ul.connections{list-style:none;padding:0;margin:.4rem 0 0}ul.connections li{display:flex;justify-content:space-between;align-items:center;gap:.75rem;padding:.35rem 0;border-top:1px dashed var(--line)}
";

/// What the consent page shows and posts back.
pub struct ConsentView<'a> {
    pub validated: &'a ValidatedAuthorization,
    /// The sealed consent form (`crate::consent`).
    pub handle: &'a str,
    /// The form's one-time token.
    pub csrf_token: &'a str,
    /// Where Approve leads (Clerk's origin), allowed as a form target by the CSP.
    pub clerk_origin: &'a str,
    /// On a consent page shown after sign-in: how the signed-in user is named.
    pub signed_in_as: Option<&'a str>,
    /// What the page says about the scopes asked for.
    pub scopes: &'a ScopeLines,
}

/// The consent page (200).
pub fn consent_page(view: &ConsentView<'_>) -> Response {
    let v = view.validated;
    let server_host = platform::web::authority_of(&v.issuer).unwrap_or_else(|| v.issuer.clone());
    let body = html! {
        main {
            @if let Some(host) = oauth_core::cimd::verified_host(&v.client_id) {
                (document_client_intro(v, &host, &server_host))
            } @else {
                (registered_client_intro(v, &server_host))
            }
            @if let (Some(user), false) = (view.signed_in_as, view.scopes.approved_before.is_empty()) {
                p.warn role="note" {
                    "You are signed in as " strong { bdi { (user) } } ". You approved this app before; it now asks \
                     for more, so it needs your approval of what is new."
                }
            } @else if let Some(user) = view.signed_in_as {
                p.warn role="note" {
                    "You are signed in as " strong { bdi { (user) } } ". This account has no current approval \
                     of this app here (it was never given, was revoked, or is older than 30 days), so the \
                     app needs yours again."
                }
            }
            dl {
                dt { "It will be able to" }
                dd { ul { @for line in &view.scopes.asked { (scope_item(line)) } } }
                @if !view.scopes.approved_before.is_empty() {
                    dt { "You already allowed it to" }
                    dd { ul { @for line in &view.scopes.approved_before { (scope_item(line)) } } }
                }
                dt { "After approval, you go back to" }
                dd {
                    strong { bdi { (v.redirect_host()) } }
                    @if v.redirect_is_loopback() { (loopback_warning()) }
                }
                dt {
                    @if view.signed_in_as.is_some() { "Clerk shares with this server" }
                    @else { "You sign in with Clerk, which shares with this server" }
                }
                dd { "Your name, email address, profile picture and account role." }
                (client_links(v))
            }
            form method="post" action="/authorize" {
                input type="hidden" name="handle" value=(view.handle);
                input type="hidden" name="csrf_token" value=(view.csrf_token);
                div.actions {
                    button type="submit" name="decision" value="deny" { "Deny" }
                    button.primary type="submit" name="decision" value="approve" { "Approve" }
                }
            }
        }
    };
    let form_action = format!("'self' {} {}", csp_source(view.clerk_origin), csp_source(&v.redirect_uri));
    page(StatusCode::OK, "Authorize access", body, &form_action)
}

/// A registered client: its name is whatever was typed at registration, so the headline says it
/// is a claim ("An app calling itself …") and it never looks like a document client's host.
/// (<bdi>: a name in another script, or one registered before bidi controls were refused, cannot
/// reorder the sentence around it.)
fn registered_client_intro(v: &ValidatedAuthorization, server_host: &str) -> Markup {
    html! {
        h1 {
            @match client_name(v) {
                Some(name) => { "An app calling itself “" bdi.client { (name) } "”" }
                None => { "An unnamed app" }
            }
            " wants to use " bdi.client { (server_host) } " as you"
        }
        p.muted {
            "Client ID " code { (v.client_id) } ". Its name and links were chosen by whoever registered it; \
             this server has not checked them. Only continue if you started this from an app you trust."
        }
    }
}

/// A client identified by its metadata document: the host its `client_id` URL was fetched from
/// over https leads, marked by a badge no registered name can produce. "Fetched from", not
/// "verified": on a host where anyone can publish, anyone may speak for it. The name is only the
/// document's claim.
fn document_client_intro(v: &ValidatedAuthorization, host: &str, server_host: &str) -> Markup {
    html! {
        h1 {
            bdi.client { (host) } " "
            span.badge title="This app's description was fetched over HTTPS from this host" { "fetched from " (host) }
            " wants to use " bdi.client { (server_host) } " as you"
        }
        p.muted {
            "This app is identified by " code { (v.client_id) } ", a document fetched from " strong { (host) }
            ": whoever can publish at that address speaks for this app. "
            @if let Some(name) = client_name(v) { "It calls itself “" bdi.client { (name) } "”, a name " (host) " chose. " }
            "Only continue if you started this from an app you trust."
        }
    }
}

/// The client's name, if it has a visible one.
fn client_name(v: &ValidatedAuthorization) -> Option<&str> {
    v.client_name.as_deref().filter(|n| !n.trim().is_empty())
}

/// The page after Deny (200): ours, not a redirect to the client (a redirect URI nobody approved
/// is not one to send the browser to, RFC 9700 §4.11.2).
pub fn denied_page(v: &ValidatedAuthorization) -> Response {
    let body = html! {
        main {
            h1 { "Access denied" }
            p {
                "You denied " @match client_name(v) {
                    Some(name) => { "the app calling itself “" bdi.client { (name) } "”" }
                    None => { "the app" }
                }
                " access. Nothing was shared with it."
            }
            p.muted { "You can close this page. The app was not told: if it is still waiting, cancel its sign-in there." }
        }
    };
    page(StatusCode::OK, "Access denied", body, "'none'")
}

fn loopback_warning() -> Markup {
    html! {
        p.warn role="note" {
            strong { "This address is on your own computer." }
            " Approve only if you just started this sign-in from an app running on this device; \
             otherwise another program could receive access."
        }
    }
}

/// One scope: what it allows, its name, and who may have it.
fn scope_item(line: &ScopeLine) -> Markup {
    html! {
        li {
            (line.words) " " span.muted { "(" code { (line.scope) } ")" }
            @match &line.note {
                RoleNote::Granted => {}
                RoleNote::OnlyFor(roles) => {
                    br; span.muted { "Only for accounts whose role is " (roles.join(", ")) "; left out for others." }
                }
                RoleNote::LeftOut => { br; span.muted { strong { "Not for your account's role: it will be left out." } } }
            }
        }
    }
}

/// The client's own links, only those that are http(s).
fn client_links(v: &ValidatedAuthorization) -> Markup {
    let links: Vec<(&str, &str)> =
        [("Website", &v.client_uri), ("Privacy policy", &v.policy_uri), ("Terms", &v.tos_uri)]
            .into_iter()
            .filter_map(|(label, uri)| Some((label, uri.as_deref().filter(|u| is_http_url(u))?)))
            .collect();
    html! {
        @if !links.is_empty() {
            dt { "About this client" }
            dd {
                @for (i, (label, uri)) in links.iter().enumerate() {
                    @if i > 0 { " · " }
                    a href=(uri) rel="noopener noreferrer" target="_blank" { (label) }
                }
            }
        }
    }
}

/// Only http(s) URLs without whitespace or control characters become links.
pub fn is_http_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A CSP source expression for `url`'s origin (or nothing if it has none).
pub(crate) fn csp_source(url: &str) -> String {
    platform::web::origin_of(url).filter(|o| !o.contains([';', ',', ' ', '\''])).unwrap_or_default()
}

/// The one-time things of a sign-in.
#[derive(Debug, Clone, Copy)]
pub enum OneTime {
    /// A consent form.
    ConsentForm,
    /// Clerk's `state`.
    ClerkState,
}

/// The page for each way a one-time thing of a sign-in could not be used. A store failure is
/// [`unavailable_page`] for both.
pub fn cannot_use(what: OneTime, error: TakeError<()>) -> Response {
    let (title, missing, used) = match what {
        OneTime::ConsentForm => (
            "This consent form is not valid",
            "This consent page has expired. Start again from your app.",
            "This consent page was already used. Start again from your app.",
        ),
        OneTime::ClerkState => (
            "This sign-in cannot continue",
            "This sign-in is unknown or has expired. Start again from your app.",
            "This sign-in response was already used.",
        ),
    };
    match (error, what) {
        (TakeError::Missing, _) => error_page(StatusCode::BAD_REQUEST, title, missing),
        (TakeError::Used, _) => error_page(StatusCode::BAD_REQUEST, title, used),
        (TakeError::Refused(()), OneTime::ConsentForm) => error_page(
            StatusCode::FORBIDDEN,
            "Request not accepted",
            "This form was not submitted from the page this browser was shown (missing cookie or wrong token).",
        ),
        (TakeError::Refused(()), OneTime::ClerkState) => error_page(
            StatusCode::BAD_REQUEST,
            title,
            "This sign-in was started in another browser (its cookie is missing here). Start again from your app in this browser.",
        ),
        (TakeError::Store(_), _) => unavailable_page(),
    }
}

/// The store (or another dependency) failed: try again, nothing was used up.
pub fn unavailable_page() -> Response {
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Temporarily unavailable",
        "The server could not reach its storage. Please try again in a moment.",
    )
}

/// A plain error page the user reads (nothing is sent to the client).
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = html! {
        main {
            h1 { (title) }
            p { (message) }
            p.muted { "You can close this page and start the sign-in again from your app." }
        }
    };
    page(status, title, body, "'none'")
}

/// The 429 page for a browser past the sign-in rate limit, with `Retry-After`.
pub fn too_many_requests(retry_after: u64) -> Response {
    let what = "There were too many sign-in requests from your network in a short time.";
    retry_later("Too many sign-in attempts", what, retry_after)
}

/// The 429 page for a browser whose address has too many sign-ins in progress, with
/// `Retry-After`.
pub fn too_many_pending(retry_after: u64) -> Response {
    let what = "There are too many unfinished sign-ins from your network.";
    retry_later("Too many sign-ins in progress", what, retry_after)
}

fn retry_later(title: &str, what: &str, retry_after: u64) -> Response {
    let message = format!("{what} Please wait {retry_after} seconds, then start again from your app.");
    let mut response = error_page(StatusCode::TOO_MANY_REQUESTS, title, &message);
    platform::web::append_header(&mut response, "retry-after", &retry_after.to_string());
    response
}

/// A whole page around `body`, with the shared style and the headers every page has;
/// `form_action` is the CSP's `form-action` sources. It sends no referrer anywhere.
pub(crate) fn page(status: StatusCode, title: &str, body: Markup, form_action: &str) -> Response {
    page_with_referrer_policy(status, title, body, form_action, "no-referrer")
}

/// [`page`] with another referrer policy: `same-origin` for pages whose forms post to this
/// server and are checked by `Origin` (under `no-referrer`, browsers send `Origin: null`).
pub(crate) fn page_with_referrer_policy(
    status: StatusCode,
    title: &str,
    body: Markup,
    form_action: &str,
    referrer_policy: &str,
) -> Response {
    let html = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content=(referrer_policy);
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body { (body) }
        }
    };
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    );
    response(
        status,
        &[
            ("content-type", "text/html; charset=utf-8"),
            ("content-security-policy", &csp),
            ("x-frame-options", "DENY"),
            ("x-content-type-options", "nosniff"),
            ("cache-control", "no-store"),
            ("referrer-policy", referrer_policy),
        ],
        html.into_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_become_links() {
        assert!(is_http_url("https://client.example/about"));
        assert!(is_http_url("HTTP://client.example"));
        for bad in
            ["javascript:alert(1)", "data:text/html,x", "https://a.example/\u{7}", "https://a b", "//evil.example"]
        {
            assert!(!is_http_url(bad), "{bad}");
        }
    }

    #[test]
    fn error_pages_escape_text_and_forbid_framing_and_forms() {
        let page = error_page(StatusCode::BAD_REQUEST, "<b>", "<script>");
        let html = String::from_utf8_lossy(page.body()).into_owned();
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"));
        let csp = page.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("form-action 'none'") && csp.contains("frame-ancestors 'none'"));
    }

    #[test]
    fn client_links_are_escaped_inside_their_attribute() {
        let validated = ValidatedAuthorization {
            client_id: "c".into(),
            client_name: None,
            client_uri: Some(r#"https://a.example/?x="><script>"#.into()),
            logo_uri: None,
            tos_uri: Some("javascript:alert(1)".into()),
            policy_uri: None,
            redirect_uri: "https://a.example/cb".into(),
            redirect_uri_provided: true,
            state: None,
            scope: vec!["mcp".into()],
            code_challenge: "x".into(),
            resource: "https://mcp.example/mcp".into(),
            issuer: "https://mcp.example".into(),
        };
        let mut scopes = crate::scope_lines::scope_lines(&validated.scope, &Default::default(), None);
        scopes.asked[0].note = RoleNote::OnlyFor(vec!["<b>".into()]);
        let view = ConsentView {
            validated: &validated,
            handle: "h\"",
            csrf_token: "t",
            clerk_origin: "https://clerk.example",
            signed_in_as: None,
            scopes: &scopes,
        };
        let html = String::from_utf8_lossy(consent_page(&view).body()).into_owned();
        assert!(html.contains(r#"href="https://a.example/?x=&quot;&gt;&lt;script&gt;""#), "{html}");
        assert!(html.contains(r#"name="handle" value="h&quot;""#), "{html}");
        assert!(html.contains("role is &lt;b&gt;;") && !html.contains("javascript:"), "{html}");
        assert!(html.contains("<h1>An unnamed app wants to use") && !html.contains(">Terms<"), "{html}");
        assert!(html.contains(r#"<bdi class="client">mcp.example</bdi>"#), "{html}");
        assert!(html.contains("<strong><bdi>a.example</bdi></strong>"), "{html}");
    }
}
