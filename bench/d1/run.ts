/**
 * Runs the D1 benchmark inside workerd: bundles bench/d1/worker.ts with
 * esbuild, starts it in Miniflare with a fresh local D1 per scale, and reads
 * the {@link D1Run} rows the Worker computes (the whole sync happens inside
 * workerd; Node only starts it and prints).
 *
 * Run alone: `npx tsx bench/d1/run.ts [--scales 330000] [--quick] [--chunk-rows N] [--json out.json]`;
 * `npm run bench -- --adapter d1` calls {@link runD1Scale}.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { evaluateChecks, formatReport, type BenchReport, type D1BenchSettings, type D1Run } from '../report.js';

/** Default scale: about 1M rows (the synthetic connector emits about 3.07 rows per n). */
export const D1_DEFAULT_SCALES: readonly number[] = [326_000];
export const D1_QUICK_SCALES: readonly number[] = [2_000];

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/** The Worker, bundled as one ES module with the package resolved to its sources. */
async function bundleWorker(): Promise<string> {
  const result = await build({
    entryPoints: [here('./worker.ts')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'import'],
    target: 'es2022',
    write: false,
    tsconfig: here('../../tsconfig.json'),
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

let bundled: Promise<string> | undefined;

/** One scale in a fresh Miniflare (fresh isolate, empty local D1): the first sync and the unchanged re-sync. */
export async function runD1Scale(settings: D1BenchSettings, log: (line: string) => void = () => undefined): Promise<D1Run[]> {
  bundled ??= bundleWorker();
  // The local D1 is a SQLite file: on a RAM disk when there is one, so that disk flushes do not add noise.
  const dir = mkdtempSync(join(process.env.PARALLAX_BENCH_D1_DIR ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir()), 'parallax-bench-d1-'));
  const mf = new Miniflare({
    modules: true,
    script: await bundled,
    compatibilityDate: '2026-04-20',
    d1Databases: { DB: 'parallax-bench' },
    d1Persist: dir,
  });
  log(`local D1 in ${dir}`);
  try {
    const response = await mf.dispatchFetch('http://bench.local/run', { method: 'POST', body: JSON.stringify(settings) });
    if (!response.body) throw new Error(`the bench Worker answered ${response.status} without a body`);
    const decoder = new TextDecoder();
    let buffered = '';
    let result: D1Run[] | undefined;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (!line.trim()) continue;
        const message = JSON.parse(line) as { log?: string; result?: D1Run[]; error?: string };
        if (message.log !== undefined) log(message.log);
        if (message.error !== undefined) throw new Error(`D1 bench failed inside workerd: ${message.error}`);
        if (message.result !== undefined) result = message.result;
      }
    }
    if (!result) throw new Error('the bench Worker ended without a result');
    return result;
  } finally {
    await mf.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

function argument(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const startedAt = new Date().toISOString();
  const quick = process.argv.includes('--quick');
  const scales = argument('--scales')?.split(',').map(Number) ?? [...(quick ? D1_QUICK_SCALES : D1_DEFAULT_SCALES)];
  const chunkRows = argument('--chunk-rows');
  const d1: D1Run[] = [];
  for (const n of scales) {
    console.error(`== d1 n=${n} (workerd)`);
    d1.push(...(await runD1Scale({ n, seed: 1, ...(chunkRows ? { chunkRows: Number(chunkRows) } : {}) }, (line) => console.error(`[d1 n=${n}] ${line}`))));
  }
  const report: BenchReport = {
    startedAt,
    finishedAt: new Date().toISOString(),
    host: { node: process.version, platform: `${process.platform} ${process.arch}`, cpus: cpus().length },
    settings: { adapters: ['d1'], scales, isolation: 'fresh Miniflare (workerd isolate, local D1) per scale' },
    results: [],
    d1,
    checks: evaluateChecks([], [], d1),
  };
  console.log(formatReport(report));
  const json = argument('--json');
  if (json) writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
}
