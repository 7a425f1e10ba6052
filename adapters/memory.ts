/**
 * The in-memory GraphStore: the reference the other adapters are compared
 * with (+P3), and a fast store for tests and short-lived runs. Its commit
 * checks everything first and then applies the changes synchronously, so no
 * reader can observe half a commit (INV-C01).
 *
 * Like the SQL stores, it remembers the input digest of each scope's last
 * full commit for `commitIfUnchanged` (+P2); only commits write its rows, so
 * a commit that writes another scope's row forgets that scope's digest.
 *
 * @example
 * import { createMemoryStore } from 'parallax-edge/adapters/memory';
 * const store = createMemoryStore();
 * const { stats } = await commitSync(store, output);
 */
import {
  CommitError,
  DEFAULT_HISTORY_LIMIT,
  danglingRelationship,
  decodeCursor,
  duplicateSync,
  emptyStats,
  encodeCursor,
  graphCounts,
  pageLimit,
  rowWrites,
  type CommitBatch,
  type CommitResult,
  type EntityQuery,
  type GraphStore,
  type HistoryQuery,
  type Page,
  type PreparedEntity,
  type PreparedRelationship,
  type RelationshipQuery,
  type RowSource,
  type StoredEntity,
  type StoredRelationship,
  type SyncRecord,
  type SyncStats,
  type UnchangedRun,
} from '../src/index.js';

type EntityRow = PreparedEntity & RowSource;
type RelationshipRow = PreparedRelationship & RowSource;

export interface MemoryStore extends GraphStore {
  readonly kind: 'memory';
}

/** Creates an empty in-memory store. */
export function createMemoryStore(): MemoryStore {
  const entities = new Map<string, EntityRow>();
  const relationships = new Map<string, RelationshipRow>();
  const history: SyncRecord[] = [];
  /** Per scope: the input digest of its last commit, while its rows are exactly what that commit left. */
  const scopeDigests = new Map<string, string>();
  const scopeOf = (row: { accountId: string; connectorId: string }): string => `${row.accountId}\0${row.connectorId}`;
  let closed = false;

  const open = (): void => {
    if (closed) throw new CommitError('StoreFailure', 'the memory store is closed');
  };

  const toEntity = (row: EntityRow): StoredEntity => ({
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
  });
  const toRelationship = (row: RelationshipRow): StoredRelationship => ({
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
  });

  function page<Row extends { id: string }, Out>(
    rows: Iterable<Row>,
    keep: (row: Row) => boolean,
    convert: (row: Row) => Out,
    query: { limit?: number; cursor?: string },
  ): Page<Out> {
    const limit = pageLimit(query.limit);
    const after = decodeCursor(query.cursor);
    const matching = [...rows].filter((row) => keep(row) && (after === undefined || row.id > after));
    matching.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const items = matching.slice(0, limit);
    const last = items.at(-1);
    return matching.length > limit && last ? { items: items.map(convert), nextCursor: encodeCursor(last.id) } : { items: items.map(convert) };
  }

  function refuseDuplicate(accountId: string, syncId: string): void {
    if (history.some((r) => r.accountId === accountId && r.syncId === syncId)) throw duplicateSync(accountId, syncId);
  }

  function record(run: Omit<SyncRecord, 'committedAt' | 'stats'>, stats: SyncStats): CommitResult {
    const stored: SyncRecord = {
      accountId: run.accountId,
      connectorId: run.connectorId,
      syncId: run.syncId,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
      committedAt: new Date().toISOString(),
      failedSteps: [...run.failedSteps],
      keptSteps: [...run.keptSteps],
      stats,
    };
    history.push(stored);
    // The caller gets copies: mutating them must not rewrite the stored history.
    return { record: structuredClone(stored), stats: { ...stats }, rowsWritten: rowWrites(stats) };
  }

  function commitIfUnchanged(run: UnchangedRun): CommitResult | undefined {
    open();
    refuseDuplicate(run.accountId, run.syncId);
    if (scopeDigests.get(scopeOf(run)) !== run.inputDigest) return undefined;
    return record({ ...run, keptSteps: [] }, { ...emptyStats(), entitiesUnchanged: run.entities, relationshipsUnchanged: run.relationships });
  }

  function commit(batch: CommitBatch): CommitResult {
    open();
    const { accountId, connectorId, syncId } = batch;
    refuseDuplicate(accountId, syncId);
    const kept = new Set(batch.keptSteps);
    const inScope = (row: RowSource): boolean => row.accountId === accountId && row.connectorId === connectorId;
    const stats = emptyStats();

    // Check and plan: nothing is changed until every check has passed.
    const emittedEntities = new Map(batch.entities.map((e) => [e.id, e]));
    const entityWrites: PreparedEntity[] = [];
    for (const e of batch.entities) {
      const old = entities.get(e.id);
      if (!old) stats.entitiesCreated++;
      else if (old.hash === e.hash) stats.entitiesUnchanged++;
      else stats.entitiesUpdated++;
      if (!old || old.hash !== e.hash) entityWrites.push(e);
    }
    const deletedEntities = new Set<string>();
    for (const row of entities.values()) {
      if (!inScope(row) || emittedEntities.has(row.id)) continue;
      if (kept.has(row.stepId)) stats.entitiesKept++;
      else deletedEntities.add(row.id);
    }
    stats.entitiesDeleted = deletedEntities.size;

    const willExist = (id: string): boolean => emittedEntities.has(id) || (entities.has(id) && !deletedEntities.has(id));
    const dangling = batch.relationships.filter((r) => !willExist(r.fromId) || !willExist(r.toId));
    if (dangling.length > 0) throw danglingRelationship(dangling[0]!, dangling.length);

    const emittedRelationships = new Set(batch.relationships.map((r) => r.id));
    const relationshipWrites: PreparedRelationship[] = [];
    for (const r of batch.relationships) {
      const old = relationships.get(r.id);
      if (!old) stats.relationshipsCreated++;
      else if (old.hash === r.hash) stats.relationshipsUnchanged++;
      else stats.relationshipsUpdated++;
      if (!old || old.hash !== r.hash) relationshipWrites.push(r);
    }
    const deletedRelationships: string[] = [];
    for (const row of relationships.values()) {
      if (emittedRelationships.has(row.id)) continue;
      const touchesDeleted = deletedEntities.has(row.fromId) || deletedEntities.has(row.toId);
      if (inScope(row) && !kept.has(row.stepId)) {
        deletedRelationships.push(row.id);
      } else if (touchesDeleted) {
        stats.relationshipsCascaded++;
        deletedRelationships.push(row.id);
      } else if (inScope(row)) {
        stats.relationshipsKept++;
      }
    }
    stats.relationshipsDeleted = deletedRelationships.length;

    // Apply: synchronous, so it lands whole. Other scopes whose rows this
    // takes over or cascades away no longer match their digest.
    const source = { accountId, connectorId, syncId };
    const forget = (old: RowSource | undefined): void => {
      if (old && !inScope(old)) scopeDigests.delete(scopeOf(old));
    };
    for (const e of entityWrites) {
      forget(entities.get(e.id));
      entities.set(e.id, { ...e, ...source });
    }
    for (const id of deletedEntities) entities.delete(id);
    for (const r of relationshipWrites) {
      forget(relationships.get(r.id));
      relationships.set(r.id, { ...r, ...source });
    }
    for (const id of deletedRelationships) {
      forget(relationships.get(id));
      relationships.delete(id);
    }
    // With kept steps (+P1) the scope holds more than the batch: no digest.
    if (batch.inputDigest !== undefined && batch.keptSteps.length === 0) scopeDigests.set(scopeOf(batch), batch.inputDigest);
    else scopeDigests.delete(scopeOf(batch));
    return record(batch, stats);
  }

  return {
    kind: 'memory',
    async commit(batch) {
      return commit(batch);
    },
    async commitIfUnchanged(run) {
      return commitIfUnchanged(run);
    },
    async getEntity(id) {
      open();
      const row = entities.get(id);
      return row && toEntity(row);
    },
    async findEntity(accountId, type, key) {
      open();
      for (const row of entities.values()) {
        if (row.accountId === accountId && row.entityType === type && row.entityKey === key) return toEntity(row);
      }
      return undefined;
    },
    async listEntities(query: EntityQuery = {}) {
      open();
      return page(
        entities.values(),
        (row) =>
          (query.accountId === undefined || row.accountId === query.accountId) &&
          (query.type === undefined || row.entityType === query.type) &&
          (query.class === undefined || row.entityClass === query.class) &&
          (query.connectorId === undefined || row.connectorId === query.connectorId),
        toEntity,
        query,
      );
    },
    async getRelationship(id) {
      open();
      const row = relationships.get(id);
      return row && toRelationship(row);
    },
    async listRelationships(query: RelationshipQuery = {}) {
      open();
      const direction = query.direction ?? 'both';
      return page(
        relationships.values(),
        (row) =>
          (query.accountId === undefined || row.accountId === query.accountId) &&
          (query.verb === undefined || row.verb === query.verb) &&
          (query.connectorId === undefined || row.connectorId === query.connectorId) &&
          (query.entityId === undefined ||
            (direction !== 'in' && row.fromId === query.entityId) ||
            (direction !== 'out' && row.toId === query.entityId)),
        toRelationship,
        query,
      );
    },
    async counts(query = {}) {
      open();
      const tally = <Row extends RowSource>(rows: Map<string, Row>, name: (row: Row) => string) =>
        [...rows.values()].filter((row) => query.accountId === undefined || row.accountId === query.accountId).map((row) => [name(row), 1] as const);
      return graphCounts(tally(entities, (e) => e.entityClass), tally(relationships, (r) => r.verb));
    },
    async syncHistory(query: HistoryQuery = {}) {
      open();
      // Checked like a page size: a negative limit must not slice from the end.
      const limit = query.limit === undefined ? DEFAULT_HISTORY_LIMIT : pageLimit(query.limit);
      return history
        .filter(
          (r) =>
            (query.accountId === undefined || r.accountId === query.accountId) &&
            (query.connectorId === undefined || r.connectorId === query.connectorId),
        )
        .reverse()
        .slice(0, limit)
        .map((r) => structuredClone(r));
    },
    async close() {
      closed = true;
    },
  };
}
