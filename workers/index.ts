/**
 * The parallax-edge Worker: the /v1 REST API (Hono), the cron handler, and
 * the `SyncWorkflow` that runs each connector of workers/connectors.ts into
 * D1 (binding `DB`) as a Workflow instance (binding `SYNC_WORKFLOW`).
 */
import { WorkflowEntrypoint } from 'cloudflare:workers';
import { registry } from './connectors.js';
import { createWorker } from './worker.js';
import { createSyncWorkflow } from './workflow.js';

const { app, scheduled } = createWorker({ registry, workflow: 'SYNC_WORKFLOW' });

/** One instance per (account, connector) sync: wrangler.toml [[workflows]]. */
export class SyncWorkflow extends createSyncWorkflow(WorkflowEntrypoint, { registry }) {}

export default { fetch: app.fetch, scheduled } satisfies ExportedHandler<Cloudflare.Env>;
