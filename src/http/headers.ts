/** Parsers for the response headers the client acts on: Retry-After, rate-limit headers and Link. */

/** The last instant a Date holds (ECMA-262 time values), epoch ms. */
const MAX_TIME = 8.64e15;

/**
 * Milliseconds to wait according to a `Retry-After` header value (RFC 9110
 * §10.2.3): either delay-seconds (`"120"`, decimals tolerated) or an HTTP date,
 * measured against `now`. A date in the past gives 0. Returns `undefined` for
 * a missing or unreadable value.
 *
 * @example
 * import { parseRetryAfter } from 'parallax-edge/http';
 * parseRetryAfter('30'); // 30000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:00 GMT')); // 60000
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value == null) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  // A hostile delay (400 digits is Infinity) ends at the last instant a Date holds, so `now + wait` stays a date.
  if (/^\d+(\.\d+)?$/.test(text)) return Math.min(Math.round(Number(text) * 1000), Math.max(0, MAX_TIME - now));
  // An HTTP-date names its month ("Sun, 06 Nov 1994 08:49:37 GMT"); do not let
  // Date.parse read "-5" or "2" as a year.
  if (!/[A-Za-z]{3}/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * The rate-limit state an API reported in its last response that carried
 * rate-limit headers. Every field but `observedAt` is optional because APIs
 * send different subsets.
 *
 * @example
 * const state = client.rateLimit;
 * if (state?.remaining === 0) console.log(`rate limited until ${new Date(state.resetAt ?? 0).toISOString()}`);
 */
export interface RateLimitState {
  /** Requests allowed in the window (`x-ratelimit-limit` / `ratelimit-limit`). */
  readonly limit: number | undefined;
  /** Requests left in the window (`x-ratelimit-remaining` / `ratelimit-remaining`). */
  readonly remaining: number | undefined;
  /** When the window resets, epoch milliseconds (`x-ratelimit-reset` / `ratelimit-reset`). */
  readonly resetAt: number | undefined;
  /** The limit's bucket, when the API names it (GitHub's `x-ratelimit-resource`). */
  readonly resource: string | undefined;
  /** When the response was read, epoch milliseconds, by the client's clock. */
  readonly observedAt: number;
}

// Reset values at or above this are epoch seconds (2001-09-09); below it they
// are delta-seconds (the IETF RateLimit draft, Reddit).
const EPOCH_SECONDS_THRESHOLD = 1e9;

function numberHeader(headers: Headers, ...names: string[]): number | undefined {
  for (const name of names) {
    const raw = headers.get(name);
    if (raw === null) continue;
    // The IETF draft allows parameters (`100;w=60`); take the leading number.
    const value = Number(raw.split(/[;,]/, 1)[0]!.trim());
    if (raw.trim() !== '' && Number.isFinite(value)) return value;
  }
  return undefined;
}

/**
 * Reads rate-limit headers: `x-ratelimit-limit|remaining|reset|resource`
 * (GitHub and most APIs) and the IETF draft's `ratelimit-limit|remaining|reset`.
 * A reset value of 10^9 or more is read as epoch seconds (GitHub), a smaller one
 * as seconds from `now` (the IETF draft). Returns `undefined` when the
 * response has none of these headers.
 *
 * @example
 * import { readRateLimit } from 'parallax-edge/http';
 * const headers = new Headers({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1700000000' });
 * readRateLimit(headers)?.resetAt; // 1700000000000
 */
export function readRateLimit(headers: Headers, now: number = Date.now()): RateLimitState | undefined {
  const limit = numberHeader(headers, 'x-ratelimit-limit', 'ratelimit-limit');
  const remaining = numberHeader(headers, 'x-ratelimit-remaining', 'ratelimit-remaining');
  const reset = numberHeader(headers, 'x-ratelimit-reset', 'ratelimit-reset');
  const resource = headers.get('x-ratelimit-resource') ?? undefined;
  if (limit === undefined && remaining === undefined && reset === undefined) return undefined;
  const resetAt = reset === undefined ? undefined : Math.min(MAX_TIME, reset >= EPOCH_SECONDS_THRESHOLD ? reset * 1000 : now + reset * 1000);
  return { limit, remaining, resetAt, resource, observedAt: now };
}

/**
 * One link of a `Link` header (RFC 8288).
 *
 * @example
 * const [link] = parseLinkHeader('<https://api.example.com/items?page=2>; rel="next"');
 * link?.uri; // 'https://api.example.com/items?page=2'
 * link?.rel; // ['next']
 */
export interface LinkValue {
  /** The target, resolved against `base` when one was given, otherwise as written. */
  readonly uri: string;
  /** Relation types, lowercased; `rel="next last"` gives `['next', 'last']`. */
  readonly rel: readonly string[];
  /** Every parameter by lowercased name, unquoted; only the first occurrence of each counts. */
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Parses a `Link` header (RFC 8288 §3): several comma-separated links, each a
 * `<uri>` followed by `;`-separated parameters whose values may be tokens or
 * quoted strings (with `\` escapes, and commas or semicolons inside quotes).
 * Relation types are split on whitespace and lowercased; a repeated `rel` is
 * ignored as the RFC says. Malformed links are skipped, never thrown on.
 * Several `Link` header lines, as `Headers.get` joins them, parse as one.
 *
 * @param base resolves relative targets (pass the response URL).
 *
 * @example
 * import { parseLinkHeader } from 'parallax-edge/http';
 * const links = parseLinkHeader(
 *   '<https://api.github.com/repos?page=3>; rel="next", <https://api.github.com/repos?page=9>; rel="last"',
 * );
 * links.find((l) => l.rel.includes('next'))?.uri; // 'https://api.github.com/repos?page=3'
 */
export function parseLinkHeader(value: string | null | undefined, base?: string | URL): LinkValue[] {
  if (!value) return [];
  const links: LinkValue[] = [];
  let i = 0;
  const n = value.length;
  const skipSpace = (): void => {
    while (i < n && /[ \t\r\n]/.test(value[i]!)) i++;
  };
  const skipToNextLink = (): void => {
    // Skip to the comma that ends this link, honouring quoted strings.
    while (i < n && value[i] !== ',') {
      if (value[i] === '"') readQuoted();
      else i++;
    }
    if (i < n) i++;
  };
  const readQuoted = (): string => {
    // value[i] === '"'
    i++;
    let out = '';
    while (i < n && value[i] !== '"') {
      if (value[i] === '\\' && i + 1 < n) i++;
      out += value[i];
      i++;
    }
    i++; // closing quote (or end)
    return out;
  };

  while (i < n) {
    skipSpace();
    if (i >= n) break;
    if (value[i] === ',') {
      i++;
      continue;
    }
    if (value[i] !== '<') {
      skipToNextLink();
      continue;
    }
    const close = value.indexOf('>', i + 1);
    if (close < 0) break;
    const target = value.slice(i + 1, close).trim();
    i = close + 1;
    // No prototype: parameter names come from the server (`__proto__`, `constructor`).
    const params = Object.create(null) as Record<string, string>;
    // Parameters until the next top-level comma.
    for (;;) {
      skipSpace();
      if (i >= n || value[i] === ',') break;
      if (value[i] !== ';') {
        // Junk after the target: ignore up to the next parameter or link.
        while (i < n && value[i] !== ';' && value[i] !== ',') i++;
        continue;
      }
      i++; // ';'
      skipSpace();
      let name = '';
      while (i < n && !/[=;, \t]/.test(value[i]!)) name += value[i++];
      skipSpace();
      let paramValue = '';
      if (value[i] === '=') {
        i++;
        skipSpace();
        if (value[i] === '"') paramValue = readQuoted();
        else while (i < n && !/[;, \t]/.test(value[i]!)) paramValue += value[i++];
      }
      const key = name.toLowerCase();
      if (key !== '' && !Object.hasOwn(params, key)) params[key] = paramValue;
    }
    let uri = target;
    if (base !== undefined) {
      try {
        uri = new URL(target, base).href;
      } catch {
        continue;
      }
    }
    const rel = (params.rel ?? '')
      .split(/\s+/)
      .filter((r) => r !== '')
      .map((r) => r.toLowerCase());
    links.push({ uri, rel, params });
  }
  return links;
}

/**
 * The target of the first link with relation `rel` (default `next`), or
 * `undefined`.
 *
 * @example
 * import { findLink } from 'parallax-edge/http';
 * findLink(response.headers.get('link'), 'next', response.url);
 */
export function findLink(value: string | null | undefined, rel = 'next', base?: string | URL): string | undefined {
  const wanted = rel.toLowerCase();
  return parseLinkHeader(value, base).find((link) => link.rel.includes(wanted))?.uri;
}
