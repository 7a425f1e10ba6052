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
import { dumpStore } from 'parallax-edge/testing';
import { CHURN_CRON, PROBE_CRON, PROBE_PAGES, PROBE_TABLES } from './support/probe.js';
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
const calls = async () => (await db.prepare(`SELECT step_id, page, generation FROM probe_calls ORDER BY seq`).all<{ step_id: string; page: number; generation: number }>()).results;
/** Calls of the connector's (step, page), of one data generation when given. */
const callsOf = async (stepId: string, page = 0, generation?: number) =>
  (await calls()).filter((c) => c.step_id === stepId && c.page === page && (generation === undefined || c.generation === generation)).length;
const setGeneration = (g: number) => db.prepare(`INSERT OR REPLACE INTO probe_state (name, value) VALUES ('generation', ?1)`).bind(g).run();
const gate = (stepId: string, page: number) => db.prepare(`INSERT OR REPLACE INTO probe_gates (step_id, page) VALUES (?1, ?2)`).bind(stepId, page).run();
const openGate = (stepId: string, page: number) => db.prepare(`DELETE FROM probe_gates WHERE step_id = ?1 AND page = ?2`).bind(stepId, page).run();
async function until(what: string, test: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await test()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}
const reached = (stepId: string, page: number) =>
  until(`${stepId} page ${page} at its gate`, async () => (await db.prepare(`SELECT reached FROM probe_gates WHERE step_id = ?1 AND page = ?2`).bind(stepId, page).first<{ reached: number }>())?.reached === 1);
const pageDone = (runId: string, stepId: string, page: number) =>
  until(`${stepId} page ${page} done`, async () =>
    (await db.prepare(`SELECT status FROM connector_run_pages WHERE run_id = ?1 AND step_id = ?2 AND page = ?3 AND status = 'done'`).bind(runId, stepId, page).first()) !== null);
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

  it('a step that fails once and then succeeds is not re-run after completion, and its failed attempt stages nothing twice', async () => {
    await fault('users', 0, 1);
    const { output } = await runInstance(probe, { modify: async (m) => m.disableRetryDelays() });
    expect(output!.run).toMatchObject({ status: 'succeeded', failedSteps: [] });
    expect(output!.run.stats).toMatchObject({ entitiesCreated: 13, relationshipsCreated: 12 });
    expect(await callsOf('users')).toBe(2);
    for (let page = 0; page < PROBE_PAGES; page++) expect(await callsOf('items', page)).toBe(1);
    expect(await callsOf('links')).toBe(1);
    expect(await stagedRows()).toBe(0);
  });

  it('a step.do failing once (mockStepError) is retried by the engine; completed steps are not re-run', async () => {
    const { output } = await runInstance(probe, { modify: async (m) => { await m.disableRetryDelays(); await m.mockStepError({ name: 'links' }, new Error('injected'), 1); } });
    expect(output!.run.status).toBe('succeeded');
    expect(await callsOf('links')).toBe(1); // the mocked attempt did not run it
    expect(await callsOf('users')).toBe(1);
    expect(await callsOf('items', 0)).toBe(1);
  });

  it('+P1: a step that fails all its retries is a failed step: its stored rows and its dependents\' are kept, the others commit (INV-C06)', async () => {
    await runInstance(probe);
    const before = await dumpStore(store(), ['acme']);
    await setGeneration(1);
    await fault('items', 1, 99);
    const { output } = await runInstance(probe, { modify: async (m) => m.disableRetryDelays() });
    expect(output!.run.status).toBe('partial');
    expect(output!.run.failedSteps).toEqual([{ stepId: 'items', kind: 'Api', message: expect.stringContaining('503') }]);
    expect(await callsOf('items', 1, 1)).toBe(3); // 1 + 2 retries
    expect(await callsOf('items', 2, 1)).toBe(0);
    const after = await dumpStore(store(), ['acme']);
    // items failed, links runs after it: both keep their stored rows as they were; users moved on.
    const hosts = (d: typeof before) => d.entities.filter((e) => e.entityType === 'host').map(({ syncId: _s, ...e }) => e);
    expect(hosts(after)).toEqual(hosts(before));
    expect(after.relationships.length).toBe(before.relationships.length);
    expect((await store().findEntity('acme', 'user', 'u-1'))?.properties).toEqual({ gen: 1 });
    expect(await stagedRows()).toBe(0);
    expect(await leases()).toEqual([]);
  });

  it('an error that would fail the same way again (Validation) fails the step at once, without retries', async () => {
    await fault('users', 0, 99, 'Validation');
    const { output } = await runInstance(probe, { modify: async (m) => m.disableRetryDelays() });
    expect(output!.run).toMatchObject({ status: 'partial', failedSteps: [{ stepId: 'users', kind: 'Validation', message: expect.stringContaining('a bad record') }] });
    expect(await callsOf('users')).toBe(1);
  });

  it('every step failing commits nothing: the run is failed (AllStepsFailed) and the graph unchanged', async () => {
    await runInstance(probe);
    const before = await dumpStore(store(), ['acme']);
    await fault('items', 0, 99);
    await fault('users', 0, 99);
    await fault('links', 0, 99);
    const { output } = await runInstance(probe, { modify: async (m) => m.disableRetryDelays() });
    expect(output!.run).toMatchObject({ status: 'failed', error: { code: 'AllStepsFailed' } });
    expect(await dumpStore(store(), ['acme'])).toEqual(before);
    expect(await stagedSyncs()).toBe(0);
  });

  it('a paged step resumes from its last page after a failure: earlier pages are not run again', async () => {
    await fault('items', 2, 1);
    const { output } = await runInstance(probe, { modify: async (m) => m.disableRetryDelays() });
    expect(output!.run.status).toBe('succeeded');
    expect([await callsOf('items', 0), await callsOf('items', 1), await callsOf('items', 2)]).toEqual([1, 1, 2]);
    expect(output!.run.stats?.entitiesCreated).toBe(13);
  });

  it('Retry-After: a rate-limited page waits as the API said (step.sleep), then runs again; the others are not re-run', async () => {
    await fault('items', 1, 1, 'RateLimited');
    const { output } = await runInstance(probe, { modify: async (m) => { await m.disableSleeps(); await m.disableRetryDelays(); } });
    expect(output!.run.status).toBe('succeeded');
    expect([await callsOf('items', 0), await callsOf('items', 1), await callsOf('items', 2)]).toEqual([1, 2, 1]);
  });

  it('overlapping runs of one (account, connector) are refused by the lease: the second is skipped (LeaseHeld)', async () => {
    await gate('items', 0);
    const first = nextId('probe');
    await using a = await introspectWorkflowInstance(env.SYNC_WORKFLOW, first);
    await env.SYNC_WORKFLOW.create({ id: first, params: probe });
    await reached('items', 0);
    const { output } = await runInstance(probe);
    expect(output!.run).toMatchObject({ status: 'skipped', error: { code: 'LeaseHeld', message: expect.stringContaining(first) } });
    await openGate('items', 0);
    await a.waitForStatus('complete');
    expect((await getRun(db, first))?.status).toBe('succeeded');
  });

  it('a cron that fires twice for one schedule window creates one instance per due connector', async () => {
    await using introspector = await introspectWorkflow(env.SYNC_WORKFLOW);
    const scheduledTime = Date.parse('2026-05-01T00:10:00Z');
    for (let i = 0; i < 2; i++) await worker.scheduled(createScheduledController({ cron: PROBE_CRON, scheduledTime: scheduledTime + i * 1000 }), env, createExecutionContext());
    const instances = introspector.get();
    expect(instances.length).toBe(registry.due(PROBE_CRON).length);
    for (const instance of instances) await instance.waitForStatus('complete');
    const runs = await listRuns(db, { limit: 10 });
    expect(runs.map((r) => r.runId).sort()).toEqual((await Promise.all(registry.due(PROBE_CRON).map((s) => cronInstanceId(s, scheduledTime)))).sort());
    expect(runs.every((r) => r.status === 'succeeded' && r.trigger === 'cron' && r.cron === PROBE_CRON)).toBe(true);
    expect(await callsOf('users')).toBe(1);
  });
});

describe('+P4: terminating an instance leaves the graph as it was; the next run succeeds and drops its staging', () => {
  const stages = [
    { stage: 'after begin, before any page', setup: () => Promise.all([gate('items', 0), gate('users', 0)]), wait: () => reached('items', 0) },
    { stage: 'in the middle of a paged step (page 1 of 3)', setup: () => gate('items', 1), wait: () => reached('items', 1) },
    { stage: 'every step staged, the commit not yet done', setup: async () => undefined, wait: (id: string) => pageDone(id, 'links', 0), commitFails: true },
  ];
  for (const { stage, setup, wait, commitFails } of stages) {
    it(`terminated ${stage}`, async () => {
      await runInstance(probe);
      const before = await dumpStore(store(), ['acme']);
      await setGeneration(1);
      await setup();
      const id = nextId('probe');
      await using instance = await introspectWorkflowInstance(env.SYNC_WORKFLOW, id);
      if (commitFails) await instance.modify(async (m) => m.mockStepError({ name: 'commit' }, new Error('injected: commit unreachable')));
      await env.SYNC_WORKFLOW.create({ id, params: probe });
      await wait(id);
      await (await env.SYNC_WORKFLOW.get(id)).terminate();
      await instance.waitForStatus('terminated');
      await db.prepare(`DELETE FROM probe_gates`).run();
      expect(await dumpStore(store(), ['acme'])).toEqual(before);
      expect(await stagedSyncs()).toBe(1); // its staging area is left...
      const { output } = await runInstance(probe);
      expect(output!.run.status).toBe('succeeded'); // ...the next run takes over its lease,
      expect(await stagedSyncs()).toBe(0); // ...and drops it
      expect(await stagedRows()).toBe(0);
      expect((await store().findEntity('acme', 'host', 'h-0'))?.properties).toMatchObject({ gen: 1 });
      expect(await getRun(db, id)).toMatchObject({ status: 'abandoned', error: { code: 'InstanceEnded' } });
    });
  }
});

describe('the API starts and watches Workflow runs', () => {
  const auth = { authorization: 'Bearer t0ken' };
  const apiEnv = () => ({ ...env, PARALLAX_API_TOKEN: 't0ken' }) as Cloudflare.Env;
  const call = (method: string, path: string) => worker.fetch(new Request(`https://w.test${path}`, { method, headers: auth }), apiEnv(), createExecutionContext());

  it('POST /v1/connectors/:name/sync returns the instance id; GET /v1/syncs/:id shows steps done and running and rows staged; terminate stops it', async () => {
    await gate('items', 1);
    const started = await call('POST', '/v1/connectors/probe/sync');
    expect(started.status).toBe(202);
    const { instance_id: id } = await started.json<{ instance_id: string }>();
    expect(id).toMatch(/^api-probe-/);
    await using instance = await introspectWorkflowInstance(env.SYNC_WORKFLOW, id);
    await reached('items', 1);
    await pageDone(id, 'users', 0);
    const progress = await (await call('GET', `/v1/syncs/${id}`)).json<Record<string, unknown>>();
    expect(progress).toMatchObject({
      run_id: id,
      run: { status: 'running', trigger: 'api', connector_id: 'probe' },
      instance: { status: 'running' },
      steps_done: ['users'],
      steps_running: ['items'],
      rows_staged: 5,
    });
    const terminated = await call('POST', `/v1/syncs/${id}/terminate`);
    expect(terminated.status).toBe(200);
    await instance.waitForStatus('terminated');
    expect(await (await call('GET', `/v1/syncs/${id}`)).json()).toMatchObject({ instance: { status: 'terminated' } });
    expect((await call('GET', '/v1/syncs/nope-nope')).status).toBe(404);
    expect((await worker.fetch(new Request(`https://w.test/v1/syncs/${id}`), apiEnv(), createExecutionContext())).status).toBe(401);
  });

  it('an operator pauses a run and resumes it through the API: it completes, and completed steps are not run again', async () => {
    await gate('items', 1);
    const { instance_id: id } = await (await call('POST', '/v1/connectors/probe/sync')).json<{ instance_id: string }>();
    await using instance = await introspectWorkflowInstance(env.SYNC_WORKFLOW, id);
    await reached('items', 1);
    expect((await call('POST', `/v1/syncs/${id}/pause`)).status).toBe(200);
    await openGate('items', 1);
    await instance.waitForStatus('paused');
    expect(await (await call('GET', `/v1/syncs/${id}`)).json()).toMatchObject({ instance: { status: 'paused' }, run: { status: 'running' } });
    expect((await call('POST', `/v1/syncs/${id}/resume`)).status).toBe(200);
    await instance.waitForStatus('complete');
    expect((await getRun(db, id))?.status).toBe('succeeded');
    expect([await callsOf('items', 0), await callsOf('items', 1), await callsOf('users')]).toEqual([1, 1, 1]);
  });
});
