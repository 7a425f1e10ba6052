/**
 * The D1 commit, statement by statement, on better-sqlite3 with a file: the
 * D1 store (same SQL, same staging tables in the database file) on a small
 * D1-shaped shim, so the SQL plan's cost can be told from workerd's. A
 * synthetic first sync of about 3n rows is staged through the store's
 * session, then its commit batch runs in one transaction with each
 * statement timed, and its EXPLAIN QUERY PLAN printed with `--plan`.
 *
 * With `--workerd`, the same inside workerd (Miniflare, local D1 in `--dir`):
 * bench/d1/profile-worker.ts, each statement of the promote sent alone.
 *
 * `npx tsx bench/d1/commit-profile.ts [--n 100000] [--plan] [--dir /dev/shm] [--workerd]`
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { commitSync, runConnector } from 'parallax-edge';
import { createD1Store, migrateD1, type D1DatabaseLike, type D1PreparedStatementLike } from '../../adapters/d1.js';
import { numberedParams } from '../../adapters/sql/index.js';
import { createSyntheticConnector } from '../../connectors/synthetic/index.js';

const argument = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
};
const n = Number(argument('--n') ?? 100_000);
const plan = process.argv.includes('--plan');
const dir = mkdtempSync(join(argument('--dir') ?? tmpdir(), 'parallax-commit-profile-'));

if (process.argv.includes('--workerd')) {
  const bundle = await build({
    entryPoints: [fileURLToPath(new URL('./profile-worker.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'import'],
    target: 'es2022',
    write: false,
    tsconfig: fileURLToPath(new URL('../../tsconfig.json', import.meta.url)),
    logLevel: 'silent',
  });
  const mf = new Miniflare({ modules: true, script: bundle.outputFiles[0]!.text, compatibilityDate: '2026-04-20', d1Databases: { DB: 'profile' }, d1Persist: dir });
  try {
    const lines = (await (await mf.dispatchFetch('http://profile.local/', { method: 'POST', body: JSON.stringify({ n, plan, cacheKib: Number(argument('--cache-kib') ?? 0), ...(argument('--bulk-load-rows') === undefined ? {} : { bulkLoadRows: Number(argument('--bulk-load-rows')) }) }) })).json()) as Record<string, unknown>[];
    for (const line of lines) {
      if (typeof line.sql === 'string' && 'changes' in line) {
        console.log(`${String(line.ms).padStart(7)} ms ${String(line.changes).padStart(8)}  ${line.sql}`);
        for (const detail of (line.explain as string[]) ?? []) console.log(`      ${detail}`);
      } else console.log(JSON.stringify(line));
    }
  } finally {
    await mf.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

/** A D1 binding on better-sqlite3: a batch is one transaction; with `profile`, big batches time each statement. */
function shim(db: Database.Database, profile: (sql: string, ms: number, changes: number) => void): D1DatabaseLike {
  const prepared = (sql: string, values: unknown[] = []): D1PreparedStatementLike & { sql: string; values: unknown[] } => {
    const exec = () => {
      const s = db.prepare(sql);
      const args = values.length > 0 ? [numberedParams(values as never)] : [];
      return s.reader ? { results: s.all(...args), meta: { changes: 0 } } : { results: [], meta: { changes: s.run(...args).changes } };
    };
    return {
      sql,
      values,
      bind: (...v: unknown[]) => prepared(sql, v),
      first: async <T>() => (exec().results[0] ?? null) as T,
      all: async <T>() => exec() as never as { results: T[]; meta: { changes: number } },
      run: async <T>() => exec() as never as { results: T[]; meta: { changes: number } },
    };
  };
  return {
    prepare: (sql) => prepared(sql),
    async batch<T>(statements: D1PreparedStatementLike[]) {
      const big = statements.length >= 10;
      const b0 = performance.now();
      const out = db.transaction(() =>
        statements.map((s) => {
          const { sql, values } = s as ReturnType<typeof prepared>;
          const t0 = performance.now();
          const st = db.prepare(sql);
          const args = values.length > 0 ? [numberedParams(values as never)] : [];
          const r = st.reader ? { results: st.all(...args), meta: { changes: 0 } } : { results: [], meta: { changes: st.run(...args).changes } };
          if (big) {
            profile(sql, performance.now() - t0, r.meta.changes);
            if (plan && /^(INSERT|DELETE|SELECT|UPDATE)/.test(sql)) {
              const explain = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as { detail: string }[];
              for (const row of explain) console.log(`      ${row.detail}`);
            }
          }
          return r as never as { results: T[]; meta: { changes: number } };
        }),
      )();
      const ms = performance.now() - b0;
      if (!big && ms > 200) console.log(`batch of ${statements.length}: ${ms.toFixed(0)} ms  ${(statements[0] as ReturnType<typeof prepared>).sql.slice(0, 80)}`);
      return out;
    },
  };
}

const db = new Database(join(dir, 'graph.db'));
db.pragma('journal_mode = WAL');
try {
  const rowsOf: { sql: string; ms: number; changes: number }[] = [];
  const d1 = shim(db, (sql, ms, changes) => {
    rowsOf.push({ sql, ms, changes });
    console.log(`${ms.toFixed(0).padStart(7)} ms ${String(changes).padStart(8)}  ${sql.slice(0, 110)}`);
  });
  await migrateD1(d1);
  const store = createD1Store(d1);
  const t0 = performance.now();
  const output = await runConnector(createSyntheticConnector({ n }), { accountId: 'bench', syncId: 'profile-1', store });
  const staged = performance.now();
  console.log(`staged ${output.staging.rowsStaged} rows in ${((staged - t0) / 1000).toFixed(1)} s`);
  const result = await commitSync(store, output);
  const total = rowsOf.reduce((a, b) => a + b.ms, 0);
  console.log(`commit ${((performance.now() - staged) / 1000).toFixed(1)} s (promote batch ${(total / 1000).toFixed(2)} s), ${result.rowsWritten} rows written`);
} finally {
  db.close();
  rmSync(dir, { recursive: true, force: true });
}
