import type { CommitResult, GraphStore } from '../store/types.js';
import { inputDigest } from './input-digest.js';
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
 * A store with `commitIfUnchanged` is first offered the output's
 * {@link inputDigest}: an output equal to the one its scope was last
 * committed from, with the scope untouched since, is recorded as unchanged
 * without preparing a batch (+P2). Anything else is prepared and committed.
 *
 * @example
 * const output = await runConnector(connector, { accountId: 'acme', syncId: 'sync-001' });
 * const { stats } = await commitSync(createMemoryStore(), output);
 * console.log(stats.entitiesCreated, stats.entitiesUnchanged);
 */
export async function commitSync(store: GraphStore, output: SyncInput): Promise<CommitResult> {
  const digest = store.commitIfUnchanged ? inputDigest(output) : undefined;
  if (digest !== undefined) {
    const now = new Date().toISOString();
    const unchanged = await store.commitIfUnchanged!({
      accountId: output.accountId,
      connectorId: output.connectorId,
      syncId: output.syncId,
      failedSteps: [...(output.failedSteps ?? [])],
      startedAt: output.startedAt ?? now,
      finishedAt: output.finishedAt ?? now,
      entities: output.entities.length,
      relationships: output.relationships.length,
      inputDigest: digest,
    });
    if (unchanged) return unchanged;
  }
  const batch = prepareBatch(output);
  return store.commit(digest === undefined ? batch : { ...batch, inputDigest: digest });
}
