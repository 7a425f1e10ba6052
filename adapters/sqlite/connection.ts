/** A better-sqlite3 connection as the executor uses it: statements prepared once, then run with numbered parameters. */
import type Database from 'better-sqlite3';
import { numberedParams, type Row, type SqlResult, type SqlStatement } from '../sql/index.js';
import { STATEMENT_CACHE_SIZE } from './api.js';

/** A better-sqlite3 connection with its cache of prepared statements. */
export interface Connection {
  readonly db: Database.Database;
  readonly cache: Map<string, Database.Statement>;
  prepare(sql: string): Database.Statement;
  exec(s: SqlStatement): SqlResult;
}

export function connection(db: Database.Database): Connection {
  const cache = new Map<string, Database.Statement>();
  const prepare = (sql: string): Database.Statement => {
    let prepared = cache.get(sql);
    if (prepared) {
      // A Map iterates in insertion order: re-inserting makes it the most recent.
      cache.delete(sql);
    } else {
      prepared = db.prepare(sql);
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    }
    cache.set(sql, prepared);
    return prepared;
  };
  const args = (s: SqlStatement): unknown[] => (s.params.length > 0 ? [numberedParams(s.params)] : []);
  const exec = (s: SqlStatement): SqlResult => {
    const prepared = prepare(s.sql);
    if (prepared.reader) return { rows: prepared.all(...args(s)) as Row[], changes: 0 };
    return { rows: [], changes: prepared.run(...args(s)).changes };
  };
  return { db, cache, prepare, exec };
}
