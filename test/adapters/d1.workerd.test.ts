/**
 * The D1 store inside workerd, on a real local D1: the GraphStore contract,
 * the model-based comparison with the memory reference (+P3), D1's
 * per-statement limits on a large sync, batch atomicity (INV-C01) and crash
 * leftovers (+P4).
 */
import { applyD1Migrations, reset } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { CommitError, commitSync, entityId, rowWrites, type SyncInput } from 'parallax-edge';
import { createD1Store, isTransientD1Error, migrateD1, type D1DatabaseLike, type D1PreparedStatementLike } from 'parallax-edge/adapters/d1';
import { describeGraphStoreContract, dumpStore, ent, expectCommitError, rel, sync } from './contract.js';
import { describeModelBased } from './model.js';
import { meterD1 } from '../workers/support/d1-meter.js';

/** D1 state survives between tests of a file: every store starts from an empty, migrated database. */
async function freshDb(): Promise<D1Database> {
  await reset();
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS!);
  return env.DB;
}

describeGraphStoreContract('d1 (workerd)', async () => createD1Store(await freshDb()));
// Tiny batches force the other commit path: staging in several calls, then one promote batch.
describeGraphStoreContract('d1 (workerd, staged in separate batches)', async () =>
  createD1Store(await freshDb(), { maxBatchBytes: 600, chunkBytes: 300 }),
);
describeModelBased('d1 (workerd)', async () => createD1Store(await freshDb()), { numRuns: 40 });

/** A synthetic inventory: hosts with a user each, a USES edge per pair, properties of realistic size. */
function inventory(size: number, syncId: string, version = 0): SyncInput {
  const entities = [];
  const relationships = [];
  for (let i = 0; i < size / 2; i++) {
    // `version` changes every 10th host and drops every 20th user.
    const changed = version > 0 && i % 10 === 0;
    entities.push(
      ent('host', `h-${i}`, {
        entityClass: 'Host',
        properties: { ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, os: changed ? 'debian-13' : 'debian-12', tags: ['prod', `rack-${i % 40}`] },
      }),
    );
    if (version > 0 && i % 20 === 5) continue;
    entities.push(ent('user', `u-${i}`, { entityClass: 'User', properties: { email: `user${i}@example.com`, active: i % 3 !== 0 } }));
    relationships.push(rel(`user:u-${i}`, 'USES', `host:h-${i}`, { properties: { since: '2026-01-01' } }));
  }
  return { connectorId: 'inventory', accountId: 'acme', syncId, entities, relationships, keptSteps: [], failedSteps: [] };
}

describe('D1 limits on a large sync', () => {
  it('INV-C01: 30k entities + 15k relationships stay under 100 params and 100 KB per statement, in few statements, the promote in one batch', async () => {
    const meter = meterD1(await freshDb());
    const store = createD1Store(meter.db);
    const first = await commitSync(store, inventory(30_000, 'big-1'));
    expect(first.stats).toMatchObject({ entitiesCreated: 30_000, relationshipsCreated: 15_000 });
    const firstTotals = meter.totals();

    meter.reset();
    const again = await commitSync(store, inventory(30_000, 'big-2'));
    expect(again.rowsWritten).toBe(0); // +P2
    expect(again.stats).toMatchObject({ entitiesUnchanged: 30_000, relationshipsUnchanged: 15_000 });
    // The unchanged-scope check on the output's input digest recorded it in one small batch, before any batch was
    // prepared: nothing staged, no graph statement.
    expect(meter.calls).toHaveLength(1);
    expect(meter.calls[0]!.statements.length).toBeLessThanOrEqual(3);
    expect(meter.calls[0]!.statements[1]!.sql).toContain('s.input_digest = ?11');
    expect(meter.calls[0]!.statements.some((s) => /staged_|INTO entities|INTO relationships/.test(s.sql))).toBe(false);

    meter.reset();
    const churn = await commitSync(store, inventory(30_000, 'big-3', 1));
    expect(churn.stats).toMatchObject({ entitiesUpdated: 1500, entitiesDeleted: 750, relationshipsDeleted: 750, relationshipsCascaded: 0 });
    expect(churn.rowsWritten).toBe(rowWrites(churn.stats));
    const churnTotals = meter.totals();

    for (const totals of [firstTotals, churnTotals]) {
      expect(totals.maxParams).toBeLessThanOrEqual(100);
      expect(totals.maxSqlBytes).toBeLessThanOrEqual(100_000);
      expect(totals.maxValueBytes).toBeLessThanOrEqual(2_000_000);
      // cleanup + header + a chunk per ~1.5 MB + the fixed promote list: far below D1's 1,000 per invocation.
      expect(totals.statements).toBeLessThan(50);
    }
    // Check, diff and promote: exactly one batch per commit (staging goes along when it fits in maxBatchBytes).
    expect(meter.calls.every((c) => c.kind === 'batch')).toBe(true);
    expect(meter.calls.filter((c) => c.statements.some((s) => s.sql.startsWith('INSERT INTO entities')))).toHaveLength(1);
    // The two unchanged-scope checks (input digest, batch digest), staging, promote.
    expect(firstTotals.batches).toBeLessThanOrEqual(5);
    for (const call of meter.calls) {
      for (const s of call.statements) {
        expect(s.params, s.sql.slice(0, 80)).toBeLessThanOrEqual(100);
        expect(s.sqlBytes, s.sql.slice(0, 80)).toBeLessThanOrEqual(100_000);
      }
    }
  });

  it('INV-C01: a sync bigger than maxBatchBytes stages in several calls and still promotes in exactly one batch', async () => {
    const meter = meterD1(await freshDb());
    const store = createD1Store(meter.db, { maxBatchBytes: 1_000_000 });
    const result = await commitSync(store, inventory(20_000, 'split-1'));
    expect(result.stats.entitiesCreated).toBe(20_000);
    const batches = meter.calls.filter((c) => c.kind === 'batch');
    expect(batches.length).toBeGreaterThan(2);
    const promote = batches.filter((b) => b.statements.some((s) => s.sql.startsWith('INSERT INTO entities')));
    expect(promote).toHaveLength(1);
    // Every graph write and the sync-run record are in that one batch (after the two unchanged-scope checks, which wrote nothing).
    expect(batches[0]!.statements.some((s) => s.sql.includes('s.input_digest = '))).toBe(true);
    expect(batches[1]!.statements.some((s) => s.sql.includes('s.digest = '))).toBe(true);
    const graphWrites = batches.slice(2).flatMap((b) => b.statements).filter((s) => /^(INSERT INTO (entities|relationships|sync_runs)|DELETE FROM (entities|relationships) )/.test(s.sql));
    expect(graphWrites.length).toBeGreaterThan(0);
    expect(graphWrites.every((s) => promote[0]!.statements.includes(s))).toBe(true);
    expect(meter.totals().maxParams).toBeLessThanOrEqual(100);
    expect(meter.totals().maxSqlBytes).toBeLessThanOrEqual(100_000);
  });
});

/** Makes the n-th statement of the next batch that contains `marker` fail, as a database fault would. */
function failingInBatch(inner: D1DatabaseLike, marker: string, mode: 'statement' | 'call'): D1DatabaseLike {
  let armed = true;
  const sqlOf = new WeakMap<object, string>();
  const prepared = (sql: string): D1PreparedStatementLike => {
    const s = inner.prepare(sql);
    const wrap = (st: D1PreparedStatementLike): D1PreparedStatementLike => {
      const out = { bind: (...v: unknown[]) => wrap(st.bind(...v)), first: st.first.bind(st), all: st.all.bind(st), run: st.run.bind(st) };
      sqlOf.set(out, sql);
      real.set(out, st);
      return out as D1PreparedStatementLike;
    };
    return wrap(s);
  };
  const real = new WeakMap<object, D1PreparedStatementLike>();
  return {
    prepare: prepared,
    async batch<T>(statements: D1PreparedStatementLike[]) {
      const sqls = statements.map((s) => sqlOf.get(s) ?? '');
      const unwrapped = statements.map((s) => real.get(s)!);
      if (armed && sqls.some((sql) => sql.includes(marker))) {
        armed = false;
        if (mode === 'call') throw new Error('simulated: the Worker died before this batch reached D1');
        // Keep every statement before the last graph write, then a statement that fails at run time.
        const lastGraph = sqls.findLastIndex((sql) => sql.startsWith('DELETE FROM relationships WHERE id IN'));
        unwrapped.splice(lastGraph, 0, inner.prepare(`INSERT INTO no_such_table VALUES (1)`));
      }
      return inner.batch<T>(unwrapped);
    },
  };
}

describe('D1 atomicity and crashes', () => {
  const base = (syncId: string, extra: Partial<SyncInput> = {}): SyncInput => ({
    connectorId: 'alpha',
    accountId: 'acme',
    syncId,
    entities: [ent('host', 'h-1'), ent('host', 'h-2'), ent('user', 'u-1')],
    relationships: [rel('user:u-1', 'USES', 'host:h-1'), rel('user:u-1', 'USES', 'host:h-2')],
    ...extra,
  });

  it('INV-C01: a statement failing late in the commit batch rolls back the writes before it', async () => {
    const db = await freshDb();
    await commitSync(createD1Store(db), base('s1'));
    const before = await dumpStore(createD1Store(db));
    const store = createD1Store(failingInBatch(db, 'commit_guards', 'statement'));
    // The failure comes after the entity upserts and deletes of this batch ran.
    await expectCommitError(commitSync(store, base('s2', { entities: [ent('host', 'h-1', { displayName: 'changed' }), ent('user', 'u-1')], relationships: [rel('user:u-1', 'USES', 'host:h-1')] })), 'StoreFailure');
    expect(await dumpStore(createD1Store(db))).toEqual(before);
    const { results } = await db.prepare(`SELECT COUNT(*) AS n FROM staged_entities`).all<{ n: number }>();
    expect(results[0]!.n).toBe(0);
  });

  it('+P4: a Worker that dies between staging and promote leaves the graph as it was; a later commit removes the leftovers', async () => {
    const db = await freshDb();
    await commitSync(createD1Store(db), base('s1'));
    const before = await dumpStore(createD1Store(db));
    // Separate staging (tiny batches), and the promote batch never reaches D1.
    const dying = createD1Store(failingInBatch(db, 'commit_guards', 'call'), { maxBatchBytes: 600, chunkBytes: 300 });
    await expect(commitSync(dying, base('s2', { entities: [ent('host', 'h-9')], relationships: [] }))).rejects.toThrow();
    expect(await dumpStore(createD1Store(db))).toEqual(before);
    const leftovers = async () => (await db.prepare(`SELECT COUNT(*) AS n FROM staged_commits`).first<{ n: number }>())!.n;
    // The dying store tried to discard its staged rows; simulate the case where it could not.
    expect(await leftovers()).toBeLessThanOrEqual(1);
    await db.prepare(`INSERT INTO staged_commits (token, account_id, connector_id, sync_id, started_at, finished_at, failed_steps, kept_steps, entity_count, relationship_count, staged_at)
      VALUES ('dead', 'acme', 'alpha', 'sX', '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z', '[]', '[]', 1, 0, '2020-01-01T00:00:00.000Z')`).run();
    await db.prepare(`INSERT INTO staged_entities (token, id, ord, entity_type, entity_key, entity_class, display_name, properties, hash, step_id)
      VALUES ('dead', ?1, 0, 'host', 'h-dead', 'Host', 'x', '{}', 'x', 'main')`).bind(entityId('acme', 'host', 'h-dead')).run();
    // Readers never see staged rows.
    expect(await createD1Store(db).findEntity('acme', 'host', 'h-dead')).toBeUndefined();
    const next = await sync(createD1Store(db), { syncId: 's3', connectorId: 'beta', entities: [ent('host', 'h-3')] });
    expect(next.stats.entitiesCreated).toBe(1);
    expect(await leftovers()).toBe(0);
    expect((await db.prepare(`SELECT COUNT(*) AS n FROM staged_entities`).first<{ n: number }>())!.n).toBe(0);
  });

  it('migrateD1 brings an empty database to the same schema as the migration files, and is idempotent', async () => {
    await reset();
    await migrateD1(env.DB);
    await migrateD1(env.DB);
    const store = createD1Store(env.DB);
    const result = await sync(store, { syncId: 's1', entities: [ent('host', 'h-1')] });
    expect(result.stats.entitiesCreated).toBe(1);
    const version = await env.DB.prepare(`SELECT MAX(version) AS v FROM schema_migrations`).first<{ v: number }>();
    expect(version?.v).toBeGreaterThanOrEqual(2);
  });
});

describe('+P2 the unchanged-scope check on D1', () => {
  it('+P2: an entity deleted and one edited by hand in D1 (outside commits, so the triggers count them) are restored by the next identical sync, which then stages again', async () => {
    const db = await freshDb();
    const meter = meterD1(db);
    const store = createD1Store(meter.db);
    const base = { connectorId: 'alpha', entities: [ent('host', 'h-1'), ent('host', 'h-2')], relationships: [rel('host:h-1', 'CONNECTS', 'host:h-2')] };
    await sync(store, { syncId: 's1', ...base });
    meter.reset();
    expect((await sync(store, { syncId: 's2', ...base })).rowsWritten).toBe(0);
    expect(meter.calls).toHaveLength(1); // the scope check alone

    await db.prepare('DELETE FROM entities WHERE id = ?').bind(entityId('acme', 'host', 'h-2')).run();
    await db.prepare(`UPDATE entities SET hash = 'edited' WHERE id = ?`).bind(entityId('acme', 'host', 'h-1')).run();
    meter.reset();
    const restored = await sync(store, { syncId: 's3', ...base });
    expect(restored.stats).toMatchObject({ entitiesCreated: 1, entitiesUpdated: 1, relationshipsUnchanged: 1 });
    expect(restored.rowsWritten).toBe(rowWrites(restored.stats));
    expect(meter.calls.length).toBeGreaterThan(1); // checked, then staged and promoted
    expect((await dumpStore(store)).entities.map((e) => e.syncId).sort()).toEqual(['s3', 's3']);
  });
});

describe('which D1 failures are transient', () => {
  async function errorOf(run: () => Promise<unknown>): Promise<unknown> {
    try {
      await run();
    } catch (error) {
      return error;
    }
    throw new Error('expected D1 to fail');
  }

  it('isTransientD1Error: D1\'s own SQLite errors (a row too big, a constraint, a missing table) would fail again; Cloudflare\'s retryable ones, also as a cause, are transient', async () => {
    const db = await freshDb();
    await db.prepare('CREATE TABLE probe (a TEXT PRIMARY KEY, b TEXT)').run();
    const refused = [
      await errorOf(() => db.prepare('INSERT INTO probe (a, b) VALUES (?1, ?1)').bind('x'.repeat(1_100_000)).run()),
      await errorOf(() => db.batch([db.prepare("INSERT INTO probe (a) VALUES ('k')"), db.prepare("INSERT INTO probe (a) VALUES ('k')")])),
      await errorOf(() => db.prepare('SELECT * FROM no_such_table').all()),
    ];
    expect(refused.map((e) => (e as Error).message)).toEqual([
      expect.stringContaining('SQLITE_TOOBIG'),
      expect.stringContaining('SQLITE_CONSTRAINT'),
      expect.stringContaining('SQLITE_ERROR'),
    ]);
    for (const error of refused) {
      expect(isTransientD1Error(error)).toBe(false);
      expect(isTransientD1Error(new CommitError('StoreFailure', 'D1 commit failed', { cause: error }))).toBe(false);
    }
    // Cloudflare's wording of the retryable D1 errors.
    for (const message of [
      'D1_ERROR: Network connection lost.',
      'D1 DB storage operation exceeded timeout which caused object to be reset.',
      'D1 DB reset because its code was updated.',
      'D1 DB is overloaded. Requests queued for too long.',
      "D1 DB's isolate exceeded its memory limit and was reset.",
      'Cannot resolve D1 DB due to transient issue on remote node.',
    ]) {
      expect(isTransientD1Error(new CommitError('StoreFailure', 'D1 commit failed', { cause: new Error(message) })), message).toBe(true);
    }
    expect(isTransientD1Error('Network connection lost')).toBe(false);
    expect(isTransientD1Error(undefined)).toBe(false);
  });
});
