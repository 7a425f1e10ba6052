/**
 * The D1 benchmark as a Worker: a streamed sync of the synthetic connector
 * runs inside workerd against a local D1 (never through Miniflare from Node,
 * where a bound statement costs ~1 ms), then the same estate again
 * (unchanged). The D1 binding is wrapped in a Proxy that meters every
 * statement the store sends: bound parameters, SQL bytes, the largest bound
 * value, statements and db.batch() calls, against D1's limits (100
 * parameters, 100 KB of SQL, 2 MB per value).
 *
 * `bench/d1/run.ts` bundles this file, starts it in Miniflare and POSTs the
 * settings; the response streams NDJSON: `{log}` lines, then `{result}` (the
 * {@link D1Run} rows) or `{error}`.
 */
import { commitSync, runConnector } from 'parallax-edge';
import { createD1Store, migrateD1, type D1DatabaseLike } from '../../adapters/d1.js';
import { createSyntheticConnector } from '../../connectors/synthetic/index.js';
import type { D1BenchSettings, D1Run } from '../report.js';

interface Env {
  DB: D1Database;
}

interface Meter {
  statements: number;
  batches: number;
  maxParams: number;
  maxSqlBytes: number;
  maxValueBytes: number;
  boundBytes: number;
}

const newMeter = (): Meter => ({ statements: 0, batches: 0, maxParams: 0, maxSqlBytes: 0, maxValueBytes: 0, boundBytes: 0 });
const encoder = new TextEncoder();
const size = (value: unknown): number =>
  typeof value === 'string' ? encoder.encode(value).length : value instanceof ArrayBuffer || ArrayBuffer.isView(value) ? value.byteLength : 8;

/** The binding, with each statement's SQL and bound values measured on `meter()` when it is sent. */
function metered(db: D1Database, meter: () => Meter): D1Database {
  const facts = new WeakMap<object, { sqlBytes: number; params: number; maxValueBytes: number; boundBytes: number }>();
  const targets = new WeakMap<object, D1PreparedStatement>();
  const record = (statement: object): void => {
    const f = facts.get(statement);
    if (!f) return;
    const m = meter();
    m.statements++;
    m.maxParams = Math.max(m.maxParams, f.params);
    m.maxSqlBytes = Math.max(m.maxSqlBytes, f.sqlBytes);
    m.maxValueBytes = Math.max(m.maxValueBytes, f.maxValueBytes);
    m.boundBytes += f.boundBytes;
  };
  const wrap = (statement: D1PreparedStatement, f: { sqlBytes: number; params: number; maxValueBytes: number; boundBytes: number }): D1PreparedStatement => {
    const proxy = new Proxy(statement, {
      get(target, key) {
        if (key === 'bind') {
          return (...values: unknown[]) => {
            const sizes = values.map(size);
            return wrap(target.bind(...values), {
              sqlBytes: f.sqlBytes,
              params: values.length,
              maxValueBytes: Math.max(0, ...values.map((v, i) => (typeof v === 'number' || v === null ? 0 : sizes[i]!))),
              boundBytes: sizes.reduce((a, b) => a + b, 0),
            });
          };
        }
        const value = Reflect.get(target, key) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (key === 'first' || key === 'all' || key === 'run' || key === 'raw') {
            record(proxy);
            meter().batches++;
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    facts.set(proxy, f);
    targets.set(proxy, statement);
    return proxy;
  };
  return new Proxy(db, {
    get(target, key) {
      if (key === 'prepare') return (sql: string) => wrap(target.prepare(sql), { sqlBytes: encoder.encode(sql).length, params: 0, maxValueBytes: 0, boundBytes: 0 });
      if (key === 'batch') {
        return (statements: D1PreparedStatement[]) => {
          meter().batches++;
          for (const s of statements) record(s);
          return target.batch(statements.map((s) => targets.get(s) ?? s));
        };
      }
      const value = Reflect.get(target, key) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function run(settings: D1BenchSettings, env: Env, log: (line: string) => Promise<void>): Promise<D1Run[]> {
  await migrateD1(env.DB as unknown as D1DatabaseLike);
  let current = newMeter();
  const store = createD1Store(metered(env.DB, () => current) as unknown as D1DatabaseLike);
  const runs: D1Run[] = [];
  let syncs = 0;
  for (const phase of ['first-sync', 'unchanged-resync'] as const) {
    current = newMeter();
    const t0 = performance.now();
    const output = await runConnector(createSyntheticConnector({ seed: settings.seed, n: settings.n }), {
      accountId: 'bench',
      syncId: `d1-bench-${++syncs}`,
      store,
      ...(settings.chunkRows === undefined ? {} : { chunkRows: settings.chunkRows }),
    });
    const runMs = performance.now() - t0;
    const result = await commitSync(store, output);
    const wallMs = performance.now() - t0;
    const rows = output.staging.rowsStaged + output.staging.rowsMatched;
    const entry: D1Run = {
      n: settings.n,
      phase,
      rows,
      rowsWritten: result.rowsWritten,
      wallMs,
      runMs,
      commitMs: wallMs - runMs,
      chunkRows: settings.chunkRows ?? 2000,
      peakRowsHeld: output.staging.peakRowsHeld,
      chunks: output.staging.chunks,
      ...current,
      stats: result.stats,
    };
    await log(
      `${phase}: ${rows} rows, ${result.rowsWritten} written in ${(wallMs / 1000).toFixed(1)} s (run ${(runMs / 1000).toFixed(1)} s); ` +
        `peak ${entry.peakRowsHeld} rows held; ${current.statements} statements in ${current.batches} calls; max ${current.maxParams} params, ` +
        `${current.maxSqlBytes} B SQL, ${current.maxValueBytes} B value`,
    );
    runs.push(entry);
  }
  return runs;
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const settings = (await request.json()) as D1BenchSettings;
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const send = (message: unknown) => writer.write(encoder.encode(`${JSON.stringify(message)}\n`));
    ctx.waitUntil(
      (async () => {
        try {
          await send({ result: await run(settings, env, (line) => send({ log: line })) });
        } catch (error) {
          await send({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
        } finally {
          await writer.close();
        }
      })(),
    );
    return new Response(readable, { headers: { 'content-type': 'application/x-ndjson' } });
  },
};
