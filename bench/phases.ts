/**
 * The benchmark phases against one GraphStore, runtime-neutral: a runner
 * (Node here; D1 inside workerd or IndexedDB in Chromium later) supplies the
 * store, a {@link Measure} that knows how to read memory in its runtime, and
 * a raw-insert baseline with its own driver, and gets back the common
 * {@link ScaleResult} that `report.ts` checks and prints.
 *
 * Phases, all with the synthetic connector at scale `n`:
 * 1. raw insert   the first sync's rows, inserted raw (the baseline); where the
 *                 runner gives one, also raw into the store's own schema
 * 2. first sync   generation 0 into an empty store: everything created
 * 3. unchanged    generation 0 again: everything unchanged, nothing written (+P2)
 * 4. churn        generation 1: about `churnFraction` of the entities differ
 * 5. failed step  generation 1 again with `failStep` failing: its rows and its
 *                 dependents' rows are kept (+P1), nothing else changes
 * 6. small batch  a second, small synthetic connector (scale `probeN`) synced
 *                 at generation 0 (not reported) then 1 (reported) into the
 *                 store that now holds the big graph: comparing its heap
 *                 growth across scales shows whether commit memory depends on
 *                 the stored graph's size
 *
 * Each phase measures the connector run and the commit (`commitSync`, as a
 * user calls it) separately: the run's output holds the whole batch, so heap
 * growth is taken from the start of the commit (after a GC), and only the
 * commit counts in `wallMs`.
 */
import { commitSync, prepareBatch, runConnector, type CommitBatch, type GraphStore, type SyncOutput } from 'parallax-edge';
import { createSyntheticConnector, type SyntheticOptions } from '../connectors/synthetic/index.js';
import { PHASE_LABELS, type Measure, type Measured, type PhaseId, type PhaseRow, type ScaleResult } from './report.js';

export interface PhaseSettings {
  readonly n: number;
  readonly seed: number;
  /** Per-generation churn of the churn phase; default 0.01. */
  readonly churnFraction: number;
  /** Step that fails in the failed-step phase; default 'hosts'. */
  readonly failStep: string;
  /** Scale of the small-batch probe connector; 0 skips the phase. */
  readonly probeN: number;
}

export const DEFAULT_PHASE_SETTINGS: Omit<PhaseSettings, 'n'> = {
  seed: 1,
  churnFraction: 0.01,
  failStep: 'hosts',
  probeN: 2000,
};

export interface PhaseRunner {
  readonly store: GraphStore;
  readonly measure: Measure;
  /** Inserts the batch's rows raw, returns how many; omitted when the runtime has no baseline. */
  readonly rawInsert?: (batch: CommitBatch) => Promise<number> | number;
  readonly baseline: string;
  /**
   * Optional second baseline: the same rows inserted raw into tables with the
   * store's own schema (keys and indexes); reported as the phase
   * `raw-insert-schema`, and the first-sync target is then measured against it.
   */
  readonly rawInsertSchema?: (batch: CommitBatch) => Promise<number> | number;
  readonly schemaBaseline?: string;
  readonly runtime: string;
  /** Between phases, e.g. a full GC. */
  readonly settle?: () => void;
  readonly log?: (line: string) => void;
}

const ACCOUNT = 'bench';
const now = (): number => performance.now();

/**
 * The store with its commit calls timed, so a phase's `commitSync` splits
 * into the store's part and the core's (input digest, prepareBatch).
 */
function timedStore(store: GraphStore): { store: GraphStore; ms: () => number } {
  let ms = 0;
  const time = async <T>(call: () => Promise<T>): Promise<T> => {
    const t0 = now();
    try {
      return await call();
    } finally {
      ms += now() - t0;
    }
  };
  const { commitIfUnchanged } = store;
  return {
    store: {
      ...store,
      commit: (batch) => time(() => store.commit(batch)),
      ...(commitIfUnchanged ? { commitIfUnchanged: (run) => time(() => commitIfUnchanged.call(store, run)) } : {}),
    },
    ms: () => ms,
  };
}

export async function runPhases(settings: PhaseSettings, runner: PhaseRunner): Promise<ScaleResult> {
  const { store, measure } = runner;
  const log = runner.log ?? (() => {});
  const phases: PhaseRow[] = [];
  let syncs = 0;
  const pct = `${+(settings.churnFraction * 100).toFixed(2)}%`;

  const options = (generation: number, extra: Partial<SyntheticOptions> = {}): SyntheticOptions => ({
    seed: settings.seed,
    n: settings.n,
    churn: { fraction: settings.churnFraction, generation },
    ...extra,
  });

  const storedRows = async (): Promise<number> => {
    const counts = await store.counts();
    return counts.entities + counts.relationships;
  };

  const runOnce = async (opts: SyntheticOptions) => {
    runner.settle?.();
    return measure(() => runConnector(createSyntheticConnector(opts), { accountId: ACCOUNT, syncId: `bench-${++syncs}` }));
  };

  const commitPhase = async (
    id: PhaseId,
    label: string,
    run: Measured<SyncOutput>,
  ): Promise<PhaseRow> => {
    const storedRowsBefore = await storedRows();
    runner.settle?.();
    const output = run.value;
    const timed = timedStore(store);
    const commit = await measure(async () => {
      const t0 = now();
      const result = await commitSync(timed.store, output);
      const wall = now() - t0;
      return { result, coreMs: wall - timed.ms(), storeMs: timed.ms(), rows: output.entities.length + output.relationships.length };
    });
    const { result, coreMs, storeMs, rows } = commit.value;
    const row: PhaseRow = {
      phase: id,
      label,
      wallMs: commit.ms,
      ...(commit.cpuMs === undefined ? {} : { cpuMs: commit.cpuMs }),
      coreMs,
      storeMs,
      rowsInBatch: rows,
      rowsWritten: result.rowsWritten,
      storedRowsBefore,
      stats: result.stats,
      memory: commit.memory,
      run: { ms: run.ms, ...(run.cpuMs === undefined ? {} : { cpuMs: run.cpuMs }), memory: run.memory },
      failedSteps: output.failedSteps,
      keptSteps: output.keptSteps,
    };
    log(`${label}: ${row.wallMs.toFixed(0)} ms (core ${coreMs.toFixed(0)}, store ${storeMs.toFixed(0)}), ${rows} rows in, ${row.rowsWritten} written`);
    phases.push(row);
    return row;
  };

  // 1 + 2: the first sync's output, inserted raw, then committed.
  let first: Awaited<ReturnType<typeof runOnce>> | undefined = await runOnce(options(0));
  const entities = first.value.entities.length;
  const relationships = first.value.relationships.length;
  log(`generated ${entities} entities + ${relationships} relationships in ${first.ms.toFixed(0)} ms`);
  const baselines: [PhaseId, (batch: CommitBatch) => Promise<number> | number][] = [];
  if (runner.rawInsert) baselines.push(['raw-insert', runner.rawInsert]);
  if (runner.rawInsertSchema) baselines.push(['raw-insert-schema', runner.rawInsertSchema]);
  if (baselines.length > 0) {
    let batch: CommitBatch | undefined = prepareBatch(first.value);
    for (const [id, rawInsert] of baselines) {
      runner.settle?.();
      const raw = await measure(async () => rawInsert(batch!));
      phases.push({
        phase: id,
        label: PHASE_LABELS[id],
        wallMs: raw.ms,
        ...(raw.cpuMs === undefined ? {} : { cpuMs: raw.cpuMs }),
        rowsInBatch: batch.entities.length + batch.relationships.length,
        rowsWritten: raw.value,
        memory: raw.memory,
      });
      log(`${PHASE_LABELS[id]}: ${raw.ms.toFixed(0)} ms, ${raw.value} rows`);
    }
    batch = undefined;
  }
  await commitPhase('first-sync', PHASE_LABELS['first-sync'], first);
  first = undefined;

  // 3: the same estate again.
  await commitPhase('unchanged-resync', PHASE_LABELS['unchanged-resync'], await runOnce(options(0)));

  // 4: one generation of churn.
  await commitPhase('churn', `${PHASE_LABELS.churn} (${pct})`, await runOnce(options(1)));

  // 5: the same generation with one step failing halfway.
  await commitPhase(
    'failed-step',
    `${PHASE_LABELS['failed-step']} (${settings.failStep})`,
    await runOnce(options(1, { failStep: settings.failStep })),
  );

  // 6: a small batch of another connector into the store holding the big graph.
  if (settings.probeN > 0) {
    const probe = (generation: number): SyntheticOptions => ({
      seed: settings.seed + 1000,
      n: settings.probeN,
      name: 'synthetic-probe',
      accountLabel: 'probe',
      churn: { fraction: settings.churnFraction, generation },
    });
    const setup = await runOnce(probe(0));
    await store.commit(prepareBatch(setup.value));
    await commitPhase(
      'small-churn-on-stored',
      `${PHASE_LABELS['small-churn-on-stored']} (n=${settings.probeN}, ${pct})`,
      await runOnce(probe(1)),
    );
  }

  return {
    adapter: store.kind,
    runtime: runner.runtime,
    n: settings.n,
    entities,
    relationships,
    churnFraction: settings.churnFraction,
    phases,
    baseline: runner.baseline,
    ...(runner.schemaBaseline === undefined ? {} : { schemaBaseline: runner.schemaBaseline }),
  };
}
