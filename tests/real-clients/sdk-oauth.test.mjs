// The official MCP TypeScript SDK client against our server, end to end: discovery from the 401,
// dynamic client registration, authorization code + PKCE through our consent page and the mock
// Clerk (this test plays the browser), token exchange, tools/list, tools/call, refresh, revocation.
// For an admin and a plain user, over Streamable HTTP (/mcp) and legacy HTTP+SSE (/sse).
//
// Environment:
//   MCP_BASE_URL           the app, e.g. http://127.0.0.1:3000
//   MOCK_CLERK_URL         the mock Clerk the app signs in with
//   MCP_EXPECT_IMAGE_TOOL  "1" if an image backend is configured (admins then get generateImage)
//
// Run: node --test sdk-oauth.test.mjs
//
// SSE: the SDK accepts a protected resource only if it is the server URL or a parent path of it,
// so the server's 401 on /sse points at /.well-known/oauth-protected-resource/sse, which names
// `<base>/sse` (an alias of the MCP resource). The SDK runs unmodified on both transports.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { auth, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { BrowserAgent } from './lib/browser-agent.mjs';
import { baseUrl, expectImageTool, mockClerkUrl } from './lib/env.mjs';
import { firstText, postMcp, toolsList } from './lib/mcp-http.mjs';
import { TestOAuthProvider } from './lib/oauth-provider.mjs';
import { recordingFetch } from './lib/recording-fetch.mjs';
import { ADMIN, label, mayGenerateImages, PLAIN } from './lib/users.mjs';

const BASE = baseUrl();

const TRANSPORTS = {
  'streamable-http': {
    url: new URL('/mcp', BASE),
    resource: `${BASE}/mcp`,
    metadataPath: '/.well-known/oauth-protected-resource/mcp',
    make: (url, opts) => new StreamableHTTPClientTransport(url, opts),
    firstRequest: { method: 'POST', path: '/mcp' },
  },
  sse: {
    url: new URL('/sse', BASE),
    resource: `${BASE}/sse`,
    metadataPath: '/.well-known/oauth-protected-resource/sse',
    make: (url, opts) => new SSEClientTransport(url, opts),
    firstRequest: { method: 'GET', path: '/sse' },
  },
};

function newClient() {
  return new Client({ name: 'real-clients-sdk-test', version: '1.0.0' });
}

for (const [kind, transport] of Object.entries(TRANSPORTS)) {
  for (const user of [ADMIN, PLAIN]) {
    describe(`SDK client over ${kind} as ${label(user)}`, () => {
      const recorder = recordingFetch();
      const redirectUrl = `http://127.0.0.1:${40000 + Math.floor(Math.random() * 20000)}/callback`;
      const agent = new BrowserAgent({ appOrigin: BASE, clerkOrigin: mockClerkUrl(), user });
      const provider = new TestOAuthProvider({
        agent,
        redirectUrl,
        clientName: `SDK ${kind} ${label(user)}`,
      });
      const open = [];
      let client;
      let firstTransport; // the transport that got the 401 finishes the authorization, as in an app

      const connect = async () => {
        const c = newClient();
        await c.connect(transport.make(transport.url, { authProvider: provider, fetch: recorder.fetch }));
        open.push(c);
        return c;
      };

      after(async () => {
        for (const c of open) await c.close().catch(() => {});
      });

      it('discovers the authorization server from the 401 and registers dynamically', async () => {
        const c = newClient();
        const t = transport.make(transport.url, { authProvider: provider, fetch: recorder.fetch });
        firstTransport = t;
        await assert.rejects(c.connect(t), (e) => e instanceof UnauthorizedError || /unauthorized/i.test(String(e)));
        await c.close().catch(() => {});

        const [first] = recorder.calls;
        assert.equal(first.method, transport.firstRequest.method);
        assert.equal(first.path, transport.firstRequest.path);
        assert.equal(first.status, 401);
        assert.match(first.wwwAuthenticate ?? '', /^Bearer /);
        assert.match(first.wwwAuthenticate, new RegExp(`resource_metadata="${BASE}${transport.metadataPath}"`));
        assert.match(first.wwwAuthenticate, /scope="mcp:basic mcp:images"/);

        const paths = recorder.calls.map((c) => `${c.method} ${c.path} ${c.status}`);
        assert.ok(paths.includes(`GET ${transport.metadataPath} 200`), paths.join('\n'));
        assert.ok(paths.includes('GET /.well-known/oauth-authorization-server 200'), paths.join('\n'));
        assert.ok(paths.includes('POST /register 201'), paths.join('\n'));
        assert.ok(provider.clientInformation()?.client_id, 'registered client id saved');
      });

      it('authorizes with PKCE S256 through consent and the mock Clerk', async () => {
        const { url, redirect, seen } = provider.lastAuthorization ?? {};
        assert.ok(url, 'the SDK sent the browser to /authorize');
        assert.equal(url.origin + url.pathname, `${BASE}/authorize`);
        assert.equal(url.searchParams.get('response_type'), 'code');
        assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
        assert.ok(url.searchParams.get('code_challenge'));
        assert.equal(url.searchParams.get('resource'), transport.resource);
        assert.equal(url.searchParams.get('client_id'), provider.clientInformation().client_id);
        assert.ok(seen.consentShown, 'a new client sees the consent page');
        assert.ok(provider.authorizationCode, `code in ${redirect}`);
        assert.equal(redirect.searchParams.get('iss'), BASE);
      });

      it('exchanges the code for tokens', async () => {
        await firstTransport.finishAuth(provider.authorizationCode);
        const tokens = provider.tokens();
        assert.ok(tokens?.access_token, 'access token');
        assert.ok(tokens.refresh_token, 'refresh token');
        assert.equal(tokens.token_type.toLowerCase(), 'bearer');
        assert.ok(tokens.expires_in > 0 && tokens.expires_in <= 3600, `expires_in ${tokens.expires_in}`);
      });

      it('lists the tools the role allows', async () => {
        client = await connect();
        const { tools } = await client.listTools();
        const names = tools.map((t) => t.name).sort();
        assert.ok(names.includes('add'), names.join());
        assert.ok(names.includes('userInfo'), names.join());
        const image = expectImageTool() && mayGenerateImages(user);
        assert.equal(names.includes('generateImage'), image, `generateImage listed: ${names.join()}`);
        const add = tools.find((t) => t.name === 'add');
        assert.equal(add.inputSchema.type, 'object');
        assert.ok(add.inputSchema.properties?.a && add.inputSchema.properties?.b, JSON.stringify(add.inputSchema));
      });

      it('calls add', async () => {
        const result = await client.callTool({ name: 'add', arguments: { a: 1, b: 2 } });
        assert.notEqual(result.isError, true, JSON.stringify(result));
        assert.match(firstText(result), /\b3\b/);
      });

      it('calls userInfo and gets the signed-in user', async () => {
        const result = await client.callTool({ name: 'userInfo', arguments: {} });
        assert.notEqual(result.isError, true, JSON.stringify(result));
        const info = JSON.parse(firstText(result));
        assert.equal(info.email, user.email);
        assert.equal(info.role ?? '', user.role, JSON.stringify(info));
        assert.ok(info.userId, JSON.stringify(info));
      });

      it(`generateImage is ${expectImageTool() && mayGenerateImages(user) ? 'callable' : 'not available'}`, async () => {
        const call = client.callTool({ name: 'generateImage', arguments: { prompt: 'a red square', steps: 4 } });
        if (expectImageTool() && mayGenerateImages(user)) {
          const result = await call;
          assert.notEqual(result.isError, true, JSON.stringify(result).slice(0, 400));
          const image = result.content.find((c) => c.type === 'image');
          assert.ok(image?.data && image.mimeType?.startsWith('image/'), JSON.stringify(result).slice(0, 400));
        } else {
          // Either a JSON-RPC error or a tool error: never an image.
          const outcome = await call.then((r) => r, (e) => ({ rejected: e }));
          assert.ok(outcome.rejected || outcome.isError === true, JSON.stringify(outcome).slice(0, 400));
        }
      });

      it('refreshes the token and keeps working with the new one', async () => {
        const before = provider.tokens();
        provider.interactive = false; // a refresh must not need the browser
        assert.equal(await auth(provider, { serverUrl: transport.url, fetchFn: recorder.fetch }), 'AUTHORIZED');
        const after = provider.tokens();
        assert.notEqual(after.access_token, before.access_token, 'new access token');
        assert.ok(after.refresh_token, 'refresh token returned');
        assert.notEqual(after.refresh_token, before.refresh_token, 'refresh token rotated');
        const refreshed = await connect();
        const result = await refreshed.callTool({ name: 'add', arguments: { a: 20, b: 22 } });
        assert.match(firstText(result), /\b42\b/);
      });

      it('a revoked access token gets 401 and a revoked refresh token cannot refresh', async () => {
        const { access_token, refresh_token } = provider.tokens();
        const clientId = provider.clientInformation().client_id;
        for (const token of [access_token, refresh_token]) {
          const response = await fetch(`${BASE}/revoke`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ token, client_id: clientId }),
          });
          assert.equal(response.status, 200, await response.text());
        }
        const raw = await postMcp(BASE, access_token, toolsList);
        assert.equal(raw.status, 401);
        assert.match(raw.headers.get('www-authenticate') ?? '', /invalid_token/);

        // The SDK client on its stored (revoked) tokens: its refresh fails, it may not sign in again.
        const sdk = newClient();
        await assert.rejects(
          sdk.connect(transport.make(transport.url, { authProvider: provider, fetch: recorder.fetch })),
        );
        await sdk.close().catch(() => {});
        const refresh = await fetch(`${BASE}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token, client_id: clientId }),
        });
        assert.equal(refresh.status, 400);
        assert.equal((await refresh.json()).error, 'invalid_grant');
      });
    });
  }
}

describe('SDK SSE client without a resource override', () => {
  it(
    'accepts the protected resource metadata for /sse',
    async () => {
      const agent = new BrowserAgent({ appOrigin: BASE, clerkOrigin: mockClerkUrl(), user: ADMIN });
      const provider = new TestOAuthProvider({ agent, redirectUrl: 'http://127.0.0.1:45999/callback' });
      const client = newClient();
      const sse = TRANSPORTS.sse;
      const outcome = await client.connect(sse.make(sse.url, { authProvider: provider })).then(
        () => undefined,
        (e) => e,
      );
      await client.close().catch(() => {});
      assert.ok(outcome === undefined || outcome instanceof UnauthorizedError, String(outcome));
      assert.ok(provider.lastAuthorization, 'the SDK went on to authorize');
    },
  );
});
