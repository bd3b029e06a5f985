//! The wasmtime engine (pooling allocator, epoch interruption) and a compilation cache.

use crate::error::Error;
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances: the granularity of the guest time limit and of yielding.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Builds the engine. `max_instances` sizes the pool (a semaphore in front of it makes
/// requests queue instead of failing when it is full).
pub fn build_engine(max_instances: u32, max_memory: usize) -> Result<Engine, Error> {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(max_instances);
    // A spin-sdk component has a few core instances, memories and tables; leave headroom.
    pool.total_core_instances(max_instances * 4);
    pool.total_memories(max_instances * 2);
    pool.total_tables(max_instances * 4);
    pool.max_memory_size(max_memory);
    // A slot's memory is reset for the next instance by restoring just the pages the last one
    // touched, found with Linux's PAGEMAP_SCAN (6.7+), instead of returning every page to the
    // kernel and faulting it in again: about a third less CPU per request for these components,
    // whose 1 MiB stack sits at the bottom of memory. Without the scan, keeping memory resident
    // would mean zeroing all of it on every reset, so then wasmtime's default (`madvise`) stays.
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.pagemap_scan(wasmtime::Enabled::Yes);
        pool.linear_memory_keep_resident(4 << 20);
        pool.table_keep_resident(1 << 19);
    }
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    if std::env::var_os("SPIN_LOCAL_PERFMAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    Engine::new(&config).map_err(|e| Error::Engine(e.to_string()))
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until dropped.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    pub fn start(engine: Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        });
        Self { stop }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The default cache directory: `$SPIN_LOCAL_CACHE_DIR`, else `$XDG_CACHE_HOME/spin-local`,
/// else `~/.cache/spin-local`, else the system temp dir. Shared by every app, keyed by content.
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SPIN_LOCAL_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("spin-local");
    }
    if let Some(home) = std::env::var_os("HOME") {
        return PathBuf::from(home).join(".cache").join("spin-local");
    }
    std::env::temp_dir().join("spin-local-cache")
}

/// Loads a component, reusing a compiled artifact from `cache_dir` when the wasm bytes and the
/// engine settings are unchanged (start-up then costs a file map instead of a compile).
#[allow(unsafe_code, reason = "wasmtime's deserialisation of compiled code is unsafe; see SAFETY below")]
pub fn load_component(engine: &Engine, wasm: &Path, cache_dir: &Path) -> Result<Component, String> {
    // Apps loaded at once in one process (parallel tests) compile a cold component once, not
    // once each: the second waits and then finds the cache file.
    static COMPILING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = COMPILING.lock().unwrap_or_else(|p| p.into_inner());
    let bytes = std::fs::read(wasm).map_err(|e| format!("cannot read {}: {e}", wasm.display()))?;
    let cached = cache_dir.join(format!("{}.cwasm", cache_key(engine, &bytes)));
    if cached.exists() {
        // SAFETY: the file was written by `precompile_component` below (same key = same wasm
        // and engine settings), and wasmtime still checks its header and compatibility.
        if let Ok(component) = unsafe { Component::deserialize_file(engine, &cached) } {
            return Ok(component);
        }
    }
    let compiled =
        engine.precompile_component(&bytes).map_err(|e| format!("cannot compile {}: {e}", wasm.display()))?;
    // A cache that cannot be written only costs the next start a compile.
    let _ = write_atomically(&cached, &compiled);
    // SAFETY: the bytes come from `precompile_component` of this very engine.
    unsafe { Component::deserialize(engine, &compiled) }.map_err(|e| e.to_string())
}

fn cache_key(engine: &Engine, wasm: &[u8]) -> String {
    let mut engine_hash = std::hash::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut engine_hash);
    let mut sha = Sha256::new();
    sha.update(wasm);
    sha.update(engine_hash.finish().to_le_bytes());
    sha.update(env!("CARGO_PKG_VERSION").as_bytes());
    hex::encode(sha.finalize())
}

/// Writes beside the target and renames, so concurrent starts never read a partial file.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
