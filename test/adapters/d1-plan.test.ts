/**
 * The D1 store's statement plan at 100k entities, checked in Node against a
 * recording stand-in for the D1 binding (the real D1 runs in the workerd
 * tests): D1's per-statement limits hold, the statement count stays far
 * below the 1,000 queries a Worker invocation may make, and every guard and
 * graph write is in one `db.batch()` (INV-C01).
 */
import { describe, expect, it } from 'vitest';
import { commitSync, emptyStats, type SyncInput } from 'parallax-edge';
import { createD1Store, type D1DatabaseLike, type D1PreparedStatementLike, type D1ResultLike } from 'parallax-edge/adapters/d1';

interface Recorded {
  readonly sql: string;
  readonly params: readonly unknown[];
}

/** Answers every statement with no rows and no changes, except the commit's result SELECT. */
function recordingD1(input: SyncInput): { db: D1DatabaseLike; batches: Recorded[][] } {
  const batches: Recorded[][] = [];
  const statement = (sql: string, params: readonly unknown[] = []): D1PreparedStatementLike & Recorded => ({
    sql,
    params,
    bind: (...values: unknown[]) => statement(sql, values),
    first: async () => null,
    all: async () => ({ results: [], meta: {} }),
    run: async () => ({ results: [], meta: { changes: 0 } }),
  });
  const resultRow = {
    account_id: input.accountId,
    connector_id: input.connectorId,
    sync_id: input.syncId,
    started_at: 'x',
    finished_at: 'x',
    committed_at: 'x',
    failed_steps: '[]',
    kept_steps: '[]',
    ...Object.fromEntries(Object.keys(emptyStats()).map((k) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), 0])),
  };
  const db: D1DatabaseLike = {
    prepare: (sql) => statement(sql),
    batch: async <T,>(statements: D1PreparedStatementLike[]) => {
      const recorded = statements as unknown as Recorded[];
      batches.push(recorded.map(({ sql, params }) => ({ sql, params })));
      return recorded.map((s) => ({ results: s.sql.startsWith('SELECT r.* FROM sync_runs') ? [resultRow] : [], meta: { changes: 0 } })) as D1ResultLike<T>[];
    },
  };
  return { db, batches };
}

const bytes = (value: unknown): number => (typeof value === 'string' ? new TextEncoder().encode(value).length : 8);

describe('D1 statement plan', () => {
  it('INV-C01: 100k entities + 50k relationships: ≤ 100 params, ≤ 100 KB SQL, ≤ 2 MB per value, far fewer than 1,000 statements, one promote batch', async () => {
    const input: SyncInput = {
      connectorId: 'big',
      accountId: 'acme',
      syncId: 'big-1',
      entities: Array.from({ length: 100_000 }, (_, i) => ({
        entityType: 'host',
        entityKey: `h-${i}`,
        entityClass: 'Host',
        displayName: `host ${i}`,
        properties: { ip: `10.0.${i >> 8}.${i & 255}`, tags: ['prod'] },
      })),
      relationships: Array.from({ length: 50_000 }, (_, i) => ({ fromType: 'host', fromKey: `h-${i}`, verb: 'CONNECTS', toType: 'host', toKey: `h-${i + 50_000}`, properties: {} })),
    };
    const { db, batches } = recordingD1(input);
    await commitSync(createD1Store(db), input);
    const all = batches.flat();
    expect(all.length).toBeLessThan(100);
    for (const s of all) {
      expect(s.params.length, s.sql.slice(0, 60)).toBeLessThanOrEqual(100);
      expect(bytes(s.sql), s.sql.slice(0, 60)).toBeLessThanOrEqual(100_000);
      for (const p of s.params) expect(bytes(p)).toBeLessThanOrEqual(2_000_000);
    }
    // First the unchanged-scope checks (batches of their own, nothing staged), which this recording D1 answers with no row:
    // on the output's input digest before anything is prepared, then on the prepared batch's digest.
    // The second also makes the input digest the scope's when its check holds.
    for (const [index, column, remember] of [[0, 'input_digest', []], [1, 'digest', ['UPDATE scope_state SET']]] as const) {
      expect(batches[index]!.map((s) => s.sql.split(' ').slice(0, 3).join(' '))).toEqual([
        'INSERT INTO commit_guards',
        'INSERT INTO sync_runs',
        ...remember,
        'SELECT * FROM',
      ]);
      expect(batches[index]![1]!.sql).toContain(`s.${column} = ?11`);
    }
    const promote = batches.filter((b) => b.some((s) => s.sql.startsWith('INSERT INTO entities')));
    expect(promote).toHaveLength(1);
    const writes = batches
      .slice(2)
      .flat()
      .filter((s) => /^(INSERT INTO (entities|relationships|sync_runs|scope_state) |DELETE FROM (entities|relationships) )/.test(s.sql));
    expect(writes).toHaveLength(7); // entities, relationships: upsert + delete each; sync_runs; scope_state twice (scope.ts)
    expect(writes.every((w) => promote[0]!.includes(w))).toBe(true);
  }, 60_000);
});
