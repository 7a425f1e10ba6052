/**
 * adapters/node-hashes.ts (loaded by the SQLite adapter) swaps in Node's
 * SHA-256 for content hashes: the values must stay those of the core's
 * JavaScript SHA-256, and ids (the core's own BLAKE3) Parallax's (INV-C03).
 */
import { describe, expect, it } from 'vitest';
import { blake3 } from '@noble/hashes/blake3.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { entityId, relationshipId } from 'parallax-edge';
import { contentHash } from 'parallax-edge/adapter-kit';
import '../../adapters/node-hashes.js';

const b3 = (text: string): string => bytesToHex(blake3(new TextEncoder().encode(text)).subarray(0, 16));
const sha = (text: string): string => bytesToHex(sha256(new TextEncoder().encode(text)).subarray(0, 16));

describe('Node hashes (native SHA-256)', () => {
  it('INV-C03: ids are still the b3sum vectors', () => {
    expect(entityId('acme', 'user', 'u-1')).toBe('b2a7aeaa2bd88fe43a7eb7e18b2afb5f');
    expect(entityId('acme', 'repo', 'été')).toBe('8431629ff090955ea1a7df469af72dc6');
    expect(relationshipId('acme', 'user', 'u-1', 'ASSIGNED', 'role', 'admin')).toBe('b3be676599e0507d8b76be06f79edfcb');
  });

  it('INV-C03: ids and content hashes equal the JavaScript BLAKE3 and SHA-256 for every input size class and non-ASCII text', () => {
    for (const size of [0, 1, 63, 64, 65, 1023, 1024, 1025, 3000, 20_000]) {
      for (const unit of ['a', 'é', '€', '😀']) {
        const text = unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
        expect(entityId(text, 'x', 'y')).toBe(b3(`${text}\0x\0y`));
        expect(contentHash(text)).toBe(sha(text));
      }
    }
  });
});
