//! The development sign-in page: pick an email and a role. Only served with [`super::super::Options::page`] on.

use maud::{DOCTYPE, PreEscaped, html};

const STYLE: &str = "
body{font-family:system-ui,sans-serif;background:#f6f6f8;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}
main{background:#fff;border-radius:12px;box-shadow:0 2px 12px #0002;padding:2rem;max-width:26rem;width:100%}
.banner{background:#b00020;color:#fff;font-weight:700;padding:.6rem;border-radius:6px;text-align:center;letter-spacing:.03em}
label{display:block;margin-top:1rem;font-weight:600} input,select{width:100%;padding:.5rem;margin-top:.3rem;box-sizing:border-box}
button{margin-top:1.5rem;width:100%;padding:.7rem;background:#6c47ff;color:#fff;border:0;border-radius:6px;font-size:1rem;cursor:pointer}
";

/// The page, carrying the authorize parameters through as hidden fields.
pub(crate) fn render(params: &[(String, String)]) -> String {
    let carried = params.iter().filter(|(k, _)| k != "email" && k != "role");
    let roles = [("admin", "admin"), ("premium", "premium"), ("image_generation", "image_generation"), ("", "(none)")];
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Development sign-in" }
                style { (PreEscaped(STYLE)) }
            }
            body { main {
                p.banner role="alert" { "DEVELOPMENT SIGN-IN, NOT FOR PRODUCTION" }
                h1 { "Sign in (development)" }
                p { "No password: pick who you want to be. Configure real Clerk credentials to turn this page off." }
                form method="post" action="/oauth/authorize/sign-in" {
                    @for (name, value) in carried {
                        input type="hidden" name=(name) value=(value);
                    }
                    label for="email" { "Email" }
                    input #email name="email" type="email" value="admin@example.com" required;
                    label for="role" { "Role (" code { "public_metadata.role" } ")" }
                    select #role name="role" {
                        @for (value, label) in roles { option value=(value) { (label) } }
                    }
                    button type="submit" { "Sign in" }
                }
            } }
        }
    }
    .into_string()
}
