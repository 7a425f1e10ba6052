/**
 * The batch digest of the unchanged-scope check (adapters/sql/scope.ts): a
 * function of the set of (id, hash) pairs, and the SQL stores' refusal of a
 * hand-built batch that repeats an id.
 */
import { describe, expect, it } from 'vitest';
import { CommitError, prepareBatch, type CommitBatch } from 'parallax-edge';
import { createSqliteStore } from 'parallax-edge/adapters/sqlite';
import { batchDigest } from '../../adapters/sql/index.js';
import { dumpStore, ent, rel, syncInput } from './contract.js';

function batch(): CommitBatch {
  const entities = Array.from({ length: 50 }, (_, i) => ent('host', `h-${i}`, { properties: { i } }));
  const relationships = Array.from({ length: 49 }, (_, i) => rel(`host:h-${i}`, 'CONNECTS', `host:h-${i + 1}`));
  return prepareBatch(syncInput({ syncId: 's1', entities, relationships }));
}

const reversed = (b: CommitBatch): CommitBatch => ({ ...b, entities: [...b.entities].reverse(), relationships: [...b.relationships].reverse() });

function refusal(b: CommitBatch): CommitError {
  try {
    batchDigest(b);
  } catch (error) {
    expect(error).toBeInstanceOf(CommitError);
    return error as CommitError;
  }
  throw new Error('expected InvalidBatch');
}

describe('batchDigest (unchanged-scope check)', () => {
  it('+P2: depends on the set of (id, hash) pairs only: the same in any row order, different when one hash, one id or the entity/relationship split changes', () => {
    const b = batch();
    const digest = batchDigest(b);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(batchDigest(reversed(b))).toBe(digest);
    const oneHash = { ...b, entities: b.entities.map((e, i) => (i === 7 ? { ...e, hash: `${e.hash.slice(0, 31)}x` } : e)) };
    expect(batchDigest(oneHash)).not.toBe(digest);
    const lastRelationship = b.relationships.at(-1)!;
    expect(batchDigest({ ...b, relationships: b.relationships.slice(0, -1) })).not.toBe(digest);
    expect(batchDigest({ ...b, entities: [...b.entities, { ...b.entities[0]!, id: lastRelationship.id, hash: lastRelationship.hash }], relationships: b.relationships.slice(0, -1) })).not.toBe(digest);
  });

  it('+P2: ids that are not hex (a hand-built batch) are ordered as strings: still independent of row order', () => {
    const b = batch();
    const named = { ...b, entities: b.entities.map((e, i) => ({ ...e, id: `Host-${(i * 37) % 50}` })) };
    expect(batchDigest(reversed(named))).toBe(batchDigest(named));
  });

  it('a repeated id is refused with InvalidBatch naming the first repeat in batch order, on the hex and the string path', () => {
    const b = batch();
    const e = b.entities;
    // a b c b a: a scan of seen ids stops at index 3.
    const hex = { ...b, entities: [e[0]!, e[1]!, e[2]!, e[1]!, e[0]!] };
    expect(refusal(hex)).toMatchObject({ code: 'InvalidBatch', field: 'entities[3]' });
    expect(refusal(hex).message).toContain('repeats entity host:h-1');
    const named = { ...hex, entities: hex.entities.map((row) => ({ ...row, id: `id-${row.entityKey}` })) };
    expect(refusal(named)).toMatchObject({ code: 'InvalidBatch', field: 'entities[3]' });
    const r = b.relationships;
    expect(refusal({ ...b, relationships: [r[5]!, r[6]!, r[6]!, r[5]!] })).toMatchObject({ field: 'relationships[2]' });
  });

  it('INV-C01: the SQLite store refuses a hand-built batch with a repeated relationship id before anything is staged, and nothing changes', async () => {
    const store = createSqliteStore(':memory:');
    const b = batch();
    await store.commit(b);
    const before = await dumpStore(store);
    const repeated = { ...b, syncId: 's2', relationships: [...b.relationships, b.relationships[3]!] };
    await expect(store.commit(repeated)).rejects.toMatchObject({ code: 'InvalidBatch', field: `relationships[${b.relationships.length}]` });
    expect(await dumpStore(store)).toEqual(before);
    await store.close();
  });
});
