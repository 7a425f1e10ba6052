/** The shared suites on the SQLite store: a real file each time, in both sync modes, and the JSON-chunk staging path. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { createSqliteStore } from 'parallax-edge/adapters/sqlite';
import { describeGraphStoreContract, describeModelBased } from 'parallax-edge/testing';

const dir = mkdtempSync(join(tmpdir(), 'parallax-sqlite-suites-'));
let files = 0;
const freshPath = (): string => join(dir, `store-${++files}.db`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeGraphStoreContract('sqlite (file)', () => createSqliteStore(freshPath()));
describeGraphStoreContract('sqlite (file)', () => createSqliteStore(freshPath()), { mode: 'streaming' });
describeGraphStoreContract('sqlite (file, JSON-chunk staging)', () => createSqliteStore({ path: freshPath(), stagingChunkBytes: 300 }), { mode: 'streaming' });
describeModelBased('sqlite (file)', () => createSqliteStore(freshPath()), { numRuns: 60 });
describeModelBased('sqlite (file)', () => createSqliteStore(freshPath()), { numRuns: 60, mode: 'streaming' });
// Every commit split (plan, writes, swap) and built beside the graph in batches of 3 rows.
describeGraphStoreContract('sqlite (file, split commits)', () => createSqliteStore({ path: freshPath(), splitCommitRows: 3 }), { mode: 'streaming' });
describeModelBased('sqlite (file, split commits)', () => createSqliteStore({ path: freshPath(), splitCommitRows: 3 }), { numRuns: 40, mode: 'streaming' });
