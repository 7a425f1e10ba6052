import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { createSqliteStore } from 'parallax-edge/adapters/sqlite';
import { describeGraphStoreContract } from './contract.js';
import { describeModelBased } from './model.js';

const dir = mkdtempSync(join(tmpdir(), 'parallax-sqlite-'));
let files = 0;
const freshPath = (): string => join(dir, `store-${++files}.db`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeGraphStoreContract('sqlite (file)', () => createSqliteStore(freshPath()));
describeModelBased('sqlite (file)', () => createSqliteStore(freshPath()), { numRuns: 60 });
