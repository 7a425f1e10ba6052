/**
 * Connector runs and their leases, in the Worker's own D1 tables
 * (workers/migrations/0100_worker_runs.sql).
 *
 * A lease is one row per (account, connector). A run claims it with a single
 * conditional write (an upsert that only replaces an expired lease), so two
 * overlapping runs can never both hold it; the loser is recorded as skipped.
 * A finished run deletes its lease; a run that died leaves it to expire, and
 * the run that takes it over marks the dead run `abandoned`.
 */
import type { D1DatabaseLike } from '../adapters/d1.js';
import type { SyncStats } from '../src/index.js';

export type RunTrigger = 'cron' | 'api' | 'ingest';
/**
 * - `running`: started, not finished (or died: becomes `abandoned` when its lease is taken over)
 * - `succeeded`: committed, no step failed
 * - `partial`: committed, some steps failed (their rows kept: +P1)
 * - `failed`: nothing committed (setup error, every step failed to run, or the commit was refused)
 * - `skipped`: refused before it started, nothing written: another run of the same (account, connector)
 *   held the lease (error `LeaseHeld`), or an ingest named a reserved connector (error `ConnectorReserved`)
 */
export type RunStatus = 'running' | 'succeeded' | 'partial' | 'failed' | 'skipped' | 'abandoned';

export interface FailedStep {
  readonly stepId: string;
  readonly kind: string;
  readonly message: string;
}

export interface RunError {
  readonly code: string;
  readonly message: string;
  readonly relationship?: string;
  readonly field?: string;
}

export interface RunRecord {
  readonly runId: string;
  readonly seq: number;
  readonly accountId: string;
  readonly connectorId: string;
  readonly syncId: string;
  readonly trigger: RunTrigger;
  readonly cron: string | null;
  readonly status: RunStatus;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly stats: SyncStats | null;
  readonly rowsWritten: number | null;
  readonly failedSteps: readonly FailedStep[];
  readonly error: RunError | null;
}

export interface NewRun {
  readonly runId: string;
  readonly accountId: string;
  readonly connectorId: string;
  readonly syncId: string;
  readonly trigger: RunTrigger;
  readonly cron: string | null;
  readonly startedAt: string;
}

export interface RunOutcome {
  readonly status: Exclude<RunStatus, 'running'>;
  readonly finishedAt: string;
  readonly stats?: SyncStats;
  readonly rowsWritten?: number;
  readonly failedSteps?: readonly FailedStep[];
  readonly error?: RunError;
}

/**
 * Claims the lease of (account, connector) for `runId` and records the run as
 * `running`, in one batch. Returns false, with nothing recorded, when another
 * run holds an unexpired lease.
 */
export async function claimRun(db: D1DatabaseLike, run: NewRun, nowMs: number, leaseSeconds: number): Promise<boolean> {
  const [, claim] = await db.batch([
    // A dead run's lease is being taken over: its record says so.
    db
      .prepare(
        `UPDATE connector_runs SET status = 'abandoned', finished_at = ?4,
           error = json_object('code', 'LeaseExpired', 'message', 'the run stopped before finishing; its lease expired')
         WHERE status = 'running' AND run_id = (
           SELECT run_id FROM sync_leases WHERE account_id = ?1 AND connector_id = ?2 AND expires_at <= ?3)`,
      )
      .bind(run.accountId, run.connectorId, nowMs, run.startedAt),
    // The conditional write: insert, or replace only an expired lease.
    db
      .prepare(
        `INSERT INTO sync_leases (account_id, connector_id, run_id, acquired_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (account_id, connector_id) DO UPDATE SET run_id = excluded.run_id, acquired_at = excluded.acquired_at,
           expires_at = excluded.expires_at
         WHERE sync_leases.expires_at <= excluded.acquired_at`,
      )
      .bind(run.accountId, run.connectorId, run.runId, nowMs, nowMs + leaseSeconds * 1000),
    db
      .prepare(
        `INSERT INTO connector_runs (run_id, account_id, connector_id, sync_id, trigger, cron, status, started_at)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, 'running', ?7
         WHERE EXISTS (SELECT 1 FROM sync_leases WHERE account_id = ?2 AND connector_id = ?3 AND run_id = ?1)`,
      )
      .bind(run.runId, run.accountId, run.connectorId, run.syncId, run.trigger, run.cron, run.startedAt),
  ]);
  return (claim?.meta.changes ?? 0) === 1;
}

/** Records a run that was refused because another run holds the lease. */
export async function recordSkipped(db: D1DatabaseLike, run: NewRun, finishedAt: string, heldBy: string | undefined): Promise<void> {
  const message = `another run of "${run.connectorId}" for account "${run.accountId}" is in progress${heldBy ? ` (${heldBy})` : ''}`;
  await recordRun(db, run, { status: 'skipped', finishedAt, error: { code: 'LeaseHeld', message } });
}

/** The run currently holding the lease, if any (for messages). */
export async function leaseHolder(db: D1DatabaseLike, accountId: string, connectorId: string): Promise<string | undefined> {
  const row = await db
    .prepare(`SELECT run_id FROM sync_leases WHERE account_id = ?1 AND connector_id = ?2`)
    .bind(accountId, connectorId)
    .first<{ run_id: string }>();
  return row?.run_id;
}

/** Records how a claimed run ended and releases its lease, in one batch. */
export async function finishRun(db: D1DatabaseLike, run: NewRun, outcome: RunOutcome): Promise<void> {
  await db.batch([
    db
      .prepare(
        `UPDATE connector_runs SET status = ?2, finished_at = ?3, stats = ?4, rows_written = ?5, failed_steps = ?6, error = ?7
         WHERE run_id = ?1`,
      )
      .bind(
        run.runId,
        outcome.status,
        outcome.finishedAt,
        outcome.stats ? JSON.stringify(outcome.stats) : null,
        outcome.rowsWritten ?? null,
        JSON.stringify(outcome.failedSteps ?? []),
        outcome.error ? JSON.stringify(outcome.error) : null,
      ),
    db
      .prepare(`DELETE FROM sync_leases WHERE account_id = ?1 AND connector_id = ?2 AND run_id = ?3`)
      .bind(run.accountId, run.connectorId, run.runId),
  ]);
}

/** Records a run that never held the lease (a refused one): one insert with its outcome. */
export async function recordRun(db: D1DatabaseLike, run: NewRun, outcome: RunOutcome): Promise<void> {
  await db
    .prepare(
      `INSERT INTO connector_runs (run_id, account_id, connector_id, sync_id, trigger, cron, status, started_at, finished_at,
         stats, rows_written, failed_steps, error)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)`,
    )
    .bind(
      run.runId,
      run.accountId,
      run.connectorId,
      run.syncId,
      run.trigger,
      run.cron,
      outcome.status,
      run.startedAt,
      outcome.finishedAt,
      outcome.stats ? JSON.stringify(outcome.stats) : null,
      outcome.rowsWritten ?? null,
      JSON.stringify(outcome.failedSteps ?? []),
      outcome.error ? JSON.stringify(outcome.error) : null,
    )
    .run();
}

interface RunRow {
  seq: number;
  run_id: string;
  account_id: string;
  connector_id: string;
  sync_id: string;
  trigger: string;
  cron: string | null;
  status: string;
  started_at: string;
  finished_at: string | null;
  stats: string | null;
  rows_written: number | null;
  failed_steps: string;
  error: string | null;
}

function toRecord(row: RunRow): RunRecord {
  return {
    runId: row.run_id,
    seq: row.seq,
    accountId: row.account_id,
    connectorId: row.connector_id,
    syncId: row.sync_id,
    trigger: row.trigger as RunTrigger,
    cron: row.cron,
    status: row.status as RunStatus,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    stats: row.stats ? (JSON.parse(row.stats) as SyncStats) : null,
    rowsWritten: row.rows_written,
    failedSteps: JSON.parse(row.failed_steps) as FailedStep[],
    error: row.error ? (JSON.parse(row.error) as RunError) : null,
  };
}

export async function getRun(db: D1DatabaseLike, runId: string): Promise<RunRecord | undefined> {
  const row = await db.prepare(`SELECT * FROM connector_runs WHERE run_id = ?1`).bind(runId).first<RunRow>();
  return row ? toRecord(row) : undefined;
}

export interface RunQuery {
  readonly accountId?: string;
  readonly connectorId?: string;
  readonly status?: RunStatus;
  /** Runs older than this `seq` (the previous page's last). */
  readonly beforeSeq?: number;
  readonly limit: number;
}

/** Newest first. */
export async function listRuns(db: D1DatabaseLike, query: RunQuery): Promise<RunRecord[]> {
  const { results } = await db
    .prepare(
      `SELECT * FROM connector_runs
       WHERE (?1 IS NULL OR account_id = ?1) AND (?2 IS NULL OR connector_id = ?2) AND (?3 IS NULL OR status = ?3)
         AND (?4 IS NULL OR seq < ?4)
       ORDER BY seq DESC LIMIT ?5`,
    )
    .bind(query.accountId ?? null, query.connectorId ?? null, query.status ?? null, query.beforeSeq ?? null, query.limit)
    .all<RunRow>();
  return results.map(toRecord);
}

/**
 * The latest cron or api run of each (account, connector), for a schedule's
 * `last_run` in `GET /v1/connectors`: ingests are not the schedule's runs.
 */
export async function latestScheduledRuns(db: D1DatabaseLike): Promise<RunRecord[]> {
  const { results } = await db
    .prepare(
      `SELECT r.* FROM connector_runs r
       JOIN (SELECT MAX(seq) AS seq FROM connector_runs WHERE trigger <> 'ingest' GROUP BY account_id, connector_id) latest
         ON latest.seq = r.seq`,
    )
    .all<RunRow>();
  return results.map(toRecord);
}

/**
 * Extends the lease `runId` holds (a Workflow run renews it before each page).
 * False when the run no longer holds it (it expired and another run took over).
 */
export async function renewLease(db: D1DatabaseLike, accountId: string, connectorId: string, runId: string, nowMs: number, leaseSeconds: number): Promise<boolean> {
  const result = await db
    .prepare(`UPDATE sync_leases SET expires_at = ?4 WHERE account_id = ?1 AND connector_id = ?2 AND run_id = ?3`)
    .bind(accountId, connectorId, runId, nowMs + leaseSeconds * 1000)
    .run();
  return (result.meta.changes ?? 0) === 1;
}

/**
 * Ends the lease of a run whose Workflow instance is over (terminated or
 * errored before it released the lease): the run is recorded `abandoned`
 * with `error`, and the lease is expired so the next claim takes it.
 */
export async function expireDeadLease(db: D1DatabaseLike, accountId: string, connectorId: string, runId: string, finishedAt: string, error: RunError): Promise<void> {
  await db.batch([
    db
      .prepare(`UPDATE connector_runs SET status = 'abandoned', finished_at = ?2, error = ?3 WHERE run_id = ?1 AND status = 'running'`)
      .bind(runId, finishedAt, JSON.stringify(error)),
    db.prepare(`UPDATE sync_leases SET expires_at = 0 WHERE account_id = ?1 AND connector_id = ?2 AND run_id = ?3`).bind(accountId, connectorId, runId),
  ]);
}

/** Records where a Workflow run stages (null once committed or dropped). */
export async function setStagingToken(db: D1DatabaseLike, runId: string, token: string | null): Promise<void> {
  await db.prepare(`UPDATE connector_runs SET staging_token = ?2 WHERE run_id = ?1`).bind(runId, token).run();
}

/** Staging areas other runs of (account, connector) left open: the holder of the lease drops them (+P4). */
export async function leftoverStaging(db: D1DatabaseLike, accountId: string, connectorId: string, runId: string): Promise<{ runId: string; token: string }[]> {
  const { results } = await db
    .prepare(`SELECT run_id, staging_token FROM connector_runs WHERE account_id = ?1 AND connector_id = ?2 AND run_id <> ?3 AND staging_token IS NOT NULL`)
    .bind(accountId, connectorId, runId)
    .all<{ run_id: string; staging_token: string }>();
  return results.map((r) => ({ runId: r.run_id, token: r.staging_token }));
}

/** The staging token of a run, if it has one open. */
export async function stagingTokenOf(db: D1DatabaseLike, runId: string): Promise<string | undefined> {
  const row = await db.prepare(`SELECT staging_token FROM connector_runs WHERE run_id = ?1`).bind(runId).first<{ staging_token: string | null }>();
  return row?.staging_token ?? undefined;
}

/** What one page of a Workflow run's step did (or that it is running, or that the step failed: page -1). */
export interface PageProgress {
  readonly stepId: string;
  readonly page: number;
  readonly status: 'running' | 'done' | 'failed';
  readonly last?: boolean;
  readonly entities?: number;
  readonly relationships?: number;
  readonly rowsStaged?: number;
  readonly error?: string;
}

export async function recordPage(db: D1DatabaseLike, runId: string, progress: PageProgress, at: string): Promise<void> {
  await db
    .prepare(
      `INSERT INTO connector_run_pages (run_id, step_id, page, status, last, entities, relationships, rows_staged, error, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
       ON CONFLICT (run_id, step_id, page) DO UPDATE SET status = excluded.status, last = excluded.last, entities = excluded.entities,
         relationships = excluded.relationships, rows_staged = excluded.rows_staged, error = excluded.error, updated_at = excluded.updated_at`,
    )
    .bind(
      runId,
      progress.stepId,
      progress.page,
      progress.status,
      progress.last ? 1 : 0,
      progress.entities ?? 0,
      progress.relationships ?? 0,
      progress.rowsStaged ?? 0,
      progress.error ?? null,
      at,
    )
    .run();
}

/** A step of a Workflow run as far as it got: `running` until its last page is done, or `failed`. */
export interface StepProgress {
  readonly stepId: string;
  readonly status: 'running' | 'completed' | 'failed';
  readonly pagesDone: number;
  readonly entities: number;
  readonly relationships: number;
  readonly rowsStaged: number;
  readonly error: string | null;
}

export async function runProgress(db: D1DatabaseLike, runId: string): Promise<StepProgress[]> {
  const { results } = await db
    .prepare(
      `SELECT step_id,
         MAX(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,
         MAX(CASE WHEN status = 'done' AND last = 1 THEN 1 ELSE 0 END) AS completed,
         SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END) AS pages_done,
         SUM(CASE WHEN status = 'done' THEN entities ELSE 0 END) AS entities,
         SUM(CASE WHEN status = 'done' THEN relationships ELSE 0 END) AS relationships,
         SUM(CASE WHEN status = 'done' THEN rows_staged ELSE 0 END) AS rows_staged,
         MAX(error) AS error, MIN(updated_at) AS first_at
       FROM connector_run_pages WHERE run_id = ?1 GROUP BY step_id ORDER BY first_at, step_id`,
    )
    .bind(runId)
    .all<{ step_id: string; failed: number; completed: number; pages_done: number; entities: number; relationships: number; rows_staged: number; error: string | null }>();
  return results.map((r) => ({
    stepId: r.step_id,
    status: r.failed ? 'failed' : r.completed ? 'completed' : 'running',
    pagesDone: r.pages_done,
    entities: r.entities,
    relationships: r.relationships,
    rowsStaged: r.rows_staged,
    error: r.error,
  }));
}
