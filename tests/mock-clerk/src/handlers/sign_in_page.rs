//! The development sign-in page: pick an email and a role. Only served in interactive mode.

use platform::web::escape_html;

/// The page, carrying the authorize parameters through as hidden fields.
pub(crate) fn render(params: &[(String, String)]) -> String {
    let hidden: String = params
        .iter()
        .filter(|(k, _)| k != "email" && k != "role")
        .map(|(k, v)| format!(r#"<input type="hidden" name="{}" value="{}">"#, escape_html(k), escape_html(v)))
        .collect();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Development sign-in</title>
<style>
body{{font-family:system-ui,sans-serif;background:#f6f6f8;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}}
main{{background:#fff;border-radius:12px;box-shadow:0 2px 12px #0002;padding:2rem;max-width:26rem;width:100%}}
.banner{{background:#b00020;color:#fff;font-weight:700;padding:.6rem;border-radius:6px;text-align:center;letter-spacing:.03em}}
label{{display:block;margin-top:1rem;font-weight:600}} input,select{{width:100%;padding:.5rem;margin-top:.3rem;box-sizing:border-box}}
button{{margin-top:1.5rem;width:100%;padding:.7rem;background:#6c47ff;color:#fff;border:0;border-radius:6px;font-size:1rem;cursor:pointer}}
</style></head>
<body><main>
<p class="banner" role="alert">DEVELOPMENT SIGN-IN, NOT FOR PRODUCTION</p>
<h1>Sign in (mock Clerk)</h1>
<p>No password: pick who you want to be. Configure real Clerk credentials to turn this page off.</p>
<form method="post" action="/oauth/authorize/sign-in">
{hidden}
<label for="email">Email</label>
<input id="email" name="email" type="email" value="admin@example.com" required>
<label for="role">Role (<code>public_metadata.role</code>)</label>
<select id="role" name="role">
<option value="admin">admin</option><option value="premium">premium</option>
<option value="image_generation">image_generation</option><option value="">(none)</option>
</select>
<button type="submit">Sign in</button>
</form>
</main></body></html>"#
    )
}
