/** A better-sqlite3 connection as the executor uses it: statements prepared once, then run with numbered parameters. */
import type Database from 'better-sqlite3';
import { manyRowsSql, numberedParams, type RowInsert, type Row, type SqlResult, type SqlStatement, type SqlValue } from '../sql/index.js';
import { STATEMENT_CACHE_SIZE } from './api.js';

/** A better-sqlite3 connection with its cache of prepared statements. */
export interface Connection {
  readonly db: Database.Database;
  readonly cache: Map<string, Database.Statement>;
  prepare(sql: string): Database.Statement;
  exec(s: SqlStatement): SqlResult;
  /** Inserts the rows, {@link ROWS_PER_INSERT} per statement, in their order. */
  insert(w: RowInsert): SqlResult;
}

/** Rows per staging INSERT: 4 to 64 stage alike (measured), and fewer keep the tuple's parameters far below SQLite's limit. */
export const ROWS_PER_INSERT = 16;

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
  const insert = (w: RowInsert): SqlResult => {
    const { rows } = w;
    const whole = rows.length - (rows.length % ROWS_PER_INSERT);
    if (whole > 0) {
      const many = prepare(manyRowsSql(w.sql, ROWS_PER_INSERT));
      const values: SqlValue[] = [];
      for (let i = 0; i < whole; i += ROWS_PER_INSERT) {
        values.length = 0;
        for (let j = i; j < i + ROWS_PER_INSERT; j++) for (const value of rows[j]!) values.push(value);
        many.run(values);
      }
    }
    // The rest one by one: one more text to prepare, not one per remainder.
    if (whole < rows.length) {
      const one = prepare(w.sql);
      for (let j = whole; j < rows.length; j++) one.run(rows[j]);
    }
    return { rows: [], changes: rows.length };
  };
  return { db, cache, prepare, exec, insert };
}
