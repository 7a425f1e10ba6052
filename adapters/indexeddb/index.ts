/**
 * The IndexedDB GraphStore, for browsers (and Node with `fake-indexeddb/auto`).
 *
 * - `connection.ts`: open, upgrade, versionchange and close, errors;
 * - `schema.ts`: the object stores and indexes (version 2), and the upgrade from version 1;
 * - `session.ts`: a sync's staging (one record per chunk, invisible to reads,
 *   stale leftovers removed by a later sync: Web Locks, else age; +P4);
 * - `commit.ts`: the commit, in one transaction, on the shared diff plan (INV-C01);
 * - `reads.ts`: gets, pages, counts and history;
 * - `query.ts`: PQL queries on index cursors (`GraphStore.query`).
 *
 * @example
 * import { commitSync, runConnector } from 'parallax-edge';
 * import { openIndexedDbStore } from 'parallax-edge/adapters/indexeddb';
 * const store = await openIndexedDbStore('my-graph');
 * const { stats } = await commitSync(store, await runConnector(connector, { accountId: 'acme', store }));
 */
import { deleteDB } from 'idb';
import type { GraphStore } from '../../src/adapter-kit.js';
import { connect, factoryOf, type IndexedDbStoreOptions } from './connection.js';
import { evaluateIndexedDbQuery } from './query.js';
import { createReads } from './reads.js';
import { DEFAULT_STAGING_LEASE_MS, openSession } from './session.js';

export { INDEXEDDB_SCHEMA_VERSION } from './schema.js';
export { DEFAULT_STAGING_LEASE_MS } from './session.js';
export type { IndexedDbStoreOptions } from './connection.js';

/** The database name used when none is given. */
export const DEFAULT_INDEXEDDB_NAME = 'parallax-edge';

export interface IndexedDbStore extends GraphStore {
  readonly kind: 'indexeddb';
  /** The IndexedDB database name. */
  readonly name: string;
  /** Why the store can no longer be used (closed, upgraded elsewhere, terminated), or undefined while it is open. */
  readonly closedReason: string | undefined;
}

/**
 * Opens (creating, or upgrading from schema version 1 with its rows kept)
 * the IndexedDB database `name` as a GraphStore. Rejects with a
 * `CommitError` `StoreFailure` when IndexedDB is unavailable or the database
 * was upgraded past this adapter's schema.
 */
export async function openIndexedDbStore(name: string = DEFAULT_INDEXEDDB_NAME, options: IndexedDbStoreOptions = {}): Promise<IndexedDbStore> {
  const connection = await connect(name, options);
  const leaseMs = options.stagingLeaseMs ?? DEFAULT_STAGING_LEASE_MS;
  return {
    kind: 'indexeddb',
    name,
    get closedReason() {
      return connection.closedReason;
    },
    openSync: (header) => openSession(connection, header, leaseMs),
    ...createReads(connection),
    query: (plan, context) => evaluateIndexedDbQuery(connection, plan, context),
    async close() {
      connection.close(`the IndexedDB store "${name}" is closed`);
    },
  };
}

/**
 * Deletes the IndexedDB database behind a store (the demo's reset). Close the
 * store first; other open connections get a versionchange and close.
 */
export async function deleteIndexedDbStore(name: string = DEFAULT_INDEXEDDB_NAME, options: IndexedDbStoreOptions = {}): Promise<void> {
  const factory = factoryOf(options, name, 'delete');
  // idb's deleteDB only uses the global factory.
  if (factory === (globalThis as { indexedDB?: IDBFactory }).indexedDB) await deleteDB(name);
  else await new Promise<void>((resolve, reject) => {
    const req = factory.deleteDatabase(name);
    req.onsuccess = () => resolve();
    req.onerror = () => reject(req.error);
  });
}
