import type { EntityData } from '../model/entity.js';
import type { RelationshipData } from '../model/relationship.js';
import type { SyncStats } from '../ingest/stats.js';
import type { QueryPlan } from '../query/plan.js';
import type { QueryContext, QueryResult } from '../query/result.js';

/**
 * The GraphStore contract: what every adapter (memory, sqlite, d1, indexeddb)
 * implements, and what `test/adapters` proves for each of them.
 */

/** Where a stored row came from. `syncId` is the last sync that changed the row. */
export interface RowSource {
  readonly accountId: string;
  readonly connectorId: string;
  readonly syncId: string;
  readonly stepId: string;
}

export interface StoredEntity extends EntityData, RowSource {
  readonly id: string;
}

export interface StoredRelationship extends RelationshipData, RowSource {
  readonly id: string;
  readonly fromId: string;
  readonly toId: string;
}

/** An entity ready for a store: ids, canonical properties text, content hash. */
export interface PreparedEntity {
  readonly id: string;
  readonly entityType: string;
  readonly entityKey: string;
  readonly entityClass: string;
  readonly displayName: string;
  /** Canonical JSON (sorted keys) of the properties. */
  readonly propertiesJson: string;
  /** Hash of everything but the id: equal hash means an unchanged row (+P2). */
  readonly hash: string;
  readonly stepId: string;
}

export interface PreparedRelationship {
  readonly id: string;
  /**
   * Where the sync emitted it: its step's number in the sync times 2^32,
   * plus its index among the step's relationships. INV-C04 names the
   * dangling relationship with the smallest `ord`, the same on every store.
   */
  readonly ord: number;
  readonly fromId: string;
  readonly toId: string;
  readonly fromType: string;
  readonly fromKey: string;
  readonly verb: string;
  readonly toType: string;
  readonly toKey: string;
  readonly propertiesJson: string;
  readonly hash: string;
  readonly stepId: string;
}

/** Which kind of record a unit or a prior read is about. */
export type RecordKind = 'entity' | 'relationship';

/**
 * A unit the scope remembers: a run of consecutive records of one kind that
 * one step emitted, with content-defined ends (see `src/ingest/units.ts`).
 * Its `digest` is the input digest of those records; a later sync whose step
 * emits a unit with the same digest re-emits exactly these rows, unchanged.
 */
export interface UnitRecord {
  readonly digest: string;
  readonly stepId: string;
  readonly kind: RecordKind;
  /** Ids of the unit's rows, in emit order. */
  readonly ids: readonly string[];
}

/** A stored unit emitted again unchanged: its digest, and the `ord` its first row would have (see {@link PreparedRelationship.ord}). */
export interface MatchedUnit {
  readonly kind: RecordKind;
  readonly digest: string;
  readonly ord: number;
}

/**
 * What the core hands a {@link SyncSession}: whole units of one step, the
 * prepared rows of those it did not recognise and the digests of those it
 * did. Made only by the core (frozen, and checked by `assertStagedChunk`),
 * so a store never sees an id it did not derive or JSON it did not write.
 */
export interface StagedChunk {
  readonly stepId: string;
  /**
   * The step's page that emitted the chunk (0 for a step that is not paged):
   * a page run again after a failure first drops what it staged before
   * ({@link SyncSession.discardStep} from that page).
   */
  readonly page: number;
  readonly entities: readonly PreparedEntity[];
  readonly relationships: readonly PreparedRelationship[];
  /** The units whose rows are in this chunk. */
  readonly units: readonly UnitRecord[];
  /** Stored units of this step that were emitted again, unchanged; their rows are not in the chunk. */
  readonly matched: readonly MatchedUnit[];
}

/** Opens a sync's staging area: who syncs, and since when. */
export interface SyncHeader {
  readonly accountId: string;
  readonly connectorId: string;
  readonly syncId: string;
  readonly startedAt: string;
  /**
   * Verify mode: the store answers no stored units (every row is prepared
   * and staged in full) and compares stored rows by their columns rather
   * than their content hash, so rows edited by hand are written again.
   */
  readonly verify?: boolean;
}

/** How a sync ends, for {@link SyncSession.commit}. */
export interface SyncClose {
  readonly failedSteps: readonly string[];
  /** +P1: stored rows whose step is listed here are kept even when not re-emitted. */
  readonly keptSteps: readonly string[];
  readonly finishedAt: string;
  /** Rows the sync emitted (staged plus matched units): the store checks it holds exactly these. */
  readonly entities: number;
  readonly relationships: number;
}

/** Entities of a step's dependencies, read back while the sync runs. */
export interface PriorQuery {
  /** The steps whose rows count (completed dependencies). */
  readonly steps: readonly string[];
  readonly type?: string;
  readonly class?: string;
  /** Only ids after this one (the last id of the previous page). */
  readonly after?: string;
  /** 1 to {@link MAX_PAGE_SIZE}. */
  readonly limit: number;
}

/** An entity as a dependency emitted it in this sync. */
export interface PriorEntity extends EntityData {
  readonly id: string;
  readonly stepId: string;
}

/**
 * One sync's staging area in a store. Rows staged here are invisible to
 * readers until {@link commit}, which applies the diff semantics `commitSync`
 * documents in the store's one atomic unit (INV-C01); {@link abort}, or a
 * crash, leaves the graph as it was (+P4), and the store cleans leftovers.
 * Only the core calls it (`runConnector` with a store, `commitSync`).
 */
export interface SyncSession {
  readonly header: SyncHeader;
  /** Names the staging area: {@link GraphStore.resumeSync} opens it again, in another invocation. */
  readonly token: string;
  /**
   * About how many records a unit holds (a power of two from 1 to 256;
   * default 32). Smaller units stage less of a churned estate again, at a
   * cost per unit: the SQL stores, whose commit plans set-wise, take 8; a
   * store with a cost per unit record (IndexedDB) keeps the default.
   */
  readonly unitRecords?: number;
  /**
   * Digests of the units of `kind` that `stepId` emitted when the scope was
   * last committed in full; empty when the scope's units cannot be trusted
   * (a commit that kept rows, writes by other connectors since, verify mode).
   */
  storedUnits(stepId: string, kind: RecordKind): Promise<ReadonlySet<string>>;
  stage(chunk: StagedChunk): Promise<void>;
  /**
   * +P1: drops what a failed step staged or matched (from page `fromPage`
   * on, when given: a page about to run again); its stored rows stay as
   * they are.
   */
  discardStep(stepId: string, fromPage?: number): Promise<void>;
  /** Ids of the entities staged or matched by `steps`, after `after`, in id order (for `ctx.prior.has` in a resumed sync). */
  priorEntityIds(query: Omit<PriorQuery, 'type' | 'class'>): Promise<readonly string[]>;
  /** Entities staged or matched by `query.steps`, in id order. */
  priorEntities(query: PriorQuery): Promise<Page<PriorEntity>>;
  priorEntity(steps: readonly string[], type: string, key: string): Promise<PriorEntity | undefined>;
  commit(close: SyncClose): Promise<CommitResult>;
  abort(): Promise<void>;
}

/** A committed sync, as the store's history keeps it. */
export interface SyncRecord {
  readonly accountId: string;
  readonly connectorId: string;
  readonly syncId: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly committedAt: string;
  readonly failedSteps: readonly string[];
  readonly keptSteps: readonly string[];
  readonly stats: SyncStats;
}

export interface CommitResult {
  readonly record: SyncRecord;
  readonly stats: SyncStats;
  /**
   * Entity and relationship rows written (inserted, updated or deleted) by the
   * commit, as the store counted them; the history record is not included.
   */
  readonly rowsWritten: number;
}

export interface Page<T> {
  readonly items: readonly T[];
  /** Pass back as `cursor` for the next page; absent on the last page. */
  readonly nextCursor?: string;
}

export interface PageQuery {
  /** 1 to {@link MAX_PAGE_SIZE}; defaults to {@link DEFAULT_PAGE_SIZE}. */
  readonly limit?: number;
  /** Opaque, from a previous page's `nextCursor`. */
  readonly cursor?: string;
}

export interface EntityQuery extends PageQuery {
  readonly accountId?: string;
  readonly type?: string;
  readonly class?: string;
  readonly connectorId?: string;
}

export interface RelationshipQuery extends PageQuery {
  readonly accountId?: string;
  /** Relationships touching this entity, in the given direction (default both). */
  readonly entityId?: string;
  readonly direction?: 'out' | 'in' | 'both';
  readonly verb?: string;
  readonly connectorId?: string;
}

export interface GraphCounts {
  readonly entities: number;
  readonly relationships: number;
  readonly entitiesByClass: Readonly<Record<string, number>>;
  readonly relationshipsByVerb: Readonly<Record<string, number>>;
}

export interface HistoryQuery {
  readonly accountId?: string;
  readonly connectorId?: string;
  /** Newest first; defaults to 50. */
  readonly limit?: number;
}

/**
 * A graph store. Reads never see rows of a sync in progress. Writes go
 * through {@link openSync} only, which `runConnector` (with `store`) and
 * `commitSync` call; the session's commit is atomic (INV-C01) and applies
 * the diff semantics that `commitSync` documents.
 */
export interface GraphStore {
  /** The adapter's name, for messages and benchmarks. */
  readonly kind: string;
  /** Opens the staging area of one sync (the adapter protocol; users call `runConnector` and `commitSync`). */
  openSync(header: SyncHeader): Promise<SyncSession>;
  /**
   * Opens an existing staging area again, by its token, for a sync that runs
   * across invocations (a Cloudflare Workflow); undefined when it is gone
   * (committed, aborted or cleaned up as stale). Stores whose staging lives
   * only as long as their connection (SQLite's TEMP tables) leave it out.
   */
  resumeSync?(token: string): Promise<SyncSession | undefined>;
  getEntity(id: string): Promise<StoredEntity | undefined>;
  findEntity(accountId: string, type: string, key: string): Promise<StoredEntity | undefined>;
  listEntities(query?: EntityQuery): Promise<Page<StoredEntity>>;
  getRelationship(id: string): Promise<StoredRelationship | undefined>;
  listRelationships(query?: RelationshipQuery): Promise<Page<StoredRelationship>>;
  counts(query?: { readonly accountId?: string }): Promise<GraphCounts>;
  syncHistory(query?: HistoryQuery): Promise<readonly SyncRecord[]>;
  /**
   * Evaluates a PQL query plan inside the store (users call `query(store,
   * pql)`): the answers the memory store gives (the reference,
   * `adapters/memory-query.ts`), with the context's limits and paging, as
   * the query contract suite checks. A store without it cannot be queried.
   */
  query?(plan: QueryPlan, context: QueryContext): Promise<QueryResult>;
  close(): Promise<void>;
}
