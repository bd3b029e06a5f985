//! The upstream (Clerk) half of a sign-in: the authorization URL, then the code exchange, the
//! ID-token checks and the profile lookup that turn Clerk's callback into [`UserProps`].

use oauth_core::UserProps;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, ExtraTokenFields, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, StandardRevocableToken, StandardTokenResponse,
    TokenResponse, TokenUrl,
};
use platform::secret::{RandomError, random_token};
use platform::{Clock, HttpClient, KeyValueStore, Ports};
use serde::{Deserialize, Serialize};

use crate::backend::BackendApi;
use crate::discovery::{ProviderMetadata, discover};
use crate::oauth2_http::{OAuth2Http, OAuth2HttpError};
use crate::{ClerkConfig, ClerkError, id_token, profile, userinfo};

/// The scopes requested from Clerk.
///
/// `openid` for the ID token (claims checked with the nonce), `email` and `profile` for the
/// profile props, and `public_metadata` so the role is in Clerk's claims even when the Backend
/// API cannot be reached during a sign-in (Clerk only includes `public_metadata` with this scope).
/// No `offline_access`: Clerk's tokens are never kept, only the identity they prove.
pub const UPSTREAM_SCOPES: [&str; 4] = ["openid", "email", "profile", "public_metadata"];

const TOKEN_WHAT: &str = "token endpoint (/oauth/token)";

/// The per-sign-in secrets of one trip to Clerk, kept server-side with the upstream state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamRequest {
    /// The `state` sent to Clerk (random, at least 8 characters as Clerk requires).
    pub state: String,
    pub pkce_verifier: String,
    pub nonce: String,
}

impl UpstreamRequest {
    /// Fresh 256-bit random `state`, PKCE verifier (43 characters, RFC 7636) and `nonce`.
    pub fn random() -> Result<Self, RandomError> {
        Ok(Self { state: random_token()?, pkce_verifier: random_token()?, nonce: random_token()? })
    }
}

/// The outcome of a successful sign-in at Clerk.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedIn {
    pub props: UserProps,
}

/// `id_token` beside the standard token response fields.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct IdTokenField {
    #[serde(default)]
    id_token: Option<String>,
}
impl ExtraTokenFields for IdTokenField {}

type ClerkTokenResponse = StandardTokenResponse<IdTokenField, BasicTokenType>;

/// oauth2's client with Clerk's token response; endpoints are set per use (typestate).
type ClerkOAuthClient = oauth2::Client<
    BasicErrorResponse,
    ClerkTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
>;

/// Clerk, as the sign-in flow sees it: its settings and the ports of the request (outbound
/// HTTP, and the store and clock its discovery document is cached with).
pub struct Clerk<'a> {
    pub config: &'a ClerkConfig,
    http: &'a dyn HttpClient,
    store: &'a dyn KeyValueStore,
    clock: &'a dyn Clock,
}

impl<'a> Clerk<'a> {
    pub fn new(config: &'a ClerkConfig, ports: &Ports<'a>) -> Self {
        Self { config, http: ports.http, store: ports.store, clock: ports.clock }
    }

    /// The Backend API with this configuration, e.g. to re-read a user's role.
    pub fn backend(&self) -> BackendApi<'a> {
        BackendApi::new(&self.config.backend, self.http)
    }

    /// Clerk's discovery document (cached).
    pub async fn metadata(&self) -> Result<ProviderMetadata, ClerkError> {
        discover(self.http, self.store, self.clock, &self.config.frontend_api).await
    }

    /// Clerk's authorization URL for this trip: `response_type=code`, our client id, the
    /// callback, the scopes, `state`, PKCE S256 and `nonce`.
    pub async fn authorization_url(&self, redirect_uri: &str, request: &UpstreamRequest) -> Result<String, ClerkError> {
        let metadata = self.metadata().await?;
        let client = ClerkOAuthClient::new(self.client_id())
            .set_auth_uri(auth_url(&metadata)?)
            .set_redirect_uri(redirect_url(redirect_uri)?);
        let challenge =
            PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(request.pkce_verifier.clone()));
        let state = request.state.clone();
        let (url, _) = client
            .authorize_url(|| CsrfToken::new(state))
            .add_scopes(UPSTREAM_SCOPES.iter().map(|s| Scope::new((*s).to_owned())))
            .set_pkce_challenge(challenge)
            .add_extra_param("nonce", request.nonce.clone())
            .url();
        Ok(url.to_string())
    }

    /// Finishes the sign-in from Clerk's callback `code`: exchange, claim checks, profile.
    pub async fn sign_in(
        &self,
        code: &str,
        redirect_uri: &str,
        request: &UpstreamRequest,
    ) -> Result<SignedIn, ClerkError> {
        let metadata = self.metadata().await?;
        let tokens = self.exchange(&metadata, code, redirect_uri, &request.pkce_verifier).await?;
        let id_token = tokens.extra_fields().id_token.as_deref().ok_or_else(|| ClerkError::Malformed {
            what: TOKEN_WHAT,
            reason: "no id_token although openid was requested".into(),
        })?;
        let expected = id_token::Expected {
            issuer: &self.config.frontend_api,
            client_id: &self.config.client_id,
            nonce: &request.nonce,
            now: self.clock.now_unix(),
        };
        let claims = id_token::check(id_token, &expected)?;
        let props = self.profile(&metadata, &claims, tokens.access_token().secret()).await?;
        Ok(SignedIn { props })
    }

    /// The authorization-code grant at Clerk's token endpoint (client secret via HTTP Basic).
    async fn exchange(
        &self,
        metadata: &ProviderMetadata,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<ClerkTokenResponse, ClerkError> {
        let token_url = TokenUrl::new(metadata.token_endpoint.clone()).map_err(|e| malformed_url(e.to_string()))?;
        let client = ClerkOAuthClient::new(self.client_id())
            .set_client_secret(ClientSecret::new(self.config.client_secret.clone()))
            .set_auth_type(AuthType::BasicAuth)
            .set_token_uri(token_url)
            .set_redirect_uri(redirect_url(redirect_uri)?);
        let http = OAuth2Http(self.http);
        client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()))
            .request_async(&http)
            .await
            .map_err(exchange_error)
    }

    /// Backend API first; if it cannot answer (down, slow, garbage), the ID-token claims plus
    /// userinfo. A user Clerk says is gone, or a rejected secret key, stops the sign-in.
    async fn profile(
        &self,
        metadata: &ProviderMetadata,
        claims: &id_token::IdTokenClaims,
        access_token: &str,
    ) -> Result<UserProps, ClerkError> {
        match self.backend().get_user(&claims.sub).await {
            Ok(user) => Ok(user.props(claims.sid.clone())),
            Err(e @ (ClerkError::UserGone { .. } | ClerkError::BackendUnauthorized)) => Err(e),
            Err(_) => {
                let info = match &metadata.userinfo_endpoint {
                    Some(endpoint) => userinfo::fetch(self.http, endpoint, access_token).await.ok(),
                    None => None,
                };
                Ok(profile::from_claims(claims, info.as_ref()))
            }
        }
    }

    fn client_id(&self) -> ClientId {
        ClientId::new(self.config.client_id.clone())
    }
}

fn auth_url(metadata: &ProviderMetadata) -> Result<AuthUrl, ClerkError> {
    AuthUrl::new(metadata.authorization_endpoint.clone()).map_err(|e| malformed_url(e.to_string()))
}

fn redirect_url(redirect_uri: &str) -> Result<RedirectUrl, ClerkError> {
    RedirectUrl::new(redirect_uri.to_owned())
        .map_err(|e| ClerkError::Malformed { what: "callback URL", reason: format!("{redirect_uri}: {e}") })
}

fn malformed_url(reason: String) -> ClerkError {
    ClerkError::Malformed { what: "discovery (/.well-known/openid-configuration)", reason }
}

fn exchange_error(error: RequestTokenError<OAuth2HttpError, BasicErrorResponse>) -> ClerkError {
    match error {
        RequestTokenError::ServerResponse(response) => ClerkError::Rejected { error: response.error().to_string() },
        RequestTokenError::Request(OAuth2HttpError::Outbound(source)) => {
            ClerkError::Unavailable { what: TOKEN_WHAT, source }
        }
        RequestTokenError::Request(OAuth2HttpError::ServerStatus(status)) => {
            ClerkError::Status { what: TOKEN_WHAT, status }
        }
        RequestTokenError::Request(OAuth2HttpError::TooLarge) => {
            ClerkError::Malformed { what: TOKEN_WHAT, reason: "response too large".into() }
        }
        RequestTokenError::Parse(e, _) => ClerkError::Malformed { what: TOKEN_WHAT, reason: e.to_string() },
        RequestTokenError::Other(reason) => ClerkError::Malformed { what: TOKEN_WHAT, reason },
    }
}

#[cfg(test)]
mod tests;
