/** A Node user of the package: the core, SQLite and the first-party connectors; never the Worker subpath. */
import { commitSync, runConnector, type Connector } from 'parallax-edge';
import { createSqliteStore } from 'parallax-edge/adapters/sqlite';
import { createGitHubConnector } from 'parallax-edge/connectors/github';
import { createSyntheticConnector } from 'parallax-edge/connectors/synthetic';
import { createInventoryConnector } from './my-connector.js';

/** Syncs offline connectors into a SQLite file; the GitHub one needs the network, so it is only built. */
export async function syncAll(path: string): Promise<{ rowsWritten: number; github: Connector }> {
  const store = createSqliteStore(path);
  let rowsWritten = 0;
  for (const connector of [createInventoryConnector({ site: 'lab', hosts: 3 }), createSyntheticConnector({ seed: 1, n: 40 })]) {
    const result = await commitSync(store, await runConnector(connector, { accountId: 'acme', syncId: `${connector.name}-1` }));
    rowsWritten += result.rowsWritten;
  }
  await store.close();
  return { rowsWritten, github: createGitHubConnector({ org: 'example' }) };
}
