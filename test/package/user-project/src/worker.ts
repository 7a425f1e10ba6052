/**
 * The user's own Worker: parallax-edge's cron handler and /v1 API, with the
 * user's registry (their connector and a first-party one) and a route of
 * their own on the same Hono app.
 */
import { z } from 'zod';
import { createSyntheticConnector } from 'parallax-edge/connectors/synthetic';
import { createWorker, defineConnector, defineRegistry, type WorkerEnv } from 'parallax-edge/worker';
import { createInventoryConnector } from '../my-connector.js';

/** The user's bindings, with Cloudflare's own types (what `wrangler types` writes). */
interface Env extends WorkerEnv {
  DB: D1Database;
  SITE_NAME?: string;
}

const inventory = defineConnector({
  name: 'inventory',
  config: z.strictObject({ site: z.string().min(1), hosts: z.int().min(0).max(1000) }),
  secrets: z.object({}),
  create: (config) => createInventoryConnector(config),
});

const synthetic = defineConnector({
  name: 'synthetic-aws',
  config: z.strictObject({ n: z.int().min(1).max(1000) }),
  secrets: z.object({}),
  create: (config) => createSyntheticConnector({ seed: 7, n: config.n }),
});

const registry = defineRegistry({
  connectors: [inventory, synthetic],
  schedules: [
    { cron: '*/5 * * * *', connector: 'inventory', account: 'acme', config: { site: 'lab', hosts: 12 } },
    { cron: '0 * * * *', connector: 'synthetic-aws', account: 'acme', config: { n: 40 } },
  ],
});

const worker = createWorker<Env>({ registry });
worker.app.get('/hello', (c) => c.json({ site: c.env.SITE_NAME ?? 'unnamed' }));

export default { fetch: worker.fetch, scheduled: worker.scheduled } satisfies ExportedHandler<Env>;
