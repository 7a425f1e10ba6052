/**
 * The SQL shared by the SQLite and D1 stores: schema migrations, a sync's
 * staging and commit (`sync.ts`), the reads, and the one store built on
 * them (`store.ts`) behind a small executor interface. Platform-neutral: it
 * only builds SQL text and bound parameters; each executor runs them its own
 * way (better-sqlite3 transactions, D1 batches).
 */
export * from './statement.js';
export * from './guard.js';
export * from './schema.js';
export * from './sync.js';
export * from './read.js';
export * from './store.js';
export * from './query.js';
