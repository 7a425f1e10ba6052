/**
 * Tiny deterministic randomness for the synthetic connector: a 32-bit integer
 * hash (MurmurHash3's finalizer, applied per part) to derive independent
 * streams from (seed, kind, index, ...) coordinates, and mulberry32 as the
 * per-record generator. Pure functions of their inputs, the same in every
 * runtime: no Math.random, no clock.
 */

/** MurmurHash3's 32-bit finalizer: a bijection on uint32 with good avalanche. */
export function fmix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hashes integer coordinates to a uint32; order matters. */
export function hash32(...parts: readonly number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    h = fmix32((h ^ fmix32((part + 0x6a09e667) | 0)) + 0x7f4a7c15);
  }
  return h;
}

/** A uniform number in [0, 1) at the given coordinates. */
export function unit(...parts: readonly number[]): number {
  return hash32(...parts) / 4294967296;
}

/** FNV-1a over a string's UTF-16 code units: turns names into coordinates. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A small seeded generator (mulberry32) with the helpers the generator needs. */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** Next uint32. */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Integer in [min, max]. */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** Picks by weight; `weighted([['a', 3], ['b', 1]])` returns 'a' three times as often. */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, weight] of items) total += weight;
    let roll = this.float() * total;
    for (const [item, weight] of items) {
      roll -= weight;
      if (roll < 0) return item;
    }
    return items[items.length - 1]![0];
  }

  /** Up to `k` distinct integers from [0, n), in draw order. */
  distinct(n: number, k: number): number[] {
    const count = Math.min(n, k);
    const out: number[] = [];
    while (out.length < count) {
      const candidate = this.int(n);
      if (!out.includes(candidate)) out.push(candidate);
    }
    return out;
  }

  /** `bytes * 2` lowercase hex digits. */
  hex(bytes: number): string {
    let out = '';
    while (out.length < bytes * 2) out += hex8(this.next());
    return out.slice(0, bytes * 2);
  }
}

/** Two lowercase hex digits of every byte value. */
const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * 8 lowercase hex digits of a uint32. From a byte table: keys are made for
 * every record and every relationship end, and `toString(16)` with
 * `padStart` cost a quarter of a re-sync's CPU.
 */
export function hex8(value: number): string {
  const v = value >>> 0;
  return HEX2[v >>> 24]! + HEX2[(v >>> 16) & 255]! + HEX2[(v >>> 8) & 255]! + HEX2[v & 255]!;
}
