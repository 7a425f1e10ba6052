import type { EntityData } from '../model/entity.js';
import { contentHash, entityId, relationshipId } from '../model/ids.js';
import type { RelationshipData } from '../model/relationship.js';
import { entityLooksValid, entityProblems, relationshipLooksValid, relationshipProblems, describeRelationship } from '../model/validate.js';
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
  if (typeof value !== 'string' || value.length === 0) {
    throw new CommitError('InvalidBatch', `${field} must be a non-empty string`, { field });
  }
  return value;
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
 * field (`entities[3].properties.tags`) before any store is touched.
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

  // The connector and step part of the hash input, once per step.
  const sources = new Map<string, string>();
  const source = (stepId: string): string => {
    let text = sources.get(stepId);
    if (text === undefined) sources.set(stepId, (text = `${hashField(connectorId)}${hashField(stepId)}`));
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
    if (problem) {
      const field = `entities[${index}]${problem.field ? `.${problem.field}` : ''}`;
      throw new CommitError('InvalidBatch', `${field} ${problem.message}`, { field });
    }
    let idsByKey = idsByTypeKey.get(e.entityType);
    if (!idsByKey) idsByTypeKey.set(e.entityType, (idsByKey = new Map()));
    if (idsByKey.has(e.entityKey)) {
      const field = `entities[${index}]`;
      throw new CommitError('InvalidBatch', `${field} repeats entity ${e.entityType}:${e.entityKey}`, { field });
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
      hash: contentHash(`${hashField(e.entityClass)}${hashField(e.displayName)}${source(stepId)}${propertiesJson}`),
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
    if (problem) {
      const field = `relationships[${index}]${problem.field ? `.${problem.field}` : ''}`;
      throw new CommitError('InvalidBatch', `${field} ${problem.message}`, { field });
    }
    const id = relationshipId(accountId, r.fromType, r.fromKey, r.verb, r.toType, r.toKey);
    if (seenRelationships.has(id)) {
      const field = `relationships[${index}]`;
      throw new CommitError('InvalidBatch', `${field} repeats relationship ${describeRelationship(r)}`, { field });
    }
    seenRelationships.add(id);
    const stepId = r.stepId ?? DEFAULT_STEP_ID;
    const propertiesJson = canonicalProperties(r.properties);
    const hashInput = `${source(stepId)}${propertiesJson}`;
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
    keptSteps: [...(input.keptSteps ?? [])],
    failedSteps: [...(input.failedSteps ?? [])],
    startedAt: input.startedAt ?? now,
    finishedAt: input.finishedAt ?? now,
  };
}
