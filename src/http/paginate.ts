import { ConnectorError } from '../connect/errors.js';
import { displayUrl, type HttpClient, type JsonRequestOptions, type Validator } from './client.js';
import { findLink } from './headers.js';

/**
 * Pages a paginator fetches at most unless told otherwise (`maxPages`).
 *
 * @example
 * paginateLink(client, '/orgs/acme/repos', { maxPages: DEFAULT_MAX_PAGES * 5 });
 */
export const DEFAULT_MAX_PAGES = 1000;

/**
 * Options every paginator takes. Every paginator yields **items**, not pages:
 * `items(body)` picks them from each decoded page (by default the page must
 * be a JSON array). To get whole pages, use `items: (body) => [body]`.
 *
 * Reaching `maxPages` while the API still offers a next page throws by
 * default: a connector that silently stops early would make the sync treat
 * every record after the cap as deleted. Pass `onMaxPages: 'stop'` when a
 * partial listing is what you want (a demo, a preview).
 *
 * @example
 * for await (const repo of paginateLink(client, '/orgs/acme/repos', { maxPages: 50, init: { signal: ctx.signal } })) {
 *   ctx.emitEntity(toEntity(repo));
 * }
 */
export interface PaginateOptions<T, B> {
  /** Pages fetched at most. Default {@link DEFAULT_MAX_PAGES}. */
  readonly maxPages?: number;
  /** At the cap with more pages left: `'throw'` (default) a ConnectorError, or `'stop'` quietly. */
  readonly onMaxPages?: 'throw' | 'stop';
  /** The items of one page. Default: the page itself, which must be an array. */
  readonly items?: (body: B) => Iterable<T>;
  /** Checks each decoded page before `items` sees it (a zod schema works). */
  readonly validate?: Validator<B>;
  /** Request options for every page: headers, query (first page), signal, timeout, retry. */
  readonly init?: Omit<JsonRequestOptions<B>, 'validate'>;
}

function pageItems<T, B>(body: B, items: ((body: B) => Iterable<T>) | undefined, endpoint: string, status: number): Iterable<T> {
  if (items) return items(body);
  if (Array.isArray(body)) return body as T[];
  throw ConnectorError.api(
    status,
    endpoint,
    `${endpoint} returned a page that is not a JSON array (${body === null ? 'null' : typeof body}); pass \`items\` to pick the page's items`,
  );
}

function maxPagesOf(options: Pick<PaginateOptions<unknown, unknown>, 'maxPages'>): number {
  const max = options.maxPages ?? DEFAULT_MAX_PAGES;
  if (!(max >= 1)) throw ConnectorError.configuration(`maxPages must be at least 1, got ${max}`, 'maxPages');
  return Math.floor(max);
}

function capReached(
  options: Pick<PaginateOptions<unknown, unknown>, 'onMaxPages'>,
  endpoint: string,
  status: number,
  max: number,
  why = 'the API offers a next page',
): void {
  if (options.onMaxPages === 'stop') return;
  throw ConnectorError.api(
    status,
    endpoint,
    `pagination of ${endpoint} reached maxPages (${max}) but ${why}; raise maxPages, or pass onMaxPages: 'stop' to accept a partial listing`,
  );
}

/**
 * Options of {@link paginateLink}.
 *
 * @example
 * paginateLink(client, 'https://api.github.com/orgs/acme/repos?per_page=100', { allowCrossOrigin: false });
 */
export interface LinkPaginateOptions<T, B> extends PaginateOptions<T, B> {
  /**
   * Follow a next link to another origin than the first page's. Default
   * false: such a link throws, because the client would send it the same
   * credentials.
   */
  readonly allowCrossOrigin?: boolean;
}

/**
 * Yields the items of every page of a listing that links its pages with
 * `Link: <…>; rel="next"` headers (GitHub, GitLab, many REST APIs). Relative
 * targets resolve against the page's URL. Stops when a page has no next link.
 * A next link that was already fetched (a pagination loop) throws a
 * `ConnectorError` of kind `Api` instead of looping; so does a next link to
 * another origin, unless `allowCrossOrigin`.
 *
 * @example
 * import { createHttpClient, paginateLink } from 'parallax-edge/http';
 * const github = createHttpClient({ baseUrl: 'https://api.github.com' });
 * const repos = paginateLink<{ full_name: string }>(github, '/orgs/nodejs/repos', { init: { query: { per_page: 100 } } });
 * for await (const repo of repos) console.log(repo.full_name);
 */
export async function* paginateLink<T = unknown, B = unknown>(
  client: HttpClient,
  path: string | URL,
  options: LinkPaginateOptions<T, B> = {},
): AsyncGenerator<T, void, undefined> {
  const max = maxPagesOf(options);
  const { query, ...init } = options.init ?? {};
  let next: URL | undefined = client.url(path, query);
  const origin = next.origin;
  const seen = new Set<string>();
  for (let page = 1; next !== undefined; page++) {
    seen.add(next.href);
    const { data, response } = await client.fetchJson<B>(next, { ...init, validate: options.validate });
    const endpoint = displayUrl(next);
    yield* pageItems(data, options.items, endpoint, response.status);

    const target = findLink(response.headers.get('link'), 'next', response.url || next.href);
    if (target === undefined) return;
    const following = new URL(target);
    if (seen.has(following.href)) {
      throw ConnectorError.api(
        response.status,
        endpoint,
        `pagination loop: page ${page} (${endpoint}) links rel="next" to ${displayUrl(following)}, which was already fetched`,
      );
    }
    if (following.origin !== origin && !options.allowCrossOrigin) {
      throw ConnectorError.api(
        response.status,
        endpoint,
        `page ${page} (${endpoint}) links rel="next" to another origin, ${following.origin}; pass allowCrossOrigin: true to follow it`,
      );
    }
    if (page >= max) return capReached(options, endpoint, response.status, max);
    next = following;
  }
}

/**
 * Options of {@link paginateCursor}.
 *
 * @example
 * paginateCursor(client, '/v1/users', {
 *   cursorParam: 'starting_after',
 *   items: (body: { data: User[] }) => body.data,
 *   nextCursor: (body) => (body.has_more ? body.data.at(-1)?.id : undefined),
 * });
 */
export interface CursorPaginateOptions<T, B> extends PaginateOptions<T, B> {
  /** Query parameter that carries the cursor. Default `cursor`. */
  readonly cursorParam?: string;
  /** The cursor of the next page, from a page's body (or headers); `undefined`, `null` or `''` ends the listing. */
  readonly nextCursor: (body: B, response: Response) => string | number | null | undefined;
  /** Cursor of the first request; default none (the parameter is not sent). */
  readonly startCursor?: string | number;
}

/**
 * Yields the items of every page of a cursor-paginated listing: each request
 * sends the previous page's `nextCursor` as the `cursorParam` query
 * parameter, until `nextCursor` returns nothing. A cursor that was already
 * sent (a pagination loop) throws a `ConnectorError` of kind `Api`. Empty
 * pages with a cursor are followed (some APIs send them).
 *
 * @example
 * import { createHttpClient, paginateCursor } from 'parallax-edge/http';
 * const bsky = createHttpClient({ baseUrl: 'https://public.api.bsky.app/xrpc' });
 * type Feed = { feed: { post: { uri: string } }[]; cursor?: string };
 * for await (const item of paginateCursor(bsky, '/app.bsky.feed.getAuthorFeed?actor=bsky.app&limit=50', {
 *   items: (page: Feed) => page.feed,
 *   nextCursor: (page) => page.cursor,
 *   maxPages: 3,
 *   onMaxPages: 'stop',
 * })) console.log(item.post.uri);
 */
export async function* paginateCursor<T = unknown, B = unknown>(
  client: HttpClient,
  path: string | URL,
  options: CursorPaginateOptions<T, B>,
): AsyncGenerator<T, void, undefined> {
  const max = maxPagesOf(options);
  const param = options.cursorParam ?? 'cursor';
  const { query, ...init } = options.init ?? {};
  let cursor: string | undefined = options.startCursor === undefined ? undefined : String(options.startCursor);
  const seen = new Set<string>();
  for (let page = 1; ; page++) {
    if (cursor !== undefined) seen.add(cursor);
    const url = client.url(path, { ...query, [param]: cursor });
    const { data, response } = await client.fetchJson<B>(url, { ...init, validate: options.validate });
    const endpoint = displayUrl(url);
    yield* pageItems(data, options.items, endpoint, response.status);

    const next = options.nextCursor(data, response);
    if (next === undefined || next === null || next === '') return;
    const nextCursor = String(next);
    if (seen.has(nextCursor)) {
      throw ConnectorError.api(
        response.status,
        endpoint,
        `pagination loop: page ${page} (${endpoint}) returned ${param} "${nextCursor}", which was already requested`,
      );
    }
    if (page >= max) return capReached(options, endpoint, response.status, max);
    cursor = nextCursor;
  }
}

/**
 * Options of {@link paginatePages}.
 *
 * @example
 * paginatePages(client, '/api/v1/projects', { pageParam: 'page', perPageParam: 'limit', perPage: 50, startPage: 0 });
 */
export interface PagePaginateOptions<T, B> extends PaginateOptions<T, B> {
  /** Query parameter of the page number. Default `page`. */
  readonly pageParam?: string;
  /** Query parameter of the page size; `null` sends none. Default `per_page`. */
  readonly perPageParam?: string | null;
  /**
   * Page size: sent as `perPageParam`, and a page with fewer items ends the
   * listing. Default 100, or, with `perPageParam: null`, unknown (only an
   * empty page ends the listing).
   */
  readonly perPage?: number;
  /** Number of the first page. Default 1. */
  readonly startPage?: number;
}

/**
 * Yields the items of every page of a page-numbered listing
 * (`?page=1&per_page=100`, `?page=2&per_page=100`, …), stopping after an
 * empty page or a short one (fewer than `perPage` items). A page whose items
 * equal the previous page's throws a `ConnectorError` of kind `Api`: the API
 * is ignoring the page parameter and would loop until `maxPages`.
 *
 * @example
 * import { createHttpClient, paginatePages } from 'parallax-edge/http';
 * const gitlab = createHttpClient({ baseUrl: 'https://gitlab.com/api/v4' });
 * const projects = paginatePages<{ id: number; name: string }>(gitlab, '/groups/gitlab-org/projects', {
 *   perPage: 100,
 *   maxPages: 5,
 *   onMaxPages: 'stop',
 * });
 * for await (const project of projects) console.log(project.id, project.name);
 */
export async function* paginatePages<T = unknown, B = unknown>(
  client: HttpClient,
  path: string | URL,
  options: PagePaginateOptions<T, B> = {},
): AsyncGenerator<T, void, undefined> {
  const max = maxPagesOf(options);
  const pageParam = options.pageParam ?? 'page';
  const perPageParam = options.perPageParam === undefined ? 'per_page' : options.perPageParam;
  const perPage = options.perPage ?? (perPageParam === null ? undefined : 100);
  if (perPage !== undefined && !(perPage >= 1)) throw ConnectorError.configuration(`perPage must be at least 1, got ${perPage}`, 'perPage');
  const { query, ...init } = options.init ?? {};
  const start = options.startPage ?? 1;
  let previous: string | undefined;
  for (let page = 1; ; page++) {
    const number = start + page - 1;
    const url = client.url(path, { ...query, [pageParam]: number, ...(perPageParam === null ? {} : { [perPageParam]: perPage }) });
    const { data, response } = await client.fetchJson<B>(url, { ...init, validate: options.validate });
    const endpoint = displayUrl(url);
    const items = [...pageItems(data, options.items, endpoint, response.status)];
    if (items.length === 0) return;
    const fingerprint = JSON.stringify(items);
    if (fingerprint === previous) {
      throw ConnectorError.api(
        response.status,
        endpoint,
        `pagination loop: ${pageParam} ${number} (${endpoint}) returned the same ${items.length} items as ${pageParam} ${number - 1}; the API seems to ignore "${pageParam}"`,
      );
    }
    previous = fingerprint;
    yield* items;
    if (perPage !== undefined && items.length < perPage) return;
    if (page >= max) return capReached(options, endpoint, response.status, max, `page ${number} was full, so more may follow`);
  }
}
