/**
 * The quick start: serves the example API on 127.0.0.1, runs the guide's
 * connector twice and commits both runs. The second run finds nothing new,
 * so every row is unchanged and nothing is written (+P2).
 */
import { commitSync, runConnector, type SyncStats } from 'parallax-edge';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { startExampleApi } from './api.js';
import { MyServiceConnector } from './connector.js';

function printStats(title: string, stats: SyncStats, rowsWritten: number): void {
  console.log(`\n${title}`);
  console.table({
    entities: { created: stats.entitiesCreated, updated: stats.entitiesUpdated, unchanged: stats.entitiesUnchanged, deleted: stats.entitiesDeleted },
    relationships: {
      created: stats.relationshipsCreated,
      updated: stats.relationshipsUpdated,
      unchanged: stats.relationshipsUnchanged,
      deleted: stats.relationshipsDeleted,
    },
  });
  console.log(`rows written: ${rowsWritten}`);
}

const api = await startExampleApi();
try {
  const connector = new MyServiceConnector(api.url, api.token);
  const store = createMemoryStore();
  for (const run of [1, 2]) {
    const output = await runConnector(connector, { accountId: 'my-account-id', syncId: `sync-00${run}` });
    const result = await commitSync(store, output);
    printStats(`Sync ${run} complete (${output.syncId}):`, result.stats, result.rowsWritten);
  }
} finally {
  await api.close();
}
