//! mcp-server's settings, read from the app's variables once per request ([`Settings`]).
//! (`public_base_url` and `client_addr_header` are `platform::Settings`, applied to the
//! request by the host.)

use crate::tools::ToolSettings;
use crate::tools::image::{CLOUDFLARE_DEFAULT_MODEL, ImageBackend, OPENAI_DEFAULT_MODEL};
use platform::rate_limit::{self, Limit};
use platform::{VariableError, Variables};
use std::time::Duration;

/// Largest JSON-RPC message accepted on `/mcp` and `/sse/message`.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Variable names (see spin.toml).
pub mod names {
    pub const ALLOWED_ORIGINS: &str = "allowed_origins";
    pub const IMAGE_PROVIDER: &str = "image_provider";
    pub const IMAGE_API_ORIGIN: &str = "image_api_origin";
    pub const IMAGE_API_PATH: &str = "image_api_path";
    pub const IMAGE_MODEL: &str = "image_model";
    pub const IMAGE_API_TOKEN: &str = "image_api_token";
    pub const CLOUDFLARE_ACCOUNT_ID: &str = "cloudflare_account_id";
    pub const IMAGE_TIMEOUT_SECONDS: &str = "image_timeout_seconds";
    pub const SSE_MAX_SECONDS: &str = "sse_max_seconds";
    pub const SSE_MAX_STREAMS_PER_USER: &str = "sse_max_streams_per_user";
    pub const SSE_MAX_STREAMS: &str = "sse_max_streams";
}

/// Legacy SSE stream timing and caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseSettings {
    /// A stream ends (cleanly) after this long; clients reconnect.
    pub max_duration: Duration,
    /// How often the stream checks its mailbox while messages flow.
    pub poll_interval: Duration,
    /// How often it checks at most once it has been idle a while: the interval doubles after
    /// each empty check up to this, and snaps back to `poll_interval` when a message arrives.
    pub idle_poll_interval: Duration,
    /// A comment line is sent when nothing else was for this long, so proxies keep the stream.
    pub keepalive_interval: Duration,
    /// How often an open stream reads its access token again, and ends once it is revoked or
    /// expired (one key-value read each time).
    pub token_check_interval: Duration,
    /// Open streams one user may have across all instances (0: no cap).
    pub max_streams_per_user: u64,
    /// Open streams of all users across all instances (0: no cap).
    pub max_streams: u64,
}

impl Default for SseSettings {
    fn default() -> Self {
        Self {
            max_duration: Duration::from_secs(300),
            poll_interval: Duration::from_millis(15),
            idle_poll_interval: Duration::from_millis(500),
            keepalive_interval: Duration::from_secs(15),
            token_check_interval: Duration::from_secs(5),
            max_streams_per_user: 10,
            max_streams: 100,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
/// Everything the MCP endpoints read from variables.
pub struct Settings {
    /// Browser origins allowed besides our own (`*` allows any).
    pub allowed_origins: Vec<String>,
    pub tools: ToolSettings,
    pub sse: SseSettings,
    /// `tools/call` per user (`rate_limit_tool_calls_per_minute`; off by default: it costs a
    /// key-value write per call).
    pub tool_calls: Limit,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            tools: ToolSettings::default(),
            sse: SseSettings::default(),
            tool_calls: rate_limit::TOOL_CALLS.with_max(rate_limit::TOOL_CALLS.default_max),
        }
    }
}

impl Settings {
    /// Reads them; a malformed value is an error naming the variable.
    pub fn from_variables(vars: &dyn Variables) -> Result<Self, VariableError> {
        let mut tools = ToolSettings { image_backend: image_backend(vars)?, ..ToolSettings::default() };
        // Read where the other components read it, so all agree on who holds the image scope.
        tools.image_roles = oauth_core::rules::scope::ScopePolicy::from_variables(vars)?.image_roles;
        if let Some(seconds) = seconds(vars, names::IMAGE_TIMEOUT_SECONDS)? {
            tools.image_timeout = seconds;
        }
        let mut sse = SseSettings::default();
        if let Some(seconds) = seconds(vars, names::SSE_MAX_SECONDS)? {
            sse.max_duration = seconds;
        }
        if let Some(cap) = count(vars, names::SSE_MAX_STREAMS_PER_USER)? {
            sse.max_streams_per_user = cap;
        }
        if let Some(cap) = count(vars, names::SSE_MAX_STREAMS)? {
            sse.max_streams = cap;
        }
        Ok(Self {
            allowed_origins: vars.get(names::ALLOWED_ORIGINS)?.map(|v| list(&v)).unwrap_or_default(),
            tools,
            sse,
            tool_calls: rate_limit::TOOL_CALLS.from_variables(vars)?,
        })
    }
}

fn list(value: &str) -> Vec<String> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn seconds(vars: &dyn Variables, name: &str) -> Result<Option<Duration>, VariableError> {
    let Some(text) = vars.get(name)? else { return Ok(None) };
    match text.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(Some(Duration::from_secs(n))),
        _ => Err(invalid(name, "must be a positive whole number of seconds")),
    }
}

fn count(vars: &dyn Variables, name: &str) -> Result<Option<u64>, VariableError> {
    let Some(text) = vars.get(name)? else { return Ok(None) };
    text.trim().parse::<u64>().map(Some).map_err(|_| invalid(name, "must be a whole number (0: no cap)"))
}

fn invalid(name: &str, reason: &str) -> VariableError {
    VariableError::Invalid { name: name.to_owned(), reason: reason.to_owned() }
}

/// The image backend, or `None` when `image_provider` is empty (then `image_api_origin`, whose
/// default is an unreachable placeholder, is not used).
fn image_backend(vars: &dyn Variables) -> Result<Option<ImageBackend>, VariableError> {
    let Some(provider) = vars.get(names::IMAGE_PROVIDER)? else { return Ok(None) };
    let origin = vars.require(names::IMAGE_API_ORIGIN)?;
    let origin = origin.trim_end_matches('/');
    if !(origin.starts_with("https://") || origin.starts_with("http://")) {
        return Err(invalid(names::IMAGE_API_ORIGIN, "must be an http(s) origin such as https://api.cloudflare.com"));
    }
    if is_unreachable(origin) {
        return Err(invalid(
            names::IMAGE_API_ORIGIN,
            "is still the placeholder under `.invalid`, which reaches nothing: set it to the image API's origin, \
             such as https://api.cloudflare.com or https://api.openai.com",
        ));
    }
    let path = vars.get(names::IMAGE_API_PATH)?;
    let model = vars.get(names::IMAGE_MODEL)?;
    let backend = match provider.trim().to_ascii_lowercase().as_str() {
        "cloudflare" => ImageBackend::Cloudflare {
            api_base: format!("{origin}{}", path.as_deref().unwrap_or("/client/v4")),
            account_id: vars.require(names::CLOUDFLARE_ACCOUNT_ID)?,
            api_token: vars.require(names::IMAGE_API_TOKEN)?,
            model: model.unwrap_or_else(|| CLOUDFLARE_DEFAULT_MODEL.to_owned()),
        },
        "openai" => ImageBackend::OpenAiCompatible {
            base_url: format!("{origin}{}", path.as_deref().unwrap_or("/v1")),
            model: model.unwrap_or_else(|| OPENAI_DEFAULT_MODEL.to_owned()),
            api_key: vars.get(names::IMAGE_API_TOKEN)?,
        },
        _ => return Err(invalid(names::IMAGE_PROVIDER, "must be empty, `cloudflare` or `openai`")),
    };
    Ok(Some(backend))
}

/// Whether `origin`'s host is under `.invalid`, the top-level domain that never resolves
/// (RFC 6761): spin.toml's default for `image_api_origin`, valid for Spin's allow-list, no use
/// for a request.
fn is_unreachable(origin: &str) -> bool {
    let host = origin
        .parse::<http::Uri>()
        .ok()
        .and_then(|uri| uri.host().map(|h| h.trim_end_matches('.').to_ascii_lowercase()));
    host.is_some_and(|h| h == "invalid" || h.ends_with(".invalid"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::StaticVariables;

    #[test]
    fn defaults_disable_images_and_allow_only_own_origin() {
        let config = Settings::from_variables(&StaticVariables::default()).unwrap();
        assert_eq!(config.tools.image_backend, None);
        assert_eq!(config.tools.image_roles, ["admin", "premium", "image_generation"]);
        assert!(config.allowed_origins.is_empty());
        assert_eq!(config.sse.max_duration, Duration::from_secs(300));
        assert_eq!((config.sse.max_streams_per_user, config.sse.max_streams), (10, 100));
        assert!(config.tool_calls.is_off(), "tool calls are not limited unless configured");
    }

    #[test]
    fn stream_caps_and_the_tool_call_limit_come_from_variables() {
        let vars = StaticVariables::new([
            ("sse_max_streams_per_user", "2"),
            ("sse_max_streams", "0"),
            ("rate_limit_tool_calls_per_minute", "60"),
        ]);
        let config = Settings::from_variables(&vars).unwrap();
        assert_eq!((config.sse.max_streams_per_user, config.sse.max_streams), (2, 0));
        assert_eq!(
            (config.tool_calls.name, config.tool_calls.max, config.tool_calls.window_secs),
            ("tool_calls", 60, 60)
        );
        for name in ["sse_max_streams_per_user", "sse_max_streams", "rate_limit_tool_calls_per_minute"] {
            let error = Settings::from_variables(&StaticVariables::new([(name, "many")])).unwrap_err();
            assert!(error.to_string().contains(name), "{error}");
        }
    }

    #[test]
    fn cloudflare_backend_from_variables() {
        let vars = StaticVariables::new([
            ("image_provider", "cloudflare"),
            ("image_api_origin", "https://api.cloudflare.com/"),
            ("cloudflare_account_id", "acc"),
            ("image_api_token", "tok"),
            ("image_roles", "admin, artist"),
            ("allowed_origins", "https://a.example, https://b.example"),
        ]);
        let config = Settings::from_variables(&vars).unwrap();
        assert_eq!(
            config.tools.image_backend,
            Some(ImageBackend::Cloudflare {
                api_base: "https://api.cloudflare.com/client/v4".into(),
                account_id: "acc".into(),
                api_token: "tok".into(),
                model: CLOUDFLARE_DEFAULT_MODEL.into(),
            })
        );
        assert_eq!(config.tools.image_roles, ["admin", "artist"]);
        assert_eq!(config.allowed_origins, ["https://a.example", "https://b.example"]);
    }

    #[test]
    fn openai_backend_with_custom_path_and_model() {
        let vars = StaticVariables::new([
            ("image_provider", "openai"),
            ("image_api_origin", "http://127.0.0.1:9000"),
            ("image_api_path", "/compat/v1"),
            ("image_model", "flux"),
        ]);
        let backend = Settings::from_variables(&vars).unwrap().tools.image_backend;
        assert_eq!(
            backend,
            Some(ImageBackend::OpenAiCompatible {
                base_url: "http://127.0.0.1:9000/compat/v1".into(),
                model: "flux".into(),
                api_key: None
            })
        );
    }

    #[test]
    fn the_default_origin_placeholder_is_ignored_while_images_are_off_and_refused_once_on() {
        let off = StaticVariables::new([("image_api_origin", "https://image-api.invalid")]);
        assert_eq!(Settings::from_variables(&off).unwrap().tools.image_backend, None);
        for placeholder in ["https://image-api.invalid", "https://IMAGE-API.INVALID.:443/"] {
            let on = StaticVariables::new([("image_provider", "openai"), ("image_api_origin", placeholder)]);
            let err = Settings::from_variables(&on).unwrap_err().to_string();
            assert!(err.contains("image_api_origin") && err.contains(".invalid"), "{err}");
        }
        let real =
            StaticVariables::new([("image_provider", "openai"), ("image_api_origin", "https://invalid.example.com")]);
        assert!(Settings::from_variables(&real).unwrap().tools.image_backend.is_some());
    }

    #[test]
    fn cloudflare_without_account_names_the_variable() {
        let vars = StaticVariables::new([
            ("image_provider", "cloudflare"),
            ("image_api_origin", "https://api.cloudflare.com"),
            ("image_api_token", "tok"),
        ]);
        let err = Settings::from_variables(&vars).unwrap_err();
        assert!(err.to_string().contains("cloudflare_account_id"), "{err}");
    }

    #[test]
    fn unknown_provider_and_bad_numbers_name_the_variable() {
        let err = Settings::from_variables(&StaticVariables::new([
            ("image_provider", "dalle"),
            ("image_api_origin", "https://x"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("image_provider"));
        let err = Settings::from_variables(&StaticVariables::new([("sse_max_seconds", "soon")])).unwrap_err();
        assert!(err.to_string().contains("sse_max_seconds"));
        let err = Settings::from_variables(&StaticVariables::new([
            ("image_provider", "openai"),
            ("image_api_origin", "ftp://x"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("image_api_origin"));
    }
}
