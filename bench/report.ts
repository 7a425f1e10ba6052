/**
 * The benchmark's common result shape, targets and table printer. Runtime-
 * neutral (no node:*): runners in other runtimes (D1 inside workerd,
 * IndexedDB in Chromium) report the same {@link ScaleResult} rows and get the
 * same checks and the same table.
 */
import type { SyncStats } from 'parallax-edge';

/** The phases every runner reports, in this order. */
export type PhaseId = 'raw-insert' | 'raw-insert-schema' | 'first-sync' | 'unchanged-resync' | 'churn' | 'failed-step' | 'small-churn-on-stored';

export const PHASE_LABELS: Readonly<Record<PhaseId, string>> = {
  'raw-insert': 'raw insert (baseline)',
  'raw-insert-schema': 'raw insert, store schema',
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
  /** Wall time of the measured operation: commitSync (core + store), or the raw insert. */
  readonly wallMs: number;
  /** CPU time of the process during the operation (less sensitive than wall time to other load on the machine). */
  readonly cpuMs?: number;
  /**
   * Of `wallMs`: the core's part, outside the store: the output's input digest
   * and, unless the store recognised the output unchanged, prepareBatch
   * (validation, ids, content hashes).
   */
  readonly coreMs?: number;
  /** Of `wallMs`: the store's own calls (`commitIfUnchanged`, `commit`). */
  readonly storeMs?: number;
  /** Rows (entities + relationships) handed to the commit. */
  readonly rowsInBatch: number;
  /** Rows the store reports written (inserted, updated, deleted). */
  readonly rowsWritten: number;
  /** Rows stored (all connectors) before the operation. */
  readonly storedRowsBefore?: number;
  readonly stats?: SyncStats;
  /** Memory during the commit only (the connector run is measured apart, in `run`). */
  readonly memory: MemorySample;
  /** The connector run that produced the batch: not part of `wallMs`. */
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
  readonly phases: readonly PhaseRow[];
  /** What the raw baseline is, e.g. "better-sqlite3 prepared INSERT, one transaction, plain tables, WAL". */
  readonly baseline: string;
  /** The second baseline (phase `raw-insert-schema`): raw inserts into the store's own schema, where the runner has one. */
  readonly schemaBaseline?: string;
  readonly notes?: readonly string[];
}

export interface Check {
  readonly adapter: string;
  readonly n?: number;
  readonly name: string;
  /** null: could not be evaluated (a phase or a measurement is missing). */
  readonly pass: boolean | null;
  readonly detail: string;
}

export interface BenchReport {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly host: Readonly<Record<string, string | number>>;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly results: readonly ScaleResult[];
  readonly checks: readonly Check[];
}

/** Targets (issue 3). */
export const TARGETS = {
  /** First sync wall time at most this many times the raw insert of the same rows. */
  firstSyncVsRaw: 2,
  /** Unchanged re-sync wall time at most this fraction of the first sync, writing zero rows. */
  resyncVsFirst: 0.3,
  /** Heap growth during a small commit may grow by this factor (plus slack) from the smallest to the largest store. */
  heapGrowthFactor: 1.5,
  heapSlackBytes: 4 * 1024 * 1024,
} as const;

export function phase(result: ScaleResult, id: PhaseId): PhaseRow | undefined {
  return result.phases.find((p) => p.phase === id);
}

/** Heap growth during the commit: peak minus start. */
export function heapDelta(memory: MemorySample): number | null {
  return memory.heapPeakBytes === null || memory.heapStartBytes === null ? null : memory.heapPeakBytes - memory.heapStartBytes;
}

const isBaseline = (id: PhaseId): boolean => id === 'raw-insert' || id === 'raw-insert-schema';

/** Wall time relative to the plain-table raw insert (`raw-insert`). */
export function ratioToRaw(result: ScaleResult, row: PhaseRow): number | null {
  const raw = phase(result, 'raw-insert');
  return raw && raw.wallMs > 0 && row.phase !== 'raw-insert' ? row.wallMs / raw.wallMs : null;
}

/** Wall time relative to the raw insert into the store's own schema (`raw-insert-schema`), where measured. */
export function ratioToSchemaRaw(result: ScaleResult, row: PhaseRow): number | null {
  const raw = phase(result, 'raw-insert-schema');
  return raw && raw.wallMs > 0 && row.phase !== 'raw-insert-schema' ? row.wallMs / raw.wallMs : null;
}

export function ratioToFirst(result: ScaleResult, row: PhaseRow): number | null {
  const first = phase(result, 'first-sync');
  return first && first.wallMs > 0 && !isBaseline(row.phase) && row.phase !== 'first-sync' ? row.wallMs / first.wallMs : null;
}

/**
 * The core's part (input digest, and prepareBatch unless the store took the
 * unchanged fast path) beside the store's own ratio, which shows its diff.
 */
function storeRatio(a: PhaseRow, b: PhaseRow): string {
  return a.storeMs !== undefined && b.storeMs !== undefined && b.storeMs > 0
    ? `; core ${fmtMs(a.coreMs ?? 0)} vs ${fmtMs(b.coreMs ?? 0)}, store alone ${fmtRatio(a.storeMs / b.storeMs)}`
    : '';
}

function cpuRatio(a: PhaseRow, b: PhaseRow): string {
  return a.cpuMs !== undefined && b.cpuMs !== undefined && b.cpuMs > 0 ? `; by CPU time ${fmtRatio(a.cpuMs / b.cpuMs)}` : '';
}

/** The targets, per adapter and scale, plus the heap check across scales. */
export function evaluateChecks(results: readonly ScaleResult[]): Check[] {
  const checks: Check[] = [];
  for (const result of results) {
    const base = { adapter: result.adapter, n: result.n };
    const plain = phase(result, 'raw-insert');
    const schema = phase(result, 'raw-insert-schema');
    // The target is measured against the raw insert into the store's own
    // schema where the runner measured one; the plain-table ratio is printed beside it.
    const raw = schema ?? plain;
    const first = phase(result, 'first-sync');
    const resync = phase(result, 'unchanged-resync');
    const failed = phase(result, 'failed-step');
    const name1 = `first sync ≤ ${TARGETS.firstSyncVsRaw}× ${schema ? "raw insert into the store's schema" : 'raw insert'}`;
    if (raw && first) {
      const ratio = first.wallMs / raw.wallMs;
      const store = first.storeMs === undefined ? '' : `; store commit alone ${fmtRatio(first.storeMs / raw.wallMs)}`;
      const vsPlain =
        schema && plain && plain.wallMs > 0
          ? `; vs raw insert into plain tables (no keys/indexes, ${fmtMs(plain.wallMs)}): ${fmtRatio(first.wallMs / plain.wallMs)}`
          : '';
      checks.push({
        ...base,
        name: name1,
        pass: ratio <= TARGETS.firstSyncVsRaw,
        detail: `${fmtRatio(ratio)} (${fmtMs(first.wallMs)} vs ${fmtMs(raw.wallMs)}${store}${cpuRatio(first, raw)})${vsPlain}`,
      });
    } else {
      checks.push({ ...base, name: name1, pass: null, detail: 'phase missing' });
    }
    const name2 = `unchanged re-sync ≤ ${TARGETS.resyncVsFirst}× first sync, 0 rows written`;
    if (first && resync) {
      const ratio = resync.wallMs / first.wallMs;
      checks.push({
        ...base,
        name: name2,
        pass: ratio <= TARGETS.resyncVsFirst && resync.rowsWritten === 0,
        detail: `${fmtRatio(ratio)} (${fmtMs(resync.wallMs)} vs ${fmtMs(first.wallMs)}${cpuRatio(resync, first)}${storeRatio(resync, first)}), ${fmtInt(resync.rowsWritten)} rows written`,
      });
    } else {
      checks.push({ ...base, name: name2, pass: null, detail: 'phase missing' });
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
  // Heap during a small commit should not grow with the stored graph.
  const byAdapter = new Map<string, ScaleResult[]>();
  for (const r of results) byAdapter.set(r.adapter, [...(byAdapter.get(r.adapter) ?? []), r]);
  for (const [adapter, list] of byAdapter) {
    const rows = list
      .map((r) => ({ r, p: phase(r, 'small-churn-on-stored') }))
      .filter((x): x is { r: ScaleResult; p: PhaseRow } => x.p !== undefined && heapDelta(x.p.memory) !== null)
      .sort((a, b) => (a.p.storedRowsBefore ?? 0) - (b.p.storedRowsBefore ?? 0));
    const name = 'commit heap independent of stored graph size';
    if (rows.length < 2) {
      checks.push({ adapter, name, pass: null, detail: 'needs the small-batch phase at two scales' });
      continue;
    }
    const small = rows[0]!;
    const large = rows[rows.length - 1]!;
    const d0 = heapDelta(small.p.memory)!;
    const d1 = heapDelta(large.p.memory)!;
    const pass = d1 <= Math.max(d0, 0) * TARGETS.heapGrowthFactor + TARGETS.heapSlackBytes;
    checks.push({
      adapter,
      name,
      pass,
      detail:
        `same ${fmtInt(small.p.rowsInBatch)}-row churn batch: heap Δ ${fmtBytes(d0)} with ${fmtInt(small.p.storedRowsBefore ?? 0)} rows stored, ` +
        `${fmtBytes(d1)} with ${fmtInt(large.p.storedRowsBefore ?? 0)} stored (allowed ${TARGETS.heapGrowthFactor}× + ${fmtBytes(TARGETS.heapSlackBytes)})`,
    });
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

/** One block per adapter and scale. */
export function formatScale(result: ScaleResult): string {
  const hasSchema = phase(result, 'raw-insert-schema') !== undefined;
  const header = [
    'phase', 'rows in', 'written', 'wall', 'cpu', 'core', 'store', '×raw',
    ...(hasSchema ? ['×schema'] : []),
    '×first', 'peak RSS', 'peak heap', 'heap Δ', 'run',
  ];
  const rows = result.phases.map((p) => {
    const toRaw = ratioToRaw(result, p);
    const toSchema = ratioToSchemaRaw(result, p);
    const toFirst = ratioToFirst(result, p);
    return [
      p.label,
      fmtInt(p.rowsInBatch),
      fmtInt(p.rowsWritten),
      fmtMs(p.wallMs),
      p.cpuMs === undefined ? '-' : fmtMs(p.cpuMs),
      p.coreMs === undefined ? '-' : fmtMs(p.coreMs),
      p.storeMs === undefined ? '-' : fmtMs(p.storeMs),
      toRaw === null ? '-' : fmtRatio(toRaw),
      ...(hasSchema ? [toSchema === null ? '-' : fmtRatio(toSchema)] : []),
      toFirst === null ? '-' : fmtRatio(toFirst),
      fmtBytes(p.memory.rssPeakBytes),
      fmtBytes(p.memory.heapPeakBytes),
      fmtBytes(heapDelta(p.memory)),
      p.run ? fmtMs(p.run.ms) : '-',
    ];
  });
  const title =
    `${result.adapter} · n=${fmtInt(result.n)} · ${fmtInt(result.entities)} entities + ${fmtInt(result.relationships)} relationships` +
    ` · ${result.runtime}`;
  const notes = [
    `baseline (×raw): ${result.baseline}`,
    ...(result.schemaBaseline ? [`baseline (×schema): ${result.schemaBaseline}`] : []),
    ...(result.notes ?? []),
  ];
  const wall = result.phases.reduce((sum, p) => sum + p.wallMs, 0);
  const cpu = result.phases.reduce((sum, p) => sum + (p.cpuMs ?? Number.NaN), 0);
  if (cpu > 0 && wall / cpu > 1.3) {
    notes.push(`wall time is ${fmtRatio(wall / cpu)} the CPU time over these phases: waiting (other load on the machine, or I/O); compare the cpu column too`);
  }
  const noteText = notes.map((n) => `  ${n}`).join('\n');
  return `${title}\n${table(header, rows, new Set([0]))}\n${noteText}`;
}

export function formatChecks(checks: readonly Check[]): string {
  return checks
    .map((c) => {
      const mark = c.pass === null ? 'n/a ' : c.pass ? 'PASS' : 'FAIL';
      const where = c.n === undefined ? c.adapter : `${c.adapter} n=${fmtInt(c.n)}`;
      return `${mark}  ${where.padEnd(18)} ${c.name}: ${c.detail}`;
    })
    .join('\n');
}

/** How cost grows between scales, per adapter and phase. */
export function formatGrowth(results: readonly ScaleResult[]): string {
  const lines: string[] = [];
  const adapters = [...new Set(results.map((r) => r.adapter))];
  for (const adapter of adapters) {
    const list = results.filter((r) => r.adapter === adapter).sort((a, b) => a.n - b.n);
    for (let i = 1; i < list.length; i++) {
      const a = list[i - 1]!;
      const b = list[i]!;
      const rowsFactor = (b.entities + b.relationships) / (a.entities + a.relationships);
      const parts = (['raw-insert', 'raw-insert-schema', 'first-sync', 'unchanged-resync', 'churn', 'failed-step'] as const).flatMap((id) => {
        const pa = phase(a, id);
        const pb = phase(b, id);
        return pa && pb && pa.wallMs > 0 ? [`${PHASE_LABELS[id]} ${fmtRatio(pb.wallMs / pa.wallMs)}`] : [];
      });
      lines.push(`${adapter} n=${fmtInt(a.n)} → ${fmtInt(b.n)} (${fmtRatio(rowsFactor)} rows): ${parts.join(', ')}`);
    }
  }
  return lines.join('\n');
}

export function formatReport(report: BenchReport): string {
  const blocks = report.results.map(formatScale);
  const growth = formatGrowth(report.results);
  return [
    ...blocks,
    ...(growth ? ['growth of wall time between scales', growth] : []),
    'targets',
    formatChecks(report.checks),
  ].join('\n\n');
}
