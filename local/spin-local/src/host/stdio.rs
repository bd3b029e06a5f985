//! A guest's stdout and stderr, handled as Spin handles them (`crates/trigger/src/cli/stdio.rs`):
//! with a state directory, each component's output is appended to
//! `<state-dir>/logs/<component>_stdout.txt` and `..._stderr.txt`, and also "followed" onto the
//! runtime's own stderr unless `--quiet`; without a state directory (`--state-dir ""`) it goes to
//! the runtime's stderr. (Spin writes a guest's stdout to its own stderr too, never to its
//! stdout.) The files are opened once when the app loads, in append mode, so a line a guest
//! writes in one call lands whole even when instances write at once.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

/// Where one output stream of one component goes.
#[derive(Clone, Debug)]
pub struct GuestOutput {
    /// The log file, when the app has a state directory.
    file: Option<Arc<File>>,
    /// Also write it to the runtime's stderr.
    follow: bool,
}

/// A component's stdout and stderr.
#[derive(Clone, Debug)]
pub struct ComponentOutput {
    pub stdout: GuestOutput,
    pub stderr: GuestOutput,
}

impl ComponentOutput {
    /// Opens `<log_dir>/<component>_stdout.txt` and `..._stderr.txt` for appending (creating
    /// them), or, without a log directory, sends both to the runtime's stderr.
    pub fn open(log_dir: Option<&Path>, component: &str, follow: bool) -> std::io::Result<Self> {
        let stream = |suffix: &str| -> std::io::Result<GuestOutput> {
            Ok(match log_dir {
                Some(dir) => {
                    let path = dir.join(format!("{component}_{suffix}.txt"));
                    let file = File::options().create(true).append(true).open(path)?;
                    GuestOutput { file: Some(Arc::new(file)), follow }
                }
                // Spin's `Inherit`: the runtime's stderr, followed or not.
                None => GuestOutput { file: None, follow: true },
            })
        };
        Ok(Self { stdout: stream("stdout")?, stderr: stream("stderr")? })
    }
}

impl GuestOutput {
    fn write_bytes(&self, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(file) = &self.file {
            (&**file).write_all(bytes)?;
        }
        if self.follow {
            std::io::stderr().write_all(bytes)?;
        }
        Ok(())
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

fn stream_error(error: std::io::Error) -> StreamError {
    StreamError::LastOperationFailed(error.into())
}

impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.write_bytes(&bytes).map_err(stream_error)
    }

    fn flush(&mut self) -> StreamResult<()> {
        // Files and stderr are unbuffered here: every write went out already.
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl AsyncWrite for GuestOutput {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Poll::Ready(self.write_bytes(buf).map(|()| buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_appended_to_the_component_log_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("web_stdout.txt"), "earlier run\n").unwrap();
        let output = ComponentOutput::open(Some(dir.path()), "web", false).unwrap();
        output.stdout.clone().write(Bytes::from_static(b"line one\n")).unwrap();
        output.stdout.clone().write(Bytes::from_static(b"line two\n")).unwrap();
        output.stderr.clone().write(Bytes::from_static(b"oops\n")).unwrap();
        let stdout = std::fs::read_to_string(dir.path().join("web_stdout.txt")).unwrap();
        assert_eq!(stdout, "earlier run\nline one\nline two\n");
        assert_eq!(std::fs::read_to_string(dir.path().join("web_stderr.txt")).unwrap(), "oops\n");
    }

    #[test]
    fn without_a_log_dir_output_follows_to_stderr_only() {
        let output = ComponentOutput::open(None, "web", false).unwrap();
        assert!(output.stdout.file.is_none() && output.stdout.follow);
    }
}
