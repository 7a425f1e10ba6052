/**
 * The in-memory GraphStore: the reference the other adapters are compared
 * with (+P3), and a fast store for tests and short-lived runs. A sync's
 * session stages into maps of its own; its commit plans the diff with the
 * shared pure plan (`src/store/diff.ts`), checks everything, and then
 * applies the changes synchronously, so no reader can observe half a commit
 * (INV-C01).
 *
 * Like every store, it remembers each scope's units (runs of records with
 * their input digests) from its last full commit, so that a sync that
 * re-emits them stages nothing of them (+P2); a commit that writes another
 * scope's row makes that scope's units unknown until its next full commit.
 *
 * @example
 * import { commitSync, runConnector } from 'parallax-edge';
 * import { createMemoryStore } from 'parallax-edge/adapters/memory';
 * const store = createMemoryStore();
 * const { stats } = await commitSync(store, await runConnector(connector, { accountId: 'acme', store }));
 */
import {
  CommitError,
  DEFAULT_HISTORY_LIMIT,
  assertStagedChunk,
  byId,
  commitResult,
  danglingRelationship,
  decodeCursor,
  duplicateSync,
  encodeCursor,
  entityId,
  findDangling,
  graphCounts,
  pageLimit,
  planEntities,
  planRelationships,
  planStats,
  priorEntity,
  storedEntity,
  storedRelationship,
  syncRecord,
  syncConflict,
  type CommitResult,
  type EntityRow,
  type EntityQuery,
  type GraphStore,
  type HistoryQuery,
  type Page,
  type PreparedEntity,
  type PreparedRelationship,
  type PriorEntity,
  type PriorQuery,
  type RecordKind,
  type RelationshipRow,
  type RelationshipQuery,
  type RowSource,
  type StagedChunk,
  type SyncClose,
  type SyncHeader,
  type SyncRecord,
  type SyncSession,
  type SyncStats,
  type UnitRecord,
} from '../src/adapter-kit.js';
import { buildQueryGraph, evaluateQuery, type QueryGraph } from './memory-query.js';

export interface MemoryStore extends GraphStore {
  readonly kind: 'memory';
}

/** A scope's units from its last full commit; `units` is undefined while they are unknown. */
interface ScopeUnits {
  /** Moves whenever `units` is replaced or dropped: a sync that matched units checks it at commit. */
  version: number;
  units: Map<string, UnitRecord> | undefined;
}

/** What one step staged in a session. */
interface StagedStep {
  readonly entities: Map<string, PreparedEntity>;
  readonly relationships: Map<string, PreparedRelationship>;
  readonly units: UnitRecord[];
  /** `kind NUL digest` of matched units, with the `ord` of their first row. */
  readonly matched: Map<string, number>;
  /** Ids of the entities of its matched units (stored rows), for prior reads. */
  readonly matchedEntities: Set<string>;
}

const unitKey = (kind: RecordKind, digest: string): string => `${kind}\0${digest}`;

/** Creates an empty in-memory store. */
export function createMemoryStore(): MemoryStore {
  const entities = new Map<string, EntityRow>();
  const relationships = new Map<string, RelationshipRow>();
  const history: SyncRecord[] = [];
  const scopes = new Map<string, ScopeUnits>();
  const scopeKey = (row: { accountId: string; connectorId: string }): string => `${row.accountId}\0${row.connectorId}`;
  const scopeOf = (row: { accountId: string; connectorId: string }): ScopeUnits => {
    let scope = scopes.get(scopeKey(row));
    if (!scope) scopes.set(scopeKey(row), (scope = { version: 0, units: new Map() }));
    return scope;
  };
  let closed = false;
  /** The query index of the graph, rebuilt on the first query after a commit. */
  let queryGraph: QueryGraph | undefined;
  /** Open sessions by token, for `resumeSync` (within this process: the store is memory). */
  const sessions = new Map<string, SyncSession>();
  let tokens = 0;

  const open = (): void => {
    if (closed) throw new CommitError('StoreFailure', 'the memory store is closed');
  };

  const toEntity = storedEntity;
  const toRelationship = storedRelationship;

  function page<Row extends { id: string }, Out>(
    rows: Iterable<Row>,
    keep: (row: Row) => boolean,
    convert: (row: Row) => Out,
    query: { limit?: number; cursor?: string },
  ): Page<Out> {
    const limit = pageLimit(query.limit);
    const after = decodeCursor(query.cursor);
    const matching = [...rows].filter((row) => keep(row) && (after === undefined || row.id > after));
    matching.sort(byId);
    const items = matching.slice(0, limit);
    const last = items.at(-1);
    return matching.length > limit && last ? { items: items.map(convert), nextCursor: encodeCursor(last.id) } : { items: items.map(convert) };
  }

  function refuseDuplicate(accountId: string, syncId: string): void {
    if (history.some((r) => r.accountId === accountId && r.syncId === syncId)) throw duplicateSync(accountId, syncId);
  }

  function openSession(header: SyncHeader): SyncSession {
    open();
    const token = `m${++tokens}`;
    /** What each page of each step staged, by `stepId NUL page`. */
    const steps = new Map<string, StagedStep & { readonly stepId: string; readonly page: number }>();
    let ended = false;
    /** The scope's units version when this session first read them, if it did. */
    let readVersion: number | undefined;
    const live = (): void => {
      open();
      if (ended) throw new CommitError('StoreFailure', `the sync "${header.syncId}" was already committed or aborted`);
    };
    const pageOf = (stepId: string, page: number): StagedStep => {
      const key = `${stepId}\0${page}`;
      let step = steps.get(key);
      if (!step) steps.set(key, (step = { stepId, page, entities: new Map(), relationships: new Map(), units: [], matched: new Map(), matchedEntities: new Set() }));
      return step;
    };
    /** Every page a step staged. */
    const pagesOf = (stepId: string): StagedStep[] => [...steps.values()].filter((s) => s.stepId === stepId);
    const storedUnit = (kind: RecordKind, digest: string): UnitRecord | undefined => scopeOf(header).units?.get(unitKey(kind, digest));
    /** A dependency's entity as staged, or as stored for a matched unit's row. */
    const priorRow = (id: string, stepIds: readonly string[]): PriorEntity | undefined => {
      for (const stepId of stepIds) {
        for (const step of pagesOf(stepId)) {
          const staged = step.entities.get(id);
          if (staged) return priorOf(staged);
          const stored = step.matchedEntities.has(id) ? entities.get(id) : undefined;
          if (stored) return priorOf(stored);
        }
      }
      return undefined;
    };
    const priorIds = (stepIds: readonly string[]): string[] =>
      stepIds.flatMap((stepId) => pagesOf(stepId).flatMap((step) => [...step.entities.keys(), ...step.matchedEntities]));
    /** Prior pages of one query, sorted once: dependencies stage nothing more once they are read. */
    const priorLists = new Map<string, PriorEntity[]>();
    const priorList = (query: PriorQuery): PriorEntity[] => {
      const key = JSON.stringify([query.steps, query.type ?? null, query.class ?? null]);
      let list = priorLists.get(key);
      if (!list) {
        list = [];
        for (const stepId of query.steps) {
          for (const id of priorIds([stepId])) {
            const row = priorRow(id, [stepId])!;
            if ((query.type === undefined || row.entityType === query.type) && (query.class === undefined || row.entityClass === query.class)) list.push(row);
          }
        }
        priorLists.set(key, list.sort(byId));
      }
      return list;
    };

    const session: SyncSession = {
      header,
      token,
      async storedUnits(stepId, kind) {
        live();
        const scope = scopeOf(header);
        if (header.verify || !scope.units) return new Set();
        readVersion ??= scope.version;
        const out = new Set<string>();
        for (const unit of scope.units.values()) if (unit.stepId === stepId && unit.kind === kind) out.add(unit.digest);
        return out;
      },
      async stage(chunk: StagedChunk) {
        assertStagedChunk(chunk);
        live();
        const step = pageOf(chunk.stepId, chunk.page);
        // The core refuses a repeat within a run; across invocations (pages of a Workflow) this finds it.
        for (const row of [...chunk.entities, ...chunk.relationships]) {
          if ([...steps.values()].some((p) => p.entities.has(row.id) || p.relationships.has(row.id))) {
            throw new CommitError('InvalidBatch', `step "${chunk.stepId}" emitted a row that this sync has already staged (a record emitted twice, in two pages or steps)`, {
              field: 'stepId',
            });
          }
        }
        for (const e of chunk.entities) step.entities.set(e.id, e);
        for (const r of chunk.relationships) step.relationships.set(r.id, r);
        step.units.push(...chunk.units);
        for (const m of chunk.matched) {
          step.matched.set(unitKey(m.kind, m.digest), m.ord);
          if (m.kind === 'entity') for (const id of storedUnit(m.kind, m.digest)?.ids ?? []) step.matchedEntities.add(id);
        }
        priorLists.clear();
      },
      async discardStep(stepId, fromPage = 0) {
        live();
        for (const [key, step] of steps) if (step.stepId === stepId && step.page >= fromPage) steps.delete(key);
        priorLists.clear();
      },
      async priorEntityIds(query) {
        live();
        const ids = priorIds(query.steps).filter((id) => query.after === undefined || id > query.after).sort();
        return ids.slice(0, pageLimit(query.limit));
      },
      async priorEntities(query: PriorQuery) {
        live();
        const limit = pageLimit(query.limit);
        const list = priorList(query);
        // First index past `after`, by binary search over the sorted ids.
        let lo = 0;
        let hi = list.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (query.after !== undefined && list[mid]!.id <= query.after) lo = mid + 1;
          else hi = mid;
        }
        return { items: list.slice(lo, lo + limit) };
      },
      async priorEntity(stepIds, type, key) {
        live();
        return priorRow(entityId(header.accountId, type, key), stepIds);
      },
      async commit(close) {
        live();
        const result = commit(header, steps, close, readVersion);
        ended = true;
        sessions.delete(token);
        return result;
      },
      async abort() {
        ended = true;
        steps.clear();
        sessions.delete(token);
      },
    };
    sessions.set(token, session);
    return session;
  }

  const priorOf = (row: PreparedEntity): PriorEntity => priorEntity(row, row.stepId);

  function commit(header: SyncHeader, steps: ReadonlyMap<string, StagedStep>, close: SyncClose, readVersion: number | undefined): CommitResult {
    const { accountId, connectorId, syncId } = header;
    refuseDuplicate(accountId, syncId);
    const scope = scopeOf(header);
    const matchedAny = [...steps.values()].some((s) => s.matched.size > 0);
    // Matched units stand for stored rows: they must still be what this sync read.
    if (matchedAny && (readVersion === undefined || scope.version !== readVersion || !scope.units)) throw syncConflict(accountId, connectorId);
    const keptSteps = new Set(close.keptSteps);
    const inScope = (row: RowSource): boolean => row.accountId === accountId && row.connectorId === connectorId;

    // Emitted rows: staged ones with their hash, matched units' rows with the stored hash.
    const stagedEntities = new Map<string, PreparedEntity>();
    const stagedRelationships = new Map<string, PreparedRelationship>();
    const emittedEntities = new Map<string, string>();
    const emittedRelationships = new Map<string, PreparedRelationship | (RelationshipRow & { ord: number })>();
    const units: UnitRecord[] = [];
    for (const step of steps.values()) {
      for (const [id, e] of step.entities) {
        stagedEntities.set(id, e);
        emittedEntities.set(id, e.hash);
      }
      for (const [id, r] of step.relationships) {
        stagedRelationships.set(id, r);
        emittedRelationships.set(id, r);
      }
      units.push(...step.units);
      for (const [key, ord] of step.matched) {
        const unit = scope.units!.get(key);
        if (!unit) throw syncConflict(accountId, connectorId);
        units.push(unit);
        unit.ids.forEach((id, i) => {
          const row = unit.kind === 'entity' ? entities.get(id) : relationships.get(id);
          if (!row || !inScope(row)) throw syncConflict(accountId, connectorId);
          if (unit.kind === 'entity') emittedEntities.set(id, row.hash);
          else emittedRelationships.set(id, { ...(row as RelationshipRow), ord: ord + i });
        });
      }
    }
    if (emittedEntities.size !== close.entities || emittedRelationships.size !== close.relationships) {
      throw new CommitError(
        'StoreFailure',
        `sync "${syncId}" staged ${emittedEntities.size} entities and ${emittedRelationships.size} relationships but emitted ${close.entities} and ${close.relationships}; nothing was committed`,
      );
    }

    // Plan: nothing is changed until every check has passed.
    const hashesOf = <Row extends { hash: string }>(ids: Iterable<string>, rows: ReadonlyMap<string, Row>): Map<string, string> => {
      const out = new Map<string, string>();
      for (const id of ids) {
        const row = rows.get(id);
        if (row) out.set(id, row.hash);
      }
      return out;
    };
    const scopeRows = <Row extends RowSource & { id: string }>(rows: ReadonlyMap<string, Row>): [string, string][] =>
      [...rows.values()].filter(inScope).map((row) => [row.id, row.stepId]);
    const entityPlan = planEntities(emittedEntities, hashesOf(emittedEntities.keys(), entities), scopeRows(entities), keptSteps);
    const willExist = (id: string): boolean => emittedEntities.has(id) || (entities.has(id) && !entityPlan.deletes.has(id));
    const dangling = findDangling(emittedRelationships.values(), willExist);
    if (dangling) throw danglingRelationship(dangling.first, dangling.count);
    const touching: string[] = [];
    if (entityPlan.deletes.size > 0) {
      for (const row of relationships.values()) {
        if (entityPlan.deletes.has(row.fromId) || entityPlan.deletes.has(row.toId)) touching.push(row.id);
      }
    }
    const relationshipHashes = new Map([...emittedRelationships].map(([id, r]) => [id, r.hash]));
    const relationshipPlan = planRelationships(
      relationshipHashes,
      hashesOf(relationshipHashes.keys(), relationships),
      scopeRows(relationships),
      keptSteps,
      touching,
    );
    const stats: SyncStats = planStats(entityPlan, relationshipPlan);

    queryGraph = undefined;
    // Apply: synchronous, so it lands whole. Other scopes whose rows this
    // takes over or cascades away no longer know their units.
    const source = { accountId, connectorId, syncId };
    const forget = (old: RowSource | undefined): void => {
      if (!old || inScope(old)) return;
      const other = scopeOf(old);
      other.version++;
      other.units = undefined;
    };
    for (const id of entityPlan.writes) {
      forget(entities.get(id));
      entities.set(id, { ...stagedEntities.get(id)!, ...source });
    }
    for (const id of entityPlan.deletes) entities.delete(id);
    for (const id of relationshipPlan.writes) {
      forget(relationships.get(id));
      relationships.set(id, { ...stagedRelationships.get(id)!, ...source });
    }
    for (const id of relationshipPlan.deletes) {
      forget(relationships.get(id));
      relationships.delete(id);
    }
    // With kept steps (+P1) the scope holds more than its units: unknown until a full commit.
    scope.version++;
    scope.units = keptSteps.size === 0 ? new Map(units.map((u) => [unitKey(u.kind, u.digest), u])) : undefined;
    return record(header, close, stats);
  }

  function record(header: SyncHeader, close: SyncClose, stats: SyncStats): CommitResult {
    const stored = syncRecord(header, close, stats);
    history.push(stored);
    return commitResult(stored);
  }

  return {
    kind: 'memory',
    async openSync(header) {
      return openSession(header);
    },
    async resumeSync(token) {
      open();
      return sessions.get(token);
    },
    async getEntity(id) {
      open();
      const row = entities.get(id);
      return row && toEntity(row);
    },
    async findEntity(accountId, type, key) {
      open();
      const row = entities.get(entityId(accountId, type, key));
      return row && row.accountId === accountId && row.entityType === type && row.entityKey === key ? toEntity(row) : undefined;
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
    async query(plan, context) {
      open();
      queryGraph ??= buildQueryGraph([...entities.values()].map(toEntity), [...relationships.values()].map(toRelationship));
      return evaluateQuery(queryGraph, plan, context);
    },
    async close() {
      closed = true;
    },
  };
}
