//! Starting a trip to Clerk, for either flow that signs in there (`/authorize` and `/apps`):
//! fresh `state`, PKCE verifier and `nonce`, kept server-side behind the state for 10 minutes,
//! bound to the browser by the hash of its browser cookie, and naming the flow `/callback` must
//! finish; and what Clerk sends back at the end of the trip ([`ClerkAnswer`]).

use clerk_client::{Clerk, ClerkError, SignedIn, UpstreamRequest};
use platform::VariableError;
use platform::web;

use crate::config::FlowConfig;
use crate::records::{self, CreateError, Flow, Upstream};
use crate::{Env, cookies};

/// Why a trip to Clerk could not start.
#[derive(Debug)]
pub(crate) enum StartError {
    /// The host's random source failed (for the state, or to seal the record).
    Random,
    /// Clerk's discovery document could not be had.
    Clerk(ClerkError),
    /// The state could not be stored.
    Store,
}

/// Stores the upstream state for `flow`, bound to `browser`, and returns Clerk's authorization
/// URL, whose `redirect_uri` is `<base>/callback`. (`approved_on_page`: see [`Upstream`].)
pub(crate) async fn start(
    env: &Env<'_>,
    config: &FlowConfig,
    base: &str,
    browser: &str,
    flow: Flow,
    approved_on_page: bool,
) -> Result<String, StartError> {
    let upstream = UpstreamRequest::random().map_err(|_| StartError::Random)?;
    let callback_url = format!("{}/callback", base.trim_end_matches('/'));
    let clerk = Clerk::new(&config.clerk, &env.ports);
    let url = clerk.authorization_url(&callback_url, &upstream).await.map_err(StartError::Clerk)?;
    let state = upstream.state.clone();
    let record =
        Upstream { flow, upstream, browser_hash: cookies::browser_hash(browser), callback_url, approved_on_page };
    let expires_at = env.ports.clock.now_unix() + records::UPSTREAM_TTL;
    records::create(env.ports.store, &state, &record, expires_at).map_err(|error| match error {
        CreateError::Store(_) => StartError::Store,
        CreateError::Seal(_) => StartError::Random,
    })?;
    Ok(url)
}

/// A redirect to `url` that also sets `set_cookies`.
pub(crate) fn redirect_with_cookies(url: &str, set_cookies: &[String]) -> web::Response {
    let mut response = web::redirect(url);
    set_cookies.iter().for_each(|c| web::append_header(&mut response, "set-cookie", c));
    response
}

/// What Clerk sent back, with the trip it answers.
pub(crate) struct ClerkAnswer<'a> {
    pub query: &'a [(String, String)],
    pub upstream: &'a UpstreamRequest,
    pub callback_url: &'a str,
}

/// Why Clerk's answer did not sign anyone in. Each flow words it its own way (an error redirect
/// to the MCP client, or a page at `/apps`); the steps that lead here are the same for both.
#[derive(Debug)]
pub(crate) enum Unredeemed<'a> {
    /// Clerk sent `error` (the caller's text, through the browser) and maybe a description.
    Refused { error: &'a str, description: &'a str },
    /// Clerk sent neither an error nor a code.
    NoCode,
    /// The deployment's Clerk or cookie settings are broken.
    Misconfigured(VariableError),
    /// Exchanging the code with Clerk failed.
    Clerk(ClerkError),
}

impl ClerkAnswer<'_> {
    pub fn param(&self, name: &str) -> Option<&str> {
        web::first_value(self.query, name)
    }

    /// Finishes the trip at Clerk: takes its error or code and exchanges the code for the user.
    /// Returns the settings read on the way, which the caller goes on with.
    pub(crate) async fn redeem(&self, env: &Env<'_>) -> Result<(FlowConfig, SignedIn), Unredeemed<'_>> {
        if let Some(error) = self.param("error") {
            return Err(Unredeemed::Refused { error, description: self.param("error_description").unwrap_or("") });
        }
        let code = self.param("code").filter(|c| !c.is_empty()).ok_or(Unredeemed::NoCode)?;
        let config = env.settings.flow().map_err(Unredeemed::Misconfigured)?;
        let clerk = Clerk::new(&config.clerk, &env.ports);
        let signed_in = clerk.sign_in(code, self.callback_url, self.upstream).await.map_err(Unredeemed::Clerk)?;
        Ok((config, signed_in))
    }
}
