//! The library's error type: what can go wrong loading or starting an app.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Errors from [`crate::App::load`] and [`crate::App::start`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid manifest {path}: {message}")]
    Manifest { path: PathBuf, message: String },
    #[error("invalid runtime config {path}: {message}")]
    RuntimeConfig { path: PathBuf, message: String },
    #[error("invalid variable: {0}")]
    Variable(String),
    #[error(
        "required variable `{name}` is not set: pass `--variable {name}=VALUE`, or set the \
         environment variable SPIN_VARIABLE_{upper} (or put it in .env)"
    )]
    MissingVariable { name: String, upper: String },
    #[error(
        "component `{component}`: source file {} does not exist. Build the app first: run \
         `spin build`, or `{build}`",
        path.display()
    )]
    MissingSource { component: String, path: PathBuf, build: String },
    #[error("component `{component}`: invalid allowed_outbound_hosts entry `{entry}`: {message}")]
    OutboundHost { component: String, entry: String, message: String },
    #[error("key-value store `{label}`: {message}")]
    KeyValue { label: String, message: String },
    #[error("component `{component}`: {message}")]
    Component { component: String, message: String },
    #[error("wasmtime engine: {0}")]
    Engine(String),
    #[error(
        "cannot listen on {addr}: the address is already in use (is another `spin up` or \
         spin-local running?). Choose another with --listen"
    )]
    PortInUse { addr: SocketAddr },
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
}

impl Error {
    pub(crate) fn manifest(path: &std::path::Path, message: impl Into<String>) -> Self {
        Self::Manifest { path: path.to_path_buf(), message: message.into() }
    }
}
