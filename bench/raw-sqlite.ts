/**
 * The baseline: the rows a first sync writes, inserted raw with the same
 * driver (better-sqlite3) as fast as it plainly goes: one prepared INSERT per
 * row, all in one transaction, into plain tables with the store's columns
 * (no primary key, no index, no staging, no diff), with the store's journal
 * mode (WAL) on a file in the same directory.
 */
import Database from 'better-sqlite3';
import type { RawRows } from './phases.js';

export const RAW_BASELINE =
  'better-sqlite3 12, one prepared INSERT per row in one transaction, plain tables (same columns, no keys, no indexes), WAL, file next to the store';

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
  const insertEntity = db.prepare('INSERT INTO raw_entities VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const insertRelationship = db.prepare('INSERT INTO raw_relationships VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const insertAll = db.transaction((rows: RawRows): number => {
    const { accountId, connectorId, syncId } = rows;
    let n = 0;
    for (const e of rows.entities) {
      n += insertEntity.run(e.id, accountId, connectorId, syncId, e.stepId, e.entityType, e.entityKey, e.entityClass, e.displayName, e.propertiesJson, e.hash).changes;
    }
    for (const r of rows.relationships) {
      n += insertRelationship.run(
        r.id, accountId, connectorId, syncId, r.stepId,
        r.fromId, r.toId, r.fromType, r.fromKey, r.verb, r.toType, r.toKey, r.propertiesJson, r.hash,
      ).changes;
    }
    return n;
  });
  return {
    insert: (rows) => insertAll.immediate(rows),
    reset: () => {
      db.exec('DELETE FROM raw_entities; DELETE FROM raw_relationships;');
      db.pragma('wal_checkpoint(TRUNCATE)');
    },
    close: () => db.close(),
  };
}
