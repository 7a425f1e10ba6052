/**
 * Runs the IndexedDB benchmark in headless Chromium (first sync, unchanged
 * re-sync and churn on the streaming path, against raw puts in the same
 * page: see page.ts): bundles
 * bench/indexeddb/page.ts with esbuild, serves it on 127.0.0.1, drives a page
 * per scale with playwright-core and the Chromium test/support/chromium.ts
 * finds ($CHROMIUM_PATH, /usr/bin/chromium, else the npm one), and returns
 * the page's {@link ScaleResult} rows in the common report format.
 *
 * Run alone: `npx tsx bench/indexeddb/run.ts [--scales 10000,50000] [--json out.json]`;
 * `npm run bench -- --adapter indexeddb` calls {@link runIndexedDbScale}.
 */
import { createServer, type Server } from 'node:http';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { evaluateChecks, formatReport, type BenchReport, type ScaleResult } from '../report.js';
import type { PhaseSettings } from '../phases.js';
import { CHROMIUM_ARGS as BASE_CHROMIUM_ARGS, describeChromium, resolveChromium } from '../../test/support/chromium.js';

export interface IndexedDbBenchOptions {
  /** Chromium binary; default the one {@link resolveChromium} finds. */
  readonly executablePath?: string;
}

export const CHROMIUM_ARGS = [
  ...BASE_CHROMIUM_ARGS,
  // performance.memory with byte precision, and gc() for clean heap starts.
  '--enable-precise-memory-info',
  '--js-flags=--expose-gc',
];

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/** The settings of a run alone (bench/run.ts passes its own): the shared phases' defaults. */
const DEFAULT_SETTINGS: Omit<PhaseSettings, 'n'> = { seed: 1, churnFraction: 0.01, failStep: 'hosts' };

/** The scales `npm run bench` uses for IndexedDB unless told otherwise. */
export const INDEXEDDB_DEFAULT_SCALES: readonly number[] = [10_000, 50_000];

/** The page script, bundled for the browser with the package resolved to its sources. */
async function bundlePage(): Promise<string> {
  const result = await build({
    entryPoints: [here('./page.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    tsconfig: here('../../tsconfig.json'),
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

function serve(script: string): Promise<Server> {
  const html = '<!doctype html><meta charset="utf-8"><title>parallax-edge IndexedDB bench</title><script type="module" src="/bench.js"></script>';
  const server = createServer((req, res) => {
    if (req.url === '/bench.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
      res.end(script);
    } else if (req.url === '/favicon.ico') {
      res.writeHead(204).end();
    } else if (req.url === '/' || req.url === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html);
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/**
 * CPU time (user + system, ms) of every process of this Chromium launched
 * by this process: the browser (IndexedDB's backend runs there), the
 * renderer (connector, core, structured clones) and the utility processes.
 * Read from /proc, so other jobs on the machine do not count; null where
 * /proc is missing.
 */
export function chromiumCpuMs(executablePath: string): number | null {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  const ours = new Set<number>();
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the parenthesised command: state, ppid, ..., utime (14th), stime (15th).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(pid), Number(fields[1]));
      ticks.set(Number(pid), Number(fields[11]) + Number(fields[12]));
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] === executablePath) ours.add(Number(pid));
    } catch {
      /* exited while we read */
    }
  }
  const descends = (pid: number): boolean => {
    for (let at = parent.get(pid); at !== undefined && at > 1; at = parent.get(at)) if (at === process.pid) return true;
    return false;
  };
  let total = 0;
  for (const pid of ours) if (descends(pid)) total += ticks.get(pid)!;
  return (total * 1000) / CLOCK_TICKS;
}

/**
 * Runs the IndexedDB phases (page.ts) for one scale in a fresh
 * headless Chromium (clean heap), and returns the page's result.
 */
export async function runIndexedDbScale(
  settings: PhaseSettings,
  log: (line: string) => void = () => undefined,
  options: IndexedDbBenchOptions = {},
): Promise<ScaleResult> {
  let executablePath = options.executablePath;
  if (executablePath === undefined) {
    const found = await resolveChromium();
    log(describeChromium(found));
    executablePath = found.executablePath;
  }
  const server = await serve(await bundlePage());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  // A profile on disk, as a user's browser has: a fresh context of a launched browser is incognito, whose
  // IndexedDB lives in memory under a quota of about 6% of RAM (1.4 GB here), which the 50k puts into
  // the 5 indexes exceeded (QuotaExceededError) in one run of two.
  const profile = mkdtempSync(join(tmpdir(), 'parallax-idb-bench-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: CHROMIUM_ARGS });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (message) => log(message.text()));
    page.on('pageerror', (error) => log(`page error: ${error.message}`));
    // Each phase's CPU time, read from /proc around it (page.ts measure()).
    await page.exposeFunction('parallaxBenchCpuMs', () => chromiumCpuMs(executablePath));
    await page.goto(url);
    await page.waitForFunction(() => 'parallaxBench' in globalThis);
    const result = await page.evaluate(
      (s) => (globalThis as unknown as { parallaxBench: { runScale: (s: PhaseSettings) => Promise<ScaleResult> } }).parallaxBench.runScale(s),
      settings,
    );
    // The page's user agent is reduced (156.0.0.0); the browser knows its full version.
    const { product } = await (await context.newCDPSession(page)).send('Browser.getVersion');
    return { ...result, runtime: `chromium ${product.replace(/^\D*\//, '')} (headless, on-disk profile, ${executablePath})` };
  } finally {
    await context.close();
    await new Promise((resolve) => server.close(resolve));
    rmSync(profile, { recursive: true, force: true });
  }
}

function argument(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const startedAt = new Date().toISOString();
  const scales = argument('--scales')?.split(',').map(Number) ?? INDEXEDDB_DEFAULT_SCALES;
  const results: ScaleResult[] = [];
  for (const n of scales) {
    console.error(`== indexeddb n=${n} (Chromium)`);
    results.push(await runIndexedDbScale({ ...DEFAULT_SETTINGS, n }, (line) => console.error(line)));
  }
  const report: BenchReport = {
    startedAt,
    finishedAt: new Date().toISOString(),
    host: { node: process.version, platform: `${process.platform} ${process.arch}`, cpus: cpus().length },
    settings: { adapters: ['indexeddb'], scales, ...DEFAULT_SETTINGS, isolation: 'fresh Chromium per scale' },
    results,
    checks: evaluateChecks(results),
  };
  console.log(formatReport(report));
  const json = argument('--json');
  if (json) writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
}
