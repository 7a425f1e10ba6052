/**
 * The D1 benchmark as a Worker: the whole run (connector, prepare, commit,
 * raw-insert baseline) happens inside workerd against a local D1, never
 * through Miniflare from Node (a bound statement costs ~1 ms that way).
 * `bench/d1/run.ts` bundles this file, starts it in Miniflare and POSTs the
 * phase settings; the response streams NDJSON: `{log}` lines, then
 * `{result}` (a ScaleResult) or `{error}`.
 */
import type { CommitBatch, CommitResult, GraphStore } from 'parallax-edge';
import { createD1Store, migrateD1, type D1DatabaseLike } from '../../adapters/d1.js';
import { meterD1 } from '../../test/workers/support/d1-meter.js';
import { runPhases, type PhaseSettings } from '../phases.js';
import type { MemorySample, ScaleResult } from '../report.js';

interface Env {
  /** The store's database. */
  DB: D1Database;
  /** The baselines' database: plain tables, and the store's schema migrated alone. */
  DB_RAW: D1Database;
}

const NO_MEMORY: MemorySample = {
  rssStartBytes: null,
  rssPeakBytes: null,
  heapStartBytes: null,
  heapPeakBytes: null,
  method: 'not measurable inside workerd',
};

/** Columns per row; as many rows per INSERT as fit in D1's 100 bound parameters. */
const ENTITY_COLUMNS = 'id, account_id, connector_id, sync_id, step_id, entity_type, entity_key, entity_class, display_name, properties, hash';
const RELATIONSHIP_COLUMNS = 'id, account_id, connector_id, sync_id, step_id, from_id, to_id, from_type, from_key, verb, to_type, to_key, properties, hash';
const STATEMENTS_PER_BATCH = 1000;
const width = (columns: string): number => columns.split(',').length;

const D1_RAW_VALUES =
  `multi-row INSERT … VALUES, ${Math.floor(100 / width(ENTITY_COLUMNS))} entity / ${Math.floor(100 / width(RELATIONSHIP_COLUMNS))} relationship rows ` +
  `per statement (≤ 100 params), ${STATEMENTS_PER_BATCH} statements per db.batch()`;
const D1_RAW_JSON = 'one db.batch() of INSERT … SELECT FROM json_each(?), one bound JSON array per 1.5 MB of rows';

type Tables = { readonly entities: string; readonly relationships: string };
/** Plain tables: the same columns, no keys, no indexes. */
const PLAIN: Tables = { entities: 'raw_entities', relationships: 'raw_relationships' };
/** The store's own graph tables (primary keys, indexes), created by its migrations in the baseline database. */
const SCHEMA: Tables = { entities: 'entities', relationships: 'relationships' };

const baselineText = (target: string, fastest: string): string =>
  `D1 raw insert of the same rows into ${target}, in a second local D1 of the same workerd, no staging/diff/checks: ` +
  `the faster of two methods, here ${fastest}`;

/** Empty target tables in the baseline database (`DB_RAW`, migrated like the store's). */
async function resetTables(db: D1Database, tables: Tables): Promise<void> {
  await db.batch([
    db.prepare(`CREATE TABLE IF NOT EXISTS raw_entities (id TEXT, account_id TEXT, connector_id TEXT, sync_id TEXT, step_id TEXT,
      entity_type TEXT, entity_key TEXT, entity_class TEXT, display_name TEXT, properties TEXT, hash TEXT)`),
    db.prepare(`CREATE TABLE IF NOT EXISTS raw_relationships (id TEXT, account_id TEXT, connector_id TEXT, sync_id TEXT, step_id TEXT,
      from_id TEXT, to_id TEXT, from_type TEXT, from_key TEXT, verb TEXT, to_type TEXT, to_key TEXT, properties TEXT, hash TEXT)`),
    db.prepare(`DELETE FROM ${tables.entities}`),
    db.prepare(`DELETE FROM ${tables.relationships}`),
  ]);
}

const entityValues = (batch: CommitBatch) =>
  batch.entities.map((e) => [e.id, batch.accountId, batch.connectorId, batch.syncId, e.stepId, e.entityType, e.entityKey, e.entityClass, e.displayName, e.propertiesJson, e.hash]);
const relationshipValues = (batch: CommitBatch) =>
  batch.relationships.map((r) => [r.id, batch.accountId, batch.connectorId, batch.syncId, r.stepId, r.fromId, r.toId, r.fromType, r.fromKey, r.verb, r.toType, r.toKey, r.propertiesJson, r.hash]);

/** The usual way: multi-row INSERT … VALUES with as many rows as 100 bound parameters allow. */
async function rawInsertValues(db: D1Database, batch: CommitBatch, tables: Tables): Promise<number> {
  await resetTables(db, tables);
  const statements: D1PreparedStatement[] = [];
  const multiRow = (table: string, columns: string, rows: unknown[][]) => {
    const n = width(columns);
    const perStatement = Math.floor(100 / n);
    const placeholders = (count: number) => Array.from({ length: count }, () => `(${Array.from({ length: n }, () => '?').join(', ')})`).join(', ');
    const full = placeholders(perStatement);
    for (let i = 0; i < rows.length; i += perStatement) {
      const slice = rows.slice(i, i + perStatement);
      const sql = `INSERT INTO ${table} (${columns}) VALUES ${slice.length === perStatement ? full : placeholders(slice.length)}`;
      statements.push(db.prepare(sql).bind(...slice.flat()));
    }
  };
  multiRow(tables.entities, ENTITY_COLUMNS, entityValues(batch));
  multiRow(tables.relationships, RELATIONSHIP_COLUMNS, relationshipValues(batch));
  let rows = 0;
  for (let i = 0; i < statements.length; i += STATEMENTS_PER_BATCH) {
    for (const result of await db.batch(statements.slice(i, i + STATEMENTS_PER_BATCH))) rows += result.meta.changes;
  }
  return rows;
}

/** The store's staging trick alone: one bound JSON array per 1.5 MB of rows, expanded by json_each. */
async function rawInsertJson(db: D1Database, batch: CommitBatch, tables: Tables): Promise<number> {
  await resetTables(db, tables);
  const chunks = (rows: string[]): string[] => {
    const out: string[] = [];
    let part: string[] = [];
    let bytes = 0;
    for (const row of rows) {
      if (part.length > 0 && bytes + row.length > 1_500_000) {
        out.push(`[${part.join(',')}]`);
        part = [];
        bytes = 0;
      }
      part.push(row);
      bytes += row.length + 1;
    }
    if (part.length > 0) out.push(`[${part.join(',')}]`);
    return out;
  };
  const expand = (columns: string) =>
    Array.from({ length: width(columns) }, (_, i) => `json_extract(value, '$[${i}]')`).join(', ');
  const statements: D1PreparedStatement[] = [];
  for (const json of chunks(entityValues(batch).map((row) => JSON.stringify(row)))) {
    statements.push(db.prepare(`INSERT INTO ${tables.entities} (${ENTITY_COLUMNS}) SELECT ${expand(ENTITY_COLUMNS)} FROM json_each(?1)`).bind(json));
  }
  for (const json of chunks(relationshipValues(batch).map((row) => JSON.stringify(row)))) {
    statements.push(
      db.prepare(`INSERT INTO ${tables.relationships} (${RELATIONSHIP_COLUMNS}) SELECT ${expand(RELATIONSHIP_COLUMNS)} FROM json_each(?1)`).bind(json),
    );
  }
  let rows = 0;
  for (const result of await db.batch(statements)) rows += result.meta.changes;
  return rows;
}

/** Both methods into `tables`; records both times, returns the row count. */
async function rawBoth(db: D1Database, batch: CommitBatch, tables: Tables, times: { values: number; json: number }): Promise<number> {
  let t0 = performance.now();
  const valuesRows = await rawInsertValues(db, batch, tables);
  times.values = performance.now() - t0;
  t0 = performance.now();
  const jsonRows = await rawInsertJson(db, batch, tables);
  times.json = performance.now() - t0;
  if (valuesRows !== jsonRows) throw new Error(`raw inserts disagree: ${valuesRows} vs ${jsonRows} rows`);
  return jsonRows;
}

const kb = (bytes: number): string => (bytes >= 1_000_000 ? `${(bytes / 1_000_000).toFixed(2)} MB` : `${(bytes / 1000).toFixed(1)} KB`);

async function run(settings: PhaseSettings, env: Env, log: (line: string) => Promise<void>): Promise<ScaleResult> {
  await migrateD1(env.DB);
  await migrateD1(env.DB_RAW);
  // The graph tables' scope triggers (migration 3) stand aside during a
  // commit's graph writes; the baseline's writes get the same treatment.
  await env.DB_RAW.prepare(`INSERT OR IGNORE INTO commits_in_progress (token) VALUES ('raw-baseline')`).run();
  const meter = meterD1(env.DB as unknown as D1DatabaseLike);
  const d1 = createD1Store(meter.db);
  const perCommit: string[] = [];
  // The store as the phases see it, recording what each commit sent to D1.
  const store: GraphStore = {
    ...d1,
    kind: d1.kind,
    async commit(batch: CommitBatch): Promise<CommitResult> {
      meter.reset();
      const result = await d1.commit(batch);
      const t = meter.totals();
      perCommit.push(
        `${batch.entities.length + batch.relationships.length} rows: ${t.statements} statements in ${t.batches} db.batch() calls, ` +
          `${t.params} bound params (max ${t.maxParams}/statement), max SQL ${kb(t.maxSqlBytes)}, max bound value ${kb(t.maxValueBytes)}, ${kb(t.boundBytes)} bound`,
      );
      return result;
    },
  };
  const pending: Promise<void>[] = [];
  const raw = { plain: { values: 0, json: 0 }, schema: { values: 0, json: 0 } };
  const result = await runPhases(settings, {
    store,
    measure: async (fn) => {
      const t0 = performance.now();
      const value = await fn();
      return { value, ms: performance.now() - t0, memory: NO_MEMORY };
    },
    // Each baseline runs both methods; the faster one is reported (patched in below), both go to the notes.
    rawInsert: (batch) => rawBoth(env.DB_RAW, batch, PLAIN, raw.plain),
    rawInsertSchema: (batch) => rawBoth(env.DB_RAW, batch, SCHEMA, raw.schema),
    baseline: '',
    schemaBaseline: '',
    runtime: 'workerd (Miniflare, local D1)',
    log: (line) => void pending.push(log(line)),
  });
  await Promise.all(pending);
  const labels = ['first sync', 'unchanged re-sync', 'churn sync', 'failed step', 'probe setup (not reported)', 'small churn batch'];
  const fastest = (t: { values: number; json: number }) => (t.values <= t.json ? D1_RAW_VALUES : D1_RAW_JSON);
  const best = (t: { values: number; json: number }) => Math.min(t.values, t.json);
  return {
    ...result,
    phases: result.phases.map((p) =>
      p.phase === 'raw-insert' ? { ...p, wallMs: best(raw.plain) } : p.phase === 'raw-insert-schema' ? { ...p, wallMs: best(raw.schema) } : p,
    ),
    baseline: baselineText('plain tables (same columns, no keys, no indexes)', fastest(raw.plain)),
    schemaBaseline: baselineText("the store's own graph tables (its migrations: primary keys, indexes)", fastest(raw.schema)),
    notes: [
      `raw inserts measured, plain tables: ${D1_RAW_VALUES}: ${raw.plain.values.toFixed(0)} ms; ${D1_RAW_JSON}: ${raw.plain.json.toFixed(0)} ms`,
      `raw inserts measured, store schema: ${D1_RAW_VALUES}: ${raw.schema.values.toFixed(0)} ms; ${D1_RAW_JSON}: ${raw.schema.json.toFixed(0)} ms`,
      'memory: not measurable inside workerd (no RSS or heap API)',
      ...perCommit.map((line, i) => `D1 per commit, ${labels[i] ?? `commit ${i + 1}`}: ${line}`),
    ],
  };
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const settings = (await request.json()) as PhaseSettings;
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const encoder = new TextEncoder();
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
