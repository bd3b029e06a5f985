//! Test doubles shared by the unit tests.

use platform::{HttpClient, OutboundError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Sent = http::Request<Vec<u8>>;

/// An outbound client that answers every request with one canned response and records requests.
#[derive(Clone)]
pub struct FakeHttp {
    answer: Result<(u16, Vec<u8>), OutboundError>,
    sent: Arc<Mutex<Vec<Sent>>>,
}

impl FakeHttp {
    pub fn raw(status: u16, body: Vec<u8>) -> Self {
        Self { answer: Ok((status, body)), sent: Arc::default() }
    }
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self::raw(status, body.to_string().into_bytes())
    }
    pub fn failing(error: OutboundError) -> Self {
        Self { answer: Err(error), sent: Arc::default() }
    }
    /// A client for tests where no outbound request is expected.
    pub fn unused() -> Self {
        Self::failing(OutboundError::InvalidRequest("unexpected outbound request".into()))
    }
    pub fn last_request(&self) -> Sent {
        self.sent.lock().unwrap().last().cloned().expect("no request was sent")
    }
    pub fn request_count(&self) -> usize {
        self.sent.lock().unwrap().len()
    }
}

impl HttpClient for FakeHttp {
    async fn send(&self, request: Sent, _timeout: Duration) -> Result<http::Response<Vec<u8>>, OutboundError> {
        self.sent.lock().unwrap().push(request);
        let (status, body) = self.answer.clone()?;
        Ok(http::Response::builder().status(status).body(body).unwrap())
    }
}
