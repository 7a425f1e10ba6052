/**
 * IndexedDB-specific failure modes, shared by the Chromium run
 * (indexeddb.browser.test.ts) and the fake-indexeddb run (indexeddb.test.ts):
 * a closed store, a versionchange from another connection (idle and in the
 * middle of a sync), a QuotaExceededError during the commit's writes,
 * readers during a sync (staged rows are invisible), aborted and stale
 * staging (+P4), SyncConflict, and the upgrades from schema versions 1 and 2 with
 * its rows kept. Runtime-neutral: vitest, parallax-edge and the IndexedDB
 * globals only.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CommitError, commitSync, discardSync, entityId, relationshipId, runConnector, type EntityQuery, type GraphCounts, type GraphStore, type RelationshipQuery } from 'parallax-edge';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { INDEXEDDB_SCHEMA_VERSION, openIndexedDbStore, type IndexedDbStore } from 'parallax-edge/adapters/indexeddb';
import { connectorOf, dumpStore, ent, expectCommitError, listAll, rel, stats, sync, syncInput, type SyncParams } from 'parallax-edge/testing';

/** The version "another tab" upgrades to: past this adapter's schema. */
const NEXT_VERSION = INDEXEDDB_SCHEMA_VERSION + 1;
/** The stores a commit writes rows and its record to (staging, units and scopes are not counted). */
const GRAPH_STORES = new Set(['entities', 'relationships', 'history']);

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
 * Makes the `failAt`-th write (put or add) into the graph or the history
 * abort its transaction with a QuotaExceededError, the way a full disk does: the
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
      if (!state.fired && GRAPH_STORES.has(this.name) && ++state.writes === failAt) {
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

/** Rows of one object store (of a raw connection). */
async function countOf(db: IDBDatabase, store: string): Promise<number> {
  return request(db.transaction(store).objectStore(store).count());
}

/** Streams a sync into the store without committing it: its rows are staged, one chunk per row. */
function stage(store: GraphStore, p: SyncParams) {
  const input = syncInput(p);
  return runConnector(connectorOf(input), { accountId: input.accountId, syncId: input.syncId, store, chunkRows: 1 });
}

/** The version 1 layout of the adapter (before the streaming protocol), as raw IndexedDB calls. */
function createVersion1(db: IDBDatabase): void {
  const scopeV1 = ['accountId', 'connectorId', 'id', 'hash', 'stepId'];
  const entities = db.createObjectStore('entities', { keyPath: 'id' });
  entities.createIndex('account_type', ['accountId', 'entityType']);
  entities.createIndex('account_class', ['accountId', 'entityClass']);
  entities.createIndex('scope', scopeV1);
  entities.createIndex('account_type_key', ['accountId', 'entityType', 'entityKey']);
  const relationships = db.createObjectStore('relationships', { keyPath: 'id' });
  relationships.createIndex('fromId', 'fromId');
  relationships.createIndex('toId', 'toId');
  relationships.createIndex('scope', scopeV1);
  relationships.createIndex('account_verb', ['accountId', 'verb']);
  const history = db.createObjectStore('history', { keyPath: 'seq', autoIncrement: true });
  history.createIndex('account_sync', ['accountId', 'syncId'], { unique: true });
  history.createIndex('accountId', 'accountId');
  history.createIndex('connectorId', 'connectorId');
  history.createIndex('account_connector', ['accountId', 'connectorId']);
}

/** The version 2 layout (streaming staging, a `scope` index on both graph stores), as raw IndexedDB calls. */
function createVersion2(db: IDBDatabase): void {
  const scope = ['accountId', 'connectorId'];
  const entities = db.createObjectStore('entities', { keyPath: 'id' });
  entities.createIndex('account_type', ['accountId', 'entityType']);
  entities.createIndex('account_class', ['accountId', 'entityClass']);
  entities.createIndex('scope', scope);
  const relationships = db.createObjectStore('relationships', { keyPath: 'id' });
  relationships.createIndex('fromId', 'fromId');
  relationships.createIndex('toId', 'toId');
  relationships.createIndex('scope', scope);
  relationships.createIndex('account_verb', ['accountId', 'verb']);
  const history = db.createObjectStore('history', { keyPath: 'seq', autoIncrement: true });
  history.createIndex('account_sync', ['accountId', 'syncId'], { unique: true });
  history.createIndex('accountId', 'accountId');
  history.createIndex('connectorId', 'connectorId');
  history.createIndex('account_connector', ['accountId', 'connectorId']);
  db.createObjectStore('staged_syncs', { keyPath: 'token' });
  db.createObjectStore('staged_chunks');
  db.createObjectStore('units');
  db.createObjectStore('scopes');
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
      const other = await openRaw(factory, name, NEXT_VERSION);
      cleanup.push(() => other.close());
      expect(store.closedReason).toMatch(/versionchange/);
      const error = await expectCommitError(sync(store, { syncId: 's2', entities: [ent('host', 'h-2')] }), 'StoreFailure');
      expect(error.message).toContain(`"${name}"`);
      expect(error.message).toContain(`upgrading it to version ${NEXT_VERSION} (versionchange)`);
      await expectCommitError(store.listEntities(), 'StoreFailure');
      expect(await countRows(other)).toEqual({ entities: 1, relationships: 0, history: 1 });
      // This adapter cannot reopen a database upgraded past its schema.
      other.close();
      const reopening = await expectCommitError(openIndexedDbStore(name, { indexedDB: factory }), 'StoreFailure');
      expect(reopening.message).toMatch(/newer schema/);
    });

    it('INV-C01/+P4: a versionchange in the middle of a sync (staging or commit) leaves the graph as it was and reports StoreFailure', async () => {
      const { store, factory, name } = await fresh();
      await sync(store, { syncId: 's1', entities: many('h', big) });
      // s2 updates every row: it stages them in chunks, then commits them.
      const committing = sync(store, { syncId: 's2', entities: many('h', big, { displayName: 'renamed' }) }).then(
        (result) => ({ ok: true as const, result }),
        (error: unknown) => ({ ok: false as const, error }),
      );
      const other = await openRaw(factory, name, NEXT_VERSION);
      cleanup.push(() => other.close());
      const outcome = await committing;
      const rows = await countRows(other);
      expect(rows.entities).toBe(big);
      expect(outcome.ok, 'the versionchange arrived after the commit finished: make bigBatch larger').toBe(false);
      const error = outcome.ok ? undefined : (outcome.error as CommitError);
      expect(error).toBeInstanceOf(CommitError);
      expect(error?.code).toBe('StoreFailure');
      expect(error?.message).toMatch(/versionchange/);
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
      ['on the history record (the last graph write)', 6 + 4 + 1],
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

    it('schema upgrade: a database with the version 1 layout opens at the current version, keeps every row and index path, and syncs on', async () => {
      const factory = options.factory();
      const name = `upgrade-${Date.now()}-${++names}`;
      const opening = factory.open(name, 1);
      opening.onupgradeneeded = () => createVersion1(opening.result);
      const v1 = await request(opening);
      const source = { accountId: 'acme', connectorId: 'alpha', syncId: 's1', stepId: 'main' };
      const h1 = entityId('acme', 'host', 'h-1');
      const h2 = entityId('acme', 'host', 'h-2');
      const link = relationshipId('acme', 'host', 'h-1', 'CONNECTS', 'host', 'h-2');
      const entity = (id: string, key: string) => ({ id, entityType: 'host', entityKey: key, entityClass: 'Host', displayName: `host ${key}`, propertiesJson: '{"os":"linux"}', hash: `v1-${key}`, ...source });
      const tx = v1.transaction(['entities', 'relationships', 'history'], 'readwrite');
      tx.objectStore('entities').put(entity(h1, 'h-1'));
      tx.objectStore('entities').put(entity(h2, 'h-2'));
      tx.objectStore('relationships').put({ id: link, fromId: h1, toId: h2, fromType: 'host', fromKey: 'h-1', verb: 'CONNECTS', toType: 'host', toKey: 'h-2', propertiesJson: '{}', hash: 'v1-link', ...source });
      const v1Record = { accountId: 'acme', connectorId: 'alpha', syncId: 's1', startedAt: 'a', finishedAt: 'b', committedAt: 'c', failedSteps: [], keptSteps: [], stats: stats({ entitiesCreated: 2, relationshipsCreated: 1 }) };
      tx.objectStore('history').add(v1Record);
      await new Promise((resolve, reject) => {
        tx.oncomplete = resolve;
        tx.onabort = () => reject(tx.error);
      });
      v1.close();

      const store = await openIndexedDbStore(name, { indexedDB: factory });
      cleanup.push(() => store.close());
      expect(await store.getEntity(h1)).toMatchObject({ entityKey: 'h-1', properties: { os: 'linux' }, connectorId: 'alpha', syncId: 's1' });
      expect((await store.findEntity('acme', 'host', 'h-2'))?.id).toBe(h2);
      expect((await store.listEntities({ accountId: 'acme', connectorId: 'alpha' })).items.map((e) => e.id)).toEqual([h1, h2].sort());
      expect((await store.listEntities({ accountId: 'acme', type: 'host' })).items).toHaveLength(2);
      expect((await store.listRelationships({ entityId: h2, direction: 'in' })).items.map((r) => r.id)).toEqual([link]);
      expect((await store.listRelationships({ accountId: 'acme', connectorId: 'alpha' })).items.map((r) => r.id)).toEqual([link]);
      expect(await store.counts({ accountId: 'acme' })).toMatchObject({ entities: 2, relationships: 1, entitiesByClass: { Host: 2 }, relationshipsByVerb: { CONNECTS: 1 } });
      expect(await store.syncHistory()).toEqual([v1Record]);
      const raw = await openRaw(factory, name);
      cleanup.push(() => raw.close());
      expect(raw.version).toBe(INDEXEDDB_SCHEMA_VERSION);
      const indexes = (s: string) => Array.from(raw.transaction(s).objectStore(s).indexNames).sort();
      expect(indexes('entities')).toEqual(['account_class', 'account_type']);
      expect(indexes('relationships')).toEqual(['account_verb', 'fromId', 'toId']);
      raw.close();
      // The next sync diffs against the migrated rows: h-1 re-emitted, h-2 and its relationship gone.
      const result = await sync(store, { syncId: 's2', entities: [ent('host', 'h-1', { entityClass: 'Host', displayName: 'host h-1', properties: { os: 'linux' } })] });
      expect(result.stats).toEqual(stats({ entitiesUpdated: 1, entitiesDeleted: 1, relationshipsDeleted: 1 }));
      expect(await store.counts()).toMatchObject({ entities: 1, relationships: 0 });
      expect(await sync(store, { syncId: 's3', entities: [ent('host', 'h-1', { entityClass: 'Host', displayName: 'host h-1', properties: { os: 'linux' } })] }).then((r) => r.stats)).toEqual(
        stats({ entitiesUnchanged: 1 }),
      );
    });

    it('schema upgrade: a version 2 database drops its scope indexes, keeps every row, lists by connector, and its next commit scans an untrusted scope', async () => {
      const factory = options.factory();
      const name = `upgrade2-${Date.now()}-${++names}`;
      const opening = factory.open(name, 2);
      opening.onupgradeneeded = () => createVersion2(opening.result);
      const v2 = await request(opening);
      const row = (key: string, connectorId: string) => ({
        id: entityId('acme', 'host', key), entityType: 'host', entityKey: key, entityClass: 'Host', displayName: `host ${key}`, propertiesJson: '{}', hash: `v2-${key}`,
        accountId: 'acme', connectorId, syncId: 's1', stepId: 'main',
      });
      const tx = v2.transaction(['entities', 'scopes'], 'readwrite');
      for (const key of ['a-0', 'a-1', 'a-2']) tx.objectStore('entities').put(row(key, 'alpha'));
      tx.objectStore('entities').put(row('b-0', 'beta'));
      // alpha's units do not stand for its rows (as after a commit with kept steps).
      tx.objectStore('scopes').put({ version: 3, trusted: false, entities: 0, relationships: 0, units: 0 }, ['acme', 'alpha']);
      await new Promise((resolve, reject) => {
        tx.oncomplete = resolve;
        tx.onabort = () => reject(tx.error);
      });
      v2.close();

      const store = await openIndexedDbStore(name, { indexedDB: factory });
      cleanup.push(() => store.close());
      const raw = await openRaw(factory, name);
      expect(raw.version).toBe(INDEXEDDB_SCHEMA_VERSION);
      const indexes = (s: string) => Array.from(raw.transaction(s).objectStore(s).indexNames).sort();
      expect(indexes('entities')).toEqual(['account_class', 'account_type']);
      expect(indexes('relationships')).toEqual(['account_verb', 'fromId', 'toId']);
      raw.close();
      const alpha = (await store.listEntities({ accountId: 'acme', connectorId: 'alpha' })).items.map((e) => e.entityKey);
      expect(alpha).toEqual(['a-0', 'a-1', 'a-2'].sort((x, y) => (entityId('acme', 'host', x) < entityId('acme', 'host', y) ? -1 : 1)));
      expect((await store.listEntities({ accountId: 'acme', connectorId: 'beta' })).items.map((e) => e.entityKey)).toEqual(['b-0']);
      // a-1 and a-2 are no longer emitted: the scan finds them in alpha's scope; beta's b-0 is left alone.
      const result = await sync(store, { syncId: 's2', entities: [ent('host', 'a-0')] });
      expect(result.stats).toEqual(stats({ entitiesUpdated: 1, entitiesDeleted: 2 }));
      expect((await store.listEntities({ accountId: 'acme' })).items.map((e) => e.entityKey).sort()).toEqual(['a-0', 'b-0']);
      // Now trusted: the next commit takes alpha's ids from its units and deletes a-0.
      expect((await sync(store, { syncId: 's3', entities: [ent('host', 'a-3')] })).stats).toEqual(stats({ entitiesCreated: 1, entitiesDeleted: 1 }));
      expect((await store.listEntities({ accountId: 'acme' })).items.map((e) => e.entityKey).sort()).toEqual(['a-3', 'b-0']);
    });

    it('+P4: staged rows are invisible to every read until the commit, and a discarded run leaves no staging behind', async () => {
      const { store, factory, name } = await fresh();
      await sync(store, { syncId: 's1', entities: many('a', 3) });
      const before = await dumpStore(store);
      const output = await stage(store, { syncId: 's2', entities: [...many('a', 2), ...many('b', 5)], relationships: [rel('host:a-0', 'CONNECTS', 'host:b-0')] });
      const raw = await openRaw(factory, name);
      cleanup.push(() => raw.close());
      expect(await countOf(raw, 'staged_chunks')).toBeGreaterThan(0);
      expect(await dumpStore(store)).toStrictEqual(before);
      expect(await store.getEntity(entityId('acme', 'host', 'b-0'))).toBeUndefined();
      expect(await store.findEntity('acme', 'host', 'b-0')).toBeUndefined();
      await discardSync(output);
      expect(await countOf(raw, 'staged_chunks')).toBe(0);
      expect(await countOf(raw, 'staged_syncs')).toBe(0);
      expect(await dumpStore(store)).toStrictEqual(before);
      // The same run committed: now it shows, and promotion removed its staging.
      const staged = await stage(store, { syncId: 's2', entities: [...many('a', 2), ...many('b', 5)] });
      expect((await commitSync(store, staged)).stats).toEqual(stats({ entitiesCreated: 5, entitiesUnchanged: 2, entitiesDeleted: 1 }));
      expect(await countOf(raw, 'staged_chunks')).toBe(0);
      expect(await countOf(raw, 'staged_syncs')).toBe(0);
    });

    it('+P4: a closed or crashed page\'s staging is removed by the next sync (Web Locks where available, else by age); a live sync\'s staging is not', async () => {
      const { store, factory, name } = await fresh();
      const raw = await openRaw(factory, name);
      cleanup.push(() => raw.close());
      const header = { accountId: 'acme', connectorId: 'gone', syncId: 'g1', startedAt: '2026-01-01T00:00:00.000Z' };
      const tx = raw.transaction(['staged_syncs', 'staged_chunks'], 'readwrite');
      // 'dead': its lock is held by nobody (and it is old, for runtimes without Web Locks).
      tx.objectStore('staged_syncs').put({ token: 'dead', header, openedAt: 0, lock: `parallax-edge:indexeddb:${name}:dead` });
      tx.objectStore('staged_chunks').put({ stepId: 'main', entities: [], relationships: [], units: [], matched: [] }, ['dead', 'main', 0, 1]);
      // 'young': opened without a lock a moment ago: within the lease, so kept everywhere.
      tx.objectStore('staged_syncs').put({ token: 'young', header, openedAt: Date.now() });
      tx.objectStore('staged_chunks').put({ stepId: 'main', entities: [], relationships: [], units: [], matched: [] }, ['young', 'main', 0, 1]);
      await new Promise((resolve, reject) => {
        tx.oncomplete = resolve;
        tx.onabort = () => reject(tx.error);
      });
      // A live streamed run of another connector, not committed yet.
      const live = await stage(store, { syncId: 'b1', connectorId: 'beta', entities: many('b', 3) });
      await sync(store, { syncId: 's1', entities: many('a', 2) });
      const tokens = (await request(raw.transaction('staged_syncs').objectStore('staged_syncs').getAllKeys())) as string[];
      expect(tokens).not.toContain('dead');
      expect(tokens).toContain('young');
      expect(tokens).toHaveLength(2);
      expect(await request(raw.transaction('staged_chunks').objectStore('staged_chunks').count(IDBKeyRange.bound(['dead'], ['dead', []])))).toBe(0);
      // The live run was left alone and commits.
      expect((await commitSync(store, live)).stats).toEqual(stats({ entitiesCreated: 3 }));
    });

    it('+P4: closing the store releases its live syncs\' Web Locks, so the page\'s next sync removes their staging (without Web Locks it waits out the lease)', async () => {
      const { store, factory, name } = await fresh();
      const live = await stage(store, { syncId: 'c1', connectorId: 'gamma', entities: many('c', 3) });
      await store.close();
      const again = await openIndexedDbStore(name, { indexedDB: factory });
      cleanup.push(() => again.close());
      await sync(again, { syncId: 's1', entities: many('a', 2) });
      const raw = await openRaw(factory, name);
      cleanup.push(() => raw.close());
      const tokens = await request(raw.transaction('staged_syncs').objectStore('staged_syncs').getAllKeys());
      const locks = (globalThis as { navigator?: { locks?: { query(): Promise<{ held?: { name?: string }[] }> } } }).navigator?.locks;
      if (locks) {
        expect(tokens).toHaveLength(0);
        expect(((await locks.query()).held ?? []).filter((l) => l.name?.includes(name))).toEqual([]);
      } else {
        expect(tokens).toHaveLength(1);
      }
      // The closed store's run cannot commit, and nothing of it shows.
      await expectCommitError(commitSync(store, live), 'StoreFailure');
      expect((await again.listEntities({ accountId: 'acme', connectorId: 'gamma' })).items).toEqual([]);
    });

    it('SyncConflict: a re-sync that matched stored units is refused when another commit changed the scope while it staged, and nothing changes', async () => {
      const { store } = await fresh();
      const first = { syncId: 's1', entities: many('a', 20), relationships: [rel('host:a-0', 'CONNECTS', 'host:a-1')] };
      await sync(store, first);
      // The same output again, streamed: every unit matches, nothing is staged.
      const again = await stage(store, { ...first, syncId: 's2' });
      await sync(store, { syncId: 's3', entities: many('a', 19) });
      const before = await dumpStore(store);
      await expectCommitError(commitSync(store, again), 'SyncConflict');
      expect(await dumpStore(store)).toStrictEqual(before);
      // Run again, it commits.
      expect((await commitSync(store, await stage(store, { ...first, syncId: 's2' }))).stats).toEqual(
        stats({ entitiesCreated: 1, entitiesUnchanged: 19, relationshipsCreated: 1 }),
      );
    });

    it('the store reports kind "indexeddb" and its database name', async () => {
      const { store, name } = await fresh();
      expect(store.kind).toBe('indexeddb');
      expect(store.name).toBe(name);
      expect(store.closedReason).toBeUndefined();
    });
  });
}
