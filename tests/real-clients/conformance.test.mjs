// The MCP conformance suite (@modelcontextprotocol/conformance) server scenarios that apply to
// this server (a tools-only server with add/userInfo; see CONFORMANCE.md for the full list and
// why the others do not apply), run against the app with a valid bearer token.
//
// The suite's CLI connects without credentials, so it talks to a small local proxy that adds
// `Authorization: Bearer $MCP_TOKEN` and is otherwise transparent (lib/bearer-proxy.mjs).
//
// Version 0.1.13 is pinned: 0.1.14+ import `fs.globSync`, which needs Node 22 (CI runs Node 20).
//
// Environment:
//   MCP_BASE_URL  the app, e.g. http://127.0.0.1:3000
//   MCP_TOKEN     a valid bearer token for the app's /mcp resource; when unset, one is obtained
//                 through the development sign-in (then MOCK_CLERK_URL is needed too)
//
// Run: node --test conformance.test.mjs

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { startBearerProxy } from './lib/bearer-proxy.mjs';
import { baseUrl } from './lib/env.mjs';
import { bearerTokenForTests } from './lib/token.mjs';
import { binPath, runNode } from './lib/run.mjs';

const CONFORMANCE = binPath('@modelcontextprotocol/conformance', 'conformance');

/** Scenarios that apply to a tools-only server; keep in sync with CONFORMANCE.md. */
const APPLICABLE = ['server-initialize', 'ping', 'tools-list', 'dns-rebinding-protection'];

async function runScenario(url, scenario) {
  const outputDir = mkdtempSync(join(tmpdir(), `conformance-${scenario}-`));
  const run = await runNode(CONFORMANCE, ['server', '--url', url, '--scenario', scenario, '-o', outputDir], {
    timeoutMs: 90_000,
  });
  const [resultDir] = readdirSync(outputDir);
  const checks = resultDir ? JSON.parse(readFileSync(join(outputDir, resultDir, 'checks.json'), 'utf8')) : [];
  return { run, checks };
}

describe('MCP conformance suite, server scenarios', () => {
  let proxy;

  before(async () => {
    proxy = await startBearerProxy(baseUrl(), await bearerTokenForTests());
  });

  after(async () => {
    await proxy?.close();
  });

  for (const scenario of APPLICABLE) {
    it(scenario, async (t) => {
      const { run, checks } = await runScenario(`${proxy.origin}/mcp`, scenario);
      const failures = checks.filter((c) => c.status === 'FAILURE');
      for (const c of checks.filter((c) => c.status === 'WARNING')) {
        t.diagnostic(`warning ${c.id}: ${c.errorMessage ?? c.description}`);
      }
      assert.deepEqual(
        failures.map((c) => `${c.id}: ${c.errorMessage}`),
        [],
        `conformance failures\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-2000)}`,
      );
      assert.ok(checks.some((c) => c.status === 'SUCCESS'), `no successful check\n${run.stdout.slice(-3000)}`);
      assert.equal(run.code, 0, `conformance exited ${run.code}\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-2000)}`);
    });
  }
});
