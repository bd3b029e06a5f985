//! Builds the fixture guest components (`tests/fixtures`, a separate cargo workspace) for the
//! tests and the benchmark.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

/// `tests/fixtures` in this repository.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// The fixture app's manifest.
pub fn fixture_manifest() -> PathBuf {
    fixtures_dir().join("spin.toml")
}

static BUILT: Mutex<Option<Result<PathBuf, String>>> = Mutex::new(None);

/// Builds the fixtures once per process (cargo makes it a no-op when up to date) and returns
/// the manifest path. The target dir is pinned to `tests/fixtures/target`, where the fixture
/// manifest's `source` paths point, whatever `CARGO_TARGET_DIR` the caller has.
pub fn build_fixtures() -> Result<PathBuf, String> {
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(result) = built.as_ref() {
        return result.clone();
    }
    let result = run_cargo_build().map(|()| fixture_manifest());
    *built = Some(result.clone());
    result
}

fn run_cargo_build() -> Result<(), String> {
    let dir = fixtures_dir();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--target", "wasm32-wasip2", "--release", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", dir.join("target"))
        // The host build's flags (e.g. from `cargo test` RUSTFLAGS) are not for the guest.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .map_err(|e| format!("cannot run cargo to build the fixtures: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("wasm32-wasip2")
        && (stderr.contains("target may not be installed")
            || stderr.contains("can't find crate for `core`")
            || stderr.contains("can't find crate for `std`"))
    {
        return Err("the wasm32-wasip2 target is not installed: run `rustup target add wasm32-wasip2`".into());
    }
    Err(format!("building the fixture components failed:\n{stderr}"))
}
