import type { CommitResult, GraphStore } from '../store/types.js';
import { prepareBatch, type SyncInput } from './prepare.js';

/**
 * Commits one sync's output into a store: the guide's `commit_sync_exclusive`.
 *
 * Semantics, the same on every adapter:
 * - Scope: the rows of this (accountId, connectorId). Rows of other
 *   connectors are never deleted or changed (INV-C02), except by the cascade.
 * - An emitted row is created, updated (content or source changed) or
 *   unchanged (nothing is written: +P2). The last writer of a row becomes its
 *   source, as in Parallax: a row that two connectors emit belongs to the one
 *   that committed last.
 * - A stored row of the scope that was not emitted is deleted, unless its step
 *   failed or runs downstream of a failed step in this run (+P1: kept).
 * - Deleting an entity deletes every relationship touching it, from any
 *   connector, counted in `relationshipsCascaded` (INV-03).
 * - A relationship whose endpoint is neither emitted nor in the graph as it
 *   will be after the commit fails the whole commit with a `CommitError`
 *   `DanglingRelationship` naming it (INV-C04); so does a reused sync id.
 * - All of it lands in one atomic unit, or none of it (INV-C01).
 *
 * @example
 * const output = await runConnector(connector, { accountId: 'acme', syncId: 'sync-001' });
 * const { stats } = await commitSync(createMemoryStore(), output);
 * console.log(stats.entitiesCreated, stats.entitiesUnchanged);
 */
export async function commitSync(store: GraphStore, output: SyncInput): Promise<CommitResult> {
  return store.commit(prepareBatch(output));
}
