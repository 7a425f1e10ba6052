/**
 * The cron handler end to end inside workerd: a connector fetches from an
 * upstream served by the test, the handler commits into a real local D1 and
 * records each run; overlapping runs are refused, dead runs' leases expire.
 */
import { applyD1Migrations, createExecutionContext, createScheduledController, reset } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { entityId, type GraphStore } from 'parallax-edge';
import { createD1Store, type D1DatabaseLike } from 'parallax-edge/adapters/d1';
import { createWorker } from '../../workers/worker.js';
import { listRuns, type RunRecord } from '../../workers/runs.js';
import { CRON, NIGHTLY, UPSTREAM, inventoryData, serveUpstream, testRegistry, type Upstream } from './support/inventory.js';

let upstream: Upstream;
let clock: number;
let store: GraphStore;
const logs: string[] = [];
const worker = createWorker({ registry: testRegistry(), now: () => clock, logger: { log: (line: string) => logs.push(line), warn: (line: string) => logs.push(line) } });
const testEnv = (extra: Record<string, unknown> = {}): Cloudflare.Env => ({ ...env, INVENTORY_TOKEN: 'inventory-secret', ...extra }) as Cloudflare.Env;

async function fire(cron = CRON, e: Cloudflare.Env = testEnv()): Promise<RunRecord> {
  await worker.scheduled(createScheduledController({ cron, scheduledTime: clock }), e, createExecutionContext());
  return (await listRuns(env.DB, { limit: 1 }))[0]!;
}

const leases = async () => (await env.DB.prepare(`SELECT * FROM sync_leases`).all()).results;
const find = (type: string, key: string, account = 'acme') => store.findEntity(account, type, key);

beforeEach(async () => {
  await reset();
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS!);
  upstream = serveUpstream();
  clock = Date.parse('2026-05-01T00:00:00Z');
  store = createD1Store(env.DB);
});
afterEach(() => upstream.restore());

describe('scheduled: a connector run per cron, committed into D1 and recorded', () => {
  it('the first run creates everything and records the run (connector, account, cron, start/end, status, stats)', async () => {
    const run = await fire();
    expect(run).toMatchObject({
      connectorId: 'inventory',
      accountId: 'acme',
      cron: CRON,
      trigger: 'cron',
      status: 'succeeded',
      failedSteps: [],
      error: null,
      rowsWritten: 8,
    });
    expect(run.stats).toMatchObject({ entitiesCreated: 5, relationshipsCreated: 3, entitiesDeleted: 0 });
    expect(Date.parse(run.startedAt)).toBe(clock);
    expect(run.finishedAt).not.toBeNull();
    expect(upstream.requests.sort()).toEqual(['GET /access', 'GET /hosts', 'GET /users']);
    expect(await find('host', 'h-1')).toMatchObject({ entityClass: 'Host', displayName: 'web-1', properties: { os: 'debian-12' }, connectorId: 'inventory', stepId: 'hosts' });
    expect((await store.counts()).relationships).toBe(3);
    // The store's own history has the same commit.
    expect((await store.syncHistory())[0]).toMatchObject({ syncId: run.syncId, connectorId: 'inventory', accountId: 'acme' });
    expect(await leases()).toEqual([]); // released
  });

  it('+P2: a second cron run reports every row unchanged and writes nothing', async () => {
    await fire();
    const second = await fire();
    expect(second.status).toBe('succeeded');
    expect(second.rowsWritten).toBe(0);
    expect(second.stats).toMatchObject({ entitiesUnchanged: 5, relationshipsUnchanged: 3, entitiesCreated: 0, entitiesUpdated: 0, entitiesDeleted: 0 });
  });

  it('an upstream change shows up as updated and deleted rows, with the INV-03 cascade', async () => {
    await fire();
    upstream.data = inventoryData(1);
    const run = await fire();
    expect(run.stats).toMatchObject({ entitiesUpdated: 1, entitiesDeleted: 1, entitiesUnchanged: 3, relationshipsDeleted: 1, relationshipsUnchanged: 2 });
    expect((await find('host', 'h-2'))?.properties).toEqual({ os: 'debian-13' });
    expect(await find('host', 'h-3')).toBeUndefined();
    const u2 = await store.listRelationships({ entityId: entityId('acme', 'user', 'u-2') });
    expect(u2.items).toEqual([]);
  });

  it('+P1: a failing step keeps its stored rows and its dependents\'; the run is partial and names the step and error', async () => {
    await fire();
    upstream.data = inventoryData(1);
    upstream.failing.set('/hosts', 503);
    const run = await fire();
    expect(run.status).toBe('partial');
    expect(run.failedSteps).toEqual([{ stepId: 'hosts', kind: 'Api', message: expect.stringContaining('503') }]);
    // hosts failed and access runs downstream of it: both keep their rows, even h-3 which upstream dropped.
    expect(await find('host', 'h-3')).toBeDefined();
    expect(run.stats).toMatchObject({ entitiesDeleted: 0, entitiesKept: 3, relationshipsDeleted: 0 });
    // INV-C06: users still ran.
    expect(run.stats?.entitiesUnchanged).toBe(2);
    expect(await leases()).toEqual([]);
  });

  it('INV-C06: when every step fails nothing is committed and the graph is unchanged', async () => {
    await fire();
    const before = await store.counts();
    for (const path of ['/hosts', '/users', '/access']) upstream.failing.set(path, 500);
    const run = await fire();
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ code: 'AllStepsFailed' });
    expect(run.failedSteps.map((s) => s.stepId).sort()).toEqual(['access', 'hosts', 'users']);
    expect(await store.counts()).toEqual(before);
  });

  it('secrets come from env bindings: a missing one fails the run, named but never shown', async () => {
    const run = await fire(CRON, testEnv({ INVENTORY_TOKEN: undefined }));
    expect(run.status).toBe('failed');
    expect(run.error?.message).toContain('INVENTORY_TOKEN');
    expect(upstream.requests).toEqual([]);
    const wrong = await fire(CRON, testEnv({ INVENTORY_TOKEN: 'not-the-token' }));
    expect(wrong.status).toBe('failed');
    expect(wrong.failedSteps.every((s) => s.kind === 'AuthFailed')).toBe(true);
    expect(JSON.stringify(wrong)).not.toContain('not-the-token');
    expect(await leases()).toEqual([]);
  });

  it('each cron runs only its own schedules (globex runs on the nightly cron)', async () => {
    const nightly = await fire(NIGHTLY);
    expect(nightly).toMatchObject({ accountId: 'globex', cron: NIGHTLY, status: 'succeeded' });
    expect(await find('host', 'h-1', 'globex')).toBeDefined();
    expect(await find('host', 'h-1', 'acme')).toBeUndefined();
    await fire('7 7 * * *'); // nothing scheduled: nothing runs, nothing recorded, a warning is logged
    expect(logs.at(-1)).toContain('no connector is scheduled on it');
    expect(await listRuns(env.DB, { limit: 10 })).toHaveLength(1);
  });
});

describe('scheduled: leases', () => {
  it('overlapping runs of the same (account, connector) are refused and recorded as skipped; the first one finishes', async () => {
    const held = upstream.hold('/hosts');
    const first = worker.scheduled(createScheduledController({ cron: CRON }), testEnv(), createExecutionContext());
    await held.reached; // the first run holds the lease and is waiting on the upstream
    const second = await fire();
    expect(second).toMatchObject({ status: 'skipped', cron: CRON, connectorId: 'inventory', accountId: 'acme', stats: null });
    expect(second.error).toMatchObject({ code: 'LeaseHeld' });
    expect(await leases()).toHaveLength(1);
    held.release();
    await first;
    const runs = await listRuns(env.DB, { limit: 10 });
    expect(runs.map((r) => r.status).sort()).toEqual(['skipped', 'succeeded']);
    expect(await leases()).toEqual([]);
    expect((await store.counts()).entities).toBe(5);
  });

  it('+P4: a run that died leaves the graph unchanged; its lease blocks runs until it expires, then the next run takes over and marks it abandoned', async () => {
    await fire();
    const before = await store.counts();
    // What a Worker killed mid-run leaves behind: its running record and its lease (nothing of its commit).
    await env.DB.batch([
      env.DB.prepare(`INSERT INTO connector_runs (run_id, account_id, connector_id, sync_id, trigger, cron, status, started_at) VALUES ('dead', 'acme', 'inventory', 'dead', 'cron', ?1, 'running', ?2)`).bind(CRON, new Date(clock).toISOString()),
      env.DB.prepare(`INSERT INTO sync_leases (account_id, connector_id, run_id, acquired_at, expires_at) VALUES ('acme', 'inventory', 'dead', ?1, ?2)`).bind(clock, clock + 16 * 60_000),
    ]);
    upstream.data = inventoryData(1);
    clock += 5 * 60_000;
    expect((await fire()).status).toBe('skipped');
    expect(await store.counts()).toEqual(before);
    clock += 12 * 60_000; // past the dead run's expiry
    const next = await fire();
    expect(next.status).toBe('succeeded');
    expect(next.stats).toMatchObject({ entitiesUpdated: 1, entitiesDeleted: 1 });
    const dead = await env.DB.prepare(`SELECT status, error FROM connector_runs WHERE run_id = 'dead'`).first<{ status: string; error: string }>();
    expect(dead?.status).toBe('abandoned');
    expect(JSON.parse(dead!.error)).toMatchObject({ code: 'LeaseExpired' });
    expect(await leases()).toEqual([]);
  });

  it('INV-C01: a commit that fails inside D1 records a failed run and leaves the graph as it was', async () => {
    await fire();
    const before = await store.counts();
    upstream.data = inventoryData(1);
    // D1 refuses the commit batch (as when the database is overloaded).
    const failingDb: D1DatabaseLike = {
      prepare: (sql) => env.DB.prepare(sql) as never,
      batch: async (statements) => {
        if (statements.length > 10) throw new Error('D1_ERROR: simulated overload');
        return env.DB.batch(statements as never) as never;
      },
    };
    const run = await fire(CRON, testEnv({ DB: new Proxy(env.DB, { get: (t, p) => (p === 'batch' ? failingDb.batch : Reflect.get(t, p).bind?.(t) ?? Reflect.get(t, p)) }) }));
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ code: 'StoreFailure' });
    expect(await store.counts()).toEqual(before);
    expect(await find('host', 'h-3')).toBeDefined();
    expect(await leases()).toEqual([]);
  });
});

describe('the deployed entry (workers/index.ts)', () => {
  it('serves /v1/health with the wrangler.toml bindings', async () => {
    const { default: entry } = await import('../../workers/index.js');
    const response = await entry.fetch(new Request('http://worker.test/v1/health'), env, createExecutionContext());
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok', database: 'ok' });
    expect(response.headers.get('x-request-id')).toBeTruthy();
    expect(UPSTREAM).toMatch(/^https:/);
  });
});
