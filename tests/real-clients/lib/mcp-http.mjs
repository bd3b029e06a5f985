// Raw Streamable HTTP requests, for assertions the SDK hides (exact status codes and headers).

export async function postMcp(baseUrl, token, message, extraHeaders = {}) {
  const headers = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2025-06-18',
    ...extraHeaders,
  };
  if (token) headers.authorization = `Bearer ${token}`;
  return fetch(`${baseUrl}/mcp`, { method: 'POST', headers, body: JSON.stringify(message) });
}

export const toolsList = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };

/** The `text` of the first text content of a tools/call result. */
export function firstText(result) {
  const item = (result.content ?? []).find((c) => c.type === 'text');
  if (!item) throw new Error(`no text content in ${JSON.stringify(result)}`);
  return item.text;
}
