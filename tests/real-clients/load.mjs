// A Node HTTP load client: the client a new user would reach for to try the server (the issue
// that set the speed targets measured with one). Node's own `http` with a keep-alive agent,
// `inFlight` requests outstanding on as many connections, each sent again as soon as its
// answer is read, for `seconds`. Standard library only, so it runs without `npm ci`.
//
//   node load.mjs <url> <in-flight> <seconds> [header: value]... < body
//
// Prints one JSON line: {"requests", "non2xx", "errors", "seconds", "rps", "p50Ms", "p90Ms", "p99Ms", "maxMs"}.

import http from "node:http";

const [url, inFlightText, secondsText, ...headerArgs] = process.argv.slice(2);
if (!url || !inFlightText || !secondsText) {
  console.error("usage: node load.mjs <url> <in-flight> <seconds> [header: value]... < body");
  process.exit(2);
}
const inFlight = Number(inFlightText);
const seconds = Number(secondsText);
const headers = Object.fromEntries(
  headerArgs.map((arg) => {
    const colon = arg.indexOf(":");
    return [arg.slice(0, colon).trim(), arg.slice(colon + 1).trim()];
  }),
);

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const body = Buffer.concat(chunks);
headers["content-length"] = String(body.length);

const agent = new http.Agent({ keepAlive: true, maxSockets: inFlight });
const target = new URL(url);
const method = body.length > 0 ? "POST" : "GET";
const latencies = [];
let requests = 0;
let non2xx = 0;
let errors = 0;

function once() {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const request = http.request(
      { agent, method, host: target.hostname, port: target.port, path: target.pathname + target.search, headers },
      (response) => {
        response.on("data", () => {});
        response.on("end", () => {
          latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
          requests += 1;
          if (response.statusCode < 200 || response.statusCode > 299) non2xx += 1;
          resolve();
        });
      },
    );
    request.on("error", () => {
      errors += 1;
      resolve();
    });
    request.end(body);
  });
}

const started = Date.now();
const deadline = started + seconds * 1000;
async function worker() {
  while (Date.now() < deadline) await once();
}
await Promise.all(Array.from({ length: inFlight }, worker));
const elapsed = (Date.now() - started) / 1000;
agent.destroy();

latencies.sort((a, b) => a - b);
const at = (q) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : 0);
console.log(
  JSON.stringify({ requests, non2xx, errors, seconds: elapsed, rps: requests / elapsed, p50Ms: at(0.5), p90Ms: at(0.9), p99Ms: at(0.99), maxMs: at(1) }),
);
