import { blake3 } from '@noble/hashes/blake3.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { BLAKE3_CHUNK_BYTES, LITTLE_ENDIAN, blake3Message, blake3Words } from './blake3.js';

/*
 * Every emitted record gets an id on the emit path, so ids must be cheap:
 * an id input (a few dozen bytes) is one BLAKE3 chunk, hashed by the core's
 * own compression (blake3.ts) from a reused encode buffer. Longer inputs and
 * content hashes go through noble, whose per-call set-up is avoided by
 * copying a template hasher into a reused one (`_cloneInto`, noble's own way
 * to reuse a hasher, as its HMAC does). Same bytes as `blake3()` /
 * `sha256()`: test/model/ids.test.ts checks reference vectors and agreement
 * for inputs of every size class. Synchronous and single-threaded, so the
 * shared buffers are safe.
 */
const encoder = new TextEncoder();
let input = new Uint8Array(4096);
/** The input buffer as BLAKE3 message words (a one-chunk id input is hashed in place). */
let inputWords = new Uint32Array(input.buffer);
const out = new Uint8Array(32);
/** Char codes of the two hex digits of every byte value, at 2b and 2b+1. */
const HEX_CODES = new Uint16Array(512).map((_, i) => '0123456789abcdef'.charCodeAt(i & 1 ? (i >> 1) & 15 : i >> 5));
const hexChars = new Uint16Array(32);

/** `text` as UTF-8 in the reused input buffer; returns the view of the bytes written. */
function utf8(text: string): Uint8Array {
  // UTF-8 takes at most 3 bytes per UTF-16 code unit.
  if (text.length * 3 > input.length) {
    input = new Uint8Array((Math.max(text.length * 3, input.length * 2) + 3) & ~3);
    inputWords = new Uint32Array(input.buffer);
  }
  return input.subarray(0, encoder.encodeInto(text, input).written);
}

/**
 * Appends `text` as UTF-8 to the input buffer at `at`; returns the new end.
 * Id parts are short and nearly always ASCII: copied a code unit at a time,
 * which costs less than a call into the encoder; from the first other code
 * unit on (a pair is never split: it starts there), the encoder writes the
 * rest, lone surrogates as U+FFFD as it does for the whole text.
 */
function putUtf8(text: string, at: number): number {
  const n = text.length;
  // One more byte than the text can take: the NUL that may follow.
  if (at + n * 3 + 1 > input.length) {
    // A whole number of words, for inputWords.
    const grown = new Uint8Array((Math.max(at + n * 3 + 1, input.length * 2) + 3) & ~3);
    grown.set(input.subarray(0, at));
    input = grown;
    inputWords = new Uint32Array(grown.buffer);
  }
  const buffer = input;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return at + encoder.encodeInto(i === 0 ? text : text.slice(i), buffer.subarray(at)).written;
    buffer[at++] = c;
  }
  return at;
}

/** BLAKE3 words of the id input: the parts' UTF-8 joined by NUL bytes (the same bytes as the joined text). */
function blake3Parts(a: string, b: string, c: string, d?: string, e?: string, f?: string): Uint32Array {
  let at = putUtf8(a, 0);
  input[at++] = 0;
  at = putUtf8(b, at);
  input[at++] = 0;
  at = putUtf8(c, at);
  if (d !== undefined) {
    input[at++] = 0;
    at = putUtf8(d, at);
    input[at++] = 0;
    at = putUtf8(e!, at);
    input[at++] = 0;
    at = putUtf8(f!, at);
  }
  // In place: no copy and no view object per id (the buffer holds at least 4096 bytes, a chunk and its padding).
  if (LITTLE_ENDIAN && at <= BLAKE3_CHUNK_BYTES) return blake3Message(inputWords, at);
  return blake3Bytes(input.subarray(0, at));
}

/** Sets hex digits `i` of `hexChars` for the byte `value`. */
function hexByte(i: number, value: number): void {
  const at = value << 1;
  hexChars[i << 1] = HEX_CODES[at]!;
  hexChars[(i << 1) + 1] = HEX_CODES[at + 1]!;
}

/**
 * `hexChars` as one flat string: cheaper than 16 concatenations (a rope to
 * flatten and collect) for ids that are kept and compared, and the digits
 * as arguments cost a third of `apply` over the typed array (measured in Node 20).
 */
function hexString(): string {
  const h = hexChars;
  return String.fromCharCode(
    h[0]!, h[1]!, h[2]!, h[3]!, h[4]!, h[5]!, h[6]!, h[7]!, h[8]!, h[9]!, h[10]!, h[11]!, h[12]!, h[13]!, h[14]!, h[15]!,
    h[16]!, h[17]!, h[18]!, h[19]!, h[20]!, h[21]!, h[22]!, h[23]!, h[24]!, h[25]!, h[26]!, h[27]!, h[28]!, h[29]!, h[30]!, h[31]!,
  );
}

/** Lowercase hex of the first 16 bytes of `out`. */
function hex16(): string {
  for (let i = 0; i < 16; i++) hexByte(i, out[i]!);
  return hexString();
}

const BLAKE3_TEMPLATE = blake3.create();
let blake3Hasher = blake3.create();
/** Words of the last id, for inputs longer than one chunk. */
const longWords = new Uint32Array(4);

/**
 * BLAKE3 over `bytes` (in the reused input buffer): the reused words whose first 4
 * hold the first 16 bytes, little-endian (valid until the next hash). Id
 * inputs fit one BLAKE3 chunk, hashed by the core's own compression; a
 * longer one goes through noble's general BLAKE3.
 */
function blake3Bytes(bytes: Uint8Array): Uint32Array {
  if (bytes.length <= BLAKE3_CHUNK_BYTES) return blake3Words(bytes);
  blake3Hasher = BLAKE3_TEMPLATE._cloneInto(blake3Hasher);
  blake3Hasher.update(bytes);
  blake3Hasher.xofInto(out.subarray(0, 16));
  for (let i = 0; i < 4; i++) longWords[i] = out[i * 4]! | (out[i * 4 + 1]! << 8) | (out[i * 4 + 2]! << 16) | (out[i * 4 + 3]! << 24);
  return longWords;
}

/** The 4 little-endian words of a 32-digit lowercase hex id (the inverse of {@link idHex}). */
export function idWords(hex: string): Uint32Array {
  const words = new Uint32Array(4);
  for (let i = 0; i < 16; i++) words[i >> 2]! |= Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16) << ((i & 3) << 3);
  return words;
}

/** Lowercase hex of the 16 bytes held little-endian in the 4 `words` from `at`. */
export function idHex(words: ArrayLike<number>, at = 0): string {
  for (let i = 0; i < 16; i++) hexByte(i, (words[at + (i >> 2)]! >>> ((i & 3) << 3)) & 0xff);
  return hexString();
}

const SHA256_TEMPLATE = sha256.create();
let sha256Hasher = sha256.create();

/** Lowercase hex of the first 16 bytes of SHA-256 over the UTF-8 bytes of `text`. */
function sha256Hex16(text: string): string {
  sha256Hasher = SHA256_TEMPLATE._cloneInto(sha256Hasher);
  sha256Hasher.update(utf8(text));
  sha256Hasher.digestInto(out);
  return hex16();
}

/**
 * INV-C03: the id Parallax derives for an entity, so data can move between
 * Parallax and parallax-edge: lowercase hex of the first 16 bytes of
 * BLAKE3(`accountId` NUL `type` NUL `key`).
 *
 * @example
 * entityId('acme', 'user', 'u-1'); // 32 lowercase hex characters, always the same
 */
export function entityId(accountId: string, type: string, key: string): string {
  return idHex(entityIdWords(accountId, type, key));
}

/**
 * The id of {@link entityId} as 4 little-endian words, in a buffer reused by
 * the next id (copy what you keep): the runner's duplicate set keys on them.
 */
export function entityIdWords(accountId: string, type: string, key: string): Uint32Array {
  return blake3Parts(accountId, type, key);
}

/** INV-C03: the id Parallax derives for a relationship (the six parts NUL-joined). */
export function relationshipId(
  accountId: string,
  fromType: string,
  fromKey: string,
  verb: string,
  toType: string,
  toKey: string,
): string {
  return idHex(relationshipIdWords(accountId, fromType, fromKey, verb, toType, toKey));
}

/** The id of {@link relationshipId} as words, like {@link entityIdWords}. */
export function relationshipIdWords(
  accountId: string,
  fromType: string,
  fromKey: string,
  verb: string,
  toType: string,
  toKey: string,
): Uint32Array {
  return blake3Parts(accountId, fromType, fromKey, verb, toType, toKey);
}

/**
 * A hex digest of arbitrary text, used as the content hash that diffs
 * compare: the first 16 bytes of SHA-256, lowercase hex. Any strong hash
 * does here (ids need BLAKE3 for Parallax, content hashes do not); in
 * JavaScript SHA-256 hashes a typical row about twice as fast as BLAKE3.
 */
export function contentHash(text: string): string {
  return nativeSha256Hex16 ? nativeSha256Hex16(text) : sha256Hex16(text);
}

/**
 * Lowercase hex of the whole SHA-256 digest of the UTF-8 bytes of `text`
 * (stores digest a batch's ids and hashes with it). Native where a runtime
 * installed it ({@link useNativeSha256}).
 */
export function sha256Hex(text: string): string {
  if (nativeSha256) return nativeSha256(text);
  sha256Hasher = SHA256_TEMPLATE._cloneInto(sha256Hasher);
  sha256Hasher.update(utf8(text));
  sha256Hasher.digestInto(out);
  return bytesToHex(out);
}

let nativeSha256: ((text: string) => string) | undefined;
let nativeSha256Hex16: ((text: string) => string) | undefined;

/** Inputs of every size class (empty, one block, one chunk, several chunks) and non-ASCII text. */
const PROBES = ['', 'abc', 'été ünïcödé 😀', '\ud800 lone', 'x'.repeat(63), 'x'.repeat(65), 'x'.repeat(1025), 'x'.repeat(5000)];

/**
 * Lets a runtime that has a fast synchronous SHA-256 compute content hashes
 * with it (the Node SQLite adapter installs Node's `crypto.hash`, several
 * times faster than SHA-256 in JavaScript). `sha256Hex` must return the
 * lowercase hex SHA-256 of the UTF-8 text (lone surrogates as U+FFFD, as
 * TextEncoder does): content hashes stay the same values, whichever runs.
 * It is checked against the built-in SHA-256 before use; a mismatch throws
 * and leaves the built-in one in place.
 */
export function useNativeSha256(sha256Hex: (text: string) => string): void {
  const hex16 = (text: string): string => sha256Hex(text).slice(0, 32);
  for (const probe of PROBES) {
    if (hex16(probe) !== sha256Hex16(probe)) throw new Error('useNativeSha256: the given function is not SHA-256 of UTF-8 text in lowercase hex');
  }
  nativeSha256Hex16 = hex16;
  nativeSha256 = sha256Hex;
}
