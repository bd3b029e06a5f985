//! Building the wasm components once per test process, into a separate target directory, and a
//! copy of `spin.toml` that points at them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context, bail};

use crate::workspace_root;

const COMPONENTS: [&str; 5] = ["oauth-provider", "clerk-callback", "mcp-handler", "health", "account"];

/// The directory holding the rewritten `spin.toml`; builds on first use.
pub fn components() -> anyhow::Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT.get_or_init(|| build_and_write_manifest().map_err(|e| format!("{e:#}"))).clone().map_err(anyhow::Error::msg)
}

fn build_and_write_manifest() -> anyhow::Result<PathBuf> {
    let target = nested_target_dir();
    if std::env::var_os("E2E_SKIP_BUILD").is_none() {
        build(&target)?;
    }
    let release = target.join("wasm32-wasip2/release");
    let out = target.join("e2e-manifest");
    std::fs::create_dir_all(&out)?;
    let manifest = std::fs::read_to_string(workspace_root().join("spin.toml")).context("reading spin.toml")?;
    let rewritten =
        manifest.replace("source = \"target/wasm32-wasip2/release/", &format!("source = \"{}/", release.display()));
    std::fs::write(out.join("spin.toml"), rewritten)?;
    Ok(out)
}

fn build(target: &Path) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(workspace_root()).args(["build", "--target", "wasm32-wasip2", "--release"]);
    for name in COMPONENTS {
        command.args(["-p", name]);
    }
    let status = command.env("CARGO_TARGET_DIR", target).status().context("running cargo build for the components")?;
    if !status.success() {
        bail!("building the wasm components failed ({status})");
    }
    Ok(())
}

/// The target dir of this test binary (it lives in `<target>/<profile>/deps`), so the wasm files
/// are shared with a plain `cargo build --target wasm32-wasip2 --release`. Verified: the nested
/// cargo does not wait on `cargo test`'s lock, which is released before tests run.
fn nested_target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("E2E_WASM_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors().nth(3).map(Path::to_path_buf).unwrap_or_else(|| workspace_root().join("target"))
}

/// The `spin-local` binary of this test's target dir and profile, built once per test process.
pub fn spin_local_binary() -> anyhow::Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| spin_local_testing::process::spin_local_binary().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

/// The entry of `spin.toml` that lets the document-fetching components reach documents.
const DOCUMENT_HOSTS_ENTRY: &str = "\"https://*:443\"";

/// TEST ONLY: a copy of `manifest` in `dir` whose document-fetching components may also reach
/// `extra` origins (a test document server on a random loopback port). The real manifest allows
/// documents on port 443 only; this copy is never what users run.
pub fn manifest_with_document_hosts(manifest: &Path, extra: &[String], dir: &Path) -> anyhow::Result<PathBuf> {
    let text = std::fs::read_to_string(manifest).with_context(|| format!("reading {}", manifest.display()))?;
    if !text.contains(DOCUMENT_HOSTS_ENTRY) {
        bail!("{} has no {DOCUMENT_HOSTS_ENTRY} outbound entry to widen", manifest.display());
    }
    let quoted: Vec<String> = extra.iter().map(|origin| format!("\"{origin}\"")).collect();
    let widened = text.replace(DOCUMENT_HOSTS_ENTRY, &format!("{DOCUMENT_HOSTS_ENTRY}, {}", quoted.join(", ")));
    let path = dir.join("spin.toml");
    std::fs::write(&path, widened)?;
    Ok(path)
}
