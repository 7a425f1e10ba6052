/**
 * A D1 binding wrapper that records every statement the store sends: its SQL
 * size, its bound parameters and the largest bound value, per call (`batch`,
 * `first`, `all`, `run`). The D1 limit test and the D1 benchmark use it.
 */
import type { D1DatabaseLike, D1PreparedStatementLike } from 'parallax-edge/adapters/d1';

export interface MeteredStatement {
  readonly sql: string;
  readonly sqlBytes: number;
  readonly params: number;
  /** Bytes of the largest bound string. */
  readonly maxValueBytes: number;
  readonly boundBytes: number;
}

export interface MeteredCall {
  readonly kind: 'batch' | 'first' | 'all' | 'run' | 'raw';
  readonly statements: readonly MeteredStatement[];
}

export interface D1Meter {
  readonly db: D1DatabaseLike;
  readonly calls: MeteredCall[];
  reset(): void;
  totals(): { calls: number; batches: number; statements: number; params: number; maxParams: number; maxSqlBytes: number; maxValueBytes: number; boundBytes: number };
}

const encoder = new TextEncoder();
const bytes = (text: string): number => encoder.encode(text).length;

export function meterD1(inner: D1DatabaseLike): D1Meter {
  const calls: MeteredCall[] = [];
  const info = new WeakMap<object, MeteredStatement>();

  const wrap = (statement: D1PreparedStatementLike, meta: MeteredStatement): D1PreparedStatementLike => {
    const wrapped: D1PreparedStatementLike = {
      bind(...values: unknown[]) {
        let maxValueBytes = 0;
        let boundBytes = 0;
        for (const value of values) {
          const size = typeof value === 'string' ? bytes(value) : 8;
          boundBytes += size;
          if (typeof value === 'string') maxValueBytes = Math.max(maxValueBytes, size);
        }
        return wrap(statement.bind(...values), { ...meta, params: values.length, maxValueBytes, boundBytes });
      },
      first: <T,>() => {
        calls.push({ kind: 'first', statements: [meta] });
        return statement.first<T>();
      },
      all: <T,>() => {
        calls.push({ kind: 'all', statements: [meta] });
        return statement.all<T>();
      },
      run: <T,>() => {
        calls.push({ kind: 'run', statements: [meta] });
        return statement.run<T>();
      },
    };
    info.set(wrapped, meta);
    unwrap.set(wrapped, statement);
    return wrapped;
  };
  const unwrap = new WeakMap<object, D1PreparedStatementLike>();

  const db: D1DatabaseLike = {
    prepare(sql: string) {
      return wrap(inner.prepare(sql), { sql, sqlBytes: bytes(sql), params: 0, maxValueBytes: 0, boundBytes: 0 });
    },
    batch<T>(statements: D1PreparedStatementLike[]) {
      calls.push({ kind: 'batch', statements: statements.map((s) => info.get(s)!) });
      return inner.batch<T>(statements.map((s) => unwrap.get(s)!));
    },
  };

  return {
    db,
    calls,
    reset: () => void calls.splice(0),
    totals() {
      const all = calls.flatMap((c) => c.statements);
      return {
        calls: calls.length,
        batches: calls.filter((c) => c.kind === 'batch').length,
        statements: all.length,
        params: all.reduce((n, s) => n + s.params, 0),
        maxParams: Math.max(0, ...all.map((s) => s.params)),
        maxSqlBytes: Math.max(0, ...all.map((s) => s.sqlBytes)),
        maxValueBytes: Math.max(0, ...all.map((s) => s.maxValueBytes)),
        boundBytes: all.reduce((n, s) => n + s.boundBytes, 0),
      };
    },
  };
}
