/**
 * The IndexedDB schema (version 3) and its upgrades from versions 1 and 2.
 *
 * Graph stores keep only the indexes reads need (5; version 2 had 7,
 * version 1 had 8): `entities` by (account, type) and (account, class) for
 * listing, counts and PQL filters; `relationships` by `fromId` / `toId`
 * (listing by entity, traversals, the INV-03 cascade) and (account, verb).
 * Index upkeep is most of a first sync's cost (each entry is another
 * LevelDB write of about two ids), so version 3 drops version 2's `scope`
 * = (account, connector) indexes: the commit takes a scope's ids from its
 * units while they stand for its rows (`ScopeRow.trusted`), and scans the
 * rows otherwise (after kept steps, another connector's writes, or an
 * upgrade); listing by connector filters the id-ordered store. `findEntity`
 * uses the primary key (the id is derived from account, type and key).
 *
 * Staging (`staged_syncs` headers, `staged_chunks` one record per staged
 * chunk) has no indexes: a chunk is written as one record, and the commit
 * writes each of its rows once, into the graph (+P4: uncommitted staging
 * is invisible to every read, and removed once stale).
 */
import type { DBSchema, IDBPDatabase, IDBPTransaction, StoreNames } from 'idb';
import type { EntityRow, MatchedUnit, PreparedEntity, PreparedRelationship, RecordKind, RelationshipRow, SyncHeader, SyncRecord, UnitRecord } from '../../src/adapter-kit.js';

/** The schema version this adapter creates and expects. */
export const INDEXEDDB_SCHEMA_VERSION = 3;

/** A scope: the rows one connector wrote in one account. */
export type ScopeKey = [accountId: string, connectorId: string];

export type HistoryRow = SyncRecord & { seq?: number };

/** A sync's staging header: who syncs, since when, and the Web Lock that says its page is alive. */
export interface StagedSyncRow {
  readonly token: string;
  readonly header: SyncHeader;
  /** Epoch ms the staging area was opened: the age test where Web Locks are not available. */
  readonly openedAt: number;
  /** The Web Lock the session holds while it lives; absent where `navigator.locks` is not available. */
  readonly lock?: string;
}

/** One staged chunk, as one record: key [token, stepId, page, seq]. */
export interface StagedChunkRow {
  readonly stepId: string;
  readonly entities: readonly PreparedEntity[];
  readonly relationships: readonly PreparedRelationship[];
  readonly units: readonly UnitRecord[];
  readonly matched: readonly MatchedUnit[];
}
export type ChunkKey = [token: string, stepId: string, page: number, seq: number];

/**
 * A unit the scope remembers from its last full commit: key [account,
 * connector, step, kind, digest]. While the scope is trusted, its units'
 * ids are exactly its rows (the commit's diff plan reads them, not the rows).
 */
export interface UnitRow {
  readonly ids: readonly string[];
  /** The rows' content hashes, as committed: a later commit of a current scope diffs a changed unit's rows without reading them. */
  readonly hashes?: readonly string[];
}
export type UnitKey = [accountId: string, connectorId: string, stepId: string, kind: RecordKind, digest: string];

/**
 * A scope's state: `version` moves with every commit that changes it (its
 * own, or another connector's that takes or cascades one of its rows), so a
 * sync that matched units can tell at commit they still stand (SyncConflict).
 * `trusted` is false while its units do not describe its rows (after a
 * commit with kept steps, or another connector's writes).
 */
export interface ScopeRow {
  readonly version: number;
  readonly trusted: boolean;
  /** Rows and units of its last full commit, for the unchanged fast path. */
  readonly entities: number;
  readonly relationships: number;
  readonly units: number;
}

export interface Schema extends DBSchema {
  entities: {
    key: string;
    value: EntityRow;
    indexes: { account_type: [string, string]; account_class: [string, string] };
  };
  relationships: {
    key: string;
    value: RelationshipRow;
    indexes: { fromId: string; toId: string; account_verb: [string, string] };
  };
  history: {
    key: number;
    value: HistoryRow;
    indexes: { account_sync: [string, string]; accountId: string; connectorId: string; account_connector: [string, string] };
  };
  staged_syncs: { key: string; value: StagedSyncRow };
  staged_chunks: { key: ChunkKey; value: StagedChunkRow };
  units: { key: UnitKey; value: UnitRow };
  scopes: { key: ScopeKey; value: ScopeRow };
}

export type StoreName = StoreNames<Schema>;

/**
 * Creates the schema, or upgrades version 1 or 2 in place: rows are kept as
 * they are (the same row shape) and indexes trimmed; the stores version 2
 * added start empty on version 1 (no scope row: its next commit scans).
 */
export function upgradeSchema(db: IDBPDatabase<Schema>, oldVersion: number, tx: IDBPTransaction<Schema, StoreName[], 'versionchange'>): void {
  if (oldVersion < 1) {
    const entities = db.createObjectStore('entities', { keyPath: 'id' });
    entities.createIndex('account_type', ['accountId', 'entityType']);
    entities.createIndex('account_class', ['accountId', 'entityClass']);
    const relationships = db.createObjectStore('relationships', { keyPath: 'id' });
    relationships.createIndex('fromId', 'fromId');
    relationships.createIndex('toId', 'toId');
    relationships.createIndex('account_verb', ['accountId', 'verb']);
    const history = db.createObjectStore('history', { keyPath: 'seq', autoIncrement: true });
    history.createIndex('account_sync', ['accountId', 'syncId'], { unique: true });
    history.createIndex('accountId', 'accountId');
    history.createIndex('connectorId', 'connectorId');
    history.createIndex('account_connector', ['accountId', 'connectorId']);
  } else {
    // Version 1 had `account_type_key`; versions 1 and 2 had a `scope` index on both graph stores.
    const graph = (name: 'entities' | 'relationships') => tx.objectStore(name) as unknown as { deleteIndex(name: string): void };
    if (oldVersion < 2) graph('entities').deleteIndex('account_type_key');
    graph('entities').deleteIndex('scope');
    graph('relationships').deleteIndex('scope');
  }
  if (oldVersion < 2) {
    db.createObjectStore('staged_syncs', { keyPath: 'token' });
    db.createObjectStore('staged_chunks');
    db.createObjectStore('units');
    db.createObjectStore('scopes');
  }
}

/** Every key that starts with `prefix` (array keys: `[]` sorts after every string and number). */
export const prefixRange = (...prefix: (string | number)[]): IDBKeyRange => IDBKeyRange.bound(prefix, [...prefix, []]);

/** From `[...prefix, from]` on, within `prefix`. */
export const prefixFrom = (from: number, ...prefix: string[]): IDBKeyRange => IDBKeyRange.bound([...prefix, from], [...prefix, []]);
