/**
 * parallax-edge/adapter-kit: what authors of a GraphStore need, and nobody
 * else. A store implements `GraphStore` (reads, and `openSync` for the
 * staging protocol the core drives), proves itself with the suites in
 * `parallax-edge/testing`, and uses these helpers to behave like every
 * other store: the same paging, the same errors, the same diff.
 *
 * @example
 * import { assertStagedChunk, type SyncSession } from 'parallax-edge/adapter-kit';
 * async stage(chunk) { assertStagedChunk(chunk); ... }
 */
export type * from './store/types.js';
export { assertStagedChunk } from './ingest/chunk.js';
export { DEFAULT_STEP_ID } from './ingest/prepare.js';
export { CommitError, type CommitErrorCode } from './ingest/errors.js';
export { type SyncStats, emptyStats, rowWrites } from './ingest/stats.js';
export { pageLimit, encodeCursor, decodeCursor, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, DEFAULT_HISTORY_LIMIT } from './store/paging.js';
export { danglingRelationship, duplicateSync, syncConflict } from './store/commit-errors.js';
export { propertyValueProblem, canonicalProperties } from './model/values.js';
export { entityProblems, relationshipProblems, describeEntity, describeRelationship, type FieldProblem } from './model/validate.js';
export { graphCounts } from './store/counts.js';
export { entityId, relationshipId, contentHash, sha256Hex, useNativeSha256 } from './model/ids.js';
export { planEntities, planRelationships, planStats, findDangling, type EntityPlan, type RelationshipPlan, type Endpoints } from './store/diff.js';
export { storedEntity, storedRelationship, priorEntity, syncRecord, commitResult, byId, type EntityRow, type RelationshipRow } from './store/rows.js';

// Query plans, for a store's GraphStore.query
export type * from './query/plan.js';
export type { PqlValue, PqlDirection, CompareOp } from './query/ast.js';
export { planQuery, planNodes, BUILTIN_FIELDS, DEFAULT_PATH_DEPTH, DEFAULT_BLAST_DEPTH } from './query/plan.js';
export { parsePql, MAX_DEPTH, MAX_NESTING } from './query/parser.js';
export { PqlError, QueryLimitError, QueryTooComplexError } from './query/errors.js';
export { emptyResult, checkDeadline, checkScanned, checkResults, DEFAULT_QUERY_LIMITS, type QueryContext, type QueryResult, type QueryLimits } from './query/result.js';
export { matchesCondition, matchesFilter, matchesNode, fieldValue, groupValues, compareGroups, compareText, likeRegExp, type GroupValue } from './query/match.js';
