// Step-up authorization with the official MCP TypeScript SDK client (1.32.2): it starts with the
// narrow scope `mcp:basic`, calls generateImage, gets `403 insufficient_scope`, re-authorizes with
// the scope the challenge names (the user approves only the image scope, on a consent page shown
// after the mock Clerk's sign-in) and then generates the image as an admin. A plain user is never
// challenged: generateImage is not listed and calling it is a JSON-RPC error.
//
// The provider keeps no refresh token: with one, SDK 1.32.2 answers a 403 insufficient_scope by
// refreshing (which can never widen the scope, RFC 6749 §6), gets the same 403 and gives up with
// "Server returned 403 after trying upscoping" (typescript-sdk issue #2255). Without one it takes
// its designed path: a new authorization request with the challenged scope.
//
// Environment: MCP_BASE_URL, MOCK_CLERK_URL (see lib/env.mjs); the app must have an image backend.
// Run: node --test sdk-scopes.test.mjs

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { auth, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { BrowserAgent } from './lib/browser-agent.mjs';
import { baseUrl, mockClerkUrl } from './lib/env.mjs';
import { TestOAuthProvider } from './lib/oauth-provider.mjs';
import { recordingFetch } from './lib/recording-fetch.mjs';
import { ADMIN, PLAIN } from './lib/users.mjs';

const BASE = baseUrl();
const MCP = new URL('/mcp', BASE);
const DRAW = { name: 'generateImage', arguments: { prompt: 'a red square', steps: 4 } };

/** A provider that drops refresh tokens (see the header), signing in as `user`. */
function providerFor(user) {
  const agent = new BrowserAgent({ appOrigin: BASE, clerkOrigin: mockClerkUrl(), user });
  const redirectUrl = `http://127.0.0.1:${40000 + Math.floor(Math.random() * 20000)}/callback`;
  const provider = new TestOAuthProvider({ agent, redirectUrl, clientName: `SDK scopes ${user.email}` });
  const save = provider.saveTokens.bind(provider);
  provider.saveTokens = (tokens) => save({ ...tokens, refresh_token: undefined });
  return provider;
}

/** Signs in with exactly `scope` through the SDK's `auth`, as an app choosing its scope does. */
async function signInWith(provider, scope, fetchFn) {
  assert.equal(await auth(provider, { serverUrl: MCP, scope, fetchFn }), 'REDIRECT');
  assert.equal(provider.lastAuthorization.url.searchParams.get('scope'), scope);
  const code = provider.authorizationCode;
  assert.equal(await auth(provider, { serverUrl: MCP, scope, authorizationCode: code, fetchFn }), 'AUTHORIZED');
}

async function connect(provider, fetchFn) {
  const transport = new StreamableHTTPClientTransport(MCP, { authProvider: provider, fetch: fetchFn });
  const client = new Client({ name: 'real-clients-sdk-scopes', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

describe('SDK client step-up from mcp:basic to the image scope', () => {
  it('an admin is challenged, re-authorizes with the union and then generates the image', async () => {
    const recorder = recordingFetch();
    const provider = providerFor(ADMIN);
    await signInWith(provider, 'mcp:basic', recorder.fetch);
    assert.equal(provider.tokens().scope, 'mcp:basic');
    const { client, transport } = await connect(provider, recorder.fetch);
    try {
      const listed = (await client.listTools()).tools.find((t) => t.name === 'generateImage');
      assert.match(listed?.description ?? '', /Needs the `mcp:images` scope/, 'listed, marked');
      assert.match(JSON.stringify(await client.callTool({ name: 'add', arguments: { a: 1, b: 2 } })), /"3"/);

      // The SDK sees the 403, starts a new authorization with the challenged scope; the browser
      // signs in and approves; the transport then needs the code, as after any redirect.
      await assert.rejects(client.callTool(DRAW), (e) => e instanceof UnauthorizedError);
      const challenged = recorder.calls.find((c) => c.status === 403);
      assert.ok(challenged, 'a 403 was answered');
      assert.match(challenged.wwwAuthenticate, /error="insufficient_scope"/);
      assert.match(challenged.wwwAuthenticate, /scope="mcp:basic mcp:images"/);
      const { url, seen } = provider.lastAuthorization;
      assert.equal(url.searchParams.get('scope'), 'mcp:basic mcp:images', 'the union');
      assert.match(seen.consentText, /You approved this app before; it now asks for more/);
      assert.match(seen.consentText, /Generate images/);

      await transport.finishAuth(provider.authorizationCode);
      assert.equal(provider.tokens().scope, 'mcp:basic mcp:images');
      const result = await client.callTool(DRAW);
      assert.notEqual(result.isError, true, JSON.stringify(result).slice(0, 300));
      assert.ok(result.content.some((c) => c.type === 'image'), JSON.stringify(result).slice(0, 300));
    } finally {
      await client.close().catch(() => {});
    }
  });

  it('a plain user is not challenged and the image tool is absent', async () => {
    const recorder = recordingFetch();
    const provider = providerFor(PLAIN);
    await signInWith(provider, 'mcp:basic', recorder.fetch);
    provider.interactive = false; // any new authorization would fail the test
    const { client } = await connect(provider, recorder.fetch);
    try {
      const names = (await client.listTools()).tools.map((t) => t.name).sort();
      assert.deepEqual(names, ['add', 'userInfo']);
      const outcome = await client.callTool(DRAW).then((r) => r, (e) => ({ rejected: e }));
      assert.match(String(outcome.rejected ?? JSON.stringify(outcome)), /Unknown tool: generateImage/);
      assert.ok(!recorder.calls.some((c) => c.status === 403), 'no challenge');
    } finally {
      await client.close().catch(() => {});
    }
  });
});
