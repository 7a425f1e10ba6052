/**
 * One connector run in the Worker: claim the (account, connector) lease, run
 * the connector, commit into D1, record the run, release the lease.
 *
 * Crash safety: the commit is one D1 batch (or staging plus one promote
 * batch), so a Worker that dies anywhere before it leaves the graph as it was
 * (+P4); its lease then simply expires and the next run takes over, marking
 * the dead run `abandoned`.
 */
import { CommitError, ConnectorError, commitSync, discardSync, runConnector, type StreamedSyncOutput } from '../src/index.js';
import { createD1Store, type D1DatabaseLike, type D1StoreOptions } from '../adapters/d1.js';
import { instantiate, type Registry, type Schedule } from './registry.js';
import {
  claimRun,
  finishRun,
  getRun,
  leaseHolder,
  recordSkipped,
  type FailedStep,
  type NewRun,
  type RunError,
  type RunOutcome,
  type RunRecord,
  type RunTrigger,
} from './runs.js';

export interface JobContext {
  readonly db: D1DatabaseLike;
  /** The Worker's env: connectors' secrets are read from it, by the names their definitions declare. */
  readonly env: Readonly<Record<string, unknown>>;
  readonly registry: Registry;
  /** Epoch ms; tests move the clock to expire leases. */
  readonly now?: () => number;
  readonly storeOptions?: D1StoreOptions;
  /** Stops the run when aborted (for instance by the runtime's wall-clock limit). */
  readonly signal?: AbortSignal;
}

/** A run is aborted this long before its lease expires, so that a successor can never overlap it. */
const LEASE_MARGIN_MS = 60_000;

/** A run's error as recorded: code, message, and the field or relationship it names. */
export function errorOf(error: unknown): RunError {
  if (error instanceof CommitError) {
    return {
      code: error.code,
      message: error.message,
      ...(error.relationship ? { relationship: error.relationship } : {}),
      ...(error.field ? { field: error.field } : {}),
    };
  }
  if (error instanceof ConnectorError) return { code: error.kind, message: error.message, ...(error.field ? { field: error.field } : {}) };
  if (error instanceof Error) return { code: error.name === 'Error' ? 'RunFailed' : error.name, message: error.message };
  return { code: 'RunFailed', message: String(error) };
}

function failedStepsOf(output: StreamedSyncOutput): FailedStep[] {
  return output.steps
    .filter((s) => s.status === 'failed')
    .map((s) => ({ stepId: s.stepId, kind: s.error?.kind ?? 'Custom', message: s.error?.message ?? 'failed' }));
}

/**
 * Runs one scheduled connector now and returns its run record: `succeeded`,
 * `partial` (some steps failed, their rows kept: +P1), `failed` (nothing
 * committed) or `skipped` (another run of the same account and connector
 * holds the lease). Never throws for a connector's or a commit's failure;
 * those are in the record.
 */
export async function runSchedule(
  ctx: JobContext,
  schedule: Schedule,
  trigger: Exclude<RunTrigger, 'ingest'>,
  cron: string | null,
): Promise<RunRecord> {
  const now = ctx.now ?? Date.now;
  const runId = crypto.randomUUID();
  const startedMs = now();
  const run: NewRun = {
    runId,
    accountId: schedule.account,
    connectorId: schedule.connector,
    syncId: runId,
    trigger,
    cron,
    startedAt: new Date(startedMs).toISOString(),
  };

  if (!(await claimRun(ctx.db, run, startedMs, schedule.leaseSeconds))) {
    const holder = await leaseHolder(ctx.db, run.accountId, run.connectorId);
    await recordSkipped(ctx.db, run, new Date(now()).toISOString(), holder);
    return (await getRun(ctx.db, runId))!;
  }

  const outcome = await execute(ctx, schedule, run, now);
  await finishRun(ctx.db, run, outcome);
  return (await getRun(ctx.db, runId))!;
}

async function execute(ctx: JobContext, schedule: Schedule, run: NewRun, now: () => number): Promise<RunOutcome> {
  const finished = () => new Date(now()).toISOString();
  const budgetMs = Math.max(1000, schedule.leaseSeconds * 1000 - LEASE_MARGIN_MS);
  const timeout = AbortSignal.timeout(budgetMs);
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, timeout]) : timeout;
  const store = createD1Store(ctx.db, ctx.storeOptions);
  let output: StreamedSyncOutput;
  try {
    const connector = instantiate(ctx.registry, schedule, ctx.env);
    // Streamed: rows are staged in D1 as the steps emit them, so the isolate holds a chunk, not the estate.
    output = await runConnector(connector, { accountId: run.accountId, syncId: run.syncId, signal, store });
  } catch (error) {
    if (timeout.aborted) {
      return { status: 'failed', finishedAt: finished(), error: { code: 'Timeout', message: `the run took longer than ${budgetMs} ms and was stopped before its lease expired` } };
    }
    return { status: 'failed', finishedAt: finished(), error: errorOf(error) };
  }

  const failedSteps = failedStepsOf(output);
  if (output.steps.length > 0 && failedSteps.length === output.steps.length) {
    // Nothing was collected: no commit, and every stored row stays as it was.
    await discardSync(output);
    return { status: 'failed', finishedAt: finished(), failedSteps, error: { code: 'AllStepsFailed', message: 'every step failed; nothing was committed' } };
  }
  try {
    const result = await commitSync(store, output);
    return {
      status: failedSteps.length > 0 ? 'partial' : 'succeeded',
      finishedAt: finished(),
      stats: result.stats,
      rowsWritten: result.rowsWritten,
      failedSteps,
    };
  } catch (error) {
    return { status: 'failed', finishedAt: finished(), failedSteps, error: errorOf(error) };
  }
}

/**
 * The cron handler's work: every schedule due for `cron`, one after the
 * other (a Worker has 128 MB; connectors of one cron do not compete for it).
 */
export async function runDue(ctx: JobContext, cron: string): Promise<RunRecord[]> {
  const records: RunRecord[] = [];
  const errors: unknown[] = [];
  for (const schedule of ctx.registry.due(cron)) {
    try {
      records.push(await runSchedule(ctx, schedule, 'cron', cron));
    } catch (error) {
      // D1 itself failed (the run could not even be recorded): go on with the others, fail the invocation at the end.
      errors.push(error);
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, `${errors.length} run(s) of cron "${cron}" could not be recorded`);
  return records;
}
