//! The operator's log on Spin: the component's stderr, which Spin keeps (`spin up` prints it,
//! and writes `<state dir>/logs/<component>_stderr.txt`; hosted platforms collect it).
//!
//! It is the one log channel: the libraries never write it themselves. What they want the
//! operator to read comes back attached to the response they return (`platform::diagnostic`),
//! or as the error of work that has no response (the housekeeping), and is written here, one
//! line naming the component.

use platform::web::Response;

/// The log of one component.
#[derive(Debug, Clone, Copy)]
pub struct ComponentLog {
    component: &'static str,
}

impl ComponentLog {
    /// `component` is the id in `spin.toml`, which starts each line.
    pub const fn new(component: &'static str) -> Self {
        Self { component }
    }

    /// Writes `<component>: <what>`, cleaned as diagnostics are (`what` may quote what Clerk or a
    /// caller sent: it must not forge or flood log lines).
    #[allow(clippy::print_stderr, reason = "a Spin component's log is its stderr")]
    pub fn write(&self, what: &str) {
        eprintln!("{}: {}", self.component, platform::diagnostic::clean(what));
    }

    /// Writes the diagnostic the library attached to `response`, if any.
    pub fn response(&self, response: &Response) {
        if let Some(line) = platform::diagnostic::of(response) {
            self.write(line);
        }
    }
}
