/**
 * The D1 store's statement plan, in Node: `createD1Store` on a D1 binding
 * that runs each statement on SQLite (D1 is SQLite; `db.batch()` is one
 * transaction, as on D1) and refuses what D1 refuses (100 bound parameters,
 * 100 KB of SQL, 2 MB per value), recorded with the D1 meter. Fast enough
 * for a 100k-row streamed sync; the real D1 runs in d1.workerd.test.ts.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { commitSync, relationshipId, runConnector } from 'parallax-edge';
import { dumpStore, ent, expectCommitError, rel, streamSync, syncInput } from 'parallax-edge/testing';
import { DEFAULT_D1_SPLIT_COMMIT_ROWS, createD1Store, migrateD1, type D1DatabaseLike, type D1PreparedStatementLike, type D1ResultLike } from 'parallax-edge/adapters/d1';
import { D1_LIMITS, numberedParams, utf8Length, type SqlValue } from '../../adapters/sql/index.js';
import { DEFAULT_CHUNK_ROWS } from '../../src/ingest/writer.js';
import { MAX_UNIT_RECORDS } from '../../src/ingest/units.js';
import { meterD1 } from '../workers/support/d1-meter.js';
import { expectWithinD1Limits, stagesRows, summary, touchesGraph, writesGraph } from './support/d1-calls.js';
import { estateConnector } from './support/estate.js';

/** Why D1 would refuse a statement, or undefined. */
function d1Refusal(sql: string, params: readonly unknown[]): string | undefined {
  if (params.length > D1_LIMITS.maxParams) return 'too many SQL variables';
  if (utf8Length(sql) > D1_LIMITS.maxSqlBytes) return 'SQLITE_TOOBIG: SQL statement too long';
  if (params.some((p) => typeof p === 'string' && utf8Length(p) > D1_LIMITS.maxValueBytes)) return 'SQLITE_TOOBIG: string or blob too big';
  return undefined;
}

/** A D1 binding on an in-memory SQLite database: statements bind `?N` values, a batch is one transaction. */
function d1OnSqlite(): D1DatabaseLike {
  const sqlite = new Database(':memory:');
  const exec = (sql: string, params: readonly unknown[]): D1ResultLike<Record<string, unknown>> => {
    const refused = d1Refusal(sql, params);
    if (refused) throw new Error(`D1_ERROR: ${refused}`);
    const prepared = sqlite.prepare(sql);
    const args = params.length > 0 ? [numberedParams(params as SqlValue[])] : [];
    if (prepared.reader) return { results: prepared.all(...args) as Record<string, unknown>[], meta: { changes: 0 } };
    return { results: [], meta: { changes: prepared.run(...args).changes } };
  };
  const source = new WeakMap<object, { sql: string; params: readonly unknown[] }>();
  const statement = (sql: string, params: readonly unknown[] = []): D1PreparedStatementLike => {
    const s: D1PreparedStatementLike = {
      bind: (...values) => statement(sql, values),
      first: async <T,>() => (exec(sql, params).results[0] ?? null) as T | null,
      all: async <T,>() => exec(sql, params) as D1ResultLike<T>,
      run: async <T,>() => exec(sql, params) as D1ResultLike<T>,
    };
    source.set(s, { sql, params });
    return s;
  };
  return {
    prepare: (sql) => statement(sql),
    batch: async <T,>(statements: D1PreparedStatementLike[]) =>
      sqlite.transaction(() => statements.map((s) => exec(source.get(s)!.sql, source.get(s)!.params)))() as D1ResultLike<T>[],
  };
}

describe('D1 statement plan (D1 binding on SQLite, in Node)', () => {
  it('D1 limits and INV-C01: a streamed first sync of 100k rows stays within D1\'s limits, stages about one batch per chunk of rows, and builds the graph tables in bounded batches and swaps them in with one db.batch(); an unchanged re-sync is the fast path', async () => {
    const hosts = 50_000;
    const rows = 2 * hosts;
    const binding = d1OnSqlite();
    await migrateD1(binding);
    const meter = meterD1(binding);
    const store = createD1Store(meter.db);

    const first = await commitSync(store, await runConnector(estateConnector(hosts), { accountId: 'acme', syncId: 'big-1', store }));
    expect(first.stats).toMatchObject({ entitiesCreated: hosts, relationshipsCreated: hosts });
    const firstCalls = [...meter.calls];
    console.info(summary('first sync', rows, firstCalls));

    expectWithinD1Limits(firstCalls);
    // Staging: one batch per chunk of whole units (DEFAULT_CHUNK_ROWS rows, plus less than a unit), each a few statements.
    const staging = firstCalls.filter(stagesRows);
    const perStep = hosts / DEFAULT_CHUNK_ROWS;
    expect(staging.length).toBeGreaterThanOrEqual(2 * Math.floor(hosts / (DEFAULT_CHUNK_ROWS + MAX_UNIT_RECORDS)));
    expect(staging.length).toBeLessThanOrEqual(2 * (perStep + 1));
    for (const call of staging) expect(call.statements.length).toBeLessThanOrEqual(3);
    // Besides staging, a number of batches that grows with rows / splitCommitRows only (and the store's first sync's schema
    // version read): far from D1's 1,000 queries per invocation.
    expect(firstCalls.length - staging.length).toBeLessThanOrEqual(46);
    expect(firstCalls.reduce((n, c) => n + c.statements.length, 0)).toBeLessThan(3 * staging.length + 90);
    // INV-C01: over splitCommitRows, the graph tables are built beside the graph in batches of at most that many
    // rows, and one batch swaps them in with the guards and the sync-run record (D1's only atomic unit).
    expect(firstCalls.filter((c) => c.statements.some((s) => writesGraph(s.sql)))).toHaveLength(0);
    const swaps = firstCalls.filter((c) => c.statements.some((s) => s.sql.startsWith('ALTER TABLE')));
    expect(swaps).toHaveLength(1);
    const commit = swaps[0]!.statements.map((s) => s.sql);
    expect(commit.filter((sql) => sql.startsWith('ALTER TABLE'))).toHaveLength(4);
    expect(commit.some((sql) => sql.startsWith('INSERT INTO commit_guards'))).toBe(true);
    expect(commit.some((sql) => sql.startsWith('INSERT INTO sync_runs'))).toBe(true);
    expect(commit.at(-1)).toMatch(/^SELECT r\.\* FROM sync_runs/);
    const builds = firstCalls.filter((c) => c.statements.some((s) => /^INSERT INTO "(entities|relationships)_next_/.test(s.sql)));
    expect(builds.length).toBeGreaterThanOrEqual(2 * Math.ceil(hosts / DEFAULT_D1_SPLIT_COMMIT_ROWS));
    expect(firstCalls.every((c) => c.kind === 'batch')).toBe(true);

    // +P2: the same run again: no row staged, no statement reads or writes a graph table, one small commit batch.
    meter.reset();
    const again = await commitSync(store, await runConnector(estateConnector(hosts), { accountId: 'acme', syncId: 'big-2', store }));
    expect(again.rowsWritten).toBe(0);
    expect(again.stats).toMatchObject({ entitiesUnchanged: hosts, relationshipsUnchanged: hosts });
    const unchangedCalls = [...meter.calls];
    console.info(summary('unchanged re-sync', rows, unchangedCalls));
    expect(unchangedCalls.filter(stagesRows)).toEqual([]);
    expect(unchangedCalls.flatMap((c) => c.statements).filter((s) => touchesGraph(s.sql)).map((s) => s.sql.slice(0, 80))).toEqual([]);
    const records = unchangedCalls.filter((c) => c.statements.some((s) => s.sql.startsWith('INSERT INTO sync_runs')));
    expect(records).toHaveLength(1);
    expect(records[0]!.statements.length).toBeLessThanOrEqual(3);
    expect(unchangedCalls.length).toBeLessThanOrEqual(10);

    // 1% churn: only the changed units are staged, the commit is one batch again.
    meter.reset();
    const churn = await commitSync(store, await runConnector(estateConnector(hosts, (i) => i % 100 === 0), { accountId: 'acme', syncId: 'big-3', store }));
    expect(churn.stats).toMatchObject({ entitiesUpdated: hosts / 100, entitiesUnchanged: hosts - hosts / 100, relationshipsUnchanged: hosts });
    const churnCalls = [...meter.calls];
    console.info(summary('1% churn re-sync', rows, churnCalls));
    expect(churnCalls.filter((c) => c.statements.some((s) => writesGraph(s.sql)))).toHaveLength(1);
    expect(churnCalls.filter(stagesRows).length).toBeLessThan(staging.length / 2);
    expectWithinD1Limits([...unchangedCalls, ...churnCalls]);
  }, 120_000);

  it('the D1 binding on SQLite refuses what D1 refuses, so the limit checks above can fail', async () => {
    const db = d1OnSqlite();
    await expect(db.prepare(`SELECT ${Array.from({ length: 101 }, (_, i) => `?${i + 1}`).join(', ')}`).bind(...Array.from({ length: 101 }, () => 1)).all()).rejects.toThrow(
      /too many SQL variables/,
    );
    await expect(db.prepare(`SELECT '${'x'.repeat(100_001)}'`).all()).rejects.toThrow(/SQLITE_TOOBIG/);
    await expect(db.prepare('SELECT ?1 AS v').bind('x'.repeat(2_000_001)).first()).rejects.toThrow(/SQLITE_TOOBIG/);
    // And a batch is one transaction: a failing statement undoes the ones before it.
    await db.prepare('CREATE TABLE t (v INTEGER)').run();
    await expect(db.batch([db.prepare('INSERT INTO t VALUES (1)'), db.prepare('INSERT INTO no_such_table VALUES (1)')])).rejects.toThrow();
    expect(await db.prepare('SELECT COUNT(*) AS n FROM t').first()).toEqual({ n: 0 });
  });
});

describe('INV-C04 in a split commit (D1 binding on SQLite, in Node)', () => {
  const RANGE = 10;
  const keys = Array.from({ length: 4 * RANGE + 1 }, (_, i) => `h-${i}`);
  const base = {
    entities: [ent('account', 'root'), ...keys.map((k) => ent('host', k))],
    relationships: keys.map((k) => rel('account:root', 'HAS', `host:${k}`)),
  };
  const rangeChecks = (calls: readonly { statements: readonly { sql: string }[] }[]) =>
    calls.filter((c) => c.statements.some((st) => st.sql.startsWith(`INSERT INTO commit_guards (code) SELECT 'DanglingRelationship' WHERE EXISTS (SELECT 1 FROM (SELECT from_id`)));
  // A missing host whose relationship's id sorts after every other: it falls in the last range.
  const lastKey = (() => {
    const highest = keys.map((k) => relationshipId('acme', 'account', 'root', 'HAS', 'host', k)).sort().at(-1)!;
    for (let i = 0; ; i++) if (relationshipId('acme', 'account', 'root', 'HAS', 'host', `missing-${i}`) > highest) return `missing-${i}`;
  })();

  async function splitStore() {
    const binding = d1OnSqlite();
    await migrateD1(binding);
    const meter = meterD1(binding);
    return { meter, store: createD1Store(meter.db, { splitCommitRows: RANGE }) };
  }

  it(`INV-C04: the staged endpoints are checked in id ranges of at most splitCommitRows relationships, a batch each, not in one pass over the sync`, async () => {
    const { meter, store } = await splitStore();
    const result = await streamSync(store, syncInput({ syncId: 's1', ...base }), 1000);
    expect(result.stats).toMatchObject({ entitiesCreated: keys.length + 1, relationshipsCreated: keys.length });
    // 41 relationships: 5 ranges, then a read that finds none left.
    expect(rangeChecks(meter.calls)).toHaveLength(Math.ceil(keys.length / RANGE) + 1);
    const wholePass = meter.calls.flatMap((c) => c.statements).filter((st) => st.sql.includes('UNION SELECT to_id FROM staged_relationships WHERE +token'));
    expect(wholePass.map((st) => st.sql.slice(0, 60)), 'no statement reads every staged endpoint').toEqual([]);
  });

  it('INV-C04: a split commit refuses a relationship to a missing entity found in its last id range, and a staged one to an entity the commit deletes, with nothing written', async () => {
    const { meter, store } = await splitStore();
    const empty = await dumpStore(store);
    const missing = syncInput({ syncId: 's1', ...base, relationships: [...base.relationships, rel('account:root', 'HAS', `host:${lastKey}`)] });
    await expectCommitError(streamSync(store, missing, 1000), 'DanglingRelationship', `account:root HAS host:${lastKey}`);
    expect(rangeChecks(meter.calls), 'the first ranges pass, the last refuses').toHaveLength(Math.ceil((keys.length + 1) / RANGE));
    expect(await dumpStore(store)).toEqual(empty);

    await streamSync(store, syncInput({ syncId: 's2', ...base }), 1000);
    const before = await dumpStore(store);
    // h-7 is not emitted again, so this commit deletes it, while its relationship changes (so it is staged, not matched).
    const deleted = syncInput({
      syncId: 's3',
      entities: base.entities.filter((e) => e.entityKey !== 'h-7'),
      relationships: base.relationships.map((r) => (r.toKey === 'h-7' ? { ...r, properties: { changed: true } } : r)),
    });
    await expectCommitError(streamSync(store, deleted, 1000), 'DanglingRelationship', 'account:root HAS host:h-7');
    expect(await dumpStore(store)).toEqual(before);
  });
});
