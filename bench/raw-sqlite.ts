/**
 * The baselines: the rows a first sync writes, inserted raw with the same
 * driver (better-sqlite3) as fast as it plainly goes: one prepared INSERT per
 * row, all in one transaction, with the store's journal mode (WAL) on a file
 * in the same directory.
 * - plain (`×raw`): into plain tables with the store's columns (no primary
 *   key, no index, no staging, no diff);
 * - store schema: into the store's own graph tables as its migrations make
 *   them (id primary keys and the graph's indexes), sorted by id with the
 *   indexes dropped and rebuilt after, as the store's bulk load does. What
 *   writing the rows costs with the keys and indexes reads need, before any
 *   staging or diff.
 */
import Database from 'better-sqlite3';
import { createSqliteStore } from 'parallax-edge/adapters/sqlite';
import type { PreparedEntity, PreparedRelationship } from 'parallax-edge/adapter-kit';
import type { RawRows } from './phases.js';

export const RAW_BASELINE =
  'better-sqlite3 12, one prepared INSERT per row in one transaction, plain tables (same columns, no keys, no indexes), WAL, file next to the store';

export const RAW_SCHEMA_BASELINE =
  "the same inserts into the store's own graph tables (id primary keys, the graph's 9 indexes), rows sorted by id, indexes dropped and rebuilt in the transaction";

export interface RawBaseline {
  /** Inserts every entity and relationship; returns the rows inserted. */
  insert(rows: RawRows): number;
  /** Empties the tables (between repetitions; not timed). */
  reset(): void;
  close(): void;
}

const TABLES = `
  CREATE TABLE raw_entities (
    id TEXT, account_id TEXT, connector_id TEXT, sync_id TEXT, step_id TEXT,
    entity_type TEXT, entity_key TEXT, entity_class TEXT, display_name TEXT, properties TEXT, hash TEXT
  );
  CREATE TABLE raw_relationships (
    id TEXT, account_id TEXT, connector_id TEXT, sync_id TEXT, step_id TEXT,
    from_id TEXT, to_id TEXT, from_type TEXT, from_key TEXT, verb TEXT, to_type TEXT, to_key TEXT, properties TEXT, hash TEXT
  );
`;

export function openRawBaseline(path: string): RawBaseline {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(TABLES);
  return rawInserts(db, 'raw_entities', 'raw_relationships', (insertAll) => insertAll);
}

export async function openRawSchemaBaseline(path: string): Promise<RawBaseline> {
  // The store's migrations make the tables; then the store lets go of the file.
  await createSqliteStore(path).close();
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  const indexes = db
    .prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('entities', 'relationships') AND sql IS NOT NULL`)
    .all() as { name: string; sql: string }[];
  const byId = <T extends { id: string }>(rows: readonly T[]): T[] => [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return rawInserts(db, 'entities', 'relationships', (insertAll) => (rows) => {
    for (const index of indexes) db.exec(`DROP INDEX ${index.name}`);
    const n = insertAll({ ...rows, entities: byId(rows.entities), relationships: byId(rows.relationships) });
    for (const index of indexes) db.exec(index.sql);
    return n;
  });
}

/** One prepared INSERT per row into tables with the store's columns in its order; `around` wraps the inserts, inside the transaction. */
function rawInserts(
  db: Database.Database,
  entities: string,
  relationships: string,
  around: (insertAll: (rows: RawRows) => number) => (rows: RawRows) => number,
): RawBaseline {
  const insertEntity = db.prepare(`INSERT INTO ${entities} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const insertRelationship = db.prepare(`INSERT INTO ${relationships} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const insertAll = (rows: RawRows): number => {
    const { accountId, connectorId, syncId } = rows;
    let n = 0;
    for (const e of rows.entities as readonly PreparedEntity[]) {
      n += insertEntity.run(e.id, accountId, connectorId, syncId, e.stepId, e.entityType, e.entityKey, e.entityClass, e.displayName, e.propertiesJson, e.hash).changes;
    }
    for (const r of rows.relationships as readonly PreparedRelationship[]) {
      n += insertRelationship.run(
        r.id, accountId, connectorId, syncId, r.stepId,
        r.fromId, r.toId, r.fromType, r.fromKey, r.verb, r.toType, r.toKey, r.propertiesJson, r.hash,
      ).changes;
    }
    return n;
  };
  const transaction = db.transaction(around(insertAll));
  return {
    insert: (rows) => transaction.immediate(rows),
    reset: () => {
      db.exec(`DELETE FROM ${entities}; DELETE FROM ${relationships};`);
      db.pragma('wal_checkpoint(TRUNCATE)');
    },
    close: () => db.close(),
  };
}
