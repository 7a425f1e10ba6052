import type { EntityData } from '../model/entity.js';
import type { RelationshipData } from '../model/relationship.js';
import { validateConnector, type Connector } from './connector.js';
import { RunStepContext, type EmitSink, type PriorData } from './context.js';
import { transitiveDependencies, transitiveDependents, type StepGraph } from './dag.js';
import { asConnectorError, type ConnectorError } from './errors.js';
import type { SyncEvent, SyncEventListener } from './events.js';

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
  readonly durationMs: number;
}

/** What a run produced, ready for {@link commitSync}. */
export interface SyncOutput {
  readonly connectorId: string;
  readonly accountId: string;
  readonly syncId: string;
  /** Accepted records of completed steps, in step definition order then emit order. */
  readonly entities: readonly EmittedEntity[];
  readonly relationships: readonly EmittedRelationship[];
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

interface StepOutcome {
  readonly ctx: RunStepContext;
  readonly error?: ConnectorError;
  readonly durationMs: number;
}

/**
 * Runs a connector's steps as a DAG and collects what they emit; the guide's
 * `run_connector`. A step starts as soon as its own dependencies have
 * finished, so a slow step never holds back an unrelated chain (INV-C06: a
 * failed step stops nothing; its dependents run without its data).
 *
 * @example
 * const output = await runConnector(new MyServiceConnector(), { accountId: 'acme', syncId: 'sync-001' });
 * const result = await commitSync(store, output);
 */
export async function runConnector(connector: Connector, options: RunOptions): Promise<SyncOutput> {
  const graph = validateConnector(connector);
  const connectorId = connector.name;
  const accountId = options.accountId;
  if (typeof accountId !== 'string' || accountId.length === 0) {
    throw asConnectorError(new TypeError('runConnector: accountId must be a non-empty string'));
  }
  const syncId = options.syncId ?? crypto.randomUUID();
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
  const claims = new Map<string, string>();
  const sink: EmitSink = {
    strict: options.strict ?? false,
    claim(kind, key, stepId) {
      const id = `${kind}\0${key}`;
      const first = claims.get(id);
      if (first !== undefined) return first;
      claims.set(id, stepId);
      return undefined;
    },
    warn: (stepId, message, field) => emit({ type: 'warning', ...base, stepId, message, ...(field ? { field } : {}) }),
    progress: (stepId, entities, relationships) => emit({ type: 'progress', ...base, stepId, entities, relationships }),
  };

  const controller = new AbortController();
  const onAbort = (): void => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const startedAt = new Date();
  emit({ type: 'started', ...base, steps: graph.order });
  try {
    const outcomes = await schedule(graph, concurrency, controller.signal, async (stepId, done) => {
      const started = performance.now();
      const ctx = new RunStepContext(stepId, connectorId, accountId, syncId, controller.signal, priorOf(graph, stepId, done), sink);
      emit({ type: 'stepStarted', ...base, stepId });
      try {
        await connector.executeStep(stepId, ctx);
        controller.signal.throwIfAborted();
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
        return { ctx, durationMs };
      } catch (thrown) {
        controller.signal.throwIfAborted();
        const error = asConnectorError(thrown, stepId);
        const durationMs = performance.now() - started;
        // Its records may be partial: nobody downstream or at commit sees them.
        releaseClaims(claims, stepId);
        emit({ type: 'stepFailed', ...base, stepId, error, durationMs });
        return { ctx, error, durationMs };
      }
    });
    return finish(graph, outcomes, { connectorId, accountId, syncId, startedAt }, emit);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

function releaseClaims(claims: Map<string, string>, stepId: string): void {
  for (const [id, owner] of claims) if (owner === stepId) claims.delete(id);
}

/** Prior data is exactly the transitive dependencies' output: the same whatever ran first. */
function priorOf(graph: StepGraph, stepId: string, outcomes: ReadonlyMap<string, StepOutcome>): PriorData {
  const sources = graph.order
    .filter((id) => transitiveDependencies(graph, stepId).has(id))
    .map((id) => outcomes.get(id)!)
    .filter((o) => o.error === undefined);
  const entities = sources.flatMap((o) => o.ctx.entities);
  const relationships = sources.flatMap((o) => o.ctx.relationships);
  let byType: Map<string, EntityData[]> | undefined;
  let byKey: Map<string, EntityData> | undefined;
  return {
    entitiesByType(type) {
      if (!byType) {
        byType = new Map();
        for (const e of entities) {
          const list = byType.get(e.entityType);
          if (list) list.push(e);
          else byType.set(e.entityType, [e]);
        }
      }
      return byType.get(type) ?? [];
    },
    get(type, key) {
      byKey ??= new Map(entities.map((e) => [`${e.entityType}\0${e.entityKey}`, e]));
      return byKey.get(`${type}\0${key}`);
    },
    entities: () => entities,
    relationships: () => relationships,
  };
}

/**
 * Starts each step the moment its dependencies are done, up to `concurrency`
 * at once, in definition order among the ready ones. Rejects on abort.
 */
function schedule(
  graph: StepGraph,
  concurrency: number,
  signal: AbortSignal,
  runStep: (stepId: string, done: ReadonlyMap<string, StepOutcome>) => Promise<StepOutcome>,
): Promise<Map<string, StepOutcome>> {
  const outcomes = new Map<string, StepOutcome>();
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
  run: { connectorId: string; accountId: string; syncId: string; startedAt: Date },
  emit: (event: SyncEvent) => void,
): SyncOutput {
  const failed = graph.order.filter((id) => outcomes.get(id)!.error !== undefined);
  const kept = new Set(failed);
  for (const id of failed) for (const dependent of transitiveDependents(graph, id)) kept.add(dependent);

  const entities: EmittedEntity[] = [];
  const relationships: EmittedRelationship[] = [];
  const steps: StepReport[] = [];
  for (const stepId of graph.order) {
    const { ctx, error, durationMs } = outcomes.get(stepId)!;
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
      durationMs,
    });
    if (error) continue;
    for (const e of ctx.entities) entities.push({ ...e, stepId });
    for (const r of ctx.relationships) relationships.push({ ...r, stepId });
  }
  const finishedAt = new Date();
  emit({
    type: 'completed',
    connectorId: run.connectorId,
    syncId: run.syncId,
    entities: entities.length,
    relationships: relationships.length,
    failedSteps: failed,
    durationMs: finishedAt.getTime() - run.startedAt.getTime(),
  });
  return {
    connectorId: run.connectorId,
    accountId: run.accountId,
    syncId: run.syncId,
    entities,
    relationships,
    steps,
    failedSteps: failed,
    keptSteps: graph.order.filter((id) => kept.has(id)),
    startedAt: run.startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
  };
}
