import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConnectorError } from 'parallax-edge';
import { createHttpClient, fetchLinkPage, paginateCursor, paginateLink, paginatePages, type HttpClient } from 'parallax-edge/http';
import { json, startServer, type TestServer } from './server.js';

let server: TestServer;
let client: HttpClient;
beforeAll(async () => {
  server = await startServer();
  client = createHttpClient({ baseUrl: server.origin, sleep: async () => {}, retry: { maxAttempts: 2 } });
});
afterEach(() => server.reset());
afterAll(() => server.close());

/** Drains an async iterator, returning what it yielded and what it threw. */
async function drain<T>(iterable: AsyncIterable<T>): Promise<{ items: T[]; error: unknown }> {
  const items: T[] = [];
  try {
    for await (const item of iterable) items.push(item);
  } catch (error) {
    return { items, error };
  }
  return { items, error: undefined };
}

function expectApiError(error: unknown, pattern: RegExp): ConnectorError {
  expect(error).toBeInstanceOf(ConnectorError);
  const e = error as ConnectorError;
  expect(e.kind).toBe('Api');
  expect(e.message).toMatch(pattern);
  return e;
}

/** Serves `pages` (arrays) at /path?page=n with Link headers built by `link(n)`. */
function linkPages(path: string, pages: unknown[][], link: (page: number) => string | undefined): void {
  server.route(path, (_req, res, _hit, url) => {
    const page = Number(url.searchParams.get('page') ?? '1');
    const header = link(page);
    json(res, 200, pages[page - 1] ?? [], header ? { link: header } : {});
  });
}

describe('paginateLink', () => {
  it('follows rel="next" (absolute, relative, among other links) and yields every item in order', async () => {
    linkPages('/repos', [[1, 2], [3, 4], [5]], (page) => {
      if (page === 1) return `<${server.origin}/repos?page=2>; rel="next", <${server.origin}/repos?page=3>; rel="last"`;
      if (page === 2) return '<repos?page=1>; rel="prev", <repos?page=3>; rel="next"';
      return '</repos?page=2>; rel="prev"';
    });
    expect(await drain(paginateLink(client, '/repos'))).toEqual({ items: [1, 2, 3, 4, 5], error: undefined });
    expect(server.requests.map((r) => r.url.search)).toEqual(['', '?page=2', '?page=3']);
  });

  it('a next link back to a fetched page (a pagination loop) throws a clear Api error instead of looping', async () => {
    linkPages('/loop', [['a'], ['b']], (page) => (page === 1 ? '</loop?page=2>; rel="next"' : '</loop?page=1>; rel="next"'));
    const { items, error } = await drain(paginateLink(client, '/loop?page=1'));
    expect(items).toEqual(['a', 'b']);
    expectApiError(error, /pagination loop: page 2 .* rel="next" to .*\/loop\?page=1, which was already fetched/);
    expect(server.hits('/loop')).toBe(2);
  });

  it('a next link to another origin is refused unless allowCrossOrigin, so credentials are not sent elsewhere', async () => {
    server.route('/cross', (_req, res) => json(res, 200, [1], { link: '<https://evil.example/steal>; rel="next"' }));
    const { items, error } = await drain(paginateLink(client, '/cross'));
    expect(items).toEqual([1]);
    expectApiError(error, /another origin, https:\/\/evil\.example/);
  });

  it('reaching maxPages with a next link left throws by default (a silent stop would look like deletions)', async () => {
    linkPages('/many', [[1], [2], [3], [4]], (page) => `</many?page=${page + 1}>; rel="next"`);
    const { items, error } = await drain(paginateLink(client, '/many', { maxPages: 2 }));
    expect(items).toEqual([1, 2]);
    expectApiError(error, /maxPages \(2\)/);
    expect(server.hits('/many')).toBe(2);
  });

  it("onMaxPages: 'stop' ends quietly at the cap", async () => {
    linkPages('/capped', [[1], [2], [3]], (page) => `</capped?page=${page + 1}>; rel="next"`);
    expect(await drain(paginateLink(client, '/capped', { maxPages: 2, onMaxPages: 'stop' }))).toEqual({ items: [1, 2], error: undefined });
  });

  it('exactly maxPages pages is not an error', async () => {
    linkPages('/exact', [[1], [2]], (page) => (page === 1 ? '</exact?page=2>; rel="next"' : undefined));
    expect(await drain(paginateLink(client, '/exact', { maxPages: 2 }))).toEqual({ items: [1, 2], error: undefined });
  });

  it('items picks the items out of an object page, validated first; a non-array page without items is an Api error', async () => {
    server.route('/search', (_req, res) => json(res, 200, { total_count: 2, items: [{ id: 1 }, { id: 2 }] }));
    const Page = z.object({ items: z.array(z.object({ id: z.number() })) });
    const ids = await drain(paginateLink(client, '/search', { validate: Page, items: (page) => page.items.map((i) => i.id) }));
    expect(ids).toEqual({ items: [1, 2], error: undefined });
    expectApiError((await drain(paginateLink(client, '/search'))).error, /not a JSON array.*pass `items`/);
  });

  it('passes request options (query of the first page, headers) and retries failed pages like any request', async () => {
    server.route('/opts', (req, res, hit) => {
      if (hit === 1) return json(res, 502, {});
      json(res, 200, [req.headers['x-trace']], hit === 2 ? { link: '</opts?page=2&per_page=1>; rel="next"' } : {});
    });
    const { items } = await drain(paginateLink(client, '/opts', { init: { query: { per_page: 1 }, headers: { 'x-trace': 't1' } } }));
    expect(items).toEqual(['t1', 't1']);
    expect(server.requests.map((r) => r.url.search)).toEqual(['?per_page=1', '?per_page=1', '?page=2&per_page=1']);
  });
});

describe('fetchLinkPage: paginateLink a page at a time, for paged steps', () => {
  it("returns one page's items and the absolute URL of the next page, none on the last; the query applies to page 1 only", async () => {
    linkPages('/items', [[1, 2], [3]], (page) => (page === 1 ? '</items?page=2&per_page=2>; rel="next"' : '</items?page=1>; rel="prev"'));
    const first = await fetchLinkPage<number>(client, '/items', { init: { query: { per_page: 2 } } });
    expect(first).toEqual({ items: [1, 2], next: `${server.origin}/items?page=2&per_page=2` });
    const second = await fetchLinkPage<number>(client, first.next!, { page: 2, init: { query: { per_page: 9 } } });
    expect(second).toEqual({ items: [3], next: undefined });
    expect(server.requests.map((r) => r.url.search)).toEqual(['?per_page=2', '?page=2&per_page=2']);
  });

  it('refuses a page URL off the listing\'s origin before any request (a cursor cannot send credentials elsewhere)', async () => {
    const refused = fetchLinkPage(client, 'https://evil.example/steal', { page: 2, origin: server.origin });
    await expect(refused).rejects.toBeInstanceOf(ConnectorError);
    await expect(refused).rejects.toMatchObject({ kind: 'Validation', field: 'url' });
    await expect(refused).rejects.toThrow(/page 2 \(https:\/\/evil\.example\/steal\) is not on the listing's origin/);
    expect(server.requests).toHaveLength(0);
  });

  it('a next link to the page itself or to a page the listing fetched is a pagination loop', async () => {
    linkPages('/self', [['a'], ['b']], (page) => `</self?page=${page}>; rel="next"`);
    expectApiError(await fetchLinkPage(client, '/self?page=1').catch((e: unknown) => e), /pagination loop: page 1 .* which was already fetched/);
    linkPages('/back', [['a'], ['b']], () => '</back?page=1>; rel="next"');
    const fetched = new Set([`${server.origin}/back?page=1`, `${server.origin}/back?page=2`]);
    const loop = await fetchLinkPage(client, `${server.origin}/back?page=2`, { page: 2, fetched }).catch((e: unknown) => e);
    expectApiError(loop, /pagination loop: page 2 .*\/back\?page=1, which was already fetched/);
  });

  it('a next link to another origin throws unless allowCrossOrigin', async () => {
    server.route('/cross', (_req, res) => json(res, 200, [1], { link: '<https://evil.example/steal>; rel="next"' }));
    expectApiError(await fetchLinkPage(client, '/cross').catch((e: unknown) => e), /another origin, https:\/\/evil\.example/);
    expect(await fetchLinkPage(client, '/cross', { allowCrossOrigin: true })).toEqual({ items: [1], next: 'https://evil.example/steal' });
  });

  it("a next link on page maxPages throws by default; onMaxPages: 'stop' ends the listing there", async () => {
    linkPages('/many', [[1], [2], [3]], (page) => `</many?page=${page + 1}>; rel="next"`);
    expectApiError(await fetchLinkPage(client, `${server.origin}/many?page=2`, { page: 2, maxPages: 2 }).catch((e: unknown) => e), /maxPages \(2\)/);
    expect(await fetchLinkPage(client, `${server.origin}/many?page=2`, { page: 2, maxPages: 2, onMaxPages: 'stop' })).toEqual({ items: [2], next: undefined });
    expect(await fetchLinkPage(client, `${server.origin}/many?page=2`, { page: 2, maxPages: 3 })).toEqual({ items: [2], next: `${server.origin}/many?page=3` });
  });
});

describe('paginateCursor', () => {
  type Page = { data: string[]; next?: string | null };

  it('sends each page’s cursor as cursorParam until nextCursor returns nothing', async () => {
    const pages: Record<string, Page> = {
      '': { data: ['a', 'b'], next: 'c1' },
      c1: { data: ['c'], next: 'c2' },
      c2: { data: [], next: 'c3' }, // an empty page with a cursor is followed
      c3: { data: ['d'], next: null },
    };
    server.route('/users', (_req, res, _hit, url) => json(res, 200, pages[url.searchParams.get('after') ?? '']));
    const { items, error } = await drain(
      paginateCursor(client, '/users?limit=2', { cursorParam: 'after', items: (p: Page) => p.data, nextCursor: (p) => p.next }),
    );
    expect(error).toBeUndefined();
    expect(items).toEqual(['a', 'b', 'c', 'd']);
    expect(server.requests.map((r) => r.url.search)).toEqual(['?limit=2', '?limit=2&after=c1', '?limit=2&after=c2', '?limit=2&after=c3']);
  });

  it('a cursor that was already requested (a pagination loop) throws a clear Api error', async () => {
    server.route('/cycle', (_req, res, _hit, url) => json(res, 200, { data: [url.searchParams.get('cursor')], next: 'x' }));
    const { items, error } = await drain(paginateCursor(client, '/cycle', { items: (p: Page) => p.data, nextCursor: (p) => p.next }));
    expect(items).toEqual([null, 'x']);
    expectApiError(error, /pagination loop: page 2 .* returned cursor "x", which was already requested/);
  });

  it('startCursor sets the first cursor, and nextCursor may read the response headers', async () => {
    server.route('/hdr', (_req, res, _hit, url) => {
      const cursor = url.searchParams.get('cursor');
      json(res, 200, [cursor], cursor === 's' ? { 'x-next-cursor': 't' } : {});
    });
    const { items } = await drain(paginateCursor(client, '/hdr', { startCursor: 's', nextCursor: (_body, response) => response.headers.get('x-next-cursor') }));
    expect(items).toEqual(['s', 't']);
  });

  it('maxPages caps a cursor listing that never ends', async () => {
    server.route('/endless', (_req, res, hit) => json(res, 200, { data: [hit], next: `n${hit}` }));
    type Endless = { data: number[]; next: string };
    const { items, error } = await drain(paginateCursor(client, '/endless', { maxPages: 3, items: (p: Endless) => p.data, nextCursor: (p) => p.next }));
    expect(items).toEqual([1, 2, 3]);
    expectApiError(error, /maxPages \(3\)/);
  });
});

describe('paginatePages', () => {
  /** Serves `total` numbered items in pages of the requested size. */
  function numbered(path: string, total: number): void {
    server.route(path, (_req, res, _hit, url) => {
      const page = Number(url.searchParams.get('page'));
      const size = Number(url.searchParams.get('per_page') ?? url.searchParams.get('limit') ?? 3);
      const first = (page - 1) * size;
      json(res, 200, Array.from({ length: Math.max(0, Math.min(size, total - first)) }, (_, i) => first + i + 1));
    });
  }

  it('stops after a short page without requesting another', async () => {
    numbered('/short', 7);
    const { items, error } = await drain(paginatePages(client, '/short', { perPage: 3 }));
    expect(error).toBeUndefined();
    expect(items).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(server.requests.map((r) => r.url.search)).toEqual(['?page=1&per_page=3', '?page=2&per_page=3', '?page=3&per_page=3']);
  });

  it('stops at an empty page when the total is a multiple of the page size', async () => {
    numbered('/even', 6);
    const { items } = await drain(paginatePages(client, '/even', { perPage: 3 }));
    expect(items).toEqual([1, 2, 3, 4, 5, 6]);
    expect(server.hits('/even')).toBe(3);
  });

  it('uses the configured parameter names, start page and items picker', async () => {
    server.route('/custom', (_req, res, _hit, url) => {
      const p = Number(url.searchParams.get('p'));
      json(res, 200, { results: p === 0 ? ['x', 'y'] : p === 1 ? ['z'] : [] });
    });
    const { items } = await drain(
      paginatePages(client, '/custom', { pageParam: 'p', perPageParam: 'limit', perPage: 2, startPage: 0, items: (b: { results: string[] }) => b.results }),
    );
    expect(items).toEqual(['x', 'y', 'z']);
    expect(server.requests.map((r) => r.url.search)).toEqual(['?p=0&limit=2', '?p=1&limit=2']);
  });

  it('with perPageParam null it sends no page size and stops only at an empty page', async () => {
    numbered('/fixed', 5); // the server's own size: 3
    const { items } = await drain(paginatePages(client, '/fixed', { perPageParam: null }));
    expect(items).toEqual([1, 2, 3, 4, 5]);
    expect(server.requests.map((r) => r.url.search)).toEqual(['?page=1', '?page=2', '?page=3']);
  });

  it('an API that ignores the page parameter (same items again) throws a pagination-loop error', async () => {
    server.route('/ignores', (_req, res) => json(res, 200, [1, 2]));
    const { items, error } = await drain(paginatePages(client, '/ignores', { perPage: 2 }));
    expect(items).toEqual([1, 2]);
    expectApiError(error, /pagination loop: page 2 .* same 2 items as page 1/);
  });

  it('a full page at maxPages throws, since more may follow', async () => {
    numbered('/big', 100);
    const { items, error } = await drain(paginatePages(client, '/big', { perPage: 10, maxPages: 2 }));
    expect(items).toHaveLength(20);
    expectApiError(error, /maxPages \(2\) but page 2 was full/);
  });

  it('a page that fails after its retries ends the iteration with that error', async () => {
    server.route('/fails', (_req, res, _hit, url) => (url.searchParams.get('page') === '2' ? json(res, 500, { message: 'db down' }) : json(res, 200, [1, 2])));
    const { items, error } = await drain(paginatePages(client, '/fails', { perPage: 2 }));
    expect(items).toEqual([1, 2]);
    const e = expectApiError(error, /db down/);
    expect(e.status).toBe(500);
  });
});
