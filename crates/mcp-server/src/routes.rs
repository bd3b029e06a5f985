//! Which endpoint a request is for, and the answer to the buffered ones (`/mcp`,
//! `/sse/message`); the component runs the `/sse` stream itself ([`crate::sse::open_stream`]).

use platform::Ports;
use platform::web::{self, Request, Response};

use crate::settings::Settings;
use crate::transport::{Services, config_error, handle_mcp, not_found};

/// Which endpoint a path belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Mcp,
    SseStream,
    SseMessage,
    NotFound,
}

/// The endpoint of `request`, from its path.
pub fn route(request: &Request) -> Route {
    route_path(web::path(request))
}

/// The endpoint of a path (query and fragment ignored).
pub fn route_path(path_and_query: &str) -> Route {
    let path = path_and_query.split(['?', '#']).next().unwrap_or("");
    match path.trim_end_matches('/') {
        "/mcp" => Route::Mcp,
        "/sse" => Route::SseStream,
        "/sse/message" => Route::SseMessage,
        _ => Route::NotFound,
    }
}

/// Answers a buffered request (`/mcp`, `/sse/message`), with the settings read once from
/// `ports`' variables.
pub async fn respond(ports: Ports<'_>, request: &Request) -> Response {
    let settings = match Settings::from_variables(ports.variables) {
        Ok(settings) => settings,
        Err(error) => return config_error(&error),
    };
    let services = Services { ports, settings: &settings };
    match route(request) {
        Route::Mcp => handle_mcp(request, &services).await,
        Route::SseMessage => crate::sse::handle_message(request, &services).await,
        Route::SseStream | Route::NotFound => not_found(),
    }
}
