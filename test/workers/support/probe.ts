/**
 * For the Workflow tests: a "probe" connector whose every page logs its call
 * into D1 (table `probe_calls`, so calls are seen whichever isolate runs
 * them), can be made to fail a number of times (`probe_faults`) or to wait
 * (`probe_gates`) at a given (step, page); and the registry the test
 * Workflow runs (probe, synthetic estate, inventory).
 */
import { z } from 'zod';
import { ConnectorError, entity, relationship, step, type Connector, type StepContext, type StepPage } from 'parallax-edge';
import type { D1DatabaseLike } from 'parallax-edge/adapters/d1';
import { createSyntheticConnector } from 'parallax-edge/connectors/synthetic';
import { defineConnector, defineRegistry } from '../../../workers/registry.js';
import { UPSTREAM, inventoryDefinition } from './inventory.js';

export const PROBE_TABLES = [
  `CREATE TABLE IF NOT EXISTS probe_calls (seq INTEGER PRIMARY KEY AUTOINCREMENT, step_id TEXT NOT NULL, page INTEGER NOT NULL, generation INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS probe_faults (step_id TEXT NOT NULL, page INTEGER NOT NULL, remaining INTEGER NOT NULL, kind TEXT NOT NULL DEFAULT 'Api', PRIMARY KEY (step_id, page))`,
  `CREATE TABLE IF NOT EXISTS probe_gates (step_id TEXT NOT NULL, page INTEGER NOT NULL, reached INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (step_id, page))`,
  `CREATE TABLE IF NOT EXISTS probe_state (name TEXT PRIMARY KEY, value INTEGER NOT NULL)`,
];

/** Pages of `items`: 3 of 4 hosts each; `links` (after items) relates them; `users` is independent. */
export const PROBE_PAGES = 3;
const PER_PAGE = 4;

/** Retries of the probe's steps: 2 retries, 10 ms apart (tests also disable delays). */
const RETRIES = { limit: 2, delayMs: 10, backoff: 'constant' as const };

export class ProbeConnector implements Connector {
  readonly name = 'probe';
  constructor(private readonly db: D1DatabaseLike) {}

  steps() {
    return [
      step('items', 'Items in pages').paged().retries(RETRIES).build(),
      step('users', 'Users').retries(RETRIES).build(),
      step('links', 'Links').dependsOn(['items', 'users']).retries(RETRIES).build(),
    ];
  }

  async executeStep(stepId: string, ctx: StepContext): Promise<void | StepPage> {
    const page = ctx.cursor === undefined ? 0 : Number(ctx.cursor);
    const generation = (await this.db.prepare(`SELECT value FROM probe_state WHERE name = 'generation'`).first<{ value: number }>())?.value ?? 0;
    await this.db.prepare(`INSERT INTO probe_calls (step_id, page, generation) VALUES (?1, ?2, ?3)`).bind(stepId, page, generation).run();
    await this.gate(stepId, page);
    // Emit first, then fail: a failed attempt has staged rows its retry must not see twice.
    switch (stepId) {
      case 'items':
        for (let i = 0; i < PER_PAGE; i++) {
          const n = page * PER_PAGE + i;
          ctx.emitEntity(entity('host', `h-${n}`).class('Host').property('gen', generation).property('page', page));
        }
        break;
      case 'users':
        ctx.emitEntity(entity('user', 'u-1').class('User').property('gen', generation));
        break;
      case 'links':
        if (!ctx.prior.has('user', 'u-1')) break;
        for (let n = 0; n < PROBE_PAGES * PER_PAGE; n++) if (ctx.prior.has('host', `h-${n}`)) ctx.emitRelationship(relationship('user', 'u-1', 'USES', 'host', `h-${n}`));
        break;
      default:
        throw ConnectorError.unknownStep(stepId);
    }
    await this.fault(stepId, page);
    if (stepId === 'items' && page + 1 < PROBE_PAGES) return { next: String(page + 1) };
  }

  private async fault(stepId: string, page: number): Promise<void> {
    const row = await this.db
      .prepare(`UPDATE probe_faults SET remaining = remaining - 1 WHERE step_id = ?1 AND page = ?2 AND remaining > 0 RETURNING kind`)
      .bind(stepId, page)
      .first<{ kind: string }>();
    if (!row) return;
    if (row.kind === 'Validation') throw ConnectorError.validation(`probe: a bad record at ${stepId} page ${page}`, 'properties.gen', stepId);
    if (row.kind === 'RateLimited') throw new ConnectorError('Api', `probe: rate limited at ${stepId} page ${page}`, { status: 429, retryAfterMs: 20 });
    throw ConnectorError.api(503, `/probe/${stepId}/${page}`);
  }

  /** Waits while a gate is set on (step, page); marks it reached. */
  private async gate(stepId: string, page: number): Promise<void> {
    for (let i = 0; i < 600; i++) {
      const row = await this.db.prepare(`UPDATE probe_gates SET reached = 1 WHERE step_id = ?1 AND page = ?2 RETURNING step_id`).bind(stepId, page).first();
      if (!row) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

export const probeDefinition = defineConnector({
  name: 'probe',
  config: z.strictObject({}),
  // Not a secret: the test database, so the probe can log its calls where the test reads them.
  secrets: z.object({ DB: z.custom<D1DatabaseLike>((v) => typeof v === 'object' && v !== null) }),
  create: (_config, secrets) => new ProbeConnector(secrets.DB),
});

export const syntheticDefinition = defineConnector({
  name: 'synthetic-aws',
  config: z.strictObject({ n: z.int().min(1), generation: z.int().min(0).default(0), pageSize: z.int().min(1).optional() }),
  secrets: z.object({}),
  create: (config) => createSyntheticConnector(config),
});

export const PROBE_CRON = '*/10 * * * *';
/** The synthetic estate's generation 1 (churned) runs on this cron. */
export const CHURN_CRON = '*/20 * * * *';

export function workflowRegistry() {
  return defineRegistry({
    connectors: [probeDefinition, syntheticDefinition, inventoryDefinition],
    schedules: [
      { cron: PROBE_CRON, connector: 'probe', account: 'acme', config: {} },
      { cron: PROBE_CRON, connector: 'synthetic-aws', account: 'acme', config: { n: 120, pageSize: 25 } },
      { cron: CHURN_CRON, connector: 'synthetic-aws', account: 'acme', config: { n: 120, pageSize: 25, generation: 1 } },
      { cron: '0 4 * * *', connector: 'inventory', account: 'acme', config: { baseUrl: UPSTREAM } },
    ],
  });
}
