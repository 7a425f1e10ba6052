/**
 * `npm run bench:query [-- --n 100000 --adapters sqlite,memory,d1 --repeat 5]`:
 * PQL query timings (issue 13) on the synthetic estate: SQLite on a file,
 * the memory store, D1 inside workerd (Miniflare, a local D1), and (with
 * `--adapters ...,indexeddb`) IndexedDB in headless Chromium; the issue's
 * SQLite targets with PASS/FAIL, and the others as ratios to SQLite.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { createMemoryStore } from '../adapters/memory.js';
import { createSqliteStore } from '../adapters/sqlite.js';
import { runIndexedDbQueryBench } from './query-indexeddb/run.js';
import { runQueryBench, type QueryBenchResult } from './query-suite.js';

const { values } = parseArgs({ options: { n: { type: 'string' }, adapters: { type: 'string' }, repeat: { type: 'string' } } });
const n = Number(values.n ?? 100_000);
const repeat = Number(values.repeat ?? 5);
const adapters = (values.adapters ?? 'sqlite,memory,d1').split(',');
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const scratch = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

/** Targets of issue 13 on SQLite at n=100k, in ms. */
const TARGETS: Record<string, number> = {
  'one hop + property filter': 100,
  'negated step (no EDR agent)': 100,
  'three-hop chain': 300,
  'blast radius, depth 4': 1000,
};

async function sqlite(): Promise<QueryBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'parallax-bench-query-'));
  const store = createSqliteStore(join(dir, 'graph.db'));
  try {
    return await runQueryBench(store, n, log, repeat);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function d1(): Promise<QueryBenchResult> {
  const bundle = await build({
    entryPoints: [fileURLToPath(new URL('./query-d1-worker.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'import'],
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const dir = mkdtempSync(join(scratch, 'parallax-bench-query-d1-'));
  const mf = new Miniflare({ modules: true, script: bundle.outputFiles[0]!.text, compatibilityDate: '2026-04-20', d1Databases: { DB: 'bench-query' }, d1Persist: dir });
  try {
    const response = await mf.dispatchFetch('http://bench.local/run', { method: 'POST', body: JSON.stringify({ n, repeat }) });
    const body = (await response.json()) as { result?: QueryBenchResult; logs?: string[]; error?: string };
    if (!body.result) throw new Error(`the D1 bench failed inside workerd: ${body.error}`);
    for (const line of body.logs ?? []) log(line);
    return body.result;
  } finally {
    await mf.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results: QueryBenchResult[] = [];
for (const adapter of adapters) {
  if (adapter === 'sqlite') results.push(await sqlite());
  else if (adapter === 'memory') results.push(await runQueryBench(createMemoryStore(), n, log, repeat));
  else if (adapter === 'd1') results.push(await d1());
  else if (adapter === 'indexeddb') results.push(await runIndexedDbQueryBench(n, repeat, log));
  else throw new Error(`unknown adapter ${adapter}; sqlite, memory, d1 or indexeddb`);
}

const base = results.find((r) => r.store === 'sqlite');
const first = results[0]!;
console.log(`PQL queries, synthetic estate n=${n} (${first.entities} entities, ${first.relationships} relationships), median of ${repeat} runs`);
const header = ['query', ...results.map((r) => `${r.store} ms`), ...results.filter((r) => r !== base && base).map((r) => `${r.store}/sqlite`), 'matches', 'target (sqlite)'];
const rows = first.timings.map((t, i) => {
  const target = TARGETS[t.name];
  const sqliteMs = base?.timings[i]!.medianMs;
  return [
    t.name,
    ...results.map((r) => r.timings[i]!.medianMs.toFixed(1)),
    ...results.filter((r) => r !== base && base).map((r) => `${(r.timings[i]!.medianMs / sqliteMs!).toFixed(2)}x`),
    String(t.count),
    target === undefined || sqliteMs === undefined ? '-' : `< ${target} ms ${sqliteMs < target ? 'PASS' : 'FAIL'}`,
  ];
});
const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
for (const row of [header, ...rows]) console.log(row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd());
console.log(JSON.stringify({ n, repeat, results }));
