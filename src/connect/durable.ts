/**
 * A sync run piece by piece by a durable engine (a Cloudflare Workflow):
 * each page of each step in an invocation of its own, staging into a store
 * whose staging outlives the invocation (D1), and a last call commits. Every
 * page runs the very code `runConnector` runs in process, so the same
 * connector gives the same rows either way.
 *
 * The engine keeps only small summaries between calls (a token, cursors,
 * counts): rows never leave the store. It decides the order (a step after
 * its dependencies), retries, and which steps failed.
 */
import { idWords } from '../model/ids.js';
import { SyncWriter } from '../ingest/writer.js';
import type { CommitResult, GraphStore, SyncSession } from '../store/types.js';
import { validateConnector, type Connector } from './connector.js';
import { RunStepContext } from './context.js';
import { transitiveDependencies } from './dag.js';
import { ConnectorError } from './errors.js';
import type { SyncEventListener } from './events.js';
import { keptStepsOf, priorOf, runPage, runSink, type StepRecords } from './run.js';
export { scheduleSteps } from './run.js';
import { RunKeys } from '../ingest/run-keys.js';

/** What names a durable sync between invocations: small, serializable. */
export interface DurableSync {
  readonly token: string;
  readonly accountId: string;
  readonly connectorId: string;
  readonly syncId: string;
  readonly startedAt: string;
}

/** What one page did: the cursor of the next page (absent after the last), and counts. */
export interface DurablePage {
  readonly next?: string;
  readonly entities: number;
  readonly relationships: number;
  readonly rejected: number;
  readonly warnings: number;
  readonly rowsStaged: number;
  readonly rowsMatched: number;
  readonly peakRowsHeld: number;
}

async function resume(store: GraphStore, sync: DurableSync): Promise<SyncSession> {
  if (!store.resumeSync) throw new TypeError(`the ${store.kind} store cannot resume a sync in another invocation (it has no resumeSync)`);
  const session = await store.resumeSync(sync.token);
  if (!session) throw new ConnectorError('Custom', `the staging area of sync "${sync.syncId}" is gone (committed, aborted, or cleaned up as stale)`);
  return session;
}

/**
 * Opens a durable sync's staging area in `store` (which must implement
 * `resumeSync`). The connector's steps are checked first (INV-C05).
 *
 * @example
 * const sync = await openDurableSync(store, connector, { accountId: 'acme', syncId: instanceId });
 */
export async function openDurableSync(
  store: GraphStore,
  connector: Connector,
  options: { readonly accountId: string; readonly syncId: string; readonly verify?: boolean; readonly now?: () => Date },
): Promise<DurableSync> {
  validateConnector(connector);
  if (!store.resumeSync) throw new TypeError(`the ${store.kind} store cannot resume a sync in another invocation (it has no resumeSync)`);
  const startedAt = (options.now?.() ?? new Date()).toISOString();
  const session = await store.openSync({
    accountId: options.accountId,
    connectorId: connector.name,
    syncId: options.syncId,
    startedAt,
    ...(options.verify ? { verify: true } : {}),
  });
  return { token: session.token, accountId: options.accountId, connectorId: connector.name, syncId: options.syncId, startedAt };
}

export interface DurablePageOptions {
  readonly stepId: string;
  /** The cursor of this page: undefined for the first. */
  readonly cursor?: string;
  /** This page's number in its step, from 0: a page run again drops what it staged before. */
  readonly page: number;
  /** The steps of the sync that completed (the step's dependencies have all finished). */
  readonly completedSteps: readonly string[];
  /**
   * No earlier attempt of this page ran (the engine's first attempt): the
   * page does not first drop what an earlier attempt staged, a scan of the
   * sync's whole staging area on stores without a page index. Should an
   * attempt run twice all the same, its rows collide on the staging keys and
   * the page fails, and its retry drops them first.
   */
  readonly firstAttempt?: boolean;
  readonly signal?: AbortSignal;
  readonly strict?: boolean;
  readonly chunkRows?: number;
  readonly onEvent?: SyncEventListener;
}

/**
 * Runs one page of one step into the sync's staging area and returns its
 * summary. Run again (a retry), the page first drops what it staged on the
 * earlier attempt. A record emitted twice within the page is refused at
 * emit as in process; one already staged by another page or step fails the
 * page when it is staged.
 */
export async function runDurablePage(store: GraphStore, sync: DurableSync, connector: Connector, options: DurablePageOptions): Promise<DurablePage> {
  const graph = validateConnector(connector);
  if (connector.name !== sync.connectorId) throw new TypeError(`the connector is "${connector.name}", the sync is of "${sync.connectorId}"`);
  const definition = graph.steps.get(options.stepId);
  if (!definition) throw ConnectorError.unknownStep(options.stepId);
  const session = await resume(store, sync);
  if (!options.firstAttempt) await session.discardStep(options.stepId, options.page);
  const writer = new SyncWriter(session, options.chunkRows === undefined ? {} : { chunkRows: options.chunkRows });
  const stepNumbers = new Map(graph.order.map((id, index) => [id, index + 1]));
  const dependencies = transitiveDependencies(graph, options.stepId);
  const done = options.completedSteps.filter((id) => dependencies.has(id));

  // `ctx.prior.has` needs the dependencies' ids in the run's id set; the
  // guide's synchronous prior API, their records in memory.
  await seedPriorIds(session, writer.keys, done, stepNumbers);
  const records = new Map<string, StepRecords>();
  if (!definition.iteratesPrior) await loadPriorRecords(session, done, records);

  const controller = new AbortController();
  const onAbort = (): void => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const stepWriter = await writer.openStep(options.stepId, stepNumbers.get(options.stepId)!);
    const emit = (event: Parameters<SyncEventListener>[0]): void => {
      try {
        options.onEvent?.(event);
      } catch {
        /* a listener's bug must not break the run it observes */
      }
    };
    const base = { connectorId: sync.connectorId, syncId: sync.syncId };
    const sink = runSink({
      accountId: sync.accountId,
      order: graph.order,
      stepNumbers,
      keys: writer.keys,
      records,
      stepWriters: new Map([[options.stepId, stepWriter]]),
      strict: options.strict ?? false,
      signal: controller.signal,
      emit,
      base,
    });
    const prior = priorOf(graph, options.stepId, done, { accountId: sync.accountId, keys: writer.keys, stepNumbers, records, session });
    const ctx = new RunStepContext(options.stepId, sync.connectorId, sync.accountId, sync.syncId, controller.signal, prior, sink);
    ctx.cursor = options.cursor;
    const next = await runPage(connector, definition, ctx, stepWriter, options.page, controller.signal);
    return {
      ...(next === undefined ? {} : { next }),
      entities: ctx.metrics.entitiesEmitted,
      relationships: ctx.metrics.relationshipsEmitted,
      rejected: ctx.metrics.rejected,
      warnings: ctx.metrics.warnings,
      rowsStaged: writer.stats.rowsStaged,
      rowsMatched: writer.stats.rowsMatched,
      peakRowsHeld: writer.stats.peakRowsHeld,
    };
  } catch (error) {
    // A failed attempt leaves nothing behind for the retry (it drops its page first anyway).
    await writer.abandon();
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

const PRIOR_PAGE = 1000;

/** The dependencies' entity ids into the id set, claimed for one of them (enough for `has`). */
async function seedPriorIds(session: SyncSession, keys: RunKeys, steps: readonly string[], stepNumbers: ReadonlyMap<string, number>): Promise<void> {
  if (steps.length === 0) return;
  const number = stepNumbers.get(steps[0]!)!;
  let after: string | undefined;
  for (;;) {
    const ids = await session.priorEntityIds({ steps, ...(after === undefined ? {} : { after }), limit: PRIOR_PAGE });
    for (const id of ids) keys.claim(idWords(id), number);
    if (ids.length < PRIOR_PAGE) return;
    after = ids.at(-1)!;
  }
}

/** The dependencies' entities in memory, for a step that reads them through the guide's synchronous API. */
async function loadPriorRecords(session: SyncSession, steps: readonly string[], records: Map<string, StepRecords>): Promise<void> {
  for (const stepId of steps) {
    const kept: StepRecords = { entities: [], relationships: [] };
    records.set(stepId, kept);
    let after: string | undefined;
    for (;;) {
      const page = await session.priorEntities({ steps: [stepId], ...(after === undefined ? {} : { after }), limit: PRIOR_PAGE });
      for (const e of page.items) {
        kept.entities.push({ entityType: e.entityType, entityKey: e.entityKey, entityClass: e.entityClass, displayName: e.displayName, properties: e.properties });
      }
      if (page.items.length < PRIOR_PAGE) break;
      after = page.items.at(-1)!.id;
    }
  }
}

/** +P1: a step that failed for good (its retries exhausted) stages nothing; its stored rows are kept. */
export async function failDurableStep(store: GraphStore, sync: DurableSync, stepId: string): Promise<void> {
  await (await resume(store, sync)).discardStep(stepId);
}

/**
 * Commits the sync in the store's atomic unit (INV-C01) and drops its
 * staging area. `entities` and `relationships` are the sums of the
 * completed steps' pages; kept steps follow from the failed ones (+P1).
 * A commit refused for good (a dangling relationship, a reused sync id)
 * leaves the staging for {@link abortDurableSync}.
 */
export async function commitDurableSync(
  store: GraphStore,
  sync: DurableSync,
  connector: Connector,
  close: { readonly failedSteps: readonly string[]; readonly entities: number; readonly relationships: number; readonly finishedAt?: string },
): Promise<CommitResult> {
  const graph = validateConnector(connector);
  const session = await resume(store, sync);
  return session.commit({
    failedSteps: graph.order.filter((id) => close.failedSteps.includes(id)),
    keptSteps: keptStepsOf(graph, close.failedSteps),
    finishedAt: close.finishedAt ?? new Date().toISOString(),
    entities: close.entities,
    relationships: close.relationships,
  });
}

/** Drops a durable sync's staging area (+P4: the graph stays as it was). Safe to call when it is gone. */
export async function abortDurableSync(store: GraphStore, sync: DurableSync): Promise<void> {
  const session = await store.resumeSync?.(sync.token);
  await session?.abort();
}

