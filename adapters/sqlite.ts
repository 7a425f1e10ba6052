/**
 * The embedded SQLite GraphStore for Node, on better-sqlite3. A commit runs
 * the shared SQL module's statement list (stage, check, diff, promote) in one
 * `BEGIN IMMEDIATE` transaction, so it lands whole or not at all (INV-C01),
 * the diff runs set-wise inside SQLite (the stored scope never comes into JS),
 * and readers, on WAL snapshots, never see staged rows.
 *
 * @example
 * import { commitSync, runConnector } from 'parallax-edge';
 * import { createSqliteStore } from 'parallax-edge/adapters/sqlite';
 * const store = createSqliteStore('./graph.db');
 * const { stats } = await commitSync(store, await runConnector(connector, { accountId: 'acme', syncId: 'sync-001' }));
 * await store.close();
 */
import { closeSync, openSync, readSync } from 'node:fs';
import Database from 'better-sqlite3';
import {
  CommitError,
  danglingRelationship,
  duplicateSync,
  rowWrites,
  type CommitBatch,
  type CommitResult,
  type GraphStore,
} from '../src/index.js';
import './node-hashes.js';
import {
  ALL_LEFTOVERS,
  CREATE_MIGRATIONS_TABLE,
  cleanupStatements,
  promoteStatements,
  stageEntityRowSql,
  stageHeaderStatement,
  stageRelationshipRowSql,
  stageChunkStatements,
  stagedEntityValues,
  stagedRelationshipValues,
  tempStagingStatements,
  CURRENT_VERSION_QUERY,
  MIGRATIONS_TABLE_QUERY,
  SCHEMA_VERSION,
  countsFromRows,
  countsStatements,
  danglingReportStatement,
  endpointsStaged,
  entityFromRow,
  findEntityStatement,
  getEntityStatement,
  getRelationshipStatement,
  guardFailure,
  historyStatement,
  listEntitiesStatement,
  listRelationshipsStatement,
  migrationStatements,
  numberedParams,
  readDanglingReport,
  relationshipFromRow,
  syncRecordFromRow,
  type Row,
  type SqlStatement,
  batchDigest,
  unchangedRunStatements,
  unchangedScopeStatements,
} from './sql/index.js';

export interface SqliteStoreOptions {
  /** A file path, or `':memory:'` for a private in-memory database. The directory must exist. */
  readonly path: string;
  /**
   * Open an existing store for reads only: never created, written or migrated
   * (a file that is not a store at this schema version is a
   * {@link SqliteSchemaError}); `commit` then fails with `StoreFailure`.
   */
  readonly readonly?: boolean;
  /** How long a commit waits for another connection's write lock, in ms (default 5000). */
  readonly busyTimeoutMs?: number;
  /**
   * Stage the rows as JSON chunks of at most this many bytes expanded by
   * `json_each` (the D1 way) instead of one prepared INSERT per row (the
   * default, faster in-process); for tests of the chunked path.
   */
  readonly stagingChunkBytes?: number;
  /** Called with the text of every SQL statement the store runs (better-sqlite3's `verbose`), for debugging. */
  readonly trace?: (sql: string) => void;
}

export interface SqliteStore extends GraphStore {
  readonly kind: 'sqlite';
  readonly path: string;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5000;

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

// ---------------------------------------------------------------------------

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

  const cache = new Map<string, Database.Statement>();
  const prepare = (sql: string): Database.Statement => {
    let prepared = cache.get(sql);
    if (!prepared) {
      prepared = db.prepare(sql);
      cache.set(sql, prepared);
    }
    return prepared;
  };
  const args = (s: SqlStatement): unknown[] => (s.params.length > 0 ? [numberedParams(s.params)] : []);
  const run = (s: SqlStatement): Database.RunResult => prepare(s.sql).run(...args(s));
  const get = (s: SqlStatement): Row | undefined => prepare(s.sql).get(...args(s)) as Row | undefined;
  const all = (s: SqlStatement): Row[] => prepare(s.sql).all(...args(s)) as Row[];

  try {
    if (!readonly) {
      db.pragma('journal_mode = WAL');
      migrate();
      // Commits stage into connection-local TEMP tables held in memory: the
      // staged rows never reach the file or its WAL, and other connections
      // never see them. The SQL module's staging tables in the file (used by
      // D1, or left by a process that staged there and crashed, +P4) are
      // emptied of leftovers once here, before the TEMP tables shadow their names.
      db.transaction(() => {
        for (const s of cleanupStatements('', ALL_LEFTOVERS)) run(s);
      }).immediate();
      db.pragma('temp_store = MEMORY');
      for (const s of tempStagingStatements()) run(s);
    } else {
      checkSchema(db, path);
    }
  } catch (error) {
    db.close();
    throw error instanceof CommitError ? error : storeFailure(`cannot prepare SQLite database "${path}": ${describeError(error)}`, error);
  }

  function migrate(): void {
    db.transaction(() => {
      run(CREATE_MIGRATIONS_TABLE);
      const current = get(CURRENT_VERSION_QUERY)?.version as number | null | undefined;
      let statements: SqlStatement[];
      try {
        statements = migrationStatements(current ?? null, new Date().toISOString());
      } catch (error) {
        throw storeFailure(`SQLite database "${path}": ${describeError(error)}`, error);
      }
      for (const s of statements) run(s);
    }).immediate();
  }

  let closed = false;
  const ensureOpen = (): void => {
    if (closed) throw storeFailure('the SQLite store is closed');
  };

  /** Runs a read; database failures become `StoreFailure`, argument errors (RangeError) pass through. */
  function read<T>(fn: () => T): T {
    ensureOpen();
    try {
      return fn();
    } catch (error) {
      if (error instanceof CommitError || error instanceof RangeError) throw error;
      throw storeFailure(`SQLite read failed: ${describeError(error)}`, error);
    }
  }

  /**
   * The batch's rows into the TEMP staging tables, one prepared INSERT per row
   * (better-sqlite3 binds in-process, so this beats building and parsing JSON
   * chunks); `stagingChunkBytes` > 0 stages JSON chunks through `json_each`
   * instead, as D1 does (kept for tests of that path).
   */
  function stageRows(batch: CommitBatch, token: string): void {
    if (stagingChunkBytes !== undefined) {
      for (const s of stageChunkStatements(batch, token, stagingChunkBytes, 'temp')) run(s);
      return;
    }
    const entity = prepare(stageEntityRowSql('temp'));
    batch.entities.forEach((e, ord) => entity.run(stagedEntityValues(token, ord, e)));
    const relationship = prepare(stageRelationshipRowSql('temp'));
    const endpoints = endpointsStaged(batch);
    batch.relationships.forEach((r, ord) => relationship.run(stagedRelationshipValues(token, ord, r, endpoints(r))));
  }

  /** Runs a statement that may be a guard; a guard that fired becomes the contract's error. */
  function runGuarded(s: SqlStatement, batch: CommitBatch, token: string): number {
    try {
      return run(s).changes;
    } catch (error) {
      // A guard's RAISE(ABORT) failed this statement only: the transaction is
      // still open, with the staged rows, for the INV-C04 report. Throwing
      // then rolls it all back.
      switch (guardFailure(error)) {
        case 'DanglingRelationship': {
          const report = readDanglingReport(get(danglingReportStatement(token, 'temp')), batch);
          if (report) throw danglingRelationship(report.relationship, report.count);
          throw storeFailure('INV-C04 guard fired but no dangling relationship was found', error);
        }
        case 'DuplicateSyncId':
          throw duplicateSync(batch.accountId, batch.syncId);
        case 'StagingIncomplete':
          throw storeFailure('staged rows of this commit went missing before promote; nothing was committed', error);
        default:
          throw error;
      }
    }
  }

  /**
   * Runs the statements of an unchanged re-sync (scope.ts) in the open
   * transaction: the result, or undefined when the scope check did not hold
   * (then its statements wrote nothing).
   */
  function recordUnchanged(statements: readonly SqlStatement[], scope: { accountId: string; syncId: string }): CommitResult | undefined {
    let resultRow: Row | undefined;
    for (const s of statements) {
      if (s.kind === 'result') {
        resultRow = get(s);
        continue;
      }
      try {
        run(s);
      } catch (error) {
        if (guardFailure(error) === 'DuplicateSyncId') throw duplicateSync(scope.accountId, scope.syncId);
        throw error;
      }
    }
    if (!resultRow) return undefined;
    const record = syncRecordFromRow(resultRow);
    return { record, stats: { ...record.stats }, rowsWritten: 0 };
  }

  /** `fn` in one IMMEDIATE transaction (a writer from the start); failures become `StoreFailure`. */
  function writeTransaction<T>(fn: () => T): T {
    ensureOpen();
    if (readonly) throw storeFailure(`the SQLite store "${path}" is open read-only`);
    try {
      return db.transaction(fn).immediate();
    } catch (error) {
      if (error instanceof CommitError) throw error;
      const code = (error as { code?: unknown }).code;
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
        throw storeFailure(`SQLite database "${path}" stayed locked by another writer for ${busyTimeoutMs} ms; nothing was committed`, error);
      }
      throw storeFailure(`SQLite commit failed, nothing was committed: ${describeError(error)}`, error);
    }
  }

  let commits = 0;
  function commit(batch: CommitBatch, digest: string): CommitResult {
    // The TEMP staging tables belong to this connection and hold one commit at
    // a time, so a short per-connection counter is unique enough, and it keys
    // every staged row (a 36-character UUID made each key twice as long).
    const token = `c${++commits}`;
    const now = new Date().toISOString();
    // Staging runs inside this transaction on this connection's TEMP tables,
    // so nothing else can be staged there (the cleanup is a formality).
    const before = [...cleanupStatements(token, ALL_LEFTOVERS, 'temp'), stageHeaderStatement(batch, token, now, 'temp')];
    const after = promoteStatements(token, now, 'temp', { batch: digest, input: batch.inputDigest ?? null });
    return writeTransaction((): CommitResult => {
      // An unchanged re-sync is recorded without staging (scope.ts).
      const unchanged = recordUnchanged(unchangedScopeStatements(batch, digest, now), batch);
      if (unchanged) return unchanged;
      let rowsWritten = 0;
      let resultRow: Row | undefined;
      for (const s of before) run(s);
      stageRows(batch, token);
      for (const s of after) {
        if (s.kind === 'result') {
          resultRow = get(s);
          continue;
        }
        const changes = runGuarded(s, batch, token);
        if (s.kind === 'graph') rowsWritten += changes;
      }
      if (!resultRow) throw storeFailure('the sync-run record was not written; nothing was committed');
      const record = syncRecordFromRow(resultRow);
      const counted = rowWrites(record.stats);
      if (rowsWritten !== counted) {
        throw storeFailure(`commit wrote ${rowsWritten} rows but its stats count ${counted}; nothing was committed`);
      }
      return { record, stats: { ...record.stats }, rowsWritten };
    });
  }

  return {
    kind: 'sqlite',
    path,
    async commit(batch) {
      ensureOpen();
      // Also refuses repeated ids (InvalidBatch) before anything is staged.
      return commit(batch, batchDigest(batch));
    },
    async commitIfUnchanged(run) {
      const statements = unchangedRunStatements(run, new Date().toISOString());
      return writeTransaction(() => recordUnchanged(statements, run));
    },
    async getEntity(id) {
      return read(() => {
        const row = get(getEntityStatement(id));
        return row && entityFromRow(row);
      });
    },
    async findEntity(accountId, type, key) {
      return read(() => {
        const row = get(findEntityStatement(accountId, type, key));
        return row && entityFromRow(row);
      });
    },
    async listEntities(query = {}) {
      return read(() => {
        const page = listEntitiesStatement(query);
        return page.toPage(all(page.statement));
      });
    },
    async getRelationship(id) {
      return read(() => {
        const row = get(getRelationshipStatement(id));
        return row && relationshipFromRow(row);
      });
    },
    async listRelationships(query = {}) {
      return read(() => {
        const page = listRelationshipsStatement(query);
        return page.toPage(all(page.statement));
      });
    },
    async counts(query = {}) {
      return read(() => {
        const [byClass, byVerb] = countsStatements(query);
        // One read transaction: both counts from the same snapshot.
        return db.transaction(() => countsFromRows(all(byClass), all(byVerb)))();
      });
    },
    async syncHistory(query = {}) {
      return read(() => all(historyStatement(query)).map(syncRecordFromRow));
    },
    async close() {
      if (closed) return;
      closed = true;
      cache.clear();
      db.close();
    },
  };
}
