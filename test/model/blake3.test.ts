/**
 * INV-C03 rests on the core's one-chunk BLAKE3 (src/model/blake3.ts): it
 * must give BLAKE3's bytes for every input it takes, in every block layout.
 */
import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BLAKE3_CHUNK_BYTES, LITTLE_ENDIAN, blake3Message, blake3Words } from '../../src/model/blake3.js';

const hexOf = (words: Uint32Array, bytes: number): string => {
  let out = '';
  for (let i = 0; i < bytes; i++) out += ((words[i >> 2]! >>> ((i & 3) * 8)) & 0xff).toString(16).padStart(2, '0');
  return out;
};

describe('INV-C03: the one-chunk BLAKE3 behind every id', () => {
  it('INV-C03: equals BLAKE3 (noble) at every input length from 0 to 1024 bytes (one block, several, a full chunk)', () => {
    for (let length = 0; length <= BLAKE3_CHUNK_BYTES; length++) {
      const bytes = Uint8Array.from({ length }, (_, i) => (i * 131 + length * 7) & 0xff);
      expect(hexOf(blake3Words(bytes), 32), `length ${length}`).toBe(bytesToHex(blake3(bytes)));
    }
  });

  it('INV-C03: equals BLAKE3 on random inputs, and one call leaves nothing behind for the next', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: BLAKE3_CHUNK_BYTES }), fc.uint8Array({ maxLength: 80 }), (a, b) => {
        expect(hexOf(blake3Words(a), 32)).toBe(bytesToHex(blake3(a)));
        expect(hexOf(blake3Words(b), 32)).toBe(bytesToHex(blake3(b)));
      }),
      { numRuns: 300 },
    );
  });

  it('the b3sum vectors of the empty input and "abc"', () => {
    // printf '' | b3sum ; printf 'abc' | b3sum
    expect(hexOf(blake3Words(new Uint8Array()), 32)).toBe('af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
    expect(hexOf(blake3Words(new TextEncoder().encode('abc')), 32)).toBe('6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85');
  });

  it('INV-C03: hashing in place (blake3Message) equals BLAKE3 whatever the buffer holds past the input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: BLAKE3_CHUNK_BYTES }), fc.integer({ min: 0, max: 255 }), (input, junk) => {
        // The input, then junk to the end of the chunk (a longer input written there before).
        const words = new Uint32Array(BLAKE3_CHUNK_BYTES / 4 + 16);
        const bytes = new Uint8Array(words.buffer);
        bytes.fill(junk || 0xa5);
        bytes.set(input);
        if (!LITTLE_ENDIAN) for (let i = 0; i < words.length; i++) words[i] = new DataView(words.buffer).getUint32(i * 4, true);
        expect(hexOf(blake3Message(words, input.length), 32)).toBe(bytesToHex(blake3(input)));
      }),
      { numRuns: 400 },
    );
    const words = new Uint32Array(BLAKE3_CHUNK_BYTES / 4).fill(0xffffffff);
    for (let length = 0; length <= BLAKE3_CHUNK_BYTES; length += 1) {
      words.fill(0xffffffff);
      new Uint8Array(words.buffer).fill(7, 0, length);
      const expected = bytesToHex(blake3(new Uint8Array(length).fill(7)));
      if (LITTLE_ENDIAN) expect(hexOf(blake3Message(words, length), 32), `length ${length}`).toBe(expected);
    }
  });

  it('refuses an input longer than one chunk (ids of that size go through the general BLAKE3)', () => {
    expect(() => blake3Words(new Uint8Array(BLAKE3_CHUNK_BYTES + 1))).toThrow(RangeError);
    expect(() => blake3Message(new Uint32Array(300), BLAKE3_CHUNK_BYTES + 1)).toThrow(RangeError);
  });
});
