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
import { closeSync, openSync, readSync } from 'node:fs';
import Database from 'better-sqlite3';
import { CommitError, type GraphStore } from '../src/adapter-kit.js';
import './node-hashes.js';
import {
  CREATE_MIGRATIONS_TABLE,
  CURRENT_VERSION_QUERY,
  MIGRATIONS_TABLE_QUERY,
  SCHEMA_VERSION,
  createSqlStore,
  isStatement,
  migrationStatements,
  numberedParams,
  tempStagingStatements,
  TEMP_STAGING_KEYS,
  type Row,
  type SqlExecutor,
  type SqlResult,
  type SqlStatement,
  type SqlWork,
} from './sql/index.js';

export interface SqliteStoreOptions {
  /** A file path, or `':memory:'` for a private in-memory database. The directory must exist. */
  readonly path: string;
  /**
   * Open an existing store for reads only: never created, written or migrated
   * (a file that is not a store at this schema version is a
   * {@link SqliteSchemaError}); a sync then fails with `StoreFailure`.
   */
  readonly readonly?: boolean;
  /** How long a commit waits for another connection's write lock, in ms (default 5000). */
  readonly busyTimeoutMs?: number;
  /**
   * Stage rows as JSON chunks of at most this many bytes expanded by
   * `json_each` (the D1 way) instead of one prepared INSERT per row (the
   * default, faster in-process); for tests of the chunked path.
   */
  readonly stagingChunkBytes?: number;
  /** Called with the text of every SQL statement the store runs (better-sqlite3's `verbose`), for debugging. */
  readonly trace?: (sql: string) => void;
  /** The shared SQL store's bulk-load threshold (`SqlStoreOptions.bulkLoadRows`): default 10,000 created rows; 0 turns it off. */
  readonly bulkLoadRows?: number;
  /** Split big commits into bounded batches (`SqlStoreOptions.splitCommitRows`). Default 0: one transaction, which SQLite does fastest. */
  readonly splitCommitRows?: number;
  /**
   * PQL queries read the committed graph through a read-only connection of
   * their own that maps up to this many bytes of the file (SQLite's
   * `mmap_size`): a query that visits most of a big graph reads its pages
   * from the OS's page cache without a copy, and the store's own connection
   * (which syncs) keeps its bounded page cache. Default 1 GiB; 0 runs
   * queries on the store's connection, without mapping. A `:memory:` store
   * always does.
   */
  readonly queryMmapBytes?: number;
}

export interface SqliteStore extends GraphStore {
  readonly kind: 'sqlite';
  readonly path: string;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5000;
const DEFAULT_QUERY_MMAP_BYTES = 1024 * 1024 * 1024;
/** Pages of the TEMP staging tables held in memory (KiB, as a negative cache_size); the rest spills to a temp file. */
const STAGING_CACHE_KIB = 32 * 1024;
/**
 * The syncing connection's page cache of the file (KiB). SQLite's sorters
 * (the commit's sort of staged rows, index builds) hold up to this much
 * of their input in memory too, so it bounds the commit's peak twice.
 */
const SYNC_CACHE_KIB = 8 * 1024;

function storeFailure(message: string, cause?: unknown): CommitError {
  return new CommitError('StoreFailure', message, cause === undefined ? {} : { cause });
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------------------
// Opening read-only: the file must already be a store at this schema version.

/**
 * Why a read-only open refused a file: `empty` (0 bytes, or a SQLite database
 * without tables), `not-sqlite`, `foreign` (a SQLite database without
 * parallax-edge's `schema_migrations`), `older` (migrations pending: a
 * read-write open applies them), `newer` (written by a newer parallax-edge).
 */
export type SqliteSchemaProblem = 'empty' | 'not-sqlite' | 'foreign' | 'older' | 'newer';

/**
 * The `StoreFailure` of a read-only {@link createSqliteStore} on a file that
 * is not a store at this code's schema version. The file was not changed.
 *
 * @example
 * try {
 *   createSqliteStore({ path: './graph.db', readonly: true });
 * } catch (error) {
 *   if (error instanceof SqliteSchemaError && error.problem === 'older') createSqliteStore('./graph.db').close(); // migrates
 * }
 */
export class SqliteSchemaError extends CommitError {
  constructor(
    readonly problem: SqliteSchemaProblem,
    readonly path: string,
    /** The file's schema version, for `older` and `newer`. */
    readonly version: number | undefined,
    message: string,
    cause?: unknown,
  ) {
    super('StoreFailure', message, cause === undefined ? {} : { cause });
  }
}

const SQLITE_HEADER = 'SQLite format 3\0';

/** Is `path` 0 bytes long, or does it start with SQLite's header? */
function emptyOrSqlite(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(SQLITE_HEADER.length);
    const n = readSync(fd, head, 0, head.length, 0);
    return n === 0 || head.toString('latin1', 0, n) === SQLITE_HEADER;
  } finally {
    closeSync(fd);
  }
}

/** Throws a {@link SqliteSchemaError} unless `db` is a store at {@link SCHEMA_VERSION}. Only reads. */
function checkSchema(db: Database.Database, path: string): void {
  const refuse = (problem: SqliteSchemaProblem, message: string, version?: number, cause?: unknown): never => {
    throw new SqliteSchemaError(problem, path, version, message, cause);
  };
  let objects: number;
  try {
    objects = (db.prepare('SELECT COUNT(*) AS objects FROM sqlite_master').get() as { objects: number }).objects;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'SQLITE_NOTADB') throw error;
    return refuse('not-sqlite', `"${path}" is not a SQLite database`, undefined, error);
  }
  if (objects === 0) {
    // SQLite reads a file too short for its header as a new, empty database.
    if (!emptyOrSqlite(path)) refuse('not-sqlite', `"${path}" is not a SQLite database`);
    refuse('empty', `SQLite database "${path}" is empty: it holds no parallax-edge store`);
  }
  let version: unknown;
  try {
    const present = Number((db.prepare(MIGRATIONS_TABLE_QUERY.sql).get() as Row).present);
    version = present ? ((db.prepare(CURRENT_VERSION_QUERY.sql).get() as Row).version ?? 0) : undefined;
  } catch {
    // A schema_migrations table of another shape (no version column).
    version = undefined;
  }
  if (typeof version !== 'number' || !Number.isSafeInteger(version)) {
    return refuse('foreign', `SQLite database "${path}" is not a parallax-edge store: it has no parallax-edge schema_migrations table`);
  }
  if (version < SCHEMA_VERSION) {
    refuse('older', `SQLite database "${path}" has schema version ${version}, this parallax-edge reads ${SCHEMA_VERSION}; open it read-write once to migrate it`, version);
  }
  if (version > SCHEMA_VERSION) {
    refuse('newer', `SQLite database "${path}" has schema version ${version}, newer than this parallax-edge (version ${SCHEMA_VERSION})`, version);
  }
}

/** A better-sqlite3 connection with its cache of prepared statements. */
interface Connection {
  readonly db: Database.Database;
  readonly cache: Map<string, Database.Statement>;
  prepare(sql: string): Database.Statement;
  exec(s: SqlStatement): SqlResult;
}

/**
 * Prepared statements a connection keeps, least recently used out first:
 * the store's own texts are a few dozen, but every PQL query shape (and
 * every table build's DDL) is a text of its own, so a long-lived process
 * would otherwise hold one per shape it ever saw.
 */
export const STATEMENT_CACHE_SIZE = 256;

function connection(db: Database.Database): Connection {
  const cache = new Map<string, Database.Statement>();
  const prepare = (sql: string): Database.Statement => {
    let prepared = cache.get(sql);
    if (prepared) {
      // A Map iterates in insertion order: re-inserting makes it the most recent.
      cache.delete(sql);
    } else {
      prepared = db.prepare(sql);
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    }
    cache.set(sql, prepared);
    return prepared;
  };
  const args = (s: SqlStatement): unknown[] => (s.params.length > 0 ? [numberedParams(s.params)] : []);
  const exec = (s: SqlStatement): SqlResult => {
    const prepared = prepare(s.sql);
    if (prepared.reader) return { rows: prepared.all(...args(s)) as Row[], changes: 0 };
    return { rows: [], changes: prepared.run(...args(s)).changes };
  };
  return { db, cache, prepare, exec };
}

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
    queryMmapBytes = DEFAULT_QUERY_MMAP_BYTES,
  }: SqliteStoreOptions = typeof options === 'string' ? { path: options } : options;
  let db: Database.Database;
  try {
    db = new Database(path, {
      readonly,
      fileMustExist: readonly,
      timeout: busyTimeoutMs,
      ...(trace ? { verbose: (sql: unknown) => trace(String(sql)) } : {}),
    });
  } catch (error) {
    throw storeFailure(`cannot open SQLite database "${path}": ${describeError(error)}`, error);
  }

  const main = connection(db);
  const { prepare, exec } = main;

  try {
    if (!readonly) {
      db.pragma('journal_mode = WAL');
      migrate();
      // Syncs stage into TEMP tables that shadow the file's: connection-local,
      // kept in a temp file past a bounded cache, so a big sync does not grow memory.
      db.pragma('temp_store = FILE');
      db.pragma(`temp.cache_size = -${STAGING_CACHE_KIB}`);
      db.pragma('temp.journal_mode = MEMORY');
      db.pragma(`main.cache_size = -${SYNC_CACHE_KIB}`);
      for (const s of tempStagingStatements()) exec(s);
    } else {
      checkSchema(db, path);
    }
  } catch (error) {
    db.close();
    throw error instanceof CommitError ? error : storeFailure(`cannot prepare SQLite database "${path}": ${describeError(error)}`, error);
  }

  function migrate(): void {
    db.transaction(() => {
      exec(CREATE_MIGRATIONS_TABLE);
      const current = exec(CURRENT_VERSION_QUERY).rows[0]?.version as number | null | undefined;
      let statements: SqlStatement[];
      try {
        statements = migrationStatements(current ?? null, new Date().toISOString());
      } catch (error) {
        throw storeFailure(`SQLite database "${path}": ${describeError(error)}`, error);
      }
      for (const s of statements) exec(s);
    }).immediate();
  }

  const run = (w: SqlWork): SqlResult => {
    if (isStatement(w)) return exec(w);
    const prepared = prepare(w.sql);
    for (const row of w.rows) prepared.run(row);
    return { rows: [], changes: w.rows.length };
  };

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
    }), path };
}
