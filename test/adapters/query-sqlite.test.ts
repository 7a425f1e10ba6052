/** The query contract on SQLite, a real file. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { createSqliteStore } from 'parallax-edge/adapters/sqlite';
import { describeQueryContract, describeQueryModel } from 'parallax-edge/testing';

const dir = mkdtempSync(join(tmpdir(), 'parallax-query-'));
let files = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeQueryContract('sqlite (file)', () => createSqliteStore(join(dir, `q-${++files}.db`)));

describeQueryModel('sqlite (file)', () => createSqliteStore(join(dir, `m-${++files}.db`)), { numRuns: 60 });
