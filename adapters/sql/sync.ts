/**
 * A sync as SQL, shared by the SQLite and D1 stores: what a session stages
 * while the connector runs, what it reads back, and its commit, computed
 * set-wise inside the database. Every function returns statements (SQL
 * text and bound parameters); `store.ts` runs them through an executor.
 *
 * Staging (one token per sync, +P4: leftovers are removed once stale):
 * `staged_syncs` (the header), `staged_entities` / `staged_relationships`
 * (prepared rows of units the scope did not have), `staged_units` (the
 * sync's units: new ones with their ids, matched stored ones without).
 *
 * The commit, in the store's atomic unit:
 * 1. the unchanged fast path (+P2): when nothing was staged, every stored
 *    unit of the scope was matched, and the scope's units still stand for
 *    its rows, the sync-run record is the only write ({@link unchangedStatements});
 * 2. otherwise the full commit runs ({@link commitStatements}); without
 *    kept steps its delete plan reads only the stored units the sync did
 *    not match ({@link unitDeleteParts}), else matched units are first
 *    expanded into `staged_confirmed` ({@link expandStatements}) and the plan
 *    reads the scope row by row. Guards (reused sync id, a matched unit gone
 *    stale, staging incomplete), the delete plan (+P1 kept steps, INV-03
 *    cascade), INV-C04 against the graph as it will be, the sync-run record
 *    with stats counted by SQL, write counts for other scopes, the graph
 *    writes (only rows whose content differs: +P2), and the scope's units.
 *
 * The semantics are those of the memory store (`adapters/memory.ts`); the
 * comments name the rule each statement is. The sum of `changes` of the
 * `graph` statements is the commit's `rowsWritten` and equals
 * `rowWrites(stats)`.
 */
import type { PreparedEntity, PreparedRelationship, StagedChunk, SyncClose, SyncHeader } from '../../src/adapter-kit.js';
import { STAGING_TABLE_NAMES, SYNC_RUN_COLUMNS } from './schema.js';
import type { Row } from './read.js';
import { statement, utf8Length, type SqlStatement, type SqlValue, type StatementKind } from './statement.js';

// ---------------------------------------------------------------------------
// Session lifecycle

/** The header row of a new sync's staging area. */
export function openStatement(token: string, header: SyncHeader, stagedAt: string): SqlStatement {
  return statement(
    'stage',
    `INSERT INTO staged_syncs (token, account_id, connector_id, sync_id, started_at, verify, staged_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)`,
    [token, header.accountId, header.connectorId, header.syncId, header.startedAt, header.verify ? 1 : 0, stagedAt],
  );
}

/** Removes the staged rows of syncs staged before `staleBefore` (crashed or abandoned: +P4), and rows without a header. */
export function cleanupStatements(staleBefore: string): SqlStatement[] {
  const live = `(SELECT token FROM staged_syncs WHERE staged_at >= ?1)`;
  return [
    ...STAGING_TABLE_NAMES.filter((t) => t !== 'staged_syncs').map((table) =>
      statement('cleanup', `DELETE FROM ${table} WHERE token NOT IN ${live}`, [staleBefore]),
    ),
    statement('cleanup', `DELETE FROM staged_syncs WHERE staged_at < ?1`, [staleBefore]),
  ];
}

/**
 * Removes one sync's staging area: after its commit, or when it is aborted.
 * With `alone` (the connection's own staging, and no other sync staging
 * there) the tables are emptied whole, which SQLite does without visiting
 * a row.
 */
export function discardStatements(token: string, alone = false): SqlStatement[] {
  if (alone) return STAGING_TABLE_NAMES.map((table) => statement('cleanup', `DELETE FROM ${table}`));
  return STAGING_TABLE_NAMES.map((table) => statement('cleanup', `DELETE FROM ${table} WHERE token = ?1`, [token]));
}

/**
 * Empties the staging tables whole (SQLite then frees their pages without
 * visiting a row) unless another sync has a staging area there: its guard
 * aborts the batch first (`commit_guard_other`), and the caller falls back
 * to {@link discardStatements}. For shared staging (D1), where emptying row
 * by row took 44 s at 1M rows.
 */
export function discardAloneStatements(token: string): SqlStatement[] {
  return [
    statement('guard', `INSERT INTO commit_guards (code) SELECT 'StagingShared' WHERE EXISTS (SELECT 1 FROM staged_syncs WHERE token <> ?1)`, [token]),
    ...STAGING_TABLE_NAMES.map((table) => statement('cleanup', `DELETE FROM ${table}`)),
  ];
}

/** +P1: a failed step's staged rows and units count for nothing (from page `fromPage` on: a page about to run again). */
export function discardStepStatements(token: string, stepId: string, fromPage = 0): SqlStatement[] {
  return ['staged_entities', 'staged_relationships', 'staged_units', 'staged_confirmed'].map((table) =>
    statement('cleanup', `DELETE FROM ${table} WHERE token = ?1 AND step_id = ?2 AND page >= ?3`, [token, stepId, fromPage]),
  );
}

/** The header of a staging area, for resuming it; rows `account_id, connector_id, sync_id, started_at, verify`. */
export function headerStatement(token: string): SqlStatement {
  return statement('read', `SELECT account_id, connector_id, sync_id, started_at, verify FROM staged_syncs WHERE token = ?1`, [token]);
}

// ---------------------------------------------------------------------------
// Units

/**
 * The digests of the scope's units of one step and kind, when the scope's
 * units still stand for its rows (no other connector wrote to it since its
 * last full commit recorded them); also notes in the header the write count
 * they were read at, so the commit can tell they went stale. Rows: `digest`.
 */
export function storedUnitsStatements(token: string, stepId: string, kind: string): [SqlStatement, SqlStatement] {
  return [
    statement(
      'stage',
      `UPDATE staged_syncs SET units_read = (
         SELECT s.writes FROM scope_state s WHERE s.account_id = staged_syncs.account_id AND s.connector_id = staged_syncs.connector_id
           AND s.units_writes = s.writes)
       WHERE token = ?1 AND units_read IS NULL AND verify = 0`,
      [token],
    ),
    statement(
      'read',
      `SELECT u.digest FROM staged_syncs h
       JOIN scope_state s ON s.account_id = h.account_id AND s.connector_id = h.connector_id
       JOIN scope_units u ON u.account_id = h.account_id AND u.connector_id = h.connector_id
       WHERE h.token = ?1 AND h.verify = 0 AND s.units_writes = s.writes AND h.units_read = s.writes
         AND u.step_id = ?2 AND u.kind = ?3`,
      [token, stepId, kind],
    ),
  ];
}

// ---------------------------------------------------------------------------
// Staging a chunk

const ENTITY_COLUMNS = `token, id, step_id, page, entity_type, entity_key, entity_class, display_name, properties, hash`;
const RELATIONSHIP_COLUMNS = `token, id, ord, step_id, page, from_id, to_id, from_type, from_key, verb, to_type, to_key, properties, hash`;

/** One staged entity row per statement, bound from {@link entityValues} (in-process drivers). */
export const STAGE_ENTITY_ROW = `INSERT INTO staged_entities (${ENTITY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
export const STAGE_RELATIONSHIP_ROW = `INSERT INTO staged_relationships (${RELATIONSHIP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

export function entityValues(token: string, page: number, e: PreparedEntity): SqlValue[] {
  return [token, e.id, e.stepId, page, e.entityType, e.entityKey, e.entityClass, e.displayName, e.propertiesJson, e.hash];
}

export function relationshipValues(token: string, page: number, r: PreparedRelationship): SqlValue[] {
  return [token, r.id, r.ord, r.stepId, page, r.fromId, r.toId, r.fromType, r.fromKey, r.verb, r.toType, r.toKey, r.propertiesJson, r.hash];
}

const fromJson = (count: number): string => Array.from({ length: count }, (_, i) => `json_extract(value, '$[${i}]')`).join(', ');

/** Many staged rows per statement: a JSON array of {@link entityValues} (without the token) expanded by `json_each` (D1). */
const STAGE_ENTITY_JSON = `INSERT INTO staged_entities (${ENTITY_COLUMNS}) SELECT ?1, ${fromJson(9)} FROM json_each(?2)`;
const STAGE_RELATIONSHIP_JSON = `INSERT INTO staged_relationships (${RELATIONSHIP_COLUMNS}) SELECT ?1, ${fromJson(13)} FROM json_each(?2)`;

/**
 * A chunk's rows as statements of at most `chunkBytes` of bound JSON each
 * (a single larger row gets a statement of its own), for a driver where
 * each statement is a round trip (D1).
 */
export function stageRowStatements(token: string, chunk: StagedChunk, chunkBytes: number): SqlStatement[] {
  const out: SqlStatement[] = [];
  const entities = chunk.entities.map((e) => JSON.stringify(entityValues(token, chunk.page, e).slice(1)));
  for (const json of jsonChunks(entities, chunkBytes)) out.push(statement('stage', STAGE_ENTITY_JSON, [token, json]));
  const relationships = chunk.relationships.map((r) => JSON.stringify(relationshipValues(token, chunk.page, r).slice(1)));
  for (const json of jsonChunks(relationships, chunkBytes)) out.push(statement('stage', STAGE_RELATIONSHIP_JSON, [token, json]));
  return out;
}

/** JSON arrays of at most `maxBytes` (a single larger row gets an array of its own). */
export function* jsonChunks(rows: readonly string[], maxBytes: number): Generator<string> {
  let parts: string[] = [];
  let bytes = 2;
  for (const row of rows) {
    const size = utf8Length(row) + 1;
    if (parts.length > 0 && bytes + size > maxBytes) {
      yield `[${parts.join(',')}]`;
      parts = [];
      bytes = 2;
    }
    parts.push(row);
    bytes += size;
  }
  if (parts.length > 0) yield `[${parts.join(',')}]`;
}

const UNIT_COLUMNS = `token, kind, digest, step_id, page, ord, ids`;

/** One staged unit per statement, bound from {@link unitValues} (in-process drivers). */
export const STAGE_UNIT_ROW = `INSERT INTO staged_units (${UNIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`;

/** A chunk's units as rows of `staged_units`: new ones with their ids (JSON), matched ones by digest. */
export function unitValues(token: string, chunk: StagedChunk): SqlValue[][] {
  return [
    ...chunk.units.map((u) => [token, u.kind, u.digest, u.stepId, chunk.page, 0, JSON.stringify(u.ids)]),
    ...chunk.matched.map((m) => [token, m.kind, m.digest, chunk.stepId, chunk.page, m.ord, null]),
  ];
}

/** A chunk's units as statements of at most `chunkBytes` of bound JSON each ({@link unitValues} expanded by `json_each`: D1). */
export function stageUnitStatements(token: string, chunk: StagedChunk, chunkBytes: number): SqlStatement[] {
  const units = unitValues(token, chunk).map((row) => JSON.stringify(row.slice(1)));
  return [...jsonChunks(units, chunkBytes)].map((json) =>
    statement('stage', `INSERT INTO staged_units (${UNIT_COLUMNS}) SELECT ?1, ${fromJson(6)} FROM json_each(?2)`, [token, json]),
  );
}

// ---------------------------------------------------------------------------
// Matched units, row by row

/**
 * The rows of the sync's matched units not expanded yet, into
 * `staged_confirmed` (of `steps` only, when given): what prior reads of
 * those steps and a full commit need. The ord of a row is its unit's plus
 * its index in the unit.
 */
// `+token`: the lookups of matched units read the partial index staged_units_matched (schema.ts), which only
// holds them, never the staging key's range of all the sync's units (SQLite prefers that key without the `+`).
export function expandStatements(token: string, steps?: readonly string[]): SqlStatement[] {
  const only = steps === undefined ? '' : `AND m.step_id IN (SELECT value FROM json_each(?2))`;
  const params = steps === undefined ? [token] : [token, JSON.stringify(steps)];
  return [
    statement(
      'stage',
      `INSERT INTO staged_confirmed (token, kind, id, step_id, page, ord)
       SELECT m.token, m.kind, j.value, m.step_id, m.page, m.ord + j.key
       FROM staged_units m JOIN staged_syncs h ON h.token = m.token
       JOIN scope_units u ON u.account_id = h.account_id AND u.connector_id = h.connector_id AND u.kind = m.kind AND u.digest = m.digest,
       json_each(u.ids) j
       WHERE +m.token = ?1 AND m.ids IS NULL AND m.expanded = 0 ${only}`,
      params,
    ),
    statement('stage', `UPDATE staged_units SET expanded = 1 WHERE +token = ?1 AND ids IS NULL AND expanded = 0 ${only.replace('m.', '')}`, params),
  ];
}

// ---------------------------------------------------------------------------
// Prior reads: what the sync's dependencies emitted

const PRIOR_COLUMNS = `id, step_id, entity_type, entity_key, entity_class, display_name, properties`;

/**
 * Entities staged or confirmed by `steps` (after {@link expandStatements}
 * for them), with ids after `after`, in id order; rows `PRIOR_COLUMNS`.
 */
export function priorEntitiesStatement(
  token: string,
  query: { steps: readonly string[]; type?: string; class?: string; after?: string; limit: number },
): SqlStatement {
  const filter = (alias: string): string =>
    [
      query.type === undefined ? '' : `AND ${alias}.entity_type = ?4`,
      query.class === undefined ? '' : `AND ${alias}.entity_class = ?5`,
    ].join(' ');
  return statement(
    'read',
    `SELECT ${PRIOR_COLUMNS} FROM (
       SELECT s.id, s.step_id, s.entity_type, s.entity_key, s.entity_class, s.display_name, s.properties
       FROM staged_entities s WHERE s.token = ?1 AND s.id > ?3 AND s.step_id IN (SELECT value FROM json_each(?2)) ${filter('s')}
       UNION ALL
       SELECT e.id, c.step_id, e.entity_type, e.entity_key, e.entity_class, e.display_name, e.properties
       FROM staged_confirmed c JOIN entities e ON e.id = c.id
       WHERE c.token = ?1 AND c.kind = 'entity' AND c.id > ?3 AND c.step_id IN (SELECT value FROM json_each(?2)) ${filter('e')}
     ) ORDER BY id LIMIT ?6`,
    [token, JSON.stringify(query.steps), query.after ?? '', query.type ?? null, query.class ?? null, query.limit],
  );
}

/** Ids of the entities staged or confirmed by `steps` (after {@link expandStatements}), after `after`, in id order; rows `id`. */
export function priorEntityIdsStatement(token: string, query: { steps: readonly string[]; after?: string; limit: number }): SqlStatement {
  return statement(
    'read',
    `SELECT id FROM (
       SELECT s.id FROM staged_entities s WHERE s.token = ?1 AND s.id > ?3 AND s.step_id IN (SELECT value FROM json_each(?2))
       UNION ALL
       SELECT c.id FROM staged_confirmed c WHERE c.token = ?1 AND c.kind = 'entity' AND c.id > ?3 AND c.step_id IN (SELECT value FROM json_each(?2))
     ) ORDER BY id LIMIT ?4`,
    [token, JSON.stringify(query.steps), query.after ?? '', query.limit],
  );
}

/** One entity staged or confirmed by `steps`; rows `PRIOR_COLUMNS`. */
export function priorEntityStatement(token: string, steps: readonly string[], id: string): SqlStatement {
  return statement(
    'read',
    `SELECT s.id, s.step_id, s.entity_type, s.entity_key, s.entity_class, s.display_name, s.properties
     FROM staged_entities s WHERE s.token = ?1 AND s.id = ?3 AND s.step_id IN (SELECT value FROM json_each(?2))
     UNION ALL
     SELECT e.id, c.step_id, e.entity_type, e.entity_key, e.entity_class, e.display_name, e.properties
     FROM staged_confirmed c JOIN entities e ON e.id = c.id
     WHERE c.token = ?1 AND c.kind = 'entity' AND c.id = ?3 AND c.step_id IN (SELECT value FROM json_each(?2))
     LIMIT 1`,
    [token, JSON.stringify(steps), id],
  );
}

// ---------------------------------------------------------------------------
// Commit

/**
 * The parameters every commit statement binds: ?1 token, ?2 kept steps
 * (JSON), ?3 failed steps (JSON), ?4 finishedAt, ?5 committedAt, ?6 verify
 * (0/1), ?7 entities emitted, ?8 relationships emitted.
 */
export function commitParams(token: string, close: SyncClose, committedAt: string, verify: boolean): SqlValue[] {
  return [
    token,
    JSON.stringify(close.keptSteps),
    JSON.stringify(close.failedSteps),
    close.finishedAt,
    committedAt,
    verify ? 1 : 0,
    close.entities,
    close.relationships,
  ];
}

const DUPLICATE_SYNC = `INSERT INTO commit_guards (code) SELECT 'DuplicateSyncId' WHERE EXISTS (
  SELECT 1 FROM staged_syncs h JOIN sync_runs r ON r.account_id = h.account_id AND r.sync_id = h.sync_id WHERE h.token = ?1)`;

/** Sums of the ids of the sync's matched units, by kind, from the scope's units. */
const MATCHED_ROWS = (kind: string): string => `(
  SELECT COALESCE(SUM(json_array_length(u.ids)), 0) FROM staged_units m JOIN staged_syncs h ON h.token = m.token
  JOIN scope_units u ON u.account_id = h.account_id AND u.connector_id = h.connector_id AND u.kind = m.kind AND u.digest = m.digest
  WHERE m.token = ?1 AND m.ids IS NULL AND m.kind = '${kind}')`;

/**
 * +P2 without staging: the sync-run record with every row unchanged,
 * inserted only when nothing was staged, no step is kept, every stored unit
 * of the scope was matched (and emitted exactly the rows counted), and the
 * scope's units still stand for its rows. The `result` statement returns the
 * record, or no row when the check did not hold (then nothing was written).
 */
export function unchangedStatements(token: string, close: SyncClose, committedAt: string): SqlStatement[] {
  const params = commitParams(token, close, committedAt, false);
  return [
    statement('guard', DUPLICATE_SYNC, params),
    statement(
      'record',
      `INSERT INTO sync_runs ${SYNC_RUN_COLUMNS}
       SELECT h.account_id, h.connector_id, h.sync_id, h.started_at, ?4, ?5, ?3, ?2, 0, 0, ?7, 0, 0, 0, 0, ?8, 0, 0, 0
       FROM staged_syncs h JOIN scope_state s ON s.account_id = h.account_id AND s.connector_id = h.connector_id
       WHERE h.token = ?1 AND ?2 = '[]' AND ?6 = 0 AND h.verify = 0
         AND s.units_writes = s.writes AND h.units_read = s.writes
         AND NOT EXISTS (SELECT 1 FROM staged_entities WHERE token = ?1)
         AND NOT EXISTS (SELECT 1 FROM staged_relationships WHERE token = ?1)
         AND NOT EXISTS (SELECT 1 FROM staged_units WHERE token = ?1 AND ids IS NOT NULL)
         AND (SELECT COUNT(*) FROM staged_units WHERE token = ?1)
           = (SELECT COUNT(*) FROM scope_units u WHERE u.account_id = h.account_id AND u.connector_id = h.connector_id)
         AND ${MATCHED_ROWS('entity')} = ?7 AND ${MATCHED_ROWS('relationship')} = ?8`,
      params,
    ),
    resultStatement(token),
  ];
}

function resultStatement(token: string): SqlStatement {
  return statement(
    'result',
    `SELECT r.* FROM sync_runs r JOIN staged_syncs h ON r.account_id = h.account_id AND r.sync_id = h.sync_id WHERE h.token = ?1`,
    [token],
  );
}

/** +P1 kept steps; not correlated with the outer row, so SQLite evaluates it once per statement. */
const KEPT = `(SELECT value FROM json_each(?2))`;
const IN_SCOPE = (alias: string): string => `${alias}.account_id = h.account_id AND ${alias}.connector_id = h.connector_id`;
const EMITTED_ENTITY = (id: string): string => `(
  EXISTS (SELECT 1 FROM staged_entities s WHERE s.token = ?1 AND s.id = ${id})
  OR EXISTS (SELECT 1 FROM staged_confirmed c WHERE c.token = ?1 AND c.kind = 'entity' AND c.id = ${id}))`;
const EMITTED_RELATIONSHIP = (id: string): string => `(
  EXISTS (SELECT 1 FROM staged_relationships s WHERE s.token = ?1 AND s.id = ${id})
  OR EXISTS (SELECT 1 FROM staged_confirmed c WHERE c.token = ?1 AND c.kind = 'relationship' AND c.id = ${id}))`;
const DELETED_ENTITY = (id: string): string => `EXISTS (SELECT 1 FROM staged_entity_deletes d WHERE d.token = ?1 AND d.id = ${id})`;

/**
 * An endpoint of a staged relationship that will not exist. Set-wise: the
 * endpoints (read in one scan of the staged rows, `+token` keeps SQLite
 * off the key index and its random row fetches), less the emitted ids
 * (each side in key order), leave the few to look up one by one.
 */
const STAGED_DANGLING = `EXISTS (SELECT 1 FROM (
    SELECT from_id AS id FROM staged_relationships WHERE +token = ?1
    UNION SELECT to_id FROM staged_relationships WHERE +token = ?1
    EXCEPT SELECT id FROM staged_entities WHERE token = ?1
    EXCEPT SELECT id FROM staged_confirmed WHERE token = ?1 AND kind = 'entity'
  ) x WHERE NOT (EXISTS (SELECT 1 FROM entities e WHERE e.id = x.id) AND NOT ${DELETED_ENTITY('x.id')}))`;

/**
 * Staged rows of `staged` not in `graph`: read from the staging key and the
 * graph's primary key alone, in key order. The stats count created rows so,
 * and only rows the graph holds are joined for updated and unchanged
 * (CROSS JOIN keeps the staged side outer): a staged row's other columns
 * are read only for those, never (in a first sync) in random order from a
 * staging table bigger than its cache.
 */
const STAGED_NEW = (staged: string, graph: string): string =>
  `(SELECT COUNT(*) FROM ${staged} n WHERE n.token = ?1 AND NOT EXISTS (SELECT 1 FROM ${graph} g WHERE g.id = n.id))`;

/**
 * Does a stored row differ from what the sync emitted (`o` stored, `s` the
 * staged row with the sync's connector as `connector`)? By the content
 * hash; in verify mode (?6) also column by column, which finds rows edited
 * by hand since their hash was written.
 */
const ENTITY_DIFFERS = (o: string, s: string, connector: string): string => `(${o}.hash <> ${s}.hash OR (?6 = 1 AND (
  ${o}.entity_class IS NOT ${s}.entity_class OR ${o}.display_name IS NOT ${s}.display_name OR ${o}.properties IS NOT ${s}.properties
  OR ${o}.step_id IS NOT ${s}.step_id OR ${o}.connector_id IS NOT ${connector}
  OR ${o}.entity_type IS NOT ${s}.entity_type OR ${o}.entity_key IS NOT ${s}.entity_key)))`;
const RELATIONSHIP_DIFFERS = (o: string, s: string, connector: string): string => `(${o}.hash <> ${s}.hash OR (?6 = 1 AND (
  ${o}.properties IS NOT ${s}.properties OR ${o}.step_id IS NOT ${s}.step_id OR ${o}.connector_id IS NOT ${connector}
  OR ${o}.from_id IS NOT ${s}.from_id OR ${o}.to_id IS NOT ${s}.to_id)))`;

/** Rows of the sync's matched units: expanded into staged_confirmed for a plan row by row, counted from the units for one by units. */
const CONFIRMED_ROWS = (kind: string, byUnits: boolean): string =>
  byUnits ? MATCHED_ROWS(kind) : `(SELECT COUNT(*) FROM staged_confirmed WHERE token = ?1 AND kind = '${kind}')`;

/**
 * The sync-run record, with the stats counted against the graph before the
 * commit changes it (after the delete plan), its columns named as in `sync_runs`.
 * Unchanged rows are the emitted ones less those created or updated: the
 * StagingIncomplete guard holds staged plus confirmed to the emitted counts
 * (?7, ?8), so the matched units' ids need no second count. By units there
 * are no kept steps.
 */
const STATS = (byUnits: boolean): string => `SELECT h.account_id, h.connector_id, h.sync_id, h.started_at, ?4 AS finished_at, ?5 AS committed_at, ?3 AS failed_steps, ?2 AS kept_steps,
        es.created AS entities_created, es.updated AS entities_updated,
        ?7 - es.created - es.updated AS entities_unchanged,
        (SELECT COUNT(*) FROM staged_entity_deletes WHERE token = ?1) AS entities_deleted,
        ${byUnits ? '0' : `(SELECT COUNT(*) FROM entities e WHERE ${IN_SCOPE('e')} AND e.step_id IN ${KEPT} AND NOT ${EMITTED_ENTITY('e.id')})`} AS entities_kept,
        rs.created AS relationships_created, rs.updated AS relationships_updated,
        ?8 - rs.created - rs.updated AS relationships_unchanged,
        (SELECT COUNT(*) FROM staged_relationship_deletes WHERE token = ?1) AS relationships_deleted,
        (SELECT COUNT(*) FROM staged_relationship_deletes WHERE token = ?1 AND cascaded = 1) AS relationships_cascaded,
        ${byUnits ? '0' : `(SELECT COUNT(*) FROM relationships r WHERE ${IN_SCOPE('r')} AND r.step_id IN ${KEPT} AND NOT ${EMITTED_RELATIONSHIP('r.id')}
          AND NOT EXISTS (SELECT 1 FROM staged_relationship_deletes d WHERE d.token = ?1 AND d.id = r.id))`} AS relationships_kept
       FROM staged_syncs h,
        (SELECT ${STAGED_NEW('staged_entities', 'entities')} AS created,
           COALESCE(SUM(${ENTITY_DIFFERS('o', 's', 'x.connector_id')}), 0) AS updated
         FROM staged_entities s CROSS JOIN entities o ON o.id = s.id JOIN staged_syncs x ON x.token = s.token WHERE s.token = ?1) es,
        (SELECT ${STAGED_NEW('staged_relationships', 'relationships')} AS created,
           COALESCE(SUM(${RELATIONSHIP_DIFFERS('o', 's', 'x.connector_id')}), 0) AS updated
         FROM staged_relationships s CROSS JOIN relationships o ON o.id = s.id JOIN staged_syncs x ON x.token = s.token WHERE s.token = ?1) rs
       WHERE h.token = ?1`;

/**
 * Scopes this commit takes a row from or cascades one away from (rows
 * `account_id, connector_id`). With `recorded`, only when the sync-run row
 * just recorded counts an update (so an unchanged table is not visited).
 */
const TAKEN_SCOPES = (recorded: boolean): string => {
  const counted = (column: string): string => (recorded ? `AND ${RECORDED(column)} > 0` : '');
  return `SELECT o.account_id, o.connector_id FROM staged_entities s JOIN staged_syncs x ON x.token = s.token
     JOIN entities o ON o.id = s.id WHERE s.token = ?1 AND ${ENTITY_DIFFERS('o', 's', 'x.connector_id')} ${counted('entities_updated')}
     UNION
     SELECT o.account_id, o.connector_id FROM staged_relationships s JOIN staged_syncs x ON x.token = s.token
     JOIN relationships o ON o.id = s.id WHERE s.token = ?1 AND ${RELATIONSHIP_DIFFERS('o', 's', 'x.connector_id')} ${counted('relationships_updated')}
     UNION
     SELECT r.account_id, r.connector_id FROM staged_relationship_deletes d JOIN relationships r ON r.id = d.id
     WHERE d.token = ?1 AND d.cascaded = 1`;
};

/** The graph tables. */
export type GraphTable = 'entities' | 'relationships';

/**
 * Writes the sync's staged rows of `table` into `target` (the table itself,
 * or one built beside it) where `where` holds: created rows, and stored
 * rows whose content differs (+P2), in id order. With `scan` (the
 * executor's `SqlExecutor.unkeyedStaging`) the staged rows are read in one
 * scan and sorted by id, instead of walking the staging key and fetching
 * each row from wherever it was staged. Binds {@link commitParams}.
 */
export function upsertSql(table: GraphTable, target: string, where: string, scan = false): string {
  const into = target === table ? table : `"${target}"`;
  const staged = table === 'entities' ? 'staged_entities' : 'staged_relationships';
  const from = scan
    ? `FROM ${staged} s NOT INDEXED JOIN staged_syncs h ON h.token = s.token
       WHERE +s.token = ?1 AND ${where} ORDER BY s.id`
    : `FROM ${staged} s JOIN staged_syncs h ON h.token = s.token
       WHERE s.token = ?1 AND ${where}`;
  if (table === 'entities') {
    return `INSERT INTO ${into} (id, account_id, connector_id, sync_id, step_id, entity_type, entity_key, entity_class,
        display_name, properties, hash)
       SELECT s.id, h.account_id, h.connector_id, h.sync_id, s.step_id, s.entity_type, s.entity_key, s.entity_class,
        s.display_name, s.properties, s.hash
       ${from}
       ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, connector_id = excluded.connector_id,
        sync_id = excluded.sync_id, step_id = excluded.step_id, entity_type = excluded.entity_type,
        entity_key = excluded.entity_key, entity_class = excluded.entity_class, display_name = excluded.display_name,
        properties = excluded.properties, hash = excluded.hash
       WHERE ${ENTITY_DIFFERS(into, 'excluded', 'excluded.connector_id')}`;
  }
  return `INSERT INTO ${into} (id, account_id, connector_id, sync_id, step_id, from_id, to_id, from_type, from_key, verb,
        to_type, to_key, properties, hash)
       SELECT s.id, h.account_id, h.connector_id, h.sync_id, s.step_id, s.from_id, s.to_id, s.from_type, s.from_key, s.verb,
        s.to_type, s.to_key, s.properties, s.hash
       ${from}
       ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, connector_id = excluded.connector_id,
        sync_id = excluded.sync_id, step_id = excluded.step_id, from_id = excluded.from_id, to_id = excluded.to_id,
        from_type = excluded.from_type, from_key = excluded.from_key, verb = excluded.verb, to_type = excluded.to_type,
        to_key = excluded.to_key, properties = excluded.properties, hash = excluded.hash
       WHERE ${RELATIONSHIP_DIFFERS(into, 'excluded', 'excluded.connector_id')}`;
}

/** Statements binding {@link commitParams}. */
const withParams =
  (params: readonly SqlValue[]) =>
  (kind: StatementKind, sql: string): SqlStatement =>
    statement(kind, sql, params);

/**
 * The guards and the delete plan (into the staging area), against the graph
 * as it is; `byUnits` plans deletes by units ({@link unitDeleteParts}).
 */
function planParts(params: readonly SqlValue[], byUnits: boolean, stagedDangling = true): SqlStatement[] {
  const s = withParams(params);
  const confirmed = (kind: string): string => CONFIRMED_ROWS(kind, byUnits);
  // Is relationship `r` (of any scope) emitted? By units: staged, or in scope and not in the plan's own deletes (so confirmed).
  const emitted = (r: string): string =>
    byUnits
      ? `(EXISTS (SELECT 1 FROM staged_relationships s WHERE s.token = ?1 AND s.id = ${r}.id)
         OR (${IN_SCOPE(r)} AND NOT EXISTS (SELECT 1 FROM staged_relationship_deletes x WHERE x.token = ?1 AND x.id = ${r}.id AND x.cascaded = 0)))`
      : EMITTED_RELATIONSHIP(`${r}.id`);
  // A confirmed relationship with an endpoint (`side`) this commit deletes.
  const confirmedDangling = (side: string): string =>
    byUnits
      ? `EXISTS (SELECT 1 FROM staged_entity_deletes d JOIN staged_syncs h ON h.token = d.token JOIN relationships r ON r.${side} = d.id
           WHERE d.token = ?1 AND ${emitted('r')} AND NOT EXISTS (SELECT 1 FROM staged_relationships s WHERE s.token = ?1 AND s.id = r.id))`
      : `EXISTS (SELECT 1 FROM staged_entity_deletes d JOIN relationships r ON r.${side} = d.id
           JOIN staged_confirmed c ON c.token = ?1 AND c.kind = 'relationship' AND c.id = r.id WHERE d.token = ?1)`;
  return [
    s('guard', DUPLICATE_SYNC),
    // Matched units stand for stored rows: those must be what the sync read.
    s(
      'guard',
      `INSERT INTO commit_guards (code) SELECT 'SyncConflict' FROM staged_syncs h WHERE h.token = ?1
       AND EXISTS (SELECT 1 FROM staged_units m WHERE m.token = ?1 AND m.ids IS NULL)
       AND (NOT EXISTS (SELECT 1 FROM scope_state st WHERE ${IN_SCOPE('st')} AND st.units_writes = st.writes AND h.units_read = st.writes)
         OR EXISTS (SELECT 1 FROM staged_units m WHERE m.token = ?1 AND m.ids IS NULL AND NOT EXISTS (
           SELECT 1 FROM scope_units u WHERE ${IN_SCOPE('u')} AND u.kind = m.kind AND u.digest = m.digest)))`,
    ),
    // Every emitted row is staged or confirmed: a cleaned-up staging area must not delete the rest.
    s(
      'guard',
      `INSERT INTO commit_guards (code) SELECT 'StagingIncomplete' WHERE
         (SELECT COUNT(*) FROM staged_entities WHERE token = ?1) + ${confirmed('entity')} <> ?7
         OR (SELECT COUNT(*) FROM staged_relationships WHERE token = ?1) + ${confirmed('relationship')} <> ?8`,
    ),
    ...(byUnits ? unitDeleteParts(s) : rowDeleteParts(s)),
    // INV-C04 against the graph as it will be: a staged relationship whose endpoint
    // will not exist, or a confirmed (unchanged) one whose endpoint this commit deletes.
    s(
      'guard',
      `INSERT INTO commit_guards (code) SELECT 'DanglingRelationship' WHERE ${stagedDangling ? `${STAGED_DANGLING} OR ` : ''}${confirmedDangling('from_id')} OR ${confirmedDangling('to_id')}`,
    ),
    // INV-03's cascade, from any connector.
    s(
      'plan',
      `INSERT OR IGNORE INTO staged_relationship_deletes (token, id, cascaded)
       SELECT d.token, r.id, 1 FROM staged_entity_deletes d JOIN staged_syncs h ON h.token = d.token JOIN relationships r ON r.from_id = d.id
       WHERE d.token = ?1 AND NOT ${emitted('r')}
       UNION
       SELECT d.token, r.id, 1 FROM staged_entity_deletes d JOIN staged_syncs h ON h.token = d.token JOIN relationships r ON r.to_id = d.id
       WHERE d.token = ?1 AND NOT ${emitted('r')}`,
    ),
  ];
}

/**
 * The delete plans row by row: every row of the scope, less those emitted
 * (staged, or confirmed by an expanded matched unit) and those of kept
 * steps (+P1).
 */
function rowDeleteParts(s: ReturnType<typeof withParams>): SqlStatement[] {
  return [
    s(
      'plan',
      `INSERT INTO staged_entity_deletes (token, id)
       SELECT h.token, e.id FROM staged_syncs h JOIN entities e ON ${IN_SCOPE('e')}
       WHERE h.token = ?1 AND e.step_id NOT IN ${KEPT} AND NOT ${EMITTED_ENTITY('e.id')}`,
    ),
    s(
      'plan',
      `INSERT INTO staged_relationship_deletes (token, id, cascaded)
       SELECT h.token, r.id, 0 FROM staged_syncs h JOIN relationships r ON ${IN_SCOPE('r')}
       WHERE h.token = ?1 AND r.step_id NOT IN ${KEPT} AND NOT ${EMITTED_RELATIONSHIP('r.id')}`,
    ),
  ];
}

/**
 * The delete plans by units, for a commit without kept steps whose scope's
 * units stand for its rows (the SyncConflict guard holds it to that): each
 * row of the scope is in exactly one stored unit, so the rows that go are
 * those of the stored units the sync did not match, less those it staged
 * again. A 1% churn then reads the few changed units, not every row of the
 * scope nor every matched unit's ids.
 */
function unitDeleteParts(s: ReturnType<typeof withParams>): SqlStatement[] {
  const dropped = (kind: 'entity' | 'relationship', staged: string, graph: string): string =>
    `SELECT h.token, j.value FROM staged_syncs h JOIN scope_units u ON ${IN_SCOPE('u')}, json_each(u.ids) j
       WHERE h.token = ?1 AND u.kind = '${kind}'
         AND NOT EXISTS (SELECT 1 FROM staged_units m WHERE m.token = ?1 AND m.kind = u.kind AND m.digest = u.digest AND m.ids IS NULL)
         AND NOT EXISTS (SELECT 1 FROM ${staged} s WHERE s.token = ?1 AND s.id = j.value)
         AND EXISTS (SELECT 1 FROM ${graph} g WHERE g.id = j.value AND ${IN_SCOPE('g')})`;
  return [
    s('plan', `INSERT OR IGNORE INTO staged_entity_deletes (token, id) ${dropped('entity', 'staged_entities', 'entities')}`),
    s('plan', `INSERT OR IGNORE INTO staged_relationship_deletes (token, id, cascaded) SELECT *, 0 FROM (${dropped('relationship', 'staged_relationships', 'relationships')})`),
  ];
}

/** The graph writes: created or changed rows, and the planned deletes ({@link upsertSql} for `scan`). */
function graphParts(params: readonly SqlValue[], scan: boolean): SqlStatement[] {
  const s = withParams(params);
  return [
    // Created or changed rows only (+P2), in id order (the staging key); the last writer becomes the source.
    s('graph', upsertSql('entities', 'entities', `${RECORDED('entities_created')} + ${RECORDED('entities_updated')} > 0`, scan)),
    s('graph', `DELETE FROM entities WHERE id IN (SELECT id FROM staged_entity_deletes WHERE token = ?1)`),
    s('graph', upsertSql('relationships', 'relationships', `${RECORDED('relationships_created')} + ${RECORDED('relationships_updated')} > 0`, scan)),
    s('graph', `DELETE FROM relationships WHERE id IN (SELECT id FROM staged_relationship_deletes WHERE token = ?1)`),
  ];
}

/** The scope's units and state after the commit. */
function unitParts(params: readonly SqlValue[]): SqlStatement[] {
  const s = withParams(params);
  return [
    // The scope's units: without kept steps the matched ones and the new ones stand for its rows; otherwise they are unknown.
    s(
      'record',
      // The scope's key read once (not correlated), so only its own units are visited.
      `DELETE FROM scope_units WHERE account_id = (SELECT account_id FROM staged_syncs WHERE token = ?1)
         AND connector_id = (SELECT connector_id FROM staged_syncs WHERE token = ?1)
         AND (?2 <> '[]' OR NOT EXISTS (
           SELECT 1 FROM staged_units m WHERE m.token = ?1 AND m.ids IS NULL AND m.kind = scope_units.kind AND m.digest = scope_units.digest))`,
    ),
    s(
      'record',
      `INSERT INTO scope_units (account_id, connector_id, kind, digest, step_id, ids)
       SELECT h.account_id, h.connector_id, m.kind, m.digest, m.step_id, m.ids
       FROM staged_units m JOIN staged_syncs h ON h.token = m.token
       WHERE m.token = ?1 AND m.ids IS NOT NULL AND ?2 = '[]'
       ON CONFLICT (account_id, connector_id, kind, digest) DO UPDATE SET step_id = excluded.step_id, ids = excluded.ids`,
    ),
    s(
      'record',
      `INSERT INTO scope_state (account_id, connector_id, writes, units_writes)
       SELECT h.account_id, h.connector_id, 0, CASE WHEN ?2 = '[]' THEN 0 END FROM staged_syncs h WHERE h.token = ?1
       ON CONFLICT (account_id, connector_id) DO UPDATE SET units_writes = CASE WHEN excluded.units_writes IS NULL THEN NULL ELSE scope_state.writes END`,
    ),
  ];
}

/** How a commit plans. */
export interface CommitPlan {
  /** The executor's `SqlExecutor.unkeyedStaging` ({@link upsertSql}). */
  readonly scanStaged?: boolean;
  /**
   * Plan deletes by units ({@link unitDeleteParts}), without expanding the
   * matched units: only for a commit without kept steps, not in verify
   * mode, that matched at least one unit ({@link byUnitsFor}).
   */
  readonly byUnits?: boolean;
}

/** May a commit plan by units? Without kept steps, not verifying, with matched units (`matched`: {@link matchedUnitsStatement}). */
export function byUnitsFor(close: SyncClose, verify: boolean, matched: boolean): boolean {
  return matched && !verify && close.keptSteps.length === 0;
}

/** Rows `matched`: 1 when the sync matched a stored unit. */
export function matchedUnitsStatement(token: string): SqlStatement {
  return statement('read', `SELECT EXISTS (SELECT 1 FROM staged_units WHERE +token = ?1 AND ids IS NULL) AS matched`, [token]);
}

/**
 * The full commit of a staged sync in one atomic unit (after
 * {@link expandStatements}, unless it plans by units): see the module
 * comment. Binds {@link commitParams}.
 */
export function commitStatements(token: string, close: SyncClose, committedAt: string, verify: boolean, plan: CommitPlan = {}): SqlStatement[] {
  const params = commitParams(token, close, committedAt, verify);
  const s = withParams(params);
  const byUnits = plan.byUnits === true;
  return [
    ...planParts(params, byUnits),
    // Stats, counted against the graph before it changes.
    s('record', `INSERT INTO sync_runs ${SYNC_RUN_COLUMNS} ${STATS(byUnits)}`),
    // One more write for every scope this commit takes a row from or cascades one away from;
    // their units no longer stand for their rows. (Its own scope may count too: its units are taken afresh below.)
    s(
      'record',
      `INSERT INTO scope_state (account_id, connector_id, writes)
       SELECT account_id, connector_id, 1 FROM (${TAKEN_SCOPES(true)}) WHERE true
       ON CONFLICT (account_id, connector_id) DO UPDATE SET writes = writes + 1`,
    ),
    ...graphParts(params, plan.scanStaged === true),
    ...unitParts(params),
    resultStatement(token),
  ];
}

// ---------------------------------------------------------------------------
// The split commit: a plan batch, then bounded writes, then one small batch

/** What the plan batch read, for the batch that makes the commit visible. */
export interface PlannedCommit {
  /** The sync-run record as it will be written (columns of `sync_runs`). */
  readonly record: Row;
  /** Scopes that get one more write (rows `account_id, connector_id`). */
  readonly takenScopes: readonly Row[];
  /** The graph's last sync-run seq: the plan holds while no commit came after it. */
  readonly seq: number;
}

/**
 * The plan of a commit too big for one batch: the guards and the delete
 * plan, as in {@link commitStatements}, then reads of what the last batch
 * will record ({@link plannedFrom}). It writes only the staging area, so its
 * statements may run as batches of their own: each reads the graph as the
 * first one did, or a commit landed in between and the last batch refuses.
 */
export function planStatements(token: string, close: SyncClose, committedAt: string, verify: boolean, byUnits = false): SqlStatement[] {
  const params = commitParams(token, close, committedAt, verify);
  const s = withParams(params);
  return [
    // First: the plan holds while no commit lands after this read.
    statement('read', `SELECT COALESCE(MAX(seq), 0) AS seq FROM sync_runs`),
    // A plan of an earlier attempt (its commit found the graph moved) is made afresh.
    s('plan', `DELETE FROM staged_entity_deletes WHERE token = ?1`),
    s('plan', `DELETE FROM staged_relationship_deletes WHERE token = ?1`),
    // The staged rows' endpoints are checked in id ranges ({@link danglingRangeStatements}).
    ...planParts(params, byUnits, false),
    s('read', STATS(byUnits)),
    s('read', TAKEN_SCOPES(false)),
  ];
}

/**
 * INV-C04 for the staged relationships after id `after`, at most `rows` of
 * them, for a split commit after its plan: `hi` (the last id covered, NULL
 * when none was left), then the guard. One set-wise pass over every staged
 * endpoint ({@link STAGED_DANGLING}) is the plan's slowest statement and
 * grows with the sync (5.3-6.6 s at 1M rows in workerd, past D1's 30 s a
 * batch at about 4.5M); a range's endpoints are looked up one by one.
 * Binds {@link commitParams}, then `after` and `rows`.
 */
export function danglingRangeStatements(params: readonly SqlValue[], after: string, rows: number): SqlStatement[] {
  const range = `(SELECT MAX(id) FROM (SELECT id FROM staged_relationships WHERE token = ?1 AND id > ?9 ORDER BY id LIMIT ?10))`;
  const ends = (side: string): string => `SELECT ${side} AS id FROM staged_relationships WHERE token = ?1 AND id > ?9 AND id <= ${range}`;
  const bound = [...params, after, rows];
  return [
    statement('read', `SELECT ${range} AS hi`, bound),
    statement(
      'guard',
      `INSERT INTO commit_guards (code) SELECT 'DanglingRelationship' WHERE EXISTS (SELECT 1 FROM (${ends('from_id')} UNION ${ends('to_id')}) x
         WHERE NOT EXISTS (SELECT 1 FROM staged_entities s WHERE s.token = ?1 AND s.id = x.id)
           AND NOT EXISTS (SELECT 1 FROM staged_confirmed c WHERE c.token = ?1 AND c.kind = 'entity' AND c.id = x.id)
           AND NOT (EXISTS (SELECT 1 FROM entities e WHERE e.id = x.id) AND NOT ${DELETED_ENTITY('x.id')}))`,
      bound,
    ),
  ];
}

/** The reads of {@link planStatements}' results. */
export function plannedFrom(results: readonly { rows: readonly Row[] }[]): PlannedCommit {
  const [record, takenScopes] = results.slice(-2).map((r) => r.rows);
  return { record: record![0]!, takenScopes: takenScopes!, seq: Number(results[0]!.rows[0]!.seq) };
}

const RUN_COLUMNS = SYNC_RUN_COLUMNS.replace(/[()\s]/g, '').split(',');

/**
 * The last batch of a split commit, which makes it visible: refused
 * (`SyncConflict`) when a commit came after the plan, then the planned
 * record and scope writes, `writes` (the graph writes, or the statements
 * that swap in tables built beside the graph), the scope's units and the
 * result. Binds {@link commitParams} except where it binds the plan.
 */
export function applyStatements(
  token: string,
  close: SyncClose,
  committedAt: string,
  verify: boolean,
  planned: PlannedCommit,
  writes: 'graph' | readonly SqlStatement[],
): SqlStatement[] {
  const params = commitParams(token, close, committedAt, verify);
  return [
    statement('guard', `INSERT INTO commit_guards (code) SELECT 'SyncConflict' WHERE (SELECT COALESCE(MAX(seq), 0) FROM sync_runs) <> ?1`, [planned.seq]),
    statement(
      'record',
      `INSERT INTO sync_runs ${SYNC_RUN_COLUMNS} VALUES (${RUN_COLUMNS.map((_, i) => `?${i + 1}`).join(', ')})`,
      RUN_COLUMNS.map((c) => planned.record[c] as SqlValue),
    ),
    statement(
      'record',
      `INSERT INTO scope_state (account_id, connector_id, writes)
       SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), 1 FROM json_each(?1) WHERE true
       ON CONFLICT (account_id, connector_id) DO UPDATE SET writes = writes + 1`,
      [JSON.stringify(planned.takenScopes.map((r) => [r.account_id, r.connector_id]))],
    ),
    ...(writes === 'graph' ? graphParts(params, false) : writes),
    ...unitParts(params),
    resultStatement(token),
  ];
}

// ---------------------------------------------------------------------------
// Bulk load: the graph's secondary indexes rebuilt around a big commit

/**
 * What decides a bulk load, read before the commit (a guess that only
 * matters for speed: the DDL runs inside the commit's own batch): rows
 * `stored` (the graph tables' rows), and the graph tables' secondary
 * indexes, rows `name, sql` (their DDL as the migrations wrote it).
 */
export function bulkLoadProbeStatements(): [SqlStatement, SqlStatement] {
  return [
    statement('read', `SELECT (SELECT COUNT(*) FROM entities) + (SELECT COUNT(*) FROM relationships) AS stored`),
    statement(
      'read',
      `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('entities', 'relationships') AND sql IS NOT NULL ORDER BY name`,
    ),
  ];
}

/** Rows `created`: the sync's staged rows not in the graph (read only when the graph is not empty: else all emitted rows are). */
export function stagedNewRowsStatement(token: string): SqlStatement {
  return statement(
    'read',
    `SELECT (SELECT COUNT(*) FROM staged_entities s WHERE s.token = ?1 AND NOT EXISTS (SELECT 1 FROM entities e WHERE e.id = s.id))
      + (SELECT COUNT(*) FROM staged_relationships s WHERE s.token = ?1 AND NOT EXISTS (SELECT 1 FROM relationships r WHERE r.id = s.id)) AS created`,
    [token],
  );
}

/** Does a commit creating `created` rows into a graph of `stored` rows rebuild its indexes? When it creates at least `minRows` and no fewer than are stored. */
export function isBulkLoad(created: number, stored: number, minRows: number): boolean {
  return minRows > 0 && created >= minRows && created >= stored;
}

/**
 * `commit` (from {@link commitStatements}) with the graph tables' secondary
 * `indexes` dropped before its first graph write and built again after its
 * last, in the same batch: one sorted build instead of an index update per
 * row, and INV-C01 holds since DDL is transactional in SQLite (readers see
 * the old graph with its indexes or the new one with them).
 */
export function withIndexRebuild(commit: readonly SqlStatement[], indexes: readonly { name: string; sql: string }[]): SqlStatement[] {
  const first = commit.findIndex((s) => s.kind === 'graph');
  const last = commit.length - 1 - [...commit].reverse().findIndex((s) => s.kind === 'graph');
  if (first < 0 || indexes.length === 0) return [...commit];
  const drops = indexes.map((i) => statement('index', `DROP INDEX IF EXISTS main."${i.name.replaceAll('"', '""')}"`));
  const builds = indexes.map((i) => statement('index', i.sql));
  return [...commit.slice(0, first), ...drops, ...commit.slice(first, last + 1), ...builds, ...commit.slice(last + 1)];
}

/**
 * A stats column of the sync-run row just recorded: the upserts run only
 * when it counts a created or updated row of their table, so an unchanged
 * table is not even visited (+P2). Not correlated with the outer row, so
 * SQLite evaluates it once.
 */
const RECORDED = (column: string): string => `(
  SELECT r.${column} FROM sync_runs r JOIN staged_syncs c ON r.account_id = c.account_id AND r.sync_id = c.sync_id WHERE c.token = ?1)`;

/**
 * INV-C04 report, after a commit aborted on its guard (the staging and the
 * graph are as the guard saw them, but the delete plan was rolled back, so
 * it is recomputed inline): the dangling relationship emitted first (by
 * ord, staged or confirmed) as `id, from_type, from_key, verb, to_type,
 * to_key`, and `dangling_count`. Binds {@link commitParams}.
 */
export function danglingReportStatement(token: string, close: SyncClose, committedAt: string): SqlStatement {
  const deleted = (id: string): string => `EXISTS (SELECT 1 FROM staged_syncs h JOIN entities e ON e.id = ${id} AND ${IN_SCOPE('e')}
    WHERE h.token = ?1 AND e.step_id NOT IN ${KEPT} AND NOT ${EMITTED_ENTITY('e.id')})`;
  const willExist = (id: string): string => `(${EMITTED_ENTITY(id)} OR (EXISTS (SELECT 1 FROM entities e WHERE e.id = ${id}) AND NOT ${deleted(id)}))`;
  return statement(
    'read',
    `SELECT id, from_type, from_key, verb, to_type, to_key, COUNT(*) OVER () AS dangling_count FROM (
       SELECT r.id, r.ord, r.from_type, r.from_key, r.verb, r.to_type, r.to_key FROM staged_relationships r
       WHERE r.token = ?1 AND (NOT ${willExist('r.from_id')} OR NOT ${willExist('r.to_id')})
       UNION ALL
       SELECT r.id, c.ord, r.from_type, r.from_key, r.verb, r.to_type, r.to_key
       FROM staged_confirmed c JOIN relationships r ON r.id = c.id
       WHERE c.token = ?1 AND c.kind = 'relationship' AND (${deleted('r.from_id')} OR ${deleted('r.to_id')})
     ) ORDER BY ord LIMIT 1`,
    commitParams(token, close, committedAt, false),
  );
}
