/**
 * The embedded SQLite GraphStore for Node, on better-sqlite3: the shared SQL
 * store (`adapters/sql/store.ts`) on an executor that runs its statements in
 * better-sqlite3 transactions. A sync stages into connection-local TEMP
 * tables as the connector runs (invisible to every other connection, never
 * in the database file or its WAL, gone with the connection: +P4), and its
 * commit is one `BEGIN IMMEDIATE` transaction (INV-C01) whose diff runs
 * set-wise inside SQLite; readers, on WAL snapshots, never see staged rows.
 *
 * @example
 * import { commitSync, runConnector } from 'parallax-edge';
 * import { createSqliteStore } from 'parallax-edge/adapters/sqlite';
 * const store = createSqliteStore('./graph.db');
 * const { stats } = await commitSync(store, await runConnector(connector, { accountId: 'acme', store }));
 * await store.close();
 */
import Database from 'better-sqlite3';
import '../node-hashes.js';
import { createSqlStore, isStatement, TEMP_STAGING_KEYS, type SqlExecutor, type SqlResult, type SqlStatement, type SqlWork } from '../sql/index.js';
import { connection, type Connection } from './connection.js';
import { openConnection, storeFailure } from './open.js';
import { DEFAULT_BUSY_TIMEOUT_MS, DEFAULT_QUERY_MMAP_BYTES, type SqliteStore, type SqliteStoreOptions } from './api.js';

export { SqliteSchemaError, STATEMENT_CACHE_SIZE, type SqliteSchemaProblem, type SqliteStore, type SqliteStoreOptions } from './api.js';

/**
 * Opens (creating it if needed) a SQLite graph store: WAL journal, a busy
 * timeout, and schema migrations applied on open. Throws a `CommitError`
 * `StoreFailure` when the file cannot be opened or its schema is newer than
 * this code. With `readonly`, nothing is created, written or migrated: a file
 * that is not a store at this schema version is a {@link SqliteSchemaError}.
 */
export function createSqliteStore(options: string | SqliteStoreOptions): SqliteStore {
  const {
    path,
    readonly = false,
    busyTimeoutMs = DEFAULT_BUSY_TIMEOUT_MS,
    stagingChunkBytes,
    trace,
    bulkLoadRows,
    splitCommitRows,
    stagingLeaseMs,
    queryMmapBytes = DEFAULT_QUERY_MMAP_BYTES,
  }: SqliteStoreOptions = typeof options === 'string' ? { path: options } : options;
  const main = openConnection({ path, readonly, busyTimeoutMs, trace });
  const { db, prepare, exec, insert } = main;

  const run = (w: SqlWork): SqlResult => (isStatement(w) ? exec(w) : insert(w));

  /**
   * The TEMP row tables stage without their (token, id) key; it is built
   * (one sort) before the first statement outside staging that reads them
   * (prior reads, the commit), and dropped once they are empty again, so
   * the next sync stages without it too.
   */
  let keyed = false;
  const readsStaging = (w: SqlWork): boolean => isStatement(w) && /\bstaged_(entities|relationships|units)\b/.test(w.sql);
  const ensureKeys = (): void => {
    if (keyed) return;
    for (const key of TEMP_STAGING_KEYS) db.exec(key.create);
    keyed = true;
  };
  const dropKeysWhenEmpty = (): void => {
    if (!keyed || readonly) return;
    if (TEMP_STAGING_KEYS.some((key) => prepare(`SELECT 1 FROM temp.${key.table} LIMIT 1`).get() !== undefined)) return;
    for (const key of TEMP_STAGING_KEYS) db.exec(key.drop);
    keyed = false;
  };

  /** The connection queries read through (see `queryMmapBytes`), opened on the first query. */
  let queries: Connection | undefined;
  const queryConnection = (): Connection => {
    if (queryMmapBytes <= 0 || path === ':memory:' || path === '') return main;
    if (!queries) {
      const reader = new Database(path, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs, ...(trace ? { verbose: (sql: unknown) => trace(String(sql)) } : {}) });
      reader.pragma(`mmap_size = ${Math.floor(queryMmapBytes)}`);
      queries = connection(reader);
    }
    return queries;
  };

  const executor: SqlExecutor = {
    rowInserts: stagingChunkBytes === undefined,
    localStaging: true,
    // TEMP row tables stage without their key (tempStagingStatements).
    unkeyedStaging: true,
    async batch(work, mode) {
      if (mode === 'query') {
        const { db: reader, exec: run } = queryConnection();
        return reader.transaction(() => work.map((w) => run(w as SqlStatement)))();
      }
      if (readonly && mode !== 'read') throw storeFailure(`the SQLite store "${path}" is open read-only`);
      if (!readonly && mode !== 'stage' && !keyed && work.some(readsStaging)) ensureKeys();
      const transaction = db.transaction((): SqlResult[] => work.map(run));
      try {
        // Reads and staging (TEMP tables only) never take the database's write lock; a commit takes it first.
        const results = mode === 'commit' ? transaction.immediate() : transaction();
        if (mode === 'stage' && work.some((w) => isStatement(w) && w.kind === 'cleanup')) dropKeysWhenEmpty();
        return results;
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
          throw storeFailure(`SQLite database "${path}" stayed locked by another writer for ${busyTimeoutMs} ms; nothing was committed`, error);
        }
        throw error;
      }
    },
    async close() {
      main.cache.clear();
      queries?.cache.clear();
      queries?.db.close();
      db.close();
    },
  };
  return { ...createSqlStore('sqlite', executor, {
      name: `SQLite database "${path}"`,
      ...(stagingChunkBytes === undefined ? {} : { chunkBytes: stagingChunkBytes }),
      ...(bulkLoadRows === undefined ? {} : { bulkLoadRows }),
      ...(splitCommitRows === undefined ? {} : { splitCommitRows }),
      ...(stagingLeaseMs === undefined ? {} : { stagingLeaseMs }),
    }), path };
}
