/**
 * `npm run bench:workflow`: a synthetic sync of about 3n rows as a
 * Cloudflare Workflow inside workerd (Miniflare, local D1 on a RAM disk when
 * there is one): wall time from `create` to `complete`, the time of every D1
 * batch, statements per 100k rows, the commit's promote batch, and the peak
 * rows any page held in JS (from the instance's output).
 *
 * With `--heap-mb 128`, workerd runs with V8's heap capped at that size
 * (`--max-old-space-size`, through `workerd-heap-cap.sh`), as a Worker's
 * 128 MB isolate would be: the run fails if the sync's JS heap outgrows it.
 *
 * `npx tsx bench/workflow/run.ts [--n 333334] [--page-size 1000] [--heap-mb 128] [--json out.json]`
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const argument = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
};

const n = Number(argument('--n') ?? 333_334);
const pageSize = Number(argument('--page-size') ?? 0);
const heapMb = Number(argument('--heap-mb') ?? 0);

/** The Worker tables (0100 and up) as single statements; the graph schema comes from migrateD1. */
function workerSql(): string[] {
  const dir = here('../../workers/migrations/');
  return readdirSync(dir)
    .filter((f) => Number(f.slice(0, 4)) >= 100)
    .sort()
    .flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter((line) => !line.startsWith('--'))
        .join('\n')
        .split(/;\s*\n/)
        .map((s) => s.trim().replace(/;$/, ''))
        .filter(Boolean),
    );
}

interface Report {
  timings: { step: string; statements: number; ms: number; firstSql: string }[];
  steps: { name: string; ms: number }[];
  counts: { entities: number; relationships: number };
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
const quantile = (values: readonly number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
};

const bundle = await build({
  entryPoints: [here('./worker.ts')],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  mainFields: ['module', 'main'],
  conditions: ['workerd', 'worker', 'import'],
  target: 'es2022',
  write: false,
  external: ['cloudflare:workers'],
  define: { BENCH_N: String(n), BENCH_PAGE_SIZE: String(pageSize) },
  tsconfig: here('../../tsconfig.json'),
  logLevel: 'silent',
});
const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'parallax-bench-workflow-'));
if (heapMb > 0) {
  // Read by Miniflare when it spawns workerd.
  process.env.MINIFLARE_WORKERD_PATH = here('./workerd-heap-cap.sh');
  process.env.PARALLAX_HEAP_MB = String(heapMb);
}
const mf = new Miniflare({
  modules: true,
  script: bundle.outputFiles[0]!.text,
  compatibilityDate: '2026-04-20',
  d1Databases: { DB: 'parallax-bench' },
  d1Persist: dir,
  workflows: { SYNC_WORKFLOW: { name: 'parallax-sync', className: 'SyncWorkflow' } },
  workflowsPersist: dir,
});
try {
  const started = performance.now();
  const { id } = (await (await mf.dispatchFetch('http://bench.local/start', { method: 'POST', body: JSON.stringify({ workerSql: workerSql() }) })).json()) as { id: string };
  let status: { status: string; output?: { run: { status: string; stats: Record<string, number>; rowsWritten: number }; peakRowsHeld: number }; error?: unknown };
  for (;;) {
    status = (await (await mf.dispatchFetch(`http://bench.local/status?id=${id}`)).json()) as typeof status;
    if (!['queued', 'running', 'waiting'].includes(status.status)) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const wallMs = performance.now() - started;
  if (status.status !== 'complete') throw new Error(`the instance ended ${status.status}: ${JSON.stringify(status.error)}`);
  const report = (await (await mf.dispatchFetch('http://bench.local/report')).json()) as Report;
  const rows = report.counts.entities + report.counts.relationships;
  const commit = report.timings.filter((t) => t.step === 'commit');
  const promote = commit.reduce((a, b) => (b.ms > a.ms ? b : a), { step: '', statements: 0, ms: 0, firstSql: '' });
  const byLabel = (label: string) => commit.filter((t) => t.firstSql === label).map((t) => t.ms);
  const pages = report.timings.filter((t) => t.step !== 'commit' && t.step !== 'begin');
  const statements = sum(report.timings.map((t) => t.statements));
  const result = {
    n,
    heapMb: heapMb > 0 ? heapMb : 'unlimited',
    rows,
    wallMs: Math.round(wallMs),
    run: status.output!.run.status,
    stats: status.output!.run.stats,
    rowsWritten: status.output!.run.rowsWritten,
    peakRowsHeld: status.output!.peakRowsHeld,
    workflowSteps: report.steps.length,
    batches: report.timings.length,
    statements,
    statementsPer100kRows: Math.round((statements / rows) * 100_000),
    pageBatchMs: { count: pages.length, p50: Math.round(quantile(pages.map((t) => t.ms), 0.5)), p99: Math.round(quantile(pages.map((t) => t.ms), 0.99)), max: Math.round(Math.max(...pages.map((t) => t.ms))) },
    commitMs: Math.round(sum(commit.map((t) => t.ms))),
    commitBatchCount: commit.length,
    // The commit's slowest batch (D1 gives one batch 30 s), and the one that makes the sync visible.
    slowestCommitBatch: { ms: Math.round(promote.ms), statements: promote.statements, does: promote.firstSql },
    swapBatchMs: byLabel('swap').map(Math.round),
    buildBatchMs: { count: byLabel('build').length, max: Math.round(Math.max(0, ...byLabel('build'))) },
    indexBatchMs: byLabel('index').map(Math.round),
    otherCommitBatches: commit.filter((t) => !['swap', 'build', 'index'].includes(t.firstSql)).map((t) => ({ ms: Math.round(t.ms), does: t.firstSql })),
    slowestSteps: [...report.steps].sort((a, b) => b.ms - a.ms).slice(0, 5).map((s) => ({ name: s.name, ms: Math.round(s.ms) })),
  };
  console.log(JSON.stringify(result, null, 2));
  const json = argument('--json');
  if (json) writeFileSync(json, `${JSON.stringify({ ...result, batchTimings: report.timings }, null, 2)}\n`);
} finally {
  await mf.dispose();
  rmSync(dir, { recursive: true, force: true });
}
