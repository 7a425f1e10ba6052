/**
 * The baseline: the same rows a first sync writes, inserted raw with the
 * same driver (better-sqlite3) as fast as it goes: prepared INSERTs in one
 * transaction into plain tables with the store's columns (no primary key, no
 * index, no staging, no diff), with the store's journal mode (WAL) on a file
 * in the same directory.
 */
import Database from 'better-sqlite3';
import type { CommitBatch } from 'parallax-edge';
import { CREATE_MIGRATIONS_TABLE, migrationStatements, numberedParams } from '../adapters/sql/index.js';

export const RAW_BASELINE =
  'better-sqlite3 12, prepared INSERT per row in one transaction, plain tables (same columns, no keys, no indexes), WAL, file next to the store';

export interface RawBaseline {
  /** Inserts every entity and relationship of the batch; returns the rows inserted. */
  insert(batch: CommitBatch): number;
  close(): void;
}

export function openRawBaseline(path: string): RawBaseline {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(`
    CREATE TABLE raw_entities (
      id TEXT, account_id TEXT, connector_id TEXT, sync_id TEXT, step_id TEXT,
      entity_type TEXT, entity_key TEXT, entity_class TEXT, display_name TEXT, properties TEXT, hash TEXT
    );
    CREATE TABLE raw_relationships (
      id TEXT, account_id TEXT, connector_id TEXT, sync_id TEXT, step_id TEXT,
      from_id TEXT, to_id TEXT, from_type TEXT, from_key TEXT, verb TEXT, to_type TEXT, to_key TEXT, properties TEXT, hash TEXT
    );
  `);
  const insertEntity = db.prepare('INSERT INTO raw_entities VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const insertRelationship = db.prepare('INSERT INTO raw_relationships VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  return rowInserter(db, insertEntity, insertRelationship);
}

export const SCHEMA_BASELINE =
  "better-sqlite3 12, prepared INSERT per row in one transaction into the store's own schema (same DDL: primary keys and indexes, from the SQL module's migrations; its scope triggers standing aside as during a commit), WAL, file next to the store";

/**
 * The second baseline: the same rows inserted the same way, but into tables
 * created by the store's own migrations (its primary keys and indexes), so
 * the ratio shows what the sync path costs beyond maintaining the schema.
 * Only the graph tables are written; no staging, no diff.
 */
export function openSchemaBaseline(path: string): RawBaseline {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  const run = (sql: string, params: readonly (string | number | null)[]): void => {
    db.prepare(sql).run(...(params.length > 0 ? [numberedParams(params)] : []));
  };
  db.transaction(() => {
    run(CREATE_MIGRATIONS_TABLE.sql, []);
    for (const s of migrationStatements(null, new Date().toISOString())) run(s.sql, s.params);
    // The graph tables' scope triggers (migration 3) stand aside during a
    // commit's graph writes; the baseline's writes get the same treatment.
    run(`INSERT INTO commits_in_progress (token) VALUES ('raw-baseline')`, []);
  })();
  const insertEntity = db.prepare(
    `INSERT INTO entities (id, account_id, connector_id, sync_id, step_id, entity_type, entity_key, entity_class,
      display_name, properties, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertRelationship = db.prepare(
    `INSERT INTO relationships (id, account_id, connector_id, sync_id, step_id, from_id, to_id, from_type, from_key, verb,
      to_type, to_key, properties, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  return rowInserter(db, insertEntity, insertRelationship);
}

/** Both baselines insert every row of a batch the same way: one prepared INSERT per row, one transaction. */
function rowInserter(db: Database.Database, insertEntity: Database.Statement, insertRelationship: Database.Statement): RawBaseline {
  const insertAll = db.transaction((batch: CommitBatch): number => {
    const { accountId, connectorId, syncId } = batch;
    let rows = 0;
    for (const e of batch.entities) {
      rows += insertEntity.run(
        e.id, accountId, connectorId, syncId, e.stepId,
        e.entityType, e.entityKey, e.entityClass, e.displayName, e.propertiesJson, e.hash,
      ).changes;
    }
    for (const r of batch.relationships) {
      rows += insertRelationship.run(
        r.id, accountId, connectorId, syncId, r.stepId,
        r.fromId, r.toId, r.fromType, r.fromKey, r.verb, r.toType, r.toKey, r.propertiesJson, r.hash,
      ).changes;
    }
    return rows;
  });
  return {
    insert: (batch) => insertAll.immediate(batch),
    close: () => db.close(),
  };
}
