/**
 * The REST API, under /v1, Parallax-compatible where Parallax defines the
 * route (snake_case bodies, `POST /v1/ingest/sync` with Parallax's sync body
 * and stats). Every route but `GET /v1/health` needs
 * `Authorization: Bearer $PARALLAX_API_TOKEN`.
 *
 * | route | what |
 * |---|---|
 * | GET  /v1/health | liveness, D1 reachability and migrations (no auth) |
 * | GET  /v1/stats | entity and relationship counts, by class and verb |
 * | GET  /v1/entities?type=&class=&account_id=&connector_id=&limit=&cursor= | entities, paginated by id |
 * | GET  /v1/entities/:id | one entity |
 * | GET  /v1/entities/:id/relationships?direction=&verb=&limit=&cursor= | relationships touching an entity |
 * | POST /v1/ingest/sync | commit a sync from the body (INV-C04 → 422, a row over MAX_ROW_BYTES → 413; a registered connector's name → 403 unless it allows ingest) |
 * | GET  /v1/connectors | the registry: connectors, schedules, secrets present, last cron/api run |
 * | GET  /v1/syncs?connector_id=&account_id=&status=&limit=&cursor= | connector runs, newest first |
 * | POST /v1/connectors/:name/sync | run a connector now (with a Workflow: start its instance, 202 with the instance id) |
 * | POST /v1/query | a PQL query `{ pql, account_id?, limit?, cursor? }` (syntax error → 400 with line/column, a hit limit → 422) |
 * | GET  /v1/syncs/:id | one run: its record, its Workflow instance's status, the steps done and running, rows staged so far |
 * | POST /v1/syncs/:id/pause, /resume, /terminate | an operator's hand on a Workflow run (a stuck one: pause then resume) |
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { CommitError, MAX_PAGE_SIZE, MAX_ROW_BYTES, commitSync, type Properties, type SyncInput } from '../src/index.js';
import { decodeCursor, propertyValueProblem } from '../src/adapter-kit.js';
import { createD1Store, isTransientD1Error, type D1StoreOptions } from '../adapters/d1.js';
import {
  ApiError,
  allowedMethods,
  bearerAuth,
  entityJson,
  errorBody,
  maxBodyBytes,
  readJson,
  relationshipJson,
  queryParams,
  requestId,
  runJson,
  statsJson,
  validate,
  type AppEnv,
} from './http.js';
import { runSchedule } from './job.js';
import { queryRoutes } from './query.js';
import type { WorkerAppEnv, WorkerEnv } from './bindings.js';
import { ingestRefusal, type Registry } from './registry.js';
import {
  claimRun,
  finishRun,
  getRun,
  latestScheduledRuns,
  leaseHolder,
  listRuns,
  recordRun,
  recordSkipped,
  runProgress,
  type NewRun,
  type RunOutcome,
  type RunStatus,
} from './runs.js';
import { startSyncInstance, type WorkflowBindingLike, type WorkflowInstanceLike } from './workflow.js';
import { WorkerSchemaError, checkWorkerSchema, requireWorkerSchema } from './schema.js';

export interface AppOptions {
  readonly registry: Registry;
  /** Epoch ms; tests move the clock. */
  readonly now?: () => number;
  readonly storeOptions?: D1StoreOptions;
  /** The env binding of the `SyncWorkflow`: runs started through the API go as Workflow instances (see `WorkerOptions.workflow`). */
  readonly workflow?: string;
}

/** How long a REST ingest holds the (account, connector) lease: it is one request. */
const INGEST_LEASE_SECONDS = 120;

const Id = z.string().regex(/^[0-9a-f]{32}$/, 'must be a 32-character lowercase hex id');
// Decimal digits only: Number() would also take "0x10", "1e2" and " 5".
const Limit = z.string().regex(/^[0-9]{1,7}$/, 'must be a whole number in decimal digits').transform(Number).pipe(z.number().int().min(1).max(MAX_PAGE_SIZE)).optional();
const Cursor = z.string().min(1).optional();
const NonEmpty = z.string().min(1);

/** Flat property values (string, finite number, boolean, null, string[]); the object is passed on as parsed. */
const PropertiesSchema = z.custom<Properties>((v) => v !== null && typeof v === 'object' && !Array.isArray(v), 'must be an object of flat values').superRefine((value, ctx) => {
  for (const [name, item] of Object.entries(value as Record<string, unknown>)) {
    if (name === '') ctx.addIssue({ code: 'custom', path: [name], message: 'property names must be non-empty' });
    const problem = propertyValueProblem(item);
    if (problem) ctx.addIssue({ code: 'custom', path: [name], message: problem });
  }
});

// Strict objects: a misspelt or unknown key is a 400 naming it, never dropped
// (a dropped `entities` or `properties` would commit as "now empty").
const IngestEntity = z.strictObject({
  entity_type: NonEmpty,
  entity_key: NonEmpty,
  entity_class: NonEmpty,
  display_name: z.string().optional(),
  properties: PropertiesSchema.optional(),
});

const IngestRelationship = z.strictObject({
  from_type: NonEmpty,
  from_key: NonEmpty,
  verb: NonEmpty,
  to_type: NonEmpty,
  to_key: NonEmpty,
  properties: PropertiesSchema.optional(),
});

/**
 * Parallax's sync body; `account_id` is ours (default `PARALLAX_ACCOUNT_ID`,
 * else "default"). `entities` is required: `[]` says the connector has nothing left.
 */
export const IngestBody = z.strictObject({
  connector_id: NonEmpty.max(200),
  sync_id: NonEmpty.max(200),
  account_id: NonEmpty.max(200).optional(),
  entities: z.array(IngestEntity),
  relationships: z.array(IngestRelationship).default([]),
});

const RunNowBody = z.strictObject({ account_id: NonEmpty.optional() }).default({});

const CAMEL_TO_WIRE = new Map([
  ['accountId', 'account_id'],
  ['connectorId', 'connector_id'],
  ['syncId', 'sync_id'],
  ['entityType', 'entity_type'],
  ['entityKey', 'entity_key'],
  ['entityClass', 'entity_class'],
  ['displayName', 'display_name'],
  ['fromType', 'from_type'],
  ['fromKey', 'from_key'],
  ['toType', 'to_type'],
  ['toKey', 'to_key'],
]);

/**
 * `entities[3].entityKey` (prepareBatch) → `entities[3].entity_key` (the
 * body's names). What follows `properties` is the sender's own property name
 * and stays as sent.
 */
function wireField(field: string): string {
  const at = field.search(/\.properties(?=[.[]|$)/);
  const head = at === -1 ? field : field.slice(0, at);
  return head.replace(/[A-Za-z]+/g, (word) => CAMEL_TO_WIRE.get(word) ?? word) + (at === -1 ? '' : field.slice(at));
}

/** A CommitError's message with its leading field in wire form; the rest (record text) as it is. */
function wireMessage(error: CommitError): string {
  const field = error.field;
  return field !== undefined && error.message.startsWith(field) ? `${wireField(field)}${error.message.slice(field.length)}` : error.message;
}

/** A store failure as the API answers it: 503 only when retrying may help. */
function storeFailureError(error: CommitError, what: string): ApiError {
  return isTransientD1Error(error)
    ? new ApiError(503, 'StoreFailure', 'the graph store is unavailable; retry later')
    : new ApiError(500, 'StoreFailure', `the graph store failed${what}; see the Worker logs for this request id`);
}

function cursorOf(query: { cursor?: string | undefined }): string | undefined {
  try {
    decodeCursor(query.cursor);
    return query.cursor;
  } catch (error) {
    throw new ApiError(400, 'ValidationFailed', `cursor: ${(error as Error).message}`, { field: 'cursor', issues: [{ path: 'cursor', message: (error as Error).message }] });
  }
}

const encodeSeq = (seq: number): string => btoa(`run:${seq}`).replace(/=+$/, '');
function decodeSeq(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  try {
    const match = /^run:(\d{1,15})$/.exec(atob(cursor));
    if (match) return Number(match[1]);
  } catch {
    /* below */
  }
  throw new ApiError(400, 'ValidationFailed', `cursor: "${cursor}" is not a cursor this API issued`, { field: 'cursor', issues: [{ path: 'cursor', message: 'not a cursor this API issued' }] });
}

function secretNames(schema: z.ZodType): string[] {
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

/**
 * The Hono app of the REST API (the routes above). `Env` is the user's
 * bindings type, so routes they add on the app see their own bindings.
 *
 * @example
 * const app = createApp<Env>({ registry });
 * app.get('/hello', (c) => c.text('hello'));
 * export default { fetch: app.fetch };
 */
export function createApp<Env extends WorkerEnv = WorkerEnv>(options: AppOptions): Hono<WorkerAppEnv<Env>> {
  const { registry } = options;
  const now = options.now ?? Date.now;
  const app = new Hono<AppEnv>();
  const store = (env: WorkerEnv) => createD1Store(env.DB, options.storeOptions);

  app.use('*', requestId);

  app.get('/v1/health', async (c) => {
    const time = new Date(now()).toISOString();
    let problem: WorkerSchemaError | undefined;
    try {
      problem = await checkWorkerSchema(c.env.DB);
    } catch {
      return c.json({ status: 'degraded', database: 'unreachable', time }, 503);
    }
    // What is missing is for the operator, behind the token (every other route answers it).
    return problem ? c.json({ status: 'degraded', database: 'not migrated', time }, 503) : c.json({ status: 'ok', database: 'ok', time });
  });

  app.use('/v1/*', bearerAuth);

  // Checked once per database binding that passed; a database that failed is checked again on the next request.
  const migrated = new WeakSet<object>();
  app.use('/v1/*', async (c, next) => {
    if (!migrated.has(c.env.DB)) {
      await requireWorkerSchema(c.env.DB);
      migrated.add(c.env.DB);
    }
    await next();
  });

  app.route('/v1', queryRoutes(store));

  app.get('/v1/stats', async (c) => {
    const q = validate(z.object({ account_id: NonEmpty.optional() }), queryParams(c), 'query');
    const counts = await store(c.env).counts(q.account_id === undefined ? {} : { accountId: q.account_id });
    return c.json({
      entity_count: counts.entities,
      relationship_count: counts.relationships,
      entities_by_class: counts.entitiesByClass,
      relationships_by_verb: counts.relationshipsByVerb,
    });
  });

  app.get('/v1/entities', async (c) => {
    const q = validate(
      z.object({ type: NonEmpty.optional(), class: NonEmpty.optional(), account_id: NonEmpty.optional(), connector_id: NonEmpty.optional(), limit: Limit, cursor: Cursor }),
      queryParams(c),
      'query',
    );
    const cursor = cursorOf(q);
    const page = await store(c.env).listEntities({
      ...(q.type !== undefined ? { type: q.type } : {}),
      ...(q.class !== undefined ? { class: q.class } : {}),
      ...(q.account_id !== undefined ? { accountId: q.account_id } : {}),
      ...(q.connector_id !== undefined ? { connectorId: q.connector_id } : {}),
      ...(q.limit !== undefined ? { limit: q.limit } : {}),
      ...(cursor !== undefined ? { cursor } : {}),
    });
    return c.json({ entities: page.items.map(entityJson), next_cursor: page.nextCursor ?? null });
  });

  app.get('/v1/entities/:id', async (c) => {
    const id = validate(Id, c.req.param('id'), 'id');
    const entity = await store(c.env).getEntity(id);
    if (!entity) throw new ApiError(404, 'NotFound', `no entity with id ${id}`);
    return c.json(entityJson(entity));
  });

  app.get('/v1/entities/:id/relationships', async (c) => {
    const id = validate(Id, c.req.param('id'), 'id');
    const q = validate(
      z.object({ direction: z.enum(['out', 'in', 'both']).default('both'), verb: NonEmpty.optional(), limit: Limit, cursor: Cursor }),
      queryParams(c),
      'query',
    );
    const cursor = cursorOf(q);
    const graph = store(c.env);
    if (!(await graph.getEntity(id))) throw new ApiError(404, 'NotFound', `no entity with id ${id}`);
    const page = await graph.listRelationships({
      entityId: id,
      direction: q.direction,
      ...(q.verb !== undefined ? { verb: q.verb } : {}),
      ...(q.limit !== undefined ? { limit: q.limit } : {}),
      ...(cursor !== undefined ? { cursor } : {}),
    });
    return c.json({ relationships: page.items.map(relationshipJson), next_cursor: page.nextCursor ?? null });
  });

  app.post('/v1/ingest/sync', async (c) => {
    const body = validate(IngestBody, await readJson(c, maxBodyBytes(c.env), true));
    const accountId = body.account_id ?? c.env.PARALLAX_ACCOUNT_ID ?? 'default';
    const input: SyncInput = {
      connectorId: body.connector_id,
      accountId,
      syncId: body.sync_id,
      entities: body.entities.map((e) => ({
        entityType: e.entity_type,
        entityKey: e.entity_key,
        entityClass: e.entity_class,
        displayName: e.display_name ?? e.entity_key,
        properties: e.properties ?? {},
      })),
      relationships: body.relationships.map((r) => ({
        fromType: r.from_type,
        fromKey: r.from_key,
        verb: r.verb,
        toType: r.to_type,
        toKey: r.to_key,
        properties: r.properties ?? {},
      })),
    };
    const startedMs = now();
    const run: NewRun = {
      runId: crypto.randomUUID(),
      accountId,
      connectorId: body.connector_id,
      syncId: body.sync_id,
      trigger: 'ingest',
      cron: null,
      startedAt: new Date(startedMs).toISOString(),
    };
    // An ingest replaces the connector's scope: a scheduled connector's data is not the caller's to replace.
    const refusal = ingestRefusal(registry, body.connector_id);
    if (refusal) {
      await recordRun(c.env.DB, run, { status: 'skipped', finishedAt: new Date(now()).toISOString(), error: { code: 'ConnectorReserved', message: refusal } });
      throw new ApiError(403, 'ConnectorReserved', refusal, { connector_id: body.connector_id });
    }
    // Same lease as the cron runs: an ingest never interleaves with a run of the same connector.
    if (!(await claimRun(c.env.DB, run, startedMs, INGEST_LEASE_SECONDS))) {
      const holder = await leaseHolder(c.env.DB, accountId, body.connector_id);
      await recordSkipped(c.env.DB, run, new Date(now()).toISOString(), holder);
      throw new ApiError(409, 'SyncInProgress', `a sync of "${body.connector_id}" for account "${accountId}" is in progress`, {
        connector_id: body.connector_id,
        ...(holder ? { run_id: holder } : {}),
      });
    }
    let outcome: RunOutcome;
    try {
      const result = await commitSync(store(c.env), input);
      outcome = { status: 'succeeded', finishedAt: new Date(now()).toISOString(), stats: result.stats, rowsWritten: result.rowsWritten };
      await finishRun(c.env.DB, run, outcome);
      return c.json({
        connector_id: body.connector_id,
        sync_id: body.sync_id,
        account_id: accountId,
        run_id: run.runId,
        stats: statsJson(result.stats),
        rows_written: result.rowsWritten,
      });
    } catch (error) {
      const apiError = ingestError(error);
      outcome = { status: 'failed', finishedAt: new Date(now()).toISOString(), error: { code: apiError.code, message: apiError.message } };
      await finishRun(c.env.DB, run, outcome);
      throw apiError;
    }
  });

  app.get('/v1/connectors', async (c) => {
    const latest = await latestScheduledRuns(c.env.DB);
    const env = c.env as unknown as Record<string, unknown>;
    const connectors = [...registry.connectors.values()].map((definition) => ({
      name: definition.name,
      description: definition.description ?? null,
      allow_ingest: definition.allowIngest === true,
      secrets: secretNames(definition.secrets).map((name) => ({ name, configured: typeof env[name] === 'string' && env[name] !== '' })),
      schedules: registry.schedules
        .filter((s) => s.connector === definition.name)
        .map((s) => {
          const last = latest.find((r) => r.connectorId === s.connector && r.accountId === s.account);
          return { cron: s.cron, account_id: s.account, lease_seconds: s.leaseSeconds, last_run: last ? runJson(last) : null };
        }),
    }));
    return c.json({ connectors });
  });

  app.get('/v1/syncs', async (c) => {
    const q = validate(
      z.object({
        connector_id: NonEmpty.optional(),
        account_id: NonEmpty.optional(),
        status: z.enum(['running', 'succeeded', 'partial', 'failed', 'skipped', 'abandoned']).optional(),
        limit: Limit,
        cursor: Cursor,
      }),
      queryParams(c),
      'query',
    );
    const limit = q.limit ?? 50;
    const beforeSeq = decodeSeq(q.cursor);
    const rows = await listRuns(c.env.DB, {
      ...(q.connector_id !== undefined ? { connectorId: q.connector_id } : {}),
      ...(q.account_id !== undefined ? { accountId: q.account_id } : {}),
      ...(q.status !== undefined ? { status: q.status as RunStatus } : {}),
      ...(beforeSeq !== undefined ? { beforeSeq } : {}),
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const next = rows.length > limit ? encodeSeq(page.at(-1)!.seq) : null;
    return c.json({ syncs: page.map(runJson), next_cursor: next });
  });

  app.post('/v1/connectors/:name/sync', async (c) => {
    const name = c.req.param('name');
    const body = validate(RunNowBody, (await readJson(c, maxBodyBytes(c.env), false)) ?? {});
    if (!registry.connectors.has(name)) throw new ApiError(404, 'NotFound', `no connector named "${name}" in the registry`);
    const schedules = registry.schedules.filter((s) => s.connector === name && (body.account_id === undefined || s.account === body.account_id));
    const accounts = [...new Set(schedules.map((s) => s.account))];
    if (schedules.length === 0) {
      throw new ApiError(404, 'NotFound', `connector "${name}" has no schedule${body.account_id ? ` for account "${body.account_id}"` : ''}`);
    }
    if (accounts.length > 1) {
      throw new ApiError(400, 'ValidationFailed', `account_id: connector "${name}" runs for several accounts (${accounts.join(', ')}); say which`, {
        field: 'account_id',
        issues: [{ path: 'account_id', message: `one of ${accounts.join(', ')}` }],
      });
    }
    if (options.workflow !== undefined) {
      const { id } = await startSyncInstance(workflowOf(c.env), schedules[0]!, { trigger: 'api' });
      return c.json({ instance_id: id, run_id: id, status: 'queued', href: `/v1/syncs/${id}` }, 202);
    }
    const job = runSchedule(
      { db: c.env.DB, env: c.env as unknown as Record<string, unknown>, registry, now, ...(options.storeOptions ? { storeOptions: options.storeOptions } : {}) },
      schedules[0]!,
      'api',
      null,
    );
    // The run finishes and releases its lease even if the caller hangs up.
    try {
      c.executionCtx.waitUntil(job.catch(() => undefined));
    } catch {
      /* no execution context (app.request in unit tests) */
    }
    const record = await job;
    const status = record.status === 'skipped' ? 409 : record.status === 'failed' ? 502 : 200;
    return c.json({ run: runJson(record) }, status);
  });

  const workflowOf = (env: WorkerEnv): WorkflowBindingLike => {
    const binding = options.workflow === undefined ? undefined : (env as unknown as Record<string, WorkflowBindingLike | undefined>)[options.workflow];
    if (!binding) throw new ApiError(501, 'NotImplemented', 'this Worker runs syncs inside the invocation: it has no Workflow binding');
    return binding;
  };
  const instanceOf = async (env: WorkerEnv, id: string): Promise<WorkflowInstanceLike | undefined> => {
    try {
      return await workflowOf(env).get(id);
    } catch (error) {
      if (error instanceof ApiError) throw error;
      return undefined;
    }
  };
  const RunId = z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, 'must be a run id (letters, digits, - and _)');

  app.get('/v1/syncs/:id', async (c) => {
    const id = validate(RunId, c.req.param('id'), 'id');
    const record = await getRun(c.env.DB, id);
    const instance = options.workflow === undefined ? undefined : await instanceOf(c.env, id);
    const state = instance ? await instance.status().catch(() => undefined) : undefined;
    if (!record && !state) throw new ApiError(404, 'NotFound', `no sync run with id ${id}`);
    const steps = await runProgress(c.env.DB, id);
    const instanceError = state?.error;
    return c.json({
      run_id: id,
      run: record ? runJson(record) : null,
      instance: state
        ? {
            status: state.status,
            error: instanceError === undefined || instanceError === null ? null : typeof instanceError === 'string' ? { message: instanceError } : instanceError,
          }
        : null,
      steps_done: steps.filter((s) => s.status === 'completed').map((s) => s.stepId),
      steps_running: steps.filter((s) => s.status === 'running').map((s) => s.stepId),
      steps_failed: steps.filter((s) => s.status === 'failed').map((s) => s.stepId),
      rows_staged: steps.reduce((sum, s) => sum + s.rowsStaged, 0),
      steps: steps.map((s) => ({
        step_id: s.stepId,
        status: s.status,
        pages_done: s.pagesDone,
        entities: s.entities,
        relationships: s.relationships,
        rows_staged: s.rowsStaged,
        error: s.error,
      })),
    });
  });

  for (const action of ['pause', 'resume', 'terminate'] as const) {
    app.post(`/v1/syncs/:id/${action}`, async (c) => {
      const id = validate(RunId, c.req.param('id'), 'id');
      const instance = await instanceOf(c.env, id);
      if (!instance) throw new ApiError(404, 'NotFound', `no Workflow instance with id ${id}`);
      try {
        await instance[action]();
      } catch (error) {
        throw new ApiError(409, 'InvalidInstanceState', `cannot ${action} instance ${id}: ${(error as Error).message}`);
      }
      const state = await instance.status().catch(() => undefined);
      return c.json({ run_id: id, action, instance: { status: state?.status ?? 'unknown' } });
    });
  }

  let allowed: ((path: string) => string[]) | undefined;
  app.notFound((c) => {
    const path = new URL(c.req.url).pathname;
    // Every route is registered by the first miss.
    const allow = (allowed ??= allowedMethods(app.routes))(path);
    if (allow.length > 0) {
      c.header('Allow', allow.join(', '));
      return c.json(errorBody(c, new ApiError(405, 'MethodNotAllowed', `${path} takes ${allow.join(', ')}, not ${c.req.method}`)), 405);
    }
    return c.json(errorBody(c, new ApiError(404, 'NotFound', `no route ${c.req.method} ${path}`)), 404);
  });

  app.onError((error, c) => {
    if (error instanceof ApiError) return c.json(errorBody(c, error), error.status);
    if (error instanceof WorkerSchemaError) {
      console.error(`request ${c.get('requestId')}: ${error.message}`);
      return c.json(errorBody(c, new ApiError(500, 'SchemaNotMigrated', error.message)), 500);
    }
    if (error instanceof CommitError && error.code === 'StoreFailure') {
      console.error(`request ${c.get('requestId')}: graph store failure`, error);
      const apiError = storeFailureError(error, '');
      return c.json(errorBody(c, apiError), apiError.status);
    }
    // A raw D1 error (the schema check reads D1 before any store wraps it).
    if (isTransientD1Error(error)) {
      console.error(`request ${c.get('requestId')}: graph store unavailable`, error);
      return c.json(errorBody(c, new ApiError(503, 'StoreFailure', 'the graph store is unavailable; retry later')), 503);
    }
    // Never a stack trace in a response: the details go to the Worker's logs only.
    console.error(`request ${c.get('requestId')} failed`, error);
    return c.json(errorBody(c, new ApiError(500, 'InternalError', 'internal error; see the Worker logs for this request id')), 500);
  });

  // Its handlers read only the WorkerEnv part of the bindings, which every Env has.
  return app as unknown as Hono<WorkerAppEnv<Env>>;
}

/**
 * A refused commit as the API answers it: 400 invalid, 413 a row over
 * MAX_ROW_BYTES, 422 dangling (INV-C04), 409 reused sync id or rows changed
 * under the sync twice (run it again), 503 a transient store failure (500
 * any other).
 */
function ingestError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof CommitError) {
    switch (error.code) {
      case 'InvalidBatch': {
        const field = error.field ? wireField(error.field) : '';
        const message = wireMessage(error);
        return new ApiError(400, 'ValidationFailed', message, { field, issues: [{ path: field, message }] });
      }
      case 'RowTooLarge':
        return new ApiError(413, 'RowTooLarge', wireMessage(error), { field: wireField(error.field ?? ''), limit_bytes: MAX_ROW_BYTES });
      case 'DanglingRelationship':
        return new ApiError(422, 'DanglingRelationship', error.message, { relationship: error.relationship });
      case 'DuplicateSyncId':
        return new ApiError(409, 'DuplicateSyncId', error.message, { field: 'sync_id' });
      case 'SyncConflict':
        return new ApiError(409, 'SyncConflict', error.message);
      case 'StoreFailure':
        console.error('ingest commit failed', error);
        return storeFailureError(error, '; nothing was committed');
    }
  }
  console.error('ingest failed', error);
  return new ApiError(500, 'InternalError', 'internal error; nothing was committed');
}
