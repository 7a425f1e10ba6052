/**
 * The package as a user installs it: `npm pack` (which builds it, as
 * `npm publish` would), then a project of the user's own outside the repo
 * (test/package/user-project, copied to a temp directory) installs the
 * tarball from the npm registry's cache and uses only what it ships:
 *
 * - its Worker (its own wrangler.toml, its own connector, `parallax-edge/worker`)
 *   runs in workerd under its own wrangler: D1 migrated from the package's
 *   files, a cron fired, `/v1/stats` read back;
 * - its Node side type-checks without Cloudflare's types, its Worker without Node's;
 * - the package's CLI syncs its TypeScript connector into SQLite.
 *
 * better-sqlite3: its install script downloads a prebuilt binary, which fails
 * offline, then compiles for about a minute. The project installs the same
 * version with `--ignore-scripts` and puts in place the binary this machine
 * built for it (same version, same Node): what prebuild-install would have
 * downloaded. Everything else installs with its scripts, as a user's would.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./user-project/', import.meta.url));
const TOKEN = 'user-token';
const INSTALL = { timeout: 600_000 } as const;
const SLOW = { timeout: 240_000 } as const;

interface PackageJson {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}
const repoPackage = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
const pin = (name: string): string => repoPackage.dependencies[name] ?? repoPackage.devDependencies[name]!;

/** The user's environment: no npm lifecycle variables of the test run, no Cloudflare look-ups. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key)) env[key] = value;
  return { ...env, CI: 'true', NO_COLOR: '1', CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false' };
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: userEnv(), maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a command that must succeed; its output is in the failure message. */
async function ok(command: string, args: readonly string[], cwd: string): Promise<Run> {
  const result = await run(command, args, cwd);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

let work: string;
let project: string;
let tarball: string;
let tarballFiles: string[];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'parallax-pack-'));
  project = join(work, 'my-edge-app');
  // `npm pack` runs `prepare` (the build), as `npm publish` does.
  const packed = await ok('npm', ['pack', '--json', '--pack-destination', work], ROOT);
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as [{ filename: string; files: { path: string }[] }];
  tarball = join(work, info.filename);
  tarballFiles = info.files.map((f) => f.path);

  cpSync(FIXTURE, project, { recursive: true });
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify(
      {
        name: 'my-edge-app',
        private: true,
        type: 'module',
        dependencies: { 'parallax-edge': `file:${tarball}`, zod: pin('zod') },
        devDependencies: {
          wrangler: pin('wrangler'),
          typescript: pin('typescript'),
          '@cloudflare/workers-types': pin('@cloudflare/workers-types'),
          '@types/node': pin('@types/node'),
          vitest: pin('vitest'),
          'fast-check': pin('fast-check'),
        },
        allowScripts: { esbuild: true, workerd: true, sharp: true },
      },
      null,
      2,
    ),
  );
  await ok('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], project);
  await ok('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', `better-sqlite3@${pin('better-sqlite3')}`], project);
  const built = join(ROOT, 'node_modules/better-sqlite3');
  const installed = join(project, 'node_modules/better-sqlite3');
  const version = (dir: string) => (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  expect(version(installed)).toBe(version(built));
  mkdirSync(join(installed, 'build/Release'), { recursive: true });
  cpSync(join(built, 'build/Release/better_sqlite3.node'), join(installed, 'build/Release/better_sqlite3.node'));
}, INSTALL.timeout);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the package as a user installs it (npm pack, installed into a project outside the repo)', () => {
  it('ships the Worker, the connectors and the D1 migrations (the files of workers/migrations), not the repo\'s own deployment', () => {
    for (const file of ['dist/workers/public.js', 'dist/workers/public.d.ts', 'dist/connectors/github/index.js', 'dist/connectors/synthetic/index.d.ts', 'bin/parallax-edge.js']) {
      expect(tarballFiles).toContain(file);
    }
    const migrations = readdirSync(join(ROOT, 'workers/migrations'));
    expect(migrations.length).toBeGreaterThan(0);
    expect(tarballFiles.filter((f) => f.startsWith('workers/')).sort()).toEqual(migrations.map((m) => `workers/migrations/${m}`).sort());
    for (const m of migrations) {
      expect(readFileSync(join(project, 'node_modules/parallax-edge/workers/migrations', m), 'utf8')).toBe(readFileSync(join(ROOT, 'workers/migrations', m), 'utf8'));
    }
    // The repo's deployment (its registry and entry) is not part of the package.
    expect(tarballFiles.filter((f) => /workers\/(index|connectors)\./.test(f))).toEqual([]);
  });

  it('every subpath in `exports` imports in Node from the installed package', async () => {
    const script = `
      const pkg = JSON.parse((await import('node:fs')).readFileSync('node_modules/parallax-edge/package.json', 'utf8'));
      const out = {};
      for (const [subpath, target] of Object.entries(pkg.exports)) {
        if (typeof target === 'string' && !target.endsWith('.js')) continue;
        const name = subpath === '.' ? pkg.name : pkg.name + subpath.slice(1);
        out[name] = Object.keys(await import(name)).sort();
      }
      console.log(JSON.stringify(out));`;
    const result = await ok(process.execPath, ['--input-type=module', '-e', script], project);
    const modules = JSON.parse(result.stdout) as Record<string, string[]>;
    expect(modules['parallax-edge/worker']).toEqual(expect.arrayContaining(['createWorker', 'createApp', 'defineConnector', 'defineRegistry', 'RegistryError']));
    expect(modules['parallax-edge/connectors/github']).toEqual(expect.arrayContaining(['createGitHubConnector', 'GitHubConfigSchema']));
    expect(modules['parallax-edge/connectors/synthetic']).toEqual(expect.arrayContaining(['createSyntheticConnector', 'syntheticCounts']));
    expect(modules['parallax-edge']).toEqual(expect.arrayContaining(['runConnector', 'commitSync']));
    expect(modules['parallax-edge/testing']).toEqual(expect.arrayContaining(['describeGraphStoreContract', 'describeModelBased']));
  }, SLOW.timeout);

  it('+P3: a store of the user\'s own proves itself with parallax-edge/testing: the contract and model-based suites, both modes, under the user\'s vitest', async () => {
    const vitest = join(project, 'node_modules/vitest/vitest.mjs');
    const result = await run(process.execPath, [vitest, 'run', 'my-store.test.ts', '--reporter=verbose'], project);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/my-store \(streaming\)/);
    const passed = Number(/Tests\s+(\d+) passed/.exec(result.stdout.replace(/\x1b\[[0-9;]*m/g, ''))?.[1] ?? 0);
    expect(passed).toBeGreaterThan(100);
  }, INSTALL.timeout);

  it('the Worker type-checks with Cloudflare\'s types only and the Node app with Node\'s only, the package\'s .d.ts included', async () => {
    const tsc = join(project, 'node_modules/typescript/bin/tsc');
    const worker = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], project);
    expect(worker.stdout + worker.stderr).toBe('');
    expect(worker.code).toBe(0);
    const node = await run(process.execPath, [tsc, '-p', 'tsconfig.node.json'], project);
    expect(node.stdout + node.stderr).toBe('');
    expect(node.code).toBe(0);
  }, SLOW.timeout);

  it('the user\'s Worker runs in workerd: D1 migrated from the package\'s files, the cron commits its connector, /v1/stats counts it, the re-run writes nothing (+P2)', async () => {
    const wrangler = join(project, 'node_modules/wrangler/bin/wrangler.js');
    const applied = await ok(process.execPath, [wrangler, 'd1', 'migrations', 'apply', 'DB', '--local'], project);
    for (const m of readdirSync(join(ROOT, 'workers/migrations'))) expect(applied.stdout).toContain(m);

    const port = await freePort();
    const inspector = await freePort();
    const args = [wrangler, 'dev', '--local', '--test-scheduled', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector)];
    // Its own process group: wrangler leaves workerd running when only wrangler is stopped.
    const dev: ChildProcess = spawn(process.execPath, [...args, '--var', `PARALLAX_API_TOKEN:${TOKEN}`, '--var', 'SITE_NAME:lab'], {
      cwd: project,
      env: userEnv(),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    dev.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    dev.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const base = `http://127.0.0.1:${port}`;
    const api = async (path: string) => {
      const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const fire = async (cron: string) => {
      const response = await fetch(`${base}/__scheduled?cron=${encodeURIComponent(cron)}`);
      expect(response.status, log).toBe(200);
      await response.text();
      const { body } = await api('/v1/syncs?limit=1');
      return (body.syncs as Record<string, unknown>[])[0]!;
    };
    try {
      const deadline = Date.now() + 120_000;
      for (;;) {
        if (dev.exitCode !== null) throw new Error(`wrangler dev exited ${dev.exitCode}\n${log}`);
        const health = await fetch(`${base}/v1/health`).catch(() => undefined);
        if (health?.status === 200) break;
        if (Date.now() > deadline) throw new Error(`wrangler dev did not answer on ${base}\n${log}`);
        await new Promise((r) => setTimeout(r, 250));
      }

      // The user's own route on the same app.
      expect(await (await fetch(`${base}/hello`)).json()).toEqual({ site: 'lab' });

      const first = await fire('*/5 * * * *');
      expect(first).toMatchObject({ connector_id: 'inventory', account_id: 'acme', trigger: 'cron', status: 'succeeded' });
      expect(first.stats).toMatchObject({ entities_created: 13, relationships_created: 12 });
      expect((await api('/v1/stats?account_id=acme')).body).toEqual({
        entity_count: 13,
        relationship_count: 12,
        entities_by_class: { Host: 12, NetworkSegment: 1 },
        relationships_by_verb: { CONTAINS: 12 },
      });

      const again = await fire('*/5 * * * *');
      expect(again).toMatchObject({ connector_id: 'inventory', status: 'succeeded', rows_written: 0 });
      expect(again.stats).toMatchObject({ entities_unchanged: 13, relationships_unchanged: 12, entities_created: 0 });

      // The first-party synthetic connector from `parallax-edge/connectors/synthetic`, on the other cron.
      const synthetic = await fire('0 * * * *');
      expect(synthetic).toMatchObject({ connector_id: 'synthetic-aws', status: 'succeeded' });
      const created = synthetic.stats as { entities_created: number; relationships_created: number };
      expect(created.entities_created).toBeGreaterThan(0);
      const stats = (await api('/v1/stats')).body;
      expect(stats.entity_count).toBe(13 + created.entities_created);
      expect(stats.relationship_count).toBe(12 + created.relationships_created);

      const connectors = (await api('/v1/connectors')).body.connectors as { name: string }[];
      expect(connectors.map((c) => c.name)).toEqual(['inventory', 'synthetic-aws']);
    } finally {
      const exited = new Promise((resolve) => dev.once('exit', resolve));
      if (dev.exitCode === null) process.kill(-dev.pid!, 'SIGTERM');
      await exited;
    }
  }, SLOW.timeout);

  it('the installed CLI syncs the user\'s TypeScript connector into SQLite (`npx parallax-edge sync ./my-connector.ts`), and a re-sync writes nothing (+P2)', async () => {
    const sync = await run('npx', ['--no', 'parallax-edge', 'sync', './my-connector.ts', '--config', 'my-connector.json', '--account', 'acme'], project);
    expect(sync.stderr + sync.stdout).toMatch(/inventory/);
    expect(sync.code, sync.stderr).toBe(0);
    const stats = await ok('npx', ['--no', 'parallax-edge', 'stats', '--account', 'acme', '--json'], project);
    expect(JSON.parse(stats.stdout)).toMatchObject({ entities: 8, relationships: 7, entitiesByClass: { Host: 7, NetworkSegment: 1 }, relationshipsByVerb: { CONTAINS: 7 } });
    const again = await ok('npx', ['--no', 'parallax-edge', 'syncs', '--connector', 'inventory', '--json'], project);
    expect((JSON.parse(again.stdout) as unknown[]).length).toBe(1);
    const resync = await run('npx', ['--no', 'parallax-edge', 'sync', './my-connector.ts', '--config', 'my-connector.json', '--account', 'acme'], project);
    expect(resync.code, resync.stderr).toBe(0);
    const history = JSON.parse((await ok('npx', ['--no', 'parallax-edge', 'syncs', '--connector', 'inventory', '--json'], project)).stdout) as { stats: { entitiesUnchanged: number } }[];
    expect(history).toHaveLength(2);
    expect(history[0]!.stats.entitiesUnchanged).toBe(8);
  }, SLOW.timeout);
});
