//! Fetching a document (draft §4, §6): one `GET`, HTTPS only (the URL rules), no redirects
//! followed (a 3xx is a refusal; Spin's outbound HTTP never follows one), a
//! [`FETCH_TIMEOUT`], at most [`MAX_DOCUMENT_BYTES`] read (the draft's recommended 5 KB), status
//! 200 and a JSON media type only.

use std::time::Duration;

use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use platform::outbound::ResponseLimit;
use platform::{HttpClient, OutboundError};

use super::client_id::DocumentUrl;
use super::document;
use super::error::CimdError;
use crate::records::ClientMetadata;
use crate::rules::redirect_uri::RedirectPolicy;

/// The largest document read, in bytes (the draft recommends 5 kilobytes).
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024;

/// Connect, first byte, and the rest of the body: each within this.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// A valid document and how long its server says it may be cached.
#[derive(Debug)]
pub(super) struct Fetched {
    pub metadata: ClientMetadata,
    /// `Cache-Control: max-age` (0 for `no-store`/`no-cache`), if the server said.
    pub max_age: Option<u64>,
}

/// Fetches and validates the document at `url`.
pub(super) async fn fetch(
    http: &dyn HttpClient,
    url: &DocumentUrl,
    policy: &RedirectPolicy,
) -> Result<Fetched, CimdError> {
    let request = http::Request::get(url.as_str())
        .header("accept", "application/json")
        .extension(ResponseLimit(MAX_DOCUMENT_BYTES))
        .body(Vec::new())
        .map_err(|e| CimdError::Fetch(OutboundError::InvalidRequest(e.to_string())))?;
    let response = http.send(request, FETCH_TIMEOUT).await.map_err(|error| match error {
        OutboundError::TooLarge { .. } => CimdError::TooLarge(MAX_DOCUMENT_BYTES),
        other => CimdError::Fetch(other),
    })?;
    match response.status().as_u16() {
        200 => {}
        status @ 300..=399 => return Err(CimdError::Redirect(status)),
        status => return Err(CimdError::Status(status)),
    }
    // Also for clients that do not honour the limit on the request.
    if response.body().len() > MAX_DOCUMENT_BYTES {
        return Err(CimdError::TooLarge(MAX_DOCUMENT_BYTES));
    }
    let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !is_json_media_type(content_type) {
        return Err(CimdError::NotJson(format!("its content type is `{content_type}`")));
    }
    let metadata = document::parse(url, response.body(), policy)?;
    let cache_control: Vec<&str> =
        response.headers().get_all(CACHE_CONTROL).iter().filter_map(|v| v.to_str().ok()).collect();
    Ok(Fetched { metadata, max_age: max_age(&cache_control) })
}

/// `application/json` or `application/<something>+json` (draft §4), parameters ignored.
fn is_json_media_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The freshness lifetime the `Cache-Control` header values give (RFC 9111 §5.2.2):
/// `max-age=N`, or 0 for `no-store` / `no-cache`; the shortest if several are given.
fn max_age(values: &[&str]) -> Option<u64> {
    values
        .iter()
        .flat_map(|value| value.split(','))
        .filter_map(|directive| {
            let directive = directive.trim().to_ascii_lowercase();
            match directive.split_once('=') {
                Some(("max-age", seconds)) => seconds.trim().trim_matches('"').parse().ok(),
                None if directive == "no-store" || directive == "no-cache" => Some(0),
                _ => None,
            }
        })
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        for ok in ["application/json", "application/json; charset=utf-8", "Application/JSON", "application/cimd+json"] {
            assert!(is_json_media_type(ok), "{ok}");
        }
        for bad in ["", "text/html", "text/json", "application/jsonp", "application/xml"] {
            assert!(!is_json_media_type(bad), "{bad}");
        }
    }

    #[test]
    fn cache_control_lifetimes() {
        assert_eq!(max_age(&["max-age=600"]), Some(600));
        assert_eq!(max_age(&["public, max-age=\"60\", must-revalidate"]), Some(60));
        assert_eq!(max_age(&["no-store"]), Some(0));
        assert_eq!(max_age(&["max-age=600", "no-cache"]), Some(0));
        assert_eq!(max_age(&["public"]), None);
        assert_eq!(max_age(&["max-age=soon"]), None);
        assert_eq!(max_age(&[]), None);
    }
}
