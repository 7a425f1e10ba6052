/**
 * The benchmark's common result shape, targets and table printer. Runtime-
 * neutral (no node:*): runners in other runtimes (D1 inside workerd,
 * IndexedDB in Chromium) report the same {@link ScaleResult} rows and get the
 * same checks and the same table.
 */
import type { SyncStats } from 'parallax-edge';

/** The phases every runner reports, in this order. */
export type PhaseId = 'raw-insert' | 'raw-insert-schema' | 'connector-alone' | 'first-sync' | 'unchanged-resync' | 'churn' | 'failed-step' | 'small-churn-on-stored';

export const PHASE_LABELS: Readonly<Record<PhaseId, string>> = {
  'raw-insert': 'raw insert (baseline)',
  'raw-insert-schema': 'raw insert, store schema',
  'connector-alone': 'connector alone (floor)',
  'first-sync': 'first sync',
  'unchanged-resync': 'unchanged re-sync',
  churn: 'churn sync',
  'failed-step': 'failed step',
  'small-churn-on-stored': 'small churn batch',
};

/** Memory seen while one operation ran. Null where a runtime cannot measure it. */
export interface MemorySample {
  /** Resident set size when the operation started, and its highest sample while it ran. */
  readonly rssStartBytes: number | null;
  readonly rssPeakBytes: number | null;
  /** JS heap in use when it started (after a full GC where possible), and the highest value seen while it ran. */
  readonly heapStartBytes: number | null;
  readonly heapPeakBytes: number | null;
  /** How the peaks were taken, e.g. "gc-profiler+interval 2ms, rss worker 1ms". */
  readonly method: string;
}

export interface Measured<T> {
  readonly value: T;
  readonly ms: number;
  /** CPU time of the whole process (all threads: GC helpers, the 1 ms RSS sampler) while it ran; absent where unknown. */
  readonly cpuMs?: number;
  readonly memory: MemorySample;
}

/** Measures one operation: wall time and memory peaks. */
export type Measure = <T>(fn: () => Promise<T> | T) => Promise<Measured<T>>;

export interface PhaseRow {
  readonly phase: PhaseId;
  /** Human label, e.g. "churn sync (1%)". */
  readonly label: string;
  /** Wall time of the measured operation: the sync end to end (runConnector streamed + commitSync), or the raw insert. Median over repetitions. */
  readonly wallMs: number;
  /** CPU time of the process during the operation (less sensitive than wall time to other load on the machine). */
  readonly cpuMs?: number;
  /** Of `wallMs`: everything outside the store (connector, validation, ids, hashing, units). */
  readonly coreMs?: number;
  /** Of `wallMs`: time inside the store's calls (openSync and the session: staging, prior reads, commit). */
  readonly storeMs?: number;
  /** CPU time inside the store's calls, where the store runs synchronously (better-sqlite3). */
  readonly storeCpuMs?: number;
  /** Of `wallMs`: the `commitSync` call (the rest is the streamed run, staging included). */
  readonly commitMs?: number;
  /** Each repetition's figures, before the median. */
  readonly samples?: readonly { readonly wallMs: number; readonly cpuMs?: number; readonly storeMs?: number }[];
  /** Rows the sync emitted (staged plus recognised in unchanged units), or the rows of the raw insert. */
  readonly rowsInBatch: number;
  /** Rows the store reports written (inserted, updated, deleted). */
  readonly rowsWritten: number;
  /** Rows stored (all connectors) before the operation. */
  readonly storedRowsBefore?: number;
  readonly stats?: SyncStats;
  /** The streamed run's staging figures (`output.staging`). */
  readonly staging?: { readonly chunks: number; readonly rowsStaged: number; readonly rowsMatched: number; readonly peakRowsHeld: number };
  /** Memory during the operation (peaks: the highest over repetitions). */
  readonly memory: MemorySample;
  /** The connector run (streamed: staging included), part of `wallMs`. */
  readonly run?: { readonly ms: number; readonly cpuMs?: number; readonly memory: MemorySample };
  readonly failedSteps?: readonly string[];
  readonly keptSteps?: readonly string[];
}

export interface ScaleResult {
  /** Adapter name, as GraphStore.kind reports it. */
  readonly adapter: string;
  /** Where it ran, e.g. "node v20.20.2", "workerd", "chromium 131". */
  readonly runtime: string;
  /** Connector scale option (about this many entities). */
  readonly n: number;
  readonly entities: number;
  readonly relationships: number;
  readonly churnFraction: number;
  /** Repetitions the medians are over. */
  readonly repeat?: number;
  readonly phases: readonly PhaseRow[];
  /** What the raw baseline is, e.g. "better-sqlite3 prepared INSERT, one transaction, plain tables, WAL". */
  readonly baseline: string;
  /** Older runners: a second baseline into the store's own schema. */
  readonly schemaBaseline?: string;
  readonly notes?: readonly string[];
}

/** One whole CLI process: `parallax-edge sync` of the synthetic connector into a fresh SQLite file. */
export interface CliRun {
  readonly n: number;
  /** Rows in the store afterwards (entities + relationships). */
  readonly rows: number;
  readonly wallMs: number;
  /** The process's peak resident set (VmHWM, read from /proc while it ran). */
  readonly peakRssBytes: number;
  readonly exitCode: number;
  readonly command: string;
}

/** What the D1 Worker (`bench/d1/worker.ts`) is asked to run. */
export interface D1BenchSettings {
  readonly n: number;
  readonly seed: number;
  /** Prepared rows per staged chunk; default the core's (2000). */
  readonly chunkRows?: number;
}

/** A streamed sync inside workerd into a local D1, with every statement metered. */
export interface D1Run {
  readonly n: number;
  readonly phase: 'first-sync' | 'unchanged-resync';
  readonly rows: number;
  readonly rowsWritten: number;
  readonly wallMs: number;
  readonly runMs: number;
  readonly commitMs: number;
  readonly chunkRows: number;
  /** `output.staging.peakRowsHeld`: the most records and prepared rows the run held in JS at once. */
  readonly peakRowsHeld: number;
  readonly chunks: number;
  readonly statements: number;
  readonly batches: number;
  readonly maxParams: number;
  readonly maxSqlBytes: number;
  readonly maxValueBytes: number;
  readonly boundBytes: number;
  readonly stats: SyncStats;
}

export interface Check {
  readonly adapter: string;
  readonly n?: number;
  readonly name: string;
  /** null: could not be evaluated, or reported without a target. */
  readonly pass: boolean | null;
  readonly detail: string;
}

export interface BenchReport {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly host: Readonly<Record<string, string | number>>;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly results: readonly ScaleResult[];
  readonly cli?: readonly CliRun[];
  readonly d1?: readonly D1Run[];
  readonly checks: readonly Check[];
}

/** Targets (issue 11). */
export const TARGETS = {
  /** First sync end to end at most this many times the raw insert of the same rows. */
  firstSyncVsRaw: 2,
  /** IndexedDB's first sync vs raw puts. */
  firstSyncVsRawIndexedDb: 2.5,
  /** The store's part of the first sync vs the raw insert. */
  storeVsRaw: 1.3,
  /** Unchanged re-sync at most this fraction of the first sync, writing zero rows. */
  resyncVsFirst: 0.1,
  /** 1% churn at most this fraction of the first sync. */
  churnVsFirst: 0.3,
  /** CLI: peak RSS at ~1M rows vs ~100k rows, and at most this many bytes. */
  cliRssGrowth: 1.2,
  cliRssMaxBytes: 250 * 1024 * 1024,
  /** CLI: time at ~1M rows vs ~300k rows. */
  cliTimeGrowth: 3.6,
  /** D1's limits per statement. */
  d1MaxParams: 100,
  d1MaxSqlBytes: 100_000,
  d1MaxValueBytes: 2_000_000,
} as const;

export function phase(result: ScaleResult, id: PhaseId): PhaseRow | undefined {
  return result.phases.find((p) => p.phase === id);
}

/** Heap growth during the operation: peak minus start. */
export function heapDelta(memory: MemorySample): number | null {
  return memory.heapPeakBytes === null || memory.heapStartBytes === null ? null : memory.heapPeakBytes - memory.heapStartBytes;
}

const isBaseline = (id: PhaseId): boolean => id === 'raw-insert' || id === 'raw-insert-schema';

/** Wall time relative to the plain-table raw insert (`raw-insert`). */
export function ratioToRaw(result: ScaleResult, row: PhaseRow): number | null {
  const raw = phase(result, 'raw-insert');
  return raw && raw.wallMs > 0 && row.phase !== 'raw-insert' ? row.wallMs / raw.wallMs : null;
}

export function ratioToFirst(result: ScaleResult, row: PhaseRow): number | null {
  const first = phase(result, 'first-sync');
  return first && first.wallMs > 0 && !isBaseline(row.phase) && row.phase !== 'first-sync' ? row.wallMs / first.wallMs : null;
}

/** CPU ratio where both have CPU time, else wall: the judged figure, and the text naming both. */
function judged(a: { wall: number; cpu?: number | undefined }, b: { wall: number; cpu?: number | undefined }): { ratio: number; text: string } {
  const wall = a.wall / b.wall;
  if (a.cpu !== undefined && b.cpu !== undefined && b.cpu > 0) {
    const cpu = a.cpu / b.cpu;
    return { ratio: cpu, text: `${fmtRatio(cpu)} by CPU (${fmtMs(a.cpu)} vs ${fmtMs(b.cpu)}); by wall ${fmtRatio(wall)} (${fmtMs(a.wall)} vs ${fmtMs(b.wall)})` };
  }
  return { ratio: wall, text: `${fmtRatio(wall)} by wall (${fmtMs(a.wall)} vs ${fmtMs(b.wall)})` };
}

/** The targets, per adapter and scale, the CLI's growth and D1's limits. */
export function evaluateChecks(results: readonly ScaleResult[], cli: readonly CliRun[] = [], d1: readonly D1Run[] = []): Check[] {
  const checks: Check[] = [];
  for (const result of results) {
    const base = { adapter: result.adapter, n: result.n };
    const raw = phase(result, 'raw-insert');
    const first = phase(result, 'first-sync');
    const resync = phase(result, 'unchanged-resync');
    const churn = phase(result, 'churn');
    const failed = phase(result, 'failed-step');
    const limit = result.adapter === 'indexeddb' ? TARGETS.firstSyncVsRawIndexedDb : TARGETS.firstSyncVsRaw;
    const name1 = `first sync end to end ≤ ${limit}× raw insert`;
    if (raw && first) {
      const r = judged({ wall: first.wallMs, cpu: first.cpuMs }, { wall: raw.wallMs, cpu: raw.cpuMs });
      checks.push({ ...base, name: name1, pass: r.ratio <= limit, detail: r.text });
      if (first.storeMs !== undefined) {
        const s = judged({ wall: first.storeMs, cpu: first.storeCpuMs }, { wall: raw.wallMs, cpu: first.storeCpuMs === undefined ? undefined : raw.cpuMs });
        checks.push({ ...base, name: `first sync, the store's part ≤ ${TARGETS.storeVsRaw}× raw insert`, pass: s.ratio <= TARGETS.storeVsRaw, detail: s.text });
      }
    } else {
      checks.push({ ...base, name: name1, pass: null, detail: 'phase missing' });
    }
    const name2 = `unchanged re-sync ≤ ${TARGETS.resyncVsFirst}× first sync, 0 rows written`;
    if (first && resync) {
      const r = judged({ wall: resync.wallMs, cpu: resync.cpuMs }, { wall: first.wallMs, cpu: first.cpuMs });
      checks.push({ ...base, name: name2, pass: r.ratio <= TARGETS.resyncVsFirst && resync.rowsWritten === 0, detail: `${r.text}; ${fmtInt(resync.rowsWritten)} rows written` });
    }
    const name3 = `${fmtPct(result.churnFraction)} churn ≤ ${TARGETS.churnVsFirst}× first sync`;
    if (first && churn) {
      const r = judged({ wall: churn.wallMs, cpu: churn.cpuMs }, { wall: first.wallMs, cpu: first.cpuMs });
      checks.push({ ...base, name: name3, pass: r.ratio <= TARGETS.churnVsFirst, detail: `${r.text}; ${fmtInt(churn.rowsWritten)} rows written` });
    }
    const schema = phase(result, 'raw-insert-schema');
    if (schema && raw && first?.storeMs !== undefined) {
      const toRaw = judged({ wall: schema.wallMs, cpu: schema.cpuMs }, { wall: raw.wallMs, cpu: raw.cpuMs });
      const store = judged({ wall: first.storeMs, cpu: first.storeCpuMs }, { wall: schema.wallMs, cpu: first.storeCpuMs === undefined ? undefined : schema.cpuMs });
      checks.push({
        ...base,
        name: "floor: the raw insert into the store's own schema",
        pass: null,
        detail: `${toRaw.text} the plain raw insert, against ${TARGETS.storeVsRaw}× allowed for the store's part; the store's part of the first sync is ${store.text} this floor`,
      });
    }
    const alone = phase(result, 'connector-alone');
    if (alone && raw && first) {
      const toRaw = judged({ wall: alone.wallMs, cpu: alone.cpuMs }, { wall: raw.wallMs, cpu: raw.cpuMs });
      const toFirst = judged({ wall: alone.wallMs, cpu: alone.cpuMs }, { wall: first.wallMs, cpu: first.cpuMs });
      checks.push({
        ...base,
        name: 'floor: the connector alone (no core, no store)',
        pass: null,
        detail:
          `${toRaw.text} the raw insert, so a first sync with no core that wrote as fast as the raw insert would be ${fmtRatio(toRaw.ratio + 1)}; ` +
          `${fmtRatio(toFirst.ratio)} the first sync, which an unchanged re-sync (≤ ${TARGETS.resyncVsFirst}×) runs too`,
      });
    }
    if (failed?.stats) {
      const kept = failed.stats.entitiesKept + failed.stats.relationshipsKept;
      checks.push({
        ...base,
        name: '+P1 failed step keeps its rows',
        pass: kept > 0 && (failed.failedSteps?.length ?? 0) === 1,
        detail: `${fmtInt(kept)} rows kept (${failed.keptSteps?.join(', ') ?? '?'}), ${fmtInt(failed.rowsWritten)} rows written`,
      });
    }
  }
  checks.push(...cliChecks(cli), ...d1Checks(d1));
  return checks;
}

function cliChecks(runs: readonly CliRun[]): Check[] {
  const ok = [...runs].filter((r) => r.exitCode === 0).sort((a, b) => a.rows - b.rows);
  const adapter = 'sqlite CLI';
  if (ok.length < 3) return runs.length === 0 ? [] : [{ adapter, name: 'CLI growth', pass: null, detail: 'needs three successful scales (~100k, ~300k, ~1M rows)' }];
  const [small, mid, large] = [ok[0]!, ok[ok.length - 2]!, ok[ok.length - 1]!];
  const rss = large.peakRssBytes / small.peakRssBytes;
  const time = large.wallMs / mid.wallMs;
  const rows = (r: CliRun): string => `${fmtInt(r.rows)} rows`;
  return [
    {
      adapter,
      name: `peak RSS(${rows(large)}) ≤ ${TARGETS.cliRssGrowth}× RSS(${rows(small)})`,
      pass: rss <= TARGETS.cliRssGrowth,
      detail: `${fmtRatio(rss)} (${fmtBytes(large.peakRssBytes)} vs ${fmtBytes(small.peakRssBytes)})`,
    },
    {
      adapter,
      name: `peak RSS(${rows(large)}) ≤ ${fmtBytes(TARGETS.cliRssMaxBytes)}`,
      pass: large.peakRssBytes <= TARGETS.cliRssMaxBytes,
      detail: `${fmtBytes(large.peakRssBytes)} (${fmtRatio(large.peakRssBytes / TARGETS.cliRssMaxBytes)} the limit)`,
    },
    {
      adapter,
      name: `time(${rows(large)}) ≤ ${TARGETS.cliTimeGrowth}× time(${rows(mid)})`,
      pass: time <= TARGETS.cliTimeGrowth,
      detail: `${fmtRatio(time)} (${fmtMs(large.wallMs)} vs ${fmtMs(mid.wallMs)}, ${fmtRatio(large.rows / mid.rows)} the rows)`,
    },
  ];
}

function d1Checks(runs: readonly D1Run[]): Check[] {
  const checks: Check[] = [];
  for (const r of runs) {
    const base = { adapter: `d1 ${r.phase}`, n: r.n };
    if (r.phase === 'first-sync') {
      checks.push({
        ...base,
        name: `peak rows held in JS ≤ one chunk (${fmtInt(r.chunkRows)} rows)`,
        pass: r.peakRowsHeld <= r.chunkRows,
        detail: `${fmtInt(r.peakRowsHeld)} rows held at most (${fmtRatio(r.peakRowsHeld / r.chunkRows)} a chunk) while ${fmtInt(r.rows)} rows were synced`,
      });
    }
    checks.push(
      { ...base, name: `bound params per statement ≤ ${TARGETS.d1MaxParams}`, pass: r.maxParams <= TARGETS.d1MaxParams, detail: `max ${r.maxParams} (${fmtRatio(r.maxParams / TARGETS.d1MaxParams)} the limit)` },
      { ...base, name: 'SQL per statement ≤ 100 KB', pass: r.maxSqlBytes <= TARGETS.d1MaxSqlBytes, detail: `max ${fmtInt(r.maxSqlBytes)} B (${fmtRatio(r.maxSqlBytes / TARGETS.d1MaxSqlBytes)} the limit)` },
      { ...base, name: 'bound value ≤ 2 MB', pass: r.maxValueBytes <= TARGETS.d1MaxValueBytes, detail: `max ${fmtInt(r.maxValueBytes)} B (${fmtRatio(r.maxValueBytes / TARGETS.d1MaxValueBytes)} the limit)` },
      {
        ...base,
        name: 'statements per 100k rows (reported)',
        pass: null,
        detail: `${(r.rows > 0 ? (r.statements * 100_000) / r.rows : 0).toFixed(1)} (${fmtInt(r.statements)} statements in ${fmtInt(r.batches)} db.batch() calls for ${fmtInt(r.rows)} rows)`,
      },
    );
  }
  return checks;
}

// ---------------------------------------------------------------- formatting

export const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const fmtMs = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`);
export const fmtRatio = (r: number): string => `${r < 0.1 ? r.toFixed(3) : r.toFixed(2)}×`;
export function fmtBytes(bytes: number | null): string {
  if (bytes === null) return '-';
  const mb = bytes / (1024 * 1024);
  return `${Math.abs(mb) >= 100 ? mb.toFixed(0) : mb.toFixed(1)} MB`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[], alignLeft: ReadonlySet<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (alignLeft.has(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export const fmtPct = (f: number): string => `${+(f * 100).toFixed(2)}%`;

/** One block per adapter and scale. */
export function formatScale(result: ScaleResult): string {
  const header = ['phase', 'rows in', 'written', 'wall', 'cpu', 'store', 'store cpu', 'run', 'commit', '×raw', '×raw cpu', '×first', 'rows held', 'peak heap'];
  const raw = phase(result, 'raw-insert');
  const rows = result.phases.map((p) => {
    const toRaw = ratioToRaw(result, p);
    const toRawCpu = raw?.cpuMs !== undefined && p.cpuMs !== undefined && p.phase !== 'raw-insert' ? p.cpuMs / raw.cpuMs : null;
    const toFirst = ratioToFirst(result, p);
    const opt = (v: number | undefined): string => (v === undefined ? '-' : fmtMs(v));
    return [
      p.label,
      fmtInt(p.rowsInBatch),
      fmtInt(p.rowsWritten),
      fmtMs(p.wallMs),
      opt(p.cpuMs),
      opt(p.storeMs),
      opt(p.storeCpuMs),
      opt(p.run?.ms),
      opt(p.commitMs),
      toRaw === null ? '-' : fmtRatio(toRaw),
      toRawCpu === null ? '-' : fmtRatio(toRawCpu),
      toFirst === null ? '-' : fmtRatio(toFirst),
      p.staging ? fmtInt(p.staging.peakRowsHeld) : '-',
      fmtBytes(p.memory.heapPeakBytes),
    ];
  });
  const title =
    `${result.adapter} · n=${fmtInt(result.n)} · ${fmtInt(result.entities)} entities + ${fmtInt(result.relationships)} relationships` +
    ` · ${result.runtime}${result.repeat && result.repeat > 1 ? ` · medians of ${result.repeat}` : ''}`;
  const notes = [`baseline (×raw): ${result.baseline}`, ...(result.notes ?? [])];
  const noteText = notes.map((n) => `  ${n}`).join('\n');
  return `${title}\n${table(header, rows, new Set([0]))}\n${noteText}`;
}

export function formatCli(runs: readonly CliRun[]): string {
  const header = ['n', 'rows', 'wall', 'peak RSS', 'µs/row', 'exit'];
  const rows = runs.map((r) => [fmtInt(r.n), fmtInt(r.rows), fmtMs(r.wallMs), fmtBytes(r.peakRssBytes), r.rows > 0 ? ((r.wallMs * 1000) / r.rows).toFixed(1) : '-', String(r.exitCode)]);
  return `sqlite · whole CLI process · ${runs[0]?.command ?? ''}\n${table(header, rows, new Set())}`;
}

export function formatD1(runs: readonly D1Run[]): string {
  const header = ['n', 'phase', 'rows', 'written', 'wall', 'run', 'commit', 'rows held', 'chunk', 'statements', 'per 100k rows', 'batches', 'max params', 'max SQL', 'max value'];
  const rows = runs.map((r) => [
    fmtInt(r.n),
    r.phase,
    fmtInt(r.rows),
    fmtInt(r.rowsWritten),
    fmtMs(r.wallMs),
    fmtMs(r.runMs),
    fmtMs(r.commitMs),
    fmtInt(r.peakRowsHeld),
    fmtInt(r.chunkRows),
    fmtInt(r.statements),
    r.rows > 0 ? ((r.statements * 100_000) / r.rows).toFixed(1) : '-',
    fmtInt(r.batches),
    String(r.maxParams),
    `${(r.maxSqlBytes / 1000).toFixed(1)} KB`,
    `${(r.maxValueBytes / 1e6).toFixed(2)} MB`,
  ]);
  return `d1 · streamed sync inside workerd (Miniflare, local D1), every statement metered\n${table(header, rows, new Set([1]))}`;
}

export function formatChecks(checks: readonly Check[]): string {
  return checks
    .map((c) => {
      const mark = c.pass === null ? 'info' : c.pass ? 'PASS' : 'FAIL';
      const where = c.n === undefined ? c.adapter : `${c.adapter} n=${fmtInt(c.n)}`;
      return `${mark}  ${where.padEnd(26)} ${c.name}: ${c.detail}`;
    })
    .join('\n');
}

export function formatReport(report: BenchReport): string {
  return [
    ...report.results.map(formatScale),
    ...(report.cli && report.cli.length > 0 ? [formatCli(report.cli)] : []),
    ...(report.d1 && report.d1.length > 0 ? [formatD1(report.d1)] : []),
    'targets',
    formatChecks(report.checks),
  ].join('\n\n');
}
