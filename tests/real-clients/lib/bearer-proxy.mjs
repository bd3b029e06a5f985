// A transparent local proxy in front of the app that adds `Authorization: Bearer <token>` to every
// request. The conformance suite's server scenarios connect without credentials (its CLI has no
// header option), so they reach our authenticated /mcp through this proxy.
//
// The proxy is invisible to origin checks: a Host or Origin naming the proxy is rewritten to the
// app's; any other Host or Origin (e.g. an attacker's in a DNS-rebinding test) passes unchanged.

import http from 'node:http';

export async function startBearerProxy(targetBase, token) {
  const target = new URL(targetBase);
  let proxyOrigin;
  const server = http.createServer((req, res) => {
    const headers = { ...req.headers, authorization: `Bearer ${token}` };
    if (`http://${headers.host}` === proxyOrigin) headers.host = target.host;
    if (headers.origin === proxyOrigin) headers.origin = target.origin;
    const upstream = http.request(
      { hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (e) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy error: ${e.message}`);
    });
    req.pipe(upstream);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxyOrigin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin: proxyOrigin,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
