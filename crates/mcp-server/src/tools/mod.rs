//! The tools: `add`, `userInfo` and the role-gated `generateImage`.
//!
//! Which scope unlocks which tool, and which roles may hold it, is oauth-core's scope table
//! (`oauth_core::rules::scope`): a tool exists for a user whose role may hold its scope (and,
//! for `generateImage`, when an image backend is configured); it may be called with a token that
//! holds that scope. A tool that exists but whose scope the token lacks is listed, marked, so a
//! client can call it and be challenged to step up.
//!
//! They are defined with rmcp's `#[tool]` macros, which generate each tool's description and
//! input schema; dispatch calls the methods directly (rmcp's router needs its service loop to
//! call tools, which a stateless one-request component does not run).

pub mod args;
pub mod image;

use args::{AddArgs, ArgumentError, GenerateImageArgs};
use image::ImageBackend;
use oauth_core::UserProps;
use oauth_core::rules::scope::{self, ScopePolicy};
use platform::HttpClient;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock as Content, JsonObject, Tool};
use rmcp::tool;
use std::time::Duration;

pub const ADD: &str = "add";
pub const USER_INFO: &str = "userInfo";
pub const GENERATE_IMAGE: &str = "generateImage";

/// Roles that may use `generateImage` unless configured otherwise (the scope table's).
pub const DEFAULT_IMAGE_ROLES: [&str; 3] = scope::DEFAULT_IMAGE_ROLES;
/// How long an image backend may take before the call fails with a tool error.
pub const DEFAULT_IMAGE_TIMEOUT: Duration = Duration::from_secs(60);

/// Tool configuration that does not change per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolSettings {
    /// `None`: image generation is not configured, so `generateImage` exists for nobody.
    pub image_backend: Option<ImageBackend>,
    pub image_roles: Vec<String>,
    pub image_timeout: Duration,
}

impl Default for ToolSettings {
    fn default() -> Self {
        Self {
            image_backend: None,
            image_roles: DEFAULT_IMAGE_ROLES.iter().map(|r| (*r).to_owned()).collect(),
            image_timeout: DEFAULT_IMAGE_TIMEOUT,
        }
    }
}

/// Why a `tools/call` was refused before the tool ran (protocol errors, not tool errors).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("Unknown tool: {0}")]
    UnknownTool(String),
    #[error("{0}")]
    InvalidArguments(#[from] ArgumentError),
    /// The token lacks the scope the tool needs (and the user's role may hold it).
    #[error("this token lacks the `{0}` scope the tool needs")]
    ScopeMissing(&'static str),
}

/// Whether a token may call a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Not a tool for this user: unknown, not configured, or its scope is one the user's role
    /// may never hold (no challenge for it: a step-up could not help).
    Absent,
    /// A tool for this user, whose scope this token lacks: the caller may step up to it.
    ScopeMissing(&'static str),
    Allowed,
}

/// The tools as one signed-in user, with one token, sees them.
pub struct Toolbox<'a> {
    user: UserProps,
    /// The token's scopes (`mcp`, on tokens of earlier releases, holds every scope).
    scopes: Vec<String>,
    settings: &'a ToolSettings,
    /// Outbound HTTP for the image backends.
    http: &'a dyn HttpClient,
}

/// The tools, described by `#[tool]` (their names, descriptions and argument schemas) and
/// dispatched by [`Toolbox::call`]; no rmcp router, which would need a `'static` toolbox.
impl<'a> Toolbox<'a> {
    /// Adds two numbers.
    #[tool(name = "add", description = "Add two numbers and return the sum.")]
    fn add(&self, Parameters(AddArgs { a, b }): Parameters<AddArgs>) -> CallToolResult {
        CallToolResult::success(vec![Content::text((a + b).to_string())])
    }

    /// The signed-in user's profile as JSON.
    #[tool(
        name = "userInfo",
        description = "Return the signed-in user's profile (id, session, email, names, image, role, metadata) as JSON."
    )]
    fn user_info(&self) -> CallToolResult {
        let json = serde_json::to_string_pretty(&self.user).unwrap_or_else(|_| "{}".to_owned());
        CallToolResult::success(vec![Content::text(json)])
    }

    /// Generates an image with the configured backend.
    #[tool(
        name = "generateImage",
        description = "Generate an image from a text prompt (FLUX.1 schnell or an OpenAI-compatible model). Available to privileged roles only."
    )]
    async fn generate_image(&self, Parameters(args): Parameters<GenerateImageArgs>) -> CallToolResult {
        let Some(backend) = &self.settings.image_backend else {
            return CallToolResult::error(vec![Content::text("image generation is not configured")]);
        };
        match image::generate(backend, self.http, &args.prompt, args.steps, self.settings.image_timeout).await {
            Ok(image) => CallToolResult::success(vec![Content::image(image.data_base64, image.mime_type)]),
            Err(error) => CallToolResult::error(vec![Content::text(format!("Image generation failed: {error}"))]),
        }
    }
}

impl<'a> Toolbox<'a> {
    /// The tools of the holder of a token: the user it was issued to and its scopes.
    pub fn new(user: UserProps, scopes: Vec<String>, settings: &'a ToolSettings, http: &'a dyn HttpClient) -> Self {
        Self { user, scopes, settings, http }
    }

    /// Whether this token may call `tool`.
    pub fn access(&self, tool: &str) -> Access {
        let configured = tool != GENERATE_IMAGE || self.settings.image_backend.is_some();
        let policy = ScopePolicy { image_roles: self.settings.image_roles.clone() };
        match scope::scope_of_tool(tool) {
            Some(needed) if configured && policy.role_may_hold(needed, self.user.role.as_deref()) => {
                if scope::holds(&self.scopes, needed) { Access::Allowed } else { Access::ScopeMissing(needed) }
            }
            _ => Access::Absent,
        }
    }

    /// Every scope a call of a tool that needs `missing` needs: the token's and that one (for
    /// the step-up challenge), space-separated in the scope table's order.
    pub fn scopes_with(&self, missing: &str) -> String {
        let mut needed = self.scopes.clone();
        needed.push(missing.to_owned());
        scope::join(&scope::expand(&needed))
    }

    /// True when this token may call `generateImage`.
    pub fn can_generate_images(&self) -> bool {
        self.access(GENERATE_IMAGE) == Access::Allowed
    }

    /// The tools for this user, in a stable order: those the token may call, and those whose
    /// scope it lacks (the user's role would allow it), marked as needing that scope.
    pub fn list(&self) -> Vec<Tool> {
        let mut tools: Vec<Tool> =
            [Self::add_tool_attr(), Self::user_info_tool_attr(), Self::generate_image_tool_attr()]
                .into_iter()
                .filter_map(|tool| match self.access(&tool.name) {
                    Access::Allowed => Some(tool),
                    Access::ScopeMissing(needed) => Some(marked(tool, needed)),
                    Access::Absent => None,
                })
                .collect();
        tools.sort_by(|a, b| a.name.cmp(&b.name));
        tools
    }

    /// Calls tool `name`. Tool failures (a backend error) are `Ok` results with `isError: true`;
    /// an unknown or hidden tool and bad arguments are `Err`.
    pub async fn call(&self, name: &str, arguments: Option<&JsonObject>) -> Result<CallToolResult, CallError> {
        match self.access(name) {
            Access::Absent => return Err(CallError::UnknownTool(name.to_owned())),
            Access::ScopeMissing(needed) => return Err(CallError::ScopeMissing(needed)),
            Access::Allowed => {}
        }
        match name {
            ADD => {
                let schema = || (*Self::add_tool_attr().input_schema).clone();
                Ok(self.add(Parameters(args::parse_typed(schema, arguments)?)))
            }
            USER_INFO => Ok(self.user_info()),
            GENERATE_IMAGE => {
                let parsed = args::parse(&Self::generate_image_tool_attr().input_schema, arguments)?;
                Ok(self.generate_image(Parameters(parsed)).await)
            }
            other => Err(CallError::UnknownTool(other.to_owned())),
        }
    }
}

/// `tool` as listed for a token that lacks its scope `needed`.
fn marked(mut tool: Tool, needed: &str) -> Tool {
    let note = format!(
        " (Needs the `{needed}` scope, which this connection was not granted: calling it asks you to approve it.)"
    );
    let description = format!("{}{note}", tool.description.as_deref().unwrap_or_default());
    tool.description = Some(description.into());
    tool
}

#[cfg(test)]
mod tests {
    use super::image::tests::{JPEG_B64, cloudflare};
    use super::*;
    use crate::test_support::FakeHttp;
    use futures::executor::block_on;
    use platform::OutboundError;
    use serde_json::{Value, json};

    fn user(role: Option<&str>) -> UserProps {
        UserProps {
            user_id: "user_1".into(),
            email: Some("a@example.com".into()),
            role: role.map(str::to_owned),
            metadata: json!({"role": role}),
            ..UserProps::default()
        }
    }

    fn with_images(http: FakeHttp) -> (ToolSettings, FakeHttp) {
        (ToolSettings { image_backend: Some(cloudflare()), ..ToolSettings::default() }, http)
    }

    fn names(tools: &[Tool]) -> Vec<String> {
        tools.iter().map(|t| t.name.to_string()).collect()
    }

    fn obj(value: Value) -> JsonObject {
        value.as_object().cloned().unwrap_or_default()
    }

    fn text(result: &CallToolResult) -> String {
        result.content[0].as_text().map(|t| t.text.clone()).unwrap_or_default()
    }

    #[test]
    fn add_schema_requires_two_numbers() {
        let tool = Toolbox::add_tool_attr();
        let schema = Value::Object((*tool.input_schema).clone());
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["properties"]["a"]["type"], "number");
        assert_eq!(schema["properties"]["b"]["type"], "number");
        let mut required: Vec<&str> = schema["required"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        required.sort();
        assert_eq!(required, ["a", "b"]);
    }

    #[test]
    fn generate_image_schema_bounds_steps_with_default() {
        let tool = Toolbox::generate_image_tool_attr();
        let schema = Value::Object((*tool.input_schema).clone());
        let steps = &schema["properties"]["steps"];
        assert_eq!(steps["type"], "integer");
        assert_eq!(steps["minimum"], 4);
        assert_eq!(steps["maximum"], 8);
        assert_eq!(steps["default"], 4);
        assert_eq!(schema["required"], json!(["prompt"]));
    }

    #[test]
    fn user_info_schema_takes_no_arguments() {
        let schema = Value::Object((*Toolbox::user_info_tool_attr().input_schema).clone());
        assert_eq!(schema["type"], "object");
        assert!(schema.get("required").is_none());
    }

    #[test]
    fn add_returns_sum_as_text() {
        let tools = crate::test_support::toolbox_for(user(None), ToolSettings::default(), FakeHttp::unused());
        let result = block_on(tools.call(ADD, Some(&obj(json!({"a": 2, "b": 3.5}))))).unwrap();
        assert_eq!(text(&result), "5.5");
        assert_eq!(result.is_error, Some(false));
    }

    #[test]
    fn add_with_string_argument_names_field() {
        let tools = crate::test_support::toolbox_for(user(None), ToolSettings::default(), FakeHttp::unused());
        let err = block_on(tools.call(ADD, Some(&obj(json!({"a": 1, "b": "2"}))))).unwrap_err();
        assert_eq!(err.to_string(), "argument `b` must be a number");
    }

    #[test]
    fn user_info_returns_props_json() {
        let tools =
            crate::test_support::toolbox_for(user(Some("premium")), ToolSettings::default(), FakeHttp::unused());
        let result = block_on(tools.call(USER_INFO, None)).unwrap();
        let json: Value = serde_json::from_str(&text(&result)).unwrap();
        assert_eq!(json["userId"], "user_1");
        assert_eq!(json["email"], "a@example.com");
        assert_eq!(json["role"], "premium");
        assert!(json.get("sessionId").is_some() && json.get("imageUrl").is_some());
    }

    #[test]
    fn generate_image_listed_only_for_privileged_roles_with_backend() {
        for (role, expected) in [
            (Some("admin"), true),
            (Some("premium"), true),
            (Some("image_generation"), true),
            (Some("user"), false),
            (None, false),
        ] {
            let (settings, http) = with_images(FakeHttp::unused());
            let listed = names(&crate::test_support::toolbox_for(user(role), settings, http).list());
            assert_eq!(listed.contains(&GENERATE_IMAGE.to_owned()), expected, "role {role:?}");
            assert!(listed.contains(&ADD.to_owned()) && listed.contains(&USER_INFO.to_owned()));
        }
    }

    #[test]
    fn generate_image_hidden_without_backend_even_for_admin() {
        let tools = crate::test_support::toolbox_for(user(Some("admin")), ToolSettings::default(), FakeHttp::unused());
        assert_eq!(names(&tools.list()), ["add", "userInfo"]);
        let err = block_on(tools.call(GENERATE_IMAGE, Some(&obj(json!({"prompt": "x"}))))).unwrap_err();
        assert_eq!(err, CallError::UnknownTool(GENERATE_IMAGE.into()));
    }

    #[test]
    fn configured_roles_replace_defaults() {
        let settings = ToolSettings {
            image_backend: Some(cloudflare()),
            image_roles: vec!["artist".into()],
            ..ToolSettings::default()
        };
        assert!(
            crate::test_support::toolbox_for(user(Some("artist")), settings.clone(), FakeHttp::unused())
                .can_generate_images()
        );
        assert!(
            !crate::test_support::toolbox_for(user(Some("admin")), settings, FakeHttp::unused()).can_generate_images()
        );
    }

    #[test]
    fn unprivileged_call_to_generate_image_is_unknown_tool() {
        let (settings, http) = with_images(FakeHttp::unused());
        let tools = crate::test_support::toolbox_for(user(Some("user")), settings, http);
        let err = block_on(tools.call(GENERATE_IMAGE, Some(&obj(json!({"prompt": "x"}))))).unwrap_err();
        assert_eq!(err.to_string(), "Unknown tool: generateImage");
    }

    #[test]
    fn generate_image_returns_image_content() {
        let (settings, http) =
            with_images(FakeHttp::json(200, json!({"result": {"image": JPEG_B64}, "success": true})));
        let tools = crate::test_support::toolbox_for(user(Some("admin")), settings, http);
        let result = block_on(tools.call(GENERATE_IMAGE, Some(&obj(json!({"prompt": "cat", "steps": 5}))))).unwrap();
        let image = result.content[0].as_image().unwrap();
        assert_eq!((image.data.as_str(), image.mime_type.as_str()), (JPEG_B64, "image/jpeg"));
        assert_eq!(result.is_error, Some(false));
    }

    #[test]
    fn generate_image_backend_error_is_tool_error() {
        let (settings, http) =
            with_images(FakeHttp::json(500, json!({"success": false, "errors": [{"message": "boom"}]})));
        let tools = crate::test_support::toolbox_for(user(Some("admin")), settings, http);
        let result = block_on(tools.call(GENERATE_IMAGE, Some(&obj(json!({"prompt": "cat"}))))).unwrap();
        assert_eq!(result.is_error, Some(true));
        assert!(text(&result).contains("HTTP 500") && text(&result).contains("boom"), "{}", text(&result));
    }

    #[test]
    fn generate_image_timeout_is_tool_error() {
        let (settings, http) = with_images(FakeHttp::failing(OutboundError::Timeout { host: "h".into() }));
        let tools = crate::test_support::toolbox_for(user(Some("admin")), settings, http);
        let result = block_on(tools.call(GENERATE_IMAGE, Some(&obj(json!({"prompt": "cat"}))))).unwrap();
        assert_eq!(result.is_error, Some(true));
        assert!(text(&result).contains("did not answer within 60 seconds"));
    }

    #[test]
    fn generate_image_out_of_range_steps_is_refused_before_backend() {
        let (settings, http) = with_images(FakeHttp::unused());
        let tools = crate::test_support::toolbox_for(user(Some("admin")), settings, http.clone());
        let err = block_on(tools.call(GENERATE_IMAGE, Some(&obj(json!({"prompt": "cat", "steps": 9}))))).unwrap_err();
        assert_eq!(err.to_string(), "argument `steps` must be between 4 and 8");
        assert_eq!(http.request_count(), 0);
    }
}
