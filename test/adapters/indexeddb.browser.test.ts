/**
 * The IndexedDB adapter in real headless Chromium (Vitest browser mode, the
 * `browser` project): the GraphStore contract and the model-based comparison
 * with the memory reference (+P3), each with inputs in memory and streamed,
 * and the failure modes (closed store, versionchange from another
 * connection, QuotaExceededError, staged rows invisible, stale staging by Web
 * Locks, SyncConflict, the upgrade from schema version 1). Every store gets
 * its own database, deleted after it closes.
 */
import { deleteIndexedDbStore, openIndexedDbStore, type IndexedDbStore } from 'parallax-edge/adapters/indexeddb';
import { describeGraphStoreContract, describeModelBased } from 'parallax-edge/testing';
import { describeIndexedDbFailures } from './indexeddb-cases.js';

let databases = 0;

async function open(): Promise<IndexedDbStore> {
  const name = `browser-${Date.now()}-${++databases}`;
  const store = await openIndexedDbStore(name);
  const close = store.close.bind(store);
  // Delete the database once the test is done with it, so the profile stays small.
  return Object.assign(store, {
    async close() {
      await close();
      await deleteIndexedDbStore(name);
    },
  });
}

describeGraphStoreContract('indexeddb (Chromium)', open);
describeGraphStoreContract('indexeddb (Chromium)', open, { mode: 'streaming' });
describeModelBased('indexeddb (Chromium)', open, { numRuns: 30 });
describeModelBased('indexeddb (Chromium)', open, { numRuns: 30, mode: 'streaming' });
describeIndexedDbFailures('Chromium', { factory: () => indexedDB, bigBatch: 3000 });
