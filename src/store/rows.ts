/*
 * Stored rows as stores keep them, and their mapping to what readers get:
 * shared by the memory and IndexedDB stores, which keep prepared rows plus
 * their source (the SQL stores map their own columns in adapters/sql).
 */
import type { SyncStats } from '../ingest/stats.js';
import type {
  CommitResult,
  PreparedEntity,
  PreparedRelationship,
  PriorEntity,
  RowSource,
  StoredEntity,
  StoredRelationship,
  SyncClose,
  SyncHeader,
  SyncRecord,
} from './types.js';
import { rowWrites } from '../ingest/stats.js';

/** An entity as a store keeps it: the prepared row (canonical `propertiesJson`, `hash` for the diff) plus its source. */
export type EntityRow = PreparedEntity & RowSource;
/** A relationship as a store keeps it; `ord` is the sync's emit order, meaningless once stored, and may be absent. */
export type RelationshipRow = Omit<PreparedRelationship, 'ord'> & RowSource & { readonly ord?: number };

/** What readers get for a stored entity row: a fresh object, properties parsed. */
export function storedEntity(row: EntityRow): StoredEntity {
  return {
    id: row.id,
    entityType: row.entityType,
    entityKey: row.entityKey,
    entityClass: row.entityClass,
    displayName: row.displayName,
    properties: JSON.parse(row.propertiesJson),
    accountId: row.accountId,
    connectorId: row.connectorId,
    syncId: row.syncId,
    stepId: row.stepId,
  };
}

/** What readers get for a stored relationship row. */
export function storedRelationship(row: RelationshipRow): StoredRelationship {
  return {
    id: row.id,
    fromId: row.fromId,
    toId: row.toId,
    fromType: row.fromType,
    fromKey: row.fromKey,
    verb: row.verb,
    toType: row.toType,
    toKey: row.toKey,
    properties: JSON.parse(row.propertiesJson),
    accountId: row.accountId,
    connectorId: row.connectorId,
    syncId: row.syncId,
    stepId: row.stepId,
  };
}

/** A staged (or stored) entity as a dependent step reads it back (`ctx.prior`); `stepId` is the step that emitted it in this sync. */
export function priorEntity(row: Omit<PreparedEntity, 'hash' | 'stepId'>, stepId: string): PriorEntity {
  return {
    id: row.id,
    stepId,
    entityType: row.entityType,
    entityKey: row.entityKey,
    entityClass: row.entityClass,
    displayName: row.displayName,
    properties: JSON.parse(row.propertiesJson),
  };
}

/** The history record of a commit, committed now. */
export function syncRecord(header: SyncHeader, close: SyncClose, stats: SyncStats): SyncRecord {
  return {
    accountId: header.accountId,
    connectorId: header.connectorId,
    syncId: header.syncId,
    startedAt: header.startedAt,
    finishedAt: close.finishedAt,
    committedAt: new Date().toISOString(),
    failedSteps: [...close.failedSteps],
    keptSteps: [...close.keptSteps],
    stats,
  };
}

/** A commit's result from its stored record: copies, so mutating them cannot rewrite the stored history. */
export function commitResult(record: SyncRecord): CommitResult {
  return { record: structuredClone(record), stats: { ...record.stats }, rowsWritten: rowWrites(record.stats) };
}

/** Orders rows by id, the order every page and prior read uses. */
export const byId = (a: { readonly id: string }, b: { readonly id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
