/**
 * The IndexedDB benchmark, in the page: bundled by bench/indexeddb/run.ts and
 * run in headless Chromium. For one scale, with the synthetic connector on
 * the streaming path (`runConnector` with `store`, then `commitSync`, as the
 * web demo syncs), side by side in one page:
 * 1. raw insert          the first sync's rows, as the store writes them, put
 *                        into plain object stores (key path id, no indexes),
 *                        one readwrite transaction, no await per put: the baseline;
 * 2. raw insert, schema  the same puts into stores with the adapter's 5 indexes;
 * 3. first sync          generation 0 into an empty store;
 * 4. unchanged re-sync   generation 0 again (+P2: nothing written);
 * 5. churn               generation 1: about `churnFraction` of the entities differ.
 * Each sync reports its whole wall time (connector, hashing, staging, commit)
 * and the store's part (time inside the store's calls). Browser-only: no node:* imports.
 */
import { commitSync, runConnector } from 'parallax-edge';
import type { GraphStore, PreparedEntity, PreparedRelationship, SyncSession } from 'parallax-edge/adapter-kit';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { createSyntheticConnector } from '../../connectors/synthetic/index.js';
import { deleteIndexedDbStore, openIndexedDbStore } from 'parallax-edge/adapters/indexeddb';
import type { PhaseSettings } from '../phases.js';
import { PHASE_LABELS, type Measured, type MemorySample, type PhaseId, type PhaseRow, type ScaleResult } from '../report.js';

export const RAW_INDEXEDDB_BASELINE =
  'raw IndexedDB: the first sync\'s rows, as the store writes them, put into plain object stores (key path id, no indexes) in one readwrite transaction, same page';
const SCHEMA_BASELINE = "raw IndexedDB: the same puts into object stores with the adapter's 5 indexes (schema version 3)";

interface ChromeMemory {
  usedJSHeapSize: number;
}
const heapNow = (): number | null => (performance as unknown as { memory?: ChromeMemory }).memory?.usedJSHeapSize ?? null;
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

const HEAP_METHOD =
  'heap: performance.memory.usedJSHeapSize (--enable-precise-memory-info) sampled every 2 ms, start after 2 full GCs; RSS: not readable in a page';

/** CPU time of the page's Chromium processes so far (bench/indexeddb/run.ts reads /proc), or null. */
const cpuNow = async (): Promise<number | null> =>
  (await (globalThis as { parallaxBenchCpuMs?: () => Promise<number | null> }).parallaxBenchCpuMs?.()) ?? null;

/** Wall time, CPU time of Chromium's processes, and JS heap peak of one operation. */
async function measure<T>(fn: () => Promise<T> | T): Promise<Measured<T>> {
  gc();
  gc();
  const cpuStart = await cpuNow();
  const start = heapNow();
  let peak = start;
  const sample = (): void => {
    const now = heapNow();
    if (now !== null && (peak === null || now > peak)) peak = now;
  };
  const timer = setInterval(sample, 2);
  const t0 = performance.now();
  let value: T;
  try {
    value = await fn();
  } finally {
    clearInterval(timer);
  }
  const ms = performance.now() - t0;
  const cpuEnd = await cpuNow();
  sample();
  const memory: MemorySample = { rssStartBytes: null, rssPeakBytes: null, heapStartBytes: start, heapPeakBytes: peak, method: HEAP_METHOD };
  return { value, ms, ...(cpuStart !== null && cpuEnd !== null ? { cpuMs: cpuEnd - cpuStart } : {}), memory };
}

/**
 * The store with the time spent inside its calls added up (overlapping calls
 * count once), so a sync's wall time splits into the store's part and the
 * rest (connector, validation, hashing).
 */
function timedStore(store: GraphStore): { store: GraphStore; take: () => number } {
  let inFlight = 0;
  let since = 0;
  let ms = 0;
  const time = async <T>(call: () => Promise<T>): Promise<T> => {
    if (inFlight++ === 0) since = performance.now();
    try {
      return await call();
    } finally {
      if (--inFlight === 0) ms += performance.now() - since;
    }
  };
  const session = (s: SyncSession): SyncSession => ({
    header: s.header,
    token: s.token,
    ...(s.unitRecords === undefined ? {} : { unitRecords: s.unitRecords }),
    storedUnits: (...a) => time(() => s.storedUnits(...a)),
    stage: (...a) => time(() => s.stage(...a)),
    discardStep: (...a) => time(() => s.discardStep(...a)),
    priorEntityIds: (...a) => time(() => s.priorEntityIds(...a)),
    priorEntities: (...a) => time(() => s.priorEntities(...a)),
    priorEntity: (...a) => time(() => s.priorEntity(...a)),
    commit: (...a) => time(() => s.commit(...a)),
    abort: () => time(() => s.abort()),
  });
  return {
    store: { ...store, openSync: async (header) => session(await time(() => store.openSync(header))) },
    take: () => {
      const out = ms;
      ms = 0;
      return out;
    },
  };
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** A database of plain object stores, optionally with the adapter's indexes. */
async function openRaw(name: string, withIndexes: boolean): Promise<IDBDatabase> {
  await deleteIndexedDbStore(name);
  const opening = indexedDB.open(name, 1);
  opening.onupgradeneeded = () => {
    const entities = opening.result.createObjectStore('entities', { keyPath: 'id' });
    const relationships = opening.result.createObjectStore('relationships', { keyPath: 'id' });
    if (withIndexes) {
      // The same indexes as adapters/indexeddb/schema.ts, version 3.
      entities.createIndex('account_type', ['accountId', 'entityType']);
      entities.createIndex('account_class', ['accountId', 'entityClass']);
      relationships.createIndex('fromId', 'fromId');
      relationships.createIndex('toId', 'toId');
      relationships.createIndex('account_verb', ['accountId', 'verb']);
    }
  };
  return request(opening);
}

interface Rows {
  readonly entities: object[];
  readonly relationships: object[];
}

/** The first sync's rows as the store writes them: prepared by the core (staged into a memory store, recorded on the way). */
async function captureRows(settings: PhaseSettings, connectorId: string): Promise<Rows> {
  const memory = createMemoryStore();
  const entities: PreparedEntity[] = [];
  const relationships: PreparedRelationship[] = [];
  const recording: GraphStore = {
    ...memory,
    async openSync(header) {
      const s = await memory.openSync(header);
      return {
        ...s,
        header: s.header,
        token: s.token,
        async stage(chunk) {
          entities.push(...chunk.entities);
          relationships.push(...chunk.relationships);
          await s.stage(chunk);
        },
      };
    },
  };
  const output = await runConnector(connector(settings, 0), { accountId: 'bench', syncId: 'capture', store: recording });
  await commitSync(recording, output);
  const source = { accountId: 'bench', connectorId, syncId: 'bench-1' };
  return {
    entities: entities.map((e) => ({ ...e, ...source })),
    relationships: relationships.map(({ ord: _ord, ...r }) => ({ ...r, ...source })),
  };
}

/** Puts every row in one readwrite transaction, without awaiting each put. */
async function putAll(db: IDBDatabase, rows: Rows): Promise<number> {
  const tx = db.transaction(['entities', 'relationships'], 'readwrite');
  const entities = tx.objectStore('entities');
  const relationships = tx.objectStore('relationships');
  for (const e of rows.entities) entities.put(e);
  for (const r of rows.relationships) relationships.put(r);
  await new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error);
  });
  return rows.entities.length + rows.relationships.length;
}

const cpuOf = (m: Measured<unknown>): { cpuMs?: number } => (m.cpuMs === undefined ? {} : { cpuMs: m.cpuMs });

const connector = (settings: PhaseSettings, generation: number) =>
  createSyntheticConnector({ seed: settings.seed, n: settings.n, churn: { fraction: settings.churnFraction, generation } });

export async function runScale(settings: PhaseSettings): Promise<ScaleResult> {
  const name = `parallax-bench-${settings.n}`;
  const log = (line: string): void => console.log(`[indexeddb n=${settings.n}] ${line}`);
  const phases: PhaseRow[] = [];
  const connectorId = connector(settings, 0).name;

  const rows = await captureRows(settings, connectorId);
  const total = rows.entities.length + rows.relationships.length;
  for (const [phase, indexed] of [['raw-insert', false], ['raw-insert-schema', true]] as const) {
    const db = await openRaw(`${name}-${phase}`, indexed);
    const timed = await measure(() => putAll(db, rows));
    db.close();
    await deleteIndexedDbStore(`${name}-${phase}`);
    phases.push({ phase, label: PHASE_LABELS[phase], wallMs: timed.ms, ...cpuOf(timed), rowsInBatch: total, rowsWritten: timed.value, memory: timed.memory });
    log(`${PHASE_LABELS[phase]}: ${timed.ms.toFixed(0)} ms (cpu ${timed.cpuMs?.toFixed(0) ?? '-'}), ${timed.value} rows`);
  }

  await deleteIndexedDbStore(name);
  const store = await openIndexedDbStore(name);
  const timed = timedStore(store);
  let syncs = 0;
  try {
    for (const [phase, generation] of [['first-sync', 0], ['unchanged-resync', 0], ['churn', 1]] as [PhaseId, number][]) {
      timed.take();
      const before = await store.counts();
      const result = await measure(async () => {
        const output = await runConnector(connector(settings, generation), { accountId: 'bench', syncId: `bench-${++syncs}`, store: timed.store });
        return commitSync(timed.store, output);
      });
      const storeMs = timed.take();
      const { stats, rowsWritten } = result.value;
      const rowsIn = stats.entitiesCreated + stats.entitiesUpdated + stats.entitiesUnchanged + stats.relationshipsCreated + stats.relationshipsUpdated + stats.relationshipsUnchanged;
      phases.push({
        phase,
        label: phase === 'churn' ? `${PHASE_LABELS.churn} (${settings.churnFraction * 100}%)` : PHASE_LABELS[phase],
        wallMs: result.ms,
        ...cpuOf(result),
        coreMs: result.ms - storeMs,
        storeMs,
        rowsInBatch: rowsIn,
        rowsWritten,
        storedRowsBefore: before.entities + before.relationships,
        stats,
        memory: result.memory,
      });
      log(`${phase}: ${result.ms.toFixed(0)} ms (cpu ${result.cpuMs?.toFixed(0) ?? '-'}, store ${storeMs.toFixed(0)}), ${rowsIn} rows in, ${rowsWritten} written`);
      gc();
    }
  } finally {
    await store.close();
    await deleteIndexedDbStore(name);
  }

  const wall = (id: PhaseId): number => phases.find((p) => p.phase === id)!.wallMs;
  const cpu = (id: PhaseId): number => phases.find((p) => p.phase === id)!.cpuMs!;
  const first = phases.find((p) => p.phase === 'first-sync')!;
  const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;
  const counted = phases.find((p) => p.phase === 'first-sync')!.stats!;
  return {
    adapter: 'indexeddb',
    runtime: `chromium ${navigator.userAgent.match(/Chrome\/([\d.]+)/)?.[1] ?? '?'} (headless)`,
    n: settings.n,
    entities: counted.entitiesCreated,
    relationships: counted.relationshipsCreated,
    churnFraction: settings.churnFraction,
    phases,
    baseline: RAW_INDEXEDDB_BASELINE,
    schemaBaseline: SCHEMA_BASELINE,
    notes: [
      `first sync / raw puts: ${ratio(first.wallMs, wall('raw-insert'))} whole sync (connector, hashing, staging, commit); ${ratio(first.storeMs!, wall('raw-insert'))} the store's part (staging + commit)`,
      `raw puts into the adapter's 5 indexes / plain raw puts: ${ratio(wall('raw-insert-schema'), wall('raw-insert'))}`,
      `unchanged re-sync / first sync: ${ratio(wall('unchanged-resync'), first.wallMs)}; churn / first sync: ${ratio(wall('churn'), first.wallMs)}`,
      ...(phases.every((p) => p.cpuMs !== undefined)
        ? [
            `by CPU time of Chromium's processes (browser, renderer, utilities; other jobs do not count): first sync / raw puts ${ratio(cpu('first-sync'), cpu('raw-insert'))}; ` +
              `into the 5 indexes / raw puts ${ratio(cpu('raw-insert-schema'), cpu('raw-insert'))}; unchanged / first ${ratio(cpu('unchanged-resync'), cpu('first-sync'))}; churn / first ${ratio(cpu('churn'), cpu('first-sync'))}`,
          ]
        : []),
      `memory: ${HEAP_METHOD}`,
      `store: IndexedDB database "${name}" in a fresh on-disk browser profile (deleted afterwards)`,
    ],
  };
}

(globalThis as { parallaxBench?: unknown }).parallaxBench = { runScale };
