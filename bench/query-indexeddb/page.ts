/**
 * The query benchmark's page (bundled by bench/query-indexeddb/run.ts): the
 * shared workload (bench/query-suite.ts) on a fresh IndexedDB store in this
 * page, deleted afterwards.
 */
import { deleteIndexedDbStore, openIndexedDbStore } from '../../adapters/indexeddb.js';
import { runQueryBench, type QueryBenchResult } from '../query-suite.js';

async function run(n: number, repeat: number): Promise<QueryBenchResult> {
  const name = `bench-query-${n}-${Date.now()}`;
  const store = await openIndexedDbStore(name);
  try {
    return await runQueryBench(store, n, (line) => console.log(line), repeat);
  } finally {
    await store.close();
    await deleteIndexedDbStore(name);
  }
}

(globalThis as unknown as { parallaxQueryBench: typeof run }).parallaxQueryBench = run;
