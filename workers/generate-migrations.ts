/**
 * Writes the graph schema of the SQL module (adapters/sql/schema.ts) as D1
 * migration files, `workers/migrations/NNNN_<name>.sql`, for
 * `wrangler d1 migrations apply`. Run `npm run migrations` after changing the
 * schema; test/workers/migrations.test.ts fails while the files are stale.
 * The Worker's own tables start at 0100 (written by hand).
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MIGRATIONS, migrationSql, type Migration } from '../adapters/sql/index.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** `0001_graph.sql`: wrangler applies files in name order. */
export function migrationFileName(migration: Migration): string {
  return `${String(migration.version).padStart(4, '0')}_${migration.name}.sql`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const existing = new Set(readdirSync(MIGRATIONS_DIR));
  for (const migration of MIGRATIONS) {
    const name = migrationFileName(migration);
    writeFileSync(`${MIGRATIONS_DIR}${name}`, migrationSql(migration));
    console.log(`${existing.has(name) ? 'wrote' : 'created'} workers/migrations/${name}`);
  }
}
