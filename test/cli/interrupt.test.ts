/**
 * Issue 10, defect 1: Ctrl-C during a CPU-bound connector. The real CLI
 * process streams a connector that never awaits anything of its own (a paged
 * step that emits a page without an await, or one step that only calls
 * `ctx.flush()` every few thousand records) into a SQLite file; SIGINT
 * arrives once the step has started. The runner gives the event loop a turn
 * at every page end and in `ctx.flush()` (src/connect/turn.ts), so the
 * signal handler runs, the run aborts, the CLI exits 130 and nothing is
 * committed (+P4): the file's rows and history are exactly as before.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteStore } from 'parallax-edge/adapters/sqlite';
import { STAGING_TABLE_NAMES } from '../../adapters/sql/index.js';
import { dumpStore, type StoreDump } from 'parallax-edge/testing';
import { SPAWNING, workspace, type Workspace } from './run-cli.js';

/**
 * A connector with one CPU-bound step of `hosts` hosts: `paged` emits
 * `pageSize` hosts a page, `flush` emits them all in one call with an
 * `await ctx.flush()` every `flushEvery`. Nothing else is awaited.
 */
const BUSY_CONNECTOR = `
import { entity, step, type Connector, type StepContext } from 'parallax-edge';

interface Config { hosts: number; mode: 'paged' | 'flush'; pageSize?: number; flushEvery?: number }

export default function createBusyConnector(config: Config): Connector {
  const emitHost = (ctx: StepContext, i: number): void => {
    ctx.emitEntity(entity('host', 'h-' + i).class('Host').properties({ ip: '10.' + (i >> 16 & 255) + '.' + (i >> 8 & 255) + '.' + (i & 255), rack: i % 40 })).orThrow();
  };
  return {
    name: 'busy',
    steps: () => [config.mode === 'paged' ? step('hosts', 'Hosts').paged().build() : step('hosts', 'Hosts').build()],
    async executeStep(_stepId: string, ctx: StepContext) {
      if (config.mode === 'paged') {
        const start = Number(ctx.cursor ?? 0);
        const end = Math.min(start + (config.pageSize ?? 5000), config.hosts);
        for (let i = start; i < end; i++) emitHost(ctx, i);
        return end < config.hosts ? { next: String(end) } : {};
      }
      const every = config.flushEvery ?? 2000;
      for (let i = 0; i < config.hosts; i++) {
        emitHost(ctx, i);
        if (i % every === every - 1) await ctx.flush();
      }
      return undefined;
    },
  };
}
`;

/** Rows in the staging tables of the file (the CLI's store stages in TEMP tables). */
function stagedRowsInFile(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return STAGING_TABLE_NAMES.reduce((n, t) => n + (db.prepare(`SELECT COUNT(*) AS n FROM main.${t}`).get() as { n: number }).n, 0);
  } finally {
    db.close();
  }
}

async function dumpFile(path: string): Promise<StoreDump> {
  const store = createSqliteStore({ path, readonly: true });
  try {
    return await dumpStore(store, ['default']);
  } finally {
    await store.close();
  }
}

describe.concurrent('issue 10 defect 1: Ctrl-C during a CPU-bound sync (the real CLI, a real SIGINT)', SPAWNING, () => {
  let ws: Workspace;
  beforeAll(() => {
    ws = workspace();
    ws.write('busy.ts', BUSY_CONNECTOR);
    for (const mode of ['paged', 'flush']) {
      ws.write(`${mode}-small.json`, JSON.stringify({ hosts: 300, mode }));
      // Far more than can run before the signal arrives: committing it would take many seconds.
      ws.write(`${mode}-big.json`, JSON.stringify({ hosts: 1_000_000, mode }));
    }
  });
  afterAll(() => ws.remove());

  it.each([
    ['a paged step that never awaits inside a page', 'paged'],
    ['a step that emits without awaiting anything but ctx.flush() every 2,000 records', 'flush'],
  ])('defect 1 (+P4): SIGINT during %s exits 130 and commits nothing: the store\'s rows and history are unchanged', async (_what, mode) => {
    const store = `${mode}.db`;
    const path = join(ws.dir, store);
    const first = await ws.cli('sync', 'busy.ts', '--store', store, '--config', `${mode}-small.json`, '--sync-id', 'first');
    expect(first.stderr).toContain('[hosts] completed: 300 entities');
    expect(first.code).toBe(0);
    const before = await dumpFile(path);
    expect(before.entities).toHaveLength(300);
    expect(before.history.map((r) => r.syncId)).toEqual(['first']);

    const run = ws.start('sync', 'busy.ts', '--store', store, '--config', `${mode}-big.json`, '--sync-id', 'interrupted');
    const deadline = Date.now() + 60_000;
    while (!run.stderrSoFar().includes('[hosts] started') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(run.stderrSoFar()).toContain('[hosts] started');
    run.child.kill('SIGINT');
    const result = await run.result;

    expect(result.stderr).toContain('parallax-edge: interrupted; nothing was committed');
    expect(result.code).toBe(130);
    // It stopped inside the step: the step never completed, nothing was committed.
    expect(result.stderr).not.toContain('[hosts] completed');
    expect(result.stdout).not.toContain('Committed sync');
    expect(await dumpFile(path)).toEqual(before);
    expect(stagedRowsInFile(path)).toBe(0);

    // The store is fine afterwards: the interrupted sync id was never used, and the small run is unchanged.
    const after = await ws.cli('sync', 'busy.ts', '--store', store, '--config', `${mode}-small.json`, '--sync-id', 'interrupted');
    expect(after.code).toBe(0);
    expect((await dumpFile(path)).history.map((r) => [r.syncId, r.stats.entitiesUnchanged])).toEqual([
      ['interrupted', 300],
      ['first', 0],
    ]);
  });
});

describe('SIGTERM during a sync (the real CLI, a real signal)', SPAWNING, () => {
  let ws: Workspace;
  beforeAll(() => {
    ws = workspace();
    ws.write('busy.ts', BUSY_CONNECTOR);
    ws.write('small.json', JSON.stringify({ hosts: 300, mode: 'paged' }));
    ws.write('big.json', JSON.stringify({ hosts: 1_000_000, mode: 'paged' }));
  });
  afterAll(() => ws.remove());

  it('+P4: SIGTERM mid-sync leaves the graph as it was and exits 143 with one line saying so', async () => {
    const path = join(ws.dir, 'term.db');
    expect((await ws.cli('sync', 'busy.ts', '--store', 'term.db', '--config', 'small.json', '--sync-id', 'first')).code).toBe(0);
    const before = await dumpFile(path);
    expect(before.entities).toHaveLength(300);
    const run = ws.start('sync', 'busy.ts', '--store', 'term.db', '--config', 'big.json', '--sync-id', 'terminated');
    const deadline = Date.now() + 60_000;
    while (!run.stderrSoFar().includes('[hosts] started') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(run.stderrSoFar()).toContain('[hosts] started');
    run.child.kill('SIGTERM');
    const result = await run.result;

    expect(result.code).toBe(143);
    expect(result.stderr.trimEnd().split('\n').at(-1)).toBe('parallax-edge: terminated (SIGTERM); nothing was committed');
    expect(result.stdout).not.toContain('Committed sync');
    expect(await dumpFile(path)).toEqual(before);
    expect(stagedRowsInFile(path)).toBe(0);
  });

  it('+P4: SIGINT while the connector module is still loading (a hung top-level await) exits 130 with one line; the graph is as it was', async () => {
    ws.write('hangs.ts', `setInterval(() => {}, 1000);\nprocess.stderr.write('loading\\n');\nawait new Promise(() => {});\nexport default {};\n`);
    const path = join(ws.dir, 'load.db');
    expect((await ws.cli('sync', 'busy.ts', '--store', 'load.db', '--config', 'small.json', '--sync-id', 'first')).code).toBe(0);
    const before = await dumpFile(path);
    const run = ws.start('sync', 'hangs.ts', '--store', 'load.db');
    const deadline = Date.now() + 60_000;
    while (!run.stderrSoFar().includes('loading') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(run.stderrSoFar()).toContain('loading');
    run.child.kill('SIGINT');
    // A generous bound, not a timing: without the fix the first Ctrl-C is swallowed and the CLI never exits.
    const result = await Promise.race([run.result, new Promise<undefined>((r) => setTimeout(r, 30_000, undefined))]);
    if (result === undefined) run.child.kill('SIGKILL');
    expect(result?.code).toBe(130);
    expect(result?.stderr.trimEnd().split('\n').at(-1)).toBe('parallax-edge: interrupted; nothing was committed');
    expect(await dumpFile(path)).toEqual(before);
  });
});
