/** POST /v1/query inside workerd on a real local D1: Parallax's answer shape, auth, 400 with the position, 422 naming the limit. */
import { applyD1Migrations, createExecutionContext, reset } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { commitSync } from 'parallax-edge';
import { MAX_NESTING } from 'parallax-edge/adapter-kit';
import { createD1Store } from 'parallax-edge/adapters/d1';
import { createWorker } from '../../workers/worker.js';
import { ESTATE, dumpStore, syncInput } from 'parallax-edge/testing';
import { testRegistry } from './support/inventory.js';

const TOKEN = 'test-api-token-0123456789';
const worker = createWorker({ registry: testRegistry(), logger: { log: () => {}, warn: () => {} } });

async function post(body: unknown, token: string | null = TOKEN): Promise<{ status: number; body: any }> {
  const headers = new Headers({ 'content-type': 'application/json' });
  if (token) headers.set('authorization', `Bearer ${token}`);
  const response = await worker.fetch(
    new Request('http://worker.test/v1/query', { method: 'POST', headers, body: JSON.stringify(body) }),
    { ...env, PARALLAX_API_TOKEN: TOKEN } as Cloudflare.Env,
    createExecutionContext(),
  );
  return { status: response.status, body: await response.json() };
}

describe('POST /v1/query (issue 13)', () => {
  beforeEach(async () => {
    await reset();
    await applyD1Migrations(env.DB, env.TEST_MIGRATIONS!);
    await commitSync(createD1Store(env.DB), syncInput({ syncId: 's1', ...ESTATE }));
  });

  it('answers {count, entities: [{id, entity_type, display_name, ...}]} plus the richer fields', async () => {
    const { status, body } = await post({ pql: 'FIND host THAT !PROTECTS edr_agent', account_id: 'acme' });
    expect(status).toBe(200);
    expect(body.count).toBe(2);
    expect(body.entities.map((e: { entity_key: string }) => e.entity_key).sort()).toEqual(['h4', 'web-02']);
    expect(body.entities[0]).toMatchObject({ id: expect.stringMatching(/^[0-9a-f]{32}$/), entity_type: 'host', display_name: expect.any(String) });
    expect(body).toMatchObject({ kind: 'find', groups: [], rows: [], path: null, layers: [], next_cursor: null });
    const path = await post({ pql: "FIND SHORTEST PATH FROM user WITH email = 'alice@corp.com' TO secret" });
    expect(path.body.path.entities.map((e: { entity_key: string }) => e.entity_key)).toEqual(['alice', 'admin_role', 'web-01', 'db-01', 'prod-db-password']);
    expect(path.body.path.relationships.map((r: { verb: string }) => r.verb)).toEqual(['ASSIGNED', 'MANAGES', 'CONNECTS', 'HAS']);
    const paged = await post({ pql: 'FIND Host', limit: 2 });
    expect(paged.body.entities).toHaveLength(2);
    const rest = await post({ pql: 'FIND Host', limit: 10, cursor: paged.body.next_cursor });
    expect(rest.body.entities).toHaveLength(paged.body.count - 2);
  });

  it('a syntax error is a 400 with line, column, expected and found', async () => {
    const { status, body } = await post({ pql: 'FIND host THAT RUN x' });
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: 'PqlSyntaxError', message: "line 1, col 16: expected a verb after THAT, found 'RUN'", line: 1, column: 16, expected: 'a verb after THAT', found: "'RUN'", field: 'pql' });
  });

  it('a hit limit is a 422 naming it; a bad cursor or body a 400; no token a 401', async () => {
    const many = Array.from({ length: 10_001 }, (_, i) => ({ entityType: 'thing', entityKey: String(i), entityClass: 'Generic', displayName: String(i), properties: {} }));
    await commitSync(createD1Store(env.DB), syncInput({ syncId: 'big', connectorId: 'bulk', entities: many }));
    const { status, body } = await post({ pql: 'FIND BLAST RADIUS FROM thing DEPTH 0' });
    expect(status).toBe(422);
    expect(body.error).toMatchObject({ code: 'QueryLimitExceeded', limit: 'results', max: 10_000 });
    expect((await post({ pql: 'FIND *', cursor: 'nope' })).status).toBe(400);
    expect((await post({ query: 'FIND *' })).status).toBe(400);
    expect((await post({ pql: 'FIND *' }, null)).status).toBe(401);
  });

  it('a misspelt or unknown body key (acount_id, limt) is a 400 naming it, never dropped into a query over every account or an unbounded page', async () => {
    for (const [body, field] of [
      [{ pql: 'FIND host', acount_id: 'acme' }, 'acount_id'],
      [{ pql: 'FIND host', limt: 1 }, 'limt'],
    ] as const) {
      const res = await post(body);
      expect(res.status, field).toBe(400);
      expect(res.body.error, field).toMatchObject({ code: 'ValidationFailed', field });
    }
  });

  it('a condition nested deeper than MAX_NESTING (parentheses or NOT) is a 400 PqlSyntaxError naming pql at the position, never a stack overflow reported as the cursor or a 500', async () => {
    for (const [what, pql] of [
      ['parentheses', `FIND host WITH ${'('.repeat(4000)}os = 'linux'${')'.repeat(4000)}`],
      ['NOTs', `FIND host WITH ${'NOT '.repeat(2000)}os = 'linux'`],
    ]) {
      const { status, body } = await post({ pql });
      expect(status, what).toBe(400);
      expect(body.error, what).toMatchObject({ code: 'PqlSyntaxError', field: 'pql', line: 1, column: 16 + MAX_NESTING * (what === 'NOTs' ? 4 : 1) });
      expect(body.error.message, what).toContain(`at most ${MAX_NESTING} nested`);
    }
    // At the limit it still runs.
    const deep = await post({ pql: `FIND host WITH ${'('.repeat(MAX_NESTING)}_key = 'web-01'${')'.repeat(MAX_NESTING)}`, account_id: 'acme' });
    expect(deep.status, JSON.stringify(deep.body)).toBe(200);
    expect(deep.body.count).toBe(1);
  });

  it('a query larger than D1 runs (an expression deeper than D1 takes, a chain of steps deeper than that) is a 422 QueryTooComplex naming pql, never a 500 or a Worker out of memory; the graph is unchanged', async () => {
    const before = await dumpStore(createD1Store(env.DB), ['acme']);
    const cases: [string, string][] = [
      ['120 conditions joined by AND (an expression deeper than 100)', `FIND host WITH ${Array.from({ length: 120 }, () => "os = 'linux'").join(' AND ')}`],
      ['40 undirected steps (nested deeper than 100)', `FIND host${' THAT CONNECTS host'.repeat(40)}`],
    ];
    for (const [what, pql] of cases) {
      const { status, body } = await post({ pql });
      expect(status, `${what}: ${JSON.stringify(body)}`).toBe(422);
      expect(body.error, what).toMatchObject({ code: 'QueryTooComplex', field: 'pql' });
      expect(JSON.stringify(body), what).not.toMatch(/\bat \S+ \(/);
    }
    expect(await dumpStore(createD1Store(env.DB), ['acme'])).toEqual(before);
    // A query the store takes still runs: 12 undirected steps, each writing the rest of the chain once
    // (when each repeated it, 6 already went past D1's depth, and 16 past 100 KB of SQL).
    // And an IN list of 1,000 values: one bound JSON array, where an OR of equalities passed 100 parameters and D1's depth.
    const keys = Array.from({ length: 1000 }, (_, i) => `'k${i}'`).join(', ');
    expect((await post({ pql: `FIND host WITH _key IN (${keys}, 'web-01')`, account_id: 'acme' })).body.count).toBe(1);
    expect((await post({ pql: `FIND host WITH name IN (${keys}) OR _key IN ('web-01', 'db-01')`, account_id: 'acme' })).body.count).toBe(2);
    for (const pql of [`FIND host${' THAT CONNECTS host'.repeat(3)}`, `FIND host${' THAT CONNECTS host'.repeat(12)}`, `FIND host${" THAT CONNECTS host WITH _key != 'x'".repeat(6)}`]) {
      const res = await post({ pql, account_id: 'acme' });
      expect(res.status, `${pql.slice(0, 50)}: ${JSON.stringify(res.body)}`).toBe(200);
      expect(res.body.count, pql.slice(0, 50)).toBeGreaterThan(0);
    }
  });
});
