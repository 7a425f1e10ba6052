/**
 * The sync commit as SQL: stage, check, diff and promote, computed set-wise
 * inside the database. Every function returns statements (SQL text + bound
 * params); nothing here runs them, so the SQLite adapter runs them in one
 * transaction and the D1 adapter in one `db.batch()`.
 *
 * The commit of one batch is a fixed list of statements, whatever the size of
 * the batch or of the stored graph (only the number of staging chunks grows
 * with the batch, about one per 1.5 MB of rows):
 *
 * 1. `cleanup`  remove leftovers of crashed commits (other tokens, +P4)
 * 2. `stage`    the commit header, then the rows in JSON chunks via `json_each`
 * 3. `guard`    staging complete; sync id not used before; INV-C04 dangling
 * 4. `plan`     materialize the entities and relationships to delete (diff,
 *               +P1 kept steps, INV-03 cascade) while the graph is unchanged
 * 5. `record`   the sync-run row, its stats counted by SQL from the same state;
 *               a write counted for other scopes losing rows (scope.ts)
 * 6. `graph`    upsert entities (only where the hash differs: +P2), delete
 *               entities, upsert relationships, delete relationships
 * 7. `record`   the batch's digests as the scope's (for `scope.ts`)
 * 8. `result`   SELECT the sync-run row just written
 * 9. `cleanup`  remove this commit's staged rows
 *
 * Before all this, an adapter may try `unchangedScopeStatements` (scope.ts),
 * which records an unchanged re-sync without staging anything (and, before
 * any batch is prepared, `unchangedRunStatements` for `commitIfUnchanged`).
 *
 * The sum of `changes` of the `graph` statements is the commit's `rowsWritten`
 * and equals `rowWrites(stats)`.
 *
 * The semantics are those of the memory store (`adapters/memory.ts`); the
 * comments below name the branch of the reference each statement mirrors.
 */
import type { CommitBatch, PreparedEntity, PreparedRelationship, SyncRecord, SyncStats } from '../../src/index.js';
import { beginPromoteStatement, countOtherScopesStatement, endPromoteStatement, recordScopeStatement, type ScopeDigests } from './scope.js';
import { SYNC_RUN_COLUMNS } from './schema.js';
import { DEFAULT_CHUNK_BYTES, statement, utf8Length, type SqlStatement, type SqlValue } from './statement.js';

const NO_DIGESTS: ScopeDigests = { batch: null, input: null };

/** A staleness cutoff later than any ISO timestamp: every other token's staged rows are leftovers. */
export const ALL_LEFTOVERS = '9999-12-31T23:59:59.999Z';

export interface CommitPlanOptions {
  /** Unique per commit attempt (e.g. `crypto.randomUUID()`); keys the staged rows. */
  readonly token: string;
  /** ISO time the rows are staged; compared with `staleBefore` by later commits. */
  readonly stagedAt: string;
  /** ISO time recorded as the sync run's `committedAt`. */
  readonly committedAt: string;
  /**
   * Staged rows of other tokens staged before this ISO time are leftovers of
   * crashed commits and are removed (+P4). When staging runs in the same
   * transaction/batch as the promote (as both SQL adapters do), no other
   * commit's staged rows can be in flight, so pass {@link ALL_LEFTOVERS}. A
   * store that stages in a separate call must pass `now - lease` instead.
   */
  readonly staleBefore: string;
  /** Upper bound of one bound JSON chunk in bytes; defaults to {@link DEFAULT_CHUNK_BYTES}. */
  readonly chunkBytes?: number;
  /** Where the staging tables live; defaults to `'main'` (see {@link StagingSchema}). */
  readonly stagingSchema?: StagingSchema;
  /**
   * The batch's `batchDigest`, stored for the unchanged-scope check with the
   * batch's `inputDigest`; without it neither is stored.
   */
  readonly digest?: string;
}

/**
 * Where a commit's staged rows live:
 * - `'main'`: the staging tables of the schema migrations (migration 2), in
 *   the database itself, referenced unqualified. Needed where staging and
 *   promote may run in separate calls or connections (D1: a big commit stages
 *   in several batches). Crashed commits leave rows there; the next commit's
 *   cleanup removes them (+P4).
 * - `'temp'`: connection-local TEMP tables of the same shape (create them with
 *   {@link tempStagingStatements} once per connection), referenced as
 *   `temp.staged_*`. Invisible to other connections, never written to the
 *   database file or its WAL (with `PRAGMA temp_store = MEMORY`, not to disk
 *   at all), gone with the connection. Only for a store that stages and
 *   promotes in one transaction on one connection (SQLite): the discard then
 *   empties the tables whole.
 */
export type StagingSchema = 'main' | 'temp';

const STAGED_TABLE = /\bstaged_(?:commits|entities|relationships|entity_deletes|relationship_deletes)\b/g;

/** The statement with its staging tables qualified for `schema` ('main' stays unqualified: the text D1 runs). */
function staging(schema: StagingSchema, s: SqlStatement): SqlStatement {
  return schema === 'main' ? s : { ...s, sql: s.sql.replace(STAGED_TABLE, (table) => `${schema}.${table}`) };
}

/** The whole commit, in order: cleanup, stage, promote. See the module comment. */
export function commitStatements(batch: CommitBatch, options: CommitPlanOptions): SqlStatement[] {
  const schema = options.stagingSchema ?? 'main';
  return [
    ...cleanupStatements(options.token, options.staleBefore, schema),
    ...stageStatements(batch, options.token, options.stagedAt, options.chunkBytes, schema),
    ...promoteStatements(options.token, options.committedAt, schema, {
      batch: options.digest ?? null,
      input: options.digest === undefined ? null : (batch.inputDigest ?? null),
    }),
  ];
}

/** Removes staged rows of other commits staged before `staleBefore`, and orphans (+P4). */
export function cleanupStatements(ownToken: string, staleBefore: string, schema: StagingSchema = 'main'): SqlStatement[] {
  const live = `(SELECT token FROM staged_commits WHERE token = ?1 OR staged_at >= ?2)`;
  return [
    ...STAGED_ROW_TABLES.map((table) => statement('cleanup', `DELETE FROM ${table} WHERE token NOT IN ${live}`, [ownToken, staleBefore])),
    statement('cleanup', `DELETE FROM staged_commits WHERE token <> ?1 AND staged_at < ?2`, [ownToken, staleBefore]),
  ].map((s) => staging(schema, s));
}

/**
 * Removes this commit's staged rows: the last statements of a commit, or after
 * a failed one (D1). With `'temp'` staging the connection's staging tables
 * hold this commit's rows only, so they are emptied whole (SQLite's fast
 * truncate instead of a delete per row).
 */
export function discardStatements(token: string, schema: StagingSchema = 'main'): SqlStatement[] {
  const tables = [...STAGED_ROW_TABLES, 'staged_commits'];
  if (schema === 'temp') return tables.map((table) => staging(schema, statement('cleanup', `DELETE FROM ${table}`)));
  return tables.map((table) => statement('cleanup', `DELETE FROM ${table} WHERE token = ?1`, [token]));
}

const STAGED_ROW_TABLES = [
  'staged_entities',
  'staged_relationships',
  'staged_entity_deletes',
  'staged_relationship_deletes',
] as const;

// ---------------------------------------------------------------------------
// Stage

const STAGE_ENTITIES = `
  INSERT INTO staged_entities (token, id, ord, entity_type, entity_key, entity_class, display_name, properties, hash, step_id)
  SELECT ?1, json_extract(value, '$[0]'), ?3 + key, json_extract(value, '$[1]'), json_extract(value, '$[2]'),
    json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'), json_extract(value, '$[6]'),
    json_extract(value, '$[7]')
  FROM json_each(?2)`;

const STAGE_RELATIONSHIPS = `
  INSERT INTO staged_relationships
    (token, id, ord, from_id, to_id, from_type, from_key, verb, to_type, to_key, properties, hash, step_id, endpoints_staged)
  SELECT ?1, json_extract(value, '$[0]'), ?3 + key, json_extract(value, '$[1]'), json_extract(value, '$[2]'),
    json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'), json_extract(value, '$[6]'),
    json_extract(value, '$[7]'), json_extract(value, '$[8]'), json_extract(value, '$[9]'), json_extract(value, '$[10]'),
    json_extract(value, '$[11]')
  FROM json_each(?2)`;

/**
 * For the `endpoints_staged` column of staged relationships: 1 when the
 * relationship's `fromId` is an entity of the batch, plus 2 when its `toId`
 * is. Such an endpoint exists after the commit, so INV-C04 only looks up the
 * others (most relationships of a sync point at entities of the same sync).
 */
export function endpointsStaged(batch: CommitBatch): (r: PreparedRelationship) => number {
  const ids = new Set<string>();
  for (const e of batch.entities) ids.add(e.id);
  return (r) => (ids.has(r.fromId) ? 1 : 0) | (ids.has(r.toId) ? 2 : 0);
}

/**
 * The commit header and the batch's rows, as a few statements: each chunk of
 * rows is one JSON array bound as one parameter and expanded by `json_each`.
 * Row order is kept in `ord`, so INV-C04 names the first dangling
 * relationship in batch order, as the memory store does.
 */
export function stageStatements(
  batch: CommitBatch,
  token: string,
  stagedAt: string,
  chunkBytes: number = DEFAULT_CHUNK_BYTES,
  schema: StagingSchema = 'main',
): SqlStatement[] {
  return stageStatementsIn(batch, token, stagedAt, chunkBytes).map((s) => staging(schema, s));
}

/** The commit header (`staged_commits` row): the first staging statement. */
export function stageHeaderStatement(batch: CommitBatch, token: string, stagedAt: string, schema: StagingSchema = 'main'): SqlStatement {
  return staging(
    schema,
    statement(
      'stage',
      `INSERT INTO staged_commits (token, account_id, connector_id, sync_id, started_at, finished_at, failed_steps, kept_steps,
        entity_count, relationship_count, staged_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)`,
      [
        token,
        batch.accountId,
        batch.connectorId,
        batch.syncId,
        batch.startedAt,
        batch.finishedAt,
        JSON.stringify(batch.failedSteps),
        JSON.stringify(batch.keptSteps),
        batch.entities.length,
        batch.relationships.length,
        stagedAt,
      ],
    ),
  );
}

function stageStatementsIn(batch: CommitBatch, token: string, stagedAt: string, chunkBytes: number): SqlStatement[] {
  return [stageHeaderStatement(batch, token, stagedAt), ...stageChunkStatements(batch, token, chunkBytes)];
}

/** The batch's rows as JSON chunks expanded by `json_each` ({@link stageStatements} without the header). */
export function stageChunkStatements(
  batch: CommitBatch,
  token: string,
  chunkBytes: number = DEFAULT_CHUNK_BYTES,
  schema: StagingSchema = 'main',
): SqlStatement[] {
  if (schema !== 'main') return stageChunkStatements(batch, token, chunkBytes).map((s) => staging(schema, s));
  const out: SqlStatement[] = [];
  const entityRows = batch.entities.map((e) =>
    JSON.stringify([e.id, e.entityType, e.entityKey, e.entityClass, e.displayName, e.propertiesJson, e.hash, e.stepId]),
  );
  for (const chunk of jsonChunks(entityRows, chunkBytes)) {
    out.push(statement('stage', STAGE_ENTITIES, [token, chunk.json, chunk.offset]));
  }
  const staged = endpointsStaged(batch);
  const relationshipRows = batch.relationships.map((r) =>
    JSON.stringify([r.id, r.fromId, r.toId, r.fromType, r.fromKey, r.verb, r.toType, r.toKey, r.propertiesJson, r.hash, r.stepId, staged(r)]),
  );
  for (const chunk of jsonChunks(relationshipRows, chunkBytes)) {
    out.push(statement('stage', STAGE_RELATIONSHIPS, [token, chunk.json, chunk.offset]));
  }
  return out;
}

/**
 * Row-at-a-time staging, for a driver where binding a prepared statement is
 * cheap and runs in-process (better-sqlite3): one prepared INSERT per staged
 * row instead of JSON chunks parsed by `json_each`. Same rows, same columns
 * as {@link stageStatements}; run after {@link stageHeaderStatement}.
 * The SQL uses anonymous `?` parameters, bound in the order of
 * {@link stagedEntityValues} / {@link stagedRelationshipValues} (it is not an
 * `SqlStatement`: one row per statement would not fit D1's query limits).
 */
export function stageEntityRowSql(schema: StagingSchema = 'main'): string {
  return staging(
    schema,
    statement(
      'stage',
      `INSERT INTO staged_entities (token, id, ord, entity_type, entity_key, entity_class, display_name, properties, hash, step_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
  ).sql;
}

export function stageRelationshipRowSql(schema: StagingSchema = 'main'): string {
  return staging(
    schema,
    statement(
      'stage',
      `INSERT INTO staged_relationships
        (token, id, ord, from_id, to_id, from_type, from_key, verb, to_type, to_key, properties, hash, step_id, endpoints_staged)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
  ).sql;
}

/** The values of one staged entity row for {@link stageEntityRowSql}; `ord` is its index in the batch. */
export function stagedEntityValues(token: string, ord: number, e: PreparedEntity): SqlValue[] {
  return [token, e.id, ord, e.entityType, e.entityKey, e.entityClass, e.displayName, e.propertiesJson, e.hash, e.stepId];
}

/**
 * The values of one staged relationship row for {@link stageRelationshipRowSql};
 * `endpoints` from {@link endpointsStaged} (0 is always safe: INV-C04 then looks both up).
 */
export function stagedRelationshipValues(token: string, ord: number, r: PreparedRelationship, endpoints = 0): SqlValue[] {
  return [token, r.id, ord, r.fromId, r.toId, r.fromType, r.fromKey, r.verb, r.toType, r.toKey, r.propertiesJson, r.hash, r.stepId, endpoints];
}

/** JSON arrays of at most `maxBytes` (a single larger row gets a chunk of its own). */
export function* jsonChunks(rows: readonly string[], maxBytes: number): Generator<{ json: string; offset: number }> {
  let start = 0;
  let parts: string[] = [];
  let bytes = 2;
  for (const [index, row] of rows.entries()) {
    const size = utf8Length(row) + 1;
    if (parts.length > 0 && bytes + size > maxBytes) {
      yield { json: `[${parts.join(',')}]`, offset: start };
      parts = [];
      bytes = 2;
      start = index;
    }
    parts.push(row);
    bytes += size;
  }
  if (parts.length > 0) yield { json: `[${parts.join(',')}]`, offset: start };
}

// ---------------------------------------------------------------------------
// Check, diff, promote

/** +P1 kept steps; not correlated with the outer row, so SQLite evaluates it once per statement. */
const KEPT = `(SELECT value FROM json_each((SELECT kept_steps FROM staged_commits WHERE token = ?1)))`;
const IN_SCOPE = (alias: string): string => `${alias}.account_id = h.account_id AND ${alias}.connector_id = h.connector_id`;

/**
 * `willExist(id)` of the reference: emitted in this batch, or stored and not
 * about to be deleted (a stored entity is deleted when it is in the scope,
 * not emitted and its step is not kept). Needs `h` (the header) in scope.
 */
const WILL_EXIST = (id: string): string => `(
  EXISTS (SELECT 1 FROM staged_entities s WHERE s.token = ?1 AND s.id = ${id})
  OR EXISTS (SELECT 1 FROM entities e WHERE e.id = ${id} AND NOT (${IN_SCOPE('e')} AND e.step_id NOT IN ${KEPT}))
)`;

/** Needs `r`, a staged relationship; an endpoint flagged in `endpoints_staged` is in the batch, so it will exist. */
const DANGLING = `(
  ((r.endpoints_staged & 1) = 0 AND NOT ${WILL_EXIST('r.from_id')})
  OR ((r.endpoints_staged & 2) = 0 AND NOT ${WILL_EXIST('r.to_id')})
)`;

const NOT_EMITTED_ENTITY = (alias: string): string =>
  `NOT EXISTS (SELECT 1 FROM staged_entities s WHERE s.token = ?1 AND s.id = ${alias}.id)`;
const NOT_EMITTED_RELATIONSHIP = (alias: string): string =>
  `NOT EXISTS (SELECT 1 FROM staged_relationships s WHERE s.token = ?1 AND s.id = ${alias}.id)`;

/**
 * The upserts run only when the stats just recorded count a created or
 * updated row of that table: an unchanged table (every row of an unchanged
 * re-sync, +P2) is then not even visited. Not correlated with the outer row,
 * so SQLite evaluates it once, before the scan. The rows the stats count are
 * exactly the rows the upsert writes (the adapters check rowsWritten against them).
 */
const RECORDED = (table: 'entities' | 'relationships'): string => `(
  SELECT r.${table}_created + r.${table}_updated FROM sync_runs r JOIN staged_commits c
    ON r.account_id = c.account_id AND r.sync_id = c.sync_id WHERE c.token = ?1
) > 0`;

/**
 * Check, diff and promote a staged commit: guards, delete sets, the sync-run
 * record with stats, the graph writes, the scope's digests, the result row
 * and the cleanup of this commit's staged rows. Binds only the token (and
 * `committedAt`, the digests).
 */
export function promoteStatements(
  token: string,
  committedAt: string,
  schema: StagingSchema = 'main',
  digests: ScopeDigests = NO_DIGESTS,
): SqlStatement[] {
  return [...promoteStatementsIn(token, committedAt, digests).map((s) => staging(schema, s)), ...discardStatements(token, schema)];
}

function promoteStatementsIn(token: string, committedAt: string, digests: ScopeDigests): SqlStatement[] {
  const t = [token];
  return [
    beginPromoteStatement(token),
    // Staged rows are all there: a staged commit that lost rows to a cleanup must not delete the rest.
    statement(
      'guard',
      `INSERT INTO commit_guards (code) SELECT 'StagingIncomplete' WHERE NOT EXISTS (
        SELECT 1 FROM staged_commits h WHERE h.token = ?1
          AND h.entity_count = (SELECT COUNT(*) FROM staged_entities WHERE token = ?1)
          AND h.relationship_count = (SELECT COUNT(*) FROM staged_relationships WHERE token = ?1))`,
      t,
    ),
    // Reference: `history.some(r => r.accountId === accountId && r.syncId === syncId)`, checked first.
    statement(
      'guard',
      `INSERT INTO commit_guards (code) SELECT 'DuplicateSyncId' WHERE EXISTS (
        SELECT 1 FROM staged_commits h JOIN sync_runs r ON r.account_id = h.account_id AND r.sync_id = h.sync_id
        WHERE h.token = ?1)`,
      t,
    ),
    // INV-C04 against the graph as it will be after this commit.
    statement(
      'guard',
      `INSERT INTO commit_guards (code) SELECT 'DanglingRelationship' WHERE EXISTS (
        SELECT 1 FROM staged_relationships r JOIN staged_commits h ON h.token = r.token
        WHERE r.token = ?1 AND ${DANGLING})`,
      t,
    ),
    // Reference `deletedEntities`: in scope, not emitted, step not kept (+P1).
    statement(
      'plan',
      `INSERT INTO staged_entity_deletes (token, id)
       SELECT h.token, e.id FROM staged_commits h JOIN entities e ON ${IN_SCOPE('e')}
       WHERE h.token = ?1 AND e.step_id NOT IN ${KEPT} AND ${NOT_EMITTED_ENTITY('e')}`,
      t,
    ),
    // Reference `deletedRelationships`, first branch: in scope, not emitted, step not kept.
    statement(
      'plan',
      `INSERT INTO staged_relationship_deletes (token, id, cascaded)
       SELECT h.token, r.id, 0 FROM staged_commits h JOIN relationships r ON ${IN_SCOPE('r')}
       WHERE h.token = ?1 AND r.step_id NOT IN ${KEPT} AND ${NOT_EMITTED_RELATIONSHIP('r')}`,
      t,
    ),
    // Second branch, INV-03: any other relationship touching a deleted entity, from any connector.
    statement(
      'plan',
      `INSERT OR IGNORE INTO staged_relationship_deletes (token, id, cascaded)
       SELECT d.token, r.id, 1 FROM staged_entity_deletes d JOIN relationships r ON r.from_id = d.id
       WHERE d.token = ?1 AND ${NOT_EMITTED_RELATIONSHIP('r')}
       UNION
       SELECT d.token, r.id, 1 FROM staged_entity_deletes d JOIN relationships r ON r.to_id = d.id
       WHERE d.token = ?1 AND ${NOT_EMITTED_RELATIONSHIP('r')}`,
      t,
    ),
    // Stats, counted against the graph before it changes.
    statement(
      'record',
      `INSERT INTO sync_runs ${SYNC_RUN_COLUMNS}
       SELECT h.account_id, h.connector_id, h.sync_id, h.started_at, h.finished_at, ?2, h.failed_steps, h.kept_steps,
        es.created, es.updated, es.unchanged,
        (SELECT COUNT(*) FROM staged_entity_deletes WHERE token = ?1),
        (SELECT COUNT(*) FROM entities e WHERE ${IN_SCOPE('e')} AND e.step_id IN ${KEPT} AND ${NOT_EMITTED_ENTITY('e')}),
        rs.created, rs.updated, rs.unchanged,
        (SELECT COUNT(*) FROM staged_relationship_deletes WHERE token = ?1),
        (SELECT COUNT(*) FROM staged_relationship_deletes WHERE token = ?1 AND cascaded = 1),
        (SELECT COUNT(*) FROM relationships r WHERE ${IN_SCOPE('r')} AND r.step_id IN ${KEPT} AND ${NOT_EMITTED_RELATIONSHIP('r')}
          AND NOT EXISTS (SELECT 1 FROM staged_relationship_deletes d WHERE d.token = ?1 AND d.id = r.id))
       FROM staged_commits h,
        (SELECT COALESCE(SUM(o.id IS NULL), 0) AS created, COALESCE(SUM(o.hash <> s.hash), 0) AS updated,
           COALESCE(SUM(o.hash = s.hash), 0) AS unchanged
         FROM staged_entities s LEFT JOIN entities o ON o.id = s.id WHERE s.token = ?1) es,
        (SELECT COALESCE(SUM(o.id IS NULL), 0) AS created, COALESCE(SUM(o.hash <> s.hash), 0) AS updated,
           COALESCE(SUM(o.hash = s.hash), 0) AS unchanged
         FROM staged_relationships s LEFT JOIN relationships o ON o.id = s.id WHERE s.token = ?1) rs
       WHERE h.token = ?1`,
      [token, committedAt],
    ),
    countOtherScopesStatement(token),
    // Created or changed rows only (+P2); the last writer becomes the source.
    statement(
      'graph',
      `INSERT INTO entities (id, account_id, connector_id, sync_id, step_id, entity_type, entity_key, entity_class,
        display_name, properties, hash)
       SELECT s.id, h.account_id, h.connector_id, h.sync_id, s.step_id, s.entity_type, s.entity_key, s.entity_class,
        s.display_name, s.properties, s.hash
       FROM staged_entities s JOIN staged_commits h ON h.token = s.token WHERE s.token = ?1 AND ${RECORDED('entities')}
       ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, connector_id = excluded.connector_id,
        sync_id = excluded.sync_id, step_id = excluded.step_id, entity_type = excluded.entity_type,
        entity_key = excluded.entity_key, entity_class = excluded.entity_class, display_name = excluded.display_name,
        properties = excluded.properties, hash = excluded.hash
       WHERE entities.hash <> excluded.hash`,
      t,
    ),
    statement('graph', `DELETE FROM entities WHERE id IN (SELECT id FROM staged_entity_deletes WHERE token = ?1)`, t),
    statement(
      'graph',
      `INSERT INTO relationships (id, account_id, connector_id, sync_id, step_id, from_id, to_id, from_type, from_key, verb,
        to_type, to_key, properties, hash)
       SELECT s.id, h.account_id, h.connector_id, h.sync_id, s.step_id, s.from_id, s.to_id, s.from_type, s.from_key, s.verb,
        s.to_type, s.to_key, s.properties, s.hash
       FROM staged_relationships s JOIN staged_commits h ON h.token = s.token WHERE s.token = ?1 AND ${RECORDED('relationships')}
       ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, connector_id = excluded.connector_id,
        sync_id = excluded.sync_id, step_id = excluded.step_id, from_id = excluded.from_id, to_id = excluded.to_id,
        from_type = excluded.from_type, from_key = excluded.from_key, verb = excluded.verb, to_type = excluded.to_type,
        to_key = excluded.to_key, properties = excluded.properties, hash = excluded.hash
       WHERE relationships.hash <> excluded.hash`,
      t,
    ),
    statement('graph', `DELETE FROM relationships WHERE id IN (SELECT id FROM staged_relationship_deletes WHERE token = ?1)`, t),
    recordScopeStatement(token, digests),
    endPromoteStatement(token),
    statement(
      'result',
      `SELECT r.* FROM sync_runs r JOIN staged_commits h ON r.account_id = h.account_id AND r.sync_id = h.sync_id
       WHERE h.token = ?1`,
      t,
    ),
  ];
}

// ---------------------------------------------------------------------------
// After a guard aborted

/**
 * INV-C04 report: one row (or none) with the first dangling relationship in
 * batch order (`id`, `from_type`, `from_key`, `verb`, `to_type`, `to_key`)
 * and `dangling_count`, the number of dangling relationships. Run it where
 * the staged rows are visible and the graph is as the guard saw it:
 * - SQLite: inside the same transaction, right after the guard threw (a
 *   RAISE(ABORT) fails the statement; the transaction is still open).
 * - D1: the batch was rolled back with its staged rows, so run a second batch
 *   `[...stageStatements(batch, token2, now), danglingReportStatement(token2),
 *   ...discardStatements(token2)]` and read the report statement's result.
 */
export function danglingReportStatement(token: string, schema: StagingSchema = 'main'): SqlStatement {
  return staging(schema, statement(
    'read',
    `SELECT r.id, r.from_type, r.from_key, r.verb, r.to_type, r.to_key, COUNT(*) OVER () AS dangling_count
     FROM staged_relationships r JOIN staged_commits h ON h.token = r.token
     WHERE r.token = ?1 AND ${DANGLING}
     ORDER BY r.ord LIMIT 1`,
    [token],
  ));
}

export interface DanglingReport {
  /** The first dangling relationship of the batch, as given to the store. */
  readonly relationship: PreparedRelationship;
  readonly count: number;
}

/** Reads a report row back into the batch's relationship (for `danglingRelationship()`). */
export function readDanglingReport(row: Record<string, unknown> | undefined, batch: CommitBatch): DanglingReport | undefined {
  if (!row) return undefined;
  const id = String(row.id);
  const relationship = batch.relationships.find((r) => r.id === id);
  if (!relationship) return undefined;
  return { relationship, count: Number(row.dangling_count) };
}

// ---------------------------------------------------------------------------
// Sync-run rows

/** A `sync_runs` row (from the `result` statement or a history read) as a SyncRecord. */
export function syncRecordFromRow(row: Record<string, unknown>): SyncRecord {
  const stats: SyncStats = {
    entitiesCreated: Number(row.entities_created),
    entitiesUpdated: Number(row.entities_updated),
    entitiesUnchanged: Number(row.entities_unchanged),
    entitiesDeleted: Number(row.entities_deleted),
    entitiesKept: Number(row.entities_kept),
    relationshipsCreated: Number(row.relationships_created),
    relationshipsUpdated: Number(row.relationships_updated),
    relationshipsUnchanged: Number(row.relationships_unchanged),
    relationshipsDeleted: Number(row.relationships_deleted),
    relationshipsCascaded: Number(row.relationships_cascaded),
    relationshipsKept: Number(row.relationships_kept),
  };
  return {
    accountId: String(row.account_id),
    connectorId: String(row.connector_id),
    syncId: String(row.sync_id),
    startedAt: String(row.started_at),
    finishedAt: String(row.finished_at),
    committedAt: String(row.committed_at),
    failedSteps: JSON.parse(String(row.failed_steps)) as string[],
    keptSteps: JSON.parse(String(row.kept_steps)) as string[],
    stats,
  };
}
