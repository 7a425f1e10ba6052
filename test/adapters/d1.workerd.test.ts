/**
 * The D1 store inside workerd, on a real local D1: the GraphStore contract,
 * the model-based comparison with the memory reference (+P3), D1's
 * per-statement limits on a large streamed sync, batch atomicity (INV-C01),
 * a Worker dying between staging and commit (+P4, `stagingLeaseMs`), and
 * `migrateD1` against the migration files.
 */
import { applyD1Migrations, reset } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { CommitError, commitSync, runConnector, type Connector, type GraphStore, type StreamedSyncOutput, type SyncInput } from 'parallax-edge';
import { rowWrites } from 'parallax-edge/adapter-kit';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { D1SchemaError, createD1Store, isTransientD1Error, migrateD1, type D1DatabaseLike, type D1PreparedStatementLike, type D1StoreOptions } from 'parallax-edge/adapters/d1';
import { connectorOf, describeGraphStoreContract, dumpStore, ent, expectCommitError, rel, stats, streamSync, syncInput, describeModelBased } from 'parallax-edge/testing';
import { expectWithinD1Limits, stagesRows, summary, touchesGraph, writesGraph } from './support/d1-calls.js';
import { estateConnector } from './support/estate.js';
import { meterD1 } from '../workers/support/d1-meter.js';
import { SCHEMA_VERSION } from '../../adapters/sql/index.js';

/** D1 state survives between tests of a file: every store starts from an empty, migrated database. */
async function freshDb(): Promise<D1Database> {
  await reset();
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS!);
  return env.DB;
}

describeGraphStoreContract('d1 (workerd)', async () => createD1Store(await freshDb()));
describeGraphStoreContract('d1 (workerd)', async () => createD1Store(await freshDb()), { mode: 'streaming' });
// Tiny chunks: every chunk of rows is several statements.
describeGraphStoreContract('d1 (workerd, 300-byte chunks)', async () => createD1Store(await freshDb(), { chunkBytes: 300 }), { mode: 'streaming' });
describeModelBased('d1 (workerd)', async () => createD1Store(await freshDb()), { numRuns: 40 });
describeModelBased('d1 (workerd)', async () => createD1Store(await freshDb()), { numRuns: 40, mode: 'streaming' });
// Every commit split (plan, writes, swap) and built beside the graph in batches of 3 rows.
describeGraphStoreContract('d1 (workerd, split commits)', async () => createD1Store(await freshDb(), { splitCommitRows: 3 }), { mode: 'streaming' });
describeModelBased('d1 (workerd, split commits)', async () => createD1Store(await freshDb(), { splitCommitRows: 3 }), { numRuns: 25, mode: 'streaming' });


// ---------------------------------------------------------------------------
// What only D1 has to prove.

const STAGING_TABLES = ['staged_syncs', 'staged_entities', 'staged_relationships', 'staged_units', 'staged_confirmed', 'staged_entity_deletes', 'staged_relationship_deletes'];

/** Rows in each staging table of the database. */
async function stagedRows(db: D1DatabaseLike): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of STAGING_TABLES) counts[table] = (await db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>())!.n;
  return counts;
}
const noStagedRows = Object.fromEntries(STAGING_TABLES.map((t) => [t, 0]));

/** The scope's bookkeeping, which a rolled-back commit must leave as it was too. */
async function scopeTables(db: D1DatabaseLike): Promise<unknown> {
  return {
    state: (await db.prepare(`SELECT * FROM scope_state ORDER BY account_id, connector_id`).all()).results,
    units: (await db.prepare(`SELECT * FROM scope_units ORDER BY account_id, connector_id, kind, digest`).all()).results,
  };
}

/**
 * A D1 binding whose batches pass through `edit` (which may change the
 * statement list, or throw as a Worker that died before the call reached D1).
 */
function intercepted(inner: D1DatabaseLike, edit: (sqls: string[], statements: D1PreparedStatementLike[]) => D1PreparedStatementLike[]): D1DatabaseLike {
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
    prepare: (sql) => wrap(inner.prepare(sql), sql),
    batch: async <T,>(statements: D1PreparedStatementLike[]) =>
      inner.batch<T>(edit(statements.map((s) => sqlOf.get(s) ?? ''), statements.map((s) => real.get(s) ?? s))),
  };
}

const run = (connector: Connector, store: ReturnType<typeof createD1Store>, syncId: string, chunkRows?: number): Promise<StreamedSyncOutput> =>
  runConnector(connector, { accountId: 'acme', syncId, store, ...(chunkRows === undefined ? {} : { chunkRows }) });

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('D1: a large streamed sync within D1\'s limits', () => {
  it('D1 limits and INV-C01: a streamed sync of 60k rows into the real D1 keeps every statement within D1\'s limits; its commit (over splitCommitRows) builds the graph tables beside the graph in bounded batches and makes them visible in one db.batch(); an unchanged re-sync touches no graph table; a 1% churn writes exactly the changes in one batch', async () => {
    const hosts = 30_000;
    const meter = meterD1(await freshDb());
    const store = createD1Store(meter.db);
    const first = await commitSync(store, await run(estateConnector(hosts), store, 'big-1'));
    expect(first.stats).toEqual(stats({ entitiesCreated: hosts, relationshipsCreated: hosts }));
    console.info(summary('first sync (workerd)', 2 * hosts, meter.calls));
    expectWithinD1Limits(meter.calls);
    expect(meter.calls.every((c) => c.kind === 'batch')).toBe(true);
    // The live graph tables are never written row by row: built beside them, then swapped in with the sync-run record.
    expect(meter.calls.filter((c) => c.statements.some((s) => writesGraph(s.sql)))).toHaveLength(0);
    const swaps = meter.calls.filter((c) => c.statements.some((s) => /^ALTER TABLE (entities|relationships) RENAME/.test(s.sql)));
    expect(swaps).toHaveLength(1);
    expect(swaps[0]!.statements.some((s) => s.sql.startsWith('INSERT INTO sync_runs'))).toBe(true);
    const builds = meter.calls.filter((c) => c.statements.some((s) => /^INSERT INTO "(entities|relationships)_next_/.test(s.sql)));
    expect(builds.length).toBeGreaterThanOrEqual(4);
    expect(meter.calls.filter(stagesRows).length).toBeGreaterThanOrEqual(2 * Math.floor(hosts / 2256));

    meter.reset();
    const again = await commitSync(store, await run(estateConnector(hosts), store, 'big-2'));
    expect(again.rowsWritten).toBe(0);
    expect(again.stats).toEqual(stats({ entitiesUnchanged: hosts, relationshipsUnchanged: hosts }));
    expectWithinD1Limits(meter.calls);
    expect(meter.calls.filter(stagesRows)).toEqual([]);
    expect(meter.calls.flatMap((c) => c.statements).filter((s) => touchesGraph(s.sql))).toEqual([]);
    expect(meter.calls.filter((c) => c.statements.some((s) => s.sql.startsWith('INSERT INTO sync_runs')))).toHaveLength(1);

    meter.reset();
    const churn = await commitSync(store, await run(estateConnector(hosts, (i) => i % 100 === 0), store, 'big-3'));
    expect(churn.stats).toEqual(stats({ entitiesUpdated: hosts / 100, entitiesUnchanged: hosts - hosts / 100, relationshipsUnchanged: hosts }));
    expect(churn.rowsWritten).toBe(rowWrites(churn.stats));
    expectWithinD1Limits(meter.calls);
    expect(meter.calls.filter((c) => c.statements.some((s) => writesGraph(s.sql)))).toHaveLength(1);
    expect(await stagedRows(meter.db)).toEqual(noStagedRows);
  });
});

describe('D1: atomicity and Workers that die', () => {
  const base = (syncId: string, over: Partial<SyncInput> = {}): SyncInput => ({
    ...syncInput({
      syncId,
      entities: [ent('host', 'h-1'), ent('host', 'h-2'), ent('user', 'u-1')],
      relationships: [rel('user:u-1', 'USES', 'host:h-1'), rel('user:u-1', 'USES', 'host:h-2')],
    }),
    ...over,
  });
  const changed = (syncId: string): SyncInput =>
    base(syncId, { entities: [ent('host', 'h-1', { displayName: 'changed' }), ent('user', 'u-1'), ent('host', 'h-9')], relationships: [rel('user:u-1', 'USES', 'host:h-1')] });

  it('INV-C01: a statement failing late in the commit batch, after every graph write and the scope\'s units, rolls all of it back: graph, history and scope as they were; the sync then commits', async () => {
    const db = await freshDb();
    await streamSync(createD1Store(db), base('s1'));
    await streamSync(createD1Store(db), base('s2'));
    const before = { dump: await dumpStore(createD1Store(db)), scope: await scopeTables(db) };
    let failed = 0;
    const failing = intercepted(db, (sqls, statements) => {
      const at = sqls.findIndex((sql) => sql.startsWith('INSERT INTO scope_units'));
      if (at < 0 || failed++ > 0) return statements;
      expect(sqls.slice(0, at).filter(writesGraph)).toHaveLength(4);
      return [...statements.slice(0, at + 1), db.prepare(`INSERT INTO no_such_table VALUES (1)`), ...statements.slice(at + 1)];
    });
    await expectCommitError(streamSync(createD1Store(failing), changed('s3')), 'StoreFailure');
    expect(failed).toBe(1);
    expect({ dump: await dumpStore(createD1Store(db)), scope: await scopeTables(db) }).toEqual(before);
    expect(await stagedRows(db)).toEqual(noStagedRows);
    const fixed = await streamSync(createD1Store(db), changed('s3'));
    expect(fixed.stats).toEqual(stats({ entitiesCreated: 1, entitiesUpdated: 1, entitiesUnchanged: 1, entitiesDeleted: 1, relationshipsUnchanged: 1, relationshipsDeleted: 1 }));
  });

  it('+P4: a Worker that dies between staging and commit leaves the graph as it was and its staging unseen; later syncs keep the leftovers while they may be a live sync, and remove them once older than stagingLeaseMs', async () => {
    const db = await freshDb();
    await streamSync(createD1Store(db), base('s1'));
    const before = await dumpStore(createD1Store(db));
    // It staged the whole run; then it died: no call reaches D1 any more, neither the commit nor its cleanup.
    let dead = false;
    const dying = intercepted(db, (sqls, statements) => {
      if (dead || sqls.some((sql) => sql.startsWith('INSERT INTO sync_runs'))) {
        dead = true;
        throw new Error('simulated: the Worker died before this batch reached D1');
      }
      return statements;
    });
    const dyingStore = createD1Store(dying);
    await expectCommitError(commitSync(dyingStore, await run(connectorOf(changed('s2')), dyingStore, 's2', 1)), 'StoreFailure');
    const leftovers = await stagedRows(db);
    expect(leftovers.staged_syncs).toBe(1);
    expect(leftovers.staged_entities).toBe(3);
    expect(await dumpStore(createD1Store(db))).toEqual(before);
    expect(await createD1Store(db).findEntity('acme', 'host', 'h-9')).toBeUndefined();

    // Within the lease they may be another Worker's live sync: a sync of another connector leaves them.
    const other = (syncId: string): SyncInput => syncInput({ syncId, connectorId: 'beta', entities: [ent('host', `b-${syncId}`)] });
    expect((await streamSync(createD1Store(db), other('b1'))).stats.entitiesCreated).toBe(1);
    expect(await stagedRows(db)).toEqual(leftovers);
    // Once older than the lease, the next sync removes them, and reports as memory would.
    await sleep(20);
    expect((await streamSync(createD1Store(db, { stagingLeaseMs: 10 }), other('b2'))).stats).toEqual(stats({ entitiesCreated: 1, entitiesDeleted: 1 }));
    expect(await stagedRows(db)).toEqual(noStagedRows);
    // The dead run's sync id was never used.
    expect((await streamSync(createD1Store(db), changed('s2'))).stats.entitiesCreated).toBe(1);
  });

  it('+P4: a sync whose staging a later sync removed as stale (it ran longer than stagingLeaseMs) refuses to commit instead of deleting the rows it lost, and nothing changes', async () => {
    const db = await freshDb();
    await streamSync(createD1Store(db), base('s1'));
    const before = await dumpStore(createD1Store(db));
    const slow = createD1Store(db);
    const output = await run(connectorOf(changed('s2')), slow, 's2', 1);
    await sleep(20);
    const lease: D1StoreOptions = { stagingLeaseMs: 10 };
    await streamSync(createD1Store(db, lease), syncInput({ syncId: 'b1', connectorId: 'beta', entities: [ent('host', 'b-1')] }));
    const beta = await dumpStore(createD1Store(db));
    const error = await expectCommitError(commitSync(slow, output), 'StoreFailure');
    expect(error.message).toMatch(/not all there/);
    expect(await dumpStore(createD1Store(db))).toEqual(beta);
    expect(beta.entities.filter((e) => e.connectorId === 'alpha')).toEqual(before.entities);
    expect(await stagedRows(db)).toEqual(noStagedRows);
  });
});

describe('D1: a commit split into batches (splitCommitRows), swapped in by one', () => {
  /** A D1 binding that runs `before(index, sqls)` ahead of each batch (it may throw: the Worker died before the call reached D1). */
  function hooked(inner: D1DatabaseLike, before: (index: number, sqls: string[]) => Promise<void> | void): D1DatabaseLike & { calls: string[][] } {
    const calls: string[][] = [];
    const sqlOf = new WeakMap<object, string>();
    const wrap = (statement: D1PreparedStatementLike, sql: string): D1PreparedStatementLike => {
      const out: D1PreparedStatementLike = { bind: (...values) => wrap(statement.bind(...values), sql), first: () => statement.first(), all: () => statement.all(), run: () => statement.run() };
      sqlOf.set(out, sql);
      real.set(out, statement);
      return out;
    };
    const real = new WeakMap<object, D1PreparedStatementLike>();
    return {
      calls,
      prepare: (sql) => wrap(inner.prepare(sql), sql),
      batch: async <T,>(statements: D1PreparedStatementLike[]) => {
        const sqls = statements.map((st) => sqlOf.get(st) ?? '');
        await before(calls.length, sqls);
        calls.push(sqls);
        return inner.batch<T>(statements.map((st) => real.get(st) ?? st));
      },
    };
  }
  const hosts = (from: number, to: number, over: (i: number) => Record<string, unknown> = () => ({})) =>
    Array.from({ length: to - from }, (_, i) => ent('host', `h-${from + i}`, over(from + i)));
  const uses = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => rel('user:u-1', 'USES', `host:h-${from + i}`));
  const first = syncInput({ syncId: 'a-1', entities: [...hosts(0, 10), ent('user', 'u-1')], relationships: uses(0, 10) });
  // Another connector's relationship to alpha's h-3: alpha's second sync deletes h-3, INV-03 cascades it.
  const beta = (syncId: string, key = 'b-1') => syncInput({ syncId, connectorId: 'beta', entities: [ent('app', key)], relationships: [rel(`app:${key}`, 'RUNS_ON', 'host:h-3')] });
  // Creates 5, updates 1, keeps 2 unchanged, deletes 7 hosts (and their relationships, one of them beta's).
  const second = syncInput({
    syncId: 'a-2',
    entities: [...hosts(0, 3, (i) => (i === 0 ? { displayName: 'changed' } : {})), ...hosts(10, 15), ent('user', 'u-1')],
    relationships: [...uses(0, 3), ...uses(10, 15)],
  });
  const graphOf = async (store: GraphStore) => {
    const { entities, relationships, counts } = await dumpStore(store);
    return { entities, relationships, counts };
  };
  const builds = async (db: D1DatabaseLike) =>
    (await db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND (name GLOB '*_next_*' OR name GLOB '*_old_*')`).all()).results;
  const split = { splitCommitRows: 4 };

  async function reference(inputs: readonly SyncInput[]) {
    const memory = createMemoryStore();
    const results = [];
    for (const input of inputs) results.push((await streamSync(memory, input)).stats);
    return { stats: results, graph: await graphOf(memory) };
  }

  /** A database with `first` and `beta` committed, and `second` staged; the state a commit of it must leave alone until it lands. */
  async function staged(options: D1StoreOptions = split) {
    const db = await freshDb();
    await streamSync(createD1Store(db, split), first);
    await streamSync(createD1Store(db, split), beta('b-1'));
    const before = { dump: await dumpStore(createD1Store(db)), scope: await scopeTables(db) };
    const watched: { before: (index: number, sqls: string[]) => Promise<void> | void } = { before: () => {} };
    const hook = hooked(db, (index, sqls) => watched.before(index, sqls));
    const store = createD1Store(hook, options);
    const output = await run(connectorOf(second), store, 'a-2');
    hook.calls.length = 0;
    return { db, hook, store, output, before, watched };
  }

  it('INV-C01: a readers\' view between every pair of the commit\'s batches is the graph before it; the swap batch alone makes the new graph visible, with the stats and rows of the memory reference', async () => {
    const expected = await reference([first, beta('b-1'), second]);
    const { db, hook, store, output, before, watched } = await staged();
    let swapAt = -1;
    watched.before = async (index, sqls) => {
      if (swapAt >= 0) return;
      // Between batch index-1 and index: what a reader sees.
      expect({ dump: await dumpStore(createD1Store(db)), scope: await scopeTables(db) }, `before batch ${index}`).toEqual(before);
      if (sqls.some((sql) => /^ALTER TABLE entities RENAME/.test(sql))) swapAt = index;
    };
    const result = await commitSync(store, output);
    expect(result.stats).toEqual(expected.stats[2]);
    expect(result.rowsWritten).toBe(rowWrites(result.stats));
    expect(await graphOf(createD1Store(db))).toEqual(expected.graph);
    // Plan, build (tables, copies, upserts, indexes), swap: many batches, one of them the swap.
    expect(swapAt).toBeGreaterThanOrEqual(8);
    expect(hook.calls.filter((sqls) => sqls.some((sql) => /^ALTER TABLE/.test(sql)))).toHaveLength(1);
    expect(hook.calls.flat().filter(writesGraph)).toEqual([]);
    expect(await builds(db)).toEqual([]);
    expect(await stagedRows(db)).toEqual(noStagedRows);
    // The indexes the migrations made, under the build's names.
    const indexes = (await db.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'entities' AND sql IS NOT NULL ORDER BY name`).all<{ name: string; sql: string }>()).results;
    expect(indexes.map((i) => i.name.split('__')[0])).toEqual(['entities_account_class', 'entities_account_type', 'entities_class', 'entities_scope', 'entities_type']);
  });

  it('INV-C01 and +P4: a Worker dying before any one of the commit\'s batches leaves graph, history and scope exactly as they were, or (after the swap) committed; the next run commits as the memory reference and removes the dead run\'s tables', async () => {
    const expected = await reference([first, beta('b-1'), second]);
    const again = (await reference([first, beta('b-1'), second, { ...second, syncId: 'a-3' }])).stats[3];
    const retried = await reference([first, beta('b-1'), { ...second, syncId: 'a-3' }]);
    const probe = await staged();
    let swapAt = -1;
    probe.watched.before = (index, sqls) => {
      if (sqls.some((sql) => /^ALTER TABLE entities RENAME/.test(sql))) swapAt = index;
    };
    await commitSync(probe.store, probe.output);
    const batches = probe.hook.calls.length;
    expect(swapAt).toBeGreaterThanOrEqual(8);
    expect(batches).toBeGreaterThan(swapAt + 1);
    for (let dieAt = 0; dieAt < batches; dieAt++) {
      const { db, store, output, before, watched } = await staged();
      watched.before = (index) => {
        if (index >= dieAt) throw new Error(`simulated: the Worker died before batch ${index} reached D1`);
      };
      const landed = dieAt > swapAt; // only the cleanups after the swap died
      if (landed) {
        expect((await commitSync(store, output)).stats, `dying at batch ${dieAt}`).toEqual(expected.stats[2]);
      } else {
        await expect(commitSync(store, output), `dying at batch ${dieAt}`).rejects.toThrow(/simulated/);
        expect({ dump: await dumpStore(createD1Store(db)), scope: await scopeTables(db) }, `dying at batch ${dieAt}`).toEqual(before);
      }
      await sleep(5);
      const next = await streamSync(createD1Store(db, { ...split, stagingLeaseMs: 1 }), { ...second, syncId: 'a-3' });
      expect(next.stats, `dying at batch ${dieAt}`).toEqual(landed ? again : retried.stats[2]);
      expect(await graphOf(createD1Store(db)), `dying at batch ${dieAt}`).toEqual(landed ? expected.graph : retried.graph);
      expect(await builds(db), `dying at batch ${dieAt}`).toEqual([]);
      expect(await stagedRows(db), `dying at batch ${dieAt}`).toEqual(noStagedRows);
    }
  });

  it('INV-C01: another connector\'s commit landing between the plan and the swap makes the swap refuse; the commit plans again on the new graph and lands as the memory reference of both in that order', async () => {
    const expected = await reference([first, beta('b-1'), beta('b-2', 'b-2'), second]);
    const { db, hook, store, output, watched } = await staged();
    let landed = false;
    let planned = false;
    watched.before = async (_index, sqls) => {
      if (planned && !landed) {
        landed = true;
        await streamSync(createD1Store(db), beta('b-2', 'b-2'));
      }
      planned ||= sqls.some((sql) => sql.startsWith('INSERT INTO staged_entity_deletes'));
    };
    const result = await commitSync(store, output);
    expect(landed).toBe(true);
    expect(result.stats).toEqual(expected.stats[3]);
    expect(await graphOf(createD1Store(db))).toEqual(expected.graph);
    // Two plans; one swap landed.
    expect(hook.calls.filter((sqls) => sqls.some((sql) => sql.startsWith('INSERT INTO staged_entity_deletes')))).toHaveLength(2);
    expect(await builds(db)).toEqual([]);
  });

  it('a split commit that writes fewer than splitCommitRows rows writes the live graph in one batch after its plan, and a guard of the plan (INV-C04) refuses it with nothing written', async () => {
    const db = await freshDb();
    const store = createD1Store(db, { splitCommitRows: 8 });
    await streamSync(store, first);
    const before = await dumpStore(createD1Store(db));
    const calls: string[][] = [];
    const watched = hooked(db, (_i, sqls) => void calls.push(sqls));
    const small = { ...first, syncId: 'a-2', entities: first.entities.map((e, i) => (i === 0 ? { ...e, displayName: 'renamed' } : e)) };
    const result = await streamSync(createD1Store(watched, { splitCommitRows: 8 }), small);
    expect(result.stats.entitiesUpdated).toBe(1);
    expect(calls.filter((sqls) => sqls.some(writesGraph))).toHaveLength(1);
    expect(calls.flat().some((sql) => sql.startsWith('ALTER TABLE'))).toBe(false);
    const afterSmall = await dumpStore(createD1Store(db));
    expect(afterSmall.history).toHaveLength(before.history.length + 1);
    const dangling = { ...first, syncId: 'a-3', relationships: [...first.relationships, rel('user:u-1', 'USES', 'host:nowhere')] };
    await expectCommitError(streamSync(createD1Store(db, { splitCommitRows: 8 }), dangling), 'DanglingRelationship');
    expect(await dumpStore(createD1Store(db))).toEqual(afterSmall);
    expect(await stagedRows(db)).toEqual(noStagedRows);
  });
});

describe('D1: a big commit, still one batch', () => {
  /** The graph tables' indexes as the database has them. */
  const graphIndexes = async (db: D1DatabaseLike): Promise<unknown[]> =>
    (await db.prepare(`SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('entities', 'relationships') ORDER BY name`).all()).results;
  const syncs = (n: number) =>
    [
      ['bulk-1', estateConnector(n)],
      ['bulk-2', estateConnector(n, (i) => i % 10 === 0)],
      ['bulk-3', estateConnector(3 * n)],
    ] as const;

  it('INV-C01: a commit creating ≥ bulkLoadRows rows drops the graph\'s secondary indexes and builds them again inside its one batch: same stats and rows as without, the migrations\' indexes after; a fault after the rebuild, or a guard refusing a bulk-sized commit, leaves graph and indexes as they were', async () => {
    const plainDb = await freshDb();
    const plain = createD1Store(plainDb, { bulkLoadRows: 0 });
    const expected = [];
    for (const [syncId, connector] of syncs(150)) expected.push((await commitSync(plain, await run(connector, plain, syncId))).stats);
    const rowsOf = async (store: ReturnType<typeof createD1Store>) => {
      const { entities, relationships } = await dumpStore(store);
      return { entities, relationships };
    };
    const expectedRows = await rowsOf(plain);
    const indexes = await graphIndexes(plainDb);
    expect(indexes.length).toBeGreaterThanOrEqual(9);

    const db = await freshDb();
    const batches: string[][] = [];
    let fault: ((sqls: string[]) => number) | undefined;
    const watched = intercepted(db, (sqls, statements) => {
      batches.push(sqls);
      const at = fault?.(sqls) ?? -1;
      if (at < 0) return statements;
      fault = undefined;
      return [...statements.slice(0, at + 1), db.prepare(`INSERT INTO no_such_table VALUES (1)`), ...statements.slice(at + 1)];
    });
    const store = createD1Store(watched, { bulkLoadRows: 100 });
    // A bulk-sized first commit with a dangling relationship: refused whole (its guard runs before the index drop).
    const dangling = syncInput({ syncId: 'bulk-0', entities: Array.from({ length: 200 }, (_, i) => ent('host', `h-${i}`)), relationships: [rel('host:h-0', 'CONNECTS', 'host:nowhere')] });
    await expectCommitError(streamSync(store, dangling), 'DanglingRelationship');
    expect(await graphIndexes(db)).toEqual(indexes);
    // A fault after the graph writes and the rebuild: the drop, the writes and the builds roll back together.
    fault = (sqls) => sqls.findLastIndex((sql) => sql.startsWith('CREATE INDEX'));
    await expectCommitError(commitSync(store, await run(syncs(150)[0][1], store, 'bulk-1')), 'StoreFailure');
    expect(fault).toBeUndefined();
    expect(await graphIndexes(db)).toEqual(indexes);
    expect((await createD1Store(db).counts()).entities).toBe(0);
    expect(await stagedRows(db)).toEqual(noStagedRows);

    batches.length = 0;
    for (const [i, [syncId, connector]] of syncs(150).entries()) {
      expect((await commitSync(store, await run(connector, store, syncId))).stats, syncId).toEqual(expected[i]);
      expect(await graphIndexes(db), syncId).toEqual(indexes);
    }
    expect(await rowsOf(createD1Store(db))).toEqual(expectedRows);
    // The first load and the one tripling the graph rebuilt, in the batch of their graph writes; the churn (nothing created) did not.
    const rebuilt = batches.filter((sqls) => sqls.some((sql) => sql.startsWith('DROP INDEX')));
    expect(rebuilt).toHaveLength(2);
    for (const sqls of rebuilt) {
      const drop = sqls.findIndex((sql) => sql.startsWith('DROP INDEX'));
      const build = sqls.findLastIndex((sql) => sql.startsWith('CREATE INDEX'));
      expect(sqls.slice(drop, build).filter(writesGraph).length).toBeGreaterThanOrEqual(2);
      expect(sqls.filter((sql) => sql.startsWith('CREATE INDEX'))).toHaveLength(indexes.filter((i) => (i as { sql: string | null }).sql !== null).length);
    }
  });

  it('+P4: a commit empties the staging tables whole only when no other sync stages there; while one does, its guard refuses that and the commit removes its own rows only, and the other sync then commits', async () => {
    const db = await freshDb();
    const calls: string[][] = [];
    const watched = intercepted(db, (sqls, statements) => (calls.push(sqls), statements));
    const store = createD1Store(watched);
    const staging = await run(estateConnector(50), store, 'a-1');
    const beta = syncInput({ syncId: 'b-1', connectorId: 'beta', entities: [ent('host', 'b-1')] });
    calls.length = 0;
    expect((await streamSync(store, beta)).stats.entitiesCreated).toBe(1);
    const whole = (sqls: string[]) => sqls.some((sql) => sql.includes(`'StagingShared'`));
    expect(calls.filter(whole)).toHaveLength(1);
    expect(calls.some((sqls) => sqls.includes('DELETE FROM staged_entities WHERE token = ?1'))).toBe(true);
    const left = await stagedRows(db);
    expect(left.staged_syncs).toBe(1);
    expect(left.staged_entities).toBe(50);
    expect(left.staged_relationships).toBe(50);
    calls.length = 0;
    expect((await commitSync(store, staging)).stats).toEqual(stats({ entitiesCreated: 50, relationshipsCreated: 50 }));
    expect(calls.filter(whole)).toHaveLength(1);
    expect(calls.some((sqls) => sqls.includes('DELETE FROM staged_entities WHERE token = ?1'))).toBe(false);
    expect(await stagedRows(db)).toEqual(noStagedRows);
  });
});

describe('D1: migrateD1', () => {
  /** Graph-schema objects of the database (not D1's, nor the Worker's 0100 tables), SQL whitespace collapsed. */
  async function graphSchema(db: D1DatabaseLike): Promise<unknown[]> {
    const worker = new Set(
      env.TEST_MIGRATIONS!.filter((m) => Number(m.name.slice(0, 4)) >= 100)
        .flatMap((m) => m.queries)
        .flatMap((q) => [...q.matchAll(/CREATE (?:TABLE|INDEX) IF NOT EXISTS (\w+)/g)].map((match) => match[1]!)),
    );
    expect(worker.size).toBeGreaterThan(0);
    const { results } = await db
      .prepare(`SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name <> 'd1_migrations' ORDER BY name`)
      .all<{ type: string; name: string; tbl_name: string; sql: string | null }>();
    return results.filter((r) => !worker.has(r.name) && !worker.has(r.tbl_name)).map((r) => ({ ...r, sql: r.sql?.replace(/\s+/g, ' ').trim() }));
  }
  const versions = async (db: D1DatabaseLike): Promise<number[]> =>
    (await db.prepare(`SELECT version FROM schema_migrations ORDER BY version`).all<{ version: number }>()).results.map((r) => r.version);

  it('migrateD1 brings an empty database to the schema the migration files build, SQL included; again, or after the files, it changes nothing; the store syncs on it', async () => {
    const viaFiles = await freshDb();
    const files = { schema: await graphSchema(viaFiles), versions: await versions(viaFiles) };
    expect(files.versions).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    await migrateD1(viaFiles);
    expect({ schema: await graphSchema(viaFiles), versions: await versions(viaFiles) }).toEqual(files);

    await reset();
    await migrateD1(env.DB);
    const viaMigrateD1 = { schema: await graphSchema(env.DB), versions: await versions(env.DB) };
    expect(viaMigrateD1).toEqual(files);
    await migrateD1(env.DB);
    expect({ schema: await graphSchema(env.DB), versions: await versions(env.DB) }).toEqual(files);

    const store = createD1Store(env.DB);
    expect((await streamSync(store, syncInput({ syncId: 's1', entities: [ent('host', 'h-1')] }))).stats.entitiesCreated).toBe(1);
    expect((await streamSync(store, syncInput({ syncId: 's2', entities: [ent('host', 'h-1')] }))).rowsWritten).toBe(0);
  });
});

describe('D1: the schema version a sync needs', () => {
  /** Applies the graph migrations below `version` (and none of the Worker's). */
  async function migratedTo(version: number): Promise<D1Database> {
    await reset();
    await applyD1Migrations(env.DB, env.TEST_MIGRATIONS!.filter((m) => Number(m.name.slice(0, 4)) <= version));
    return env.DB;
  }
  /** Every table's rows, with the names of the database's objects: what a refused sync must leave as it was. */
  async function everything(db: D1DatabaseLike): Promise<unknown> {
    const { results: objects } = await db
      .prepare(`SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name`)
      .all<{ type: string; name: string }>();
    const rows: Record<string, unknown> = {};
    for (const { name } of objects.filter((o) => o.type === 'table')) rows[name] = (await db.prepare(`SELECT * FROM "${name}"`).all()).results;
    return { objects, rows };
  }
  const sync = (store: GraphStore, syncId: string) => streamSync(store, syncInput({ syncId, entities: [ent('host', 'h-1')] }));

  it('a database one migration behind the code refuses a sync with a D1SchemaError (older, its version, the migrations to apply) before anything is written; once migrated, the same store syncs', async () => {
    const db = await migratedTo(SCHEMA_VERSION - 1);
    const before = await everything(db);
    const store = createD1Store(db);
    const error = await sync(store, 's1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(D1SchemaError);
    expect(error).toMatchObject({ code: 'StoreFailure', problem: 'older', version: SCHEMA_VERSION - 1 });
    expect((error as Error).message).toContain(`schema version ${SCHEMA_VERSION - 1}, this parallax-edge needs ${SCHEMA_VERSION}`);
    expect((error as Error).message).toContain('wrangler d1 migrations apply');
    expect(await everything(db)).toEqual(before);

    await migrateD1(db);
    expect((await sync(store, 's1')).stats.entitiesCreated).toBe(1);
  });

  it('a database never migrated refuses a sync with a D1SchemaError (foreign) and gets no table; one migrated by a newer parallax-edge refuses it (newer) with graph and history as they were', async () => {
    await reset();
    const empty = await everything(env.DB);
    const unmigrated = await sync(createD1Store(env.DB), 's1').catch((e: unknown) => e);
    expect(unmigrated).toBeInstanceOf(D1SchemaError);
    expect(unmigrated).toMatchObject({ problem: 'foreign', version: undefined });
    expect((unmigrated as Error).message).toContain('no schema_migrations table');
    expect(await everything(env.DB)).toEqual(empty);

    const db = await freshDb();
    await sync(createD1Store(db), 's1');
    await db.prepare(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, 'from_the_future', '2030-01-01T00:00:00.000Z')`).bind(SCHEMA_VERSION + 1).run();
    const before = await everything(db);
    const newer = await sync(createD1Store(db), 's2').catch((e: unknown) => e);
    expect(newer).toBeInstanceOf(D1SchemaError);
    expect(newer).toMatchObject({ problem: 'newer', version: SCHEMA_VERSION + 1 });
    expect(await everything(db)).toEqual(before);
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
