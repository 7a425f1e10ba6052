/**
 * `parallax-edge/worker`: the Worker's building blocks for a user's own
 * Worker — the cron handler and the /v1 REST API (Hono) over D1, driven by a
 * typed registry of the user's connectors. The D1 schema ships as migration
 * files in the package, `node_modules/parallax-edge/workers/migrations`, for
 * `migrations_dir` in the user's wrangler.toml.
 *
 * The types are structural (no Cloudflare or Node types needed): a user's
 * `Env` with Cloudflare's `D1Database` satisfies {@link WorkerEnv}.
 *
 * @example
 * import { z } from 'zod';
 * import { createWorker, defineConnector, defineRegistry, type WorkerEnv } from 'parallax-edge/worker';
 * import { MyServiceConnector } from './my-connector.js';
 *
 * interface Env extends WorkerEnv { DB: D1Database; MY_SERVICE_TOKEN?: string }
 *
 * const myService = defineConnector({
 *   name: 'my-service',
 *   config: z.strictObject({ apiBaseUrl: z.url() }),
 *   secrets: z.object({ MY_SERVICE_TOKEN: z.string().min(1) }),
 *   create: (config, secrets) => new MyServiceConnector(config.apiBaseUrl, secrets.MY_SERVICE_TOKEN),
 * });
 * const worker = createWorker<Env>({
 *   registry: defineRegistry({
 *     connectors: [myService],
 *     schedules: [{ cron: '*\/15 * * * *', connector: 'my-service', account: 'acme', config: { apiBaseUrl: 'https://api.example.com' } }],
 *   }),
 * });
 * export default { fetch: worker.fetch, scheduled: worker.scheduled } satisfies ExportedHandler<Env>;
 */
export { createWorker, type Worker, type WorkerOptions } from './worker.js';
export { createApp, type AppOptions } from './app.js';
export type { ScheduledControllerLike, WorkerAppEnv, WorkerEnv } from './bindings.js';
export { ApiError } from './http.js';
export { WorkerSchemaError, checkWorkerSchema } from './schema.js';
export {
  MAX_STEP_OUTPUT_BYTES,
  createSyncWorkflow,
  cronInstanceId,
  runSyncWorkflow,
  startSyncInstance,
  type SyncParams,
  type SyncWorkflowOptions,
  type SyncWorkflowOutput,
  type WorkflowBindingLike,
  type WorkflowEntrypointClass,
  type WorkflowEventLike,
  type WorkflowInstanceLike,
  type WorkflowStepLike,
} from './workflow.js';
export {
  ConnectorSetupError,
  DEFAULT_LEASE_SECONDS,
  RegistryError,
  defineConnector,
  defineRegistry,
  type ConnectorDefinition,
  type Registry,
  type Schedule,
  type ScheduleFor,
} from './registry.js';
