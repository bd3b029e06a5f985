// An OAuthClientProvider for the official SDK client (@modelcontextprotocol/sdk), kept in memory.
// The SDK does discovery, registration, PKCE and token requests itself; this provider only stores
// what the SDK hands it and plays the user's browser in redirectToAuthorization.

import { randomBytes } from 'node:crypto';

export class TestOAuthProvider {
  #client;
  #tokens;
  #verifier;
  #state;
  #discovery;

  /**
   * agent: a BrowserAgent (signs in as its user); redirectUrl: the loopback URI we register.
   * clientMetadataUrl: the https URL of this client's metadata document; the SDK then uses it as
   * its client_id instead of registering, when the server advertises support.
   * interactive=false makes any new authorization fail, for tests that must not sign in again.
   */
  constructor({ agent, redirectUrl, clientName = 'real-clients SDK test', confidential = false, clientMetadataUrl }) {
    this.agent = agent;
    this.clientMetadataUrl = clientMetadataUrl;
    this._redirectUrl = redirectUrl;
    this.clientName = clientName;
    this.confidential = confidential;
    this.interactive = true;
    this.authorizationCode = undefined;
    this.lastAuthorization = undefined; // { url, redirect, seen }
  }

  get redirectUrl() {
    return this._redirectUrl;
  }

  get clientMetadata() {
    return {
      client_name: this.clientName,
      redirect_uris: [this._redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: this.confidential ? 'client_secret_basic' : 'none',
    };
  }

  state() {
    this.#state = randomBytes(16).toString('base64url');
    return this.#state;
  }

  clientInformation() {
    return this.#client;
  }

  saveClientInformation(info) {
    this.#client = info;
  }

  tokens() {
    return this.#tokens;
  }

  saveTokens(tokens) {
    this.#tokens = tokens;
  }

  saveCodeVerifier(verifier) {
    this.#verifier = verifier;
  }

  codeVerifier() {
    if (!this.#verifier) throw new Error('no code verifier saved');
    return this.#verifier;
  }

  saveDiscoveryState(state) {
    this.#discovery = state;
  }

  discoveryState() {
    return this.#discovery;
  }

  invalidateCredentials(scope) {
    if (scope === 'all' || scope === 'client') this.#client = undefined;
    if (scope === 'all' || scope === 'tokens') this.#tokens = undefined;
    if (scope === 'all' || scope === 'verifier') this.#verifier = undefined;
    if (scope === 'all' || scope === 'discovery') this.#discovery = undefined;
  }

  /** The user's browser: consent, sign-in, and back to our redirect URI with a code. */
  async redirectToAuthorization(url) {
    if (!this.interactive) throw new Error(`unexpected new authorization: ${url}`);
    const { redirect, seen } = await this.agent.authorize(url, { redirectUri: this._redirectUrl });
    this.lastAuthorization = { url: new URL(url), redirect, seen };
    const error = redirect.searchParams.get('error');
    if (error) throw new Error(`authorization failed: ${redirect}`);
    if (redirect.searchParams.get('state') !== this.#state) {
      throw new Error(`state mismatch: sent ${this.#state}, got ${redirect.searchParams.get('state')}`);
    }
    this.authorizationCode = redirect.searchParams.get('code');
  }
}
