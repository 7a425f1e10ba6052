/**
 * `parallax-edge/adapters/sqlite`: the embedded SQLite GraphStore for Node.
 * The code is in `adapters/sqlite/` (see its `index.ts`); this entry keeps
 * the public import path.
 */
export * from './sqlite/index.js';
