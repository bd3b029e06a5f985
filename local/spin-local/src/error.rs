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
    /// Refused the way released Spin refuses it, with Spin's message chain (see [`Chain`]).
    #[error(transparent)]
    Spin(#[from] Chain),
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

/// An error told the way Spin tells it: a message over the error that caused it (Spin's
/// `anyhow` context chain), so `spin-local up` prints the same "Caused by" lines as `spin up`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    message: String,
    cause: Option<Box<Chain>>,
}

impl Chain {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), cause: None }
    }

    /// This error under a new outer message (`anyhow::Context::context`).
    pub fn context(self, message: impl Into<String>) -> Self {
        Self { message: message.into(), cause: Some(Box::new(self)) }
    }

    /// Every message, outermost first.
    pub fn messages(&self) -> Vec<&str> {
        let mut out = vec![self.message.as_str()];
        let mut next = self.cause.as_deref();
        while let Some(chain) = next {
            out.push(chain.message.as_str());
            next = chain.cause.as_deref();
        }
        out
    }
}

impl std::fmt::Display for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Chain {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_deref().map(|c| c as &(dyn std::error::Error + 'static))
    }
}
