import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'quick-start-'));
const store = join(dir, 'parallax.db');

async function example(...args: string[]) {
  return run(process.execPath, ['--import', 'tsx', join(root, 'examples/my-service/run.ts'), ...args], {
    cwd: root,
    env: { ...process.env, PARALLAX_STORE: store },
  });
}

describe('README quick start: npm run example syncs into an SQLite file with the CLI', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('+P2: the first run creates every row, the second writes nothing and reports them unchanged', async () => {
    const first = await example();
    expect(first.stdout).toContain('16 rows written');
    expect(first.stdout).toMatch(/entities\s+10\s+0\s+0\s+0/);
    const second = await example();
    expect(second.stdout).toContain('0 rows written');
    expect(second.stdout).toMatch(/entities\s+0\s+0\s+10\s+0/);
    expect(second.stdout).toMatch(/relationships\s+0\s+0\s+6\s+0/);
  }, 120_000);

  it('a changed upstream shows updated, created and deleted rows', async () => {
    const changed = await example('--changed');
    // created, updated, unchanged, deleted: h-3 + svc-redis new, u-2 updated, h-2 + svc-postgres gone.
    expect(changed.stdout).toMatch(/entities\s+2\s+1\s+7\s+2/);
  }, 120_000);
});
