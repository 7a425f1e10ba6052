/**
 * `parallax-edge/http`: the fetch helper for connector authors. It behaves the
 * same in Cloudflare Workers, browsers and Node because it uses only
 * web-standard globals: retries with backoff and full jitter, `Retry-After`
 * and rate-limit reset headers (with a cap on how long it waits), per-attempt
 * timeouts combined with the caller's abort signal, JSON decoding with clear
 * `ConnectorError`s, and pagination by `Link` header, cursor or page number.
 *
 * @example
 * import { createHttpClient, paginateLink } from 'parallax-edge/http';
 *
 * const github = createHttpClient({
 *   baseUrl: 'https://api.github.com',
 *   headers: { accept: 'application/vnd.github+json' },
 *   // In a connector: authorize: (request) => request.headers.set('authorization', `Bearer ${token}`),
 *   onRateLimit: (e) => console.log(`GitHub: ${e.state?.remaining ?? '?'} requests left${e.limited ? ' (limited)' : ''}`),
 * });
 * const org = await github.getJson<{ public_repos: number }>('/orgs/nodejs');
 * console.log(org.public_repos);
 * for await (const repo of paginateLink<{ full_name: string }>(github, '/orgs/nodejs/repos', { init: { query: { per_page: 100 } } })) {
 *   console.log(repo.full_name);
 * }
 *
 * @packageDocumentation
 */

export {
  HttpClient,
  createHttpClient,
  displayUrl,
  type FetchLike,
  type HeadersLike,
  type HttpClientOptions,
  type RequestOptions,
  type JsonRequestOptions,
  type JsonResponse,
  type QueryParams,
  type RetryOptions,
  type RetryEvent,
  type RateLimitEvent,
  type Validator,
} from './client.js';
export { parseLinkHeader, findLink, parseRetryAfter, readRateLimit, type LinkValue, type RateLimitState } from './headers.js';
export {
  paginateLink,
  fetchLinkPage,
  paginateCursor,
  paginatePages,
  DEFAULT_MAX_PAGES,
  type PaginateOptions,
  type LinkPaginateOptions,
  type LinkPageOptions,
  type LinkPage,
  type CursorPaginateOptions,
  type PagePaginateOptions,
} from './paginate.js';
