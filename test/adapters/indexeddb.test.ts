/**
 * The IndexedDB adapter on fake-indexeddb in Node: the contract and the
 * model-based suite in both sync modes, and the failure modes. The
 * real-browser run is indexeddb.browser.test.ts (Chromium).
 */
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { openIndexedDbStore } from 'parallax-edge/adapters/indexeddb';
import { describeGraphStoreContract, describeModelBased } from 'parallax-edge/testing';
import { describeIndexedDbFailures } from './indexeddb-cases.js';

// A fresh factory per store: every test starts from an empty origin.
const open = () => openIndexedDbStore('contract', { indexedDB: new IDBFactory() });

describeGraphStoreContract('indexeddb (fake-indexeddb)', open);
describeGraphStoreContract('indexeddb (fake-indexeddb)', open, { mode: 'streaming' });
describeModelBased('indexeddb (fake-indexeddb)', open, { numRuns: 30 });
describeModelBased('indexeddb (fake-indexeddb)', open, { numRuns: 30, mode: 'streaming' });
describeIndexedDbFailures('fake-indexeddb', { factory: () => new IDBFactory(), bigBatch: 1000 });
