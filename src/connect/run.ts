import type { EntityData } from '../model/entity.js';
import { entityId, entityIdWords, relationshipIdWords } from '../model/ids.js';
import type { RelationshipData } from '../model/relationship.js';
import { CommitError } from '../ingest/errors.js';
import { RunKeys } from '../ingest/run-keys.js';
import { streamed } from '../ingest/streamed.js';
import { SyncWriter, type StagingStats, type StepWriter } from '../ingest/writer.js';
import { idProblem } from '../model/validate.js';
import type { GraphStore, PriorEntity, SyncSession } from '../store/types.js';
import { validateConnector, type Connector } from './connector.js';
import { RunStepContext, type EmitSink, type PriorData, type PriorFilter } from './context.js';
import { transitiveDependencies, transitiveDependents, type StepGraph } from './dag.js';
import { ConnectorError, asConnectorError } from './errors.js';
import type { SyncEvent, SyncEventListener } from './events.js';
import type { StepDefinition, StepPage } from './step.js';
import { nextTurn } from './turn.js';

export interface RunOptions {
  /** The account (tenant) the data belongs to; part of every id. */
  readonly accountId: string;
  /** Unique per run; defaults to a random UUID. */
  readonly syncId?: string;
  readonly onEvent?: SyncEventListener;
  /** Stops the run: no new step starts, running steps see `ctx.signal` abort, and the run rejects. */
  readonly signal?: AbortSignal;
  /** How many steps may run at once; unlimited by default. */
  readonly concurrency?: number;
  /** Unknown classes and verbs refuse the record instead of warning. */
  readonly strict?: boolean;
  /**
   * Stream the run into this store: what the steps emit is staged in chunks
   * as they go (memory stays bounded by the chunk size, not the estate), and
   * `commitSync(store, output)` then commits it. Without a store the run
   * keeps every record in memory for `commitSync` to stage.
   */
  readonly store?: GraphStore;
  /** Prepared rows per staged chunk; default 2000. */
  readonly chunkRows?: number;
  /** The clock for the run's `startedAt` and `finishedAt` (tests, replays); default `new Date()`. */
  readonly now?: () => Date;
  /**
   * Verify mode: nothing is recognised as unchanged from the scope's units;
   * every row is staged and compared with the stored columns, so rows
   * edited by hand in the store are written again.
   */
  readonly verify?: boolean;
}

/** An accepted record with the step that emitted it. */
export type EmittedEntity = EntityData & { readonly stepId: string };
export type EmittedRelationship = RelationshipData & { readonly stepId: string };

export interface StepReport {
  readonly stepId: string;
  readonly name: string;
  readonly status: 'completed' | 'failed';
  readonly error?: ConnectorError;
  /** Failed steps this one depends on, directly or not: it ran without their data. */
  readonly upstreamFailed: readonly string[];
  readonly entities: number;
  readonly relationships: number;
  readonly rejected: number;
  readonly warnings: number;
  /** Pages the step ran (1 for a step that is not paged). */
  readonly pages: number;
  readonly durationMs: number;
}

interface SyncOutputBase {
  readonly connectorId: string;
  readonly accountId: string;
  readonly syncId: string;
  readonly steps: readonly StepReport[];
  readonly failedSteps: readonly string[];
  /**
   * +P1: steps whose stored rows the commit must keep, because the step failed
   * or runs downstream of a failed step and so may have seen partial data.
   */
  readonly keptSteps: readonly string[];
  readonly startedAt: string;
  readonly finishedAt: string;
}

/** A run without a store: every accepted record, for {@link commitSync}. */
export interface MemorySyncOutput extends SyncOutputBase {
  readonly mode: 'memory';
  /** Accepted records of completed steps, in step definition order then emit order. */
  readonly entities: readonly EmittedEntity[];
  readonly relationships: readonly EmittedRelationship[];
}

/** A run streamed into `store`: its rows are staged there, waiting for {@link commitSync}. */
export interface StreamedSyncOutput extends SyncOutputBase {
  readonly mode: 'streamed';
  readonly store: GraphStore;
  /** How the rows reached the store, and the most the run held in memory at once. */
  readonly staging: Readonly<StagingStats>;
}

/** What a run produced, ready for {@link commitSync}. */
export type SyncOutput = MemorySyncOutput | StreamedSyncOutput;

interface StepOutcome {
  readonly ctx: RunStepContext;
  readonly error?: ConnectorError;
  readonly pages: number;
  readonly durationMs: number;
}

/** The records a step accepted, kept in memory when someone needs them. */
export interface StepRecords {
  readonly entities: EntityData[];
  readonly relationships: RelationshipData[];
}

/**
 * Runs a connector's steps as a DAG and collects what they emit; the guide's
 * `run_connector`. A step starts as soon as its own dependencies have
 * finished, so a slow step never holds back an unrelated chain (INV-C06: a
 * failed step stops nothing; its dependents run without its data). With
 * `store`, the run streams into the store's staging area.
 *
 * @example
 * const output = await runConnector(new MyServiceConnector(), { accountId: 'acme', store });
 * const result = await commitSync(store, output);
 */
export function runConnector(connector: Connector, options: RunOptions & { readonly store: GraphStore }): Promise<StreamedSyncOutput>;
export function runConnector(connector: Connector, options: RunOptions & { readonly store?: undefined }): Promise<MemorySyncOutput>;
export function runConnector(connector: Connector, options: RunOptions): Promise<SyncOutput>;
export async function runConnector(connector: Connector, options: RunOptions): Promise<SyncOutput> {
  const graph = validateConnector(connector);
  const connectorId = connector.name;
  const accountId = options.accountId;
  const syncId = options.syncId ?? crypto.randomUUID();
  // Both are stored beside every row: refused here, before a step runs or a store stages anything.
  for (const [field, value] of [['accountId', accountId], ['syncId', syncId]] as const) {
    const problem = idProblem(value);
    if (problem) throw ConnectorError.validation(`runConnector: ${field} ${problem}`, field);
  }
  const concurrency = options.concurrency ?? Number.POSITIVE_INFINITY;
  if (!(concurrency >= 1)) throw new RangeError('runConnector: concurrency must be at least 1');
  options.signal?.throwIfAborted();

  const emit = (event: SyncEvent): void => {
    // A listener's bug must not break the run it observes.
    try {
      options.onEvent?.(event);
    } catch {
      /* ignored on purpose */
    }
  };
  const base = { connectorId, syncId } as const;
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  const store = options.store;
  const session = store
    ? await store.openSync({ accountId, connectorId, syncId, startedAt: startedAt.toISOString(), ...(options.verify ? { verify: true } : {}) })
    : undefined;
  const writer = session ? new SyncWriter(session, options.chunkRows === undefined ? {} : { chunkRows: options.chunkRows }) : undefined;
  const keys = writer?.keys ?? new RunKeys();
  const stepNumbers = new Map(graph.order.map((id, index) => [id, index + 1]));

  // Records stay in memory only where they are read: every record without a
  // store; else those of steps whose dependents use the synchronous prior API.
  const keepsRecords = new Set<string>(session ? [] : graph.order);
  for (const id of graph.order) {
    if (!graph.steps.get(id)!.iteratesPrior) for (const dep of transitiveDependencies(graph, id)) keepsRecords.add(dep);
  }
  const records = new Map<string, StepRecords>();
  const stepWriters = new Map<string, StepWriter>();

  const controller = new AbortController();
  const sink = runSink({ accountId, order: graph.order, stepNumbers, keys, records, stepWriters, strict: options.strict ?? false, signal: controller.signal, emit, base });
  const onAbort = (): void => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });

  emit({ type: 'started', ...base, steps: graph.order });
  try {
    const outcomes = await scheduleSteps<StepOutcome>(graph, concurrency, controller.signal, async (stepId, done) => {
      const started = performance.now();
      const definition = graph.steps.get(stepId)!;
      if (keepsRecords.has(stepId)) records.set(stepId, { entities: [], relationships: [] });
      const stepWriter = writer ? await writer.openStep(stepId, stepNumbers.get(stepId)!) : undefined;
      if (stepWriter) stepWriters.set(stepId, stepWriter);
      const completed = graph.order.filter((id) => done.get(id)?.error === undefined && done.has(id));
      const prior = priorOf(graph, stepId, completed, { accountId, keys, stepNumbers, records, session });
      const ctx = new RunStepContext(stepId, connectorId, accountId, syncId, controller.signal, prior, sink);
      emit({ type: 'stepStarted', ...base, stepId });
      let pages = 0;
      try {
        for (;;) {
          const next = await runPage(connector, definition, ctx, stepWriter, pages++, controller.signal);
          if (next === undefined) break;
          ctx.cursor = next;
        }
        const durationMs = performance.now() - started;
        emit({
          type: 'stepCompleted',
          ...base,
          stepId,
          entities: ctx.metrics.entitiesEmitted,
          relationships: ctx.metrics.relationshipsEmitted,
          rejected: ctx.metrics.rejected,
          durationMs,
        });
        return { ctx, pages, durationMs };
      } catch (thrown) {
        controller.signal.throwIfAborted();
        // The store failed under the run (not the connector): the run cannot commit.
        if (isStoreFailure(thrown)) throw thrown;
        const error = asConnectorError(thrown, stepId);
        const durationMs = performance.now() - started;
        // Its records may be partial: nobody downstream or at commit sees them.
        keys.releaseStep(stepNumbers.get(stepId)!);
        records.delete(stepId);
        await stepWriter?.fail();
        emit({ type: 'stepFailed', ...base, stepId, error, durationMs });
        return { ctx, error, pages, durationMs };
      }
    });
    // Every step has ended: nothing claims or looks up an id any more, and the commit needs none,
    // so the id set's memory is returned before the commit's own peak.
    keys.release();
    const output = finish(graph, outcomes, records, { connectorId, accountId, syncId, startedAt, finishedAt: now() }, emit, store && writer && { store, writer });
    if (output.mode === 'streamed') streamed.set(output, writer!);
    return output;
  } catch (error) {
    // +P4: nothing of an aborted or broken run stays staged.
    await writer?.abort();
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** What a run's emit sink needs: where ids are claimed and records go. */
export interface SinkState {
  readonly accountId: string;
  readonly order: readonly string[];
  readonly stepNumbers: ReadonlyMap<string, number>;
  readonly keys: RunKeys;
  /** Records kept in memory, for the steps that keep them. */
  readonly records: ReadonlyMap<string, StepRecords>;
  readonly stepWriters: ReadonlyMap<string, StepWriter>;
  readonly strict: boolean;
  readonly signal: AbortSignal;
  readonly emit: (event: SyncEvent) => void;
  readonly base: { readonly connectorId: string; readonly syncId: string };
}

/**
 * The emit sink of a run: derives each accepted record's id, claims it in the
 * run's id set (a repeat names the step that emitted it first), and hands
 * the record to its step's writer and, where kept, to memory.
 */
export function runSink(state: SinkState): EmitSink {
  const { accountId, order, stepNumbers, keys, records, stepWriters, emit, base, signal } = state;
  return {
    strict: state.strict,
    accept(stepId: string, kind: 'entity' | 'relationship', data: EntityData | RelationshipData): string | undefined {
      const id =
        kind === 'entity'
          ? entityIdWords(accountId, (data as EntityData).entityType, (data as EntityData).entityKey)
          : relationshipIdWords(
              accountId,
              (data as RelationshipData).fromType,
              (data as RelationshipData).fromKey,
              (data as RelationshipData).verb,
              (data as RelationshipData).toType,
              (data as RelationshipData).toKey,
            );
      const first = keys.claim(id, stepNumbers.get(stepId)!);
      if (first !== 0) return order[first - 1];
      const kept = records.get(stepId);
      // Kept records reach other steps through ctx.prior: none may change them.
      if (kept) deepFreeze(data);
      if (kind === 'entity') {
        kept?.entities.push(data as EntityData);
        stepWriters.get(stepId)?.addEntity(data as EntityData, id);
      } else {
        kept?.relationships.push(data as RelationshipData);
        stepWriters.get(stepId)?.addRelationship(data as RelationshipData, id);
      }
      return undefined;
    },
    emitted: (stepId, type, key) => keys.stepOf(entityIdWords(accountId, type, key)) === stepNumbers.get(stepId),
    warn: (stepId, message, field) => emit({ type: 'warning', ...base, stepId, message, ...(field ? { field } : {}) }),
    progress: (stepId, entities, relationships) => emit({ type: 'progress', ...base, stepId, entities, relationships }),
    async flush(stepId) {
      const stepWriter = stepWriters.get(stepId);
      await stepWriter?.drain();
      await nextTurn();
      // Backpressure: the step goes on right after being let through (see SyncWriter.room).
      const wait = stepWriter?.room();
      if (wait) await wait;
      signal.throwIfAborted();
    },
  };
}

/** Freezes an emitted record, its properties and their arrays (the emit's own snapshot). */
function deepFreeze(data: EntityData | RelationshipData): void {
  for (const value of Object.values(data.properties)) if (Array.isArray(value)) Object.freeze(value);
  Object.freeze(data.properties);
  Object.freeze(data);
}

/**
 * Runs page `page` of a step (the whole step when it is not paged): the
 * connector's `executeStep` with `ctx.cursor` as set, its `next` checked,
 * the page's units ended and staged, and a turn of the event loop. Returns
 * the next cursor, undefined after the last page.
 */
export async function runPage(
  connector: Connector,
  definition: StepDefinition,
  ctx: RunStepContext,
  stepWriter: StepWriter | undefined,
  page: number,
  signal: AbortSignal,
): Promise<string | undefined> {
  const stepId = definition.id;
  // Backpressure: a page starts when the run has room, and right then (see SyncWriter.room).
  const wait = stepWriter?.room();
  if (wait) {
    await wait;
    signal.throwIfAborted();
  }
  stepWriter?.startPage(page);
  const result: void | StepPage = await connector.executeStep(stepId, ctx);
  signal.throwIfAborted();
  const next = result ? result.next : undefined;
  if (next !== undefined && !definition.paged) {
    throw ConnectorError.validation(`step "${stepId}" returned a next page but is not paged; declare it with .paged()`, 'next', stepId);
  }
  if (next !== undefined && typeof next !== 'string') throw ConnectorError.validation(`step "${stepId}" returned a next cursor that is not a string`, 'next', stepId);
  if (next !== undefined && next === ctx.cursor) {
    throw ConnectorError.validation(`step "${stepId}" returned the cursor of the page it was given ("${next}"): it would never end`, 'next', stepId);
  }
  await stepWriter?.end();
  await nextTurn();
  signal.throwIfAborted();
  return next;
}

/** +P1: the failed steps and every step downstream of one, in step order. */
export function keptStepsOf(graph: StepGraph, failed: readonly string[]): string[] {
  const kept = new Set(failed);
  for (const id of failed) for (const dependent of transitiveDependents(graph, id)) kept.add(dependent);
  return graph.order.filter((id) => kept.has(id));
}

export function isStoreFailure(error: unknown): boolean {
  return error instanceof CommitError;
}

export interface PriorSources {
  readonly accountId: string;
  readonly keys: RunKeys;
  readonly stepNumbers: ReadonlyMap<string, number>;
  readonly records: ReadonlyMap<string, StepRecords>;
  readonly session: SyncSession | undefined;
}

const PRIOR_PAGE = 500;

/**
 * Prior data is exactly the transitive dependencies' output: the same
 * whatever ran first. `completed` lists the steps that completed (every
 * dependency has finished when a step starts).
 */
export function priorOf(graph: StepGraph, stepId: string, completed: readonly string[], sources: PriorSources): PriorData {
  const dependencies = transitiveDependencies(graph, stepId);
  const steps = completed.filter((id) => dependencies.has(id));
  const numbers = new Set(steps.map((id) => sources.stepNumbers.get(id)!));
  const { session, accountId } = sources;
  const iterates = graph.steps.get(stepId)!.iteratesPrior === true;
  const held = (): StepRecords[] => {
    if (iterates) {
      throw ConnectorError.validation(
        `step "${stepId}" declares iteratesPrior(): use ctx.prior.has, find or iterateEntities, which do not hold its dependencies in memory`,
        'prior',
        stepId,
      );
    }
    return steps.map((id) => sources.records.get(id)!);
  };
  let entities: EntityData[] | undefined;
  let relationships: RelationshipData[] | undefined;
  let byType: Map<string, EntityData[]> | undefined;
  let byKey: Map<string, EntityData> | undefined;
  /** Without a store every record is in memory; these read them whatever the step declares. */
  const recorded = (): EntityData[] => steps.flatMap((id) => sources.records.get(id)!.entities);
  const keyed = (): Map<string, EntityData> => (byKey ??= new Map(recorded().map((e) => [`${e.entityType}\0${e.entityKey}`, e])));
  const all = (): EntityData[] => (entities ??= Object.freeze(held().flatMap((r) => r.entities)) as EntityData[]);
  /** The dependencies' records in id order, as a store pages them. */
  const inMemory = (filter: PriorFilter): EntityData[] =>
    recorded()
      .filter((e) => (filter.type === undefined || e.entityType === filter.type) && (filter.class === undefined || e.entityClass === filter.class))
      .map((e) => [entityId(accountId, e.entityType, e.entityKey), e] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, e]) => e);
  return {
    has(type, key) {
      return numbers.has(sources.keys.stepOf(entityIdWords(accountId, type, key)));
    },
    async find(type, key) {
      if (!numbers.has(sources.keys.stepOf(entityIdWords(accountId, type, key)))) return undefined;
      if (!session) return keyed().get(`${type}\0${key}`);
      const found = await session.priorEntity(steps, type, key);
      return found && entityData(found);
    },
    async *iterateEntities(filter = {}) {
      if (!session) {
        yield* inMemory(filter);
        return;
      }
      let after: string | undefined;
      for (;;) {
        const page = await session.priorEntities({ steps, ...filter, ...(after === undefined ? {} : { after }), limit: PRIOR_PAGE });
        for (const e of page.items) yield entityData(e);
        if (page.items.length < PRIOR_PAGE) return;
        after = page.items.at(-1)!.id;
      }
    },
    entitiesByType(type) {
      if (!byType) {
        byType = new Map();
        for (const e of all()) {
          const list = byType.get(e.entityType);
          if (list) list.push(e);
          else byType.set(e.entityType, [e]);
        }
        for (const list of byType.values()) Object.freeze(list);
      }
      return byType.get(type) ?? [];
    },
    get(type, key) {
      held();
      return keyed().get(`${type}\0${key}`);
    },
    entities: () => all(),
    relationships: () => (relationships ??= Object.freeze(held().flatMap((r) => r.relationships)) as RelationshipData[]),
  };
}

function entityData(e: PriorEntity): EntityData {
  return { entityType: e.entityType, entityKey: e.entityKey, entityClass: e.entityClass, displayName: e.displayName, properties: e.properties };
}

/**
 * Starts each step the moment its dependencies are done, up to `concurrency`
 * at once, in definition order among the ready ones. Rejects on abort, and
 * when a step's run rejects (a store failure: the run cannot commit). The
 * in-process runner and durable engines (a Workflow's `run`) share it.
 */
export function scheduleSteps<T>(
  graph: StepGraph,
  concurrency: number,
  signal: AbortSignal,
  runStep: (stepId: string, done: ReadonlyMap<string, T>) => Promise<T>,
): Promise<Map<string, T>> {
  const outcomes = new Map<string, T>();
  const started = new Set<string>();
  let running = 0;
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const pump = (): void => {
      if (signal.aborted) return;
      if (outcomes.size === graph.order.length) {
        signal.removeEventListener('abort', onAbort);
        resolve(outcomes);
        return;
      }
      for (const id of graph.order) {
        if (running >= concurrency) break;
        if (started.has(id)) continue;
        if (!graph.steps.get(id)!.dependsOn.every((dep) => outcomes.has(dep))) continue;
        started.add(id);
        running++;
        runStep(id, outcomes).then(
          (outcome) => {
            running--;
            outcomes.set(id, outcome);
            pump();
          },
          (error: unknown) => {
            signal.removeEventListener('abort', onAbort);
            reject(error);
          },
        );
      }
    };
    pump();
  });
}

function finish(
  graph: StepGraph,
  outcomes: ReadonlyMap<string, StepOutcome>,
  records: ReadonlyMap<string, StepRecords>,
  run: { connectorId: string; accountId: string; syncId: string; startedAt: Date; finishedAt: Date },
  emit: (event: SyncEvent) => void,
  streamedInto: { store: GraphStore; writer: SyncWriter } | undefined,
): SyncOutput {
  const failed = graph.order.filter((id) => outcomes.get(id)!.error !== undefined);
  const kept = new Set(keptStepsOf(graph, failed));

  const steps: StepReport[] = [];
  let entityCount = 0;
  let relationshipCount = 0;
  for (const stepId of graph.order) {
    const { ctx, error, pages, durationMs } = outcomes.get(stepId)!;
    const deps = transitiveDependencies(graph, stepId);
    steps.push({
      stepId,
      name: graph.steps.get(stepId)!.name,
      status: error ? 'failed' : 'completed',
      ...(error ? { error } : {}),
      upstreamFailed: failed.filter((id) => deps.has(id)),
      entities: ctx.metrics.entitiesEmitted,
      relationships: ctx.metrics.relationshipsEmitted,
      rejected: ctx.metrics.rejected,
      warnings: ctx.metrics.warnings,
      pages,
      durationMs,
    });
    if (error) continue;
    entityCount += ctx.metrics.entitiesEmitted;
    relationshipCount += ctx.metrics.relationshipsEmitted;
  }
  const { finishedAt } = run;
  emit({
    type: 'completed',
    connectorId: run.connectorId,
    syncId: run.syncId,
    entities: entityCount,
    relationships: relationshipCount,
    failedSteps: failed,
    durationMs: finishedAt.getTime() - run.startedAt.getTime(),
  });
  const common = {
    connectorId: run.connectorId,
    accountId: run.accountId,
    syncId: run.syncId,
    steps,
    failedSteps: failed,
    keptSteps: graph.order.filter((id) => kept.has(id)),
    startedAt: run.startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
  };
  if (streamedInto) return { mode: 'streamed', store: streamedInto.store, staging: { ...streamedInto.writer.stats }, ...common };
  const entities: EmittedEntity[] = [];
  const relationships: EmittedRelationship[] = [];
  for (const stepId of graph.order) {
    const kept = records.get(stepId);
    if (!kept || outcomes.get(stepId)!.error) continue;
    for (const e of kept.entities) entities.push({ ...e, stepId });
    for (const r of kept.relationships) relationships.push({ ...r, stepId });
  }
  return { mode: 'memory', entities, relationships, ...common };
}
