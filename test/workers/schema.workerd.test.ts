/**
 * The Worker on a real local D1 that is not migrated for it (the deploy ran
 * before `wrangler d1 migrations apply`, or stopped half way): the API, the
 * cron handler and a Workflow run each refuse with a WorkerSchemaError that
 * names what is missing, and nothing is created or written.
 */
import { applyD1Migrations, createExecutionContext, createScheduledController, introspectWorkflowInstance, reset } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../adapters/sql/index.js';
import { createWorker } from '../../workers/worker.js';
import { WorkerSchemaError, checkWorkerSchema } from '../../workers/schema.js';
import { PROBE_CRON } from './support/probe.js';
import { CRON, serveUpstream, testRegistry, type Upstream } from './support/inventory.js';

const TOKEN = 'test-api-token-0123456789';
const silent = { log: () => {}, warn: () => {} };
const testEnv = (): Cloudflare.Env => ({ ...env, PARALLAX_API_TOKEN: TOKEN, INVENTORY_TOKEN: 'inventory-secret' }) as Cloudflare.Env;
const migrations = env.TEST_MIGRATIONS!;
const graphOnly = migrations.filter((m) => Number.parseInt(m.name, 10) < 100);
const withoutWorkflowRuns = migrations.filter((m) => !m.name.startsWith('0101'));

async function call(worker: ReturnType<typeof createWorker>, path: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${TOKEN}`);
  const response = await worker.fetch(new Request(`http://worker.test${path}`, { ...init, headers }), testEnv(), createExecutionContext());
  return { status: response.status, body: (await response.json()) as any };
}

/** Every schema object of the database and the rows of every table: what a refused request must leave as it was. */
async function snapshot() {
  const objects = (await env.DB.prepare(`SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name`).all<{ type: string; name: string }>()).results;
  const rows: Record<string, unknown[]> = {};
  for (const o of objects) if (o.type === 'table') rows[o.name] = (await env.DB.prepare(`SELECT * FROM "${o.name}"`).all()).results;
  return { objects, rows };
}

let upstream: Upstream;
beforeEach(async () => {
  await reset();
  upstream = serveUpstream();
});
afterEach(() => upstream.restore());

describe('the Worker on a D1 database not migrated for it', () => {
  it('never migrated: every route refuses with SchemaNotMigrated naming the graph schema and the Worker tables; health is degraded; nothing is created', async () => {
    const worker = createWorker({ registry: testRegistry(), logger: silent });
    const before = await snapshot();
    const sync = await call(worker, '/v1/connectors/inventory/sync', { method: 'POST', body: JSON.stringify({ account_id: 'acme' }), headers: { 'content-type': 'application/json' } });
    expect(sync.status).toBe(500);
    expect(sync.body.error.code).toBe('SchemaNotMigrated');
    expect(sync.body.error.message).toContain('no graph schema');
    for (const table of ['connector_runs', 'sync_leases', 'connector_run_pages']) expect(sync.body.error.message).toContain(`table ${table}`);
    expect(sync.body.error.message).toContain('wrangler d1 migrations apply');
    for (const path of ['/v1/stats', '/v1/syncs', '/v1/entities', '/v1/connectors']) {
      const res = await call(worker, path);
      expect(res.status, path).toBe(500);
      expect(res.body.error.code, path).toBe('SchemaNotMigrated');
    }
    const health = await worker.fetch(new Request('http://worker.test/v1/health'), testEnv(), createExecutionContext());
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'degraded', database: 'not migrated' });
    expect(upstream.requests).toEqual([]);
    expect(await snapshot()).toEqual(before);
  });

  it('the graph migrated but not the Worker tables: the error names only the Worker tables', async () => {
    await applyD1Migrations(env.DB, graphOnly);
    const problem = await checkWorkerSchema(env.DB);
    expect(problem).toBeInstanceOf(WorkerSchemaError);
    expect(problem!.graph).toBeUndefined();
    expect(problem!.version).toBe(SCHEMA_VERSION);
    expect(problem!.missing).toEqual(['table connector_runs', 'table sync_leases', 'table connector_run_pages']);
    expect(problem!.message).not.toContain('graph schema');
  });

  it('migration 0101 missing: names the column it adds and its table', async () => {
    await applyD1Migrations(env.DB, withoutWorkflowRuns);
    const problem = await checkWorkerSchema(env.DB);
    expect(problem!.missing).toEqual(['column connector_runs.staging_token', 'table connector_run_pages']);
  });

  it('a graph schema one version behind: named with both versions', async () => {
    await applyD1Migrations(env.DB, migrations);
    await env.DB.prepare(`DELETE FROM schema_migrations WHERE version = ?1`).bind(SCHEMA_VERSION).run();
    const problem = await checkWorkerSchema(env.DB);
    expect(problem).toMatchObject({ graph: 'older', version: SCHEMA_VERSION - 1, missing: [] });
    expect(problem!.message).toContain(`graph schema version ${SCHEMA_VERSION - 1}, this code needs ${SCHEMA_VERSION}`);
  });

  it('the cron handler refuses before running anything: no run, no lease, no upstream call', async () => {
    const worker = createWorker({ registry: testRegistry(), logger: silent });
    await applyD1Migrations(env.DB, graphOnly);
    const before = await snapshot();
    await expect(worker.scheduled(createScheduledController({ cron: CRON }), testEnv(), createExecutionContext())).rejects.toThrow(WorkerSchemaError);
    expect(upstream.requests).toEqual([]);
    expect(await snapshot()).toEqual(before);
  });

  it('once migrated, the same Worker serves: a refusal is not remembered', async () => {
    const worker = createWorker({ registry: testRegistry(), logger: silent });
    expect((await call(worker, '/v1/syncs')).status).toBe(500);
    await applyD1Migrations(env.DB, migrations);
    expect(await checkWorkerSchema(env.DB)).toBeUndefined();
    const syncs = await call(worker, '/v1/syncs');
    expect(syncs.status).toBe(200);
    const sync = await call(worker, '/v1/connectors/inventory/sync', { method: 'POST', body: JSON.stringify({ account_id: 'acme' }), headers: { 'content-type': 'application/json' } });
    expect(sync.status, JSON.stringify(sync.body)).toBe(200);
    expect(sync.body.run.status).toBe('succeeded');
  });

  it('a Workflow run errors in its first step with the WorkerSchemaError and writes nothing', async () => {
    await applyD1Migrations(env.DB, graphOnly);
    const before = await snapshot();
    const id = `schema-${Date.now().toString(36)}`;
    await using instance = await introspectWorkflowInstance(env.SYNC_WORKFLOW, id);
    await instance.modify(async (m) => m.disableRetryDelays());
    await env.SYNC_WORKFLOW.create({ id, params: { connector: 'synthetic-aws', account: 'acme', cron: PROBE_CRON, trigger: 'cron' } });
    await instance.waitForStatus('errored');
    const { error } = await (await env.SYNC_WORKFLOW.get(id)).status();
    expect(JSON.stringify(error)).toContain('missing table connector_runs');
    expect(await snapshot()).toEqual(before);
  });
});
