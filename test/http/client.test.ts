import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { ConnectorError } from 'parallax-edge';
import { createHttpClient, displayUrl, type HttpClientOptions, type RateLimitEvent, type RetryEvent } from 'parallax-edge/http';
import { json, later, startServer, type TestServer } from './server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterEach(() => server.reset());
afterAll(() => server.close());

const NOW = Date.parse('2030-01-01T00:00:00Z');

/** A client on the test server with a fake sleep and clock: waits are recorded, not slept. */
function testClient(options: HttpClientOptions = {}) {
  const sleeps: number[] = [];
  const retries: RetryEvent[] = [];
  const rateLimits: RateLimitEvent[] = [];
  const client = createHttpClient({
    baseUrl: server.origin,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    now: () => NOW,
    random: () => 0.5,
    onRetry: (event) => retries.push(event),
    onRateLimit: (event) => rateLimits.push(event),
    ...options,
  });
  return { client, sleeps, retries, rateLimits };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

async function connectorError(promise: Promise<unknown>): Promise<ConnectorError> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(ConnectorError);
  return error as ConnectorError;
}

describe('requests', () => {
  it('getJson decodes the body of a path appended to baseUrl (its path kept) with query parameters', async () => {
    server.route('/api/v2/items', (_req, res) => json(res, 200, [{ id: 1 }]));
    const client = createHttpClient({ baseUrl: `${server.origin}/api/v2/` });
    expect(await client.getJson('/items', { query: { q: 'a b', per_page: 5, skip: undefined, tag: ['x', 'y'] } })).toEqual([{ id: 1 }]);
    const seen = server.requests[0]!;
    expect(seen.url.searchParams.get('q')).toBe('a b');
    expect(seen.url.searchParams.get('per_page')).toBe('5');
    expect(seen.url.searchParams.has('skip')).toBe(false);
    expect(seen.url.searchParams.getAll('tag')).toEqual(['x', 'y']);
    expect(seen.headers.accept).toBe('application/json');
  });

  it('default headers apply to every request and per-request headers override them', async () => {
    server.route('/h', (_req, res) => json(res, 200, {}));
    const client = createHttpClient({ baseUrl: server.origin, headers: { 'x-app': 'parallax', accept: 'application/vnd.github+json' } });
    await client.getJson('/h', { headers: { 'x-app': 'override' } });
    expect(server.requests[0]!.headers['x-app']).toBe('override');
    expect(server.requests[0]!.headers.accept).toBe('application/vnd.github+json');
  });

  it('the async headers hook and the authorize hook run for every attempt, so a refreshed token is used on retry', async () => {
    server.route('/auth', (req, res, hit) => (hit === 1 ? json(res, 503, {}) : json(res, 200, { auth: req.headers.authorization })));
    let token = 0;
    const seenUrls: string[] = [];
    const { client } = testClient({
      headers: async (url) => {
        seenUrls.push(url.pathname);
        return { authorization: `Bearer t${++token}` };
      },
      authorize: (request) => request.headers.set('x-signature', `sig-${token}`),
    });
    expect(await client.getJson('/auth')).toEqual({ auth: 'Bearer t2' });
    expect(server.requests.map((r) => [r.headers.authorization, r.headers['x-signature']])).toEqual([
      ['Bearer t1', 'sig-1'],
      ['Bearer t2', 'sig-2'],
    ]);
    expect(seenUrls).toEqual(['/auth', '/auth']);
  });

  it('authorize may return a replacement request', async () => {
    server.route('/replace', (req, res) => json(res, 200, { key: req.headers['x-api-key'] }));
    const client = createHttpClient({
      baseUrl: server.origin,
      authorize: (request) => new Request(request, { headers: { 'x-api-key': 'k1' } }),
    });
    expect(await client.getJson('/replace')).toEqual({ key: 'k1' });
  });

  it('url() keeps the baseUrl path, keeps absolute URLs, and query values replace or repeat parameters', () => {
    const client = createHttpClient({ baseUrl: 'https://api.test/v2' });
    expect(client.url('items?page=1', { page: 2 }).href).toBe('https://api.test/v2/items?page=2');
    expect(client.url('/items', { id: [1, 2] }).href).toBe('https://api.test/v2/items?id=1&id=2');
    expect(client.url('https://other.test/x').href).toBe('https://other.test/x');
    expect(() => createHttpClient({ baseUrl: 'api.test' })).toThrow(ConnectorError);
  });

  it('displayUrl drops URL credentials and redacts secret-looking query values', () => {
    expect(displayUrl(new URL('https://user:pw@api.test/items?api_key=s3cr3t&page=2&client_secret=x'))).toBe(
      'https://api.test/items?api_key=REDACTED&page=2&client_secret=REDACTED',
    );
  });

  it('a relative path without baseUrl is a Configuration error, not a fetch of some other origin', async () => {
    const error = await connectorError(createHttpClient().getJson('/items'));
    expect(error.kind).toBe('Configuration');
  });

  it('the default fetch is the global fetch, looked up per request and not called as a method of the client', async () => {
    const receivers: unknown[] = [];
    vi.stubGlobal('fetch', function (this: unknown, request: Request) {
      receivers.push(this);
      expect(request).toBeInstanceOf(Request);
      return Promise.resolve(Response.json({ ok: true }));
    });
    try {
      const client = createHttpClient({ baseUrl: 'https://api.example.test' });
      expect(await client.getJson('/x')).toEqual({ ok: true });
      expect(receivers).toHaveLength(1);
      expect(receivers[0] === undefined || receivers[0] === globalThis).toBe(true);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('request() returns an unread 2xx response, and statuses in acceptStatus instead of throwing', async () => {
    server.route('/raw', (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('hello'));
    server.route('/gone', (_req, res) => json(res, 404, { message: 'Not Found' }));
    const { client } = testClient();
    expect(await (await client.request('/raw')).text()).toBe('hello');
    const gone = await client.request('/gone', { acceptStatus: [404] });
    expect(gone.status).toBe(404);
    const error = await connectorError(client.request('/gone'));
    expect([error.kind, error.status]).toEqual(['Api', 404]);
  });

  it('fetchJson sends a JSON body with any method and returns the response with the data', async () => {
    server.route('/post', (req, res) => json(res, 201, { got: JSON.parse(req.body) }, { etag: '"v1"' }));
    const { client } = testClient();
    const { data, response } = await client.fetchJson('/post', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: 1 }),
    });
    expect(data).toEqual({ got: { a: 1 } });
    expect(response.status).toBe(201);
    expect(response.headers.get('etag')).toBe('"v1"');
  });
});

describe('retries', () => {
  it('a 5xx then success is retried with exponential backoff and full jitter, reported through onRetry', async () => {
    server.route('/flaky', (_req, res, hit) => (hit <= 2 ? json(res, hit === 1 ? 500 : 502, { message: 'boom' }) : json(res, 200, { ok: 1 })));
    const { client, sleeps, retries } = testClient({ retry: { baseDelayMs: 100, maxDelayMs: 10_000 } });
    expect(await client.getJson('/flaky')).toEqual({ ok: 1 });
    expect(server.hits('/flaky')).toBe(3);
    // random() = 0.5: half of 100 * 2^0, then half of 100 * 2^1.
    expect(sleeps).toEqual([50, 100]);
    expect(retries.map((r) => [r.attempt, r.reason, r.status, r.delayMs])).toEqual([
      [1, 'status', 500, 50],
      [2, 'status', 502, 100],
    ]);
  });

  it('the backoff never exceeds maxDelayMs', async () => {
    server.route('/down', (_req, res) => json(res, 503, {}));
    const { client, sleeps } = testClient({ random: () => 0.999, retry: { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 250 } });
    await rejection(client.getJson('/down'));
    expect(sleeps).toHaveLength(5);
    for (const ms of sleeps) expect(ms).toBeLessThanOrEqual(250);
    expect(sleeps.at(-1)).toBe(249);
  });

  it('after the last attempt a 5xx fails as an Api error with status, endpoint, attempt count and a body excerpt', async () => {
    server.route('/broken', (_req, res) => json(res, 503, { message: 'maintenance window' }));
    const { client } = testClient({ retry: { maxAttempts: 3 } });
    const error = await connectorError(client.getJson('/broken'));
    expect(error.kind).toBe('Api');
    expect(error.status).toBe(503);
    expect(error.endpoint).toBe(`${server.origin}/broken`);
    expect(error.message).toContain('after 3 attempts');
    expect(error.message).toContain('maintenance window');
    expect(server.hits('/broken')).toBe(3);
  });

  it('a non-JSON (HTML) error body is quoted as short text without its markup', async () => {
    server.route('/html', (_req, res) =>
      res
        .writeHead(502, { 'content-type': 'text/html' })
        .end(`<html><head><style>body{color:red}</style></head><body><h1>502 Bad Gateway</h1>${'<p>x</p>'.repeat(500)}</body></html>`),
    );
    const { client } = testClient({ retry: false });
    const error = await connectorError(client.getJson('/html'));
    expect(error.status).toBe(502);
    expect(error.message).toContain('502 Bad Gateway');
    expect(error.message).not.toContain('<h1>');
    expect(error.message).not.toContain('color:red');
    expect(error.message.length).toBeLessThan(400);
  });

  it('a 4xx other than 401, 403-rate-limit, 408 and 429 is not retried', async () => {
    server.route('/bad', (_req, res) => json(res, 422, { message: 'Validation Failed' }));
    const { client, sleeps } = testClient();
    const error = await connectorError(client.getJson('/bad'));
    expect([error.kind, error.status]).toEqual(['Api', 422]);
    expect(error.message).toContain('Validation Failed');
    expect(server.hits('/bad')).toBe(1);
    expect(sleeps).toEqual([]);
  });

  it('a POST is not retried on 5xx unless retry.unsafeMethods, since the server may have acted on it', async () => {
    server.route('/create', (_req, res, hit) => (hit === 1 ? json(res, 500, {}) : json(res, 201, { id: 7 })));
    const { client } = testClient();
    const error = await connectorError(client.fetchJson('/create', { method: 'POST', body: '{}' }));
    expect(error.status).toBe(500);
    expect(server.hits('/create')).toBe(1);
    const { data } = await client.fetchJson('/create', { method: 'POST', body: '{}', retry: { unsafeMethods: true } });
    expect(data).toEqual({ id: 7 });
  });

  it('retry: false sends a request once', async () => {
    server.route('/once', (_req, res) => json(res, 500, {}));
    const { client } = testClient({ retry: false });
    await connectorError(client.getJson('/once'));
    expect(server.hits('/once')).toBe(1);
  });

  it('a network error (connection refused) is retried, then fails as an Api error without status and with the cause', async () => {
    const closed = await startServer();
    const origin = closed.origin;
    await closed.close();
    const { client, retries } = testClient({ baseUrl: origin, retry: { maxAttempts: 2 } });
    const error = await connectorError(client.getJson('/x'));
    expect(error.kind).toBe('Api');
    expect(error.status).toBeUndefined();
    expect(error.message).toMatch(/failed: .*\(2 attempts\)/);
    expect(error.cause).toBeInstanceOf(Error);
    expect(retries.map((r) => r.reason)).toEqual(['network']);
  });

  it('a connection dropped in the middle of the body is a network failure and is retried', async () => {
    server.route('/drop', (_req, res, hit) => {
      if (hit === 1) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        res.write('{"items": [1, 2');
        setTimeout(() => res.socket?.destroy(), 5);
      } else {
        json(res, 200, { items: [1, 2, 3] });
      }
    });
    const { client, retries } = testClient();
    expect(await client.getJson('/drop')).toEqual({ items: [1, 2, 3] });
    expect(retries.map((r) => r.reason)).toEqual(['network']);
  });
});

describe('rate limits', () => {
  it('a 429 with Retry-After in seconds waits exactly that long, then retries', async () => {
    server.route('/limited', (_req, res, hit) => (hit === 1 ? json(res, 429, { message: 'slow down' }, { 'retry-after': '7' }) : json(res, 200, [1])));
    const { client, sleeps, rateLimits, retries } = testClient();
    expect(await client.getJson('/limited')).toEqual([1]);
    expect(sleeps).toEqual([7000]);
    expect(retries[0]).toMatchObject({ reason: 'rate-limit', status: 429, delayMs: 7000 });
    expect(rateLimits).toHaveLength(1);
    expect(rateLimits[0]).toMatchObject({ limited: true, status: 429, waitMs: 7000, willRetry: true });
  });

  it('a 429 with Retry-After as an HTTP date waits until that date by the client clock', async () => {
    const at = new Date(NOW + 90_000).toUTCString();
    server.route('/dated', (_req, res, hit) => (hit === 1 ? json(res, 429, {}, { 'retry-after': at }) : json(res, 200, {})));
    const { client, sleeps } = testClient({ retry: { maxWaitMs: 120_000 } });
    await client.getJson('/dated');
    expect(sleeps).toEqual([90_000]);
  });

  it('a 429 without any wait hint backs off exponentially', async () => {
    server.route('/hintless', (_req, res, hit) => (hit === 1 ? json(res, 429, {}) : json(res, 200, {})));
    const { client, sleeps } = testClient({ retry: { baseDelayMs: 1000 } });
    await client.getJson('/hintless');
    expect(sleeps).toEqual([500]);
  });

  it('a 403 with x-ratelimit-remaining 0 waits until x-ratelimit-reset (GitHub primary limit), then retries', async () => {
    const reset = String(NOW / 1000 + 30);
    server.route('/gh', (_req, res, hit) =>
      hit === 1
        ? json(res, 403, { message: 'API rate limit exceeded' }, { 'x-ratelimit-limit': '60', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset })
        : json(res, 200, { ok: true }, { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '4999', 'x-ratelimit-reset': reset }),
    );
    const { client, sleeps, rateLimits } = testClient();
    expect(await client.getJson('/gh')).toEqual({ ok: true });
    expect(sleeps).toEqual([30_000]);
    expect(rateLimits.map((e) => [e.limited, e.state?.remaining])).toEqual([
      [true, 0],
      [false, 4999],
    ]);
  });

  it('a 403 with Retry-After (GitHub secondary limit) is a rate limit too', async () => {
    server.route('/secondary', (_req, res, hit) => (hit === 1 ? json(res, 403, { message: 'secondary rate limit' }, { 'retry-after': '3' }) : json(res, 200, {})));
    const { client, sleeps } = testClient();
    await client.getJson('/secondary');
    expect(sleeps).toEqual([3000]);
  });

  it('a 403 without rate-limit headers is a permission error: not retried', async () => {
    server.route('/forbidden', (_req, res) => json(res, 403, { message: 'Resource not accessible by integration' }));
    const { client, sleeps } = testClient();
    const error = await connectorError(client.getJson('/forbidden'));
    expect([error.kind, error.status]).toEqual(['Api', 403]);
    expect(error.message).toContain('Resource not accessible');
    expect(sleeps).toEqual([]);
    expect(server.hits('/forbidden')).toBe(1);
  });

  it('a rate limit that resets later than retry.maxWaitMs fails at once with an Api error saying the rate limit stopped it and when it resets', async () => {
    const resetSeconds = NOW / 1000 + 3600;
    server.route('/capped', (_req, res) =>
      json(res, 403, { message: 'API rate limit exceeded for 1.2.3.4' }, {
        'x-ratelimit-limit': '60',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(resetSeconds),
      }),
    );
    const { client, sleeps, rateLimits } = testClient({ retry: { maxWaitMs: 60_000 } });
    const error = await connectorError(client.getJson('/capped'));
    expect(error.kind).toBe('Api');
    expect(error.status).toBe(403);
    expect(error.endpoint).toBe(`${server.origin}/capped`);
    expect(error.message).toContain('stopped by the rate limit');
    expect(error.message).toContain(new Date(resetSeconds * 1000).toISOString());
    expect(error.message).toContain('0 of 60 requests left');
    expect(error.message).toContain('API rate limit exceeded');
    expect(sleeps).toEqual([]);
    expect(server.hits('/capped')).toBe(1);
    expect(rateLimits[0]).toMatchObject({ limited: true, willRetry: false, waitMs: 3_600_000 });
    // A durable engine (a Workflow) waits this long before the step's next attempt.
    expect(error.retryAfterMs).toBe(3_600_000);
  });

  it('a hostile Retry-After (400 digits, 1e400 s) is a rate limit over the cap: an Api error with a finite retryAfterMs, never a RangeError or Infinity', async () => {
    server.route('/forever', (_req, res) => json(res, 429, { message: 'slow down' }, { 'retry-after': '9'.repeat(400) }));
    const { client, sleeps } = testClient();
    const error = await connectorError(client.getJson('/forever'));
    expect(error.kind).toBe('Api');
    expect(error.message).toContain('stopped by the rate limit');
    expect(Number.isFinite(error.retryAfterMs)).toBe(true);
    expect(error.retryAfterMs).toBeGreaterThan(60_000);
    expect(JSON.parse(JSON.stringify(error)).retryAfterMs).toBe(error.retryAfterMs);
    expect(sleeps).toEqual([]);
    server.route('/reset', (_req, res) => json(res, 403, { message: 'limit' }, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1e300' }));
    const reset = await connectorError(client.getJson('/reset'));
    expect(reset.message).toContain('stopped by the rate limit');
    expect(Number.isFinite(reset.retryAfterMs)).toBe(true);
  });

  it('a 503 whose Retry-After exceeds the cap is not waited for', async () => {
    server.route('/long', (_req, res) => json(res, 503, { message: 'back tomorrow' }, { 'retry-after': '86400' }));
    const { client, sleeps } = testClient();
    const error = await connectorError(client.getJson('/long'));
    expect(error.status).toBe(503);
    expect(sleeps).toEqual([]);
    expect(error.retryAfterMs).toBe(86_400_000);
  });

  it('rate limits that persist through every attempt fail with an Api error naming the rate limit', async () => {
    server.route('/always', (_req, res) => json(res, 429, {}, { 'retry-after': '1' }));
    const { client, sleeps } = testClient({ retry: { maxAttempts: 3 } });
    const error = await connectorError(client.getJson('/always'));
    expect(error.status).toBe(429);
    expect(error.message).toContain('stopped by the rate limit');
    expect(error.message).toContain('after 3 attempts');
    expect(sleeps).toEqual([1000, 1000]);
  });

  it('a POST is retried after a 429, since the server did not process it', async () => {
    server.route('/post-limited', (_req, res, hit) => (hit === 1 ? json(res, 429, {}, { 'retry-after': '1' }) : json(res, 201, { id: 1 })));
    const { client } = testClient();
    expect((await client.fetchJson('/post-limited', { method: 'POST', body: '{}' })).data).toEqual({ id: 1 });
  });

  it('rateLimit is the snapshot of the last response with rate-limit headers', async () => {
    let remaining = 10;
    server.route('/quota', (_req, res) =>
      json(res, 200, {}, { 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': String(--remaining), 'x-ratelimit-reset': '1893456000', 'x-ratelimit-resource': 'core' }),
    );
    server.route('/plain', (_req, res) => json(res, 200, {}));
    const { client, rateLimits } = testClient();
    expect(client.rateLimit).toBeUndefined();
    await client.getJson('/quota');
    await client.getJson('/quota');
    await client.getJson('/plain');
    expect(client.rateLimit).toEqual({ limit: 10, remaining: 8, resetAt: 1893456000_000, resource: 'core', observedAt: NOW });
    expect(rateLimits.map((e) => [e.limited, e.state?.remaining])).toEqual([
      [false, 9],
      [false, 8],
    ]);
  });
});

describe('timeouts and aborts', () => {
  it('a response slower than timeoutMs times out, is retried, and fails as an Api error saying it timed out', async () => {
    server.route('/slow', (_req, res) => later(res, 5_000, () => json(res, 200, {})));
    const { client, retries } = testClient({ timeoutMs: 40, retry: { maxAttempts: 2 } });
    const error = await connectorError(client.getJson('/slow'));
    expect(error.kind).toBe('Api');
    expect(error.status).toBeUndefined();
    expect(error.message).toContain('timed out after 40 ms (2 attempts)');
    expect(retries.map((r) => r.reason)).toEqual(['timeout']);
    expect(server.hits('/slow')).toBe(2);
  });

  it('the timeout also covers a body that stops arriving', async () => {
    server.route('/stall', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial": ');
      later(res, 5_000, () => res.end('1}'));
    });
    const { client } = testClient({ timeoutMs: 40, retry: false });
    const error = await connectorError(client.getJson('/stall'));
    expect(error.message).toContain('timed out after 40 ms');
  });

  it('a per-request timeoutMs overrides the client timeout', async () => {
    server.route('/slowish', (_req, res) => later(res, 5_000, () => json(res, 200, {})));
    const { client } = testClient({ timeoutMs: 60_000, retry: false });
    const error = await connectorError(client.getJson('/slowish', { timeoutMs: 30 }));
    expect(error.message).toContain('timed out after 30 ms');
  });

  it('an abort of the caller signal during a request rejects with the abort reason, not a ConnectorError', async () => {
    server.route('/hang', (_req, res) => later(res, 5_000, () => json(res, 200, {})));
    const { client, retries } = testClient();
    const controller = new AbortController();
    const reason = new Error('sync cancelled');
    const pending = client.getJson('/hang', { signal: controller.signal });
    while (server.hits('/hang') === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort(reason);
    expect(await rejection(pending)).toBe(reason);
    expect(retries).toEqual([]);
  });

  it('an abort during a backoff wait rejects with the abort reason even if the injected sleep ignores the signal', async () => {
    server.route('/retry-me', (_req, res) => json(res, 503, {}));
    const controller = new AbortController();
    const reason = new Error('stop now');
    const sleeps: number[] = [];
    const client = createHttpClient({
      baseUrl: server.origin,
      // A sleep that never ends: only the abort can settle the request.
      sleep: (ms) => {
        sleeps.push(ms);
        controller.abort(reason);
        return new Promise<void>(() => {});
      },
    });
    expect(await rejection(client.getJson('/retry-me', { signal: controller.signal }))).toBe(reason);
    expect(sleeps).toHaveLength(1);
    expect(server.hits('/retry-me')).toBe(1);
  });

  it('an abort during the default backoff sleep rejects with the abort reason without waiting out the delay', async () => {
    server.route('/retry-later', (_req, res) => json(res, 429, {}, { 'retry-after': '50' }));
    const controller = new AbortController();
    const reason = new DOMException('user left', 'AbortError');
    const client = createHttpClient({
      baseUrl: server.origin,
      // The real sleep would wait 50 s (above the 30 s test timeout) if the abort did not end it.
      onRetry: (event) => {
        expect(event.delayMs).toBe(50_000);
        queueMicrotask(() => controller.abort(reason));
      },
    });
    expect(await rejection(client.getJson('/retry-later', { signal: controller.signal }))).toBe(reason);
    expect(server.hits('/retry-later')).toBe(1);
  });

  it('an already aborted signal rejects with its reason without sending anything', async () => {
    server.route('/never', (_req, res) => json(res, 200, {}));
    const reason = new Error('already');
    const error = await rejection(testClient().client.getJson('/never', { signal: AbortSignal.abort(reason) }));
    expect(error).toBe(reason);
    expect(server.hits('/never')).toBe(0);
  });
});

describe('JSON decoding', () => {
  it('a JSON body over maxBodyBytes is an Api error naming the limit, whether Content-Length announces it or it streams without one; not retried', async () => {
    const big = JSON.stringify({ items: 'x'.repeat(5_000) });
    server.route('/announced', (_req, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(big.length) }).end(big));
    server.route('/streamed', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      for (let i = 0; i < 5; i++) res.write(big);
      res.end();
    });
    for (const path of ['/announced', '/streamed']) {
      const { client, retries } = testClient({ maxBodyBytes: 1_000 });
      const error = await connectorError(client.getJson(path));
      expect(error.kind, path).toBe('Api');
      expect(error.status, path).toBe(200);
      expect(error.message, path).toContain('maxBodyBytes');
      expect(error.message, path).toContain('1,000');
      expect(retries, path).toEqual([]);
    }
    // At the limit the body decodes.
    server.route('/fits', (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(big));
    expect(await testClient({ maxBodyBytes: big.length }).client.getJson('/fits')).toEqual({ items: 'x'.repeat(5_000) });
  });

  it('truncated JSON with status 200 is an Api error with the status, the parse error and the start of the body; not retried', async () => {
    server.route('/truncated', (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"items": [{"id": 1}, {"id"'));
    const { client, retries } = testClient();
    const error = await connectorError(client.getJson('/truncated'));
    expect(error.kind).toBe('Api');
    expect(error.status).toBe(200);
    expect(error.endpoint).toBe(`${server.origin}/truncated`);
    expect(error.message).toContain('malformed JSON');
    expect(error.message).toContain('{"items": [{"id": 1}');
    expect(error.cause).toBeInstanceOf(SyntaxError);
    expect(retries).toEqual([]);
  });

  it('a 200 that is not JSON at all (an HTML login page) is an Api error naming the content type', async () => {
    server.route('/login', (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Please sign in</body></html>'));
    const error = await connectorError(testClient().client.getJson('/login'));
    expect(error.message).toContain('text/html');
    expect(error.message).toContain('Please sign in');
  });

  it('an empty 200 body is malformed JSON; a 204 decodes to undefined', async () => {
    server.route('/empty', (_req, res) => res.writeHead(200).end());
    server.route('/none', (_req, res) => res.writeHead(204).end());
    const { client } = testClient();
    expect((await connectorError(client.getJson('/empty'))).message).toContain('the body is empty');
    expect(await client.getJson('/none')).toBeUndefined();
  });

  it('a validator (a zod schema) checks the shape: its result is returned, a mismatch is an Api error', async () => {
    server.route('/user', (_req, res) => json(res, 200, { login: 'octocat', id: 1, extra: true }));
    server.route('/bad-user', (_req, res) => json(res, 200, { login: 42 }));
    const User = z.object({ login: z.string(), id: z.number() });
    const { client } = testClient();
    const user = await client.getJson('/user', { validate: User });
    expect(user).toEqual({ login: 'octocat', id: 1 });
    const error = await connectorError(client.getJson('/bad-user', { validate: User }));
    expect([error.kind, error.status]).toEqual(['Api', 200]);
    expect(error.message).toContain('unexpected shape');
    expect(error.message).toContain('login');
  });
});

describe('authentication', () => {
  it('401 is an AuthFailed error with status and endpoint, never retried', async () => {
    server.route('/me', (_req, res) => json(res, 401, { message: 'Bad credentials' }));
    const { client, sleeps } = testClient();
    const error = await connectorError(client.getJson('/me'));
    expect(error.kind).toBe('AuthFailed');
    expect(error.status).toBe(401);
    expect(error.endpoint).toBe(`${server.origin}/me`);
    expect(error.message).toContain('Bad credentials');
    expect(server.hits('/me')).toBe(1);
    expect(sleeps).toEqual([]);
  });

  it('errors and events never show secret-looking query parameters or URL credentials', async () => {
    server.route('/secret', (_req, res) => json(res, 500, {}));
    const { client, retries } = testClient({ retry: { maxAttempts: 2 } });
    const error = await connectorError(client.getJson('/secret', { query: { api_key: 'hunter2', access_token: 'abc', page: 2 } }));
    expect(error.message).not.toContain('hunter2');
    expect(error.message).not.toContain('abc');
    expect(error.endpoint).toContain('page=2');
    expect(retries[0]!.url).not.toContain('hunter2');
    expect(server.requests[0]!.url.searchParams.get('api_key')).toBe('hunter2');
  });
});
