/**
 * What only the SQLite store has to prove, on real files (the shared suites
 * run in sqlite-suites.test.ts): schema migrations, opening and read-only
 * access, commits from several connections and threads, crashes of a real
 * process (+P4), zero writes measured by SQLite itself (+P2), and the narrow
 * points of the streamed sync: staging only changed units, SyncConflict,
 * the scope's units after kept steps or undigested units, verify mode, the
 * JSON-chunk staging path, and D1's statement limits.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  CommitError,
  MAX_ID_BYTES,
  MAX_ROW_BYTES,
  commitSync,
  entityId,
  query,
  relationshipId,
  runConnector,
  type CommitResult,
  type GraphStore,
  type SyncInput,
  type SyncRecord,
} from 'parallax-edge';
import { canonicalProperties, rowWrites, type StagedChunk, type SyncClose, type SyncHeader } from 'parallax-edge/adapter-kit';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { createSqliteStore, SqliteSchemaError, STATEMENT_CACHE_SIZE, type SqliteStoreOptions } from 'parallax-edge/adapters/sqlite';
import {
  D1_LIMITS,
  DEFAULT_CHUNK_BYTES,
  MIGRATIONS,
  SCHEMA_VERSION,
  STAGING_TABLE_NAMES,
  cleanupStatements,
  commitStatements,
  countsStatements,
  danglingReportStatement,
  discardStatements,
  discardStepStatements,
  expandStatements,
  findEntityStatement,
  getEntityStatement,
  getRelationshipStatement,
  historyStatement,
  listEntitiesStatement,
  listRelationshipsStatement,
  matchedUnitsStatement,
  migrationSql,
  migrationStatements,
  openStatement,
  priorEntitiesStatement,
  priorEntityStatement,
  stageRowStatements,
  stageUnitStatements,
  statementLimitProblem,
  storedUnitsStatements,
  tempStagingStatements,
  numberedParams,
  unchangedStatements,
  utf8Length,
  type SqlStatement,
  SQL_UNIT_RECORDS,
} from '../../adapters/sql/index.js';
import { entityIdWords } from '../../src/model/ids.js';
import { MAX_UNIT_RECORDS } from '../../src/ingest/units.js';
import { ROWS_PER_INSERT } from '../../adapters/sqlite/connection.js';
import { connectorOf, dumpStore, ent, expectCommitError, rel, stats, streamSync, syncInput, type StoreDump } from 'parallax-edge/testing';
import type { CommitOutcome, Task } from './fixtures/sqlite-worker.js';

const dir = mkdtempSync(join(tmpdir(), 'parallax-sqlite-'));
let files = 0;
const freshPath = (): string => join(dir, `store-${++files}.db`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// ---------------------------------------------------------------------------
// Helpers

function raw(path: string, options: Database.Options = {}): Database.Database {
  return new Database(path, { timeout: 30_000, ...options });
}

/** Rows in the staging tables of the database file (SQLite stages in TEMP tables, so always 0 when it works). */
function stagedRowsInFile(path: string): number {
  const db = raw(path, { readonly: true });
  try {
    return STAGING_TABLE_NAMES.reduce((n, t) => n + (db.prepare(`SELECT COUNT(*) AS n FROM main.${t}`).get() as { n: number }).n, 0);
  } finally {
    db.close();
  }
}

/** A dump without `committedAt`, which differs between two stores by nature. */
function comparable(dump: StoreDump): unknown {
  return { ...dump, history: dump.history.map(({ committedAt: _ignored, ...rest }: SyncRecord) => rest) };
}

/** The rows of a dump without their `syncId` (which a restoring sync changes). */
function rowsOf(dump: StoreDump): unknown {
  return {
    entities: dump.entities.map(({ syncId: _s, ...e }) => e),
    relationships: dump.relationships.map(({ syncId: _s, ...r }) => r),
  };
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

/** Streams `input` into `store` (`runConnector` with `store`, then `commitSync`), 500 rows a chunk unless given. */
const streamed = (store: GraphStore, input: SyncInput, options: { verify?: boolean; chunkRows?: number } = {}): Promise<CommitResult> =>
  streamSync(store, input, options.chunkRows ?? 500, options);

/** A first sync with some of everything: entities of two steps, relationships between them. */
function seedInput(syncId: string, connectorId = 'alpha', n = 5): SyncInput {
  const entities = Array.from({ length: n }, (_, i) => ent('host', `${connectorId}-${i}`, { stepId: i % 2 ? 'odd' : 'even', properties: { i } }));
  const relationships = Array.from({ length: n - 1 }, (_, i) => rel(`host:${connectorId}-${i}`, 'CONNECTS', `host:${connectorId}-${i + 1}`));
  return syncInput({ syncId, connectorId, entities, relationships });
}

/** n hosts over four steps and n relationships in step `main`, with properties of realistic size. */
function bigInput(n: number, syncId = 'big-1', change: (i: number) => boolean = () => false): SyncInput {
  const entities = Array.from({ length: n }, (_, i) =>
    ent('host', `h-${i}`, {
      entityClass: 'Host',
      displayName: `Host number ${i} — ünïcødé`,
      properties: { ip: `10.0.${i % 256}.${i >> 8}`, tags: ['prod', `rack-${i % 40}`], cpu: i % 64, up: i % 3 === 0, note: change(i) ? 'changed' : null },
      stepId: `step-${i % 4}`,
    }),
  );
  const relationships = Array.from({ length: n }, (_, i) =>
    rel(`host:h-${i}`, 'CONNECTS', `host:h-${(i * 7 + 1) % n}`, { properties: { port: 443 + (i % 5) } }),
  );
  return syncInput({ syncId, entities, relationships });
}

/** The same input without one step's records, that step failed and kept (+P1). */
function withFailedStep(input: SyncInput, stepId: string): SyncInput {
  return { ...input, entities: input.entities.filter((e) => e.stepId !== stepId), keptSteps: [stepId], failedSteps: [stepId] };
}

/**
 * A SQLite store on `path` whose SQL is traced (better-sqlite3's `verbose`
 * passes each statement as run, with its values inlined): staged rows are
 * counted from the tuples of the staging INSERTs.
 */
function tracedStore(path: string, options: Omit<SqliteStoreOptions, 'path' | 'trace'> = {}) {
  const sql: string[] = [];
  const store = createSqliteStore({ ...options, path, trace: (text) => sql.push(text) });
  // A staging INSERT holds several rows (ROWS_PER_INSERT): every tuple starts with the sync's token, then the id.
  const stagedIds = (table: 'staged_entities' | 'staged_relationships'): string[] => {
    const head = new RegExp(`^INSERT INTO ${table} \\([^)]*\\) VALUES \\('([^']*)', `);
    return sql.flatMap((s) => {
      const token = head.exec(s)?.[1];
      return token === undefined ? [] : [...s.matchAll(new RegExp(`\\('${token}', '([0-9a-f]{32})'`, 'g'))].map((m) => m[1]!);
    });
  };
  return {
    store,
    sql,
    stagedIds,
    /** Entity and relationship rows staged since the last reset. */
    staged: () => stagedIds('staged_entities').length + stagedIds('staged_relationships').length,
    reset: () => void sql.splice(0),
  };
}

/**
 * Counts every write to the file's tables, by table and operation, with
 * triggers added to the test database only: the graph, the history, the
 * scope's state and units, and the file's staging tables.
 */
function fileWrites(path: string): { counts(): Record<string, number>; close(): void } {
  const db = raw(path);
  db.exec(`CREATE TABLE test_writes (tbl TEXT NOT NULL, op TEXT NOT NULL)`);
  for (const table of ['entities', 'relationships', 'sync_runs', 'scope_state', 'scope_units', ...STAGING_TABLE_NAMES]) {
    for (const op of ['INSERT', 'UPDATE', 'DELETE']) {
      db.exec(`CREATE TRIGGER test_count_${table}_${op} AFTER ${op} ON ${table} BEGIN INSERT INTO test_writes VALUES ('${table}', '${op}'); END`);
    }
  }
  return {
    counts() {
      const rows = db.prepare(`SELECT tbl || ' ' || op AS what, COUNT(*) AS n FROM test_writes GROUP BY what ORDER BY what`).all() as { what: string; n: number }[];
      return Object.fromEntries(rows.map((r) => [r.what, r.n]));
    },
    close: () => db.close(),
  };
}

const scopeUnits = (path: string, connectorId = 'alpha'): { units: number; unitsWrites: number | null; writes: number | null } => {
  const db = raw(path, { readonly: true });
  try {
    const units = (db.prepare(`SELECT COUNT(*) AS n FROM scope_units WHERE connector_id = ?`).get(connectorId) as { n: number }).n;
    const state = db.prepare(`SELECT writes, units_writes FROM scope_state WHERE connector_id = ?`).get(connectorId) as
      | { writes: number; units_writes: number | null }
      | undefined;
    return { units, unitsWrites: state?.units_writes ?? null, writes: state?.writes ?? null };
  } finally {
    db.close();
  }
};

function runWorker(task: Task): Promise<CommitOutcome[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./fixtures/sqlite-worker.mjs', import.meta.url), { workerData: task });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
  });
}

/** Starts a child process running `task`; resolves once it prints `ready <n>`, with n and a way to SIGKILL it. */
async function startChild(task: Task): Promise<{ reported: number; kill(): Promise<void> }> {
  const child = spawn(process.execPath, [new URL('./fixtures/sqlite-worker.mjs', import.meta.url).pathname, JSON.stringify(task)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const reported = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const ready = /ready (\d+)\n/.exec(stdout);
      if (ready) resolve(Number(ready[1]));
    });
    child.once('exit', (code) => reject(new Error(`child exited early (${code}): ${stderr}`)));
  });
  return {
    reported,
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
  /** Tables, indexes and triggers of a file, with their SQL (whitespace collapsed). */
  const schemaOf = (path: string): unknown => {
    const db = raw(path, { readonly: true });
    try {
      return (db.prepare(`SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name`).all() as { sql: string | null }[]).map(
        (row) => ({ ...row, sql: row.sql?.replace(/\s+/g, ' ').trim() }),
      );
    } finally {
      db.close();
    }
  };
  const graphFiles = readdirSync(new URL('../../workers/migrations/', import.meta.url))
    .filter((f) => /^00\d\d_/.test(f) && Number(f.slice(0, 4)) < 100)
    .sort();

  it('migrations: a new file gets every migration once, in order; reopening applies nothing and keeps the data', async () => {
    const path = freshPath();
    const store = createSqliteStore(path);
    await streamed(store, seedInput('s1'));
    const before = await dumpStore(store);
    await store.close();
    expect(versions(path)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(SCHEMA_VERSION).toBe(8);

    for (let i = 0; i < 3; i++) {
      const again = createSqliteStore(path);
      expect(await dumpStore(again)).toEqual(before);
      await again.close();
    }
    expect(versions(path)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(migrationStatements(SCHEMA_VERSION, 'now')).toEqual([]);
  });

  it.each([1, 2, 3, 4, 5, 6, 7])(
    'migrations: a file at schema version %i is upgraded to 8 on open, keeps its graph rows and history, and its first sync is unchanged (units unknown: staged in full), the next one the fast path',
    async (version) => {
      // The graph as a current store wrote it, copied into a file built by the migrations up to `version`.
      const source = freshPath();
      const writer = createSqliteStore(source);
      await streamed(writer, seedInput('s1'));
      await streamed(writer, seedInput('b1', 'beta'));
      const before = await dumpStore(writer);
      await writer.close();
      const path = freshPath();
      const db = raw(path);
      for (const m of MIGRATIONS.filter((m) => m.version <= version)) db.exec(migrationSql(m));
      db.exec(`ATTACH DATABASE '${source}' AS src`);
      for (const table of ['entities', 'relationships', 'sync_runs']) db.exec(`INSERT INTO main.${table} SELECT * FROM src.${table}`);
      db.exec('DETACH DATABASE src');
      if (version >= 2 && version < 5) {
        // A commit of the old design that crashed while staging: migration 5 drops its tables.
        db.prepare(
          `INSERT INTO staged_entities (token, id, ord, entity_type, entity_key, entity_class, display_name, properties, hash, step_id)
           VALUES ('crashed', ?, 0, 'host', 'ghost', 'Host', 'ghost', '{}', 'x', 'even')`,
        ).run(entityId('acme', 'host', 'ghost'));
      }
      db.close();
      expect(versions(path)).toEqual(MIGRATIONS.filter((m) => m.version <= version).map((m) => m.version));

      const traced = tracedStore(path);
      expect(versions(path)).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await dumpStore(traced.store)).toEqual(before);
      expect(schemaOf(path)).toEqual(schemaOf(source));
      // What migration 5 removes is gone: the scope triggers (hand edits are no longer counted) and the old staging.
      const db5 = raw(path, { readonly: true });
      expect(db5.prepare(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name <> 'commit_guards'`).all()).toEqual([]);
      expect(db5.prepare(`SELECT name FROM sqlite_master WHERE name IN ('commits_in_progress', 'staged_commits')`).all()).toEqual([]);
      db5.close();
      expect(stagedRowsInFile(path)).toBe(0);

      traced.reset();
      const first = await streamed(traced.store, seedInput('s2'));
      expect(first.stats).toEqual(stats({ entitiesUnchanged: 5, relationshipsUnchanged: 4 }));
      expect(first.rowsWritten).toBe(0);
      expect(traced.staged()).toBe(9);
      traced.reset();
      expect((await streamed(traced.store, seedInput('s3'))).stats).toEqual(stats({ entitiesUnchanged: 5, relationshipsUnchanged: 4 }));
      expect(traced.staged()).toBe(0);
      await traced.store.close();
    },
  );

  it('migrations: a database newer than this code is refused with StoreFailure and left byte for byte', () => {
    const path = freshPath();
    void createSqliteStore(path).close();
    const db = raw(path);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(SCHEMA_VERSION + 1, 'future', 'x');
    db.close();
    const bytes = readFileSync(path);
    let error: unknown;
    try {
      createSqliteStore(path);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CommitError);
    expect((error as CommitError).code).toBe('StoreFailure');
    expect((error as CommitError).message).toMatch(/newer than this parallax-edge/);
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect(versions(path)).toEqual([...MIGRATIONS.map((m) => m.version), SCHEMA_VERSION + 1]);
  });

  it('migrations: two handles opening one new file both see it migrated exactly once', async () => {
    const path = freshPath();
    const a = createSqliteStore(path);
    const b = createSqliteStore(path);
    expect(versions(path)).toEqual(MIGRATIONS.map((m) => m.version));
    await Promise.all([a.close(), b.close()]);
  });

  it('migrations: the D1 migration files (workers/migrations, 0001-0008) build the same schema as the adapter, SQL included, and the adapter syncs on it', async () => {
    expect(graphFiles).toHaveLength(MIGRATIONS.length);
    const viaAdapter = freshPath();
    void createSqliteStore(viaAdapter).close();
    const viaFiles = freshPath();
    const db = raw(viaFiles);
    for (const file of graphFiles) db.exec(readFileSync(new URL(`../../workers/migrations/${file}`, import.meta.url), 'utf8'));
    db.close();
    expect(schemaOf(viaFiles)).toEqual(schemaOf(viaAdapter));
    expect(versions(viaFiles)).toEqual(MIGRATIONS.map((m) => m.version));
    const store = createSqliteStore(viaFiles);
    expect((await streamed(store, seedInput('s1'))).stats.entitiesCreated).toBe(5);
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

  it('issue 11: the syncing connection bounds its caches (the file\'s pages, which also bound its sorters, and the TEMP staging), set when it opens', async () => {
    const sql: string[] = [];
    const store = createSqliteStore({ path: freshPath(), trace: (text) => sql.push(text) });
    expect(sql).toContain('PRAGMA main.cache_size = -8192');
    expect(sql).toContain('PRAGMA temp.cache_size = -32768');
    await store.close();
  });

  it('a long-lived store holds at most STATEMENT_CACHE_SIZE prepared statements a connection, the least recently used going first: every PQL query shape is a text of its own', async () => {
    const store = createSqliteStore(freshPath());
    await streamSync(store, syncInput({ syncId: 's1', entities: [ent('host', 'a', { properties: { os: 'linux' } })] }));
    // k conditions before os = 'linux': a statement text per k (an IN list of any length is one text: its values are one bound array).
    const shape = (k: number) => `FIND host WITH ${Array.from({ length: k }, (_, i) => `os = 'v${i}' OR `).join('')}os = 'linux'`;
    const keys = async (k: number) => (await query(store, shape(k))).entities.map((e) => e.entityKey);
    const prepare = vi.spyOn(Database.prototype, 'prepare');
    try {
      expect(await keys(0)).toEqual(['a']);
      const hot = prepare.mock.calls.length;
      expect(hot).toBeGreaterThan(0);
      expect(await keys(0)).toEqual(['a']);
      expect(prepare.mock.calls.length, 'a cached shape is not prepared again').toBe(hot);
      for (let k = 1; k <= STATEMENT_CACHE_SIZE; k++) {
        expect(await keys(k)).toEqual(['a']);
        if (k % 16 === 0) await keys(0);
      }
      await keys(0);
      const hotTexts = new Set(prepare.mock.calls.slice(0, hot).map(([sql]) => sql));
      expect(prepare.mock.calls.slice(hot).filter(([sql]) => hotTexts.has(sql)), 'a shape used all along is never prepared again').toEqual([]);
      const before = prepare.mock.calls.length;
      await keys(1);
      expect(prepare.mock.calls.length, 'the least recently used shape was dropped, so it is prepared again').toBeGreaterThan(before);
      const inList = (k: number) => query(store, `FIND host WITH os IN (${Array.from({ length: k }, (_, i) => `'v${i}', `).join('')}'linux')`);
      expect((await inList(1)).count).toBe(1);
      const lists = prepare.mock.calls.length;
      for (const k of [2, 50, 500]) expect((await inList(k)).count).toBe(1);
      expect(prepare.mock.calls.length, 'IN lists of any length share their statements').toBe(lists);
    } finally {
      prepare.mockRestore();
      await store.close();
    }
  });

  it('a closed store refuses runs, commits and reads with StoreFailure; closing twice is fine', async () => {
    const store = createSqliteStore(freshPath());
    await store.close();
    await store.close();
    await expectCommitError(commitSync(store, seedInput('s1')), 'StoreFailure');
    await expectCommitError(runConnector(connectorOf(seedInput('s1')), { accountId: 'acme', store }), 'StoreFailure');
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

  it('+P4: a store closed while a streamed run stages fails the run with StoreFailure, and the file is as it was', async () => {
    const path = freshPath();
    const seed = createSqliteStore(path);
    await streamed(seed, seedInput('s1'));
    const before = await dumpStore(seed);
    const store = createSqliteStore(path);
    const input = bigInput(300, 's2');
    const connector = connectorOf(input);
    const closing = {
      ...connector,
      async executeStep(stepId: string, ctx: Parameters<typeof connector.executeStep>[1]) {
        await connector.executeStep(stepId, ctx);
        await ctx.flush();
        await store.close();
        ctx.emitEntity(ent('host', `after-close-${stepId}`, { stepId }));
        await ctx.flush();
      },
    };
    await expectCommitError(runConnector(closing, { accountId: 'acme', syncId: 's2', store, chunkRows: 10 }), 'StoreFailure');
    expect(await dumpStore(seed)).toEqual(before);
    expect(stagedRowsInFile(path)).toBe(0);
    await seed.close();
  });

  it('a path in a missing directory is a StoreFailure naming the path', () => {
    const path = join(dir, 'no-such-dir', 'graph.db');
    let error: unknown;
    try {
      createSqliteStore(path);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CommitError);
    expect((error as CommitError).code).toBe('StoreFailure');
    expect((error as CommitError).message).toContain(path);
  });

  it('read-only: reads work and see commits of another handle; a streamed run and a commit are StoreFailure; a missing file is refused', async () => {
    const path = freshPath();
    const writer = createSqliteStore(path);
    await streamed(writer, seedInput('s1'));
    const reader = createSqliteStore({ path, readonly: true });
    expect(await dumpStore(reader)).toEqual(await dumpStore(writer));
    await streamed(writer, seedInput('s2', 'beta'));
    expect((await reader.counts()).entities).toBe(10);
    const before = await dumpStore(writer);
    await expectCommitError(commitSync(reader, seedInput('s3')), 'StoreFailure');
    await expectCommitError(runConnector(connectorOf(seedInput('s3')), { accountId: 'acme', store: reader }), 'StoreFailure');
    expect(await dumpStore(writer)).toEqual(before);
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

  it("':memory:' is a private in-memory store, streamed runs included", async () => {
    const store = createSqliteStore(':memory:');
    expect((await streamed(store, seedInput('s1'))).stats.entitiesCreated).toBe(5);
    expect((await streamed(store, seedInput('s2'))).stats).toEqual(stats({ entitiesUnchanged: 5, relationshipsUnchanged: 4 }));
    expect(store.path).toBe(':memory:');
    await store.close();
  });
});

describe('sqlite: concurrent commits on one file', () => {
  /**
   * Syncs of several connectors over shared entities, so the commit order
   * matters (takeovers, cascades), with a stable step whose units match from
   * one sync to the next (so a takeover under a run is a SyncConflict).
   */
  function contendedInputs(connectorId: string, count: number): SyncInput[] {
    const stable = Array.from({ length: 60 }, (_, i) => ent('host', `${connectorId}-stable-${i}`, { stepId: 'stable' }));
    return Array.from({ length: count }, (_, n) => {
      const own = Array.from({ length: 20 }, (_, i) => ent('host', `${connectorId}-${(i + n) % 25}`, { properties: { n } }));
      const shared = Array.from({ length: 5 }, (_, i) => ent('host', `shared-${(i + n) % 8}`, { properties: { by: connectorId } }));
      const relationships = own.slice(1).map((e, i) => rel(`host:${own[i]!.entityKey}`, 'CONNECTS', `host:${e.entityKey}`));
      relationships.push(...shared.map((e) => rel(`host:${own[0]!.entityKey}`, 'USES', `host:${e.entityKey}`)));
      return syncInput({ syncId: `${connectorId}-${n}`, connectorId, entities: [...stable, ...own, ...shared], relationships });
    });
  }

  /** Replays the commits in the order the file's history shows, on memory; results and final state must match. */
  async function expectSerializable(path: string, outcomes: readonly CommitOutcome[], inputs: readonly SyncInput[]): Promise<void> {
    const store = createSqliteStore(path);
    const history = [...(await store.syncHistory({ limit: 1000 }))].reverse();
    expect(history.map((r) => r.syncId).sort()).toEqual(inputs.map((i) => i.syncId).sort());
    const bySyncId = new Map(inputs.map((i) => [i.syncId, i]));
    const memory = await replayOnMemory(history.map((r) => bySyncId.get(r.syncId)!));
    const outcomeBySyncId = new Map(outcomes.map((o) => [o.syncId, o]));
    history.forEach((record, i) => {
      const outcome = outcomeBySyncId.get(record.syncId)!;
      expect(outcome.ok, outcome.error).toBe(true);
      expect({ stats: outcome.stats, rowsWritten: outcome.rowsWritten }, record.syncId).toEqual(memory.results[i]);
      expect(record.stats).toEqual(outcome.stats);
    });
    expect(comparable(await dumpStore(store))).toEqual(comparable(await dumpStore(memory.store)));
    expect(stagedRowsInFile(path)).toBe(0);
    await store.close();
  }

  /** Syncs the inputs in order; a SyncConflict (the scope was written to under the run) is run again. */
  async function syncAll(store: GraphStore, inputs: readonly SyncInput[], mode: 'memory' | 'streaming', outcomes: CommitOutcome[]): Promise<void> {
    for (const input of inputs) {
      let conflicts = 0;
      for (;;) {
        try {
          const result = mode === 'memory' ? await commitSync(store, input) : await streamed(store, input, { chunkRows: 5 });
          outcomes.push({ syncId: input.syncId, ok: true, stats: result.stats, rowsWritten: result.rowsWritten, conflicts });
          break;
        } catch (error) {
          if (!(error instanceof CommitError && error.code === 'SyncConflict') || ++conflicts > 20) throw error;
        }
      }
    }
  }

  it('INV-C01: two handles on one file, streaming and in memory, interleaving through Promise.all: every sync lands once, with exact stats and no lost rows', async () => {
    const path = freshPath();
    const a = createSqliteStore(path);
    const b = createSqliteStore(path);
    const inputsA = contendedInputs('alpha', 6);
    const inputsB = contendedInputs('beta', 6);
    const outcomes: CommitOutcome[] = [];
    await Promise.all([syncAll(a, inputsA, 'streaming', outcomes), syncAll(b, inputsB, 'memory', outcomes)]);
    await Promise.all([a.close(), b.close()]);
    await expectSerializable(path, outcomes, [...inputsA, ...inputsB]);
  });

  it('INV-C01: worker threads syncing at the same time on one file (runConnector with store, and commitSync) serialize: every sync lands once, stats equal a memory replay in commit order', async () => {
    const path = freshPath();
    void createSqliteStore(path).close();
    const connectors = ['alpha', 'beta', 'gamma'] as const;
    const modes = { alpha: 'streaming', beta: 'streaming', gamma: 'memory' } as const;
    const inputs = connectors.map((c) => contendedInputs(c, 12));
    const barrier = new SharedArrayBuffer(4);
    const perWorker = await Promise.all(
      connectors.map((c, i) => runWorker({ kind: 'commit', path, inputs: inputs[i]!, mode: modes[c], barrier, workers: connectors.length })),
    );
    const outcomes = perWorker.flat();
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    // The workers really ran at the same time: each started before any other had finished.
    const lastStart = Math.max(...perWorker.map((list) => list[0]!.began!));
    const firstEnd = Math.min(...perWorker.map((list) => list.at(-1)!.ended!));
    expect(lastStart).toBeLessThanOrEqual(firstEnd);
    await expectSerializable(path, outcomes, inputs.flat());
  }, 90_000);
});

describe('+P4 crashes of a real process', () => {
  it('+P4: a process SIGKILLed while a streamed run is staging leaves nothing in the file (rows were in TEMP), the graph unchanged and unseen by readers, and the next sync fine', async () => {
    const path = freshPath();
    const store = createSqliteStore(path);
    await streamed(store, seedInput('s1'));
    const before = await dumpStore(store);
    const writes = fileWrites(path);

    const big = bigInput(200, 's2');
    const crashed = { ...big, entities: big.entities.map((e) => ({ ...e, stepId: 'main' })) };
    const child = await startChild({ kind: 'crash-staging', path, input: crashed });
    // The child has staged rows and is still running: none of them is in the file or visible.
    expect(child.reported).toBeGreaterThan(0);
    expect(stagedRowsInFile(path)).toBe(0);
    expect(await dumpStore(store)).toEqual(before);
    expect(await store.findEntity('acme', 'host', 'h-1')).toBeUndefined();
    await child.kill();

    expect(writes.counts()).toEqual({});
    expect(stagedRowsInFile(path)).toBe(0);
    const reopened = createSqliteStore(path);
    expect(await dumpStore(reopened)).toEqual(before);
    // The crashed sync id was never used up; the next sync reports exactly what memory does.
    const next = await streamed(reopened, crashed);
    const memory = await replayOnMemory([seedInput('s1'), crashed]);
    expect({ stats: next.stats, rowsWritten: next.rowsWritten }).toEqual(memory.results[1]);
    expect(comparable(await dumpStore(reopened))).toEqual(comparable(await dumpStore(memory.store)));
    writes.close();
    await Promise.all([store.close(), reopened.close()]);
  }, 60_000);

  it('+P4: a process SIGKILLed inside the commit transaction, after its graph writes ran, leaves the graph unchanged; readers meanwhile see the old graph; staging goes on without the lock; the lock is released', async () => {
    const path = freshPath();
    const store = createSqliteStore({ path, busyTimeoutMs: 200 });
    await streamed(store, seedInput('s1'));
    const before = await dumpStore(store);

    // Deletes every seed row and creates another: the commit's graph writes ran, COMMIT never comes.
    const crashed = syncInput({ syncId: 's2', entities: [ent('host', 'other')] });
    const child = await startChild({ kind: 'crash-commit', path, input: crashed });
    expect(child.reported).toBe(4);
    expect(await dumpStore(store)).toEqual(before);
    // While the dead-to-be writer holds the lock, a run still stages (TEMP tables need no lock), its commit waits, then fails whole.
    const waiting = await runConnector(connectorOf(seedInput('b1', 'beta')), { accountId: 'acme', syncId: 'b1', store });
    await expectCommitError(commitSync(store, waiting), 'StoreFailure');
    await child.kill();

    expect(await dumpStore(store)).toEqual(before);
    const reopened = createSqliteStore(path);
    expect(await dumpStore(reopened)).toEqual(before);
    expect(stagedRowsInFile(path)).toBe(0);
    const result = await streamed(reopened, crashed);
    expect(result.stats).toEqual(stats({ entitiesCreated: 1, entitiesDeleted: 5, relationshipsDeleted: 4 }));
    expect((await streamed(store, seedInput('b1', 'beta'))).stats.entitiesCreated).toBe(5);
    await Promise.all([store.close(), reopened.close()]);
  }, 60_000);
});

describe('+P4 and INV-C01: a split commit (splitCommitRows) killed between its batches', () => {
  const buildTables = (path: string): string[] => {
    const db = raw(path, { readonly: true });
    try {
      return (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND (name GLOB '*_next_*' OR name GLOB '*_old_*')`).all() as { name: string }[]).map((r) => r.name);
    } finally {
      db.close();
    }
  };

  for (const reopenSplit of [50, 0]) {
    it(`+P4: a process SIGKILLed while its split commit builds the graph tables beside the graph leaves graph, history and staging as they were, unseen by readers; the next sync (splitCommitRows ${reopenSplit}) drops the dead build and lands as memory does`, async () => {
      const path = freshPath();
      const store = createSqliteStore({ path, busyTimeoutMs: 200 });
      await streamed(store, seedInput('s1'));
      const before = await dumpStore(store);

      const crashed = bigInput(200, 's2');
      const child = await startChild({ kind: 'crash-split', path, input: crashed, splitCommitRows: 50, blockAt: 3 });
      expect(child.reported).toBe(3);
      // The build's earlier batches committed: it is in the file, and readers still see the graph before it.
      expect(buildTables(path)).toHaveLength(1);
      expect(await dumpStore(store)).toEqual(before);
      await child.kill();

      expect(await dumpStore(store)).toEqual(before);
      expect(stagedRowsInFile(path)).toBe(0);
      expect(buildTables(path)).toHaveLength(1);
      await sleep(5);
      const reopened = createSqliteStore({ path, splitCommitRows: reopenSplit, stagingLeaseMs: 1 });
      const next = await streamed(reopened, crashed);
      const memory = await replayOnMemory([seedInput('s1'), crashed]);
      expect({ stats: next.stats, rowsWritten: next.rowsWritten }).toEqual(memory.results[1]);
      expect(comparable(await dumpStore(reopened))).toEqual(comparable(await dumpStore(memory.store)));
      expect(buildTables(path)).toEqual([]);
      await Promise.all([store.close(), reopened.close()]);
    }, 60_000);
  }
});

describe('sqlite: staging statements', () => {
  it(`issue 11: a chunk stages ROWS_PER_INSERT (${ROWS_PER_INSERT}) rows a statement and the rest one by one, in emit order, and lands as the memory store does`, async () => {
    const whole = 2;
    const rest = 5;
    const count = whole * ROWS_PER_INSERT + rest;
    const keys = Array.from({ length: count }, (_, i) => `h-${String(count - i).padStart(3, '0')}`);
    const input = syncInput({
      syncId: 's1',
      entities: [ent('account', 'root'), ...keys.map((k, i) => ent('host', k, { properties: { i, tag: `it's "${k}"` } }))],
      relationships: keys.map((k) => rel('account:root', 'HAS', `host:${k}`)),
    });
    const traced = tracedStore(freshPath());
    const memory = createMemoryStore();
    try {
      const result = await streamSync(traced.store, input, 10_000);
      expect(result.stats).toEqual((await streamSync(memory, input, 10_000)).stats);
      const inserts = (table: string) => traced.sql.filter((t) => t.startsWith(`INSERT INTO ${table} (`));
      // One chunk: count + 1 entities (the account too) and count relationships.
      const entityRows = count + 1;
      expect(inserts('staged_entities'), 'statements for the entity rows').toHaveLength(Math.floor(entityRows / ROWS_PER_INSERT) + (entityRows % ROWS_PER_INSERT));
      expect(inserts('staged_relationships'), 'statements for the relationship rows').toHaveLength(whole + rest);
      expect(traced.stagedIds('staged_entities')).toEqual([entityId('acme', 'account', 'root'), ...keys.map((k) => entityId('acme', 'host', k))]);
      expect(traced.stagedIds('staged_relationships')).toEqual(
        keys.map((k) => relationshipId('acme', 'account', 'root', 'HAS', 'host', k)),
      );
      const [stored, expected] = [await dumpStore(traced.store), await dumpStore(memory)];
      expect(stored.entities).toEqual(expected.entities);
      expect(stored.relationships).toEqual(expected.relationships);
      expect(stored.counts).toEqual(expected.counts);
    } finally {
      await traced.store.close();
    }
  });
});

describe('+P2 zero writes, measured by SQLite', () => {
  it('+P2: an unchanged streamed re-sync stages no row and writes exactly one row, its sync-run record (counted by triggers on every table of the file); rowsWritten is what SQLite saw', async () => {
    const path = freshPath();
    const traced = tracedStore(path);
    const writes = fileWrites(path);
    const first = await streamed(traced.store, bigInput(500, 's1'));
    expect(first.rowsWritten).toBe(1000);
    expect(writes.counts()).toMatchObject({ 'entities INSERT': 500, 'relationships INSERT': 500, 'sync_runs INSERT': 1 });
    const db = raw(path, { readonly: true });
    const dataVersion = db.pragma('data_version', { simple: true });

    const before = writes.counts();
    traced.reset();
    const again = await streamed(traced.store, bigInput(500, 's2'));
    expect(again.rowsWritten).toBe(0);
    expect(again.stats).toEqual(stats({ entitiesUnchanged: 500, relationshipsUnchanged: 500 }));
    const after = writes.counts();
    expect(Object.fromEntries(Object.entries(after).filter(([k, n]) => n !== before[k]))).toEqual({ 'sync_runs INSERT': before['sync_runs INSERT']! + 1 });
    // The fast path: nothing staged, matched units never expanded row by row, no graph statement.
    expect(traced.staged()).toBe(0);
    expect(traced.sql.filter((s) => /^INSERT INTO staged_confirmed|^INSERT INTO (entities|relationships) |^DELETE FROM (entities|relationships) /.test(s))).toEqual([]);
    // The commit did land (its history row): SQLite saw a transaction, just no graph row written.
    expect(db.pragma('data_version', { simple: true })).not.toBe(dataVersion);

    // A mixed commit: the rows SQLite saw written are exactly rowsWritten, and rowWrites(stats).
    const input = bigInput(500, 's3');
    const mixed = {
      ...input,
      entities: input.entities.slice(0, 400).map((e, i) => (i % 10 === 0 ? { ...e, displayName: 'changed' } : e)),
      relationships: input.relationships.filter((r) => Number(r.fromKey.slice(2)) < 400 && Number(r.toKey.slice(2)) < 400),
    };
    const graphWrites = (counts: Record<string, number>): number =>
      Object.entries(counts).reduce((n, [k, v]) => n + (/^(entities|relationships) /.test(k) ? v : 0), 0);
    const beforeMixed = graphWrites(writes.counts());
    const result = await streamed(traced.store, mixed);
    expect(graphWrites(writes.counts()) - beforeMixed).toBe(result.rowsWritten);
    expect(result.rowsWritten).toBe(rowWrites(result.stats));
    expect(result.stats.entitiesDeleted).toBe(100);
    expect(result.stats.entitiesUpdated).toBe(40);
    // None of the four syncs wrote a row to the file's staging tables: SQLite stages in TEMP tables.
    expect(Object.keys(writes.counts()).filter((k) => k.startsWith('staged_'))).toEqual([]);
    db.close();
    writes.close();
    await traced.store.close();
  });

  it('+P2: a 1% churn re-sync stages exactly the units that hold a changed record (their digests differ), and writes only the changed rows', async () => {
    const n = 4000;
    const changed = (i: number): boolean => i % 100 === 37;
    const path = freshPath();
    const traced = tracedStore(path);
    await streamed(traced.store, bigInput(n, 's1'), { chunkRows: 2000 });
    traced.reset();
    const churn = bigInput(n, 's2', changed);
    const result = await streamed(traced.store, churn, { chunkRows: 2000 });
    expect(result.stats).toEqual(stats({ entitiesUpdated: n / 100, entitiesUnchanged: n - n / 100, relationshipsUnchanged: n }));
    expect(result.rowsWritten).toBe(n / 100);

    // The units the core cuts (src/ingest/units.ts), recomputed: per step, in emit order, ending after an id whose low bits are zero.
    const expected = new Set<string>();
    for (const stepId of ['step-0', 'step-1', 'step-2', 'step-3']) {
      let unit: { id: string; changed: boolean }[] = [];
      const close = (): void => {
        if (unit.some((r) => r.changed)) for (const r of unit) expected.add(r.id);
        unit = [];
      };
      churn.entities.forEach((e, i) => {
        if (e.stepId !== stepId) return;
        unit.push({ id: entityId('acme', e.entityType, e.entityKey), changed: changed(i) });
        if ((entityIdWords('acme', e.entityType, e.entityKey)[0]! & (SQL_UNIT_RECORDS - 1)) === 0 || unit.length === MAX_UNIT_RECORDS) close();
      });
      close();
    }
    const staged = traced.stagedIds('staged_entities');
    expect(new Set(staged)).toEqual(expected);
    expect(staged).toHaveLength(expected.size);
    expect(traced.stagedIds('staged_relationships')).toEqual([]);
    // About SQL_UNIT_RECORDS records a unit (a changed record falls in a unit about twice that, on average): far fewer than every row.
    expect(staged.length).toBeLessThan(n / 5);
    await traced.store.close();
  });

  it('+P2 and INV-03: a churn commit without kept steps plans its deletes by units (no matched unit is expanded row by row), deleting and cascading exactly what the memory reference does; with a kept step (+P1) it plans row by row', async () => {
    const n = 2000;
    const gone = (i: number): boolean => i % 97 === 5;
    const first = bigInput(n, 's1');
    // Removed hosts take their own relationships with them; the relationships pointing at them are cascaded (INV-03).
    const churn: SyncInput = { ...bigInput(n, 's2', (i) => i % 89 === 3), entities: bigInput(n, 's2', (i) => i % 89 === 3).entities.filter((_, i) => !gone(i)) };
    const ids = new Set(churn.entities.map((e) => `${e.entityType}:${e.entityKey}`));
    const consistent: SyncInput = { ...churn, relationships: churn.relationships.filter((r) => ids.has(`${r.fromType}:${r.fromKey}`) && ids.has(`${r.toType}:${r.toKey}`)) };
    // Another connector's relationship to a host that goes: the commit cascades it.
    const beta = syncInput({
      syncId: 'b1',
      connectorId: 'beta',
      entities: [ent('user', 'u-1')],
      relationships: [rel('user:u-1', 'OWNS', 'host:h-5'), rel('user:u-1', 'OWNS', 'host:h-6')],
    });
    const traced = tracedStore(freshPath());
    await streamed(traced.store, first);
    await streamed(traced.store, beta);
    traced.reset();
    const result = await streamed(traced.store, consistent);
    const expandedRowByRow = (): number => traced.sql.filter((q) => q.startsWith('INSERT INTO staged_confirmed')).length;
    expect(expandedRowByRow()).toBe(0);
    const reference = await replayOnMemory([first, beta, consistent]);
    expect({ stats: result.stats, rowsWritten: result.rowsWritten }).toEqual(reference.results[2]);
    expect(result.stats.entitiesDeleted).toBe(Array.from({ length: n }, (_, i) => i).filter(gone).length);
    expect(result.stats.relationshipsDeleted).toBeGreaterThan(1);
    expect(result.stats.relationshipsCascaded).toBe(1);
    expect(comparable(await dumpStore(traced.store))).toEqual(comparable(await dumpStore(reference.store)));

    // A failed, kept step: its rows stay, and the plan reads the scope row by row.
    traced.reset();
    const kept = withFailedStep({ ...consistent, syncId: 's3' }, 'step-1');
    const keptResult = await streamed(traced.store, kept);
    expect(expandedRowByRow()).toBeGreaterThan(0);
    const keptReference = await replayOnMemory([first, beta, consistent, kept]);
    expect({ stats: keptResult.stats, rowsWritten: keptResult.rowsWritten }).toEqual(keptReference.results[3]);
    expect(comparable(await dumpStore(traced.store))).toEqual(comparable(await dumpStore(keptReference.store)));
    await traced.store.close();
  });
});

describe('the scope\'s units, and conflicts with other writers', () => {
  it('SyncConflict: a streamed run that matched its units, whose scope another connector (another handle) takes a row from before the commit, is refused whole; running it again takes the row back', async () => {
    const path = freshPath();
    const store = createSqliteStore(path);
    await streamed(store, bigInput(200, 'a1'));
    const output = await runConnector(connectorOf(bigInput(200, 'a2')), { accountId: 'acme', syncId: 'a2', store });
    const other = createSqliteStore(path);
    await streamed(other, syncInput({ syncId: 'b1', connectorId: 'beta', entities: [ent('host', 'h-7', { entityClass: 'Host', properties: { owner: 'beta' } })] }));
    const before = await dumpStore(other);
    const error = await expectCommitError(commitSync(store, output), 'SyncConflict');
    expect(error.message).toMatch(/alpha/);
    expect(await dumpStore(other)).toEqual(before);
    expect(stagedRowsInFile(path)).toBe(0);

    const again = await streamed(store, bigInput(200, 'a2'));
    expect(again.stats).toEqual(stats({ entitiesUpdated: 1, entitiesUnchanged: 199, relationshipsUnchanged: 200 }));
    expect(await store.findEntity('acme', 'host', 'h-7')).toMatchObject({ connectorId: 'alpha', syncId: 'a2' });
    expect((await streamed(store, bigInput(200, 'a3'))).rowsWritten).toBe(0);
    await Promise.all([store.close(), other.close()]);
  });

  it('SyncConflict: another connector\'s INV-03 cascade of a relationship of the scope, before the commit of a run that matched it, is refused whole; running again then fails INV-C04 naming it', async () => {
    const path = freshPath();
    const store = createSqliteStore(path);
    const alpha = (syncId: string): SyncInput =>
      syncInput({ syncId, entities: [ent('host', 'h-1', { stepId: 'hosts' })], relationships: [rel('host:h-1', 'USES', 'user:u-1', { stepId: 'links' })] });
    await streamed(store, syncInput({ syncId: 'b1', connectorId: 'beta', entities: [ent('user', 'u-1')] }));
    await streamed(store, alpha('a1'));
    const output = await runConnector(connectorOf(alpha('a2')), { accountId: 'acme', syncId: 'a2', store });
    const cascade = await streamed(store, syncInput({ syncId: 'b2', connectorId: 'beta' }));
    expect(cascade.stats).toEqual(stats({ entitiesDeleted: 1, relationshipsDeleted: 1, relationshipsCascaded: 1 }));
    const before = await dumpStore(store);
    await expectCommitError(commitSync(store, output), 'SyncConflict');
    expect(await dumpStore(store)).toEqual(before);
    await expectCommitError(streamed(store, alpha('a2')), 'DanglingRelationship', 'host:h-1 USES user:u-1');
    await store.close();
  });

  it('+P1/+P2: a commit with kept steps clears the scope\'s units, so the next identical run stages every row; that full commit records them again and the run after stages none', async () => {
    const path = freshPath();
    const traced = tracedStore(path);
    await streamed(traced.store, bigInput(200, 's1'));
    expect(scopeUnits(path).units).toBeGreaterThan(0);
    const partial = await streamed(traced.store, withFailedStep(bigInput(200, 's2'), 'step-1'));
    expect(partial.stats).toMatchObject({ entitiesKept: 50, entitiesUnchanged: 150 });
    expect(scopeUnits(path)).toMatchObject({ units: 0, unitsWrites: null });

    traced.reset();
    const full = await streamed(traced.store, bigInput(200, 's3'));
    expect(full.stats).toEqual(stats({ entitiesUnchanged: 200, relationshipsUnchanged: 200 }));
    expect(traced.staged()).toBe(400);
    expect(scopeUnits(path).units).toBeGreaterThan(0);
    traced.reset();
    expect((await streamed(traced.store, bigInput(200, 's4'))).rowsWritten).toBe(0);
    expect(traced.staged()).toBe(0);
    await traced.store.close();
  });

  it('+P2: properties that are not a plain object are digested as they are stored (their own keys, canonical): the units are recorded, and an identical run stages nothing, as class instances or as plain objects', async () => {
    class Zone {
      constructor(readonly zone: string) {}
      toJSON() {
        return { zone: 'not what is stored' };
      }
    }
    const path = freshPath();
    const traced = tracedStore(path);
    const withZone = (syncId: string, properties: object): SyncInput => {
      const input = bigInput(100, syncId);
      return { ...input, entities: [...input.entities, ent('host', 'zoned', { stepId: 'step-0', properties: properties as never })] };
    };
    const first = await streamed(traced.store, withZone('s1', new Zone('eu')));
    expect(first.stats.entitiesCreated).toBe(101);
    expect(scopeUnits(path).units).toBeGreaterThan(0);
    expect((await traced.store.findEntity('acme', 'host', 'zoned'))?.properties).toEqual({ zone: 'eu' });
    traced.reset();
    expect((await streamed(traced.store, withZone('s2', new Zone('eu')))).rowsWritten).toBe(0);
    expect(traced.staged()).toBe(0);
    // The same content as a plain object is the same unit.
    traced.reset();
    expect((await streamed(traced.store, withZone('s3', { zone: 'eu' }))).rowsWritten).toBe(0);
    expect(traced.staged()).toBe(0);
    // Other content is a change, found without a toJSON's help.
    traced.reset();
    expect((await streamed(traced.store, withZone('s4', new Zone('us')))).stats).toMatchObject({ entitiesUpdated: 1 });
    await traced.store.close();
  });

  it('defect 12: a normal sync trusts the stored hash, so hand edits to the graph tables survive it (documented); verify mode compares the columns and restores every hand-edited, -deleted and -inserted row', async () => {
    const path = freshPath();
    const traced = tracedStore(path);
    const input = (syncId: string): SyncInput => {
      const seed = seedInput(syncId);
      return { ...seed, entities: [...seed.entities, ent('host', 'lonely', { stepId: 'odd' })] };
    };
    await streamed(traced.store, input('s1'));
    const original = await dumpStore(traced.store);
    const db = raw(path);
    const hostId = entityId('acme', 'host', 'alpha-0');
    const linkId = relationshipId('acme', 'host', 'alpha-0', 'CONNECTS', 'host', 'alpha-1');
    db.prepare(`UPDATE entities SET display_name = 'edited by hand', properties = '{"i":99}' WHERE id = ?`).run(hostId);
    db.prepare(`UPDATE relationships SET properties = '{"by":"hand"}' WHERE id = ?`).run(linkId);
    db.prepare(`DELETE FROM entities WHERE id = ?`).run(entityId('acme', 'host', 'lonely'));
    db.prepare(
      `INSERT INTO entities (id, account_id, connector_id, sync_id, step_id, entity_type, entity_key, entity_class, display_name, properties, hash)
       VALUES (?, 'acme', 'alpha', 'manual', 'even', 'host', 'by-hand', 'Generic', 'by hand', '{}', 'h')`,
    ).run(entityId('acme', 'host', 'by-hand'));
    db.close();
    const edited = await dumpStore(traced.store);

    const normal = await streamed(traced.store, input('s2'));
    expect(normal.stats).toEqual(stats({ entitiesUnchanged: 6, relationshipsUnchanged: 4 }));
    expect(normal.rowsWritten).toBe(0);
    expect(rowsOf(await dumpStore(traced.store))).toEqual(rowsOf(edited));
    expect(await traced.store.getEntity(hostId)).toMatchObject({ displayName: 'edited by hand', properties: { i: 99 } });

    traced.reset();
    const verified = await streamed(traced.store, input('s3'), { verify: true });
    expect(verified.stats).toEqual(stats({ entitiesCreated: 1, entitiesUpdated: 1, entitiesUnchanged: 4, entitiesDeleted: 1, relationshipsUpdated: 1, relationshipsUnchanged: 3 }));
    expect(verified.rowsWritten).toBe(4);
    expect(traced.staged()).toBe(10);
    expect(rowsOf(await dumpStore(traced.store))).toEqual(rowsOf(original));
    // The verify commit recorded the scope's units: the next normal run is the fast path again.
    traced.reset();
    expect((await streamed(traced.store, input('s4'))).rowsWritten).toBe(0);
    expect(traced.staged()).toBe(0);
    await traced.store.close();
  });
});

describe('the JSON-chunk staging path (stagingChunkBytes: the way D1 stages)', () => {
  it('the JSON-chunk staging path gives the memory store\'s results and graph, streamed and in memory, whatever the chunk size', async () => {
    const inputs = [bigInput(300, 's1'), withFailedStep(bigInput(250, 's2'), 'step-1'), bigInput(260, 's3', (i) => i % 7 === 0), bigInput(10, 's4')];
    const memory = await replayOnMemory(inputs);
    for (const [chunkBytes, mode] of [[1024, 'streaming'], [300, 'streaming'], [DEFAULT_CHUNK_BYTES, 'memory']] as const) {
      const traced = tracedStore(freshPath(), { stagingChunkBytes: chunkBytes });
      for (const [i, input] of inputs.entries()) {
        const { stats: s, rowsWritten } = mode === 'streaming' ? await streamed(traced.store, input) : await commitSync(traced.store, input);
        expect({ stats: s, rowsWritten }, `${chunkBytes} ${input.syncId}`).toEqual(memory.results[i]);
      }
      expect(comparable(await dumpStore(traced.store))).toEqual(comparable(await dumpStore(memory.store)));
      // Really the JSON path: rows went in through json_each, never one INSERT per row.
      expect(traced.sql.some((s) => /^INSERT INTO staged_entities .* FROM json_each\(/.test(s))).toBe(true);
      expect(traced.staged()).toBe(0);
      await traced.store.close();
    }
  });
});

describe('the commit on TEMP staging (issue 11: a commit linear in its rows)', () => {
  it.each(['TEMP staging (SQLite)', 'file staging (D1, migration 8)'])('issue 11: the lookups of a sync\'s matched units (the commit\'s, and prior reads\') search a partial index of the %s instead of reading every staged unit, ids and all; a first sync, which has none, then finds that at once', async (where) => {
    const path = freshPath();
    await createSqliteStore(path).close();
    const db = raw(path);
    try {
      if (where.startsWith('TEMP')) for (const s of tempStagingStatements()) db.prepare(s.sql).run();
      const plans = [matchedUnitsStatement('s1'), ...expandStatements('s1'), ...expandStatements('s1', ['step-a'])].map((s) =>
        (db.prepare(`EXPLAIN QUERY PLAN ${s.sql}`).all(...(s.params.length > 0 ? [numberedParams(s.params)] : [])) as { detail: string }[])
          .map((r) => r.detail)
          .filter((detail) => /\bstaged_units\b/.test(detail) || /\bm\b/.test(detail)),
      );
      expect(plans).toHaveLength(5);
      for (const plan of plans) {
        expect(plan.join(' | ')).toMatch(/(SCAN|SEARCH) (staged_units|m) USING INDEX staged_units_matched/);
        // Nothing else reads the sync's units, but a lookup of one unit by its whole key.
        const others = plan.filter((d) => /^(SCAN|SEARCH) (staged_units|m)\b/.test(d) && !/USING INDEX staged_units_matched|USING PRIMARY KEY \(token=\? AND kind=\? AND digest=\?\)/.test(d));
        expect(others).toEqual([]);
      }
    } finally {
      db.close();
    }
  });

  it('the graph writes read the TEMP staging in one scan and a sort, not row by row through its key: the memory store\'s results and graph, and a first sync\'s rows stored in id order', async () => {
    const inputs = [bigInput(300, 's1'), bigInput(320, 's2', (i) => i % 6 === 0), withFailedStep(bigInput(280, 's3', (i) => i % 5 === 0), 'step-2')];
    const memory = await replayOnMemory(inputs);
    const traced = tracedStore(freshPath(), { bulkLoadRows: 0 });
    for (const [i, input] of inputs.entries()) {
      const { stats: s, rowsWritten } = await streamed(traced.store, input);
      expect({ stats: s, rowsWritten }, input.syncId).toEqual(memory.results[i]);
      if (i === 0) {
        // A first sync: SQLite gave rowids in insert order, so the rows went in sorted by id.
        const db = raw(traced.store.path, { readonly: true });
        for (const table of ['entities', 'relationships']) {
          const ids = (db.prepare(`SELECT id FROM ${table} ORDER BY rowid`).all() as { id: string }[]).map((r) => r.id);
          expect(ids, table).toEqual([...ids].sort());
        }
        db.close();
      }
    }
    expect(comparable(await dumpStore(traced.store))).toEqual(comparable(await dumpStore(memory.store)));
    for (const table of ['entities', 'relationships']) {
      const writes = traced.sql.filter((sql) => sql.startsWith(`INSERT INTO ${table} (id,`));
      expect(writes.length, table).toBeGreaterThan(0);
      for (const sql of writes) expect(sql).toMatch(new RegExp(`FROM staged_${table} s NOT INDEXED .* ORDER BY s\\.id`, 's'));
    }
    await traced.store.close();
  });
});

describe('bulk load (bulkLoadRows): secondary indexes rebuilt inside the commit', () => {
  const indexes = (path: string): unknown => {
    const db = raw(path, { readonly: true });
    try {
      return db.prepare(`SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name`).all();
    } finally {
      db.close();
    }
  };

  it('INV-C01: a commit creating ≥ bulkLoadRows rows drops and rebuilds the graph tables\' secondary indexes in its own transaction: same results and graph as memory, the migrations\' indexes afterwards, and a refused commit of that size changes nothing', async () => {
    const inputs = [bigInput(400, 's1'), bigInput(420, 's2', (i) => i % 5 === 0), withFailedStep(bigInput(380, 's3'), 'step-1')];
    const memory = await replayOnMemory(inputs);
    const plain = freshPath();
    createSqliteStore(plain).close();
    const traced = tracedStore(freshPath(), { bulkLoadRows: 100 });
    const path = traced.store.path;
    // A dangling relationship in a bulk-sized first commit: refused whole (its guard runs before the graph writes), indexes and graph as they were.
    const dangling: SyncInput = { ...bigInput(400, 's0'), relationships: [...bigInput(400, 's0').relationships, rel('host:h-0', 'CONNECTS', 'host:nowhere')] };
    await expect(streamed(traced.store, dangling)).rejects.toMatchObject({ code: 'DanglingRelationship' });
    expect(indexes(path)).toEqual(indexes(plain));
    expect((await traced.store.counts()).entities).toBe(0);
    for (const [i, input] of inputs.entries()) {
      const { stats, rowsWritten } = await streamed(traced.store, input);
      expect({ stats, rowsWritten }, input.syncId).toEqual(memory.results[i]);
      expect(indexes(path), input.syncId).toEqual(indexes(plain));
    }
    expect(comparable(await dumpStore(traced.store))).toEqual(comparable(await dumpStore(memory.store)));
    // The first commit took the bulk path (a drop, then the same CREATE INDEX as the migration); the later ones, into a store as large, did not.
    const drops = traced.sql.filter((sql) => /^DROP INDEX IF EXISTS main\."entities_scope"/.test(sql));
    expect(drops).toHaveLength(1);
    await traced.store.close();
  });
});

describe('INV-C04 inside one transaction', () => {
  it('INV-C04: a commit whose staged and matched (unchanged) relationships lose an endpoint fails whole in its one transaction, naming the first in emit order and the count, word for word as memory', async () => {
    const hosts = (count: number) => Array.from({ length: count }, (_, i) => ent('host', `h-${i}`, { stepId: 'hosts' }));
    const links = Array.from({ length: 99 }, (_, i) => rel(`host:h-${i}`, 'CONNECTS', `host:h-${i + 1}`, { stepId: 'links' }));
    const first = syncInput({ syncId: 's1', entities: hosts(100), relationships: links });
    // Half the hosts are no longer emitted: most links are unchanged (matched units) but dangle; one new link points nowhere.
    const broken = syncInput({ syncId: 's2', entities: hosts(50), relationships: [...links, rel('host:h-0', 'USES', 'host:nowhere', { stepId: 'links' })] });
    const memory = createMemoryStore();
    await commitSync(memory, first);
    const expected = await expectCommitError(commitSync(memory, broken), 'DanglingRelationship');

    const path = freshPath();
    const traced = tracedStore(path);
    await streamed(traced.store, first);
    const before = await dumpStore(traced.store);
    traced.reset();
    const error = await expectCommitError(streamed(traced.store, broken), 'DanglingRelationship');
    expect(error.message).toBe(expected.message);
    expect(error.relationship).toBe(expected.relationship);
    expect(error.message).toContain('(and 50 more)');
    // Most links were matched, not staged: the guard saw them through their units.
    expect(traced.stagedIds('staged_relationships').length).toBeLessThan(60);
    expect(await dumpStore(traced.store)).toEqual(before);
    // The commit ran as one transaction that the guard rolled back, and its staging was dropped.
    expect(traced.sql.filter((s) => s === 'BEGIN IMMEDIATE').length).toBeGreaterThanOrEqual(1);
    expect(traced.sql.at(-1)).toMatch(/^(DELETE FROM staged_|COMMIT)/);
    expect(stagedRowsInFile(path)).toBe(0);
    // And the fixed sync commits under the same id.
    expect((await streamed(traced.store, { ...broken, entities: hosts(100), relationships: links })).stats).toEqual(
      stats({ entitiesUnchanged: 100, relationshipsUnchanged: 99 }),
    );
    await traced.store.close();
  });
});

describe('D1 limits and the statement lists', () => {
  /** The store, with what the core hands each session recorded: its header, chunks and close. */
  function recordSessions(store: GraphStore) {
    const sessions: { header: SyncHeader; chunks: StagedChunk[]; closes: SyncClose[] }[] = [];
    const recorded: GraphStore = {
      ...store,
      async openSync(header) {
        const session = await store.openSync(header);
        const record = { header, chunks: [] as StagedChunk[], closes: [] as SyncClose[] };
        sessions.push(record);
        return {
          ...session,
          stage: (chunk) => (record.chunks.push(chunk), session.stage(chunk)),
          commit: (close) => (record.closes.push(close), session.commit(close)),
        };
      },
    };
    return { store: recorded, sessions };
  }

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
    const { store, sessions } = recordSessions(createSqliteStore(freshPath()));
    const result = await commitSync(store, { accountId: id, connectorId: id, syncId: id, entities, relationships: [relationship], failedSteps: [id], keptSteps: [id] });
    expect(result.stats).toMatchObject({ entitiesCreated: 4, relationshipsCreated: 1 });
    const chunks = sessions.flatMap((session) => session.chunks);
    for (const e of chunks.flatMap((c) => c.entities)) {
      expect(measure([e.entityType, e.entityKey, e.entityClass, e.displayName], JSON.parse(e.propertiesJson))).toBe(MAX_ROW_BYTES);
      // The stored row: every column, the source ids and the hash included.
      const stored = [e.id, e.entityType, e.entityKey, e.entityClass, e.displayName, e.propertiesJson, e.hash, e.stepId, id, id, id].reduce((n, t) => n + utf8Length(t), 0);
      expect(stored).toBeLessThan(D1_LIMITS.maxValueBytes);
    }
    // Staged as D1 stages them: each such row alone in its JSON chunk, under 2 MB.
    const statements = chunks.flatMap((chunk) => [...stageRowStatements('t', chunk, DEFAULT_CHUNK_BYTES), ...stageUnitStatements('t', chunk, DEFAULT_CHUNK_BYTES)]);
    const largest = Math.max(...statements.flatMap((st) => st.params.map((p) => (typeof p === 'string' ? utf8Length(p) : 0))));
    expect(largest).toBeGreaterThan(MAX_ROW_BYTES);
    expect(largest).toBeLessThan(D1_LIMITS.maxValueBytes - 900_000);
    for (const st of statements) expect(statementLimitProblem(st), st.sql.slice(0, 80)).toBeUndefined();
    expect((await store.findEntity(id, 'doc', 'control'))?.displayName).toBe(entities[0]!.displayName);
    await store.close();
  });

  it('D1 limits: every statement of a 100k-row streamed sync, staged as D1 stages it (JSON chunks) and committed, binds ≤ 100 parameters, ≤ 100 KB of SQL and values ≤ 2 MB, each ?N exactly once', async () => {
    const sqlite = createSqliteStore(freshPath());
    const { store, sessions } = recordSessions(sqlite);
    const first = await streamed(store, bigInput(50_000, 'big-1'), { chunkRows: 2000 });
    expect(first.stats).toMatchObject({ entitiesCreated: 50_000, relationshipsCreated: 50_000 });
    // A row near MAX_ROW_BYTES: it gets a JSON chunk of its own.
    const huge = syncInput({ syncId: 'huge', connectorId: 'huge', entities: [ent('blob', 'b', { properties: { text: 'x'.repeat(990_000) } }), ent('blob', 'c')] });
    await streamed(store, huge);
    const again = await streamed(store, bigInput(50_000, 'big-2'), { chunkRows: 2000 });
    expect(again.rowsWritten).toBe(0);

    const token = crypto.randomUUID();
    const committedAt = new Date().toISOString();
    const all: SqlStatement[] = [...migrationStatements(0, 'now'), ...cleanupStatements(committedAt)];
    let chunks = 0;
    for (const { header, chunks: staged, closes } of sessions) {
      all.push(openStatement(token, header, committedAt), ...discardStatements(token));
      for (const chunk of staged) {
        chunks++;
        all.push(...stageRowStatements(token, chunk, DEFAULT_CHUNK_BYTES), ...stageUnitStatements(token, chunk, DEFAULT_CHUNK_BYTES));
        all.push(...storedUnitsStatements(token, chunk.stepId, 'entity'), ...storedUnitsStatements(token, chunk.stepId, 'relationship'));
        all.push(...discardStepStatements(token, chunk.stepId));
      }
      const steps = [...new Set(staged.map((c) => c.stepId))];
      all.push(...expandStatements(token), ...expandStatements(token, steps));
      all.push(priorEntitiesStatement(token, { steps, type: 'host', class: 'Host', after: 'f'.repeat(32), limit: 500 }), priorEntityStatement(token, steps, '0'.repeat(32)));
      for (const close of closes) {
        all.push(...unchangedStatements(token, close, committedAt), ...commitStatements(token, close, committedAt, false), ...commitStatements(token, close, committedAt, true));
        all.push(danglingReportStatement(token, close, committedAt));
      }
    }
    all.push(
      getEntityStatement('0'.repeat(32)),
      findEntityStatement('acme', 'host', 'h-1'),
      getRelationshipStatement('0'.repeat(32)),
      listEntitiesStatement({ accountId: 'a', type: 't', class: 'Host', connectorId: 'c', limit: 1000, cursor: 'MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA' }).statement,
      listRelationshipsStatement({ accountId: 'a', entityId: '0'.repeat(32), verb: 'HAS', connectorId: 'c', direction: 'both' }).statement,
      ...countsStatements({ accountId: 'a' }),
      historyStatement({ accountId: 'a', connectorId: 'c', limit: 10 }),
    );
    // The first sync's 100k rows went in chunks of about chunkRows (whole units); the huge row alone in its statement.
    expect(chunks).toBeGreaterThanOrEqual(50);
    const stagedValues = all.filter((s) => s.kind === 'stage' && /FROM json_each\(\?2\)/.test(s.sql)).map((s) => utf8Length(String(s.params[1])));
    expect(Math.max(...stagedValues)).toBeGreaterThan(990_000);
    for (const s of all) {
      expect(statementLimitProblem(s), s.sql.slice(0, 120)).toBeUndefined();
      // Every ?N the SQL uses is bound, and nothing more.
      const used = new Set([...s.sql.matchAll(/\?(\d+)/g)].map((m) => Number(m[1])));
      expect([...used].sort((a, b) => a - b), s.sql.slice(0, 120)).toEqual(s.params.map((_, i) => i + 1));
    }
    // And the check can fail: a statement over the limits is named.
    expect(statementLimitProblem({ sql: 'SELECT 1', params: Array.from({ length: 101 }, () => 1), kind: 'read' })).toMatch(/101 parameters/);
    expect(statementLimitProblem({ sql: 'SELECT ?1', params: ['x'.repeat(2_000_001)], kind: 'read' })).toMatch(/2000001 bytes/);
    await sqlite.close();
  }, 120_000);
});

it('the SQL module imports nothing platform-specific (the D1 store shares it)', () => {
  const files = readdirSync(new URL('../../adapters/sql/', import.meta.url)).filter((f) => f.endsWith('.ts'));
  expect(files.sort()).toEqual(['guard.ts', 'index.ts', 'query.ts', 'read.ts', 'schema.ts', 'statement.ts', 'store.ts', 'swap.ts', 'sync.ts']);
  for (const file of files) {
    const code = readFileSync(new URL(`../../adapters/sql/${file}`, import.meta.url), 'utf8');
    const specifiers = [...code.matchAll(/from\s+['"]([^'"]+)['"]/g)].map((m) => m[1]!);
    for (const spec of specifiers) expect(spec.startsWith('.'), `${file} imports ${spec}`).toBe(true);
  }
});
