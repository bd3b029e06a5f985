//! The component's log. Spin writes a component's stderr to the app's log (the terminal of
//! `spin up`, and `<state dir>/logs/<component>_stderr.txt`), so that is where a response's
//! [`platform::diagnostic`] goes.

use platform::web::Response;

/// Writes the diagnostic the library attached to `response`, if any, as one line naming
/// `component`. (The diagnostic is already escaped and bounded.)
#[allow(clippy::print_stderr, reason = "stderr is the component's log in Spin")]
pub fn log_diagnostic(component: &str, response: &Response) {
    if let Some(line) = platform::diagnostic::of(response) {
        eprintln!("{component}: {line}");
    }
}
