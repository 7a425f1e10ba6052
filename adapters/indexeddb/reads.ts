/**
 * The store's reads, each in one readonly transaction (a consistent
 * snapshot: a commit lands whole before or after it). Single-row reads and
 * history use `idb`; pages walk native cursors (see `requests.ts`).
 */
import {
  DEFAULT_HISTORY_LIMIT,
  byId,
  decodeCursor,
  encodeCursor,
  entityId,
  graphCounts,
  pageLimit,
  storedEntity,
  storedRelationship,
  type EntityQuery,
  type EntityRow,
  type GraphStore,
  type HistoryQuery,
  type Page,
  type RelationshipQuery,
  type RelationshipRow,
  type SyncRecord,
} from '../../src/adapter-kit.js';
import type { Connection } from './connection.js';
import { request, walk } from './requests.js';
import { prefixRange, type HistoryRow, type StoreName } from './schema.js';

type Reads = Pick<GraphStore, 'getEntity' | 'findEntity' | 'listEntities' | 'getRelationship' | 'listRelationships' | 'counts' | 'syncHistory'>;

/** The reads of a store on `connection`. */
export function createReads(connection: Connection): Reads {
  const { db } = connection;
  /** Runs a read; IndexedDB failures become `StoreFailure`. */
  async function read<T>(stores: StoreName[], doing: string, body: (tx: IDBTransaction) => Promise<T>): Promise<T> {
    const tx = connection.transaction(stores, 'readonly');
    try {
      return await body(tx);
    } catch (error) {
      throw connection.failure(error, doing);
    }
  }
  async function one<T>(doing: string, get: () => Promise<T>): Promise<T> {
    connection.ensureOpen();
    try {
      return await get();
    } catch (error) {
      throw connection.failure(error, doing);
    }
  }

  return {
    getEntity: (id) => one('reading an entity', async () => {
      const row = await db.get('entities', id);
      return row && storedEntity(row);
    }),

    // The id is derived from (account, type, key): the primary key finds it.
    findEntity: (accountId, type, key) => one('finding an entity', async () => {
      const row = await db.get('entities', entityId(accountId, type, key));
      return row && row.accountId === accountId && row.entityType === type && row.entityKey === key ? storedEntity(row) : undefined;
    }),

    async listEntities(query: EntityQuery = {}) {
      connection.ensureOpen();
      const limit = pageLimit(query.limit);
      const after = decodeCursor(query.cursor);
      return read(['entities'], 'listing entities', async (tx) => {
        const entities = tx.objectStore('entities');
        const { accountId, type, class: entityClass, connectorId } = query;
        const source: Source =
          accountId === undefined
            ? { from: entities }
            : type !== undefined
              ? { from: entities.index('account_type'), key: [accountId, type] }
              : entityClass !== undefined
                ? { from: entities.index('account_class'), key: [accountId, entityClass] }
                : // By connector alone: the id-ordered store, filtered (an index would cost every commit its upkeep).
                  { from: entities };
        const rows = await pageOf<EntityRow>(
          source,
          after,
          limit + 1,
          (row) =>
            (accountId === undefined || row.accountId === accountId) &&
            (type === undefined || row.entityType === type) &&
            (entityClass === undefined || row.entityClass === entityClass) &&
            (connectorId === undefined || row.connectorId === connectorId),
        );
        return toPage(rows, limit, storedEntity);
      });
    },

    getRelationship: (id) => one('reading a relationship', async () => {
      const row = await db.get('relationships', id);
      return row && storedRelationship(row);
    }),

    async listRelationships(query: RelationshipQuery = {}) {
      connection.ensureOpen();
      const limit = pageLimit(query.limit);
      const after = decodeCursor(query.cursor);
      return read(['relationships'], 'listing relationships', async (tx) => {
        const relationships = tx.objectStore('relationships');
        const { accountId, entityId: endpoint, verb, connectorId } = query;
        const direction = query.direction ?? 'both';
        const match = (row: RelationshipRow): boolean =>
          (accountId === undefined || row.accountId === accountId) &&
          (verb === undefined || row.verb === verb) &&
          (connectorId === undefined || row.connectorId === connectorId) &&
          (endpoint === undefined || (direction !== 'in' && row.fromId === endpoint) || (direction !== 'out' && row.toId === endpoint));
        let rows: RelationshipRow[];
        if (endpoint !== undefined) {
          // Each direction is id-ordered on its own index; the first limit+1 of the union are among the first limit+1 of each.
          const outgoing = direction === 'in' ? [] : await pageOf<RelationshipRow>({ from: relationships.index('fromId'), key: endpoint }, after, limit + 1, match);
          const incoming = direction === 'out' ? [] : await pageOf<RelationshipRow>({ from: relationships.index('toId'), key: endpoint }, after, limit + 1, match);
          const unique = new Map([...outgoing, ...incoming].map((row) => [row.id, row]));
          rows = [...unique.values()].sort(byId).slice(0, limit + 1);
        } else {
          const source: Source =
            accountId === undefined
              ? { from: relationships }
              : verb !== undefined
                ? { from: relationships.index('account_verb'), key: [accountId, verb] }
                : { from: relationships };
          rows = await pageOf<RelationshipRow>(source, after, limit + 1, match);
        }
        return toPage(rows, limit, storedRelationship);
      });
    },

    counts: (query = {}) =>
      read(['entities', 'relationships'], 'counting rows', async (tx) => {
        const range = query.accountId === undefined ? null : prefixRange(query.accountId);
        const byClass = await countByIndexKey(tx.objectStore('entities').index('account_class'), range);
        const byVerb = await countByIndexKey(tx.objectStore('relationships').index('account_verb'), range);
        return graphCounts(byClass, byVerb);
      }),

    async syncHistory(query: HistoryQuery = {}) {
      connection.ensureOpen();
      const limit = query.limit === undefined ? DEFAULT_HISTORY_LIMIT : pageLimit(query.limit);
      return one('reading sync history', async () => {
        const history = db.transaction('history').store;
        const { accountId, connectorId } = query;
        // Keys are the commit sequence, so 'prev' walks newest first.
        let cursor =
          accountId !== undefined && connectorId !== undefined
            ? await history.index('account_connector').openCursor([accountId, connectorId], 'prev')
            : accountId !== undefined
              ? await history.index('accountId').openCursor(accountId, 'prev')
              : connectorId !== undefined
                ? await history.index('connectorId').openCursor(connectorId, 'prev')
                : await history.openCursor(null, 'prev');
        const records: SyncRecord[] = [];
        while (cursor && records.length < limit) {
          const { seq: _seq, ...record } = cursor.value as HistoryRow;
          records.push(record);
          cursor = await cursor.continue();
        }
        return records;
      });
    },
  };
}

/** Where a page is read from: a whole store, or one key of an index (rows are ordered by id within it). */
interface Source {
  readonly from: IDBObjectStore | IDBIndex;
  readonly key?: IDBValidKey;
}

/** Up to `count` matching rows with id > `after`, in id order. */
async function pageOf<Row extends { id: string }>(source: Source, after: string | undefined, count: number, match: (row: Row) => boolean): Promise<Row[]> {
  const rows: Row[] = [];
  const { from, key } = source;
  if (key === undefined) {
    // The whole store, filtered: one getAll per batch of ids, not a request per row.
    const batch = Math.max(count, 64);
    let past = after;
    for (;;) {
      const got = await request(from.getAll(past === undefined ? null : IDBKeyRange.lowerBound(past, true), batch) as IDBRequest<Row[]>);
      for (const row of got) {
        if (match(row)) rows.push(row);
        if (rows.length === count) return rows;
      }
      if (got.length < batch) return rows;
      past = got.at(-1)!.id;
    }
  }
  return walk(from.openCursor(IDBKeyRange.only(key)), (cursor) => {
    const id = cursor.primaryKey as string;
    // Within one index key, entries are ordered by primary key: jump past the cursor's id.
    if (after !== undefined && id <= after) {
      if (id < after) cursor.continuePrimaryKey(key, after);
      else cursor.continue();
      return 'moved';
    }
    const row = (cursor as IDBCursorWithValue).value as Row;
    if (match(row)) rows.push(row);
    return rows.length < count;
  }).then(() => rows);
}

/** `[value, count]` per distinct (account, value) key of the index: one pair per account. */
async function countByIndexKey(index: IDBIndex, range: IDBKeyRange | null): Promise<[string, number][]> {
  const keys: [string, string][] = [];
  await walk(index.openKeyCursor(range, 'nextunique'), (cursor) => {
    keys.push(cursor.key as [string, string]);
  });
  const counts = await Promise.all(keys.map((key) => new Promise<number>((resolve, reject) => {
    const req = index.count(key);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  })));
  return keys.map(([, value], i) => [value, counts[i]!]);
}

function toPage<Row extends { id: string }, Out>(rows: Row[], limit: number, convert: (row: Row) => Out): Page<Out> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return rows.length > limit && last ? { items: items.map(convert), nextCursor: encodeCursor(last.id) } : { items: items.map(convert) };
}
