//! The housekeeping a request owes once its response is out (`platform::housekeeping`): its
//! share of the sweep of expired records, in proportion to what it stored. A request that stored
//! nothing (every `/mcp` call) costs nothing here.

use platform::SystemClock;

use crate::{AfterResponse, SpinStore};

/// Runs the housekeeping `store`'s request owes; a failure goes to `component`'s log (the
/// client has its answer already, and the next request's sweep takes the work up again).
pub fn run_housekeeping(component: &str, store: &SpinStore) {
    if let Err(error) = platform::housekeeping::after_response(store, &SystemClock) {
        platform::log::failure(component, "housekeeping after the response", &error);
    }
}

/// [`run_housekeeping`] as work for [`crate::serve_then`].
pub fn housekeeping_after(component: &'static str, store: SpinStore) -> AfterResponse {
    Box::new(move || run_housekeeping(component, &store))
}
