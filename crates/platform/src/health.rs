//! `GET /healthz`: can this app reach its key-value store? For an orchestrator's liveness or
//! readiness probe (Kubernetes, SpinKube, a load balancer), which restarts or drains an instance
//! that answers anything but `200`.
//!
//! Spin's own `/.well-known/spin/health` answers `OK` from the runtime without running a
//! component or touching a store, so it stays green while every request fails for want of the
//! store. This probe opens the store and reads one key that is never written: one read, nothing
//! stored, whoever calls it.
//!
//! **Bounded time**: a store that reports an error gets `503` at once. A store call that hangs
//! cannot be cut short from inside a component (the host call blocks the guest; there is no
//! timer to race it with), and on Spin 3.5.0 to 4.0.2 a Redis store does hang while it
//! reconnects (the README, "Scale out"): then this request hangs too, and the probe's own
//! timeout is the bound. Give the probe one (Kubernetes `timeoutSeconds: 2`): a timeout is a
//! failure, as a `503` is.

use http::{Method, StatusCode};

use crate::diagnostic;
use crate::kv::{KeyValueStore, StoreError};
use crate::web::{self, Request, Response};

/// The probe's route.
pub const PATH: &str = "/healthz";

/// The key the probe reads: never written, so the read costs the store a miss.
const PROBE_KEY: &str = "health:probe";

/// The answer to a probe: `200 {"status":"ok"}` when `store` opened and answered a read,
/// `503 {"status":"unavailable"}` (with `Retry-After: 1`, and the store's error for the log
/// as the response's diagnostic) when it did not. `GET` and `HEAD` only.
pub fn probe(request: &Request, store: Result<&dyn KeyValueStore, StoreError>) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return web::method_not_allowed("GET, HEAD");
    }
    match store.and_then(|store| store.get(PROBE_KEY)) {
        Ok(_) => answer(StatusCode::OK, r#"{"status":"ok","store":"ok"}"#),
        Err(error) => {
            let mut response =
                answer(StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"unavailable","store":"unreachable"}"#);
            web::append_header(&mut response, "retry-after", "1");
            diagnostic::attach(&mut response, &format!("health probe: {error}"));
            response
        }
    }
}

fn answer(status: StatusCode, body: &str) -> Response {
    web::response(status, &[("content-type", "application/json"), ("cache-control", "no-store")], body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::MemoryStore;

    fn get() -> Request {
        http::Request::get(PATH).body(Vec::new()).unwrap()
    }

    /// A store whose every call fails, as a Redis store does while its server is down.
    struct Broken;

    impl KeyValueStore for Broken {
        fn get(&self, _: &str) -> Result<Option<Vec<u8>>, StoreError> {
            Err(StoreError::Backend("Connection refused (os error 111)".into()))
        }
        fn set(&self, _: &str, _: &[u8]) -> Result<(), StoreError> {
            Err(StoreError::Backend("down".into()))
        }
        fn delete(&self, _: &str) -> Result<(), StoreError> {
            Err(StoreError::Backend("down".into()))
        }
        fn increment(&self, _: &str, _: i64) -> Result<i64, StoreError> {
            Err(StoreError::Backend("down".into()))
        }
    }

    #[test]
    fn a_store_that_answers_is_healthy_and_nothing_is_stored() {
        let store = MemoryStore::new();
        let response = probe(&get(), Ok(&store));
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.body(), br#"{"status":"ok","store":"ok"}"#);
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert!(store.snapshot().is_empty());
    }

    #[test]
    fn a_store_that_fails_or_cannot_open_is_a_503_with_the_reason_for_the_log_only() {
        for response in [probe(&get(), Ok(&Broken)), probe(&get(), Err(StoreError::Unavailable("default".into())))] {
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(response.headers()["retry-after"], "1");
            assert_eq!(response.body(), br#"{"status":"unavailable","store":"unreachable"}"#);
            assert!(diagnostic::of(&response).is_some_and(|line| line.starts_with("health probe: key-value store")));
        }
    }

    #[test]
    fn other_methods_are_405() {
        let post = http::Request::post(PATH).body(Vec::new()).unwrap();
        let response = probe(&post, Ok(&MemoryStore::new()));
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()["allow"], "GET, HEAD");
    }
}
