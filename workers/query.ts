/**
 * `POST /v1/query` (issue 13): a PQL query on the D1 graph. Answers
 * Parallax's shape `{ count, entities: [{ id, entity_type, display_name,
 * ... }] }` plus `groups`, `rows`, `path`, `layers` and `next_cursor`. A
 * syntax error is a 400 with its line and column, a hit limit a 422 naming it.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { PqlError, QueryLimitError, QueryTooComplexError, query, type GraphStore, type QueryResult } from '../src/index.js';
import { ApiError, entityJson, maxBodyBytes, readJson, relationshipJson, validate, type AppEnv } from './http.js';
import type { WorkerEnv } from './bindings.js';

/** Longest PQL text the route takes. */
export const MAX_PQL_LENGTH = 10_000;

// Strict: a misspelt `acount_id` dropped would query every account.
const QueryBody = z.strictObject({
  pql: z.string().min(1).max(MAX_PQL_LENGTH),
  account_id: z.string().min(1).optional(),
  limit: z.number().int().min(1).max(10_000).optional(),
  cursor: z.string().min(1).optional(),
});

export function queryJson(result: QueryResult): Record<string, unknown> {
  return {
    kind: result.kind,
    count: result.count,
    entities: result.entities.map(entityJson),
    groups: result.groups,
    rows: result.rows,
    path: result.path && { entities: result.path.entities.map(entityJson), relationships: result.path.relationships.map(relationshipJson) },
    layers: result.layers.map((l) => ({ distance: l.distance, entities: l.entities.map(entityJson) })),
    next_cursor: result.nextCursor ?? null,
  };
}

/** The route group; mounted under /v1 after the bearer auth. */
export function queryRoutes(store: (env: WorkerEnv) => GraphStore): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.post('/query', async (c) => {
    const body = validate(QueryBody, await readJson(c, maxBodyBytes(c.env), true));
    try {
      const result = await query(store(c.env), body.pql, {
        ...(body.account_id !== undefined ? { accountId: body.account_id } : {}),
        ...(body.limit !== undefined ? { limit: body.limit } : {}),
        ...(body.cursor !== undefined ? { cursor: body.cursor } : {}),
      });
      return c.json(queryJson(result));
    } catch (error) {
      if (error instanceof PqlError) {
        throw new ApiError(400, 'PqlSyntaxError', error.message, { field: 'pql', line: error.line, column: error.column, expected: error.expected, found: error.found });
      }
      if (error instanceof QueryLimitError) throw new ApiError(422, 'QueryLimitExceeded', error.message, { limit: error.limit, max: error.max });
      if (error instanceof QueryTooComplexError) throw new ApiError(422, 'QueryTooComplex', `pql: ${error.message}`, { field: 'pql' });
      // The page checks name their field first ("cursor ...", "limit ..."); any other RangeError is ours, a 500.
      if (error instanceof RangeError) {
        const field = /^(cursor|limit)\b/.exec(error.message)?.[1];
        if (field) throw new ApiError(400, 'ValidationFailed', `${field}: ${error.message}`, { field, issues: [{ path: field, message: error.message }] });
      }
      throw error;
    }
  });
  return routes;
}
