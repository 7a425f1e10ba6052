import { describe, expect, it } from 'vitest';
import { contentHash, entityId, relationshipId } from 'parallax-edge';

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

  it('content hash of the empty string matches the BLAKE3 reference vector prefix', () => {
    expect(contentHash('')).toBe('af1349b9f5f9a1a6a0404dea36dcc949');
  });
});
