import type { StreamedSyncOutput } from '../connect/run.js';
import type { EntityData } from '../model/entity.js';
import { entityIdWords, relationshipIdWords } from '../model/ids.js';
import type { RelationshipData } from '../model/relationship.js';
import {
  describeEntity,
  describeRelationship,
  entityLooksValid,
  entityProblems,
  idProblem,
  relationshipLooksValid,
  relationshipProblems,
  type FieldProblem,
} from '../model/validate.js';
import type { CommitResult, GraphStore } from '../store/types.js';
import { CommitError } from './errors.js';
import { DEFAULT_STEP_ID } from './prepare.js';
import { streamed } from './streamed.js';
import { SyncWriter, type StepWriter, type WriterOptions } from './writer.js';

/** The input of a commit: what `runConnector` returns without a store, or the same shape built by hand (REST ingest). */
export interface SyncInput {
  readonly connectorId: string;
  readonly accountId: string;
  readonly syncId: string;
  readonly entities: readonly (EntityData & { readonly stepId?: string })[];
  readonly relationships: readonly (RelationshipData & { readonly stepId?: string })[];
  readonly keptSteps?: readonly string[];
  readonly failedSteps?: readonly string[];
  readonly startedAt?: string;
  readonly finishedAt?: string;
}

/**
 * Commits one sync into a store: the guide's `commit_sync_exclusive`.
 *
 * Semantics, the same on every adapter:
 * - Scope: the rows of this (accountId, connectorId). Rows of other
 *   connectors are never deleted or changed (INV-C02), except by the cascade.
 * - An emitted row is created, updated (content or source changed) or
 *   unchanged (nothing is written: +P2). The last writer of a row becomes its
 *   source, as in Parallax: a row that two connectors emit belongs to the one
 *   that committed last.
 * - A stored row of the scope that was not emitted is deleted, unless its step
 *   failed or runs downstream of a failed step in this run (+P1: kept).
 * - Deleting an entity deletes every relationship touching it, from any
 *   connector, counted in `relationshipsCascaded` (INV-03).
 * - A relationship whose endpoint is neither emitted nor in the graph as it
 *   will be after the commit fails the whole commit with a `CommitError`
 *   `DanglingRelationship` naming it (INV-C04); so does a reused sync id.
 * - All of it lands in one atomic unit, or none of it (INV-C01).
 *
 * A streamed output (`runConnector` with `store`) is already staged in that
 * store and is committed there. Any other input is validated (`InvalidBatch`
 * naming the field, `entities[3].properties.tags`) and staged in bounded
 * chunks first; a refused input leaves the graph as it was. Such an input
 * whose scope another commit changed while it was staged (`SyncConflict`) is
 * staged and committed again once before the conflict is thrown.
 *
 * @example
 * const output = await runConnector(connector, { accountId: 'acme', store });
 * const { stats } = await commitSync(store, output);
 * console.log(stats.entitiesCreated, stats.entitiesUnchanged);
 */
export async function commitSync(store: GraphStore, output: SyncInput | StreamedSyncOutput, options: WriterOptions = {}): Promise<CommitResult> {
  if (isStreamed(output)) return commitStreamed(store, output);
  const accountId = requireId(output?.accountId, 'accountId');
  const connectorId = requireId(output.connectorId, 'connectorId');
  const syncId = requireId(output.syncId, 'syncId');
  if (!Array.isArray(output.entities)) throw new CommitError('InvalidBatch', 'entities must be an array', { field: 'entities' });
  if (!Array.isArray(output.relationships)) {
    throw new CommitError('InvalidBatch', 'relationships must be an array', { field: 'relationships' });
  }
  const keptSteps = stepList(output.keptSteps, 'keptSteps');
  const failedSteps = stepList(output.failedSteps, 'failedSteps');
  const now = new Date().toISOString();
  const startedAt = output.startedAt === undefined ? now : requireId(output.startedAt, 'startedAt');
  const finishedAt = output.finishedAt === undefined ? now : requireId(output.finishedAt, 'finishedAt');
  // The input is still at hand: a conflict with another commit is staged again, once.
  for (let attempt = 1; ; attempt++) {
    const session = await store.openSync({ accountId, connectorId, syncId, startedAt });
    const writer = new SyncWriter(session, options);
    try {
      await feed(writer, output);
      return await writer.commit({ failedSteps, keptSteps, finishedAt });
    } catch (error) {
      await writer.abort();
      if (attempt < 2 && error instanceof CommitError && error.code === 'SyncConflict') continue;
      throw error;
    }
  }
}

function isStreamed(output: SyncInput | StreamedSyncOutput): output is StreamedSyncOutput {
  return typeof output === 'object' && output !== null && (output as { mode?: unknown }).mode === 'streamed';
}

async function commitStreamed(store: GraphStore, output: StreamedSyncOutput): Promise<CommitResult> {
  const writer = streamed.get(output);
  if (!writer) {
    throw new CommitError('InvalidBatch', 'this streamed output was already committed, or was not made by runConnector', { field: 'output' });
  }
  if (output.store !== store) {
    throw new CommitError('InvalidBatch', `this output was staged into another store (${output.store.kind}); commit it there`, { field: 'store' });
  }
  // One commit per run, whatever its outcome.
  streamed.delete(output);
  try {
    return await writer.commit({ failedSteps: output.failedSteps, keptSteps: output.keptSteps, finishedAt: output.finishedAt });
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/**
 * Drops what a streamed run staged, without committing it (+P4: the graph
 * stays as it was), for a run whose outcome is not worth committing. A
 * streamed output that is neither committed nor discarded is removed by a
 * later sync once the store's staging lease has passed.
 *
 * @example
 * const output = await runConnector(connector, { accountId: 'acme', store });
 * if (output.failedSteps.length === output.steps.length) await discardSync(output);
 * else await commitSync(store, output);
 */
export async function discardSync(output: StreamedSyncOutput): Promise<void> {
  const writer = streamed.get(output);
  if (!writer) return;
  streamed.delete(output);
  await writer.abort();
}

function requireId(value: unknown, field: string): string {
  const problem = idProblem(value);
  if (problem) throw new CommitError('InvalidBatch', `${field} ${problem}`, { field });
  return value as string;
}

/** Step ids as stored in the sync record: an array of ids, or none. */
function stepList(value: unknown, field: 'keptSteps' | 'failedSteps'): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new CommitError('InvalidBatch', `${field} must be an array of step ids`, { field });
  return value.map((id, i) => requireId(id, `${field}[${i}]`));
}

/**
 * A record's first error (vocabulary problems are warnings, not errors, at
 * commit time): `RowTooLarge` or `InvalidBatch`, naming the field.
 */
function refuse(list: 'entities' | 'relationships', index: number, problem: FieldProblem, what: () => string): CommitError {
  const field = `${list}[${index}]${problem.field ? `.${problem.field}` : ''}`;
  if (problem.tooLarge) return new CommitError('RowTooLarge', `${field} of ${what()} ${problem.message}`, { field });
  return new CommitError('InvalidBatch', `${field} ${problem.message}`, { field });
}

/**
 * Validates and stages an in-memory input, step by step in input order
 * (entities, then relationships), as a streamed run would have: the same
 * units, so the same digests. Waits for a step's staging every chunk.
 */
async function feed(writer: SyncWriter, input: SyncInput): Promise<void> {
  const { accountId } = writer.session.header;
  const numbers = new Map<string, number>();
  const steps = new Map<string, StepWriter>();
  const names: string[] = [];
  /** The step's id, checked; opening its writer is the only wait, once per step. */
  const stepIdOf = (list: 'entities' | 'relationships', index: number, value: unknown): string =>
    steps.has(value as string) ? (value as string) : value === undefined ? DEFAULT_STEP_ID : requireId(value, `${list}[${index}].stepId`);
  const open = async (stepId: string): Promise<StepWriter> => {
    const number = names.push(stepId);
    const step = await writer.openStep(stepId, number);
    steps.set(stepId, step);
    numbers.set(stepId, number);
    return step;
  };
  const pace = writer.chunkRows;

  for (let index = 0; index < input.entities.length; index++) {
    const e = input.entities[index]!;
    const problem = !e ? { field: '', message: 'is missing' } : entityLooksValid(e) ? undefined : entityProblems(e).find((p) => !p.vocabulary);
    if (problem) throw refuse('entities', index, problem, () => `entity ${describeEntity(e)}`);
    const stepId = stepIdOf('entities', index, e.stepId);
    const step = steps.get(stepId) ?? (await open(stepId));
    const number = numbers.get(stepId)!;
    const id = entityIdWords(accountId, e.entityType, e.entityKey);
    if (writer.keys.claim(id, number) !== 0) {
      throw new CommitError('InvalidBatch', `entities[${index}] repeats entity ${describeEntity(e)}`, { field: `entities[${index}]` });
    }
    step.addEntity(e, id);
    if (index % pace === pace - 1) await step.flushed();
  }
  for (let index = 0; index < input.relationships.length; index++) {
    const r = input.relationships[index]!;
    const problem = !r
      ? { field: '', message: 'is missing' }
      : relationshipLooksValid(r)
        ? undefined
        : relationshipProblems(r).find((p) => !p.vocabulary);
    if (problem) throw refuse('relationships', index, problem, () => `relationship ${describeRelationship(r)}`);
    const stepId = stepIdOf('relationships', index, r.stepId);
    const step = steps.get(stepId) ?? (await open(stepId));
    const number = numbers.get(stepId)!;
    const id = relationshipIdWords(accountId, r.fromType, r.fromKey, r.verb, r.toType, r.toKey);
    if (writer.keys.claim(id, number) !== 0) {
      throw new CommitError('InvalidBatch', `relationships[${index}] repeats relationship ${describeRelationship(r)}`, {
        field: `relationships[${index}]`,
      });
    }
    step.addRelationship(r, id);
    if (index % pace === pace - 1) await step.flushed();
  }
}
