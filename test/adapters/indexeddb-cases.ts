/**
 * IndexedDB-specific failure modes, shared by the Chromium run
 * (indexeddb.browser.test.ts) and the fake-indexeddb run (indexeddb.test.ts):
 * a closed store, a versionchange from another connection (idle and in the
 * middle of a commit), a QuotaExceededError during the commit's writes, and
 * readers during a commit. Runtime-neutral: vitest, parallax-edge and the
 * IndexedDB globals only.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CommitError, commitSync, entityId, type EntityQuery, type GraphCounts, type GraphStore, type RelationshipQuery } from 'parallax-edge';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { openIndexedDbStore, type IndexedDbStore } from 'parallax-edge/adapters/indexeddb';
import { dumpStore, ent, expectCommitError, listAll, rel, stats, sync, syncInput, type SyncParams } from './contract.js';

export interface IndexedDbCaseOptions {
  /** A factory for the store and for the test's own "other tab" connections. */
  readonly factory: () => IDBFactory;
  /** Rows in the big commits that a versionchange interrupts. */
  readonly bigBatch?: number;
}

let names = 0;

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Opens the database as "another tab" would: at `version`, closing itself when asked to. */
async function openRaw(factory: IDBFactory, name: string, version?: number): Promise<IDBDatabase> {
  const db = await request(factory.open(name, version));
  db.onversionchange = () => db.close();
  return db;
}

async function countRows(db: IDBDatabase): Promise<{ entities: number; relationships: number; history: number }> {
  const tx = db.transaction(['entities', 'relationships', 'history']);
  const [entities, relationships, history] = await Promise.all(
    (['entities', 'relationships', 'history'] as const).map((store) => request(tx.objectStore(store).count())),
  );
  return { entities: entities!, relationships: relationships!, history: history! };
}

/**
 * Makes the `failAt`-th write (put or add) of the next readwrite transaction
 * abort it with a QuotaExceededError, the way a full disk does: the
 * transaction's `error` is the DOMException and every later request fails.
 */
function injectQuotaFailure(failAt: number): { restore: () => void; readonly writes: number } {
  const proto = IDBObjectStore.prototype;
  const originalPut = Object.getOwnPropertyDescriptor(proto, 'put')!;
  const originalAdd = Object.getOwnPropertyDescriptor(proto, 'add')!;
  const state = { writes: 0, fired: false };
  const wrap = (original: PropertyDescriptor) =>
    function (this: IDBObjectStore, ...args: unknown[]): IDBRequest {
      const result = (original.value as (...a: unknown[]) => IDBRequest).apply(this, args);
      if (!state.fired && ++state.writes === failAt) {
        state.fired = true;
        const tx = this.transaction;
        const quota = new DOMException('The quota has been exceeded.', 'QuotaExceededError');
        Object.defineProperty(tx, 'error', { configurable: true, get: () => quota });
        tx.abort();
      }
      return result;
    };
  Object.defineProperty(proto, 'put', { ...originalPut, value: wrap(originalPut) });
  Object.defineProperty(proto, 'add', { ...originalAdd, value: wrap(originalAdd) });
  return {
    restore() {
      Object.defineProperty(proto, 'put', originalPut);
      Object.defineProperty(proto, 'add', originalAdd);
    },
    get writes() {
      return state.writes;
    },
  };
}

const many = (prefix: string, n: number, over: { displayName?: string } = {}) =>
  Array.from({ length: n }, (_, i) => ent('host', `${prefix}-${i}`, over));

export function describeIndexedDbFailures(label: string, options: IndexedDbCaseOptions): void {
  const big = options.bigBatch ?? 2000;

  describe(`IndexedDB failure modes: ${label}`, () => {
    const cleanup: (() => unknown)[] = [];
    afterEach(async () => {
      for (const fn of cleanup.splice(0).reverse()) await fn();
    });

    async function fresh(): Promise<{ store: IndexedDbStore; factory: IDBFactory; name: string }> {
      const factory = options.factory();
      const name = `failures-${Date.now()}-${++names}`;
      const store = await openIndexedDbStore(name, { indexedDB: factory });
      cleanup.push(() => store.close());
      return { store, factory, name };
    }

    it('INV-C01: a closed store refuses commits and reads with StoreFailure', async () => {
      const { store } = await fresh();
      await sync(store, { syncId: 's1', entities: [ent('host', 'h-1')] });
      await store.close();
      const error = await expectCommitError(sync(store, { syncId: 's2', entities: [ent('host', 'h-2')] }), 'StoreFailure');
      expect(error.message).toMatch(/closed/);
      await expectCommitError(store.getEntity('0'.repeat(32)), 'StoreFailure');
      await expectCommitError(store.listEntities(), 'StoreFailure');
      await expectCommitError(store.counts(), 'StoreFailure');
      await expectCommitError(store.syncHistory(), 'StoreFailure');
      // As in the memory store, being closed is reported before a bad argument.
      await expectCommitError(store.listEntities({ limit: 0 }), 'StoreFailure');
    });

    it('INV-C01: a versionchange from another tab closes the store: later commits and reads fail with StoreFailure naming it', async () => {
      const { store, factory, name } = await fresh();
      await sync(store, { syncId: 's1', entities: [ent('host', 'h-1')] });
      // Another tab upgrades the database: our connection must step aside, not block it.
      const other = await openRaw(factory, name, 2);
      cleanup.push(() => other.close());
      expect(store.closedReason).toMatch(/versionchange/);
      const error = await expectCommitError(sync(store, { syncId: 's2', entities: [ent('host', 'h-2')] }), 'StoreFailure');
      expect(error.message).toContain(`"${name}"`);
      expect(error.message).toMatch(/upgrading it to version 2 \(versionchange\)/);
      await expectCommitError(store.listEntities(), 'StoreFailure');
      expect(await countRows(other)).toEqual({ entities: 1, relationships: 0, history: 1 });
      // This adapter cannot reopen a database upgraded past its schema.
      other.close();
      const reopening = await expectCommitError(openIndexedDbStore(name, { indexedDB: factory }), 'StoreFailure');
      expect(reopening.message).toMatch(/newer schema/);
    });

    it('INV-C01: a versionchange in the middle of a commit rolls the whole commit back and reports StoreFailure', async () => {
      const { store, factory, name } = await fresh();
      await sync(store, { syncId: 's1', entities: many('h', big) });
      // s2 updates every row: the commit walks the scope row by row before writing.
      const committing = sync(store, { syncId: 's2', entities: many('h', big, { displayName: 'renamed' }) }).then(
        (result) => ({ ok: true as const, result }),
        (error: unknown) => ({ ok: false as const, error }),
      );
      const other = await openRaw(factory, name, 2);
      cleanup.push(() => other.close());
      const outcome = await committing;
      const rows = await countRows(other);
      expect(rows.entities).toBe(big);
      expect(outcome.ok, 'the versionchange arrived after the commit finished: make bigBatch larger').toBe(false);
      const error = outcome.ok ? undefined : (outcome.error as CommitError);
      expect(error).toBeInstanceOf(CommitError);
      expect(error?.code).toBe('StoreFailure');
      expect(error?.message).toMatch(/versionchange/);
      expect(error?.message).toMatch(/rolled back and nothing was written/);
      // Nothing of s2 landed: one history record, every row still as s1 wrote it.
      expect(rows.history).toBe(1);
      const tx = other.transaction('entities');
      const renamed = await new Promise<number>((resolve, reject) => {
        let n = 0;
        const req = tx.objectStore('entities').openCursor();
        req.onsuccess = () => {
          const cursor = req.result;
          if (!cursor) return resolve(n);
          if ((cursor.value as { displayName: string }).displayName === 'renamed') n++;
          cursor.continue();
        };
        req.onerror = () => reject(req.error);
      });
      expect(renamed).toBe(0);
    });

    for (const [where, failAt] of [
      ['in the middle of the writes', 3],
      ['on the last write (the history record)', 6 + 4 + 1],
    ] as const) {
      it(`INV-C01/+P4: a QuotaExceededError ${where} aborts the commit: StoreFailure says so, nothing was written, the next commit is clean`, async () => {
        const { store } = await fresh();
        await sync(store, {
          syncId: 's1',
          entities: [ent('host', 'h-1'), ent('host', 'h-2'), ent('host', 'old')],
          relationships: [rel('host:h-1', 'CONNECTS', 'host:old')],
        });
        const before = await dumpStore(store);
        const s2 = {
          syncId: 's2',
          entities: [...many('new', 5), ent('host', 'h-1', { displayName: 'changed' }), ent('host', 'h-2')],
          relationships: [rel('host:h-1', 'CONNECTS', 'host:h-2'), rel('host:new-0', 'CONNECTS', 'host:new-1'), rel('host:new-1', 'CONNECTS', 'host:new-2'), rel('host:new-2', 'CONNECTS', 'host:new-3')],
        };
        // s2 writes 6 entities and 4 relationships, deletes 'old' and its relationship, then the history record.
        const quota = injectQuotaFailure(failAt);
        let error: CommitError;
        try {
          error = await expectCommitError(sync(store, s2), 'StoreFailure');
        } finally {
          quota.restore();
        }
        expect(quota.writes).toBeGreaterThanOrEqual(failAt);
        expect(error.message).toMatch(/quota was exceeded while committing sync "s2"/);
        expect(error.message).toMatch(/rolled back and nothing was written/);
        expect((error.cause as DOMException).name).toBe('QuotaExceededError');
        expect(await dumpStore(store)).toStrictEqual(before);
        // +P4: the aborted commit left nothing behind; the same sync now commits as if it were the first try.
        const retried = await sync(store, s2);
        expect(retried.stats).toEqual(
          stats({
            entitiesCreated: 5,
            entitiesUpdated: 1,
            entitiesUnchanged: 1,
            entitiesDeleted: 1,
            relationshipsCreated: 4,
            relationshipsDeleted: 1,
          }),
        );
        expect(retried.rowsWritten).toBe(5 + 1 + 1 + 4 + 1);
      });
    }

    it('reads during a commit never see staged rows: they see the graph before or after, never between', async () => {
      const { store } = await fresh();
      await sync(store, { syncId: 's1', entities: many('a', 50) });
      const before = await store.counts();
      const committing = sync(store, { syncId: 's2', entities: many('b', big) });
      const seen: GraphCounts[] = [];
      const reading = (async () => {
        for (let i = 0; i < 5; i++) seen.push(await store.counts());
      })();
      await Promise.all([committing, reading]);
      const after = await store.counts();
      expect(after.entities).toBe(big);
      for (const counts of seen) expect([before, after]).toContainEqual(counts);
    });

    it('every index path pages like the memory reference: each query, page sizes 1 to 3 and 1000', async () => {
      const { store } = await fresh();
      const memory = createMemoryStore();
      const types = ['host', 'user'];
      const classes = ['Host', 'User', 'Generic'];
      const syncs: SyncParams[] = [];
      for (const accountId of ['acme', 'globex']) {
        for (const connectorId of ['alpha', 'beta']) {
          const entities = Array.from({ length: 7 }, (_, i) =>
            ent(types[i % 2]!, `${connectorId}-${i}`, { entityClass: classes[i % 3]! }),
          );
          const relationships = entities.slice(1).flatMap((e, i) => [
            rel(`${entities[0]!.entityType}:${entities[0]!.entityKey}`, i % 2 ? 'HAS' : 'USES', `${e.entityType}:${e.entityKey}`),
            rel(`${e.entityType}:${e.entityKey}`, 'CONNECTS', `${entities[0]!.entityType}:${entities[0]!.entityKey}`),
          ]);
          syncs.push({ syncId: `${accountId}-${connectorId}`, accountId, connectorId, entities, relationships });
        }
      }
      // beta also links to alpha's hub, so relationships of one entity span connectors.
      syncs.push({
        syncId: 'acme-beta-2',
        accountId: 'acme',
        connectorId: 'beta',
        entities: syncs[1]!.entities!,
        relationships: [...syncs[1]!.relationships!, rel('host:beta-0', 'TRUSTS', 'host:alpha-0'), rel('host:alpha-0', 'TRUSTS', 'host:alpha-0')],
      });
      for (const p of syncs) {
        await commitSync(store, syncInput(p));
        await commitSync(memory, syncInput(p));
      }
      const hub = entityId('acme', 'host', 'alpha-0');
      const entityQueries: EntityQuery[] = [
        {},
        { accountId: 'acme' },
        { type: 'user' },
        { accountId: 'acme', type: 'host' },
        { accountId: 'acme', class: 'User' },
        { accountId: 'globex', connectorId: 'beta' },
        { accountId: 'acme', type: 'host', class: 'Generic', connectorId: 'alpha' },
        { class: 'Host', connectorId: 'alpha' },
        { accountId: 'nobody', connectorId: 'alpha' },
      ];
      const relationshipQueries: RelationshipQuery[] = [
        {},
        { accountId: 'acme' },
        { verb: 'HAS' },
        { accountId: 'acme', verb: 'CONNECTS' },
        { accountId: 'acme', connectorId: 'beta' },
        { accountId: 'acme', connectorId: 'beta', verb: 'TRUSTS' },
        { entityId: hub },
        { entityId: hub, direction: 'out' },
        { entityId: hub, direction: 'in' },
        { entityId: hub, direction: 'both', verb: 'TRUSTS' },
        { entityId: hub, connectorId: 'alpha', direction: 'in' },
      ];
      const both = async <Q, T>(list: (s: GraphStore) => (q: Q) => Promise<{ items: readonly T[] }>, query: Q, limit: number) => ({
        got: await listAll((q) => list(store)({ ...query, ...q }) as never, limit),
        want: await listAll((q) => list(memory)({ ...query, ...q }) as never, limit),
      });
      for (const limit of [1, 2, 3, 1000]) {
        for (const query of entityQueries) {
          const { got, want } = await both((s) => s.listEntities.bind(s), query, limit);
          expect(got, `listEntities ${JSON.stringify(query)} limit ${limit}`).toEqual(want);
        }
        for (const query of relationshipQueries) {
          const { got, want } = await both((s) => s.listRelationships.bind(s), query, limit);
          expect(got, `listRelationships ${JSON.stringify(query)} limit ${limit}`).toEqual(want);
        }
      }
      expect((await listAll((q) => store.listRelationships({ ...q, entityId: hub }), 1)).length).toBeGreaterThan(10);
      for (const accountId of [undefined, 'acme', 'globex', 'nobody']) {
        const query = accountId === undefined ? {} : { accountId };
        expect(await store.counts(query)).toEqual(await memory.counts(query));
      }
      expect(await store.syncHistory({ accountId: 'acme', connectorId: 'beta' })).toEqual(
        (await memory.syncHistory({ accountId: 'acme', connectorId: 'beta' })).map((r) => ({ ...r, committedAt: expect.any(String) })),
      );
    });

    it('INV-C02/INV-C04: rows of other connectors are found both ways (walking their scopes, or one get per id) with the reference\'s results', async () => {
      // A small batch against a big other scope takes the gets; a big batch against a small one walks it.
      for (const [others, emitted] of [
        [40, 3],
        [3, 40],
      ] as const) {
        const { store } = await fresh();
        const memory = createMemoryStore();
        const both = async (p: SyncParams) => {
          const want = await commitSync(memory, syncInput(p)).then((r) => r.stats, (e: CommitError) => e.code);
          const got = await commitSync(store, syncInput(p)).then((r) => r.stats, (e: CommitError) => e.code);
          expect(got, `${others} other rows, ${emitted} emitted: ${p.syncId}`).toEqual(want);
        };
        const theirs = many('b', others);
        await both({ syncId: 'b1', connectorId: 'beta', entities: theirs, relationships: [rel('host:b-0', 'CONNECTS', 'host:b-1')] });
        const ours = [...many('a', emitted - 1), ent('host', 'b-0')];
        // Takes b-0 over, links to beta's b-2 (stored elsewhere), and takes the b-0 -> b-1 relationship over.
        await both({
          syncId: 'a1',
          connectorId: 'alpha',
          entities: ours,
          relationships: [rel('host:a-0', 'CONNECTS', 'host:b-2'), rel('host:b-0', 'CONNECTS', 'host:b-1')],
        });
        // An endpoint that exists nowhere is still refused.
        await both({ syncId: 'a2', connectorId: 'alpha', entities: ours, relationships: [rel('host:a-0', 'CONNECTS', 'host:nowhere')] });
        await both({ syncId: 'a3', connectorId: 'alpha', entities: ours });
        expect(await dumpStore(store).then((d) => d.counts)).toEqual(await dumpStore(memory).then((d) => d.counts));
      }
    });

    it('the store reports kind "indexeddb" and its database name', async () => {
      const { store, name } = await fresh();
      expect(store.kind).toBe('indexeddb');
      expect(store.name).toBe(name);
      expect(store.closedReason).toBeUndefined();
    });
  });
}
