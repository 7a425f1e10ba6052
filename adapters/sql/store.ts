/**
 * The one SQL GraphStore, for SQLite and D1 alike: sessions that stage a
 * sync into the staging tables, the commit with its unchanged fast path
 * and guards (`sync.ts`), and the reads (`read.ts`). What differs between
 * the databases is only how statements run, behind a {@link SqlExecutor}:
 * `adapters/sqlite/` (better-sqlite3 transactions) and `adapters/d1.ts`
 * (D1 batches) are executors and nothing else.
 */
import {
  CommitError,
  QueryTooComplexError,
  assertStagedChunk,
  danglingRelationship,
  duplicateSync,
  entityId,
  rowWrites,
  syncConflict,
  type CommitResult,
  type GraphStore,
  type PreparedRelationship,
  type PriorEntity,
  type StagedChunk,
  type SyncClose,
  type SyncHeader,
  type SyncSession,
} from '../../src/adapter-kit.js';
import { guardFailure } from './guard.js';
import {
  countsFromRows,
  countsStatements,
  entityFromRow,
  findEntityStatement,
  getEntityStatement,
  getRelationshipStatement,
  historyStatement,
  listEntitiesStatement,
  listRelationshipsStatement,
  relationshipFromRow,
  syncRecordFromRow,
  type Row,
} from './read.js';
import { evaluateSqlQuery } from './query.js';
import { CURRENT_VERSION_QUERY, MIGRATIONS_TABLE_QUERY } from './schema.js';
import { DEFAULT_CHUNK_BYTES, type SqlStatement, type SqlValue } from './statement.js';
import {
  STAGE_ENTITY_ROW,
  STAGE_RELATIONSHIP_ROW,
  STAGE_UNIT_ROW,
  applyStatements,
  bulkLoadProbeStatements,
  cleanupStatements,
  commitParams,
  byUnitsFor,
  commitStatements,
  danglingRangeStatements,
  danglingReportStatement,
  discardAloneStatements,
  discardStatements,
  discardStepStatements,
  entityValues,
  expandStatements,
  headerStatement,
  isBulkLoad,
  matchedUnitsStatement,
  openStatement,
  planStatements,
  plannedFrom,
  priorEntityIdsStatement,
  priorEntitiesStatement,
  priorEntityStatement,
  relationshipValues,
  stagedNewRowsStatement,
  stageRowStatements,
  stageUnitStatements,
  storedUnitsStatements,
  unchangedStatements,
  unitValues,
  withIndexRebuild,
  type GraphTable,
  type PlannedCommit,
} from './sync.js';
import {
  buildDropStatements,
  buildTablesStatement,
  buildStatements,
  copyStatements,
  dropOldStatements,
  leftoverStatements,
  swapSchemaStatement,
  swapStamp,
  swapStatements,
  upsertStatements,
} from './swap.js';

/** Many rows through one statement text (for in-process drivers). */
export interface RowInsert {
  /** A one-row `INSERT … VALUES (?, …)`; a driver may insert several rows a statement ({@link manyRowsSql}). */
  readonly sql: string;
  readonly rows: readonly (readonly SqlValue[])[];
}

export type SqlWork = SqlStatement | RowInsert;

/** What a statement did: its rows (for a SELECT) and the rows it changed. */
export interface SqlResult {
  readonly rows: readonly Row[];
  readonly changes: number;
}

/**
 * How one database runs the SQL store's statements.
 * - `read`: a consistent snapshot for the reads in it;
 * - `query`: as `read`, of the committed graph only (a PQL query: never
 *   the staging tables), so an executor may serve it from another connection;
 * - `stage`: writes to the staging tables only (SQLite must not take the
 *   database's write lock for them: other processes commit meanwhile);
 * - `commit`: the store's atomic unit, writing the graph.
 * A failing statement (a guard's RAISE included) rolls the whole batch back
 * and rejects with the driver's error.
 */
export type SqlMode = 'read' | 'query' | 'stage' | 'commit';

export interface SqlExecutor {
  batch(work: readonly SqlWork[], mode: SqlMode): Promise<SqlResult[]>;
  /** Whether `batch` takes {@link RowInsert}s; else rows are staged as JSON chunks. */
  readonly rowInserts: boolean;
  /** Staging tables are this connection's own (SQLite TEMP): a session token need only be unique here. */
  readonly localStaging: boolean;
  /**
   * The staged row tables keep rows in staging order with their (token, id)
   * key as a separate index (SQLite's TEMP staging): the commit then reads
   * them in one scan and a sort, not row by row through the key.
   */
  readonly unkeyedStaging?: boolean;
  close(): Promise<void>;
}

export interface SqlStoreOptions {
  /** Bytes of rows per bound JSON chunk, for executors without row inserts (D1 allows 2 MB per value). Default 1.5 MB. */
  readonly chunkBytes?: number;
  /**
   * How old another sync's staging area must be before a new sync removes it
   * as the leftover of a crashed process (+P4). Longer than any sync can
   * take; default 24 hours (a Workflow may run that long).
   */
  readonly stagingLeaseMs?: number;
  /** How messages name the database (`SQLite database "./graph.db"`). */
  readonly name: string;
  /**
   * A commit that creates at least this many rows, and at least as many as
   * the graph tables hold, drops their secondary indexes before its graph
   * writes and builds them again after, in its own batch (INV-C01). Default
   * {@link DEFAULT_BULK_LOAD_ROWS}; 0 turns it off.
   */
  readonly bulkLoadRows?: number;
  /**
   * The most rows one commit batch should write: for a database whose atomic
   * unit has a time limit (D1: 30 s a batch). A commit into a graph that
   * holds or gets at least this many rows is split: a first batch plans it
   * (guards, deletes, stats); one that writes fewer rows than this then
   * writes them in one more batch, and a bigger one builds each graph table
   * it changes beside the graph, this many rows a batch, then swaps them in
   * with one small batch (`swap.ts`, INV-C01). Default 0: every commit is
   * one atomic unit.
   */
  readonly splitCommitRows?: number;
  /**
   * For a database migrated apart from the code (D1, by wrangler): called
   * with its schema version (undefined without `schema_migrations`) before
   * the store's first sync, which fails with the error returned, if any,
   * before it writes anything. Read once per store while it answers no error.
   */
  readonly checkSchema?: (version: number | undefined) => CommitError | undefined;
}

export const DEFAULT_BULK_LOAD_ROWS = 10_000;

/**
 * `SyncSession.unitRecords` of the SQL stores: a 1% churn at 92k rows
 * staged 22k rows again at 32 records a unit, 6.6k at 8, and its commit
 * went from 0.51x to 0.40x of the first sync; the cost per unit (its row in
 * staging and in `scope_units`) stays small set-wise.
 */
export const SQL_UNIT_RECORDS = 8;

/** A split commit that finds the graph changed by another commit since its plan plans again, this many times in all. */
const SPLIT_COMMIT_ATTEMPTS = 3;

export const DEFAULT_STAGING_LEASE_MS = 24 * 60 * 60_000;

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error && !error.message.includes(cause.message) ? `${error.message}: ${cause.message}` : error.message;
}

const isStatement = (work: SqlWork): work is SqlStatement => 'params' in work;

/** SQLite refusing a statement for its size or depth (its limits; D1's are lower): the query, not the database, is at fault. */
const QUERY_TOO_COMPLEX = /Expression tree is too large|statement too long|SQLITE_TOOBIG|too many SQL variables|variable number must be between|parser stack overflow|too many terms in compound SELECT|at most \d+ tables in a join/;

/** A GraphStore on a migrated SQL database, run by `executor`. */
export function createSqlStore<Kind extends string>(kind: Kind, executor: SqlExecutor, options: SqlStoreOptions): GraphStore & { readonly kind: Kind } {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const leaseMs = options.stagingLeaseMs ?? DEFAULT_STAGING_LEASE_MS;
  const bulkLoadRows = options.bulkLoadRows ?? DEFAULT_BULK_LOAD_ROWS;
  const splitCommitRows = options.splitCommitRows ?? 0;
  /** Tells this store's table builds from another process's (SQLite's session tokens are only unique per connection). */
  const buildTag = executor.localStaging ? crypto.randomUUID().slice(0, 8) : '';
  let closed = false;
  let tokens = 0;
  /** Sessions open on this store: with local staging and only one, its discard empties the tables whole. */
  const openTokens = new Set<string>();
  /** Drops a session's staging area; whole tables at once when no other sync stages there. */
  const discard = async (token: string, doing: string): Promise<void> => {
    const alone = openTokens.size === 1 && openTokens.has(token);
    openTokens.delete(token);
    if (executor.localStaging) {
      await run(discardStatements(token, alone), 'stage', doing);
      return;
    }
    // Shared staging: the database decides (its guard aborts if another sync's area is there).
    const whole = await run(discardAloneStatements(token), 'stage', doing).then(
      () => true,
      () => false,
    );
    if (!whole) await run(discardStatements(token), 'stage', doing);
  };

  const failure = (message: string, cause?: unknown): CommitError =>
    new CommitError('StoreFailure', message, cause === undefined ? {} : { cause });
  const ensureOpen = (): void => {
    if (closed) throw failure(`the ${options.name} store is closed`);
  };

  /** Runs work; database failures become `StoreFailure` (argument errors and our own errors pass through). */
  async function run(work: readonly SqlWork[], mode: SqlMode, doing: string): Promise<SqlResult[]> {
    ensureOpen();
    try {
      return await executor.batch(work, mode);
    } catch (error) {
      if (error instanceof CommitError || error instanceof RangeError) throw error;
      if (mode === 'query' && QUERY_TOO_COMPLEX.test(describeError(error))) {
        throw new QueryTooComplexError(`the ${options.name} cannot run this query as written, it is too large: ${describeError(error)}; use fewer conditions, values or steps`);
      }
      throw failure(`${options.name}: ${doing} failed${mode === 'read' || mode === 'query' ? '' : ', nothing was committed'}: ${describeError(error)}`, error);
    }
  }
  const rowsOf = async (statement: SqlStatement, doing: string): Promise<readonly Row[]> => (await run([statement], 'read', doing))[0]!.rows;

  let schemaChecked = false;
  async function checkSchema(): Promise<void> {
    if (!options.checkSchema || schemaChecked) return;
    const doing = 'checking the schema version';
    // One round trip on a migrated database; the table is looked for only when reading it failed.
    const version = await rowsOf(CURRENT_VERSION_QUERY, doing).then(
      (rows) => Number(rows[0]?.version ?? 0),
      async (error: unknown) => {
        if (Number((await rowsOf(MIGRATIONS_TABLE_QUERY, doing))[0]?.present) > 0) throw error;
        return undefined;
      },
    );
    const refused = options.checkSchema(version);
    if (refused) throw refused;
    schemaChecked = true;
  }

  function openSession(header: SyncHeader, token: string): SyncSession {
    let ended = false;
    openTokens.add(token);
    const expanded = new Set<string>();
    const live = (): void => {
      ensureOpen();
      if (ended) throw failure(`the sync "${header.syncId}" was already committed or aborted`);
    };
    const priorOf = (row: Row): PriorEntity => {
      const e = entityFromRow({ ...row, account_id: header.accountId, connector_id: header.connectorId, sync_id: header.syncId });
      return { id: e.id, stepId: e.stepId, entityType: e.entityType, entityKey: e.entityKey, entityClass: e.entityClass, displayName: e.displayName, properties: e.properties };
    };
    /** Matched units of these steps, row by row, once per step. */
    async function expand(steps: readonly string[]): Promise<void> {
      const missing = steps.filter((id) => !expanded.has(id));
      if (missing.length === 0) return;
      await run(expandStatements(token, missing), 'stage', 'reading prior data');
      for (const id of missing) expanded.add(id);
    }
    /** The commit failed on a guard: the contract's error (staging is untouched, for the report). */
    async function guardError(error: unknown, close: SyncClose, committedAt: string): Promise<CommitError | undefined> {
      switch (guardFailure(error)) {
        case 'DuplicateSyncId':
          return duplicateSync(header.accountId, header.syncId);
        case 'SyncConflict':
          return syncConflict(header.accountId, header.connectorId);
        case 'StagingIncomplete':
          return failure(`${options.name}: the staged rows of sync "${header.syncId}" are not all there (cleaned up as stale?); nothing was committed`, error);
        case 'DanglingRelationship': {
          // A commit planned by units left matched units unexpanded; the report reads them row by row.
          await run(expandStatements(token), 'stage', 'reporting a dangling relationship');
          const [row] = await rowsOf(danglingReportStatement(token, close, committedAt), 'reporting a dangling relationship');
          if (!row) return failure('INV-C04 guard fired but no dangling relationship was found; nothing was committed', error);
          const named = {
            fromType: String(row.from_type),
            fromKey: String(row.from_key),
            verb: String(row.verb),
            toType: String(row.to_type),
            toKey: String(row.to_key),
          } as PreparedRelationship;
          return danglingRelationship(named, Number(row.dangling_count));
        }
        default:
          return undefined;
      }
    }

    return {
      header,
      token,
      unitRecords: SQL_UNIT_RECORDS,
      async storedUnits(stepId, unitKind) {
        live();
        const results = await run(storedUnitsStatements(token, stepId, unitKind), 'stage', 'reading the scope\'s units');
        return new Set(results[1]!.rows.map((r) => String(r.digest)));
      },
      async stage(chunk: StagedChunk) {
        assertStagedChunk(chunk);
        live();
        const work: SqlWork[] = executor.rowInserts
          ? [
              { sql: STAGE_ENTITY_ROW, rows: chunk.entities.map((e) => entityValues(token, chunk.page, e)) },
              { sql: STAGE_RELATIONSHIP_ROW, rows: chunk.relationships.map((r) => relationshipValues(token, chunk.page, r)) },
              { sql: STAGE_UNIT_ROW, rows: unitValues(token, chunk) },
            ]
          : [...stageRowStatements(token, chunk, chunkBytes), ...stageUnitStatements(token, chunk, chunkBytes)];
        try {
          await run(work, 'stage', `staging sync "${header.syncId}"`);
        } catch (error) {
          // The core refuses a repeat within a run; across invocations (pages of a Workflow) staging's key finds it.
          if (/UNIQUE constraint failed: staged_(entities|relationships)/.test(describeError(error))) {
            throw new CommitError('InvalidBatch', `step "${chunk.stepId}" emitted a row that this sync has already staged (a record emitted twice, in two pages or steps)`, {
              field: 'stepId',
              cause: error,
            });
          }
          throw error;
        }
      },
      async discardStep(stepId, fromPage = 0) {
        live();
        await run(discardStepStatements(token, stepId, fromPage), 'stage', `discarding step "${stepId}"`);
      },
      async priorEntityIds(query) {
        live();
        await expand(query.steps);
        return (await rowsOf(priorEntityIdsStatement(token, query), 'reading prior data')).map((r) => String(r.id));
      },
      async priorEntities(query) {
        live();
        await expand(query.steps);
        const rows = await rowsOf(priorEntitiesStatement(token, query), 'reading prior data');
        return { items: rows.map(priorOf) };
      },
      async priorEntity(steps, type, key) {
        live();
        await expand(steps);
        const [row] = await rowsOf(priorEntityStatement(token, steps, entityId(header.accountId, type, key)), 'reading prior data');
        return row && priorOf(row);
      },
      async commit(close) {
        live();
        const committedAt = new Date().toISOString();
        const doing = `committing sync "${header.syncId}"`;
        // +P2: an unchanged re-sync is recorded without looking at a row.
        const unchanged = await commitOrGuard(unchangedStatements(token, close, committedAt), close, committedAt, doing);
        let results: CommitBatch = unchanged;
        if (!resultRow(unchanged.statements, unchanged.results)) {
          const verify = header.verify === true;
          const [matched] = await rowsOf(matchedUnitsStatement(token), doing);
          const byUnits = byUnitsFor(close, verify, Number(matched?.matched) === 1);
          if (!byUnits) await run(expandStatements(token), 'stage', doing);
          if (await isSplit(close)) {
            results = await splitCommit(close, committedAt, doing, byUnits);
          } else {
            const commit = commitStatements(token, close, committedAt, verify, { scanStaged: executor.unkeyedStaging === true, byUnits });
            results = await commitOrGuard(await withBulkLoad(commit, close), close, committedAt, doing);
          }
        }
        const row = resultRow(results.statements, results.results);
        if (!row) throw failure(`${options.name}: the sync-run record of "${header.syncId}" was not written; nothing was committed`);
        ended = true;
        await discard(token, 'cleaning up staging').catch(() => undefined);
        const record = syncRecordFromRow(row);
        let rowsWritten = results.builtWrites ?? 0;
        results.statements.forEach((s, i) => {
          if (s.kind === 'graph') rowsWritten += results.results[i]!.changes;
        });
        const counted = rowWrites(record.stats);
        if (rowsWritten !== counted) {
          // Never expected. The commit has landed, so "nothing was committed" would be false: report it, keep what the database counted.
          console.error(`parallax-edge ${options.name}: sync ${header.syncId} wrote ${rowsWritten} rows but its stats count ${counted}`);
        }
        return { record, stats: { ...record.stats }, rowsWritten };
      },
      async abort() {
        if (ended) return;
        ended = true;
        await discard(token, 'discarding a sync').catch(() => undefined);
      },
    };

    /** The commit, with the graph's indexes rebuilt around its writes when it is a bulk load (decided from counts read just before). */
    async function withBulkLoad(commit: SqlStatement[], close: SyncClose): Promise<SqlStatement[]> {
      const emitted = close.entities + close.relationships;
      if (bulkLoadRows <= 0 || emitted < bulkLoadRows) return commit;
      const [counts, indexes] = await run(bulkLoadProbeStatements(), 'read', 'sizing a commit');
      const stored = Number(counts!.rows[0]!.stored);
      if (emitted < stored) return commit;
      const created = stored === 0 ? emitted : Number((await rowsOf(stagedNewRowsStatement(token), 'sizing a commit'))[0]!.created);
      if (!isBulkLoad(created, stored, bulkLoadRows)) return commit;
      return withIndexRebuild(commit, indexes!.rows.map((r) => ({ name: String(r.name), sql: String(r.sql) })));
    }

    /** Is the commit split (`splitCommitRows`)? When the graph holds or gets that many rows. */
    async function isSplit(close: SyncClose): Promise<boolean> {
      if (splitCommitRows <= 0) return false;
      const emitted = close.entities + close.relationships;
      if (emitted >= splitCommitRows) return true;
      const [counts] = await run(bulkLoadProbeStatements().slice(0, 1), 'read', 'sizing a commit');
      return emitted + Number(counts!.rows[0]!.stored) >= splitCommitRows;
    }

    /**
     * The commit in several batches (see `splitCommitRows`): the plan (a
     * batch per statement), then
     * the graph writes in one batch when they are few, or tables built
     * beside the graph and swapped in. Only its last batch changes what
     * readers see (INV-C01); it is refused when another commit came after
     * the plan, and the commit then plans again.
     */
    async function splitCommit(close: SyncClose, committedAt: string, doing: string, byUnits: boolean): Promise<CommitBatch> {
      const verify = header.verify === true;
      for (let attempt = 1; ; attempt++) {
        // One statement a batch: each is a pass over the staged rows (the stats took 7 s at 1M rows inside workerd).
        const planResults: SqlResult[] = [];
        for (const step of planStatements(token, close, committedAt, verify, byUnits)) {
          planResults.push(...(await commitOrGuard([step], close, committedAt, doing)).results);
        }
        // INV-C04 for the staged rows, a batch per id range: one pass over them all grows past D1's 30 s a batch.
        const params = commitParams(token, close, committedAt, verify);
        for (let after = ''; ; ) {
          const [range] = (await commitOrGuard(danglingRangeStatements(params, after, splitCommitRows), close, committedAt, doing)).results;
          const hi = range!.rows[0]!.hi;
          if (hi === null || hi === undefined) break;
          after = String(hi);
        }
        const planned = plannedFrom(planResults);
        const count = (column: string): number => Number(planned.record[column]);
        const writes: Record<GraphTable, number> = {
          entities: count('entities_created') + count('entities_updated') + count('entities_deleted'),
          relationships: count('relationships_created') + count('relationships_updated') + count('relationships_deleted'),
        };
        try {
          if (writes.entities + writes.relationships < splitCommitRows) {
            return await commitOrGuard(applyStatements(token, close, committedAt, verify, planned, 'graph'), close, committedAt, doing);
          }
          const tables = (['entities', 'relationships'] as const).filter((t) => writes[t] > 0);
          return await swapCommit(tables, close, committedAt, planned, doing);
        } catch (error) {
          // The graph moved since the plan (the last batch's only guard): plan again.
          if (error instanceof CommitError && error.code === 'SyncConflict' && attempt < SPLIT_COMMIT_ATTEMPTS) continue;
          throw error;
        }
      }
    }

    /** Builds `tables` as the commit leaves them, beside the graph, then swaps them in with the commit's last batch. */
    async function swapCommit(tables: readonly GraphTable[], close: SyncClose, committedAt: string, planned: PlannedCommit, doing: string): Promise<CommitBatch> {
      const verify = header.verify === true;
      const tag = `${buildTag}${token}`;
      const stamp = swapStamp(Date.now(), tag);
      const [schema] = await run([swapSchemaStatement()], 'read', doing);
      const leftovers = leftoverStatements(schema!.rows, Date.now() - leaseMs, tag);
      if (leftovers.length > 0) await run(leftovers, 'commit', 'dropping leftover table builds');
      const params = commitParams(token, close, committedAt, verify);
      let builtWrites = 0;
      try {
        for (const table of tables) {
          const { create, indexes } = buildStatements(schema!.rows, table, stamp);
          await run(create, 'commit', doing);
          // Stored rows kept, then the sync's, each in id ranges of `splitCommitRows` rows.
          for (let after = ''; ; ) {
            const [range] = await run(copyStatements(table, stamp, token, after, splitCommitRows), 'commit', doing);
            const hi = range!.rows[0]!.hi;
            if (hi === null || hi === undefined) break;
            after = String(hi);
          }
          for (let after = ''; ; ) {
            const [range, upsert] = await run(upsertStatements(table, stamp, params, after, splitCommitRows), 'commit', doing);
            const hi = range!.rows[0]!.hi;
            if (hi === null || hi === undefined) break;
            after = String(hi);
            builtWrites += upsert!.changes;
          }
          for (const index of indexes) await run([index], 'commit', doing);
        }
        const deleted = Number(planned.record.entities_deleted) + Number(planned.record.relationships_deleted);
        const swap = applyStatements(token, close, committedAt, verify, planned, swapStatements(tables, stamp));
        const results = await commitOrGuard(swap, close, committedAt, doing);
        await run(dropOldStatements(tables, stamp), 'commit', 'dropping swapped-out tables').catch(() => undefined);
        return { ...results, builtWrites: builtWrites + deleted };
      } catch (error) {
        await run(buildDropStatements(tables, stamp), 'commit', 'dropping a table build').catch(() => undefined);
        throw error;
      }
    }

    async function commitOrGuard(
      statements: SqlStatement[],
      close: SyncClose,
      committedAt: string,
      doing: string,
    ): Promise<CommitBatch> {
      ensureOpen();
      try {
        return { statements, results: await executor.batch(statements, 'commit') };
      } catch (error) {
        if (error instanceof CommitError) throw error;
        throw (await guardError(error, close, committedAt)) ?? failure(`${options.name}: ${doing} failed, nothing was committed: ${describeError(error)}`, error);
      }
    }
  }

  /** A commit's last batch, and the rows written by batches before it (a table build's). */
  interface CommitBatch {
    readonly statements: readonly SqlStatement[];
    readonly results: readonly SqlResult[];
    readonly builtWrites?: number;
  }

  const resultRow = (statements: readonly SqlStatement[], results: readonly SqlResult[]): Row | undefined =>
    results[statements.findIndex((s) => s.kind === 'result')]?.rows[0];

  return {
    kind,
    async openSync(header) {
      await checkSchema();
      const token = executor.localStaging ? `s${++tokens}` : crypto.randomUUID();
      const now = Date.now();
      await run([...cleanupStatements(new Date(now - leaseMs).toISOString()), openStatement(token, header, new Date(now).toISOString())], 'stage', 'opening a sync');
      // +P4: tables a split commit built and never swapped in (it died), or swapped out and never dropped;
      // also when this store does not split, so a file once synced with splitCommitRows does not keep them.
      const [builds] = await run([buildTablesStatement()], 'read', 'opening a sync');
      const leftovers = leftoverStatements(builds!.rows, now - leaseMs, '');
      if (leftovers.length > 0) await run(leftovers, 'commit', 'dropping leftover table builds');
      return openSession(header, token);
    },
    async resumeSync(token) {
      const [row] = await rowsOf(headerStatement(token), 'resuming a sync');
      if (!row) return undefined;
      const header: SyncHeader = {
        accountId: String(row.account_id),
        connectorId: String(row.connector_id),
        syncId: String(row.sync_id),
        startedAt: String(row.started_at),
        ...(Number(row.verify) === 1 ? { verify: true } : {}),
      };
      return openSession(header, token);
    },
    async getEntity(id) {
      const [row] = await rowsOf(getEntityStatement(id), 'reading an entity');
      return row && entityFromRow(row);
    },
    async findEntity(accountId, type, key) {
      const [row] = await rowsOf(findEntityStatement(accountId, type, key), 'finding an entity');
      return row && entityFromRow(row);
    },
    async listEntities(query = {}) {
      const page = listEntitiesStatement(query);
      return page.toPage(await rowsOf(page.statement, 'listing entities'));
    },
    async getRelationship(id) {
      const [row] = await rowsOf(getRelationshipStatement(id), 'reading a relationship');
      return row && relationshipFromRow(row);
    },
    async listRelationships(query = {}) {
      const page = listRelationshipsStatement(query);
      return page.toPage(await rowsOf(page.statement, 'listing relationships'));
    },
    async counts(query = {}) {
      // One snapshot for both counts.
      const [byClass, byVerb] = await run(countsStatements(query), 'read', 'counting');
      return countsFromRows(byClass!.rows, byVerb!.rows);
    },
    async syncHistory(query = {}) {
      return (await rowsOf(historyStatement(query), 'reading sync history')).map(syncRecordFromRow);
    },
    async query(plan, context) {
      return evaluateSqlQuery(async (statements) => (await run(statements, 'query', 'running a query')).map((r) => r.rows), plan, context);
    },
    async close() {
      if (closed) return;
      closed = true;
      await executor.close();
    },
  };
}

export { isStatement };
