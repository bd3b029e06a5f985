//! The HTML the flow shows: the consent page and error pages. Every client-supplied string is
//! escaped; client links are shown only when they are http(s); headers forbid framing, caching,
//! referrers and every resource the page does not need.

use http::StatusCode;
use oauth_core::ValidatedAuthorization;
use platform::web::{Response, escape_html, response};

/// Inline styles only: no external resources, so `default-src 'none'` holds.
const STYLE: &str = "
:root{color-scheme:light dark;--bg:#f4f4f7;--card:#fff;--fg:#1b1b1f;--muted:#5f6270;--accent:#5b3df5;--warn-bg:#fff4e5;--warn-fg:#7a4100;--line:#e3e3ea}
@media (prefers-color-scheme:dark){:root{--bg:#121216;--card:#1d1d23;--fg:#ececf1;--muted:#a3a6b4;--line:#33333d;--warn-bg:#3a2a12;--warn-fg:#ffd9a3}}
*{box-sizing:border-box}body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;padding:1rem}
main{background:var(--card);max-width:30rem;width:100%;border-radius:14px;box-shadow:0 4px 24px #0000001f;padding:2rem}
h1{font-size:1.3rem;margin:0 0 .25rem}p{margin:.5rem 0}.muted{color:var(--muted);font-size:.9rem}
.client{font-weight:600;overflow-wrap:anywhere}dl{margin:1.25rem 0;border-top:1px solid var(--line)}
dt{font-weight:600;margin-top:.9rem;font-size:.9rem;color:var(--muted)}dd{margin:.2rem 0 0;overflow-wrap:anywhere}
ul{margin:.3rem 0 0;padding-left:1.2rem}.warn{background:var(--warn-bg);color:var(--warn-fg);border-radius:8px;padding:.7rem .9rem;margin-top:1rem;font-size:.92rem}
.actions{display:flex;gap:.75rem;margin-top:1.5rem}button{flex:1;font:inherit;font-weight:600;padding:.75rem;border-radius:8px;cursor:pointer;border:1px solid var(--line);background:transparent;color:var(--fg)}
button.primary{background:var(--accent);border-color:var(--accent);color:#fff}button:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
a{color:var(--accent)}code{font-size:.85rem}
";

/// What the consent page shows and posts back.
pub struct ConsentView<'a> {
    pub validated: &'a ValidatedAuthorization,
    /// The one-time handle standing for the validated request.
    pub handle: &'a str,
    pub csrf_token: &'a str,
    /// Where Approve leads (Clerk's origin), allowed as a form target by the CSP.
    pub clerk_origin: &'a str,
}

/// The consent page (200).
pub fn consent_page(view: &ConsentView<'_>) -> Response {
    let v = view.validated;
    let client = v.client_name.as_deref().filter(|n| !n.trim().is_empty()).unwrap_or("An unnamed MCP client");
    let server_host = platform::web::authority_of(&v.issuer).unwrap_or_else(|| v.issuer.clone());
    let body = format!(
        r#"<main>
<h1><span class="client">{client}</span> wants to use <span class="client">{server_host}</span> as you</h1>
<p class="muted">Client ID <code>{client_id}</code>. Its name and links are chosen by whoever registered it: only continue if you started this from an app you trust.</p>
<dl>
<dt>It will be able to</dt><dd><ul>{scopes}</ul></dd>
<dt>After approval, you go back to</dt><dd><strong>{redirect_host}</strong>{loopback}</dd>
<dt>You sign in with Clerk, which shares with this server</dt><dd>Your name, email address, profile picture and account role.</dd>
{links}
</dl>
<form method="post" action="/authorize">
<input type="hidden" name="handle" value="{handle}">
<input type="hidden" name="csrf_token" value="{csrf}">
<div class="actions">
<button type="submit" name="decision" value="deny">Deny</button>
<button type="submit" name="decision" value="approve" class="primary">Approve</button>
</div>
</form>
</main>"#,
        client = escape_html(client),
        server_host = escape_html(&server_host),
        client_id = escape_html(&v.client_id),
        scopes = scope_items(&v.scope),
        redirect_host = escape_html(&v.redirect_host()),
        loopback = if v.redirect_is_loopback() { LOOPBACK_WARNING } else { "" },
        links = client_links(v),
        handle = escape_html(view.handle),
        csrf = escape_html(view.csrf_token),
    );
    let form_action = format!("'self' {} {}", csp_source(view.clerk_origin), csp_source(&v.redirect_uri));
    page(StatusCode::OK, "Authorize access", &body, &form_action)
}

const LOOPBACK_WARNING: &str = r#"<p class="warn" role="note"><strong>This address is on your own computer.</strong> Approve only if you just started this sign-in from an app running on this device; otherwise another program could receive access.</p>"#;

fn scope_items(scopes: &[String]) -> String {
    scopes
        .iter()
        .map(|scope| match scope.as_str() {
            "mcp" => "<li>Use this MCP server's tools on your behalf</li>".to_owned(),
            other => format!("<li><code>{}</code></li>", escape_html(other)),
        })
        .collect()
}

fn client_links(v: &ValidatedAuthorization) -> String {
    let links: Vec<String> = [("Website", &v.client_uri), ("Privacy policy", &v.policy_uri), ("Terms", &v.tos_uri)]
        .into_iter()
        .filter_map(|(label, uri)| {
            let uri = uri.as_deref().filter(|u| is_http_url(u))?;
            Some(format!(r#"<a href="{}" rel="noopener noreferrer" target="_blank">{label}</a>"#, escape_html(uri)))
        })
        .collect();
    if links.is_empty() { String::new() } else { format!("<dt>About this client</dt><dd>{}</dd>", links.join(" · ")) }
}

/// Only http(s) URLs without whitespace or control characters become links.
pub fn is_http_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A CSP source expression for `url`'s origin (or nothing if it has none).
fn csp_source(url: &str) -> String {
    platform::web::origin_of(url).filter(|o| !o.contains([';', ',', ' ', '\''])).unwrap_or_default()
}

/// A plain error page the user reads (nothing is sent to the client).
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        r#"<main><h1>{}</h1><p>{}</p><p class="muted">You can close this page and start the sign-in again from your app.</p></main>"#,
        escape_html(title),
        escape_html(message)
    );
    page(status, title, &body, "'none'")
}

fn page(status: StatusCode, title: &str, body: &str, form_action: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"referrer\" content=\"no-referrer\"><title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        escape_html(title)
    );
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
            ("referrer-policy", "no-referrer"),
        ],
        html,
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
}
