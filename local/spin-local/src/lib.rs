//! spin-local: a Spin-compatible local runtime for `spin.toml` apps of `wasi:http` components.
//!
//! In-process use (end-to-end tests):
//!
//! ```no_run
//! # async fn demo() -> Result<(), spin_local::Error> {
//! use spin_local::{App, AppOptions, StateDir};
//! let options = AppOptions {
//!     variables: vec![("clerk_api_url".into(), "http://127.0.0.1:9999".into())],
//!     env_variables: false,
//!     dotenv_path: None,
//!     state_dir: StateDir::None, // in-memory default store
//!     ..AppOptions::default()
//! };
//! let app = App::load("spin.toml", options).await?;
//! let server = app.start("127.0.0.1:0".parse().expect("valid address")).await?;
//! let base_url = server.url(); // http://127.0.0.1:<port>
//! # drop(base_url);
//! server.shutdown().await;
//! # Ok(()) }
//! ```

// A command-line runtime: like `spin up`, it logs what goes wrong (traps, refused requests) to
// stderr.
#![allow(clippy::print_stderr, reason = "the runtime's log is stderr")]

pub mod app;
pub mod component;
pub mod engine;
pub mod error;
pub mod host;
pub mod kv;
pub mod manifest;
pub mod outbound;
pub mod runtime_config;
pub mod trigger;
pub mod variables;

pub use app::{App, AppOptions, StateDir};
pub use error::Error;
pub use trigger::RunningServer;
