/**
 * IndexedDB's PQL read paths, shared by the fake-indexeddb run
 * (query-indexeddb.test.ts) and the Chromium run
 * (query-indexeddb.browser.test.ts): each path the evaluator chooses answers
 * as the memory reference. Runtime-neutral: vitest, parallax-edge and the
 * IndexedDB globals only.
 */
import { describe, expect, it } from 'vitest';
import { entityId, query, type GraphStore } from 'parallax-edge';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { ent, rel, sync } from 'parallax-edge/testing';

/** Two accounts: 40 hosts (one isolated), roles, policies, buckets; equal-length paths that tie on relationship ids. */
async function seed(store: GraphStore): Promise<void> {
  for (const accountId of ['acme', 'globex']) {
    const hosts = Array.from({ length: 40 }, (_, i) => ent('host', `h${i}`, { entityClass: 'Host', properties: { os: i % 3 === 0 ? 'linux' : 'windows' } }));
    const roles = ['r0', 'r1', 'r2'].map((k) => ent('role', k, { entityClass: 'AccessRole' }));
    const policies = ['p0', 'p1'].map((k) => ent('policy', k, { entityClass: 'AccessPolicy' }));
    const buckets = ['b0', 'b1'].map((k) => ent('bucket', k, { entityClass: 'DataStore' }));
    const users = ['u0', 'u1'].map((k) => ent('user', k, { entityClass: 'User' }));
    await sync(store, {
      syncId: `s-${accountId}`,
      accountId,
      entities: [...hosts, ...roles, ...policies, ...buckets, ...users, ent('secret', 'x')],
      relationships: [
        ...hosts.slice(0, 39).map((h, i) => rel(`host:${h.entityKey}`, 'USES', `role:r${i % 3}`)),
        rel('user:u0', 'ASSIGNED', 'role:r0'),
        rel('user:u0', 'ASSIGNED', 'role:r1'),
        rel('user:u1', 'ASSIGNED', 'role:r2'),
        rel('role:r0', 'ALLOWS', 'policy:p0'),
        rel('role:r1', 'ALLOWS', 'policy:p0'),
        rel('role:r1', 'ALLOWS', 'policy:p1'),
        rel('policy:p0', 'USES', 'bucket:b0'),
        rel('policy:p1', 'USES', 'bucket:b0'),
        rel('bucket:b1', 'USES', 'policy:p1'),
      ],
    });
  }
}

export function describeIndexedDbQueryPaths(label: string, open: () => Promise<GraphStore>): void {
  describe(`PQL on IndexedDB (${label}): every read path answers as the memory reference`, () => {
    const queries = [
      // Pinned ids: by primary key.
      "FIND host WITH _key = 'h1'",
      "FIND host WITH _key IN ('h1', 'h2', 'nope')",
      'FIND host WITH _key = 5',
      "FIND Host WITH _key = 'h1'",
      "FIND * WITH _key = 'h1'",
      `FIND host WITH _id = '${entityId('acme', 'host', 'h3')}'`,
      `FIND * WITH _id IN ('${entityId('globex', 'host', 'h3')}', 'nope')`,
      "FIND host WITH _key = 'h3' AND os = 'linux'",
      "FIND host WITH _key = 'h1' AND os = 'linux'",
      "FIND host WITH _key = 'h1' OR _key = 'h2'",
      "FIND host WITH NOT _key = 'h1' RETURN COUNT",
      "FIND host WITH _key = 'h1' THAT USES role",
      // Counts from index keys alone, with and without steps and LIMIT.
      'FIND host RETURN COUNT',
      'FIND host RETURN COUNT LIMIT 7',
      'FIND host THAT USES role RETURN COUNT',
      'FIND host THAT !USES role RETURN COUNT',
      'FIND Host THAT USES AccessRole THAT !ASSIGNED user RETURN COUNT',
      // A small positive set read by id, a large one by the start's range.
      "FIND host WITH os = 'linux' THAT USES role WITH _key = 'r1'",
      "FIND host WITH os = 'windows' THAT USES role",
      // Shortest paths: one start (searching forward, ties on relationship ids), several starts, none.
      "FIND SHORTEST PATH FROM user WITH _key = 'u0' TO bucket",
      "FIND SHORTEST PATH FROM user WITH _key = 'u0' TO bucket DEPTH 2",
      "FIND SHORTEST PATH FROM user WITH _key = 'u0' TO bucket DEPTH 3",
      "FIND SHORTEST PATH FROM user WITH _key = 'u1' TO policy",
      "FIND SHORTEST PATH FROM host WITH _key = 'h1' TO host",
      "FIND SHORTEST PATH FROM host WITH _key = 'h39' TO role",
      "FIND SHORTEST PATH FROM user WITH _key = 'u0' TO secret",
      "FIND SHORTEST PATH FROM bucket WITH _key = 'b1' TO user",
      'FIND SHORTEST PATH FROM user TO bucket',
      // Blast radius: most of the store reached (scanned in id order), or a little (a get per entity).
      "FIND BLAST RADIUS FROM user WITH _key = 'u0' DEPTH 3",
      "FIND BLAST RADIUS FROM host WITH _key = 'h39' DEPTH 2",
      "FIND BLAST RADIUS FROM host WITH _key = 'h1' DEPTH 0",
    ];
    it('pinned _key and _id, counts from keys, read by id or by range, forward shortest paths, blast radius reads', async () => {
      const store = await open();
      const reference = createMemoryStore();
      try {
        await seed(store);
        await seed(reference);
        for (const pql of queries) {
          for (const accountId of [undefined, 'acme', 'globex']) {
            const options = accountId === undefined ? {} : { accountId };
            expect(await query(store, pql, options), `${pql} ${accountId ?? '(every account)'}`).toEqual(await query(reference, pql, options));
          }
        }
        // The cases reach what they are about.
        expect((await query(store, "FIND SHORTEST PATH FROM user WITH _key = 'u0' TO bucket", { accountId: 'acme' })).path!.entities.map((e) => e.entityKey)).toEqual(['u0', expect.any(String), 'p0', 'b0']);
        expect((await query(store, "FIND SHORTEST PATH FROM user WITH _key = 'u0' TO bucket DEPTH 2", { accountId: 'acme' })).count).toBe(0);
        expect((await query(store, "FIND host WITH _key IN ('h1', 'h2', 'nope')", { accountId: 'acme' })).count).toBe(2);
        expect((await query(store, 'FIND host THAT !USES role RETURN COUNT', { accountId: 'acme' })).count).toBe(1);
      } finally {
        await store.close();
      }
    });
  });
}
