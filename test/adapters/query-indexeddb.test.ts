/** The query contract and the randomized PQL model on IndexedDB (fake-indexeddb in Node); the Chromium run is query-indexeddb.browser.test.ts. */
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { query } from 'parallax-edge';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { openIndexedDbStore } from 'parallax-edge/adapters/indexeddb';
import { describeQueryContract, describeQueryModel, ent, rel, sync } from 'parallax-edge/testing';
import { describeIndexedDbQueryPaths } from './query-indexeddb-cases.js';

// A fresh factory per store: every test starts from an empty origin.
const open = () => openIndexedDbStore('query', { indexedDB: new IDBFactory() });

describeQueryContract('indexeddb (fake-indexeddb)', open);
describeQueryModel('indexeddb (fake-indexeddb)', open, { numRuns: 60 });
describeIndexedDbQueryPaths('fake-indexeddb', open);

describe('indexeddb (fake-indexeddb): a step reads per target or by the verb', () => {
  it('a verb with many relationships and few targets (a request per target) answers as memory, in every direction', async () => {
    // 40 hosts USE r0; only h0 USES r1: one r1 target against 41 USES rows takes the per-target reads.
    const hosts = Array.from({ length: 40 }, (_, i) => ent('host', `h${i}`, { entityClass: 'Host' }));
    const input = {
      syncId: 's1',
      entities: [...hosts, ent('role', 'r0'), ent('role', 'r1')],
      relationships: [...hosts.map((h) => rel(`host:${h.entityKey}`, 'USES', 'role:r0')), rel('host:h0', 'USES', 'role:r1')],
    };
    const store = await open();
    const reference = createMemoryStore();
    try {
      for (const s of [store, reference]) await sync(s, input);
      for (const pql of [
        "FIND host THAT USES role WITH _key = 'r1'",
        "FIND host THAT USES -> role WITH _key = 'r1'",
        "FIND host THAT USES <- role WITH _key = 'r1'",
        "FIND host THAT !USES role WITH _key = 'r1' RETURN COUNT",
        "FIND role WITH _key = 'r1' THAT USES host",
        'FIND host THAT USES role',
      ]) {
        expect(await query(store, pql), pql).toEqual(await query(reference, pql));
      }
      expect((await query(store, "FIND host THAT USES role WITH _key = 'r1'")).entities.map((e) => e.entityKey)).toEqual(['h0']);
      expect((await query(store, "FIND host THAT USES <- role WITH _key = 'r1'")).count).toBe(0);
    } finally {
      await store.close();
    }
  });
});
