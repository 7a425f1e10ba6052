/**
 * workers/migrations (what `wrangler d1 migrations apply` runs) must be the
 * SQL module's schema, file for file: a stale file fails here until
 * `npm run migrations` rewrites it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, migrationSql } from '../../adapters/sql/index.js';
import { MIGRATIONS_DIR, migrationFileName } from '../../workers/generate-migrations.js';

describe('workers/migrations', () => {
  const files = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).sort();

  it.each(MIGRATIONS.map((m) => [migrationFileName(m), m] as const))('%s is migrationSql() of the SQL module\'s migration', (name, migration) => {
    expect(files).toContain(name);
    expect(readFileSync(`${MIGRATIONS_DIR}${name}`, 'utf8')).toBe(migrationSql(migration));
  });

  it('every graph-schema file (0001-0099) is one of the SQL module\'s migrations; the Worker\'s own tables start at 0100', () => {
    const graph = files.filter((f) => Number(f.slice(0, 4)) < 100);
    expect(graph).toEqual(MIGRATIONS.map(migrationFileName));
    for (const f of files) expect(f).toMatch(/^\d{4}_[a-z0-9_]+\.sql$/);
    expect(files.filter((f) => Number(f.slice(0, 4)) >= 100)).toContain('0100_worker_runs.sql');
  });

  it('the Worker tables do not reuse a graph-schema table name', () => {
    const graphTables = new Set(MIGRATIONS.flatMap((m) => m.statements.map((s) => /CREATE TABLE IF NOT EXISTS (\w+)/.exec(s)?.[1]).filter(Boolean)));
    const worker = readFileSync(`${MIGRATIONS_DIR}0100_worker_runs.sql`, 'utf8');
    for (const [, table] of worker.matchAll(/CREATE TABLE IF NOT EXISTS (\w+)/g)) expect(graphTables.has(table!)).toBe(false);
  });
});
