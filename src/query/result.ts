/**
 * What a query answers, one type for every kind of query, and the context
 * a store evaluates a plan in (limits, paging), with the checks every store
 * applies the same way.
 */
import type { PropertyValue } from '../model/values.js';
import type { StoredEntity, StoredRelationship } from '../store/types.js';
import { QueryLimitError } from './errors.js';
import type { GroupValue } from './match.js';

export type { GroupValue } from './match.js';

export interface QueryGroup {
  readonly value: GroupValue;
  readonly count: number;
}

/** A projected row of `RETURN a, b`: each named property's value, null when missing. */
export type QueryRow = Readonly<Record<string, PropertyValue>>;

export interface QueryPath {
  /** From the start entity to the target, in order. */
  readonly entities: readonly StoredEntity[];
  /** `relationships[i]` joins `entities[i]` and `entities[i + 1]` (in either direction). */
  readonly relationships: readonly StoredRelationship[];
}

export interface QueryLayer {
  /** Hops from the nearest start entity (0: the start entities). */
  readonly distance: number;
  /** In id order. */
  readonly entities: readonly StoredEntity[];
}

/**
 * The answer to any PQL query; fields a kind of query does not fill are
 * empty. `count`: FIND, the matches over all pages (after LIMIT); SHORTEST
 * PATH, the entities on the path (0: none); BLAST RADIUS, the entities in
 * all layers.
 */
export interface QueryResult {
  readonly kind: 'find' | 'path' | 'blast';
  readonly count: number;
  /** FIND without GROUP BY or RETURN: this page of matches, in id order. */
  readonly entities: readonly StoredEntity[];
  /** FIND ... GROUP BY. */
  readonly groups: readonly QueryGroup[];
  /** FIND ... RETURN a, b: this page, in id order of the matches. */
  readonly rows: readonly QueryRow[];
  /** SHORTEST PATH; null when there is none within the depth. */
  readonly path: QueryPath | null;
  /** BLAST RADIUS. */
  readonly layers: readonly QueryLayer[];
  /** More FIND matches: pass back as `cursor`. */
  readonly nextCursor?: string;
}

export interface QueryLimits {
  /** Milliseconds a query may run (default 30,000). Checked as the store goes; SQL checks between statements. */
  readonly timeoutMs?: number;
  /**
   * Entities a query may scan (default 1,000,000): the entities each of its
   * type or class filters matches (`*` matches all), plus, for a path or a
   * blast radius, every entity the traversal reaches.
   */
  readonly maxScanned?: number;
  /** Results one answer may hold (default 10,000): a FIND page, groups, blast-radius entities. */
  readonly maxResults?: number;
}

export const DEFAULT_QUERY_LIMITS = { timeoutMs: 30_000, maxScanned: 1_000_000, maxResults: 10_000 } as const;

/** What a store's `query` gets beside the plan. */
export interface QueryContext {
  /** Only entities of this account. */
  readonly accountId?: string;
  /** FIND matches (or rows) per page. */
  readonly pageSize: number;
  /** Only matches with an id after this one (the decoded cursor). */
  readonly after?: string;
  readonly limits: Required<QueryLimits>;
  /** Epoch ms when the time limit is hit. */
  readonly deadline: number;
}

export function emptyResult(kind: QueryResult['kind']): QueryResult {
  return { kind, count: 0, entities: [], groups: [], rows: [], path: null, layers: [] };
}

/** Throws the time limit's error once the deadline has passed. */
export function checkDeadline(context: QueryContext): void {
  if (Date.now() > context.deadline) {
    throw new QueryLimitError('time', context.limits.timeoutMs, `the query ran longer than its time limit of ${context.limits.timeoutMs} ms`);
  }
}

export function checkScanned(context: QueryContext, scanned: number): void {
  if (scanned > context.limits.maxScanned) {
    throw new QueryLimitError('scanned', context.limits.maxScanned, `the query would scan ${scanned} entities, over its limit of ${context.limits.maxScanned}`);
  }
}

export function checkResults(context: QueryContext, results: number): void {
  if (results > context.limits.maxResults) {
    throw new QueryLimitError('results', context.limits.maxResults, `the query has ${results} results, over its limit of ${context.limits.maxResults}`);
  }
}
