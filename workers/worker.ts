/**
 * Builds the Worker's handlers from a registry: the Hono app for `fetch` and
 * the cron `scheduled` handler. `workers/index.ts` does it with this
 * deployment's registry; tests do it with their own.
 */
import type { D1StoreOptions } from '../adapters/d1.js';
import { createApp } from './app.js';
import { runDue } from './job.js';
import type { Registry } from './registry.js';

export interface WorkerOptions {
  readonly registry: Registry;
  /** Epoch ms; tests move the clock to expire leases. */
  readonly now?: () => number;
  readonly storeOptions?: D1StoreOptions;
  /** Where run summaries and warnings go (one JSON line per run); default `console`. */
  readonly logger?: Pick<Console, 'log' | 'warn'>;
}

export function createWorker(options: WorkerOptions) {
  const app = createApp(options);
  const logger = options.logger ?? console;
  /** Runs every connector due for this cron, one after the other, and records each run. */
  async function scheduled(controller: ScheduledController, env: Cloudflare.Env, _ctx: ExecutionContext): Promise<void> {
    const due = options.registry.due(controller.cron);
    if (due.length === 0) {
      logger.warn(`cron "${controller.cron}" fired but no connector is scheduled on it (workers/connectors.ts)`);
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
