// MCP Inspector in CLI mode (@modelcontextprotocol/inspector --cli) against our server with a
// bearer token: lists the tools and calls `add`, over Streamable HTTP and legacy SSE. Without a
// token it must fail (the server answers 401).
//
// Environment:
//   MCP_BASE_URL  the app, e.g. http://127.0.0.1:3000
//   MCP_TOKEN     a valid bearer token for the app's /mcp resource; when unset, one is obtained
//                 through the development sign-in (then MOCK_CLERK_URL is needed too)
//
// Run: node --test inspector.test.mjs

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';

import { baseUrl } from './lib/env.mjs';
import { bearerTokenForTests } from './lib/token.mjs';
import { binPath, runNode } from './lib/run.mjs';

const BASE = baseUrl();
const INSPECTOR = binPath('@modelcontextprotocol/inspector', 'mcp-inspector');
// The Inspector keeps a server catalog (default ~/.mcp-inspector); keep it out of $HOME.
const CATALOG = join(mkdtempSync(join(tmpdir(), 'inspector-')), 'mcp.json');

let TOKEN;
before(async () => {
  TOKEN = await bearerTokenForTests();
});

function inspector(path, transport, args, token = TOKEN) {
  const auth = token ? ['--header', `Authorization: Bearer ${token}`] : [];
  return runNode(INSPECTOR, ['--cli', `${BASE}${path}`, '--transport', transport, ...auth, ...args], {
    env: { MCP_CATALOG_PATH: CATALOG },
    timeoutMs: 60_000,
  });
}

function parseJson(run) {
  assert.equal(run.code, 0, `inspector exited ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  try {
    return JSON.parse(run.stdout);
  } catch {
    assert.fail(`inspector printed no JSON\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  }
}

for (const [transport, path] of [['http', '/mcp'], ['sse', '/sse']]) {
  describe(`MCP Inspector CLI over ${transport} (${path})`, () => {
    it('lists the tools', async () => {
      const { tools } = parseJson(await inspector(path, transport, ['--method', 'tools/list']));
      const names = tools.map((t) => t.name);
      assert.ok(names.includes('add'), names.join());
      assert.ok(names.includes('userInfo'), names.join());
      for (const tool of tools) {
        assert.ok(tool.description, `${tool.name} has a description`);
        assert.equal(tool.inputSchema?.type, 'object', `${tool.name} input schema`);
      }
    });

    it('calls add', async () => {
      const result = parseJson(
        await inspector(path, transport, ['--method', 'tools/call', '--tool-name', 'add', '--tool-arg', 'a=1', '--tool-arg', 'b=2']),
      );
      assert.notEqual(result.isError, true, JSON.stringify(result));
      const text = result.content.find((c) => c.type === 'text')?.text ?? '';
      assert.match(text, /\b3\b/);
    });

    it('fails without a token', async () => {
      const run = await inspector(path, transport, ['--method', 'tools/list'], null);
      assert.notEqual(run.code, 0, `inspector succeeded without a token: ${run.stdout}`);
    });
  });
}
