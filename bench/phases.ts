/**
 * The benchmark phases against one kind of GraphStore, runtime-neutral: a
 * runner (Node here, IndexedDB in Chromium) supplies fresh stores, a
 * {@link Measure} that knows its runtime, and a raw-insert baseline with its
 * own driver, and gets back the common {@link ScaleResult} that `report.ts`
 * checks and prints.
 *
 * Every phase is a sync as users run it, end to end: `runConnector(connector,
 * { store })` (streamed: rows are staged while the steps run) then
 * `commitSync(store, output)`. Phases, synthetic connector at scale `n`:
 * 1. raw insert   the first sync's prepared rows inserted raw (the baseline), and
 *                 where the runner has it, the same rows into the store's own schema
 * 2. connector    generation 0 with no core and no store: the workload's own cost, a floor
 * 3. first sync   generation 0 into an empty store: everything created
 * 4. unchanged    generation 0 again: everything unchanged, nothing written (+P2)
 * 5. churn        generation 1: about `churnFraction` of the entities differ
 * 6. failed step  generation 1 again with `failStep` failing halfway (+P1 keeps rows)
 *
 * The whole sequence runs `repeat` times, each on a fresh store; times are
 * the medians. The store's part of a phase is the time spent inside the
 * store's own calls (see {@link StoreClock}).
 */
import { commitSync, discardSync, runConnector, type GraphStore, type StreamedSyncOutput } from 'parallax-edge';
import type { PreparedEntity, PreparedRelationship, StagedChunk, SyncSession } from 'parallax-edge/adapter-kit';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { createSyntheticConnector, type SyntheticOptions } from '../connectors/synthetic/index.js';
import { runConnectorAlone } from './connector-alone.js';
import { PHASE_LABELS, type Measure, type PhaseId, type PhaseRow, type ScaleResult } from './report.js';

export interface PhaseSettings {
  readonly n: number;
  readonly seed: number;
  /** Per-generation churn of the churn phase; default 0.01. */
  readonly churnFraction: number;
  /** Step that fails in the failed-step phase; default 'hosts'. */
  readonly failStep: string;
  /** Runs of the whole sequence, each on a fresh store; times are medians. Default 3. */
  readonly repeat?: number;
}

export const DEFAULT_PHASE_SETTINGS: Omit<PhaseSettings, 'n'> = {
  seed: 1,
  churnFraction: 0.01,
  failStep: 'hosts',
  repeat: 3,
};

/** The first sync's rows as the core prepared them (ids, canonical JSON, hashes), for raw baselines. */
export interface RawRows {
  readonly accountId: string;
  readonly connectorId: string;
  readonly syncId: string;
  readonly entities: readonly PreparedEntity[];
  readonly relationships: readonly PreparedRelationship[];
}

/**
 * Time spent inside the store. A session call is timed for its synchronous
 * part (better-sqlite3 runs a statement inside the call); work the store
 * does after an await is caught by the runtime's driver hook calling
 * {@link time} (Node: better-sqlite3 transactions). Nested timings count once.
 */
export class StoreClock {
  ms = 0;
  cpuMs = 0;
  #depth = 0;

  time<T>(fn: () => T): T {
    if (this.#depth > 0) return fn();
    this.#depth++;
    const t0 = performance.now();
    const c0 = cpuNow();
    try {
      return fn();
    } finally {
      this.#depth--;
      this.ms += performance.now() - t0;
      this.cpuMs += cpuNow() - c0;
    }
  }

  /** For stores whose calls are really asynchronous (D1): call to resolution. */
  async timeAsync<T>(fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.ms += performance.now() - t0;
    }
  }
}

/** Process CPU time in ms where the runtime has it (Node), else 0. */
function cpuNow(): number {
  const usage = (globalThis as { process?: { cpuUsage?: () => { user: number; system: number } } }).process?.cpuUsage?.();
  return usage ? (usage.user + usage.system) / 1000 : 0;
}

/** The clock the Node runner's better-sqlite3 hook reports to. */
export const storeClock = new StoreClock();

export interface PhaseRunner {
  /** A fresh, empty store for each repetition. */
  readonly openStore: () => Promise<GraphStore> | GraphStore;
  readonly measure: Measure;
  /** Inserts the rows raw, returns how many; omitted when the runtime has no baseline. */
  readonly rawInsert?: (rows: RawRows) => Promise<number> | number;
  /** Empties the baseline's tables before each raw insert (not timed). */
  readonly rawReset?: () => Promise<void> | void;
  /** The same rows into the store's own schema (keys and indexes), where the runtime has one: the `raw-insert-schema` row. */
  readonly rawSchema?: { readonly insert: (rows: RawRows) => Promise<number> | number; readonly reset: () => Promise<void> | void };
  readonly baseline: string;
  readonly runtime: string;
  /** `sync`: the store runs its statements inside the call (better-sqlite3); `async`: time calls to resolution. */
  readonly storeTiming?: 'sync' | 'async';
  /** Between phases, e.g. a full GC. */
  readonly settle?: () => void;
  readonly log?: (line: string) => void;
}

const ACCOUNT = 'bench';
const SYNC_PHASES = ['first-sync', 'unchanged-resync', 'churn', 'failed-step'] as const;

/** The store with the session's calls timed on `clock`. */
function timedStore(store: GraphStore, clock: StoreClock, timing: 'sync' | 'async'): GraphStore {
  const time = <T>(fn: () => Promise<T>): Promise<T> => (timing === 'sync' ? clock.time(fn) : clock.timeAsync(fn));
  const session = (inner: SyncSession): SyncSession => ({
    get header() {
      return inner.header;
    },
    get token() {
      return inner.token;
    },
    get unitRecords() {
      return inner.unitRecords;
    },
    storedUnits: (stepId, kind) => time(() => inner.storedUnits(stepId, kind)),
    stage: (chunk) => time(() => inner.stage(chunk)),
    discardStep: (stepId, fromPage) => time(() => inner.discardStep(stepId, fromPage)),
    priorEntityIds: (query) => time(() => inner.priorEntityIds(query)),
    priorEntities: (query) => time(() => inner.priorEntities(query)),
    priorEntity: (steps, type, key) => time(() => inner.priorEntity(steps, type, key)),
    commit: (close) => time(() => inner.commit(close)),
    abort: () => time(() => inner.abort()),
  });
  return new Proxy(store, {
    get(target, key) {
      if (key === 'openSync') return async (header: Parameters<GraphStore['openSync']>[0]) => session(await time(() => target.openSync(header)));
      const value = Reflect.get(target, key) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * The first sync's rows exactly as the core stages them: the run streamed
 * into a memory store that records each chunk, then discarded.
 */
export async function recordFirstSyncRows(settings: PhaseSettings): Promise<RawRows> {
  const entities: PreparedEntity[] = [];
  const relationships: PreparedRelationship[] = [];
  const memory = createMemoryStore();
  const recording: GraphStore = new Proxy(memory, {
    get(target, key) {
      if (key !== 'openSync') {
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return async (header: Parameters<GraphStore['openSync']>[0]) => {
        const inner = await target.openSync(header);
        return new Proxy(inner, {
          get(s, k) {
            if (k === 'stage') {
              return (chunk: StagedChunk) => {
                entities.push(...chunk.entities);
                relationships.push(...chunk.relationships);
                return s.stage(chunk);
              };
            }
            const value = Reflect.get(s, k) as unknown;
            return typeof value === 'function' ? value.bind(s) : value;
          },
        });
      };
    },
  });
  const output = await runConnector(createSyntheticConnector(syntheticOptions(settings, 0)), { accountId: ACCOUNT, syncId: 'raw-rows', store: recording });
  await discardSync(output);
  await memory.close();
  return { accountId: ACCOUNT, connectorId: output.connectorId, syncId: 'raw-rows', entities, relationships };
}

function syntheticOptions(settings: PhaseSettings, generation: number, extra: Partial<SyntheticOptions> = {}): SyntheticOptions {
  return { seed: settings.seed, n: settings.n, churn: { fraction: settings.churnFraction, generation }, ...extra };
}

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Median of each timing over the repetitions; memory peaks are the highest seen. */
function combine(rows: readonly PhaseRow[]): PhaseRow {
  const first = rows[0]!;
  const med = (pick: (r: PhaseRow) => number | undefined): number | undefined => {
    const values = rows.map(pick).filter((v): v is number => v !== undefined);
    return values.length > 0 ? median(values) : undefined;
  };
  const peak = (pick: (r: PhaseRow) => number | null): number | null => {
    const values = rows.map(pick).filter((v): v is number => v !== null);
    return values.length > 0 ? Math.max(...values) : null;
  };
  const opt = (key: string, value: number | undefined) => (value === undefined ? {} : { [key]: value });
  return {
    ...first,
    wallMs: med((r) => r.wallMs)!,
    ...opt('cpuMs', med((r) => r.cpuMs)),
    ...opt('coreMs', med((r) => r.coreMs)),
    ...opt('storeMs', med((r) => r.storeMs)),
    ...opt('storeCpuMs', med((r) => r.storeCpuMs)),
    ...opt('commitMs', med((r) => r.commitMs)),
    samples: rows.map((r) => ({ wallMs: r.wallMs, ...(r.cpuMs === undefined ? {} : { cpuMs: r.cpuMs }), ...(r.storeMs === undefined ? {} : { storeMs: r.storeMs }) })),
    memory: { ...first.memory, rssPeakBytes: peak((r) => r.memory.rssPeakBytes), heapPeakBytes: peak((r) => r.memory.heapPeakBytes) },
    ...(first.run ? { run: { ...first.run, ms: med((r) => r.run?.ms)! } } : {}),
  };
}

export async function runPhases(settings: PhaseSettings, runner: PhaseRunner): Promise<ScaleResult> {
  const { measure } = runner;
  const log = runner.log ?? (() => {});
  const repeat = Math.max(1, settings.repeat ?? DEFAULT_PHASE_SETTINGS.repeat ?? 1);
  const timing = runner.storeTiming ?? 'sync';
  const pct = `${+(settings.churnFraction * 100).toFixed(2)}%`;
  const labels: Record<(typeof SYNC_PHASES)[number], string> = {
    'first-sync': PHASE_LABELS['first-sync'],
    'unchanged-resync': PHASE_LABELS['unchanged-resync'],
    churn: `${PHASE_LABELS.churn} (${pct})`,
    'failed-step': `${PHASE_LABELS['failed-step']} (${settings.failStep})`,
  };
  const perPhase = new Map<PhaseId, PhaseRow[]>();
  const push = (row: PhaseRow): void => void perPhase.set(row.phase, [...(perPhase.get(row.phase) ?? []), row]);
  let entities = 0;
  let relationships = 0;

  // 1: the baseline, from the rows the core stages for the first sync.
  if (runner.rawInsert) {
    let rows: RawRows | undefined = await recordFirstSyncRows(settings);
    entities = rows.entities.length;
    relationships = rows.relationships.length;
    log(`recorded ${entities} entities + ${relationships} relationships for the baseline`);
    const baselines: [PhaseId, NonNullable<PhaseRunner['rawSchema']>][] = [['raw-insert', { insert: runner.rawInsert, reset: () => runner.rawReset?.() }]];
    if (runner.rawSchema) baselines.push(['raw-insert-schema', runner.rawSchema]);
    // Side by side: each repetition runs every baseline once.
    for (let i = 0; i < repeat; i++) {
      for (const [id, baseline] of baselines) {
        await baseline.reset();
        runner.settle?.();
        const raw = await measure(async () => baseline.insert(rows!));
        push({
          phase: id,
          label: PHASE_LABELS[id],
          wallMs: raw.ms,
          ...(raw.cpuMs === undefined ? {} : { cpuMs: raw.cpuMs }),
          rowsInBatch: entities + relationships,
          rowsWritten: raw.value,
          memory: raw.memory,
        });
        log(`${PHASE_LABELS[id]} ${i + 1}/${repeat}: ${raw.ms.toFixed(0)} ms${raw.cpuMs === undefined ? '' : ` (cpu ${raw.cpuMs.toFixed(0)})`}, ${raw.value} rows`);
      }
    }
    rows = undefined;
  }

  // The floor: the connector's own work, without the core or a store.
  for (let i = 0; i < repeat; i++) {
    runner.settle?.();
    const alone = await measure(async () => runConnectorAlone(createSyntheticConnector(syntheticOptions(settings, 0)), ACCOUNT));
    push({
      phase: 'connector-alone',
      label: PHASE_LABELS['connector-alone'],
      wallMs: alone.ms,
      ...(alone.cpuMs === undefined ? {} : { cpuMs: alone.cpuMs }),
      rowsInBatch: alone.value,
      rowsWritten: 0,
      memory: alone.memory,
    });
    log(`${PHASE_LABELS['connector-alone']} ${i + 1}/${repeat}: ${alone.ms.toFixed(0)} ms${alone.cpuMs === undefined ? '' : ` (cpu ${alone.cpuMs.toFixed(0)})`}, ${alone.value} records`);
  }

  let syncs = 0;
  let kind = 'unknown';
  for (let i = 0; i < repeat; i++) {
    const inner = await runner.openStore();
    kind = inner.kind;
    const clock = timing === 'sync' ? storeClock : new StoreClock();
    const store = timedStore(inner, clock, timing);
    try {
      const sync = async (id: (typeof SYNC_PHASES)[number], opts: SyntheticOptions): Promise<void> => {
        const storedBefore = await inner.counts();
        runner.settle?.();
        const ms0 = clock.ms;
        const cpu0 = clock.cpuMs;
        const m = await measure(async () => {
          const t0 = performance.now();
          const output: StreamedSyncOutput = await runConnector(createSyntheticConnector(opts), { accountId: ACCOUNT, syncId: `bench-${++syncs}`, store });
          const runMs = performance.now() - t0;
          const result = await commitSync(store, output);
          return { output, result, runMs, commitMs: performance.now() - t0 - runMs };
        });
        const { output, result, runMs, commitMs } = m.value;
        const storeMs = clock.ms - ms0;
        const storeCpuMs = clock.cpuMs - cpu0;
        const rows = output.staging.rowsStaged + output.staging.rowsMatched;
        if (id === 'first-sync' && entities === 0) {
          entities = result.stats.entitiesCreated;
          relationships = result.stats.relationshipsCreated;
        }
        const row: PhaseRow = {
          phase: id,
          label: labels[id],
          wallMs: m.ms,
          ...(m.cpuMs === undefined ? {} : { cpuMs: m.cpuMs }),
          coreMs: m.ms - storeMs,
          storeMs,
          ...(timing === 'sync' ? { storeCpuMs } : {}),
          commitMs,
          rowsInBatch: rows,
          rowsWritten: result.rowsWritten,
          storedRowsBefore: storedBefore.entities + storedBefore.relationships,
          stats: result.stats,
          staging: { ...output.staging },
          memory: m.memory,
          run: { ms: runMs, memory: m.memory },
          failedSteps: output.failedSteps,
          keptSteps: output.keptSteps,
        };
        log(
          `${labels[id]} ${i + 1}/${repeat}: ${m.ms.toFixed(0)} ms${m.cpuMs === undefined ? '' : ` (cpu ${m.cpuMs.toFixed(0)})`}, ` +
            `store ${storeMs.toFixed(0)} ms, run ${runMs.toFixed(0)} + commit ${commitMs.toFixed(0)}; ${rows} rows in, ${result.rowsWritten} written, ` +
            `peak ${output.staging.peakRowsHeld} rows held`,
        );
        push(row);
      };
      await sync('first-sync', syntheticOptions(settings, 0));
      await sync('unchanged-resync', syntheticOptions(settings, 0));
      await sync('churn', syntheticOptions(settings, 1));
      await sync('failed-step', syntheticOptions(settings, 1, { failStep: settings.failStep }));
    } finally {
      await inner.close();
    }
  }

  const order: PhaseId[] = ['raw-insert', 'raw-insert-schema', 'connector-alone', ...SYNC_PHASES];
  return {
    adapter: kind,
    runtime: runner.runtime,
    n: settings.n,
    entities,
    relationships,
    churnFraction: settings.churnFraction,
    repeat,
    phases: order.flatMap((id) => (perPhase.has(id) ? [combine(perPhase.get(id)!)] : [])),
    baseline: runner.baseline,
  };
}
