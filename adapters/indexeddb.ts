/// <reference lib="dom" />
/**
 * `parallax-edge/adapters/indexeddb`: the IndexedDB GraphStore. The code is
 * in `adapters/indexeddb/` (see its `index.ts`); this entry keeps the public
 * import path.
 */
export * from './indexeddb/index.js';
