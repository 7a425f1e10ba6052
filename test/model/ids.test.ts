import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blake3 } from '@noble/hashes/blake3.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { entityId, relationshipId } from 'parallax-edge';
import { contentHash, useNativeSha256 } from 'parallax-edge/adapter-kit';

// Vectors computed independently with Debian's b3sum 1.2.0:
//   printf 'acme\0user\0u-1' | b3sum --length 16 --no-names
describe('INV-C03: ids are Parallax BLAKE3 ids', () => {
  it('INV-C03: entity id is the first 16 bytes of BLAKE3(accountId NUL type NUL key), lowercase hex', () => {
    expect(entityId('acme', 'user', 'u-1')).toBe('b2a7aeaa2bd88fe43a7eb7e18b2afb5f');
    expect(entityId('my-account-id', 'host', 'h-1')).toBe('2c87b4db6db142b054ad6e7cdf6dbbd8');
  });

  it('INV-C03: ids hash UTF-8 bytes of non-ASCII keys', () => {
    expect(entityId('acme', 'repo', 'été')).toBe('8431629ff090955ea1a7df469af72dc6');
  });

  it('INV-C03: relationship id hashes the six NUL-joined parts', () => {
    expect(relationshipId('acme', 'user', 'u-1', 'ASSIGNED', 'role', 'admin')).toBe('b3be676599e0507d8b76be06f79edfcb');
  });

  it('INV-C03: ids are deterministic and separate the parts (no ambiguity from concatenation)', () => {
    expect(entityId('a', 'b', 'c')).toBe(entityId('a', 'b', 'c'));
    expect(entityId('a', 'bc', 'd')).not.toBe(entityId('a', 'b', 'cd'));
    expect(entityId('acme', 'user', 'u-1')).toMatch(/^[0-9a-f]{32}$/);
  });

  it('content hash of the empty string matches the SHA-256 reference vector prefix', () => {
    expect(contentHash('')).toBe('e3b0c44298fc1c149afbf4c8996fb924');
    // printf 'abc' | sha256sum
    expect(contentHash('abc')).toBe('ba7816bf8f01cfea414140de5dae2223');
  });

  it('the reused hashers give blake3() (ids) and sha256() (content) bytes for every input size (one block, several blocks, several 1 KiB chunks, a grown buffer) and non-ASCII text', () => {
    const reference = (text: string): string => bytesToHex(blake3(new TextEncoder().encode(text)).subarray(0, 16));
    const sha = (text: string): string => bytesToHex(sha256(new TextEncoder().encode(text)).subarray(0, 16));
    for (const size of [0, 1, 31, 63, 64, 65, 127, 128, 129, 1023, 1024, 1025, 2048, 3000, 5000, 20_000]) {
      for (const unit of ['a', 'é', '€', '😀']) {
        const text = unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
        expect(contentHash(text)).toBe(sha(text));
        expect(entityId(text, 'x', 'y')).toBe(reference(`${text}\0x\0y`));
      }
    }
    // Interleaved short and long inputs do not leak state into each other.
    expect(entityId('a', 'b', 'short')).toBe(reference('a\0b\0short'));
    expect(contentHash('x'.repeat(4000))).toBe(sha('x'.repeat(4000)));
    expect(entityId('a', 'b', 'x'.repeat(4000))).toBe(reference(`a\0b\0${'x'.repeat(4000)}`));
    expect(contentHash('short')).toBe(sha('short'));
    expect(entityId('a', 'b', 'short')).toBe(reference('a\0b\0short'));
  });

  it('INV-C03: ids written part by part (ASCII copied, the rest encoded) are the BLAKE3 of the NUL-joined text, for any parts: empty, non-ASCII from any position, lone surrogates, long enough to grow the buffer', () => {
    const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
    const reference = (...parts: string[]): string => bytesToHex(blake3(encode(parts.join('\0'))).subarray(0, 16));
    const part = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀', '\ud800', '\udc00', '\0'), maxLength: 30 }),
      fc.integer({ min: 900, max: 9000 }).map((n) => 'k'.repeat(n) + 'é'),
    );
    fc.assert(
      fc.property(fc.array(part, { minLength: 6, maxLength: 6 }), ([a, b, c, d, e, f]) => {
        expect(entityId(a!, b!, c!)).toBe(reference(a!, b!, c!));
        expect(relationshipId(a!, b!, c!, d!, e!, f!)).toBe(reference(a!, b!, c!, d!, e!, f!));
      }),
      { numRuns: 300 },
    );
  });

  it('useNativeSha256 refuses a function that is not SHA-256 and keeps the built-in one', () => {
    const before = contentHash('abc');
    expect(() => useNativeSha256((text) => text)).toThrow(/not SHA-256/);
    expect(contentHash('abc')).toBe(before);
  });
});
