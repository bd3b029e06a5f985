// A real browser (headless Chromium via playwright-core) goes through our consent page and the
// mock Clerk's development sign-in, for a client registered with a loopback redirect URI that a
// tiny HTTP server in this test listens on. Proves what plain HTTP clients do not check: that the
// `__Host-` / Secure / SameSite cookies work in a real browser on http://localhost and
// http://127.0.0.1. Checks: consent page content (client name, redirect host, loopback warning),
// Approve -> sign-in -> redirect with code/state/iss (and the code redeems), the remembered
// approval skipping the page on a second run, another person signing in on the same browser
// getting the consent page after sign-in (naming them) and coming back with a code, and Deny ->
// our own "Access denied" page, never a redirect to the client.
//
// Environment:
//   MCP_BASE_URL    the app, e.g. http://127.0.0.1:3000 (also run on the other loopback name)
//   MOCK_CLERK_URL  the mock Clerk the app signs in with
//   CHROMIUM_PATH   the browser (default /usr/bin/chromium, Debian's `chromium` package)
//   SCREENSHOT_DIR  where the consent page screenshots go (default /tmp)
//
// Run: node --test browser-consent.test.mjs

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { SCREENSHOTS, launchBrowser, startRedirectTarget } from './lib/chromium.mjs';
import { baseUrl, mockClerkUrl, otherLoopbackName } from './lib/env.mjs';
import { signInWithBrowser } from './lib/mock-clerk.mjs';
import { authorizeUrl, exchangeCode, pkce, registerClient } from './lib/oauth-client.mjs';
import { ADMIN, PLAIN } from './lib/users.mjs';

const APPROVE = /approve|allow/i;
const DENY = /deny|cancel/i;

const origins = [baseUrl(), otherLoopbackName(baseUrl())].filter(Boolean);

for (const origin of origins) {
  const host = new URL(origin).hostname;

  describe(`real browser consent on ${origin}`, () => {
    let target;
    let browser;
    let context;
    let client;

    before(async () => {
      target = await startRedirectTarget();
      browser = await launchBrowser();
      context = browser.context;
      client = await registerClient(origin, { name: `Browser Test Client <${host}>`, redirectUri: target.redirectUri });
    });

    after(async () => {
      await browser?.close();
      await target?.close();
    });

    /**
     * Opens a fresh authorization in the browser; returns the page and what it saw on the way:
     * whether our consent page (a 200 HTML answer from GET /authorize) was shown.
     */
    async function openAuthorization() {
      const state = randomBytes(12).toString('base64url');
      const { verifier, challenge } = pkce();
      const page = await context.newPage();
      const consentPages = [];
      page.on('response', (r) => {
        const u = new URL(r.url());
        if (u.origin === origin && u.pathname === '/authorize' && r.request().method() === 'GET' && r.status() === 200) {
          consentPages.push(u);
        }
      });
      await page.goto(authorizeUrl(origin, { clientId: client.client_id, redirectUri: target.redirectUri, challenge, state }));
      return { page, state, verifier, consentPages };
    }

    async function finishAtClient(page, user = PLAIN) {
      const atClient = (u) => u.href.startsWith(target.redirectUri);
      if (!atClient(new URL(page.url())) && new URL(page.url()).origin === new URL(mockClerkUrl()).origin) {
        await signInWithBrowser(page, user);
      }
      await page.waitForURL(atClient, { timeout: 15_000 });
      return new URL(page.url());
    }

    it('shows the consent page, approves, signs in and returns with code, state and iss', async () => {
      const { page, state, verifier, consentPages } = await openAuthorization();
      assert.equal(consentPages.length, 1, 'consent page shown');
      const text = await page.locator('body').innerText();
      assert.ok(text.includes(`Browser Test Client <${host}>`), `client name shown (escaped): ${text}`);
      assert.ok(text.includes('127.0.0.1'), `redirect host shown: ${text}`);
      assert.match(text, /your own computer|loopback/i, `loopback warning: ${text}`);
      await page.screenshot({ path: join(SCREENSHOTS, `consent-${host}.png`), fullPage: true });

      await page.getByRole('button', { name: APPROVE }).click();
      await page.waitForLoadState('domcontentloaded');
      const back = await finishAtClient(page);

      assert.equal(back.searchParams.get('state'), state);
      assert.equal(back.searchParams.get('iss'), origin);
      const code = back.searchParams.get('code');
      assert.ok(code, `code in ${back}`);
      const token = await exchangeCode(origin, { code, clientId: client.client_id, redirectUri: target.redirectUri, verifier });
      assert.equal(token.status, 200, JSON.stringify(token.body));
      assert.ok(token.body.access_token);

      const cookies = await context.cookies(origin);
      const approval = cookies.filter((c) => c.name.startsWith('__Host-'));
      assert.ok(approval.length > 0, `a __Host- cookie was kept: ${cookies.map((c) => c.name)}`);
      for (const c of approval) {
        assert.equal(c.secure, true, `${c.name} Secure`);
        assert.equal(c.httpOnly, true, `${c.name} HttpOnly`);
        assert.equal(c.path, '/', `${c.name} Path=/`);
        assert.ok(['Lax', 'Strict'].includes(c.sameSite), `${c.name} SameSite=${c.sameSite}`);
      }
      await page.close();
    });

    it('remembers the approval: a second authorization skips the consent page', async () => {
      const { page, state, consentPages } = await openAuthorization();
      const back = await finishAtClient(page);
      assert.equal(consentPages.length, 0, 'no consent page the second time');
      assert.equal(back.searchParams.get('state'), state);
      assert.ok(back.searchParams.get('code'), `code in ${back}`);
      await page.close();
    });

    it('asks another person signing in on this browser, after sign-in, naming them', async () => {
      const { page, state, consentPages } = await openAuthorization();
      assert.equal(consentPages.length, 0, 'the browser remembers the approval: straight to Clerk');
      await signInWithBrowser(page, ADMIN);
      await page.getByText(`You are signed in as ${ADMIN.email}`).waitFor({ timeout: 15_000 });
      await page.screenshot({ path: join(SCREENSHOTS, `consent-after-sign-in-${host}.png`), fullPage: true });
      await page.getByRole('button', { name: APPROVE }).click();
      const back = await finishAtClient(page, ADMIN);
      assert.equal(back.searchParams.get('state'), state);
      assert.ok(back.searchParams.get('code'), `code in ${back}`);
      await page.close();
    });

    it('Deny shows our own page and sends nothing to the client', async () => {
      // A client this browser never approved, so the consent page shows again.
      client = await registerClient(origin, { name: 'Client To Deny', redirectUri: target.redirectUri });
      const hitsBefore = target.hits.length;
      const { page, consentPages } = await openAuthorization();
      assert.equal(consentPages.length, 1, 'consent page shown for a new client');
      await page.getByRole('button', { name: DENY }).click();
      await page.getByRole('heading', { name: 'Access denied' }).waitFor({ timeout: 15_000 });
      assert.equal(new URL(page.url()).origin, origin, `still on this server: ${page.url()}`);
      assert.equal(target.hits.length, hitsBefore, 'the client was not sent anything');
      await page.close();
    });
  });
}
