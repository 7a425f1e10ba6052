/**
 * Builds the Worker's handlers from a registry: the Hono app for `fetch` and
 * the cron `scheduled` handler. `workers/index.ts` does it with this
 * deployment's registry; tests do it with their own; users do it with theirs
 * (`parallax-edge/worker`).
 */
import type { Hono } from 'hono';
import type { D1StoreOptions } from '../adapters/d1.js';
import { createApp } from './app.js';
import type { ScheduledControllerLike, WorkerAppEnv, WorkerEnv } from './bindings.js';
import { runDue } from './job.js';
import { requireWorkerSchema } from './schema.js';
import type { Registry } from './registry.js';
import { startSyncInstance, type WorkflowBindingLike } from './workflow.js';

export interface WorkerOptions {
  readonly registry: Registry;
  /** Epoch ms; tests move the clock to expire leases. */
  readonly now?: () => number;
  readonly storeOptions?: D1StoreOptions;
  /** Where run summaries and warnings go (one JSON line per run); default `console`. */
  readonly logger?: { log(line: string): void; warn(line: string): void };
  /**
   * The env binding of a `SyncWorkflow` (see `createSyncWorkflow`): runs then
   * go as Workflow instances, past one invocation's limits; the cron handler
   * and `POST /v1/connectors/:name/sync` create instances and return at once.
   * Unset: every run happens inside the invocation that starts it.
   */
  readonly workflow?: string;
}

/** A Worker's handlers; `fetch` and `scheduled` go into the module's default export. */
export interface Worker<Env extends WorkerEnv = WorkerEnv> {
  /** The REST API; add routes of your own to it. */
  readonly app: Hono<WorkerAppEnv<Env>>;
  readonly fetch: Hono<WorkerAppEnv<Env>>['fetch'];
  /**
   * Runs every connector due for this cron, one after the other, and records each run.
   * Throws a `WorkerSchemaError`, running nothing, on a D1 database not migrated for this code.
   */
  scheduled(controller: ScheduledControllerLike, env: Env, ctx?: unknown): Promise<void>;
}

/**
 * The Worker for a registry: its connectors run on their crons and commit
 * into `env.DB`, and the /v1 REST API serves the graph.
 *
 * @example
 * import { createWorker, defineRegistry, type WorkerEnv } from 'parallax-edge/worker';
 * interface Env extends WorkerEnv { DB: D1Database }
 * const worker = createWorker<Env>({ registry: defineRegistry({ connectors: [myService], schedules: [...] }) });
 * export default { fetch: worker.fetch, scheduled: worker.scheduled } satisfies ExportedHandler<Env>;
 */
export function createWorker<Env extends WorkerEnv = WorkerEnv>(options: WorkerOptions): Worker<Env> {
  const app = createApp<Env>(options);
  const logger = options.logger ?? console;
  async function scheduled(controller: ScheduledControllerLike, env: Env): Promise<void> {
    const due = options.registry.due(controller.cron);
    if (due.length === 0) {
      logger.warn(`cron "${controller.cron}" fired but no connector is scheduled on it in the registry`);
      return;
    }
    // Before any instance is created or run started: they could not be recorded.
    await requireWorkerSchema(env.DB);
    if (options.workflow !== undefined) {
      const binding = (env as unknown as Record<string, WorkflowBindingLike | undefined>)[options.workflow];
      if (!binding) throw new TypeError(`the Workflow binding "${options.workflow}" is not in the Worker's env (wrangler.toml [[workflows]])`);
      const scheduledTime = controller.scheduledTime ?? (options.now ?? Date.now)();
      // One instance per due schedule; a cron delivered twice finds its instances there.
      for (const schedule of due) {
        const { id, created } = await startSyncInstance(binding, schedule, { trigger: 'cron', scheduledTime });
        logger.log(JSON.stringify({ instance: id, connector: schedule.connector, account: schedule.account, cron: controller.cron, created }));
      }
      return;
    }
    const records = await runDue(
      {
        db: env.DB,
        env: env as unknown as Record<string, unknown>,
        registry: options.registry,
        ...(options.now ? { now: options.now } : {}),
        ...(options.storeOptions ? { storeOptions: options.storeOptions } : {}),
      },
      controller.cron,
    );
    for (const r of records) {
      logger.log(JSON.stringify({ run: r.runId, connector: r.connectorId, account: r.accountId, cron: r.cron, status: r.status, stats: r.stats, error: r.error }));
    }
  }
  return { app, fetch: app.fetch, scheduled };
}
