/**
 * Whether the Worker's D1 database has everything this code reads and
 * writes: the graph schema at this code's version (`schema_migrations`) and
 * the Worker's own tables (migrations 0100 and 0101, which
 * `schema_migrations` does not record). D1 is migrated apart from the
 * Worker's code, so a deploy that ran before `wrangler d1 migrations apply`
 * gets a {@link WorkerSchemaError} naming what is missing, instead of
 * "no such table" from whichever statement came first.
 */
import type { D1DatabaseLike } from '../adapters/d1.js';
import { CURRENT_VERSION_QUERY, SCHEMA_VERSION, schemaProblem, type SchemaProblem } from '../adapters/sql/index.js';

/** The Worker's tables, with the columns a later migration added (their CREATE text in `sqlite_master` shows them). */
const WORKER_TABLES: Readonly<Record<string, readonly string[]>> = {
  connector_runs: ['staging_token'],
  sync_leases: [],
  connector_run_pages: [],
};

const TABLES_QUERY = `SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name IN ('schema_migrations', ${Object.keys(WORKER_TABLES)
  .map((t) => `'${t}'`)
  .join(', ')})`;

/**
 * A D1 database that is not migrated for this Worker. `graph` is the graph
 * schema's problem (undefined when its version is this code's), `missing`
 * the Worker's tables and columns it lacks. Nothing was read or written.
 *
 * @example
 * const problem = await checkWorkerSchema(env.DB);
 * if (problem) console.error(problem.message); // names the migrations to apply
 */
export class WorkerSchemaError extends Error {
  override readonly name = 'WorkerSchemaError';
  constructor(
    readonly graph: SchemaProblem | undefined,
    /** The graph schema's version (undefined when the database has no `schema_migrations`). */
    readonly version: number | undefined,
    /** `table connector_runs`, `column connector_runs.staging_token`, ... */
    readonly missing: readonly string[],
  ) {
    const problems = [
      graph === 'foreign'
        ? 'no graph schema (no schema_migrations table)'
        : graph === 'older'
          ? `graph schema version ${version}, this code needs ${SCHEMA_VERSION}`
          : graph === 'newer'
            ? `graph schema version ${version}, newer than this code's ${SCHEMA_VERSION} (deploy the newer code)`
            : undefined,
      missing.length > 0 ? `missing ${missing.join(', ')}` : undefined,
    ].filter((p) => p !== undefined);
    const fix = graph === 'newer' && missing.length === 0 ? '' : '; apply workers/migrations (`wrangler d1 migrations apply <DB>`)';
    super(`the D1 database is not migrated for this Worker: ${problems.join('; ')}${fix}; nothing was read or written`);
  }
}

/** The database's schema problem, or undefined when it has everything this Worker needs. Reads `sqlite_master` and, when present, `schema_migrations`. */
export async function checkWorkerSchema(db: D1DatabaseLike): Promise<WorkerSchemaError | undefined> {
  const { results } = await db.prepare(TABLES_QUERY).all<{ name: string; sql: string | null }>();
  const tables = new Map((results ?? []).map((r) => [r.name, r.sql ?? '']));
  let version: number | undefined;
  if (tables.has('schema_migrations')) {
    const row = await db.prepare(CURRENT_VERSION_QUERY.sql).first<{ version: number | null }>();
    version = row?.version ?? undefined;
  }
  const missing: string[] = [];
  for (const [table, columns] of Object.entries(WORKER_TABLES)) {
    const sql = tables.get(table);
    if (sql === undefined) {
      missing.push(`table ${table}`);
      continue;
    }
    for (const column of columns) if (!new RegExp(`\\b${column}\\b`).test(sql)) missing.push(`column ${table}.${column}`);
  }
  const graph = schemaProblem(version);
  return graph === undefined && missing.length === 0 ? undefined : new WorkerSchemaError(graph, version, missing);
}

/** Throws the database's {@link WorkerSchemaError}, if any. */
export async function requireWorkerSchema(db: D1DatabaseLike): Promise<void> {
  const problem = await checkWorkerSchema(db);
  if (problem) throw problem;
}
