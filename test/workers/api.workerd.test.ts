/**
 * The /v1 REST API inside workerd on a real local D1: auth on every route,
 * request ids, validation errors with field paths, pagination, ingest
 * equivalent to commitSync, INV-C04 as 422, payload limit, JSON errors.
 */
import { applyD1Migrations, createExecutionContext, createScheduledController, reset } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_ROW_BYTES, commitSync, entityId, relationshipId, type SyncInput } from 'parallax-edge';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { createD1Store } from 'parallax-edge/adapters/d1';
import { z } from 'zod';
import { createWorker } from '../../workers/worker.js';
import { DISCARD_LIMIT_BYTES } from '../../workers/http.js';
import { registry as deployedRegistry } from '../../workers/connectors.js';
import { defineConnector, defineRegistry } from '../../workers/registry.js';
import { dumpStore } from 'parallax-edge/testing';
import { InventoryConnector, UPSTREAM, inventoryDefinition, serveUpstream, testRegistry, type Upstream } from './support/inventory.js';

const TOKEN = 'test-api-token-0123456789';
const silent = { log: () => {}, warn: () => {} };
const worker = createWorker({ registry: testRegistry(), logger: silent });
const baseEnv = (extra: Record<string, unknown> = {}): Cloudflare.Env =>
  ({ ...env, PARALLAX_API_TOKEN: TOKEN, INVENTORY_TOKEN: 'inventory-secret', ...extra }) as Cloudflare.Env;

interface Call {
  method?: string;
  token?: string | null;
  body?: unknown;
  raw?: BodyInit;
  headers?: Record<string, string>;
  env?: Cloudflare.Env;
  worker?: { fetch: typeof worker.fetch };
}

async function call(path: string, options: Call = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const headers = new Headers(options.headers);
  const token = options.token === undefined ? TOKEN : options.token;
  if (token !== null) headers.set('authorization', `Bearer ${token}`);
  let body: BodyInit | undefined = options.raw;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers.set('content-type', 'application/json');
  }
  const response = await (options.worker ?? worker).fetch(
    new Request(`http://worker.test${path}`, { method: options.method ?? (body === undefined ? 'GET' : 'POST'), headers, ...(body === undefined ? {} : { body }) }),
    options.env ?? baseEnv(),
    createExecutionContext(),
  );
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
}

const ingestBody = (over: Record<string, unknown> = {}) => ({
  connector_id: 'cmdb',
  sync_id: 'sync-001',
  entities: [
    { entity_type: 'host', entity_key: 'h-1', entity_class: 'Host', display_name: 'web-1', properties: { os: 'debian-12', tags: ['prod'] } },
    { entity_type: 'host', entity_key: 'h-2', entity_class: 'Host', display_name: 'db-1', properties: { os: 'debian-12' } },
    { entity_type: 'user', entity_key: 'u-1', entity_class: 'User', display_name: 'Ada', properties: { mfa: true, age: 36, note: null } },
  ],
  relationships: [
    { from_type: 'user', from_key: 'u-1', verb: 'USES', to_type: 'host', to_key: 'h-1', properties: { since: '2026-01-01' } },
    { from_type: 'host', from_key: 'h-1', verb: 'CONNECTS', to_type: 'host', to_key: 'h-2', properties: {} },
  ],
  ...over,
});

let upstream: Upstream;
beforeEach(async () => {
  await reset();
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS!);
  upstream = serveUpstream();
});
afterEach(() => upstream.restore());

const H1 = entityId('default', 'host', 'h-1');

/** The binding, running `before` ahead of each of its first `commits` graph commits (the batch that guards against a SyncConflict). */
function commitsInterleaved(db: D1Database, commits: number, before: () => Promise<void>): D1Database {
  const sqlOf = new WeakMap<object, string>();
  let left = commits;
  return new Proxy(db, {
    get(target, key) {
      if (key === 'prepare') {
        return (sql: string) => {
          const statement = target.prepare(sql);
          const bind = statement.bind.bind(statement);
          statement.bind = (...values: unknown[]) => {
            const bound = bind(...values);
            sqlOf.set(bound, sql);
            return bound;
          };
          sqlOf.set(statement, sql);
          return statement;
        };
      }
      if (key === 'batch') {
        return async (statements: D1PreparedStatement[]) => {
          if (left > 0 && statements.some((st) => sqlOf.get(st)?.includes("SELECT 'SyncConflict'"))) {
            left -= 1;
            await before();
          }
          return target.batch(statements);
        };
      }
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Every route but health, with a request that would succeed with the right token. */
const ROUTES: [string, string, unknown?][] = [
  ['GET', '/v1/stats'],
  ['GET', '/v1/entities'],
  ['GET', `/v1/entities/${H1}`],
  ['GET', `/v1/entities/${H1}/relationships`],
  ['POST', '/v1/ingest/sync', ingestBody({ sync_id: 'auth-check' })],
  ['GET', '/v1/connectors'],
  ['GET', '/v1/syncs'],
  ['POST', '/v1/connectors/inventory/sync', { account_id: 'acme' }],
];

describe('auth and request ids', () => {
  it('GET /v1/health needs no token and answers with an X-Request-Id', async () => {
    const res = await call('/v1/health', { token: null });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', database: 'ok' });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const echoed = await call('/v1/health', { token: null, headers: { 'x-request-id': 'trace-42' } });
    expect(echoed.headers.get('x-request-id')).toBe('trace-42');
    const unsafe = await call('/v1/health', { token: null, headers: { 'x-request-id': 'bad id\twith spaces' } });
    expect(unsafe.headers.get('x-request-id')).not.toContain(' ');
  });

  it.each(ROUTES)('%s %s: 401 without a token, 401 with a wrong one, 2xx with the right one', async (method, path, body) => {
    await call('/v1/ingest/sync', { body: ingestBody() }); // so that h-1 exists
    const missing = await call(path, { method, token: null, body });
    expect(missing.status).toBe(401);
    expect(missing.body.error).toMatchObject({ code: 'Unauthorized', request_id: missing.headers.get('x-request-id') });
    expect(missing.headers.get('www-authenticate')).toContain('Bearer');
    const wrong = await call(path, { method, token: `${TOKEN}x`, body });
    expect(wrong.status).toBe(401);
    const short = await call(path, { method, token: 'x', body });
    expect(short.status).toBe(401);
    const right = await call(path, { method, body });
    expect(right.status, JSON.stringify(right.body)).toBeLessThan(300);
    expect(right.headers.get('x-request-id')).toBeTruthy();
  });

  it.each(ROUTES)('%s %s: with no PARALLAX_API_TOKEN configured the route refuses (503), health still answers', async (method, path, body) => {
    const res = await call(path, { method, token: 'anything', body, env: baseEnv({ PARALLAX_API_TOKEN: undefined }) });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('AuthNotConfigured');
    expect((await call('/v1/health', { token: null, env: baseEnv({ PARALLAX_API_TOKEN: undefined }) })).status).toBe(200);
  });

  it('an unknown route is a JSON 404 with a request id', async () => {
    const res = await call('/v1/nope');
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'NotFound' });
    expect(res.headers.get('x-request-id')).toBe(res.body.error.request_id);
  });

  it('a route asked with a method it does not take is a JSON 405 with Allow listing the methods it takes (HEAD wherever GET); a wrong token is still a 401 first', async () => {
    const cases: [string, string, string][] = [
      ['DELETE', '/v1/entities/d9c3cff7d8c3bcad3688abc103d4f260', 'GET, HEAD'],
      ['GET', '/v1/ingest/sync', 'POST'],
      ['PUT', '/v1/query', 'POST'],
      ['POST', '/v1/stats', 'GET, HEAD'],
      ['PATCH', '/v1/health', 'GET, HEAD'],
    ];
    for (const [method, path, allow] of cases) {
      const res = await call(path, { method });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get('allow'), `${method} ${path}`).toBe(allow);
      expect(res.body.error, `${method} ${path}`).toMatchObject({ code: 'MethodNotAllowed' });
      expect(res.body.error.message).toContain(allow);
    }
    expect((await call('/v1/stats', { method: 'POST', token: 'wrong' })).status).toBe(401);
    expect((await call('/v1/nope', { method: 'DELETE' })).status).toBe(404);
  });

  it('an unexpected failure is a JSON 500 without a stack trace; a D1 failure Cloudflare calls transient is a 503', async () => {
    const broken = { prepare: () => { throw new Error('secret internals at Object.<anonymous> (db.ts:1:1)'); }, batch: () => { throw new Error('boom'); } };
    const res = await call('/v1/stats', { env: baseEnv({ DB: broken }) });
    expect(res.status).toBe(500);
    expect(JSON.stringify(res.body)).not.toContain('secret internals');
    // D1's own wording for a lost connection (https://developers.cloudflare.com/d1/best-practices/retry-queries/).
    const lost = () => {
      throw new Error('D1_ERROR: Network connection lost.');
    };
    const flaky = await call('/v1/stats', { env: baseEnv({ DB: { prepare: lost, batch: lost } }) });
    expect(flaky.status).toBe(503);
    expect(flaky.body.error).toMatchObject({ code: 'StoreFailure', message: 'the graph store is unavailable; retry later' });
    const health = await call('/v1/health', { token: null, env: baseEnv({ DB: broken }) });
    expect(health.status).toBe(503);
    const syncs = await call('/v1/syncs', { env: baseEnv({ DB: broken }) });
    expect(syncs.status).toBe(500);
    expect(syncs.body.error).toMatchObject({ code: 'InternalError' });
    const text = JSON.stringify(syncs.body);
    expect(text).not.toContain('secret internals');
    expect(text).not.toMatch(/\bat \S+ \(/);
  });
});

describe('POST /v1/ingest/sync', () => {
  it('commits Parallax\'s body and answers with Parallax\'s snake_case stats', async () => {
    const res = await call('/v1/ingest/sync', { body: ingestBody() });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      connector_id: 'cmdb',
      sync_id: 'sync-001',
      account_id: 'default',
      rows_written: 5,
      stats: {
        entities_created: 3,
        entities_updated: 0,
        entities_unchanged: 0,
        entities_deleted: 0,
        relationships_created: 2,
        relationships_updated: 0,
        relationships_unchanged: 0,
        relationships_deleted: 0,
      },
    });
    const again = await call('/v1/ingest/sync', { body: ingestBody({ sync_id: 'sync-002' }) });
    expect(again.body.stats).toMatchObject({ entities_unchanged: 3, relationships_unchanged: 2 });
    expect(again.body.rows_written).toBe(0);
  });

  it('is equivalent to commitSync: same stats and same stored rows as the memory reference', async () => {
    const steps: Record<string, unknown>[] = [
      ingestBody(),
      ingestBody({ sync_id: 'sync-002', entities: ingestBody().entities.slice(0, 2), relationships: [] }),
      ingestBody({ sync_id: 'sync-003', account_id: 'globex' }),
    ];
    const reference = createMemoryStore();
    for (const body of steps) {
      const res = await call('/v1/ingest/sync', { body });
      const input: SyncInput = {
        connectorId: body.connector_id as string,
        syncId: body.sync_id as string,
        accountId: (body.account_id as string | undefined) ?? 'default',
        entities: (body.entities as any[]).map((e) => ({ entityType: e.entity_type, entityKey: e.entity_key, entityClass: e.entity_class, displayName: e.display_name, properties: e.properties })),
        relationships: (body.relationships as any[]).map((r) => ({ fromType: r.from_type, fromKey: r.from_key, verb: r.verb, toType: r.to_type, toKey: r.to_key, properties: r.properties })),
      };
      const expected = await commitSync(reference, input);
      expect(res.status).toBe(200);
      expect(res.body.rows_written).toBe(expected.rowsWritten);
      expect(res.body.stats).toEqual({
        entities_created: expected.stats.entitiesCreated,
        entities_updated: expected.stats.entitiesUpdated,
        entities_unchanged: expected.stats.entitiesUnchanged,
        entities_deleted: expected.stats.entitiesDeleted,
        entities_kept: expected.stats.entitiesKept,
        relationships_created: expected.stats.relationshipsCreated,
        relationships_updated: expected.stats.relationshipsUpdated,
        relationships_unchanged: expected.stats.relationshipsUnchanged,
        relationships_deleted: expected.stats.relationshipsDeleted,
        relationships_cascaded: expected.stats.relationshipsCascaded,
        relationships_kept: expected.stats.relationshipsKept,
      });
    }
    const strip = ({ history, ...rest }: Awaited<ReturnType<typeof dumpStore>>) => ({ ...rest, history: history.map(({ committedAt, startedAt, finishedAt, ...h }) => h) });
    expect(strip(await dumpStore(createD1Store(env.DB), ['default', 'globex']))).toEqual(strip(await dumpStore(reference, ['default', 'globex'])));
  });

  it('INV-C04: a dangling relationship is a 422 naming it, and nothing is committed', async () => {
    const body = ingestBody({ relationships: [{ from_type: 'user', from_key: 'u-1', verb: 'ASSIGNED', to_type: 'role', to_key: 'admin' }] });
    const res = await call('/v1/ingest/sync', { body });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'DanglingRelationship', relationship: 'user:u-1 ASSIGNED role:admin' });
    expect(res.body.error.message).toContain('user:u-1 ASSIGNED role:admin');
    expect((await call('/v1/stats')).body).toMatchObject({ entity_count: 0, relationship_count: 0 });
    const runs = await call('/v1/syncs');
    expect(runs.body.syncs[0]).toMatchObject({ trigger: 'ingest', status: 'failed', error: { code: 'DanglingRelationship' } });
  });

  it('a reused sync_id is a 409', async () => {
    await call('/v1/ingest/sync', { body: ingestBody() });
    const res = await call('/v1/ingest/sync', { body: ingestBody() });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'DuplicateSyncId', field: 'sync_id' });
  });

  it('SyncConflict: an ingest whose rows another commit changes under it is committed again from the body; when that one is changed under too, a 409 that says to run again, and nothing of it is committed', async () => {
    // Enough hosts for several units (300 give 5): an ingest changing one host matches the others' units.
    const hosts = (syncId: string, name: string) =>
      ingestBody({ sync_id: syncId, relationships: [], entities: Array.from({ length: 300 }, (_, i) => ({ entity_type: 'host', entity_key: `h-${i + 1}`, entity_class: 'Host', display_name: i === 299 ? name : `host ${i + 1}` })) });
    expect((await call('/v1/ingest/sync', { body: hosts('sync-001', 'first') })).status).toBe(200);
    const direct = createD1Store(env.DB);
    const asInput = (body: ReturnType<typeof hosts>): SyncInput['entities'] =>
      body.entities.map((e) => ({ entityType: e.entity_type, entityKey: e.entity_key, entityClass: e.entity_class, displayName: e.display_name, properties: {} }));
    let interleaved = 0;
    // Ahead of the commit: another connector takes h-1, then a sync of cmdb takes it back (the scope's units made afresh).
    const interleave = async (): Promise<void> => {
      interleaved += 1;
      await commitSync(direct, { accountId: 'default', connectorId: 'other', syncId: `o${interleaved}`, entities: asInput(hosts('', '')).slice(0, 1), relationships: [] });
      await commitSync(direct, { accountId: 'default', connectorId: 'cmdb', syncId: `back${interleaved}`, entities: asInput(hosts('', 'first')), relationships: [] });
    };
    const racing = (commits: number) => baseEnv({ DB: commitsInterleaved(env.DB, commits, interleave) });

    const once = await call('/v1/ingest/sync', { body: hosts('sync-002', 'second'), env: racing(1) });
    expect(once.status, JSON.stringify(once.body)).toBe(200);
    expect(interleaved).toBe(1);
    expect(once.body.stats).toMatchObject({ entities_updated: 1, entities_unchanged: 299 });
    expect((await direct.findEntity('default', 'host', 'h-300'))?.displayName).toBe('second');

    const before = await dumpStore(direct, ['default']);
    const res = await call('/v1/ingest/sync', { body: hosts('sync-003', 'third'), env: racing(Number.POSITIVE_INFINITY) });
    expect(interleaved).toBe(3);
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'SyncConflict' });
    expect(res.body.error.message).toMatch(/run it again/);
    const after = await dumpStore(direct, ['default']);
    expect(after.history.map((h) => h.syncId)).not.toContain('sync-003');
    expect((await direct.findEntity('default', 'host', 'h-300'))?.displayName).toBe('first');
    expect(after.entities.length).toBe(before.entities.length);
    const runs = await call('/v1/syncs?limit=1');
    expect(runs.body.syncs[0]).toMatchObject({ sync_id: 'sync-003', status: 'failed', error: { code: 'SyncConflict' } });
  });

  it.each([
    ['a missing connector_id', ingestBody({ connector_id: undefined }), 'connector_id'],
    ['an empty entity_key', ingestBody({ entities: [{ entity_type: 'host', entity_key: '', entity_class: 'Host' }] }), 'entities[0].entity_key'],
    ['a nested property', ingestBody({ entities: [{ entity_type: 'host', entity_key: 'h', entity_class: 'Host', properties: { owner: { name: 'x' } } }] }), 'entities[0].properties.owner'],
    ['an array of numbers', ingestBody({ relationships: [{ from_type: 'host', from_key: 'h-1', verb: 'HAS', to_type: 'host', to_key: 'h-2', properties: { ports: [22, 80] } }] }), 'relationships[0].properties.ports'],
    ['entities that are not an array', ingestBody({ entities: { entity_type: 'host' } }), 'entities'],
    ['a repeated entity', ingestBody({ entities: [ingestBody().entities[0], ingestBody().entities[0]], relationships: [] }), 'entities[1]'],
  ])('400 for %s, with the field path', async (_what, body, field) => {
    const res = await call('/v1/ingest/sync', { body });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'ValidationFailed', field });
    expect(res.body.error.issues[0].path).toBe(field);
  });

  it('RowTooLarge: a 2.5 MB property is a 413 naming the entity and the field, with the limit, and the graph is unchanged (never a 503 "retry later")', async () => {
    expect((await call('/v1/ingest/sync', { body: ingestBody() })).status).toBe(200);
    const before = await dumpStore(createD1Store(env.DB), ['default']);
    const entities = ingestBody().entities.map((e, i) => (i === 1 ? { ...e, properties: { os: 'debian-12', blob: 'x'.repeat(2_500_000) } } : e));
    const res = await call('/v1/ingest/sync', { body: ingestBody({ sync_id: 'sync-002', entities }) });
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({ code: 'RowTooLarge', field: 'entities[1].properties.blob', limit_bytes: MAX_ROW_BYTES });
    expect(res.body.error.message).toMatch(/^entities\[1\]\.properties\.blob of entity host:h-2 is 2,500,013 bytes and makes the row [\d,]+ bytes, over the limit of 1,000,000 bytes a row/);
    expect(await dumpStore(createD1Store(env.DB), ['default'])).toEqual(before);
    const runs = await call('/v1/syncs?limit=1');
    expect(runs.body.syncs[0]).toMatchObject({ sync_id: 'sync-002', status: 'failed', error: { code: 'RowTooLarge' } });
    // Field names in wire form; a too-large display name as well.
    const named = ingestBody({ sync_id: 'sync-003', entities: [{ entity_type: 'host', entity_key: 'h-9', entity_class: 'Host', display_name: '\u0001'.repeat(200_000) }], relationships: [] });
    const display = await call('/v1/ingest/sync', { body: named });
    expect(display.status).toBe(413);
    expect(display.body.error).toMatchObject({ code: 'RowTooLarge', field: 'entities[0].display_name' });
    expect(display.body.error.message).toMatch(/^entities\[0\]\.display_name of entity host:h-9 is 1,200,002 bytes/);
  });

  it('a lone surrogate (a \\ud800 escape in the JSON) is a 400 naming the field; property names are quoted as sent, never rewritten', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ entity_type: 'host', entity_key: 'h-1', entity_class: 'Host\ud800' }, 'entities[0].entity_class'],
      [{ entity_type: 'host', entity_key: 'h-1', entity_class: 'Host', properties: { 'os\udc00': 'x' } }, 'entities[0].properties["os\\udc00"]'],
      [{ entity_type: 'host', entity_key: 'h-1', entity_class: 'Host', properties: { displayName: '\ud800' } }, 'entities[0].properties.displayName'],
      [{ entity_type: 'host', entity_key: 'h-1', entity_class: 'Host', properties: { constructor: ['ok', '\ud800'] } }, 'entities[0].properties.constructor'],
    ];
    for (const [entity, field] of cases) {
      const res = await call('/v1/ingest/sync', { body: ingestBody({ entities: [entity], relationships: [] }) });
      expect(res.status, field).toBe(400);
      expect(res.body.error, field).toMatchObject({ code: 'ValidationFailed', field });
      expect(res.body.error.message, field).toContain('lone surrogate');
    }
    // A repeated entity keyed with words the wire form renames is named as sent.
    const dup = { entity_type: 'host', entity_key: 'displayName', entity_class: 'Host' };
    const res = await call('/v1/ingest/sync', { body: ingestBody({ entities: [dup, dup], relationships: [] }) });
    expect(res.body.error).toMatchObject({ code: 'ValidationFailed', field: 'entities[1]', message: 'entities[1] repeats entity host:displayName' });
    expect((await call('/v1/stats')).body.entity_count).toBe(0);
  });

  it('a body that would read as "this connector now has nothing" by mistake (entities missing, a misspelt or unknown key, data under __proto__, a misspelt record field) is a 400 naming the key, and every stored row is kept', async () => {
    expect((await call('/v1/ingest/sync', { body: ingestBody() })).status).toBe(200);
    const { entities, relationships } = ingestBody();
    const withoutEntities = { connector_id: 'cmdb', sync_id: 'sync-002' };
    const cases: [string, string][] = [
      [JSON.stringify(withoutEntities), 'entities'],
      [JSON.stringify({ ...withoutEntities, entites: entities }), 'entites'],
      // JSON.parse makes "__proto__" an own key, which a schema that strips unknown keys drops.
      [`{"connector_id":"cmdb","sync_id":"sync-002","entities":[],"__proto__":${JSON.stringify({ entities, relationships })}}`, '__proto__'],
      [JSON.stringify(ingestBody({ sync_id: 'sync-002', entities: [{ ...entities[0], propreties: { os: 'x' } }], relationships: [] })), 'entities[0].propreties'],
      [JSON.stringify(ingestBody({ sync_id: 'sync-002', relationships: [{ ...relationships[0], propertys: {} }] })), 'relationships[0].propertys'],
    ];
    for (const [body, field] of cases) {
      const res = await call('/v1/ingest/sync', { raw: body, headers: { 'content-type': 'application/json' } });
      expect(res.status, field).toBe(400);
      expect(res.body.error, field).toMatchObject({ code: 'ValidationFailed', field });
      expect(res.body.error.message, field).toContain(field);
    }
    expect((await call('/v1/stats')).body).toMatchObject({ entity_count: 3, relationship_count: 2 });
    // An explicit empty list is still how a sender says its connector has nothing left.
    const emptied = await call('/v1/ingest/sync', { body: { connector_id: 'cmdb', sync_id: 'sync-003', entities: [] } });
    expect(emptied.status).toBe(200);
    expect((await call('/v1/stats')).body).toMatchObject({ entity_count: 0, relationship_count: 0 });
  });

  it('only a transient store failure is a 503: a D1 error that would fail again (a missing table: SQLITE_ERROR) is a 500, and nothing is committed', async () => {
    expect((await call('/v1/ingest/sync', { body: ingestBody() })).status).toBe(200);
    await env.DB.prepare('DROP TABLE staged_entities').run();
    const res = await call('/v1/ingest/sync', { body: ingestBody({ sync_id: 'sync-002', entities: ingestBody().entities.slice(0, 2), relationships: [] }) });
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe('StoreFailure');
    expect(res.body.error.message).not.toMatch(/retry/i);
    expect((await call('/v1/stats')).body).toMatchObject({ entity_count: 3, relationship_count: 2 });
    await env.DB.prepare('DROP TABLE relationships').run();
    const read = await call('/v1/stats');
    expect(read.status).toBe(500);
    expect(read.body.error.code).toBe('StoreFailure');
  });

  it('400 for a body that is not JSON, 415 for another content type', async () => {
    const bad = await call('/v1/ingest/sync', { raw: '{"connector_id":', headers: { 'content-type': 'application/json' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('InvalidJson');
    const form = await call('/v1/ingest/sync', { raw: 'a=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    const empty = await call('/v1/ingest/sync', { method: 'POST' });
    expect(empty.status).toBe(400);
    // A type that only starts like JSON is another type (json-seq is records separated by RS, not one JSON text).
    for (const type of ['application/json-seq', 'application/jsonx', 'application/json5', 'application/geo+json-seq']) {
      const res = await call('/v1/ingest/sync', { raw: JSON.stringify(ingestBody()), headers: { 'content-type': type } });
      expect(res.status, type).toBe(415);
    }
    for (const type of ['application/json', 'APPLICATION/JSON; charset=utf-8', 'application/vnd.parallax+json', 'application/json ; charset="UTF-8"']) {
      const res = await call('/v1/ingest/sync', { raw: JSON.stringify(ingestBody({ sync_id: `ct-${type.length}-${type.charCodeAt(0)}` })), headers: { 'content-type': type } });
      expect(res.status, `${type}: ${JSON.stringify(res.body)}`).toBe(200);
    }
    expect((await call('/v1/stats')).body.entity_count).toBe(3);
  });

  /** An ingest body whose one entity key is `h-` then these raw bytes. */
  const withBytes = (key: number[], syncId = 'sync-001'): Uint8Array => {
    const [head, tail] = JSON.stringify(ingestBody({ sync_id: syncId, entities: [{ entity_type: 'host', entity_key: 'h-@', entity_class: 'Host' }], relationships: [] })).split('@') as [string, string];
    const encoder = new TextEncoder();
    return new Uint8Array([...encoder.encode(head), ...key, ...encoder.encode(tail)]);
  };

  it.each([
    ['a lone 0xff byte', [0xff]],
    ['a truncated sequence (0xe2 0x82)', [0xe2, 0x82]],
    ['an overlong encoding of "/" (0xc0 0xaf)', [0xc0, 0xaf]],
    ['a UTF-8-encoded surrogate (0xed 0xa0 0x80)', [0xed, 0xa0, 0x80]],
  ])('invalid UTF-8 in the body (%s) is a 400 InvalidEncoding at its byte offset, never replaced with U+FFFD; nothing is stored', async (_what, key) => {
    const bytes = withBytes(key);
    const res = await call('/v1/ingest/sync', { raw: bytes, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'InvalidEncoding', request_id: res.headers.get('x-request-id') });
    expect(res.body.error.message).toContain('UTF-8');
    const at = bytes.indexOf(key[0]!);
    expect(res.body.error.byte_offset).toBeGreaterThanOrEqual(at);
    expect(res.body.error.byte_offset).toBeLessThan(at + key.length);
    expect((await call('/v1/stats')).body.entity_count).toBe(0);
    expect((await call('/v1/syncs')).body.syncs).toEqual([]);
  });

  it('two keys that differ only in invalid bytes never collide on one stored key', async () => {
    for (const [i, byte] of [0xfe, 0xff].entries()) {
      const res = await call('/v1/ingest/sync', { raw: withBytes([byte], `collide-${i}`), headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(400);
    }
    expect((await call('/v1/entities')).body.entities).toEqual([]);
  });

  it('a UTF-8 byte order mark is ignored (RFC 8259 allows it); a declared charset other than UTF-8 is a 415 naming it', async () => {
    const json = new TextEncoder().encode(JSON.stringify(ingestBody()));
    const bom = await call('/v1/ingest/sync', { raw: new Uint8Array([0xef, 0xbb, 0xbf, ...json]), headers: { 'content-type': 'application/json' } });
    expect(bom.status, JSON.stringify(bom.body)).toBe(200);
    expect((await call(`/v1/entities/${H1}`)).body.entity_key).toBe('h-1');
    for (const [i, type] of ['application/json; charset=UTF-8', 'application/json;charset="utf-8"'].entries()) {
      expect((await call('/v1/ingest/sync', { raw: JSON.stringify(ingestBody({ sync_id: `utf8-${i}` })), headers: { 'content-type': type } })).status).toBe(200);
    }
    for (const charset of ['utf-16', 'ISO-8859-1', 'windows-1252']) {
      const res = await call('/v1/ingest/sync', { raw: JSON.stringify(ingestBody({ sync_id: charset })), headers: { 'content-type': `application/json; charset=${charset}` } });
      expect(res.status).toBe(415);
      expect(res.body.error).toMatchObject({ code: 'UnsupportedMediaType' });
      expect(res.body.error.message).toContain(charset);
    }
    // UTF-16 with its BOM, undeclared: not UTF-8, refused.
    const utf16 = new Uint8Array([0xff, 0xfe, ...[...'{}'].flatMap((ch) => [ch.charCodeAt(0), 0])]);
    expect((await call('/v1/ingest/sync', { raw: utf16, headers: { 'content-type': 'application/json' } })).body.error.code).toBe('InvalidEncoding');
  });

  it('413 past the payload limit, declared or streamed, before anything is committed', async () => {
    const limited = baseEnv({ PARALLAX_MAX_BODY_BYTES: '2000' });
    const big = ingestBody({ entities: Array.from({ length: 40 }, (_, i) => ({ entity_type: 'host', entity_key: `h-${i}`, entity_class: 'Host', display_name: 'x'.repeat(20) })), relationships: [] });
    const declared = await call('/v1/ingest/sync', { body: big, env: limited });
    expect(declared.status).toBe(413);
    expect(declared.body.error).toMatchObject({ code: 'PayloadTooLarge', limit_bytes: 2000 });
    // Chunked, without a Content-Length: the limit is enforced while reading.
    const bytes = new TextEncoder().encode(JSON.stringify(big));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 500) controller.enqueue(bytes.slice(i, i + 500));
        controller.close();
      },
    });
    const streamed = await call('/v1/ingest/sync', { raw: stream, headers: { 'content-type': 'application/json' }, env: limited });
    expect(streamed.status).toBe(413);
    expect((await call('/v1/stats')).body.entity_count).toBe(0);
    expect((await call('/v1/ingest/sync', { body: ingestBody(), env: limited })).status).toBe(200);
  });
});

describe('a refused body is read to its end before the answer (under wrangler dev an unread rest stalls the next request: issue 10, defect 4)', () => {
  /** A body of `total` bytes in 64 KiB chunks (endless when Infinity) that records how much was pulled and whether it was cancelled. */
  function countingBody(total: number) {
    const seen = { pulled: 0, cancelled: false };
    const chunk = new Uint8Array(64 * 1024).fill(0x61);
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (seen.pulled >= total) return controller.close();
        seen.pulled += chunk.byteLength;
        controller.enqueue(chunk);
      },
      cancel() {
        seen.cancelled = true;
      },
    });
    return { stream, seen };
  }

  it.each([
    ['over the limit (413)', 'application/json', 413],
    ['of another content type (415)', 'text/plain', 415],
    ['of another charset (415)', 'application/json; charset=latin1', 415],
  ])('a streamed body %s is read to its end, not cancelled', async (_what, contentType, status) => {
    const { stream, seen } = countingBody(1024 * 1024);
    const res = await call('/v1/ingest/sync', { raw: stream, headers: { 'content-type': contentType }, env: baseEnv({ PARALLAX_MAX_BODY_BYTES: '100000' }) });
    expect(res.status).toBe(status);
    expect(res.body.error.request_id).toBe(res.headers.get('x-request-id'));
    expect(seen).toEqual({ pulled: 1024 * 1024, cancelled: false });
  });

  it('an endless body is cancelled once DISCARD_LIMIT_BYTES more have been dropped', async () => {
    const { stream, seen } = countingBody(Infinity);
    const res = await call('/v1/ingest/sync', { raw: stream, headers: { 'content-type': 'application/json' }, env: baseEnv({ PARALLAX_MAX_BODY_BYTES: '100000' }) });
    expect(res.status).toBe(413);
    expect(seen.cancelled).toBe(true);
    expect(seen.pulled).toBeGreaterThan(DISCARD_LIMIT_BYTES);
    expect(seen.pulled).toBeLessThan(DISCARD_LIMIT_BYTES + 100000 + 4 * 64 * 1024);
  });
});

describe('reads', () => {
  beforeEach(async () => {
    const entities = Array.from({ length: 25 }, (_, i) => ({ entity_type: i % 5 === 0 ? 'user' : 'host', entity_key: `k-${i}`, entity_class: i % 5 === 0 ? 'User' : 'Host' }));
    const relationships = Array.from({ length: 4 }, (_, i) => ({ from_type: 'user', from_key: 'k-0', verb: 'USES', to_type: 'host', to_key: `k-${i + 1}` }));
    expect((await call('/v1/ingest/sync', { body: { connector_id: 'cmdb', sync_id: 's1', entities, relationships } })).status).toBe(200);
  });

  it('GET /v1/stats counts entities and relationships by class and verb', async () => {
    const res = await call('/v1/stats');
    expect(res.body).toEqual({ entity_count: 25, relationship_count: 4, entities_by_class: { Host: 20, User: 5 }, relationships_by_verb: { USES: 4 } });
    expect((await call('/v1/stats?account_id=nobody')).body.entity_count).toBe(0);
  });

  it('GET /v1/stats keeps a class and a verb named __proto__ and the totals add up', async () => {
    const body = {
      connector_id: 'odd',
      sync_id: 'odd-1',
      entities: ['__proto__', 'constructor', 'toString'].map((entity_class, i) => ({ entity_type: 'thing', entity_key: `t-${i}`, entity_class })),
      relationships: ['__proto__', 'hasOwnProperty'].map((verb, i) => ({ from_type: 'thing', from_key: 't-0', verb, to_type: 'thing', to_key: `t-${i + 1}` })),
    };
    expect((await call('/v1/ingest/sync', { body })).status).toBe(200);
    const res = await call('/v1/stats');
    expect(res.status).toBe(200);
    expect(res.body.entities_by_class).toEqual(JSON.parse('{"Host":20,"User":5,"__proto__":1,"constructor":1,"toString":1}'));
    expect(res.body.relationships_by_verb).toEqual(JSON.parse('{"USES":4,"__proto__":1,"hasOwnProperty":1}'));
    expect(Object.keys(res.body.entities_by_class)).toContain('__proto__');
    const sum = (record: Record<string, number>): number => Object.values(record).reduce((a, b) => a + b, 0);
    expect([res.body.entity_count, res.body.relationship_count]).toEqual([28, 6]);
    expect(sum(res.body.entities_by_class)).toBe(res.body.entity_count);
    expect(sum(res.body.relationships_by_verb)).toBe(res.body.relationship_count);
  });

  it('a repeated query parameter (which one would win?) and a limit that is not plain decimal digits (0x10, 1e2, " 5") are a 400 naming the parameter', async () => {
    const cases: [string, string][] = [
      ['/v1/entities?type=user&type=host', 'type'],
      ['/v1/entities?limit=5&limit=5000', 'limit'],
      ['/v1/entities?limit=0x10', 'limit'],
      ['/v1/entities?limit=1e2', 'limit'],
      ['/v1/entities?limit=%205', 'limit'],
      ['/v1/syncs?limit=2.0', 'limit'],
      ['/v1/stats?account_id=a&account_id=b', 'account_id'],
    ];
    for (const [path, field] of cases) {
      const res = await call(path);
      expect(res.status, path).toBe(400);
      expect(res.body.error, path).toMatchObject({ code: 'ValidationFailed', field });
      expect(res.body.error.message, path).toContain(field);
    }
    expect((await call('/v1/entities?limit=7')).body.entities).toHaveLength(7);
  });

  it('GET /v1/entities pages by cursor: every entity once, in id order, with type and class filters', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; body: any } = await call(`/v1/entities?limit=10${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.entities.length).toBeLessThanOrEqual(10);
      seen.push(...res.body.entities.map((e: { id: string }) => e.id));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
    expect([...seen].sort()).toEqual(seen);
    const users = await call('/v1/entities?type=user');
    expect(users.body.entities).toHaveLength(5);
    expect(users.body.entities[0]).toMatchObject({ entity_type: 'user', entity_class: 'User', account_id: 'default', connector_id: 'cmdb', sync_id: 's1', step_id: 'ingest' });
    expect((await call('/v1/entities?class=Host&limit=1000')).body.entities).toHaveLength(20);
    expect((await call('/v1/entities?class=Host&type=user')).body.entities).toHaveLength(0);
  });

  it.each([
    ['/v1/entities?limit=0', 'limit'],
    ['/v1/entities?limit=1001', 'limit'],
    ['/v1/entities?limit=ten', 'limit'],
    ['/v1/entities?cursor=not-a-cursor', 'cursor'],
    ['/v1/entities/not-an-id', 'id'],
    ['/v1/entities/not-an-id/relationships', 'id'],
    [`/v1/entities/${entityId('default', 'user', 'k-0')}/relationships?direction=sideways`, 'direction'],
    ['/v1/syncs?status=exploded', 'status'],
    ['/v1/syncs?cursor=zzz', 'cursor'],
  ])('GET %s is a 400 naming the field', async (path, field) => {
    const res = await call(path);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'ValidationFailed', field });
    expect(res.body.error.message).toMatch(new RegExp(`^(query )?${field}: `));
  });

  it('GET /v1/entities/:id returns the entity or a JSON 404', async () => {
    const id = entityId('default', 'host', 'k-1');
    const res = await call(`/v1/entities/${id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id,
      entity_type: 'host',
      entity_key: 'k-1',
      entity_class: 'Host',
      display_name: 'k-1',
      properties: {},
      account_id: 'default',
      connector_id: 'cmdb',
      sync_id: 's1',
      step_id: 'ingest',
    });
    const missing = await call(`/v1/entities/${'0'.repeat(32)}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NotFound');
  });

  it('GET /v1/entities/:id/relationships follows the direction and pages', async () => {
    const user = entityId('default', 'user', 'k-0');
    const out = await call(`/v1/entities/${user}/relationships?direction=out&limit=3`);
    expect(out.body.relationships).toHaveLength(3);
    expect(out.body.relationships[0]).toMatchObject({ from_id: user, verb: 'USES', from_type: 'user', from_key: 'k-0' });
    const rest = await call(`/v1/entities/${user}/relationships?direction=out&limit=3&cursor=${out.body.next_cursor}`);
    expect(rest.body.relationships).toHaveLength(1);
    expect(rest.body.next_cursor).toBeNull();
    expect((await call(`/v1/entities/${user}/relationships?direction=in`)).body.relationships).toHaveLength(0);
    const host = entityId('default', 'host', 'k-1');
    const incoming = await call(`/v1/entities/${host}/relationships`);
    expect(incoming.body.relationships.map((r: { id: string }) => r.id)).toEqual([relationshipId('default', 'user', 'k-0', 'USES', 'host', 'k-1')]);
    expect((await call(`/v1/entities/${'f'.repeat(32)}/relationships`)).status).toBe(404);
  });
});

describe('connectors and syncs', () => {
  it('GET /v1/connectors lists the registry: schedules, which secrets are set (never their values), the last run', async () => {
    const before = await call('/v1/connectors');
    expect(before.body.connectors).toEqual([
      {
        name: 'inventory',
        description: 'The test inventory API',
        allow_ingest: false,
        secrets: [{ name: 'INVENTORY_TOKEN', configured: true }],
        schedules: [
          { cron: '*/5 * * * *', account_id: 'acme', lease_seconds: 960, last_run: null },
          { cron: '0 3 * * *', account_id: 'globex', lease_seconds: 300, last_run: null },
        ],
      },
    ]);
    expect(JSON.stringify(before.body)).not.toContain('inventory-secret');
    await call('/v1/connectors/inventory/sync', { body: { account_id: 'acme' } });
    const after = await call('/v1/connectors');
    expect(after.body.connectors[0].schedules[0].last_run).toMatchObject({ status: 'succeeded', trigger: 'api', account_id: 'acme' });
    const unset = await call('/v1/connectors', { env: baseEnv({ INVENTORY_TOKEN: undefined }) });
    expect(unset.body.connectors[0].secrets).toEqual([{ name: 'INVENTORY_TOKEN', configured: false }]);
  });

  it('POST /v1/connectors/:name/sync runs it now; a run already in progress is a 409 recorded as skipped', async () => {
    const res = await call('/v1/connectors/inventory/sync', { body: { account_id: 'acme' } });
    expect(res.status).toBe(200);
    expect(res.body.run).toMatchObject({ status: 'succeeded', trigger: 'api', cron: null, connector_id: 'inventory', account_id: 'acme', stats: { entities_created: 5, relationships_created: 3 } });
    expect(upstream.requests.length).toBe(3);

    const held = upstream.hold('/users');
    const first = call('/v1/connectors/inventory/sync', { body: { account_id: 'acme' } });
    await held.reached;
    const overlapping = await call('/v1/connectors/inventory/sync', { body: { account_id: 'acme' } });
    expect(overlapping.status).toBe(409);
    expect(overlapping.body.run).toMatchObject({ status: 'skipped', error: { code: 'LeaseHeld' } });
    held.release();
    expect((await first).status).toBe(200);
  });

  it('POST /v1/connectors/:name/sync: 404 for an unknown connector, 400 when the account is ambiguous, 502 when the run fails', async () => {
    expect((await call('/v1/connectors/nope/sync', { method: 'POST' })).status).toBe(404);
    const ambiguous = await call('/v1/connectors/inventory/sync', { method: 'POST' });
    expect(ambiguous.status).toBe(400);
    expect(ambiguous.body.error).toMatchObject({ field: 'account_id' });
    expect((await call('/v1/connectors/inventory/sync', { body: { account_id: 'initech' } })).status).toBe(404);
    expect((await call('/v1/connectors/inventory/sync', { body: { account_id: 7 } })).status).toBe(400);
    const failed = await call('/v1/connectors/inventory/sync', { body: { account_id: 'acme' }, env: baseEnv({ INVENTORY_TOKEN: undefined }) });
    expect(failed.status).toBe(502);
    expect(failed.body.run).toMatchObject({ status: 'failed', error: { message: expect.stringContaining('INVENTORY_TOKEN') } });
  });

  it('GET /v1/syncs lists runs newest first, filters, and pages by cursor', async () => {
    await call('/v1/connectors/inventory/sync', { body: { account_id: 'acme' } });
    await call('/v1/connectors/inventory/sync', { body: { account_id: 'globex' } });
    await call('/v1/ingest/sync', { body: ingestBody() });
    upstream.failing.set('/hosts', 500);
    await call('/v1/connectors/inventory/sync', { body: { account_id: 'acme' } });
    const all = await call('/v1/syncs');
    expect(all.body.syncs.map((s: { status: string; trigger: string }) => `${s.trigger}:${s.status}`)).toEqual(['api:partial', 'ingest:succeeded', 'api:succeeded', 'api:succeeded']);
    expect(all.body.syncs[0].failed_steps).toEqual([{ step_id: 'hosts', kind: 'Api', message: expect.stringContaining('500') }]);
    expect(all.body.next_cursor).toBeNull();
    const page1 = await call('/v1/syncs?limit=3');
    expect(page1.body.syncs).toHaveLength(3);
    const page2 = await call(`/v1/syncs?limit=3&cursor=${page1.body.next_cursor}`);
    expect(page2.body.syncs).toHaveLength(1);
    expect(page2.body.syncs[0].account_id).toBe('acme');
    expect((await call('/v1/syncs?connector_id=cmdb')).body.syncs).toHaveLength(1);
    expect((await call('/v1/syncs?account_id=globex')).body.syncs).toHaveLength(1);
    expect((await call('/v1/syncs?status=partial')).body.syncs).toHaveLength(1);
  });
});


describe('reserved connector names: a REST ingest never takes over a scheduled connector\'s scope', () => {
  /** A second copy of the inventory connector whose definition opts in to REST ingest. */
  const pushable = defineConnector({
    ...inventoryDefinition,
    name: 'inventory-push',
    allowIngest: true,
    create: (config: { baseUrl: string }, secrets: { INVENTORY_TOKEN: string }) => new InventoryConnector(config.baseUrl, secrets.INVENTORY_TOKEN, 'inventory-push'),
  });
  const mixed = createWorker({
    registry: defineRegistry({
      connectors: [inventoryDefinition, pushable],
      schedules: [
        { cron: '*/5 * * * *', connector: 'inventory', account: 'acme', config: { baseUrl: UPSTREAM } },
        { cron: '*/5 * * * *', connector: 'inventory-push', account: 'acme', config: { baseUrl: UPSTREAM } },
      ],
    }),
    logger: silent,
  });

  it('a registered connector\'s name is reserved: the issue\'s attack (synthetic-aws, the registry account, no entities) is a 403 and every synthetic row is still there', async () => {
    const deployed = createWorker({ registry: deployedRegistry, logger: silent });
    await deployed.scheduled(createScheduledController({ cron: '*/15 * * * *' }), baseEnv(), createExecutionContext());
    const d1 = createD1Store(env.DB);
    const before = await dumpStore(d1, ['demo']);
    expect(before.counts.entities).toBeGreaterThan(1000);
    expect(before.counts.relationships).toBeGreaterThan(2000);

    for (const account of ['demo', undefined, 'other']) {
      const attack = await call('/v1/ingest/sync', {
        worker: deployed,
        body: { connector_id: 'synthetic-aws', sync_id: `takeover-${account}`, ...(account ? { account_id: account } : {}), entities: [] },
      });
      expect(attack.status).toBe(403);
      expect(attack.body.error).toMatchObject({ code: 'ConnectorReserved', connector_id: 'synthetic-aws', request_id: attack.headers.get('x-request-id') });
      expect(attack.body.error.message).toContain('"synthetic-aws"');
      expect(attack.body.error.message).toContain('allowIngest');
    }
    expect(await dumpStore(d1, ['demo'])).toEqual(before);
  });

  it('an ingest for a connector whose definition sets allowIngest: true commits into its scope', async () => {
    const res = await call('/v1/ingest/sync', { worker: mixed, body: ingestBody({ connector_id: 'inventory-push', account_id: 'acme' }) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ connector_id: 'inventory-push', account_id: 'acme', stats: { entities_created: 3, relationships_created: 2 } });
    const listed = await call('/v1/entities?connector_id=inventory-push', { worker: mixed });
    expect(listed.body.entities).toHaveLength(3);
    // The reserved one next to it is still refused.
    expect((await call('/v1/ingest/sync', { worker: mixed, body: ingestBody({ connector_id: 'inventory', sync_id: 'x', account_id: 'acme' }) })).status).toBe(403);
  });

  it('refused ingests are listed in /v1/syncs as skipped with the reason: a reserved name (ConnectorReserved) and a sync in progress (LeaseHeld)', async () => {
    const reserved = await call('/v1/ingest/sync', { worker: mixed, body: ingestBody({ connector_id: 'inventory', sync_id: 'grab', account_id: 'acme' }) });
    expect(reserved.status).toBe(403);

    const held = upstream.hold('/users');
    const running = call('/v1/connectors/inventory-push/sync', { worker: mixed, body: { account_id: 'acme' } });
    await held.reached;
    const overlapping = await call('/v1/ingest/sync', { worker: mixed, body: ingestBody({ connector_id: 'inventory-push', sync_id: 'during', account_id: 'acme' }) });
    expect(overlapping.status).toBe(409);
    expect(overlapping.body.error).toMatchObject({ code: 'SyncInProgress' });
    held.release();
    expect((await running).status).toBe(200);

    const syncs = (await call('/v1/syncs', { worker: mixed })).body.syncs;
    // Newest start first: the api run started (and took the lease) before the overlapping ingest.
    expect(syncs.map((s: { trigger: string; status: string; connector_id: string }) => `${s.trigger}:${s.status}:${s.connector_id}`)).toEqual([
      'ingest:skipped:inventory-push',
      'api:succeeded:inventory-push',
      'ingest:skipped:inventory',
    ]);
    expect(syncs[0]).toMatchObject({ sync_id: 'during', account_id: 'acme', stats: null, error: { code: 'LeaseHeld' } });
    expect(syncs[2]).toMatchObject({ sync_id: 'grab', account_id: 'acme', stats: null, error: { code: 'ConnectorReserved', message: expect.stringContaining('"inventory"') } });
    expect((await call('/v1/syncs?status=skipped', { worker: mixed })).body.syncs).toHaveLength(2);
    expect((await call('/v1/stats', { worker: mixed })).body.entity_count).toBe(5);
  });

  it('GET /v1/connectors: a schedule\'s last_run is its newest cron or api run, never an ingest (allowed or refused)', async () => {
    expect((await call('/v1/connectors/inventory-push/sync', { worker: mixed, body: { account_id: 'acme' } })).status).toBe(200);
    expect((await call('/v1/connectors/inventory/sync', { worker: mixed, body: { account_id: 'acme' } })).status).toBe(200);
    expect((await call('/v1/ingest/sync', { worker: mixed, body: ingestBody({ connector_id: 'inventory-push', account_id: 'acme' }) })).status).toBe(200);
    expect((await call('/v1/ingest/sync', { worker: mixed, body: ingestBody({ connector_id: 'inventory', sync_id: 'grab', account_id: 'acme' }) })).status).toBe(403);
    const listed = (await call('/v1/connectors', { worker: mixed })).body.connectors as { name: string; allow_ingest: boolean; schedules: { last_run: any }[] }[];
    expect(listed.map((c) => [c.name, c.allow_ingest])).toEqual([['inventory', false], ['inventory-push', true]]);
    for (const c of listed) {
      expect(c.schedules[0]!.last_run).toMatchObject({ trigger: 'api', status: 'succeeded', connector_id: c.name, account_id: 'acme' });
    }
  });
});
