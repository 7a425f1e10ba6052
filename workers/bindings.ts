/**
 * What the Worker needs from its runtime, typed structurally: the published
 * `.d.ts` of `parallax-edge/worker` then needs neither Cloudflare's types nor
 * Node's, and a user's own `Env` (from `wrangler types`, with Cloudflare's
 * `D1Database`) satisfies these as it is.
 */
import type { D1DatabaseLike } from '../adapters/d1.js';

/**
 * The bindings the Worker reads. A user's `Env` extends it with their own
 * (their connectors' secrets are read from it by name).
 *
 * @example
 * interface Env extends WorkerEnv {
 *   DB: D1Database;
 *   MY_SERVICE_TOKEN?: string;
 * }
 */
export interface WorkerEnv {
  /** The D1 database, migrated with the package's `workers/migrations`. */
  readonly DB: D1DatabaseLike;
  /** Bearer token of the REST API (`wrangler secret put PARALLAX_API_TOKEN`). Unset: every route but health refuses. */
  readonly PARALLAX_API_TOKEN?: string;
  /** Account of `POST /v1/ingest/sync` bodies without `account_id`; default "default". */
  readonly PARALLAX_ACCOUNT_ID?: string;
  /** Request body limit in bytes; default 8 MiB. */
  readonly PARALLAX_MAX_BODY_BYTES?: string;
}

/** The part of Cloudflare's `ScheduledController` the cron handler reads. */
export interface ScheduledControllerLike {
  readonly cron: string;
  /** Epoch ms of the time the cron fired for; names a Workflow run's instance (one per schedule window). */
  readonly scheduledTime?: number;
}

/** The Hono environment of the app: the Worker's bindings and the request id of each request. */
export type WorkerAppEnv<Env extends WorkerEnv = WorkerEnv> = { Bindings: Env; Variables: { requestId: string } };
