/*
 * BLAKE3 for one chunk (inputs of at most 1024 bytes), the size of every id
 * input: the chunk's blocks compressed in a row, the last one as the root.
 * Written for ids, where a general hasher's set-up (objects, typed arrays,
 * a digest buffer) costs more than the compression: state lives in local
 * variables and one reused message buffer. Same output as any BLAKE3 for
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

/** Message word order of each of the 7 rounds (the permutation applied 0..6 times). */
const SCHEDULE: Uint8Array = (() => {
  const permutation = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];
  const out = new Uint8Array(7 * 16);
  let order = Array.from({ length: 16 }, (_, i) => i);
  for (let round = 0; round < 7; round++) {
    out.set(order, round * 16);
    order = permutation.map((p) => order[p]!);
  }
  return out;
})();

const block = new Uint32Array(16);
const blockBytes = new Uint8Array(block.buffer);
/** The chaining value between blocks, then the output words. */
const cv = new Uint32Array(8);

const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n));

/** One compression of `block` into `cv` (BLAKE3's compress, keeping the first 8 output words). */
function compress(blockLen: number, flags: number): void {
  let v0 = cv[0]!, v1 = cv[1]!, v2 = cv[2]!, v3 = cv[3]!, v4 = cv[4]!, v5 = cv[5]!, v6 = cv[6]!, v7 = cv[7]!;
  let v8 = IV0, v9 = IV1, v10 = IV2, v11 = IV3;
  // Counter 0 (the only chunk), then the block length and flags.
  let v12 = 0, v13 = 0, v14 = blockLen, v15 = flags;
  const m = block;
  const s = SCHEDULE;
  for (let r = 0; r < 112; r += 16) {
    // Columns.
    v0 = (v0 + v4 + m[s[r]!]!) | 0; v12 = rotr(v12 ^ v0, 16); v8 = (v8 + v12) | 0; v4 = rotr(v4 ^ v8, 12);
    v0 = (v0 + v4 + m[s[r + 1]!]!) | 0; v12 = rotr(v12 ^ v0, 8); v8 = (v8 + v12) | 0; v4 = rotr(v4 ^ v8, 7);
    v1 = (v1 + v5 + m[s[r + 2]!]!) | 0; v13 = rotr(v13 ^ v1, 16); v9 = (v9 + v13) | 0; v5 = rotr(v5 ^ v9, 12);
    v1 = (v1 + v5 + m[s[r + 3]!]!) | 0; v13 = rotr(v13 ^ v1, 8); v9 = (v9 + v13) | 0; v5 = rotr(v5 ^ v9, 7);
    v2 = (v2 + v6 + m[s[r + 4]!]!) | 0; v14 = rotr(v14 ^ v2, 16); v10 = (v10 + v14) | 0; v6 = rotr(v6 ^ v10, 12);
    v2 = (v2 + v6 + m[s[r + 5]!]!) | 0; v14 = rotr(v14 ^ v2, 8); v10 = (v10 + v14) | 0; v6 = rotr(v6 ^ v10, 7);
    v3 = (v3 + v7 + m[s[r + 6]!]!) | 0; v15 = rotr(v15 ^ v3, 16); v11 = (v11 + v15) | 0; v7 = rotr(v7 ^ v11, 12);
    v3 = (v3 + v7 + m[s[r + 7]!]!) | 0; v15 = rotr(v15 ^ v3, 8); v11 = (v11 + v15) | 0; v7 = rotr(v7 ^ v11, 7);
    // Diagonals.
    v0 = (v0 + v5 + m[s[r + 8]!]!) | 0; v15 = rotr(v15 ^ v0, 16); v10 = (v10 + v15) | 0; v5 = rotr(v5 ^ v10, 12);
    v0 = (v0 + v5 + m[s[r + 9]!]!) | 0; v15 = rotr(v15 ^ v0, 8); v10 = (v10 + v15) | 0; v5 = rotr(v5 ^ v10, 7);
    v1 = (v1 + v6 + m[s[r + 10]!]!) | 0; v12 = rotr(v12 ^ v1, 16); v11 = (v11 + v12) | 0; v6 = rotr(v6 ^ v11, 12);
    v1 = (v1 + v6 + m[s[r + 11]!]!) | 0; v12 = rotr(v12 ^ v1, 8); v11 = (v11 + v12) | 0; v6 = rotr(v6 ^ v11, 7);
    v2 = (v2 + v7 + m[s[r + 12]!]!) | 0; v13 = rotr(v13 ^ v2, 16); v8 = (v8 + v13) | 0; v7 = rotr(v7 ^ v8, 12);
    v2 = (v2 + v7 + m[s[r + 13]!]!) | 0; v13 = rotr(v13 ^ v2, 8); v8 = (v8 + v13) | 0; v7 = rotr(v7 ^ v8, 7);
    v3 = (v3 + v4 + m[s[r + 14]!]!) | 0; v14 = rotr(v14 ^ v3, 16); v9 = (v9 + v14) | 0; v4 = rotr(v4 ^ v9, 12);
    v3 = (v3 + v4 + m[s[r + 15]!]!) | 0; v14 = rotr(v14 ^ v3, 8); v9 = (v9 + v14) | 0; v4 = rotr(v4 ^ v9, 7);
  }
  cv[0] = v0 ^ v8; cv[1] = v1 ^ v9; cv[2] = v2 ^ v10; cv[3] = v3 ^ v11;
  cv[4] = v4 ^ v12; cv[5] = v5 ^ v13; cv[6] = v6 ^ v14; cv[7] = v7 ^ v15;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * BLAKE3 of `bytes` (at most {@link BLAKE3_CHUNK_BYTES}); returns the
 * reused output buffer, whose first words are the digest's first bytes
 * little-endian (valid until the next call).
 */
export function blake3Words(bytes: Uint8Array): Uint32Array {
  const length = bytes.length;
  if (length > BLAKE3_CHUNK_BYTES) throw new RangeError(`blake3Words hashes at most ${BLAKE3_CHUNK_BYTES} bytes, got ${length}`);
  cv[0] = IV0; cv[1] = IV1; cv[2] = IV2; cv[3] = IV3; cv[4] = IV4; cv[5] = IV5; cv[6] = IV6; cv[7] = IV7;
  let offset = 0;
  let flags = CHUNK_START;
  // Every block but the last is full; the last (possibly empty) is the root.
  while (length - offset > 64) {
    blockBytes.set(bytes.subarray(offset, offset + 64));
    if (!LITTLE_ENDIAN) swapBlock();
    compress(64, flags);
    flags = 0;
    offset += 64;
  }
  const tail = length - offset;
  block.fill(0);
  blockBytes.set(bytes.subarray(offset, length));
  if (!LITTLE_ENDIAN) swapBlock();
  compress(tail, flags | CHUNK_END | ROOT);
  return cv;
}

function swapBlock(): void {
  for (let i = 0; i < 16; i++) {
    const w = block[i]!;
    block[i] = ((w & 0xff) << 24) | ((w & 0xff00) << 8) | ((w >>> 8) & 0xff00) | (w >>> 24);
  }
}
