import type { EntityData } from '../model/entity.js';
import type { RelationshipData } from '../model/relationship.js';
import type { SyncStats } from '../ingest/stats.js';

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

/** One sync's data, validated and with ids, as `commitSync` hands it to a store. */
export interface CommitBatch {
  readonly accountId: string;
  readonly connectorId: string;
  readonly syncId: string;
  readonly entities: readonly PreparedEntity[];
  readonly relationships: readonly PreparedRelationship[];
  /** +P1: stored rows whose step is listed here are kept even when not re-emitted. */
  readonly keptSteps: readonly string[];
  readonly failedSteps: readonly string[];
  readonly startedAt: string;
  readonly finishedAt: string;
  /**
   * The `inputDigest` of the output this batch was prepared from, when it has
   * one: a store that implements {@link GraphStore.commitIfUnchanged} keeps
   * it with the scope it commits.
   */
  readonly inputDigest?: string;
}

/**
 * A sync offered to {@link GraphStore.commitIfUnchanged}: its record's fields
 * and the digest of its output, without rows.
 */
export interface UnchangedRun {
  readonly accountId: string;
  readonly connectorId: string;
  readonly syncId: string;
  readonly failedSteps: readonly string[];
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Rows the output holds, reported as unchanged. */
  readonly entities: number;
  readonly relationships: number;
  /** `inputDigest(output)`. */
  readonly inputDigest: string;
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
 * A graph store. Reads never see rows of a commit in progress. `commit` is
 * atomic (INV-C01) and applies the diff semantics that `commitSync` documents.
 */
export interface GraphStore {
  /** The adapter's name, for messages and benchmarks. */
  readonly kind: string;
  commit(batch: CommitBatch): Promise<CommitResult>;
  /**
   * Optional +P2 fast path, tried by `commitSync` before it prepares a batch.
   * When the scope (account, connector) was last committed in full from an
   * output with this `inputDigest`, and nothing has written to its rows
   * since, the store records the run with every row unchanged, writes no
   * row, and returns the result. Otherwise it returns undefined without
   * writing anything, and `commitSync` commits the full way. It throws what
   * `commit` would for a reused sync id (`DuplicateSyncId`).
   */
  commitIfUnchanged?(run: UnchangedRun): Promise<CommitResult | undefined>;
  getEntity(id: string): Promise<StoredEntity | undefined>;
  findEntity(accountId: string, type: string, key: string): Promise<StoredEntity | undefined>;
  listEntities(query?: EntityQuery): Promise<Page<StoredEntity>>;
  getRelationship(id: string): Promise<StoredRelationship | undefined>;
  listRelationships(query?: RelationshipQuery): Promise<Page<StoredRelationship>>;
  counts(query?: { readonly accountId?: string }): Promise<GraphCounts>;
  syncHistory(query?: HistoryQuery): Promise<readonly SyncRecord[]>;
  close(): Promise<void>;
}
