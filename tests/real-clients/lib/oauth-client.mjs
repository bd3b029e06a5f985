// Plain OAuth client steps (RFC 7591 registration, PKCE, authorize URL, token exchange) for tests
// that drive a real browser instead of the SDK.

import { createHash, randomBytes } from 'node:crypto';

export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

export async function registerClient(origin, { name, redirectUri }) {
  const response = await fetch(`${origin}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: name,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }),
  });
  const body = await response.text();
  if (response.status !== 201) throw new Error(`POST /register -> ${response.status}: ${body}`);
  return JSON.parse(body);
}

export function authorizeUrl(origin, { clientId, redirectUri, challenge, state }) {
  const url = new URL('/authorize', origin);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    scope: 'mcp',
    resource: `${origin}/mcp`,
  }).toString();
  return url.href;
}

export async function exchangeCode(origin, { code, clientId, redirectUri, verifier }) {
  const response = await fetch(`${origin}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: clientId,
      code_verifier: verifier,
      resource: `${origin}/mcp`,
    }),
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}
