//! A browser profile: the HTTP client plus a cookie jar (cookies are per host, not per port, as
//! in real browsers; attributes are not enforced, `raw_set_cookies` keeps them for assertions).

use std::collections::BTreeMap;

use crate::http::{self, Response};

#[derive(Debug, Default, Clone)]
pub struct Browser {
    /// name -> value
    pub cookies: BTreeMap<String, String>,
    /// Every `Set-Cookie` line received, in order.
    pub raw_set_cookies: Vec<String>,
}

impl Browser {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&mut self, url: &str) -> Response {
        self.send("GET", url, &[], b"")
    }

    pub fn post_form(&mut self, url: &str, pairs: &[(&str, &str)]) -> Response {
        let body = platform::web::encode_pairs(pairs.iter().copied());
        self.send("POST", url, &[("content-type", "application/x-www-form-urlencoded")], body.as_bytes())
    }

    /// Sends with this browser's cookies and stores the cookies the response sets.
    pub fn send(&mut self, method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        let cookie_header = self.cookie_header();
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if !cookie_header.is_empty() {
            all.push(("cookie", &cookie_header));
        }
        let response = http::send(method, url, &all, body);
        self.store(&response);
        response
    }

    /// The `Cookie` header this browser sends.
    pub fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn store(&mut self, response: &Response) {
        for line in response.headers_all("set-cookie") {
            self.raw_set_cookies.push(line.to_owned());
            let mut parts = line.split(';');
            let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else { continue };
            let expired = parts.any(|a| a.trim().eq_ignore_ascii_case("max-age=0"));
            if expired || value.is_empty() {
                self.cookies.remove(name.trim());
            } else {
                self.cookies.insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }

    /// The last `Set-Cookie` line for cookie `name`.
    pub fn set_cookie_line(&self, name: &str) -> Option<&str> {
        self.raw_set_cookies.iter().rev().find(|l| l.starts_with(&format!("{name}="))).map(String::as_str)
    }
}

/// `name`/`value` of every `<input>` in an HTML page (values HTML-unescaped), e.g. the consent
/// form's hidden fields.
pub fn form_inputs(html: &str) -> Vec<(String, String)> {
    html.split("<input")
        .skip(1)
        .filter_map(|tag| {
            let tag = tag.split('>').next()?;
            Some((attribute(tag, "name")?, attribute(tag, "value").unwrap_or_default()))
        })
        .collect()
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"").replace("&#x27;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}
