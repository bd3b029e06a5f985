// A scripted "browser" made of fetch: keeps cookies, follows redirects by hand
// (`redirect: 'manual'`), submits our consent form and signs in at the mock Clerk, and stops at
// the client's redirect URI without fetching it. The SDK tests use it as the user agent.

import { findButton, formData, parseForms, textOf } from './html.mjs';
import { signInForm } from './mock-clerk.mjs';

const MAX_STEPS = 20;

/** RFC 6265 in miniature: host-only cookies keyed by host name (ports share cookies, as in browsers). */
export class CookieJar {
  #byHost = new Map();

  store(url, response) {
    const host = new URL(url).hostname;
    const jar = this.#byHost.get(host) ?? new Map();
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const lower = attrs.map((a) => a.toLowerCase());
      const path = attrs.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) || '/';
      const expired =
        lower.some((a) => a === 'max-age=0' || /^max-age=-/.test(a)) ||
        lower.some((a) => a.startsWith('expires=') && Date.parse(a.slice(8)) < Date.now());
      if (expired) jar.delete(name);
      else jar.set(name, { value, path, attributes: attrs });
    }
    this.#byHost.set(host, jar);
  }

  header(url) {
    const { hostname, pathname } = new URL(url);
    const jar = this.#byHost.get(hostname);
    if (!jar) return undefined;
    const pairs = [...jar].filter(([, c]) => pathname.startsWith(c.path)).map(([n, c]) => `${n}=${c.value}`);
    return pairs.length ? pairs.join('; ') : undefined;
  }

  /** The cookie named `name` on `host`, with its attributes, for assertions. */
  get(host, name) {
    return this.#byHost.get(host)?.get(name);
  }

  names(host) {
    return [...(this.#byHost.get(host)?.keys() ?? [])];
  }
}

export class BrowserAgent {
  constructor({ appOrigin, clerkOrigin, user }) {
    this.appOrigin = new URL(appOrigin).origin;
    this.clerkOrigin = new URL(clerkOrigin).origin;
    this.user = user; // { email, role }
    this.jar = new CookieJar();
    this.history = []; // [{method, url, status}]
  }

  async request(method, url, body) {
    const headers = { 'user-agent': 'real-clients-test-agent', accept: 'text/html,*/*' };
    const cookie = this.jar.header(url);
    if (cookie) headers.cookie = cookie;
    if (body) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      // Browsers send Origin on form POSTs; servers may check it against CSRF.
      headers.origin = new URL(url).origin;
    }
    const response = await fetch(url, { method, headers, body, redirect: 'manual' });
    this.jar.store(url, response);
    this.history.push({ method, url, status: response.status });
    return response;
  }

  /**
   * Drives the authorization from `authorizationUrl` until a redirect to `redirectUri`.
   * decision: 'approve' | 'deny'. Returns the final redirect as a URL (code/state/iss or error).
   * Also returns what it saw: whether a consent page was shown and its text.
   */
  async authorize(authorizationUrl, { redirectUri, decision = 'approve' }) {
    const seen = { consentShown: false, consentText: '', signInShown: false };
    let method = 'GET';
    let url = String(authorizationUrl);
    let body;
    for (let step = 0; step < MAX_STEPS; step++) {
      if (isRedirectTarget(url, redirectUri)) return { redirect: new URL(url), seen };
      const response = await this.request(method, url, body);
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        [method, url, body] = ['GET', new URL(location, url).href, undefined];
        continue;
      }
      const html = await response.text();
      if (response.status !== 200) {
        throw new Error(`${method} ${url} -> ${response.status}: ${textOf(html).slice(0, 400)}`);
      }
      const next = this.#nextForm(url, html, decision, seen);
      [method, url, body] = next;
    }
    throw new Error(`no redirect to ${redirectUri} after ${MAX_STEPS} steps: ${JSON.stringify(this.history)}`);
  }

  #nextForm(url, html, decision, seen) {
    const origin = new URL(url).origin;
    const forms = parseForms(html);
    if (origin === this.appOrigin) {
      seen.consentShown = true;
      seen.consentText = textOf(html);
      const form = forms.find((f) => findButton(f, /approve|allow/i) && findButton(f, /deny|cancel/i));
      if (!form) throw new Error(`no consent form on ${url}: ${textOf(html).slice(0, 400)}`);
      const button = findButton(form, decision === 'approve' ? /approve|allow/i : /deny|cancel/i);
      return submit(form, url, formData(form, {}, button));
    }
    if (origin === this.clerkOrigin) {
      seen.signInShown = true;
      const { form, data } = signInForm(forms, this.user, url, html);
      return submit(form, url, data);
    }
    throw new Error(`unexpected page ${url}: ${textOf(html).slice(0, 400)}`);
  }
}

function submit(form, pageUrl, data) {
  const action = new URL(form.action || pageUrl, pageUrl);
  if (form.method === 'post') return ['POST', action.href, data.toString()];
  for (const [k, v] of data) action.searchParams.append(k, v);
  return ['GET', action.href, undefined];
}

function isRedirectTarget(url, redirectUri) {
  const target = new URL(redirectUri);
  const candidate = new URL(url);
  return candidate.origin === target.origin && candidate.pathname === target.pathname;
}
