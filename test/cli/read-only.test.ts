import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS, migrationSql, SCHEMA_VERSION } from '../../adapters/sql/index.js';
import { modules, SPAWNING, workspace, type CliResult, type Workspace } from './run-cli.js';

const READS = [['stats'], ['entities', '--type', 'user'], ['syncs']] as const;

/** What a read must leave exactly as it found it: the file's bytes, size, mode and mtime. */
function fileState(path: string): { sha256: string; size: number; mode: number; mtimeMs: number } {
  const info = statSync(path);
  return { sha256: createHash('sha256').update(readFileSync(path)).digest('hex'), size: info.size, mode: info.mode, mtimeMs: info.mtimeMs };
}

/**
 * Root reads and writes any file whatever its mode, so a chmod 0444 store
 * proves nothing to a root process: as root, the CLI runs without the
 * capabilities that override file modes.
 */
const restricted = process.getuid?.() === 0;

/** A SQLite file at schema `version` (the SQL module's migrations up to it), with one entity row. */
function schemaAt(path: string, version: number): void {
  const db = new Database(path);
  for (const m of MIGRATIONS.filter((m) => m.version <= version)) db.exec(migrationSql(m));
  db.prepare(
    `INSERT INTO entities (id, account_id, connector_id, sync_id, step_id, entity_type, entity_key, entity_class, display_name, properties, hash)
     VALUES ('e1', 'default', 'old', 's0', 'hosts', 'host', 'h1', 'Host', 'h1', '{}', 'x')`,
  ).run();
  db.close();
}

async function expectEveryRead(ws: Workspace, store: string, check: (result: CliResult) => void): Promise<void> {
  const results = await Promise.all(READS.map((read) => ws.cli(...read, '--store', store)));
  results.forEach(check);
}

describe.concurrent('Defect 10: read commands open the store read-only, never create or migrate it, and say what is wrong with it', SPAWNING, () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = workspace();
    ws.write('directory.ts', modules.tsFactory);
    ws.write('ok.json', JSON.stringify({ users: ['ada', 'bob'] }));
    const synced = await Promise.all(['store.db', 'locked.db', 'ro-dir/store.db'].map((store) => ws.cli('sync', 'directory.ts', '--config', 'ok.json', '--store', store)));
    expect(synced.map((r) => r.code)).toEqual([0, 0, 0]);
    // Let SQLite create the WAL index (-shm) next to a read-only file, as an
    // owner could.
    chmodSync(ws.dir, 0o777);
  }, SPAWNING.timeout);
  afterAll(() => {
    chmodSync(join(ws.dir, 'ro-dir'), 0o755);
    ws.remove();
  });

  it('a chmod 0444 store: stats, entities and syncs read it (without the root override of file modes when the tests run as root) and leave it byte for byte, mtime included', async () => {
    const file = join(ws.dir, 'store.db');
    chmodSync(file, 0o444);
    const before = fileState(file);
    const results = await Promise.all(READS.map((read) => ws.cliAs(restricted, ...read, '--store', 'store.db')));
    for (const result of results) expect(result, result.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(results[0]!.stdout).toContain('4 entities, 2 relationships');
    expect(results[1]!.stdout).toMatch(/^user\s+ada\s+User/m);
    expect(results[2]!.stdout).toMatch(/directory\s+default\s+sync-/);
    expect(fileState(file)).toEqual(before);
  });

  it('reads never ask for the write lock: they answer while another connection holds it, and change nothing', async () => {
    const file = join(ws.dir, 'locked.db');
    const writer = new Database(file);
    writer.exec('BEGIN IMMEDIATE');
    try {
      const before = fileState(file);
      const results = await Promise.all(READS.map((read) => ws.cli(...read, '--store', 'locked.db')));
      for (const result of results) expect(result, result.stderr).toMatchObject({ code: 0, stderr: '' });
      expect(results[0]!.stdout).toContain('4 entities, 2 relationships');
      expect(fileState(file)).toEqual(before);
    } finally {
      writer.exec('ROLLBACK');
      writer.close();
    }
  });

  it('a store in a directory the reader cannot write: exit 2 saying SQLite needs to create its -shm file there, and the file is untouched', async () => {
    const file = join(ws.dir, 'ro-dir/store.db');
    chmodSync(join(ws.dir, 'ro-dir'), 0o555);
    const before = fileState(file);
    const result = await ws.cliAs(restricted, 'stats', '--store', 'ro-dir/store.db');
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'parallax-edge: cannot read store ro-dir/store.db: its directory is not writable, and SQLite must create ro-dir/store.db-shm there to read a WAL database\n',
    );
    expect(fileState(file)).toEqual(before);
    expect(readdirSync(join(ws.dir, 'ro-dir'))).toEqual(['store.db']);
  });

  it('a missing path: exit 2 "no store at", and neither the file nor its directory is created', async () => {
    await expectEveryRead(ws, 'nowhere/graph.db', (result) => {
      expect(result.code).toBe(2);
      expect(result.stderr).toBe('parallax-edge: no store at nowhere/graph.db; run "parallax-edge sync" first, or pass --store PATH\n');
    });
    expect(existsSync(join(ws.dir, 'nowhere'))).toBe(false);
  });

  it('a 0-byte file: exit 2 "not a parallax-edge store (it is empty)", and it stays 0 bytes with nothing created beside it', async () => {
    writeFileSync(join(ws.dir, 'empty.db'), '');
    const before = fileState(join(ws.dir, 'empty.db'));
    await expectEveryRead(ws, 'empty.db', (result) => {
      expect(result.code).toBe(2);
      expect(result.stderr).toBe('parallax-edge: empty.db is not a parallax-edge store (it is empty); "parallax-edge sync --store empty.db" creates one\n');
    });
    expect(fileState(join(ws.dir, 'empty.db'))).toEqual(before);
    expect(readdirSync(ws.dir).filter((name) => name.startsWith('empty.db'))).toEqual(['empty.db']);
  });

  it('a file that is not SQLite: exit 2 "not a SQLite database", and the file is untouched', async () => {
    writeFileSync(join(ws.dir, 'notes.db'), 'these are my notes, not a database\n'.repeat(200));
    const before = fileState(join(ws.dir, 'notes.db'));
    await expectEveryRead(ws, 'notes.db', (result) => {
      expect(result.code).toBe(2);
      expect(result.stderr).toBe('parallax-edge: notes.db is not a parallax-edge store: it is not a SQLite database\n');
    });
    expect(fileState(join(ws.dir, 'notes.db'))).toEqual(before);
  });

  it("another application's SQLite database: reads exit 2 \"no parallax-edge schema\", and sync refuses to add its tables to it; the file is untouched", async () => {
    const file = join(ws.dir, 'app.db');
    const db = new Database(file);
    db.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('Ada')");
    db.close();
    const before = fileState(file);
    const message = 'parallax-edge: app.db is not a parallax-edge store: it is a SQLite database without the parallax-edge schema\n';
    await expectEveryRead(ws, 'app.db', (result) => {
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(message);
    });
    const sync = await ws.cli('sync', 'directory.ts', '--config', 'ok.json', '--store', 'app.db');
    expect(sync.code).toBe(2);
    expect(sync.stderr).toBe(message);
    expect(fileState(file)).toEqual(before);
  });

  it('an older schema: reads exit 2 saying to run "parallax-edge migrate" (or a sync), and leave it as it was; migrate upgrades it, keeping its rows', async () => {
    const older = SCHEMA_VERSION - 1;
    const file = join(ws.dir, 'older.db');
    schemaAt(file, older);
    const before = fileState(file);
    await expectEveryRead(ws, 'older.db', (result) => {
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        `parallax-edge: store older.db has schema version ${older} and this parallax-edge reads version ${SCHEMA_VERSION}; ` +
          'run "parallax-edge migrate --store older.db" (or a sync into it) to upgrade it\n',
      );
    });
    expect(fileState(file)).toEqual(before);

    const migrated = await ws.cli('migrate', '--store', 'older.db');
    expect(migrated, migrated.stderr).toMatchObject({ code: 0, stdout: `Migrated store older.db from schema version ${older} to ${SCHEMA_VERSION}\n` });
    const again = await ws.cli('migrate', '--store', 'older.db');
    expect(again).toMatchObject({ code: 0, stdout: `Store older.db is at schema version ${SCHEMA_VERSION}; nothing to migrate\n` });
    const stats = await ws.cli('stats', '--store', 'older.db');
    expect(stats.code).toBe(0);
    expect(stats.stdout).toContain('1 entity, 0 relationships');
  });

  it('a newer schema: reads, migrate and sync exit 2 saying this parallax-edge is too old, and leave it as it was', async () => {
    const file = join(ws.dir, 'newer.db');
    schemaAt(file, SCHEMA_VERSION);
    const db = new Database(file);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(SCHEMA_VERSION + 1, 'future', 'x');
    db.close();
    const before = fileState(file);
    const message =
      `parallax-edge: store newer.db has schema version ${SCHEMA_VERSION + 1}, newer than this parallax-edge reads (version ${SCHEMA_VERSION}); ` +
      'upgrade parallax-edge to use it\n';
    await expectEveryRead(ws, 'newer.db', (result) => {
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(message);
    });
    for (const result of await Promise.all([
      ws.cli('migrate', '--store', 'newer.db'),
      ws.cli('sync', 'directory.ts', '--config', 'ok.json', '--store', 'newer.db'),
    ])) {
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(message);
    }
    expect(fileState(file)).toEqual(before);
  });

  it('migrate refuses a missing path and a 0-byte file (exit 2) and creates nothing', async () => {
    writeFileSync(join(ws.dir, 'empty-too.db'), '');
    const [missing, empty] = await Promise.all([ws.cli('migrate', '--store', 'gone/x.db'), ws.cli('migrate', '--store', 'empty-too.db')]);
    expect(missing).toMatchObject({ code: 2, stderr: 'parallax-edge: no store at gone/x.db; run "parallax-edge sync" first, or pass --store PATH\n' });
    expect(empty).toMatchObject({
      code: 2,
      stderr: 'parallax-edge: empty-too.db is not a parallax-edge store (it is empty); "parallax-edge sync --store empty-too.db" creates one\n',
    });
    expect(existsSync(join(ws.dir, 'gone'))).toBe(false);
    expect(statSync(join(ws.dir, 'empty-too.db')).size).toBe(0);
  });
});
