// A bearer token for tests that need one up front (Inspector, conformance): MCP_TOKEN if set,
// otherwise one obtained here through the real flow (register, consent, development sign-in,
// code exchange) as the admin user.

import { randomBytes } from 'node:crypto';

import { BrowserAgent } from './browser-agent.mjs';
import { baseUrl, mockClerkUrl } from './env.mjs';
import { authorizeUrl, exchangeCode, pkce, registerClient } from './oauth-client.mjs';
import { ADMIN } from './users.mjs';

export async function bearerTokenForTests(user = ADMIN) {
  if (process.env.MCP_TOKEN) return process.env.MCP_TOKEN;
  const origin = baseUrl();
  const redirectUri = 'http://127.0.0.1:9/token-for-tests';
  const client = await registerClient(origin, { name: 'real-clients token helper', redirectUri });
  const { verifier, challenge } = pkce();
  const state = randomBytes(12).toString('base64url');
  const agent = new BrowserAgent({ appOrigin: origin, clerkOrigin: mockClerkUrl(), user });
  const url = authorizeUrl(origin, { clientId: client.client_id, redirectUri, challenge, state });
  const { redirect } = await agent.authorize(url, { redirectUri });
  const code = redirect.searchParams.get('code');
  if (!code) throw new Error(`no code: ${redirect}`);
  const token = await exchangeCode(origin, { code, clientId: client.client_id, redirectUri, verifier });
  if (token.status !== 200) throw new Error(`token exchange failed: ${token.status} ${JSON.stringify(token.body)}`);
  return token.body.access_token;
}
