/**
 * `npm run bench [-- options]`: the sync benchmark, side by side in one run.
 *
 * - sqlite (and memory): the phases of `phases.ts` in process, each adapter
 *   and scale in a fresh child process (`--expose-gc`): raw insert of the
 *   first sync's rows into plain tables vs the first sync end to end, the
 *   store's part alone, the unchanged re-sync and 1% churn; medians of 3.
 * - cli: the whole `parallax-edge sync` process at about 100k, 300k and 1M
 *   rows: peak RSS and wall time (`cli.ts`).
 * - d1: a streamed sync of about 1M rows inside workerd with every D1
 *   statement metered (`d1/`).
 * - indexeddb: the phases in headless Chromium (`indexeddb/`).
 *
 * Prints the tables and the targets with PASS/FAIL, and writes the report as
 * JSON to bench/results/bench-<timestamp>.json.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SYNTHETIC_STEP_IDS } from '../connectors/synthetic/index.js';
import { CLI_DEFAULT_SCALES, CLI_QUICK_SCALES, ensureBuilt, runCliScale } from './cli.js';
import { NODE_ADAPTERS, runNodeScale, type NodeAdapter } from './node.js';
import { D1_DEFAULT_SCALES, D1_QUICK_SCALES, runD1Scale } from './d1/run.js';
import { INDEXEDDB_DEFAULT_SCALES, runIndexedDbScale } from './indexeddb/run.js';
import { DEFAULT_PHASE_SETTINGS, type PhaseSettings } from './phases.js';
import { evaluateChecks, formatReport, type BenchReport, type CliRun, type D1Run, type ScaleResult } from './report.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ALL = [...NODE_ADAPTERS, 'cli', 'd1', 'workflow', 'indexeddb', 'query'] as const;
type Section = (typeof ALL)[number];
const DEFAULT_SECTIONS = 'sqlite,cli,d1,workflow,indexeddb,query';
const QUERY_DEFAULT_N = 100_000;
/** The Workflow run: about 1.02M rows, pages of 5,000 slots, V8's heap capped at a Worker's 128 MB. */
const WORKFLOW_DEFAULT_N = 333_334;
const WORKFLOW_PAGE_SIZE = 5_000;
const WORKFLOW_HEAP_MB = 128;
const DEFAULT_SCALES = '30000';

const HELP = `Usage: npm run bench -- [options]

Benchmarks syncs of the synthetic connector (connectors/synthetic; about 3.07
rows per n) against raw inserts of the same rows, the whole CLI process, and D1.

Options:
  --adapter LIST     sections, comma-separated: ${ALL.join(', ')} (default ${DEFAULT_SECTIONS})
  --scales LIST      scales n of the in-process phases (sqlite, memory) (default ${DEFAULT_SCALES}: ~92k rows)
  --cli-scales LIST  scales n of the whole-CLI runs (default ${CLI_DEFAULT_SCALES.join(',')}: ~100k, ~300k, ~1M rows)
  --d1-scales LIST   scales n of the D1 run inside workerd (default ${D1_DEFAULT_SCALES.join(',')}: ~1M rows)
  --idb-scales LIST  scales n of IndexedDB in Chromium (default ${INDEXEDDB_DEFAULT_SCALES.join(',')})
  --workflow-n N     n of the sync as one Cloudflare Workflow instance inside workerd (bench/workflow/run.ts: pages of
                     ${WORKFLOW_PAGE_SIZE} slots, V8 heap capped at ${WORKFLOW_HEAP_MB} MB) (default ${WORKFLOW_DEFAULT_N}: ~1M rows)
  --query-n N        n of the PQL query timings (bench/query.ts: SQLite, memory, D1) (default ${QUERY_DEFAULT_N})
  --repeat N         repetitions of the in-process phases, each on a fresh store; medians (default ${DEFAULT_PHASE_SETTINGS.repeat})
  --quick            small smoke run: --scales 2000 --cli-scales ${CLI_QUICK_SCALES.join(',')} --d1-scales ${D1_QUICK_SCALES.join(',')} --idb-scales 2000 --workflow-n 2000
  --seed N           connector seed (default ${DEFAULT_PHASE_SETTINGS.seed})
  --churn F          churn fraction of the churn phase (default ${DEFAULT_PHASE_SETTINGS.churnFraction})
  --fail-step ID     step failing in the failed-step phase (default ${DEFAULT_PHASE_SETTINGS.failStep})
  --chunk-rows N     D1: prepared rows per staged chunk (default the core's, 2000)
  --out DIR          where the JSON report goes (default bench/results)
  --in-process       run the in-process phases in this process (no child processes)
  --fail-on-target   exit with 1 when a target FAILs
  -h, --help         this help
`;

interface ChildSpec {
  readonly adapter: NodeAdapter;
  readonly settings: PhaseSettings;
}

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

function list(text: string, what: string): string[] {
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) fail(`${what} is empty`);
  return items;
}

function positiveInt(text: string, what: string, min = 1): number {
  const value = Number(text.replaceAll('_', ''));
  if (!Number.isSafeInteger(value) || value < min) fail(`${what} must be an integer of at least ${min}, got "${text}"`);
  return value;
}

/** The PQL query timings (issue 13): bench/query.ts in a child node; resolves to the table it prints. */
async function runQueryTimings(n: number): Promise<string> {
  const args = ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL('./query.ts', import.meta.url)), '--n', String(n)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (out += text));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (exitCode, signal) => resolve(signal ? null : exitCode));
  });
  if (code !== 0) throw new Error(`the query timings failed (exit ${code ?? 'by signal'})`);
  // Its last line is the JSON of every timing; the table is what a reader wants.
  return out.trimEnd().split('\n').slice(0, -1).join('\n');
}

/** The Workflow run (bench/workflow/run.ts) in a child: its summary, as lines for the report. */
async function runWorkflow(n: number): Promise<string> {
  const args = ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL('./workflow/run.ts', import.meta.url))];
  args.push('--n', String(n), '--page-size', String(WORKFLOW_PAGE_SIZE), '--heap-mb', String(WORKFLOW_HEAP_MB));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (out += text));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (exitCode, signal) => resolve(signal ? null : exitCode));
  });
  if (code !== 0) throw new Error(`the Workflow run failed (exit ${code ?? 'by signal'})`);
  const r = JSON.parse(out.slice(out.indexOf('{'))) as {
    rows: number; wallMs: number; run: string; peakRowsHeld: number; workflowSteps: number; batches: number; statementsPer100kRows: number;
    pageBatchMs: { p50: number; p99: number; max: number }; commitMs: number; commitBatchCount: number;
    slowestCommitBatch: { ms: number; does: string }; swapBatchMs: number[];
  };
  const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
  return [
    `Workflow (one SyncWorkflow instance inside workerd, V8 heap capped at ${WORKFLOW_HEAP_MB} MB, pages of ${WORKFLOW_PAGE_SIZE} slots)`,
    `  ${r.rows.toLocaleString('en')} rows, run ${r.run}, wall ${s(r.wallMs)}, ${r.workflowSteps} step.dos, ${r.batches.toLocaleString('en')} D1 batches, ${r.statementsPer100kRows} statements per 100k rows`,
    `  peak rows held in JS ${r.peakRowsHeld.toLocaleString('en')}; staging batches p50 ${r.pageBatchMs.p50} ms, p99 ${r.pageBatchMs.p99} ms, max ${r.pageBatchMs.max} ms`,
    `  commit ${s(r.commitMs)} in ${r.commitBatchCount} batches; slowest ${s(r.slowestCommitBatch.ms)} (${r.slowestCommitBatch.does}); the swap ${r.swapBatchMs.map(s).join(', ') || 'none (one batch)'}`,
  ].join('\n');
}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** Runs one adapter and scale in a fresh node with --expose-gc; resolves to its result. */
async function runChild(spec: ChildSpec): Promise<ScaleResult> {
  const dir = mkdtempSync(join(tmpdir(), 'parallax-bench-result-'));
  const resultFile = join(dir, 'result.json');
  try {
    const tsx = import.meta.resolve('tsx');
    const args = ['--expose-gc', '--import', tsx, fileURLToPath(import.meta.url), '--child', JSON.stringify(spec), '--result', resultFile];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
      child.on('error', reject);
      child.on('exit', (exitCode, signal) => resolve(signal ? null : exitCode));
    });
    if (code !== 0) throw new Error(`benchmark of ${spec.adapter} n=${spec.settings.n} failed (exit ${code ?? 'by signal'})`);
    return JSON.parse(readFileSync(resultFile, 'utf8')) as ScaleResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function child(specText: string, resultFile: string): Promise<void> {
  const spec = JSON.parse(specText) as ChildSpec;
  const prefix = `[${spec.adapter} n=${spec.settings.n}]`;
  const result = await runNodeScale(spec.adapter, spec.settings, (line) => log(`${prefix} ${line}`));
  writeFileSync(resultFile, JSON.stringify(result));
}

/** Milliseconds to the microsecond are plenty in JSON. */
const roundFloats = (_key: string, value: unknown): unknown =>
  typeof value === 'number' && !Number.isInteger(value) ? Math.round(value * 1000) / 1000 : value;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      adapter: { type: 'string' },
      adapters: { type: 'string' },
      scales: { type: 'string' },
      'cli-scales': { type: 'string' },
      'd1-scales': { type: 'string' },
      'idb-scales': { type: 'string' },
      'query-n': { type: 'string' },
      'workflow-n': { type: 'string' },
      repeat: { type: 'string' },
      quick: { type: 'boolean', default: false },
      seed: { type: 'string' },
      churn: { type: 'string' },
      'fail-step': { type: 'string' },
      'chunk-rows': { type: 'string' },
      out: { type: 'string' },
      'in-process': { type: 'boolean', default: false },
      'fail-on-target': { type: 'boolean', default: false },
      child: { type: 'string' },
      result: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (values.child !== undefined) {
    if (values.result === undefined) fail('--child needs --result');
    await child(values.child, values.result);
    return;
  }

  const sections = list(values.adapter ?? values.adapters ?? DEFAULT_SECTIONS, '--adapter').map((a) => {
    if (!(ALL as readonly string[]).includes(a)) fail(`unknown adapter "${a}"; this runner knows ${ALL.join(', ')}`);
    return a as Section;
  });
  const quick = values.quick;
  const ints = (text: string | undefined, fallback: string, what: string): number[] => list(text ?? fallback, what).map((s) => positiveInt(s, what));
  const scales = ints(values.scales, quick ? '2000' : DEFAULT_SCALES, '--scales');
  const cliScales = ints(values['cli-scales'], (quick ? CLI_QUICK_SCALES : CLI_DEFAULT_SCALES).join(','), '--cli-scales');
  const d1Scales = ints(values['d1-scales'], (quick ? D1_QUICK_SCALES : D1_DEFAULT_SCALES).join(','), '--d1-scales');
  const queryN = positiveInt(values['query-n'] ?? (quick ? '2000' : String(QUERY_DEFAULT_N)), '--query-n');
  let queryTable = '';
  let workflowSummary = '';
  const workflowN = positiveInt(values['workflow-n'] ?? (quick ? '2000' : String(WORKFLOW_DEFAULT_N)), '--workflow-n');
  const idbScales = ints(values['idb-scales'], quick ? '2000' : INDEXEDDB_DEFAULT_SCALES.join(','), '--idb-scales');
  const churnFraction = values.churn === undefined ? DEFAULT_PHASE_SETTINGS.churnFraction : Number(values.churn);
  if (!(churnFraction > 0 && churnFraction <= 1)) fail(`--churn must be a fraction in (0, 1], got "${values.churn}"`);
  const failStep = values['fail-step'] ?? DEFAULT_PHASE_SETTINGS.failStep;
  if (!(SYNTHETIC_STEP_IDS as readonly string[]).includes(failStep)) fail(`--fail-step must be one of ${SYNTHETIC_STEP_IDS.join(', ')}`);
  const seed = values.seed === undefined ? DEFAULT_PHASE_SETTINGS.seed : positiveInt(values.seed, '--seed', 0);
  const base: Omit<PhaseSettings, 'n'> = {
    seed,
    churnFraction,
    failStep,
    repeat: values.repeat === undefined ? DEFAULT_PHASE_SETTINGS.repeat! : positiveInt(values.repeat, '--repeat'),
  };
  const chunkRows = values['chunk-rows'] === undefined ? undefined : positiveInt(values['chunk-rows'], '--chunk-rows');

  const startedAt = new Date();
  const results: ScaleResult[] = [];
  const cli: CliRun[] = [];
  const d1: D1Run[] = [];
  const failures: string[] = [];
  // A section that fails is reported and the others still run.
  const attempt = async (what: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failures.push(`${what}: ${message}`);
      log(`!! ${what} failed: ${message}`);
    }
  };
  for (const section of sections) {
    if (section === 'cli') {
      await attempt('cli build', async () => ensureBuilt(log));
      for (const n of cliScales) {
        log(`== cli n=${n}`);
        await attempt(`cli n=${n}`, async () => void cli.push(await runCliScale(n, (line) => log(`[cli] ${line}`))));
      }
    } else if (section === 'd1') {
      for (const n of d1Scales) {
        log(`== d1 n=${n} (workerd)`);
        await attempt(`d1 n=${n}`, async () => void d1.push(...(await runD1Scale({ n, seed, ...(chunkRows === undefined ? {} : { chunkRows }) }, (line) => log(`[d1 n=${n}] ${line}`)))));
      }
    } else if (section === 'workflow') {
      log(`== workflow n=${workflowN} (workerd)`);
      await attempt(`workflow n=${workflowN}`, async () => void (workflowSummary = await runWorkflow(workflowN)));
    } else if (section === 'query') {
      log(`== query n=${queryN}`);
      await attempt(`query n=${queryN}`, async () => void (queryTable = await runQueryTimings(queryN)));
    } else if (section === 'indexeddb') {
      for (const n of idbScales) {
        log(`== indexeddb n=${n}`);
        await attempt(`indexeddb n=${n}`, async () => void results.push(await runIndexedDbScale({ ...base, n }, (line) => log(line))));
      }
    } else {
      for (const n of scales) {
        const settings: PhaseSettings = { ...base, n };
        log(`== ${section} n=${n}${values['in-process'] ? ' (in process)' : ''}`);
        await attempt(`${section} n=${n}`, async () =>
          void results.push(
            values['in-process'] ? await runNodeScale(section, settings, (line) => log(`[${section} n=${n}] ${line}`)) : await runChild({ adapter: section, settings }),
          ),
        );
      }
    }
  }
  const checks = evaluateChecks(results, cli, d1);
  const finishedAt = new Date();
  const host = {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpu: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
  };
  const settings = {
    sections,
    scales,
    cliScales,
    d1Scales,
    idbScales,
    ...base,
    ...(chunkRows === undefined ? {} : { chunkRows }),
    isolation: values['in-process'] ? 'in-process' : 'child process per adapter and scale',
    ...(failures.length > 0 ? { failures } : {}),
  };
  const report: BenchReport = { startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(), host, settings, results, cli, d1, checks };

  process.stdout.write(`\n${formatReport(report)}\n${workflowSummary ? `\n${workflowSummary}\n` : ''}${queryTable ? `\n${queryTable}\n` : ''}${failures.map((f) => `\nFAILED SECTION  ${f}`).join('')}\n\n`);

  const outDir = values.out ?? join(HERE, 'results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `bench-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, roundFloats, 2)}\n`);
  process.stdout.write(`wrote ${relative(process.cwd(), file) || file}\n`);
  if (failures.length > 0 || (values['fail-on-target'] && checks.some((c) => c.pass === false))) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
