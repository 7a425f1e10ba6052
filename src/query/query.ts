/**
 * `query(store, pql)`: parse, plan, and hand the plan to the store's own
 * evaluator (`GraphStore.query`), which runs it inside the store.
 */
import { decodeCursor } from '../store/paging.js';
import type { GraphStore } from '../store/types.js';
import { QueryLimitError } from './errors.js';
import { parsePql } from './parser.js';
import { planQuery } from './plan.js';
import { DEFAULT_QUERY_LIMITS, checkDeadline, type QueryContext, type QueryLimits, type QueryResult } from './result.js';

export interface QueryOptions extends QueryLimits {
  /** Only this account's entities (default: every account). */
  readonly accountId?: string;
  /** FIND matches per page, 1 to `maxResults` (default `maxResults`). */
  readonly limit?: number;
  /** A previous answer's `nextCursor`. */
  readonly cursor?: string;
}

const positive = (name: string, value: number | undefined, fallback: number): number => {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  return value;
};

/**
 * Runs a PQL query on a store. Throws {@link PqlError} for a malformed
 * query, {@link QueryLimitError} when a limit is hit, RangeError for a bad
 * option or cursor. An unknown type or property is no error: it matches
 * nothing.
 *
 * @example
 * import { query } from 'parallax-edge';
 * import { createMemoryStore } from 'parallax-edge/adapters/memory';
 * const store = createMemoryStore();
 * const { count, entities, nextCursor } = await query(store, 'FIND host THAT !PROTECTS edr_agent', { limit: 100 });
 * const more = nextCursor && (await query(store, 'FIND host THAT !PROTECTS edr_agent', { limit: 100, cursor: nextCursor }));
 */
export async function query(store: GraphStore, pql: string, options: QueryOptions = {}): Promise<QueryResult> {
  const plan = planQuery(parsePql(pql));
  const limits = {
    timeoutMs: positive('timeoutMs', options.timeoutMs, DEFAULT_QUERY_LIMITS.timeoutMs),
    maxScanned: positive('maxScanned', options.maxScanned, DEFAULT_QUERY_LIMITS.maxScanned),
    maxResults: positive('maxResults', options.maxResults, DEFAULT_QUERY_LIMITS.maxResults),
  };
  const pageSize = positive('limit', options.limit, limits.maxResults);
  if (pageSize > limits.maxResults) {
    throw new QueryLimitError('results', limits.maxResults, `a page of ${pageSize} results is over the query's results limit of ${limits.maxResults}`);
  }
  const after = decodeCursor(options.cursor);
  if (!store.query) throw new TypeError(`the ${store.kind} store does not evaluate queries (GraphStore.query is missing)`);
  const context: QueryContext = {
    ...(options.accountId === undefined ? {} : { accountId: options.accountId }),
    pageSize,
    ...(after === undefined ? {} : { after }),
    limits,
    deadline: Date.now() + limits.timeoutMs,
  };
  const result = await store.query(plan, context);
  checkDeadline(context);
  return result;
}
