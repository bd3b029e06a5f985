// A real browser (headless Chromium via playwright-core) on the connected-apps page: it approves
// two MCP clients (consent page + the mock Clerk's development sign-in), opens /apps, presses its
// Sign in button (a form post: GET /apps stores nothing), signs in through the same Clerk
// sign-in, sees both clients, clicks Revoke on one and sees it gone (the "Access revoked" notice
// once, for this session only);
// the revoked client's token is then refused at /mcp while the other's works; Sign out ends the
// page's session. Proves in a real browser what the Rust end-to-end tests check over plain HTTP:
// the page's __Host- session cookie, its forms (CSRF token, SameSite=Lax, CSP form-action) and
// the sign-in that comes back to /apps.
// Then an app approved twice (two registrations with one name and redirect host) is shown once
// with its two connections, and "Revoke all" ends both; and an operator (role admin, in the app's
// admin_roles) signs in with another browser, opens the operator console from /apps, sees the
// user's connection, blocks its client (its token is refused at /mcp at once) and unblocks it.
//
// Environment: MCP_BASE_URL, MOCK_CLERK_URL, CHROMIUM_PATH, SCREENSHOT_DIR (see browser-consent).
// Run: node --test browser-apps.test.mjs

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { SCREENSHOTS, launchBrowser, startRedirectTarget } from './lib/chromium.mjs';
import { baseUrl, mockClerkUrl } from './lib/env.mjs';
import { postMcp, toolsList } from './lib/mcp-http.mjs';
import { signInWithBrowser } from './lib/mock-clerk.mjs';
import { authorizeUrl, exchangeCode, pkce, registerClient } from './lib/oauth-client.mjs';
import { ADMIN, PLAIN } from './lib/users.mjs';

const origin = baseUrl();
const atClerk = (url) => new URL(url).origin === new URL(mockClerkUrl()).origin;

describe(`connected apps in a real browser on ${origin}`, () => {
  let target;
  let browser;
  let context;
  const apps = [];

  before(async () => {
    target = await startRedirectTarget();
    browser = await launchBrowser();
    context = browser.context;
  });

  after(async () => {
    await browser?.close();
    await target?.close();
  });

  /** Approves a new client named `name` in the browser and redeems its code: its tokens. */
  async function approveClient(name) {
    const client = await registerClient(origin, { name, redirectUri: target.redirectUri });
    const { verifier, challenge } = pkce();
    const state = randomBytes(12).toString('base64url');
    const page = await context.newPage();
    await page.goto(authorizeUrl(origin, { clientId: client.client_id, redirectUri: target.redirectUri, challenge, state }));
    await page.getByRole('button', { name: /approve/i }).click();
    await page.waitForURL((u) => atClerk(u) || u.href.startsWith(target.redirectUri), { timeout: 15_000 });
    if (atClerk(page.url())) await signInWithBrowser(page, PLAIN);
    await page.waitForURL((u) => u.href.startsWith(target.redirectUri), { timeout: 15_000 });
    const code = new URL(page.url()).searchParams.get('code');
    await page.close();
    const token = await exchangeCode(origin, { code, clientId: client.client_id, redirectUri: target.redirectUri, verifier });
    assert.equal(token.status, 200, JSON.stringify(token.body));
    return { name, client, tokens: token.body };
  }

  it('approves two clients', async () => {
    apps.push(await approveClient('Revoke Me Desktop'));
    apps.push(await approveClient('Keep Me CLI'));
    for (const app of apps) {
      assert.equal((await postMcp(origin, app.tokens.access_token, toolsList)).status, 200, `${app.name} works`);
    }
  });

  it('signs in at /apps, sees both, revokes one and sees it gone', async () => {
    const page = await context.newPage();
    await page.goto(`${origin}/apps`);
    assert.equal(new URL(page.url()).pathname, '/apps', 'a visit is not sent to Clerk');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => atClerk(u) || u.pathname === '/apps', { timeout: 15_000 });
    if (atClerk(page.url())) await signInWithBrowser(page, PLAIN);
    await page.waitForURL((u) => u.origin === origin && u.pathname === '/apps', { timeout: 15_000 });
    await page.getByRole('list', { name: 'Connected apps' }).waitFor();

    const list = page.getByRole('list', { name: 'Connected apps' });
    for (const app of apps) {
      await list.getByText(app.name, { exact: true }).waitFor();
    }
    assert.match(await page.locator('body').innerText(), new RegExp(PLAIN.email.replace('.', '\\.')), 'signed-in user shown');
    await page.screenshot({ path: join(SCREENSHOTS, 'connected-apps.png'), fullPage: true });

    const cookies = await context.cookies(origin);
    const session = cookies.find((c) => c.name === '__Host-mcp-apps');
    assert.ok(session, `session cookie kept: ${cookies.map((c) => c.name)}`);
    assert.equal(session.secure, true);
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Lax');
    assert.equal(session.path, '/');

    const [revoked, kept] = apps;
    await page.getByRole('button', { name: `Revoke ${revoked.name}` }).click();
    await page.getByRole('status').filter({ hasText: 'Access revoked' }).waitFor({ timeout: 15_000 });
    assert.equal(new URL(page.url()).pathname, '/apps');
    await list.getByText(kept.name, { exact: true }).waitFor();
    assert.equal(await list.getByText(revoked.name, { exact: true }).count(), 0, 'the revoked client is gone');
    await page.screenshot({ path: join(SCREENSHOTS, 'connected-apps-revoked.png'), fullPage: true });
    await page.reload();
    await list.getByText(kept.name, { exact: true }).waitFor();
    assert.equal(await page.getByRole('status').count(), 0, 'the notice is shown once');

    assert.equal((await postMcp(origin, revoked.tokens.access_token, toolsList)).status, 401, 'revoked token refused');
    assert.equal((await postMcp(origin, kept.tokens.access_token, toolsList)).status, 200, 'the other still works');
    await page.close();
  });

  it('shows an app approved twice once, with both connections, and revokes them all at once', async () => {
    const twice = [await approveClient('Twice Approved'), await approveClient('Twice Approved')];
    const page = await context.newPage();
    await page.goto(`${origin}/apps`);
    const list = page.getByRole('list', { name: 'Connected apps' });
    await list.waitFor();
    assert.equal(await list.getByText('Twice Approved', { exact: true }).count(), 1, 'the app is shown once');
    const connections = page.getByRole('list', { name: 'Connections of Twice Approved' });
    assert.equal(await connections.getByRole('listitem').count(), 2, 'with its two connections');
    assert.match(await list.innerText(), /Approved 2 times/);
    await page.screenshot({ path: join(SCREENSHOTS, 'connected-apps-grouped.png'), fullPage: true });
    await page.getByRole('button', { name: 'Revoke all connections of Twice Approved' }).click();
    await page.getByRole('status').filter({ hasText: 'Access revoked' }).waitFor({ timeout: 15_000 });
    assert.equal(await list.getByText('Twice Approved', { exact: true }).count(), 0, 'both are gone');
    for (const app of twice) {
      assert.equal((await postMcp(origin, app.tokens.access_token, toolsList)).status, 401, 'each token is refused');
    }
    await page.close();
  });

  it('lets an operator block a client from the console and unblock it', async () => {
    const [, kept] = apps;
    const operator = await launchBrowser();
    try {
      const page = await operator.context.newPage();
      await page.goto(`${origin}/apps`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL((u) => atClerk(u) || u.pathname === '/apps', { timeout: 15_000 });
      if (atClerk(page.url())) await signInWithBrowser(page, ADMIN);
      await page.waitForURL((u) => u.origin === origin && u.pathname === '/apps', { timeout: 15_000 });
      await page.getByRole('link', { name: 'Operator console' }).click();
      await page.getByRole('heading', { name: 'Operator console' }).waitFor();
      const table = page.getByRole('table', { name: 'Connections' });
      const row = table.getByRole('row').filter({ hasText: kept.name });
      await row.waitFor();
      assert.match(await row.innerText(), new RegExp(PLAIN.email.replace('.', '\\.')), "the user's email is shown");
      await page.screenshot({ path: join(SCREENSHOTS, 'operator-console.png'), fullPage: true });

      await row.getByRole('button', { name: 'Block client' }).click();
      const blocked = page.getByRole('table', { name: 'Blocked clients' });
      await blocked.getByText(kept.client.client_id).waitFor({ timeout: 15_000 });
      assert.equal((await postMcp(origin, kept.tokens.access_token, toolsList)).status, 401, 'its token stops at once');

      await blocked.getByRole('button', { name: 'Unblock' }).click();
      await page.getByText('No client is blocked.').waitFor({ timeout: 15_000 });
      await page.close();
    } finally {
      await operator.close();
    }
  });

  it('signs out', async () => {
    const page = await context.newPage();
    await page.goto(`${origin}/apps`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Signed out' }).waitFor();
    const cookies = await context.cookies(origin);
    assert.equal(cookies.find((c) => c.name === '__Host-mcp-apps'), undefined, 'the session cookie is cleared');
    await page.close();
  });
});
