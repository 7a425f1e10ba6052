/**
 * The parallax-edge Worker: the /v1 REST API (Hono) and the cron handler
 * that runs the connectors of workers/connectors.ts into D1 (binding `DB`).
 */
import { registry } from './connectors.js';
import { createWorker } from './worker.js';

const { app, scheduled } = createWorker({ registry });

export default { fetch: app.fetch, scheduled } satisfies ExportedHandler<Cloudflare.Env>;
