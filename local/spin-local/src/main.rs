//! `spin-local up`: runs a Spin app like `spin up`, with the flags it implements.

#![allow(clippy::print_stdout, clippy::print_stderr, reason = "a command-line tool: what it prints is its interface")]

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use spin_local::kv::RedisMode;
use spin_local::{App, AppOptions, StateDir};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(name = "spin-local", version, about = "A Spin-compatible local runtime")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the app (like `spin up`).
    Up(UpArgs),
}

#[derive(clap::Args)]
struct UpArgs {
    /// The application manifest (`spin.toml`) or the directory holding it.
    #[arg(short = 'f', long = "from", default_value = "spin.toml")]
    from: PathBuf,
    /// The address to listen on.
    #[arg(long, env = "SPIN_HTTP_LISTEN_ADDR", default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Set an application variable: `name=value` or `name=@file`. Repeatable.
    #[arg(long = "variable")]
    variables: Vec<String>,
    /// Runtime configuration file (key-value stores).
    #[arg(long, env = "RUNTIME_CONFIG_FILE")]
    runtime_config_file: Option<PathBuf>,
    /// State directory (default `.spin/` beside spin.toml); "" keeps no state on disk.
    #[arg(long)]
    state_dir: Option<String>,
    /// No per-request log lines, and components' output only in `<state-dir>/logs/` (as
    /// `spin up --quiet`).
    #[arg(short, long)]
    quiet: bool,
    /// spin-local only: how `type = "redis"` key-value stores do compare-and-swap. `spin-4.1`
    /// (default) does what Spin's Redis backend does: every `swap` reports `cas-failed`, after
    /// writing when the transaction ran. `correct`: `swap` succeeds exactly when it wrote.
    #[arg(long, env = "SPIN_LOCAL_REDIS_MODE", default_value = "spin-4.1", value_parser = parse_redis_mode)]
    redis_mode: RedisMode,
}

fn parse_redis_mode(value: &str) -> Result<RedisMode, String> {
    value.parse()
}

#[tokio::main]
async fn main() {
    let Cli { command } = Cli::parse();
    let result = match command {
        Command::Up(args) => up(args).await,
    };
    if let Err(e) = result {
        print_error(&e);
        std::process::exit(1);
    }
}

/// `spin up`'s layout: the error, then its causes numbered (one cause: indented, unnumbered).
fn print_error(error: &anyhow::Error) {
    eprintln!("Error: {error}");
    let causes: Vec<String> = error.chain().skip(1).map(ToString::to_string).collect();
    if causes.is_empty() {
        return;
    }
    eprintln!("\nCaused by:");
    for (i, cause) in causes.iter().enumerate() {
        if causes.len() > 1 { eprintln!("{i:>4}: {cause}") } else { eprintln!("      {cause}") }
    }
}

async fn up(args: UpArgs) -> Result<()> {
    let mut options = AppOptions {
        variables: parse_variables(&args.variables)?,
        runtime_config_file: args.runtime_config_file,
        state_dir: match args.state_dir {
            None => StateDir::Default,
            Some(p) if p.is_empty() => StateDir::None,
            Some(p) => StateDir::Path(PathBuf::from(p)),
        },
        redis_mode: args.redis_mode,
        ..AppOptions::default()
    };
    if args.quiet {
        options.log_requests = false;
        options.follow_component_output = false;
    }
    let app = App::load(&args.from, options).await.context("Failed to load application")?;
    let routes = app.routes();
    let server = app.start(args.listen).await?;
    let url = server.url();
    println!("\nServing {url}");
    print!("{}", spin_local::app::routes_listing(&routes, &url));
    // The server runs until interrupted, like `spin up`.
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    server.shutdown().await;
    Ok(())
}

/// `name=value`, `name=@file` (the file's contents), as `spin up --variable`.
fn parse_variables(raw: &[String]) -> Result<Vec<(String, String)>> {
    raw.iter().map(|item| parse_variable(item)).collect()
}

fn parse_variable(item: &str) -> Result<(String, String)> {
    let Some((name, value)) = item.split_once('=') else {
        bail!("--variable `{item}`: expected name=value or name=@file");
    };
    let value = match value.strip_prefix('@') {
        Some(file) => read_value_file(Path::new(file))?,
        None => value.to_string(),
    };
    Ok((name.trim().to_string(), value))
}

fn read_value_file(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read variable file {}", path.display()))
}
