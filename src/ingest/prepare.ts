import type { EntityData } from '../model/entity.js';
import { contentHash, entityId, relationshipId } from '../model/ids.js';
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
import { canonicalProperties } from '../model/values.js';
import type { CommitBatch, PreparedEntity, PreparedRelationship } from '../store/types.js';
import { CommitError } from './errors.js';

/** The input of a commit: what `runConnector` returns, or the same shape built by hand (REST ingest). */
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

/** Step recorded for rows that arrive without one (REST ingest). */
export const DEFAULT_STEP_ID = 'ingest';

function requireId(value: unknown, field: string): string {
  const problem = idProblem(value);
  if (problem) throw new CommitError('InvalidBatch', `${field} ${problem}`, { field });
  return value as string;
}

/** Step ids as stored in the sync record: an array of ids, or none. */
function stepIds(value: unknown, field: 'keptSteps' | 'failedSteps'): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new CommitError('InvalidBatch', `${field} must be an array of step ids`, { field });
  return value.map((id, i) => requireId(id, `${field}[${i}]`));
}

/** A record's problem as the commit refuses it: `RowTooLarge` or `InvalidBatch`, the field under `at`. */
function refused(problem: FieldProblem, at: string, what: () => string): CommitError {
  const field = `${at}${problem.field ? `.${problem.field}` : ''}`;
  if (problem.tooLarge) return new CommitError('RowTooLarge', `${field} of ${what()} ${problem.message}`, { field });
  return new CommitError('InvalidBatch', `${field} ${problem.message}`, { field });
}

/**
 * One field of a content hash's input: length-prefixed, so that fields never
 * run into each other (`ab`+`c` and `a`+`bc` differ); the last field (the
 * properties JSON) needs no prefix.
 */
const hashField = (text: string): string => `${text.length}:${text}`;

const MAX_REUSED_HASHES = 10_000;

/**
 * Validates a sync's records and derives what stores need: ids (INV-C03),
 * canonical properties and content hashes. Throws `InvalidBatch` naming the
 * field (`entities[3].properties.tags`) before any store is touched, or
 * `RowTooLarge` for a row over `MAX_ROW_BYTES`, naming the entity and
 * its largest field. Every stored string must be valid Unicode, and ids
 * (account, connector, sync, step) at most `MAX_ID_BYTES`.
 *
 * The hash covers content and source (connector, step), so a row taken over
 * by another connector or step counts as updated, and an unchanged row is
 * skipped entirely (+P2).
 */
export function prepareBatch(input: SyncInput): CommitBatch {
  const accountId = requireId(input?.accountId, 'accountId');
  const connectorId = requireId(input.connectorId, 'connectorId');
  const syncId = requireId(input.syncId, 'syncId');
  if (!Array.isArray(input.entities)) throw new CommitError('InvalidBatch', 'entities must be an array', { field: 'entities' });
  if (!Array.isArray(input.relationships)) {
    throw new CommitError('InvalidBatch', 'relationships must be an array', { field: 'relationships' });
  }

  // The connector and step part of the hash input, once per step (the step
  // id is checked then, named by the first row that has it).
  const sources = new Map<string, string>();
  const source = (stepId: string, field: string): string => {
    let text = sources.get(stepId);
    if (text === undefined) {
      requireId(stepId, field);
      sources.set(stepId, (text = `${hashField(connectorId)}${hashField(stepId)}`));
    }
    return text;
  };
  // Relationships often carry the same properties (none, or a few shared
  // values): their hash input then repeats, and its hash is reused.
  const relationshipHashes = new Map<string, string>();

  const entities: PreparedEntity[] = [];
  // Hashing dominates preparation: relationship endpoints reuse the ids of
  // entities in the batch instead of hashing (account, type, key) again.
  // Keyed by type, then key: no joined string to build per lookup. Equal
  // (type, key) is an equal id, so it also finds repeated entities.
  const idsByTypeKey = new Map<string, Map<string, string>>();
  const endpointId = (type: string, key: string): string => idsByTypeKey.get(type)?.get(key) ?? entityId(accountId, type, key);
  for (let index = 0; index < input.entities.length; index++) {
    const e = input.entities[index]!;
    const problem = !e ? { field: '', message: 'is missing' } : entityLooksValid(e) ? undefined : entityProblems(e).find((p) => !p.vocabulary);
    if (problem) throw refused(problem, `entities[${index}]`, () => `entity ${describeEntity(e)}`);
    let idsByKey = idsByTypeKey.get(e.entityType);
    if (!idsByKey) idsByTypeKey.set(e.entityType, (idsByKey = new Map()));
    if (idsByKey.has(e.entityKey)) {
      const field = `entities[${index}]`;
      throw new CommitError('InvalidBatch', `${field} repeats entity ${describeEntity(e)}`, { field });
    }
    const id = entityId(accountId, e.entityType, e.entityKey);
    idsByKey.set(e.entityKey, id);
    const stepId = e.stepId ?? DEFAULT_STEP_ID;
    const propertiesJson = canonicalProperties(e.properties);
    entities.push({
      id,
      entityType: e.entityType,
      entityKey: e.entityKey,
      entityClass: e.entityClass,
      displayName: e.displayName,
      propertiesJson,
      hash: contentHash(`${hashField(e.entityClass)}${hashField(e.displayName)}${source(stepId, `entities[${index}].stepId`)}${propertiesJson}`),
      stepId,
    });
  }

  const relationships: PreparedRelationship[] = [];
  const seenRelationships = new Set<string>();
  for (let index = 0; index < input.relationships.length; index++) {
    const r = input.relationships[index]!;
    const problem = !r
      ? { field: '', message: 'is missing' }
      : relationshipLooksValid(r)
      ? undefined
      : relationshipProblems(r).find((p) => !p.vocabulary);
    if (problem) throw refused(problem, `relationships[${index}]`, () => `relationship ${describeRelationship(r)}`);
    const id = relationshipId(accountId, r.fromType, r.fromKey, r.verb, r.toType, r.toKey);
    if (seenRelationships.has(id)) {
      const field = `relationships[${index}]`;
      throw new CommitError('InvalidBatch', `${field} repeats relationship ${describeRelationship(r)}`, { field });
    }
    seenRelationships.add(id);
    const stepId = r.stepId ?? DEFAULT_STEP_ID;
    const propertiesJson = canonicalProperties(r.properties);
    const hashInput = `${source(stepId, `relationships[${index}].stepId`)}${propertiesJson}`;
    let hash = relationshipHashes.get(hashInput);
    if (hash === undefined) {
      hash = contentHash(hashInput);
      // Bounded: a batch of all-different properties gains nothing from remembering them.
      if (relationshipHashes.size < MAX_REUSED_HASHES) relationshipHashes.set(hashInput, hash);
    }
    relationships.push({
      id,
      fromId: endpointId(r.fromType, r.fromKey),
      toId: endpointId(r.toType, r.toKey),
      fromType: r.fromType,
      fromKey: r.fromKey,
      verb: r.verb,
      toType: r.toType,
      toKey: r.toKey,
      propertiesJson,
      hash,
      stepId,
    });
  }

  const now = new Date().toISOString();
  return {
    accountId,
    connectorId,
    syncId,
    entities,
    relationships,
    keptSteps: stepIds(input.keptSteps, 'keptSteps'),
    failedSteps: stepIds(input.failedSteps, 'failedSteps'),
    startedAt: input.startedAt === undefined ? now : requireId(input.startedAt, 'startedAt'),
    finishedAt: input.finishedAt === undefined ? now : requireId(input.finishedAt, 'finishedAt'),
  };
}
