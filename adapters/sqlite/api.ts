/** What users of the SQLite store name: its options, its store, its schema error; and the figures it opens with. */
import { CommitError, type GraphStore } from '../../src/adapter-kit.js';
import type { SchemaProblem } from '../sql/index.js';

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
   * How old a split commit's table build must be before a sync drops it as
   * the leftover of a crashed process (+P4; `SqlStoreOptions.stagingLeaseMs`).
   * Default 24 hours. (Staging itself is connection-local and needs no lease.)
   */
  readonly stagingLeaseMs?: number;
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

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;
export const DEFAULT_QUERY_MMAP_BYTES = 1024 * 1024 * 1024;
/** Pages of the TEMP staging tables held in memory (KiB, as a negative cache_size); the rest spills to a temp file. */
export const STAGING_CACHE_KIB = 32 * 1024;
/**
 * The syncing connection's page cache of the file (KiB). SQLite's sorters
 * (the commit's sort of staged rows, index builds) hold up to this much
 * of their input in memory too, so it bounds the commit's peak twice.
 */
export const SYNC_CACHE_KIB = 8 * 1024;
/** SQLite's `threads`: helper threads a sort may use besides the connection's own (each with its share of the sorter's memory). */
export const SORTER_THREADS = 2;
/**
 * Prepared statements a connection keeps, least recently used out first:
 * the store's own texts are a few dozen, but every PQL query shape (and
 * every table build's DDL) is a text of its own, so a long-lived process
 * would otherwise hold one per shape it ever saw.
 */
export const STATEMENT_CACHE_SIZE = 256;

/**
 * Why a read-only open refused a file: `empty` (0 bytes, or a SQLite database
 * without tables), `not-sqlite`, `foreign` (a SQLite database without
 * parallax-edge's `schema_migrations`), `older` (migrations pending: a
 * read-write open applies them), `newer` (written by a newer parallax-edge).
 */
export type SqliteSchemaProblem = 'empty' | 'not-sqlite' | SchemaProblem;

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
