/** Spawns the real CLI from sources (`node --import tsx cli/main.ts`) in a temp directory. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsxLoader = pathToFileURL(join(root, 'node_modules/tsx/dist/loader.mjs')).href;
const cliMain = join(root, 'cli/main.ts');

/**
 * Options for suites that spawn the CLI: each spawn starts Node, tsx and
 * SQLite, and a test may spawn several, so a loaded machine needs room.
 */
export const SPAWNING = { timeout: 120_000 } as const;

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Workspace {
  readonly dir: string;
  /** Writes a file (creating directories) and returns its path relative to `dir`. */
  write(path: string, content: string): string;
  cli(...args: string[]): Promise<CliResult>;
  /** Runs the CLI, with `restricted`, without the capabilities that let root ignore file modes (see {@link runCli}). */
  cliAs(restricted: boolean, ...args: string[]): Promise<CliResult>;
  /** Starts the CLI and hands back the child, to signal it; `result` settles when it exits. */
  start(...args: string[]): { child: ChildProcess; stderrSoFar(): string; result: Promise<CliResult> };
  remove(): void;
}

/** A temp directory to write connector modules into and run the CLI in (its cwd). */
export function workspace(): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'parallax-cli-'));
  return {
    dir,
    write(path, content) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
      return path;
    },
    cli: (...args) => runCli(args, dir),
    cliAs: (restricted, ...args) => runCli(args, dir, restricted),
    start(...args) {
      const child = spawn(process.execPath, ['--import', tsxLoader, cliMain, ...args], { cwd: dir, env: { ...process.env, NO_COLOR: '1' } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const result = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
      return { child, stderrSoFar: () => stderr, result };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * `restricted`: the CLI runs under util-linux's setpriv with every capability
 * dropped, so even as root a 0444 file or a 0555 directory refuses it, as
 * it refuses its owner. Running as another user (nobody) instead would need
 * that user to reach the checkout, which a clone in a 0700 directory denies.
 */
export function runCli(args: readonly string[], cwd: string, restricted = false): Promise<CliResult> {
  const node = [process.execPath, '--import', tsxLoader, cliMain, ...args];
  const [command, ...commandArgs] = restricted ? ['setpriv', '--bounding-set=-all', '--inh-caps=-all', '--', ...node] : node;
  return new Promise((resolve) => {
    execFile(
      command!,
      commandArgs,
      { cwd, env: { ...process.env, NO_COLOR: '1' }, timeout: 100_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Connector sources used across the tests. They import the package by name, as users do. */
export const modules = {
  /** TS, default export: a factory taking `{ users: string[] }`; `groups` depends on `users`. */
  tsFactory: `
import { entity, relationship, step, ConnectorError, type Connector, type StepContext } from 'parallax-edge';

interface Config { users: string[]; failUsers?: boolean; dangle?: boolean }

export default function createConnector(config: Config): Connector {
  return {
    name: 'directory',
    steps: () => [step('users', 'Users').build(), step('groups', 'Groups').dependsOn(['users']).build(), step('repos', 'Repos').build()],
    async executeStep(stepId: string, ctx: StepContext): Promise<void> {
      switch (stepId) {
        case 'users':
          if (config.failUsers) throw ConnectorError.api(503, '/users', 'users API answered 503');
          for (const name of config.users) ctx.emitEntity(entity('user', name).class('User').property('active', true));
          return;
        case 'groups':
          ctx.emitEntity(entity('group', 'admins').class('Group'));
          for (const u of ctx.prior.entitiesByType('user')) ctx.emitRelationship(relationship('group', 'admins', 'HAS', 'user', u.entityKey));
          if (config.dangle) ctx.emitRelationship(relationship('group', 'admins', 'HAS', 'user', 'ghost'));
          return;
        case 'repos':
          ctx.emitEntity(entity('repo', 'parallax').class('CodeRepo'));
          return;
        default:
          throw ConnectorError.unknownStep(stepId);
      }
    }
  };
}
`,
  /** JS, a named class export constructed with the config. */
  jsNamedClass: `
import { entity, step } from 'parallax-edge';

export const VERSION = 3;
export class HostsConnector {
  name = 'hosts';
  constructor(config) { this.count = config.count ?? 2; }
  steps() { return [step('hosts', 'Hosts').build()]; }
  async executeStep(stepId, ctx) {
    for (let i = 0; i < this.count; i++) ctx.emitEntity(entity('host', 'h' + i).class('Host'));
  }
}
`,
  /** JS, a default-exported connector object. */
  jsDefaultObject: `
import { entity, step } from 'parallax-edge';

export default {
  name: 'single',
  steps: () => [step('only', 'Only').build()],
  async executeStep(stepId, ctx) { ctx.emitEntity(entity('device', 'd1').class('Device')); },
};
`,
  /** TS, a named async factory. */
  tsNamedFactory: `
import { entity, step, type Connector } from 'parallax-edge';

export const helper = (n: number): number => n * 2;
export async function createQueueConnector(config: { queues: number }): Promise<Connector> {
  return {
    name: 'queues',
    steps: () => [step('queues', 'Queues').build()],
    async executeStep(_stepId, ctx) {
      for (let i = 0; i < config.queues; i++) ctx.emitEntity(entity('queue', 'q' + i).class('Queue'));
    },
  };
}
`,
  notAConnector: `
export const answer = 42;
export function helper() { return 'help'; }
export default { greeting: 'hello', count: 1 };
`,
  cycle: `
import { step } from 'parallax-edge';
export default {
  name: 'loops',
  steps: () => [step('a', 'A').dependsOn(['b']).build(), step('b', 'B').dependsOn(['a']).build()],
  async executeStep() {},
};
`,
} as const;
