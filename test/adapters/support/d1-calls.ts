/**
 * Reading the calls a D1 store made (recorded by `meterD1`): which write the
 * graph or stage rows, D1's limits on each statement, and a one-line summary
 * (statements per 100k rows) for the plan tests in Node and in workerd.
 */
import { expect } from 'vitest';
import { D1_LIMITS } from '../../../adapters/sql/statement.js';
import type { MeteredCall } from '../../workers/support/d1-meter.js';

/** Writes a graph table. */
export const writesGraph = (sql: string): boolean => /^(INSERT INTO|DELETE FROM) (entities|relationships) /.test(sql);
/** Reads or writes a graph table (not a staging or scope table). */
export const touchesGraph = (sql: string): boolean => /(?<![\w])(entities|relationships)(?![\w])/.test(sql);
export const stagesRows = (call: MeteredCall): boolean => call.statements.some((s) => /^INSERT INTO staged_(entities|relationships) /.test(s.sql));

export function expectWithinD1Limits(calls: readonly MeteredCall[]): void {
  for (const s of calls.flatMap((c) => c.statements)) {
    expect(s.params, s.sql.slice(0, 80)).toBeLessThanOrEqual(D1_LIMITS.maxParams);
    expect(s.sqlBytes, s.sql.slice(0, 80)).toBeLessThanOrEqual(D1_LIMITS.maxSqlBytes);
    expect(s.maxValueBytes, s.sql.slice(0, 80)).toBeLessThanOrEqual(D1_LIMITS.maxValueBytes);
  }
}

export function summary(label: string, rows: number, calls: readonly MeteredCall[]): string {
  const statements = calls.reduce((n, c) => n + c.statements.length, 0);
  const staging = calls.filter(stagesRows);
  const per100k = Math.round((statements * 100_000) / rows);
  return `D1 plan, ${label} of ${rows.toLocaleString('en')} rows: ${statements} statements in ${calls.length} calls (${per100k} per 100k rows); ${staging.length} staging batches`;
}
