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
 * Options of {@link fetchLinkPage}: those of {@link paginateLink}, and where
 * the page sits in its listing.
 *
 * @example
 * fetchLinkPage(client, cursor.url, { page: cursor.page, origin: 'https://api.github.com', maxPages: 20 });
 */
export interface LinkPageOptions<T, B> extends LinkPaginateOptions<T, B> {
  /** Which page of the listing this is, from 1: `maxPages` counts it, and `init.query` applies to page 1 only. Default 1. */
  readonly page?: number;
  /** The origin of the listing's first page, which this page and its next link must keep unless `allowCrossOrigin`. Default this page's. */
  readonly origin?: string;
  /** URLs the listing already fetched: a next link to one of them is a pagination loop. Default this page's own. */
  readonly fetched?: ReadonlySet<string>;
}

/** One page of a `Link`-paginated listing, from {@link fetchLinkPage}. */
export interface LinkPage<T> {
  readonly items: readonly T[];
  /** Absolute URL of the next page (fetch it with `page + 1`); undefined on the last page. */
  readonly next: string | undefined;
}

/**
 * Fetches one page of a listing that links its pages with
 * `Link: <…>; rel="next"` headers, and returns its items and the next
 * page's URL: {@link paginateLink} a page at a time, for a paged connector
 * step that hands the URL back as its cursor. The checks are paginateLink's:
 * a next link to an already fetched page or (unless `allowCrossOrigin`) to
 * another origin throws a `ConnectorError` of kind `Api`, and so does a
 * next link on page `maxPages` (unless `onMaxPages: 'stop'`, which ends the
 * listing there). A page URL off the listing's `origin` is refused before
 * any request (kind `Validation`, field `url`): a cursor from storage cannot
 * send the client's credentials elsewhere.
 *
 * @example
 * import { fetchLinkPage } from 'parallax-edge/http';
 * // In a paged step whose cursor is the next page's URL (a cursor off the API's origin is refused):
 * const page = await fetchLinkPage<Repo>(client, ctx.cursor ?? '/orgs/acme/repos', {
 *   origin: 'https://api.github.com',
 *   init: { query: { per_page: 100 }, signal: ctx.signal },
 * });
 * for (const repo of page.items) ctx.emitEntity(toEntity(repo));
 * return page.next === undefined ? {} : { next: page.next };
 */
export async function fetchLinkPage<T = unknown, B = unknown>(
  client: HttpClient,
  url: string | URL,
  options: LinkPageOptions<T, B> = {},
): Promise<LinkPage<T>> {
  const fetched = await fetchPage(client, url, options);
  return { items: fetched.items, next: nextPage(fetched, options) };
}

interface FetchedPage<T> {
  readonly items: T[];
  readonly url: URL;
  readonly page: number;
  readonly origin: string;
  readonly endpoint: string;
  readonly response: Response;
}

async function fetchPage<T, B>(client: HttpClient, url: string | URL, options: LinkPageOptions<T, B>): Promise<FetchedPage<T>> {
  maxPagesOf(options);
  const page = options.page ?? 1;
  const { query, ...init } = options.init ?? {};
  const target = client.url(url, page === 1 ? query : undefined);
  const endpoint = displayUrl(target);
  const origin = options.origin ?? target.origin;
  if (target.origin !== origin && !options.allowCrossOrigin) {
    throw ConnectorError.validation(`page ${page} (${endpoint}) is not on the listing's origin, ${origin}; pass allowCrossOrigin: true to fetch it`, 'url');
  }
  const { data, response } = await client.fetchJson<B>(target, { ...init, validate: options.validate });
  const items = [...pageItems(data, options.items, endpoint, response.status)];
  return { items, url: target, page, origin, endpoint, response };
}

/** The next page's URL, once it passed the loop, origin and cap checks; undefined at the end. */
function nextPage(
  fetched: FetchedPage<unknown>,
  options: Pick<LinkPageOptions<unknown, unknown>, 'fetched' | 'allowCrossOrigin' | 'maxPages' | 'onMaxPages'>,
): string | undefined {
  const { url, page, origin, endpoint, response } = fetched;
  const link = findLink(response.headers.get('link'), 'next', response.url || url.href);
  if (link === undefined) return undefined;
  const following = new URL(link);
  if ((options.fetched ?? new Set([url.href])).has(following.href)) {
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
  const max = maxPagesOf(options);
  if (page >= max) {
    capReached(options, endpoint, response.status, max);
    return undefined;
  }
  return following.href;
}

/**
 * Yields the items of every page of a listing that links its pages with
 * `Link: <…>; rel="next"` headers (GitHub, GitLab, many REST APIs). Relative
 * targets resolve against the page's URL. Stops when a page has no next link.
 * A next link that was already fetched (a pagination loop) throws a
 * `ConnectorError` of kind `Api` instead of looping; so does a next link to
 * another origin, unless `allowCrossOrigin`. {@link fetchLinkPage} is the
 * same a page at a time.
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
  maxPagesOf(options);
  const first = client.url(path, options.init?.query);
  const fetched = new Set<string>();
  let next: string | undefined = first.href;
  for (let page = 1; next !== undefined; page++) {
    fetched.add(next);
    const pageOptions = { ...options, page, origin: first.origin, fetched };
    const result: FetchedPage<T> = await fetchPage<T, B>(client, next, pageOptions);
    // The page's items come before any complaint about its next link.
    yield* result.items;
    next = nextPage(result, pageOptions);
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
