/**
 * `npm run bench [-- options]`: sync benchmark of the Node stores.
 *
 * For each adapter and scale, in a fresh child process (clean heap, clean
 * RSS, `--expose-gc`), it runs the phases of `phases.ts` with the synthetic
 * connector, prints one table per adapter and scale, the growth between
 * scales and the targets with PASS/FAIL, and writes the whole report as JSON
 * to bench/results/<adapter>-<timestamp>.json.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SYNTHETIC_STEP_IDS } from '../connectors/synthetic/index.js';
import { NODE_ADAPTERS, runNodeScale, type NodeAdapter } from './node.js';
import { runD1Scale } from './d1/run.js';
import { INDEXEDDB_DEFAULT_SCALES, runIndexedDbScale } from './indexeddb/run.js';
import { DEFAULT_PHASE_SETTINGS, type PhaseSettings } from './phases.js';
import { evaluateChecks, formatReport, type BenchReport, type ScaleResult } from './report.js';

const HERE = dirname(fileURLToPath(import.meta.url));

const HELP = `Usage: npm run bench -- [options]

Benchmarks a sync (first sync, unchanged re-sync, churn, a failed step, a small
batch into a big store) against a raw better-sqlite3 insert of the same rows.

Options:
  --adapter LIST    adapters, comma-separated: ${[...NODE_ADAPTERS, 'd1', 'indexeddb'].join(', ')} (default: sqlite,memory,d1,indexeddb)
                    (d1 runs inside workerd: bench/d1/worker.ts in Miniflare with a local D1;
                    indexeddb runs in headless Chromium ($CHROMIUM_PATH, /usr/bin/chromium, else the npm one):
                    bench/indexeddb/page.ts, at ${INDEXEDDB_DEFAULT_SCALES.join(',')} unless --scales or --quick)
  --scales LIST     connector scales n (≈ entities; ≈ 2n relationships) (default: 10000,100000)
  --quick           tiny smoke run: --scales 500,2000 --probe-n 200
  --seed N          connector seed (default ${DEFAULT_PHASE_SETTINGS.seed})
  --churn F         churn fraction of the churn phase (default ${DEFAULT_PHASE_SETTINGS.churnFraction})
  --fail-step ID    step failing in the failed-step phase (default ${DEFAULT_PHASE_SETTINGS.failStep})
  --probe-n N       scale of the small batch committed into the big store; 0 skips it (default ${DEFAULT_PHASE_SETTINGS.probeN})
  --out DIR         where JSON results go (default bench/results)
  --in-process      run every scale in this process (no child processes; less clean memory figures)
  --fail-on-target  exit with 1 when a target FAILs
  -h, --help        this help
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
      quick: { type: 'boolean', default: false },
      seed: { type: 'string' },
      churn: { type: 'string' },
      'fail-step': { type: 'string' },
      'probe-n': { type: 'string' },
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

  const adapters = list(values.adapter ?? values.adapters ?? 'sqlite,memory,d1,indexeddb', '--adapter').map((a) => {
    if (a !== 'd1' && a !== 'indexeddb' && !(NODE_ADAPTERS as readonly string[]).includes(a)) {
      fail(`unknown adapter "${a}"; this runner knows ${[...NODE_ADAPTERS, 'd1', 'indexeddb'].join(', ')}`);
    }
    return a as NodeAdapter | 'd1' | 'indexeddb';
  });
  const scales = list(values.scales ?? (values.quick ? '500,2000' : '10000,100000'), '--scales').map((s) => positiveInt(s, '--scales'));
  const churnFraction = values.churn === undefined ? DEFAULT_PHASE_SETTINGS.churnFraction : Number(values.churn);
  if (!(churnFraction > 0 && churnFraction <= 1)) fail(`--churn must be a fraction in (0, 1], got "${values.churn}"`);
  const failStep = values['fail-step'] ?? DEFAULT_PHASE_SETTINGS.failStep;
  if (!(SYNTHETIC_STEP_IDS as readonly string[]).includes(failStep)) fail(`--fail-step must be one of ${SYNTHETIC_STEP_IDS.join(', ')}`);
  const base: Omit<PhaseSettings, 'n'> = {
    seed: values.seed === undefined ? DEFAULT_PHASE_SETTINGS.seed : positiveInt(values.seed, '--seed', 0),
    churnFraction,
    failStep,
    probeN: values['probe-n'] !== undefined ? positiveInt(values['probe-n'], '--probe-n', 0) : values.quick ? 200 : DEFAULT_PHASE_SETTINGS.probeN,
  };

  const startedAt = new Date();
  const results: ScaleResult[] = [];
  for (const adapter of adapters) {
    const adapterScales = adapter === 'indexeddb' && values.scales === undefined && !values.quick ? INDEXEDDB_DEFAULT_SCALES : scales;
    for (const n of adapterScales) {
      const settings: PhaseSettings = { ...base, n };
      log(`== ${adapter} n=${n}${values['in-process'] ? ' (in process)' : ''}`);
      results.push(
        adapter === 'd1'
          ? await runD1Scale(settings, (line) => log(`[d1 n=${n}] ${line}`))
          : adapter === 'indexeddb'
          ? await runIndexedDbScale(settings, (line) => log(line))
          : values['in-process']
          ? await runNodeScale(adapter, settings, (line) => log(`[${adapter} n=${n}] ${line}`))
          : await runChild({ adapter, settings }),
      );
    }
  }
  const checks = evaluateChecks(results);
  const finishedAt = new Date();
  const host = {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpu: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
  };
  const settings = { adapters, scales, ...base, isolation: values['in-process'] ? 'in-process' : 'child process per adapter and scale' };
  const report: BenchReport = { startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(), host, settings, results, checks };

  process.stdout.write(`\n${formatReport(report)}\n\n`);

  const outDir = values.out ?? join(HERE, 'results');
  mkdirSync(outDir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  for (const adapter of adapters) {
    const file = join(outDir, `${adapter}-${stamp}.json`);
    const own: BenchReport = {
      ...report,
      results: results.filter((r) => r.adapter === adapter),
      checks: checks.filter((c) => c.adapter === adapter),
    };
    writeFileSync(file, `${JSON.stringify(own, roundFloats, 2)}\n`);
    process.stdout.write(`wrote ${relative(process.cwd(), file) || file}\n`);
  }
  if (values['fail-on-target'] && checks.some((c) => c.pass === false)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
