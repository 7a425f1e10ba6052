/**
 * The main module of the workerd test project (vitest.workers.config.ts
 * `main`): the `SyncWorkflow` of wrangler.toml's [[workflows]] binding,
 * built on a test registry, so Workflow tests run the test's connectors.
 */
import { WorkflowEntrypoint } from 'cloudflare:workers';
import { createSyncWorkflow } from '../../../workers/workflow.js';
import { createWorker } from '../../../workers/worker.js';
import { workflowRegistry } from './probe.js';

export const registry = workflowRegistry();
const worker = createWorker({ registry, workflow: 'SYNC_WORKFLOW', logger: { log: () => undefined, warn: () => undefined } });

export class SyncWorkflow extends createSyncWorkflow(WorkflowEntrypoint, { registry, chunkRows: 50 }) {}

export default { fetch: worker.fetch, scheduled: worker.scheduled };
