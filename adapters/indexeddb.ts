/// <reference lib="dom" />
/**
 * The IndexedDB GraphStore, for browsers (and Node with `fake-indexeddb/auto`).
 *
 * A commit is one readwrite transaction over `entities`, `relationships` and
 * `history`. It checks the sync id, then diffs the batch against the
 * connector's stored scope with a key cursor over the `scope` index
 * (account, connector, id, hash, step: the diff never deserializes a stored
 * row, and never holds more of the stored graph than the ids it will delete
 * or keep), looks up rows of other connectors only when the account has any,
 * checks INV-C04 against the graph as it will be after the commit, finds the
 * INV-03 cascade through the `fromId`/`toId` indexes, and only then issues
 * every put and delete without awaiting them one by one. Nothing but
 * IndexedDB requests is awaited inside the transaction, so it cannot
 * auto-commit half way; a failure at any point (a check, the quota, a
 * versionchange from another tab, a closed connection) aborts it, and
 * IndexedDB rolls every write back (INV-C01).
 *
 * Staging happens inside that transaction: the batch is already in memory
 * (a `CommitBatch`), and the writes of an uncommitted IndexedDB transaction
 * are invisible to every other transaction, so readers never see staged rows
 * and an aborted or crashed commit leaves nothing behind to clean up (+P4).
 * A staging object store would only write every row twice.
 *
 * `idb` opens the database and types the schema; the hot paths (cursor walks,
 * batched gets, puts) use the native requests with callbacks, one promise per
 * phase rather than one per row.
 *
 * @example
 * import { commitSync, runConnector } from 'parallax-edge';
 * import { openIndexedDbStore } from 'parallax-edge/adapters/indexeddb';
 * const store = await openIndexedDbStore('my-graph');
 * const { stats } = await commitSync(store, await runConnector(connector, { accountId: 'acme', syncId: crypto.randomUUID() }));
 */
import { unwrap, wrap, type DBSchema, type IDBPDatabase } from 'idb';
import {
  CommitError,
  DEFAULT_HISTORY_LIMIT,
  danglingRelationship,
  decodeCursor,
  duplicateSync,
  emptyStats,
  encodeCursor,
  graphCounts,
  pageLimit,
  type CommitBatch,
  type CommitResult,
  type EntityQuery,
  type GraphStore,
  type HistoryQuery,
  type Page,
  type PreparedEntity,
  type PreparedRelationship,
  type RelationshipQuery,
  type RowSource,
  type StoredEntity,
  type StoredRelationship,
  type SyncRecord,
} from '../src/index.js';

/** The schema version this adapter creates and expects. */
export const INDEXEDDB_SCHEMA_VERSION = 1;

/** The database name used when none is given. */
export const DEFAULT_INDEXEDDB_NAME = 'parallax-edge';

export interface IndexedDbStoreOptions {
  /**
   * The IndexedDB factory to open the database with; defaults to the global
   * `indexedDB`. The IndexedDB globals (`IDBKeyRange`, `IDBDatabase`, ...) of
   * the same implementation must be installed, as they are in browsers or
   * after `import 'fake-indexeddb/auto'` in Node.
   */
  readonly indexedDB?: IDBFactory;
}

export interface IndexedDbStore extends GraphStore {
  readonly kind: 'indexeddb';
  /** The IndexedDB database name. */
  readonly name: string;
  /** Why the store can no longer be used (closed, upgraded elsewhere, terminated), or undefined while it is open. */
  readonly closedReason: string | undefined;
}

/** Stored rows: the prepared row plus its source. `propertiesJson` is canonical JSON, `hash` drives the diff. */
type EntityRow = PreparedEntity & RowSource;
type RelationshipRow = PreparedRelationship & RowSource;
type HistoryRow = SyncRecord & { seq?: number };

interface Schema extends DBSchema {
  entities: {
    key: string;
    value: EntityRow;
    indexes: {
      account_type: [string, string];
      account_class: [string, string];
      scope: ScopeKey;
      account_type_key: [string, string, string];
    };
  };
  relationships: {
    key: string;
    value: RelationshipRow;
    indexes: {
      fromId: string;
      toId: string;
      scope: ScopeKey;
      account_verb: [string, string];
    };
  };
  history: {
    key: number;
    value: HistoryRow;
    indexes: {
      account_sync: [string, string];
      accountId: string;
      connectorId: string;
      account_connector: [string, string];
    };
  };
}

type StoreName = 'entities' | 'relationships' | 'history';

/**
 * The key of the `scope` index of both graph stores: a connector's rows in id
 * order, covering what the diff needs (id, hash, step), so the commit walks
 * the scope with a key cursor and never deserializes a stored row.
 */
type ScopeKey = [accountId: string, connectorId: string, id: string, hash: string, stepId: string];
const SCOPE_KEY_PATH = ['accountId', 'connectorId', 'id', 'hash', 'stepId'];

/** Every entry of one (account, connector) in the scope index, optionally only ids after `after`. */
const scopeRange = (accountId: string, connectorId: string, after?: string): IDBKeyRange =>
  after === undefined
    ? IDBKeyRange.bound([accountId, connectorId], [accountId, connectorId, []])
    : // [..., after, []] sorts after every key whose id is `after`.
      IDBKeyRange.bound([accountId, connectorId, after, []], [accountId, connectorId, []], true);

/** Every key of an account in an index whose key starts with the account id. */
const accountRange = (accountId: string): IDBKeyRange => IDBKeyRange.bound([accountId], [accountId, []]);

/**
 * Opens (creating or upgrading if needed) the IndexedDB database `name` as a
 * GraphStore. Rejects with a `CommitError` `StoreFailure` when IndexedDB is
 * unavailable or the database was upgraded past this adapter's schema.
 */
export async function openIndexedDbStore(
  name: string = DEFAULT_INDEXEDDB_NAME,
  options: IndexedDbStoreOptions = {},
): Promise<IndexedDbStore> {
  let closedReason: string | undefined;
  let db: IDBPDatabase<Schema> | undefined;
  /** Commits in flight: a versionchange aborts them. */
  const active = new Set<IDBTransaction>();

  /** Marks the store unusable, aborts commits in flight (they roll back whole) and closes the connection. */
  const shutDown = (reason: string): void => {
    closedReason ??= reason;
    for (const tx of active) {
      try {
        tx.abort();
      } catch {
        /* already committing or finished: it lands whole */
      }
    }
    db?.close();
  };

  const factory = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (!factory) throw new CommitError('StoreFailure', `IndexedDB is not available here: cannot open "${name}"`);
  try {
    // idb's openDB, with the factory passed in rather than the global one.
    const opening = factory.open(name, INDEXEDDB_SCHEMA_VERSION);
    opening.addEventListener('upgradeneeded', (event) => {
      if (event.oldVersion < 1) createSchema(wrap(opening.result) as unknown as IDBPDatabase<Schema>);
    });
    db = (await wrap(opening)) as unknown as IDBPDatabase<Schema>;
  } catch (error) {
    if (isDomError(error, 'VersionError')) {
      throw new CommitError(
        'StoreFailure',
        `the IndexedDB database "${name}" has a newer schema than this adapter's version ${INDEXEDDB_SCHEMA_VERSION}; it was upgraded by a newer version of the app`,
        { cause: error },
      );
    }
    throw new CommitError('StoreFailure', `cannot open the IndexedDB database "${name}": ${describe(error)}`, { cause: error });
  }
  const native = unwrap(db);
  native.addEventListener('versionchange', (event) => {
    shutDown(
      event.newVersion === null
        ? `the IndexedDB database "${name}" was closed because another tab or connection is deleting it (versionchange)`
        : `the IndexedDB database "${name}" was closed because another tab or connection is upgrading it to version ${event.newVersion} (versionchange); reload to use the new version`,
    );
  });
  native.addEventListener('close', () => {
    shutDown(`the browser closed the IndexedDB database "${name}" unexpectedly (storage cleared, evicted or failed)`);
  });

  const failure = (): CommitError =>
    new CommitError('StoreFailure', closedReason ?? `the IndexedDB database "${name}" is closed`);

  /** Wraps IndexedDB failures in a `CommitError` `StoreFailure`; our own errors (CommitError, RangeError) pass through. */
  const storeFailure = (error: unknown, doing: string, writing = false): unknown => {
    if (error instanceof CommitError || error instanceof RangeError) return error;
    const rolledBack = writing ? '; the transaction was rolled back and nothing was written' : '';
    if (isDomError(error, 'QuotaExceededError')) {
      return new CommitError(
        'StoreFailure',
        `the storage quota was exceeded while ${doing} in the IndexedDB database "${name}"${rolledBack}`,
        { cause: error },
      );
    }
    if (closedReason !== undefined) {
      return new CommitError('StoreFailure', `${closedReason}; interrupted while ${doing}${rolledBack}`, { cause: error });
    }
    return new CommitError('StoreFailure', `IndexedDB failed while ${doing} in "${name}": ${describe(error)}${rolledBack}`, {
      cause: error,
    });
  };

  /** Like the memory store: a closed store says so before any argument is checked. */
  const ensureOpen = (): void => {
    if (closedReason !== undefined) throw failure();
  };

  /** A native transaction, after checking the store is usable. */
  const transaction = (stores: StoreName[], mode: IDBTransactionMode): IDBTransaction => {
    ensureOpen();
    try {
      return native.transaction(stores, mode);
    } catch (error) {
      // InvalidStateError: the connection is closing (a versionchange arrived before our handler ran).
      throw closedReason !== undefined ? failure() : storeFailure(error, 'starting a transaction');
    }
  };

  /** Runs a read in a readonly transaction. */
  async function read<T>(stores: StoreName[], doing: string, body: (tx: IDBTransaction) => Promise<T>): Promise<T> {
    const tx = transaction(stores, 'readonly');
    try {
      return await body(tx);
    } catch (error) {
      throw storeFailure(error, doing);
    }
  }

  async function commit(batch: CommitBatch): Promise<CommitResult> {
    const tx = transaction(['entities', 'relationships', 'history'], 'readwrite');
    active.add(tx);
    const done = transactionDone(tx);
    try {
      const result = await commitIn(tx, batch);
      await done;
      return result;
    } catch (error) {
      try {
        tx.abort();
      } catch {
        /* already aborted (quota, versionchange) or finished */
      }
      // The transaction's own error (QuotaExceededError...) says more than a request's AbortError.
      const cause = await done.then(
        () => error,
        (txError: unknown) => (error instanceof CommitError || error instanceof RangeError ? error : (txError ?? error)),
      );
      throw storeFailure(cause, `committing sync "${batch.syncId}"`, true);
    } finally {
      active.delete(tx);
    }
  }

  const store: IndexedDbStore = {
    kind: 'indexeddb',
    name,
    get closedReason() {
      return closedReason;
    },
    commit,

    getEntity: (id) =>
      read(['entities'], 'reading an entity', async (tx) => {
        const row = await request(tx.objectStore('entities').get(id) as IDBRequest<EntityRow | undefined>);
        return row && toEntity(row);
      }),

    findEntity: (accountId, type, key) =>
      read(['entities'], 'finding an entity', async (tx) => {
        const index = tx.objectStore('entities').index('account_type_key');
        const row = await request(index.get([accountId, type, key]) as IDBRequest<EntityRow | undefined>);
        return row && toEntity(row);
      }),

    async listEntities(query: EntityQuery = {}) {
      ensureOpen();
      const limit = pageLimit(query.limit);
      const after = decodeCursor(query.cursor);
      return read(['entities'], 'listing entities', async (tx) => {
        const entities = tx.objectStore('entities');
        const { accountId, type, class: entityClass, connectorId } = query;
        const source: Source =
          accountId === undefined
            ? { from: entities }
            : type !== undefined
              ? { from: entities.index('account_type'), key: [accountId, type] }
              : entityClass !== undefined
                ? { from: entities.index('account_class'), key: [accountId, entityClass] }
                : connectorId !== undefined
                  ? { from: entities.index('scope'), range: scopeRange(accountId, connectorId, after) }
                  : { from: entities };
        const rows = await pageOf<EntityRow>(
          source,
          after,
          limit + 1,
          (row) =>
            (accountId === undefined || row.accountId === accountId) &&
            (type === undefined || row.entityType === type) &&
            (entityClass === undefined || row.entityClass === entityClass) &&
            (connectorId === undefined || row.connectorId === connectorId),
        );
        return toPage(rows, limit, toEntity);
      });
    },

    getRelationship: (id) =>
      read(['relationships'], 'reading a relationship', async (tx) => {
        const row = await request(tx.objectStore('relationships').get(id) as IDBRequest<RelationshipRow | undefined>);
        return row && toRelationship(row);
      }),

    async listRelationships(query: RelationshipQuery = {}) {
      ensureOpen();
      const limit = pageLimit(query.limit);
      const after = decodeCursor(query.cursor);
      return read(['relationships'], 'listing relationships', async (tx) => {
        const relationships = tx.objectStore('relationships');
        const { accountId, entityId, verb, connectorId } = query;
        const direction = query.direction ?? 'both';
        const match = (row: RelationshipRow): boolean =>
          (accountId === undefined || row.accountId === accountId) &&
          (verb === undefined || row.verb === verb) &&
          (connectorId === undefined || row.connectorId === connectorId) &&
          (entityId === undefined ||
            (direction !== 'in' && row.fromId === entityId) ||
            (direction !== 'out' && row.toId === entityId));
        let rows: RelationshipRow[];
        if (entityId !== undefined) {
          // Each direction is id-ordered on its own index; the first limit+1 of the union are among the first limit+1 of each.
          const outgoing = direction === 'in' ? [] : await pageOf<RelationshipRow>({ from: relationships.index('fromId'), key: entityId }, after, limit + 1, match);
          const incoming = direction === 'out' ? [] : await pageOf<RelationshipRow>({ from: relationships.index('toId'), key: entityId }, after, limit + 1, match);
          const byId = new Map([...outgoing, ...incoming].map((row) => [row.id, row]));
          rows = [...byId.values()].sort(byRowId).slice(0, limit + 1);
        } else {
          const source: Source =
            accountId === undefined
              ? { from: relationships }
              : connectorId !== undefined
                ? { from: relationships.index('scope'), range: scopeRange(accountId, connectorId, after) }
                : verb !== undefined
                  ? { from: relationships.index('account_verb'), key: [accountId, verb] }
                  : { from: relationships };
          rows = await pageOf<RelationshipRow>(source, after, limit + 1, match);
        }
        return toPage(rows, limit, toRelationship);
      });
    },

    counts: (query = {}) =>
      read(['entities', 'relationships'], 'counting rows', async (tx) => {
        const range = query.accountId === undefined ? null : accountRange(query.accountId);
        const byClass = await countByIndexKey(tx.objectStore('entities').index('account_class'), range);
        const byVerb = await countByIndexKey(tx.objectStore('relationships').index('account_verb'), range);
        return graphCounts(byClass, byVerb);
      }),

    async syncHistory(query: HistoryQuery = {}) {
      ensureOpen();
      const limit = query.limit === undefined ? DEFAULT_HISTORY_LIMIT : pageLimit(query.limit);
      return read(['history'], 'reading sync history', async (tx) => {
        const history = tx.objectStore('history');
        const { accountId, connectorId } = query;
        const [from, range]: [IDBObjectStore | IDBIndex, IDBValidKey | null] =
          accountId !== undefined && connectorId !== undefined
            ? [history.index('account_connector'), [accountId, connectorId]]
            : accountId !== undefined
              ? [history.index('accountId'), accountId]
              : connectorId !== undefined
                ? [history.index('connectorId'), connectorId]
                : [history, null];
        const records: SyncRecord[] = [];
        // Keys are the commit sequence, so 'prev' walks newest first.
        await walk(from.openCursor(range, 'prev'), (cursor) => {
          const { seq: _seq, ...record } = cursor.value as HistoryRow;
          records.push(record);
          return records.length < limit;
        });
        return records;
      });
    },

    async close() {
      closedReason ??= `the IndexedDB store "${name}" is closed`;
      native.close();
    },
  };

  /**
   * The commit, inside `tx`: reads first (sync id, scope diff, INV-C04,
   * cascade), then every write. Only IndexedDB requests are awaited.
   */
  async function commitIn(tx: IDBTransaction, batch: CommitBatch): Promise<CommitResult> {
    const { accountId, connectorId, syncId } = batch;
    const entities = tx.objectStore('entities');
    const relationships = tx.objectStore('relationships');
    const history = tx.objectStore('history');
    const kept = new Set(batch.keptSteps);
    const scope = scopeRange(accountId, connectorId);
    const stats = emptyStats();

    const duplicate = await request(history.index('account_sync').getKey([accountId, syncId]));
    if (duplicate !== undefined) throw duplicateSync(accountId, syncId);

    // Entities: walk the stored scope once with a key cursor. Stored hashes
    // of emitted rows are remembered; rows not emitted are kept (+P1) or deleted.
    const emittedEntities = new Map(batch.entities.map((e) => [e.id, e]));
    const storedEntityHash = new Map<string, string>();
    const keptEntities = new Set<string>();
    const deletedEntities = new Set<string>();
    let entityScopeSize = 0;
    await walk(entities.index('scope').openKeyCursor(scope), (cursor) => {
      const [, , id, hash, stepId] = cursor.key as ScopeKey;
      entityScopeSize++;
      if (emittedEntities.has(id)) storedEntityHash.set(id, hash);
      else if (kept.has(stepId)) keptEntities.add(id);
      else deletedEntities.add(id);
    });
    // Outside the scope, other connectors of the account may hold emitted
    // rows (last writer wins) and relationship endpoints (INV-C04).
    const certain = (id: string): boolean => emittedEntities.has(id) || keptEntities.has(id);
    const wantedEntities = new Set<string>();
    for (const e of batch.entities) if (!storedEntityHash.has(e.id)) wantedEntities.add(e.id);
    for (const r of batch.relationships) {
      for (const id of [r.fromId, r.toId]) if (!certain(id) && !deletedEntities.has(id)) wantedEntities.add(id);
    }
    const entitiesElsewhere = await outsideScope(entities, accountId, connectorId, entityScopeSize, wantedEntities);
    for (const [id, hash] of entitiesElsewhere) if (emittedEntities.has(id)) storedEntityHash.set(id, hash);

    const entityWrites: PreparedEntity[] = [];
    for (const e of batch.entities) {
      const old = storedEntityHash.get(e.id);
      if (old === undefined) stats.entitiesCreated++;
      else if (old === e.hash) stats.entitiesUnchanged++;
      else stats.entitiesUpdated++;
      if (old !== e.hash) entityWrites.push(e);
    }
    stats.entitiesKept = keptEntities.size;
    stats.entitiesDeleted = deletedEntities.size;

    // INV-C04 against the graph as it will be, before any write: an endpoint
    // is emitted, kept in scope, or stored outside the scope (which this
    // commit does not touch but for the cascade, and that removes only relationships).
    const willExist = (id: string): boolean => certain(id) || entitiesElsewhere.has(id);
    let firstDangling: PreparedRelationship | undefined;
    let danglingCount = 0;
    for (const r of batch.relationships) {
      if (!willExist(r.fromId) || !willExist(r.toId)) {
        firstDangling ??= r;
        danglingCount++;
      }
    }
    if (firstDangling) throw danglingRelationship(firstDangling, danglingCount);

    // Relationships: the same scope walk and lookups.
    const emittedRelationships = new Map(batch.relationships.map((r) => [r.id, r]));
    const storedRelationshipHash = new Map<string, string>();
    const keptRelationships = new Set<string>();
    const deletedRelationships = new Set<string>();
    let relationshipScopeSize = 0;
    await walk(relationships.index('scope').openKeyCursor(scope), (cursor) => {
      const [, , id, hash, stepId] = cursor.key as ScopeKey;
      relationshipScopeSize++;
      if (emittedRelationships.has(id)) storedRelationshipHash.set(id, hash);
      else if (kept.has(stepId)) keptRelationships.add(id);
      else deletedRelationships.add(id);
    });
    const wantedRelationships = new Set<string>();
    for (const r of batch.relationships) if (!storedRelationshipHash.has(r.id)) wantedRelationships.add(r.id);
    const relationshipsElsewhere = await outsideScope(relationships, accountId, connectorId, relationshipScopeSize, wantedRelationships);
    for (const [id, hash] of relationshipsElsewhere) storedRelationshipHash.set(id, hash);

    const relationshipWrites: PreparedRelationship[] = [];
    for (const r of batch.relationships) {
      const old = storedRelationshipHash.get(r.id);
      if (old === undefined) stats.relationshipsCreated++;
      else if (old === r.hash) stats.relationshipsUnchanged++;
      else stats.relationshipsUpdated++;
      if (old !== r.hash) relationshipWrites.push(r);
    }

    // INV-03: every relationship touching a deleted entity goes too, whoever
    // wrote it. Those the diff already deletes are not counted twice.
    const cascaded = new Set<string>();
    const touching = (ids: string[] | IDBValidKey[]): void => {
      for (const id of ids as string[]) {
        if (deletedRelationships.has(id) || emittedRelationships.has(id)) continue;
        cascaded.add(id);
      }
    };
    if (deletedEntities.size > 0) {
      const lookups: Promise<void>[] = [];
      for (const id of deletedEntities) {
        lookups.push(request(relationships.index('fromId').getAllKeys(id)).then(touching));
        lookups.push(request(relationships.index('toId').getAllKeys(id)).then(touching));
      }
      await Promise.all(lookups);
    }
    for (const id of cascaded) keptRelationships.delete(id);
    stats.relationshipsKept = keptRelationships.size;
    stats.relationshipsCascaded = cascaded.size;
    stats.relationshipsDeleted = deletedRelationships.size + cascaded.size;

    // Promote: every check passed; issue the writes without awaiting each.
    const source = { accountId, connectorId, syncId };
    for (const e of entityWrites) entities.put({ ...e, ...source } satisfies EntityRow);
    for (const id of deletedEntities) entities.delete(id);
    for (const r of relationshipWrites) relationships.put({ ...r, ...source } satisfies RelationshipRow);
    for (const id of deletedRelationships) relationships.delete(id);
    for (const id of cascaded) relationships.delete(id);
    const record: SyncRecord = {
      accountId,
      connectorId,
      syncId,
      startedAt: batch.startedAt,
      finishedAt: batch.finishedAt,
      committedAt: new Date().toISOString(),
      failedSteps: [...batch.failedSteps],
      keptSteps: [...batch.keptSteps],
      stats,
    };
    history.add(record);
    const rowsWritten =
      entityWrites.length + deletedEntities.size + relationshipWrites.length + deletedRelationships.size + cascaded.size;
    return { record: structuredClone(record), stats: { ...stats }, rowsWritten };
  }

  return store;
}

/**
 * Deletes the IndexedDB database behind a store (the demo's reset). Close the
 * store first; other open connections get a versionchange and close.
 */
export async function deleteIndexedDbStore(name: string = DEFAULT_INDEXEDDB_NAME, options: IndexedDbStoreOptions = {}): Promise<void> {
  const factory = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (!factory) throw new CommitError('StoreFailure', `IndexedDB is not available here: cannot delete "${name}"`);
  await wrap(factory.deleteDatabase(name));
}

function createSchema(database: IDBPDatabase<Schema>): void {
  const entities = database.createObjectStore('entities', { keyPath: 'id' });
  entities.createIndex('account_type', ['accountId', 'entityType']);
  entities.createIndex('account_class', ['accountId', 'entityClass']);
  entities.createIndex('scope', SCOPE_KEY_PATH);
  entities.createIndex('account_type_key', ['accountId', 'entityType', 'entityKey']);
  const relationships = database.createObjectStore('relationships', { keyPath: 'id' });
  relationships.createIndex('fromId', 'fromId');
  relationships.createIndex('toId', 'toId');
  relationships.createIndex('scope', SCOPE_KEY_PATH);
  relationships.createIndex('account_verb', ['accountId', 'verb']);
  const history = database.createObjectStore('history', { keyPath: 'seq', autoIncrement: true });
  history.createIndex('account_sync', ['accountId', 'syncId'], { unique: true });
  history.createIndex('accountId', 'accountId');
  history.createIndex('connectorId', 'connectorId');
  history.createIndex('account_connector', ['accountId', 'connectorId']);
}

// ---------------------------------------------------------------------------
// Native request helpers: callbacks, no promise per row.
// ---------------------------------------------------------------------------

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Resolves once the transaction commits; rejects with its error (or an AbortError) when it aborts. */
function transactionDone(tx: IDBTransaction): Promise<void> {
  const done = new Promise<void>((resolve, reject) => {
    tx.addEventListener('complete', () => resolve());
    tx.addEventListener('abort', () => reject(tx.error ?? new DOMException('the transaction was aborted', 'AbortError')));
    tx.addEventListener('error', () => {
      /* the abort event follows */
    });
  });
  done.catch(() => undefined);
  return done;
}

/**
 * Walks a cursor; `visit` returns false to stop early, or 'moved' when it
 * advanced the cursor itself. Exceptions in `visit` reject (and abort the transaction).
 */
function walk<C extends IDBCursor>(req: IDBRequest<C | null>, visit: (cursor: C) => boolean | 'moved' | void): Promise<void> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => {
      const cursor = req.result;
      if (!cursor) return resolve();
      let more: boolean | 'moved' | void;
      try {
        more = visit(cursor);
      } catch (error) {
        reject(error);
        return;
      }
      if (more === false) resolve();
      else if (more !== 'moved') cursor.continue();
    };
    req.onerror = () => reject(req.error);
  });
}

/** Issues one get per id at once; IndexedDB answers in order, so the last answer resolves. */
function getEach<T>(store: IDBObjectStore, ids: readonly string[], each: (id: string, value: T | undefined) => void): Promise<void> {
  if (ids.length === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    let pending = ids.length;
    for (const id of ids) {
      const req = store.get(id);
      req.onsuccess = () => {
        each(id, req.result as T | undefined);
        if (--pending === 0) resolve();
      };
      req.onerror = () => reject(req.error);
    }
  });
}

/**
 * Which of `wanted` (ids of the account) are stored outside the connector's
 * scope, with their hashes. Nothing to do when the account has no rows
 * outside the scope (one connector per account, or a first sync). Otherwise
 * the cheaper of two reads, both bounded: a key cursor over the account's
 * other scopes (cost: their size), or one get per wanted id (cost: the
 * batch), issued at once.
 */
async function outsideScope(
  store: IDBObjectStore,
  accountId: string,
  connectorId: string,
  scopeSize: number,
  wanted: ReadonlySet<string>,
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  if (wanted.size === 0) return found;
  const index = store.index('scope');
  const others = (await request(index.count(accountRange(accountId)))) - scopeSize;
  if (others <= 0) return found;
  if (others <= wanted.size * GET_COST_IN_CURSOR_STEPS) {
    await walk(index.openKeyCursor(accountRange(accountId)), (cursor) => {
      const [, owner, id, hash] = cursor.key as ScopeKey;
      if (owner === connectorId) {
        // Jump over our own scope, walked already.
        cursor.continue([accountId, connectorId, []]);
        return 'moved';
      }
      if (wanted.has(id)) found.set(id, hash);
    });
  } else {
    await getEach(store, [...wanted], (id, row: { hash: string } | undefined) => {
      if (row) found.set(id, row.hash);
    });
  }
  return found;
}

/** A point get costs about this many cursor steps in Chromium (measured: ~75 µs vs ~15-30 µs per step). */
const GET_COST_IN_CURSOR_STEPS = 3;

/**
 * Where a page is read from: a whole store, one key of an index (rows are
 * ordered by id within it), or an index range already in id order and past
 * the cursor (the scope index).
 */
interface Source {
  readonly from: IDBObjectStore | IDBIndex;
  readonly key?: IDBValidKey;
  readonly range?: IDBKeyRange;
}

/** Up to `count` matching rows with id > `after`, in id order. */
function pageOf<Row extends { id: string }>(
  source: Source,
  after: string | undefined,
  count: number,
  match: (row: Row) => boolean,
): Promise<Row[]> {
  const rows: Row[] = [];
  const { from, key } = source;
  if (key === undefined) {
    const range = source.range ?? (after === undefined ? null : IDBKeyRange.lowerBound(after, true));
    return walk(from.openCursor(range), (cursor) => {
      const row = cursor.value as Row;
      if (match(row)) rows.push(row);
      return rows.length < count;
    }).then(() => rows);
  }
  return new Promise((resolve, reject) => {
    const req = from.openCursor(IDBKeyRange.only(key));
    req.onsuccess = () => {
      const cursor = req.result;
      if (!cursor) return resolve(rows);
      const id = cursor.primaryKey as string;
      // Within one index key, entries are ordered by primary key: jump past the cursor's id.
      if (after !== undefined && id <= after) {
        if (id < after) cursor.continuePrimaryKey(key, after);
        else cursor.continue();
        return;
      }
      const row = cursor.value as Row;
      if (match(row)) rows.push(row);
      if (rows.length < count) cursor.continue();
      else resolve(rows);
    };
    req.onerror = () => reject(req.error);
  });
}

/** Counts rows per distinct second key component ([accountId, X] -> X) of an index, within `range`. */
/** `[value, count]` per distinct (account, value) key of the index: one pair per account. */
async function countByIndexKey(index: IDBIndex, range: IDBKeyRange | null): Promise<[string, number][]> {
  const keys: [string, string][] = [];
  await walk(index.openKeyCursor(range, 'nextunique'), (cursor) => {
    keys.push(cursor.key as [string, string]);
  });
  const counts = await Promise.all(keys.map((key) => request(index.count(key))));
  return keys.map(([, value], i) => [value, counts[i]!]);
}

const byRowId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function toPage<Row extends { id: string }, Out>(rows: Row[], limit: number, convert: (row: Row) => Out): Page<Out> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return rows.length > limit && last ? { items: items.map(convert), nextCursor: encodeCursor(last.id) } : { items: items.map(convert) };
}

function toEntity(row: EntityRow): StoredEntity {
  return {
    id: row.id,
    entityType: row.entityType,
    entityKey: row.entityKey,
    entityClass: row.entityClass,
    displayName: row.displayName,
    properties: JSON.parse(row.propertiesJson),
    accountId: row.accountId,
    connectorId: row.connectorId,
    syncId: row.syncId,
    stepId: row.stepId,
  };
}

function toRelationship(row: RelationshipRow): StoredRelationship {
  return {
    id: row.id,
    fromId: row.fromId,
    toId: row.toId,
    fromType: row.fromType,
    fromKey: row.fromKey,
    verb: row.verb,
    toType: row.toType,
    toKey: row.toKey,
    properties: JSON.parse(row.propertiesJson),
    accountId: row.accountId,
    connectorId: row.connectorId,
    syncId: row.syncId,
    stepId: row.stepId,
  };
}

function isDomError(error: unknown, name: string): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === name;
}

function describe(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'message' in error) {
    const { name, message } = error as { name?: unknown; message?: unknown };
    return typeof name === 'string' && name !== 'Error' ? `${name}: ${String(message)}` : String(message);
  }
  return String(error);
}
