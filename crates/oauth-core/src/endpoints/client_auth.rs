//! Client authentication at `/token` and `/revoke`: HTTP Basic (`client_secret_basic`), form
//! fields (`client_secret_post`) or `client_id` alone (public clients, `none`).

use headers::HeaderMapExt;
use headers::authorization::{Authorization, Basic};
use platform::web::{self, Request};

use super::error::OAuthError;
use super::form::Form;
use crate::cimd::{ClientAuthError, ClientResolver, ResolvedClient};
use crate::clients::PresentedCredentials;
use crate::records::AuthMethod;

/// Authenticates the calling client (registered, or described by its metadata document) or
/// explains why not. A refused document is `invalid_client` like any other failure; its reason
/// goes to the log only.
pub(super) async fn authenticate_client(
    clients: &ClientResolver<'_>,
    request: &Request,
    form: &Form,
) -> Result<ResolvedClient, OAuthError> {
    Presented::read(request, form)?.authenticate(clients).await
}

/// The client credentials a request presents, before they are checked.
pub(super) struct Presented {
    pub credentials: PresentedCredentials,
    /// Whether they came in `Authorization: Basic` (a refusal then challenges for Basic).
    pub used_basic: bool,
}

impl Presented {
    /// Reads the credentials from the Basic header or the form, or explains why they cannot be.
    pub fn read(request: &Request, form: &Form) -> Result<Self, OAuthError> {
        let basic = basic_credentials(request)?;
        let used_basic = basic.is_some();
        Ok(Self { credentials: presented(basic, form)?, used_basic })
    }

    /// Resolves the client they name and checks them against it.
    pub async fn authenticate(&self, clients: &ClientResolver<'_>) -> Result<ResolvedClient, OAuthError> {
        clients.authenticate(&self.credentials).await.map_err(|e| self.refusal(e))
    }

    fn refusal(&self, error: ClientAuthError) -> OAuthError {
        match error {
            ClientAuthError::InvalidClient => OAuthError::invalid_client(self.used_basic),
            ClientAuthError::Document(refused) => OAuthError::invalid_client(self.used_basic).with_detail(refused),
            ClientAuthError::Limited(limited) => OAuthError::rate_limited(&limited.limit, limited.retry_after),
            ClientAuthError::Store(e) => OAuthError::record(&e),
        }
    }
}

/// The credentials from the `Authorization: Basic` header, if that is how the client
/// authenticates. Per RFC 6749 §2.3.1 both parts are form-encoded before base64.
fn basic_credentials(request: &Request) -> Result<Option<(String, String)>, OAuthError> {
    if web::header_str(request, "authorization").is_none() {
        return Ok(None);
    }
    // Another scheme, broken base64 or no `:`: the client tried to authenticate and failed.
    let basic =
        request.headers().typed_get::<Authorization<Basic>>().ok_or_else(|| OAuthError::invalid_client(true))?;
    Ok(Some((form_decode(basic.username()), form_decode(basic.password()))))
}

fn form_decode(part: &str) -> String {
    // Decoding `x=<part>` reuses the form decoder (`+` is a space, `%XX` escapes).
    web::decode_pairs(format!("x={part}").as_bytes()).into_iter().next().map(|(_, v)| v).unwrap_or_default()
}

fn presented(basic: Option<(String, String)>, form: &Form) -> Result<PresentedCredentials, OAuthError> {
    let form_id = form.get("client_id");
    let form_secret = form.get("client_secret");
    match basic {
        Some(_) if form_secret.is_some() => {
            Err(OAuthError::bad_request("invalid_request", "use only one client authentication method"))
        }
        Some((id, _)) if form_id.is_some_and(|f| f != id) => Err(OAuthError::invalid_client(true)),
        Some((id, secret)) => Ok(PresentedCredentials {
            client_id: id,
            client_secret: Some(secret),
            method: AuthMethod::ClientSecretBasic,
        }),
        None => {
            let client_id = form_id.ok_or_else(|| OAuthError::invalid_client(false))?.to_owned();
            let method = if form_secret.is_some() { AuthMethod::ClientSecretPost } else { AuthMethod::None };
            Ok(PresentedCredentials { client_id, client_secret: form_secret.map(str::to_owned), method })
        }
    }
}
