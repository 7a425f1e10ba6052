/** The query contract and the randomized PQL model on IndexedDB (fake-indexeddb in Node); the Chromium run is query-indexeddb.browser.test.ts. */
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { openIndexedDbStore } from 'parallax-edge/adapters/indexeddb';
import { describeQueryContract, describeQueryModel } from 'parallax-edge/testing';

// A fresh factory per store: every test starts from an empty origin.
const open = () => openIndexedDbStore('query', { indexedDB: new IDBFactory() });

describeQueryContract('indexeddb (fake-indexeddb)', open);
describeQueryModel('indexeddb (fake-indexeddb)', open, { numRuns: 60 });
