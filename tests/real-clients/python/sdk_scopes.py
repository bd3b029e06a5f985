"""Step-up authorization with the official MCP Python SDK (mcp 2.3.0).

An admin's app connected earlier with the narrow scope `mcp:basic` and kept its tokens (the
SDK's token storage, preloaded here by a sign-in this script does with `scope=mcp:basic`, as an
app choosing its scope would). Its SDK client lists the tools, calls `add`, then calls
`generateImage`: the server answers `403 insufficient_scope`, the SDK re-authorizes with the
union of scopes (the browser, played by this script, signs in at the mock Clerk's development page
and approves only the image scope on the consent page shown after sign-in), retries, and gets the
image. A plain user is never challenged and does not see the tool.

Environment: MCP_BASE_URL, MOCK_CLERK_URL (the app must have an image backend).
Run: tests/real-clients/.venv/bin/python tests/real-clients/python/sdk_scopes.py
Exit status 0 when every check passed.
"""

import asyncio
import base64
import hashlib
import html
import os
import re
import secrets
import sys
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urljoin, urlparse

import httpx2
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

BASE = os.environ["MCP_BASE_URL"].rstrip("/")
CLERK = os.environ["MOCK_CLERK_URL"].rstrip("/")
MCP = f"{BASE}/mcp"
ADMIN = {"email": "admin@example.com", "role": "admin"}
PLAIN = {"email": "user@example.com", "role": ""}


class Forms(HTMLParser):
    """The forms of a page: action, method, fields (hidden inputs, selects' first or selected
    option) and submit buttons."""

    def __init__(self):
        super().__init__()
        self.forms, self._select = [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get").lower(),
                               "fields": [], "buttons": []})
        elif not self.forms:
            return
        elif tag == "input" and a.get("type", "text") in ("hidden", "text", "email"):
            self.forms[-1]["fields"].append((a.get("name"), a.get("value", "")))
        elif tag in ("button",) or (tag == "input" and a.get("type") == "submit"):
            self.forms[-1]["buttons"].append((a.get("name"), a.get("value", "")))
        elif tag == "select":
            self._select = {"name": a.get("name"), "value": None}
        elif tag == "option" and self._select is not None:
            if self._select["value"] is None or "selected" in a:
                self._select["value"] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None and self.forms:
            self.forms[-1]["fields"].append((self._select["name"], self._select["value"] or ""))
            self._select = None


def text_of(page):
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


class Browser:
    """A user's browser: keeps cookies per host (Secure ones too, as browsers do on loopback),
    follows redirects by hand, approves our consent pages, signs in on the mock Clerk's page."""

    def __init__(self, user):
        self.user, self.cookies, self.consent_pages = user, {}, []
        self.http = httpx2.Client(follow_redirects=False, timeout=30)

    def _send(self, method, url, data=None):
        host = urlparse(url).hostname
        jar = self.cookies.setdefault(host, {})
        headers = {"accept": "text/html"}
        if jar:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        if data is not None:
            headers["origin"] = f"{urlparse(url).scheme}://{urlparse(url).netloc}"
        response = self.http.request(method, url, data=data, headers=headers)
        for line in response.headers.get_list("set-cookie"):
            name, _, rest = line.partition("=")
            value = rest.split(";", 1)[0]
            if "max-age=0" in line.lower() or not value:
                jar.pop(name, None)
            else:
                jar[name] = value
        return response

    def authorize(self, url, redirect_uri):
        """Drives an authorization from `url` to the redirect to `redirect_uri`; its query."""
        method, data = "GET", None
        for _ in range(20):
            if url.startswith(redirect_uri):
                return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
            response = self._send(method, url, data)
            if response.status_code in (302, 303) and "location" in response.headers:
                method, data, url = "GET", None, urljoin(url, response.headers["location"])
                continue
            assert response.status_code == 200, f"{method} {url} -> {response.status_code}: {response.text[:300]}"
            method, url, data = self._next_form(url, response.text)
        raise AssertionError(f"no redirect to {redirect_uri}")

    def _next_form(self, url, page):
        forms = Forms()
        forms.feed(page)
        if url.startswith(BASE):
            self.consent_pages.append(text_of(page))
            form = next(f for f in forms.forms if ("decision", "approve") in f["buttons"])
            data = dict(form["fields"]) | {"decision": "approve"}
        else:
            form = next(f for f in forms.forms if any(n == "email" for n, _ in f["fields"]))
            data = dict(form["fields"]) | {"email": self.user["email"], "role": self.user["role"]}
            for name, value in form["buttons"][:1]:
                if name:
                    data[name] = value
        action = urljoin(url, form["action"] or url)
        if form["method"] == "post":
            return "POST", action, data
        return "GET", f"{action}{'&' if '?' in action else '?'}{urlencode(data)}", None


class Storage:
    def __init__(self, tokens=None, client=None):
        self.tokens, self.client = tokens, client

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, client_info):
        self.client = client_info


def narrow_sign_in(browser, redirect_uri, scope):
    """What an app that chose `scope` did earlier: register, authorize, redeem. Its client and tokens."""
    http = httpx2.Client(timeout=30)
    registration = http.post(f"{BASE}/register", json={
        "client_name": "Python SDK step-up test", "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
        "token_endpoint_auth_method": "none"})
    assert registration.status_code == 201, registration.text
    client_id = registration.json()["client_id"]
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
                       "state": "s", "code_challenge": challenge, "code_challenge_method": "S256",
                       "scope": scope, "resource": MCP})
    code = browser.authorize(f"{BASE}/authorize?{query}", redirect_uri)["code"]
    tokens = http.post(f"{BASE}/token", data={"grant_type": "authorization_code", "code": code,
                                               "redirect_uri": redirect_uri, "code_verifier": verifier,
                                               "client_id": client_id, "resource": MCP})
    assert tokens.status_code == 200, tokens.text
    issuer = http.get(f"{BASE}/.well-known/oauth-authorization-server").json()["issuer"]
    client = OAuthClientInformationFull.model_validate(registration.json() | {"issuer": issuer})
    return client, OAuthToken.model_validate(tokens.json())


def provider_for(user):
    """An SDK OAuth provider whose storage holds a `mcp:basic` sign-in of `user`, and its browser."""
    browser = Browser(user)
    redirect_uri = f"http://127.0.0.1:{40000 + secrets.randbelow(20000)}/callback"
    client, tokens = narrow_sign_in(browser, redirect_uri, "mcp:basic")
    assert tokens.scope == "mcp:basic", tokens.scope
    pending = {}

    async def redirect_handler(url):
        pending["url"] = url
        pending["result"] = browser.authorize(url, redirect_uri)

    async def callback_handler():
        result = pending["result"]
        return AuthorizationCodeResult(code=result["code"], state=result.get("state"), iss=result.get("iss"))

    metadata = OAuthClientMetadata(client_name="Python SDK step-up test", redirect_uris=[redirect_uri],
                                   grant_types=["authorization_code", "refresh_token"],
                                   response_types=["code"], token_endpoint_auth_method="none")
    provider = OAuthClientProvider(server_url=MCP, client_metadata=metadata, storage=Storage(tokens, client),
                                   redirect_handler=redirect_handler, callback_handler=callback_handler)
    return provider, browser, pending


class Recorder:
    """The status and WWW-Authenticate of every response the SDK's HTTP client got, and the
    `Mcp-Name` of the request that was challenged."""

    def __init__(self):
        self.seen, self.challenged_name = [], None

    async def __call__(self, response):
        self.seen.append((response.status_code, response.headers.get("www-authenticate", "")))
        if response.status_code == 403:
            self.challenged_name = response.request.headers.get("mcp-name")


async def step_up_as_admin():
    provider, browser, pending = provider_for(ADMIN)
    recorder = Recorder()
    async with httpx2.AsyncClient(auth=provider, timeout=60, event_hooks={"response": [recorder]}) as http:
        async with Client(streamable_http_client(MCP, http_client=http)) as client:
            listed = {t.name: t.description or "" for t in (await client.list_tools()).tools}
            assert "Needs the `mcp:images` scope" in listed.get("generateImage", ""), listed
            added = await client.call_tool("add", {"a": 1, "b": 2})
            assert "3" in added.content[0].text, added
            assert "url" not in pending, "no authorization before the image call"
            image = await client.call_tool("generateImage", {"prompt": "a red square", "steps": 4})
            assert not image.is_error, image
            assert any(c.type == "image" for c in image.content), image
    challenges = [h for status, h in recorder.seen if status == 403]
    assert challenges and 'error="insufficient_scope"' in challenges[0], recorder.seen
    assert 'scope="mcp:basic mcp:images"' in challenges[0], challenges[0]
    assert recorder.challenged_name == "generateImage", "the SDK named the tool in Mcp-Name"
    asked = parse_qs(urlparse(pending["url"]).query)["scope"][0].split()
    assert set(asked) == {"mcp:basic", "mcp:images"}, asked
    assert "You approved this app before; it now asks for more" in browser.consent_pages[-1], browser.consent_pages
    assert provider.context.current_tokens.scope == "mcp:basic mcp:images", provider.context.current_tokens
    print("ok - the Python SDK steps up from mcp:basic to mcp:images as an admin")


async def plain_user_is_not_challenged():
    provider, _, pending = provider_for(PLAIN)
    recorder = Recorder()
    async with httpx2.AsyncClient(auth=provider, timeout=60, event_hooks={"response": [recorder]}) as http:
        async with Client(streamable_http_client(MCP, http_client=http)) as client:
            names = sorted(t.name for t in (await client.list_tools()).tools)
            assert names == ["add", "userInfo"], names
            try:
                outcome = await client.call_tool("generateImage", {"prompt": "x", "steps": 4})
                assert outcome.is_error, outcome
            except Exception as error:  # a JSON-RPC error: unknown tool
                assert "generateImage" in str(error), error
    assert not any(status == 403 for status, _ in recorder.seen), recorder.seen
    assert "url" not in pending, "no new authorization"
    print("ok - a plain user is not challenged and does not see generateImage")


async def main():
    await step_up_as_admin()
    await plain_user_is_not_challenged()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except AssertionError as error:
        print(f"not ok - {error}", file=sys.stderr)
        raise
