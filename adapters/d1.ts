/**
 * The Cloudflare D1 GraphStore, for Workers. It runs the SQL module shared
 * with the SQLite adapter (`adapters/sql`) the D1 way:
 *
 * - Staging: each chunk of rows is one JSON text bound as one parameter and
 *   expanded by `json_each` inside D1, so 100k entities stage in about twenty
 *   statements, each far under D1's 100 bound parameters and 100 KB of SQL.
 * - Check, diff and promote (INV-C04 and duplicate-sync guards, delete sets,
 *   INV-03 cascade, stats, upserts where the hash differs, deletes, the
 *   sync-run record) are one `db.batch()`: D1 runs a batch as one
 *   transaction, so a commit lands whole or not at all (INV-C01). A failed
 *   check aborts the batch from inside the database (a guard trigger), so
 *   there is no JS round trip in the middle.
 * - A commit whose staged rows fit in `maxBatchBytes` (the usual case) is a
 *   single batch, staging included. A bigger one stages in batches of that
 *   size first; its staged rows are invisible to readers, and if the Worker
 *   dies before the promote batch they are removed by a later commit once
 *   `stagingLeaseMs` has passed (+P4).
 *
 * Statements per commit: cleanup (5) + header (1) + one per chunk of about
 * 1.5 MB of rows + promote (17), whatever the size of the stored graph.
 *
 * @example
 * import { createD1Store } from 'parallax-edge/adapters/d1';
 * export default {
 *   async scheduled(controller, env) {
 *     const store = createD1Store(env.DB);
 *     await commitSync(store, await runConnector(connector, { accountId: 'acme' }));
 *   },
 * };
 */
import {
  CommitError,
  danglingRelationship,
  duplicateSync,
  rowWrites,
  type CommitBatch,
  type CommitResult,
  type GraphStore,
} from '../src/index.js';
import {
  CREATE_MIGRATIONS_TABLE,
  CURRENT_VERSION_QUERY,
  DEFAULT_CHUNK_BYTES,
  cleanupStatements,
  countsFromRows,
  countsStatements,
  danglingReportStatement,
  discardStatements,
  entityFromRow,
  findEntityStatement,
  getEntityStatement,
  getRelationshipStatement,
  guardFailure,
  historyStatement,
  listEntitiesStatement,
  listRelationshipsStatement,
  migrationStatements,
  promoteStatements,
  readDanglingReport,
  relationshipFromRow,
  stageStatements,
  syncRecordFromRow,
  utf8Length,
  type Row,
  type SqlStatement,
  type SqlValue,
  batchDigest,
  unchangedRunStatements,
  unchangedScopeStatements,
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
  /**
   * Staged JSON bytes up to which a commit is one single `db.batch()`,
   * staging included. Bigger commits stage in batches of at most this size,
   * then check, diff and promote in one batch. Default 8 MB.
   */
  readonly maxBatchBytes?: number;
  /** Bytes of rows per bound JSON chunk (D1 allows 2 MB per value). Default 1.5 MB. */
  readonly chunkBytes?: number;
  /**
   * How old staged rows of another commit must be before a commit removes
   * them as leftovers of a crashed Worker (+P4). Longer than any commit can
   * take; default 15 minutes (the cron wall-clock limit).
   */
  readonly stagingLeaseMs?: number;
}

export interface D1Store extends GraphStore {
  readonly kind: 'd1';
}

export const DEFAULT_MAX_BATCH_BYTES = 8_000_000;
export const DEFAULT_STAGING_LEASE_MS = 15 * 60_000;

function storeFailure(message: string, cause?: unknown): CommitError {
  return new CommitError('StoreFailure', message, cause === undefined ? {} : { cause });
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

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error && !error.message.includes(cause.message) ? `${error.message}: ${cause.message}` : error.message;
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

function bound(db: D1DatabaseLike, s: SqlStatement): D1PreparedStatementLike {
  const prepared = db.prepare(s.sql);
  return s.params.length > 0 ? prepared.bind(...(s.params as SqlValue[])) : prepared;
}

/**
 * A GraphStore on a D1 database whose schema is migrated (`workers/migrations`
 * with wrangler, or {@link migrateD1}). Creating it runs no query, so it is
 * cheap to create per request.
 */
export function createD1Store(db: D1DatabaseLike, options: D1StoreOptions = {}): D1Store {
  const maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
  const chunkBytes = Math.min(options.chunkBytes ?? DEFAULT_CHUNK_BYTES, maxBatchBytes);
  const stagingLeaseMs = options.stagingLeaseMs ?? DEFAULT_STAGING_LEASE_MS;
  let closed = false;

  const ensureOpen = (): void => {
    if (closed) throw storeFailure('the D1 store is closed');
  };
  const run = (statements: readonly SqlStatement[]) => db.batch<Row>(statements.map((s) => bound(db, s)));

  async function read<T>(fn: () => Promise<T>): Promise<T> {
    ensureOpen();
    try {
      return await fn();
    } catch (error) {
      if (error instanceof CommitError || error instanceof RangeError) throw error;
      throw storeFailure(`D1 read failed: ${describeError(error)}`, error);
    }
  }
  const first = async (s: SqlStatement): Promise<Row | undefined> => (await bound(db, s).first<Row>()) ?? undefined;
  const all = async (s: SqlStatement): Promise<Row[]> => (await bound(db, s).all<Row>()).results;

  /** Groups staging statements into batches of at most `maxBatchBytes` of bound text. */
  function stagingBatches(statements: readonly SqlStatement[]): SqlStatement[][] {
    const batches: SqlStatement[][] = [];
    let current: SqlStatement[] = [];
    let bytes = 0;
    for (const s of statements) {
      const size = s.params.reduce<number>((n, p) => n + (typeof p === 'string' ? utf8Length(p) : 8), utf8Length(s.sql));
      if (current.length > 0 && bytes + size > maxBatchBytes) {
        batches.push(current);
        current = [];
        bytes = 0;
      }
      current.push(s);
      bytes += size;
    }
    if (current.length > 0) batches.push(current);
    return batches;
  }

  async function commit(batch: CommitBatch): Promise<CommitResult> {
    ensureOpen();
    // Also refuses repeated ids (InvalidBatch) before anything is staged.
    const digest = batchDigest(batch);
    const unchanged = await commitUnchanged(unchangedScopeStatements(batch, digest, new Date().toISOString()), batch);
    if (unchanged) return unchanged;
    const token = crypto.randomUUID();
    const nowMs = Date.now();
    const now = new Date(nowMs).toISOString();
    // Other Workers may be staging right now (large commits stage in several
    // calls): only their rows older than the lease are leftovers.
    const staleBefore = new Date(nowMs - stagingLeaseMs).toISOString();
    const cleanup = cleanupStatements(token, staleBefore);
    const stage = stageStatements(batch, token, now, chunkBytes);
    const groups = stagingBatches([...cleanup, ...stage]);
    const separate = groups.length > 1;

    if (separate) {
      try {
        for (const group of groups) await run(group);
      } catch (error) {
        await discard(token);
        throw storeFailure(`D1 staging failed, nothing was committed: ${describeError(error)}`, error);
      }
    }
    const promote = promoteStatements(token, new Date().toISOString(), 'main', { batch: digest, input: batch.inputDigest ?? null });
    const statements = separate ? promote : [...cleanup, ...stage, ...promote];

    let results: D1ResultLike<Row>[];
    try {
      results = await run(statements);
    } catch (error) {
      throw await commitFailure(error, batch, token, separate);
    }

    let rowsWritten = 0;
    let resultRow: Row | undefined;
    statements.forEach((s, index) => {
      const result = results[index];
      if (s.kind === 'graph') rowsWritten += Number(result?.meta.changes ?? 0);
      if (s.kind === 'result') resultRow = result?.results[0];
    });
    if (!resultRow) throw storeFailure('D1 returned no sync-run record for the commit batch');
    const record = syncRecordFromRow(resultRow);
    const counted = rowWrites(record.stats);
    if (rowsWritten !== counted) {
      // Never expected. The batch has landed, so a CommitError ("nothing was
      // committed") would be false: report it and return what D1 counted.
      console.error(`parallax-edge D1 store: sync ${batch.syncId} wrote ${rowsWritten} rows but its stats count ${counted}`);
    }
    return { record, stats: { ...record.stats }, rowsWritten };
  }

  /**
   * An unchanged re-sync in one small batch, without staging (scope.ts);
   * undefined when the scope check does not hold (nothing was written).
   */
  async function commitUnchanged(
    statements: readonly SqlStatement[],
    scope: { accountId: string; syncId: string },
  ): Promise<CommitResult | undefined> {
    let results: D1ResultLike<Row>[];
    try {
      results = await run(statements);
    } catch (error) {
      if (guardFailure(error) === 'DuplicateSyncId') throw duplicateSync(scope.accountId, scope.syncId);
      throw storeFailure(`D1 commit failed, nothing was committed: ${describeError(error)}`, error);
    }
    const row = results[statements.findIndex((s) => s.kind === 'result')]?.results[0];
    if (!row) return undefined;
    const record = syncRecordFromRow(row);
    return { record, stats: { ...record.stats }, rowsWritten: 0 };
  }

  /** The batch was rolled back: turn the guard that aborted it into the contract's error. */
  async function commitFailure(error: unknown, batch: CommitBatch, token: string, separate: boolean): Promise<CommitError> {
    const guard = guardFailure(error);
    try {
      switch (guard) {
        case 'DuplicateSyncId':
          return duplicateSync(batch.accountId, batch.syncId);
        case 'DanglingRelationship': {
          // The staged rows went with the rollback (single batch) or are still
          // staged (separate staging): report from them, then drop them.
          const reportToken = separate ? token : crypto.randomUUID();
          const statements = [
            ...(separate ? [] : stageStatements(batch, reportToken, new Date().toISOString(), chunkBytes)),
            danglingReportStatement(reportToken),
            ...discardStatements(reportToken),
          ];
          const results = await run(statements);
          const reportIndex = statements.findIndex((s) => s.kind === 'read');
          const report = readDanglingReport(results[reportIndex]?.results[0], batch);
          if (report) return danglingRelationship(report.relationship, report.count);
          return storeFailure('INV-C04 guard fired but no dangling relationship was found; nothing was committed', error);
        }
        case 'StagingIncomplete':
          return storeFailure('staged rows of this commit went missing before promote; nothing was committed', error);
        default:
          return storeFailure(`D1 commit failed, nothing was committed: ${describeError(error)}`, error);
      }
    } finally {
      if (separate && guard !== 'DanglingRelationship') await discard(token);
    }
  }

  async function discard(token: string): Promise<void> {
    try {
      await run(discardStatements(token));
    } catch {
      /* a later commit removes them once stale (+P4) */
    }
  }

  return {
    kind: 'd1',
    commit,
    async commitIfUnchanged(run) {
      ensureOpen();
      return commitUnchanged(unchangedRunStatements(run, new Date().toISOString()), run);
    },
    getEntity: (id) =>
      read(async () => {
        const row = await first(getEntityStatement(id));
        return row && entityFromRow(row);
      }),
    findEntity: (accountId, type, key) =>
      read(async () => {
        const row = await first(findEntityStatement(accountId, type, key));
        return row && entityFromRow(row);
      }),
    listEntities: (query = {}) =>
      read(async () => {
        const page = listEntitiesStatement(query);
        return page.toPage(await all(page.statement));
      }),
    getRelationship: (id) =>
      read(async () => {
        const row = await first(getRelationshipStatement(id));
        return row && relationshipFromRow(row);
      }),
    listRelationships: (query = {}) =>
      read(async () => {
        const page = listRelationshipsStatement(query);
        return page.toPage(await all(page.statement));
      }),
    counts: (query = {}) =>
      read(async () => {
        // One batch: both counts from the same snapshot.
        const [byClass, byVerb] = await run(countsStatements(query));
        return countsFromRows(byClass?.results ?? [], byVerb?.results ?? []);
      }),
    syncHistory: (query = {}) => read(async () => (await all(historyStatement(query))).map(syncRecordFromRow)),
    async close() {
      closed = true;
    },
  };
}
