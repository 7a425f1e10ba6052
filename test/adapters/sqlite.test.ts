import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CommitError,
  MAX_ID_BYTES,
  MAX_ROW_BYTES,
  canonicalProperties,
  commitSync,
  contentHash,
  entityId,
  inputDigest,
  prepareBatch,
  rowWrites,
  type CommitBatch,
  type GraphStore,
  type SyncInput,
  type SyncRecord,
} from 'parallax-edge';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { createSqliteStore, SqliteSchemaError } from 'parallax-edge/adapters/sqlite';
import {
  ALL_LEFTOVERS,
  D1_LIMITS,
  MIGRATIONS,
  SCHEMA_VERSION,
  cleanupStatements,
  commitStatements,
  countsStatements,
  danglingReportStatement,
  discardStatements,
  findEntityStatement,
  getEntityStatement,
  getRelationshipStatement,
  guardFailure,
  historyStatement,
  listEntitiesStatement,
  listRelationshipsStatement,
  migrationSql,
  migrationStatements,
  numberedParams,
  promoteStatements,
  readDanglingReport,
  stageStatements,
  statementLimitProblem,
  utf8Length,
  type SqlStatement,
} from '../../adapters/sql/index.js';
import { describeGraphStoreContract, dumpStore, ent, expectCommitError, rel, syncInput, type StoreDump } from './contract.js';
import { describeModelBased } from './model.js';
import type { CommitOutcome, Task } from './fixtures/sqlite-worker.js';

const dir = mkdtempSync(join(tmpdir(), 'parallax-sqlite-'));
let files = 0;
const freshPath = (): string => join(dir, `store-${++files}.db`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The shared suites, on a real file each time.
describeGraphStoreContract('sqlite (file)', () => createSqliteStore(freshPath()));
describeModelBased('sqlite (file)', () => createSqliteStore(freshPath()), { numRuns: 60 });

// ---------------------------------------------------------------------------
// Helpers

const STAGING_TABLES = ['staged_commits', 'staged_entities', 'staged_relationships', 'staged_entity_deletes', 'staged_relationship_deletes'];

function raw(path: string, options: Database.Options = {}): Database.Database {
  return new Database(path, { timeout: 30_000, ...options });
}

function runRaw(db: Database.Database, s: SqlStatement): Database.RunResult {
  return db.prepare(s.sql).run(...(s.params.length > 0 ? [numberedParams(s.params)] : []));
}

function stagedRowCount(path: string): number {
  const db = raw(path, { readonly: true });
  try {
    return STAGING_TABLES.reduce((n, t) => n + (db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n, 0);
  } finally {
    db.close();
  }
}

/** A dump without `committedAt`, which differs between two stores by nature. */
function comparable(dump: StoreDump): unknown {
  return { ...dump, history: dump.history.map(({ committedAt: _ignored, ...rest }: SyncRecord) => rest) };
}

async function replayOnMemory(inputs: readonly SyncInput[]): Promise<{ store: GraphStore; results: unknown[] }> {
  const store = createMemoryStore();
  const results: unknown[] = [];
  for (const input of inputs) {
    try {
      const { stats, rowsWritten } = await commitSync(store, input);
      results.push({ stats, rowsWritten });
    } catch (error) {
      results.push({ error: (error as CommitError).code });
    }
  }
  return { store, results };
}

/** A first sync with some of everything: entities of two steps, relationships, a kept step later. */
function seedInput(syncId: string, connectorId = 'alpha', n = 5): SyncInput {
  const entities = Array.from({ length: n }, (_, i) => ent('host', `${connectorId}-${i}`, { stepId: i % 2 ? 'odd' : 'even', properties: { i } }));
  const relationships = Array.from({ length: n - 1 }, (_, i) => rel(`host:${connectorId}-${i}`, 'CONNECTS', `host:${connectorId}-${i + 1}`));
  return syncInput({ syncId, connectorId, entities, relationships });
}

function bigInput(n: number, syncId = 'big-1'): SyncInput {
  const entities = Array.from({ length: n }, (_, i) =>
    ent('host', `h-${i}`, {
      entityClass: 'Host',
      displayName: `Host number ${i} — ünïcødé`,
      properties: { ip: `10.0.${i % 256}.${i >> 8}`, tags: ['prod', `rack-${i % 40}`], cpu: i % 64, up: i % 3 === 0, note: null },
      stepId: `step-${i % 4}`,
    }),
  );
  const relationships = Array.from({ length: n }, (_, i) =>
    rel(`host:h-${i}`, 'CONNECTS', `host:h-${(i * 7 + 1) % n}`, { properties: { port: 443 + (i % 5) } }),
  );
  return syncInput({ syncId, entities, relationships });
}

function runWorker(task: Task): Promise<CommitOutcome[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./fixtures/sqlite-worker.mjs', import.meta.url), { workerData: task });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
  });
}

/** Starts a child process that stops in the middle of a commit, prints `ready` and waits to be SIGKILLed. */
async function startCrashingChild(task: Task): Promise<{ kill(): Promise<void> }> {
  const child = spawn(process.execPath, [new URL('./fixtures/sqlite-worker.mjs', import.meta.url).pathname, JSON.stringify(task)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`child exited early (${code}): ${stderr}`)));
  });
  return {
    kill: () =>
      new Promise<void>((resolve) => {
        child.removeAllListeners('exit');
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

// ---------------------------------------------------------------------------

describe('sqlite: schema migrations', () => {
  const versions = (path: string): number[] => {
    const db = raw(path, { readonly: true });
    try {
      return (db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]).map((r) => r.version);
    } finally {
      db.close();
    }
  };

  it('migrations: a new file gets every migration once, in order; reopening applies nothing and keeps the data', async () => {
    const path = freshPath();
    const store = createSqliteStore(path);
    await commitSync(store, seedInput('s1'));
    const before = await dumpStore(store);
    await store.close();
    expect(versions(path)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));

    for (let i = 0; i < 3; i++) {
      const again = createSqliteStore(path);
      expect(await dumpStore(again)).toEqual(before);
      await again.close();
    }
    expect(versions(path)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(migrationStatements(SCHEMA_VERSION, 'now')).toEqual([]);
  });

  it('migrations: a database at an older version is upgraded on open and keeps its rows', async () => {
    const path = freshPath();
    const store = createSqliteStore(path);
    await commitSync(store, seedInput('s1'));
    const before = await dumpStore(store);
    await store.close();
    // Take the file back to version 1: drop what later migrations created.
    const db = raw(path);
    db.exec(
      ['entities', 'relationships'].flatMap((t) => ['insert', 'update', 'delete'].map((op) => `DROP TRIGGER ${t}_scope_${op};`)).join('') +
        'DROP TABLE scope_state; DROP TABLE commits_in_progress;' +
        STAGING_TABLES.map((t) => `DROP TABLE ${t};`).join('') +
        'DROP TABLE commit_guards; DELETE FROM schema_migrations WHERE version > 1;',
    );
    db.close();
    expect(versions(path)).toEqual([1]);

    const upgraded = createSqliteStore(path);
    expect(versions(path)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await dumpStore(upgraded)).toEqual(before);
    const { stats } = await commitSync(upgraded, seedInput('s2'));
    expect(stats.entitiesUnchanged).toBe(5);
    await upgraded.close();
  });

  it('migrations: a database newer than this code is refused with StoreFailure and left untouched', () => {
    const path = freshPath();
    void createSqliteStore(path).close();
    const db = raw(path);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(SCHEMA_VERSION + 1, 'future', 'x');
    db.close();
    const error = (() => {
      try {
        createSqliteStore(path);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(CommitError);
    expect((error as CommitError).code).toBe('StoreFailure');
    expect((error as CommitError).message).toMatch(/newer than this parallax-edge/);
    expect(versions(path)).toEqual([...MIGRATIONS.map((m) => m.version), SCHEMA_VERSION + 1]);
  });

  it('migrations: two handles opening one new file both see it migrated exactly once', async () => {
    const path = freshPath();
    const a = createSqliteStore(path);
    const b = createSqliteStore(path);
    expect(versions(path)).toEqual(MIGRATIONS.map((m) => m.version));
    await Promise.all([a.close(), b.close()]);
  });

  it('migrations: the D1 migration files (migrationSql) build the same schema as the adapter, and the adapter accepts it', async () => {
    const viaAdapter = freshPath();
    void createSqliteStore(viaAdapter).close();
    const viaFiles = freshPath();
    const db = raw(viaFiles);
    for (const m of MIGRATIONS) db.exec(migrationSql(m));
    db.close();
    const schema = (path: string): unknown => {
      const d = raw(path, { readonly: true });
      try {
        return d.prepare(`SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name`).all();
      } finally {
        d.close();
      }
    };
    expect(schema(viaFiles)).toEqual(schema(viaAdapter));
    expect(versions(viaFiles)).toEqual(MIGRATIONS.map((m) => m.version));
    const store = createSqliteStore(viaFiles);
    expect((await commitSync(store, seedInput('s1'))).stats.entitiesCreated).toBe(5);
    await store.close();
  });
});

describe('sqlite: opening, closing, read-only', () => {
  it('opens in WAL mode with a busy timeout', async () => {
    const path = freshPath();
    const store = createSqliteStore({ path, busyTimeoutMs: 1234 });
    const db = raw(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    await store.close();
  });

  it('a closed store refuses commits and reads with StoreFailure; closing twice is fine', async () => {
    const store = createSqliteStore(freshPath());
    await store.close();
    await store.close();
    await expectCommitError(commitSync(store, seedInput('s1')), 'StoreFailure');
    for (const read of [
      () => store.getEntity('0'.repeat(32)),
      () => store.findEntity('acme', 'host', 'h'),
      () => store.listEntities(),
      () => store.getRelationship('0'.repeat(32)),
      () => store.listRelationships(),
      () => store.counts(),
      () => store.syncHistory(),
    ]) {
      await expectCommitError(read(), 'StoreFailure');
    }
  });

  it('a path in a missing directory is a StoreFailure naming the path', () => {
    const path = join(dir, 'no-such-dir', 'graph.db');
    expect(() => createSqliteStore(path)).toThrowError(CommitError);
    try {
      createSqliteStore(path);
    } catch (error) {
      expect((error as CommitError).code).toBe('StoreFailure');
      expect((error as CommitError).message).toContain(path);
    }
  });

  it('read-only: reads work and see commits of another handle; commit is a StoreFailure; a missing file is refused', async () => {
    const path = freshPath();
    const writer = createSqliteStore(path);
    await commitSync(writer, seedInput('s1'));
    const reader = createSqliteStore({ path, readonly: true });
    expect(await dumpStore(reader)).toEqual(await dumpStore(writer));
    await commitSync(writer, seedInput('s2', 'beta'));
    expect((await reader.counts()).entities).toBe(10);
    await expectCommitError(commitSync(reader, seedInput('s3')), 'StoreFailure');
    await Promise.all([reader.close(), writer.close()]);
    expect(() => createSqliteStore({ path: join(dir, 'missing.db'), readonly: true })).toThrowError(/cannot open/);
  });

  it('read-only: an empty file, a non-SQLite file, a foreign database, an older and a newer schema are each a SqliteSchemaError naming its problem, and the file is left byte for byte', () => {
    const sql = (path: string, text: string): void => {
      const db = raw(path);
      db.exec(text);
      db.close();
    };
    const schemaUpTo = (version: number): string => MIGRATIONS.filter((m) => m.version <= version).map(migrationSql).join('\n');
    const cases: [name: string, build: (path: string) => void, problem: string, version?: number][] = [
      ['empty', (path) => writeFileSync(path, ''), 'empty'],
      ['garbage', (path) => writeFileSync(path, 'not a database\n'.repeat(300)), 'not-sqlite'],
      ['short-garbage', (path) => writeFileSync(path, 'x'), 'not-sqlite'],
      ['foreign', (path) => sql(path, 'CREATE TABLE customers (id INTEGER PRIMARY KEY)'), 'foreign'],
      ['foreign-migrations', (path) => sql(path, 'CREATE TABLE schema_migrations (step TEXT)'), 'foreign'],
      ['older', (path) => sql(path, schemaUpTo(SCHEMA_VERSION - 1)), 'older', SCHEMA_VERSION - 1],
      [
        'newer',
        (path) => sql(path, `${schemaUpTo(SCHEMA_VERSION)}\nINSERT INTO schema_migrations (version, name, applied_at) VALUES (${SCHEMA_VERSION + 1}, 'future', 'x');`),
        'newer',
        SCHEMA_VERSION + 1,
      ],
    ];
    const caseDir = mkdtempSync(join(dir, 'schema-'));
    for (const [name, build, problem, version] of cases) {
      const path = join(caseDir, `${name}.db`);
      build(path);
      const before = { bytes: readFileSync(path), mtimeMs: statSync(path).mtimeMs };
      let error: unknown;
      try {
        createSqliteStore({ path, readonly: true });
      } catch (e) {
        error = e;
      }
      expect(error, name).toBeInstanceOf(SqliteSchemaError);
      expect(error, name).toBeInstanceOf(CommitError);
      expect(error, name).toMatchObject({ code: 'StoreFailure', problem, version, path });
      expect((error as Error).message, name).toContain(path);
      expect({ bytes: readFileSync(path), mtimeMs: statSync(path).mtimeMs }, name).toEqual(before);
    }
    expect(readdirSync(caseDir).sort()).toEqual(cases.map(([name]) => `${name}.db`).sort());
  });

  it("':memory:' is a private in-memory store", async () => {
    const store = createSqliteStore(':memory:');
    const { stats } = await commitSync(store, seedInput('s1'));
    expect(stats.entitiesCreated).toBe(5);
    expect(store.path).toBe(':memory:');
    await store.close();
  });
});

describe('sqlite: concurrent commits on one file', () => {
  /** Syncs of several connectors over shared entities, so the commit order matters (takeovers, cascades). */
  function contendedInputs(connectorId: string, count: number): SyncInput[] {
    return Array.from({ length: count }, (_, n) => {
      const own = Array.from({ length: 20 }, (_, i) => ent('host', `${connectorId}-${(i + n) % 25}`, { properties: { n } }));
      const shared = Array.from({ length: 5 }, (_, i) => ent('host', `shared-${(i + n) % 8}`, { properties: { by: connectorId } }));
      const relationships = own.slice(1).map((e, i) => rel(`host:${own[i]!.entityKey}`, 'CONNECTS', `host:${e.entityKey}`));
      relationships.push(...shared.map((e) => rel(`host:${own[0]!.entityKey}`, 'USES', `host:${e.entityKey}`)));
      return syncInput({ syncId: `${connectorId}-${n}`, connectorId, entities: [...own, ...shared], relationships });
    });
  }

  /** Replays the commits in the order the file's history shows, on memory; results and final state must match. */
  async function expectSerializable(path: string, outcomes: readonly CommitOutcome[], inputs: readonly SyncInput[]): Promise<void> {
    const store = createSqliteStore(path);
    const history = [...(await store.syncHistory({ limit: 1000 }))].reverse();
    expect(history.map((r) => r.syncId).sort()).toEqual(inputs.map((i) => i.syncId).sort());
    const bySyncId = new Map(inputs.map((i) => [i.syncId, i]));
    const ordered = history.map((r) => bySyncId.get(r.syncId)!);
    const memory = await replayOnMemory(ordered);
    const outcomeBySyncId = new Map(outcomes.map((o) => [o.syncId, o]));
    history.forEach((record, i) => {
      const outcome = outcomeBySyncId.get(record.syncId)!;
      expect(outcome.ok, outcome.error).toBe(true);
      expect({ stats: outcome.stats, rowsWritten: outcome.rowsWritten }, record.syncId).toEqual(memory.results[i]);
      expect(record.stats).toEqual(outcome.stats);
    });
    expect(comparable(await dumpStore(store))).toEqual(comparable(await dumpStore(memory.store)));
    await store.close();
  }

  it('INV-C01: two handles on one file committing through Promise.all both land, with exact stats and no lost rows', async () => {
    const path = freshPath();
    const a = createSqliteStore(path);
    const b = createSqliteStore(path);
    const inputsA = contendedInputs('alpha', 4);
    const inputsB = contendedInputs('beta', 4);
    const outcomes: CommitOutcome[] = [];
    await Promise.all(
      [
        [a, inputsA],
        [b, inputsB],
      ].map(async ([store, inputs]) => {
        for (const input of inputs as SyncInput[]) {
          const result = await commitSync(store as GraphStore, input);
          outcomes.push({ syncId: input.syncId, ok: true, stats: result.stats, rowsWritten: result.rowsWritten });
        }
      }),
    );
    await Promise.all([a.close(), b.close()]);
    await expectSerializable(path, outcomes, [...inputsA, ...inputsB]);
  });

  it('INV-C01: worker threads committing at the same time on one file serialize: every commit lands once, stats equal a memory replay in commit order', async () => {
    const path = freshPath();
    void createSqliteStore(path).close();
    const connectors = ['alpha', 'beta', 'gamma'];
    const inputs = connectors.map((c) => contendedInputs(c, 12));
    const barrier = new SharedArrayBuffer(4);
    const perWorker = await Promise.all(
      inputs.map((list) => runWorker({ kind: 'commit', path, inputs: list, barrier, workers: connectors.length })),
    );
    const outcomes = perWorker.flat();
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    // The workers really ran at the same time: each started before any other had finished.
    const lastStart = Math.max(...perWorker.map((list) => list[0]!.began!));
    const firstEnd = Math.min(...perWorker.map((list) => list.at(-1)!.ended!));
    expect(lastStart).toBeLessThanOrEqual(firstEnd);
    await expectSerializable(path, outcomes, inputs.flat());
  }, 60_000);
});

describe('+P4 crashes before promote', () => {
  it('+P4: a process killed after staging (the promote never ran) leaves the graph unchanged, readers never see the staged rows, and the next commit removes the leftovers', async () => {
    const path = freshPath();
    const store = createSqliteStore(path);
    await commitSync(store, seedInput('s1'));
    const before = await dumpStore(store);

    const crashed = syncInput({ syncId: 's2', entities: [ent('host', 'new-1'), ent('host', 'new-2')], relationships: [rel('host:new-1', 'HAS', 'host:new-2')] });
    const child = await startCrashingChild({ kind: 'crash', path, input: crashed, at: 'staged' });
    await child.kill();
    expect(stagedRowCount(path)).toBeGreaterThan(0);
    expect(await dumpStore(store)).toEqual(before);

    const reopened = createSqliteStore(path);
    expect(await dumpStore(reopened)).toEqual(before);
    expect(await reopened.findEntity('acme', 'host', 'new-1')).toBeUndefined();
    // The next commit (even an unchanged one, even of another connector) cleans up and reports exactly.
    const next = await commitSync(reopened, seedInput('s3', 'beta'));
    expect(stagedRowCount(path)).toBe(0);
    const memory = await replayOnMemory([seedInput('s1'), seedInput('s3', 'beta')]);
    expect({ stats: next.stats, rowsWritten: next.rowsWritten }).toEqual(memory.results[1]);
    expect(comparable(await dumpStore(reopened))).toEqual(comparable(await dumpStore(memory.store)));
    // The crashed sync id was never used up.
    expect((await commitSync(reopened, crashed)).stats.entitiesCreated).toBe(2);
    await Promise.all([store.close(), reopened.close()]);
  }, 30_000);

  it('+P4: a process killed inside the commit transaction leaves the graph unchanged; readers meanwhile see the old graph; the lock is released', async () => {
    const path = freshPath();
    const store = createSqliteStore({ path, busyTimeoutMs: 200 });
    await commitSync(store, seedInput('s1'));
    const before = await dumpStore(store);

    // Deletes every seed row and creates others: promote ran in full, COMMIT never came.
    const crashed = syncInput({ syncId: 's2', entities: [ent('host', 'other')] });
    const child = await startCrashingChild({ kind: 'crash', path, input: crashed, at: 'uncommitted' });
    expect(await dumpStore(store)).toEqual(before);
    // While the dead-to-be writer holds the lock, a commit waits, then fails whole.
    await expectCommitError(commitSync(store, seedInput('s3', 'beta')), 'StoreFailure');
    await child.kill();

    expect(await dumpStore(store)).toEqual(before);
    const reopened = createSqliteStore(path);
    expect(await dumpStore(reopened)).toEqual(before);
    expect(stagedRowCount(path)).toBe(0);
    const result = await commitSync(reopened, crashed);
    expect(result.stats).toMatchObject({ entitiesCreated: 1, entitiesDeleted: 5, relationshipsDeleted: 4 });
    await Promise.all([store.close(), reopened.close()]);
  }, 30_000);

  it('+P4: cleanup with a lease keeps another commit\'s fresh staged rows; a promote whose staged rows went missing refuses to run', () => {
    const path = freshPath();
    void createSqliteStore(path).close();
    const db = raw(path);
    const batch = prepareBatch(seedInput('s1'));
    const stage = (token: string, at: string): void => void db.transaction(() => stageStatements(batch, token, at).forEach((s) => runRaw(db, s)))();
    stage('old', '2026-01-01T00:00:00.000Z');
    stage('fresh', '2026-01-01T00:10:00.000Z');
    const tokens = (): string[] => (db.prepare('SELECT DISTINCT token FROM staged_entities ORDER BY token').all() as { token: string }[]).map((r) => r.token);
    expect(tokens()).toEqual(['fresh', 'old']);
    // A store staging in a separate call passes now - lease: only the stale token goes.
    db.transaction(() => cleanupStatements('mine', '2026-01-01T00:05:00.000Z').forEach((s) => runRaw(db, s)))();
    expect(tokens()).toEqual(['fresh']);
    // If a cleanup took rows from under a staged commit, its promote aborts instead of deleting the rest.
    db.prepare(`DELETE FROM staged_entities WHERE token = 'fresh' AND rowid IN (SELECT rowid FROM staged_entities LIMIT 1)`).run();
    let thrown: unknown;
    try {
      db.transaction(() => promoteStatements('fresh', 'now').forEach((s) => runRaw(db, s)))();
    } catch (error) {
      thrown = error;
    }
    expect(guardFailure(thrown)).toBe('StagingIncomplete');
    expect((db.prepare('SELECT COUNT(*) AS n FROM entities').get() as { n: number }).n).toBe(0);
    db.transaction(() => cleanupStatements('mine', ALL_LEFTOVERS).forEach((s) => runRaw(db, s)))();
    db.close();
    expect(stagedRowCount(path)).toBe(0);
  });
});

describe('+P2 zero writes, measured by SQLite', () => {
  it('+P2: an unchanged re-sync writes no entity or relationship row (counted by triggers on the graph tables), and rowsWritten equals what SQLite saw', async () => {
    const path = freshPath();
    const store = createSqliteStore(path);
    const db = raw(path);
    db.exec(`CREATE TABLE graph_writes (tbl TEXT NOT NULL, op TEXT NOT NULL)`);
    for (const table of ['entities', 'relationships']) {
      for (const op of ['INSERT', 'UPDATE', 'DELETE']) {
        db.exec(`CREATE TRIGGER count_${table}_${op} AFTER ${op} ON ${table} BEGIN INSERT INTO graph_writes VALUES ('${table}', '${op}'); END`);
      }
    }
    const writes = (): number => (db.prepare('SELECT COUNT(*) AS n FROM graph_writes').get() as { n: number }).n;

    const first = await commitSync(store, bigInput(500, 's1'));
    expect(writes()).toBe(1000);
    expect(first.rowsWritten).toBe(1000);

    const before = writes();
    const dataVersion = db.pragma('data_version', { simple: true });
    const again = await commitSync(store, bigInput(500, 's2'));
    expect(again.rowsWritten).toBe(0);
    expect(again.stats).toMatchObject({ entitiesUnchanged: 500, relationshipsUnchanged: 500 });
    expect(writes() - before).toBe(0);
    // The commit did land (its history row), so SQLite saw a transaction, just no graph row writes.
    expect(db.pragma('data_version', { simple: true })).not.toBe(dataVersion);

    // A mixed commit: the rows SQLite saw written are exactly rowsWritten, and rowWrites(stats).
    const input = bigInput(500, 's3');
    const mixed = {
      ...input,
      entities: input.entities.slice(0, 400).map((e, i) => (i % 10 === 0 ? { ...e, displayName: 'changed' } : e)),
      relationships: input.relationships.filter((r) => Number(r.fromKey.slice(2)) < 400 && Number(r.toKey.slice(2)) < 400),
    };
    const beforeMixed = writes();
    const result = await commitSync(store, mixed);
    expect(writes() - beforeMixed).toBe(result.rowsWritten);
    expect(result.rowsWritten).toBe(rowWrites(result.stats));
    expect(result.stats.entitiesDeleted).toBe(100);
    db.close();
    await store.close();
  });
});

/** The store, with the batches `commitSync` hands to its `commit` kept in `batches`. */
function spyOnCommit(store: GraphStore): { store: GraphStore; batches: CommitBatch[] } {
  const batches: CommitBatch[] = [];
  return { store: { ...store, commit: (batch) => (batches.push(batch), store.commit(batch)) }, batches };
}

describe('+P2 the unchanged-scope check (adapters/sql/scope.ts)', () => {
  const ownStatements = (statements: string[]) => statements.filter((sql) => !/^(BEGIN|COMMIT)/.test(sql));
  const staged = (statements: string[]): boolean => statements.some((sql) => sql.startsWith('INSERT INTO temp.staged_entities'));

  it('+P2: an unchanged batch is recorded from the scope\'s batch digest: no row staged, no graph statement run, one row written (the sync run)', async () => {
    const statements: string[] = [];
    const store = createSqliteStore({ path: freshPath(), trace: (sql) => statements.push(sql) });
    await store.commit(prepareBatch(bigInput(300, 's1')));
    expect(staged(statements)).toBe(true);

    statements.length = 0;
    const again = await store.commit(prepareBatch(bigInput(300, 's2')));
    expect(again.stats).toMatchObject({ entitiesUnchanged: 300, relationshipsUnchanged: 300 });
    expect(again.rowsWritten).toBe(0);
    const run = ownStatements(statements);
    expect(run.some((sql) => /staged_|INTO entities|INTO relationships|FROM entities|FROM relationships/.test(sql))).toBe(false);
    expect(run).toHaveLength(3);
    expect(run[1]).toMatch(/^INSERT INTO sync_runs .* FROM scope_state s WHERE .* s\.digest = '[0-9a-f]+'/s);
    await store.close();
  });

  it('+P2: an output equal to the one the scope was last committed from is recorded before any batch is prepared: commitIfUnchanged answers, the store\'s commit is never called, three statements run', async () => {
    const statements: string[] = [];
    const spy = spyOnCommit(createSqliteStore({ path: freshPath(), trace: (sql) => statements.push(sql) }));
    await commitSync(spy.store, bigInput(300, 's1'));
    expect(spy.batches).toHaveLength(1);
    expect(spy.batches[0]!.inputDigest).toBe(inputDigest(bigInput(300, 's1')));

    statements.length = 0;
    const again = await commitSync(spy.store, bigInput(300, 's2'));
    expect(spy.batches).toHaveLength(1);
    expect(again.stats).toMatchObject({ entitiesUnchanged: 300, relationshipsUnchanged: 300 });
    expect(again.rowsWritten).toBe(0);
    expect(again.record).toMatchObject({ syncId: 's2', connectorId: 'alpha', keptSteps: [], failedSteps: [] });
    const run = ownStatements(statements);
    expect(run).toHaveLength(3);
    expect(run[1]).toMatch(/FROM scope_state s WHERE .* s\.input_digest = '[0-9a-f]+'/s);
    await spy.store.close();
  });

  it('+P2: commitIfUnchanged with a digest the scope does not hold answers undefined and writes nothing; a reused sync id is DuplicateSyncId either way', async () => {
    const path = freshPath();
    const store = createSqliteStore(path);
    const input = seedInput('s1');
    await commitSync(store, input);
    const before = await dumpStore(store);
    const run = { ...input, syncId: 's2', failedSteps: [], startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:00.000Z', entities: 5, relationships: 4 };
    expect(await store.commitIfUnchanged!({ ...run, inputDigest: 'f'.repeat(64) })).toBeUndefined();
    expect(await store.commitIfUnchanged!({ ...run, connectorId: 'beta', inputDigest: inputDigest(input)! })).toBeUndefined();
    expect(await dumpStore(store)).toStrictEqual(before);
    for (const digest of ['f'.repeat(64), inputDigest(input)!]) {
      await expect(store.commitIfUnchanged!({ ...run, syncId: 's1', inputDigest: digest })).rejects.toMatchObject({ code: 'DuplicateSyncId' });
    }
    expect(await dumpStore(store)).toStrictEqual(before);
    const unchanged = await store.commitIfUnchanged!({ ...run, inputDigest: inputDigest(input)! });
    expect(unchanged).toMatchObject({ rowsWritten: 0, record: { syncId: 's2', startedAt: run.startedAt }, stats: { entitiesUnchanged: 5, relationshipsUnchanged: 4 } });
    await store.close();
    const readonly = createSqliteStore({ path, readonly: true });
    await expect(readonly.commitIfUnchanged!({ ...run, syncId: 's3', inputDigest: inputDigest(input)! })).rejects.toMatchObject({ code: 'StoreFailure' });
    await readonly.close();
  });

  it('+P2: the same rows in another order are prepared and found unchanged by the batch digest without staging, and that order becomes the scope\'s: the next identical output is not prepared', async () => {
    const statements: string[] = [];
    const spy = spyOnCommit(createSqliteStore({ path: freshPath(), trace: (sql) => statements.push(sql) }));
    const reversed = (syncId: string): SyncInput => {
      const input = bigInput(300, syncId);
      return { ...input, entities: [...input.entities].reverse(), relationships: [...input.relationships].reverse() };
    };
    await commitSync(spy.store, bigInput(300, 's1'));
    statements.length = 0;
    const again = await commitSync(spy.store, reversed('s2'));
    expect(again.stats).toMatchObject({ entitiesUnchanged: 300, relationshipsUnchanged: 300 });
    expect(again.rowsWritten).toBe(0);
    expect(spy.batches).toHaveLength(2);
    expect(staged(statements)).toBe(false);
    expect(statements.some((sql) => sql.startsWith('UPDATE scope_state SET input_digest'))).toBe(true);

    statements.length = 0;
    expect((await commitSync(spy.store, reversed('s3'))).rowsWritten).toBe(0);
    expect(spy.batches).toHaveLength(2);
    expect(ownStatements(statements)).toHaveLength(3);
    // And the first order is now a batch-digest match again, not a full commit.
    statements.length = 0;
    expect((await commitSync(spy.store, bigInput(300, 's4'))).rowsWritten).toBe(0);
    expect(spy.batches).toHaveLength(3);
    expect(staged(statements)).toBe(false);
    await spy.store.close();
  });

  it('+P2/+P1: after a run that kept rows, the same complete output as before is prepared and committed in full, and deletes what no step emits', async () => {
    const spy = spyOnCommit(createSqliteStore(freshPath()));
    const complete = (syncId: string): SyncInput => seedInput(syncId);
    await commitSync(spy.store, complete('s1'));
    const partial = seedInput('s2');
    await commitSync(spy.store, { ...partial, entities: [...partial.entities, ent('host', 'extra', { stepId: 'odd' })], keptSteps: ['odd'], failedSteps: ['odd'] });
    expect(spy.batches).toHaveLength(2);
    const result = await commitSync(spy.store, complete('s3'));
    expect(spy.batches).toHaveLength(3);
    expect(result.stats).toMatchObject({ entitiesDeleted: 1, entitiesUnchanged: 5 });
    await spy.store.close();
  });

  it('+P2: rows deleted, inserted or edited by hand count as writes to the scope (triggers), so the next identical sync restores the stored rows, as memory would', async () => {
    const path = freshPath();
    const store = createSqliteStore(path);
    const input = (syncId: string): SyncInput => ({ ...seedInput('x'), syncId });
    await commitSync(store, input('s1'));
    const stored = await dumpStore(store);
    const db = raw(path);
    const hostId = entityId('acme', 'host', 'alpha-0');

    db.prepare('DELETE FROM entities WHERE id = ?').run(hostId);
    const restored = await commitSync(store, input('s2'));
    expect(restored.stats).toMatchObject({ entitiesCreated: 1, entitiesUnchanged: 4, relationshipsUnchanged: 4 });

    db.prepare(`UPDATE entities SET properties = '{"i":99}', hash = 'edited' WHERE id = ?`).run(hostId);
    expect((await commitSync(store, input('s3'))).stats).toMatchObject({ entitiesUpdated: 1, entitiesUnchanged: 4 });

    db.prepare(
      `INSERT INTO entities (id, account_id, connector_id, sync_id, step_id, entity_type, entity_key, entity_class, display_name, properties, hash)
       VALUES ('by-hand', 'acme', 'alpha', 'manual', 'even', 'host', 'by-hand', 'Host', 'by hand', '{}', 'h')`,
    ).run();
    expect((await commitSync(store, input('s4'))).stats).toMatchObject({ entitiesDeleted: 1, entitiesUnchanged: 5 });

    const rows = (d: Awaited<ReturnType<typeof dumpStore>>) => ({
      entities: d.entities.map(({ syncId: _s, ...e }) => e),
      relationships: d.relationships.map(({ syncId: _s, ...r }) => r),
    });
    expect(rows(await dumpStore(store))).toEqual(rows(stored));
    expect((await commitSync(store, input('s5'))).rowsWritten).toBe(0);
    db.close();
    await store.close();
  });

  it('+P2: a store migrated from schema version 2 has no digest yet: its first commit takes the full path, the next identical one the scope check', async () => {
    const path = freshPath();
    const store = createSqliteStore(path);
    await commitSync(store, seedInput('s1'));
    await store.close();
    const db = raw(path);
    db.exec(
      ['entities', 'relationships'].flatMap((t) => ['insert', 'update', 'delete'].map((op) => `DROP TRIGGER ${t}_scope_${op};`)).join('') +
        'DROP TABLE scope_state; DROP TABLE commits_in_progress; DELETE FROM schema_migrations WHERE version > 2;',
    );
    db.close();
    const statements: string[] = [];
    const upgraded = createSqliteStore({ path, trace: (sql) => statements.push(sql) });
    const staged = (): boolean => statements.some((sql) => sql.startsWith('INSERT INTO temp.staged_entities'));
    statements.length = 0;
    expect((await commitSync(upgraded, seedInput('s2'))).stats).toMatchObject({ entitiesUnchanged: 5, relationshipsUnchanged: 4 });
    expect(staged()).toBe(true);
    statements.length = 0;
    expect((await commitSync(upgraded, seedInput('s3'))).stats).toMatchObject({ entitiesUnchanged: 5, relationshipsUnchanged: 4 });
    expect(staged()).toBe(false);
    await upgraded.close();
  });

  it('+P2: a store migrated from schema version 3 has no input digest yet: its next identical output is prepared (batch digest, no staging) and remembered, the one after is not prepared', async () => {
    const path = freshPath();
    const store = createSqliteStore(path);
    await commitSync(store, seedInput('s1'));
    await store.close();
    const db = raw(path);
    db.exec('ALTER TABLE scope_state DROP COLUMN input_digest; DELETE FROM schema_migrations WHERE version > 3;');
    db.close();
    const statements: string[] = [];
    const spy = spyOnCommit(createSqliteStore({ path, trace: (sql) => statements.push(sql) }));
    statements.length = 0;
    expect((await commitSync(spy.store, seedInput('s2'))).stats).toMatchObject({ entitiesUnchanged: 5, relationshipsUnchanged: 4 });
    expect(spy.batches).toHaveLength(1);
    expect(staged(statements)).toBe(false);
    expect((await commitSync(spy.store, seedInput('s3'))).rowsWritten).toBe(0);
    expect(spy.batches).toHaveLength(1);
    const version = raw(path);
    expect((version.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number }).v).toBe(SCHEMA_VERSION);
    version.close();
    await spy.store.close();
  });
});

describe('content hashes with Node\'s SHA-256', () => {
  it('+P3: with the SQLite adapter loaded, content hashes are the same values as the core\'s JavaScript SHA-256 (so stores agree whichever computed them)', async () => {
    const { sha256 } = await import('@noble/hashes/sha2.js');
    const { bytesToHex } = await import('@noble/hashes/utils.js');
    const reference = (text: string): string => bytesToHex(sha256(new TextEncoder().encode(text)).subarray(0, 16));
    for (const text of ['', 'abc', 'été 😀', '\ud800 lone \udc00', 'x'.repeat(5000), '{"a":["b"],"n":1}']) {
      expect(contentHash(text)).toBe(reference(text));
    }
  });
});

describe('staging in TEMP tables', () => {
  it('+P4: the store stages in connection-local TEMP tables: no staged row ever reaches the file (counted by triggers on its staging tables)', async () => {
    const path = freshPath();
    const store = createSqliteStore(path);
    const db = raw(path);
    db.exec(`CREATE TABLE staging_writes (tbl TEXT NOT NULL)`);
    for (const table of STAGING_TABLES) {
      db.exec(`CREATE TRIGGER count_${table} AFTER INSERT ON ${table} BEGIN INSERT INTO staging_writes VALUES ('${table}'); END`);
    }
    const memory = await replayOnMemory([bigInput(200, 's1'), bigInput(200, 's2'), seedInput('s3', 'beta')]);
    const results = [];
    for (const input of [bigInput(200, 's1'), bigInput(200, 's2'), seedInput('s3', 'beta')]) {
      const { stats, rowsWritten } = await commitSync(store, input);
      results.push({ stats, rowsWritten });
    }
    expect(results).toEqual(memory.results);
    expect((db.prepare('SELECT COUNT(*) AS n FROM staging_writes').get() as { n: number }).n).toBe(0);
    expect(stagedRowCount(path)).toBe(0);
    db.close();
    await store.close();
  });
});

describe('D1 limits and the statement list', () => {
  it('MAX_ROW_BYTES and MAX_ID_BYTES keep every bound value and every stored row under D1\'s 2 MB, escapes at their worst (rows of exactly the limit, ids of exactly their limit)', async () => {
    const id = '\u0001'.repeat(MAX_ID_BYTES); // 6 bytes each as JSON
    const measure = (parts: string[], properties: Record<string, string>): number => utf8Length(JSON.stringify([...parts, canonicalProperties(properties)]));
    const padded = <T extends { properties: Record<string, string> }>(row: T, parts: string[]): T => {
      const pad = MAX_ROW_BYTES - measure(parts, { ...row.properties, pad: '' });
      return { ...row, properties: { ...row.properties, pad: 'x'.repeat(pad) } };
    };
    const entity = (key: string, displayName: string, properties: Record<string, string>) =>
      padded({ entityType: 'doc', entityKey: key, entityClass: 'File', displayName, properties, stepId: id }, ['doc', key, 'File', displayName]);
    const entities = [
      entity('control', '\u0001'.repeat(160_000), {}),
      entity('quotes', 'q', { q: '"'.repeat(240_000) }),
      entity('😀'.repeat(120_000), 'é'.repeat(100_000), {}),
      entity('plain', 'p', {}),
    ];
    const relationship = padded(
      { fromType: 'doc', fromKey: 'plain', verb: 'HAS', toType: 'doc', toKey: 'quotes', properties: { b: '\\'.repeat(240_000) } as Record<string, string>, stepId: id },
      ['doc', 'plain', 'HAS', 'doc', 'quotes'],
    );
    const batch = prepareBatch({ accountId: id, connectorId: id, syncId: id, entities, relationships: [relationship], failedSteps: [id] });
    for (const e of batch.entities) {
      expect(measure([e.entityType, e.entityKey, e.entityClass, e.displayName], JSON.parse(e.propertiesJson))).toBe(MAX_ROW_BYTES);
      // The stored row: every column, the source ids and the hash included.
      const stored = [e.id, e.entityType, e.entityKey, e.entityClass, e.displayName, e.propertiesJson, e.hash, e.stepId, id, id, id].reduce((n, t) => n + utf8Length(t), 0);
      expect(stored).toBeLessThan(D1_LIMITS.maxValueBytes);
    }
    const statements = commitStatements(batch, { token: crypto.randomUUID(), stagedAt: 'a', committedAt: 'b', staleBefore: ALL_LEFTOVERS });
    const largest = Math.max(...statements.flatMap((s) => s.params.map((p) => (typeof p === 'string' ? utf8Length(p) : 0))));
    expect(largest).toBeGreaterThan(MAX_ROW_BYTES);
    expect(largest).toBeLessThan(D1_LIMITS.maxValueBytes - 900_000);
    for (const s of statements) expect(statementLimitProblem(s), s.sql.slice(0, 80)).toBeUndefined();
    // And the rows commit and read back.
    const store = createSqliteStore(freshPath());
    expect((await store.commit(batch)).stats).toMatchObject({ entitiesCreated: 4, relationshipsCreated: 1 });
    expect((await store.findEntity(id, 'doc', 'control'))?.displayName).toBe(entities[0]!.displayName);
    await store.close();
  });

  it('D1 limits: every statement for a 20k-entity, 20k-relationship batch binds ≤100 params and ≤100 KB of SQL, and the commit is a short fixed list', async () => {
    const batch = prepareBatch(bigInput(20_000));
    const token = crypto.randomUUID();
    const statements = commitStatements(batch, { token, stagedAt: 'a', committedAt: 'b', staleBefore: ALL_LEFTOVERS });
    const all: SqlStatement[] = [
      ...statements,
      danglingReportStatement(token),
      ...discardStatements(token),
      ...migrationStatements(0, 'now'),
      getEntityStatement('0'.repeat(32)),
      findEntityStatement('acme', 'host', 'h-1'),
      getRelationshipStatement('0'.repeat(32)),
      listEntitiesStatement({ accountId: 'a', type: 't', class: 'Host', connectorId: 'c', limit: 1000, cursor: 'MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA' }).statement,
      listRelationshipsStatement({ accountId: 'a', entityId: '0'.repeat(32), verb: 'HAS', connectorId: 'c', direction: 'both' }).statement,
      ...countsStatements({ accountId: 'a' }),
      historyStatement({ accountId: 'a', connectorId: 'c', limit: 10 }),
    ];
    for (const s of all) {
      expect(statementLimitProblem(s), s.sql.slice(0, 120)).toBeUndefined();
      expect(s.params.length).toBeLessThanOrEqual(D1_LIMITS.maxParams);
      expect(utf8Length(s.sql)).toBeLessThanOrEqual(D1_LIMITS.maxSqlBytes);
      // Every ?N the SQL uses is bound, and nothing more.
      const used = new Set([...s.sql.matchAll(/\?(\d+)/g)].map((m) => Number(m[1])));
      expect(Math.max(0, ...used)).toBe(s.params.length);
    }
    const staging = statements.filter((s) => s.kind === 'stage');
    expect(staging.length).toBeLessThanOrEqual(12);
    for (const s of staging.slice(1)) expect(utf8Length(s.params[1] as string)).toBeLessThanOrEqual(1_500_000);
    // Apart from staging, the list has the same length whatever the batch size.
    const small = commitStatements(prepareBatch(seedInput('x')), { token, stagedAt: 'a', committedAt: 'b', staleBefore: ALL_LEFTOVERS });
    expect(statements.length - staging.length).toBe(small.length - small.filter((s) => s.kind === 'stage').length);
    expect(statements.length).toBeLessThan(40);

    // And SQLite commits it, then re-syncs it writing nothing (+P2).
    const store = createSqliteStore(freshPath());
    const first = await store.commit(batch);
    expect(first.stats).toMatchObject({ entitiesCreated: 20_000, relationshipsCreated: 20_000 });
    const again = await commitSync(store, bigInput(20_000, 'big-2'));
    expect(again.rowsWritten).toBe(0);
    await store.close();
  }, 60_000);

  it('the staging chunk size does not change the result: 1 KB chunks give the memory results', async () => {
    const inputs = [bigInput(300, 's1'), { ...bigInput(250, 's2'), keptSteps: ['step-1'] }, bigInput(10, 's3')];
    const memory = await replayOnMemory(inputs);
    const store = createSqliteStore({ path: freshPath(), stagingChunkBytes: 1024 });
    for (const [i, input] of inputs.entries()) {
      const { stats, rowsWritten } = await commitSync(store, input);
      expect({ stats, rowsWritten }).toEqual(memory.results[i]);
    }
    expect(comparable(await dumpStore(store))).toEqual(comparable(await dumpStore(memory.store)));
    await store.close();
  });
});

describe('INV-C04 inside one atomic unit (the recipe the D1 adapter follows)', () => {
  it('INV-C04: the guard aborts the whole statement list run as one unit; a restage-and-report batch then names the first dangling relationship and the count, as memory does', async () => {
    const path = freshPath();
    const store = createSqliteStore(path);
    await commitSync(store, seedInput('s1'));
    await store.close();
    const input = syncInput({
      syncId: 's2',
      entities: [ent('host', 'alpha-0'), ent('host', 'alpha-1')],
      relationships: [
        rel('host:alpha-0', 'HAS', 'host:alpha-1'),
        rel('host:alpha-1', 'HAS', 'host:alpha-3'), // deleted by this very commit
        rel('host:alpha-0', 'USES', 'host:nowhere'),
      ],
    });
    const memory = createMemoryStore();
    await commitSync(memory, seedInput('s1'));
    const expected = await expectCommitError(commitSync(memory, input), 'DanglingRelationship');

    const batch: CommitBatch = prepareBatch(input);
    const db = raw(path);
    const before = db.prepare('SELECT id, hash FROM entities ORDER BY id').all();
    // Batch 1: the commit, as D1 would send it. The guard aborts it; nothing stays.
    const token = 't1';
    let thrown: unknown;
    try {
      db.transaction(() => {
        for (const s of commitStatements(batch, { token, stagedAt: 'a', committedAt: 'b', staleBefore: ALL_LEFTOVERS })) runRaw(db, s);
      })();
    } catch (error) {
      thrown = error;
    }
    expect(guardFailure(thrown)).toBe('DanglingRelationship');
    expect(guardFailure(new Error(`D1_ERROR: ${(thrown as Error).message}: SQLITE_CONSTRAINT`))).toBe('DanglingRelationship');
    expect(db.prepare('SELECT id, hash FROM entities ORDER BY id').all()).toEqual(before);
    expect(stagedRowCount(path)).toBe(0);
    // Batch 2: stage again, report, discard.
    const reportToken = 't2';
    const report = db.transaction(() => {
      stageStatements(batch, reportToken, 'a').forEach((s) => runRaw(db, s));
      const s = danglingReportStatement(reportToken);
      const row = db.prepare(s.sql).get(numberedParams(s.params)) as Record<string, unknown>;
      discardStatements(reportToken).forEach((d) => runRaw(db, d));
      return readDanglingReport(row, batch);
    })();
    expect(report?.count).toBe(2);
    expect(report?.relationship.id).toBe(batch.relationships[1]!.id);
    db.close();
    expect(stagedRowCount(path)).toBe(0);

    // The adapter itself gives the memory store's error, word for word.
    const again = createSqliteStore(path);
    const error = await expectCommitError(commitSync(again, input), 'DanglingRelationship');
    expect(error.message).toBe(expected.message);
    expect(error.relationship).toBe(expected.relationship);
    expect(error.message).toContain('(and 1 more)');
    await again.close();
  });
});

it('the SQL module imports nothing platform-specific (the D1 adapter shares it)', () => {
  for (const file of ['statement', 'guard', 'schema', 'commit', 'read', 'index']) {
    const code = readFileSync(new URL(`../../adapters/sql/${file}.ts`, import.meta.url), 'utf8');
    const specifiers = [...code.matchAll(/from\s+['"]([^'"]+)['"]/g)].map((m) => m[1]!);
    for (const spec of specifiers) expect(spec.startsWith('.'), `${file}.ts imports ${spec}`).toBe(true);
  }
});
