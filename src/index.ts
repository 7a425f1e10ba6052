/**
 * parallax-edge: Parallax's connector system on web standards. This entry
 * point is platform-neutral; stores live under `parallax-edge/adapters/*`.
 *
 * @example
 * import { runConnector, commitSync } from 'parallax-edge';
 * import { createMemoryStore } from 'parallax-edge/adapters/memory';
 * const output = await runConnector(connector, { accountId: 'acme', syncId: 'sync-001' });
 * const { stats } = await commitSync(createMemoryStore(), output);
 */

// Data model
export { KNOWN_CLASSES, KNOWN_VERBS, isKnownClass, isKnownVerb, type KnownClass, type KnownVerb } from './model/vocabulary.js';
export { type PropertyValue, type Properties, propertyValueProblem, canonicalProperties } from './model/values.js';
export { entityId, relationshipId, contentHash, sha256Hex, useFastBlake3, useNativeSha256 } from './model/ids.js';
export { entity, EntityBuilder, type EntityData } from './model/entity.js';
export { relationship, RelationshipBuilder, type RelationshipData } from './model/relationship.js';
export { entityProblems, relationshipProblems, describeEntity, describeRelationship, type FieldProblem } from './model/validate.js';
export { MAX_ROW_BYTES, MAX_ID_BYTES } from './model/limits.js';

// Connectors
export { type Connector, validateConnector } from './connect/connector.js';
export { step, StepBuilder, type StepDefinition } from './connect/step.js';
export { checkSteps, type StepGraph } from './connect/dag.js';
export { ConnectorError, asConnectorError, type ConnectorErrorKind, type ConnectorErrorDetails } from './connect/errors.js';
export { EmitResult, type StepContext, type PriorData, type StepMetrics } from './connect/context.js';
export type { SyncEvent, SyncEventType, SyncEventListener } from './connect/events.js';
export {
  runConnector,
  type RunOptions,
  type SyncOutput,
  type StepReport,
  type EmittedEntity,
  type EmittedRelationship,
} from './connect/run.js';

// Sync protocol
export { commitSync } from './ingest/commit.js';
export { prepareBatch, DEFAULT_STEP_ID, type SyncInput } from './ingest/prepare.js';
export { inputDigest } from './ingest/input-digest.js';
export { CommitError, type CommitErrorCode } from './ingest/errors.js';
export { type SyncStats, emptyStats, rowWrites } from './ingest/stats.js';

// Store contract, for adapter authors
export type * from './store/types.js';
export { pageLimit, encodeCursor, decodeCursor, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, DEFAULT_HISTORY_LIMIT } from './store/paging.js';
export { danglingRelationship, duplicateSync } from './store/commit-errors.js';
export { graphCounts } from './store/counts.js';
