/**
 * The commit profile's Worker (bundled by bench/d1/commit-profile.ts
 * `--workerd`): a synthetic first sync of about 3n rows staged into the
 * local D1 through the store's session, then its commit with every
 * statement of the promote batch sent as a batch of its own and timed (not
 * atomic: for profiling only), plus EXPLAIN QUERY PLAN of each.
 */
import { commitSync, runConnector } from 'parallax-edge';
import { createD1Store, migrateD1, type D1DatabaseLike, type D1PreparedStatementLike } from '../../adapters/d1.js';
import { createSyntheticConnector } from '../../connectors/synthetic/index.js';

/** Typed by the package's structural D1 interface, so this file needs no Workers types. */
interface Env {
  DB: D1DatabaseLike;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const settings = (await request.json()) as { n: number; plan: boolean; cacheKib?: number; bulkLoadRows?: number };
    const { n, plan } = settings;
    const lines: unknown[] = [];
    const sqlOf = new WeakMap<object, { sql: string; values: unknown[] }>();
    const real = new WeakMap<object, D1PreparedStatementLike>();
    const wrap = (s: D1PreparedStatementLike, sql: string, values: unknown[]): D1PreparedStatementLike => {
      const out = {
        bind: (...v: unknown[]) => wrap(s.bind(...v), sql, v),
        first: () => s.first(),
        all: () => s.all(),
        run: () => s.run(),
      } as D1PreparedStatementLike;
      sqlOf.set(out, { sql, values });
      real.set(out, s);
      return out;
    };
    const db: D1DatabaseLike = {
      prepare: (sql) => wrap(env.DB.prepare(sql), sql, []),
      async batch<T>(statements: D1PreparedStatementLike[]) {
        const t0 = performance.now();
        if (statements.length < 10) {
          const r = await env.DB.batch<T>(statements.map((s) => real.get(s)!));
          const ms = performance.now() - t0;
          if (ms > 200) lines.push({ batch: statements.length, ms: Math.round(ms), sql: sqlOf.get(statements[0]!)!.sql.slice(0, 80) });
          return r as never;
        }
        const results = [];
        for (const s of statements) {
          const { sql, values } = sqlOf.get(s)!;
          const started = performance.now();
          const [r] = await env.DB.batch<T>([real.get(s)!]);
          const ms = performance.now() - started;
          let explain: string[] = [];
          if (plan && /^(INSERT|DELETE|SELECT)/.test(sql)) {
            const p = env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`);
            explain = (await (values.length > 0 ? p.bind(...values) : p).all<{ detail: string }>()).results.map((x: { detail: string }) => x.detail);
          }
          lines.push({ ms: Math.round(ms), changes: r!.meta.changes, sql: sql.slice(0, 110), explain });
          results.push(r!);
        }
        lines.push({ promoteMs: Math.round(performance.now() - t0) });
        return results as never;
      },
    };
    for (const pragma of ['cache_size', 'temp_store', 'page_size', 'journal_mode', 'cache_spill', 'mmap_size']) {
      lines.push(await env.DB.prepare(`PRAGMA ${pragma}`).first().catch((e: Error) => ({ pragma, error: e.message })));
    }
    lines.push(await env.DB.prepare(`SELECT sqlite_version() AS v`).first().catch((e: Error) => ({ error: e.message })));
    if (settings.cacheKib) lines.push(await env.DB.prepare(`PRAGMA cache_size = -${settings.cacheKib}`).run().then(() => ({ set: settings.cacheKib }), (e: Error) => ({ error: e.message })));
    await migrateD1(db);
    const store = createD1Store(db, settings.bulkLoadRows === undefined ? {} : { bulkLoadRows: settings.bulkLoadRows });
    const t0 = performance.now();
    const output = await runConnector(createSyntheticConnector({ n }), { accountId: 'bench', syncId: 'profile-1', store });
    lines.push({ staged: output.staging.rowsStaged, ms: Math.round(performance.now() - t0) });
    const t1 = performance.now();
    const result = await commitSync(store, output);
    lines.push({ commitMs: Math.round(performance.now() - t1), rowsWritten: result.rowsWritten });
    return Response.json(lines);
  },
};
