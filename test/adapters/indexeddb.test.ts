/**
 * The IndexedDB adapter on fake-indexeddb in Node: a fast run of the contract,
 * the model-based suite and the failure modes. The real-browser run is
 * indexeddb.browser.test.ts (Chromium).
 */
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { openIndexedDbStore } from 'parallax-edge/adapters/indexeddb';
import { describeGraphStoreContract } from './contract.js';
import { describeIndexedDbFailures } from './indexeddb-cases.js';
import { describeModelBased } from './model.js';

// A fresh factory per store: every test starts from an empty origin.
const open = () => openIndexedDbStore('contract', { indexedDB: new IDBFactory() });

describeGraphStoreContract('indexeddb (fake-indexeddb)', open);
describeModelBased('indexeddb (fake-indexeddb)', open, { numRuns: 40 });
describeIndexedDbFailures('fake-indexeddb', { factory: () => new IDBFactory(), bigBatch: 1000 });
