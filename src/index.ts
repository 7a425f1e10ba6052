/**
 * parallax-edge: Parallax's connector system on web standards. This entry
 * point holds what users call (the connector API, runs and commits) and is
 * platform-neutral; stores live under `parallax-edge/adapters/*`, what store
 * authors need under `parallax-edge/adapter-kit`, and the shared store test
 * suites under `parallax-edge/testing`.
 *
 * @example
 * import { runConnector, commitSync } from 'parallax-edge';
 * import { createSqliteStore } from 'parallax-edge/adapters/sqlite';
 * const store = createSqliteStore('./graph.db');
 * const output = await runConnector(connector, { accountId: 'acme', store });
 * const { stats } = await commitSync(store, output);
 */

// Data model
export { KNOWN_CLASSES, KNOWN_VERBS, isKnownClass, isKnownVerb, type KnownClass, type KnownVerb } from './model/vocabulary.js';
export type { PropertyValue, Properties } from './model/values.js';
export { entityId, relationshipId } from './model/ids.js';
export { entity, EntityBuilder, type EntityData } from './model/entity.js';
export { relationship, RelationshipBuilder, type RelationshipData } from './model/relationship.js';
export { MAX_ROW_BYTES, MAX_ID_BYTES } from './model/limits.js';

// Connectors
export { type Connector, validateConnector } from './connect/connector.js';
export { DEFAULT_STEP_RETRIES, step, StepBuilder, type StepDefinition, type StepPage, type StepRetries } from './connect/step.js';
export { checkSteps, type StepGraph } from './connect/dag.js';
export { ConnectorError, type ConnectorErrorKind, type ConnectorErrorDetails } from './connect/errors.js';
export { EmitResult, type StepContext, type PriorData, type PriorFilter, type StepMetrics } from './connect/context.js';
export type { SyncEvent, SyncEventType, SyncEventListener } from './connect/events.js';
export {
  runConnector,
  type RunOptions,
  type SyncOutput,
  type MemorySyncOutput,
  type StreamedSyncOutput,
  type StepReport,
  type EmittedEntity,
  type EmittedRelationship,
} from './connect/run.js';

// A sync run a page at a time by a durable engine (Cloudflare Workflows)
export {
  openDurableSync,
  runDurablePage,
  failDurableStep,
  commitDurableSync,
  abortDurableSync,
  scheduleSteps,
  type DurableSync,
  type DurablePage,
  type DurablePageOptions,
} from './connect/durable.js';

// Sync protocol
export { commitSync, discardSync, type SyncInput } from './ingest/commit.js';
export { CommitError, type CommitErrorCode } from './ingest/errors.js';
export type { SyncStats } from './ingest/stats.js';

// What stores answer
export type {
  GraphStore,
  RowSource,
  StoredEntity,
  StoredRelationship,
  CommitResult,
  SyncRecord,
  Page,
  PageQuery,
  EntityQuery,
  RelationshipQuery,
  GraphCounts,
  HistoryQuery,
} from './store/types.js';
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './store/paging.js';

// Graph queries (PQL)
export { query, type QueryOptions } from './query/query.js';
export { parsePql } from './query/parser.js';
export { PqlError, QueryLimitError, QueryTooComplexError, type QueryLimit } from './query/errors.js';
export type { PqlQuery, PqlFind, PqlPath, PqlBlast, PqlNode, PqlStep, PqlCondition, PqlValue, PqlDirection, PqlReturn, CompareOp } from './query/ast.js';
export type { QueryResult, QueryGroup, QueryRow, QueryPath, QueryLayer, QueryLimits, GroupValue } from './query/result.js';
export { DEFAULT_QUERY_LIMITS } from './query/result.js';
