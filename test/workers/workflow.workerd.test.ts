/**
 * Syncs as Cloudflare Workflows inside workerd (vitest-pool-workers): the
 * SyncWorkflow of wrangler.toml runs the test registry's connectors
 * (support/workflow-main.ts) into a real local D1, one step.do per page.
 */
import { applyD1Migrations, createExecutionContext, createScheduledController, introspectWorkflow, introspectWorkflowInstance, reset } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { commitSync, runConnector } from 'parallax-edge';
import { createD1Store } from 'parallax-edge/adapters/d1';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { createSyntheticConnector } from 'parallax-edge/connectors/synthetic';
import { cronInstanceId, type SyncParams, type SyncWorkflowOutput } from '../../workers/workflow.js';
import { getRun, listRuns } from '../../workers/runs.js';
import { dumpStore } from '../adapters/contract.js';
import { CHURN_CRON, PROBE_CRON, PROBE_TABLES } from './support/probe.js';
import worker, { registry } from './support/workflow-main.js';

type Modifier = Parameters<Parameters<Awaited<ReturnType<typeof introspectWorkflowInstance>>['modify']>[0]>[0];

const db = env.DB;
const store = () => createD1Store(db);
const probe: SyncParams = { connector: 'probe', account: 'acme', cron: PROBE_CRON, trigger: 'cron' };
const synthetic: SyncParams = { connector: 'synthetic-aws', account: 'acme', cron: PROBE_CRON, trigger: 'cron' };
let ids = 0;
const nextId = (name: string) => `t-${name}-${Date.now().toString(36)}-${++ids}`;

/** Creates an instance and waits for it to end as `status`; returns its output when it completed. */
async function runInstance(params: SyncParams, options: { id?: string; modify?: (m: Modifier) => Promise<void>; status?: 'complete' | 'errored' } = {}) {
  const id = options.id ?? nextId(params.connector);
  await using instance = await introspectWorkflowInstance(env.SYNC_WORKFLOW, id);
  if (options.modify) await instance.modify(options.modify);
  await env.SYNC_WORKFLOW.create({ id, params });
  await instance.waitForStatus(options.status ?? 'complete');
  return { id, output: (options.status ?? 'complete') === 'complete' ? ((await instance.getOutput()) as SyncWorkflowOutput) : undefined };
}

const strip = (dump: Awaited<ReturnType<typeof dumpStore>>) => ({
  entities: dump.entities.map(({ syncId: _s, ...e }) => e),
  relationships: dump.relationships.map(({ syncId: _s, ...r }) => r),
});
const stagedSyncs = async () => (await db.prepare(`SELECT COUNT(*) AS n FROM staged_syncs`).first<{ n: number }>())!.n;
const stagedRows = async () => (await db.prepare(`SELECT (SELECT COUNT(*) FROM staged_entities) + (SELECT COUNT(*) FROM staged_relationships) AS n`).first<{ n: number }>())!.n;
const leases = async () => (await db.prepare(`SELECT * FROM sync_leases`).all()).results;
const calls = async () => (await db.prepare(`SELECT step_id, page FROM probe_calls ORDER BY seq`).all<{ step_id: string; page: number }>()).results;
const callsOf = async (stepId: string, page = 0) => (await calls()).filter((c) => c.step_id === stepId && c.page === page).length;
const setGeneration = (g: number) => db.prepare(`INSERT OR REPLACE INTO probe_state (name, value) VALUES ('generation', ?1)`).bind(g).run();
const fault = (stepId: string, page: number, times: number, kind = 'Api') =>
  db.prepare(`INSERT OR REPLACE INTO probe_faults (step_id, page, remaining, kind) VALUES (?1, ?2, ?3, ?4)`).bind(stepId, page, times, kind).run();

beforeEach(async () => {
  await reset();
  await applyD1Migrations(db, env.TEST_MIGRATIONS!);
  for (const sql of PROBE_TABLES) await db.prepare(sql).run();
});

describe('SyncWorkflow: a connector run as a Workflow, staging into D1 page by page', () => {
  it('a full run equals the same connector run in process into the memory store: same stats, same rows, over two generations', async () => {
    const memory = createMemoryStore();
    for (const generation of [0, 1]) {
      // The registry's schedule is n = 120, pages of 25 slots; generation 1 is the churned estate.
      const { output } = await runInstance(generation === 0 ? synthetic : { ...synthetic, cron: CHURN_CRON });
      const connector = createSyntheticConnector({ n: 120, pageSize: 25, generation });
      const inProcess = await commitSync(memory, await runConnector(connector, { accountId: 'acme', syncId: `m${generation}`, store: memory }));
      expect(output!.run.status).toBe('succeeded');
      expect(output!.run.stats).toEqual(inProcess.stats);
      expect(strip(await dumpStore(store(), ['acme']))).toEqual(strip(await dumpStore(memory, ['acme'])));
    }
    expect(await stagedSyncs()).toBe(0);
    expect(await leases()).toEqual([]);
  });
});
