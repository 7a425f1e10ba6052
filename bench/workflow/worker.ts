/**
 * The Workflow benchmark's Worker (bundled by bench/workflow/run.ts, run in
 * Miniflare): the package's SyncWorkflow on a registry of one synthetic
 * connector of scale `BENCH_N` (an esbuild define), with D1 timed batch by
 * batch. `POST /start` migrates D1 and creates the instance, `GET /status`
 * answers the instance status, `GET /report` the metered batches.
 */
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from 'cloudflare:workers';
import { z } from 'zod';
import { createSyntheticConnector } from '../../connectors/synthetic/index.js';
import type { D1DatabaseLike, D1PreparedStatementLike } from '../../adapters/d1.js';
import { migrateD1 } from '../../adapters/d1.js';
import { defineConnector, defineRegistry } from '../../workers/registry.js';
import { runSyncWorkflow, type SyncParams, type WorkflowEventLike, type WorkflowStepLike } from '../../workers/workflow.js';

declare const BENCH_N: number;
declare const BENCH_PAGE_SIZE: number;

interface Env {
  DB: D1Database;
  SYNC_WORKFLOW: Workflow<SyncParams>;
}

const CRON = '0 0 * * *';
const registry = defineRegistry({
  connectors: [
    defineConnector({
      name: 'synthetic-aws',
      config: z.strictObject({ n: z.int() }),
      secrets: z.object({}),
      create: (config) => createSyntheticConnector({ n: config.n, ...(BENCH_PAGE_SIZE > 0 ? { pageSize: BENCH_PAGE_SIZE } : {}) }),
    }),
  ],
  schedules: [{ cron: CRON, connector: 'synthetic-aws', account: 'bench', config: { n: BENCH_N }, leaseSeconds: 3600 }],
});

/** One D1 batch: what it held, how long it took, and which Workflow step sent it. */
interface BatchTiming {
  readonly step: string;
  readonly statements: number;
  readonly ms: number;
  readonly firstSql: string;
}

const timings: BatchTiming[] = [];
const steps: { name: string; ms: number }[] = [];
let currentStep = '';

/** What a batch of the commit does, by its statements: `swap`, `build`, `index`, else its first statement. */
function labelOf(sqls: readonly string[]): string {
  if (sqls.some((sql) => sql.startsWith('ALTER TABLE'))) return 'swap';
  if (sqls.some((sql) => /^INSERT INTO "\w+_next_/.test(sql))) return 'build';
  if (sqls.some((sql) => sql.startsWith('CREATE INDEX'))) return 'index';
  return (sqls[0] ?? '').replace(/\s+/g, ' ').slice(0, 60);
}

function timed(db: D1DatabaseLike): D1DatabaseLike {
  const sqlOf = new WeakMap<object, string>();
  const real = new WeakMap<object, D1PreparedStatementLike>();
  const wrap = (statement: D1PreparedStatementLike, sql: string): D1PreparedStatementLike => {
    const out: D1PreparedStatementLike = {
      bind: (...values) => wrap(statement.bind(...values), sql),
      first: () => statement.first(),
      all: () => statement.all(),
      run: () => statement.run(),
    };
    sqlOf.set(out, sql);
    real.set(out, statement);
    return out;
  };
  return {
    prepare: (sql: string) => wrap(db.prepare(sql), sql),
    async batch<T>(statements: D1PreparedStatementLike[]) {
      const step = currentStep;
      const started = performance.now();
      try {
        return await db.batch<T>(statements.map((s) => real.get(s) ?? s));
      } finally {
        // workerd's clock advances on I/O, so a batch's time is its round trip.
        timings.push({ step, statements: statements.length, ms: performance.now() - started, firstSql: labelOf(statements.map((s) => sqlOf.get(s) ?? '')) });
      }
    },
  };
}

export class SyncWorkflow extends WorkflowEntrypoint<Env, SyncParams> {
  override async run(event: Readonly<WorkflowEvent<SyncParams>>, step: WorkflowStep) {
    const tagged: WorkflowStepLike = {
      do: (name, config, callback) =>
        step.do(name, config, async (ctx) => {
          currentStep = name;
          const started = performance.now();
          try {
            return (await callback(ctx)) as never;
          } finally {
            steps.push({ name, ms: performance.now() - started });
          }
        }),
      sleep: (name, duration) => step.sleep(name, duration),
    };
    return runSyncWorkflow({ registry }, { ...this.env, DB: timed(this.env.DB) }, event as WorkflowEventLike<SyncParams>, tagged);
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/start') {
      const { workerSql } = (await request.json()) as { workerSql: string[] };
      await migrateD1(env.DB);
      for (const sql of workerSql) await env.DB.prepare(sql).run();
      const instance = await env.SYNC_WORKFLOW.create({ id: `bench-${Date.now()}`, params: { connector: 'synthetic-aws', account: 'bench', cron: CRON, trigger: 'cron' } });
      return Response.json({ id: instance.id });
    }
    if (url.pathname === '/status') {
      const instance = await env.SYNC_WORKFLOW.get(url.searchParams.get('id')!);
      return Response.json(await instance.status());
    }
    if (url.pathname === '/report') {
      const counts = await env.DB.prepare(`SELECT (SELECT COUNT(*) FROM entities) AS entities, (SELECT COUNT(*) FROM relationships) AS relationships`).first();
      return Response.json({ timings, steps, counts });
    }
    return new Response('not found', { status: 404 });
  },
};
