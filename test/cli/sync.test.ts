import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modules, SPAWNING, workspace, type CliResult, type Workspace } from './run-cli.js';

/** The numbers of the `entities` or `relationships` row of the stats table. */
function statsRow(stdout: string, row: 'entities' | 'relationships'): Record<string, number | undefined> {
  const lines = stdout.split('\n');
  const header = lines.find((l) => /^\s+created\s+updated/.test(l));
  const line = lines.find((l) => l.startsWith(`${row} `));
  if (!header || !line) throw new Error(`no stats table in:\n${stdout}`);
  const names = header.trim().split(/\s+/);
  const cells = line.trim().split(/\s+/).slice(1);
  return Object.fromEntries(names.map((name, i) => [name, cells[i] === '-' ? undefined : Number(cells[i]!.replaceAll(',', ''))]));
}

/** No error output may carry a stack trace. */
function expectNoStack(result: CliResult): void {
  expect(result.stderr).not.toMatch(/^\s+at .+:\d+/m);
  expect(result.stdout).not.toMatch(/^\s+at .+:\d+/m);
}

describe.concurrent('parallax-edge sync (the real CLI, spawned)', SPAWNING, () => {
  let ws: Workspace;
  beforeAll(() => {
    ws = workspace();
    ws.write('directory.ts', modules.tsFactory);
    ws.write('ok.json', JSON.stringify({ users: ['ada', 'bob'] }));
    ws.write('fail.json', JSON.stringify({ users: ['ada', 'bob'], failUsers: true }));
    ws.write('dangle.json', JSON.stringify({ users: ['ada', 'bob'], dangle: true }));
  });
  afterAll(() => ws.remove());

  it('exit 0: a TS factory (default export) gets the --config JSON and its rows land in ./data/parallax.db by default; a second run reports every row unchanged and writes nothing', async () => {
    const first = await ws.cli('sync', 'directory.ts', '--config', 'ok.json');
    expect(first.stderr).toContain('[users] completed: 2 entities, 0 relationships in');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('Committed sync sync-');
    expect(first.stdout).toContain('store ./data/parallax.db');
    expect(statsRow(first.stdout, 'entities')).toMatchObject({ created: 4, updated: 0, unchanged: 0, deleted: 0, kept: 0 });
    expect(statsRow(first.stdout, 'relationships')).toMatchObject({ created: 2, cascaded: 0 });

    const second = await ws.cli('sync', 'directory.ts', '--config', 'ok.json');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(': 0 rows written');
    expect(statsRow(second.stdout, 'entities')).toMatchObject({ created: 0, updated: 0, unchanged: 4, deleted: 0 });
    expect(statsRow(second.stdout, 'relationships')).toMatchObject({ created: 0, unchanged: 2, deleted: 0 });

    const history = await ws.cli('syncs', '--connector', 'directory');
    expect(history.code).toBe(0);
    expect(history.stdout.match(/sync-\d{8}T\d{9}Z-[0-9a-f]{6}/g)).toHaveLength(2);
  });

  it('exit 3: a failed step is reported with its error, the commit still lands, and the rows it (and its dependents) last wrote are kept', async () => {
    const failed = await ws.cli('sync', 'directory.ts', '--config', 'fail.json', '--store', 'partial.db');
    expect(failed.code).toBe(3);
    expect(failed.stderr).toContain('[users] FAILED after');
    expect(failed.stderr).toContain('Api: users API answered 503');
    expect(failed.stderr).toMatch(/1 step failed \(users\).*exit 3/);
    expect(failed.stdout).toContain('Failed steps (1):\n  users: Api: users API answered 503');
    expect(failed.stdout).toContain('groups: after users');
    expectNoStack(failed);
  });

  it('exit 3 keeps partial data: users synced earlier survive a run whose users step fails (+P1)', async () => {
    expect((await ws.cli('sync', 'directory.ts', '--config', 'ok.json', '--store', 'kept.db')).code).toBe(0);
    const failed = await ws.cli('sync', 'directory.ts', '--config', 'fail.json', '--store', 'kept.db');
    expect(failed.code).toBe(3);
    expect(statsRow(failed.stdout, 'entities')).toMatchObject({ deleted: 0, kept: 2, unchanged: 2 });
    expect(statsRow(failed.stdout, 'relationships')).toMatchObject({ deleted: 0, kept: 2 });
    const users = await ws.cli('entities', '--type', 'user', '--store', 'kept.db', '--json');
    expect(users.code).toBe(0);
    expect((JSON.parse(users.stdout) as { items: { entityKey: string }[] }).items.map((e) => e.entityKey).sort()).toEqual(['ada', 'bob']);
  });

  it('exit 1: a dangling relationship refuses the whole commit, names the relationship, and leaves the store as it was', async () => {
    expect((await ws.cli('sync', 'directory.ts', '--config', 'ok.json', '--store', 'dangle.db')).code).toBe(0);
    const result = await ws.cli('sync', 'directory.ts', '--config', 'dangle.json', '--store', 'dangle.db');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^parallax-edge: commit refused \(DanglingRelationship\): relationship group:admins HAS user:ghost points to an entity that will not exist after this commit; nothing was committed$/m);
    expectNoStack(result);
    const history = await ws.cli('syncs', '--store', 'dangle.db', '--json');
    expect(JSON.parse(history.stdout)).toHaveLength(1);
  });

  it('RowTooLarge: a row over MAX_ROW_BYTES is refused at emit naming the field and the limit; fatal with .orThrow() (exit 3), the stored rows are unchanged', async () => {
    ws.write('docs.mjs', `import { entity, step } from 'parallax-edge';
export default (config) => ({
  name: 'docs',
  steps: () => [step('docs', 'Docs').build()],
  async executeStep(stepId, ctx) {
    ctx.emitEntity(entity('doc', 'keep').class('File').property('body', 'small'));
    const result = ctx.emitEntity(entity('doc', 'readme').class('File').property('body', 'x'.repeat(config.bodyBytes)));
    if (config.strict) result.orThrow();
  },
});
`);
    ws.write('small.json', JSON.stringify({ bodyBytes: 100 }));
    ws.write('huge.json', JSON.stringify({ bodyBytes: 2_500_000, strict: true }));
    ws.write('huge-lenient.json', JSON.stringify({ bodyBytes: 2_500_000 }));
    expect((await ws.cli('sync', 'docs.mjs', '--config', 'small.json', '--store', 'docs.db')).code).toBe(0);
    const before = await ws.cli('entities', '--type', 'doc', '--store', 'docs.db', '--json');
    expect(before.code).toBe(0);
    expect((JSON.parse(before.stdout) as { items: unknown[] }).items).toHaveLength(2);

    const refused = await ws.cli('sync', 'docs.mjs', '--config', 'huge.json', '--store', 'docs.db');
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('entity doc:readme refused: properties.body is 2,500,013 bytes and makes the row 2,500,050 bytes, over the limit of 1,000,000 bytes a row');
    expect(statsRow(refused.stdout, 'entities')).toMatchObject({ deleted: 0, kept: 2 });
    expect((await ws.cli('entities', '--type', 'doc', '--store', 'docs.db', '--json')).stdout).toBe(before.stdout);
    expectNoStack(refused);

    const lenient = await ws.cli('sync', 'docs.mjs', '--config', 'huge-lenient.json', '--store', 'lenient.db');
    expect(lenient.stderr).toMatch(/properties\.body is 2,500,013 bytes .* over the limit of 1,000,000 bytes a row/);
    expect(lenient.code).toBe(0);
    const stored = JSON.parse((await ws.cli('entities', '--type', 'doc', '--store', 'lenient.db', '--json')).stdout) as { items: { entityKey: string }[] };
    expect(stored.items.map((e) => e.entityKey)).toEqual(['keep']);
  });

  it('exit 1: a reused --sync-id is refused by the commit', async () => {
    expect((await ws.cli('sync', 'directory.ts', '--config', 'ok.json', '--store', 'dup.db', '--sync-id', 'nightly-1')).code).toBe(0);
    const again = await ws.cli('sync', 'directory.ts', '--config', 'ok.json', '--store', 'dup.db', '--sync-id', 'nightly-1');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('commit refused (DuplicateSyncId): sync id "nightly-1" was already committed for account "default"');
  });

  it('--account scopes the rows: the same connector under two accounts keeps two copies', async () => {
    await ws.cli('sync', 'directory.ts', '--config', 'ok.json', '--store', 'acct.db', '--account', 'acme');
    await ws.cli('sync', 'directory.ts', '--config', 'ok.json', '--store', 'acct.db', '--account', 'globex');
    const all = await ws.cli('stats', '--store', 'acct.db', '--json');
    const acme = await ws.cli('stats', '--store', 'acct.db', '--account', 'acme', '--json');
    expect(JSON.parse(all.stdout)).toMatchObject({ entities: 8, relationships: 4 });
    expect(JSON.parse(acme.stdout)).toMatchObject({ entities: 4, relationships: 2, entitiesByClass: { User: 2, Group: 1, CodeRepo: 1 } });
  });
});

describe.concurrent('parallax-edge sync finds the connector in any supported export', SPAWNING, () => {
  let ws: Workspace;
  beforeAll(() => {
    ws = workspace();
  });
  afterAll(() => ws.remove());

  it('a JS named class export is constructed with the config', async () => {
    ws.write('hosts.mjs', modules.jsNamedClass);
    ws.write('hosts.json', '{ "count": 3 }');
    const result = await ws.cli('sync', 'hosts.mjs', '--config', 'hosts.json', '--store', 'hosts.db');
    expect(result.code).toBe(0);
    expect(statsRow(result.stdout, 'entities')).toMatchObject({ created: 3 });
  });

  it('a JS default-exported connector object is used as is, with no --config', async () => {
    ws.write('single.js', modules.jsDefaultObject);
    const result = await ws.cli('sync', 'single.js', '--store', 'single.db');
    expect(result.code).toBe(0);
    expect(statsRow(result.stdout, 'entities')).toMatchObject({ created: 1 });
  });

  it('a TS named async factory (a function named *Connector) is awaited, beside non-connector exports', async () => {
    ws.write('queues.ts', modules.tsNamedFactory);
    ws.write('queues.json', '{ "queues": 5 }');
    const result = await ws.cli('sync', 'queues.ts', '--config', 'queues.json', '--store', 'queues.db');
    expect(result.code).toBe(0);
    expect(statsRow(result.stdout, 'entities')).toMatchObject({ created: 5 });
  });

  it('a TS module in a "type": "module" package loads the same way', async () => {
    ws.write('esm-pkg/package.json', '{ "type": "module" }');
    ws.write('esm-pkg/single.ts', modules.jsDefaultObject);
    const result = await ws.cli('sync', 'esm-pkg/single.ts', '--store', 'esm.db');
    expect(result.code).toBe(0);
  });
});

describe.concurrent('parallax-edge usage errors exit 2 with one clear line and no stack trace', SPAWNING, () => {
  let ws: Workspace;
  beforeAll(() => {
    ws = workspace();
    ws.write('directory.ts', modules.tsFactory);
    ws.write('ok.json', JSON.stringify({ users: ['ada'] }));
  });
  afterAll(() => ws.remove());

  const expectUsage = (result: CliResult, line: RegExp | string): void => {
    expect(result.code).toBe(2);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    if (typeof line === 'string') expect(lines[0]).toBe(line);
    else expect(lines[0]).toMatch(line);
    expectNoStack(result);
  };

  it('a missing connector module is named', async () => {
    expectUsage(await ws.cli('sync', 'nowhere/conn.ts'), 'parallax-edge: connector module nowhere/conn.ts not found');
  });

  it('a module that is not a connector says what it exports', async () => {
    ws.write('not-a-connector.js', modules.notAConnector);
    expectUsage(
      await ws.cli('sync', 'not-a-connector.js'),
      /^parallax-edge: connector module not-a-connector\.js does not export a connector; it exports default \(object with keys greeting, count\), answer \(number 42\), helper \(function helper\); expected a Connector object/,
    );
  });

  it('--export names an own export only: `constructor` or `__proto__` is no export of a module', async () => {
    for (const name of ['constructor', '__proto__']) {
      expectUsage(await ws.cli('sync', 'directory.ts', '--export', name), new RegExp(`^parallax-edge: connector module directory\\.ts has no export "${name}"; it exports default`));
    }
  });

  it('a module that does not compile is reported with the compiler message', async () => {
    ws.write('broken.ts', 'export default {\n');
    expectUsage(await ws.cli('sync', 'broken.ts'), /^parallax-edge: cannot load connector module broken\.ts: .*Expected/);
  });

  it('a connector whose steps form a cycle is refused before anything runs (INV-C05)', async () => {
    ws.write('cycle.ts', modules.cycle);
    expectUsage(await ws.cli('sync', 'cycle.ts', '--store', 'cycle.db'), /^parallax-edge: invalid connector in cycle\.ts: .*a -> b -> a/);
  });

  it('a config file that is not valid JSON is named with the parse error', async () => {
    ws.write('bad.json', '{ "users": [ada] }');
    expectUsage(await ws.cli('sync', 'directory.ts', '--config', 'bad.json'), /^parallax-edge: config file bad\.json is not valid JSON: /);
  });

  it('a missing config file is named', async () => {
    expectUsage(await ws.cli('sync', 'directory.ts', '--config', 'missing.json'), 'parallax-edge: config file missing.json not found');
  });

  it('a factory that throws on its config reports the error', async () => {
    ws.write('strict.mjs', `import { ConnectorError } from 'parallax-edge';\nexport default (config) => { if (!config.token) throw ConnectorError.configuration('token is required', 'token'); };\n`);
    expectUsage(await ws.cli('sync', 'strict.mjs'), 'parallax-edge: connector configuration error (the default export of strict.mjs): token is required');
  });

  it('an unwritable store path (under a regular file) is named, and the connector does not run', async () => {
    expectUsage(
      await ws.cli('sync', 'directory.ts', '--config', 'ok.json', '--store', 'ok.json/sub/parallax.db'),
      'parallax-edge: cannot use store path ok.json/sub/parallax.db: a part of the path is a file, not a directory',
    );
  });

  it.runIf(process.platform === 'linux')('a store directory that cannot be created is named, without hanging', async () => {
    expectUsage(
      await ws.cli('sync', 'directory.ts', '--config', 'ok.json', '--store', '/proc/parallax-nope/parallax.db'),
      'parallax-edge: cannot create store directory for /proc/parallax-nope/parallax.db: a directory on the path cannot be created',
    );
  });

  it('a store path that is a directory is refused', async () => {
    ws.write('dir-store/.keep', '');
    expectUsage(await ws.cli('sync', 'directory.ts', '--config', 'ok.json', '--store', 'dir-store'), /^parallax-edge: store path dir-store is a directory/);
  });

  it('an unknown command', async () => {
    expectUsage(await ws.cli('synx', 'directory.ts'), /^parallax-edge: unknown command "synx"; commands: sync, stats, entities, syncs/);
  });

  it('an unknown flag', async () => {
    expectUsage(await ws.cli('sync', 'directory.ts', '--dry-run'), 'parallax-edge: unknown option --dry-run (see parallax-edge sync --help)');
  });

  it('a flag without its value', async () => {
    expectUsage(await ws.cli('sync', 'directory.ts', '--store'), 'parallax-edge: option --store needs a value (see parallax-edge sync --help)');
  });

  it('a bad --concurrency', async () => {
    expectUsage(await ws.cli('sync', 'directory.ts', '--concurrency', 'many'), 'parallax-edge: --concurrency must be an integer at least 1, got "many"');
  });

  it('sync without a module', async () => {
    expectUsage(await ws.cli('sync'), 'parallax-edge: sync needs a connector module: parallax-edge sync <connector-module>');
  });

  it('reading a store that does not exist does not create it', async () => {
    expectUsage(await ws.cli('stats', '--store', 'none.db'), 'parallax-edge: no store at none.db; run "parallax-edge sync" first, or pass --store PATH');
  });
});

describe('parallax-edge sync interrupted', SPAWNING, () => {
  it('exit 130: Ctrl-C (SIGINT) during a run aborts it and commits nothing (+P4)', async () => {
    const ws = workspace();
    try {
      ws.write(
        'slow.mjs',
        `import { entity, step } from 'parallax-edge';
export default {
  name: 'slow',
  steps: () => [step('fast', 'Fast').build(), step('slow', 'Slow').build()],
  async executeStep(stepId, ctx) {
    ctx.emitEntity(entity('host', stepId).class('Host'));
    if (stepId === 'slow') await new Promise((resolve) => setTimeout(resolve, 60_000));
  },
};
`,
      );
      const run = ws.start('sync', 'slow.mjs', '--store', 'slow.db');
      const deadline = Date.now() + 60_000;
      while (!run.stderrSoFar().includes('[fast] completed') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      run.child.kill('SIGINT');
      const result = await run.result;
      expect(result.code).toBe(130);
      expect(result.stderr).toContain('parallax-edge: interrupted; nothing was committed');
      const history = await ws.cli('syncs', '--store', 'slow.db', '--json');
      expect(JSON.parse(history.stdout)).toEqual([]);
    } finally {
      ws.remove();
    }
  });
});

describe.concurrent('parallax-edge --help', SPAWNING, () => {
  it('documents every command and the four distinct exit codes', async () => {
    const ws = workspace();
    try {
      const help = await ws.cli('--help');
      expect(help.code).toBe(0);
      for (const command of ['sync <connector-module>', 'stats', 'entities', 'syncs']) expect(help.stdout).toContain(`parallax-edge ${command}`);
      expect(help.stdout).toMatch(/^ {2}0 {4}success$/m);
      expect(help.stdout).toMatch(/^ {2}1 {4}sync failed: the commit was refused/m);
      expect(help.stdout).toMatch(/^ {2}2 {4}usage error/m);
      expect(help.stdout).toMatch(/^ {2}3 {4}partial sync/m);
      const sync = await ws.cli('sync', '--help');
      expect(sync.code).toBe(0);
      for (const flag of ['--store', '--account', '--config', '--sync-id', '--strict', '--concurrency']) expect(sync.stdout).toContain(flag);
    } finally {
      ws.remove();
    }
  });
});
