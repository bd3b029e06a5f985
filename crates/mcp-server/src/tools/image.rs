//! Image generation backends, over the outbound-HTTP port: Cloudflare Workers AI's REST API
//! and any OpenAI-compatible `/v1/images/generations` endpoint.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use platform::{HttpClient, OutboundError};
use serde_json::{Value, json};
use std::time::Duration;

/// Workers AI's REST API root.
pub const CLOUDFLARE_API_BASE: &str = "https://api.cloudflare.com/client/v4";
/// The model the original demo ran.
pub const CLOUDFLARE_DEFAULT_MODEL: &str = "@cf/black-forest-labs/flux-1-schnell";
pub const OPENAI_API_BASE: &str = "https://api.openai.com/v1";
pub const OPENAI_DEFAULT_MODEL: &str = "dall-e-3";
/// Longest backend error text passed on to the caller.
const MAX_ERROR_TEXT: usize = 300;

/// A configured image backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageBackend {
    Cloudflare { api_base: String, account_id: String, api_token: String, model: String },
    OpenAiCompatible { base_url: String, model: String, api_key: Option<String> },
}

/// A generated image, ready for an MCP `image` content block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedImage {
    pub data_base64: String,
    pub mime_type: String,
}

/// Why generation failed; shown to the model as a tool error, never a protocol failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("the image backend did not answer within {0} seconds")]
    Timeout(u64),
    #[error("the image backend could not be reached: {0}")]
    Unreachable(String),
    #[error("the image backend refused the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("the image backend sent an unexpected response: {0}")]
    BadResponse(String),
}

impl ImageBackend {
    /// The request this backend expects for `prompt` and `steps`.
    fn request(&self, prompt: &str, steps: u8) -> Result<platform::outbound::Request, ImageError> {
        let (url, token, body) = match self {
            Self::Cloudflare { api_base, account_id, api_token, model } => (
                format!("{}/accounts/{account_id}/ai/run/{model}", api_base.trim_end_matches('/')),
                Some(api_token.as_str()),
                json!({ "prompt": prompt, "steps": steps }),
            ),
            Self::OpenAiCompatible { base_url, model, api_key } => (
                openai_endpoint(base_url),
                api_key.as_deref(),
                json!({ "model": model, "prompt": prompt, "n": 1, "response_format": "b64_json" }),
            ),
        };
        let mut builder =
            http::Request::post(url).header("content-type", "application/json").header("accept", "application/json");
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        builder
            .body(body.to_string().into_bytes())
            .map_err(|e| ImageError::BadResponse(format!("invalid backend URL: {e}")))
    }

    /// The base64 image inside a successful response body.
    fn extract(&self, body: &Value) -> Option<String> {
        let image = match self {
            Self::Cloudflare { .. } => body.pointer("/result/image"),
            Self::OpenAiCompatible { .. } => body.pointer("/data/0/b64_json"),
        };
        image.and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
    }
}

/// `{base}/images/generations` when the base already names `/v1`, else `{base}/v1/images/generations`.
fn openai_endpoint(base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    if base.ends_with("/v1") { format!("{base}/images/generations") } else { format!("{base}/v1/images/generations") }
}

/// Runs one generation on `backend`.
pub async fn generate(
    backend: &ImageBackend,
    client: &dyn HttpClient,
    prompt: &str,
    steps: u8,
    timeout: Duration,
) -> Result<GeneratedImage, ImageError> {
    let request = backend.request(prompt, steps)?;
    let response = client.send(request, timeout).await.map_err(|e| outbound_error(e, timeout))?;
    let status = response.status();
    let body: Option<Value> = serde_json::from_slice(response.body()).ok();
    if !status.is_success() {
        let message = body.as_ref().and_then(error_message).unwrap_or_else(|| snippet(response.body()));
        return Err(ImageError::Rejected { status: status.as_u16(), message });
    }
    let body = body.ok_or_else(|| ImageError::BadResponse("the body is not JSON".into()))?;
    if body.get("success") == Some(&Value::Bool(false)) {
        let message = error_message(&body).unwrap_or_else(|| "success: false".into());
        return Err(ImageError::Rejected { status: status.as_u16(), message });
    }
    let data = backend.extract(&body).ok_or_else(|| ImageError::BadResponse("no image in the response".into()))?;
    let mime_type = sniff_mime(&data).ok_or_else(|| ImageError::BadResponse("the image is not valid base64".into()))?;
    Ok(GeneratedImage { data_base64: data, mime_type: mime_type.to_owned() })
}

fn outbound_error(error: OutboundError, timeout: Duration) -> ImageError {
    match error {
        OutboundError::Timeout { .. } => ImageError::Timeout(timeout.as_secs()),
        other => ImageError::Unreachable(other.to_string()),
    }
}

/// The human-readable error in a Cloudflare (`errors[0].message`) or OpenAI (`error.message`) body.
fn error_message(body: &Value) -> Option<String> {
    let message = body
        .pointer("/errors/0/message")
        .or_else(|| body.pointer("/error/message"))
        .or_else(|| body.get("error"))
        .and_then(Value::as_str)?;
    Some(truncate(message))
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if text.trim().is_empty() { "empty response".into() } else { truncate(text.trim()) }
}

fn truncate(text: &str) -> String {
    text.chars().take(MAX_ERROR_TEXT).collect()
}

/// The image format, from the first bytes of the base64 data; `None` when it is not base64.
fn sniff_mime(data_base64: &str) -> Option<&'static str> {
    let head: String = data_base64.chars().take(16).collect();
    let bytes = STANDARD.decode(head.as_bytes()).ok()?;
    Some(match bytes.as_slice() {
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        [0xFF, 0xD8, 0xFF, ..] => "image/jpeg",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => "image/webp",
        [b'G', b'I', b'F', b'8', ..] => "image/gif",
        _ => "image/png",
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::test_support::FakeHttp;
    use futures::executor::block_on;

    pub const JPEG_B64: &str = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8U";
    pub const PNG_B64: &str =
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

    pub fn cloudflare() -> ImageBackend {
        ImageBackend::Cloudflare {
            api_base: CLOUDFLARE_API_BASE.into(),
            account_id: "acc123".into(),
            api_token: "cf-token".into(),
            model: CLOUDFLARE_DEFAULT_MODEL.into(),
        }
    }

    fn openai(base: &str) -> ImageBackend {
        ImageBackend::OpenAiCompatible {
            base_url: base.into(),
            model: "img-model".into(),
            api_key: Some("sk-x".into()),
        }
    }

    const T: Duration = Duration::from_secs(30);

    #[test]
    fn cloudflare_request_and_jpeg_response() {
        let http = FakeHttp::json(200, json!({"result": {"image": JPEG_B64}, "success": true}));
        let image = block_on(generate(&cloudflare(), &http, "a cat", 6, T)).unwrap();
        assert_eq!(image, GeneratedImage { data_base64: JPEG_B64.into(), mime_type: "image/jpeg".into() });
        let sent = http.last_request();
        assert_eq!(
            sent.uri().to_string(),
            "https://api.cloudflare.com/client/v4/accounts/acc123/ai/run/@cf/black-forest-labs/flux-1-schnell"
        );
        assert_eq!(sent.headers()["authorization"], "Bearer cf-token");
        let body: Value = serde_json::from_slice(sent.body()).unwrap();
        assert_eq!(body, json!({"prompt": "a cat", "steps": 6}));
    }

    #[test]
    fn openai_request_and_png_response() {
        let http = FakeHttp::json(200, json!({"created": 1, "data": [{"b64_json": PNG_B64}]}));
        let image = block_on(generate(&openai("https://img.example/v1/"), &http, "a dog", 4, T)).unwrap();
        assert_eq!(image.mime_type, "image/png");
        let sent = http.last_request();
        assert_eq!(sent.uri().to_string(), "https://img.example/v1/images/generations");
        let body: Value = serde_json::from_slice(sent.body()).unwrap();
        assert_eq!(body["response_format"], "b64_json");
        assert_eq!(body["model"], "img-model");
    }

    #[test]
    fn openai_base_without_v1_gets_it_appended() {
        assert_eq!(openai_endpoint("http://127.0.0.1:9000"), "http://127.0.0.1:9000/v1/images/generations");
    }

    #[test]
    fn backend_error_status_carries_backend_message() {
        let http =
            FakeHttp::json(400, json!({"success": false, "errors": [{"code": 5006, "message": "prompt too long"}]}));
        let err = block_on(generate(&cloudflare(), &http, "x", 4, T)).unwrap_err();
        assert_eq!(err, ImageError::Rejected { status: 400, message: "prompt too long".into() });
    }

    #[test]
    fn openai_error_message_is_reported() {
        let http = FakeHttp::json(401, json!({"error": {"message": "bad key", "type": "invalid_request_error"}}));
        let err = block_on(generate(&openai("https://x/v1"), &http, "x", 4, T)).unwrap_err();
        assert_eq!(err.to_string(), "the image backend refused the request (HTTP 401): bad key");
    }

    #[test]
    fn success_false_with_200_is_an_error() {
        let http = FakeHttp::json(200, json!({"success": false, "errors": [{"message": "capacity"}]}));
        assert!(matches!(block_on(generate(&cloudflare(), &http, "x", 4, T)), Err(ImageError::Rejected { .. })));
    }

    #[test]
    fn timeout_becomes_timeout_error() {
        let http = FakeHttp::failing(OutboundError::Timeout { host: "api.cloudflare.com".into() });
        let err = block_on(generate(&cloudflare(), &http, "x", 4, T)).unwrap_err();
        assert_eq!(err.to_string(), "the image backend did not answer within 30 seconds");
    }

    #[test]
    fn unreachable_backend_is_reported() {
        let http = FakeHttp::failing(OutboundError::Denied { host: "api.cloudflare.com".into() });
        assert!(matches!(block_on(generate(&cloudflare(), &http, "x", 4, T)), Err(ImageError::Unreachable(_))));
    }

    #[test]
    fn non_json_and_missing_image_are_bad_responses() {
        let http = FakeHttp::raw(200, b"<html>".to_vec());
        assert!(matches!(block_on(generate(&cloudflare(), &http, "x", 4, T)), Err(ImageError::BadResponse(_))));
        let http = FakeHttp::json(200, json!({"result": {}, "success": true}));
        assert!(matches!(block_on(generate(&cloudflare(), &http, "x", 4, T)), Err(ImageError::BadResponse(_))));
        let http = FakeHttp::json(200, json!({"result": {"image": "!!not base64!!"}, "success": true}));
        assert!(matches!(block_on(generate(&cloudflare(), &http, "x", 4, T)), Err(ImageError::BadResponse(_))));
    }
}
