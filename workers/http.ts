/**
 * HTTP plumbing of the REST API: JSON errors, request ids, bearer auth in
 * constant time, bounded JSON bodies, zod issues as field paths, and the
 * snake_case wire shapes (Parallax's naming).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { RegExpRouter } from 'hono/router/reg-exp-router';
import type { z } from 'zod';
import type { StoredEntity, StoredRelationship, SyncStats } from '../src/index.js';
import type { WorkerAppEnv, WorkerEnv } from './bindings.js';
import type { RunRecord } from './runs.js';

export type AppEnv = WorkerAppEnv;

/** An error the API answers with: status, a stable code, a message, and details for the client. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 422 | 500 | 501 | 503,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function errorBody(c: Context<AppEnv>, error: ApiError): Record<string, unknown> {
  return { error: { code: error.code, message: error.message, ...error.details, request_id: c.get('requestId') } };
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** X-Request-Id on every response: the caller's when it is a sane token, else a new UUID. */
export const requestId: MiddlewareHandler<AppEnv> = async (c, next) => {
  const given = c.req.header('x-request-id');
  const id = given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
  c.set('requestId', id);
  await next();
  c.res.headers.set('X-Request-Id', id);
};

const encoder = new TextEncoder();

/** Compares a presented token with the configured one in constant time (both hashed to 32 bytes first). */
export async function tokenMatches(presented: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([
    crypto.subtle.digest('SHA-256', encoder.encode(presented)),
    crypto.subtle.digest('SHA-256', encoder.encode(expected)),
  ]);
  const subtle = crypto.subtle as SubtleCrypto & { timingSafeEqual?: (x: ArrayBuffer, y: ArrayBuffer) => boolean };
  if (typeof subtle.timingSafeEqual === 'function') return subtle.timingSafeEqual(a, b);
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!;
  return diff === 0;
}

/**
 * Bearer auth with `PARALLAX_API_TOKEN`. Without a configured token nothing
 * but health is served: a deployment that forgot the secret fails closed.
 */
export const bearerAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const expected = c.env.PARALLAX_API_TOKEN;
  if (typeof expected !== 'string' || expected.length === 0) {
    throw new ApiError(503, 'AuthNotConfigured', 'PARALLAX_API_TOKEN is not configured; set it with `wrangler secret put PARALLAX_API_TOKEN`');
  }
  const header = c.req.header('authorization');
  const match = header ? /^Bearer ([^\s]+)\s*$/i.exec(header) : null;
  if (!match) {
    c.header('WWW-Authenticate', 'Bearer realm="parallax-edge"');
    throw new ApiError(401, 'Unauthorized', 'an Authorization: Bearer <token> header is required');
  }
  if (!(await tokenMatches(match[1]!, expected))) {
    c.header('WWW-Authenticate', 'Bearer realm="parallax-edge", error="invalid_token"');
    throw new ApiError(401, 'Unauthorized', 'the bearer token is not valid');
  }
  await next();
};

export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;

export function maxBodyBytes(env: WorkerEnv): number {
  const configured = Number(env.PARALLAX_MAX_BODY_BYTES);
  return Number.isInteger(configured) && configured > 0 ? configured : DEFAULT_MAX_BODY_BYTES;
}

/**
 * The most a refused body is read on past its refusal (Cloudflare's edge forwards bodies of up to
 * 100 MB on the Free and Pro plans). See {@link discardRest}.
 */
export const DISCARD_LIMIT_BYTES = 100 * 1024 * 1024;

/**
 * Reads what is left of a refused body, dropping every chunk, so that the
 * answer leaves after the whole request. Under `wrangler dev` an answer sent
 * before its body was read to the end stalls the next request for as long as
 * the client keeps its connection (workerd#1741, workers-sdk#15709), and
 * cancelling the body does not help; a body still going after
 * {@link DISCARD_LIMIT_BYTES} more bytes is cancelled.
 */
async function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  let dropped = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      dropped += value.byteLength;
      if (dropped > DISCARD_LIMIT_BYTES) return await reader.cancel();
    }
  } catch {
    // The client went away: no connection is left to keep clean.
  }
}

/**
 * Reads a JSON body of at most `limit` bytes (declared or streamed): 413 past
 * it, 415 for a type other than JSON or a charset other than UTF-8, 400 for
 * bytes that are not UTF-8 or not JSON. A refused body is read to its end
 * first ({@link discardRest}).
 */
export async function readJson(c: Context<AppEnv>, limit: number, required: boolean): Promise<unknown> {
  const tooLarge = () => new ApiError(413, 'PayloadTooLarge', `the request body is larger than ${limit} bytes`, { limit_bytes: limit });
  const body = c.req.raw.body;
  const declared = Number(c.req.header('content-length'));
  if (declared > limit) {
    // Past the discard limit the body is left unread rather than cancelled: cancelling an unread body
    // resets the connection under wrangler dev, while the runtime (and wrangler's own drain) drop an unread one.
    if (body && declared <= DISCARD_LIMIT_BYTES) await discardRest(body.getReader());
    throw tooLarge();
  }
  if (!body) {
    if (required) throw new ApiError(400, 'ValidationFailed', 'a JSON body is required', { issues: [{ path: '', message: 'a JSON body is required' }] });
    return undefined;
  }
  const contentType = c.req.header('content-type') ?? '';
  // application/json or a +json suffix type, then parameters or nothing (json-seq or json5 are other formats).
  if (!/^application\/(?:[\w.!#$&^-]+\+)?json\s*(?:;|$)/i.test(contentType)) {
    await discardRest(body.getReader());
    throw new ApiError(415, 'UnsupportedMediaType', 'send the body as application/json');
  }
  // JSON between systems is UTF-8 (RFC 8259 §8.1): another declared charset is refused, not transcoded.
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType)?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
    await discardRest(body.getReader());
    throw new ApiError(415, 'UnsupportedMediaType', `charset=${charset.slice(0, 64)} is not supported: send the JSON body as UTF-8`);
  }
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await discardRest(reader);
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  let text: string;
  try {
    // fatal: invalid bytes are refused; replacing them with U+FFFD would merge distinct keys. A UTF-8 BOM is skipped (RFC 8259 allows it).
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    const at = invalidUtf8Offset(bytes);
    throw new ApiError(400, 'InvalidEncoding', `the body is not valid UTF-8: invalid byte sequence at byte ${at}`, { byte_offset: at });
  }
  if (text.trim() === '') {
    if (required) throw new ApiError(400, 'ValidationFailed', 'a JSON body is required', { issues: [{ path: '', message: 'a JSON body is required' }] });
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, 'InvalidJson', `the body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Where `bytes` stop being UTF-8: the first byte that differs from their lossy decoding re-encoded (error path only). */
function invalidUtf8Offset(bytes: Uint8Array): number {
  const lossy = encoder.encode(new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(bytes));
  let at = 0;
  while (at < bytes.length && bytes[at] === lossy[at]) at++;
  return at;
}

/** `entities[3].entity_key` from a zod path. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${String(part)}` : String(part);
  return out;
}

/** The field of an unknown key under `at`: `at.key` when it reads as a name, else quoted and cut (it may be huge), `at["…"]`. */
function keyField(at: string, key: string): string {
  if (/^[A-Za-z_$][\w$]{0,63}$/.test(key)) return at ? `${at}.${key}` : key;
  return `${at}[${JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key)}]`;
}

/** The query string's parameters, each given once: a repeated one is a 400 naming it (which value should win is a guess). */
export function queryParams(c: Context<AppEnv>): Record<string, string> {
  const params: Record<string, string> = Object.create(null);
  for (const [name, values] of Object.entries(c.req.queries())) {
    if (values.length > 1) {
      const field = keyField('', name);
      throw new ApiError(400, 'ValidationFailed', `query ${field}: is given ${values.length} times; give it once`, { field, issues: [{ path: field, message: 'repeated' }] });
    }
    params[name] = values[0]!;
  }
  return params;
}

/** Parses with a zod schema, or throws a 400 listing every issue with its field path (`where` prefixes it: "query"). */
export function validate<T>(schema: z.ZodType<T>, value: unknown, where?: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  // An unknown key first: a misspelt `entites` explains the missing `entities`.
  const issues = [...parsed.error.issues]
    .sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'))
    .flatMap((issue) =>
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => ({ path: keyField(fieldPath(issue.path), key), message: 'is not a field here (unknown fields are refused, never dropped)' }))
        : [{ path: fieldPath(issue.path), message: issue.message }],
    )
    .slice(0, 20);
  const first = issues[0]!;
  const label = first.path || where || 'body';
  throw new ApiError(400, 'ValidationFailed', `${where && first.path ? `${where} ` : ''}${label}: ${first.message}`, {
    // A bare value (a path param) is named by `where`; "query" names no field.
    field: first.path || (where === 'query' ? '' : (where ?? '')),
    issues,
  });
}

// ---------------------------------------------------------------------------
// Wire shapes

export function entityJson(e: StoredEntity): Record<string, unknown> {
  return {
    id: e.id,
    entity_type: e.entityType,
    entity_key: e.entityKey,
    entity_class: e.entityClass,
    display_name: e.displayName,
    properties: e.properties,
    account_id: e.accountId,
    connector_id: e.connectorId,
    sync_id: e.syncId,
    step_id: e.stepId,
  };
}

export function relationshipJson(r: StoredRelationship): Record<string, unknown> {
  return {
    id: r.id,
    from_id: r.fromId,
    to_id: r.toId,
    from_type: r.fromType,
    from_key: r.fromKey,
    verb: r.verb,
    to_type: r.toType,
    to_key: r.toKey,
    properties: r.properties,
    account_id: r.accountId,
    connector_id: r.connectorId,
    sync_id: r.syncId,
    step_id: r.stepId,
  };
}

/** Parallax's snake_case sync stats. */
export function statsJson(s: SyncStats): Record<string, number> {
  return {
    entities_created: s.entitiesCreated,
    entities_updated: s.entitiesUpdated,
    entities_unchanged: s.entitiesUnchanged,
    entities_deleted: s.entitiesDeleted,
    entities_kept: s.entitiesKept,
    relationships_created: s.relationshipsCreated,
    relationships_updated: s.relationshipsUpdated,
    relationships_unchanged: s.relationshipsUnchanged,
    relationships_deleted: s.relationshipsDeleted,
    relationships_cascaded: s.relationshipsCascaded,
    relationships_kept: s.relationshipsKept,
  };
}

export function runJson(r: RunRecord): Record<string, unknown> {
  return {
    run_id: r.runId,
    account_id: r.accountId,
    connector_id: r.connectorId,
    sync_id: r.syncId,
    trigger: r.trigger,
    cron: r.cron,
    status: r.status,
    started_at: r.startedAt,
    finished_at: r.finishedAt,
    stats: r.stats ? statsJson(r.stats) : null,
    rows_written: r.rowsWritten,
    failed_steps: r.failedSteps.map((s) => ({ step_id: s.stepId, kind: s.kind, message: s.message })),
    error: r.error,
  };
}

/**
 * The methods `routes` take at a path, for a 405's `Allow`: Hono's own router
 * over them (middleware, method ALL, left out). HEAD goes wherever GET does.
 */
export function allowedMethods(routes: readonly { readonly method: string; readonly path: string }[]): (path: string) => string[] {
  const router = new RegExpRouter<string>();
  const methods = new Set<string>();
  for (const route of routes) {
    if (route.method === 'ALL') continue;
    router.add(route.method, route.path, route.method);
    methods.add(route.method);
  }
  return (path) => {
    const allowed = [...methods].filter((method) => router.match(method, path)[0].length > 0);
    return allowed.includes('GET') ? [...allowed, 'HEAD'] : allowed;
  };
}
