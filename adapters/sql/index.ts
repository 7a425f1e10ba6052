/**
 * The SQL shared by the SQLite and D1 adapters: schema migrations, the commit
 * as a fixed list of statements (stage, check, diff, promote) and the reads.
 * Platform-neutral: it only builds SQL text and bound parameters; each
 * adapter runs them its own way (a better-sqlite3 transaction, a D1 batch).
 */
export * from './statement.js';
export * from './guard.js';
export * from './schema.js';
export * from './commit.js';
export * from './read.js';
export * from './scope.js';
