/**
 * Reads for the SQL adapters. They touch only `entities`, `relationships` and
 * `sync_runs`, never the staging tables, so readers never see a commit in
 * progress. Pages are ordered by id with the shared cursor helpers
 * (`src/store/paging.ts`), like the memory store.
 */
import {
  DEFAULT_HISTORY_LIMIT,
  decodeCursor,
  encodeCursor,
  entityId,
  graphCounts,
  pageLimit,
  type EntityQuery,
  type GraphCounts,
  type HistoryQuery,
  type Page,
  type RelationshipQuery,
  type StoredEntity,
  type StoredRelationship,
  type SyncRecord,
  type SyncStats,
} from '../../src/adapter-kit.js';
import { statement, type SqlStatement, type SqlValue } from './statement.js';

export type Row = Record<string, unknown>;

export const ENTITY_COLUMNS = `id, entity_type, entity_key, entity_class, display_name, properties, account_id, connector_id, sync_id, step_id`;
export const RELATIONSHIP_COLUMNS = `id, from_id, to_id, from_type, from_key, verb, to_type, to_key, properties,
  account_id, connector_id, sync_id, step_id`;

export function entityFromRow(row: Row): StoredEntity {
  return {
    id: String(row.id),
    entityType: String(row.entity_type),
    entityKey: String(row.entity_key),
    entityClass: String(row.entity_class),
    displayName: String(row.display_name),
    properties: JSON.parse(String(row.properties)),
    accountId: String(row.account_id),
    connectorId: String(row.connector_id),
    syncId: String(row.sync_id),
    stepId: String(row.step_id),
  };
}

export function relationshipFromRow(row: Row): StoredRelationship {
  return {
    id: String(row.id),
    fromId: String(row.from_id),
    toId: String(row.to_id),
    fromType: String(row.from_type),
    fromKey: String(row.from_key),
    verb: String(row.verb),
    toType: String(row.to_type),
    toKey: String(row.to_key),
    properties: JSON.parse(String(row.properties)),
    accountId: String(row.account_id),
    connectorId: String(row.connector_id),
    syncId: String(row.sync_id),
    stepId: String(row.step_id),
  };
}

export function getEntityStatement(id: string): SqlStatement {
  return statement('read', `SELECT ${ENTITY_COLUMNS} FROM entities WHERE id = ?1`, [id]);
}

/** By the derived id (INV-C03), so the primary key answers. */
export function findEntityStatement(accountId: string, type: string, key: string): SqlStatement {
  return statement(
    'read',
    `SELECT ${ENTITY_COLUMNS} FROM entities WHERE id = ?1 AND account_id = ?2 AND entity_type = ?3 AND entity_key = ?4`,
    [entityId(accountId, type, key), accountId, type, key],
  );
}

export function getRelationshipStatement(id: string): SqlStatement {
  return statement('read', `SELECT ${RELATIONSHIP_COLUMNS} FROM relationships WHERE id = ?1`, [id]);
}

/** A page query: run `statement`, then pass its rows to `toPage`. */
export interface PageStatement<T> {
  readonly statement: SqlStatement;
  toPage(rows: readonly Row[]): Page<T>;
}

class Where {
  readonly clauses: string[] = [];
  readonly params: SqlValue[] = [];

  /** Adds a clause whose `?` placeholders all stand for `value`. */
  add(clause: string, value: SqlValue): void {
    this.params.push(value);
    this.clauses.push(clause.replaceAll('?', `?${this.params.length}`));
  }

  next(value: SqlValue): string {
    this.params.push(value);
    return `?${this.params.length}`;
  }

  toString(): string {
    return this.clauses.length > 0 ? `WHERE ${this.clauses.join(' AND ')}` : '';
  }
}

function pageStatement<T extends { readonly id: string }>(
  table: string,
  columns: string,
  where: Where,
  limit: number,
  after: string | undefined,
  convert: (row: Row) => T,
): PageStatement<T> {
  if (after !== undefined) where.add('id > ?', after);
  const limitParam = where.next(limit + 1);
  return {
    statement: statement('read', `SELECT ${columns} FROM ${table} ${where} ORDER BY id LIMIT ${limitParam}`, where.params),
    toPage(rows) {
      const items = rows.slice(0, limit).map(convert);
      const last = items.at(-1);
      return rows.length > limit && last ? { items, nextCursor: encodeCursor(last.id) } : { items };
    },
  };
}

/** Throws RangeError for a bad `limit` or `cursor`, like every store. */
export function listEntitiesStatement(query: EntityQuery = {}): PageStatement<StoredEntity> {
  const limit = pageLimit(query.limit);
  const after = decodeCursor(query.cursor);
  const where = new Where();
  if (query.accountId !== undefined) where.add('account_id = ?', query.accountId);
  if (query.type !== undefined) where.add('entity_type = ?', query.type);
  if (query.class !== undefined) where.add('entity_class = ?', query.class);
  if (query.connectorId !== undefined) where.add('connector_id = ?', query.connectorId);
  return pageStatement('entities', ENTITY_COLUMNS, where, limit, after, entityFromRow);
}

/** Throws RangeError for a bad `limit` or `cursor`, like every store. */
export function listRelationshipsStatement(query: RelationshipQuery = {}): PageStatement<StoredRelationship> {
  const limit = pageLimit(query.limit);
  const after = decodeCursor(query.cursor);
  const where = new Where();
  if (query.accountId !== undefined) where.add('account_id = ?', query.accountId);
  if (query.verb !== undefined) where.add('verb = ?', query.verb);
  if (query.connectorId !== undefined) where.add('connector_id = ?', query.connectorId);
  if (query.entityId !== undefined) {
    const direction = query.direction ?? 'both';
    if (direction === 'out') where.add('from_id = ?', query.entityId);
    else if (direction === 'in') where.add('to_id = ?', query.entityId);
    else where.add('(from_id = ? OR to_id = ?)', query.entityId);
  }
  return pageStatement('relationships', RELATIONSHIP_COLUMNS, where, limit, after, relationshipFromRow);
}

/** Two statements (run them in one read transaction): rows `{ name, n }` by class, then by verb. */
export function countsStatements(query: { readonly accountId?: string } = {}): [SqlStatement, SqlStatement] {
  const filter = query.accountId === undefined ? '' : 'WHERE account_id = ?1';
  const params = query.accountId === undefined ? [] : [query.accountId];
  return [
    statement('read', `SELECT entity_class AS name, COUNT(*) AS n FROM entities ${filter} GROUP BY entity_class`, params),
    statement('read', `SELECT verb AS name, COUNT(*) AS n FROM relationships ${filter} GROUP BY verb`, params),
  ];
}

export function countsFromRows(byClass: readonly Row[], byVerb: readonly Row[]): GraphCounts {
  const pairs = (rows: readonly Row[]) => rows.map((row) => [String(row.name), Number(row.n)] as const);
  return graphCounts(pairs(byClass), pairs(byVerb));
}

/** Newest first; rows for `syncRecordFromRow`. A `limit` is checked like a page size (RangeError). */
export function historyStatement(query: HistoryQuery = {}): SqlStatement {
  const where = new Where();
  if (query.accountId !== undefined) where.add('account_id = ?', query.accountId);
  if (query.connectorId !== undefined) where.add('connector_id = ?', query.connectorId);
  const limit = where.next(query.limit === undefined ? DEFAULT_HISTORY_LIMIT : pageLimit(query.limit));
  return statement('read', `SELECT * FROM sync_runs ${where} ORDER BY seq DESC LIMIT ${limit}`, where.params);
}

/** A `sync_runs` row (from the `result` statement or a history read) as a SyncRecord. */
export function syncRecordFromRow(row: Record<string, unknown>): SyncRecord {
  const stats: SyncStats = {
    entitiesCreated: Number(row.entities_created),
    entitiesUpdated: Number(row.entities_updated),
    entitiesUnchanged: Number(row.entities_unchanged),
    entitiesDeleted: Number(row.entities_deleted),
    entitiesKept: Number(row.entities_kept),
    relationshipsCreated: Number(row.relationships_created),
    relationshipsUpdated: Number(row.relationships_updated),
    relationshipsUnchanged: Number(row.relationships_unchanged),
    relationshipsDeleted: Number(row.relationships_deleted),
    relationshipsCascaded: Number(row.relationships_cascaded),
    relationshipsKept: Number(row.relationships_kept),
  };
  return {
    accountId: String(row.account_id),
    connectorId: String(row.connector_id),
    syncId: String(row.sync_id),
    startedAt: String(row.started_at),
    finishedAt: String(row.finished_at),
    committedAt: String(row.committed_at),
    failedSteps: JSON.parse(String(row.failed_steps)) as string[],
    keptSteps: JSON.parse(String(row.kept_steps)) as string[],
    stats,
  };
}
