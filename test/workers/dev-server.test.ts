/**
 * The Worker under a real `wrangler dev --local` (what `npm run dev` runs),
 * over real HTTP/1.1 connections from node:http: a refused request body must
 * not stall the next request on the connection (issue 10, defect 4). Under
 * wrangler dev a body that is answered before it is read to its end leaves the
 * connection stuck (workerd#1741, workers-sdk#15709): the Worker reads a
 * refused body to its end, within a bound, before answering.
 */
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWranglerDev, type WranglerDev } from '../support/wrangler-dev.js';

const TOKEN = 'dev-server-test-token';
/** A correctness bound, not a benchmark: the stall this guards against lasted 20–155 s. */
const PROMPT_MS = 10_000;

let dev: WranglerDev;
beforeAll(async () => {
  dev = await startWranglerDev({ PARALLAX_API_TOKEN: TOKEN });
}, 120_000);
afterAll(async () => {
  await dev?.stop();
});

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly reusedSocket: boolean;
}

interface Send {
  readonly agent: Agent;
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  /** Written in 64 KiB chunks without a Content-Length (chunked), this many bytes inside a JSON string. */
  readonly chunkedBytes?: number;
  readonly body?: string;
}

/** One request; fails when no answer arrives within {@link PROMPT_MS}. */
function send(options: Send): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: dev.port, method: options.method ?? 'GET', path: options.path, agent: options.agent, headers: options.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, reusedSocket: req.reusedSocket }));
      },
    );
    req.setTimeout(PROMPT_MS, () => req.destroy(new Error(`${options.method ?? 'GET'} ${options.path}: no answer within ${PROMPT_MS} ms\n${dev.log().slice(-3000)}`)));
    req.on('error', reject);
    if (options.chunkedBytes === undefined) {
      req.end(options.body);
      return;
    }
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    req.write('{"connector_id":"cmdb","sync_id":"big","entities":[],"pad":"');
    const pump = (): void => {
      while (sent < options.chunkedBytes!) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end('"}');
    };
    pump();
  });
}

const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
/** Past the default limit of 8 MiB (workers/http.ts); each 413 says its limit, checked below. */
const OVER_LIMIT = 9 * 1024 * 1024;

function expectJsonError(answer: Answer, status: number, code: string): void {
  expect(answer.status, answer.body).toBe(status);
  const parsed = JSON.parse(answer.body) as { error: { code: string; request_id: string } };
  expect(parsed.error.code).toBe(code);
  expect(answer.headers['x-request-id']).toBe(parsed.error.request_id);
}

describe('wrangler dev: a refused request body never stalls the next request (issue 10, defect 4)', () => {
  it('a chunked body over the 8 MB limit gets its JSON 413, and /v1/health on the same keep-alive connection answers promptly', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await send({ agent, path: '/v1/health' })).status).toBe(200);
      const refused = await send({ agent, method: 'POST', path: '/v1/ingest/sync', headers: auth, chunkedBytes: OVER_LIMIT });
      expectJsonError(refused, 413, 'PayloadTooLarge');
      expect(JSON.parse(refused.body).error.limit_bytes).toBeLessThan(OVER_LIMIT);
      expect(refused.reusedSocket).toBe(true);
      const next = await send({ agent, path: '/v1/health' });
      expect(next.status).toBe(200);
      expect(next.reusedSocket).toBe(true);
      // The connection still carries a body the Worker reads and commits.
      const body = JSON.stringify({ connector_id: 'cmdb', sync_id: 'after-413', entities: [{ entity_type: 'host', entity_key: 'h-1', entity_class: 'Host' }] });
      const ingest = await send({ agent, method: 'POST', path: '/v1/ingest/sync', headers: auth, body });
      expect(ingest.status, ingest.body).toBe(200);
      expect(JSON.parse(ingest.body)).toMatchObject({ stats: { entities_created: 1 } });
    } finally {
      agent.destroy();
    }
  });

  it('the same on a fresh connection: the 413 arrives (no reset) and the next request on a new connection answers promptly', async () => {
    const refused = await send({ agent: new Agent({ keepAlive: false }), method: 'POST', path: '/v1/ingest/sync', headers: auth, chunkedBytes: OVER_LIMIT });
    expectJsonError(refused, 413, 'PayloadTooLarge');
    expect((await send({ agent: new Agent({ keepAlive: false }), path: '/v1/health' })).status).toBe(200);
  });

  it('a body refused unread for its content type (415) or charset gets its JSON error, and the connection answers the next request promptly', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (const contentType of ['text/plain', 'application/json; charset=utf-16']) {
        const refused = await send({ agent, method: 'POST', path: '/v1/ingest/sync', headers: { ...auth, 'content-type': contentType }, chunkedBytes: 1024 * 1024 });
        expectJsonError(refused, 415, 'UnsupportedMediaType');
        const next = await send({ agent, path: '/v1/health' });
        expect(next.status).toBe(200);
        expect(next.reusedSocket).toBe(true);
      }
    } finally {
      agent.destroy();
    }
  });

  it('a declared Content-Length over the limit gets its JSON 413, and the next request on the connection answers promptly', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const body = `{"pad":"${'a'.repeat(OVER_LIMIT)}"}`;
      const refused = await send({ agent, method: 'POST', path: '/v1/ingest/sync', headers: { ...auth, 'content-length': String(Buffer.byteLength(body)) }, body });
      expectJsonError(refused, 413, 'PayloadTooLarge');
      expect((await send({ agent, path: '/v1/health' })).status).toBe(200);
    } finally {
      agent.destroy();
    }
  });
});
