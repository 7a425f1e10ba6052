/**
 * The IndexedDB benchmark, in the page: bundled by bench/indexeddb/run.ts and
 * run in headless Chromium. For one scale it runs the shared phases
 * (bench/phases.ts: synthetic connector, first sync, unchanged re-sync,
 * churn, failed step, small batch) against a fresh IndexedDB store and
 * returns the common {@link ScaleResult}. Browser-only: no node:* imports.
 *
 * The baseline is raw IndexedDB in the same page: the first sync's rows (the
 * same row objects the store writes) put into plain object stores (key path
 * `id`, no indexes) in one readwrite transaction, without awaiting each put.
 */
import { prepareBatch, runConnector, type CommitBatch } from 'parallax-edge';
import { createSyntheticConnector } from '../../connectors/synthetic/index.js';
import { deleteIndexedDbStore, openIndexedDbStore } from 'parallax-edge/adapters/indexeddb';
import type { Measured } from '../memory.js';
import { runPhases, type PhaseSettings } from '../phases.js';
import type { MemorySample, ScaleResult } from '../report.js';

export const RAW_INDEXEDDB_BASELINE =
  'raw IndexedDB: the same rows put into plain object stores (key path id, no indexes) in one readwrite transaction, same page';

interface ChromeMemory {
  usedJSHeapSize: number;
}
const heapNow = (): number | null => (performance as unknown as { memory?: ChromeMemory }).memory?.usedJSHeapSize ?? null;
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

const HEAP_METHOD =
  'heap: performance.memory.usedJSHeapSize (--enable-precise-memory-info) sampled every 2 ms, start after 2 full GCs; RSS: not readable in a page';

/** Wall time and JS heap peak of one operation. IndexedDB commits yield to the event loop, so the sampler runs during them. */
async function measure<T>(fn: () => Promise<T> | T): Promise<Measured<T>> {
  gc();
  gc();
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
  sample();
  const memory: MemorySample = { rssStartBytes: null, rssPeakBytes: null, heapStartBytes: start, heapPeakBytes: peak, method: HEAP_METHOD };
  return { value, ms, memory };
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** A database of plain object stores, optionally with the adapter's eight indexes (for the notes). */
async function openRaw(name: string, withIndexes: boolean): Promise<IDBDatabase> {
  await deleteIndexedDbStore(name);
  const opening = indexedDB.open(name, 1);
  opening.onupgradeneeded = () => {
    const entities = opening.result.createObjectStore('entities', { keyPath: 'id' });
    const relationships = opening.result.createObjectStore('relationships', { keyPath: 'id' });
    if (withIndexes) {
      // The same indexes as createSchema in adapters/indexeddb.ts.
      entities.createIndex('account_type', ['accountId', 'entityType']);
      entities.createIndex('account_class', ['accountId', 'entityClass']);
      entities.createIndex('scope', ['accountId', 'connectorId', 'id', 'hash', 'stepId']);
      entities.createIndex('account_type_key', ['accountId', 'entityType', 'entityKey']);
      relationships.createIndex('fromId', 'fromId');
      relationships.createIndex('toId', 'toId');
      relationships.createIndex('scope', ['accountId', 'connectorId', 'id', 'hash', 'stepId']);
      relationships.createIndex('account_verb', ['accountId', 'verb']);
    }
  };
  return request(opening);
}

/** Puts every row of the batch, as the store would store it, in one readwrite transaction. */
async function putAll(db: IDBDatabase, batch: CommitBatch): Promise<number> {
  const source = { accountId: batch.accountId, connectorId: batch.connectorId, syncId: batch.syncId };
  const tx = db.transaction(['entities', 'relationships'], 'readwrite');
  const entities = tx.objectStore('entities');
  const relationships = tx.objectStore('relationships');
  for (const e of batch.entities) entities.put({ ...e, ...source });
  for (const r of batch.relationships) relationships.put({ ...r, ...source });
  await new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error);
  });
  return batch.entities.length + batch.relationships.length;
}

export async function runScale(settings: PhaseSettings): Promise<ScaleResult> {
  const name = `parallax-bench-${settings.n}`;
  const rawName = `${name}-raw`;
  const notes: string[] = [];
  const log = (line: string): void => {
    console.log(`[indexeddb n=${settings.n}] ${line}`);
  };

  await deleteIndexedDbStore(name);
  const store = await openIndexedDbStore(name);
  const plain = await openRaw(rawName, false);
  try {
    const result = await runPhases(settings, {
      store,
      measure,
      rawInsert: (batch) => putAll(plain, batch),
      baseline: RAW_INDEXEDDB_BASELINE,
      runtime: `chromium ${navigator.userAgent.match(/Chrome\/([\d.]+)/)?.[1] ?? '?'} (headless)`,
      settle: () => {
        gc();
        gc();
      },
      log,
    });
    plain.close();
    await deleteIndexedDbStore(rawName);

    // A side run, not a phase: the same puts into stores with the adapter's
    // indexes, to tell index upkeep apart from the adapter's own work.
    const raw = result.phases.find((p) => p.phase === 'raw-insert');
    const output = await runConnector(createSyntheticConnector({ seed: settings.seed, n: settings.n, churn: { fraction: settings.churnFraction, generation: 0 } }), {
      accountId: 'bench',
      syncId: 'indexed-side-run',
    });
    const indexed = await openRaw(`${rawName}-indexed`, true);
    const timed = await measure(() => putAll(indexed, prepareBatch(output)));
    indexed.close();
    await deleteIndexedDbStore(`${rawName}-indexed`);
    notes.push(
      `side run: raw puts into stores with the adapter's 8 indexes took ${Math.round(timed.ms)} ms` +
        (raw ? ` (${(timed.ms / raw.wallMs).toFixed(2)}× the plain raw puts)` : ''),
    );
    notes.push(`memory: ${HEAP_METHOD}; the heap includes garbage not yet collected (prepareBatch's hashing above all)`);
    notes.push(`store: IndexedDB database "${name}" in a fresh browser context (deleted afterwards)`);
    return { ...result, notes };
  } finally {
    plain.close();
    await store.close();
    await deleteIndexedDbStore(name);
  }
}

(globalThis as { parallaxBench?: unknown }).parallaxBench = { runScale };
