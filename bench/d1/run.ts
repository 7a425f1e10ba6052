/**
 * Runs the D1 benchmark inside workerd: bundles bench/d1/worker.ts with
 * esbuild, starts it in Miniflare with a fresh in-memory local D1 per scale,
 * and reads the {@link ScaleResult} the Worker computes (the whole run happens
 * inside workerd; Node only starts it and prints).
 *
 * Run alone: `npx tsx bench/d1/run.ts [--scales 10000,100000] [--repeat 3] [--json out.json]`;
 * `npm run bench -- --adapter d1` calls {@link runD1Scale}.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { DEFAULT_PHASE_SETTINGS, type PhaseSettings } from '../phases.js';
import { evaluateChecks, formatReport, type BenchReport, type ScaleResult } from '../report.js';

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

export interface D1BenchOptions {
  /**
   * Runs of the scale, each in a fresh Miniflare; the reported times are the
   * per-phase medians (a shared machine is noisy). Default
   * $PARALLAX_BENCH_D1_REPEAT or 1.
   */
  readonly repeat?: number;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** One scale in a fresh Miniflare per run (fresh isolate, empty D1); medians over `repeat` runs. */
export async function runD1Scale(
  settings: PhaseSettings,
  log: (line: string) => void = () => undefined,
  options: D1BenchOptions = {},
): Promise<ScaleResult> {
  const repeat = options.repeat ?? Math.max(1, Number(process.env.PARALLAX_BENCH_D1_REPEAT ?? 1) || 1);
  const runs: ScaleResult[] = [];
  for (let i = 0; i < repeat; i++) runs.push(await runOnce(settings, repeat > 1 ? (line) => log(`run ${i + 1}/${repeat}: ${line}`) : log));
  if (runs.length === 1) return runs[0]!;
  const first = runs[0]!;
  const pick = (phase: string, key: 'wallMs' | 'coreMs' | 'storeMs'): number | undefined => {
    const values = runs.map((r) => r.phases.find((p) => p.phase === phase)?.[key]).filter((v): v is number => v !== undefined);
    return values.length > 0 ? median(values) : undefined;
  };
  return {
    ...first,
    phases: first.phases.map((p) => ({
      ...p,
      wallMs: pick(p.phase, 'wallMs')!,
      ...(p.coreMs !== undefined ? { coreMs: pick(p.phase, 'coreMs')! } : {}),
      ...(p.storeMs !== undefined ? { storeMs: pick(p.phase, 'storeMs')! } : {}),
    })),
    notes: [
      `times are medians of ${repeat} runs, each in a fresh Miniflare; wall per run: ` +
        first.phases.map((p) => `${p.phase} ${runs.map((r) => Math.round(r.phases.find((q) => q.phase === p.phase)?.wallMs ?? 0)).join('/')} ms`).join(', '),
      ...(first.notes ?? []),
    ],
  };
}

async function runOnce(settings: PhaseSettings, log: (line: string) => void): Promise<ScaleResult> {
  bundled ??= bundleWorker();
  // The local D1 is a SQLite file: on a RAM disk when there is one, so that disk flushes do not add noise.
  const dir = mkdtempSync(join(process.env.PARALLAX_BENCH_D1_DIR ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir()), 'parallax-bench-d1-'));
  const mf = new Miniflare({
    modules: true,
    script: await bundled,
    compatibilityDate: '2026-04-20',
    d1Databases: { DB: 'parallax-bench', DB_RAW: 'parallax-bench-raw' },
    d1Persist: dir,
  });
  log(`local D1 in ${dir}`);
  try {
    const response = await mf.dispatchFetch('http://bench.local/run', { method: 'POST', body: JSON.stringify(settings) });
    if (!response.body) throw new Error(`the bench Worker answered ${response.status} without a body`);
    const decoder = new TextDecoder();
    let buffered = '';
    let result: ScaleResult | undefined;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (!line.trim()) continue;
        const message = JSON.parse(line) as { log?: string; result?: ScaleResult; error?: string };
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
  const scales = (argument('--scales') ?? '10000,100000').split(',').map(Number);
  const probeN = argument('--probe-n');
  const repeat = Number(argument('--repeat') ?? 1);
  const results: ScaleResult[] = [];
  for (const n of scales) {
    console.error(`== d1 n=${n} (workerd)`);
    results.push(await runD1Scale({ ...DEFAULT_PHASE_SETTINGS, ...(probeN ? { probeN: Number(probeN) } : {}), n }, (line) => console.error(`[d1 n=${n}] ${line}`), { repeat }));
  }
  const report: BenchReport = {
    startedAt,
    finishedAt: new Date().toISOString(),
    host: { node: process.version, platform: `${process.platform} ${process.arch}`, cpus: cpus().length },
    settings: { adapters: ['d1'], scales, ...DEFAULT_PHASE_SETTINGS, isolation: 'fresh Miniflare (workerd isolate, local D1) per scale' },
    results,
    checks: evaluateChecks(results),
  };
  console.log(formatReport(report));
  const json = argument('--json');
  if (json) writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
}
