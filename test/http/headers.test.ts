import { describe, expect, it } from 'vitest';
import { findLink, parseLinkHeader, parseRetryAfter, readRateLimit } from 'parallax-edge/http';
import { attemptSignal } from '../../src/http/signals.js';

describe('parseLinkHeader (RFC 8288)', () => {
  it('reads several links with their rel values (GitHub style)', () => {
    const header =
      '<https://api.github.com/repositories/1/issues?page=2>; rel="next", <https://api.github.com/repositories/1/issues?page=5>; rel="last"';
    expect(parseLinkHeader(header)).toEqual([
      { uri: 'https://api.github.com/repositories/1/issues?page=2', rel: ['next'], params: { rel: 'next' } },
      { uri: 'https://api.github.com/repositories/1/issues?page=5', rel: ['last'], params: { rel: 'last' } },
    ]);
  });

  it('keeps commas and semicolons inside quoted parameters and inside the target', () => {
    const header = '<https://x.test/a?ids=1,2;3>; title="Page 2, part; one"; rel="next", <https://x.test/z>; rel=prev';
    const links = parseLinkHeader(header);
    expect(links).toHaveLength(2);
    expect(links[0]).toEqual({ uri: 'https://x.test/a?ids=1,2;3', rel: ['next'], params: { title: 'Page 2, part; one', rel: 'next' } });
    expect(links[1]!.rel).toEqual(['prev']);
  });

  it('unescapes quoted-pairs, lowercases parameter names and rel values, and splits rel on whitespace', () => {
    const [link] = parseLinkHeader('<https://x.test/2>; REL="Next  Last"; Title="say \\"hi\\""');
    expect(link!.rel).toEqual(['next', 'last']);
    expect(link!.params.title).toBe('say "hi"');
  });

  it('parameters named __proto__ or constructor are kept as data, as a hostile server sends them', () => {
    const [link] = parseLinkHeader('<https://x.test/2>; __proto__="p"; constructor=c; rel="next"');
    expect(Object.keys(link!.params)).toEqual(['__proto__', 'constructor', 'rel']);
    expect(Object.getOwnPropertyDescriptor(link!.params, '__proto__')?.value).toBe('p');
    expect(link!.params.constructor).toBe('c');
    expect(link!.rel).toEqual(['next']);
  });

  it('ignores a repeated rel parameter, as the RFC requires', () => {
    expect(parseLinkHeader('<https://x.test/2>; rel="prev"; rel="next"')[0]!.rel).toEqual(['prev']);
  });

  it('accepts whitespace around separators and "=", and empty list elements', () => {
    const links = parseLinkHeader(' ,  <https://x.test/1> ;rel = next ,, <https://x.test/2>;rel="last"  ');
    expect(links.map((l) => [l.uri, l.rel])).toEqual([
      ['https://x.test/1', ['next']],
      ['https://x.test/2', ['last']],
    ]);
  });

  it('resolves relative targets against the base URL', () => {
    expect(findLink('</items?cursor=abc>; rel="next"', 'next', 'https://api.test/v1/items?cursor=start')).toBe('https://api.test/items?cursor=abc');
    expect(findLink('<page3>; rel="next"', 'next', 'https://api.test/v1/page2')).toBe('https://api.test/v1/page3');
  });

  it('skips malformed links instead of throwing, and reads the good ones', () => {
    const links = parseLinkHeader('garbage; rel="x", <https://x.test/ok>; rel="next", <unterminated; rel="last"');
    expect(links.map((l) => l.uri)).toEqual(['https://x.test/ok']);
    expect(parseLinkHeader('')).toEqual([]);
    expect(parseLinkHeader(null)).toEqual([]);
  });

  it('findLink returns undefined when there is no link of that relation', () => {
    expect(findLink('<https://x.test/1>; rel="prev"')).toBeUndefined();
    expect(findLink('<https://x.test/1>; rel="prev next"')).toBe('https://x.test/1');
  });
});

describe('parseRetryAfter (RFC 9110)', () => {
  const now = Date.parse('2030-01-01T00:00:00Z');
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
  });
  it('reads an HTTP date relative to now; a past date means no wait', () => {
    expect(parseRetryAfter('Tue, 01 Jan 2030 00:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Mon, 31 Dec 2029 23:00:00 GMT', now)).toBe(0);
  });
  it('a delay too large for a date (400 digits) is the longest wait a date can name, never Infinity', () => {
    const wait = parseRetryAfter('9'.repeat(400), now)!;
    expect(Number.isFinite(wait)).toBe(true);
    expect(wait).toBe(8.64e15 - now);
    expect(parseRetryAfter('99999999999999', now)).toBe(8.64e15 - now);
    expect(parseRetryAfter('99999999999', now)).toBe(99_999_999_999_000);
    expect(readRateLimit(new Headers({ 'x-ratelimit-reset': '1e300' }), now)?.resetAt).toBe(8.64e15);
  });
  it('returns undefined for missing or unreadable values', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
  });
});

describe('readRateLimit', () => {
  const now = 1_900_000_000_000;
  it('reads GitHub x-ratelimit-* headers with reset as epoch seconds', () => {
    const headers = new Headers({
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': '1900000060',
      'x-ratelimit-resource': 'core',
    });
    expect(readRateLimit(headers, now)).toEqual({ limit: 5000, remaining: 0, resetAt: 1_900_000_060_000, resource: 'core', observedAt: now });
  });
  it('reads the IETF draft ratelimit-* headers with reset as delta-seconds', () => {
    const headers = new Headers({ 'ratelimit-limit': '100;w=60', 'ratelimit-remaining': '5', 'ratelimit-reset': '30' });
    expect(readRateLimit(headers, now)).toMatchObject({ limit: 100, remaining: 5, resetAt: now + 30_000 });
  });
  it('returns undefined without rate-limit headers and ignores unreadable values', () => {
    expect(readRateLimit(new Headers({ 'content-type': 'application/json' }), now)).toBeUndefined();
    expect(readRateLimit(new Headers({ 'x-ratelimit-remaining': 'lots', 'x-ratelimit-limit': '10' }), now)).toMatchObject({
      limit: 10,
      remaining: undefined,
    });
  });
});

describe('attempt signals', () => {
  for (const useNative of [true, false]) {
    const path = useNative ? 'AbortSignal.any/timeout' : 'the fallback for runtimes without AbortSignal.any/timeout';
    it(`a timeout aborts the attempt and is told apart from a caller abort (${path})`, async () => {
      const caller = new AbortController();
      const attempt = attemptSignal(caller.signal, 20, useNative);
      await new Promise<void>((resolve) => attempt.signal!.addEventListener('abort', () => resolve(), { once: true }));
      expect(attempt.timedOut()).toBe(true);
      expect((attempt.signal!.reason as DOMException).name).toBe('TimeoutError');
      attempt.dispose();
    });

    it(`a caller abort aborts the attempt with the caller's reason and is not a timeout (${path})`, () => {
      const caller = new AbortController();
      const attempt = attemptSignal(caller.signal, 60_000, useNative);
      const reason = new Error('cancelled');
      caller.abort(reason);
      expect(attempt.signal!.aborted).toBe(true);
      expect(attempt.signal!.reason).toBe(reason);
      expect(attempt.timedOut()).toBe(false);
      attempt.dispose();
    });
  }

  it('without a timeout the caller signal is used as is', () => {
    const caller = new AbortController();
    expect(attemptSignal(caller.signal, 0).signal).toBe(caller.signal);
    expect(attemptSignal(undefined, Infinity).signal).toBeUndefined();
  });
});
