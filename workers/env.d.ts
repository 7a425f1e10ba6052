/** The Worker's bindings (wrangler.toml, secrets) and the test-only ones (vitest.workers.config.ts). */
declare namespace Cloudflare {
  interface Env {
    DB: D1Database;
    /** The SyncWorkflow (wrangler.toml [[workflows]]): one instance per connector run. */
    SYNC_WORKFLOW: Workflow<import('./workflow.js').SyncParams>;
    /** Bearer token of the REST API (`wrangler secret put PARALLAX_API_TOKEN`). Unset: every route but health refuses. */
    PARALLAX_API_TOKEN?: string;
    /** Account of `POST /v1/ingest/sync` bodies without `account_id`; default "default". */
    PARALLAX_ACCOUNT_ID?: string;
    /** Request body limit in bytes; default 8 MiB. */
    PARALLAX_MAX_BODY_BYTES?: string;
    /** Migrations for applyD1Migrations() in workerd tests (vitest.workers.config.ts only). */
    TEST_MIGRATIONS?: import('cloudflare:test').D1Migration[];
  }
}
