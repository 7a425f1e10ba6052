import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex } from '@noble/hashes/utils.js';

const encoder = new TextEncoder();

/** Lowercase hex of the first 16 bytes of BLAKE3 over the NUL-joined parts. */
function hashId(parts: readonly string[]): string {
  return bytesToHex(blake3(encoder.encode(parts.join('\0'))).subarray(0, 16));
}

/**
 * INV-C03: the id Parallax derives for an entity, so data can move between
 * Parallax and parallax-edge.
 *
 * @example
 * entityId('acme', 'user', 'u-1'); // 32 lowercase hex characters, always the same
 */
export function entityId(accountId: string, type: string, key: string): string {
  return hashId([accountId, type, key]);
}

/** INV-C03: the id Parallax derives for a relationship. */
export function relationshipId(
  accountId: string,
  fromType: string,
  fromKey: string,
  verb: string,
  toType: string,
  toKey: string,
): string {
  return hashId([accountId, fromType, fromKey, verb, toType, toKey]);
}

/** A hex digest of arbitrary text, used as the content hash that diffs compare. */
export function contentHash(text: string): string {
  return bytesToHex(blake3(encoder.encode(text)).subarray(0, 16));
}
