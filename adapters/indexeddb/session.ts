/**
 * A sync's staging session: each staged chunk is one record of
 * `staged_chunks` (key [token, step, page, seq]), written in its own small
 * transaction, invisible to every read; the commit (`commit.ts`) promotes
 * them. The session holds a Web Lock while it lives, so a later sync can
 * tell a live staging area from a closed or crashed page's leftovers and
 * remove those (+P4); where Web Locks are not available, by age. Requests
 * are native (`requests.ts`): a transaction here is a handful of requests,
 * and `inTransaction` owns its abort and error handling.
 */
import {
  CommitError,
  assertStagedChunk,
  byId,
  entityId,
  pageLimit,
  priorEntity,
  type EntityRow,
  type PriorEntity,
  type PriorQuery,
  type StagedChunk,
  type SyncHeader,
  type SyncSession,
} from '../../src/adapter-kit.js';
import { commitStaged } from './commit.js';
import { inTransaction, type Connection } from './connection.js';
import { getEach, request } from './requests.js';
import { prefixFrom, prefixRange, type StagedChunkRow, type StagedSyncRow, type UnitKey } from './schema.js';

/** How old a staging area without a live Web Lock must be before another sync removes it: 24 hours. */
export const DEFAULT_STAGING_LEASE_MS = 24 * 60 * 60_000;

interface LockManagerLike {
  request(name: string, callback: () => Promise<void>): Promise<void>;
  query(): Promise<{ held?: { name?: string }[] }>;
}
const locks = (): LockManagerLike | undefined => (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;

/** Holds a Web Lock until `release` is called; resolves once it is granted. */
async function holdLock(manager: LockManagerLike, name: string): Promise<() => void> {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  await new Promise<void>((granted) => {
    void manager.request(name, () => {
      granted();
      return held;
    });
  });
  return release;
}

/**
 * Removes staging areas whose page is gone: their Web Lock is not held, or
 * (without Web Locks, or for an area opened without one) they are older than
 * `leaseMs`. The lock query is awaited before the transaction starts.
 */
export async function cleanStaleStaging(connection: Connection, leaseMs: number): Promise<void> {
  const manager = locks();
  const held = manager ? new Set((await manager.query()).held?.map((l) => l.name)) : undefined;
  const now = Date.now();
  await inTransaction(connection, ['staged_syncs', 'staged_chunks'], 'readwrite', 'removing stale staging', async (tx) => {
    const headers = await request(tx.objectStore('staged_syncs').getAll() as IDBRequest<StagedSyncRow[]>);
    for (const h of headers) {
      const stale = held && h.lock !== undefined ? !held.has(h.lock) : now - h.openedAt > leaseMs;
      if (!stale) continue;
      tx.objectStore('staged_syncs').delete(h.token);
      tx.objectStore('staged_chunks').delete(prefixRange(h.token));
    }
  });
}

/** Opens a new staging area for `header`. */
export async function openSession(connection: Connection, header: SyncHeader, leaseMs: number): Promise<SyncSession> {
  connection.ensureOpen();
  await cleanStaleStaging(connection, leaseMs);
  const token = crypto.randomUUID();
  const manager = locks();
  const lock = manager ? `parallax-edge:indexeddb:${connection.name}:${token}` : undefined;
  // A closed store's sessions cannot commit: their locks go with it, so this page's next sync may remove their staging.
  const release = connection.holding(manager && lock ? await holdLock(manager, lock) : () => undefined);
  try {
    const row: StagedSyncRow = { token, header, openedAt: Date.now(), ...(lock ? { lock } : {}) };
    await inTransaction(connection, ['staged_syncs'], 'readwrite', `opening sync "${header.syncId}"`, async (tx) => {
      tx.objectStore('staged_syncs').add(row);
    });
  } catch (error) {
    release();
    throw error;
  }
  return session(connection, header, token, release);
}

function session(connection: Connection, header: SyncHeader, token: string, release: () => void): SyncSession {
  const { accountId, connectorId } = header;
  let ended = false;
  let seq = 0;
  /** The scope's version when this session first read its units. */
  let readVersion: number | undefined;
  /** Prior reads, by steps (and filter): sorted once, dropped whenever staging changes. */
  const priorCache = new Map<string, PriorEntity[]>();
  const live = (): void => {
    connection.ensureOpen();
    if (ended) throw new CommitError('StoreFailure', `the sync "${header.syncId}" was already committed or aborted`);
  };
  const end = (): void => {
    ended = true;
    priorCache.clear();
    release();
  };

  /** Every entity staged or matched by `steps`, in id order (matched units' rows read from the graph). */
  async function priorOf(steps: readonly string[]): Promise<PriorEntity[]> {
    const key = JSON.stringify(steps);
    const cached = priorCache.get(key);
    if (cached) return cached;
    const list = await inTransaction(connection, ['staged_chunks', 'units', 'entities'], 'readonly', 'reading prior data', async (tx) => {
      const out: PriorEntity[] = [];
      const matched: [id: string, stepId: string][] = [];
      const unitKeys: UnitKey[] = [];
      for (const stepId of steps) {
        const chunks = await request(tx.objectStore('staged_chunks').getAll(prefixRange(token, stepId)) as IDBRequest<StagedChunkRow[]>);
        for (const chunk of chunks) {
          for (const e of chunk.entities) out.push(priorEntity(e, stepId));
          for (const m of chunk.matched) if (m.kind === 'entity') unitKeys.push([accountId, connectorId, stepId, m.kind, m.digest]);
        }
      }
      const units = await Promise.all(unitKeys.map((k) => request(tx.objectStore('units').get(k) as IDBRequest<{ ids: string[] } | undefined>)));
      units.forEach((unit, i) => {
        for (const id of unit?.ids ?? []) matched.push([id, unitKeys[i]![2]]);
      });
      const stepOf = new Map(matched);
      await getEach<EntityRow>(tx.objectStore('entities'), stepOf.keys(), (id, row) => {
        if (row) out.push(priorEntity(row, stepOf.get(id)!));
      });
      return out.sort(byId);
    });
    priorCache.set(key, list);
    return list;
  }
  /** First index of `list` past `after`, by binary search. */
  const firstAfter = (list: readonly { id: string }[], after: string | undefined): number => {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (after !== undefined && list[mid]!.id <= after) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };

  return {
    header,
    token,
    async storedUnits(stepId, kind) {
      live();
      if (header.verify) return new Set();
      return inTransaction(connection, ['scopes', 'units'], 'readonly', "reading the scope's units", async (tx) => {
        const scope = await request(tx.objectStore('scopes').get([accountId, connectorId]) as IDBRequest<{ version: number; trusted: boolean } | undefined>);
        readVersion ??= scope?.version ?? 0;
        if (!scope || !scope.trusted || scope.version !== readVersion) return new Set<string>();
        const keys = await request(tx.objectStore('units').getAllKeys(prefixRange(accountId, connectorId, stepId, kind)));
        return new Set((keys as UnitKey[]).map((k) => k[4]));
      });
    },
    async stage(chunk: StagedChunk) {
      assertStagedChunk(chunk);
      live();
      const row: StagedChunkRow = { stepId: chunk.stepId, entities: chunk.entities, relationships: chunk.relationships, units: chunk.units, matched: chunk.matched };
      const key = [token, chunk.stepId, chunk.page, ++seq];
      priorCache.clear();
      await inTransaction(connection, ['staged_chunks'], 'readwrite', `staging sync "${header.syncId}"`, async (tx) => {
        tx.objectStore('staged_chunks').add(row, key);
      });
    },
    async discardStep(stepId, fromPage = 0) {
      live();
      priorCache.clear();
      await inTransaction(connection, ['staged_chunks'], 'readwrite', `discarding step "${stepId}"`, async (tx) => {
        tx.objectStore('staged_chunks').delete(prefixFrom(fromPage, token, stepId));
      });
    },
    async priorEntityIds(query) {
      live();
      const list = await priorOf(query.steps);
      const from = firstAfter(list, query.after);
      return list.slice(from, from + pageLimit(query.limit)).map((e) => e.id);
    },
    async priorEntities(query: PriorQuery) {
      live();
      const limit = pageLimit(query.limit);
      const all = await priorOf(query.steps);
      const key = JSON.stringify([query.steps, query.type ?? null, query.class ?? null]);
      let list = priorCache.get(key);
      if (!list) {
        list = all.filter((e) => (query.type === undefined || e.entityType === query.type) && (query.class === undefined || e.entityClass === query.class));
        priorCache.set(key, list);
      }
      const from = firstAfter(list, query.after);
      return { items: list.slice(from, from + limit) };
    },
    async priorEntity(steps, type, key) {
      live();
      const id = entityId(accountId, type, key);
      const list = await priorOf(steps);
      const found = list[binaryIndex(list, id)];
      return found?.id === id ? found : undefined;
    },
    async commit(close) {
      live();
      // A refused commit leaves the session open: the core aborts it.
      const result = await commitStaged(connection, { header, token, readVersion }, close);
      end();
      return result;
    },
    async abort() {
      if (ended) return;
      end();
      // A closed connection cannot delete: the released lock marks the leftovers stale for the next sync.
      if (connection.closedReason !== undefined) return;
      await inTransaction(connection, ['staged_syncs', 'staged_chunks'], 'readwrite', `discarding sync "${header.syncId}"`, async (tx) => {
        tx.objectStore('staged_syncs').delete(token);
        tx.objectStore('staged_chunks').delete(prefixRange(token));
      }).catch(() => undefined);
    },
  };
}

/** Index of the first entry with id >= `id`. */
function binaryIndex(list: readonly { id: string }[], id: string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.id < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
