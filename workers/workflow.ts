/**
 * A connector run as a Cloudflare Workflow: one instance is one (account,
 * connector) sync, and each unit of it is a `step.do` with its own CPU
 * budget and retries, so a sync is no longer bounded by one invocation.
 *
 * - `begin`: claims the (account, connector) lease (an instance whose
 *   predecessor was terminated takes the dead lease over), drops the staging
 *   areas such runs left (+P4), opens the sync's staging area in D1;
 * - one `step.do` per page of each connector step, in DAG order, independent
 *   steps at once: the page stages what it emits into D1 through the
 *   streaming path (`runDurablePage`) and reads prior data back from D1
 *   staging; it returns counts and the next cursor only, never rows;
 * - a step whose page exhausts its retries is a failed step (INV-C06): its
 *   staged rows are dropped and the commit keeps its stored rows (+P1);
 * - `commit`: commits in the store's atomic unit (INV-C01, INV-C04, +P2,
 *   INV-03), records the run and releases the lease.
 *
 * Terminating the instance anywhere before `commit` leaves the graph as it
 * was (nothing outside staging is written before it); the next run drops
 * the staging area.
 */
import {
  CommitError,
  ConnectorError,
  DEFAULT_STEP_RETRIES,
  abortDurableSync,
  commitDurableSync,
  failDurableStep,
  openDurableSync,
  runDurablePage,
  scheduleSteps,
  validateConnector,
  type Connector,
  type DurablePage,
  type DurableSync,
  type StepRetries,
} from '../src/index.js';
import { requireWorkerSchema } from './schema.js';
import { createD1Store, isTransientD1Error, type D1StoreOptions } from '../adapters/d1.js';
import type { WorkerEnv } from './bindings.js';
import { errorOf } from './job.js';
import { instantiate, type Registry, type Schedule } from './registry.js';
import {
  claimRun,
  expireDeadLease,
  finishRun,
  getRun,
  leaseHolder,
  leftoverStaging,
  recordPage,
  recordSkipped,
  renewLease,
  setStagingToken,
  stagingTokenOf,
  type FailedStep,
  type NewRun,
  type RunOutcome,
  type RunRecord,
} from './runs.js';

/** What an instance is created with: which schedule, and what started it. */
export interface SyncParams {
  readonly connector: string;
  readonly account: string;
  /** The cron that fired (picks the schedule), or null for a run started through the API. */
  readonly cron: string | null;
  readonly trigger: 'cron' | 'api';
}

/** The structural part of Cloudflare's `WorkflowStep` the sync uses. */
export interface WorkflowStepLike {
  do<T>(name: string, config: WorkflowStepConfigLike, callback: (ctx: WorkflowStepContextLike) => Promise<T>): Promise<T>;
  sleep(name: string, duration: number): Promise<void>;
}

/** What the engine tells a step's callback: its attempt, from 1. */
export interface WorkflowStepContextLike {
  readonly attempt: number;
}

export interface WorkflowStepConfigLike {
  retries?: { limit: number; delay: number; backoff?: 'constant' | 'linear' | 'exponential' };
  timeout?: number;
}

export interface WorkflowEventLike<T> {
  readonly payload: Readonly<T>;
  readonly instanceId: string;
}

/** The structural part of a Workflow binding (Cloudflare's `Workflow`). */
export interface WorkflowBindingLike<P = SyncParams> {
  create(options?: { id?: string; params?: P }): Promise<WorkflowInstanceLike>;
  get(id: string): Promise<WorkflowInstanceLike>;
}

export interface WorkflowInstanceLike {
  readonly id: string;
  status(): Promise<{ status: string; error?: unknown; output?: unknown }>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  terminate(): Promise<void>;
}

export interface SyncWorkflowOptions {
  readonly registry: Registry;
  /** The env binding of the Workflow itself (to tell a dead lease holder from a live one); default `SYNC_WORKFLOW`. */
  readonly binding?: string;
  readonly storeOptions?: D1StoreOptions;
  /** Epoch ms; tests move the clock. */
  readonly now?: () => number;
  /** Prepared rows per staged chunk (default 2000). */
  readonly chunkRows?: number;
}

/** A step's output is persisted by the engine (1 MiB at most, about 2.1 MiB locally): ours stay far below. */
export const MAX_STEP_OUTPUT_BYTES = 64 * 1024;

/** Retries of the Workflow's own D1 steps (begin, commit, a step's failure): D1 hiccups. */
const DB_STEP: WorkflowStepConfigLike = { retries: { limit: 5, delay: 1000, backoff: 'exponential' }, timeout: 5 * 60_000 };

/** Errors that fail the same way however often a page is run again: the step fails at once. */
const FINAL_KINDS = new Set(['Validation', 'AuthFailed', 'Configuration', 'UnknownStep']);

/** The instance status values after which an instance never runs again. */
const OVER = new Set(['terminated', 'errored', 'complete']);

const LEASE_LOST = 'LeaseLost';

function small<T>(value: T, what: string): T {
  const bytes = new TextEncoder().encode(JSON.stringify(value)).length;
  if (bytes > MAX_STEP_OUTPUT_BYTES) throw new RangeError(`${what}: a step output of ${bytes} bytes is over ${MAX_STEP_OUTPUT_BYTES}; rows never travel as step outputs`);
  return value;
}

/** The Workflow step name of a page: the step id for a step that is not paged. */
export function pageStepName(stepId: string, paged: boolean, page: number, wait = 0): string {
  const base = paged ? `${stepId} page ${page}` : stepId;
  return wait === 0 ? base : `${base} after wait ${wait}`;
}

function stepConfig(retries: StepRetries): WorkflowStepConfigLike {
  return { retries: { limit: retries.limit, delay: retries.delayMs, backoff: retries.backoff }, timeout: retries.timeoutMs };
}

/** The schedule an instance runs: the cron's, or for the API the only schedule of (connector, account). */
export function scheduleOf(registry: Registry, params: SyncParams): Schedule {
  const schedule = registry.schedules.find((s) => s.connector === params.connector && s.account === params.account && (params.cron === null || s.cron === params.cron));
  if (!schedule) throw new ConnectorError('Configuration', `no schedule of "${params.connector}" for account "${params.account}"${params.cron ? ` on "${params.cron}"` : ''}`);
  return schedule;
}

type Begun = { readonly started: true; readonly sync: DurableSync } | { readonly started: false; readonly run: RunRecord };

type PageResult =
  | (Omit<DurablePage, 'peakRowsHeld'> & { readonly peakRowsHeld: number; readonly kind?: undefined })
  | { readonly kind: 'wait'; readonly waitMs: number; readonly message: string }
  | { readonly kind: 'failed'; readonly error: FailedStep }
  | { readonly kind: 'leaseLost' };

type StepOutcome = { readonly ok: true; readonly entities: number; readonly relationships: number } | { readonly ok: false; readonly error: FailedStep };

/** What the instance returns: its run record (small), and the most rows any page held in JS at once. */
export interface SyncWorkflowOutput {
  readonly run: RunRecord;
  readonly peakRowsHeld: number;
}

/**
 * The body of the Workflow, for a class of your own:
 * `run(event, step) { return runSyncWorkflow(options, this.env, event, step); }`.
 * {@link createSyncWorkflow} builds that class.
 */
export async function runSyncWorkflow(
  options: SyncWorkflowOptions,
  env: WorkerEnv,
  event: WorkflowEventLike<SyncParams>,
  step: WorkflowStepLike,
): Promise<SyncWorkflowOutput> {
  const { registry } = options;
  const now = options.now ?? Date.now;
  const iso = (): string => new Date(now()).toISOString();
  const db = env.DB;
  const store = createD1Store(db, options.storeOptions);
  const runId = event.instanceId;
  const params = event.payload;
  const schedule = scheduleOf(registry, params);
  const secrets = env as unknown as Record<string, unknown>;
  const connector = (): Connector => instantiate(registry, schedule, secrets);
  const run = (startedAt: string): NewRun => ({
    runId,
    accountId: schedule.account,
    connectorId: schedule.connector,
    syncId: runId,
    trigger: params.trigger,
    cron: params.cron,
    startedAt,
  });
  const binding = (env as unknown as Record<string, WorkflowBindingLike | undefined>)[options.binding ?? 'SYNC_WORKFLOW'];

  /** True when `holder` is an instance of this Workflow that will never run again. */
  async function instanceOver(holder: string): Promise<string | undefined> {
    if (!binding) return undefined;
    try {
      const { status } = await (await binding.get(holder)).status();
      return OVER.has(status) ? status : undefined;
    } catch {
      return undefined; // not an instance (an in-invocation run, an ingest): its lease expires as usual
    }
  }

  const begun = await step.do<Begun>('begin', DB_STEP, async () => {
    await requireWorkerSchema(db);
    const existing = await getRun(db, runId);
    const startedAt = existing?.startedAt ?? iso();
    if (existing && existing.status !== 'running') return { started: false, run: existing };
    if (!existing) {
      const nowMs = now();
      let claimed = await claimRun(db, run(startedAt), nowMs, schedule.leaseSeconds);
      if (!claimed) {
        const holder = await leaseHolder(db, schedule.account, schedule.connector);
        const over = holder === undefined ? undefined : await instanceOver(holder);
        if (holder !== undefined && over !== undefined) {
          await expireDeadLease(db, schedule.account, schedule.connector, holder, iso(), {
            code: 'InstanceEnded',
            message: `its Workflow instance is ${over}: the run stopped before its commit, nothing of it was committed`,
          });
          claimed = await claimRun(db, run(startedAt), nowMs, schedule.leaseSeconds);
        }
        if (!claimed) {
          await recordSkipped(db, run(startedAt), iso(), holder);
          return { started: false, run: (await getRun(db, runId))! };
        }
      }
    }
    // +P4: we hold the lease, so any other staging area of this (account, connector) is a dead run's.
    for (const left of await leftoverStaging(db, schedule.account, schedule.connector, runId)) {
      await abortDurableSync(store, { token: left.token } as DurableSync);
      await setStagingToken(db, left.runId, null);
    }
    let built: Connector;
    try {
      built = connector();
      validateConnector(built);
    } catch (error) {
      await finishRun(db, run(startedAt), { status: 'failed', finishedAt: iso(), error: errorOf(error) });
      return { started: false, run: (await getRun(db, runId))! };
    }
    const token = await stagingTokenOf(db, runId);
    const sync: DurableSync = token
      ? { token, accountId: schedule.account, connectorId: schedule.connector, syncId: runId, startedAt }
      : await openDurableSync(store, built, { accountId: schedule.account, syncId: runId, now: () => new Date(startedAt) });
    if (!token) await setStagingToken(db, runId, sync.token);
    return small({ started: true, sync }, 'begin');
  });
  if (!begun.started) return { run: begun.run, peakRowsHeld: 0 };
  const { sync } = begun;
  const graph = validateConnector(connector());
  let peakRowsHeld = 0;

  async function failStep(stepId: string, error: FailedStep): Promise<StepOutcome> {
    await step.do(`${stepId} failed`, DB_STEP, async () => {
      await failDurableStep(store, sync, stepId);
      await recordPage(db, runId, { stepId, page: -1, status: 'failed', error: `${error.kind}: ${error.message}` }, iso());
      return null;
    });
    return { ok: false, error };
  }

  /** The pages of one step, each a `step.do`; a cursor comes from the page before (a persisted output). */
  async function runStep(stepId: string, completedSteps: readonly string[]): Promise<StepOutcome> {
    const definition = graph.steps.get(stepId)!;
    const retries = definition.retries ?? DEFAULT_STEP_RETRIES;
    const paged = definition.paged === true;
    let cursor: string | undefined;
    let entities = 0;
    let relationships = 0;
    for (let page = 0; ; page++) {
      let result: PageResult;
      for (let wait = 0; ; wait++) {
        try {
          result = await step.do<PageResult>(pageStepName(stepId, paged, page, wait), stepConfig(retries), (ctx) =>
            runOnePage(stepId, page, cursor, completedSteps, { first: ctx.attempt === 1 && wait === 0, last: ctx.attempt > retries.limit }),
          );
        } catch (thrown) {
          // The engine stopping this run (pause, terminate) is no failure of the step: a resumed
          // run replays; a step failed here would drop rows the replay counts as staged.
          if (isEngineAbort(thrown)) throw thrown;
          // No result at all (a timed-out last attempt): a failed step (INV-C06).
          return failStep(stepId, failedStepOf(stepId, thrown));
        }
        if (result.kind === 'leaseLost') throw new Error(`${LEASE_LOST}: the lease of "${schedule.connector}" for "${schedule.account}" was taken over; this run stops without committing`);
        if (result.kind === 'failed') return failStep(stepId, result.error);
        if (result.kind !== 'wait') break;
        if (wait >= retries.limit) return failStep(stepId, { stepId, kind: 'Api', message: result.message });
        // Retry-After: the API said how long to wait, longer than the step's own back-off may be.
        await step.sleep(`${pageStepName(stepId, paged, page, wait)} wait`, result.waitMs);
      }
      entities += result.entities;
      relationships += result.relationships;
      peakRowsHeld = Math.max(peakRowsHeld, result.peakRowsHeld);
      if (result.next === undefined) return { ok: true, entities, relationships };
      cursor = result.next;
    }
  }

  /** One page; on its last attempt a failure is returned as the step's failure (INV-C06), not thrown. */
  async function runOnePage(
    stepId: string,
    page: number,
    cursor: string | undefined,
    completedSteps: readonly string[],
    attempt: { readonly first: boolean; readonly last: boolean },
  ): Promise<PageResult> {
    if (!(await renewLease(db, schedule.account, schedule.connector, runId, now(), schedule.leaseSeconds))) return { kind: 'leaseLost' };
    await recordPage(db, runId, { stepId, page, status: 'running' }, iso());
    let done: DurablePage;
    try {
      done = await runDurablePage(store, sync, connector(), {
        stepId,
        page,
        completedSteps,
        firstAttempt: attempt.first,
        ...(cursor === undefined ? {} : { cursor }),
        ...(options.chunkRows === undefined ? {} : { chunkRows: options.chunkRows }),
      });
    } catch (error) {
      if (error instanceof ConnectorError && FINAL_KINDS.has(error.kind)) return { kind: 'failed', error: { stepId, kind: error.kind, message: error.message } };
      if (error instanceof ConnectorError && error.retryAfterMs !== undefined && error.retryAfterMs > 0) {
        return { kind: 'wait', waitMs: error.retryAfterMs, message: error.message };
      }
      if (attempt.last) return { kind: 'failed', error: failedStepOf(stepId, error) };
      throw error instanceof ConnectorError ? Object.assign(new Error(error.message), { name: `ConnectorError ${error.kind}` }) : error;
    }
    await recordPage(
      db,
      runId,
      { stepId, page, status: 'done', last: done.next === undefined, entities: done.entities, relationships: done.relationships, rowsStaged: done.rowsStaged },
      iso(),
    );
    return small(done, `step "${stepId}" page ${page}`);
  }

  const outcomes = await scheduleSteps<StepOutcome>(graph, Number.POSITIVE_INFINITY, new AbortController().signal, (stepId, done) =>
    runStep(
      stepId,
      graph.order.filter((id) => done.get(id)?.ok === true),
    ),
  );

  const record = await step.do<RunRecord>('commit', DB_STEP, async () => {
    const existing = await getRun(db, runId);
    if (existing && existing.status !== 'running') return existing;
    const failed = graph.order.filter((id) => !outcomes.get(id)!.ok);
    const failedSteps = failed.map((id) => (outcomes.get(id) as { error: FailedStep }).error);
    const finishedAt = iso();
    let outcome: RunOutcome;
    if (failed.length === graph.order.length) {
      // Nothing was collected: no commit, and every stored row stays as it was.
      await abortDurableSync(store, sync);
      outcome = { status: 'failed', finishedAt, failedSteps, error: { code: 'AllStepsFailed', message: 'every step failed; nothing was committed' } };
    } else {
      let entities = 0;
      let relationships = 0;
      for (const o of outcomes.values()) if (o.ok) (entities += o.entities), (relationships += o.relationships);
      const committed = (await store.syncHistory({ accountId: sync.accountId, connectorId: sync.connectorId, limit: 5 })).find((r) => r.syncId === sync.syncId);
      try {
        // An attempt that committed and then failed to record: the store's history has the commit.
        const result = committed
          ? { stats: committed.stats, rowsWritten: null }
          : await commitDurableSync(store, sync, connector(), { failedSteps: failed, entities, relationships, finishedAt });
        outcome = {
          status: failed.length > 0 ? 'partial' : 'succeeded',
          finishedAt,
          stats: result.stats,
          ...(result.rowsWritten === null ? {} : { rowsWritten: result.rowsWritten }),
          failedSteps,
        };
      } catch (error) {
        if (error instanceof CommitError && isTransientD1Error(error)) throw error;
        await abortDurableSync(store, sync);
        outcome = { status: 'failed', finishedAt, failedSteps, error: errorOf(error) };
      }
    }
    await finishRun(db, run(sync.startedAt), outcome);
    await setStagingToken(db, runId, null);
    return small((await getRun(db, runId))!, 'commit');
  });
  return { run: record, peakRowsHeld };
}

/** The engine aborting the run (pause, terminate, restart): `step.do` rejects with it in the old run. */
function isEngineAbort(error: unknown): boolean {
  return error instanceof Error && /^Aborting engine:/.test(error.message);
}

/** A page's error as the engine hands it back after the last retry: the kind is in its name, or folded into its message. */
function failedStepOf(stepId: string, error: unknown): FailedStep {
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof ConnectorError) return { stepId, kind: error.kind, message };
  const named = /^ConnectorError (\w+)$/.exec(name);
  if (named) return { stepId, kind: named[1]!, message };
  const folded = /^ConnectorError (\w+): ([\s\S]*)$/.exec(message);
  if (folded) return { stepId, kind: folded[1]!, message: folded[2]! };
  return { stepId, kind: 'Custom', message };
}

/** A constructor of Cloudflare's `WorkflowEntrypoint` (from `cloudflare:workers`), typed loosely. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type WorkflowEntrypointClass = abstract new (ctx: any, env: any) => object;

/**
 * The `SyncWorkflow` class for a registry. Pass `WorkflowEntrypoint` from
 * `cloudflare:workers` (this package imports no platform module), export the
 * class from your Worker's main module and bind it in wrangler.toml:
 *
 * @example
 * import { WorkflowEntrypoint } from 'cloudflare:workers';
 * import { createSyncWorkflow, createWorker } from 'parallax-edge/worker';
 * export class SyncWorkflow extends createSyncWorkflow(WorkflowEntrypoint, { registry }) {}
 * const worker = createWorker<Env>({ registry, workflow: 'SYNC_WORKFLOW' });
 * export default { fetch: worker.fetch, scheduled: worker.scheduled };
 * // wrangler.toml:
 * // [[workflows]]
 * // name = "parallax-sync"
 * // binding = "SYNC_WORKFLOW"
 * // class_name = "SyncWorkflow"
 */
export function createSyncWorkflow(Base: WorkflowEntrypointClass, options: SyncWorkflowOptions) {
  const Entrypoint = Base as unknown as new (ctx: unknown, env: WorkerEnv) => object;
  return class SyncWorkflow extends Entrypoint {
    readonly #env: WorkerEnv;
    constructor(ctx: unknown, env: WorkerEnv) {
      super(ctx, env);
      this.#env = env;
    }
    run(event: WorkflowEventLike<SyncParams>, step: WorkflowStepLike): Promise<SyncWorkflowOutput> {
      return runSyncWorkflow(options, this.#env, event, step);
    }
  };
}

async function shortHash(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

const slug = (name: string): string => name.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+/, '').slice(0, 32) || 'c';

/**
 * The instance id of a cron run: the schedule and the minute it fired for,
 * so a cron delivered twice names the same instance (and creates one).
 * Workflow ids allow `[A-Za-z0-9_-]`, 100 characters: the schedule is hashed.
 */
export async function cronInstanceId(schedule: Schedule, scheduledTime: number): Promise<string> {
  const minute = new Date(Math.floor(scheduledTime / 60_000) * 60_000).toISOString().replace(/[-:]/g, '').slice(0, 13);
  return `cron-${slug(schedule.connector)}-${await shortHash(`${schedule.cron}\0${schedule.connector}\0${schedule.account}`)}-${minute}`;
}

/** Whether `create` failed because an instance of that id exists. */
function alreadyExists(error: unknown): boolean {
  return error instanceof Error && /already exist|duplicate|instance.*exists/i.test(error.message);
}

/**
 * Creates the instance of one run and returns its id at once. A cron run's
 * id comes from {@link cronInstanceId}: a second delivery finds the
 * instance there and creates nothing (`created: false`).
 */
export async function startSyncInstance(
  binding: WorkflowBindingLike,
  schedule: Schedule,
  start: { readonly trigger: 'cron'; readonly scheduledTime: number } | { readonly trigger: 'api' },
): Promise<{ readonly id: string; readonly created: boolean }> {
  const id = start.trigger === 'cron' ? await cronInstanceId(schedule, start.scheduledTime) : `api-${slug(schedule.connector)}-${crypto.randomUUID()}`;
  const params: SyncParams = { connector: schedule.connector, account: schedule.account, cron: start.trigger === 'cron' ? schedule.cron : null, trigger: start.trigger };
  // Locally `create` with a known id does not throw (production does): look first.
  if (await binding.get(id).then(() => true, () => false)) return { id, created: false };
  try {
    await binding.create({ id, params });
    return { id, created: true };
  } catch (error) {
    if (!alreadyExists(error)) throw error;
    return { id, created: false };
  }
}
