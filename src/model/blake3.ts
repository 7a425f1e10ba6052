/*
 * BLAKE3 for one chunk (inputs of at most 1024 bytes), the size of every id
 * input: the chunk's blocks compressed in a row, the last one as the root.
 * Written for ids, where a general hasher's set-up (objects, typed arrays,
 * a digest buffer) costs more than the compression: state and message
 * words live in local variables, and an id's bytes are read where they were
 * encoded ({@link blake3Message}). Same output as any BLAKE3 for
 * the same bytes (test/model/blake3.test.ts checks b3sum vectors and noble's
 * BLAKE3 at every length up to 1024); longer inputs are the caller's to
 * hash with a general implementation.
 */

/** The largest input {@link blake3Words} hashes: one BLAKE3 chunk. */
export const BLAKE3_CHUNK_BYTES = 1024;

const IV0 = 0x6a09e667;
const IV1 = 0xbb67ae85;
const IV2 = 0x3c6ef372;
const IV3 = 0xa54ff53a;
const IV4 = 0x510e527f;
const IV5 = 0x9b05688c;
const IV6 = 0x1f83d9ab;
const IV7 = 0x5be0cd19;

const CHUNK_START = 1;
const CHUNK_END = 2;
const ROOT = 8;

/** Where {@link blake3Words} copies its input: one chunk, aligned, as words. */
const chunk = new Uint32Array(BLAKE3_CHUNK_BYTES / 4);
const chunkBytes = new Uint8Array(chunk.buffer);
/** The chaining value between blocks, then the output words. */
const cv = new Uint32Array(8);

const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n));

/**
 * One compression of the block at word `at` of `m` into `cv` (BLAKE3's
 * compress, keeping the first 8 output words). The message words live in
 * locals, permuted between rounds as the specification does (word i of the
 * next round is word 2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8
 * of this one): cheaper than looking each one up through a schedule.
 */
function compress(m: Uint32Array, at: number, blockLen: number, flags: number): void {
  let v0 = cv[0]!, v1 = cv[1]!, v2 = cv[2]!, v3 = cv[3]!, v4 = cv[4]!, v5 = cv[5]!, v6 = cv[6]!, v7 = cv[7]!;
  let v8 = IV0, v9 = IV1, v10 = IV2, v11 = IV3;
  // Counter 0 (the only chunk), then the block length and flags.
  let v12 = 0, v13 = 0, v14 = blockLen, v15 = flags;
  let m0 = m[at + 0]! | 0, m1 = m[at + 1]! | 0, m2 = m[at + 2]! | 0, m3 = m[at + 3]! | 0, m4 = m[at + 4]! | 0, m5 = m[at + 5]! | 0, m6 = m[at + 6]! | 0, m7 = m[at + 7]! | 0, m8 = m[at + 8]! | 0, m9 = m[at + 9]! | 0, m10 = m[at + 10]! | 0, m11 = m[at + 11]! | 0, m12 = m[at + 12]! | 0, m13 = m[at + 13]! | 0, m14 = m[at + 14]! | 0, m15 = m[at + 15]! | 0;
  for (let round = 0; ; round++) {
    // Columns.
    v0 = (v0 + v4 + m0) | 0; v12 = rotr(v12 ^ v0, 16); v8 = (v8 + v12) | 0; v4 = rotr(v4 ^ v8, 12);
    v0 = (v0 + v4 + m1) | 0; v12 = rotr(v12 ^ v0, 8); v8 = (v8 + v12) | 0; v4 = rotr(v4 ^ v8, 7);
    v1 = (v1 + v5 + m2) | 0; v13 = rotr(v13 ^ v1, 16); v9 = (v9 + v13) | 0; v5 = rotr(v5 ^ v9, 12);
    v1 = (v1 + v5 + m3) | 0; v13 = rotr(v13 ^ v1, 8); v9 = (v9 + v13) | 0; v5 = rotr(v5 ^ v9, 7);
    v2 = (v2 + v6 + m4) | 0; v14 = rotr(v14 ^ v2, 16); v10 = (v10 + v14) | 0; v6 = rotr(v6 ^ v10, 12);
    v2 = (v2 + v6 + m5) | 0; v14 = rotr(v14 ^ v2, 8); v10 = (v10 + v14) | 0; v6 = rotr(v6 ^ v10, 7);
    v3 = (v3 + v7 + m6) | 0; v15 = rotr(v15 ^ v3, 16); v11 = (v11 + v15) | 0; v7 = rotr(v7 ^ v11, 12);
    v3 = (v3 + v7 + m7) | 0; v15 = rotr(v15 ^ v3, 8); v11 = (v11 + v15) | 0; v7 = rotr(v7 ^ v11, 7);
    // Diagonals.
    v0 = (v0 + v5 + m8) | 0; v15 = rotr(v15 ^ v0, 16); v10 = (v10 + v15) | 0; v5 = rotr(v5 ^ v10, 12);
    v0 = (v0 + v5 + m9) | 0; v15 = rotr(v15 ^ v0, 8); v10 = (v10 + v15) | 0; v5 = rotr(v5 ^ v10, 7);
    v1 = (v1 + v6 + m10) | 0; v12 = rotr(v12 ^ v1, 16); v11 = (v11 + v12) | 0; v6 = rotr(v6 ^ v11, 12);
    v1 = (v1 + v6 + m11) | 0; v12 = rotr(v12 ^ v1, 8); v11 = (v11 + v12) | 0; v6 = rotr(v6 ^ v11, 7);
    v2 = (v2 + v7 + m12) | 0; v13 = rotr(v13 ^ v2, 16); v8 = (v8 + v13) | 0; v7 = rotr(v7 ^ v8, 12);
    v2 = (v2 + v7 + m13) | 0; v13 = rotr(v13 ^ v2, 8); v8 = (v8 + v13) | 0; v7 = rotr(v7 ^ v8, 7);
    v3 = (v3 + v4 + m14) | 0; v14 = rotr(v14 ^ v3, 16); v9 = (v9 + v14) | 0; v4 = rotr(v4 ^ v9, 12);
    v3 = (v3 + v4 + m15) | 0; v14 = rotr(v14 ^ v3, 8); v9 = (v9 + v14) | 0; v4 = rotr(v4 ^ v9, 7);
    if (round === 6) break;
    const t0 = m0, t1 = m1, t2 = m2, t3 = m3, t4 = m4, t5 = m5, t6 = m6, t7 = m7, t8 = m8, t9 = m9, t10 = m10, t11 = m11, t12 = m12, t13 = m13, t14 = m14, t15 = m15;
    m0 = t2; m1 = t6; m2 = t3; m3 = t10; m4 = t7; m5 = t0; m6 = t4; m7 = t13; m8 = t1; m9 = t11; m10 = t12; m11 = t5; m12 = t9; m13 = t14; m14 = t15; m15 = t8;
  }
  cv[0] = v0 ^ v8; cv[1] = v1 ^ v9; cv[2] = v2 ^ v10; cv[3] = v3 ^ v11;
  cv[4] = v4 ^ v12; cv[5] = v5 ^ v13; cv[6] = v6 ^ v14; cv[7] = v7 ^ v15;
}

/** True where a Uint32Array over bytes reads them little-endian, as BLAKE3's message words are. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * BLAKE3 of `bytes` (at most {@link BLAKE3_CHUNK_BYTES}); returns the
 * reused output buffer, whose first words are the digest's first bytes
 * little-endian (valid until the next call).
 */
export function blake3Words(bytes: Uint8Array): Uint32Array {
  const length = bytes.length;
  if (length > BLAKE3_CHUNK_BYTES) throw new RangeError(`blake3Words hashes at most ${BLAKE3_CHUNK_BYTES} bytes, got ${length}`);
  chunkBytes.set(bytes);
  if (!LITTLE_ENDIAN) {
    for (let i = 0; i < (length + 3) >> 2; i++) {
      const w = chunk[i]!;
      chunk[i] = ((w & 0xff) << 24) | ((w & 0xff00) << 8) | ((w >>> 8) & 0xff00) | (w >>> 24);
    }
  }
  return blake3Message(chunk, length);
}

/**
 * BLAKE3 of the first `length` bytes (at most {@link BLAKE3_CHUNK_BYTES})
 * held in `words` as message words: on a little-endian runtime, a
 * Uint32Array over the bytes themselves, so a caller that wrote its input
 * into such a buffer is hashed without a copy. The rest of the last
 * block is zeroed here (so `words` must hold it: at least 16 words, 256 for
 * a full chunk). Returns the reused output words, like {@link blake3Words}.
 */
export function blake3Message(words: Uint32Array, length: number): Uint32Array {
  if (length > BLAKE3_CHUNK_BYTES) throw new RangeError(`blake3Message hashes at most ${BLAKE3_CHUNK_BYTES} bytes, got ${length}`);
  // Zero the last block past the input: the word holding the last bytes keeps only them (message words are little-endian).
  const end = Math.max(16, ((length + 63) >> 6) << 4);
  let i = length >> 2;
  const keep = length & 3;
  if (keep !== 0) {
    words[i] = words[i]! & ((1 << (keep << 3)) - 1);
    i++;
  }
  for (; i < end; i++) words[i] = 0;
  cv[0] = IV0; cv[1] = IV1; cv[2] = IV2; cv[3] = IV3; cv[4] = IV4; cv[5] = IV5; cv[6] = IV6; cv[7] = IV7;
  let at = 0;
  let flags = CHUNK_START;
  // Every block but the last is full; the last (possibly empty) is the root.
  for (let left = length; left > 64; left -= 64) {
    compress(words, at, 64, flags);
    flags = 0;
    at += 16;
  }
  compress(words, at, length - (at << 2), flags | CHUNK_END | ROOT);
  return cv;
}
