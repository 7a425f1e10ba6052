/**
 * Opening read-only: the file must already be a store at this code's schema
 * version, and nothing about it may change (no migration, no TEMP table).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { CURRENT_VERSION_QUERY, MIGRATIONS_TABLE_QUERY, SCHEMA_VERSION, schemaProblem, type Row } from '../sql/index.js';
import { SqliteSchemaError, type SqliteSchemaProblem } from './api.js';

const SQLITE_HEADER = 'SQLite format 3\0';

/** Is `path` 0 bytes long, or does it start with SQLite's header? */
function emptyOrSqlite(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(SQLITE_HEADER.length);
    const n = readSync(fd, head, 0, head.length, 0);
    return n === 0 || head.toString('latin1', 0, n) === SQLITE_HEADER;
  } finally {
    closeSync(fd);
  }
}

/** Throws a {@link SqliteSchemaError} unless `db` is a store at {@link SCHEMA_VERSION}. Only reads. */
export function checkSchema(db: Database.Database, path: string): void {
  const refuse = (problem: SqliteSchemaProblem, message: string, version?: number, cause?: unknown): never => {
    throw new SqliteSchemaError(problem, path, version, message, cause);
  };
  let objects: number;
  try {
    objects = (db.prepare('SELECT COUNT(*) AS objects FROM sqlite_master').get() as { objects: number }).objects;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'SQLITE_NOTADB') throw error;
    return refuse('not-sqlite', `"${path}" is not a SQLite database`, undefined, error);
  }
  if (objects === 0) {
    // SQLite reads a file too short for its header as a new, empty database.
    if (!emptyOrSqlite(path)) refuse('not-sqlite', `"${path}" is not a SQLite database`);
    refuse('empty', `SQLite database "${path}" is empty: it holds no parallax-edge store`);
  }
  let version: unknown;
  try {
    const present = Number((db.prepare(MIGRATIONS_TABLE_QUERY.sql).get() as Row).present);
    version = present ? ((db.prepare(CURRENT_VERSION_QUERY.sql).get() as Row).version ?? 0) : undefined;
  } catch {
    // A schema_migrations table of another shape (no version column).
    version = undefined;
  }
  switch (schemaProblem(typeof version === 'number' ? version : undefined)) {
    case 'foreign':
      return refuse('foreign', `SQLite database "${path}" is not a parallax-edge store: it has no parallax-edge schema_migrations table`);
    case 'older':
      return refuse('older', `SQLite database "${path}" has schema version ${version}, this parallax-edge reads ${SCHEMA_VERSION}; open it read-write once to migrate it`, version as number);
    case 'newer':
      return refuse('newer', `SQLite database "${path}" has schema version ${version}, newer than this parallax-edge (version ${SCHEMA_VERSION})`, version as number);
  }
}
