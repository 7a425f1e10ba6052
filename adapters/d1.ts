/**
 * The Cloudflare D1 GraphStore, for Workers: the shared SQL store
 * (`adapters/sql/store.ts`) on an executor that runs its statements as D1
 * batches. D1 runs one `db.batch()` as one transaction, so a sync's commit
 * is one batch (INV-C01); a guard that fails aborts it from inside the
 * database, with no JS round trip in the middle. Staged rows go to the
 * staging tables in chunks of about 1.5 MB of bound JSON (D1 allows 100
 * bound parameters, 100 KB of SQL and 2 MB per value); they are invisible
 * to readers, and a sync that dies before its commit leaves them to be
 * removed by a later sync once `stagingLeaseMs` has passed (+P4).
 *
 * @example
 * import { commitSync, runConnector } from 'parallax-edge';
 * import { createD1Store } from 'parallax-edge/adapters/d1';
 * export default {
 *   async scheduled(controller, env) {
 *     const store = createD1Store(env.DB);
 *     await commitSync(store, await runConnector(connector, { accountId: 'acme', store }));
 *   },
 * };
 */
import { CommitError, type GraphStore } from '../src/adapter-kit.js';
import {
  CREATE_MIGRATIONS_TABLE,
  CURRENT_VERSION_QUERY,
  SCHEMA_VERSION,
  createSqlStore,
  isStatement,
  migrationStatements,
  schemaProblem,
  type SchemaProblem,
  type SqlExecutor,
  type SqlStatement,
  type SqlValue,
} from './sql/index.js';

/**
 * The part of Cloudflare's `D1Database` the store uses; `env.DB` fits. Typed
 * structurally so this module needs neither the Workers types nor any
 * runtime import.
 */
export interface D1DatabaseLike {
  prepare(query: string): D1PreparedStatementLike;
  batch<T = unknown>(statements: D1PreparedStatementLike[]): Promise<D1ResultLike<T>[]>;
}

export interface D1PreparedStatementLike {
  bind(...values: unknown[]): D1PreparedStatementLike;
  first<T = Record<string, unknown>>(): Promise<T | null>;
  all<T = Record<string, unknown>>(): Promise<D1ResultLike<T>>;
  run<T = Record<string, unknown>>(): Promise<D1ResultLike<T>>;
}

export interface D1ResultLike<T = unknown> {
  results: T[];
  meta: { changes?: number; [key: string]: unknown };
}

export interface D1StoreOptions {
  /** Bytes of rows per bound JSON chunk (D1 allows 2 MB per value). Default 1.5 MB. */
  readonly chunkBytes?: number;
  /**
   * How old another sync's staged rows must be before a sync removes them as
   * leftovers of a crashed Worker or Workflow (+P4); longer than any sync
   * can take. Default 24 hours.
   */
  readonly stagingLeaseMs?: number;
  /** The shared SQL store's bulk-load threshold (`SqlStoreOptions.bulkLoadRows`): default 10,000 created rows; 0 turns it off. */
  readonly bulkLoadRows?: number;
  /**
   * The most rows one commit batch writes (`SqlStoreOptions.splitCommitRows`):
   * D1 is atomic only within one `db.batch()`, which has 30 s, so a bigger
   * commit is planned, built beside the graph in batches of this many rows
   * and swapped in by one small batch. Default {@link DEFAULT_D1_SPLIT_COMMIT_ROWS}.
   */
  readonly splitCommitRows?: number;
}

/** 50,000 rows: a batch of that many took about 3 s inside workerd here (README, Benchmarks). */
export const DEFAULT_D1_SPLIT_COMMIT_ROWS = 50_000;

export interface D1Store extends GraphStore {
  readonly kind: 'd1';
}

// Cloudflare's retryable D1 errors (developers.cloudflare.com/d1/observability/debug-d1/#error-list
// and d1/best-practices/retry-queries): a lost connection, a reset or overloaded database.
const TRANSIENT_D1 =
  /Network connection lost|caused object to be reset|reset because its code was updated|exceeded its memory limit and was reset|D1 DB is overloaded|Too many requests queued|Requests queued for too long|transient issue/i;

/**
 * True when a D1 failure may succeed if retried as it is: the error, or any
 * error in its `cause` chain (a `CommitError` `StoreFailure` keeps D1's as
 * its cause), is one Cloudflare lists as retryable. SQLite's own errors
 * (SQLITE_TOOBIG, a constraint, a missing table) and anything unknown would
 * fail the same way again.
 *
 * @example
 * if (error instanceof CommitError && error.code === 'StoreFailure') status = isTransientD1Error(error) ? 503 : 500;
 */
export function isTransientD1Error(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (TRANSIENT_D1.test(e.message)) return true;
  }
  return false;
}

/**
 * The `StoreFailure` of a sync on a D1 database that is not at this code's
 * schema version (`problem`: `foreign` when it was never migrated, `older`
 * when migrations are pending, `newer` when a newer parallax-edge migrated
 * it). The sync wrote nothing. D1 is migrated apart from the Worker's code,
 * so a deploy that ran before `wrangler d1 migrations apply` gets this, not
 * a SQL error from deep inside a commit.
 *
 * @example
 * try {
 *   await commitSync(store, await runConnector(connector, { accountId: 'acme', store }));
 * } catch (error) {
 *   if (error instanceof D1SchemaError && error.problem !== 'newer') await migrateD1(env.DB);
 * }
 */
export class D1SchemaError extends CommitError {
  constructor(
    readonly problem: SchemaProblem,
    /** The database's schema version (undefined for `foreign`). */
    readonly version: number | undefined,
    message: string,
  ) {
    super('StoreFailure', message);
  }
}

const APPLY = 'apply the migrations in node_modules/parallax-edge/workers/migrations (`wrangler d1 migrations apply <DB>`) or call migrateD1(db)';

function d1SchemaError(version: number | undefined): D1SchemaError | undefined {
  switch (schemaProblem(version)) {
    case 'foreign':
      return new D1SchemaError('foreign', undefined, `D1 database has no parallax-edge schema (no schema_migrations table); ${APPLY}; nothing was written`);
    case 'older':
      return new D1SchemaError('older', version, `D1 database has schema version ${version}, this parallax-edge needs ${SCHEMA_VERSION}; ${APPLY}; nothing was written`);
    case 'newer':
      return new D1SchemaError('newer', version, `D1 database has schema version ${version}, newer than this parallax-edge (version ${SCHEMA_VERSION}); deploy the newer code; nothing was written`);
    default:
      return undefined;
  }
}

function bound(db: D1DatabaseLike, s: SqlStatement): D1PreparedStatementLike {
  const prepared = db.prepare(s.sql);
  return s.params.length > 0 ? prepared.bind(...(s.params as SqlValue[])) : prepared;
}

/**
 * Applies the SQL module's schema migrations to a D1 database in one batch,
 * for databases not migrated with `wrangler d1 migrations apply` (the files
 * in `workers/migrations` are the same migrations). Safe to call every time.
 */
export async function migrateD1(db: D1DatabaseLike): Promise<void> {
  await db.prepare(CREATE_MIGRATIONS_TABLE.sql).run();
  const row = await bound(db, CURRENT_VERSION_QUERY).first<{ version: number | null }>();
  const statements = migrationStatements(row?.version ?? null, new Date().toISOString());
  if (statements.length > 0) await db.batch(statements.map((s) => bound(db, s)));
}

/**
 * A GraphStore on a D1 database whose schema is migrated (`workers/migrations`
 * with wrangler, or {@link migrateD1}). Creating it runs no query, so it is
 * cheap to create per request; its first sync reads the schema version
 * first, and refuses another one with a {@link D1SchemaError}.
 */
export function createD1Store(db: D1DatabaseLike, options: D1StoreOptions = {}): D1Store {
  const executor: SqlExecutor = {
    rowInserts: false,
    localStaging: false,
    async batch(work) {
      const statements = work.map((w) => {
        if (!isStatement(w)) throw new TypeError('the D1 executor takes statements only');
        return bound(db, w);
      });
      const results = await db.batch<Record<string, unknown>>(statements);
      return results.map((r) => ({ rows: r.results ?? [], changes: Number(r.meta?.changes ?? 0) }));
    },
    async close() {},
  };
  return createSqlStore('d1', executor, {
    name: 'D1 database',
    ...(options.chunkBytes === undefined ? {} : { chunkBytes: options.chunkBytes }),
    ...(options.stagingLeaseMs === undefined ? {} : { stagingLeaseMs: options.stagingLeaseMs }),
    ...(options.bulkLoadRows === undefined ? {} : { bulkLoadRows: options.bulkLoadRows }),
    splitCommitRows: options.splitCommitRows ?? DEFAULT_D1_SPLIT_COMMIT_ROWS,
    checkSchema: d1SchemaError,
  });
}
