//! Real clients against the real app: the Node tests in `tests/real-clients` (the official MCP
//! TypeScript SDK client, registering or with a Client ID Metadata Document, the MCP conformance
//! suite, MCP Inspector's CLI, headless Chromium) run
//! against the three components on `spin-local` and a mock Clerk in development-sign-in mode (the
//! tests pick the user and role on its sign-in page, as a person would).
//!
//! Needs Node 20+ with npm (runs `npm ci` when `node_modules` is missing) and, for the browser
//! test, Chromium at `/usr/bin/chromium` (Debian's `chromium`) or `CHROMIUM_PATH`. Set
//! `REAL_CLIENTS_SKIP=1` to skip these tests on a machine without them.

#![allow(
    clippy::panic,
    clippy::print_stderr,
    reason = "test code: a failed step fails the test; skips are announced on stderr"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex, OnceLock};

use e2e::{TestApp, TestAppBuilder};
use mock_clerk::{MockClerk, Options};
use spin_local_testing::{HttpsServer, TestResponse};

/// One Node run at a time: they share `node_modules`, and Chromium plus the app on 2 cores is enough.
static NODE: Mutex<()> = Mutex::new(());

/// The app, pointed at a mock Clerk that shows the development sign-in page.
struct DevApp {
    clerk: MockClerk,
    app: TestApp,
}

impl DevApp {
    /// The app with `customize` applied to its builder.
    fn start(customize: impl FnOnce(TestAppBuilder) -> TestAppBuilder) -> DevApp {
        let clerk = MockClerk::start_with(Options { port: 0, page: true })
            .unwrap_or_else(|e| panic!("cannot start the mock Clerk: {e:#}"));
        let builder = TestApp::builder()
            .variable("clerk_frontend_api", clerk.base_url())
            .variable("clerk_api_url", clerk.base_url());
        DevApp { clerk, app: customize(builder).start() }
    }
}

fn real_clients_dir() -> PathBuf {
    e2e::workspace_root().join("tests/real-clients")
}

fn skipped() -> bool {
    std::env::var("REAL_CLIENTS_SKIP").is_ok_and(|v| v == "1")
}

fn run(command: &mut Command) -> Output {
    command.output().unwrap_or_else(|e| panic!("cannot run {command:?}: {e} (is Node.js installed?)"))
}

fn ensure_node_modules(dir: &Path) {
    if dir.join("node_modules/.package-lock.json").exists() {
        return;
    }
    let out = run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(dir));
    assert!(out.status.success(), "npm ci failed:\n{}{}", text(&out.stdout), text(&out.stderr));
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `node --test <file>` against a fresh app; fails with Node's output when a test fails.
fn node_test(file: &str) {
    node_test_with(file, |builder| builder, &[]);
}

/// [`node_test`] with `customize` applied to the app's builder and `env` added for Node.
fn node_test_with(file: &str, customize: impl FnOnce(TestAppBuilder) -> TestAppBuilder, env: &[(&str, &str)]) {
    if skipped() {
        eprintln!("REAL_CLIENTS_SKIP=1: skipping {file}");
        return;
    }
    let _one_at_a_time = NODE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let dir = real_clients_dir();
    ensure_node_modules(&dir);
    let dev = DevApp::start(customize);
    let out = run(Command::new("node")
        .args(["--test", "--test-reporter=spec", file])
        .current_dir(&dir)
        .env("MCP_BASE_URL", dev.app.base_url())
        .env("MOCK_CLERK_URL", dev.clerk.base_url())
        .envs(env.iter().copied())
        .env_remove("MCP_TOKEN"));
    assert!(out.status.success(), "node --test {file} failed:\n{}\n{}", text(&out.stdout), text(&out.stderr));
}

/// The Python SDK's virtual environment (`tests/real-clients/.venv`, with
/// `python/requirements.txt`), made when missing; its interpreter.
fn ensure_python_venv(dir: &Path) -> PathBuf {
    let python = dir.join(".venv/bin/python");
    if python.exists() {
        return python;
    }
    let out = run(Command::new("python3").args(["-m", "venv", ".venv"]).current_dir(dir));
    assert!(out.status.success(), "python3 -m venv failed:\n{}{}", text(&out.stdout), text(&out.stderr));
    let pip = dir.join(".venv/bin/pip");
    let out = run(Command::new(pip).args(["install", "-q", "-r", "python/requirements.txt"]).current_dir(dir));
    assert!(out.status.success(), "pip install failed:\n{}{}", text(&out.stdout), text(&out.stderr));
    python
}

/// Runs the Python script `file` (under `tests/real-clients/python`) against a fresh app with
/// `customize` applied; fails with its output unless it exits 0.
fn python_test_with(file: &str, customize: impl FnOnce(TestAppBuilder) -> TestAppBuilder) {
    if skipped() {
        eprintln!("REAL_CLIENTS_SKIP=1: skipping {file}");
        return;
    }
    let _one_at_a_time = NODE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let dir = real_clients_dir();
    let python = ensure_python_venv(&dir);
    let dev = DevApp::start(customize);
    let out = run(Command::new(python)
        .arg(dir.join("python").join(file))
        .current_dir(&dir)
        .env("MCP_BASE_URL", dev.app.base_url())
        .env("MOCK_CLERK_URL", dev.clerk.base_url()));
    assert!(out.status.success(), "python {file} failed:\n{}\n{}", text(&out.stdout), text(&out.stderr));
}

#[test]
fn official_sdk_client_signs_in_and_uses_tools_over_streamable_http_and_sse() {
    node_test("sdk-oauth.test.mjs");
}

/// The SDK client identifies itself with a Client ID Metadata Document served over https (a
/// test CA the app trusts through `[[client_tls]]`) instead of registering.
#[test]
fn official_sdk_client_signs_in_with_a_client_id_metadata_document_and_uses_tools() {
    let url = Arc::new(OnceLock::<String>::new());
    let document_url = url.clone();
    let server = HttpsServer::start(move |request| match (request.path.as_str(), document_url.get()) {
        ("/oauth/sdk-client.json", Some(url)) => TestResponse::json(
            serde_json::json!({
                "client_id": url,
                "client_name": "SDK test client (CIMD)",
                "redirect_uris": ["http://127.0.0.1/callback"],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
            })
            .to_string(),
        ),
        _ => TestResponse::new(404),
    });
    let url = url.get_or_init(|| server.url("/oauth/sdk-client.json"));
    node_test_with(
        "sdk-cimd.test.mjs",
        |builder| builder.document_server(&server),
        &[("CIMD_CLIENT_METADATA_URL", url)],
    );
}

#[test]
fn conformance_suite_server_scenarios_pass() {
    node_test("conformance.test.mjs");
}

#[test]
fn mcp_inspector_cli_lists_tools_and_calls_add() {
    node_test("inspector.test.mjs");
}

#[test]
fn chromium_consent_approve_remember_and_deny_on_localhost_and_127_0_0_1() {
    node_test("browser-consent.test.mjs");
}

/// With `admin_roles` = `admin`, so the test's operator gets the console.
#[test]
fn chromium_connected_apps_sign_in_list_revoke_grouped_apps_operator_console_and_sign_out() {
    node_test_with("browser-apps.test.mjs", |builder| builder.variable("admin_roles", "admin"), &[]);
}

/// Step-up with the official SDK client: it starts with `mcp:basic`, is challenged for
/// `generateImage` (403 insufficient_scope), re-authorizes with the union and generates the image
/// as an admin; a plain user is not challenged and does not see the tool. The image backend is
/// the end-to-end tests' fake.
#[test]
fn official_sdk_client_steps_up_from_the_basic_scope_to_the_image_scope() {
    let origin = crate::mcp_support::start_image_backend();
    node_test_with(
        "sdk-scopes.test.mjs",
        |builder| builder.variable("image_provider", "openai").variable("image_api_origin", &origin),
        &[],
    );
}

/// The same with the official Python SDK (`mcp` 2.3.0, in `tests/real-clients/.venv`): it starts
/// from stored `mcp:basic` tokens, is challenged for `generateImage`, re-authorizes with the union
/// and generates the image as an admin; a plain user is not challenged and does not see the tool.
#[test]
fn python_sdk_client_steps_up_from_the_basic_scope_to_the_image_scope() {
    let origin = crate::mcp_support::start_image_backend();
    python_test_with("sdk_scopes.py", |builder| {
        builder.variable("image_provider", "openai").variable("image_api_origin", &origin)
    });
}
