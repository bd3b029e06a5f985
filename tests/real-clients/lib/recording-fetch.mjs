// A fetch that remembers every request and response status, so tests can check the order of
// discovery steps the SDK took (401 -> resource metadata -> AS metadata -> registration).

export function recordingFetch() {
  const calls = [];
  const wrapped = async (input, init = {}) => {
    const url = typeof input === 'string' || input instanceof URL ? String(input) : input.url;
    const method = (init.method ?? (typeof input === 'object' && 'method' in input ? input.method : 'GET')).toUpperCase();
    const response = await fetch(input, init);
    calls.push({
      method,
      url,
      path: new URL(url).pathname,
      status: response.status,
      wwwAuthenticate: response.headers.get('www-authenticate'),
    });
    return response;
  };
  return { fetch: wrapped, calls };
}
