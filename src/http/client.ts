import { ConnectorError } from '../connect/errors.js';
import { parseRetryAfter, readRateLimit, type RateLimitState } from './headers.js';
import { attemptSignal, raceAbort, sleep as defaultSleep } from './signals.js';

/**
 * The `fetch` the client calls: always with one `Request`. The global `fetch`
 * and most mocks fit.
 *
 * @example
 * const fetchLike: FetchLike = (request) => fetch(request);
 */
export type FetchLike = (request: Request) => Promise<Response>;

/**
 * Anything `new Headers()` accepts: a `Headers`, a record, or name/value pairs.
 *
 * @example
 * const headers: HeadersLike = { authorization: `Bearer ${token}` };
 */
export type HeadersLike = ConstructorParameters<typeof Headers>[0];

/**
 * Anything with a `parse` that returns the value or throws, such as a zod
 * schema.
 *
 * @example
 * import { z } from 'zod';
 * const Repo = z.object({ id: z.number(), full_name: z.string() });
 * const repo = await client.getJson('/repos/octocat/hello-world', { validate: Repo });
 */
export interface Validator<T> {
  parse(value: unknown): T;
}

/**
 * Query parameters appended to a request URL. `undefined` values are skipped,
 * arrays repeat the parameter, other values replace any value already in the
 * path's query string.
 *
 * @example
 * await client.getJson('/search/repositories', { query: { q: 'parallax', per_page: 50 } });
 */
export type QueryParams = Readonly<Record<string, string | number | boolean | undefined | readonly (string | number | boolean)[]>>;

/**
 * How the client retries. Attempts count every request sent, the first one
 * included.
 *
 * Retried: network errors and timeouts, 408 and 5xx other than 501 and 505
 * (for idempotent methods, or any method with `unsafeMethods`), and
 * rate-limited responses (429; 403 with `x-ratelimit-remaining: 0` or with
 * `Retry-After`) for every method, since the server did not process them.
 * The delay before attempt n+1 is the server's `Retry-After` or rate-limit
 * reset when it sent one, otherwise exponential backoff with full jitter:
 * `random() * min(maxDelayMs, baseDelayMs * 2^(n-1))`.
 *
 * @example
 * const client = createHttpClient({ baseUrl, retry: { maxAttempts: 6, baseDelayMs: 250, maxWaitMs: 5 * 60_000 } });
 */
export interface RetryOptions {
  /** Requests sent at most, including the first. Default 4; 1 disables retries. */
  readonly maxAttempts?: number;
  /** Backoff base. Default 500 ms. */
  readonly baseDelayMs?: number;
  /** Backoff ceiling. Default 30 s. */
  readonly maxDelayMs?: number;
  /**
   * Longest wait the client accepts when the server says how long to wait
   * (`Retry-After`, rate-limit reset). A longer wait fails at once with a
   * `ConnectorError` of kind `Api` that says when the limit resets. Default 60 s.
   */
  readonly maxWaitMs?: number;
  /** Also retry network errors and 5xx for POST and PATCH. Default false. */
  readonly unsafeMethods?: boolean;
}

/**
 * Why the client is about to wait and send a request again.
 *
 * @example
 * createHttpClient({ onRetry: (e) => console.warn(`retry ${e.attempt + 1} of ${e.url} in ${e.delayMs} ms (${e.reason})`) });
 */
export interface RetryEvent {
  readonly method: string;
  /** The request URL, with secret-looking query parameters redacted. */
  readonly url: string;
  /** The attempt that failed, from 1. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** How long the client waits before the next attempt. */
  readonly delayMs: number;
  readonly reason: 'network' | 'timeout' | 'status' | 'rate-limit';
  /** Response status, for `status` and `rate-limit`. */
  readonly status: number | undefined;
  /** The network error, for `network` and `timeout`. */
  readonly error: unknown;
}

/**
 * A response the API rejected because of its rate limit, or any response that
 * carried rate-limit headers: lets a UI show the current state.
 *
 * @example
 * createHttpClient({
 *   onRateLimit: (e) => {
 *     if (e.limited) status.textContent = `rate limited, retrying in ${Math.ceil((e.waitMs ?? 0) / 1000)} s`;
 *     else status.textContent = `${e.state?.remaining ?? '?'} requests left`;
 *   },
 * });
 */
export interface RateLimitEvent {
  readonly method: string;
  readonly url: string;
  readonly status: number;
  /** The rate-limit headers of this response, if it had any. */
  readonly state: RateLimitState | undefined;
  /** True when this response was rejected by the rate limit (429, or 403 with remaining 0 or Retry-After). */
  readonly limited: boolean;
  /** For a limited response: how long until the server allows another request, when it said. */
  readonly waitMs: number | undefined;
  /** For a limited response: whether the client will wait and retry (false: it fails). */
  readonly willRetry: boolean;
}

/**
 * Options of {@link createHttpClient}.
 *
 * @example
 * const client = createHttpClient({
 *   baseUrl: 'https://api.github.com',
 *   headers: { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' },
 *   authorize: (request) => request.headers.set('authorization', `Bearer ${token}`),
 *   timeoutMs: 15_000,
 *   retry: { maxAttempts: 5 },
 * });
 */
export interface HttpClientOptions {
  /** Prefix of relative paths. `https://host/v2` + `/items` is `https://host/v2/items`. */
  readonly baseUrl?: string | URL;
  /** The fetch to call; default the global `fetch`, looked up per request and called unbound (safe in Workers). */
  readonly fetch?: FetchLike;
  /**
   * Default headers of every request, or an (async) function of the request
   * URL that returns them, called for every attempt (so rotated tokens apply).
   * Per-request headers override them.
   */
  readonly headers?: HeadersLike | ((url: URL) => HeadersLike | Promise<HeadersLike>);
  /**
   * Called for every attempt with the request about to be sent: set
   * credentials on `request.headers`, or return a replacement request (build
   * it with `new Request(request, init)` so it keeps the abort signal).
   */
  readonly authorize?: (request: Request) => void | Request | Promise<void | Request>;
  /** Per-attempt timeout covering the response and the reading of its body. Default 30 s; 0 or Infinity disables. */
  readonly timeoutMs?: number;
  /** Retry policy; `false` sends every request once. */
  readonly retry?: RetryOptions | false;
  /** Most bytes of a JSON body the client reads; a larger one is an `Api` error, not retried. Default 64 MiB. */
  readonly maxBodyBytes?: number;
  /** Called before each wait-and-retry. Exceptions it throws fail the request. */
  readonly onRetry?: (event: RetryEvent) => void;
  /** Called for each response with rate-limit headers and each rate-limited response. Exceptions it throws fail the request. */
  readonly onRateLimit?: (event: RateLimitEvent) => void;
  /** Waits between attempts; default a `setTimeout` that stops when `signal` aborts. Tests inject a fake. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Clock for `Retry-After` dates and rate-limit resets, epoch ms. Default `Date.now`. */
  readonly now?: () => number;
  /** Jitter source in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
}

/**
 * Options of one request: `RequestInit` plus query parameters, overrides of
 * the client's timeout and retry policy, and statuses to return instead of
 * throwing.
 *
 * @example
 * const res = await client.request('/repos/acme/app', { acceptStatus: [404], signal: ctx.signal });
 * if (res.status === 404) return; // gone: nothing to collect
 */
export interface RequestOptions extends Omit<RequestInit, 'signal'> {
  readonly signal?: AbortSignal | null;
  readonly query?: QueryParams;
  readonly timeoutMs?: number;
  readonly retry?: RetryOptions | false;
  /** Non-2xx statuses returned as a response instead of thrown (never retried). */
  readonly acceptStatus?: readonly number[];
}

/**
 * Options of a JSON request: {@link RequestOptions} plus a validator for the
 * decoded body.
 *
 * @example
 * const user = await client.getJson('/user', { validate: z.object({ login: z.string() }) });
 */
export interface JsonRequestOptions<T> extends RequestOptions {
  readonly validate?: Validator<T>;
}

/**
 * A decoded JSON body with the response it came from (its body already read;
 * status, headers and URL remain useful, as for pagination).
 *
 * @example
 * const { data, response } = await client.fetchJson<Repo[]>('/orgs/acme/repos');
 * console.log(data.length, response.headers.get('link'));
 */
export interface JsonResponse<T> {
  readonly data: T;
  readonly response: Response;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;
const DEFAULTS = { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 30_000, maxWaitMs: 60_000, unsafeMethods: false };
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const EXCERPT_CHARS = 200;
const JSON_ACCEPT: HeadersLike = { accept: 'application/json' };
const SECRET_PARAM = /token|key|secret|password|passwd|signature|sig$|auth|credential|session|code/i;

type ResolvedRetry = Required<RetryOptions>;

function resolveRetry(...layers: (RetryOptions | false | undefined)[]): ResolvedRetry {
  let out: ResolvedRetry = { ...DEFAULTS };
  for (const layer of layers) {
    if (layer === undefined) continue;
    if (layer === false) out = { ...out, maxAttempts: 1 };
    else out = { ...out, ...Object.fromEntries(Object.entries(layer).filter(([, v]) => v !== undefined)) };
  }
  return { ...out, maxAttempts: Math.max(1, Math.floor(out.maxAttempts)) };
}

/**
 * The URL as errors and events show it: no user or password, and the values
 * of query parameters whose names look secret (token, key, secret, signature,
 * auth, password, code, …) replaced by `REDACTED`.
 *
 * @example
 * import { displayUrl } from 'parallax-edge/http';
 * displayUrl(new URL('https://user:pw@api.test/items?api_key=s3cr3t&page=2'));
 * // 'https://api.test/items?api_key=REDACTED&page=2'
 */
export function displayUrl(url: URL): string {
  const shown = new URL(url.href);
  shown.username = '';
  shown.password = '';
  const secret = new Set<string>();
  shown.searchParams.forEach((_value, name) => {
    if (SECRET_PARAM.test(name)) secret.add(name);
  });
  for (const name of secret) shown.searchParams.set(name, 'REDACTED');
  return shown.href;
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || (status >= 500 && status <= 599 && status !== 501 && status !== 505);
}

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  const detail = cause instanceof Error ? (('code' in cause && typeof cause.code === 'string' && cause.code) || cause.message) : undefined;
  return detail && detail !== error.message ? `${error.message} (${detail})` : error.message;
}

/** Collapses a body to one short line; HTML error pages lose their markup. */
function summarize(text: string, contentType: string | null): string {
  let body = text;
  if (contentType?.includes('html') || /^\s*</.test(body)) {
    body = body.replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' ');
  }
  body = body.replace(/\s+/g, ' ').trim();
  return body.length > EXCERPT_CHARS ? `${body.slice(0, EXCERPT_CHARS)}…` : body;
}

/** Reads at most a few KB of a body for an error message; never throws. */
async function bodyExcerpt(response: Response): Promise<string> {
  if (!response.body || response.bodyUsed) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < EXCERPT_CHARS * 20) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // A body that fails mid-way still gives what was read.
  } finally {
    reader.cancel().catch(() => {});
  }
  return summarize(text, response.headers.get('content-type'));
}

/**
 * The body as text, refused past `maxBytes`: a broken or hostile server
 * could otherwise send more than the runtime's memory. A stream failure
 * here is a transport failure (retried); the size refusal is not retried.
 */
async function bodyText(response: Response, maxBytes: number, label: string, endpoint: string): Promise<string> {
  const tooLarge = (): ConnectorError =>
    ConnectorError.api(response.status, endpoint, `${label} returned a body over ${maxBytes.toLocaleString('en-US')} bytes (maxBodyBytes)`);
  if (Number(response.headers.get('content-length')) > maxBytes) {
    discard(response);
    throw tooLarge();
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let bytes = 0;
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    if (bytes > maxBytes) {
      reader.cancel().catch(() => {});
      throw tooLarge();
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}

function discard(response: Response): void {
  if (response.body && !response.bodyUsed) response.body.cancel().catch(() => {});
}

const withExcerpt = (message: string, excerpt: string): string => (excerpt ? `${message}: ${excerpt}` : message);

/** A failure of the transport (connection, timeout, body stream), as opposed to a bad answer. */
class TransportFailure {
  constructor(
    readonly error: unknown,
    readonly timedOut: boolean,
  ) {}
}

/**
 * Reads an accepted response inside its attempt (so the timeout covers it). A
 * ConnectorError it throws is final; anything else is a transport failure and
 * is retried like a network error.
 */
type BodyReader<R> = (response: Response, url: URL) => Promise<R>;

/**
 * A fetch wrapper for connector authors that behaves well in Workers,
 * browsers and Node: base URL, default and auth headers, per-attempt
 * timeouts, caller aborts, retries with backoff and full jitter, `Retry-After`
 * and rate-limit reset headers, and errors as `ConnectorError`s:
 *
 * - 401 → kind `AuthFailed` (status and endpoint set);
 * - other non-2xx, malformed JSON, a body the validator rejects, a rate limit
 *   that resets later than `retry.maxWaitMs` → kind `Api` with `status`
 *   and `endpoint`, the message quoting the start of the body;
 * - network errors and timeouts after the last attempt → kind `Api` with
 *   `status` undefined and the original error as `cause`;
 * - an abort of the caller's `signal` → rejects with `signal.reason` itself,
 *   at once, also during a backoff wait.
 *
 * @example
 * import { createHttpClient } from 'parallax-edge/http';
 * const client = createHttpClient({
 *   baseUrl: 'https://api.github.com',
 *   headers: { accept: 'application/vnd.github+json' },
 *   timeoutMs: 10_000,
 * });
 * const repo = await client.getJson<{ id: number; full_name: string }>('/repos/octocat/hello-world', {
 *   signal: AbortSignal.timeout(60_000),
 * });
 * console.log(repo.full_name, client.rateLimit?.remaining);
 */
export class HttpClient {
  readonly #options: HttpClientOptions;
  readonly #baseUrl: string | undefined;
  #rateLimit: RateLimitState | undefined;

  constructor(options: HttpClientOptions = {}) {
    this.#options = options;
    if (options.baseUrl !== undefined) {
      const base = String(options.baseUrl);
      try {
        new URL(base);
      } catch (cause) {
        throw new ConnectorError('Configuration', `baseUrl "${base}" is not an absolute URL`, { field: 'baseUrl', cause });
      }
      this.#baseUrl = base;
    }
  }

  /**
   * Rate-limit state from the last response that carried rate-limit headers
   * (responses without them leave it as it was); `undefined` before any.
   *
   * @example
   * await client.getJson('/rate_limit');
   * const { remaining, limit, resetAt } = client.rateLimit ?? {};
   * console.log(`${remaining}/${limit}, resets ${resetAt ? new Date(resetAt).toISOString() : 'unknown'}`);
   */
  get rateLimit(): RateLimitState | undefined {
    return this.#rateLimit;
  }

  /**
   * The absolute URL a path resolves to. Absolute URLs are kept; relative
   * paths are appended to `baseUrl` (its path is kept, unlike `new URL(path, base)`).
   *
   * @example
   * createHttpClient({ baseUrl: 'https://api.example.com/v2' }).url('items', { page: 2 }).href;
   * // 'https://api.example.com/v2/items?page=2'
   */
  url(path: string | URL, query?: QueryParams): URL {
    let url: URL;
    if (path instanceof URL || /^[a-z][a-z0-9+.-]*:/i.test(path)) {
      url = new URL(String(path));
    } else if (this.#baseUrl !== undefined) {
      const base = this.#baseUrl.replace(/\/+$/, '');
      url = new URL(path === '' ? base : `${base}/${path.replace(/^\/+/, '')}`);
    } else {
      throw new ConnectorError('Configuration', `"${path}" is a relative path and the HTTP client has no baseUrl`, { field: 'baseUrl' });
    }
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      if (Array.isArray(value)) {
        url.searchParams.delete(name);
        for (const item of value) url.searchParams.append(name, String(item));
      } else {
        url.searchParams.set(name, String(value));
      }
    }
    return url;
  }

  /**
   * Sends a request with the client's headers, auth, timeout and retries and
   * returns the response (status 2xx or in `acceptStatus`). Its body is
   * unread; the timeout keeps running until the body is read.
   *
   * @example
   * const res = await client.request('/repos/acme/app/tarball', { signal: ctx.signal });
   * const bytes = new Uint8Array(await res.arrayBuffer());
   */
  async request(path: string | URL, init: RequestOptions = {}): Promise<Response> {
    return (await this.#exchange(path, init, async (response) => response, undefined, true)).response;
  }

  /**
   * Like {@link HttpClient.getJson} but also returns the response, for its
   * headers (pagination, ETags). `init.method` and `init.body` may make it a
   * JSON request of any method; a 204 gives `data` undefined.
   *
   * @example
   * const { data, response } = await client.fetchJson('/search/code', { query: { q: 'token' } });
   */
  async fetchJson<T = unknown>(path: string | URL, init: JsonRequestOptions<T> = {}): Promise<JsonResponse<T>> {
    const { validate, ...rest } = init;
    const method = (init.method ?? 'GET').toUpperCase();
    const { result, response } = await this.#exchange(path, rest, async (res, url) => {
      const endpoint = displayUrl(url);
      if (res.status === 204 || res.status === 205 || method === 'HEAD') return undefined;
      const text = await bodyText(res, this.#options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, `${method} ${endpoint}`, endpoint);
      let data: unknown;
      try {
        if (text.trim() === '') throw new Error('the body is empty');
        data = JSON.parse(text);
      } catch (cause) {
        const type = res.headers.get('content-type') ?? 'no content-type';
        throw ConnectorError.api(
          res.status,
          endpoint,
          `${method} ${endpoint} returned malformed JSON (status ${res.status}, ${type}, ${text.length} chars): ${errorText(cause)}; body: ${summarize(text, type) || '(empty)'}`,
          cause,
        );
      }
      if (!validate) return data;
      try {
        return validate.parse(data);
      } catch (cause) {
        throw ConnectorError.api(
          res.status,
          endpoint,
          `${method} ${endpoint} returned JSON of an unexpected shape: ${summarize(errorText(cause), null)}`,
          cause,
        );
      }
    }, JSON_ACCEPT);
    return { data: result as T, response };
  }

  /**
   * GETs a path and decodes its JSON body, optionally checked by a validator
   * (a zod schema works). A bad status, a truncated or malformed body and a
   * validation failure all reject with a `ConnectorError` (see the class).
   *
   * @example
   * const repos = await client.getJson<Repo[]>('/orgs/acme/repos', { query: { per_page: 100 }, signal: ctx.signal });
   * const user = await client.getJson('/user', { validate: z.object({ login: z.string() }) });
   */
  async getJson<T = unknown>(path: string | URL, init: JsonRequestOptions<T> = {}): Promise<T> {
    return (await this.fetchJson<T>(path, init)).data;
  }

  async #buildRequest(url: URL, init: RequestOptions, signal: AbortSignal | undefined, fallback: HeadersLike | undefined): Promise<Request> {
    const { query: _q, timeoutMs: _t, retry: _r, acceptStatus: _a, signal: _s, headers: own, ...requestInit } = init;
    const defaults = this.#options.headers;
    // Precedence: per-request headers, then the client's, then the method's own (accept for JSON).
    const headers = new Headers(fallback);
    new Headers(typeof defaults === 'function' ? await defaults(url) : defaults).forEach((value, name) => headers.set(name, value));
    new Headers(own).forEach((value, name) => headers.set(name, value));
    let request = new Request(url, { ...requestInit, headers, signal: signal ?? null });
    if (this.#options.authorize) request = (await this.#options.authorize(request)) ?? request;
    return request;
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  #backoff(attempt: number, retry: ResolvedRetry): number {
    const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
    const random = (this.#options.random ?? Math.random)();
    return Math.floor(Math.min(Math.max(random, 0), 1) * ceiling);
  }

  async #wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
    const sleep = this.#options.sleep ?? defaultSleep;
    await raceAbort(sleep(ms, signal), signal);
  }

  async #exchange<R>(
    path: string | URL,
    init: RequestOptions,
    read: BodyReader<R>,
    fallbackHeaders: HeadersLike | undefined,
    keepTimeoutOnSuccess = false,
  ): Promise<{ result: R; response: Response }> {
    const url = this.url(path, init.query);
    const endpoint = displayUrl(url);
    const method = (init.method ?? 'GET').toUpperCase();
    const caller = init.signal ?? undefined;
    const retry = resolveRetry(this.#options.retry, init.retry);
    // A stream body cannot be sent twice.
    const replayable = !(typeof ReadableStream === 'function' && init.body instanceof ReadableStream);
    const maxAttempts = replayable ? retry.maxAttempts : 1;
    const mayRetryFailure = IDEMPOTENT.has(method) || retry.unsafeMethods;
    const timeoutMs = init.timeoutMs ?? this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const accepted = init.acceptStatus ?? [];
    const label = `${method} ${endpoint}`;
    const retryAfterFailure = async (attempt: number, delayMs: number, event: Pick<RetryEvent, 'reason' | 'status' | 'error'>) => {
      this.#options.onRetry?.({ method, url: endpoint, attempt, maxAttempts, delayMs, ...event });
      await this.#wait(delayMs, caller);
    };

    for (let attempt = 1; ; attempt++) {
      caller?.throwIfAborted();
      const attemptAbort = attemptSignal(caller, timeoutMs);
      let response: Response;
      try {
        const request = await this.#buildRequest(url, init, attemptAbort.signal, fallbackHeaders);
        const fetch = this.#options.fetch ?? globalThis.fetch;
        try {
          response = await fetch(request);
        } catch (error) {
          throw new TransportFailure(error, attemptAbort.timedOut());
        }
        const state = readRateLimit(response.headers, this.#now());
        if (state) this.#rateLimit = state;
        if (response.ok || accepted.includes(response.status)) {
          if (state) this.#options.onRateLimit?.({ method, url: endpoint, status: response.status, state, limited: false, waitMs: undefined, willRetry: false });
          let result: R;
          try {
            result = await read(response, url);
          } catch (error) {
            if (error instanceof ConnectorError) throw error;
            throw new TransportFailure(error, attemptAbort.timedOut());
          }
          if (!keepTimeoutOnSuccess) attemptAbort.dispose();
          return { result, response };
        }
      } catch (error) {
        attemptAbort.dispose();
        if (caller?.aborted) throw caller.reason;
        if (!(error instanceof TransportFailure)) throw error;
        const what = error.timedOut ? `timed out after ${timeoutMs} ms` : `failed: ${errorText(error.error)}`;
        if (attempt < maxAttempts && mayRetryFailure) {
          await retryAfterFailure(attempt, this.#backoff(attempt, retry), {
            reason: error.timedOut ? 'timeout' : 'network',
            status: undefined,
            error: error.error,
          });
          continue;
        }
        const attempts = attempt > 1 ? ` (${attempt} attempts)` : '';
        throw new ConnectorError('Api', `${label} ${what}${attempts}`, { endpoint, cause: error.error });
      }

      // A status the caller did not accept. The attempt's timeout still covers reading its body.
      try {
        const status = response.status;
        const statusText = response.statusText ? ` ${response.statusText}` : '';
        if (status === 401) {
          const excerpt = await bodyExcerpt(response);
          throw new ConnectorError('AuthFailed', withExcerpt(`${label} was refused with 401${statusText}: check the credentials`, excerpt), {
            status,
            endpoint,
          });
        }

        const limit = this.#rateLimitWait(response);
        if (limit.limited) {
          const willWait = limit.waitMs === undefined || limit.waitMs <= retry.maxWaitMs;
          const willRetry = willWait && attempt < maxAttempts;
          this.#options.onRateLimit?.({ method, url: endpoint, status, state: limit.state, limited: true, waitMs: limit.waitMs, willRetry });
          if (!willRetry) {
            const excerpt = await bodyExcerpt(response);
            const message = this.#rateLimitMessage(label, status, limit, retry, attempt, willWait);
            throw new ConnectorError('Api', withExcerpt(message, excerpt), { status, endpoint, ...(limit.waitMs === undefined ? {} : { retryAfterMs: limit.waitMs }) });
          }
          discard(response);
          const delayMs = limit.waitMs !== undefined && limit.waitMs > 0 ? limit.waitMs : this.#backoff(attempt, retry);
          await retryAfterFailure(attempt, delayMs, { reason: 'rate-limit', status, error: undefined });
          continue;
        }
        if (limit.state) {
          this.#options.onRateLimit?.({ method, url: endpoint, status, state: limit.state, limited: false, waitMs: undefined, willRetry: false });
        }

        if (isRetryableStatus(status) && mayRetryFailure && attempt < maxAttempts) {
          const retryAfter = parseRetryAfter(response.headers.get('retry-after'), this.#now());
          if (retryAfter === undefined || retryAfter <= retry.maxWaitMs) {
            discard(response);
            await retryAfterFailure(attempt, retryAfter ?? this.#backoff(attempt, retry), { reason: 'status', status, error: undefined });
            continue;
          }
        }

        const excerpt = await bodyExcerpt(response);
        const attempts = attempt > 1 ? ` after ${attempt} attempts` : '';
        const retryAfterMs = isRetryableStatus(status) ? parseRetryAfter(response.headers.get('retry-after'), this.#now()) : undefined;
        throw new ConnectorError('Api', withExcerpt(`${label} failed with ${status}${statusText}${attempts}`, excerpt), {
          status,
          endpoint,
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        });
      } catch (error) {
        if (caller?.aborted) throw caller.reason;
        throw error;
      } finally {
        attemptAbort.dispose();
      }
    }
  }

  /** Whether a non-2xx response is a rate limit, and how long the server asks to wait. */
  #rateLimitWait(response: Response): { limited: boolean; waitMs: number | undefined; state: RateLimitState | undefined } {
    const now = this.#now();
    const state = readRateLimit(response.headers, now);
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'), now);
    const exhausted = state?.remaining === 0;
    const limited = response.status === 429 || (response.status === 403 && (exhausted || retryAfter !== undefined));
    if (!limited) return { limited, waitMs: undefined, state };
    let waitMs = retryAfter;
    if (waitMs === undefined && state?.resetAt !== undefined && (exhausted || state.remaining === undefined)) {
      waitMs = Math.max(0, state.resetAt - now);
    }
    return { limited, waitMs, state };
  }

  #rateLimitMessage(
    label: string,
    status: number,
    limit: { waitMs: number | undefined; state: RateLimitState | undefined },
    retry: ResolvedRetry,
    attempt: number,
    willWait: boolean,
  ): string {
    const { state, waitMs } = limit;
    const quota =
      state?.remaining !== undefined ? `, ${state.remaining}${state.limit !== undefined ? ` of ${state.limit}` : ''} requests left` : '';
    const resetAt = waitMs === undefined ? undefined : this.#now() + waitMs;
    const when = resetAt === undefined ? '' : ` It resets at ${new Date(resetAt).toISOString()}, in ${Math.ceil(waitMs! / 1000)} s`;
    if (!willWait) {
      return `${label} was stopped by the rate limit (${status}${quota}).${when}, later than the ${Math.round(retry.maxWaitMs / 1000)} s this client waits (retry.maxWaitMs)`;
    }
    return `${label} was stopped by the rate limit (${status}${quota}) after ${attempt} attempts.${when ? `${when}.` : ''}`;
  }
}

/**
 * Creates an {@link HttpClient}.
 *
 * @example
 * import { createHttpClient } from 'parallax-edge/http';
 * const client = createHttpClient({ baseUrl: 'https://registry.npmjs.org', retry: { maxAttempts: 3 } });
 * const pkg = await client.getJson<{ 'dist-tags': { latest: string } }>('/zod');
 * console.log(pkg['dist-tags'].latest);
 */
export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  return new HttpClient(options);
}
