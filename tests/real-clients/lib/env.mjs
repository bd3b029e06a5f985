// Where the tests find the system under test. Every test file reads its targets from here.
//
//   MCP_BASE_URL    the app's origin, e.g. http://127.0.0.1:3000 (no trailing slash needed)
//   MOCK_CLERK_URL  the mock Clerk's base URL (its Frontend API origin and control endpoints)
//   MCP_TOKEN       a valid bearer token for /mcp (inspector and conformance tests only);
//                   when unset they obtain one through the development sign-in as the admin
//   MCP_EXPECT_IMAGE_TOOL  "1" when the app runs with an image backend, so admins must see
//                   generateImage; otherwise the tool must be absent for everyone.

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set; see tests/real-clients/README.md`);
  }
  return value.replace(/\/+$/, '');
}

export function baseUrl() {
  return required('MCP_BASE_URL');
}

export function mockClerkUrl() {
  return required('MOCK_CLERK_URL');
}

export function expectImageTool() {
  return process.env.MCP_EXPECT_IMAGE_TOOL === '1';
}

/** The same app reached through the other loopback name (localhost <-> 127.0.0.1). */
export function otherLoopbackName(url) {
  const parsed = new URL(url);
  if (parsed.hostname === 'localhost') parsed.hostname = '127.0.0.1';
  else if (parsed.hostname === '127.0.0.1') parsed.hostname = 'localhost';
  else return undefined;
  return parsed.origin;
}
