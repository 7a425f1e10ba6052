/**
 * The whole CLI process: `node bin/parallax-edge.js sync
 * connectors/synthetic/index.ts --config <{"n": n}> --store <fresh file>`,
 * as a user runs it. Peak RSS is the process's own high-water mark (VmHWM in
 * /proc/<pid>/status, which the kernel keeps; polled every 25 ms, the last
 * read before exit is the peak up to then), wall time is spawn to exit.
 * The CLI runs from dist/ (`npm run build`); it is rebuilt when a source is
 * newer.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { CliRun } from './report.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BUILT = join(ROOT, 'dist', 'cli', 'main.js');
const SOURCES = ['src', 'adapters', 'cli', 'connectors'];

/** Default scales: about 100k, 300k and 1M rows (the synthetic connector emits about 3.07 rows per n). */
export const CLI_DEFAULT_SCALES: readonly number[] = [33_000, 98_000, 326_000];
export const CLI_QUICK_SCALES: readonly number[] = [1_000, 3_000, 10_000];

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds dist/ when it is missing or older than a source file. */
export function ensureBuilt(log: (line: string) => void): void {
  const built = existsSync(BUILT) ? statSync(BUILT).mtimeMs : 0;
  const newest = Math.max(...SOURCES.map((d) => newestSource(join(ROOT, d))));
  if (built >= newest) return;
  log('building dist/ for the CLI (npm run build)');
  const result = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { encoding: 'utf8' });
  // tsc emits despite type errors elsewhere in the package; what counts is a fresh CLI.
  const fresh = existsSync(BUILT) && statSync(BUILT).mtimeMs >= newest;
  if (result.status !== 0) {
    const errors = (result.stdout.match(/error TS/g) ?? []).length;
    if (!fresh) throw new Error(`npm run build failed (exit ${result.status}): ${result.stdout.slice(0, 2000)}`);
    log(`build: tsc reported ${errors} type errors (${[...new Set(result.stdout.match(/^[^(\s]+(?=\()/gm) ?? [])].join(', ')}); dist/cli was emitted`);
  }
}

function vmHwmBytes(pid: number): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** One sync of the synthetic connector at scale `n` into a fresh SQLite file, in its own process. */
export async function runCliScale(n: number, log: (line: string) => void): Promise<CliRun> {
  const dir = mkdtempSync(join(tmpdir(), 'parallax-bench-cli-'));
  try {
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ n }));
    const store = join(dir, 'graph.db');
    const args = [join(ROOT, 'bin', 'parallax-edge.js'), 'sync', join(ROOT, 'connectors', 'synthetic', 'index.ts'), '--config', config, '--store', store, '--account', 'bench'];
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    let peak = 0;
    const poll = setInterval(() => {
      peak = Math.max(peak, vmHwmBytes(child.pid!));
    }, 25);
    const exitCode = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code, signal) => resolve(signal ? 128 : (code ?? 1)));
    });
    const wallMs = performance.now() - t0;
    clearInterval(poll);
    if (exitCode !== 0) log(`n=${n}: exit ${exitCode}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    let rows = 0;
    if (existsSync(store)) {
      const db = new Database(store, { readonly: true });
      const count = (table: string): number => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
      rows = count('entities') + count('relationships');
      db.close();
    }
    log(`n=${n}: ${rows} rows in ${(wallMs / 1000).toFixed(1)} s, peak RSS ${(peak / 2 ** 20).toFixed(0)} MB`);
    return {
      n,
      rows,
      wallMs,
      peakRssBytes: peak,
      exitCode,
      command: `node bin/parallax-edge.js sync connectors/synthetic/index.ts --config {"n":N} --store <fresh file> (CLI from ${relative(ROOT, BUILT)})`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
