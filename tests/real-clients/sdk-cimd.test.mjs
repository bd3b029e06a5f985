// The official MCP TypeScript SDK client as a Client ID Metadata Document client: the server
// advertises `client_id_metadata_document_supported`, so the SDK (given `clientMetadataUrl`)
// uses the document's https URL as its client_id and never registers; the server fetches the
// document (served by the Rust test over https with a test CA), names it by the host it was fetched from on the
// consent page, and the SDK signs in, calls tools, refreshes and revokes.
//
// Environment:
//   MCP_BASE_URL               the app, e.g. http://127.0.0.1:3000
//   MOCK_CLERK_URL             the mock Clerk the app signs in with
//   CIMD_CLIENT_METADATA_URL   the document's URL; it lists http://127.0.0.1/callback (any port)
//
// Run: node --test sdk-cimd.test.mjs

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { auth, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { BrowserAgent } from './lib/browser-agent.mjs';
import { baseUrl, mockClerkUrl } from './lib/env.mjs';
import { firstText } from './lib/mcp-http.mjs';
import { TestOAuthProvider } from './lib/oauth-provider.mjs';
import { recordingFetch } from './lib/recording-fetch.mjs';
import { ADMIN } from './lib/users.mjs';

const BASE = baseUrl();
const DOCUMENT_URL = process.env.CIMD_CLIENT_METADATA_URL;
const MCP_URL = new URL('/mcp', BASE);

describe('SDK client with a Client ID Metadata Document', () => {
  assert.ok(DOCUMENT_URL, 'CIMD_CLIENT_METADATA_URL is not set (run through tests/e2e/tests/real_clients.rs)');
  const recorder = recordingFetch();
  const redirectUrl = `http://127.0.0.1:${40000 + Math.floor(Math.random() * 20000)}/callback`;
  const agent = new BrowserAgent({ appOrigin: BASE, clerkOrigin: mockClerkUrl(), user: ADMIN });
  const provider = new TestOAuthProvider({ agent, redirectUrl, clientMetadataUrl: DOCUMENT_URL });
  const open = [];
  let firstTransport;

  const connect = async () => {
    const client = new Client({ name: 'real-clients-sdk-cimd-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(MCP_URL, { authProvider: provider, fetch: recorder.fetch }));
    open.push(client);
    return client;
  };

  after(async () => {
    for (const client of open) await client.close().catch(() => {});
  });

  it('uses the document URL as its client_id instead of registering', async () => {
    const client = new Client({ name: 'real-clients-sdk-cimd-test', version: '1.0.0' });
    firstTransport = new StreamableHTTPClientTransport(MCP_URL, { authProvider: provider, fetch: recorder.fetch });
    await assert.rejects(client.connect(firstTransport), (e) => e instanceof UnauthorizedError || /unauthorized/i.test(String(e)));
    await client.close().catch(() => {});
    const calls = recorder.calls.map((c) => `${c.method} ${c.path} ${c.status}`);
    assert.ok(calls.includes('GET /.well-known/oauth-authorization-server 200'), calls.join('\n'));
    assert.ok(!calls.some((c) => c.startsWith('POST /register')), `no registration:\n${calls.join('\n')}`);
    assert.equal(provider.clientInformation()?.client_id, DOCUMENT_URL);
  });

  it("shows the host the document was fetched from on the consent page and gets a code", () => {
    const { url, redirect, seen } = provider.lastAuthorization ?? {};
    assert.ok(url, 'the SDK sent the browser to /authorize');
    assert.equal(url.searchParams.get('client_id'), DOCUMENT_URL);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(seen.consentShown, 'the consent page was shown');
    const host = new URL(DOCUMENT_URL).host;
    assert.match(seen.consentText, new RegExp(`${host} fetched from ${host} wants to use`), seen.consentText);
    assert.doesNotMatch(seen.consentText, /verified/i, 'no more than the server knows');
    assert.ok(provider.authorizationCode, `code in ${redirect}`);
    assert.equal(redirect.searchParams.get('iss'), BASE);
  });

  it('exchanges the code, lists and calls tools', async () => {
    await firstTransport.finishAuth(provider.authorizationCode);
    assert.ok(provider.tokens()?.access_token, 'access token');
    const client = await connect();
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === 'add'), tools.map((t) => t.name).join());
    const sum = await client.callTool({ name: 'add', arguments: { a: 40, b: 2 } });
    assert.match(firstText(sum), /\b42\b/);
    const info = JSON.parse(firstText(await client.callTool({ name: 'userInfo', arguments: {} })));
    assert.equal(info.email, ADMIN.email);
  });

  it('refreshes and revokes as a public client', async () => {
    const before = provider.tokens();
    provider.interactive = false;
    assert.equal(await auth(provider, { serverUrl: MCP_URL, fetchFn: recorder.fetch }), 'AUTHORIZED');
    assert.notEqual(provider.tokens().access_token, before.access_token, 'new access token');
    const revoked = await fetch(`${BASE}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: provider.tokens().refresh_token, client_id: DOCUMENT_URL }),
    });
    assert.equal(revoked.status, 200, await revoked.text());
  });
});
