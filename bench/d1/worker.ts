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
  DB: D1Database;
}

const NO_MEMORY: MemorySample = {
  rssStartBytes: null,
  rssPeakBytes: null,
  heapStartBytes: null,
  heapPeakBytes: null,
  method: 'not measurable inside workerd',
};

/** Columns per row of the raw tables; as many rows per INSERT as fit in D1's 100 bound parameters. */
const ENTITY_COLUMNS = 11;
const RELATIONSHIP_COLUMNS = 14;
const STATEMENTS_PER_BATCH = 1000;

const D1_RAW_VALUES =
  `multi-row INSERT … VALUES, ${Math.floor(100 / ENTITY_COLUMNS)} entity / ${Math.floor(100 / RELATIONSHIP_COLUMNS)} relationship rows per statement (≤ 100 params), ` +
  `${STATEMENTS_PER_BATCH} statements per db.batch()`;

const D1_RAW_JSON =
  'one db.batch() of INSERT … SELECT FROM json_each(?), one bound JSON array per 1.5 MB of rows';

const baselineText = (fastest: string): string =>
  `D1 raw insert of the same rows into plain tables (same columns, no keys, no indexes), same workerd and D1, no staging/diff/checks: ` +
  `the faster of two methods, here ${fastest}`;

/** The other raw method: the same json_each trick as the store's staging, and nothing else. */
async function rawInsertJson(db: D1Database, batch: CommitBatch): Promise<number> {
  await createRawTables(db);
  const { accountId, connectorId, syncId } = batch;
  const col = (i: number) => `json_extract(value, '$[${i}]')`;
  const statements: D1PreparedStatement[] = [];
  const chunks = (rows: string[]) => {
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
  const entityRows = batch.entities.map((e) => JSON.stringify([e.id, e.stepId, e.entityType, e.entityKey, e.entityClass, e.displayName, e.propertiesJson, e.hash]));
  for (const json of chunks(entityRows)) {
    statements.push(
      db
        .prepare(`INSERT INTO raw_entities SELECT ${col(0)}, ?2, ?3, ?4, ${col(1)}, ${col(2)}, ${col(3)}, ${col(4)}, ${col(5)}, ${col(6)}, ${col(7)} FROM json_each(?1)`)
        .bind(json, accountId, connectorId, syncId),
    );
  }
  const relationshipRows = batch.relationships.map((r) =>
    JSON.stringify([r.id, r.stepId, r.fromId, r.toId, r.fromType, r.fromKey, r.verb, r.toType, r.toKey, r.propertiesJson, r.hash]),
  );
  for (const json of chunks(relationshipRows)) {
    statements.push(
      db
        .prepare(
          `INSERT INTO raw_relationships SELECT ${col(0)}, ?2, ?3, ?4, ${col(1)}, ${col(2)}, ${col(3)}, ${col(4)}, ${col(5)}, ${col(6)}, ${col(7)}, ${col(8)}, ${col(9)}, ${col(10)} FROM json_each(?1)`,
        )
        .bind(json, accountId, connectorId, syncId),
    );
  }
  let rows = 0;
  for (const result of await db.batch(statements)) rows += result.meta.changes;
  return rows;
}

async function createRawTables(db: D1Database): Promise<void> {
  await db.batch([
    db.prepare(`CREATE TABLE IF NOT EXISTS raw_entities (id TEXT, account_id TEXT, connector_id TEXT, sync_id TEXT, step_id TEXT,
      entity_type TEXT, entity_key TEXT, entity_class TEXT, display_name TEXT, properties TEXT, hash TEXT)`),
    db.prepare(`CREATE TABLE IF NOT EXISTS raw_relationships (id TEXT, account_id TEXT, connector_id TEXT, sync_id TEXT, step_id TEXT,
      from_id TEXT, to_id TEXT, from_type TEXT, from_key TEXT, verb TEXT, to_type TEXT, to_key TEXT, properties TEXT, hash TEXT)`),
    db.prepare(`DELETE FROM raw_entities`),
    db.prepare(`DELETE FROM raw_relationships`),
  ]);
}

/** The secondary reference: the usual multi-row INSERT … VALUES, as many rows as 100 bound parameters allow. */
async function rawInsertValues(db: D1Database, batch: CommitBatch): Promise<number> {
  await createRawTables(db);
  const { accountId, connectorId, syncId } = batch;
  const statements: D1PreparedStatement[] = [];
  const multiRow = (table: string, columns: number, rows: unknown[][]) => {
    const perStatement = Math.floor(100 / columns);
    const placeholders = (n: number) => Array.from({ length: n }, () => `(${Array.from({ length: columns }, () => '?').join(', ')})`).join(', ');
    const full = placeholders(perStatement);
    for (let i = 0; i < rows.length; i += perStatement) {
      const slice = rows.slice(i, i + perStatement);
      const sql = `INSERT INTO ${table} VALUES ${slice.length === perStatement ? full : placeholders(slice.length)}`;
      statements.push(db.prepare(sql).bind(...slice.flat()));
    }
  };
  multiRow(
    'raw_entities',
    ENTITY_COLUMNS,
    batch.entities.map((e) => [e.id, accountId, connectorId, syncId, e.stepId, e.entityType, e.entityKey, e.entityClass, e.displayName, e.propertiesJson, e.hash]),
  );
  multiRow(
    'raw_relationships',
    RELATIONSHIP_COLUMNS,
    batch.relationships.map((r) => [r.id, accountId, connectorId, syncId, r.stepId, r.fromId, r.toId, r.fromType, r.fromKey, r.verb, r.toType, r.toKey, r.propertiesJson, r.hash]),
  );
  let rows = 0;
  for (let i = 0; i < statements.length; i += STATEMENTS_PER_BATCH) {
    for (const result of await db.batch(statements.slice(i, i + STATEMENTS_PER_BATCH))) rows += result.meta.changes;
  }
  return rows;
}

const kb = (bytes: number): string => (bytes >= 1_000_000 ? `${(bytes / 1_000_000).toFixed(2)} MB` : `${(bytes / 1000).toFixed(1)} KB`);

async function run(settings: PhaseSettings, env: Env, log: (line: string) => Promise<void>): Promise<ScaleResult> {
  await migrateD1(env.DB);
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
  const raw = { values: 0, json: 0 };
  const result = await runPhases(settings, {
    store,
    measure: async (fn) => {
      const t0 = performance.now();
      const value = await fn();
      return { value, ms: performance.now() - t0, memory: NO_MEMORY };
    },
    rawInsert: async (batch) => {
      // Both raw methods; the faster one becomes the baseline (patched in below), both go to the notes.
      let t0 = performance.now();
      const valuesRows = await rawInsertValues(env.DB, batch);
      raw.values = performance.now() - t0;
      t0 = performance.now();
      const jsonRows = await rawInsertJson(env.DB, batch);
      raw.json = performance.now() - t0;
      if (valuesRows !== jsonRows) throw new Error(`raw inserts disagree: ${valuesRows} vs ${jsonRows} rows`);
      return jsonRows;
    },
    baseline: '',
    runtime: 'workerd (Miniflare, local D1)',
    log: (line) => void pending.push(log(line)),
  });
  await Promise.all(pending);
  const labels = ['first sync', 'unchanged re-sync', 'churn sync', 'failed step', 'probe setup (not reported)', 'small churn batch'];
  const fastest = raw.values <= raw.json ? D1_RAW_VALUES : D1_RAW_JSON;
  return {
    ...result,
    phases: result.phases.map((p) => (p.phase === 'raw-insert' ? { ...p, wallMs: Math.min(raw.values, raw.json) } : p)),
    baseline: baselineText(fastest),
    notes: [
      `raw inserts measured: ${D1_RAW_VALUES}: ${raw.values.toFixed(0)} ms; ${D1_RAW_JSON}: ${raw.json.toFixed(0)} ms`,
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
