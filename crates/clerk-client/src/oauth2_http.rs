//! `oauth2`'s asynchronous HTTP client trait over our [`HttpClient`] port, so the code exchange
//! runs on Spin's outbound HTTP inside a component (no `reqwest`) and on a fake in tests.

use std::future::Future;
use std::pin::Pin;

use platform::{HttpClient, OutboundError};

use crate::{CLERK_TIMEOUT, MAX_RESPONSE_BYTES};

/// Adapts an [`HttpClient`] to [`oauth2::AsyncHttpClient`], with Clerk's timeout.
pub(crate) struct OAuth2Http<'a>(pub &'a dyn HttpClient);

/// [`OutboundError`] as the `std::error::Error` oauth2 wants, plus the size limit.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OAuth2HttpError {
    #[error(transparent)]
    Outbound(#[from] OutboundError),
    #[error("response too large")]
    TooLarge,
    /// A 5xx: Clerk is failing, whatever the body says (often an HTML error page).
    #[error("HTTP {0}")]
    ServerStatus(u16),
}

impl<'c> oauth2::AsyncHttpClient<'c> for OAuth2Http<'_> {
    type Error = OAuth2HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, Self::Error>> + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = self.0.send(request, CLERK_TIMEOUT).await?;
            if response.body().len() > MAX_RESPONSE_BYTES {
                return Err(OAuth2HttpError::TooLarge);
            }
            if response.status().is_server_error() {
                return Err(OAuth2HttpError::ServerStatus(response.status().as_u16()));
            }
            Ok(response)
        })
    }
}
