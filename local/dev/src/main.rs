//! The run command (`cargo dev`): builds the three components and serves the app with the local
//! runtime on http://127.0.0.1:3000.
//!
//! Without Clerk credentials (no `SPIN_VARIABLE_CLERK_*` in the environment or `.env`, no
//! `--variable clerk_...`), it also starts the development sign-in (`mcp_dev::sign_in`: an OIDC
//! provider with a page to pick an email and a role) and points the app at it. Real Clerk configuration always wins.
//!
//! Flags (as `spin up`): `--listen ADDR`, `--variable NAME=VALUE` (repeatable), `--state-dir DIR`,
//! `--runtime-config-file FILE`, `-f/--from spin.toml`; plus `--skip-build`.

#![allow(clippy::print_stdout, clippy::print_stderr, reason = "a command-line tool: what it prints is its interface")]

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use mcp_dev::sign_in::{Options, Provider};

#[derive(Default)]
struct Args {
    listen: Option<String>,
    variables: Vec<(String, String)>,
    state_dir: Option<PathBuf>,
    runtime_config_file: Option<PathBuf>,
    from: Option<PathBuf>,
    skip_build: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--listen" => args.listen = Some(value("--listen")?),
            "--variable" => {
                let raw = value("--variable")?;
                let (k, v) = raw.split_once('=').with_context(|| format!("--variable {raw}: expected NAME=VALUE"))?;
                args.variables.push((k.trim().to_owned(), v.to_owned()));
            }
            "--state-dir" => args.state_dir = Some(value("--state-dir")?.into()),
            "--runtime-config-file" => args.runtime_config_file = Some(value("--runtime-config-file")?.into()),
            "-f" | "--from" => args.from = Some(value("--from")?.into()),
            "--skip-build" => args.skip_build = true,
            "-h" | "--help" => {
                println!("{}", include_str!("main.help"));
                std::process::exit(0);
            }
            other => bail!("unknown argument {other} (see --help)"),
        }
    }
    Ok(args)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap_or_else(|_| PathBuf::from("."))
}

fn build_components(root: &Path) -> anyhow::Result<()> {
    println!("Building the components (wasm32-wasip2, release)...");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root)
        .args(["build", "--target", "wasm32-wasip2", "--release"])
        .args(["-p", "oauth-provider", "-p", "clerk-callback", "-p", "mcp-handler", "-p", "health", "-p", "account"])
        // spin.toml's `source`s name `target/wasm32-wasip2/release/`: build there even when the
        // user's CARGO_TARGET_DIR points elsewhere, or stale components would be served.
        .env("CARGO_TARGET_DIR", root.join("target"))
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("building the components failed ({status}); is the target installed? `rustup target add wasm32-wasip2`");
    }
    Ok(())
}

/// True when Clerk is configured through the environment, `.env` or `--variable`.
fn clerk_configured(args: &Args) -> bool {
    let in_env = std::env::vars().any(|(k, v)| k.starts_with("SPIN_VARIABLE_CLERK_") && !v.is_empty());
    let in_dotenv = std::fs::read_to_string(".env")
        .map(|text| text.lines().any(|l| l.trim_start().starts_with("SPIN_VARIABLE_CLERK_")))
        .unwrap_or(false);
    let in_args = args.variables.iter().any(|(k, _)| k.starts_with("clerk_"));
    in_env || in_dotenv || in_args
}

fn cookie_key_configured(args: &Args) -> bool {
    std::env::var("SPIN_VARIABLE_COOKIE_ENCRYPTION_KEY").is_ok_and(|v| !v.is_empty())
        || std::fs::read_to_string(".env").is_ok_and(|t| t.contains("SPIN_VARIABLE_COOKIE_ENCRYPTION_KEY"))
        || args.variables.iter().any(|(k, _)| k == "cookie_encryption_key")
}

fn banner(clerk: &Provider) {
    let line = "!".repeat(72);
    println!("\n{line}");
    println!("!!  DEVELOPMENT SIGN-IN, NOT FOR PRODUCTION");
    println!("!!  No Clerk credentials are configured, so a development sign-in runs at {}", clerk.base_url());
    println!("!!  and anyone can sign in as any email with any role. Set SPIN_VARIABLE_CLERK_*");
    println!("!!  (see README \"Configure Clerk\") to use your real Clerk instance.");
    println!("{line}\n");
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let root = workspace_root();
    if !args.skip_build {
        build_components(&root)?;
    }
    let mut variables = Vec::new();
    let dev_sign_in = if clerk_configured(&args) {
        None
    } else {
        let clerk = Provider::start(Options { port: 0, page: true })?;
        variables.extend(clerk.variables());
        Some(clerk)
    };
    if dev_sign_in.is_some() && !cookie_key_configured(&args) {
        variables.push(("cookie_encryption_key".into(), hex::encode(platform::secret::random_bytes::<32>()?)));
    }
    variables.extend(args.variables.iter().cloned());
    if let Some(clerk) = &dev_sign_in {
        banner(clerk);
    }
    serve(&root, &args, variables)
}

fn serve(root: &Path, args: &Args, variables: Vec<(String, String)>) -> anyhow::Result<()> {
    let manifest = args.from.clone().unwrap_or_else(|| root.join("spin.toml"));
    let options = spin_local::AppOptions {
        variables,
        runtime_config_file: args.runtime_config_file.clone(),
        state_dir: match &args.state_dir {
            None => spin_local::StateDir::Default,
            Some(p) if p.as_os_str().is_empty() => spin_local::StateDir::None,
            Some(p) => spin_local::StateDir::Path(p.clone()),
        },
        ..spin_local::AppOptions::default()
    };
    let listen: std::net::SocketAddr =
        args.listen.as_deref().unwrap_or("127.0.0.1:3000").parse().context("--listen")?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let app = spin_local::App::load(&manifest, options).await?;
        let server = app.start(listen).await?;
        let url = server.url();
        let url = url.trim_end_matches('/');
        println!("Serving {url}");
        println!("\nMCP server URL (paste into MCP Inspector, Streamable HTTP): {url}/mcp");
        println!("Legacy SSE endpoint: {url}/sse\n");
        tokio::signal::ctrl_c().await?;
        server.shutdown().await;
        anyhow::Ok(())
    })
}
