/**
 * The query contract and the randomized PQL model on IndexedDB in real
 * headless Chromium (the `browser` project): the store's index cursors
 * answer as the memory reference. Every store gets its own database,
 * deleted after it closes.
 */
import { deleteIndexedDbStore, openIndexedDbStore, type IndexedDbStore } from 'parallax-edge/adapters/indexeddb';
import { describeQueryContract, describeQueryModel } from 'parallax-edge/testing';
import { describeIndexedDbQueryPaths } from './query-indexeddb-cases.js';

let databases = 0;

async function open(): Promise<IndexedDbStore> {
  const name = `query-${Date.now()}-${++databases}`;
  const store = await openIndexedDbStore(name);
  const close = store.close.bind(store);
  return Object.assign(store, {
    async close() {
      await close();
      await deleteIndexedDbStore(name);
    },
  });
}

describeQueryContract('indexeddb (Chromium)', open);
describeQueryModel('indexeddb (Chromium)', open, { numRuns: 40 });
describeIndexedDbQueryPaths('Chromium', open);
