//! Client metadata documents served from memory: the outbound HTTP port for tests that resolve
//! URL `client_id`s. Unknown URLs answer 404; every request that reaches a server is counted.
//! Like a runtime configured with `block_networks = ["private"]`, it refuses the private-network
//! probes (`crate::cimd::network_guard`) as prohibited, unless a test opens them.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use platform::outbound::{Request, Response, response_limit};
use platform::{HttpClient, OutboundError};

/// What a URL answers.
#[derive(Debug, Clone)]
pub enum Answer {
    Respond { status: u16, headers: Vec<(String, String)>, body: Vec<u8> },
    Fail(OutboundError),
}

#[derive(Default)]
pub struct FakeDocuments {
    answers: Mutex<HashMap<String, Answer>>,
    requests: Mutex<Vec<(String, Option<usize>, Duration)>>,
    /// Private-network probes that are not blocked.
    open_probes: Mutex<HashSet<String>>,
}

impl FakeDocuments {
    /// `body` as `200 application/json`.
    pub fn serve(&self, url: &str, body: &str) {
        self.serve_with(url, 200, &[("content-type", "application/json")], body.as_bytes());
    }

    pub fn serve_with(&self, url: &str, status: u16, headers: &[(&str, &str)], body: &[u8]) {
        let headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        self.answers.lock().unwrap().insert(url.to_owned(), Answer::Respond { status, headers, body: body.to_vec() });
    }

    pub fn fail(&self, url: &str, error: OutboundError) {
        self.answers.lock().unwrap().insert(url.to_owned(), Answer::Fail(error));
    }

    /// Lets the private-network probe `url` through (as a runtime without that block would).
    pub fn open_private_network(&self, url: &str) {
        self.open_probes.lock().unwrap().insert(url.to_owned());
    }

    /// Lets every private-network probe through: a runtime without `block_networks`.
    pub fn open_private_networks(&self) {
        crate::cimd::network_guard::PROBES.iter().for_each(|probe| self.open_private_network(probe));
    }

    /// How many requests reached a server, at any URL.
    pub fn requests(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    /// The response limit and timeout of the last request.
    pub fn last_limits(&self) -> Option<(Option<usize>, Duration)> {
        self.requests.lock().unwrap().last().map(|(_, limit, timeout)| (*limit, *timeout))
    }
}

impl HttpClient for FakeDocuments {
    fn send(&self, request: Request, timeout: Duration) -> platform::outbound::Sending<'_> {
        Box::pin(std::future::ready(self.answer(request, timeout)))
    }
}

impl FakeDocuments {
    fn answer(&self, request: Request, timeout: Duration) -> Result<Response, OutboundError> {
        let url = request.uri().to_string();
        let host = request.uri().host().unwrap_or_default().to_owned();
        let blocked = crate::cimd::network_guard::PROBES.contains(&url.as_str())
            && !self.open_probes.lock().unwrap().contains(&url);
        if blocked {
            return Err(OutboundError::Prohibited { host });
        }
        let limit = response_limit(&request);
        self.requests.lock().unwrap().push((url.clone(), limit, timeout));
        let answer = self.answers.lock().unwrap().get(&url).cloned();
        let (status, headers, body) = match answer {
            Some(Answer::Respond { status, headers, body }) => (status, headers, body),
            Some(Answer::Fail(error)) => return Err(error),
            None => (404, Vec::new(), Vec::new()),
        };
        // As the Spin client does: stop reading at the limit.
        if limit.is_some_and(|limit| body.len() > limit) {
            return Err(OutboundError::TooLarge { host, limit: limit.unwrap_or_default() });
        }
        let mut response = http::Response::builder().status(status);
        for (name, value) in headers {
            response = response.header(name, value);
        }
        Ok(response.body(body).unwrap())
    }
}
